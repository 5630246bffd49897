//! `kalive-lab bench reload` (issue 9): what a SIGHUP costs, kalive and
//! keepalived side by side in one run.
//!
//! Two routers run N instances (v3, 0.1 s adverts, one VIP each; r1 at
//! priority 150 is master of all, r2 at 100 is backup). A client pings the
//! first instance's VIP every 20 ms. For each case the configs are edited
//! as an operator would, on every router whose config changes (the VIP
//! list is in the adverts: a backup that expects another list drops them,
//! and keepalived's then becomes a second master), and each of those
//! daemons is sent SIGHUP, the master first; per case and implementation the
//! table shows the pings lost, whether a VIP that stays was removed at any
//! moment (`ip monitor` on the router), and the time from the SIGHUP to
//! the change being visible in the kernel (the `ip monitor` line, stamped
//! as it arrives). Figures are printed, never asserted.

use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::table::{kalive_over_keepalived, Table};
use crate::daemon::Implementation;
use crate::error::{LabError, Result};
use crate::topology::{Lab, LabSpec};
use crate::traffic::Pinger;
use crate::vrrp_config::{config, Instance};
use crate::wait;

/// The client's ping interval.
pub const PING_EVERY: Duration = Duration::from_millis(20);
/// The advert interval of every instance.
const ADVERT: Duration = Duration::from_millis(100);
/// The VIP pinged: instance 1's, on the LAN.
const PINGED_VIP: &str = "10.0.0.201";
/// The VIP the add/remove cases change (instance 1).
const EXTRA_VIP: &str = "10.0.0.202";
/// The VIP of the instance the add/remove-instance cases change.
const EXTRA_INSTANCE_VIP: &str = "10.0.0.203";
/// The virtual route of instance 1 and its two gateways.
const ROUTE: &str = "10.20.0.0/24";
const GATEWAYS: [&str; 2] = ["10.0.0.254", "10.0.0.253"];
/// How long a change may take before the case reports it as not seen.
const CHANGE_LIMIT: Duration = Duration::from_secs(10);
/// Quiet time before a SIGHUP and after its change.
const SETTLE: Duration = Duration::from_millis(1000);

/// One reload case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// The same config again.
    Unchanged,
    /// Instance 1 gets a second VIP.
    AddVip,
    /// Instance 1's second VIP goes.
    RemoveVip,
    /// Instance 1's virtual route gets another gateway.
    ChangeRoute,
    /// A new instance (with its own VIP) on the master.
    AddInstance,
    /// That instance goes again.
    RemoveInstance,
    /// The backup's priority for instance 1 rises above the master's.
    Switchover,
}

impl Case {
    /// Every case, in the order they run (each starts from the state the
    /// one before left, so the run needs no reload that is not measured).
    pub const ALL: [Case; 7] = [
        Case::Unchanged,
        Case::AddVip,
        Case::RemoveVip,
        Case::ChangeRoute,
        Case::AddInstance,
        Case::RemoveInstance,
        Case::Switchover,
    ];

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Case::Unchanged => "unchanged",
            Case::AddVip => "add-vip",
            Case::RemoveVip => "remove-vip",
            Case::ChangeRoute => "change-route",
            Case::AddInstance => "add-instance",
            Case::RemoveInstance => "remove-instance",
            Case::Switchover => "switchover",
        }
    }

    /// The case called `name`.
    pub fn from_name(name: &str) -> Option<Case> {
        Case::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The configs before and after (both routers), and the router whose
    /// kernel shows the change.
    fn shapes(self) -> (Shape, Shape, usize) {
        let base = Shape::default();
        let with = |f: fn(&mut Shape)| {
            let mut s = base;
            f(&mut s);
            s
        };
        match self {
            Case::Unchanged => (base, base, 0),
            Case::AddVip => (base, with(|s| s.extra_vip = true), 0),
            Case::RemoveVip => (with(|s| s.extra_vip = true), base, 0),
            Case::ChangeRoute => (base, with(|s| s.gateway = 1), 0),
            Case::AddInstance => (base, with(|s| s.extra_instance = true), 0),
            Case::RemoveInstance => (with(|s| s.extra_instance = true), base, 0),
            Case::Switchover => (base, with(|s| s.backup_raised = true), 1),
        }
    }

    /// The `ip monitor` line (on the watched router) that shows the
    /// change done; `None` when nothing should change.
    fn visible(self, line: &str) -> bool {
        let added =
            |addr: &str| !line.starts_with("Deleted") && line.contains(&format!(" {addr}/"));
        let deleted =
            |addr: &str| line.starts_with("Deleted") && line.contains(&format!(" {addr}/"));
        match self {
            Case::Unchanged => false,
            Case::AddVip => added(EXTRA_VIP),
            Case::RemoveVip => deleted(EXTRA_VIP),
            Case::ChangeRoute => {
                !line.starts_with("Deleted")
                    && line.contains(ROUTE)
                    && line.contains(&format!("via {}", GATEWAYS[1]))
            }
            Case::AddInstance => added(EXTRA_INSTANCE_VIP),
            Case::RemoveInstance => deleted(EXTRA_INSTANCE_VIP),
            Case::Switchover => added(PINGED_VIP),
        }
    }
}

