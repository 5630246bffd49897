//! `kalive-lab bench soak` (issue 11, skeleton): N instances at 10 ms
//! adverts on two routers with 10 % of VRRP packets lost on receipt,
//! kalive and keepalived side by side in one run.
//!
//! r1 (priority 150) is master of every instance, r2 (100) backup. After
//! convergence each router drops a share of the adverts it receives
//! (nftables, input hook); the switch still records every advert sent.
//! From the wire, per instance: two-master moments (adverts of both
//! routers interleaved within two intervals) and master changes (the
//! advertising router switches). Three lost adverts in a row (p = 0.001
//! per interval at 10 %) let the backup take over for a moment, so both
//! implementations show some; the bench compares how many. Figures are
//! printed, never asserted.

use std::io::Write;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use super::table::Table;
use crate::daemon::Implementation;
use crate::error::{LabError, Result};
use crate::fault::{Direction, LossScope};
use crate::measure::two_master_moments;
use crate::record::Event;
use crate::topology::{Lab, LabSpec};
use crate::vrrp_config::{config, Instance};
use crate::wait;

/// The advert interval of every instance.
pub const ADVERT: Duration = Duration::from_millis(10);

/// What to run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Instance counts (one lab per count and implementation).
    pub instances: Vec<usize>,
    /// Measured time after convergence.
    pub duration: Duration,
    /// Percent of VRRP packets each router drops on receipt.
    pub loss: u8,
}

/// Figures of one count and implementation.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub instances: usize,
    pub implementation: &'static str,
    /// Adverts recorded in the window.
    pub adverts: usize,
    /// Two-master moments, summed over instances.
    pub two_masters: usize,
    /// Master changes seen on the wire, summed over instances.
    pub master_changes: usize,
    /// Instances where r1 did not hold the VIP at the end.
    pub not_on_r1_at_end: usize,
}

fn vrid(i: usize) -> u8 {
    (i % 255 + 1) as u8
}

fn vip(i: usize) -> IpAddr {
    IpAddr::from([
        10,
        1 + (i / 65536) as u8,
        ((i / 256) % 256) as u8,
        (i % 256 + 1) as u8,
    ])
}

fn render(instances: usize, priority: u8, router_id: &str) -> String {
    let blocks: Vec<String> = (0..instances)
        .map(|i| Instance::new(3, vrid(i), priority, ADVERT, &format!("{}/32", vip(i))).render())
        .collect();
    config(router_id, &blocks)
}

/// How often the sender of `vrid`'s adverts changes in `events` (time
/// order; priority-0 adverts ignored).
pub fn master_changes(events: &[Event], vrid: u8) -> usize {
    let mut last: Option<&str> = None;
    let mut changes = 0;
    for event in events {
        let Some((v, prio)) = event.advert() else {
            continue;
        };
        if v != vrid || prio == 0 {
            continue;
        }
        if last.is_some_and(|p| p != event.port) {
            changes += 1;
        }
        last = Some(&event.port);
    }
    changes
}

/// One implementation with `instances` instances.
pub fn soak_once(
    implementation: &Implementation,
    instances: usize,
    plan: &Plan,
) -> Result<Outcome> {
    if !(1..=255).contains(&instances) {
        return Err(LabError::Usage(format!(
            "instances must be 1..=255, got {instances}"
        )));
    }
    let mut lab = Lab::new(LabSpec {
        routers: 2,
        second_lan: false,
        record: true,
        responder_port: None,
    })?;
    lab.start_daemon(0, implementation, &render(instances, 150, "r1"))?;
    lab.start_daemon(1, implementation, &render(instances, 100, "r2"))?;
    wait::wait_for(
        "r1 master of every instance",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || {
            let held = lab.addresses(0)?;
            Ok((0..instances)
                .all(|i| held.iter().any(|a| a.addr == vip(i)))
                .then_some(()))
        },
    )?;
    wait::sleep(Duration::from_secs(1))?;
    for router in 0..2 {
        lab.set_loss(router, plan.loss, LossScope::Vrrp, Direction::In)?;
    }
    let from = SystemTime::now();
    wait::sleep(plan.duration)?;
    let to = SystemTime::now();
    let held = lab.addresses(0)?;
    let events: Vec<Event> = lab
        .events()
        .into_iter()
        .filter(|e| e.at >= from && e.at < to)
        .collect();
    let mut outcome = Outcome {
        instances,
        implementation: implementation.name(),
        adverts: events.iter().filter(|e| e.advert().is_some()).count(),
        two_masters: 0,
        master_changes: 0,
        not_on_r1_at_end: (0..instances)
            .filter(|i| !held.iter().any(|a| a.addr == vip(*i)))
            .count(),
    };
    for i in 0..instances {
        outcome.two_masters += two_master_moments(&events, vrid(i), ADVERT);
        outcome.master_changes += master_changes(&events, vrid(i));
    }
    Ok(outcome)
}

/// Every count on every implementation; prints the table to `out`.
pub fn run(
    implementations: &[Implementation],
    plan: &Plan,
    out: &mut dyn Write,
) -> Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    for &n in &plan.instances {
        for imp in implementations {
            outcomes.push(soak_once(imp, n, plan)?);
        }
    }
    let mut table = Table::new(&[
        "instances",
        "impl",
        "adverts",
        "two-master moments",
        "master changes",
        "vips not on r1 at end",
    ]);
    for o in &outcomes {
        table.row(vec![
            o.instances.to_string(),
            o.implementation.into(),
            o.adverts.to_string(),
            o.two_masters.to_string(),
            o.master_changes.to_string(),
            o.not_on_r1_at_end.to_string(),
        ]);
    }
    writeln!(
        out,
        "soak: v3, advert {} ms, r1 150 / r2 100, {} % VRRP loss on receipt at both routers, {:.0} s after convergence",
        ADVERT.as_millis(),
        plan.loss,
        plan.duration.as_secs_f64()
    )
    .map_err(|e| LabError::io("write report", e))?;
    table.write(out)?;
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Frame;
    use std::net::Ipv4Addr;

    fn advert(port: &str, ms: u64) -> Event {
        Event {
            at: SystemTime::UNIX_EPOCH + Duration::from_millis(ms),
            port: port.into(),
            lan: 0,
            frame: Frame::Advert {
                version: 3,
                vrid: 1,
                priority: 100,
                interval_cs: 1,
                src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                dst: IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
                ttl: 255,
                addresses: vec![],
            },
        }
    }

    #[test]
    fn counts_each_change_of_advertiser() {
        let events = vec![
            advert("r1", 0),
            advert("r1", 10),
            advert("r2", 40),
            advert("r1", 45),
            advert("r1", 55),
        ];
        assert_eq!(master_changes(&events, 1), 2);
        assert_eq!(master_changes(&events, 2), 0);
    }

    #[test]
    fn renders_one_block_per_instance() {
        let text = render(50, 150, "r1");
        assert_eq!(text.matches("vrrp_instance").count(), 50);
        assert!(text.contains("advert_int 0.01"));
    }
}
