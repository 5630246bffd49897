//! The seed document's (../shared/seed/, a Chinese keepalived guide)
//! global_defs, static_*, vrrp_script, vrrp_sync_group and vrrp_instance
//! examples, with its <PLACEHOLDERS> replaced by real values, parse with
//! every keyword recognised and give the model an operator expects.

use kalive_config::model::net::{Broadcast, IpPrefix, RouteType};
use kalive_config::model::vrrp::{AuthType, InitialState, VrrpVersion};
use kalive_config::system::FakeSystem;
use kalive_config::{load_str, Loaded};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

const SEED_VRRP: &str = r#"
global_defs {
    notification_email {
        a@abc.com
        b@abc.com
    }
    notification_email_from alert@abc.com
    smtp_server smtp.abc.com
    smtp_connect_timeout 30
    enable_traps
    router_id host163
}

static_ipaddress {
    10.210.214.163/24 brd 10.210.214.255 dev eth0
}
static_routes {
    10.0.0.0/8 via 10.210.214.1 dev eth0
}

vrrp_script chk_http_port {
    script "</dev/tcp/127.0.0.1/80"
    interval 1
    weight -10
}

vrrp_sync_group VG_1 {
    group {
        inside_network   # name of vrrp_instance (below)
        outside_network  # One for each moveable IP.
    }
    notify_master /path/to_master.sh
    notify_backup /path/to_backup.sh
    notify_fault "/path/fault.sh VG_1"
    notify /path/notify.sh
    smtp_alert
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    use_vmac vrrp.1
    dont_track_primary
    track_interface {
        eth0
        eth1
    }
    mcast_src_ip 10.210.214.163
    lvs_sync_daemon_interface eth1
    garp_master_delay 10
    virtual_router_id 1
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 12345678
    }
    virtual_ipaddress {
        10.210.214.253/24 brd 10.210.214.255 dev eth0
        192.168.1.11/24 brd 192.168.1.255 dev eth1
    }
    virtual_routes {
        172.16.0.0/12 via 10.210.214.1
        192.168.1.0/24 via 192.168.1.1 dev eth1
        default via 202.102.152.1
    }
    track_script {
        chk_http_port
    }
    nopreempt
    preempt_delay 300
    debug
    notify_master "/etc/keepalived/notify.sh master"
    notify_backup "/etc/keepalived/notify.sh backup"
    notify_fault "/etc/keepalived/notify.sh fault"
    notify /etc/keepalived/notify.sh
    smtp_alert
}
"#;

/// eth0/eth1 exist and the guide's SMTP server resolves (keepalived
/// resolves it while reading the config).
fn seed_machine() -> FakeSystem {
    let mut sys = FakeSystem::with_interfaces(&["lo", "eth0", "eth1"]);
    sys.hosts.push("smtp.abc.com".into());
    sys
}

fn load() -> Loaded {
    load_str(SEED_VRRP, "seed.conf", Arc::new(seed_machine()))
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

#[test]
fn every_seed_keyword_is_recognised() {
    let loaded = load();
    let unknown: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| {
            d.message.contains("Unknown keyword") || d.message.contains("missing a parameter")
        })
        .map(|d| d.to_string())
        .collect();
    assert!(unknown.is_empty(), "unrecognised: {unknown:?}");
}

#[test]
fn seed_global_defs_and_static_blocks() {
    let c = load().config;
    let g = &c.global_defs;
    assert_eq!(g.notification_email, ["a@abc.com", "b@abc.com"]);
    assert_eq!(g.notification_email_from.as_deref(), Some("alert@abc.com"));
    let smtp = g.smtp_server.as_ref().expect("smtp_server");
    assert_eq!((smtp.host.as_str(), smtp.port), ("smtp.abc.com", 25));
    assert_eq!(g.smtp_connect_timeout, Duration::from_secs(30));
    assert!(g.enable_traps);
    assert_eq!(g.router_id.as_deref(), Some("host163"));

    let a = &c.static_ipaddresses[0];
    assert_eq!(
        a.address,
        IpPrefix {
            addr: ip("10.210.214.163"),
            len: 24
        }
    );
    assert_eq!(a.broadcast, Some(Broadcast::Address(ip("10.210.214.255"))));
    assert_eq!(a.dev.as_deref(), Some("eth0"));
    let r = &c.static_routes[0];
    assert_eq!(
        r.dest,
        IpPrefix {
            addr: ip("10.0.0.0"),
            len: 8
        }
    );
    assert_eq!(r.via, Some(ip("10.210.214.1")));
    assert_eq!(r.dev.as_deref(), Some("eth0"));
}

#[test]
fn seed_vrrp_script_and_sync_group() {
    let c = load().config;
    // "</dev/tcp/..." only opens a file: it is kept without a script user.
    let s = c.vrrp_script("chk_http_port").expect("vrrp_script kept");
    assert_eq!(s.interval, Duration::from_secs(1));
    assert_eq!(s.weight, -10);
    assert_eq!(
        s.script.as_ref().map(|x| x.program()),
        Some("</dev/tcp/127.0.0.1/80")
    );
}

