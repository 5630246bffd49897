//! Shared scenario code for the netns tests: the same scenarios run against
//! keepalived (lab self-tests, interop reference) and kalive.
#![allow(dead_code)]

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use kalive_lab::vrrp_config::{config_with_globals, Instance};
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
    /// Daemon per router.
    pub imps: Vec<Implementation>,
    pub version: u8,
    pub vrid: u8,
    pub interval: Duration,
    pub vip: IpAddr,
    /// The group's instance, per router.
    pub instances: Vec<Instance>,
    /// Further top-level blocks per router (other instances, sync groups,
    /// scripts); `@NAME@` becomes the router name, `@DIR@` the lab dir.
    pub blocks: Vec<Vec<String>>,
    /// Extra `global_defs` lines for every router (same placeholders).
    pub globals: Vec<String>,
    pub prefix: String,
}

/// How to build a group.
#[derive(Clone, Debug)]
pub struct Shape {
    /// Daemon kind per router (`kalive` or `keepalived`); its length is the
    /// number of routers.
    pub kinds: Vec<&'static str>,
    pub priorities: Vec<u8>,
    pub version: u8,
    pub interval: Duration,
    pub ipv6: bool,
    pub second_lan: bool,
}

impl Shape {
    /// `priorities.len()` routers all running `kind`, VRRPv3 over IPv4.
    pub fn uniform(kind: &'static str, priorities: &[u8], interval: Duration) -> Shape {
        Shape::of(&[kind], priorities, interval)
    }

