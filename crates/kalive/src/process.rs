//! Process chores done before the tokio runtime starts: detaching from the
//! terminal, umask, network namespace, pid files (reference §1.2, §1.4).

use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kalive_sys::safe_file::{self, FileId, Removal};
use nix::sys::signal::kill;
use nix::unistd::Pid;

use crate::error::Error;

/// Set in the environment of the re-executed background copy. Its stdin is
/// the write end of the verdict pipe to the parent that started it.
pub const DETACHED_ENV: &str = "KALIVE_DETACHED";

/// How long the detaching parent waits for the background copy to say how
/// its start-up went. Start-up includes `startup_script` (bounded by its
/// own timeout) and the first netlink requests; a copy still starting after
/// this is left running and the parent exits 0, as keepalived's would.
pub const VERDICT_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest verdict line read from the background copy.
const VERDICT_MAX: usize = 4096;

/// keepalived forks into the background unless `-n`, after checking the
/// config file and the pid files (reference §1.2: exit 6 without a config).
/// Forking a process that may later run threads is fragile and `fork` is
/// `unsafe`; instead we start a copy of ourselves with the same arguments in
/// a new session and wait until it reports its verdict: start-up complete
/// (exit 0), start-up refused (exit with its code, and its reason on
/// stderr), or the copy exited (exit with its status). Returns the exit
/// code for this, the foreground, process.
pub fn detach_and_wait() -> Result<u8, Error> {
    let (mut child, verdict) = spawn_detached()?;
    let outcome = await_verdict(&mut child, verdict, VERDICT_TIMEOUT);
    if let Some(text) = outcome.message() {
        eprintln!("kalive: {text}");
    }
    Ok(outcome.exit_code())
}

/// Start the background copy: stdin is the write end of the verdict pipe,
/// stdout and stderr are ours until it reports (so that `-l` start-up
/// messages reach the terminal), the working directory is `/`.
pub fn spawn_detached() -> Result<(Child, OwnedFd), Error> {
    let (exe, arg0) = own_executable();
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    // Both ends close-on-exec: the child gets the write end as its stdin
    // (dup2 clears the flag there), the parent keeps only the read end.
    let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::Io("creating the verdict pipe".into(), e.into()))?;
    let child = Command::new(exe)
        .arg0(arg0)
        .args(args)
        .env(DETACHED_ENV, "1")
        .stdin(Stdio::from(write_end))
        .current_dir("/")
        .spawn()
        .map_err(|e| Error::Io("starting the background process".into(), e))?;
    // The Command (and with it our copy of the write end) is gone: EOF on
    // the read end now means the child closed it, i.e. exited.
    Ok((child, read_end))
}

/// How to run this binary again: `/proc/self/exe`, which names the running
/// executable even when its path is gone or hidden (a binary under a `/tmp`
/// that a private mount namespace covers, a package upgrade that replaced
/// it), and the `argv[0]` we were started with.
pub fn own_executable() -> (PathBuf, OsString) {
    let arg0 = std::env::args_os()
        .next()
        .unwrap_or_else(|| OsString::from("kalive"));
    (PathBuf::from("/proc/self/exe"), arg0)
}

/// What the background copy told the parent (or failed to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Start-up complete.
    Ready,
    /// Start-up refused with this exit code (0 for "daemon is already
    /// running", as keepalived) and reason.
    Refused { code: u8, reason: String },
    /// The copy exited before reporting (its exit code; 1 when killed by a
    /// signal).
    Exited { code: u8, signal: Option<i32> },
    /// Nothing within the wait: the copy keeps starting in the background.
    StillStarting { pid: u32 },
}

impl Verdict {
    pub fn exit_code(&self) -> u8 {
        match self {
            Verdict::Ready | Verdict::StillStarting { .. } => crate::exit::OK,
            Verdict::Refused { code, .. } | Verdict::Exited { code, .. } => *code,
        }
    }

    /// What the parent prints on stderr, if anything.
    pub fn message(&self) -> Option<String> {
        match self {
            Verdict::Ready => None,
            Verdict::Refused { reason, .. } => Some(reason.clone()),
            Verdict::Exited {
                signal: Some(sig), ..
            } => Some(format!(
                "the background process was killed by signal {sig} during start-up"
            )),
            Verdict::Exited { code, .. } => {
                let why = match *code {
                    crate::exit::NO_CONFIG => " (configuration file missing)",
                    crate::exit::CONFIG => " (configuration refused)",
                    _ => "",
                };
                Some(format!(
                    "the background process exited with status {code}{why} during start-up; see the log (syslog, or -l / -g)"
                ))
            }
            Verdict::StillStarting { pid } => Some(format!(
                "start-up not complete after {}s; pid {pid} continues in the background",
                VERDICT_TIMEOUT.as_secs()
            )),
        }
    }
}

