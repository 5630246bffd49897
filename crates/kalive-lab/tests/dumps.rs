//! State dumps at keepalived's level (issue 9): kalive and keepalived 2.2.7
//! run the same rich config (global_defs, vrrp_script, track_file, a sync
//! group, unicast and multicast instances with authentication, excluded
//! VIPs, virtual routes and rules, tracked interfaces, notify scripts), each
//! alone in a lab of its own so that every instance becomes MASTER; then
//! each is sent SIGUSR1 and SIGRTMIN+2 and its `/tmp/keepalived.data` and
//! `/tmp/keepalived.json` are compared: the same section headers in the
//! same order, the same field names per block (instance, socket, sync
//! group, script, track file, interface), the same JSON keys recursively.
//! Values differ (timestamps, fds, MACs) and are not compared.
//!
//! `/tmp/keepalived.*` is one path for both daemons: each is dumped and
//! read before the other is signalled.
//!
//! Needs root, iproute2 and keepalived; fails loudly without them.

mod common;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::implementation;
use kalive_lab::{wait_for, Implementation, Lab, LabSpec};

const DATA: &str = "/tmp/keepalived.data";
const JSON: &str = "/tmp/keepalived.json";

/// `@DIR@` is the lab's directory (the tracked file lives there).
const CONFIG: &str = r#"
global_defs {
    router_id LAB_R1
    script_user root
    enable_script_security
    vrrp_garp_master_delay 2
    vrrp_garp_master_repeat 3
    vrrp_version 2
}

vrrp_script chk_ok {
    script "/bin/true"
    interval 1
    fall 2
    rise 2
}

track_file tf_flag {
    file @DIR@/flag
}

vrrp_sync_group G1 {
    group {
        VI_1
        VI_2
    }
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass secret1
    }
    virtual_ipaddress {
        10.0.0.200/24
        10.0.0.201/24 dev eth0 label eth0:vip
    }
    virtual_ipaddress_excluded {
        10.0.5.1/24
    }
    virtual_routes {
        10.9.0.0/24 via 10.0.0.254 dev eth0
    }
    virtual_rules {
        from 10.0.0.200 table 100
    }
    track_interface {
        eth1
    }
    track_script {
        chk_ok
    }
    track_file {
        tf_flag weight 0
    }
}

vrrp_instance VI_2 {
    state BACKUP
    interface eth0
    virtual_router_id 52
    priority 100
    advert_int 1
    unicast_src_ip 10.0.0.1
    unicast_peer {
        10.0.0.2
    }
    virtual_ipaddress {
        10.0.0.210/24
    }
}

vrrp_instance VI_3 {
    state BACKUP
    interface eth0
    virtual_router_id 53
    version 3
    priority 90
    advert_int 0.5
    nopreempt
    notify_master /bin/true
    notify_backup /bin/true
    notify_fault /bin/true
    notify_stop /bin/true
    notify /bin/true
    notify_master_rx_lower_pri /bin/true
    track_interface {
        eth1 weight -30
    }
    track_script {
        chk_ok weight -20
    }
    track_file {
        tf_flag weight 5
    }
    virtual_ipaddress {
        10.0.0.220/24
    }
}
"#;

/// The VIPs that show every instance is MASTER.
const VIPS: [&str; 3] = ["10.0.0.200", "10.0.0.210", "10.0.0.220"];

/// One router (with a second LAN for the tracked `eth1`) running `imp`.
fn lab_running(imp: &Implementation) -> Lab {
    let mut lab = Lab::new(LabSpec {
        routers: 1,
        second_lan: true,
        record: false,
        responder_port: None,
    })
    .unwrap_or_else(|e| panic!("cannot build the lab: {e}"));
    std::fs::write(lab.dir().join("flag"), "0\n").expect("write the tracked file");
    let config = CONFIG.replace("@DIR@", &lab.dir().display().to_string());
    lab.start_daemon(0, imp, &config)
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", imp.name()));
    lab
}

fn all_master(lab: &Lab) -> bool {
    let held = lab.addresses(0).unwrap_or_default();
    VIPS.iter().all(|v| {
        let v: IpAddr = v.parse().expect("address");
        held.iter().any(|a| a.addr == v)
    })
}

/// keepalived's number for SIGRTMIN+2 (`--signum=JSON`).
fn json_signal() -> String {
    let out = Command::new("/usr/sbin/keepalived")
        .arg("--signum=JSON")
        .output()
        .expect("run keepalived --signum=JSON");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Signal `signal` (a name or number for kill(1)) and read `path` once it
/// is complete (`complete` says when; keepalived writes the data file in
/// place, the JSON file through a rename).
fn dump(lab: &Lab, signal: &str, path: &str, complete: fn(&str) -> bool) -> String {
    let _ = std::fs::remove_file(path);
    let pid = lab.daemon_pid(0).expect("daemon pid").to_string();
    let status = Command::new("kill")
        .args(["-s", signal, &pid])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -s {signal} {pid} failed");
    let mut last = String::new();
    wait_for(
        &format!("{path} after {signal}"),
        Duration::from_secs(10),
        Duration::from_millis(100),
        || {
            let text = std::fs::read_to_string(Path::new(path)).unwrap_or_default();
            // Complete and no longer growing.
            let done = complete(&text) && text == last;
            last = text.clone();
            Ok(done.then_some(text))
        },
    )
    .unwrap_or_else(|e| panic!("no dump: {e}\n{}", lab.all_logs()))
}

fn data_complete(text: &str) -> bool {
    text.contains("------< Interfaces >------")
}

fn json_complete(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text).is_ok()
}

