//! Manual tool: `PP_FILE=path [PP_ID=id] cargo test -p kalive-config --test
//! preprocess_dump -- --ignored --nocapture` prints the preprocessed lines and
//! diagnostics of a config, to compare with `keepalived -t`.

use kalive_config::preprocess::{preprocess_file, PreprocessOptions};
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
    let p = preprocess_file(&PathBuf::from(file), &opts);
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
