//! `kalive-lab demo` end to end, as a user runs it: the binary, its
//! narration on stdout, and nothing left behind afterwards (also after
//! Ctrl-C).
//!
//! Needs root, iproute2, nftables, nginx (`apt-get install -y nginx-light`)
//! and the kalive binary next to kalive-lab (`cargo build -p kalive`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn preflight() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the demo test needs root (network namespaces)"
    );
    for program in ["ip", "nft", "nginx"] {
        assert!(
            kalive_lab::cmd::find_program(program).is_some(),
            "the demo test needs {program} (apt-get install -y iproute2 nftables nginx-light)"
        );
    }
    assert!(
        kalive_lab::find_kalive_binary().is_some(),
        "the demo test needs the kalive binary next to kalive-lab (cargo build -p kalive)"
    );
}

/// Namespaces whose name starts with `kl<pid>` (the demo's prefix).
fn leftovers(pid: u32) -> Vec<String> {
    kalive_lab::namespaces_with_prefix(&format!("kl{pid}")).expect("ip netns list")
}

/// The client's answers on a status line of the LB act.
fn answers(line: &str) -> Option<Vec<&str>> {
    let rest = line.split_once("client -> 10.1.0.254: ")?.1;
    Some(rest.split(" | ").next()?.split_whitespace().collect())
}

/// A number after `marker` in `text` (e.g. "left the rotation 2.1 s").
fn figure(text: &str, marker: &str) -> f64 {
    let rest = text
        .split_once(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in the narration:\n{text}"))
        .1;
    rest.split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no number after {marker:?}: {rest}"))
}

#[test]
fn the_demo_narrates_failover_load_balancing_and_cleans_up() {
    preflight();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_kalive-lab"))
        .arg("demo")
        .stdin(Stdio::null())
        .output()
        .expect("run kalive-lab demo");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "demo failed: {}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}\ndemo took {took:?}");
    // Act 1: VRRP.
    for milestone in ["=== takeover r1 -> r2", "=== preemption r2 -> r1"] {
        assert!(text.contains(milestone), "no {milestone:?}:\n{text}");
    }
    // Act 2: load balancing.
    let milestones = [
        "--- act 2: load balancing",
        "=== served by web1, web2 and web3 in turn (rr) through d1",
        ">>> killing web2's nginx",
        "=== web2 left the rotation",
        ">>> starting web2's nginx again",
        "=== web2 rejoined",
        ">>> the master director d1 dies",
        "=== d2 took over",
        "done in",
    ];
    let mut at = 0;
    for milestone in milestones {
        let found = text[at..]
            .find(milestone)
            .unwrap_or_else(|| panic!("no {milestone:?} (in order) in:\n{text}"));
        at += found + milestone.len();
    }
    assert!(text.contains("nothing left behind"), "{text}");
    // delay_loop 1 + retry 1 x (connect_timeout 1 + delay_before_retry 1)
    // = 3 s worst case; generous for a loaded machine.
    let removal = figure(&text, "=== web2 left the rotation ");
    assert!(removal < 8.0, "web2 left after {removal} s:\n{text}");
    assert!(
        text.contains("of them failed or reached web2") && figure(&text, "requests, ") == 0.0,
        "requests failed or reached web2 after it left:\n{text}"
    );
    // What the user sees: between web2 leaving and its return, no status
    // line shows web2 answering, and all lines show answers.
    let window = text
        .split_once("=== web2 left the rotation")
        .and_then(|(_, rest)| rest.split_once(">>> starting web2's nginx again"))
        .map(|(w, _)| w)
        .expect("window");
    for line in window.lines().filter_map(answers) {
        assert!(
            !line.contains(&"web2"),
            "web2 answered after leaving:\n{text}"
        );
    }
    let rejoin = figure(&text, "it answered a client ");
    assert!(rejoin < 8.0, "web2 rejoined after {rejoin} s:\n{text}");
    // Failover: about the master-down interval (3.6 s) plus GARP; bounded
    // generously. Afterwards every request is served, by all three.
    let outage = figure(&text, "unanswered for ");
    assert!(outage < 10.0, "client unserved for {outage} s:\n{text}");
    let after = text.split_once("=== d2 took over").expect("took over").0;
    let tail: Vec<&str> = after
        .rsplit_once(">>> the master director d1 dies")
        .expect("d1 dies")
        .1
        .lines()
        .filter_map(answers)
        .flatten()
        .collect();
    let served: Vec<&str> = tail
        .iter()
        .rev()
        .take_while(|a| **a != "--")
        .copied()
        .collect();
    for web in ["web1", "web2", "web3"] {
        assert!(
            served.contains(&web),
            "{web} not served through d2:\n{text}"
        );
    }
    let pid = out_pid_hint(&text);
    assert!(leftovers(pid).is_empty(), "namespaces left behind");
    let sockets: Vec<_> = std::fs::read_dir("/run/kalive")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(&format!("kl{pid}")))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        sockets.is_empty(),
        "control sockets left behind: {sockets:?}"
    );
}

/// The PID in the demo's prefix, read from its first line (`lab klPIDx0:`).
fn out_pid_hint(text: &str) -> u32 {
    text.split_once("lab kl")
        .and_then(|(_, rest)| rest.split('x').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no lab prefix in:\n{text}"))
}

#[test]
fn ctrl_c_during_the_load_balancing_act_removes_everything() {
    preflight();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kalive-lab"))
        .arg("demo")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run kalive-lab demo");
    let pid = child.id();
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut seen = String::new();
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => {
                let served = line.contains("=== served by web1");
                seen.push_str(&line);
                seen.push('\n');
                if served {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    assert!(
        seen.contains("=== served by web1"),
        "the LB act did not start serving:\n{seen}"
    );
    assert!(!leftovers(pid).is_empty(), "the act's namespaces exist");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("SIGINT");
    let status = child.wait().expect("wait for the demo");
    assert!(!status.success(), "an interrupted demo exits non-zero");
    assert!(
        leftovers(pid).is_empty(),
        "namespaces left after Ctrl-C: {:?}",
        leftovers(pid)
    );
    // Every nginx and kalive of the demo ran from its directory.
    let dir_marker = format!("kl{pid}lb");
    let strays: Vec<String> = std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&dir_marker))
        .collect();
    assert!(strays.is_empty(), "processes left after Ctrl-C: {strays:?}");
}

#[test]
fn with_keepalived_the_demo_runs_the_vrrp_act_and_says_why_it_skips_the_lb_act() {
    preflight();
    assert!(
        kalive_lab::daemon::keepalived_path().is_some(),
        "this test needs keepalived (apt-get install -y keepalived)"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_kalive-lab"))
        .args(["demo", "--impl", "keepalived"])
        .stdin(Stdio::null())
        .output()
        .expect("run kalive-lab demo --impl keepalived");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "demo failed: {}\n{text}", out.status);
    for milestone in [
        "=== takeover r1 -> r2",
        "=== preemption r2 -> r1",
        "act 2 (load balancing) skipped for keepalived: ",
        "nothing left behind",
    ] {
        assert!(text.contains(milestone), "no {milestone:?}:\n{text}");
    }
    assert!(!text.contains("=== served by"), "no LB act:\n{text}");
    assert!(leftovers(out_pid_hint(&text)).is_empty());
}
