//! `cargo +nightly fuzz run decode`: every decoder of kalive-wire on
//! arbitrary bytes; any panic is a bug. The bounded CI run of the same idea
//! is tests/no_panic.rs (proptest).
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use kalive_wire::arp::{self, ArpRepr, GarpRepr};
use kalive_wire::ethernet::{EthernetRepr, Frame};
use kalive_wire::ipv4::{Ipv4Header, Ipv4Repr};
use kalive_wire::ipv6::{Ipv6Header, Ipv6Repr};
use kalive_wire::ndisc::{NdiscRepr, UnsolicitedNa};
use kalive_wire::{identify_checksum, AdvertRepr, Checksum, Family};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let src = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let dst = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
    for family in [Family::V4, Family::V6] {
        for checksum in [Checksum::V2, Checksum::V3 { src, dst }, Checksum::V3AsV2] {
            if let Ok(repr) = AdvertRepr::parse(data, family, checksum) {
                // Whatever parses must re-emit to the same bytes.
                let mut out = vec![0u8; repr.buffer_len()];
                if repr.emit(&mut out, checksum).is_ok() {
                    assert_eq!(AdvertRepr::parse(&out, family, checksum).ok(), Some(repr));
                }
            }
        }
    }
    let _ = identify_checksum(data, src, dst);
    if let Ok(h) = Ipv4Header::new_checked(data) {
        let _ = (Ipv4Repr::parse(&h), h.payload());
    }
    if let Ok(h) = Ipv6Header::new_checked(data) {
        let _ = (Ipv6Repr::parse(&h), h.payload());
    }
    if let Ok(p) = arp::Packet::new_checked(data) {
        let _ = ArpRepr::parse(&p);
    }
    let _ = NdiscRepr::parse(data, Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED);
    if let Ok(f) = Frame::new_checked(data) {
        let _ = EthernetRepr::parse(&f);
    }
    let _ = GarpRepr::parse_frame(data);
    let _ = UnsolicitedNa::parse_frame(data);
});
