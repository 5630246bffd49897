//! The LB owner (DESIGN.md, Inside the daemon): the one writer of the
//! kernel's load-balancing state. [`kalive_lb::LbEngine`] turns real-server
//! health into the desired state and into notifications; this owner
//! applies the desired state with nftables, one transaction per burst of
//! changes (`kalive_lb::nft::reconcile` against what the kernel holds, read
//! back each time, so a table left by an earlier run or edited by hand is
//! brought back at start and at every change), and carries out the
//! notifications (notify_up/down, quorum_up/down, LVS FIFO lines).

mod events;

use std::path::PathBuf;
use std::time::Duration;

use kalive_lb::{nft, LbConfig, LbEngine, LbEvent, LbState};
use kalive_sys::Nft;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::bus::{Health, LbInput};
use crate::check::SharedLbView;
use crate::lower::ServicePlan;

/// How long stopping waits for `omega` notifiers (keepalived waits up to a
/// second for each).
const STOP_SCRIPT_WAIT: Duration = Duration::from_secs(2);

pub struct LbOwner {
    engine: LbEngine,
    services: Vec<ServicePlan>,
    fifos: events::Fifos,
    nft: Nft,
    lb_view: SharedLbView,
    scripts: Vec<JoinHandle<()>>,
}

impl LbOwner {
    /// The engine for `config`; the start-up notifications run at once.
    /// What nftables cannot do of the config is logged here, once.
    pub fn new(
        config: LbConfig,
        services: Vec<ServicePlan>,
        fifos: Vec<PathBuf>,
        nft: Nft,
        lb_view: SharedLbView,
    ) -> LbOwner {
        for message in nft::limitations(&config) {
            tracing::warn!("{message}");
        }
        let (engine, events) = LbEngine::new(config);
        let mut owner = LbOwner {
            engine,
            services,
            fifos: events::Fifos::new(fifos),
            nft,
            lb_view,
            scripts: Vec::new(),
        };
        owner.handle_events(events);
        owner
    }

    /// Until [`LbInput::Stop`] or the check actor is gone.
    pub async fn run(mut self, mut inputs: mpsc::Receiver<LbInput>) {
        self.apply().await;
        while let Some(first) = inputs.recv().await {
            let mut batch = vec![first];
            while let Ok(more) = inputs.try_recv() {
                batch.push(more);
            }
            for input in batch {
                match input {
                    LbInput::Stop { release, done } => {
                        self.stop(release).await;
                        let _answered = done.send(());
                        return;
                    }
                    other => self.take(other),
                }
            }
            self.apply().await;
        }
        self.stop(true).await;
    }

    fn take(&mut self, input: LbInput) {
        let events = match input {
            LbInput::Health { vs, rs, up } => self.engine.set_alive(&vs, &rs, up),
            LbInput::Weight { vs, rs, weight } => {
                self.engine.set_weight(&vs, &rs, i64::from(weight))
            }
            LbInput::Reconfigure {
                config,
                services,
                fifos,
                health,
            } => {
                let mut events = self.engine.reconfigure(config);
                self.services = services;
                self.fifos = events::Fifos::new(fifos);
                events.extend(self.carry_health(&health));
                Ok(events)
            }
            LbInput::Stop { .. } => Ok(Vec::new()),
        };
        match events {
            Ok(events) => self.handle_events(events),
            Err(e) => tracing::debug!("load balancer: {e}"),
        }
        self.publish_view();
    }

    /// After a reload: health and weights the check engine carried over.
    fn carry_health(&mut self, health: &[Health]) -> Vec<LbEvent> {
        let mut events = Vec::new();
        for h in health {
            if let Ok(e) = self.engine.set_weight(&h.vs, &h.rs, i64::from(h.weight)) {
                events.extend(e);
            }
            if let Ok(e) = self.engine.set_alive(&h.vs, &h.rs, h.up) {
                events.extend(e);
            }
        }
        events
    }

    fn publish_view(&self) {
        let desired = self.engine.desired();
        if let Ok(mut view) = self.lb_view.lock() {
            view.quorum.clear();
            view.weights.clear();
            for s in &self.services {
                if let Some(up) = self.engine.quorum_up(&s.key) {
                    view.quorum.insert(s.key.clone(), up);
                }
            }
            for (vs, service) in desired.services {
                for (rs, dest) in service.dests {
                    view.weights.insert((vs.clone(), rs), dest.weight);
                }
            }
        }
    }

    fn handle_events(&mut self, events: Vec<LbEvent>) {
        self.scripts.retain(|s| !s.is_finished());
        for event in events {
            if let Some(script) = events::carry_out(&event, &self.services, &mut self.fifos) {
                self.scripts.push(script);
            }
        }
        self.publish_view();
    }

    /// Bring the kernel to the engine's desired state in one transaction.
    async fn apply(&self) {
        let desired = self.engine.desired();
        let nft = self.nft.clone();
        let result = tokio::task::spawn_blocking(move || sync_table(&nft, &desired)).await;
        match result {
            Ok(Ok(true)) => tracing::debug!("nftables table {} updated", nft::TABLE),
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::error!("load balancer not applied: {e}"),
            Err(e) => tracing::error!("load balancer update did not finish: {e}"),
        }
    }

    async fn stop(&mut self, release: bool) {
        let events = self.engine.stop();
        self.handle_events(events);
        if release {
            let nft = self.nft.clone();
            let removed =
                tokio::task::spawn_blocking(move || nft.delete_table(nft::FAMILY, nft::TABLE))
                    .await;
            match removed {
                Ok(Ok(true)) => {
                    tracing::info!("Removed nftables table {} {}", nft::FAMILY, nft::TABLE)
                }
                Ok(Ok(false)) => {}
                Ok(Err(e)) => tracing::error!("cannot remove the load-balancer table: {e}"),
                Err(e) => tracing::error!("cannot remove the load-balancer table: {e}"),
            }
        } else {
            tracing::info!("Leaving the load-balancer table in place (-I)");
        }
        let scripts = std::mem::take(&mut self.scripts);
        if tokio::time::timeout(STOP_SCRIPT_WAIT, futures::future::join_all(scripts))
            .await
            .is_err()
        {
            tracing::warn!("LVS notify scripts still running at stop");
        }
    }
}

/// Read the table back and apply the batch that makes it `desired`; an
/// empty desired state means no table at all. Returns whether nft changed
/// anything.
fn sync_table(nft: &Nft, desired: &LbState) -> Result<bool, String> {
    if desired.services.is_empty() {
        return nft
            .delete_table(nft::FAMILY, nft::TABLE)
            .map_err(|e| e.to_string());
    }
    let listing = nft
        .list_table(nft::FAMILY, nft::TABLE)
        .map_err(|e| e.to_string())?;
    match nft::reconcile(desired, listing.as_deref()).map_err(|e| e.to_string())? {
        Some(batch) => nft.apply(&batch).map(|()| true).map_err(|e| e.to_string()),
        None => Ok(false),
    }
}
