//! Shared scenario code for the netns tests: the same scenarios run against
//! keepalived (lab self-tests, interop reference) and kalive.
#![allow(dead_code)]

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use kalive_lab::vrrp_config::{config, Instance};
use kalive_lab::{
    cmd, daemon, master_down, namespaces_with_prefix, skew, takeover, wait_for, Frame,
    Implementation, Lab, LabSpec, Takeover,
};

/// Which daemon a test drives; fails (never skips) when it is unavailable.
pub fn implementation(kind: &str) -> Implementation {
    if let Err(e) = cmd::preflight(kind == "keepalived") {
        panic!("netns tests need root, iproute2, nftables and keepalived: {e}");
    }
    let found = match kind {
        "keepalived" => Implementation::keepalived(),
        _ => Implementation::kalive(),
    };
    found.unwrap_or_else(|e| panic!("cannot run {kind}: {e}"))
}

/// A lab of `routers` routers and a client.
pub fn lab(routers: usize) -> Lab {
    Lab::new(LabSpec {
        routers,
        ..LabSpec::default()
    })
    .unwrap_or_else(|e| panic!("cannot build the lab: {e}"))
}

/// One VRRP group spread over the routers of a lab.
pub struct Group {
    pub lab: Lab,
    pub imp: Implementation,
    pub version: u8,
    pub vrid: u8,
    pub interval: Duration,
    pub vip: IpAddr,
    pub instances: Vec<Instance>,
    pub prefix: String,
}

impl Group {
    /// `priorities.len()` routers, VRRP `version`, one VIP (`10.0.0.254/24`,
    /// or `fd00::254/64` when `ipv6`).
    pub fn new(
        kind: &str,
        version: u8,
        interval: Duration,
        priorities: &[u8],
        ipv6: bool,
    ) -> Group {
        let imp = implementation(kind);
        let lab = lab(priorities.len());
        let prefix = format!("{}-", lab.prefix());
        let (vip, vip_text) = if ipv6 {
            ("fd00::254".parse().unwrap(), "fd00::254/64")
        } else {
            ("10.0.0.254".parse().unwrap(), "10.0.0.254/24")
        };
        let vrid = 42;
        let instances = priorities
            .iter()
            .map(|&p| {
                let mut i = Instance::new(version, vrid, p, interval, vip_text);
                if version == 2 {
                    i.auth_pass = Some("labpass".into());
                }
                i
            })
            .collect();
        Group {
            lab,
            imp,
            version,
            vrid,
            interval,
            vip,
            instances,
            prefix,
        }
    }

    /// Starts every router with its instance.
    pub fn start_all(&mut self) {
        for index in 0..self.instances.len() {
            self.start(index);
        }
    }

    /// Starts router `index` with its (possibly edited) instance.
    pub fn start(&mut self, index: usize) {
        let name = self.lab.router(index).unwrap().name.clone();
        let text = config(&name, &[self.instances[index].render()]);
        self.lab
            .start_daemon(index, &self.imp, &text)
            .unwrap_or_else(|e| panic!("start {} in {name}: {e}", self.imp.name()));
    }

    /// Routers whose daemon runs and that hold the VIP.
    pub fn live_holders(&mut self) -> Vec<usize> {
        let holders = self.lab.holders(self.vip).unwrap();
        holders
            .into_iter()
            .filter(|&i| self.lab.daemon_running(i))
            .collect()
    }

    /// Waits until router `index` alone (among live daemons) holds the VIP
    /// and answers the client there.
    pub fn wait_master(&mut self, index: usize, timeout: Duration) {
        let name = self.lab.router(index).unwrap().name.clone();
        let vip = self.vip;
        let result = wait_for(
            &format!("{name} to be the only master"),
            timeout,
            Duration::from_millis(50),
            || {
                let live = self.live_holders();
                let answer = self.lab.ask(vip)?;
                Ok((live == [index] && answer.as_deref() == Some(name.as_str())).then_some(()))
            },
        );
        if let Err(e) = result {
            panic!(
                "{e}\nholders: {:?}, client answer: {:?}\n{}\n{}",
                self.lab.holder_names(vip),
                self.lab.ask(vip),
                self.wire_summary(),
                self.lab.all_logs()
            );
        }
    }

