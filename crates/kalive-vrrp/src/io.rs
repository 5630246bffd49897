//! Inputs the engine consumes and outputs it produces. All serde, so that a
//! run can be recorded as JSON lines and replayed as a test.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::{Family, VirtualAddress};
use crate::stats::RxDrop;

/// Index of an instance: its position in the `configs` given to
/// [`crate::Vrrp::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InstanceId(pub u32);

/// Index of a sync group: its position in the `sync_groups` given to
/// [`crate::Vrrp::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupId(pub u32);

/// VRRP state (RFC 5798 §6.4 plus keepalived's FAULT, reference §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum State {
    /// Not started (or stopped).
    Init,
    /// Backup.
    Backup,
    /// Master.
    Master,
    /// Fault: an interface or tracker is down.
    Fault,
}

impl State {
    /// keepalived's spelling in notifies and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        }
    }
}

/// The state word of a notify (reference §1.11: `notify` gets
/// `INSTANCE|GROUP NAME STATE PRIO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotifyState {
    /// `notify_master`.
    Master,
    /// `notify_backup`.
    Backup,
    /// `notify_fault`.
    Fault,
    /// `notify_stop` (shutdown).
    Stop,
    /// `notify_master_rx_lower_pri` (instance only; FIFO `MASTER_RX_LOWER_PRI`).
    MasterRxLowerPri,
    /// `notify_deleted`: the instance was removed by a reload (only with
    /// [`crate::InstanceConfig::notify_deleted`]; otherwise keepalived's
    /// FAULT is sent, reference §1.11).
    Deleted,
}

impl NotifyState {
    /// keepalived's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault => "FAULT",
            NotifyState::Stop => "STOP",
            NotifyState::MasterRxLowerPri => "MASTER_RX_LOWER_PRI",
            NotifyState::Deleted => "DELETED",
        }
    }
}

/// Whom a notify is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotifyTarget {
    /// `INSTANCE NAME`.
    Instance(InstanceId),
    /// `GROUP NAME` (priority is always 0).
    Group(GroupId),
}

/// Why a state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reason {
    /// [`Input::Start`].
    Startup,
    /// The master-down timer expired (RFC 5798 §6.4.2).
    MasterDown,
    /// An address owner starting up (RFC 5798 §6.4.1).
    Owner,
    /// A higher-priority advert (or equal with a higher address) arrived
    /// while MASTER (RFC 5798 §6.4.3).
    HigherPriority,
    /// An interface or tracker went down.
    Fault,
    /// All faults cleared.
    FaultCleared,
    /// A sync-group member moved (reference §1.7).
    SyncGroup,
    /// [`Input::Shutdown`].
    Shutdown,
    /// A control command ([`Command`]).
    Command,
    /// The instance was removed by [`crate::Vrrp::reconfigure`].
    Reload,
}

/// A received VRRP packet, as the socket owner saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedPacket {
    /// Interface it arrived on (shared: a batch of packets from one socket
    /// names it without a copy per packet).
    pub interface: Arc<str>,
    /// IP family.
    pub family: Family,
    /// IP source.
    pub src: IpAddr,
    /// IP destination.
    pub dst: IpAddr,
    /// TTL / hop limit.
    pub ttl: u8,
    /// IPv4 `tot_len` minus the IP header length (None for IPv6 or when
    /// unknown): checked against the VRRP length (reference §2 step 8).
    pub ip_payload_len: Option<u16>,
    /// The VRRP message (after the IP header; may carry Ethernet padding).
    #[serde(with = "hex_bytes")]
    pub bytes: Vec<u8>,
}

/// Control commands (optional; the daemon's control socket). Promote,
/// Demote and Clear act on the whole sync group of the instance named, so
/// that the group keeps moving as one (reference §1.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Make a MASTER step down to BACKUP (sends priority 0 first, so a
    /// backup takes over at its skew time; its sync group follows). Plain
    /// VRRP preemption still applies afterwards: if no router with a higher
    /// priority takes over, this one does again after master-down.
    ForceBackup(InstanceId),
    /// Manual switchover to this router: hold priority 254 (an address
    /// owner keeps 255) and, from BACKUP, become MASTER at once, even with
    /// `nopreempt` here or on the peer (the old master hears the higher
    /// priority and steps down, RFC 5798 §6.4.3). An instance in FAULT
    /// keeps the override and waits for its faults to clear. An address
    /// owner elsewhere (255) still wins: it re-asserts and this router steps
    /// down again, as VRRP requires.
    Promote(InstanceId),
    /// Manual switchover away from this router: hold priority 1 and, from
    /// MASTER, resign with a priority-0 advert (a backup takes over at its
    /// skew time) and go BACKUP. With priority 1 it does not take back over
    /// while another router advertises; with none left it still does
    /// (master-down), as VRRP must.
    Demote(InstanceId),
    /// Drop a Promote/Demote override: back to the configured priority
    /// with trackers applied. No transition is forced; the protocol decides
    /// (a higher backup with preempt takes over, ...).
    Clear(InstanceId),
}

