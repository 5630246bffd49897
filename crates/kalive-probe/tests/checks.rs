//! TCP, SMTP, DNS, UDP and PING checks against real servers on loopback
//! (nginx, OpenSMTPD, dnsmasq, the kernel's ICMP echo), plus misbehaving ones.

mod common;

use std::time::{Duration, Instant};

use common::fakes::{self, Behaviour};
use common::servers::{Dnsmasq, Nginx, Smtpd};
use kalive_probe::{
    dns_check, ping_check, smtp_check, tcp_check, udp_check, ConnectOptions, Detail,
    DnsAnswerCheck, DnsCheck, DnsType, HexPattern, Outcome, SmtpCheck, UdpCheck,
};

fn opts(addr: std::net::SocketAddr) -> ConnectOptions {
    ConnectOptions::new(addr, Duration::from_secs(3))
}

fn assert_down(outcome: &Outcome, reason_part: &str) {
    assert!(!outcome.success, "expected a failure, got {outcome:?}");
    let reason = outcome.reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains(reason_part),
        "reason {reason:?} lacks {reason_part:?}"
    );
}

fn assert_up(outcome: &Outcome) {
    assert!(outcome.success, "expected success, got {outcome:?}");
}

/// A port on 127.0.0.1 where nothing listens (TCP and UDP).
fn closed_port() -> u16 {
    common::free_udp_port()
}

#[tokio::test]
async fn tcp_up_down_and_connection_options() {
    let nginx = Nginx::start();
    assert_up(&tcp_check(&opts(nginx.http)).await);
    assert_up(&tcp_check(&opts(nginx.http6)).await);

    // Device and mark are applied (as root); a missing device fails the check.
    let mut o = opts(nginx.http);
    o.bind_if = Some("lo".into());
    o.fwmark = Some(0x1234);
    assert_up(&tcp_check(&o).await);
    o.bind_if = Some("kp-nosuchdev0".into());
    assert_down(&tcp_check(&o).await, "Cannot create socket");

    let refused = tcp_check(&opts(([127, 0, 0, 1], closed_port()).into())).await;
    assert_down(&refused, "Error connecting");

    // bindto and bind_port choose the source the server sees.
    let (addr, mut peers, task) = fakes::peer_reporter().await;
    let mut o = opts(addr);
    o.bind = Some("127.0.0.2".parse().unwrap());
    assert_up(&tcp_check(&o).await);
    assert_eq!(peers.recv().await.unwrap().ip().to_string(), "127.0.0.2");
    let port = common::free_tcp_port();
    o.bind_port = Some(port);
    for _ in 0..2 {
        // Twice: the fixed port is reusable while the last one is in TIME_WAIT.
        assert_up(&tcp_check(&o).await);
        assert_eq!(peers.recv().await.unwrap(), ([127, 0, 0, 2], port).into());
    }
    task.abort();
}

#[tokio::test]
async fn smtp_dialogue_with_opensmtpd_and_bad_servers() {
    let smtpd = Smtpd::start();
    assert_up(&smtp_check(&opts(smtpd.addr), &SmtpCheck::default()).await);
    let named = SmtpCheck {
        helo_name: "checker.kalive.test".into(),
    };
    assert_up(&smtp_check(&opts(smtpd.addr), &named).await);

    let refused = smtp_check(
        &opts(([127, 0, 0, 1], closed_port()).into()),
        &SmtpCheck::default(),
    )
    .await;
    assert_down(&refused, "Error connecting");

    let bad_banner = fakes::tcp(Behaviour::Dialogue(b"554 no SMTP service here\r\n", &[])).await;
    assert_down(
        &smtp_check(&opts(bad_banner.addr), &SmtpCheck::default()).await,
        "Bad greeting banner",
    );

    let garbage = fakes::tcp(Behaviour::Dialogue(b"\x16\x03\x01garbage\n", &[])).await;
    assert_down(
        &smtp_check(&opts(garbage.addr), &SmtpCheck::default()).await,
        "Bad greeting banner",
    );

    let bad_helo = fakes::tcp(Behaviour::Dialogue(b"220 hi\r\n", &[b"502 go away\r\n"])).await;
    assert_down(
        &smtp_check(&opts(bad_helo.addr), &SmtpCheck::default()).await,
        "Bad HELO response",
    );

    // A multi-line greeting (RFC 5321 §4.2.1) is read to its last line.
    let multi = fakes::tcp(Behaviour::Dialogue(
        b"220-first\r\n220-second\r\n220 last\r\n",
        &[b"250-hello\r\n250 ok\r\n", b"221 bye\r\n"],
    ))
    .await;
    assert_up(&smtp_check(&opts(multi.addr), &SmtpCheck::default()).await);

    let silent = fakes::tcp(Behaviour::Silent).await;
    let mut o = opts(silent.addr);
    o.timeout = Duration::from_millis(300);
    assert_down(&smtp_check(&o, &SmtpCheck::default()).await, "Read timeout");
}

