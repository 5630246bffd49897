//! Typed model of the LVS half of keepalived.conf: `SSL`,
//! `virtual_server_group`, `virtual_server`, `real_server` and every checker.
//!
//! Values are stored with keepalived's defaults already applied, the way
//! keepalived's checker process sees them after `validate_check_config()`
//! (reference/keepalived-behaviour.md §1.12 and the appendix):
//!
//! - a virtual server without `protocol` is UDP (with a warning), without a
//!   scheduler is `wlc` (with a warning), without a forwarding method is NAT;
//! - `delay_loop` 60 s and `connect_timeout` 5 s at virtual-server level;
//! - settings flow virtual server → real server → checker; a checker's
//!   `retry`, `delay_before_retry` and `warmup` fall back to its kind's
//!   defaults ([`CheckerKind::default_retry`],
//!   [`CheckerKind::default_delay_before_retry`]) and then to `delay_loop`.
//!
//! Everything is typed: addresses are `IpAddr`, times are `Duration`,
//! schedulers, methods, protocols and checker kinds are enums.

use crate::model::global::GlobalDefs;
use crate::model::vrrp::Script;
use crate::source::Span;
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// keepalived's `KEEPALIVED_DEFAULT_DELAY`: `delay_loop` when not set.
pub const DEFAULT_DELAY_LOOP: Duration = Duration::from_secs(60);
/// Virtual server `connect_timeout` default (`alloc_vs`: 5 * TIMER_HZ).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// `IPVS_SVC_PERSISTENT_TIMEOUT`: `persistence_timeout` given without a value,
/// or forced by a zero port / `persistence_granularity`.
pub const DEFAULT_PERSISTENCE_TIMEOUT: Duration = Duration::from_secs(360);
/// Real server / virtual server weight when not set.
pub const DEFAULT_WEIGHT: u32 = 1;
/// Virtual server quorum when not set.
pub const DEFAULT_QUORUM: u32 = 1;

/// Everything the LVS side of keepalived.conf defines.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LvsConfig {
    /// The top-level `SSL { }` block, if present (an empty block means
    /// "auto-generated SSL context").
    pub ssl: Option<SslConfig>,
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    pub virtual_servers: Vec<VirtualServer>,
}

impl LvsConfig {
    /// The virtual server group called `name`.
    pub fn group(&self, name: &str) -> Option<&VirtualServerGroup> {
        self.virtual_server_groups.iter().find(|g| g.name == name)
    }

    /// True when keepalived would start its checker (LVS) process.
    pub fn is_empty(&self) -> bool {
        self.ssl.is_none()
            && self.virtual_server_groups.is_empty()
            && self.virtual_servers.is_empty()
    }
}

/// `SSL { password; ca; certificate; key }`, used by `SSL_GET`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SslConfig {
    pub password: Option<String>,
    pub ca: Option<String>,
    pub certificate: Option<String>,
    pub key: Option<String>,
}

impl SslConfig {
    /// keepalived generates its own context when nothing is given.
    pub fn is_autogen(&self) -> bool {
        self.password.is_none()
            && self.ca.is_none()
            && self.certificate.is_none()
            && self.key.is_none()
    }
}

/// Address family, as `ip_family inet|inet6` and `fwmark N inet|inet6` spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IpFamily {
    Inet,
    Inet6,
}

impl IpFamily {
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => IpFamily::Inet,
            IpAddr::V6(_) => IpFamily::Inet6,
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "inet" => Some(IpFamily::Inet),
            "inet6" => Some(IpFamily::Inet6),
            _ => None,
        }
    }
}

/// `virtual_server_group NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualServerGroup {
    pub name: String,
    #[serde(skip)]
    pub span: Option<Span>,
    /// Address and range entries, in file order.
    pub addresses: Vec<VsgAddressEntry>,
    /// `fwmark N [inet|inet6]` entries, in file order.
    pub fwmarks: Vec<VsgFwmarkEntry>,
}

impl VirtualServerGroup {
    pub fn has_family(&self, family: IpFamily) -> bool {
        self.addresses.iter().any(|a| a.range.family() == family)
            || self.fwmarks.iter().any(|f| f.family == Some(family))
    }
}

/// One `IP [PORT]`, `IP-RANGE [PORT]` or `CIDR [PORT]` line of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VsgAddressEntry {
    pub range: IpRange,
    /// `None` when absent or 0 (keepalived then forces persistence).
    pub port: Option<u16>,
}

