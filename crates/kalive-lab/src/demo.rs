//! `kalive-lab demo`: act 1, three routers, one VIP, a client; kill the
//! master, watch the takeover, bring it back. Act 2 ([`lb`], kalive only):
//! two directors load-balance three web servers; a web server and then the
//! master director die. Everything is cleaned up on every exit path.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant, SystemTime};

use crate::daemon::Implementation;
use crate::error::{LabError, Result};
use crate::measure::{self, Takeover};
use crate::record::Frame;
use crate::topology::{namespaces_with_prefix, Lab, LabSpec};
use crate::wait;

pub mod lb;

/// The bundled configuration, with `@ROUTER@` and `@PRIORITY@` filled in
/// per router.
pub const DEMO_CONFIG: &str = include_str!("demo/keepalived.conf");

/// The demo's virtual IP.
pub const DEMO_VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 254));
const DEMO_VRID: u8 = 51;
const PRIORITIES: [u8; 3] = [150, 100, 50];
/// Longest time any one step may take before the demo gives up.
const STEP_LIMIT: Duration = Duration::from_secs(20);

/// The demo config text for router `name` with `priority`.
pub fn demo_config(name: &str, priority: u8) -> String {
    DEMO_CONFIG
        .replace("@ROUTER@", name)
        .replace("@PRIORITY@", &priority.to_string())
}

/// Figures the demo measured.
#[derive(Debug)]
pub struct DemoReport {
    /// Master change after SIGKILL of the first master.
    pub failover: Takeover,
    /// Master change when the first master came back and preempted.
    pub preemption: Takeover,
    /// The load-balancing act; `None` when it was skipped (keepalived).
    pub lb: Option<lb::LbReport>,
}

