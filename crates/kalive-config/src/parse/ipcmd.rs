//! Address, route and rule lines in the `ip addr/route/rule add` syntax
//! (reference §1.6 static_*, §1.8 virtual_*; keepalived
//! `vrrp/vrrp_ipaddress.c`, `vrrp_iproute.c`, `vrrp_iprule.c`).

use crate::lexer::Word;
use crate::model::net::{
    Broadcast, Family, IpAddressSpec, IpPrefix, Lifetime, Metric, NextHop, PortRange, RouteSpec,
    RouteType, RuleAction, RuleSpec, Scope, UidRange,
};
use crate::parse::values::{parse_base0, parse_ip, parse_prefix};
use crate::parse::Ctx;
use crate::syntax::Stmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// A cursor over the words of one line.
struct Words<'a> {
    words: Vec<&'a Word>,
    pos: usize,
}

impl<'a> Words<'a> {
    fn new(stmt: &'a Stmt) -> Self {
        Words {
            words: stmt.words().collect(),
            pos: 0,
        }
    }
    fn next(&mut self) -> Option<&'a Word> {
        let w = self.words.get(self.pos).copied();
        self.pos += 1;
        w
    }
    fn peek(&self) -> Option<&'a Word> {
        self.words.get(self.pos).copied()
    }
    /// The value after an option word; reports its absence.
    fn value(&mut self, ctx: &mut Ctx, opt: &Word) -> Option<&'a Word> {
        let v = self.next();
        if v.is_none() {
            ctx.error(&opt.span, format!("No value specified for {}", opt.text));
        }
        v
    }
}

/// `scope` names of iproute2's rt_scopes, or a number.
pub fn parse_scope(s: &str) -> Option<Scope> {
    Some(match s {
        "global" | "universe" => Scope::Global,
        "site" => Scope::Site,
        "link" => Scope::Link,
        "host" => Scope::Host,
        "nowhere" => Scope::Nowhere,
        n => match n.parse::<u8>().ok()? {
            0 => Scope::Global,
            200 => Scope::Site,
            253 => Scope::Link,
            254 => Scope::Host,
            255 => Scope::Nowhere,
            v => Scope::Other(v),
        },
    })
}

/// Routing table: a number or a name of iproute2's rt_tables.
pub fn parse_table(s: &str) -> Option<u32> {
    match s {
        "default" => Some(253),
        "main" => Some(254),
        "local" => Some(255),
        "unspec" => Some(0),
        n => parse_base0(n)
            .filter(|v| *v <= u32::MAX as u64)
            .map(|v| v as u32)
            .or_else(|| table_from_rt_tables(n)),
    }
}

fn table_from_rt_tables(name: &str) -> Option<u32> {
    let text = ["/etc/iproute2/rt_tables", "/usr/share/iproute2/rt_tables"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())?;
    text.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        let id = it.next()?;
        (it.next()? == name).then(|| id.parse().ok()).flatten()
    })
}

/// Route protocol: number or iproute2 name.
fn parse_protocol(s: &str) -> Option<u8> {
    Some(match s {
        "unspec" => 0,
        "redirect" => 1,
        "kernel" => 2,
        "boot" => 3,
        "static" => 4,
        "gated" => 8,
        "ra" => 9,
        "mrt" => 10,
        "zebra" => 11,
        "bird" => 12,
        "dnrouted" => 13,
        "xorp" => 14,
        "ntk" => 15,
        "dhcp" => 16,
        "keepalived" => 18,
        "babel" => 42,
        "bgp" => 186,
        "isis" => 187,
        "ospf" => 188,
        "rip" => 189,
        "eigrp" => 192,
        n => parse_base0(n).filter(|v| *v <= 255)? as u8,
    })
}

