//! One IPVS request as data, and its bytes on the wire.

use super::attr::AttrWriter;
use super::consts::*;
use super::table::{KernelDest, KernelService, ServiceId};
use crate::config::{Family, Protocol, RsKey};
use std::net::IpAddr;

/// A generic netlink request to the IPVS family: the command, whether it is
/// a dump, and its attributes (everything after the genl header). The
/// family id is only known at run time ([`IpvsRequest::to_bytes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsRequest {
    pub cmd: u8,
    /// `NLM_F_DUMP` instead of `NLM_F_ACK`.
    pub dump: bool,
    pub attrs: Vec<u8>,
}

impl IpvsRequest {
    fn new(cmd: u8, fill: impl FnOnce(&mut AttrWriter)) -> IpvsRequest {
        let mut w = AttrWriter::default();
        fill(&mut w);
        IpvsRequest {
            cmd,
            dump: false,
            attrs: w.bytes,
        }
    }

    /// The netlink flags this request is sent with.
    pub fn flags(&self) -> u16 {
        if self.dump {
            NLM_F_REQUEST | NLM_F_DUMP
        } else {
            NLM_F_REQUEST | NLM_F_ACK
        }
    }

    /// The whole netlink message: `nlmsghdr` (port id 0: the kernel fills
    /// in the sender), `genlmsghdr` (version [`IPVS_GENL_VERSION`]), then
    /// the attributes.
    pub fn to_bytes(&self, family_id: u16, sequence: u32) -> Vec<u8> {
        let len = (NLMSG_HDRLEN + GENL_HDRLEN + self.attrs.len()) as u32;
        let mut out = Vec::with_capacity(len as usize);
        out.extend_from_slice(&len.to_ne_bytes());
        out.extend_from_slice(&family_id.to_ne_bytes());
        out.extend_from_slice(&self.flags().to_ne_bytes());
        out.extend_from_slice(&sequence.to_ne_bytes());
        out.extend_from_slice(&0u32.to_ne_bytes());
        out.extend_from_slice(&[self.cmd, IPVS_GENL_VERSION, 0, 0]);
        out.extend_from_slice(&self.attrs);
        out
    }
}

pub(crate) fn af(family: Family) -> u16 {
    match family {
        Family::V4 => AF_INET,
        Family::V6 => AF_INET6,
    }
}

pub(crate) fn ipproto(protocol: Protocol) -> u16 {
    match protocol {
        Protocol::Tcp => IPPROTO_TCP,
        Protocol::Udp => IPPROTO_UDP,
        Protocol::Sctp => IPPROTO_SCTP,
    }
}

/// `union nf_inet_addr`: 16 bytes, an IPv4 address in the first 4 (as
/// ipvsadm sends it and the kernel reports it).
fn inet_addr(addr: &IpAddr) -> [u8; 16] {
    let mut out = [0u8; 16];
    match addr {
        IpAddr::V4(a) => out[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => out = a.octets(),
    }
    out
}

/// The attributes naming a service (`ip_vs_genl_parse_service`'s key).
fn put_service_id(w: &mut AttrWriter, id: &ServiceId) {
    w.u16(IPVS_SVC_ATTR_AF, af(id.family()));
    match id {
        ServiceId::Ip {
            protocol,
            addr,
            port,
        } => {
            w.u16(IPVS_SVC_ATTR_PROTOCOL, ipproto(*protocol));
            w.put(IPVS_SVC_ATTR_ADDR, &inet_addr(addr));
            w.be16(IPVS_SVC_ATTR_PORT, *port);
        }
        ServiceId::Fwmark { mark, .. } => w.u32(IPVS_SVC_ATTR_FWMARK, *mark),
    }
}

fn service_id_only(id: &ServiceId) -> impl FnOnce(&mut AttrWriter) + '_ {
    move |w| w.nested(IPVS_CMD_ATTR_SERVICE, |w| put_service_id(w, id))
}

