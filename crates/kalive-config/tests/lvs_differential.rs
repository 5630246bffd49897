//! Differential test: generated LVS configs (valid and broken values of
//! every virtual_server / real_server / checker keyword) must get the same
//! `-t` exit code and the same messages, line for line, from kalive and
//! from Debian's keepalived 2.2.7, run in a network namespace this test
//! creates and deletes.
//!
//! A fixed set of seeds runs by default (bounded: `LVS_DIFF_N` configs,
//! default 40). Configs that make keepalived itself crash (it segfaults on
//! some broken inputs) are skipped, and counted in the output. More seeds:
//! `LVS_DIFF_N=1000 LVS_DIFF_FROM=5000 cargo test -p kalive-config --test
//! lvs_differential -- --nocapture`.
//!
//! Needs root and /usr/sbin/keepalived; fails with a clear message without.

use kalive_config::{config_test, ConfigTestOptions, Severity};
use std::path::Path;
use std::process::Command;

const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// xorshift64*: small, deterministic, good enough to pick words.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const NUMS: &[&str] = &[
    "0",
    "1",
    "2",
    "5",
    "60",
    "-1",
    "abc",
    "1.5",
    "4294967296",
    "2147483648",
    "65536",
    "007",
];
const TIMERS: &[&str] = &[
    "0",
    "1",
    "2.5",
    "0.000001",
    "-1",
    "abc",
    "1.5x",
    "3",
    "4294.967296",
];
const BOOLS: &[&str] = &["", "yes", "no", "off", "maybe"];
const IPS: &[&str] = &[
    "10.0.0.2",
    "10.0.0.3",
    "10.0.0.300",
    "fe80::1",
    "2001:db8::5",
    "abc",
];
const PORTS: &[&str] = &["80", "81", "0", "70000", "", "443"];

fn vs_keyword(r: &mut Rng) -> String {
    let k = r.pick(&[
        "lb_algo",
        "lb_kind",
        "protocol",
        "delay_loop",
        "retry",
        "delay_before_retry",
        "warmup",
        "connect_timeout",
        "persistence_timeout",
        "persistence_granularity",
        "quorum",
        "hysteresis",
        "weight",
        "ha_suspend",
        "alpha",
        "omega",
        "smtp_alert",
        "virtualhost",
        "ops",
        "sh-port",
        "mh-port",
        "hashed",
        "ip_family",
        "sorry_server",
        "sorry_server_inhibit",
        "sorry_server_lvs_method",
        "inhibit_on_failure",
        "quorum_up",
    ]);
    let v = match k {
        "lb_algo" => r.pick(&["rr", "wrr", "sh", "mh", "twos", "bogus"]),
        "lb_kind" => r.pick(&[
            "NAT",
            "DR",
            "TUN",
            "FOO",
            "TUN type gue port 5",
            "TUN type ipip csum",
        ]),
        "protocol" => r.pick(&["TCP", "udp", "SCTP", "ICMP"]),
        "persistence_granularity" => r.pick(&["255.255.255.0", "64", "abc", "0"]),
        "ip_family" => r.pick(&["inet", "inet6", "foo"]),
        "sorry_server" => r.pick(&["10.0.0.9 80", "10.0.0.9", "2001:db8::9 80", "bad 80"]),
        "sorry_server_lvs_method" => r.pick(&["DR", "NAT", "XX"]),
        "quorum_up" => r.pick(&["/nonexistent/q.sh", "\"/nonexistent/q.sh up\" root"]),
        "virtualhost" | "smtp_alert" => r.pick(BOOLS),
        "delay_loop" | "delay_before_retry" | "warmup" | "connect_timeout" => r.pick(TIMERS),
        "retry" | "quorum" | "hysteresis" | "weight" | "persistence_timeout" => r.pick(NUMS),
        _ => "",
    };
    format!("    {k} {v}").trim_end().to_string()
}

