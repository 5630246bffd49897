//! Reload: what matches keeps its id, state and schedule; what changed
//! starts anew; what is gone is dropped and its late answers ignored.

mod common;

use std::time::Duration;

use common::*;
use kalive_check::{
    Cause, CheckConfig, Input, Outcome, Output, Protocol, RealServerConfig, Settings,
    VirtualServerConfig,
};

fn vs(name: &str, real_servers: Vec<RealServerConfig>) -> VirtualServerConfig {
    let mut vs = VirtualServerConfig::new(name, Some(Protocol::Tcp));
    vs.settings = Settings {
        delay_loop: Some(secs(10)),
        warmup: Some(secs(10)),
        connect_timeout: Some(secs(2)),
        retry: Some(0),
        ..Settings::default()
    };
    vs.real_servers = real_servers;
    vs
}

fn rs_two_checkers(n: u32) -> RealServerConfig {
    let mut rs = rs_tcp(n);
    rs.checkers.push(tcp(rs_addr(n), 443));
    rs
}

fn before() -> CheckConfig {
    CheckConfig {
        log_all_failures: false,
        virtual_servers: vec![
            vs("v1", vec![rs_two_checkers(1), rs_tcp(2), rs_tcp(3)]),
            vs("v2", vec![rs_tcp(4)]),
        ],
    }
}

fn after() -> CheckConfig {
    let mut rs1 = rs_two_checkers(1);
    rs1.checkers[1].settings.delay_loop = Some(secs(4));
    let mut rs2 = rs_tcp(2);
    rs2.weight = Some(3);
    CheckConfig {
        log_all_failures: false,
        virtual_servers: vec![
            vs("v3", vec![rs_tcp(9)]),
            vs("v1", vec![rs2, rs1, rs_tcp(5)]),
        ],
    }
}

#[test]
fn a_reload_keeps_what_did_not_change_and_restarts_what_did() {
    let mut h = Harness::new(&before(), 11);
    let old = h.checks.layout();
    let v1 = &old.virtual_servers[0];
    let (rs1, rs2, rs3) = (
        v1.real_servers[0].id,
        v1.real_servers[1].id,
        v1.real_servers[2].id,
    );
    let (c80, c443) = (
        v1.real_servers[0].checkers[0],
        v1.real_servers[0].checkers[1],
    );
    let c3 = v1.real_servers[2].checkers[0];
    // Port 80 of rs1 refuses; rs3 never answers; everything else passes.
    h.run_until(at(25), &mut |_, c, _| {
        if c == c80 {
            Some((Duration::ZERO, Outcome::failure("refused")))
        } else if c == c3 {
            None
        } else {
            Some((Duration::ZERO, Outcome::success()))
        }
    });
    // Make sure rs3 has a run outstanding when the reload comes.
    for _ in 0..20 {
        if h.checks.checker(c3).expect("c3").probe_in_flight.is_some() {
            break;
        }
        let next = h.now + secs(1);
        h.run_until(next, &mut |_, c, _| {
            (c != c3).then(|| (Duration::ZERO, Outcome::success()))
        });
    }
    let stale = h.last_probe(c3).expect("rs3 was probed");
    assert_eq!(
        h.checks.checker(c3).expect("c3").probe_in_flight,
        Some(stale)
    );
    let c80_before = h.checks.checker(c80).expect("c80");
    assert!(!c80_before.up);
    assert_eq!(h.checks.is_up(rs1), Some(false));
    h.log.clear();

    let result = h.checks.reconfigure(h.now, &after()).expect("accepted");
    let new = &result.layout;
    assert_eq!(new.virtual_servers.len(), 2);
    let v1_new = &new.virtual_servers[1];
    assert_eq!(v1_new.id, v1.id, "v1 matched by name");
    assert_eq!(
        v1_new.real_servers[0].id, rs2,
        "rs2 matched by address and port"
    );
    assert_eq!(v1_new.real_servers[1].id, rs1, "rs1 matched although moved");
    // rs1: port 80 unchanged keeps id, state and schedule; port 443 changed.
    assert_eq!(v1_new.real_servers[1].checkers[0], c80);
    assert_ne!(v1_new.real_servers[1].checkers[1], c443);
    assert_eq!(h.checks.checker(c80).expect("kept"), c80_before);
    assert_eq!(result.kept_checkers.len(), 2, "c80 and rs2's checker");
    let fresh = h
        .checks
        .checker(v1_new.real_servers[1].checkers[1])
        .expect("new checker");
    assert!(fresh.up && !fresh.has_run, "starts as new, no alpha: up");
    let first = fresh.next_check.expect("scheduled");
    assert!(
        first >= h.now && first < h.now + secs(10),
        "within its warmup"
    );
    // Still down because port 80 still fails: no output for rs1.
    assert!(!v1_new.real_servers[1].up);
    assert!(h.transitions(rs1).is_empty());
    // rs2: new weight reported, state kept.
    let outputs = h.checks.drain_outputs();
    assert_eq!(
        outputs,
        vec![Output::WeightChanged {
            rs: rs2,
            old: 1,
            new: 3
        }]
    );
    // rs3, v2 and its server are gone; new servers are in the layout, up.
    assert_eq!(result.removed_real_servers.len(), 2);
    assert!(result.removed_real_servers.contains(&rs3));
    assert_eq!(
        result.removed_virtual_servers,
        vec![old.virtual_servers[1].id]
    );
    assert!(result.removed_checkers.contains(&c3));
    assert!(result.removed_checkers.contains(&c443));
    assert!(new.virtual_servers[0].real_servers[0].up);
    assert!(v1_new.real_servers[2].up);
    assert!(h.checks.real_server(rs3).is_none());
    // The removed checker's late answer is ignored.
    h.input(Input::ProbeDone {
        checker: c3,
        probe: stale,
        outcome: Outcome::failure("late"),
    });
    assert!(h.log.is_empty());
    assert_eq!(h.checks.ignored_outcomes(), 1);
    assert_eq!(h.checks.probes_in_flight(), 0);
}

