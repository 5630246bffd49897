//! Emit/parse round trips, emission into dirty buffers, and the precise
//! parse errors the engine turns into keepalived's counters.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use kalive_wire::arp::GarpRepr;
use kalive_wire::ipv4::{self, emit_vrrp_ipv4, Ipv4Header, Ipv4Repr};
use kalive_wire::ndisc::UnsolicitedNa;
use kalive_wire::{
    identify_checksum, AdvertRepr, Auth, Checksum, ChecksumKind, Error, Family, Version,
    VRRP_MCAST_V4,
};

const SRC4: Ipv4Addr = Ipv4Addr::new(10, 201, 0, 1);
const PEER4: Ipv4Addr = Ipv4Addr::new(10, 201, 0, 2);

fn src6() -> Ipv6Addr {
    "fe80::ff:fe00:a01".parse().unwrap()
}

fn v3_mcast4() -> Checksum {
    Checksum::V3 {
        src: IpAddr::V4(SRC4),
        dst: IpAddr::V4(VRRP_MCAST_V4),
    }
}

fn v3_mcast6() -> Checksum {
    Checksum::V3 {
        src: IpAddr::V6(src6()),
        dst: IpAddr::V6(kalive_wire::VRRP_MCAST_V6),
    }
}

fn advert(version: Version, priority: u8, auth: Auth, addrs: Vec<IpAddr>) -> AdvertRepr {
    AdvertRepr {
        version,
        vrid: 7,
        priority,
        interval_cs: 100,
        auth,
        addrs,
    }
}

fn vip4(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 168, 1, n))
}

fn vip6(n: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, n))
}

/// Emits into a 0x00- and a 0xa5-filled buffer one byte longer than needed:
/// both must be identical over `buffer_len()` (every byte written) and the
/// extra byte untouched.
fn emit_clean(repr: &AdvertRepr, checksum: Checksum) -> Vec<u8> {
    let len = repr.buffer_len();
    let mut zeroed = vec![0u8; len + 1];
    let mut dirty = vec![0xa5u8; len + 1];
    repr.emit(&mut zeroed, checksum).unwrap();
    repr.emit(&mut dirty, checksum).unwrap();
    assert_eq!(zeroed[..len], dirty[..len], "emit left garbage");
    assert_eq!(dirty[len], 0xa5, "emit wrote past buffer_len");
    zeroed.truncate(len);
    zeroed
}

fn round_trip(repr: AdvertRepr, family: Family, checksum: Checksum) -> Vec<u8> {
    let bytes = emit_clean(&repr, checksum);
    assert_eq!(AdvertRepr::parse(&bytes, family, checksum), Ok(repr));
    bytes
}

#[test]
fn v2_pass_round_trip() {
    let repr = advert(
        Version::V2,
        150,
        Auth::Pass(*b"secret12"),
        vec![vip4(1), vip4(2)],
    );
    let bytes = round_trip(repr, Family::V4, Checksum::V2);
    assert_eq!(bytes.len(), 8 + 8 + 8);
    assert_eq!(&bytes[16..], b"secret12");
    assert_eq!(bytes[4], 1, "auth type PASS");
}

#[test]
fn v2_no_auth_round_trip() {
    let repr = advert(Version::V2, 100, Auth::None, vec![vip4(1)]);
    let bytes = round_trip(repr, Family::V4, Checksum::V2);
    assert_eq!(&bytes[12..], &[0u8; 8], "auth data zero without auth");
}

#[test]
fn v2_ah_round_trip() {
    let repr = advert(Version::V2, 100, Auth::Ah, vec![vip4(1)]);
    round_trip(repr, Family::V4, Checksum::V2);
}

#[test]
fn v3_ipv4_round_trip() {
    let mut repr = advert(Version::V3, 100, Auth::None, vec![vip4(1)]);
    repr.interval_cs = 4095;
    round_trip(repr, Family::V4, v3_mcast4());
}

#[test]
fn v3_ipv6_round_trip() {
    let mut repr = advert(Version::V3, 200, Auth::None, vec![vip6(1), vip6(2)]);
    repr.interval_cs = 50;
    round_trip(repr, Family::V6, v3_mcast6());
}

#[test]
fn many_addresses_round_trip() {
    let v4s = (1..=254).map(vip4).collect::<Vec<_>>();
    round_trip(
        advert(Version::V2, 1, Auth::None, v4s.clone()),
        Family::V4,
        Checksum::V2,
    );
    let mut all = v4s;
    all.push(IpAddr::V4(Ipv4Addr::new(192, 168, 2, 0)));
    assert_eq!(all.len(), 255);
    round_trip(
        advert(Version::V3, 1, Auth::None, all),
        Family::V4,
        v3_mcast4(),
    );
    let v6s = (0..255).map(vip6).collect();
    round_trip(
        advert(Version::V3, 1, Auth::None, v6s),
        Family::V6,
        v3_mcast6(),
    );
}

