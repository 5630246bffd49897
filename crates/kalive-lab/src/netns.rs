//! Entering a network namespace from a thread.
//!
//! `setns(CLONE_NEWNET)` changes only the calling thread, and a socket keeps
//! the namespace it was created in. So the lab opens sockets (responders,
//! the recorder, client probes) on short-lived or dedicated threads and never
//! moves the whole process.

use std::fs::File;

use nix::sched::{setns, CloneFlags};

use crate::error::{LabError, Result};

/// Path of a named namespace created by `ip netns add`.
pub fn netns_path(ns: &str) -> String {
    format!("/run/netns/{ns}")
}

/// Moves the calling thread into namespace `ns`. Call it only on a thread
/// that exists for that namespace.
pub fn enter(ns: &str) -> Result<()> {
    let path = netns_path(ns);
    let file = File::open(&path).map_err(|e| LabError::io(format!("open {path}"), e))?;
    setns(&file, CloneFlags::CLONE_NEWNET).map_err(|e| LabError::sys(format!("setns {path}"), e))
}

/// Runs `work` on a fresh thread inside namespace `ns` and returns its result.
pub fn run_in<T, F>(ns: &str, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    let ns = ns.to_string();
    let handle = std::thread::Builder::new()
        .name(format!("netns-{ns}"))
        .spawn(move || {
            enter(&ns)?;
            work()
        })
        .map_err(|e| LabError::io("spawn netns thread", e))?;
    handle
        .join()
        .map_err(|_| LabError::Usage("a netns thread panicked".into()))?
}
