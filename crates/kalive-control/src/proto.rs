//! Requests and responses. Field names are the JSON an operator's script
//! sees with `kalive ctl status --json`: keep them stable.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// What `kalive ctl` asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// Per instance and sync group state.
    Status,
    /// Make this node master of an instance or sync group now.
    Promote { target: Target },
    /// Make this node hand mastership over (priority 0, then backup).
    Demote { target: Target },
    /// Drop a promote/demote override: back to the configured priority.
    Clear { target: Target },
    /// Re-read the config, as SIGHUP; the answer carries the verdict.
    Reload,
    /// Write one of keepalived's dump files.
    Dump { what: DumpKind },
}

/// An instance or a sync group, by its config name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Target {
    Instance(String),
    Group(String),
}

/// keepalived's dump files (reference §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DumpKind {
    /// SIGUSR1: `/tmp/keepalived.data`.
    Data,
    /// SIGUSR2: `/tmp/keepalived.stats`.
    Stats,
    /// SIGRTMIN+2: `/tmp/keepalived.json`.
    Json,
}

impl DumpKind {
    pub fn path(self) -> &'static str {
        match self {
            DumpKind::Data => "/tmp/keepalived.data",
            DumpKind::Stats => "/tmp/keepalived.stats",
            DumpKind::Json => "/tmp/keepalived.json",
        }
    }
}

/// The daemon's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "response", rename_all = "snake_case")]
pub enum Response {
    /// The request was carried out.
    Done {
        message: String,
    },
    Status(Status),
    Reload(ReloadReply),
    /// The request was refused or failed; nothing changed.
    Error {
        message: String,
    },
}

/// The verdict of a reload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadReply {
    /// False: the config was refused and the running one kept.
    pub applied: bool,
    /// One line of what happened ("2 instances kept, 1 added", or why it
    /// was refused).
    pub summary: String,
    /// The config's diagnostics, `file:line:col: severity: message`.
    pub diagnostics: Vec<String>,
}

/// `kalive ctl status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Status {
    pub pid: u32,
    pub config_file: String,
    /// Seconds since the daemon started.
    pub uptime_secs: f64,
    pub instances: Vec<InstanceStatus>,
    pub sync_groups: Vec<GroupStatus>,
    /// The netlink owner's queue counters (coalesced, dropped frames...).
    pub netlink: NetlinkStatus,
    /// `virtual_server`s with their real servers and checkers (absent when
    /// the config has none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub virtual_servers: Vec<VirtualServerStatus>,
}

/// One `virtual_server`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualServerStatus {
    /// keepalived's spelling: `[10.0.0.1]:tcp:80`, `FWM 7`, `[group]:0`.
    pub name: String,
    /// Whether the live weight meets `quorum` (None: not known yet).
    pub quorum_up: Option<bool>,
    /// `ha_suspend` has its checks paused (its address is not here).
    pub suspended: bool,
    pub real_servers: Vec<RealServerStatus>,
}

/// One `real_server`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealServerStatus {
    /// `[10.1.0.1]:tcp:80`.
    pub name: String,
    /// Enabled and every checker up.
    pub up: bool,
    /// Effective weight (configured, moved by dynamic weights).
    pub weight: u32,
    /// Its weight in the load balancer now: absent when it is not in it,
    /// 0 when kept without new connections (`inhibit_on_failure`).
    #[serde(default)]
    pub lb_weight: Option<u32>,
    /// When `up` last changed (or the server appeared), Unix seconds.
    pub since: f64,
    /// The last failure a checker reported, keepalived's wording.
    pub last_failure: Option<String>,
    pub checkers: Vec<CheckerStatus>,
}

