//! Differential test of the VRRP and global side: generated adversarial
//! configs must get the same `-t` exit code from kalive and from Debian's
//! keepalived 2.2.7, run in a network namespace this test creates and
//! deletes (interfaces d0/d1 and eth0/eth1).
//!
//! The generator puts keywords of every block (global_defs, the top-level
//! global keywords, vrrp_instance and its sub-blocks, vrrp_sync_group,
//! vrrp_script, vrrp_track_process, track_file, static_*, garp_group,
//! track_group, interface_up_down_delays, linkbeat_interfaces,
//! bfd_instance) at every nesting, valid and broken, with words missing or
//! extra, unknown keywords with and without blocks, and the preprocessor
//! mixed in: `include`, `@id` lines, `$MACRO` definitions (one-line and
//! continued) used whole, inside words and undefined, `~SEQ`, comments
//! (`#`, `!`, ending in a backslash), and braces on their own lines,
//! sharing lines, or missing.
//!
//! A fixed set of seeds runs by default (`VRRP_DIFF_N`, default 120, a few
//! seconds). More by hand, e.g.
//! `VRRP_DIFF_N=2000 VRRP_DIFF_FROM=10000 cargo test -p kalive-config
//! --test vrrp_differential -- --nocapture` (prints the agreement figure;
//! `VRRP_DIFF_KEEP=DIR` keeps the configs that disagree).
//!
//! Needs root and /usr/sbin/keepalived; fails with a clear message without.

mod netns_support;

use kalive_config::{config_test, ConfigTestOptions};
use netns_support::{require_root_and_keepalived, InNetns, Netns};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// `keyword` and the argument strings to choose from ("" = no words).
type Kws = &'static [(&'static str, &'static [&'static str])];

const N: &[&str] = &["1", "0", "5", "-1", "abc", "300", ""];
const T: &[&str] = &["1", "0", "2.5", "0.000001", "-1", "x", ""];
const B: &[&str] = &["", "", "true", "off", "maybe"];
const NONE: &[&str] = &["", "", "", "x"];
const NAME: &[&str] = &["n1", "", "n1 extra"];
const SCRIPT: &[&str] = &[
    "/bin/true",
    "\"/bin/true arg\"",
    "/nonexistent/s.sh",
    "\"</dev/tcp/127.0.0.1/80\"",
    "",
    "/bin/true root",
];