/// Wait (at most `timeout`) for the verdict line on `verdict`, or for the
/// child to exit.
pub fn await_verdict(child: &mut Child, verdict: OwnedFd, timeout: Duration) -> Verdict {
    let deadline = Instant::now() + timeout;
    let mut file = fs::File::from(verdict);
    let mut line = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Verdict::StillStarting { pid: child.id() };
        }
        let mut fds = [nix::poll::PollFd::new(
            file.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let wait_ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(wait_ms)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            // Cannot wait on the pipe: fall back to the exit status.
            Err(_) => break,
        }
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                line.extend_from_slice(&buf[..n]);
                if let Some(end) = line.iter().position(|&b| b == b'\n') {
                    return parse_verdict(&line[..end]);
                }
                if line.len() > VERDICT_MAX {
                    return parse_verdict(&line[..VERDICT_MAX]);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    // The pipe closed without a verdict: the child has exited or is exiting.
    wait_exit(child, deadline)
}

fn wait_exit(child: &mut Child, deadline: Instant) -> Verdict {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return exited(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) | Err(_) => return Verdict::StillStarting { pid: child.id() },
        }
    }
}

fn exited(status: ExitStatus) -> Verdict {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Verdict::Exited {
            code: u8::try_from(code).unwrap_or(crate::exit::FATAL),
            signal: None,
        },
        (None, signal) => Verdict::Exited {
            code: crate::exit::FATAL,
            signal,
        },
    }
}

/// `READY` or `EXIT <code> <reason>`.
fn parse_verdict(line: &[u8]) -> Verdict {
    let text = String::from_utf8_lossy(line);
    if text == "READY" {
        return Verdict::Ready;
    }
    let rest = text.strip_prefix("EXIT ").unwrap_or(&text);
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    Verdict::Refused {
        code: code.parse().unwrap_or(crate::exit::FATAL),
        reason: reason.to_string(),
    }
}

/// The write end of the verdict pipe, in the background copy until it has
/// reported. Process-wide: there is one start-up per process.
static VERDICT_PIPE: Mutex<Option<fs::File>> = Mutex::new(None);

/// Are we the detached copy started by [`spawn_detached`]?
pub fn is_detached_copy() -> bool {
    std::env::var_os(DETACHED_ENV).is_some()
}

/// In the detached copy: take the verdict pipe off stdin (onto a
/// close-on-exec descriptor that scripts never inherit; stdin becomes
/// `/dev/null`), own session (no controlling terminal), and forget the
/// marker so that scripts we run do not inherit it. Must run before any
/// thread is started (environment changes are not thread-safe).
pub fn finish_detach() -> Result<(), Error> {
    std::env::remove_var(DETACHED_ENV);
    take_verdict_pipe()?;
    RELEASE_ON_READY.store(true, std::sync::atomic::Ordering::SeqCst);
    nix::unistd::setsid().map_err(|e| Error::Io("setsid".into(), e.into()))?;
    Ok(())
}

/// Whether a READY report also lets go of the terminal: in a process that
/// runs in the background (the detached copy, or a worker whose keeper is
/// one), not under `-n`.
static RELEASE_ON_READY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether this process runs in the background (see [`RELEASE_ON_READY`]).
pub fn is_background() -> bool {
    RELEASE_ON_READY.load(std::sync::atomic::Ordering::SeqCst)
}

/// Set in the environment of the worker the keeper starts (`keeper.rs`):
/// `fg` under a foreground keeper (`-n`), `bg` under a background one.
/// Its stdin is the channel to the keeper.
pub const WORKER_ENV: &str = "KALIVE_WORKER";
/// The keeper's pid, in the worker's environment.
pub const KEEPER_PID_ENV: &str = "KALIVE_KEEPER_PID";

/// Are we the worker started by the keeper?
pub fn is_worker() -> bool {
    std::env::var_os(WORKER_ENV).is_some()
}

