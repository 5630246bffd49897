//! The keeper: the process an operator (or systemd) starts, playing
//! keepalived's parent (reference §1.4; issue 11 item 12). It runs no
//! protocol itself. It starts the worker (this binary again, with the same
//! arguments, which runs the actors), forwards every signal to it, relays
//! its start-up verdict and systemd notifications, and when the worker dies
//! without being asked to, starts a new one at once (unless `-R`): the new
//! worker removes the VIPs, routes and rules the dead one left before it
//! does anything else, as keepalived's restarted VRRP child does. The
//! worker in turn asks the kernel for SIGTERM when the keeper dies, so
//! killing the keeper stops the worker cleanly (priority 0, VIPs released).
//!
//! `-p` names the keeper, `-r` the worker, as keepalived's pid files name
//! its parent and VRRP child.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::signal::unix::{signal, SignalKind};

use crate::cli::{self, Cli};
use crate::error::Error;
use crate::process::{self, PidFiles, KEEPER_PID_ENV, WORKER_ENV};
use crate::sdnotify::{self, SdNotify};

/// A worker that dies sooner than this after its start counts as a crash
/// loop: the next start waits [`CRASH_BACKOFF`].
const QUICK_DEATH: Duration = Duration::from_secs(5);
const CRASH_BACKOFF: Duration = Duration::from_secs(1);

/// Signals the keeper passes on to the worker.
fn forwarded(ignore_sigint: bool) -> Vec<SignalKind> {
    let mut kinds = vec![
        SignalKind::hangup(),
        SignalKind::terminate(),
        SignalKind::user_defined1(),
        SignalKind::user_defined2(),
        SignalKind::from_raw(cli::json_signal()),
        SignalKind::from_raw(nix::libc::SIGRTMAX() - 1),
    ];
    if !ignore_sigint {
        kinds.push(SignalKind::interrupt());
    }
    kinds
}

/// Run as the keeper until the worker ends for good; returns the exit code.
pub fn run(cli: &Cli, sd: SdNotify) -> Result<u8, Error> {
    let (pid_files, notes) = PidFiles::write(&[cli.pid_file.as_path()])?;
    for note in notes {
        tracing::warn!("{note}");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .thread_name("kalive-keeper")
        .enable_all()
        .build()
        .map_err(|e| Error::Io("starting the keeper's runtime".into(), e))?;
    let code = runtime.block_on(keep(cli, sd));
    runtime.shutdown_timeout(Duration::from_secs(1));
    drop(pid_files);
    code
}

async fn keep(cli: &Cli, sd: SdNotify) -> Result<u8, Error> {
    let mut streams = Vec::new();
    for kind in forwarded(cli.ignore_sigint) {
        let stream =
            signal(kind).map_err(|e| Error::Io("registering signal handlers".into(), e))?;
        streams.push((kind, stream));
    }
    let background = process::is_background();
    let mut stopping = false;
    let mut ready_once = false;
    loop {
        let started = Instant::now();
        let mut worker = spawn_worker(background)?;
        let pid = worker.child.id().unwrap_or(0);
        tracing::info!("Starting VRRP child process, pid={pid}");
        let status = loop {
            tokio::select! {
                status = worker.child.wait() => break status,
                line = worker.channel.next_line(), if worker.channel_open => match line {
                    Ok(Some(line)) => relay(&line, &sd, &mut ready_once),
                    // The worker closed its end: it is exiting.
                    Ok(None) | Err(_) => worker.channel_open = false,
                },
                kind = next_signal(&mut streams) => {
                    if kind == SignalKind::terminate() || kind == SignalKind::interrupt() {
                        stopping = true;
                    }
                    if pid != 0 {
                        let signo = kind.as_raw_value();
                        if let Err(e) = kalive_sys::signal::send(pid, signo) {
                            tracing::warn!("cannot pass signal {signo} to the VRRP child ({pid}): {e}");
                        }
                    }
                }
            }
        };
        let status = status.map_err(|e| Error::Io("waiting for the VRRP child".into(), e))?;
        match what_next(status, stopping, cli.dont_respawn) {
            Next::Exit(code) => return Ok(code),
            Next::Respawn => {
                tracing::error!(
                    "VRRP child process({pid}) died ({}): Respawning",
                    describe(status)
                );
                if started.elapsed() < QUICK_DEATH {
                    tokio::time::sleep(CRASH_BACKOFF).await;
                }
            }
        }
    }
}

/// What to do when the worker has ended.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    Exit(u8),
    Respawn,
}

