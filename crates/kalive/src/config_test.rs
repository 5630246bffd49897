//! `-t` / `--config-test[=LOGFILE]`, `--dump-json`, and config loading for
//! the daemon (issue 2).
//!
//! Diagnostics go to stderr (or LOGFILE) as `file:line:col: severity:
//! message`; the exit code is keepalived's (reference §1.2: 0 ok, 2 missing
//! parameter, 4 missing file / bad interface / fatal, 5 other config errors,
//! 6 script security).

use std::io::Write;

use kalive_config::preprocess::PreprocessOptions;
use kalive_config::{config_test, load_config, ConfigTestOptions, LoadOptions};

use crate::cli::Cli;

/// `-t` and/or `--dump-json`; returns the process exit code.
pub fn run(cli: &Cli) -> u8 {
    let outcome = config_test(&ConfigTestOptions {
        config_file: cli.use_file.clone(),
        config_id: cli.config_id.clone(),
        all_config: cli.all_config,
        system: std::sync::Arc::new(crate::setup::HostWithNss),
        namespace: cli.namespace.clone(),
    });
    let mut text = String::new();
    for d in &outcome.diagnostics {
        text.push_str(&format!("{d}\n"));
    }
    let written = match cli.config_test_log() {
        Some(path) => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes())),
        None => std::io::stderr().write_all(text.as_bytes()),
    };
    if let Err(e) = written {
        eprintln!("kalive: cannot write config test messages: {e}");
    }
    if cli.dump_json {
        match serde_json::to_string_pretty(&outcome.model) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("kalive: cannot serialise the model: {e}"),
        }
    }
    u8::try_from(outcome.exit_code).unwrap_or(crate::exit::FATAL)
}

/// `net_namespace NAME` (a top-level keyword): read before anything else starts,
/// because entering a namespace must happen before threads exist
/// (`-s` overrides it, reference §1.2).
pub fn configured_namespace(cli: &Cli) -> Option<String> {
    // Parsing twice costs start-up time; a config that never names the
    // keyword (main file and includes alike) cannot set it. Includes are
    // rare enough that a plain text check of the main file decides when
    // it has no `include` either.
    // Only a regular file of bounded size is read (a FIFO or /dev/zero
    // named by -f must not hang or exhaust memory here).
    let text = kalive_config::fileread::read_regular_text(
        &cli.use_file,
        kalive_config::fileread::MAX_CONFIG_FILE_BYTES,
    )
    .ok()?;
    if !text.contains("net_namespace") && !text.contains("include") {
        return None;
    }
    let opts = LoadOptions {
        preprocess: PreprocessOptions {
            config_id: cli.config_id.clone(),
            all_config: cli.all_config,
        },
        ..LoadOptions::default()
    };
    load_config(&cli.use_file, &opts)
        .config
        .global_defs
        .net_namespace
}
