//! Hand-written LVS configs: kalive's `-t` verdict and LVS messages equal
//! Debian keepalived 2.2.7's (`keepalived -t -f FILE`, run inside a network
//! namespace this test creates and deletes).
//!
//! Needs root (network namespaces) and /usr/sbin/keepalived; without them
//! the test fails and says so.

use kalive_config::{config_test, ConfigTestOptions, Severity};
use std::path::Path;
use std::process::Command;

const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// A network namespace that is deleted on every exit path.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("kalive-lvs-{}-{tag}", std::process::id());
        let st = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("run ip netns add");
        assert!(st.success(), "ip netns add {name} failed (root needed)");
        Netns(name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn preconditions() {
    // Effective uid from /proc/self/status (no libc call needed).
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let uid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or("?");
    assert_eq!(uid, "0", "lvs_keepalived needs root (network namespaces)");
    assert!(
        Path::new(KEEPALIVED).exists(),
        "{KEEPALIVED} missing: apt-get install keepalived"
    );
}

/// keepalived's `-t` exit code and messages as `(line or 0, text)`.
fn keepalived_t(ns: &Netns, file: &Path) -> (i32, Vec<(u32, String)>) {
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.0, KEEPALIVED, "-t", "-f"])
        .arg(file)
        .output()
        .expect("run keepalived -t");
    let code = out.status.code().unwrap_or(-1);
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    let prefix = format!("({}: Line ", file.display());
    let mut msgs = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match line.strip_prefix(&prefix).and_then(|r| r.split_once(") ")) {
            Some((n, msg)) => msgs.push((n.parse().unwrap_or(0), msg.to_string())),
            None => msgs.push((0, line.to_string())),
        }
    }
    (code, msgs)
}

fn kalive_t(file: &Path) -> (i32, Vec<(u32, String)>) {
    let out = config_test(&ConfigTestOptions {
        config_file: file.to_path_buf(),
        ..ConfigTestOptions::default()
    });
    let msgs = out
        .diagnostics
        .iter()
        .filter(|d| d.severity > Severity::Note)
        .map(|d| (d.span.as_ref().map_or(0, |s| s.line), d.message.clone()))
        .collect();
    (out.exit_code, msgs)
}