/// One `fwmark N [inet|inet6]` line of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VsgFwmarkEntry {
    pub mark: u32,
    pub family: Option<IpFamily>,
}

/// An inclusive address range; a single address has `first == last`.
///
/// keepalived accepts `a.b.c.d-e` (last octet; for IPv6 the last 16-bit group
/// in hex, `ae00::2-9`), `first-last` with two full addresses, and CIDR
/// `a.b.c.d/nn` (host bits must be zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IpRange {
    pub first: IpAddr,
    pub last: IpAddr,
}

impl IpRange {
    pub fn single(addr: IpAddr) -> Self {
        IpRange {
            first: addr,
            last: addr,
        }
    }

    pub fn family(&self) -> IpFamily {
        IpFamily::of(&self.first)
    }

    /// Number of addresses in the range (saturating).
    pub fn len(&self) -> u128 {
        match (self.first, self.last) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                u128::from(u32::from(b).saturating_sub(u32::from(a))) + 1
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => u128::from(b)
                .saturating_sub(u128::from(a))
                .saturating_add(1),
            _ => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, addr: &IpAddr) -> bool {
        match (self.first, self.last, addr) {
            (IpAddr::V4(a), IpAddr::V4(b), IpAddr::V4(x)) => (a..=b).contains(x),
            (IpAddr::V6(a), IpAddr::V6(b), IpAddr::V6(x)) => (a..=b).contains(x),
            _ => false,
        }
    }
}

/// What `virtual_server` is followed by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VsAddress {
    /// `virtual_server IP [PORT]`; `port` is `None` for 0 or absent.
    Ip { addr: IpAddr, port: Option<u16> },
    /// `virtual_server fwmark N`.
    Fwmark { mark: u32 },
    /// `virtual_server group NAME`.
    Group { name: String },
}

impl std::fmt::Display for VsAddress {
    /// keepalived's `FMT_VS` spelling minus the protocol: `[IP]:PORT`,
    /// `FWM N`, `[GROUP]:0`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VsAddress::Ip { addr, port } => write!(f, "[{addr}]:{}", port.unwrap_or(0)),
            VsAddress::Fwmark { mark } => write!(f, "FWM {mark}"),
            VsAddress::Group { name } => write!(f, "[{name}]:0"),
        }
    }
}

/// IPVS schedulers keepalived accepts (`lvs_sched` / `lb_algo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    Wlc,
    Lblc,
    Sh,
    Mh,
    Dh,
    Fo,
    Ovf,
    Lblcr,
    Sed,
    Nq,
    Twos,
}

impl Scheduler {
    /// keepalived's `IPVS_DEF_SCHED`, applied with a warning.
    pub const DEFAULT: Scheduler = Scheduler::Wlc;

    pub const ALL: [Scheduler; 14] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Sh,
        Scheduler::Mh,
        Scheduler::Dh,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Lblcr,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Twos,
    ];

    /// Exact, case-sensitive match as keepalived's `lbalgo_handler` does.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == word)
    }

    pub fn name(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Sh => "sh",
            Scheduler::Mh => "mh",
            Scheduler::Dh => "dh",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Twos => "twos",
        }
    }
}

impl std::fmt::Display for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Scheduler and service flags (`flag-1`, `sh-port`, `ops`, ...), each a
/// keyword of its own inside `virtual_server`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SchedulerFlags {
    /// `hashed`: accepted for compatibility; the kernel ignores it.
    pub hashed: bool,
    /// `flag-1` (the kernel's IP_VS_SVC_F_SCHED1).
    pub flag_1: bool,
    pub flag_2: bool,
    pub flag_3: bool,
    /// `sh-port` (same bit as flag-2; only with `sh`).
    pub sh_port: bool,
    /// `sh-fallback` (same bit as flag-1; only with `sh`).
    pub sh_fallback: bool,
    /// `mh-port` (only with `mh`).
    pub mh_port: bool,
    /// `mh-fallback` (only with `mh`).
    pub mh_fallback: bool,
    /// `ops`: one-packet scheduling, UDP only (reset with a warning otherwise).
    pub one_packet: bool,
}

/// `lvs_method` / `lb_kind` / `sorry_server_lvs_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "method", rename_all = "UPPERCASE")]
pub enum ForwardingMethod {
    Nat,
    Dr,
    Tun(Tunnel),
}

