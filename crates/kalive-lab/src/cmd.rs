//! Running the system tools the lab drives (`ip`, `nft`, `sysctl`).
//!
//! Topology setup goes through iproute2 rather than netlink code of our own:
//! it is what an operator would type, and its error messages are clear.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::error::{LabError, Result};

/// Runs `program args…`, returns stdout; a non-zero exit is an error that
/// carries stderr.
pub fn run(program: &str, args: &[&str]) -> Result<String> {
    run_with_stdin(program, args, None)
}

/// Like [`run`], feeding `stdin` to the program.
pub fn run_with_stdin(program: &str, args: &[&str], stdin: Option<&str>) -> Result<String> {
    let rendered = render(program, args);
    let mut command = Command::new(program);
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = command
        .spawn()
        .map_err(|e| LabError::io(format!("cannot start `{rendered}`"), e))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .map_err(|e| LabError::io(format!("writing stdin of `{rendered}`"), e))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| LabError::io(format!("waiting for `{rendered}`"), e))?;
    if !output.status.success() {
        return Err(LabError::Command {
            command: rendered,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Runs `ip args…`.
pub fn ip(args: &[&str]) -> Result<String> {
    run("ip", args)
}

/// Runs `ip -n ns args…`.
pub fn ip_in(ns: &str, args: &[&str]) -> Result<String> {
    let mut all = vec!["-n", ns];
    all.extend_from_slice(args);
    run("ip", &all)
}

/// Runs `program args…` inside network namespace `ns` (`ip netns exec`).
pub fn exec_in(ns: &str, program: &str, args: &[&str], stdin: Option<&str>) -> Result<String> {
    let mut all = vec!["netns", "exec", ns, program];
    all.extend_from_slice(args);
    run_with_stdin("ip", &all, stdin)
}

/// Applies an nftables script inside `ns`.
pub fn nft_in(ns: &str, script: &str) -> Result<String> {
    exec_in(ns, "nft", &["-f", "-"], Some(script))
}

fn render(program: &str, args: &[&str]) -> String {
    let mut text = program.to_string();
    for arg in args {
        text.push(' ');
        text.push_str(arg);
    }
    text
}

/// Checks that we are root and that the tools the lab drives exist, so a
/// test fails with one clear sentence instead of a confusing `ip` error.
pub fn preflight(need_keepalived: bool) -> Result<()> {
    let uid = nix::unistd::geteuid().as_raw();
    if uid != 0 {
        return Err(LabError::NotRoot(uid));
    }
    for (program, package) in [("ip", "iproute2"), ("nft", "nftables")] {
        if find_program(program).is_none() {
            return Err(LabError::MissingProgram(program.into(), package));
        }
    }
    if need_keepalived && crate::daemon::keepalived_path().is_none() {
        return Err(LabError::MissingProgram("keepalived".into(), "keepalived"));
    }
    Ok(())
}

/// Looks `program` up in PATH and the sbin directories (root's tools often
/// live there while PATH of a test runner lacks them).
pub fn find_program(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|dir| std::path::Path::new(dir).join(program))
        .find(|candidate| candidate.is_file());
    found
}
