//! Seeded random input sequences (bounded), control commands and reloads
//! included: the engine never panics, a VIP is installed exactly while its
//! instance is MASTER, and every `StateChanged` starts from the state the
//! previous one ended in — across reloads too (retired outputs in old ids,
//! the rest in new ids).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use kalive_vrrp::{
    Command, Family, Input, InstanceConfig, InstanceId, Output, ReceivedPacket, State,
    SyncGroupConfig, Timestamp, TrackedScript, UnicastPeer, Version, Vrrp,
};
use kalive_wire::{AdvertRepr, Auth, Checksum};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn configs() -> (Vec<InstanceConfig>, Vec<SyncGroupConfig>) {
    let v4 = |a: u8, b: u8| IpAddr::V4(Ipv4Addr::new(10, 0, a, b));
    let mut a = InstanceConfig::new("a", 1, Family::V4, "eth0", 100).with_vip(v4(100, 1));
    a.source = Some(v4(0, 1));
    a.track_scripts.push(TrackedScript {
        name: "s".into(),
        weight: 20,
        reverse: false,
        rise: 2,
        fall: 2,
        init_fail: false,
    });
    let mut b = InstanceConfig::new("b", 2, Family::V4, "eth0", 150).with_vip(v4(100, 2));
    b.version = Version::V3;
    b.source = Some(v4(0, 1));
    b.preempt_delay = Duration::from_secs(2);
    let mut c = InstanceConfig::new("c", 3, Family::V4, "eth1", 255).with_vip(v4(100, 3));
    c.source = Some(v4(1, 1));
    c.unicast_peers = vec![UnicastPeer::new(v4(1, 2))];
    let mut d = InstanceConfig::new("d", 4, Family::V6, "eth1", 90)
        .with_vip("2001:db8::4".parse().expect("addr"));
    d.source = Some("fe80::1".parse().expect("addr"));
    d.nopreempt = true;
    let group = SyncGroupConfig {
        name: "g".into(),
        members: vec!["a".into(), "b".into()],
    };
    (vec![a, b, c, d], vec![group])
}

fn random_advert(rng: &mut Rng, config: &InstanceConfig) -> Input {
    let src: IpAddr = match config.family {
        Family::V4 => IpAddr::V4(Ipv4Addr::new(10, 0, 0, rng.below(4) as u8)),
        Family::V6 => format!("fe80::{}", rng.below(4)).parse().expect("addr"),
    };
    let dst = if config.is_unicast() {
        config.source.unwrap_or(config.multicast_group)
    } else {
        config.multicast_group
    };
    let repr = AdvertRepr {
        version: config.version,
        vrid: config.vrid,
        priority: [0, 50, 100, 150, 200, 255][rng.below(6) as usize],
        interval_cs: if config.version == Version::V2 {
            100
        } else {
            [50, 100, 200][rng.below(3) as usize]
        },
        auth: Auth::None,
        addrs: config.vips.iter().map(|v| v.addr).collect(),
    };
    let checksum = match config.version {
        Version::V2 => Checksum::V2,
        Version::V3 => Checksum::V3 { src, dst },
    };
    let mut bytes = vec![0u8; repr.buffer_len()];
    repr.emit(&mut bytes, checksum).expect("emit");
    if rng.below(10) == 0 {
        let at = rng.below(bytes.len() as u64) as usize;
        bytes[at] ^= 1 << rng.below(8);
    }
    Input::Packet(ReceivedPacket {
        interface: config.interface.as_str().into(),
        family: config.family,
        src,
        dst,
        ttl: if rng.below(20) == 0 { 64 } else { 255 },
        ip_payload_len: None,
        bytes,
    })
}

fn random_input(rng: &mut Rng, configs: &[InstanceConfig]) -> Input {
    match rng.below(10) {
        0..=4 => {
            let config = &configs[rng.below(configs.len() as u64) as usize];
            random_advert(rng, config)
        }
        5 => Input::Link {
            interface: ["eth0", "eth1"][rng.below(2) as usize].into(),
            up: rng.below(3) != 0,
        },
        6 => Input::ScriptResult {
            name: "s".into(),
            success: rng.below(2) == 0,
        },
        7 => {
            let id = InstanceId(rng.below(5) as u32);
            Input::Command(match rng.below(4) {
                0 => Command::ForceBackup(id),
                1 => Command::Promote(id),
                2 => Command::Demote(id),
                _ => Command::Clear(id),
            })
        }
        8 => {
            // Garbage bytes.
            let len = rng.below(60) as usize;
            let bytes = (0..len).map(|_| rng.next() as u8).collect();
            Input::Packet(ReceivedPacket {
                interface: "eth0".into(),
                family: Family::V4,
                src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)),
                dst: IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
                ttl: 255,
                ip_payload_len: None,
                bytes,
            })
        }
        _ => Input::FileValue {
            name: "unused".into(),
            value: rng.below(5) as i64,
        },
    }
}

/// A reload target: the base configuration, or one changed in a way a
/// reload must handle.
fn variant(rng: &mut Rng) -> (Vec<InstanceConfig>, Vec<SyncGroupConfig>) {
    let (mut instances, mut groups) = configs();
    match rng.below(7) {
        0 => {}
        1 => instances.reverse(),
        2 => {
            instances[0].priority = 200;
            instances[1].priority = 50;
            instances[3].nopreempt = false;
        }
        3 => {
            let vip = IpAddr::V4(Ipv4Addr::new(10, 0, 100, 9));
            instances[0] = instances[0].clone().with_vip(vip);
            instances[1].vips.clear();
        }
        4 => {
            instances.remove(2);
        }
        5 => {
            groups.clear();
            instances[3].name = "d2".into();
        }
        _ => {
            instances[1].track_scripts.push(TrackedScript {
                name: "s2".into(),
                weight: 0,
                reverse: false,
                rise: 1,
                fall: 1,
                init_fail: false,
            });
        }
    }
    (instances, groups)
}