impl ForwardingMethod {
    pub fn name(&self) -> &'static str {
        match self {
            ForwardingMethod::Nat => "NAT",
            ForwardingMethod::Dr => "DR",
            ForwardingMethod::Tun(_) => "TUN",
        }
    }

    pub fn is_tunnel(&self) -> bool {
        matches!(self, ForwardingMethod::Tun(_))
    }
}

/// `TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tunnel {
    pub kind: TunnelKind,
    pub checksum: TunnelChecksum,
}

impl Default for Tunnel {
    fn default() -> Self {
        Tunnel {
            kind: TunnelKind::Ipip,
            checksum: TunnelChecksum::NoCsum,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TunnelKind {
    Ipip,
    /// GUE needs a UDP port.
    Gue {
        port: u16,
    },
    Gre,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelChecksum {
    NoCsum,
    Csum,
    RemCsum,
}

/// `protocol TCP|UDP|SCTP` (case-insensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn parse(word: &str) -> Option<Self> {
        match word.to_ascii_uppercase().as_str() {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    /// keepalived's lower-case spelling in `FMT_VS` (`[ip]:tcp:port`).
    pub fn lower(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// `persistence_granularity`: an IPv4 netmask, or an IPv6 prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PersistenceGranularity {
    V4Mask(Ipv4Addr),
    V6Prefix(u8),
}

/// `virtual_server IP [PORT] | fwmark N | group NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VirtualServer {
    pub address: VsAddress,
    #[serde(skip)]
    pub span: Option<Span>,
    /// Which defaults the file did not override (for validation warnings).
    #[serde(skip)]
    pub(crate) explicit: VsExplicit,
    /// MISC_CHECK scripts of real servers dropped for their address family:
    /// keepalived 2.2.7 keeps their checkers queued, so they still count for
    /// script security.
    #[serde(skip)]
    pub(crate) dropped_misc_scripts: Vec<Script>,
    /// Resolved family: from the address, or from `ip_family`, the sorry
    /// server or the real servers (fwmark/group services), else IPv4.
    pub family: Option<IpFamily>,
    /// `protocol`; `None` only for fwmark services, where keepalived ignores
    /// it (with a warning if set). Address services without it are UDP.
    pub protocol: Option<Protocol>,
    pub scheduler: Scheduler,
    pub flags: SchedulerFlags,
    /// Default forwarding method of the real servers (NAT when not set).
    pub method: ForwardingMethod,
    /// `persistence_timeout` in whole seconds; `None` when not persistent.
    pub persistence_timeout: Option<Duration>,
    pub persistence_granularity: Option<PersistenceGranularity>,
    /// `persistence_engine` (only `sip` exists in the kernel).
    pub persistence_engine: Option<String>,
    pub ha_suspend: bool,
    pub virtualhost: Option<String>,
    pub snmp_name: Option<String>,
    /// `smtp_alert` as written; when `None` keepalived uses global
    /// `smtp_alert_checker`, then `smtp_alert`, then false.
    pub smtp_alert: Option<bool>,
    pub alpha: bool,
    pub omega: bool,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<Script>,
    pub quorum_down: Option<Script>,
    /// Default weight of real servers without `weight`.
    pub weight: u32,
    pub sorry_server: Option<SorryServer>,
    pub connect_timeout: Duration,
    pub delay_loop: Duration,
    /// `None`: the checker kind's default applies.
    pub retry: Option<u32>,
    /// `None`: the checker kind's default applies.
    pub delay_before_retry: Option<Duration>,
    /// `None`: the checker's `delay_loop` applies.
    pub warmup: Option<Duration>,
    pub inhibit_on_failure: bool,
    pub real_servers: Vec<RealServer>,
}

impl VirtualServer {
    /// A virtual server with keepalived's `alloc_vs` defaults. The scheduler,
    /// protocol and method are filled with their defaults here; the parser
    /// warns when the file did not set them.
    pub fn new(address: VsAddress) -> Self {
        let family = match &address {
            VsAddress::Ip { addr, .. } => Some(IpFamily::of(addr)),
            _ => None,
        };
        VirtualServer {
            address,
            span: None,
            explicit: VsExplicit::default(),
            dropped_misc_scripts: Vec::new(),
            family,
            protocol: None,
            scheduler: Scheduler::DEFAULT,
            flags: SchedulerFlags::default(),
            method: ForwardingMethod::Nat,
            persistence_timeout: None,
            persistence_granularity: None,
            persistence_engine: None,
            ha_suspend: false,
            virtualhost: None,
            snmp_name: None,
            smtp_alert: None,
            alpha: false,
            omega: false,
            quorum: DEFAULT_QUORUM,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            weight: DEFAULT_WEIGHT,
            sorry_server: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            delay_loop: DEFAULT_DELAY_LOOP,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            inhibit_on_failure: false,
            real_servers: Vec::new(),
        }
    }

    pub fn is_fwmark(&self) -> bool {
        matches!(self.address, VsAddress::Fwmark { .. })
    }

    /// Every checker of every real server, with its real server.
    pub fn checkers(&self) -> impl Iterator<Item = (&RealServer, &Checker)> {
        self.real_servers
            .iter()
            .flat_map(|rs| rs.checkers.iter().map(move |c| (rs, c)))
    }

    /// Σ weights of the real servers, what keepalived compares quorum with.
    pub fn total_weight(&self) -> u64 {
        self.real_servers
            .iter()
            .map(|rs| u64::from(rs.weight))
            .sum()
    }

    /// Whether quorum changes send mail: `smtp_alert` here, else global
    /// `smtp_alert_checker`, else global `smtp_alert`, else false
    /// (keepalived's `validate_check_config`).
    pub fn effective_smtp_alert(&self, global: &GlobalDefs) -> bool {
        self.smtp_alert
            .or(global.smtp_alert_checker)
            .or(global.smtp_alert)
            .unwrap_or(false)
    }

    /// The `Host:` an HTTP/SSL check sends for `url`: the url's
    /// `virtualhost`, else the checker's, the real server's, the virtual
    /// server's (man keepalived.conf).
    pub fn virtualhost_for<'a>(
        &'a self,
        rs: &'a RealServer,
        check: &'a HttpCheck,
        url: &'a UrlCheck,
    ) -> Option<&'a str> {
        url.virtualhost
            .as_deref()
            .or(check.virtualhost.as_deref())
            .or(rs.virtualhost.as_deref())
            .or(self.virtualhost.as_deref())
    }
}

/// Parse-time facts validation needs: which defaults were not overridden.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct VsExplicit {
    pub(crate) scheduler: bool,
    pub(crate) method: bool,
}

/// `sorry_server IP [PORT]` with `sorry_server_inhibit` and
/// `sorry_server_lvs_method`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SorryServer {
    pub addr: IpAddr,
    #[serde(skip)]
    pub(crate) method_set: bool,
    pub port: Option<u16>,
    pub inhibit: bool,
    /// Defaults to the virtual server's method.
    pub method: ForwardingMethod,
}

