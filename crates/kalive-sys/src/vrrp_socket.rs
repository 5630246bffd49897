//! Raw VRRP sockets (IP protocol 112): one per (interface, family, mode).
//!
//! The recipe follows keepalived (`vrrp/vrrp.c`, `vrrp/vrrp_if.c`) as
//! summarised in `reference/keepalived-behaviour.md` §2 ("Packet format and
//! checksums") and `reference/rust-ecosystem.md` §2:
//! - IPv4: `IP_HDRINCL`, we write the IP header (TOS 0xc0, TTL 255 unless
//!   told otherwise, protocol 112, an incrementing identification, no DF) —
//!   byte for byte what keepalived 2.2.7 puts on the wire.
//! - IPv6: no header inclusion; hop limit 255, traffic class 0xc0, the
//!   source chosen with `IPV6_PKTINFO`, hop limit and destination read back
//!   from `IPV6_HOPLIMIT`/`IPV6_PKTINFO` control messages.
//! - Both: `SO_BINDTODEVICE`, multicast joined by interface index,
//!   `IP(V6)_MULTICAST_ALL = 0` (only groups this socket joined), and no
//!   loopback of our own multicast.
//!
//! IPv6 checksum: by default the kernel computes the VRRP checksum on send
//! and verifies it on receive (`IPV6_CHECKSUM` at offset 6), as keepalived
//! does; a packet with a bad checksum is then dropped by the kernel and
//! never reaches us. [`SocketOptions::ipv6_kernel_checksum`] = false turns
//! that off: the engine must then fill in the checksum itself and can count
//! bad ones.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use nix::sys::socket::{
    recvmmsg, recvmsg, sendmsg, setsockopt, sockopt, ControlMessage, ControlMessageOwned, MsgFlags,
    MultiHeaders, RecvMsg, SockaddrIn, SockaddrIn6, SockaddrLike,
};
use nix::sys::time::TimeSpec;
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::error::{Result, SysError};
use crate::link_index::if_index;

/// IANA protocol number of VRRP (RFC 5798 §5.1.1.3 / §5.1.2.3).
pub const IPPROTO_VRRP: u8 = 112;
/// IP protocol of the Authentication Header: keepalived's `auth_type AH`
/// sends VRRPv2 inside AH (RFC 2338 §5.3.6.3), over IPv4 only.
pub const IPPROTO_AH: u8 = 51;
/// VRRP IPv4 multicast group (RFC 5798 §5.1.1.2).
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// VRRP IPv6 multicast group (RFC 5798 §5.1.2.2).
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// TTL / hop limit VRRP requires on multicast adverts (RFC 5798 §5.1.1.3).
pub const VRRP_TTL: u8 = 255;
/// TOS / traffic class keepalived sends with (internetwork control).
pub const VRRP_TOS: u8 = 0xc0;

/// Receive buffer size. The largest legal VRRP packet (v3 over IPv6, 255
/// addresses) is 4088 bytes plus headers; anything larger is malformed and
/// arrives truncated (its `ip_total_len` still tells the truth for IPv4).
const RX_BUFFER_LEN: usize = 8192;
/// Datagrams per `recvmmsg` call.
const RX_BATCH: usize = 32;
/// Control-message room per datagram: a timestamp, IPv6 packet info and
/// hop limit fit with room to spare.
const RX_CMSG_LEN: usize = 128;
const IPV4_HEADER_LEN: usize = 20;
const IPV6_HEADER_LEN: usize = 40;
/// Offset of the checksum inside a VRRP packet (RFC 5798 §5.1).
const VRRP_CHECKSUM_OFFSET: libc::c_int = 6;

/// Address family of a VRRP socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4 (VRRPv2 or v3).
    V4,
    /// IPv6 (VRRPv3 only).
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The VRRP multicast group of this family.
    pub fn vrrp_group(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(VRRP_GROUP_V4),
            Family::V6 => IpAddr::V6(VRRP_GROUP_V6),
        }
    }
}

/// Whether the socket joins a multicast group or only takes unicast.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Join `group` on the interface (normally 224.0.0.18 / ff02::12, see
    /// [`Family::vrrp_group`]; keepalived's `mcast_dst_address` may change it).
    Multicast {
        /// The group to join.
        group: IpAddr,
    },
    /// `unicast_peer` mode: nothing joined; adverts go to each peer.
    Unicast,
    /// Transmit only: nothing joined and a socket filter drops everything
    /// that arrives. For sending adverts out of a VMAC while receiving on
    /// the base interface, as keepalived does with `use_vmac`.
    SendOnly,
}

impl Mode {
    /// Multicast on the standard VRRP group of `family`.
    pub fn standard_multicast(family: Family) -> Mode {
        Mode::Multicast {
            group: family.vrrp_group(),
        }
    }
}

