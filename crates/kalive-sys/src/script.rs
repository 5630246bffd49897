//! Script execution: notify scripts, `vrrp_script`s, `startup_script` /
//! `shutdown_script` and (later) MISC_CHECK all run through [`spawn`] /
//! [`run`] (DESIGN.md: kalive-sys owns "script execution (uid/gid, process
//! group, timeout)").
//!
//! What a script runs as and which file it runs were decided once, when the
//! config was read (kalive-config resolves the user and checks the file);
//! this module only carries that out:
//!
//! - the exact file given is executed (no `PATH` search, no symlink
//!   re-resolution here: the caller passes the path it checked);
//! - identity: `setgroups(groups)`, `setgid(gid)`, `setuid(uid)`, in that
//!   order, in the child before exec. keepalived 2.2.7 sets the
//!   supplementary groups to the script's gid alone (`lib/notify.c`,
//!   `set_script_env`); the caller passes that list;
//! - each script leads its own process group, so that a timeout (or a
//!   dropped [`RunningScript`]) kills everything the script started, its
//!   background children included;
//! - output is captured up to a bound (or sent to `/dev/null`), the rest is
//!   read and discarded so that a chatty script never blocks on a full pipe.
//!
//! A file without `#!` (exec fails with `ENOEXEC`) is run by `/bin/sh`, as
//! `execvp` and keepalived's `system()` fallback do.

use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinHandle;

use crate::error::{Result, SysError};

/// Who a script runs as: resolved from the password and group databases
/// when the config was read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// Real and effective user id.
    pub uid: u32,
    /// Real and effective group id.
    pub gid: u32,
    /// The complete supplementary group list (nothing is inherited from
    /// the daemon, so root's group 0 never leaks into a script).
    pub groups: Vec<u32>,
}

impl Identity {
    /// Root with only group 0: what keepalived uses when the config asks
    /// for root explicitly.
    pub fn root() -> Identity {
        Identity {
            uid: 0,
            gid: 0,
            groups: vec![0],
        }
    }
}

/// One command to execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptCommand {
    /// The file to execute, as checked when the config was read (its real
    /// path). It is also `argv[0]`, as keepalived passes it.
    pub program: PathBuf,
    /// `argv[1..]`.
    pub args: Vec<String>,
    /// Who runs it.
    pub identity: Identity,
}

/// How a run ended.
#[derive(Debug)]
pub enum ScriptOutcome {
    /// The script exited with this code.
    Exited(i32),
    /// The script was killed by this signal (not by us).
    Signalled(i32),
    /// It outlived its timeout; its whole process group was killed.
    TimedOut,
    /// It could not be started (or waited for).
    SpawnFailed(SysError),
}

impl ScriptOutcome {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        matches!(self, ScriptOutcome::Exited(0))
    }

    fn from_status(status: ExitStatus) -> ScriptOutcome {
        match (status.code(), status.signal()) {
            (Some(code), _) => ScriptOutcome::Exited(code),
            (None, Some(sig)) => ScriptOutcome::Signalled(sig),
            (None, None) => ScriptOutcome::Exited(-1),
        }
    }
}

impl std::fmt::Display for ScriptOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScriptOutcome::Exited(code) => write!(f, "exited with status {code}"),
            ScriptOutcome::Signalled(sig) => write!(f, "killed by signal {sig}"),
            ScriptOutcome::TimedOut => write!(f, "timed out and was killed"),
            ScriptOutcome::SpawnFailed(e) => write!(f, "could not be run: {e}"),
        }
    }
}

/// A finished run.
#[derive(Debug)]
pub struct ScriptRun {
    /// How it ended.
    pub outcome: ScriptOutcome,
    /// The first bytes of its standard output (at most the capture limit).
    pub stdout: Vec<u8>,
    /// The first bytes of its standard error (at most the capture limit).
    pub stderr: Vec<u8>,
    /// More output was written than was kept.
    pub output_truncated: bool,
}

impl ScriptRun {
    fn failed(e: SysError) -> ScriptRun {
        ScriptRun {
            outcome: ScriptOutcome::SpawnFailed(e),
            stdout: Vec::new(),
            stderr: Vec::new(),
            output_truncated: false,
        }
    }
}

/// How long a script killed with SIGTERM gets before SIGKILL (keepalived
/// waits one second too, `script_killall`).
pub const KILL_GRACE: Duration = Duration::from_secs(1);

/// How long output is still read after the script exited: a background
/// child that inherited the pipe would otherwise keep it open for ever.
const OUTPUT_GRACE: Duration = Duration::from_millis(200);

