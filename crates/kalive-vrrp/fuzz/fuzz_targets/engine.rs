//! `cargo fuzz run engine` (see docs/fuzzing.md): the VRRP engine built from
//! fuzzer-chosen instance and sync-group configs, then driven by a
//! fuzzer-chosen run: adverts (well formed for a configured instance, then
//! possibly damaged), raw bytes, links, trackers, commands, reloads, start
//! and shutdown, with time that only moves forward (timers fired on time or
//! late, as a busy daemon would).
//!
//! Invariants checked after every call, as the daemon sees them:
//! - no panic (debug assertions on: no overflow either);
//! - the output queue after one call stays under a bound computed from the
//!   configuration (nothing grows with the number of packets or the time
//!   elapsed);
//! - every `StateChanged` starts from the state the previous one ended in,
//!   and [`Vrrp::state`] agrees;
//! - a MASTER holds exactly its configured VIPs and excluded VIPs (as
//!   installed by the Add/RemoveAddresses outputs), any other state none;
//!   nothing is added twice or removed when absent, across reloads too;
//! - timers make progress: a due deadline is gone after `handle_timeout`.
#![no_main]

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use kalive_vrrp::{
    Authentication, Command, Family, GarpConfig, InitialState, Input, InstanceConfig, InstanceId,
    Output, ReceivedPacket, State, SyncGroupConfig, Timestamp, TrackedFile, TrackedInterface,
    TrackedProcess, TrackedScript, UnicastPeer, Version, VirtualAddress, VirtualEntry, Vrrp,
};
use kalive_wire::{AdvertRepr, Auth, Checksum};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 6] = ["a", "b", "c", "d", "e", "f"];
const INTERFACES: [&str; 3] = ["eth0", "eth1", "eth2"];
const TRACKERS: [&str; 3] = ["t0", "t1", "t2"];

fn v4(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, n / 8, n % 8))
}

fn v6(n: u8) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(n % 8)))
}

fn addr(family: Family, n: u8) -> IpAddr {
    match family {
        Family::V4 => v4(n % 24),
        Family::V6 => v6(n),
    }
}

fn vip(family: Family, n: u8) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::new(10, 9, 0, n % 16)),
        Family::V6 => IpAddr::V6(Ipv6Addr::new(
            0x2001,
            0xdb8,
            0,
            0,
            0,
            0,
            0,
            u16::from(n % 16),
        )),
    }
}

/// One instance, in fuzzer terms; most fields pick from small pools so that
/// instances collide on VRIDs, interfaces and trackers.
#[derive(Arbitrary, Debug, Clone)]
struct ArbInstance {
    vrid: u8,
    v6: bool,
    v3: bool,
    interface: u8,
    priority: u8,
    master: bool,
    interval_cs: u16,
    auth: u8,
    source: Option<u8>,
    peers: Vec<(u8, u8, u8)>,
    vips: Vec<u8>,
    excluded: Vec<u8>,
    routes: Vec<u8>,
    nopreempt: bool,
    preempt_delay_ms: u16,
    garp: (u16, u8, u16, u8, u16, u8, bool),
    down_timer_adverts: u8,
    flags: u8,
    track_interfaces: Vec<(u8, i32, bool)>,
    track_scripts: Vec<(u8, i32, bool, u8, u8, bool)>,
    track_files: Vec<(u8, i32, bool, i64)>,
    track_processes: Vec<(u8, i32, bool)>,
}

