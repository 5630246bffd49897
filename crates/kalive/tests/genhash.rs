//! `kalive genhash` against keepalived's own `genhash` on the same pages of
//! a real nginx, over HTTP and HTTPS (issue 10: "prints the same digest as
//! keepalived --genhash for the same page"): same output, same exit status.
//!
//! Needs nginx (nginx-light), openssl and keepalived's genhash; fails with
//! a clear message without them.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kalive");

fn need(program: &str, package: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let path = Path::new(dir).join(program);
        if path.is_file() {
            return path;
        }
    }
    panic!("{program} is missing: apt-get install {package}");
}

struct Nginx {
    child: Child,
    dir: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// nginx on loopback with a static page, a page of 1 MB, and TLS with a
/// self-signed certificate.
fn nginx() -> (Nginx, u16, u16) {
    let nginx = need("nginx", "nginx-light");
    let openssl = need("openssl", "openssl");
    let dir = std::env::temp_dir().join(format!("kalive-genhash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("www")).expect("dir");
    std::fs::write(dir.join("www/index.html"), "<html>hello genhash</html>\n").expect("page");
    let big: String = (0..20_000)
        .map(|i| format!("line {i:06} of the page\n"))
        .collect();
    std::fs::write(dir.join("www/big.html"), big).expect("page");
    let made = Command::new(&openssl)
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=genhash.test"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(made.success(), "openssl could not make a certificate");
    let (http, https) = (free_port(), free_port());
    let d = dir.display();
    let config = format!(
        "daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d};
    uwsgi_temp_path {d}; scgi_temp_path {d};
    server {{ listen 127.0.0.1:{http}; root {d}/www; }}
    server {{
        listen 127.0.0.1:{https} ssl;
        ssl_certificate {d}/cert.pem;
        ssl_certificate_key {d}/key.pem;
        root {d}/www;
    }}
}}
"
    );
    std::fs::write(dir.join("nginx.conf"), config).expect("config");
    let child = Command::new(nginx)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    let server = Nginx { child, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", https)).is_err() {
        assert!(Instant::now() < deadline, "nginx did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (server, http, https)
}

fn run(program: &Path, pre: &[&str], args: &[String]) -> (Option<i32>, String, String) {
    let out = Command::new(program)
        .args(pre)
        .args(args)
        .output()
        .expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn digests_and_verdicts_match_keepalived_genhash() {
    let theirs = need("genhash", "keepalived");
    let (_nginx, http, https) = nginx();
    let refused = free_port();
    let cases: Vec<Vec<String>> = [
        format!("-s 127.0.0.1 -p {http} -u /index.html"),
        format!("-s 127.0.0.1 -p {http} -u /big.html"),
        format!("-s 127.0.0.1 -p {http} -u /missing.html"),
        format!("-s 127.0.0.1 -p {http} -u /index.html -P 1.1"),
        format!("-s 127.0.0.1 -p {http} -u /index.html -V genhash.test"),
        format!("-S -s 127.0.0.1 -p {https} -u /index.html"),
        format!("-S -I -V genhash.test -s 127.0.0.1 -p {https} -u /big.html"),
        format!("-s 127.0.0.1 -p {refused} -u /"),
        "-s 127.0.0.1 -u /".to_string(),
        "-x".to_string(),
        "-h".to_string(),
        format!("-s 127.0.0.1 -p {http} -u / -P 2.0"),
    ]
    .iter()
    .map(|c| c.split_whitespace().map(str::to_string).collect())
    .collect();
    for args in &cases {
        let mut expected = run(&theirs, &[], args);
        let mut got = run(Path::new(BIN), &["genhash"], args);
        // The usage for a missing argument names the program as run.
        expected.2 = expected.2.replace(&theirs.display().to_string(), "PROGRAM");
        got.2 = got.2.replace(&format!("{BIN} genhash"), "PROGRAM");
        assert_eq!(got, expected, "genhash {}", args.join(" "));
    }
    // The digests really are digests (not two equal error texts).
    let (_, page, _) = run(Path::new(BIN), &["genhash"], &cases[0]);
    assert_eq!(page.trim().len(), 32, "{page}");
    let (_, tls, _) = run(Path::new(BIN), &["genhash"], &cases[5]);
    assert_eq!(tls, page, "the same page over HTTP and HTTPS");
}