fn checker(r: &mut Rng, out: &mut Vec<String>) {
    let kind = r.pick(&[
        "HTTP_GET",
        "SSL_GET",
        "TCP_CHECK",
        "SMTP_CHECK",
        "DNS_CHECK",
        "MISC_CHECK",
        "UDP_CHECK",
        "PING_CHECK",
        "FILE_CHECK",
    ]);
    out.push(format!("        {kind} {{"));
    for _ in 0..r.below(4) {
        let k = r.pick(&[
            "connect_ip",
            "connect_port",
            "bindto",
            "bind_port",
            "connect_timeout",
            "fwmark",
            "retry",
            "delay_before_retry",
            "warmup",
            "delay_loop",
            "alpha",
        ]);
        let v = match k {
            "connect_ip" | "bindto" => r.pick(IPS),
            "connect_port" | "bind_port" => r.pick(&["0", "5", "70000", "80"]),
            "alpha" => r.pick(&["yes", "maybe"]),
            "connect_timeout" | "delay_before_retry" | "warmup" | "delay_loop" => r.pick(TIMERS),
            _ => r.pick(NUMS),
        };
        out.push(format!("            {k} {v}"));
    }
    match kind {
        "HTTP_GET" | "SSL_GET" => {
            for _ in 0..r.below(3) {
                out.push("            url {".into());
                if r.chance(80) {
                    out.push(format!("                path {}", r.pick(&["/", "/x"])));
                }
                if r.chance(40) {
                    out.push(format!(
                        "                digest {}",
                        r.pick(&[
                            "640205b7b0fc66c1ea91c463fac6334d",
                            "1234",
                            "zz0205b7b0fc66c1ea91c463fac6334d"
                        ])
                    ));
                }
                if r.chance(40) {
                    out.push(format!(
                        "                status_code {}",
                        r.pick(&["200", "200-299 404", "600", "300-200"])
                    ));
                }
                out.push("            }".into());
            }
        }
        "DNS_CHECK" => {
            out.push(format!("            type {}", r.pick(&["A", "aaaa", "XX"])));
            out.push(format!(
                "            name {}",
                r.pick(&["example.com", "a.b", "x..y", "."])
            ));
        }
        "MISC_CHECK" => {
            if r.chance(80) {
                out.push(format!(
                    "            misc_path {}",
                    r.pick(&[
                        "/nonexistent/m.sh",
                        "\"/nonexistent/m.sh a b\"",
                        "\"</etc/passwd\""
                    ])
                ));
            }
            if r.chance(30) {
                out.push(format!(
                    "            misc_timeout {}",
                    r.pick(&["5", "0", "x"])
                ));
            }
        }
        "UDP_CHECK" => {
            out.push(format!("            payload {}", r.pick(&["0102", "zz"])));
            out.push(format!(
                "            min_reply_length {}",
                r.pick(&["0", "300", "x"])
            ));
        }
        "FILE_CHECK" => {
            out.push(format!(
                "            track_file {}",
                r.pick(&["tf1", "nosuch"])
            ));
            out.push(format!(
                "            weight {}",
                r.pick(&["2", "-3 reverse", "x", "1 foo"])
            ));
        }
        "SMTP_CHECK" if r.chance(50) => {
            out.push("            host {".into());
            out.push(format!("                connect_ip {}", r.pick(IPS)));
            out.push("            }".into());
        }
        _ => {}
    }
    out.push("        }".into());
}

fn real_server(r: &mut Rng, out: &mut Vec<String>) {
    let head = format!("{} {}", r.pick(IPS), r.pick(PORTS));
    out.push(format!("    real_server {} {{", head.trim_end()));
    for _ in 0..r.below(3) {
        let k = r.pick(&[
            "weight",
            "lvs_method",
            "uthreshold",
            "inhibit_on_failure",
            "notify_up",
            "alpha",
            "retry",
            "delay_before_retry",
            "delay_loop",
            "smtp_alert",
        ]);
        let v = match k {
            "weight" | "retry" | "uthreshold" => r.pick(NUMS),
            "lvs_method" => r.pick(&["NAT", "DR", "TUN", "XX"]),
            "inhibit_on_failure" | "alpha" | "smtp_alert" => r.pick(BOOLS),
            "notify_up" => "/nonexistent/n.sh",
            _ => r.pick(TIMERS),
        };
        out.push(format!("        {k} {v}").trim_end().to_string());
    }
    for _ in 0..r.below(3) {
        checker(r, out);
    }
    out.push("    }".into());
}