#[test]
fn removing_the_failing_checker_brings_the_server_up_with_a_reload_cause() {
    let mut h = Harness::new(&before(), 11);
    let layout = h.checks.layout();
    let rs1 = layout.virtual_servers[0].real_servers[0].id;
    let c80 = layout.virtual_servers[0].real_servers[0].checkers[0];
    h.run_until(at(12), &mut |_, c, _| {
        Some(if c == c80 {
            (Duration::ZERO, Outcome::failure("refused"))
        } else {
            (Duration::ZERO, Outcome::success())
        })
    });
    assert_eq!(h.checks.is_up(rs1), Some(false));
    let mut config = before();
    config.virtual_servers[0].real_servers[0].checkers.remove(0);
    let result = h.checks.reconfigure(h.now, &config).expect("accepted");
    assert_eq!(result.removed_checkers, vec![c80]);
    assert_eq!(
        h.checks.drain_outputs(),
        vec![Output::RealServerUp {
            rs: rs1,
            reason: Cause::Reconfigure
        }]
    );
}

#[test]
fn an_identical_reload_changes_nothing() {
    let mut h = Harness::new(&before(), 11);
    h.run_until(at(30), &mut always_up);
    let snapshot = h.checks.real_servers();
    let timeout = h.checks.poll_timeout();
    let result = h.checks.reconfigure(h.now, &before()).expect("accepted");
    assert_eq!(result.layout, h.checks.layout());
    assert!(result.removed_checkers.is_empty() && result.removed_real_servers.is_empty());
    assert_eq!(result.kept_checkers.len(), 5);
    assert_eq!(h.checks.real_servers(), snapshot);
    assert_eq!(h.checks.poll_timeout(), timeout);
    assert!(h.checks.drain_outputs().is_empty());
    // Turning on log_all_failures is not a new checker either.
    let mut logging = before();
    logging.virtual_servers[0].real_servers[0].checkers[0].log_all_failures = true;
    let result = h.checks.reconfigure(h.now, &logging).expect("accepted");
    assert_eq!(result.kept_checkers.len(), 5);
    assert_eq!(h.checks.real_servers(), snapshot);
}

#[test]
fn operator_override_and_suspension_survive_a_reload() {
    let mut config = before();
    config.virtual_servers[1].ha_suspend = true;
    let mut h = Harness::new(&config, 11);
    let layout = h.checks.layout();
    let rs2 = layout.virtual_servers[0].real_servers[1].id;
    let v2 = layout.virtual_servers[1].id;
    h.input(Input::SetRealServerEnabled {
        rs: rs2,
        enabled: false,
    });
    h.input(Input::SetSuspended {
        vs: v2,
        suspended: false,
    });
    h.checks.reconfigure(h.now, &config).expect("accepted");
    let status = h.checks.real_server(rs2).expect("kept");
    assert!(!status.enabled && !status.up);
    assert!(!h.checks.virtual_server(v2).expect("kept").suspended);
}
