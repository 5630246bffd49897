//! The result of one probe.

use std::time::Duration;

/// What one check found. `success` is the only input the engine needs;
/// `reason` is keepalived-like text for the log when it failed, and
/// `detail` carries what some checkers report besides up/down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub success: bool,
    pub reason: Option<String>,
    pub detail: Detail,
}

/// Checker-specific results.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Detail {
    #[default]
    None,
    /// HTTP_GET / SSL_GET: what the server answered (when it got that far).
    Http {
        status_code: u16,
        /// MD5 of the body as keepalived computes it (present when a digest
        /// was asked for).
        digest: Option<[u8; 16]>,
        body_bytes: u64,
    },
    /// MISC_CHECK: how the script ended. `weight` is set for `misc_dynamic`
    /// exit codes 2..=255 (weight = code - 2, keepalived-behaviour §1.12).
    Misc {
        exit_code: Option<i32>,
        signal: Option<i32>,
        weight: Option<u8>,
        timed_out: bool,
        /// The first bytes the script wrote (stdout then stderr), bounded.
        output: Vec<u8>,
    },
    /// PING_CHECK: round-trip time of the echo.
    Ping { rtt: Duration },
    /// UDP_CHECK: length of the reply, if one came.
    Udp { reply_len: Option<usize> },
}

impl Outcome {
    pub fn up() -> Self {
        Outcome {
            success: true,
            reason: None,
            detail: Detail::None,
        }
    }

    pub fn down(reason: impl Into<String>) -> Self {
        Outcome {
            success: false,
            reason: Some(reason.into()),
            detail: Detail::None,
        }
    }

    pub fn with_detail(mut self, detail: Detail) -> Self {
        self.detail = detail;
        self
    }
}
