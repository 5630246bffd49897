//! Simulated LAN (issue 3): 3 to 5 kalive-vrrp engines on a virtual clock,
//! adverts carried as IP packets encoded with kalive-wire, with delay,
//! seeded loss, crashes and partitions. After every fault and heal: at most
//! one MASTER per connected segment once converged, it is the highest
//! priority there, and takeover happens within Master_Down_Interval plus the
//! simulated delay (RFC 3768 §6.4.2, RFC 5798 §6.4.2).

mod common;

use std::time::Duration;

use common::{Flavour, Lan};
use kalive_vrrp::{Reason, State, Timestamp};

/// Widely spaced so that Skew_Time differences exceed the simulated delay:
/// elections then have a single clean winner.
const PRIORITIES: [u8; 5] = [100, 250, 150, 50, 200];
const SEED: u64 = 0x5eed_cafe;
/// Slack for the engine's integer rounding of Skew_Time.
const ROUNDING: Duration = Duration::from_millis(1);

fn lan(flavour: Flavour) -> Lan {
    Lan::new(flavour, &PRIORITIES, SEED)
}

fn observe_window(flavour: Flavour) -> Duration {
    flavour.advert_interval * 10
}

/// Long enough for any backup's master-down timer plus delivery.
fn settle_window(lan: &Lan) -> Duration {
    lan.flavour.master_down(1) + lan.delay_max * 2 + lan.flavour.advert_interval
}

/// Starts everyone and checks the start-up election, returns the master.
fn converged_lan(flavour: Flavour) -> Lan {
    let mut lan = lan(flavour);
    lan.start_all();
    let settle = settle_window(&lan);
    lan.assert_converges(settle, observe_window(flavour));
    lan
}

/// The takeover after a fault at `fault_at`: the first new MASTER is
/// `expected`, no later than `deadline` after the fault.
fn assert_takeover(lan: &Lan, fault_at: Timestamp, expected: usize, deadline: Duration) {
    let takeover = lan
        .first_master_since(fault_at)
        .unwrap_or_else(|| panic!("no takeover after the fault at {fault_at}"));
    assert_eq!(
        takeover.router, expected,
        "wrong router took over: {takeover:?}"
    );
    let took = takeover.at - fault_at;
    assert!(
        took <= deadline + ROUNDING,
        "{:?}: takeover after {took:?}, limit {deadline:?}",
        lan.flavour
    );
}

#[test]
fn start_up_elects_the_highest_priority_at_its_master_down_time() {
    for flavour in Flavour::all() {
        let mut lan = lan(flavour);
        lan.start_all();
        let settle = settle_window(&lan);
        lan.assert_converges(settle, observe_window(flavour));
        // Everyone starts BACKUP; the highest priority has the shortest
        // Master_Down_Interval and wins before anyone else's timer fires.
        let masters: Vec<_> = lan
            .transitions
            .iter()
            .filter(|t| t.to == State::Master)
            .collect();
        assert_eq!(masters.len(), 1, "{flavour:?}: one election, {masters:?}");
        assert_eq!(masters[0].router, 1);
        assert_eq!(masters[0].reason, Reason::MasterDown);
        let expected = Timestamp::ZERO + flavour.master_down(250);
        let at = masters[0].at;
        assert!(
            at + ROUNDING >= expected && at <= expected + ROUNDING,
            "{flavour:?}: elected at {at}, RFC master-down {expected}"
        );
    }
}

#[test]
fn staggered_start_up_converges() {
    for flavour in Flavour::all() {
        let mut lan = lan(flavour);
        // Each router starts once the previous ones have elected a master,
        // in rising priority: every newcomer preempts (RFC 5798 §6.4.2).
        let settle = settle_window(&lan);
        for router in [3, 0, 2, 4, 1] {
            lan.disturb();
            lan.start(router);
            lan.assert_converges(settle, observe_window(flavour));
            assert_eq!(
                lan.masters(),
                vec![router],
                "{flavour:?}: preempted by the best"
            );
        }
        let elected: Vec<usize> = lan
            .transitions
            .iter()
            .filter(|t| t.to == State::Master)
            .map(|t| t.router)
            .collect();
        assert_eq!(elected, vec![3, 0, 2, 4, 1], "{flavour:?}");
    }
}

