//! `ha_suspend` (reference §1.12): a virtual server's checks pause while
//! its address is not on this host. The VRRP actor owns the VIPs; rather
//! than import it, the check side watches the kernel's addresses (netlink
//! monitor events), as keepalived's checker process does.

use std::collections::HashSet;
use std::net::IpAddr;

use kalive_sys::{AddrEvent, NetEvent};

/// Addresses present on this host, and what each watched service was last
/// told.
#[derive(Debug, Default)]
pub struct Addresses {
    present: HashSet<(u32, IpAddr)>,
    /// The initial dump is complete: absence now means absence.
    synced: bool,
}

impl Addresses {
    /// Take one monitor event; true when presence may have changed.
    pub fn apply(&mut self, event: &NetEvent) -> bool {
        match event {
            NetEvent::Addr(AddrEvent::Added(a)) => {
                self.present.insert((a.ifindex, a.addr));
                self.synced
            }
            NetEvent::Addr(AddrEvent::Removed(a)) => {
                self.present.remove(&(a.ifindex, a.addr));
                self.synced
            }
            NetEvent::DumpDone => {
                self.synced = true;
                true
            }
            NetEvent::Link(_) => false,
        }
    }

    /// Whether any of `addrs` is on some interface. None before the first
    /// dump completed (the engine keeps such services suspended).
    pub fn any_present(&self, addrs: &[IpAddr]) -> Option<bool> {
        self.synced
            .then(|| self.present.iter().any(|(_, a)| addrs.contains(a)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kalive_sys::{AddressInfo, Scope};

    fn addr(ifindex: u32, a: &str) -> AddressInfo {
        AddressInfo {
            ifindex,
            addr: a.parse().unwrap(),
            prefix_len: 32,
            peer: None,
            broadcast: None,
            scope: Scope::Global,
            label: None,
            flags: 0,
        }
    }

    #[test]
    fn presence_follows_adds_and_removals_after_the_dump() {
        let vip: IpAddr = "10.0.0.100".parse().unwrap();
        let mut a = Addresses::default();
        assert!(!a.apply(&NetEvent::Addr(AddrEvent::Added(addr(2, "10.0.0.1")))));
        assert_eq!(a.any_present(&[vip]), None, "unknown before the dump ends");
        assert!(a.apply(&NetEvent::DumpDone));
        assert_eq!(a.any_present(&[vip]), Some(false));
        assert!(a.apply(&NetEvent::Addr(AddrEvent::Added(addr(2, "10.0.0.100")))));
        assert!(a.apply(&NetEvent::Addr(AddrEvent::Added(addr(3, "10.0.0.100")))));
        assert_eq!(a.any_present(&[vip]), Some(true));
        a.apply(&NetEvent::Addr(AddrEvent::Removed(addr(2, "10.0.0.100"))));
        assert_eq!(
            a.any_present(&[vip]),
            Some(true),
            "still on another interface"
        );
        a.apply(&NetEvent::Addr(AddrEvent::Removed(addr(3, "10.0.0.100"))));
        assert_eq!(a.any_present(&[vip]), Some(false));
    }
}
