//! VRRP advertisements: VRRPv2 (RFC 3768 §5) and VRRPv3 (RFC 5798 §5,
//! RFC 9568 §5), as keepalived sends and checks them (reference §2 "Packet
//! format and checksums").
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//! v2: |  Auth Type    |   Adver Int   |          Checksum             |
//! v3: |(rsvd) |     Max Adver Int     |          Checksum             |
//! |                 IPvX Address(es) ...                          |
//! v2 only: Authentication Data (8 bytes)
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::{checksum, ensure_room, read_u16, write_u16, Error};

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// IPv4 multicast group of VRRP (RFC 5798 §5.1.1.2).
pub const VRRP_MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 multicast group of VRRP (RFC 5798 §5.1.2.2).
pub const VRRP_MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// Fixed VRRP header length (both versions).
pub const HEADER_LEN: usize = 8;
/// VRRPv2 authentication data length (always present in v2, RFC 3768 §5.3.10).
pub const AUTH_DATA_LEN: usize = 8;
/// The only VRRP message type.
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Largest v3 Max Adver Int (12 bits, centiseconds).
pub const MAX_V3_INTERVAL_CS: u16 = 0x0fff;

/// v2 auth type numbers (RFC 2338 §5.3.6; keepalived keeps PASS and AH).
pub const AUTH_TYPE_NONE: u8 = 0;
pub const AUTH_TYPE_PASS: u8 = 1;
pub const AUTH_TYPE_AH: u8 = 2;

mod field {
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    pub const AUTH_TYPE: usize = 4;
    pub const ADVER_INT_V2: usize = 5;
    pub const MAX_ADVER_INT_V3: usize = 4;
    pub const CHECKSUM: usize = 6;
    pub const ADDRS: usize = 8;
}

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Version {
    /// RFC 3768, IPv4 only, interval in seconds, auth field.
    V2,
    /// RFC 5798 / RFC 9568, IPv4 and IPv6, interval in centiseconds.
    V3,
}

impl Version {
    /// The version nibble.
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    /// Version from its nibble.
    pub fn from_number(n: u8) -> Option<Version> {
        match n {
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }
}

/// Address family of the addresses carried (and of the IP header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    /// Bytes per address.
    pub fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }

    /// Family of an address.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

/// VRRPv2 authentication (auth types 0, 1, 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Auth {
    /// Type 0: no authentication; auth data zero.
    None,
    /// Type 1: simple text password, 8 bytes zero-padded.
    Pass([u8; 8]),
    /// Type 2: IPsec AH. The ICV lives in the AH header, not here; the auth
    /// data field is written as zeros and ignored on receive.
    Ah,
}

impl Auth {
    /// The auth type number on the wire.
    pub fn type_number(&self) -> u8 {
        match self {
            Auth::None => AUTH_TYPE_NONE,
            Auth::Pass(_) => AUTH_TYPE_PASS,
            Auth::Ah => AUTH_TYPE_AH,
        }
    }
}

/// How the VRRP checksum is computed or verified.
///
/// A VRRPv2 message always uses the plain RFC 1071 sum over the message
/// (RFC 3768 §5.3.8) whatever is passed here. For VRRPv3:
/// - `V2` and `V3AsV2`: no pseudo-header (keepalived `v3_checksum_as_v2`,
///   RFC 9568 interop with some vendors);
/// - `V3 { src, dst }`: pseudo-header with the real IP source and destination
///   (RFC 5798 §5.2.8). keepalived's `old_unicast_checksum` is
///   `V3 { src, dst: VRRP_MCAST_V4 }` for a unicast advert, see
///   [`Checksum::old_unicast`] and [`identify_checksum`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Checksum {
    V2,
    V3 { src: IpAddr, dst: IpAddr },
    V3AsV2,
}

impl Checksum {
    /// keepalived's pre-1.3.6 unicast checksum: the multicast group stands in
    /// for the real unicast destination (reference §2, `old_unicast_checksum`).
    pub fn old_unicast(src: Ipv4Addr) -> Checksum {
        Checksum::V3 {
            src: IpAddr::V4(src),
            dst: IpAddr::V4(VRRP_MCAST_V4),
        }
    }

