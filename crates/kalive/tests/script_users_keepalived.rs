//! `-t` on script users, kalive side by side with Debian's keepalived
//! 2.2.7, both run inside a network namespace this test creates (with a
//! veth pair inside it, so the instance's interface exists) and deletes.
//!
//! Measured with keepalived 2.2.7: `script_user 65534` and an unknown
//! `script_user` are "Error setting global script uid/gid" (exit 5);
//! `enable_script_security` without `script_user` and without a
//! `keepalived_script` user is "Unable to set default user
//! keepalived_script for script" (exit 5); `script_user root` with script
//! security and a safe script is clean (exit 0). (A non-root script user
//! makes keepalived 2.2.7's own `-t` die of SIGTERM, so it is not compared
//! here; `script_identity.rs` runs such scripts for real.)
//!
//! Needs root, `ip` and /usr/sbin/keepalived; fails saying so otherwise.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_kalive");
const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// A namespace deleted on every exit path (panics included).
struct Netns(String);

impl Netns {
    fn new() -> Netns {
        let name = format!("kalive-su-{}", std::process::id());
        let st = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("run ip");
        assert!(st.success(), "ip netns add {name} failed (root needed)");
        let ns = Netns(name);
        // Both ends inside the namespace: nothing touches the root one.
        ns.ip(&["link", "add", "kv0", "type", "veth", "peer", "name", "kv1"]);
        ns.ip(&["link", "set", "kv0", "up"]);
        ns
    }
    fn ip(&self, args: &[&str]) {
        let st = Command::new("ip")
            .arg("-n")
            .arg(&self.0)
            .args(args)
            .status()
            .expect("run ip");
        assert!(st.success(), "ip -n {} {args:?} failed", self.0);
    }
    /// Exit code and everything printed.
    fn run(&self, program: &str, config: &Path) -> (i32, String) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.0, program, "-t", "-f"])
            .arg(config)
            .output()
            .expect("run -t");
        let text = String::from_utf8_lossy(&out.stderr).to_string()
            + &String::from_utf8_lossy(&out.stdout);
        (out.status.code().unwrap_or(-1), text)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn script_user_verdicts_match_keepalived() {
    assert!(
        Path::new(KEEPALIVED).exists(),
        "{KEEPALIVED} missing: apt-get install keepalived"
    );
    assert!(
        !std::fs::read_to_string("/etc/passwd")
            .unwrap_or_default()
            .lines()
            .any(|l| l.starts_with("keepalived_script:")),
        "these cases assume no keepalived_script user on this machine"
    );
    let dir = Scratch(PathBuf::from(format!(
        "/tmp/kalive-su-{}",
        std::process::id()
    )));
    std::fs::create_dir_all(&dir.0).expect("dir");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let script = dir.0.join("notify.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").expect("write");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let ns = Netns::new();

    let cases: &[(&str, &str, i32, Option<&str>)] = &[
        (
            "numeric",
            " script_user 65534\n enable_script_security",
            5,
            Some("Error setting global script uid/gid"),
        ),
        (
            "unknown",
            " script_user nosuchuser_kalive\n enable_script_security",
            5,
            Some("Error setting global script uid/gid"),
        ),
        (
            "no_default_user",
            " enable_script_security",
            5,
            Some("Unable to set default user keepalived_script for script"),
        ),
        (
            "root",
            " script_user root\n enable_script_security",
            0,
            None,
        ),
    ];
    for (name, globals, expected, message) in cases {
        let config = dir.0.join(format!("{name}.conf"));
        std::fs::write(
            &config,
            format!(
                "global_defs {{\n{globals}\n}}\nvrrp_instance VI_1 {{\n  interface kv0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {{\n    192.0.2.10\n  }}\n  notify_master {}\n}}\n",
                script.display()
            ),
        )
        .expect("write config");
        let (k_code, k_text) = ns.run(KEEPALIVED, &config);
        let (our_code, our_text) = ns.run(BIN, &config);
        assert_eq!(k_code, *expected, "{name}: keepalived said {k_text}");
        assert_eq!(our_code, k_code, "{name}: kalive said {our_text}");
        if let Some(m) = message {
            assert!(k_text.contains(m), "{name}: keepalived: {k_text}");
            assert!(our_text.contains(m), "{name}: kalive: {our_text}");
        }
    }
}
