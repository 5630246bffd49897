//! Every sample config Debian ships gets the same `-t` verdict from
//! `kalive_config::config_test` as from `/usr/sbin/keepalived -t`, both
//! checked against the same fresh network namespace (only `lo`), created
//! and deleted by this test.
//!
//! Needs root, keepalived and its samples (`apt-get install keepalived`);
//! fails with a clear message when they are missing.

mod netns_support;

use kalive_config::{config_test, ConfigTestOptions};
use netns_support::{require_root_and_keepalived, Netns};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const SAMPLES: &str = "/usr/share/doc/keepalived/samples";

/// Samples whose verdict differs from keepalived's on purpose:
/// (file name, reason). None today.
const EXPECTED_DIFFERENCES: &[(&str, &str)] = &[];

/// Copy every `keepalived.conf.*` sample into `dir`, gunzipping `.gz` ones.
fn unpack_samples(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(SAMPLES)
        .expect("samples dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("keepalived.conf."))
        })
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let target = dir.join(name.trim_end_matches(".gz"));
        if name.ends_with(".gz") {
            let data = Command::new("gzip")
                .arg("-dc")
                .arg(&p)
                .output()
                .expect("gzip -dc");
            assert!(data.status.success(), "gunzip {}", p.display());
            std::fs::write(&target, data.stdout).expect("write sample");
        } else {
            std::fs::copy(&p, &target).expect("copy sample");
        }
        out.push(target);
    }
    out
}

/// Compare every sample in `ns`; returns the mismatches.
fn compare_samples(ns: &Netns, samples: &[PathBuf]) -> Vec<String> {
    let sys = Arc::new(ns.system());
    let mut mismatches = Vec::new();
    for file in samples {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let theirs = ns.keepalived_verdict(file);
        let ours = config_test(&ConfigTestOptions {
            config_file: file.clone(),
            system: sys.clone(),
            ..ConfigTestOptions::default()
        });
        let expected_diff = EXPECTED_DIFFERENCES.iter().any(|(n, _)| *n == name);
        // Same accept/reject verdict, and in fact the same exit code.
        if theirs != ours.exit_code && !expected_diff {
            let first: Vec<String> = ours
                .diagnostics
                .iter()
                .take(3)
                .map(|d| d.to_string())
                .collect();
            mismatches.push(format!(
                "{}: keepalived exit {theirs}, kalive exit {} {first:?}",
                ns.name, ours.exit_code
            ));
        }
    }
    mismatches
}

fn samples_in(dir: &Path) -> Vec<PathBuf> {
    require_root_and_keepalived();
    assert!(
        Path::new(SAMPLES).is_dir(),
        "{SAMPLES} missing: apt-get install keepalived"
    );
    let samples = unpack_samples(dir);
    assert!(
        samples.len() >= 20,
        "expected Debian's ~25 samples, found {}",
        samples.len()
    );
    samples
}

/// In a fresh namespace (only `lo`): most samples name interfaces that do
/// not exist there.
#[test]
fn debian_samples_get_keepalived_verdicts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let samples = samples_in(dir.path());
    let ns = Netns::new("s");
    let mismatches = compare_samples(&ns, &samples);
    assert!(
        mismatches.is_empty(),
        "verdicts differ:\n{}",
        mismatches.join("\n")
    );
}

/// With the interfaces the samples name (eth0-eth3, addresses on eth0 and
/// eth1), so that keepalived's checks after reading the config run too.
#[test]
fn debian_samples_with_their_interfaces_get_keepalived_verdicts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let samples = samples_in(dir.path());
    let ns = Netns::with_links(
        "i",
        &[("eth0", "eth1"), ("eth2", "eth3")],
        &[("eth0", "192.168.200.2/24"), ("eth1", "192.168.100.2/24")],
    );
    let mismatches = compare_samples(&ns, &samples);
    assert!(
        mismatches.is_empty(),
        "verdicts differ:\n{}",
        mismatches.join("\n")
    );
}