#[tokio::test]
async fn dns_queries_against_dnsmasq() {
    let dnsmasq = Dnsmasq::start();
    let o = opts(dnsmasq.addr);
    for ty in [DnsType::A, DnsType::Txt, DnsType::Mx] {
        let check = DnsCheck::new("good.test", ty).unwrap();
        assert_up(&dns_check(&o, &check).await);
    }
    // NXDOMAIN fails in every mode.
    let mut nx = DnsCheck::new("missing.test.", DnsType::A).unwrap();
    assert_down(&dns_check(&o, &nx).await, "rcode = 3");
    nx.answer_check = DnsAnswerCheck::RcodeOnly;
    assert_down(&dns_check(&o, &nx).await, "rcode = 3");
    // A name without a record of the type: NOERROR and no answer. keepalived
    // passes it; by default we do not.
    let mut wrong_type = DnsCheck::new("good.test", DnsType::Aaaa).unwrap();
    assert_down(&dns_check(&o, &wrong_type).await, "no answer of type Aaaa");
    wrong_type.answer_check = DnsAnswerCheck::RcodeOnly;
    assert_up(&dns_check(&o, &wrong_type).await);

    // No server: the ICMP port unreachable fails the check at once.
    let started = Instant::now();
    let closed = dns_check(
        &opts(([127, 0, 0, 1], closed_port()).into()),
        &DnsCheck::new("good.test", DnsType::A).unwrap(),
    )
    .await;
    assert_down(&closed, "failed to read socket");
    assert!(started.elapsed() < Duration::from_secs(2));

    // A UDP server that never answers DNS: timeout.
    let silent = fakes::udp(b"").await;
    drop(silent);
    let mute = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut o = opts(mute.local_addr().unwrap());
    o.timeout = Duration::from_millis(300);
    assert_down(
        &dns_check(&o, &DnsCheck::new("good.test", DnsType::A).unwrap()).await,
        "read timeout",
    );
}

#[tokio::test]
async fn udp_replies_patterns_and_icmp() {
    // A real UDP service: dnsmasq answers a DNS query; the pattern checks
    // the id (0x4b41), wildcards the flags' low byte and requires QR set.
    let dnsmasq = Dnsmasq::start();
    let mut query = vec![0x4b, 0x41, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    query.extend_from_slice(b"\x04good\x04test\x00\x00\x01\x00\x01");
    let check = UdpCheck {
        payload: query.clone(),
        require_reply: true,
        reply: Some(HexPattern::parse("4b41 8X XX").unwrap()),
        min_reply_length: 12,
        max_reply_length: 512,
    };
    let up = udp_check(&opts(dnsmasq.addr), &check).await;
    assert_up(&up);
    assert!(
        matches!(up.detail, Detail::Udp { reply_len: Some(n) } if n > 12),
        "{up:?}"
    );
    let other_id = UdpCheck {
        reply: Some(HexPattern::parse("4b42").unwrap()),
        ..check.clone()
    };
    assert_down(
        &udp_check(&opts(dnsmasq.addr), &other_id).await,
        "reply data mismatch",
    );
    let too_short = UdpCheck {
        max_reply_length: 20,
        ..check.clone()
    };
    assert_down(
        &udp_check(&opts(dnsmasq.addr), &too_short).await,
        "outside 12..=20",
    );

    // Fixed replies.
    let echo = fakes::udp(b"PONG 1.0").await;
    let expect = |hex: &str| UdpCheck {
        payload: b"PING".to_vec(),
        require_reply: true,
        reply: Some(HexPattern::parse(hex).unwrap()),
        ..UdpCheck::default()
    };
    assert_up(&udp_check(&opts(echo.addr), &expect("50 4f 4e 47")).await);
    assert_up(&udp_check(&opts(echo.addr), &expect("50 4X XX 47 20 3X")).await);
    assert_down(
        &udp_check(&opts(echo.addr), &expect("50 49 4e 47")).await,
        "reply data mismatch",
    );
    let any_reply = UdpCheck {
        require_reply: true,
        ..UdpCheck::default()
    };
    assert_up(&udp_check(&opts(echo.addr), &any_reply).await);

    // ICMP port unreachable fails, with or without require_reply.
    let closed: std::net::SocketAddr = ([127, 0, 0, 1], closed_port()).into();
    assert_down(
        &udp_check(&opts(closed), &UdpCheck::default()).await,
        "UDP connection failed",
    );
    assert_down(
        &udp_check(&opts(closed), &any_reply).await,
        "UDP connection failed",
    );

    // Silence passes unless a reply is required.
    let mute = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut o = opts(mute.local_addr().unwrap());
    o.timeout = Duration::from_millis(300);
    let quiet = udp_check(&o, &UdpCheck::default()).await;
    assert_up(&quiet);
    assert_eq!(quiet.detail, Detail::Udp { reply_len: None });
    assert_down(&udp_check(&o, &any_reply).await, "no reply");
}

#[tokio::test]
async fn ping_loopback_v4_and_v6() {
    for target in ["127.0.0.1", "::1"] {
        let o = opts(std::net::SocketAddr::new(target.parse().unwrap(), 0));
        for _ in 0..3 {
            let up = ping_check(&o).await;
            assert_up(&up);
            assert!(
                matches!(up.detail, Detail::Ping { rtt } if rtt < Duration::from_secs(1)),
                "{up:?}"
            );
        }
    }
    let mut o = opts(([127, 0, 0, 1], 0).into());
    o.bind_if = Some("kp-nosuchdev0".into());
    assert_down(&ping_check(&o).await, "Cannot create ICMP socket");
}