/// (name, config, keepalived 2.2.7's `-t` exit code).
const CASES: &[(&str, i32, &str)] = &[
    (
        "clean_nat_http",
        0,
        "virtual_server 10.0.0.1 80 {\n  delay_loop 6\n  lb_algo wrr\n  lb_kind NAT\n  protocol TCP\n  persistence_timeout 50\n  sorry_server 10.0.0.9 80\n  real_server 10.0.0.2 8080 {\n    weight 3\n    HTTP_GET {\n      url {\n        path /health\n        status_code 200-299 404\n      }\n      connect_timeout 3\n      retry 2\n      delay_before_retry 2\n    }\n  }\n  real_server 10.0.0.3 8080 {\n    TCP_CHECK {\n      connect_port 8081\n    }\n  }\n}\n",
    ),
    (
        "clean_every_checker",
        0,
        "SSL {\n  ca /etc/ssl/ca.pem\n}\ntrack_file tf1 {\n  file /tmp/kalive-lvs-test-tf1\n}\nvirtual_server 10.0.0.1 53 {\n  lvs_sched sh\n  sh-port\n  lvs_method DR\n  protocol UDP\n  ops\n  real_server 10.0.0.2 53 {\n    DNS_CHECK {\n      type A\n      name example.com\n    }\n    UDP_CHECK {\n      payload 0102 03\n      require_reply 01XX\n    }\n    PING_CHECK {\n      retry 4\n    }\n    FILE_CHECK {\n      track_file tf1\n      weight -2 reverse\n    }\n    SMTP_CHECK {\n      helo_name mx.example.com\n      host {\n        connect_ip 10.0.0.4\n        connect_port 25\n      }\n    }\n    SSL_GET {\n      url {\n        path /\n      }\n      enable_sni\n    }\n    MISC_CHECK {\n      misc_path \"/nonexistent/kalive-check arg\"\n      misc_dynamic\n      misc_timeout 5\n    }\n  }\n}\n",
    ),
    (
        "unknown_scheduler",
        5,
        "virtual_server 10.0.0.1 80 {\n    lb_algo bogus\n    lb_kind NAT\n    protocol TCP\n    real_server 10.0.0.2 80 {\n    }\n}\n",
    ),
    (
        "bad_port",
        5,
        "virtual_server 10.0.0.1 70000 {\n    lb_algo rr\n    protocol TCP\n    real_server 10.0.0.2 80 {\n    }\n}\n",
    ),
    (
        "weights",
        5,
        "virtual_server 10.0.0.1 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    weight 0\n    real_server 10.0.0.2 80 {\n        weight -1\n    }\n    real_server 10.0.0.3 80 {\n        weight 3000000000\n    }\n}\n",
    ),
    (
        "no_protocol",
        5,
        "virtual_server 10.0.0.1 53 {\n    lb_algo rr\n    lb_kind NAT\n    real_server 10.0.0.2 53 {\n    }\n}\n",
    ),
    (
        "zero_port_no_method",
        5,
        "virtual_server 10.0.0.1 {\n    lb_algo rr\n    protocol UDP\n    real_server 10.0.0.2 80 {\n    }\n}\n",
    ),
    (
        "group_ranges",
        5,
        "virtual_server_group G {\n    10.0.0.1-10 80\n    10.0.0.20-10.0.0.30 80\n    10.0.1.0/29 80\n    ae00::2-9 80\n    10.0.1.1/29 80\n    10.0.2.9-5 80\n    10.0.3.1-300 80\n    10.0.0.1-abc 80\n    10.0.5.1 70000\n    fwmark 7 inet\n}\nvirtual_server group G {\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n    real_server 10.0.0.2 81 {\n    }\n}\n",
    ),
    (
        "group_removed",
        5,
        "virtual_server_group G {\n    10.0.0.1 80\n    ae00::1 80\n    fwmark 3\n}\nvirtual_server_group E {\n}\n",
    ),
    (
        "missing_parameter",
        2,
        "virtual_server 10.0.0.1 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    quorum\n    lb_algo bogus\n}\n",
    ),
    (
        "validation",
        5,
        "virtual_server 10.0.0.6 80 {\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n    quorum 5\n    hysteresis 9\n    ops\n    real_server 10.0.0.2 81 {\n    }\n    real_server 10.0.0.2 81 {\n    }\n    real_server 10.0.0.3 {\n    }\n}\nvirtual_server fwmark 5 {\n    lb_algo rr\n    lb_kind DR\n    ha_suspend\n    protocol TCP\n    sorry_server_inhibit\n    sorry_server 10.0.0.9 80\n    real_server 10.0.0.2 80 {\n    }\n}\nvirtual_server 10.0.0.5 80 {\n    lb_algo rr\n    protocol TCP\n}\n",
    ),
    (
        "tunnels",
        5,
        "virtual_server fwmark 3 {\n    lb_algo rr\n    lb_kind TUN type gue port 6080 csum\n    real_server 10.0.0.3 {\n        lvs_method TUN type ipip csum\n    }\n    real_server 10.0.0.4 {\n        lvs_method TUN type gre\n    }\n    real_server 10.0.0.5 {\n        lvs_method TUN type gue\n    }\n    real_server 2001:db8::1 {\n        lvs_method TUN type foo\n    }\n}\n",
    ),
    (
        "checker_values",
        5,
        "virtual_server 10.0.0.1 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    real_server 10.0.0.2 80 {\n        HTTP_GET {\n            url {\n                path /\n                digest 1234\n                status_code 200 600 500-400\n            }\n            url {\n                digest zz345678901234567890123456789012\n            }\n            http_protocol 2.0\n            nb_get_retry 3\n        }\n        DNS_CHECK {\n            type foo\n            name a.b\n        }\n        UDP_CHECK {\n            payload 12zz\n            min_reply_length 300\n        }\n        TCP_CHECK {\n            connect_ip fe80::1\n            bind_port 0\n            delay_loop 1.5x\n            retry -1\n        }\n        BFD_CHECK {\n            name nosuchbfd\n        }\n        FILE_CHECK {\n            track_file nosuchfile\n        }\n        HTTP_GET {\n        }\n    }\n}\n",
    ),
    (
        "vs_values",
        5,
        "virtual_server 10.0.0.1 80 {\n    lb_algo rr\n    lb_kind FOO\n    protocol tcp\n    persistence_timeout 0\n    quorum 0\n    sh-port\n    delay_loop abc\n    retry 0\n    connect_timeout 1e3\n    smtp_alert maybe\n    ip_family inet6\n    virtualhost\n    persistence_engine abcdefghijklmnopqrstuvwxyz\n    real_server 10.0.0.2 80 {\n       uthreshold -3\n       inhibit_on_failure maybe\n       notify_up /nonexistent/up.sh\n       notify_up /nonexistent/up2.sh\n       bogus_kw 1\n    }\n}\n",
    ),
    (
        "script_security",
        6,
        "virtual_server 10.0.0.1 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    real_server 10.0.0.2 80 {\n        MISC_CHECK {\n            misc_path \"/bin/true\"\n        }\n    }\n}\n",
    ),
    (
        "misc_user_unknown",
        5,
        "virtual_server 10.0.0.1 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    real_server 10.0.0.2 80 {\n        MISC_CHECK {\n            misc_path \"/bin/sh -c 'exit 0'\"\n            user nosuchuser-kalive\n        }\n    }\n}\n",
    ),
];

#[test]
fn lvs_verdicts_and_messages_match_keepalived() {
    preconditions();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut mismatches = Vec::new();
    for (i, (name, code, text)) in CASES.iter().enumerate() {
        let file = dir.path().join(format!("{name}.conf"));
        std::fs::write(&file, text).expect("write case");
        let ns = Netns::new(&i.to_string());
        let theirs = keepalived_t(&ns, &file);
        drop(ns);
        let ours = kalive_t(&file);
        assert_eq!(
            theirs.0, *code,
            "{name}: keepalived's verdict changed: {theirs:?}"
        );
        if theirs != ours {
            mismatches.push(format!(
                "{name}:\n  keepalived: {theirs:?}\n  kalive:     {ours:?}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
