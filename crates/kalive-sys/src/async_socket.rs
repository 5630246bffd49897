//! Registering sockets with tokio's reactor.

use std::io;
use std::os::fd::AsRawFd;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Registers a non-blocking descriptor with the current tokio runtime for
/// `interest`. Fails (instead of panicking, as tokio would) outside a
/// runtime.
#[allow(unsafe_code)]
pub(crate) fn register<T: AsRawFd>(inner: T, interest: Interest) -> io::Result<AsyncFd<T>> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(io::Error::other(
            "kalive-sys sockets must be opened within a tokio runtime",
        ));
    }
    // SAFETY: every `T` registered here (`socket2::Socket`, the epoll
    // holder of `ReceiveSet`) owns its file descriptor: it stays open and
    // the same until `T` is dropped, which happens only when the AsyncFd is
    // dropped (we never call `into_inner` or forget it), and `as_raw_fd`
    // always returns that one descriptor.
    unsafe { AsyncFd::register_with_interest(inner, interest) }.map_err(|e| e.into_parts().1)
}
