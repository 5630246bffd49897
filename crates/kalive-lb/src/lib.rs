//! kalive-lb: the load balancer's logic, without I/O (DESIGN.md, Layers).
//!
//! - [`LbEngine`]: configuration and real-server health in, desired state
//!   and notifications out (quorum, hysteresis, sorry server,
//!   `inhibit_on_failure`, `omega`), as keepalived's `check/ipwrapper.c`.
//! - [`diff`]: the operations between two states, for backends that apply
//!   changes one by one (IPVS).
//! - [`ipvs`]: the IPVS backend as data: generic netlink requests from
//!   [`LbOp`]s or from a reconciliation with the kernel's table, and the
//!   parsing of the kernel's dump replies.
//! - [`nft`]: the nftables backend as data: the table, the batch that
//!   reconciles what the kernel holds, and what nftables cannot do.

pub mod config;
pub mod diff;
pub mod engine;
pub mod error;
pub mod event;
pub mod ipvs;
pub mod nft;
pub mod state;

pub use config::{
    Family, LbConfig, Member, Method, Persistence, Protocol, RealServerConfig, RsKey, Scheduler,
    SchedulerFlags, ServiceConfig, SorryServerConfig, Tunnel, TunnelChecksum, TunnelKind, VsKey,
};
pub use diff::{apply, diff, LbOp};
pub use engine::LbEngine;
pub use error::LbError;
pub use event::LbEvent;
pub use state::{Dest, LbState, Service, ServiceSpec};
