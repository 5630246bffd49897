//! The control protocol between `kalive ctl` and the daemon (DESIGN.md,
//! kalive-control): serde [`Request`] / [`Response`], one JSON document per
//! line in each direction, one request per connection, and a blocking
//! [`Client`]. The daemon's side (the root-only Unix socket) lives in the
//! `kalive` crate; this crate does no I/O but the client's.

mod client;
mod framing;
mod proto;

pub use client::{Client, ClientError};
pub use framing::{decode_line, encode_line, FramingError, MAX_MESSAGE};
pub use proto::*;
