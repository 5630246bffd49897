//! The engine's own configuration: plain data the daemon fills from the
//! parsed keepalived.conf model (reference §1.5–§1.9 give the keywords and
//! defaults; the defaults below follow them).

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::time::duration_micros;

pub use kalive_wire::{Family, Version};

/// The `state` keyword: the wanted initial state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InitialState {
    /// `state BACKUP` (or nothing).
    Backup,
    /// `state MASTER`: only an address owner (priority 255) acts on it at
    /// start-up; others wait for master-down like a backup (reference §1.8).
    Master,
}

/// `authentication { auth_type ... }` (VRRPv2 only, reference §1.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Authentication {
    /// No authentication (type 0).
    None,
    /// Simple text password (type 1): the 8-byte field, zero padded.
    Pass([u8; 8]),
    /// IPSEC-AH (type 2). The engine does not see the AH header: the daemon
    /// seals adverts (HMAC-MD5-96 ICV, sequence number) and opens received
    /// ones before they reach it; the engine checks that the auth type
    /// matches.
    Ah,
}

impl Authentication {
    /// `auth_pass X`: keepalived uses the first 8 bytes, zero padded.
    pub fn pass(password: &str) -> Authentication {
        let mut field = [0u8; 8];
        for (dst, src) in field.iter_mut().zip(password.bytes()) {
            *dst = src;
        }
        Authentication::Pass(field)
    }
}

/// One virtual (or excluded virtual) address. `key` is opaque to the engine:
/// the daemon uses it to find the full keyword options (label, scope, brd...).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VirtualAddress {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (keepalived default /32 for IPv4, /128 for IPv6 — the
    /// daemon resolves it).
    pub prefix_len: u8,
    /// Interface it is added to (`dev`, defaulting to the instance interface).
    pub interface: String,
    /// Daemon's handle for the full entry.
    pub key: u32,
}

impl VirtualAddress {
    /// Whether `other` is the same address on the same interface with the
    /// same prefix: the identity a reload compares by (the `key` of an
    /// address that stays may change with the daemon's new tables).
    pub fn same_as(&self, other: &VirtualAddress) -> bool {
        self.addr == other.addr
            && self.prefix_len == other.prefix_len
            && self.interface == other.interface
    }
}

/// One `virtual_routes` or `virtual_rules` entry: the daemon's handle (an
/// index into its own per-instance table, carried by
/// [`crate::Output::AddRoutes`] and friends) and what the entry is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VirtualEntry {
    /// Daemon's handle for the entry.
    pub key: u32,
    /// The entry as configured, normalised by the daemon (e.g. the
    /// keyword line): [`crate::Vrrp::reconfigure`] compares entries by
    /// this, never by `key`, so an entry that stays is not touched.
    pub spec: String,
}

impl VirtualEntry {
    /// An entry with handle `key` standing for `spec`.
    pub fn new(key: u32, spec: &str) -> Self {
        VirtualEntry {
            key,
            spec: spec.to_string(),
        }
    }
}

/// A tracked interface (`track_interface { IF weight W [reverse] }`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedInterface {
    /// Interface name, matched against [`crate::Input::Link`].
    pub interface: String,
    /// 0 = FAULT while down; otherwise added/subtracted (reference §1.6).
    pub weight: i32,
    /// Invert up/down.
    pub reverse: bool,
}

/// A tracked `vrrp_script` with its definition resolved by the daemon
/// (per-reference weight override already applied).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedScript {
    /// Script name, matched against [`crate::Input::ScriptResult`].
    pub name: String,
    /// −253..253; 0 = FAULT after `fall` failures.
    pub weight: i32,
    /// Invert success/failure.
    pub reverse: bool,
    /// Successes needed to become OK (default 1).
    pub rise: u32,
    /// Failures needed to become KO (default 1).
    pub fall: u32,
    /// `init_fail`: start in the failed state.
    pub init_fail: bool,
}

