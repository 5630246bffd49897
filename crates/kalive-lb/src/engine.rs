//! The load-balancer engine: real-server health in, desired state and
//! notifications out. It follows keepalived's `check/ipwrapper.c`
//! (reference/keepalived-behaviour.md §1.12):
//!
//! - quorum is the sum of the weights of live real servers; it is gained
//!   when the sum reaches `quorum + hysteresis` and lost when it falls
//!   below `quorum - hysteresis` or to 0;
//! - while quorum is lost and a sorry server exists, the sorry server
//!   takes every new connection and real-server changes are not pushed;
//! - `inhibit_on_failure` keeps a failed server at weight 0 instead of
//!   removing it (also while the sorry server is in use);
//! - `sorry_server_inhibit` keeps the sorry server at weight 0 while unused;
//! - `omega` runs the down notifiers at shutdown.
//!
//! No I/O and no clock: each call returns the events it caused, and
//! [`LbEngine::desired`] is what the backend should hold now.

use crate::config::{LbConfig, RsKey, ServiceConfig, VsKey};
use crate::error::LbError;
use crate::event::LbEvent;
use crate::state::{Dest, LbState, Service, ServiceSpec};

/// IPVS keeps weights in a signed 32-bit field (keepalived's
/// `IPVS_WEIGHT_LIMIT`).
const WEIGHT_LIMIT: i64 = i32::MAX as i64;

/// keepalived's `real_weight`: a dynamic weight clamped to what IPVS takes.
fn real_weight(effective: i64) -> u32 {
    // The clamp keeps the value inside u32.
    u32::try_from(effective.clamp(0, WEIGHT_LIMIT)).unwrap_or(0)
}

#[derive(Debug, Clone)]
struct RealServer {
    alive: bool,
    /// Configured weight changed by dynamic checkers (`misc_dynamic`,
    /// `track_file` weights); may leave 0..=WEIGHT_LIMIT.
    effective_weight: i64,
}

#[derive(Debug, Clone)]
struct VirtualServer {
    config: ServiceConfig,
    real_servers: Vec<RealServer>,
    quorum_up: bool,
    /// The sorry server is in the pool taking connections.
    sorry_active: bool,
}

/// Desired load-balancer state for a configuration and the health of its
/// real servers.
#[derive(Debug, Clone)]
pub struct LbEngine {
    services: Vec<VirtualServer>,
    rs_init_notifies: bool,
    stopped: bool,
}

impl VirtualServer {
    fn new(config: ServiceConfig) -> Self {
        let real_servers = config
            .real_servers
            .iter()
            .map(|rs| RealServer {
                alive: rs.initially_alive,
                effective_weight: i64::from(rs.weight),
            })
            .collect();
        let mut vs = VirtualServer {
            config,
            real_servers,
            quorum_up: false,
            sorry_active: false,
        };
        // keepalived's `set_quorum_states` before the services are set up.
        vs.quorum_up =
            vs.live_weight() >= i64::from(vs.config.quorum) + i64::from(vs.config.hysteresis);
        vs
    }

    fn live_weight(&self) -> i64 {
        self.real_servers
            .iter()
            .filter(|rs| rs.alive)
            .map(|rs| i64::from(real_weight(rs.effective_weight)))
            .sum()
    }

    fn rs_index(&self, rs: &RsKey) -> Result<usize, LbError> {
        self.config
            .real_servers
            .iter()
            .position(|r| r.key == *rs)
            .ok_or_else(|| LbError::UnknownRealServer {
                vs: self.config.key.clone(),
                rs: *rs,
            })
    }

    /// keepalived's `update_quorum_state`.
    fn update_quorum(&mut self, init: bool, events: &mut Vec<LbEvent>) {
        let weight_sum = self.live_weight();
        let quorum = i64::from(self.config.quorum);
        let hysteresis = i64::from(self.config.hysteresis);
        let threshold = if self.quorum_up {
            quorum - hysteresis
        } else {
            quorum + hysteresis
        };
        let has_sorry = self.config.sorry_server.is_some();
        let up = if !self.quorum_up && weight_sum >= threshold {
            self.sorry_active = false;
            true
        } else if (self.quorum_up && (weight_sum == 0 || weight_sum < threshold))
            || (init && !self.quorum_up && has_sorry && !self.sorry_active)
        {
            // Lost quorum, or starting without it: the sorry server (if
            // any) replaces the live real servers.
            if has_sorry {
                self.sorry_active = true;
            }
            false
        } else {
            return;
        };
        self.quorum_up = up;
        events.push(LbEvent::Quorum {
            vs: self.config.key.clone(),
            up,
            init,
            stopping: false,
            quorum: self.config.quorum,
            hysteresis: self.config.hysteresis,
            threshold,
            weight_sum,
        });
    }