/// What the daemon would have installed for each instance (VIP values).
type Installed = Vec<BTreeSet<IpAddr>>;

fn apply(out: Output, states: &mut [State], installed: &mut Installed) {
    match out {
        Output::StateChanged {
            instance, from, to, ..
        } => {
            let i = instance.0 as usize;
            assert_eq!(states[i], from, "instance {i} changed from a stale state");
            states[i] = to;
        }
        Output::AddAddresses {
            instance,
            excluded: false,
            addresses,
        } => {
            for a in addresses {
                assert!(installed[instance.0 as usize].insert(a.addr), "added twice");
            }
        }
        Output::RemoveAddresses {
            instance,
            excluded: false,
            addresses,
        } => {
            for a in addresses {
                assert!(installed[instance.0 as usize].remove(&a.addr), "not there");
            }
        }
        _ => {}
    }
}

/// Reload `vrrp`; returns the new tracking arrays.
fn reload(
    vrrp: &mut Vrrp,
    now: Timestamp,
    target: (Vec<InstanceConfig>, Vec<SyncGroupConfig>),
    states: &mut [State],
    installed: &mut Installed,
) -> (Vec<State>, Installed) {
    let count = target.0.len();
    let report = vrrp.reconfigure(now, target.0, target.1).expect("reload");
    for out in report.retired {
        apply(out, states, installed);
    }
    let mut new_states = vec![State::Init; count];
    let mut new_installed = vec![BTreeSet::new(); count];
    for (old, new) in &report.kept {
        new_states[new.0 as usize] = states[old.0 as usize];
        new_installed[new.0 as usize] = std::mem::take(&mut installed[old.0 as usize]);
    }
    let kept: Vec<usize> = report.kept.iter().map(|(o, _)| o.0 as usize).collect();
    for i in 0..states.len() {
        if !kept.contains(&i) {
            assert!(
                installed[i].is_empty() && states[i] == State::Init,
                "removed instance {i} left behind: {:?}",
                states[i]
            );
        }
    }
    (new_states, new_installed)
}

fn check_outputs(vrrp: &mut Vrrp, states: &mut [State], installed: &mut Installed) {
    while let Some(out) = vrrp.poll_output() {
        apply(out, states, installed);
    }
    for (i, state) in states.iter().enumerate() {
        let id = InstanceId(i as u32);
        assert_eq!(vrrp.state(id), Some(*state));
        let expected: BTreeSet<IpAddr> = if *state == State::Master {
            let config = vrrp.config(id).expect("config");
            config.vips.iter().map(|v| v.addr).collect()
        } else {
            BTreeSet::new()
        };
        assert_eq!(installed[i], expected, "instance {i} VIPs vs state");
    }
}

#[test]
fn random_inputs_keep_vips_and_states_consistent() {
    let mut takeovers = 0;
    let mut faults = 0;
    let mut reloads = 0;
    for seed in 1..=40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let (instances, groups) = configs();
        let mut vrrp = Vrrp::new(instances.clone(), groups, Timestamp::ZERO).expect("config");
        let mut states = vec![State::Init; instances.len()];
        let mut installed: Installed = vec![BTreeSet::new(); instances.len()];
        let mut now = Timestamp::ZERO;
        vrrp.handle_input(now, Input::Start);
        check_outputs(&mut vrrp, &mut states, &mut installed);
        let mut instances = instances;
        for _ in 0..400 {
            now = now + Duration::from_millis(rng.below(1500));
            for _ in 0..1000 {
                match vrrp.poll_timeout() {
                    Some(deadline) if deadline <= now => {
                        vrrp.handle_timeout(deadline);
                        check_outputs(&mut vrrp, &mut states, &mut installed);
                    }
                    _ => break,
                }
            }
            if rng.below(25) == 0 {
                let target = variant(&mut rng);
                instances = target.0.clone();
                let (s, i) = reload(&mut vrrp, now, target, &mut states, &mut installed);
                (states, installed) = (s, i);
                reloads += 1;
                check_outputs(&mut vrrp, &mut states, &mut installed);
                continue;
            }
            let input = random_input(&mut rng, &instances);
            vrrp.handle_input(now, input);
            check_outputs(&mut vrrp, &mut states, &mut installed);
            // A master must hear a better master at once (RFC 5798
            // §6.4.3): no batched reads while any instance is master.
            // Debug builds also check the cached slack against a scan.
            let slack = vrrp.receive_slack();
            if states.contains(&State::Master) {
                assert_eq!(slack, Duration::ZERO, "seed {seed}: slack with a master");
            }
            assert!(slack <= Vrrp::MAX_RECEIVE_SLACK, "seed {seed}");
        }
        for i in 0..vrrp.instance_count() {
            let stats = vrrp.stats(InstanceId(i as u32)).expect("stats");
            takeovers += stats.become_master;
        }
        faults += u64::from(states.contains(&State::Fault));
        vrrp.handle_input(now, Input::Shutdown);
        check_outputs(&mut vrrp, &mut states, &mut installed);
        assert!(states.iter().all(|s| *s == State::Init), "seed {seed}");
        assert_eq!(vrrp.poll_timeout(), None);
    }
    // The sequences really move instances around.
    assert!(takeovers > 200, "only {takeovers} takeovers");
    assert!(faults > 0, "no run ended in FAULT");
    assert!(reloads > 200, "only {reloads} reloads");
    eprintln!("{takeovers} takeovers, {faults} runs ending in FAULT, {reloads} reloads");
}