/// A tracked file (`track_file`): its integer value times the weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedFile {
    /// Tracker name, matched against [`crate::Input::FileValue`].
    pub name: String,
    /// 0 = FAULT when the value is non-zero.
    pub weight: i32,
    /// Negate the product.
    pub reverse: bool,
    /// Value until the first reading (`init_file [VAL]`, default 0).
    pub initial_value: i64,
}

/// A tracked process (`track_process`); the daemon applies the quorum and
/// reports up/down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedProcess {
    /// Tracker name, matched against [`crate::Input::Process`].
    pub name: String,
    /// 0 = FAULT while down.
    pub weight: i32,
    /// Invert up/down.
    pub reverse: bool,
}

/// A unicast peer (`unicast_peer { IP [min_ttl N] [max_ttl N] }`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnicastPeer {
    /// Peer address.
    pub addr: IpAddr,
    /// Lowest accepted TTL/hop limit (0 = any).
    pub min_ttl: u8,
    /// Highest accepted TTL/hop limit (255 = any).
    pub max_ttl: u8,
}

impl UnicastPeer {
    /// A peer with no TTL restriction.
    pub fn new(addr: IpAddr) -> Self {
        UnicastPeer {
            addr,
            min_ttl: 0,
            max_ttl: 255,
        }
    }
}

/// GARP / unsolicited NA settings (reference §1.5 and §2 "BACKUP timeout").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GarpConfig {
    /// `garp_master_delay`: second burst this long after becoming MASTER
    /// (zero = no second burst). Default 5 s.
    #[serde(with = "duration_micros")]
    pub master_delay: Duration,
    /// `garp_master_repeat`: GARPs per address per burst. Default 5.
    pub master_repeat: u32,
    /// `garp_lower_prio_delay`: second burst after a lower-priority advert.
    /// Default = `master_delay`.
    #[serde(with = "duration_micros")]
    pub lower_prio_delay: Duration,
    /// `garp_lower_prio_repeat`. Default = `master_repeat`.
    pub lower_prio_repeat: u32,
    /// `garp_master_refresh`: periodic GARP while MASTER (zero = off).
    #[serde(with = "duration_micros")]
    pub master_refresh: Duration,
    /// `garp_master_refresh_repeat`. Default 1.
    pub master_refresh_repeat: u32,
    /// `vrrp_min_garp`: one GARP/NA per address, no second burst.
    pub min_garp: bool,
}

impl Default for GarpConfig {
    fn default() -> Self {
        GarpConfig {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
            master_refresh: Duration::ZERO,
            master_refresh_repeat: 1,
            min_garp: false,
        }
    }
}