fn generate(seed: u64) -> String {
    let mut r = Rng::new(seed);
    let mut out = vec![
        "track_file tf1 {".to_string(),
        "    file /tmp/kalive-lvs-differential-tf1".to_string(),
        "}".to_string(),
    ];
    if r.chance(40) {
        out.push("virtual_server_group G {".into());
        for _ in 0..r.below(4) {
            let e = r.pick(&[
                "10.0.0.1 80",
                "10.0.0.1-5 80",
                "10.0.1.0/30 81",
                "ae00::1-3 80",
                "fwmark 5",
                "fwmark 6 inet",
                "10.0.0.9",
            ]);
            out.push(format!("    {e}"));
        }
        out.push("}".into());
    }
    for _ in 0..=r.below(2) {
        let head = r.pick(&[
            "10.0.0.1 80",
            "10.0.0.1",
            "fwmark 3",
            "group G",
            "2001:db8::1 80",
        ]);
        out.push(format!("virtual_server {head} {{"));
        for _ in 0..r.below(6) {
            out.push(vs_keyword(&mut r));
        }
        for _ in 0..r.below(4) {
            real_server(&mut r, &mut out);
        }
        out.push("}".into());
    }
    out.join("\n") + "\n"
}

/// A network namespace deleted on every exit path.
struct Netns(String);

impl Netns {
    fn new() -> Netns {
        let name = format!("kalive-lvsdiff-{}", std::process::id());
        let st = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("run ip");
        assert!(st.success(), "ip netns add {name} failed (root needed)");
        Netns(name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// keepalived's exit code and `(line, message)` list; `None` if it crashed.
fn keepalived(ns: &Netns, file: &Path) -> Option<(i32, Vec<(u32, String)>)> {
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.0, KEEPALIVED, "-t", "-f"])
        .arg(file)
        .output()
        .expect("run keepalived");
    let code = out.status.code()?;
    if code > 128 {
        return None;
    }
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    let prefix = format!("({}: Line ", file.display());
    let msgs = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(
            |l| match l.strip_prefix(&prefix).and_then(|r| r.split_once(") ")) {
                Some((n, m)) => (n.parse().unwrap_or(0), m.to_string()),
                None => (0, l.to_string()),
            },
        )
        .collect();
    Some((code, msgs))
}

fn kalive(file: &Path) -> (i32, Vec<(u32, String)>) {
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

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn generated_lvs_configs_match_keepalived() {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let euid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2));
    assert_eq!(
        euid,
        Some("0"),
        "lvs_differential needs root (network namespaces)"
    );
    assert!(
        Path::new(KEEPALIVED).exists(),
        "{KEEPALIVED} missing: apt-get install keepalived"
    );

    let n = env_u64("LVS_DIFF_N", 40).min(100_000);
    let from = env_u64("LVS_DIFF_FROM", 1);
    let dir = tempfile::tempdir().expect("tempdir");
    let ns = Netns::new();
    let (mut compared, mut crashed) = (0, 0);
    let mut mismatches = Vec::new();
    for seed in from..from + n {
        let file = dir.path().join(format!("gen{seed}.conf"));
        std::fs::write(&file, generate(seed)).expect("write config");
        let Some(theirs) = keepalived(&ns, &file) else {
            crashed += 1;
            continue;
        };
        compared += 1;
        let ours = kalive(&file);
        if theirs != ours {
            mismatches.push(format!(
                "seed {seed}:\n  keepalived: {theirs:?}\n  kalive:     {ours:?}"
            ));
        }
    }
    println!("{compared} compared, {crashed} skipped (keepalived crashed)");
    assert!(compared > 0, "keepalived crashed on every generated config");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
