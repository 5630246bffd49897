//! `kalive-lab bench checkers`: kalive's health checker and HAProxy's,
//! in one invocation, against one nginx target (server `i` is
//! `127.1.(i / 250).(i % 250 + 1):8080`, all on `lo` of a private
//! namespace), at one check per server per second; the method of
//! /work/shared/reference/checker-bench.md.
//!
//! Note what is compared: HAProxy's TCP check is half-open (SYN, SYN-ACK,
//! RST), kalive's TCP_CHECK completes the connection as keepalived's does.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::tree_usage;
use crate::cmd;
use crate::daemon::{Daemon, DaemonSpec, Implementation};
use crate::error::{LabError, Result};
use crate::wait;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Which probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// kalive TCP_CHECK (full connect) / HAProxy `check` (half-open).
    Tcp,
    /// kalive HTTP_GET / HAProxy `option httpchk`, `GET /health`, 200.
    Http,
}

impl Probe {
    fn name(self) -> &'static str {
        match self {
            Probe::Tcp => "TCP",
            Probe::Http => "HTTP",
        }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct CheckerPlan {
    /// Server counts (e.g. 1,000 and 10,000).
    pub servers: Vec<usize>,
    /// Probes.
    pub probes: Vec<Probe>,
    /// Time after start before measuring.
    pub settle: Duration,
    /// CPU and checks/s window.
    pub window: Duration,
    /// SYN capture for the per-server period (after the CPU window).
    pub capture: Duration,
}

/// One row of the table.
#[derive(Clone, Debug)]
pub struct CheckerRow {
    /// `kalive` or `haproxy`.
    pub checker: &'static str,
    /// Servers checked.
    pub servers: usize,
    /// Probe.
    pub probe: Probe,
    /// CPU of the checker's process tree, % of one core.
    pub cpu_percent: f64,
    /// Resident memory of the tree at the end, kB.
    pub rss_kb: u64,
    /// `Tcp: ActiveOpens` per second in the namespace.
    pub checks_per_second: f64,
    /// Mean and p99 of the intervals between two SYNs to the same server.
    pub period_mean: Option<Duration>,
    /// p99 of the same.
    pub period_p99: Option<Duration>,
}

/// A private namespace with nginx listening on every server address.
struct Target {
    ns: String,
    dir: PathBuf,
    nginx: Option<Child>,
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(mut child) = self.nginx.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = cmd::ip(&["netns", "del", &self.ns]);
        if std::env::var_os("KALIVE_LAB_KEEP_LOGS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn server_addr(i: usize) -> String {
    format!("127.1.{}.{}", i / 250, i % 250 + 1)
}

impl Target {
    fn start(servers: usize) -> Result<Target> {
        for program in ["nginx", "taskset", "tcpdump"] {
            if cmd::find_program(program).is_none() {
                return Err(LabError::MissingProgram(
                    program.into(),
                    "apt-get install -y nginx-light util-linux tcpdump",
                ));
            }
        }
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("kl{}ck{n}", std::process::id());
        let dir = std::env::temp_dir().join(&name);
        std::fs::create_dir_all(&dir)
            .map_err(|e| LabError::io(format!("create {}", dir.display()), e))?;
        cmd::ip(&["netns", "add", &name])?;
        let mut target = Target {
            ns: name,
            dir,
            nginx: None,
        };
        cmd::ip_in(&target.ns, &["link", "set", "lo", "up"])?;
        let d = target.dir.display();
        let mut conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\nworker_rlimit_nofile 65536;\n\
             pid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 32768; accept_mutex off; multi_accept on; }}\n\
             http {{\n access_log off;\n keepalive_timeout 0;\n client_body_temp_path {d}/body;\n\
             proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n\
             scgi_temp_path {d}/scgi;\n server {{\n"
        );
        for i in 0..servers {
            let _ = writeln!(conf, "  listen {}:8080 backlog=1024;", server_addr(i));
        }
        conf.push_str("  location = /health { return 200 \"ok\\n\"; }\n }\n}\n");
        let path = target.dir.join("nginx.conf");
        std::fs::write(&path, conf).map_err(|e| LabError::io("write nginx.conf", e))?;
        let child = Command::new("ip")
            .args([
                "netns", "exec", &target.ns, "taskset", "-c", "1", "nginx", "-e",
            ])
            .arg(target.dir.join("error.log"))
            .arg("-p")
            .arg(&target.dir)
            .arg("-c")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| LabError::io("start nginx", e))?;
        target.nginx = Some(child);
        let last = server_addr(servers - 1);
        wait::wait_for(
            "nginx to listen on every server address",
            Duration::from_secs(30),
            Duration::from_millis(200),
            || {
                let text = cmd::exec_in(&target.ns, "ss", &["-Hltn"], None)?;
                Ok(text.contains(&format!("{last}:8080")).then_some(()))
            },
        )?;
        Ok(target)
    }

    fn active_opens(&self) -> Result<u64> {
        let text = cmd::exec_in(&self.ns, "cat", &["/proc/net/snmp"], None)?;
        let mut tcp = text.lines().filter(|l| l.starts_with("Tcp:"));
        let (names, values) = (tcp.next(), tcp.next());
        names
            .zip(values)
            .and_then(|(n, v)| {
                n.split_whitespace()
                    .zip(v.split_whitespace())
                    .find(|(name, _)| *name == "ActiveOpens")
                    .and_then(|(_, value)| value.parse().ok())
            })
            .ok_or_else(|| LabError::Parse {
                what: "/proc/net/snmp".into(),
                detail: "no Tcp ActiveOpens".into(),
            })
    }

    /// Intervals between successive SYNs to the same server during
    /// `duration` (tcpdump on `lo`).
    fn periods(&self, duration: Duration) -> Result<Vec<f64>> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns, "timeout"])
            .arg(duration.as_secs().max(1).to_string())
            .args([
                "tcpdump",
                "-i",
                "lo",
                "-nn",
                "-tt",
                "-q",
                "-l",
                "-B",
                "65536",
                "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn and dst port 8080",
            ])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|e| LabError::io("run tcpdump", e))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut last_seen: std::collections::HashMap<String, f64> = Default::default();
        let mut periods = Vec::new();
        for line in text.lines() {
            // "1733333333.123456 IP 127.0.0.1.40000 > 127.1.0.1.8080: tcp 0"
            let mut words = line.split_whitespace();
            let (Some(at), Some(_), Some(_), Some(_), Some(dst)) = (
                words.next().and_then(|w| w.parse::<f64>().ok()),
                words.next(),
                words.next(),
                words.next(),
                words.next(),
            ) else {
                continue;
            };
            if let Some(previous) = last_seen.insert(dst.to_string(), at) {
                periods.push(at - previous);
            }
        }
        Ok(periods)
    }
}

