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
/// interface `base` (IPv4: answer ARP only for the VMAC's own addresses,
/// accept packets from our own addresses, no reverse-path filter).
pub fn configure_vmac_v4(saver: &mut SysctlSaver, vmac: &str, base: &str) -> Result<()> {
    saver.set(&ipv4_conf(vmac, "arp_filter"), "0")?;
    saver.set(&ipv4_conf(vmac, "arp_ignore"), "1")?;
    saver.set(&ipv4_conf(vmac, "accept_local"), "1")?;
    saver.set(&ipv4_conf(vmac, "rp_filter"), "0")?;
    saver.set(&ipv4_conf(base, "arp_ignore"), "1")?;
    saver.set(&ipv4_conf(base, "arp_filter"), "1")?;
    Ok(())
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
