//! Process chores done before the tokio runtime starts: detaching from the
//! terminal, umask, network namespace, pid files (reference §1.2, §1.4).

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::sys::signal::kill;
use nix::unistd::Pid;

use crate::error::Error;

/// Set in the environment of the re-executed background copy.
pub const DETACHED_ENV: &str = "KALIVE_DETACHED";

/// keepalived forks into the background unless `-n`. Forking a process that
/// may later run threads is fragile and `fork` is `unsafe`; instead we start
/// a copy of ourselves with the same arguments, detached from the terminal,
/// and let the caller exit 0. The copy calls [`finish_detach`].
pub fn spawn_detached() -> Result<u32, Error> {
    let exe =
        std::env::current_exe().map_err(|e| Error::Io("finding our own executable".into(), e))?;
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let child = Command::new(exe)
        .args(args)
        .env(DETACHED_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .current_dir("/")
        .spawn()
        .map_err(|e| Error::Io("starting the background process".into(), e))?;
    Ok(child.id())
}

/// Are we the detached copy started by [`spawn_detached`]?
pub fn is_detached_copy() -> bool {
    std::env::var_os(DETACHED_ENV).is_some()
}

/// In the detached copy: own session (no controlling terminal), and forget
/// the marker so that scripts we run do not inherit it. Must run before any
/// thread is started (environment changes are not thread-safe).
pub fn finish_detach() -> Result<(), Error> {
    std::env::remove_var(DETACHED_ENV);
    nix::unistd::setsid().map_err(|e| Error::Io("setsid".into(), e.into()))?;
    Ok(())
}

/// `-u MASK`: keepalived reads it like strtoul(…, 0): `0x` hex, leading `0`
/// octal, else decimal.
pub fn parse_umask(text: &str) -> Option<u32> {
    let t = text.trim();
    let value = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16).ok()?
    } else if t.len() > 1 && t.starts_with('0') {
        u32::from_str_radix(&t[1..], 8).ok()?
    } else {
        t.parse().ok()?
    };
    (value <= 0o777).then_some(value)
}

pub fn apply_umask(mask: u32) {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(
        mask as nix::libc::mode_t,
    ));
}

/// `-s NAME`: enter `/run/netns/NAME` (as `ip netns exec` does). Must run
/// before any thread is started: setns changes only the calling thread.
pub fn enter_namespace(name: &str) -> Result<(), Error> {
    let path = Path::new("/run/netns").join(name);
    let file = fs::File::open(&path).map_err(|e| Error::Namespace(name.into(), e.to_string()))?;
    nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::Namespace(name.into(), e.to_string()))
}

/// Pid files we wrote; removed when dropped (daemon exit).
#[derive(Debug, Default)]
pub struct PidFiles {
    written: Vec<PathBuf>,
}

impl PidFiles {
    /// Write our pid to each file. Refuses to start if a file names a live
    /// process in our network namespace (keepalived: "daemon is already
    /// running"). A live process in another namespace is another router of
    /// a test lab sharing `/run`: we leave its file alone and say so.
    pub fn write(paths: &[&Path]) -> Result<(PidFiles, Vec<String>), Error> {
        let mut files = PidFiles::default();
        let mut warnings = Vec::new();
        let me = std::process::id();
        for path in paths {
            match owner_of(path) {
                Some(pid) if pid != me as i32 && process_alive(pid) => {
                    if same_netns(pid) {
                        return Err(Error::AlreadyRunning {
                            pid,
                            file: path.display().to_string(),
                        });
                    }
                    warnings.push(format!(
                        "pid file {} belongs to pid {pid} in another network namespace; not overwriting it",
                        path.display()
                    ));
                    continue;
                }
                _ => {}
            }
            write_pid(path, me)
                .map_err(|e| Error::Io(format!("writing pid file {}", path.display()), e))?;
            files.written.push(path.to_path_buf());
        }
        Ok((files, warnings))
    }

    pub fn paths(&self) -> &[PathBuf] {
        &self.written
    }
}

impl Drop for PidFiles {
    fn drop(&mut self) {
        let me = std::process::id() as i32;
        for path in &self.written {
            // Only remove a file that still names us.
            if owner_of(path) == Some(me) {
                let _ = fs::remove_file(path);
            }
        }
    }
}

fn write_pid(path: &Path, pid: u32) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            fs::create_dir_all(dir)?;
        }
    }
    let tmp = path.with_extension(format!("tmp{pid}"));
    {
        let mut f = fs::File::create(&tmp)?;
        writeln!(f, "{pid}")?;
    }
    fs::rename(&tmp, path)
}

fn owner_of(path: &Path) -> Option<i32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn process_alive(pid: i32) -> bool {
    pid > 0
        && matches!(
            kill(Pid::from_raw(pid), None),
            Ok(()) | Err(nix::errno::Errno::EPERM)
        )
}

fn same_netns(pid: i32) -> bool {
    let theirs = fs::read_link(format!("/proc/{pid}/ns/net"));
    let ours = fs::read_link("/proc/self/ns/net");
    match (theirs, ours) {
        (Ok(a), Ok(b)) => a == b,
        // Cannot tell: be conservative, as keepalived is.
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn umask_forms() {
        assert_eq!(parse_umask("022"), Some(0o022));
        assert_eq!(parse_umask("0x12"), Some(0o022));
        assert_eq!(parse_umask("18"), Some(18));
        assert_eq!(parse_umask("0"), Some(0));
        assert_eq!(parse_umask("09"), None);
        assert_eq!(parse_umask("01777"), None);
    }

    #[test]
    fn pid_files_written_refused_and_removed() {
        let dir = std::env::temp_dir().join(format!("kalive-pid-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let main = dir.join("keepalived.pid");
        let vrrp = dir.join("keepalived_vrrp.pid");
        {
            let (files, warnings) = PidFiles::write(&[&main, &vrrp]).expect("written");
            assert!(warnings.is_empty());
            assert_eq!(files.paths().len(), 2);
            let me = std::process::id().to_string();
            assert_eq!(fs::read_to_string(&main).expect("read").trim(), me);
            assert_eq!(fs::read_to_string(&vrrp).expect("read").trim(), me);
        }
        assert!(!main.exists() && !vrrp.exists(), "removed on drop");

        // A live process in our namespace (our parent) blocks start.
        let parent = std::os::unix::process::parent_id() as i32;
        fs::create_dir_all(&dir).expect("dir");
        fs::write(&main, format!("{parent}\n")).expect("write");
        let err = PidFiles::write(&[&main]).expect_err("refused");
        assert!(
            matches!(err, Error::AlreadyRunning { pid, .. } if pid == parent),
            "{err}"
        );

        // A stale file (no such process) is overwritten.
        fs::write(&main, "999999999\n").expect("write");
        let (files, _) = PidFiles::write(&[&main]).expect("stale file replaced");
        drop(files);
        let _ = fs::remove_dir_all(&dir);
    }
}
