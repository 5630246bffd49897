//! The crate's single error type.

use std::io;

/// Every failure kalive-sys reports. Each variant names the operation that
/// failed so that the daemon can log it once, at the boundary, as is.
#[derive(Debug, thiserror::Error)]
pub enum SysError {
    /// A system call on a socket, file or namespace failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, e.g. `"join 224.0.0.18 on eth0"`.
        context: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The kernel answered a netlink request with an error (or the request
    /// could not be sent).
    #[error("netlink {context}: {source}")]
    Netlink {
        /// What was being done, e.g. `"add address 10.0.0.1/32 dev 3"`.
        context: String,
        /// The rtnetlink error (it carries the kernel's errno, if any).
        #[source]
        source: rtnetlink::Error,
    },
    /// No interface with that name or index exists (in this namespace).
    #[error("no such interface: {0}")]
    NoSuchLink(String),
    /// The kernel has no IPVS: its generic netlink family is absent.
    #[error("IPVS unavailable: {0}")]
    IpvsUnavailable(String),
    /// The caller asked for something that cannot be expressed.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// `nft` ran but refused the request (its exit status and stderr).
    #[error("nft {context}: {stderr}")]
    Nft {
        /// What was asked, e.g. `"apply batch"`.
        context: String,
        /// What nft wrote to stderr (trimmed).
        stderr: String,
    },
}

/// Shorthand used throughout the crate.
pub type Result<T, E = SysError> = std::result::Result<T, E>;

impl SysError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        SysError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn netlink(context: impl Into<String>, source: rtnetlink::Error) -> Self {
        SysError::Netlink {
            context: context.into(),
            source,
        }
    }

    /// The OS errno behind this error, if there is one (for netlink errors,
    /// the positive errno the kernel returned, e.g. `libc::EEXIST`).
    pub fn errno(&self) -> Option<i32> {
        match self {
            SysError::Io { source, .. } => source.raw_os_error(),
            SysError::Netlink {
                source: rtnetlink::Error::NetlinkError(msg),
                ..
            } => msg.code.map(|code| code.get().abs()),
            _ => None,
        }
    }

    /// True when the kernel said the object already exists (`EEXIST`):
    /// adding a VIP that is already there is not a failure for the daemon.
    pub fn is_already_exists(&self) -> bool {
        self.errno() == Some(libc::EEXIST)
    }

    /// True when the kernel said the object is not there (`ENOENT`,
    /// `ESRCH`, `EADDRNOTAVAIL`, `ENODEV`): removing something already gone.
    pub fn is_not_found(&self) -> bool {
        matches!(self, SysError::NoSuchLink(_))
            || matches!(
                self.errno(),
                Some(libc::ENOENT | libc::ESRCH | libc::EADDRNOTAVAIL | libc::ENODEV)
            )
    }
}
