//! `kalive-lab bench config`: `kalive -t` against `keepalived -t` on one
//! generated config of about 150,000 lines (issue 2, "benchmark"): 2,000
//! `vrrp_instance`s with PASS auth and two VIPs each, 500 `virtual_server`s
//! with 20 `real_server`s and an `HTTP_GET` each.
//!
//! Both run in the same scratch namespace that holds the interfaces the
//! config names (`eth0`..`eth7`; keepalived's `-t` checks that they exist,
//! keepalived-behaviour.md §1.2). Each run goes through a small measuring
//! process (`kalive-lab bench measure-child`) that runs the program with
//! `ip netns exec` and reports the wall time and the peak RSS of the
//! program and everything it forked (`getrusage(RUSAGE_CHILDREN)`, which
//! covers only that one run because the measuring process runs nothing
//! else). Implementations alternate, best of N is reported.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use nix::sys::resource::{getrusage, UsageWho};

use crate::bench::table::{ratio, Table};
use crate::cmd;
use crate::daemon::Implementation;
use crate::error::{LabError, Result};

/// Interfaces the generated config spreads its instances over.
pub const INTERFACES: usize = 8;
/// `vrrp_instance` blocks generated.
pub const VRRP_INSTANCES: usize = 2_000;
/// `virtual_server` blocks generated.
pub const VIRTUAL_SERVERS: usize = 500;
/// `real_server`s per `virtual_server`.
pub const REAL_SERVERS: usize = 20;

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// A config to use instead of the generated one.
    pub file: Option<PathBuf>,
    /// Runs per implementation (best reported).
    pub runs: usize,
    /// kalive binary.
    pub kalive: Implementation,
    /// keepalived binary.
    pub keepalived: Implementation,
}

/// The benchmark config. (interface, VRID) pairs are unique: instance `i`
/// uses `eth(i % 8)` and VRID `i / 8 + 1` (1..=250).
pub fn generate() -> String {
    let mut s = String::with_capacity(6 << 20);
    s.push_str(
        "# kalive-lab bench config: 2,000 VRRP instances, 500 virtual servers x 20 real servers\n",
    );
    s.push_str("global_defs {\n    router_id bench\n}\n\n");
    for i in 0..VRRP_INSTANCES {
        let interface = i % INTERFACES;
        let vrid = i / INTERFACES + 1;
        let (third, fourth) = (i / 100, (i % 100) * 2 + 1);
        let _ = write!(
            s,
            "vrrp_instance VI_{i} {{\n    state BACKUP\n    interface eth{interface}\n    virtual_router_id {vrid}\n    priority 100\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        auth_pass pw{i:04}\n    }}\n    virtual_ipaddress {{\n        172.16.{third}.{fourth}/32\n        172.16.{third}.{}/32\n    }}\n}}\n\n",
            fourth + 1
        );
    }
    for v in 0..VIRTUAL_SERVERS {
        let _ = write!(
            s,
            "virtual_server 192.168.{}.{} 80 {{\n    delay_loop 6\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n",
            v / 250,
            v % 250 + 1
        );
        for r in 0..REAL_SERVERS {
            let _ = write!(
                s,
                "    real_server 10.{}.{}.{} 8080 {{\n        weight 1\n        HTTP_GET {{\n            url {{\n                path /health\n                status_code 200\n            }}\n            connect_timeout 3\n            retry 3\n        }}\n    }}\n",
                10 + v / 250,
                v % 250,
                r + 1
            );
        }
        s.push_str("}\n\n");
    }
    s
}

/// Writes the generated config to `path`; returns its line count.
pub fn write_generated(path: &Path) -> Result<usize> {
    let text = generate();
    std::fs::write(path, &text)
        .map_err(|e| LabError::io(format!("write {}", path.display()), e))?;
    Ok(text.lines().count())
}

/// A namespace holding `eth0`..`eth7` (veth pairs, peers `peth*`), deleted
/// on drop. Its name carries the PID, like every lab namespace.
struct ScratchNamespace {
    name: String,
}

