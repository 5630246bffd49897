//! Starting, stopping and killing VRRP daemons (kalive or keepalived) inside
//! router namespaces, always by PID.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::error::{LabError, Result};

/// Which daemon to run in a router namespace, with the path of its binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Implementation {
    /// The kalive binary at this path.
    Kalive(PathBuf),
    /// keepalived at this path (Debian: `/usr/sbin/keepalived`).
    Keepalived(PathBuf),
}

impl Implementation {
    /// keepalived from the system; error if it is not installed.
    pub fn keepalived() -> Result<Self> {
        keepalived_path()
            .map(Implementation::Keepalived)
            .ok_or_else(|| LabError::MissingProgram("keepalived".into(), "keepalived"))
    }

    /// kalive: `$KALIVE_BIN`, else `kalive` next to the running executable or
    /// in one of its parent directories (the cargo target dir).
    pub fn kalive() -> Result<Self> {
        let path = find_kalive_binary().ok_or_else(|| {
            let exe = std::env::current_exe().unwrap_or_default();
            LabError::MissingBinary(
                PathBuf::from("kalive"),
                format!(
                    "not found next to {} or in its parent directories; build it with the same \
                     profile (`cargo build --workspace --bins`, add --release for a release \
                     kalive-lab), or give --kalive PATH / KALIVE_BIN",
                    exe.display()
                ),
            )
        })?;
        Ok(Implementation::Kalive(path))
    }

    /// kalive at an explicit path; error if it does not exist.
    pub fn kalive_at(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        if !path.is_file() {
            return Err(LabError::MissingBinary(path, "given with --kalive".into()));
        }
        Ok(Implementation::Kalive(path))
    }

    /// The binary to execute.
    pub fn binary(&self) -> &Path {
        match self {
            Implementation::Kalive(path) | Implementation::Keepalived(path) => path,
        }
    }

    /// Short name for reports: `kalive` or `keepalived`.
    pub fn name(&self) -> &'static str {
        match self {
            Implementation::Kalive(_) => "kalive",
            Implementation::Keepalived(_) => "keepalived",
        }
    }
}

/// Where keepalived is installed, if it is.
pub fn keepalived_path() -> Option<PathBuf> {
    crate::cmd::find_program("keepalived")
}

/// `$KALIVE_BIN`, or the first `kalive` file found walking up from the
/// current executable (`target/debug/deps/test-…` → `target/debug/kalive`).
pub fn find_kalive_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KALIVE_BIN") {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .map(|dir| dir.join("kalive"))
        .find(|candidate| candidate.is_file())
}

/// What a daemon was started with, kept so it can be restarted.
#[derive(Clone, Debug)]
pub struct DaemonSpec {
    /// Which binary.
    pub implementation: Implementation,
    /// The config file written for it.
    pub config: PathBuf,
    /// Extra command-line arguments after the standard ones.
    pub extra_args: Vec<String>,
}

/// A daemon process running in a namespace; killed (whole tree) on drop.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    spec: DaemonSpec,
    log: PathBuf,
}

