//! `cargo fuzz run config_files` (see docs/fuzzing.md): `load_config`, the
//! daemon's own entry point, on files written from the fuzzer's bytes. The
//! input is split at NUL bytes into `keepalived.conf` and the files it may
//! include (`a.conf`, `b.conf`, `sub/c.conf`, `sub/d.conf`), so includes,
//! globs with braces, include checks, loops and `${_PWD}` are followed for
//! real, with the daemon's default limits. The machine is a fake one (no
//! interface, user or script lookups on the host).
//!
//! Every include stays inside the scratch directory: an input with a `/`
//! that is not the one of `sub/` is skipped (a fuzzer that learnt
//! `include /*/*` would otherwise read the host's files, /proc/kmsg
//! included, which blocks; `..` needs a slash of its own).
#![no_main]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use kalive_config::preprocess::PreprocessOptions;
use kalive_config::system::FakeSystem;
use kalive_config::test_mode::exit_code_for;
use kalive_config::{load_config, LoadOptions};
use libfuzzer_sys::fuzz_target;

const FILES: [&str; 5] = [
    "keepalived.conf",
    "a.conf",
    "b.conf",
    "sub/c.conf",
    "sub/d.conf",
];

/// One scratch directory per fuzzing process, removed by nobody: it is
/// small and lives under /tmp (the CI script removes its own).
fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("kalive-config-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).expect("scratch dir");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let escapes = data
        .iter()
        .enumerate()
        .any(|(i, b)| *b == b'/' && (i < 3 || &data[i - 3..i] != b"sub"));
    if escapes {
        return;
    }
    let dir = scratch();
    let mut parts = data.split(|b| *b == 0);
    for name in FILES {
        let path = dir.join(name);
        match parts.next() {
            Some(content) => std::fs::write(&path, content).expect("write scratch file"),
            None => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    let opts = LoadOptions {
        preprocess: PreprocessOptions {
            config_id: Some("fuzz".into()),
            all_config: data.first() == Some(&b'!'),
        },
        system: Arc::new(
            FakeSystem::with_interfaces(&["eth0", "eth1", "lo"]).file("/usr/bin/true", 0o755),
        ),
    };
    let loaded = load_config(&dir.join(FILES[0]), &opts);
    assert!(!loaded.main_file_missing, "the main file was written");
    assert!(
        loaded.files.len() <= 1 + 4 * 64 * 64,
        "{} files read",
        loaded.files.len()
    );
    let _ = exit_code_for(&loaded);
    for d in &loaded.diagnostics {
        let _ = d.to_string();
    }
});
