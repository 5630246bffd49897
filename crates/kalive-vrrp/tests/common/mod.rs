//! A simulated LAN for the VRRP engine: several single-instance `Vrrp`
//! engines in one process on a virtual clock, adverts carried as real IP
//! packets encoded and decoded with kalive-wire, with configurable delay,
//! seeded (deterministic) loss, crashes and partitions.
//!
//! The simulator is also an oracle: every advert on the wire must parse with
//! kalive-wire (checksum included), and it computes the RFC master-down
//! interval independently of the engine.

#![allow(dead_code)] // each sim_*.rs uses a different part of this module

pub mod lab;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use kalive_vrrp::{
    Command, Family, Input, InstanceConfig, InstanceId, Output, Reason, ReceivedPacket,
    Reconfigured, State, Timestamp, UnicastPeer, Version, Vrrp,
};
use kalive_wire::ipv4::{self, emit_vrrp_ipv4, Ipv4Header, Ipv4Repr};
use kalive_wire::ipv6::{self, Ipv6Header, Ipv6Repr};
use kalive_wire::{AdvertRepr, Checksum, IPPROTO_VRRP};

pub const INTERFACE: &str = "eth0";
pub const VRID: u8 = 51;
/// Hard cap on simulation steps per `run_for`, so a livelock fails fast.
const MAX_STEPS: usize = 200_000;

/// Deterministic xorshift64* generator (no dependency, same run every time).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi].
    pub fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo).as_nanos() as u64;
        lo + Duration::from_nanos(self.next_u64() % (span + 1))
    }
}

/// The protocol flavour every router of the LAN runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flavour {
    pub version: Version,
    pub family: Family,
    pub advert_interval: Duration,
}

impl Flavour {
    pub const V2_IPV4: Flavour = Flavour {
        version: Version::V2,
        family: Family::V4,
        advert_interval: Duration::from_secs(1),
    };
    pub const V3_IPV4: Flavour = Flavour {
        version: Version::V3,
        family: Family::V4,
        advert_interval: Duration::from_millis(1000),
    };
    pub const V3_IPV6: Flavour = Flavour {
        version: Version::V3,
        family: Family::V6,
        advert_interval: Duration::from_millis(500),
    };

    pub fn all() -> [Flavour; 3] {
        [Flavour::V2_IPV4, Flavour::V3_IPV4, Flavour::V3_IPV6]
    }

    /// Router `i`'s address (link-local for IPv6, as keepalived sends from).
    pub fn router_addr(&self, i: usize) -> IpAddr {
        let host = u8::try_from(i + 1).expect("small LAN");
        match self.family {
            Family::V4 => IpAddr::V4(Ipv4Addr::new(10, 0, 0, host)),
            Family::V6 => IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(host))),
        }
    }

    pub fn vip(&self) -> IpAddr {
        match self.family {
            Family::V4 => IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100)),
            Family::V6 => IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x100)),
        }
    }

    /// Skew_Time for `priority` (RFC 3768 §6.1: (256-Priority)/256 s;
    /// RFC 5798 §6.1: ((256-Priority) x Master_Adver_Interval)/256).
    pub fn skew(&self, priority: u8) -> Duration {
        let unit = match self.version {
            Version::V2 => Duration::from_secs(1),
            Version::V3 => self.advert_interval,
        };
        unit * (256 - u32::from(priority)) / 256
    }

    /// Master_Down_Interval = 3 x Master_Adver_Interval + Skew_Time.
    pub fn master_down(&self, priority: u8) -> Duration {
        self.advert_interval * 3 + self.skew(priority)
    }
}

/// A packet on the wire: a whole IP packet, due at `at` on router `to`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    at: Timestamp,
    seq: u64,
    to: usize,
    ip_packet: Vec<u8>,
}

/// One router of the LAN.
#[derive(Debug)]
pub struct Router {
    pub engine: Vrrp,
    pub addr: IpAddr,
    pub priority: u8,
    /// A crashed router neither sends nor receives nor runs timers.
    pub alive: bool,
    pub started: bool,
    /// Partition label: packets only flow between equal labels.
    pub segment: u8,
    ident: u16,
}

impl Router {
    pub fn state(&self) -> State {
        self.engine.state(InstanceId(0)).expect("one instance")
    }
}

/// A state transition seen on the LAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub at: Timestamp,
    pub router: usize,
    pub from: State,
    pub to: State,
    pub reason: Reason,
}

/// An advert seen on the wire (decoded by the simulator with kalive-wire).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentAdvert {
    pub at: Timestamp,
    pub router: usize,
    pub priority: u8,
}

