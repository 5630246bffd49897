//! State-machine tests on a virtual clock: each asserts exact times and
//! outputs, as an operator would read them from a capture and the logs.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use kalive_vrrp::{
    Authentication, Family, Input, InstanceConfig, InstanceId, NotifyState, NotifyTarget, Output,
    Reason, ReceivedPacket, RxDrop, State, SyncGroupConfig, Timestamp, TrackedScript, UnicastPeer,
    Version, Vrrp,
};
use kalive_wire::{AdvertRepr, Auth, Checksum};

const IF: &str = "eth0";
const GROUP4: IpAddr = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn at(secs: f64) -> Timestamp {
    Timestamp::from_secs_f64(secs)
}

fn us(micros: u64) -> Timestamp {
    Timestamp::from_micros(micros)
}

/// An IPv4 instance with one VIP and source 10.0.0.`src`.
fn instance(name: &str, vrid: u8, priority: u8, src: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new(name, vrid, Family::V4, IF, priority)
        .with_vip(IpAddr::V4(Ipv4Addr::new(192, 168, 1, vrid)));
    c.source = Some(v4(src));
    c
}

/// A peer's advert as it would arrive (correct checksum for the version).
fn advert(
    config: &InstanceConfig,
    priority: u8,
    interval_cs: u16,
    src: IpAddr,
    dst: IpAddr,
) -> Input {
    let auth = match (config.version, config.authentication) {
        (Version::V2, Authentication::Pass(p)) => Auth::Pass(p),
        (Version::V2, Authentication::Ah) => Auth::Ah,
        _ => Auth::None,
    };
    let repr = AdvertRepr {
        version: config.version,
        vrid: config.vrid,
        priority,
        interval_cs,
        auth,
        addrs: config.vips.iter().map(|v| v.addr).collect(),
    };
    let checksum = match config.version {
        Version::V2 => Checksum::V2,
        Version::V3 => Checksum::V3 { src, dst },
    };
    let mut bytes = vec![0u8; repr.buffer_len()];
    repr.emit(&mut bytes, checksum).expect("emit");
    packet(config, src, dst, 255, bytes)
}

fn packet(config: &InstanceConfig, src: IpAddr, dst: IpAddr, ttl: u8, bytes: Vec<u8>) -> Input {
    Input::Packet(ReceivedPacket {
        interface: config.interface.as_str().into(),
        family: config.family,
        src,
        dst,
        ttl,
        ip_payload_len: None,
        bytes,
    })
}

/// The engine plus a virtual clock and a log of timed outputs.
struct Lab {
    vrrp: Vrrp,
    now: Timestamp,
    log: Vec<(Timestamp, Output)>,
}

impl Lab {
    fn new(configs: Vec<InstanceConfig>, groups: Vec<SyncGroupConfig>) -> Lab {
        let vrrp = Vrrp::new(configs, groups, Timestamp::ZERO).expect("config");
        Lab {
            vrrp,
            now: Timestamp::ZERO,
            log: Vec::new(),
        }
    }

    fn started(configs: Vec<InstanceConfig>) -> Lab {
        let mut lab = Lab::new(configs, Vec::new());
        lab.input(Input::Start);
        lab
    }

    fn collect(&mut self) {
        while let Some(out) = self.vrrp.poll_output() {
            self.log.push((self.now, out));
        }
    }

    /// Run timers up to `t` (bounded), then stand at `t`.
    fn run_until(&mut self, t: Timestamp) {
        for _ in 0..100_000 {
            match self.vrrp.poll_timeout() {
                Some(deadline) if deadline <= t => {
                    self.now = self.now.max(deadline);
                    self.vrrp.handle_timeout(self.now);
                    self.collect();
                }
                _ => break,
            }
        }
        self.now = t;
    }

    fn input_at(&mut self, t: Timestamp, input: Input) {
        self.run_until(t);
        self.input(input);
    }

    fn input(&mut self, input: Input) {
        self.vrrp.handle_input(self.now, input);
        self.collect();
    }

    fn state(&self, id: u32) -> State {
        self.vrrp.state(InstanceId(id)).expect("instance")
    }

    /// Times at which instance `id` changed to `to`.
    fn transitions(&self, id: u32, to: State) -> Vec<Timestamp> {
        self.log
            .iter()
            .filter_map(|(t, o)| match o {
                Output::StateChanged {
                    instance, to: s, ..
                } if instance.0 == id && *s == to => Some(*t),
                _ => None,
            })
            .collect()
    }

    fn adverts_between(&self, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, u8)> {
        self.log
            .iter()
            .filter(|(t, _)| *t >= from && *t <= to)
            .filter_map(|(t, o)| match o {
                Output::SendAdvert { priority, .. } => Some((*t, *priority)),
                _ => None,
            })
            .collect()
    }

    fn count_at(&self, t: Timestamp, pred: impl Fn(&Output) -> bool) -> usize {
        self.log
            .iter()
            .filter(|(tt, o)| *tt == t && pred(o))
            .count()
    }

    fn clear_log(&mut self) {
        self.log.clear();
    }
}

fn is_garp(o: &Output) -> bool {
    matches!(o, Output::SendGarp { .. } | Output::SendNa { .. })
}

// ----- takeover timing ------------------------------------------------------

#[test]
fn v2_takeover_exactly_at_master_down_for_several_priorities() {
    // Master_Down = 3 × 1 s + (256 − P)/256 s, in keepalived's integer µs.
    for (priority, expected_us) in [
        (100u8, 3_609_375u64),
        (1, 3_996_093),
        (200, 3_218_750),
        (254, 3_007_812),
    ] {
        let mut lab = Lab::started(vec![instance("vi", 1, priority, 1)]);
        assert_eq!(lab.state(0), State::Backup);
        assert_eq!(lab.vrrp.poll_timeout(), Some(us(expected_us)));
        lab.run_until(us(expected_us - 1));
        assert_eq!(lab.state(0), State::Backup, "prio {priority} early");
        lab.run_until(us(expected_us));
        assert_eq!(lab.state(0), State::Master, "prio {priority}");
        assert_eq!(lab.transitions(0, State::Master), vec![us(expected_us)]);
    }
}

#[test]
fn v3_takeover_uses_interval_scaled_skew() {
    // v3, advert_int 0.5 s: 3 × 0.5 + (256 − P) × 0.5 / 256.
    for (priority, expected_us) in [(100u8, 1_804_687u64), (200, 1_609_375), (50, 1_902_343)] {
        let mut c = instance("vi", 1, priority, 1);
        c.version = Version::V3;
        c.advert_interval = Duration::from_millis(500);
        let mut lab = Lab::started(vec![c]);
        lab.run_until(us(expected_us - 1));
        assert_eq!(lab.state(0), State::Backup);
        lab.run_until(us(expected_us));
        assert_eq!(lab.transitions(0, State::Master), vec![us(expected_us)]);
    }
}

