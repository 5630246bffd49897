//! Takeover figures computed from a recording.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::record::{Event, Frame};

/// One master change as seen on the wire.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Takeover {
    /// VRID concerned.
    pub vrid: u8,
    /// Node that was master before (sender of the last advert before `since`).
    pub old_master: String,
    /// Node that advertised next.
    pub new_master: String,
    /// Time of the old master's last advert before the new master's first
    /// (a priority-0 advert counts: it is the old master's goodbye).
    pub last_old_advert: SystemTime,
    /// Time of the new master's first advert.
    pub first_new_advert: SystemTime,
    /// Priority of the new master's first advert.
    pub new_priority: u8,
    /// Advert interval the new master announces.
    pub interval: Duration,
    /// Time of the new master's first GARP/NA after its first advert.
    pub first_announcement: Option<SystemTime>,
}

impl Takeover {
    /// Silence on the wire: old master's last advert → new master's first.
    pub fn gap(&self) -> Duration {
        elapsed(self.last_old_advert, self.first_new_advert)
    }

    /// Old master's last advert → new master's first GARP/NA.
    pub fn to_announcement(&self) -> Option<Duration> {
        self.first_announcement
            .map(|t| elapsed(self.last_old_advert, t))
    }

    /// `gap` minus `expected`, in milliseconds (negative: earlier).
    pub fn excess_ms(&self, expected: Duration) -> f64 {
        (self.gap().as_secs_f64() - expected.as_secs_f64()) * 1000.0
    }
}

fn elapsed(from: SystemTime, to: SystemTime) -> Duration {
    to.duration_since(from).unwrap_or_default()
}

/// VRRP skew time: v2 `(256 − P)/256 s` (RFC 3768 §6.1), v3
/// `(256 − P) × interval / 256` (RFC 5798 §6.1).
pub fn skew(version: u8, priority: u8, interval: Duration) -> Duration {
    let factor = f64::from(256 - u16::from(priority)) / 256.0;
    match version {
        2 => Duration::from_secs_f64(factor),
        _ => interval.mul_f64(factor),
    }
}

/// Master_Down_Interval = 3 × interval + skew (RFC 3768 §6.1, RFC 5798 §6.1).
pub fn master_down(version: u8, priority: u8, interval: Duration) -> Duration {
    interval * 3 + skew(version, priority, interval)
}

/// Finds the first master change for `vrid` after `since` (the moment a
/// fault was injected): the old master is the sender of the last
/// non-zero-priority advert before `since`, the new master the first other
/// sender of a non-zero-priority advert after it.
pub fn takeover(events: &[Event], vrid: u8, since: SystemTime) -> Option<Takeover> {
    let adverts: Vec<(&Event, u8, u8, u16)> = events
        .iter()
        .filter_map(|e| match &e.frame {
            Frame::Advert {
                vrid: v,
                priority,
                version,
                interval_cs,
                ..
            } if *v == vrid => Some((e, *priority, *version, *interval_cs)),
            _ => None,
        })
        .collect();
    let old = adverts
        .iter()
        .rev()
        .find(|(e, prio, ..)| e.at <= since && *prio > 0)?
        .0
        .port
        .clone();
    let (first_new, new_priority, _, interval_cs) = adverts
        .iter()
        .find(|(e, prio, ..)| e.at > since && *prio > 0 && e.port != old)?;
    let last_old = adverts
        .iter()
        .rev()
        .find(|(e, ..)| e.port == old && e.at <= first_new.at)?
        .0;
    let first_announcement = events
        .iter()
        .filter(|e| e.port == first_new.port && e.is_announcement() && e.at >= first_new.at)
        .map(|e| e.at)
        .min();
    Some(Takeover {
        vrid,
        old_master: old,
        new_master: first_new.port.clone(),
        last_old_advert: last_old.at,
        first_new_advert: first_new.at,
        new_priority: *new_priority,
        interval: Duration::from_millis(u64::from(*interval_cs) * 10),
        first_announcement,
    })
}