/// Less common knobs of [`VrrpSocket::open_with`].
#[derive(Clone, Debug)]
pub struct SocketOptions {
    /// IPv6 only: let the kernel compute and verify the VRRP checksum
    /// (`IPV6_CHECKSUM` offset 6), as keepalived does. Default true.
    pub ipv6_kernel_checksum: bool,
    /// `SO_RCVBUF` in bytes (keepalived's `vrrp_rx_bufs_*`); None keeps the
    /// system default.
    pub receive_buffer: Option<usize>,
    /// IP protocol to send and receive: [`IPPROTO_VRRP`] (default), or
    /// [`IPPROTO_AH`] for `auth_type AH` (IPv4; the payload then starts with
    /// the AH header, built by the caller).
    pub ip_protocol: u8,
    /// Default true: [`VrrpSocket::recv`] and [`VrrpSocket::readable`]
    /// work, and tokio's reactor wakes on every datagram. False: the socket
    /// is registered for sending only, the reactor never wakes for it, and
    /// the caller waits with a [`crate::ReceiveSet`] and reads with
    /// [`VrrpSocket::try_recv`] (batched reads, one wake-up per batch).
    pub wake_on_receive: bool,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            ipv6_kernel_checksum: true,
            receive_buffer: None,
            ip_protocol: IPPROTO_VRRP,
            wake_on_receive: true,
        }
    }
}

/// One received VRRP datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RxPacket {
    /// Interface it arrived on.
    pub ifindex: u32,
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address (the group, or our unicast address).
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit as received (RFC 5798 §7.1: must be 255).
    pub ttl_or_hoplimit: u8,
    /// The VRRP message: everything after the IP header.
    pub payload: Vec<u8>,
    /// Length of the IP header (IPv4: IHL × 4; IPv6: 40).
    pub ip_header_len: usize,
    /// IPv4: the header's total-length field; IPv6: 40 + payload length.
    pub ip_total_len: usize,
    /// IPv4: the header's identification field (the AH ICV covers it);
    /// IPv6: 0.
    pub ip_id: u16,
    /// When the datagram arrived: the kernel's receive timestamp
    /// (`SO_TIMESTAMPNS`), or the time it was read when the kernel gave none.
    pub received_at: Instant,
}

/// A raw VRRP socket bound to one interface and family, readable and
/// writable from tokio.
#[derive(Debug)]
pub struct VrrpSocket {
    fd: AsyncFd<Socket>,
    ifname: String,
    ifindex: u32,
    family: Family,
    mode: Mode,
    ip_protocol: u8,
    wake_on_receive: bool,
    next_ip_id: AtomicU16,
    /// Reused for every read (not zeroed 8 KiB per datagram).
    rx_buffer: Mutex<Vec<u8>>,
    /// [`VrrpSocket::try_recv_many`]'s slots, allocated on first use.
    rx_batch: Mutex<Option<Vec<u8>>>,
}

impl VrrpSocket {
    /// Opens a VRRP socket on `ifname` (in the calling thread's network
    /// namespace) with [`SocketOptions::default`]. Must be called within a
    /// tokio runtime context.
    pub fn open(ifname: &str, family: Family, mode: Mode) -> Result<VrrpSocket> {
        Self::open_with(ifname, family, mode, &SocketOptions::default())
    }