/// One `ADDR[/LEN] [options]` line. keepalived's wording for a bad address:
/// `VRRP parsed invalid IP X. skipping IP...`.
/// `is_static`: a `static_ipaddress` line (only those take `track_group`).
pub fn parse_address(ctx: &mut Ctx, stmt: &Stmt, is_static: bool) -> Option<IpAddressSpec> {
    let mut w = Words::new(stmt);
    let first = w.next()?;
    let Some(address) = parse_prefix(&first.text) else {
        ctx.error(
            &first.span,
            format!("VRRP parsed invalid IP {}. skipping IP...", first.text),
        );
        return None;
    };
    let mut spec = IpAddressSpec::new(address);
    spec.span = Some(first.span.clone());
    while let Some(opt) = w.next() {
        match opt.text.as_str() {
            "dev" => spec.dev = w.value(ctx, opt).map(|v| v.text.clone()),
            "scope" => {
                if let Some(v) = w.value(ctx, opt) {
                    spec.scope = parse_scope(&v.text);
                    if spec.scope.is_none() {
                        ctx.error(
                            &v.span,
                            format!(
                                "Invalid scope '{}' specified for {} - ignoring",
                                v.text, first.text
                            ),
                        );
                    }
                }
            }
            "brd" | "broadcast" => {
                if let Some(v) = w.value(ctx, opt) {
                    spec.broadcast = match v.text.as_str() {
                        "+" => Some(Broadcast::Plus),
                        "-" => Some(Broadcast::Minus),
                        t => match parse_ip(t) {
                            Some(a) if a.is_ipv4() && address.addr.is_ipv4() => {
                                Some(Broadcast::Address(a))
                            }
                            _ => {
                                ctx.error(&v.span, format!("VRRP is trying to assign invalid broadcast {}. skipping VIP...", v.text));
                                return None;
                            }
                        },
                    }
                }
            }
            "label" => spec.label = w.value(ctx, opt).map(|v| v.text.clone()),
            "peer" => {
                if let Some(v) = w.value(ctx, opt) {
                    // keepalived takes a plain address here.
                    match parse_ip(&v.text) {
                        Some(a) if a.is_ipv4() == address.addr.is_ipv4() => {
                            spec.peer = Some(IpPrefix::host(a))
                        }
                        _ => ctx.error(&v.span, format!("Invalid peer address {}", v.text)),
                    }
                }
            }
            "home" => spec.home = true,
            "-nodad" | "nodad" => spec.nodad = true,
            "mngtmpaddr" => spec.mngtmpaddr = true,
            "noprefixroute" => spec.noprefixroute = true,
            "autojoin" => spec.autojoin = true,
            "use_vmac" => spec.use_vmac = true,
            "no_track" => spec.no_track = true,
            "track_group" if is_static => {
                spec.track_group = w.value(ctx, opt).map(|v| v.text.clone())
            }
            "preferred_lft" => {
                if let Some(v) = w.value(ctx, opt) {
                    spec.preferred_lft = if v.text == "forever" {
                        Some(Lifetime::Forever)
                    } else {
                        ctx.uint(v, 0, u32::MAX as u64)
                            .map(|n| Lifetime::Seconds(n as u32))
                    }
                }
            }
            other => ctx.error(
                &opt.span,
                format!("Unknown configuration entry '{other}' for ip address - ignoring"),
            ),
        }
    }
    Some(spec)
}

fn route_type(s: &str) -> Option<RouteType> {
    Some(match s {
        "unicast" => RouteType::Unicast,
        "local" => RouteType::Local,
        "broadcast" => RouteType::Broadcast,
        "multicast" => RouteType::Multicast,
        "throw" => RouteType::Throw,
        "unreachable" => RouteType::Unreachable,
        "prohibit" => RouteType::Prohibit,
        "blackhole" => RouteType::Blackhole,
        "nat" => RouteType::Nat,
        _ => return None,
    })
}

fn metric_u32(ctx: &mut Ctx, w: &mut Words<'_>, opt: &Word) -> Option<Metric<u32>> {
    let mut lock = false;
    if w.peek().is_some_and(|v| v.text == "lock") {
        w.next();
        lock = true;
    }
    let v = w.value(ctx, opt)?;
    ctx.uint(v, 0, u32::MAX as u64).map(|value| Metric {
        value: value as u32,
        lock,
    })
}

