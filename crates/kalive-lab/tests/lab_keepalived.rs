//! Lab self-tests with Debian's keepalived as the daemon: they prove the lab
//! (topology, launch, observation, recording, faults, cleanup) against the
//! reference implementation. Real kernel, root required.

mod common;

use std::time::Duration;

use common::*;

const KEEPALIVED: &[&str] = &["keepalived"];
use kalive_lab::{two_master_moments, Direction, LossScope};

#[test]
fn keepalived_sigkill_of_master_backup_takes_over_and_lab_cleans_up() {
    let figures = sigkill_master(KEEPALIVED);
    eprintln!(
        "keepalived SIGKILL gap: {:.1} ms",
        figures[0].gap().as_secs_f64() * 1e3
    );
}

#[test]
fn keepalived_sigterm_sends_priority_zero_and_backup_takes_over_at_skew() {
    let t = sigterm_master(KEEPALIVED);
    eprintln!(
        "keepalived SIGTERM gap: {:.1} ms",
        t.gap().as_secs_f64() * 1e3
    );
}

#[test]
fn keepalived_link_down_moves_the_vip_and_link_up_brings_it_back() {
    link_down_and_back(KEEPALIVED);
}

#[test]
fn keepalived_vrrpv3_ipv6_sends_unsolicited_na() {
    ipv6_v3_with_na(KEEPALIVED);
}

/// The loss fault: dropping all VRRP at the backup makes it deaf, so it
/// becomes master too; the recorder counts the two-master moments; clearing
/// the rule converges again.
#[test]
fn lab_vrrp_loss_on_backup_shows_two_masters_then_converges() {
    let mut g = Group::new(
        KEEPALIVED,
        3,
        Duration::from_millis(100),
        &[150, 100],
        false,
    );
    g.start_all();
    g.wait_master(0, Duration::from_secs(10));
    g.lab
        .set_loss(1, 100, LossScope::Vrrp, Direction::In)
        .unwrap();
    let deaf = kalive_lab::wait_for(
        "r2 to claim the VIP while deaf",
        Duration::from_secs(5),
        Duration::from_millis(50),
        || Ok((g.lab.holders(g.vip)? == [0, 1]).then_some(())),
    );
    deaf.unwrap_or_else(|e| panic!("{e}\n{}", g.wire_summary()));
    std::thread::sleep(Duration::from_millis(500));
    let moments = two_master_moments(&g.lab.events(), g.vrid, g.interval);
    assert!(
        moments > 0,
        "two masters not detected\n{}",
        g.wire_summary()
    );
    g.lab.clear_loss(1).unwrap();
    g.wait_master_after_heal(0, Duration::from_secs(5));
    g.finish();
}

/// A partition between r1 and r2 gives two masters; healing it converges.
#[test]
fn lab_partition_splits_and_heal_converges() {
    let mut g = Group::new(
        KEEPALIVED,
        3,
        Duration::from_millis(100),
        &[150, 100],
        false,
    );
    g.start_all();
    g.wait_master(0, Duration::from_secs(10));
    g.lab.partition(&[0], &[1]).unwrap();
    let split = kalive_lab::wait_for(
        "both sides to hold the VIP",
        Duration::from_secs(5),
        Duration::from_millis(50),
        || Ok((g.lab.holders(g.vip)? == [0, 1]).then_some(())),
    );
    split.unwrap_or_else(|e| panic!("{e}\n{}", g.wire_summary()));
    g.lab.heal().unwrap();
    g.wait_master_after_heal(0, Duration::from_secs(5));
    g.finish();
}

#[test]
fn lab_without_daemons_builds_and_cleans_up() {
    let lab = lab(2);
    let prefix = format!("{}-", lab.prefix());
    assert_eq!(
        kalive_lab::namespaces_with_prefix(&prefix).unwrap().len(),
        4,
        "switch, two routers and a client"
    );
    let r1 = lab.addresses(0).unwrap();
    assert!(r1.iter().any(|a| a.addr.to_string() == "10.0.0.1"));
    assert!(r1.iter().any(|a| a.addr.to_string() == "fd00::1"));
    // The responders answer on the routers' own addresses too.
    assert_eq!(
        lab.ask("10.0.0.2".parse().unwrap()).unwrap().as_deref(),
        Some("r2")
    );
    assert_eq!(
        lab.ask("fd00::1".parse().unwrap()).unwrap().as_deref(),
        Some("r1")
    );
    drop(lab);
    assert_no_leftovers(&prefix, &[]);
}

#[test]
fn keepalived_nopreempt_leaves_the_new_master_alone() {
    nopreempt(KEEPALIVED);
}

#[test]
fn keepalived_preempt_delay_holds_the_preemption_back() {
    let waited = preempt_delay(KEEPALIVED);
    eprintln!(
        "keepalived preempt_delay 2 s: preempted {:.2} s after restart",
        waited.as_secs_f64()
    );
}

#[test]
fn keepalived_vrrp_script_weight_moves_and_returns_the_vip() {
    vrrp_script(KEEPALIVED, -60);
}

#[test]
fn keepalived_vrrp_script_weight_zero_faults_and_recovers() {
    vrrp_script(KEEPALIVED, 0);
}

#[test]
fn keepalived_unicast_peers_fail_over() {
    unicast_peers(KEEPALIVED);
}

#[test]
fn keepalived_virtual_routes_follow_the_master() {
    virtual_routes_follow_master(KEEPALIVED);
}

#[test]
fn keepalived_sync_group_moves_both_vips_together() {
    sync_group_moves_together(KEEPALIVED);
}

#[test]
fn keepalived_notify_scripts_and_fifo() {
    notify_scripts_and_fifo(KEEPALIVED);
}

#[test]
fn keepalived_use_vmac_answers_from_the_virtual_mac() {
    use_vmac(KEEPALIVED);
}

#[test]
fn keepalived_drops_bad_packets_and_yields_to_a_good_one() {
    bad_packets_change_nothing(KEEPALIVED);
}
