//! The preprocessor against real files in temporary directories. Expected
//! outputs were checked against keepalived 2.2.7 (`keepalived -t -f FILE -i
//! ID`, whose "Unknown keyword" errors show what each produced line starts
//! with) for the quirky cases.

use kalive_config::diag::{DiagKind, Severity};
use kalive_config::preprocess::{
    default_config_id, preprocess_file, preprocess_file_with_limits, preprocess_str, Limits,
    PreprocessOptions, Preprocessed,
};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

struct Cfg {
    dir: tempfile::TempDir,
}

impl Cfg {
    fn new() -> Cfg {
        Cfg {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn file(&self, rel: &str, content: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
        p
    }

    fn run(&self, main: &str, opts: &PreprocessOptions) -> Preprocessed {
        preprocess_file(&self.path(main), opts)
    }
}

fn id(config_id: &str) -> PreprocessOptions {
    PreprocessOptions {
        config_id: Some(config_id.to_string()),
        all_config: false,
    }
}

fn all_config(config_id: &str) -> PreprocessOptions {
    PreprocessOptions {
        config_id: Some(config_id.to_string()),
        all_config: true,
    }
}

fn texts(p: &Preprocessed) -> Vec<&str> {
    p.lines.iter().map(|l| l.text.as_str()).collect()
}

fn messages(p: &Preprocessed, sev: Severity) -> Vec<String> {
    p.diagnostics
        .iter()
        .filter(|d| d.severity == sev)
        .map(|d| d.message.clone())
        .collect()
}

/// Preprocess a single file's text.
fn one(text: &str, config_id: &str) -> Preprocessed {
    let c = Cfg::new();
    c.file("keepalived.conf", text);
    c.run("keepalived.conf", &id(config_id))
}

fn no_diagnostics(p: &Preprocessed) {
    assert!(
        p.diagnostics.is_empty(),
        "unexpected diagnostics: {:?}",
        p.diagnostics
    );
}

// ------------------------------------------------------------- comments

#[test]
fn comments_end_at_hash_or_bang_outside_double_quotes() {
    let p = one(
        "a b # comment\n  c ! comment\n\"x # y\" z # c\nq 'r # s'\n# whole line\n\n   \n",
        "n",
    );
    assert_eq!(texts(&p), vec!["a b", "c", "\"x # y\" z", "q 'r"]);
    no_diagnostics(&p);
}

#[test]
fn escaped_comment_characters_are_kept_outside_quotes_only() {
    let p = one("a\\#b c\\!d\n\"e\\#f\"\n", "n");
    assert_eq!(texts(&p), vec!["a#b c!d", "\"e\\#f\""]);
}

#[test]
fn hash_and_bang_builtins_survive_only_inside_quotes() {
    // keepalived runs decomment() again after substitution.
    let p = one("\"a${_HASH}b${_BANG}c\"\nx${_HASH}y\n", "n");
    assert_eq!(texts(&p), vec!["\"a#b!c\"", "x"]);
}

#[test]
fn unterminated_quote_is_an_error_and_the_line_is_kept() {
    let p = one("notify \"abc def\n", "n");
    assert_eq!(texts(&p), vec!["notify \"abc def"]);
    let errs = messages(&p, Severity::Error);
    assert_eq!(errs, vec!["Unterminated quote 'notify \"abc def'"]);
    let span = p.diagnostics[0].span.clone().expect("span");
    assert_eq!((span.line, span.col), (1, 1));
}

#[test]
fn crlf_line_ends_and_trailing_blanks_are_removed() {
    let p = one("a b  \r\n\tc\r\n", "n");
    assert_eq!(texts(&p), vec!["a b", "c"]);
}

#[test]
fn a_trailing_backslash_on_an_ordinary_line_stays() {
    // Only definitions continue on the next line.
    let p = one("a   \\\nb\n", "n");
    assert_eq!(texts(&p), vec!["a\\", "b"]);
}

#[test]
fn lines_longer_than_1023_bytes_are_split_like_fgets() {
    let long = "x".repeat(1500);
    let p = one(&format!("{long}\nnext\n"), "n");
    assert_eq!(p.lines.len(), 3);
    assert_eq!(p.lines[0].text.len(), 1023);
    assert_eq!(p.lines[1].text.len(), 477);
    assert_eq!(p.lines[1].col_map[0], 1024);
    assert_eq!(p.lines[2].text, "next");
    assert_eq!(p.lines[2].line, 2);
}

// --------------------------------------------------------------- braces

#[test]
fn braces_come_out_on_lines_of_their_own() {
    let p = one(
        "vrrp_instance VI_1 {\n  virtual_ipaddress { 10.0.0.1/24 }\n}\nscript \"a{b}\" {\n",
        "n",
    );
    assert_eq!(
        texts(&p),
        vec![
            "vrrp_instance VI_1",
            "{",
            "virtual_ipaddress",
            "{",
            "10.0.0.1/24",
            "}",
            "}",
            "script \"a{b}\"",
            "{"
        ]
    );
    // Every piece keeps its line and columns.
    let ip = &p.lines[4];
    assert_eq!((ip.line, ip.col_map[0]), (2, 23));
    let close = &p.lines[5];
    assert_eq!((close.line, close.col_map[0]), (2, 35));
}

#[test]
fn text_after_a_brace_is_processed_as_a_new_line() {
    // keepalived runs the @id check on the residue after '{'.
    let p = one(
        "global_defs { @other router_id x\n@me router_id y }\n",
        "me",
    );
    assert_eq!(texts(&p), vec!["global_defs", "{", "router_id y", "}"]);
}

// ---------------------------------------------------------------- @id

#[test]
fn conditional_lines_follow_the_config_id() {
    let text = "@main router_id main_router\n@backup router_id backup_router\n@^main peer 1.2.3.4\n@^backup peer 1.2.3.5\n   @main   priority 240\n@main\n";
    let p = one(text, "main");
    assert_eq!(
        texts(&p),
        vec!["router_id main_router", "peer 1.2.3.5", "priority 240"]
    );
    let p = one(text, "backup");
    assert_eq!(texts(&p), vec!["router_id backup_router", "peer 1.2.3.4"]);
    let p = one(text, "other");
    assert_eq!(texts(&p), vec!["peer 1.2.3.4", "peer 1.2.3.5"]);
}

#[test]
fn conditional_keeps_columns_of_the_remaining_text() {
    let p = one("@main  priority 240\n", "main");
    assert_eq!(p.lines[0].text, "priority 240");
    assert_eq!(p.lines[0].col_map[0], 8);
}

#[test]
fn default_config_id_is_the_host_name_up_to_the_first_dot() {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    let expected = host.trim().split('.').next().expect("name").to_string();
    assert_eq!(default_config_id(), expected);
    let c = Cfg::new();
    c.file("k.conf", &format!("@{expected} mine\n@^{expected} other\n"));
    let p = c.run("k.conf", &PreprocessOptions::default());
    assert_eq!(texts(&p), vec!["mine"]);
}

#[test]
fn conditional_from_a_macro_uses_keepalived_stale_length() {
    // keepalived strips "@id " with the length of the line before
    // substitution: "$M c5" (5) minus "@main " (6) + 1 moves 0 bytes, so the
    // prefix stays (checked against keepalived 2.2.7).
    let p = one(
        "$M=@main\n$M c5\n$T=@^other\n$T c7\n$T c7abcdefghijklmnopqrstuvwxyz\n$O=@other\n$O c8\n",
        "main",
    );
    assert_eq!(
        texts(&p),
        vec!["@main c5", "c7", "c7abcdefghijklmnopqrstuvopqrstuvwxyz"]
    );
}

// -------------------------------------------------------------- macros

#[test]
fn simple_macro_needs_a_separator_or_braces() {
    let p = one("$A=x\na1_$A y\na2_$Ay\n$A,b\n($A)\nend_$A\nbr_${A}z\n", "n");
    assert_eq!(
        texts(&p),
        vec!["a1_x y", "a2_$Ay", "x,b", "(x)", "end_x", "br_xz"]
    );
}

#[test]
fn substituted_text_maps_to_the_column_of_the_reference() {
    let p = one("$P=100\n  priority $P\n", "n");
    let l = &p.lines[0];
    assert_eq!(l.text, "priority 100");
    assert_eq!(&l.col_map[..8], &[3, 4, 5, 6, 7, 8, 9, 10]);
    assert_eq!(&l.col_map[9..], &[12, 12, 12]);
    assert_eq!(
        l.span_at(9).to_string(),
        format!("{}:2:12", l.file.display())
    );
}

#[test]
fn macros_expand_recursively_at_use_time() {
    // man keepalived.conf(5) "Parameter substitution".
    let p = one(
        "$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}\n$ADDRESS_BASE_SUB=0\n${ADDRESS_BASE}.100/32\n$ADDRESS_BASE_SUB=10\n${ADDRESS_BASE}.100/32\n",
        "n",
    );
    assert_eq!(texts(&p), vec!["10.2.0.100/32", "10.2.10.100/32"]);
}

#[test]
fn undefined_macros_and_lone_dollars_are_left_alone() {
    let p = one("$A=1\nscript \"echo ${UNDEF} $HOME $\"\nx${UNDEF}\n", "n");
    assert_eq!(
        texts(&p),
        vec!["script \"echo ${UNDEF} $HOME $\"", "x$", "{", "UNDEF", "}"]
    );
}

#[test]
fn definitions_need_no_space_before_the_equals_sign() {
    let p = one(
        "$A =x\n$E=\n[${E}]\n$B=  spaced value  \n<${B}> <$B>\n",
        "n",
    );
    // "$A =x" is not a definition; A is undefined so it stays. "$B>" is not
    // a reference ('>' may not follow a bare name).
    assert_eq!(texts(&p), vec!["$A =x", "[]", "<spaced value> <$B>"]);
}

#[test]
fn macro_producing_conditional_and_definition_lines() {
    let p = one(
        "@main $PRIORITY=240\n@backup $PRIORITY=200\npriority $PRIORITY\n",
        "backup",
    );
    assert_eq!(texts(&p), vec!["priority 200"]);
}

#[test]
fn multiline_definition_expands_to_several_lines() {
    let text = "$INSTANCE= \\\nvrrp_instance VI_${NUM} { \\\n    interface eth0.${NUM} \\\n    @high priority 130 \\\n    @low priority 120 \\\n}\n\n$NUM=0\n$INSTANCE\n$NUM=1\n$INSTANCE\n";
    let p = one(text, "high");
    assert_eq!(
        texts(&p),
        vec![
            "vrrp_instance VI_0",
            "{",
            "interface eth0.0",
            "priority 130",
            "}",
            "vrrp_instance VI_1",
            "{",
            "interface eth0.1",
            "priority 130",
            "}",
        ]
    );
    // Expanded lines report the line of the reference.
    assert!(p.lines[..5].iter().all(|l| l.line == 9));
    assert!(p.lines[5..].iter().all(|l| l.line == 11));
}

#[test]
fn multiline_definitions_nest() {
    let text = "$RS= \\\nreal_server 192.168.${VS_NUM}.${RS_NUM} 80 \\\nweight 1\n\n$VS= \\\nvirtual_server 10.0.${VS_NUM}.4 80 \\\n$RS_NUM=1 \\\n$RS \\\n$RS_NUM=2 \\\n$RS \\\nend_vs\n\n$VS_NUM=0\n$VS\n";
    let p = one(text, "n");
    assert_eq!(
        texts(&p),
        vec![
            "virtual_server 10.0.0.4 80",
            "real_server 192.168.0.1 80",
            "weight 1",
            "real_server 192.168.0.2 80",
            "weight 1",
            "end_vs",
        ]
    );
}

#[test]
fn multiline_macro_is_only_used_at_the_end_of_a_line() {
    let p = one("$M= \\\na \\\nb\n\nx $M\n$M y\n", "n");
    assert_eq!(texts(&p), vec!["x a", "b", "$M y"]);
}

#[test]
fn builtin_pwd_is_the_directory_of_the_file_being_read() {
    let c = Cfg::new();
    c.file(
        "main.conf",
        "main ${_PWD}\ninclude sub/inc.conf\nback ${_PWD}\n",
    );
    c.file("sub/inc.conf", "inc ${_PWD}\n");
    let p = c.run("main.conf", &id("n"));
    let root = std::fs::canonicalize(c.dir.path()).expect("canon");
    assert_eq!(
        texts(&p),
        vec![
            format!("main {}", root.display()),
            format!("inc {}", root.join("sub").display()),
            format!("back {}", root.display()),
        ]
    );
}

#[test]
fn builtin_instance_and_random() {
    let c = Cfg::new();
    c.file(
        "k.conf",
        "id ${_INSTANCE}\n~SEQ(i,1,50) r${_RANDOM} ${_RANDOM 5 7}\n",
    );
    let limits = Limits {
        random_seed: Some(42),
        ..Limits::default()
    };
    let p = preprocess_file_with_limits(&c.path("k.conf"), &id("node7"), &limits);
    assert_eq!(p.lines[0].text, "id node7");
    assert_eq!(p.lines.len(), 51);
    for l in &p.lines[1..] {
        let (a, b) = l.text.split_once(' ').expect("two words");
        let a: u32 = a[1..].parse().expect("number");
        let b: u32 = b.parse().expect("number");
        assert!(a <= 32767, "{a}");
        assert!((5..=7).contains(&b), "{b}");
    }
}

#[test]
fn random_with_parameters_mid_line_keeps_keepalived_garbage() {
    // keepalived only moves two bytes when the value is shorter than
    // "${_RANDOM a b}", leaving the old tail (checked against 2.2.7).
    let p = one("x${_RANDOM 1 1}yz_abcdef\n", "n");
    assert_eq!(texts(&p), vec!["x1y_RANDOM 1 1", "}", "yz_abcdef"]);
}

#[test]
fn a_builtin_can_be_overridden() {
    let p = one("$_HASH=hash\n<${_HASH}>\n", "n");
    assert_eq!(texts(&p), vec!["<hash>"]);
}

#[test]
fn growing_self_reference_stops_at_keepalived_line_limit() {
    let p = one("$R=${R}z\nr_${R}\n", "n");
    // The expansion stops at 1023 bytes; keepalived only logs this.
    let all: String = texts(&p).concat();
    assert_eq!(all.len(), 1023, "r_${{R}}zzz... split at the braces");
    assert_eq!(&texts(&p)[..4], &["r_$", "{", "R", "}"]);
    let notes = messages(&p, Severity::Note);
    assert!(
        notes[0].contains("would exceed maximum line length"),
        "{notes:?}"
    );
    assert!(messages(&p, Severity::Error).is_empty());
}

#[test]
fn same_length_self_reference_is_a_runaway_error_not_a_hang() {
    let started = std::time::Instant::now();
    let p = one("$A=$A\nx $A\nnever\n", "n");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let errs = messages(&p, Severity::Error);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("runaway macro expansion"), "{errs:?}");
    assert!(texts(&p).is_empty());
}

#[test]
fn self_recursive_multiline_macro_is_stopped() {
    let c = Cfg::new();
    c.file("k.conf", "$M= \\\nline \\\n$M\n\n$M\n");
    let limits = Limits {
        max_lines: 10_000,
        ..Limits::default()
    };
    let p = preprocess_file_with_limits(&c.path("k.conf"), &id("n"), &limits);
    assert_eq!(p.lines.len(), 10_000);
    let errs = messages(&p, Severity::Error);
    assert!(errs[0].contains("more than 10000 lines"), "{errs:?}");
}

// ------------------------------------------------------- ~SEQ and ~LST

#[test]
fn seq_forms() {
    let p = one(
        "~SEQ(i, 0, 3) a${i}\n~SEQ(i, 3) b$i\n~SEQ(i, 3, 1) c$i\n~SEQ(i, 10, -4, 1) d$i\n~SEQ(i, -2) e$i\n",
        "n",
    );
    assert_eq!(
        texts(&p),
        vec![
            "a0", "a1", "a2", "a3", "b1", "b2", "b3", "c3", "c2", "c1", "d10", "d6", "d2", "e-1",
            "e-2"
        ]
    );
    no_diagnostics(&p);
}

#[test]
fn seqx_formats_in_hex() {
    let p = one("~SEQx(S, 0x90, 0x10, 0xc0) ip fe80::20:${S}:1\n", "n");
    assert_eq!(
        texts(&p),
        vec![
            "ip fe80::20:90:1",
            "ip fe80::20:a0:1",
            "ip fe80::20:b0:1",
            "ip fe80::20:c0:1"
        ]
    );
}

#[test]
fn several_seqs_on_a_line_nest() {
    let p = one(
        "~SEQx(A, 0x90, 0x10, 0xa0) ~SEQx(B, 0x12, -1, 0x11) fe81::${A}:${B}\n",
        "n",
    );
    assert_eq!(
        texts(&p),
        vec!["fe81::90:12", "fe81::90:11", "fe81::a0:12", "fe81::a0:11"]
    );
}

#[test]
fn seq_parameters_may_be_macros() {
    let p = one("$LAST=3\n~SEQ(i, 1, $LAST) n$i\n", "n");
    assert_eq!(texts(&p), vec!["n1", "n2", "n3"]);
}

#[test]
fn seq_keeps_the_columns_of_its_text() {
    let p = one("~SEQ(i,1,2) ab $i\n", "n");
    assert_eq!(p.lines[0].text, "ab 1");
    assert_eq!(p.lines[0].col_map, vec![13, 14, 15, 16]);
}

#[test]
fn invalid_seqs_are_errors_with_keepalived_wording() {
    let p = one(
        "~SEQ(i, 1, -1, 5) a\n~SEQx(i, -3, 1) b\n~SEQ(i) c\n~SEQ(i, x) d\n",
        "n",
    );
    assert!(texts(&p).is_empty());
    assert_eq!(
        messages(&p, Severity::Error),
        vec![
            "Invalid ~SEQ values '~SEQ(i, 1, -1, 5) a'",
            "Invalid ~SEQ specification '~SEQ(i, 1, -1, 5) a'",
            "~SEQx is only valid for positive numbers '~SEQx(i, -3, 1) b'",
            "Invalid ~SEQ specification '~SEQx(i, -3, 1) b'",
            "Invalid ~SEQ definition '~SEQ(i) c'",
            "Invalid ~SEQ specification '~SEQ(i) c'",
            "Invalid ~SEQ definition '~SEQ(i, x) d'",
            "Invalid ~SEQ specification '~SEQ(i, x) d'",
        ]
    );
}

#[test]
fn runaway_seq_is_rejected_quickly() {
    let started = std::time::Instant::now();
    let p = one("~SEQ(i, 0, 1000000000) x$i\nafter\n", "n");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(texts(&p), vec!["after"]);
    let errs = messages(&p, Severity::Error);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].contains("would produce 1000000001 lines"),
        "{errs:?}"
    );
}