impl ArbInstance {
    fn config(&self, name: &str) -> InstanceConfig {
        let family = if self.v6 { Family::V6 } else { Family::V4 };
        let interface = INTERFACES[usize::from(self.interface) % INTERFACES.len()];
        // VRIDs 1..=4 (0 now and then: the engine must refuse it cleanly).
        let vrid = if self.vrid == 255 {
            0
        } else {
            1 + self.vrid % 4
        };
        let priority = match self.priority {
            0 | 255 | 100 => self.priority,
            p => 1 + p % 254,
        };
        let mut c = InstanceConfig::new(name, vrid, family, interface, priority);
        if self.v3 || self.v6 {
            c.version = Version::V3;
        }
        if self.v6 && self.v3 && self.interval_cs == 1 {
            c.version = Version::V2; // refused: v2 over IPv6
        }
        c.initial_state = if self.master {
            InitialState::Master
        } else {
            InitialState::Backup
        };
        c.advert_interval = match c.version {
            Version::V2 => Duration::from_secs(1 + u64::from(self.interval_cs % 4)),
            Version::V3 => Duration::from_millis(10 * u64::from(1 + self.interval_cs % 4095)),
        };
        c.authentication = match self.auth % 4 {
            0 | 1 => Authentication::None,
            2 => Authentication::pass("secret"),
            _ => Authentication::Ah,
        };
        c.source = self.source.map(|n| addr(family, n));
        c.unicast_peers = self
            .peers
            .iter()
            .take(3)
            .map(|&(n, min_ttl, max_ttl)| UnicastPeer {
                addr: addr(family, n),
                min_ttl: if min_ttl < 200 { 0 } else { min_ttl },
                max_ttl: if max_ttl < 50 { max_ttl } else { 255 },
            })
            .collect();
        c.check_unicast_src = self.flags & 1 != 0;
        let mut seen = BTreeSet::new();
        for (key, n) in self.vips.iter().take(6).enumerate() {
            if seen.insert(vip(family, *n)) {
                c.vips.push(VirtualAddress {
                    addr: vip(family, *n),
                    prefix_len: if family == Family::V4 { 32 } else { 128 },
                    interface: interface.to_string(),
                    key: key as u32,
                });
            }
        }
        // Excluded VIPs on another interface and in another range, so
        // they never coincide with advertised ones.
        let mut seen = BTreeSet::new();
        for (key, n) in self.excluded.iter().take(3).enumerate() {
            let addr = match vip(Family::V4, *n) {
                IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::new(172, 16, 0, a.octets()[3])),
                other => other,
            };
            if seen.insert(addr) {
                c.excluded_vips.push(VirtualAddress {
                    addr,
                    prefix_len: 24,
                    interface: "eth9".into(),
                    key: 100 + key as u32,
                });
            }
        }
        c.virtual_routes = self
            .routes
            .iter()
            .take(3)
            .enumerate()
            .map(|(key, n)| VirtualEntry::new(key as u32, &format!("192.0.2.{} dev eth0", n % 4)))
            .collect();
        c.virtual_rules = c.virtual_routes.iter().take(1).cloned().collect();
        c.nopreempt = self.nopreempt;
        c.preempt_delay = Duration::from_millis(u64::from(self.preempt_delay_ms % 5000));
        let (md, mr, lpd, lpr, refresh, rr, min_garp) = self.garp;
        c.garp = GarpConfig {
            master_delay: Duration::from_millis(u64::from(md)),
            master_repeat: u32::from(mr % 8),
            lower_prio_delay: Duration::from_millis(u64::from(lpd)),
            lower_prio_repeat: u32::from(lpr % 8),
            master_refresh: Duration::from_millis(u64::from(refresh)),
            master_refresh_repeat: u32::from(rr % 4),
            min_garp,
        };
        c.down_timer_adverts = u32::from(self.down_timer_adverts % 102);
        c.lower_prio_no_advert = self.flags & 2 != 0;
        c.higher_prio_send_advert = self.flags & 4 != 0;
        c.owner_ignore_adverts = self.flags & 8 != 0;
        c.v3_checksum_as_v2 = self.flags & 16 != 0;
        c.skip_check_adv_addr = self.flags & 32 != 0;
        c.dont_track_primary = self.flags & 64 != 0;
        c.notify_deleted = self.flags & 128 != 0;
        let tracker = |n: u8| TRACKERS[usize::from(n) % TRACKERS.len()].to_string();
        c.track_interfaces = self
            .track_interfaces
            .iter()
            .take(2)
            .map(|&(n, weight, reverse)| TrackedInterface {
                interface: INTERFACES[usize::from(n) % INTERFACES.len()].to_string(),
                weight,
                reverse,
            })
            .collect();
        c.track_scripts = self
            .track_scripts
            .iter()
            .take(2)
            .map(
                |&(n, weight, reverse, rise, fall, init_fail)| TrackedScript {
                    name: tracker(n),
                    weight,
                    reverse,
                    rise: u32::from(rise % 4),
                    fall: u32::from(fall % 4),
                    init_fail,
                },
            )
            .collect();
        c.track_files = self
            .track_files
            .iter()
            .take(2)
            .map(|&(n, weight, reverse, initial_value)| TrackedFile {
                name: tracker(n),
                weight,
                reverse,
                initial_value,
            })
            .collect();
        c.track_processes = self
            .track_processes
            .iter()
            .take(2)
            .map(|&(n, weight, reverse)| TrackedProcess {
                name: tracker(n),
                weight,
                reverse,
            })
            .collect();
        c
    }
}

