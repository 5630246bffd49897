//! Reload (SIGHUP, reference §1.15): [`Vrrp::reconfigure`] swaps in a new
//! configuration the way keepalived's `vrrp.c:clear_diff_vrrp` does, minus
//! its flaps: instances are matched as `vrrp_exist` matches them, a matched
//! one keeps its state, timers, counters and override, and only the
//! differences become outputs.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::config::{Family, InstanceConfig, SyncGroupConfig, VirtualAddress, VirtualEntry};
use crate::error::Error;
use crate::instance::Instance;
use crate::io::{InstanceId, NotifyState, NotifyTarget, Output, Reason, State};
use crate::table::InstanceTable;
use crate::time::Timestamp;
use crate::vrrp::{assessed, build, index_by_vrid, instance_id, Phase, Vrrp};
use crate::Version;

/// What [`Vrrp::reconfigure`] did. Ids in `kept`'s second element and in
/// `added` index the new configuration; everything in `retired` refers to
/// the old one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconfigured {
    /// Matched instances, (old id, new id), in new-id order.
    pub kept: Vec<(InstanceId, InstanceId)>,
    /// Instances without a match in the old configuration, started as at
    /// start-up (new ids).
    pub added: Vec<InstanceId>,
    /// Names of the old instances without a match.
    pub removed: Vec<String>,
    /// Outputs in terms of the OLD configuration — old instance ids, old
    /// VIP keys, old route and rule handles — to carry out with the old
    /// resource tables, in order, before the engine's queue: anything that
    /// was still queued at the call, then removed instances (a MASTER's
    /// priority-0 advert and removals, `StateChanged` to INIT with
    /// [`Reason::Reload`], the DELETED or FAULT notify), then what kept
    /// MASTERs no longer have (or all of it, with a priority-0 advert, for
    /// a MASTER the new configuration puts in FAULT).
    pub retired: Vec<Output>,
}

/// How keepalived recognises an instance across a reload
/// (`vrrp.c:vrrp_exist`): VRID, family, interface, unicast or multicast,
/// and the unicast source address or the multicast group. Not the name: a
/// renamed instance keeps running.
#[derive(Debug, PartialEq, Eq)]
struct Identity<'a> {
    vrid: u8,
    family: Family,
    interface: &'a str,
    mode: Mode,
}

#[derive(Debug, PartialEq, Eq)]
enum Mode {
    Unicast { source: Option<IpAddr> },
    Multicast { group: IpAddr },
}

fn identity(config: &InstanceConfig) -> Identity<'_> {
    Identity {
        vrid: config.vrid,
        family: config.family,
        interface: &config.interface,
        mode: if config.is_unicast() {
            Mode::Unicast {
                source: config.source,
            }
        } else {
            Mode::Multicast {
                group: config.multicast_group,
            }
        },
    }
}

/// For each new instance, the old one it continues: each old instance, in
/// order, takes the first unclaimed new one with its identity.
fn match_instances(old: &[Instance], new: &[Instance]) -> Vec<Option<usize>> {
    let mut continues = vec![None; new.len()];
    for (o, old) in old.iter().enumerate() {
        let wanted = identity(&old.config);
        let found =
            (0..new.len()).find(|&n| continues[n].is_none() && identity(&new[n].config) == wanted);
        if let Some(n) = found {
            continues[n] = Some(o);
        }
    }
    continues
}

fn addresses_missing(from: &[VirtualAddress], to: &[VirtualAddress]) -> Vec<VirtualAddress> {
    from.iter()
        .filter(|a| !to.iter().any(|b| a.same_as(b)))
        .cloned()
        .collect()
}

fn entries_missing(from: &[VirtualEntry], to: &[VirtualEntry]) -> Vec<u32> {
    from.iter()
        .filter(|a| !to.iter().any(|b| a.spec == b.spec))
        .map(|a| a.key)
        .collect()
}

/// What a MASTER kept across the reload must remove (old terms, release
/// order: rules, routes, excluded VIPs, VIPs).
fn master_removals(old: &Instance, new: &Instance) -> Vec<Output> {
    let (o, n) = (&old.config, &new.config);
    let id = old.id;
    let mut out = Vec::new();
    let rules = entries_missing(&o.virtual_rules, &n.virtual_rules);
    if !rules.is_empty() {
        out.push(Output::RemoveRules {
            instance: id,
            rules,
        });
    }
    let routes = entries_missing(&o.virtual_routes, &n.virtual_routes);
    if !routes.is_empty() {
        out.push(Output::RemoveRoutes {
            instance: id,
            routes,
        });
    }
    for (excluded, from, to) in [
        (true, &o.excluded_vips, &n.excluded_vips),
        (false, &o.vips, &n.vips),
    ] {
        let addresses = addresses_missing(from, to);
        if !addresses.is_empty() {
            out.push(Output::RemoveAddresses {
                instance: id,
                excluded,
                addresses,
            });
        }
    }
    out
}

