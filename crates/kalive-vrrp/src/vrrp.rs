//! The whole VRRP process: every instance and sync group, driven by inputs
//! and time, producing outputs (quinn-proto style: nothing here reads a
//! clock or does I/O).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use crate::codec::{self, Advert};
use crate::config::{Family, InitialState, InstanceConfig, SyncGroupConfig, Version};
use crate::error::Error;
use crate::instance::{Instance, TimerKind};
use crate::io::{
    Command, GroupId, Input, InstanceId, NotifyState, NotifyTarget, Output, Reason, ReceivedPacket,
    State,
};
use crate::stats::{RxDrop, Stats};
use crate::table::InstanceTable;
use crate::time::Timestamp;
use crate::track::{assess, World};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Created; waiting for [`Input::Start`].
    Created,
    Running,
    /// After [`Input::Shutdown`]: everything is ignored.
    Stopped,
}

#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub config: SyncGroupConfig,
    pub members: Vec<usize>,
    /// The group state last notified.
    pub notified: State,
}

/// The VRRP engine: all instances and sync groups of one daemon.
///
/// Feed it [`Input`]s with [`Vrrp::handle_input`], call
/// [`Vrrp::handle_timeout`] when [`Vrrp::poll_timeout`] is due, and carry
/// out what [`Vrrp::poll_output`] returns.
#[derive(Debug, Clone)]
pub struct Vrrp {
    pub(crate) instances: InstanceTable,
    pub(crate) groups: Vec<Group>,
    pub(crate) world: World,
    pub(crate) outputs: VecDeque<Output>,
    pub(crate) phase: Phase,
    unknown_vrid: u64,
    /// Instances by (VRID, family), in config order: a received advert's
    /// candidates without scanning every instance.
    pub(crate) by_vrid: HashMap<(u8, Family), Vec<usize>>,
    /// The `now` of the call being handled (for [`Vrrp::last_transition`]).
    pub(crate) clock: Timestamp,
    /// (instance, reason) of the [`Output::PacketDropped`] already queued
    /// since the queue was last emptied: a flood of bad packets adds one
    /// output per instance and reason, not one per packet.
    reported_drops: HashSet<(Option<InstanceId>, RxDrop)>,
}

fn validate_config(config: &InstanceConfig) -> Result<(), Error> {
    let name = || config.name.clone();
    if config.vrid == 0 {
        return Err(Error::BadVrid(name()));
    }
    if config.priority == 0 {
        return Err(Error::BadPriority(name()));
    }
    if config.family == Family::V6 && config.version == Version::V2 {
        return Err(Error::V2OverIpv6(name()));
    }
    let interval_ok = match config.version {
        Version::V2 => {
            config.advert_interval >= Duration::from_millis(500)
                && config.advert_interval < Duration::from_millis(255_500)
        }
        Version::V3 => {
            config.advert_interval >= Duration::from_millis(10)
                && config.advert_interval <= Duration::from_millis(40_950)
        }
    };
    if !interval_ok {
        return Err(Error::BadInterval(name()));
    }
    let wrong_family = config
        .vips
        .iter()
        .any(|v| Family::of(&v.addr) != config.family);
    if wrong_family || config.vips.len() > 255 {
        return Err(Error::BadVips(name()));
    }
    if !(1..=100).contains(&config.down_timer_adverts) {
        return Err(Error::BadDownTimerAdverts(name()));
    }
    Ok(())
}

/// Validated instances (INIT, ids = positions) and their sync groups: what
/// [`Vrrp::new`] and [`Vrrp::reconfigure`] start from.
pub(crate) fn build(
    configs: Vec<InstanceConfig>,
    sync_groups: Vec<SyncGroupConfig>,
) -> Result<(Vec<Instance>, Vec<Group>), Error> {
    let mut names = std::collections::BTreeSet::new();
    for config in &configs {
        validate_config(config)?;
        if !names.insert(config.name.clone()) {
            return Err(Error::DuplicateInstance(config.name.clone()));
        }
    }
    let mut instances: Vec<Instance> = configs
        .into_iter()
        .enumerate()
        .map(|(i, c)| Instance::new(instance_id(i), c))
        .collect();
    let mut groups = Vec::new();
    for (g, config) in sync_groups.into_iter().enumerate() {
        let mut members = Vec::new();
        for member in &config.members {
            let idx = instances
                .iter()
                .position(|i| &i.config.name == member)
                .ok_or_else(|| Error::UnknownMember {
                    group: config.name.clone(),
                    instance: member.clone(),
                })?;
            if instances[idx].group.is_some() {
                return Err(Error::InTwoGroups(member.clone()));
            }
            instances[idx].group = Some(g);
            members.push(idx);
        }
        groups.push(Group {
            config,
            members,
            notified: State::Init,
        });
    }
    Ok((instances, groups))
}

/// Instances by (VRID, family), in config order.
pub(crate) fn index_by_vrid(instances: &[Instance]) -> HashMap<(u8, Family), Vec<usize>> {
    let mut by_vrid: HashMap<(u8, Family), Vec<usize>> = HashMap::new();
    for (idx, instance) in instances.iter().enumerate() {
        by_vrid
            .entry((instance.config.vrid, instance.family()))
            .or_default()
            .push(idx);
    }
    by_vrid
}

/// The id of the instance at `idx`.
pub(crate) fn instance_id(idx: usize) -> InstanceId {
    InstanceId(u32::try_from(idx).unwrap_or(u32::MAX))
}

impl Vrrp {
    /// Build the engine; instances start in INIT until [`Input::Start`].
    /// Feed link and tracker states before starting (links are assumed up,
    /// processes down, scripts initialising, files at their initial value).
    pub fn new(
        configs: Vec<InstanceConfig>,
        sync_groups: Vec<SyncGroupConfig>,
        now: Timestamp,
    ) -> Result<Vrrp, Error> {
        let world = World::new(&configs);
        let (instances, groups) = build(configs, sync_groups)?;
        let mut vrrp = Vrrp {
            by_vrid: index_by_vrid(&instances),
            instances: InstanceTable::new(instances),
            groups,
            world,
            outputs: VecDeque::new(),
            phase: Phase::Created,
            unknown_vrid: 0,
            clock: now,
            reported_drops: HashSet::new(),
        };
        vrrp.reassess_priorities();
        vrrp.instances.sync();
        Ok(vrrp)
    }

