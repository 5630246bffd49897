//! Manual tool: `PP_FILE=path [PP_ID=id] cargo test -p kalive-config --test
//! preprocess_dump -- --ignored --nocapture` (PP_ALL=1 for -e, PP_MAX_LINES=n)
//! prints the preprocessed lines and
//! diagnostics of a config, to compare with `keepalived -t`.

use kalive_config::preprocess::{preprocess_file_with_limits, Limits, PreprocessOptions};
use std::path::PathBuf;

#[test]
#[ignore = "manual comparison tool; needs PP_FILE"]
fn dump() {
    let Some(file) = std::env::var_os("PP_FILE") else {
        panic!("set PP_FILE to the config to dump");
    };
    let opts = PreprocessOptions {
        config_id: std::env::var("PP_ID").ok(),
        all_config: std::env::var_os("PP_ALL").is_some(),
    };
    let mut limits = Limits::default();
    if let Some(n) = std::env::var("PP_MAX_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        limits.max_lines = n;
    }
    let p = preprocess_file_with_limits(&PathBuf::from(file), &opts, &limits);
    for l in &p.lines {
        println!("{}:{}: {}", l.file.display(), l.line, l.text);
    }
    for d in &p.diagnostics {
        println!("DIAG {d}");
    }
    println!(
        "missing={} include_error={}",
        p.main_file_missing, p.include_error
    );
}
