//! VRRP-side blocks: vrrp_instance, vrrp_sync_group, trackers, scripts, BFD,
//! and the small top-level blocks of reference §1.6.

use crate::model::net::{IpAddressSpec, RouteSpec, RuleSpec};
use crate::source::Span;
use serde::Serialize;
use std::net::IpAddr;
use std::time::Duration;

/// A command to run: `script`, `notify_*`, `startup_script`, ...
/// keepalived splits the command line on unquoted spaces; single quotes keep
/// a parameter with spaces together (reference §1.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Script {
    /// argv: program first.
    pub args: Vec<String>,
    /// `user USER [GROUP]` / `... USER [:GROUP]` after the command, if given.
    pub user: Option<ScriptUser>,
    #[serde(skip)]
    pub span: Option<Span>,
    /// Who runs it: the script's own user, else the default script user,
    /// resolved once while the config is read (`script_check`). `None`
    /// after loading means it was never resolved: the daemon must not run
    /// it (there is no fallback to root).
    #[serde(skip)]
    pub run_as: Option<RunAs>,
    /// The file checked at load (keepalived's real path rule, reference
    /// §1.11) and the only file the daemon may execute for this script.
    /// `None` for a `</path` file test, which runs no file.
    #[serde(skip)]
    pub exec_path: Option<std::path::PathBuf>,
}

impl Script {
    /// A command as written, not yet resolved.
    pub fn new(args: Vec<String>, user: Option<ScriptUser>, span: Option<Span>) -> Script {
        Script {
            args,
            user,
            span,
            run_as: None,
            exec_path: None,
        }
    }

    pub fn program(&self) -> &str {
        self.args.first().map(String::as_str).unwrap_or("")
    }
}

/// A resolved script identity: keepalived 2.2.7 switches to `gid`, sets
/// the supplementary groups to `[gid]` alone, then switches to `uid`
/// (`lib/notify.c`, `set_script_env`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

impl RunAs {
    /// `uid`:`gid` with the supplementary group list `[gid]`.
    pub fn new(uid: u32, gid: u32) -> RunAs {
        RunAs {
            uid,
            gid,
            groups: vec![gid],
        }
    }
}

/// `USER [GROUP]` as written in `script_user` or after a script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScriptUser {
    pub user: String,
    pub group: Option<String>,
}

/// Wanted initial state (`state MASTER|BACKUP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum InitialState {
    #[default]
    Backup,
    Master,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum VrrpVersion {
    #[default]
    #[serde(rename = "2")]
    V2,
    #[serde(rename = "3")]
    V3,
}

/// `track_interface` entry: `IF [weight W [reverse]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackedInterface {
    pub name: String,
    /// 0 means "down ⇒ FAULT".
    pub weight: i32,
    pub reverse: bool,
    #[serde(skip)]
    pub span: Option<Span>,
}

/// A reference from an instance or sync group to a named tracker
/// (`track_script`, `track_file`, `track_process`, `track_bfd`):
/// `NAME [weight W] [reverse|noreverse]`. After parsing, `weight` and
/// `reverse` are always set: when the reference gives none, keepalived
/// copies the tracker's own (`vrrp_script weight`, `track_file weight`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackRef {
    pub name: String,
    pub weight: Option<i32>,
    pub reverse: Option<bool>,
    #[serde(skip)]
    pub span: Option<Span>,
}

/// `use_vmac [[name] IF] [MAC] [netlink_notify_msg] [group ID]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct VmacSpec {
    /// Interface name; default `vrrp.VRID` (`vmac_prefix` changes the prefix).
    pub name: Option<String>,
    /// MAC; default 00:00:5e:00:01:VRID (IPv4) / 00:00:5e:00:02:VRID (IPv6).
    pub mac: Option<[u8; 6]>,
    pub netlink_notify_msg: bool,
    pub group: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum IpvlanMode {
    #[default]
    Bridge,
    Private,
    Vepa,
}

/// `use_ipvlan [[name] IF] [IP/LEN] [bridge|private|vepa] [group ID]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct IpvlanSpec {
    pub name: Option<String>,
    pub address: Option<crate::model::net::IpPrefix>,
    pub mode: IpvlanMode,
    pub group: Option<u32>,
}

/// `unicast_peer` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnicastPeer {
    pub address: IpAddr,
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
    #[serde(skip)]
    pub span: Option<Span>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AuthType {
    /// Simple password (v2 only).
    Pass,
    /// IPSEC-AH HMAC-MD5-96 (v2/IPv4 only).
    Ah,
}

