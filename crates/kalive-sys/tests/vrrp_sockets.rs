//! VRRP adverts across a veth pair between two namespaces, on the real
//! kernel: what a peer's socket sees (source, destination, TTL/hop limit,
//! payload) for IPv4 multicast, IPv4 unicast and IPv6 multicast.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use common::{require_root, sniffer, wait_for_frame_matching, Lan, ADDR_A, ADDR_B, LL_A};
use kalive_sys::{
    in_netns_tokio, vmac_address, Family, Mode, Netlink, RxPacket, SocketOptions, VrrpSocket,
    IPPROTO_AH, VRRP_GROUP_V4, VRRP_GROUP_V6,
};

/// VRRPv2 advert of vectors/keepalived-2.2.7 v2pass, frame 0 (after the IP
/// header): vrid 51, prio 150, PASS "secret12", two VIPs.
const V2_ADVERT: [u8; 24] = [
    0x21, 0x33, 0x96, 0x02, 0x01, 0x01, 0xc2, 0xc1, 0x0a, 0xc9, 0x00, 0xfb, 0x0a, 0xc9, 0x00, 0xfc,
    0x73, 0x65, 0x63, 0x72, 0x65, 0x74, 0x31, 0x32,
];

/// VRRPv3 IPv6 advert of v3v6, frame 0: vrid 53, prio 200, 50 cs,
/// fd00:201::254 (checksum bytes 6..8 are recomputed by the kernel).
const V3_V6_ADVERT: [u8; 24] = [
    0x31, 0x35, 0xc8, 0x01, 0x00, 0x32, 0x00, 0x00, 0xfd, 0x00, 0x02, 0x01, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0x02, 0x54,
];

fn open_in(ns: &str, ifname: &'static str, family: Family, mode: Mode) -> VrrpSocket {
    in_netns_tokio(ns, move || VrrpSocket::open(ifname, family, mode))
        .expect("enter netns")
        .expect("open VRRP socket")
}

/// Sends until the receiver gets something (bounded: 5 tries, 1 s each);
/// the first packet to a fresh neighbour may wait for ARP/ND.
async fn send_until_received<F, Fut>(rx: &VrrpSocket, mut send: F) -> RxPacket
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = kalive_sys::Result<()>>,
{
    for _ in 0..5 {
        send().await.expect("send advert");
        if let Ok(received) = tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
            return received.expect("receive advert");
        }
    }
    panic!("no advert received in 5 s");
}

#[tokio::test]
async fn ipv4_multicast_advert_reaches_peer_with_ttl_255() {
    require_root();
    let lan = Lan::new("v4m");
    let multicast = Mode::standard_multicast(Family::V4);
    let rx = open_in(&lan.b.name, "vb", Family::V4, multicast);
    let tx = open_in(&lan.a.name, "va", Family::V4, multicast);
    let src: Ipv4Addr = ADDR_A.parse().unwrap();

    let got = send_until_received(&rx, || tx.send_v4(src, VRRP_GROUP_V4, 255, &V2_ADVERT)).await;

    assert_eq!(got.src, IpAddr::V4(src));
    assert_eq!(got.dst, IpAddr::V4(VRRP_GROUP_V4));
    assert_eq!(got.ttl_or_hoplimit, 255);
    assert_eq!(got.payload, V2_ADVERT);
    assert_eq!((got.ip_header_len, got.ip_total_len), (20, 44));
    assert_eq!(got.ifindex, rx.ifindex());
}

#[tokio::test]
async fn ipv4_sender_does_not_hear_its_own_multicast() {
    require_root();
    let lan = Lan::new("v4loop");
    let multicast = Mode::standard_multicast(Family::V4);
    let tx = open_in(&lan.a.name, "va", Family::V4, multicast);
    let rx_peer = open_in(&lan.b.name, "vb", Family::V4, multicast);
    let src: Ipv4Addr = ADDR_A.parse().unwrap();
    send_until_received(&rx_peer, || tx.send_v4(src, VRRP_GROUP_V4, 255, &V2_ADVERT)).await;
    let own = tokio::time::timeout(Duration::from_millis(300), tx.recv()).await;
    assert!(own.is_err(), "sender received its own advert: {own:?}");
}

#[tokio::test]
async fn ipv4_unicast_advert_reaches_peer_with_given_ttl() {
    require_root();
    let lan = Lan::new("v4u");
    let rx = open_in(&lan.b.name, "vb", Family::V4, Mode::Unicast);
    let tx = open_in(&lan.a.name, "va", Family::V4, Mode::Unicast);
    let src: Ipv4Addr = ADDR_A.parse().unwrap();
    let dst: Ipv4Addr = ADDR_B.parse().unwrap();

    let got = send_until_received(&rx, || tx.send_v4(src, dst, 64, &V2_ADVERT)).await;

    assert_eq!(got.src, IpAddr::V4(src));
    assert_eq!(got.dst, IpAddr::V4(dst));
    assert_eq!(got.ttl_or_hoplimit, 64);
    assert_eq!(got.payload, V2_ADVERT);
}