/// What differs between the configs of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Shape {
    extra_vip: bool,
    /// Index into [`GATEWAYS`].
    gateway: usize,
    extra_instance: bool,
    /// The backup's instance 1 at priority 200.
    backup_raised: bool,
}

/// VIP of instance `k` (1-based): instance 1's is on the LAN (the client
/// pings it); the others are /32s outside it, so that 200 fit.
fn vip(k: usize) -> String {
    if k == 1 {
        format!("{PINGED_VIP}/24")
    } else {
        format!("10.10.{}.{}/32", k / 250, k % 250 + 1)
    }
}

/// Router `router`'s config for `instances` instances in `shape`.
fn render(router: usize, instances: usize, shape: Shape) -> String {
    let base_priority = if router == 0 { 150 } else { 100 };
    let mut blocks = Vec::new();
    for k in 1..=instances {
        let priority = if k == 1 && router == 1 && shape.backup_raised {
            200
        } else {
            base_priority
        };
        let mut i = Instance::new(3, k as u8, priority, ADVERT, &vip(k));
        if k == 1 {
            if shape.extra_vip {
                i.vips.push(format!("{EXTRA_VIP}/24"));
            }
            i.extra = vec![
                "virtual_routes {".into(),
                format!("    {ROUTE} via {} dev eth0", GATEWAYS[shape.gateway]),
                "}".into(),
            ];
        }
        blocks.push(i.render());
    }
    if shape.extra_instance {
        let vrid = (instances + 1) as u8;
        let i = Instance::new(
            3,
            vrid,
            base_priority,
            ADVERT,
            &format!("{EXTRA_INSTANCE_VIP}/24"),
        );
        blocks.push(i.render());
    }
    config(&format!("r{}", router + 1), &blocks)
}

/// The VIPs router 0 holds in `shape` as master.
fn master_vips(instances: usize, shape: Shape) -> Vec<IpAddr> {
    let mut out: Vec<String> = (1..=instances).map(vip).collect();
    if shape.extra_vip {
        out.push(format!("{EXTRA_VIP}/24"));
    }
    if shape.extra_instance {
        out.push(format!("{EXTRA_INSTANCE_VIP}/24"));
    }
    out.iter()
        .filter_map(|v| v.split('/').next()?.parse().ok())
        .collect()
}

/// Figures of one case with one implementation.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub case: Case,
    pub instances: usize,
    pub implementation: &'static str,
    /// Pings to the first VIP lost around the reload.
    pub lost: u32,
    pub sent: u32,
    /// Whether a VIP that stays on the master was removed at any moment.
    pub stayed_removed: bool,
    /// SIGHUP → the change in the kernel; `None` when no change was
    /// expected or none was seen within the limit.
    pub to_kernel: Option<Duration>,
    /// The change was expected and not seen.
    pub missed: bool,
}