fn what_next(status: ExitStatus, stopping: bool, dont_respawn: bool) -> Next {
    match status.code() {
        // It exited by itself: a refused start (its code), or a stop.
        Some(code) => Next::Exit(u8::try_from(code).unwrap_or(crate::exit::FATAL)),
        // Killed while we were stopping (e.g. by the lab's tree kill).
        None if stopping => Next::Exit(crate::exit::OK),
        None if dont_respawn => {
            tracing::error!(
                "VRRP child process died ({}); -R: not respawning",
                describe(status)
            );
            Next::Exit(crate::exit::FATAL)
        }
        None => Next::Respawn,
    }
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => Signal::try_from(sig)
            .map(|s| format!("killed by {s}"))
            .unwrap_or_else(|_| format!("killed by signal {sig}")),
        (None, None) => "unknown status".into(),
    }
}

/// One line from the worker: its start-up verdict (passed on to the
/// process that detached us, if any, and to systemd) or a notification.
fn relay(line: &str, sd: &SdNotify, ready_once: &mut bool) {
    if line == "READY" {
        if !*ready_once {
            *ready_once = true;
            process::report_ready();
        }
    } else if let Some(rest) = line.strip_prefix("EXIT ") {
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let code = code.parse().unwrap_or(crate::exit::FATAL);
        process::report_failure(code, reason);
    } else if let Some(message) = line.strip_prefix("SD ") {
        let message = sdnotify::unescape(message);
        if let Some(status) = message.strip_prefix("READY=1\nSTATUS=") {
            // Name ourselves as the main PID: systemd started us.
            sd.ready(status);
        } else {
            sd.send(&message);
        }
    } else {
        tracing::debug!("unexpected line from the VRRP child: {line}");
    }
}

struct Worker {
    child: tokio::process::Child,
    channel: tokio::io::Lines<BufReader<tokio::net::unix::pipe::Receiver>>,
    channel_open: bool,
}

/// Start the worker: this binary with our arguments, the channel on its
/// stdin, our stdout and stderr.
fn spawn_worker(background: bool) -> Result<Worker, Error> {
    let (exe, arg0) = process::own_executable();
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::Io("creating the channel to the VRRP child".into(), e.into()))?;
    let child = tokio::process::Command::new(exe)
        .arg0(arg0)
        .args(args)
        .env(WORKER_ENV, if background { "bg" } else { "fg" })
        .env(KEEPER_PID_ENV, std::process::id().to_string())
        .stdin(Stdio::from(write_end))
        .kill_on_drop(false)
        .spawn()
        .map_err(|e| Error::Io("starting the VRRP child".into(), e))?;
    let receiver = tokio::net::unix::pipe::Receiver::from_owned_fd(read_end)
        .map_err(|e| Error::Io("reading the channel to the VRRP child".into(), e))?;
    Ok(Worker {
        child,
        channel: BufReader::new(receiver).lines(),
        channel_open: true,
    })
}

/// The next forwarded signal (never resolves without streams).
async fn next_signal(streams: &mut [(SignalKind, tokio::signal::unix::Signal)]) -> SignalKind {
    let waits = streams.iter_mut().map(|(kind, stream)| {
        let kind = *kind;
        Box::pin(async move {
            stream.recv().await;
            kind
        })
    });
    let (kind, _, _) = futures::future::select_all(waits).await;
    kind
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_killed_by_a_signal_is_respawned_unless_stopping_or_told_not_to() {
        let killed = ExitStatus::from_raw(9);
        let exited_2 = ExitStatus::from_raw(2 << 8);
        assert_eq!(what_next(killed, false, false), Next::Respawn);
        assert_eq!(what_next(killed, true, false), Next::Exit(0));
        assert_eq!(what_next(killed, false, true), Next::Exit(1));
        assert_eq!(what_next(exited_2, false, false), Next::Exit(2));
        assert_eq!(describe(killed), "killed by SIGKILL");
    }
}
