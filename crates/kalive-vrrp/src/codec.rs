//! The only place that touches `kalive-wire`: decoding a received message
//! into the engine's terms and encoding our adverts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use kalive_wire::{AdvertRepr, Auth, Checksum, Error as WireError, Packet};

use crate::config::{Authentication, Family, InstanceConfig, Version, VirtualAddress};
use crate::stats::RxDrop;

/// Minimum Ethernet payload: shorter IP packets arrive padded (reference §2
/// step 2 tolerates this padding).
const MIN_ETHERNET_PAYLOAD: usize = 46;
const IPV4_HEADER_LEN: usize = 20;

/// The fields of a received advert the state machine needs (its address
/// list is compared in place, [`Received::carries_exactly`]: no allocation
/// per received packet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Advert {
    pub priority: u8,
    pub interval: Duration,
}

/// A received message whose length is consistent with its header: every
/// field can be read; nothing else is checked yet.
pub(crate) struct Received<'a> {
    packet: Packet<&'a [u8]>,
    len: usize,
    family: Family,
}

/// The length the header announces, if the header is there.
fn announced_len(bytes: &[u8], family: Family) -> Option<usize> {
    let version = Version::from_number(bytes.first()? >> 4)?;
    let count = usize::from(*bytes.get(3)?);
    Some(kalive_wire::vrrp::message_len(version, family, count))
}

/// Strip Ethernet minimum-frame padding, or report a length error.
fn trim_padding(bytes: &[u8], family: Family) -> Result<&[u8], RxDrop> {
    let Some(expected) = announced_len(bytes, family) else {
        // Too short for a header or an unknown version: let the view say.
        return Ok(bytes);
    };
    let padded_max = match family {
        Family::V4 => expected.max(MIN_ETHERNET_PAYLOAD - IPV4_HEADER_LEN),
        Family::V6 => expected,
    };
    if bytes.len() > padded_max {
        return Err(RxDrop::Length);
    }
    Ok(bytes.get(..expected).unwrap_or(bytes))
}

/// Step 2 (length, Ethernet padding tolerated). A version nibble other than
/// 2 or 3 (or v2 over IPv6) is reported as a version error since the length
/// cannot be judged without it.
pub(crate) fn view(bytes: &[u8], family: Family) -> Result<Received<'_>, RxDrop> {
    let message = trim_padding(bytes, family)?;
    match Packet::new_checked(message, family) {
        Ok(packet) => Ok(Received {
            packet,
            len: message.len(),
            family,
        }),
        Err(WireError::BadVersion(_)) => Err(RxDrop::Version),
        Err(_) => Err(RxDrop::Length),
    }
}

impl Received<'_> {
    /// The version nibble.
    pub(crate) fn version(&self) -> Option<Version> {
        self.packet.version().ok()
    }

    /// The message length (for the IPv4 `tot_len` check, step 8).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Step 6 for v2: a known auth type equal to ours, and for PASS the same
    /// password (compared in constant time, reference §1.9).
    pub(crate) fn check_v2_auth(&self, ours: &Authentication) -> Result<(), RxDrop> {
        let theirs = match self.packet.auth_type() {
            kalive_wire::vrrp::AUTH_TYPE_NONE => Authentication::None,
            kalive_wire::vrrp::AUTH_TYPE_PASS => {
                Authentication::Pass(self.packet.auth_data(self.family))
            }
            kalive_wire::vrrp::AUTH_TYPE_AH => Authentication::Ah,
            _ => return Err(RxDrop::InvalidAuthType),
        };
        match (ours, theirs) {
            (Authentication::None, Authentication::None)
            | (Authentication::Ah, Authentication::Ah) => Ok(()),
            (Authentication::Pass(a), Authentication::Pass(b)) if constant_time_eq(a, &b) => Ok(()),
            (Authentication::Pass(_), Authentication::Pass(_)) => Err(RxDrop::AuthFailure),
            _ => Err(RxDrop::AuthTypeMismatch),
        }
    }

    /// The advertised interval (v2 seconds or v3 centiseconds).
    pub(crate) fn interval(&self) -> Duration {
        match self.version() {
            Some(Version::V2) => Duration::from_secs(u64::from(self.packet.adver_int_v2())),
            _ => Duration::from_millis(u64::from(self.packet.max_adver_int_v3()) * 10),
        }
    }

    /// Step 7.
    pub(crate) fn is_advertisement(&self) -> bool {
        self.packet.msg_type() == kalive_wire::vrrp::TYPE_ADVERTISEMENT
    }

    /// Step 10 with `checksum`.
    pub(crate) fn checksum_ok(&self, checksum: &Checksum) -> bool {
        self.packet.verify_checksum(checksum)
    }

    /// The fields the state machine uses.
    pub(crate) fn advert(&self) -> Advert {
        Advert {
            priority: self.packet.priority(),
            interval: self.interval(),
        }
    }

    /// The advertised addresses, in packet order.
    fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        (0..usize::from(self.packet.addr_count())).map(|i| self.packet.addr(self.family, i))
    }

    /// Whether the advert carries exactly `ours`, order ignored, each
    /// address as often (keepalived compares the sorted lists, reference §2
    /// step 13). A quadratic count, without allocating, for the few VIPs an
    /// instance usually has; sorted copies for long lists.
    pub(crate) fn carries_exactly(&self, ours: &[VirtualAddress]) -> bool {
        /// Up to this many addresses, counting beats sorting.
        const SHORT_LIST: usize = 16;
        if usize::from(self.packet.addr_count()) != ours.len() {
            return false;
        }
        if ours.len() > SHORT_LIST {
            let mut mine: Vec<IpAddr> = ours.iter().map(|v| v.addr).collect();
            let mut theirs: Vec<IpAddr> = self.addresses().collect();
            mine.sort_unstable();
            theirs.sort_unstable();
            return mine == theirs;
        }
        ours.iter().all(|vip| {
            let in_ours = ours.iter().filter(|v| v.addr == vip.addr).count();
            let in_theirs = self.addresses().filter(|a| *a == vip.addr).count();
            in_ours == in_theirs
        })
    }
}

