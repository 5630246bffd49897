//! Whole Ethernet frames sent over AF_PACKET from one namespace, seen by a
//! packet socket in the peer namespace: a gratuitous ARP with the VMAC as
//! source, and an unsolicited neighbour advertisement.

mod common;

use common::{require_root, sniffer, Lan};
use kalive_sys::{if_index, in_netns_tokio, FrameSender};
use socket2::Socket;

const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;

/// Gratuitous ARP for 10.201.0.251 from the VRRP VMAC of VRID 51, as in
/// vectors/keepalived-2.2.7 (v2pass frame 1, but with the VMAC).
const GARP: [u8; 42] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0x08, 0x06, 0x00, 0x01,
    0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0x0a, 0xc9, 0x00, 0xfb,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0a, 0xc9, 0x00, 0xfb,
];

/// Unsolicited NA for fd00:201::254 (v3v6 frame 1 of the captures).
const NA: [u8; 86] = [
    0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x0a, 0x01, 0x86, 0xdd, 0x60, 0x00,
    0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0xfd, 0x00, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x02, 0x54, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0x00, 0x47, 0xf3, 0x20, 0x00, 0x00, 0x00, 0xfd, 0x00,
    0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x54, 0x02, 0x01,
    0x02, 0x00, 0x00, 0x00, 0x0a, 0x01,
];

fn wait_for_frame(sniffer: &Socket, expected: &[u8]) -> Vec<u8> {
    common::wait_for_frame_matching(sniffer, |frame| frame.starts_with(expected))
}

#[tokio::test]
async fn garp_with_vmac_source_is_seen_on_the_peer() {
    require_root();
    let lan = Lan::new("garp");
    let arp = sniffer(&lan.b.name, ETH_P_ARP);
    let (sender, va) =
        in_netns_tokio(&lan.a.name, || (FrameSender::open(), if_index("va"))).expect("enter netns");
    let (sender, va) = (sender.unwrap(), va.unwrap());

    sender.send_garp(va, &GARP).await.unwrap();

    let seen = wait_for_frame(&arp, &GARP);
    assert_eq!(
        &seen[6..12],
        &[0x00, 0x00, 0x5e, 0x00, 0x01, 0x33],
        "VMAC as source"
    );
}

#[tokio::test]
async fn unsolicited_na_is_seen_on_the_peer() {
    require_root();
    let lan = Lan::new("na");
    let ipv6 = sniffer(&lan.b.name, ETH_P_IPV6);
    let (sender, va) =
        in_netns_tokio(&lan.a.name, || (FrameSender::open(), if_index("va"))).expect("enter netns");
    let (sender, va) = (sender.unwrap(), va.unwrap());

    sender.send_na(va, &NA).await.unwrap();

    assert_eq!(wait_for_frame(&ipv6, &NA), NA);
}

#[tokio::test]
async fn short_frame_is_refused() {
    require_root();
    let sender = FrameSender::open().unwrap();
    assert!(sender.send_frame(1, &[0u8; 10]).await.is_err());
}
