//! From keepalived.conf to a running notify script, with real files and
//! real processes (root needed: scripts switch users):
//!
//! - a script runs as the configured user with exactly that user's group
//!   (`id -u`, `id -g`, `id -G` as keepalived 2.2.7 shows them);
//! - `script_user 65534` and an unknown `script_user` run nothing (they
//!   used to run scripts as uid 65534 gid 0, and as root);
//! - a symlinked script is executed by the real path checked at start: a
//!   link re-pointed afterwards runs nothing new as root.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kalive::notify::{Notification, Notifier, NotifyState, Subject};
use kalive::setup::{plan, Plan};
use kalive_config::system::{FileInfo, HostSystem, System, UserInfo};
use kalive_config::{load_str, Severity};

struct Scratch(PathBuf);

impl Scratch {
    /// A root-owned 0755 directory under /tmp (sticky), so that script
    /// security accepts scripts in it.
    fn new(tag: &str) -> Scratch {
        assert!(
            nix::unistd::geteuid().is_root(),
            "script_identity switches users: run it as root"
        );
        let dir = PathBuf::from(format!("/tmp/kalive-scripts-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        chmod(&dir, 0o755);
        Scratch(dir)
    }
    fn dir(&self, name: &str, mode: u32) -> PathBuf {
        let d = self.0.join(name);
        std::fs::create_dir_all(&d).expect("dir");
        chmod(&d, mode);
        d
    }
    fn script(&self, path: &Path, body: &str) -> PathBuf {
        std::fs::write(path, format!("#!/bin/sh\n{body}\n")).expect("write");
        chmod(path, 0o755);
        path.to_path_buf()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn config(globals: &str, notify: &Path) -> String {
    format!(
        "global_defs {{\n{globals}\n}}\nvrrp_instance VI_1 {{\n  interface kalive0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {{\n    192.0.2.10\n  }}\n  notify_master {}\n}}\n",
        notify.display()
    )
}

/// The host's users and files; the one interface the configs name
/// exists (no interface is created for a test that runs no VRRP).
struct Host;

impl System for Host {
    fn interface_exists(&self, name: &str) -> bool {
        name == "kalive0"
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
    fn same_file(&self, a: &Path, b: &Path) -> bool {
        HostSystem.same_file(a, b)
    }
}

fn plan_of(text: &str) -> Plan {
    let loaded = load_str(text, "t.conf", Arc::new(Host));
    let notes: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Note)
        .map(|d| d.message.clone())
        .collect();
    println!("notes: {notes:?}");
    plan(&loaded.config).expect("plan")
}

fn master() -> Notification {
    Notification {
        subject: Subject::Instance,
        name: "VI_1".into(),
        state: NotifyState::Master,
        priority: 100,
    }
}

async fn read_when_written(path: &Path) -> String {
    for _ in 0..500 {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{} was never written", path.display());
}

#[tokio::test]
async fn a_script_runs_as_its_user_with_only_that_users_group() {
    let s = Scratch::new("id");
    let out = s.dir("out", 0o777).join("id");
    let script = s.script(
        &s.0.join("id.sh"),
        &format!("echo \"$(id -u) $(id -g) $(id -G)\" > {}", out.display()),
    );
    let plan = plan_of(&config(
        " script_user nobody\n enable_script_security",
        &script,
    ));
    let mut notifier = Notifier::new(plan.notify.clone());
    notifier.notify(master());
    assert_eq!(read_when_written(&out).await, "65534 65534 65534\n");
    notifier.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn numeric_or_unknown_script_users_run_nothing() {
    let s = Scratch::new("nouser");
    let out = s.dir("out", 0o777).join("ran");
    let script = s.script(&s.0.join("n.sh"), &format!("id -u >> {}", out.display()));
    for globals in [
        " script_user 65534\n enable_script_security",
        " script_user nosuchuser_kalive\n enable_script_security",
        " script_user nosuchuser_kalive",
    ] {
        let plan = plan_of(&config(globals, &script));
        assert!(
            plan.notify.scripts.is_empty(),
            "{globals}: nothing may run, got {:?}",
            plan.notify.scripts
        );
        let mut notifier = Notifier::new(plan.notify.clone());
        notifier.notify(master());
        notifier.shutdown(Duration::from_secs(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!out.exists(), "ran as {:?}", std::fs::read_to_string(&out));
}

#[tokio::test]
async fn a_repointed_symlink_does_not_change_what_runs() {
    let s = Scratch::new("link");
    let out = s.dir("out", 0o777).join("ran");
    let safe = s.dir("safe", 0o755);
    let real = s.script(
        &safe.join("real.sh"),
        &format!("echo \"real $(id -u) $0\" >> {}", out.display()),
    );
    // A world-writable directory (no sticky bit): anyone may swap the link.
    let ww = s.dir("ww", 0o777);
    let evil = s.script(
        &ww.join("evil.sh"),
        &format!("echo \"evil $(id -u)\" >> {}", out.display()),
    );
    let link = ww.join("link.sh");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let plan = plan_of(&config(" enable_script_security\n script_user root", &link));
    let mut notifier = Notifier::new(plan.notify.clone());

    // After start an unprivileged user re-points the link.
    std::fs::remove_file(&link).expect("unlink");
    std::os::unix::fs::symlink(&evil, &link).expect("symlink");
    notifier.notify(master());
    let text = read_when_written(&out).await;
    assert_eq!(text, format!("real 0 {}\n", real.display()));
    notifier.shutdown(Duration::from_secs(5)).await;
}
