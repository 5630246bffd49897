//! Transport for the kernel's IPVS over generic netlink: resolve the
//! `IPVS` family, send a request and wait for its acknowledgement, run a
//! dump. The messages themselves (services, destinations, sync daemons,
//! timeouts) are built and parsed by `kalive_lb::ipvs`; this module only
//! frames and carries bytes, as DESIGN.md's layers require.
//!
//! Like every socket of this crate it works in the network namespace of
//! the thread that opened it. Calls block, each receive bounded by
//! [`REPLY_TIMEOUT`]: the kernel answers IPVS requests inside `sendmsg`.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use crate::error::{Result, SysError};

/// Longest wait for one answer of the kernel.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// The generic netlink family name of IPVS (`IPVS_GENL_NAME`).
pub const IPVS_FAMILY_NAME: &str = "IPVS";
/// `IPVS_GENL_VERSION`.
const IPVS_GENL_VERSION: u8 = 1;

// linux/netlink.h, linux/genetlink.h.
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x01;
const NLM_F_ACK: u16 = 0x04;
const NLM_F_DUMP: u16 = 0x300;
const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const HDR: usize = 16;
const GENL_HDR: usize = 4;

/// Most messages one dump may return (a table of 100,000 services with
/// room to spare); more is a kernel or caller bug, not a table.
const MAX_DUMP_MESSAGES: usize = 1_000_000;

/// A generic netlink socket speaking to the IPVS family.
#[derive(Debug)]
pub struct IpvsSocket {
    socket: Mutex<Socket>,
    family: u16,
    sequence: AtomicU32,
}

impl IpvsSocket {
    /// Opens the socket and resolves the family. A kernel without IPVS
    /// (no `ip_vs` module, none loadable) gives
    /// [`SysError::IpvsUnavailable`].
    pub fn open() -> Result<IpvsSocket> {
        let socket = Socket::new(
            Domain::from(libc::AF_NETLINK),
            Type::RAW,
            Some(Protocol::from(libc::NETLINK_GENERIC)),
        )
        .map_err(|e| SysError::io("open NETLINK_GENERIC socket", e))?;
        socket
            .set_read_timeout(Some(REPLY_TIMEOUT))
            .map_err(|e| SysError::io("SO_RCVTIMEO on generic netlink socket", e))?;
        let mut this = IpvsSocket {
            socket: Mutex::new(socket),
            family: 0,
            sequence: AtomicU32::new(1),
        };
        this.family = this.resolve_family()?;
        Ok(this)
    }

    /// The family id the kernel gave IPVS (needed to frame messages).
    pub fn family_id(&self) -> u16 {
        self.family
    }

    fn resolve_family(&self) -> Result<u16> {
        let mut attr = Vec::new();
        let name = format!("{IPVS_FAMILY_NAME}\0");
        attr.extend_from_slice(&((4 + name.len()) as u16).to_ne_bytes());
        attr.extend_from_slice(&CTRL_ATTR_FAMILY_NAME.to_ne_bytes());
        attr.extend_from_slice(name.as_bytes());
        while attr.len() % 4 != 0 {
            attr.push(0);
        }
        let replies = self
            .exchange(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, NLM_F_REQUEST, &attr, "resolve family IPVS")
            .map_err(|e| match e.errno() {
                Some(libc::ENOENT) => SysError::IpvsUnavailable(
                    "the kernel has no generic netlink family \"IPVS\" (ip_vs not built or not loadable)"
                        .into(),
                ),
                _ => e,
            })?;
        for reply in &replies {
            for (kind, payload) in attributes(reply) {
                if kind == CTRL_ATTR_FAMILY_ID && payload.len() >= 2 {
                    return Ok(u16::from_ne_bytes([payload[0], payload[1]]));
                }
            }
        }
        Err(SysError::Invalid(
            "resolve family IPVS: reply without a family id".into(),
        ))
    }

    /// Sends one IPVS command (`cmd`, attributes as built by
    /// `kalive_lb::ipvs`) and waits for the kernel's acknowledgement.
    /// A refusal is [`SysError::Io`] carrying the kernel's errno (so
    /// [`SysError::is_already_exists`] / [`SysError::is_not_found`] work).
    pub fn request(&self, cmd: u8, attrs: &[u8]) -> Result<()> {
        self.exchange(
            self.family,
            cmd,
            IPVS_GENL_VERSION,
            NLM_F_REQUEST | NLM_F_ACK,
            attrs,
            &format!("IPVS command {cmd}"),
        )
        .map(|_| ())
    }

