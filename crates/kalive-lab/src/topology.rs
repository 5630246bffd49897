//! The lab: a LAN of network namespaces and what runs in them.
//!
//! Everything lives inside namespaces, nothing touches the host: a "switch"
//! namespace holds the bridge (`br0`, and `br1` for a second LAN) and the
//! switch-side veth ends; each router namespace has `eth0` (and `eth1`); the
//! client namespace has `eth0`. Every name starts with a prefix unique to the
//! process and the lab (`kl<pid>x<n>`), and [`Drop`] removes all of it.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use nix::sys::signal::Signal;
use serde::Deserialize;

use crate::cmd;
use crate::daemon::{Daemon, DaemonSpec, Implementation};
use crate::error::{LabError, Result};
use crate::fault::{self, Direction, LossScope};
use crate::observe::{self, IfAddr, Responder};
use crate::record::{Event, Recorder};

static LAB_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Port the name responders listen on in every router.
pub const DEFAULT_RESPONDER_PORT: u16 = 7070;

/// What to build.
#[derive(Clone, Debug)]
pub struct LabSpec {
    /// Number of routers (`r1` … `rN`).
    pub routers: usize,
    /// Also build a second LAN (`eth1` in routers, bridge `br1`).
    pub second_lan: bool,
    /// Record VRRP adverts, GARP and NA on the LANs.
    pub record: bool,
    /// Run a name responder on this TCP port in every router.
    pub responder_port: Option<u16>,
}

impl Default for LabSpec {
    fn default() -> Self {
        LabSpec {
            routers: 3,
            second_lan: false,
            record: true,
            responder_port: Some(DEFAULT_RESPONDER_PORT),
        }
    }
}

/// One namespace attached to the LAN(s).
#[derive(Clone, Debug)]
pub struct Node {
    /// Short name: `r1`, `r2`, …, `c` for the client.
    pub name: String,
    /// Namespace name (`<prefix>-r1`).
    pub ns: String,
    /// Per LAN: interface name, MAC, IPv4 and IPv6 address (both /24, /64).
    pub lans: Vec<Attachment>,
}

/// A node's interface on one LAN.
#[derive(Clone, Debug)]
pub struct Attachment {
    /// Interface in the node (`eth0`, `eth1`).
    pub dev: String,
    /// Its MAC address, `02:6b:6c:LL:00:NN`.
    pub mac: String,
    /// IPv4 address, `10.0.L.N/24`.
    pub ipv4: Ipv4Addr,
    /// IPv6 address, `fd00:0:0:L::N/64` (DAD off).
    pub ipv6: Ipv6Addr,
}

impl Node {
    /// Address on the first LAN.
    pub fn ipv4(&self) -> Ipv4Addr {
        self.lans[0].ipv4
    }

    /// IPv6 address on the first LAN.
    pub fn ipv6(&self) -> Ipv6Addr {
        self.lans[0].ipv6
    }
}

/// IPv4 address of host `host` on LAN `lan` (`10.0.lan.host`).
pub fn lan_ipv4(lan: u8, host: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, lan, host)
}

/// IPv6 address of host `host` on LAN `lan` (`fd00:0:0:lan::host`).
pub fn lan_ipv6(lan: u8, host: u8) -> Ipv6Addr {
    Ipv6Addr::new(0xfd00, 0, 0, u16::from(lan), 0, 0, 0, u16::from(host))
}

/// Host number of the client on every LAN.
pub const CLIENT_HOST: u8 = 100;

/// A running lab. Dropping it kills every daemon by PID and removes every
/// namespace and file it created.
pub struct Lab {
    prefix: String,
    switch_ns: String,
    routers: Vec<Node>,
    client: Option<Node>,
    dir: PathBuf,
    namespaces: Vec<String>,
    daemons: Vec<Option<Daemon>>,
    last_spec: Vec<Option<DaemonSpec>>,
    responders: Vec<Responder>,
    recorder: Option<Recorder>,
    responder_port: Option<u16>,
    config_serial: u32,
}

