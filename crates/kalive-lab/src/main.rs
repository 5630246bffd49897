//! kalive-lab: network-namespace lab (demo, tests, benchmarks).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use kalive_lab::{demo, Implementation, LabError};

#[derive(Parser)]
#[command(version, about = "Network-namespace lab for kalive and keepalived")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Three routers, one VIP, a client: kill the master, watch the takeover,
    /// bring it back, clean up. Needs root.
    Demo {
        /// Which daemon runs in the routers.
        #[arg(long = "impl", value_enum, default_value_t = Impl::Kalive)]
        implementation: Impl,
        /// Path of the kalive binary (default: next to this executable).
        #[arg(long)]
        kalive: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Impl {
    Kalive,
    Keepalived,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let flag = kalive_lab::interrupt_flag();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, flag.clone()) {
            eprintln!("kalive-lab: cannot install signal handler: {e}");
            return ExitCode::FAILURE;
        }
    }
    let result = match cli.command {
        Command::Demo {
            implementation,
            kalive,
        } => implementation_of(implementation, kalive)
            .and_then(|imp| demo::run(&imp, &mut std::io::stdout()).map(drop)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(LabError::Interrupted) => {
            eprintln!(
                "kalive-lab: interrupted; every namespace and process of the lab was removed"
            );
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("kalive-lab: {e}");
            ExitCode::FAILURE
        }
    }
}

fn implementation_of(choice: Impl, kalive: Option<PathBuf>) -> kalive_lab::Result<Implementation> {
    match (choice, kalive) {
        (Impl::Keepalived, _) => Implementation::keepalived(),
        (Impl::Kalive, Some(path)) => Implementation::kalive_at(path),
        (Impl::Kalive, None) => Implementation::kalive(),
    }
}
