//! kalive-lab: a network-namespace lab for VRRP daemons.
//!
//! It builds a LAN of namespaces (a switch namespace with a bridge, N routers,
//! a client), starts kalive or keepalived in the routers from a config text,
//! injects faults (SIGKILL, SIGTERM, link down, loss and partitions with
//! nftables), records every advert and GARP/NA with kernel timestamps, and
//! measures takeover. Everything it creates carries a per-process prefix and
//! is removed on drop.
//!
//! Addresses: router `rN` has `10.0.L.N/24` and `fd00:0:0:L::N/64` (N in
//! hex for IPv6) on `ethL`; the client `c` has host number 100
//! (`10.0.0.100`, `fd00::64`). Routers answer TCP port
//! [`topology::DEFAULT_RESPONDER_PORT`] with their name, so a client
//! connection to a VIP tells which router holds it.
//!
//! Environment: `KALIVE_BIN` names the kalive binary (default: `kalive` in
//! the directory of the running executable or a parent, i.e. the cargo
//! target dir); `KALIVE_LAB_KEEP_LOGS=1` keeps each lab's directory
//! (configs, pid files, daemon console logs) after cleanup.
//!
//! ```no_run
//! use kalive_lab::{Implementation, Lab, LabSpec};
//! let mut lab = Lab::new(LabSpec::default())?;
//! lab.start_daemon(0, &Implementation::keepalived()?, "vrrp_instance V { … }")?;
//! # Ok::<(), kalive_lab::LabError>(())
//! ```

pub mod bench;
pub mod cmd;
pub mod daemon;
pub mod demo;
pub mod error;
pub mod fault;
pub mod guest;
pub mod inject;
pub mod ipvs_table;
pub mod measure;
pub mod netns;
pub mod observe;
pub mod record;
pub mod topology;
pub mod traffic;
pub mod vrrp_config;
pub mod wait;
pub mod webserver;

pub use daemon::{find_kalive_binary, Implementation};
pub use error::{LabError, Result};
pub use fault::{Direction, LossScope};
pub use measure::{master_down, skew, takeover, two_master_moments, Takeover};
pub use record::{Event, Frame};
pub use topology::{namespaces_with_prefix, Lab, LabSpec, Node};
pub use wait::{interrupt_flag, wait_for};