impl Lab {
    /// Builds the topology of `spec`. On error everything built so far is
    /// removed again.
    pub fn new(spec: LabSpec) -> Result<Lab> {
        cmd::preflight(false)?;
        if spec.routers == 0 || spec.routers > 50 {
            return Err(LabError::Usage(format!(
                "routers must be 1..=50, got {}",
                spec.routers
            )));
        }
        let n = LAB_COUNTER.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("kl{}x{}", std::process::id(), n);
        let dir = std::env::temp_dir().join(&prefix);
        let mut lab = Lab {
            switch_ns: format!("{prefix}-sw"),
            prefix,
            routers: Vec::new(),
            client: None,
            dir,
            namespaces: Vec::new(),
            daemons: Vec::new(),
            last_spec: Vec::new(),
            responders: Vec::new(),
            recorder: None,
            responder_port: spec.responder_port,
            config_serial: 0,
        };
        lab.build(&spec)?;
        Ok(lab)
    }

    fn build(&mut self, spec: &LabSpec) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| LabError::io(format!("create {}", self.dir.display()), e))?;
        let lans: u8 = if spec.second_lan { 2 } else { 1 };
        let switch_ns = self.switch_ns.clone();
        self.add_namespace(&switch_ns)?;
        for lan in 0..lans {
            let bridge = format!("br{lan}");
            cmd::ip_in(
                &switch_ns,
                &[
                    "link",
                    "add",
                    &bridge,
                    "type",
                    "bridge",
                    "stp_state",
                    "0",
                    "forward_delay",
                    "0",
                    "mcast_snooping",
                    "0",
                ],
            )?;
            cmd::ip_in(&switch_ns, &["link", "set", &bridge, "up"])?;
        }
        for index in 0..spec.routers {
            let host = index as u8 + 1;
            let node = self.add_node(&format!("r{host}"), host, lans)?;
            self.routers.push(node);
            self.daemons.push(None);
            self.last_spec.push(None);
        }
        self.client = Some(self.add_node("c", CLIENT_HOST, 1)?);
        if let Some(port) = spec.responder_port {
            for node in &self.routers {
                self.responders
                    .push(Responder::start(&node.ns, &node.name, port)?);
            }
        }
        if spec.record {
            self.recorder = Some(Recorder::start(&self.switch_ns, self.switch_ports()?)?);
        }
        Ok(())
    }

    fn add_namespace(&mut self, ns: &str) -> Result<()> {
        cmd::ip(&["netns", "add", ns])?;
        self.namespaces.push(ns.to_string());
        cmd::ip_in(ns, &["link", "set", "lo", "up"])?;
        // DAD off: addresses are usable at once and tests do not wait for
        // tentative IPv6 addresses (rust-ecosystem.md, Testing).
        cmd::exec_in(
            ns,
            "sysctl",
            &[
                "-q",
                "-w",
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
            ],
            None,
        )?;
        Ok(())
    }

    fn add_node(&mut self, name: &str, host: u8, lans: u8) -> Result<Node> {
        let ns = format!("{}-{name}", self.prefix);
        self.add_namespace(&ns)?;
        let mut node = Node {
            name: name.to_string(),
            ns: ns.clone(),
            lans: Vec::new(),
        };
        for lan in 0..lans {
            let attachment = Attachment {
                dev: format!("eth{lan}"),
                mac: format!("02:6b:6c:{lan:02x}:00:{host:02x}"),
                ipv4: lan_ipv4(lan, host),
                ipv6: lan_ipv6(lan, host),
            };
            self.attach(&ns, &switch_port(name, lan), lan, &attachment)?;
            node.lans.push(attachment);
        }
        Ok(node)
    }

    fn attach(&self, ns: &str, port: &str, lan: u8, at: &Attachment) -> Result<()> {
        let sw = self.switch_ns.as_str();
        let dev = at.dev.as_str();
        cmd::ip_in(
            sw,
            &[
                "link", "add", port, "type", "veth", "peer", "name", dev, "netns", ns,
            ],
        )?;
        cmd::ip_in(sw, &["link", "set", port, "master", &format!("br{lan}")])?;
        cmd::ip_in(sw, &["link", "set", port, "up"])?;
        cmd::ip_in(ns, &["link", "set", dev, "address", &at.mac])?;
        cmd::ip_in(ns, &["addr", "add", &format!("{}/24", at.ipv4), "dev", dev])?;
        cmd::ip_in(
            ns,
            &[
                "addr",
                "add",
                &format!("{}/64", at.ipv6),
                "dev",
                dev,
                "nodad",
            ],
        )?;
        cmd::ip_in(ns, &["link", "set", dev, "up"])?;
        Ok(())
    }

    fn switch_ports(&self) -> Result<HashMap<usize, (String, u8)>> {
        #[derive(Deserialize)]
        struct Link {
            ifindex: usize,
            ifname: String,
        }
        let text = cmd::ip_in(&self.switch_ns, &["-j", "link", "show"])?;
        let links: Vec<Link> = serde_json::from_str(&text).map_err(|e| LabError::Parse {
            what: "ip -j link".into(),
            detail: e.to_string(),
        })?;
        let mut ports = HashMap::new();
        let nodes = self.routers.iter().chain(self.client.as_ref());
        for node in nodes {
            for lan in 0..node.lans.len() as u8 {
                let port = switch_port(&node.name, lan);
                if let Some(link) = links.iter().find(|l| l.ifname == port) {
                    ports.insert(link.ifindex, (node.name.clone(), lan));
                }
            }
        }
        Ok(ports)
    }

    /// The unique prefix of every name this lab created.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Directory holding configs, pid files and daemon logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The switch namespace (bridges and the recorder).
    pub fn switch_ns(&self) -> &str {
        &self.switch_ns
    }

    /// The routers, `r1` first.
    pub fn routers(&self) -> &[Node] {
        &self.routers
    }

    /// Router `index` (0-based: index 0 is `r1`).
    pub fn router(&self, index: usize) -> Result<&Node> {
        self.routers
            .get(index)
            .ok_or_else(|| LabError::Usage(format!("no router with index {index}")))
    }

    /// Index of the router called `name` (`r2` → 1).
    pub fn router_index(&self, name: &str) -> Option<usize> {
        self.routers.iter().position(|n| n.name == name)
    }

    /// The client namespace.
    pub fn client(&self) -> Result<&Node> {
        self.client
            .as_ref()
            .ok_or_else(|| LabError::Usage("lab has no client".into()))
    }

    // ---- daemons ----

    /// Writes `config` and starts `implementation` with it in router `index`.
    /// Returns the daemon's PID.
    pub fn start_daemon(
        &mut self,
        index: usize,
        implementation: &Implementation,
        config: &str,
    ) -> Result<u32> {
        self.start_daemon_with_args(index, implementation, config, &[])
    }

    /// Like [`Lab::start_daemon`] with extra command-line arguments.
    pub fn start_daemon_with_args(
        &mut self,
        index: usize,
        implementation: &Implementation,
        config: &str,
        extra_args: &[&str],
    ) -> Result<u32> {
        let name = self.router(index)?.name.clone();
        self.config_serial += 1;
        let path = self.dir.join(format!("{name}-{}.conf", self.config_serial));
        std::fs::write(&path, config)
            .map_err(|e| LabError::io(format!("write {}", path.display()), e))?;
        let spec = DaemonSpec {
            implementation: implementation.clone(),
            config: path,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        };
        self.spawn(index, spec)
    }

    fn spawn(&mut self, index: usize, spec: DaemonSpec) -> Result<u32> {
        if self.daemon_running(index) {
            return Err(LabError::Usage(format!(
                "a daemon already runs in router index {index}"
            )));
        }
        let node = self.router(index)?;
        let daemon = Daemon::spawn(&node.ns, &node.name, &self.dir, spec.clone())?;
        let pid = daemon.pid();
        self.last_spec[index] = Some(spec);
        self.daemons[index] = Some(daemon);
        Ok(pid)
    }

    /// Starts router `index`'s daemon again with its last config.
    pub fn restart_daemon(&mut self, index: usize) -> Result<u32> {
        let spec = self
            .last_spec
            .get(index)
            .cloned()
            .flatten()
            .ok_or_else(|| LabError::Usage(format!("router index {index} never ran a daemon")))?;
        if let Some(mut old) = self.daemons[index].take() {
            old.kill()?;
        }
        self.spawn(index, spec)
    }

    /// SIGKILL router `index`'s daemon (and its children): a crash.
    pub fn kill_daemon(&mut self, index: usize) -> Result<()> {
        match self.daemons.get_mut(index).and_then(Option::take) {
            Some(mut daemon) => daemon.kill(),
            None => Err(LabError::Usage(format!(
                "no daemon in router index {index}"
            ))),
        }
    }

    /// SIGTERM router `index`'s daemon and wait up to `grace` for it to exit
    /// (then SIGKILL). Returns whether it exited by itself.
    pub fn stop_daemon(&mut self, index: usize, grace: Duration) -> Result<bool> {
        match self.daemons.get_mut(index).and_then(Option::take) {
            Some(mut daemon) => daemon.terminate(grace),
            None => Err(LabError::Usage(format!(
                "no daemon in router index {index}"
            ))),
        }
    }

    /// Sends `signal` to router `index`'s daemon (e.g. SIGHUP to reload).
    pub fn signal_daemon(&self, index: usize, signal: Signal) -> Result<()> {
        match self.daemons.get(index).and_then(Option::as_ref) {
            Some(daemon) => daemon.signal(signal),
            None => Err(LabError::Usage(format!(
                "no daemon in router index {index}"
            ))),
        }
    }

    /// Whether router `index`'s daemon is running.
    pub fn daemon_running(&mut self, index: usize) -> bool {
        self.daemons
            .get_mut(index)
            .and_then(Option::as_mut)
            .is_some_and(Daemon::is_running)
    }

    /// PID of router `index`'s daemon.
    pub fn daemon_pid(&self, index: usize) -> Option<u32> {
        self.daemons.get(index)?.as_ref().map(Daemon::pid)
    }

    /// The config file router `index`'s daemon was last started with (a
    /// test edits it before a SIGHUP, as an operator would).
    pub fn daemon_config(&self, index: usize) -> Option<&Path> {
        self.last_spec
            .get(index)?
            .as_ref()
            .map(|s| s.config.as_path())
    }

    /// Console output of router `index`'s daemons (all runs).
    pub fn daemon_log(&self, index: usize) -> String {
        let Ok(node) = self.router(index) else {
            return String::new();
        };
        std::fs::read_to_string(self.dir.join(format!("{}.log", node.name))).unwrap_or_default()
    }

    /// Every daemon's log, headed by router name (for failure messages).
    pub fn all_logs(&self) -> String {
        let mut text = String::new();
        for (index, node) in self.routers.iter().enumerate() {
            let log = self.daemon_log(index);
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            text.push_str(&format!(
                "==== {} (last {} lines) ====\n",
                node.name,
                tail.len()
            ));
            for line in tail.iter().rev() {
                text.push_str(line);
                text.push('\n');
            }
        }
        text
    }

    // ---- observation ----

    /// Every address router `index` holds.
    pub fn addresses(&self, index: usize) -> Result<Vec<IfAddr>> {
        observe::addresses(&self.router(index)?.ns)
    }

    /// Routes of router `index` (`ip route` lines, both families).
    pub fn routes(&self, index: usize) -> Result<Vec<String>> {
        observe::routes(&self.router(index)?.ns)
    }

    /// Indices of the routers that hold `addr`.
    pub fn holders(&self, addr: IpAddr) -> Result<Vec<usize>> {
        let mut out = Vec::new();
        for index in 0..self.routers.len() {
            if self.addresses(index)?.iter().any(|a| a.addr == addr) {
                out.push(index);
            }
        }
        Ok(out)
    }

    /// Names of the routers that hold `addr`.
    pub fn holder_names(&self, addr: IpAddr) -> Result<Vec<String>> {
        Ok(self
            .holders(addr)?
            .into_iter()
            .map(|i| self.routers[i].name.clone())
            .collect())
    }

    /// Connects from the client to `addr` on the responder port; returns the
    /// name of the router that answered.
    pub fn ask(&self, addr: IpAddr) -> Result<Option<String>> {
        let port = self
            .responder_port
            .ok_or_else(|| LabError::Usage("lab built without responders".into()))?;
        observe::ask(&self.client()?.ns, addr, port, Duration::from_millis(500))
    }

    /// Everything recorded on the LANs so far.
    pub fn events(&self) -> Vec<Event> {
        self.recorder
            .as_ref()
            .map(Recorder::events)
            .unwrap_or_default()
    }

    // ---- faults ----

    /// Sets router `index`'s `eth<lan>` up or down.
    pub fn set_link(&self, index: usize, lan: u8, up: bool) -> Result<()> {
        fault::set_link(&self.router(index)?.ns, &format!("eth{lan}"), up)
    }

    /// Drops `percent` % of router `index`'s traffic in `scope` going
    /// `direction`.
    pub fn set_loss(
        &self,
        index: usize,
        percent: u8,
        scope: LossScope,
        direction: Direction,
    ) -> Result<()> {
        fault::set_loss(&self.router(index)?.ns, percent, scope, direction)
    }

    /// Removes router `index`'s loss rule.
    pub fn clear_loss(&self, index: usize) -> Result<()> {
        fault::clear_loss(&self.router(index)?.ns)
    }

    /// Cuts the LAN between router groups `a` and `b` (both directions,
    /// every LAN): members of one side drop every frame from the other.
    pub fn partition(&self, a: &[usize], b: &[usize]) -> Result<()> {
        self.block_one_way(a, b)?;
        self.block_one_way(b, a)
    }

    fn block_one_way(&self, deaf: &[usize], from: &[usize]) -> Result<()> {
        for &index in deaf {
            let node = self.router(index)?;
            for (lan, attachment) in node.lans.iter().enumerate() {
                let macs: Vec<String> = from
                    .iter()
                    .filter_map(|&j| self.routers.get(j)?.lans.get(lan))
                    .map(|a| a.mac.clone())
                    .collect();
                fault::block_from(&node.ns, &attachment.dev, &macs)?;
            }
        }
        Ok(())
    }

    /// Removes every partition rule.
    pub fn heal(&self) -> Result<()> {
        for node in &self.routers {
            fault::heal(&node.ns)?;
        }
        Ok(())
    }

    // ---- teardown ----

    /// Kills every daemon by PID, stops responders and the recorder, and
    /// deletes every namespace and file. Also done on drop; calling it
    /// explicitly reports errors.
    pub fn shutdown(&mut self) -> Result<()> {
        let mut first_error = None;
        for daemon in self.daemons.iter_mut().filter_map(Option::take) {
            let mut daemon = daemon;
            if let Err(e) = daemon.kill() {
                first_error.get_or_insert(e);
            }
        }
        self.responders.clear();
        self.recorder = None;
        // Routers and client first: deleting the switch would take the veth
        // peers with it anyway, but named routers must go by name.
        for ns in self.namespaces.drain(..).rev() {
            if let Err(e) = cmd::ip(&["netns", "del", &ns]) {
                first_error.get_or_insert(e);
            }
        }
        if self.dir.exists() && std::env::var_os("KALIVE_LAB_KEEP_LOGS").is_none() {
            if let Err(e) = std::fs::remove_dir_all(&self.dir) {
                first_error.get_or_insert(LabError::io("remove lab dir", e));
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            eprintln!("kalive-lab: cleanup of {} incomplete: {e}", self.prefix);
        }
    }
}

fn switch_port(node: &str, lan: u8) -> String {
    if lan == 0 {
        node.to_string()
    } else {
        format!("{node}l{lan}")
    }
}

/// Namespaces whose name starts with `prefix` (to check that a lab left
/// nothing behind).
pub fn namespaces_with_prefix(prefix: &str) -> Result<Vec<String>> {
    let text = cmd::ip(&["netns", "list"])?;
    Ok(text
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| name.starts_with(prefix))
        .map(str::to_string)
        .collect())
}

/// Current wall-clock time, on the clock of the recorder's timestamps.
pub fn now() -> SystemTime {
    SystemTime::now()
}
