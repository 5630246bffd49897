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
}
