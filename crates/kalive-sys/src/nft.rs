//! The nftables transport: hands a JSON batch to `nft -j -f -` (one
//! transaction: applied whole or not at all) and reads a table back with
//! `nft -j list table`. What goes into a batch is decided elsewhere
//! (kalive-lb renders it as data); this module only runs nft, in the
//! calling thread's network namespace (see [`crate::in_netns`]).
//!
//! The `nft` binary rather than a netlink library: bookworm's nft 1.0.6
//! handles numgen/jhash maps through JSON, while the Rust netlink crates
//! lack those expressions (reference/rust-ecosystem.md §5).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::error::{Result, SysError};

/// How long one nft run may take before it is killed: a batch takes about
/// 20 ms here; a hung nft must not hang the load-balancer owner.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `nft`.
#[derive(Debug, Clone)]
pub struct Nft {
    program: PathBuf,
    timeout: Duration,
}

impl Default for Nft {
    fn default() -> Self {
        Nft {
            program: PathBuf::from("nft"),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

struct Ran {
    success: bool,
    stdout: String,
    stderr: String,
}

impl Nft {
    /// `nft` from `PATH` with [`DEFAULT_TIMEOUT`].
    pub fn new() -> Self {
        Nft::default()
    }

    /// Another nft binary (tests, non-standard installs).
    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }

    /// Another time limit per run.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn run(&self, args: &[&str], input: Option<&str>, context: &str) -> Result<Ran> {
        let mut child = Command::new(&self.program)
            .args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                SysError::io(format!("start {} for {context}", self.program.display()), e)
            })?;
        let pid = child.id();
        if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
            // A batch larger than the pipe buffer blocks until nft reads it;
            // nft reads all of its input before it answers.
            let written = stdin.write_all(text.as_bytes());
            drop(stdin);
            if let Err(e) = written {
                let _reaped = child.wait();
                return Err(SysError::io(format!("write batch to nft for {context}"), e));
            }
        }
        let (tx, rx) = mpsc::sync_channel(1);
        std::thread::spawn(move || {
            // The receiver may have given up (timeout); nothing to do then.
            let _ignored = tx.send(child.wait_with_output());
        });
        let output = match rx.recv_timeout(self.timeout) {
            Ok(result) => {
                result.map_err(|e| SysError::io(format!("wait for nft ({context})"), e))?
            }
            Err(_) => {
                if let Ok(pid) = i32::try_from(pid) {
                    // Our own child, by PID; the waiting thread reaps it.
                    let killed = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                    if let Err(e) = killed {
                        return Err(SysError::io(format!("kill hung nft ({context})"), e.into()));
                    }
                }
                return Err(SysError::Nft {
                    context: context.to_owned(),
                    stderr: format!("no answer within {:?}; killed", self.timeout),
                });
            }
        };
        Ok(Ran {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }

    /// Applies a JSON batch (`{"nftables": [...]}`) as one transaction.
    pub fn apply(&self, batch: &str) -> Result<()> {
        let ran = self.run(&["-j", "-f", "-"], Some(batch), "apply batch")?;
        if ran.success {
            Ok(())
        } else {
            Err(SysError::Nft {
                context: "apply batch".to_owned(),
                stderr: ran.stderr,
            })
        }
    }

    /// The JSON listing of table `family name`, or `None` when there is no
    /// such table.
    pub fn list_table(&self, family: &str, name: &str) -> Result<Option<String>> {
        let context = format!("list table {family} {name}");
        let ran = self.run(&["-j", "list", "table", family, name], None, &context)?;
        if ran.success {
            Ok(Some(ran.stdout))
        } else if ran.stderr.contains("No such file or directory") {
            Ok(None)
        } else {
            Err(SysError::Nft {
                context,
                stderr: ran.stderr,
            })
        }
    }

    /// Removes table `family name`; returns false when it was not there.
    pub fn delete_table(&self, family: &str, name: &str) -> Result<bool> {
        let context = format!("delete table {family} {name}");
        let ran = self.run(&["delete", "table", family, name], None, &context)?;
        if ran.success {
            Ok(true)
        } else if ran.stderr.contains("No such file or directory") {
            Ok(false)
        } else {
            Err(SysError::Nft {
                context,
                stderr: ran.stderr,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_is_an_io_error_naming_it() {
        let nft = Nft::new().with_program("/nonexistent/nft");
        let err = nft.apply("{}").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/nft"), "{err}");
    }

    #[test]
    fn a_refusal_carries_stderr() {
        // `sh -c` stands in for nft: it fails with a message on stderr.
        let fake = std::env::temp_dir().join(format!("fake-nft-{}", std::process::id()));
        std::fs::write(
            &fake,
            "#!/bin/sh\ncat >/dev/null\necho 'Error: boom' >&2\nexit 1\n",
        )
        .unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&fake)
            .status()
            .unwrap();
        let err = Nft::new().with_program(&fake).apply("{}").unwrap_err();
        std::fs::remove_file(&fake).unwrap();
        assert!(
            matches!(&err, SysError::Nft { stderr, .. } if stderr == "Error: boom"),
            "{err}"
        );
    }

    #[test]
    fn a_hung_nft_is_killed_after_the_timeout() {
        let fake = std::env::temp_dir().join(format!("hung-nft-{}", std::process::id()));
        std::fs::write(&fake, "#!/bin/sh\nexec sleep 30\n").unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&fake)
            .status()
            .unwrap();
        let started = std::time::Instant::now();
        let err = Nft::new()
            .with_program(&fake)
            .with_timeout(Duration::from_millis(300))
            .list_table("inet", "x")
            .unwrap_err();
        std::fs::remove_file(&fake).unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(err.to_string().contains("killed"), "{err}");
    }
}
