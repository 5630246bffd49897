//! kalive-check: the sans-IO health-checking engine (see
//! ../shared/DESIGN.md, Layers, and "How data flows" §6–7).
//!
//! Time goes in, effects come out; nothing here reads a clock, opens a socket
//! or runs a script. One [`Checks`] holds every virtual server, real server
//! and checker of a daemon.
//!
//! # API
//!
//! ```text
//! let mut checks = Checks::new(&config, now, seed)?;   // no outputs
//! let layout = checks.layout();                         // ids + initial states
//! loop {
//!     while let Some(out) = checks.poll_output() { carry_out(out) }
//!     sleep until checks.poll_timeout() or an input arrives;
//!     checks.handle_timeout(now) | checks.handle_input(now, input);
//! }
//! let r = checks.reconfigure(now, &new_config)?;       // reload
//! ```
//!
//! - [`CheckConfig`] → [`VirtualServerConfig`] → [`RealServerConfig`] →
//!   [`CheckerConfig`]: plain structs the daemon lowers keepalived.conf
//!   into. Polling keywords ([`Settings`]: `connect_timeout`, `delay_loop`,
//!   `warmup`, `retry`/`nb_get_retry`, `delay_before_retry`, `alpha`) are
//!   inherited virtual server → real server → checker, then take
//!   keepalived's defaults ([`Timing::resolve`], reference
//!   keepalived-behaviour.md §1.12). The probe itself is opaque data:
//!   [`ProbeSpec`].
//! - Ids ([`VirtualServerId`], [`RealServerId`], [`CheckerId`]) are assigned
//!   by the engine and survive a reload for what did not change;
//!   [`Checks::layout`] and [`Reconfigured::layout`] map configuration
//!   positions to ids.
//! - [`Output::RunProbe`] asks for one run of a checker's probe;
//!   [`Input::ProbeDone`] answers it (with the run's [`ProbeId`]). An answer
//!   for a removed checker or a superseded run is ignored; a run not answered
//!   within its timeout + [`PROBE_GRACE`] counts as a failure.
//! - [`Output::RealServerUp`]/[`Output::RealServerDown`] when a real server
//!   becomes (un)usable: usable = enabled by the operator
//!   ([`Input::SetRealServerEnabled`]) and every checker up;
//!   [`Output::WeightChanged`] for `misc_dynamic` ([`Outcome::from_misc_exit`])
//!   and FILE_CHECK weights ([`Input::TrackFile`]);
//!   [`Output::CheckerChanged`]/[`Output::CheckFailed`] carry keepalived's
//!   log lines.
//! - `ha_suspend`: such virtual servers start suspended;
//!   [`Input::SetSuspended`] pauses/resumes their checks (state is kept).
//! - Snapshots: [`Checks::real_server`], [`Checks::real_servers`],
//!   [`Checks::checker`], [`Checks::virtual_server`].
//!
//! # Schedule
//!
//! A polled checker's first check falls within its `warmup`, spread by a
//! seeded low-discrepancy sequence (keepalived draws it at random); regular
//! checks then fall every `delay_loop` on that checker's own grid, so many
//! checkers never clump. A failure of an up checker is retried `retry`
//! times, each `delay_before_retry` after the failed run's result, before the
//! checker is declared down; the first result of a checker decides at once
//! (keepalived: "one failure is enough initially"). A down checker is probed
//! every `delay_loop` without retries. Worst-case detection of a server that
//! dies right after a check: `delay_loop + (retry + 1) × connect_timeout +
//! retry × delay_before_retry`.
//!
//! All inputs and outputs are serde (times as microseconds) so a run can be
//! recorded as JSON lines and replayed.

#![forbid(unsafe_code)]

mod config;
mod engine;
mod error;
mod io;
mod messages;
mod probe;
mod spread;
mod status;
mod time;

pub use config::{
    CheckConfig, CheckerConfig, Protocol, RealServerConfig, Settings, Timing, VirtualServerConfig,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_DELAY_LOOP, DEFAULT_WEIGHT, MAX_WEIGHT,
};
pub use engine::{Checks, PROBE_GRACE};
pub use error::Error;
pub use io::{
    Cause, CheckerId, Input, Outcome, Output, ProbeId, RealServerId, ScriptExit, VirtualServerId,
};
pub use probe::{
    Connect, DnsQueryType, FileProbe, HttpProbe, HttpVersion, MiscProbe, ProbeSpec, UdpProbe,
    UrlProbe,
};
pub use status::{
    CheckerStatus, Layout, RealServerLayout, RealServerStatus, Reconfigured, VirtualServerLayout,
    VirtualServerStatus,
};
pub use time::Timestamp;
