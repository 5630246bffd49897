//! The kalive binary's command line as an operator uses it: `-t` verdicts
//! and diagnostics, `--dump-json`, `--signum`, `-v`. No root needed.

use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_kalive");

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("kalive-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        Scratch(dir)
    }
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const GOOD: &str = "vrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n    192.0.2.10\n  }\n}\n";

#[test]
fn config_test_exit_codes_and_diagnostics() {
    let s = Scratch::new("t");
    // `lo` is refused by keepalived as a VRRP interface; use a config with
    // only global_defs to get a clean 0.
    let clean = s.file("clean.conf", "global_defs {\n  router_id r1\n}\n");
    let out = Command::new(BIN)
        .args(["-t", "-f"])
        .arg(&clean)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());

    let bad = s.file(
        "bad.conf",
        "global_defs {\n  router_id r1\n  no_such_keyword 1\n}\n",
    );
    let out = Command::new(BIN)
        .args(["-t", "-f"])
        .arg(&bad)
        .output()
        .expect("run");
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    // file:line:col: severity: message
    let first = err.lines().next().unwrap_or_default();
    assert!(first.starts_with(&format!("{}:3:", bad.display())), "{err}");

    let missing = s.0.join("nope.conf");
    let out = Command::new(BIN)
        .args(["-t", "-e", "-f"])
        .arg(&missing)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn config_test_log_file_and_json_dump() {
    let s = Scratch::new("json");
    let conf = s.file("k.conf", GOOD);
    let log = s.0.join("t.log");
    let out = Command::new(BIN)
        .arg(format!("--config-test={}", log.display()))
        .arg("--dump-json")
        .arg("-f")
        .arg(&conf)
        .output()
        .expect("run");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let vi = &json["vrrp_instances"][0];
    assert_eq!(vi["name"], "VI_1");
    assert_eq!(vi["virtual_router_id"], 51);
    assert_eq!(vi["priority"], 100);
    // Diagnostics (here: `lo` refused) went to the log file, not stderr.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    if out.status.code() != Some(0) {
        assert!(
            !logged.is_empty(),
            "a non-zero verdict says why in the log file"
        );
    }
}

#[test]
fn signum_and_version() {
    let out = Command::new(BIN)
        .arg("--signum=JSON")
        .output()
        .expect("run");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "36");
    let out = Command::new(BIN)
        .arg("--signum=RELOAD")
        .output()
        .expect("run");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
    let out = Command::new(BIN)
        .arg("--signum=BOGUS")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let out = Command::new(BIN).arg("-v").output().expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("kalive v"));
}

/// `auth_type AH` passes `-t` as with keepalived (kalive speaks it).
#[test]
fn config_test_accepts_auth_type_ah() {
    let s = Scratch::new("ah");
    let conf = s.file(
        "ah.conf",
        "vrrp_instance VI_AH {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  authentication {\n    auth_type AH\n    auth_pass secret\n  }\n  virtual_ipaddress {\n    192.0.2.10\n  }\n}\n",
    );
    let out = Command::new(BIN)
        .args(["-t", "-f"])
        .arg(&conf)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("auth_type AH"), "{err}");
    assert!(!err.contains("error"), "{err}");
}

const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// Run `bin args...` with a time limit; the exit code, or `None` when it
/// had to be killed (a hang is a failure, never a wait).
fn exit_code_within(
    bin: &str,
    args: &[&std::ffi::OsStr],
    limit: std::time::Duration,
) -> Option<i32> {
    let mut child = Command::new(bin)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Exit codes of the command line itself and of a main config file that is
/// missing, a directory, a FIFO or a device, each compared with keepalived
/// 2.2.7 run the same way: unknown option and missing option value exit 1;
/// the daemon exits 6 ("no config") before it starts; `-t` reports and
/// exits 0 (4 with `-e`). Neither a FIFO nor /dev/zero may hang kalive.
#[test]
fn command_line_and_main_file_exit_codes_match_keepalived() {
    assert!(
        std::path::Path::new(KEEPALIVED).exists(),
        "this test compares with {KEEPALIVED}: apt-get install keepalived"
    );
    let s = Scratch::new("exit");
    let fifo = s.0.join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let missing = s.0.join("missing.conf");
    let dir = s.0.clone();
    let limit = std::time::Duration::from_secs(10);
    let os = |x: &str| std::ffi::OsString::from(x);
    let mut cases: Vec<(String, Vec<std::ffi::OsString>)> = vec![
        ("unknown option".into(), vec![os("--no-such-option")]),
        ("unknown short option".into(), vec![os("-Z")]),
        ("-f without its value".into(), vec![os("-f")]),
    ];
    for (what, path) in [
        ("missing", missing.as_os_str()),
        ("directory", dir.as_os_str()),
        ("FIFO", fifo.as_os_str()),
        ("/dev/zero", std::ffi::OsStr::new("/dev/zero")),
    ] {
        // The daemon (-n so that keepalived would not detach; it exits
        // before starting anything for these).
        cases.push((
            format!("daemon with {what} -f"),
            vec![os("-n"), os("-l"), os("-f"), path.to_owned()],
        ));
        cases.push((
            format!("-t with {what} -f"),
            vec![os("-t"), os("-f"), path.to_owned()],
        ));
        cases.push((
            format!("-t -e with {what} -f"),
            vec![os("-t"), os("-e"), os("-f"), path.to_owned()],
        ));
    }
    for (what, args) in &cases {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let want = exit_code_within(KEEPALIVED, &args, limit);
        let got = exit_code_within(BIN, &args, limit);
        assert!(
            got.is_some(),
            "{what}: kalive did not finish within {limit:?}"
        );
        assert_eq!(
            got, want,
            "{what}: kalive exits {got:?}, keepalived {want:?}"
        );
    }
}
