//! Property tests: any text, arbitrary or built from preprocessor constructs,
//! goes through the preprocessor without panicking, quickly, and every line
//! it produces is well formed.

use kalive_config::preprocess::{preprocess_str_with_limits, Limits, PreprocessOptions};
use proptest::prelude::*;
use std::path::Path;
use std::time::{Duration, Instant};

fn limits() -> Limits {
    Limits {
        max_lines: 2_000,
        max_bytes: 256 << 10,
        max_sequence_len: 500,
        max_substitutions: 512,
        follow_includes: false,
        random_seed: Some(7),
        ..Limits::default()
    }
}

fn opts() -> PreprocessOptions {
    PreprocessOptions {
        config_id: Some("me".into()),
        all_config: false,
    }
}

fn check(text: &str) -> Result<(), TestCaseError> {
    let started = Instant::now();
    let p = preprocess_str_with_limits(
        text,
        Path::new("/nonexistent/fuzz.conf"),
        &opts(),
        &limits(),
    );
    prop_assert!(
        // Generous: CI machines are shared; a hang is what this catches.
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    let physical_lines = text.split('\n').count() as u32;
    for l in &p.lines {
        prop_assert!(!l.text.is_empty(), "empty line produced");
        prop_assert!(!l.text.contains('\n'));
        prop_assert_eq!(l.col_map.len(), l.text.chars().count());
        prop_assert!(l.col_map.iter().all(|&c| c >= 1));
        prop_assert!(l.line >= 1 && l.line <= physical_lines, "line {}", l.line);
        prop_assert!(l.text.len() < 4096, "line of {} bytes", l.text.len());
    }
    for d in &p.diagnostics {
        if let Some(s) = &d.span {
            prop_assert!(s.line >= 1 && s.col >= 1);
        }
    }
    Ok(())
}

/// One line built from the constructs the preprocessor handles.
fn construct() -> impl Strategy<Value = String> {
    let name = prop::sample::select(vec!["A", "B", "_X", "_HASH", "_RANDOM", "_PWD", "I"]);
    let atom = prop_oneof![
        "[a-z]{1,4}".prop_map(|s| s),
        name.clone().prop_map(|n| format!("${n}")),
        name.clone().prop_map(|n| format!("${{{n}}}")),
        Just("${_RANDOM 1 5}".to_string()),
        prop::sample::select(vec![
            "#", "!", "\\#", "\"", "'", "{", "}", "$", "@", "\\", " ", "\t", ",", ")", "(", "~"
        ])
        .prop_map(str::to_string),
    ];
    let words = prop::collection::vec(atom, 0..6).prop_map(|v| v.concat());
    prop_oneof![
        (name.clone(), words.clone()).prop_map(|(n, w)| format!("${n}={w}")),
        (name.clone(), words.clone()).prop_map(|(n, w)| format!("${n}={w} \\")),
        (prop::bool::ANY, words.clone())
            .prop_map(|(neg, w)| format!("@{}me {w}", if neg { "^" } else { "" })),
        (name.clone(), -3i64..4, -2i64..3, -3i64..4, words.clone())
            .prop_map(|(n, a, b, c, w)| format!("~SEQ({n}, {a}, {b}, {c}) {w}")),
        (name.clone(), words.clone()).prop_map(|(n, w)| format!("~SEQx({n}, 3) {w}")),
        (name, words.clone(), words.clone()).prop_map(|(n, a, w)| format!("~LST({n}, {a}, x) {w}")),
        words.clone().prop_map(|w| format!("include {w}")),
        words,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "[ -~\t\n\r\u{e9}\u{0}]{0,400}") {
        check(&text)?;
    }

    #[test]
    fn structured_text_never_panics(lines in prop::collection::vec(construct(), 0..24)) {
        check(&lines.join("\n"))?;
    }
}

#[test]
fn pathological_inputs_finish() {
    let cases = [
        "$A=$A\n$A\n",
        "$A=${A}${A}\nx $A\n",
        "$A=$B\n$B=$A\n$A\n",
        "$M= \\\n$M \\\nx\n\n$M\n",
        "$M= \\\n$M=1 \\\n$M\n\n$M\n",
        "~SEQ(a,1,100) ~SEQ(b,1,100) ~SEQ(c,1,100) x\n",
        "~SEQ(i, -9223372036854775807, 9223372036854775807) x\n",
        "~SEQ(i, 9223372036854775806, 1, 9223372036854775807) x$i\n",
        "$S=~SEQ(j,1,3) s$j\n$S\n",
        "~SEQ(i,1,3) $S\n$S=~SEQ(i,1,3) x\n",
    ];
    for c in cases {
        check(c).unwrap_or_else(|e| panic!("{c:?}: {e}"));
    }
}