/// `authentication { auth_type; auth_pass }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authentication {
    pub auth_type: AuthType,
    /// At most 8 bytes (keepalived truncates with a warning), zero padded on
    /// the wire.
    pub password: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HmacAntiReplay {
    #[default]
    Time,
    Monotonic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum HmacMode {
    #[default]
    Enforce,
    Permissive,
    ReceiveOnly,
}

/// `auth_hmac { key ID ...; active_key ID; anti_replay; time_window; mode }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct AuthHmac {
    /// (key id, key bytes).
    pub keys: Vec<(u32, Vec<u8>)>,
    pub active_key: Option<u32>,
    pub anti_replay: HmacAntiReplay,
    /// Default max(3×advert_int, 5 s).
    pub time_window: Option<Duration>,
    pub mode: HmacMode,
}

/// `old_unicast_checksum [never]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OldUnicastChecksum {
    Always,
    Never,
}

/// `garp_extra_if [all] SECS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GarpExtraIf {
    pub all: bool,
    pub interval: Duration,
}

/// Per-instance GARP/NA settings; `None` = use the global value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct GarpSettings {
    pub master_delay: Option<Duration>,
    pub master_repeat: Option<u32>,
    pub master_refresh: Option<Duration>,
    pub master_refresh_repeat: Option<u32>,
    pub lower_prio_delay: Option<Duration>,
    pub lower_prio_repeat: Option<u32>,
    pub extra_if: Option<GarpExtraIf>,
}

/// Notify scripts of an instance or sync group (reference §1.11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Notify {
    pub master: Option<Script>,
    pub backup: Option<Script>,
    pub fault: Option<Script>,
    pub stop: Option<Script>,
    pub deleted: Option<Script>,
    /// `notify`: gets `INSTANCE|GROUP NAME STATE PRIO` appended.
    pub any: Option<Script>,
    pub master_rx_lower_pri: Option<Script>,
}

impl Notify {
    pub fn scripts(&self) -> impl Iterator<Item = &Script> {
        [
            &self.master,
            &self.backup,
            &self.fault,
            &self.stop,
            &self.deleted,
            &self.any,
            &self.master_rx_lower_pri,
        ]
        .into_iter()
        .flatten()
    }
}

/// `vrrp_instance NAME { ... }` (reference §1.8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VrrpInstance {
    pub name: String,
    /// `state`; default BACKUP (MASTER only as a wish: see reference §1.8).
    pub state: InitialState,
    /// 1..255; default 100, but 255 with `state MASTER` and no `priority`
    /// (appendix; `vrrp.c:vrrp_complete_instance`).
    pub priority: u8,
    pub interface: Option<String>,
    pub vrf: Option<String>,
    /// 1..255 (required).
    pub virtual_router_id: u8,
    /// Default 1 s; v2: whole seconds 1..255; v3: 10 ms units, 0.01..40.95 s.
    pub advert_int: Duration,
    /// Effective version (global `vrrp_version`, IPv6 ⇒ 3).
    pub version: VrrpVersion,
    /// true for IPv6 instances (from the VIPs / `native_ipv6`).
    pub ipv6: bool,
    pub use_vmac: Option<VmacSpec>,
    pub use_vmac_addr: bool,
    pub vmac_xmit_base: bool,
    pub use_ipvlan: Option<IpvlanSpec>,
    pub dont_track_primary: bool,
    pub track_interfaces: Vec<TrackedInterface>,
    pub track_scripts: Vec<TrackRef>,
    pub track_files: Vec<TrackRef>,
    pub track_processes: Vec<TrackRef>,
    pub track_bfds: Vec<TrackRef>,
    pub mcast_src_ip: Option<IpAddr>,
    pub unicast_src_ip: Option<IpAddr>,
    pub mcast_dst_ip: Option<IpAddr>,
    pub track_src_ip: bool,
    pub unicast_peers: Vec<UnicastPeer>,
    pub check_unicast_src: bool,
    pub unicast_fault_no_peer: bool,
    pub unicast_ttl: Option<u8>,
    pub old_unicast_checksum: Option<OldUnicastChecksum>,
    pub v3_checksum_as_v2: Option<bool>,
    pub garp: GarpSettings,
    /// 1..100, default global `vrrp_down_timer_adverts` (3).
    pub down_timer_adverts: Option<u32>,
    /// `timer_expired_backup [PRIO]` (PRIO default 254).
    pub timer_expired_backup: Option<u8>,
    pub lower_prio_no_advert: Option<bool>,
    pub higher_prio_send_advert: Option<bool>,
    pub owner_ignore_adverts: Option<bool>,
    pub authentication: Option<Authentication>,
    pub auth_hmac: Option<AuthHmac>,
    pub virtual_ipaddresses: Vec<IpAddressSpec>,
    pub virtual_ipaddresses_excluded: Vec<IpAddressSpec>,
    pub no_virtual_ipaddress: bool,
    pub promote_secondaries: bool,
    pub virtual_routes: Vec<RouteSpec>,
    pub virtual_rules: Vec<RuleSpec>,
    /// `accept`/`no_accept`; `None` = default (accept unless strict; owner
    /// always accepts).
    pub accept: Option<bool>,
    pub nopreempt: bool,
    /// 0..1000 s.
    pub preempt_delay: Duration,
    pub skip_check_adv_addr: Option<bool>,
    pub strict_mode: Option<bool>,
    pub debug: Option<u8>,
    pub notify: Notify,
    pub smtp_alert: Option<bool>,
    pub notify_priority_changes: Option<bool>,
    pub kernel_rx_buf_size: Option<u64>,
    pub linkbeat_use_polling: bool,
    /// Deprecated `lvs_sync_daemon_interface`.
    pub lvs_sync_daemon_interface: Option<String>,
    /// Name of the sync group this instance is in (filled by validation).
    pub sync_group: Option<String>,
    #[serde(skip)]
    pub span: Option<Span>,
    /// What the parser saw, for defaults applied once the whole file is read.
    #[serde(skip)]
    pub parsed: ParsedFlags,
}