#[test]
fn nested_seqs_beyond_the_line_budget_stop_preprocessing() {
    let c = Cfg::new();
    c.file("k.conf", "~SEQ(a,1,1000) ~SEQ(b,1,1000) ~SEQ(c,1,1000) x\n");
    let limits = Limits {
        max_lines: 50_000,
        ..Limits::default()
    };
    let started = std::time::Instant::now();
    let p = preprocess_file_with_limits(&c.path("k.conf"), &id("n"), &limits);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(p.lines.len(), 50_000);
    assert!(messages(&p, Severity::Error)[0].contains("preprocessing stopped"));
}

#[test]
fn lst_single_and_multiple_variables() {
    let p = one(
        "~LST(IP, 1, 2) ~LST(IP1, 5,6) 192.169.${IP}.${IP1}\n~LST({IP, IP1}, {10,1},{20,4}, {5}) 192.168.${IP}.${IP1}\n",
        "n",
    );
    assert_eq!(
        texts(&p),
        vec![
            "192.169.1.5",
            "192.169.1.6",
            "192.169.2.5",
            "192.169.2.6",
            "192.168.10.1",
            "192.168.20.4",
            "192.168.5."
        ]
    );
}

#[test]
fn lst_combines_with_seq() {
    let p = one(
        "~LST({IP, IP1}, {10,1},{20,4}) ~SEQ(IP2,168,2,172) 192.${IP2}.${IP}.${IP1}\n",
        "n",
    );
    assert_eq!(
        texts(&p),
        vec![
            "192.168.10.1",
            "192.170.10.1",
            "192.172.10.1",
            "192.168.20.4",
            "192.170.20.4",
            "192.172.20.4"
        ]
    );
}

