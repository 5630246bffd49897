//! Script identities and script files as keepalived 2.2.7 decides them
//! (reference §1.11; measured with `keepalived -t` and a running keepalived
//! on the same configs: see `crates/kalive/tests/script_security.rs` for
//! the side-by-side `-t` comparison):
//!
//! - `script_user` names are looked up with getpwnam: `65534` is no user;
//!   a failed `script_user` is an error and every script without its own
//!   user is dropped (never run as root);
//! - with `enable_script_security` and neither `script_user` nor a
//!   `keepalived_script` user, notify scripts are dropped and `-t` exits 5;
//! - a script is executed by the path that was checked (its real path);
//! - a refused script is reported in keepalived's words.

use kalive_config::model::vrrp::RunAs;
use kalive_config::system::FakeSystem;
use kalive_config::test_mode::exit_code_for;
use kalive_config::{load_str, Diagnostic, Loaded, Severity};
use std::path::PathBuf;
use std::sync::Arc;

fn sys() -> FakeSystem {
    FakeSystem::with_interfaces(&["eth0"])
        .user("nobody", 65534)
        .file("/etc/keepalived/notify.sh", 0o755)
}

fn config(globals: &str, notify: &str) -> String {
    format!(
        "global_defs {{\n{globals}\n}}\nvrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {{\n    10.0.0.1/24\n  }}\n  notify_master {notify}\n}}\n"
    )
}

fn load(text: &str, sys: FakeSystem) -> Loaded {
    load_str(text, "t.conf", Arc::new(sys))
}

fn reported(l: &Loaded, severity: Severity) -> Vec<String> {
    l.diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .map(|d| d.message.clone())
        .collect()
}

fn all(l: &Loaded) -> Vec<String> {
    l.diagnostics.iter().map(Diagnostic::to_string).collect()
}

fn master_script(l: &Loaded) -> Option<&kalive_config::model::vrrp::Script> {
    l.config.vrrp_instances[0].notify.master.as_ref()
}

#[test]
fn a_numeric_script_user_is_no_user_and_its_scripts_are_dropped() {
    let l = load(
        &config(
            " script_user 65534\n enable_script_security",
            "/etc/keepalived/notify.sh",
        ),
        sys(),
    );
    assert_eq!(
        reported(&l, Severity::Error),
        ["Error setting global script uid/gid"],
        "{:?}",
        all(&l)
    );
    assert_eq!(exit_code_for(&l), 5, "keepalived 2.2.7 -t exits 5");
    assert!(
        master_script(&l).is_none(),
        "the script must not run at all"
    );
    let notes = reported(&l, Severity::Note);
    assert!(
        notes.contains(&"Script user '65534' does not exist".to_string()),
        "{notes:?}"
    );
    assert!(
        notes.contains(
            &"Failed to set default user for notify script /etc/keepalived/notify.sh - ignoring"
                .to_string()
        ),
        "{notes:?}"
    );
}

#[test]
fn a_missing_script_user_never_means_root() {
    // Without script security too: keepalived drops the script.
    for globals in [
        " script_user nosuchuser",
        " script_user nosuchuser\n enable_script_security",
    ] {
        let l = load(&config(globals, "/etc/keepalived/notify.sh"), sys());
        assert_eq!(
            reported(&l, Severity::Error),
            ["Error setting global script uid/gid"],
            "{:?}",
            all(&l)
        );
        assert_eq!(exit_code_for(&l), 5);
        assert!(master_script(&l).is_none());
    }
    // A script's own unknown user drops that script only.
    let l = load(
        &config(
            " script_user nobody\n enable_script_security",
            "\"/etc/keepalived/notify.sh\" nosuchuser",
        ),
        sys(),
    );
    assert!(master_script(&l).is_none(), "{:?}", all(&l));
    assert!(reported(&l, Severity::Note).contains(
        &"Invalid user/group for notify script /etc/keepalived/notify.sh - ignoring".to_string()
    ));
}

