//! Replays a recorded input file (JSON lines under `tests/data/`) and
//! compares the outputs with a stored file. Regenerate the expected outputs
//! with `KALIVE_BLESS=1 cargo test -p kalive-vrrp --test replay` and review
//! the diff.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use kalive_vrrp::{
    Authentication, Family, Input, InstanceConfig, Output, SyncGroupConfig, Timestamp,
    TrackedScript, Version, Vrrp,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
struct InputLine {
    at: Timestamp,
    input: Input,
}

#[derive(Debug, Serialize)]
struct OutputLine<'a> {
    at: Timestamp,
    output: &'a Output,
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The configuration the input file was recorded against.
fn configs() -> (Vec<InstanceConfig>, Vec<SyncGroupConfig>) {
    let mut vi1 = InstanceConfig::new("vi_1", 51, Family::V4, "eth0", 100)
        .with_vip(IpAddr::V4(Ipv4Addr::new(192, 168, 51, 1)));
    vi1.authentication = Authentication::pass("kalive");
    vi1.source = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    let mut vi2 = InstanceConfig::new("vi_2", 52, Family::V4, "eth1", 150)
        .with_vip(IpAddr::V4(Ipv4Addr::new(192, 168, 52, 1)));
    vi2.version = Version::V3;
    vi2.source = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)));
    vi2.track_scripts.push(TrackedScript {
        name: "chk_web".into(),
        weight: -60,
        reverse: false,
        rise: 1,
        fall: 1,
        init_fail: false,
    });
    let group = SyncGroupConfig {
        name: "G".into(),
        members: vec!["vi_1".into(), "vi_2".into()],
    };
    (vec![vi1, vi2], vec![group])
}

fn run(inputs: &str) -> String {
    let (instances, groups) = configs();
    let mut vrrp = Vrrp::new(instances, groups, Timestamp::ZERO).expect("config");
    let mut out = String::new();
    let mut drain = |vrrp: &mut Vrrp, at: Timestamp| {
        while let Some(output) = vrrp.poll_output() {
            let line = serde_json::to_string(&OutputLine {
                at,
                output: &output,
            })
            .expect("serialize");
            out.push_str(&line);
            out.push('\n');
        }
    };
    for (n, line) in inputs.lines().enumerate() {
        let line: InputLine =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("input line {}: {e}", n + 1));
        for _ in 0..100_000 {
            match vrrp.poll_timeout() {
                Some(deadline) if deadline <= line.at => {
                    vrrp.handle_timeout(deadline);
                    drain(&mut vrrp, deadline);
                }
                _ => break,
            }
        }
        vrrp.handle_input(line.at, line.input);
        drain(&mut vrrp, line.at);
    }
    out
}

#[test]
fn replay_matches_recorded_outputs() {
    let inputs = std::fs::read_to_string(data("replay_input.jsonl")).expect("input file");
    let actual = run(&inputs);
    let expected_path = data("replay_output.jsonl");
    if std::env::var_os("KALIVE_BLESS").is_some() {
        std::fs::write(&expected_path, &actual).expect("write expected outputs");
        return;
    }
    let expected = std::fs::read_to_string(&expected_path)
        .expect("expected outputs missing: run with KALIVE_BLESS=1 to create them");
    for (n, (a, e)) in actual.lines().zip(expected.lines()).enumerate() {
        assert_eq!(a, e, "output line {} differs", n + 1);
    }
    assert_eq!(
        actual.lines().count(),
        expected.lines().count(),
        "number of output lines differs"
    );
}
