//! The crate's error type: configuration the engine cannot run.

/// Why [`crate::Vrrp::new`] refused a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Two instances share a name.
    #[error("duplicate vrrp_instance name {0}")]
    DuplicateInstance(String),
    /// VRID 0 is not valid (RFC 5798 §5.2.3).
    #[error("instance {0}: virtual_router_id must be 1..255")]
    BadVrid(String),
    /// Priority 0 is reserved for resigning (RFC 5798 §5.2.4).
    #[error("instance {0}: priority must be 1..255")]
    BadPriority(String),
    /// IPv6 needs VRRPv3 (reference §1.10).
    #[error("instance {0}: IPv6 requires VRRP version 3")]
    V2OverIpv6(String),
    /// advert_int out of range (v2 1..255 s, v3 10 ms..40.95 s).
    #[error("instance {0}: advert_int out of range")]
    BadInterval(String),
    /// A VIP of the other family, or more than 255 VIPs.
    #[error(
        "instance {0}: virtual_ipaddress must be at most 255 addresses of the instance family"
    )]
    BadVips(String),
    /// down_timer_adverts outside 1..100.
    #[error("instance {0}: down_timer_adverts must be 1..100")]
    BadDownTimerAdverts(String),
    /// A sync group names an unknown instance.
    #[error("sync group {group}: unknown instance {instance}")]
    UnknownMember {
        /// Group.
        group: String,
        /// Missing instance.
        instance: String,
    },
    /// An instance is in two sync groups (reference §1.7).
    #[error("instance {0} is in more than one sync group")]
    InTwoGroups(String),
}
