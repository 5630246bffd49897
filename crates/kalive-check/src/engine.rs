//! [`Checks`]: every virtual server, real server and checker of a daemon,
//! their schedules and states. Time comes in as arguments; probe requests
//! and state changes go out as [`Output`]s.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{CheckConfig, Protocol, Timing, DEFAULT_WEIGHT, MAX_WEIGHT};
use crate::io::{Cause, Outcome};
use crate::io::{CheckerId, Input, Output, ProbeId, RealServerId, VirtualServerId};
use crate::messages::{self, Failure, Names};
use crate::probe::{FileProbe, ProbeSpec};
use crate::spread;
use crate::status::{
    CheckerStatus, Layout, RealServerLayout, RealServerStatus, Reconfigured, VirtualServerLayout,
    VirtualServerStatus,
};
use crate::{CheckerConfig, Error, Timestamp};

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

/// A configuration checked and resolved, before anything is changed.
struct Plan<'a> {
    config: &'a CheckConfig,
    /// `timings[v][r][c]`.
    timings: Vec<Vec<Vec<Timing>>>,
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

    /// Apply a new configuration (reload, DESIGN.md "How data flows" §7).
    /// Virtual servers match by name, real servers by virtual server,
    /// address and port, checkers by spec and resolved timing: a checker that
    /// matches keeps its state and schedule; others start as new (warmup,
    /// alpha); removed ones are dropped and their outcomes ignored. A real
    /// server that stays reports a change of state or weight the reload
    /// caused. On error nothing changes.
    pub fn reconfigure(
        &mut self,
        now: Timestamp,
        config: &CheckConfig,
    ) -> Result<Reconfigured, Error> {
        let plan = Self::plan(config)?;
        Ok(self.apply(now, &plan))
    }

    fn plan(config: &CheckConfig) -> Result<Plan<'_>, Error> {
        let mut names = BTreeSet::new();
        let mut timings = Vec::with_capacity(config.virtual_servers.len());
        for vs in &config.virtual_servers {
            if !names.insert(vs.name.as_str()) {
                return Err(Error::DuplicateVirtualServer(vs.name.clone()));
            }
            let vs_settings = vs.resolved_settings();
            let mut keys = BTreeSet::new();
            let mut rs_timings = Vec::with_capacity(vs.real_servers.len());
            for rs in &vs.real_servers {
                if !keys.insert((rs.addr, rs.port)) {
                    return Err(Error::DuplicateRealServer {
                        vs: vs.name.clone(),
                        rs: label(rs.addr, None, rs.port),
                    });
                }
                let rs_settings = rs.settings.inherit(&vs_settings);
                let checker_timings = rs
                    .checkers
                    .iter()
                    .map(|c| Timing::resolve(c, &rs_settings))
                    .collect::<Result<Vec<_>, _>>()?;
                rs_timings.push(checker_timings);
            }
            timings.push(rs_timings);
        }
        Ok(Plan { config, timings })
    }

    fn alloc_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn apply(&mut self, now: Timestamp, plan: &Plan<'_>) -> Reconfigured {
        let config = plan.config;
        self.log_all_failures = config.log_all_failures;

        // Match everything first, so that removals are known before creation.
        let old_vs: HashMap<String, VirtualServerId> = self
            .virtual_servers
            .iter()
            .map(|(id, vs)| (vs.name.clone(), *id))
            .collect();
        let mut kept_vs = BTreeSet::new();
        let mut kept_rs = BTreeSet::new();
        let mut kept_checkers = BTreeSet::new();
        // matches[v] = (vs id if kept, per rs: (rs id if kept, per checker: id if kept))
        let mut matches = Vec::with_capacity(config.virtual_servers.len());
        for (v, vs_cfg) in config.virtual_servers.iter().enumerate() {
            let vs_id = old_vs.get(&vs_cfg.name).copied();
            let mut rs_matches = Vec::with_capacity(vs_cfg.real_servers.len());
            let old_rs: HashMap<(IpAddr, Option<u16>), RealServerId> = vs_id
                .and_then(|id| self.virtual_servers.get(&id))
                .map(|vs| {
                    vs.real_servers
                        .iter()
                        .filter_map(|id| {
                            self.real_servers
                                .get(id)
                                .map(|rs| ((rs.addr, rs.port), *id))
                        })
                        .collect()
                })
                .unwrap_or_default();
            for (r, rs_cfg) in vs_cfg.real_servers.iter().enumerate() {
                let rs_id = old_rs.get(&(rs_cfg.addr, rs_cfg.port)).copied();
                let mut checker_matches = Vec::with_capacity(rs_cfg.checkers.len());
                for (c, checker_cfg) in rs_cfg.checkers.iter().enumerate() {
                    let timing = plan.timings[v][r][c];
                    let found = rs_id
                        .and_then(|id| self.real_servers.get(&id))
                        .and_then(|rs| {
                            rs.checkers.iter().copied().find(|id| {
                                !kept_checkers.contains(id)
                                    && self
                                        .checkers
                                        .get(id)
                                        .is_some_and(|old| same_checker(old, checker_cfg, &timing))
                            })
                        });
                    if let Some(id) = found {
                        kept_checkers.insert(id);
                    }
                    checker_matches.push(found);
                }
                if let Some(id) = rs_id {
                    kept_rs.insert(id);
                }
                rs_matches.push((rs_id, checker_matches));
            }
            if let Some(id) = vs_id {
                kept_vs.insert(id);
            }
            matches.push((vs_id, rs_matches));
        }

        // Drop what is gone.
        let mut result = Reconfigured::default();
        let gone_checkers: Vec<CheckerId> = self
            .checkers
            .keys()
            .filter(|id| !kept_checkers.contains(id))
            .copied()
            .collect();
        for id in gone_checkers {
            if let Some(c) = self.checkers.remove(&id) {
                if let Some(at) = c.phase.timer() {
                    self.timers.remove(&(at, id));
                }
            }
            result.removed_checkers.push(id);
        }
        let gone_rs: Vec<RealServerId> = self
            .real_servers
            .keys()
            .filter(|id| !kept_rs.contains(id))
            .copied()
            .collect();
        for id in gone_rs {
            self.real_servers.remove(&id);
            result.removed_real_servers.push(id);
        }
        let gone_vs: Vec<VirtualServerId> = self
            .virtual_servers
            .keys()
            .filter(|id| !kept_vs.contains(id))
            .copied()
            .collect();
        for id in gone_vs {
            self.virtual_servers.remove(&id);
            result.removed_virtual_servers.push(id);
        }
        result.kept_checkers = kept_checkers.iter().copied().collect();
        // FILE_CHECK values of files no longer tracked are forgotten.
        let tracked: BTreeSet<&str> = config
            .virtual_servers
            .iter()
            .flat_map(|vs| &vs.real_servers)
            .flat_map(|rs| &rs.checkers)
            .filter_map(|c| match &c.spec {
                ProbeSpec::File(f) => Some(f.track_file.as_str()),
                _ => None,
            })
            .collect();
        self.track_files
            .retain(|name, _| tracked.contains(name.as_str()));

        // Build the new tree, reusing what matched.
        self.vs_order.clear();
        let mut changed_rs = Vec::new();
        for (v, (vs_cfg, (vs_id, rs_matches))) in
            config.virtual_servers.iter().zip(matches).enumerate()
        {
            let vs_id = vs_id.unwrap_or_else(|| VirtualServerId(self.alloc_id()));
            let suspended = match self.virtual_servers.get(&vs_id) {
                Some(old) if old.ha_suspend => vs_cfg.ha_suspend && old.suspended,
                // keepalived starts ha_suspend checkers deactivated until the
                // address is seen (`register_checkers_thread`).
                _ => vs_cfg.ha_suspend,
            };
            self.vs_order.push(vs_id);
            let mut vs_layout = VirtualServerLayout {
                id: vs_id,
                real_servers: Vec::new(),
            };
            let mut rs_ids = Vec::with_capacity(vs_cfg.real_servers.len());
            for (r, (rs_cfg, (rs_id, checker_matches))) in
                vs_cfg.real_servers.iter().zip(rs_matches).enumerate()
            {
                let is_new_rs = rs_id.is_none();
                let rs_id = rs_id.unwrap_or_else(|| RealServerId(self.alloc_id()));
                let rs_label = label(rs_cfg.addr, vs_cfg.protocol, rs_cfg.port);
                let mut checker_ids = Vec::with_capacity(rs_cfg.checkers.len());
                for (c, (checker_cfg, found)) in
                    rs_cfg.checkers.iter().zip(checker_matches).enumerate()
                {
                    let id = match found {
                        Some(id) => id,
                        None => self.add_checker(
                            now,
                            rs_id,
                            checker_cfg,
                            plan.timings[v][r][c],
                            vs_cfg.protocol,
                            &rs_label,
                        ),
                    };
                    checker_ids.push(id);
                }
                let base_weight = rs_cfg
                    .weight
                    .or(vs_cfg.weight)
                    .unwrap_or(DEFAULT_WEIGHT)
                    .min(MAX_WEIGHT);
                let inhibit_on_failure = rs_cfg
                    .inhibit_on_failure
                    .unwrap_or(vs_cfg.inhibit_on_failure);
                match self.real_servers.get_mut(&rs_id) {
                    Some(rs) => {
                        rs.base_weight = base_weight;
                        rs.inhibit_on_failure = inhibit_on_failure;
                        rs.checkers = checker_ids.clone();
                    }
                    None => {
                        self.real_servers.insert(
                            rs_id,
                            RealServer {
                                vs: vs_id,
                                addr: rs_cfg.addr,
                                port: rs_cfg.port,
                                base_weight,
                                inhibit_on_failure,
                                checkers: checker_ids.clone(),
                                enabled: true,
                                up: false,
                                weight: 0,
                                since: now,
                                last_failure: None,
                            },
                        );
                    }
                }
                if is_new_rs {
                    if let Some((up, weight)) = self.evaluate(rs_id) {
                        if let Some(rs) = self.real_servers.get_mut(&rs_id) {
                            rs.up = up;
                            rs.weight = weight;
                        }
                    }
                } else {
                    changed_rs.push(rs_id);
                }
                rs_ids.push(rs_id);
                vs_layout.real_servers.push(RealServerLayout {
                    id: rs_id,
                    up: false,
                    weight: 0,
                    checkers: checker_ids,
                });
            }
            self.virtual_servers.insert(
                vs_id,
                VirtualServer {
                    name: vs_cfg.name.clone(),
                    ha_suspend: vs_cfg.ha_suspend,
                    suspended,
                    real_servers: rs_ids,
                },
            );
            result.layout.virtual_servers.push(vs_layout);
        }
        for rs in changed_rs {
            self.update_real_server(rs, now, || Cause::Reconfigure);
        }
        for vs in &mut result.layout.virtual_servers {
            for rs in &mut vs.real_servers {
                if let Some(state) = self.real_servers.get(&rs.id) {
                    rs.up = state.up;
                    rs.weight = state.weight;
                }
            }
        }
        result
    }

    fn add_checker(
        &mut self,
        now: Timestamp,
        rs: RealServerId,
        cfg: &CheckerConfig,
        timing: Timing,
        protocol: Option<Protocol>,
        rs_label: &str,
    ) -> CheckerId {
        let id = CheckerId(self.alloc_id());
        let target = match cfg.spec.connect() {
            Some(c) => label(c.target, protocol, c.port),
            None => rs_label.to_string(),
        };
        let mut checker = Checker {
            rs,
            spec: Arc::new(cfg.spec.clone()),
            timing,
            log_all_failures: cfg.log_all_failures,
            target,
            // keepalived: alpha starts DOWN, otherwise UP; and "one failure
            // is enough initially" (`retry_it = retry`, validate_check_config).
            up: !timing.alpha,
            has_run: false,
            retry_it: timing.retry,
            consecutive_failures: 0,
            last_failure: None,
            since: now,
            dynamic_weight: None,
            file_delta: 0,
            anchor: now,
            phase: Phase::Passive,
        };
        if let ProbeSpec::File(file) = &cfg.spec {
            // Its state is known at once from the file (keepalived marks
            // file checkers as run and clears alpha).
            let value = self.track_files.get(&file.track_file).copied().unwrap_or(0);
            let (up, delta) = file_state(file, value);
            checker.up = up;
            checker.file_delta = delta;
            checker.has_run = true;
        } else {
            let fraction = spread::fraction(self.seed, self.spread_index);
            self.spread_index += 1;
            let first = now + spread::scale(timing.warmup, fraction);
            checker.anchor = first;
            checker.phase = Phase::Waiting { due: first };
            self.timers.insert((first, id));
        }
        self.checkers.insert(id, checker);
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

    fn start_probe(&mut self, id: CheckerId, now: Timestamp) {
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
    fn complete(&mut self, id: CheckerId, probe: ProbeId, now: Timestamp, outcome: Outcome) {
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
    fn checker_result(
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

    fn track_file(&mut self, now: Timestamp, name: String, value: i64) {
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

    // ----- accessors --------------------------------------------------------

    /// Ids of the configuration in force, in its order, with each real
    /// server's current state.
    pub fn layout(&self) -> Layout {
        Layout {
            virtual_servers: self
                .vs_order
                .iter()
                .filter_map(|id| {
                    let vs = self.virtual_servers.get(id)?;
                    Some(VirtualServerLayout {
                        id: *id,
                        real_servers: vs
                            .real_servers
                            .iter()
                            .filter_map(|rs_id| {
                                let rs = self.real_servers.get(rs_id)?;
                                Some(RealServerLayout {
                                    id: *rs_id,
                                    up: rs.up,
                                    weight: rs.weight,
                                    checkers: rs.checkers.clone(),
                                })
                            })
                            .collect(),
                    })
                })
                .collect(),
        }
    }

    /// A virtual server's status.
    pub fn virtual_server(&self, id: VirtualServerId) -> Option<VirtualServerStatus> {
        let vs = self.virtual_servers.get(&id)?;
        Some(VirtualServerStatus {
            id,
            name: vs.name.clone(),
            suspended: vs.suspended,
            real_servers: vs.real_servers.clone(),
        })
    }

    /// A real server's status, with its checkers'.
    pub fn real_server(&self, id: RealServerId) -> Option<RealServerStatus> {
        let rs = self.real_servers.get(&id)?;
        let checkers: Vec<CheckerStatus> = rs
            .checkers
            .iter()
            .filter_map(|c| self.checker(*c))
            .collect();
        Some(RealServerStatus {
            id,
            vs: rs.vs,
            addr: rs.addr,
            port: rs.port,
            up: rs.up,
            healthy: checkers.iter().all(|c| c.up),
            enabled: rs.enabled,
            since: rs.since,
            last_failure: rs.last_failure.clone(),
            weight: rs.weight,
            inhibit_on_failure: rs.inhibit_on_failure,
            checkers,
        })
    }

    /// Every real server's status, in configuration order.
    pub fn real_servers(&self) -> Vec<RealServerStatus> {
        self.vs_order
            .iter()
            .filter_map(|id| self.virtual_servers.get(id))
            .flat_map(|vs| vs.real_servers.iter())
            .filter_map(|id| self.real_server(*id))
            .collect()
    }

    /// A checker's status.
    pub fn checker(&self, id: CheckerId) -> Option<CheckerStatus> {
        let c = self.checkers.get(&id)?;
        let (next_check, probe_in_flight) = match c.phase {
            Phase::Waiting { due } => (Some(due), None),
            Phase::Running { probe, .. } => (None, Some(probe)),
            Phase::Passive => (None, None),
        };
        Some(CheckerStatus {
            id,
            kind: c.spec.keyword().to_string(),
            up: c.up,
            has_run: c.has_run,
            consecutive_failures: c.consecutive_failures,
            last_failure: c.last_failure.clone(),
            since: c.since,
            next_check,
            probe_in_flight,
        })
    }

    /// Whether a real server is usable (enabled and every checker up).
    pub fn is_up(&self, rs: RealServerId) -> Option<bool> {
        self.real_servers.get(&rs).map(|rs| rs.up)
    }

    /// A real server's effective weight.
    pub fn weight(&self, rs: RealServerId) -> Option<u32> {
        self.real_servers.get(&rs).map(|rs| rs.weight)
    }

    /// Number of checkers.
    pub fn checker_count(&self) -> usize {
        self.checkers.len()
    }

    /// Probes asked for and not yet answered or given up on.
    pub fn probes_in_flight(&self) -> usize {
        self.checkers
            .values()
            .filter(|c| matches!(c.phase, Phase::Running { .. }))
            .count()
    }

    /// Outputs dropped because the caller let more than the bound pile up.
    pub fn dropped_outputs(&self) -> u64 {
        self.dropped_outputs
    }

    /// `ProbeDone`s ignored: unknown checker or a run no longer awaited.
    pub fn ignored_outcomes(&self) -> u64 {
        self.ignored_outcomes
    }
}

/// Same checker across a reload: same spec, timing and logging.
fn same_checker(old: &Checker, cfg: &CheckerConfig, timing: &Timing) -> bool {
    *old.spec == cfg.spec && old.timing == *timing && old.log_all_failures == cfg.log_all_failures
}

/// keepalived's FILE_CHECK reading (`track_file.c`, reference §1.12):
/// with weight 0 a non-zero value (a zero one with `reverse`) is a failure;
/// otherwise value × weight (negated with `reverse`), clamped to i32, is
/// added to the real server's weight, and only i32::MIN is a failure.
fn file_state(file: &FileProbe, value: i64) -> (bool, i64) {
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

/// keepalived's `FMT_RS` spelling: `[addr]:proto:port`.
fn label(addr: IpAddr, protocol: Option<Protocol>, port: Option<u16>) -> String {
    let port = port.unwrap_or(0);
    match protocol {
        Some(p) => format!("[{addr}]:{}:{port}", p.as_str()),
        None => format!("[{addr}]:{port}"),
    }
}
