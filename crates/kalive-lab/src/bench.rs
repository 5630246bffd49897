//! `kalive-lab bench`: kalive and keepalived side by side in one run.
//!
//! `failover` repeats each scenario R times per implementation, alternating
//! implementations, and reports the takeover figures measured on the wire.
//! `idle` reports memory and CPU of an idle daemon. `reload` measures
//! what a SIGHUP costs (pings lost, VIPs removed, time to the kernel). `attack`
//! floods a master with bad and lower-priority adverts; `soak` runs N
//! instances at 10 ms under packet loss; `checkers` compares kalive's health
//! checker with HAProxy's. Figures are printed, never asserted: a benchmark
//! informs, a test decides.

pub mod attack;
pub mod checkers;
pub mod config;
pub mod reload;
pub mod soak;
pub mod table;

use std::io::Write;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use crate::daemon::{descendants_deepest_first, Implementation};
use crate::error::{LabError, Result};
use crate::measure::{self, Takeover};
use crate::topology::{Lab, LabSpec};
use crate::vrrp_config::{config, format_interval, Instance};
use crate::wait;

const VRID: u8 = 51;

/// A fault that makes the master go away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// SIGKILL of the master daemon: backups wait master-down.
    SigKill,
    /// SIGTERM: the master sends priority 0; backups wait their skew.
    SigTerm,
    /// The master's interface goes down.
    LinkDown,
}

impl Scenario {
    /// All scenarios.
    pub const ALL: [Scenario; 3] = [Scenario::SigKill, Scenario::SigTerm, Scenario::LinkDown];

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::SigKill => "sigkill",
            Scenario::SigTerm => "sigterm",
            Scenario::LinkDown => "linkdown",
        }
    }
}

/// One scenario at one VRRP version and interval.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    /// What fails.
    pub scenario: Scenario,
    /// VRRP version.
    pub version: u8,
    /// Advert interval.
    pub interval: Duration,
}

impl Case {
    /// The cases of issue 5: each scenario at 1 s (v2), 0.1 s and 0.01 s (v3).
    pub fn standard() -> Vec<Case> {
        let timings = [
            (2, Duration::from_secs(1)),
            (3, Duration::from_millis(100)),
            (3, Duration::from_millis(10)),
        ];
        timings
            .iter()
            .flat_map(|&(version, interval)| {
                Scenario::ALL.iter().map(move |&scenario| Case {
                    scenario,
                    version,
                    interval,
                })
            })
            .collect()
    }

    /// What the protocol promises: master-down after a crash, the skew
    /// after priority 0 (RFC 5798 §6.4.2), for the backup at priority 100.
    pub fn expected_gap(&self) -> Duration {
        match self.scenario {
            Scenario::SigTerm => measure::skew(self.version, 100, self.interval),
            _ => measure::master_down(self.version, 100, self.interval),
        }
    }

    fn label(&self) -> String {
        format!(
            "{} v{} {}s",
            self.scenario.name(),
            self.version,
            format_interval(self.interval)
        )
    }
}

/// Figures of one run.
#[derive(Clone, Debug)]
pub struct Sample {
    /// Old master's last advert → new master's first.
    pub gap: Duration,
    /// Gap minus the expected gap, ms.
    pub excess_ms: f64,
    /// Old master's last advert → new master's first GARP.
    pub to_garp: Option<Duration>,
    /// Moments with two masters, from the settled group (r1 master) to the
    /// end of the run.
    pub two_masters: usize,
}

