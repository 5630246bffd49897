//! Random inputs with invariants: the engine never panics; every
//! `RunProbe` is answered or superseded within its timeout + grace; no
//! polled checker is ever left without a next check; reported real-server
//! states and weights match the snapshots; nothing grows without bound.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use kalive_check::{
    CheckConfig, CheckerConfig, CheckerId, Checks, FileProbe, Input, MiscProbe, Outcome, Output,
    ProbeId, ProbeSpec, RealServerConfig, RealServerId, ScriptExit, Settings, Timestamp,
    VirtualServerConfig, PROBE_GRACE,
};
use proptest::prelude::*;

/// One of a family of configurations: `variant` picks which real servers
/// exist and their timing, so random reloads match some and not others.
fn config(variant: u8) -> CheckConfig {
    let mut servers = Vec::new();
    for n in 0..6u32 {
        if variant & (1 << n) == 0 && n != 0 {
            continue;
        }
        let mut rs = RealServerConfig::new(rs_addr(n + 1), Some(80));
        rs.checkers.push(tcp(rs_addr(n + 1), 80));
        match n % 3 {
            0 => rs
                .checkers
                .push(CheckerConfig::new(ProbeSpec::Misc(MiscProbe {
                    argv: vec!["/bin/true".into()],
                    user: None,
                    timeout: Some(secs(2)),
                    dynamic: true,
                }))),
            1 => rs
                .checkers
                .push(CheckerConfig::new(ProbeSpec::File(FileProbe {
                    track_file: "f".into(),
                    weight: 2,
                    reverse: variant & 0x40 != 0,
                }))),
            _ => rs.settings.alpha = Some(true),
        }
        rs.settings.retry = Some(u32::from(variant >> 6));
        servers.push(rs);
    }
    let mut vs = VirtualServerConfig::new("v", None);
    vs.settings = Settings {
        delay_loop: Some(Duration::from_millis(
            500 + 500 * u64::from(variant & 0x80 != 0),
        )),
        connect_timeout: Some(secs(1)),
        delay_before_retry: Some(Duration::from_millis(300)),
        ..Settings::default()
    };
    vs.real_servers = servers;
    let mut suspended = VirtualServerConfig::new("w", None);
    suspended.ha_suspend = true;
    suspended.settings.delay_loop = Some(secs(1));
    suspended.real_servers.push(rs_tcp(20));
    CheckConfig {
        log_all_failures: variant & 0x20 != 0,
        virtual_servers: vec![vs, suspended],
    }
}

#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    Answer { pick: usize, exit: u8 },
    Bogus { checker: u64, probe: u64 },
    Suspend { pick: usize, suspended: bool },
    Enable { pick: usize, enabled: bool },
    TrackFile(i64),
    Reload(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u64..3_000).prop_map(Op::Advance),
        4 => (any::<usize>(), any::<u8>()).prop_map(|(pick, exit)| Op::Answer { pick, exit }),
        1 => (0u64..64, 0u64..64).prop_map(|(checker, probe)| Op::Bogus { checker, probe }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(pick, suspended)| Op::Suspend { pick, suspended }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(pick, enabled)| Op::Enable { pick, enabled }),
        1 => prop_oneof![Just(0i64), Just(-1), Just(7), Just(i64::MIN), Just(i64::MAX)].prop_map(Op::TrackFile),
        1 => any::<u8>().prop_map(Op::Reload),
    ]
}

/// What the outputs said, to compare with the snapshots.
struct Observer {
    /// Runs asked for and not yet answered: run -> (checker, deadline).
    outstanding: BTreeMap<ProbeId, (CheckerId, Timestamp)>,
    reported: BTreeMap<RealServerId, (bool, u32)>,
}

impl Observer {
    fn absorb(&mut self, now: Timestamp, checks: &mut Checks) {
        while let Some(out) = checks.poll_output() {
            match out {
                Output::RunProbe {
                    checker,
                    probe,
                    timeout,
                    ..
                } => {
                    self.outstanding
                        .insert(probe, (checker, now + timeout + PROBE_GRACE));
                }
                Output::RealServerUp { rs, .. } => {
                    self.reported.entry(rs).or_insert((false, 0)).0 = true;
                }
                Output::RealServerDown { rs, .. } => {
                    self.reported.entry(rs).or_insert((true, 0)).0 = false;
                }
                Output::WeightChanged { rs, new, .. } => {
                    self.reported.entry(rs).or_insert((false, 0)).1 = new;
                }
                Output::CheckerChanged { .. } | Output::CheckFailed { .. } => {}
            }
        }
    }

    fn layout(&mut self, checks: &Checks) {
        for vs in checks.layout().virtual_servers {
            for rs in vs.real_servers {
                self.reported.entry(rs.id).or_insert((rs.up, rs.weight));
            }
        }
    }