impl ScratchNamespace {
    fn create() -> Result<ScratchNamespace> {
        let scratch = ScratchNamespace {
            name: format!("kl{}cfgbench", std::process::id()),
        };
        cmd::ip(&["netns", "add", &scratch.name])?;
        cmd::ip_in(&scratch.name, &["link", "set", "lo", "up"])?;
        for i in 0..INTERFACES {
            let (dev, peer) = (format!("eth{i}"), format!("peth{i}"));
            cmd::ip_in(
                &scratch.name,
                &["link", "add", &dev, "type", "veth", "peer", "name", &peer],
            )?;
            cmd::ip_in(&scratch.name, &["link", "set", &dev, "up"])?;
            cmd::ip_in(&scratch.name, &["link", "set", &peer, "up"])?;
            let address = format!("10.254.{i}.1/24");
            cmd::ip_in(&scratch.name, &["addr", "add", &address, "dev", &dev])?;
        }
        Ok(scratch)
    }
}

impl Drop for ScratchNamespace {
    fn drop(&mut self) {
        if let Err(e) = cmd::ip(&["netns", "del", &self.name]) {
            eprintln!("kalive-lab: cannot delete namespace {}: {e}", self.name);
        }
    }
}

/// One measured run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Run {
    /// Wall time, seconds.
    pub wall_s: f64,
    /// Peak RSS of the program and its children, KiB.
    pub max_rss_kib: i64,
    /// Exit code (-1: killed by a signal).
    pub exit: i32,
}

impl Run {
    fn render(&self) -> String {
        format!(
            "wall_s={:.6} maxrss_kib={} exit={}",
            self.wall_s, self.max_rss_kib, self.exit
        )
    }

    fn parse(text: &str) -> Option<Run> {
        let field = |name: &str| {
            text.split_whitespace()
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        };
        Some(Run {
            wall_s: field("wall_s")?.parse().ok()?,
            max_rss_kib: field("maxrss_kib")?.parse().ok()?,
            exit: field("exit")?.parse().ok()?,
        })
    }
}

/// The measuring process: enters `ns`, runs `command` (output discarded),
/// prints one [`Run`] line. Runs in its own short-lived process so that
/// `RUSAGE_CHILDREN` sees exactly this program.
pub fn measure_child(ns: &str, command: &[String], out: &mut dyn Write) -> Result<()> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| LabError::Usage("measure-child needs a program".into()))?;
    // Through `ip netns exec`, as an operator would run it: it also mounts
    // the namespace's own /sys, where a program may look for interfaces.
    // `ip` execs the program, so the child measured is the program itself.
    let started = Instant::now();
    let status = Command::new("ip")
        .args(["netns", "exec", ns, program])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| LabError::io(format!("run {program}"), e))?;
    let wall_s = started.elapsed().as_secs_f64();
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN)
        .map_err(|e| LabError::sys("getrusage(RUSAGE_CHILDREN)", e))?;
    let run = Run {
        wall_s,
        max_rss_kib: usage.max_rss(),
        exit: status.code().unwrap_or(-1),
    };
    writeln!(out, "{}", run.render()).map_err(|e| LabError::io("write result", e))
}

fn measure(ns: &str, imp: &Implementation, config: &Path) -> Result<Run> {
    let me = std::env::current_exe().map_err(|e| LabError::io("locate kalive-lab", e))?;
    let me = me.display().to_string();
    let binary = imp.binary().display().to_string();
    let config = config.display().to_string();
    let args = [
        "bench",
        "measure-child",
        "--netns",
        ns,
        "--",
        binary.as_str(),
        "-t",
        "-f",
        config.as_str(),
    ];
    let text = cmd::run(&me, &args)?;
    Run::parse(&text).ok_or_else(|| LabError::Parse {
        what: "measure-child output".into(),
        detail: text.trim().to_string(),
    })
}

/// Generates (or takes) the config, runs both `-t`s alternately and prints
/// the best wall time and its peak RSS for each, with ratios.
pub fn run(options: &Options, out: &mut dyn Write) -> Result<()> {
    cmd::preflight(true)?;
    let scratch = ScratchNamespace::create()?;
    let generated = std::env::temp_dir().join(format!("kl{}-bench.conf", std::process::id()));
    let config = match &options.file {
        Some(file) => file.clone(),
        None => {
            write_generated(&generated)?;
            generated.clone()
        }
    };
    let result = compare(&scratch.name, &config, options, out);
    if options.file.is_none() {
        let _ = std::fs::remove_file(&generated);
    }
    result
}