#[test]
fn backup_resets_master_down_on_each_higher_advert() {
    let c = instance("vi", 1, 100, 1);
    let mut lab = Lab::started(vec![c.clone()]);
    for k in 0..5 {
        lab.input_at(at(0.5 + f64::from(k)), advert(&c, 150, 100, v4(9), GROUP4));
    }
    // Last advert at 4.5 s: master at 4.5 + 3.609375.
    lab.run_until(at(20.0));
    assert_eq!(lab.transitions(0, State::Master), vec![us(8_109_375)]);
}

#[test]
fn master_sends_adverts_every_interval_with_vips() {
    let c = instance("vi", 1, 100, 1);
    let mut lab = Lab::started(vec![c]);
    lab.run_until(at(6.7));
    let adverts = lab.adverts_between(at(0.0), at(10.0));
    let times: Vec<_> = adverts.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        times,
        vec![us(3_609_375), us(4_609_375), us(5_609_375), us(6_609_375)]
    );
    let Some((_, Output::SendAdvert { bytes, dst, .. })) = lab
        .log
        .iter()
        .find(|(_, o)| matches!(o, Output::SendAdvert { .. }))
    else {
        panic!("no advert");
    };
    assert_eq!(*dst, GROUP4);
    let repr = AdvertRepr::parse(bytes, kalive_wire::Family::V4, Checksum::V2).expect("parse");
    assert_eq!(repr.priority, 100);
    assert_eq!(repr.vrid, 1);
    assert_eq!(repr.interval_cs, 100);
    assert_eq!(repr.addrs, vec![IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1))]);
}

#[test]
fn priority_zero_advert_cuts_the_timer_to_skew() {
    let c = instance("vi", 1, 100, 1);
    let mut lab = Lab::started(vec![c.clone()]);
    lab.input_at(at(1.0), advert(&c, 200, 100, v4(9), GROUP4));
    lab.input_at(at(2.0), advert(&c, 0, 100, v4(9), GROUP4));
    lab.run_until(at(10.0));
    // 2 s + (256 − 100)/256 s.
    assert_eq!(lab.transitions(0, State::Master), vec![us(2_609_375)]);
    let stats = lab.vrrp.stats(InstanceId(0)).expect("stats");
    assert_eq!(stats.pri_zero_rcvd, 1);
    assert_eq!(stats.advert_rcvd, 2);
}

// ----- receive slack (batched reads) ---------------------------------------------

#[test]
fn receive_slack_is_half_the_smallest_backup_skew_and_zero_with_a_master() {
    let v3 = |name: &str, vrid: u8, priority: u8, interval_ms: u64| {
        let mut c = instance(name, vrid, priority, 1);
        c.version = Version::V3;
        c.advert_interval = Duration::from_millis(interval_ms);
        c
    };
    // 40 instances at 100 ms and priority 100, one at 50 ms and 200.
    let mut configs: Vec<InstanceConfig> = (1..=40)
        .map(|vrid| v3(&format!("slow{vrid}"), vrid, 100, 100))
        .collect();
    let fast = v3("fast", 41, 200, 50);
    configs.push(fast.clone());
    let mut lab = Lab::new(configs.clone(), Vec::new());
    assert_eq!(lab.vrrp.receive_slack(), Duration::ZERO, "not started");
    lab.input(Input::Start);
    // Skews: (256-100)/256 × 100 ms = 60.9 ms, fast 56/256 × 50 ms =
    // 10.9 ms: half the smaller. 420 adverts a second: 2.3 per slack.
    let half_fast_skew = Duration::from_micros(10_937) / 2;
    assert_eq!(lab.vrrp.receive_slack(), half_fast_skew);
    // All hear a master: still backups, same slack.
    for c in &configs {
        let interval_cs = (c.advert_interval.as_millis() / 10) as u16;
        lab.input_at(at(0.01), advert(c, 250, interval_cs, v4(9), GROUP4));
    }
    assert_eq!(lab.vrrp.receive_slack(), half_fast_skew);
    // v2 at 1 s: the skew of priority 10 is far above the cap.
    let many_v2: Vec<InstanceConfig> = (1..=200)
        .map(|vrid| instance(&format!("v2_{vrid}"), vrid, 10, 1))
        .collect();
    let lab_v2 = Lab::started(many_v2);
    assert_eq!(lab_v2.vrrp.receive_slack(), Vrrp::MAX_RECEIVE_SLACK);
    // One instance at 1 s: 0.02 adverts per slack, nothing to batch.
    let lone = Lab::started(vec![instance("lone", 1, 10, 1)]);
    assert_eq!(lone.vrrp.receive_slack(), Duration::ZERO);
    // Once "fast" is master (its master fell silent), a master must react
    // to adverts at once.
    lab.run_until(at(1.0));
    assert_eq!(lab.state(40), State::Master);
    assert_eq!(lab.vrrp.receive_slack(), Duration::ZERO);
}

#[test]
fn an_advert_fed_late_with_its_arrival_time_gives_the_same_takeover() {
    // A priority-0 advert read 20 ms late (less than half the 61 ms skew)
    // still cuts the timer to the skew from its arrival.
    let mut c = instance("vi", 1, 100, 1);
    c.version = Version::V3;
    c.advert_interval = Duration::from_millis(100);
    let mut lab = Lab::started(vec![c.clone()]);
    lab.input_at(at(0.1), advert(&c, 200, 10, v4(9), GROUP4));
    // Arrived at 0.2 s, read at 0.22 s: fed with its arrival time.
    lab.run_until(at(0.22));
    lab.vrrp
        .handle_input(at(0.2), advert(&c, 0, 10, v4(9), GROUP4));
    lab.collect();
    lab.run_until(at(1.0));
    // 0.2 s + (256 − 100)/256 × 100 ms.
    assert_eq!(lab.transitions(0, State::Master), vec![us(260_937)]);
}

// ----- preemption -------------------------------------------------------------

