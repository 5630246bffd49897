//! `cargo fuzz run config_text` (see docs/fuzzing.md): arbitrary bytes as
//! one keepalived.conf, through the whole pipeline — preprocessor (`@id`,
//! `$MACROS`, `~SEQ`/`~LST`, comments, line splitting), lexer, block tree,
//! keyword parsers, validation and `-t` verdict — against a fake machine
//! (no file system, no host lookups). Includes are not followed here (see
//! config_files). No panic; the limits below keep every input to bounded
//! time and memory, and the output within them is checked.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use kalive_config::preprocess::{preprocess_str_with_limits, Limits, PreprocessOptions};
use kalive_config::system::FakeSystem;
use kalive_config::test_mode::exit_code_for;
use kalive_config::{load_lines, Loaded};
use libfuzzer_sys::fuzz_target;

/// Smaller than the daemon's limits (4 M lines, 256 MiB) so that one input
/// stays well under libFuzzer's timeout; the code paths are the same.
fn limits() -> Limits {
    Limits {
        max_lines: 50_000,
        max_bytes: 4 << 20,
        max_sequence_len: 10_000,
        max_substitutions: 512,
        follow_includes: false,
        random_seed: Some(1),
        ..Limits::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let opts = PreprocessOptions {
        config_id: Some("fuzz".into()),
        all_config: data.first() == Some(&b'!'),
    };
    let limits = limits();
    let pre = preprocess_str_with_limits(&text, Path::new("/fuzz/keepalived.conf"), &opts, &limits);
    assert!(
        pre.lines.len() <= limits.max_lines + 1,
        "{} lines",
        pre.lines.len()
    );
    let produced: usize = pre.lines.iter().map(|l| l.text.len()).sum();
    assert!(produced <= limits.max_bytes + 4096, "{produced} bytes");
    let system =
        Arc::new(FakeSystem::with_interfaces(&["eth0", "eth1", "lo"]).file("/usr/bin/true", 0o755));
    let loaded: Loaded = load_lines(&pre.lines, system);
    let _ = exit_code_for(&loaded);
    let _ = loaded.has_errors_blocking_start();
    for d in &loaded.diagnostics {
        let _ = d.to_string();
    }
});
