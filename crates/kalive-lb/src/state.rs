//! The load balancer as it should be (or as a backend reports it is):
//! services, each with its destinations and weights. Backends turn this
//! into kernel objects; [`crate::diff`] turns two of them into operations.

use crate::config::{
    Family, Member, Method, Persistence, Protocol, RsKey, Scheduler, SchedulerFlags, VsKey,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every virtual service, by identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LbState {
    pub services: BTreeMap<VsKey, Service>,
}

/// One virtual service: what it matches and how it schedules (its spec) and
/// where it sends connections (its destinations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub spec: ServiceSpec,
    pub dests: BTreeMap<RsKey, Dest>,
}

/// The parts of a service that are not its destinations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub members: Vec<Member>,
    pub family: Family,
    pub protocol: Option<Protocol>,
    pub scheduler: Scheduler,
    pub flags: SchedulerFlags,
    pub persistence: Option<Persistence>,
    /// `persistence_engine` (the kernel knows `sip`).
    pub persistence_engine: Option<String>,
}

/// A destination of a service. Weight 0 keeps it in the table but gives it
/// no new connection (IPVS's quiescent server: `inhibit_on_failure`, an
/// inhibited sorry server, or a real server weighted down to 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dest {
    pub weight: u32,
    pub method: Method,
    /// `uthreshold` / `lthreshold`: connection limits, 0 for none.
    pub upper_threshold: u32,
    pub lower_threshold: u32,
}

impl Service {
    /// Destinations that may receive new connections, in key order.
    pub fn active_dests(&self) -> impl Iterator<Item = (&RsKey, &Dest)> {
        self.dests.iter().filter(|(_, d)| d.weight > 0)
    }
}
