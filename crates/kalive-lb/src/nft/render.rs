//! The desired state as one nftables table of kalive's own, in nft's JSON
//! (`nft -j`), as data. Layout (`inet` family, so one table serves IPv4 and
//! IPv6 and removing it on stop removes everything):
//!
//! - `prerouting` and `output`: NAT base chains at `dstnat` priority that
//!   jump to `services` (output serves clients on the director itself);
//! - `services`: one rule per service member (address or range with port,
//!   or fwmark) that goes to the service's chain; fwmarks first, then
//!   members with a port, then port-less ones (the order IPVS looks up);
//! - one chain per service: persistence lookups, then the scheduler as an
//!   inline verdict map to one chain per real server (nft 1.0.6's JSON
//!   cannot express named integer or concatenated maps,
//!   reference/rust-ecosystem.md §5);
//! - one chain per real server: refresh persistence, DNAT.
//!
//! Each rule carries a comment whose first word is a fingerprint of its
//! chain, so [`crate::nft::plan`] can rewrite only chains that changed.

use super::maglev::{fnv1a, maglev_table, MAGLEV_SIZE};
use crate::config::{Family, Member, Persistence, Protocol, RsKey, Scheduler, VsKey};
use crate::state::{LbState, Service};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Name of kalive's table (family `inet`).
pub const TABLE: &str = "kalive";
/// nft's table family kalive uses.
pub const FAMILY: &str = "inet";
/// Fixed seed for `jhash`: without one the kernel picks a random seed per
/// rule, and every rewrite of a chain would move `sh`/`dh` clients.
pub const JHASH_SEED: u32 = 0x6b61_6c76;
/// NAT at `dstnat`, where IPVS-like DNAT belongs.
const DSTNAT_PRIORITY: i32 = -100;

/// A base chain's hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseHook {
    pub hook: &'static str,
    pub priority: i32,
}

/// One chain: its rules (each an nft JSON `expr` array) and fingerprint.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainDef {
    pub base: Option<BaseHook>,
    pub rules: Vec<Value>,
    /// Human-readable label after the fingerprint in each rule's comment.
    pub label: String,
    pub fingerprint: String,
}

/// A persistence set: client addresses (masked by the granularity) that
/// stick to one real server, each forgotten after `timeout_secs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetDef {
    pub family: Family,
    pub timeout_secs: u64,
}

impl SetDef {
    pub fn type_name(&self) -> &'static str {
        match self.family {
            Family::V4 => "ipv4_addr",
            Family::V6 => "ipv6_addr",
        }
    }
}

/// The whole table kalive wants.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NftTable {
    pub sets: BTreeMap<String, SetDef>,
    pub chains: BTreeMap<String, ChainDef>,
}

fn short_hash(value: &impl serde::Serialize) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    format!("{:012x}", fnv1a(0, text.as_bytes()) & 0xffff_ffff_ffff)
}

/// Chain name of a service.
pub fn service_chain(vs: &VsKey) -> String {
    format!("vs_{}", short_hash(vs))
}

/// Chain name of a real server of a service.
pub fn server_chain(vs: &VsKey, rs: &RsKey) -> String {
    format!("vs_{}_rs_{}", short_hash(vs), short_hash(rs))
}

/// Persistence set name of a real server of a service.
pub fn persistence_set(vs: &VsKey, rs: &RsKey) -> String {
    format!("vs_{}_p_{}", short_hash(vs), short_hash(rs))
}

fn l3(family: Family) -> &'static str {
    match family {
        Family::V4 => "ip",
        Family::V6 => "ip6",
    }
}

fn payload(protocol: &str, field: &str) -> Value {
    json!({"payload": {"protocol": protocol, "field": field}})
}

fn matches(left: Value, right: Value) -> Value {
    json!({"match": {"op": "==", "left": left, "right": right}})
}

fn meta(key: &str) -> Value {
    json!({"meta": {"key": key}})
}

fn goto(chain: &str) -> Value {
    json!({"goto": {"target": chain}})
}

/// The client address masked by the persistence granularity.
fn client_key(family: Family, persistence: &Persistence) -> Value {
    let saddr = payload(l3(family), "saddr");
    let full = match family {
        Family::V4 => 32,
        Family::V6 => 128,
    };
    match persistence.prefix_len {
        Some(len) if len < full => {
            let mask = match family {
                Family::V4 => IpAddr::V4(Ipv4Addr::from(
                    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0),
                )),
                Family::V6 => IpAddr::V6(Ipv6Addr::from(
                    u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0),
                )),
            };
            json!({"&": [saddr, mask.to_string()]})
        }
        _ => saddr,
    }
}

