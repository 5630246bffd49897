//! The check actor (DESIGN.md, Inside the daemon): drives
//! [`kalive_check::Checks`] on its deadlines, runs the probes it asks for
//! with bounded concurrency, feeds the outcomes back and tells the LB owner
//! when a real server's health or weight moves. It runs on the LVS thread
//! ([`crate::lvs`]), never on the VRRP actor's: thousands of probes cannot
//! delay an advert.

pub mod full_probe;
pub mod probe;
pub mod suspend;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kalive_check::{
    CheckerId, Checks, Input, Layout, Outcome, Output, ProbeId, RealServerId, Timestamp,
    VirtualServerId,
};
use kalive_control as ctl;
use kalive_lb::{RsKey, VsKey};
use tokio::sync::{mpsc, Semaphore};

use crate::bus::{Health, LbInput, LvsRequest};
use crate::lower::LvsPlan;
use probe::Prober;
use suspend::Addresses;

/// Probes running at once; further ones wait for a slot (their time limit
/// starts when they run; the engine's grace covers the wait).
pub const MAX_CONCURRENT_PROBES: usize = 256;

/// Capacity of the outcome queue; a finished probe waits for room.
const OUTCOME_QUEUE: usize = 1024;

/// What the LB owner holds, for status: quorum per service and the weight
/// each destination has in the load balancer (absent: not in it; 0: kept
/// quiescent, `inhibit_on_failure`).
#[derive(Debug, Clone, Default)]
pub struct LbView {
    pub quorum: HashMap<VsKey, bool>,
    pub weights: HashMap<(VsKey, RsKey), u32>,
}

/// Written by the LB owner after each change, read by the check actor.
pub type SharedLbView = Arc<std::sync::Mutex<LbView>>;

type Done = (CheckerId, ProbeId, Outcome);

pub struct CheckActor {
    checks: Checks,
    plan: LvsPlan,
    layout: Layout,
    rs_keys: HashMap<RealServerId, (VsKey, RsKey)>,
    origin: Instant,
    wall_origin: SystemTime,
    prober: Arc<dyn Prober>,
    permits: Arc<Semaphore>,
    done_tx: mpsc::Sender<Done>,
    done_rx: mpsc::Receiver<Done>,
    lb: mpsc::Sender<LbInput>,
    addresses: Addresses,
    /// What each ha_suspend service was last told.
    suspended: HashMap<VirtualServerId, bool>,
    lb_view: SharedLbView,
}

