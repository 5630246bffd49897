//! The connection options every checker shares (keepalived-behaviour §1.12,
//! "Common checker keywords"): where to connect, what to bind to, which mark
//! to set, and the timeout. Sockets are created here and nowhere else.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};
use tokio::time::Instant;

use crate::Outcome;

/// keepalived's `conn_opts_t`: the caller resolves defaults (connect_ip and
/// connect_port default to the real server's address and port).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectOptions {
    /// `connect_ip` : `connect_port`.
    pub addr: SocketAddr,
    /// `bindto`: source address.
    pub bind: Option<IpAddr>,
    /// `bind_port`: source port.
    pub bind_port: Option<u16>,
    /// `bind_if`: `SO_BINDTODEVICE` (needed for link-local targets).
    pub bind_if: Option<String>,
    /// `fwmark`: `SO_MARK` on the checker's packets.
    pub fwmark: Option<u32>,
    /// `connect_timeout`: a deadline for the whole check, not per phase
    /// (keepalived re-arms it per read; one deadline bounds a slow-drip server).
    pub timeout: Duration,
}

impl ConnectOptions {
    /// Options with only an address and a timeout.
    pub fn new(addr: SocketAddr, timeout: Duration) -> Self {
        ConnectOptions {
            addr,
            bind: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            timeout,
        }
    }

    /// The instant at which the whole check gives up.
    pub(crate) fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    /// A non-blocking socket of `ty`/`proto` for this target, with the
    /// device, mark and source address applied.
    pub(crate) fn socket(&self, ty: Type, proto: Protocol) -> io::Result<Socket> {
        let domain = Domain::for_address(self.addr);
        let socket = Socket::new(domain, ty.nonblocking().cloexec(), Some(proto))?;
        self.apply(&socket)?;
        Ok(socket)
    }

    /// Applies `bind_if`, `fwmark`, `bindto` and `bind_port` to `socket`.
    pub(crate) fn apply(&self, socket: &Socket) -> io::Result<()> {
        if let Some(device) = &self.bind_if {
            socket.bind_device(Some(device.as_bytes()))?;
        }
        if let Some(mark) = self.fwmark {
            socket.set_mark(mark)?;
        }
        if self.bind.is_some() || self.bind_port.is_some() {
            let ip = self.bind.unwrap_or(match self.addr {
                SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            });
            if self.bind_port.is_some() {
                // A fixed source port is reused check after check while the
                // previous connection sits in TIME_WAIT.
                socket.set_reuse_address(true)?;
            }
            socket.bind(&SockAddr::from(SocketAddr::new(
                ip,
                self.bind_port.unwrap_or(0),
            )))?;
        }
        Ok(())
    }

    /// A full TCP connect (SYN, SYN-ACK, ACK) to `addr`, bounded by `deadline`.
    pub(crate) async fn tcp_connect(&self, deadline: Instant) -> Result<TcpStream, Outcome> {
        let socket = self
            .socket(Type::STREAM, Protocol::TCP)
            .map_err(|e| Outcome::down(format!("Cannot create socket: {e}")))?;
        let socket = TcpSocket::from_std_stream(std::net::TcpStream::from(socket));
        within(deadline, "Timeout connecting", async {
            socket
                .connect(self.addr)
                .await
                .map_err(|e| Outcome::down(format!("Error connecting: {e}")))
        })
        .await
    }

    /// A UDP socket connected to `addr`, so that an ICMP error for it is
    /// reported on the next receive (keepalived's UDP and DNS checks).
    pub(crate) fn udp_connect(&self) -> Result<UdpSocket, Outcome> {
        let socket = self
            .socket(Type::DGRAM, Protocol::UDP)
            .map_err(|e| Outcome::down(format!("Cannot create socket: {e}")))?;
        socket
            .connect(&SockAddr::from(self.addr))
            .map_err(|e| Outcome::down(format!("Error connecting: {e}")))?;
        UdpSocket::from_std(std::net::UdpSocket::from(socket))
            .map_err(|e| Outcome::down(format!("Cannot register socket: {e}")))
    }
}

/// Runs one phase of a check against the check's deadline; on expiry the
/// check fails with `timeout_reason` (keepalived names the phase that timed out).
pub(crate) async fn within<T>(
    deadline: Instant,
    timeout_reason: &'static str,
    phase: impl Future<Output = Result<T, Outcome>>,
) -> Result<T, Outcome> {
    match tokio::time::timeout_at(deadline, phase).await {
        Ok(result) => result,
        Err(_) => Err(Outcome::down(timeout_reason)),
    }
}
