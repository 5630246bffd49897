//! The VRRP actor's answers to control requests: a status snapshot built
//! from the engine's state, and switchover commands turned into engine
//! inputs (issue 9, "Runtime control").

use std::time::Instant;

use kalive_control::{
    GroupStatus, InstanceStatus, MasterSeen, NetlinkStatus, Response, Status, Target, TrackerStatus,
};
use kalive_vrrp::{Command, Family, Input, InstanceId, State};

use super::VrrpActor;
use crate::bus::Switch;

impl VrrpActor {
    /// Engine state as the operator sees it, as of now.
    pub(super) fn status(&self) -> Status {
        let mut status = Status {
            pid: std::process::id(),
            uptime_secs: self.origin.elapsed().as_secs_f64(),
            netlink: netlink_status(self.net.counters()),
            ..Status::default()
        };
        let Some(run) = &self.run else {
            return status;
        };
        let now = self.now();
        let vrrp = &run.vrrp;
        for i in 0..vrrp.instance_count() {
            let id = InstanceId(i as u32);
            let Some(c) = vrrp.config(id) else { continue };
            let state = vrrp.state(id).unwrap_or(State::Init);
            let (since, reason) = match vrrp.last_transition(id) {
                Some((at, _from, reason)) => (now.saturating_since(at), format!("{reason:?}")),
                None => (
                    now.saturating_since(kalive_vrrp::Timestamp::default()),
                    "-".into(),
                ),
            };
            let master = match state {
                State::Master => c.source.map(|address| MasterSeen {
                    address,
                    priority: vrrp.effective_priority(id).unwrap_or(c.priority),
                }),
                _ => vrrp
                    .master_seen(id)
                    .map(|(address, priority)| MasterSeen { address, priority }),
            };
            let mut trackers = Vec::new();
            for t in &c.track_interfaces {
                trackers.push(tracker("interface", &t.interface, t.weight));
            }
            for t in &c.track_scripts {
                trackers.push(tracker("script", &t.name, t.weight));
            }
            for t in &c.track_files {
                trackers.push(tracker("file", &t.name, t.weight));
            }
            for t in &c.track_processes {
                trackers.push(tracker("process", &t.name, t.weight));
            }
            status.instances.push(InstanceStatus {
                name: c.name.clone(),
                vrid: c.vrid,
                interface: c.interface.clone(),
                family: match c.family {
                    Family::V4 => "IPv4".into(),
                    Family::V6 => "IPv6".into(),
                },
                state: state.as_str().to_string(),
                state_for_secs: since.as_secs_f64(),
                reason,
                base_priority: vrrp.base_priority(id).unwrap_or(c.priority),
                effective_priority: vrrp.effective_priority(id).unwrap_or(c.priority),
                override_priority: vrrp.priority_override(id),
                master,
                vips: c
                    .vips
                    .iter()
                    .map(|v| format!("{}/{} dev {}", v.addr, v.prefix_len, v.interface))
                    .collect(),
                trackers,
            });
        }
        for g in &run.plan.sync_groups {
            let state = vrrp
                .group_id(&g.name)
                .and_then(|gid| vrrp.group_state(gid))
                .unwrap_or(State::Init);
            status.sync_groups.push(GroupStatus {
                name: g.name.clone(),
                state: state.as_str().to_string(),
                members: g.members.clone(),
            });
        }
        status
    }

    /// `kalive ctl promote|demote|clear`: the engine applies it to the
    /// instance's whole sync group; the override it leaves survives
    /// reloads and shows in `status`.
    pub(super) fn switch(&mut self, switch: Switch) -> Response {
        let (verb, target) = match &switch {
            Switch::Promote(t) => ("promote", t),
            Switch::Demote(t) => ("demote", t),
            Switch::Clear(t) => ("clear", t),
        };
        let Some(run) = &mut self.run else {
            return error("no configuration is running");
        };
        let id = match target {
            Target::Instance(name) => match run.vrrp.instance_id(name) {
                Some(id) => id,
                None => return error(&format!("no vrrp_instance {name}")),
            },
            Target::Group(name) => {
                let first = run
                    .plan
                    .sync_groups
                    .iter()
                    .find(|g| &g.name == name)
                    .and_then(|g| g.members.first())
                    .and_then(|m| run.vrrp.instance_id(m));
                match first {
                    Some(id) => id,
                    None => return error(&format!("no vrrp_sync_group {name}")),
                }
            }
        };
        let command = match switch {
            Switch::Promote(_) => Command::Promote(id),
            Switch::Demote(_) => Command::Demote(id),
            Switch::Clear(_) => Command::Clear(id),
        };
        let what = match target {
            Target::Instance(n) => format!("instance {n}"),
            Target::Group(n) => format!("sync group {n}"),
        };
        tracing::info!("Operator {verb} of {what}");
        let at = self.stamp(Instant::now());
        if let Some(run) = &mut self.run {
            run.vrrp.handle_input(at, Input::Command(command));
        }
        Response::Done {
            message: format!("{verb} {what}: done"),
        }
    }
}

fn tracker(kind: &str, name: &str, weight: i32) -> TrackerStatus {
    TrackerStatus {
        kind: kind.into(),
        name: name.into(),
        weight,
    }
}

fn netlink_status(c: crate::net::NetCounters) -> NetlinkStatus {
    NetlinkStatus {
        changes_done: c.changes_done,
        changes_failed: c.changes_failed,
        changes_coalesced: c.changes_coalesced,
        frames_sent: c.frames_sent,
        frames_coalesced: c.frames_coalesced,
        frames_dropped: c.frames_dropped,
        changes_high_water: c.changes_high_water as u64,
        frames_high_water: c.frames_high_water as u64,
    }
}

fn error(message: &str) -> Response {
    Response::Error {
        message: message.into(),
    }
}
