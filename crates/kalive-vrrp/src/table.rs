//! The engine's instances, with an index of each one's earliest timer.
//!
//! Without the index, [`crate::Vrrp::poll_timeout`] scanned every instance
//! after every input: with 200 instances at 0.1 s a backup receives 2,000
//! adverts a second, and those scans were half of its CPU time (perf). Here
//! a mutable borrow of an instance marks it; [`InstanceTable::sync`]
//! re-indexes the marked ones only. There is no `IndexMut`, so the compiler
//! makes every change of an instance go through the marking borrow.

use std::collections::BTreeSet;
use std::ops::Index;
use std::time::Duration;

use crate::instance::Instance;
use crate::io::State;
use crate::time::Timestamp;

/// What an instance's share of the receive slack depends on.
type SlackKey = (State, u8, Duration);

fn slack_key(instance: &Instance) -> SlackKey {
    (
        instance.state,
        instance.priority(),
        instance.master_adver_interval,
    )
}

#[derive(Debug, Clone)]
pub(crate) struct InstanceTable {
    list: Vec<Instance>,
    /// Instances borrowed mutably since the last [`InstanceTable::sync`].
    touched: Vec<usize>,
    is_touched: Vec<bool>,
    /// Each instance's key in `queue` as of the last sync.
    indexed: Vec<Option<Timestamp>>,
    /// (earliest timer, instance): ordered as the engine fires them, by
    /// time, then by instance order.
    queue: BTreeSet<(Timestamp, usize)>,
    /// Each instance's [`SlackKey`] as of the last sync.
    slack_keys: Vec<Option<SlackKey>>,
    /// [`receive_slack`] of all instances as of the last sync: recomputed
    /// only when a state, priority or learned interval changed, not for
    /// every received advert (a scan per batch was 5% of a 200-instance
    /// backup's user time).
    slack: Duration,
}

impl InstanceTable {
    pub(crate) fn new(list: Vec<Instance>) -> InstanceTable {
        let count = list.len();
        let mut table = InstanceTable {
            list,
            touched: (0..count).collect(),
            is_touched: vec![true; count],
            indexed: vec![None; count],
            queue: BTreeSet::new(),
            slack_keys: vec![None; count],
            slack: Duration::ZERO,
        };
        table.sync();
        table
    }

    /// The instances, giving up the index.
    pub(crate) fn into_list(self) -> Vec<Instance> {
        self.list
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    pub(crate) fn iter(&self) -> std::slice::Iter<'_, Instance> {
        self.list.iter()
    }

    pub(crate) fn get(&self, idx: usize) -> Option<&Instance> {
        self.list.get(idx)
    }

    /// A mutable borrow that marks the instance for re-indexing.
    pub(crate) fn get_mut(&mut self, idx: usize) -> Option<&mut Instance> {
        let instance = self.list.get_mut(idx)?;
        if !self.is_touched[idx] {
            self.is_touched[idx] = true;
            self.touched.push(idx);
        }
        Some(instance)
    }

    /// Like `get_mut`, for an index the engine knows is valid (it panics
    /// otherwise, as slice indexing does).
    pub(crate) fn at_mut(&mut self, idx: usize) -> &mut Instance {
        if !self.is_touched[idx] {
            self.is_touched[idx] = true;
            self.touched.push(idx);
        }
        &mut self.list[idx]
    }

    /// Re-index the instances changed since the last call.
    pub(crate) fn sync(&mut self) {
        let mut slack_changed = false;
        for idx in self.touched.drain(..) {
            self.is_touched[idx] = false;
            let key = Some(slack_key(&self.list[idx]));
            if key != self.slack_keys[idx] {
                self.slack_keys[idx] = key;
                slack_changed = true;
            }
            let next = self.list[idx].next_timer().map(|(at, _)| at);
            if next == self.indexed[idx] {
                continue;
            }
            if let Some(old) = self.indexed[idx] {
                self.queue.remove(&(old, idx));
            }
            if let Some(new) = next {
                self.queue.insert((new, idx));
            }
            self.indexed[idx] = next;
        }
        if slack_changed {
            self.slack = receive_slack(&self.list);
        }
    }

    /// [`receive_slack`] of all instances. Only exact after
    /// [`InstanceTable::sync`].
    pub(crate) fn receive_slack(&self) -> Duration {
        debug_assert!(self.touched.is_empty(), "receive slack read before sync");
        // Debug builds (every test) check the cache against a full scan.
        debug_assert_eq!(self.slack, receive_slack(&self.list), "slack out of date");
        self.slack
    }

    /// The earliest timer of all instances and whose it is. Only exact after
    /// [`InstanceTable::sync`].
    pub(crate) fn earliest(&self) -> Option<(Timestamp, usize)> {
        debug_assert!(self.touched.is_empty(), "timer index read before sync");
        let earliest = self.queue.first().copied();
        // Debug builds (every test) check the index against a full scan.
        debug_assert_eq!(earliest, self.scan(), "timer index out of date");
        earliest
    }

    /// The earliest timer found by looking at every instance.
    fn scan(&self) -> Option<(Timestamp, usize)> {
        self.list
            .iter()
            .enumerate()
            .filter_map(|(idx, i)| i.next_timer().map(|(at, _)| (at, idx)))
            .min()
    }
}

impl Index<usize> for InstanceTable {
    type Output = Instance;

    fn index(&self, idx: usize) -> &Instance {
        &self.list[idx]
    }
}

/// Upper bound of [`receive_slack`]: also bounds how long a backup's
/// statistics and master address lag behind the wire.
pub(crate) const MAX_RECEIVE_SLACK: Duration = Duration::from_millis(20);

/// How long a caller may leave received adverts queued (each stamped with
/// its arrival time, fed in arrival order, and all fed before a due timer
/// is handled) without changing what the engine does or when. A caller
/// that reads in batches wakes up less often.
///
/// - A master must hear a better master at once: it steps down on that
///   advert (RFC 5798 §6.4.3), so any master makes the slack zero.
/// - A backup's only urgent advert has priority 0: Master_Down becomes
///   Skew_Time from its arrival (RFC 5798 §6.4.2). Half the skew leaves
///   room to read it before that deadline. Every other advert only
///   restarts the master-down timer from its arrival.
/// - INIT and FAULT ignore adverts.
/// - Zero too when fewer than two adverts are expected within the slack
///   (one per Master_Adver_Interval per backup): waiting would cost a
///   wake-up and batch nothing.
///
/// At most [`MAX_RECEIVE_SLACK`].
fn receive_slack(instances: &[Instance]) -> Duration {
    let mut slack = MAX_RECEIVE_SLACK;
    let mut adverts_per_second = 0.0;
    for instance in instances {
        match instance.state {
            State::Master => return Duration::ZERO,
            State::Backup => {
                slack = slack.min(instance.skew() / 2);
                let interval = instance.master_adver_interval.as_secs_f64();
                if interval > 0.0 {
                    adverts_per_second += 1.0 / interval;
                }
            }
            State::Init | State::Fault => {}
        }
    }
    if slack.as_secs_f64() * adverts_per_second < 2.0 {
        return Duration::ZERO;
    }
    slack
}