/// Keywords seen while parsing an instance whose defaults depend on other
/// keywords or blocks (applied by validation, as keepalived's
/// `vrrp_complete_instance` does).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedFlags {
    pub priority_set: bool,
    pub state_set: bool,
    pub version_set: bool,
    pub native_ipv6: bool,
    /// advert_int as written, rounded for v2/v3 in validation.
    pub advert_int_raw: Option<(Duration, Span)>,
    /// unicast_src_ip / unicast_ttl / unicast_peer seen.
    pub unicast_keyword_seen: bool,
}

impl VrrpInstance {
    pub fn new(name: impl Into<String>) -> Self {
        VrrpInstance {
            name: name.into(),
            state: InitialState::Backup,
            priority: 100,
            interface: None,
            vrf: None,
            virtual_router_id: 0,
            advert_int: Duration::from_secs(1),
            version: VrrpVersion::V2,
            ipv6: false,
            use_vmac: None,
            use_vmac_addr: false,
            vmac_xmit_base: false,
            use_ipvlan: None,
            dont_track_primary: false,
            track_interfaces: Vec::new(),
            track_scripts: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            track_bfds: Vec::new(),
            mcast_src_ip: None,
            unicast_src_ip: None,
            mcast_dst_ip: None,
            track_src_ip: false,
            unicast_peers: Vec::new(),
            check_unicast_src: false,
            unicast_fault_no_peer: false,
            unicast_ttl: None,
            old_unicast_checksum: None,
            v3_checksum_as_v2: None,
            garp: GarpSettings::default(),
            down_timer_adverts: None,
            timer_expired_backup: None,
            lower_prio_no_advert: None,
            higher_prio_send_advert: None,
            owner_ignore_adverts: None,
            authentication: None,
            auth_hmac: None,
            virtual_ipaddresses: Vec::new(),
            virtual_ipaddresses_excluded: Vec::new(),
            no_virtual_ipaddress: false,
            promote_secondaries: false,
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            accept: None,
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            skip_check_adv_addr: None,
            strict_mode: None,
            debug: None,
            notify: Notify::default(),
            smtp_alert: None,
            notify_priority_changes: None,
            kernel_rx_buf_size: None,
            linkbeat_use_polling: false,
            lvs_sync_daemon_interface: None,
            sync_group: None,
            span: None,
            parsed: ParsedFlags::default(),
        }
    }

    /// The source address to use for unicast or multicast, if configured.
    pub fn src_ip(&self) -> Option<IpAddr> {
        self.unicast_src_ip.or(self.mcast_src_ip)
    }
    /// Unicast mode (peers configured).
    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }
    /// An address owner (priority 255) is never adjusted by trackers.
    pub fn is_owner(&self) -> bool {
        self.priority == 255
    }
}

