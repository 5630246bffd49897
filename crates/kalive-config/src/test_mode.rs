//! keepalived's `-t` (config test) verdict (reference §1.2: exit codes in
//! code `lib/scheduler.h`, `main.c:config_test_exit`).
//!
//! keepalived 2.2.7 in `-t` mode exits non-zero as soon as it reported
//! anything at all, warnings and deprecation notices included:
//! 0 nothing reported; 2 a keyword missing its parameter (keepalived exits
//! at that line); 6 a script-security violation or a failed include check
//! (wins over the rest); 4 fatal (missing main file with `-e`); 5 anything
//! else, a non-existent interface included (measured: keepalived 2.2.7
//! exits 5 there, not the 4 its code comments suggest).

use crate::diag::{DiagKind, Diagnostic, Severity};
use crate::model::Config;
use crate::preprocess::PreprocessOptions;
use crate::system::{HostSystem, System};
use crate::{load_config, LoadOptions, Loaded};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

/// What `kalive -t` was asked.
#[derive(Clone)]
pub struct ConfigTestOptions {
    /// `-f`; default `/etc/keepalived/keepalived.conf`.
    pub config_file: PathBuf,
    /// `-i`.
    pub config_id: Option<String>,
    /// `-e`.
    pub all_config: bool,
    /// `-s NAME`: overrides the config's `net_namespace`.
    pub namespace: Option<String>,
    pub system: Arc<dyn System + Send + Sync>,
}

impl Default for ConfigTestOptions {
    fn default() -> Self {
        ConfigTestOptions {
            config_file: PathBuf::from("/etc/keepalived/keepalived.conf"),
            config_id: None,
            all_config: false,
            namespace: None,
            system: Arc::new(HostSystem),
        }
    }
}

impl std::fmt::Debug for ConfigTestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigTestOptions")
            .field("config_file", &self.config_file)
            .field("config_id", &self.config_id)
            .field("all_config", &self.all_config)
            .field("namespace", &self.namespace)
            .finish()
    }
}

/// The verdict, what was reported, and the parsed model.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigTestOutcome {
    pub exit_code: i32,
    pub diagnostics: Vec<Diagnostic>,
    pub model: Config,
}

/// keepalived's exit code for what loading reported. Checked against
/// keepalived 2.2.7: a missing main file is only reported (exit 0) unless
/// `-e` (then 4); a failed include check exits 6, like a script-security
/// violation.
pub fn exit_code_for(loaded: &Loaded) -> i32 {
    let diags = &loaded.diagnostics;
    let counted: Vec<&Diagnostic> = diags
        .iter()
        .filter(|d| d.severity > Severity::Note)
        .collect();
    if counted.iter().any(|d| d.kind == DiagKind::MissingParameter) {
        2
    } else if loaded.main_file_missing && counted.iter().any(|d| d.severity == Severity::Fatal) {
        4
    } else if loaded.include_error || counted.iter().any(|d| d.kind == DiagKind::ScriptSecurity) {
        6
    } else if counted
        .iter()
        .any(|d| d.kind != DiagKind::Fatal && d.severity != Severity::Fatal)
    {
        // keepalived keeps the highest `config_err_t` reported, and the
        // ordinary errors and warnings rank above the fatal ones
        // (lib/parser.h): one of them makes the verdict 5 even when a
        // fatal error (exit 4 alone) was reported too.
        5
    } else if counted.is_empty() {
        0
    } else {
        4
    }
}

/// Run the config test.
pub fn config_test(opts: &ConfigTestOptions) -> ConfigTestOutcome {
    let load = LoadOptions {
        preprocess: PreprocessOptions {
            config_id: opts.config_id.clone(),
            all_config: opts.all_config,
        },
        system: opts.system.clone(),
    };
    let mut loaded = load_config(&opts.config_file, &load);
    let namespace = opts
        .namespace
        .clone()
        .or_else(|| loaded.config.global_defs.net_namespace.clone());
    let exit_code = match namespace {
        Some(ns) if !netns_exists(&ns) => {
            let code = exit_code_without_namespace(&loaded);
            loaded.diagnostics.push(Diagnostic::new(
                Severity::Note,
                None,
                format!("Unable to set network namespace {ns} - exiting"),
            ));
            code
        }
        _ => exit_code_for(&loaded),
    };
    ConfigTestOutcome {
        exit_code,
        diagnostics: loaded.diagnostics,
        model: loaded.config,
    }
}

/// Whether `ip netns` knows the namespace (keepalived opens
/// `/run/netns/NAME` to enter it).
fn netns_exists(name: &str) -> bool {
    !name.contains('/') && std::path::Path::new("/run/netns").join(name).exists()
}

/// keepalived's `-t` when the network namespace it must enter does not
/// exist (`core/main.c`, 2.2.7): the parent has read the config with only
/// the global keywords active, then fails to enter the namespace and exits
/// 0 without validating the rest (no interface or script checks). Only
/// what stopped that first pass counts: a global keyword missing its
/// parameter (exit 2) or a failed include check (exit 6).
pub fn exit_code_without_namespace(loaded: &Loaded) -> i32 {
    let global_missing = loaded.diagnostics.iter().any(|d| {
        d.kind == DiagKind::MissingParameter
            && match d.block_path.first() {
                Some(block) => block == "global_defs",
                None => missing_keyword(&d.message).is_some_and(|kw| {
                    crate::parse::global::ROOT_GLOBAL
                        .iter()
                        .any(|k| k.name == kw)
                }),
            }
    });
    if global_missing {
        2
    } else if loaded.include_error {
        6
    } else {
        0
    }
}

/// The keyword of a "Configuration line starting `kw` is missing a
/// parameter" message.
fn missing_keyword(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}