#[derive(Debug, Default)]
struct Captured {
    kept: Vec<u8>,
    truncated: bool,
}

/// A started script. Dropping it before [`RunningScript::wait`] returned
/// kills its process group (SIGKILL): nothing a script started outlives the
/// owner that stopped caring about it.
#[derive(Debug)]
pub struct RunningScript {
    child: tokio::process::Child,
    pgid: i32,
    reaped: bool,
    stdout: Option<(Arc<Mutex<Captured>>, JoinHandle<()>)>,
    stderr: Option<(Arc<Mutex<Captured>>, JoinHandle<()>)>,
}

/// Start `cmd` in its own process group as its identity. `capture` is the
/// number of bytes of stdout and of stderr kept (0: both go to /dev/null).
/// Must be called inside a tokio runtime.
pub fn spawn(cmd: &ScriptCommand, capture: usize) -> Result<RunningScript> {
    let first = spawn_exact(&cmd.program, &cmd.program_arg0(), &cmd.args, cmd, capture);
    let child = match first {
        Err(e) if e.raw_os_error() == Some(libc::ENOEXEC) => {
            let mut args = vec![cmd.program_arg0()];
            args.extend(cmd.args.iter().cloned());
            spawn_exact(
                std::path::Path::new("/bin/sh"),
                "/bin/sh",
                &args,
                cmd,
                capture,
            )
        }
        other => other,
    }
    .map_err(|e| SysError::io(format!("run {}", cmd.program.display()), e))?;
    let pgid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .ok_or_else(|| SysError::Invalid("spawned script has no pid".into()))?;
    let mut running = RunningScript {
        child,
        pgid,
        reaped: false,
        stdout: None,
        stderr: None,
    };
    if capture > 0 {
        running.stdout = running
            .child
            .stdout
            .take()
            .map(|out| start_capture(out, capture));
        running.stderr = running
            .child
            .stderr
            .take()
            .map(|err| start_capture(err, capture));
    }
    Ok(running)
}

/// Start `cmd`, wait at most `timeout`, kill its group if it is still
/// running then.
pub async fn run(cmd: &ScriptCommand, timeout: Duration, capture: usize) -> ScriptRun {
    match spawn(cmd, capture) {
        Ok(running) => running.wait(timeout).await,
        Err(e) => ScriptRun::failed(e),
    }
}

impl ScriptCommand {
    fn program_arg0(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }
}

fn spawn_exact(
    program: &std::path::Path,
    arg0: &str,
    args: &[String],
    cmd: &ScriptCommand,
    capture: usize,
) -> io::Result<tokio::process::Child> {
    let mut command = std::process::Command::new(program);
    command
        .arg0(arg0)
        .args(args)
        .stdin(Stdio::null())
        .process_group(0);
    if capture > 0 {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
    } else {
        command.stdout(Stdio::null()).stderr(Stdio::null());
    }
    set_identity(&mut command, &cmd.identity)?;
    let mut command = tokio::process::Command::from(command);
    // A task that stops caring (aborted, runtime shut down) must not leave
    // the script behind; RunningScript's Drop also kills the group.
    command.kill_on_drop(true);
    command.spawn()
}

/// Switch to `id` in the child, before exec. Not root: the script can only
/// run as ourselves (nothing to switch), anything else is refused here
/// rather than failing in the child.
#[allow(unsafe_code)]
fn set_identity(command: &mut std::process::Command, id: &Identity) -> io::Result<()> {
    let euid = nix::unistd::geteuid().as_raw();
    if euid != 0 {
        let egid = nix::unistd::getegid().as_raw();
        if id.uid == euid && id.gid == egid {
            return Ok(());
        }
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "running as uid {euid}: cannot run a script as {}:{}",
                id.uid, id.gid
            ),
        ));
    }
    let groups: Vec<libc::gid_t> = id.groups.clone();
    let (uid, gid) = (id.uid, id.gid);
    // SAFETY: the closure runs in the forked child before exec and only
    // makes three async-signal-safe system calls (setgroups, setgid,
    // setuid) on data allocated before the fork (`groups` is moved in and
    // only read); it allocates nothing and takes no lock. Order matters:
    // groups and gid can only be changed while we are still root.
    unsafe {
        command.pre_exec(move || {
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                || libc::setgid(gid) != 0
                || libc::setuid(uid) != 0
            {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Ok(())
}

fn start_capture<R>(mut pipe: R, limit: usize) -> (Arc<Mutex<Captured>>, JoinHandle<()>)
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let buf = Arc::new(Mutex::new(Captured::default()));
    let shared = buf.clone();
    let task = tokio::spawn(async move {
        let mut chunk = [0u8; 4096];
        loop {
            match pipe.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let Ok(mut c) = shared.lock() else { return };
                    let room = limit.saturating_sub(c.kept.len());
                    let take = room.min(n);
                    c.kept.extend_from_slice(&chunk[..take]);
                    c.truncated |= take < n;
                }
            }
        }
    });
    (buf, task)
}

