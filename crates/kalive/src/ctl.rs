//! `kalive ctl [--socket PATH] COMMAND`: the operator's side of the control
//! socket (issue 9, "Runtime control"). Exit status: 0 done, 1 refused or
//! failed (the daemon's message on stderr), 2 usage, 3 no daemon.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use kalive_control::{Client, DumpKind, Request, Response, Target};

#[derive(Debug, Parser)]
#[command(name = "kalive ctl", about = "Talk to a running kalive")]
pub struct Ctl {
    /// The daemon's control socket (as given to its --control-socket).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// The network namespace the daemon runs in (its `-s`), to find its
    /// default socket.
    #[arg(short = 's', long = "namespace", value_name = "NAME")]
    namespace: Option<String>,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// State, priorities, master and VIPs of every instance and sync group.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Become master of INSTANCE (or of a sync group) now, whatever the
    /// priorities and nopreempt say; stays until `clear`.
    Promote(TargetArgs),
    /// Hand mastership over (priority 0, then backup); stays until `clear`.
    Demote(TargetArgs),
    /// Drop a promote/demote: back to the configured priority.
    Clear(TargetArgs),
    /// Re-read the configuration and print the verdict.
    Reload,
    /// Write keepalived's dump file (/tmp/keepalived.{data,stats,json}).
    Dump {
        #[arg(value_parser = ["data", "stats", "json"])]
        what: String,
    },
}

#[derive(Debug, Args)]
struct TargetArgs {
    /// A vrrp_instance name.
    #[arg(required_unless_present = "group")]
    instance: Option<String>,
    /// A vrrp_sync_group name instead.
    #[arg(long, conflicts_with = "instance")]
    group: Option<String>,
}

impl TargetArgs {
    fn target(self) -> Target {
        match (self.group, self.instance) {
            (Some(g), _) => Target::Group(g),
            (None, Some(i)) => Target::Instance(i),
            // clap requires one of them.
            (None, None) => Target::Instance(String::new()),
        }
    }
}

/// Run `kalive ctl` with `args` (the words after `ctl`).
pub fn main(args: Vec<String>) -> ExitCode {
    let ctl = match Ctl::try_parse_from(std::iter::once("kalive ctl".to_string()).chain(args)) {
        Ok(ctl) => ctl,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let socket = ctl
        .socket
        .clone()
        .unwrap_or_else(|| crate::control::default_path(ctl.namespace.as_deref()));
    let mut json = false;
    let request = match ctl.command {
        Command::Status { json: j } => {
            json = j;
            Request::Status
        }
        Command::Promote(t) => Request::Promote { target: t.target() },
        Command::Demote(t) => Request::Demote { target: t.target() },
        Command::Clear(t) => Request::Clear { target: t.target() },
        Command::Reload => Request::Reload,
        Command::Dump { what } => Request::Dump {
            what: match what.as_str() {
                "data" => DumpKind::Data,
                "stats" => DumpKind::Stats,
                _ => DumpKind::Json,
            },
        },
    };
    let client = Client::new(&socket, Duration::from_secs(ctl.timeout));
    match client.call(&request) {
        Err(e) => {
            eprintln!("kalive ctl: {e}");
            ExitCode::from(3)
        }
        Ok(response) => print_response(&response, json),
    }
}

fn print_response(response: &Response, json: bool) -> ExitCode {
    match response {
        Response::Done { message } => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Response::Status(status) if json => match serde_json::to_string_pretty(status) {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("kalive ctl: {e}");
                ExitCode::from(1)
            }
        },
        Response::Status(status) => {
            print!("{}", status.to_text());
            ExitCode::SUCCESS
        }
        Response::Reload(reply) => {
            for d in &reply.diagnostics {
                eprintln!("{d}");
            }
            if reply.applied {
                println!("reloaded: {}", reply.summary);
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "reload refused, the running configuration is kept: {}",
                    reply.summary
                );
                ExitCode::from(1)
            }
        }
        Response::Error { message } => {
            eprintln!("kalive ctl: {message}");
            ExitCode::from(1)
        }
    }
}