    /// Opens a VRRP socket with explicit options.
    pub fn open_with(
        ifname: &str,
        family: Family,
        mode: Mode,
        options: &SocketOptions,
    ) -> Result<VrrpSocket> {
        if let Mode::Multicast { group } = mode {
            check_group(group, family)?;
        }
        if family == Family::V6 && options.ip_protocol != IPPROTO_VRRP {
            return Err(SysError::Invalid(
                "IPv6 VRRP sockets carry protocol 112 only (no AH over IPv6)".into(),
            ));
        }
        let ifindex = if_index(ifname)?;
        let socket = match family {
            Family::V4 => open_v4(ifname, ifindex, mode, options.ip_protocol)?,
            Family::V6 => open_v6(ifname, ifindex, mode, options)?,
        };
        if mode == Mode::SendOnly {
            drop_everything_received(&socket)
                .map_err(|e| SysError::io(format!("attach drop-all filter on {ifname}"), e))?;
        }
        if let Some(size) = options.receive_buffer {
            set_receive_buffer(&socket, size)
                .map_err(|e| SysError::io(format!("SO_RCVBUF on {ifname}"), e))?;
        }
        // The kernel's arrival time of each datagram: a caller that reads
        // packets in batches still times each one from when it arrived.
        setsockopt(&socket, sockopt::ReceiveTimestampns, &true)
            .map_err(|e| SysError::io(format!("SO_TIMESTAMPNS on {ifname}"), e.into()))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| SysError::io("set VRRP socket non-blocking", e))?;
        let interest = if options.wake_on_receive {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::WRITABLE
        };
        let fd = crate::async_socket::register(socket, interest)
            .map_err(|e| SysError::io("register VRRP socket with tokio", e))?;
        Ok(VrrpSocket {
            fd,
            ifname: ifname.to_owned(),
            ifindex,
            family,
            mode,
            ip_protocol: options.ip_protocol,
            wake_on_receive: options.wake_on_receive,
            next_ip_id: AtomicU16::new(0),
            rx_buffer: Mutex::new(vec![0; RX_BUFFER_LEN]),
            rx_batch: Mutex::new(None),
        })
    }

    /// Interface name the socket is bound to.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// Interface index the socket is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Address family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Multicast or unicast.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Waits for the next VRRP datagram. Cancel-safe: dropping the future
    /// loses no packet. Needs [`SocketOptions::wake_on_receive`].
    pub async fn recv(&self) -> Result<RxPacket> {
        loop {
            let mut guard = self.readable_guard().await?;
            let attempt = guard.try_io(|inner| self.recv_now(inner.get_ref()));
            if let Ok(result) = attempt {
                return result
                    .map_err(|e| SysError::io(format!("receive VRRP on {}", self.ifname), e));
            }
        }
    }

    /// Waits until a datagram can be read, without reading it. Needs
    /// [`SocketOptions::wake_on_receive`].
    pub async fn readable(&self) -> Result<()> {
        self.readable_guard().await.map(|_guard| ())
    }

    async fn readable_guard(&self) -> Result<tokio::io::unix::AsyncFdReadyGuard<'_, Socket>> {
        if !self.wake_on_receive {
            return Err(SysError::Invalid(format!(
                "VRRP socket on {} was opened without wake_on_receive: wait with a ReceiveSet",
                self.ifname
            )));
        }
        self.fd
            .readable()
            .await
            .map_err(|e| SysError::io("wait for VRRP socket readable", e))
    }

    /// The next queued datagram, or `None` when none is queued. Never
    /// blocks.
    pub fn try_recv(&self) -> Result<Option<RxPacket>> {
        let result = if self.wake_on_receive {
            // Through tokio, so that an empty queue clears its readiness.
            self.fd
                .try_io(Interest::READABLE, |inner| self.recv_now(inner))
        } else {
            self.recv_now(self.fd.get_ref())
        };
        match result {
            Ok(packet) => Ok(Some(packet)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(SysError::io(format!("receive VRRP on {}", self.ifname), e)),
        }
    }

    /// Every queued datagram, up to `max`, appended to `out` in arrival
    /// order, reading up to 32 per system call (`recvmmsg`). Returns how
    /// many were read; 0 when none was queued. Never blocks. For sockets
    /// waited on with a [`crate::ReceiveSet`] (tokio's readiness is not
    /// touched).
    ///
    /// Payloads are copied into buffers taken from `spare` while it has
    /// any: a caller that gives each payload back once it is handled saves
    /// an allocation per packet (glibc's per-thread cache holds only a few
    /// chunks, so a batch of fresh ones goes the slow way).
    pub fn try_recv_many(
        &self,
        out: &mut Vec<RxPacket>,
        max: usize,
        spare: &mut Vec<Vec<u8>>,
    ) -> Result<usize> {
        let mut buffer = self.rx_batch.lock().unwrap_or_else(|e| e.into_inner());
        let buffer = buffer.get_or_insert_with(|| vec![0; RX_BATCH * RX_BUFFER_LEN]);
        let fd = self.fd.get_ref().as_raw_fd();
        let mut total = 0;
        while total < max {
            let wanted = RX_BATCH.min(max - total);
            let read = match self.family {
                Family::V4 => recv_many_v4(fd, self.ifindex, buffer, wanted, out, spare),
                Family::V6 => recv_many_v6(fd, self.ifindex, buffer, wanted, out, spare),
            };
            match read {
                Ok(read) => {
                    total += read;
                    if read < wanted {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    return Err(SysError::io(format!("receive VRRP on {}", self.ifname), e));
                }
            }
        }
        Ok(total)
    }

    fn recv_now(&self, socket: &Socket) -> io::Result<RxPacket> {
        let mut buf = self.rx_buffer.lock().unwrap_or_else(|e| e.into_inner());
        match self.family {
            Family::V4 => recv_v4(socket, self.ifindex, &mut buf),
            Family::V6 => recv_v6(socket, self.ifindex, &mut buf),
        }
    }

    /// Sends a VRRP message to `dst` with source `src` and the given TTL /
    /// hop limit (255 for multicast; keepalived's `unicast_ttl` otherwise).
    /// IPv4 builds the IP header here; IPv6 lets the kernel build it.
    pub async fn send(&self, src: IpAddr, dst: IpAddr, ttl: u8, payload: &[u8]) -> Result<()> {
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => self.send_v4(src, dst, ttl, payload).await,
            (IpAddr::V6(src), IpAddr::V6(dst)) => self.send_v6(src, dst, ttl, payload).await,
            _ => Err(SysError::Invalid(format!(
                "source {src} and destination {dst} are of different families"
            ))),
        }
    }

    /// IPv4: prepends keepalived's IPv4 header (TOS 0xc0, identification
    /// counting up from 1 per socket, no DF, protocol 112) and sends.
    /// `src` may be 0.0.0.0 to let the kernel pick the interface address.
    pub async fn send_v4(
        &self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
        payload: &[u8],
    ) -> Result<()> {
        self.expect_family(Family::V4)?;
        let id = self
            .next_ip_id
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1);
        let header = ipv4_header(src, dst, ttl, id, self.ip_protocol, payload.len())?;
        let addr = SockAddr::from(SocketAddrV4::new(dst, 0));
        // Header and payload as two slices of one datagram (no copy into a
        // buffer per advert).
        self.send_with(IpAddr::V4(dst), |socket| {
            socket.send_to_vectored(&[IoSlice::new(&header), IoSlice::new(payload)], &addr)
        })
        .await
    }

    /// IPv4, for `auth_type AH`: builds the IP header for a payload of
    /// `payload_len` bytes, then sends what `seal` makes of that header
    /// (the AH ICV covers the IP header, so the payload is made after it).
    /// `seal` must return exactly `payload_len` bytes.
    pub async fn send_v4_sealed(
        &self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
        payload_len: usize,
        seal: impl FnOnce(&[u8; IPV4_HEADER_LEN]) -> Vec<u8>,
    ) -> Result<()> {
        self.expect_family(Family::V4)?;
        // Identification 0 would be replaced by the kernel after the ICV
        // was computed over it: skip it, as keepalived does.
        let mut id = 0;
        while id == 0 {
            id = self
                .next_ip_id
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_add(1);
        }
        let header = ipv4_header(src, dst, ttl, id, self.ip_protocol, payload_len)?;
        let payload = seal(&header);
        if payload.len() != payload_len {
            return Err(SysError::Invalid(format!(
                "sealed payload of {} bytes, {payload_len} announced",
                payload.len()
            )));
        }
        let addr = SockAddr::from(SocketAddrV4::new(dst, 0));
        self.send_with(IpAddr::V4(dst), |socket| {
            socket.send_to_vectored(&[IoSlice::new(&header), IoSlice::new(&payload)], &addr)
        })
        .await
    }

    /// IPv6: sends `payload` (the VRRP message) from `src` (normally the
    /// interface's link-local address; `::` lets the kernel choose) to
    /// `dst` with hop limit `hop_limit`.
    pub async fn send_v6(
        &self,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: u8,
        payload: &[u8],
    ) -> Result<()> {
        self.expect_family(Family::V6)?;
        let scope_id = if needs_scope_id(dst) { self.ifindex } else { 0 };
        let dst_addr = SockaddrIn6::from(SocketAddrV6::new(dst, 0, 0, scope_id));
        let pktinfo = libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: src.octets(),
            },
            ipi6_ifindex: self.ifindex,
        };
        let hop_limit = libc::c_int::from(hop_limit);
        self.send_with(IpAddr::V6(dst), |socket| {
            let cmsgs = [
                ControlMessage::Ipv6PacketInfo(&pktinfo),
                ControlMessage::Ipv6HopLimit(&hop_limit),
            ];
            sendmsg(
                socket.as_raw_fd(),
                &[IoSlice::new(payload)],
                &cmsgs,
                MsgFlags::empty(),
                Some(&dst_addr),
            )
            .map_err(io::Error::from)
        })
        .await
    }

    fn expect_family(&self, family: Family) -> Result<()> {
        if self.family == family {
            Ok(())
        } else {
            Err(SysError::Invalid(format!(
                "{:?} send on a {:?} VRRP socket ({})",
                family, self.family, self.ifname
            )))
        }
    }

    /// Sends once the socket is writable; `dst` only names the error (the
    /// message is built on failure, not on every send).
    async fn send_with(
        &self,
        dst: IpAddr,
        mut send_once: impl FnMut(&Socket) -> io::Result<usize>,
    ) -> Result<()> {
        loop {
            let mut guard = self
                .fd
                .writable()
                .await
                .map_err(|e| SysError::io("wait for VRRP socket writable", e))?;
            if let Ok(result) = guard.try_io(|inner| send_once(inner.get_ref())) {
                return result.map(|_| ()).map_err(|e| {
                    SysError::io(format!("send VRRP to {dst} on {}", self.ifname), e)
                });
            }
        }
    }
}