/// The simulated LAN.
#[derive(Debug)]
pub struct Lan {
    pub flavour: Flavour,
    pub routers: Vec<Router>,
    pub now: Timestamp,
    pub delay_min: Duration,
    pub delay_max: Duration,
    /// Probability that one delivery (one packet to one receiver) is lost.
    pub loss: f64,
    pub transitions: Vec<Transition>,
    pub adverts: Vec<SentAdvert>,
    /// Every other output, with its time and router.
    pub outputs: Vec<(Timestamp, usize, Output)>,
    /// From this time on, every step asserts at most one MASTER per segment.
    pub converged_since: Option<Timestamp>,
    wire: BinaryHeap<Reverse<InFlight>>,
    rng: Rng,
    seq: u64,
}

impl Lan {
    /// Routers with the given priorities (router i has address .i+1),
    /// nothing started yet.
    pub fn new(flavour: Flavour, priorities: &[u8], seed: u64) -> Lan {
        Lan::build(flavour, priorities, seed, false)
    }

    /// Like [`Lan::new`], but every router lists all the others as
    /// `unicast_peer`s (one advert per peer, unicast checksum).
    pub fn new_unicast(flavour: Flavour, priorities: &[u8], seed: u64) -> Lan {
        Lan::build(flavour, priorities, seed, true)
    }

    fn build(flavour: Flavour, priorities: &[u8], seed: u64, unicast: bool) -> Lan {
        let routers = priorities
            .iter()
            .enumerate()
            .map(|(i, &priority)| {
                let addr = flavour.router_addr(i);
                let mut config =
                    InstanceConfig::new("VI_1", VRID, flavour.family, INTERFACE, priority)
                        .with_vip(flavour.vip());
                config.version = flavour.version;
                config.advert_interval = flavour.advert_interval;
                config.source = Some(addr);
                if unicast {
                    config.unicast_peers = (0..priorities.len())
                        .filter(|&peer| peer != i)
                        .map(|peer| UnicastPeer::new(flavour.router_addr(peer)))
                        .collect();
                }
                let engine = Vrrp::new(vec![config], vec![], Timestamp::ZERO)
                    .unwrap_or_else(|e| panic!("router {i}: {e}"));
                Router {
                    engine,
                    addr,
                    priority,
                    alive: true,
                    started: false,
                    segment: 0,
                    ident: 0,
                }
            })
            .collect();
        Lan {
            flavour,
            routers,
            now: Timestamp::ZERO,
            delay_min: Duration::from_millis(1),
            delay_max: Duration::from_millis(10),
            loss: 0.0,
            transitions: Vec::new(),
            adverts: Vec::new(),
            outputs: Vec::new(),
            converged_since: None,
            wire: BinaryHeap::new(),
            rng: Rng::new(seed),
            seq: 0,
        }
    }

    pub fn with_delay(mut self, min: Duration, max: Duration) -> Lan {
        self.delay_min = min;
        self.delay_max = max;
        self
    }

    // ----- faults ---------------------------------------------------------

    pub fn start(&mut self, router: usize) {
        self.routers[router].started = true;
        self.input(router, Input::Start);
    }

    pub fn start_all(&mut self) {
        for i in 0..self.routers.len() {
            self.start(i);
        }
    }

    /// The router dies silently: no more adverts, no priority 0.
    pub fn crash(&mut self, router: usize) {
        self.routers[router].alive = false;
    }

    /// keepalived stopping (SIGTERM): priority-0 advert, then gone.
    pub fn shutdown(&mut self, router: usize) {
        self.input(router, Input::Shutdown);
        self.routers[router].alive = false;
    }

    /// Splits the LAN: routers listed in the same slice can talk.
    pub fn partition(&mut self, segments: &[&[usize]]) {
        for (label, members) in segments.iter().enumerate() {
            for &r in *members {
                self.routers[r].segment = u8::try_from(label).expect("few segments");
            }
        }
    }

    pub fn heal(&mut self) {
        for r in &mut self.routers {
            r.segment = 0;
        }
    }

    // ----- running ----------------------------------------------------------

    fn input(&mut self, router: usize, input: Input) {
        let now = self.now;
        self.routers[router].engine.handle_input(now, input);
        self.collect_outputs(router);
    }

    /// Runs the LAN for `span` of virtual time.
    pub fn run_for(&mut self, span: Duration) {
        let end = self.now + span;
        for _ in 0..MAX_STEPS {
            let Some(next) = self.next_event().filter(|&t| t <= end) else {
                self.now = end;
                self.check_invariants();
                return;
            };
            self.now = self.now.max(next);
            self.deliver_due();
            self.fire_due_timers();
            self.check_invariants();
        }
        panic!("simulation did not reach {end} within {MAX_STEPS} steps (livelock?)");
    }

