//! One VRRP instance's state and the pure computations on it (timers,
//! adverts, GARP bursts). Transitions that may involve a sync group live in
//! `vrrp.rs`.

use std::net::IpAddr;
use std::time::Duration;

use crate::codec;
use crate::config::{Family, InstanceConfig, Version};
use crate::io::{InstanceId, Output, Reason, State};
use crate::stats::Stats;
use crate::time::Timestamp;

/// The most GARP / NA repeats one burst emits (`garp_master_repeat` and
/// friends are capped to it).
pub const MAX_GARP_REPEAT: u32 = 1000;

/// The timers an instance may have armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerKind {
    /// BACKUP: master-down; MASTER: next advert.
    Main,
    /// Second GARP burst after becoming MASTER (`garp_master_delay`).
    GarpSecond,
    /// Periodic GARP while MASTER (`garp_master_refresh`).
    GarpRefresh,
    /// Second burst after a lower-priority advert (`garp_lower_prio_delay`).
    GarpLowerPrio,
}

#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub id: InstanceId,
    pub config: InstanceConfig,
    /// Index of its sync group.
    pub group: Option<usize>,
    pub state: State,
    /// keepalived's `wantstate == MASTER`: our master-down timer expired (or
    /// we are MASTER), independently of a sync-group hold (reference §2).
    pub want_master: bool,
    pub effective_priority: u8,
    /// Our own fault flags (interface or weight-0 tracker down).
    pub faulted: bool,
    /// RFC 5798 §6.1 Master_Adver_Interval: learned from the master in v3.
    pub master_adver_interval: Duration,
    pub timer: Option<Timestamp>,
    pub garp_second: Option<Timestamp>,
    pub garp_refresh: Option<Timestamp>,
    pub garp_lower_prio: Option<Timestamp>,
    /// End of the running `preempt_delay`, if one was started.
    pub preempt_until: Option<Timestamp>,
    /// keepalived 2.2's two-owner workaround: a MASTER owner hearing another
    /// owner drops its own base priority to 254 for good (`vrrp.c:
    /// vrrp_state_master_rx`, "both configured as address owner").
    pub owner_demoted: bool,
    /// Source and priority of the last advert accepted from another router.
    pub master_seen: Option<(IpAddr, u8)>,
    pub stats: Stats,
    /// A Promote (254, or 255 for an owner) or Demote (1) override: it
    /// replaces the tracker-adjusted priority until cleared.
    pub priority_override: Option<u8>,
    /// When the state last changed, from which state, and why.
    pub last_transition: Option<(Timestamp, State, Reason)>,
}

impl Instance {
    pub(crate) fn new(id: InstanceId, config: InstanceConfig) -> Self {
        Instance {
            id,
            effective_priority: config.priority,
            master_adver_interval: config.advert_interval,
            config,
            group: None,
            state: State::Init,
            want_master: false,
            faulted: false,
            timer: None,
            garp_second: None,
            garp_refresh: None,
            garp_lower_prio: None,
            preempt_until: None,
            owner_demoted: false,
            master_seen: None,
            stats: Stats::default(),
            priority_override: None,
            last_transition: None,
        }
    }

    /// Whether we act as the address owner (priority 255): configured so
    /// and not demoted by a second owner or a Demote override.
    pub(crate) fn is_owner(&self) -> bool {
        match self.priority_override {
            Some(priority) => priority == 255,
            None => self.config.is_owner() && !self.owner_demoted,
        }
    }

    /// The override a Promote sets: 254, or 255 for an address owner
    /// (RFC 5798 §6.1: only the owner may use 255).
    pub(crate) fn promote_priority(&self) -> u8 {
        if self.config.is_owner() && !self.owner_demoted {
            255
        } else {
            254
        }
    }

    /// Base priority trackers apply to: the configured one, or 254 for a
    /// demoted owner (overrides aside).
    pub(crate) fn base_priority(&self) -> u8 {
        if self.owner_demoted {
            254
        } else {
            self.config.priority
        }
    }

    /// Priority we advertise and compare with.
    pub(crate) fn priority(&self) -> u8 {
        if self.is_owner() {
            255
        } else {
            self.effective_priority
        }
    }

    /// RFC 3768 §6.1 / RFC 5798 §6.1 Skew_Time for `priority`, in keepalived's
    /// integer microseconds (`VRRP_TIMER_SKEW`, reference §2): v2
    /// (256−P)/256 s, v3 (256−P)×Master_Adver_Interval/256.
    pub(crate) fn skew_for(&self, priority: u8) -> Duration {
        let weight = 256 - u64::from(priority);
        let base_us = match self.config.version {
            Version::V2 => 1_000_000,
            Version::V3 => u64::try_from(self.master_adver_interval.as_micros()).unwrap_or(0),
        };
        Duration::from_micros(weight * base_us / 256)
    }

    /// Skew with our own priority (an owner uses 255).
    pub(crate) fn skew(&self) -> Duration {
        self.skew_for(self.priority())
    }