    /// Pseudo-header sum for a VRRPv3 message of `length` bytes, if any.
    fn pseudo_sum(&self, version: Version, length: usize) -> Option<u16> {
        match (version, self) {
            (Version::V3, Checksum::V3 { src, dst }) => Some(checksum::pseudo_header(
                src,
                dst,
                IPPROTO_VRRP,
                length as u32,
            )),
            _ => None,
        }
    }
}

/// Which checksum variant a received VRRPv3 advert matched (see
/// [`identify_checksum`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChecksumKind {
    /// RFC 5798 pseudo-header with the real destination.
    Standard,
    /// Pseudo-header with the IPv4 multicast group as destination although
    /// the advert was unicast (keepalived before 1.3.6).
    OldUnicast,
    /// No pseudo-header (`v3_checksum_as_v2`).
    AsV2,
}

/// Tells which checksum variant `message` (a whole VRRP message) verifies
/// with, trying the RFC one first; `None` if none does. For a VRRPv2 message
/// only the plain sum exists and is reported as [`ChecksumKind::AsV2`].
///
/// keepalived auto-detects `old_unicast_checksum` on receive from the first
/// unicast advert of a peer (reference §2); the engine calls this and
/// remembers the answer per peer.
pub fn identify_checksum(message: &[u8], src: IpAddr, dst: IpAddr) -> Option<ChecksumKind> {
    let version = message.first().and_then(|b| Version::from_number(b >> 4))?;
    if version == Version::V2 {
        return checksum::verify(None, message).then_some(ChecksumKind::AsV2);
    }
    let with_dst = |dst: IpAddr| {
        let pseudo = checksum::pseudo_header(&src, &dst, IPPROTO_VRRP, message.len() as u32);
        checksum::verify(Some(pseudo), message)
    };
    if with_dst(dst) {
        Some(ChecksumKind::Standard)
    } else if src.is_ipv4() && with_dst(IpAddr::V4(VRRP_MCAST_V4)) {
        Some(ChecksumKind::OldUnicast)
    } else if checksum::verify(None, message) {
        Some(ChecksumKind::AsV2)
    } else {
        None
    }
}

