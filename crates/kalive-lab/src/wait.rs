//! Bounded waiting and the process-wide interrupt flag.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::error::{LabError, Result};

static INTERRUPT: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The flag Ctrl-C / SIGTERM handlers set; every wait of the lab checks it
/// so that the caller unwinds and [`crate::Lab`]'s drop cleans up.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    INTERRUPT
        .get_or_init(|| Arc::new(AtomicBool::new(false)))
        .clone()
}

/// Whether an interrupt was requested.
pub fn interrupted() -> bool {
    interrupt_flag().load(Ordering::Relaxed)
}

/// Sleeps `duration` in small steps, returning early with
/// [`LabError::Interrupted`] on Ctrl-C.
pub fn sleep(duration: Duration) -> Result<()> {
    let deadline = Instant::now() + duration;
    loop {
        if interrupted() {
            return Err(LabError::Interrupted);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(());
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(50)));
    }
}

/// Calls `probe` every `poll` until it returns `Some`, at most for
/// `timeout` (so at most `timeout / poll + 1` times).
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    poll: Duration,
    mut probe: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let start = Instant::now();
    let max_tries = (timeout.as_millis() / poll.as_millis().max(1)) as usize + 2;
    for _ in 0..max_tries {
        if let Some(value) = probe()? {
            return Ok(value);
        }
        if start.elapsed() >= timeout {
            break;
        }
        sleep(poll)?;
    }
    Err(LabError::Timeout {
        what: what.to_string(),
        waited: start.elapsed(),
    })
}