    fn next_event(&self) -> Option<Timestamp> {
        let delivery = self.wire.peek().map(|Reverse(p)| p.at);
        let timers = self
            .routers
            .iter()
            .filter(|r| r.alive && r.started)
            .filter_map(|r| r.engine.poll_timeout());
        delivery.into_iter().chain(timers).min()
    }

    fn deliver_due(&mut self) {
        while self.wire.peek().is_some_and(|Reverse(p)| p.at <= self.now) {
            let Some(Reverse(packet)) = self.wire.pop() else {
                break;
            };
            let target = &self.routers[packet.to];
            if target.alive && target.started {
                let received = self.receive(&packet.ip_packet);
                self.input(packet.to, Input::Packet(received));
            }
        }
    }

    fn fire_due_timers(&mut self) {
        for i in 0..self.routers.len() {
            let r = &self.routers[i];
            let due = r.engine.poll_timeout().is_some_and(|t| t <= self.now);
            if r.alive && r.started && due {
                let now = self.now;
                self.routers[i].engine.handle_timeout(now);
                self.collect_outputs(i);
            }
        }
    }

    /// Reloads `router` with its configuration changed by `change` (before
    /// or after start); retired outputs are carried out first, as the
    /// daemon does.
    pub fn reconfigure(
        &mut self,
        router: usize,
        change: impl FnOnce(&mut InstanceConfig),
    ) -> Reconfigured {
        let engine = &self.routers[router].engine;
        let mut config = engine.config(InstanceId(0)).expect("one instance").clone();
        change(&mut config);
        self.routers[router].priority = config.priority;
        let now = self.now;
        let report = self.routers[router]
            .engine
            .reconfigure(now, vec![config], vec![])
            .unwrap_or_else(|e| panic!("router {router}: {e}"));
        for output in report.retired.clone() {
            self.carry_out(router, output);
        }
        self.collect_outputs(router);
        report
    }

    /// A control command to `router`.
    pub fn command(&mut self, router: usize, command: Command) {
        self.input(router, Input::Command(command));
    }

    fn collect_outputs(&mut self, router: usize) {
        let outputs = self.routers[router].engine.drain_outputs();
        for output in outputs {
            self.carry_out(router, output);
        }
    }

    fn carry_out(&mut self, router: usize, output: Output) {
        {
            match output {
                Output::SendAdvert {
                    src, dst, bytes, ..
                } => {
                    let src = src.unwrap_or(self.routers[router].addr);
                    self.send(router, src, dst, &bytes);
                }
                Output::StateChanged {
                    from, to, reason, ..
                } => {
                    self.transitions.push(Transition {
                        at: self.now,
                        router,
                        from,
                        to,
                        reason,
                    });
                }
                other => self.outputs.push((self.now, router, other)),
            }
        }
    }

    /// Puts an advert on the wire as a whole IP packet (kalive-wire encodes
    /// the header), after checking kalive-wire decodes the engine's bytes.
    fn send(&mut self, from: usize, src: IpAddr, dst: IpAddr, vrrp: &[u8]) {
        let checksum = Checksum::V3 { src, dst };
        let advert = AdvertRepr::parse(vrrp, self.flavour.family, checksum)
            .unwrap_or_else(|e| panic!("router {from} sent an advert kalive-wire rejects: {e}"));
        assert_eq!(advert.vrid, VRID);
        assert_eq!(advert.addrs, vec![self.flavour.vip()]);
        self.adverts.push(SentAdvert {
            at: self.now,
            router: from,
            priority: advert.priority,
        });
        if !self.routers[from].alive {
            return;
        }
        let ip_packet = self.encode_ip(from, src, dst, vrrp);
        let segment = self.routers[from].segment;
        for to in 0..self.routers.len() {
            let addressed = dst.is_multicast() || self.routers[to].addr == dst;
            if to == from || !addressed || self.routers[to].segment != segment {
                continue;
            }
            if self.loss > 0.0 && self.rng.unit() < self.loss {
                continue;
            }
            let delay = self.rng.between(self.delay_min, self.delay_max);
            self.seq += 1;
            self.wire.push(Reverse(InFlight {
                at: self.now + delay,
                seq: self.seq,
                to,
                ip_packet: ip_packet.clone(),
            }));
        }
    }