/// `key` mapped through `slots` (one entry per hash or counter value, each
/// the index of a target chain) as an inline verdict map, with runs of the
/// same target merged into ranges.
fn slot_vmap(key: Value, slots: &[usize], targets: &[String]) -> Value {
    let mut entries = Vec::new();
    let mut start = 0;
    while start < slots.len() {
        let mut end = start;
        while end + 1 < slots.len() && slots[end + 1] == slots[start] {
            end += 1;
        }
        let k = if start == end {
            json!(start)
        } else {
            json!({"range": [start, end]})
        };
        entries.push(json!([k, goto(&targets[slots[start]])]));
        start = end + 1;
    }
    json!({"vmap": {"key": key, "data": {"set": entries}}})
}

/// Most slots a weighted map gets: weights whose sum (after dividing by
/// their greatest common divisor) is larger are scaled down to this, each
/// live server keeping at least one slot (reported by
/// [`crate::nft::limitations`] for configured weights).
pub const MAX_WEIGHT_SLOTS: u64 = 4096;

pub(crate) fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Weights divided by their greatest common divisor, scaled down to at
/// most [`MAX_WEIGHT_SLOTS`] in total.
pub(crate) fn reduced_weights(weights: &[u32]) -> Vec<u64> {
    let divisor = weights.iter().map(|w| u64::from(*w)).fold(0, gcd).max(1);
    let reduced: Vec<u64> = weights.iter().map(|w| u64::from(*w) / divisor).collect();
    let total: u64 = reduced.iter().sum();
    if total <= MAX_WEIGHT_SLOTS {
        return reduced;
    }
    reduced
        .iter()
        .map(|w| match w {
            0 => 0,
            w => (w * MAX_WEIGHT_SLOTS / total).max(1),
        })
        .collect()
}

/// Each server's share as one contiguous block of slots (for hashes:
/// contiguous blocks keep the map small).
fn block_slots(weights: &[u32]) -> Vec<usize> {
    reduced_weights(weights)
        .iter()
        .enumerate()
        .flat_map(|(i, w)| std::iter::repeat_n(i, *w as usize))
        .collect()
}

/// One round of IPVS's weighted round robin (`ip_vs_wrr`): the current
/// weight steps down from the largest by the weights' divisor, and each
/// step takes every server at least that heavy. With `numgen inc` over
/// these slots every round gives each server exactly its share, spread
/// through the round as IPVS spreads it.
fn wrr_slots(weights: &[u32]) -> Vec<usize> {
    let reduced = reduced_weights(weights);
    let step = reduced.iter().copied().fold(0, gcd).max(1);
    let mut slots = Vec::new();
    let mut current = reduced.iter().copied().max().unwrap_or(0);
    while current > 0 {
        slots.extend(
            reduced
                .iter()
                .enumerate()
                .filter(|(_, w)| **w >= current)
                .map(|(i, _)| i),
        );
        current = current.saturating_sub(step);
    }
    slots
}

fn scheduler_rule(service: &Service, vs: &VsKey, active: &[(&RsKey, u32)]) -> Value {
    let spec = &service.spec;
    let targets: Vec<String> = active.iter().map(|(rs, _)| server_chain(vs, rs)).collect();
    let weights: Vec<u32> = active.iter().map(|(_, w)| *w).collect();
    let hash_of = |field: &str, modulus: usize| json!({"jhash": {"expr": payload(l3(spec.family), field), "mod": modulus, "seed": JHASH_SEED}});
    // `sh-port` / `mh-port`: the source port joins the hashed key (`th
    // sport`: the first two bytes of TCP, UDP and SCTP headers alike).
    let source_hash = |modulus: usize| {
        if spec.flags.hash_port {
            let key =
                json!({"concat": [payload(l3(spec.family), "saddr"), payload("th", "sport")]});
            json!({"jhash": {"expr": key, "mod": modulus, "seed": JHASH_SEED}})
        } else {
            hash_of("saddr", modulus)
        }
    };
    let counter = |modulus: usize| json!({"numgen": {"mode": "inc", "mod": modulus}});
    match effective_scheduler(spec.scheduler) {
        Scheduler::Rr => {
            let slots: Vec<usize> = (0..active.len()).collect();
            json!([slot_vmap(counter(slots.len()), &slots, &targets)])
        }
        Scheduler::Sh => {
            let slots = block_slots(&weights);
            json!([slot_vmap(source_hash(slots.len()), &slots, &targets)])
        }
        Scheduler::Dh => {
            let slots = block_slots(&weights);
            json!([slot_vmap(hash_of("daddr", slots.len()), &slots, &targets)])
        }
        Scheduler::Mh => {
            let named: Vec<(String, u32)> = active
                .iter()
                .map(|(rs, w)| (format!("{}:{}", rs.addr, rs.port.unwrap_or(0)), *w))
                .collect();
            let slots = maglev_table(&named, MAGLEV_SIZE);
            json!([slot_vmap(source_hash(slots.len()), &slots, &targets)])
        }
        Scheduler::Fo => {
            // Weighted failover: the first server with the highest weight.
            let best =
                weights
                    .iter()
                    .enumerate()
                    .fold(0, |best, (i, w)| if *w > weights[best] { i } else { best });
            json!([goto(&targets[best])])
        }
        _ => {
            let slots = wrr_slots(&weights);
            json!([slot_vmap(counter(slots.len()), &slots, &targets)])
        }
    }
}

