//! Running code inside another network namespace.
//!
//! `setns()` changes only the calling thread, so each helper here runs the
//! closure on a fresh thread that enters the namespace first, and joins
//! it. Sockets (VRRP, netlink, AF_PACKET) keep the namespace they were
//! created in, so a socket opened inside [`in_netns_tokio`] can be used
//! from any task afterwards (rust-ecosystem.md §1, caveats).

use std::fs::File;
use std::path::PathBuf;

use nix::sched::{setns, CloneFlags};

use crate::error::{Result, SysError};

/// Where `ip netns add NAME` puts its namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// `/run/netns/NAME` for a bare name; a path (anything with a `/`) as is.
pub fn netns_path(name_or_path: &str) -> PathBuf {
    if name_or_path.contains('/') {
        PathBuf::from(name_or_path)
    } else {
        PathBuf::from(NETNS_RUN_DIR).join(name_or_path)
    }
}

/// Runs `f` on a new thread inside the network namespace `netns` (a name
/// from `ip netns` or a path such as `/proc/PID/ns/net`) and returns its
/// result.
pub fn in_netns<T, F>(netns: &str, f: F) -> Result<T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    let path = netns_path(netns);
    let namespace =
        File::open(&path).map_err(|e| SysError::io(format!("open netns {}", path.display()), e))?;
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            setns(&namespace, CloneFlags::CLONE_NEWNET)
                .map_err(|e| SysError::io(format!("setns {}", path.display()), e.into()))?;
            Ok(f())
        });
        worker
            .join()
            .map_err(|_| SysError::Invalid(format!("thread running in netns {netns} panicked")))?
    })
}

/// Like [`in_netns`], but the thread enters the caller's tokio runtime
/// first, so that `f` can open kalive-sys objects ([`crate::VrrpSocket`],
/// [`crate::Netlink`], [`crate::Monitor`], [`crate::FrameSender`]) bound to
/// that namespace and registered with the caller's runtime. Must be called
/// from within a tokio runtime.
pub fn in_netns_tokio<T, F>(netns: &str, f: F) -> Result<T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| SysError::Invalid("in_netns_tokio called outside a tokio runtime".into()))?;
    in_netns(netns, move || {
        let _entered = runtime.enter();
        f()
    })
}
