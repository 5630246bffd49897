//! Issue 11 item 8: a flood of valid lower-priority adverts against a kalive
//! master with 20 VIPs and `vrrp_garp_interval 0.01`.
//!
//! A master answers each lower-priority advert with an advert of its own
//! and a GARP burst for every VIP (keepalived's "forcing new election"),
//! and the GARP interval lets at most 100 GARPs a second leave. At 2,000
//! adverts a second that is 2,000 x 20 VIPs x 5 repeats = 200,000 frames
//! asked for each second against 100 sent. The old netlink owner queued
//! every one of them in one unbounded FIFO shared with address changes:
//! memory grew with the flood (check a), a VIP removed during the flood
//! waited behind the backlog (the issue measured 202 s; check b), and the
//! backlog kept leaving at 100 GARPs a second long after the attacker
//! stopped (about 200 in the 2 s window; check c). The bounded queues
//! coalesce frames per (interface, address), so at most 20 wait, and put
//! address changes before frames.
//!
//! Checked against a kalive built with the old policy put back (frames
//! never coalesced nor bounded, changes behind every frame): RSS 18 -> 83
//! MB, the VIP removal not seen before the test ended, 178 GARPs in the
//! window after. The current queues: 16 -> 17 MB, about 2 ms, 0 GARPs.
//!
//! Needs root, iproute2 and nftables; fails loudly without them.

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::implementation;
use kalive_lab::bench::attack::{self, Attack};
use kalive_lab::bench::reload::Monitor;
use kalive_lab::bench::tree_usage;
use kalive_lab::record::Frame;

const RATE: u32 = 2000;
const FLOOD: Duration = Duration::from_secs(5);
/// Generous for a shared, loaded machine; the old queue took 202 s.
const VIP_CHANGE_LIMIT: Duration = Duration::from_secs(2);
/// The queue may still hold one GARP per VIP when the flood stops (0.2 s
/// at 10 ms spacing); the window starts after that.
const DRAIN: Duration = Duration::from_millis(500);
/// At most two frames per VIP in the window; the old backlog would send
/// about 200 (100 a second).
const MAX_GARPS_AFTER: usize = 2 * attack::VIPS;

#[test]
fn a_lower_priority_flood_neither_grows_memory_nor_delays_a_vip_change_nor_leaves_a_garp_storm() {
    let kalive = implementation("kalive");
    let mut lab = attack::lab().unwrap_or_else(|e| panic!("cannot build the lab: {e}"));
    let (notify, notified) = attack::notify_script(lab.dir()).expect("notify script");
    attack::start_victim(&mut lab, &kalive, &notify)
        .unwrap_or_else(|e| panic!("{e}\n{}", lab.all_logs()));
    std::thread::sleep(Duration::from_secs(2));
    let pid = lab.daemon_pid(0).expect("victim pid");
    let (idle_rss, _) = tree_usage(pid);
    assert!(idle_rss > 0, "no RSS read for pid {pid}");
    let transitions_before = std::fs::read_to_string(&notified).unwrap_or_default();
    let monitor = Monitor::start(&lab.router(0).expect("r1").ns).expect("ip monitor");

    let flood_start = SystemTime::now();
    let flood = Attack::LowerPriority
        .start(&lab, RATE)
        .expect("start the flood");
    let started = Instant::now();
    let mut peak_rss = idle_rss;
    let mut sighup = None;
    while started.elapsed() < FLOOD {
        if sighup.is_none() && started.elapsed() >= FLOOD / 2 {
            sighup = Some(attack::remove_last_vip(&lab, &notify).expect("reload"));
        }
        peak_rss = peak_rss.max(tree_usage(pid).0);
        std::thread::sleep(Duration::from_millis(50));
    }
    let sent = flood.stop().expect("stop the flood");
    let flood_end = SystemTime::now();
    std::thread::sleep(DRAIN + Duration::from_secs(2) + Duration::from_millis(200));
    let sighup = sighup.expect("the reload was sent");
    let removed_at = attack::seen_removed(&monitor, sighup, attack::vip(attack::VIPS));
    let to_kernel = removed_at.map(|at| at.saturating_duration_since(sighup));
    let garps_after = attack::garps_between(
        &lab,
        flood_end + DRAIN,
        flood_end + DRAIN + Duration::from_secs(2),
    );
    let events = lab.events();
    let in_flood = |at: SystemTime| at >= flood_start && at < flood_end;
    let answers = events
        .iter()
        .filter(|e| e.port == "r1" && in_flood(e.at) && e.advert().is_some())
        .count();
    let garps_during = events
        .iter()
        .filter(|e| e.port == "r1" && in_flood(e.at) && matches!(e.frame, Frame::Garp { .. }))
        .count();
    let netlink = attack::kalive_netlink(&lab, kalive.binary()).unwrap_or_default();
    println!(
        "flood: {sent} adverts in {:.1} s; r1 answered {answers} adverts, {garps_during} GARPs; \
         RSS idle {idle_rss} kB, peak {peak_rss} kB; VIP removal reached the kernel after {}; \
         {garps_after} GARPs in the 2 s after; netlink {netlink}",
        FLOOD.as_secs_f64(),
        to_kernel.map_or("never".into(), |t| format!(
            "{:.1} ms",
            t.as_secs_f64() * 1e3
        )),
    );

    // The flood happened and reached the daemon's reply path.
    assert!(
        sent >= u64::from(RATE) * FLOOD.as_secs() * 8 / 10,
        "the attacker sent only {sent} adverts"
    );
    assert!(
        answers >= 100,
        "r1 answered only {answers} adverts: the flood did not reach the master\n{}",
        lab.all_logs()
    );
    // (d) the daemon keeps running and stays master of what it holds.
    assert!(
        lab.daemon_running(0),
        "kalive died under the flood\n{}",
        lab.all_logs()
    );
    let transitions_after = std::fs::read_to_string(&notified).unwrap_or_default();
    assert_eq!(
        transitions_before, transitions_after,
        "the flood made the master change state"
    );
    let held = lab.addresses(0).expect("addresses");
    for i in 1..attack::VIPS {
        assert!(
            held.iter().any(|a| a.addr == attack::vip(i)),
            "VIP {} lost",
            attack::vip(i)
        );
    }
    // (a) memory.
    assert!(
        peak_rss < 2 * idle_rss,
        "RSS grew from {idle_rss} kB idle to {peak_rss} kB under the flood"
    );
    // (b) the VIP change was not stuck behind GARPs.
    let to_kernel = to_kernel.unwrap_or_else(|| {
        panic!(
            "the removed VIP {} never left the kernel\n{}",
            attack::vip(attack::VIPS),
            lab.all_logs()
        )
    });
    assert!(
        to_kernel <= VIP_CHANGE_LIMIT,
        "the VIP removal took {to_kernel:?} to reach the kernel during the flood"
    );
    assert!(
        !held.iter().any(|a| a.addr == attack::vip(attack::VIPS)),
        "the removed VIP is back"
    );
    // (c) no GARP storm after the flood.
    assert!(
        garps_after <= MAX_GARPS_AFTER,
        "{garps_after} GARPs in the 2 s after the flood ended (limit {MAX_GARPS_AFTER})"
    );
}
