//! Recording VRRP adverts, gratuitous ARP and unsolicited NA on the LAN.
//!
//! An AF_PACKET socket opened inside the switch namespace sees every frame
//! that enters a switch port. A frame entering port `rN` was sent by router
//! `rN`, so each frame is recorded exactly once and attributed to its sender
//! without trusting its source address. Timestamps are the kernel's receive
//! times (SO_TIMESTAMPNS), CLOCK_REALTIME.

use std::collections::HashMap;
use std::io::IoSliceMut;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::socket::{
    recvmsg, setsockopt, socket, sockopt, AddressFamily, ControlMessageOwned, LinkAddr, MsgFlags,
    SockFlag, SockProtocol, SockType,
};
use nix::sys::time::TimeVal;
use serde::Serialize;

use crate::error::{LabError, Result};
use crate::netns;

/// `PACKET_OUTGOING` from linux/if_packet.h: a frame this host sent.
const PACKET_OUTGOING: u8 = 4;

/// What was seen on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Frame {
    /// A VRRP advertisement (v2 or v3, IPv4 or IPv6).
    Advert {
        /// VRRP version (2 or 3).
        version: u8,
        /// Virtual router id.
        vrid: u8,
        /// Advertised priority (0: the master is leaving).
        priority: u8,
        /// Advert interval in centiseconds (v2: seconds × 100).
        interval_cs: u16,
        /// IP source.
        src: IpAddr,
        /// IP destination (multicast group or a unicast peer).
        dst: IpAddr,
        /// IP TTL / hop limit.
        ttl: u8,
        /// The addresses the advert lists.
        addresses: Vec<IpAddr>,
    },
    /// A gratuitous ARP (sender IP == target IP) announcing `ip` at `mac`.
    Garp {
        /// The announced address.
        ip: Ipv4Addr,
        /// The sender hardware address.
        mac: [u8; 6],
    },
    /// An unsolicited neighbour advertisement for `target`.
    UnsolicitedNa {
        /// The announced address.
        target: Ipv6Addr,
    },
}

/// One recorded frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Kernel receive time.
    pub at: SystemTime,
    /// Switch port it entered, i.e. the node that sent it (`r1`, `c`, …).
    pub port: String,
    /// Which LAN (0: eth0's, 1: eth1's).
    pub lan: u8,
    /// What it was.
    pub frame: Frame,
}

impl Event {
    /// VRID and priority if this is an advert.
    pub fn advert(&self) -> Option<(u8, u8)> {
        match &self.frame {
            Frame::Advert { vrid, priority, .. } => Some((*vrid, *priority)),
            _ => None,
        }
    }

    /// Whether this is a GARP or an unsolicited NA.
    pub fn is_announcement(&self) -> bool {
        matches!(self.frame, Frame::Garp { .. } | Frame::UnsolicitedNa { .. })
    }
}

/// A running capture in the switch namespace; stops on drop.
pub struct Recorder {
    events: Arc<Mutex<Vec<Event>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    /// Starts capturing in `switch_ns`; `ports` maps interface index to node
    /// name and LAN. Frames entering other interfaces (the bridges) are ignored.
    pub fn start(switch_ns: &str, ports: HashMap<usize, (String, u8)>) -> Result<Recorder> {
        let socket = netns::run_in(switch_ns, open_capture_socket)?;
        let events = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (sink, flag) = (events.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || capture_loop(&socket, &ports, &sink, &flag))
            .map_err(|e| LabError::io("spawn recorder", e))?;
        Ok(Recorder {
            events,
            stop,
            thread: Some(thread),
        })
    }

    /// Everything recorded so far, in arrival order.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn open_capture_socket() -> Result<OwnedFd> {
    let fd = socket(
        AddressFamily::Packet,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::EthAll,
    )
    .map_err(|e| LabError::sys("AF_PACKET socket", e))?;
    setsockopt(&fd, sockopt::ReceiveTimestampns, &true)
        .map_err(|e| LabError::sys("SO_TIMESTAMPNS", e))?;
    // A short receive timeout lets the thread notice the stop flag.
    setsockopt(&fd, sockopt::ReceiveTimeout, &TimeVal::new(0, 100_000))
        .map_err(|e| LabError::sys("SO_RCVTIMEO", e))?;
    setsockopt(&fd, sockopt::RcvBuf, &(4 << 20)).map_err(|e| LabError::sys("SO_RCVBUF", e))?;
    Ok(fd)
}