const GLOBAL_DEFS: Kws = &[
    ("router_id", &["r1", ""]),
    ("notification_email_from", &["a@b", ""]),
    (
        "smtp_server",
        &["127.0.0.1", "127.0.0.1 25", "", "x.invalid"],
    ),
    ("smtp_connect_timeout", N),
    ("smtp_helo_name", &["h", ""]),
    ("smtp_alert", B),
    ("smtp_alert_vrrp", B),
    ("smtp_alert_checker", B),
    ("no_email_faults", NONE),
    ("checker_log_all_failures", B),
    ("default_interface", &["d0", "nope0", ""]),
    ("dynamic_interfaces", &["", "allow_if_changes", "x"]),
    ("disable_local_igmp", NONE),
    ("lvs_timeouts", &["tcp 10", "udp 5 tcpfin 3", "x", ""]),
    ("lvs_flush", NONE),
    ("lvs_flush_onstop", NONE),
    ("lvs_sync_daemon", &["d0 VI_1", "d0", ""]),
    ("vrrp_mcast_group4", &["224.0.0.19", "10.0.0.1", ""]),
    ("vrrp_mcast_group6", &["ff02::13", "x", ""]),
    ("vrrp_garp_master_delay", N),
    ("vrrp_garp_master_repeat", N),
    ("vrrp_garp_master_refresh", N),
    ("vrrp_garp_master_refresh_repeat", N),
    ("vrrp_garp_lower_prio_delay", N),
    ("vrrp_garp_lower_prio_repeat", N),
    ("vrrp_down_timer_adverts", N),
    ("vrrp_garp_interval", T),
    ("vrrp_gna_interval", T),
    ("vrrp_min_garp", B),
    ("vrrp_garp_extra_if", &["10", "all 10", "", "x"]),
    ("vrrp_vmac_garp_intvl", &["10", ""]),
    ("vrrp_lower_prio_no_advert", B),
    ("vrrp_higher_prio_send_advert", B),
    ("vrrp_version", &["2", "3", "4", ""]),
    ("vrrp_iptables", &["", "a b"]),
    ("vrrp_ipsets", &["", "a"]),
    ("nftables", &["", "kt"]),
    ("nftables_priority", N),
    ("nftables_ifindex", NONE),
    ("nftables_counters", NONE),
    ("vrrp_check_unicast_src", NONE),
    ("vrrp_skip_check_adv_addr", NONE),
    ("vrrp_strict", NONE),
    ("vrrp_priority", &["-10", "30", ""]),
    ("vrrp_no_swap", NONE),
    ("vrrp_rt_priority", &["50", "100", ""]),
    ("vrrp_cpu_affinity", &["0", "0 1", ""]),
    ("vrrp_rlimit_rttime", N),
    ("vrrp_rlimit_rtime", N),
    ("checker_priority", &["5", ""]),
    ("bfd_no_swap", NONE),
    ("notify_fifo", &["/tmp/kfifo", "/tmp/kfifo root", ""]),
    ("vrrp_notify_fifo", &["/tmp/kfifo2", ""]),
    ("vrrp_notify_priority_changes", B),
    ("fifo_write_vrrp_states_on_reload", NONE),
    ("enable_snmp_vrrp", NONE),
    ("enable_snmp_keepalived", NONE),
    ("enable_traps", NONE),
    ("snmp_socket", &["udp:1.2.3.4:705", ""]),
    ("enable_dbus", NONE),
    ("dbus_service_name", &["org.x", ""]),
    ("script_user", &["root", "nobody", "nosuchuser", ""]),
    ("enable_script_security", NONE),
    ("process_names", NONE),
    ("process_name", &["kk", ""]),
    ("vrrp_process_name", &["kv", ""]),
    ("lvs_process_name", &["kl", ""]),
    ("startup_script", SCRIPT),
    ("shutdown_script_timeout", N),
    ("max_auto_priority", &["", "50", "200"]),
    ("min_auto_priority_delay", N),
    ("vrrp_netlink_cmd_rcv_bufs", N),
    ("vrrp_netlink_monitor_rcv_bufs_force", B),
    ("vrrp_rx_bufs_policy", &["MTU", "ADVERT", "5", "x", ""]),
    ("vrrp_rx_bufs_multiplier", N),
    ("vrrp_startup_delay", T),
    ("log_unknown_vrids", NONE),
    ("vmac_prefix", &["vx", ""]),
    ("umask", &["0077", "x", ""]),
    ("random_seed", N),
    ("reload_check_config", &["", "/tmp/rc.log"]),
    ("reload_repeat", NONE),
    ("include_check", &["", "readable", "x"]),
    ("tmp_config_directory", &["/tmp", ""]),
    ("data_use_instance", B),
    ("rs_init_notifies", NONE),
    ("no_checker_emails", NONE),
];

const ROOT_GLOBAL: Kws = &[
    ("instance", NAME),
    ("child_wait_time", N),
    ("use_pid_dir", NONE),
    ("namespace_with_ipsets", NONE),
    ("net_namespace_ipvs", &["", "n2"]),
    ("linkbeat_use_polling", NONE),
];