/// Both dumps of one daemon.
struct Dumps {
    data: String,
    json: serde_json::Value,
}

fn dumps_of(imp: &Implementation) -> Dumps {
    let lab = lab_running(imp);
    wait_for(
        &format!("{} MASTER of every instance", imp.name()),
        Duration::from_secs(20),
        Duration::from_millis(100),
        || Ok(all_master(&lab).then_some(())),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", lab.all_logs()));
    // The script has its verdict (rise 2 at 1 s) before the dump.
    std::thread::sleep(Duration::from_millis(2500));
    let data = dump(&lab, "USR1", DATA, data_complete);
    let json_text = dump(&lab, &json_signal(), JSON, json_complete);
    let json = serde_json::from_str(&json_text).expect("JSON dump");
    assert!(all_master(&lab), "{} left MASTER while dumping", imp.name());
    Dumps { data, json }
}

/// A data file as the names it carries: per section (in order) its blocks,
/// each a header and the names of its fields. A block starts at one space
/// of indent, its fields are at three; deeper lines are list entries
/// (values). Numbers in a header are masked (fds, indexes differ).
type Layout = Vec<(String, Vec<(String, Vec<String>)>)>;

fn layout(text: &str) -> Layout {
    let mut out: Layout = Vec::new();
    for raw in text.lines() {
        if let Some(title) = raw.strip_prefix("------< ") {
            out.push((title.trim_end_matches(" >------").to_string(), Vec::new()));
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        let Some((_, blocks)) = out.last_mut() else {
            continue;
        };
        match indent {
            // In Global definitions every line is a block of its own.
            1 => blocks.push((header(raw.trim()), Vec::new())),
            3 => {
                if let Some((_, fields)) = blocks.last_mut() {
                    fields.push(field_name(raw.trim()));
                }
            }
            _ => {}
        }
    }
    out
}

/// `VRRP Instance = VI_1` stays (names are the same on both sides),
/// `fd_in 14 fd_out = 15` becomes `fd_in # fd_out = #`; a global
/// definition is reduced to its name.
fn header(line: &str) -> String {
    let named = [
        "VRRP Instance",
        "VRRP Sync Group",
        "VRRP Script",
        "Track file",
        "Name",
    ];
    if named.iter().any(|n| line.starts_with(&format!("{n} = "))) {
        return line.to_string();
    }
    if line.starts_with("fd_in") {
        return line
            .split_whitespace()
            .map(|w| {
                if w.chars().any(|c| c.is_ascii_digit()) {
                    "#"
                } else {
                    w
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
    }
    field_name(line)
}

/// The name part of a field line: before ` = ` or `:`, else without its
/// trailing value words (`Multicast address 224.0.0.18`).
fn field_name(line: &str) -> String {
    let name = if let Some((name, _)) = line.split_once(" = ") {
        name.to_string()
    } else if let Some((name, _)) = line.split_once(':') {
        name.to_string()
    } else {
        // `SNMP vrrp disabled` and the like keep their words: the value is
        // part of keepalived's name for them.
        let words: Vec<&str> = line.split_whitespace().collect();
        let keep = words
            .iter()
            .position(|w| w.chars().any(|c| c.is_ascii_digit()) || w.contains('/'))
            .unwrap_or(words.len());
        words[..keep.max(1)].join(" ")
    };
    // `Virtual IP (2):`: the count is a value.
    let name = name.split(" (").next().unwrap_or_default();
    name.trim().to_string()
}

/// The JSON as the set of key paths it has: objects by key, arrays of
/// objects by index, arrays of scalars as `[]`.
fn key_paths(v: &serde_json::Value, at: &str, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map {
                let path = format!("{at}.{k}");
                out.insert(path.clone());
                key_paths(child, &path, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                match child {
                    serde_json::Value::Object(_) | serde_json::Value::Array(_) => {
                        key_paths(child, &format!("{at}[{i}]"), out)
                    }
                    _ => {
                        out.insert(format!("{at}[]"));
                    }
                }
            }
        }
        _ => {}
    }
}

/// A readable difference between two lists of names: what each side alone
/// has, then both lists side by side.
fn list_diff(what: &str, theirs: &[String], ours: &[String]) -> Option<String> {
    if theirs == ours {
        return None;
    }
    let mut s = format!("{what} differ\n");
    let only_theirs: Vec<&String> = theirs.iter().filter(|x| !ours.contains(x)).collect();
    let only_ours: Vec<&String> = ours.iter().filter(|x| !theirs.contains(x)).collect();
    if !only_theirs.is_empty() {
        s.push_str(&format!("  only keepalived: {only_theirs:?}\n"));
    }
    if !only_ours.is_empty() {
        s.push_str(&format!("  only kalive:     {only_ours:?}\n"));
    }
    if only_theirs.is_empty() && only_ours.is_empty() {
        s.push_str("  same names, another order:\n");
        for i in 0..theirs.len().max(ours.len()) {
            let t = theirs.get(i).map_or("", String::as_str);
            let o = ours.get(i).map_or("", String::as_str);
            let mark = if t == o { ' ' } else { '!' };
            s.push_str(&format!("  {mark} {t:<55} {o}\n"));
        }
    }
    Some(s)
}

fn compare_layouts(theirs: &Layout, ours: &Layout) -> Vec<String> {
    let mut problems = Vec::new();
    let titles = |l: &Layout| l.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>();
    if let Some(d) = list_diff("section headers", &titles(theirs), &titles(ours)) {
        problems.push(d);
    }
    for (title, their_blocks) in theirs {
        let Some((_, our_blocks)) = ours.iter().find(|(t, _)| t == title) else {
            continue;
        };
        let heads =
            |b: &[(String, Vec<String>)]| b.iter().map(|(h, _)| h.clone()).collect::<Vec<_>>();
        if let Some(d) = list_diff(
            &format!("[{title}] blocks"),
            &heads(their_blocks),
            &heads(our_blocks),
        ) {
            problems.push(d);
        }
        for (i, (head, their_fields)) in their_blocks.iter().enumerate() {
            // Blocks with the same header (two sockets) pair up in order.
            let nth = their_blocks[..i].iter().filter(|(h, _)| h == head).count();
            let Some((_, our_fields)) = our_blocks.iter().filter(|(h, _)| h == head).nth(nth)
            else {
                continue;
            };
            if let Some(d) = list_diff(
                &format!("[{title}] {head}: fields"),
                their_fields,
                our_fields,
            ) {
                problems.push(d);
            }
        }
    }
    problems
}

#[test]
fn data_and_json_dumps_have_keepalived_sections_fields_and_keys() {
    let keepalived = dumps_of(&implementation("keepalived"));
    let kalive = dumps_of(&implementation("kalive"));

    let mut problems = compare_layouts(&layout(&keepalived.data), &layout(&kalive.data));
    let (mut theirs, mut ours) = (BTreeSet::new(), BTreeSet::new());
    key_paths(&keepalived.json, "", &mut theirs);
    key_paths(&kalive.json, "", &mut ours);
    if theirs != ours {
        problems.push(format!(
            "JSON keys differ\n  only keepalived: {:?}\n  only kalive:     {:?}\n",
            theirs.difference(&ours).collect::<Vec<_>>(),
            ours.difference(&theirs).collect::<Vec<_>>()
        ));
    }
    assert!(
        problems.is_empty(),
        "kalive's dumps differ from keepalived's:\n{}\n--- keepalived.data (keepalived)\n{}\n--- keepalived.data (kalive)\n{}",
        problems.join("\n"),
        keepalived.data,
        kalive.data
    );
    // The layouts are not empty by accident: every instance is there.
    for name in ["VI_1", "VI_2", "VI_3"] {
        assert!(
            kalive.data.contains(&format!(" VRRP Instance = {name}\n")),
            "{name} missing:\n{}",
            kalive.data
        );
    }
    assert_eq!(
        kalive.json.as_array().map(Vec::len),
        Some(3),
        "{}",
        kalive.json
    );
}

#[test]
fn the_layout_reader_sees_names_not_values() {
    let text = "------< VRRP Topology >------\n VRRP Instance = VI_1\n   State = MASTER\n   Flags:\n     Using unicast\n   Multicast address 224.0.0.18\n   Virtual IP (2):\n     10.0.0.200/24 dev eth0\n   fd_in 14, fd_out 15\n------< VRRP Sockpool >------\n fd_in 14 fd_out = 15\n   Interface = eth0\n";
    let l = layout(text);
    assert_eq!(l.len(), 2);
    assert_eq!(
        l[0].1[0],
        (
            "VRRP Instance = VI_1".to_string(),
            vec![
                "State".to_string(),
                "Flags".into(),
                "Multicast address".into(),
                "Virtual IP".into(),
                "fd_in".into()
            ]
        )
    );
    assert_eq!(l[1].1[0].0, "fd_in # fd_out = #");
    // A missing field is reported.
    let mut other = l.clone();
    other[0].1[0].1.remove(0);
    assert_eq!(compare_layouts(&l, &other).len(), 1);
}
