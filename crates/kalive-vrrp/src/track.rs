//! Trackers and effective priority (reference §1.6, `vrrp_track.c`):
//! pure bookkeeping fed with raw results by the daemon.

use std::collections::BTreeMap;

use crate::config::{InstanceConfig, TrackedScript};

/// A script's rise/fall state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScriptStatus {
    /// No result yet (and no `init_fail`).
    Init,
    /// OK: `rise` consecutive successes seen (or the first result was one).
    Good,
    /// KO.
    Bad,
}

/// Rise/fall counter of one `vrrp_script`.
#[derive(Debug, Clone)]
pub(crate) struct ScriptState {
    status: ScriptStatus,
    rise: u32,
    fall: u32,
    /// Consecutive results that disagree with `status`.
    streak: u32,
}

impl ScriptState {
    pub(crate) fn new(script: &TrackedScript) -> Self {
        ScriptState {
            status: if script.init_fail {
                ScriptStatus::Bad
            } else {
                ScriptStatus::Init
            },
            rise: script.rise.max(1),
            fall: script.fall.max(1),
            streak: 0,
        }
    }

    /// The same state under a changed definition (rise/fall may differ).
    pub(crate) fn reconfigured(&self, script: &TrackedScript) -> Self {
        ScriptState {
            rise: script.rise.max(1),
            fall: script.fall.max(1),
            ..self.clone()
        }
    }

    pub(crate) fn status(&self) -> ScriptStatus {
        self.status
    }

    /// Record one run. keepalived starts a script at `rise − 1` so that the
    /// first result decides either way ("one success is enough",
    /// `vrrp_scheduler.c:vrrp_init_script`); after that `rise` consecutive
    /// successes make a KO script OK and `fall` consecutive failures make an
    /// OK script KO. `init_fail` starts at 0: KO, needing `rise` successes.
    pub(crate) fn record(&mut self, success: bool) {
        match (self.status, success) {
            (ScriptStatus::Good, true) | (ScriptStatus::Bad, false) => self.streak = 0,
            (ScriptStatus::Init, false) => self.set(ScriptStatus::Bad),
            (ScriptStatus::Init, true) => self.set(ScriptStatus::Good),
            (ScriptStatus::Bad, true) => {
                self.streak += 1;
                if self.streak >= self.rise {
                    self.set(ScriptStatus::Good);
                }
            }
            (ScriptStatus::Good, false) => {
                self.streak += 1;
                if self.streak >= self.fall {
                    self.set(ScriptStatus::Bad);
                }
            }
        }
    }

    fn set(&mut self, status: ScriptStatus) {
        self.status = status;
        self.streak = 0;
    }
}

/// What the outside world last told us.
#[derive(Debug, Clone, Default)]
pub(crate) struct World {
    /// Interface name → up. Unknown interfaces are taken as up.
    pub links: BTreeMap<String, bool>,
    /// Script name → state.
    pub scripts: BTreeMap<String, ScriptState>,
    /// File tracker name → value.
    pub files: BTreeMap<String, i64>,
    /// Process tracker name → up. Unknown processes are taken as down.
    pub processes: BTreeMap<String, bool>,
}

impl World {
    pub(crate) fn new(configs: &[InstanceConfig]) -> Self {
        let mut world = World::default();
        for config in configs {
            for script in &config.track_scripts {
                world
                    .scripts
                    .entry(script.name.clone())
                    .or_insert_with(|| ScriptState::new(script));
            }
            for file in &config.track_files {
                world
                    .files
                    .entry(file.name.clone())
                    .or_insert(file.initial_value);
            }
        }
        world
    }

    /// The world after a reload to `configs`: links as they are; each
    /// tracker that still exists (by name) keeps its state — a script its
    /// rise/fall progress under the new rise/fall, a file its last value,
    /// a process its up/down — and new ones start as at start-up.
    /// Trackers no longer referenced are forgotten.
    pub(crate) fn carry_over(&self, configs: &[InstanceConfig]) -> World {
        let mut world = World {
            links: self.links.clone(),
            ..World::default()
        };
        for config in configs {
            for script in &config.track_scripts {
                let state = match self.scripts.get(&script.name) {
                    Some(old) => old.reconfigured(script),
                    None => ScriptState::new(script),
                };
                world.scripts.entry(script.name.clone()).or_insert(state);
            }
            for file in &config.track_files {
                let value = self
                    .files
                    .get(&file.name)
                    .copied()
                    .unwrap_or(file.initial_value);
                world.files.entry(file.name.clone()).or_insert(value);
            }
            for process in &config.track_processes {
                if let Some(&up) = self.processes.get(&process.name) {
                    world.processes.insert(process.name.clone(), up);
                }
            }
        }
        world
    }

    fn link_up(&self, interface: &str) -> bool {
        self.links.get(interface).copied().unwrap_or(true)
    }
}

/// The outcome of evaluating an instance's trackers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Assessment {
    /// A weight-0 tracker (or the instance's own interface) is down.
    pub fault: bool,
    /// Base priority plus weights, clamped to 1..=254; 255 for an owner.
    pub effective_priority: u8,
}

/// One up/down tracker's contribution (man5 weight table, reference §1.6):
/// weight 0 faults while down; positive weights add while up, negative
/// weights subtract while down; `reverse` swaps up and down.
fn up_down_contribution(up: bool, weight: i32, reverse: bool) -> (bool, i64) {
    let up = up != reverse;
    match weight {
        0 => (!up, 0),
        w if w > 0 && up => (false, i64::from(w)),
        w if w < 0 && !up => (false, i64::from(w)),
        _ => (false, 0),
    }
}

