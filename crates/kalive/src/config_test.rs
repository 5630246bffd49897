//! `-t` / `--config-test[=LOGFILE]`, `--dump-json`, and config loading for
//! the daemon (issue 2).
//!
//! Diagnostics go to stderr (or LOGFILE) as `file:line:col: severity:
//! message`; the exit code is keepalived's (reference §1.2: 0 ok, 2 missing
//! parameter, 4 missing file / bad interface / fatal, 5 other config errors,
//! 6 script security).

use std::io::Write;

use kalive_config::preprocess::PreprocessOptions;
use kalive_config::{config_test, load_config, Config, ConfigTestOptions, LoadOptions, Severity};

use crate::cli::Cli;
use crate::error::Error;

/// `-t` and/or `--dump-json`; returns the process exit code.
pub fn run(cli: &Cli) -> u8 {
    let outcome = config_test(&ConfigTestOptions {
        config_file: cli.use_file.clone(),
        config_id: cli.config_id.clone(),
        all_config: cli.all_config,
        namespace: cli.namespace.clone(),
        ..ConfigTestOptions::default()
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

/// When a config is good enough to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// Start-up: keepalived runs with ordinary errors (it ignores the
    /// offending line) but not with a missing file or a keyword missing its
    /// parameter.
    StartUp,
    /// SIGHUP: any error keeps the running config (issue 4: "on error keep
    /// the old config running and log why").
    Reload,
}

/// Load the config for the daemon. Every diagnostic is logged.
pub fn load_for_daemon(cli: &Cli, strictness: Strictness) -> Result<Config, Error> {
    let opts = LoadOptions {
        preprocess: PreprocessOptions {
            config_id: cli.config_id.clone(),
            all_config: cli.all_config,
        },
        ..LoadOptions::default()
    };
    tracing::info!("Opening file '{}'.", cli.use_file.display());
    let loaded = load_config(&cli.use_file, &opts);
    for d in &loaded.diagnostics {
        match d.severity {
            Severity::Note => tracing::info!("{d}"),
            Severity::Warning => tracing::warn!("{d}"),
            Severity::Error | Severity::Fatal => tracing::error!("{d}"),
        }
    }
    let has_errors = loaded
        .diagnostics
        .iter()
        .any(|d| d.severity >= Severity::Error);
    let unusable = match strictness {
        Strictness::StartUp => loaded.has_errors_blocking_start(),
        Strictness::Reload => loaded.has_errors_blocking_start() || has_errors,
    };
    if unusable {
        return Err(Error::Config(format!(
            "{}: configuration has errors (see above)",
            cli.use_file.display()
        )));
    }
    if !loaded.config.has_anything_to_run() {
        // keepalived's wording; like keepalived, the daemon keeps running
        // (a reload may bring a configuration).
        tracing::warn!("Warning - keepalived has no configuration to run");
    }
    if cli.dump_conf {
        if let Ok(json) = serde_json::to_string_pretty(&loaded.config) {
            for line in json.lines() {
                tracing::info!("{line}");
            }
        }
    }
    Ok(loaded.config)
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