impl AsRawFd for VrrpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.get_ref().as_raw_fd()
    }
}

impl AsFd for VrrpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.get_ref().as_fd()
    }
}

fn check_group(group: IpAddr, family: Family) -> Result<()> {
    if Family::of(group) != family || !group.is_multicast() {
        return Err(SysError::Invalid(format!(
            "{group} is not a {family:?} multicast group"
        )));
    }
    Ok(())
}

fn open_v4(ifname: &str, ifindex: u32, mode: Mode, ip_protocol: u8) -> Result<Socket> {
    let socket = Socket::new(
        Domain::IPV4,
        Type::RAW,
        Some(Protocol::from(i32::from(ip_protocol))),
    )
    .map_err(|e| SysError::io("open raw IPv4 VRRP socket", e))?;
    let ctx = |what: &str| format!("{what} on {ifname}");
    socket
        .set_header_included_v4(true)
        .map_err(|e| SysError::io(ctx("IP_HDRINCL"), e))?;
    socket
        .bind_device(Some(ifname.as_bytes()))
        .map_err(|e| SysError::io(ctx("SO_BINDTODEVICE"), e))?;
    // Only the groups this socket joined, never another socket's joins.
    socket
        .set_multicast_all_v4(false)
        .map_err(|e| SysError::io(ctx("IP_MULTICAST_ALL=0"), e))?;
    socket
        .set_multicast_loop_v4(false)
        .map_err(|e| SysError::io(ctx("IP_MULTICAST_LOOP=0"), e))?;
    if let Mode::Multicast {
        group: IpAddr::V4(group),
    } = mode
    {
        // ip_mreqn by index: IP_MULTICAST_IF by address fails with EINVAL
        // when the address is on another device (rust-ecosystem.md §2).
        socket
            .join_multicast_v4_n(&group, &InterfaceIndexOrAddress::Index(ifindex))
            .map_err(|e| SysError::io(ctx(&format!("join {group}")), e))?;
    }
    Ok(socket)
}

