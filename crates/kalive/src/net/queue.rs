//! The queues between the actors and the netlink owner, with their bounds
//! and policies (issue 11 item 8: a flood of adverts once queued GARPs
//! without bound, and a VIP removal waited 202 s behind them).
//!
//! - **Changes** (addresses, routes, rules) are never dropped. They are
//!   coalesced by what they change: a second request for the same address,
//!   route or rule replaces the first (the latest intent wins) and moves to
//!   the back, so the queue never holds more entries than the config has
//!   resources. Changes always go before frames.
//! - **Frames** (gratuitous ARP, unsolicited NA) are coalesced by
//!   (interface, address): a frame for an address already waiting is
//!   redundant. Past [`MAX_FRAMES`] the oldest is dropped and counted.
//!
//! Pure data structure; the owner thread (`owner.rs`) pops from it.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

use kalive_sys::{AddressSpec, Route, Rule};
use tokio::sync::oneshot;

/// At most this many frames wait; beyond, the oldest is dropped. A master
/// with 200 instances of 20 VIPs each queues 4,000 frames per burst.
pub const MAX_FRAMES: usize = 8192;

/// One netlink change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    AddAddress(AddressSpec),
    DelAddress(AddressSpec),
    AddRoute(Route),
    DelRoute(Route),
    AddRule(Rule),
    DelRule(Rule),
}

impl Change {
    /// Whether `self` and `other` change the same kernel object (so the
    /// later one makes the earlier one moot).
    fn same_object(&self, other: &Change) -> bool {
        use Change::*;
        match (self, other) {
            (AddAddress(a) | DelAddress(a), AddAddress(b) | DelAddress(b)) => {
                a.ifindex == b.ifindex && a.addr == b.addr && a.prefix_len == b.prefix_len
            }
            (AddRoute(a) | DelRoute(a), AddRoute(b) | DelRoute(b)) => a == b,
            (AddRule(a) | DelRule(a), AddRule(b) | DelRule(b)) => a == b,
            _ => false,
        }
    }

    /// For log lines.
    pub fn describe(&self) -> String {
        match self {
            Change::AddAddress(a) => format!("adding {}/{}", a.addr, a.prefix_len),
            Change::DelAddress(a) => format!("removing {}/{}", a.addr, a.prefix_len),
            Change::AddRoute(r) => format!("adding route {}/{}", r.dst, r.dst_len),
            Change::DelRoute(r) => format!("removing route {}/{}", r.dst, r.dst_len),
            Change::AddRule(_) => "adding rule".into(),
            Change::DelRule(_) => "removing rule".into(),
        }
    }
}

/// One gratuitous ARP or unsolicited NA.
#[derive(Debug)]
pub struct Frame {
    pub ifindex: u32,
    /// The address announced (the coalescing key with `ifindex`).
    pub addr: IpAddr,
    pub bytes: Vec<u8>,
    /// `vrrp_garp_interval` / `vrrp_gna_interval`: quiet time after it.
    pub gap: Duration,
}

/// Entries of the change queue: a change, or a barrier that is answered
/// once every change queued before it has been carried out.
#[derive(Debug)]
pub enum Entry {
    Change(Change),
    Barrier(oneshot::Sender<()>),
}

/// What the queues did, for status and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct NetCounters {
    pub changes_done: u64,
    pub changes_failed: u64,
    /// Changes replaced by a later change of the same object.
    pub changes_coalesced: u64,
    pub frames_sent: u64,
    /// Frames not queued because the same frame was already waiting.
    pub frames_coalesced: u64,
    /// Frames dropped (oldest first) because the queue was full.
    pub frames_dropped: u64,
    pub changes_high_water: usize,
    pub frames_high_water: usize,
}

/// The two queues.
#[derive(Debug, Default)]
pub struct Queues {
    changes: VecDeque<Entry>,
    frames: VecDeque<Frame>,
    pub counters: NetCounters,
}

