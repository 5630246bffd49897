//! IPv4 header (RFC 791), and the header kalive writes with `IP_HDRINCL` for
//! VRRP adverts (reference §2: TOS 0xc0, TTL 255 or `unicast_ttl`, protocol
//! 112, no fragmentation flags, identification incremented per packet).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::{checksum, ensure_room, read_u16, write_u16, Error, IPPROTO_VRRP};

/// Header length without options.
pub const HEADER_LEN: usize = 20;
/// TOS keepalived sets on adverts (DSCP CS6, "network control").
pub const VRRP_TOS: u8 = 0xc0;
/// TTL of multicast adverts (RFC 5798 §5.1.1.3).
pub const VRRP_TTL: u8 = 255;

const FLAG_DONT_FRAG: u16 = 0x4000;
const FLAG_MORE_FRAGS: u16 = 0x2000;
const FRAG_OFFSET_MASK: u16 = 0x1fff;

mod field {
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLAGS_FRAG: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
}

/// Zero-copy view of an IPv4 packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Header<T> {
    pub fn new_unchecked(buffer: T) -> Ipv4Header<T> {
        Ipv4Header { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Ipv4Header<T>, Error> {
        let header = Ipv4Header::new_unchecked(buffer);
        header.check_len()?;
        Ok(header)
    }

    /// Checks version 4, a sane IHL and a total length that fits the buffer.
    /// Bytes past the total length (Ethernet padding) are allowed.
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 4 || self.header_len() < HEADER_LEN {
            return Err(Error::BadIpHeader);
        }
        let total = usize::from(self.total_len());
        if self.header_len() > len || total < self.header_len() || total > len {
            return Err(Error::BadLength {
                expected: total.max(self.header_len()),
                actual: len,
            });
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL x 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }

    pub fn total_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::TOTAL_LEN)
    }

    pub fn ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::IDENT)
    }

    pub fn dont_frag(&self) -> bool {
        read_u16(self.buffer.as_ref(), field::FLAGS_FRAG) & FLAG_DONT_FRAG != 0
    }

    pub fn more_frags(&self) -> bool {
        read_u16(self.buffer.as_ref(), field::FLAGS_FRAG) & FLAG_MORE_FRAGS != 0
    }

    /// Fragment offset in 8-byte units.
    pub fn frag_offset(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::FLAGS_FRAG) & FRAG_OFFSET_MASK
    }

    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    pub fn header_checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    pub fn src(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(
            b[field::SRC],
            b[field::SRC + 1],
            b[field::SRC + 2],
            b[field::SRC + 3],
        )
    }

    pub fn dst(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(
            b[field::DST],
            b[field::DST + 1],
            b[field::DST + 2],
            b[field::DST + 3],
        )
    }

    /// True when the header checksum verifies.
    pub fn verify_checksum(&self) -> bool {
        checksum::verify(None, &self.buffer.as_ref()[..self.header_len()])
    }

    /// The payload, up to the total length (padding excluded).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..usize::from(self.total_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Header<T> {
    /// Sets version 4 and the header length in bytes (multiple of 4).
    pub fn set_version_header_len(&mut self, header_len: usize) {
        self.buffer.as_mut()[field::VER_IHL] = 0x40 | ((header_len / 4) as u8 & 0x0f);
    }

    pub fn set_tos(&mut self, tos: u8) {
        self.buffer.as_mut()[field::TOS] = tos;
    }

    pub fn set_total_len(&mut self, len: u16) {
        write_u16(self.buffer.as_mut(), field::TOTAL_LEN, len);
    }

    pub fn set_ident(&mut self, ident: u16) {
        write_u16(self.buffer.as_mut(), field::IDENT, ident);
    }

    /// Sets the flags and fragment offset: DF as given, not a fragment.
    pub fn set_unfragmented(&mut self, dont_frag: bool) {
        let value = if dont_frag { FLAG_DONT_FRAG } else { 0 };
        write_u16(self.buffer.as_mut(), field::FLAGS_FRAG, value);
    }

    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }

    pub fn set_protocol(&mut self, protocol: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = protocol;
    }

    pub fn set_header_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    pub fn set_src(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC..field::SRC + 4].copy_from_slice(&addr.octets());
    }

    pub fn set_dst(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST..field::DST + 4].copy_from_slice(&addr.octets());
    }

    /// Zeroes and recomputes the header checksum.
    pub fn fill_checksum(&mut self) {
        self.set_header_checksum(0);
        let len = self.header_len();
        let value = checksum::compute(None, &self.buffer.as_ref()[..len]);
        self.set_header_checksum(value);
    }
}

/// An IPv4 header, decoded (options are skipped on parse, never emitted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ipv4Repr {
    pub tos: u8,
    pub ident: u16,
    pub dont_frag: bool,
    pub ttl: u8,
    pub protocol: u8,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// Payload length (total length minus header length).
    pub payload_len: usize,
}

impl Ipv4Repr {
    /// Parses and verifies the header. Fragments are `Unsupported` (VRRP
    /// adverts are never fragmented).
    pub fn parse<T: AsRef<[u8]>>(header: &Ipv4Header<T>) -> Result<Ipv4Repr, Error> {
        header.check_len()?;
        if !header.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        if header.more_frags() || header.frag_offset() != 0 {
            return Err(Error::Unsupported);
        }
        Ok(Ipv4Repr {
            tos: header.tos(),
            ident: header.ident(),
            dont_frag: header.dont_frag(),
            ttl: header.ttl(),
            protocol: header.protocol(),
            src: header.src(),
            dst: header.dst(),
            payload_len: usize::from(header.total_len()) - header.header_len(),
        })
    }

    /// The emitted header length (no options).
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the 20-byte header, checksum included, at the start of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), Error> {
        ensure_room(buf, HEADER_LEN)?;
        let total = HEADER_LEN + self.payload_len;
        let total = u16::try_from(total).map_err(|_| Error::BadLength {
            expected: usize::from(u16::MAX),
            actual: total,
        })?;
        let mut header = Ipv4Header::new_unchecked(&mut buf[..HEADER_LEN]);
        header.set_version_header_len(HEADER_LEN);
        header.set_tos(self.tos);
        header.set_total_len(total);
        header.set_ident(self.ident);
        header.set_unfragmented(self.dont_frag);
        header.set_ttl(self.ttl);
        header.set_protocol(self.protocol);
        header.set_src(self.src);
        header.set_dst(self.dst);
        header.fill_checksum();
        Ok(())
    }

    /// The header keepalived puts in front of a VRRP advert of `vrrp_len` bytes.
    pub fn vrrp(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, ident: u16, vrrp_len: usize) -> Ipv4Repr {
        Ipv4Repr {
            tos: VRRP_TOS,
            ident,
            dont_frag: false,
            ttl,
            protocol: IPPROTO_VRRP,
            src,
            dst,
            payload_len: vrrp_len,
        }
    }
}

/// Writes the IPv4 header kalive sends before a VRRP advert (TOS 0xc0, `ttl`
/// — 255, or `unicast_ttl` — protocol 112, flags and offset zero, header
/// checksum filled) and returns its length. The advert goes at
/// `buf[HEADER_LEN..HEADER_LEN + vrrp_len]`.
pub fn emit_vrrp_ipv4(
    buf: &mut [u8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    ident: u16,
    vrrp_len: usize,
) -> Result<usize, Error> {
    Ipv4Repr::vrrp(src, dst, ttl, ident, vrrp_len).emit(buf)?;
    Ok(HEADER_LEN)
}