fn open_v6(ifname: &str, ifindex: u32, mode: Mode, options: &SocketOptions) -> Result<Socket> {
    let socket = Socket::new(
        Domain::IPV6,
        Type::RAW,
        Some(Protocol::from(i32::from(IPPROTO_VRRP))),
    )
    .map_err(|e| SysError::io("open raw IPv6 VRRP socket", e))?;
    let ctx = |what: &str| format!("{what} on {ifname}");
    socket
        .bind_device(Some(ifname.as_bytes()))
        .map_err(|e| SysError::io(ctx("SO_BINDTODEVICE"), e))?;
    socket
        .set_multicast_all_v6(false)
        .map_err(|e| SysError::io(ctx("IPV6_MULTICAST_ALL=0"), e))?;
    socket
        .set_multicast_loop_v6(false)
        .map_err(|e| SysError::io(ctx("IPV6_MULTICAST_LOOP=0"), e))?;
    socket
        .set_multicast_hops_v6(u32::from(VRRP_TTL))
        .map_err(|e| SysError::io(ctx("IPV6_MULTICAST_HOPS"), e))?;
    socket
        .set_unicast_hops_v6(u32::from(VRRP_TTL))
        .map_err(|e| SysError::io(ctx("IPV6_UNICAST_HOPS"), e))?;
    socket
        .set_tclass_v6(u32::from(VRRP_TOS))
        .map_err(|e| SysError::io(ctx("IPV6_TCLASS"), e))?;
    socket
        .set_recv_hoplimit_v6(true)
        .map_err(|e| SysError::io(ctx("IPV6_RECVHOPLIMIT"), e))?;
    setsockopt(&socket, sockopt::Ipv6RecvPacketInfo, &true)
        .map_err(|e| SysError::io(ctx("IPV6_RECVPKTINFO"), e.into()))?;
    if options.ipv6_kernel_checksum {
        set_ipv6_checksum_offset(&socket, VRRP_CHECKSUM_OFFSET)
            .map_err(|e| SysError::io(ctx("IPV6_CHECKSUM"), e))?;
    }
    if let Mode::Multicast {
        group: IpAddr::V6(group),
    } = mode
    {
        socket
            .join_multicast_v6(&group, ifindex)
            .map_err(|e| SysError::io(ctx(&format!("join {group}")), e))?;
    }
    Ok(socket)
}

/// A classic BPF program of one instruction, `ret #0`: accept 0 bytes of
/// every packet, i.e. queue nothing.
fn drop_everything_received(socket: &Socket) -> io::Result<()> {
    const BPF_RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    socket.attach_filter(&[socket2::SockFilter::new(BPF_RET_K, 0, 0, 0)])
}

