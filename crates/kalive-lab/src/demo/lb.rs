//! The demo's load-balancing act: two directors running kalive (VRRP for
//! the VIP, a NAT `virtual_server` with HTTP_GET checks) over three nginx
//! web servers, and a client fetching through the VIP. A web server dies
//! and leaves the rotation, comes back and rejoins; the master director
//! dies and the backup carries on.
//!
//! Topology, all inside namespaces `<prefix>-*`: a switch namespace with
//! bridges `front` (client 10.1.0.100, directors 10.1.0.1-2 on `f0`, VIP
//! 10.1.0.254) and `back` (directors 10.2.0.1-2 on `b0`, gateway VIP
//! 10.2.0.254, web servers 10.2.0.11-13 routing through it).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::cmd;
use crate::daemon::{Daemon, DaemonSpec, Implementation};
use crate::error::{LabError, Result};
use crate::topology::namespaces_with_prefix;
use crate::wait;
use crate::webserver::{self, Nginx};

/// The bundled director configuration, `@ROUTER@` and `@PRIORITY@` filled
/// in per director.
pub const LB_CONFIG: &str = include_str!("lb.conf");
/// The client-facing VIP of the act.
pub const LB_VIP: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 254);
const DIRECTORS: [(&str, u8); 2] = [("d1", 150), ("d2", 100)];
const WEBS: [&str; 3] = ["web1", "web2", "web3"];
/// The client's request period.
const TICK: Duration = Duration::from_millis(300);
/// Longest time any one step may take before the act gives up.
const STEP_LIMIT: Duration = Duration::from_secs(20);

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Figures the act measured.
#[derive(Debug)]
pub struct LbReport {
    /// Who answered the first round, in order of first answer.
    pub first_round: Vec<String>,
    /// From the SIGKILL of web2's nginx to web2 leaving the master's table.
    pub removal: Duration,
    /// Requests that failed between the kill and the removal.
    pub failed_before_removal: usize,
    /// Requests made after the removal until web2 came back.
    pub requests_after_removal: usize,
    /// Of those, how many failed or reached web2 (expected 0).
    pub bad_after_removal: usize,
    /// From web2's nginx restart to web2 answering a client again.
    pub rejoin: Duration,
    /// From the master director's death to the first request served again.
    pub outage: Duration,
    /// Requests that failed during the director failover.
    pub failed_during_failover: usize,
    /// Who answered through the backup director.
    pub served_by_backup: Vec<String>,
}

/// The act's namespaces and processes; dropping it kills every process by
/// PID and deletes every namespace and file.
struct Stage {
    prefix: String,
    dir: PathBuf,
    namespaces: Vec<String>,
    directors: Vec<Option<Daemon>>,
    webs: Vec<Nginx>,
}