#[tokio::test]
async fn ipv6_multicast_advert_comes_from_link_local_with_hop_limit_255() {
    require_root();
    let lan = Lan::new("v6m");
    let multicast = Mode::standard_multicast(Family::V6);
    let rx = open_in(&lan.b.name, "vb", Family::V6, multicast);
    let tx = open_in(&lan.a.name, "va", Family::V6, multicast);
    let link_local: Ipv6Addr = LL_A.parse().unwrap();

    let got = send_until_received(&rx, || {
        tx.send_v6(link_local, VRRP_GROUP_V6, 255, &V3_V6_ADVERT)
    })
    .await;

    assert_eq!(got.src, IpAddr::V6(link_local));
    assert_eq!(got.dst, IpAddr::V6(VRRP_GROUP_V6));
    assert_eq!(got.ttl_or_hoplimit, 255);
    assert_eq!(got.payload.len(), V3_V6_ADVERT.len());
    assert_eq!(got.payload[..6], V3_V6_ADVERT[..6]);
    assert_eq!(got.payload[8..], V3_V6_ADVERT[8..]);
    // Same source, destination and message as the capture: the kernel's
    // checksum must be keepalived's (fe 21).
    assert_eq!(
        got.payload[6..8],
        [0xfe, 0x21],
        "checksum computed by the kernel"
    );
    assert_eq!((got.ip_header_len, got.ip_total_len), (40, 64));
}

#[tokio::test]
async fn send_only_socket_on_vmac_sends_from_the_virtual_mac_and_hears_nothing() {
    require_root();
    let lan = Lan::new("vmactx");
    let vmac_mac = vmac_address(Family::V4, 51);
    let nl = in_netns_tokio(&lan.a.name, Netlink::new).unwrap().unwrap();
    let va = nl.link_by_name("va").await.unwrap();
    let vmac = nl.add_vmac("vrrp.51", va.index, vmac_mac).await.unwrap();
    nl.set_link_up(vmac.index).await.unwrap();
    let multicast = Mode::standard_multicast(Family::V4);
    let tx = open_in(&lan.a.name, "vrrp.51", Family::V4, Mode::SendOnly);
    let rx = open_in(&lan.b.name, "vb", Family::V4, multicast);
    let ip_frames = sniffer(&lan.b.name, 0x0800);
    let src: Ipv4Addr = ADDR_A.parse().unwrap();

    let got = send_until_received(&rx, || tx.send_v4(src, VRRP_GROUP_V4, 255, &V2_ADVERT)).await;
    assert_eq!(
        (got.src, got.payload.as_slice()),
        (IpAddr::V4(src), &V2_ADVERT[..])
    );
    let frame = wait_for_frame_matching(&ip_frames, |f| f.len() > 23 && f[23] == 112);
    assert_eq!(frame[6..12], vmac_mac, "advert sent from the VMAC");

    // The peer answers to the group: a send-only socket never delivers it.
    let peer = open_in(&lan.b.name, "vb", Family::V4, multicast);
    let peer_src: Ipv4Addr = ADDR_B.parse().unwrap();
    peer.send_v4(peer_src, VRRP_GROUP_V4, 255, &V2_ADVERT)
        .await
        .unwrap();
    let heard = tokio::time::timeout(Duration::from_millis(300), tx.recv()).await;
    assert!(heard.is_err(), "send-only socket received {heard:?}");
}

#[tokio::test]
async fn ah_sockets_carry_protocol_51() {
    require_root();
    let lan = Lan::new("ah");
    let options = SocketOptions {
        ip_protocol: IPPROTO_AH,
        ..SocketOptions::default()
    };
    let multicast = Mode::standard_multicast(Family::V4);
    let open = |ns: &str, ifname: &'static str| {
        let options = options.clone();
        in_netns_tokio(ns, move || {
            VrrpSocket::open_with(ifname, Family::V4, multicast, &options)
        })
        .unwrap()
        .unwrap()
    };
    let rx = open(&lan.b.name, "vb");
    let tx = open(&lan.a.name, "va");
    let plain_vrrp = open_in(&lan.b.name, "vb", Family::V4, multicast);
    let src: Ipv4Addr = ADDR_A.parse().unwrap();
    // An AH header (24 bytes) would precede the VRRP message; the socket
    // does not look inside.
    let got = send_until_received(&rx, || tx.send_v4(src, VRRP_GROUP_V4, 255, &V2_ADVERT)).await;
    assert_eq!(got.payload, V2_ADVERT);
    let ip_frames = tokio::time::timeout(Duration::from_millis(300), plain_vrrp.recv()).await;
    assert!(
        ip_frames.is_err(),
        "a protocol-112 socket saw the AH datagram"
    );
    let v6 = VrrpSocket::open_with("lo", Family::V6, Mode::Unicast, &options);
    assert!(v6.is_err(), "AH over IPv6 must be refused");
}