/// `IPV6_CHECKSUM`: neither socket2 nor nix wraps it.
#[allow(unsafe_code)]
fn set_ipv6_checksum_offset(socket: &Socket, offset: libc::c_int) -> io::Result<()> {
    // SAFETY: `offset` is a live c_int for the duration of the call and we
    // pass its exact size; the fd is owned by `socket`, which outlives it.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_CHECKSUM,
            (&offset as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Link-local and link-scope multicast destinations need the interface as
/// scope id.
fn needs_scope_id(dst: Ipv6Addr) -> bool {
    let first = dst.segments()[0];
    (first & 0xffc0) == 0xfe80 || (dst.is_multicast() && (first & 0x000f) <= 2)
}

fn recv_v4(socket: &Socket, ifindex: u32, buf: &mut [u8]) -> io::Result<RxPacket> {
    let mut cmsg_buf = CmsgBuffer([0u8; RX_CMSG_LEN]);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrIn>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg_buf.0),
        MsgFlags::empty(),
    )?;
    let len = msg.bytes;
    let received_at = ArrivalClock::now().arrival_or_now(timestamp_of(&msg)?);
    let len = len.min(buf.len());
    parse_ipv4_datagram(&buf[..len], ifindex, received_at, &mut Vec::new())
}

/// Both clocks read at one moment, to turn kernel receive timestamps
/// (`CLOCK_REALTIME`) into monotonic instants: one pair of clock reads per
/// `recvmmsg` call rather than two per datagram (taken after the call, so
/// every datagram it returned is older).
#[derive(Clone, Copy)]
struct ArrivalClock {
    instant: Instant,
    system: SystemTime,
}

impl ArrivalClock {
    fn now() -> ArrivalClock {
        ArrivalClock {
            instant: Instant::now(),
            system: SystemTime::now(),
        }
    }

    /// The monotonic instant of `stamp`: the snapshot minus the datagram's
    /// age. The age is bounded so that a step of the wall clock cannot move
    /// an arrival into the future or far into the past.
    fn arrival(&self, stamp: TimeSpec) -> Instant {
        const MAX_AGE: Duration = Duration::from_secs(1);
        let stamp = SystemTime::UNIX_EPOCH + Duration::from(stamp);
        let age = self
            .system
            .duration_since(stamp)
            .unwrap_or(Duration::ZERO)
            .min(MAX_AGE);
        self.instant.checked_sub(age).unwrap_or(self.instant)
    }

    /// When a datagram arrived: its kernel timestamp if it has one, else
    /// the snapshot.
    fn arrival_or_now(&self, stamp: Option<TimeSpec>) -> Instant {
        stamp.map_or(self.instant, |stamp| self.arrival(stamp))
    }
}

/// `SO_RCVBUFFORCE` (root may exceed `net.core.rmem_max`), else `SO_RCVBUF`.
fn set_receive_buffer(socket: &Socket, size: usize) -> io::Result<()> {
    match setsockopt(socket, sockopt::RcvBufForce, &size) {
        Ok(()) => Ok(()),
        Err(_) => socket.set_recv_buffer_size(size),
    }
}

