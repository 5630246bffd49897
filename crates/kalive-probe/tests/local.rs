//! MISC_CHECK scripts and FILE_CHECK files.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::TempDir;
use kalive_probe::{file_check, misc_check, Detail, FileReading, MiscCheck};

fn script(dir: &TempDir, name: &str, body: &str) -> MiscCheck {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&path, perms).unwrap();
    MiscCheck::new(vec![path.display().to_string()], Duration::from_secs(5)).unwrap()
}

fn misc_detail(detail: &Detail) -> (Option<i32>, Option<u8>, bool, &[u8]) {
    match detail {
        Detail::Misc {
            exit_code,
            weight,
            timed_out,
            output,
            ..
        } => (*exit_code, *weight, *timed_out, output),
        other => panic!("not a misc detail: {other:?}"),
    }
}

fn alive(pid: u32) -> bool {
    // A zombie is dead for our purpose.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.split(") ").nth(1).unwrap_or("").starts_with('Z'))
        .unwrap_or(false)
}

#[tokio::test]
async fn misc_exit_codes_and_dynamic_weights() {
    let dir = TempDir::new("misc");
    let ok = misc_check(&script(&dir, "ok", "echo fine; exit 0")).await;
    assert!(ok.success, "{ok:?}");
    assert_eq!(
        misc_detail(&ok.detail),
        (Some(0), None, false, &b"fine\n"[..])
    );

    let fail = misc_check(&script(&dir, "fail", "echo broken >&2; exit 1")).await;
    assert!(!fail.success);
    assert_eq!(fail.reason.as_deref(), Some("exited with status 1"));
    assert_eq!(misc_detail(&fail.detail).3, b"broken\n");

    // Without misc_dynamic any non-zero code fails; with it 2..=255 passes
    // and sets weight = code - 2, while 1 still fails.
    let mut seven = script(&dir, "seven", "exit 7");
    assert!(!misc_check(&seven).await.success);
    seven.dynamic = true;
    let weighted = misc_check(&seven).await;
    assert!(weighted.success, "{weighted:?}");
    assert_eq!(misc_detail(&weighted.detail).1, Some(5));
    let mut top = script(&dir, "top", "exit 255");
    top.dynamic = true;
    assert_eq!(misc_detail(&misc_check(&top).await.detail).1, Some(253));
    let mut two = script(&dir, "two", "exit 2");
    two.dynamic = true;
    assert_eq!(misc_detail(&misc_check(&two).await.detail).1, Some(0));
    let mut one = script(&dir, "one", "exit 1");
    one.dynamic = true;
    assert!(!misc_check(&one).await.success);

    // Killed by a signal.
    let killed = misc_check(&script(&dir, "killed", "kill -9 $$")).await;
    assert_eq!(killed.reason.as_deref(), Some("killed by signal 9"));

    // Not executable at all.
    let missing = MiscCheck::new(
        vec![dir.join("nope").display().to_string()],
        Duration::from_secs(1),
    )
    .unwrap();
    let out = misc_check(&missing).await;
    assert!(
        !out.success
            && out
                .reason
                .as_deref()
                .unwrap_or("")
                .starts_with("cannot run"),
        "{out:?}"
    );
    assert!(MiscCheck::new(Vec::new(), Duration::from_secs(1)).is_err());

    // Arguments are passed as given.
    let args = MiscCheck::new(
        vec![
            "/bin/sh".into(),
            "-c".into(),
            "test \"$1\" = 'two words'".into(),
            "sh".into(),
            "two words".into(),
        ],
        Duration::from_secs(5),
    )
    .unwrap();
    assert!(misc_check(&args).await.success);
}