    /// Master_Down_Interval = down_timer_adverts × Master_Adver_Interval +
    /// Skew_Time (RFC 5798 §6.1 with keepalived's `down_timer_adverts`,
    /// reference §2).
    pub(crate) fn master_down_interval(&self) -> Duration {
        self.master_adver_interval * self.config.down_timer_adverts + self.skew()
    }

    /// Our source address, or the unspecified address.
    pub(crate) fn source(&self) -> IpAddr {
        self.config
            .source
            .unwrap_or_else(|| codec::unspecified(self.config.family))
    }

    /// Advert outputs with `priority`: one per unicast peer, or one to the
    /// group (RFC 5798 §6.4.3 "Send an ADVERTISEMENT"; keepalived unicasts a
    /// copy to each peer, reference §2).
    pub(crate) fn adverts(&mut self, priority: u8) -> Vec<Output> {
        let src = self.source();
        let dsts: Vec<IpAddr> = if self.config.is_unicast() {
            self.config.unicast_peers.iter().map(|p| p.addr).collect()
        } else {
            vec![self.config.multicast_group]
        };
        self.stats.advert_sent += dsts.len() as u64;
        if priority == 0 {
            self.stats.pri_zero_sent += dsts.len() as u64;
        }
        dsts.into_iter()
            .map(|dst| Output::SendAdvert {
                instance: self.id,
                interface: self.config.interface.clone(),
                family: self.config.family,
                src: self.config.source,
                dst,
                priority,
                bytes: codec::encode(&self.config, priority, src, dst),
            })
            .collect()
    }

    /// Undo what MASTER installed, in reverse order (rules, routes,
    /// excluded VIPs, VIPs).
    pub(crate) fn release_master(&mut self) -> Vec<Output> {
        self.stats.release_master += 1;
        self.clear_garp_timers();
        let id = self.id;
        let config = &self.config;
        let mut out = Vec::new();
        if !config.virtual_rules.is_empty() {
            out.push(Output::RemoveRules {
                instance: id,
                rules: config.virtual_rules.iter().map(|e| e.key).collect(),
            });
        }
        if !config.virtual_routes.is_empty() {
            out.push(Output::RemoveRoutes {
                instance: id,
                routes: config.virtual_routes.iter().map(|e| e.key).collect(),
            });
        }
        if !config.excluded_vips.is_empty() {
            out.push(Output::RemoveAddresses {
                instance: id,
                excluded: true,
                addresses: config.excluded_vips.clone(),
            });
        }
        if !config.vips.is_empty() {
            out.push(Output::RemoveAddresses {
                instance: id,
                excluded: false,
                addresses: config.vips.clone(),
            });
        }
        out
    }

    /// `repeat` rounds of one GARP (IPv4) or NA (IPv6) per VIP and excluded
    /// VIP (reference §1.5). Spacing (`garp_interval`) is the sender's job.
    pub(crate) fn garp_burst(&self, repeat: u32) -> Vec<Output> {
        // keepalived accepts repeats up to 2^32-1; one output per address
        // and repeat would exhaust memory long before the frames could be
        // sent (found by the `engine` fuzz target's author). The daemon's
        // frame queue holds 8,192 frames anyway.
        let repeat = repeat.min(MAX_GARP_REPEAT);
        let mut out = Vec::new();
        let addresses: Vec<_> = self
            .config
            .vips
            .iter()
            .chain(&self.config.excluded_vips)
            .collect();
        for _ in 0..repeat {
            for vip in &addresses {
                out.push(self.announce(vip.addr, &vip.interface));
            }
        }
        out
    }

    /// One GARP or NA for `addr` on `interface`.
    pub(crate) fn announce(&self, addr: IpAddr, interface: &str) -> Output {
        match addr {
            IpAddr::V4(addr) => Output::SendGarp {
                instance: self.id,
                interface: interface.to_string(),
                addr,
            },
            IpAddr::V6(addr) => Output::SendNa {
                instance: self.id,
                interface: interface.to_string(),
                addr,
            },
        }
    }

    /// Number of GARPs per address in a master burst.
    pub(crate) fn master_repeat(&self) -> u32 {
        if self.config.garp.min_garp {
            1
        } else {
            self.config.garp.master_repeat
        }
    }

    /// Number of GARPs per address after a lower-priority advert.
    pub(crate) fn lower_prio_repeat(&self) -> u32 {
        if self.config.garp.min_garp {
            1
        } else {
            self.config.garp.lower_prio_repeat
        }
    }

    /// The earliest armed timer.
    pub(crate) fn next_timer(&self) -> Option<(Timestamp, TimerKind)> {
        [
            (self.timer, TimerKind::Main),
            (self.garp_second, TimerKind::GarpSecond),
            (self.garp_refresh, TimerKind::GarpRefresh),
            (self.garp_lower_prio, TimerKind::GarpLowerPrio),
        ]
        .into_iter()
        .filter_map(|(at, kind)| at.map(|at| (at, kind)))
        .min_by_key(|(at, _)| *at)
    }

    pub(crate) fn clear_garp_timers(&mut self) {
        self.garp_second = None;
        self.garp_refresh = None;
        self.garp_lower_prio = None;
    }

    pub(crate) fn family(&self) -> Family {
        self.config.family
    }
}