#[test]
fn preempt_discards_lower_adverts_and_takes_over() {
    let c = instance("vi", 1, 200, 1);
    let mut lab = Lab::started(vec![c.clone()]);
    lab.input_at(at(0.5), advert(&c, 250, 100, v4(9), GROUP4));
    for k in 1..8 {
        lab.input_at(at(0.5 + f64::from(k)), advert(&c, 100, 100, v4(9), GROUP4));
    }
    lab.run_until(at(10.0));
    // Only the 250 advert counted: 0.5 + 3 + 56/256.
    assert_eq!(lab.transitions(0, State::Master), vec![us(3_718_750)]);
}

#[test]
fn nopreempt_backup_never_takes_over_a_live_lower_master() {
    let mut c = instance("vi", 1, 200, 1);
    c.nopreempt = true;
    let mut lab = Lab::started(vec![c.clone()]);
    for k in 0..20 {
        lab.input_at(at(0.5 + f64::from(k)), advert(&c, 100, 100, v4(9), GROUP4));
    }
    lab.run_until(at(20.0));
    assert_eq!(lab.state(0), State::Backup);
    // When the master goes silent it still takes over at master-down.
    lab.run_until(at(30.0));
    assert_eq!(
        lab.transitions(0, State::Master),
        vec![us(19_500_000 + 3_218_750)]
    );
}

#[test]
fn preempt_delay_holds_off_preemption() {
    let mut c = instance("vi", 1, 200, 1);
    c.preempt_delay = Duration::from_secs(5);
    // The delay runs from start-up: lower adverts at 1..4 s are accepted, the
    // one at 5 s is not; master at 4 + 3 + 56/256 s.
    let mut lab = Lab::started(vec![c.clone()]);
    for k in 1..30 {
        lab.input_at(at(f64::from(k)), advert(&c, 100, 100, v4(9), GROUP4));
    }
    lab.run_until(at(30.0));
    assert_eq!(lab.transitions(0, State::Master), vec![us(7_218_750)]);
    // A higher advert clears it; the first lower one after that starts it
    // again (at 1 s): 1..5 s accepted, master at 5 + 3.21875 s.
    let mut lab = Lab::started(vec![c.clone()]);
    lab.input_at(at(0.5), advert(&c, 250, 100, v4(9), GROUP4));
    for k in 1..30 {
        lab.input_at(at(f64::from(k)), advert(&c, 100, 100, v4(9), GROUP4));
    }
    lab.run_until(at(30.0));
    assert_eq!(lab.transitions(0, State::Master), vec![us(8_218_750)]);
}

#[test]
fn equal_priority_tie_break_on_source_address() {
    let c = instance("vi", 1, 100, 5);
    // Sender with a higher address wins.
    let mut lab = Lab::started(vec![c.clone()]);
    lab.run_until(at(4.0));
    assert_eq!(lab.state(0), State::Master);
    lab.input_at(at(4.2), advert(&c, 100, 100, v4(6), GROUP4));
    assert_eq!(lab.state(0), State::Backup);
    assert_eq!(lab.transitions(0, State::Backup), vec![at(0.0), at(4.2)]);
    assert_eq!(
        lab.count_at(at(4.2), |o| matches!(o, Output::RemoveAddresses { .. })),
        1
    );
    // Sender with a lower address: we stay MASTER, re-assert with an advert
    // and GARPs, and notify MASTER_RX_LOWER_PRI.
    let mut lab = Lab::started(vec![c.clone()]);
    lab.run_until(at(4.0));
    lab.clear_log();
    lab.input_at(at(4.2), advert(&c, 100, 100, v4(4), GROUP4));
    assert_eq!(lab.state(0), State::Master);
    assert_eq!(lab.adverts_between(at(4.2), at(4.2)), vec![(at(4.2), 100)]);
    assert_eq!(lab.count_at(at(4.2), is_garp), 5);
    assert_eq!(
        lab.count_at(at(4.2), |o| matches!(
            o,
            Output::Notify {
                state: NotifyState::MasterRxLowerPri,
                ..
            }
        )),
        1
    );
    // lower_prio delay: 5 more GARPs 5 s later.
    lab.run_until(at(9.3));
    assert_eq!(lab.count_at(at(9.2), is_garp), 5);
}

#[test]
fn lower_prio_no_advert_only_garps() {
    let mut c = instance("vi", 1, 100, 5);
    c.lower_prio_no_advert = true;
    let mut lab = Lab::started(vec![c.clone()]);
    lab.run_until(at(4.0));
    lab.clear_log();
    lab.input_at(at(4.2), advert(&c, 50, 100, v4(9), GROUP4));
    assert!(lab.adverts_between(at(4.2), at(4.2)).is_empty());
    assert_eq!(lab.count_at(at(4.2), is_garp), 5);
}

#[test]
fn higher_priority_makes_master_yield_optionally_after_an_advert() {
    for send_first in [false, true] {
        let mut c = instance("vi", 1, 100, 5);
        c.higher_prio_send_advert = send_first;
        let mut lab = Lab::started(vec![c.clone()]);
        lab.run_until(at(4.0));
        lab.clear_log();
        lab.input_at(at(4.2), advert(&c, 101, 100, v4(1), GROUP4));
        assert_eq!(lab.state(0), State::Backup);
        assert_eq!(
            lab.adverts_between(at(4.2), at(4.2)).len(),
            usize::from(send_first)
        );
        // Back to master if the new master vanishes: 4.2 + 3.609375.
        lab.run_until(at(10.0));
        assert_eq!(lab.transitions(0, State::Master), vec![us(7_809_375)]);
    }
}

// ----- owner ------------------------------------------------------------------

#[test]
fn owner_starts_as_master_immediately() {
    let mut lab = Lab::new(vec![instance("vi", 1, 255, 1)], Vec::new());
    lab.run_until(at(2.0));
    lab.input(Input::Start);
    assert_eq!(lab.state(0), State::Master);
    assert_eq!(lab.transitions(0, State::Master), vec![at(2.0)]);
    assert_eq!(lab.adverts_between(at(2.0), at(2.0)), vec![(at(2.0), 255)]);
    assert_eq!(
        lab.count_at(at(2.0), |o| matches!(o, Output::AddAddresses { .. })),
        1
    );
    assert!(lab.log.iter().any(|(_, o)| matches!(
        o,
        Output::StateChanged {
            reason: Reason::Owner,
            from: State::Init,
            ..
        }
    )));
}

