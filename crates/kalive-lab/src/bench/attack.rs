//! `kalive-lab bench attack` (issue 11): a master under an advert flood,
//! kalive and keepalived side by side in one run.
//!
//! One router (r1, priority 150, VRRPv2 with PASS auth, 20 VIPs,
//! `vrrp_garp_interval 0.01`) is master alone on the LAN; the client
//! namespace plays the attacker and sends adverts at a fixed rate for a few
//! seconds: malformed ones (bad checksum, cut short, TTL 254, version 3),
//! forged ones (wrong password), valid lower-priority ones (each answered
//! with an advert and a GARP burst, as keepalived does) and ones for a VRID
//! nobody runs. The spoiled adverts claim priority 254: a daemon that
//! accepted one would step down, which the table shows as a transition.
//! Halfway through each flood one VIP is removed (config edit + SIGHUP)
//! and the time until the kernel shows it gone is measured. Figures are
//! printed, never asserted.

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::Signal;

use super::reload::Monitor;
use super::table::Table;
use super::tree_usage;
use crate::daemon::Implementation;
use crate::error::{LabError, Result};
use crate::inject::{AdvertV2, Defect, Flood, FloodPacket, VRRP_GROUP_V4};
use crate::record::Frame;
use crate::topology::{Lab, LabSpec};
use crate::vrrp_config::{config_with_globals, Instance};
use crate::wait;

/// The victim's virtual router.
pub const VRID: u8 = 51;
/// Its PASS password.
pub const PASSWORD: &str = "labpass";
/// How many VIPs it holds.
pub const VIPS: usize = 20;
/// The GARP spacing (`vrrp_garp_interval`, seconds).
pub const GARP_INTERVAL: &str = "0.01";
/// How long a VIP change may take before it is reported as not seen.
const CHANGE_LIMIT: Duration = Duration::from_secs(10);
/// The quiet window after a flood in which GARPs are counted.
pub const AFTER: Duration = Duration::from_secs(2);

/// VIP number `i` (1-based): `10.0.0.200+i`.
pub fn vip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 200 + i as u8)
}

/// The victim's config with VIPs 1..=`vips`, notifying `notify` of every
/// state change (so transitions can be counted for both implementations).
pub fn master_config(vips: usize, notify: &Path) -> String {
    let mut instance = Instance::new(2, VRID, 150, Duration::from_secs(1), "10.0.0.201/24");
    instance.vips = (1..=vips).map(|i| format!("{}/24", vip(i))).collect();
    instance.auth_pass = Some(PASSWORD.into());
    instance.extra = vec![format!("notify \"{}\"", notify.display())];
    config_with_globals(
        "r1",
        &[format!("vrrp_garp_interval {GARP_INTERVAL}")],
        &[instance.render()],
    )
}

/// A notify script in `dir` that appends its arguments to the returned
/// file, one line per state change.
pub fn notify_script(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let out = dir.join("victim.notify");
    let script = dir.join("victim-notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", out.display()),
    )
    .map_err(|e| LabError::io("write notify script", e))?;
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .map_err(|e| LabError::io("chmod notify script", e))?;
    Ok((script, out))
}

/// What the attacker sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attack {
    /// Bad checksum, truncated, TTL 254, version 3 (priority 254), in turn.
    Malformed,
    /// The wrong password (priority 254).
    Forged,
    /// Valid adverts at priority 100, below the master's 150.
    LowerPriority,
    /// A VRID nobody is configured for (priority 254).
    UnknownVrid,
}

impl Attack {
    /// Every attack, in the order the bench runs them.
    pub const ALL: [Attack; 4] = [
        Attack::Malformed,
        Attack::Forged,
        Attack::LowerPriority,
        Attack::UnknownVrid,
    ];

    /// Short name for the table.
    pub fn name(self) -> &'static str {
        match self {
            Attack::Malformed => "malformed",
            Attack::Forged => "forged-auth",
            Attack::LowerPriority => "lower-prio",
            Attack::UnknownVrid => "unknown-vrid",
        }
    }

    /// The packets sent, in turn.
    pub fn packets(self) -> Vec<FloodPacket> {
        let advert = |priority| AdvertV2 {
            vrid: VRID,
            priority,
            interval_s: 1,
            addresses: (1..=VIPS).map(vip).collect(),
            password: Some(PASSWORD.into()),
        };
        let spoiled = |defects: &[Defect]| {
            defects
                .iter()
                .map(|d| {
                    let (payload, ttl) = advert(254).encode_with(*d);
                    FloodPacket { payload, ttl }
                })
                .collect()
        };
        match self {
            Attack::Malformed => spoiled(&[
                Defect::BadChecksum,
                Defect::Truncated,
                Defect::WrongTtl,
                Defect::WrongVersion,
            ]),
            Attack::Forged => spoiled(&[Defect::WrongPassword]),
            Attack::UnknownVrid => spoiled(&[Defect::UnknownVrid]),
            Attack::LowerPriority => vec![FloodPacket {
                payload: advert(100).encode(),
                ttl: 255,
            }],
        }
    }

    /// Sends this attack from the lab's client at `rate` packets/s.
    pub fn start(self, lab: &Lab, rate: u32) -> Result<Flood> {
        let client = lab.client()?;
        Flood::start(
            &client.ns,
            Ipv4Addr::new(10, 0, 0, 100),
            VRRP_GROUP_V4,
            self.packets(),
            rate,
        )
    }
}

