//! `vrrp_track_process` (reference §1.6): count the processes that match
//! each tracker and tell the VRRP engine whether the count is within
//! `quorum..=quorum_max` (`Input::Process`). The counting follows
//! keepalived's core/track_process.c: processes are matched by
//! `/proc/PID/comm`, or by the command line with `full_command` or
//! parameters; a tracked process's forked children count too; `fork_delay`
//! postpones a gain of quorum by a fork, `terminate_delay` a loss by an
//! exit, and each cancels the other's pending change.
//!
//! [`Tracker`] is the logic (events and time in, status changes out);
//! [`spawn`] runs it on the kernel's proc events (kalive-sys).

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use kalive_sys::proc_events::{self, ProcEvent, ProcEvents, ProcessView, Received};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How parameters are compared (keepalived's `param_match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamMatch {
    /// No parameters configured: any.
    Any,
    /// The same parameters, no more.
    Exact,
    /// The configured parameters start the process's, the last one
    /// possibly as a prefix of the process's argument.
    Initial,
    /// The configured parameters, whole, start the process's.
    Partial,
}

/// One `vrrp_track_process` block, as the tracker runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    pub name: String,
    /// `process PATH`: the name (or, with `full_command`, argv\[0\]).
    pub process: String,
    /// The parameters, each followed by a NUL (as in `/proc/PID/cmdline`).
    pub params: Vec<u8>,
    pub param_match: ParamMatch,
    /// Match the command line instead of the name.
    pub full_command: bool,
    pub quorum: u32,
    pub quorum_max: u32,
    pub fork_delay: Duration,
    pub terminate_delay: Duration,
}

impl ProcessSpec {
    /// Whether the process `view` is one of this tracker's.
    pub fn matches(&self, view: &ProcessView) -> bool {
        if !self.full_command {
            return view.comm == self.process;
        }
        let mut parts = view.cmdline.splitn(2, |b| *b == 0);
        let argv0 = parts.next().unwrap_or_default();
        if argv0 != self.process.as_bytes() {
            return false;
        }
        let params = parts.next().unwrap_or_default();
        match self.param_match {
            ParamMatch::Any => true,
            ParamMatch::Exact => params == self.params.as_slice(),
            ParamMatch::Partial => params.starts_with(&self.params),
            ParamMatch::Initial => {
                // The last configured parameter may be a prefix: compare
                // without its terminating NUL.
                let wanted = self.params.strip_suffix(&[0]).unwrap_or(&self.params);
                params.starts_with(wanted)
            }
        }
    }

    fn in_quorum(&self, count: u32) -> bool {
        count >= self.quorum && count <= self.quorum_max
    }
}

/// A status change for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessStatus {
    pub name: String,
    pub up: bool,
}

/// A status change waiting for `fork_delay` or `terminate_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Fork(Instant),
    Terminate(Instant),
}

impl Pending {
    fn at(self) -> Instant {
        match self {
            Pending::Fork(at) | Pending::Terminate(at) => at,
        }
    }
}

/// Counts per tracker; sans-IO apart from the `read` closures callers pass.
#[derive(Debug)]
pub struct Tracker {
    specs: Vec<ProcessSpec>,
    counts: Vec<u32>,
    /// What the engine was last told (keepalived's `have_quorum`).
    reported: Vec<bool>,
    pending: Vec<Option<Pending>>,
    /// Process id → the trackers counting it.
    pids: HashMap<u32, BTreeSet<usize>>,
    out: Vec<ProcessStatus>,
}

impl Tracker {
    /// Count what `pids` shows (the initial /proc scan; zombies are
    /// skipped as keepalived skips them) and report every tracker's
    /// status once.
    pub fn new(
        specs: Vec<ProcessSpec>,
        pids: &[u32],
        read: &dyn Fn(u32) -> Option<ProcessView>,
    ) -> Tracker {
        let n = specs.len();
        let mut t = Tracker {
            specs,
            counts: vec![0; n],
            reported: vec![false; n],
            pending: vec![None; n],
            pids: HashMap::new(),
            out: Vec::new(),
        };
        t.count_all(pids, read);
        for i in 0..n {
            let up = t.specs[i].in_quorum(t.counts[i]);
            t.reported[i] = up;
            t.out.push(ProcessStatus {
                name: t.specs[i].name.clone(),
                up,
            });
        }
        t
    }