fn metric_time(ctx: &mut Ctx, w: &mut Words<'_>, opt: &Word) -> Option<Metric<Duration>> {
    let mut lock = false;
    if w.peek().is_some_and(|v| v.text == "lock") {
        w.next();
        lock = true;
    }
    let v = w.value(ctx, opt)?;
    // iproute2 accepts `Nms`, `Ns` or a plain number of milliseconds.
    let t = v.text.as_str();
    let d = if let Some(ms) = t.strip_suffix("ms") {
        ms.parse::<u64>().ok().map(Duration::from_millis)
    } else if let Some(s) = t.strip_suffix('s') {
        s.parse::<u64>().ok().map(Duration::from_secs)
    } else {
        t.parse::<u64>().ok().map(Duration::from_millis)
    };
    if d.is_none() {
        ctx.error(&v.span, format!("invalid {} '{}'", opt.text, v.text));
    }
    d.map(|value| Metric { value, lock })
}

fn default_prefix(inet6: bool) -> IpPrefix {
    if inet6 {
        IpPrefix {
            addr: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            len: 0,
        }
    } else {
        IpPrefix {
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            len: 0,
        }
    }
}

/// One route line.
pub fn parse_route(ctx: &mut Ctx, stmt: &Stmt) -> Option<RouteSpec> {
    let mut w = Words::new(stmt);
    let mut route = RouteSpec::new(default_prefix(false));
    route.span = Some(stmt.span().clone());
    let mut have_dest = false;
    let mut inet6 = false;
    let mut dest_default = false;
    while let Some(opt) = w.next() {
        let t = opt.text.as_str();
        match t {
            "inet6" | "-6" => inet6 = true,
            "inet" | "-4" => {}
            "src" => {
                if let Some(v) = w.value(ctx, opt) {
                    route.src = ctx.ip(v);
                }
            }
            "via" | "gw" => {
                if t == "gw" {
                    ctx.warning(
                        &opt.span,
                        "\"gw\" for routes is deprecated. Please use \"via\"",
                    );
                }
                if let Some(v) = w.value(ctx, opt) {
                    // `via inet6 ADDR` form
                    let v = if v.text == "inet" || v.text == "inet6" {
                        w.value(ctx, v)?
                    } else {
                        v
                    };
                    route.via = Some(ctx.ip(v)?);
                }
            }
            "or" => {
                if let Some(v) = w.value(ctx, opt) {
                    route.or_via = ctx.ip(v);
                }
            }
            "dev" | "oif" => route.dev = w.value(ctx, opt).map(|v| v.text.clone()),
            "table" => {
                if let Some(v) = w.value(ctx, opt) {
                    route.table = parse_table(&v.text);
                    if route.table.is_none() {
                        ctx.error(
                            &v.span,
                            format!("Routing table {} not found for route", v.text),
                        );
                    }
                }
            }
            "tos" | "dsfield" => {
                if let Some(v) = w.value(ctx, opt) {
                    route.tos = ctx.uint_base0(v, 0, 255).map(|v| v as u8);
                }
            }
            "protocol" | "proto" => {
                if let Some(v) = w.value(ctx, opt) {
                    route.protocol = parse_protocol(&v.text);
                    if route.protocol.is_none() {
                        ctx.error(&v.span, format!("Invalid protocol {}", v.text));
                    }
                }
            }
            "scope" => {
                if let Some(v) = w.value(ctx, opt) {
                    route.scope = parse_scope(&v.text);
                    if route.scope.is_none() {
                        ctx.error(&v.span, format!("Invalid scope {}", v.text));
                    }
                }
            }
            "metric" | "priority" | "preference" => {
                if let Some(v) = w.value(ctx, opt) {
                    route.metric = ctx.uint(v, 0, u32::MAX as u64).map(|v| v as u32);
                }
            }
            "mtu" => route.mtu = metric_u32(ctx, &mut w, opt),
            "advmss" => route.advmss = metric_u32(ctx, &mut w, opt),
            "reordering" => route.reordering = metric_u32(ctx, &mut w, opt),
            "window" => route.window = metric_u32(ctx, &mut w, opt),
            "cwnd" => route.cwnd = metric_u32(ctx, &mut w, opt),
            "ssthresh" => route.ssthresh = metric_u32(ctx, &mut w, opt),
            "initcwnd" => route.initcwnd = metric_u32(ctx, &mut w, opt),
            "initrwnd" => route.initrwnd = metric_u32(ctx, &mut w, opt),
            "hoplimit" => {
                route.hoplimit = metric_u32(ctx, &mut w, opt)
                    .filter(|m| m.value <= 255)
                    .map(|m| Metric {
                        value: m.value as u8,
                        lock: m.lock,
                    })
            }
            "rtt" => route.rtt = metric_time(ctx, &mut w, opt),
            "rttvar" => route.rttvar = metric_time(ctx, &mut w, opt),
            "rto_min" => route.rto_min = metric_time(ctx, &mut w, opt),
            "realms" | "realm" => {
                if let Some(v) = w.value(ctx, opt) {
                    route.realms = parse_realms(&v.text);
                }
            }
            "features" => {
                if let Some(v) = w.value(ctx, opt) {
                    if v.text == "ecn" {
                        route.features_ecn = true;
                    } else {
                        ctx.error(&v.span, format!("Unknown route feature {}", v.text));
                    }
                }
            }
            "quickack" => {
                if let Some(v) = w.value(ctx, opt) {
                    route.quickack = ctx.uint(v, 0, 1).map(|v| v == 1);
                }
            }
            "fastopen_no_cookie" => {
                if let Some(v) = w.value(ctx, opt) {
                    route.fastopen_no_cookie = ctx.uint(v, 0, 1).map(|v| v == 1);
                }
            }
            "congctl" => {
                let lock = if w.peek().is_some_and(|v| v.text == "lock") {
                    w.next();
                    true
                } else {
                    false
                };
                route.congctl = w.value(ctx, opt).map(|v| Metric {
                    value: v.text.clone(),
                    lock,
                });
            }
            "pref" => {
                if let Some(v) = w.value(ctx, opt) {
                    route.pref = match v.text.as_str() {
                        "low" => Some(3),
                        "medium" => Some(0),
                        "high" => Some(1),
                        _ => {
                            ctx.error(&v.span, format!("Invalid pref {}", v.text));
                            None
                        }
                    }
                }
            }
            "vrf" => route.vrf = w.value(ctx, opt).map(|v| v.text.clone()),
            "ttl-propagate" => {
                if let Some(v) = w.value(ctx, opt) {
                    route.ttl_propagate = match v.text.as_str() {
                        "enabled" => Some(true),
                        "disabled" => Some(false),
                        _ => {
                            ctx.error(&v.span, format!("Invalid ttl-propagate value {}", v.text));
                            None
                        }
                    }
                }
            }
            "nexthop" => {
                route.nexthops.push(parse_nexthop(ctx, &mut w));
            }
            "onlink" => route.onlink = true,
            "append" => route.append = true,
            "no_track" => route.no_track = true,
            "track_group" => route.track_group = w.value(ctx, opt).map(|v| v.text.clone()),
            "to" => {
                if let Some(v) = w.value(ctx, opt) {
                    dest_default = v.text == "default";
                    if !dest_default {
                        route.dest = parse_dest(ctx, v)?;
                    }
                    have_dest = true;
                }
            }
            _ if !have_dest
                && route_type(t).is_some()
                && route.route_type == RouteType::Unicast =>
            {
                route.route_type = route_type(t).unwrap_or_default();
            }
            "default" if !have_dest => {
                dest_default = true;
                have_dest = true;
            }
            _ if !have_dest => {
                route.dest = parse_dest(ctx, opt)?;
                have_dest = true;
            }
            other => {
                ctx.error(&opt.span, format!("Unknown route option {other}"));
            }
        }
    }
    if !have_dest {
        ctx.error(stmt.span(), "No destination specified for route");
        return None;
    }
    if dest_default {
        let v6 = inet6
            || route.via.is_some_and(|a| a.is_ipv6())
            || route.src.is_some_and(|a| a.is_ipv6());
        route.dest = default_prefix(v6);
    }
    let v6 = route.dest.is_ipv6();
    let mixed = [route.via, route.src, route.or_via]
        .iter()
        .flatten()
        .chain(route.nexthops.iter().filter_map(|n| n.via.as_ref()))
        .any(|a| a.is_ipv6() != v6);
    if mixed {
        ctx.error(stmt.span(), "Cannot mix IPv4 and IPv6 addresses for route");
        return None;
    }
    if route.pref.is_some() && !v6 {
        ctx.error(stmt.span(), "pref is only valid for IPv6");
        route.pref = None;
    }
    Some(route)
}