#[test]
fn two_owners_conflict_demotes_the_master_that_hears_the_other() {
    // keepalived 2.2: "both configured as address owner ... reducing local
    // priority": the MASTER drops to 254 whatever the addresses, and yields.
    for our_src in [1u8, 3] {
        let c = instance("vi", 1, 255, our_src);
        let mut lab = Lab::started(vec![c.clone()]);
        assert_eq!(lab.state(0), State::Master);
        lab.input_at(at(0.5), advert(&c, 255, 100, v4(2), GROUP4));
        assert_eq!(lab.state(0), State::Backup, "src .{our_src}");
        assert_eq!(lab.vrrp.effective_priority(InstanceId(0)), Some(254));
        assert_eq!(
            lab.count_at(at(0.5), |o| matches!(
                o,
                Output::PriorityChanged {
                    from: 255,
                    to: 254,
                    ..
                }
            )),
            1
        );
        // The other owner keeps advertising: we stay BACKUP; when it stops
        // we take over after master-down at 254 (3 + 2/256 s).
        for k in 1..5 {
            lab.input_at(at(0.5 + f64::from(k)), advert(&c, 255, 100, v4(2), GROUP4));
        }
        assert_eq!(lab.state(0), State::Backup);
        lab.run_until(at(20.0));
        assert_eq!(
            lab.transitions(0, State::Master),
            vec![at(0.0), us(4_500_000 + 3_007_812)]
        );
        let t = us(7_507_812);
        assert_eq!(lab.adverts_between(t, t), vec![(t, 254)]);
    }
}

// ----- v3 ---------------------------------------------------------------------

#[test]
fn v3_backup_adopts_master_interval_and_reverts_as_master() {
    let mut c = instance("vi", 1, 100, 1);
    c.version = Version::V3;
    let mut lab = Lab::started(vec![c.clone()]);
    lab.input_at(at(0.5), advert(&c, 200, 50, v4(9), GROUP4));
    assert_eq!(
        lab.vrrp.master_adver_interval(InstanceId(0)),
        Some(Duration::from_millis(500))
    );
    // 0.5 + 3 × 0.5 + 156 × 0.5 / 256 s.
    lab.run_until(at(5.0));
    assert_eq!(
        lab.transitions(0, State::Master),
        vec![us(500_000 + 1_804_687)]
    );
    assert_eq!(
        lab.vrrp.master_adver_interval(InstanceId(0)),
        Some(Duration::from_secs(1))
    );
    assert_eq!(
        lab.vrrp
            .stats(InstanceId(0))
            .map(|s| s.interval_mismatch_v3),
        Some(1)
    );
}

#[test]
fn v3_advert_checksum_uses_the_pseudo_header() {
    let mut c = instance("vi", 1, 100, 1);
    c.version = Version::V3;
    let mut lab = Lab::started(vec![c]);
    lab.run_until(at(4.0));
    let Some((_, Output::SendAdvert { bytes, .. })) = lab
        .log
        .iter()
        .find(|(_, o)| matches!(o, Output::SendAdvert { .. }))
    else {
        panic!("no advert");
    };
    let ok = AdvertRepr::parse(
        bytes,
        kalive_wire::Family::V4,
        Checksum::V3 {
            src: v4(1),
            dst: GROUP4,
        },
    );
    assert!(ok.is_ok(), "{ok:?}");
}

// ----- trackers ---------------------------------------------------------------

fn script(name: &str, weight: i32) -> TrackedScript {
    TrackedScript {
        name: name.into(),
        weight,
        reverse: false,
        rise: 1,
        fall: 1,
        init_fail: false,
    }
}

#[test]
fn tracker_weight_raises_priority_and_preempts() {
    let mut c = instance("vi", 1, 100, 1);
    c.track_scripts.push(script("chk", 30));
    let mut lab = Lab::started(vec![c.clone()]);
    let ok = |success| Input::ScriptResult {
        name: "chk".into(),
        success,
    };
    // The 120 master is accepted while we are 100.
    for k in 0..3 {
        lab.input_at(at(0.5 + f64::from(k)), advert(&c, 120, 100, v4(9), GROUP4));
    }
    lab.input_at(at(3.2), ok(true));
    assert_eq!(lab.vrrp.effective_priority(InstanceId(0)), Some(130));
    assert_eq!(
        lab.count_at(at(3.2), |o| matches!(
            o,
            Output::PriorityChanged {
                from: 100,
                to: 130,
                ..
            }
        )),
        1
    );
    // The running master-down deadline moves with the skew (keepalived's
    // vrrp_set_effective_priority): 2.5 + 3 + 126/256 s instead of 156/256.
    // From now on the master's adverts are lower and discarded, so that
    // deadline is when we take over.
    for k in 3..10 {
        lab.input_at(at(0.5 + f64::from(k)), advert(&c, 120, 100, v4(9), GROUP4));
    }
    lab.run_until(at(10.0));
    assert_eq!(
        lab.transitions(0, State::Master),
        vec![us(2_500_000 + 3_492_187)]
    );
    // Script fails: 100 < 120, the 120 master's next advert takes us down.
    lab.input_at(at(10.1), ok(false));
    assert_eq!(lab.vrrp.effective_priority(InstanceId(0)), Some(100));
    lab.input_at(at(10.5), advert(&c, 120, 100, v4(9), GROUP4));
    assert_eq!(lab.state(0), State::Backup);
}

#[test]
fn negative_weight_and_clamping() {
    let mut c = instance("vi", 1, 20, 1);
    c.track_scripts.push(script("chk", -50));
    let mut lab = Lab::started(vec![c]);
    lab.input(Input::ScriptResult {
        name: "chk".into(),
        success: false,
    });
    assert_eq!(lab.vrrp.effective_priority(InstanceId(0)), Some(1));
    // An owner is never adjusted.
    let mut o = instance("vo", 2, 255, 1);
    o.track_scripts.push(script("chk", -50));
    let mut lab = Lab::started(vec![o]);
    lab.input(Input::ScriptResult {
        name: "chk".into(),
        success: false,
    });
    assert_eq!(lab.vrrp.effective_priority(InstanceId(0)), Some(255));
}

#[test]
fn weight_zero_script_holds_fault_until_it_succeeds() {
    let mut c = instance("vi", 1, 100, 1);
    c.track_scripts.push(script("chk", 0));
    let mut lab = Lab::started(vec![c]);
    assert_eq!(lab.state(0), State::Fault, "initialising script = FAULT");
    assert_eq!(lab.vrrp.poll_timeout(), None);
    lab.input_at(
        at(1.0),
        Input::ScriptResult {
            name: "chk".into(),
            success: true,
        },
    );
    assert_eq!(lab.state(0), State::Backup);
    lab.run_until(at(10.0));
    assert_eq!(
        lab.transitions(0, State::Master),
        vec![us(1_000_000 + 3_609_375)]
    );
}