const INSTANCE: Kws = &[
    ("state", &["MASTER", "BACKUP", "FAULT", ""]),
    ("interface", &["d0", "eth0", "nope0", "lo", ""]),
    ("virtual_router_id", &["51", "52", "0", "256", "x", ""]),
    ("priority", &["100", "255", "0", "x", ""]),
    ("advert_int", &["1", "0.5", "0", "300", ""]),
    ("version", &["2", "3", "4", ""]),
    ("use_vmac", &["", "vrrp.51"]),
    ("vmac_xmit_base", NONE),
    ("native_ipv6", NONE),
    ("dont_track_primary", NONE),
    ("mcast_src_ip", &["192.168.1.1", "10.9.9.9", "x", ""]),
    ("unicast_src_ip", &["192.168.1.1", ""]),
    ("unicast_ttl", N),
    ("unicast_fault_no_peer", NONE),
    ("check_unicast_src", NONE),
    ("track_src_ip", NONE),
    ("promote_secondaries", NONE),
    ("accept", NONE),
    ("no_accept", NONE),
    ("skip_check_adv_addr", B),
    ("strict_mode", B),
    ("preempt", NONE),
    ("nopreempt", NONE),
    ("preempt_delay", T),
    // A bare `debug` is accepted on purpose (the seed guide writes it;
    // keepalived 2.2.7 exits 2): see keyword_parity.rs.
    ("debug", &["1", "2"]),
    ("notify_master", SCRIPT),
    ("notify_backup", SCRIPT),
    ("notify_fault", SCRIPT),
    ("notify_stop", SCRIPT),
    ("notify_deleted", SCRIPT),
    ("notify", SCRIPT),
    ("notify_master_rx_lower_pri", SCRIPT),
    ("smtp_alert", B),
    ("notify_priority_changes", B),
    ("lvs_sync_daemon_interface", &["d0", ""]),
    ("garp_master_delay", N),
    ("garp_master_refresh", N),
    ("garp_master_repeat", N),
    ("garp_master_refresh_repeat", N),
    ("garp_lower_prio_delay", N),
    ("garp_lower_prio_repeat", N),
    ("down_timer_adverts", N),
    ("garp_extra_if", &["10", ""]),
    ("vmac_garp_intvl", &["10", ""]),
    ("lower_prio_no_advert", B),
    ("higher_prio_send_advert", B),
    ("kernel_rx_buf_size", N),
    ("linkbeat_use_polling", NONE),
];

/// Sub-blocks of a vrrp_instance and what goes inside.
const INSTANCE_BLOCKS: &[(&str, &[&str])] = &[
    (
        "virtual_ipaddress",
        &[
            "10.0.0.1",
            "10.0.0.2/24 dev d0",
            "10.0.0.3/24 label d0:1",
            "10.0.0.300",
            "fe80::5",
            "10.0.0.4 dev nope0",
            "10.0.0.5 brd",
        ],
    ),
    ("virtual_ipaddress_excluded", &["10.1.0.1", "x"]),
    (
        "virtual_routes",
        &[
            "10.2.0.0/16 via 192.168.1.254",
            "src 192.168.1.1 to 10.3.0.0/16 dev d0",
            "blackhole 10.4.0.0/16",
            "x",
        ],
    ),
    (
        "virtual_rules",
        &["from 10.0.0.0/8 table 100", "to 1.2.3.4 lookup 10", "x"],
    ),
    (
        "track_interface",
        &[
            "d1",
            "d1 weight 10",
            "nope1",
            "d1 weight -300",
            "eth1 weight 5 reverse",
        ],
    ),
    (
        "track_script",
        &["chk", "chk weight 10", "nosuch", "chk weight 5 reverse"],
    ),
    ("track_file", &["tf", "tf weight 3", "nosuch"]),
    ("track_process", &["tp", "nosuch"]),
    ("unicast_peer", &["192.168.1.2", "x", "10.0.0.9 min_ttl 1"]),
    ("track_bfd", &["b1", "nosuch"]),
];

const SCRIPT_KWS: Kws = &[
    ("script", SCRIPT),
    ("interval", T),
    ("timeout", T),
    ("weight", &["10", "-10", "300", "5 reverse", "x", ""]),
    ("rise", N),
    ("fall", N),
    ("user", &["root", "nobody", "nosuchuser", ""]),
    ("init_fail", NONE),
];

const PROCESS_KWS: Kws = &[
    ("process", &["sshd", "\"/usr/sbin/sshd -D\"", ""]),
    ("param_match", &["initial", "partial", "x", ""]),
    ("weight", &["10", "-10", "x", ""]),
    ("quorum", N),
    ("quorum_max", N),
    ("delay", T),
    ("terminate_delay", T),
    ("fork_delay", T),
    ("full_command", NONE),
];