/// In the worker: forget the markers, take the channel to the keeper off
/// stdin (the start-up verdict goes there first, then `SD` lines: the
/// returned file), and die with the keeper: if the keeper is killed, the
/// kernel sends us SIGTERM and we stop as on any TERM (priority 0, VIPs
/// released). Must run before any thread is started.
pub fn finish_worker() -> Result<Option<fs::File>, Error> {
    let background = std::env::var(WORKER_ENV).is_ok_and(|v| v == "bg");
    let keeper: Option<i32> = std::env::var(KEEPER_PID_ENV)
        .ok()
        .and_then(|v| v.parse().ok());
    std::env::remove_var(WORKER_ENV);
    std::env::remove_var(KEEPER_PID_ENV);
    nix::sys::prctl::set_pdeathsig(Some(nix::sys::signal::Signal::SIGTERM))
        .map_err(|e| Error::Io("asking to die with the keeper".into(), e.into()))?;
    // The keeper may have died before the request above took effect.
    if keeper.is_some_and(|pid| nix::unistd::getppid().as_raw() != pid) {
        return Err(Error::Sys("the keeper process is gone".into()));
    }
    let channel = take_verdict_pipe()?;
    RELEASE_ON_READY.store(background, std::sync::atomic::Ordering::SeqCst);
    Ok(channel)
}

/// Move the pipe on stdin (if it is one) to a close-on-exec descriptor held
/// for the verdict; stdin becomes `/dev/null`. Returns a second handle on
/// the pipe for later messages.
fn take_verdict_pipe() -> Result<Option<fs::File>, Error> {
    let stdin = io::stdin();
    let is_pipe = nix::sys::stat::fstat(stdin.as_fd())
        .is_ok_and(|st| st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFIFO);
    if is_pipe {
        // try_clone_to_owned duplicates with F_DUPFD_CLOEXEC.
        let pipe = stdin
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| Error::Io("taking the verdict pipe".into(), e))?;
        let null =
            fs::File::open("/dev/null").map_err(|e| Error::Io("opening /dev/null".into(), e))?;
        nix::unistd::dup2_stdin(&null)
            .map_err(|e| Error::Io("redirecting stdin".into(), e.into()))?;
        let later = pipe
            .try_clone()
            .map_err(|e| Error::Io("taking the verdict pipe".into(), e))?;
        if let Ok(mut slot) = VERDICT_PIPE.lock() {
            *slot = Some(fs::File::from(pipe));
        }
        return Ok(Some(fs::File::from(later)));
    }
    Ok(None)
}

/// Start-up is complete: the detaching parent exits 0. The background copy
/// then lets go of the terminal (stdout and stderr to `/dev/null`, as
/// keepalived's daemon does). A no-op with `-n` and after the first report.
pub fn report_ready() {
    if send_verdict("READY") && RELEASE_ON_READY.load(std::sync::atomic::Ordering::SeqCst) {
        release_terminal();
    }
}

/// Start-up refused: the detaching parent prints `reason` and exits with
/// `code`. A no-op with `-n` and after the first report.
pub fn report_failure(code: u8, reason: &str) {
    // One line: the parent reads up to the first newline.
    let reason = reason.replace('\n', " ");
    send_verdict(&format!("EXIT {code} {reason}"));
}

/// Send one verdict line if we still hold the pipe; true if one was sent.
fn send_verdict(line: &str) -> bool {
    let Some(mut pipe) = VERDICT_PIPE.lock().ok().and_then(|mut slot| slot.take()) else {
        return false;
    };
    if let Err(e) = pipe.write_all(format!("{line}\n").as_bytes()) {
        // The parent gave up waiting (or was killed): nobody to tell.
        tracing::debug!("start-up verdict not delivered: {e}");
    }
    true
}

fn release_terminal() {
    let Ok(null) = fs::OpenOptions::new().write(true).open("/dev/null") else {
        tracing::warn!("cannot open /dev/null; stdout and stderr stay as they are");
        return;
    };
    for (what, result) in [
        ("stdout", nix::unistd::dup2_stdout(&null)),
        ("stderr", nix::unistd::dup2_stderr(&null)),
    ] {
        if let Err(e) = result {
            tracing::warn!("cannot redirect {what} to /dev/null: {e}");
        }
    }
}

/// `-u MASK`: keepalived reads it like strtoul(…, 0): `0x` hex, leading `0`
/// octal, else decimal.
pub fn parse_umask(text: &str) -> Option<u32> {
    let t = text.trim();
    let value = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16).ok()?
    } else if t.len() > 1 && t.starts_with('0') {
        u32::from_str_radix(&t[1..], 8).ok()?
    } else {
        t.parse().ok()?
    };
    (value <= 0o777).then_some(value)
}

pub fn apply_umask(mask: u32) {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(
        mask as nix::libc::mode_t,
    ));
}

/// `-s NAME`: enter `/run/netns/NAME` (as `ip netns exec` does). Must run
/// before any thread is started: setns changes only the calling thread.
pub fn enter_namespace(name: &str) -> Result<(), Error> {
    let path = Path::new("/run/netns").join(name);
    let file = fs::File::open(&path).map_err(|e| Error::Namespace(name.into(), e.to_string()))?;
    nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::Namespace(name.into(), e.to_string()))
}