#[derive(Arbitrary, Debug, Clone)]
struct ArbSetup {
    instances: Vec<ArbInstance>,
    /// Each group: member indices (names) into NAMES.
    groups: Vec<Vec<u8>>,
    /// Rename: instance i gets NAMES[(i + shift) % 6] (a reload can rename).
    shift: u8,
}

impl ArbSetup {
    fn configs(&self) -> (Vec<InstanceConfig>, Vec<SyncGroupConfig>) {
        let instances: Vec<InstanceConfig> = self
            .instances
            .iter()
            .take(NAMES.len())
            .enumerate()
            .map(|(i, a)| a.config(NAMES[(i + usize::from(self.shift)) % NAMES.len()]))
            .collect();
        let groups = self
            .groups
            .iter()
            .take(3)
            .enumerate()
            .map(|(g, members)| SyncGroupConfig {
                name: format!("g{g}"),
                members: members
                    .iter()
                    .take(4)
                    .map(|m| NAMES[usize::from(*m) % NAMES.len()].to_string())
                    .collect(),
            })
            .collect();
        (instances, groups)
    }
}

/// How an advert for a configured instance is built, then damaged.
#[derive(Arbitrary, Debug, Clone)]
struct ArbAdvert {
    instance: u8,
    priority: u8,
    interval_cs: u16,
    /// Use the instance's VIPs (true) or these.
    own_vips: bool,
    vips: Vec<u8>,
    wrong_auth: bool,
    src: u8,
    to_group: bool,
    ttl: u8,
    /// None: checksum right; Some: flip this bit.
    flip: Option<u16>,
    bad_ip_len: bool,
    interface: Option<u8>,
}

#[derive(Arbitrary, Debug, Clone)]
enum Step {
    /// Move time on by this many ms and fire due timers at their deadlines.
    Advance(u16),
    /// Move time on and fire due timers once, late (a slow wake-up).
    AdvanceLate(u16),
    /// A spurious wake-up: `handle_timeout(now)` with nothing due.
    Wake,
    Start,
    Advert(ArbAdvert),
    /// The same advert `n` times without the queue being emptied.
    Flood(ArbAdvert, u8),
    Raw {
        interface: u8,
        v6: bool,
        src: u8,
        ttl: u8,
        bytes: Vec<u8>,
    },
    Link(u8, bool),
    Script(u8, bool),
    File(u8, i64),
    Process(u8, bool),
    Command(u8, u8),
    Reload(ArbSetup),
    Shutdown,
    ClearStats(u8),
}

#[derive(Arbitrary, Debug)]
struct Run {
    setup: ArbSetup,
    steps: Vec<Step>,
}

/// What the daemon would have done with the outputs so far.
struct Mirror {
    states: Vec<State>,
    vips: Vec<BTreeSet<(IpAddr, u8, String)>>,
    excluded: Vec<BTreeSet<(IpAddr, u8, String)>>,
}

impl Mirror {
    fn new(count: usize) -> Self {
        Mirror {
            states: vec![State::Init; count],
            vips: vec![BTreeSet::new(); count],
            excluded: vec![BTreeSet::new(); count],
        }
    }

    fn apply(&mut self, out: &Output) {
        let key = |a: &VirtualAddress| (a.addr, a.prefix_len, a.interface.clone());
        match out {
            Output::StateChanged {
                instance, from, to, ..
            } => {
                let i = instance.0 as usize;
                assert_eq!(
                    self.states[i], *from,
                    "instance {i} changed from a stale state"
                );
                self.states[i] = *to;
            }
            Output::AddAddresses {
                instance,
                excluded,
                addresses,
            } => {
                let set = if *excluded {
                    &mut self.excluded[instance.0 as usize]
                } else {
                    &mut self.vips[instance.0 as usize]
                };
                for a in addresses {
                    assert!(set.insert(key(a)), "{a:?} added twice");
                }
            }
            Output::RemoveAddresses {
                instance,
                excluded,
                addresses,
            } => {
                let set = if *excluded {
                    &mut self.excluded[instance.0 as usize]
                } else {
                    &mut self.vips[instance.0 as usize]
                };
                for a in addresses {
                    assert!(set.remove(&key(a)), "{a:?} removed but not there");
                }
            }
            _ => {}
        }
    }
}

