//! `diff(current, desired)`: applying its operations gives `desired`, and an
//! entry that stays is edited, never removed and re-added.

use kalive_lb::{
    apply, diff, Dest, Family, LbOp, LbState, Member, Method, Persistence, Protocol, RsKey,
    Scheduler, SchedulerFlags, Service, ServiceSpec, VsKey,
};
use std::collections::BTreeMap;
use std::time::Duration;

fn vs(port: u16) -> VsKey {
    VsKey::Ip {
        addr: "10.0.0.1".parse().expect("addr"),
        port: Some(port),
        protocol: Protocol::Tcp,
    }
}

fn rs(i: u8) -> RsKey {
    RsKey {
        addr: format!("10.1.0.{i}").parse().expect("addr"),
        port: Some(80),
    }
}

fn spec(scheduler: Scheduler, persistent: bool) -> ServiceSpec {
    ServiceSpec {
        members: vec![Member::Fwmark(1)],
        family: Family::V4,
        protocol: Some(Protocol::Tcp),
        scheduler,
        flags: SchedulerFlags::default(),
        persistence: persistent.then_some(Persistence {
            timeout: Duration::from_secs(300),
            prefix_len: None,
        }),
        persistence_engine: None,
    }
}

/// (port, scheduler, [(server, weight)]) per service.
type Spec<'a> = (u16, Scheduler, &'a [(u8, u32)]);

fn state(services: &[Spec]) -> LbState {
    let mut s = LbState::default();
    for (port, scheduler, dests) in services {
        let dests: BTreeMap<RsKey, Dest> = dests
            .iter()
            .map(|(i, w)| {
                (
                    rs(*i),
                    Dest {
                        weight: *w,
                        method: Method::Nat,
                        upper_threshold: 0,
                        lower_threshold: 0,
                    },
                )
            })
            .collect();
        s.services.insert(
            vs(*port),
            Service {
                spec: spec(*scheduler, false),
                dests,
            },
        );
    }
    s
}

#[test]
fn a_weight_change_is_an_edit() {
    let a = state(&[(80, Scheduler::Wrr, &[(1, 1), (2, 1)])]);
    let b = state(&[(80, Scheduler::Wrr, &[(1, 1), (2, 0)])]);
    assert_eq!(
        diff(&a, &b),
        vec![LbOp::EditDest {
            vs: vs(80),
            rs: rs(2),
            dest: Dest {
                weight: 0,
                method: Method::Nat,
                upper_threshold: 0,
                lower_threshold: 0,
            }
        }]
    );
    assert!(diff(&a, &a).is_empty());
}

#[test]
fn a_scheduler_change_edits_the_service_and_keeps_its_servers() {
    let a = state(&[(80, Scheduler::Wrr, &[(1, 1)])]);
    let b = state(&[(80, Scheduler::Sh, &[(1, 1)])]);
    assert_eq!(
        diff(&a, &b),
        vec![LbOp::EditService {
            vs: vs(80),
            spec: spec(Scheduler::Sh, false)
        }]
    );
}

#[test]
fn services_come_before_their_servers_and_go_after_them() {
    let a = state(&[(80, Scheduler::Rr, &[(1, 1)])]);
    let b = state(&[(81, Scheduler::Rr, &[(2, 1)])]);
    let ops = diff(&a, &b);
    assert!(
        matches!(ops.first(), Some(LbOp::AddService { .. })),
        "{ops:?}"
    );
    assert!(matches!(ops.get(1), Some(LbOp::AddDest { .. })), "{ops:?}");
    assert_eq!(ops.last(), Some(&LbOp::DelService { vs: vs(80) }));
    assert_eq!(apply(&a, &ops), b);
}

/// xorshift: enough randomness for exploring states, reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn random_state(rng: &mut Rng) -> LbState {
    let mut s = LbState::default();
    for port in 80..84 {
        if rng.next(3) == 0 {
            continue;
        }
        let mut dests = BTreeMap::new();
        for i in 1..6 {
            if rng.next(2) == 0 {
                dests.insert(
                    rs(i),
                    Dest {
                        weight: rng.next(3) as u32,
                        method: Method::Nat,
                        upper_threshold: 0,
                        lower_threshold: 0,
                    },
                );
            }
        }
        let scheduler = [Scheduler::Rr, Scheduler::Wrr, Scheduler::Sh][rng.next(3) as usize];
        s.services.insert(
            vs(port),
            Service {
                spec: spec(scheduler, rng.next(2) == 0),
                dests,
            },
        );
    }
    s
}

#[test]
fn random_states_reach_the_target_without_churn() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..2000 {
        let a = random_state(&mut rng);
        let b = random_state(&mut rng);
        let ops = diff(&a, &b);
        assert_eq!(apply(&a, &ops), b, "ops {ops:?}");
        for op in &ops {
            match op {
                // Something deleted must really be gone from the target.
                LbOp::DelDest { vs, rs } => {
                    assert!(!b.services.get(vs).is_some_and(|s| s.dests.contains_key(rs)))
                }
                LbOp::DelService { vs } => assert!(!b.services.contains_key(vs)),
                LbOp::AddDest { vs, rs, .. } => {
                    assert!(!a.services.get(vs).is_some_and(|s| s.dests.contains_key(rs)))
                }
                LbOp::AddService { vs, .. } => assert!(!a.services.contains_key(vs)),
                LbOp::EditDest { .. } | LbOp::EditService { .. } => {}
            }
        }
    }
}