/// Zero-copy view of a VRRP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking anything; getters may panic on a
    /// short buffer, so use [`Packet::new_checked`] for untrusted input.
    pub fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after [`Packet::check_len`].
    pub fn new_checked(buffer: T, family: Family) -> Result<Packet<T>, Error> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len(family)?;
        Ok(packet)
    }

    /// Checks that the buffer holds exactly the message its header announces
    /// (header, `count` addresses of `family`, v2 auth data), so that every
    /// getter is safe. Checks the version first because the length depends
    /// on it.
    pub fn check_len(&self, family: Family) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let version = self.version()?;
        if version == Version::V2 && family == Family::V6 {
            return Err(Error::BadVersion(2));
        }
        let expected = message_len(version, family, usize::from(self.addr_count()));
        if len != expected {
            return Err(Error::BadLength {
                expected,
                actual: len,
            });
        }
        Ok(())
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The raw version nibble.
    pub fn version_number(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    /// The version, or `BadVersion`.
    pub fn version(&self) -> Result<Version, Error> {
        let n = self.version_number();
        Version::from_number(n).ok_or(Error::BadVersion(n))
    }

    /// The message type nibble (1 = ADVERTISEMENT).
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    /// Count IPvX Addrs.
    pub fn addr_count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// v2 auth type byte.
    pub fn auth_type(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_TYPE]
    }

    /// v2 Adver Int, seconds.
    pub fn adver_int_v2(&self) -> u8 {
        self.buffer.as_ref()[field::ADVER_INT_V2]
    }

    /// v3 Max Adver Int, centiseconds (the 4 reserved bits masked off).
    pub fn max_adver_int_v3(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::MAX_ADVER_INT_V3) & MAX_V3_INTERVAL_CS
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The address bytes (`count` x 4 or 16).
    pub fn addr_bytes(&self, family: Family) -> &[u8] {
        let end = field::ADDRS + usize::from(self.addr_count()) * family.addr_len();
        &self.buffer.as_ref()[field::ADDRS..end]
    }

    /// The `index`th address.
    pub fn addr(&self, family: Family, index: usize) -> IpAddr {
        let at = field::ADDRS + index * family.addr_len();
        let bytes = &self.buffer.as_ref()[at..at + family.addr_len()];
        ip_from_bytes(family, bytes)
    }

    /// v2 authentication data (the 8 bytes after the addresses).
    pub fn auth_data(&self, family: Family) -> [u8; 8] {
        let at = field::ADDRS + usize::from(self.addr_count()) * family.addr_len();
        let mut data = [0u8; 8];
        data.copy_from_slice(&self.buffer.as_ref()[at..at + AUTH_DATA_LEN]);
        data
    }

    /// True when the checksum verifies with `checksum`.
    pub fn verify_checksum(&self, checksum: &Checksum) -> bool {
        let message = self.buffer.as_ref();
        let pseudo = match self.version() {
            Ok(version) => checksum.pseudo_sum(version, message.len()),
            Err(_) => None,
        };
        checksum::verify(pseudo, message)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_version_type(&mut self, version: Version, msg_type: u8) {
        self.buffer.as_mut()[field::VER_TYPE] = (version.number() << 4) | (msg_type & 0x0f);
    }

    pub fn set_vrid(&mut self, vrid: u8) {
        self.buffer.as_mut()[field::VRID] = vrid;
    }

    pub fn set_priority(&mut self, priority: u8) {
        self.buffer.as_mut()[field::PRIORITY] = priority;
    }

    pub fn set_addr_count(&mut self, count: u8) {
        self.buffer.as_mut()[field::COUNT] = count;
    }

    pub fn set_auth_type(&mut self, auth_type: u8) {
        self.buffer.as_mut()[field::AUTH_TYPE] = auth_type;
    }

    pub fn set_adver_int_v2(&mut self, seconds: u8) {
        self.buffer.as_mut()[field::ADVER_INT_V2] = seconds;
    }

    /// Sets Max Adver Int; the reserved bits are written as zero.
    pub fn set_max_adver_int_v3(&mut self, centiseconds: u16) {
        write_u16(
            self.buffer.as_mut(),
            field::MAX_ADVER_INT_V3,
            centiseconds & MAX_V3_INTERVAL_CS,
        );
    }

    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    /// Writes the `index`th address.
    pub fn set_addr(&mut self, index: usize, addr: &IpAddr) {
        let len = Family::of(addr).addr_len();
        let at = field::ADDRS + index * len;
        let dst = &mut self.buffer.as_mut()[at..at + len];
        match addr {
            IpAddr::V4(a) => dst.copy_from_slice(&a.octets()),
            IpAddr::V6(a) => dst.copy_from_slice(&a.octets()),
        }
    }

    /// Writes the v2 auth data (after `count` addresses of `family`).
    pub fn set_auth_data(&mut self, family: Family, data: &[u8; 8]) {
        let at = field::ADDRS + usize::from(self.addr_count()) * family.addr_len();
        self.buffer.as_mut()[at..at + AUTH_DATA_LEN].copy_from_slice(data);
    }

    /// Zeroes the checksum field and writes the computed checksum.
    pub fn fill_checksum(&mut self, checksum: &Checksum) {
        self.set_checksum(0);
        let message = self.buffer.as_ref();
        let pseudo = match self.version() {
            Ok(version) => checksum.pseudo_sum(version, message.len()),
            Err(_) => None,
        };
        let value = checksum::compute(pseudo, message);
        self.set_checksum(value);
    }
}

/// Length of a VRRP message with `count` addresses.
pub fn message_len(version: Version, family: Family, count: usize) -> usize {
    let auth = match version {
        Version::V2 => AUTH_DATA_LEN,
        Version::V3 => 0,
    };
    HEADER_LEN + count * family.addr_len() + auth
}

fn ip_from_bytes(family: Family, bytes: &[u8]) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
        Family::V6 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&bytes[..16]);
            IpAddr::V6(Ipv6Addr::from(octets))
        }
    }
}

/// A VRRP advertisement, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AdvertRepr {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// v3: Max Adver Int in centiseconds (12 bits); v2: Adver Int seconds x 100.
    pub interval_cs: u16,
    /// Always `Auth::None` for v3.
    pub auth: Auth,
    pub addrs: Vec<IpAddr>,
}

