//! UDP_CHECK (keepalived `check_udp.c`, `layer4.c:udp_socket_state`): send
//! `payload` on a connected UDP socket and wait for the timeout. An ICMP
//! error for the datagram (port unreachable) fails the check; silence
//! passes unless `require_reply` is set. With a `require_reply` pattern, the
//! reply's length must lie within `min_reply_length..=max_reply_length` and
//! its first bytes must match the pattern, `X` nibbles being wildcards.

use crate::{ConnectOptions, Detail, HexPattern, Outcome};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpCheck {
    /// `payload` (keepalived sends an empty datagram without one).
    pub payload: Vec<u8>,
    /// `require_reply` present.
    pub require_reply: bool,
    /// `require_reply HEX`.
    pub reply: Option<HexPattern>,
    /// `min_reply_length` (0).
    pub min_reply_length: u16,
    /// `max_reply_length` (255).
    pub max_reply_length: u16,
}

impl Default for UdpCheck {
    fn default() -> Self {
        UdpCheck {
            payload: Vec::new(),
            require_reply: false,
            reply: None,
            min_reply_length: 0,
            max_reply_length: 255,
        }
    }
}

/// Without a reply pattern a 1-byte buffer is enough: the reply's content
/// does not matter (a longer datagram is truncated, not an error).
const PEEK: usize = 1;

pub async fn udp_check(opts: &ConnectOptions, check: &UdpCheck) -> Outcome {
    let deadline = opts.deadline();
    let socket = match opts.udp_connect() {
        Ok(socket) => socket,
        Err(failed) => return failed,
    };
    if let Err(e) = socket.send(&check.payload).await {
        return Outcome::down(format!("UDP send failed: {e}"));
    }
    // One byte more than the maximum, to see a reply that is too long.
    let mut small = [0u8; PEEK];
    let mut large = Vec::new();
    let buf: &mut [u8] = match &check.reply {
        Some(_) => {
            large.resize(usize::from(check.max_reply_length) + 1, 0);
            &mut large
        }
        None => &mut small,
    };
    let len = match tokio::time::timeout_at(deadline, socket.recv(buf)).await {
        Ok(Ok(len)) => len,
        // keepalived `udp_socket_state`: an error on receive is the ICMP
        // error the kernel queued for the connected socket.
        Ok(Err(e)) => return Outcome::down(format!("UDP connection failed: {e}")),
        Err(_silence) if check.require_reply => {
            return Outcome::down("UDP check: no reply before the timeout")
        }
        Err(_silence) => return Outcome::up().with_detail(Detail::Udp { reply_len: None }),
    };
    let detail = Detail::Udp {
        reply_len: Some(len),
    };
    let Some(pattern) = &check.reply else {
        return Outcome::up().with_detail(detail);
    };
    let reply = &buf[..len];
    let verdict =
        if len < usize::from(check.min_reply_length) || len > usize::from(check.max_reply_length) {
            Outcome::down(format!(
                "UDP check reply length {len} outside {}..={}",
                check.min_reply_length, check.max_reply_length
            ))
        } else if !pattern.matches_prefix(reply) {
            Outcome::down("UDP check reply data mismatch")
        } else {
            Outcome::up()
        };
    verdict.with_detail(detail)
}