    /// Whether real server `i` is in the kernel's table (keepalived's
    /// `rs->set`): live servers unless the sorry server replaced them, and
    /// inhibited ones always.
    fn rs_in_pool(&self, i: usize) -> bool {
        let inhibit = self.config.real_servers[i].inhibit_on_failure;
        inhibit || (self.real_servers[i].alive && !self.sorry_active)
    }

    fn desired(&self) -> Service {
        let mut dests = std::collections::BTreeMap::new();
        let cfg = &self.config;
        if let Some(sorry) = &cfg.sorry_server {
            if self.sorry_active || sorry.inhibit {
                let weight = if self.sorry_active { sorry.weight } else { 0 };
                dests.insert(
                    sorry.key,
                    Dest {
                        weight,
                        method: sorry.method,
                        upper_threshold: 0,
                        lower_threshold: 0,
                    },
                );
            }
        }
        for (i, (rs_cfg, rs)) in cfg.real_servers.iter().zip(&self.real_servers).enumerate() {
            if !self.rs_in_pool(i) {
                continue;
            }
            let weight = if rs.alive && !self.sorry_active {
                real_weight(rs.effective_weight)
            } else {
                0
            };
            // A sorry server that is also a real server: the sorry role
            // wins while it is active (keepalived's s_svr_duplicates_rs).
            if self.sorry_active && dests.contains_key(&rs_cfg.key) {
                continue;
            }
            dests.insert(
                rs_cfg.key,
                Dest {
                    weight,
                    method: rs_cfg.method,
                    upper_threshold: rs_cfg.upper_threshold,
                    lower_threshold: rs_cfg.lower_threshold,
                },
            );
        }
        Service {
            spec: ServiceSpec {
                members: cfg.members.clone(),
                family: cfg.family,
                protocol: cfg.protocol,
                scheduler: cfg.scheduler,
                flags: cfg.flags,
                persistence: cfg.persistence,
                persistence_engine: cfg.persistence_engine.clone(),
            },
            dests,
        }
    }
}

impl LbEngine {
    /// Sets up every service as keepalived's `init_services` does and
    /// returns the start-up events: real servers found up (with global
    /// `rs_init_notifies`) and "starting with quorum down" where a sorry
    /// server takes over at once.
    pub fn new(config: LbConfig) -> (Self, Vec<LbEvent>) {
        let mut engine = LbEngine {
            services: config
                .services
                .into_iter()
                .map(VirtualServer::new)
                .collect(),
            rs_init_notifies: config.rs_init_notifies,
            stopped: false,
        };
        let mut events = Vec::new();
        for vs in &mut engine.services {
            Self::start_service(vs, engine.rs_init_notifies, &mut events);
        }
        (engine, events)
    }

    fn start_service(vs: &mut VirtualServer, rs_init_notifies: bool, events: &mut Vec<LbEvent>) {
        if rs_init_notifies {
            for (cfg, rs) in vs.config.real_servers.iter().zip(&vs.real_servers) {
                if rs.alive {
                    events.push(LbEvent::RealServer {
                        vs: vs.config.key.clone(),
                        rs: cfg.key,
                        up: true,
                        stopping: false,
                    });
                }
            }
        }
        vs.update_quorum(true, events);
    }

    fn service_mut(&mut self, vs: &VsKey) -> Result<&mut VirtualServer, LbError> {
        self.services
            .iter_mut()
            .find(|s| s.config.key == *vs)
            .ok_or_else(|| LbError::UnknownService(vs.clone()))
    }

    /// A real server's health changed (all its checkers agree: the check
    /// engine decides that). keepalived's `perform_svr_state`.
    pub fn set_alive(
        &mut self,
        vs: &VsKey,
        rs: &RsKey,
        alive: bool,
    ) -> Result<Vec<LbEvent>, LbError> {
        let service = self.service_mut(vs)?;
        let i = service.rs_index(rs)?;
        let mut events = Vec::new();
        if service.real_servers[i].alive == alive {
            return Ok(events);
        }
        service.real_servers[i].alive = alive;
        events.push(LbEvent::RealServer {
            vs: vs.clone(),
            rs: *rs,
            up: alive,
            stopping: false,
        });
        service.update_quorum(false, &mut events);
        Ok(events)
    }

    /// A dynamic checker set a new weight (keepalived's `update_svr_wgt`).
    pub fn set_weight(
        &mut self,
        vs: &VsKey,
        rs: &RsKey,
        weight: i64,
    ) -> Result<Vec<LbEvent>, LbError> {
        let service = self.service_mut(vs)?;
        let i = service.rs_index(rs)?;
        let mut events = Vec::new();
        let old = real_weight(service.real_servers[i].effective_weight);
        service.real_servers[i].effective_weight = weight;
        if real_weight(weight) != old {
            service.update_quorum(false, &mut events);
        }
        Ok(events)
    }

