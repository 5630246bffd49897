//! Read-only snapshots for status output, metrics and the daemon's wiring.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::io::{CheckerId, ProbeId, RealServerId, VirtualServerId};
use crate::Timestamp;

/// One virtual server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualServerStatus {
    /// Its id.
    pub id: VirtualServerId,
    /// Its name (keepalived's `FMT_VS`).
    pub name: String,
    /// Whether `ha_suspend` has its checks paused.
    pub suspended: bool,
    /// Its real servers, in configuration order.
    pub real_servers: Vec<RealServerId>,
}

/// One real server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealServerStatus {
    /// Its id.
    pub id: RealServerId,
    /// Its virtual server.
    pub vs: VirtualServerId,
    /// Address.
    pub addr: IpAddr,
    /// Port.
    pub port: Option<u16>,
    /// Usable: enabled and healthy (what `RealServerUp/Down` report).
    pub up: bool,
    /// Every checker up.
    pub healthy: bool,
    /// Not disabled by the operator.
    pub enabled: bool,
    /// When `up` last changed (or the server appeared).
    pub since: Timestamp,
    /// The last failure a checker reported, keepalived's wording.
    pub last_failure: Option<String>,
    /// Effective weight (configured, moved by dynamic weights).
    pub weight: u32,
    /// `inhibit_on_failure`, for the load-balancing layer.
    pub inhibit_on_failure: bool,
    /// Its checkers, in configuration order.
    pub checkers: Vec<CheckerStatus>,
}

/// One checker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckerStatus {
    /// Its id.
    pub id: CheckerId,
    /// keepalived's keyword for its kind.
    pub kind: String,
    /// Up or down.
    pub up: bool,
    /// Whether it has given a result yet.
    pub has_run: bool,
    /// Failures since its last success.
    pub consecutive_failures: u32,
    /// The probe's reason for the last failure.
    pub last_failure: Option<String>,
    /// When `up` last changed (or the checker appeared).
    pub since: Timestamp,
    /// When it next probes (`None` while a probe runs, or for FILE_CHECK).
    pub next_check: Option<Timestamp>,
    /// The run being waited for.
    pub probe_in_flight: Option<ProbeId>,
}

/// Ids of the configuration just applied, in the configuration's own order:
/// `virtual_servers[i].real_servers[j].checkers[k]` is the id of the k-th
/// checker of the j-th real server of the i-th virtual server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// One per configured virtual server.
    pub virtual_servers: Vec<VirtualServerLayout>,
}

/// A virtual server's ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualServerLayout {
    /// Its id.
    pub id: VirtualServerId,
    /// Its real servers.
    pub real_servers: Vec<RealServerLayout>,
}

/// A real server's id, current state and its checkers' ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealServerLayout {
    /// Its id.
    pub id: RealServerId,
    /// Usable now (for a new server: its initial state, alpha or not).
    pub up: bool,
    /// Effective weight now.
    pub weight: u32,
    /// Its checkers.
    pub checkers: Vec<CheckerId>,
}

/// What [`crate::Checks::reconfigure`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconfigured {
    /// Ids of the new configuration.
    pub layout: Layout,
    /// Checkers that kept their state and schedule.
    pub kept_checkers: Vec<CheckerId>,
    /// Virtual servers gone.
    pub removed_virtual_servers: Vec<VirtualServerId>,
    /// Real servers gone.
    pub removed_real_servers: Vec<RealServerId>,
    /// Checkers gone (their pending outcomes will be ignored).
    pub removed_checkers: Vec<CheckerId>,
}