#[test]
fn invalid_lst_is_an_error() {
    let p = one("~LST(a, {1,2}) x\n~LST(a b) y\n", "n");
    assert!(texts(&p).is_empty());
    assert_eq!(
        messages(&p, Severity::Error),
        vec![
            "~LST specification has too many values '~LST(a, {1,2}) x'",
            "Invalid ~LST specification '~LST(a, {1,2}) x'",
            "Invalid ~LST specification '~LST(a b) y'",
        ]
    );
}

#[test]
fn seq_over_a_multiline_macro() {
    let text =
        "$VI= \\\nvrrp_instance v${ID} \\\nvirtual_router_id ${ID}\n\n~SEQ(ID,1,2) $VI\nend\n";
    let p = one(text, "n");
    assert_eq!(
        texts(&p),
        vec![
            "vrrp_instance v1",
            "virtual_router_id 1",
            "vrrp_instance v2",
            "virtual_router_id 2",
            "end"
        ]
    );
}

// ------------------------------------------------------------ includes

#[test]
fn include_is_relative_to_the_including_file() {
    let c = Cfg::new();
    c.file("main.conf", "top\ninclude sub/a.conf\nbottom\n");
    c.file("sub/a.conf", "in_a\ninclude b.conf\n");
    c.file("sub/b.conf", "in_b\n");
    c.file("b.conf", "wrong_b\n");
    let p = c.run("main.conf", &id("n"));
    assert_eq!(texts(&p), vec!["top", "in_a", "in_b", "bottom"]);
    no_diagnostics(&p);
    let files: Vec<PathBuf> = p.files.iter().map(|f| f.to_path_buf()).collect();
    assert_eq!(
        files,
        vec![
            c.path("main.conf"),
            c.path("sub/a.conf"),
            c.path("sub/b.conf")
        ]
    );
    assert_eq!(p.lines[2].file.as_path(), c.path("sub/b.conf"));
    assert_eq!(p.lines[2].line, 1);
}