// ----- fault ------------------------------------------------------------------

#[test]
fn fault_entry_resigns_and_exit_waits_master_down() {
    let mut c = instance("vi", 1, 100, 1);
    c.excluded_vips = vec![kalive_vrrp::VirtualAddress {
        addr: IpAddr::V4(Ipv4Addr::new(172, 16, 0, 1)),
        prefix_len: 24,
        interface: IF.into(),
        key: 7,
    }];
    let mut lab = Lab::started(vec![c]);
    lab.run_until(at(4.0));
    assert_eq!(lab.state(0), State::Master);
    lab.clear_log();
    lab.input_at(
        at(4.5),
        Input::Link {
            interface: IF.into(),
            up: false,
        },
    );
    assert_eq!(lab.state(0), State::Fault);
    assert_eq!(lab.adverts_between(at(4.5), at(4.5)), vec![(at(4.5), 0)]);
    let kinds: Vec<&Output> = lab.log.iter().map(|(_, o)| o).collect();
    assert!(matches!(
        kinds[0],
        Output::StateChanged {
            from: State::Master,
            to: State::Fault,
            reason: Reason::Fault,
            ..
        }
    ));
    assert!(matches!(kinds[1], Output::SendAdvert { priority: 0, .. }));
    assert!(matches!(
        kinds[2],
        Output::RemoveAddresses { excluded: true, .. }
    ));
    assert!(matches!(
        kinds[3],
        Output::RemoveAddresses {
            excluded: false,
            ..
        }
    ));
    assert!(matches!(
        kinds[4],
        Output::Notify {
            state: NotifyState::Fault,
            ..
        }
    ));
    assert_eq!(lab.vrrp.poll_timeout(), None, "FAULT stops timers");
    // Adverts are ignored in FAULT.
    lab.run_until(at(20.0));
    lab.input_at(
        at(20.0),
        Input::Link {
            interface: IF.into(),
            up: true,
        },
    );
    assert_eq!(lab.state(0), State::Backup);
    lab.run_until(at(30.0));
    assert_eq!(
        lab.transitions(0, State::Master),
        vec![us(20_000_000 + 3_609_375)]
    );
}

#[test]
fn tracked_interface_weight_and_dont_track_primary() {
    let mut c = instance("vi", 1, 100, 1);
    c.dont_track_primary = true;
    c.track_interfaces.push(kalive_vrrp::TrackedInterface {
        interface: "eth1".into(),
        weight: -20,
        reverse: false,
    });
    let mut lab = Lab::started(vec![c]);
    lab.input(Input::Link {
        interface: IF.into(),
        up: false,
    });
    assert_eq!(lab.state(0), State::Backup);
    lab.input(Input::Link {
        interface: "eth1".into(),
        up: false,
    });
    assert_eq!(lab.vrrp.effective_priority(InstanceId(0)), Some(80));
}

// ----- sync groups ------------------------------------------------------------

fn group_lab() -> (Lab, InstanceConfig, InstanceConfig) {
    let a = instance("A", 1, 100, 1);
    let mut b = instance("B", 2, 100, 1);
    b.interface = "eth1".into();
    b.vips[0].interface = "eth1".into();
    let group = SyncGroupConfig {
        name: "G".into(),
        members: vec!["A".into(), "B".into()],
    };
    let mut lab = Lab::new(vec![a.clone(), b.clone()], vec![group]);
    lab.input(Input::Start);
    (lab, a, b)
}

fn group_notifies(lab: &Lab) -> Vec<(Timestamp, NotifyState)> {
    lab.log
        .iter()
        .filter_map(|(t, o)| match o {
            Output::Notify {
                target: NotifyTarget::Group(_),
                state,
                ..
            } => Some((*t, *state)),
            _ => None,
        })
        .collect()
}

#[test]
fn sync_group_waits_until_every_member_wants_master() {
    let (mut lab, a, _b) = group_lab();
    // A keeps hearing a master until 5.5 s; B hears nothing.
    for k in 0..6 {
        lab.input_at(at(0.5 + f64::from(k)), advert(&a, 200, 100, v4(9), GROUP4));
    }
    lab.run_until(at(8.0));
    assert_eq!(lab.state(1), State::Backup, "B held back by the group");
    lab.run_until(at(20.0));
    // A's master-down: 5.5 + 3.609375 s; B follows at the same instant.
    let t = us(5_500_000 + 3_609_375);
    assert_eq!(lab.transitions(0, State::Master), vec![t]);
    assert_eq!(lab.transitions(1, State::Master), vec![t]);
    assert_eq!(
        group_notifies(&lab),
        vec![(at(0.0), NotifyState::Backup), (t, NotifyState::Master)]
    );
}

#[test]
fn sync_group_propagates_backup_and_fault() {
    let (mut lab, a, _b) = group_lab();
    lab.run_until(at(5.0));
    assert_eq!((lab.state(0), lab.state(1)), (State::Master, State::Master));
    lab.clear_log();
    // A higher-priority router appears for A only: B follows A to BACKUP.
    lab.input_at(at(5.2), advert(&a, 200, 100, v4(9), GROUP4));
    assert_eq!((lab.state(0), lab.state(1)), (State::Backup, State::Backup));
    assert_eq!(group_notifies(&lab), vec![(at(5.2), NotifyState::Backup)]);
    // B's interface goes down: both FAULT, one group notify.
    lab.input_at(
        at(6.0),
        Input::Link {
            interface: "eth1".into(),
            up: false,
        },
    );
    assert_eq!((lab.state(0), lab.state(1)), (State::Fault, State::Fault));
    assert!(lab.log.iter().any(|(_, o)| matches!(
        o,
        Output::StateChanged {
            instance: InstanceId(0),
            to: State::Fault,
            reason: Reason::SyncGroup,
            ..
        }
    )));
    lab.input_at(
        at(7.0),
        Input::Link {
            interface: "eth1".into(),
            up: true,
        },
    );
    assert_eq!((lab.state(0), lab.state(1)), (State::Backup, State::Backup));
    assert_eq!(
        group_notifies(&lab),
        vec![
            (at(5.2), NotifyState::Backup),
            (at(6.0), NotifyState::Fault),
            (at(7.0), NotifyState::Backup)
        ]
    );
}

// ----- GARP -------------------------------------------------------------------

