//! Smoke test of `kalive-lab bench reload`: one case (add a VIP) with one
//! instance, both implementations; the printed table must parse and show
//! the change reaching the kernel. Figures are not judged (a benchmark
//! informs, a test decides): only that they were measured.
//!
//! Needs root, iproute2, ping and keepalived; fails loudly without them.

mod common;

use common::implementation;
use kalive_lab::bench::reload::{self, Case, HEADER};

#[test]
fn one_case_with_one_instance_prints_a_table_that_parses() {
    let imps = [implementation("kalive"), implementation("keepalived")];
    let mut out = Vec::new();
    let outcomes = reload::run(&imps, &[1], &[Case::AddVip], &mut out)
        .unwrap_or_else(|e| panic!("bench reload failed: {e}"));
    let text = String::from_utf8(out).expect("utf-8");
    assert_eq!(outcomes.len(), 2, "{text}");

    let lines: Vec<&str> = text.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("case"))
        .unwrap_or_else(|| panic!("no header:\n{text}"));
    for name in HEADER {
        assert!(lines[header].contains(name), "{name} missing:\n{text}");
    }
    let rows: Vec<Vec<&str>> = lines[header + 1..]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    for imp in ["kalive", "keepalived"] {
        let row = rows
            .iter()
            .find(|r| r.get(2) == Some(&imp))
            .unwrap_or_else(|| panic!("no {imp} row:\n{text}"));
        assert_eq!(row[0], "add-vip");
        assert_eq!(row[1], "1");
        let (lost, sent) = row[3].split_once('/').expect("lost/sent");
        let (lost, sent): (u32, u32) = (lost.parse().expect("lost"), sent.parse().expect("sent"));
        assert!(sent > 0 && lost <= sent, "{text}");
        assert!(row[4] == "no" || row[4] == "yes", "{text}");
        let ms: f64 = row[5]
            .parse()
            .unwrap_or_else(|_| panic!("{imp}: the new VIP was not seen in the kernel:\n{text}"));
        assert!(ms >= 0.0, "{text}");
    }
    assert!(
        rows.iter().any(|r| r.get(2) == Some(&"ratio")),
        "no ratio row:\n{text}"
    );
}
