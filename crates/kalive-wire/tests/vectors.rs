//! Every frame keepalived 2.2.7 sent (and the kernel frames captured beside
//! them) decodes, and re-encodes byte for byte from its decoded fields.
//! Captures: tests/data (keepalived 2.2.7, copied from shared/vectors, see its
//! README.md for how they were taken).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use kalive_wire::arp::{self, ArpRepr, GarpRepr};
use kalive_wire::ethernet::{self, EthernetRepr, Frame};
use kalive_wire::ipv4::{self, emit_vrrp_ipv4, Ipv4Header, Ipv4Repr};
use kalive_wire::ipv6::{self, Ipv6Header, Ipv6Repr};
use kalive_wire::ndisc::{NdiscRepr, UnsolicitedNa};
use kalive_wire::{
    identify_checksum, AdvertRepr, Auth, Checksum, ChecksumKind, Family, Version, IPPROTO_VRRP,
    VRRP_MCAST_V4, VRRP_MCAST_V6,
};

const KEEPALIVED_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x0a, 0x01];
const KEEPALIVED_V4: Ipv4Addr = Ipv4Addr::new(10, 201, 0, 1);
const PEER_V4: Ipv4Addr = Ipv4Addr::new(10, 201, 0, 2);

/// Reads the Ethernet frames of a classic little-endian pcap file.
fn read_pcap(name: &str) -> Vec<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert_eq!(
        &bytes[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "little-endian pcap magic"
    );
    let link_type = u32::from_le_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!(link_type, 1, "Ethernet link type");
    let mut frames = Vec::new();
    let mut at = 24;
    while at < bytes.len() {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        let origlen = u32::from_le_bytes(bytes[at + 12..at + 16].try_into().unwrap()) as usize;
        assert_eq!(caplen, origlen, "{name}: frame captured whole");
        frames.push(bytes[at + 16..at + 16 + caplen].to_vec());
        at += 16 + caplen;
        assert!(frames.len() < 1000, "bounded");
    }
    frames
}

/// What one captured frame decoded to.
#[derive(Debug, Clone, PartialEq)]
enum Decoded {
    Vrrp4 { ip: Ipv4Repr, advert: AdvertRepr },
    Vrrp6 { ip: Ipv6Repr, advert: AdvertRepr },
    Garp(GarpRepr),
    Arp(ArpRepr),
    Na(UnsolicitedNa),
    Ndisc { ip: Ipv6Repr, msg: NdiscRepr },
}

/// Decodes a frame, re-encodes it from the decoded fields and checks the
/// bytes are identical.
fn decode_and_reencode(frame: &[u8]) -> Decoded {
    let eth = EthernetRepr::parse(&Frame::new_checked(frame).unwrap()).unwrap();
    let payload = &frame[ethernet::HEADER_LEN..];
    let (decoded, reencoded) = match eth.ethertype {
        ethernet::ETHERTYPE_IPV4 => ipv4_vrrp(&eth, payload),
        ethernet::ETHERTYPE_ARP => arp_frame(&eth, frame),
        ethernet::ETHERTYPE_IPV6 => ipv6_frame(&eth, frame),
        other => panic!("unexpected ethertype {other:#06x}"),
    };
    assert_eq!(hex(&reencoded), hex(frame), "re-encoded {decoded:?}");
    decoded
}

fn ipv4_vrrp(eth: &EthernetRepr, payload: &[u8]) -> (Decoded, Vec<u8>) {
    let header = Ipv4Header::new_checked(payload).unwrap();
    let ip = Ipv4Repr::parse(&header).unwrap();
    assert_eq!(ip.protocol, IPPROTO_VRRP);
    let vrrp = header.payload();
    let checksum = match vrrp[0] >> 4 {
        2 => Checksum::V2,
        _ => Checksum::V3 {
            src: IpAddr::V4(ip.src),
            dst: IpAddr::V4(ip.dst),
        },
    };
    let advert = AdvertRepr::parse(vrrp, Family::V4, checksum).unwrap();

    let mut out = vec![0u8; ethernet::HEADER_LEN + ipv4::HEADER_LEN + advert.buffer_len()];
    eth.emit(&mut out).unwrap();
    let ip_buf = &mut out[ethernet::HEADER_LEN..];
    let hdr_len = emit_vrrp_ipv4(
        ip_buf,
        ip.src,
        ip.dst,
        ip.ttl,
        ip.ident,
        advert.buffer_len(),
    )
    .unwrap();
    advert.emit(&mut ip_buf[hdr_len..], checksum).unwrap();
    (Decoded::Vrrp4 { ip, advert }, out)
}