/// A running checker: kalive (`-C`, checkers only) or HAProxy (`-db`).
enum Checker {
    Kalive(Daemon),
    Haproxy(Child),
}

impl Checker {
    fn pid(&self) -> u32 {
        match self {
            Checker::Kalive(d) => d.pid(),
            Checker::Haproxy(c) => c.id(),
        }
    }

    fn running(&mut self) -> bool {
        match self {
            Checker::Kalive(d) => d.is_running(),
            Checker::Haproxy(c) => matches!(c.try_wait(), Ok(None)),
        }
    }
}

impl Drop for Checker {
    fn drop(&mut self) {
        if let Checker::Haproxy(child) = self {
            let _ = child.kill();
            let _ = child.wait();
        }
        // A Daemon kills its tree on drop.
    }
}

fn kalive_config(servers: usize, probe: Probe) -> String {
    let check = match probe {
        Probe::Tcp => "TCP_CHECK {\n connect_timeout 1\n }".to_string(),
        Probe::Http => {
            "HTTP_GET {\n url {\n path /health\n status_code 200\n }\n connect_timeout 1\n }"
                .to_string()
        }
    };
    let mut text = String::from(
        "virtual_server 10.99.0.1 8080 {\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n",
    );
    for i in 0..servers {
        let _ = writeln!(
            text,
            " real_server {} 8080 {{\n {check}\n }}",
            server_addr(i)
        );
    }
    text.push_str("}\n");
    text
}

fn haproxy_config(servers: usize, probe: Probe) -> String {
    let mut text = String::from(
        "global\n nbthread 1\n maxconn 2000\n\
         defaults\n mode tcp\n timeout connect 1s\n timeout check 1s\n timeout client 10s\n timeout server 10s\n\
         frontend f\n bind 127.0.0.2:9999\n default_backend servers\n\
         backend servers\n",
    );
    if probe == Probe::Http {
        text.push_str(" option httpchk GET /health\n http-check expect status 200\n");
    }
    for i in 0..servers {
        let _ = writeln!(text, " server s{i} {}:8080 check inter 1s", server_addr(i));
    }
    text
}

