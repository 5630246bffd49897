//! What the nftables backend cannot do the way IPVS does, one message per
//! difference and per service, each saying what kalive does instead. The
//! daemon prints them at config test and at start, so no difference is
//! silent (DESIGN.md, "Load-balancing backends").

use super::render::effective_scheduler;
use crate::config::{LbConfig, Method, Scheduler};

/// The messages for `config` (empty when nftables does exactly what IPVS
/// would).
pub fn limitations(config: &LbConfig) -> Vec<String> {
    let mut out = Vec::new();
    for vs in &config.services {
        let name = &vs.key;
        let wanted = vs.scheduler;
        let used = effective_scheduler(wanted);
        if used != wanted {
            let why = match wanted {
                Scheduler::Lc
                | Scheduler::Wlc
                | Scheduler::Sed
                | Scheduler::Nq
                | Scheduler::Twos => "counts active connections, which nftables cannot",
                Scheduler::Lblc | Scheduler::Lblcr => {
                    "checks each server's load, which nftables cannot"
                }
                _ => "caps connections per server, which nftables cannot",
            };
            let instead = match used {
                Scheduler::Wrr => "wrr (weighted round robin with the same weights)",
                Scheduler::Dh => "dh (destination hashing, no load check)",
                _ => "fo (highest weight first, no connection cap)",
            };
            out.push(format!(
                "virtual server {name}: scheduler {} {why}; the nftables backend schedules it as {instead}",
                wanted.name()
            ));
        }
        if vs.flags.hash_port && !matches!(used, Scheduler::Sh | Scheduler::Mh) {
            out.push(format!(
                "virtual server {name}: sh-port/mh-port only apply to the sh and mh schedulers; ignored"
            ));
        }
        if let Some(engine) = &vs.persistence_engine {
            out.push(format!(
                "virtual server {name}: persistence_engine {engine} is an IPVS module the nftables backend does not have; persistence follows the client address only"
            ));
        }
        if vs.flags.fallback {
            out.push(format!(
                "virtual server {name}: sh-fallback/mh-fallback is implicit with the nftables backend: a server that leaves the table is rehashed away from at once"
            ));
        }
        if vs.flags.one_packet {
            out.push(format!(
                "virtual server {name}: ops (one-packet scheduling) is not supported by the nftables backend; UDP datagrams of one flow follow conntrack to one server"
            ));
        }
        let methods = vs
            .real_servers
            .iter()
            .map(|rs| rs.method)
            .chain(vs.sorry_server.iter().map(|s| s.method));
        let mut reported = Vec::new();
        for method in methods {
            // One message per method name (TUN of any tunnel kind).
            if method != Method::Nat && !reported.contains(&method.name()) {
                reported.push(method.name());
                out.push(format!(
                    "virtual server {name}: lvs_method {} is not possible with the nftables backend (it can only rewrite addresses); kalive forwards with NAT (DNAT) instead, so the real servers must route their replies back through this director",
                    method.name()
                ));
            }
        }
        let weights: Vec<u32> = vs.real_servers.iter().map(|rs| rs.weight).collect();
        let reduced = super::render::reduced_weights(&weights);
        let divisor = weights
            .iter()
            .map(|w| u64::from(*w))
            .fold(0, super::render::gcd);
        let exact: u64 = weights.iter().map(|w| u64::from(*w) / divisor.max(1)).sum();
        if reduced.iter().sum::<u64>() != exact {
            out.push(format!(
                "virtual server {name}: its real-server weights need {exact} scheduling slots; the nftables backend scales them to about {} slots, so shares are approximate",
                super::render::MAX_WEIGHT_SLOTS
            ));
        }
        if vs
            .real_servers
            .iter()
            .any(|rs| rs.upper_threshold > 0 || rs.lower_threshold > 0)
        {
            out.push(format!(
                "virtual server {name}: uthreshold/lthreshold count connections, which nftables cannot; the nftables backend ignores them"
            ));
        }
    }
    out
}
