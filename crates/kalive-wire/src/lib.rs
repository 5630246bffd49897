//! kalive-wire: the packet layer of kalive (see ../shared/DESIGN.md, Layers).
//!
//! In the style of smoltcp's `wire` module: zero-copy views
//! (`Packet<T: AsRef<[u8]>>` with `new_unchecked`, `new_checked`, getters and,
//! for `T: AsMut<[u8]>`, setters) plus typed `Repr` structs with `parse`,
//! `buffer_len` and `emit`. No I/O happens here.
//!
//! Modules:
//! - [`vrrp`]: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798 / RFC 9568) adverts,
//!   re-exported at the crate root ([`AdvertRepr`], [`Checksum`], ...).
//! - [`checksum`]: RFC 1071 sums and the v3 pseudo-headers.
//! - [`ethernet`], [`ipv4`], [`ipv6`]: the headers around a VRRP message.
//! - [`arp`]: gratuitous ARP; [`ndisc`]: unsolicited neighbour advertisement.

#![forbid(unsafe_code)]

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod ipv4;
pub mod ipv6;
pub mod ndisc;
pub mod vrrp;

mod error;

pub use error::Error;
pub use vrrp::{
    identify_checksum, AdvertRepr, Auth, Checksum, ChecksumKind, Family, Packet, Version,
    IPPROTO_VRRP, VRRP_MCAST_V4, VRRP_MCAST_V6,
};

/// A MAC (Ethernet hardware) address.
pub type MacAddr = [u8; 6];

/// The Ethernet broadcast address.
pub const MAC_BROADCAST: MacAddr = [0xff; 6];

/// Reads a big-endian u16 at `at`; the caller has checked the length.
pub(crate) fn read_u16(buf: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([buf[at], buf[at + 1]])
}

/// Writes a big-endian u16 at `at`; the caller has checked the length.
pub(crate) fn write_u16(buf: &mut [u8], at: usize, value: u16) {
    buf[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

/// Returns `Err(BufferTooSmall)` unless `buf` holds at least `needed` bytes.
pub(crate) fn ensure_room(buf: &[u8], needed: usize) -> Result<(), Error> {
    if buf.len() < needed {
        Err(Error::BufferTooSmall {
            needed,
            available: buf.len(),
        })
    } else {
        Ok(())
    }
}

/// Copies a 6-byte MAC out of `buf` at `at`; the caller has checked the length.
pub(crate) fn read_mac(buf: &[u8], at: usize) -> MacAddr {
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&buf[at..at + 6]);
    mac
}
