//! Plain configuration of the load balancer, lowered by the daemon from the
//! parsed model (`kalive-config`'s `model::lvs`). Defaults are already
//! applied there (reference/keepalived-behaviour.md §1.12); nothing here
//! knows about the config file.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// Everything the load balancer needs to know about `virtual_server` blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LbConfig {
    pub services: Vec<ServiceConfig>,
    /// global `rs_init_notifies`: notify real servers found up at start.
    pub rs_init_notifies: bool,
}

/// IP address family of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

/// `protocol TCP|UDP|SCTP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// keepalived's lower-case spelling (`inet_sockaddrtotrio`).
    pub fn lower(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// How a virtual service is named, which is also its identity across
/// reloads: `virtual_server IP [PORT]`, `fwmark N` or `group NAME`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum VsKey {
    /// `port` is `None` for 0 or absent (all ports, persistence forced).
    Ip {
        addr: IpAddr,
        port: Option<u16>,
        protocol: Protocol,
    },
    Fwmark {
        mark: u32,
        family: Family,
    },
    Group {
        name: String,
        protocol: Option<Protocol>,
        family: Family,
    },
}

impl VsKey {
    pub fn protocol(&self) -> Option<Protocol> {
        match self {
            VsKey::Ip { protocol, .. } => Some(*protocol),
            VsKey::Fwmark { .. } => None,
            VsKey::Group { protocol, .. } => *protocol,
        }
    }
}

impl fmt::Display for VsKey {
    /// keepalived's `FMT_VS` (`check_data.c:format_vs`): `[IP]:tcp:80`,
    /// `FWM 7`, `[GROUP]:0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VsKey::Ip {
                addr,
                port,
                protocol,
            } => write!(f, "[{addr}]:{}:{}", protocol.lower(), port.unwrap_or(0)),
            VsKey::Fwmark { mark, .. } => write!(f, "FWM {mark}"),
            VsKey::Group { name, .. } => write!(f, "[{name}]:0"),
        }
    }
}

/// A real (or sorry) server's identity inside its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RsKey {
    pub addr: IpAddr,
    /// `None`: keep the client's destination port.
    pub port: Option<u16>,
}

impl RsKey {
    /// keepalived's `FMT_RS`: the address with the service's protocol
    /// (`none` for a fwmark service without one).
    pub fn display_in(&self, vs: &VsKey) -> String {
        let proto = vs.protocol().map_or("none", Protocol::lower);
        format!("[{}]:{}:{}", self.addr, proto, self.port.unwrap_or(0))
    }
}

/// `lvs_sched` / `lb_algo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

/// Scheduler flags that change what a backend must do.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct SchedulerFlags {
    /// `sh-port` / `mh-port`: hash the source port as well.
    pub hash_port: bool,
    /// `sh-fallback` / `mh-fallback`.
    pub fallback: bool,
    /// `ops`: one-packet scheduling (UDP).
    pub one_packet: bool,
}

/// `lvs_method` / `lb_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Method {
    Nat,
    Dr,
    /// `TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`.
    Tun(Tunnel),
}

/// How a `TUN` real server is reached (keepalived-behaviour.md §1.12).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Tunnel {
    pub kind: TunnelKind,
    pub checksum: TunnelChecksum,
}

/// `type ipip` (the default), `type gue port N`, `type gre`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum TunnelKind {
    #[default]
    Ipip,
    Gue {
        port: u16,
    },
    Gre,
}

/// `nocsum` (the default), `csum`, `remcsum`: checksums of GUE/GRE.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum TunnelChecksum {
    #[default]
    None,
    Checksum,
    Remote,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Nat => "NAT",
            Method::Dr => "DR",
            Method::Tun(_) => "TUN",
        }
    }
}

/// `persistence_granularity`: an IPv4 netmask or an IPv6 prefix length,
/// both kept as a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Persistence {
    pub timeout: Duration,
    /// Client addresses sharing this many leading bits share a server;
    /// `None` means the whole address (32 or 128).
    pub prefix_len: Option<u8>,
}

/// One member of a `virtual_server_group`, or the service's own address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Member {
    /// Inclusive address range (`first == last` for one address); `port`
    /// `None` for all ports.
    Addresses {
        first: IpAddr,
        last: IpAddr,
        port: Option<u16>,
    },
    Fwmark(u32),
}

/// One `virtual_server` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceConfig {
    pub key: VsKey,
    /// What traffic the service takes: its own address, or its group's
    /// addresses, ranges and fwmarks (members of the other family are
    /// dropped by the lowering, as keepalived does).
    pub members: Vec<Member>,
    pub family: Family,
    /// Protocol the members match; `None` for fwmark services.
    pub protocol: Option<Protocol>,
    pub scheduler: Scheduler,
    pub flags: SchedulerFlags,
    pub persistence: Option<Persistence>,
    /// `persistence_engine` (only `sip` exists in the kernel).
    pub persistence_engine: Option<String>,
    /// `quorum` (1) and `hysteresis` (0).
    pub quorum: u32,
    pub hysteresis: u32,
    /// `omega`: run the down notifiers at shutdown.
    pub omega: bool,
    pub sorry_server: Option<SorryServerConfig>,
    pub real_servers: Vec<RealServerConfig>,
}

/// `sorry_server IP [PORT]` with `sorry_server_inhibit` and its method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SorryServerConfig {
    pub key: RsKey,
    pub method: Method,
    pub inhibit: bool,
    /// The weight it gets while in use (keepalived: the service's `weight`).
    pub weight: u32,
}

/// `real_server IP [PORT] { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealServerConfig {
    pub key: RsKey,
    pub weight: u32,
    pub method: Method,
    pub inhibit_on_failure: bool,
    /// `uthreshold` / `lthreshold` (0 = none): connection limits.
    pub upper_threshold: u32,
    pub lower_threshold: u32,
    /// Health at start: false under `alpha` (down until a first success).
    pub initially_alive: bool,
}
