//! Addresses: add, delete, list (VIPs, `virtual_ipaddress_excluded`,
//! `static_ipaddress`).

use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};

use super::{Netlink, Scope};
use crate::error::Result;
use crate::vrrp_socket::Family;

/// An address to add or delete (`ip addr add ADDR/LEN [brd B] [peer P]
/// [scope S] [label L] dev IFINDEX [nodad] [noprefixroute]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressSpec {
    /// Interface index.
    pub ifindex: u32,
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (keepalived's VIP default is /32 or /128).
    pub prefix_len: u8,
    /// IPv4 broadcast (`brd`); None sets none, as keepalived without `brd`.
    pub broadcast: Option<Ipv4Addr>,
    /// Point-to-point peer (`peer`).
    pub peer: Option<IpAddr>,
    /// Scope.
    pub scope: Scope,
    /// IPv4 label (`label eth0:1`).
    pub label: Option<String>,
    /// IPv6: skip duplicate address detection (keepalived sets it on VIPs
    /// so that a VIP is usable at once).
    pub nodad: bool,
    /// Do not add the prefix route (`noprefixroute`).
    pub noprefixroute: bool,
}

impl AddressSpec {
    /// `addr/prefix_len` on `ifindex`, scope global, nothing else; IPv6
    /// addresses get `nodad` as keepalived's VIPs do.
    pub fn new(ifindex: u32, addr: IpAddr, prefix_len: u8) -> AddressSpec {
        AddressSpec {
            ifindex,
            addr,
            prefix_len,
            broadcast: None,
            peer: None,
            scope: Scope::Global,
            label: None,
            nodad: addr.is_ipv6(),
            noprefixroute: false,
        }
    }

    fn to_message(&self) -> AddressMessage {
        let mut message = AddressMessage::default();
        message.header.family = match self.addr {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        message.header.prefix_len = self.prefix_len;
        message.header.scope = AddressScope::from(self.scope.to_u8());
        message.header.index = self.ifindex;
        let flags = self.flags();
        message.header.flags = AddressHeaderFlags::from_bits_truncate(flags.bits() as u8);
        let attributes = &mut message.attributes;
        attributes.push(AddressAttribute::Local(self.addr));
        attributes.push(AddressAttribute::Address(self.peer.unwrap_or(self.addr)));
        if let Some(broadcast) = self.broadcast {
            attributes.push(AddressAttribute::Broadcast(broadcast));
        }
        if let Some(label) = &self.label {
            attributes.push(AddressAttribute::Label(label.clone()));
        }
        if !flags.is_empty() {
            attributes.push(AddressAttribute::Flags(flags));
        }
        message
    }

    fn flags(&self) -> AddressFlags {
        let mut flags = AddressFlags::empty();
        if self.nodad {
            flags |= AddressFlags::Nodad;
        }
        if self.noprefixroute {
            flags |= AddressFlags::Noprefixroute;
        }
        flags
    }

    fn describe(&self) -> String {
        format!("{}/{} dev {}", self.addr, self.prefix_len, self.ifindex)
    }
}

/// An address as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressInfo {
    /// Interface index.
    pub ifindex: u32,
    /// The local address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Peer, when it differs from the local address.
    pub peer: Option<IpAddr>,
    /// IPv4 broadcast.
    pub broadcast: Option<Ipv4Addr>,
    /// Scope.
    pub scope: Scope,
    /// Label (IPv4).
    pub label: Option<String>,
    /// Raw `IFA_F_*` flags (secondary, nodad, tentative, dadfailed, …).
    pub flags: u32,
}

impl AddressInfo {
    /// IPv6 duplicate address detection is still running.
    pub fn is_tentative(&self) -> bool {
        self.flags & AddressFlags::Tentative.bits() != 0
    }

    /// IPv6 duplicate address detection failed.
    pub fn is_dad_failed(&self) -> bool {
        self.flags & AddressFlags::Dadfailed.bits() != 0
    }

    pub(crate) fn from_message(message: &AddressMessage) -> Option<AddressInfo> {
        let mut local = None;
        let mut address = None;
        let mut info = AddressInfo {
            ifindex: message.header.index,
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            prefix_len: message.header.prefix_len,
            peer: None,
            broadcast: None,
            scope: Scope::from_u8(u8::from(message.header.scope)),
            label: None,
            flags: u32::from(message.header.flags.bits()),
        };
        for attribute in &message.attributes {
            match attribute {
                AddressAttribute::Local(addr) => local = Some(*addr),
                AddressAttribute::Address(addr) => address = Some(*addr),
                AddressAttribute::Broadcast(addr) => info.broadcast = Some(*addr),
                AddressAttribute::Label(label) => info.label = Some(label.clone()),
                AddressAttribute::Flags(flags) => info.flags = flags.bits(),
                _ => {}
            }
        }
        // IPv6 reports only IFA_ADDRESS; IPv4 reports IFA_LOCAL and, for a
        // point-to-point address, the peer in IFA_ADDRESS.
        info.addr = local.or(address)?;
        info.peer = address.filter(|peer| Some(*peer) != local && local.is_some());
        Some(info)
    }
}

impl Netlink {
    /// Adds an address; fails with [`crate::SysError::is_already_exists`]
    /// if it is already there.
    pub async fn add_address(&self, spec: &AddressSpec) -> Result<()> {
        self.change(
            format!("add address {}", spec.describe()),
            RouteNetlinkMessage::NewAddress(spec.to_message()),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .await
    }

    /// Adds an address or updates it in place if present.
    pub async fn replace_address(&self, spec: &AddressSpec) -> Result<()> {
        self.change(
            format!("replace address {}", spec.describe()),
            RouteNetlinkMessage::NewAddress(spec.to_message()),
            NLM_F_CREATE | NLM_F_REPLACE,
        )
        .await
    }

    /// Deletes an address (matched by interface, address and prefix
    /// length); fails with [`crate::SysError::is_not_found`] if absent.
    pub async fn del_address(&self, spec: &AddressSpec) -> Result<()> {
        self.change(
            format!("delete address {}", spec.describe()),
            RouteNetlinkMessage::DelAddress(spec.to_message()),
            0,
        )
        .await
    }

    /// Lists addresses, of one interface or (None) all of them.
    pub async fn list_addresses(&self, ifindex: Option<u32>) -> Result<Vec<AddressInfo>> {
        let answers = self
            .dump(
                "dump addresses".into(),
                RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            )
            .await?;
        Ok(answers
            .iter()
            .filter_map(|answer| match answer {
                RouteNetlinkMessage::NewAddress(message) => AddressInfo::from_message(message),
                _ => None,
            })
            .filter(|info| ifindex.is_none_or(|index| info.ifindex == index))
            .collect())
    }

    /// The address VRRP sends from on `ifindex` when no `mcast_src_ip` /
    /// `unicast_src_ip` is configured, as keepalived picks it: IPv4, the
    /// interface's first primary address; IPv6, its link-local address
    /// (RFC 5798 §5.1.2.1). None if the interface has no such address yet.
    pub async fn primary_address(&self, ifindex: u32, family: Family) -> Result<Option<IpAddr>> {
        let addresses = self.list_addresses(Some(ifindex)).await?;
        Ok(pick_primary(&addresses, family))
    }
}

fn pick_primary(addresses: &[AddressInfo], family: Family) -> Option<IpAddr> {
    addresses
        .iter()
        .filter(|info| Family::of(info.addr) == family)
        .find(|info| match info.addr {
            IpAddr::V4(_) => info.flags & AddressFlags::Secondary.bits() == 0,
            IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80 && !info.is_dad_failed(),
        })
        .map(|info| info.addr)
}