/// How hard and how long.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Packets per second.
    pub rate: u32,
    /// Length of each flood.
    pub duration: Duration,
}

/// Figures of one attack on one implementation.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub attack: Attack,
    pub implementation: &'static str,
    /// Packets the attacker sent.
    pub sent: u64,
    /// CPU seconds of the victim (every process and thread) during the flood.
    pub cpu_s: f64,
    /// RSS (kB, keeper and worker summed) before, peak during, after.
    pub rss_kb: [u64; 3],
    /// State changes of the victim from the flood's start to the end of
    /// the quiet window after it.
    pub transitions: usize,
    /// SIGHUP (removing one VIP) → the removal seen in the kernel.
    pub vip_change: Option<Duration>,
    /// GARPs the victim sent in the [`AFTER`] window after the flood.
    pub garps_after: usize,
    /// Whether the daemon still ran at the end.
    pub alive: bool,
    /// kalive's `ctl status --json` "netlink" object after the flood.
    pub netlink: Option<serde_json::Value>,
}

/// A lab with one router (the victim) and the client (the attacker).
pub fn lab() -> Result<Lab> {
    Lab::new(LabSpec {
        routers: 1,
        second_lan: false,
        record: true,
        responder_port: None,
    })
}

/// Starts `implementation` on r1 with every VIP and waits until it holds
/// them all (master).
pub fn start_victim(lab: &mut Lab, implementation: &Implementation, notify: &Path) -> Result<()> {
    lab.start_daemon(0, implementation, &master_config(VIPS, notify))?;
    wait::wait_for(
        "the victim master with every VIP",
        Duration::from_secs(20),
        Duration::from_millis(100),
        || {
            let held = lab.addresses(0)?;
            Ok((1..=VIPS)
                .all(|i| held.iter().any(|a| a.addr == vip(i)))
                .then_some(()))
        },
    )
}

/// Rewrites r1's config with the last VIP gone and sends SIGHUP; returns
/// the moment of the signal.
pub fn remove_last_vip(lab: &Lab, notify: &Path) -> Result<Instant> {
    let path = lab
        .daemon_config(0)
        .ok_or_else(|| LabError::Usage("no victim config".into()))?;
    std::fs::write(path, master_config(VIPS - 1, notify))
        .map_err(|e| LabError::io(format!("write {}", path.display()), e))?;
    let at = Instant::now();
    lab.signal_daemon(0, Signal::SIGHUP)?;
    Ok(at)
}

/// The first moment after `from` when `monitor` saw `addr` deleted.
pub fn seen_removed(monitor: &Monitor, from: Instant, addr: Ipv4Addr) -> Option<Instant> {
    let needle = format!(" {addr}/");
    monitor
        .since(from)
        .into_iter()
        .find(|(_, line)| line.starts_with("Deleted") && line.contains(&needle))
        .map(|(at, _)| at)
}

/// GARPs router r1 sent in `[from, to)`.
pub fn garps_between(lab: &Lab, from: SystemTime, to: SystemTime) -> usize {
    lab.events()
        .iter()
        .filter(|e| e.port == "r1" && e.at >= from && e.at < to)
        .filter(|e| matches!(e.frame, Frame::Garp { .. }))
        .count()
}

/// `kalive ctl status --json` in r1's namespace, its "netlink" object.
pub fn kalive_netlink(lab: &Lab, kalive: &Path) -> Option<serde_json::Value> {
    let ns = lab.router(0).ok()?.ns.clone();
    let out = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(kalive)
        .args(["ctl", "status", "--json"])
        .output()
        .ok()?;
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(status.get("netlink")?.clone())
}

