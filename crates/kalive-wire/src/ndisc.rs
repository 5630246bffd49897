//! ICMPv6 neighbour discovery (RFC 4861) as far as kalive needs it: the
//! unsolicited neighbour advertisement keepalived sends for each IPv6 VIP
//! instead of a GARP (reference §2, `vrrp/vrrp_ndisc.c`; RFC 5798 §6.4.2),
//! and router solicitations, which appear in captures.

use std::net::{IpAddr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::ethernet::{self, ipv6_multicast_mac, EthernetRepr, Frame, ETHERTYPE_IPV6};
use crate::ipv6::{self, read_ipv6, Ipv6Header, Ipv6Repr, NEXT_HEADER_ICMPV6};
use crate::{checksum, ensure_room, read_mac, read_u16, write_u16, Error, MacAddr};

pub const TYPE_ROUTER_SOLICIT: u8 = 133;
pub const TYPE_NEIGHBOR_ADVERT: u8 = 136;
const OPT_SOURCE_LLADDR: u8 = 1;
const OPT_TARGET_LLADDR: u8 = 2;
/// A link-layer address option for Ethernet: type, length 1 (x 8 bytes), MAC.
const LLADDR_OPT_LEN: usize = 8;
const RS_LEN: usize = 8;
const NA_LEN: usize = 24;
const NA_FLAG_ROUTER: u8 = 0x80;
const NA_FLAG_SOLICITED: u8 = 0x40;
const NA_FLAG_OVERRIDE: u8 = 0x20;

/// All-nodes multicast, the destination of an unsolicited NA (RFC 4861 §7.2.6).
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// Length of the whole unsolicited-NA frame keepalived sends.
pub const UNSOLICITED_NA_FRAME_LEN: usize =
    ethernet::HEADER_LEN + ipv6::HEADER_LEN + NA_LEN + LLADDR_OPT_LEN;

mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    pub const NA_FLAGS: usize = 4;
    pub const NA_TARGET: usize = 8;
}

/// Zero-copy view of an ICMPv6 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Checks the length of the fixed part of RS / NA; other types need at
    /// least the 4-byte ICMPv6 header.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let packet = Packet::new_unchecked(buffer);
        let len = packet.buffer.as_ref().len();
        if len < 4 || len < packet.fixed_len() {
            return Err(Error::Truncated);
        }
        Ok(packet)
    }

    fn fixed_len(&self) -> usize {
        match self.msg_type() {
            TYPE_ROUTER_SOLICIT => RS_LEN,
            TYPE_NEIGHBOR_ADVERT => NA_LEN,
            _ => 4,
        }
    }

    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// NA flags byte (R, S, O in the top bits).
    pub fn na_flags(&self) -> u8 {
        self.buffer.as_ref()[field::NA_FLAGS]
    }

    pub fn na_target(&self) -> Ipv6Addr {
        read_ipv6(self.buffer.as_ref(), field::NA_TARGET)
    }

    /// The options area.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[self.fixed_len()..]
    }

    /// True when the checksum verifies with the IPv6 pseudo-header.
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        let message = self.buffer.as_ref();
        checksum::verify(Some(icmpv6_pseudo(src, dst, message.len())), message)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_type_code(&mut self, msg_type: u8, code: u8) {
        let buf = self.buffer.as_mut();
        buf[field::TYPE] = msg_type;
        buf[field::CODE] = code;
    }

    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    /// Zeroes and recomputes the checksum over the whole buffer.
    pub fn fill_checksum(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let message = self.buffer.as_ref();
        let value = checksum::compute(Some(icmpv6_pseudo(src, dst, message.len())), message);
        self.set_checksum(value);
    }
}

fn icmpv6_pseudo(src: Ipv6Addr, dst: Ipv6Addr, len: usize) -> u16 {
    checksum::pseudo_header(
        &IpAddr::V6(src),
        &IpAddr::V6(dst),
        NEXT_HEADER_ICMPV6,
        len as u32,
    )
}