/// The service key and everything `NEW`/`SET_SERVICE` require
/// (scheduler, flags with a full mask, timeout, netmask).
fn put_service_full(w: &mut AttrWriter, id: &ServiceId, svc: &KernelService) {
    w.nested(IPVS_CMD_ATTR_SERVICE, |w| {
        put_service_id(w, id);
        w.string(IPVS_SVC_ATTR_SCHED_NAME, &svc.scheduler);
        if let Some(pe) = &svc.pe_name {
            w.string(IPVS_SVC_ATTR_PE_NAME, pe);
        }
        // struct ip_vs_flags { flags; mask }: every bit is ours to set.
        let mut flags = svc.flags.to_ne_bytes().to_vec();
        flags.extend_from_slice(&u32::MAX.to_ne_bytes());
        w.put(IPVS_SVC_ATTR_FLAGS, &flags);
        w.u32(IPVS_SVC_ATTR_TIMEOUT, svc.timeout);
        // __be32 for an IPv4 mask; a plain number (prefix length) for IPv6.
        match id.family() {
            Family::V4 => w.put(IPVS_SVC_ATTR_NETMASK, &svc.netmask.to_be_bytes()),
            Family::V6 => w.u32(IPVS_SVC_ATTR_NETMASK, svc.netmask),
        }
    });
}

fn put_dest(w: &mut AttrWriter, rs: &RsKey, dest: Option<&KernelDest>) {
    w.nested(IPVS_CMD_ATTR_DEST, |w| {
        w.put(IPVS_DEST_ATTR_ADDR, &inet_addr(&rs.addr));
        w.be16(IPVS_DEST_ATTR_PORT, rs.port.unwrap_or(0));
        w.u16(IPVS_DEST_ATTR_ADDR_FAMILY, af(Family::of(&rs.addr)));
        if let Some(d) = dest {
            w.u32(IPVS_DEST_ATTR_FWD_METHOD, d.fwd_method);
            w.u32(IPVS_DEST_ATTR_WEIGHT, d.weight);
            w.u32(IPVS_DEST_ATTR_U_THRESH, d.upper_threshold);
            w.u32(IPVS_DEST_ATTR_L_THRESH, d.lower_threshold);
            if d.fwd_method == IP_VS_CONN_F_TUNNEL {
                w.u8(IPVS_DEST_ATTR_TUN_TYPE, d.tun_type);
                w.be16(IPVS_DEST_ATTR_TUN_PORT, d.tun_port);
                w.u16(IPVS_DEST_ATTR_TUN_FLAGS, d.tun_flags);
            }
        }
    });
}

/// `IPVS_CMD_NEW_SERVICE` (ipvsadm -A).
pub fn new_service(id: &ServiceId, svc: &KernelService) -> IpvsRequest {
    IpvsRequest::new(IPVS_CMD_NEW_SERVICE, |w| put_service_full(w, id, svc))
}

/// `IPVS_CMD_SET_SERVICE` (ipvsadm -E).
pub fn set_service(id: &ServiceId, svc: &KernelService) -> IpvsRequest {
    IpvsRequest::new(IPVS_CMD_SET_SERVICE, |w| put_service_full(w, id, svc))
}

/// `IPVS_CMD_DEL_SERVICE` (ipvsadm -D): takes its destinations with it.
pub fn del_service(id: &ServiceId) -> IpvsRequest {
    IpvsRequest::new(IPVS_CMD_DEL_SERVICE, service_id_only(id))
}

/// `IPVS_CMD_NEW_DEST` (ipvsadm -a).
pub fn new_dest(id: &ServiceId, rs: &RsKey, dest: &KernelDest) -> IpvsRequest {
    IpvsRequest::new(IPVS_CMD_NEW_DEST, |w| {
        service_id_only(id)(w);
        put_dest(w, rs, Some(dest));
    })
}

/// `IPVS_CMD_SET_DEST` (ipvsadm -e).
pub fn set_dest(id: &ServiceId, rs: &RsKey, dest: &KernelDest) -> IpvsRequest {
    IpvsRequest::new(IPVS_CMD_SET_DEST, |w| {
        service_id_only(id)(w);
        put_dest(w, rs, Some(dest));
    })
}

