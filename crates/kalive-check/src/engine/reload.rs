//! Building the tree from a configuration, at start and at reload
//! (DESIGN.md "How data flows" §7): resolve and check everything first,
//! match it against what runs, drop what is gone, then build the rest,
//! reusing what matched.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use super::probing::file_state;
use super::{Checker, Checks, Phase, RealServer, VirtualServer};
use crate::config::{
    CheckConfig, CheckerConfig, Protocol, RealServerConfig, Timing, VirtualServerConfig,
    DEFAULT_WEIGHT, MAX_WEIGHT,
};
use crate::io::{Cause, CheckerId, RealServerId, VirtualServerId};
use crate::probe::ProbeSpec;
use crate::spread;
use crate::status::{RealServerLayout, Reconfigured, VirtualServerLayout};
use crate::{Error, Timestamp};

/// A configuration resolved and matched against the running tree, in the
/// configuration's shape; `old` is the id that carries over, if any.
struct VsPlan {
    old: Option<VirtualServerId>,
    real_servers: Vec<RsPlan>,
}

struct RsPlan {
    old: Option<RealServerId>,
    checkers: Vec<CheckerPlan>,
}

struct CheckerPlan {
    timing: Timing,
    old: Option<CheckerId>,
}

impl Checks {
    /// Apply a new configuration (reload). Virtual servers match by name,
    /// real servers by virtual server, address and port, checkers by spec
    /// and resolved timing: a checker that matches keeps its state and
    /// schedule; others start as new (warmup, alpha); removed ones are
    /// dropped and their outcomes ignored. A real server that stays reports
    /// a change of state or weight the reload caused (`Cause::Reconfigure`);
    /// new ones report nothing: their initial state is in the layout.
    /// On error nothing changes.
    pub fn reconfigure(
        &mut self,
        now: Timestamp,
        config: &CheckConfig,
    ) -> Result<Reconfigured, Error> {
        let timings = resolve(config)?;
        let plan = self.match_running(config, timings);
        let mut result = self.drop_unmatched(&plan);
        self.log_all_failures = config.log_all_failures;
        self.forget_untracked_files(config);
        self.build(now, config, plan, &mut result);
        Ok(result)
    }

    fn match_running(&self, config: &CheckConfig, timings: Vec<Vec<Vec<Timing>>>) -> Vec<VsPlan> {
        let by_name: HashMap<&str, VirtualServerId> = self
            .virtual_servers
            .iter()
            .map(|(id, vs)| (vs.name.as_str(), *id))
            .collect();
        let mut taken = BTreeSet::new();
        config
            .virtual_servers
            .iter()
            .zip(timings)
            .map(|(vs_cfg, rs_timings)| {
                let old = by_name.get(vs_cfg.name.as_str()).copied();
                let by_address: HashMap<(IpAddr, Option<u16>), RealServerId> = old
                    .and_then(|id| self.virtual_servers.get(&id))
                    .into_iter()
                    .flat_map(|vs| &vs.real_servers)
                    .filter_map(|id| {
                        self.real_servers
                            .get(id)
                            .map(|rs| ((rs.addr, rs.port), *id))
                    })
                    .collect();
                let real_servers = vs_cfg
                    .real_servers
                    .iter()
                    .zip(rs_timings)
                    .map(|(rs_cfg, checker_timings)| {
                        let old = by_address.get(&(rs_cfg.addr, rs_cfg.port)).copied();
                        let checkers = rs_cfg
                            .checkers
                            .iter()
                            .zip(checker_timings)
                            .map(|(checker_cfg, timing)| {
                                let old = self.find_checker(old, checker_cfg, &timing, &taken);
                                taken.extend(old);
                                CheckerPlan { timing, old }
                            })
                            .collect();
                        RsPlan { old, checkers }
                    })
                    .collect();
                VsPlan { old, real_servers }
            })
            .collect()
    }

    /// The first checker of `rs`, not yet taken, with this spec and timing.
    fn find_checker(
        &self,
        rs: Option<RealServerId>,
        cfg: &CheckerConfig,
        timing: &Timing,
        taken: &BTreeSet<CheckerId>,
    ) -> Option<CheckerId> {
        let rs = self.real_servers.get(&rs?)?;
        rs.checkers.iter().copied().find(|id| {
            !taken.contains(id)
                && self
                    .checkers
                    .get(id)
                    .is_some_and(|old| *old.spec == cfg.spec && old.timing == *timing)
        })
    }