    fn encode_ip(&mut self, from: usize, src: IpAddr, dst: IpAddr, vrrp: &[u8]) -> Vec<u8> {
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                let router = &mut self.routers[from];
                router.ident = router.ident.wrapping_add(1);
                let mut packet = vec![0u8; ipv4::HEADER_LEN + vrrp.len()];
                let at = emit_vrrp_ipv4(&mut packet, src, dst, 255, router.ident, vrrp.len())
                    .expect("IPv4 header");
                packet[at..].copy_from_slice(vrrp);
                packet
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                let header = Ipv6Repr {
                    traffic_class: 0xc0,
                    flow_label: 0,
                    next_header: IPPROTO_VRRP,
                    hop_limit: 255,
                    src,
                    dst,
                    payload_len: vrrp.len(),
                };
                let mut packet = vec![0u8; ipv6::HEADER_LEN + vrrp.len()];
                header.emit(&mut packet).expect("IPv6 header");
                packet[ipv6::HEADER_LEN..].copy_from_slice(vrrp);
                packet
            }
            _ => panic!("advert with mixed families {src} -> {dst}"),
        }
    }

    /// What a receiving socket owner hands the engine, decoded with kalive-wire.
    fn receive(&self, ip_packet: &[u8]) -> ReceivedPacket {
        match self.flavour.family {
            Family::V4 => {
                let header = Ipv4Header::new_checked(ip_packet).expect("IPv4 packet");
                let ip = Ipv4Repr::parse(&header).expect("IPv4 header");
                ReceivedPacket {
                    interface: INTERFACE.into(),
                    family: Family::V4,
                    src: IpAddr::V4(ip.src),
                    dst: IpAddr::V4(ip.dst),
                    ttl: ip.ttl,
                    ip_payload_len: u16::try_from(ip.payload_len).ok(),
                    bytes: header.payload().to_vec(),
                }
            }
            Family::V6 => {
                let header = Ipv6Header::new_checked(ip_packet).expect("IPv6 packet");
                let ip = Ipv6Repr::parse(&header).expect("IPv6 header");
                ReceivedPacket {
                    interface: INTERFACE.into(),
                    family: Family::V6,
                    src: IpAddr::V6(ip.src),
                    dst: IpAddr::V6(ip.dst),
                    ttl: ip.hop_limit,
                    ip_payload_len: None,
                    bytes: header.payload().to_vec(),
                }
            }
        }
    }

    // ----- observations -----------------------------------------------------

    /// Live routers currently MASTER in `segment`.
    pub fn masters_in(&self, segment: u8) -> Vec<usize> {
        (0..self.routers.len())
            .filter(|&i| {
                let r = &self.routers[i];
                r.alive && r.started && r.segment == segment && r.state() == State::Master
            })
            .collect()
    }

    pub fn masters(&self) -> Vec<usize> {
        (0..self.routers.len())
            .filter(|&i| self.routers[i].alive && self.routers[i].state() == State::Master)
            .collect()
    }

    fn segments(&self) -> Vec<u8> {
        let mut labels: Vec<u8> = self.routers.iter().map(|r| r.segment).collect();
        labels.sort_unstable();
        labels.dedup();
        labels
    }

    fn check_invariants(&self) {
        let Some(since) = self.converged_since else {
            return;
        };
        if self.now < since {
            return;
        }
        for segment in self.segments() {
            let masters = self.masters_in(segment);
            assert!(
                masters.len() <= 1,
                "{}: {} masters {masters:?} in segment {segment} after convergence at {since}",
                self.now,
                masters.len()
            );
        }
    }

    /// The router that should be MASTER of `segment`: the highest priority
    /// among live started routers, ties to the higher address (RFC 5798
    /// §6.4.3).
    pub fn expected_master(&self, segment: u8) -> Option<usize> {
        (0..self.routers.len())
            .filter(|&i| {
                let r = &self.routers[i];
                r.alive && r.started && r.segment == segment
            })
            .max_by_key(|&i| (self.routers[i].priority, self.routers[i].addr))
    }

    /// Runs `settle`, then from there on enforces at most one MASTER per
    /// segment, runs `observe` more and asserts every segment with live
    /// routers has exactly its expected MASTER.
    pub fn assert_converges(&mut self, settle: Duration, observe: Duration) {
        let began = self.now;
        self.run_for(settle);
        self.converged_since = Some(self.now);
        self.run_for(observe);
        for segment in self.segments() {
            let expected = self.expected_master(segment);
            let masters = self.masters_in(segment);
            assert_eq!(
                masters,
                expected.into_iter().collect::<Vec<_>>(),
                "{}: segment {segment} masters (expected the highest priority); transitions: {:#?}",
                self.now,
                self.transitions_since(began)
            );
        }
    }

    /// Stops enforcing convergence (before injecting a fault).
    pub fn disturb(&mut self) {
        self.converged_since = None;
    }

    pub fn transitions_since(&self, t: Timestamp) -> Vec<Transition> {
        self.transitions
            .iter()
            .copied()
            .filter(|x| x.at >= t)
            .collect()
    }

    /// The first transition to MASTER at or after `t`.
    pub fn first_master_since(&self, t: Timestamp) -> Option<Transition> {
        self.transitions
            .iter()
            .copied()
            .find(|x| x.at >= t && x.to == State::Master)
    }
}