/// The scheduler the nftables backend runs for `wanted`: itself when nft
/// can express it, else the closest one it can (each substitution is
/// reported by [`crate::nft::limitations`]).
pub fn effective_scheduler(wanted: Scheduler) -> Scheduler {
    match wanted {
        Scheduler::Rr
        | Scheduler::Wrr
        | Scheduler::Sh
        | Scheduler::Dh
        | Scheduler::Mh
        | Scheduler::Fo => wanted,
        // Connection-counting schedulers: weights are all nft can honour.
        Scheduler::Lc | Scheduler::Wlc | Scheduler::Sed | Scheduler::Nq | Scheduler::Twos => {
            Scheduler::Wrr
        }
        // Locality-based: destination hashing without the load check.
        Scheduler::Lblc | Scheduler::Lblcr => Scheduler::Dh,
        // Overflow: the highest weight first, without the connection cap.
        Scheduler::Ovf => Scheduler::Fo,
    }
}

fn protocol_name(protocol: Protocol) -> &'static str {
    protocol.lower()
}

fn member_rules(service: &Service, chain: &str) -> Vec<(u8, Value)> {
    let spec = &service.spec;
    let mut rules = Vec::new();
    for member in &spec.members {
        match member {
            Member::Fwmark(mark) => {
                let nfproto = match spec.family {
                    Family::V4 => "ipv4",
                    Family::V6 => "ipv6",
                };
                rules.push((
                    0,
                    json!([
                        matches(meta("nfproto"), json!(nfproto)),
                        matches(meta("mark"), json!(mark)),
                        goto(chain)
                    ]),
                ));
            }
            Member::Addresses { first, last, port } => {
                if Family::of(first) != spec.family {
                    continue;
                }
                let right = if first == last {
                    json!(first.to_string())
                } else {
                    json!({"range": [first.to_string(), last.to_string()]})
                };
                let mut exprs = vec![matches(payload(l3(spec.family), "daddr"), right)];
                let rank = match (spec.protocol, port) {
                    (Some(p), Some(port)) => {
                        exprs.push(matches(payload(protocol_name(p), "dport"), json!(port)));
                        1
                    }
                    (Some(p), None) => {
                        exprs.push(matches(meta("l4proto"), json!(protocol_name(p))));
                        2
                    }
                    (None, _) => 2,
                };
                exprs.push(goto(chain));
                rules.push((rank, Value::Array(exprs)));
            }
        }
    }
    rules
}

fn server_rules(service: &Service, vs: &VsKey, rs: &RsKey) -> Vec<Value> {
    let spec = &service.spec;
    let refresh = spec.persistence.as_ref().map(|p| {
        json!({"set": {"op": "update", "elem": client_key(spec.family, p), "set": format!("@{}", persistence_set(vs, rs))}})
    });
    let dnat = match rs.port {
        Some(port) => {
            json!({"dnat": {"family": l3(spec.family), "addr": rs.addr.to_string(), "port": port}})
        }
        None => json!({"dnat": {"family": l3(spec.family), "addr": rs.addr.to_string()}}),
    };
    // A DNAT to a port needs the transport protocol in the same rule; a
    // fwmark service has none, so it gets one rule per protocol.
    let protocols: Vec<Option<Protocol>> = match (rs.port, spec.protocol) {
        (None, _) => vec![None],
        (Some(_), Some(p)) => vec![Some(p)],
        (Some(_), None) => vec![
            Some(Protocol::Tcp),
            Some(Protocol::Udp),
            Some(Protocol::Sctp),
        ],
    };
    protocols
        .into_iter()
        .map(|p| {
            let mut exprs = Vec::new();
            if let Some(r) = &refresh {
                exprs.push(r.clone());
            }
            if let Some(p) = p {
                exprs.push(matches(meta("l4proto"), json!(protocol_name(p))));
            }
            exprs.push(dnat.clone());
            Value::Array(exprs)
        })
        .collect()
}