/// Runs `case` once with `implementation` in a fresh two-router lab.
pub fn failover_once(implementation: &Implementation, case: &Case) -> Result<Sample> {
    let mut lab = Lab::new(LabSpec {
        routers: 2,
        responder_port: None,
        ..LabSpec::default()
    })?;
    for (index, priority) in [150u8, 100].into_iter().enumerate() {
        let mut instance =
            Instance::new(case.version, VRID, priority, case.interval, "10.0.0.254/24");
        if case.version == 2 {
            instance.auth_pass = Some("bench".into());
        }
        let name = lab.router(index)?.name.clone();
        lab.start_daemon(index, implementation, &config(&name, &[instance.render()]))?;
    }
    let vip: IpAddr = "10.0.0.254"
        .parse()
        .map_err(|_| LabError::Usage("vip".into()))?;
    let settle = Duration::from_secs(10) + case.interval * 10;
    wait::wait_for("r1 to be master", settle, Duration::from_millis(20), || {
        Ok((lab.holders(vip)? == [0]).then_some(()))
    })?;
    // Two masters are counted from here on: the start-up (r2 may be master
    // for a moment before r1, started just before it, is up and preempts)
    // is not part of the failover.
    let steady_from = SystemTime::now();
    // Let the group run steadily for a few adverts before the fault.
    wait::sleep((case.interval * 5).max(Duration::from_millis(300)))?;
    let fault_at = SystemTime::now();
    match case.scenario {
        Scenario::SigKill => lab.kill_daemon(0)?,
        Scenario::SigTerm => {
            lab.stop_daemon(0, Duration::from_secs(5))?;
        }
        Scenario::LinkDown => lab.set_link(0, 0, false)?,
    }
    let takeover = wait::wait_for(
        "the takeover on the wire",
        settle,
        Duration::from_millis(20),
        || {
            Ok(measure::takeover(&lab.events(), VRID, fault_at)
                .filter(|t: &Takeover| t.first_announcement.is_some()))
        },
    )?;
    // A few more intervals so that a second master would show.
    wait::sleep((case.interval * 5).max(Duration::from_millis(200)))?;
    let events: Vec<_> = lab
        .events()
        .into_iter()
        .filter(|e| e.at >= steady_from)
        .collect();
    Ok(Sample {
        gap: takeover.gap(),
        excess_ms: takeover.excess_ms(case.expected_gap()),
        to_garp: takeover.to_announcement(),
        two_masters: measure::two_master_moments(&events, VRID, case.interval),
    })
}

/// Median, min, max.
fn stats(mut values: Vec<f64>) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    let median = if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    };
    Some((median, values[0], values[values.len() - 1]))
}

fn show(values: Vec<f64>) -> String {
    stats(values).map_or("-".into(), |(med, min, max)| {
        format!("{med:8.2} {min:8.2} {max:8.2}")
    })
}

/// Runs every case `reps` times for each implementation, alternating
/// implementations within each repetition, and prints a table to `out`.
pub fn failover(
    implementations: &[Implementation],
    cases: &[Case],
    reps: usize,
    out: &mut dyn Write,
) -> Result<()> {
    let _ = writeln!(
        out,
        "{:<22} {:<10} {:>26} {:>26} {:>26} {:>8} {:>6}",
        "case",
        "impl",
        "gap ms med/min/max",
        "excess ms med/min/max",
        "to GARP ms med/min/max",
        "2-master",
        "errors"
    );
    for case in cases {
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); implementations.len()];
        let mut errors = vec![0usize; implementations.len()];
        for _ in 0..reps {
            for (slot, implementation) in implementations.iter().enumerate() {
                match failover_once(implementation, case) {
                    Ok(sample) => samples[slot].push(sample),
                    Err(LabError::Interrupted) => return Err(LabError::Interrupted),
                    Err(e) => {
                        errors[slot] += 1;
                        let _ = writeln!(out, "  {} {}: {e}", case.label(), implementation.name());
                    }
                }
            }
        }
        for (slot, implementation) in implementations.iter().enumerate() {
            let s = &samples[slot];
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            let _ = writeln!(
                out,
                "{:<22} {:<10} {:>26} {:>26} {:>26} {:>8} {:>6}",
                case.label(),
                implementation.name(),
                show(s.iter().map(|x| ms(x.gap)).collect()),
                show(s.iter().map(|x| x.excess_ms).collect()),
                show(s.iter().filter_map(|x| x.to_garp.map(ms)).collect()),
                s.iter().map(|x| x.two_masters).max().unwrap_or(0),
                errors[slot]
            );
            let _ = out.flush();
        }
        let medians = |pick: &dyn Fn(&Sample) -> Option<f64>| -> Vec<Option<f64>> {
            let of = |s: &Vec<Sample>| stats(s.iter().filter_map(pick).collect()).map(|m| m.0);
            samples.iter().map(of).collect()
        };
        let columns = [
            medians(&|x| Some(x.gap.as_secs_f64())),
            medians(&|x| Some(x.excess_ms)),
            medians(&|x| x.to_garp.map(|d| d.as_secs_f64())),
        ];
        if let Some(cells) = table::kalive_over_keepalived(implementations, &columns) {
            let _ = writeln!(
                out,
                "{:<22} {:<10} {:>26} {:>26} {:>26}",
                case.label(),
                "ratio",
                cells[0],
                cells[1],
                cells[2]
            );
        }
    }
    Ok(())
}

