//! Netlink attributes (`struct nlattr`: length, type, payload padded to
//! 4 bytes), written into and read from plain byte vectors. Host byte
//! order except where a field is `__be16`/`__be32` in the kernel.

use super::consts::NLA_TYPE_MASK;
use crate::error::LbError;

/// Appends attributes to a buffer; nests by patching the length later.
#[derive(Debug, Default)]
pub(crate) struct AttrWriter {
    pub(crate) bytes: Vec<u8>,
}

impl AttrWriter {
    pub(crate) fn put(&mut self, kind: u16, payload: &[u8]) {
        // nla_len counts header and payload, not the padding.
        let len = (4 + payload.len()) as u16;
        self.bytes.extend_from_slice(&len.to_ne_bytes());
        self.bytes.extend_from_slice(&kind.to_ne_bytes());
        self.bytes.extend_from_slice(payload);
        self.pad();
    }

    fn pad(&mut self) {
        while self.bytes.len() % 4 != 0 {
            self.bytes.push(0);
        }
    }

    pub(crate) fn u8(&mut self, kind: u16, v: u8) {
        self.put(kind, &[v]);
    }
    pub(crate) fn u16(&mut self, kind: u16, v: u16) {
        self.put(kind, &v.to_ne_bytes());
    }
    pub(crate) fn be16(&mut self, kind: u16, v: u16) {
        self.put(kind, &v.to_be_bytes());
    }
    pub(crate) fn u32(&mut self, kind: u16, v: u32) {
        self.put(kind, &v.to_ne_bytes());
    }
    /// A NUL-terminated string (`NLA_NUL_STRING`).
    pub(crate) fn string(&mut self, kind: u16, v: &str) {
        let mut payload = v.as_bytes().to_vec();
        payload.push(0);
        self.put(kind, &payload);
    }

    /// A nested attribute holding what `fill` writes. The kernel's IPVS
    /// parser does not need `NLA_F_NESTED`, and ipvsadm (libnl) does not
    /// set it; neither do we.
    pub(crate) fn nested(&mut self, kind: u16, fill: impl FnOnce(&mut AttrWriter)) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(&[0, 0]);
        self.bytes.extend_from_slice(&kind.to_ne_bytes());
        fill(self);
        let len = (self.bytes.len() - start) as u16;
        self.bytes[start..start + 2].copy_from_slice(&len.to_ne_bytes());
    }
}

/// Iterates over the attributes of a buffer: (type without flags, payload).
/// A truncated or malformed attribute ends the walk with an error.
pub(crate) fn attrs(mut buf: &[u8]) -> impl Iterator<Item = Result<(u16, &[u8]), LbError>> {
    std::iter::from_fn(move || {
        if buf.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
        let kind = u16::from_ne_bytes([buf[2], buf[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > buf.len() {
            buf = &[];
            return Some(Err(LbError::IpvsReply(format!(
                "attribute {kind} of length {len} overruns its message"
            ))));
        }
        let payload = &buf[4..len];
        let next = ((len + 3) & !3).min(buf.len());
        buf = &buf[next..];
        Some(Ok((kind, payload)))
    })
}

pub(crate) fn get_u8(p: &[u8]) -> Option<u8> {
    p.first().copied()
}
pub(crate) fn get_u16(p: &[u8]) -> Option<u16> {
    Some(u16::from_ne_bytes(p.get(..2)?.try_into().ok()?))
}
pub(crate) fn get_be16(p: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(p.get(..2)?.try_into().ok()?))
}
pub(crate) fn get_u32(p: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(p.get(..4)?.try_into().ok()?))
}
pub(crate) fn get_string(p: &[u8]) -> Option<String> {
    let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
    String::from_utf8(p[..end].to_vec()).ok()
}