const TRACK_FILE_KWS: Kws = &[
    (
        "file",
        &["/tmp/kalive-vrrpdiff-tf", "\"/tmp/kalive-vrrpdiff-tf\"", ""],
    ),
    ("weight", &["1", "-3", "x", "2 reverse", ""]),
    ("init_file", &["", "5", "5 overwrite", "x"]),
];

const SYNC_GROUP_KWS: Kws = &[
    ("notify_master", SCRIPT),
    ("notify_backup", SCRIPT),
    ("notify_fault", SCRIPT),
    ("notify_stop", SCRIPT),
    ("notify", SCRIPT),
    ("smtp_alert", B),
    ("global_tracking", NONE),
    ("sync_group_tracking_weight", NONE),
    ("notify_priority_changes", B),
];

const BFD_KWS: Kws = &[
    ("neighbor_ip", &["192.168.1.2", "x", ""]),
    ("neighbour_ip", &["192.168.1.3"]),
    ("source_ip", &["192.168.1.1", ""]),
    ("min_rx", N),
    ("min_tx", N),
    ("idle_tx", N),
    ("multiplier", N),
    ("passive", NONE),
    ("ttl", N),
    ("hoplimit", N),
    ("max_hops", N),
    ("weight", &["10", "x", ""]),
    ("vrrp", NONE),
    ("checker", NONE),
];

const UNKNOWN: &[&str] = &["bogus_kw", "vrrp_instance_typo", "}", "{", "\\"];

/// One config under construction: lines plus the macro names defined so
/// far (so that uses can be defined or not).
struct Gen {
    r: Rng,
    out: Vec<String>,
    macros: Vec<&'static str>,
    include_lines: Vec<String>,
}

impl Gen {
    fn push(&mut self, line: String) {
        self.out.push(line);
    }

    /// A keyword line, sometimes disguised by the preprocessor.
    fn kw_line(&mut self, indent: &str, kw: &str, arg: &str) {
        let r = &mut self.r;
        let mut line = if arg.is_empty() {
            format!("{indent}{kw}")
        } else {
            format!("{indent}{kw} {arg}")
        };
        match r.below(30) {
            0 => line = format!("@kalive-no-such-id {}", line.trim_start()),
            1 => line = format!("@^kalive-no-such-id {}", line.trim_start()),
            2 => line.push_str(" # trailing comment"),
            3 => line.push_str(" ! bang comment \\"),
            4 => {
                // A macro holding the whole line.
                self.out
                    .push(format!("$LINE{}={}", self.out.len(), line.trim_start()));
                line = format!("{indent}$LINE{}", self.out.len() - 1);
            }
            5 if !arg.is_empty() => {
                // The argument comes from a macro, used inside a word.
                let name = ["M1", "M2", "UNDEF"][r.below(3)];
                let form = if r.chance(50) {
                    format!("${{{name}}}")
                } else {
                    format!("${name}")
                };
                line = format!("{indent}{kw} {form}{arg}");
                if name != "UNDEF" && !self.macros.contains(&name) {
                    self.out.push(format!("${name}="));
                    self.macros.push(name);
                }
            }
            6 => self.out.push(format!("#{} \\", line.trim_start())),
            7 => self.out.push("!$OLD= \\".into()),
            _ => {}
        }
        self.out.push(line);
    }

    fn kws(&mut self, indent: &str, table: Kws, count: usize) {
        for _ in 0..count {
            if self.r.chance(4) {
                let u = self.r.pick(UNKNOWN);
                self.kw_line(indent, u, "");
                continue;
            }
            let (kw, args) = table[self.r.below(table.len())];
            let arg = self.r.pick(args);
            self.kw_line(indent, kw, arg);
            if self.r.chance(3) {
                // An unexpected block after a keyword that takes none.
                self.open(indent, "");
                let inner = self.r.pick(&["x", "priority 5", "}"]);
                self.push(format!("{indent}  {inner}"));
                self.close(indent);
            }
        }
    }

