//! ARP over Ethernet for IPv4 (RFC 826) and the gratuitous ARP keepalived
//! sends for each VIP on becoming MASTER (reference §2 GARP; RFC 5798
//! §6.4.2): an ARP *request* "who-has VIP tell VIP" from the interface (or
//! VMAC) address, broadcast, with target MAC ff:ff:ff:ff:ff:ff.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::ethernet::{self, EthernetRepr, Frame, ETHERTYPE_ARP, ETHERTYPE_IPV4};
use crate::{ensure_room, read_mac, read_u16, write_u16, Error, MacAddr, MAC_BROADCAST};

/// ARP packet length for Ethernet/IPv4.
pub const PACKET_LEN: usize = 28;
/// Whole GARP frame length (no padding: keepalived sends 42 bytes).
pub const GARP_FRAME_LEN: usize = ethernet::HEADER_LEN + PACKET_LEN;

const HTYPE_ETHERNET: u16 = 1;

mod field {
    pub const HTYPE: usize = 0;
    pub const PTYPE: usize = 2;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: usize = 6;
    pub const SHA: usize = 8;
    pub const SPA: usize = 14;
    pub const THA: usize = 18;
    pub const TPA: usize = 24;
}

/// ARP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operation {
    Request,
    Reply,
}

impl Operation {
    fn number(self) -> u16 {
        match self {
            Operation::Request => 1,
            Operation::Reply => 2,
        }
    }
}

/// Zero-copy view of an Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Checks the length only (trailing padding allowed).
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        if buffer.as_ref().len() < PACKET_LEN {
            return Err(Error::Truncated);
        }
        Ok(Packet::new_unchecked(buffer))
    }

    pub fn htype(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::HTYPE)
    }

    pub fn ptype(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::PTYPE)
    }

    pub fn hlen(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    pub fn plen(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    pub fn operation(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::OPER)
    }

    pub fn sender_mac(&self) -> MacAddr {
        read_mac(self.buffer.as_ref(), field::SHA)
    }

    pub fn sender_ip(&self) -> Ipv4Addr {
        read_ipv4(self.buffer.as_ref(), field::SPA)
    }

    pub fn target_mac(&self) -> MacAddr {
        read_mac(self.buffer.as_ref(), field::THA)
    }

    pub fn target_ip(&self) -> Ipv4Addr {
        read_ipv4(self.buffer.as_ref(), field::TPA)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Writes hardware Ethernet / protocol IPv4 with their lengths.
    pub fn set_ethernet_ipv4(&mut self) {
        let buf = self.buffer.as_mut();
        write_u16(buf, field::HTYPE, HTYPE_ETHERNET);
        write_u16(buf, field::PTYPE, ETHERTYPE_IPV4);
        buf[field::HLEN] = 6;
        buf[field::PLEN] = 4;
    }

    pub fn set_operation(&mut self, operation: Operation) {
        write_u16(self.buffer.as_mut(), field::OPER, operation.number());
    }

    pub fn set_sender(&mut self, mac: &MacAddr, ip: Ipv4Addr) {
        let buf = self.buffer.as_mut();
        buf[field::SHA..field::SHA + 6].copy_from_slice(mac);
        buf[field::SPA..field::SPA + 4].copy_from_slice(&ip.octets());
    }

    pub fn set_target(&mut self, mac: &MacAddr, ip: Ipv4Addr) {
        let buf = self.buffer.as_mut();
        buf[field::THA..field::THA + 6].copy_from_slice(mac);
        buf[field::TPA..field::TPA + 4].copy_from_slice(&ip.octets());
    }
}

fn read_ipv4(buf: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(buf[at], buf[at + 1], buf[at + 2], buf[at + 3])
}

/// An Ethernet/IPv4 ARP packet, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ArpRepr {
    pub operation: Operation,
    pub sender_mac: MacAddr,
    pub sender_ip: Ipv4Addr,
    pub target_mac: MacAddr,
    pub target_ip: Ipv4Addr,
}

impl ArpRepr {
    /// Parses an ARP packet (the Ethernet payload). Other hardware or
    /// protocol types and operations are `Unsupported`.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<ArpRepr, Error> {
        if packet.buffer.as_ref().len() < PACKET_LEN {
            return Err(Error::Truncated);
        }
        let ethernet_ipv4 = packet.htype() == HTYPE_ETHERNET
            && packet.ptype() == ETHERTYPE_IPV4
            && packet.hlen() == 6
            && packet.plen() == 4;
        let operation = match packet.operation() {
            1 => Operation::Request,
            2 => Operation::Reply,
            _ => return Err(Error::Unsupported),
        };
        if !ethernet_ipv4 {
            return Err(Error::Unsupported);
        }
        Ok(ArpRepr {
            operation,
            sender_mac: packet.sender_mac(),
            sender_ip: packet.sender_ip(),
            target_mac: packet.target_mac(),
            target_ip: packet.target_ip(),
        })
    }

    pub fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    /// Writes the 28-byte ARP packet at the start of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), Error> {
        ensure_room(buf, PACKET_LEN)?;
        let mut packet = Packet::new_unchecked(&mut buf[..PACKET_LEN]);
        packet.set_ethernet_ipv4();
        packet.set_operation(self.operation);
        packet.set_sender(&self.sender_mac, self.sender_ip);
        packet.set_target(&self.target_mac, self.target_ip);
        Ok(())
    }
}

/// A gratuitous ARP for one VIP, as keepalived sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GarpRepr {
    /// Interface MAC (or VMAC) the VIP now lives on.
    pub sender_mac: MacAddr,
    /// The VIP.
    pub ip: Ipv4Addr,
}

impl GarpRepr {
    /// The ARP packet: request, sender = target = VIP, target MAC broadcast.
    pub fn arp(&self) -> ArpRepr {
        ArpRepr {
            operation: Operation::Request,
            sender_mac: self.sender_mac,
            sender_ip: self.ip,
            target_mac: MAC_BROADCAST,
            target_ip: self.ip,
        }
    }

    /// The Ethernet header: broadcast from `sender_mac`.
    pub fn ethernet(&self) -> EthernetRepr {
        EthernetRepr {
            dst: MAC_BROADCAST,
            src: self.sender_mac,
            ethertype: ETHERTYPE_ARP,
        }
    }

    /// Length of the whole frame (42).
    pub fn buffer_len(&self) -> usize {
        GARP_FRAME_LEN
    }

    /// Writes the whole 42-byte Ethernet frame.
    pub fn emit_frame(&self, buf: &mut [u8]) -> Result<(), Error> {
        ensure_room(buf, GARP_FRAME_LEN)?;
        self.ethernet().emit(buf)?;
        self.arp().emit(&mut buf[ethernet::HEADER_LEN..])
    }

    /// Recognises a gratuitous ARP frame in the exact shape `emit_frame`
    /// writes; any other ARP frame is `Unsupported`.
    pub fn parse_frame(frame: &[u8]) -> Result<GarpRepr, Error> {
        let eth = EthernetRepr::parse(&Frame::new_checked(frame)?)?;
        if eth.ethertype != ETHERTYPE_ARP {
            return Err(Error::Unsupported);
        }
        let arp = ArpRepr::parse(&Packet::new_checked(&frame[ethernet::HEADER_LEN..])?)?;
        let garp = GarpRepr {
            sender_mac: arp.sender_mac,
            ip: arp.sender_ip,
        };
        if arp != garp.arp() || eth != garp.ethernet() {
            return Err(Error::Unsupported);
        }
        Ok(garp)
    }
}