/// Evaluate `config`'s trackers against `world`, starting from `base`.
pub(crate) fn assess(config: &InstanceConfig, base: u8, world: &World) -> Assessment {
    let mut fault = !config.dont_track_primary && !world.link_up(&config.interface);
    let mut sum: i64 = 0;
    let mut add = |(f, adj): (bool, i64)| {
        fault |= f;
        sum += adj;
    };
    for t in &config.track_interfaces {
        add(up_down_contribution(
            world.link_up(&t.interface),
            t.weight,
            t.reverse,
        ));
    }
    for t in &config.track_scripts {
        let status = world
            .scripts
            .get(&t.name)
            .map_or(ScriptStatus::Init, ScriptState::status);
        match status {
            // Still initialising: a weight-0 script holds the instance in
            // FAULT (reference §2 "Startup"); weighted ones count nothing yet.
            ScriptStatus::Init => add((t.weight == 0, 0)),
            ScriptStatus::Good => add(up_down_contribution(true, t.weight, t.reverse)),
            ScriptStatus::Bad => add(up_down_contribution(false, t.weight, t.reverse)),
        }
    }
    for t in &config.track_processes {
        let up = world.processes.get(&t.name).copied().unwrap_or(false);
        add(up_down_contribution(up, t.weight, t.reverse));
    }
    for t in &config.track_files {
        let value = world.files.get(&t.name).copied().unwrap_or(t.initial_value);
        add(file_contribution(value, t.weight, t.reverse));
    }
    Assessment {
        fault,
        effective_priority: clamp_priority(base, sum),
    }
}

/// track_file (reference §1.6): weight 0 faults on a non-zero value (zero
/// with `reverse`); otherwise value × weight is added, and a result of
/// −254 or less is a fault.
fn file_contribution(value: i64, weight: i32, reverse: bool) -> (bool, i64) {
    if weight == 0 {
        return ((value != 0) != reverse, 0);
    }
    // keepalived clamps the value read to ±254 and the product to
    // [−254, 253] (`vrrp_track.c:update_track_file_status`).
    let mut adj = value.clamp(-254, 254) * i64::from(weight);
    if reverse {
        adj = -adj;
    }
    if adj <= -254 {
        (true, 0)
    } else {
        (false, adj.min(253))
    }
}

/// keepalived clamps the effective priority to 1..=254 and never changes an
/// owner's 255 (`vrrp_track.c:vrrp_set_effective_priority`, reference §1.6).
fn clamp_priority(base: u8, adjustment: i64) -> u8 {
    if base == 255 {
        return 255;
    }
    let value = (i64::from(base) + adjustment).clamp(1, 254);
    u8::try_from(value).unwrap_or(254)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(rise: u32, fall: u32, init_fail: bool) -> TrackedScript {
        TrackedScript {
            name: "s".into(),
            weight: 0,
            reverse: false,
            rise,
            fall,
            init_fail,
        }
    }

    #[test]
    fn rise_and_fall_count_consecutive_results() {
        let mut s = ScriptState::new(&script(2, 3, false));
        assert_eq!(s.status(), ScriptStatus::Init);
        s.record(true);
        assert_eq!(s.status(), ScriptStatus::Good, "first success is enough");
        s.record(false);
        s.record(false);
        s.record(true); // streak broken
        s.record(false);
        s.record(false);
        assert_eq!(s.status(), ScriptStatus::Good);
        s.record(false);
        assert_eq!(s.status(), ScriptStatus::Bad);
        s.record(true);
        s.record(false);
        s.record(true);
        assert_eq!(s.status(), ScriptStatus::Bad);
        s.record(true);
        assert_eq!(s.status(), ScriptStatus::Good);
    }

    #[test]
    fn init_failure_is_immediate_and_init_fail_needs_rise() {
        let mut s = ScriptState::new(&script(2, 3, false));
        s.record(false);
        assert_eq!(s.status(), ScriptStatus::Bad);
        let mut s = ScriptState::new(&script(2, 1, true));
        assert_eq!(s.status(), ScriptStatus::Bad);
        s.record(true);
        assert_eq!(s.status(), ScriptStatus::Bad);
        s.record(true);
        assert_eq!(s.status(), ScriptStatus::Good);
    }

    #[test]
    fn weights_follow_the_man_page_table() {
        assert_eq!(up_down_contribution(true, 10, false), (false, 10));
        assert_eq!(up_down_contribution(false, 10, false), (false, 0));
        assert_eq!(up_down_contribution(false, -10, false), (false, -10));
        assert_eq!(up_down_contribution(true, -10, false), (false, 0));
        assert_eq!(up_down_contribution(true, 10, true), (false, 0));
        assert_eq!(up_down_contribution(false, 10, true), (false, 10));
        assert_eq!(up_down_contribution(false, 0, false), (true, 0));
        assert_eq!(up_down_contribution(true, 0, true), (true, 0));
    }

    #[test]
    fn clamping_and_owner() {
        assert_eq!(clamp_priority(100, 200), 254);
        assert_eq!(clamp_priority(100, -200), 1);
        assert_eq!(clamp_priority(255, -50), 255);
        assert_eq!(file_contribution(3, 10, false), (false, 30));
        assert_eq!(file_contribution(3, 10, true), (false, -30));
        assert_eq!(file_contribution(-30, 10, false), (true, 0));
        assert_eq!(file_contribution(1, 0, false), (true, 0));
        assert_eq!(file_contribution(0, 0, true), (true, 0));
    }
}
