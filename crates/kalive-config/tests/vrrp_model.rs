//! The VRRP-side model an operator relies on: keepalived's defaults and
//! quirks (reference §1.5-§1.8 and the appendix) applied by the parser.

use kalive_config::model::net::{Broadcast, Lifetime, RouteType, RuleAction, Scope};
use kalive_config::model::vrrp::{InitialState, VrrpInstance, VrrpVersion};
use kalive_config::system::FakeSystem;
use kalive_config::{load_str, Loaded};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

fn load(text: &str) -> Loaded {
    let sys = FakeSystem::with_interfaces(&["lo", "eth0", "eth1"]);
    load_str(text, "m.conf", Arc::new(sys))
}

fn instance(body: &str) -> (VrrpInstance, Vec<String>) {
    let text = format!("vrrp_instance VI {{\n interface eth0\n virtual_router_id 7\n{body}\n}}\n");
    let l = load(&text);
    let msgs = l.diagnostics.iter().map(|d| d.to_string()).collect();
    (l.config.vrrp_instances[0].clone(), msgs)
}

const VIP: &str = " virtual_ipaddress {\n  10.1.1.1/24\n }";

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

#[test]
fn state_master_without_priority_is_the_address_owner() {
    let (v, msgs) = instance(&format!(" state MASTER\n{VIP}"));
    assert_eq!((v.state, v.priority), (InitialState::Master, 255));
    assert!(msgs.is_empty(), "{msgs:?}");
    // Priority 255 without a state means MASTER.
    let (v, _) = instance(&format!(" priority 255\n{VIP}"));
    assert_eq!(v.state, InitialState::Master);
    // Neither: BACKUP at 100.
    let (v, _) = instance(VIP);
    assert_eq!((v.state, v.priority), (InitialState::Backup, 100));
}

#[test]
fn v2_advert_int_is_rounded_to_whole_seconds() {
    let (v, msgs) = instance(&format!(" advert_int 2.5\n{VIP}"));
    assert_eq!(v.advert_int, Duration::from_secs(3));
    assert!(msgs
        .iter()
        .any(|m| m.contains("must be an integer - rounding")));
    let (v, _) = instance(&format!(" advert_int 0.4\n{VIP}"));
    assert_eq!(v.advert_int, Duration::from_secs(1), "never rounded to 0");
}

#[test]
fn v3_advert_int_is_centiseconds_up_to_40_95() {
    let (v, msgs) = instance(&format!(" version 3\n advert_int 0.25\n{VIP}"));
    assert_eq!(
        (v.version, v.advert_int),
        (VrrpVersion::V3, Duration::from_millis(250))
    );
    assert!(msgs.is_empty(), "{msgs:?}");
    let (v, msgs) = instance(&format!(" version 3\n advert_int 50\n{VIP}"));
    assert_eq!(v.advert_int, Duration::from_millis(40_950));
    assert!(msgs.iter().any(|m| m.contains("out of range")));
    let (v, _) = instance(&format!(" version 3\n advert_int 0.015\n{VIP}"));
    assert_eq!(
        v.advert_int,
        Duration::from_millis(20),
        "rounded to 10 ms units"
    );
}

#[test]
fn ipv6_instances_are_version_3() {
    let (v, _) = instance(" virtual_ipaddress {\n  fe80::1/64\n  2001:db8::1/64\n }");
    assert!(v.ipv6);
    assert_eq!(v.version, VrrpVersion::V3);
    assert_eq!(v.virtual_ipaddresses[0].address.len, 64);
}

