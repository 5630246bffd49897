//! kalive: the keepalived-compatible daemon binary (DESIGN.md, Layers: the
//! top crate wires config, VRRP engine and system drivers together).
//!
//! - [`cli`]: keepalived's command line (reference §1.2).
//! - [`logging`]: console / syslog / file logging through a channel, so a
//!   log line never delays a protocol action.
//! - [`process`]: detaching, umask, network namespace, pid files.
//! - [`notify`]: the notify owner (scripts in order per instance, FIFOs).
//! - [`config_test`]: `-t` and `--dump-json`.
//! - [`daemon`]: the runtime: signals, reload, the VRRP driver.

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

/// The whole program; `main` only turns the result into the process status.
pub fn main_entry() -> ExitCode {
    let cli = cli::Cli::parse();
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
    match daemon::start(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("kalive: {e}");
            ExitCode::from(exit::FATAL)
        }
    }
}
