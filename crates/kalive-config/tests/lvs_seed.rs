//! The seed guide's `virtual_server` example (shared/seed, section
//! "virtual_server_group和virtual_server区域"), with its <PLACEHOLDERS>
//! replaced by real values: every keyword is recognised and lands in the
//! model. keepalived 2.2.7 reports only the `nb_get_retry` deprecation for
//! it (checked with `keepalived -t`, and in `lvs_keepalived.rs`).

use kalive_config::model::lvs::{
    CheckerKind, ForwardingMethod, PersistenceGranularity, Protocol, Scheduler, VsAddress,
};
use kalive_config::system::HostSystem;
use kalive_config::{load_str, Severity};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

/// The seed's example, one value per placeholder.
pub const SEED_VS: &str = r#"
virtual_server 192.168.10.100 80 {
    delay_loop 6
    lb_algo @SCHED@
    lb_kind DR
    persistence_timeout 50
    persistence_granularity 255.255.255.0
    protocol TCP
    ha_suspend
    virtualhost www.example.com
    alpha
    omega
    quorum 2
    hysteresis 1
    quorum_up "/etc/keepalived/lvs-quorum.sh up"
    quorum_down "/etc/keepalived/lvs-quorum.sh down"
    sorry_server 192.168.10.200 80
    real_server 192.168.10.11 80 {
        weight 3
        inhibit_on_failure
        notify_up "/etc/keepalived/rs-notify.sh up"
        notify_down "/etc/keepalived/rs-notify.sh down"
        HTTP_GET {
            url {
                path /health
                # Digest computed with genhash
                digest 9b3a0c85a887a256d6939da88aabd8cd
                status_code 200
            }
            connect_port 80
            connect_timeout 3
            nb_get_retry 3
            delay_before_retry 3
        }
    }
    real_server 192.168.10.12 80 {
        weight 2
        inhibit_on_failure
        notify_up /etc/keepalived/rs-notify.sh
        notify_down /etc/keepalived/rs-notify.sh
        SSL_GET {
            url {
                path /
                status_code 200
            }
            connect_port 443
            connect_timeout 3
            nb_get_retry 2
            delay_before_retry 2
        }
    }
}
"#;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

#[test]
fn seed_virtual_server_parses_with_every_keyword() {
    let text = SEED_VS.replace("@SCHED@", "wrr");
    let loaded = load_str(&text, "seed_vs.conf", Arc::new(HostSystem));
    let counted: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity > Severity::Note)
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        counted,
        [
            "nb_get_retry is deprecated - please use 'retry'",
            "nb_get_retry is deprecated - please use 'retry'"
        ],
        "only keepalived's deprecation notice"
    );

    let lvs = &loaded.config.lvs;
    assert_eq!(lvs.virtual_servers.len(), 1);
    let vs = &lvs.virtual_servers[0];
    assert_eq!(
        vs.address,
        VsAddress::Ip {
            addr: ip("192.168.10.100"),
            port: Some(80)
        }
    );
    assert_eq!(vs.delay_loop, Duration::from_secs(6));
    assert_eq!(vs.scheduler, Scheduler::Wrr);
    assert_eq!(vs.method, ForwardingMethod::Dr);
    assert_eq!(vs.persistence_timeout, Some(Duration::from_secs(50)));
    assert_eq!(
        vs.persistence_granularity,
        Some(PersistenceGranularity::V4Mask(Ipv4Addr::new(
            255, 255, 255, 0
        )))
    );
    assert_eq!(vs.protocol, Some(Protocol::Tcp));
    assert!(vs.ha_suspend);
    assert_eq!(vs.virtualhost.as_deref(), Some("www.example.com"));
    assert!(vs.alpha && vs.omega);
    assert_eq!((vs.quorum, vs.hysteresis), (2, 1));
    let up = vs.quorum_up.as_ref().expect("quorum_up");
    assert_eq!(up.args, ["/etc/keepalived/lvs-quorum.sh", "up"]);
    assert!(vs.quorum_down.is_some());
    let sorry = vs.sorry_server.as_ref().expect("sorry_server");
    assert_eq!((sorry.addr, sorry.port), (ip("192.168.10.200"), Some(80)));
    assert_eq!(
        sorry.method,
        ForwardingMethod::Dr,
        "sorry server inherits DR"
    );

    assert_eq!(vs.real_servers.len(), 2);
    let rs = &vs.real_servers[0];
    assert_eq!(
        (rs.addr, rs.port, rs.weight),
        (ip("192.168.10.11"), Some(80), 3)
    );
    assert!(rs.inhibit_on_failure);
    assert!(rs.alpha, "alpha comes from the virtual server");
    assert_eq!(rs.method, ForwardingMethod::Dr);
    assert_eq!(
        rs.notify_up.as_ref().map(|s| s.args.clone()),
        Some(vec![
            "/etc/keepalived/rs-notify.sh".to_string(),
            "up".to_string()
        ])
    );
    assert!(rs.notify_down.is_some());
    let c = &rs.checkers[0];
    let CheckerKind::HttpGet(http) = &c.kind else {
        panic!("HTTP_GET expected")
    };
    assert_eq!(http.urls[0].path, "/health");
    assert!(http.urls[0].digest.is_some());
    assert!(http.urls[0].accepts_status(200));
    assert!(!http.urls[0].accepts_status(204), "status_code 200 only");
    let conn = c.connection.as_ref().expect("connection");
    assert_eq!(conn.connect_port, Some(80));
    assert_eq!(conn.connect_timeout, Duration::from_secs(3));
    let t = c.timing.expect("timing");
    assert_eq!(t.retry, 3, "nb_get_retry still sets retry");
    assert_eq!(t.delay_before_retry, Duration::from_secs(3));
    assert!(t.alpha);

    let rs2 = &vs.real_servers[1];
    assert_eq!(rs2.weight, 2);
    let c2 = &rs2.checkers[0];
    assert!(matches!(c2.kind, CheckerKind::SslGet(_)));
    assert_eq!(c2.timing.map(|t| t.retry), Some(2));
    assert_eq!(
        c2.connection.as_ref().and_then(|k| k.connect_port),
        Some(443)
    );
}

#[test]
fn every_scheduler_the_seed_lists_is_accepted() {
    for (word, sched) in [
        ("rr", Scheduler::Rr),
        ("wrr", Scheduler::Wrr),
        ("lc", Scheduler::Lc),
        ("wlc", Scheduler::Wlc),
        ("lblc", Scheduler::Lblc),
        ("sh", Scheduler::Sh),
        ("dh", Scheduler::Dh),
    ] {
        let text = SEED_VS.replace("@SCHED@", word);
        let loaded = load_str(&text, "seed_vs.conf", Arc::new(HostSystem));
        assert!(
            loaded
                .diagnostics
                .iter()
                .filter(|d| d.severity > Severity::Note)
                .all(|d| d.message.contains("nb_get_retry")),
            "{word}: {:?}",
            loaded.diagnostics
        );
        assert_eq!(loaded.config.lvs.virtual_servers[0].scheduler, sched);
    }
}
