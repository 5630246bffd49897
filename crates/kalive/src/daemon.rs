//! The daemon: process set-up before tokio, then the actors (DESIGN.md,
//! Inside the daemon). One current-thread runtime carries the VRRP actor,
//! the supervisor and the control socket (a request costs microseconds and
//! never blocks); the netlink owner has a thread of its own, since its
//! requests are acknowledged synchronously.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::cli::Cli;
use crate::control;
use crate::error::Error;
use crate::logging::{self, LogOptions};
use crate::lvs::LvsHandle;
use crate::net::NetOwner;
use crate::process::{self, PidFiles};
use crate::sdnotify::SdNotify;
use crate::signals::Signals;
use crate::supervisor::Supervisor;
use crate::vrrp::{VrrpActor, VrrpOptions};

/// Everything up to the runtime; returns the exit code.
pub fn start(cli: Cli) -> Result<u8, Error> {
    let worker = process::is_worker();
    if !cli.dont_fork && !process::is_detached_copy() && !worker {
        return process::detach_and_wait();
    }
    let sd = if worker {
        match process::finish_worker()? {
            Some(channel) => SdNotify::via_keeper(channel),
            None => SdNotify::default(),
        }
    } else {
        if process::is_detached_copy() {
            process::finish_detach()?;
        }
        SdNotify::from_env()
    };
    if let Some(text) = &cli.umask {
        let mask = process::parse_umask(text)
            .ok_or_else(|| Error::Config(format!("invalid umask '{text}'")))?;
        process::apply_umask(mask);
    }
    // setns affects only the calling thread: enter before any thread exists.
    let namespace = cli
        .namespace
        .clone()
        .or_else(|| crate::config_test::configured_namespace(&cli));
    if let Some(ns) = &namespace {
        process::enter_namespace(ns)?;
    }
    let log_guard = logging::init(&LogOptions {
        console: cli.log_console,
        detail: cli.log_detail,
        facility: cli.log_facility.unwrap_or_default(),
        syslog: !cli.no_syslog,
        file: cli.log_file.clone(),
    })?;
    if !worker {
        tracing::info!(
            "Starting kalive v{} (keepalived {} compatible)",
            env!("CARGO_PKG_VERSION"),
            crate::KEEPALIVED_COMPAT
        );
        let args: Vec<String> = std::env::args().map(|a| format!("'{a}'")).collect();
        tracing::info!("Command line: {}", args.join(" "));
        for flag in cli.ignored_flags() {
            tracing::warn!("{flag} has no effect in kalive");
        }
    }
    // From here on errors are logged (console, syslog) rather than returned.
    let outcome = if worker {
        run_with_pid_files(cli, sd)
    } else {
        crate::keeper::run(&cli, sd)
    };
    let code = match outcome {
        Ok(code) => code,
        // keepalived logs this and exits 0 (main.c, reference §1.4).
        Err(e @ Error::AlreadyRunning { .. }) => {
            tracing::info!("{e}");
            process::report_failure(crate::exit::OK, &e.to_string());
            crate::exit::OK
        }
        Err(e) => {
            tracing::error!("{e}");
            crate::exit::FATAL
        }
    };
    log_guard.flush(Duration::from_secs(1));
    Ok(code)
}

/// The worker: the actors, under the keeper (`keeper.rs`), which holds the
/// `-p` pid file; ours is `-r` (keepalived's VRRP child's).
fn run_with_pid_files(cli: Cli, sd: SdNotify) -> Result<u8, Error> {
    let own: Vec<&std::path::Path> = if cli.vrrp_pid_file == cli.pid_file {
        Vec::new()
    } else {
        vec![cli.vrrp_pid_file.as_path()]
    };
    let (pid_files, warnings) = PidFiles::write(&own)?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    // One thread, as keepalived's VRRP process: every wake-up of the actor
    // stays on the thread that polled the event, with no futex hand-over
    // between workers (measured: most of the idle CPU of the two-worker
    // runtime went to cross-thread wake-ups and context switches).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .thread_name("kalive")
        .enable_all()
        .build()
        .map_err(|e| Error::Io("starting the runtime".into(), e))?;
    let code = runtime.block_on(run(cli, sd));
    // Scripts and sockets owned by tasks end with the runtime.
    runtime.shutdown_timeout(Duration::from_secs(2));
    drop(pid_files);
    code
}

