//! `cargo fuzz run lb_state` (see docs/fuzzing.md): the load balancer's
//! pure parts on fuzzer-built states. Two states (services by IP, fwmark
//! or group, any scheduler and flags, persistence, destinations with
//! weights and methods) from small pools so that they overlap:
//! - `diff(a, b)` applied to `a` gives `b`; nothing that stays is deleted
//!   and re-added;
//! - `render` (the nftables table), `NftListing::parse` (nft's JSON as
//!   `nft -j list` prints it, here fuzzer-written) and `plan` (against no
//!   table and against that listing) never panic.
#![no_main]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use kalive_lb::nft::{plan, render, NftListing};
use kalive_lb::{
    apply, diff, Dest, Family, LbOp, LbState, Member, Method, Persistence, Protocol, RsKey,
    Scheduler, SchedulerFlags, Service, ServiceSpec, Tunnel, VsKey,
};
use libfuzzer_sys::fuzz_target;

const SCHEDULERS: [Scheduler; 14] = [
    Scheduler::Rr,
    Scheduler::Wrr,
    Scheduler::Lc,
    Scheduler::Wlc,
    Scheduler::Lblc,
    Scheduler::Sh,
    Scheduler::Mh,
    Scheduler::Dh,
    Scheduler::Fo,
    Scheduler::Ovf,
    Scheduler::Lblcr,
    Scheduler::Sed,
    Scheduler::Nq,
    Scheduler::Twos,
];

fn addr(v6: bool, n: u8) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::new(
            0x2001,
            0xdb8,
            0,
            0,
            0,
            0,
            0,
            u16::from(n % 8),
        ))
    } else {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, n % 8))
    }
}

#[derive(Arbitrary, Debug)]
struct ArbService {
    kind: u8,
    v6: bool,
    n: u8,
    port: Option<u8>,
    udp: bool,
    members: Vec<(bool, u8, u8, Option<u8>)>,
    scheduler: u8,
    flags: (bool, bool, bool),
    persistence: Option<(u16, Option<u8>)>,
    dests: Vec<(u8, Option<u8>, u32, u8)>,
}

impl ArbService {
    fn build(&self) -> (VsKey, Service) {
        let family = if self.v6 { Family::V6 } else { Family::V4 };
        let protocol = if self.udp {
            Protocol::Udp
        } else {
            Protocol::Tcp
        };
        let vs = match self.kind % 3 {
            0 => VsKey::Ip {
                addr: addr(self.v6, self.n),
                port: self.port.map(|p| 80 + u16::from(p % 4)),
                protocol,
            },
            1 => VsKey::Fwmark {
                mark: u32::from(self.n % 4),
                family,
            },
            _ => VsKey::Group {
                name: format!("g{}", self.n % 3),
                protocol: Some(protocol),
                family,
            },
        };
        let members = self
            .members
            .iter()
            .take(3)
            .map(|&(fwmark, a, b, port)| {
                if fwmark {
                    Member::Fwmark(u32::from(a))
                } else {
                    Member::Addresses {
                        first: addr(self.v6, a),
                        last: addr(self.v6, b),
                        port: port.map(u16::from),
                    }
                }
            })
            .collect();
        let (hash_port, fallback, one_packet) = self.flags;
        let spec = ServiceSpec {
            members,
            family,
            protocol: Some(protocol),
            scheduler: SCHEDULERS[usize::from(self.scheduler) % SCHEDULERS.len()],
            flags: SchedulerFlags {
                hash_port,
                fallback,
                one_packet,
            },
            persistence: self.persistence.map(|(secs, prefix_len)| Persistence {
                timeout: Duration::from_secs(u64::from(secs)),
                prefix_len,
            }),
            persistence_engine: None,
        };
        let dests: BTreeMap<RsKey, Dest> = self
            .dests
            .iter()
            .take(6)
            .map(|&(n, port, weight, method)| {
                (
                    RsKey {
                        addr: addr(self.v6, n.wrapping_add(100)),
                        port: port.map(|p| 8000 + u16::from(p % 3)),
                    },
                    Dest {
                        weight,
                        method: [Method::Nat, Method::Dr, Method::Tun(Tunnel::default())]
                            [usize::from(method % 3)],
                        upper_threshold: u32::from(method / 3),
                        lower_threshold: 0,
                    },
                )
            })
            .collect();
        (vs, Service { spec, dests })
    }
}

fn state(services: &[ArbService]) -> LbState {
    LbState {
        services: services.iter().take(4).map(ArbService::build).collect(),
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    a: Vec<ArbService>,
    b: Vec<ArbService>,
    listing: String,
}

fn run(data: &[u8]) -> arbitrary::Result<()> {
    // The listing text takes the rest of the input.
    let input = Input::arbitrary_take_rest(Unstructured::new(data))?;
    let (a, b) = (state(&input.a), state(&input.b));
    let ops = diff(&a, &b);
    assert_eq!(apply(&a, &ops), b, "ops {ops:?}");
    for op in &ops {
        match op {
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
    assert!(diff(&b, &b).is_empty());
    // One rendering per input (a Maglev table is 65,537 slots): planned
    // against no table and against the fuzzer's listing.
    let table = render(&b);
    let _ = plan(&table, None);
    if let Ok(listing) = NftListing::parse(&input.listing) {
        let _ = plan(&table, Some(&listing));
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});
