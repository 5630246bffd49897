//! The IPVS table in the kernel's own terms: one entry per kernel service
//! (a group's members and ranges each become one), with the values the
//! kernel stores and reports back. Desired state is expanded into this form
//! so that it compares field for field with a dump.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::consts::*;
use crate::config::{Family, Member, Method, Protocol, RsKey, TunnelChecksum, TunnelKind};
use crate::error::LbError;
use crate::state::{Dest, LbState, ServiceSpec};

/// Most kernel services one range of a `virtual_server_group` may expand
/// to: a typo in a range (`10.0.0.1-10.9.0.1`) must not create millions.
pub const MAX_RANGE_SERVICES: u128 = 65_536;

/// A kernel service's identity: what `ipvsadm -t/-u/--sctp-service/-f`
/// names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceId {
    Ip {
        protocol: Protocol,
        addr: IpAddr,
        /// 0: all ports (persistent services only).
        port: u16,
    },
    Fwmark {
        family: Family,
        mark: u32,
    },
}

impl ServiceId {
    pub fn family(&self) -> Family {
        match self {
            ServiceId::Ip { addr, .. } => Family::of(addr),
            ServiceId::Fwmark { family, .. } => *family,
        }
    }
}

/// A kernel service's parameters, as sent and as dumped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KernelService {
    pub scheduler: String,
    /// `IP_VS_SVC_F_*` without `HASHED` (the kernel's own bookkeeping).
    pub flags: u32,
    /// Persistence timeout in seconds (0 without persistence).
    pub timeout: u32,
    /// IPv4: the mask in host order (0xffffffff by default); IPv6: the
    /// prefix length (128 by default).
    pub netmask: u32,
    pub pe_name: Option<String>,
    pub dests: BTreeMap<RsKey, KernelDest>,
}

/// A kernel destination's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KernelDest {
    /// `IP_VS_CONN_F_MASQ`, `_TUNNEL`, `_DROUTE` (or `_LOCALNODE`, which
    /// the kernel reports for a local NAT destination).
    pub fwd_method: u32,
    pub weight: u32,
    pub upper_threshold: u32,
    pub lower_threshold: u32,
    /// Tunnel fields; all 0 unless `fwd_method` is `IP_VS_CONN_F_TUNNEL`.
    pub tun_type: u8,
    pub tun_port: u16,
    pub tun_flags: u16,
}

/// The whole table (or the part of it that matters), by service.
pub type IpvsTable = BTreeMap<ServiceId, KernelService>;

/// The kernel services a service's members stand for.
pub fn service_ids(spec: &ServiceSpec) -> Result<Vec<ServiceId>, LbError> {
    let mut ids = Vec::new();
    for member in &spec.members {
        match member {
            Member::Fwmark(mark) => ids.push(ServiceId::Fwmark {
                family: spec.family,
                mark: *mark,
            }),
            Member::Addresses { first, last, port } => {
                let protocol = spec.protocol.ok_or_else(|| {
                    LbError::Unrenderable(format!(
                        "address member {first} has no protocol (only fwmark services may lack one)"
                    ))
                })?;
                let port = port.unwrap_or(0);
                for addr in address_range(*first, *last)? {
                    ids.push(ServiceId::Ip {
                        protocol,
                        addr,
                        port,
                    });
                }
            }
        }
    }
    Ok(ids)
}

fn address_range(first: IpAddr, last: IpAddr) -> Result<Vec<IpAddr>, LbError> {
    let (lo, hi, v4) = match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, true),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), false),
        _ => {
            return Err(LbError::Unrenderable(format!(
                "range {first}-{last} mixes address families"
            )))
        }
    };
    if hi < lo || hi - lo >= MAX_RANGE_SERVICES {
        return Err(LbError::Unrenderable(format!(
            "range {first}-{last} is empty or wider than {MAX_RANGE_SERVICES} addresses"
        )));
    }
    Ok((lo..=hi)
        .map(|n| {
            if v4 {
                IpAddr::from(std::net::Ipv4Addr::from(n as u32))
            } else {
                IpAddr::from(std::net::Ipv6Addr::from(n))
            }
        })
        .collect())
}