impl Stage {
    fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    fn add_ns(&mut self, name: &str) -> Result<String> {
        let ns = self.ns(name);
        cmd::ip(&["netns", "add", &ns])?;
        self.namespaces.push(ns.clone());
        cmd::ip_in(&ns, &["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// A veth from the switch's `bridge` to `dev` in `ns`, addressed.
    fn plug(&self, bridge: &str, port: &str, ns: &str, dev: &str, addr: &str) -> Result<()> {
        let sw = self.ns("sw");
        cmd::ip_in(
            &sw,
            &[
                "link", "add", port, "type", "veth", "peer", "name", dev, "netns", ns,
            ],
        )?;
        cmd::ip_in(&sw, &["link", "set", port, "master", bridge, "up"])?;
        cmd::ip_in(ns, &["addr", "add", addr, "dev", dev])?;
        cmd::ip_in(ns, &["link", "set", dev, "up"])?;
        Ok(())
    }

    fn build(&mut self, implementation: &Implementation) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| LabError::io(format!("create {}", self.dir.display()), e))?;
        let sw = self.add_ns("sw")?;
        for bridge in ["front", "back"] {
            cmd::ip_in(&sw, &["link", "add", bridge, "type", "bridge"])?;
            cmd::ip_in(&sw, &["link", "set", bridge, "up"])?;
        }
        let client = self.add_ns("c")?;
        self.plug("front", "c", &client, "eth0", "10.1.0.100/24")?;
        for (i, name) in WEBS.iter().enumerate() {
            let ns = self.add_ns(name)?;
            let addr = web_addr(i);
            self.plug("back", name, &ns, "eth0", &format!("{addr}/24"))?;
            cmd::ip_in(&ns, &["route", "add", "default", "via", "10.2.0.254"])?;
            let server = Nginx::start(&ns, &self.dir, IpAddr::V4(addr), name)?;
            self.webs.push(server);
        }
        for (i, (name, priority)) in DIRECTORS.iter().enumerate() {
            let ns = self.add_ns(name)?;
            let host = i + 1;
            self.plug(
                "front",
                &format!("{name}f"),
                &ns,
                "f0",
                &format!("10.1.0.{host}/24"),
            )?;
            self.plug(
                "back",
                &format!("{name}b"),
                &ns,
                "b0",
                &format!("10.2.0.{host}/24"),
            )?;
            cmd::exec_in(&ns, "sysctl", &["-qw", "net.ipv4.ip_forward=1"], None)?;
            let config = self.dir.join(format!("{name}.conf"));
            let text = LB_CONFIG
                .replace("@ROUTER@", name)
                .replace("@PRIORITY@", &priority.to_string());
            std::fs::write(&config, text)
                .map_err(|e| LabError::io(format!("write {}", config.display()), e))?;
            let daemon = Daemon::spawn(
                &ns,
                name,
                &self.dir,
                DaemonSpec {
                    implementation: implementation.clone(),
                    config,
                    // In the stage's directory, which goes with the stage:
                    // a SIGKILLed daemon cannot remove its socket file.
                    extra_args: vec![
                        "--control-socket".into(),
                        self.dir.join(format!("{name}.ctl")).display().to_string(),
                    ],
                },
            )?;
            self.directors.push(Some(daemon));
        }
        Ok(())
    }

    /// Which running director holds the VIP. A powered-off director keeps
    /// its addresses on its downed links, but holds nothing anyone can reach.
    fn vip_holder(&self) -> Result<Option<usize>> {
        for (i, (name, _)) in DIRECTORS.iter().enumerate() {
            if self.directors.get(i).is_none_or(Option::is_none) {
                continue;
            }
            let text = cmd::ip_in(&self.ns(name), &["-4", "-o", "addr", "show", "dev", "f0"])?;
            if text.contains(&format!("{LB_VIP}/")) {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }

    /// Web servers in director `index`'s nftables table (none if it has no
    /// table).
    fn rotation(&self, index: usize) -> Vec<&'static str> {
        let text = cmd::exec_in(
            &self.ns(DIRECTORS[index].0),
            "nft",
            &["list", "table", "inet", "kalive"],
            None,
        )
        .unwrap_or_default();
        WEBS.iter()
            .enumerate()
            .filter(|(i, _)| text.contains(&web_addr(*i).to_string()))
            .map(|(_, name)| *name)
            .collect()
    }

    /// Director `index` loses power: its daemon is SIGKILLed (it cannot
    /// remove its VIPs or its table) and its links go down.
    fn power_off(&mut self, index: usize) -> Result<()> {
        if let Some(mut daemon) = self.directors.get_mut(index).and_then(Option::take) {
            daemon.kill()?;
        }
        let ns = self.ns(DIRECTORS[index].0);
        for dev in ["f0", "b0"] {
            cmd::ip_in(&ns, &["link", "set", dev, "down"])?;
        }
        Ok(())
    }

    fn logs(&self) -> String {
        self.directors
            .iter()
            .zip(DIRECTORS)
            .filter_map(|(d, (name, _))| {
                d.as_ref().map(|d| format!("--- {name}\n{}", d.log_text()))
            })
            .collect()
    }

    fn shutdown(&mut self) -> Result<()> {
        let mut first_error = None;
        for daemon in self.directors.iter_mut().filter_map(Option::take) {
            let mut daemon = daemon;
            if let Err(e) = daemon.kill() {
                first_error.get_or_insert(e);
            }
        }
        for mut web in self.webs.drain(..) {
            if let Err(e) = web.kill() {
                first_error.get_or_insert(e);
            }
        }
        for ns in self.namespaces.drain(..).rev() {
            if let Err(e) = cmd::ip(&["netns", "del", &ns]) {
                first_error.get_or_insert(e);
            }
        }
        if self.dir.exists() && std::env::var_os("KALIVE_LAB_KEEP_LOGS").is_none() {
            if let Err(e) = std::fs::remove_dir_all(&self.dir) {
                first_error.get_or_insert(LabError::io("remove demo dir", e));
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            eprintln!("kalive-lab: cleanup of {} incomplete: {e}", self.prefix);
        }
    }
}

fn web_addr(index: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 2, 0, 11 + index as u8)
}

/// One client request: when, and who answered (or why nobody did).
struct Sample {
    at: Instant,
    answer: std::result::Result<String, String>,
}

/// The client loop and its narration: one request per [`TICK`], one line
/// per second.
struct Client<'a> {
    stage: &'a mut Stage,
    started: Instant,
    say: &'a mut dyn FnMut(String),
    samples: Vec<Sample>,
    line: Vec<String>,
    line_started: Instant,
}

impl Client<'_> {
    /// Requests every [`TICK`] until `done` holds, at most [`STEP_LIMIT`];
    /// returns when it held.
    fn until(
        &mut self,
        what: &str,
        mut done: impl FnMut(&Stage, &[Sample]) -> Result<bool>,
    ) -> Result<Instant> {
        let start = Instant::now();
        let client = self.stage.ns("c");
        let target = SocketAddr::new(IpAddr::V4(LB_VIP), 80);
        // Bounded: STEP_LIMIT / TICK requests.
        for _ in 0..=(STEP_LIMIT.as_millis() / TICK.as_millis()) {
            let tick = Instant::now();
            let answer = webserver::http_get(&client, target, Duration::from_millis(500))?;
            self.line.push(match &answer {
                Ok(name) => name.clone(),
                Err(_) => "--".into(),
            });
            self.samples.push(Sample { at: tick, answer });
            let finished = done(&*self.stage, &self.samples)?;
            if finished || self.line_started.elapsed() >= Duration::from_secs(1) {
                self.flush()?;
            }
            if finished {
                return Ok(Instant::now());
            }
            if start.elapsed() >= STEP_LIMIT {
                break;
            }
            wait::sleep(TICK.saturating_sub(tick.elapsed()))?;
        }
        Err(LabError::Timeout {
            what: format!("{what}\n{}", self.stage.logs()),
            waited: STEP_LIMIT,
        })
    }

