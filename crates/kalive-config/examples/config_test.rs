//! Behaves like `kalive -t [-f FILE] [-i ID] [-e] [--json]`: prints
//! `file:line:col: severity: message` lines to stderr and exits with
//! keepalived's `-t` exit code. Used to run the real-world corpus check
//! before the daemon binary exists.

use kalive_config::{config_test, ConfigTestOptions};
use std::path::PathBuf;

fn main() {
    let mut opts = ConfigTestOptions::default();
    let mut json = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-f" | "--use-file" => {
                if let Some(f) = args.next() {
                    opts.config_file = PathBuf::from(f);
                }
            }
            "-i" | "--config-id" => opts.config_id = args.next(),
            "-e" | "--all-config" => opts.all_config = true,
            "-t" | "--config-test" => {}
            "--json" => json = true,
            other => {
                eprintln!("unknown option {other}");
                std::process::exit(1);
            }
        }
    }
    let outcome = config_test(&opts);
    for d in &outcome.diagnostics {
        eprintln!("{d}");
    }
    if json {
        match serde_json::to_string_pretty(&outcome.model) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("cannot serialise the model: {e}"),
        }
    }
    std::process::exit(outcome.exit_code);
}
