//! The driver's view of interfaces and their addresses (from a netlink dump,
//! then kept current by the monitor).

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use kalive_sys::{AddressInfo, LinkInfo, Netlink};

use super::sys_err;
use crate::error::Error;

/// What we know about one interface.
#[derive(Debug, Clone)]
pub(super) struct Iface {
    pub(super) info: LinkInfo,
    pub(super) addrs: Vec<AddressInfo>,
}

impl Iface {
    pub(super) fn usable(&self) -> bool {
        self.info.is_usable()
    }

    /// The primary IPv4 address: the first global one that is not a VIP.
    pub(super) fn primary_v4(&self, vips: &BTreeSet<IpAddr>) -> Option<Ipv4Addr> {
        self.addrs.iter().find_map(|a| match a.addr {
            IpAddr::V4(v4) if !vips.contains(&a.addr) && !v4.is_loopback() => Some(v4),
            _ => None,
        })
    }

    pub(super) fn link_local_v6(&self) -> Option<Ipv6Addr> {
        self.addrs.iter().find_map(|a| match a.addr {
            IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => Some(v6),
            _ => None,
        })
    }
}

/// The driver's view of links and addresses, by name.
#[derive(Debug, Default)]
pub(super) struct Links {
    pub(super) by_name: HashMap<String, Iface>,
}

impl Links {
    pub(super) async fn load(nl: &Netlink) -> Result<Links, Error> {
        let mut links = Links::default();
        let infos = nl.list_links().await.map_err(sys_err)?;
        let addrs = nl.list_addresses(None).await.map_err(sys_err)?;
        for info in infos {
            let mine = addrs
                .iter()
                .filter(|a| a.ifindex == info.index)
                .cloned()
                .collect();
            links
                .by_name
                .insert(info.name.clone(), Iface { info, addrs: mine });
        }
        Ok(links)
    }

    pub(super) fn index(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).map(|i| i.info.index)
    }

    pub(super) fn name_of(&self, index: u32) -> Option<String> {
        self.by_name
            .values()
            .find(|i| i.info.index == index)
            .map(|i| i.info.name.clone())
    }

    pub(super) fn usable(&self, name: &str) -> bool {
        self.by_name.get(name).is_some_and(Iface::usable)
    }
}