/// What a MASTER kept across the reload must add (new terms, takeover
/// order: VIPs, excluded VIPs, routes, rules, then one GARP/NA burst for
/// the new addresses only — keepalived re-announces every address, but
/// the others are already known).
fn master_additions(old: &Instance, new: &Instance) -> Vec<Output> {
    let (o, n) = (&old.config, &new.config);
    let id = new.id;
    let mut out = Vec::new();
    let mut announce = Vec::new();
    for (excluded, from, to) in [
        (false, &n.vips, &o.vips),
        (true, &n.excluded_vips, &o.excluded_vips),
    ] {
        let addresses = addresses_missing(from, to);
        if !addresses.is_empty() {
            announce.extend(addresses.iter().map(|a| (a.addr, a.interface.clone())));
            out.push(Output::AddAddresses {
                instance: id,
                excluded,
                addresses,
            });
        }
    }
    let routes = entries_missing(&n.virtual_routes, &o.virtual_routes);
    if !routes.is_empty() {
        out.push(Output::AddRoutes {
            instance: id,
            routes,
        });
    }
    let rules = entries_missing(&n.virtual_rules, &o.virtual_rules);
    if !rules.is_empty() {
        out.push(Output::AddRules {
            instance: id,
            rules,
        });
    }
    for _ in 0..new.master_repeat() {
        for (addr, interface) in &announce {
            out.push(new.announce(*addr, interface));
        }
    }
    out
}

/// Everything an old instance without a match leaves behind (old terms):
/// as keepalived's `clear_diff_vrrp`, a MASTER resigns with priority 0 and
/// removes what it installed; then DELETED with `notify_deleted`, else
/// FAULT unless it already was in FAULT (reference §1.11).
fn retire_removed(old: &mut Instance) -> Vec<Output> {
    let from = old.state;
    let mut out = vec![Output::StateChanged {
        instance: old.id,
        from,
        to: State::Init,
        reason: Reason::Reload,
    }];
    if from == State::Master {
        out.extend(old.adverts(0));
        out.extend(old.release_master());
    }
    let notify = if old.config.notify_deleted {
        Some(NotifyState::Deleted)
    } else {
        (from != State::Fault).then_some(NotifyState::Fault)
    };
    if let Some(state) = notify {
        out.push(Output::Notify {
            target: NotifyTarget::Instance(old.id),
            name: old.config.name.clone(),
            state,
            priority: old.priority(),
        });
    }
    out
}

/// Carry a matched instance's run-time state into its new incarnation.
/// Timers keep running (a BACKUP's master-down deadline is not restarted,
/// unlike keepalived's); a shorter advert interval or master-down interval
/// brings a deadline forward.
fn carry(old: &Instance, new: &mut Instance, now: Timestamp) {
    new.state = old.state;
    new.want_master = old.want_master;
    new.effective_priority = old.effective_priority;
    new.faulted = old.faulted;
    new.owner_demoted = old.owner_demoted && new.config.is_owner();
    // A promotion means "the highest a non-owner may have": 255 only if
    // the new configuration makes us the owner.
    new.priority_override =
        old.priority_override
            .map(|p| if p >= 254 { new.promote_priority() } else { p });
    new.master_seen = old.master_seen;
    new.stats = old.stats.clone();
    new.last_transition = old.last_transition;
    new.preempt_until = old.preempt_until;
    match old.state {
        State::Master => {
            let garp = &new.config.garp;
            new.master_adver_interval = new.config.advert_interval;
            new.timer = old.timer.map(|t| t.min(now + new.config.advert_interval));
            if !garp.min_garp {
                new.garp_second = old.garp_second;
                new.garp_lower_prio = old.garp_lower_prio;
            }
            new.garp_refresh = (!garp.master_refresh.is_zero())
                .then(|| old.garp_refresh.unwrap_or(now + garp.master_refresh));
        }
        State::Backup => {
            // A v3 backup keeps the interval it learned from the master
            // (RFC 5798 §6.4.2); a v2 one uses its own.
            let both_v3 = old.config.version == Version::V3 && new.config.version == Version::V3;
            new.master_adver_interval = if both_v3 {
                old.master_adver_interval
            } else {
                new.config.advert_interval
            };
            let latest = now + new.master_down_interval();
            new.timer = old.timer.map(|t| t.min(latest));
        }
        State::Init | State::Fault => new.timer = None,
    }
}