fn notify_lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// One attack on a freshly started victim.
pub fn attack_once(
    lab: &mut Lab,
    implementation: &Implementation,
    attack: Attack,
    plan: Plan,
) -> Result<Outcome> {
    let (notify, notified) = notify_script(lab.dir())?;
    let _ = std::fs::remove_file(&notified);
    start_victim(lab, implementation, &notify)?;
    wait::sleep(Duration::from_secs(1))?;
    let pid = lab
        .daemon_pid(0)
        .ok_or_else(|| LabError::Usage("the victim did not start".into()))?;
    let monitor = Monitor::start(&lab.router(0)?.ns)?;
    let (rss_before, cpu_before) = tree_usage(pid);
    let lines_before = notify_lines(&notified);
    let flood = attack.start(lab, plan.rate)?;
    let started = Instant::now();
    let mut peak = rss_before;
    let mut sighup = None;
    while started.elapsed() < plan.duration {
        if sighup.is_none() && started.elapsed() >= plan.duration / 2 {
            sighup = Some(remove_last_vip(lab, &notify)?);
        }
        peak = peak.max(tree_usage(pid).0);
        wait::sleep(Duration::from_millis(50))?;
    }
    let sent = flood.stop()?;
    let ended = SystemTime::now();
    let (_, cpu_after) = tree_usage(pid);
    wait::sleep(AFTER + Duration::from_millis(200))?;
    let (rss_after, _) = tree_usage(pid);
    let vip_change = sighup.and_then(|at| {
        wait::wait_for(
            "the VIP removal in the kernel",
            CHANGE_LIMIT,
            Duration::from_millis(10),
            || Ok(seen_removed(&monitor, at, vip(VIPS))),
        )
        .ok()
        .map(|seen| seen.saturating_duration_since(at))
    });
    let netlink = match implementation {
        Implementation::Kalive(path) => kalive_netlink(lab, path),
        Implementation::Keepalived(_) => None,
    };
    let alive = lab.daemon_running(0);
    let outcome = Outcome {
        attack,
        implementation: implementation.name(),
        sent,
        cpu_s: cpu_after - cpu_before,
        rss_kb: [rss_before, peak, rss_after],
        transitions: notify_lines(&notified).saturating_sub(lines_before),
        vip_change,
        garps_after: garps_between(lab, ended, ended + AFTER),
        alive,
        netlink,
    };
    if alive {
        lab.stop_daemon(0, Duration::from_secs(5))?;
    }
    Ok(outcome)
}

/// Every attack on every implementation (one lab per implementation, a
/// fresh daemon per attack); prints the table to `out`.
pub fn run(
    implementations: &[Implementation],
    attacks: &[Attack],
    plan: Plan,
    out: &mut dyn Write,
) -> Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    for imp in implementations {
        let mut lab = lab()?;
        for &attack in attacks {
            outcomes.push(attack_once(&mut lab, imp, attack, plan)?);
        }
    }
    write_table(plan, &outcomes, out)?;
    Ok(outcomes)
}

/// The header of the table [`run`] prints.
pub const HEADER: [&str; 11] = [
    "attack",
    "impl",
    "sent",
    "cpu s",
    "rss kB before/peak/after",
    "transitions",
    "vip-removal ms",
    "garps 2s after",
    "alive",
    "frames hw/coalesced/dropped",
    "changes hw",
];

/// One row per attack and implementation, attacks grouped.
pub fn write_table(plan: Plan, outcomes: &[Outcome], out: &mut dyn Write) -> Result<()> {
    let mut table = Table::new(&HEADER);
    for attack in Attack::ALL {
        for o in outcomes.iter().filter(|o| o.attack == attack) {
            let field = |name: &str| {
                o.netlink
                    .as_ref()
                    .and_then(|n| n.get(name))
                    .map_or("-".to_string(), |v| v.to_string())
            };
            let frames = match &o.netlink {
                Some(_) => format!(
                    "{}/{}/{}",
                    field("frames_high_water"),
                    field("frames_coalesced"),
                    field("frames_dropped")
                ),
                None => "-".into(),
            };
            table.row(vec![
                attack.name().into(),
                o.implementation.into(),
                o.sent.to_string(),
                format!("{:.2}", o.cpu_s),
                format!("{}/{}/{}", o.rss_kb[0], o.rss_kb[1], o.rss_kb[2]),
                o.transitions.to_string(),
                o.vip_change.map_or("not seen".into(), |t| {
                    format!("{:.1}", t.as_secs_f64() * 1000.0)
                }),
                o.garps_after.to_string(),
                if o.alive { "yes" } else { "NO" }.into(),
                frames,
                field("changes_high_water"),
            ]);
        }
    }
    writeln!(
        out,
        "attack: victim r1 v2 PASS, {VIPS} VIPs, vrrp_garp_interval {GARP_INTERVAL}; {} pps for {:.1} s from the client; \
         one VIP removed (edit + SIGHUP) halfway; kalive counters are since the daemon started",
        plan.rate,
        plan.duration.as_secs_f64()
    )
    .map_err(|e| LabError::io("write report", e))?;
    table.write(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inject::checksum;

    #[test]
    fn lower_priority_adverts_are_valid_and_the_others_are_not() {
        let lower = Attack::LowerPriority.packets();
        assert_eq!(lower.len(), 1);
        assert_eq!(checksum(&lower[0].payload), 0);
        assert_eq!((lower[0].payload[1], lower[0].payload[2]), (VRID, 100));
        assert_eq!(lower[0].payload[3] as usize, VIPS);
        assert_eq!(Attack::Malformed.packets().len(), 4);
        let unknown = &Attack::UnknownVrid.packets()[0];
        assert_ne!(unknown.payload[1], VRID);
    }

    #[test]
    fn the_config_lists_the_vips_and_the_garp_interval() {
        let text = master_config(3, Path::new("/tmp/n.sh"));
        assert!(text.contains("vrrp_garp_interval 0.01"));
        assert!(text.contains("10.0.0.203/24"));
        assert!(!text.contains("10.0.0.204/24"));
        assert!(text.contains("auth_pass labpass"));
    }
}
