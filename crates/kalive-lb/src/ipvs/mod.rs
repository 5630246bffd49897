//! The IPVS backend as data: generic netlink messages of the kernel's
//! `IPVS` family (`linux/ip_vs.h`), built from [`crate::LbOp`]s or from a
//! comparison with the table the kernel reports, and the parsing of that
//! report. kalive-sys resolves the family and sends the bytes.
//!
//! ```text
//! let reqs = ipvs::render(&before, &ops)?;             // incremental
//! let reqs = ipvs::reconcile(&kernel, &desired, &owned)?; // after a dump
//! for r in &reqs { socket.request(r.cmd, &r.attrs)?; }
//! ```
//!
//! One kalive service may stand for several kernel services (a
//! `virtual_server_group`: each address of each range and each fwmark);
//! [`table`] holds that expansion.

mod attr;
pub mod consts;
mod parse;
mod render;
mod request;
mod table;

pub use parse::{parse_dest, parse_service};
pub use render::{reconcile, render};
pub use request::{
    del_daemon, del_dest, del_service, dump_dests, dump_services, new_daemon, new_dest,
    new_service, set_dest, set_service, set_timeouts, IpvsRequest, SyncDaemon, SyncRole,
};
pub use table::{
    expand, kernel_dest, kernel_service, service_ids, IpvsTable, KernelDest, KernelService,
    ServiceId, MAX_RANGE_SERVICES,
};
