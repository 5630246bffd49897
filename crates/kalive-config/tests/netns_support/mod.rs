//! Shared by the tests that compare with `/usr/sbin/keepalived -t`: a
//! network namespace guard and a [`System`] that answers for that namespace.

#![allow(dead_code)]

use kalive_config::system::{FileInfo, HostSystem, System, UserInfo};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// Fails the test with a clear message unless we are root with keepalived.
pub fn require_root_and_keepalived() {
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
}

fn ip(args: &[&str]) {
    let ok = Command::new("ip")
        .args(args)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "ip {} failed", args.join(" "));
}

/// A network namespace, deleted when dropped (panics included).
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// An empty namespace (only `lo`, down).
    pub fn new(tag: &str) -> Netns {
        let name = format!("kcfg{}{tag}", std::process::id());
        ip(&["netns", "add", &name]);
        Netns { name }
    }

    /// A namespace with a veth pair d0/d1 up, 192.168.1.1/24 on d0.
    pub fn with_veth(tag: &str) -> Netns {
        Netns::with_links(tag, &[("d0", "d1")], &[("d0", "192.168.1.1/24")])
    }

    /// A namespace with these veth pairs (all up, `lo` too) and addresses.
    pub fn with_links(tag: &str, pairs: &[(&str, &str)], addrs: &[(&str, &str)]) -> Netns {
        let ns = Netns::new(tag);
        let n = ns.name.as_str();
        for (a, b) in pairs {
            ip(&["-n", n, "link", "add", a, "type", "veth", "peer", "name", b]);
        }
        for (dev, addr) in addrs {
            ip(&["-n", n, "addr", "add", addr, "dev", dev]);
        }
        ip(&["-n", n, "link", "set", "lo", "up"]);
        for (a, b) in pairs {
            ip(&["-n", n, "link", "set", a, "up"]);
            ip(&["-n", n, "link", "set", b, "up"]);
        }
        ns
    }

    /// Interfaces as seen from inside the namespace.
    pub fn interfaces(&self) -> Vec<String> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name, "ls", "/sys/class/net"])
            .output()
            .expect("ip netns exec ls");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }

    /// What our checks see when run in this namespace.
    pub fn system(&self) -> InNetns {
        InNetns {
            netns: self.name.clone(),
            interfaces: self.interfaces(),
        }
    }

    /// keepalived's exit code for `-t -f file` inside the namespace
    /// (bounded: killed after 20 s).
    pub fn keepalived_verdict(&self, file: &Path) -> i32 {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.name, KEEPALIVED, "-t", "-f"])
            .arg(file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn keepalived");
        // keepalived -t usually exits within milliseconds: poll often at
        // first (a fixed 50 ms pause made 370 cases take 20 s), then back
        // off. Bounded by the 20 s deadline and the iteration count.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut pause = Duration::from_millis(1);
        for _ in 0..2000 {
            if let Some(st) = child.try_wait().expect("wait") {
                return st.code().unwrap_or(-1);
            }
            if std::time::Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("keepalived -t -f {} did not finish in 20 s", file.display());
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
/// a namespace.
pub struct InNetns {
    pub netns: String,
    pub interfaces: Vec<String>,
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
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
    fn address_is_local(&self, addr: &IpAddr) -> bool {
        // Only what with_veth() configures.
        *addr == IpAddr::from([192, 168, 1, 1])
    }
}