/// `vrrp_sync_group NAME { group { ... } ... }` (reference §1.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct SyncGroup {
    pub name: String,
    /// Member instance names.
    pub group: Vec<String>,
    pub track_interfaces: Vec<TrackedInterface>,
    pub track_scripts: Vec<TrackRef>,
    pub track_files: Vec<TrackRef>,
    pub track_processes: Vec<TrackRef>,
    pub track_bfds: Vec<TrackRef>,
    pub notify: Notify,
    pub smtp_alert: Option<bool>,
    pub global_tracking: bool,
    pub sync_group_tracking_weight: bool,
    pub notify_priority_changes: Option<bool>,
    #[serde(skip)]
    pub span: Option<Span>,
}

/// `vrrp_script NAME { ... }` (reference §1.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VrrpScript {
    pub name: String,
    pub script: Option<Script>,
    /// Default 1 s.
    pub interval: Duration,
    /// Default = interval.
    pub timeout: Option<Duration>,
    /// −253..253, default 0.
    pub weight: i32,
    pub weight_reverse: bool,
    /// Default 1.
    pub rise: u32,
    /// Default 1.
    pub fall: u32,
    pub user: Option<ScriptUser>,
    pub init_fail: bool,
    #[serde(skip)]
    pub span: Option<Span>,
}

impl VrrpScript {
    pub fn new(name: impl Into<String>) -> Self {
        VrrpScript {
            name: name.into(),
            script: None,
            interval: Duration::from_secs(1),
            timeout: None,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            user: None,
            init_fail: false,
            span: None,
        }
    }
    /// `timeout`, defaulting to `interval`.
    pub fn effective_timeout(&self) -> Duration {
        self.timeout.unwrap_or(self.interval)
    }
}

/// `init_file [VAL] [overwrite]` of a track_file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InitFile {
    pub value: i64,
    pub overwrite: bool,
}

/// `track_file NAME { file; weight [reverse]; init_file }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackFile {
    pub name: String,
    pub file: Option<std::path::PathBuf>,
    /// Default 1 (keepalived: value × weight).
    pub weight: i32,
    pub weight_reverse: bool,
    pub init_file: Option<InitFile>,
    #[serde(skip)]
    pub span: Option<Span>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ParamMatch {
    #[default]
    Initial,
    Partial,
}

/// `vrrp_track_process NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackProcess {
    pub name: String,
    pub process: Option<String>,
    pub parameters: Option<Vec<String>>,
    pub param_match: ParamMatch,
    pub weight: i32,
    pub weight_reverse: bool,
    /// Default 1.
    pub quorum: u32,
    pub quorum_max: Option<u32>,
    pub fork_delay: Option<Duration>,
    pub terminate_delay: Option<Duration>,
    pub full_command: bool,
    #[serde(skip)]
    pub span: Option<Span>,
}

/// Who a BFD instance reports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct BfdTargets {
    pub vrrp: bool,
    pub checker: bool,
}

/// `bfd_instance NAME { ... }` (reference §1.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BfdInstance {
    pub name: String,
    pub neighbor_ip: Option<IpAddr>,
    pub source_ip: Option<IpAddr>,
    /// Default 10 ms.
    pub min_rx: Duration,
    /// Default 10 ms.
    pub min_tx: Duration,
    /// Default 1000 ms.
    pub idle_tx: Duration,
    /// Default 5.
    pub multiplier: u8,
    pub passive: bool,
    /// Default 255.
    pub ttl: u8,
    /// Default 64.
    pub hoplimit: u8,
    pub max_hops: u8,
    pub multihop: bool,
    pub weight: i32,
    pub weight_reverse: bool,
    pub targets: BfdTargets,
    #[serde(skip)]
    pub span: Option<Span>,
}

/// `linkbeat_interfaces { IF [MII|ETHTOOL|IOCTL] }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkbeatInterface {
    pub name: String,
    pub method: LinkbeatMethod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum LinkbeatMethod {
    #[default]
    Mii,
    Ethtool,
    Ioctl,
}

/// `track_group NAME { group { VI ... } }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct TrackGroup {
    pub name: String,
    pub group: Vec<String>,
}

/// `interface_up_down_delays { IF DOWN [UP] }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceDelay {
    pub interface: String,
    pub down: Duration,
    pub up: Duration,
}

/// `garp_group { garp_interval; gna_interval; interface IF | interfaces {} }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct GarpGroup {
    pub garp_interval: Option<Duration>,
    pub gna_interval: Option<Duration>,
    pub interfaces: Vec<String>,
}