    /// The `{` of a block whose keyword line was just pushed, on the
    /// same line, on its own line, or (rarely, at the top level) missing.
    /// A block below the top level written without its `{` is left out:
    /// keepalived then reads the lines after it, and after the enclosing
    /// block's `}`, as that block's (a known difference, not generated).
    fn open(&mut self, indent: &str, _kw: &str) {
        match self.r.below(12) {
            0 => self.push(format!("{indent}{{")),
            1 => self.push("{".into()),
            2 if indent.is_empty() && self.r.chance(30) => {}
            _ => {
                if let Some(last) = self.out.last_mut() {
                    last.push_str(" {");
                }
            }
        }
    }

    fn close(&mut self, indent: &str) {
        match self.r.below(15) {
            0 => {
                if let Some(last) = self.out.last_mut() {
                    last.push_str(" }");
                }
            }
            1 if self.r.chance(30) => {}
            2 => self.push(format!("{indent}}} }}")),
            _ => self.push(format!("{indent}}}")),
        }
    }

    fn block(&mut self, head: &str, table: Kws, count: usize) {
        self.push(head.to_string());
        self.open("", head);
        self.kws("  ", table, count);
        self.close("");
    }

    fn list_block(&mut self, indent: &str, head: &str, items: &[&str], count: usize) {
        self.push(format!("{indent}{head}"));
        self.open(indent, head);
        for _ in 0..count {
            let item = self.r.pick(items);
            let inner = format!("{indent}  ");
            self.kw_line(&inner, item, "");
        }
        self.close(indent);
    }

    fn instance(&mut self, name: &str) {
        self.push(format!("vrrp_instance {name}"));
        self.open("", "vrrp_instance");
        // Usually a sound core, so that the rest decides the verdict.
        if self.r.chance(85) {
            let iface = self.r.pick(&["d0", "d0", "eth0"]);
            self.push(format!("  interface {iface}"));
            let vrid = 40 + self.r.below(20);
            self.push(format!("  virtual_router_id {vrid}"));
            let prio = 50 + self.r.below(150);
            self.push(format!("  priority {prio}"));
        }
        if self.r.chance(70) {
            self.list_block("  ", "virtual_ipaddress", &["10.0.0.1", "10.0.0.2/24"], 1);
        }
        let n = self.r.below(5);
        for _ in 0..n {
            if self.r.chance(30) {
                let (head, items) = INSTANCE_BLOCKS[self.r.below(INSTANCE_BLOCKS.len())];
                let c = 1 + self.r.below(3);
                self.list_block("  ", head, items, c);
            } else if self.r.chance(10) {
                self.push("  authentication".into());
                self.open("  ", "authentication");
                let t = self.r.pick(&["PASS", "AH", "x", ""]);
                self.kw_line("    ", "auth_type", t);
                let p = self.r.pick(&["1111", "longer_than_eight", ""]);
                self.kw_line("    ", "auth_pass", p);
                self.close("  ");
            } else {
                self.kws("  ", INSTANCE, 1);
            }
        }
        self.close("");
    }

