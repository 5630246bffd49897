//! A checker's life between checks: start a run, read its result
//! (keepalived's retry rules), follow a tracked file.

use std::sync::Arc;

use super::{Checks, Phase, PROBE_GRACE};
use crate::io::{Cause, CheckerId, Outcome, Output, ProbeId, RealServerId};
use crate::messages::{self, Failure, Names};
use crate::probe::{FileProbe, ProbeSpec};
use crate::spread;
use crate::Timestamp;

impl Checks {
    pub(super) fn start_probe(&mut self, id: CheckerId, now: Timestamp) {
        let Some(c) = self.checkers.get(&id) else {
            return;
        };
        let suspended = self
            .real_servers
            .get(&c.rs)
            .and_then(|rs| self.virtual_servers.get(&rs.vs))
            .is_some_and(|vs| vs.suspended);
        if suspended {
            // keepalived keeps a disabled checker's timer ticking at
            // delay_loop without probing (`tcp_connect_thread`).
            let due = spread::next_on_grid(c.anchor, c.timing.delay_loop, now, now);
            self.set_phase(id, Phase::Waiting { due });
            return;
        }
        let probe = ProbeId(self.next_probe);
        self.next_probe += 1;
        let output = Output::RunProbe {
            checker: id,
            probe,
            spec: Arc::clone(&c.spec),
            timeout: c.timing.probe_timeout,
        };
        let deadline = now + c.timing.probe_timeout + PROBE_GRACE;
        self.set_phase(
            id,
            Phase::Running {
                probe,
                started: now,
                deadline,
            },
        );
        self.push(output);
    }

    /// A run ended: keepalived's epilogue (`tcp_epilog`, `misc_check_child_thread`,
    /// reference §1.12). A success resets the retry chain; a failure of an up
    /// (or not yet run) checker retries `retry` times after
    /// `delay_before_retry` before the checker is declared down; a down
    /// checker is not retried. Regular checks return to the checker's grid.
    pub(super) fn complete(
        &mut self,
        id: CheckerId,
        probe: ProbeId,
        now: Timestamp,
        outcome: Outcome,
    ) {
        let Some(c) = self.checkers.get_mut(&id) else {
            self.ignored_outcomes += 1;
            return;
        };
        let started = match c.phase {
            Phase::Running {
                probe: running,
                started,
                ..
            } if running == probe => started,
            _ => {
                self.ignored_outcomes += 1;
                return;
            }
        };
        let rs_id = c.rs;
        let vs_name = self
            .real_servers
            .get(&rs_id)
            .and_then(|rs| self.virtual_servers.get(&rs.vs))
            .map(|vs| vs.name.as_str())
            .unwrap_or("");
        let names = Names {
            target: &c.target,
            vs: vs_name,
        };
        let regular = spread::next_on_grid(c.anchor, c.timing.delay_loop, started, now);
        let mut changed: Option<String> = None;
        let mut log_only: Option<String> = None;
        let next;
        if outcome.success {
            c.retry_it = 0;
            c.consecutive_failures = 0;
            c.dynamic_weight = outcome.dynamic_weight;
            if !c.up || !c.has_run {
                if !c.up {
                    c.since = now;
                }
                c.up = true;
                changed = Some(messages::success(&c.spec, &names));
            }
            next = regular;
        } else {
            c.consecutive_failures = c.consecutive_failures.saturating_add(1);
            c.last_failure.clone_from(&outcome.reason);
            if (c.up || !c.has_run) && c.retry_it < c.timing.retry {
                c.retry_it += 1;
                if c.log_all_failures || self.log_all_failures {
                    let which = if c.retry_it == 1 {
                        Failure::WillRetry {
                            retries: c.timing.retry,
                        }
                    } else {
                        Failure::OnRetry {
                            n: c.retry_it - 1,
                            of: c.timing.retry,
                        }
                    };
                    log_only = Some(messages::failure(
                        &c.spec,
                        &names,
                        which,
                        outcome.reason.as_deref(),
                    ));
                }
                next = now + c.timing.delay_before_retry;
            } else {
                if c.up || !c.has_run {
                    let which = Failure::Final {
                        retries: c.timing.retry,
                        has_run: c.has_run,
                    };
                    if c.up {
                        c.since = now;
                    }
                    c.up = false;
                    c.dynamic_weight = None;
                    changed = Some(messages::failure(
                        &c.spec,
                        &names,
                        which,
                        outcome.reason.as_deref(),
                    ));
                }
                c.retry_it = 0;
                next = regular;
            }
        }
        c.has_run = true;
        let up = c.up;
        self.set_phase(id, Phase::Waiting { due: next });
        if let Some(message) = log_only {
            self.push(Output::CheckFailed {
                checker: id,
                message,
            });
        }
        self.checker_result(id, rs_id, up, changed, now);
    }

    /// Report a checker's change (if any) and bring its real server up to date.
    pub(super) fn checker_result(
        &mut self,
        id: CheckerId,
        rs: RealServerId,
        up: bool,
        changed: Option<String>,
        now: Timestamp,
    ) {
        match changed {
            Some(message) => {
                if !up {
                    if let Some(state) = self.real_servers.get_mut(&rs) {
                        state.last_failure = Some(message.clone());
                    }
                }
                self.push(Output::CheckerChanged {
                    checker: id,
                    up,
                    message: message.clone(),
                });
                self.update_real_server(rs, now, || Cause::Checker {
                    checker: id,
                    message,
                });
            }
            // Only a weight can have moved.
            None => self.update_real_server(rs, now, || Cause::Reconfigure),
        }
    }

    pub(super) fn track_file(&mut self, now: Timestamp, name: String, value: i64) {
        let followers: Vec<CheckerId> = self
            .checkers
            .iter()
            .filter(|(_, c)| matches!(&*c.spec, ProbeSpec::File(f) if f.track_file == name))
            .map(|(id, _)| *id)
            .collect();
        if followers.is_empty() {
            return;
        }
        self.track_files.insert(name, value);
        for id in followers {
            let Some(c) = self.checkers.get_mut(&id) else {
                continue;
            };
            let ProbeSpec::File(file) = &*c.spec else {
                continue;
            };
            let (up, delta) = file_state(file, value);
            c.file_delta = delta;
            let changed = if up != c.up {
                c.up = up;
                c.since = now;
                let names = Names {
                    target: &c.target,
                    vs: "",
                };
                Some(if up {
                    messages::success(&c.spec, &names)
                } else {
                    messages::failure(
                        &c.spec,
                        &names,
                        Failure::Final {
                            retries: 0,
                            has_run: true,
                        },
                        None,
                    )
                })
            } else {
                None
            };
            let rs = c.rs;
            self.checker_result(id, rs, up, changed, now);
        }
    }
}

/// keepalived's FILE_CHECK reading (`track_file.c`, reference §1.12):
/// with weight 0 a non-zero value (a zero one with `reverse`) is a failure;
/// otherwise value × weight (negated with `reverse`), clamped to i32, is
/// added to the real server's weight, and only i32::MIN is a failure.
pub(super) fn file_state(file: &FileProbe, value: i64) -> (bool, i64) {
    if file.weight == 0 {
        return ((value == 0) != file.reverse, 0);
    }
    let sign: i128 = if file.reverse { -1 } else { 1 };
    let product = i128::from(value) * i128::from(file.weight) * sign;
    let clamped = product.clamp(i128::from(i32::MIN), i128::from(i32::MAX));
    if clamped == i128::from(i32::MIN) {
        (false, 0)
    } else {
        (true, i64::try_from(clamped).unwrap_or(0))
    }
}
