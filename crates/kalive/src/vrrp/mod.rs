//! The VRRP actor (DESIGN.md, Inside the daemon): owns the sans-IO
//! [`Vrrp`] engine and the VRRP sockets, and polls their receive side
//! itself (no hop between a packet and the engine). Netlink changes and
//! GARP/NA frames go to the netlink owner (`crate::net`: a GARP is queued
//! after its VIP and never delays a VIP change); the notify owner runs
//! scripts and FIFOs; the supervisor's requests (reload, dumps, status,
//! switchover, stop) arrive on a bounded channel. Timers are deadlines:
//! the actor sleeps on a timerfd until `poll_timeout()` and acts at once.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kalive_sys::{
    AddrEvent, AddressInfo, LinkEvent, Mode, Monitor, NetEvent, Netlink, ReceiveSet, SysctlSaver,
    VrrpSocket,
};
use kalive_vrrp::{
    Family, Input, InstanceId, NotifyState as EngineNotify, NotifyTarget, Output, Reason,
    ReceivedPacket, State, Timestamp, Vrrp,
};
use kalive_wire::arp::GarpRepr;
use kalive_wire::ndisc::UnsolicitedNa;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::bus::VrrpRequest;
use crate::error::Error;
use crate::net::{ops as netops, Change, Frame, NetHandle};
use crate::notify::{Notification, Notifier, NotifyState, Subject};
use crate::setup::{Plan, VmacPlan};
use crate::timer::PreciseTimer;
use crate::track_process::{self, ProcessStatus};
use crate::track_script::{self, FileValue, ScriptResult};

mod ah;
mod control;
mod dumps;
mod links;
mod reload;

pub use dumps::stats_block;
use dumps::{data_text, json_value, stats_text, write_dump, DumpView, SocketView};
use links::{Iface, Links};

/// Options from the command line that change the actor's behaviour.
#[derive(Debug, Clone, Copy, Default)]
pub struct VrrpOptions {
    /// `-V`: on stop, no priority 0 and leave VIPs/routes/rules (and VMACs).
    pub dont_release_vrrp: bool,
    /// `-a`: log every address change.
    pub address_monitoring: bool,
    /// `-D`: keepalived's detail lines (`(VI_1) setting Virtual Routes`).
    pub log_detail: bool,
}

/// A packet from a receive task, with the interface and family it came on.
struct RxEvent {
    interface: Arc<str>,
    family: Family,
    /// From an `auth_type AH` socket: AH to open before the engine.
    ah: bool,
    at: Instant,
    packet: kalive_sys::RxPacket,
}

pub(crate) fn sys_err(e: kalive_sys::SysError) -> Error {
    Error::Sys(e.to_string())
}

/// Socket key: interface, family, unicast, AH (IP protocol 51).
type SockKey = (String, Family, bool, bool);

/// Everything that lives as long as one config runs.
struct Run {
    plan: Plan,
    vrrp: Vrrp,
    sockets: HashMap<SockKey, Arc<VrrpSocket>>,
    /// Wakes the actor once per batch of received packets (the actor then
    /// reads every socket itself: no task or channel in between).
    rx: ReceiveSet,
    script_tasks: Vec<JoinHandle<()>>,
    vmacs: Vec<(VmacPlan, u32)>,
    sysctls: SysctlSaver,
}

/// The actor.
pub struct VrrpActor {
    options: VrrpOptions,
    origin: Instant,
    /// Link look-ups and VMACs (address, route and rule changes go to the
    /// netlink owner).
    netlink: Netlink,
    links: Links,
    net: NetHandle,
    notifier: Option<Notifier>,
    net_rx: mpsc::UnboundedReceiver<NetEvent>,
    script_tx: mpsc::UnboundedSender<ScriptResult>,
    script_rx: mpsc::UnboundedReceiver<ScriptResult>,
    file_tx: mpsc::UnboundedSender<FileValue>,
    file_rx: mpsc::UnboundedReceiver<FileValue>,
    process_tx: mpsc::Sender<ProcessStatus>,
    process_rx: mpsc::Receiver<ProcessStatus>,
    run: Option<Run>,
    /// When each (instance, interface) last logged a GARP burst.
    garp_logged: HashMap<(u32, String), Instant>,
    /// Log lines about dropped packets, at most one a second per instance
    /// and reason (a flood must not become a log flood).
    drop_log: RateLimit<(Option<InstanceId>, kalive_vrrp::RxDrop)>,
    /// Set while the final stop runs (`-V` then keeps VIPs).
    stopping_flag: bool,
    /// `auth_type AH` sequence numbers per (interface, VRID): the highest
    /// sent or accepted (keepalived keeps one counter for both, so a new
    /// master goes on from the count it heard).
    ah_seq: HashMap<(String, u8), u32>,
    /// A delayed `Input::Start` (vrrp_startup_delay).
    start_at: Option<Instant>,
    /// Buffers of received packets, kept between batches: the packets of
    /// a batch, and payload buffers given back once the engine has seen
    /// them (a busy backup reads 2,000 adverts a second).
    rx_buffers: RxBuffers,
}

/// See [`Driver::rx_buffers`].
#[derive(Default)]
struct RxBuffers {
    batch: Vec<RxEvent>,
    packets: Vec<kalive_sys::RxPacket>,
    spare_payloads: Vec<Vec<u8>>,
}

/// At most this many payload buffers are kept (a flood's worth is freed).
const MAX_SPARE_PAYLOADS: usize = 1024;

impl VrrpActor {
    /// Open netlink and the monitor; nothing is changed yet.
    pub async fn new(options: VrrpOptions, net: NetHandle) -> Result<VrrpActor, Error> {
        let netlink = Netlink::new().map_err(sys_err)?;
        let links = Links::load(&netlink).await?;
        let (net_tx, net_rx) = mpsc::unbounded_channel();
        let monitor = Monitor::subscribe().map_err(sys_err)?;
        tokio::spawn(monitor_task(monitor, net_tx));
        let (script_tx, script_rx) = mpsc::unbounded_channel();
        let (file_tx, file_rx) = mpsc::unbounded_channel();
        let (process_tx, process_rx) = mpsc::channel(track_process::STATUS_QUEUE);
        Ok(VrrpActor {
            options,
            origin: Instant::now(),
            netlink,
            links,
            net,
            notifier: None,
            net_rx,
            script_tx,
            script_rx,
            file_tx,
            file_rx,
            process_tx,
            process_rx,
            run: None,
            garp_logged: HashMap::new(),
            drop_log: RateLimit::new(Duration::from_secs(1), 256),
            stopping_flag: false,
            ah_seq: HashMap::new(),
            start_at: None,
            rx_buffers: RxBuffers::default(),
        })
    }

    fn now(&self) -> Timestamp {
        self.stamp(Instant::now())
    }

    fn stamp(&self, at: Instant) -> Timestamp {
        Timestamp(at.saturating_duration_since(self.origin))
    }