#[test]
fn master_crashes_one_after_another() {
    for flavour in Flavour::all() {
        let mut lan = converged_lan(flavour);
        // Crash the master repeatedly: 250 -> 200 -> 150 -> 100 -> 50.
        for (crashed, heir) in [(1, 4), (4, 2), (2, 0), (0, 3)] {
            assert_eq!(lan.masters(), vec![crashed]);
            lan.disturb();
            let fault_at = lan.now;
            lan.crash(crashed);
            let heir_priority = PRIORITIES[heir];
            let deadline = flavour.master_down(heir_priority) + lan.delay_max;
            let settle = settle_window(&lan);
            lan.assert_converges(settle, observe_window(flavour));
            assert_takeover(&lan, fault_at, heir, deadline);
            let took = lan.first_master_since(fault_at).map(|t| t.at - fault_at);
            // The heir heard the master until the crash: it cannot take over
            // earlier than one advert interval before its master-down time.
            let earliest = flavour.master_down(heir_priority) - flavour.advert_interval;
            assert!(
                took.is_some_and(|d| d >= earliest),
                "{flavour:?}: {took:?} < {earliest:?}"
            );
        }
    }
}

#[test]
fn priority_zero_shutdown_hands_over_at_skew_time() {
    for flavour in Flavour::all() {
        let mut lan = converged_lan(flavour);
        lan.disturb();
        let fault_at = lan.now;
        lan.shutdown(1);
        let resign = lan.adverts.iter().rev().find(|a| a.router == 1);
        assert_eq!(
            resign.map(|a| a.priority),
            Some(0),
            "{flavour:?}: priority-0 advert"
        );
        // RFC 5798 §6.4.2: on priority 0, Master_Down_Timer = Skew_Time.
        let deadline = lan.delay_max + flavour.skew(200);
        let settle = settle_window(&lan);
        lan.assert_converges(settle, observe_window(flavour));
        assert_takeover(&lan, fault_at, 4, deadline);
        let took = lan.first_master_since(fault_at).map(|t| t.at - fault_at);
        let earliest = lan.delay_min + flavour.skew(200);
        assert!(took.is_some_and(|d| d + ROUNDING >= earliest), "{took:?}");
    }
}

#[test]
fn partition_elects_one_master_per_side_and_heal_restores_one() {
    for flavour in Flavour::all() {
        for sides in [
            [&[0usize, 1][..], &[2, 3, 4][..]],
            [&[1][..], &[0, 2, 3, 4][..]],
        ] {
            let mut lan = converged_lan(flavour);
            lan.disturb();
            let split_at = lan.now;
            lan.partition(&sides);
            let cut_off = lan
                .expected_master(1)
                .expect("the far side has live routers");
            let deadline = flavour.master_down(PRIORITIES[cut_off]) + lan.delay_max;
            let settle = settle_window(&lan);
            lan.assert_converges(settle, observe_window(flavour));
            assert_takeover(&lan, split_at, cut_off, deadline);
            let mut both = vec![1, cut_off];
            both.sort_unstable();
            assert_eq!(lan.masters(), both, "{flavour:?}: one master per side");

            // Heal: the lower master hears the higher one's next advert and
            // steps down (RFC 5798 §6.4.3); the higher one stays.
            lan.disturb();
            let heal_at = lan.now;
            lan.heal();
            let step_down = flavour.advert_interval + lan.delay_max;
            lan.assert_converges(step_down + ROUNDING, observe_window(flavour));
            assert_eq!(lan.masters(), vec![1], "{flavour:?} {sides:?}");
            let back = lan
                .transitions_since(heal_at)
                .into_iter()
                .find(|t| t.router == cut_off && t.to == State::Backup)
                .expect("the cut-off master stepped down");
            assert!(back.at - heal_at <= step_down + ROUNDING, "{back:?}");
            assert!(
                lan.first_master_since(heal_at).is_none(),
                "nobody needed to take over on heal"
            );
        }
    }
}