/// `real_server IP [PORT] { ... }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RealServer {
    pub addr: IpAddr,
    #[serde(skip)]
    pub span: Option<Span>,
    /// Whether `lvs_method` was given in this block (else the virtual
    /// server's method applies, decided at validation).
    #[serde(skip)]
    pub(crate) method_set: bool,
    /// The port; keepalived fills it from the virtual server when absent
    /// (non-fwmark services) and clears it for non-NAT fwmark services.
    pub port: Option<u16>,
    /// `weight` (0..=IPVS limit), else the virtual server's `weight`.
    pub weight: u32,
    /// Defaults to the virtual server's method.
    pub method: ForwardingMethod,
    pub inhibit_on_failure: bool,
    pub alpha: bool,
    pub notify_up: Option<Script>,
    pub notify_down: Option<Script>,
    /// `uthreshold`: connection upper limit (0 = none).
    pub uthreshold: u32,
    /// `lthreshold`: connection lower limit (0 = none).
    pub lthreshold: u32,
    /// As written; `None` means global `smtp_alert_checker`, then
    /// `smtp_alert`, then **true** (keepalived's backward-compatible default).
    pub smtp_alert: Option<bool>,
    pub virtualhost: Option<String>,
    pub snmp_name: Option<String>,
    pub connect_timeout: Duration,
    pub delay_loop: Duration,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<Duration>,
    pub warmup: Option<Duration>,
    pub checkers: Vec<Checker>,
}