fn chain(base: Option<BaseHook>, rules: Vec<Value>, label: String, extra: &str) -> ChainDef {
    let fingerprint = short_hash(&(&rules, extra));
    ChainDef {
        base,
        rules,
        label,
        fingerprint,
    }
}

/// Renders `state` as kalive's table.
pub fn render(state: &LbState) -> NftTable {
    let mut table = NftTable::default();
    let mut dispatch: Vec<(u8, Value)> = Vec::new();
    for (vs, service) in &state.services {
        let spec = &service.spec;
        let vs_chain = service_chain(vs);
        let persistence_text = format!("{:?}", spec.persistence);
        dispatch.extend(member_rules(service, &vs_chain));
        // Persistence sets only for servers that take connections: nft
        // 1.0.6 makes a set dynamic (updatable from the packet path) only
        // when a rule updates it at creation, and a server at weight 0 must
        // not be chosen by persistence either (IPVS's
        // expire_quiescent_template behaviour).
        if let Some(p) = &spec.persistence {
            for (rs, _) in service.active_dests() {
                table.sets.insert(
                    persistence_set(vs, rs),
                    SetDef {
                        family: spec.family,
                        timeout_secs: p.timeout.as_secs().max(1),
                    },
                );
            }
        }
        let active: Vec<(&RsKey, u32)> = service
            .active_dests()
            .map(|(rs, d)| (rs, d.weight))
            .collect();
        let mut rules = Vec::new();
        if active.is_empty() {
            // IPVS answers a service without servers with ICMP port
            // unreachable and drops the packet.
            rules.push(json!([{"reject": {"type": "icmpx", "expr": "port-unreachable"}}]));
        } else {
            if let Some(p) = &spec.persistence {
                for (rs, _) in &active {
                    rules.push(json!([
                        matches(
                            client_key(spec.family, p),
                            json!(format!("@{}", persistence_set(vs, rs)))
                        ),
                        goto(&server_chain(vs, rs))
                    ]));
                }
            }
            rules.push(scheduler_rule(service, vs, &active));
        }
        table.chains.insert(
            vs_chain,
            chain(None, rules, format!("{vs}"), &persistence_text),
        );
        for (rs, _) in &active {
            table.chains.insert(
                server_chain(vs, rs),
                chain(
                    None,
                    server_rules(service, vs, rs),
                    rs.display_in(vs),
                    &persistence_text,
                ),
            );
        }
    }
    dispatch.sort_by_key(|(rank, _)| *rank);
    let dispatch: Vec<Value> = dispatch.into_iter().map(|(_, r)| r).collect();
    table.chains.insert(
        "services".to_owned(),
        chain(None, dispatch, "services".to_owned(), ""),
    );
    for hook in ["prerouting", "output"] {
        table.chains.insert(
            hook.to_owned(),
            chain(
                Some(BaseHook {
                    hook,
                    priority: DSTNAT_PRIORITY,
                }),
                // The `ct` match also makes the kernel track connections in
                // this namespace, which NAT chains need to be run at all: a
                // table whose services have no server (only `reject`, no
                // `dnat`) would otherwise never be consulted.
                vec![json!([
                    {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "new"}},
                    {"jump": {"target": "services"}}
                ])],
                hook.to_owned(),
                hook,
            ),
        );
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrr_spreads_a_round_as_ipvs_does() {
        assert_eq!(wrr_slots(&[1, 2, 3]), vec![2, 1, 2, 0, 1, 2]);
        assert_eq!(wrr_slots(&[2, 4]), vec![1, 0, 1]);
        assert_eq!(wrr_slots(&[5, 0, 5]), vec![0, 2]);
    }

    #[test]
    fn huge_weights_are_scaled_but_nobody_live_is_starved() {
        let w = reduced_weights(&[1_000_000, 1, 999_999]);
        assert!(w.iter().sum::<u64>() <= MAX_WEIGHT_SLOTS + 3, "{w:?}");
        assert_eq!(w[1], 1);
        assert_eq!(block_slots(&[3, 0, 6]), vec![0, 2, 2]);
    }
}