    fn top_item(&mut self, n: usize) {
        match self.r.below(16) {
            0 | 1 => {
                let c = 1 + self.r.below(4);
                self.block("global_defs", GLOBAL_DEFS, c);
            }
            2 => self.kws("", ROOT_GLOBAL, 1),
            3 => {
                let c = 1 + self.r.below(4);
                self.block("vrrp_script chk", SCRIPT_KWS, c);
            }
            4 => {
                let c = 1 + self.r.below(3);
                self.block("vrrp_track_process tp", PROCESS_KWS, c);
            }
            5 => {
                let head = self.r.pick(&["track_file tf", "vrrp_track_file tf"]);
                let c = 1 + self.r.below(3);
                self.block(head, TRACK_FILE_KWS, c);
            }
            6 => {
                self.push("vrrp_sync_group G1".into());
                self.open("", "vrrp_sync_group");
                let members = self.r.pick(&["VI_1 VI_2", "VI_1", "VI_9", ""]);
                self.list_block("  ", "group", &[members], 1);
                let c = self.r.below(3);
                self.kws("  ", SYNC_GROUP_KWS, c);
                self.close("");
            }
            7 => {
                let head = self
                    .r
                    .pick(&["static_ipaddress", "static_routes", "static_rules"]);
                let items: &[&str] = match head {
                    "static_ipaddress" => &["10.8.0.1/24 dev d0", "10.8.0.2 dev nope0", "x"],
                    "static_routes" => &["10.9.0.0/16 dev d0", "x", "blackhole 10.10.0.0/16"],
                    _ => &["from 10.0.0.0/8 table 5", "x"],
                };
                let c = 1 + self.r.below(2);
                self.list_block("", head, items, c);
            }
            8 => {
                self.push("garp_group".into());
                self.open("", "garp_group");
                let i = self
                    .r
                    .pick(&["garp_interval 1", "gna_interval 1", "garp_interval x"]);
                self.push(format!("  {i}"));
                let f = self
                    .r
                    .pick(&["interface d0", "interface nope0", "interface"]);
                self.push(format!("  {f}"));
                self.close("");
            }
            9 => {
                self.push("track_group TG".into());
                self.open("", "track_group");
                self.list_block("  ", "group", &["VI_1", "VI_9"], 1);
                self.close("");
            }
            10 => {
                let items: &[&str] = &["d0 5", "d0 5 3", "nope0 1", "d0 x"];
                self.list_block("", "interface_up_down_delays", items, 1);
            }
            11 => {
                let items: &[&str] = &["d0", "d0 MII", "d0 x", "nope0"];
                self.list_block("", "linkbeat_interfaces", items, 1);
            }
            12 => {
                let c = 1 + self.r.below(3);
                self.block("bfd_instance b1", BFD_KWS, c);
            }
            13 => {
                // An unknown top-level keyword, with or without a block.
                let u = self
                    .r
                    .pick(&["bogus_top", "vrrp_instanc VI_X", "global_def"]);
                self.push(u.to_string());
                if self.r.chance(60) {
                    self.open("", u);
                    self.kws("  ", INSTANCE, 1);
                    self.close("");
                }
            }
            14 => {
                // A ~SEQ of instances or of global keywords.
                let line = self.r.pick(&[
                    "~SEQ(i,1,3) vrrp_instance VS_$i { interface d0 ; virtual_router_id 7$i ; }",
                    "~SEQ(i,1,2) vrrp_instance VQ_$i {",
                    "~SEQ(i,3,1) bogus_seq_$i",
                    "~SEQ(i,1,0)",
                ]);
                self.push(line.to_string());
            }
            _ => {
                // A definition continued over lines, used as a block body.
                let name = format!("BODY{n}");
                self.push(format!("${name}= \\"));
                self.push("  router_id rb \\".into());
                if self.r.chance(40) {
                    self.push("# commented \\".into());
                }
                self.push("  vrrp_version 3".into());
                self.push("global_defs {".into());
                self.push(format!("  ${name}"));
                self.push("}".into());
            }
        }
    }

    fn include(&mut self) {
        self.include_lines.push("global_defs {".into());
        self.include_lines.push("  router_id from_include".into());
        self.include_lines.push("}".into());
        let form = self.r.pick(&[
            "include inc.conf",
            "include ${_PWD}/inc.conf",
            "include inc*.conf",
            "include nosuch.conf",
            "includer nosuch.conf",
        ]);
        self.push(form.to_string());
    }
}

