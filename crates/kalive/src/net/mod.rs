//! The netlink owner (DESIGN.md, Inside the daemon): the one place that
//! changes addresses, routes and rules and sends GARP / NA frames.

pub mod ops;
mod owner;
mod queue;

pub use owner::{NetHandle, NetOwner};
pub use queue::{Change, Frame, NetCounters, MAX_FRAMES};
