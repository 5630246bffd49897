//! Schedules on a virtual clock, with exact times: first check, delay_loop,
//! retries, detection time, suspension, the watchdog, and spreading.

mod common;

use std::time::Duration;

use common::*;
use kalive_check::{
    Cause, CheckConfig, Input, Outcome, Output, ProbeId, ProbeSpec, Settings, Timestamp,
    PROBE_GRACE,
};

/// delay_loop 10 s, connect_timeout 2 s, retry 2, delay_before_retry 3 s,
/// warmup 0, set on the virtual server and inherited.
fn timed_config() -> CheckConfig {
    let mut config = one_vs(vec![rs_tcp(1)]);
    config.virtual_servers[0].settings = Settings {
        connect_timeout: Some(secs(2)),
        delay_loop: Some(secs(10)),
        warmup: Some(Duration::ZERO),
        retry: Some(2),
        delay_before_retry: Some(secs(3)),
        alpha: None,
    };
    config
}

#[test]
fn detection_time_is_delay_loop_plus_retries_exactly() {
    let mut h = Harness::new(&timed_config(), 7);
    let layout = h.checks.layout();
    let rs = layout.virtual_servers[0].real_servers[0].id;
    let checker = layout.virtual_servers[0].real_servers[0].checkers[0];
    assert!(
        layout.virtual_servers[0].real_servers[0].up,
        "no alpha: starts up"
    );

    // Alive before 25 s and from 55 s; a dead server makes the probe time out.
    let alive = |t: Timestamp| t < at(25) || t >= at(55);
    h.run_until(at(75), &mut |t, _, _| {
        if alive(t) {
            Some((Duration::ZERO, Outcome::success()))
        } else {
            Some((secs(2), Outcome::failure("timeout")))
        }
    });

    // Regular checks every 10 s; after the failure at 30 (result at 32) two
    // retries, each 3 s after the previous result; back on the grid at 50.
    let expected: Vec<Timestamp> = [0, 10, 20, 30, 35, 40, 50, 60, 70].map(at).to_vec();
    assert_eq!(h.probe_times(checker), expected);
    // Down at the last retry's result: last success (20) + delay_loop (10)
    // + 3 timeouts (6) + 2 delays before retry (6) = 42.
    assert_eq!(h.transitions(rs), vec![(at(42), false), (at(60), true)]);
    // Within the documented worst case from the death at 25 s:
    // delay_loop + (retry + 1) × connect_timeout + retry × delay_before_retry.
    let bound = secs(10) + 3 * secs(2) + 2 * secs(3);
    assert!(at(42) - at(25) <= bound);
    let down = h
        .log
        .iter()
        .find_map(|(_, o)| match o {
            Output::RealServerDown {
                reason: Cause::Checker { message, .. },
                ..
            } => Some(message.clone()),
            _ => None,
        })
        .expect("a down with its cause");
    assert_eq!(
        down,
        "TCP_CHECK on service [10.0.0.1]:tcp:80 failed after 2 retries (timeout)."
    );
    let status = h.checks.real_server(rs).expect("status");
    assert!(status.up);
    assert_eq!(status.since, at(60));
    assert_eq!(status.last_failure.as_deref(), Some(down.as_str()));
    assert_eq!(status.checkers[0].consecutive_failures, 0);
}

#[test]
fn a_retry_that_passes_keeps_the_server_up_and_resets_the_chain() {
    let mut h = Harness::new(&timed_config(), 7);
    let layout = h.checks.layout();
    let rs = layout.virtual_servers[0].real_servers[0].id;
    let checker = layout.virtual_servers[0].real_servers[0].checkers[0];
    // Only the regular check at 10 s fails (refused at once).
    h.run_until(at(60), &mut |t, _, _| {
        if t == at(10) {
            Some((Duration::ZERO, Outcome::failure("connection refused")))
        } else {
            Some((Duration::ZERO, Outcome::success()))
        }
    });
    assert_eq!(
        h.probe_times(checker),
        [0, 10, 13, 20, 30, 40, 50, 60].map(at).to_vec()
    );
    assert!(h.transitions(rs).is_empty(), "never down");
    assert!(h.checks.is_up(rs).expect("known"));
}

#[test]
fn the_first_failure_decides_at_once_and_a_down_checker_is_not_retried() {
    let mut h = Harness::new(&timed_config(), 7);
    let layout = h.checks.layout();
    let rs = layout.virtual_servers[0].real_servers[0].id;
    let checker = layout.virtual_servers[0].real_servers[0].checkers[0];
    h.run_until(at(30), &mut |_, _, _| {
        Some((secs(1), Outcome::failure("connection refused")))
    });
    // keepalived: "one failure is enough initially"; then one probe per
    // delay_loop while down.
    assert_eq!(h.probe_times(checker), [0, 10, 20, 30].map(at).to_vec());
    assert_eq!(h.transitions(rs), vec![(at(1), false)]);
    let status = h.checks.real_server(rs).expect("status");
    assert_eq!(status.checkers[0].consecutive_failures, 3);
    assert_eq!(
        status.checkers[0].last_failure.as_deref(),
        Some("connection refused")
    );
}

