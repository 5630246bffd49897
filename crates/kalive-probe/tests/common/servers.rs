//! Real servers on loopback, each with its own config in a temp dir.

use std::net::SocketAddr;
use std::process::Command;

use super::{free_tcp_port, free_udp_port, need, run, wait_tcp, Proc, TempDir};

/// A CA, two server certificates (a.test, b.test) and a client certificate,
/// made with the openssl CLI.
pub struct Certs {
    pub dir: TempDir,
}

impl Certs {
    pub fn new() -> Self {
        let openssl = need("openssl", "openssl");
        let dir = TempDir::new("certs");
        let p = |name: &str| dir.join(name).display().to_string();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        for ca in ["ca", "other-ca"] {
            run(Command::new(&openssl)
                .args([
                    "req",
                    "-x509",
                    "-days",
                    "2",
                    "-subj",
                    &format!("/CN=kalive test {ca}"),
                ])
                .args(ec)
                .args([
                    "-keyout",
                    &p(&format!("{ca}.key")),
                    "-out",
                    &p(&format!("{ca}.crt")),
                ]));
        }
        for (name, san) in [
            ("a", "subjectAltName=DNS:a.test,IP:127.0.0.1"),
            ("b", "subjectAltName=DNS:b.test"),
            ("client", "extendedKeyUsage=clientAuth"),
        ] {
            run(Command::new(&openssl)
                .args(["req", "-subj", &format!("/CN={name}.test")])
                .args(ec)
                .args([
                    "-keyout",
                    &p(&format!("{name}.key")),
                    "-out",
                    &p(&format!("{name}.csr")),
                ]));
            std::fs::write(dir.join(&format!("{name}.ext")), format!("{san}\n")).unwrap();
            run(Command::new(&openssl).args([
                "x509",
                "-req",
                "-days",
                "2",
                "-in",
                &p(&format!("{name}.csr")),
                "-CA",
                &p("ca.crt"),
                "-CAkey",
                &p("ca.key"),
                "-CAcreateserial",
                "-extfile",
                &p(&format!("{name}.ext")),
                "-out",
                &p(&format!("{name}.crt")),
            ]));
        }
        Certs { dir }
    }

    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.join(name)
    }
}

/// The 10 MB body served at `/big.bin`.
pub const BIG_BODY_BYTES: usize = 10 * 1024 * 1024;
pub const INDEX_HTML: &str = "<html><body>kalive probe test page: status GREEN</body></html>\n";

/// nginx (Debian `nginx-light` + `libnginx-mod-http-echo`): plain HTTP on
/// 127.0.0.1 and [::1], HTTPS with SNI (a.test default, b.test) on another port.
pub struct Nginx {
    pub http: SocketAddr,
    pub http6: SocketAddr,
    pub https: SocketAddr,
    pub certs: Certs,
    pub dir: TempDir,
    pub big_body: Vec<u8>,
    proc: Proc,
}