/// `IPVS_CMD_DEL_DEST` (ipvsadm -d).
pub fn del_dest(id: &ServiceId, rs: &RsKey) -> IpvsRequest {
    IpvsRequest::new(IPVS_CMD_DEL_DEST, |w| {
        service_id_only(id)(w);
        put_dest(w, rs, None);
    })
}

/// Dump of every service (`IPVS_CMD_GET_SERVICE` with `NLM_F_DUMP`).
pub fn dump_services() -> IpvsRequest {
    IpvsRequest {
        dump: true,
        ..IpvsRequest::new(IPVS_CMD_GET_SERVICE, |_| {})
    }
}

/// Dump of one service's destinations.
pub fn dump_dests(id: &ServiceId) -> IpvsRequest {
    IpvsRequest {
        dump: true,
        ..IpvsRequest::new(IPVS_CMD_GET_DEST, service_id_only(id))
    }
}

/// Role of a connection synchronisation daemon (`lvs_sync_daemon`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncRole {
    Master,
    Backup,
}

impl SyncRole {
    fn state(self) -> u32 {
        match self {
            SyncRole::Master => IP_VS_STATE_MASTER,
            SyncRole::Backup => IP_VS_STATE_BACKUP,
        }
    }
}

/// `lvs_sync_daemon INTERFACE INSTANCE [id N] [maxlen N] [port N] [ttl N]
/// [group IP]`; unset options keep the kernel's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncDaemon {
    pub role: SyncRole,
    pub interface: String,
    pub sync_id: u32,
    pub max_len: Option<u16>,
    pub group: Option<IpAddr>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
}

/// `IPVS_CMD_NEW_DAEMON`: start a sync daemon.
pub fn new_daemon(d: &SyncDaemon) -> IpvsRequest {
    IpvsRequest::new(IPVS_CMD_NEW_DAEMON, |w| {
        w.nested(IPVS_CMD_ATTR_DAEMON, |w| {
            w.u32(IPVS_DAEMON_ATTR_STATE, d.role.state());
            w.string(IPVS_DAEMON_ATTR_MCAST_IFN, &d.interface);
            w.u32(IPVS_DAEMON_ATTR_SYNC_ID, d.sync_id);
            if let Some(len) = d.max_len {
                w.u16(IPVS_DAEMON_ATTR_SYNC_MAXLEN, len);
            }
            match d.group {
                Some(IpAddr::V4(g)) => w.put(IPVS_DAEMON_ATTR_MCAST_GROUP, &g.octets()),
                Some(IpAddr::V6(g)) => w.put(IPVS_DAEMON_ATTR_MCAST_GROUP6, &g.octets()),
                None => {}
            }
            // The kernel reads the port with nla_get_u16 (host order).
            if let Some(port) = d.port {
                w.u16(IPVS_DAEMON_ATTR_MCAST_PORT, port);
            }
            if let Some(ttl) = d.ttl {
                w.u8(IPVS_DAEMON_ATTR_MCAST_TTL, ttl);
            }
        })
    })
}

/// `IPVS_CMD_DEL_DAEMON`: stop the sync daemon of that role.
pub fn del_daemon(role: SyncRole) -> IpvsRequest {
    IpvsRequest::new(IPVS_CMD_DEL_DAEMON, |w| {
        w.nested(IPVS_CMD_ATTR_DAEMON, |w| {
            w.u32(IPVS_DAEMON_ATTR_STATE, role.state())
        })
    })
}

/// `IPVS_CMD_SET_CONFIG` (ipvsadm --set tcp tcpfin udp): seconds, 0 leaves
/// a value unchanged (its attribute is left out: the kernel starts from the
/// current timeouts and overwrites those it is given).
pub fn set_timeouts(tcp: u32, tcp_fin: u32, udp: u32) -> IpvsRequest {
    IpvsRequest::new(IPVS_CMD_SET_CONFIG, |w| {
        for (kind, secs) in [
            (IPVS_CMD_ATTR_TIMEOUT_TCP, tcp),
            (IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, tcp_fin),
            (IPVS_CMD_ATTR_TIMEOUT_UDP, udp),
        ] {
            if secs != 0 {
                w.u32(kind, secs);
            }
        }
    })
}
