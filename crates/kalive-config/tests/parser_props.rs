//! Property tests over the lexer, statement tree, keyword tables and
//! validation: no input makes them panic, and every diagnostic points inside
//! the input. Bounded (a fixed number of cases, small inputs) so they run in
//! CI in seconds.

use kalive_config::lexer::lex_line;
use kalive_config::load_str;
use kalive_config::source::SourceLine;
use kalive_config::system::FakeSystem;
use proptest::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

/// Words a config is made of: real keywords of every block, values, braces,
/// quotes, escapes and junk.
const VOCAB: &[&str] = &[
    "global_defs",
    "vrrp_instance",
    "vrrp_script",
    "vrrp_sync_group",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "track_file",
    "vrrp_track_process",
    "bfd_instance",
    "garp_group",
    "track_group",
    "linkbeat_interfaces",
    "interface_up_down_delays",
    "virtual_server",
    "virtual_server_group",
    "real_server",
    "HTTP_GET",
    "TCP_CHECK",
    "url",
    "state",
    "MASTER",
    "BACKUP",
    "priority",
    "interface",
    "eth0",
    "d0",
    "lo",
    "virtual_router_id",
    "advert_int",
    "version",
    "authentication",
    "auth_type",
    "PASS",
    "AH",
    "auth_pass",
    "virtual_ipaddress",
    "virtual_routes",
    "virtual_rules",
    "unicast_peer",
    "track_interface",
    "track_script",
    "weight",
    "reverse",
    "nopreempt",
    "preempt_delay",
    "notify_master",
    "script",
    "interval",
    "rise",
    "fall",
    "user",
    "group",
    "script_user",
    "enable_script_security",
    "router_id",
    "smtp_server",
    "use_vmac",
    "garp_master_delay",
    "dev",
    "via",
    "src",
    "table",
    "from",
    "to",
    "scope",
    "brd",
    "label",
    "nexthop",
    "blackhole",
    "10.0.0.1",
    "10.0.0.0/24",
    "fe80::1",
    "::/0",
    "default",
    "1",
    "0",
    "255",
    "256",
    "-1",
    "0.5",
    "40.96",
    "abc",
    "{",
    "}",
    "{",
    "}",
    "\"quoted word\"",
    "'single'",
    "\"\\x41\\101\\cA\"",
    "\"unterminated",
    "\\",
    "#",
    "!",
    "@id",
    "$MAC",
    "~SEQ(i,1,3)",
    "include",
    "/bin/true",
    "\"/bin/echo a b\"",
    "</dev/tcp/127.0.0.1/80",
    "é",
    "\u{0}",
    "\t",
];

fn config_text() -> impl Strategy<Value = String> {
    let word = prop::sample::select(VOCAB);
    let line = prop::collection::vec(word, 0..6).prop_map(|w| w.join(" "));
    prop::collection::vec(line, 0..40).prop_map(|l| l.join("\n"))
}

fn machine() -> Arc<FakeSystem> {
    Arc::new(FakeSystem::with_interfaces(&["lo", "eth0", "d0"]).file("/bin/true", 0o755))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn keyword_soup_never_panics(text in config_text()) {
        let lines = text.lines().count() as u32;
        let loaded = load_str(&text, "p.conf", machine());
        for d in &loaded.diagnostics {
            if let Some(s) = &d.span {
                prop_assert!(s.line >= 1 && s.line <= lines.max(1), "{d}");
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let _ = load_str(&text, "p.conf", machine());
    }

    #[test]
    fn lexer_spans_stay_on_the_line(text in "[ -~\\t]{0,120}") {
        let line = SourceLine {
            text: text.clone(),
            file: Arc::new(PathBuf::from("p.conf")),
            line: 1,
            col_map: (1..=text.chars().count() as u32).collect(),
        };
        for t in lex_line(&line) {
            prop_assert!(t.span().col as usize <= text.chars().count().max(1));
        }
    }
}