impl Daemon {
    /// Starts `spec` in `ns` as `ip netns exec NS BIN -n -l -D -G -f CONF -p … -r … -c …`:
    /// the command line that starts keepalived, in the foreground (`-n`) so
    /// that we hold its PID. Its own pid files live in `run_dir`, its console
    /// output goes to `run_dir/<tag>.log`.
    pub fn spawn(ns: &str, tag: &str, run_dir: &Path, spec: DaemonSpec) -> Result<Daemon> {
        let binary = spec.implementation.binary();
        if !binary.is_file() {
            return Err(LabError::MissingBinary(
                binary.to_path_buf(),
                "daemon binary".into(),
            ));
        }
        let log = run_dir.join(format!("{tag}.log"));
        let out = open_log(&log)?;
        let err = out
            .try_clone()
            .map_err(|e| LabError::io("clone log handle", e))?;
        let pid_file = |suffix: &str| run_dir.join(format!("{tag}{suffix}.pid"));
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", ns])
            .arg(binary)
            .args(["-n", "-l", "-D", "-G", "-f"])
            .arg(&spec.config)
            .arg("-p")
            .arg(pid_file(""))
            .arg("-r")
            .arg(pid_file("_vrrp"))
            .arg("-c")
            .arg(pid_file("_checkers"))
            .args(&spec.extra_args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = command
            .spawn()
            .map_err(|e| LabError::io(format!("start {} in {ns}", binary.display()), e))?;
        Ok(Daemon { child, spec, log })
    }

    /// PID of the daemon (the process `ip netns exec` turned into).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How it was started.
    pub fn spec(&self) -> &DaemonSpec {
        &self.spec
    }

    /// Its console log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the main process is still alive.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL: a crash. Descendants die first, deepest first, because
    /// keepalived's children get SIGTERM when their parent dies
    /// (PR_SET_PDEATHSIG, keepalived-behaviour.md §1.4) and would then shut
    /// down cleanly, sending priority 0, which is not a crash.
    pub fn kill(&mut self) -> Result<()> {
        if !self.is_running() {
            return Ok(());
        }
        let root = self.pid() as i32;
        let descendants = descendants_deepest_first(root);
        for &pid in &descendants {
            // A descendant may have exited meanwhile; that is fine.
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = kill(Pid::from_raw(root), Signal::SIGKILL);
        self.child
            .wait()
            .map_err(|e| LabError::io("wait for killed daemon", e))?;
        wait_until_reaped(&descendants, Duration::from_secs(3));
        Ok(())
    }

    /// SIGTERM, the operator's stop; waits up to `grace` for a clean exit,
    /// then kills. Returns whether it exited on its own.
    pub fn terminate(&mut self, grace: Duration) -> Result<bool> {
        if !self.is_running() {
            return Ok(true);
        }
        kill(Pid::from_raw(self.pid() as i32), Signal::SIGTERM)
            .map_err(|e| LabError::sys("send SIGTERM", e))?;
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if !self.is_running() {
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill()?;
        Ok(false)
    }

    /// Sends an arbitrary signal to the main process (SIGHUP reload, …).
    pub fn signal(&self, signal: Signal) -> Result<()> {
        kill(Pid::from_raw(self.pid() as i32), signal)
            .map_err(|e| LabError::sys(format!("send {signal}"), e))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// Orphaned descendants are reaped by init, not by us. Until then they are
/// zombies, and keepalived, restarted at once, finds its old VRRP child's PID
/// "alive" in its pid file and refuses to start ("daemon is already
/// running"). So a kill waits, bounded, until the PIDs are gone.
fn wait_until_reaped(pids: &[i32], limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if pids
            .iter()
            .all(|pid| !Path::new(&format!("/proc/{pid}")).exists())
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn open_log(path: &Path) -> Result<File> {
    File::options()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| LabError::io(format!("open {}", path.display()), e))
}

/// All descendants of `root`, deepest first, read from /proc.
pub fn descendants_deepest_first(root: i32) -> Vec<i32> {
    let children = children_by_parent();
    let mut order = Vec::new();
    let mut frontier = vec![root];
    // Bounded: a process tree cannot be deeper than the number of processes.
    for _ in 0..children.len() + 1 {
        let next: Vec<i32> = frontier
            .iter()
            .filter_map(|pid| children.get(pid))
            .flatten()
            .copied()
            .collect();
        if next.is_empty() {
            break;
        }
        order.extend_from_slice(&next);
        frontier = next;
    }
    order.reverse();
    order
}

fn children_by_parent() -> HashMap<i32, Vec<i32>> {
    let mut map: HashMap<i32, Vec<i32>> = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return map;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        if let Some(ppid) = parent_of(pid) {
            map.entry(ppid).or_default().push(pid);
        }
    }
    map
}

/// Parent PID from `/proc/PID/stat`; the command name may contain spaces and
/// parentheses, so fields are counted after the last `)`.
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// Whether a process with this PID exists (and is not a zombie).
pub fn pid_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    !matches!(state, Some("Z") | Some("X") | None)
}
