//! The one error type of the lab.

use std::path::PathBuf;

/// Everything that can go wrong while building, driving or observing a lab.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The lab needs root (network namespaces, raw sockets, nftables).
    #[error("kalive-lab needs root (network namespaces, raw sockets); running as uid {0}")]
    NotRoot(u32),
    /// A program the lab drives is not installed.
    #[error("required program `{0}` not found in PATH or at its usual place (install: {1})")]
    MissingProgram(String, &'static str),
    /// A daemon binary does not exist.
    #[error("daemon binary {0} does not exist ({1})")]
    MissingBinary(PathBuf, String),
    /// A command ran but failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
    /// An I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A system call failed.
    #[error("{context}: {source}")]
    Sys {
        context: String,
        #[source]
        source: nix::Error,
    },
    /// Output of a tool could not be understood.
    #[error("cannot parse {what}: {detail}")]
    Parse { what: String, detail: String },
    /// A bounded wait ran out.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        what: String,
        waited: std::time::Duration,
    },
    /// The caller asked for something the lab does not have.
    #[error("{0}")]
    Usage(String),
    /// Ctrl-C or SIGTERM asked the lab to stop.
    #[error("interrupted")]
    Interrupted,
}

/// Result alias of the lab.
pub type Result<T> = std::result::Result<T, LabError>;

impl LabError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        LabError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn sys(context: impl Into<String>, source: nix::Error) -> Self {
        LabError::Sys {
            context: context.into(),
            source,
        }
    }
}