impl CheckActor {
    pub fn new(
        plan: LvsPlan,
        prober: Arc<dyn Prober>,
        lb: mpsc::Sender<LbInput>,
        lb_view: SharedLbView,
    ) -> Result<CheckActor, kalive_check::Error> {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id());
        let checks = Checks::new(&plan.check, Timestamp::ZERO, seed)?;
        let (done_tx, done_rx) = mpsc::channel(OUTCOME_QUEUE);
        let mut actor = CheckActor {
            layout: checks.layout(),
            checks,
            plan,
            rs_keys: HashMap::new(),
            origin: Instant::now(),
            wall_origin: SystemTime::now(),
            prober,
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_PROBES)),
            done_tx,
            done_rx,
            lb,
            addresses: Addresses::default(),
            suspended: HashMap::new(),
            lb_view,
        };
        actor.map_ids();
        Ok(actor)
    }

    fn now(&self) -> Timestamp {
        Timestamp(self.origin.elapsed())
    }

    fn map_ids(&mut self) {
        self.rs_keys.clear();
        for (vs_layout, svc) in self.layout.virtual_servers.iter().zip(&self.plan.services) {
            for (rs_layout, rs) in vs_layout.real_servers.iter().zip(&svc.real_servers) {
                self.rs_keys.insert(rs_layout.id, (svc.key.clone(), rs.key));
            }
        }
    }

    /// The health of every real server as the engine starts it or carried
    /// it over.
    fn health(&self) -> Vec<Health> {
        let mut out = Vec::new();
        for (vs_layout, svc) in self.layout.virtual_servers.iter().zip(&self.plan.services) {
            for (rs_layout, rs) in vs_layout.real_servers.iter().zip(&svc.real_servers) {
                out.push(Health {
                    vs: svc.key.clone(),
                    rs: rs.key,
                    up: rs_layout.up,
                    weight: rs_layout.weight,
                });
            }
        }
        out
    }

    /// The load balancer's config with each real server's initial health
    /// from the check engine (alpha, servers without checkers).
    pub fn lb_start_config(&self) -> kalive_lb::LbConfig {
        let mut config = self.plan.lb.clone();
        let health = self.health();
        for service in &mut config.services {
            for rs in &mut service.real_servers {
                if let Some(h) = health
                    .iter()
                    .find(|h| h.vs == service.key && h.rs == rs.key)
                {
                    rs.initially_alive = h.up;
                }
            }
        }
        config
    }

    pub fn plan(&self) -> &LvsPlan {
        &self.plan
    }

    /// Until [`LvsRequest::Stop`] (or the supervisor is gone).
    pub async fn run(mut self, mut requests: mpsc::Receiver<LvsRequest>) {
        let mut monitor = match kalive_sys::Monitor::subscribe() {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::error!("no address monitor, ha_suspend services stay suspended: {e}");
                None
            }
        };
        loop {
            self.carry_out().await;
            let deadline = self
                .checks
                .poll_timeout()
                .map(|t| self.origin + t.since_origin())
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                _ = tokio::time::sleep_until(deadline.into()) => {
                    let now = self.now();
                    self.checks.handle_timeout(now);
                }
                Some((checker, probe, outcome)) = self.done_rx.recv() => {
                    let now = self.now();
                    self.checks.handle_input(now, Input::ProbeDone { checker, probe, outcome });
                }
                request = requests.recv() => match request {
                    Some(LvsRequest::Stop { release, reply }) => {
                        self.stop(release).await;
                        let _answered = reply.send(());
                        return;
                    }
                    None => {
                        self.stop(true).await;
                        return;
                    }
                    Some(LvsRequest::Reload { plan, reply }) => {
                        let answer = self.reload(*plan).await;
                        if reply.send(answer).is_err() {
                            tracing::debug!("reload answer not awaited");
                        }
                    }
                    Some(LvsRequest::Status { reply }) => {
                        if reply.send(self.status()).is_err() {
                            tracing::debug!("status answer not awaited");
                        }
                    }
                },
                event = next_event(&mut monitor) => match event {
                    Some(Ok(event)) => {
                        if self.addresses.apply(&event) {
                            self.update_suspended();
                        }
                    }
                    Some(Err(e)) => tracing::warn!("address monitor: {e}"),
                    None => {
                        tracing::error!("address monitor closed; ha_suspend states frozen");
                        monitor = None;
                    }
                },
            }
        }
    }

    async fn stop(&mut self, release: bool) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.lb.send(LbInput::Stop { release, done }).await.is_err() {
            tracing::error!("the LB owner has stopped; nothing to release");
            return;
        }
        if wait.await.is_err() {
            tracing::error!("the LB owner ended without finishing its stop");
        }
    }

    /// Carry out the engine's outputs.
    async fn carry_out(&mut self) {
        while let Some(output) = self.checks.poll_output() {
            match output {
                Output::RunProbe {
                    checker,
                    probe,
                    spec,
                    timeout,
                } => {
                    let prober = self.prober.clone();
                    let permits = self.permits.clone();
                    let done = self.done_tx.clone();
                    tokio::spawn(async move {
                        let Ok(_permit) = permits.acquire_owned().await else {
                            return;
                        };
                        let outcome =
                            match tokio::time::timeout(timeout, prober.run(spec, timeout)).await {
                                Ok(outcome) => outcome,
                                Err(_) => Outcome::failure("timeout"),
                            };
                        if done.send((checker, probe, outcome)).await.is_err() {
                            tracing::debug!("probe outcome after the check actor stopped");
                        }
                    });
                }
                Output::CheckerChanged { message, .. } | Output::CheckFailed { message, .. } => {
                    tracing::info!("{message}");
                }
                Output::RealServerUp { rs, .. } => self.tell_health(rs, true).await,
                Output::RealServerDown { rs, .. } => self.tell_health(rs, false).await,
                Output::WeightChanged { rs, new, .. } => {
                    if let Some((vs, rs)) = self.rs_keys.get(&rs).cloned() {
                        self.tell(LbInput::Weight {
                            vs,
                            rs,
                            weight: new,
                        })
                        .await;
                    }
                }
            }
        }
    }

    async fn tell_health(&mut self, rs: RealServerId, up: bool) {
        if let Some((vs, rs)) = self.rs_keys.get(&rs).cloned() {
            self.tell(LbInput::Health { vs, rs, up }).await;
        }
    }

    async fn tell(&self, input: LbInput) {
        if self.lb.send(input).await.is_err() {
            tracing::error!("the LB owner has stopped; real-server change lost");
        }
    }

    /// Tell each ha_suspend service whether its address is here.
    fn update_suspended(&mut self) {
        let now = self.now();
        for (vs_layout, svc) in self.layout.virtual_servers.iter().zip(&self.plan.services) {
            let Some(addrs) = &svc.suspend_on else {
                continue;
            };
            let Some(present) = self.addresses.any_present(addrs) else {
                continue;
            };
            let suspended = !present;
            if self.suspended.get(&vs_layout.id) == Some(&suspended) {
                continue;
            }
            self.suspended.insert(vs_layout.id, suspended);
            // keepalived's words (`update_checker_activity`), one line per
            // real server.
            for rs in &svc.real_servers {
                tracing::info!(
                    "{} healthchecker for service {} for VS {}",
                    if suspended {
                        "Suspending"
                    } else {
                        "Activating"
                    },
                    rs.key.display_in(&svc.key),
                    svc.key
                );
            }
            self.checks.handle_input(
                now,
                Input::SetSuspended {
                    vs: vs_layout.id,
                    suspended,
                },
            );
        }
    }

    /// Reload: the engine keeps unchanged checkers (state and schedule);
    /// the LB owner gets the new services and the carried-over health.
    async fn reload(&mut self, plan: LvsPlan) -> Result<String, String> {
        let now = self.now();
        let done = self
            .checks
            .reconfigure(now, &plan.check)
            .map_err(|e| format!("virtual servers: {e}"))?;
        for w in &plan.warnings {
            tracing::warn!("{w}");
        }
        self.layout = done.layout;
        self.plan = plan;
        self.map_ids();
        self.suspended
            .retain(|id, _| self.layout.virtual_servers.iter().any(|v| v.id == *id));
        // New ha_suspend services start suspended in the engine; they have
        // no entry in `suspended`, so they are told at once.
        self.update_suspended();
        let input = LbInput::Reconfigure {
            config: self.lb_start_config(),
            services: self.plan.services.clone(),
            fifos: self.plan.fifos.clone(),
            health: self.health(),
        };
        self.tell(input).await;
        Ok(format!(
            "{} virtual servers, {} checkers kept, {} removed",
            self.layout.virtual_servers.len(),
            done.kept_checkers.len(),
            done.removed_checkers.len()
        ))
    }

    fn unix(&self, t: Timestamp) -> f64 {
        (self.wall_origin + t.since_origin())
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }

    fn status(&self) -> Vec<ctl::VirtualServerStatus> {
        let view = self.lb_view.lock().map(|q| q.clone()).unwrap_or_default();
        let mut out = Vec::new();
        for (vs_layout, svc) in self.layout.virtual_servers.iter().zip(&self.plan.services) {
            let suspended = self
                .checks
                .virtual_server(vs_layout.id)
                .is_some_and(|v| v.suspended);
            let mut real_servers = Vec::new();
            for (rs_layout, rs) in vs_layout.real_servers.iter().zip(&svc.real_servers) {
                let Some(s) = self.checks.real_server(rs_layout.id) else {
                    continue;
                };
                real_servers.push(ctl::RealServerStatus {
                    name: rs.key.display_in(&svc.key),
                    lb_weight: view.weights.get(&(svc.key.clone(), rs.key)).copied(),
                    up: s.up,
                    weight: s.weight,
                    since: self.unix(s.since),
                    last_failure: s.last_failure.clone(),
                    checkers: s
                        .checkers
                        .iter()
                        .map(|c| ctl::CheckerStatus {
                            kind: c.kind.clone(),
                            up: c.up,
                            has_run: c.has_run,
                            since: self.unix(c.since),
                            consecutive_failures: c.consecutive_failures,
                            last_failure: c.last_failure.clone(),
                        })
                        .collect(),
                });
            }
            out.push(ctl::VirtualServerStatus {
                name: svc.key.to_string(),
                quorum_up: view.quorum.get(&svc.key).copied(),
                suspended,
                real_servers,
            });
        }
        out
    }
}

async fn next_event(
    monitor: &mut Option<kalive_sys::Monitor>,
) -> Option<kalive_sys::Result<kalive_sys::NetEvent>> {
    match monitor {
        Some(m) => m.next().await,
        None => std::future::pending().await,
    }
}