    /// Prints the answers since the last line, with who holds the VIP and
    /// who is in that director's rotation.
    fn flush(&mut self) -> Result<()> {
        let holder = self.stage.vip_holder()?;
        let rotation = holder.map(|d| self.stage.rotation(d)).unwrap_or_default();
        let line = format!(
            "[{:5.1}s] client -> {LB_VIP}: {:<24} | VIP on: {:<6} | in rotation: {}",
            self.started.elapsed().as_secs_f64(),
            self.line.join(" "),
            holder.map_or("nobody", |d| DIRECTORS[d].0),
            if rotation.is_empty() {
                "-".to_string()
            } else {
                rotation.join(" ")
            }
        );
        (self.say)(line);
        self.line.clear();
        self.line_started = Instant::now();
        Ok(())
    }
}

/// Answers of the last `n` samples.
fn last(samples: &[Sample], n: usize) -> &[Sample] {
    &samples[samples.len().saturating_sub(n)..]
}

fn answered_by_all(samples: &[Sample], names: &[&str]) -> bool {
    names
        .iter()
        .all(|n| samples.iter().any(|s| s.answer.as_deref() == Ok(*n)))
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Runs the act with kalive at `implementation` (its `virtual_server`
/// support is what is shown), writing the narration through `say`.
pub fn run(
    implementation: &Implementation,
    started: Instant,
    say: &mut dyn FnMut(String),
) -> Result<LbReport> {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let prefix = format!("kl{}lb{n}", std::process::id());
    let mut stage = Stage {
        dir: std::env::temp_dir().join(&prefix),
        prefix,
        namespaces: Vec::new(),
        directors: Vec::new(),
        webs: Vec::new(),
    };
    say(format!(
        "--- act 2: load balancing. lab {}: LAN front (client c 10.1.0.100, VIP {LB_VIP}), LAN back (web1-3 10.2.0.11-13 running nginx, each answering its own name, gateway VIP 10.2.0.254); directors d1 and d2 on both",
        stage.prefix
    ));
    say(format!(
        "starting {} in d1 (priority 150) and d2 (100) with the bundled lb.conf: one VRRP sync group for both VIPs, virtual_server {LB_VIP}:80 NAT rr over web1-3, HTTP_GET every second (delay_loop 1, retry 1 after 1 s)",
        implementation.name()
    ));
    stage.build(implementation)?;
    say(format!(
        "every {} ms the client fetches http://{LB_VIP}/ on a new connection; each line: who answered (-- for no answer), which director holds the VIP, and the web servers in its nftables table",
        TICK.as_millis()
    ));
    let report = {
        let mut client = Client {
            stage: &mut stage,
            started,
            say: &mut *say,
            samples: Vec::new(),
            line: Vec::new(),
            line_started: Instant::now(),
        };
        play(&mut client)?
    };
    say(format!(
        "cleaning up act 2: killing kalive and nginx by PID, deleting namespaces {}-*",
        stage.prefix
    ));
    stage.shutdown()?;
    let left = namespaces_with_prefix(&format!("{}-", stage.prefix))?;
    if !left.is_empty() {
        return Err(LabError::Usage(format!("namespaces left behind: {left:?}")));
    }
    Ok(report)
}

fn play(client: &mut Client<'_>) -> Result<LbReport> {
    client.until(
        "d1 to hold the VIP and web1-3 to answer",
        |stage, samples| {
            Ok(stage.vip_holder()? == Some(0) && answered_by_all(last(samples, 3), &WEBS))
        },
    )?;
    let first_round = last(&client.samples, 3)
        .iter()
        .filter_map(|s| s.answer.clone().ok())
        .collect();
    (client.say)("=== served by web1, web2 and web3 in turn (rr) through d1".into());

    // A web server dies.
    let pid = client.stage.webs[1].pid().unwrap_or_default();
    (client.say)(format!(
        ">>> killing web2's nginx with SIGKILL (pid {pid}): connections to it are refused from now on"
    ));
    let killed = Instant::now();
    client.stage.webs[1].kill()?;
    let from = client.samples.len();
    let removed = client.until("web2 to leave d1's table", |stage, _| {
        Ok(!stage.rotation(0).contains(&"web2"))
    })?;
    let removal = removed.duration_since(killed);
    let failed_before_removal = client.samples[from..]
        .iter()
        .filter(|s| s.answer.is_err())
        .count();
    (client.say)(format!(
        "=== web2 left the rotation {:.1} s after its nginx died (worst case delay_loop + retry x (connect_timeout + delay_before_retry) = 3 s); {failed_before_removal} request(s) failed meanwhile",
        secs(removal)
    ));
    let after = client.samples.len();
    client.until("a few rounds without web2", |_, samples| {
        Ok(samples.len() >= after + 8)
    })?;
    let bad = |samples: &[Sample]| {
        samples
            .iter()
            .filter(|s| s.answer.as_deref().map_or(true, |a| a == "web2"))
            .count()
    };
    let bad_after_removal = bad(&client.samples[after..]);
    let requests_after_removal = client.samples.len() - after;
    (client.say)(format!(
        "=== since web2 left: {requests_after_removal} requests, {bad_after_removal} of them failed or reached web2"
    ));

    let restarted = Instant::now();
    (client.say)(">>> starting web2's nginx again".into());
    client.stage.webs[1].restart()?;
    let back = client.until("web2 to answer again", |_, samples| {
        Ok(last(samples, 1)
            .iter()
            .any(|s| s.answer.as_deref() == Ok("web2")))
    })?;
    let rejoin = back.duration_since(restarted);
    (client.say)(format!(
        "=== web2 rejoined: its HTTP_GET passed and it answered a client {:.1} s after its nginx came back",
        secs(rejoin)
    ));
    client.until("a round of web1-3", |_, samples| {
        Ok(answered_by_all(last(samples, 3), &WEBS))
    })?;

    // The master director dies.
    let pid = client.stage.directors[0]
        .as_ref()
        .map(Daemon::pid)
        .unwrap_or_default();
    (client.say)(format!(
        ">>> the master director d1 dies: kalive SIGKILLed (pid {pid}) and its links cut, as if it lost power"
    ));
    let died = Instant::now();
    client.stage.power_off(0)?;
    let from = client.samples.len();
    let served = client.until(
        "d2 to hold the VIP and serve the client",
        |stage, samples| {
            Ok(stage.vip_holder()? == Some(1)
                && samples.len() > from
                && last(samples, 1).iter().all(|s| s.answer.is_ok()))
        },
    )?;
    let outage = client.samples[from..]
        .iter()
        .find(|s| s.answer.is_ok())
        .map_or(served, |s| s.at)
        .duration_since(died);
    let failed_during_failover = client.samples[from..]
        .iter()
        .filter(|s| s.answer.is_err())
        .count();
    let from = client.samples.len();
    client.until("web1-3 to answer through d2", |_, samples| {
        Ok(samples.len() >= from + 3 && answered_by_all(last(samples, 3), &WEBS))
    })?;
    let served_by_backup: Vec<String> = client.samples[from..]
        .iter()
        .filter_map(|s| s.answer.clone().ok())
        .collect();
    (client.say)(format!(
        "=== d2 took over: the client went unanswered for {:.1} s ({failed_during_failover} failed request(s), VRRP master-down interval about 3.6 s) and is served by web1, web2 and web3 through d2",
        secs(outage)
    ));
    Ok(LbReport {
        first_round,
        removal,
        failed_before_removal,
        requests_after_removal,
        bad_after_removal,
        rejoin,
        outage,
        failed_during_failover,
        served_by_backup,
    })
}
