//! `cargo fuzz run check_engine` (see docs/fuzzing.md): the health-check
//! engine built from a fuzzer-chosen configuration (real servers with TCP,
//! MISC and FILE checkers, and every polling setting: delay_loop, warmup,
//! connect_timeout, retry, delay_before_retry, alpha, ha_suspend), driven
//! by probe answers in any order, bogus answers, suspends, operator
//! enable/disable, tracked file values and reloads, with time moving
//! forward. The invariants are those of tests/random_inputs.rs, on
//! fuzzer-chosen timings instead of a fixed family:
//! - no panic (overflow checks on);
//! - no due timer survives `handle_timeout`;
//! - every run asked for is answered or superseded within its timeout +
//!   grace, never more runs in flight than checkers;
//! - reported real-server states and weights match the snapshots; a real
//!   server is up exactly when enabled and every checker is up;
//! - a polled checker is always either scheduled or running;
//! - no output was dropped.
#![no_main]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use kalive_check::{
    CheckConfig, CheckerConfig, CheckerId, Checks, Connect, FileProbe, Input, MiscProbe, Outcome,
    Output, ProbeId, ProbeSpec, RealServerConfig, RealServerId, ScriptExit, Settings, Timestamp,
    VirtualServerConfig, PROBE_GRACE,
};
use libfuzzer_sys::fuzz_target;

/// A duration in milliseconds, unset (keepalived's default) when zero.
fn ms(v: u16) -> Option<Duration> {
    (v != 0).then(|| Duration::from_millis(u64::from(v)))
}

#[derive(Arbitrary, Debug, Clone)]
struct ArbSettings {
    connect_timeout: u16,
    delay_loop: u16,
    warmup: u16,
    retry: Option<u8>,
    delay_before_retry: u16,
    alpha: Option<bool>,
}