/// `ip -n NS monitor address route`, each line stamped as it arrives
/// (ip flushes every event, so the stamp is within a scheduling delay of
/// the kernel's notification).
pub struct Monitor {
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
    reader: Option<JoinHandle<()>>,
}

impl Monitor {
    /// Starts `ip -n NS monitor address route`.
    pub fn start(ns: &str) -> Result<Monitor> {
        let mut child = Command::new("ip")
            .args(["-n", ns, "monitor", "address", "route"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| LabError::io(format!("start ip monitor in {ns}"), e))?;
        let out = child
            .stdout
            .take()
            .ok_or_else(|| LabError::Usage("ip monitor without stdout".into()))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if let Ok(mut lines) = sink.lock() {
                    // Bounded: a run makes a few thousand lines at most.
                    if lines.len() < 1_000_000 {
                        lines.push((Instant::now(), line));
                    }
                }
            }
        });
        // ip monitor subscribes right after it starts.
        std::thread::sleep(Duration::from_millis(100));
        Ok(Monitor {
            child,
            lines,
            reader: Some(reader),
        })
    }

    /// Lines seen since `from`.
    pub fn since(&self, from: Instant) -> Vec<(Instant, String)> {
        self.lines
            .lock()
            .map(|l| l.iter().filter(|(at, _)| *at >= from).cloned().collect())
            .unwrap_or_default()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// One implementation running N instances on two routers.
struct Run {
    lab: Lab,
    instances: usize,
    /// The shape both routers' configs are in.
    shape: Shape,
    monitors: [Monitor; 2],
}

impl Run {
    fn start(implementation: &Implementation, instances: usize) -> Result<Run> {
        if !(1..=250).contains(&instances) {
            return Err(LabError::Usage(format!(
                "instances must be 1..=250, got {instances}"
            )));
        }
        let mut lab = Lab::new(LabSpec {
            routers: 2,
            record: false,
            responder_port: None,
            ..LabSpec::default()
        })?;
        let shape = Shape::default();
        for router in 0..2 {
            lab.start_daemon(router, implementation, &render(router, instances, shape))?;
        }
        let wanted = master_vips(instances, shape);
        let limit = Duration::from_secs(20) + Duration::from_millis(100) * instances as u32;
        wait::wait_for(
            "r1 master of every instance",
            limit,
            Duration::from_millis(100),
            || {
                let held = lab.addresses(0)?;
                Ok(wanted
                    .iter()
                    .all(|v| held.iter().any(|a| a.addr == *v))
                    .then_some(()))
            },
        )?;
        let monitors = [
            Monitor::start(&lab.router(0)?.ns)?,
            Monitor::start(&lab.router(1)?.ns)?,
        ];
        Ok(Run {
            lab,
            instances,
            shape,
            monitors,
        })
    }

    /// Write router `router`'s config for `shape` and send SIGHUP.
    fn reload_one(&mut self, router: usize, shape: Shape) -> Result<()> {
        let path = self
            .lab
            .daemon_config(router)
            .ok_or_else(|| LabError::Usage("no daemon config".into()))?
            .to_path_buf();
        std::fs::write(&path, render(router, self.instances, shape))
            .map_err(|e| LabError::io(format!("write {}", path.display()), e))?;
        self.lab.signal_daemon(router, Signal::SIGHUP)?;
        Ok(())
    }

    /// Move both routers to `shape`: the routers whose config changes
    /// (every router when `all`), master first. Returns when the first
    /// SIGHUP was sent.
    fn reload(&mut self, shape: Shape, all: bool) -> Result<Option<Instant>> {
        let mut first = None;
        for router in 0..2 {
            let changes =
                render(router, self.instances, self.shape) != render(router, self.instances, shape);
            if changes || all {
                first.get_or_insert_with(Instant::now);
                self.reload_one(router, shape)?;
            }
        }
        self.shape = shape;
        Ok(first)
    }

    fn measure(&mut self, implementation: &'static str, case: Case) -> Result<Outcome> {
        let (before, after, watched) = case.shapes();
        // Bring the routers to the case's starting point (not measured).
        if self.shape != before {
            self.reload(before, false)?;
            wait::sleep(SETTLE * 2)?;
        }
        let client = self.lab.client()?.ns.clone();
        let target: IpAddr = PINGED_VIP
            .parse()
            .map_err(|_| LabError::Usage("vip".into()))?;
        let pinger = Pinger::start(&client, target, PING_EVERY)?;
        wait::sleep(SETTLE)?;
        let sighup = self
            .reload(after, case == Case::Unchanged)?
            .unwrap_or_else(Instant::now);
        let mut seen = None;
        if case != Case::Unchanged {
            let monitor = &self.monitors[watched];
            seen = wait::wait_for(
                "the change in the kernel",
                CHANGE_LIMIT,
                Duration::from_millis(1),
                || {
                    Ok(monitor
                        .since(sighup)
                        .into_iter()
                        .find(|(_, line)| case.visible(line))
                        .map(|(at, _)| at))
                },
            )
            .ok();
        }
        wait::sleep(SETTLE)?;
        let count = pinger.stop()?;
        // VIPs on the master in both configs (in a switchover the pinged
        // VIP moves away by design).
        let before_vips = master_vips(self.instances, before);
        let after_vips = master_vips(self.instances, after);
        let pinged: IpAddr = target;
        let stays: Vec<IpAddr> = before_vips
            .into_iter()
            .filter(|v| after_vips.contains(v))
            .filter(|v| !(case == Case::Switchover && *v == pinged))
            .collect();
        let lines = self.monitors[0].since(sighup);
        let stayed_removed = lines.iter().any(|(_, l)| {
            l.starts_with("Deleted") && stays.iter().any(|v| l.contains(&format!(" {v}/")))
        });
        Ok(Outcome {
            case,
            instances: self.instances,
            implementation,
            lost: count.lost(),
            sent: count.sent,
            stayed_removed,
            to_kernel: seen.map(|at| at.saturating_duration_since(sighup)),
            missed: case != Case::Unchanged && seen.is_none(),
        })
    }
}

/// Runs `cases` for every instance count and implementation (one lab per
/// implementation and count) and prints the table to `out`.
pub fn run(
    implementations: &[Implementation],
    instance_counts: &[usize],
    cases: &[Case],
    out: &mut dyn Write,
) -> Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    for &n in instance_counts {
        for imp in implementations {
            let mut run = Run::start(imp, n)?;
            for &case in cases {
                let outcome = run.measure(imp.name(), case)?;
                outcomes.push(outcome);
            }
        }
    }
    write_table(implementations, &outcomes, out)?;
    Ok(outcomes)
}