fn compare(ns: &str, config: &Path, options: &Options, out: &mut dyn Write) -> Result<()> {
    let text = std::fs::read_to_string(config)
        .map_err(|e| LabError::io(format!("read {}", config.display()), e))?;
    let say = |out: &mut dyn Write, line: String| {
        writeln!(out, "{line}")
            .and_then(|_| out.flush())
            .map_err(|e| LabError::io("write report", e))
    };
    say(
        out,
        format!(
            "config bench: {} ({} lines, {:.1} MiB) in namespace {ns} with eth0..eth{}; best of {} runs, alternating",
            config.display(),
            text.lines().count(),
            text.len() as f64 / (1 << 20) as f64,
            INTERFACES - 1,
            options.runs
        ),
    )?;
    let imps = [&options.keepalived, &options.kalive];
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(), Vec::new()];
    for round in 0..options.runs {
        for (slot, imp) in imps.iter().enumerate() {
            crate::wait::sleep(std::time::Duration::ZERO)?;
            let run = measure(ns, imp, config)?;
            say(
                out,
                format!(
                    "  run {} {:<10} {:>8.3} s  {:>8.1} MiB  exit {}",
                    round + 1,
                    imp.name(),
                    run.wall_s,
                    run.max_rss_kib as f64 / 1024.0,
                    run.exit
                ),
            )?;
            runs[slot].push(run);
        }
    }
    let best = |slot: usize| -> Result<Run> {
        runs[slot]
            .iter()
            .copied()
            .min_by(|a, b| a.wall_s.total_cmp(&b.wall_s))
            .ok_or_else(|| LabError::Usage("no runs".into()))
    };
    let (ka, kl) = (best(0)?, best(1)?);
    let min_rss = |slot: usize| runs[slot].iter().map(|r| r.max_rss_kib).min().unwrap_or(0);
    let mut table = Table::new(&["", "exit", "wall s (best)", "peak RSS MiB (min)"]);
    for (slot, run) in [(0, ka), (1, kl)] {
        table.row(vec![
            imps[slot].name().to_string(),
            run.exit.to_string(),
            format!("{:.3}", run.wall_s),
            format!("{:.1}", min_rss(slot) as f64 / 1024.0),
        ]);
    }
    table.row(vec![
        "kalive/keepalived".into(),
        String::new(),
        ratio(kl.wall_s, ka.wall_s),
        ratio(min_rss(1) as f64, min_rss(0) as f64),
    ]);
    table.write(out)?;
    if ka.exit != kl.exit {
        say(
            out,
            format!(
                "note: different verdicts (keepalived exit {}, kalive exit {})",
                ka.exit, kl.exit
            ),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_config_has_the_issue_2_shape() {
        let text = generate();
        let lines = text.lines().count();
        assert!((140_000..=170_000).contains(&lines), "{lines} lines");
        assert_eq!(text.matches("vrrp_instance ").count(), VRRP_INSTANCES);
        assert_eq!(text.matches("auth_type PASS").count(), VRRP_INSTANCES);
        assert_eq!(text.matches("virtual_server ").count(), VIRTUAL_SERVERS);
        assert_eq!(
            text.matches("real_server ").count(),
            VIRTUAL_SERVERS * REAL_SERVERS
        );
        assert_eq!(
            text.matches("HTTP_GET").count(),
            VIRTUAL_SERVERS * REAL_SERVERS
        );
        let vips = text
            .lines()
            .filter(|l| l.trim().starts_with("172.16."))
            .count();
        assert_eq!(vips, 2 * VRRP_INSTANCES);
    }

    #[test]
    fn interface_and_vrid_pairs_are_unique_and_valid() {
        let text = generate();
        let mut pairs = HashSet::new();
        let mut interface = String::new();
        for line in text.lines().map(str::trim) {
            if let Some(name) = line.strip_prefix("interface ") {
                interface = name.to_string();
            }
            if let Some(vrid) = line.strip_prefix("virtual_router_id ") {
                let vrid: u16 = vrid.parse().unwrap();
                assert!((1..=255).contains(&vrid));
                assert!(
                    pairs.insert((interface.clone(), vrid)),
                    "{interface} {vrid}"
                );
            }
        }
        assert_eq!(pairs.len(), VRRP_INSTANCES);
    }

    #[test]
    fn passwords_fit_the_eight_byte_field() {
        assert!(generate()
            .lines()
            .filter_map(|l| l.trim().strip_prefix("auth_pass "))
            .all(|p| p.len() <= 8));
    }

    #[test]
    fn run_lines_round_trip() {
        let run = Run {
            wall_s: 1.5,
            max_rss_kib: 2048,
            exit: 4,
        };
        assert_eq!(Run::parse(&run.render()), Some(run));
        assert_eq!(Run::parse("garbage"), None);
    }
}
