//! The seam between the check actor and whatever runs a probe: the actor
//! only needs "run this spec within this time, tell me the outcome".
//! The daemon runs [`super::full_probe::FullProber`] (kalive-probe, every
//! kind); [`BuiltinProber`] (TCP_CHECK and a plain HTTP_GET, tokio alone)
//! is the small stand-in it started with, kept for tools and tests.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use kalive_check::{Connect, HttpProbe, Outcome, ProbeSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A probe run, boxed so that the actor can hold many of different kinds.
pub type ProbeFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// Runs one probe. Implementations decide nothing: the engine interprets
/// the outcome. The actor bounds the time itself as well.
pub trait Prober: Send + Sync + 'static {
    fn run(&self, spec: Arc<ProbeSpec>, timeout: Duration) -> ProbeFuture;
}

/// TCP connect and HTTP status checks with tokio alone.
#[derive(Debug, Default, Clone, Copy)]
pub struct BuiltinProber;

/// How much of an HTTP answer is read: the status line is all we check.
const HTTP_HEAD_LIMIT: usize = 4096;

impl Prober for BuiltinProber {
    fn run(&self, spec: Arc<ProbeSpec>, timeout: Duration) -> ProbeFuture {
        Box::pin(async move {
            let work = async {
                match &*spec {
                    ProbeSpec::Tcp(c) => connect(c).await.map(|_| Outcome::success()),
                    ProbeSpec::HttpGet(h) => http_get(h).await,
                    other => Ok(Outcome::failure(format!(
                        "{} is not supported by the built-in prober",
                        other.keyword()
                    ))),
                }
            };
            match tokio::time::timeout(timeout, work).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(reason)) => Outcome::failure(reason),
                Err(_) => Outcome::failure("timeout"),
            }
        })
    }
}

async fn connect(c: &Connect) -> Result<TcpStream, String> {
    let port = c.port.ok_or("no port to connect to")?;
    TcpStream::connect((c.target, port))
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            _ => e.to_string(),
        })
}

/// Every url must answer with an accepted status (default 2xx).
async fn http_get(h: &HttpProbe) -> Result<Outcome, String> {
    for url in &h.urls {
        let mut stream = connect(&h.connect).await?;
        let host = url
            .virtualhost
            .clone()
            .or_else(|| h.virtualhost.clone())
            .unwrap_or_else(|| match h.connect.target {
                std::net::IpAddr::V6(a) => format!("[{a}]"),
                a => a.to_string(),
            });
        let request = format!(
            "GET {} HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: {host}\r\n\r\n",
            url.path
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut head = Vec::with_capacity(256);
        let mut buf = [0u8; 512];
        while !head.windows(2).any(|w| w == b"\r\n") && head.len() < HTTP_HEAD_LIMIT {
            let n = stream
                .read(&mut buf)
                .await
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let line = String::from_utf8_lossy(&head);
        let code: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| "no HTTP status line".to_string())?;
        let accepted = if url.status_codes.is_empty() {
            (200..=299).contains(&code)
        } else {
            url.status_codes
                .iter()
                .any(|(a, b)| (*a..=*b).contains(&code))
        };
        if !accepted {
            return Ok(Outcome::failure(format!(
                "HTTP status code error to [{}]:{} url({}), status_code [{code}]",
                h.connect.target,
                h.connect.port.unwrap_or(0),
                url.path
            )));
        }
    }
    Ok(Outcome::success())
}
