//! Link and address monitor (RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
//! RTNLGRP_IPV6_IFADDR): feeds FAULT, `track_interface` and the VIP
//! bookkeeping of the daemon.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;

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
}

/// A subscription to link and address changes. The first
/// [`Monitor::next`] reports the current state (a dump, as
/// `Changed`/`Added` events, then [`NetEvent::DumpDone`]); later calls
/// report changes as they happen. We subscribe before dumping so that no
/// change falls between the two (a change may be reported twice: events
/// are states, applying one twice is harmless).
///
/// If the kernel drops events (the socket buffer overflowed, ENOBUFS), the
/// monitor dumps again by itself: it reports `Removed` for what vanished
/// meanwhile, the present state, then another [`NetEvent::DumpDone`]. The
/// consumer never has to resynchronise.
#[derive(Debug)]
pub struct Monitor {
    netlink: Netlink,
    dumped: bool,
    known: Known,
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
            known: Known::default(),
            backlog: VecDeque::new(),
            messages,
            _subscription: handle,
        })
    }

    /// The next event; None when the netlink socket closed. Cancel-safe
    /// (a cancelled initial dump is simply redone).
    pub async fn next(&mut self) -> Option<Result<NetEvent>> {
        let event = match self.next_unrecorded().await? {
            Ok(event) => event,
            Err(e) => return Some(Err(e)),
        };
        self.known.record(&event);
        Some(Ok(event))
    }

    async fn next_unrecorded(&mut self) -> Option<Result<NetEvent>> {
        loop {
            if !self.dumped {
                match self.dump().await {
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
            let (message, _) = self.messages.next().await?;
            match incoming_of(message) {
                Some(Incoming::Event(event)) => return Some(Ok(event)),
                Some(Incoming::Overrun) => self.dumped = false,
                None => {}
            }
        }
    }

    /// The present state as events, preceded by `Removed` for anything we
    /// reported before that is gone now (only after an overrun).
    async fn dump(&self) -> Result<Vec<NetEvent>> {
        let links = self.netlink.list_links().await?;
        let addresses = self.netlink.list_addresses(None).await?;
        let mut events = self.known.vanished(&links, &addresses);
        events.extend(
            links
                .into_iter()
                .map(|link| NetEvent::Link(LinkEvent::Changed(link))),
        );
        events.extend(
            addresses
                .into_iter()
                .map(|addr| NetEvent::Addr(AddrEvent::Added(addr))),
        );
        events.push(NetEvent::DumpDone);
        Ok(events)
    }
}

/// Links and addresses reported so far, to tell what vanished when events
/// were lost.
#[derive(Debug, Default)]
struct Known {
    links: HashMap<u32, LinkInfo>,
    addresses: HashMap<(u32, IpAddr, u8), AddressInfo>,
}

impl Known {
    fn record(&mut self, event: &NetEvent) {
        match event {
            NetEvent::Link(LinkEvent::Changed(link)) => {
                self.links.insert(link.index, link.clone());
            }
            NetEvent::Link(LinkEvent::Removed(link)) => {
                self.links.remove(&link.index);
                self.addresses
                    .retain(|(ifindex, _, _), _| *ifindex != link.index);
            }
            NetEvent::Addr(AddrEvent::Added(addr)) => {
                self.addresses.insert(address_key(addr), addr.clone());
            }
            NetEvent::Addr(AddrEvent::Removed(addr)) => {
                self.addresses.remove(&address_key(addr));
            }
            NetEvent::DumpDone => {}
        }
    }

    fn vanished(&self, links: &[LinkInfo], addresses: &[AddressInfo]) -> Vec<NetEvent> {
        let present_addresses: HashSet<_> = addresses.iter().map(address_key).collect();
        let present_links: HashSet<_> = links.iter().map(|link| link.index).collect();
        let gone_addresses = self
            .addresses
            .iter()
            .filter(|(key, _)| !present_addresses.contains(*key))
            .map(|(_, addr)| NetEvent::Addr(AddrEvent::Removed(addr.clone())));
        let gone_links = self
            .links
            .iter()
            .filter(|(index, _)| !present_links.contains(*index))
            .map(|(_, link)| NetEvent::Link(LinkEvent::Removed(link.clone())));
        gone_addresses.chain(gone_links).collect()
    }
}

fn address_key(addr: &AddressInfo) -> (u32, IpAddr, u8) {
    (addr.ifindex, addr.addr, addr.prefix_len)
}

enum Incoming {
    Event(NetEvent),
    /// The kernel dropped messages for us (ENOBUFS).
    Overrun,
}

fn incoming_of(message: NetlinkMessage<RouteNetlinkMessage>) -> Option<Incoming> {
    match message.payload {
        NetlinkPayload::InnerMessage(inner) => event_of(inner).map(Incoming::Event),
        NetlinkPayload::Overrun(_) => Some(Incoming::Overrun),
        _ => None,
    }
}

fn event_of(inner: RouteNetlinkMessage) -> Option<NetEvent> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::Scope;

    fn link(index: u32, name: &str) -> LinkInfo {
        LinkInfo {
            index,
            name: name.into(),
            mac: None,
            up: true,
            running: true,
            mtu: Some(1500),
            parent_index: None,
            kind: None,
        }
    }

    fn address(ifindex: u32, addr: &str) -> AddressInfo {
        AddressInfo {
            ifindex,
            addr: addr.parse().unwrap(),
            prefix_len: 32,
            peer: None,
            broadcast: None,
            scope: Scope::Global,
            label: None,
            flags: 0,
        }
    }

    #[test]
    fn after_lost_events_vanished_links_and_addresses_are_reported_removed() {
        let mut known = Known::default();
        for event in [
            NetEvent::Link(LinkEvent::Changed(link(2, "eth0"))),
            NetEvent::Link(LinkEvent::Changed(link(3, "vrrp.51"))),
            NetEvent::Addr(AddrEvent::Added(address(2, "10.0.0.1"))),
            NetEvent::Addr(AddrEvent::Added(address(2, "10.0.0.100"))),
        ] {
            known.record(&event);
        }
        let vanished = known.vanished(&[link(2, "eth0")], &[address(2, "10.0.0.1")]);
        assert_eq!(
            vanished,
            vec![
                NetEvent::Addr(AddrEvent::Removed(address(2, "10.0.0.100"))),
                NetEvent::Link(LinkEvent::Removed(link(3, "vrrp.51"))),
            ]
        );
    }

    #[test]
    fn a_removed_link_takes_its_addresses_along() {
        let mut known = Known::default();
        known.record(&NetEvent::Link(LinkEvent::Changed(link(3, "vrrp.51"))));
        known.record(&NetEvent::Addr(AddrEvent::Added(address(3, "10.0.0.100"))));
        known.record(&NetEvent::Link(LinkEvent::Removed(link(3, "vrrp.51"))));
        assert!(known.vanished(&[], &[]).is_empty());
    }
}