async fn collect(slot: Option<(Arc<Mutex<Captured>>, JoinHandle<()>)>) -> (Vec<u8>, bool) {
    let Some((buf, mut task)) = slot else {
        return (Vec::new(), false);
    };
    if tokio::time::timeout(OUTPUT_GRACE, &mut task).await.is_err() {
        task.abort();
    }
    let taken = match buf.lock() {
        Ok(mut c) => (std::mem::take(&mut c.kept), c.truncated),
        Err(_) => (Vec::new(), false),
    };
    taken
}

impl RunningScript {
    /// The script's pid, which is also its process group id.
    pub fn id(&self) -> u32 {
        self.pgid.unsigned_abs()
    }

    /// Send `signal` to the script's whole process group.
    pub fn signal_group(&self, signal: Signal) {
        if !self.reaped {
            // ESRCH: the group is already gone, which is what we wanted.
            let _ = killpg(Pid::from_raw(self.pgid), signal);
        }
    }

    /// Wait for the script for at most `timeout`; then SIGTERM its group,
    /// and SIGKILL the group [`KILL_GRACE`] later (background children that
    /// ignored SIGTERM included).
    pub async fn wait(mut self, timeout: Duration) -> ScriptRun {
        let outcome = match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(Ok(status)) => {
                self.reaped = true;
                ScriptOutcome::from_status(status)
            }
            Ok(Err(e)) => {
                self.kill_group_now().await;
                ScriptOutcome::SpawnFailed(SysError::io("wait for script", e))
            }
            Err(_) => {
                self.terminate().await;
                ScriptOutcome::TimedOut
            }
        };
        let (stdout, out_cut) = collect(self.stdout.take()).await;
        let (stderr, err_cut) = collect(self.stderr.take()).await;
        ScriptRun {
            outcome,
            stdout,
            stderr,
            output_truncated: out_cut || err_cut,
        }
    }

    /// SIGTERM the group, SIGKILL it after the grace, reap the leader.
    pub async fn terminate(&mut self) {
        if self.reaped {
            return;
        }
        let group = Pid::from_raw(self.pgid);
        let _ = killpg(group, Signal::SIGTERM);
        let exited = tokio::time::timeout(KILL_GRACE, self.child.wait()).await;
        // The leader may be gone while members that ignored SIGTERM remain:
        // the group id stays allocated while any member lives, so this
        // reaches exactly them.
        let _ = killpg(group, Signal::SIGKILL);
        if !matches!(exited, Ok(Ok(_))) {
            let _ = self.child.wait().await;
        }
        self.reaped = true;
    }

    async fn kill_group_now(&mut self) {
        let _ = killpg(Pid::from_raw(self.pgid), Signal::SIGKILL);
        let _ = self.child.wait().await;
        self.reaped = true;
    }
}