fn parse_dest(ctx: &mut Ctx, w: &Word) -> Option<IpPrefix> {
    match parse_prefix(&w.text) {
        Some(p) => Some(p),
        None => {
            ctx.error(&w.span, format!("Invalid route destination {}", w.text));
            None
        }
    }
}

fn parse_realms(s: &str) -> Option<u32> {
    match s.split_once('/') {
        Some((from, to)) => {
            let f: u32 = from.parse().ok()?;
            let t: u32 = to.parse().ok()?;
            Some((f << 16) | t)
        }
        None => s.parse().ok(),
    }
}

fn parse_nexthop(ctx: &mut Ctx, w: &mut Words<'_>) -> NextHop {
    let mut nh = NextHop {
        via: None,
        dev: None,
        weight: None,
        onlink: false,
    };
    while let Some(p) = w.peek() {
        match p.text.as_str() {
            "via" | "gw" => {
                w.next();
                if let Some(v) = w.value(ctx, p) {
                    nh.via = ctx.ip(v);
                }
            }
            "dev" => {
                w.next();
                nh.dev = w.value(ctx, p).map(|v| v.text.clone());
            }
            "weight" => {
                w.next();
                if let Some(v) = w.value(ctx, p) {
                    nh.weight = ctx.uint(v, 1, 256).map(|v| v as u16);
                }
            }
            "onlink" => {
                w.next();
                nh.onlink = true;
            }
            _ => break,
        }
    }
    nh
}

