//! The vrrp_script runner: each tracked script runs on its `interval` with
//! its `timeout` (reference §1.6); the raw result (exit 0 or not; a timeout
//! is a failure) goes to the engine, which counts rise/fall and applies the
//! weight.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use kalive_sys::script::{self as runner, ScriptOutcome};

use crate::notify::Script;

/// A `vrrp_script` the runtime runs (only those some instance tracks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackScriptSpec {
    pub name: String,
    pub script: Script,
    pub interval: Duration,
    pub timeout: Duration,
}

/// One finished run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptResult {
    pub name: String,
    pub success: bool,
}

/// How often a `track_file` is read (keepalived uses inotify; a short poll
/// keeps kalive dependency-free and the file small reads are cheap).
pub const FILE_POLL: Duration = Duration::from_millis(200);

/// A `track_file` value changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileValue {
    pub name: String,
    pub value: i64,
}

/// keepalived reads the leading integer of the file; anything else is 0.
pub fn parse_track_file(text: &str) -> i64 {
    let t = text.trim_start();
    let end = t
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+'))))
        .map_or(t.len(), |(i, _)| i);
    t[..end].parse().unwrap_or(0)
}

/// Watch each `(name, path)`; a value is sent at start and on every change.
pub fn spawn_file_watchers(
    files: &[(String, std::path::PathBuf)],
    tx: mpsc::UnboundedSender<FileValue>,
) -> Vec<JoinHandle<()>> {
    files
        .iter()
        .map(|(name, path)| {
            let (name, path, tx) = (name.clone(), path.clone(), tx.clone());
            tokio::spawn(async move {
                let mut last = None;
                loop {
                    if let Ok(text) = tokio::fs::read_to_string(&path).await {
                        let value = parse_track_file(&text);
                        if last != Some(value) {
                            last = Some(value);
                            let ev = FileValue {
                                name: name.clone(),
                                value,
                            };
                            if tx.send(ev).is_err() {
                                return;
                            }
                        }
                    }
                    tokio::time::sleep(FILE_POLL).await;
                }
            })
        })
        .collect()
}

/// Start one task per script; results arrive on `tx`. Dropping the returned
/// handles' runtime (or aborting them) stops the runs.
pub fn spawn_all(
    specs: &[TrackScriptSpec],
    tx: mpsc::UnboundedSender<ScriptResult>,
) -> Vec<JoinHandle<()>> {
    specs
        .iter()
        .map(|spec| tokio::spawn(run_forever(spec.clone(), tx.clone())))
        .collect()
}

async fn run_forever(spec: TrackScriptSpec, tx: mpsc::UnboundedSender<ScriptResult>) {
    let period = spec.interval.max(Duration::from_millis(10));
    let mut ticker = tokio::time::interval(period);
    // A run that outlasts the interval delays the next one instead of
    // starting runs back to back (keepalived never overlaps runs).
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last: Option<bool> = None;
    loop {
        ticker.tick().await;
        let outcome = runner::run(&spec.script.command, spec.timeout, 0)
            .await
            .outcome;
        let success = outcome.success();
        log_change(&spec.name, last, &outcome);
        last = Some(success);
        if tx
            .send(ScriptResult {
                name: spec.name.clone(),
                success,
            })
            .is_err()
        {
            return;
        }
    }
}

fn log_change(name: &str, last: Option<bool>, outcome: &ScriptOutcome) {
    let success = outcome.success();
    if last == Some(success) {
        return;
    }
    match outcome {
        ScriptOutcome::Exited(0) => tracing::debug!("Script `{name}` now returning 0"),
        ScriptOutcome::Exited(code) => tracing::info!("Script `{name}` now returning {code}"),
        ScriptOutcome::Signalled(sig) => {
            tracing::info!("Script `{name}` killed by signal {sig}")
        }
        ScriptOutcome::TimedOut => tracing::warn!("Script `{name}` timed out"),
        ScriptOutcome::SpawnFailed(e) => tracing::error!("Script `{name}` cannot be run: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kalive_sys::script::Identity;

    #[test]
    fn track_file_values() {
        assert_eq!(parse_track_file("5\n"), 5);
        assert_eq!(parse_track_file("  -12 apples"), -12);
        assert_eq!(parse_track_file("x"), 0);
        assert_eq!(parse_track_file(""), 0);
    }

    #[tokio::test]
    async fn results_arrive_on_the_interval_with_exit_status() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let specs = vec![
            TrackScriptSpec {
                name: "ok".into(),
                script: Script::new("/bin/true", Vec::<String>::new(), Identity::root()),
                interval: Duration::from_millis(100),
                timeout: Duration::from_secs(1),
            },
            TrackScriptSpec {
                name: "hang".into(),
                script: Script::new("/bin/sleep", ["10"], Identity::root()),
                interval: Duration::from_millis(100),
                timeout: Duration::from_millis(100),
            },
        ];
        let tasks = spawn_all(&specs, tx);
        let mut ok = 0;
        let mut hang_failures = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while (ok < 3 || hang_failures < 1) && tokio::time::Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
                Ok(Some(r)) if r.name == "ok" => {
                    assert!(r.success);
                    ok += 1;
                }
                Ok(Some(r)) => {
                    assert!(!r.success, "a timed-out script is a failure");
                    hang_failures += 1;
                }
                _ => break,
            }
        }
        for t in tasks {
            t.abort();
        }
        assert!(
            ok >= 3 && hang_failures >= 1,
            "ok={ok} hang={hang_failures}"
        );
    }
}