    /// Whether the service has quorum now.
    pub fn quorum_up(&self, vs: &VsKey) -> Option<bool> {
        self.services
            .iter()
            .find(|s| s.config.key == *vs)
            .map(|s| s.quorum_up)
    }

    /// What the backend should hold now (empty after [`LbEngine::stop`]).
    pub fn desired(&self) -> LbState {
        let mut state = LbState::default();
        if self.stopped {
            return state;
        }
        for vs in &self.services {
            state.services.insert(vs.config.key.clone(), vs.desired());
        }
        state
    }

    /// Shutdown (keepalived's `clear_services` without `lvs_flush`): every
    /// service goes; with `omega` each live real server in the table gets
    /// its down notifier and the service its `quorum_down`; without it
    /// nothing is notified.
    pub fn stop(&mut self) -> Vec<LbEvent> {
        let mut events = Vec::new();
        if self.stopped {
            return events;
        }
        self.stopped = true;
        for vs in &mut self.services {
            Self::clear_service(vs, true, &mut events);
        }
        events
    }

    /// keepalived's `clear_service_vs` (`stopping`) or the removal of a
    /// service at reload.
    fn clear_service(vs: &mut VirtualServer, stopping: bool, events: &mut Vec<LbEvent>) {
        let notify = vs.config.omega || !stopping;
        for i in 0..vs.real_servers.len() {
            let in_pool = vs.rs_in_pool(i);
            if in_pool && vs.real_servers[i].alive && notify {
                events.push(LbEvent::RealServer {
                    vs: vs.config.key.clone(),
                    rs: vs.config.real_servers[i].key,
                    up: false,
                    stopping,
                });
            }
            if in_pool {
                vs.real_servers[i].alive = false;
            }
        }
        // `update_vs_notifies`: when stopping the service always reports
        // quorum down; otherwise only if it had quorum and lost it.
        let weight_sum = vs.live_weight();
        let threshold = i64::from(vs.config.quorum) - i64::from(vs.config.hysteresis);
        let lost = vs.quorum_up && (weight_sum == 0 || weight_sum < threshold);
        if stopping || lost {
            vs.quorum_up = false;
            vs.sorry_active = false;
            if notify {
                events.push(LbEvent::Quorum {
                    vs: vs.config.key.clone(),
                    up: false,
                    init: false,
                    stopping,
                    quorum: vs.config.quorum,
                    hysteresis: vs.config.hysteresis,
                    threshold,
                    weight_sum,
                });
            }
        }
    }

    /// Reload: services and real servers that stay keep their health and
    /// quorum state; removed ones are cleared (down notifiers for live real
    /// servers, quorum down if it was up); new ones start as at start-up.
    /// Every kept service re-evaluates quorum (its settings may have
    /// changed), as keepalived's `init_service_vs` does.
    pub fn reconfigure(&mut self, config: LbConfig) -> Vec<LbEvent> {
        let mut events = Vec::new();
        let mut old = std::mem::take(&mut self.services);
        for mut gone in old
            .iter()
            .filter(|o| !config.services.iter().any(|n| n.key == o.config.key))
            .cloned()
        {
            Self::clear_service(&mut gone, false, &mut events);
        }
        self.rs_init_notifies = config.rs_init_notifies;
        for cfg in config.services {
            let previous = old
                .iter()
                .position(|o| o.config.key == cfg.key)
                .map(|i| old.swap_remove(i));
            let mut vs = VirtualServer::new(cfg);
            match previous {
                Some(prev) => {
                    for (i, rs_cfg) in vs.config.real_servers.iter().enumerate() {
                        if let Some(j) = prev
                            .config
                            .real_servers
                            .iter()
                            .position(|r| r.key == rs_cfg.key)
                        {
                            vs.real_servers[i].alive = prev.real_servers[j].alive;
                        }
                    }
                    for (j, rs_cfg) in prev.config.real_servers.iter().enumerate() {
                        let kept = vs.config.real_servers.iter().any(|r| r.key == rs_cfg.key);
                        if !kept && prev.rs_in_pool(j) && prev.real_servers[j].alive {
                            events.push(LbEvent::RealServer {
                                vs: vs.config.key.clone(),
                                rs: rs_cfg.key,
                                up: false,
                                stopping: false,
                            });
                        }
                    }
                    vs.quorum_up = prev.quorum_up;
                    vs.sorry_active = prev.sorry_active && vs.config.sorry_server.is_some();
                    vs.update_quorum(true, &mut events);
                }
                None => Self::start_service(&mut vs, self.rs_init_notifies, &mut events),
            }
            self.services.push(vs);
        }
        events
    }
}
