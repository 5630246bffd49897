//! The files kalive writes where other users can write too, and how it
//! starts in the background — as an operator (or an attacker on the same
//! host) sees it, with the real binary:
//! - USR1 / USR2 / JSON dumps replace a symbolic link planted at
//!   `/tmp/keepalived.*` instead of writing through it (each daemon gets a
//!   private `/tmp` in its own mount namespace, so the host's is untouched);
//! - pid files: a planted link neither stops nor redirects the start, a
//!   stale file is replaced, a second daemon with the same pid file is
//!   refused as keepalived refuses it (exit 0, "daemon is already running"),
//!   even from another network namespace;
//! - without `-n`, the foreground process exits with the background
//!   process's verdict (6: no config file, 2: config refused, 0: running).
//!
//! Every daemon runs in a network namespace of its own (`unshare -n`,
//! gone with the process) and is killed by its pid on every exit path.
//! Needs root.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kalive::process::PidFiles;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const BIN: &str = env!("CARGO_BIN_EXE_kalive");
const NOBODY: u32 = 65534;
/// Generous: a debug build starting on a loaded 2-core machine.
const START_BOUND: Duration = Duration::from_secs(30);

/// Only global_defs: the daemon starts, with no interface to touch.
const TRIVIAL: &str = "global_defs {\n  router_id files_test\n}\n";
/// keepalived refuses this (a keyword without its parameter; `-n` exits 2).
const REFUSED: &str = "vrrp_instance VI_1 {\n  interface lo\n  virtual_router_id\n}\n";

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "these tests need root (namespaces, files of another user)"
    );
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        require_root();
        let dir = std::env::temp_dir().join(format!("kalive-files-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("dir");
        Scratch(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        fs::write(&p, text).expect("write");
        p
    }
    /// A root-only file (0600 in a 0700 directory) holding `text`.
    fn secret(&self, text: &str) -> PathBuf {
        let private = self.path("private");
        fs::create_dir_all(&private).expect("dir");
        fs::set_permissions(&private, fs::Permissions::from_mode(0o700)).expect("chmod");
        let secret = private.join("secret");
        fs::write(&secret, text).expect("secret");
        fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).expect("chmod");
        secret
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Daemons a test started: our children (killed and reaped) and detached
/// ones (killed by the pid they wrote). Dropped on every exit path.
#[derive(Default)]
struct Daemons {
    children: Vec<Child>,
    detached: Vec<i32>,
}

impl Daemons {
    fn spawn(&mut self, cmd: &mut Command, log: &Path) -> u32 {
        let out = fs::File::create(log).expect("log");
        let err = out.try_clone().expect("log");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start kalive");
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// TERM a child and wait (bounded) for its exit status.
    fn stop(&mut self, pid: u32) -> Option<i32> {
        let index = self.children.iter().position(|c| c.id() == pid)?;
        let mut child = self.children.remove(index);
        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        let deadline = Instant::now() + START_BOUND;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("kalive {pid} did not stop within {START_BOUND:?} of SIGTERM");
    }
}

impl Drop for Daemons {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for &pid in &self.detached {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// Gone, or a zombie nobody reaped yet.
fn gone(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn wait_for<T>(what: &str, bound: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Signals are handled only once start-up is complete (before, TERM or
/// USR1 would end the process): wait for the log line that says so.
fn wait_started(log: &Path) {
    let deadline = Instant::now() + START_BOUND;
    loop {
        let text = fs::read_to_string(log).unwrap_or_default();
        if text.contains("Startup complete") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no \"Startup complete\" within {START_BOUND:?}; log:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn pid_in(path: &Path) -> Option<i32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Run to completion within `bound`; (exit code, stderr + stdout).
fn run_bounded(cmd: &mut Command, log: &Path, bound: Duration) -> (Option<i32>, String) {
    let out = fs::File::create(log).expect("log");
    let err = out.try_clone().expect("log");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("run kalive");
    let deadline = Instant::now() + bound;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "kalive still running after {bound:?}: {}",
                fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status.code(), fs::read_to_string(log).unwrap_or_default())
}

/// `kalive ARGS` in a network namespace of its own.
fn kalive_in_new_netns(args: &[&str]) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["-n", BIN]).args(args);
    cmd
}

fn daemon_args<'a>(conf: &'a str, pid: &'a str, vrrp_pid: &'a str) -> Vec<&'a str> {
    vec!["-n", "-l", "-G", "-f", conf, "-p", pid, "-r", vrrp_pid]
}

fn is_regular_root(path: &Path, mode: u32) -> Result<(), String> {
    let meta = fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.file_type().is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    if meta.uid() != 0 || meta.mode() & 0o7777 != mode {
        return Err(format!(
            "{}: uid {} mode {:o}, want uid 0 mode {mode:o}",
            path.display(),
            meta.uid(),
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

#[test]
fn dumps_replace_links_planted_in_tmp() {
    require_root();
    let json_signal: i32 = String::from_utf8(
        Command::new(BIN)
            .arg("--signum=JSON")
            .output()
            .expect("signum")
            .stdout,
    )
    .expect("utf8")
    .trim()
    .parse()
    .expect("a signal number");
    let s = Scratch::new("dumps");
    // A private /tmp (tmpfs in a mount namespace of its own): another user
    // has planted links to a root-only file under every name the dumps use,
    // and under the temporary name the JSON dump used to go through.
    let script = format!(
        "set -e
# The binary may itself live under /tmp (a checkout there): hold it open,
# and start it through that descriptor once /tmp is covered.
exec 9<{BIN}
mount -t tmpfs kalive-files-test /tmp
chmod 1777 /tmp
mkdir -m 0700 /tmp/private
echo SECRET > /tmp/private/secret
chmod 600 /tmp/private/secret
for n in keepalived.data keepalived.stats keepalived.json keepalived.json.tmp; do
  ln -s /tmp/private/secret /tmp/$n
  chown -h {NOBODY}:{NOBODY} /tmp/$n
done
printf '{TRIVIAL}' > /tmp/k.conf
exec /proc/self/fd/9 -n -l -G -f /tmp/k.conf -p /tmp/k.pid -r /tmp/kv.pid"
    );
    let mut daemons = Daemons::default();
    let pid = daemons.spawn(
        Command::new("unshare").args(["-m", "-n", "--propagation", "private", "sh", "-c", &script]),
        &s.path("daemon.log"),
    );
    let log = || fs::read_to_string(s.path("daemon.log")).unwrap_or_default();
    // Its /tmp, seen from here.
    let tmp = PathBuf::from(format!("/proc/{pid}/root/tmp"));
    wait_for("the pid file", START_BOUND, || {
        (pid_in(&tmp.join("k.pid")) == Some(pid as i32)).then_some(())
    });
    wait_started(&s.path("daemon.log"));
    for (signal, name) in [
        (nix::libc::SIGUSR1, "keepalived.data"),
        (nix::libc::SIGUSR2, "keepalived.stats"),
        (json_signal, "keepalived.json"),
    ] {
        // nix has no name for real-time signals: kill(1) sends any number.
        let sent = Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill -{signal} {pid}");
        let path = tmp.join(name);
        let verdict = wait_for(
            &format!("{name}; log:\n{}", log()),
            Duration::from_secs(20),
            || {
                fs::symlink_metadata(&path)
                    .is_ok_and(|m| !m.file_type().is_symlink())
                    .then(|| is_regular_root(&path, 0o600))
            },
        );
        assert_eq!(verdict, Ok(()), "{name}");
        assert_eq!(
            fs::read_to_string(tmp.join("private/secret")).expect("secret"),
            "SECRET\n",
            "{name}: the root-only file was written through the planted link"
        );
    }
    assert!(
        fs::symlink_metadata(tmp.join("keepalived.json.tmp"))
            .expect("the planted temporary name")
            .file_type()
            .is_symlink(),
        "the JSON dump went through the predictable name keepalived.json.tmp"
    );
    let data = fs::read_to_string(tmp.join("keepalived.data")).expect("data");
    assert!(data.contains("------< VRRP Topology >------"), "{data}");
    let json = fs::read_to_string(tmp.join("keepalived.json")).expect("json");
    assert_eq!(json.trim(), "[]");
    assert_eq!(daemons.stop(pid), Some(0), "{}", log());
}

#[test]
fn a_second_daemon_with_the_same_pid_file_is_refused() {
    let s = Scratch::new("second");
    let conf = s.file("k.conf", TRIVIAL);
    let (conf, pid_file, vrrp1, vrrp2) = (
        conf.display().to_string(),
        s.path("k.pid"),
        s.path("kv1.pid").display().to_string(),
        s.path("kv2.pid").display().to_string(),
    );
    let pid_arg = pid_file.display().to_string();
    let mut daemons = Daemons::default();
    let first = daemons.spawn(
        &mut kalive_in_new_netns(&daemon_args(&conf, &pid_arg, &vrrp1)),
        &s.path("first.log"),
    );
    wait_for("the first daemon's pid file", START_BOUND, || {
        (pid_in(&pid_file) == Some(first as i32)).then_some(())
    });
    wait_started(&s.path("first.log"));

    // keepalived: "daemon is already running", exit 0 — from another
    // network namespace, from the same one, in the foreground or not.
    let cases: [(&str, Command); 3] = [
        (
            "other netns, -n",
            kalive_in_new_netns(&daemon_args(&conf, &pid_arg, &vrrp2)),
        ),
        ("same netns, -n", {
            let mut c = Command::new(BIN);
            c.args(daemon_args(&conf, &pid_arg, &vrrp2));
            c
        }),
        ("other netns, background", {
            let mut c = kalive_in_new_netns(&["-G", "-f", &conf, "-p", &pid_arg, "-r", &vrrp2]);
            c.current_dir("/");
            c
        }),
    ];
    for (what, mut cmd) in cases {
        let (code, output) = run_bounded(&mut cmd, &s.path("second.log"), START_BOUND);
        assert_eq!(code, Some(0), "{what}: {output}");
        assert!(
            output.contains("daemon is already running")
                && output.contains(&format!("pid {first}")),
            "{what}: {output}"
        );
        assert_eq!(pid_in(&pid_file), Some(first as i32), "{what}");
        assert!(
            !Path::new(&vrrp2).exists(),
            "{what}: second pid file written"
        );
    }
    assert_eq!(daemons.stop(first), Some(0));
    assert!(!pid_file.exists(), "pid file left behind at exit");
    assert!(
        !Path::new(&vrrp1).exists(),
        "vrrp pid file left behind at exit"
    );
}

#[test]
fn a_stale_pid_file_is_replaced() {
    let s = Scratch::new("stale");
    let conf = s.file("k.conf", TRIVIAL).display().to_string();
    // A pid that named a process which has exited.
    let mut dead = Command::new("true").spawn().expect("true");
    let dead_pid = dead.id();
    dead.wait().expect("wait");
    let pid_file = s.file("k.pid", &format!("{dead_pid}\n"));
    let pid_arg = pid_file.display().to_string();
    let vrrp = s.path("kv.pid").display().to_string();
    let mut daemons = Daemons::default();
    let pid = daemons.spawn(
        &mut kalive_in_new_netns(&daemon_args(&conf, &pid_arg, &vrrp)),
        &s.path("daemon.log"),
    );
    wait_for("the stale pid file to be replaced", START_BOUND, || {
        (pid_in(&pid_file) == Some(pid as i32)).then_some(())
    });
    wait_started(&s.path("daemon.log"));
    assert_eq!(is_regular_root(&pid_file, 0o644), Ok(()));
    assert_eq!(daemons.stop(pid), Some(0));
}

#[test]
fn a_planted_pid_file_link_neither_stops_nor_redirects_the_start() {
    let s = Scratch::new("pidlink");
    let conf = s.file("k.conf", TRIVIAL).display().to_string();
    // Points at a root-only file that names a live process (init): read
    // through the link, it would say "already running".
    let secret = s.secret("1\n");
    let pid_dir = s.path("run");
    fs::create_dir_all(&pid_dir).expect("dir");
    fs::set_permissions(&pid_dir, fs::Permissions::from_mode(0o777)).expect("chmod");
    let pid_file = pid_dir.join("k.pid");
    symlink(&secret, &pid_file).expect("symlink");
    std::os::unix::fs::lchown(&pid_file, Some(NOBODY), Some(NOBODY)).expect("lchown");
    let pid_arg = pid_file.display().to_string();
    let vrrp = pid_dir.join("kv.pid").display().to_string();
    let mut daemons = Daemons::default();
    let pid = daemons.spawn(
        &mut kalive_in_new_netns(&daemon_args(&conf, &pid_arg, &vrrp)),
        &s.path("daemon.log"),
    );
    let log = || fs::read_to_string(s.path("daemon.log")).unwrap_or_default();
    wait_for("our pid file", START_BOUND, || {
        (pid_in(&pid_file) == Some(pid as i32)).then_some(())
    });
    wait_started(&s.path("daemon.log"));
    assert_eq!(is_regular_root(&pid_file, 0o644), Ok(()));
    assert_eq!(fs::read_to_string(&secret).expect("secret"), "1\n");
    assert_eq!(daemons.stop(pid), Some(0), "{}", log());
    assert!(!pid_file.exists());
}

#[test]
fn pid_files_avoid_predictable_names_and_leave_a_swapped_file() {
    let s = Scratch::new("pidlib");
    let secret = s.secret("SECRET\n");
    let pid_dir = s.path("run");
    fs::create_dir_all(&pid_dir).expect("dir");
    fs::set_permissions(&pid_dir, fs::Permissions::from_mode(0o777)).expect("chmod");
    let pid_file = pid_dir.join("keepalived.pid");
    // kalive used to write `<stem>.tmp<PID>` and rename it into place.
    let me = std::process::id();
    let planted = pid_dir.join(format!("keepalived.tmp{me}"));
    symlink(&secret, &planted).expect("symlink");
    std::os::unix::fs::lchown(&planted, Some(NOBODY), Some(NOBODY)).expect("lchown");

    let (files, _) = PidFiles::write(&[&pid_file]).expect("pid file written");
    assert_eq!(fs::read_to_string(&secret).expect("secret"), "SECRET\n");
    assert!(fs::symlink_metadata(&planted)
        .expect("planted")
        .file_type()
        .is_symlink());
    assert_eq!(is_regular_root(&pid_file, 0o644), Ok(()));
    assert_eq!(pid_in(&pid_file), Some(me as i32));

    // Somebody swaps the pid file for a file of theirs naming us: at exit
    // it is not ours to remove.
    let theirs = pid_dir.join("theirs");
    fs::write(&theirs, format!("{me}\n")).expect("write");
    std::os::unix::fs::chown(&theirs, Some(NOBODY), Some(NOBODY)).expect("chown");
    fs::rename(&theirs, &pid_file).expect("swap");
    drop(files);
    assert_eq!(
        pid_in(&pid_file),
        Some(me as i32),
        "a file swapped in was removed at exit"
    );

    // Not swapped: removed at exit.
    fs::remove_file(&pid_file).expect("remove");
    let (files, _) = PidFiles::write(&[&pid_file]).expect("pid file written");
    drop(files);
    assert!(!pid_file.exists());
}

#[test]
fn the_background_start_reports_its_verdict() {
    let s = Scratch::new("detach");
    let good = s.file("good.conf", TRIVIAL).display().to_string();
    let refused = s.file("refused.conf", REFUSED).display().to_string();
    let missing = s.path("missing.conf").display().to_string();
    let pid_file = s.path("d.pid");
    let pid_arg = pid_file.display().to_string();
    let vrrp = s.path("dv.pid").display().to_string();
    let background =
        |conf: &str| kalive_in_new_netns(&["-G", "-f", conf, "-p", &pid_arg, "-r", &vrrp]);

    // keepalived exits 6 when the config file is missing, and 2 (`-n`) when
    // it refuses the config.
    let (code, output) = run_bounded(
        &mut background(&missing),
        &s.path("missing.log"),
        START_BOUND,
    );
    assert_eq!(code, Some(6), "{output}");
    // The main file is checked before anything starts (as keepalived
    // does), so the foreground process itself says why.
    assert!(
        output.contains("missing.conf"),
        "the foreground process did not say why: {output:?}"
    );
    let (code, output) = run_bounded(
        &mut background(&refused),
        &s.path("refused.log"),
        START_BOUND,
    );
    assert_eq!(code, Some(2), "{output}");
    assert!(
        output.contains("kalive: ") && output.contains("refused.conf"),
        "the foreground process did not say why: {output:?}"
    );
    assert!(!pid_file.exists(), "pid file left by a refused start");

    // A good config: exit 0 once the daemon runs, detached, its pid in the
    // pid file.
    let mut daemons = Daemons::default();
    let mut cmd = background(&good);
    let parent = {
        let log = fs::File::create(s.path("good.log")).expect("log");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start");
        daemons.children.push(child);
        daemons.children.last().map(Child::id).expect("child")
    };
    // Register the daemon for cleanup as soon as it names itself.
    let daemon = wait_for("the background daemon's pid file", START_BOUND, || {
        pid_in(&pid_file).filter(|&p| p != parent as i32)
    });
    daemons.detached.push(daemon);
    let index = daemons.children.len() - 1;
    let status = wait_for("the foreground process to exit", START_BOUND, || {
        daemons.children[index].try_wait().expect("wait")
    });
    assert_eq!(
        status.code(),
        Some(0),
        "{}",
        fs::read_to_string(s.path("good.log")).unwrap_or_default()
    );
    assert!(!gone(daemon), "the background daemon is not running");
    kill(Pid::from_raw(daemon), Signal::SIGTERM).expect("stop the daemon");
    wait_for("the background daemon to stop", START_BOUND, || {
        gone(daemon).then_some(())
    });
    wait_for("its pid file to go", Duration::from_secs(5), || {
        (!pid_file.exists()).then_some(())
    });
}
