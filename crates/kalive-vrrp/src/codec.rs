//! The only place that touches `kalive-wire`: decoding a received message
//! into the engine's terms and encoding our adverts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use kalive_wire::{AdvertRepr, Auth, Checksum, Error as WireError};

use crate::config::{Authentication, Family, InstanceConfig, Version};
use crate::stats::RxDrop;

/// Minimum Ethernet payload: shorter IP packets arrive padded (reference §2
/// step 2 tolerates this padding).
const MIN_ETHERNET_PAYLOAD: usize = 46;
const IPV4_HEADER_LEN: usize = 20;

/// A decoded, checksum-verified advert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Advert {
    pub version: Version,
    pub priority: u8,
    pub interval: Duration,
    pub auth: Auth,
    pub addrs: Vec<IpAddr>,
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
        // Too short for a header or an unknown version: let the parser say.
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

fn drop_reason(error: WireError) -> RxDrop {
    match error {
        WireError::Truncated | WireError::BadLength { .. } => RxDrop::Length,
        WireError::BadVersion(_) => RxDrop::Version,
        WireError::BadAuthType(_) => RxDrop::InvalidAuthType,
        WireError::BadType(_) => RxDrop::Type,
        WireError::BadChecksum => RxDrop::Checksum,
        WireError::BadTtl(_) => RxDrop::Ttl,
        WireError::AuthMismatch => RxDrop::AuthFailure,
        WireError::BadInterval => RxDrop::Interval,
        _ => RxDrop::Malformed,
    }
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

/// Decode `bytes`; `Err` carries the counter to bump. Length is judged
/// first (step 2), then the caller checks the TTL before the rest is
/// reported (steps 4–10), hence the two-level result.
pub(crate) fn decode(
    bytes: &[u8],
    family: Family,
    checksum: Checksum,
) -> Result<Result<Advert, RxDrop>, RxDrop> {
    let message = trim_padding(bytes, family)?;
    match AdvertRepr::parse(message, family, checksum) {
        Ok(repr) => Ok(Ok(Advert {
            version: repr.version,
            priority: repr.priority,
            interval: Duration::from_millis(u64::from(repr.interval_cs) * 10),
            auth: repr.auth,
            addrs: repr.addrs,
        })),
        Err(e) => match drop_reason(e) {
            RxDrop::Length => Err(RxDrop::Length),
            other => Ok(Err(other)),
        },
    }
}

/// The length of the message we expect for `message` (for the IPv4
/// `tot_len` check, step 8).
pub(crate) fn message_len(bytes: &[u8], family: Family) -> Option<usize> {
    announced_len(bytes, family)
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
