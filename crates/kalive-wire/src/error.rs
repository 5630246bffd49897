use serde::{Deserialize, Serialize};

/// Every way a buffer can fail to parse or emit.
///
/// Parse errors are precise enough to drive keepalived's per-instance counters
/// (reference §1.3 USR2 stats, §2 "Receive validation order"): packet length,
/// TTL, version, type, checksum, auth type, auth mismatch, interval, address
/// list. `BadTtl`, `AuthMismatch` and `BadInterval` on receive depend on the
/// instance configuration, so this crate never returns them from `parse`; they
/// are here so the engine reports every reason through one type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
pub enum Error {
    /// Shorter than the fixed header of the layer being parsed.
    #[error("packet truncated")]
    Truncated,
    /// The length does not match what the header announces.
    #[error("bad length: expected {expected} bytes, got {actual}")]
    BadLength { expected: usize, actual: usize },
    /// IP TTL / hop limit is not acceptable (engine-side check, reference §2 step 3).
    #[error("bad TTL {0}")]
    BadTtl(u8),
    /// VRRP version other than 2 or 3 (or v2 over IPv6).
    #[error("bad VRRP version {0}")]
    BadVersion(u8),
    /// VRRP type other than 1 (ADVERTISEMENT).
    #[error("bad VRRP type {0}")]
    BadType(u8),
    /// The checksum does not verify.
    #[error("bad checksum")]
    BadChecksum,
    /// VRRPv2 auth type other than 0, 1, 2 (or an auth type on a v3 advert on emit).
    #[error("bad auth type {0}")]
    BadAuthType(u8),
    /// Authentication data does not match (engine-side check).
    #[error("authentication mismatch")]
    AuthMismatch,
    /// Address list impossible to encode: more than 255 addresses, or mixed
    /// or wrong address families.
    #[error("bad address count {count} for the address family")]
    BadAddressCount { count: usize },
    /// Advert interval not encodable (v2: whole seconds 1..=255; v3: 12 bits),
    /// or different from the configured one (engine-side check).
    #[error("bad advert interval")]
    BadInterval,
    /// IPv4/IPv6 header field we cannot handle (version, header length, protocol).
    #[error("malformed IP header")]
    BadIpHeader,
    /// An ethertype, ARP hardware/protocol type, ICMPv6 type or NDP option we
    /// do not handle.
    #[error("unsupported packet")]
    Unsupported,
    /// Emit target too short.
    #[error("buffer too small: need {needed} bytes, have {available}")]
    BufferTooSmall { needed: usize, available: usize },
}
