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
//! // SIGHUP: carry out `retired` with the OLD tables, then the queue as usual.
//! let report = vrrp.reconfigure(now, new_instance_configs, new_groups)?;
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
//!   `FileValue`, `Process`, `Shutdown`, `Command` ([`Command`]: `ForceBackup`,
//!   and for manual switchover `Promote`, `Demote`, `Clear`).
//! - [`Output`]: `SendAdvert` (one per unicast peer or one to the group, bytes
//!   ready for an IP header with TTL 255, protocol 112), `SendGarp`/`SendNa`
//!   (one per address per repeat; pacing is the sender's), `Add/RemoveAddresses`
//!   (VIPs and, with `excluded: true`, excluded VIPs), `Add/RemoveRoutes`,
//!   `Add/RemoveRules` (opaque daemon handles), `Notify` (keepalived's
//!   `INSTANCE|GROUP name STATE prio`), `StateChanged` (with a [`Reason`]),
//!   `PriorityChanged`, `PacketDropped` (coalesced, for the daemon's
//!   rate-limited log of what keepalived logs on a dropped packet).
//! - Reload: [`Vrrp::reconfigure`] matches old and new instances as
//!   keepalived does, keeps their state and emits only the differences;
//!   [`Reconfigured::retired`] holds the outputs in terms of the old
//!   configuration (old ids, VIP keys, route/rule handles), the queue those
//!   in terms of the new one. Routes and rules are [`VirtualEntry`]s
//!   (handle + spec) so that they are compared by what they are.
//! - Accessors: [`Vrrp::state`], [`Vrrp::effective_priority`],
//!   [`Vrrp::master_adver_interval`], [`Vrrp::master_seen`], [`Vrrp::stats`]
//!   (per-reason receive counters, [`RxDrop`]) and [`Vrrp::clear_stats`],
//!   [`Vrrp::group_state`], [`Vrrp::instance_id`], [`Vrrp::config`],
//!   [`Vrrp::unknown_vrid_count`], [`Vrrp::priority_override`],
//!   [`Vrrp::base_priority`], [`Vrrp::last_transition`].
//!
//! # What the caller must know
//!
//! - Before [`Input::Start`], links are taken as up, tracked processes as
//!   down, scripts as not yet run (a weight-0 script holds its instance in
//!   FAULT until its first result; keepalived's "one success is enough"),
//!   files at their `initial_value`. Feed the real states first.
//! - [`InstanceConfig::source`] should be set (interface primary address or
//!   `mcast_src_ip`/`unicast_src_ip`): it is the equal-priority tie-break and
//!   the source in the VRRPv3 IPv4 checksum.
//! - Received packets are demultiplexed by interface name, family and VRID
//!   (unicast duplicates by peer); unknown ones only bump
//!   [`Vrrp::unknown_vrid_count`].
//! - Sync-group trackers: expand them into each member's tracker lists.
//! - One `SendAdvert` per destination; one `SendGarp`/`SendNa` per address
//!   per repeat, all at the same instant (spacing by `garp_interval` is the
//!   sender's job).
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
mod reload;
mod stats;
mod table;
mod time;
mod track;
mod vrrp;

pub use config::{
    Authentication, Family, GarpConfig, InitialState, InstanceConfig, SyncGroupConfig, TrackedFile,
    TrackedInterface, TrackedProcess, TrackedScript, UnicastPeer, Version, VirtualAddress,
    VirtualEntry,
};
pub use error::Error;
pub use io::{
    Command, GroupId, Input, InstanceId, NotifyState, NotifyTarget, Output, Reason, ReceivedPacket,
    State,
};
pub use reload::Reconfigured;
pub use stats::{RxDrop, Stats};
pub use time::Timestamp;
pub use vrrp::Vrrp;