fn capture_loop(
    socket: &OwnedFd,
    ports: &HashMap<usize, (String, u8)>,
    sink: &Mutex<Vec<Event>>,
    stop: &AtomicBool,
) {
    let mut buf = vec![0u8; 65536];
    let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
    while !stop.load(Ordering::Relaxed) {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let received = recvmsg::<LinkAddr>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::empty(),
        );
        let Ok(msg) = received else {
            continue; // timeout (EAGAIN) or EINTR: check the stop flag
        };
        let Some(link) = msg.address else { continue };
        if link.pkttype() == PACKET_OUTGOING {
            continue;
        }
        let Some((port, lan)) = ports.get(&link.ifindex()) else {
            continue;
        };
        let at = msg
            .cmsgs()
            .ok()
            .and_then(|mut it| {
                it.find_map(|c| match c {
                    ControlMessageOwned::ScmTimestampns(ts) => {
                        Some(UNIX_EPOCH + Duration::new(ts.tv_sec() as u64, ts.tv_nsec() as u32))
                    }
                    _ => None,
                })
            })
            .unwrap_or_else(SystemTime::now);
        let len = msg.bytes;
        if let Some(frame) = decode_ethernet(&buf[..len]) {
            if let Ok(mut events) = sink.lock() {
                events.push(Event {
                    at,
                    port: port.clone(),
                    lan: *lan,
                    frame,
                });
            }
        }
    }
}

/// Decodes the frames the lab cares about; everything else is `None`.
pub fn decode_ethernet(frame: &[u8]) -> Option<Frame> {
    let ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    let payload = frame.get(14..)?;
    match ethertype {
        0x0800 => decode_ipv4(payload),
        0x86dd => decode_ipv6(payload),
        0x0806 => decode_arp(payload),
        _ => None,
    }
}

fn decode_ipv4(packet: &[u8]) -> Option<Frame> {
    let ihl = usize::from(packet.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*packet.get(2)?, *packet.get(3)?]));
    if packet.get(9)? != &112 || ihl < 20 || total < ihl {
        return None;
    }
    let ttl = *packet.get(8)?;
    let src = IpAddr::from(<[u8; 4]>::try_from(packet.get(12..16)?).ok()?);
    let dst = IpAddr::from(<[u8; 4]>::try_from(packet.get(16..20)?).ok()?);
    decode_vrrp(packet.get(ihl..total)?, src, dst, ttl, 4)
}

fn decode_ipv6(packet: &[u8]) -> Option<Frame> {
    let next = *packet.get(6)?;
    let hop_limit = *packet.get(7)?;
    let src = IpAddr::from(<[u8; 16]>::try_from(packet.get(8..24)?).ok()?);
    let dst_bytes = <[u8; 16]>::try_from(packet.get(24..40)?).ok()?;
    let dst = IpAddr::from(dst_bytes);
    let body = packet.get(40..)?;
    match next {
        112 => decode_vrrp(body, src, dst, hop_limit, 16),
        // ICMPv6 type 136 = neighbour advertisement; unsolicited ones go to
        // a multicast address (all-nodes), solicited ones to the asker.
        58 if body.first() == Some(&136) && dst_bytes[0] == 0xff => {
            let target = <[u8; 16]>::try_from(body.get(8..24)?).ok()?;
            Some(Frame::UnsolicitedNa {
                target: Ipv6Addr::from(target),
            })
        }
        _ => None,
    }
}