#[test]
fn include_glob_is_sorted_and_skips_hidden_files() {
    let c = Cfg::new();
    c.file("main.conf", "include conf.d/*.conf\n");
    c.file("conf.d/c.conf", "c\n");
    c.file("conf.d/a.conf", "a\n");
    c.file("conf.d/b.conf", "b\n");
    c.file("conf.d/.hidden.conf", "hidden\n");
    c.file("conf.d/readme.txt", "txt\n");
    let p = c.run("main.conf", &id("n"));
    assert_eq!(texts(&p), vec!["a", "b", "c"]);
}

#[test]
fn include_braces_keep_their_order() {
    let c = Cfg::new();
    c.file("main.conf", "include {z,a{2,1}}.conf\n");
    c.file("z.conf", "z\n");
    c.file("a1.conf", "a1\n");
    c.file("a2.conf", "a2\n");
    let p = c.run("main.conf", &id("n"));
    assert_eq!(texts(&p), vec!["z", "a2", "a1"]);
    no_diagnostics(&p);
}

#[test]
fn missing_legacy_include_is_only_a_note() {
    let c = Cfg::new();
    c.file(
        "main.conf",
        "include nothere.conf\ninclude none/*.conf\nx\n",
    );
    let p = c.run("main.conf", &id("n"));
    assert_eq!(texts(&p), vec!["x"]);
    assert!(!p.include_error);
    assert_eq!(
        messages(&p, Severity::Note),
        vec![
            "Config files missing 'nothere.conf'.",
            "Config files missing 'none/*.conf'."
        ]
    );
}

