//! `cargo fuzz run decode` (see docs/fuzzing.md): every decoder of
//! kalive-wire on arbitrary bytes, twice over:
//!
//! - the bytes as one bare message of each kind (VRRP v2/v3 in both
//!   families with every checksum variant, IPv4/IPv6 headers, ARP, ICMPv6
//!   neighbour discovery);
//! - the bytes as a whole Ethernet frame, followed down the stack the way a
//!   receiver would (ethertype -> IPv4/IPv6 header -> VRRP with the header's
//!   own addresses in the v3 pseudo-header, or ICMPv6 NA; ARP; the GARP and
//!   unsolicited-NA shapes keepalived sends).
//!
//! Any panic is a bug, and whatever decodes must survive emit -> decode
//! unchanged. The seed corpus (fuzz/corpus/decode) holds the frames
//! keepalived 2.2.7 sent in shared/vectors, so the frame path starts with
//! valid checksums. The bounded CI run of the same idea is tests/no_panic.rs.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use kalive_wire::arp::{self, ArpRepr, GarpRepr};
use kalive_wire::ethernet::{self, EthernetRepr, Frame};
use kalive_wire::ipv4::{Ipv4Header, Ipv4Repr};
use kalive_wire::ipv6::{self, Ipv6Header, Ipv6Repr};
use kalive_wire::ndisc::{NdiscRepr, UnsolicitedNa};
use kalive_wire::{identify_checksum, AdvertRepr, Checksum, ChecksumKind, Family, IPPROTO_VRRP};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    bare_messages(data);
    frame(data);
});

/// The bytes as one message of each kind, with fixed addresses around it.
fn bare_messages(data: &[u8]) {
    let v4 = (
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
    );
    let v6 = (
        IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
        IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
    );
    for (family, (src, dst)) in [(Family::V4, v4), (Family::V6, v6)] {
        vrrp(data, family, src, dst);
    }
    if let Ok(h) = Ipv4Header::new_checked(data) {
        if let Ok(repr) = Ipv4Repr::parse(&h) {
            ipv4_round_trip(&repr, h.payload());
        }
    }
    if let Ok(h) = Ipv6Header::new_checked(data) {
        if let Ok(repr) = Ipv6Repr::parse(&h) {
            ipv6_round_trip(&repr, h.payload());
        }
    }
    if let Ok(p) = arp::Packet::new_checked(data) {
        if let Ok(repr) = ArpRepr::parse(&p) {
            arp_round_trip(&repr);
        }
    }
    if let (IpAddr::V6(src), IpAddr::V6(dst)) = v6 {
        ndisc(data, src, dst);
    }
}

/// A VRRP message from `src` to `dst`: every checksum variant, and the one
/// `identify_checksum` picks (what the engine does for unicast peers).
fn vrrp(data: &[u8], family: Family, src: IpAddr, dst: IpAddr) {
    let mut checksums = vec![Checksum::V2, Checksum::V3 { src, dst }, Checksum::V3AsV2];
    if let IpAddr::V4(src4) = src {
        checksums.push(Checksum::old_unicast(src4));
    }
    match identify_checksum(data, src, dst) {
        Some(ChecksumKind::Standard) => {
            assert!(
                AdvertRepr::parse(data, family, Checksum::V3 { src, dst })
                    != Err(kalive_wire::Error::BadChecksum)
            );
        }
        Some(ChecksumKind::AsV2) => {
            assert!(
                AdvertRepr::parse(data, family, Checksum::V3AsV2)
                    != Err(kalive_wire::Error::BadChecksum)
            );
        }
        Some(ChecksumKind::OldUnicast) | None => {}
    }
    for checksum in checksums {
        if let Ok(repr) = AdvertRepr::parse(data, family, checksum) {
            // Whatever parses must re-emit to something that parses back
            // the same (auth data of an AH advert and padding are not kept).
            let mut out = vec![0xa5u8; repr.buffer_len()];
            if repr.emit(&mut out, checksum).is_ok() {
                let again = AdvertRepr::parse(&out, family, checksum);
                assert_eq!(again.as_ref().ok(), Some(&repr), "{again:?}");
                // A message parses only at its exact length.
                assert_eq!(out.len(), data.len());
            }
        }
    }
}

