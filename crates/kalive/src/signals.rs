//! The signals keepalived acts on (reference §1.3), as one stream. A leaf:
//! only the supervisor reads it.

use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::cli;
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalEvent {
    Reload,
    Stop,
    DumpData,
    DumpStats,
    DumpStatsClear,
    DumpJson,
}

/// All signal streams, registered before the first protocol action so that
/// an early TERM is not fatal by default.
pub struct Signals {
    hup: Signal,
    term: Signal,
    int: Signal,
    usr1: Signal,
    usr2: Signal,
    json: Signal,
    stats_clear: Signal,
    ignore_sigint: bool,
}

impl Signals {
    pub fn register(ignore_sigint: bool) -> Result<Signals, Error> {
        let reg = |kind: SignalKind| {
            signal(kind).map_err(|e| Error::Io("registering signal handlers".into(), e))
        };
        Ok(Signals {
            hup: reg(SignalKind::hangup())?,
            term: reg(SignalKind::terminate())?,
            int: reg(SignalKind::interrupt())?,
            usr1: reg(SignalKind::user_defined1())?,
            usr2: reg(SignalKind::user_defined2())?,
            json: reg(SignalKind::from_raw(cli::json_signal()))?,
            stats_clear: reg(SignalKind::from_raw(nix::libc::SIGRTMAX() - 1))?,
            ignore_sigint,
        })
    }

    pub async fn next(&mut self) -> SignalEvent {
        loop {
            return tokio::select! {
                _ = self.hup.recv() => SignalEvent::Reload,
                _ = self.term.recv() => SignalEvent::Stop,
                _ = self.int.recv() => {
                    if self.ignore_sigint { continue; }
                    SignalEvent::Stop
                }
                _ = self.usr1.recv() => SignalEvent::DumpData,
                _ = self.usr2.recv() => SignalEvent::DumpStats,
                _ = self.json.recv() => SignalEvent::DumpJson,
                _ = self.stats_clear.recv() => SignalEvent::DumpStatsClear,
            };
        }
    }
}