impl RealServer {
    /// Whether state changes send mail: `smtp_alert` here, else global
    /// `smtp_alert_checker`, else global `smtp_alert`, else **true** (kept
    /// by keepalived for backward compatibility).
    pub fn effective_smtp_alert(&self, global: &GlobalDefs) -> bool {
        self.smtp_alert
            .or(global.smtp_alert_checker)
            .or(global.smtp_alert)
            .unwrap_or(true)
    }

    /// A real server inheriting everything from `vs` (keepalived's
    /// `alloc_rs` plus the defaults copied in `validate_check_config`).
    pub fn new(addr: IpAddr, port: Option<u16>, vs: &VirtualServer) -> Self {
        RealServer {
            addr,
            span: None,
            method_set: false,
            port,
            weight: vs.weight,
            method: vs.method,
            inhibit_on_failure: vs.inhibit_on_failure,
            alpha: vs.alpha,
            notify_up: None,
            notify_down: None,
            uthreshold: 0,
            lthreshold: 0,
            smtp_alert: None,
            virtualhost: None,
            snmp_name: None,
            connect_timeout: vs.connect_timeout,
            delay_loop: vs.delay_loop,
            retry: vs.retry,
            delay_before_retry: vs.delay_before_retry,
            warmup: vs.warmup,
            checkers: Vec::new(),
        }
    }
}

/// One health checker block inside a `real_server`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checker {
    pub kind: CheckerKind,
    #[serde(skip)]
    pub span: Option<Span>,
    /// The block's closing brace (where keepalived's end handler reports).
    #[serde(skip)]
    pub end_span: Option<Span>,
    /// Where to connect; `None` for kinds without connection keywords
    /// (MISC_CHECK, FILE_CHECK, BFD_CHECK).
    pub connection: Option<Connection>,
    /// Resolved timing; `None` for kinds that are not polled
    /// (FILE_CHECK, BFD_CHECK).
    pub timing: Option<CheckerTiming>,
    pub log_all_failures: bool,
}

impl Checker {
    /// Where the probe goes: `connect_ip`/`connect_port`, else the real
    /// server's address and port. `None` for kinds without a connection.
    pub fn target(&self, rs: &RealServer) -> Option<(IpAddr, Option<u16>)> {
        let c = self.connection.as_ref()?;
        Some((c.connect_ip.unwrap_or(rs.addr), c.connect_port.or(rs.port)))
    }
}

/// Generic connection options (`check_api.c`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Connection {
    /// `connect_ip`, default the real server address.
    pub connect_ip: Option<IpAddr>,
    /// `connect_port`, default the real server port.
    pub connect_port: Option<u16>,
    pub bindto: Option<IpAddr>,
    pub bind_port: Option<u16>,
    pub bind_if: Option<String>,
    /// SO_MARK for the checker's packets.
    pub fwmark: Option<u32>,
    /// Resolved: checker, else real server, else virtual server (5 s).
    pub connect_timeout: Duration,
}

/// Polling parameters of a checker after inheritance (keepalived's
/// `validate_check_config`, reference §1.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CheckerTiming {
    pub alpha: bool,
    pub retry: u32,
    pub delay_before_retry: Duration,
    /// Upper bound of the random delay before the first check.
    pub warmup: Duration,
    pub delay_loop: Duration,
}

/// The checker kinds and their specific settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum CheckerKind {
    #[serde(rename = "HTTP_GET")]
    HttpGet(HttpCheck),
    #[serde(rename = "SSL_GET")]
    SslGet(HttpCheck),
    #[serde(rename = "TCP_CHECK")]
    Tcp,
    #[serde(rename = "SMTP_CHECK")]
    Smtp(SmtpCheck),
    #[serde(rename = "DNS_CHECK")]
    Dns(DnsCheck),
    #[serde(rename = "MISC_CHECK")]
    Misc(MiscCheck),
    #[serde(rename = "UDP_CHECK")]
    Udp(UdpCheck),
    #[serde(rename = "PING_CHECK")]
    Ping,
    #[serde(rename = "FILE_CHECK")]
    File(FileCheck),
    #[serde(rename = "BFD_CHECK")]
    Bfd(BfdCheck),
}

