//! `-t` / `--config-test[=LOGFILE]` and `--dump-json` (issue 2).
//!
//! Diagnostics go to stderr (or LOGFILE) as `file:line:col: severity:
//! message`; the exit code is keepalived's (reference §1.2: 0 ok, 4 missing
//! file / bad interface / fatal, 5 other config errors, 6 script security).

use crate::cli::Cli;

/// Run the config test; returns the process exit code.
pub fn run(cli: &Cli) -> u8 {
    // Filled in when kalive-config's `config_test` lands.
    match std::fs::metadata(&cli.use_file) {
        Ok(_) => 0,
        Err(e) => {
            eprintln!("{}: fatal: {e}", cli.use_file.display());
            4
        }
    }
}
