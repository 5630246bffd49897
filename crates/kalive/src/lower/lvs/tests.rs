//! Lowering keepalived.conf's `virtual_server` blocks: keepalived's
//! inheritance and defaults (reference §1.12) reach both engines.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use kalive_check::{ProbeSpec, Timing};
use kalive_config::system::FakeSystem;
use kalive_lb::{Member, Method, RsKey, Scheduler, VsKey};

use super::*;

fn lowered(text: &str) -> LvsPlan {
    let system = FakeSystem::with_interfaces(&["eth0"]).file("/bin/true", 0o755);
    // MISC_CHECK and notify scripts need script security (keepalived
    // refuses to run them otherwise).
    let text = format!("global_defs {{\n enable_script_security\n script_user root\n}}\n{text}");
    let loaded = kalive_config::load_str(&text, "test.conf", Arc::new(system));
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity >= kalive_config::Severity::Error)
        .map(|d| d.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    lower(&loaded.config, &mut |s, _| {
        let identity = kalive_sys::script::Identity {
            uid: 0,
            gid: 0,
            groups: Vec::new(),
        };
        Some(Script::new(
            s.args[0].clone(),
            s.args[1..].to_vec(),
            identity,
        ))
    })
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const BASIC: &str = r#"
global_defs {
    lvs_notify_fifo /run/lvs.fifo
    rs_init_notifies
}
virtual_server 10.0.0.100 80 {
    delay_loop 3
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    hysteresis 1
    weight 5
    quorum_up "/bin/true up"
    quorum_down "/bin/true down"
    sorry_server 10.1.0.99 8080
    ha_suspend
    real_server 10.1.0.1 80 {
        weight 3
        inhibit_on_failure
        notify_down "/bin/true rs1 down"
        HTTP_GET {
            url {
                path /health
                status_code 200
            }
            connect_timeout 2
        }
    }
    real_server 10.1.0.2 80 {
        TCP_CHECK {
            connect_port 81
            retry 4
        }
    }
    real_server 10.1.0.3 {
        MISC_CHECK {
            misc_path "/bin/true"
        }
    }
}
"#;

#[test]
fn a_service_reaches_the_lb_engine_with_keepalived_defaults() {
    let plan = lowered(BASIC);
    assert_eq!(plan.lb.services.len(), 1);
    let s = &plan.lb.services[0];
    let key = VsKey::Ip {
        addr: ip("10.0.0.100"),
        port: Some(80),
        protocol: kalive_lb::Protocol::Tcp,
    };
    assert_eq!(s.key, key);
    assert_eq!(
        s.members,
        vec![Member::Addresses {
            first: ip("10.0.0.100"),
            last: ip("10.0.0.100"),
            port: Some(80)
        }]
    );
    assert_eq!(s.scheduler, Scheduler::Rr);
    assert_eq!((s.quorum, s.hysteresis), (2, 1));
    let sorry = s.sorry_server.as_ref().unwrap();
    assert_eq!(
        sorry.key,
        RsKey {
            addr: ip("10.1.0.99"),
            port: Some(8080)
        }
    );
    assert_eq!(
        sorry.weight, 5,
        "the sorry server takes the service's weight"
    );
    assert_eq!(sorry.method, Method::Nat);
    let weights: Vec<u32> = s.real_servers.iter().map(|r| r.weight).collect();
    assert_eq!(
        weights,
        vec![3, 5, 5],
        "weight inherited from the virtual server"
    );
    assert!(s.real_servers[0].inhibit_on_failure);
    assert!(!s.real_servers[1].inhibit_on_failure);
    // A real server without a port takes the service's.
    assert_eq!(s.real_servers[2].key.port, Some(80));
    assert!(plan.lb.rs_init_notifies);
    assert_eq!(plan.fifos, vec![std::path::PathBuf::from("/run/lvs.fifo")]);
}

#[test]
fn checkers_carry_inherited_timing_and_their_kind_defaults() {
    let plan = lowered(BASIC);
    let vs = &plan.check.virtual_servers[0];
    assert_eq!(vs.name, "[10.0.0.100]:tcp:80", "keepalived's FMT_VS");
    assert!(vs.ha_suspend);
    let vs_settings = vs.settings.clone();
    let timing = |rs: usize| {
        let r = &vs.real_servers[rs];
        Timing::resolve(&r.checkers[0], &r.settings.inherit(&vs_settings)).unwrap()
    };
    // HTTP_GET: delay_loop from the virtual server, its own connect_timeout,
    // retry 1 and delay_before_retry 3 s by default.
    let http = timing(0);
    assert_eq!(http.delay_loop, Duration::from_secs(3));
    assert_eq!(http.probe_timeout, Duration::from_secs(2));
    assert_eq!(http.retry, 1);
    assert_eq!(http.delay_before_retry, Duration::from_secs(3));
    assert_eq!(
        http.warmup,
        Duration::from_secs(3),
        "warmup defaults to delay_loop"
    );
    // TCP_CHECK: connect_timeout 5 s from the virtual server's default,
    // its own retry, delay_before_retry 1 s.
    let tcp = timing(1);
    assert_eq!(tcp.probe_timeout, Duration::from_secs(5));
    assert_eq!(tcp.retry, 4);
    assert_eq!(tcp.delay_before_retry, Duration::from_secs(1));
    // MISC_CHECK: retry 0, timeout the delay_loop.
    let misc = timing(2);
    assert_eq!(misc.retry, 0);
    assert_eq!(misc.probe_timeout, Duration::from_secs(3));
    match &vs.real_servers[1].checkers[0].spec {
        ProbeSpec::Tcp(c) => {
            assert_eq!(
                (c.target, c.port),
                (ip("10.1.0.2"), Some(81)),
                "connect_port"
            );
        }
        other => panic!("{other:?}"),
    }
    match &vs.real_servers[0].checkers[0].spec {
        ProbeSpec::HttpGet(h) => {
            assert_eq!(h.connect.port, Some(80));
            assert_eq!(h.urls[0].path, "/health");
            assert_eq!(h.urls[0].status_codes, vec![(200, 200)]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(vs.real_servers[0].weight, Some(3));
    assert_eq!(vs.real_servers[0].inhibit_on_failure, Some(true));
}

#[test]
fn scripts_and_suspend_addresses_are_kept_per_service() {
    let plan = lowered(BASIC);
    let s = &plan.services[0];
    assert_eq!(s.quorum_up.as_ref().unwrap().display(), "/bin/true up");
    assert_eq!(s.quorum_down.as_ref().unwrap().display(), "/bin/true down");
    assert_eq!(s.suspend_on, Some(vec![ip("10.0.0.100")]));
    assert_eq!(s.real_servers.len(), 3);
    assert_eq!(
        s.real_servers[0].notify_down.as_ref().unwrap().display(),
        "/bin/true rs1 down"
    );
    assert!(s.real_servers[1].notify_up.is_none());
}

#[test]
fn real_server_settings_override_the_virtual_servers() {
    let plan = lowered(
        r#"
virtual_server 10.0.0.100 443 {
    protocol TCP
    lb_algo wrr
    delay_loop 10
    retry 2
    delay_before_retry 7
    alpha
    real_server 10.1.0.1 443 {
        delay_loop 4
        TCP_CHECK { }
    }
    real_server 10.1.0.2 443 {
        TCP_CHECK { delay_before_retry 1 }
    }
}
"#,
    );
    let vs = &plan.check.virtual_servers[0];
    let t = |i: usize| {
        let r = &vs.real_servers[i];
        Timing::resolve(&r.checkers[0], &r.settings.inherit(&vs.settings)).unwrap()
    };
    assert_eq!(t(0).delay_loop, Duration::from_secs(4));
    assert_eq!(t(0).retry, 2);
    assert_eq!(t(0).delay_before_retry, Duration::from_secs(7));
    assert!(t(0).alpha);
    assert_eq!(t(1).delay_loop, Duration::from_secs(10));
    assert_eq!(t(1).delay_before_retry, Duration::from_secs(1));
    // alpha: the LB engine starts them down as well.
    assert!(plan.lb.services[0]
        .real_servers
        .iter()
        .all(|r| !r.initially_alive));
}

#[test]
fn groups_and_fwmarks_become_members() {
    let plan = lowered(
        r#"
virtual_server_group web {
    10.0.0.10-12 80
    10.0.0.20 80
    fwmark 7
}
virtual_server group web {
    protocol TCP
    lb_algo sh
    sh-port
    persistence_timeout 60
    persistence_granularity 255.255.255.0
    ha_suspend
    real_server 10.1.0.1 80 { }
}
virtual_server fwmark 9 {
    lb_algo rr
    lb_kind DR
    real_server 10.1.0.1 { }
}
"#,
    );
    assert_eq!(plan.lb.services.len(), 2, "{:?}", plan.warnings);
    let group = &plan.lb.services[0];
    assert_eq!(
        group.members,
        vec![
            Member::Addresses {
                first: ip("10.0.0.10"),
                last: ip("10.0.0.12"),
                port: Some(80)
            },
            Member::Addresses {
                first: ip("10.0.0.20"),
                last: ip("10.0.0.20"),
                port: Some(80)
            },
            Member::Fwmark(7),
        ]
    );
    assert!(group.flags.hash_port);
    let p = group.persistence.unwrap();
    assert_eq!(
        (p.timeout, p.prefix_len),
        (Duration::from_secs(60), Some(24))
    );
    // keepalived clears ha_suspend on a group with fwmarks.
    assert_eq!(plan.services[0].suspend_on, None);
    let fwm = &plan.lb.services[1];
    assert!(matches!(fwm.key, VsKey::Fwmark { mark: 9, .. }));
    assert_eq!(fwm.members, vec![Member::Fwmark(9)]);
    assert_eq!(fwm.real_servers[0].method, Method::Dr);
    assert_eq!(fwm.real_servers[0].key.port, None);
    assert_eq!(plan.check.virtual_servers[1].name, "FWM 9");
    // A real server without checkers is a server that is always up.
    assert!(plan.check.virtual_servers[1].real_servers[0]
        .checkers
        .is_empty());
}

#[test]
fn a_duplicate_virtual_server_is_dropped_with_a_warning() {
    let plan = lowered(
        r#"
virtual_server 10.0.0.1 80 { protocol TCP
    real_server 10.1.0.1 80 { } }
virtual_server 10.0.0.1 80 { protocol TCP
    real_server 10.1.0.2 80 { } }
"#,
    );
    assert_eq!(plan.lb.services.len(), 1);
    assert_eq!(plan.check.virtual_servers.len(), 1);
    assert_eq!(plan.services.len(), 1);
    assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
}