    /// Start running `plan`: VMACs, stale-VIP clean-up, sockets, trackers,
    /// then the engine.
    pub async fn start(&mut self, plan: Plan) -> Result<(), Error> {
        for w in &plan.warnings {
            tracing::warn!("{w}");
        }
        let mut sysctls = SysctlSaver::new();
        let vmacs = self.create_vmacs(&plan, &mut sysctls).await;
        // The monitor reports our own VMAC set-up (down, then up) a moment
        // later; apply those stale events now, before the engine exists, or
        // a new instance would flap through FAULT at start.
        if !vmacs.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        while let Ok(ev) = self.net_rx.try_recv() {
            self.on_net_event(ev);
        }
        self.links = Links::load(&self.netlink).await?;
        let instances = self.prepare_instances(&plan);
        self.remove_leftovers(&plan).await;
        for change in self.statics(&plan) {
            self.net.change(change);
        }
        let sockets = self.open_sockets(&instances);
        let rx = ReceiveSet::new().map_err(sys_err)?;
        for sock in sockets.values() {
            rx.add(sock).map_err(sys_err)?;
        }
        let mut vrrp = Vrrp::new(instances.clone(), plan.sync_groups.clone(), self.now())
            .map_err(|e| Error::Config(e.to_string()))?;
        let now = self.now();
        for name in interfaces_of(&instances) {
            vrrp.handle_input(
                now,
                Input::Link {
                    up: self.links.usable(&name),
                    interface: name,
                },
            );
        }
        let mut script_tasks = track_script::spawn_all(&plan.track_scripts, self.script_tx.clone());
        script_tasks.extend(track_script::spawn_file_watchers(
            &plan.track_files,
            self.file_tx.clone(),
        ));
        script_tasks.extend(self.track_processes(&plan, &mut vrrp));
        match &mut self.notifier {
            Some(n) => n.set_scripts(plan.notify.scripts.clone()),
            None => self.notifier = Some(Notifier::new(plan.notify.clone())),
        }
        // vrrp_startup_delay / vrrp_delay_after_boot (reference §2
        // Startup): nothing starts, and adverts are ignored, until then.
        let delay = plan.startup_delay;
        if delay.is_zero() {
            vrrp.handle_input(self.now(), Input::Start);
            self.start_at = None;
        } else {
            tracing::info!("Delaying startup for {:.1} seconds", delay.as_secs_f64());
            self.start_at = Some(Instant::now() + delay);
        }
        self.run = Some(Run {
            plan,
            vrrp,
            sockets,
            rx,
            script_tasks,
            vmacs,
            sysctls,
        });
        self.carry_out().await;
        Ok(())
    }

    /// Start `track_process` (before `Input::Start`, so that an instance
    /// whose process is missing starts in FAULT rather than flapping): the
    /// first count goes to the engine now, changes arrive on `process_rx`.
    fn track_processes(&mut self, plan: &Plan, vrrp: &mut Vrrp) -> Option<JoinHandle<()>> {
        // Statuses of a previous run's task are stale.
        while self.process_rx.try_recv().is_ok() {}
        match track_process::spawn(&plan.track_processes, self.process_tx.clone()) {
            Ok(Some(track_process::Started { initial, task })) => {
                let now = self.now();
                for ProcessStatus { name, up } in initial {
                    vrrp.handle_input(now, Input::Process { name, up });
                }
                Some(task)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::error!(
                    "track_process will not work (tracked processes count as down): {e}"
                );
                None
            }
        }
    }

    fn on_process_status(&mut self, status: ProcessStatus) {
        // keepalived's words (vrrp_track.c, process_update_track_process_status).
        let word = if status.up { "gained" } else { "lost" };
        tracing::info!("Quorum {word} for tracked process {}", status.name);
        let now = self.now();
        if let Some(run) = &mut self.run {
            run.vrrp.handle_input(
                now,
                Input::Process {
                    name: status.name,
                    up: status.up,
                },
            );
        }
    }

    /// The plan's instances as the engine runs them: the source address
    /// where the config gives none, and the interface index.
    fn prepare_instances(&self, plan: &Plan) -> Vec<kalive_vrrp::InstanceConfig> {
        let vip_set: BTreeSet<IpAddr> = plan
            .instances
            .iter()
            .flat_map(|i| i.vips.iter().chain(&i.excluded_vips).map(|v| v.addr))
            .collect();
        let mut instances = plan.instances.clone();
        for (ic, res) in instances.iter_mut().zip(&plan.resources) {
            if ic.source.is_none() {
                ic.source =
                    self.source_address(&res.base_interface, &ic.interface, ic.family, &vip_set);
            }
            ic.ifindex = self.links.index(&ic.interface);
        }
        instances
    }

    /// keepalived uses the base interface's primary address as the source
    /// of a VMAC instance (a VMAC has no address of its own).
    fn source_address(
        &self,
        base: &str,
        iface: &str,
        family: Family,
        vips: &BTreeSet<IpAddr>,
    ) -> Option<IpAddr> {
        match family {
            Family::V4 => [iface, base]
                .iter()
                .filter_map(|n| self.links.by_name.get(*n))
                .find_map(|i| i.primary_v4(vips))
                .map(IpAddr::V4),
            Family::V6 => [iface, base]
                .iter()
                .filter_map(|n| self.links.by_name.get(*n))
                .find_map(Iface::link_local_v6)
                .map(IpAddr::V6),
        }
    }

    async fn create_vmacs(
        &mut self,
        plan: &Plan,
        sysctls: &mut SysctlSaver,
    ) -> Vec<(VmacPlan, u32)> {
        let mut out = Vec::new();
        for v in plan.resources.iter().filter_map(|r| r.vmac.as_ref()) {
            match self.create_vmac(v, sysctls).await {
                Ok(index) => out.push((v.clone(), index)),
                Err(e) => tracing::error!("Unable to create VMAC {} on {}: {e}", v.name, v.parent),
            }
        }
        out
    }

    async fn create_vmac(&mut self, v: &VmacPlan, sysctls: &mut SysctlSaver) -> Result<u32, Error> {
        // A VMAC left by a crashed run is replaced, not reused: its MAC or
        // parent may differ from the config's.
        if let Ok(old) = self.netlink.link_by_name(&v.name).await {
            let _ = self.netlink.delete_link(old.index).await;
        }
        let parent = self
            .netlink
            .link_by_name(&v.parent)
            .await
            .map_err(sys_err)?;
        let link = self
            .netlink
            .add_vmac(&v.name, parent.index, v.mac)
            .await
            .map_err(sys_err)?;
        if let Err(e) = kalive_sys::sysctl::configure_vmac_v4(sysctls, &v.name, &v.parent) {
            tracing::warn!("VMAC {}: sysctls not set: {e}", v.name);
        }
        self.netlink
            .set_link_up(link.index)
            .await
            .map_err(sys_err)?;
        tracing::info!("(VMAC) {} created on {}", v.name, v.parent);
        Ok(link.index)
    }

    /// VIPs, routes and rules of our config left on our interfaces by a run
    /// that died without cleaning up: we are not MASTER yet, so they must go
    /// (keepalived logs "(VI_1) removing VIPs." at start-up too).
    async fn remove_leftovers(&mut self, plan: &Plan) {
        for (ic, res) in plan.instances.iter().zip(&plan.resources) {
            let mut removed = false;
            // An address owner's VIPs are the router's own addresses
            // (RFC 5798 §1): never strip them at start-up.
            let specs = if ic.is_owner() {
                &[][..]
            } else {
                &res.vips[..]
            };
            for spec in specs.iter().chain(&res.excluded) {
                let dev = spec.dev.clone().unwrap_or_else(|| ic.interface.clone());
                let Some(iface) = self.links.by_name.get(&dev) else {
                    continue;
                };
                let present = iface.addrs.iter().any(|a| a.addr == spec.address.addr);
                if present {
                    removed = true;
                    self.net
                        .change(Change::DelAddress(netops::address(spec, iface.info.index)));
                }
            }
            if removed {
                tracing::info!("({}) removing VIPs.", ic.name);
            }
            for r in &res.routes {
                if let Ok(route) = netops::route(r, &|n| self.links.index(n)) {
                    self.net.change(Change::DelRoute(route));
                }
            }
            for r in &res.rules {
                self.net.change(Change::DelRule(netops::rule(r)));
            }
        }
        self.barrier(Duration::from_secs(2)).await;
    }