#[test]
fn seed_sync_group_with_its_members_defined() {
    // The guide's excerpt names members it does not define; define them
    // (VI_1 renamed, plus a second instance) so the group stays.
    let text = SEED_VRRP.replace("vrrp_instance VI_1", "vrrp_instance inside_network")
        + "vrrp_instance outside_network {\n interface eth1\n virtual_router_id 2\n virtual_ipaddress {\n 192.168.1.12/24\n }\n}\n";
    let sys = seed_machine().file("/path/to_master.sh", 0o755);
    let loaded = load_str(&text, "seed.conf", Arc::new(sys));
    let c = &loaded.config;
    let g = &c.vrrp_sync_groups[0];
    assert_eq!(g.name, "VG_1");
    assert_eq!(g.group, ["inside_network", "outside_network"]);
    assert_eq!(g.smtp_alert, Some(true));
    // Scripts that exist are kept, with keepalived's argument split...
    assert_eq!(
        g.notify.master.as_ref().map(|s| s.args.clone()),
        Some(vec!["/path/to_master.sh".to_string()])
    );
    // ...those that do not are dropped, as keepalived does.
    assert!(g.notify.fault.is_none());
    assert_eq!(
        c.vrrp_instance("outside_network")
            .and_then(|v| v.sync_group.as_deref()),
        Some("VG_1")
    );
    // A sync group member's weighted tracker is ignored (man5 vrrp_sync_group).
    let inside = c.vrrp_instance("inside_network").expect("inside_network");
    assert!(inside
        .track_scripts
        .iter()
        .all(|t| t.weight.unwrap_or(0) == 0));
}

#[test]
fn seed_sync_group_without_defined_members_is_removed() {
    let loaded = load();
    assert!(loaded.config.vrrp_sync_groups.is_empty());
    assert!(loaded.diagnostics.iter().any(|d| d
        .message
        .contains("Virtual router inside_network specified in sync group VG_1 doesn't exist")));
}

#[test]
fn seed_vrrp_instance() {
    let loaded = load();
    let v = loaded.config.vrrp_instance("VI_1").expect("VI_1");
    assert_eq!(v.interface.as_deref(), Some("eth0"));
    assert_eq!(v.virtual_router_id, 1);
    assert_eq!(v.priority, 100);
    assert_eq!(v.advert_int, Duration::from_secs(1));
    assert_eq!(v.version, VrrpVersion::V2);
    assert_eq!(
        v.use_vmac.as_ref().and_then(|m| m.name.as_deref()),
        Some("vrrp.1")
    );
    assert!(v.dont_track_primary);
    // eth0 is the instance's own interface: keepalived ignores it.
    let tracked: Vec<&str> = v.track_interfaces.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tracked, ["eth1"]);
    assert_eq!(v.mcast_src_ip, Some(ip("10.210.214.163")));
    assert_eq!(v.lvs_sync_daemon_interface.as_deref(), Some("eth1"));
    assert_eq!(v.garp.master_delay, Some(Duration::from_secs(10)));
    let auth = v.authentication.as_ref().expect("authentication");
    assert_eq!(auth.auth_type, AuthType::Pass);
    assert_eq!(auth.password, b"12345678");
    let vips: Vec<String> = v
        .virtual_ipaddresses
        .iter()
        .map(|a| a.address.to_string())
        .collect();
    assert_eq!(vips, ["10.210.214.253/24", "192.168.1.11/24"]);
    assert_eq!(v.virtual_ipaddresses[1].dev.as_deref(), Some("eth1"));
    assert_eq!(v.virtual_routes.len(), 3);
    assert_eq!(v.virtual_routes[2].dest.to_string(), "0.0.0.0/0");
    assert_eq!(v.virtual_routes[2].via, Some(ip("202.102.152.1")));
    assert_eq!(v.virtual_routes[0].route_type, RouteType::Unicast);
    let scripts: Vec<&str> = v.track_scripts.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(scripts, ["chk_http_port"]);
    // keepalived: nopreempt and preempt_delay do not work with state
    // MASTER and are cleared (with a diagnostic each).
    assert_eq!(v.state, InitialState::Master);
    assert!(!v.nopreempt);
    assert_eq!(v.preempt_delay, Duration::ZERO);
    assert!(loaded.diagnostics.iter().any(|d| d
        .message
        .contains("nopreempt will not work with initial state MASTER")));
    assert_eq!(v.debug, Some(0));
    assert_eq!(v.smtp_alert, Some(true));
    let notify_master = v.notify.master.as_ref().map(|s| s.args.clone());
    assert!(
        notify_master.is_none()
            || notify_master == Some(vec!["/etc/keepalived/notify.sh".into(), "master".into()]),
        "notify_master split like keepalived: {notify_master:?}"
    );
}
