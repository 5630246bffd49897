//! Per-instance counters (keepalived's `vrrp_stats`, reference §1.3 USR2 dump,
//! plus one counter per receive-validation reason, reference §2).

use serde::{Deserialize, Serialize};

/// Why a received packet was not processed, in keepalived's check order
/// (reference §2 "Receive validation order"). One counter each in [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RxDrop {
    /// Step 2: truncated, or longer than the header says (beyond padding).
    Length,
    /// Step 3: TTL/hop limit not 255 on multicast.
    Ttl,
    /// Step 4: version not the configured one.
    Version,
    /// Step 6: unknown auth type (not 0, 1, 2).
    InvalidAuthType,
    /// Step 6: auth type differs from ours.
    AuthTypeMismatch,
    /// Step 6: PASS password differs.
    AuthFailure,
    /// Step 6: v2 advert interval differs from ours (dropped silently).
    Interval,
    /// Step 7: type is not ADVERTISEMENT.
    Type,
    /// Step 8: IPv4 tot_len disagrees with the VRRP length.
    IpLength,
    /// Step 10: checksum.
    Checksum,
    /// Step 11: multicast packet on a unicast instance or vice versa.
    Destination,
    /// Step 12: `owner_ignore_adverts`.
    OwnerIgnore,
    /// Step 13: the advert's address list differs from ours and it is not
    /// from an address owner (RFC 3768 §7.1 / RFC 5798 §7.1; keepalived
    /// 2.2.7 "not present in MASTER advert").
    AddressList,
    /// Step 14: unicast source is not a configured peer.
    UnicastSource,
    /// Step 14: unicast TTL outside the peer's [min_ttl, max_ttl].
    UnicastTtl,
    /// Malformed in another way (e.g. address count beyond the packet).
    Malformed,
    /// No instance has this VRID on that interface and family (keepalived
    /// logs it with `log_unknown_vrids`). Not an instance's counter: see
    /// [`crate::Vrrp::unknown_vrid_count`].
    UnknownVrid,
}

/// Counters for one instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Adverts that passed validation.
    pub advert_rcvd: u64,
    /// Adverts sent (each unicast copy counts).
    pub advert_sent: u64,
    /// Transitions to MASTER.
    pub become_master: u64,
    /// Transitions out of MASTER.
    pub release_master: u64,
    /// Priority-0 adverts received.
    pub pri_zero_rcvd: u64,
    /// Priority-0 adverts sent.
    pub pri_zero_sent: u64,
    /// Step 13: adverts whose address list differs from ours (dropped,
    /// except from an address owner, which is counted and processed).
    pub addr_list_err: u64,
    /// v3 adverts with a different interval (logged, not dropped).
    pub interval_mismatch_v3: u64,
    /// Step 2.
    pub packet_len_err: u64,
    /// Step 3.
    pub ip_ttl_err: u64,
    /// Step 4.
    pub version_err: u64,
    /// Step 6.
    pub invalid_authtype: u64,
    /// Step 6.
    pub authtype_mismatch: u64,
    /// Step 6.
    pub auth_failure: u64,
    /// Step 6 (v2).
    pub advert_interval_err: u64,
    /// Step 7.
    pub invalid_type_rcvd: u64,
    /// Step 8.
    pub ip_len_err: u64,
    /// Step 10.
    pub checksum_err: u64,
    /// Step 11.
    pub dst_mismatch: u64,
    /// Step 12.
    pub owner_ignored: u64,
    /// Step 14.
    pub unicast_src_err: u64,
    /// Step 14.
    pub unicast_ttl_err: u64,
    /// Other decode failures.
    pub malformed: u64,
}

impl Stats {
    /// Count one dropped packet.
    pub fn count_drop(&mut self, why: RxDrop) {
        let counter = match why {
            RxDrop::Length => &mut self.packet_len_err,
            RxDrop::Ttl => &mut self.ip_ttl_err,
            RxDrop::Version => &mut self.version_err,
            RxDrop::InvalidAuthType => &mut self.invalid_authtype,
            RxDrop::AuthTypeMismatch => &mut self.authtype_mismatch,
            RxDrop::AuthFailure => &mut self.auth_failure,
            RxDrop::Interval => &mut self.advert_interval_err,
            RxDrop::Type => &mut self.invalid_type_rcvd,
            RxDrop::IpLength => &mut self.ip_len_err,
            RxDrop::Checksum => &mut self.checksum_err,
            RxDrop::Destination => &mut self.dst_mismatch,
            RxDrop::OwnerIgnore => &mut self.owner_ignored,
            RxDrop::UnicastSource => &mut self.unicast_src_err,
            RxDrop::UnicastTtl => &mut self.unicast_ttl_err,
            RxDrop::Malformed => &mut self.malformed,
            RxDrop::AddressList => &mut self.addr_list_err,
            RxDrop::UnknownVrid => return,
        };
        *counter += 1;
    }

    /// The counter for one drop reason.
    pub fn drops(&self, why: RxDrop) -> u64 {
        match why {
            RxDrop::Length => self.packet_len_err,
            RxDrop::Ttl => self.ip_ttl_err,
            RxDrop::Version => self.version_err,
            RxDrop::InvalidAuthType => self.invalid_authtype,
            RxDrop::AuthTypeMismatch => self.authtype_mismatch,
            RxDrop::AuthFailure => self.auth_failure,
            RxDrop::Interval => self.advert_interval_err,
            RxDrop::Type => self.invalid_type_rcvd,
            RxDrop::IpLength => self.ip_len_err,
            RxDrop::Checksum => self.checksum_err,
            RxDrop::Destination => self.dst_mismatch,
            RxDrop::OwnerIgnore => self.owner_ignored,
            RxDrop::UnicastSource => self.unicast_src_err,
            RxDrop::UnicastTtl => self.unicast_ttl_err,
            RxDrop::Malformed => self.malformed,
            RxDrop::AddressList => self.addr_list_err,
            RxDrop::UnknownVrid => 0,
        }
    }

    /// Sum of all drop counters.
    pub fn total_drops(&self) -> u64 {
        self.packet_len_err
            + self.ip_ttl_err
            + self.version_err
            + self.invalid_authtype
            + self.authtype_mismatch
            + self.auth_failure
            + self.advert_interval_err
            + self.invalid_type_rcvd
            + self.ip_len_err
            + self.checksum_err
            + self.dst_mismatch
            + self.owner_ignored
            + self.unicast_src_err
            + self.unicast_ttl_err
            + self.malformed
            + self.addr_list_err
    }
}