/// Runs the demo, writing its narration to `out`.
pub fn run(implementation: &Implementation, out: &mut dyn Write) -> Result<DemoReport> {
    let started = Instant::now();
    let mut lab = Lab::new(LabSpec::default())?;
    let mut say = |text: String| {
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    };
    say(format!(
        "lab {}: switch namespace {} with bridge br0; routers r1 r2 r3 (10.0.0.1-3); client c (10.0.0.100)",
        lab.prefix(),
        lab.switch_ns()
    ));
    say(format!(
        "starting {} in r1 r2 r3 with the bundled keepalived.conf (VRRPv2, VRID {DEMO_VRID}, advert_int 1 s, VIP {DEMO_VIP}; priorities r1 150, r2 100, r3 50)",
        implementation.name()
    ));
    for (index, priority) in PRIORITIES.iter().enumerate() {
        let name = lab.router(index)?.name.clone();
        // kalive's control socket in the lab's directory, which goes with
        // the lab: a SIGKILLed daemon cannot remove its socket file.
        let socket = lab.dir().join(format!("{name}.ctl")).display().to_string();
        let args = match implementation {
            Implementation::Kalive(_) => vec!["--control-socket", socket.as_str()],
            Implementation::Keepalived(_) => Vec::new(),
        };
        lab.start_daemon_with_args(index, implementation, &demo_config(&name, *priority), &args)?;
    }
    say("every second: who holds the VIP (read over netlink), which router answered the client's TCP connection to the VIP, and the last VRRP advert on the wire".into());
    watch_until(&mut lab, started, &mut say, "r1")?;

    let pid = lab.daemon_pid(0).unwrap_or_default();
    say(format!(
        ">>> killing r1's {} with SIGKILL (pid {pid}): the master vanishes without a word",
        implementation.name()
    ));
    let killed_at = SystemTime::now();
    lab.kill_daemon(0)?;
    watch_until(&mut lab, started, &mut say, "r2")?;
    let failover = settle_takeover(&lab, killed_at)?;
    let expected = measure::master_down(2, failover.new_priority, failover.interval);
    say(format!(
        "=== takeover {} -> {}: last advert of {} to first advert of {}: {:.1} ms; master-down interval (3 x advert_int + skew) is {:.1} ms, so excess {:+.1} ms; first gratuitous ARP {}",
        failover.old_master,
        failover.new_master,
        failover.old_master,
        failover.new_master,
        ms(failover.gap()),
        ms(expected),
        failover.excess_ms(expected),
        failover
            .to_announcement()
            .map_or("not seen".to_string(), |d| format!("{:.1} ms after the last advert", ms(d)))
    ));
    if lab.holders(DEMO_VIP)?.contains(&0) {
        say("    note: r1 still carries 10.0.0.254 (a SIGKILLed daemon cannot remove its addresses); the new master's gratuitous ARPs steered the client away, and r1's daemon removes the stale VIP when it starts again".into());
    }

    say(format!(
        ">>> restarting r1's {}: it removes its stale VIP, starts as backup, ignores r2's lower-priority adverts and preempts when its master-down timer expires",
        implementation.name()
    ));
    let restarted_at = SystemTime::now();
    lab.restart_daemon(0)?;
    watch_until(&mut lab, started, &mut say, "r1")?;
    let preemption = settle_takeover(&lab, restarted_at)?;
    say(format!(
        "=== preemption {} -> {}: r1 advertised {:.2} s after its restart; handover gap on the wire {:.1} ms; two masters seen at {} moments during the whole demo",
        preemption.old_master,
        preemption.new_master,
        preemption
            .first_new_advert
            .duration_since(restarted_at)
            .unwrap_or_default()
            .as_secs_f64(),
        ms(preemption.gap()),
        measure::two_master_moments(&lab.events(), DEMO_VRID, preemption.interval),
    ));

    let prefix = format!("{}-", lab.prefix());
    say(format!(
        "cleaning up: killing daemons by PID, deleting namespaces {prefix}*"
    ));
    lab.shutdown()?;
    let left = namespaces_with_prefix(&prefix)?;
    if !left.is_empty() {
        return Err(LabError::Usage(format!("namespaces left behind: {left:?}")));
    }
    let lb = match implementation {
        Implementation::Kalive(_) => Some(lb::run(implementation, started, &mut say)?),
        Implementation::Keepalived(_) => {
            say(format!(
                "--- act 2 (load balancing) skipped for keepalived: its virtual_server programs IPVS, and {}; kalive balances with nftables instead (run the demo with --impl kalive)",
                if std::path::Path::new("/proc/net/ip_vs").exists() {
                    "the demo drives only kalive's nftables backend"
                } else {
                    "this kernel has no IPVS (/proc/net/ip_vs is missing)"
                }
            ));
            None
        }
    };
    say(format!(
        "done in {:.1} s; nothing left behind",
        started.elapsed().as_secs_f64()
    ));
    Ok(DemoReport {
        failover,
        preemption,
        lb,
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Prints a status line every second until `expected` holds the VIP alone
/// and answers the client, then one more line.
fn watch_until(
    lab: &mut Lab,
    started: Instant,
    say: &mut dyn FnMut(String),
    expected: &str,
) -> Result<()> {
    let deadline = Instant::now() + STEP_LIMIT;
    // Bounded: one line per second for at most STEP_LIMIT.
    for _ in 0..STEP_LIMIT.as_secs() + 1 {
        let tick = Instant::now();
        let (line, settled) = status(lab, started, expected)?;
        say(line);
        if settled {
            return Ok(());
        }
        if Instant::now() >= deadline {
            break;
        }
        wait::sleep(Duration::from_secs(1).saturating_sub(tick.elapsed()))?;
    }
    Err(LabError::Timeout {
        what: format!(
            "{expected} to hold {DEMO_VIP} and answer the client\n{}",
            lab.all_logs()
        ),
        waited: STEP_LIMIT,
    })
}

fn status(lab: &mut Lab, started: Instant, expected: &str) -> Result<(String, bool)> {
    let holders = lab.holder_names(DEMO_VIP)?;
    let answer = lab.ask(DEMO_VIP)?;
    let mut routers = String::new();
    let mut live_holders = Vec::new();
    let mut shown_holders = Vec::new();
    let events = lab.events();
    for index in 0..lab.routers().len() {
        let name = lab.router(index)?.name.clone();
        let running = lab.daemon_running(index);
        let holds = holders.contains(&name);
        // A master is a router that holds the VIP *and* advertises; a
        // daemon just restarted on top of a stale VIP does not advertise.
        let advertising = events.iter().rev().any(|e| {
            e.port == name
                && matches!(e.frame, Frame::Advert { priority, .. } if priority > 0)
                && e.at.elapsed().unwrap_or_default() < Duration::from_secs(3)
        });
        let role = match (running, holds, advertising) {
            (false, ..) => "down",
            (true, true, true) => "MASTER",
            (true, true, false) => "stale",
            (true, false, _) => "backup",
        };
        routers.push_str(&format!("{name} {role:<6}  "));
        match (running, holds) {
            (true, true) if advertising => {
                live_holders.push(name.clone());
                shown_holders.push(name);
            }
            (true, true) => shown_holders.push(format!("{name}(stale)")),
            // A killed daemon cannot remove its addresses: the VIP stays on
            // the interface until the daemon starts again and cleans up.
            (false, true) => shown_holders.push(format!("{name}(stale)")),
            _ => {}
        }
    }
    let wire = events
        .iter()
        .rev()
        .find_map(|e| match e.frame {
            Frame::Advert { priority, .. } => Some(format!("{} prio {priority}", e.port)),
            _ => None,
        })
        .unwrap_or_else(|| "none yet".into());
    let line = format!(
        "[{:5.1}s] {routers}| VIP on: {:<12} | client -> {DEMO_VIP}: {:<9} | last advert: {wire}",
        started.elapsed().as_secs_f64(),
        if shown_holders.is_empty() {
            "nobody".to_string()
        } else {
            shown_holders.join(",")
        },
        answer.as_deref().unwrap_or("no answer"),
    );
    let settled = live_holders == [expected] && answer.as_deref() == Some(expected);
    Ok((line, settled))
}

/// The takeover after `since`, waiting briefly for the GARP that follows the
/// first advert to be recorded.
fn settle_takeover(lab: &Lab, since: SystemTime) -> Result<Takeover> {
    wait::wait_for(
        "the takeover to show on the wire",
        Duration::from_secs(3),
        Duration::from_millis(100),
        || {
            Ok(measure::takeover(&lab.events(), DEMO_VRID, since)
                .filter(|t| t.first_announcement.is_some()))
        },
    )
}

/// Priority of router `index` in `up` labs: the demo's 150, 100, 50, then
/// 40, 30, … down to 1.
fn up_priority(index: usize) -> u8 {
    PRIORITIES.get(index).copied().unwrap_or_else(|| {
        50u8.saturating_sub(10 * (index as u8).saturating_sub(2))
            .max(1)
    })
}

/// `kalive-lab up`: builds a lab, optionally starts `implementation` in
/// every router from `template` (the demo config by default; `@ROUTER@` and
/// `@PRIORITY@` are filled in), prints how to get in, then a status line
/// every two seconds until Ctrl-C, and cleans up.
pub fn up(
    implementation: Option<&Implementation>,
    routers: usize,
    template: Option<&str>,
    out: &mut dyn Write,
) -> Result<()> {
    let started = Instant::now();
    let mut lab = Lab::new(LabSpec {
        routers,
        ..LabSpec::default()
    })?;
    let mut say = |text: String| {
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    };
    say(format!(
        "lab {} is up; logs and configs in {}",
        lab.prefix(),
        lab.dir().display()
    ));
    say(format!(
        "  switch: ip netns exec {} bash   (bridge br0)",
        lab.switch_ns()
    ));
    for node in lab.routers().iter().chain(lab.client().ok()) {
        say(format!(
            "  {:<3} ip netns exec {} bash   (eth0 {} / {})",
            node.name,
            node.ns,
            node.ipv4(),
            node.ipv6()
        ));
    }
    if let Some(implementation) = implementation {
        for index in 0..routers {
            let name = lab.router(index)?.name.clone();
            let text = template
                .unwrap_or(DEMO_CONFIG)
                .replace("@ROUTER@", &name)
                .replace("@PRIORITY@", &up_priority(index).to_string());
            lab.start_daemon(index, implementation, &text)?;
        }
        say(format!(
            "{} runs in every router; Ctrl-C removes everything",
            implementation.name()
        ));
    } else {
        say("no daemon started; Ctrl-C removes everything".into());
    }
    // Bounded by the operator's Ctrl-C, and by a day at most.
    for _ in 0..43_200 {
        let (line, _) = status(&mut lab, started, "")?;
        say(line);
        match wait::sleep(Duration::from_secs(2)) {
            Err(LabError::Interrupted) => break,
            other => other?,
        }
    }
    say(format!("removing lab {}", lab.prefix()));
    lab.shutdown()
}