/// One `recvmmsg` of up to `wanted` datagrams into `buffer`'s slots,
/// handing each to `each`. Returns how many were read.
fn recv_many<S: SockaddrLike + Copy>(
    fd: RawFd,
    buffer: &mut [u8],
    wanted: usize,
    mut each: impl FnMut(&RecvMsg<'_, '_, S>, &ArrivalClock) -> io::Result<()>,
) -> io::Result<usize> {
    let mut slots: Vec<[IoSliceMut<'_>; 1]> = buffer
        .chunks_mut(RX_BUFFER_LEN)
        .take(wanted)
        .map(|slot| [IoSliceMut::new(slot)])
        .collect();
    let mut headers = MultiHeaders::<S>::preallocate(slots.len(), Some(vec![0; RX_CMSG_LEN]));
    let received = recvmmsg(
        fd,
        &mut headers,
        slots.iter_mut(),
        MsgFlags::MSG_DONTWAIT,
        None,
    )?;
    let clock = ArrivalClock::now();
    let mut read = 0;
    for msg in received {
        read += 1;
        each(&msg, &clock)?;
    }
    Ok(read)
}

/// One `recvmmsg` of IPv4 datagrams (each starts with its IP header).
fn recv_many_v4(
    fd: RawFd,
    ifindex: u32,
    buffer: &mut [u8],
    wanted: usize,
    out: &mut Vec<RxPacket>,
    spare: &mut Vec<Vec<u8>>,
) -> io::Result<usize> {
    recv_many::<SockaddrIn>(fd, buffer, wanted, |msg, clock| {
        let received_at = clock.arrival_or_now(timestamp_of(msg)?);
        let datagram = msg.iovs().next().unwrap_or(&[]);
        // A runt datagram is skipped, as a single read would report it.
        if let Ok(packet) = parse_ipv4_datagram(datagram, ifindex, received_at, spare) {
            out.push(packet);
        }
        Ok(())
    })
}

/// One `recvmmsg` of IPv6 datagrams (the kernel keeps the IP header).
fn recv_many_v6(
    fd: RawFd,
    default_ifindex: u32,
    buffer: &mut [u8],
    wanted: usize,
    out: &mut Vec<RxPacket>,
    spare: &mut Vec<Vec<u8>>,
) -> io::Result<usize> {
    recv_many::<SockaddrIn6>(fd, buffer, wanted, |msg, clock| {
        let mut info = V6Info::new(default_ifindex);
        for cmsg in msg.cmsgs()? {
            info.take(cmsg);
        }
        let src = msg.address.map(|a| a.ip()).unwrap_or(Ipv6Addr::UNSPECIFIED);
        let payload = msg.iovs().next().unwrap_or(&[]);
        let received_at = clock.arrival_or_now(info.timestamp);
        out.push(info.packet(src, payload, received_at, spare));
        Ok(())
    })
}

/// What the control messages of a received IPv6 datagram say.
struct V6Info {
    dst: Ipv6Addr,
    hop_limit: u8,
    ifindex: u32,
    timestamp: Option<TimeSpec>,
}

impl V6Info {
    fn new(default_ifindex: u32) -> V6Info {
        V6Info {
            dst: Ipv6Addr::UNSPECIFIED,
            hop_limit: 0,
            ifindex: default_ifindex,
            timestamp: None,
        }
    }

    fn take(&mut self, cmsg: ControlMessageOwned) {
        match cmsg {
            ControlMessageOwned::Ipv6PacketInfo(info) => {
                self.dst = Ipv6Addr::from(info.ipi6_addr.s6_addr);
                self.ifindex = info.ipi6_ifindex;
            }
            ControlMessageOwned::Ipv6HopLimit(limit) => {
                self.hop_limit = u8::try_from(limit).unwrap_or(0);
            }
            ControlMessageOwned::ScmTimestampns(ts) => self.timestamp = Some(ts),
            _ => {}
        }
    }

    fn packet(
        self,
        src: Ipv6Addr,
        payload: &[u8],
        received_at: Instant,
        spare: &mut Vec<Vec<u8>>,
    ) -> RxPacket {
        RxPacket {
            ifindex: self.ifindex,
            src: IpAddr::V6(src),
            dst: IpAddr::V6(self.dst),
            ttl_or_hoplimit: self.hop_limit,
            payload: copy_into_spare(spare, payload),
            ip_header_len: IPV6_HEADER_LEN,
            ip_total_len: IPV6_HEADER_LEN + payload.len(),
            ip_id: 0,
            received_at,
        }
    }
}

/// Splits a datagram read from a raw IPv4 socket (which always starts with
/// the IP header) into an [`RxPacket`].
fn parse_ipv4_datagram(
    datagram: &[u8],
    ifindex: u32,
    received_at: Instant,
    spare: &mut Vec<Vec<u8>>,
) -> io::Result<RxPacket> {
    let header_len = datagram
        .first()
        .map(|b| usize::from(b & 0x0f) * 4)
        .filter(|&len| len >= IPV4_HEADER_LEN && len <= datagram.len())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "short IPv4 header"))?;
    let octets = |at: usize| {
        Ipv4Addr::new(
            datagram[at],
            datagram[at + 1],
            datagram[at + 2],
            datagram[at + 3],
        )
    };
    Ok(RxPacket {
        ifindex,
        src: IpAddr::V4(octets(12)),
        dst: IpAddr::V4(octets(16)),
        ttl_or_hoplimit: datagram[8],
        payload: copy_into_spare(spare, &datagram[header_len..]),
        ip_header_len: header_len,
        ip_total_len: usize::from(u16::from_be_bytes([datagram[2], datagram[3]])),
        ip_id: u16::from_be_bytes([datagram[4], datagram[5]]),
        received_at,
    })
}

/// `bytes` in a buffer from `spare`, or a new one when it has none.
fn copy_into_spare(spare: &mut Vec<Vec<u8>>, bytes: &[u8]) -> Vec<u8> {
    let mut buffer = spare.pop().unwrap_or_default();
    buffer.clear();
    buffer.extend_from_slice(bytes);
    buffer
}

/// The kernel receive timestamp among a datagram's control messages.
fn timestamp_of<S>(msg: &RecvMsg<'_, '_, S>) -> io::Result<Option<TimeSpec>> {
    Ok(msg.cmsgs()?.find_map(|cmsg| match cmsg {
        ControlMessageOwned::ScmTimestampns(ts) => Some(ts),
        _ => None,
    }))
}

/// Control-message buffer, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct CmsgBuffer([u8; RX_CMSG_LEN]);

