//! Addresses, routes and rules in the `ip addr/route/rule add` syntax
//! (reference §1.6 static_*, §1.8 virtual_*).

use crate::source::Span;
use serde::{Serialize, Serializer};
use std::net::IpAddr;
use std::time::Duration;

/// An address with a prefix length, e.g. `192.168.1.0/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpPrefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl IpPrefix {
    pub fn host(addr: IpAddr) -> Self {
        let len = if addr.is_ipv4() { 32 } else { 128 };
        IpPrefix { addr, len }
    }
    pub fn is_ipv6(&self) -> bool {
        self.addr.is_ipv6()
    }
}

impl std::fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl Serialize for IpPrefix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Inet,
    Inet6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Self {
        if addr.is_ipv4() {
            Family::Inet
        } else {
            Family::Inet6
        }
    }
}

/// `scope` of an address or route: a name from rt_scopes or a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Global,
    Site,
    Link,
    Host,
    Nowhere,
    Other(u8),
}

impl Scope {
    pub fn value(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Other(v) => v,
        }
    }
}

/// `brd` of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Broadcast {
    Address(IpAddr),
    /// `brd +`: host part all ones.
    Plus,
    /// `brd -`: host part all zeros.
    Minus,
}

/// `preferred_lft`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifetime {
    Forever,
    Seconds(u32),
}

/// One line of `static_ipaddress`, `virtual_ipaddress` or
/// `virtual_ipaddress_excluded`:
/// `ADDR[/LEN] [brd ADDR|+|-] [dev IF] [scope S] [label L] [peer ADDR/LEN]
/// [home] [-nodad] [mngtmpaddr] [noprefixroute] [autojoin] [use_vmac]
/// [no_track] [track_group G] [preferred_lft forever|N]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IpAddressSpec {
    /// Address and prefix length (IPv4 default /32, IPv6 /128).
    pub address: IpPrefix,
    pub broadcast: Option<Broadcast>,
    /// `dev`; for VIPs `None` means the instance's interface, for static
    /// addresses `global_defs default_interface`.
    pub dev: Option<String>,
    pub scope: Option<Scope>,
    pub label: Option<String>,
    pub peer: Option<IpPrefix>,
    pub home: bool,
    pub nodad: bool,
    pub mngtmpaddr: bool,
    pub noprefixroute: bool,
    pub autojoin: bool,
    /// `use_vmac`: put the VIP on the instance's VMAC.
    pub use_vmac: bool,
    /// `no_track`: do not go to FAULT if it is removed externally.
    pub no_track: bool,
    pub track_group: Option<String>,
    pub preferred_lft: Option<Lifetime>,
    #[serde(skip)]
    pub span: Option<Span>,
}

impl IpAddressSpec {
    pub fn new(address: IpPrefix) -> Self {
        IpAddressSpec {
            address,
            broadcast: None,
            dev: None,
            scope: None,
            label: None,
            peer: None,
            home: false,
            nodad: false,
            mngtmpaddr: false,
            noprefixroute: false,
            autojoin: false,
            use_vmac: false,
            no_track: false,
            track_group: None,
            preferred_lft: None,
            span: None,
        }
    }
}

/// Kind of route (`ip route` TYPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RouteType {
    #[default]
    Unicast,
    Local,
    Broadcast,
    Multicast,
    Throw,
    Unreachable,
    Prohibit,
    Blackhole,
    Nat,
}

/// A route metric that may be locked (`mtu lock 1400`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Metric<T> {
    pub value: T,
    pub lock: bool,
}

/// One `nexthop via ADDR [dev IF] [weight N] [onlink]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextHop {
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    /// 1..256
    pub weight: Option<u16>,
    pub onlink: bool,
}

