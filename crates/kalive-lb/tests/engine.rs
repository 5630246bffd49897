//! The engine's keepalived semantics (reference/keepalived-behaviour.md
//! §1.12, `check/ipwrapper.c`): quorum with hysteresis, sorry server,
//! inhibit_on_failure, omega, notifications and FIFO lines.

use kalive_lb::{
    Dest, Family, LbConfig, LbEngine, LbEvent, Member, Method, Protocol, RealServerConfig, RsKey,
    Scheduler, SchedulerFlags, ServiceConfig, SorryServerConfig, VsKey,
};
use std::net::IpAddr;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn rs_key(i: usize) -> RsKey {
    RsKey {
        addr: ip(&format!("10.1.{i}.2")),
        port: Some(8080),
    }
}

fn vs_key() -> VsKey {
    VsKey::Ip {
        addr: ip("10.0.0.1"),
        port: Some(80),
        protocol: Protocol::Tcp,
    }
}

fn real_server(i: usize, weight: u32) -> RealServerConfig {
    RealServerConfig {
        key: rs_key(i),
        weight,
        method: Method::Nat,
        inhibit_on_failure: false,
        upper_threshold: 0,
        lower_threshold: 0,
        initially_alive: true,
    }
}

fn sorry(inhibit: bool) -> SorryServerConfig {
    SorryServerConfig {
        key: RsKey {
            addr: ip("10.9.9.9"),
            port: Some(8080),
        },
        method: Method::Nat,
        inhibit,
        weight: 1,
    }
}

fn service(weights: &[u32], quorum: u32, hysteresis: u32) -> ServiceConfig {
    ServiceConfig {
        key: vs_key(),
        members: vec![Member::Addresses {
            first: ip("10.0.0.1"),
            last: ip("10.0.0.1"),
            port: Some(80),
        }],
        family: Family::V4,
        protocol: Some(Protocol::Tcp),
        scheduler: Scheduler::Wrr,
        flags: SchedulerFlags::default(),
        persistence: None,
        persistence_engine: None,
        quorum,
        hysteresis,
        omega: false,
        sorry_server: None,
        real_servers: weights
            .iter()
            .enumerate()
            .map(|(i, w)| real_server(i, *w))
            .collect(),
    }
}

fn start(svc: ServiceConfig) -> (LbEngine, Vec<LbEvent>) {
    LbEngine::new(LbConfig {
        services: vec![svc],
        rs_init_notifies: false,
    })
}

/// The destinations the engine wants, as (address, weight).
fn dests(lb: &LbEngine) -> Vec<(String, u32)> {
    lb.desired().services[&vs_key()]
        .dests
        .iter()
        .map(|(k, d)| (k.addr.to_string(), d.weight))
        .collect()
}

fn quorum_events(events: &[LbEvent]) -> Vec<(bool, bool, i64, i64)> {
    events
        .iter()
        .filter_map(|e| match e {
            LbEvent::Quorum {
                up,
                init,
                threshold,
                weight_sum,
                ..
            } => Some((*up, *init, *threshold, *weight_sum)),
            LbEvent::RealServer { .. } => None,
        })
        .collect()
}

fn down(lb: &mut LbEngine, i: usize) -> Vec<LbEvent> {
    lb.set_alive(&vs_key(), &rs_key(i), false)
        .expect("known server")
}

fn up(lb: &mut LbEngine, i: usize) -> Vec<LbEvent> {
    lb.set_alive(&vs_key(), &rs_key(i), true)
        .expect("known server")
}

#[test]
fn hysteresis_keeps_quorum_until_below_quorum_minus_hysteresis() {
    let (mut lb, events) = start(service(&[1, 1, 1], 2, 1));
    // Starting with quorum up says nothing (keepalived only reports a
    // start without quorum when a sorry server takes over).
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(lb.quorum_up(&vs_key()), Some(true));

    let e = down(&mut lb, 0);
    assert_eq!(
        e[0],
        LbEvent::RealServer {
            vs: vs_key(),
            rs: rs_key(0),
            up: false,
            stopping: false
        }
    );
    assert!(quorum_events(&e).is_empty(), "2 live >= 2-1: {e:?}");
    assert!(quorum_events(&down(&mut lb, 1)).is_empty(), "1 live >= 2-1");
    assert_eq!(quorum_events(&down(&mut lb, 2)), vec![(false, false, 1, 0)]);

    // Regaining needs quorum + hysteresis = 3.
    assert!(quorum_events(&up(&mut lb, 0)).is_empty());
    assert!(quorum_events(&up(&mut lb, 1)).is_empty());
    assert_eq!(lb.quorum_up(&vs_key()), Some(false));
    assert_eq!(quorum_events(&up(&mut lb, 2)), vec![(true, false, 3, 3)]);
}

