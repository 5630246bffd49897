//! `/proc/sys/net` reads and writes, with save and restore.
//!
//! keepalived changes sysctls for a VMAC (`arp_ignore`, `arp_filter`,
//! `accept_local`, `rp_filter`; IPv6 `accept_dad`…) and puts the old
//! values back on exit (`reference/keepalived-behaviour.md`, use_vmac).
//! Sysctls under /proc/sys/net belong to the network namespace of the
//! thread that opens the file.

use std::path::PathBuf;

use crate::error::{Result, SysError};

const NET_ROOT: &str = "/proc/sys/net";

/// Path of `net.ipv4.conf.IFNAME.KEY` (interface names may contain dots,
/// which stay dots in the path, unlike in `sysctl` notation).
pub fn ipv4_conf(ifname: &str, key: &str) -> String {
    format!("ipv4/conf/{ifname}/{key}")
}

/// Path of `net.ipv6.conf.IFNAME.KEY`.
pub fn ipv6_conf(ifname: &str, key: &str) -> String {
    format!("ipv6/conf/{ifname}/{key}")
}

fn full_path(path: &str) -> Result<PathBuf> {
    if path.split('/').any(|part| part == ".." || part.is_empty()) {
        return Err(SysError::Invalid(format!("bad sysctl path {path:?}")));
    }
    Ok(PathBuf::from(NET_ROOT).join(path))
}

/// Reads `/proc/sys/net/<path>` (e.g. `ipv4/conf/eth0/rp_filter`),
/// trailing newline removed.
pub fn read(path: &str) -> Result<String> {
    let full = full_path(path)?;
    std::fs::read_to_string(&full)
        .map(|value| value.trim_end().to_owned())
        .map_err(|e| SysError::io(format!("read {}", full.display()), e))
}

/// Writes `value` to `/proc/sys/net/<path>`.
pub fn write(path: &str, value: &str) -> Result<()> {
    let full = full_path(path)?;
    std::fs::write(&full, value)
        .map_err(|e| SysError::io(format!("write {value} to {}", full.display()), e))
}

/// Sysctls changed by kalive, with the values to put back. Restored by
/// [`SysctlSaver::restore`] (errors reported) or, failing that, on drop
/// (errors ignored: the daemon is going away).
#[derive(Debug, Default)]
pub struct SysctlSaver {
    saved: Vec<(String, String)>,
}

impl SysctlSaver {
    /// Nothing saved yet.
    pub fn new() -> SysctlSaver {
        SysctlSaver::default()
    }

    /// Sets `path` to `value`, remembering the old value the first time
    /// this path is set. Writes nothing if the value is already right.
    pub fn set(&mut self, path: &str, value: &str) -> Result<()> {
        let old = read(path)?;
        if !self.saved.iter().any(|(saved, _)| saved == path) {
            self.saved.push((path.to_owned(), old.clone()));
        }
        if old != value {
            write(path, value)?;
        }
        Ok(())
    }

    /// The paths and old values held.
    pub fn saved(&self) -> &[(String, String)] {
        &self.saved
    }

    /// Puts every old value back, newest first; returns the first error
    /// but tries them all. A path that vanished (its interface was
    /// deleted) is not an error.
    pub fn restore(&mut self) -> Result<()> {
        let mut first_error = None;
        while let Some((path, value)) = self.saved.pop() {
            let vanished = !matches!(full_path(&path), Ok(p) if p.exists());
            if vanished {
                continue;
            }
            if let Err(e) = write(&path, &value) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for SysctlSaver {
    fn drop(&mut self) {
        let _ = self.restore();
    }
}

/// The sysctls keepalived sets for a VMAC interface `vmac` on base
/// interface `base` (keepalived `vrrp/vrrp_if_config.c`):
/// - the VMAC: `accept_local=1` (hear another instance's adverts from a
///   local source), `arp_ignore=1` (do not answer ARP for the parent's
///   addresses), `rp_filter=0` (receive on a VMAC without an address),
///   `promote_secondaries=1`;
/// - the base: `arp_ignore=1`, `arp_filter=1` (do not answer ARP for the
///   VIPs with the base MAC), and, beyond keepalived, `arp_announce=2`:
///   a reply from a VIP that the routing table sends out of the base (its
///   connected route comes first) makes the kernel ask for the client's
///   MAC there; with the default `arp_announce=0` that request names the
///   VIP as its sender with the base's MAC, and the client re-learns the
///   VIP at the base MAC, defeating the VMAC (seen in the lab's VMAC test
///   about one run in three). With 2 the request names the base's own
///   address.
///
/// `rp_filter=0` on the VMAC only works if `all.rp_filter` is 0 as well
/// (the kernel uses the maximum of the two): see [`neutralise_all_rp_filter`].
pub fn configure_vmac_v4(saver: &mut SysctlSaver, vmac: &str, base: &str) -> Result<()> {
    saver.set(&ipv4_conf(vmac, "accept_local"), "1")?;
    saver.set(&ipv4_conf(vmac, "arp_ignore"), "1")?;
    saver.set(&ipv4_conf(vmac, "rp_filter"), "0")?;
    saver.set(&ipv4_conf(vmac, "promote_secondaries"), "1")?;
    saver.set(&ipv4_conf(base, "arp_ignore"), "1")?;
    saver.set(&ipv4_conf(base, "arp_filter"), "1")?;
    saver.set(&ipv4_conf(base, "arp_announce"), "2")?;
    Ok(())
}

/// keepalived's `link_set_ipv6`: an IPv4 VMAC gets IPv6 disabled (so it
/// sends no MLD or neighbour discovery with the virtual MAC); an IPv6 VMAC
/// keeps it enabled.
pub fn set_ipv6_enabled(saver: &mut SysctlSaver, ifname: &str, enabled: bool) -> Result<()> {
    saver.set(
        &ipv6_conf(ifname, "disable_ipv6"),
        if enabled { "0" } else { "1" },
    )
}

/// As keepalived does before using a VMAC: when `all.rp_filter` is set,
/// copy it down to every interface whose own value is lower (so their
/// effective filtering does not change), then set `all.rp_filter` to 0 so
/// that a VMAC's `rp_filter=0` takes effect. Everything is saved in
/// `saver` and restored with it.
pub fn neutralise_all_rp_filter(saver: &mut SysctlSaver) -> Result<()> {
    let all_path = ipv4_conf("all", "rp_filter");
    let all: u8 = read(&all_path)?.parse().unwrap_or(0);
    if all == 0 {
        return Ok(());
    }
    let conf_dir = format!("{NET_ROOT}/ipv4/conf");
    let entries =
        std::fs::read_dir(&conf_dir).map_err(|e| SysError::io(format!("list {conf_dir}"), e))?;
    for entry in entries.flatten() {
        let ifname = entry.file_name().to_string_lossy().into_owned();
        if ifname == "all" {
            continue;
        }
        let path = ipv4_conf(&ifname, "rp_filter");
        let own: u8 = read(&path)?.parse().unwrap_or(0);
        if own < all {
            saver.set(&path, &all.to_string())?;
        }
    }
    saver.set(&all_path, "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_built_and_checked() {
        assert_eq!(
            ipv4_conf("vrrp.51", "arp_ignore"),
            "ipv4/conf/vrrp.51/arp_ignore"
        );
        assert!(full_path("ipv4/../../etc/passwd").is_err());
        assert!(full_path("ipv4//x").is_err());
    }
}