#[test]
fn script_security_without_a_default_user_refuses_notify_scripts() {
    let l = load(
        &config(" enable_script_security", "/etc/keepalived/notify.sh"),
        sys(),
    );
    assert_eq!(
        reported(&l, Severity::Error),
        ["Unable to set default user keepalived_script for script"],
        "{:?}",
        all(&l)
    );
    assert_eq!(
        l.diagnostics
            .iter()
            .find(|d| d.severity == Severity::Error)
            .and_then(|d| d.span.as_ref())
            .map(|s| s.line),
        Some(11),
        "reported at the notify line, as keepalived does"
    );
    assert_eq!(exit_code_for(&l), 5, "keepalived 2.2.7 -t exits 5");
    assert!(master_script(&l).is_none());

    // With keepalived_script the script runs as that user, exactly.
    let l = load(
        &config(" enable_script_security", "/etc/keepalived/notify.sh"),
        sys().user("keepalived_script", 998),
    );
    assert_eq!(exit_code_for(&l), 0, "{:?}", all(&l));
    let s = master_script(&l).expect("kept");
    assert_eq!(s.run_as, Some(RunAs::new(998, 998)));
    assert_eq!(s.run_as.as_ref().map(|r| r.groups.clone()), Some(vec![998]));
    assert_eq!(
        s.exec_path,
        Some(PathBuf::from("/etc/keepalived/notify.sh"))
    );

    // Without script security and without keepalived_script: root, with
    // keepalived's SECURITY VIOLATION (exit 6).
    let l = load(&config("", "/etc/keepalived/notify.sh"), sys());
    assert_eq!(exit_code_for(&l), 6, "{:?}", all(&l));
    assert_eq!(
        master_script(&l).and_then(|s| s.run_as.clone()),
        Some(RunAs::new(0, 0))
    );
}

#[test]
fn vrrp_and_lvs_share_one_default_user_resolution() {
    // The keepalived_script error is reported once for the whole config,
    // whether the first script needing it is a VRRP or an LVS one.
    let text = format!(
        "{}virtual_server 10.0.0.1 80 {{\n  real_server 10.0.0.2 80 {{\n    notify_up /etc/keepalived/notify.sh\n    MISC_CHECK {{\n      misc_path /etc/keepalived/notify.sh\n    }}\n  }}\n}}\n",
        config(" enable_script_security", "/etc/keepalived/notify.sh")
    );
    let l = load(&text, sys());
    let errors: Vec<String> = reported(&l, Severity::Error)
        .into_iter()
        .filter(|m| m.contains("keepalived_script"))
        .collect();
    assert_eq!(errors.len(), 1, "{:?}", all(&l));
    assert!(master_script(&l).is_none());
    let rs = &l.config.lvs.virtual_servers[0].real_servers[0];
    assert!(rs.notify_up.is_none(), "{:?}", all(&l));
    assert!(
        rs.checkers.is_empty(),
        "MISC_CHECK without a user is removed"
    );

    // With a script_user both sides run as it.
    let text = text.replace(
        " enable_script_security",
        " enable_script_security\n script_user nobody",
    );
    let l = load(&text, sys());
    let rs = &l.config.lvs.virtual_servers[0].real_servers[0];
    let nobody = Some(RunAs::new(65534, 65534));
    assert_eq!(rs.notify_up.as_ref().and_then(|s| s.run_as.clone()), nobody);
    assert_eq!(master_script(&l).and_then(|s| s.run_as.clone()), nobody);
}

#[test]
fn a_symlinked_script_is_executed_by_its_checked_real_path() {
    let sys = sys()
        .dir("/tmp/ww", 0o777)
        .symlink("/tmp/ww/notify.sh", "/etc/keepalived/notify.sh");
    let l = load(
        &config(
            " enable_script_security\n script_user root",
            "/tmp/ww/notify.sh",
        ),
        sys,
    );
    assert_eq!(exit_code_for(&l), 0, "{:?}", all(&l));
    let s = master_script(&l).expect("kept");
    assert_eq!(
        s.args[0], "/tmp/ww/notify.sh",
        "the model keeps what was written"
    );
    assert_eq!(
        s.exec_path,
        Some(PathBuf::from("/etc/keepalived/notify.sh")),
        "the daemon runs the file that was checked, not the link"
    );
}

