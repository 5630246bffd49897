//! HTTP_GET / SSL_GET and genhash against a real nginx (and keepalived's own
//! genhash for the digests), plus servers that misbehave.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fakes::{self, Behaviour};
use common::servers::{Nginx, INDEX_HTML};
use kalive_probe::{
    genhash, http_get, ConnectOptions, Detail, Error, GenhashRequest, HttpGet, HttpProtocol,
    Outcome, RegexCheck, StatusCodes, TlsClient, TlsFiles, UrlCheck,
};
use md5::{Digest, Md5};

fn opts(addr: std::net::SocketAddr) -> ConnectOptions {
    ConnectOptions::new(addr, Duration::from_secs(5))
}

fn md5(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

fn with_regex(path: &str, pattern: &str, no_match: bool) -> UrlCheck {
    let mut url = UrlCheck::new(path);
    url.regex = Some(RegexCheck::new(pattern, no_match).unwrap());
    url
}

fn assert_down(outcome: &Outcome, reason_part: &str) {
    assert!(!outcome.success, "expected a failure, got {outcome:?}");
    let reason = outcome.reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains(reason_part),
        "reason {reason:?} lacks {reason_part:?}"
    );
}

fn assert_up(outcome: &Outcome) {
    assert!(outcome.success, "expected success, got {outcome:?}");
}

/// The digest keepalived's own genhash prints (Debian `keepalived`).
fn keepalived_genhash(args: &[&str]) -> String {
    let genhash = common::need("genhash", "keepalived");
    let out = common::run(Command::new(genhash).args(args));
    out.lines()
        .rev()
        .map(str::trim)
        .find(|l| l.len() == 32 && l.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("no digest in genhash output: {out}"))
        .to_owned()
}

#[tokio::test]
async fn status_codes_up_down_and_ipv6() {
    let nginx = Nginx::start();
    let http = HttpGet::http();
    let up = http_get(&opts(nginx.http), &http, &UrlCheck::new("/health")).await;
    assert_up(&up);
    assert!(
        matches!(
            up.detail,
            Detail::Http {
                status_code: 200,
                body_bytes: 3,
                ..
            }
        ),
        "{up:?}"
    );
    assert_up(&http_get(&opts(nginx.http6), &http, &UrlCheck::new("/health")).await);

    // 418 is outside the default 200-299 ...
    let teapot = http_get(&opts(nginx.http), &http, &UrlCheck::new("/teapot")).await;
    assert_down(&teapot, "HTTP status code error (got 418)");
    // ... and accepted when listed, as a code or in a range.
    for list in ["418", "200 400-499", "100-599"] {
        let mut url = UrlCheck::new("/teapot");
        url.status_codes = StatusCodes::parse(list).unwrap();
        assert_up(&http_get(&opts(nginx.http), &http, &url).await);
    }
    let missing = http_get(&opts(nginx.http), &http, &UrlCheck::new("/no-such-page")).await;
    assert_down(&missing, "got 404");

    // Every protocol variant works against nginx.
    for protocol in [
        HttpProtocol::Http10,
        HttpProtocol::Http10Close,
        HttpProtocol::Http11,
    ] {
        let http = HttpGet {
            protocol,
            ..HttpGet::http()
        };
        assert_up(&http_get(&opts(nginx.http), &http, &UrlCheck::new("/health")).await);
    }

    // Nothing listening any more.
    let addr = nginx.http;
    drop(nginx);
    let down = http_get(&opts(addr), &http, &UrlCheck::new("/health")).await;
    assert_down(&down, "Error connecting");
}

