//! Waiting on several VRRP sockets without a wake-up per datagram.
//!
//! tokio's reactor watches its descriptors edge-triggered: every datagram
//! queued on a registered socket wakes the thread, whether or not a task
//! reads. A daemon that reads in batches (wait a few milliseconds after the
//! first datagram, then read all) would still wake once per datagram. A
//! `ReceiveSet` is an epoll instance of its own, watched by tokio: each
//! socket is added one-shot, so after its first datagram it is disabled
//! and later datagrams wake nobody, until [`ReceiveSet::rearm`] after the
//! batch was read. Sockets for it are opened with
//! [`crate::SocketOptions::wake_on_receive`] = false.

use std::os::fd::{AsFd, AsRawFd, RawFd};

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::error::{Result, SysError};
use crate::vrrp_socket::VrrpSocket;

/// The epoll instance, as tokio needs it (`AsRawFd`).
struct EpollFd(Epoll);

impl AsRawFd for EpollFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0 .0.as_raw_fd()
    }
}

/// A set of VRRP sockets that wakes its waiter once per batch.
pub struct ReceiveSet {
    epoll: AsyncFd<EpollFd>,
}

impl std::fmt::Debug for ReceiveSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiveSet")
            .field("fd", &self.epoll.as_raw_fd())
            .finish()
    }
}

fn armed() -> EpollFlags {
    EpollFlags::EPOLLIN | EpollFlags::EPOLLONESHOT
}

impl ReceiveSet {
    /// An empty set, registered with the current tokio runtime.
    pub fn new() -> Result<ReceiveSet> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)
            .map_err(|e| SysError::io("epoll_create", e.into()))?;
        let epoll = crate::async_socket::register(EpollFd(epoll), Interest::READABLE)
            .map_err(|e| SysError::io("register epoll with tokio", e))?;
        Ok(ReceiveSet { epoll })
    }

    /// Watch `socket`, armed. A closed socket leaves the set by itself.
    pub fn add(&self, socket: &VrrpSocket) -> Result<()> {
        self.epoll
            .get_ref()
            .0
            .add(socket.as_fd(), EpollEvent::new(armed(), 0))
            .map_err(|e| SysError::io(format!("epoll add {}", socket.ifname()), e.into()))
    }

    /// Arm `socket` again after reading it: its next datagram (or one still
    /// queued) wakes [`ReceiveSet::wait`].
    pub fn rearm(&self, socket: &VrrpSocket) -> Result<()> {
        let mut event = EpollEvent::new(armed(), 0);
        self.epoll
            .get_ref()
            .0
            .modify(socket.as_fd(), &mut event)
            .map_err(|e| SysError::io(format!("epoll rearm {}", socket.ifname()), e.into()))
    }

    /// Waits until an armed socket has a datagram; that socket is then
    /// disarmed. Returns how many sockets fired. Cancel-safe.
    pub async fn wait(&self) -> Result<usize> {
        loop {
            let mut guard = self
                .epoll
                .readable()
                .await
                .map_err(|e| SysError::io("wait for VRRP sockets", e))?;
            let mut events = [EpollEvent::empty(); 16];
            let fired = guard
                .get_inner()
                .0
                .wait(&mut events, EpollTimeout::ZERO)
                .map_err(|e| SysError::io("epoll_wait", e.into()))?;
            // Fewer events than room: nothing else is ready, so the next
            // call sleeps without asking epoll again. tokio keeps the
            // readiness if an event came in meanwhile.
            if fired < events.len() {
                guard.clear_ready();
            }
            if fired > 0 {
                return Ok(fired);
            }
        }
    }
}
