//! kalive-vrrp: the sans-IO VRRP engine (see ../shared/DESIGN.md, Layers).
//!
//! Time goes in, effects come out; nothing here reads a clock or touches a
//! socket. One [`Vrrp`] holds every `vrrp_instance` and `vrrp_sync_group` of
//! a daemon.
//!
//! # API
//!
//! ```text
//! let mut vrrp = Vrrp::new(instance_configs, sync_group_configs, now)?;
//! vrrp.handle_input(now, Input::Link { .. });        // initial states, optional
//! vrrp.handle_input(now, Input::Start);              // INIT -> BACKUP/FAULT/MASTER
//! loop {
//!     while let Some(out) = vrrp.poll_output() { carry_out(out) }
//!     sleep until vrrp.poll_timeout() or an input arrives;
//!     vrrp.handle_timeout(now) | vrrp.handle_input(now, input);
//! }
//! vrrp.handle_input(now, Input::Shutdown);           // priority 0, remove VIPs, STOP
//! ```
//!
//! - [`InstanceConfig`] (built with [`InstanceConfig::new`] and keepalived's
//!   defaults, then adjusted field by field) and [`SyncGroupConfig`] are the
//!   engine's own plain structs; the daemon maps keepalived.conf onto them.
//!   Instances are addressed by [`InstanceId`] = index in the `configs`
//!   vector, groups by [`GroupId`] = index in `sync_groups`.
//! - [`Input`]: `Start`, `Packet(ReceivedPacket)` (the VRRP message after the
//!   IP header, with source, destination, TTL and interface), `Link`,
//!   `ScriptResult` (raw exit status: rise/fall counting is done here),
//!   `FileValue`, `Process`, `Shutdown`, `Command`.
//! - [`Output`]: `SendAdvert` (one per unicast peer or one to the group, bytes
//!   ready for an IP header with TTL 255, protocol 112), `SendGarp`/`SendNa`
//!   (one per address per repeat; pacing is the sender's), `Add/RemoveAddresses`
//!   (VIPs and, with `excluded: true`, excluded VIPs), `Add/RemoveRoutes`,
//!   `Add/RemoveRules` (opaque daemon handles), `Notify` (keepalived's
//!   `INSTANCE|GROUP name STATE prio`), `StateChanged` (with a [`Reason`]),
//!   `PriorityChanged`.
//! - Accessors: [`Vrrp::state`], [`Vrrp::effective_priority`],
//!   [`Vrrp::master_adver_interval`], [`Vrrp::stats`] (per-reason receive
//!   counters, [`RxDrop`]), [`Vrrp::group_state`], [`Vrrp::instance_id`].
//! - [`Timestamp`] is a `Duration` since an origin the caller picks; every
//!   interval is a `Duration` and centiseconds exist only on the wire.
//!
//! All inputs and outputs are serde (bytes as hex strings, times as
//! microseconds) so a run can be recorded as JSON lines and replayed.
//!
//! Behaviour follows RFC 3768 / RFC 5798 / RFC 9568 and, where it differs,
//! keepalived as described in `reference/keepalived-behaviour.md` §2.

#![forbid(unsafe_code)]

mod codec;
mod config;
mod error;
mod instance;
mod io;
mod stats;
mod time;
mod track;
mod vrrp;

pub use config::{
    Authentication, Family, GarpConfig, InitialState, InstanceConfig, SyncGroupConfig, TrackedFile,
    TrackedInterface, TrackedProcess, TrackedScript, UnicastPeer, Version, VirtualAddress,
};
pub use error::Error;
pub use io::{
    Command, GroupId, Input, InstanceId, NotifyState, NotifyTarget, Output, Reason, ReceivedPacket,
    State,
};
pub use stats::{RxDrop, Stats};
pub use time::Timestamp;
pub use vrrp::Vrrp;