    /// The global static addresses, routes and rules of `plan`, as the
    /// changes that add them (the same list, reversed into deletions,
    /// removes them; reload diffs two such lists).
    fn statics(&self, plan: &Plan) -> Vec<Change> {
        let mut out = Vec::new();
        for spec in &plan.static_addresses {
            let dev = spec.dev.as_deref().unwrap_or(&plan.default_interface);
            match self.links.index(dev) {
                Some(ix) => out.push(Change::AddAddress(netops::address(spec, ix))),
                None => tracing::warn!("static address {}: unknown interface {dev}", spec.address),
            }
        }
        for r in &plan.static_routes {
            match netops::route(r, &|n| self.links.index(n)) {
                Ok(route) => out.push(Change::AddRoute(route)),
                Err(e) => tracing::warn!("static route {}: {e}", r.dest),
            }
        }
        for r in &plan.static_rules {
            out.push(Change::AddRule(netops::rule(r)));
        }
        out
    }

    fn open_sockets(
        &self,
        instances: &[kalive_vrrp::InstanceConfig],
    ) -> HashMap<SockKey, Arc<VrrpSocket>> {
        let mut sockets = HashMap::new();
        for ic in instances {
            let key = sock_key(ic);
            if sockets.contains_key(&key) {
                continue;
            }
            // An instance without a socket stays in FAULT (its interface is
            // missing or down); the others run.
            if let Some(sock) = open_socket(ic) {
                sockets.insert(key, Arc::new(sock));
            }
        }
        sockets
    }

    /// An interface (re)appeared: open the sockets its instances lack, or
    /// replace those bound to a previous interface of the same name (a
    /// deleted and re-created VLAN has a new ifindex and lost our joins).
    fn ensure_sockets(&mut self, interface: &str) {
        let Some(index) = self.links.index(interface) else {
            return;
        };
        let Some(run) = &self.run else { return };
        let mut wanted = Vec::new();
        for i in 0..run.vrrp.instance_count() {
            let Some(ic) = run.vrrp.config(InstanceId(i as u32)) else {
                continue;
            };
            if ic.interface != interface {
                continue;
            }
            let key = sock_key(ic);
            let stale = run.sockets.get(&key).is_none_or(|s| s.ifindex() != index);
            if stale && !wanted.iter().any(|(k, _)| *k == key) {
                wanted.push((key, ic.clone()));
            }
        }
        for (key, ic) in wanted {
            let Some(sock) = open_socket(&ic) else {
                continue;
            };
            if let Some(run) = &mut self.run {
                if let Err(e) = run.rx.add(&sock) {
                    tracing::error!("({}) cannot receive on {interface}: {e}", ic.name);
                    continue;
                }
                // The replaced socket leaves the receive set when it closes.
                run.sockets.insert(key, Arc::new(sock));
            }
        }
    }

    /// Wait until the netlink owner has carried out every change queued
    /// so far.
    async fn barrier(&self, limit: Duration) {
        self.net.barrier(limit).await;
    }