/// Counts moments with two masters for `vrid`: a node advertising again
/// within two intervals of its previous advert although another node
/// advertised (non-zero priority) in between — both were acting as master.
/// A clean handover (A A A B B B) or a later preemption (B … B A, with A
/// silent for long) counts nothing.
pub fn two_master_moments(events: &[Event], vrid: u8, interval: Duration) -> usize {
    let mut last_by_port: Vec<(String, SystemTime)> = Vec::new();
    let mut previous_port: Option<String> = None;
    let mut moments = 0;
    for event in events {
        let Some((v, prio)) = event.advert() else {
            continue;
        };
        if v != vrid || prio == 0 {
            continue;
        }
        let interleaved = previous_port.as_ref().is_some_and(|p| *p != event.port);
        let own_last = last_by_port
            .iter()
            .find(|(port, _)| *port == event.port)
            .map(|(_, at)| *at);
        if interleaved && own_last.is_some_and(|at| elapsed(at, event.at) <= interval * 2) {
            moments += 1;
        }
        last_by_port.retain(|(port, _)| *port != event.port);
        last_by_port.push((event.port.clone(), event.at));
        previous_port = Some(event.port.clone());
    }
    moments
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn advert(ms: u64, port: &str, priority: u8) -> Event {
        Event {
            at: UNIX_EPOCH + Duration::from_millis(ms),
            port: port.into(),
            lan: 0,
            frame: Frame::Advert {
                version: 3,
                vrid: 1,
                priority,
                interval_cs: 10,
                src: "10.0.0.1".parse().unwrap(),
                dst: "224.0.0.18".parse().unwrap(),
                ttl: 255,
                addresses: vec![],
            },
        }
    }

    fn garp(ms: u64, port: &str) -> Event {
        Event {
            at: UNIX_EPOCH + Duration::from_millis(ms),
            port: port.into(),
            lan: 0,
            frame: Frame::Garp {
                ip: "10.0.0.254".parse().unwrap(),
                mac: [0; 6],
            },
        }
    }

    #[test]
    fn measures_gap_and_announcement_after_a_crash() {
        let events = vec![
            advert(0, "r1", 150),
            advert(100, "r1", 150),
            advert(200, "r1", 150),
            advert(561, "r2", 100),
            garp(562, "r2"),
            advert(661, "r2", 100),
        ];
        let t = takeover(&events, 1, UNIX_EPOCH + Duration::from_millis(250)).unwrap();
        assert_eq!((t.old_master.as_str(), t.new_master.as_str()), ("r1", "r2"));
        assert_eq!(t.gap(), Duration::from_millis(361));
        assert_eq!(t.to_announcement(), Some(Duration::from_millis(362)));
        let expected = master_down(3, 100, Duration::from_millis(100));
        assert!(
            t.excess_ms(expected).abs() < 1.0,
            "{}",
            t.excess_ms(expected)
        );
        assert_eq!(
            two_master_moments(&events, 1, Duration::from_millis(100)),
            0
        );
    }

    #[test]
    fn priority_zero_counts_as_last_advert_of_the_old_master() {
        let events = vec![
            advert(0, "r1", 150),
            advert(50, "r1", 0),
            advert(74, "r2", 100),
        ];
        let t = takeover(&events, 1, UNIX_EPOCH + Duration::from_millis(10)).unwrap();
        assert_eq!(t.gap(), Duration::from_millis(24));
    }

    #[test]
    fn interleaved_adverts_are_two_masters() {
        let events = vec![
            advert(0, "r1", 150),
            advert(10, "r2", 100),
            advert(100, "r1", 150),
            advert(110, "r2", 100),
        ];
        assert_eq!(
            two_master_moments(&events, 1, Duration::from_millis(100)),
            2
        );
    }

    #[test]
    fn skew_and_master_down_follow_the_rfcs() {
        assert_eq!(
            skew(2, 100, Duration::from_secs(1)),
            Duration::from_secs_f64(156.0 / 256.0)
        );
        assert_eq!(
            master_down(3, 100, Duration::from_millis(100)),
            Duration::from_millis(300) + Duration::from_secs_f64(0.1 * 156.0 / 256.0)
        );
    }
}
