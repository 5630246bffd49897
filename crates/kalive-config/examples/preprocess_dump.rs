//! Prints the preprocessed lines and diagnostics of a config, to compare with
//! what `keepalived -t -d` reads:
//! `cargo run -p kalive-config --example preprocess_dump -- FILE [-i ID] [-e] [--max-lines N]`

use kalive_config::preprocess::{preprocess_file_with_limits, Limits, PreprocessOptions};
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut file = None;
    let mut opts = PreprocessOptions::default();
    let mut limits = Limits::default();
    while let Some(a) = args.next() {
        match a.as_str() {
            "-i" => opts.config_id = args.next(),
            "-e" => opts.all_config = true,
            "--max-lines" => {
                if let Some(n) = args.next().and_then(|v| v.parse().ok()) {
                    limits.max_lines = n;
                }
            }
            _ => file = Some(PathBuf::from(a)),
        }
    }
    let Some(file) = file else {
        eprintln!("usage: preprocess_dump FILE [-i ID] [-e] [--max-lines N]");
        std::process::exit(2);
    };
    let p = preprocess_file_with_limits(&file, &opts, &limits);
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