impl AdvertRepr {
    /// Parses a whole VRRP message (the IP payload, exactly) received over
    /// `family`, verifying its checksum.
    ///
    /// Checks, in this order (close to keepalived's `vrrp_check_packet`,
    /// reference §2): header present (`Truncated`), version (`BadVersion`),
    /// exact length for the announced address count (`BadLength`), v2 auth
    /// type (`BadAuthType`), type (`BadType`), checksum (`BadChecksum`).
    /// Configuration-dependent checks (TTL, auth data, interval, address
    /// list) belong to the engine.
    pub fn parse(bytes: &[u8], family: Family, checksum: Checksum) -> Result<AdvertRepr, Error> {
        let packet = Packet::new_checked(bytes, family)?;
        let version = packet.version()?;
        let auth = match version {
            Version::V2 => parse_auth(&packet, family)?,
            Version::V3 => Auth::None,
        };
        if packet.msg_type() != TYPE_ADVERTISEMENT {
            return Err(Error::BadType(packet.msg_type()));
        }
        if !packet.verify_checksum(&checksum) {
            return Err(Error::BadChecksum);
        }
        let interval_cs = match version {
            Version::V2 => u16::from(packet.adver_int_v2()) * 100,
            Version::V3 => packet.max_adver_int_v3(),
        };
        let addrs = (0..usize::from(packet.addr_count()))
            .map(|i| packet.addr(family, i))
            .collect();
        Ok(AdvertRepr {
            version,
            vrid: packet.vrid(),
            priority: packet.priority(),
            interval_cs,
            auth,
            addrs,
        })
    }

    /// Family of the addresses; IPv4 when there are none (an empty list
    /// encodes the same in both families: the checksum context carries the
    /// family of the pseudo-header).
    pub fn family(&self) -> Family {
        self.addrs.first().map(Family::of).unwrap_or(Family::V4)
    }

    /// Length of the emitted VRRP message.
    pub fn buffer_len(&self) -> usize {
        message_len(self.version, self.family(), self.addrs.len())
    }

    /// Writes the whole VRRP message, checksum included, into
    /// `buf[..self.buffer_len()]`. Bytes past `buffer_len()` are untouched.
    pub fn emit(&self, buf: &mut [u8], checksum: Checksum) -> Result<(), Error> {
        self.check_encodable()?;
        let len = self.buffer_len();
        ensure_room(buf, len)?;
        let family = self.family();
        let mut packet = Packet::new_unchecked(&mut buf[..len]);
        packet.set_version_type(self.version, TYPE_ADVERTISEMENT);
        packet.set_vrid(self.vrid);
        packet.set_priority(self.priority);
        packet.set_addr_count(self.addrs.len() as u8);
        match self.version {
            Version::V2 => {
                packet.set_auth_type(self.auth.type_number());
                packet.set_adver_int_v2((self.interval_cs / 100) as u8);
            }
            Version::V3 => packet.set_max_adver_int_v3(self.interval_cs),
        }
        for (i, addr) in self.addrs.iter().enumerate() {
            packet.set_addr(i, addr);
        }
        if self.version == Version::V2 {
            let data = match self.auth {
                Auth::Pass(password) => password,
                Auth::None | Auth::Ah => [0u8; 8],
            };
            packet.set_auth_data(family, &data);
        }
        packet.fill_checksum(&checksum);
        Ok(())
    }

    /// Rejects what the wire format cannot carry.
    fn check_encodable(&self) -> Result<(), Error> {
        let family = self.family();
        let mixed = self.addrs.iter().any(|a| Family::of(a) != family);
        let v2_over_v6 = self.version == Version::V2 && family == Family::V6;
        if self.addrs.len() > 255 || mixed || v2_over_v6 {
            return Err(Error::BadAddressCount {
                count: self.addrs.len(),
            });
        }
        match self.version {
            Version::V2 => {
                let whole_seconds = self.interval_cs % 100 == 0;
                if !whole_seconds || self.interval_cs / 100 > 255 {
                    return Err(Error::BadInterval);
                }
            }
            Version::V3 => {
                if self.interval_cs > MAX_V3_INTERVAL_CS {
                    return Err(Error::BadInterval);
                }
                if self.auth != Auth::None {
                    return Err(Error::BadAuthType(self.auth.type_number()));
                }
            }
        }
        Ok(())
    }
}

fn parse_auth(packet: &Packet<&[u8]>, family: Family) -> Result<Auth, Error> {
    match packet.auth_type() {
        AUTH_TYPE_NONE => Ok(Auth::None),
        AUTH_TYPE_PASS => Ok(Auth::Pass(packet.auth_data(family))),
        AUTH_TYPE_AH => Ok(Auth::Ah),
        other => Err(Error::BadAuthType(other)),
    }
}
