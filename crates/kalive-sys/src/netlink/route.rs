//! Routes: add, delete, list (`virtual_routes`, `static_routes`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteProtocol,
    RouteScope as NlRouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};

use super::{Netlink, Scope};
use crate::error::{Result, SysError};
use crate::vrrp_socket::Family;

/// `RTPROT_KEEPALIVED`: the protocol number keepalived stamps on the routes
/// it installs; kalive does the same, so that routes left by a crashed run
/// can be found (and `ip route show proto keepalived` shows them).
pub const RTPROT_KEEPALIVED: u8 = 18;

/// The main routing table.
pub const TABLE_MAIN: u32 = 254;

/// Route type (`ip route add TYPE …`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum RouteKind {
    /// A normal route.
    #[default]
    Unicast,
    /// `local`.
    Local,
    /// `broadcast`.
    Broadcast,
    /// `anycast`.
    Anycast,
    /// `multicast`.
    Multicast,
    /// `blackhole`: silently discard.
    Blackhole,
    /// `unreachable`: ICMP host unreachable.
    Unreachable,
    /// `prohibit`: ICMP administratively prohibited.
    Prohibit,
    /// `throw`: continue with the next rule.
    Throw,
    /// `nat` (obsolete).
    Nat,
    /// Anything else.
    Other(u8),
}

impl RouteKind {
    fn to_netlink(self) -> RouteType {
        match self {
            RouteKind::Unicast => RouteType::Unicast,
            RouteKind::Local => RouteType::Local,
            RouteKind::Broadcast => RouteType::Broadcast,
            RouteKind::Anycast => RouteType::Anycast,
            RouteKind::Multicast => RouteType::Multicast,
            RouteKind::Blackhole => RouteType::BlackHole,
            RouteKind::Unreachable => RouteType::Unreachable,
            RouteKind::Prohibit => RouteType::Prohibit,
            RouteKind::Throw => RouteType::Throw,
            RouteKind::Nat => RouteType::Nat,
            RouteKind::Other(n) => RouteType::from(n),
        }
    }

    fn from_netlink(kind: RouteType) -> RouteKind {
        match kind {
            RouteType::Unicast => RouteKind::Unicast,
            RouteType::Local => RouteKind::Local,
            RouteType::Broadcast => RouteKind::Broadcast,
            RouteType::Anycast => RouteKind::Anycast,
            RouteType::Multicast => RouteKind::Multicast,
            RouteType::BlackHole => RouteKind::Blackhole,
            RouteType::Unreachable => RouteKind::Unreachable,
            RouteType::Prohibit => RouteKind::Prohibit,
            RouteType::Throw => RouteKind::Throw,
            RouteType::Nat => RouteKind::Nat,
            other => RouteKind::Other(u8::from(other)),
        }
    }
}

/// Kept for readers who look for a route scope type; routes and addresses
/// share [`Scope`].
pub type RouteScope = Scope;

/// A route (`ip route add [TYPE] DST/LEN [via GW] [dev IF] [src S]
/// [table T] [metric M] [scope SC] [proto P] [onlink] [tos TOS]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Destination network.
    pub dst: IpAddr,
    /// Destination prefix length (0 for `default`).
    pub dst_len: u8,
    /// Gateway (`via`), same family as `dst`.
    pub via: Option<IpAddr>,
    /// Output interface index (`dev`).
    pub dev: Option<u32>,
    /// Preferred source address (`src`).
    pub src: Option<IpAddr>,
    /// Table number (254 = main).
    pub table: u32,
    /// Metric / priority.
    pub metric: Option<u32>,
    /// Scope; None lets kalive pick iproute2's default (host for local,
    /// link for a unicast route without gateway, global otherwise).
    pub scope: Option<Scope>,
    /// Route type.
    pub kind: RouteKind,
    /// Routing protocol number ([`RTPROT_KEEPALIVED`] by default).
    pub protocol: u8,
    /// `onlink`: the gateway is on the link even if no prefix says so.
    pub onlink: bool,
    /// TOS selector.
    pub tos: u8,
}

impl Route {
    /// A unicast route to `dst/dst_len` in the main table, protocol
    /// keepalived; set the other fields as needed.
    pub fn new(dst: IpAddr, dst_len: u8) -> Route {
        Route {
            dst,
            dst_len,
            via: None,
            dev: None,
            src: None,
            table: TABLE_MAIN,
            metric: None,
            scope: None,
            kind: RouteKind::Unicast,
            protocol: RTPROT_KEEPALIVED,
            onlink: false,
            tos: 0,
        }
    }

    /// Family of the destination.
    pub fn family(&self) -> Family {
        Family::of(self.dst)
    }

    fn check(&self) -> Result<()> {
        let family = self.family();
        let mismatched = [self.via, self.src]
            .into_iter()
            .flatten()
            .any(|addr| Family::of(addr) != family);
        if mismatched {
            return Err(SysError::Invalid(format!(
                "route {}/{}: gateway and source must be of the destination's family",
                self.dst, self.dst_len
            )));
        }
        Ok(())
    }

    /// iproute2's default scope for a route being added.
    fn scope_for_add(&self) -> Scope {
        if let Some(scope) = self.scope {
            return scope;
        }
        match self.kind {
            RouteKind::Local | RouteKind::Nat => Scope::Host,
            RouteKind::Broadcast | RouteKind::Multicast | RouteKind::Anycast => Scope::Link,
            RouteKind::Unicast if self.via.is_none() => Scope::Link,
            _ => Scope::Global,
        }
    }