#[test]
fn checked_include_variants() {
    let c = Cfg::new();
    c.file(
        "main.conf",
        "includer nothere.conf\nincludem d/*.none\nincludew d/*.none\nincludea nothere2.conf\nincludeb d/{x,nothere}.conf\n",
    );
    c.file("d/x.conf", "x\n");
    let p = c.run("main.conf", &id("n"));
    // includeb refuses the whole include when one alternative is missing.
    assert!(texts(&p).is_empty());
    assert!(p.include_error);
    assert_eq!(
        messages(&p, Severity::Note),
        vec!["Config files missing 'nothere.conf'."]
    );
    assert_eq!(
        messages(&p, Severity::Fatal),
        vec![
            "No config files matched 'd/*.none'.",
            "Config files missing 'nothere2.conf'.",
            "Some config files missing: \"d/{x,nothere}.conf\".",
        ]
    );
    assert!(p
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Fatal)
        .all(|d| d.kind == DiagKind::Fatal));
    let span = p.diagnostics[1].span.clone().expect("span");
    assert_eq!(span.line, 3);
}

#[test]
fn all_config_makes_every_include_checked() {
    let c = Cfg::new();
    c.file("main.conf", "include nothere.conf\n");
    let p = c.run("main.conf", &all_config("n"));
    assert!(p.include_error);
    assert_eq!(
        messages(&p, Severity::Fatal),
        vec!["Config files missing 'nothere.conf'."]
    );
}