/// The most outputs one call may leave in the queue for `configs`: per
/// instance a few state/notify/priority outputs, one advert per
/// destination, its addresses, routes and rules, and its GARP bursts; plus
/// the coalesced drop reports and group notifies. Generous, but it does not
/// grow with packets or time.
fn queue_bound(configs: &[&InstanceConfig], groups: usize) -> usize {
    let per_instance: usize = configs
        .iter()
        .map(|c| {
            let addrs = c.vips.len() + c.excluded_vips.len();
            let repeats = (c.garp.master_repeat
                + c.garp.lower_prio_repeat
                + c.garp.master_refresh_repeat
                + 1) as usize;
            32 + 4 * (c.unicast_peers.len() + 1)
                + 4 * (addrs + c.virtual_routes.len() + c.virtual_rules.len())
                + 2 * addrs * repeats
        })
        .sum();
    64 + per_instance + 8 * groups
}

struct Harness {
    vrrp: Vrrp,
    configs: Vec<InstanceConfig>,
    groups: usize,
    mirror: Mirror,
    now: Timestamp,
}

impl Harness {
    /// Empty the queue into the mirror, checking the bound and the
    /// invariants.
    fn drain(&mut self, extra_bound: usize) {
        let outputs = self.vrrp.drain_outputs();
        let refs: Vec<&InstanceConfig> = self.configs.iter().collect();
        let bound = queue_bound(&refs, self.groups) + extra_bound;
        if outputs.len() > bound {
            let mut kinds = std::collections::BTreeMap::new();
            for out in &outputs {
                let kind = format!("{out:?}");
                let kind = kind.split([' ', '{', '(']).next().unwrap_or("").to_string();
                *kinds.entry(kind).or_insert(0) += 1;
            }
            panic!(
                "{} outputs queued by one call, bound {bound}: {kinds:?}\nconfigs {:#?}",
                outputs.len(),
                self.configs
            );
        }
        for out in &outputs {
            self.mirror.apply(out);
        }
        self.check();
    }

    fn check(&self) {
        for (i, config) in self.configs.iter().enumerate() {
            let id = InstanceId(i as u32);
            let state = self.mirror.states[i];
            assert_eq!(self.vrrp.state(id), Some(state), "instance {i}");
            let key = |a: &VirtualAddress| (a.addr, a.prefix_len, a.interface.clone());
            let (vips, excluded) = if state == State::Master {
                (
                    config.vips.iter().map(key).collect(),
                    config.excluded_vips.iter().map(key).collect(),
                )
            } else {
                (BTreeSet::new(), BTreeSet::new())
            };
            assert_eq!(self.mirror.vips[i], vips, "instance {i} VIPs in {state:?}");
            assert_eq!(
                self.mirror.excluded[i], excluded,
                "instance {i} excluded VIPs"
            );
        }
    }

    fn advance(&mut self, ms: u16, late: bool) {
        self.now = self.now + Duration::from_millis(u64::from(ms));
        if late {
            self.vrrp.handle_timeout(self.now);
            self.drain(0);
        } else {
            // Each call fires what is due at one deadline; a 10 ms advert
            // interval over 65 s is ~6,500 calls per instance.
            for _ in 0..100_000 {
                match self.vrrp.poll_timeout() {
                    Some(deadline) if deadline <= self.now => {
                        self.vrrp.handle_timeout(deadline);
                        self.drain(0);
                        if let Some(next) = self.vrrp.poll_timeout() {
                            assert!(next > deadline, "timer at {deadline} did not move on");
                        }
                    }
                    _ => return,
                }
            }
            panic!("timers never caught up with {}", self.now);
        }
        if let Some(next) = self.vrrp.poll_timeout() {
            assert!(
                next > self.now,
                "a timer due at {next} survived handle_timeout({})",
                self.now
            );
        }
    }