/// Everything the engine reacts to besides time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Input {
    /// Start all instances (INIT → BACKUP/FAULT/MASTER). Feed the initial
    /// link and tracker states first.
    Start,
    /// A VRRP packet arrived.
    Packet(ReceivedPacket),
    /// An interface's link (and operational) state.
    Link {
        /// Interface name.
        interface: String,
        /// Up and running.
        up: bool,
    },
    /// One run of a `vrrp_script` finished (exit 0 = success; a timeout is a
    /// failure). Rise/fall counting is done by the engine.
    ScriptResult {
        /// Script name.
        name: String,
        /// Exit code 0.
        success: bool,
    },
    /// A tracked file's value changed.
    FileValue {
        /// Tracker name.
        name: String,
        /// Integer read from the file.
        value: i64,
    },
    /// A tracked process (after quorum) went up or down.
    Process {
        /// Tracker name.
        name: String,
        /// Quorum met.
        up: bool,
    },
    /// Stop: every MASTER sends priority 0 and removes its addresses.
    Shutdown,
    /// A control command.
    Command(Command),
}

/// Everything the engine asks the outside world to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Output {
    /// Send one VRRP message (bytes after the IP header; the IP header uses
    /// TOS 0xc0, TTL 255, protocol 112).
    SendAdvert {
        /// Sender.
        instance: InstanceId,
        /// Interface to send on.
        interface: String,
        /// Family.
        family: Family,
        /// Source address (None = interface primary).
        src: Option<IpAddr>,
        /// Multicast group or one unicast peer.
        dst: IpAddr,
        /// Priority in the message (0 when resigning).
        priority: u8,
        /// The VRRP message.
        #[serde(with = "hex_bytes")]
        bytes: Vec<u8>,
    },
    /// Send one gratuitous ARP for `addr`.
    SendGarp {
        /// Owner.
        instance: InstanceId,
        /// Interface.
        interface: String,
        /// Address announced.
        addr: Ipv4Addr,
    },
    /// Send one unsolicited neighbour advertisement for `addr`.
    SendNa {
        /// Owner.
        instance: InstanceId,
        /// Interface.
        interface: String,
        /// Address announced.
        addr: Ipv6Addr,
    },
    /// Install addresses (VIPs or excluded VIPs).
    AddAddresses {
        /// Owner.
        instance: InstanceId,
        /// `virtual_ipaddress_excluded` rather than `virtual_ipaddress`.
        excluded: bool,
        /// Addresses.
        addresses: Vec<VirtualAddress>,
    },
    /// Remove addresses.
    RemoveAddresses {
        /// Owner.
        instance: InstanceId,
        /// `virtual_ipaddress_excluded` rather than `virtual_ipaddress`.
        excluded: bool,
        /// Addresses.
        addresses: Vec<VirtualAddress>,
    },
    /// Install `virtual_routes` (daemon handles).
    AddRoutes {
        /// Owner.
        instance: InstanceId,
        /// Handles.
        routes: Vec<u32>,
    },
    /// Remove `virtual_routes`.
    RemoveRoutes {
        /// Owner.
        instance: InstanceId,
        /// Handles.
        routes: Vec<u32>,
    },
    /// Install `virtual_rules`.
    AddRules {
        /// Owner.
        instance: InstanceId,
        /// Handles.
        rules: Vec<u32>,
    },
    /// Remove `virtual_rules`.
    RemoveRules {
        /// Owner.
        instance: InstanceId,
        /// Handles.
        rules: Vec<u32>,
    },
    /// Run notify scripts / FIFO lines: `notify` gets
    /// `INSTANCE|GROUP name STATE priority`.
    Notify {
        /// Instance or group.
        target: NotifyTarget,
        /// Instance or group name.
        name: String,
        /// State word.
        state: NotifyState,
        /// Effective priority (0 for groups).
        priority: u8,
    },
    /// A state transition, for logs and metrics.
    StateChanged {
        /// Instance.
        instance: InstanceId,
        /// Old state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: Reason,
    },
    /// A received packet was not processed (keepalived logs these, e.g.
    /// "(VI_1) received an invalid passwd!"). Coalesced: at most one per
    /// instance and reason between two emptyings of the output queue
    /// ([`crate::Vrrp::poll_output`] returning `None`, or
    /// [`crate::Vrrp::drain_outputs`]); every packet is counted in
    /// [`crate::Stats`] (unknown VRIDs in
    /// [`crate::Vrrp::unknown_vrid_count`]). Rate-limiting the log is the
    /// daemon's job.
    PacketDropped {
        /// The instance it was for; `None` for an unknown VRID.
        instance: Option<InstanceId>,
        /// IP source of the (first) packet.
        src: IpAddr,
        /// Why.
        reason: RxDrop,
    },
    /// The effective priority changed (trackers or a command).
    PriorityChanged {
        /// Instance.
        instance: InstanceId,
        /// Previous effective priority.
        from: u8,
        /// New effective priority.
        to: u8,
    },
}

/// Serde helper: bytes as a lowercase hex string (readable JSON lines).
pub(crate) mod hex_bytes {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        if text.len() % 2 != 0 {
            return Err(D::Error::custom("odd hex length"));
        }
        (0..text.len())
            .step_by(2)
            .map(|i| {
                text.get(i..i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or_else(|| D::Error::custom("bad hex digit"))
            })
            .collect()
    }
}
