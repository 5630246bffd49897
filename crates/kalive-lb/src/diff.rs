//! `diff(current, desired)`: the operations that turn one load-balancer
//! state into another. An entry that stays is never removed and re-added:
//! a new weight is an edit, a new scheduler or persistence is an edit of
//! the service (reload keeps every virtual and real server that stays,
//! reference/keepalived-behaviour.md §1.15).

use crate::config::{RsKey, VsKey};
use crate::state::{Dest, LbState, ServiceSpec};
use serde::{Deserialize, Serialize};

/// One change to a backend, in the order [`diff`] returns them: services
/// are added before their destinations, destinations removed before their
/// service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LbOp {
    AddService { vs: VsKey, spec: ServiceSpec },
    EditService { vs: VsKey, spec: ServiceSpec },
    AddDest { vs: VsKey, rs: RsKey, dest: Dest },
    EditDest { vs: VsKey, rs: RsKey, dest: Dest },
    DelDest { vs: VsKey, rs: RsKey },
    DelService { vs: VsKey },
}

/// The operations that make `current` equal to `desired`.
///
/// Order: new and edited services; then per service deletions before
/// additions (a server moving from active to sorry never holds two
/// places); then services that go away, which takes their destinations
/// with them.
pub fn diff(current: &LbState, desired: &LbState) -> Vec<LbOp> {
    let mut ops = Vec::new();
    for (vs, want) in &desired.services {
        match current.services.get(vs) {
            None => ops.push(LbOp::AddService {
                vs: vs.clone(),
                spec: want.spec.clone(),
            }),
            Some(have) if have.spec != want.spec => ops.push(LbOp::EditService {
                vs: vs.clone(),
                spec: want.spec.clone(),
            }),
            Some(_) => {}
        }
    }
    for (vs, want) in &desired.services {
        let have = current.services.get(vs);
        if let Some(have) = have {
            for rs in have.dests.keys() {
                if !want.dests.contains_key(rs) {
                    ops.push(LbOp::DelDest {
                        vs: vs.clone(),
                        rs: *rs,
                    });
                }
            }
        }
        for (rs, dest) in &want.dests {
            match have.and_then(|h| h.dests.get(rs)) {
                None => ops.push(LbOp::AddDest {
                    vs: vs.clone(),
                    rs: *rs,
                    dest: *dest,
                }),
                Some(old) if old != dest => ops.push(LbOp::EditDest {
                    vs: vs.clone(),
                    rs: *rs,
                    dest: *dest,
                }),
                Some(_) => {}
            }
        }
    }
    for vs in current.services.keys() {
        if !desired.services.contains_key(vs) {
            ops.push(LbOp::DelService { vs: vs.clone() });
        }
    }
    ops
}

/// `state` with `ops` applied: what a backend holds after carrying them out.
/// `apply(current, &diff(current, desired)) == desired` always holds.
pub fn apply(state: &LbState, ops: &[LbOp]) -> LbState {
    let mut next = state.clone();
    for op in ops {
        match op {
            LbOp::AddService { vs, spec } | LbOp::EditService { vs, spec } => {
                next.services
                    .entry(vs.clone())
                    .and_modify(|s| s.spec = spec.clone())
                    .or_insert_with(|| crate::state::Service {
                        spec: spec.clone(),
                        dests: Default::default(),
                    });
            }
            LbOp::AddDest { vs, rs, dest } | LbOp::EditDest { vs, rs, dest } => {
                if let Some(s) = next.services.get_mut(vs) {
                    s.dests.insert(*rs, *dest);
                }
            }
            LbOp::DelDest { vs, rs } => {
                if let Some(s) = next.services.get_mut(vs) {
                    s.dests.remove(rs);
                }
            }
            LbOp::DelService { vs } => {
                next.services.remove(vs);
            }
        }
    }
    next
}
