//! Hand-written LVS configs: kalive's `-t` verdict and LVS messages equal
//! Debian keepalived 2.2.7's (`keepalived -t -f FILE`, run inside a network
//! namespace this test creates and deletes).
//!
//! Needs root (network namespaces) and /usr/sbin/keepalived; without them
//! the test fails and says so.
//!
//! Known difference kept on purpose: a check script (MISC_CHECK,
//! notify_up/down, quorum_up/down) run as a non-root user (its own `user`
//! or the global `script_user`) makes keepalived 2.2.7's `-t` die from
//! SIGTERM (exit 143) while the daemon runs such configs; kalive judges
//! them as the daemon does.

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
        r#"
virtual_server 10.0.0.1 80 {
  delay_loop 6
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  persistence_timeout 50
  sorry_server 10.0.0.9 80
  real_server 10.0.0.2 8080 {
    weight 3
    HTTP_GET {
      url {
        path /health
        status_code 200-299 404
      }
      connect_timeout 3
      retry 2
      delay_before_retry 2
    }
  }
  real_server 10.0.0.3 8080 {
    TCP_CHECK {
      connect_port 8081
    }
  }
}
"#,
    ),
    (
        "clean_every_checker",
        0,
        r#"
SSL {
  ca /etc/ssl/ca.pem
}
track_file tf1 {
  file /tmp/kalive-lvs-test-tf1
}
virtual_server 10.0.0.1 53 {
  lvs_sched sh
  sh-port
  lvs_method DR
  protocol UDP
  ops
  real_server 10.0.0.2 53 {
    DNS_CHECK {
      type A
      name example.com
    }
    UDP_CHECK {
      payload 0102 03
      require_reply 01XX
    }
    PING_CHECK {
      retry 4
    }
    FILE_CHECK {
      track_file tf1
      weight -2 reverse
    }
    SMTP_CHECK {
      helo_name mx.example.com
      host {
        connect_ip 10.0.0.4
        connect_port 25
      }
    }
    SSL_GET {
      url {
        path /
      }
      enable_sni
    }
    MISC_CHECK {
      misc_path "/nonexistent/kalive-check arg"
      misc_dynamic
      misc_timeout 5
    }
  }
}
"#,
    ),
    (
        "unknown_scheduler",
        5,
        r#"
virtual_server 10.0.0.1 80 {
    lb_algo bogus
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.2 80 {
    }
}
"#,
    ),
    (
        "bad_port",
        5,
        r#"
virtual_server 10.0.0.1 70000 {
    lb_algo rr
    protocol TCP
    real_server 10.0.0.2 80 {
    }
}
"#,
    ),
    (
        "weights",
        5,
        r#"
virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    weight 0
    real_server 10.0.0.2 80 {
        weight -1
    }
    real_server 10.0.0.3 80 {
        weight 3000000000
    }
}
"#,
    ),
    (
        "no_protocol",
        5,
        r#"
virtual_server 10.0.0.1 53 {
    lb_algo rr
    lb_kind NAT
    real_server 10.0.0.2 53 {
    }
}
"#,
    ),
    (
        "zero_port_no_method",
        5,
        r#"
virtual_server 10.0.0.1 {
    lb_algo rr
    protocol UDP
    real_server 10.0.0.2 80 {
    }
}
"#,
    ),
    (
        "group_ranges",
        5,
        r#"
virtual_server_group G {
    10.0.0.1-10 80
    10.0.0.20-10.0.0.30 80
    10.0.1.0/29 80
    ae00::2-9 80
    10.0.1.1/29 80
    10.0.2.9-5 80
    10.0.3.1-300 80
    10.0.0.1-abc 80
    10.0.5.1 70000
    fwmark 7 inet
}
virtual_server group G {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.0.0.2 81 {
    }
}
"#,
    ),
    (
        "group_removed",
        5,
        r#"
virtual_server_group G {
    10.0.0.1 80
    ae00::1 80
    fwmark 3
}
virtual_server_group E {
}
"#,
    ),
    (
        "missing_parameter",
        2,
        r#"
virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum
    lb_algo bogus
}
"#,
    ),
    (
        "validation",
        5,
        r#"
virtual_server 10.0.0.6 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    quorum 5
    hysteresis 9
    ops
    real_server 10.0.0.2 81 {
    }
    real_server 10.0.0.2 81 {
    }
    real_server 10.0.0.3 {
    }
}
virtual_server fwmark 5 {
    lb_algo rr
    lb_kind DR
    ha_suspend
    protocol TCP
    sorry_server_inhibit
    sorry_server 10.0.0.9 80
    real_server 10.0.0.2 80 {
    }
}
virtual_server 10.0.0.5 80 {
    lb_algo rr
    protocol TCP
}
"#,
    ),
    (
        "tunnels",
        5,
        r#"
virtual_server fwmark 3 {
    lb_algo rr
    lb_kind TUN type gue port 6080 csum
    real_server 10.0.0.3 {
        lvs_method TUN type ipip csum
    }
    real_server 10.0.0.4 {
        lvs_method TUN type gre
    }
    real_server 10.0.0.5 {
        lvs_method TUN type gue
    }
    real_server 2001:db8::1 {
        lvs_method TUN type foo
    }
}
"#,
    ),
    (
        "checker_values",
        5,
        r#"
virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.2 80 {
        HTTP_GET {
            url {
                path /
                digest 1234
                status_code 200 600 500-400
            }
            url {
                digest zz345678901234567890123456789012
            }
            http_protocol 2.0
            nb_get_retry 3
        }
        DNS_CHECK {
            type foo
            name a.b
        }
        UDP_CHECK {
            payload 12zz
            min_reply_length 300
        }
        TCP_CHECK {
            connect_ip fe80::1
            bind_port 0
            delay_loop 1.5x
            retry -1
        }
        BFD_CHECK {
            name nosuchbfd
        }
        FILE_CHECK {
            track_file nosuchfile
        }
        HTTP_GET {
        }
    }
}
"#,
    ),
    (
        "vs_values",
        5,
        r#"
virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind FOO
    protocol tcp
    persistence_timeout 0
    quorum 0
    sh-port
    delay_loop abc
    retry 0
    connect_timeout 1e3
    smtp_alert maybe
    ip_family inet6
    virtualhost
    persistence_engine abcdefghijklmnopqrstuvwxyz
    real_server 10.0.0.2 80 {
       uthreshold -3
       inhibit_on_failure maybe
       notify_up /nonexistent/up.sh
       notify_up /nonexistent/up2.sh
       bogus_kw 1
    }
}
"#,
    ),
    (
        "script_security",
        6,
        r#"
virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.2 80 {
        MISC_CHECK {
            misc_path "/bin/true"
        }
    }
}
"#,
    ),
    (
        "misc_user_unknown",
        5,
        r#"
virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.2 80 {
        MISC_CHECK {
            misc_path "/bin/sh -c 'exit 0'"
            user nosuchuser-kalive
        }
    }
}
"#,
    ),
    (
        "families_groups_sorry",
        5,
        r#"
bfd_instance bfd1 {
    neighbor_ip 10.0.0.2
}
track_file tf1 {
    file /tmp/kalive-lvs-tf1
    weight 3
}
virtual_server_group G {
    10.0.0.1 80
}
virtual_server group G {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.2 80 {
    }
}
virtual_server group G {
    lb_algo rr
    lb_kind DR
    protocol UDP
    real_server 10.0.0.2 81 {
    }
}
virtual_server 2001:db8::1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    persistence_granularity 64
    sorry_server 10.0.0.9 80
    real_server 10.0.0.2 80 {
    }
    real_server 2001:db8::2 80 {
        BFD_CHECK {
            name bfd1
        }
        BFD_CHECK {
            name bfd1 extra
        }
        FILE_CHECK {
            track_file tf1
            weight 2 sideways
        }
    }
}
virtual_server fwmark 9 {
    lb_algo rr
    hashed
    ip_family inet6
    ip_family foo
    sorry_server 10.0.0.9 80
    sorry_server_inhibit
    real_server 10.0.0.5 80 {
        inhibit_on_failure no
    }
    real_server 10.0.0.9 80 {
        inhibit_on_failure
        alpha yes
    }
}
virtual_server 10.0.0.7 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    alpha no
    virtualhost a b c
    quorum_up "/bin/echo up" nosuchuser
    real_server 10.0.0.8 80 {
       notify_up /bin/echo root nosuchgroup
       SMTP_CHECK {
          host {
             connect_ip fe80::1
          }
          host {
             connect_ip 10.0.0.11
             connect_timeout 0
          }
          bindto ::1
          connect_ip 10.0.0.12
       }
    }
}
"#,
    ),
    (
        "bfd_file_misc_http_options",
        5,
        r#"
bfd_instance bfd1 {
    neighbor_ip 10.0.0.2
}
virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol SCTP
    real_server 10.0.0.2 80 {
        BFD_CHECK {
            name bfd1
            alpha
        }
        FILE_CHECK {
            track_file nosuch
            weight 1 noreverse
        }
        MISC_CHECK {
            misc_path </etc/passwd
            alpha
            log_all_failures
            warmup 3
        }
        HTTP_GET {
            url {
               path /a b
               virtualhost
               regex "x"
               regex_options caseless
            }
            url {
               path /b
               digest 00112233445566778899AABBCCDDEEFF
               digest 00112233445566778899aabbccddeeff
            }
            fast_recovery no
            enable_sni off
            alpha maybe
        }
    }
}
"#,
    ),
    (
        "smtp_hosts_link_local",
        5,
        r#"
virtual_server 2001:db8::1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server fe80::1 80 {
        SMTP_CHECK {
            delay_loop 3
            host {
                connect_ip abc
            }
        }
        SMTP_CHECK {
            bindto 10.0.0.3
        }
        SMTP_CHECK {
            bind_if eth0
            host {
                connect_ip fe80::2
            }
        }
        SMTP_CHECK {
            connect_timeout abc
        }
        UDP_CHECK {
            connect_ip abc
        }
        TCP_CHECK {
            bindto 10.0.0.1
        }
    }
}
"#,
    ),
    (
        "timers_with_junk",
        5,
        r#"
virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    delay_before_retry abc
    warmup abc
    delay_loop abc
    connect_timeout abc
    real_server 10.0.0.2 80 {
        delay_before_retry abc
        warmup abc
        delay_loop abc
        connect_timeout abc
        TCP_CHECK {
            delay_before_retry abc
            warmup abc
            delay_loop abc
            connect_timeout abc
        }
    }
}
"#,
    ),
    (
        "negative_timers",
        5,
        r#"
virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    delay_before_retry -1
    warmup -1
    delay_loop -1
    connect_timeout -1
    real_server 10.0.0.2 80 {
        delay_before_retry -1
        warmup -1
        delay_loop -1
        connect_timeout -1
        TCP_CHECK {
            delay_before_retry -1
            warmup -1
            delay_loop -1
            connect_timeout -1
        }
    }
}
"#,
    ),
    (
        "inet_aton_and_u32_range",
        5,
        r#"
virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    persistence_granularity 0
    real_server 10.0.0.2 80 {
        weight 4294967296
        TCP_CHECK {
            bindto 2001:db8::1
        }
        TCP_CHECK {
            connect_ip 2001:db8::3
            bindto 2001:db8::1
        }
    }
}
virtual_server 10.0.0.3 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    persistence_granularity 1.2
    real_server 10.0.0.2 80 {
    }
}
virtual_server 10.0.0.4 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    persistence_granularity 0x10.1
    real_server 10.0.0.2 80 {
    }
}
"#,
    ),
    (
        "checker_end_order",
        5,
        r#"
virtual_server 2001:db8::1 80 {
    lb_algo rr
    lb_kind NAT
    protocol UDP
    real_server fe80::1 53 {
        TCP_CHECK {
            bindto 10.0.0.2
            connect_ip fe80::1
        }
        UDP_CHECK {
            min_reply_length 10
            max_reply_length 0
        }
        UDP_CHECK {
            bind_if eth0
            min_reply_length 10
            max_reply_length 0
        }
        SMTP_CHECK {
            connect_ip abc
        }
        SMTP_CHECK {
            host {
                connect_ip 2001:db8::7
            }
        }
    }
}
"#,
    ),
    (
        "default_script_user_missing",
        5,
        r#"
global_defs {
    enable_script_security
}
virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum_up /bin/true
    real_server 10.0.0.2 80 {
        notify_down /bin/true root
        MISC_CHECK {
            misc_path /bin/true
        }
        MISC_CHECK {
            misc_path "/bin/true arg"
            user root
        }
    }
}
"#,
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
