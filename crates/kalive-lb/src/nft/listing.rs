//! What `nft -j list table inet kalive` says, reduced to what
//! [`super::plan`] compares: chains with their fingerprint, and sets.

use crate::error::LbError;
use serde_json::Value;
use std::collections::BTreeMap;

/// A set as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedSet {
    pub type_name: String,
    pub timeout_secs: u64,
}

/// The table as read back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NftListing {
    /// Each chain with its fingerprint: `None` when its rules do not all
    /// carry the same one (edited by hand, or empty), which makes the
    /// chain be rewritten.
    pub chains: BTreeMap<String, Option<String>>,
    pub sets: BTreeMap<String, ListedSet>,
}

impl NftListing {
    /// Parses nft's JSON listing of one table.
    pub fn parse(text: &str) -> Result<Self, LbError> {
        let root: Value =
            serde_json::from_str(text).map_err(|e| LbError::Listing(e.to_string()))?;
        let objects = root
            .get("nftables")
            .and_then(Value::as_array)
            .ok_or_else(|| LbError::Listing("no \"nftables\" array".to_owned()))?;
        let mut listing = NftListing::default();
        // Per chain: the fingerprints seen (None once two differ).
        let mut seen: BTreeMap<String, Option<Option<String>>> = BTreeMap::new();
        for object in objects {
            if let Some(chain) = object.get("chain") {
                let name = str_field(chain, "name")?;
                seen.entry(name).or_insert(None);
            } else if let Some(set) = object.get("set") {
                let name = str_field(set, "name")?;
                let type_name = set
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let timeout_secs = set.get("timeout").and_then(Value::as_u64).unwrap_or(0);
                listing.sets.insert(
                    name,
                    ListedSet {
                        type_name,
                        timeout_secs,
                    },
                );
            } else if let Some(rule) = object.get("rule") {
                let chain = str_field(rule, "chain")?;
                let fp = rule
                    .get("comment")
                    .and_then(Value::as_str)
                    .and_then(|c| c.split_whitespace().next())
                    .map(str::to_owned);
                let entry = seen.entry(chain).or_insert(None);
                *entry = match entry.take() {
                    None => Some(fp),
                    Some(prev) if prev == fp => Some(prev),
                    Some(_) => Some(None),
                };
            }
        }
        listing.chains = seen
            .into_iter()
            .map(|(name, fp)| (name, fp.flatten()))
            .collect();
        Ok(listing)
    }
}

fn str_field(object: &Value, field: &str) -> Result<String, LbError> {
    object
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| LbError::Listing(format!("object without \"{field}\": {object}")))
}