#[test]
fn priority_zero_and_owner_round_trip() {
    for priority in [0, 255] {
        round_trip(
            advert(Version::V3, priority, Auth::None, vec![vip4(9)]),
            Family::V4,
            v3_mcast4(),
        );
        round_trip(
            advert(Version::V2, priority, Auth::None, vec![vip4(9)]),
            Family::V4,
            Checksum::V2,
        );
    }
}

#[test]
fn no_addresses_round_trip() {
    round_trip(
        advert(Version::V3, 50, Auth::None, vec![]),
        Family::V4,
        v3_mcast4(),
    );
}

#[test]
fn serde_round_trip() {
    let repr = advert(
        Version::V2,
        150,
        Auth::Pass(*b"secret12"),
        vec![vip4(1), vip6(1)],
    );
    let json = serde_json::to_string(&repr).unwrap();
    assert_eq!(serde_json::from_str::<AdvertRepr>(&json).unwrap(), repr);
    let checksum = v3_mcast6();
    let json = serde_json::to_string(&checksum).unwrap();
    assert_eq!(serde_json::from_str::<Checksum>(&json).unwrap(), checksum);
}

#[test]
fn checksum_variants_are_told_apart() {
    let repr = advert(Version::V3, 120, Auth::None, vec![vip4(249)]);
    let (src, dst) = (IpAddr::V4(SRC4), IpAddr::V4(PEER4));
    let cases = [
        (Checksum::V3 { src, dst }, ChecksumKind::Standard),
        (Checksum::old_unicast(SRC4), ChecksumKind::OldUnicast),
        (Checksum::V3AsV2, ChecksumKind::AsV2),
    ];
    for (checksum, kind) in cases {
        let bytes = emit_clean(&repr, checksum);
        assert_eq!(
            identify_checksum(&bytes, src, dst),
            Some(kind),
            "{checksum:?}"
        );
        assert_eq!(
            AdvertRepr::parse(&bytes, Family::V4, checksum),
            Ok(repr.clone())
        );
    }
    let standard = emit_clean(&repr, Checksum::V3 { src, dst });
    assert_eq!(
        AdvertRepr::parse(&standard, Family::V4, Checksum::old_unicast(SRC4)),
        Err(Error::BadChecksum)
    );
    let mut corrupt = standard;
    corrupt[2] ^= 1;
    assert_eq!(identify_checksum(&corrupt, src, dst), None);
}

#[test]
fn v2_checksum_ignores_the_pseudo_header() {
    let repr = advert(Version::V2, 100, Auth::None, vec![vip4(1)]);
    let bytes = emit_clean(&repr, v3_mcast4());
    assert_eq!(bytes, emit_clean(&repr, Checksum::V2));
}

fn valid_v2() -> Vec<u8> {
    emit_clean(
        &advert(Version::V2, 100, Auth::Pass(*b"password"), vec![vip4(1)]),
        Checksum::V2,
    )
}

#[test]
fn parse_errors_are_precise() {
    let parse = |b: &[u8]| AdvertRepr::parse(b, Family::V4, Checksum::V2);
    let good = valid_v2();
    assert_eq!(parse(&good[..7]), Err(Error::Truncated));
    assert_eq!(
        parse(&good[..good.len() - 1]),
        Err(Error::BadLength {
            expected: 20,
            actual: 19
        })
    );
    let mut padded = good.clone();
    padded.push(0);
    assert_eq!(
        parse(&padded),
        Err(Error::BadLength {
            expected: 20,
            actual: 21
        })
    );

    let mut bad = good.clone();
    bad[0] = 0x41;
    assert_eq!(parse(&bad), Err(Error::BadVersion(4)));
    let mut bad = good.clone();
    bad[0] = 0x22;
    assert_eq!(parse(&bad), Err(Error::BadType(2)));
    let mut bad = good.clone();
    bad[4] = 3;
    assert_eq!(parse(&bad), Err(Error::BadAuthType(3)));
    let mut bad = good.clone();
    bad[2] ^= 0x10;
    assert_eq!(parse(&bad), Err(Error::BadChecksum));
    let mut bad = good.clone();
    bad[3] = 2;
    assert_eq!(
        parse(&bad),
        Err(Error::BadLength {
            expected: 24,
            actual: 20
        })
    );
    assert_eq!(
        AdvertRepr::parse(&good, Family::V6, Checksum::V2),
        Err(Error::BadVersion(2)),
        "VRRPv2 exists only over IPv4"
    );
}