/// Pid files we wrote; each removed when dropped (daemon exit) if it is
/// still the file we wrote.
#[derive(Debug, Default)]
pub struct PidFiles {
    written: Vec<(PathBuf, FileId)>,
}

/// A pid file holds a pid in decimal and a newline; anything longer is not
/// a pid file.
const PID_FILE_MAX: usize = 64;

impl PidFiles {
    /// Write our pid to each file, mode 0644, through
    /// [`safe_file::write_replace`]: a symbolic link or a file planted under
    /// the name (or a predictable temporary name) is replaced, never
    /// followed or written into.
    ///
    /// keepalived refuses to start when a pid file names a running process,
    /// whatever its network namespace ("daemon is already running",
    /// `pidfile.c:keepalived_running`); a pid file naming no process is
    /// stale and replaced. Every file is checked before any is written.
    /// Returns the notes to log (stale or unreadable files replaced).
    pub fn write(paths: &[&Path]) -> Result<(PidFiles, Vec<String>), Error> {
        let me = std::process::id();
        let mut notes = Vec::new();
        for path in paths {
            match read_pid(path) {
                Ok(None) => {}
                Ok(Some(pid)) if pid == me as i32 => {}
                Ok(Some(pid)) if process_alive(pid) => {
                    return Err(Error::AlreadyRunning {
                        pid,
                        file: path.display().to_string(),
                    });
                }
                Ok(Some(pid)) => notes.push(format!(
                    "Remove a zombie pid file {} (pid {pid} is not running)",
                    path.display()
                )),
                Err(reason) => notes.push(format!(
                    "pid file {}: {reason}; replacing it",
                    path.display()
                )),
            }
        }
        let mut files = PidFiles::default();
        let text = format!("{me}\n");
        for path in paths {
            // `-p` and `-r` may name one file: write (and later remove) it once.
            if files.paths().any(|written| written == *path) {
                continue;
            }
            create_parent(path).map_err(|e| {
                Error::Io(format!("creating the directory of {}", path.display()), e)
            })?;
            // On error `files` is dropped: the files already written go.
            let id = safe_file::write_replace(path, text.as_bytes(), 0o644)
                .map_err(|e| Error::Sys(format!("pid file: {e}")))?;
            files.written.push((path.to_path_buf(), id));
        }
        Ok((files, notes))
    }

    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.written.iter().map(|(path, _)| path.as_path())
    }
}

impl Drop for PidFiles {
    fn drop(&mut self) {
        for (path, id) in &self.written {
            match safe_file::remove_if_same(path, *id) {
                Ok(Removal::Removed | Removal::Absent) => {}
                Ok(Removal::NotOurs) => tracing::warn!(
                    "pid file {} is no longer the one we wrote; leaving it",
                    path.display()
                ),
                Err(e) => tracing::warn!("{e}"),
            }
        }
    }
}

fn create_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => fs::create_dir_all(dir),
        _ => Ok(()),
    }
}

/// The pid a pid file names: `Ok(None)` when there is no file, `Err` with
/// the reason when the name holds something that is not a readable pid
/// file (a symbolic link is not followed).
fn read_pid(path: &Path) -> Result<Option<i32>, String> {
    let contents = match safe_file::read_nofollow(path, PID_FILE_MAX + 1) {
        Ok(contents) => contents,
        Err(e) if e.errno() == Some(nix::libc::ENOENT) => return Ok(None),
        Err(e) if e.errno() == Some(nix::libc::ELOOP) => {
            return Err("is a symbolic link (not followed)".into())
        }
        Err(e) => return Err(e.to_string()),
    };
    // Only a daemon running as we do (root) writes the pid file: one owned
    // by another user was planted, and must not stop us from starting.
    let me = nix::unistd::geteuid().as_raw();
    if contents.owner != me {
        return Err(format!(
            "owned by uid {}, not by us (uid {me})",
            contents.owner
        ));
    }
    if contents.bytes.len() > PID_FILE_MAX {
        return Err("too long for a pid file".into());
    }
    let text = String::from_utf8_lossy(&contents.bytes);
    match text.trim().parse::<i32>() {
        Ok(pid) if pid > 0 => Ok(Some(pid)),
        _ => Err(format!("does not hold a pid ({:?})", text.trim())),
    }
}

/// A process that exists and has not exited: a zombie (killed, not yet
/// reaped — a worker killed together with its keeper is reparented and
/// waits for its new parent) holds no pid file any more.
fn process_alive(pid: i32) -> bool {
    pid > 0
        && matches!(
            kill(Pid::from_raw(pid), None),
            Ok(()) | Err(nix::errno::Errno::EPERM)
        )
        && !is_zombie(pid)
}