    /// Master-down interval of router `index` (3 × interval + skew).
    pub fn master_down(&self, index: usize) -> Duration {
        master_down(self.version, self.instances[index].priority, self.interval)
    }

    /// Skew time of router `index`.
    pub fn skew(&self, index: usize) -> Duration {
        skew(self.version, self.instances[index].priority, self.interval)
    }

    /// The master change recorded after `since`; waits briefly for it.
    pub fn takeover_after(&self, since: SystemTime) -> Takeover {
        let result = wait_for(
            "the takeover on the wire",
            Duration::from_secs(5),
            Duration::from_millis(50),
            || {
                Ok(takeover(&self.lab.events(), self.vrid, since)
                    .filter(|t| t.first_announcement.is_some()))
            },
        );
        result.unwrap_or_else(|e| panic!("{e}\n{}", self.wire_summary()))
    }

    /// Whether router `index` sent a GARP (IPv4) or unsolicited NA (IPv6)
    /// for the VIP after `since`.
    pub fn announced_after(&self, index: usize, since: SystemTime) -> bool {
        let name = &self.lab.routers()[index].name;
        self.lab.events().iter().any(|e| {
            e.at >= since
                && e.port == *name
                && match &e.frame {
                    Frame::Garp { ip, .. } => IpAddr::V4(*ip) == self.vip,
                    Frame::UnsolicitedNa { target } => IpAddr::V6(*target) == self.vip,
                    _ => false,
                }
        })
    }

    /// The last 30 recorded frames, one per line (for failure messages).
    pub fn wire_summary(&self) -> String {
        let events = self.lab.events();
        let start = events.len().saturating_sub(30);
        let mut text = format!(
            "last {} of {} frames on the wire:\n",
            events.len() - start,
            events.len()
        );
        for e in &events[start..] {
            let t =
                e.at.duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
            text.push_str(&format!(
                "  {:.6} {} {:?}\n",
                t.as_secs_f64(),
                e.port,
                e.frame
            ));
        }
        text
    }

    /// Tears the lab down and asserts nothing is left: no namespace with
    /// the prefix, no daemon process.
    pub fn finish(mut self) {
        let pids: Vec<u32> = (0..self.instances.len())
            .filter_map(|i| self.lab.daemon_pid(i))
            .collect();
        self.lab.shutdown().expect("lab shutdown");
        drop(self.lab);
        assert_no_leftovers(&self.prefix, &pids);
    }
}

/// Asserts that no namespace with `prefix` and none of `pids` remain.
pub fn assert_no_leftovers(prefix: &str, pids: &[u32]) {
    let left = namespaces_with_prefix(prefix).unwrap();
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
    for pid in pids {
        assert!(!daemon::pid_alive(*pid), "daemon pid {pid} still alive");
    }
}

/// Asserts `gap` lies in `[low, high]`, with a clear message.
pub fn assert_within(what: &str, gap: Duration, low: Duration, high: Duration) {
    assert!(
        gap >= low && gap <= high,
        "{what}: {:.1} ms, expected between {:.1} and {:.1} ms",
        gap.as_secs_f64() * 1e3,
        low.as_secs_f64() * 1e3,
        high.as_secs_f64() * 1e3
    );
}

/// Slack allowed on top of a protocol bound on this shared, loaded machine.
pub const SLACK: Duration = Duration::from_millis(400);

// ---------------------------------------------------------------------------
// Scenarios, each run against an implementation by a test file.
// ---------------------------------------------------------------------------

/// SIGKILL of the master: the next priority takes over within master-down;
/// it sends GARP; the client follows; after restart the old master cleans
/// its stale VIP and preempts back.
pub fn sigkill_master(kind: &str) -> Vec<Takeover> {
    let mut g = Group::new(kind, 3, Duration::from_millis(200), &[150, 100, 50], false);
    g.start_all();
    g.wait_master(0, Duration::from_secs(10));
    let start = SystemTime::UNIX_EPOCH;
    assert!(
        g.announced_after(0, start),
        "no GARP from r1 as master\n{}",
        g.wire_summary()
    );

    let killed = SystemTime::now();
    g.lab.kill_daemon(0).unwrap();
    g.wait_master(1, Duration::from_secs(5));
    let t = g.takeover_after(killed);
    assert_eq!((t.old_master.as_str(), t.new_master.as_str()), ("r1", "r2"));
    assert_within(
        "SIGKILL takeover gap",
        t.gap(),
        g.interval * 3,
        g.master_down(1) + SLACK,
    );
    assert!(
        g.announced_after(1, killed),
        "no GARP from r2\n{}",
        g.wire_summary()
    );

    let restarted = SystemTime::now();
    g.lab.restart_daemon(0).unwrap();
    g.wait_master(0, Duration::from_secs(10));
    assert_eq!(
        g.lab.holders(g.vip).unwrap(),
        [0],
        "stale or duplicate VIP after restart"
    );
    let back = g.takeover_after(restarted);
    assert_eq!(back.new_master, "r1");
    g.finish();
    vec![t, back]
}