impl Queues {
    /// Queue a change; an earlier change of the same object still waiting
    /// is withdrawn (the latest intent wins, in the latest position).
    pub fn push_change(&mut self, change: Change) {
        let before = self.changes.len();
        self.changes
            .retain(|e| !matches!(e, Entry::Change(c) if c.same_object(&change)));
        self.counters.changes_coalesced += (before - self.changes.len()) as u64;
        self.changes.push_back(Entry::Change(change));
        self.counters.changes_high_water = self.counters.changes_high_water.max(self.changes.len());
    }

    /// Queue a barrier behind every change queued so far.
    pub fn push_barrier(&mut self, done: oneshot::Sender<()>) {
        self.changes.push_back(Entry::Barrier(done));
    }

    /// Queue a frame unless the same one is waiting; drop the oldest when
    /// full.
    pub fn push_frame(&mut self, frame: Frame) {
        if self
            .frames
            .iter()
            .any(|f| f.ifindex == frame.ifindex && f.addr == frame.addr)
        {
            self.counters.frames_coalesced += 1;
            return;
        }
        if self.frames.len() >= MAX_FRAMES {
            self.frames.pop_front();
            self.counters.frames_dropped += 1;
        }
        self.frames.push_back(frame);
        self.counters.frames_high_water = self.counters.frames_high_water.max(self.frames.len());
    }

    /// The next change or barrier: changes never wait behind frames.
    pub fn pop_change(&mut self) -> Option<Entry> {
        self.changes.pop_front()
    }

    pub fn pop_frame(&mut self) -> Option<Frame> {
        self.frames.pop_front()
    }

    pub fn has_frames(&self) -> bool {
        !self.frames.is_empty()
    }

    /// Frames waiting are dropped (stop: nothing more is announced).
    pub fn clear_frames(&mut self) {
        self.frames.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn addr(last: u8) -> AddressSpec {
        AddressSpec::new(3, IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)), 32)
    }

    fn frame(last: u8) -> Frame {
        Frame {
            ifindex: 3,
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)),
            bytes: vec![0; 42],
            gap: Duration::ZERO,
        }
    }

    fn next_change(q: &mut Queues) -> Option<Change> {
        match q.pop_change()? {
            Entry::Change(c) => Some(c),
            Entry::Barrier(_) => None,
        }
    }

    #[test]
    fn latest_change_of_an_address_wins_and_the_queue_stays_bounded() {
        let mut q = Queues::default();
        for _ in 0..10_000 {
            q.push_change(Change::AddAddress(addr(1)));
            q.push_change(Change::DelAddress(addr(1)));
        }
        q.push_change(Change::AddAddress(addr(2)));
        assert_eq!(q.counters.changes_high_water, 2);
        assert_eq!(next_change(&mut q), Some(Change::DelAddress(addr(1))));
        assert_eq!(next_change(&mut q), Some(Change::AddAddress(addr(2))));
        assert!(q.pop_change().is_none());
        assert_eq!(q.counters.changes_coalesced, 19_999);
    }

    #[test]
    fn a_flood_of_frames_is_coalesced_and_bounded() {
        let mut q = Queues::default();
        for _ in 0..100_000 {
            for last in 0..20 {
                q.push_frame(frame(last));
            }
        }
        assert_eq!(q.counters.frames_high_water, 20);
        assert_eq!(q.counters.frames_coalesced, 100_000 * 20 - 20);
        let mut q = Queues::default();
        for i in 0..(MAX_FRAMES as u32 + 10) {
            let mut f = frame(0);
            f.ifindex = i;
            q.push_frame(f);
        }
        assert_eq!(q.counters.frames_dropped, 10);
        assert_eq!(q.pop_frame().map(|f| f.ifindex), Some(10), "oldest dropped");
    }

    #[test]
    fn barrier_follows_the_changes_before_it() {
        let mut q = Queues::default();
        let (tx, _rx) = oneshot::channel();
        q.push_change(Change::AddAddress(addr(1)));
        q.push_barrier(tx);
        q.push_change(Change::AddAddress(addr(2)));
        assert!(matches!(q.pop_change(), Some(Entry::Change(_))));
        assert!(matches!(q.pop_change(), Some(Entry::Barrier(_))));
        assert!(matches!(q.pop_change(), Some(Entry::Change(_))));
    }
}