fn start_checker(
    target: &Target,
    kalive: &Path,
    which: &str,
    servers: usize,
    probe: Probe,
) -> Result<Checker> {
    let config = target.dir.join(format!("{which}-{}.conf", probe.name()));
    let checker = if which == "kalive" {
        std::fs::write(&config, kalive_config(servers, probe))
            .map_err(|e| LabError::io("write kalive config", e))?;
        Checker::Kalive(Daemon::spawn(
            &target.ns,
            "kalive",
            &target.dir,
            DaemonSpec {
                implementation: Implementation::Kalive(kalive.to_path_buf()),
                config,
                extra_args: vec!["-C".into()],
            },
        )?)
    } else {
        std::fs::write(&config, haproxy_config(servers, probe))
            .map_err(|e| LabError::io("write haproxy config", e))?;
        let log = std::fs::File::create(target.dir.join("haproxy.log"))
            .map_err(|e| LabError::io("haproxy log", e))?;
        Checker::Haproxy(
            Command::new("ip")
                .args(["netns", "exec", &target.ns, "haproxy", "-db", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .map_err(|e| LabError::io("start haproxy", e))?,
        )
    };
    // Both on core 0, nginx on core 1 (every thread of the tree).
    let pid = checker.pid().to_string();
    let _ = cmd::run("taskset", &["-a", "-cp", "0", &pid]);
    Ok(checker)
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied()
}

/// Measures one checker at one size and probe.
fn measure_once(
    target: &Target,
    kalive: &Path,
    which: &'static str,
    servers: usize,
    probe: Probe,
    plan: &CheckerPlan,
) -> Result<CheckerRow> {
    let mut checker = start_checker(target, kalive, which, servers, probe)?;
    wait::sleep(plan.settle)?;
    // kalive's checker child is forked after start: pin it too.
    let _ = cmd::run("taskset", &["-a", "-cp", "0", &checker.pid().to_string()]);
    for pid in crate::daemon::descendants_deepest_first(checker.pid() as i32) {
        let _ = cmd::run("taskset", &["-a", "-cp", "0", &pid.to_string()]);
    }
    let (_, cpu_before) = tree_usage(checker.pid());
    let opens_before = target.active_opens()?;
    let started = Instant::now();
    wait::sleep(plan.window)?;
    let (rss_kb, cpu_after) = tree_usage(checker.pid());
    let opens_after = target.active_opens()?;
    let elapsed = started.elapsed().as_secs_f64();
    if !checker.running() {
        let log = match checker {
            Checker::Kalive(ref d) => d.log_text(),
            Checker::Haproxy(_) => {
                std::fs::read_to_string(target.dir.join("haproxy.log")).unwrap_or_default()
            }
        };
        return Err(LabError::Usage(format!(
            "{which} exited during the run:\n{log}"
        )));
    }
    let mut periods = target.periods(plan.capture)?;
    periods.sort_by(f64::total_cmp);
    let mean = (!periods.is_empty()).then(|| periods.iter().sum::<f64>() / periods.len() as f64);
    Ok(CheckerRow {
        checker: which,
        servers,
        probe,
        cpu_percent: (cpu_after - cpu_before) / elapsed * 100.0,
        rss_kb,
        checks_per_second: opens_after.saturating_sub(opens_before) as f64 / elapsed,
        period_mean: mean.map(Duration::from_secs_f64),
        period_p99: percentile(&periods, 0.99).map(Duration::from_secs_f64),
    })
}

/// Runs the plan, printing one row per measurement as it comes and the
/// side-by-side table at the end.
pub fn run(kalive: &Path, plan: &CheckerPlan, out: &mut dyn Write) -> Result<Vec<CheckerRow>> {
    if cmd::find_program("haproxy").is_none() {
        return Err(LabError::MissingProgram(
            "haproxy".into(),
            "apt-get install -y haproxy",
        ));
    }
    let mut rows = Vec::new();
    let _ = writeln!(
        out,
        "checkers at 1 check/server/s (kalive delay_loop 1, HAProxy inter 1s); settle {:?}, window {:?}, SYN capture {:?}; HAProxy's TCP check is half-open, kalive's TCP_CHECK a full connect",
        plan.settle, plan.window, plan.capture
    );
    for &servers in &plan.servers {
        let target = Target::start(servers)?;
        for &probe in &plan.probes {
            for which in ["kalive", "haproxy"] {
                let row = measure_once(&target, kalive, which, servers, probe, plan)?;
                let _ = writeln!(out, "{}", render(&row));
                let _ = out.flush();
                rows.push(row);
            }
        }
    }
    let _ = writeln!(out, "\n{}", table(&rows));
    Ok(rows)
}

fn secs(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.4}", d.as_secs_f64()))
}

fn render(row: &CheckerRow) -> String {
    format!(
        "| {:>6} | {:<4} | {:<7} | {:>6.1} | {:>7.1} | {:>8.0} | {:>7} | {:>7} |",
        row.servers,
        row.probe.name(),
        row.checker,
        row.cpu_percent,
        row.rss_kb as f64 / 1024.0,
        row.checks_per_second,
        secs(row.period_mean),
        secs(row.period_p99),
    )
}

/// The rows as a markdown table.
pub fn table(rows: &[CheckerRow]) -> String {
    let mut text = String::from(
        "|      N | kind | checker |  CPU % | RSS MiB | checks/s | mean s  |  p99 s  |\n|---|---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        text.push_str(&render(row));
        text.push('\n');
    }
    text
}