#[test]
fn globals_fill_instance_defaults() {
    let l = load(&format!(
        "global_defs {{\n vrrp_version 3\n vrrp_garp_master_delay 8\n vrrp_garp_master_repeat 2\n vrrp_down_timer_adverts 4\n}}\nvrrp_instance VI {{\n interface eth0\n virtual_router_id 7\n garp_master_repeat 9\n{VIP}\n}}\n"
    ));
    let v = &l.config.vrrp_instances[0];
    assert_eq!(v.version, VrrpVersion::V3);
    assert_eq!(v.garp.master_delay, Some(Duration::from_secs(8)));
    assert_eq!(v.garp.master_repeat, Some(9));
    // lower-priority GARPs follow the master values by default.
    assert_eq!(v.garp.lower_prio_delay, Some(Duration::from_secs(8)));
    assert_eq!(v.garp.lower_prio_repeat, Some(2));
    assert_eq!(v.down_timer_adverts, Some(4));
    assert_eq!(v.accept, Some(true));
}

#[test]
fn strict_mode_changes_defaults() {
    let l = load(&format!(
        "global_defs {{\n vrrp_strict\n}}\nvrrp_instance VI {{\n interface eth0\n virtual_router_id 7\n priority 255\n{VIP}\n}}\n"
    ));
    let v = &l.config.vrrp_instances[0];
    assert_eq!(v.strict_mode, Some(true));
    assert_eq!(v.accept, Some(false));
    assert_eq!(v.lower_prio_no_advert, Some(true));
    assert_eq!(v.owner_ignore_adverts, Some(true));
    assert_eq!(v.garp.lower_prio_repeat, Some(0));
}

#[test]
fn auth_pass_is_truncated_to_8_bytes_with_a_warning() {
    let (v, msgs) = instance(&format!(
        " authentication {{\n  auth_type PASS\n  auth_pass 123456789\n }}\n{VIP}"
    ));
    assert_eq!(
        v.authentication.map(|a| a.password),
        Some(b"12345678".to_vec())
    );
    assert!(msgs
        .iter()
        .any(|m| m.contains("warning: Truncating auth_pass to 8 characters")));
}

#[test]
fn nopreempt_with_state_master_is_cleared() {
    let (v, msgs) = instance(&format!(" state MASTER\n priority 150\n nopreempt\n{VIP}"));
    assert!(!v.nopreempt);
    assert!(msgs
        .iter()
        .any(|m| m.contains("nopreempt will not work with initial state MASTER")));
    let (v, _) = instance(&format!(" nopreempt\n preempt_delay 30\n{VIP}"));
    assert!(v.nopreempt);
    assert_eq!(
        v.preempt_delay,
        Duration::ZERO,
        "preempt_delay is incompatible with nopreempt"
    );
}

#[test]
fn track_script_weight_comes_from_the_script_unless_given() {
    let l = load(&format!(
        "vrrp_script s1 {{\n script \"</dev/tcp/127.0.0.1/80\"\n weight -20\n}}\nvrrp_script s2 {{\n script \"</dev/tcp/127.0.0.1/81\"\n weight 10 reverse\n}}\nvrrp_instance VI {{\n interface eth0\n virtual_router_id 7\n track_script {{\n  s1\n  s2 weight 5\n }}\n{VIP}\n}}\n"
    ));
    let v = &l.config.vrrp_instances[0];
    let w: Vec<(i32, bool)> = v
        .track_scripts
        .iter()
        .map(|t| (t.weight.unwrap_or(0), t.reverse.unwrap_or(false)))
        .collect();
    assert_eq!(w, [(-20, false), (5, true)]);
}

#[test]
fn weighted_trackers_are_dropped_for_address_owners() {
    let (v, msgs) = instance(&format!(
        " priority 255\n track_interface {{\n  eth1 weight 10\n }}\n{VIP}"
    ));
    assert!(v.track_interfaces.is_empty());
    assert!(msgs.iter().any(|m| m.contains("due to address owner")));
}

