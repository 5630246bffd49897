//! The supervisor (DESIGN.md, Inside the daemon): owns the signals and the
//! control requests and fans them out to the actors as [`VrrpRequest`]s.
//! It decides whether a new config may run (the one verdict of `load.rs`)
//! before any actor sees it, so a refused reload changes nothing.

use std::sync::Arc;

use kalive_control::{DumpKind, ReloadReply, Request, Response};
use tokio::sync::{mpsc, oneshot};

use crate::bus::{ControlCall, LvsRequest, Switch, VrrpRequest};
use crate::cli::Cli;
use crate::sdnotify::SdNotify;
use crate::signals::{SignalEvent, Signals};

pub struct Supervisor {
    cli: Arc<Cli>,
    sd: SdNotify,
    vrrp: mpsc::Sender<VrrpRequest>,
    /// The LVS thread, when the config at start had virtual servers.
    lvs: Option<mpsc::Sender<LvsRequest>>,
}

impl Supervisor {
    pub fn new(
        cli: Arc<Cli>,
        sd: SdNotify,
        vrrp: mpsc::Sender<VrrpRequest>,
        lvs: Option<mpsc::Sender<LvsRequest>>,
    ) -> Supervisor {
        Supervisor { cli, sd, vrrp, lvs }
    }

    async fn ask_lvs<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> LvsRequest) -> Option<T> {
        let lvs = self.lvs.as_ref()?;
        let (tx, rx) = oneshot::channel();
        if lvs.send(make(tx)).await.is_err() {
            tracing::error!("the LVS thread has stopped; request dropped");
            return None;
        }
        rx.await.ok()
    }

    /// Until a stop signal: then the VRRP actor is told to stop and this
    /// returns.
    pub async fn run(mut self, mut signals: Signals, mut control: mpsc::Receiver<ControlCall>) {
        loop {
            tokio::select! {
                sig = signals.next() => match sig {
                    SignalEvent::Stop => {
                        self.tell(VrrpRequest::Stop).await;
                        return;
                    }
                    SignalEvent::Reload => {
                        // reload() logs the outcome.
                        self.reload().await;
                    }
                    SignalEvent::DumpData => self.tell(VrrpRequest::Dump(DumpKind::Data)).await,
                    SignalEvent::DumpStats => self.tell(VrrpRequest::Dump(DumpKind::Stats)).await,
                    SignalEvent::DumpJson => self.tell(VrrpRequest::Dump(DumpKind::Json)).await,
                    SignalEvent::DumpStatsClear => self.tell(VrrpRequest::DumpStatsAndClear).await,
                },
                Some(call) = control.recv() => {
                    let response = self.answer(call.request).await;
                    if call.reply.send(response).is_err() {
                        tracing::debug!("control client left before its answer");
                    }
                }
            }
        }
    }

    async fn tell(&self, request: VrrpRequest) {
        if self.vrrp.send(request).await.is_err() {
            tracing::error!("the VRRP actor has stopped; request dropped");
        }
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> VrrpRequest) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.tell(make(tx)).await;
        rx.await.ok()
    }

    async fn answer(&mut self, request: Request) -> Response {
        tracing::info!("control: {request:?}");
        let switch = match request {
            Request::Status => {
                return match self.ask(|reply| VrrpRequest::Status { reply }).await {
                    Some(mut status) => {
                        if let Some(vs) = self.ask_lvs(|reply| LvsRequest::Status { reply }).await {
                            status.virtual_servers = vs;
                        }
                        Response::Status(status)
                    }
                    None => actor_gone(),
                }
            }
            Request::Reload => return Response::Reload(self.reload().await),
            Request::Dump { what } => {
                self.tell(VrrpRequest::Dump(what)).await;
                return Response::Done {
                    message: format!("wrote {}", what.path()),
                };
            }
            Request::Promote { target } => Switch::Promote(target),
            Request::Demote { target } => Switch::Demote(target),
            Request::Clear { target } => Switch::Clear(target),
        };
        self.ask(|reply| VrrpRequest::Switch { switch, reply })
            .await
            .unwrap_or_else(actor_gone)
    }

    /// SIGHUP or `kalive ctl reload`: read the config off the actor's
    /// thread, refuse it here or hand it over; systemd sees RELOADING=1,
    /// then READY=1 with the outcome as STATUS.
    async fn reload(&mut self) -> ReloadReply {
        tracing::info!("Reloading");
        self.sd.reloading();
        let cli = self.cli.clone();
        let started = std::time::Instant::now();
        let loaded = tokio::task::spawn_blocking(move || crate::load::load(&cli)).await;
        let read = started.elapsed();
        let reply = match loaded {
            Err(e) => refused(format!("reading the configuration failed: {e}"), Vec::new()),
            Ok(Err(refusal)) => refused(refusal.reason, refusal.diagnostics),
            Ok(Ok(accepted)) => {
                let diagnostics = accepted.diagnostics;
                let lvs_plan = Box::new(accepted.plan.lvs.clone());
                let plan = Box::new(accepted.plan);
                match self.ask(|reply| VrrpRequest::Reload { plan, reply }).await {
                    Some(mut reply) => {
                        reply.diagnostics = diagnostics;
                        if reply.applied {
                            self.reload_lvs(lvs_plan, &mut reply).await;
                        }
                        reply
                    }
                    None => refused("the VRRP actor has stopped".into(), diagnostics),
                }
            }
        };
        tracing::debug!(
            "Reload: configuration read in {:.1} ms, applied in {:.1} ms",
            read.as_secs_f64() * 1e3,
            started.elapsed().saturating_sub(read).as_secs_f64() * 1e3
        );
        if reply.applied {
            tracing::info!("Reload finished: {}", reply.summary);
            self.sd
                .ready(&format!("running; reloaded: {}", reply.summary));
        } else {
            tracing::error!(
                "Reload failed: {}; keeping the running configuration",
                reply.summary
            );
            self.sd.ready(&format!(
                "running the previous configuration; reload refused: {}",
                reply.summary
            ));
        }
        reply
    }
}

impl Supervisor {
    /// The virtual servers of an accepted config: the check actor keeps
    /// unchanged checkers, the LB owner unchanged chains.
    async fn reload_lvs(&self, plan: Box<crate::lower::LvsPlan>, reply: &mut ReloadReply) {
        if self.lvs.is_none() {
            if !plan.is_empty() {
                // keepalived, too, starts its checker process only at start.
                tracing::warn!(
                    "virtual servers added by a reload run after a restart (none at start)"
                );
            }
            return;
        }
        match self
            .ask_lvs(|reply| LvsRequest::Reload { plan, reply })
            .await
        {
            Some(Ok(summary)) => reply.summary.push_str(&format!("; {summary}")),
            Some(Err(e)) => {
                tracing::error!("{e}; the running virtual servers are kept");
                reply
                    .summary
                    .push_str(&format!("; virtual servers kept: {e}"));
            }
            None => reply.summary.push_str("; the LVS thread has stopped"),
        }
    }
}

fn refused(summary: String, diagnostics: Vec<String>) -> ReloadReply {
    ReloadReply {
        applied: false,
        summary,
        diagnostics,
    }
}

fn actor_gone() -> Response {
    Response::Error {
        message: "the VRRP actor has stopped".into(),
    }
}
