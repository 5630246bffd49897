//! A precise one-shot timer for the VRRP actor.
//!
//! tokio's timer wheel has a 1 ms resolution and rounds deadlines up, which
//! cost kalive 1–2 ms of takeover time against keepalived (which sleeps on a
//! timerfd). A kernel timerfd, polled through tokio, fires on the hrtimer
//! with microsecond precision and no busy waiting.

use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::unix::AsyncFd;

/// `AsyncFd` wants `AsRawFd`; nix's `TimerFd` offers `AsFd`.
struct RawTimer(TimerFd);

impl AsRawFd for RawTimer {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

pub struct PreciseTimer {
    fd: AsyncFd<RawTimer>,
}

impl PreciseTimer {
    /// A disarmed timer on CLOCK_MONOTONIC (the clock of `Instant`). Must be
    /// called inside the tokio runtime.
    pub fn new() -> io::Result<PreciseTimer> {
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )
        .map_err(io::Error::from)?;
        // `AsyncFd::new` is deprecated because a raw-fd type may close or
        // reuse its descriptor behind tokio's back; `RawTimer` owns its
        // `OwnedFd` for as long as the AsyncFd lives, so it is sound here,
        // and the replacement (`register`) is `unsafe`, which this crate
        // forbids.
        #[allow(deprecated)]
        let fd = AsyncFd::new(RawTimer(fd))?;
        Ok(PreciseTimer { fd })
    }

    /// Fire once, `after` from now (a zero delay fires at once: timerfd
    /// would read zero as "disarm").
    pub fn arm(&self, after: Duration) {
        let after = after.max(Duration::from_nanos(1));
        let spec = TimeSpec::from(after);
        let _ = self
            .fd
            .get_ref()
            .0
            .set(Expiration::OneShot(spec), TimerSetTimeFlags::empty());
    }

    /// Wait until the armed deadline passes. Cancel-safe; a stale readiness
    /// (the timer was re-armed meanwhile) is absorbed and waited out.
    pub async fn expired(&self) {
        loop {
            let Ok(mut guard) = self.fd.readable().await else {
                return std::future::pending().await;
            };
            let fired = guard.try_io(|inner| match inner.get_ref().0.wait() {
                Ok(()) => Ok(()),
                Err(Errno::EAGAIN) => Err(io::ErrorKind::WouldBlock.into()),
                Err(e) => Err(io::Error::from(e)),
            });
            if let Ok(Ok(())) = fired {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test]
    async fn fires_within_a_fraction_of_a_millisecond() {
        let timer = PreciseTimer::new().expect("timerfd");
        for _ in 0..5 {
            let start = Instant::now();
            timer.arm(Duration::from_micros(2500));
            timer.expired().await;
            let took = start.elapsed();
            assert!(took >= Duration::from_micros(2500), "{took:?}");
            assert!(took < Duration::from_millis(50), "{took:?}");
        }
    }

    #[tokio::test]
    async fn rearming_replaces_the_deadline() {
        let timer = PreciseTimer::new().expect("timerfd");
        timer.arm(Duration::from_millis(1));
        timer.arm(Duration::from_millis(30));
        let start = Instant::now();
        timer.expired().await;
        assert!(start.elapsed() >= Duration::from_millis(25));
    }
}