    fn drop_unmatched(&mut self, plan: &[VsPlan]) -> Reconfigured {
        let kept_vs: BTreeSet<VirtualServerId> = plan.iter().filter_map(|v| v.old).collect();
        let kept_rs: BTreeSet<RealServerId> = plan
            .iter()
            .flat_map(|v| &v.real_servers)
            .filter_map(|r| r.old)
            .collect();
        let kept_checkers: BTreeSet<CheckerId> = plan
            .iter()
            .flat_map(|v| &v.real_servers)
            .flat_map(|r| &r.checkers)
            .filter_map(|c| c.old)
            .collect();
        let mut result = Reconfigured {
            kept_checkers: kept_checkers.iter().copied().collect(),
            ..Reconfigured::default()
        };
        let timers = &mut self.timers;
        self.checkers.retain(|id, c| {
            let keep = kept_checkers.contains(id);
            if !keep {
                if let Some(at) = c.phase.timer() {
                    timers.remove(&(at, *id));
                }
                result.removed_checkers.push(*id);
            }
            keep
        });
        self.real_servers.retain(|id, _| {
            let keep = kept_rs.contains(id);
            if !keep {
                result.removed_real_servers.push(*id);
            }
            keep
        });
        self.virtual_servers.retain(|id, _| {
            let keep = kept_vs.contains(id);
            if !keep {
                result.removed_virtual_servers.push(*id);
            }
            keep
        });
        result
    }

    /// FILE_CHECK values of files no checker follows any more.
    fn forget_untracked_files(&mut self, config: &CheckConfig) {
        let tracked: BTreeSet<&str> = config
            .virtual_servers
            .iter()
            .flat_map(|vs| &vs.real_servers)
            .flat_map(|rs| &rs.checkers)
            .filter_map(|c| match &c.spec {
                ProbeSpec::File(f) => Some(f.track_file.as_str()),
                _ => None,
            })
            .collect();
        self.track_files
            .retain(|name, _| tracked.contains(name.as_str()));
    }

    fn build(
        &mut self,
        now: Timestamp,
        config: &CheckConfig,
        plan: Vec<VsPlan>,
        result: &mut Reconfigured,
    ) {
        self.vs_order.clear();
        let mut kept_rs = Vec::new();
        for (vs_cfg, vs_plan) in config.virtual_servers.iter().zip(plan) {
            let vs = vs_plan
                .old
                .unwrap_or_else(|| VirtualServerId(self.alloc_id()));
            let mut layout = VirtualServerLayout {
                id: vs,
                real_servers: Vec::with_capacity(vs_cfg.real_servers.len()),
            };
            for (rs_cfg, rs_plan) in vs_cfg.real_servers.iter().zip(vs_plan.real_servers) {
                let kept = rs_plan.old.is_some();
                let rs = self.build_real_server(now, vs, vs_cfg, rs_cfg, rs_plan);
                if kept {
                    kept_rs.push(rs);
                }
                let checkers = self
                    .real_servers
                    .get(&rs)
                    .map(|r| r.checkers.clone())
                    .unwrap_or_default();
                layout.real_servers.push(RealServerLayout {
                    id: rs,
                    up: false,
                    weight: 0,
                    checkers,
                });
            }
            let suspended = match self.virtual_servers.get(&vs) {
                Some(old) if old.ha_suspend => vs_cfg.ha_suspend && old.suspended,
                // keepalived starts ha_suspend checkers deactivated until the
                // address is seen (`register_checkers_thread`).
                _ => vs_cfg.ha_suspend,
            };
            self.virtual_servers.insert(
                vs,
                VirtualServer {
                    name: vs_cfg.name.clone(),
                    ha_suspend: vs_cfg.ha_suspend,
                    suspended,
                    real_servers: layout.real_servers.iter().map(|r| r.id).collect(),
                },
            );
            self.vs_order.push(vs);
            result.layout.virtual_servers.push(layout);
        }
        for rs in kept_rs {
            self.update_real_server(rs, now, || Cause::Reconfigure);
        }
        for rs in result
            .layout
            .virtual_servers
            .iter_mut()
            .flat_map(|vs| &mut vs.real_servers)
        {
            if let Some(state) = self.real_servers.get(&rs.id) {
                rs.up = state.up;
                rs.weight = state.weight;
            }
        }
    }