#[test]
fn log_all_failures_reports_each_retry_in_keepalived_words() {
    let mut config = timed_config();
    config.virtual_servers[0].real_servers[0].checkers[0].log_all_failures = true;
    let mut h = Harness::new(&config, 7);
    h.run_until(at(50), &mut |t, _, _| {
        if t >= at(10) {
            Some((Duration::ZERO, Outcome::failure("connection refused")))
        } else {
            Some((Duration::ZERO, Outcome::success()))
        }
    });
    let lines: Vec<String> = h
        .log
        .iter()
        .filter_map(|(_, o)| match o {
            Output::CheckFailed { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            "TCP_CHECK on service [10.0.0.1]:tcp:80 failed, will do 2 retries (connection refused).",
            "TCP_CHECK on service [10.0.0.1]:tcp:80 failed on retry 1/2 (connection refused).",
        ]
    );
}

#[test]
fn an_unanswered_probe_fails_after_its_timeout_plus_grace() {
    let mut h = Harness::new(&timed_config(), 7);
    let layout = h.checks.layout();
    let rs = layout.virtual_servers[0].real_servers[0].id;
    let checker = layout.virtual_servers[0].real_servers[0].checkers[0];
    // The first run is never answered: the engine gives up at 2 s + grace,
    // the checker (not yet run) goes down at once.
    h.run_until(at(1), &mut |_, _, _| None);
    let lost = h.last_probe(checker).expect("one run");
    assert_eq!(h.checks.probes_in_flight(), 1);
    let give_up = Timestamp::ZERO + secs(2) + PROBE_GRACE;
    assert_eq!(h.checks.poll_timeout(), Some(give_up));
    h.run_until(at(25), &mut always_up);
    assert_eq!(h.transitions(rs), vec![(give_up, false), (at(10), true)]);
    // The lost run's answer, arriving late, changes nothing.
    let before = h.checks.real_server(rs);
    h.input(Input::ProbeDone {
        checker,
        probe: lost,
        outcome: Outcome::failure("late"),
    });
    assert_eq!(h.checks.real_server(rs), before);
    assert_eq!(h.checks.ignored_outcomes(), 1);
}

#[test]
fn outcomes_for_unknown_checkers_or_runs_are_ignored() {
    let mut h = Harness::new(&timed_config(), 7);
    let layout = h.checks.layout();
    let rs = layout.virtual_servers[0].real_servers[0].id;
    let checker = layout.virtual_servers[0].real_servers[0].checkers[0];
    h.run_until(at(0), &mut |_, _, _| None);
    let running = h.last_probe(checker).expect("a run");
    for (c, p) in [
        (kalive_check::CheckerId(9999), running),
        (checker, ProbeId(running.0 + 100)),
    ] {
        h.input(Input::ProbeDone {
            checker: c,
            probe: p,
            outcome: Outcome::failure("bogus"),
        });
    }
    assert_eq!(h.checks.ignored_outcomes(), 2);
    assert!(h.checks.is_up(rs).expect("known"));
    assert_eq!(
        h.checks.probes_in_flight(),
        1,
        "the real run is still awaited"
    );
}

#[test]
fn first_checks_fall_within_warmup_deterministically_per_seed() {
    let servers: Vec<_> = (1..=50).map(rs_tcp).collect();
    let mut config = one_vs(servers);
    config.virtual_servers[0].settings.delay_loop = Some(secs(6));
    config.virtual_servers[0].settings.warmup = Some(secs(4));
    let first_checks = |seed: u64| {
        let checks = kalive_check::Checks::new(&config, at(100), seed).expect("config");
        checks
            .real_servers()
            .iter()
            .map(|rs| rs.checkers[0].next_check.expect("scheduled"))
            .collect::<Vec<_>>()
    };
    let a = first_checks(1);
    assert_eq!(a, first_checks(1), "same seed, same schedule");
    assert_ne!(a, first_checks(2), "another seed, another schedule");
    assert!(a.iter().all(|t| *t >= at(100) && *t < at(104)));
    // Spread over the whole warmup, not bunched at one end.
    let mut offsets: Vec<Duration> = a.iter().map(|t| *t - at(100)).collect();
    offsets.sort();
    assert!(offsets[0] < Duration::from_millis(200));
    assert!(offsets[49] > Duration::from_millis(3800));
    // Then every delay_loop from there.
    let mut h = Harness::new(&config, 1);
    let first = h.checks.real_servers()[0].checkers[0]
        .next_check
        .expect("scheduled");
    let checker = h.checks.real_servers()[0].checkers[0].id;
    h.run_until(at(20), &mut always_up);
    assert_eq!(
        h.probe_times(checker),
        vec![first, first + secs(6), first + secs(12)]
    );
}

/// Busiest `window` of `times` (sorted).
fn busiest(times: &[Timestamp], window: Duration) -> usize {
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..times.len() {
        while times[hi] - times[lo] >= window {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

#[test]
fn ten_thousand_checkers_stay_spread_over_their_interval() {
    let n = 10_000u32;
    let servers: Vec<_> = (1..=n).map(rs_tcp).collect();
    let mut config = one_vs(servers);
    config.virtual_servers[0].settings.delay_loop = Some(secs(1));
    let mut h = Harness::new(&config, 0x5eed);
    // Answers come back 30-70 ms later, and the caller only wakes every
    // 100 ms to deliver them in batches: results bunch, checks must not.
    h.run_until(at(4), &mut |t, c, _| {
        let latency = Duration::from_millis(30 + c.0 % 41);
        let done = t + latency;
        let batch =
            Timestamp::from_millis(done.since_origin().as_millis().div_ceil(100) as u64 * 100);
        Some((batch - t, Outcome::success()))
    });
    let mut times: Vec<Timestamp> = h
        .log
        .iter()
        .filter_map(|(t, o)| matches!(o, Output::RunProbe { .. }).then_some(*t))
        .collect();
    times.sort();
    for second in 0..4u64 {
        let in_second = times
            .iter()
            .filter(|t| **t >= at(second) && **t < at(second + 1))
            .count();
        assert_eq!(in_second, n as usize, "second {second}: one check each");
        let slice: Vec<Timestamp> = times
            .iter()
            .copied()
            .filter(|t| *t >= at(second) && *t < at(second + 1))
            .collect();
        // Ideal is 100 per 10 ms; uniform random draws give ~140.
        let peak = busiest(&slice, Duration::from_millis(10));
        assert!(
            peak <= 110,
            "second {second}: {peak} checks in one 10 ms window"
        );
    }
    // The bound means something: keepalived-style uniform random first
    // checks break it.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut random: Vec<Timestamp> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Timestamp(Duration::from_nanos(x % 1_000_000_000))
        })
        .collect();
    random.sort();
    let random_peak = busiest(&random, Duration::from_millis(10));
    assert!(
        random_peak > 110,
        "random draws peaked at only {random_peak}"
    );
}

#[test]
fn ha_suspend_pauses_checks_until_resumed_and_keeps_state() {
    let mut config = timed_config();
    config.virtual_servers[0].ha_suspend = true;
    let mut h = Harness::new(&config, 7);
    let layout = h.checks.layout();
    let vs = layout.virtual_servers[0].id;
    let checker = layout.virtual_servers[0].real_servers[0].checkers[0];
    assert!(h.checks.virtual_server(vs).expect("vs").suspended);
    h.run_until(at(25), &mut always_up);
    assert!(h.probe_times(checker).is_empty(), "no VIP, no checks");
    h.input(Input::SetSuspended {
        vs,
        suspended: false,
    });
    h.run_until(at(45), &mut always_up);
    // Resumed checks keep the checker's grid.
    assert_eq!(h.probe_times(checker), [30, 40].map(at).to_vec());
    h.input(Input::SetSuspended {
        vs,
        suspended: true,
    });
    h.run_until(at(80), &mut |_, _, _| {
        Some((Duration::ZERO, Outcome::failure("refused")))
    });
    assert_eq!(h.probe_times(checker).len(), 2, "suspended again");
    assert!(h.checks.real_servers()[0].up, "state kept while suspended");
}

#[test]
fn ha_suspend_is_ignored_for_virtual_servers_without_it() {
    let mut h = Harness::new(&timed_config(), 7);
    let vs = h.checks.layout().virtual_servers[0].id;
    h.input(Input::SetSuspended {
        vs,
        suspended: true,
    });
    assert!(!h.checks.virtual_server(vs).expect("vs").suspended);
    h.run_until(at(10), &mut always_up);
    assert_eq!(
        h.log
            .iter()
            .filter(|(_, o)| matches!(o, Output::RunProbe { .. }))
            .count(),
        2
    );
}

#[test]
fn misc_timeout_defaults_to_delay_loop_and_is_the_run_timeout() {
    let mut config = one_vs(vec![]);
    let mut rs = kalive_check::RealServerConfig::new(rs_addr(1), Some(80));
    let misc = |timeout| {
        kalive_check::CheckerConfig::new(ProbeSpec::Misc(kalive_check::MiscProbe {
            argv: vec!["/bin/check".into()],
            user: None,
            timeout,
            dynamic: false,
        }))
    };
    rs.checkers.push(misc(None));
    rs.checkers.push(misc(Some(secs(3))));
    rs.settings.delay_loop = Some(secs(7));
    config.virtual_servers[0].real_servers.push(rs);
    let mut h = Harness::new(&config, 7);
    h.run_until(at(8), &mut always_up);
    let mut timeouts: Vec<Duration> = h
        .log
        .iter()
        .filter_map(|(_, o)| match o {
            Output::RunProbe { timeout, .. } => Some(*timeout),
            _ => None,
        })
        .collect();
    timeouts.sort();
    timeouts.dedup();
    assert_eq!(timeouts, vec![secs(3), secs(7)]);
}