    fn count_all(&mut self, pids: &[u32], read: &dyn Fn(u32) -> Option<ProcessView>) {
        self.pids.clear();
        self.counts.iter_mut().for_each(|c| *c = 0);
        for &pid in pids {
            let Some(view) = read(pid).filter(|v| !v.zombie) else {
                continue;
            };
            for i in 0..self.specs.len() {
                if self.specs[i].matches(&view) {
                    self.pids.entry(pid).or_default().insert(i);
                    self.counts[i] += 1;
                }
            }
        }
    }

    /// Status changes since the last call.
    pub fn drain(&mut self) -> Vec<ProcessStatus> {
        std::mem::take(&mut self.out)
    }

    /// The earliest pending delay.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pending.iter().flatten().map(|p| p.at()).min()
    }

    /// Apply the delays due by `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.specs.len() {
            if self.pending[i].is_some_and(|p| p.at() <= now) {
                self.pending[i] = None;
                let up = self.specs[i].in_quorum(self.counts[i]);
                self.set(i, up);
            }
        }
    }

    /// How many processes tracker `name` counts now.
    pub fn count(&self, name: &str) -> Option<u32> {
        let i = self.specs.iter().position(|s| s.name == name)?;
        Some(self.counts[i])
    }

    /// One event from the kernel; `read` looks a process up in /proc.
    pub fn handle_event(
        &mut self,
        now: Instant,
        event: &ProcEvent,
        read: &dyn Fn(u32) -> Option<ProcessView>,
    ) {
        match event {
            // Threads are not processes: keepalived ignores their events.
            ProcEvent::Fork {
                parent_tgid,
                child_pid,
                child_tgid,
            } if child_pid == child_tgid => self.forked(now, *parent_tgid, *child_tgid),
            ProcEvent::Exec { pid, tgid } if pid == tgid => {
                let view = read(*tgid);
                self.reassess(now, *tgid, view.as_ref(), None);
            }
            ProcEvent::Comm { pid, tgid, comm } if pid == tgid => {
                // Only trackers by name care about a rename.
                let view = read(*tgid).map(|mut v| {
                    v.comm = comm.clone();
                    v
                });
                self.reassess(now, *tgid, view.as_ref(), Some(false));
            }
            ProcEvent::Exit { pid, tgid } if pid == tgid => self.exited(now, *tgid),
            _ => {}
        }
    }

    /// The kernel dropped events: count again from /proc; a change of
    /// quorum goes through the delays as keepalived's re-scan does.
    pub fn resync(
        &mut self,
        now: Instant,
        pids: &[u32],
        read: &dyn Fn(u32) -> Option<ProcessView>,
    ) {
        self.count_all(pids, read);
        for i in 0..self.specs.len() {
            self.pending[i] = None;
            let up = self.specs[i].in_quorum(self.counts[i]);
            if up == self.reported[i] {
                continue;
            }
            let delay = if up {
                self.specs[i].fork_delay
            } else {
                self.specs[i].terminate_delay
            };
            if delay.is_zero() {
                self.set(i, up);
            } else if up {
                self.pending[i] = Some(Pending::Fork(now + delay));
            } else {
                self.pending[i] = Some(Pending::Terminate(now + delay));
            }
        }
    }

    fn forked(&mut self, now: Instant, parent: u32, child: u32) {
        let Some(trackers) = self.pids.get(&parent).cloned() else {
            return;
        };
        for i in trackers {
            if self.pids.entry(child).or_default().insert(i) {
                self.gained(now, i, true);
            }
        }
    }

    fn exited(&mut self, now: Instant, pid: u32) {
        let Some(trackers) = self.pids.remove(&pid) else {
            return;
        };
        for i in trackers {
            self.lost(now, i, true);
        }
    }

    /// Match `pid` again (after exec or rename). `full_command`:
    /// `Some(false)` (a rename) leaves full-command trackers alone.
    fn reassess(
        &mut self,
        now: Instant,
        pid: u32,
        view: Option<&ProcessView>,
        full_command: Option<bool>,
    ) {
        for i in 0..self.specs.len() {
            if full_command.is_some_and(|f| f != self.specs[i].full_command) {
                continue;
            }
            let counted = self.pids.get(&pid).is_some_and(|s| s.contains(&i));
            let matches = view.is_some_and(|v| self.specs[i].matches(v));
            if matches && !counted {
                self.pids.entry(pid).or_default().insert(i);
                self.gained(now, i, false);
            } else if counted && !matches {
                if let Some(set) = self.pids.get_mut(&pid) {
                    set.remove(&i);
                    if set.is_empty() {
                        self.pids.remove(&pid);
                    }
                }
                self.lost(now, i, false);
            }
        }
    }

    /// One more process for tracker `i`. Only a fork waits for
    /// `fork_delay`; a pending terminate delay is cancelled instead.
    fn gained(&mut self, now: Instant, i: usize, by_fork: bool) {
        self.counts[i] += 1;
        let count = self.counts[i];
        let spec = &self.specs[i];
        if count != spec.quorum && u64::from(count) != u64::from(spec.quorum_max) + 1 {
            return;
        }
        let up = count == spec.quorum;
        match self.pending[i] {
            Some(Pending::Terminate(_)) => self.pending[i] = None,
            _ if by_fork && !spec.fork_delay.is_zero() => {
                self.pending[i] = Some(Pending::Fork(now + spec.fork_delay));
                return;
            }
            _ => {}
        }
        self.set(i, up);
    }

    /// One process fewer. Only an exit waits for `terminate_delay`; a
    /// pending fork delay is cancelled instead.
    fn lost(&mut self, now: Instant, i: usize, by_exit: bool) {
        self.counts[i] = self.counts[i].saturating_sub(1);
        let count = self.counts[i];
        let spec = &self.specs[i];
        if count + 1 != spec.quorum && count != spec.quorum_max {
            return;
        }
        let up = count == spec.quorum_max;
        match self.pending[i] {
            Some(Pending::Fork(_)) => self.pending[i] = None,
            _ if by_exit && !spec.terminate_delay.is_zero() => {
                self.pending[i] = Some(Pending::Terminate(now + spec.terminate_delay));
                return;
            }
            _ => {}
        }
        self.set(i, up);
    }

    fn set(&mut self, i: usize, up: bool) {
        if self.reported[i] == up {
            return;
        }
        self.reported[i] = up;
        self.out.push(ProcessStatus {
            name: self.specs[i].name.clone(),
            up,
        });
    }
}

