//! HTTP_GET and SSL_GET (keepalived `check_http.c`, `check_ssl.c`,
//! keepalived-behaviour §1.12): connect, optionally TLS, send keepalived's
//! GET, read the head, stream the body into the MD5 and the regex window,
//! then judge status, digest and regex in keepalived's order.

mod body;
mod head;
mod request;
mod status;
mod tls;

use std::io;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

pub use status::StatusCodes;
pub use tls::{TlsClient, TlsFiles};

use crate::conn::within;
use crate::{ConnectOptions, Detail, Error, Outcome};
use body::Body;

/// Default bound on the body bytes one check reads: the body is never held
/// whole, but a server streaming without end must not hold a check forever.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 64 << 20;

/// keepalived's MAX_BUFFER_LENGTH: the head must fit in one read buffer.
const READ_BUFFER: usize = 4096;

/// `http_protocol`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HttpProtocol {
    /// `1.0`: HTTP/1.0 without `Connection: close` (keepalived's default).
    #[default]
    Http10,
    /// `1.0C`: HTTP/1.0 with `Connection: close`.
    Http10Close,
    /// `1.1`: HTTP/1.1 with `Connection: close`.
    Http11,
}

/// One `url { }` block.
#[derive(Clone, Debug)]
pub struct UrlCheck {
    pub path: String,
    /// `digest`: MD5 of the body (see [`UrlCheck::parse_digest`]).
    pub digest: Option<[u8; 16]>,
    pub status_codes: StatusCodes,
    /// The url's own `virtualhost` (wins over the checker's).
    pub virtualhost: Option<String>,
    pub regex: Option<RegexCheck>,
    /// The url's `tls_compliant`.
    pub tls_compliant: bool,
}

impl UrlCheck {
    pub fn new(path: impl Into<String>) -> Self {
        UrlCheck {
            path: path.into(),
            digest: None,
            status_codes: StatusCodes::default(),
            virtualhost: None,
            regex: None,
            tls_compliant: false,
        }
    }

    /// Parses a 32-hex-digit `digest` value.
    pub fn parse_digest(text: &str) -> Result<[u8; 16], Error> {
        let bad = || Error::Digest(text.to_owned());
        if text.len() != 32 || !text.is_ascii() {
            return Err(bad());
        }
        let mut digest = [0u8; 16];
        for (i, byte) in digest.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(digest)
    }
}

/// `regex`, `regex_no_match`, `regex_min_offset`, `regex_max_offset`,
/// compiled once. keepalived uses PCRE2; Rust's `regex` has no lookaround
/// or backreferences, and such a pattern is refused when built.
#[derive(Clone, Debug)]
pub struct RegexCheck {
    pub regex: regex::bytes::Regex,
    /// `regex_no_match`: the check fails when the regex matches.
    pub no_match: bool,
    /// A match must start at or after this body offset.
    pub min_offset: u64,
    /// A match must start at or before this body offset.
    pub max_offset: Option<u64>,
}

impl RegexCheck {
    pub fn new(pattern: &str, no_match: bool) -> Result<Self, Error> {
        let regex = regex::bytes::Regex::new(pattern).map_err(|e| Error::Regex {
            pattern: pattern.to_owned(),
            source: Box::new(e),
        })?;
        Ok(RegexCheck {
            regex,
            no_match,
            min_offset: 0,
            max_offset: None,
        })
    }
}

/// An HTTP_GET or SSL_GET checker, built once and shared by its checks.
#[derive(Clone, Debug)]
pub struct HttpGet {
    pub protocol: HttpProtocol,
    /// The checker's `virtualhost`, already defaulted from the real server
    /// and the virtual server by the caller.
    pub virtualhost: Option<String>,
    /// `Some` for SSL_GET.
    pub tls: Option<SslGet>,
    /// Bound on body bytes read per check.
    pub max_body_bytes: u64,
}

/// The SSL_GET part of a checker.
#[derive(Clone, Debug)]
pub struct SslGet {
    pub client: Arc<TlsClient>,
    /// `enable_sni`: send a server name (`sni_name`, else the url's then
    /// the checker's `virtualhost`).
    pub enable_sni: bool,
    pub sni_name: Option<String>,
    /// `tls_compliant`: end with a close_notify (keepalived otherwise sets
    /// quiet shutdown and just closes).
    pub tls_compliant: bool,
}