    fn build_real_server(
        &mut self,
        now: Timestamp,
        vs: VirtualServerId,
        vs_cfg: &VirtualServerConfig,
        rs_cfg: &RealServerConfig,
        plan: RsPlan,
    ) -> RealServerId {
        let id = plan.old.unwrap_or_else(|| RealServerId(self.alloc_id()));
        let rs_label = label(rs_cfg.addr, vs_cfg.protocol, rs_cfg.port);
        let checkers: Vec<CheckerId> = rs_cfg
            .checkers
            .iter()
            .zip(plan.checkers)
            .map(|(cfg, checker)| match checker.old {
                Some(old) => {
                    // Logging only: not a reason to start over.
                    if let Some(c) = self.checkers.get_mut(&old) {
                        c.log_all_failures = cfg.log_all_failures;
                    }
                    old
                }
                None => self.add_checker(now, id, cfg, checker.timing, vs_cfg.protocol, &rs_label),
            })
            .collect();
        let base_weight = rs_cfg
            .weight
            .or(vs_cfg.weight)
            .unwrap_or(DEFAULT_WEIGHT)
            .min(MAX_WEIGHT);
        let inhibit_on_failure = rs_cfg
            .inhibit_on_failure
            .unwrap_or(vs_cfg.inhibit_on_failure);
        if let Some(rs) = self.real_servers.get_mut(&id) {
            rs.base_weight = base_weight;
            rs.inhibit_on_failure = inhibit_on_failure;
            rs.checkers = checkers;
            return id;
        }
        self.real_servers.insert(
            id,
            RealServer {
                vs,
                addr: rs_cfg.addr,
                port: rs_cfg.port,
                base_weight,
                inhibit_on_failure,
                checkers,
                enabled: true,
                up: false,
                weight: 0,
                since: now,
                last_failure: None,
            },
        );
        // A new server starts in the state its checkers start in, silently.
        if let Some((up, weight)) = self.evaluate(id) {
            if let Some(rs) = self.real_servers.get_mut(&id) {
                rs.up = up;
                rs.weight = weight;
            }
        }
        id
    }

    fn add_checker(
        &mut self,
        now: Timestamp,
        rs: RealServerId,
        cfg: &CheckerConfig,
        timing: Timing,
        protocol: Option<Protocol>,
        rs_label: &str,
    ) -> CheckerId {
        let id = CheckerId(self.alloc_id());
        let target = match cfg.spec.connect() {
            Some(c) => label(c.target, protocol, c.port),
            None => rs_label.to_string(),
        };
        let mut checker = Checker {
            rs,
            spec: Arc::new(cfg.spec.clone()),
            timing,
            log_all_failures: cfg.log_all_failures,
            target,
            // keepalived: alpha starts DOWN, otherwise UP; and "one failure
            // is enough initially" (`retry_it = retry`, validate_check_config).
            up: !timing.alpha,
            has_run: false,
            retry_it: timing.retry,
            consecutive_failures: 0,
            last_failure: None,
            since: now,
            dynamic_weight: None,
            file_delta: 0,
            anchor: now,
            phase: Phase::Passive,
        };
        if let ProbeSpec::File(file) = &cfg.spec {
            // Its state is known at once from the file (keepalived marks
            // file checkers as run and clears alpha).
            let value = self.track_files.get(&file.track_file).copied().unwrap_or(0);
            let (up, delta) = file_state(file, value);
            checker.up = up;
            checker.file_delta = delta;
            checker.has_run = true;
        } else {
            let fraction = spread::fraction(self.seed, self.spread_index);
            self.spread_index += 1;
            let first = now + spread::scale(timing.warmup, fraction);
            checker.anchor = first;
            checker.phase = Phase::Waiting { due: first };
            self.timers.insert((first, id));
        }
        self.checkers.insert(id, checker);
        id
    }
}

/// Check a configuration and resolve every checker's timing, in its shape:
/// `[virtual server][real server][checker]`.
fn resolve(config: &CheckConfig) -> Result<Vec<Vec<Vec<Timing>>>, Error> {
    let mut names = BTreeSet::new();
    let mut timings = Vec::with_capacity(config.virtual_servers.len());
    for vs in &config.virtual_servers {
        if !names.insert(vs.name.as_str()) {
            return Err(Error::DuplicateVirtualServer(vs.name.clone()));
        }
        let vs_settings = vs.resolved_settings();
        let mut addresses = BTreeSet::new();
        let mut rs_timings = Vec::with_capacity(vs.real_servers.len());
        for rs in &vs.real_servers {
            if !addresses.insert((rs.addr, rs.port)) {
                return Err(Error::DuplicateRealServer {
                    vs: vs.name.clone(),
                    rs: label(rs.addr, None, rs.port),
                });
            }
            let rs_settings = rs.settings.inherit(&vs_settings);
            let checker_timings = rs
                .checkers
                .iter()
                .map(|c| Timing::resolve(c, &rs_settings))
                .collect::<Result<Vec<_>, _>>()?;
            rs_timings.push(checker_timings);
        }
        timings.push(rs_timings);
    }
    Ok(timings)
}

/// keepalived's `FMT_RS` spelling: `[addr]:proto:port`.
fn label(addr: IpAddr, protocol: Option<Protocol>, port: Option<u16>) -> String {
    let port = port.unwrap_or(0);
    match protocol {
        Some(p) => format!("[{addr}]:{}:{port}", p.as_str()),
        None => format!("[{addr}]:{port}"),
    }
}
