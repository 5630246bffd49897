//! kalive: the keepalived-compatible daemon binary (DESIGN.md, Layers: the
//! top crate wires config, VRRP engine and system drivers together).
//!
//! # Running it
//!
//! The command line that starts keepalived starts kalive (reference §1.2):
//! `kalive -n -l -D -f /etc/keepalived/keepalived.conf`; without `-n` it
//! detaches (re-executing itself in a new session). `-t[=LOGFILE]` checks a
//! config (`file:line:col: severity: message`, keepalived's exit codes),
//! `--dump-json` prints the parsed model. One process plays keepalived's
//! parent and VRRP child: `-p` and `-r` pid files both name it. Debian's
//! `Type=notify` unit works (READY=1 via `$NOTIFY_SOCKET`).
//!
//! Signals (reference §1.3): HUP reloads (a config with errors is refused and
//! the running one kept; if the VRRP instances are unchanged they keep
//! running and only scripts / notifies are replaced; otherwise every instance
//! is restarted: MASTERs release with priority 0 and a new election follows,
//! unlike keepalived, which keeps a matched MASTER), TERM/INT stop (each MASTER sends priority 0 and
//! removes its VIPs, routes and rules, unless `-V`), USR1 writes
//! `/tmp/keepalived.data`, USR2 `/tmp/keepalived.stats` (keepalived's
//! layout), SIGRTMIN+2 `/tmp/keepalived.json`, SIGRTMAX-1 stats then clear.
//!
//! Logs use keepalived's wording for what operators grep for
//! (`(VI_1) Entering MASTER STATE`, `(VI_1) setting VIPs.`, `(VI_1) sent 0
//! priority`, ...), on the console with `-l` (`%c: message`) and to syslog
//! (`/dev/log`, ident `kalive`, facility from `-S`) unless `-G`, written by a
//! thread fed through a channel so that logging never delays a protocol
//! action.
//!
//! # Modules
//!
//! - [`cli`]: keepalived's command line.
//! - [`logging`]: console / syslog / file logging through a channel.
//! - [`process`]: detaching, umask, network namespace, pid files.
//! - [`sdnotify`]: systemd readiness.
//! - [`config_test`]: `-t`, `--dump-json`, config loading for the daemon.
//! - [`setup`]: keepalived.conf model → engine configs and runtime plan.
//! - [`netops`]: address / route / rule entries → netlink requests.
//! - [`notify`]: the notify owner (scripts in order per instance, FIFOs).
//! - [`track_script`]: vrrp_script runs and track_file reads.
//! - [`timer`]: the actor's timerfd (microsecond deadlines).
//! - [`driver`]: the VRRP actor and its resource owners.
//! - [`daemon`]: start-up, signals, the runtime.

pub mod cli;
pub mod config_test;
pub mod daemon;
pub mod driver;
pub mod error;
pub mod load;
pub mod logging;
pub mod netops;
pub mod notify;
pub mod process;
pub mod sdnotify;
pub mod setup;
pub mod timer;
pub mod track_script;

use std::process::ExitCode;

use clap::Parser;

pub use error::Error;

/// keepalived's version we behave like (printed by `-v`).
pub const KEEPALIVED_COMPAT: &str = "2.2.7";

/// keepalived's exit codes (reference §1.2: "Normal exit codes").
pub mod exit {
    pub const OK: u8 = 0;
    pub const FATAL: u8 = 1;
    pub const CONFIG: u8 = 2;
    pub const NO_CONFIG: u8 = 6;
}

/// A command line clap refused: `-h` prints the usage (exit 0); an unknown
/// option or a missing option value exits 1 like keepalived
/// (`core/main.c:parse_cmdline`), not clap's 2, which kalive's callers
/// would read as keepalived's "config error".
fn command_line_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    // Printing to a closed stdout/stderr is not worth a panic.
    let _ = e.print();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
        _ => ExitCode::from(exit::FATAL),
    }
}

/// The whole program; `main` only turns the result into the process status.
pub fn main_entry() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return command_line_error(&e),
    };
    if let Some(name) = &cli.signum {
        return match cli::signum(name) {
            Some(n) => {
                println!("{n}");
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("Unknown sigfunc {name}");
                ExitCode::from(exit::FATAL)
            }
        };
    }
    if cli.version {
        println!(
            "kalive v{} (keepalived {KEEPALIVED_COMPAT} compatible)",
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    if cli.is_config_test() || cli.dump_json {
        return ExitCode::from(config_test::run(&cli));
    }
    // keepalived checks the main config file before it detaches: missing,
    // a directory, a FIFO or a device means "no config" (exit 6).
    if let Err(diagnostics) = kalive_config::preprocess::check_main_file(&cli.use_file) {
        for d in &diagnostics {
            eprintln!("{d}");
        }
        return ExitCode::from(exit::NO_CONFIG);
    }
    match daemon::start(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("kalive: {e}");
            ExitCode::from(exit::FATAL)
        }
    }
}