    // ----- public accessors -------------------------------------------------

    /// Number of instances.
    pub fn instance_count(&self) -> usize {
        self.instances.len()
    }

    /// The id of the instance called `name`.
    pub fn instance_id(&self, name: &str) -> Option<InstanceId> {
        self.instances
            .iter()
            .find(|i| i.config.name == name)
            .map(|i| i.id)
    }

    /// The id of the sync group called `name`.
    pub fn group_id(&self, name: &str) -> Option<GroupId> {
        self.groups
            .iter()
            .position(|g| g.config.name == name)
            .map(|g| GroupId(u32::try_from(g).unwrap_or(u32::MAX)))
    }

    fn get(&self, id: InstanceId) -> Option<&Instance> {
        self.instances.get(id.0 as usize)
    }

    /// An instance's configuration.
    pub fn config(&self, id: InstanceId) -> Option<&InstanceConfig> {
        self.get(id).map(|i| &i.config)
    }

    /// An instance's current state.
    pub fn state(&self, id: InstanceId) -> Option<State> {
        self.get(id).map(|i| i.state)
    }

    /// An instance's effective priority (base ± tracker weights, or the
    /// Promote/Demote override).
    pub fn effective_priority(&self, id: InstanceId) -> Option<u8> {
        self.get(id).map(Instance::priority)
    }

    /// The Promote/Demote override an instance holds ([`Command`]).
    pub fn priority_override(&self, id: InstanceId) -> Option<u8> {
        self.get(id).and_then(|i| i.priority_override)
    }

    /// The base priority trackers apply to: the configured `priority`, or
    /// 254 for an owner that met a second owner (overrides aside).
    pub fn base_priority(&self, id: InstanceId) -> Option<u8> {
        self.get(id).map(Instance::base_priority)
    }

    /// When an instance's state last changed, the state it left and why;
    /// `None` before its first transition. Kept across
    /// [`Vrrp::reconfigure`] for a matched instance.
    pub fn last_transition(&self, id: InstanceId) -> Option<(Timestamp, State, Reason)> {
        self.get(id).and_then(|i| i.last_transition)
    }

    /// An instance's current Master_Adver_Interval (v3 backups learn it).
    pub fn master_adver_interval(&self, id: InstanceId) -> Option<Duration> {
        self.get(id).map(|i| i.master_adver_interval)
    }

    /// An instance's pending advert or master-down deadline (keepalived's
    /// "Read timeout" in its data dump); `None` while it has none (INIT,
    /// FAULT).
    pub fn timer(&self, id: InstanceId) -> Option<Timestamp> {
        self.get(id).and_then(|i| i.timer)
    }

    /// An instance's Master_Down_Interval as of now (RFC 5798 §6.1, with
    /// `down_timer_adverts`).
    pub fn master_down_interval(&self, id: InstanceId) -> Option<Duration> {
        self.get(id).map(Instance::master_down_interval)
    }

    /// keepalived's `wantstate == MASTER`: the instance would be MASTER
    /// but for a sync-group hold (reference §2).
    pub fn wants_master(&self, id: InstanceId) -> Option<bool> {
        self.get(id).map(|i| i.want_master)
    }

    /// Whether an instance's own fault flags are set (its interface or a
    /// weight-0 tracker is down).
    pub fn faulted(&self, id: InstanceId) -> Option<bool> {
        self.get(id).map(|i| i.faulted)
    }

    /// A tracked script's verdict after rise/fall: `Some(true)` OK,
    /// `Some(false)` KO, `None` before its first result (or for a script no
    /// instance tracks). The daemon compares it around an
    /// [`Input::ScriptResult`] to log keepalived's `VRRP_Script(NAME)
    /// succeeded` / `failed` at the transition.
    pub fn script_ok(&self, name: &str) -> Option<bool> {
        match self.world.scripts.get(name)?.status() {
            crate::track::ScriptStatus::Init => None,
            crate::track::ScriptStatus::Good => Some(true),
            crate::track::ScriptStatus::Bad => Some(false),
        }
    }

    /// A tracked file's last value read (its initial value before that).
    pub fn file_value(&self, name: &str) -> Option<i64> {
        self.world.files.get(name).copied()
    }

    /// An instance's counters.
    pub fn stats(&self, id: InstanceId) -> Option<&Stats> {
        self.get(id).map(|i| &i.stats)
    }

    /// Address and priority of the router whose advert this instance last
    /// accepted (keepalived's "Master router" / "Master priority" in its
    /// data dump); `None` until one arrives.
    pub fn master_seen(&self, id: InstanceId) -> Option<(IpAddr, u8)> {
        self.get(id).and_then(|i| i.master_seen)
    }

    /// Reset an instance's counters (keepalived clears them on
    /// SIGRTMAX−1 after dumping).
    pub fn clear_stats(&mut self, id: InstanceId) {
        if let Some(inst) = self.instances.get_mut(id.0 as usize) {
            inst.stats = Stats::default();
        }
        self.instances.sync();
    }

    /// A sync group's state as last notified.
    pub fn group_state(&self, id: GroupId) -> Option<State> {
        self.groups.get(id.0 as usize).map(|g| g.notified)
    }

    /// Packets for a VRID (or interface/family) no instance has.
    pub fn unknown_vrid_count(&self) -> u64 {
        self.unknown_vrid
    }

    /// The next output to carry out.
    pub fn poll_output(&mut self) -> Option<Output> {
        let next = self.outputs.pop_front();
        if next.is_none() {
            self.reported_drops.clear();
        }
        next
    }

    /// All pending outputs, in order.
    pub fn drain_outputs(&mut self) -> Vec<Output> {
        self.reported_drops.clear();
        self.outputs.drain(..).collect()
    }