#[test]
fn garp_bursts_on_becoming_master_and_after_delay_and_refresh() {
    let mut c = instance("vi", 1, 100, 1).with_vip(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 50)));
    c.garp.master_refresh = Duration::from_secs(10);
    c.garp.master_refresh_repeat = 2;
    let mut lab = Lab::started(vec![c]);
    lab.run_until(at(40.0));
    let t0 = us(3_609_375);
    assert_eq!(lab.count_at(t0, is_garp), 10, "5 repeats × 2 VIPs");
    assert_eq!(lab.count_at(t0 + Duration::from_secs(5), is_garp), 10);
    assert_eq!(lab.count_at(t0 + Duration::from_secs(15), is_garp), 4);
    assert_eq!(lab.count_at(t0 + Duration::from_secs(25), is_garp), 4);
    let total: usize = lab.log.iter().filter(|(_, o)| is_garp(o)).count();
    assert_eq!(total, 10 + 10 + 4 + 4 + 4); // refresh at 15, 25, 35 s after
                                            // Order on becoming master: state, advert, addresses, GARPs, notify.
    let at_t0: Vec<&Output> = lab
        .log
        .iter()
        .filter(|(t, _)| *t == t0)
        .map(|(_, o)| o)
        .collect();
    assert!(matches!(
        at_t0[0],
        Output::StateChanged {
            to: State::Master,
            ..
        }
    ));
    assert!(matches!(at_t0[1], Output::SendAdvert { .. }));
    assert!(matches!(at_t0[2], Output::AddAddresses { .. }));
    assert!(is_garp(at_t0[3]));
    assert!(matches!(
        at_t0.last(),
        Some(Output::Notify {
            state: NotifyState::Master,
            ..
        })
    ));
}

#[test]
fn min_garp_sends_one_and_no_second_burst() {
    let mut c = instance("vi", 1, 100, 1);
    c.garp.min_garp = true;
    let mut lab = Lab::started(vec![c]);
    lab.run_until(at(20.0));
    assert_eq!(lab.log.iter().filter(|(_, o)| is_garp(o)).count(), 1);
}

#[test]
fn ipv6_instances_send_neighbour_advertisements() {
    let vip: IpAddr = "2001:db8::1".parse().expect("addr");
    let mut c = InstanceConfig::new("v6", 1, Family::V6, IF, 100).with_vip(vip);
    c.source = Some("fe80::1".parse().expect("addr"));
    let mut lab = Lab::started(vec![c]);
    lab.run_until(at(4.0));
    let nas = lab
        .log
        .iter()
        .filter(|(_, o)| matches!(o, Output::SendNa { .. }))
        .count();
    assert_eq!(nas, 5);
}

// ----- unicast ----------------------------------------------------------------

#[test]
fn unicast_sends_one_advert_per_peer() {
    let mut c = instance("vi", 1, 100, 1);
    c.unicast_peers = vec![UnicastPeer::new(v4(2)), UnicastPeer::new(v4(3))];
    let mut lab = Lab::started(vec![c]);
    lab.run_until(at(4.0));
    let dsts: Vec<IpAddr> = lab
        .log
        .iter()
        .filter_map(|(_, o)| match o {
            Output::SendAdvert { dst, .. } => Some(*dst),
            _ => None,
        })
        .collect();
    assert_eq!(dsts, vec![v4(2), v4(3)]);
}

#[test]
fn unicast_fault_exit_announces_our_source() {
    let mut c = instance("vi", 1, 100, 1);
    c.unicast_peers = vec![UnicastPeer::new(v4(2))];
    let mut lab = Lab::started(vec![c]);
    let link = |up| Input::Link {
        interface: IF.into(),
        up,
    };
    lab.input_at(at(1.0), link(false));
    lab.input_at(at(2.0), link(true));
    let garps: Vec<&Output> = lab
        .log
        .iter()
        .filter(|(t, o)| *t == at(2.0) && is_garp(o))
        .map(|(_, o)| o)
        .collect();
    assert_eq!(garps.len(), 1);
    assert!(matches!(garps[0], Output::SendGarp { addr, .. } if IpAddr::V4(*addr) == v4(1)));
}

#[test]
fn unicast_accepts_the_old_keepalived_checksum() {
    let mut c = instance("vi", 1, 100, 1);
    c.version = Version::V3;
    c.unicast_peers = vec![UnicastPeer::new(v4(2))];
    let mut lab = Lab::started(vec![c.clone()]);
    // Checksummed with the multicast group as destination although unicast.
    let Input::Packet(p) = advert(&c, 200, 100, v4(2), GROUP4) else {
        unreachable!()
    };
    lab.input_at(at(1.0), packet(&c, v4(2), v4(1), 255, p.bytes.clone()));
    let stats = lab.vrrp.stats(InstanceId(0)).expect("stats");
    assert_eq!((stats.advert_rcvd, stats.checksum_err), (1, 0));
    // A plainly wrong checksum is still refused.
    let mut bad = p.bytes;
    bad[7] ^= 1;
    lab.input(packet(&c, v4(2), v4(1), 255, bad));
    assert_eq!(
        lab.vrrp.stats(InstanceId(0)).map(|s| s.checksum_err),
        Some(1)
    );
}

// ----- commands ---------------------------------------------------------------

#[test]
fn force_backup_resigns_with_priority_zero() {
    let c = instance("vi", 1, 100, 1);
    let mut lab = Lab::started(vec![c]);
    lab.run_until(at(4.0));
    lab.clear_log();
    lab.input_at(
        at(4.5),
        Input::Command(kalive_vrrp::Command::ForceBackup(InstanceId(0))),
    );
    assert_eq!(lab.state(0), State::Backup);
    assert_eq!(lab.adverts_between(at(4.5), at(4.5)), vec![(at(4.5), 0)]);
    assert_eq!(
        lab.count_at(at(4.5), |o| matches!(o, Output::RemoveAddresses { .. })),
        1
    );
}

#[test]
fn state_master_instance_leaves_fault_on_a_short_timer() {
    let mut c = instance("vi", 1, 100, 1);
    c.initial_state = kalive_vrrp::InitialState::Master;
    let mut lab = Lab::started(vec![c]);
    let link = |up| Input::Link {
        interface: IF.into(),
        up,
    };
    lab.input_at(at(1.0), link(false));
    lab.input_at(at(2.0), link(true));
    lab.run_until(at(10.0));
    // 2 s + advert interval + 1/256 s.
    assert_eq!(lab.transitions(0, State::Master), vec![us(3_003_906)]);
}

// ----- shutdown ---------------------------------------------------------------

