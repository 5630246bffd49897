//! kalive-sys: the only crate of kalive that talks to the operating system
//! (see `shared/DESIGN.md`, Layers). It sends and receives bytes and
//! changes kernel state; it never decides anything and never builds VRRP,
//! ARP or NA packets (kalive-wire does that).
//!
//! # API in one screen
//!
//! Raw VRRP sockets, one per (interface, family, mode) — `SocketOptions`
//! also selects `IPPROTO_AH` (51) for `auth_type AH` —
//! [`vrrp_socket`]:
//! ```ignore
//! let sock = VrrpSocket::open("eth0", Family::V4, Mode::standard_multicast(Family::V4))?;
//! sock.send_v4(src_v4, VRRP_GROUP_V4, 255, &advert).await?;        // IPv4 header built here
//! sock.send_v6(link_local, VRRP_GROUP_V6, 255, &advert).await?;     // on a Family::V6 socket
//! let rx: RxPacket = sock.recv().await?; // src, dst, ttl_or_hoplimit, payload (VRRP only), received_at
//! ```
//! `Mode::Unicast` joins nothing; `Mode::SendOnly` also drops everything
//! received (for sending out of a VMAC while receiving on its parent).
//! IPv6 sockets let the kernel compute/verify the VRRP checksum
//! (`IPV6_CHECKSUM` 6, like keepalived) unless
//! [`SocketOptions::ipv6_kernel_checksum`] is false.
//!
//! Netlink — [`netlink`] (one [`Netlink`] per namespace, cheap to clone):
//! ```ignore
//! let nl = Netlink::new()?;
//! let eth0: LinkInfo = nl.link_by_name("eth0").await?;  // index, mac, up, running, mtu
//! let src = nl.primary_address(eth0.index, Family::V6).await?; // first IPv4 / link-local
//! nl.add_address(&AddressSpec::new(eth0.index, vip, 32)).await?;   // .label, .broadcast, .scope, .nodad
//! nl.del_address(&AddressSpec::new(eth0.index, vip, 32)).await?;
//! let addrs: Vec<AddressInfo> = nl.list_addresses(Some(eth0.index)).await?;
//! nl.add_route(&Route { table: 100, via: Some(gw), ..Route::new(dst, 24) }).await?;
//! nl.add_rule(&Rule { from: Some((src, 32)), priority: Some(100), ..Rule::to_table(Family::V4, 100) }).await?;
//! let vmac = nl.add_vmac("vrrp.51", eth0.index, vmac_address(Family::V4, 51)).await?;
//! nl.set_link_up(vmac.index).await?;  nl.delete_link(vmac.index).await?;
//! let mut mon = Monitor::subscribe()?; // dump as events, NetEvent::DumpDone, then live changes
//! while let Some(event) = mon.next().await { /* NetEvent::Link(LinkEvent) | NetEvent::Addr(AddrEvent) */ }
//! // (after lost events — ENOBUFS — the monitor re-dumps by itself, reporting what vanished)
//! ```
//! Errors: one enum, [`SysError`]; [`SysError::is_already_exists`] and
//! [`SysError::is_not_found`] let the daemon treat "VIP already there" and
//! "already gone" as success.
//!
//! Frames — [`packet`]: `FrameSender::open()?.send_garp(ifindex, &frame)`
//! / `send_na` (whole Ethernet frames, any source MAC, e.g. the VMAC).
//!
//! IPVS — [`ipvs`] (transport only; `kalive_lb::ipvs` builds the bytes):
//! ```ignore
//! let ipvs = IpvsSocket::open()?;           // SysError::IpvsUnavailable without ip_vs
//! ipvs.request(req.cmd, &req.attrs)?;       // acknowledged; errno kept (EEXIST, ENOENT…)
//! let replies: Vec<Vec<u8>> = ipvs.dump(req.cmd, &req.attrs)?; // attributes per message
//! ```
//!
//! Sysctls — [`sysctl`]: `read`/`write` under `/proc/sys/net`, and
//! [`SysctlSaver`] which remembers and restores old values;
//! `sysctl::configure_vmac_v4` (keepalived's VMAC/parent sysctls) and
//! `sysctl::neutralise_all_rp_filter`, `sysctl::set_ipv6_enabled`.
//!
//! Files in directories others may write to — [`safe_file`]:
//! `write_replace(path, bytes, 0o600)` (temporary file created
//! exclusively, renamed over the name: a planted symlink is replaced, never
//! followed), `read_nofollow`, `remove_if_same(path, file_id)`.
//!
//! Processes — [`proc_events`]: `ProcEvents::open()?.recv(&mut batch)`
//! (fork / exec / comm / exit from the proc connector, opened in the
//! initial network namespace when needed), `read_process(pid)`,
//! `proc_pids()`: what `track_process` watches.
//!
//! Namespaces — [`netns`]: `in_netns(name, || …)` runs a closure on a
//! thread inside a namespace; `in_netns_tokio` also enters the caller's
//! tokio runtime, to open sockets there and use them from the caller.
//!
//! Scripts — [`script`]: `script::run(&ScriptCommand { program, args,
//! identity }, timeout, capture)` executes exactly `program` as
//! `identity` (uid, gid, complete group list) in its own process group;
//! a timeout kills the group. `script::spawn` starts one and returns a
//! [`script::RunningScript`] to wait for later (dropping it kills the group).
//!
//! Everything is bound to the network namespace of the thread that
//! created it. The `unsafe` blocks each have a `// SAFETY:` comment:
//! `IPV6_CHECKSUM` (setsockopt), the `sockaddr_ll` for AF_PACKET,
//! registering a socket with tokio (`AsyncFd::register`), the identity
//! switch before a script's exec (`pre_exec`), and `kill(2)` with a
//! real-time signal number ([`signal::send`]).
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod async_socket;
pub mod error;
pub mod ipvs;
mod link_index;
pub mod netlink;
pub mod netns;
pub mod nft;
pub mod packet;
pub mod proc_events;
pub mod receive_set;
pub mod safe_file;
pub mod script;
pub mod signal;
pub mod sysctl;
pub mod vrrp_socket;

pub use error::{Result, SysError};
pub use ipvs::IpvsSocket;
pub use link_index::if_index;
pub use netlink::{
    vmac_address, AddrEvent, AddressInfo, AddressSpec, LinkEvent, LinkInfo, Monitor, NetEvent,
    Netlink, Route, RouteKind, Rule, RuleAction, Scope, RTPROT_KEEPALIVED, TABLE_MAIN,
};
pub use netns::{in_netns, in_netns_tokio};
pub use nft::Nft;
pub use packet::FrameSender;
pub use receive_set::ReceiveSet;
pub use safe_file::FileId;
pub use sysctl::SysctlSaver;
pub use vrrp_socket::{
    Family, Mode, RxPacket, SocketOptions, VrrpSocket, IPPROTO_AH, IPPROTO_VRRP, VRRP_GROUP_V4,
    VRRP_GROUP_V6, VRRP_TOS, VRRP_TTL,
};