#[tokio::test]
async fn misc_hang_is_killed_with_its_children() {
    let dir = TempDir::new("misc-hang");
    let pids = dir.join("child.pid");
    // The script starts a child, records its pid, and hangs; it ignores
    // SIGTERM, so only the group SIGKILL after the grace period ends it.
    let mut hang = script(
        &dir,
        "hang",
        &format!(
            "trap '' TERM\nsleep 600 &\necho $! > {}\nwait\nsleep 600",
            pids.display()
        ),
    );
    hang.timeout = Duration::from_millis(500);
    let started = Instant::now();
    let out = misc_check(&hang).await;
    let took = started.elapsed();
    assert!(!out.success);
    assert_eq!(out.reason.as_deref(), Some("timed out after 500ms"));
    assert!(misc_detail(&out.detail).2, "timed_out flag");
    assert!(took < Duration::from_secs(6), "took {took:?}");
    let child: u32 = std::fs::read_to_string(&pids)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(child) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(child), "the script's child {child} survived");

    // A script that obeys SIGTERM ends within the grace period.
    let mut polite = script(&dir, "polite", "sleep 600");
    polite.timeout = Duration::from_millis(300);
    let started = Instant::now();
    assert!(!misc_check(&polite).await.success);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn misc_cancelled_check_kills_the_group_and_user_applies() {
    let dir = TempDir::new("misc-cancel");
    let pids = dir.join("child.pid");
    let mut slow = script(
        &dir,
        "slow",
        &format!("sleep 600 &\necho $! > {}\nwait", pids.display()),
    );
    slow.timeout = Duration::from_secs(60);
    // The caller gives up (drops the future) after half a second.
    let cancelled = tokio::time::timeout(Duration::from_millis(500), misc_check(&slow)).await;
    assert!(cancelled.is_err());
    let child: u32 = std::fs::read_to_string(&pids)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(child) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !alive(child),
        "the script's child {child} survived the cancelled check"
    );

    // `user`: the script runs as nobody (65534).
    let mut whoami = MiscCheck::new(
        vec!["/usr/bin/id".into(), "-u".into()],
        Duration::from_secs(5),
    )
    .unwrap();
    whoami.uid = Some(65534);
    whoami.gid = Some(65534);
    let out = misc_check(&whoami).await;
    assert!(out.success, "{out:?}");
    assert_eq!(misc_detail(&out.detail).3, b"65534\n");
}

#[tokio::test]
async fn misc_output_flood_is_drained_and_bounded() {
    let dir = TempDir::new("misc-flood");
    // 20 MB on stdout and stderr: far more than a pipe holds, so an
    // undrained script would block and time out.
    let flood = script(
        &dir,
        "flood",
        "head -c 20000000 /dev/zero; head -c 20000000 /dev/zero >&2; exit 0",
    );
    let mut flood = flood;
    flood.timeout = Duration::from_secs(60);
    let out = misc_check(&flood).await;
    assert!(out.success, "{out:?}");
    assert_eq!(
        misc_detail(&out.detail).3.len(),
        kalive_probe::DEFAULT_MISC_OUTPUT_BYTES
    );
}

#[tokio::test]
async fn file_values_as_keepalived_reads_them() {
    let dir = TempDir::new("file");
    let value = |name: &str, content: &str| {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    };
    for (content, expected) in [
        ("0\n", 0),
        ("42", 42),
        ("-254\n", -254),
        ("0x10", 16),
        ("010", 8),
        ("  7 apples", 7),
        ("up", 0),
        ("", 0),
        ("2147483648", 2_147_483_648),
    ] {
        let path = value("v", content);
        assert_eq!(
            file_check(&path).await,
            FileReading::Value(expected),
            "{content:?}"
        );
    }
    assert_eq!(
        file_check(Path::new("/nonexistent/kalive-probe")).await,
        FileReading::Value(0)
    );
    for bad in ["2147483649", "-2147483649", "99999999999999999999"] {
        let path = value("bad", bad);
        assert!(
            matches!(file_check(&path).await, FileReading::Ignored { .. }),
            "{bad}"
        );
    }
    // Only the first 127 bytes count.
    let long = value("long", &format!("{}5", " ".repeat(127)));
    assert_eq!(file_check(&long).await, FileReading::Value(0));
}