/// keepalived wants a range here (`1000-2000`; a single port is an error).
fn port_range(ctx: &mut Ctx, opt: &Word, w: &Word) -> Option<PortRange> {
    let parsed = w
        .text
        .split_once('-')
        .and_then(|(a, b)| Some((a.parse::<u16>().ok()?, b.parse::<u16>().ok()?)));
    match parsed {
        Some((start, end)) if start <= end => Some(PortRange { start, end }),
        _ => {
            ctx.error(&w.span, format!("invalid {} range {}", opt.text, w.text));
            None
        }
    }
}

/// One rule line.
pub fn parse_rule(ctx: &mut Ctx, stmt: &Stmt) -> Option<RuleSpec> {
    let mut w = Words::new(stmt);
    let mut rule = RuleSpec::new(Family::Inet);
    rule.span = Some(stmt.span().clone());
    let mut inet6 = false;
    let mut actions = 0;
    while let Some(opt) = w.next() {
        match opt.text.as_str() {
            "inet6" | "-6" => inet6 = true,
            "inet" | "-4" => {}
            "not" => rule.not = true,
            "from" | "to" => {
                let v = w.value(ctx, opt)?;
                let p = if v.text == "all" {
                    None
                } else {
                    match parse_prefix(&v.text) {
                        Some(p) => Some(p),
                        None => {
                            ctx.error(&v.span, format!("Invalid rule {} {}", opt.text, v.text));
                            return None;
                        }
                    }
                };
                if opt.text == "from" {
                    rule.from = p;
                } else {
                    rule.to = p;
                }
            }
            "table" | "lookup" => {
                let v = w.value(ctx, opt)?;
                rule.table = parse_table(&v.text);
                if rule.table.is_none() {
                    ctx.error(
                        &v.span,
                        format!("Routing table {} not found for rule", v.text),
                    );
                }
                rule.action = RuleAction::Table;
                actions += 1;
            }
            "goto" => {
                let v = w.value(ctx, opt)?;
                if let Some(n) = ctx.uint(v, 0, u32::MAX as u64) {
                    rule.action = RuleAction::Goto(n as u32);
                }
                actions += 1;
            }
            "nop" | "blackhole" | "unreachable" | "prohibit" => {
                rule.action = match opt.text.as_str() {
                    "nop" => RuleAction::Nop,
                    "blackhole" => RuleAction::Blackhole,
                    "unreachable" => RuleAction::Unreachable,
                    _ => RuleAction::Prohibit,
                };
                actions += 1;
            }
            "iif" | "iifname" | "dev" => rule.iif = w.value(ctx, opt).map(|v| v.text.clone()),
            "oif" | "oifname" => rule.oif = w.value(ctx, opt).map(|v| v.text.clone()),
            "tos" | "dsfield" => {
                if let Some(v) = w.value(ctx, opt) {
                    rule.tos = ctx.uint_base0(v, 0, 255).map(|v| v as u8);
                }
            }
            "fwmark" => {
                if let Some(v) = w.value(ctx, opt) {
                    let (m, mask) = v.text.split_once('/').unwrap_or((&v.text, ""));
                    rule.fwmark = parse_base0(m).map(|v| v as u32);
                    if rule.fwmark.is_none() {
                        ctx.error(&v.span, format!("Invalid fwmark {}", v.text));
                    }
                    if !mask.is_empty() {
                        rule.fwmask = parse_base0(mask).map(|v| v as u32);
                    }
                }
            }
            "preference" | "priority" | "order" => {
                if let Some(v) = w.value(ctx, opt) {
                    rule.preference = ctx.uint(v, 0, u32::MAX as u64).map(|v| v as u32);
                }
            }
            "realms" | "realm" => {
                if let Some(v) = w.value(ctx, opt) {
                    rule.realms = parse_realms(&v.text);
                }
            }
            "suppress_prefixlength" | "sup_pl" => {
                if let Some(v) = w.value(ctx, opt) {
                    rule.suppress_prefixlength = ctx.int(v, -1, 128).map(|v| v as i32);
                }
            }
            "suppress_ifgroup" | "sup_group" => {
                if let Some(v) = w.value(ctx, opt) {
                    rule.suppress_ifgroup = ctx.uint(v, 0, u32::MAX as u64).map(|v| v as u32);
                }
            }
            "uidrange" => {
                if let Some(v) = w.value(ctx, opt) {
                    let (a, b) = v.text.split_once('-').unwrap_or((&v.text, &v.text));
                    match (a.parse(), b.parse()) {
                        (Ok(start), Ok(end)) => rule.uidrange = Some(UidRange { start, end }),
                        _ => ctx.error(&v.span, format!("Invalid uidrange {}", v.text)),
                    }
                }
            }
            "l3mdev" => {
                rule.l3mdev = true;
                actions += 1;
            }
            // keepalived takes only a number for a rule's protocol.
            "protocol" | "proto" => {
                if let Some(v) = w.value(ctx, opt) {
                    rule.protocol = ctx.uint(v, 0, 255).map(|n| n as u8);
                    if rule.protocol.is_none() {
                        ctx.error(&v.span, format!("Invalid protocol {}", v.text));
                    }
                }
            }
            "ipproto" | "ip_proto" => {
                if let Some(v) = w.value(ctx, opt) {
                    rule.ip_proto = match v.text.as_str() {
                        "tcp" => Some(6),
                        "udp" => Some(17),
                        "icmp" => Some(1),
                        "sctp" => Some(132),
                        "ipv6-icmp" | "icmpv6" => Some(58),
                        t => parse_base0(t).filter(|v| *v <= 255).map(|v| v as u8),
                    };
                }
            }
            "sport" => rule.sport = w.value(ctx, opt).and_then(|v| port_range(ctx, opt, v)),
            "dport" => rule.dport = w.value(ctx, opt).and_then(|v| port_range(ctx, opt, v)),
            "no_track" => rule.no_track = true,
            "track_group" => rule.track_group = w.value(ctx, opt).map(|v| v.text.clone()),
            other => {
                ctx.error(&opt.span, format!("Unknown rule option {other}"));
            }
        }
    }
    let v6 =
        inet6 || rule.from.is_some_and(|p| p.is_ipv6()) || rule.to.is_some_and(|p| p.is_ipv6());
    rule.family = if v6 { Family::Inet6 } else { Family::Inet };
    match actions {
        0 => {
            ctx.error(stmt.span(), "No action specified for rule - ignoring");
            return None;
        }
        1 => {}
        _ if rule.l3mdev => ctx.error(stmt.span(), "Cannot specify l3mdev with other action"),
        _ => ctx.error(
            stmt.span(),
            "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule",
        ),
    }
    if rule.preference.is_none() {
        // keepalived assigns one, and says so.
        ctx.warning(
            stmt.span(),
            "Rule has no preference specified - setting to 16384. This is probably not what you want.",
        );
        rule.preference = Some(16384);
    }
    Some(rule)
}