async fn run(cli: Cli, sd: SdNotify) -> Result<u8, Error> {
    let signals = Signals::register(cli.ignore_sigint)?;
    let plan = match crate::load::load(&cli) {
        Ok(accepted) => accepted.plan,
        Err(refusal) => {
            tracing::error!("{}", refusal.reason);
            process::report_failure(refusal.exit_code, &refusal.reason);
            return Ok(refusal.exit_code);
        }
    };
    let options = VrrpOptions {
        dont_release_vrrp: cli.dont_release_vrrp,
        address_monitoring: cli.address_monitoring,
        log_detail: cli.log_detail > 0,
    };
    if let Some((script, timeout)) = &plan.startup_script {
        run_global_script("startup_script", script, *timeout).await;
    }
    let shutdown_script = plan.shutdown_script.clone();
    // keepalived starts its checker process only for a config with
    // virtual servers (reference §1.4).
    let (lvs, checkers_pid) = if plan.lvs.is_empty() {
        (None, None)
    } else {
        // keepalived's checker process has a pid file of its own (`-c`);
        // here it names this process, as `-p` and `-r` do.
        let (pid, warnings) = PidFiles::write(&[cli.checkers_pid_file.as_path()])?;
        for w in warnings {
            tracing::warn!("{w}");
        }
        (Some(LvsHandle::spawn(plan.lvs.clone())?), Some(pid))
    };
    let net = NetOwner::spawn()?;
    let mut vrrp = VrrpActor::new(options, net.handle()).await?;
    vrrp.start(plan).await?;
    let cli = Arc::new(cli);
    let control_path = cli
        .control_socket
        .clone()
        .unwrap_or_else(|| control::default_path(cli.namespace.as_deref()));
    let (control_tx, control_rx) = mpsc::channel(control::CONTROL_QUEUE);
    let control_task = match control::ControlSocket::bind(&control_path) {
        Ok(socket) => {
            tracing::info!("Control socket {}", control_path.display());
            Some(tokio::spawn(socket.serve(control_tx)))
        }
        Err(e) => {
            tracing::error!("no control socket: {e}");
            None
        }
    };
    let (vrrp_tx, mut vrrp_rx) = mpsc::channel(crate::bus::ACTOR_QUEUE);
    let supervisor = Supervisor::new(
        cli.clone(),
        sd.clone(),
        vrrp_tx,
        lvs.as_ref().map(LvsHandle::sender),
    );
    let supervisor_task = tokio::spawn(supervisor.run(signals, control_rx));
    tracing::info!("Startup complete");
    sd.ready("running");
    process::report_ready();
    vrrp.run(&mut vrrp_rx).await;
    sd.stopping();
    if let Some(task) = control_task {
        // Dropping the task drops the socket, which removes its file.
        task.abort();
        let _ = task.await;
    }
    supervisor_task.abort();
    if let Some(lvs) = lvs {
        lvs.stop(!cli.dont_release_ipvs, Duration::from_secs(15))
            .await;
    }
    drop(checkers_pid);
    vrrp.shutdown().await;
    net.close(Duration::from_secs(2));
    if let Some((script, timeout)) = &shutdown_script {
        run_global_script("shutdown_script", script, *timeout).await;
    }
    tracing::info!("Stopped kalive v{}", env!("CARGO_PKG_VERSION"));
    Ok(crate::exit::OK)
}

/// `startup_script` / `shutdown_script` (reference §1.5): run once, waited
/// for at most their timeout.
async fn run_global_script(what: &str, script: &crate::notify::Script, timeout: Duration) {
    let outcome = crate::notify::run_script(script, timeout).await;
    if !outcome.success() {
        tracing::warn!("{what} {} failed: {outcome}", script.display());
    }
}
