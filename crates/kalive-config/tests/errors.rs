//! Each error path of the config front end, with keepalived 2.2.7's `-t`
//! exit code (measured against /usr/sbin/keepalived -t on the same inputs):
//! unterminated block, extra brace, bad number, out of range, unknown
//! keyword, missing parameter, missing include, missing file, script
//! security.

use kalive_config::system::FakeSystem;
use kalive_config::test_mode::exit_code_for;
use kalive_config::{config_test, load_str, ConfigTestOptions, Diagnostic, Loaded};
use std::path::Path;
use std::sync::Arc;

fn sys() -> FakeSystem {
    FakeSystem::with_interfaces(&["lo", "eth0", "eth1"])
}

fn load(text: &str) -> Loaded {
    load_str(text, "t.conf", Arc::new(sys()))
}

fn messages(l: &Loaded) -> Vec<String> {
    l.diagnostics.iter().map(Diagnostic::to_string).collect()
}

const GOOD_INSTANCE: &str = "vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.0.0.1/24
    }
}
";

#[test]
fn a_clean_config_reports_nothing_and_exits_0() {
    let l = load(GOOD_INSTANCE);
    assert!(l.diagnostics.is_empty(), "{:?}", messages(&l));
    assert_eq!(exit_code_for(&l), 0);
}

#[test]
fn unterminated_block_is_reported_where_it_opens() {
    let l = load("global_defs {\n    router_id a\n\nvrrp_instance VI_1 {\n interface eth0\n");
    let msgs = messages(&l);
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("t.conf:1:13: error: There are 1 missing '}'s")),
        "{msgs:?}"
    );
    assert_eq!(exit_code_for(&l), 5);
}

#[test]
fn extra_closing_brace_is_an_error() {
    let l = load("global_defs {\n router_id a\n}\n}\n");
    assert!(messages(&l)
        .iter()
        .any(|m| m.starts_with("t.conf:4:1: error: Extra '}' found")));
    assert_eq!(exit_code_for(&l), 5);
}

#[test]
fn bad_number_keeps_the_default() {
    let l = load("global_defs {\n vrrp_garp_master_repeat abc\n}\n");
    let msgs = messages(&l);
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("t.conf:2:26: error: invalid number 'abc'")),
        "{msgs:?}"
    );
    assert_eq!(l.config.global_defs.vrrp_garp_master_repeat, 5);
    assert_eq!(exit_code_for(&l), 5);
}

#[test]
fn out_of_range_keeps_the_default() {
    let l = load("global_defs {\n vrrp_down_timer_adverts 500\n}\n");
    assert!(messages(&l)
        .iter()
        .any(|m| m.contains("number '500' outside range [1, 100]")));
    assert_eq!(l.config.global_defs.vrrp_down_timer_adverts, 3);
    let l = load(&GOOD_INSTANCE.replace("priority 100", "priority 300"));
    assert!(messages(&l)
        .iter()
        .any(|m| m.contains("Priority not valid")));
    assert_eq!(l.config.vrrp_instances[0].priority, 100);
    assert_eq!(exit_code_for(&l), 5);
}

#[test]
fn unknown_keyword_is_reported_and_parsing_goes_on() {
    let text = GOOD_INSTANCE.replace(
        "    priority 100",
        "    interface_name Ethernet0 {\n x\n }\n    priority 120",
    );
    let l = load(&text);
    let msgs = messages(&l);
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("t.conf:4:5: error: Unknown keyword 'interface_name'")),
        "{msgs:?}"
    );
    // Like keepalived (checked line for line against 2.2.7), the unknown
    // block's lines are read at the current level ('x' is unknown there
    // too) and its closing brace ends vrrp_instance: `priority 120` and
    // the VIP block after it are read at the top level, where they are
    // unknown, and so are the two closing braces left.
    assert_eq!(l.config.vrrp_instances[0].priority, 100);
    assert!(msgs.iter().any(|m| m.contains("Unexpected '{' - ignoring")));
    assert!(msgs.iter().any(|m| m.contains("Unknown keyword 'x'")));
    assert!(msgs
        .iter()
        .any(|m| m.starts_with("t.conf:7:5: error: Unknown keyword 'priority'")));
    assert_eq!(
        msgs.iter()
            .filter(|m| m.contains("Unknown keyword '}'"))
            .count(),
        2,
        "{msgs:?}"
    );
    assert_eq!(exit_code_for(&l), 5);
}