/// A neighbour-discovery message, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NdiscRepr {
    RouterSolicit {
        source_lladdr: Option<MacAddr>,
    },
    NeighborAdvert {
        router: bool,
        solicited: bool,
        override_flag: bool,
        target: Ipv6Addr,
        target_lladdr: Option<MacAddr>,
    },
}

impl NdiscRepr {
    /// Parses an ICMPv6 message carried from `src` to `dst`, verifying the
    /// checksum. Types other than RS and NA are `Unsupported`; options other
    /// than the link-layer address one are skipped.
    pub fn parse(message: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<NdiscRepr, Error> {
        let packet = Packet::new_checked(message)?;
        if packet.code() != 0 {
            return Err(Error::Unsupported);
        }
        if !packet.verify_checksum(src, dst) {
            return Err(Error::BadChecksum);
        }
        match packet.msg_type() {
            TYPE_ROUTER_SOLICIT => Ok(NdiscRepr::RouterSolicit {
                source_lladdr: find_lladdr(packet.options(), OPT_SOURCE_LLADDR)?,
            }),
            TYPE_NEIGHBOR_ADVERT => Ok(NdiscRepr::NeighborAdvert {
                router: packet.na_flags() & NA_FLAG_ROUTER != 0,
                solicited: packet.na_flags() & NA_FLAG_SOLICITED != 0,
                override_flag: packet.na_flags() & NA_FLAG_OVERRIDE != 0,
                target: packet.na_target(),
                target_lladdr: find_lladdr(packet.options(), OPT_TARGET_LLADDR)?,
            }),
            _ => Err(Error::Unsupported),
        }
    }

    fn fixed_len(&self) -> usize {
        match self {
            NdiscRepr::RouterSolicit { .. } => RS_LEN,
            NdiscRepr::NeighborAdvert { .. } => NA_LEN,
        }
    }

    fn lladdr(&self) -> Option<(u8, MacAddr)> {
        match self {
            NdiscRepr::RouterSolicit { source_lladdr } => {
                source_lladdr.map(|mac| (OPT_SOURCE_LLADDR, mac))
            }
            NdiscRepr::NeighborAdvert { target_lladdr, .. } => {
                target_lladdr.map(|mac| (OPT_TARGET_LLADDR, mac))
            }
        }
    }

    /// Length of the ICMPv6 message.
    pub fn buffer_len(&self) -> usize {
        self.fixed_len() + self.lladdr().map_or(0, |_| LLADDR_OPT_LEN)
    }

    /// Writes the ICMPv6 message, checksum for `src` -> `dst` included.
    pub fn emit(&self, buf: &mut [u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<(), Error> {
        let len = self.buffer_len();
        ensure_room(buf, len)?;
        let buf = &mut buf[..len];
        buf.fill(0);
        match *self {
            NdiscRepr::RouterSolicit { .. } => buf[field::TYPE] = TYPE_ROUTER_SOLICIT,
            NdiscRepr::NeighborAdvert {
                router,
                solicited,
                override_flag,
                target,
                ..
            } => {
                buf[field::TYPE] = TYPE_NEIGHBOR_ADVERT;
                buf[field::NA_FLAGS] = flag(router, NA_FLAG_ROUTER)
                    | flag(solicited, NA_FLAG_SOLICITED)
                    | flag(override_flag, NA_FLAG_OVERRIDE);
                buf[field::NA_TARGET..field::NA_TARGET + 16].copy_from_slice(&target.octets());
            }
        }
        if let Some((opt_type, mac)) = self.lladdr() {
            let at = self.fixed_len();
            buf[at] = opt_type;
            buf[at + 1] = 1;
            buf[at + 2..at + 8].copy_from_slice(&mac);
        }
        Packet::new_unchecked(buf).fill_checksum(src, dst);
        Ok(())
    }
}

fn flag(set: bool, bit: u8) -> u8 {
    if set {
        bit
    } else {
        0
    }
}

/// Finds the Ethernet link-layer address option of `wanted` type. Options
/// with length 0 are malformed (RFC 4861 §4.6: must be silently discarded).
fn find_lladdr(mut options: &[u8], wanted: u8) -> Result<Option<MacAddr>, Error> {
    while !options.is_empty() {
        if options.len() < 2 {
            return Err(Error::Truncated);
        }
        let len = usize::from(options[1]) * 8;
        if len == 0 {
            return Err(Error::BadLength {
                expected: 8,
                actual: 0,
            });
        }
        if options.len() < len {
            return Err(Error::Truncated);
        }
        if options[0] == wanted && len == LLADDR_OPT_LEN {
            return Ok(Some(read_mac(options, 2)));
        }
        options = &options[len..];
    }
    Ok(None)
}

/// The unsolicited neighbour advertisement keepalived sends for an IPv6 VIP:
/// from the VIP to all-nodes, hop limit 255, Override set (Router and
/// Solicited clear), with a target link-layer address option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UnsolicitedNa {
    /// Interface MAC (or VMAC) the VIP now lives on.
    pub src_mac: MacAddr,
    /// The VIP.
    pub target: Ipv6Addr,
}

impl UnsolicitedNa {
    fn ndisc(&self) -> NdiscRepr {
        NdiscRepr::NeighborAdvert {
            router: false,
            solicited: false,
            override_flag: true,
            target: self.target,
            target_lladdr: Some(self.src_mac),
        }
    }

    fn ipv6(&self) -> Ipv6Repr {
        Ipv6Repr {
            traffic_class: 0,
            flow_label: 0,
            next_header: NEXT_HEADER_ICMPV6,
            hop_limit: 255,
            src: self.target,
            dst: ALL_NODES,
            payload_len: self.ndisc().buffer_len(),
        }
    }

    fn ethernet(&self) -> EthernetRepr {
        EthernetRepr {
            dst: ipv6_multicast_mac(ALL_NODES),
            src: self.src_mac,
            ethertype: ETHERTYPE_IPV6,
        }
    }

    /// Length of the whole frame (86).
    pub fn buffer_len(&self) -> usize {
        UNSOLICITED_NA_FRAME_LEN
    }

    /// Writes the whole Ethernet + IPv6 + ICMPv6 frame.
    pub fn emit_frame(&self, buf: &mut [u8]) -> Result<(), Error> {
        ensure_room(buf, UNSOLICITED_NA_FRAME_LEN)?;
        self.ethernet().emit(buf)?;
        let ip_at = ethernet::HEADER_LEN;
        self.ipv6().emit(&mut buf[ip_at..])?;
        let icmp_at = ip_at + ipv6::HEADER_LEN;
        self.ndisc()
            .emit(&mut buf[icmp_at..], self.target, ALL_NODES)
    }

    /// Recognises an unsolicited NA frame in the exact shape `emit_frame`
    /// writes (flow label aside); anything else is `Unsupported`.
    pub fn parse_frame(frame: &[u8]) -> Result<UnsolicitedNa, Error> {
        let eth = EthernetRepr::parse(&Frame::new_checked(frame)?)?;
        let header = Ipv6Header::new_checked(&frame[ethernet::HEADER_LEN..])?;
        let ip = Ipv6Repr::parse(&header)?;
        if ip.next_header != NEXT_HEADER_ICMPV6 {
            return Err(Error::Unsupported);
        }
        let ndisc = NdiscRepr::parse(header.payload(), ip.src, ip.dst)?;
        let NdiscRepr::NeighborAdvert {
            target,
            target_lladdr: Some(src_mac),
            ..
        } = ndisc
        else {
            return Err(Error::Unsupported);
        };
        let na = UnsolicitedNa { src_mac, target };
        let ip_matches = Ipv6Repr {
            flow_label: 0,
            ..ip
        } == na.ipv6();
        if eth != na.ethernet() || !ip_matches || ndisc != na.ndisc() {
            return Err(Error::Unsupported);
        }
        Ok(na)
    }
}