#[test]
fn address_route_and_rule_options() {
    let (v, _) = instance(
        " virtual_ipaddress {\n  10.1.1.1/24 brd + dev eth1 scope link label eth1:1 no_track preferred_lft forever\n }\n \
         virtual_routes {\n  src 10.1.1.1 to 10.9.0.0/16 via 10.1.1.254 dev eth1 table 100 metric 5 mtu lock 1400\n  blackhole 10.8.0.0/16\n  default via 10.1.1.254 dev eth0\n }\n \
         virtual_rules {\n  from 10.1.1.0/24 table 100 priority 50\n  not to 10.2.0.0/16 goto 60 preference 55 fwmark 0x10/0xff iif eth0\n }",
    );
    let a = &v.virtual_ipaddresses[0];
    assert_eq!(a.broadcast, Some(Broadcast::Plus));
    assert_eq!(
        (a.dev.as_deref(), a.scope, a.label.as_deref()),
        (Some("eth1"), Some(Scope::Link), Some("eth1:1"))
    );
    assert!(a.no_track);
    assert_eq!(a.preferred_lft, Some(Lifetime::Forever));
    let r = &v.virtual_routes[0];
    assert_eq!(r.dest.to_string(), "10.9.0.0/16");
    assert_eq!(
        (r.src, r.via),
        (Some(ip("10.1.1.1")), Some(ip("10.1.1.254")))
    );
    assert_eq!((r.table, r.metric), (Some(100), Some(5)));
    assert_eq!(r.mtu.map(|m| (m.value, m.lock)), Some((1400, true)));
    assert_eq!(v.virtual_routes[1].route_type, RouteType::Blackhole);
    assert!(
        v.virtual_routes[1].no_track,
        "no interface: keepalived does not track it"
    );
    assert_eq!(v.virtual_routes[2].dest.to_string(), "0.0.0.0/0");
    let rules = &v.virtual_rules;
    assert_eq!((rules[0].table, rules[0].preference), (Some(100), Some(50)));
    assert!(rules[1].not);
    assert_eq!(rules[1].action, RuleAction::Goto(60));
    assert_eq!((rules[1].fwmark, rules[1].fwmask), (Some(16), Some(255)));
    assert_eq!(rules[1].iif.as_deref(), Some("eth0"));
}

#[test]
fn unicast_peers_and_vmac() {
    let (v, msgs) = instance(&format!(
        " unicast_src_ip 10.1.1.2\n unicast_peer {{\n  10.1.1.3 min_ttl 250 max_ttl 255\n  10.1.1.4\n }}\n use_vmac vrrp.7 netlink_notify_msg\n vmac_xmit_base\n{VIP}"
    ));
    assert!(v.is_unicast());
    assert_eq!(v.unicast_peers[0].min_ttl, Some(250));
    assert!(
        v.check_unicast_src,
        "min_ttl/max_ttl turn on check_unicast_src"
    );
    let vmac = v.use_vmac.as_ref().expect("use_vmac");
    assert_eq!(vmac.name.as_deref(), Some("vrrp.7"));
    assert!(vmac.netlink_notify_msg && v.vmac_xmit_base);
    assert!(msgs.is_empty(), "{msgs:?}");
}

#[test]
fn notify_scripts_keep_keepalived_argument_split() {
    let sys = FakeSystem::with_interfaces(&["lo", "eth0"])
        .file("/etc/keepalived/notify.sh", 0o755)
        .user("keepalived_script", 990);
    let l = load_str(
        &format!(
            "global_defs {{\n enable_script_security\n}}\nvrrp_instance VI {{\n interface eth0\n virtual_router_id 7\n notify \"/etc/keepalived/notify.sh 'two words' x\"\n notify_master /etc/keepalived/notify.sh root\n{VIP}\n}}\n"
        ),
        "m.conf",
        Arc::new(sys),
    );
    let v = &l.config.vrrp_instances[0];
    assert_eq!(
        v.notify.any.as_ref().map(|s| s.args.clone()),
        Some(vec![
            "/etc/keepalived/notify.sh".to_string(),
            "two words".into(),
            "x".into()
        ])
    );
    let m = v.notify.master.as_ref().expect("notify_master");
    assert_eq!(m.user.as_ref().map(|u| u.user.as_str()), Some("root"));
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
}
