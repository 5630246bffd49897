//! PING_CHECK (keepalived `check_ping.c`): one ICMP or ICMPv6 echo request,
//! success on the matching echo reply. Like keepalived we use an
//! unprivileged ping socket (`SOCK_DGRAM`, the kernel owns the identifier
//! and filters replies) when `net.ipv4.ping_group_range` allows it, and fall
//! back to a raw socket (root or CAP_NET_RAW), where we pick the identifier
//! and skip every other ICMP message ourselves. Both sockets are connected
//! to the target, so the kernel only hands us what comes from it.
//!
//! The echo header is written here because kalive-wire has no ICMP echo
//! type yet; it belongs there (DESIGN.md, kalive-wire row).

use std::hash::{BuildHasher, RandomState};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};

use socket2::{Protocol, SockAddr, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::time::Instant;

use crate::conn::within;
use crate::{ConnectOptions, Detail, Outcome};

const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;
const PAYLOAD: &[u8; 16] = b"kalive-probe\0\0\0\0";

/// Sequence numbers shared by all checks of the process, as keepalived keeps
/// one per checker: a late reply to an earlier check never matches.
static SEQUENCE: AtomicU16 = AtomicU16::new(1);

/// Sends one echo request to `opts.addr` (the port is ignored).
pub async fn ping_check(opts: &ConnectOptions) -> Outcome {
    let deadline = opts.deadline();
    match ping(opts, deadline).await {
        Ok(outcome) | Err(outcome) => outcome,
    }
}

async fn ping(opts: &ConnectOptions, deadline: Instant) -> Result<Outcome, Outcome> {
    let v6 = opts.addr.is_ipv6();
    let proto = if v6 {
        Protocol::ICMPV6
    } else {
        Protocol::ICMPV4
    };
    let (socket, raw) = match opts.socket(Type::DGRAM, proto) {
        Ok(socket) => (socket, false),
        Err(e) if matches!(e.kind(), io::ErrorKind::PermissionDenied) => {
            let raw = opts
                .socket(Type::RAW, proto)
                .map_err(|e| Outcome::down(format!("Cannot create ICMP socket: {e}")))?;
            (raw, true)
        }
        Err(e) => return Err(Outcome::down(format!("Cannot create ICMP socket: {e}"))),
    };
    let target = SocketAddr::new(opts.addr.ip(), 0);
    socket
        .connect(&SockAddr::from(target))
        .map_err(|e| Outcome::down(format!("Cannot connect ICMP socket: {e}")))?;
    // `AsyncFd::new` is deprecated because a raw-fd type may close or reuse
    // its descriptor behind tokio's back; `socket2::Socket` owns its fd until
    // the AsyncFd drops it, so this is sound, and the replacement
    // (`register`) is `unsafe`, which this crate forbids.
    #[allow(deprecated)]
    let socket = AsyncFd::new(socket)
        .map_err(|e| Outcome::down(format!("Cannot register ICMP socket: {e}")))?;

    // The kernel rewrites the identifier of a ping socket; a raw socket
    // sends ours, so make it unlikely to collide with another pinger's.
    let ident = RandomState::new().hash_one(deadline) as u16;
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let mut request = [0u8; 8 + PAYLOAD.len()];
    request[0] = if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 };
    request[4..6].copy_from_slice(&ident.to_be_bytes());
    request[6..8].copy_from_slice(&seq.to_be_bytes());
    request[8..].copy_from_slice(PAYLOAD);
    if !v6 {
        // ICMPv6 checksums need the pseudo-header and are filled in by the
        // kernel on both socket kinds; a ping socket fills ICMPv4's too.
        let sum = checksum(&request);
        request[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    let sent_at = Instant::now();
    within(deadline, "Timeout sending ping", async {
        socket
            .async_io(Interest::WRITABLE, |s| (&*s).write(&request))
            .await
            .map_err(|e| Outcome::down(format!("Cannot send ping: {e}")))
    })
    .await?;

    let reply_type = if v6 { ECHO_REPLY_V6 } else { ECHO_REPLY_V4 };
    let mut buf = [0u8; 1500];
    loop {
        let n = within(deadline, "Timeout waiting for ping reply", async {
            socket
                .async_io(Interest::READABLE, |s| (&*s).read(&mut buf))
                .await
                .map_err(|e| Outcome::down(format!("Ping failed: {e}")))
        })
        .await?;
        // A raw IPv4 socket delivers the IP header too.
        let icmp = if raw && !v6 {
            let header_len = usize::from(buf.first().map_or(0, |b| b & 0x0f)) * 4;
            buf.get(header_len..n).unwrap_or_default()
        } else {
            &buf[..n]
        };
        if icmp.len() < 8 || icmp[0] != reply_type || icmp[6..8] != seq.to_be_bytes() {
            continue;
        }
        if raw && icmp[4..6] != ident.to_be_bytes() {
            continue;
        }
        return Ok(Outcome::up().with_detail(Detail::Ping {
            rtt: sent_at.elapsed(),
        }));
    }
}

/// RFC 1071 Internet checksum.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::checksum;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2, inverted 220d.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
        // A message with its checksum in place sums to zero.
        let mut echo = [8u8, 0, 0, 0, 0x12, 0x34, 0, 1, b'a', b'b', b'c'];
        let sum = checksum(&echo);
        echo[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(checksum(&echo), 0);
    }
}
