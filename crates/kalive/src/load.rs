//! Reading keepalived.conf for the daemon, with one verdict for start and
//! reload (issue 9): keepalived's warnings and ordinary errors never refuse
//! a config (it ignores the offending line and runs); what makes keepalived
//! refuse to start refuses both: a missing or unreadable file, a keyword
//! without its parameter, a VRID used twice on an interface, an interface
//! that does not exist, no instance to run.

use kalive_config::preprocess::PreprocessOptions;
use kalive_config::{load_config, LoadOptions, Severity};

use crate::cli::Cli;
use crate::setup::{self, Plan};

/// A config the daemon will not run, with keepalived's exit code at start.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub exit_code: u8,
    pub reason: String,
    /// Every diagnostic, `file:line:col: severity: message`.
    pub diagnostics: Vec<String>,
}

/// A config the daemon runs, with the diagnostics it drew.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub plan: Plan,
    pub diagnostics: Vec<String>,
}

/// Read, verdict and lower the config named on the command line. Every
/// diagnostic is logged once, here.
pub fn load(cli: &Cli) -> Result<Accepted, Refusal> {
    let opts = LoadOptions {
        preprocess: PreprocessOptions {
            config_id: cli.config_id.clone(),
            all_config: cli.all_config,
        },
        system: std::sync::Arc::new(setup::HostWithNss),
    };
    tracing::info!("Opening file '{}'.", cli.use_file.display());
    let started = std::time::Instant::now();
    let loaded = load_config(&cli.use_file, &opts);
    let parsed = started.elapsed();
    let mut diagnostics = Vec::with_capacity(loaded.diagnostics.len());
    for d in &loaded.diagnostics {
        match d.severity {
            Severity::Note => tracing::info!("{d}"),
            Severity::Warning => tracing::warn!("{d}"),
            Severity::Error | Severity::Fatal => tracing::error!("{d}"),
        }
        diagnostics.push(d.to_string());
    }
    let refuse = |exit_code: u8, reason: String| Refusal {
        exit_code,
        reason,
        diagnostics: diagnostics.clone(),
    };
    if loaded.main_file_missing {
        return Err(refuse(
            crate::exit::NO_CONFIG,
            format!("cannot read {}", cli.use_file.display()),
        ));
    }
    if loaded.has_errors_blocking_start() {
        return Err(refuse(
            crate::exit::CONFIG,
            format!(
                "{}: keepalived would not run this configuration (see the errors above)",
                cli.use_file.display()
            ),
        ));
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
    let planned = setup::plan(&loaded.config);
    tracing::debug!(
        "Configuration parsed and checked in {:.1} ms, lowered in {:.1} ms",
        parsed.as_secs_f64() * 1e3,
        started.elapsed().saturating_sub(parsed).as_secs_f64() * 1e3
    );
    match planned {
        Ok(mut plan) => {
            subsystems(cli, &mut plan);
            // The check engine's own verdict, here rather than in the
            // actor, so that a reload it would refuse changes nothing at
            // all (VRRP included).
            if let Err(e) =
                kalive_check::Checks::new(&plan.lvs.check, kalive_check::Timestamp::ZERO, 0)
            {
                return Err(refuse(crate::exit::CONFIG, format!("virtual servers: {e}")));
            }
            Ok(Accepted { plan, diagnostics })
        }
        Err(e) => Err(refuse(crate::exit::CONFIG, e.to_string())),
    }
}

/// `-P` runs VRRP only, `-C` the health checkers and load balancer only
/// (reference §1.2): the other half of the config is left out, at start and
/// at every reload alike.
fn subsystems(cli: &Cli, plan: &mut Plan) {
    if cli.vrrp_only {
        plan.lvs = crate::lower::LvsPlan::default();
    }
    if cli.check_only {
        plan.instances.clear();
        plan.sync_groups.clear();
        plan.resources.clear();
        plan.track_scripts.clear();
        plan.static_addresses.clear();
        plan.static_routes.clear();
        plan.static_rules.clear();
        plan.priority_change_fifo.clear();
        plan.track_files.clear();
    }
}
