//! keepalived.conf address / route / rule entries (the `ip` command syntax,
//! reference §1.6) turned into kalive-sys netlink requests. Pure functions;
//! interface names are resolved by the caller's lookup.

use std::net::{IpAddr, Ipv4Addr};

use kalive_config::model::net::{Broadcast, RouteType, RuleAction as ModelRuleAction};
use kalive_config::model::{IpAddressSpec, RouteSpec, RuleSpec};
use kalive_sys::netlink::{AddressSpec, Route, RouteKind, Rule, RuleAction, Scope};
use kalive_sys::Family as SysFamily;

/// `ip addr add` for one VIP / static address on `ifindex`.
pub fn address(spec: &IpAddressSpec, ifindex: u32) -> AddressSpec {
    let addr = spec.address.addr;
    let mut a = AddressSpec::new(ifindex, addr, spec.address.len);
    a.broadcast = match (spec.broadcast, addr) {
        (Some(Broadcast::Address(IpAddr::V4(b))), _) => Some(b),
        (Some(Broadcast::Plus), IpAddr::V4(v4)) => Some(host_bits(v4, spec.address.len, true)),
        (Some(Broadcast::Minus), IpAddr::V4(v4)) => Some(host_bits(v4, spec.address.len, false)),
        _ => None,
    };
    a.peer = spec.peer.map(|p| p.addr);
    if let Some(scope) = spec.scope {
        a.scope = Scope::from_u8(scope.value());
    }
    a.label = spec.label.clone();
    // keepalived adds IPv6 VIPs with nodad so they are usable at once.
    a.nodad = addr.is_ipv6() || spec.nodad;
    a.noprefixroute = spec.noprefixroute;
    a
}

/// `brd +` sets the host part to ones, `brd -` to zeros.
fn host_bits(addr: Ipv4Addr, prefix_len: u8, ones: bool) -> Ipv4Addr {
    let mask = if prefix_len >= 32 {
        u32::MAX
    } else {
        !(u32::MAX >> prefix_len)
    };
    let base = u32::from(addr) & mask;
    Ipv4Addr::from(if ones { base | !mask } else { base })
}

/// `ip route add` for one virtual / static route. `ifindex` resolves `dev`.
pub fn route(spec: &RouteSpec, ifindex: &dyn Fn(&str) -> Option<u32>) -> Result<Route, String> {
    let mut r = Route::new(spec.dest.addr, spec.dest.len);
    r.via = spec.via.or(spec.or_via);
    r.dev = match &spec.dev {
        Some(name) => Some(ifindex(name).ok_or_else(|| format!("unknown interface {name}"))?),
        None => None,
    };
    r.src = spec.src;
    if let Some(t) = spec.table {
        r.table = t;
    }
    r.metric = spec.metric;
    r.scope = spec.scope.map(|s| Scope::from_u8(s.value()));
    r.kind = match spec.route_type {
        RouteType::Unicast => RouteKind::Unicast,
        RouteType::Local => RouteKind::Local,
        RouteType::Broadcast => RouteKind::Broadcast,
        RouteType::Multicast => RouteKind::Multicast,
        RouteType::Throw => RouteKind::Throw,
        RouteType::Unreachable => RouteKind::Unreachable,
        RouteType::Prohibit => RouteKind::Prohibit,
        RouteType::Blackhole => RouteKind::Blackhole,
        RouteType::Nat => RouteKind::Nat,
    };
    if let Some(p) = spec.protocol {
        r.protocol = p;
    }
    r.onlink = spec.onlink;
    r.tos = spec.tos.unwrap_or(0);
    Ok(r)
}

/// `ip rule add` for one virtual / static rule.
pub fn rule(spec: &RuleSpec) -> Rule {
    let family = match spec.family {
        kalive_config::model::net::Family::Inet => SysFamily::V4,
        kalive_config::model::net::Family::Inet6 => SysFamily::V6,
    };
    let action = match spec.action {
        ModelRuleAction::Table => RuleAction::Table(spec.table.unwrap_or(254)),
        ModelRuleAction::Goto(n) => RuleAction::Goto(n),
        ModelRuleAction::Nop => RuleAction::Nop,
        ModelRuleAction::Blackhole => RuleAction::Blackhole,
        ModelRuleAction::Unreachable => RuleAction::Unreachable,
        ModelRuleAction::Prohibit => RuleAction::Prohibit,
    };
    let mut r = Rule::to_table(family, 254);
    r.action = action;
    r.from = spec.from.map(|p| (p.addr, p.len));
    r.to = spec.to.map(|p| (p.addr, p.len));
    r.priority = spec.preference;
    r.fwmark = spec.fwmark.map(|m| (m, spec.fwmask));
    r.iif = spec.iif.clone();
    r.oif = spec.oif.clone();
    r.tos = spec.tos.unwrap_or(0);
    r.invert = spec.not;
    if let Some(p) = spec.protocol {
        r.protocol = p;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use kalive_config::model::net::{IpPrefix, Scope as ModelScope};

    fn prefix(s: &str, len: u8) -> IpPrefix {
        IpPrefix {
            addr: s.parse().expect("addr"),
            len,
        }
    }

    #[test]
    fn vip_with_keepalived_options() {
        let mut spec = IpAddressSpec::new(prefix("192.168.200.16", 24));
        spec.broadcast = Some(Broadcast::Plus);
        spec.label = Some("eth0:1".into());
        spec.scope = Some(ModelScope::Link);
        let a = address(&spec, 7);
        assert_eq!(a.ifindex, 7);
        assert_eq!(a.prefix_len, 24);
        assert_eq!(a.broadcast, Some(Ipv4Addr::new(192, 168, 200, 255)));
        assert_eq!(a.label.as_deref(), Some("eth0:1"));
        assert_eq!(a.scope, Scope::from_u8(253));
        assert!(!a.nodad);
        spec.broadcast = Some(Broadcast::Minus);
        assert_eq!(
            address(&spec, 7).broadcast,
            Some(Ipv4Addr::new(192, 168, 200, 0))
        );
        let v6 = address(&IpAddressSpec::new(prefix("2001:db8::1", 64)), 3);
        assert!(v6.nodad, "IPv6 VIPs skip DAD");
    }

    #[test]
    fn routes_and_rules() {
        let mut spec = RouteSpec::new(prefix("10.10.0.0", 16));
        spec.via = Some("192.168.1.1".parse().expect("gw"));
        spec.dev = Some("eth0".into());
        spec.table = Some(100);
        spec.metric = Some(5);
        let r = route(&spec, &|n| (n == "eth0").then_some(2)).expect("route");
        assert_eq!((r.dev, r.table, r.metric), (Some(2), 100, Some(5)));
        spec.dev = Some("nope".into());
        assert!(route(&spec, &|_| None).is_err());

        let mut rs = RuleSpec::new(kalive_config::model::net::Family::Inet);
        rs.from = Some(prefix("192.168.2.0", 24));
        rs.table = Some(100);
        rs.preference = Some(1000);
        let r = rule(&rs);
        assert_eq!(r.action, RuleAction::Table(100));
        assert_eq!(r.priority, Some(1000));
        assert_eq!(r.from, Some(("192.168.2.0".parse().expect("a"), 24)));
    }
}