/// One line of `static_routes` / `virtual_routes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteSpec {
    pub route_type: RouteType,
    /// Destination; `default` is 0.0.0.0/0 (or ::/0 with `inet6`).
    pub dest: IpPrefix,
    pub src: Option<IpAddr>,
    /// `via`/`gw`.
    pub via: Option<IpAddr>,
    /// keepalived's `or ADDR`: alternative gateway (old syntax).
    pub or_via: Option<IpAddr>,
    pub dev: Option<String>,
    pub table: Option<u32>,
    pub tos: Option<u8>,
    pub protocol: Option<u8>,
    pub scope: Option<Scope>,
    /// `metric`/`priority`/`preference`.
    pub metric: Option<u32>,
    pub mtu: Option<Metric<u32>>,
    pub hoplimit: Option<Metric<u8>>,
    pub advmss: Option<Metric<u32>>,
    pub rtt: Option<Metric<Duration>>,
    pub rttvar: Option<Metric<Duration>>,
    pub reordering: Option<Metric<u32>>,
    pub window: Option<Metric<u32>>,
    pub cwnd: Option<Metric<u32>>,
    pub ssthresh: Option<Metric<u32>>,
    pub realms: Option<u32>,
    pub rto_min: Option<Metric<Duration>>,
    pub initcwnd: Option<Metric<u32>>,
    pub initrwnd: Option<Metric<u32>>,
    pub features_ecn: bool,
    pub quickack: Option<bool>,
    pub congctl: Option<Metric<String>>,
    pub fastopen_no_cookie: Option<bool>,
    pub pref: Option<i8>,
    pub vrf: Option<String>,
    /// `ttl-propagate enabled|disabled` (MPLS).
    pub ttl_propagate: Option<bool>,
    pub nexthops: Vec<NextHop>,
    pub onlink: bool,
    pub append: bool,
    pub no_track: bool,
    pub track_group: Option<String>,
    #[serde(skip)]
    pub span: Option<Span>,
}

impl RouteSpec {
    pub fn new(dest: IpPrefix) -> Self {
        RouteSpec {
            route_type: RouteType::Unicast,
            dest,
            src: None,
            via: None,
            or_via: None,
            dev: None,
            table: None,
            tos: None,
            protocol: None,
            scope: None,
            metric: None,
            mtu: None,
            hoplimit: None,
            advmss: None,
            rtt: None,
            rttvar: None,
            reordering: None,
            window: None,
            cwnd: None,
            ssthresh: None,
            realms: None,
            rto_min: None,
            initcwnd: None,
            initrwnd: None,
            features_ecn: false,
            quickack: None,
            congctl: None,
            fastopen_no_cookie: None,
            pref: None,
            vrf: None,
            ttl_propagate: None,
            nexthops: Vec::new(),
            onlink: false,
            append: false,
            no_track: false,
            track_group: None,
            span: None,
        }
    }
    pub fn family(&self) -> Family {
        Family::of(&self.dest.addr)
    }
}

/// Action of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    #[default]
    /// `table N` / `lookup N`
    Table,
    Goto(u32),
    Nop,
    Blackhole,
    Unreachable,
    Prohibit,
}

/// A port or port range (`sport 1000-2000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PortRange {
    pub start: u16,
    pub end: u16,
}

/// A uid range (`uidrange 1000-2000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UidRange {
    pub start: u32,
    pub end: u32,
}

/// One line of `static_rules` / `virtual_rules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleSpec {
    pub family: Family,
    pub from: Option<IpPrefix>,
    pub to: Option<IpPrefix>,
    pub not: bool,
    pub action: RuleAction,
    pub table: Option<u32>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub tos: Option<u8>,
    pub fwmark: Option<u32>,
    pub fwmask: Option<u32>,
    /// `preference`/`priority`/`order`; keepalived assigns one when absent.
    pub preference: Option<u32>,
    pub realms: Option<u32>,
    pub suppress_prefixlength: Option<i32>,
    pub suppress_ifgroup: Option<u32>,
    pub uidrange: Option<UidRange>,
    pub l3mdev: bool,
    pub protocol: Option<u8>,
    pub ip_proto: Option<u8>,
    pub sport: Option<PortRange>,
    pub dport: Option<PortRange>,
    pub no_track: bool,
    pub track_group: Option<String>,
    #[serde(skip)]
    pub span: Option<Span>,
}

impl RuleSpec {
    pub fn new(family: Family) -> Self {
        RuleSpec {
            family,
            from: None,
            to: None,
            not: false,
            action: RuleAction::Table,
            table: None,
            iif: None,
            oif: None,
            tos: None,
            fwmark: None,
            fwmask: None,
            preference: None,
            realms: None,
            suppress_prefixlength: None,
            suppress_ifgroup: None,
            uidrange: None,
            l3mdev: false,
            protocol: None,
            ip_proto: None,
            sport: None,
            dport: None,
            no_track: false,
            track_group: None,
            span: None,
        }
    }
}