fn constant_time_eq(a: &[u8; 8], b: &[u8; 8]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The checksum variant `config` uses between `src` and `dst`.
pub(crate) fn checksum_for(config: &InstanceConfig, src: IpAddr, dst: IpAddr) -> Checksum {
    match config.version {
        Version::V2 => Checksum::V2,
        Version::V3 if config.v3_checksum_as_v2 && config.family == Family::V4 => Checksum::V3AsV2,
        Version::V3 => Checksum::V3 { src, dst },
    }
}

/// The pre-1.3.6 keepalived unicast checksum for a v3 IPv4 instance.
pub(crate) fn old_unicast_checksum(config: &InstanceConfig, src: IpAddr) -> Option<Checksum> {
    match (config.version, config.family, src) {
        (Version::V3, Family::V4, IpAddr::V4(src)) if !config.v3_checksum_as_v2 => {
            Some(Checksum::old_unicast(src))
        }
        _ => None,
    }
}

/// The interval as our adverts carry it (v2: rounded to whole seconds).
pub(crate) fn wire_interval(config: &InstanceConfig) -> Duration {
    let cs = interval_cs(config.advert_interval, config.version);
    Duration::from_millis(u64::from(cs) * 10)
}

/// Interval in centiseconds as carried on the wire (v2: whole seconds).
fn interval_cs(interval: Duration, version: Version) -> u16 {
    let cs = interval.as_millis() / 10;
    let cs = match version {
        // keepalived rounds a v2 advert_int to whole seconds, at least 1.
        Version::V2 => ((cs + 50) / 100).clamp(1, 255) * 100,
        Version::V3 => cs.clamp(1, 4095),
    };
    u16::try_from(cs).unwrap_or(4095)
}

fn wire_auth(config: &InstanceConfig) -> Auth {
    match (config.version, config.authentication) {
        (Version::V2, Authentication::Pass(p)) => Auth::Pass(p),
        (Version::V2, Authentication::Ah) => Auth::Ah,
        _ => Auth::None,
    }
}

/// Encode one advert from `config` with `priority`, checksummed for
/// `src` → `dst`. An address that does not fit is an engine bug caught by
/// config validation; should it still fail, the advert is sent without
/// addresses rather than not at all.
pub(crate) fn encode(config: &InstanceConfig, priority: u8, src: IpAddr, dst: IpAddr) -> Vec<u8> {
    let mut repr = AdvertRepr {
        version: config.version,
        vrid: config.vrid,
        priority,
        interval_cs: interval_cs(config.advert_interval, config.version),
        auth: wire_auth(config),
        addrs: config.vips.iter().map(|v| v.addr).collect(),
    };
    let checksum = checksum_for(config, src, dst);
    let mut buf = vec![0u8; repr.buffer_len()];
    if repr.emit(&mut buf, checksum).is_err() {
        repr.addrs.clear();
        buf = vec![0u8; repr.buffer_len()];
        // Cannot fail: no addresses, and the interval was clamped above.
        let _ = repr.emit(&mut buf, checksum);
    }
    buf
}

/// The unspecified address of `family` (used when no source is configured).
pub(crate) fn unspecified(family: Family) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}