    fn advert(&self, a: &ArbAdvert) -> Option<ReceivedPacket> {
        let config = self
            .configs
            .get(usize::from(a.instance) % self.configs.len().max(1))?;
        let family = config.family;
        let src = addr(family, a.src);
        let dst = if a.to_group || !config.is_unicast() {
            config.multicast_group
        } else {
            config.source.unwrap_or(config.multicast_group)
        };
        let addrs = if a.own_vips {
            config.vips.iter().map(|v| v.addr).collect()
        } else {
            a.vips.iter().take(4).map(|n| vip(family, *n)).collect()
        };
        let auth = match (config.version, config.authentication, a.wrong_auth) {
            (Version::V3, _, _) => Auth::None,
            (_, Authentication::Pass(p), false) => Auth::Pass(p),
            (_, Authentication::Pass(_), true) => Auth::Pass(*b"wrong!!!"),
            (_, Authentication::Ah, w) => {
                if w {
                    Auth::None
                } else {
                    Auth::Ah
                }
            }
            (_, Authentication::None, w) => {
                if w {
                    Auth::Pass(*b"secret\0\0")
                } else {
                    Auth::None
                }
            }
        };
        let interval_cs = match config.version {
            Version::V2 => 100 * (1 + a.interval_cs % 4),
            Version::V3 => a.interval_cs % 4096,
        };
        let repr = AdvertRepr {
            version: config.version,
            vrid: config.vrid,
            priority: a.priority,
            interval_cs,
            auth,
            addrs,
        };
        let checksum = match (config.version, config.v3_checksum_as_v2) {
            (Version::V2, _) => Checksum::V2,
            (Version::V3, true) => Checksum::V3AsV2,
            (Version::V3, false) => Checksum::V3 { src, dst },
        };
        let mut bytes = vec![0u8; repr.buffer_len()];
        repr.emit(&mut bytes, checksum).ok()?;
        if let Some(bit) = a.flip {
            let at = usize::from(bit / 8) % bytes.len();
            bytes[at] ^= 1 << (bit % 8);
        }
        let ip_payload_len = match family {
            Family::V4 => Some(bytes.len() as u16 + u16::from(a.bad_ip_len)),
            Family::V6 => None,
        };
        let interface = match a.interface {
            Some(n) => INTERFACES[usize::from(n) % INTERFACES.len()],
            None => config.interface.as_str(),
        };
        Some(ReceivedPacket {
            interface: interface.into(),
            family,
            src,
            dst,
            ttl: if a.ttl < 16 { a.ttl } else { 255 },
            ip_payload_len,
            bytes,
        })
    }

    fn reload(&mut self, setup: &ArbSetup) {
        let (configs, groups) = setup.configs();
        let group_count = groups.len();
        let Ok(report) = self.vrrp.reconfigure(self.now, configs.clone(), groups) else {
            // Refused: the engine is untouched.
            self.check();
            return;
        };
        let old: Vec<&InstanceConfig> = self.configs.iter().collect();
        let new: Vec<&InstanceConfig> = configs.iter().collect();
        let retired_bound = queue_bound(&old, self.groups) + queue_bound(&new, group_count);
        assert!(
            report.retired.len() <= retired_bound,
            "{} retired outputs",
            report.retired.len()
        );
        for out in &report.retired {
            self.mirror.apply(out);
        }
        let mut mirror = Mirror::new(configs.len());
        for (old_id, new_id) in &report.kept {
            let (o, n) = (old_id.0 as usize, new_id.0 as usize);
            mirror.states[n] = self.mirror.states[o];
            mirror.vips[n] = std::mem::take(&mut self.mirror.vips[o]);
            mirror.excluded[n] = std::mem::take(&mut self.mirror.excluded[o]);
        }
        let kept: BTreeSet<usize> = report.kept.iter().map(|(o, _)| o.0 as usize).collect();
        for i in 0..self.mirror.states.len() {
            if !kept.contains(&i) {
                assert!(
                    self.mirror.vips[i].is_empty()
                        && self.mirror.excluded[i].is_empty()
                        && self.mirror.states[i] == State::Init,
                    "removed instance {i} left behind in {:?}",
                    self.mirror.states[i]
                );
            }
        }
        self.mirror = mirror;
        self.configs = configs;
        self.groups = group_count;
        self.drain(retired_bound);
    }