fn arp_frame(eth: &EthernetRepr, frame: &[u8]) -> (Decoded, Vec<u8>) {
    let arp =
        ArpRepr::parse(&arp::Packet::new_checked(&frame[ethernet::HEADER_LEN..]).unwrap()).unwrap();
    if let Ok(garp) = GarpRepr::parse_frame(frame) {
        let mut out = vec![0u8; garp.buffer_len()];
        garp.emit_frame(&mut out).unwrap();
        return (Decoded::Garp(garp), out);
    }
    let mut out = vec![0u8; ethernet::HEADER_LEN + arp.buffer_len()];
    eth.emit(&mut out).unwrap();
    arp.emit(&mut out[ethernet::HEADER_LEN..]).unwrap();
    (Decoded::Arp(arp), out)
}

fn ipv6_frame(eth: &EthernetRepr, frame: &[u8]) -> (Decoded, Vec<u8>) {
    let header = Ipv6Header::new_checked(&frame[ethernet::HEADER_LEN..]).unwrap();
    let ip = Ipv6Repr::parse(&header).unwrap();
    let at = ethernet::HEADER_LEN + ipv6::HEADER_LEN;
    let mut out = vec![0u8; at + ip.payload_len];
    eth.emit(&mut out).unwrap();
    ip.emit(&mut out[ethernet::HEADER_LEN..]).unwrap();
    match ip.next_header {
        IPPROTO_VRRP => {
            let checksum = Checksum::V3 {
                src: IpAddr::V6(ip.src),
                dst: IpAddr::V6(ip.dst),
            };
            let advert = AdvertRepr::parse(header.payload(), Family::V6, checksum).unwrap();
            advert.emit(&mut out[at..], checksum).unwrap();
            (Decoded::Vrrp6 { ip, advert }, out)
        }
        ipv6::NEXT_HEADER_ICMPV6 => {
            let msg = NdiscRepr::parse(header.payload(), ip.src, ip.dst).unwrap();
            if let Ok(na) = UnsolicitedNa::parse_frame(frame) {
                let mut na_out = vec![0u8; na.buffer_len()];
                na.emit_frame(&mut na_out).unwrap();
                return (Decoded::Na(na), na_out);
            }
            msg.emit(&mut out[at..], ip.src, ip.dst).unwrap();
            (Decoded::Ndisc { ip, msg }, out)
        }
        other => panic!("unexpected next header {other}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn adverts(decoded: &[Decoded]) -> Vec<&AdvertRepr> {
    decoded
        .iter()
        .filter_map(|d| match d {
            Decoded::Vrrp4 { advert, .. } | Decoded::Vrrp6 { advert, .. } => Some(advert),
            _ => None,
        })
        .collect()
}

fn decode_capture(name: &str) -> Vec<Decoded> {
    read_pcap(name)
        .iter()
        .map(|f| decode_and_reencode(f))
        .collect()
}

/// The last advert is keepalived's priority-0 advert on SIGTERM; all the
/// others carry the configured priority and are otherwise identical.
fn assert_adverts_end_with_priority_zero(adverts: &[&AdvertRepr], expected: &AdvertRepr) {
    let (last, running) = adverts.split_last().unwrap();
    assert!(!running.is_empty());
    for advert in running {
        assert_eq!(*advert, expected);
    }
    let shutdown = AdvertRepr {
        priority: 0,
        ..expected.clone()
    };
    assert_eq!(*last, &shutdown);
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

#[test]
fn v2pass_capture() {
    let decoded = decode_capture("v2pass.pcap");
    assert_eq!(decoded.len(), 10);
    let expected = AdvertRepr {
        version: Version::V2,
        vrid: 51,
        priority: 150,
        interval_cs: 100,
        auth: Auth::Pass(*b"secret12"),
        addrs: vec![v4(10, 201, 0, 251), v4(10, 201, 0, 252)],
    };
    assert_adverts_end_with_priority_zero(&adverts(&decoded), &expected);
    for d in &decoded {
        if let Decoded::Vrrp4 { ip, .. } = d {
            assert_eq!((ip.tos, ip.ttl, ip.dont_frag), (0xc0, 255, false));
            assert_eq!((ip.src, ip.dst), (KEEPALIVED_V4, VRRP_MCAST_V4));
        }
    }
    let garps: Vec<_> = decoded
        .iter()
        .filter_map(|d| match d {
            Decoded::Garp(g) => Some(g.ip),
            _ => None,
        })
        .collect();
    let (a, b) = (
        Ipv4Addr::new(10, 201, 0, 251),
        Ipv4Addr::new(10, 201, 0, 252),
    );
    assert_eq!(
        garps,
        vec![a, b, a, b],
        "vrrp_garp_master_repeat 2, both VIPs"
    );
    let routers: usize = decoded
        .iter()
        .filter(|d| {
            matches!(
                d,
                Decoded::Ndisc {
                    msg: NdiscRepr::RouterSolicit { .. },
                    ..
                }
            )
        })
        .count();
    assert_eq!(routers, 2, "kernel router solicitations decode too");
}

#[test]
fn v3v4_capture() {
    let decoded = decode_capture("v3v4.pcap");
    assert_eq!(decoded.len(), 8);
    let expected = AdvertRepr {
        version: Version::V3,
        vrid: 52,
        priority: 100,
        interval_cs: 100,
        auth: Auth::None,
        addrs: vec![v4(10, 201, 0, 253)],
    };
    assert_adverts_end_with_priority_zero(&adverts(&decoded), &expected);
    let garps = decoded
        .iter()
        .filter(|d| matches!(d, Decoded::Garp(g) if g.sender_mac == KEEPALIVED_MAC))
        .count();
    assert_eq!(garps, 5, "default vrrp_garp_master_repeat 5");
}

#[test]
fn v3v6_capture() {
    let decoded = decode_capture("v3v6.pcap");
    assert_eq!(decoded.len(), 15);
    let vip: Ipv6Addr = "fd00:201::254".parse().unwrap();
    let expected = AdvertRepr {
        version: Version::V3,
        vrid: 53,
        priority: 200,
        interval_cs: 50,
        auth: Auth::None,
        addrs: vec![IpAddr::V6(vip)],
    };
    assert_adverts_end_with_priority_zero(&adverts(&decoded), &expected);
    let link_local: Ipv6Addr = "fe80::ff:fe00:a01".parse().unwrap();
    for d in &decoded {
        match d {
            Decoded::Vrrp6 { ip, .. } => {
                assert_eq!((ip.src, ip.dst), (link_local, VRRP_MCAST_V6));
                assert_eq!((ip.traffic_class, ip.hop_limit), (0xc0, 255));
            }
            Decoded::Na(na) => assert_eq!(
                *na,
                UnsolicitedNa {
                    src_mac: KEEPALIVED_MAC,
                    target: vip
                }
            ),
            _ => {}
        }
    }
    let nas = decoded
        .iter()
        .filter(|d| matches!(d, Decoded::Na(_)))
        .count();
    assert_eq!(nas, 5);
}

#[test]
fn v3uni_capture() {
    let frames = read_pcap("v3uni.pcap");
    let decoded: Vec<_> = frames.iter().map(|f| decode_and_reencode(f)).collect();
    assert_eq!(decoded.len(), 10);
    let expected = AdvertRepr {
        version: Version::V3,
        vrid: 55,
        priority: 120,
        interval_cs: 100,
        auth: Auth::None,
        addrs: vec![v4(10, 201, 0, 249)],
    };
    assert_adverts_end_with_priority_zero(&adverts(&decoded), &expected);
    assert!(
        matches!(&decoded[1], Decoded::Arp(a) if a.operation == arp::Operation::Reply),
        "the peer's ARP reply is a plain ARP, not a GARP"
    );
    // keepalived 2.2.7 uses the real unicast destination in the pseudo-header.
    let advert = &frames[2][ethernet::HEADER_LEN + ipv4::HEADER_LEN..];
    assert_eq!(
        identify_checksum(advert, IpAddr::V4(KEEPALIVED_V4), IpAddr::V4(PEER_V4)),
        Some(ChecksumKind::Standard)
    );
}

#[test]
fn multicast_macs_match_the_captures() {
    assert_eq!(
        ethernet::ipv4_multicast_mac(VRRP_MCAST_V4),
        [0x01, 0x00, 0x5e, 0, 0, 0x12]
    );
    assert_eq!(
        ethernet::ipv6_multicast_mac(VRRP_MCAST_V6),
        [0x33, 0x33, 0, 0, 0, 0x12]
    );
}
