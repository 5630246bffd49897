//! The kernel's answers to `GET_SERVICE` / `GET_DEST` dumps, read back
//! into [`IpvsTable`] form. Each function takes the attributes of one
//! reply message (the bytes after its genl header). Malformed replies are
//! errors, never panics; attributes we do not use (statistics, connection
//! counters) are skipped.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::attr::{attrs, get_be16, get_string, get_u16, get_u32, get_u8};
use super::consts::*;
use super::table::{KernelDest, KernelService, ServiceId};
use crate::config::{Family, Protocol, RsKey};
use crate::error::LbError;

fn bad(what: impl Into<String>) -> LbError {
    LbError::IpvsReply(what.into())
}

/// The one nested attribute `kind` of a reply.
fn nested(reply: &[u8], kind: u16) -> Result<&[u8], LbError> {
    for a in attrs(reply) {
        let (k, payload) = a?;
        if k == kind {
            return Ok(payload);
        }
    }
    Err(bad(format!("reply without attribute {kind}")))
}

fn family_of(af: u16) -> Result<Family, LbError> {
    match af {
        AF_INET => Ok(Family::V4),
        AF_INET6 => Ok(Family::V6),
        other => Err(bad(format!("unknown address family {other}"))),
    }
}

fn address(family: Family, p: &[u8]) -> Result<IpAddr, LbError> {
    match family {
        Family::V4 => {
            let o: [u8; 4] = p
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| bad("short IPv4 address"))?;
            Ok(IpAddr::V4(Ipv4Addr::from(o)))
        }
        Family::V6 => {
            let o: [u8; 16] = p
                .get(..16)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| bad("short IPv6 address"))?;
            Ok(IpAddr::V6(Ipv6Addr::from(o)))
        }
    }
}

/// One service of a `GET_SERVICE` dump.
pub fn parse_service(reply: &[u8]) -> Result<(ServiceId, KernelService), LbError> {
    let body = nested(reply, IPVS_CMD_ATTR_SERVICE)?;
    let (mut af, mut proto, mut addr, mut port, mut fwmark) = (None, None, None, None, None);
    let mut svc = KernelService::default();
    let mut netmask_raw = None;
    for a in attrs(body) {
        let (k, p) = a?;
        let short = || bad(format!("service attribute {k} too short"));
        match k {
            IPVS_SVC_ATTR_AF => af = Some(get_u16(p).ok_or_else(short)?),
            IPVS_SVC_ATTR_PROTOCOL => proto = Some(get_u16(p).ok_or_else(short)?),
            IPVS_SVC_ATTR_ADDR => addr = Some(p),
            IPVS_SVC_ATTR_PORT => port = Some(get_be16(p).ok_or_else(short)?),
            IPVS_SVC_ATTR_FWMARK => fwmark = Some(get_u32(p).ok_or_else(short)?),
            IPVS_SVC_ATTR_SCHED_NAME => svc.scheduler = get_string(p).ok_or_else(short)?,
            IPVS_SVC_ATTR_PE_NAME => svc.pe_name = get_string(p).filter(|s| !s.is_empty()),
            IPVS_SVC_ATTR_FLAGS => {
                svc.flags = get_u32(p).ok_or_else(short)? & !IP_VS_SVC_F_HASHED;
            }
            IPVS_SVC_ATTR_TIMEOUT => svc.timeout = get_u32(p).ok_or_else(short)?,
            IPVS_SVC_ATTR_NETMASK => {
                netmask_raw =
                    Some(<[u8; 4]>::try_from(p.get(..4).ok_or_else(short)?).map_err(|_| short())?)
            }
            _ => {}
        }
    }
    let family = family_of(af.ok_or_else(|| bad("service without address family"))?)?;
    if let Some(raw) = netmask_raw {
        svc.netmask = match family {
            Family::V4 => u32::from_be_bytes(raw),
            Family::V6 => u32::from_ne_bytes(raw),
        };
    }
    let id = match fwmark.filter(|m| *m != 0) {
        Some(mark) => ServiceId::Fwmark { family, mark },
        None => {
            let protocol = match proto {
                Some(IPPROTO_TCP) => Protocol::Tcp,
                Some(IPPROTO_UDP) => Protocol::Udp,
                Some(IPPROTO_SCTP) => Protocol::Sctp,
                other => return Err(bad(format!("service with protocol {other:?}"))),
            };
            ServiceId::Ip {
                protocol,
                addr: address(family, addr.ok_or_else(|| bad("service without address"))?)?,
                port: port.ok_or_else(|| bad("service without port"))?,
            }
        }
    };
    Ok((id, svc))
}

/// One destination of a `GET_DEST` dump. `service_family` is the family of
/// the service dumped (older kernels do not report the destination's).
pub fn parse_dest(reply: &[u8], service_family: Family) -> Result<(RsKey, KernelDest), LbError> {
    let body = nested(reply, IPVS_CMD_ATTR_DEST)?;
    let mut dest = KernelDest::default();
    let (mut addr, mut port, mut af) = (None, None, None);
    for a in attrs(body) {
        let (k, p) = a?;
        let short = || bad(format!("destination attribute {k} too short"));
        match k {
            IPVS_DEST_ATTR_ADDR => addr = Some(p),
            IPVS_DEST_ATTR_PORT => port = Some(get_be16(p).ok_or_else(short)?),
            IPVS_DEST_ATTR_ADDR_FAMILY => af = Some(get_u16(p).ok_or_else(short)?),
            IPVS_DEST_ATTR_FWD_METHOD => {
                dest.fwd_method = get_u32(p).ok_or_else(short)? & IP_VS_CONN_F_FWD_MASK
            }
            IPVS_DEST_ATTR_WEIGHT => dest.weight = get_u32(p).ok_or_else(short)?,
            IPVS_DEST_ATTR_U_THRESH => dest.upper_threshold = get_u32(p).ok_or_else(short)?,
            IPVS_DEST_ATTR_L_THRESH => dest.lower_threshold = get_u32(p).ok_or_else(short)?,
            IPVS_DEST_ATTR_TUN_TYPE => dest.tun_type = get_u8(p).ok_or_else(short)?,
            IPVS_DEST_ATTR_TUN_PORT => dest.tun_port = get_be16(p).ok_or_else(short)?,
            IPVS_DEST_ATTR_TUN_FLAGS => dest.tun_flags = get_u16(p).ok_or_else(short)?,
            _ => {}
        }
    }
    // Tunnel fields mean nothing for other methods; the table compares
    // them only where they matter.
    if dest.fwd_method != IP_VS_CONN_F_TUNNEL {
        (dest.tun_type, dest.tun_port, dest.tun_flags) = (0, 0, 0);
    }
    let family = match af {
        Some(af) => family_of(af)?,
        None => service_family,
    };
    let addr = address(
        family,
        addr.ok_or_else(|| bad("destination without address"))?,
    )?;
    let port = port.ok_or_else(|| bad("destination without port"))?;
    Ok((
        RsKey {
            addr,
            port: (port != 0).then_some(port),
        },
        dest,
    ))
}