#[test]
fn include_check_in_global_defs_is_restored_after_the_file() {
    let c = Cfg::new();
    c.file(
        "main.conf",
        "include inc.conf\ninclude missing2.conf\nvrrp_instance X {\ninclude_check\n}\ninclude missing3.conf\n",
    );
    c.file(
        "inc.conf",
        "global_defs {\n  include_check\n}\ninclude missing1.conf\n",
    );
    let p = c.run("main.conf", &id("n"));
    assert_eq!(
        messages(&p, Severity::Fatal),
        vec!["Config files missing 'missing1.conf'."]
    );
    assert_eq!(
        messages(&p, Severity::Note),
        vec![
            "Config files missing 'missing2.conf'.",
            "Config files missing 'missing3.conf'."
        ]
    );
}

#[test]
fn include_check_options() {
    let c = Cfg::new();
    c.file(
        "main.conf",
        "global_defs {\ninclude_check match -read +bogus\ninclude_check read match\n}\ninclude nothere.conf\n",
    );
    let p = c.run("main.conf", &id("n"));
    assert_eq!(
        messages(&p, Severity::Error),
        vec![
            "Unknown include_check type 'bogus' - ignoring",
            "Duplicate include_check 'match' specified - ignoring"
        ]
    );
    // The last include_check left "read" only: a missing file is not an error.
    assert_eq!(
        messages(&p, Severity::Note),
        vec!["Config files missing 'nothere.conf'."]
    );
}

