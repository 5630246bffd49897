//! IPv6 fixed header (RFC 8200 §3). kalive does not write it for adverts
//! (the kernel does, with traffic class 0xc0 and hop limit 255 set through
//! socket options), but writes it for unsolicited NAs on AF_PACKET and reads
//! it in tests and captures.

use std::net::Ipv6Addr;

use serde::{Deserialize, Serialize};

use crate::{ensure_room, read_u16, write_u16, Error};

pub const HEADER_LEN: usize = 40;
/// Next-header value of ICMPv6.
pub const NEXT_HEADER_ICMPV6: u8 = 58;

mod field {
    pub const VER_TC_FLOW: usize = 0;
    pub const PAYLOAD_LEN: usize = 4;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: usize = 8;
    pub const DST: usize = 24;
}

/// Zero-copy view of an IPv6 packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Header<T> {
    pub fn new_unchecked(buffer: T) -> Ipv6Header<T> {
        Ipv6Header { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Ipv6Header<T>, Error> {
        let header = Ipv6Header::new_unchecked(buffer);
        header.check_len()?;
        Ok(header)
    }

    /// Checks version 6 and that the payload length fits the buffer
    /// (trailing padding allowed).
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 6 {
            return Err(Error::BadIpHeader);
        }
        let expected = HEADER_LEN + usize::from(self.payload_len());
        if expected > len {
            return Err(Error::BadLength {
                expected,
                actual: len,
            });
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn first_word(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    pub fn version(&self) -> u8 {
        (self.first_word() >> 28) as u8
    }

    pub fn traffic_class(&self) -> u8 {
        (self.first_word() >> 20) as u8
    }

    pub fn flow_label(&self) -> u32 {
        self.first_word() & 0x000f_ffff
    }

    pub fn payload_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::PAYLOAD_LEN)
    }

    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NEXT_HEADER]
    }

    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    pub fn src(&self) -> Ipv6Addr {
        read_ipv6(self.buffer.as_ref(), field::SRC)
    }

    pub fn dst(&self) -> Ipv6Addr {
        read_ipv6(self.buffer.as_ref(), field::DST)
    }

    /// The payload, up to the payload length (padding excluded).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..HEADER_LEN + usize::from(self.payload_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Header<T> {
    /// Sets version 6, traffic class and flow label (20 bits).
    pub fn set_version_class_flow(&mut self, traffic_class: u8, flow_label: u32) {
        let word = (6u32 << 28) | (u32::from(traffic_class) << 20) | (flow_label & 0x000f_ffff);
        self.buffer.as_mut()[field::VER_TC_FLOW..field::VER_TC_FLOW + 4]
            .copy_from_slice(&word.to_be_bytes());
    }

    pub fn set_payload_len(&mut self, len: u16) {
        write_u16(self.buffer.as_mut(), field::PAYLOAD_LEN, len);
    }

    pub fn set_next_header(&mut self, next_header: u8) {
        self.buffer.as_mut()[field::NEXT_HEADER] = next_header;
    }

    pub fn set_hop_limit(&mut self, hop_limit: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = hop_limit;
    }

    pub fn set_src(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC..field::SRC + 16].copy_from_slice(&addr.octets());
    }

    pub fn set_dst(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::DST..field::DST + 16].copy_from_slice(&addr.octets());
    }
}

pub(crate) fn read_ipv6(buf: &[u8], at: usize) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    octets.copy_from_slice(&buf[at..at + 16]);
    Ipv6Addr::from(octets)
}

/// An IPv6 fixed header, decoded (extension headers are not interpreted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ipv6Repr {
    pub traffic_class: u8,
    pub flow_label: u32,
    pub next_header: u8,
    pub hop_limit: u8,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub payload_len: usize,
}

impl Ipv6Repr {
    pub fn parse<T: AsRef<[u8]>>(header: &Ipv6Header<T>) -> Result<Ipv6Repr, Error> {
        header.check_len()?;
        Ok(Ipv6Repr {
            traffic_class: header.traffic_class(),
            flow_label: header.flow_label(),
            next_header: header.next_header(),
            hop_limit: header.hop_limit(),
            src: header.src(),
            dst: header.dst(),
            payload_len: usize::from(header.payload_len()),
        })
    }

    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the 40-byte header at the start of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), Error> {
        ensure_room(buf, HEADER_LEN)?;
        let payload_len = u16::try_from(self.payload_len).map_err(|_| Error::BadLength {
            expected: usize::from(u16::MAX),
            actual: self.payload_len,
        })?;
        let mut header = Ipv6Header::new_unchecked(&mut buf[..HEADER_LEN]);
        header.set_version_class_flow(self.traffic_class, self.flow_label);
        header.set_payload_len(payload_len);
        header.set_next_header(self.next_header);
        header.set_hop_limit(self.hop_limit);
        header.set_src(self.src);
        header.set_dst(self.dst);
        Ok(())
    }
}
