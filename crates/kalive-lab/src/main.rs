//! kalive-lab: network-namespace lab (demo, tests, benchmarks).
fn main() {
    println!("kalive-lab {}", env!("CARGO_PKG_VERSION"));
}