/// One `vrrp_instance`, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceConfig {
    /// Instance name (used in notifies).
    pub name: String,
    /// `virtual_router_id` 1..255.
    pub vrid: u8,
    /// Family of the advertised VIPs.
    pub family: Family,
    /// Protocol version (IPv6 must be V3).
    pub version: Version,
    /// `interface`.
    pub interface: String,
    /// Kernel ifindex if known (informational; demux is by name).
    pub ifindex: Option<u32>,
    /// Base `priority` 1..255 (255 = address owner).
    pub priority: u8,
    /// `state`.
    pub initial_state: InitialState,
    /// `advert_int` (v2: whole seconds; v3: centiseconds).
    #[serde(with = "duration_micros")]
    pub advert_interval: Duration,
    /// `authentication` (ignored for v3).
    pub authentication: Authentication,
    /// Our source address (`mcast_src_ip`/`unicast_src_ip`, or the interface's
    /// primary address as resolved by the daemon): the tie-break compares it.
    pub source: Option<IpAddr>,
    /// Multicast destination (`mcast_dst_ip` or the global group).
    pub multicast_group: IpAddr,
    /// `unicast_peer`: non-empty = unicast mode.
    pub unicast_peers: Vec<UnicastPeer>,
    /// `check_unicast_src` (implied by a peer's min/max TTL).
    pub check_unicast_src: bool,
    /// `virtual_ipaddress` (advertised).
    pub vips: Vec<VirtualAddress>,
    /// `virtual_ipaddress_excluded` (installed, not advertised).
    pub excluded_vips: Vec<VirtualAddress>,
    /// `virtual_routes`: the daemon's handles, each with what it stands for.
    pub virtual_routes: Vec<VirtualEntry>,
    /// `virtual_rules`: the daemon's handles, each with what it stands for.
    pub virtual_rules: Vec<VirtualEntry>,
    /// `nopreempt`.
    pub nopreempt: bool,
    /// `preempt_delay` (zero = none).
    #[serde(with = "duration_micros")]
    pub preempt_delay: Duration,
    /// GARP/NA settings.
    pub garp: GarpConfig,
    /// `down_timer_adverts` 1..100, default 3.
    pub down_timer_adverts: u32,
    /// `lower_prio_no_advert`.
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`.
    pub higher_prio_send_advert: bool,
    /// `owner_ignore_adverts`.
    pub owner_ignore_adverts: bool,
    /// `v3_checksum_as_v2`.
    pub v3_checksum_as_v2: bool,
    /// `skip_check_adv_addr`.
    pub skip_check_adv_addr: bool,
    /// `dont_track_primary`: our own interface going down is not a fault.
    pub dont_track_primary: bool,
    /// `track_interface`.
    pub track_interfaces: Vec<TrackedInterface>,
    /// `track_script`.
    pub track_scripts: Vec<TrackedScript>,
    /// `track_file`.
    pub track_files: Vec<TrackedFile>,
    /// `track_process`.
    pub track_processes: Vec<TrackedProcess>,
    /// `notify_deleted` is configured: an instance removed by a reload
    /// notifies DELETED; without it keepalived notifies FAULT (unless the
    /// instance was already in FAULT), reference §1.11.
    pub notify_deleted: bool,
}

impl InstanceConfig {
    /// An instance with keepalived's defaults: v2 for IPv4 / v3 for IPv6,
    /// advert_int 1 s, multicast to 224.0.0.18 / ff02::12, preempt, no
    /// trackers, default GARP settings.
    pub fn new(name: &str, vrid: u8, family: Family, interface: &str, priority: u8) -> Self {
        let (version, multicast_group) = match family {
            Family::V4 => (Version::V2, IpAddr::from([224, 0, 0, 18])),
            Family::V6 => (
                Version::V3,
                IpAddr::from([0xff02, 0, 0, 0, 0, 0, 0, 0x12u16]),
            ),
        };
        InstanceConfig {
            name: name.to_string(),
            vrid,
            family,
            version,
            interface: interface.to_string(),
            ifindex: None,
            priority,
            initial_state: InitialState::Backup,
            advert_interval: Duration::from_secs(1),
            authentication: Authentication::None,
            source: None,
            multicast_group,
            unicast_peers: Vec::new(),
            check_unicast_src: false,
            vips: Vec::new(),
            excluded_vips: Vec::new(),
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            garp: GarpConfig::default(),
            down_timer_adverts: 3,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            owner_ignore_adverts: false,
            v3_checksum_as_v2: false,
            skip_check_adv_addr: false,
            dont_track_primary: false,
            track_interfaces: Vec::new(),
            track_scripts: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            notify_deleted: false,
        }
    }

    /// Add a VIP on the instance interface with the family's host prefix.
    pub fn with_vip(mut self, addr: IpAddr) -> Self {
        let prefix_len = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        let key = u32::try_from(self.vips.len()).unwrap_or(u32::MAX);
        self.vips.push(VirtualAddress {
            addr,
            prefix_len,
            interface: self.interface.clone(),
            key,
        });
        self
    }

    /// Whether this instance uses unicast peers.
    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }

    /// Whether this instance is the address owner (priority 255).
    pub fn is_owner(&self) -> bool {
        self.priority == 255
    }
}

/// A `vrrp_sync_group`. Group-level trackers are expanded by the daemon into
/// each member's tracker lists (reference §1.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGroupConfig {
    /// Group name (used in group notifies).
    pub name: String,
    /// Member instance names.
    pub members: Vec<String>,
}