impl HttpGet {
    pub fn http() -> Self {
        HttpGet {
            protocol: HttpProtocol::default(),
            virtualhost: None,
            tls: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    pub fn ssl(client: Arc<TlsClient>) -> Self {
        HttpGet {
            tls: Some(SslGet {
                client,
                enable_sni: false,
                sni_name: None,
                tls_compliant: false,
            }),
            ..HttpGet::http()
        }
    }
}

/// Checks one url (the engine walks the url list, as keepalived's `url_it`).
pub async fn http_get(opts: &ConnectOptions, check: &HttpGet, url: &UrlCheck) -> Outcome {
    let fetch = Fetch {
        opts,
        check,
        path: &url.path,
        virtualhost: url.virtualhost.as_deref().or(check.virtualhost.as_deref()),
        want_digest: url.digest.is_some(),
        regex: url.regex.as_ref(),
        tls_compliant: url.tls_compliant,
    };
    match fetch.run().await {
        Err(failed) => failed,
        Ok(fetched) => judge(url, fetched),
    }
}

/// keepalived `http_handle_response`: no head, then status, then digest,
/// then regex.
fn judge(url: &UrlCheck, fetched: Fetched) -> Outcome {
    let detail = Detail::Http {
        status_code: fetched.status_code,
        digest: fetched.digest,
        body_bytes: fetched.body_bytes,
    };
    let verdict = if !url.status_codes.contains(fetched.status_code) {
        Outcome::down(format!(
            "HTTP status code error (got {})",
            fetched.status_code
        ))
    } else if url.digest.is_some() && fetched.digest != url.digest {
        Outcome::down(format!(
            "MD5 digest error (got {})",
            hex(&fetched.digest.unwrap_or_default())
        ))
    } else if url
        .regex
        .as_ref()
        .is_some_and(|r| fetched.regex_matched == Some(r.no_match))
    {
        Outcome::down("Regex match failed")
    } else {
        Outcome::up()
    };
    verdict.with_detail(detail)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One GET, for a check or for genhash.
pub(crate) struct Fetch<'a> {
    pub opts: &'a ConnectOptions,
    pub check: &'a HttpGet,
    pub path: &'a str,
    pub virtualhost: Option<&'a str>,
    pub want_digest: bool,
    pub regex: Option<&'a RegexCheck>,
    pub tls_compliant: bool,
}

/// What a GET received, when the head was read.
pub(crate) struct Fetched {
    pub status_code: u16,
    pub digest: Option<[u8; 16]>,
    pub regex_matched: Option<bool>,
    pub body_bytes: u64,
}

impl Fetch<'_> {
    pub async fn run(&self) -> Result<Fetched, Outcome> {
        let deadline = self.opts.deadline();
        let request = request::Request::new(
            self.path,
            self.check.protocol,
            self.virtualhost,
            self.opts.addr,
        )?;
        let tcp = self.opts.tcp_connect(deadline).await?;
        match &self.check.tls {
            None => self.exchange(tcp, request.bytes(), deadline, false).await,
            Some(ssl) => {
                let name = self.server_name(ssl)?;
                let stream = within(deadline, "Timeout connecting", async {
                    ssl.client.connect(name, tcp).await.map_err(|e| {
                        Outcome::down(format!("SSL handshake/communication error connecting: {e}"))
                    })
                })
                .await?;
                let compliant = ssl.tls_compliant || self.tls_compliant;
                self.exchange(stream, request.bytes(), deadline, compliant)
                    .await
            }
        }
    }

    /// The TLS server name: the SNI name when SNI is on (keepalived
    /// `ssl_connect`), else the address, for which rustls sends no SNI.
    fn server_name(&self, ssl: &SslGet) -> Result<ServerName<'static>, Outcome> {
        let sni = ssl
            .enable_sni
            .then(|| ssl.sni_name.as_deref().or(self.virtualhost))
            .flatten();
        match sni {
            Some(name) => ServerName::try_from(name.to_owned())
                .map_err(|_| Outcome::down(format!("invalid SNI name {name:?}"))),
            None => Ok(ServerName::IpAddress(self.opts.addr.ip().into())),
        }
    }

    async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut stream: S,
        request: &[u8],
        deadline: Instant,
        close_notify: bool,
    ) -> Result<Fetched, Outcome> {
        within(deadline, "Timeout sending request", async {
            let sent = async {
                stream.write_all(request).await?;
                stream.flush().await
            };
            sent.await
                .map_err(|e| Outcome::down(format!("Cannot send get request: {e}")))
        })
        .await?;

        let mut buf = [0u8; READ_BUFFER];
        let mut filled = 0;
        // Head: read until CRLFCRLF, within one buffer.
        let (head, mut body) = loop {
            let n = read_some(&mut stream, &mut buf[filled..], deadline).await?;
            if n == 0 {
                return Err(Outcome::down("Read, no data received from server"));
            }
            let searched = filled;
            filled += n;
            if let Some(start) = head::find_body_start(&buf[..filled], searched) {
                let head = head::parse_head(&buf[..start]);
                let mut body = Body::new(head.content_length, self.want_digest, self.regex);
                body.feed(&buf[start..filled]);
                break (head, body);
            }
            if filled == buf.len() {
                return Err(Outcome::down(format!(
                    "HTTP header larger than {READ_BUFFER} bytes"
                )));
            }
        };
        // Body: until Content-Length is reached or the server closes.
        while !body.complete() {
            if body.received() > self.check.max_body_bytes {
                return Err(Outcome::down(format!(
                    "HTTP body larger than {} bytes",
                    self.check.max_body_bytes
                )));
            }
            let n = read_some(&mut stream, &mut buf, deadline).await?;
            if n == 0 {
                break;
            }
            body.feed(&buf[..n]);
        }
        if close_notify {
            // Best effort: the verdict does not depend on the peer reading it.
            let _ignored = tokio::time::timeout_at(deadline, stream.shutdown()).await;
        }
        Ok(Fetched {
            status_code: head.status_code,
            regex_matched: body.regex_matched(),
            body_bytes: body.received(),
            digest: body.digest(),
        })
    }
}

/// One read bounded by the deadline; 0 is the end of the stream. A TLS peer
/// that closes without close_notify ends the stream too (keepalived accepts
/// SSL_ERROR_SYSCALL at the end the same way).
async fn read_some<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut [u8],
    deadline: Instant,
) -> Result<usize, Outcome> {
    within(deadline, "Timeout HTTP read", async {
        match stream.read(buf).await {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            Err(e) => Err(Outcome::down(format!("Read error with server: {e}"))),
        }
    })
    .await
}