#[test]
fn include_loop_is_reported_and_terminates() {
    let c = Cfg::new();
    c.file("a.conf", "in_a\ninclude b.conf\nend_a\n");
    c.file("b.conf", "in_b\ninclude a.conf\ninclude b.conf\nend_b\n");
    let p = c.run("a.conf", &id("n"));
    assert_eq!(texts(&p), vec!["in_a", "in_b", "end_b", "end_a"]);
    let errs = messages(&p, Severity::Error);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs.iter().all(|e| e.contains("include loop")));
}

#[test]
fn include_lines_may_come_from_macros_and_conditionals() {
    // keepalived checks for include after substitution (the man page says
    // otherwise; 2.2.7's code and behaviour are what matter).
    let c = Cfg::new();
    c.file(
        "main.conf",
        "$I=include x.conf\n$I\n@me include y.conf\n@other include x.conf\n",
    );
    c.file("x.conf", "x\n");
    c.file("y.conf", "y\n");
    let p = c.run("main.conf", &id("me"));
    assert_eq!(texts(&p), vec!["x", "y"]);
}

#[test]
fn directories_and_executables_are_skipped() {
    let c = Cfg::new();
    c.file("main.conf", "include inc/*\nincluder exe.conf\n");
    c.file("inc/a.conf", "a\n");
    std::fs::create_dir_all(c.path("inc/sub")).expect("mkdir");
    let exe = c.file("exe.conf", "exe\n");
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let p = c.run("main.conf", &id("n"));
    assert_eq!(texts(&p), vec!["a"]);
    assert_eq!(
        messages(&p, Severity::Note),
        vec!["Configuration file 'inc/sub/' is a directory - skipping"]
    );
    assert_eq!(
        messages(&p, Severity::Fatal),
        vec!["Configuration file 'exe.conf' is not a regular non-executable file - skipping"]
    );
}