/// Resident memory (kB) and CPU seconds of a process and its descendants.
/// CPU comes from `/proc/PID/task/*/schedstat` (nanoseconds, every thread)
/// rather than `stat` (clock ticks: too coarse for an idle daemon).
pub fn tree_usage(root: u32) -> (u64, f64) {
    let mut pids = descendants_deepest_first(root as i32);
    pids.push(root as i32);
    let mut rss = 0;
    let mut cpu_ns: u64 = 0;
    for pid in pids {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            rss += status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .unwrap_or(0);
        }
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let schedstat =
                std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            cpu_ns += schedstat
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    (rss, cpu_ns as f64 / 1e9)
}

/// Idle cost of `implementation` with `instances` instances at `interval`:
/// measured on r1, which is master (`as_master`) or backup to r2.
pub fn idle_once(
    implementation: &Implementation,
    instances: usize,
    interval: Duration,
    as_master: bool,
    duration: Duration,
) -> Result<(u64, f64)> {
    let mut lab = Lab::new(LabSpec {
        routers: 2,
        responder_port: None,
        record: false,
        second_lan: false,
    })?;
    let (mine, peer) = if as_master { (150, 100) } else { (100, 150) };
    for (index, priority) in [mine, peer].into_iter().enumerate() {
        let blocks: Vec<String> = (0..instances)
            .map(|i| {
                let vrid = (i % 255 + 1) as u8;
                let vip = format!(
                    "10.{}.{}.{}/32",
                    1 + i / 65536,
                    (i / 256) % 256,
                    i % 256 + 1
                );
                Instance::new(3, vrid, priority, interval, &vip).render()
            })
            .collect();
        let name = lab.router(index)?.name.clone();
        lab.start_daemon(index, implementation, &config(&name, &blocks))?;
    }
    // Settle: every instance past its first master-down.
    wait::sleep(measure::master_down(3, 100, interval) * 2 + Duration::from_secs(2))?;
    let pid = lab
        .daemon_pid(0)
        .ok_or_else(|| LabError::Usage("daemon did not start".into()))?;
    let (_, cpu_before) = tree_usage(pid);
    let started = Instant::now();
    wait::sleep(duration)?;
    let (rss, cpu_after) = tree_usage(pid);
    let elapsed = started.elapsed().as_secs_f64();
    if !lab.daemon_running(0) {
        return Err(LabError::Usage(format!(
            "{} exited during the idle run:\n{}",
            implementation.name(),
            lab.all_logs()
        )));
    }
    Ok((
        rss,
        (cpu_after - cpu_before) * duration.as_secs_f64() / elapsed,
    ))
}

