//! Throughput and CPU of TCP_CHECK / HTTP_GET probes against one nginx.
//! A benchmark, not a test: it prints figures and asserts nothing.
//!
//! Usage: `cargo run --release -p kalive-probe --example check_bench --
//!         [tcp|http|floor] [rate per s, default 10000] [seconds, default 10] [concurrency, default 1000]`
//!
//! It starts its own nginx (Debian `nginx-light`) on 16 loopback addresses,
//! runs the probes on one current-thread runtime (as the check actor would),
//! each of `concurrency` tasks paced to rate/concurrency checks per second,
//! and reports checks/s achieved and this process's CPU (user + system, from
//! /proc/self/stat) as a share of one core and per check. Compare with
//! shared/reference/checker-bench.md (target: 10,000 TCP checks/s at <= 28%
//! of a core, HTTP <= 45%). `floor` runs blocking connects in a plain loop
//! (as fast as it can, no pacing): the kernel's own cost of a full connect
//! and close here, the least any TCP_CHECK can spend.

use std::cell::Cell;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use kalive_probe::{http_get, tcp_check, ConnectOptions, HttpGet, UrlCheck};

const ADDRESSES: u8 = 16;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let kind = args.first().map(String::as_str).unwrap_or("tcp").to_owned();
    let rate: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000.0);
    let seconds: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10);
    let concurrency: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(1000);
    if !matches!(kind.as_str(), "tcp" | "http" | "floor") {
        eprintln!("kind must be tcp, http or floor");
        std::process::exit(2);
    }

    let dir = std::env::temp_dir().join(format!("kalive-probe-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let port = free_port();
    let mut nginx = Nginx::start(&dir, port);

    let targets: Vec<SocketAddr> = (1..=ADDRESSES)
        .map(|i| ([127, 1, 0, i], port).into())
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (done, failed, wall, cpu) = if kind == "floor" {
        floor(&targets, seconds)
    } else {
        runtime.block_on(run(&kind, &targets, rate, seconds, concurrency))
    };
    nginx.stop();
    let _ = std::fs::remove_dir_all(&dir);

    let per_s = done as f64 / wall.as_secs_f64();
    let (user, system) = cpu;
    let cpu = user + system;
    let cpu_share = cpu.as_secs_f64() / wall.as_secs_f64();
    println!(
        "{kind}: {done} checks ({failed} failed) in {:.1} s = {per_s:.0} checks/s (asked {rate:.0}); \
         CPU {:.1}% of one core ({:.0}% in the kernel), {:.1} us per check",
        wall.as_secs_f64(),
        cpu_share * 100.0,
        system.as_secs_f64() * 100.0 / cpu.as_secs_f64().max(1e-9),
        cpu.as_secs_f64() * 1e6 / done.max(1) as f64,
    );
}

async fn run(
    kind: &str,
    targets: &[SocketAddr],
    rate: f64,
    seconds: u64,
    concurrency: usize,
) -> (u64, u64, Duration, (Duration, Duration)) {
    let done = Rc::new(Cell::new(0u64));
    let failed = Rc::new(Cell::new(0u64));
    let http = Rc::new(HttpGet::http());
    let url = Rc::new(UrlCheck::new("/health"));
    let period = Duration::from_secs_f64(concurrency as f64 / rate);
    let local = tokio::task::LocalSet::new();
    let start = Instant::now();
    let cpu_start = process_cpu_split();
    let end = tokio::time::Instant::now() + Duration::from_secs(seconds);
    for i in 0..concurrency {
        let opts = ConnectOptions::new(targets[i % targets.len()], Duration::from_secs(2));
        let (done, failed, http, url) = (done.clone(), failed.clone(), http.clone(), url.clone());
        let http_kind = kind == "http";
        // Spread the first checks over one period, as delay_loop jitter would.
        let first = tokio::time::Instant::now() + period.mul_f64(i as f64 / concurrency as f64);
        local.spawn_local(async move {
            let mut ticks = tokio::time::interval_at(first, period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                if ticks.tick().await >= end {
                    return;
                }
                let outcome = if http_kind {
                    http_get(&opts, &http, &url).await
                } else {
                    tcp_check(&opts).await
                };
                done.set(done.get() + 1);
                if !outcome.success {
                    failed.set(failed.get() + 1);
                }
            }
        });
    }
    local.await;
    let wall = start.elapsed();
    let cpu_end = process_cpu_split();
    (
        done.get(),
        failed.get(),
        wall,
        (
            cpu_end.0.saturating_sub(cpu_start.0),
            cpu_end.1.saturating_sub(cpu_start.1),
        ),
    )
}

/// The kernel's floor for a full connect and close on this machine: blocking
/// connects in a plain loop, no runtime, no timers.
fn floor(targets: &[SocketAddr], seconds: u64) -> (u64, u64, Duration, (Duration, Duration)) {
    let start = Instant::now();
    let cpu_start = process_cpu_split();
    let (mut done, mut failed) = (0u64, 0u64);
    while start.elapsed() < Duration::from_secs(seconds) {
        let target = targets[done as usize % targets.len()];
        if std::net::TcpStream::connect(target).is_err() {
            failed += 1;
        }
        done += 1;
    }
    let cpu_end = process_cpu_split();
    (
        done,
        failed,
        start.elapsed(),
        (
            cpu_end.0.saturating_sub(cpu_start.0),
            cpu_end.1.saturating_sub(cpu_start.1),
        ),
    )
}

/// utime and stime of this process.
fn process_cpu_split() -> (Duration, Duration) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(") ").map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat(5), counted from the state field (3).
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    (
        Duration::from_secs_f64(ticks(11) as f64 / hz),
        Duration::from_secs_f64(ticks(12) as f64 / hz),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

struct Nginx(Child);

impl Nginx {
    fn start(dir: &std::path::Path, port: u16) -> Self {
        let d = dir.display();
        let listens: String = (1..=ADDRESSES)
            .map(|i| format!("    listen 127.1.0.{i}:{port} backlog=4096;\n"))
            .collect();
        let config = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 32768; accept_mutex off; multi_accept on; }}\n\
             http {{\n  access_log off;\n  keepalive_timeout 0;\n  client_body_temp_path {d};\n  proxy_temp_path {d};\n\
             fastcgi_temp_path {d};\n  uwsgi_temp_path {d};\n  scgi_temp_path {d};\n  server {{\n{listens}\
                 location = /health {{ return 200 \"ok\\n\"; }}\n  }}\n}}\n"
        );
        std::fs::write(dir.join("nginx.conf"), config).expect("nginx.conf");
        let child = Command::new("/usr/sbin/nginx")
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .spawn()
            .expect("nginx (apt-get install nginx-light)");
        let addr: SocketAddr = ([127, 1, 0, 1], port).into();
        let start = Instant::now();
        while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "nginx did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx(child)
    }

    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}