#[test]
fn words_that_merely_start_with_include_are_not_includes() {
    let p = one("include_x foo\ninclude\nincludes x\n", "n");
    assert_eq!(texts(&p), vec!["include_x foo", "include", "includes x"]);
}

// ----------------------------------------------------------- main file

#[test]
fn missing_main_file_is_reported_like_keepalived() {
    let c = Cfg::new();
    // keepalived -t exits 0 for a missing file unless -e; the daemon exits 6.
    let p = c.run("nothere.conf", &id("n"));
    assert!(p.main_file_missing);
    assert!(p.lines.is_empty());
    let p = c.run("nothere.conf", &all_config("n"));
    assert!(p.main_file_missing);
    let fatal: Vec<_> = p
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Fatal && d.kind == DiagKind::Fatal)
        .collect();
    assert_eq!(fatal.len(), 1);
    assert!(fatal[0].message.starts_with("Config files missing"));
}

#[test]
fn main_file_glob_with_several_matches_reads_all_and_warns() {
    let c = Cfg::new();
    c.file("k1.conf", "one\n");
    c.file("k2.conf", "two\n");
    let p = preprocess_file(&c.dir.path().join("k*.conf"), &id("n"));
    assert_eq!(texts(&p), vec!["one", "two"]);
    let errs = messages(&p, Severity::Error);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("WARNING, multiple configuration file matches"));
}

#[test]
fn preprocess_str_resolves_includes_next_to_the_virtual_path() {
    let c = Cfg::new();
    c.file("inc.conf", "included\n");
    let p = preprocess_str("a\ninclude inc.conf\n", &c.path("virtual.conf"), &id("n"));
    assert_eq!(texts(&p), vec!["a", "included"]);
    assert_eq!(
        p.lines[0].file.as_path(),
        Path::new(&c.path("virtual.conf"))
    );
}

/// Issue 11 item 10: a main file or include that is a FIFO, a device or a
/// directory is refused without reading it (keepalived: "is not a regular
/// non-executable file - skipping"); nothing blocks and nothing grows.
/// The whole test runs in a thread with a deadline, so a hang fails it.
#[test]
fn fifo_device_and_directory_paths_are_refused_without_blocking() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let c = Cfg::new();
        let fifo = c.path("fifo.conf");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        c.file(
            "main.conf",
            &format!(
                "include {}\ninclude /dev/zero\ninclude {}\nglobal_defs {{\n router_id r\n}}\n",
                fifo.display(),
                c.dir.path().display()
            ),
        );
        let p = c.run("main.conf", &PreprocessOptions::default());
        let texts: Vec<&str> = p.lines.iter().map(|l| l.text.as_str()).collect();
        let refused = p
            .diagnostics
            .iter()
            .filter(|d| d.message.contains("is not a regular non-executable file"))
            .count();
        let main_fifo = preprocess_file(&fifo, &PreprocessOptions::default());
        let main_zero = preprocess_file(Path::new("/dev/zero"), &PreprocessOptions::default());
        tx.send((
            texts.join("|"),
            refused,
            main_fifo.main_file_missing,
            main_zero.main_file_missing,
            main_zero.lines.len(),
        ))
        .expect("send");
    });
    let (texts, refused, fifo_missing, zero_missing, zero_lines) = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("preprocessing a FIFO or /dev/zero must not hang");
    assert_eq!(texts, "global_defs|{|router_id r|}");
    assert_eq!(refused, 2, "the FIFO and /dev/zero includes are refused");
    assert!(fifo_missing && zero_missing);
    assert_eq!(zero_lines, 0);
}