#[test]
fn shutdown_resigns_masters_and_notifies_stop() {
    let mut lab = Lab::started(vec![instance("m", 1, 100, 1), instance("b", 2, 100, 1)]);
    lab.run_until(at(4.0));
    lab.input_at(
        at(4.0),
        advert(&instance("b", 2, 100, 1), 200, 100, v4(9), GROUP4),
    );
    assert_eq!(lab.state(0), State::Master);
    assert_eq!(lab.state(1), State::Backup);
    lab.clear_log();
    lab.input_at(at(4.5), Input::Shutdown);
    assert_eq!(lab.adverts_between(at(4.5), at(4.5)), vec![(at(4.5), 0)]);
    let stops = lab
        .log
        .iter()
        .filter(|(_, o)| {
            matches!(
                o,
                Output::Notify {
                    state: NotifyState::Stop,
                    ..
                }
            )
        })
        .count();
    assert_eq!(stops, 2);
    assert_eq!(lab.vrrp.poll_timeout(), None);
    assert_eq!(lab.state(0), State::Init);
}

// ----- receive validation -----------------------------------------------------

fn v2_bytes(vrid: u8, priority: u8, interval_s: u8, auth_type: u8, auth: [u8; 8]) -> Vec<u8> {
    let mut b = vec![
        0x21, vrid, priority, 1, auth_type, interval_s, 0, 0, 192, 168, 1, vrid,
    ];
    b.extend_from_slice(&auth);
    let sum = rfc1071(&b);
    b[6..8].copy_from_slice(&sum.to_be_bytes());
    b
}

fn rfc1071(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[test]
fn each_receive_validation_failure_is_counted_and_ignored() {
    let mut c = instance("vi", 1, 100, 1);
    c.authentication = Authentication::pass("secret");
    let pass = match c.authentication {
        Authentication::Pass(p) => p,
        _ => unreachable!(),
    };
    let mut uni = instance("uni", 2, 100, 1);
    uni.unicast_peers = vec![UnicastPeer {
        addr: v4(2),
        min_ttl: 250,
        max_ttl: 255,
    }];
    let mut owner = instance("own", 3, 255, 1);
    owner.owner_ignore_adverts = true;
    owner.interface = "eth9".into();
    let mut lab = Lab::started(vec![c.clone(), uni.clone(), owner.clone()]);
    let good = v2_bytes(1, 200, 1, 1, pass);
    let cases: Vec<(RxDrop, Input)> = vec![
        (
            RxDrop::Length,
            packet(&c, v4(9), GROUP4, 255, good[..10].to_vec()),
        ),
        (
            RxDrop::Length,
            packet(&c, v4(9), GROUP4, 255, [good.clone(), vec![0; 20]].concat()),
        ),
        (RxDrop::Ttl, packet(&c, v4(9), GROUP4, 64, good.clone())),
        (RxDrop::Version, {
            let mut b = good.clone();
            b[0] = 0x31;
            packet(&c, v4(9), GROUP4, 255, b)
        }),
        (
            RxDrop::InvalidAuthType,
            packet(&c, v4(9), GROUP4, 255, v2_bytes(1, 200, 1, 7, pass)),
        ),
        (
            RxDrop::AuthTypeMismatch,
            packet(&c, v4(9), GROUP4, 255, v2_bytes(1, 200, 1, 0, [0; 8])),
        ),
        (
            RxDrop::AuthFailure,
            packet(&c, v4(9), GROUP4, 255, v2_bytes(1, 200, 1, 1, *b"wrongpw!")),
        ),
        (
            RxDrop::Interval,
            packet(&c, v4(9), GROUP4, 255, v2_bytes(1, 200, 2, 1, pass)),
        ),
        (RxDrop::Type, {
            let mut b = v2_bytes(1, 200, 1, 1, pass);
            b[0] = 0x22;
            b[6] = 0;
            b[7] = 0;
            let sum = rfc1071(&b);
            b[6..8].copy_from_slice(&sum.to_be_bytes());
            packet(&c, v4(9), GROUP4, 255, b)
        }),
        (
            RxDrop::IpLength,
            Input::Packet(ReceivedPacket {
                interface: IF.into(),
                family: Family::V4,
                src: v4(9),
                dst: GROUP4,
                ttl: 255,
                ip_payload_len: Some(40),
                bytes: good.clone(),
            }),
        ),
        (RxDrop::Checksum, {
            let mut b = good.clone();
            b[7] ^= 0xff;
            packet(&c, v4(9), GROUP4, 255, b)
        }),
        (
            RxDrop::Destination,
            packet(&c, v4(9), v4(1), 255, good.clone()),
        ),
        (RxDrop::UnicastSource, advert(&uni, 200, 100, v4(7), v4(1))),
        (
            RxDrop::UnicastTtl,
            packet(&uni, v4(2), v4(1), 200, {
                let Input::Packet(p) = advert(&uni, 200, 100, v4(2), v4(1)) else {
                    unreachable!()
                };
                p.bytes
            }),
        ),
        (RxDrop::OwnerIgnore, advert(&owner, 200, 100, v4(9), GROUP4)),
    ];
    let total = cases.len() as u64;
    for (k, (why, input)) in cases.into_iter().enumerate() {
        let owner_case = why == RxDrop::OwnerIgnore;
        let uni_case = matches!(why, RxDrop::UnicastSource | RxDrop::UnicastTtl);
        let id = if owner_case {
            2
        } else if uni_case {
            1
        } else {
            0
        };
        let before = lab.vrrp.stats(InstanceId(id)).expect("stats").drops(why);
        lab.input_at(at(0.1 + 0.01 * k as f64), input);
        let after = lab.vrrp.stats(InstanceId(id)).expect("stats").drops(why);
        assert_eq!(after, before + 1, "{why:?} not counted");
    }
    let sum: u64 = (0..3)
        .map(|i| lab.vrrp.stats(InstanceId(i)).expect("stats").total_drops())
        .sum();
    assert_eq!(sum, total);
    for i in 0..3 {
        assert_eq!(lab.vrrp.stats(InstanceId(i)).expect("stats").advert_rcvd, 0);
    }
    // None of them reset the timer: takeover as if nothing was received.
    lab.run_until(at(5.0));
    assert_eq!(lab.transitions(0, State::Master), vec![us(3_609_375)]);
    // The good packet is accepted; an unknown VRID is counted globally.
    let mut lab = Lab::started(vec![c.clone()]);
    lab.input_at(at(1.0), packet(&c, v4(9), GROUP4, 255, good.clone()));
    assert_eq!(lab.vrrp.stats(InstanceId(0)).expect("stats").advert_rcvd, 1);
    lab.input(packet(
        &c,
        v4(9),
        GROUP4,
        255,
        v2_bytes(42, 200, 1, 1, pass),
    ));
    assert_eq!(lab.vrrp.unknown_vrid_count(), 1);
    // Ethernet padding up to the minimum frame is tolerated.
    lab.input(packet(
        &c,
        v4(9),
        GROUP4,
        255,
        [good.clone(), vec![0; 6]].concat(),
    ));
    assert_eq!(lab.vrrp.stats(InstanceId(0)).expect("stats").advert_rcvd, 2);
}

#[test]
fn a_packet_failing_several_checks_counts_the_first_in_keepalived_order() {
    let mut c = instance("vi", 1, 100, 1);
    c.authentication = Authentication::pass("secret");
    let mut lab = Lab::started(vec![c.clone()]);
    // Wrong password and a broken checksum: step 6 comes before step 10.
    let mut b = v2_bytes(1, 200, 1, 1, *b"wrongpw!");
    b[7] ^= 0xff;
    lab.input_at(at(0.5), packet(&c, v4(9), GROUP4, 255, b.clone()));
    // Wrong TTL as well: step 3 comes first.
    lab.input(packet(&c, v4(9), GROUP4, 1, b));
    let stats = lab.vrrp.stats(InstanceId(0)).expect("stats");
    assert_eq!(
        (stats.auth_failure, stats.checksum_err, stats.ip_ttl_err),
        (1, 0, 1)
    );
}

/// Issue 11 item 15: an advert whose address list differs from ours is
/// dropped unless it comes from an address owner (RFC 3768 §7.1, RFC 5798
/// §7.1; keepalived 2.2.7 drops it too): a MASTER does not yield to it, a
/// BACKUP does not let it reset its timer.
#[test]
fn address_list_mismatch_is_dropped_unless_from_the_owner() {
    let c = instance("vi", 1, 100, 1);
    let mut other = c.clone();
    other.vips[0].addr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 99));
    // BACKUP: the higher advert does not hold it back.
    let mut lab = Lab::started(vec![c.clone()]);
    lab.input_at(at(1.0), advert(&other, 200, 100, v4(9), GROUP4));
    let stats = lab.vrrp.stats(InstanceId(0)).expect("stats");
    assert_eq!((stats.advert_rcvd, stats.addr_list_err), (0, 1));
    assert_eq!(
        lab.count_at(at(1.0), |o| matches!(
            o,
            Output::PacketDropped {
                instance: Some(InstanceId(0)),
                reason: RxDrop::AddressList,
                ..
            }
        )),
        1
    );
    lab.run_until(at(5.0));
    assert_eq!(lab.transitions(0, State::Master), vec![us(3_609_375)]);
    // MASTER: a higher priority with other addresses does not take over.
    lab.input_at(at(5.5), advert(&other, 200, 100, v4(9), GROUP4));
    assert_eq!(lab.state(0), State::Master);
    // ... but an owner's advert is processed (the RFC exception).
    lab.input_at(at(6.0), advert(&other, 255, 100, v4(9), GROUP4));
    assert_eq!(lab.state(0), State::Backup);
    let stats = lab.vrrp.stats(InstanceId(0)).expect("stats");
    assert_eq!((stats.advert_rcvd, stats.addr_list_err), (1, 3));
}