    fn to_message(&self, deleting: bool) -> RouteMessage {
        let mut message = RouteMessage::default();
        let header = &mut message.header;
        header.address_family = address_family(self.family());
        header.destination_prefix_length = self.dst_len;
        header.tos = self.tos;
        header.table = u8::try_from(self.table).unwrap_or(0);
        header.protocol = RouteProtocol::from(self.protocol);
        // Deleting with scope "nowhere" matches a route of any scope.
        let scope = match (deleting, self.scope) {
            (true, None) => Scope::Nowhere,
            _ => self.scope_for_add(),
        };
        header.scope = NlRouteScope::from(scope.to_u8());
        header.kind = self.kind.to_netlink();
        if self.onlink {
            header.flags = RouteFlags::Onlink;
        }
        let attributes = &mut message.attributes;
        attributes.push(RouteAttribute::Table(self.table));
        if self.dst_len > 0 {
            attributes.push(RouteAttribute::Destination(RouteAddress::from(self.dst)));
        }
        if let Some(via) = self.via {
            attributes.push(RouteAttribute::Gateway(RouteAddress::from(via)));
        }
        if let Some(dev) = self.dev {
            attributes.push(RouteAttribute::Oif(dev));
        }
        if let Some(src) = self.src {
            attributes.push(RouteAttribute::PrefSource(RouteAddress::from(src)));
        }
        if let Some(metric) = self.metric {
            attributes.push(RouteAttribute::Priority(metric));
        }
        message
    }

    fn from_message(message: &RouteMessage) -> Option<Route> {
        let header = &message.header;
        let family = match header.address_family {
            AddressFamily::Inet => Family::V4,
            AddressFamily::Inet6 => Family::V6,
            _ => return None,
        };
        let mut route = Route {
            dst: unspecified(family),
            dst_len: header.destination_prefix_length,
            via: None,
            dev: None,
            src: None,
            table: u32::from(header.table),
            metric: None,
            scope: Some(Scope::from_u8(u8::from(header.scope))),
            kind: RouteKind::from_netlink(header.kind),
            protocol: u8::from(header.protocol),
            onlink: header.flags.contains(RouteFlags::Onlink),
            tos: header.tos,
        };
        for attribute in &message.attributes {
            match attribute {
                RouteAttribute::Destination(addr) => route.dst = ip_of(addr)?,
                RouteAttribute::Gateway(addr) => route.via = ip_of(addr),
                RouteAttribute::PrefSource(addr) => route.src = ip_of(addr),
                RouteAttribute::Oif(dev) => route.dev = Some(*dev),
                RouteAttribute::Priority(metric) => route.metric = Some(*metric),
                RouteAttribute::Table(table) => route.table = *table,
                _ => {}
            }
        }
        Some(route)
    }

    fn describe(&self) -> String {
        format!(
            "{:?} {}/{} table {}",
            self.kind, self.dst, self.dst_len, self.table
        )
    }
}

fn address_family(family: Family) -> AddressFamily {
    match family {
        Family::V4 => AddressFamily::Inet,
        Family::V6 => AddressFamily::Inet6,
    }
}

fn unspecified(family: Family) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

fn ip_of(addr: &RouteAddress) -> Option<IpAddr> {
    match addr {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

impl Netlink {
    /// Adds a route; fails with [`crate::SysError::is_already_exists`] if
    /// an identical one exists.
    pub async fn add_route(&self, route: &Route) -> Result<()> {
        route.check()?;
        self.change(
            format!("add route {}", route.describe()),
            RouteNetlinkMessage::NewRoute(route.to_message(false)),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .await
    }

    /// Adds a route in front of those with the same key (`ip route
    /// prepend`: `NLM_F_CREATE` without `NLM_F_EXCL`), as keepalived adds
    /// its virtual and static routes (vrrp_iproute.c, netlink_route). A
    /// route to a connected prefix (`192.168.1.0/24 via 192.168.1.1 dev
    /// eth1`) then sits beside the kernel's own route instead of failing
    /// with EEXIST; only an identical route still fails with
    /// [`crate::SysError::is_already_exists`].
    pub async fn prepend_route(&self, route: &Route) -> Result<()> {
        route.check()?;
        self.change(
            format!("add route {}", route.describe()),
            RouteNetlinkMessage::NewRoute(route.to_message(false)),
            NLM_F_CREATE,
        )
        .await
    }

    /// Adds a route or replaces the one with the same key.
    pub async fn replace_route(&self, route: &Route) -> Result<()> {
        route.check()?;
        self.change(
            format!("replace route {}", route.describe()),
            RouteNetlinkMessage::NewRoute(route.to_message(false)),
            NLM_F_CREATE | NLM_F_REPLACE,
        )
        .await
    }

    /// Deletes a route; fails with [`crate::SysError::is_not_found`] if
    /// there is none.
    pub async fn del_route(&self, route: &Route) -> Result<()> {
        route.check()?;
        self.change(
            format!("delete route {}", route.describe()),
            RouteNetlinkMessage::DelRoute(route.to_message(true)),
            0,
        )
        .await
    }

    /// Every route of one family, all tables (filter on `table` or
    /// `protocol` afterwards, e.g. `protocol == RTPROT_KEEPALIVED`).
    pub async fn list_routes(&self, family: Family) -> Result<Vec<Route>> {
        let mut request = RouteMessage::default();
        request.header.address_family = address_family(family);
        let answers = self
            .dump(
                format!("dump {family:?} routes"),
                RouteNetlinkMessage::GetRoute(request),
            )
            .await?;
        Ok(answers
            .iter()
            .filter_map(|answer| match answer {
                RouteNetlinkMessage::NewRoute(message) => Route::from_message(message),
                _ => None,
            })
            .filter(|route| route.family() == family)
            .collect())
    }
}
