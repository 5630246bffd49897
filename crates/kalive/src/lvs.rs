//! The LVS thread (DESIGN.md, Inside the daemon): the check actor and the
//! LB owner share a current-thread runtime of their own, on a thread of
//! their own, so neither probes nor nft runs ever delay the VRRP actor.
//! The supervisor talks to it through [`LvsHandle`] ([`LvsRequest`]s).

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use kalive_sys::Nft;
use tokio::sync::{mpsc, oneshot};

use crate::bus::{LvsRequest, ACTOR_QUEUE, LB_QUEUE};
use crate::check::full_probe::FullProber;
use crate::check::probe::Prober;
use crate::check::{CheckActor, SharedLbView};
use crate::error::Error;
use crate::lb::LbOwner;
use crate::lower::LvsPlan;

/// The supervisor's handle on the LVS thread.
pub struct LvsHandle {
    requests: mpsc::Sender<LvsRequest>,
    thread: Option<JoinHandle<()>>,
}

impl LvsHandle {
    /// Start checking and balancing `plan` (in the calling thread's network
    /// namespace). Fails when the check engine refuses the config.
    pub fn spawn(plan: LvsPlan) -> Result<LvsHandle, Error> {
        let prober = Arc::new(FullProber::new(plan.ssl.as_ref()));
        Self::spawn_with(plan, prober, Nft::new())
    }

    pub fn spawn_with(
        plan: LvsPlan,
        prober: Arc<dyn Prober>,
        nft: Nft,
    ) -> Result<LvsHandle, Error> {
        let (tx, rx) = mpsc::channel(ACTOR_QUEUE);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("kalive-lvs".into())
            .spawn(move || lvs_thread(plan, prober, nft, rx, ready_tx))
            .map_err(|e| Error::Io("starting the LVS thread".into(), e))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(LvsHandle {
                requests: tx,
                thread: Some(thread),
            }),
            Ok(Err(message)) => {
                let _joined = thread.join();
                Err(Error::Config(message))
            }
            Err(_) => Err(Error::Config("the LVS thread did not start".into())),
        }
    }

    /// A sender for the supervisor.
    pub fn sender(&self) -> mpsc::Sender<LvsRequest> {
        self.requests.clone()
    }

    /// Stop both actors (the table goes unless `release` is false) and end
    /// the thread, waiting at most `limit`.
    pub async fn stop(mut self, release: bool, limit: Duration) {
        let (reply, done) = oneshot::channel();
        if self
            .requests
            .send(LvsRequest::Stop { release, reply })
            .await
            .is_err()
        {
            tracing::error!("the LVS thread has stopped already");
        } else if tokio::time::timeout(limit, done).await.is_err() {
            tracing::error!("the LVS thread did not stop within {limit:?}");
            return;
        }
        if let Some(thread) = self.thread.take() {
            let joined = tokio::task::spawn_blocking(move || thread.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::error!("the LVS thread ended abnormally");
            }
        }
    }
}

fn lvs_thread(
    plan: LvsPlan,
    prober: Arc<dyn Prober>,
    nft: Nft,
    requests: mpsc::Receiver<LvsRequest>,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _told = ready.send(Err(format!("starting the LVS runtime: {e}")));
            return;
        }
    };
    runtime.block_on(async move {
        for w in &plan.warnings {
            tracing::warn!("{w}");
        }
        let lb_view = SharedLbView::default();
        let (lb_tx, lb_rx) = mpsc::channel(LB_QUEUE);
        let actor = match CheckActor::new(plan, prober, lb_tx, lb_view.clone()) {
            Ok(actor) => actor,
            Err(e) => {
                let _told = ready.send(Err(format!("virtual servers: {e}")));
                return;
            }
        };
        let owner = LbOwner::new(
            actor.lb_start_config(),
            actor.plan().services.clone(),
            actor.plan().fifos.clone(),
            nft,
            lb_view,
        );
        let lb_task = tokio::spawn(owner.run(lb_rx));
        if ready.send(Ok(())).is_err() {
            return;
        }
        actor.run(requests).await;
        if lb_task.await.is_err() {
            tracing::error!("the LB owner panicked");
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
}
