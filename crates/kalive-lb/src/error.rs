//! The crate's single error type.

use crate::config::{RsKey, VsKey};

#[derive(Debug, thiserror::Error)]
pub enum LbError {
    /// The caller named a virtual service the configuration does not have.
    #[error("no virtual server {0}")]
    UnknownService(VsKey),
    /// The caller named a real server its service does not have.
    #[error("no real server {} in virtual server {vs}", rs.display_in(vs))]
    UnknownRealServer { vs: VsKey, rs: RsKey },
    /// `nft -j list` output that is not what nft writes.
    #[error("unreadable nft listing: {0}")]
    Listing(String),
    /// State the IPVS backend cannot express (e.g. a range too wide).
    #[error("cannot program IPVS: {0}")]
    Unrenderable(String),
    /// A kernel IPVS reply that is not what the kernel sends.
    #[error("unreadable IPVS reply: {0}")]
    IpvsReply(String),
}