    /// Runs a dump (`GET_SERVICE`, `GET_DEST`, ...) and returns the
    /// attributes of every reply message (the bytes after its genl header).
    pub fn dump(&self, cmd: u8, attrs: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.exchange(
            self.family,
            cmd,
            IPVS_GENL_VERSION,
            NLM_F_REQUEST | NLM_F_DUMP,
            attrs,
            &format!("IPVS dump {cmd}"),
        )
    }

    /// Sends one message and collects the answers to it: every data
    /// message's attributes, until the acknowledgement, `NLMSG_DONE`, or
    /// (for a plain request without ACK nor DUMP) the first data message.
    fn exchange(
        &self,
        family: u16,
        cmd: u8,
        version: u8,
        flags: u16,
        attrs: &[u8],
        context: &str,
    ) -> Result<Vec<Vec<u8>>> {
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let len = (HDR + GENL_HDR + attrs.len()) as u32;
        let mut message = Vec::with_capacity(len as usize);
        message.extend_from_slice(&len.to_ne_bytes());
        message.extend_from_slice(&family.to_ne_bytes());
        message.extend_from_slice(&flags.to_ne_bytes());
        message.extend_from_slice(&sequence.to_ne_bytes());
        message.extend_from_slice(&0u32.to_ne_bytes());
        message.extend_from_slice(&[cmd, version, 0, 0]);
        message.extend_from_slice(attrs);

        let socket = self.socket.lock().unwrap_or_else(|e| e.into_inner());
        socket
            .send(&message)
            .map_err(|e| SysError::io(context.to_string(), e))?;
        let is_dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let wants_ack = flags & NLM_F_ACK != 0;
        let mut out = Vec::new();
        let mut buffer = vec![0u8; 1 << 16];
        let mut seen = 0usize;
        loop {
            let n = (&*socket)
                .read(&mut buffer)
                .map_err(|e| SysError::io(format!("{context}: no answer"), e))?;
            for (header, body) in messages(&buffer[..n]) {
                if header.sequence != sequence {
                    continue; // a stale answer to a request that timed out
                }
                seen += 1;
                if seen > MAX_DUMP_MESSAGES {
                    return Err(SysError::Invalid(format!("{context}: endless answer")));
                }
                match header.kind {
                    NLMSG_ERROR => {
                        let code = body
                            .get(..4)
                            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                            .unwrap_or(-libc::EIO);
                        if code == 0 {
                            return Ok(out);
                        }
                        return Err(SysError::io(
                            context.to_string(),
                            io::Error::from_raw_os_error(code.saturating_neg()),
                        ));
                    }
                    NLMSG_DONE => return Ok(out),
                    _ => {
                        out.push(body.get(GENL_HDR..).unwrap_or_default().to_vec());
                        if !is_dump && !wants_ack {
                            return Ok(out);
                        }
                    }
                }
            }
        }
    }
}

struct Header {
    kind: u16,
    sequence: u32,
}

/// The netlink messages of one datagram: header and payload.
fn messages(mut datagram: &[u8]) -> Vec<(Header, &[u8])> {
    let mut out = Vec::new();
    while datagram.len() >= HDR {
        let len = u32::from_ne_bytes([datagram[0], datagram[1], datagram[2], datagram[3]]) as usize;
        if len < HDR || len > datagram.len() {
            break;
        }
        let header = Header {
            kind: u16::from_ne_bytes([datagram[4], datagram[5]]),
            sequence: u32::from_ne_bytes([datagram[8], datagram[9], datagram[10], datagram[11]]),
        };
        out.push((header, &datagram[HDR..len]));
        datagram = &datagram[((len + 3) & !3).min(datagram.len())..];
    }
    out
}

/// Top-level attributes of a genl payload (type without flags, payload).
fn attributes(mut buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while buf.len() >= 4 {
        let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
        if len < 4 || len > buf.len() {
            break;
        }
        out.push((u16::from_ne_bytes([buf[2], buf[3]]) & 0x3fff, &buf[4..len]));
        buf = &buf[((len + 3) & !3).min(buf.len())..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_datagrams_and_skips_garbage() {
        let mut d = Vec::new();
        for (kind, seq) in [(NLMSG_DONE, 7u32), (NLMSG_ERROR, 8)] {
            d.extend_from_slice(&20u32.to_ne_bytes());
            d.extend_from_slice(&kind.to_ne_bytes());
            d.extend_from_slice(&0u16.to_ne_bytes());
            d.extend_from_slice(&seq.to_ne_bytes());
            d.extend_from_slice(&[0; 8]);
        }
        let parsed = messages(&d);
        assert_eq!(parsed.len(), 2);
        assert_eq!((parsed[1].0.kind, parsed[1].0.sequence), (NLMSG_ERROR, 8));
        for cut in 0..d.len() {
            let _ = messages(&d[..cut]);
            let _ = attributes(&d[..cut]);
        }
    }
}