/// The main file's text and the included file's text for `seed`.
fn generate(seed: u64) -> (String, String) {
    let mut g = Gen {
        r: Rng::new(seed),
        out: Vec::new(),
        macros: Vec::new(),
        include_lines: Vec::new(),
    };
    if g.r.chance(40) {
        g.push("$M1=x".into());
        g.macros.push("M1");
    }
    if g.r.chance(20) {
        g.push("$M2=/scripts/notify_all.".into());
        g.macros.push("M2");
    }
    let items = 1 + g.r.below(5);
    for n in 0..items {
        g.top_item(n);
    }
    if g.r.chance(15) {
        g.include();
    }
    let instances = g.r.below(3);
    for i in 1..=instances {
        let name = format!("VI_{i}");
        g.instance(&name);
    }
    (g.out.join("\n") + "\n", g.include_lines.join("\n") + "\n")
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// keepalived's `-t` exit code in the namespace; `None` when it crashed
/// (it segfaults on some broken inputs) or hung (it spins on a few: it is
/// killed after 5 s).
fn keepalived_exit(ns: &Netns, file: &Path) -> Option<i32> {
    let mut child = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            netns_support::KEEPALIVED,
            "-t",
            "-f",
        ])
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn keepalived");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut pause = Duration::from_millis(1);
    while Instant::now() < deadline {
        if let Some(st) = child.try_wait().expect("wait") {
            return st.code().filter(|c| (0..128).contains(c));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// keepalived's and kalive's exit codes for one generated config; `None`
/// when keepalived crashed or hung.
fn verdicts(ns: &Netns, sys: &Arc<InNetns>, file: &Path) -> Option<(i32, i32)> {
    let theirs = keepalived_exit(ns, file)?;
    let ours = config_test(&ConfigTestOptions {
        config_file: file.to_path_buf(),
        system: sys.clone(),
        ..ConfigTestOptions::default()
    });
    Some((theirs, ours.exit_code))
}

#[test]
fn generated_vrrp_and_global_configs_match_keepalived() {
    require_root_and_keepalived();
    let n = env_u64("VRRP_DIFF_N", 120).min(100_000);
    let from = env_u64("VRRP_DIFF_FROM", 1);
    let keep = std::env::var("VRRP_DIFF_KEEP").ok().map(PathBuf::from);
    std::fs::write("/tmp/kalive-vrrpdiff-tf", "3\n").expect("track file");
    let ns = Netns::with_links(
        "vd",
        &[("d0", "d1"), ("eth0", "eth1")],
        &[("d0", "192.168.1.1/24")],
    );
    let sys = Arc::new(ns.system());
    let seeds: Vec<u64> = (from..from + n).collect();
    let workers = 4;
    let per_worker = seeds.len().div_ceil(workers).max(1);
    // (seed, keepalived, kalive); None = keepalived crashed.
    let results: Vec<(u64, Option<(i32, i32)>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = seeds
            .chunks(per_worker)
            .map(|chunk| {
                let (ns, sys, keep) = (&ns, &sys, &keep);
                scope.spawn(move || {
                    let dir = tempfile::tempdir().expect("tempdir");
                    chunk
                        .iter()
                        .map(|&seed| {
                            let (main, inc) = generate(seed);
                            let file = dir.path().join(format!("gen{seed}.conf"));
                            std::fs::write(&file, &main).expect("write config");
                            std::fs::write(dir.path().join("inc.conf"), &inc).expect("include");
                            let v = verdicts(ns, sys, &file);
                            if let (Some(k), Some((a, b))) = (keep, v) {
                                if a != b {
                                    let _ = std::fs::create_dir_all(k);
                                    let _ = std::fs::write(
                                        k.join(format!("gen{seed}-kl{a}-ka{b}.conf")),
                                        &main,
                                    );
                                    let _ = std::fs::write(k.join("inc.conf"), &inc);
                                }
                            }
                            (seed, v)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    });
    let compared: Vec<&(u64, Option<(i32, i32)>)> =
        results.iter().filter(|(_, v)| v.is_some()).collect();
    let crashed = results.len() - compared.len();
    let mismatches: Vec<String> = compared
        .iter()
        .filter_map(|(seed, v)| match v {
            Some((a, b)) if a != b => Some(format!("seed {seed}: keepalived {a}, kalive {b}")),
            _ => None,
        })
        .collect();
    let agree = compared.len() - mismatches.len();
    let accepted = compared
        .iter()
        .filter(|(_, v)| matches!(v, Some((0, _))))
        .count();
    println!(
        "vrrp_differential: seeds {from}..{}: {agree}/{} agree ({:.1}%), keepalived accepted {accepted}, {crashed} skipped (keepalived crashed or hung)",
        from + n,
        compared.len(),
        100.0 * agree as f64 / compared.len().max(1) as f64
    );
    assert!(!compared.is_empty(), "keepalived crashed on every config");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Print one seed's config (for reproducing by hand).
#[test]
fn print_seed_when_asked() {
    if let Ok(seed) = std::env::var("VRRP_DIFF_PRINT") {
        let (main, inc) = generate(seed.parse().expect("seed number"));
        println!("{main}\n--- inc.conf ---\n{inc}");
    }
}