impl Vrrp {
    /// Reload to a new configuration (SIGHUP; reference §1.15), without
    /// keepalived's flaps.
    ///
    /// - Old and new instances are matched as keepalived matches them
    ///   (VRID, family, interface, unicast with its source address or
    ///   multicast with its group; never by name, so a rename keeps
    ///   running). A matched instance keeps its state, timers, counters,
    ///   last transition and Promote/Demote override: a MASTER stays MASTER
    ///   with no election, a BACKUP keeps its master-down deadline, FAULT
    ///   stays FAULT while still faulty — and no notify is sent for a state
    ///   that did not change.
    /// - A new priority applies at once: a MASTER's next adverts carry it
    ///   (a higher backup with preempt then takes over by RFC 5798
    ///   §6.4.2); a raised BACKUP with preempt discards the lower master's
    ///   adverts from now on and takes over when its master-down timer
    ///   fires, as RFC 5798 §6.4.2 lets it (with `nopreempt` it stays).
    /// - A kept MASTER removes (in `retired`) and adds (in the queue) only
    ///   the VIPs, excluded VIPs, routes and rules that differ, compared by
    ///   value ([`VirtualAddress::same_as`], [`VirtualEntry::spec`]), and
    ///   announces only the added addresses.
    /// - Unmatched old instances are retired (see [`Reconfigured::retired`]);
    ///   new ones start as at start-up.
    /// - Trackers carry their state over by name; sync groups are re-formed
    ///   (a group keeps its notified state by name; a new group notifies its
    ///   state once). Members keep their own states, as keepalived restores
    ///   each instance's: a group formed of a MASTER and a BACKUP moves as
    ///   one from its next transition on; a member FAULT takes the group to
    ///   FAULT at once.
    ///
    /// Everything in the queue afterwards ([`Vrrp::poll_output`]) uses the
    /// new ids (positions in `configs`). On a configuration error (the
    /// errors of [`Vrrp::new`]) the engine is left untouched.
    pub fn reconfigure(
        &mut self,
        now: Timestamp,
        configs: Vec<InstanceConfig>,
        sync_groups: Vec<SyncGroupConfig>,
    ) -> Result<Reconfigured, Error> {
        let world = self.world.carry_over(&configs);
        let (mut fresh, mut groups) = build(configs, sync_groups)?;
        self.clock = now;
        let running = self.phase == Phase::Running;
        let old_table = std::mem::replace(&mut self.instances, InstanceTable::new(Vec::new()));
        let mut old = old_table.into_list();
        let continues = match_instances(&old, &fresh);
        let mut report = Reconfigured {
            retired: self.drain_outputs(),
            ..Reconfigured::default()
        };

        // The new configuration's faults, own and through sync groups.
        let own_fault: Vec<bool> = fresh.iter().map(|i| assessed(i, &world).0).collect();
        let faulted = |n: usize| match fresh[n].group {
            Some(g) => groups[g].members.iter().any(|&m| own_fault[m]),
            None => own_fault[n],
        };
        let group_faulted: Vec<bool> = (0..fresh.len()).map(faulted).collect();

        let mut matched = vec![false; old.len()];
        for o in continues.iter().flatten() {
            matched[*o] = true;
        }
        for (o, inst) in old.iter_mut().enumerate() {
            if matched[o] {
                continue;
            }
            report.removed.push(inst.config.name.clone());
            if running {
                report.retired.extend(retire_removed(inst));
            }
        }

        // Kept MASTERs: the differences, or everything if they must go
        // FAULT under the new configuration.
        let mut additions = Vec::new();
        let mut resigned = Vec::new();
        for (n, o) in continues.iter().enumerate() {
            let Some(o) = *o else { continue };
            if !running || old[o].state != State::Master {
                continue;
            }
            if group_faulted[n] {
                report.retired.extend(old[o].adverts(0));
                report.retired.extend(old[o].release_master());
                resigned.push(n);
            } else {
                report.retired.extend(master_removals(&old[o], &fresh[n]));
                additions.extend(master_additions(&old[o], &fresh[n]));
            }
        }

        for (n, o) in continues.iter().enumerate() {
            match o {
                Some(o) => {
                    carry(&old[*o], &mut fresh[n], now);
                    report.kept.push((instance_id(*o), instance_id(n)));
                }
                None => {
                    // No PriorityChanged for an instance that never had
                    // another priority.
                    let (fault, effective) = assessed(&fresh[n], &world);
                    fresh[n].faulted = fault;
                    fresh[n].effective_priority = effective;
                    report.added.push(instance_id(n));
                }
            }
        }
        for &n in &resigned {
            let inst = &mut fresh[n];
            inst.state = State::Fault;
            inst.want_master = false;
            inst.timer = None;
            inst.preempt_until = None;
            inst.clear_garp_timers();
        }
        for group in &mut groups {
            if let Some(old) = self
                .groups
                .iter()
                .find(|g| g.config.name == group.config.name)
            {
                group.notified = old.notified;
            }
        }

        self.by_vrid = index_by_vrid(&fresh);
        self.instances = InstanceTable::new(fresh);
        self.groups = groups;
        self.world = world;
        if self.phase == Phase::Stopped {
            self.settle_priorities_silently();
            self.instances.sync();
            return Ok(report);
        }
        self.push_all(additions);
        self.reassess_priorities();
        if running {
            for &n in &resigned {
                let reason = if self.instances[n].faulted {
                    Reason::Fault
                } else {
                    Reason::SyncGroup
                };
                self.state_changed(n, State::Master, State::Fault, reason);
                let inst = &self.instances[n];
                let notify = Output::Notify {
                    target: NotifyTarget::Instance(inst.id),
                    name: inst.config.name.clone(),
                    state: NotifyState::Fault,
                    priority: inst.priority(),
                };
                self.push(notify);
            }
            for &InstanceId(n) in &report.added {
                self.start_instance(n as usize, now);
            }
            self.trackers_changed(now);
            self.notify_group_changes();
        }
        self.instances.sync();
        Ok(report)
    }
}
