//! Netlink changes sent and acknowledged in one go, without a task hop.
//!
//! The kernel carries out an rtnetlink change (RTM_NEWADDR, RTM_NEWROUTE,
//! …) inside the `sendmsg` that delivers it, and queues the acknowledgement
//! before `sendmsg` returns. Going through rtnetlink's connection task
//! instead costs a round of task wake-ups and a reactor turn before the
//! caller learns of it: about 0.2 ms between a new master's advert and its
//! first gratuitous ARP (which must wait for the address). Here the
//! request is written and its acknowledgement read on a blocking socket,
//! which returns at once (bounded by a receive timeout all the same).

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_REQUEST};
use socket2::{Domain, Protocol, Socket, Type};

use crate::error::{Result, SysError};

/// Longest wait for an acknowledgement the kernel should already have
/// queued.
const ACK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub(crate) struct DirectNetlink {
    socket: Mutex<Socket>,
    sequence: AtomicU32,
}

impl DirectNetlink {
    /// A NETLINK_ROUTE socket in the calling thread's network namespace.
    pub(crate) fn open() -> Result<DirectNetlink> {
        let socket = Socket::new(
            Domain::from(libc::AF_NETLINK),
            Type::RAW,
            Some(Protocol::from(libc::NETLINK_ROUTE)),
        )
        .map_err(|e| SysError::io("open NETLINK_ROUTE socket", e))?;
        socket
            .set_read_timeout(Some(ACK_TIMEOUT))
            .map_err(|e| SysError::io("SO_RCVTIMEO on netlink socket", e))?;
        Ok(DirectNetlink {
            socket: Mutex::new(socket),
            // Apart from rtnetlink's numbers, to tell stale answers apart.
            sequence: AtomicU32::new(0x4b00_0000),
        })
    }

    /// Send one change and wait for its acknowledgement.
    pub(crate) fn change(
        &self,
        context: &str,
        message: RouteNetlinkMessage,
        extra_flags: u16,
    ) -> Result<()> {
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let mut request = NetlinkMessage::from(message);
        request.header.flags = NLM_F_REQUEST | NLM_F_ACK | extra_flags;
        request.header.sequence_number = sequence;
        request.finalize();
        let mut bytes = vec![0u8; request.buffer_len()];
        request.serialize(&mut bytes);
        let socket = self.socket.lock().unwrap_or_else(|e| e.into_inner());
        socket
            .send(&bytes)
            .map_err(|e| SysError::io(format!("netlink {context}"), e))?;
        let mut buffer = vec![0u8; 8192];
        // Bounded: stale answers (of a request that timed out) are skipped.
        for _ in 0..64 {
            let len = recv(&socket, &mut buffer)
                .map_err(|e| SysError::io(format!("netlink {context}: no acknowledgement"), e))?;
            if let Some(answer) = acknowledgement(&buffer[..len], sequence) {
                return answer.map_err(|err| {
                    SysError::netlink(context.to_string(), rtnetlink::Error::NetlinkError(err))
                });
            }
        }
        Err(SysError::Invalid(format!(
            "netlink {context}: no acknowledgement among the answers"
        )))
    }
}

fn recv(socket: &Socket, buffer: &mut [u8]) -> io::Result<usize> {
    use std::io::Read;
    let mut reader = socket;
    reader.read(buffer)
}

/// The acknowledgement of request `sequence` in one datagram, if there:
/// `Ok` for success, `Err` with the kernel's error message otherwise.
fn acknowledgement(
    datagram: &[u8],
    sequence: u32,
) -> Option<std::result::Result<(), rtnetlink::packet_core::ErrorMessage>> {
    let mut rest = datagram;
    while !rest.is_empty() {
        let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(rest).ok()?;
        let len = (message.header.length as usize).max(16);
        if message.header.sequence_number == sequence {
            if let NetlinkPayload::Error(err) = message.payload {
                return Some(match err.code {
                    None => Ok(()),
                    Some(_) => Err(err),
                });
            }
        }
        // Netlink messages are 4-byte aligned within a datagram.
        let next = (len + 3) & !3;
        rest = rest.get(next..)?;
    }
    None
}