fn decode_vrrp(vrrp: &[u8], src: IpAddr, dst: IpAddr, ttl: u8, addr_len: usize) -> Option<Frame> {
    let version = vrrp.first()? >> 4;
    let count = usize::from(*vrrp.get(3)?);
    let interval_cs = match version {
        2 => u16::from(*vrrp.get(5)?) * 100,
        3 => u16::from_be_bytes([*vrrp.get(4)?, *vrrp.get(5)?]) & 0x0fff,
        _ => return None,
    };
    let mut addresses = Vec::with_capacity(count);
    for i in 0..count {
        let bytes = vrrp.get(8 + i * addr_len..8 + (i + 1) * addr_len)?;
        addresses.push(match addr_len {
            4 => IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?),
            _ => IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?),
        });
    }
    Some(Frame::Advert {
        version,
        vrid: *vrrp.get(1)?,
        priority: *vrrp.get(2)?,
        interval_cs,
        src,
        dst,
        ttl,
        addresses,
    })
}

fn decode_arp(arp: &[u8]) -> Option<Frame> {
    // Ethernet/IPv4 ARP only: htype 1, ptype 0x0800, hlen 6, plen 4.
    if arp.get(0..6)? != [0, 1, 8, 0, 6, 4] {
        return None;
    }
    let mac = <[u8; 6]>::try_from(arp.get(8..14)?).ok()?;
    let sender = Ipv4Addr::from(<[u8; 4]>::try_from(arp.get(14..18)?).ok()?);
    let target = Ipv4Addr::from(<[u8; 4]>::try_from(arp.get(24..28)?).ok()?);
    (sender == target).then_some(Frame::Garp { ip: sender, mac })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ether(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[2, 0, 0, 0, 0, 1]);
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn decodes_vrrp_v2_advert_over_ipv4() {
        let mut ip = vec![0x45, 0xc0, 0, 40, 0, 0, 0, 0, 255, 112, 0, 0];
        ip.extend_from_slice(&[10, 0, 0, 1, 224, 0, 0, 18]);
        // v2 advert, vrid 51, prio 150, 1 address, auth 1, interval 1 s.
        ip.extend_from_slice(&[0x21, 51, 150, 1, 1, 1, 0, 0, 10, 0, 0, 254]);
        ip.extend_from_slice(b"secret\0\0");
        let frame = decode_ethernet(&ether(0x0800, &ip)).unwrap();
        assert_eq!(
            frame,
            Frame::Advert {
                version: 2,
                vrid: 51,
                priority: 150,
                interval_cs: 100,
                src: "10.0.0.1".parse().unwrap(),
                dst: "224.0.0.18".parse().unwrap(),
                ttl: 255,
                addresses: vec!["10.0.0.254".parse().unwrap()],
            }
        );
    }

    #[test]
    fn decodes_gratuitous_arp_and_ignores_plain_requests() {
        let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 254];
        arp.extend_from_slice(&[0; 6]);
        arp.extend_from_slice(&[10, 0, 0, 254]);
        assert_eq!(
            decode_ethernet(&ether(0x0806, &arp)),
            Some(Frame::Garp {
                ip: Ipv4Addr::new(10, 0, 0, 254),
                mac: [2, 0, 0, 0, 0, 1]
            })
        );
        arp[27] = 1; // asks for 10.0.0.1: an ordinary request
        assert_eq!(decode_ethernet(&ether(0x0806, &arp)), None);
    }

    #[test]
    fn decodes_vrrp_v3_interval_in_centiseconds() {
        let mut ip = vec![0x45, 0xc0, 0, 32, 0, 0, 0, 0, 255, 112, 0, 0];
        ip.extend_from_slice(&[10, 0, 0, 2, 224, 0, 0, 18]);
        ip.extend_from_slice(&[0x31, 7, 0, 1, 0x00, 10, 0, 0, 10, 0, 0, 254]);
        match decode_ethernet(&ether(0x0800, &ip)).unwrap() {
            Frame::Advert {
                version,
                priority,
                interval_cs,
                ..
            } => assert_eq!((version, priority, interval_cs), (3, 0, 10)),
            other => panic!("not an advert: {other:?}"),
        }
    }
}
