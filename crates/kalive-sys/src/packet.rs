//! Whole Ethernet frames out of an interface (AF_PACKET): gratuitous ARP
//! and unsolicited neighbour advertisements, built by the caller with
//! kalive-wire. AF_PACKET lets the daemon put the VMAC as source MAC even
//! when sending from the base interface, as keepalived does
//! (`vrrp/vrrp_arp.c`, `vrrp/vrrp_ndisc.c`).

use std::io;
use std::os::fd::AsRawFd;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

use crate::error::{Result, SysError};

const ETHERNET_HEADER_LEN: usize = 14;

/// A send-only AF_PACKET socket (protocol 0: it receives nothing, so it
/// costs nothing while idle). Sends to any interface of the namespace it
/// was opened in.
#[derive(Debug)]
pub struct FrameSender {
    fd: AsyncFd<Socket>,
}

impl FrameSender {
    /// Opens the socket in the calling thread's network namespace (within
    /// a tokio runtime context).
    pub fn open() -> Result<FrameSender> {
        let socket = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(0)))
            .map_err(|e| SysError::io("open AF_PACKET socket", e))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| SysError::io("set AF_PACKET socket non-blocking", e))?;
        let fd = crate::async_socket::register(socket, tokio::io::Interest::WRITABLE)
            .map_err(|e| SysError::io("register AF_PACKET socket", e))?;
        Ok(FrameSender { fd })
    }

    /// Sends a gratuitous ARP frame (Ethernet header included).
    pub async fn send_garp(&self, ifindex: u32, frame: &[u8]) -> Result<()> {
        self.send_frame(ifindex, frame).await
    }

    /// Sends an unsolicited neighbour advertisement frame (Ethernet + IPv6
    /// + ICMPv6, checksum filled in by the caller).
    pub async fn send_na(&self, ifindex: u32, frame: &[u8]) -> Result<()> {
        self.send_frame(ifindex, frame).await
    }

    /// Sends any complete Ethernet frame out of `ifindex`.
    pub async fn send_frame(&self, ifindex: u32, frame: &[u8]) -> Result<()> {
        let address = link_address(ifindex, frame)?;
        loop {
            let mut guard = self
                .fd
                .writable()
                .await
                .map_err(|e| SysError::io("wait for AF_PACKET socket writable", e))?;
            if let Ok(result) = guard.try_io(|inner| inner.get_ref().send_to(frame, &address)) {
                return result
                    .map(|_| ())
                    .map_err(|e| SysError::io(format!("send frame on link {ifindex}"), e));
            }
        }
    }
}

impl AsRawFd for FrameSender {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.get_ref().as_raw_fd()
    }
}

/// The `sockaddr_ll` naming the output interface, the frame's ethertype
/// and destination MAC.
fn link_address(ifindex: u32, frame: &[u8]) -> Result<SockAddr> {
    if frame.len() < ETHERNET_HEADER_LEN {
        return Err(SysError::Invalid(format!(
            "frame of {} bytes is shorter than an Ethernet header",
            frame.len()
        )));
    }
    let ifindex = i32::try_from(ifindex)
        .map_err(|_| SysError::Invalid(format!("interface index {ifindex} out of range")))?;
    let mut destination = [0u8; 8];
    destination[..6].copy_from_slice(&frame[..6]);
    // sll_protocol is in network byte order; the frame already holds the
    // ethertype that way.
    let protocol = u16::from_ne_bytes([frame[12], frame[13]]);
    sockaddr_ll(ifindex, protocol, destination)
}

#[allow(unsafe_code)]
fn sockaddr_ll(ifindex: i32, protocol_be: u16, destination: [u8; 8]) -> Result<SockAddr> {
    // SAFETY: `try_init` hands us zeroed storage large enough for any
    // sockaddr (sockaddr_storage ≥ sockaddr_ll); we write one complete
    // sockaddr_ll into it and report exactly its size as the length.
    let ((), address) = unsafe {
        SockAddr::try_init(|storage, length| {
            let ll = storage.cast::<libc::sockaddr_ll>();
            (*ll).sll_family = libc::AF_PACKET as libc::sa_family_t;
            (*ll).sll_protocol = protocol_be;
            (*ll).sll_ifindex = ifindex;
            (*ll).sll_halen = 6;
            (*ll).sll_addr = destination;
            *length = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            Ok::<(), io::Error>(())
        })
    }
    .map_err(|e| SysError::io("build sockaddr_ll", e))?;
    Ok(address)
}