/// Batched reads as the daemon does them: a socket opened without
/// receive wake-ups, waited on with a `ReceiveSet`. The first datagram
/// wakes the set; later ones do not until it is re-armed; every datagram
/// is then read with its kernel arrival time, not the time of the read.
#[tokio::test]
async fn receive_set_wakes_once_per_batch_and_keeps_arrival_times() {
    require_root();
    let lan = Lan::new("rxset");
    let multicast = Mode::standard_multicast(Family::V4);
    let options = SocketOptions {
        wake_on_receive: false,
        receive_buffer: Some(1 << 20),
        ..SocketOptions::default()
    };
    let rx = in_netns_tokio(&lan.b.name, move || {
        VrrpSocket::open_with("vb", Family::V4, multicast, &options)
    })
    .expect("enter netns")
    .expect("open VRRP socket");
    assert!(rx.recv().await.is_err(), "recv() needs wake_on_receive");
    let set = in_netns_tokio(&lan.b.name, kalive_sys::ReceiveSet::new)
        .expect("enter netns")
        .expect("receive set");
    set.add(&rx).expect("add");
    let tx = open_in(&lan.a.name, "va", Family::V4, multicast);
    let src: Ipv4Addr = ADDR_A.parse().unwrap();

    // The first advert may wait for neighbour resolution: send until the
    // set wakes (bounded).
    let mut woke = false;
    for _ in 0..5 {
        tx.send_v4(src, VRRP_GROUP_V4, 255, &V2_ADVERT)
            .await
            .unwrap();
        if tokio::time::timeout(Duration::from_secs(1), set.wait())
            .await
            .is_ok()
        {
            woke = true;
            break;
        }
    }
    assert!(woke, "the receive set never woke");
    while rx.try_recv().unwrap().is_some() {}

    // Disarmed: three adverts, 30 ms apart, wake nobody.
    let sent_first = std::time::Instant::now();
    for _ in 0..3 {
        tx.send_v4(src, VRRP_GROUP_V4, 255, &V2_ADVERT)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let silent = tokio::time::timeout(Duration::from_millis(100), set.wait()).await;
    assert!(silent.is_err(), "a disarmed socket woke the set");

    // Read ~190 ms after the first was sent: all three, in order, stamped
    // when they arrived (about 30 ms apart), not when read.
    let read_at = std::time::Instant::now();
    let mut got = Vec::new();
    let mut spare = Vec::new();
    assert_eq!(
        rx.try_recv_many(&mut got, 100, &mut spare).unwrap(),
        3,
        "{got:?}"
    );
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got.iter().all(|p| p.src == IpAddr::V4(src)
        && p.dst == IpAddr::V4(VRRP_GROUP_V4)
        && p.ttl_or_hoplimit == 255
        && (p.ip_header_len, p.ip_total_len) == (20, 44)));
    assert!(got.iter().all(|p| p.payload == V2_ADVERT));
    let stamps: Vec<Duration> = got
        .iter()
        .map(|p| p.received_at.saturating_duration_since(sent_first))
        .collect();
    assert!(stamps[0] < Duration::from_millis(20), "{stamps:?}");
    for pair in stamps.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(25) && gap < Duration::from_millis(60),
            "arrival gaps {stamps:?}"
        );
    }
    assert!(read_at.duration_since(got[2].received_at) >= Duration::from_millis(90));

    // Re-armed with nothing queued: quiet until the next advert.
    set.rearm(&rx).unwrap();
    let quiet = tokio::time::timeout(Duration::from_millis(100), set.wait()).await;
    assert!(quiet.is_err(), "an empty socket woke the set");
    tx.send_v4(src, VRRP_GROUP_V4, 255, &V2_ADVERT)
        .await
        .unwrap();
    let fired = tokio::time::timeout(Duration::from_secs(1), set.wait()).await;
    assert_eq!(fired.expect("re-armed socket woke the set").unwrap(), 1);
    assert!(rx.try_recv().unwrap().is_some());
}