/// One checker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckerStatus {
    /// `TCP_CHECK`, `HTTP_GET`, ...
    pub kind: String,
    pub up: bool,
    /// Whether it has given a result yet.
    pub has_run: bool,
    /// When `up` last changed (or the checker appeared), Unix seconds.
    pub since: f64,
    pub consecutive_failures: u32,
    /// The probe's reason for its last failure.
    pub last_failure: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NetlinkStatus {
    pub changes_done: u64,
    pub changes_failed: u64,
    pub changes_coalesced: u64,
    pub frames_sent: u64,
    pub frames_coalesced: u64,
    pub frames_dropped: u64,
    pub changes_high_water: u64,
    pub frames_high_water: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceStatus {
    pub name: String,
    pub vrid: u8,
    pub interface: String,
    /// "IPv4" or "IPv6".
    pub family: String,
    /// MASTER, BACKUP, FAULT or INIT.
    pub state: String,
    /// Seconds since the last transition (since start if none).
    pub state_for_secs: f64,
    /// Why the last transition happened.
    pub reason: String,
    /// The configured priority.
    pub base_priority: u8,
    /// The priority advertised now (trackers and overrides applied).
    pub effective_priority: u8,
    /// A `promote`/`demote` override in force.
    pub override_priority: Option<u8>,
    /// The master last heard (this node when MASTER).
    pub master: Option<MasterSeen>,
    pub vips: Vec<String>,
    pub trackers: Vec<TrackerStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterSeen {
    pub address: IpAddr,
    pub priority: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackerStatus {
    /// "interface", "script", "file" or "process".
    pub kind: String,
    pub name: String,
    /// Weight applied (0: a failure means FAULT).
    pub weight: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStatus {
    pub name: String,
    pub state: String,
    pub members: Vec<String>,
}

impl Status {
    /// The text `kalive ctl status` prints.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "kalive pid {} config {} up {:.0}s\n",
            self.pid, self.config_file, self.uptime_secs
        );
        for i in &self.instances {
            let master = i
                .master
                .as_ref()
                .map(|m| format!("{} prio {}", m.address, m.priority))
                .unwrap_or_else(|| "-".into());
            let overridden = i
                .override_priority
                .map(|p| format!(" OVERRIDE {p}"))
                .unwrap_or_default();
            out.push_str(&format!(
                "{:<16} {:<7} for {:.1}s ({}) vrid {} {} {} prio {}/{}{} master {}\n",
                i.name,
                i.state,
                i.state_for_secs,
                i.reason,
                i.vrid,
                i.interface,
                i.family,
                i.effective_priority,
                i.base_priority,
                overridden,
                master
            ));
            if !i.vips.is_empty() {
                out.push_str(&format!("  vips: {}\n", i.vips.join(" ")));
            }
            for t in &i.trackers {
                out.push_str(&format!(
                    "  track {} {} weight {}\n",
                    t.kind, t.name, t.weight
                ));
            }
        }
        for g in &self.sync_groups {
            out.push_str(&format!(
                "group {:<10} {:<7} [{}]\n",
                g.name,
                g.state,
                g.members.join(" ")
            ));
        }
        for vs in &self.virtual_servers {
            let quorum = match vs.quorum_up {
                Some(true) => "quorum up",
                Some(false) => "quorum DOWN",
                None => "quorum ?",
            };
            let suspended = if vs.suspended { " SUSPENDED" } else { "" };
            out.push_str(&format!("virtual_server {} {quorum}{suspended}\n", vs.name));
            for rs in &vs.real_servers {
                let failure = rs
                    .last_failure
                    .as_ref()
                    .map(|f| format!(" last failure: {f}"))
                    .unwrap_or_default();
                let in_lb = match rs.lb_weight {
                    None => " (not in the load balancer)".to_string(),
                    Some(w) if w != rs.weight => format!(" (load balancer weight {w})"),
                    Some(_) => String::new(),
                };
                out.push_str(&format!(
                    "  real_server {} {} weight {}{in_lb}{failure}\n",
                    rs.name,
                    if rs.up { "UP" } else { "DOWN" },
                    rs.weight
                ));
                for c in &rs.checkers {
                    out.push_str(&format!(
                        "    {} {} failures {}{}\n",
                        c.kind,
                        if c.up { "up" } else { "down" },
                        c.consecutive_failures,
                        c.last_failure
                            .as_ref()
                            .map(|f| format!(" ({f})"))
                            .unwrap_or_default()
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_virtual_server() -> Status {
        Status {
            virtual_servers: vec![VirtualServerStatus {
                name: "[10.0.0.1]:tcp:80".into(),
                quorum_up: Some(false),
                suspended: false,
                real_servers: vec![RealServerStatus {
                    name: "[10.1.0.1]:tcp:80".into(),
                    up: false,
                    weight: 3,
                    lb_weight: Some(0),
                    since: 1.5,
                    last_failure: Some("TCP_CHECK on service [10.1.0.1]:tcp:80 failed.".into()),
                    checkers: vec![CheckerStatus {
                        kind: "TCP_CHECK".into(),
                        up: false,
                        has_run: true,
                        since: 1.5,
                        consecutive_failures: 2,
                        last_failure: Some("connection refused".into()),
                    }],
                }],
            }],
            ..Status::default()
        }
    }

    #[test]
    fn status_text_lists_virtual_and_real_servers() {
        let text = with_virtual_server().to_text();
        assert!(
            text.contains("virtual_server [10.0.0.1]:tcp:80 quorum DOWN"),
            "{text}"
        );
        assert!(
            text.contains("real_server [10.1.0.1]:tcp:80 DOWN weight 3"),
            "{text}"
        );
        assert!(
            text.contains("TCP_CHECK down failures 2 (connection refused)"),
            "{text}"
        );
    }

    #[test]
    fn virtual_servers_are_optional_in_json() {
        let plain = Status::default();
        let json = serde_json::to_string(&plain).unwrap();
        assert!(!json.contains("virtual_servers"), "{json}");
        let back: Status = serde_json::from_str(&json).unwrap();
        assert_eq!(back, plain);
        let full = with_virtual_server();
        let back: Status = serde_json::from_str(&serde_json::to_string(&full).unwrap()).unwrap();
        assert_eq!(back, full);
    }
}
