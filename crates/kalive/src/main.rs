//! kalive: keepalived-compatible high-availability daemon.

fn main() -> std::process::ExitCode {
    kalive::main_entry()
}
