//! The crate's error type: configuration the engine cannot run.

/// Why [`crate::Checks::new`] or [`crate::Checks::reconfigure`] refused a
/// configuration (a refused reload leaves the running engine untouched).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Two virtual servers share a name (their identity across reloads).
    #[error("duplicate virtual server {0}")]
    DuplicateVirtualServer(String),
    /// Two real servers of one virtual server share address and port.
    #[error("virtual server {vs}: duplicate real server {rs}")]
    DuplicateRealServer {
        /// The virtual server.
        vs: String,
        /// The real server, `[addr]:port`.
        rs: String,
    },
    /// A checker would poll with a zero interval.
    #[error("delay_loop must be greater than zero")]
    ZeroDelayLoop,
}
