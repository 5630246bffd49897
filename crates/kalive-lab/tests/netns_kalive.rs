//! Issue 4 "Done means": the lab scenarios with real kalive processes on a
//! bridge of routers and a client. Each asserts what an operator would
//! check: the VIP on exactly one router (read over netlink), the client
//! reaching the VIP and getting the master's answer, GARP/NA on the wire.
//! Needs root and the kalive binary (`$KALIVE_BIN`, or `kalive` in the
//! cargo target dir: `cargo build --workspace --bins` first).

mod common;

use common::*;

const KALIVE: &[&str] = &["kalive"];

#[test]
fn kalive_sigkill_of_master_backup_takes_over_and_restart_leaves_no_stale_vip() {
    let figures = sigkill_master(KALIVE);
    eprintln!(
        "kalive SIGKILL gap: {:.1} ms",
        figures[0].gap().as_secs_f64() * 1e3
    );
}

#[test]
fn kalive_sigterm_sends_priority_zero_and_backup_takes_over_at_skew() {
    let t = sigterm_master(KALIVE);
    eprintln!("kalive SIGTERM gap: {:.1} ms", t.gap().as_secs_f64() * 1e3);
}

#[test]
fn kalive_link_down_moves_the_vip_and_link_up_brings_it_back() {
    link_down_and_back(KALIVE);
}

#[test]
fn kalive_vrrpv3_ipv6_sends_unsolicited_na() {
    ipv6_v3_with_na(KALIVE);
}

#[test]
fn kalive_nopreempt_leaves_the_new_master_alone() {
    nopreempt(KALIVE);
}

#[test]
fn kalive_preempt_delay_holds_the_preemption_back() {
    let waited = preempt_delay(KALIVE);
    eprintln!(
        "kalive preempt_delay 2 s: preempted {:.2} s after restart",
        waited.as_secs_f64()
    );
}

#[test]
fn kalive_vrrp_script_weight_moves_and_returns_the_vip() {
    vrrp_script(KALIVE, -60);
}

#[test]
fn kalive_vrrp_script_weight_zero_faults_and_recovers() {
    vrrp_script(KALIVE, 0);
}

#[test]
fn kalive_unicast_peers_fail_over() {
    unicast_peers(KALIVE);
}

#[test]
fn kalive_virtual_routes_follow_the_master() {
    virtual_routes_follow_master(KALIVE);
}

#[test]
fn kalive_sync_group_moves_both_vips_together() {
    sync_group_moves_together(KALIVE);
}

#[test]
fn kalive_notify_scripts_and_fifo() {
    notify_scripts_and_fifo(KALIVE);
}

#[test]
fn kalive_use_vmac_answers_from_the_virtual_mac() {
    use_vmac(KALIVE);
}

#[test]
fn kalive_drops_bad_packets_and_yields_to_a_good_one() {
    bad_packets_change_nothing(KALIVE);
}
