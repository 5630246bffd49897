//! Netlink on the real kernel: link lookup, addresses, routes, rules and
//! the macvlan VMAC, each checked with iproute2 (what an operator runs)
//! and with our own listing.

mod common;

use std::net::IpAddr;

use common::{ip, require_root, Lan, Netns, ADDR_A, ADDR_B, LL_A, MAC_A};
use kalive_sys::{
    in_netns_tokio, vmac_address, AddressSpec, Family, Netlink, Route, RouteKind, Rule, RuleAction,
    Scope, SysError, RTPROT_KEEPALIVED,
};

fn netlink_in(ns: &str) -> Netlink {
    in_netns_tokio(ns, Netlink::new)
        .expect("enter netns")
        .expect("open netlink")
}

#[tokio::test]
async fn link_lookup_reports_index_mac_state_and_mtu() {
    require_root();
    let lan = Lan::new("link");
    let nl = netlink_in(&lan.a.name);

    let va = nl.link_by_name("va").await.unwrap();
    assert_eq!(va.name, "va");
    assert_eq!(va.mac, Some(MAC_A));
    assert!(va.up && va.running && va.is_usable(), "{va:?}");
    assert_eq!(va.mtu, Some(1500));
    assert_eq!(va.kind.as_deref(), Some("veth"));
    assert_eq!(nl.link_by_index(va.index).await.unwrap(), va);

    let primary_v4 = nl.primary_address(va.index, Family::V4).await.unwrap();
    assert_eq!(primary_v4, Some(ADDR_A.parse().unwrap()));
    let primary_v6 = nl.primary_address(va.index, Family::V6).await.unwrap();
    assert_eq!(primary_v6, Some(LL_A.parse().unwrap()));

    let missing = nl.link_by_name("nope0").await.unwrap_err();
    assert!(matches!(missing, SysError::NoSuchLink(_)), "{missing:?}");

    nl.set_link_down(va.index).await.unwrap();
    assert!(ip(&lan.a.name, "link show va").contains("state DOWN"));
    assert!(!nl.link_by_index(va.index).await.unwrap().up);
    nl.set_link_up(va.index).await.unwrap();
    assert!(nl.link_by_index(va.index).await.unwrap().up);
}

