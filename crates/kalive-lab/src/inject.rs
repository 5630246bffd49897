//! Sending hand-made VRRP packets into the LAN, good and bad, to check that
//! a running daemon drops what it must drop (and accepts what it must).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::error::{LabError, Result};
use crate::netns;

/// The VRRP multicast group (RFC 3768 §5.2.2).
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

/// A VRRPv2 advertisement with simple-password authentication.
#[derive(Clone, Debug)]
pub struct AdvertV2 {
    /// Virtual router id.
    pub vrid: u8,
    /// Priority.
    pub priority: u8,
    /// Advert interval, seconds.
    pub interval_s: u8,
    /// Addresses listed.
    pub addresses: Vec<Ipv4Addr>,
    /// PASS authentication data (up to 8 bytes), or none (auth type 0).
    pub password: Option<String>,
}

/// Ways to spoil an advert, one per receive check (RFC 3768 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Defect {
    /// IP TTL 254 instead of 255.
    WrongTtl,
    /// VRRP checksum off by one.
    BadChecksum,
    /// Another password.
    WrongPassword,
    /// Cut after the first 6 VRRP bytes.
    Truncated,
    /// Version field 3 in a VRRPv2 group.
    WrongVersion,
    /// A VRID nobody is configured for.
    UnknownVrid,
}

impl Defect {
    /// Every defect.
    pub const ALL: [Defect; 6] = [
        Defect::WrongTtl,
        Defect::BadChecksum,
        Defect::WrongPassword,
        Defect::Truncated,
        Defect::WrongVersion,
        Defect::UnknownVrid,
    ];
}

impl AdvertV2 {
    /// The VRRP bytes with a correct checksum (RFC 3768 §5.3).
    pub fn encode(&self) -> Vec<u8> {
        let auth_type = u8::from(self.password.is_some());
        let mut out = vec![
            0x21,
            self.vrid,
            self.priority,
            self.addresses.len() as u8,
            auth_type,
            self.interval_s,
            0,
            0,
        ];
        for addr in &self.addresses {
            out.extend_from_slice(&addr.octets());
        }
        let mut auth = [0u8; 8];
        if let Some(password) = &self.password {
            for (slot, byte) in auth.iter_mut().zip(password.bytes()) {
                *slot = byte;
            }
        }
        out.extend_from_slice(&auth);
        let sum = checksum(&out);
        out[6..8].copy_from_slice(&sum.to_be_bytes());
        out
    }

    /// The bytes and TTL of this advert spoiled by `defect`.
    pub fn encode_with(&self, defect: Defect) -> (Vec<u8>, u8) {
        let mut advert = self.clone();
        match defect {
            Defect::WrongPassword => advert.password = Some("wrong!".into()),
            Defect::UnknownVrid => advert.vrid = advert.vrid.wrapping_add(100),
            _ => {}
        }
        let mut bytes = advert.encode();
        let mut ttl = 255;
        match defect {
            Defect::WrongTtl => ttl = 254,
            Defect::BadChecksum => bytes[7] = bytes[7].wrapping_add(1),
            Defect::Truncated => bytes.truncate(6),
            Defect::WrongVersion => {
                bytes[0] = 0x31;
                bytes[6..8].copy_from_slice(&[0, 0]);
                let sum = checksum(&bytes);
                bytes[6..8].copy_from_slice(&sum.to_be_bytes());
            }
            _ => {}
        }
        (bytes, ttl)
    }
}

/// RFC 1071 Internet checksum.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 packet of protocol 112 (VRRP) with our own header: the kernel
/// fills in length, id and header checksum (IPPROTO_RAW).
fn ip_packet(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let mut packet = vec![0x45, 0xc0, 0, 0, 0, 0, 0, 0, ttl, 112, 0, 0];
    packet.extend_from_slice(&src.octets());
    packet.extend_from_slice(&dst.octets());
    let total = (packet.len() + payload.len()) as u16;
    packet[2..4].copy_from_slice(&total.to_be_bytes());
    packet.extend_from_slice(payload);
    packet
}

