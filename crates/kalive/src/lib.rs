//! kalive: the keepalived-compatible daemon binary (DESIGN.md, Layers: the
//! top crate wires config, VRRP engine and system drivers together).
//!
//! # Running it
//!
//! The command line that starts keepalived starts kalive (reference §1.2):
//! `kalive -n -l -D -f /etc/keepalived/keepalived.conf`; without `-n` it
//! detaches (re-executing itself in a new session). `-t[=LOGFILE]` checks a
//! config (`file:line:col: severity: message`, keepalived's exit codes),
//! `--dump-json` prints the parsed model. As keepalived runs a parent and a
//! VRRP child, kalive runs a keeper (`-p`; [`keeper`]) that restarts the
//! worker (`-r`) if it dies, and a worker that stops cleanly if the keeper
//! dies. Debian's
//! `Type=notify` unit works (READY=1 via `$NOTIFY_SOCKET`).
//!
//! Signals (reference §1.3): HUP reloads (the same verdict as at start:
//! warnings never refuse, what keepalived will not run is refused and the
//! running config kept; otherwise the engine matches old and new instances
//! as keepalived does and keeps their state, a MASTER stays MASTER, and only
//! the differences are applied: VIPs, routes, rules, statics, VMACs,
//! sockets), TERM/INT stop (each MASTER sends priority 0 and removes its
//! VIPs, routes and rules, unless `-V`), USR1 writes
//! `/tmp/keepalived.data`, USR2 `/tmp/keepalived.stats` (keepalived's
//! layout), SIGRTMIN+2 `/tmp/keepalived.json`, SIGRTMAX-1 stats then clear.
//!
//! `kalive ctl` talks to the running daemon over a root-only Unix socket
//! (`--control-socket`, default `/run/kalive/kalive.ctl`, or
//! `/run/kalive/kalive-NS.ctl` in network namespace NS): `status`,
//! `promote`/`demote`/`clear` an instance or sync group (the override
//! survives reloads), `reload` with the verdict and diagnostics, `dump`.
//!
//! Logs use keepalived's wording for what operators grep for
//! (`(VI_1) Entering MASTER STATE`, `(VI_1) setting VIPs.`, `(VI_1) sent 0
//! priority`, ...), on the console with `-l` (`%c: message`) and to syslog
//! (`/dev/log`, ident `kalive`, facility from `-S`) unless `-G`, written by a
//! thread fed through a channel so that logging never delays a protocol
//! action.
//!
//! # Health checks and load balancing
//!
//! `virtual_server` blocks run on a thread of their own ([`lvs`]): the
//! [`check`] actor probes real servers (every keepalived checker kind, via
//! kalive-probe, at most [`check::MAX_CONCURRENT_PROBES`] at once) and the
//! [`lb`] owner keeps the kernel's load balancer as the health says, with
//! nftables (table `inet kalive`, one transaction per burst of changes,
//! read back and reconciled at start, removed at stop unless `-I`). Real
//! servers' `notify_up`/`notify_down`, services' `quorum_up`/`quorum_down`
//! and `lvs_notify_fifo` lines follow keepalived (reference §1.11–1.12);
//! what nftables cannot do of a config is logged once at start. As
//! keepalived, every director programs the table whatever its VRRP state;
//! `ha_suspend` pauses a service's checks while its address is not on this
//! host (netlink address events). A reload keeps unchanged checkers (state
//! and schedule) and leaves unchanged nft chains alone. `-P` runs VRRP
//! only, `-C` checks and load balancing only. `kalive ctl status` lists
//! virtual and real servers, checkers and their last failures.
//!
//! # Modules
//!
//! - [`daemon`]: start-up: process set-up, the runtime, the actors.
//! - [`supervisor`]: signals and control requests, fanned out to the
//!   actors as [`bus`] messages; the one reload verdict ([`load`]).
//! - [`vrrp`]: the VRRP actor (engine, sockets, batching, dumps).
//! - [`net`]: the netlink owner (addresses, routes, rules, GARP/NA) on its
//!   own thread, behind bounded, coalescing queues.
//! - [`notify`]: the notify owner (scripts, FIFOs).
//! - [`lvs`]: the LVS thread: the [`check`] actor (health checks) and the
//!   [`lb`] owner (nftables load balancer), fed by [`lower`].
//! - [`control`]: the root-only control socket; [`ctl`]: `kalive ctl`.
//! - [`cli`], [`config_test`], [`setup`], [`track_script`],
//!   [`track_process`], [`timer`],
//!   [`signals`], [`logging`], [`process`], [`sdnotify`]: command line,
//!   `-t`, model → engine configs, trackers, the actor's timerfd, signal
//!   stream, logging, detaching and pid files, systemd readiness.

pub mod bus;
pub mod check;
pub mod cli;
pub mod config_test;
pub mod control;
pub mod ctl;
pub mod daemon;
pub mod error;
pub mod genhash;
pub mod keeper;
pub mod lb;
pub mod load;
pub mod logging;
pub mod lower;
pub mod lvs;
pub mod net;
pub mod notify;
pub mod process;
pub mod sdnotify;
pub mod setup;
pub mod signals;
pub mod supervisor;
pub mod timer;
pub mod track_process;
pub mod track_script;
pub mod vrrp;

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
    let mut args = std::env::args();
    let program = args.next().unwrap_or_default();
    // Run as `genhash` (a link named so), keepalived's genhash(1).
    if std::path::Path::new(&program)
        .file_name()
        .is_some_and(|name| name == "genhash")
    {
        return genhash::main(&program, args.collect());
    }
    match args.next().as_deref() {
        Some("ctl") => return ctl::main(args.collect()),
        Some("genhash" | "--genhash" | "-T") => {
            return genhash::main(&format!("{program} genhash"), args.collect())
        }
        _ => {}
    }
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
