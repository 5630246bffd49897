//! Fault injection inside router namespaces: link state, packet loss and
//! partitions with nftables. Each kind of fault has its own table, so
//! clearing one leaves the others alone.

use crate::cmd;
use crate::error::Result;

const LOSS_TABLE: &str = "kalive_lab_loss";
const PARTITION_TABLE: &str = "kalive_lab_partition";

/// Which traffic a loss rule drops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossScope {
    /// Only VRRP (IP protocol 112).
    Vrrp,
    /// Every IP packet.
    All,
}

/// Which direction a loss rule affects, seen from the router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Packets the router receives.
    In,
    /// Packets the router sends.
    Out,
    /// Both.
    Both,
}

/// Sets interface `dev` of `ns` up or down.
pub fn set_link(ns: &str, dev: &str, up: bool) -> Result<()> {
    cmd::ip_in(ns, &["link", "set", dev, if up { "up" } else { "down" }]).map(drop)
}

/// Drops `percent` % of the packets in `scope` going `direction` in `ns`
/// (`numgen random mod 100 < N`). Replaces a previous loss rule.
pub fn set_loss(ns: &str, percent: u8, scope: LossScope, direction: Direction) -> Result<()> {
    clear_table(ns, "inet", LOSS_TABLE)?;
    let matcher = match scope {
        LossScope::Vrrp => "meta l4proto 112 ",
        LossScope::All => "",
    };
    // `numgen random mod 100` yields 0..=99, so 100 % is a plain drop.
    let rule = if percent >= 100 {
        format!("{matcher}drop")
    } else {
        format!("{matcher}numgen random mod 100 < {percent} drop")
    };
    let mut script = format!("table inet {LOSS_TABLE} {{\n");
    for (hook, wanted) in [
        ("input", direction != Direction::Out),
        ("output", direction != Direction::In),
    ] {
        if wanted {
            script.push_str(&format!(
                "chain {hook} {{ type filter hook {hook} priority -300; policy accept; {rule}; }}\n"
            ));
        }
    }
    script.push_str("}\n");
    cmd::nft_in(ns, &script).map(drop)
}

/// Removes the loss rule of `ns`.
pub fn clear_loss(ns: &str) -> Result<()> {
    clear_table(ns, "inet", LOSS_TABLE)
}

/// Makes `ns` deaf to frames from the given MAC addresses on `dev`
/// (netdev ingress, so ARP and IPv6 are cut too). A partition is two such
/// calls, one on each side.
pub fn block_from(ns: &str, dev: &str, macs: &[String]) -> Result<()> {
    if macs.is_empty() {
        return Ok(());
    }
    let chain = format!("in_{dev}");
    let script = format!(
        "table netdev {PARTITION_TABLE} {{\n\
         chain {chain} {{ type filter hook ingress device \"{dev}\" priority -300; policy accept; \
         ether saddr {{ {} }} drop; }}\n}}\n",
        macs.join(", ")
    );
    cmd::nft_in(ns, &script).map(drop)
}

/// Removes every partition rule of `ns`.
pub fn heal(ns: &str) -> Result<()> {
    clear_table(ns, "netdev", PARTITION_TABLE)
}

fn clear_table(ns: &str, family: &str, table: &str) -> Result<()> {
    // `destroy` would be simpler but needs nft ≥ 1.0.8; declaring the table
    // first makes `delete` always succeed.
    let script = format!("table {family} {table}\ndelete table {family} {table}\n");
    cmd::nft_in(ns, &script).map(drop)
}
