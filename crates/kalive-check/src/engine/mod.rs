//! [`Checks`]: every virtual server, real server and checker of a daemon,
//! their schedules and states. Time comes in as arguments; probe requests
//! and state changes go out as [`Output`]s.
//!
//! - `probing`: a checker's runs and results (keepalived's retry rules);
//! - `reload`: building and rebuilding the tree from a configuration;
//! - `snapshot`: the id layout and status views.

mod probing;
mod reload;
mod snapshot;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{CheckConfig, Timing, MAX_WEIGHT};
use crate::io::{Cause, CheckerId, Input, Outcome, Output, ProbeId, RealServerId, VirtualServerId};
use crate::probe::ProbeSpec;
use crate::{Error, Timestamp};

/// How long after a run's `timeout` the engine still waits for its
/// `ProbeDone` before counting the run as failed and moving on. Covers the
/// prober's own lateness, e.g. MISC_CHECK's SIGTERM, 2 s, SIGKILL sequence.
pub const PROBE_GRACE: Duration = Duration::from_secs(5);

/// Outputs kept when the caller does not drain them: this many plus eight
/// per checker. Beyond it the oldest is dropped and counted
/// ([`Checks::dropped_outputs`]); a dropped `RunProbe` is superseded after
/// its grace, and the snapshots stay right.
const OUTPUT_BOUND_BASE: usize = 1024;

/// The health-checking engine.
#[derive(Debug)]
pub struct Checks {
    seed: u64,
    /// Checkers scheduled so far: the index into the warmup spread.
    spread_index: u64,
    next_id: u64,
    next_probe: u64,
    log_all_failures: bool,
    vs_order: Vec<VirtualServerId>,
    virtual_servers: BTreeMap<VirtualServerId, VirtualServer>,
    real_servers: BTreeMap<RealServerId, RealServer>,
    checkers: BTreeMap<CheckerId, Checker>,
    /// One entry per checker with a deadline: its next check, or the
    /// latest answer its running probe may give.
    timers: BTreeSet<(Timestamp, CheckerId)>,
    /// Last value of each `track_file` some FILE_CHECK follows.
    track_files: BTreeMap<String, i64>,
    outputs: VecDeque<Output>,
    dropped_outputs: u64,
    ignored_outcomes: u64,
}

#[derive(Debug)]
struct VirtualServer {
    name: String,
    ha_suspend: bool,
    suspended: bool,
    real_servers: Vec<RealServerId>,
}

#[derive(Debug)]
struct RealServer {
    vs: VirtualServerId,
    addr: IpAddr,
    port: Option<u16>,
    base_weight: u32,
    inhibit_on_failure: bool,
    checkers: Vec<CheckerId>,
    enabled: bool,
    /// As last reported (enabled and healthy).
    up: bool,
    /// As last reported.
    weight: u32,
    since: Timestamp,
    last_failure: Option<String>,
}

#[derive(Debug)]
struct Checker {
    rs: RealServerId,
    spec: Arc<ProbeSpec>,
    timing: Timing,
    log_all_failures: bool,
    /// `[ip]:proto:port` of what it probes, for messages.
    target: String,
    up: bool,
    has_run: bool,
    /// keepalived's `retry_it`: retries done in the current chain.
    retry_it: u32,
    consecutive_failures: u32,
    last_failure: Option<String>,
    since: Timestamp,
    /// misc_dynamic: the weight the real server takes while this passes.
    dynamic_weight: Option<u32>,
    /// FILE_CHECK: what it adds to the real server's weight.
    file_delta: i64,
    /// The first check; regular checks fall on `anchor + k·delay_loop`.
    anchor: Timestamp,
    phase: Phase,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Next check at `due`.
    Waiting { due: Timestamp },
    /// A probe runs; its answer is expected by `deadline`.
    Running {
        probe: ProbeId,
        started: Timestamp,
        deadline: Timestamp,
    },
    /// Never probed (FILE_CHECK).
    Passive,
}

impl Phase {
    fn timer(self) -> Option<Timestamp> {
        match self {
            Phase::Waiting { due } => Some(due),
            Phase::Running { deadline, .. } => Some(deadline),
            Phase::Passive => None,
        }
    }
}

impl Checker {
    /// What this checker adds to its real server's configured weight
    /// (keepalived's `cur_weight`, kept relative to the weight in force).
    fn weight_delta(&self, base: u32) -> i64 {
        let dynamic = self
            .dynamic_weight
            .map_or(0, |w| i64::from(w) - i64::from(base));
        dynamic + self.file_delta
    }
}

impl Checks {
    /// An engine running `config` from `now`. `seed` places the first checks
    /// within their warmup (the daemon passes a random number; tests a
    /// constant). Nothing is output: initial states are in [`Checks::layout`].
    pub fn new(config: &CheckConfig, now: Timestamp, seed: u64) -> Result<Self, Error> {
        let mut checks = Checks {
            seed,
            spread_index: 0,
            next_id: 1,
            next_probe: 1,
            log_all_failures: false,
            vs_order: Vec::new(),
            virtual_servers: BTreeMap::new(),
            real_servers: BTreeMap::new(),
            checkers: BTreeMap::new(),
            timers: BTreeSet::new(),
            track_files: BTreeMap::new(),
            outputs: VecDeque::new(),
            dropped_outputs: 0,
            ignored_outcomes: 0,
        };
        checks.reconfigure(now, config)?;
        checks.outputs.clear();
        Ok(checks)
    }

