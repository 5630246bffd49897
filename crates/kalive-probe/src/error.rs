//! Errors of building a check's configuration. A failed *check* is never an
//! error: it is an [`crate::Outcome`] with `success == false`.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid regex {pattern:?}: {source}")]
    Regex {
        pattern: String,
        #[source]
        source: Box<regex::Error>,
    },
    #[error("invalid hex string {0:?} (pairs of hex digits, X for a wildcard nibble)")]
    Hex(String),
    #[error("invalid MD5 digest {0:?} (32 hex digits expected)")]
    Digest(String),
    #[error("invalid status code list {0:?} (codes or ranges within 100-599)")]
    StatusCodes(String),
    #[error("cannot read {path}: {source}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no PEM {what} found in {path}")]
    Pem { what: &'static str, path: PathBuf },
    #[error(
        "the private key in {0} is encrypted; kalive reads unencrypted PEM keys only \
         (decrypt it with `openssl pkey`)"
    )]
    EncryptedKey(PathBuf),
    #[error("a client certificate needs both `certificate` and `key`")]
    IncompleteClientCert,
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error("TLS server verification needs a `ca` file")]
    VerifyWithoutCa,
    #[error("TLS verifier: {0}")]
    Verifier(String),
    #[error("DNS name {0:?} is not valid (labels of 1-63 bytes, at most 255 bytes)")]
    DnsName(String),
    #[error("MISC_CHECK command is empty")]
    EmptyCommand,
}