#[test]
fn quorum_counts_weights_and_dynamic_weights() {
    let (mut lb, _) = start(service(&[3, 1], 3, 0));
    assert_eq!(quorum_events(&down(&mut lb, 0)), vec![(false, false, 3, 1)]);
    // A dynamic weight (misc_dynamic) can bring quorum back.
    let e = lb.set_weight(&vs_key(), &rs_key(1), 5).expect("known");
    assert_eq!(quorum_events(&e), vec![(true, false, 3, 5)]);
    assert_eq!(dests(&lb), vec![("10.1.1.2".to_owned(), 5)]);
    // Negative dynamic weights clamp to 0 (keepalived's real_weight).
    let e = lb.set_weight(&vs_key(), &rs_key(1), -4).expect("known");
    assert_eq!(quorum_events(&e), vec![(false, false, 3, 0)]);
    assert_eq!(dests(&lb), vec![("10.1.1.2".to_owned(), 0)]);
}

#[test]
fn sorry_server_replaces_live_servers_while_quorum_is_lost() {
    let mut svc = service(&[1, 1], 2, 0);
    svc.sorry_server = Some(sorry(false));
    let (mut lb, events) = start(svc);
    assert!(events.is_empty());
    assert_eq!(
        dests(&lb),
        vec![("10.1.0.2".to_owned(), 1), ("10.1.1.2".to_owned(), 1)]
    );

    let e = down(&mut lb, 0);
    assert_eq!(quorum_events(&e), vec![(false, false, 2, 1)]);
    assert_eq!(dests(&lb), vec![("10.9.9.9".to_owned(), 1)]);

    // Changes while the sorry server is in use are not pushed.
    down(&mut lb, 1);
    assert_eq!(dests(&lb), vec![("10.9.9.9".to_owned(), 1)]);
    up(&mut lb, 1);
    assert_eq!(dests(&lb), vec![("10.9.9.9".to_owned(), 1)]);

    let e = up(&mut lb, 0);
    assert_eq!(quorum_events(&e), vec![(true, false, 2, 2)]);
    assert_eq!(
        dests(&lb),
        vec![("10.1.0.2".to_owned(), 1), ("10.1.1.2".to_owned(), 1)]
    );
}

#[test]
fn starting_without_quorum_puts_the_sorry_server_in_at_once() {
    let mut svc = service(&[1, 1], 1, 0);
    for rs in &mut svc.real_servers {
        rs.initially_alive = false; // alpha
    }
    svc.sorry_server = Some(sorry(false));
    let (lb, events) = start(svc);
    assert_eq!(quorum_events(&events), vec![(false, true, 1, 0)]);
    assert_eq!(
        events[0].quorum_message().as_deref(),
        Some("=> Starting with quorum down 1+0=1 <= 0 <=")
    );
    assert_eq!(dests(&lb), vec![("10.9.9.9".to_owned(), 1)]);
}

#[test]
fn inhibit_on_failure_keeps_failed_servers_at_weight_zero() {
    let mut svc = service(&[2, 3], 1, 0);
    svc.real_servers[0].inhibit_on_failure = true;
    svc.sorry_server = Some(sorry(true));
    let (mut lb, _) = start(svc);
    // sorry_server_inhibit: present at weight 0 while unused.
    assert_eq!(
        dests(&lb),
        vec![
            ("10.1.0.2".to_owned(), 2),
            ("10.1.1.2".to_owned(), 3),
            ("10.9.9.9".to_owned(), 0)
        ]
    );
    down(&mut lb, 0);
    assert_eq!(
        dests(&lb),
        vec![
            ("10.1.0.2".to_owned(), 0),
            ("10.1.1.2".to_owned(), 3),
            ("10.9.9.9".to_owned(), 0)
        ]
    );
    // Quorum lost: the non-inhibited server leaves, the inhibited one stays
    // at 0, the sorry server gets its weight.
    down(&mut lb, 1);
    assert_eq!(
        dests(&lb),
        vec![("10.1.0.2".to_owned(), 0), ("10.9.9.9".to_owned(), 1)]
    );
    up(&mut lb, 0);
    assert_eq!(
        dests(&lb),
        vec![("10.1.0.2".to_owned(), 2), ("10.9.9.9".to_owned(), 0)],
        "quorum back: sorry server inhibited again"
    );
}