    /// The actor loop: returns when the supervisor says stop (or is gone).
    pub async fn run(&mut self, requests: &mut mpsc::Receiver<VrrpRequest>) {
        let timer = match PreciseTimer::new() {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!("no timerfd ({e}); using tokio's millisecond timer");
                None
            }
        };
        // When the timerfd is set to fire. It is re-armed only when the
        // engine's earliest deadline moves *earlier*: a backup's deadline
        // moves later with every advert, and an early wake-up is a harmless
        // no-op, so this saves one timerfd_settime per received packet.
        let mut armed: Option<Instant> = None;
        // Batched reads. While the engine allows a receive slack (a busy
        // backup: at most 20 ms, zero while any instance is master), the
        // sockets are polled once per slack instead of waking the actor for
        // each packet: read everything queued, in arrival order, then again
        // one slack later. A poll that finds nothing new (see
        // `still_arriving`) re-arms the receive set and the actor waits for
        // the next packet. A backup of 200 instances at 0.1 s whose master
        // sends them in one burst wakes twice per burst (its first packet,
        // then the read of all of them): 20 times a second, not 2,000.
        let batch_timer = PreciseTimer::new().ok();
        let mut polling = false;
        loop {
            let deadline = self.run.as_ref().and_then(|r| r.vrrp.poll_timeout());
            let at = deadline.map(|d| self.origin + d.0);
            let sleep_until = match (&timer, at) {
                (Some(t), Some(at)) => {
                    if armed.is_none_or(|armed| at < armed) {
                        t.arm(at.saturating_duration_since(Instant::now()));
                        armed = Some(at);
                    }
                    None
                }
                (Some(_), None) => None,
                (None, at) => at.map(tokio::time::Instant::from_std),
            };
            let timer_armed = armed.is_some();
            let start_at = self.start_at.map(tokio::time::Instant::from_std);
            // Whether this turn was a receive branch (which decides about
            // batching itself).
            let mut receive_turn = false;
            tokio::select! {
                // Packets first: an advert that arrives with the master-down
                // deadline must win over the timer (no spurious takeover);
                // the timer branches also read what is queued before acting.
                biased;
                _ = packets_queued(self.run.as_ref()), if !polling => {
                    receive_turn = true;
                    match self.receive_slack().zip(batch_timer.as_ref()) {
                        Some((slack, batch)) => {
                            batch.arm(slack);
                            polling = true;
                        }
                        None => {
                            self.read_packets();
                            self.rearm_receive();
                        }
                    }
                }
                _ = expired(batch_timer.as_ref()), if polling => {
                    receive_turn = true;
                    let newest = self.read_packets();
                    match self.receive_slack().zip(batch_timer.as_ref()) {
                        Some((slack, batch)) if still_arriving(newest, slack) => batch.arm(slack),
                        _ => {
                            polling = false;
                            self.rearm_receive();
                        }
                    }
                }
                _ = expired(timer.as_ref()), if timer_armed => {
                    armed = None;
                    self.read_packets();
                    let now = self.now();
                    if let Some(run) = &mut self.run { run.vrrp.handle_timeout(now); }
                }
                _ = sleep(sleep_until), if sleep_until.is_some() => {
                    self.read_packets();
                    let now = self.now();
                    if let Some(run) = &mut self.run { run.vrrp.handle_timeout(now); }
                }
                _ = sleep(start_at), if start_at.is_some() => {
                    self.start_at = None;
                    let now = self.now();
                    if let Some(run) = &mut self.run { run.vrrp.handle_input(now, Input::Start); }
                }
                Some(ev) = self.net_rx.recv() => self.on_net_event(ev),
                Some(r) = self.script_rx.recv() => self.on_script_result(r),
                Some(p) = self.process_rx.recv() => self.on_process_status(p),
                Some(f) = self.file_rx.recv() => {
                    let now = self.now();
                    if let Some(run) = &mut self.run {
                        run.vrrp.handle_input(now, Input::FileValue { name: f.name, value: f.value });
                    }
                }
                request = requests.recv() => match request {
                    None | Some(VrrpRequest::Stop) => return,
                    Some(VrrpRequest::Reload { plan, reply }) => {
                        let outcome = self.reload(*plan).await;
                        if reply.send(outcome).is_err() {
                            tracing::debug!("reload requester left");
                        }
                        // Back to waiting for packets. A reload keeps the
                        // sockets that stay, which a batch in progress left
                        // disarmed: without the re-arm they would be read
                        // only when a timer fires, and a backup would hear
                        // a priority-0 advert up to a master-down interval
                        // late.
                        polling = false;
                        self.read_packets();
                        self.rearm_receive();
                    }
                    Some(VrrpRequest::Dump(kind)) => self.dump(kind),
                    Some(VrrpRequest::DumpStatsAndClear) => self.dump_stats(true),
                    Some(VrrpRequest::Switch { switch, reply }) => {
                        let answer = self.switch(switch);
                        if reply.send(answer).is_err() {
                            tracing::debug!("switch requester left");
                        }
                    }
                    Some(VrrpRequest::Status { reply }) => {
                        if reply.send(self.status()).is_err() {
                            tracing::debug!("status requester left");
                        }
                    }
                },
            }
            if polling && !receive_turn && self.receive_slack().is_none() {
                // An instance became master within the batch (or the run
                // ended): a master must hear a better master at once, so
                // stop batching now rather than when the batch timer fires.
                polling = false;
                self.read_packets();
                self.rearm_receive();
            }
            self.carry_out().await;
        }
    }

    /// How long to leave packets queued before reading them; `None` to read
    /// at once (below 2 ms a wait would batch little), or when there is no
    /// batch timer.
    fn receive_slack(&self) -> Option<Duration> {
        let slack = self.run.as_ref()?.vrrp.receive_slack();
        (slack >= Duration::from_millis(2)).then_some(slack)
    }

    /// Read every queued packet of every socket and feed them to the engine
    /// in arrival order, each at its kernel arrival time, handling timers
    /// due before each arrival first: the engine sees what it would have
    /// seen reading each packet the moment it arrived. Returns the arrival
    /// time of the newest packet read, if any.
    fn read_packets(&mut self) -> Option<Instant> {
        /// Per socket and call, so a flood cannot starve timers and signals
        /// (the socket stays readable and is read again next turn).
        const MAX_PER_SOCKET: usize = 4096;
        let run = self.run.as_mut()?;
        let RxBuffers {
            mut batch,
            mut packets,
            mut spare_payloads,
        } = std::mem::take(&mut self.rx_buffers);
        for ((interface, family, _, ah), sock) in &run.sockets {
            let read = sock.try_recv_many(&mut packets, MAX_PER_SOCKET, &mut spare_payloads);
            if let Err(e) = read {
                tracing::debug!("receive on {interface}: {e}");
            }
            if packets.is_empty() {
                continue;
            }
            let interface: Arc<str> = Arc::from(interface.as_str());
            batch.extend(packets.drain(..).map(|packet| RxEvent {
                interface: interface.clone(),
                family: *family,
                ah: *ah,
                at: packet.received_at,
                packet,
            }));
        }
        batch.sort_by_key(|ev| ev.at);
        let newest = batch.last().map(|ev| ev.at);
        for ev in batch.drain(..) {
            let at = self.stamp(ev.at);
            if let Some(run) = &mut self.run {
                // Each call fires everything due by then and re-arms later,
                // so this ends; the bound is a safety net.
                for _ in 0..64 {
                    let Some(due) = run.vrrp.poll_timeout().filter(|due| *due < at) else {
                        break;
                    };
                    run.vrrp.handle_timeout(due);
                }
            }
            let payload = self.on_packet(ev);
            if spare_payloads.len() < MAX_SPARE_PAYLOADS {
                spare_payloads.push(payload);
            }
        }
        self.rx_buffers = RxBuffers {
            batch,
            packets,
            spare_payloads,
        };
        newest
    }

    /// Arm every socket in the receive set again: the next packet (or one
    /// still queued) wakes the actor.
    fn rearm_receive(&self) {
        let Some(run) = &self.run else { return };
        for sock in run.sockets.values() {
            if let Err(e) = run.rx.rearm(sock) {
                tracing::warn!("receive on {}: {e}", sock.ifname());
            }
        }
    }

    /// Feed one received packet to the engine; gives its payload buffer
    /// back for the next read.
    fn on_packet(&mut self, ev: RxEvent) -> Vec<u8> {
        let at = self.stamp(ev.at);
        let mut p = ev.packet;
        if ev.ah {
            match self.open_ah(&ev.interface, &p) {
                Some(vrrp_len) => {
                    p.payload.drain(..ah::AH_LEN);
                    p.ip_total_len = p.ip_header_len + vrrp_len;
                }
                None => return p.payload,
            }
        }
        let Some(run) = &mut self.run else {
            return p.payload;
        };
        let packet = ReceivedPacket {
            interface: ev.interface,
            family: ev.family,
            src: p.src,
            dst: p.dst,
            ttl: p.ttl_or_hoplimit,
            ip_payload_len: match ev.family {
                Family::V4 => u16::try_from(p.ip_total_len.saturating_sub(p.ip_header_len)).ok(),
                Family::V6 => None,
            },
            bytes: p.payload,
        };
        run.vrrp.handle_packet(at, &packet);
        packet.bytes
    }

    /// The next sequence number to send for (interface, VRID).
    fn next_ah_seq(&mut self, interface: &str, vrid: u8) -> u32 {
        let seq = self
            .ah_seq
            .entry((interface.to_string(), vrid))
            .or_insert(0);
        *seq = seq.saturating_add(1);
        *seq
    }

    /// Check a packet from an AH socket: ICV, SPI and sequence number, as
    /// keepalived does before anything else (vrrp.c, vrrp_in_chk_ipsecah).
    /// The VRRP message's length if it may go on to the engine.
    fn open_ah(&mut self, interface: &str, p: &kalive_sys::RxPacket) -> Option<usize> {
        let run = self.run.as_ref()?;
        let vrid = *p.payload.get(ah::AH_LEN + 1)?;
        let (id, res) = (0..run.plan.instances.len()).find_map(|i| {
            let ic = run.vrrp.config(InstanceId(i as u32))?;
            let res = run.plan.resources.get(i)?;
            (ic.interface == interface && ic.vrid == vrid && res.ah_key.is_some())
                .then_some((InstanceId(i as u32), res))
        })?;
        let key = res.ah_key?;
        let unicast = run.vrrp.config(id).is_some_and(|c| c.is_unicast());
        let (IpAddr::V4(src), IpAddr::V4(dst)) = (p.src, p.dst) else {
            return None;
        };
        let name = instance_name(run, id);
        if p.ip_header_len != 20 {
            return None;
        }
        let header = ah::received_header(p.ip_total_len, p.ip_id, p.ttl_or_hoplimit, src, dst)?;
        match ah::open(&header, &p.payload, &key, unicast) {
            Ok((seq, vrrp)) => {
                let vrrp_len = vrrp.len();
                let last = self
                    .ah_seq
                    .entry((interface.to_string(), vrid))
                    .or_insert(0);
                if seq > *last {
                    *last = seq;
                    Some(vrrp_len)
                } else {
                    let last = *last;
                    if self
                        .drop_log
                        .allow((Some(id), kalive_vrrp::RxDrop::AuthFailure), Instant::now())
                    {
                        tracing::info!(
                            "({name}) IPSEC-AH : sequence number {seq} already processed. Packet dropped. Local({last})"
                        );
                    }
                    None
                }
            }
            Err(why) => {
                if self
                    .drop_log
                    .allow((Some(id), kalive_vrrp::RxDrop::AuthFailure), Instant::now())
                {
                    match why {
                        ah::AhDrop::BadIcv => tracing::info!(
                            "({name}) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !"
                        ),
                        other => tracing::info!("({name}) IPSEC-AH : packet from {src} dropped: {other:?}"),
                    }
                }
                None
            }
        }
    }

    fn on_net_event(&mut self, ev: NetEvent) {
        let changed = match ev {
            NetEvent::Link(LinkEvent::Changed(info)) => {
                let name = info.name.clone();
                let before = self.links.usable(&name);
                let entry = self
                    .links
                    .by_name
                    .entry(name.clone())
                    .or_insert_with(|| Iface {
                        info: info.clone(),
                        addrs: Vec::new(),
                    });
                entry.info = info;
                let after = entry.usable();
                (before != after).then_some((name, after))
            }
            NetEvent::Link(LinkEvent::Removed(info)) => {
                let before = self.links.usable(&info.name);
                self.links.by_name.remove(&info.name);
                before.then_some((info.name, false))
            }
            NetEvent::Addr(AddrEvent::Added(a)) => {
                self.log_addr("added", &a);
                if let Some(name) = self.links.name_of(a.ifindex) {
                    if let Some(i) = self.links.by_name.get_mut(&name) {
                        i.addrs.retain(|x| x.addr != a.addr);
                        i.addrs.push(a);
                    }
                }
                None
            }
            NetEvent::Addr(AddrEvent::Removed(a)) => {
                self.log_addr("deleted", &a);
                if let Some(name) = self.links.name_of(a.ifindex) {
                    if let Some(i) = self.links.by_name.get_mut(&name) {
                        i.addrs.retain(|x| x.addr != a.addr);
                    }
                }
                None
            }
            NetEvent::DumpDone => None,
        };
        if let Some((interface, up)) = changed {
            if up {
                self.ensure_sockets(&interface);
            }
            let relevant = self.run.as_ref().is_some_and(|run| {
                (0..run.vrrp.instance_count()).any(|i| {
                    run.vrrp.config(InstanceId(i as u32)).is_some_and(|c| {
                        c.interface == interface
                            || c.track_interfaces.iter().any(|t| t.interface == interface)
                    })
                })
            });
            if relevant {
                let word = if up { "up" } else { "down" };
                tracing::info!("Netlink reports {interface} {word}");
            }
            let now = self.now();
            if let Some(run) = &mut self.run {
                run.vrrp.handle_input(now, Input::Link { interface, up });
            }
        }
    }

    /// One run of a `vrrp_script`; keepalived's `VRRP_Script(NAME)
    /// succeeded` / `failed` when rise/fall turns its verdict
    /// (vrrp_scheduler.c, vrrp_script_child_thread; LOG_INFO).
    fn on_script_result(&mut self, r: ScriptResult) {
        let now = self.now();
        let Some(run) = &mut self.run else { return };
        let before = run.vrrp.script_ok(&r.name);
        let name = r.name.clone();
        run.vrrp.handle_input(
            now,
            Input::ScriptResult {
                name: r.name,
                success: r.success,
            },
        );
        let after = run.vrrp.script_ok(&name);
        if let Some(line) = script_verdict_line(&name, before, after) {
            tracing::info!("{line}");
        }
    }

    fn log_addr(&self, what: &str, a: &AddressInfo) {
        if self.options.address_monitoring {
            let name = self
                .links
                .name_of(a.ifindex)
                .unwrap_or_else(|| a.ifindex.to_string());
            tracing::info!("Netlink reflector reports IP {} {what} on {name}", a.addr);
        }
    }

    /// Carry out every pending output of the engine: adverts first, then
    /// the rest in the engine's order. An advert is what the other routers
    /// time their takeover by, so it leaves before the log lines, netlink
    /// changes and notifications of the same instant (the engine already
    /// puts each advert before its own addresses and GARPs).
    async fn carry_out(&mut self) {
        let Some(run) = self.run.as_mut() else { return };
        let outputs = run.vrrp.drain_outputs();
        let (adverts, rest): (Vec<Output>, Vec<Output>) = outputs
            .into_iter()
            .partition(|out| matches!(out, Output::SendAdvert { .. }));
        for out in adverts.into_iter().chain(rest) {
            self.carry_out_one(out).await;
        }
    }

    async fn carry_out_one(&mut self, out: Output) {
        let Some(run) = &self.run else { return };
        match out {
            Output::SendAdvert {
                instance,
                interface,
                family,
                src,
                dst,
                priority,
                bytes,
            } => {
                let unicast = !dst.is_multicast();
                let ah_key = run
                    .plan
                    .resources
                    .get(instance.0 as usize)
                    .and_then(|r| r.ah_key);
                let key = (interface, family, unicast, ah_key.is_some());
                let Some(sock) = run.sockets.get(&key).cloned() else {
                    tracing::warn!("no VRRP socket for {}", key.0);
                    return;
                };
                let src = src.unwrap_or(match family {
                    Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                });
                let ttl = if unicast {
                    run.plan
                        .resources
                        .get(instance.0 as usize)
                        .map_or(255, |r| r.unicast_ttl)
                } else {
                    255
                };
                let sent = match (ah_key, src, dst) {
                    (Some(secret), IpAddr::V4(src4), IpAddr::V4(dst4)) => {
                        let vrid = bytes.get(1).copied().unwrap_or(0);
                        let seq = self.next_ah_seq(&key.0, vrid);
                        sock.send_v4_sealed(src4, dst4, ttl, ah::AH_LEN + bytes.len(), |ip| {
                            ah::seal(ip, &bytes, &secret, seq, unicast)
                        })
                        .await
                    }
                    _ => sock.send(src, dst, ttl, &bytes).await,
                };
                let Some(run) = &self.run else { return };
                // The instance's name only for a log line: a busy master
                // sends thousands of adverts a second.
                if let Err(e) = sent {
                    let name = instance_name(run, instance);
                    tracing::warn!("({name}) cannot send advert to {dst}: {e}");
                }
                if priority == 0 {
                    let name = instance_name(run, instance);
                    tracing::info!("({name}) sent 0 priority");
                }
            }
            Output::SendGarp {
                instance,
                interface,
                addr,
            } => self.send_frame(instance, &interface, IpAddr::V4(addr)),
            Output::SendNa {
                instance,
                interface,
                addr,
            } => self.send_frame(instance, &interface, IpAddr::V6(addr)),
            Output::AddAddresses {
                instance,
                excluded,
                addresses,
            } => self.addresses(instance, excluded, &addresses, true),
            Output::RemoveAddresses {
                instance,
                excluded,
                addresses,
            } => self.addresses(instance, excluded, &addresses, false),
            Output::AddRoutes { instance, routes } => self.routes(instance, &routes, true),
            Output::RemoveRoutes { instance, routes } => self.routes(instance, &routes, false),
            Output::AddRules { instance, rules } => self.rules(instance, &rules, true),
            Output::RemoveRules { instance, rules } => self.rules(instance, &rules, false),
            Output::Notify {
                target,
                name,
                state,
                priority,
            } => {
                let n = Notification {
                    subject: match target {
                        NotifyTarget::Instance(_) => Subject::Instance,
                        NotifyTarget::Group(_) => Subject::Group,
                    },
                    name,
                    state: notify_state(state),
                    priority,
                };
                if let Some(notifier) = &mut self.notifier {
                    notifier.notify(n);
                }
            }
            Output::StateChanged {
                instance,
                from,
                to,
                reason,
            } => {
                let name = instance_name(run, instance);
                if reason == Reason::HigherPriority && from == State::Master {
                    let seen = run.vrrp.master_seen(instance);
                    if let (Some((addr, prio)), Some(ours)) =
                        (seen, run.vrrp.effective_priority(instance))
                    {
                        tracing::info!(
                            "({name}) Master received advert from {addr} with higher priority {prio}, ours {ours}"
                        );
                    }
                }
                log_state_change(&name, from, to, reason);
            }
            Output::PacketDropped {
                instance,
                src,
                reason,
            } => {
                let name = instance.map(|id| instance_name(run, id));
                let vrid = instance
                    .and_then(|id| run.vrrp.config(id))
                    .map_or(0, |c| c.vrid);
                if self.drop_log.allow((instance, reason), Instant::now()) {
                    log_drop(name.as_deref(), vrid, src, reason);
                }
            }
            Output::PriorityChanged { instance, from, to } => {
                let name = instance_name(run, instance);
                tracing::info!("({name}) Changing effective priority from {from} to {to}");
                if run.plan.priority_change_fifo.contains(&name) {
                    let state = if run.vrrp.state(instance) == Some(State::Master) {
                        NotifyState::MasterPriority
                    } else {
                        NotifyState::BackupPriority
                    };
                    if let Some(notifier) = &mut self.notifier {
                        notifier.notify(Notification {
                            subject: Subject::Instance,
                            name,
                            state,
                            priority: to,
                        });
                    }
                }
            }
        }
    }

    fn send_frame(&mut self, instance: InstanceId, interface: &str, addr: IpAddr) {
        let Some(iface) = self.links.by_name.get(interface) else {
            tracing::warn!("cannot announce {addr}: unknown interface {interface}");
            return;
        };
        let Some(mac) = iface.info.mac else { return };
        let (bytes, what) = match addr {
            IpAddr::V4(ip) => {
                let garp = GarpRepr {
                    sender_mac: mac,
                    ip,
                };
                let mut buf = vec![0u8; garp.buffer_len()];
                if garp.emit_frame(&mut buf).is_err() {
                    return;
                }
                (buf, format!("gratuitous ARP on {interface} for {ip}"))
            }
            IpAddr::V6(target) => {
                let na = UnsolicitedNa {
                    src_mac: mac,
                    target,
                };
                let mut buf = vec![0u8; na.buffer_len()];
                if na.emit_frame(&mut buf).is_err() {
                    return;
                }
                (
                    buf,
                    format!("unsolicited neighbour advert on {interface} for {target}"),
                )
            }
        };
        // One log line per burst, in keepalived's words.
        let key = (instance.0, interface.to_string());
        let now = Instant::now();
        let fresh = self
            .garp_logged
            .get(&key)
            .is_none_or(|t| now.duration_since(*t) > Duration::from_millis(500));
        if fresh {
            if let Some(run) = &self.run {
                let name = instance_name(run, instance);
                let kind = if addr.is_ipv4() {
                    "gratuitous ARPs"
                } else {
                    "unsolicited NAs"
                };
                tracing::info!("({name}) Sending/queueing {kind} on {interface} for {addr}");
            }
        }
        self.garp_logged.insert(key, now);
        // vrrp_garp_interval / vrrp_gna_interval space the frames out.
        let gap = self.run.as_ref().map_or(Duration::ZERO, |r| {
            if addr.is_ipv4() {
                r.plan.garp_interval
            } else {
                r.plan.gna_interval
            }
        });
        // Trace, not debug: under a lower-priority advert flood this runs
        // ~100,000 times a second (most frames are then coalesced), and a
        // line each filled the log channel faster than it drained (bench
        // attack: RSS 16 -> 56 MB under `-D`). The burst line above says it.
        tracing::trace!("Queueing {what}");
        self.net.frame(Frame {
            ifindex: iface.info.index,
            addr,
            bytes,
            gap,
        });
    }

    fn addresses(
        &mut self,
        instance: InstanceId,
        excluded: bool,
        addresses: &[kalive_vrrp::VirtualAddress],
        add: bool,
    ) {
        let Some(run) = &self.run else { return };
        if !add && self.options.dont_release_vrrp && self.stopping() {
            return;
        }
        let name = instance_name(run, instance);
        let Some(res) = run.plan.resources.get(instance.0 as usize) else {
            return;
        };
        let specs = if excluded { &res.excluded } else { &res.vips };
        if !excluded {
            tracing::info!(
                "({name}) {} VIPs.",
                if add { "setting" } else { "removing" }
            );
        }
        for va in addresses {
            let Some(spec) = specs.get(va.key as usize) else {
                continue;
            };
            let Some(ix) = self.links.index(&va.interface) else {
                tracing::warn!(
                    "({name}) cannot set {}: unknown interface {}",
                    va.addr,
                    va.interface
                );
                continue;
            };
            let a = netops::address(spec, ix);
            self.net.change(if add {
                Change::AddAddress(a)
            } else {
                Change::DelAddress(a)
            });
        }
    }

    fn routes(&mut self, instance: InstanceId, handles: &[u32], add: bool) {
        let Some(run) = &self.run else { return };
        if !add && self.options.dont_release_vrrp && self.stopping() {
            return;
        }
        let Some(res) = run.plan.resources.get(instance.0 as usize) else {
            return;
        };
        if self.options.log_detail {
            log_virtual_entries(&instance_name(run, instance), "Routes", add);
        }
        for h in handles {
            let Some(spec) = res.routes.get(*h as usize) else {
                continue;
            };
            match netops::route(spec, &|n| self.links.index(n)) {
                Ok(r) => {
                    self.net.change(if add {
                        Change::AddRoute(r)
                    } else {
                        Change::DelRoute(r)
                    });
                }
                Err(e) => tracing::warn!(
                    "({}) route {}: {e}",
                    instance_name(run, instance),
                    spec.dest
                ),
            }
        }
    }

    fn rules(&mut self, instance: InstanceId, handles: &[u32], add: bool) {
        let Some(run) = &self.run else { return };
        if !add && self.options.dont_release_vrrp && self.stopping() {
            return;
        }
        let Some(res) = run.plan.resources.get(instance.0 as usize) else {
            return;
        };
        if self.options.log_detail {
            log_virtual_entries(&instance_name(run, instance), "Rules", add);
        }
        for h in handles {
            if let Some(spec) = res.rules.get(*h as usize) {
                let r = netops::rule(spec);
                self.net.change(if add {
                    Change::AddRule(r)
                } else {
                    Change::DelRule(r)
                });
            }
        }
    }

    fn stopping(&self) -> bool {
        self.stopping_flag
    }

    /// Stop the current run: engine shutdown (priority 0, VIPs removed,
    /// STOP notifies unless `-V`), then sockets, scripts and VMACs.
    async fn stop_run(&mut self, final_stop: bool) {
        self.stopping_flag = final_stop;
        let now = self.now();
        if let Some(run) = &mut self.run {
            run.vrrp.handle_input(now, Input::Shutdown);
        }
        self.drain_for_stop().await;
        self.barrier(Duration::from_secs(2)).await;
        let Some(mut run) = self.run.take() else {
            return;
        };
        for t in run.script_tasks.drain(..) {
            t.abort();
        }
        if !(final_stop && self.options.dont_release_vrrp) {
            for (v, index) in &run.vmacs {
                if let Err(e) = self.netlink.delete_link(*index).await {
                    tracing::warn!("VMAC {}: {e}", v.name);
                }
            }
            for change in self.statics(&run.plan) {
                self.net.change(undo(change));
            }
            self.barrier(Duration::from_secs(2)).await;
        }
        if let Err(e) = run.sysctls.restore() {
            tracing::warn!("restoring sysctls: {e}");
        }
    }

    async fn drain_for_stop(&mut self) {
        loop {
            let Some(out) = self.run.as_mut().and_then(|r| r.vrrp.poll_output()) else {
                return;
            };
            if self.options.dont_release_vrrp && self.stopping_flag {
                if let Output::SendAdvert { priority: 0, .. } = out {
                    continue;
                }
            }
            self.carry_out_one(out).await;
        }
    }

    /// SIGTERM/SIGINT: stop everything, wait for STOP scripts (bounded).
    pub async fn shutdown(&mut self) {
        tracing::info!("Stopping");
        self.stop_run(true).await;
        if let Some(n) = self.notifier.take() {
            n.shutdown(Duration::from_secs(5)).await;
        }
    }

    fn dump(&mut self, kind: kalive_control::DumpKind) {
        use kalive_control::DumpKind;
        let text = match kind {
            DumpKind::Stats => return self.dump_stats(false),
            DumpKind::Data => self
                .dump_view()
                .map(|view| data_text(&view))
                .unwrap_or_default(),
            DumpKind::Json => {
                let json = self
                    .dump_view()
                    .map(|view| json_value(&view))
                    .unwrap_or(serde_json::Value::Array(vec![]));
                serde_json::to_string_pretty(&json).unwrap_or_default()
            }
        };
        write_dump(kind.path(), &text);
    }

    /// What the data and JSON dumps read, as of now; `None` without a run.
    fn dump_view(&self) -> Option<DumpView<'_>> {
        use std::os::fd::AsRawFd;
        let run = self.run.as_ref()?;
        // Sockets in the order of the first instance using each, as
        // keepalived lists its socket pool.
        let mut sockets: Vec<SocketView> = Vec::new();
        for ic in &run.plan.instances {
            let key = sock_key(ic);
            let Some(sock) = run.sockets.get(&key) else {
                continue;
            };
            if sockets.iter().any(|s| {
                (s.interface.as_str(), s.family, s.unicast) == (key.0.as_str(), key.1, key.2)
            }) {
                continue;
            }
            sockets.push(SocketView {
                interface: key.0,
                family: key.1,
                unicast: key.2,
                fd: sock.as_raw_fd(),
            });
        }
        Some(DumpView {
            vrrp: &run.vrrp,
            plan: &run.plan,
            links: &self.links,
            sockets,
            now: self.now(),
            wall_now: std::time::SystemTime::now(),
        })
    }

    fn dump_stats(&mut self, clear: bool) {
        let text = self
            .run
            .as_ref()
            .map(|r| stats_text(&r.vrrp))
            .unwrap_or_default();
        write_dump(kalive_control::DumpKind::Stats.path(), &text);
        if clear {
            if let Some(run) = &mut self.run {
                for i in 0..run.vrrp.instance_count() {
                    run.vrrp.clear_stats(InstanceId(i as u32));
                }
            }
        }
    }
}