impl CheckerKind {
    /// The block keyword.
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckerKind::HttpGet(_) => "HTTP_GET",
            CheckerKind::SslGet(_) => "SSL_GET",
            CheckerKind::Tcp => "TCP_CHECK",
            CheckerKind::Smtp(_) => "SMTP_CHECK",
            CheckerKind::Dns(_) => "DNS_CHECK",
            CheckerKind::Misc(_) => "MISC_CHECK",
            CheckerKind::Udp(_) => "UDP_CHECK",
            CheckerKind::Ping => "PING_CHECK",
            CheckerKind::File(_) => "FILE_CHECK",
            CheckerKind::Bfd(_) => "BFD_CHECK",
        }
    }

    /// `retry` when neither checker nor real/virtual server sets it:
    /// DNS 3, MISC 0, everything else 1 (man keepalived.conf).
    pub fn default_retry(&self) -> u32 {
        match self {
            CheckerKind::Dns(_) => 3,
            CheckerKind::Misc(_) => 0,
            _ => 1,
        }
    }

    /// `delay_before_retry` when not set anywhere: HTTP/SSL 3 s, DNS
    /// `delay_loop` (`None`), everything else 1 s.
    pub fn default_delay_before_retry(&self) -> Option<Duration> {
        match self {
            CheckerKind::HttpGet(_) | CheckerKind::SslGet(_) => Some(Duration::from_secs(3)),
            CheckerKind::Dns(_) => None,
            _ => Some(Duration::from_secs(1)),
        }
    }

    /// Whether the generic connection keywords exist for this kind.
    pub fn has_connection(&self) -> bool {
        !matches!(
            self,
            CheckerKind::Misc(_) | CheckerKind::File(_) | CheckerKind::Bfd(_)
        )
    }
}

/// `http_protocol 1.0|1.0C|1.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum HttpProtocol {
    #[default]
    #[serde(rename = "1.0")]
    Http10,
    /// 1.0 plus `Connection: close`.
    #[serde(rename = "1.0C")]
    Http10Close,
    #[serde(rename = "1.1")]
    Http11,
}

/// `HTTP_GET { ... }` / `SSL_GET { ... }`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct HttpCheck {
    pub http_protocol: HttpProtocol,
    pub fast_recovery: bool,
    /// Checker-level `virtualhost`; falls back to the real server's, then
    /// the virtual server's.
    pub virtualhost: Option<String>,
    /// `enable_sni` (SSL_GET).
    pub enable_sni: bool,
    pub urls: Vec<UrlCheck>,
}

/// `url { path; digest; status_code; virtualhost; regex... }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UrlCheck {
    pub path: String,
    /// MD5 digest of the body, from `digest` (serialised as hex, as written).
    #[serde(serialize_with = "serialize_digest")]
    pub digest: Option<[u8; 16]>,
    /// Accepted status codes; keepalived's default is 200-299.
    pub status_codes: Vec<StatusRange>,
    pub virtualhost: Option<String>,
    pub regex: Option<String>,
    pub regex_no_match: bool,
    pub regex_options: Vec<String>,
    pub regex_stack: Option<(u32, u32)>,
    pub regex_min_offset: Option<u32>,
    pub regex_max_offset: Option<u32>,
}

impl UrlCheck {
    pub fn new(path: String) -> Self {
        UrlCheck {
            path,
            digest: None,
            status_codes: Vec::new(),
            virtualhost: None,
            regex: None,
            regex_no_match: false,
            regex_options: Vec::new(),
            regex_stack: None,
            regex_min_offset: None,
            regex_max_offset: None,
        }
    }

    /// Whether `code` passes this url's status check (default 200-299).
    pub fn accepts_status(&self, code: u16) -> bool {
        if self.status_codes.is_empty() {
            return (200..=299).contains(&code);
        }
        self.status_codes.iter().any(|r| r.contains(code))
    }
}

fn serialize_digest<S: serde::Serializer>(d: &Option<[u8; 16]>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(bytes) => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            s.serialize_some(&hex)
        }
        None => s.serialize_none(),
    }
}

/// An inclusive HTTP status code range (`200`, `200-299`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatusRange {
    pub first: u16,
    pub last: u16,
}

impl StatusRange {
    pub fn contains(&self, code: u16) -> bool {
        (self.first..=self.last).contains(&code)
    }
}

/// `SMTP_CHECK { helo_name ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmtpCheck {
    /// `helo_name`, default [`SmtpCheck::DEFAULT_HELO`]. Each deprecated
    /// `host { }` block becomes a checker of its own, as in keepalived.
    pub helo_name: String,
}