#[test]
fn omega_runs_down_notifiers_at_stop() {
    let mut svc = service(&[1, 1], 1, 0);
    svc.omega = true;
    let (mut lb, _) = start(svc.clone());
    down(&mut lb, 1);
    let events = lb.stop();
    assert_eq!(
        events,
        vec![
            LbEvent::RealServer {
                vs: vs_key(),
                rs: rs_key(0),
                up: false,
                stopping: true
            },
            LbEvent::Quorum {
                vs: vs_key(),
                up: false,
                init: false,
                stopping: true,
                quorum: 1,
                hysteresis: 0,
                threshold: 1,
                weight_sum: 0
            },
        ]
    );
    assert_eq!(
        events[1].quorum_message().as_deref(),
        Some("=> Shutting down <=")
    );
    assert!(
        lb.desired().services.is_empty(),
        "stop removes every service"
    );
    assert!(lb.stop().is_empty(), "stopping twice says nothing more");

    svc.omega = false;
    let (mut lb, _) = start(svc);
    assert!(
        lb.stop().is_empty(),
        "without omega only SNMP traps would be sent"
    );
}

#[test]
fn fifo_lines_match_keepalived() {
    let rs_down = LbEvent::RealServer {
        vs: vs_key(),
        rs: rs_key(0),
        up: false,
        stopping: false,
    };
    assert_eq!(
        rs_down.fifo_line(),
        b"RS [10.1.0.2]:tcp:8080 [10.0.0.1]:tcp:80 DOWN\n\0"
    );
    let fwm = VsKey::Fwmark {
        mark: 7,
        family: Family::V4,
    };
    let q = LbEvent::Quorum {
        vs: fwm.clone(),
        up: true,
        init: false,
        stopping: false,
        quorum: 1,
        hysteresis: 0,
        threshold: 1,
        weight_sum: 1,
    };
    assert_eq!(q.fifo_line(), b"VS FWM 7 UP\n\0");
    let rs6 = LbEvent::RealServer {
        vs: fwm,
        rs: RsKey {
            addr: ip("fd01::2"),
            port: None,
        },
        up: true,
        stopping: false,
    };
    assert_eq!(rs6.fifo_line(), b"RS [fd01::2]:none:0 FWM 7 UP\n\0");
    let group = VsKey::Group {
        name: "web".into(),
        protocol: Some(Protocol::Udp),
        family: Family::V4,
    };
    assert_eq!(group.to_string(), "[web]:0");
}

#[test]
fn rs_init_notifies_reports_servers_up_at_start() {
    let (_, events) = LbEngine::new(LbConfig {
        services: vec![service(&[1, 1], 1, 0)],
        rs_init_notifies: true,
    });
    let ups: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, LbEvent::RealServer { up: true, .. }))
        .collect();
    assert_eq!(ups.len(), 2);
}

#[test]
fn unknown_servers_are_errors_not_panics() {
    let (mut lb, _) = start(service(&[1], 1, 0));
    assert!(lb.set_alive(&vs_key(), &rs_key(9), false).is_err());
    let other = VsKey::Fwmark {
        mark: 1,
        family: Family::V4,
    };
    assert!(lb.set_weight(&other, &rs_key(0), 1).is_err());
}

#[test]
fn reload_keeps_health_and_reports_removed_servers() {
    let (mut lb, _) = start(service(&[1, 1, 1], 1, 0));
    down(&mut lb, 0);
    // New config: server 0 stays (still down), server 2 goes, server 3 comes.
    let mut svc = service(&[1, 1], 1, 0);
    svc.real_servers.push(real_server(3, 4));
    let events = lb.reconfigure(LbConfig {
        services: vec![svc],
        rs_init_notifies: false,
    });
    assert_eq!(
        events,
        vec![LbEvent::RealServer {
            vs: vs_key(),
            rs: rs_key(2),
            up: false,
            stopping: false
        }]
    );
    assert_eq!(
        dests(&lb),
        vec![("10.1.1.2".to_owned(), 1), ("10.1.3.2".to_owned(), 4)]
    );

    // A removed service loses quorum with notifications.
    let events = lb.reconfigure(LbConfig::default());
    assert_eq!(quorum_events(&events), vec![(false, false, 1, 0)]);
    assert_eq!(
        events.len(),
        3,
        "two live servers down, then quorum: {events:?}"
    );
    assert!(lb.desired().services.is_empty());
}

#[test]
fn dest_carries_the_method() {
    let mut svc = service(&[1], 1, 0);
    svc.real_servers[0].method = Method::Dr;
    let (lb, _) = start(svc);
    assert_eq!(
        lb.desired().services[&vs_key()].dests[&rs_key(0)],
        Dest {
            weight: 1,
            method: Method::Dr,
            upper_threshold: 0,
            lower_threshold: 0,
        }
    );
}
