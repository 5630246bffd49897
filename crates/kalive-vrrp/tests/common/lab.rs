//! One engine on a virtual clock with a log of timed outputs (the
//! `tests/engine.rs` style), for the reload and command tests.

use std::net::{IpAddr, Ipv4Addr};

use kalive_vrrp::{
    Authentication, Family, Input, InstanceConfig, InstanceId, Output, ReceivedPacket, State,
    SyncGroupConfig, Timestamp, Version, Vrrp,
};
use kalive_wire::{AdvertRepr, Auth, Checksum};

pub const IF: &str = "eth0";
pub const GROUP4: IpAddr = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));

pub fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

pub fn vip(vrid: u8, host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 168, vrid, host))
}

pub fn at(secs: f64) -> Timestamp {
    Timestamp::from_secs_f64(secs)
}

pub fn us(micros: u64) -> Timestamp {
    Timestamp::from_micros(micros)
}

/// An IPv4 instance with VIP 192.168.`vrid`.1 and source 10.0.0.`src`.
pub fn instance(name: &str, vrid: u8, priority: u8, src: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new(name, vrid, Family::V4, IF, priority).with_vip(vip(vrid, 1));
    c.source = Some(v4(src));
    c
}

/// A peer's advert for `config`'s VRID and addresses.
pub fn advert(config: &InstanceConfig, priority: u8, src: IpAddr) -> Input {
    let auth = match (config.version, config.authentication) {
        (Version::V2, Authentication::Pass(p)) => Auth::Pass(p),
        _ => Auth::None,
    };
    let repr = AdvertRepr {
        version: config.version,
        vrid: config.vrid,
        priority,
        interval_cs: 100,
        auth,
        addrs: config.vips.iter().map(|v| v.addr).collect(),
    };
    let checksum = match config.version {
        Version::V2 => Checksum::V2,
        Version::V3 => Checksum::V3 { src, dst: GROUP4 },
    };
    let mut bytes = vec![0u8; repr.buffer_len()];
    repr.emit(&mut bytes, checksum).expect("emit");
    Input::Packet(ReceivedPacket {
        interface: config.interface.as_str().into(),
        family: config.family,
        src,
        dst: GROUP4,
        ttl: 255,
        ip_payload_len: None,
        bytes,
    })
}

pub struct Lab {
    pub vrrp: Vrrp,
    pub now: Timestamp,
    pub log: Vec<(Timestamp, Output)>,
}

impl Lab {
    pub fn new(configs: Vec<InstanceConfig>, groups: Vec<SyncGroupConfig>) -> Lab {
        let vrrp = Vrrp::new(configs, groups, Timestamp::ZERO).expect("config");
        Lab {
            vrrp,
            now: Timestamp::ZERO,
            log: Vec::new(),
        }
    }

    pub fn started(configs: Vec<InstanceConfig>, groups: Vec<SyncGroupConfig>) -> Lab {
        let mut lab = Lab::new(configs, groups);
        lab.input(Input::Start);
        lab
    }

    pub fn collect(&mut self) {
        while let Some(out) = self.vrrp.poll_output() {
            self.log.push((self.now, out));
        }
    }

    /// Run timers up to `t` (bounded), then stand at `t`.
    pub fn run_until(&mut self, t: Timestamp) {
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

    pub fn input_at(&mut self, t: Timestamp, input: Input) {
        self.run_until(t);
        self.input(input);
    }

    pub fn input(&mut self, input: Input) {
        self.vrrp.handle_input(self.now, input);
        self.collect();
    }

    pub fn state(&self, id: u32) -> State {
        self.vrrp.state(InstanceId(id)).expect("instance")
    }

    /// Outputs logged at or after `t`.
    pub fn since(&self, t: Timestamp) -> Vec<&Output> {
        self.log
            .iter()
            .filter(|(at, _)| *at >= t)
            .map(|(_, o)| o)
            .collect()
    }

    /// Times at which instance `id` changed to `to`.
    pub fn transitions(&self, id: u32, to: State) -> Vec<Timestamp> {
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

    /// (time, priority) of the adverts instance `id` sent in [from, to].
    pub fn adverts(&self, id: u32, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, u8)> {
        self.log
            .iter()
            .filter(|(t, _)| *t >= from && *t <= to)
            .filter_map(|(t, o)| match o {
                Output::SendAdvert {
                    instance, priority, ..
                } if instance.0 == id => Some((*t, *priority)),
                _ => None,
            })
            .collect()
    }
}

pub fn is_notify(o: &Output) -> bool {
    matches!(o, Output::Notify { .. })
}

pub fn is_garp(o: &Output) -> bool {
    matches!(o, Output::SendGarp { .. } | Output::SendNa { .. })
}