#[test]
fn refused_scripts_are_reported_in_keepalived_words() {
    let sys = sys()
        .file("/etc/keepalived/open.sh", 0o777)
        .dir("/srv/ww", 0o777)
        .file("/srv/ww/n.sh", 0o755);
    for (path, said) in [
        (
            "/etc/keepalived/open.sh",
            "Unsafe permissions found for script '/etc/keepalived/open.sh' - disabling.",
        ),
        (
            "/srv/ww/n.sh",
            "Unsafe permissions found for script '/srv/ww/n.sh' - disabling.",
        ),
    ] {
        let l = load(
            &config(" enable_script_security\n script_user root", path),
            sys.clone(),
        );
        assert!(master_script(&l).is_none());
        assert_eq!(reported(&l, Severity::Note), [said], "{:?}", all(&l));
        // keepalived only logs it: -t still exits 0.
        assert_eq!(exit_code_for(&l), 0);
    }
}

#[test]
fn a_startup_script_without_a_user_is_an_invalid_script() {
    let text = " enable_script_security\n startup_script /etc/keepalived/notify.sh";
    let l = load(&config(text, "/etc/keepalived/notify.sh"), sys());
    let errors = reported(&l, Severity::Error);
    assert!(
        errors.contains(&"Invalid startup script".to_string()),
        "{:?}",
        all(&l)
    );
    assert!(l.config.global_defs.startup_script.is_none());
    assert_eq!(exit_code_for(&l), 5);
    // With a user that exists it is kept, resolved and checked.
    let text =
        " enable_script_security\n script_user nobody\n startup_script /etc/keepalived/notify.sh";
    let l = load(&config(text, "/etc/keepalived/notify.sh"), sys());
    let s = l.config.global_defs.startup_script.as_ref().expect("kept");
    assert_eq!(s.run_as, Some(RunAs::new(65534, 65534)));
    assert_eq!(
        s.exec_path,
        Some(PathBuf::from("/etc/keepalived/notify.sh"))
    );
}

#[test]
fn a_fifo_whose_owner_cannot_be_set_is_ignored() {
    // keepalived 2.2.7: "Failed to set default user for vrrp_ fifo ... -
    // ignoring", -t exit 5 for the missing keepalived_script.
    let fifo = " enable_script_security\n vrrp_notify_fifo /run/k.fifo";
    let l = load(&config(fifo, "/etc/keepalived/notify.sh"), sys());
    assert_eq!(exit_code_for(&l), 5);
    assert!(l.config.global_defs.vrrp_notify_fifo.path.is_none());
    assert!(reported(&l, Severity::Note)
        .contains(&"Failed to set default user for vrrp_ fifo /run/k.fifo - ignoring".to_string()));
    // An unknown user of its own: ignored, and -t stays 0 as keepalived.
    let own =
        " enable_script_security\n script_user nobody\n vrrp_notify_fifo /run/k.fifo nosuchuser";
    let l = load(&config(own, "/etc/keepalived/notify.sh"), sys());
    assert_eq!(exit_code_for(&l), 0, "{:?}", all(&l));
    assert!(l.config.global_defs.vrrp_notify_fifo.path.is_none());
    // With the default user it is kept and owned by that user.
    let ok = " enable_script_security\n script_user nobody\n vrrp_notify_fifo /run/k.fifo";
    let l = load(&config(ok, "/etc/keepalived/notify.sh"), sys());
    let f = &l.config.global_defs.vrrp_notify_fifo;
    assert_eq!(f.path, Some(PathBuf::from("/run/k.fifo")));
    assert_eq!(f.owner, Some(RunAs::new(65534, 65534)));
}
