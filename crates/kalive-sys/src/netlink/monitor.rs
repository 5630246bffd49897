//! Link and address monitor (RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
//! RTNLGRP_IPV6_IFADDR): feeds FAULT, `track_interface` and the VIP
//! bookkeeping of the daemon.

use std::collections::VecDeque;

use futures::channel::mpsc::UnboundedReceiver;
use futures::StreamExt;
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::sys::AsyncSocket;
use rtnetlink::sys::SocketAddr;
use rtnetlink::MulticastGroup;

use super::{AddressInfo, LinkInfo, Netlink};
use crate::error::{Result, SysError};

/// Receive buffer of the monitor socket (bytes).
const MONITOR_RECEIVE_BUFFER: libc::c_int = 1 << 20;

/// A change of an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkEvent {
    /// The interface exists with this state (new, or something changed:
    /// up/down, running, MTU, MAC…). Compare with what you knew.
    Changed(LinkInfo),
    /// The interface is gone.
    Removed(LinkInfo),
}

/// A change of an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddrEvent {
    /// The address is present (new or updated).
    Added(AddressInfo),
    /// The address was removed.
    Removed(AddressInfo),
}

/// What the monitor yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetEvent {
    /// An interface changed.
    Link(LinkEvent),
    /// An address changed.
    Addr(AddrEvent),
    /// Everything before this came from the initial dump (the state at
    /// subscription time); everything after is a live change.
    DumpDone,
    /// The kernel dropped events (the socket buffer overflowed). The next
    /// [`Monitor::next`] dumps the whole state again, ending with another
    /// [`NetEvent::DumpDone`]: treat what follows as the truth.
    Overrun,
}

/// A subscription to link and address changes. The first
/// [`Monitor::next`] reports the current state (a dump, as
/// `Changed`/`Added` events, then [`NetEvent::DumpDone`]); later calls
/// report changes as they happen. We subscribe before dumping so that no
/// change falls between the two (a change may be reported twice: events
/// are states, applying one twice is harmless).
#[derive(Debug)]
pub struct Monitor {
    netlink: Netlink,
    dumped: bool,
    backlog: VecDeque<NetEvent>,
    messages: UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>,
    _subscription: rtnetlink::Handle,
}

impl Monitor {
    /// Subscribes in the calling thread's network namespace (must be
    /// called within a tokio runtime context; spawns two driver tasks).
    pub fn subscribe() -> Result<Monitor> {
        let groups = [
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ];
        let (mut connection, handle, messages) = rtnetlink::new_multicast_connection(&groups)
            .map_err(|e| SysError::io("subscribe to link/address netlink groups", e))?;
        // A burst (many VIPs, VMACs coming up) must not overflow the
        // default buffer; the kernel caps this at rmem_max.
        connection
            .socket_mut()
            .socket_mut()
            .set_rx_buf_sz(MONITOR_RECEIVE_BUFFER)
            .map_err(|e| SysError::io("SO_RCVBUF on the netlink monitor", e))?;
        tokio::spawn(connection);
        Ok(Monitor {
            netlink: Netlink::new()?,
            dumped: false,
            backlog: VecDeque::new(),
            messages,
            _subscription: handle,
        })
    }

    /// The next event; None when the netlink socket closed. Cancel-safe
    /// (a cancelled initial dump is simply redone).
    pub async fn next(&mut self) -> Option<Result<NetEvent>> {
        if !self.dumped {
            match self.initial_dump().await {
                Ok(events) => {
                    self.backlog.extend(events);
                    self.dumped = true;
                }
                Err(e) => return Some(Err(e)),
            }
        }
        if let Some(event) = self.backlog.pop_front() {
            return Some(Ok(event));
        }
        loop {
            let (message, _) = self.messages.next().await?;
            if let Some(event) = event_of(message) {
                if event == NetEvent::Overrun {
                    self.dumped = false;
                }
                return Some(Ok(event));
            }
        }
    }

    async fn initial_dump(&self) -> Result<Vec<NetEvent>> {
        let links = self.netlink.list_links().await?;
        let addresses = self.netlink.list_addresses(None).await?;
        let mut events: Vec<NetEvent> = links
            .into_iter()
            .map(|link| NetEvent::Link(LinkEvent::Changed(link)))
            .collect();
        events.extend(
            addresses
                .into_iter()
                .map(|addr| NetEvent::Addr(AddrEvent::Added(addr))),
        );
        events.push(NetEvent::DumpDone);
        Ok(events)
    }
}

fn event_of(message: NetlinkMessage<RouteNetlinkMessage>) -> Option<NetEvent> {
    let inner = match message.payload {
        NetlinkPayload::InnerMessage(inner) => inner,
        NetlinkPayload::Overrun(_) => return Some(NetEvent::Overrun),
        _ => return None,
    };
    match inner {
        RouteNetlinkMessage::NewLink(link) => Some(NetEvent::Link(LinkEvent::Changed(
            LinkInfo::from_message(&link),
        ))),
        RouteNetlinkMessage::DelLink(link) => Some(NetEvent::Link(LinkEvent::Removed(
            LinkInfo::from_message(&link),
        ))),
        RouteNetlinkMessage::NewAddress(addr) => {
            AddressInfo::from_message(&addr).map(|a| NetEvent::Addr(AddrEvent::Added(a)))
        }
        RouteNetlinkMessage::DelAddress(addr) => {
            AddressInfo::from_message(&addr).map(|a| NetEvent::Addr(AddrEvent::Removed(a)))
        }
        _ => None,
    }
}