#[test]
fn flapping_loss_then_recovery_converges() {
    for flavour in Flavour::all() {
        for seed in [1u64, 2, 3, 4, 5] {
            let mut lan = Lan::new(flavour, &PRIORITIES, seed)
                .with_delay(Duration::from_millis(1), Duration::from_millis(30));
            lan.start_all();
            let settle = settle_window(&lan);
            lan.assert_converges(settle, observe_window(flavour));
            lan.disturb();
            let storm_at = lan.now;
            // Heavy loss comes and goes for a while.
            for round in 0..12 {
                lan.loss = if round % 2 == 0 { 0.7 } else { 0.0 };
                lan.run_for(flavour.advert_interval * 3 + flavour.advert_interval / 3);
            }
            let spurious = lan
                .transitions_since(storm_at)
                .iter()
                .filter(|t| t.to == State::Master)
                .count();
            lan.loss = 0.0;
            let settle = settle_window(&lan);
            lan.assert_converges(settle, observe_window(flavour));
            assert_eq!(lan.masters(), vec![1], "{flavour:?} seed {seed}");
            // Not an invariant, but the scenario must actually bite.
            if seed == 1 {
                assert!(spurious > 0, "{flavour:?}: loss never caused a takeover");
            }
        }
    }
}

#[test]
fn three_routers_with_slow_links() {
    for flavour in Flavour::all() {
        let mut lan = Lan::new(flavour, &[200, 100, 150], SEED)
            .with_delay(Duration::from_millis(20), Duration::from_millis(80));
        lan.start_all();
        let settle = settle_window(&lan);
        lan.assert_converges(settle, observe_window(flavour));
        assert_eq!(lan.masters(), vec![0]);
        lan.disturb();
        let fault_at = lan.now;
        lan.crash(0);
        let deadline = flavour.master_down(150) + lan.delay_max;
        let settle = settle_window(&lan);
        lan.assert_converges(settle, observe_window(flavour));
        assert_takeover(&lan, fault_at, 2, deadline);
    }
}

#[test]
fn the_simulation_is_deterministic() {
    let run = || {
        let mut lan = Lan::new(Flavour::V3_IPV4, &PRIORITIES, 7)
            .with_delay(Duration::from_millis(1), Duration::from_millis(40));
        lan.loss = 0.3;
        lan.start_all();
        lan.run_for(Duration::from_secs(30));
        lan.transitions
    };
    assert_eq!(run(), run());
}

#[test]
fn unicast_peers_crash_and_partition() {
    for flavour in [Flavour::V3_IPV4, Flavour::V3_IPV6, Flavour::V2_IPV4] {
        let mut lan = Lan::new_unicast(flavour, &[150, 250, 200, 100], SEED);
        lan.start_all();
        let settle = settle_window(&lan);
        lan.assert_converges(settle, observe_window(flavour));
        assert_eq!(lan.masters(), vec![1], "{flavour:?}");
        let per_advert = lan.adverts.iter().filter(|a| a.router == 1).count();
        assert!(per_advert >= 3 * 10, "{flavour:?}: one advert per peer");

        lan.disturb();
        let fault_at = lan.now;
        lan.crash(1);
        let deadline = flavour.master_down(200) + lan.delay_max;
        lan.assert_converges(settle, observe_window(flavour));
        assert_takeover(&lan, fault_at, 2, deadline);

        lan.disturb();
        let split_at = lan.now;
        lan.partition(&[&[1, 2], &[0, 3]]);
        let deadline = flavour.master_down(150) + lan.delay_max;
        lan.assert_converges(settle, observe_window(flavour));
        assert_takeover(&lan, split_at, 0, deadline);
        lan.disturb();
        lan.heal();
        lan.assert_converges(settle, observe_window(flavour));
        assert_eq!(lan.masters(), vec![2], "{flavour:?}");
    }
}

#[test]
fn equal_priorities_break_the_tie_on_the_highest_address() {
    for flavour in Flavour::all() {
        let mut lan = Lan::new(flavour, &[100, 100, 100, 100], SEED);
        lan.start_all();
        let settle = settle_window(&lan);
        // Everyone's master-down timer fires together; the masters that hear
        // an equal-priority advert from a higher address step down
        // (RFC 5798 §6.4.3).
        lan.assert_converges(settle, observe_window(flavour));
        assert_eq!(lan.masters(), vec![3], "{flavour:?}");
        lan.disturb();
        let fault_at = lan.now;
        lan.crash(3);
        lan.assert_converges(settle, observe_window(flavour));
        let survivor = lan.masters();
        assert_eq!(survivor, vec![2], "{flavour:?}");
        let took = lan.first_master_since(fault_at).map(|t| t.at - fault_at);
        let limit = flavour.master_down(100) + lan.delay_max * 2 + flavour.advert_interval;
        assert!(took.is_some_and(|d| d <= limit), "{flavour:?}: {took:?}");
    }
}