fn ipv4_round_trip(repr: &Ipv4Repr, payload: &[u8]) {
    assert_eq!(payload.len(), repr.payload_len);
    let mut out = vec![0xa5u8; repr.buffer_len()];
    if repr.emit(&mut out).is_ok() {
        let h = Ipv4Header::new_unchecked(&out[..]);
        assert!(h.verify_checksum());
        let mut full = out.clone();
        full.extend(std::iter::repeat_n(0u8, repr.payload_len));
        let again = Ipv4Repr::parse(&Ipv4Header::new_unchecked(&full[..]));
        assert_eq!(again.as_ref().ok(), Some(repr), "{again:?}");
    }
}

fn ipv6_round_trip(repr: &Ipv6Repr, payload: &[u8]) {
    assert_eq!(payload.len(), repr.payload_len);
    let mut out = vec![0xa5u8; repr.buffer_len() + repr.payload_len];
    if repr.emit(&mut out).is_ok() {
        let again = Ipv6Repr::parse(&Ipv6Header::new_unchecked(&out[..]));
        assert_eq!(again.as_ref().ok(), Some(repr), "{again:?}");
    }
}

fn arp_round_trip(repr: &ArpRepr) {
    let mut out = vec![0xa5u8; repr.buffer_len()];
    if repr.emit(&mut out).is_ok() {
        let again = ArpRepr::parse(&arp::Packet::new_unchecked(&out[..]));
        assert_eq!(again.as_ref().ok(), Some(repr), "{again:?}");
    }
}

/// An ICMPv6 message from `src` to `dst`: RS/NA decode and round trip.
fn ndisc(data: &[u8], src: Ipv6Addr, dst: Ipv6Addr) {
    if let Ok(repr) = NdiscRepr::parse(data, src, dst) {
        let mut out = vec![0xa5u8; repr.buffer_len()];
        if repr.emit(&mut out, src, dst).is_ok() {
            let again = NdiscRepr::parse(&out, src, dst);
            assert_eq!(again.as_ref().ok(), Some(&repr), "{again:?}");
        }
    }
}

/// The bytes as an Ethernet frame, decoded the way a receiver walks it.
fn frame(data: &[u8]) {
    let Ok(f) = Frame::new_checked(data) else {
        return;
    };
    let Ok(eth) = EthernetRepr::parse(&f) else {
        return;
    };
    let mut out = vec![0xa5u8; eth.buffer_len()];
    if eth.emit(&mut out).is_ok() {
        let again = EthernetRepr::parse(&Frame::new_unchecked(&out[..]));
        assert_eq!(again.as_ref().ok(), Some(&eth));
    }
    let payload = f.payload();
    match eth.ethertype {
        ethernet::ETHERTYPE_IPV4 => {
            let Ok(h) = Ipv4Header::new_checked(payload) else {
                return;
            };
            let Ok(ip) = Ipv4Repr::parse(&h) else {
                return;
            };
            ipv4_round_trip(&ip, h.payload());
            if ip.protocol == IPPROTO_VRRP {
                vrrp(
                    h.payload(),
                    Family::V4,
                    IpAddr::V4(ip.src),
                    IpAddr::V4(ip.dst),
                );
            }
        }
        ethernet::ETHERTYPE_IPV6 => {
            let Ok(h) = Ipv6Header::new_checked(payload) else {
                return;
            };
            let Ok(ip) = Ipv6Repr::parse(&h) else {
                return;
            };
            ipv6_round_trip(&ip, h.payload());
            match ip.next_header {
                IPPROTO_VRRP => {
                    vrrp(
                        h.payload(),
                        Family::V6,
                        IpAddr::V6(ip.src),
                        IpAddr::V6(ip.dst),
                    );
                }
                ipv6::NEXT_HEADER_ICMPV6 => ndisc(h.payload(), ip.src, ip.dst),
                _ => {}
            }
            if let Ok(na) = UnsolicitedNa::parse_frame(data) {
                let mut out = vec![0xa5u8; na.buffer_len()];
                if na.emit_frame(&mut out).is_ok() {
                    assert_eq!(UnsolicitedNa::parse_frame(&out).ok(), Some(na));
                }
            }
        }
        ethernet::ETHERTYPE_ARP => {
            if let Ok(p) = arp::Packet::new_checked(payload) {
                if let Ok(repr) = ArpRepr::parse(&p) {
                    arp_round_trip(&repr);
                }
            }
            if let Ok(garp) = GarpRepr::parse_frame(data) {
                let mut out = vec![0xa5u8; garp.buffer_len()];
                if garp.emit_frame(&mut out).is_ok() {
                    assert_eq!(GarpRepr::parse_frame(&out).ok(), Some(garp));
                    // What keepalived sends is exactly what we emit.
                    assert_eq!(&data[..out.len()], &out[..]);
                }
            }
        }
        _ => {}
    }
}