    fn step(&mut self, step: &Step) {
        let count = self.configs.len() as u8;
        match step {
            Step::Advance(ms) => self.advance(*ms, false),
            Step::AdvanceLate(ms) => self.advance(*ms, true),
            Step::Wake => {
                self.vrrp.handle_timeout(self.now);
                self.drain(0);
            }
            Step::Start => self.input(Input::Start),
            Step::Advert(a) => {
                if let Some(p) = self.advert(a) {
                    self.vrrp.handle_packet(self.now, &p);
                    self.drain(0);
                }
            }
            Step::Flood(a, n) => {
                if let Some(p) = self.advert(a) {
                    for _ in 0..*n {
                        self.vrrp.handle_packet(self.now, &p);
                    }
                    // Each packet may answer on its own (a MASTER hearing a
                    // lower priority sends an advert, a lower-priority GARP
                    // burst for its VIPs and excluded VIPs, and a notify, as
                    // keepalived does): the queue may hold one call's worth
                    // per packet, no more.
                    let refs: Vec<&InstanceConfig> = self.configs.iter().collect();
                    let per_packet = queue_bound(&refs, self.groups);
                    self.drain(usize::from(*n) * per_packet);
                }
            }
            Step::Raw {
                interface,
                v6,
                src,
                ttl,
                bytes,
            } => {
                let family = if *v6 { Family::V6 } else { Family::V4 };
                let p = ReceivedPacket {
                    interface: INTERFACES[usize::from(*interface) % INTERFACES.len()].into(),
                    family,
                    src: addr(family, *src),
                    dst: match family {
                        Family::V4 => IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
                        Family::V6 => IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
                    },
                    ttl: *ttl,
                    ip_payload_len: None,
                    bytes: bytes.clone(),
                };
                self.vrrp.handle_packet(self.now, &p);
                self.drain(0);
            }
            Step::Link(n, up) => self.input(Input::Link {
                interface: INTERFACES[usize::from(*n) % INTERFACES.len()].into(),
                up: *up,
            }),
            Step::Script(n, success) => self.input(Input::ScriptResult {
                name: TRACKERS[usize::from(*n) % TRACKERS.len()].into(),
                success: *success,
            }),
            Step::File(n, value) => self.input(Input::FileValue {
                name: TRACKERS[usize::from(*n) % TRACKERS.len()].into(),
                value: *value,
            }),
            Step::Process(n, up) => self.input(Input::Process {
                name: TRACKERS[usize::from(*n) % TRACKERS.len()].into(),
                up: *up,
            }),
            Step::Command(kind, id) => {
                // One id past the end now and then: refused, not a panic.
                let id = InstanceId(u32::from(*id % (count + 1)));
                self.input(Input::Command(match kind % 4 {
                    0 => Command::ForceBackup(id),
                    1 => Command::Promote(id),
                    2 => Command::Demote(id),
                    _ => Command::Clear(id),
                }));
            }
            Step::Reload(setup) => self.reload(setup),
            Step::Shutdown => {
                self.input(Input::Shutdown);
                assert!(self.mirror.states.iter().all(|s| *s == State::Init));
                assert_eq!(self.vrrp.poll_timeout(), None);
            }
            Step::ClearStats(id) => {
                self.vrrp.clear_stats(InstanceId(u32::from(*id)));
            }
        }
    }

    fn input(&mut self, input: Input) {
        self.vrrp.handle_input(self.now, input);
        self.drain(0);
    }
}

fn run(u: &mut Unstructured) -> arbitrary::Result<()> {
    let run = Run::arbitrary(u)?;
    let (configs, groups) = run.setup.configs();
    let group_count = groups.len();
    let Ok(vrrp) = Vrrp::new(configs.clone(), groups, Timestamp::ZERO) else {
        return Ok(());
    };
    let mut h = Harness {
        vrrp,
        mirror: Mirror::new(configs.len()),
        configs,
        groups: group_count,
        now: Timestamp::ZERO,
    };
    h.drain(0);
    for step in run.steps.iter().take(256) {
        h.step(step);
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