/// A service spec as the kernel stores it (without destinations).
pub fn kernel_service(spec: &ServiceSpec) -> Result<KernelService, LbError> {
    let mut flags = 0;
    if spec.flags.fallback {
        flags |= IP_VS_SVC_F_SCHED_SH_FALLBACK;
    }
    if spec.flags.hash_port {
        flags |= IP_VS_SVC_F_SCHED_SH_PORT;
    }
    if spec.flags.one_packet {
        flags |= IP_VS_SVC_F_ONEPACKET;
    }
    let full = match spec.family {
        Family::V4 => 32,
        Family::V6 => 128,
    };
    let (timeout, prefix) = match &spec.persistence {
        Some(p) => {
            flags |= IP_VS_SVC_F_PERSISTENT;
            let secs = u32::try_from(p.timeout.as_secs()).unwrap_or(u32::MAX);
            (secs, p.prefix_len.unwrap_or(full).min(full))
        }
        None => (0, full),
    };
    let netmask = match spec.family {
        Family::V4 => u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0),
        Family::V6 => u32::from(prefix),
    };
    if let Some(pe) = &spec.persistence_engine {
        if pe.len() >= IP_VS_PENAME_MAXLEN {
            return Err(LbError::Unrenderable(format!(
                "persistence engine name {pe:?} is too long"
            )));
        }
    }
    Ok(KernelService {
        scheduler: spec.scheduler.name().to_string(),
        flags,
        timeout,
        netmask,
        pe_name: spec.persistence_engine.clone(),
        dests: BTreeMap::new(),
    })
}

/// A destination as the kernel stores it.
pub fn kernel_dest(dest: &Dest) -> KernelDest {
    let mut out = KernelDest {
        weight: dest.weight,
        upper_threshold: dest.upper_threshold,
        lower_threshold: dest.lower_threshold,
        ..KernelDest::default()
    };
    match dest.method {
        Method::Nat => out.fwd_method = IP_VS_CONN_F_MASQ,
        Method::Dr => out.fwd_method = IP_VS_CONN_F_DROUTE,
        Method::Tun(tunnel) => {
            out.fwd_method = IP_VS_CONN_F_TUNNEL;
            (out.tun_type, out.tun_port) = match tunnel.kind {
                TunnelKind::Ipip => (IP_VS_CONN_F_TUNNEL_TYPE_IPIP, 0),
                TunnelKind::Gue { port } => (IP_VS_CONN_F_TUNNEL_TYPE_GUE, port),
                TunnelKind::Gre => (IP_VS_CONN_F_TUNNEL_TYPE_GRE, 0),
            };
            out.tun_flags = match tunnel.checksum {
                TunnelChecksum::None => IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM,
                TunnelChecksum::Checksum => IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
                TunnelChecksum::Remote => IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM,
            };
        }
    }
    out
}

/// The desired state in the kernel's terms. Two services claiming the same
/// kernel service is a configuration error the lowering should have
/// caught; it is refused here too rather than resolved silently.
pub fn expand(state: &LbState) -> Result<IpvsTable, LbError> {
    let mut table = IpvsTable::new();
    for (vs, service) in &state.services {
        let mut ks = kernel_service(&service.spec)?;
        ks.dests = service
            .dests
            .iter()
            .map(|(rs, d)| (*rs, kernel_dest(d)))
            .collect();
        for id in service_ids(&service.spec)? {
            if table.insert(id, ks.clone()).is_some() {
                return Err(LbError::Unrenderable(format!(
                    "virtual server {vs}: kernel service {id:?} is claimed twice"
                )));
            }
        }
    }
    Ok(table)
}