/// A raw IPPROTO_RAW socket in the calling thread's namespace.
fn raw_socket(src: Ipv4Addr, dst: Ipv4Addr) -> Result<Socket> {
    let socket = Socket::new(
        Domain::IPV4,
        Type::RAW,
        Some(Protocol::from(libc::IPPROTO_RAW)),
    )
    .map_err(|e| LabError::io("raw socket", e))?;
    if dst.is_multicast() {
        socket
            .set_multicast_if_v4(&src)
            .map_err(|e| LabError::io("IP_MULTICAST_IF", e))?;
    }
    Ok(socket)
}

/// One packet of a flood: VRRP bytes and the IP TTL to send them with.
#[derive(Clone, Debug)]
pub struct FloodPacket {
    pub payload: Vec<u8>,
    pub ttl: u8,
}

/// Packets sent at a fixed rate from a namespace until stopped (issue 11:
/// a daemon under an advert flood). The sender keeps one socket and paces
/// by the clock (it catches up after a late wake-up rather than drift), so
/// the rate holds on a loaded machine as long as one core can do it.
pub struct Flood {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<u64>>>,
}

impl Flood {
    /// Starts sending `packets` (in turn) from `src` to `dst` at `rate`
    /// packets per second inside `ns`.
    pub fn start(
        ns: &str,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        packets: Vec<FloodPacket>,
        rate: u32,
    ) -> Result<Flood> {
        if packets.is_empty() || rate == 0 {
            return Err(LabError::Usage("a flood needs packets and a rate".into()));
        }
        let frames: Vec<Vec<u8>> = packets
            .iter()
            .map(|p| ip_packet(src, dst, p.ttl, &p.payload))
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let ns = ns.to_string();
        let thread = std::thread::Builder::new()
            .name(format!("flood-{ns}"))
            .spawn(move || {
                netns::enter(&ns)?;
                let socket = raw_socket(src, dst)?;
                let to = SockAddr::from(SocketAddr::from(SocketAddrV4::new(dst, 0)));
                let started = Instant::now();
                let mut sent: u64 = 0;
                while !flag.load(Ordering::Relaxed) {
                    let due = (started.elapsed().as_secs_f64() * f64::from(rate)) as u64;
                    while sent < due {
                        let frame = &frames[(sent % frames.len() as u64) as usize];
                        // A full socket buffer (ENOBUFS) is a lost packet on
                        // the wire, as for a real attacker: count it sent.
                        let _ = socket.send_to(frame, &to);
                        sent += 1;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                Ok(sent)
            })
            .map_err(|e| LabError::io("spawn flood thread", e))?;
        Ok(Flood {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the flood; returns how many packets were sent.
    pub fn stop(mut self) -> Result<u64> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| LabError::Usage("the flood thread panicked".into()))?,
            None => Ok(0),
        }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Sends `payload` as IP protocol 112 from `src` to `dst` with `ttl`, from
/// inside namespace `ns` (a raw socket with our own IP header; the kernel
/// fills in length, id and header checksum).
pub fn send_vrrp_v4(ns: &str, src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, payload: &[u8]) -> Result<()> {
    let packet = ip_packet(src, dst, ttl, payload);
    netns::run_in(ns, move || {
        let socket = raw_socket(src, dst)?;
        let to = SockAddr::from(SocketAddr::from(SocketAddrV4::new(dst, 0)));
        socket
            .send_to(&packet, &to)
            .map_err(|e| LabError::io(format!("send VRRP to {}", IpAddr::V4(dst)), e))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_advert_checksum_verifies() {
        let advert = AdvertV2 {
            vrid: 51,
            priority: 254,
            interval_s: 1,
            addresses: vec![Ipv4Addr::new(10, 0, 0, 254)],
            password: Some("labpass".into()),
        };
        let bytes = advert.encode();
        assert_eq!(bytes.len(), 8 + 4 + 8);
        assert_eq!(checksum(&bytes), 0, "a correct checksum sums to zero");
        let (bad, _) = advert.encode_with(Defect::BadChecksum);
        assert_ne!(checksum(&bad), 0);
        let (v3, _) = advert.encode_with(Defect::WrongVersion);
        assert_eq!((v3[0] >> 4, checksum(&v3)), (3, 0));
        assert_eq!(advert.encode_with(Defect::WrongTtl).1, 254);
        assert_eq!(advert.encode_with(Defect::Truncated).0.len(), 6);
    }
}
