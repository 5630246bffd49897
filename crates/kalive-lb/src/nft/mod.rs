//! The nftables backend, as data: [`render`] the desired state into a
//! table, [`plan`] the one atomic batch (`nft -j -f -`) that turns what
//! `nft -j list table inet kalive` shows into it, [`delete_batch`] on stop,
//! and [`limitations`]: what nftables cannot do of a configuration and
//! what kalive does instead.

mod limits;
mod listing;
pub mod maglev;
mod render;

pub use limits::limitations;
pub use listing::{ListedSet, NftListing};
pub use render::{
    effective_scheduler, persistence_set, render, server_chain, service_chain, BaseHook, ChainDef,
    NftTable, SetDef, FAMILY, JHASH_SEED, TABLE,
};

use serde_json::{json, Value};
use std::collections::BTreeSet;

fn table_ref() -> Value {
    json!({"family": FAMILY, "name": TABLE})
}

fn chain_ref(name: &str) -> Value {
    json!({"family": FAMILY, "table": TABLE, "name": name})
}

fn add_chain(name: &str, def: &ChainDef) -> Value {
    match &def.base {
        Some(base) => json!({"add": {"chain": {
            "family": FAMILY, "table": TABLE, "name": name,
            "type": "nat", "hook": base.hook, "prio": base.priority, "policy": "accept"
        }}}),
        None => json!({"add": {"chain": chain_ref(name)}}),
    }
}

fn add_set(name: &str, def: &SetDef) -> Value {
    json!({"add": {"set": {
        "family": FAMILY, "table": TABLE, "name": name,
        "type": def.type_name(), "flags": ["timeout"], "timeout": def.timeout_secs
    }}})
}

fn add_rules(name: &str, def: &ChainDef, out: &mut Vec<Value>) {
    // nft keeps comments up to 128 bytes; the fingerprint comes first.
    let mut comment = format!("{} {}", def.fingerprint, def.label);
    if comment.len() > 120 {
        let mut cut = 120;
        while !comment.is_char_boundary(cut) {
            cut -= 1;
        }
        comment.truncate(cut);
    }
    for expr in &def.rules {
        out.push(json!({"add": {"rule": {
            "family": FAMILY, "table": TABLE, "chain": name, "comment": comment, "expr": expr
        }}}));
    }
}

fn batch(commands: Vec<Value>) -> Value {
    json!({"nftables": commands})
}

/// The batch that makes the table `current` (None: no table yet) into
/// `desired`, or None when they already agree. Chains whose fingerprint
/// is unchanged are not touched (their counters and the persistence sets
/// live on); a changed chain is flushed and refilled; sets change only
/// when their server or settings do. The batch is one nft transaction:
/// it applies whole or not at all.
pub fn plan(desired: &NftTable, current: Option<&NftListing>) -> Option<Value> {
    let mut cmds = vec![json!({"add": {"table": table_ref()}})];
    let Some(current) = current else {
        for (name, def) in &desired.sets {
            cmds.push(add_set(name, def));
        }
        for (name, def) in &desired.chains {
            cmds.push(add_chain(name, def));
        }
        for (name, def) in &desired.chains {
            add_rules(name, def, &mut cmds);
        }
        return Some(batch(cmds));
    };
    let changed: BTreeSet<&String> = desired
        .chains
        .iter()
        .filter(|(name, def)| match current.chains.get(*name) {
            Some(fp) => fp.as_deref() != Some(def.fingerprint.as_str()),
            None => true,
        })
        .map(|(name, _)| name)
        .collect();
    let stale_chains: Vec<&String> = current
        .chains
        .keys()
        .filter(|n| !desired.chains.contains_key(*n))
        .collect();
    let stale_sets: Vec<&String> = current
        .sets
        .iter()
        .filter(|(name, set)| {
            desired.sets.get(*name).is_none_or(|want| {
                want.type_name() != set.type_name || want.timeout_secs != set.timeout_secs
            })
        })
        .map(|(name, _)| name)
        .collect();
    let new_sets: Vec<&String> = desired
        .sets
        .keys()
        .filter(|n| !current.sets.contains_key(*n) || stale_sets.contains(n))
        .collect();
    if changed.is_empty() && stale_chains.is_empty() && stale_sets.is_empty() && new_sets.is_empty()
    {
        return None;
    }
    // Order inside the transaction: stop referring (flush), remove what
    // went, then add; references are only checked at commit.
    for name in &changed {
        if current.chains.contains_key(*name) {
            cmds.push(json!({"flush": {"chain": chain_ref(name)}}));
        }
    }
    for name in &stale_chains {
        cmds.push(json!({"flush": {"chain": chain_ref(name)}}));
    }
    for name in &stale_chains {
        cmds.push(json!({"delete": {"chain": chain_ref(name)}}));
    }
    for name in &stale_sets {
        cmds.push(json!({"delete": {"set": chain_ref(name)}}));
    }
    for name in &new_sets {
        cmds.push(add_set(name, &desired.sets[*name]));
    }
    for name in &changed {
        if !current.chains.contains_key(*name) {
            cmds.push(add_chain(name, &desired.chains[*name]));
        }
    }
    for name in &changed {
        add_rules(name, &desired.chains[*name], &mut cmds);
    }
    Some(batch(cmds))
}

/// The batch that removes kalive's table (on stop). `nft` refuses it when
/// the table does not exist; check with a listing first.
pub fn delete_batch() -> Value {
    batch(vec![json!({"delete": {"table": table_ref()}})])
}

/// The batch (as text for `nft -j -f -`) that brings the table `listing`
/// shows (`nft -j list table inet kalive`; None when absent) to `state`,
/// or None when nothing has to change.
pub fn reconcile(
    state: &crate::state::LbState,
    listing: Option<&str>,
) -> Result<Option<String>, crate::error::LbError> {
    let current = listing.map(NftListing::parse).transpose()?;
    Ok(plan(&render(state), current.as_ref()).map(|b| b.to_string()))
}