    fn alloc_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    // ----- driving ----------------------------------------------------------

    /// The earliest time at which [`Checks::handle_timeout`] has work.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// The next output, oldest first.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// All pending outputs, in order.
    pub fn drain_outputs(&mut self) -> Vec<Output> {
        self.outputs.drain(..).collect()
    }

    /// Start the checks due at or before `now`, and give up on runs whose
    /// answer is overdue. A call with nothing due is a no-op.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        // A due check becomes a run (deadline later than now); an overdue
        // run becomes a failure whose retry may be due at once and then
        // runs. So a checker fires at most three times per call; the bound
        // is only a safety net.
        let bound = self.checkers.len() * 3 + 3;
        for _ in 0..bound {
            let Some(&(at, id)) = self.timers.first() else {
                break;
            };
            if at > now {
                break;
            }
            self.timers.remove(&(at, id));
            let Some(checker) = self.checkers.get(&id) else {
                continue;
            };
            match checker.phase {
                Phase::Waiting { .. } => self.start_probe(id, now),
                Phase::Running { probe, .. } => {
                    let timeout = checker.timing.probe_timeout + PROBE_GRACE;
                    let outcome =
                        Outcome::failure(format!("no result within {} ms", timeout.as_millis()));
                    self.complete(id, probe, now, outcome);
                }
                Phase::Passive => {}
            }
        }
    }

    /// React to `input` received at `now`.
    pub fn handle_input(&mut self, now: Timestamp, input: Input) {
        match input {
            Input::ProbeDone {
                checker,
                probe,
                outcome,
            } => self.complete(checker, probe, now, outcome),
            Input::TrackFile { name, value } => self.track_file(now, name, value),
            Input::SetSuspended { vs, suspended } => {
                if let Some(vs) = self.virtual_servers.get_mut(&vs) {
                    // keepalived only suspends virtual servers with ha_suspend.
                    if vs.ha_suspend {
                        vs.suspended = suspended;
                    }
                }
            }
            Input::SetRealServerEnabled { rs, enabled } => {
                if let Some(state) = self.real_servers.get_mut(&rs) {
                    state.enabled = enabled;
                    self.update_real_server(rs, now, || Cause::Operator);
                }
            }
        }
    }

    fn set_phase(&mut self, id: CheckerId, phase: Phase) {
        if let Some(c) = self.checkers.get_mut(&id) {
            if let Some(at) = c.phase.timer() {
                self.timers.remove(&(at, id));
            }
            c.phase = phase;
            if let Some(at) = phase.timer() {
                self.timers.insert((at, id));
            }
        }
    }

    /// (usable, weight) of a real server from its checkers.
    fn evaluate(&self, rs: RealServerId) -> Option<(bool, u32)> {
        let state = self.real_servers.get(&rs)?;
        let mut healthy = true;
        let mut delta: i64 = 0;
        for id in &state.checkers {
            if let Some(c) = self.checkers.get(id) {
                healthy &= c.up;
                delta = delta.saturating_add(c.weight_delta(state.base_weight));
            }
        }
        // keepalived's `real_weight`: clamp into IPVS's range.
        let weight =
            (i64::from(state.base_weight).saturating_add(delta)).clamp(0, i64::from(MAX_WEIGHT));
        let weight = u32::try_from(weight).unwrap_or(MAX_WEIGHT);
        Some((state.enabled && healthy, weight))
    }

    /// Report the real server's new weight and state, if they moved.
    fn update_real_server(
        &mut self,
        rs: RealServerId,
        now: Timestamp,
        cause: impl FnOnce() -> Cause,
    ) {
        let Some((up, weight)) = self.evaluate(rs) else {
            return;
        };
        let Some(state) = self.real_servers.get_mut(&rs) else {
            return;
        };
        let old_weight = state.weight;
        let old_up = state.up;
        state.weight = weight;
        if up != old_up {
            state.up = up;
            state.since = now;
        }
        // Weight first: a server coming up is added with its new weight.
        if weight != old_weight {
            self.push(Output::WeightChanged {
                rs,
                old: old_weight,
                new: weight,
            });
        }
        if up != old_up {
            let reason = cause();
            self.push(if up {
                Output::RealServerUp { rs, reason }
            } else {
                Output::RealServerDown { rs, reason }
            });
        }
    }

    fn push(&mut self, output: Output) {
        let bound = OUTPUT_BOUND_BASE + 8 * self.checkers.len();
        while self.outputs.len() >= bound {
            self.outputs.pop_front();
            self.dropped_outputs += 1;
        }
        self.outputs.push_back(output);
    }
}