#[test]
fn missing_parameter_stops_parsing_with_exit_2() {
    let text = GOOD_INSTANCE.replace("    priority 100", "    advert_int\n    bogus_keyword 1");
    let l = load(&text);
    let msgs = messages(&l);
    assert!(
        msgs[0].contains("Configuration line starting `advert_int` is missing a parameter after keyword `advert_int` at word position 2"),
        "{msgs:?}"
    );
    // keepalived exits at that line: nothing after it is reported.
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!(exit_code_for(&l), 2);
}

#[test]
fn deprecated_alias_is_accepted_with_a_warning() {
    let l = load(&GOOD_INSTANCE.replace(
        "    priority 100",
        "    priority 100\n    thread_timer_expired",
    ));
    assert!(messages(&l)
        .iter()
        .any(|m| m.contains("warning: Keyword 'thread_timer_expired' is deprecated")));
    assert_eq!(l.config.vrrp_instances[0].timer_expired_backup, Some(254));
    assert_eq!(exit_code_for(&l), 5);
}

fn test_file(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test config");
    p
}

fn run(file: &Path, all_config: bool) -> kalive_config::ConfigTestOutcome {
    config_test(&ConfigTestOptions {
        config_file: file.to_path_buf(),
        all_config,
        system: Arc::new(sys()),
        ..ConfigTestOptions::default()
    })
}

#[test]
fn missing_include_follows_keepalived() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Legacy `include`: reported, not an error (exit 0); with -e it is (6).
    let plain = test_file(dir.path(), "a.conf", "include nope.conf\n");
    let o = run(&plain, false);
    assert_eq!(o.exit_code, 0, "{:?}", o.diagnostics);
    assert_eq!(run(&plain, true).exit_code, 6);
    // `includem` checks that the file matches: exit 6 without -e too.
    let checked = test_file(dir.path(), "b.conf", "includem nope.conf\n");
    let o = run(&checked, false);
    assert_eq!(o.exit_code, 6);
    assert!(o
        .diagnostics
        .iter()
        .any(|d| d.message.contains("Config files missing")));
    // An existing include is read, relative to the including file.
    test_file(dir.path(), "inc.conf", GOOD_INSTANCE);
    let main = test_file(dir.path(), "c.conf", "include inc.conf\n");
    let o = run(&main, false);
    assert_eq!(o.exit_code, 0, "{:?}", o.diagnostics);
    assert_eq!(o.model.vrrp_instances.len(), 1);
}

#[test]
fn missing_main_file_is_0_without_e_and_4_with_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("none.conf");
    assert_eq!(run(&missing, false).exit_code, 0);
    assert_eq!(run(&missing, true).exit_code, 4);
}

#[test]
fn scripts_without_script_security_exit_6() {
    let text = format!(
        "vrrp_script chk {{\n script \"/usr/local/bin/chk.sh\"\n}}\n{}",
        GOOD_INSTANCE.replace(
            "    priority 100",
            "    priority 100\n    track_script {\n chk\n }"
        )
    );
    let sys = sys().file("/usr/local/bin/chk.sh", 0o755);
    let l = load_str(&text, "t.conf", Arc::new(sys.clone()));
    let msgs = messages(&l);
    assert!(
        msgs.iter().any(|m| m.contains(
            "SECURITY VIOLATION - scripts are being executed but script_security not enabled"
        )),
        "{msgs:?}"
    );
    assert_eq!(exit_code_for(&l), 6);

    // With script security and no keepalived_script user, the script is
    // removed (exit 5, no violation)...
    let secure = format!("global_defs {{\n enable_script_security\n}}\n{text}");
    let l = load_str(&secure, "t.conf", Arc::new(sys.clone()));
    assert!(messages(&l)
        .iter()
        .any(|m| m.contains("Unable to set default user for vrrp script chk - removing")));
    assert_eq!(exit_code_for(&l), 5);
    // ...and with the user it runs as that user: nothing to report.
    let l = load_str(
        &secure,
        "t.conf",
        Arc::new(sys.user("keepalived_script", 999)),
    );
    assert!(l.diagnostics.is_empty(), "{:?}", messages(&l));
    assert_eq!(exit_code_for(&l), 0);
}

#[test]
fn a_world_writable_script_is_disabled_under_script_security() {
    let text = format!(
        "global_defs {{\n enable_script_security\n script_user root\n}}\nvrrp_script chk {{\n script /tmp/chk.sh\n}}\n{}",
        GOOD_INSTANCE
    );
    let sys = sys().file("/tmp/chk.sh", 0o777);
    let l = load_str(&text, "t.conf", Arc::new(sys));
    assert!(messages(&l)
        .iter()
        .any(|m| m.contains("Disabling track script chk due to insecure")));
    assert!(l.config.vrrp_scripts.is_empty());
}
