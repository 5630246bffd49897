//! kalive: keepalived-compatible high-availability daemon.
fn main() {
    println!("kalive {}", env!("CARGO_PKG_VERSION"));
}
