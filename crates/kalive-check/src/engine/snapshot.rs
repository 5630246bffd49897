//! Read-only views of the engine: the id layout and status snapshots.

use super::{Checks, Phase};
use crate::io::{CheckerId, RealServerId, VirtualServerId};
use crate::status::{
    CheckerStatus, Layout, RealServerLayout, RealServerStatus, VirtualServerLayout,
    VirtualServerStatus,
};

impl Checks {
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