impl ArbSettings {
    fn settings(&self) -> Settings {
        Settings {
            connect_timeout: ms(self.connect_timeout),
            delay_loop: ms(self.delay_loop),
            warmup: ms(self.warmup),
            retry: self.retry.map(|r| u32::from(r % 8)),
            delay_before_retry: ms(self.delay_before_retry),
            alpha: self.alpha,
            ..Settings::default()
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
enum ArbChecker {
    Tcp(ArbSettings),
    Misc {
        dynamic: bool,
        timeout: u16,
        settings: ArbSettings,
    },
    File {
        file: u8,
        weight: i8,
        reverse: bool,
    },
}

#[derive(Arbitrary, Debug, Clone)]
struct ArbRealServer {
    addr: u8,
    weight: Option<u8>,
    settings: ArbSettings,
    checkers: Vec<ArbChecker>,
}

#[derive(Arbitrary, Debug, Clone)]
struct ArbVirtualServer {
    name: u8,
    ha_suspend: bool,
    settings: ArbSettings,
    real_servers: Vec<ArbRealServer>,
}

#[derive(Arbitrary, Debug, Clone)]
struct ArbConfig {
    log_all_failures: bool,
    virtual_servers: Vec<ArbVirtualServer>,
}

const FILES: [&str; 2] = ["f0", "f1"];

impl ArbConfig {
    fn config(&self) -> CheckConfig {
        let virtual_servers = self
            .virtual_servers
            .iter()
            .take(3)
            .map(|v| {
                let mut vs = VirtualServerConfig::new(format!("vs{}", v.name % 4), None);
                vs.ha_suspend = v.ha_suspend;
                vs.settings = v.settings.settings();
                vs.real_servers = v
                    .real_servers
                    .iter()
                    .take(4)
                    .map(|r| {
                        let addr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, r.addr % 8));
                        let mut rs = RealServerConfig::new(addr, Some(80));
                        rs.weight = r.weight.map(u32::from);
                        rs.settings = r.settings.settings();
                        rs.checkers = r
                            .checkers
                            .iter()
                            .take(3)
                            .map(|c| match c {
                                ArbChecker::Tcp(s) => {
                                    let mut c = CheckerConfig::new(ProbeSpec::Tcp(Connect::to(
                                        addr,
                                        Some(80),
                                    )));
                                    c.settings = s.settings();
                                    c
                                }
                                ArbChecker::Misc {
                                    dynamic,
                                    timeout,
                                    settings,
                                } => {
                                    let mut c = CheckerConfig::new(ProbeSpec::Misc(MiscProbe {
                                        argv: vec!["/bin/true".into()],
                                        user: None,
                                        timeout: ms(*timeout),
                                        dynamic: *dynamic,
                                    }));
                                    c.settings = settings.settings();
                                    c
                                }
                                ArbChecker::File {
                                    file,
                                    weight,
                                    reverse,
                                } => CheckerConfig::new(ProbeSpec::File(FileProbe {
                                    track_file: FILES[usize::from(*file) % FILES.len()].into(),
                                    weight: i32::from(*weight),
                                    reverse: *reverse,
                                })),
                            })
                            .collect();
                        rs
                    })
                    .collect();
                vs
            })
            .collect();
        CheckConfig {
            log_all_failures: self.log_all_failures,
            virtual_servers,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    Advance(u16),
    Answer { pick: u8, exit: u8, signal: bool },
    Bogus { checker: u8, probe: u8 },
    Suspend { pick: u8, suspended: bool },
    Enable { pick: u8, enabled: bool },
    TrackFile(u8, i64),
    Reload(ArbConfig),
}

#[derive(Arbitrary, Debug)]
struct Run {
    seed: u64,
    config: ArbConfig,
    ops: Vec<Op>,
}

/// What the outputs said, to compare with the snapshots.
struct Observer {
    /// Runs asked for and not yet answered: run -> (checker, deadline).
    outstanding: BTreeMap<ProbeId, (CheckerId, Timestamp)>,
    reported: BTreeMap<RealServerId, (bool, u32)>,
}

impl Observer {
    fn absorb(&mut self, now: Timestamp, checks: &mut Checks, bound: usize) {
        let mut count = 0;
        while let Some(out) = checks.poll_output() {
            count += 1;
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
        assert!(
            count <= bound,
            "{count} outputs from one call, bound {bound}"
        );
    }

    fn layout(&mut self, checks: &Checks) {
        for vs in checks.layout().virtual_servers {
            for rs in vs.real_servers {
                self.reported.entry(rs.id).or_insert((rs.up, rs.weight));
            }
        }
    }

    fn check(&mut self, now: Timestamp, checks: &Checks) {
        assert!(checks.probes_in_flight() <= checks.checker_count());
        if let Some(next) = checks.poll_timeout() {
            assert!(next > now, "a due timer was left at {now}: {next}");
        }
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

fn run(u: &mut Unstructured) -> arbitrary::Result<()> {
    let run = Run::arbitrary(u)?;
    let config = run.config.config();
    let Ok(mut checks) = Checks::new(&config, Timestamp::ZERO, run.seed) else {
        return Ok(());
    };
    // One call never says more than a few things per checker and server.
    let bound = |checks: &Checks| 16 + 8 * (checks.checker_count() + checks.real_servers().len());
    let mut now = Timestamp::ZERO;
    let mut obs = Observer {
        outstanding: BTreeMap::new(),
        reported: BTreeMap::new(),
    };
    obs.layout(&checks);
    checks.handle_timeout(now);
    let limit = bound(&checks);
    obs.absorb(now, &mut checks, limit);
    for op in run.ops.iter().take(200) {
        match op {
            Op::Advance(ms) => {
                now = now + Duration::from_millis(u64::from(*ms) * 4);
                checks.handle_timeout(now);
            }
            Op::Answer { pick, exit, signal } => {
                if !obs.outstanding.is_empty() {
                    let (&probe, &(checker, _)) = obs
                        .outstanding
                        .iter()
                        .nth(usize::from(*pick) % obs.outstanding.len())
                        .expect("in range");
                    let exit = if *signal {
                        ScriptExit::Signal(i32::from(*exit))
                    } else {
                        ScriptExit::Code(*exit)
                    };
                    let outcome = match exit {
                        ScriptExit::Code(0) => Outcome::success(),
                        ScriptExit::Code(1) => Outcome::failure("refused"),
                        other => Outcome::from_misc_exit(other, true),
                    };
                    checks.handle_input(
                        now,
                        Input::ProbeDone {
                            checker,
                            probe,
                            outcome,
                        },
                    );
                }
            }
            Op::Bogus { checker, probe } => checks.handle_input(
                now,
                Input::ProbeDone {
                    checker: CheckerId(u64::from(*checker)),
                    probe: ProbeId(u64::from(*probe)),
                    outcome: Outcome::success(),
                },
            ),
            Op::Suspend { pick, suspended } => {
                let ids = checks.layout().virtual_servers;
                if !ids.is_empty() {
                    let vs = ids[usize::from(*pick) % ids.len()].id;
                    checks.handle_input(
                        now,
                        Input::SetSuspended {
                            vs,
                            suspended: *suspended,
                        },
                    );
                }
            }
            Op::Enable { pick, enabled } => {
                let all = checks.real_servers();
                if !all.is_empty() {
                    let rs = all[usize::from(*pick) % all.len()].id;
                    checks.handle_input(
                        now,
                        Input::SetRealServerEnabled {
                            rs,
                            enabled: *enabled,
                        },
                    );
                }
            }
            Op::TrackFile(file, value) => checks.handle_input(
                now,
                Input::TrackFile {
                    name: FILES[usize::from(*file) % FILES.len()].into(),
                    value: *value,
                },
            ),
            Op::Reload(next) => {
                let config = next.config();
                let before = bound(&checks);
                if checks.reconfigure(now, &config).is_ok() {
                    let limit = before + bound(&checks);
                    obs.absorb(now, &mut checks, limit);
                    obs.layout(&checks);
                }
            }
        }
        // Whatever the input, the caller then runs due timers.
        // (Two calls' outputs: the op's and the timers'.)
        checks.handle_timeout(now);
        let limit = 2 * bound(&checks);
        obs.absorb(now, &mut checks, limit);
        obs.check(now, &checks);
    }
    assert_eq!(checks.dropped_outputs(), 0);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