    /// The earliest deadline at which [`Vrrp::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if self.phase != Phase::Running {
            return None;
        }
        self.instances.earliest().map(|(at, _)| at)
    }

    /// How long a caller may leave received adverts queued (each stamped
    /// with its arrival time, fed in arrival order, and all fed before a
    /// due timer is handled) without changing what the engine does or when:
    /// zero with any master, else half the smallest backup skew, at most
    /// [`Vrrp::MAX_RECEIVE_SLACK`] (the rules and their RFC sections are at
    /// `table::receive_slack`). A caller that reads in batches wakes up
    /// less often.
    pub fn receive_slack(&self) -> Duration {
        if self.phase != Phase::Running {
            return Duration::ZERO;
        }
        self.instances.receive_slack()
    }

    /// Upper bound of [`Vrrp::receive_slack`]: also bounds how long a
    /// backup's statistics and master address lag behind the wire.
    pub const MAX_RECEIVE_SLACK: Duration = crate::table::MAX_RECEIVE_SLACK;

    // ----- driving ----------------------------------------------------------

    /// React to a received packet: the same as
    /// `handle_input(now, Input::Packet(packet))`, without taking the
    /// packet, so a caller can reuse its buffer for the next one.
    pub fn handle_packet(&mut self, now: Timestamp, packet: &ReceivedPacket) {
        if self.phase == Phase::Stopped {
            return;
        }
        self.clock = now;
        self.on_packet(now, packet);
        self.notify_group_changes();
        self.instances.sync();
    }

    /// React to `input` received at `now`.
    pub fn handle_input(&mut self, now: Timestamp, input: Input) {
        if self.phase == Phase::Stopped {
            return;
        }
        self.clock = now;
        match input {
            Input::Start => self.start(now),
            Input::Packet(packet) => return self.handle_packet(now, &packet),
            Input::Link { interface, up } => {
                self.world.links.insert(interface, up);
                self.trackers_changed(now);
            }
            Input::ScriptResult { name, success } => {
                if let Some(script) = self.world.scripts.get_mut(&name) {
                    script.record(success);
                    self.trackers_changed(now);
                }
            }
            Input::FileValue { name, value } => {
                self.world.files.insert(name, value);
                self.trackers_changed(now);
            }
            Input::Process { name, up } => {
                self.world.processes.insert(name, up);
                self.trackers_changed(now);
            }
            Input::Shutdown => self.shutdown(),
            Input::Command(command) => self.on_command(now, command),
        }
        self.notify_group_changes();
        self.instances.sync();
    }

    /// Run every timer due at or before `now`. A call with nothing due is a
    /// no-op.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.phase != Phase::Running {
            return;
        }
        self.clock = now;
        // Each firing re-arms from `now` (strictly later) or disarms, so every
        // timer fires at most once per call; the bound is only a safety net.
        let bound = self.instances.len() * 8 + 8;
        for _ in 0..bound {
            let Some((at, idx)) = self.instances.earliest() else {
                break;
            };
            let Some((_, kind)) = self.instances[idx].next_timer() else {
                break;
            };
            if at > now {
                break;
            }
            self.fire(idx, kind, now);
            self.instances.sync();
        }
        self.notify_group_changes();
        self.instances.sync();
    }

    /// Fault flags and effective priorities from the trackers, without a
    /// `PriorityChanged` (a stopped engine reports nothing).
    pub(crate) fn settle_priorities_silently(&mut self) {
        for idx in 0..self.instances.len() {
            let (fault, effective) = assessed(&self.instances[idx], &self.world);
            let inst = self.instances.at_mut(idx);
            inst.faulted = fault;
            inst.effective_priority = effective;
        }
    }

    pub(crate) fn push(&mut self, output: Output) {
        self.outputs.push_back(output);
    }

    /// Queue a [`Output::PacketDropped`] unless one for the same instance
    /// and reason is already waiting (the queue stays bounded under a
    /// flood; the counters count every packet).
    fn report_drop(&mut self, instance: Option<InstanceId>, src: IpAddr, reason: RxDrop) {
        if self.reported_drops.insert((instance, reason)) {
            self.push(Output::PacketDropped {
                instance,
                src,
                reason,
            });
        }
    }

    /// Record and announce a state change of `idx` (the caller sets the
    /// state).
    pub(crate) fn state_changed(&mut self, idx: usize, from: State, to: State, reason: Reason) {
        let at = self.clock;
        let inst = self.instances.at_mut(idx);
        inst.last_transition = Some((at, from, reason));
        let id = inst.id;
        self.push(Output::StateChanged {
            instance: id,
            from,
            to,
            reason,
        });
    }

    pub(crate) fn push_all(&mut self, outputs: Vec<Output>) {
        self.outputs.extend(outputs);
    }

    // ----- start, stop, commands -------------------------------------------

    /// Startup (reference §2 "Startup", `vrrp_init_state`): BACKUP with the
    /// master-down timer, FAULT if a tracker is down, and an address owner
    /// straight to MASTER (RFC 5798 §6.4.1).
    fn start(&mut self, now: Timestamp) {
        if self.phase != Phase::Created {
            return;
        }
        self.phase = Phase::Running;
        self.reassess_priorities();
        for idx in 0..self.instances.len() {
            self.start_instance(idx, now);
        }
    }

    /// One instance leaves INIT (at start-up, or when a reload adds it).
    pub(crate) fn start_instance(&mut self, idx: usize, now: Timestamp) {
        if self.group_faulted(idx) {
            self.enter_fault(idx, Reason::Startup);
        } else if self.instances[idx].is_owner() && self.instances[idx].group.is_none() {
            self.goto_master(idx, now, Reason::Owner);
        } else {
            self.enter_backup(idx, now, Reason::Startup, None);
            self.start_preempt_delay(idx, now);
            if self.instances[idx].is_owner() {
                // An owner in a sync group asks the group at once.
                self.instances.at_mut(idx).timer = Some(now);
            }
        }
    }

    /// Shutdown (reference §2 "Shutdown"): every MASTER resigns with a
    /// priority-0 advert (RFC 5798 §6.4.3 "If a Shutdown event is received")
    /// and removes its addresses; every instance and group notifies STOP.
    fn shutdown(&mut self) {
        if self.phase == Phase::Running {
            for idx in 0..self.instances.len() {
                self.stand_down(idx, State::Init, Reason::Shutdown, NotifyState::Stop);
            }
            for g in 0..self.groups.len() {
                self.groups[g].notified = State::Init;
                let name = self.groups[g].config.name.clone();
                self.push(Output::Notify {
                    target: NotifyTarget::Group(GroupId(u32::try_from(g).unwrap_or(u32::MAX))),
                    name,
                    state: NotifyState::Stop,
                    priority: 0,
                });
            }
        }
        self.phase = Phase::Stopped;
    }

    fn on_command(&mut self, now: Timestamp, command: Command) {
        match command {
            Command::ForceBackup(id) => {
                let idx = id.0 as usize;
                if self.phase == Phase::Running
                    && self.instances.get(idx).map(|i| i.state) == Some(State::Master)
                {
                    // Resign like a shutdown so a backup takes over at its
                    // skew time (RFC 5798 §6.4.2 priority-0 rule).
                    let adverts = self.instances.at_mut(idx).adverts(0);
                    self.push_all(adverts);
                    self.enter_backup(idx, now, Reason::Command, None);
                    self.sync_backup(idx, now);
                }
            }
            Command::Promote(id) => self.promote(id.0 as usize, now),
            Command::Demote(id) => self.demote(id.0 as usize, now),
            Command::Clear(id) => {
                let Some(members) = self.members_of(id.0 as usize) else {
                    return;
                };
                for m in members {
                    self.instances.at_mut(m).priority_override = None;
                }
                self.reassess_priorities();
            }
        }
    }

    /// `idx` and the other members of its sync group (`idx` first), or
    /// `None` for an unknown instance.
    fn members_of(&self, idx: usize) -> Option<Vec<usize>> {
        let inst = self.instances.get(idx)?;
        let mut members = vec![idx];
        if let Some(g) = inst.group {
            members.extend(self.groups[g].members.iter().filter(|&&m| m != idx));
        }
        Some(members)
    }

    /// [`Command::Promote`]. VRRP itself only lets a backup take over when
    /// the master-down timer fires (RFC 5798 §6.4.2); an operator's
    /// switchover must not wait for the master to fail, and `nopreempt` on
    /// either side must not stop it. So the instance (and its sync group)
    /// becomes MASTER at once — advert, addresses, GARPs, as on any
    /// takeover — with priority 254: the old master receives that higher
    /// priority and steps down by RFC 5798 §6.4.3, a keepalived one too.
    /// The override stays, so the old master (at ≤ 254 unless an owner)
    /// does not take back over.
    fn promote(&mut self, idx: usize, now: Timestamp) {
        let Some(members) = self.members_of(idx) else {
            return;
        };
        for &m in &members {
            let inst = self.instances.at_mut(m);
            inst.priority_override = Some(inst.promote_priority());
        }
        self.reassess_priorities();
        if self.phase != Phase::Running {
            return;
        }
        for (k, &m) in members.iter().enumerate() {
            if self.instances[m].state == State::Backup {
                let reason = if k == 0 {
                    Reason::Command
                } else {
                    Reason::SyncGroup
                };
                self.goto_master(m, now, reason);
            }
        }
    }

    /// [`Command::Demote`]: priority 1 from now on; a MASTER resigns with a
    /// priority-0 advert (a backup takes over at its skew time, RFC 5798
    /// §6.4.2) and goes BACKUP, its sync group following.
    fn demote(&mut self, idx: usize, now: Timestamp) {
        let Some(members) = self.members_of(idx) else {
            return;
        };
        for &m in &members {
            self.instances.at_mut(m).priority_override = Some(1);
        }
        self.reassess_priorities();
        if self.phase != Phase::Running {
            return;
        }
        for (k, &m) in members.iter().enumerate() {
            if self.instances[m].state == State::Master {
                let adverts = self.instances.at_mut(m).adverts(0);
                self.push_all(adverts);
                let reason = if k == 0 {
                    Reason::Command
                } else {
                    Reason::SyncGroup
                };
                self.enter_backup(m, now, reason, None);
            }
        }
    }

    // ----- timers -----------------------------------------------------------

    fn fire(&mut self, idx: usize, kind: TimerKind, now: Timestamp) {
        match kind {
            TimerKind::Main => self.main_timer(idx, now),
            TimerKind::GarpSecond => {
                self.instances.at_mut(idx).garp_second = None;
                let burst = self.instances[idx].garp_burst(self.instances[idx].master_repeat());
                self.push_all(burst);
            }
            TimerKind::GarpRefresh => {
                let inst = self.instances.at_mut(idx);
                inst.garp_refresh = Some(now + inst.config.garp.master_refresh);
                let burst = inst.garp_burst(inst.config.garp.master_refresh_repeat);
                self.push_all(burst);
            }
            TimerKind::GarpLowerPrio => {
                self.instances.at_mut(idx).garp_lower_prio = None;
                let burst = self.instances[idx].garp_burst(self.instances[idx].lower_prio_repeat());
                self.push_all(burst);
            }
        }
    }

    fn main_timer(&mut self, idx: usize, now: Timestamp) {
        match self.instances[idx].state {
            State::Backup => self.master_down_expired(idx, now),
            State::Master => {
                // RFC 5798 §6.4.3: "If the Adver_Timer fires ... Send an
                // ADVERTISEMENT ... Reset the Adver_Timer".
                let inst = self.instances.at_mut(idx);
                let priority = inst.priority();
                inst.timer = Some(now + inst.config.advert_interval);
                let adverts = inst.adverts(priority);
                self.push_all(adverts);
            }
            State::Init | State::Fault => self.instances.at_mut(idx).timer = None,
        }
    }

    /// RFC 3768 §6.4.2 / RFC 5798 §6.4.2 "If the Master_Down_Timer fires":
    /// transition to MASTER — unless a sync group holds us back until every
    /// member wants MASTER (reference §1.7 `vrrp_sync_can_goto_master`).
    fn master_down_expired(&mut self, idx: usize, now: Timestamp) {
        self.instances.at_mut(idx).want_master = true;
        let Some(g) = self.instances[idx].group else {
            self.goto_master(idx, now, Reason::MasterDown);
            return;
        };
        if !self.group_can_go_master(g, idx) {
            // Check again after one advert interval plus the smallest skew
            // (reference §2 "Startup": `adv + skew_min`).
            let inst = self.instances.at_mut(idx);
            inst.timer = Some(now + inst.master_adver_interval + inst.skew_for(255));
            return;
        }
        self.goto_master(idx, now, Reason::MasterDown);
        for m in self.groups[g].members.clone() {
            if m != idx && self.instances[m].state == State::Backup {
                self.goto_master(m, now, Reason::SyncGroup);
            }
        }
    }

    fn group_can_go_master(&self, g: usize, idx: usize) -> bool {
        self.groups[g].members.iter().all(|&m| {
            let other = &self.instances[m];
            m == idx
                || other.state == State::Master
                || (other.state == State::Backup && other.want_master)
        })
    }

    // ----- transitions --------------------------------------------------------

    /// Become MASTER (RFC 5798 §6.4.1/§6.4.2 "transition to the Master
    /// state"), in keepalived's order (reference §2 "BACKUP timeout"):
    /// advert, addresses, routes, rules, GARP burst, notify.
    pub(crate) fn goto_master(&mut self, idx: usize, now: Timestamp, reason: Reason) {
        let inst = self.instances.at_mut(idx);
        let from = inst.state;
        inst.state = State::Master;
        inst.want_master = true;
        inst.preempt_until = None;
        inst.master_adver_interval = inst.config.advert_interval;
        inst.timer = Some(now + inst.config.advert_interval);
        inst.stats.become_master += 1;
        let garp = inst.config.garp.clone();
        let second_burst = !garp.min_garp && !garp.master_delay.is_zero();
        inst.garp_second = second_burst.then(|| now + garp.master_delay);
        inst.garp_refresh = (!garp.master_refresh.is_zero()).then(|| {
            let first = if second_burst {
                garp.master_delay
            } else {
                Duration::ZERO
            };
            now + first + garp.master_refresh
        });
        inst.garp_lower_prio = None;
        let id = inst.id;
        let priority = inst.priority();
        let adverts = inst.adverts(priority);
        let burst = inst.garp_burst(inst.master_repeat());
        let config = inst.config.clone();
        self.state_changed(idx, from, State::Master, reason);
        self.push_all(adverts);
        if !config.vips.is_empty() {
            self.push(Output::AddAddresses {
                instance: id,
                excluded: false,
                addresses: config.vips.clone(),
            });
        }
        if !config.excluded_vips.is_empty() {
            self.push(Output::AddAddresses {
                instance: id,
                excluded: true,
                addresses: config.excluded_vips.clone(),
            });
        }
        if !config.virtual_routes.is_empty() {
            self.push(Output::AddRoutes {
                instance: id,
                routes: keys(&config.virtual_routes),
            });
        }
        if !config.virtual_rules.is_empty() {
            self.push(Output::AddRules {
                instance: id,
                rules: keys(&config.virtual_rules),
            });
        }
        self.push_all(burst);
        self.push(Output::Notify {
            target: NotifyTarget::Instance(id),
            name: config.name,
            state: NotifyState::Master,
            priority,
        });
    }

    /// Undo what MASTER installed, in reverse order.
    fn release_master(&mut self, idx: usize) {
        let inst = self.instances.at_mut(idx);
        let outputs = inst.release_master();
        self.push_all(outputs);
    }

    /// Enter BACKUP with the master-down timer running (RFC 5798 §6.4.1 /
    /// §6.4.3 "transition to the Backup state"); `learned` is a v3 master's
    /// interval (reference §2: a v3 backup adopts it).
    pub(crate) fn enter_backup(
        &mut self,
        idx: usize,
        now: Timestamp,
        reason: Reason,
        learned: Option<Duration>,
    ) {
        let from = self.instances[idx].state;
        let id = self.instances[idx].id;
        self.state_changed(idx, from, State::Backup, reason);
        if from == State::Master {
            self.release_master(idx);
        }
        let inst = self.instances.at_mut(idx);
        inst.state = State::Backup;
        inst.want_master = false;
        inst.master_adver_interval = match (inst.config.version, learned) {
            (Version::V3, Some(interval)) if !interval.is_zero() => interval,
            _ => inst.config.advert_interval,
        };
        inst.timer = Some(now + inst.master_down_interval());
        let (name, priority) = (inst.config.name.clone(), inst.priority());
        self.push(Output::Notify {
            target: NotifyTarget::Instance(id),
            name,
            state: NotifyState::Backup,
            priority,
        });
    }

    /// Enter FAULT (reference §2 "FAULT"): a MASTER first resigns with a
    /// priority-0 advert and removes its addresses; timers stop.
    pub(crate) fn enter_fault(&mut self, idx: usize, reason: Reason) {
        let from = self.instances[idx].state;
        if from == State::Fault {
            return;
        }
        self.stand_down(idx, State::Fault, reason, NotifyState::Fault);
    }

    /// Leave the running states for `to` (INIT on shutdown, FAULT): a MASTER
    /// resigns with a priority-0 advert so a backup takes over at its skew
    /// (RFC 5798 §6.4.3 "Shutdown"; reference §2 for FAULT) and removes its
    /// addresses; every timer of the instance stops; then the notify.
    fn stand_down(&mut self, idx: usize, to: State, reason: Reason, notify: NotifyState) {
        let from = self.instances[idx].state;
        let id = self.instances[idx].id;
        self.state_changed(idx, from, to, reason);
        if from == State::Master {
            let adverts = self.instances.at_mut(idx).adverts(0);
            self.push_all(adverts);
            self.release_master(idx);
        }
        let inst = self.instances.at_mut(idx);
        inst.state = to;
        inst.want_master = false;
        inst.timer = None;
        inst.preempt_until = None;
        inst.clear_garp_timers();
        let (name, priority) = (inst.config.name.clone(), inst.priority());
        self.push(Output::Notify {
            target: NotifyTarget::Instance(id),
            name,
            state: notify,
            priority,
        });
    }

    /// keepalived runs `preempt_delay` from start-up and from leaving FAULT
    /// too ("seconds after startup or seeing a lower priority master"), so a
    /// lower-priority master found then is not preempted at once.
    fn start_preempt_delay(&mut self, idx: usize, now: Timestamp) {
        let inst = self.instances.at_mut(idx);
        if !inst.config.preempt_delay.is_zero() {
            inst.preempt_until = Some(now + inst.config.preempt_delay);
        }
    }

    /// Leave FAULT for BACKUP with the master-down timer — or, for an
    /// instance configured `state MASTER` (or an owner), one advert interval
    /// plus the minimum skew (`vrrp_scheduler.c:vrrp_fault`, reference §2
    /// "FAULT"); in unicast mode announce our own source first so the master
    /// re-learns us.
    pub(crate) fn leave_fault(&mut self, idx: usize, now: Timestamp) {
        self.enter_backup(idx, now, Reason::FaultCleared, None);
        self.start_preempt_delay(idx, now);
        let inst = self.instances.at_mut(idx);
        if inst.is_owner() || inst.config.initial_state == InitialState::Master {
            inst.timer = Some(now + inst.config.advert_interval + inst.skew_for(255));
        }
        if inst.config.is_unicast() {
            if let Some(src) = inst.config.source {
                let announce = inst.announce(src, &inst.config.interface);
                self.push(announce);
            }
        }
    }

    // ----- trackers -----------------------------------------------------------

    /// Recompute every instance's fault flag and effective priority. A
    /// BACKUP's running master-down deadline moves by the change in
    /// Master_Down_Interval, as keepalived's `vrrp_set_effective_priority`
    /// does (the skew depends on the priority).
    pub(crate) fn reassess_priorities(&mut self) {
        for idx in 0..self.instances.len() {
            let (fault, effective) = assessed(&self.instances[idx], &self.world);
            let inst = self.instances.at_mut(idx);
            inst.faulted = fault;
            if inst.effective_priority != effective {
                let from = inst.effective_priority;
                let old_down = inst.master_down_interval();
                inst.effective_priority = effective;
                let new_down = inst.master_down_interval();
                if let (State::Backup, Some(deadline)) = (inst.state, inst.timer) {
                    inst.timer = Some(if new_down >= old_down {
                        deadline + (new_down - old_down)
                    } else {
                        Timestamp(deadline.0.saturating_sub(old_down - new_down))
                    });
                }
                let id = inst.id;
                if self.phase != Phase::Created {
                    self.push(Output::PriorityChanged {
                        instance: id,
                        from,
                        to: effective,
                    });
                }
            }
        }
    }

    /// Whether `idx`, or any member of its sync group, has a fault
    /// (reference §1.7: one member in FAULT forces the group to FAULT).
    pub(crate) fn group_faulted(&self, idx: usize) -> bool {
        match self.instances[idx].group {
            Some(g) => self.groups[g]
                .members
                .iter()
                .any(|&m| self.instances[m].faulted),
            None => self.instances[idx].faulted,
        }
    }

    pub(crate) fn trackers_changed(&mut self, now: Timestamp) {
        self.reassess_priorities();
        if self.phase != Phase::Running {
            return;
        }
        for idx in 0..self.instances.len() {
            let state = self.instances[idx].state;
            if self.group_faulted(idx) && state != State::Fault {
                let reason = if self.instances[idx].faulted {
                    Reason::Fault
                } else {
                    Reason::SyncGroup
                };
                self.enter_fault(idx, reason);
            }
        }
        for idx in 0..self.instances.len() {
            if self.instances[idx].state == State::Fault && !self.group_faulted(idx) {
                self.leave_fault(idx, now);
            }
        }
    }

    // ----- receive --------------------------------------------------------------

    /// Find the instance a packet is for (reference §2: per interface,
    /// family and VRID; duplicated VRIDs in unicast mode told apart by peer).
    fn demux(&self, packet: &ReceivedPacket, vrid: u8) -> Option<usize> {
        let on_interface =
            |idx: &&usize| *self.instances[**idx].config.interface == *packet.interface;
        let mut candidates = self
            .by_vrid
            .get(&(vrid, packet.family))?
            .iter()
            .filter(on_interface)
            .copied();
        let first = candidates.next()?;
        let Some(second) = candidates.next() else {
            return Some(first);
        };
        let candidates: Vec<usize> = [first, second].into_iter().chain(candidates).collect();
        let by_peer = candidates.iter().copied().find(|&idx| {
            self.instances[idx]
                .config
                .unicast_peers
                .iter()
                .any(|p| p.addr == packet.src)
        });
        by_peer
            .or_else(|| {
                candidates
                    .iter()
                    .copied()
                    .find(|&idx| !self.instances[idx].config.is_unicast())
            })
            .or_else(|| candidates.first().copied())
    }

    fn on_packet(&mut self, now: Timestamp, packet: &ReceivedPacket) {
        if self.phase != Phase::Running {
            return;
        }
        let Some(idx) = packet
            .bytes
            .get(1)
            .and_then(|&vrid| self.demux(packet, vrid))
        else {
            self.unknown_vrid += 1;
            self.report_drop(None, packet.src, RxDrop::UnknownVrid);
            return;
        };
        match self.validate(idx, packet) {
            Err(why) => {
                self.instances.at_mut(idx).stats.count_drop(why);
                self.report_drop(Some(instance_id(idx)), packet.src, why);
            }
            Ok(advert) => {
                self.instances.at_mut(idx).stats.advert_rcvd += 1;
                if advert.priority == 0 {
                    self.instances.at_mut(idx).stats.pri_zero_rcvd += 1;
                }
                match self.instances[idx].state {
                    State::Backup => self.backup_rx(idx, now, packet.src, &advert),
                    State::Master => self.master_rx(idx, now, packet.src, &advert),
                    // Adverts in FAULT or INIT are ignored (reference §2).
                    State::Init | State::Fault => {}
                }
            }
        }
    }

    /// keepalived's `vrrp_check_packet` order (reference §2 "Receive
    /// validation order"); each failure returns the counter to bump.
    fn validate(&mut self, idx: usize, packet: &ReceivedPacket) -> Result<Advert, RxDrop> {
        let inst = self.instances.at_mut(idx);
        let config = &inst.config;
        // Step 2: length (Ethernet padding tolerated).
        let received = codec::view(&packet.bytes, packet.family)?;
        // Step 3: TTL/hop limit 255 unless unicast (RFC 5798 §7.1).
        if !config.is_unicast() && packet.ttl != 255 {
            return Err(RxDrop::Ttl);
        }
        // Step 4: the configured version.
        if received.version() != Some(config.version) {
            return Err(RxDrop::Version);
        }
        if config.version == Version::V2 {
            // Step 6: auth type and password (RFC 3768 §7.1), then the
            // interval, whose mismatch is dropped.
            received.check_v2_auth(&config.authentication)?;
            if received.interval() != codec::wire_interval(config) {
                return Err(RxDrop::Interval);
            }
        }
        // Step 7.
        if !received.is_advertisement() {
            return Err(RxDrop::Type);
        }
        // Step 8: IPv4 tot_len agrees with the VRRP length.
        if let Some(ip_len) = packet.ip_payload_len {
            if usize::from(ip_len) != received.len() {
                return Err(RxDrop::IpLength);
            }
        }
        // Step 9: a v3 interval mismatch is only logged.
        if config.version == Version::V3 && received.interval() != config.advert_interval {
            inst.stats.interval_mismatch_v3 += 1;
        }
        // Step 10: checksum; in unicast mode keepalived also accepts a
        // pre-1.3.6 peer's checksum (multicast group in the pseudo-header).
        let standard = codec::checksum_for(config, packet.src, packet.dst);
        let old_unicast = codec::old_unicast_checksum(config, packet.src)
            .filter(|_| config.is_unicast())
            .is_some_and(|old| received.checksum_ok(&old));
        if !received.checksum_ok(&standard) && !old_unicast {
            return Err(RxDrop::Checksum);
        }
        // Step 11: destination consistent with the mode.
        let dst_ok = if config.is_unicast() {
            !packet.dst.is_multicast()
        } else {
            packet.dst == config.multicast_group
        };
        if !dst_ok {
            return Err(RxDrop::Destination);
        }
        // Step 12.
        if config.owner_ignore_adverts && inst.is_owner() {
            return Err(RxDrop::OwnerIgnore);
        }
        let advert = received.advert();
        // Step 13: the address list. RFC 3768 §7.1 and RFC 5798 §7.1 both
        // let a receiver verify it ("MAY"), and when it differs: "If the
        // packet was not generated by the address owner (Priority does not
        // equal 255 (decimal)), the receiver MUST drop the packet,
        // otherwise continue processing". keepalived 2.2.7 (the version we
        // interoperate with) verifies and drops ("ip address associated
        // with VRID not present in MASTER advert"; KO in vrrp_check_packet
        // for MASTER and BACKUP alike), so its master never yields to a
        // higher priority advertising other addresses. We drop too — a
        // misconfigured peer must not take our addresses away — except an
        // owner's advert, which the RFCs say to process (keepalived 2.2.7
        // drops that one as well; 2.3.3 and later only log mismatches). As
        // in 2.2.7, `skip_check_adv_addr` skips the check only in BACKUP
        // for adverts from the master already accepted.
        let skip = config.skip_check_adv_addr
            && inst.state == State::Backup
            && inst.master_seen.is_some_and(|(addr, _)| addr == packet.src);
        if !skip && !received.carries_exactly(&config.vips) {
            if advert.priority != 255 {
                return Err(RxDrop::AddressList);
            }
            inst.stats.addr_list_err += 1;
        }
        // Step 14: unicast source and TTL range.
        if config.is_unicast() {
            check_unicast_source(config, packet.src, packet.ttl)?;
        }
        Ok(advert)
    }

    /// BACKUP receiving a valid advert (RFC 3768 §6.4.2, RFC 5798 §6.4.2;
    /// keepalived `vrrp_state_backup`, reference §2).
    fn backup_rx(&mut self, idx: usize, now: Timestamp, src: IpAddr, advert: &Advert) {
        let inst = self.instances.at_mut(idx);
        if advert.priority == 0 {
            // "If the Priority in the ADVERTISEMENT is zero, then: Set the
            // Master_Down_Timer to Skew_Time".
            inst.timer = Some(now + inst.skew());
            return;
        }
        let lower = advert.priority < inst.priority();
        let preempt_delay = inst.config.preempt_delay;
        let delaying = !preempt_delay.is_zero() && inst.preempt_until.is_none_or(|t| now < t);
        // "If Preempt_Mode is False, or if the Priority in the ADVERTISEMENT
        // is Greater than or Equal to the local Priority" — plus keepalived's
        // preempt_delay, during which lower-priority adverts are accepted.
        if !(inst.config.nopreempt || !lower || delaying) {
            // Discard: the timer keeps running down and we take over.
            return;
        }
        if lower {
            if !preempt_delay.is_zero() && inst.preempt_until.is_none() {
                inst.preempt_until = Some(now + preempt_delay);
            }
        } else {
            inst.preempt_until = None;
        }
        if inst.config.version == Version::V3 && !advert.interval.is_zero() {
            // RFC 5798 §6.4.2: "Set Master_Adver_Interval to Adver Interval
            // contained in the ADVERTISEMENT".
            inst.master_adver_interval = advert.interval;
        }
        // "Reset the Master_Down_Timer to Master_Down_Interval".
        inst.timer = Some(now + inst.master_down_interval());
        inst.want_master = false;
        inst.master_seen = Some((src, advert.priority));
    }

    /// MASTER receiving a valid advert (RFC 3768 §6.4.3, RFC 5798 §6.4.3;
    /// keepalived `vrrp_state_master_rx`, reference §2).
    fn master_rx(&mut self, idx: usize, now: Timestamp, src: IpAddr, advert: &Advert) {
        let inst = self.instances.at_mut(idx);
        if advert.priority == 0 {
            // "If the Priority in the ADVERTISEMENT is zero, then: Send an
            // ADVERTISEMENT; Reset the Adver_Timer".
            let priority = inst.priority();
            inst.timer = Some(now + inst.config.advert_interval);
            let adverts = inst.adverts(priority);
            self.push_all(adverts);
            return;
        }
        let our_src = inst.source();
        if advert.priority == inst.priority() && src == our_src {
            // Our own address with our priority: a loop or a misconfigured
            // twin; keepalived only warns.
            return;
        }
        if advert.priority == 255 && inst.is_owner() {
            self.demote_owner(idx);
        }
        let inst = self.instances.at_mut(idx);
        let ours = inst.priority();
        // "If the Priority in the ADVERTISEMENT is greater than the local
        // Priority, or ... equal ... and the primary IP Address of the sender
        // is greater than the local primary IP Address" → Backup.
        let higher = advert.priority > ours || (advert.priority == ours && src > our_src);
        if higher {
            inst.master_seen = Some((src, advert.priority));
            if inst.config.higher_prio_send_advert {
                let adverts = inst.adverts(ours);
                self.push_all(adverts);
            }
            self.enter_backup(idx, now, Reason::HigherPriority, Some(advert.interval));
            self.sync_backup(idx, now);
        } else {
            self.reassert_master(idx, now);
        }
    }

    /// Two address owners: keepalived 2.2 (the version we interoperate
    /// with) reports a configuration error and lowers the local base
    /// priority to 254, so the other owner wins.
    fn demote_owner(&mut self, idx: usize) {
        let inst = self.instances.at_mut(idx);
        inst.owner_demoted = true;
        if inst.priority_override == Some(255) {
            // A promoted owner: the promotion no longer grants 255.
            inst.priority_override = Some(254);
        }
        let (_, effective) = assessed(inst, &self.world);
        inst.effective_priority = effective;
        let id = inst.id;
        self.push(Output::PriorityChanged {
            instance: id,
            from: 255,
            to: effective,
        });
    }

    /// A lower-priority advert reached a MASTER (RFC 9568 §6.4.3 / keepalived
    /// "forcing new election"): advert unless `lower_prio_no_advert`, GARPs
    /// now and after `garp_lower_prio_delay` (also for other MASTER members of
    /// the sync group), and the MASTER_RX_LOWER_PRI notify.
    fn reassert_master(&mut self, idx: usize, now: Timestamp) {
        let inst = self.instances.at_mut(idx);
        if !inst.config.lower_prio_no_advert {
            let priority = inst.priority();
            let adverts = inst.adverts(priority);
            self.push_all(adverts);
        }
        let members = match self.instances[idx].group {
            Some(g) => self.groups[g].members.clone(),
            None => vec![idx],
        };
        for m in members {
            let member = self.instances.at_mut(m);
            if member.state != State::Master {
                continue;
            }
            let burst = member.garp_burst(member.lower_prio_repeat());
            let garp = &member.config.garp;
            if !garp.min_garp && !garp.lower_prio_delay.is_zero() {
                member.garp_lower_prio = Some(now + garp.lower_prio_delay);
            }
            self.push_all(burst);
        }
        let inst = &self.instances[idx];
        let notify = Output::Notify {
            target: NotifyTarget::Instance(inst.id),
            name: inst.config.name.clone(),
            state: NotifyState::MasterRxLowerPri,
            priority: inst.priority(),
        };
        self.push(notify);
    }

    /// One member went BACKUP: the other MASTER members follow (reference
    /// §1.7 `vrrp_sync_backup`).
    fn sync_backup(&mut self, idx: usize, now: Timestamp) {
        let Some(g) = self.instances[idx].group else {
            return;
        };
        for m in self.groups[g].members.clone() {
            if m == idx {
                continue;
            }
            match self.instances[m].state {
                State::Master => self.enter_backup(m, now, Reason::SyncGroup, None),
                State::Backup => self.instances.at_mut(m).want_master = false,
                State::Init | State::Fault => {}
            }
        }
    }

    // ----- sync-group notifies ------------------------------------------------

    /// The state a group is in: FAULT if any member is, MASTER if all are,
    /// INIT if all are, BACKUP otherwise.
    fn derived_group_state(&self, g: usize) -> State {
        let states: Vec<State> = self.groups[g]
            .members
            .iter()
            .map(|&m| self.instances[m].state)
            .collect();
        if states.contains(&State::Fault) {
            State::Fault
        } else if !states.is_empty() && states.iter().all(|s| *s == State::Master) {
            State::Master
        } else if states.iter().all(|s| *s == State::Init) {
            State::Init
        } else {
            State::Backup
        }
    }

    /// Group notifies run once per group transition (reference §1.7).
    pub(crate) fn notify_group_changes(&mut self) {
        if self.phase != Phase::Running {
            return;
        }
        for g in 0..self.groups.len() {
            let state = self.derived_group_state(g);
            if state == self.groups[g].notified {
                continue;
            }
            self.groups[g].notified = state;
            let notify_state = match state {
                State::Master => NotifyState::Master,
                State::Backup => NotifyState::Backup,
                State::Fault => NotifyState::Fault,
                State::Init => continue,
            };
            let name = self.groups[g].config.name.clone();
            self.push(Output::Notify {
                target: NotifyTarget::Group(GroupId(u32::try_from(g).unwrap_or(u32::MAX))),
                name,
                state: notify_state,
                priority: 0,
            });
        }
    }
}

