//! The daemon: process set-up before tokio, then one runtime that owns
//! signals, the VRRP driver and the notify owner (DESIGN.md, How data flows).

use std::time::Duration;

use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::cli::{self, Cli};
use crate::driver::{Driver, DriverOptions};
use crate::error::Error;
use crate::logging::{self, LogOptions};
use crate::process::{self, PidFiles};
use crate::sdnotify::SdNotify;

/// Everything up to the runtime; returns the exit code.
pub fn start(cli: Cli) -> Result<u8, Error> {
    if !cli.dont_fork && !process::is_detached_copy() {
        process::spawn_detached()?;
        return Ok(crate::exit::OK);
    }
    if process::is_detached_copy() {
        process::finish_detach()?;
    }
    let sd = SdNotify::from_env();
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
    // From here on errors are logged (console, syslog) rather than returned.
    let code = match run_with_pid_files(cli, sd) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e}");
            crate::exit::FATAL
        }
    };
    log_guard.flush(Duration::from_secs(1));
    Ok(code)
}

fn run_with_pid_files(cli: Cli, sd: SdNotify) -> Result<u8, Error> {
    // One process plays keepalived's parent and VRRP child: both pid files
    // name it, so scripts that signal either reach us.
    let (pid_files, warnings) =
        PidFiles::write(&[cli.pid_file.as_path(), cli.vrrp_pid_file.as_path()])?;
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

/// Signals keepalived acts on (reference §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalEvent {
    Reload,
    Stop,
    DumpData,
    DumpStats,
    DumpStatsClear,
    DumpJson,
}

/// All signal streams, registered before the first protocol action so that
/// an early TERM is not fatal by default.
pub struct Signals {
    hup: Signal,
    term: Signal,
    int: Signal,
    usr1: Signal,
    usr2: Signal,
    json: Signal,
    stats_clear: Signal,
    ignore_sigint: bool,
}

impl Signals {
    pub fn register(ignore_sigint: bool) -> Result<Signals, Error> {
        let reg = |kind: SignalKind| {
            signal(kind).map_err(|e| Error::Io("registering signal handlers".into(), e))
        };
        Ok(Signals {
            hup: reg(SignalKind::hangup())?,
            term: reg(SignalKind::terminate())?,
            int: reg(SignalKind::interrupt())?,
            usr1: reg(SignalKind::user_defined1())?,
            usr2: reg(SignalKind::user_defined2())?,
            json: reg(SignalKind::from_raw(cli::json_signal()))?,
            stats_clear: reg(SignalKind::from_raw(nix::libc::SIGRTMAX() - 1))?,
            ignore_sigint,
        })
    }

    pub async fn next(&mut self) -> SignalEvent {
        loop {
            let ev = tokio::select! {
                _ = self.hup.recv() => SignalEvent::Reload,
                _ = self.term.recv() => SignalEvent::Stop,
                _ = self.int.recv() => {
                    if self.ignore_sigint { continue; }
                    SignalEvent::Stop
                }
                _ = self.usr1.recv() => SignalEvent::DumpData,
                _ = self.usr2.recv() => SignalEvent::DumpStats,
                _ = self.json.recv() => SignalEvent::DumpJson,
                _ = self.stats_clear.recv() => SignalEvent::DumpStatsClear,
            };
            return ev;
        }
    }
}

async fn run(cli: Cli, sd: SdNotify) -> Result<u8, Error> {
    let mut signals = Signals::register(cli.ignore_sigint)?;
    let plan = match crate::load::load_plan(&cli, crate::load::Strictness::StartUp) {
        Ok(plan) => plan,
        Err(e) => {
            tracing::error!("{e}");
            return Ok(crate::exit::CONFIG);
        }
    };
    let options = DriverOptions {
        dont_release_vrrp: cli.dont_release_vrrp,
        address_monitoring: cli.address_monitoring,
    };
    if let Some((script, timeout)) = &plan.startup_script {
        run_global_script("startup_script", script, *timeout).await;
    }
    let shutdown_script = plan.shutdown_script.clone();
    let mut driver = Driver::new(options).await?;
    driver.start(plan).await?;
    tracing::info!("Startup complete");
    sd.ready("running");
    let mut reload = || match crate::load::load_plan(&cli, crate::load::Strictness::Reload) {
        Ok(plan) => Some(plan),
        Err(e) => {
            tracing::error!("{e}");
            None
        }
    };
    driver.set_sd_notify(sd.clone());
    let ending = driver.run(&mut signals, &mut reload).await;
    tracing::debug!("driver ended: {ending:?}");
    sd.stopping();
    driver.shutdown().await;
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
