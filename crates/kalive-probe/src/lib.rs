//! kalive-probe: one async function per keepalived checker kind.
//!
//! Each function opens a fresh connection (or process, or file read) as
//! keepalived does, speaks the real protocol and returns an [`Outcome`]. It
//! decides nothing else: scheduling, retries, `delay_before_retry`, alpha,
//! `fast_recovery` and weights belong to the sans-IO engine (`kalive-check`).
//!
//! Configuration values are built once by the caller (regexes compiled, TLS
//! contexts loaded) and passed by reference, so a check allocates little:
//! a TCP check allocates nothing of its own on success, an HTTP check keeps
//! its buffers inside the future.
//!
//! Behaviour follows keepalived 2.2.7 (reference `keepalived-behaviour.md`
//! §1.12 and §1.13); every place where we differ says so and why. In short:
//!
//! - `connect_timeout` bounds the whole check, not each read.
//! - HTTP: the body is read until `Content-Length` is reached or the server
//!   closes (keepalived always waits for the close), and at most
//!   [`DEFAULT_MAX_BODY_BYTES`] by default; `HTTP/1.1 200` without a reason
//!   phrase is accepted; `Content-Length` is matched case-insensitively as a
//!   header. The digest is keepalived's: raw body bytes after the first
//!   CRLFCRLF, capped at `Content-Length`, chunked framing included.
//! - Regexes use Rust's `regex` (no lookaround or backreferences; such a
//!   pattern is refused when built), over a 4 KiB sliding window as
//!   keepalived's PCRE2 matching over its 4 KiB buffer.
//! - SSL_GET never verifies the server (as keepalived) unless the kalive-only
//!   `verify_server` is set; TLS 1.2/1.3 only; encrypted client keys refused.
//! - SMTP: multi-line `220-` greetings are read to their last line.
//! - DNS: by default the answer must hold a record of the queried type;
//!   [`DnsAnswerCheck::RcodeOnly`] is keepalived's rcode-only verdict.
//! - A socket error on a reset mid-response fails an SSL_GET, where
//!   keepalived would judge what it had read.

mod conn;
mod dns;
mod error;
mod file;
mod genhash;
mod hex;
mod http;
mod misc;
mod outcome;
mod ping;
mod smtp;
mod tcp;
mod udp;

pub use conn::ConnectOptions;
pub use dns::{dns_check, DnsAnswerCheck, DnsCheck, DnsType};
pub use error::Error;
pub use file::{file_check, FileReading};
pub use genhash::{genhash, GenhashRequest, GenhashResult};
pub use hex::HexPattern;
pub use http::{
    http_get, HttpGet, HttpProtocol, RegexCheck, SslGet, StatusCodes, TlsClient, TlsFiles,
    UrlCheck, DEFAULT_MAX_BODY_BYTES,
};
pub use misc::{misc_check, MiscCheck, DEFAULT_MISC_OUTPUT_BYTES};
pub use outcome::{Detail, Outcome};
pub use ping::ping_check;
pub use smtp::{smtp_check, SmtpCheck, DEFAULT_HELO_NAME};
pub use tcp::tcp_check;
pub use udp::{udp_check, UdpCheck};