impl Drop for RunningScript {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = killpg(Pid::from_raw(self.pgid), Signal::SIGKILL);
        }
        for (_, task) in [self.stdout.take(), self.stderr.take()]
            .into_iter()
            .flatten()
        {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("kalive-sys-script-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        dir
    }

    fn script_file(dir: &std::path::Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, body).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    fn as_root(program: PathBuf, args: &[&str]) -> ScriptCommand {
        ScriptCommand {
            program,
            args: args.iter().map(|s| s.to_string()).collect(),
            identity: Identity::root(),
        }
    }

    fn must_be_root() {
        assert!(
            nix::unistd::geteuid().is_root(),
            "script tests switch users: run them as root"
        );
    }

    /// A process is gone when /proc has no entry or only a zombie (the
    /// container's init may not reap orphans quickly).
    fn alive(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state != "Z" && state != "X"),
            Err(_) => false,
        }
    }

    #[tokio::test]
    async fn runs_as_the_identity_with_exactly_its_groups() {
        must_be_root();
        let dir = scratch("identity");
        let out = dir.join("id");
        let prog = script_file(
            &dir,
            "id.sh",
            &format!(
                "#!/bin/sh\necho \"$(id -u) $(id -g) $(id -G) $0\" > {}\n",
                out.display()
            ),
        );
        let cmd = ScriptCommand {
            identity: Identity {
                uid: 65534,
                gid: 65534,
                groups: vec![65534],
            },
            ..as_root(prog.clone(), &[])
        };
        let run = run(&cmd, Duration::from_secs(10), 0).await;
        assert!(run.outcome.success(), "{}", run.outcome);
        let text = std::fs::read_to_string(&out).expect("script wrote its id");
        assert_eq!(text.trim(), format!("65534 65534 65534 {}", prog.display()));

        // Supplementary groups are exactly the ones given (daemon: 1).
        let cmd = ScriptCommand {
            identity: Identity {
                uid: 65534,
                gid: 65534,
                groups: vec![65534, 1],
            },
            ..as_root(prog.clone(), &[])
        };
        assert!(super::run(&cmd, Duration::from_secs(10), 0)
            .await
            .outcome
            .success());
        let text = std::fs::read_to_string(&out).expect("script wrote its id");
        assert_eq!(
            text.trim(),
            format!("65534 65534 65534 1 {}", prog.display())
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_timeout_kills_the_whole_process_group() {
        must_be_root();
        let dir = scratch("timeout");
        let pids = dir.join("pids");
        // The grandchild ignores SIGTERM: only the group SIGKILL ends it.
        let prog = script_file(
            &dir,
            "hang.sh",
            &format!(
                "#!/bin/sh\n(trap '' TERM; sleep 300) &\necho $! > {p}\nsleep 300 &\necho $! >> {p}\nsleep 300\n",
                p = pids.display()
            ),
        );
        let started = std::time::Instant::now();
        let run = run(&as_root(prog, &[]), Duration::from_millis(500), 0).await;
        assert!(
            matches!(run.outcome, ScriptOutcome::TimedOut),
            "{}",
            run.outcome
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        let text = std::fs::read_to_string(&pids).expect("script wrote its children");
        let children: Vec<i32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        assert_eq!(children.len(), 2, "{text}");
        // Generous bound for the kernel to finish the kills.
        for _ in 0..100 {
            if !children.iter().any(|&p| alive(p)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for p in children {
            assert!(!alive(p), "background child {p} survived the timeout");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn dropping_a_running_script_kills_its_group() {
        must_be_root();
        let dir = scratch("drop");
        let pids = dir.join("pids");
        let prog = script_file(
            &dir,
            "hang.sh",
            &format!(
                "#!/bin/sh\nsleep 300 &\necho $! > {}\nsleep 300\n",
                pids.display()
            ),
        );
        let running = spawn(&as_root(prog, &[]), 0).expect("spawn");
        let mut child = None;
        for _ in 0..250 {
            child = std::fs::read_to_string(&pids)
                .ok()
                .and_then(|t| t.trim().parse::<i32>().ok());
            if child.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let child = child.expect("script started its child");
        drop(running);
        for _ in 0..100 {
            if !alive(child) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!alive(child));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn output_is_captured_up_to_the_bound() {
        let cmd = as_root(
            PathBuf::from("/bin/sh"),
            &["-c", "head -c 100000 /dev/zero; echo oops >&2; exit 4"],
        );
        let run = run(&cmd, Duration::from_secs(10), 1000).await;
        assert!(
            matches!(run.outcome, ScriptOutcome::Exited(4)),
            "{}",
            run.outcome
        );
        assert_eq!(run.stdout.len(), 1000);
        assert!(run.output_truncated);
        assert_eq!(run.stderr, b"oops\n");
    }

    #[tokio::test]
    async fn exit_codes_signals_shebangless_files_and_missing_programs() {
        let dir = scratch("kinds");
        let plain = script_file(&dir, "plain", "exit 3\n");
        let run3 = run(&as_root(plain, &[]), Duration::from_secs(10), 0).await;
        assert!(
            matches!(run3.outcome, ScriptOutcome::Exited(3)),
            "{}",
            run3.outcome
        );
        let killed = as_root(PathBuf::from("/bin/sh"), &["-c", "kill -USR1 $$"]);
        let run = run(&killed, Duration::from_secs(10), 0).await;
        assert!(
            matches!(run.outcome, ScriptOutcome::Signalled(s) if s == libc::SIGUSR1),
            "{}",
            run.outcome
        );
        let missing = as_root(dir.join("nope"), &[]);
        let run = super::run(&missing, Duration::from_secs(10), 0).await;
        assert!(matches!(run.outcome, ScriptOutcome::SpawnFailed(_)));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
