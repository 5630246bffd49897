//! Every sample config Debian ships gets the same `-t` verdict from
//! `kalive_config::config_test` as from `/usr/sbin/keepalived -t`, both
//! checked against the same fresh network namespace (only `lo`), created
//! and deleted by this test.
//!
//! Needs root, keepalived and its samples (`apt-get install keepalived`);
//! fails with a clear message when they are missing.

use kalive_config::system::{FileInfo, HostSystem, System, UserInfo};
use kalive_config::{config_test, ConfigTestOptions};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const SAMPLES: &str = "/usr/share/doc/keepalived/samples";
const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// Samples whose verdict differs from keepalived's on purpose:
/// (file name, reason). None today.
const EXPECTED_DIFFERENCES: &[(&str, &str)] = &[];

/// A network namespace that is deleted when dropped (panics included).
struct Netns {
    name: String,
}

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("kcfg{}{tag}", std::process::id());
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "cannot create network namespace {name} (are we root?)");
        Netns { name }
    }

    /// Interfaces as seen from inside the namespace.
    fn interfaces(&self) -> Vec<String> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name, "ls", "/sys/class/net"])
            .output()
            .expect("ip netns exec ls");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// The host's users and files, with the interfaces and name resolution of
/// the namespace.
struct InNetns {
    netns: String,
    interfaces: Vec<String>,
}

impl System for InNetns {
    fn interface_exists(&self, name: &str) -> bool {
        self.interfaces.iter().any(|i| i == name)
    }
    fn user(&self, name: &str) -> Option<UserInfo> {
        HostSystem.user(name)
    }
    fn group(&self, name: &str) -> Option<u32> {
        HostSystem.group(name)
    }
    fn stat(&self, path: &Path, follow: bool) -> Option<FileInfo> {
        HostSystem.stat(path, follow)
    }
    fn canonicalize(&self, path: &Path) -> Option<PathBuf> {
        HostSystem.canonicalize(path)
    }
    fn path_dirs(&self) -> Vec<PathBuf> {
        HostSystem.path_dirs()
    }
    fn resolves(&self, name: &str) -> bool {
        Command::new("ip")
            .args(["netns", "exec", &self.netns, "getent", "ahosts", name])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }
    fn address_is_local(&self, _addr: &IpAddr) -> bool {
        // A fresh namespace has only 127.0.0.1/::1 on lo.
        false
    }
}

fn require_environment() {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .unwrap_or_default();
    assert_eq!(uid, "0", "this test needs root (network namespaces)");
    assert!(
        Path::new(KEEPALIVED).exists(),
        "{KEEPALIVED} missing: apt-get install keepalived"
    );
    assert!(
        Path::new(SAMPLES).is_dir(),
        "{SAMPLES} missing: apt-get install keepalived"
    );
}

/// Copy every `keepalived.conf.*` sample into `dir`, gunzipping `.gz` ones.
fn unpack_samples(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(SAMPLES)
        .expect("samples dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("keepalived.conf."))
        })
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let target = dir.join(name.trim_end_matches(".gz"));
        if name.ends_with(".gz") {
            let data = Command::new("gzip")
                .arg("-dc")
                .arg(&p)
                .output()
                .expect("gzip -dc");
            assert!(data.status.success(), "gunzip {}", p.display());
            std::fs::write(&target, data.stdout).expect("write sample");
        } else {
            std::fs::copy(&p, &target).expect("copy sample");
        }
        out.push(target);
    }
    out
}

/// keepalived's exit code for `-t -f file` inside the namespace (bounded:
/// killed after 20 s).
fn keepalived_verdict(ns: &Netns, file: &Path) -> i32 {
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.name, KEEPALIVED, "-t", "-f"])
        .arg(file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn keepalived");
    for _ in 0..200 {
        if let Some(st) = child.try_wait().expect("wait") {
            return st.code().unwrap_or(-1);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("keepalived -t -f {} did not finish in 20 s", file.display());
}

#[test]
fn debian_samples_get_keepalived_verdicts() {
    require_environment();
    let dir = tempfile::tempdir().expect("tempdir");
    let samples = unpack_samples(dir.path());
    assert!(
        samples.len() >= 20,
        "expected Debian's ~25 samples, found {}",
        samples.len()
    );
    let ns = Netns::new("s");
    let sys = Arc::new(InNetns {
        netns: ns.name.clone(),
        interfaces: ns.interfaces(),
    });
    let mut mismatches = Vec::new();
    for file in &samples {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let theirs = keepalived_verdict(&ns, file);
        let ours = config_test(&ConfigTestOptions {
            config_file: file.clone(),
            system: sys.clone(),
            ..ConfigTestOptions::default()
        });
        let expected_diff = EXPECTED_DIFFERENCES.iter().any(|(n, _)| *n == name);
        // Same accept/reject verdict, and in fact the same exit code.
        if theirs != ours.exit_code && !expected_diff {
            let first: Vec<String> = ours
                .diagnostics
                .iter()
                .take(3)
                .map(|d| d.to_string())
                .collect();
            mismatches.push(format!(
                "{name}: keepalived exit {theirs}, kalive exit {} {first:?}",
                ours.exit_code
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "verdicts differ:\n{}",
        mismatches.join("\n")
    );
}
