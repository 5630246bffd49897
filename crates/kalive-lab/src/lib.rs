//! kalive-lab: a network-namespace lab for VRRP daemons.
//!
//! It builds a LAN of namespaces (a switch namespace with a bridge, N routers,
//! a client), starts kalive or keepalived in the routers from a config text,
//! injects faults (SIGKILL, SIGTERM, link down, loss and partitions with
//! nftables), records every advert and GARP/NA with kernel timestamps, and
//! measures takeover. Everything it creates carries a per-process prefix and
//! is removed on drop.
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
pub mod inject;
pub mod measure;
pub mod netns;
pub mod observe;
pub mod record;
pub mod topology;
pub mod vrrp_config;
pub mod wait;

pub use daemon::{find_kalive_binary, Implementation};
pub use error::{LabError, Result};
pub use fault::{Direction, LossScope};
pub use measure::{master_down, skew, takeover, two_master_moments, Takeover};
pub use record::{Event, Frame};
pub use topology::{namespaces_with_prefix, Lab, LabSpec, Node};
pub use wait::{interrupt_flag, wait_for};
