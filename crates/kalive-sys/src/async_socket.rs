//! Registering sockets with tokio's reactor.

use std::io;

use socket2::Socket;
use tokio::io::unix::AsyncFd;

/// Registers a non-blocking socket with the current tokio runtime. Fails
/// (instead of panicking, as tokio would) outside a runtime.
#[allow(unsafe_code)]
pub(crate) fn register(socket: Socket) -> io::Result<AsyncFd<Socket>> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(io::Error::other(
            "kalive-sys sockets must be opened within a tokio runtime",
        ));
    }
    // SAFETY: `socket2::Socket` owns its file descriptor: it stays open and
    // the same until the Socket is dropped, which happens only when the
    // AsyncFd is dropped (we never call `into_inner` or forget it), and
    // `as_raw_fd` always returns that one descriptor.
    unsafe { AsyncFd::register(socket) }.map_err(|e| e.into_parts().1)
}