    /// `priorities.len()` routers; router `i` runs `kinds[i % kinds.len()]`
    /// (so `["keepalived", "kalive"]` alternates); VRRPv3 over IPv4.
    pub fn of(kinds: &[&'static str], priorities: &[u8], interval: Duration) -> Shape {
        Shape {
            kinds: (0..priorities.len())
                .map(|i| kinds[i % kinds.len()])
                .collect(),
            priorities: priorities.to_vec(),
            version: 3,
            interval,
            ipv6: false,
            second_lan: false,
        }
    }
}

impl Group {
    /// `priorities.len()` routers running `kind`, VRRP `version`, one VIP
    /// (`10.0.0.254/24`, or `fd00::254/64` when `ipv6`).
    pub fn new(
        kinds: &[&'static str],
        version: u8,
        interval: Duration,
        priorities: &[u8],
        ipv6: bool,
    ) -> Group {
        let mut shape = Shape::of(kinds, priorities, interval);
        shape.version = version;
        shape.ipv6 = ipv6;
        Group::build(&shape)
    }

    /// A group of the given shape (not started).
    pub fn build(shape: &Shape) -> Group {
        let imps: Vec<Implementation> = shape.kinds.iter().map(|k| implementation(k)).collect();
        let lab = Lab::new(LabSpec {
            routers: shape.kinds.len(),
            second_lan: shape.second_lan,
            ..LabSpec::default()
        })
        .unwrap_or_else(|e| panic!("cannot build the lab: {e}"));
        let prefix = format!("{}-", lab.prefix());
        let (vip, vip_text) = if shape.ipv6 {
            ("fd00::254".parse().unwrap(), "fd00::254/64")
        } else {
            ("10.0.0.254".parse().unwrap(), "10.0.0.254/24")
        };
        let vrid = 42;
        let instances = shape
            .priorities
            .iter()
            .map(|&p| {
                let mut i = Instance::new(shape.version, vrid, p, shape.interval, vip_text);
                if shape.version == 2 {
                    i.auth_pass = Some("labpass".into());
                }
                i
            })
            .collect();
        Group {
            lab,
            imps,
            version: shape.version,
            vrid,
            interval: shape.interval,
            vip,
            instances,
            blocks: vec![Vec::new(); shape.kinds.len()],
            globals: Vec::new(),
            prefix,
        }
    }

    /// Adds `block` to every router's config.
    pub fn add_block_to_all(&mut self, block: &str) {
        for blocks in &mut self.blocks {
            blocks.push(block.to_string());
        }
    }

    /// Router `index`'s config text.
    pub fn config_text(&self, index: usize) -> String {
        let name = self.lab.router(index).unwrap().name.clone();
        let dir = self.lab.dir().display().to_string();
        let fill = |b: &String| b.replace("@NAME@", &name).replace("@DIR@", &dir);
        let mut blocks: Vec<String> = self.blocks[index].iter().map(fill).collect();
        blocks.push(fill(&self.instances[index].render()));
        let globals: Vec<String> = self.globals.iter().map(fill).collect();
        config_with_globals(&name, &globals, &blocks)
    }

    /// Name of router `index`.
    pub fn name(&self, index: usize) -> String {
        self.lab.router(index).unwrap().name.clone()
    }

    /// Starts every router with its instance.
    pub fn start_all(&mut self) {
        for index in 0..self.instances.len() {
            self.start(index);
        }
    }

    /// Starts router `index` with its (possibly edited) config.
    pub fn start(&mut self, index: usize) {
        let text = self.config_text(index);
        let imp = self.imps[index].clone();
        self.lab
            .start_daemon(index, &imp, &text)
            .unwrap_or_else(|e| panic!("start {} in {}: {e}", imp.name(), self.name(index)));
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

    /// After a split brain heals, the loser gives the VIP up without a word
    /// and the winner, already master, sends no GARP (keepalived's
    /// `garp_lower_prio_repeat` is off by default), so the client keeps the
    /// loser's MAC until its neighbour entry expires (up to ~45 s). Waits
    /// until router `index` alone holds the VIP, then forgets the client's
    /// neighbours as an operator would, and waits for the client to reach it.
    pub fn wait_master_after_heal(&mut self, index: usize, timeout: Duration) {
        let vip = self.vip;
        let sole = wait_for(
            "one holder after heal",
            timeout,
            Duration::from_millis(50),
            || Ok((self.live_holders() == [index]).then_some(())),
        );
        sole.unwrap_or_else(|e| panic!("{e}\n{}\n{}", self.wire_summary(), self.lab.all_logs()));
        let client = self.lab.client().unwrap().ns.clone();
        cmd::ip_in(&client, &["neigh", "flush", "all"]).unwrap();
        self.wait_master(index, Duration::from_secs(3));
        assert_eq!(self.lab.holders(vip).unwrap(), [index]);
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
    /// Adverts router `port` sent since `since` (with that priority for
    /// this group's VRID when `priority` is given), as seen on the wire.
    pub fn adverts_since(&self, port: &str, since: SystemTime, priority: Option<u8>) -> usize {
        self.lab
            .events()
            .iter()
            .filter(|e| e.at >= since && e.port == port)
            .filter(|e| match priority {
                Some(p) => e.advert() == Some((self.vrid, p)),
                None => e.advert().is_some(),
            })
            .count()
    }

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
pub fn sigkill_master(kinds: &[&'static str]) -> Vec<Takeover> {
    let mut g = Group::new(kinds, 3, Duration::from_millis(200), &[150, 100, 50], false);
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
pub fn sigterm_master(kinds: &[&'static str]) -> Takeover {
    let mut g = Group::new(kinds, 3, Duration::from_millis(200), &[150, 100, 50], false);
    g.start_all();
    g.wait_master(0, Duration::from_secs(10));
    let stopped = SystemTime::now();
    let clean = g.lab.stop_daemon(0, Duration::from_secs(5)).unwrap();
    assert!(
        clean,
        "{} did not exit within 5 s of SIGTERM",
        g.imps[0].name()
    );
    g.wait_master(1, Duration::from_secs(5));
    assert_eq!(
        g.lab.holders(g.vip).unwrap(),
        [1],
        "VIP not removed by the stopped master"
    );
    let goodbye = g.adverts_since("r1", stopped, Some(0)) > 0;
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
pub fn link_down_and_back(kinds: &[&'static str]) -> Takeover {
    let mut g = Group::new(kinds, 3, Duration::from_millis(200), &[150, 100], false);
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
pub fn ipv6_v3_with_na(kinds: &[&'static str]) -> Takeover {
    let mut g = Group::new(kinds, 3, Duration::from_millis(200), &[150, 100], true);
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

/// Kills r1 (the master), waits for r2, restarts r1.
fn crash_and_restart_master(g: &mut Group) -> SystemTime {
    g.wait_master(0, Duration::from_secs(10));
    g.lab.kill_daemon(0).unwrap();
    g.wait_master(1, Duration::from_secs(5));
    let restarted = SystemTime::now();
    g.lab.restart_daemon(0).unwrap();
    restarted
}

/// `nopreempt`: the higher-priority router, back after a crash, leaves the
/// current master alone (keepalived-behaviour.md §2, BACKUP on receiving).
pub fn nopreempt(kinds: &[&'static str]) {
    let mut g = Group::new(kinds, 3, Duration::from_millis(200), &[150, 100], false);
    g.instances[0].nopreempt = true;
    // r1 first, and master before r2 starts: with nopreempt, an r1 slowed at
    // start-up (a loaded machine) would otherwise rightly leave an r2 that
    // won the race alone, and the scenario would test nothing.
    g.start(0);
    g.wait_master(0, Duration::from_secs(10));
    g.start(1);
    let restarted = crash_and_restart_master(&mut g);
    // Watch for ten master-down intervals of r1: r2 must stay master.
    let watch = g.master_down(0) * 10;
    std::thread::sleep(watch);
    assert_eq!(
        g.live_holders(),
        [1],
        "r1 preempted despite nopreempt\n{}",
        g.wire_summary()
    );
    let r1_adverts = g.adverts_since("r1", restarted, None);
    assert_eq!(
        r1_adverts,
        0,
        "r1 advertised although nopreempt\n{}",
        g.wire_summary()
    );
    assert_eq!(g.lab.ask(g.vip).unwrap().as_deref(), Some("r2"));
    g.finish();
}

/// `preempt_delay`: the higher-priority router takes over only after the
/// delay (keepalived-behaviour.md §2).
pub fn preempt_delay(kinds: &[&'static str]) -> Duration {
    let delay = Duration::from_secs(2);
    let mut g = Group::new(kinds, 3, Duration::from_millis(200), &[150, 100], false);
    g.instances[0].preempt_delay = Some(delay.as_secs_f64());
    g.start_all();
    // At start-up nobody is master, so preempt_delay does not hold r1 back
    // for long; the crash and restart is where it matters.
    let restarted = crash_and_restart_master(&mut g);
    g.wait_master(0, Duration::from_secs(10));
    let t = g.takeover_after(restarted);
    let waited = t
        .first_new_advert
        .duration_since(restarted)
        .unwrap_or_default();
    assert_within(
        "restart to preemption with preempt_delay 2",
        waited,
        delay,
        delay + g.master_down(0) + g.interval + SLACK * 2,
    );
    g.finish();
    waited
}

/// A vrrp_script that fails lowers the priority by its weight and the backup
/// takes over; when it recovers, the master preempts back. With weight 0 a
/// failing script puts the instance in FAULT: it gives up the VIP at once.
pub fn vrrp_script(kinds: &[&'static str], weight: i32) {
    let mut g = Group::new(kinds, 3, Duration::from_millis(200), &[150, 100], false);
    g.add_block_to_all(&format!(
        "vrrp_script chk_ok {{\n    script \"/usr/bin/test -e @DIR@/@NAME@.ok\"\n    interval 1\n    weight {weight}\n    rise 1\n    fall 1\n}}\n"
    ));
    for (index, instance) in g.instances.iter_mut().enumerate() {
        instance
            .extra
            .push("track_script {\n        chk_ok\n    }".into());
        let flag = g.lab.dir().join(format!("r{}.ok", index + 1));
        std::fs::write(flag, "").unwrap();
    }
    g.start_all();
    g.wait_master(0, Duration::from_secs(10));
    let failed = SystemTime::now();
    std::fs::remove_file(g.lab.dir().join("r1.ok")).unwrap();
    // fall 1 at interval 1 s: noticed within ~2 s, then a takeover.
    g.wait_master(1, Duration::from_secs(8));
    assert!(
        g.announced_after(1, failed),
        "no GARP from r2\n{}",
        g.wire_summary()
    );
    if weight == 0 {
        assert!(
            !g.lab.holders(g.vip).unwrap().contains(&0),
            "r1 in FAULT still holds the VIP"
        );
        let goodbye = g.adverts_since("r1", failed, Some(0)) > 0;
        assert!(
            goodbye,
            "r1 entering FAULT sent no priority 0\n{}",
            g.wire_summary()
        );
    }
    std::fs::write(g.lab.dir().join("r1.ok"), "").unwrap();
    g.wait_master(0, Duration::from_secs(8));
    g.finish();
}

/// Unicast peers: adverts go to the peers' addresses, not the group; a crash
/// still moves the VIP.
pub fn unicast_peers(kinds: &[&'static str]) -> Takeover {
    let mut g = Group::new(kinds, 3, Duration::from_millis(200), &[150, 100, 50], false);
    let addrs: Vec<String> = g
        .lab
        .routers()
        .iter()
        .map(|n| n.ipv4().to_string())
        .collect();
    for (index, instance) in g.instances.iter_mut().enumerate() {
        let peers = addrs
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != index)
            .map(|(_, a)| a.clone())
            .collect();
        instance.unicast = Some((addrs[index].clone(), peers));
    }
    g.start_all();
    g.wait_master(0, Duration::from_secs(10));
    let multicast =
        g.lab.events().iter().any(
            |e| matches!(&e.frame, kalive_lab::Frame::Advert { dst, .. } if dst.is_multicast()),
        );
    assert!(
        !multicast,
        "multicast advert in unicast mode\n{}",
        g.wire_summary()
    );
    let killed = SystemTime::now();
    g.lab.kill_daemon(0).unwrap();
    g.wait_master(1, Duration::from_secs(5));
    let t = g.takeover_after(killed);
    assert_within(
        "unicast takeover gap",
        t.gap(),
        g.interval * 3,
        g.master_down(1) + SLACK,
    );
    g.finish();
    t
}

/// virtual_routes exist only on the master and follow the VIP.
pub fn virtual_routes_follow_master(kinds: &[&'static str]) {
    let mut g = Group::new(kinds, 3, Duration::from_millis(200), &[150, 100], false);
    for instance in &mut g.instances {
        instance.extra.push(
            "virtual_routes {\n        192.168.77.0/24 via 10.0.0.100 dev eth0\n    }".into(),
        );
    }
    g.start_all();
    g.wait_master(0, Duration::from_secs(10));
    let has_route = |g: &Group, i: usize| {
        g.lab
            .routes(i)
            .unwrap()
            .iter()
            .any(|r| r.starts_with("192.168.77.0/24"))
    };
    let settled = wait_for(
        "route on r1 only",
        Duration::from_secs(3),
        Duration::from_millis(50),
        || Ok((has_route(&g, 0) && !has_route(&g, 1)).then_some(())),
    );
    settled.unwrap_or_else(|e| panic!("{e}: r1 {:?}, r2 {:?}", g.lab.routes(0), g.lab.routes(1)));
    g.lab.stop_daemon(0, Duration::from_secs(5)).unwrap();
    g.wait_master(1, Duration::from_secs(5));
    let moved = wait_for(
        "route on r2 only",
        Duration::from_secs(3),
        Duration::from_millis(50),
        || Ok((has_route(&g, 1) && !has_route(&g, 0)).then_some(())),
    );
    moved.unwrap_or_else(|e| panic!("{e}: r1 {:?}, r2 {:?}", g.lab.routes(0), g.lab.routes(1)));
    g.finish();
}

/// A sync group of two instances on eth0 and eth1: a fault on one interface
/// moves both VIPs together.
pub fn sync_group_moves_together(kinds: &[&'static str]) {
    let mut shape = Shape::of(kinds, &[150, 100], Duration::from_millis(200));
    shape.second_lan = true;
    let mut g = Group::build(&shape);
    let second_vip: IpAddr = "10.0.1.254".parse().unwrap();
    for (index, instance) in g.instances.clone().iter().enumerate() {
        let mut other = Instance::new(3, 43, instance.priority, g.interval, "10.0.1.254/24");
        other.interface = "eth1".into();
        g.blocks[index].push(other.render());
        g.blocks[index].push(
            "vrrp_sync_group G1 {\n    group {\n        VI_42\n        VI_43\n    }\n}\n".into(),
        );
    }
    g.start_all();
    g.wait_master(0, Duration::from_secs(10));
    let both_on = |g: &Group, i: usize| -> kalive_lab::Result<bool> {
        Ok(g.lab.holders(g.vip)? == [i] && g.lab.holders(second_vip)? == [i])
    };
    let start = wait_for(
        "both VIPs on r1",
        Duration::from_secs(5),
        Duration::from_millis(50),
        || Ok(both_on(&g, 0)?.then_some(())),
    );
    start.unwrap_or_else(|e| panic!("{e}\n{}", g.lab.all_logs()));
    g.lab.set_link(0, 1, false).unwrap();
    let moved = wait_for(
        "both VIPs on r2",
        Duration::from_secs(5),
        Duration::from_millis(50),
        || Ok(both_on(&g, 1)?.then_some(())),
    );
    moved.unwrap_or_else(|e| panic!("{e}\n{}\n{}", g.wire_summary(), g.lab.all_logs()));
    assert_eq!(g.lab.ask(g.vip).unwrap().as_deref(), Some("r2"));
    g.lab.set_link(0, 1, true).unwrap();
    let back = wait_for(
        "both VIPs back on r1",
        Duration::from_secs(8),
        Duration::from_millis(50),
        || Ok(both_on(&g, 0)?.then_some(())),
    );
    back.unwrap_or_else(|e| panic!("{e}\n{}", g.lab.all_logs()));
    g.finish();
}

/// Reads lines from a FIFO the daemon writes to, on a thread, so that the
/// daemon never blocks on it. Opening read-write never blocks on Linux.
pub struct FifoReader {
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl FifoReader {
    pub fn start(path: &std::path::Path) -> FifoReader {
        let status = std::process::Command::new("mkfifo")
            .arg("-m")
            .arg("0600")
            .arg(path)
            .status()
            .expect("mkfifo");
        assert!(status.success(), "mkfifo {}", path.display());
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .expect("open fifo");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        // The thread ends with the process; the FIFO goes with the lab dir.
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(file).lines() {
                let Ok(line) = line else { break };
                sink.lock()
                    .unwrap()
                    .push(line.trim_end_matches('\0').to_string());
            }
        });
        FifoReader { lines }
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

/// notify scripts get keepalived's arguments (`INSTANCE NAME STATE PRIO`
/// for `notify`, only the configured ones for `notify_master`, …), and the
/// FIFO receives `INSTANCE "NAME" STATE PRIO` lines in order
/// (keepalived-behaviour.md §1.11).
pub fn notify_scripts_and_fifo(kinds: &[&'static str]) {
    let mut g = Group::new(kinds, 3, Duration::from_millis(200), &[150, 100], false);
    let dir = g.lab.dir().to_path_buf();
    let script = dir.join("notify.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nname=$1\nshift\necho \"$*\" >> {}/$name.notify\n",
            dir.display()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("0755")
        .arg(&script)
        .status()
        .unwrap();
    g.globals.push("vrrp_notify_fifo @DIR@/@NAME@.fifo".into());
    for instance in &mut g.instances {
        instance
            .extra
            .push("notify \"@DIR@/notify.sh @NAME@\"".into());
        instance
            .extra
            .push("notify_master \"@DIR@/notify.sh @NAME@ became-master\"".into());
        instance
            .extra
            .push("notify_backup \"@DIR@/notify.sh @NAME@ became-backup\"".into());
        instance
            .extra
            .push("notify_stop \"@DIR@/notify.sh @NAME@ stopping\"".into());
    }
    let fifos: Vec<FifoReader> = ["r1", "r2"]
        .iter()
        .map(|n| FifoReader::start(&dir.join(format!("{n}.fifo"))))
        .collect();
    g.start_all();
    g.wait_master(0, Duration::from_secs(10));
    g.lab.stop_daemon(0, Duration::from_secs(5)).unwrap();
    g.wait_master(1, Duration::from_secs(5));
    let read =
        |n: &str| std::fs::read_to_string(dir.join(format!("{n}.notify"))).unwrap_or_default();
    let expect_lines = |n: &str, wanted: &[&str]| {
        let result = wait_for(
            &format!("notify lines of {n}"),
            Duration::from_secs(3),
            Duration::from_millis(50),
            || {
                let text = read(n);
                Ok(wanted
                    .iter()
                    .all(|w| text.lines().any(|l| l == *w))
                    .then_some(()))
            },
        );
        result.unwrap_or_else(|e| panic!("{e}: want {wanted:?}, got:\n{}", read(n)));
    };
    expect_lines(
        "r1",
        &[
            "INSTANCE VI_42 BACKUP 150",
            "INSTANCE VI_42 MASTER 150",
            "became-backup",
            "became-master",
            "stopping",
            "INSTANCE VI_42 STOP 150",
        ],
    );
    expect_lines(
        "r2",
        &[
            "INSTANCE VI_42 BACKUP 100",
            "INSTANCE VI_42 MASTER 100",
            "became-master",
        ],
    );
    let fifo_in_order = |reader: &FifoReader, wanted: &[&str]| {
        let result = wait_for(
            "FIFO lines",
            Duration::from_secs(3),
            Duration::from_millis(50),
            || {
                let lines = reader.lines();
                let mut it = lines.iter();
                Ok(wanted.iter().all(|w| it.any(|l| l == w)).then_some(()))
            },
        );
        result
            .unwrap_or_else(|e| panic!("{e}: want in order {wanted:?}, got {:?}", reader.lines()));
    };
    fifo_in_order(
        &fifos[0],
        &[
            "INSTANCE \"VI_42\" BACKUP 150",
            "INSTANCE \"VI_42\" MASTER 150",
            "INSTANCE \"VI_42\" STOP 150",
        ],
    );
    fifo_in_order(
        &fifos[1],
        &[
            "INSTANCE \"VI_42\" BACKUP 100",
            "INSTANCE \"VI_42\" MASTER 100",
        ],
    );
    g.finish();
}

/// use_vmac: the VIP lives on a macvlan with the virtual MAC
/// 00:00:5e:00:01:VRID; the client's neighbour entry for the VIP carries
/// it and does not change on failover.
pub fn use_vmac(kinds: &[&'static str]) {
    let mut g = Group::new(kinds, 3, Duration::from_millis(200), &[150, 100], false);
    for instance in &mut g.instances {
        instance.extra.push("use_vmac".into());
    }
    g.start_all();
    g.wait_master(0, Duration::from_secs(10));
    let vmac = format!("00:00:5e:00:01:{:02x}", g.vrid);
    let client_ns = g.lab.client().unwrap().ns.clone();
    let neighbour =
        || kalive_lab::cmd::ip_in(&client_ns, &["neigh", "show", "10.0.0.254"]).unwrap_or_default();
    assert!(
        neighbour().contains(&vmac),
        "client neighbour entry {:?}, want {vmac}",
        neighbour()
    );
    let on_vmac = g
        .lab
        .addresses(0)
        .unwrap()
        .into_iter()
        .find(|a| a.addr == g.vip)
        .map(|a| a.ifname);
    assert!(
        on_vmac.as_deref().is_some_and(|i| i != "eth0"),
        "VIP not on a VMAC interface: {on_vmac:?}"
    );
    let garp_from_vmac = |g: &Group, port: &str| {
        g.lab.events().iter().any(|e| {
            e.port == port
                && matches!(&e.frame, kalive_lab::Frame::Garp { mac, .. } if *mac == [0, 0, 0x5e, 0, 1, g.vrid])
        })
    };
    assert!(
        garp_from_vmac(&g, "r1"),
        "no GARP from the virtual MAC\n{}",
        g.wire_summary()
    );
    g.lab.kill_daemon(0).unwrap();
    // r1's stale VMAC stays behind; r2's GARPs from the same virtual MAC
    // move the MAC to r2's switch port.
    let result = wait_for(
        "r2 to answer",
        Duration::from_secs(5),
        Duration::from_millis(50),
        || Ok((g.lab.ask(g.vip)?.as_deref() == Some("r2")).then_some(())),
    );
    result.unwrap_or_else(|e| panic!("{e}\n{}\n{}", g.wire_summary(), g.lab.all_logs()));
    assert!(
        garp_from_vmac(&g, "r2"),
        "no GARP from r2's virtual MAC\n{}",
        g.wire_summary()
    );
    g.finish();
}

/// Bad packets of every kind, sent from the client with a priority that
/// would make the master yield if accepted, change nothing; a good one of
/// the same priority does make it yield (proof that the injection reaches
/// the daemon).
pub fn bad_packets_change_nothing(kinds: &[&'static str]) {
    use kalive_lab::inject::{send_vrrp_v4, AdvertV2, Defect, VRRP_GROUP_V4};
    let mut g = Group::new(kinds, 2, Duration::from_secs(1), &[150, 100], false);
    g.start_all();
    g.wait_master(0, Duration::from_secs(10));
    let client = g.lab.client().unwrap().clone();
    let advert = AdvertV2 {
        vrid: g.vrid,
        priority: 254,
        interval_s: 1,
        addresses: vec!["10.0.0.254".parse().unwrap()],
        password: Some("labpass".into()),
    };
    let injected = SystemTime::now();
    for round in 0..3 {
        for defect in Defect::ALL {
            let (bytes, ttl) = advert.encode_with(defect);
            send_vrrp_v4(&client.ns, client.ipv4(), VRRP_GROUP_V4, ttl, &bytes)
                .unwrap_or_else(|e| panic!("inject {defect:?} (round {round}): {e}"));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let injection_over = SystemTime::now();
    // keepalived 2.2.7 re-arms a master's advert timer on every packet it
    // reads, even a dropped one, so its adverts pause while bad packets
    // arrive; watch for one and a half intervals after the last one.
    std::thread::sleep(g.interval * 3 / 2);
    assert_eq!(
        g.live_holders(),
        [0],
        "a bad packet moved the VIP\n{}",
        g.wire_summary()
    );
    let r2_spoke = g.adverts_since("r2", injected, None) > 0;
    assert!(
        !r2_spoke,
        "r2 advertised after bad packets\n{}",
        g.wire_summary()
    );
    let r1_adverts = g.adverts_since("r1", injection_over, Some(150));
    assert!(
        r1_adverts >= 1,
        "r1 stopped advertising\n{}\n{}",
        g.wire_summary(),
        g.lab.all_logs()
    );

    // Positive control: the same advert, unspoiled, makes the master yield.
    send_vrrp_v4(
        &client.ns,
        client.ipv4(),
        VRRP_GROUP_V4,
        255,
        &advert.encode(),
    )
    .unwrap();
    let yielded = wait_for(
        "r1 to yield to a valid higher-priority advert",
        Duration::from_secs(2),
        Duration::from_millis(20),
        || Ok((!g.lab.holders(g.vip)?.contains(&0)).then_some(())),
    );
    yielded.unwrap_or_else(|e| {
        panic!(
            "{e}: the injector does not reach the daemon\n{}",
            g.lab.all_logs()
        )
    });
    g.wait_master(0, Duration::from_secs(10));
    g.finish();
}
