//! Decoding never panics, whatever the bytes; and every encodable advert
//! survives emit -> parse. Bounded case counts so the whole file runs in a
//! few seconds in CI (the cargo-fuzz target in fuzz/ explores further).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use kalive_wire::arp::{self, ArpRepr, GarpRepr};
use kalive_wire::ethernet::{EthernetRepr, Frame};
use kalive_wire::ipv4::{Ipv4Header, Ipv4Repr};
use kalive_wire::ipv6::{Ipv6Header, Ipv6Repr};
use kalive_wire::ndisc::{NdiscRepr, UnsolicitedNa};
use kalive_wire::{identify_checksum, AdvertRepr, Auth, Checksum, Family, Version};
use proptest::prelude::*;

fn checksums() -> [Checksum; 4] {
    let src = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let dst = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
    let src6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    [
        Checksum::V2,
        Checksum::V3 { src, dst },
        Checksum::V3 {
            src: src6,
            dst: src6,
        },
        Checksum::V3AsV2,
    ]
}

/// Runs every decoder over `bytes`; only panics matter.
fn decode_everything(bytes: &[u8]) {
    for family in [Family::V4, Family::V6] {
        for checksum in checksums() {
            let _ = AdvertRepr::parse(bytes, family, checksum);
        }
        if let Ok(p) = kalive_wire::Packet::new_checked(bytes, family) {
            let _ = (p.vrid(), p.priority(), p.auth_type(), p.max_adver_int_v3());
            let _ = (p.addr_bytes(family), p.checksum());
            if p.version() == Ok(Version::V2) {
                let _ = p.auth_data(family);
            }
        }
    }
    let _ = identify_checksum(
        bytes,
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
    );
    if let Ok(h) = Ipv4Header::new_checked(bytes) {
        let _ = (Ipv4Repr::parse(&h), h.payload());
    }
    if let Ok(h) = Ipv6Header::new_checked(bytes) {
        let _ = (Ipv6Repr::parse(&h), h.payload());
    }
    if let Ok(p) = arp::Packet::new_checked(bytes) {
        let _ = ArpRepr::parse(&p);
    }
    let _ = NdiscRepr::parse(bytes, Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED);
    if let Ok(f) = Frame::new_checked(bytes) {
        let _ = (EthernetRepr::parse(&f), f.payload());
    }
    let _ = GarpRepr::parse_frame(bytes);
    let _ = UnsolicitedNa::parse_frame(bytes);
}

fn ip_addr(v6: bool) -> BoxedStrategy<IpAddr> {
    if v6 {
        any::<[u8; 16]>()
            .prop_map(|o| IpAddr::V6(Ipv6Addr::from(o)))
            .boxed()
    } else {
        any::<[u8; 4]>()
            .prop_map(|o| IpAddr::V4(Ipv4Addr::from(o)))
            .boxed()
    }
}

/// Any advert the wire format can carry, with the family it travels over.
fn encodable_advert() -> impl Strategy<Value = (AdvertRepr, Family)> {
    (any::<bool>(), any::<bool>()).prop_flat_map(|(v3, v6)| {
        let v6 = v3 && v6;
        let auth = if v3 {
            Just(Auth::None).boxed()
        } else {
            prop_oneof![
                Just(Auth::None),
                Just(Auth::Ah),
                any::<[u8; 8]>().prop_map(Auth::Pass)
            ]
            .boxed()
        };
        let interval = if v3 {
            (0u16..=0x0fff).boxed()
        } else {
            (0u16..=255).prop_map(|s| s * 100).boxed()
        };
        let addrs = proptest::collection::vec(ip_addr(v6), 0..20);
        (any::<u8>(), any::<u8>(), interval, auth, addrs).prop_map(
            move |(vrid, priority, interval_cs, auth, addrs)| {
                let version = if v3 { Version::V3 } else { Version::V2 };
                let family = if v6 { Family::V6 } else { Family::V4 };
                let repr = AdvertRepr {
                    version,
                    vrid,
                    priority,
                    interval_cs,
                    auth,
                    addrs,
                };
                (repr, family)
            },
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
        decode_everything(&bytes);
    }

    #[test]
    fn advert_round_trips((repr, family) in encodable_advert(), checksum_index in 0usize..4) {
        let checksum = checksums()[checksum_index];
        let mut buf = vec![0xa5u8; repr.buffer_len()];
        repr.emit(&mut buf, checksum).unwrap();
        prop_assert_eq!(AdvertRepr::parse(&buf, family, checksum), Ok(repr));
    }

    #[test]
    fn mutated_adverts_never_panic(
        (repr, _family) in encodable_advert(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut buf, Checksum::V2).unwrap();
        for (at, value) in flips {
            let len = buf.len();
            buf[at % len] = value;
        }
        decode_everything(&buf);
        decode_everything(&buf[..cut % (buf.len() + 1)]);
    }
}
