//! Interface name ↔ index, without netlink (cheap, synchronous).

use crate::error::{Result, SysError};

/// Index of interface `name` in the calling thread's network namespace.
pub fn if_index(name: &str) -> Result<u32> {
    nix::net::if_::if_nametoindex(name).map_err(|_| SysError::NoSuchLink(name.to_owned()))
}