#[tokio::test]
async fn digests_match_keepalived_genhash() {
    let nginx = Nginx::start();
    let port = nginx.http.port().to_string();

    // A static page: the digest is the file's MD5, and keepalived agrees.
    let ours = genhash(
        &opts(nginx.http),
        &GenhashRequest {
            http: HttpGet::http(),
            path: "/index.html".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(ours.digest, md5(INDEX_HTML.as_bytes()));
    assert_eq!(ours.status_code, 200);
    assert_eq!(
        ours.digest_hex(),
        keepalived_genhash(&["-s", "127.0.0.1", "-p", &port, "-u", "/index.html"])
    );

    // A chunked HTTP/1.1 body: keepalived digests the bytes on the wire,
    // chunk sizes included, and so do we.
    let http11 = HttpGet {
        protocol: HttpProtocol::Http11,
        ..HttpGet::http()
    };
    let chunked = genhash(
        &opts(nginx.http),
        &GenhashRequest {
            http: http11.clone(),
            path: "/chunked".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        chunked.digest_hex(),
        keepalived_genhash(&[
            "-s",
            "127.0.0.1",
            "-p",
            &port,
            "-u",
            "/chunked",
            "-P",
            "1.1"
        ])
    );
    assert_ne!(
        chunked.digest,
        md5(b"hello\nchunked world\n"),
        "the body was not de-chunked"
    );

    // The same page over TLS.
    let tls = Arc::new(TlsClient::insecure().unwrap());
    let ssl = GenhashRequest {
        http: HttpGet::ssl(tls),
        path: "/index.html".into(),
    };
    let ours = genhash(&opts(nginx.https), &ssl).await.unwrap();
    assert_eq!(ours.digest, md5(b"site a\n"));
    let https_port = nginx.https.port().to_string();
    assert_eq!(
        ours.digest_hex(),
        keepalived_genhash(&[
            "-S",
            "-s",
            "127.0.0.1",
            "-p",
            &https_port,
            "-u",
            "/index.html"
        ])
    );

    // Checks with the right and a wrong digest.
    let mut url = UrlCheck::new("/index.html");
    url.digest = Some(
        UrlCheck::parse_digest(&keepalived_genhash(&[
            "-s",
            "127.0.0.1",
            "-p",
            &port,
            "-u",
            "/index.html",
        ]))
        .unwrap(),
    );
    assert_up(&http_get(&opts(nginx.http), &HttpGet::http(), &url).await);
    url.digest = Some([0x11; 16]);
    let wrong = http_get(&opts(nginx.http), &HttpGet::http(), &url).await;
    assert_down(&wrong, "MD5 digest error (got ");
    assert!(UrlCheck::parse_digest("abc").is_err());
}

#[tokio::test]
async fn ten_megabyte_body_is_streamed_and_bounded() {
    let nginx = Nginx::start();
    let mut url = UrlCheck::new("/big.bin");
    url.digest = Some(md5(&nginx.big_body));
    // A generous timeout: MD5 of 10 MB in a debug build on a busy machine.
    let slow_ok = ConnectOptions::new(nginx.http, Duration::from_secs(60));
    let big = http_get(&slow_ok, &HttpGet::http(), &url).await;
    assert_up(&big);
    assert!(
        matches!(big.detail, Detail::Http { body_bytes, .. } if body_bytes == nginx.big_body.len() as u64),
        "{big:?}"
    );

    // The same body against a 1 MiB bound fails instead of reading on.
    let bounded = HttpGet {
        max_body_bytes: 1 << 20,
        ..HttpGet::http()
    };
    let cut = http_get(&slow_ok, &bounded, &url).await;
    assert_down(&cut, "HTTP body larger than 1048576 bytes");

    // A regex far into the big body: the last bytes are found by the window.
    let tail: String = nginx.big_body[nginx.big_body.len() - 8..]
        .iter()
        .map(|b| format!("\\x{b:02x}"))
        .collect();
    let pattern = format!("(?-u){tail}");
    assert_up(
        &http_get(
            &slow_ok,
            &HttpGet::http(),
            &with_regex("/big.bin", &pattern, false),
        )
        .await,
    );
}

#[tokio::test]
async fn regex_and_virtualhost() {
    let nginx = Nginx::start();
    let http = HttpGet::http();
    let o = opts(nginx.http);
    assert_up(&http_get(&o, &http, &with_regex("/index.html", "status GRE+N", false)).await);
    assert_down(
        &http_get(&o, &http, &with_regex("/index.html", "status RED", false)).await,
        "Regex match failed",
    );
    assert_up(&http_get(&o, &http, &with_regex("/index.html", "status RED", true)).await);
    assert_down(
        &http_get(&o, &http, &with_regex("/index.html", "GREEN", true)).await,
        "Regex match failed",
    );

    // Host header: the address by default, the url's virtualhost over the checker's.
    assert_up(
        &http_get(
            &o,
            &http,
            &with_regex("/host", "^host=127\\.0\\.0\\.1\n", false),
        )
        .await,
    );
    let vhost = HttpGet {
        virtualhost: Some("checker.example".into()),
        ..HttpGet::http()
    };
    assert_up(
        &http_get(
            &o,
            &vhost,
            &with_regex("/host", "^host=checker\\.example\n", false),
        )
        .await,
    );
    let mut url = with_regex("/host", "^host=url\\.example\n", false);
    url.virtualhost = Some("url.example".into());
    assert_up(&http_get(&o, &vhost, &url).await);

    assert!(matches!(
        RegexCheck::new("(", false),
        Err(Error::Regex { .. })
    ));
}

#[tokio::test]
async fn misbehaving_servers_fail_with_reasons() {
    let http = HttpGet::http();
    let url = UrlCheck::new("/");

    let silent = fakes::tcp(Behaviour::Silent).await;
    let started = Instant::now();
    let mut o = opts(silent.addr);
    o.timeout = Duration::from_millis(500);
    assert_down(&http_get(&o, &http, &url).await, "Timeout HTTP read");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(4),
        "{took:?}"
    );

    let garbage = fakes::tcp(Behaviour::Reply(b"\x00\xffgarbage without a head")).await;
    assert_down(
        &http_get(&opts(garbage.addr), &http, &url).await,
        "Read, no data received",
    );

    let no_status = fakes::tcp(Behaviour::Reply(b"garbage\r\n\r\nbody")).await;
    assert_down(
        &http_get(&opts(no_status.addr), &http, &url).await,
        "HTTP status code error (got 0)",
    );

    let reset = fakes::tcp(Behaviour::ResetAfter(
        b"HTTP/1.0 200 OK\r\nContent-Length: 100000\r\n\r\npartial body",
    ))
    .await;
    assert_down(
        &http_get(&opts(reset.addr), &http, &url).await,
        "Read error with server",
    );

    // A head that never ends within keepalived's 4 KiB buffer.
    static LONG_HEAD: [u8; 5000] = [b'a'; 5000];
    let long = fakes::tcp(Behaviour::Reply(&LONG_HEAD)).await;
    assert_down(
        &http_get(&opts(long.addr), &http, &url).await,
        "HTTP header larger than 4096 bytes",
    );

    // TLS to a server that speaks plain text.
    let plain = fakes::tcp(Behaviour::Reply(b"HTTP/1.0 200 OK\r\n\r\n")).await;
    let ssl = HttpGet::ssl(Arc::new(TlsClient::insecure().unwrap()));
    assert_down(
        &http_get(&opts(plain.addr), &ssl, &url).await,
        "SSL handshake/communication error",
    );
}

#[tokio::test]
async fn tls_verification_sni_and_client_certificates() {
    let nginx = Nginx::start();
    let o = opts(nginx.https);
    let certs = &nginx.certs;

    // keepalived never verifies the server: our test CA is unknown, yet it passes,
    // with or without `ca`.
    let insecure = Arc::new(TlsClient::insecure().unwrap());
    let mut url = UrlCheck::new("/index.html");
    url.digest = Some(md5(b"site a\n"));
    assert_up(&http_get(&o, &HttpGet::ssl(insecure.clone()), &url).await);
    let with_ca = TlsFiles {
        ca: Some(certs.path("ca.crt")),
        ..TlsFiles::default()
    };
    assert_up(
        &http_get(
            &o,
            &HttpGet::ssl(Arc::new(TlsClient::new(&with_ca).unwrap())),
            &url,
        )
        .await,
    );

    // verify_server (kalive extension) checks the chain and the name.
    let verify = |ca: &str| {
        TlsClient::new(&TlsFiles {
            ca: Some(certs.path(ca)),
            verify_server: true,
            ..TlsFiles::default()
        })
        .unwrap()
    };
    let good = Arc::new(verify("ca.crt"));
    assert_up(&http_get(&o, &HttpGet::ssl(good.clone()), &url).await);
    let wrong = HttpGet::ssl(Arc::new(verify("other-ca.crt")));
    assert_down(
        &http_get(&o, &wrong, &url).await,
        "SSL handshake/communication error",
    );
    assert!(matches!(
        TlsClient::new(&TlsFiles {
            verify_server: true,
            ..TlsFiles::default()
        }),
        Err(Error::VerifyWithoutCa)
    ));

    // SNI: b.test's site only with enable_sni; the name from sni_name or the virtualhost.
    // (nginx answers 421 when the Host names another server than the SNI
    // name, so the url carries b.test as its virtualhost too.)
    let mut sni = HttpGet::ssl(good.clone());
    if let Some(ssl) = sni.tls.as_mut() {
        ssl.enable_sni = true;
        ssl.sni_name = Some("b.test".into());
    }
    let mut site_b = UrlCheck::new("/index.html");
    site_b.digest = Some(md5(b"site b\n"));
    let mut site_b_host = site_b.clone();
    site_b_host.virtualhost = Some("b.test".into());
    assert_up(&http_get(&o, &sni, &site_b_host).await);
    // With SNI b.test, a Host of another server is refused by nginx (421).
    assert_down(&http_get(&o, &sni, &site_b).await, "got 421");
    // Without SNI the server sees no name; with it, the name comes from
    // sni_name, else the virtualhost.
    let no_sni = HttpGet::ssl(good.clone());
    assert_up(&http_get(&o, &no_sni, &with_regex("/whoami", "sni=\n", false)).await);
    let mut by_vhost = HttpGet::ssl(insecure.clone());
    by_vhost.virtualhost = Some("a.test".into());
    if let Some(ssl) = by_vhost.tls.as_mut() {
        ssl.enable_sni = true;
        ssl.tls_compliant = true;
    }
    assert_up(
        &http_get(
            &o,
            &by_vhost,
            &with_regex("/whoami", "sni=a\\.test\n", false),
        )
        .await,
    );

    // Client certificate from the global SSL block.
    assert_up(
        &http_get(
            &o,
            &HttpGet::ssl(insecure.clone()),
            &with_regex("/whoami", "client=NONE", false),
        )
        .await,
    );
    let client = TlsFiles {
        certificate: Some(certs.path("client.crt")),
        key: Some(certs.path("client.key")),
        password: Some("unused".into()),
        ..TlsFiles::default()
    };
    let client = HttpGet::ssl(Arc::new(TlsClient::new(&client).unwrap()));
    assert_up(&http_get(&o, &client, &with_regex("/whoami", "client=SUCCESS", false)).await);

    // An encrypted key is refused with a clear error, and so is half a pair.
    let encrypted = nginx.dir.join("encrypted.key");
    common::run(
        Command::new("openssl")
            .args([
                "pkcs8",
                "-topk8",
                "-v2",
                "aes256",
                "-passout",
                "pass:secret",
                "-in",
            ])
            .arg(certs.path("client.key"))
            .arg("-out")
            .arg(&encrypted),
    );
    let files = TlsFiles {
        certificate: Some(certs.path("client.crt")),
        key: Some(encrypted),
        password: Some("secret".into()),
        ..TlsFiles::default()
    };
    assert!(matches!(
        TlsClient::new(&files),
        Err(Error::EncryptedKey(_))
    ));
    let half = TlsFiles {
        certificate: Some(certs.path("client.crt")),
        ..TlsFiles::default()
    };
    assert!(matches!(
        TlsClient::new(&half),
        Err(Error::IncompleteClientCert)
    ));
}
