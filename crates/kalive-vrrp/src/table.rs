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

use crate::instance::Instance;
use crate::time::Timestamp;

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
        };
        table.sync();
        table
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
        for idx in self.touched.drain(..) {
            self.is_touched[idx] = false;
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