/// Capacity of the status channel to the VRRP actor (a change per tracker
/// per event at most; the tracker waits when it is full).
pub const STATUS_QUEUE: usize = 64;

/// A running tracker: every tracker's first status, and the task that
/// sends the later changes.
pub struct Started {
    pub initial: Vec<ProcessStatus>,
    pub task: JoinHandle<()>,
}

/// Subscribe to proc events, scan /proc, and start the task that sends
/// status changes to `tx`. `None` without trackers.
pub fn spawn(
    specs: &[ProcessSpec],
    tx: mpsc::Sender<ProcessStatus>,
) -> Result<Option<Started>, kalive_sys::SysError> {
    if specs.is_empty() {
        return Ok(None);
    }
    // Subscribe first, then scan: a process that starts in between shows
    // in both, and counting is by pid, so nothing is lost or doubled.
    let events = ProcEvents::open()?;
    let mut tracker = Tracker::new(
        specs.to_vec(),
        &proc_events::proc_pids(),
        &proc_events::read_process,
    );
    for s in specs {
        tracing::info!(
            "Track process {}: {} process(es) running, quorum [{}:{}]",
            s.name,
            tracker.count(&s.name).unwrap_or(0),
            s.quorum,
            s.quorum_max
        );
    }
    let initial = tracker.drain();
    let task = tokio::spawn(async move {
        let mut batch = Vec::new();
        loop {
            let wake = tracker.poll_timeout();
            tokio::select! {
                received = events.recv(&mut batch) => {
                    let now = Instant::now();
                    match received {
                        Ok(Received::Events) => {}
                        Ok(Received::Lost) => {
                            tracing::warn!("process events lost; re-reading /proc");
                            tracker.resync(now, &proc_events::proc_pids(), &proc_events::read_process);
                        }
                        Err(e) => {
                            // Not a lost event but a broken socket: say so
                            // once rather than every turn.
                            tracing::error!(
                                "track_process stopped ({e}); tracked processes keep their last state"
                            );
                            return;
                        }
                    }
                    for ev in batch.drain(..) {
                        tracker.handle_event(now, &ev, &proc_events::read_process);
                    }
                }
                _ = sleep_until(wake) => tracker.handle_timeout(Instant::now()),
            }
            for status in tracker.drain() {
                if tx.send(status).await.is_err() {
                    return;
                }
            }
        }
    });
    Ok(Some(Started { initial, task }))
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, process: &str) -> ProcessSpec {
        ProcessSpec {
            name: name.into(),
            process: process.into(),
            params: Vec::new(),
            param_match: ParamMatch::Any,
            full_command: false,
            quorum: 1,
            quorum_max: u32::MAX,
            fork_delay: Duration::ZERO,
            terminate_delay: Duration::ZERO,
        }
    }

    fn view(comm: &str, argv: &[&str]) -> ProcessView {
        let mut cmdline = Vec::new();
        for a in argv {
            cmdline.extend_from_slice(a.as_bytes());
            cmdline.push(0);
        }
        ProcessView {
            comm: comm.into(),
            cmdline,
            zombie: false,
        }
    }

    /// A fake /proc: pid → view.
    struct Procs(HashMap<u32, ProcessView>);

    impl Procs {
        fn read(&self) -> impl Fn(u32) -> Option<ProcessView> + '_ {
            |pid| self.0.get(&pid).cloned()
        }
        fn pids(&self) -> Vec<u32> {
            self.0.keys().copied().collect()
        }
    }

    fn status(name: &str, up: bool) -> ProcessStatus {
        ProcessStatus {
            name: name.into(),
            up,
        }
    }

    #[test]
    fn matching_by_name_and_by_command_line() {
        let sleeper = view("sleep", &["sleep", "1000", "kalive-marker"]);
        assert!(spec("p", "sleep").matches(&sleeper));
        assert!(!spec("p", "slee").matches(&sleeper));
        let mut full = spec("p", "sleep");
        full.full_command = true;
        assert!(full.matches(&sleeper), "no parameters: any");
        full.params = b"1000\0kalive-marker\0".to_vec();
        full.param_match = ParamMatch::Exact;
        assert!(full.matches(&sleeper));
        assert!(!full.matches(&view("sleep", &["sleep", "1000", "kalive-marker", "x"])));
        full.param_match = ParamMatch::Partial;
        assert!(full.matches(&view("sleep", &["sleep", "1000", "kalive-marker", "x"])));
        assert!(!full.matches(&view("sleep", &["sleep", "1000", "kalive-marker2"])));
        full.param_match = ParamMatch::Initial;
        assert!(full.matches(&view("sleep", &["sleep", "1000", "kalive-marker2"])));
        assert!(!full.matches(&view("sleep", &["sleep", "1001", "kalive-marker"])));
        assert!(!full.matches(&view("sleep", &["/bin/sleep", "1000", "kalive-marker"])));
    }

    #[test]
    fn exit_and_exec_move_the_quorum() {
        let procs = Procs(HashMap::from([(10, view("nginx", &["nginx"]))]));
        let mut t = Tracker::new(vec![spec("web", "nginx")], &procs.pids(), &procs.read());
        assert_eq!(t.drain(), [status("web", true)]);
        let now = Instant::now();
        t.handle_event(now, &ProcEvent::Exit { pid: 10, tgid: 10 }, &procs.read());
        assert_eq!(t.drain(), [status("web", false)]);
        let later = Procs(HashMap::from([(11, view("nginx", &["nginx"]))]));
        t.handle_event(now, &ProcEvent::Exec { pid: 11, tgid: 11 }, &later.read());
        assert_eq!(t.drain(), [status("web", true)]);
        // A thread's exit is not the process's.
        t.handle_event(now, &ProcEvent::Exit { pid: 12, tgid: 11 }, &later.read());
        assert!(t.drain().is_empty());
        // exec into something else: no longer counted.
        let other = Procs(HashMap::from([(11, view("bash", &["bash"]))]));
        t.handle_event(now, &ProcEvent::Exec { pid: 11, tgid: 11 }, &other.read());
        assert_eq!(t.drain(), [status("web", false)]);
    }

    #[test]
    fn quorum_and_quorum_max() {
        let mut s = spec("workers", "w");
        s.quorum = 2;
        s.quorum_max = 3;
        let procs = Procs(HashMap::from([(1, view("w", &["w"]))]));
        let mut t = Tracker::new(vec![s], &procs.pids(), &procs.read());
        assert_eq!(t.drain(), [status("workers", false)], "1 < quorum 2");
        let now = Instant::now();
        let w = Procs(HashMap::from([
            (2, view("w", &["w"])),
            (3, view("w", &["w"])),
        ]));
        for pid in [2, 3] {
            t.handle_event(now, &ProcEvent::Exec { pid, tgid: pid }, &w.read());
        }
        let w4 = Procs(HashMap::from([(4, view("w", &["w"]))]));
        assert_eq!(t.drain(), [status("workers", true)], "3 within [2:3]");
        t.handle_event(now, &ProcEvent::Exec { pid: 4, tgid: 4 }, &w4.read());
        assert_eq!(t.drain(), [status("workers", false)], "4 > quorum_max");
        t.handle_event(now, &ProcEvent::Exit { pid: 4, tgid: 4 }, &w4.read());
        assert_eq!(t.drain(), [status("workers", true)]);
        assert_eq!(t.count("workers"), Some(3));
    }

    #[test]
    fn delays_postpone_and_cancel_each_other() {
        let mut s = spec("web", "nginx");
        s.terminate_delay = Duration::from_secs(2);
        s.fork_delay = Duration::from_secs(3);
        let procs = Procs(HashMap::from([(10, view("nginx", &["nginx"]))]));
        let mut t = Tracker::new(vec![s], &procs.pids(), &procs.read());
        t.drain();
        let t0 = Instant::now();
        t.handle_event(t0, &ProcEvent::Exit { pid: 10, tgid: 10 }, &procs.read());
        assert!(t.drain().is_empty(), "terminate_delay holds the loss");
        assert_eq!(t.poll_timeout(), Some(t0 + Duration::from_secs(2)));
        t.handle_timeout(t0 + Duration::from_secs(1));
        assert!(t.drain().is_empty());
        t.handle_timeout(t0 + Duration::from_secs(2));
        assert_eq!(t.drain(), [status("web", false)]);
        // Back by exec: at once (fork_delay is for forks).
        let back = Procs(HashMap::from([(20, view("nginx", &["nginx"]))]));
        t.handle_event(t0, &ProcEvent::Exec { pid: 20, tgid: 20 }, &back.read());
        assert_eq!(t.drain(), [status("web", true)]);
        // Dies and a fork of... nothing tracked: down after the delay;
        // a restart within the delay cancels it with no change reported.
        t.handle_event(t0, &ProcEvent::Exit { pid: 20, tgid: 20 }, &back.read());
        let again = Procs(HashMap::from([(21, view("nginx", &["nginx"]))]));
        t.handle_event(t0, &ProcEvent::Exec { pid: 21, tgid: 21 }, &again.read());
        assert_eq!(t.poll_timeout(), None, "terminate delay cancelled");
        assert!(t.drain().is_empty());
        // A forked child counts too (after fork_delay when it brings quorum).
        let mut s2 = spec("pair", "nginx");
        s2.quorum = 2;
        s2.fork_delay = Duration::from_secs(3);
        let mut t2 = Tracker::new(vec![s2], &again.pids(), &again.read());
        assert_eq!(t2.drain(), [status("pair", false)]);
        let fork = ProcEvent::Fork {
            parent_tgid: 21,
            child_pid: 22,
            child_tgid: 22,
        };
        t2.handle_event(t0, &fork, &again.read());
        assert!(t2.drain().is_empty(), "fork_delay holds the gain");
        t2.handle_timeout(t0 + Duration::from_secs(3));
        assert_eq!(t2.drain(), [status("pair", true)]);
        assert_eq!(t2.count("pair"), Some(2));
    }

    #[test]
    fn renames_and_resync() {
        let procs = Procs(HashMap::from([(5, view("worker", &["python3", "w.py"]))]));
        let mut t = Tracker::new(vec![spec("w", "worker")], &procs.pids(), &procs.read());
        assert_eq!(t.drain(), [status("w", true)]);
        let now = Instant::now();
        let comm = ProcEvent::Comm {
            pid: 5,
            tgid: 5,
            comm: "other".into(),
        };
        t.handle_event(now, &comm, &procs.read());
        assert_eq!(t.drain(), [status("w", false)]);
        // Events lost: the rescan finds it under its name again.
        t.resync(now, &procs.pids(), &procs.read());
        assert_eq!(t.drain(), [status("w", true)]);
        // Zombies do not count.
        let mut z = view("worker", &[]);
        z.zombie = true;
        let zombies = Procs(HashMap::from([(5, z)]));
        t.resync(now, &zombies.pids(), &zombies.read());
        assert_eq!(t.drain(), [status("w", false)]);
    }
}