/// Step 13 compares the address lists as keepalived does (sorted), so
/// order does not matter and multiplicity does, for short lists (compared
/// in place) and long ones (sorted copies) alike.
#[test]
fn address_list_is_compared_in_any_order_short_and_long() {
    let with_vips = |count: u8| {
        let mut c = instance("vi", 1, 100, 1);
        let template = c.vips[0].clone();
        c.vips = (1..=count)
            .map(|i| {
                let mut vip = template.clone();
                vip.addr = IpAddr::V4(Ipv4Addr::new(10, 9, 0, i));
                vip
            })
            .collect();
        c
    };
    for count in [3u8, 20] {
        let ours = with_vips(count);
        let mut lab = Lab::started(vec![ours.clone()]);
        let mut reversed = ours.clone();
        reversed.vips.reverse();
        lab.input_at(at(1.0), advert(&reversed, 200, 100, v4(9), GROUP4));
        let mut doubled = ours.clone();
        doubled.vips[1] = doubled.vips[0].clone();
        lab.input_at(at(1.5), advert(&doubled, 200, 100, v4(9), GROUP4));
        let mut shorter = ours.clone();
        shorter.vips.pop();
        lab.input_at(at(2.0), advert(&shorter, 200, 100, v4(9), GROUP4));
        let stats = lab.vrrp.stats(InstanceId(0)).expect("stats");
        assert_eq!(
            (stats.advert_rcvd, stats.addr_list_err),
            (1, 2),
            "{count} VIPs: reversed accepted, doubled and shorter dropped"
        );
    }
}

#[test]
fn master_seen_and_clear_stats() {
    let c = instance("vi", 1, 100, 1);
    let mut lab = Lab::started(vec![c.clone()]);
    assert_eq!(lab.vrrp.master_seen(InstanceId(0)), None);
    lab.input_at(at(1.0), advert(&c, 200, 100, v4(9), GROUP4));
    assert_eq!(lab.vrrp.master_seen(InstanceId(0)), Some((v4(9), 200)));
    assert_eq!(
        lab.vrrp.stats(InstanceId(0)).map(|s| s.advert_rcvd),
        Some(1)
    );
    lab.vrrp.clear_stats(InstanceId(0));
    assert_eq!(
        lab.vrrp.stats(InstanceId(0)).map(|s| s.advert_rcvd),
        Some(0)
    );
}

#[test]
fn config_errors_are_reported() {
    let mut c = instance("vi", 0, 100, 1);
    assert!(Vrrp::new(vec![c.clone()], vec![], Timestamp::ZERO).is_err());
    c.vrid = 1;
    let group = SyncGroupConfig {
        name: "G".into(),
        members: vec!["nope".into()],
    };
    assert!(Vrrp::new(vec![c.clone()], vec![group], Timestamp::ZERO).is_err());
    assert!(Vrrp::new(vec![c.clone(), c], vec![], Timestamp::ZERO).is_err());
}

#[test]
fn inputs_and_outputs_round_trip_through_json() {
    let mut lab = Lab::started(vec![instance("vi", 1, 100, 1)]);
    lab.run_until(at(4.0));
    for (_, out) in &lab.log {
        let text = serde_json::to_string(out).expect("ser");
        let back: Output = serde_json::from_str(&text).expect("de");
        assert_eq!(&back, out);
    }
}