/// What `bench idle` measures.
#[derive(Clone, Debug)]
pub struct IdlePlan {
    /// Measurement window per run.
    pub duration: Duration,
    /// Instance counts (issue 5: 1 and 200).
    pub instances: Vec<usize>,
    /// Runs per case and implementation, alternating.
    pub reps: usize,
}

/// Prints RSS and CPU seconds over the plan's window for each
/// implementation, per instance count at 0.1 s, as master and as backup:
/// every run, then the medians and their ratio.
pub fn idle(
    implementations: &[Implementation],
    plan: &IdlePlan,
    out: &mut dyn Write,
) -> Result<()> {
    let _ = writeln!(
        out,
        "{:<42} {:<10} {:>10} {:>12}",
        "case",
        "impl",
        "RSS kB",
        format!("CPU s/{}s", plan.duration.as_secs())
    );
    for &instances in &plan.instances {
        for as_master in [true, false] {
            let label = format!(
                "{instances} instance(s) 0.1s {}",
                if as_master { "master" } else { "backup" }
            );
            let mut runs: Vec<Vec<(u64, f64)>> = vec![Vec::new(); implementations.len()];
            for _ in 0..plan.reps {
                for (slot, implementation) in implementations.iter().enumerate() {
                    match idle_once(
                        implementation,
                        instances,
                        Duration::from_millis(100),
                        as_master,
                        plan.duration,
                    ) {
                        Ok((rss, cpu)) => {
                            runs[slot].push((rss, cpu));
                            let _ = writeln!(
                                out,
                                "{label:<42} {:<10} {rss:>10} {cpu:>12.4}",
                                implementation.name()
                            );
                        }
                        Err(LabError::Interrupted) => return Err(LabError::Interrupted),
                        Err(e) => {
                            let _ = writeln!(
                                out,
                                "{label:<42} {:<10} error: {e}",
                                implementation.name()
                            );
                        }
                    }
                    let _ = out.flush();
                }
            }
            let medians: Vec<Option<(f64, f64)>> = runs
                .iter()
                .map(|r| {
                    let rss = median(r.iter().map(|(rss, _)| *rss as f64).collect())?;
                    let cpu = median(r.iter().map(|(_, cpu)| *cpu).collect())?;
                    Some((rss, cpu))
                })
                .collect();
            if plan.reps > 1 {
                for (implementation, m) in implementations.iter().zip(&medians) {
                    if let Some((rss, cpu)) = m {
                        let _ = writeln!(
                            out,
                            "{:<42} {:<10} {rss:>10.0} {cpu:>12.4}",
                            format!("{label} (median)"),
                            implementation.name()
                        );
                    }
                }
            }
            let columns = [
                medians.iter().map(|m| m.map(|(rss, _)| rss)).collect(),
                medians.iter().map(|m| m.map(|(_, cpu)| cpu)).collect(),
            ];
            if let Some(cells) = table::kalive_over_keepalived(implementations, &columns) {
                let _ = writeln!(
                    out,
                    "{:<42} {:<10} {:>10} {:>12}",
                    "", "ratio", cells[0], cells[1]
                );
            }
        }
    }
    Ok(())
}

/// The median of `values` (mean of the middle two for an even count).
fn median(values: Vec<f64>) -> Option<f64> {
    stats(values).map(|(median, _, _)| median)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(stats(vec![3.0, 1.0, 2.0]), Some((2.0, 1.0, 3.0)));
        assert_eq!(stats(vec![4.0, 1.0, 2.0, 3.0]), Some((2.5, 1.0, 4.0)));
        assert_eq!(stats(vec![]), None);
    }

    #[test]
    fn standard_cases_cover_three_intervals_and_three_scenarios() {
        let cases = Case::standard();
        assert_eq!(cases.len(), 9);
        let sigterm = cases
            .iter()
            .find(|c| c.scenario == Scenario::SigTerm && c.version == 2)
            .unwrap();
        assert_eq!(
            sigterm.expected_gap(),
            Duration::from_secs_f64(156.0 / 256.0)
        );
    }
}