/// The header of the table [`run`] prints.
pub const HEADER: [&str; 6] = [
    "case",
    "instances",
    "impl",
    "lost/sent",
    "stayed-vip-removed",
    "sighup->kernel ms",
];

/// One row per case, count and implementation; then a ratio row
/// (kalive/keepalived) for lost pings and time to the kernel.
pub fn write_table(
    implementations: &[Implementation],
    outcomes: &[Outcome],
    out: &mut dyn Write,
) -> Result<()> {
    let mut table = Table::new(&HEADER);
    let mut keys: Vec<(Case, usize)> = Vec::new();
    for o in outcomes {
        if !keys.contains(&(o.case, o.instances)) {
            keys.push((o.case, o.instances));
        }
    }
    for (case, n) in keys {
        let rows: Vec<&Outcome> = implementations
            .iter()
            .filter_map(|imp| {
                outcomes
                    .iter()
                    .find(|o| o.case == case && o.instances == n && o.implementation == imp.name())
            })
            .collect();
        for o in &rows {
            let time = match (o.to_kernel, o.missed) {
                (Some(t), _) => format!("{:.1}", t.as_secs_f64() * 1000.0),
                (None, true) => "not seen".into(),
                (None, false) => "-".into(),
            };
            table.row(vec![
                case.name().into(),
                n.to_string(),
                o.implementation.into(),
                format!("{}/{}", o.lost, o.sent),
                if o.stayed_removed { "yes" } else { "no" }.into(),
                time,
            ]);
        }
        let column = |f: &dyn Fn(&Outcome) -> Option<f64>| -> Vec<Option<f64>> {
            implementations
                .iter()
                .map(|imp| {
                    rows.iter()
                        .find(|o| o.implementation == imp.name())
                        .and_then(|o| f(o))
                })
                .collect()
        };
        let lost = column(&|o| Some(f64::from(o.lost)));
        let time = column(&|o| o.to_kernel.map(|t| t.as_secs_f64()));
        if let Some(ratios) = kalive_over_keepalived(implementations, &[lost, time]) {
            table.row(vec![
                case.name().into(),
                n.to_string(),
                "ratio".into(),
                ratios[0].clone(),
                "-".into(),
                ratios[1].clone(),
            ]);
        }
    }
    writeln!(
        out,
        "reload: v3, advert 0.1 s, one VIP per instance; client pings {PINGED_VIP} every {} ms; ratio = kalive/keepalived",
        PING_EVERY.as_millis()
    )
    .map_err(|e| LabError::io("write report", e))?;
    table.write(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_change_what_they_say() {
        let (before, after, watched) = Case::AddVip.shapes();
        assert_eq!(watched, 0);
        assert!(!render(0, 2, before).contains(EXTRA_VIP));
        assert!(render(0, 2, after).contains(EXTRA_VIP));
        let (before, after, watched) = Case::Switchover.shapes();
        assert_eq!(watched, 1);
        assert_eq!(
            render(0, 1, before),
            render(0, 1, after),
            "only the backup changes"
        );
        assert!(render(1, 1, after).contains("priority 200"));
        assert!(render(0, 1, after).contains("priority 150"));
        let (before, after, _) = Case::ChangeRoute.shapes();
        assert!(render(0, 1, before).contains("via 10.0.0.254"));
        assert!(render(0, 1, after).contains("via 10.0.0.253"));
        assert_eq!(
            render(0, 200, Shape::default())
                .matches("vrrp_instance")
                .count(),
            200
        );
    }

    #[test]
    fn changes_are_recognised_in_ip_monitor_lines() {
        let add = "2: eth0    inet 10.0.0.202/24 scope global secondary eth0";
        let del = "Deleted 2: eth0    inet 10.0.0.202/24 scope global secondary eth0";
        assert!(Case::AddVip.visible(add));
        assert!(!Case::AddVip.visible(del));
        assert!(Case::RemoveVip.visible(del));
        assert!(Case::ChangeRoute.visible("10.20.0.0/24 via 10.0.0.253 dev eth0 proto 18"));
        assert!(!Case::ChangeRoute.visible("10.20.0.0/24 via 10.0.0.254 dev eth0 proto 18"));
        assert!(!Case::Unchanged.visible(add));
    }

    #[test]
    fn the_table_has_a_ratio_row() {
        let kalive = Implementation::Kalive("/k".into());
        let keepalived = Implementation::Keepalived("/ka".into());
        let outcome = |implementation, ms| Outcome {
            case: Case::AddVip,
            instances: 1,
            implementation,
            lost: 0,
            sent: 100,
            stayed_removed: false,
            to_kernel: Some(Duration::from_millis(ms)),
            missed: false,
        };
        let mut out = Vec::new();
        write_table(
            &[kalive, keepalived],
            &[outcome("kalive", 5), outcome("keepalived", 20)],
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let ratio = text
            .lines()
            .find(|l| l.split_whitespace().nth(2) == Some("ratio"))
            .unwrap();
        assert!(ratio.ends_with("0.25"), "{text}");
        assert!(text.contains("0/100"), "{text}");
    }
}