/// An instance's fault flag and effective priority: trackers applied to
/// its base priority, unless a Promote/Demote override replaces the
/// priority (faults still count).
pub(crate) fn assessed(inst: &Instance, world: &World) -> (bool, u8) {
    let assessment = assess(&inst.config, inst.base_priority(), world);
    let effective = inst
        .priority_override
        .unwrap_or(assessment.effective_priority);
    (assessment.fault, effective)
}

/// The daemon handles of `entries`.
pub(crate) fn keys(entries: &[crate::config::VirtualEntry]) -> Vec<u32> {
    entries.iter().map(|e| e.key).collect()
}

/// Step 14: with `check_unicast_src` (or a peer TTL range), the source must
/// be a configured peer and the TTL within its range.
fn check_unicast_source(config: &InstanceConfig, src: IpAddr, ttl: u8) -> Result<(), RxDrop> {
    let ranged = config
        .unicast_peers
        .iter()
        .any(|p| p.min_ttl > 0 || p.max_ttl < 255);
    if !(config.check_unicast_src || ranged) {
        return Ok(());
    }
    let peer = config
        .unicast_peers
        .iter()
        .find(|p| p.addr == src)
        .ok_or(RxDrop::UnicastSource)?;
    if ttl < peer.min_ttl || ttl > peer.max_ttl {
        return Err(RxDrop::UnicastTtl);
    }
    Ok(())
}