impl SmtpCheck {
    /// keepalived's `SMTP_DEFAULT_HELO`.
    pub const DEFAULT_HELO: &'static str = "smtpchecker.keepalived.org";
}

/// DNS query types `DNS_CHECK` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DnsType {
    A,
    Ns,
    Cname,
    #[default]
    Soa,
    Mx,
    Txt,
    Aaaa,
}

impl DnsType {
    pub fn parse(word: &str) -> Option<Self> {
        match word.to_ascii_uppercase().as_str() {
            "A" => Some(DnsType::A),
            "NS" => Some(DnsType::Ns),
            "CNAME" => Some(DnsType::Cname),
            "SOA" => Some(DnsType::Soa),
            "MX" => Some(DnsType::Mx),
            "TXT" => Some(DnsType::Txt),
            "AAAA" => Some(DnsType::Aaaa),
            _ => None,
        }
    }
}

/// `DNS_CHECK { type; name }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsCheck {
    pub query_type: DnsType,
    /// Query name, default `.`.
    pub name: String,
}

impl Default for DnsCheck {
    fn default() -> Self {
        DnsCheck {
            query_type: DnsType::Soa,
            name: ".".to_string(),
        }
    }
}

/// `MISC_CHECK { misc_path; misc_timeout; misc_dynamic; user }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MiscCheck {
    /// `misc_path` split into argv, with `user USER [GROUP]` if given.
    pub script: Script,
    /// `misc_timeout`; `None` means the checker's `delay_loop`.
    pub timeout: Option<Duration>,
    /// Exit codes 2..=255 set the weight to code − 2.
    pub dynamic: bool,
}

/// `UDP_CHECK { payload; require_reply; min/max_reply_length }`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct UdpCheck {
    /// Bytes sent; `None` means a random payload.
    pub payload: Option<Vec<u8>>,
    /// `require_reply`, possibly with a pattern.
    pub require_reply: Option<ReplyPattern>,
    pub min_reply_length: u16,
    pub max_reply_length: u16,
}

/// A `require_reply` hex string; `X` nibbles are "don't care" (mask 0).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ReplyPattern {
    pub bytes: Vec<u8>,
    /// Per byte: bits that must match.
    pub mask: Vec<u8>,
}

impl ReplyPattern {
    /// Whether `reply` matches up to the shorter of the two lengths.
    pub fn matches(&self, reply: &[u8]) -> bool {
        self.bytes
            .iter()
            .zip(&self.mask)
            .zip(reply)
            .all(|((b, m), r)| (b & m) == (r & m))
    }
}

/// `FILE_CHECK { track_file; dynamic; weight W [reverse] }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileCheck {
    /// Name of a top-level `track_file` block.
    pub track_file: String,
    /// `dynamic` (newer keepalived; 2.2.7 reports it as an unknown keyword,
    /// so it stays false).
    pub dynamic: bool,
    /// Multiplier for the value read; defaults to the `track_file`
    /// block's own weight (and its `reverse`).
    pub weight: i32,
    pub reverse: bool,
}

/// `BFD_CHECK { name; alpha }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BfdCheck {
    pub name: String,
    /// Start DOWN until the BFD session is up (checker, else real server).
    pub alpha: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_names_round_trip() {
        for s in Scheduler::ALL {
            assert_eq!(Scheduler::parse(s.name()), Some(s));
        }
        assert_eq!(Scheduler::parse("WRR"), None);
    }

    #[test]
    fn ip_range_len_and_contains() {
        let r = IpRange {
            first: "192.168.200.3".parse().unwrap(),
            last: "192.168.200.10".parse().unwrap(),
        };
        assert_eq!(r.len(), 8);
        assert!(r.contains(&"192.168.200.7".parse().unwrap()));
        assert!(!r.contains(&"192.168.200.11".parse().unwrap()));
    }

    #[test]
    fn reply_pattern_masks_nibbles() {
        let p = ReplyPattern {
            bytes: vec![0xab, 0x10],
            mask: vec![0xff, 0xf0],
        };
        assert!(p.matches(&[0xab, 0x1f, 0x99]));
        assert!(!p.matches(&[0xab, 0x2f]));
    }

    #[test]
    fn url_default_status_is_2xx() {
        let u = UrlCheck::new("/".into());
        assert!(u.accepts_status(204));
        assert!(!u.accepts_status(301));
    }
}
