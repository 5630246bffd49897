//! The typed model of a keepalived.conf: what the daemon runs from.
//!
//! Everything is typed (addresses, prefixes, `Duration`s, enums); keepalived's
//! defaults are applied by the parser and by validation, so a consumer never
//! has to know a default. `Option` means "not configured, and keepalived has
//! no single default" (for example a per-instance setting that falls back to
//! the global one: use the `effective_*` helpers where provided).

pub mod global;
pub mod lvs;
pub mod net;
pub mod vrrp;

pub use global::GlobalDefs;
pub use net::{IpAddressSpec, IpPrefix, RouteSpec, RuleSpec};
pub use vrrp::{
    BfdInstance, GarpGroup, InterfaceDelay, LinkbeatInterface, SyncGroup, TrackFile, TrackGroup,
    TrackProcess, VrrpInstance, VrrpScript,
};

use serde::Serialize;

/// A whole parsed configuration.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Config {
    pub global_defs: GlobalDefs,
    /// `static_ipaddress {}` (reference §1.6).
    pub static_ipaddresses: Vec<IpAddressSpec>,
    /// `static_routes {}`.
    pub static_routes: Vec<RouteSpec>,
    /// `static_rules {}`.
    pub static_rules: Vec<RuleSpec>,
    pub linkbeat_interfaces: Vec<LinkbeatInterface>,
    pub track_groups: Vec<TrackGroup>,
    pub interface_up_down_delays: Vec<InterfaceDelay>,
    pub garp_groups: Vec<GarpGroup>,
    pub track_files: Vec<TrackFile>,
    pub track_processes: Vec<TrackProcess>,
    pub vrrp_scripts: Vec<VrrpScript>,
    pub bfd_instances: Vec<BfdInstance>,
    pub vrrp_sync_groups: Vec<SyncGroup>,
    pub vrrp_instances: Vec<VrrpInstance>,
    /// The LVS side (`virtual_server_group`, `virtual_server`, `SSL`).
    pub lvs: lvs::LvsConfig,
}

impl Config {
    pub fn vrrp_instance(&self, name: &str) -> Option<&VrrpInstance> {
        self.vrrp_instances.iter().find(|i| i.name == name)
    }
    pub fn vrrp_script(&self, name: &str) -> Option<&VrrpScript> {
        self.vrrp_scripts.iter().find(|s| s.name == name)
    }
    /// Whether the VRRP child would run (keepalived starts it only when the
    /// config has VRRP content, reference §1.4).
    pub fn has_vrrp(&self) -> bool {
        !self.vrrp_instances.is_empty()
            || !self.static_ipaddresses.is_empty()
            || !self.static_routes.is_empty()
            || !self.static_rules.is_empty()
    }
    /// Whether keepalived would start any child at all (VRRP, checker or
    /// BFD); without one it logs "Warning - keepalived has no
    /// configuration to run" and keeps running (`core/main.c`, 2.2.7).
    pub fn has_anything_to_run(&self) -> bool {
        self.has_vrrp() || !self.lvs.virtual_servers.is_empty() || !self.bfd_instances.is_empty()
    }
}
