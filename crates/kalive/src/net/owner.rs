//! The netlink owner: carries out address, route and rule changes and sends
//! GARP / NA frames, on a thread of its own. Netlink requests are
//! acknowledged synchronously inside the call (kalive-sys), so running them
//! on the VRRP actor's thread would stall adverts behind a slow kernel
//! answer; here they stall nothing but later changes.
//!
//! Policy (see `queue.rs`): changes first, never dropped, coalesced by
//! object; frames after them, coalesced and bounded, paced by the GARP
//! interval. A VIP change therefore never waits behind GARPs.

use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use kalive_sys::{FrameSender, Netlink, SysError};
use tokio::sync::{oneshot, Notify};

use super::queue::{Change, Entry, Frame, NetCounters, Queues};
use crate::error::Error;

struct Shared {
    queues: Mutex<Queues>,
    wake: Notify,
    closed: std::sync::atomic::AtomicBool,
}

/// The actors' handle on the owner: cheap to clone, never blocks.
#[derive(Clone)]
pub struct NetHandle {
    shared: Arc<Shared>,
}

/// The owner thread; [`NetOwner::close`] ends it after the changes queued.
pub struct NetOwner {
    handle: NetHandle,
    thread: Option<JoinHandle<()>>,
}

impl NetOwner {
    /// Start the owner thread (in the calling thread's network namespace,
    /// which a new thread inherits).
    pub fn spawn() -> Result<NetOwner, Error> {
        let shared = Arc::new(Shared {
            queues: Mutex::new(Queues::default()),
            wake: Notify::new(),
            closed: std::sync::atomic::AtomicBool::new(false),
        });
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let inner = shared.clone();
        let thread = std::thread::Builder::new()
            .name("kalive-net".into())
            .spawn(move || owner_thread(inner, ready_tx))
            .map_err(|e| Error::Io("starting the netlink owner".into(), e))?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(Error::Sys(e)),
            Err(_) => return Err(Error::Sys("the netlink owner did not start".into())),
        }
        Ok(NetOwner {
            handle: NetHandle { shared },
            thread: Some(thread),
        })
    }

    pub fn handle(&self) -> NetHandle {
        self.handle.clone()
    }

    /// Carry out the changes still queued (frames are dropped), then end
    /// the thread; waits at most `limit`.
    pub fn close(mut self, limit: Duration) {
        {
            let mut q = self.handle.lock();
            q.clear_frames();
        }
        self.handle
            .shared
            .closed
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.handle.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let deadline = std::time::Instant::now() + limit;
            while !thread.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if thread.is_finished() {
                let _ = thread.join();
            } else {
                tracing::warn!("netlink owner still busy after {limit:?}; leaving it");
            }
        }
    }
}

impl NetHandle {
    fn lock(&self) -> MutexGuard<'_, Queues> {
        // A panic while holding this lock would be a bug in queue.rs; the
        // queues stay usable (plain data), so carry on with them.
        self.shared
            .queues
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn change(&self, change: Change) {
        self.lock().push_change(change);
        self.shared.wake.notify_one();
    }

    pub fn frame(&self, frame: Frame) {
        self.lock().push_frame(frame);
        self.shared.wake.notify_one();
    }

    /// Wait (at most `limit`) until every change queued so far is done.
    pub async fn barrier(&self, limit: Duration) {
        let (tx, rx) = oneshot::channel();
        self.lock().push_barrier(tx);
        self.shared.wake.notify_one();
        if tokio::time::timeout(limit, rx).await.is_err() {
            tracing::warn!("netlink changes still pending after {limit:?}");
        }
    }

    pub fn counters(&self) -> NetCounters {
        self.lock().counters
    }
}

enum Work {
    Entry(Entry),
    Frame(Frame),
    Wait,
    Exit,
}

fn owner_thread(shared: Arc<Shared>, ready: std::sync::mpsc::Sender<Result<(), String>>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(format!("netlink owner runtime: {e}")));
            return;
        }
    };
    runtime.block_on(async move {
        let opened = Netlink::new().and_then(|nl| FrameSender::open().map(|f| (nl, f)));
        let (netlink, frames) = match opened {
            Ok(pair) => {
                let _ = ready.send(Ok(()));
                pair
            }
            Err(e) => {
                let _ = ready.send(Err(e.to_string()));
                return;
            }
        };
        run(&shared, &netlink, &frames).await;
    });
}

async fn run(shared: &Shared, netlink: &Netlink, frames: &FrameSender) {
    // Frames may not leave before this instant (the GARP interval).
    let mut quiet_until = tokio::time::Instant::now();
    loop {
        let work = {
            let mut q = shared
                .queues
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(entry) = q.pop_change() {
                Work::Entry(entry)
            } else if shared.closed.load(std::sync::atomic::Ordering::SeqCst) {
                Work::Exit
            } else if q.has_frames() && tokio::time::Instant::now() >= quiet_until {
                q.pop_frame().map_or(Work::Wait, Work::Frame)
            } else {
                Work::Wait
            }
        };
        match work {
            Work::Entry(Entry::Barrier(done)) => {
                let _ = done.send(());
            }
            Work::Entry(Entry::Change(change)) => {
                let result = apply(netlink, &change).await;
                let mut q = shared
                    .queues
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                match result {
                    Ok(()) => q.counters.changes_done += 1,
                    Err(e) => {
                        q.counters.changes_failed += 1;
                        drop(q);
                        // The kernel's reason is in `e` (its errno text).
                        tracing::error!("{} failed: {e}", change.describe());
                    }
                }
            }
            Work::Frame(frame) => {
                if let Err(e) = frames.send_frame(frame.ifindex, &frame.bytes).await {
                    tracing::debug!("announcing {}: {e}", frame.addr);
                } else {
                    let mut q = shared
                        .queues
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    q.counters.frames_sent += 1;
                }
                quiet_until = tokio::time::Instant::now() + frame.gap;
            }
            Work::Wait => {
                let pending_frames = {
                    let q = shared
                        .queues
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    q.has_frames()
                };
                if pending_frames {
                    tokio::select! {
                        _ = shared.wake.notified() => {}
                        _ = tokio::time::sleep_until(quiet_until) => {}
                    }
                } else {
                    shared.wake.notified().await;
                }
            }
            Work::Exit => return,
        }
    }
}

async fn apply(nl: &Netlink, change: &Change) -> Result<(), SysError> {
    match change {
        Change::AddAddress(a) => nl.add_address(a).await.or_else(ok_if(already_exists)),
        Change::DelAddress(a) => nl.del_address(a).await.or_else(ok_if(not_there)),
        Change::AddRoute(r) => nl.prepend_route(r).await.or_else(ok_if(already_exists)),
        Change::DelRoute(r) => nl.del_route(r).await.or_else(ok_if(not_there)),
        Change::AddRule(r) => nl.add_rule(r).await.or_else(ok_if(already_exists)),
        Change::DelRule(r) => nl.del_rule(r).await.or_else(ok_if(not_there)),
    }
}

fn already_exists(e: &SysError) -> bool {
    e.is_already_exists()
}

fn not_there(e: &SysError) -> bool {
    e.is_not_found()
        || e.errno() == Some(nix::libc::EADDRNOTAVAIL)
        || e.errno() == Some(nix::libc::ESRCH)
}

fn ok_if(pred: impl Fn(&SysError) -> bool) -> impl FnOnce(SysError) -> Result<(), SysError> {
    move |e| if pred(&e) { Ok(()) } else { Err(e) }
}