fn recv_v6(socket: &Socket, default_ifindex: u32, buf: &mut [u8]) -> io::Result<RxPacket> {
    let mut cmsg_buf = CmsgBuffer([0u8; RX_CMSG_LEN]);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrIn6>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg_buf.0),
        MsgFlags::empty(),
    )?;
    let mut info = V6Info::new(default_ifindex);
    for cmsg in msg.cmsgs()? {
        info.take(cmsg);
    }
    let src = msg.address.map(|a| a.ip()).unwrap_or(Ipv6Addr::UNSPECIFIED);
    let payload = msg.iovs().next().unwrap_or(&[]);
    let received_at = ArrivalClock::now().arrival_or_now(info.timestamp);
    Ok(info.packet(src, payload, received_at, &mut Vec::new()))
}

/// keepalived's IPv4 header for VRRP: version 4, IHL 5, TOS 0xc0, no
/// fragmentation flags, protocol 112, header checksum filled in (the
/// kernel recomputes it anyway under `IP_HDRINCL`).
pub(crate) fn ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    id: u16,
    ip_protocol: u8,
    payload_len: usize,
) -> Result<[u8; IPV4_HEADER_LEN]> {
    let total_len = u16::try_from(IPV4_HEADER_LEN + payload_len).map_err(|_| {
        SysError::Invalid(format!("VRRP payload of {payload_len} bytes is too long"))
    })?;
    let mut h = [0u8; IPV4_HEADER_LEN];
    h[0] = 0x45;
    h[1] = VRRP_TOS;
    h[2..4].copy_from_slice(&total_len.to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[8] = ttl;
    h[9] = ip_protocol;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    let checksum = internet_checksum(&h);
    h[10..12].copy_from_slice(&checksum.to_be_bytes());
    Ok(h)
}

fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Header of frame 0 of vectors/keepalived-2.2.7 v2pass.
    const KEEPALIVED_V2PASS_HEADER: [u8; 20] = [
        0x45, 0xc0, 0x00, 0x2c, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xcf, 0xc4, 0x0a, 0xc9, 0x00,
        0x01, 0xe0, 0x00, 0x00, 0x12,
    ];

    fn stamp_of(at: SystemTime) -> TimeSpec {
        TimeSpec::from(at.duration_since(SystemTime::UNIX_EPOCH).unwrap())
    }

    #[test]
    fn arrival_is_the_snapshot_minus_the_datagrams_age() {
        let clock = ArrivalClock::now();
        let stamp = stamp_of(clock.system - Duration::from_millis(7));
        let age = clock.instant - clock.arrival(stamp);
        assert!(
            age.abs_diff(Duration::from_millis(7)) < Duration::from_micros(1),
            "{age:?}"
        );
        assert_eq!(clock.arrival_or_now(None), clock.instant);
    }

    #[test]
    fn arrival_ignores_wall_clock_steps() {
        let clock = ArrivalClock::now();
        // A stamp "from the future" (the clock stepped back) is now; one
        // from long ago (stepped forward) is at most a second old.
        let future = stamp_of(clock.system + Duration::from_secs(30));
        assert_eq!(clock.arrival(future), clock.instant);
        let ancient = stamp_of(clock.system - Duration::from_secs(3600));
        assert_eq!(
            clock.instant - clock.arrival(ancient),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn ipv4_header_matches_keepalived_byte_for_byte() {
        let header = ipv4_header(
            Ipv4Addr::new(10, 201, 0, 1),
            VRRP_GROUP_V4,
            255,
            1,
            IPPROTO_VRRP,
            24,
        )
        .unwrap();
        assert_eq!(header, KEEPALIVED_V2PASS_HEADER);
    }

    #[test]
    fn parse_splits_header_and_payload() {
        let mut datagram = KEEPALIVED_V2PASS_HEADER.to_vec();
        datagram.extend_from_slice(&[0x21; 24]);
        // A spare buffer with stale contents is reused, not appended to.
        let mut spare = vec![vec![0xee; 64]];
        let rx = parse_ipv4_datagram(&datagram, 7, Instant::now(), &mut spare).unwrap();
        assert!(spare.is_empty(), "the spare buffer was not used");
        assert_eq!(rx.src, IpAddr::V4(Ipv4Addr::new(10, 201, 0, 1)));
        assert_eq!(rx.dst, IpAddr::V4(VRRP_GROUP_V4));
        assert_eq!(
            (rx.ttl_or_hoplimit, rx.ip_header_len, rx.ip_total_len),
            (255, 20, 44)
        );
        assert_eq!(rx.payload, vec![0x21; 24]);
    }

    #[test]
    fn parse_rejects_truncated_header() {
        let truncated = parse_ipv4_datagram(&[0x45, 0, 0], 1, Instant::now(), &mut Vec::new());
        assert!(truncated.is_err());
    }

    #[test]
    fn scope_id_only_for_link_scope() {
        assert!(needs_scope_id(VRRP_GROUP_V6));
        assert!(needs_scope_id("fe80::1".parse().unwrap()));
        assert!(!needs_scope_id("fd00::1".parse().unwrap()));
        assert!(!needs_scope_id("ff05::12".parse().unwrap()));
    }
}