fn is_zombie(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // The state follows the command name in parentheses, which may
            // itself hold spaces and parentheses.
            let (_, rest) = stat.rsplit_once(')')?;
            rest.split_whitespace().next().map(|state| state == "Z")
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zombie_is_not_alive() {
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let pid = child.id() as i32;
        // Exited but not reaped: a zombie until wait().
        let deadline = Instant::now() + Duration::from_secs(5);
        while !is_zombie(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!process_alive(pid));
        child.wait().expect("reap");
        assert!(process_alive(std::process::id() as i32));
    }

    #[test]
    fn umask_forms() {
        assert_eq!(parse_umask("022"), Some(0o022));
        assert_eq!(parse_umask("0x12"), Some(0o022));
        assert_eq!(parse_umask("18"), Some(18));
        assert_eq!(parse_umask("0"), Some(0));
        assert_eq!(parse_umask("09"), None);
        assert_eq!(parse_umask("01777"), None);
    }

    #[test]
    fn pid_files_written_refused_and_removed() {
        let dir = std::env::temp_dir().join(format!("kalive-pid-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let main = dir.join("keepalived.pid");
        let vrrp = dir.join("keepalived_vrrp.pid");
        {
            let (files, warnings) = PidFiles::write(&[&main, &vrrp]).expect("written");
            assert!(warnings.is_empty());
            assert_eq!(files.paths().count(), 2);
            let me = std::process::id().to_string();
            assert_eq!(fs::read_to_string(&main).expect("read").trim(), me);
            assert_eq!(fs::read_to_string(&vrrp).expect("read").trim(), me);
        }
        assert!(!main.exists() && !vrrp.exists(), "removed on drop");

        // A live process in our namespace (our parent) blocks start.
        let parent = std::os::unix::process::parent_id() as i32;
        fs::create_dir_all(&dir).expect("dir");
        fs::write(&main, format!("{parent}\n")).expect("write");
        let err = PidFiles::write(&[&main]).expect_err("refused");
        assert!(
            matches!(err, Error::AlreadyRunning { pid, .. } if pid == parent),
            "{err}"
        );

        // A stale file (no such process) is overwritten.
        fs::write(&main, "999999999\n").expect("write");
        let (files, notes) = PidFiles::write(&[&main]).expect("stale file replaced");
        assert!(notes[0].contains("zombie"), "{notes:?}");
        drop(files);

        // `-p` and `-r` naming one file: written once, removed at exit.
        let (files, _) = PidFiles::write(&[&main, &main]).expect("written");
        assert_eq!(files.paths().count(), 1);
        drop(files);
        assert!(!main.exists());
        let _ = fs::remove_dir_all(&dir);
    }

    /// A stand-in for the background copy: `sh -c SCRIPT` with the verdict
    /// pipe as its stdin, as `spawn_detached` arranges.
    fn verdict_of(script: &str, timeout: Duration) -> Verdict {
        let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        let mut child = Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::from(write_end))
            .spawn()
            .expect("sh");
        let verdict = await_verdict(&mut child, read_end, timeout);
        // Never leave the stand-in behind (it is ours, killed by its pid).
        let _ = child.kill();
        let _ = child.wait();
        verdict
    }

    #[test]
    fn the_parent_learns_the_verdict() {
        let long = Duration::from_secs(20);
        assert_eq!(verdict_of("echo READY >&0; sleep 5", long), Verdict::Ready);
        assert_eq!(
            verdict_of("echo 'EXIT 0 daemon is already running' >&0", long),
            Verdict::Refused {
                code: 0,
                reason: "daemon is already running".into()
            }
        );
        let exited = verdict_of("exit 6", long);
        assert_eq!(
            exited,
            Verdict::Exited {
                code: 6,
                signal: None
            }
        );
        assert_eq!(exited.exit_code(), 6);
        assert!(exited.message().is_some_and(|m| m.contains("status 6")));
        let killed = verdict_of("kill -9 $$", long);
        assert_eq!(killed.exit_code(), crate::exit::FATAL);
        // Silence is bounded: the parent gives up and exits 0.
        let started = Instant::now();
        let silent = verdict_of("sleep 10", Duration::from_millis(300));
        assert!(
            matches!(silent, Verdict::StillStarting { .. }),
            "{silent:?}"
        );
        assert_eq!(silent.exit_code(), 0);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_report_without_a_pipe_is_a_no_op() {
        // Not the detached copy: nothing to tell, nothing redirected.
        report_failure(2, "no parent");
        report_ready();
    }
}