impl Nginx {
    pub fn start() -> Self {
        let nginx = need("nginx", "nginx-light");
        let echo = std::path::Path::new("/usr/lib/nginx/modules/ngx_http_echo_module.so");
        assert!(
            echo.exists(),
            "nginx echo module missing: apt-get install libnginx-mod-http-echo"
        );
        let certs = Certs::new();
        let dir = TempDir::new("nginx");
        for site in ["www", "www-a", "www-b"] {
            std::fs::create_dir_all(dir.join(site)).unwrap();
        }
        std::fs::write(dir.join("www/index.html"), INDEX_HTML).unwrap();
        std::fs::write(dir.join("www-a/index.html"), "site a\n").unwrap();
        std::fs::write(dir.join("www-b/index.html"), "site b\n").unwrap();
        // Not all one byte, so that a digest of the wrong bytes shows.
        let big_body: Vec<u8> = (0..BIG_BODY_BYTES).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(dir.join("www/big.bin"), &big_body).unwrap();
        let (http_port, https_port) = (free_tcp_port(), free_tcp_port());
        let d = dir.path().display();
        let c = |name: &str| certs.path(name).display().to_string();
        let config = format!(
            r#"load_module {echo};
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 4096; multi_accept on; }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp-body;
  proxy_temp_path {d}/tmp-proxy;
  fastcgi_temp_path {d}/tmp-fastcgi;
  uwsgi_temp_path {d}/tmp-uwsgi;
  scgi_temp_path {d}/tmp-scgi;
  keepalive_timeout 0;
  default_type application/octet-stream;
  server {{
    listen 127.0.0.1:{http_port} backlog=4096;
    listen [::1]:{http_port};
    root {d}/www;
    location = /health {{ return 200 "ok\n"; }}
    location = /teapot {{ return 418 "short and stout\n"; }}
    location = /chunked {{ echo "hello"; echo "chunked world"; }}
    location = /host {{ return 200 "host=$host\n"; }}
  }}
  server {{
    listen 127.0.0.1:{https_port} ssl default_server;
    server_name a.test;
    ssl_certificate {a_crt};
    ssl_certificate_key {a_key};
    ssl_client_certificate {ca};
    ssl_verify_client optional;
    root {d}/www-a;
    location = /whoami {{ return 200 "client=$ssl_client_verify sni=$ssl_server_name\n"; }}
  }}
  server {{
    listen 127.0.0.1:{https_port} ssl;
    server_name b.test;
    ssl_certificate {b_crt};
    ssl_certificate_key {b_key};
    root {d}/www-b;
  }}
}}
"#,
            echo = echo.display(),
            a_crt = c("a.crt"),
            a_key = c("a.key"),
            b_crt = c("b.crt"),
            b_key = c("b.key"),
            ca = c("ca.crt"),
        );
        std::fs::write(dir.join("nginx.conf"), config).unwrap();
        let mut proc = Proc::spawn(
            "nginx",
            Command::new(nginx)
                .arg("-c")
                .arg(dir.join("nginx.conf"))
                .arg("-p")
                .arg(dir.path())
                .arg("-e")
                .arg(dir.join("error.log")),
        );
        let http: SocketAddr = ([127, 0, 0, 1], http_port).into();
        let https: SocketAddr = ([127, 0, 0, 1], https_port).into();
        wait_tcp(&mut proc, http);
        wait_tcp(&mut proc, https);
        Nginx {
            http,
            http6: SocketAddr::new("::1".parse().unwrap(), http_port),
            https,
            certs,
            dir,
            big_body,
            proc,
        }
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }
}

/// OpenSMTPD (Debian `opensmtpd`) listening on a loopback port only.
pub struct Smtpd {
    pub addr: SocketAddr,
    _dir: TempDir,
    _proc: Proc,
}

impl Smtpd {
    pub fn start() -> Self {
        let smtpd = need("smtpd", "opensmtpd");
        let dir = TempDir::new("smtpd");
        let port = free_tcp_port();
        let config = format!(
            "listen on 127.0.0.1 port {port} hostname kalive-test.invalid\n\
             action \"local\" mbox\n\
             match from any for local action \"local\"\n"
        );
        std::fs::write(dir.join("smtpd.conf"), config).unwrap();
        run(Command::new(&smtpd)
            .arg("-n")
            .arg("-f")
            .arg(dir.join("smtpd.conf")));
        let mut proc = Proc::spawn(
            "smtpd",
            Command::new(smtpd)
                .arg("-d")
                .arg("-f")
                .arg(dir.join("smtpd.conf")),
        );
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        wait_tcp(&mut proc, addr);
        Smtpd {
            addr,
            _dir: dir,
            _proc: proc,
        }
    }
}

/// dnsmasq (Debian `dnsmasq-base`) answering for `test.` only, on a loopback port.
pub struct Dnsmasq {
    pub addr: SocketAddr,
    _dir: TempDir,
    _proc: Proc,
}

impl Dnsmasq {
    pub fn start() -> Self {
        let dnsmasq = need("dnsmasq", "dnsmasq-base");
        let dir = TempDir::new("dnsmasq");
        // dnsmasq listens on TCP and UDP on the same port.
        let port = loop {
            let port = free_udp_port();
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                break port;
            }
        };
        let mut proc = Proc::spawn(
            "dnsmasq",
            Command::new(dnsmasq)
                .args([
                    "--keep-in-foreground",
                    "--conf-file=/dev/null",
                    "--no-resolv",
                    "--no-hosts",
                ])
                .args([
                    "--bind-interfaces",
                    "--listen-address=127.0.0.1",
                    "--except-interface=none",
                ])
                .arg(format!("--port={port}"))
                .arg(format!("--pid-file={}", dir.join("dnsmasq.pid").display()))
                .args(["--user=root", "--group=root", "--local=/test/"])
                .args([
                    "--host-record=good.test,192.0.2.10",
                    "--txt-record=good.test,kalive",
                ])
                .args(["--mx-host=good.test,mail.good.test,10"]),
        );
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        wait_tcp(&mut proc, addr);
        Dnsmasq {
            addr,
            _dir: dir,
            _proc: proc,
        }
    }
}