/// SIGTERM of the master: it sends priority 0 and removes the VIP; the
/// backup takes over after its skew time (RFC 5798 §6.4.2).
pub fn sigterm_master(kind: &str) -> Takeover {
    let mut g = Group::new(kind, 3, Duration::from_millis(200), &[150, 100, 50], false);
    g.start_all();
    g.wait_master(0, Duration::from_secs(10));
    let stopped = SystemTime::now();
    let clean = g.lab.stop_daemon(0, Duration::from_secs(5)).unwrap();
    assert!(clean, "{} did not exit within 5 s of SIGTERM", g.imp.name());
    g.wait_master(1, Duration::from_secs(5));
    assert_eq!(
        g.lab.holders(g.vip).unwrap(),
        [1],
        "VIP not removed by the stopped master"
    );
    let goodbye = g
        .lab
        .events()
        .iter()
        .any(|e| e.at >= stopped && e.port == "r1" && e.advert() == Some((g.vrid, 0)));
    assert!(
        goodbye,
        "no priority-0 advert from r1\n{}",
        g.wire_summary()
    );
    let t = g.takeover_after(stopped);
    assert_eq!(t.new_master, "r2");
    assert_within(
        "SIGTERM takeover gap",
        t.gap(),
        Duration::ZERO,
        g.skew(1) + SLACK,
    );
    g.finish();
    t
}

/// Master's link goes down: the backup takes over; link up: the master
/// (higher priority, preempt) takes the VIP back.
pub fn link_down_and_back(kind: &str) -> Takeover {
    let mut g = Group::new(kind, 3, Duration::from_millis(200), &[150, 100], false);
    g.start_all();
    g.wait_master(0, Duration::from_secs(10));
    let down = SystemTime::now();
    g.lab.set_link(0, 0, false).unwrap();
    let result = wait_for(
        "r2 to take the VIP",
        Duration::from_secs(5),
        Duration::from_millis(50),
        || {
            let ok =
                g.lab.holders(g.vip)?.contains(&1) && g.lab.ask(g.vip)?.as_deref() == Some("r2");
            Ok(ok.then_some(()))
        },
    );
    result.unwrap_or_else(|e| panic!("{e}\n{}\n{}", g.wire_summary(), g.lab.all_logs()));
    let t = g.takeover_after(down);
    assert_within(
        "link-down takeover gap",
        t.gap(),
        g.interval * 3,
        g.master_down(1) + SLACK,
    );
    g.lab.set_link(0, 0, true).unwrap();
    g.wait_master(0, Duration::from_secs(10));
    g.finish();
    t
}

/// VRRPv3 over IPv6: the master holds the IPv6 VIP, sends an unsolicited NA,
/// and the client reaches it over IPv6; SIGKILL moves it.
pub fn ipv6_v3_with_na(kind: &str) -> Takeover {
    let mut g = Group::new(kind, 3, Duration::from_millis(200), &[150, 100], true);
    g.start_all();
    g.wait_master(0, Duration::from_secs(10));
    assert!(
        g.announced_after(0, SystemTime::UNIX_EPOCH),
        "no unsolicited NA from r1\n{}",
        g.wire_summary()
    );
    let killed = SystemTime::now();
    g.lab.kill_daemon(0).unwrap();
    g.wait_master(1, Duration::from_secs(5));
    assert!(
        g.announced_after(1, killed),
        "no NA from r2\n{}",
        g.wire_summary()
    );
    let t = g.takeover_after(killed);
    assert_within(
        "IPv6 takeover gap",
        t.gap(),
        g.interval * 3,
        g.master_down(1) + SLACK,
    );
    g.finish();
    t
}