async fn expired(timer: Option<&PreciseTimer>) {
    match timer {
        Some(t) => t.expired().await,
        None => std::future::pending().await,
    }
}

async fn sleep(until: Option<tokio::time::Instant>) {
    match until {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// The change that undoes `change`.
fn undo(change: Change) -> Change {
    match change {
        Change::AddAddress(a) => Change::DelAddress(a),
        Change::DelAddress(a) => Change::AddAddress(a),
        Change::AddRoute(r) => Change::DelRoute(r),
        Change::DelRoute(r) => Change::AddRoute(r),
        Change::AddRule(r) => Change::DelRule(r),
        Change::DelRule(r) => Change::AddRule(r),
    }
}

fn sock_key(ic: &kalive_vrrp::InstanceConfig) -> SockKey {
    (ic.interface.clone(), ic.family, ic.is_unicast(), is_ah(ic))
}

fn is_ah(ic: &kalive_vrrp::InstanceConfig) -> bool {
    ic.family == Family::V4 && ic.authentication == kalive_vrrp::Authentication::Ah
}

/// Receive buffer of a VRRP socket: room for every VRID of an interface to
/// arrive several times over while a batch waits (an advert takes about
/// 1 KiB of buffer in the kernel; the default of about 208 KiB would drop
/// packets once 200 instances burst together).
const RECEIVE_BUFFER: usize = 1 << 20;

fn open_socket(ic: &kalive_vrrp::InstanceConfig) -> Option<VrrpSocket> {
    let unicast = ic.is_unicast();
    let mode = if unicast {
        Mode::Unicast
    } else {
        Mode::Multicast {
            group: ic.multicast_group,
        }
    };
    let options = kalive_sys::SocketOptions {
        receive_buffer: Some(RECEIVE_BUFFER),
        ip_protocol: if is_ah(ic) {
            kalive_sys::IPPROTO_AH
        } else {
            kalive_sys::IPPROTO_VRRP
        },
        // Waited on with the run's ReceiveSet, read in batches.
        wake_on_receive: false,
        ..Default::default()
    };
    let sock = match VrrpSocket::open_with(&ic.interface, sys_family(ic.family), mode, &options) {
        Ok(sock) => sock,
        Err(e) => {
            let (name, ifname) = (&ic.name, &ic.interface);
            tracing::error!("({name}) cannot open a VRRP socket on {ifname}: {e}");
            return None;
        }
    };
    tracing::info!(
        "VRRP sockpool: [ifindex({:3}), family({}), proto({}), {}, address({})]",
        sock.ifindex(),
        if ic.family == Family::V4 {
            "IPv4"
        } else {
            "IPv6"
        },
        if is_ah(ic) { 51 } else { 112 },
        if unicast { "unicast" } else { "multicast" },
        if unicast {
            ic.source.map(|s| s.to_string()).unwrap_or_default()
        } else {
            ic.multicast_group.to_string()
        }
    );
    Some(sock)
}

fn sys_family(f: Family) -> kalive_sys::Family {
    match f {
        Family::V4 => kalive_sys::Family::V4,
        Family::V6 => kalive_sys::Family::V6,
    }
}

fn interfaces_of(instances: &[kalive_vrrp::InstanceConfig]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for ic in instances {
        names.insert(ic.interface.clone());
        for t in &ic.track_interfaces {
            names.insert(t.interface.clone());
        }
    }
    names
}

/// The instance's name from the plan, not the engine: during a reload the
/// outputs the engine retired carry the old plan's ids, and the plan is
/// swapped only after they are carried out.
fn instance_name(run: &Run, id: InstanceId) -> String {
    run.plan
        .instances
        .get(id.0 as usize)
        .map(|c| c.name.clone())
        .unwrap_or_else(|| format!("#{}", id.0))
}

/// The line keepalived logs when a script's verdict turns, if it turned.
fn script_verdict_line(name: &str, before: Option<bool>, after: Option<bool>) -> Option<String> {
    match after {
        Some(ok) if before != after => Some(format!(
            "VRRP_Script({name}) {}",
            if ok { "succeeded" } else { "failed" }
        )),
        _ => None,
    }
}

/// `(VI_1) setting Virtual Routes` / `(VI_1) removing Virtual Rules`:
/// keepalived 2.2.7 prints these only with `-D` (vrrp.c,
/// vrrp_handle_iproutes / vrrp_handle_iprules), at LOG_INFO.
fn log_virtual_entries(name: &str, what: &str, add: bool) {
    tracing::info!("{}", virtual_entries_line(name, what, add));
}

fn virtual_entries_line(name: &str, what: &str, add: bool) -> String {
    let verb = if add { "setting" } else { "removing" };
    format!("({name}) {verb} Virtual {what}")
}

/// keepalived's words for the drops it logs (vrrp.c), ours for the rest.
fn log_drop(name: Option<&str>, vrid: u8, src: IpAddr, reason: kalive_vrrp::RxDrop) {
    use kalive_vrrp::RxDrop;
    let name = name.unwrap_or("-");
    match reason {
        // LOG_INFO in keepalived 2.2.7 (vrrp.c, vrrp_check_packet).
        RxDrop::AuthFailure => tracing::info!("({name}) received an invalid passwd!"),
        RxDrop::AddressList => tracing::info!(
            "({name}) ip address associated with VRID {vrid} not present in MASTER advert from {src}"
        ),
        RxDrop::AuthTypeMismatch | RxDrop::InvalidAuthType => {
            tracing::warn!("({name}) received an advert from {src} with another authentication type")
        }
        other => tracing::debug!("({name}) dropped an advert from {src}: {other:?}"),
    }
}

/// Allows one event per key per `every`; remembers at most `capacity` keys
/// (the oldest are forgotten first), so it stays bounded whatever the keys.
struct RateLimit<K> {
    every: Duration,
    capacity: usize,
    last: std::collections::VecDeque<(K, Instant)>,
}

impl<K: PartialEq> RateLimit<K> {
    fn new(every: Duration, capacity: usize) -> Self {
        RateLimit {
            every,
            capacity,
            last: std::collections::VecDeque::new(),
        }
    }

    fn allow(&mut self, key: K, now: Instant) -> bool {
        if let Some(pos) = self.last.iter().position(|(k, _)| *k == key) {
            if now.duration_since(self.last[pos].1) < self.every {
                return false;
            }
            self.last.remove(pos);
        }
        if self.last.len() >= self.capacity {
            self.last.pop_front();
        }
        self.last.push_back((key, now));
        true
    }
}

fn notify_state(s: EngineNotify) -> NotifyState {
    match s {
        EngineNotify::Master => NotifyState::Master,
        EngineNotify::Backup => NotifyState::Backup,
        EngineNotify::Fault => NotifyState::Fault,
        EngineNotify::Stop => NotifyState::Stop,
        EngineNotify::MasterRxLowerPri => NotifyState::MasterRxLowerPri,
        EngineNotify::Deleted => NotifyState::Deleted,
    }
}

/// keepalived's wording (vrrp.c / vrrp_scheduler.c), e.g.
/// `(VI_1) Entering MASTER STATE`, `(VI_1) Entering BACKUP STATE (init)`.
pub fn state_change_lines(name: &str, from: State, to: State, reason: Reason) -> Vec<String> {
    let mut lines = Vec::new();
    if reason == Reason::MasterDown {
        lines.push(format!("({name}) Receive advertisement timeout"));
    }
    match to {
        State::Master => lines.push(format!("({name}) Entering MASTER STATE")),
        State::Backup if from == State::Init => {
            lines.push(format!("({name}) Entering BACKUP STATE (init)"))
        }
        State::Backup => lines.push(format!("({name}) Entering BACKUP STATE")),
        State::Fault => lines.push(format!("({name}) Entering FAULT STATE")),
        State::Init if reason == Reason::Shutdown => {}
        State::Init => lines.push(format!("({name}) Entering INIT STATE")),
    }
    lines
}

fn log_state_change(name: &str, from: State, to: State, reason: Reason) {
    for line in state_change_lines(name, from, to, reason) {
        tracing::info!("{line}");
    }
}

/// Whether packets are still coming in, so that polling again one slack
/// later will find more: the newest packet of the batch just read arrived
/// within the last half slack. Adverts of many instances often come in
/// bursts (a master sends those due together at once): after reading a
/// burst the stream is quiet, and waiting for its next packet costs one
/// wake-up fewer than a poll that would find nothing.
fn still_arriving(newest: Option<Instant>, slack: Duration) -> bool {
    newest.is_some_and(|at| at.elapsed() < slack / 2)
}

/// Resolves when a socket has packets queued; never without a run.
async fn packets_queued(run: Option<&Run>) {
    let Some(run) = run else {
        return std::future::pending().await;
    };
    if let Err(e) = run.rx.wait().await {
        tracing::warn!("waiting for VRRP packets: {e}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn monitor_task(mut monitor: Monitor, tx: mpsc::UnboundedSender<NetEvent>) {
    while let Some(ev) = monitor.next().await {
        match ev {
            Ok(ev) => {
                if tx.send(ev).is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!("netlink monitor: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_block_has_keepalived_lines() {
        let mut st = kalive_vrrp::Stats {
            advert_rcvd: 7,
            ..Default::default()
        };
        st.count_drop(kalive_vrrp::RxDrop::Ttl);
        st.count_drop(kalive_vrrp::RxDrop::Checksum);
        let text = stats_block("VI_1", &st);
        assert!(text.starts_with("VRRP Instance: VI_1\n  Advertisements:\n    Received: 7\n"));
        assert!(
            text.contains("  Packet Errors:\n    Length: 0\n    TTL: 1\n"),
            "{text}"
        );
        assert!(text.contains("    Checksum: 1\n"), "{text}");
    }

    #[test]
    fn drop_log_is_rate_limited_per_key_and_bounded() {
        let mut limit = RateLimit::new(Duration::from_secs(1), 4);
        let t0 = Instant::now();
        assert!(limit.allow(1, t0));
        assert!(!limit.allow(1, t0 + Duration::from_millis(500)));
        assert!(limit.allow(2, t0 + Duration::from_millis(500)));
        assert!(limit.allow(1, t0 + Duration::from_millis(1001)));
        for k in 10..1000 {
            limit.allow(k, t0);
        }
        assert_eq!(limit.last.len(), 4);
    }

    #[test]
    fn polling_goes_on_only_while_packets_keep_arriving() {
        let slack = Duration::from_millis(20);
        assert!(!still_arriving(None, slack), "nothing read");
        assert!(still_arriving(Some(Instant::now()), slack));
        let burst_ago = Instant::now() - Duration::from_millis(15);
        assert!(
            !still_arriving(Some(burst_ago), slack),
            "a burst that ended"
        );
    }

    #[test]
    fn keepalived_script_and_route_wording() {
        assert_eq!(
            script_verdict_line("chk", None, Some(true)).as_deref(),
            Some("VRRP_Script(chk) succeeded")
        );
        assert_eq!(
            script_verdict_line("chk", Some(true), Some(false)).as_deref(),
            Some("VRRP_Script(chk) failed")
        );
        assert_eq!(script_verdict_line("chk", Some(true), Some(true)), None);
        assert_eq!(script_verdict_line("chk", None, None), None);
        assert_eq!(
            virtual_entries_line("VI_1", "Routes", true),
            "(VI_1) setting Virtual Routes"
        );
        assert_eq!(
            virtual_entries_line("VI_1", "Rules", false),
            "(VI_1) removing Virtual Rules"
        );
    }

    #[test]
    fn keepalived_state_wording() {
        assert_eq!(
            state_change_lines("VI_1", State::Init, State::Backup, Reason::Startup),
            ["(VI_1) Entering BACKUP STATE (init)"]
        );
        assert_eq!(
            state_change_lines("VI_1", State::Backup, State::Master, Reason::MasterDown),
            [
                "(VI_1) Receive advertisement timeout",
                "(VI_1) Entering MASTER STATE"
            ]
        );
        assert_eq!(
            state_change_lines("VI_1", State::Master, State::Fault, Reason::Fault),
            ["(VI_1) Entering FAULT STATE"]
        );
        assert!(
            state_change_lines("VI_1", State::Master, State::Init, Reason::Shutdown).is_empty()
        );
    }
}
