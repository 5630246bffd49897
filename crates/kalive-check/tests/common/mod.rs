//! A virtual clock and a scripted world for driving the engine in tests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use kalive_check::{
    CheckConfig, CheckerConfig, CheckerId, Checks, Connect, Input, Outcome, Output, ProbeId,
    ProbeSpec, Protocol, RealServerConfig, RealServerId, Timestamp, VirtualServerConfig,
};

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn at(s: u64) -> Timestamp {
    Timestamp::from_secs(s)
}

pub fn rs_addr(n: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
}

pub fn tcp(addr: IpAddr, port: u16) -> CheckerConfig {
    CheckerConfig::new(ProbeSpec::Tcp(Connect::to(addr, Some(port))))
}

/// One virtual server `[10.0.0.100]:tcp:80` with the given real servers.
pub fn one_vs(real_servers: Vec<RealServerConfig>) -> CheckConfig {
    let mut vs = VirtualServerConfig::new("[10.0.0.100]:tcp:80", Some(Protocol::Tcp));
    vs.real_servers = real_servers;
    CheckConfig {
        log_all_failures: false,
        virtual_servers: vec![vs],
    }
}

/// A real server at 10.0.0.n:80 with one TCP checker.
pub fn rs_tcp(n: u32) -> RealServerConfig {
    let mut rs = RealServerConfig::new(rs_addr(n), Some(80));
    rs.checkers.push(tcp(rs_addr(n), 80));
    rs
}

/// How the world answers a probe: after `delay`, with `outcome`; `None`
/// never answers.
pub type Answer = Option<(Duration, Outcome)>;

/// The engine, a virtual clock and the answers in flight.
pub struct Harness {
    pub checks: Checks,
    pub now: Timestamp,
    pending: BTreeMap<(Timestamp, u64), Input>,
    seq: u64,
    /// Every output with the time it came out.
    pub log: Vec<(Timestamp, Output)>,
    /// Everything fed to the engine, in order: an input, or `None` for a
    /// `handle_timeout` call (a recording to replay).
    pub events: Vec<(Timestamp, Option<Input>)>,
}

impl Harness {
    pub fn new(config: &CheckConfig, seed: u64) -> Self {
        let checks = Checks::new(config, Timestamp::ZERO, seed).expect("config accepted");
        Harness {
            checks,
            now: Timestamp::ZERO,
            pending: BTreeMap::new(),
            seq: 0,
            log: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Feed `input` now and log what comes out.
    pub fn input(&mut self, input: Input) {
        self.events.push((self.now, Some(input.clone())));
        self.checks.handle_input(self.now, input);
        while let Some(out) = self.checks.poll_output() {
            self.log.push((self.now, out));
        }
    }

    fn collect(&mut self, world: &mut dyn FnMut(Timestamp, CheckerId, &ProbeSpec) -> Answer) {
        while let Some(out) = self.checks.poll_output() {
            if let Output::RunProbe {
                checker,
                probe,
                spec,
                ..
            } = &out
            {
                if let Some((delay, outcome)) = world(self.now, *checker, spec) {
                    self.seq += 1;
                    self.pending.insert(
                        (self.now + delay, self.seq),
                        Input::ProbeDone {
                            checker: *checker,
                            probe: *probe,
                            outcome,
                        },
                    );
                }
            }
            self.log.push((self.now, out));
        }
    }

    /// Run the clock to `end`, answering probes with `world`.
    pub fn run_until(
        &mut self,
        end: Timestamp,
        world: &mut dyn FnMut(Timestamp, CheckerId, &ProbeSpec) -> Answer,
    ) {
        self.collect(world);
        for _ in 0..10_000_000 {
            let timer = self.checks.poll_timeout();
            let answer = self.pending.keys().next().map(|(t, _)| *t);
            let next = match (timer, answer) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => break,
            };
            if next > end {
                break;
            }
            self.now = next;
            // Answers due now first, then timers, as a daemon would read its
            // sockets before its timer wheel.
            while let Some(entry) = self.pending.first_entry() {
                if entry.key().0 > self.now {
                    break;
                }
                let input = entry.remove();
                self.events.push((self.now, Some(input.clone())));
                self.checks.handle_input(self.now, input);
            }
            self.events.push((self.now, None));
            self.checks.handle_timeout(self.now);
            self.collect(world);
        }
        self.now = end;
    }

    /// Times of the RunProbe outputs for `checker`.
    pub fn probe_times(&self, checker: CheckerId) -> Vec<Timestamp> {
        self.log
            .iter()
            .filter_map(|(t, o)| match o {
                Output::RunProbe { checker: c, .. } if *c == checker => Some(*t),
                _ => None,
            })
            .collect()
    }

    /// The RealServerUp (true) / RealServerDown (false) outputs for `rs`.
    pub fn transitions(&self, rs: RealServerId) -> Vec<(Timestamp, bool)> {
        self.log
            .iter()
            .filter_map(|(t, o)| match o {
                Output::RealServerUp { rs: r, .. } if *r == rs => Some((*t, true)),
                Output::RealServerDown { rs: r, .. } if *r == rs => Some((*t, false)),
                _ => None,
            })
            .collect()
    }

    /// The last RunProbe's id for `checker`.
    pub fn last_probe(&self, checker: CheckerId) -> Option<ProbeId> {
        self.log.iter().rev().find_map(|(_, o)| match o {
            Output::RunProbe {
                checker: c, probe, ..
            } if *c == checker => Some(*probe),
            _ => None,
        })
    }
}

/// Answers every probe at once with success.
pub fn always_up(_: Timestamp, _: CheckerId, _: &ProbeSpec) -> Answer {
    Some((Duration::ZERO, Outcome::success()))
}
