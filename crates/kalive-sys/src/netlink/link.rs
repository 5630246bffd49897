//! Links: lookup, up/down, macvlan VMAC create/delete.

use netlink_packet_route::link::{
    InfoKind, LinkAttribute, LinkFlags, LinkInfo as NlLinkInfo, LinkMessage, MacVlanMode,
};
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use rtnetlink::{LinkMacVlan, LinkUnspec};

use super::Netlink;
use crate::error::{Result, SysError};
use crate::vrrp_socket::Family;

/// What the daemon needs to know about an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Hardware address, if it is an Ethernet-like 6-byte one.
    pub mac: Option<[u8; 6]>,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// Operationally running (`IFF_RUNNING`): keepalived treats an
    /// interface as usable only when both up and running.
    pub running: bool,
    /// MTU, if reported.
    pub mtu: Option<u32>,
    /// `IFLA_LINK`: the parent of a macvlan/veth, if any.
    pub parent_index: Option<u32>,
    /// Link kind (`"veth"`, `"macvlan"`, `"bridge"`…), if it has one.
    pub kind: Option<String>,
}

impl LinkInfo {
    /// Up and running: what keepalived calls an interface being up
    /// (`reference/keepalived-behaviour.md`, FAULT).
    pub fn is_usable(&self) -> bool {
        self.up && self.running
    }

    pub(crate) fn from_message(message: &LinkMessage) -> LinkInfo {
        let flags = message.header.flags;
        let mut info = LinkInfo {
            index: message.header.index,
            name: String::new(),
            mac: None,
            up: flags.contains(LinkFlags::Up),
            running: flags.contains(LinkFlags::Running),
            mtu: None,
            parent_index: None,
            kind: None,
        };
        for attribute in &message.attributes {
            match attribute {
                LinkAttribute::IfName(name) => info.name = name.clone(),
                LinkAttribute::Address(bytes) => {
                    info.mac = <[u8; 6]>::try_from(bytes.as_slice()).ok()
                }
                LinkAttribute::Mtu(mtu) => info.mtu = Some(*mtu),
                LinkAttribute::Link(parent) => info.parent_index = Some(*parent),
                LinkAttribute::LinkInfo(infos) => info.kind = link_kind(infos),
                _ => {}
            }
        }
        info
    }
}

fn link_kind(infos: &[NlLinkInfo]) -> Option<String> {
    infos.iter().find_map(|info| match info {
        NlLinkInfo::Kind(kind) => Some(kind.to_string()),
        _ => None,
    })
}

/// The VRRP virtual MAC for `vrid` (RFC 5798 §7.3): 00:00:5e:00:01:VRID for
/// IPv4, 00:00:5e:00:02:VRID for IPv6.
pub fn vmac_address(family: Family, vrid: u8) -> [u8; 6] {
    let family_octet = match family {
        Family::V4 => 0x01,
        Family::V6 => 0x02,
    };
    [0x00, 0x00, 0x5e, 0x00, family_octet, vrid]
}

impl Netlink {
    /// Looks an interface up by name.
    pub async fn link_by_name(&self, name: &str) -> Result<LinkInfo> {
        let mut message = LinkMessage::default();
        message
            .attributes
            .push(LinkAttribute::IfName(name.to_owned()));
        self.get_one_link(format!("get link {name}"), message, name)
            .await
    }

    /// Looks an interface up by index.
    pub async fn link_by_index(&self, index: u32) -> Result<LinkInfo> {
        let mut message = LinkMessage::default();
        message.header.index = index;
        self.get_one_link(format!("get link {index}"), message, &index.to_string())
            .await
    }

    /// Every interface of the namespace.
    pub async fn list_links(&self) -> Result<Vec<LinkInfo>> {
        let answers = self
            .dump(
                "dump links".into(),
                RouteNetlinkMessage::GetLink(LinkMessage::default()),
            )
            .await?;
        Ok(answers
            .iter()
            .filter_map(|answer| match answer {
                RouteNetlinkMessage::NewLink(link) => Some(LinkInfo::from_message(link)),
                _ => None,
            })
            .collect())
    }

    async fn get_one_link(
        &self,
        context: String,
        message: LinkMessage,
        what: &str,
    ) -> Result<LinkInfo> {
        let answers = match self
            .get(context, RouteNetlinkMessage::GetLink(message))
            .await
        {
            Err(e) if e.is_not_found() => return Err(SysError::NoSuchLink(what.to_owned())),
            other => other?,
        };
        answers
            .iter()
            .find_map(|answer| match answer {
                RouteNetlinkMessage::NewLink(link) => Some(LinkInfo::from_message(link)),
                _ => None,
            })
            .ok_or_else(|| SysError::NoSuchLink(what.to_owned()))
    }

    /// Sets an interface administratively up.
    pub async fn set_link_up(&self, index: u32) -> Result<()> {
        let message = LinkUnspec::new_with_index(index).up().build();
        self.change(
            format!("set link {index} up"),
            RouteNetlinkMessage::SetLink(message),
            0,
        )
        .await
    }

    /// Sets an interface administratively down.
    pub async fn set_link_down(&self, index: u32) -> Result<()> {
        let message = LinkUnspec::new_with_index(index).down().build();
        self.change(
            format!("set link {index} down"),
            RouteNetlinkMessage::SetLink(message),
            0,
        )
        .await
    }

    /// Creates keepalived's `use_vmac` interface: a macvlan named `name` on
    /// `parent_index`, in private mode (as keepalived, so that VMACs of
    /// the same parent do not talk to each other), with hardware address
    /// `mac` (see [`vmac_address`]). Returns the new interface (still
    /// down: set it up after the sysctls, see [`crate::sysctl`]).
    pub async fn add_vmac(&self, name: &str, parent_index: u32, mac: [u8; 6]) -> Result<LinkInfo> {
        let message = LinkMacVlan::new(name, parent_index, MacVlanMode::Private)
            .address(mac.to_vec())
            .build();
        self.change(
            format!("add macvlan {name} on link {parent_index}"),
            RouteNetlinkMessage::NewLink(message),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .await?;
        self.link_by_name(name).await
    }

    /// Deletes an interface (a VMAC, typically).
    pub async fn delete_link(&self, index: u32) -> Result<()> {
        let mut message = LinkMessage::default();
        message.header.index = index;
        self.change(
            format!("delete link {index}"),
            RouteNetlinkMessage::DelLink(message),
            0,
        )
        .await
    }

    /// True if `info` is a macvlan (used to recognise a VMAC left behind).
    pub fn is_macvlan(info: &LinkInfo) -> bool {
        info.kind.as_deref() == Some(InfoKind::MacVlan.to_string().as_str())
    }
}