#[tokio::test]
async fn vip_add_and_delete_show_in_ip_addr_and_our_listing() {
    require_root();
    let lan = Lan::new("addr");
    let nl = netlink_in(&lan.a.name);
    let va = nl.link_by_name("va").await.unwrap();
    let vip: IpAddr = "10.201.0.251".parse().unwrap();
    let spec = AddressSpec {
        label: Some("va:vip".into()),
        ..AddressSpec::new(va.index, vip, 32)
    };

    nl.add_address(&spec).await.unwrap();
    let shown = ip(&lan.a.name, "-4 addr show dev va");
    assert!(
        shown.contains("inet 10.201.0.251/32 scope global va:vip"),
        "{shown}"
    );
    let listed = nl.list_addresses(Some(va.index)).await.unwrap();
    let ours = listed.iter().find(|a| a.addr == vip).expect("VIP listed");
    assert_eq!(
        (ours.prefix_len, ours.scope, ours.label.as_deref()),
        (32, Scope::Global, Some("va:vip"))
    );
    assert!(nl.add_address(&spec).await.unwrap_err().is_already_exists());

    nl.del_address(&spec).await.unwrap();
    assert!(!ip(&lan.a.name, "-4 addr show dev va").contains("10.201.0.251"));
    assert!(!nl
        .list_addresses(Some(va.index))
        .await
        .unwrap()
        .iter()
        .any(|a| a.addr == vip));
    assert!(nl.del_address(&spec).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn ipv6_vip_is_added_without_dad() {
    require_root();
    let ns = Netns::new("addr6");
    // accept_dad is on again for this test, so nodad really matters.
    kalive_sys::in_netns(&ns.name, || {
        kalive_sys::sysctl::write("ipv6/conf/default/accept_dad", "1")
    })
    .unwrap()
    .unwrap();
    common::run(&[
        "ip", "-n", &ns.name, "link", "add", "v1", "type", "veth", "peer", "name", "v2",
    ]);
    ip(&ns.name, "link set v1 up");
    ip(&ns.name, "link set v2 up");
    let nl = netlink_in(&ns.name);
    let v1 = nl.link_by_name("v1").await.unwrap();
    let vip: IpAddr = "fd00:201::254".parse().unwrap();

    nl.add_address(&AddressSpec::new(v1.index, vip, 128))
        .await
        .unwrap();

    let shown = ip(&ns.name, "-6 addr show dev v1");
    let vip_line = shown
        .lines()
        .find(|l| l.contains("fd00:201::254"))
        .expect("VIP shown");
    assert!(
        vip_line.contains("inet6 fd00:201::254/128 scope global nodad"),
        "{shown}"
    );
    assert!(!vip_line.contains("tentative"), "{shown}");
    let listed = nl.list_addresses(Some(v1.index)).await.unwrap();
    let ours = listed.iter().find(|a| a.addr == vip).expect("VIP listed");
    assert!(!ours.is_tentative());
}

#[tokio::test]
async fn routes_in_table_100_and_a_rule_to_it() {
    require_root();
    let lan = Lan::new("route");
    let nl = netlink_in(&lan.a.name);
    let va = nl.link_by_name("va").await.unwrap();
    let via = Route {
        via: Some(ADDR_B.parse().unwrap()),
        dev: Some(va.index),
        table: 100,
        metric: Some(10),
        ..Route::new("192.0.2.0".parse().unwrap(), 24)
    };
    let blackhole = Route {
        kind: RouteKind::Blackhole,
        table: 100,
        ..Route::new("198.51.100.0".parse().unwrap(), 24)
    };
    let rule = Rule {
        from: Some(("10.201.0.251".parse().unwrap(), 32)),
        priority: Some(1000),
        ..Rule::to_table(Family::V4, 100)
    };
    let mark_rule = Rule {
        fwmark: Some((7, Some(0xff))),
        priority: Some(1001),
        ..Rule::to_table(Family::V4, 100)
    };

    nl.add_route(&via).await.unwrap();
    nl.add_route(&blackhole).await.unwrap();
    nl.add_rule(&rule).await.unwrap();
    nl.add_rule(&mark_rule).await.unwrap();

    let table = ip(&lan.a.name, "route show table 100");
    assert!(
        table.contains("192.0.2.0/24 via 10.201.0.2 dev va proto keepalived metric 10"),
        "{table}"
    );
    assert!(
        table.contains("blackhole 198.51.100.0/24 proto keepalived"),
        "{table}"
    );
    let rules = ip(&lan.a.name, "rule show");
    assert!(
        rules.contains("1000:\tfrom 10.201.0.251 lookup 100 proto keepalived"),
        "{rules}"
    );
    assert!(
        rules.contains("1001:\tfrom all fwmark 0x7/0xff lookup 100 proto keepalived"),
        "{rules}"
    );

    let routes = nl.list_routes(Family::V4).await.unwrap();
    let listed = routes
        .iter()
        .find(|r| r.dst_len == 24 && r.dst == via.dst)
        .expect("route listed");
    assert_eq!(
        (listed.via, listed.table, listed.protocol),
        (via.via, 100, RTPROT_KEEPALIVED)
    );
    assert!(routes
        .iter()
        .any(|r| r.kind == RouteKind::Blackhole && r.table == 100));
    let listed_rules = nl.list_rules(Family::V4).await.unwrap();
    let ours = listed_rules
        .iter()
        .find(|r| r.priority == Some(1000))
        .expect("rule listed");
    assert_eq!(
        (ours.from, ours.action),
        (rule.from, RuleAction::Table(100))
    );
    assert_eq!(
        listed_rules
            .iter()
            .find(|r| r.priority == Some(1001))
            .unwrap()
            .fwmark,
        Some((7, Some(0xff)))
    );

    nl.del_route(&via).await.unwrap();
    nl.del_route(&blackhole).await.unwrap();
    nl.del_rule(&rule).await.unwrap();
    nl.del_rule(&mark_rule).await.unwrap();
    assert_eq!(ip(&lan.a.name, "route show table 100").trim(), "");
    assert!(!ip(&lan.a.name, "rule show").contains("lookup 100"));
    assert!(nl.del_route(&via).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn vmac_is_a_private_macvlan_with_the_vrrp_mac() {
    require_root();
    let lan = Lan::new("vmac");
    let nl = netlink_in(&lan.a.name);
    let va = nl.link_by_name("va").await.unwrap();

    let vmac = nl
        .add_vmac("vrrp.51", va.index, vmac_address(Family::V4, 51))
        .await
        .unwrap();
    nl.set_link_up(vmac.index).await.unwrap();

    let shown = ip(&lan.a.name, "-d link show vrrp.51");
    assert!(shown.contains("vrrp.51@va"), "{shown}");
    assert!(shown.contains("link/ether 00:00:5e:00:01:33"), "{shown}");
    assert!(shown.contains("macvlan mode private"), "{shown}");
    let info = nl.link_by_name("vrrp.51").await.unwrap();
    assert_eq!(info.mac, Some([0, 0, 0x5e, 0, 1, 51]));
    assert_eq!(info.parent_index, Some(va.index));
    assert!(info.up && Netlink::is_macvlan(&info));
    assert_eq!(vmac_address(Family::V6, 51), [0, 0, 0x5e, 0, 2, 51]);

    nl.delete_link(vmac.index).await.unwrap();
    assert!(nl.link_by_name("vrrp.51").await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn address_options_broadcast_scope_and_peer_reach_the_kernel() {
    require_root();
    let lan = Lan::new("addropt");
    let nl = netlink_in(&lan.a.name);
    let va = nl.link_by_name("va").await.unwrap();
    let with_brd = AddressSpec {
        broadcast: Some("10.202.0.255".parse().unwrap()),
        scope: Scope::Link,
        // Not in 10.201.0.0/24: a secondary must have its primary's scope.
        ..AddressSpec::new(va.index, "10.202.0.1".parse().unwrap(), 24)
    };
    let with_peer = AddressSpec {
        peer: Some("10.9.9.2".parse().unwrap()),
        ..AddressSpec::new(va.index, "10.9.9.1".parse().unwrap(), 32)
    };

    nl.add_address(&with_brd).await.unwrap();
    nl.add_address(&with_peer).await.unwrap();

    let shown = ip(&lan.a.name, "-4 addr show dev va");
    assert!(
        shown.contains("inet 10.202.0.1/24 brd 10.202.0.255 scope link va"),
        "{shown}"
    );
    assert!(
        shown.contains("inet 10.9.9.1 peer 10.9.9.2/32 scope global va"),
        "{shown}"
    );
    let listed = nl.list_addresses(Some(va.index)).await.unwrap();
    let brd = listed.iter().find(|a| a.addr == with_brd.addr).unwrap();
    assert_eq!(
        (brd.broadcast, brd.scope),
        (with_brd.broadcast, Scope::Link)
    );
    let peer = listed.iter().find(|a| a.addr == with_peer.addr).unwrap();
    assert_eq!(peer.peer, with_peer.peer);
    nl.del_address(&with_brd).await.unwrap();
    nl.del_address(&with_peer).await.unwrap();
    assert!(!ip(&lan.a.name, "-4 addr show dev va").contains("10.9.9.1"));
}

#[tokio::test]
async fn ipv6_route_source_route_and_interface_rule() {
    require_root();
    let lan = Lan::new("route6");
    let nl = netlink_in(&lan.a.name);
    let va = nl.link_by_name("va").await.unwrap();
    let v6 = Route {
        via: Some(common::ADDR6_B.parse().unwrap()),
        dev: Some(va.index),
        table: 100,
        ..Route::new("fd00:99::".parse().unwrap(), 64)
    };
    let with_src = Route {
        dev: Some(va.index),
        src: Some(ADDR_A.parse().unwrap()),
        table: 100,
        ..Route::new("203.0.113.0".parse().unwrap(), 24)
    };
    let iif_rule = Rule {
        to: Some(("192.0.2.0".parse().unwrap(), 24)),
        iif: Some("va".into()),
        priority: Some(2000),
        ..Rule::to_table(Family::V4, 100)
    };
    let v6_rule = Rule {
        from: Some(("fd00:201::254".parse().unwrap(), 128)),
        priority: Some(2001),
        ..Rule::to_table(Family::V6, 100)
    };

    nl.add_route(&v6).await.unwrap();
    nl.add_route(&with_src).await.unwrap();
    nl.add_rule(&iif_rule).await.unwrap();
    nl.add_rule(&v6_rule).await.unwrap();

    let v6_table = ip(&lan.a.name, "-6 route show table 100");
    assert!(
        v6_table.contains("fd00:99::/64 via fd00:201::2 dev va proto keepalived"),
        "{v6_table}"
    );
    let v4_table = ip(&lan.a.name, "route show table 100");
    assert!(
        v4_table.contains("203.0.113.0/24 dev va proto keepalived scope link src 10.201.0.1"),
        "{v4_table}"
    );
    let rules = ip(&lan.a.name, "rule show");
    assert!(
        rules.contains("2000:\tfrom all to 192.0.2.0/24 iif va lookup 100 proto keepalived"),
        "{rules}"
    );
    let rules6 = ip(&lan.a.name, "-6 rule show");
    assert!(
        rules6.contains("2001:\tfrom fd00:201::254 lookup 100 proto keepalived"),
        "{rules6}"
    );
    assert!(nl
        .list_routes(Family::V6)
        .await
        .unwrap()
        .iter()
        .any(|r| r.dst == v6.dst && r.table == 100));

    nl.del_route(&v6).await.unwrap();
    nl.del_route(&with_src).await.unwrap();
    nl.del_rule(&iif_rule).await.unwrap();
    nl.del_rule(&v6_rule).await.unwrap();
    assert!(!ip(&lan.a.name, "-6 route show table 100").contains("fd00:99::"));
    assert!(!ip(&lan.a.name, "rule show").contains("2000:"));
}