    fn check(&mut self, now: Timestamp, checks: &Checks, checker_total: usize) {
        assert_eq!(checks.checker_count(), checker_total);
        assert!(checks.probes_in_flight() <= checks.checker_count());
        if let Some(next) = checks.poll_timeout() {
            assert!(next > now, "a due timer was left at {now}: {next}");
        }
        // Answered or superseded: a run past its deadline is no longer
        // awaited by its checker.
        self.outstanding.retain(|probe, (checker, deadline)| {
            let awaited = checks
                .checker(*checker)
                .is_some_and(|c| c.probe_in_flight == Some(*probe));
            assert!(
                !(awaited && *deadline < now),
                "run {probe:?} still awaited after its deadline"
            );
            awaited
        });
        assert!(self.outstanding.len() <= checks.checker_count());
        let all = checks.real_servers();
        self.reported
            .retain(|rs, _| all.iter().any(|status| status.id == *rs));
        for rs in &all {
            let healthy = rs.checkers.iter().all(|c| c.up);
            assert_eq!(rs.healthy, healthy);
            assert_eq!(rs.up, rs.enabled && healthy, "{rs:?}");
            assert_eq!(
                self.reported.get(&rs.id),
                Some(&(rs.up, rs.weight)),
                "{rs:?}"
            );
            for c in &rs.checkers {
                if c.kind != "FILE_CHECK" {
                    assert!(
                        c.next_check.is_some() != c.probe_in_flight.is_some(),
                        "checker {c:?} neither scheduled nor running"
                    );
                    if let Some(p) = c.probe_in_flight {
                        assert!(self.outstanding.contains_key(&p), "a run nobody asked for");
                    }
                }
            }
        }
    }
}

fn total_checkers(config: &CheckConfig) -> usize {
    config
        .virtual_servers
        .iter()
        .flat_map(|v| &v.real_servers)
        .map(|r| r.checkers.len())
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_inputs_keep_the_invariants(
        seed in any::<u64>(),
        first in any::<u8>(),
        ops in proptest::collection::vec(op(), 1..150),
    ) {
        let mut current = config(first);
        let mut checks = Checks::new(&current, Timestamp::ZERO, seed).expect("valid");
        let mut now = Timestamp::ZERO;
        let mut obs = Observer { outstanding: BTreeMap::new(), reported: BTreeMap::new() };
        obs.layout(&checks);
        checks.handle_timeout(now);
        obs.absorb(now, &mut checks);
        for op in ops {
            match op {
                Op::Advance(ms) => {
                    now = now + Duration::from_millis(ms);
                    checks.handle_timeout(now);
                }
                Op::Answer { pick, exit } => {
                    if !obs.outstanding.is_empty() {
                        let (&probe, &(checker, _)) = obs
                            .outstanding
                            .iter()
                            .nth(pick % obs.outstanding.len())
                            .expect("in range");
                        let outcome = Outcome::from_misc_exit(ScriptExit::Code(exit % 4 * (exit / 64)), true);
                        checks.handle_input(now, Input::ProbeDone { checker, probe, outcome });
                    }
                }
                Op::Bogus { checker, probe } => checks.handle_input(
                    now,
                    Input::ProbeDone {
                        checker: CheckerId(checker),
                        probe: ProbeId(probe),
                        outcome: Outcome::success(),
                    },
                ),
                Op::Suspend { pick, suspended } => {
                    let ids = checks.layout().virtual_servers;
                    let vs = ids[pick % ids.len()].id;
                    checks.handle_input(now, Input::SetSuspended { vs, suspended });
                }
                Op::Enable { pick, enabled } => {
                    let all = checks.real_servers();
                    let rs = all[pick % all.len()].id;
                    checks.handle_input(now, Input::SetRealServerEnabled { rs, enabled });
                }
                Op::TrackFile(value) => checks.handle_input(now, Input::TrackFile { name: "f".into(), value }),
                Op::Reload(variant) => {
                    current = config(variant);
                    checks.reconfigure(now, &current).expect("valid");
                    obs.absorb(now, &mut checks);
                    obs.layout(&checks);
                }
            }
            // Whatever the input, the caller then runs due timers.
            checks.handle_timeout(now);
            obs.absorb(now, &mut checks);
            obs.check(now, &checks, total_checkers(&current));
        }
        // Silence for longer than any timeout + grace: every run is settled.
        let later = now + secs(1) + PROBE_GRACE + Duration::from_millis(1);
        for step in 1..=20u32 {
            let t = now + (later - now) * step / 20;
            checks.handle_timeout(t);
            obs.absorb(t, &mut checks);
        }
        obs.check(later, &checks, total_checkers(&current));
        prop_assert_eq!(checks.dropped_outputs(), 0);
    }
}
