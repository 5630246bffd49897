//! The core of `genhash` (keepalived-behaviour §1.13): fetch a url and return
//! the MD5 digest keepalived's genhash prints, the value to put in a url's
//! `digest`. The command-line front end lives in the daemon crate.

use crate::http::{hex, Fetch, HttpGet};
use crate::{ConnectOptions, Outcome};

/// genhash's options: `-s/-p` are `opts.addr`, `-m` is `opts.fwmark`,
/// `-t` is `opts.timeout`; `-S`, `-I` and `-P` are in `http`; `-V` is
/// `http.virtualhost`; `-u` is `path`.
#[derive(Clone, Debug)]
pub struct GenhashRequest {
    pub http: HttpGet,
    pub path: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenhashResult {
    pub status_code: u16,
    pub digest: [u8; 16],
    pub body_bytes: u64,
}

impl GenhashResult {
    /// The digest as genhash prints it: 32 lowercase hex digits.
    pub fn digest_hex(&self) -> String {
        hex(&self.digest)
    }
}

/// Fetches the url and digests its body as an HTTP_GET check would. Fails
/// (with the reason a check would log) when no head arrives; any status
/// code is accepted, as genhash prints the digest whatever the status.
pub async fn genhash(
    opts: &ConnectOptions,
    request: &GenhashRequest,
) -> Result<GenhashResult, Outcome> {
    let fetch = Fetch {
        opts,
        check: &request.http,
        path: &request.path,
        virtualhost: request.http.virtualhost.as_deref(),
        want_digest: true,
        regex: None,
        tls_compliant: false,
    };
    let fetched = fetch.run().await?;
    Ok(GenhashResult {
        status_code: fetched.status_code,
        digest: fetched.digest.unwrap_or_default(),
        body_bytes: fetched.body_bytes,
    })
}
