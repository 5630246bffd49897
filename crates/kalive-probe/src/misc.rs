//! MISC_CHECK (keepalived `check_misc.c`): run `misc_path` in its own
//! process group, wait up to `misc_timeout`, judge the exit status:
//! 0 passes; with `misc_dynamic`, 2..=255 passes too and sets the weight to
//! code - 2; anything else, a signal or the timeout fails. On timeout the
//! group gets SIGTERM, then SIGKILL after a grace period (keepalived waits
//! 2 s), so a script's children die with it. Output is drained while the
//! script runs (a full pipe must not stall it) and only its first bytes are
//! kept. The daemon's shared script runner may replace this later.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};

use crate::{Detail, Error, Outcome};

/// Output bytes kept for the log by default.
pub const DEFAULT_MISC_OUTPUT_BYTES: usize = 1024;

/// How long output is still read after the script has exited.
const AFTER_EXIT_DRAIN: Duration = Duration::from_millis(100);

/// SIGTERM to SIGKILL, as keepalived.
const TERM_GRACE: Duration = Duration::from_secs(2);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MiscCheck {
    /// `misc_path`, split into program and arguments by the caller.
    pub argv: Vec<String>,
    /// `misc_timeout` (keepalived defaults it to the delay loop).
    pub timeout: Duration,
    /// `misc_dynamic`.
    pub dynamic: bool,
    /// `user`: run as this uid/gid.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Output bytes kept in the outcome.
    pub output_bytes: usize,
}

impl MiscCheck {
    pub fn new(argv: Vec<String>, timeout: Duration) -> Result<Self, Error> {
        if argv.first().is_none_or(|p| p.is_empty()) {
            return Err(Error::EmptyCommand);
        }
        Ok(MiscCheck {
            argv,
            timeout,
            dynamic: false,
            uid: None,
            gid: None,
            output_bytes: DEFAULT_MISC_OUTPUT_BYTES,
        })
    }
}

pub async fn misc_check(check: &MiscCheck) -> Outcome {
    let Some((program, args)) = check.argv.split_first() else {
        return Outcome::down("MISC_CHECK command is empty");
    };
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(uid) = check.uid {
        command.uid(uid);
    }
    if let Some(gid) = check.gid {
        command.gid(gid);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return Outcome::down(format!("cannot run {program}: {e}")),
    };
    let group = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    // If this future is dropped before the script ends (the caller gave up),
    // the whole group is killed, not only the leader (`kill_on_drop`).
    let mut guard = GroupGuard(group);
    let mut output = Vec::new();
    let ran = tokio::time::timeout(
        check.timeout,
        run(&mut child, &mut output, check.output_bytes),
    )
    .await;
    let (status, timed_out) = match ran {
        Ok(Ok(status)) => (Some(status), false),
        Ok(Err(e)) => return Outcome::down(format!("waiting for {program}: {e}")),
        Err(_) => (stop(&mut child, group).await, true),
    };
    // Reaped: a script's leftover background children are its own business,
    // as in keepalived.
    guard.0 = None;
    judge(check, status, timed_out, output)
}

/// Kills the process group on drop while armed.
struct GroupGuard(Option<Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(group) = self.0 {
            signal_group(group, Signal::SIGKILL);
        }
    }
}

/// Waits for the script while draining its output.
async fn run(child: &mut Child, output: &mut Vec<u8>, keep: usize) -> std::io::Result<ExitStatus> {
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let mut out_buf = [0u8; 2048];
    let mut err_buf = [0u8; 2048];
    let status = loop {
        tokio::select! {
            status = child.wait() => break status?,
            read = read_open(&mut stdout, &mut out_buf) => keep_some(output, keep, &mut stdout, &out_buf, read),
            read = read_open(&mut stderr, &mut err_buf) => keep_some(output, keep, &mut stderr, &err_buf, read),
        }
    };
    // What the script wrote just before exiting may still be in the pipes.
    // Read it, but not for long: a background child may hold them open.
    let _drained = tokio::time::timeout(AFTER_EXIT_DRAIN, async {
        while stdout.is_some() || stderr.is_some() {
            tokio::select! {
                read = read_open(&mut stdout, &mut out_buf) => keep_some(output, keep, &mut stdout, &out_buf, read),
                read = read_open(&mut stderr, &mut err_buf) => keep_some(output, keep, &mut stderr, &err_buf, read),
            }
        }
    })
    .await;
    Ok(status)
}

/// Reads from a pipe that is still open; a closed one never resolves.
async fn read_open<R: AsyncRead + Unpin>(
    pipe: &mut Option<R>,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    match pipe {
        Some(pipe) => pipe.read(buf).await,
        None => std::future::pending().await,
    }
}

fn keep_some<R>(
    output: &mut Vec<u8>,
    keep: usize,
    pipe: &mut Option<R>,
    scratch: &[u8],
    read: std::io::Result<usize>,
) {
    match read {
        Ok(0) | Err(_) => *pipe = None,
        Ok(n) => {
            let room = keep.saturating_sub(output.len()).min(n);
            output.extend_from_slice(&scratch[..room]);
        }
    }
}

/// SIGTERM to the group, SIGKILL after the grace period, and SIGKILL again
/// to whatever is left in the group once the leader is gone.
async fn stop(child: &mut Child, group: Option<Pid>) -> Option<ExitStatus> {
    let Some(group) = group else {
        // Already reaped.
        return child.wait().await.ok();
    };
    signal_group(group, Signal::SIGTERM);
    let status = match tokio::time::timeout(TERM_GRACE, child.wait()).await {
        Ok(status) => status.ok(),
        Err(_) => {
            signal_group(group, Signal::SIGKILL);
            child.wait().await.ok()
        }
    };
    signal_group(group, Signal::SIGKILL);
    status
}

fn signal_group(group: Pid, signal: Signal) {
    // ESRCH once every member is gone: nothing left to stop.
    let _gone = killpg(group, signal);
}

fn judge(
    check: &MiscCheck,
    status: Option<ExitStatus>,
    timed_out: bool,
    output: Vec<u8>,
) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    let exit_code = status.and_then(|s| s.code());
    let signal = status.and_then(|s| s.signal());
    let weight = match exit_code {
        Some(code @ 2..=255) if check.dynamic => u8::try_from(code - 2).ok(),
        _ => None,
    };
    let detail = Detail::Misc {
        exit_code,
        signal,
        weight,
        timed_out,
        output,
    };
    let outcome = if timed_out {
        Outcome::down(format!("timed out after {:?}", check.timeout))
    } else {
        match (exit_code, signal) {
            (Some(0), _) => Outcome::up(),
            (Some(_), _) if weight.is_some() => Outcome::up(),
            (Some(code), _) => Outcome::down(format!("exited with status {code}")),
            (None, Some(sig)) => Outcome::down(format!("killed by signal {sig}")),
            (None, None) => Outcome::down("ended without a status"),
        }
    };
    outcome.with_detail(detail)
}