#[test]
fn emit_refuses_what_the_wire_cannot_carry() {
    let mut buf = [0u8; 8192];
    let mixed = advert(Version::V3, 1, Auth::None, vec![vip4(1), vip6(1)]);
    assert_eq!(
        mixed.emit(&mut buf, Checksum::V2),
        Err(Error::BadAddressCount { count: 2 })
    );
    let too_many = advert(
        Version::V3,
        1,
        Auth::None,
        (0..256).map(|n| vip6(n as u16)).collect(),
    );
    assert_eq!(
        too_many.emit(&mut buf, Checksum::V2),
        Err(Error::BadAddressCount { count: 256 })
    );
    let v2_v6 = advert(Version::V2, 1, Auth::None, vec![vip6(1)]);
    assert_eq!(
        v2_v6.emit(&mut buf, Checksum::V2),
        Err(Error::BadAddressCount { count: 1 })
    );
    let mut v2_half_second = advert(Version::V2, 1, Auth::None, vec![vip4(1)]);
    v2_half_second.interval_cs = 50;
    assert_eq!(
        v2_half_second.emit(&mut buf, Checksum::V2),
        Err(Error::BadInterval)
    );
    let mut v3_too_slow = advert(Version::V3, 1, Auth::None, vec![vip4(1)]);
    v3_too_slow.interval_cs = 4096;
    assert_eq!(
        v3_too_slow.emit(&mut buf, Checksum::V2),
        Err(Error::BadInterval)
    );
    let v3_pass = advert(Version::V3, 1, Auth::Pass([0; 8]), vec![vip4(1)]);
    assert_eq!(
        v3_pass.emit(&mut buf, Checksum::V2),
        Err(Error::BadAuthType(1))
    );
    let ok = advert(Version::V3, 1, Auth::None, vec![vip4(1)]);
    assert_eq!(
        ok.emit(&mut buf[..11], Checksum::V2),
        Err(Error::BufferTooSmall {
            needed: 12,
            available: 11
        })
    );
}

#[test]
fn ipv4_header_is_what_keepalived_sends() {
    let repr = advert(Version::V3, 100, Auth::None, vec![vip4(1)]);
    let vrrp_len = repr.buffer_len();
    let mut dirty = vec![0xa5u8; ipv4::HEADER_LEN + vrrp_len];
    let hdr = emit_vrrp_ipv4(&mut dirty, SRC4, VRRP_MCAST_V4, 255, 9, vrrp_len).unwrap();
    repr.emit(&mut dirty[hdr..], v3_mcast4()).unwrap();
    let header = Ipv4Header::new_checked(&dirty[..]).unwrap();
    assert!(header.verify_checksum());
    let ip = Ipv4Repr::parse(&header).unwrap();
    assert_eq!(ip, Ipv4Repr::vrrp(SRC4, VRRP_MCAST_V4, 255, 9, vrrp_len));
    assert_eq!((ip.tos, ip.protocol, ip.dont_frag), (0xc0, 112, false));
    let mut clean = vec![0u8; dirty.len()];
    emit_vrrp_ipv4(&mut clean, SRC4, VRRP_MCAST_V4, 255, 9, vrrp_len).unwrap();
    assert_eq!(clean[..hdr], dirty[..hdr], "header emit left garbage");
    let mut bad = dirty.clone();
    bad[8] = 64;
    assert_eq!(
        Ipv4Repr::parse(&Ipv4Header::new_checked(&bad[..]).unwrap()),
        Err(Error::BadChecksum)
    );
}

#[test]
fn garp_and_na_leave_no_garbage() {
    let garp = GarpRepr {
        sender_mac: [2, 0, 0, 0, 0x0a, 1],
        ip: Ipv4Addr::new(10, 0, 0, 1),
    };
    let mut dirty = vec![0xa5u8; garp.buffer_len()];
    let mut clean = vec![0u8; garp.buffer_len()];
    garp.emit_frame(&mut dirty).unwrap();
    garp.emit_frame(&mut clean).unwrap();
    assert_eq!(dirty, clean);
    assert_eq!(GarpRepr::parse_frame(&dirty), Ok(garp));

    let na = UnsolicitedNa {
        src_mac: [2, 0, 0, 0, 0x0a, 1],
        target: "fd00::1".parse().unwrap(),
    };
    let mut dirty = vec![0xa5u8; na.buffer_len()];
    let mut clean = vec![0u8; na.buffer_len()];
    na.emit_frame(&mut dirty).unwrap();
    na.emit_frame(&mut clean).unwrap();
    assert_eq!(dirty, clean);
    assert_eq!(dirty.len(), 86);
    assert_eq!(UnsolicitedNa::parse_frame(&dirty), Ok(na));
    let mut bad = dirty;
    bad[60] ^= 1;
    assert_eq!(UnsolicitedNa::parse_frame(&bad), Err(Error::BadChecksum));
}
