//! kalive as a load balancer, end to end in network namespaces: a director
//! running kalive with a NAT `virtual_server` (rr) on a VRRP VIP, three
//! real servers running nginx, a sorry server, and a client fetching
//! through the VIP. The nftables backend (no IPVS on this kernel).
//!
//! Needs root, iproute2, nftables and nginx (`apt-get install -y nginx`);
//! fails with a clear message when one is missing.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kalive_lab::daemon::{Daemon, DaemonSpec};
use kalive_lab::{netns, Implementation};
use serde_json::Value;

const VIP: &str = "10.77.1.100";
const CLIENT: &str = "10.77.1.2";
const SORRY: &str = "10.77.14.2";

fn rs_addr(i: usize) -> String {
    format!("10.77.1{i}.2")
}

/// Run a command; panic with its stderr when it fails.
fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn preflight() {
    for program in ["ip", "nft", "nginx"] {
        assert!(
            kalive_lab::cmd::find_program(program).is_some(),
            "the load-balancer netns tests need {program} (apt-get install -y iproute2 nftables nginx)"
        );
    }
    assert!(
        nix::unistd::geteuid().is_root(),
        "the load-balancer netns tests need root"
    );
}

/// Namespaces, processes and a directory, all removed on drop (panic
/// included). Processes are killed by PID.
struct World {
    prefix: String,
    namespaces: Vec<String>,
    dir: PathBuf,
    nginx: Vec<(String, Child)>,
    daemons: Vec<Daemon>,
}

impl Drop for World {
    fn drop(&mut self) {
        for d in &mut self.daemons {
            let _ = d.kill();
        }
        for (_, child) in &mut self.nginx {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl World {
    fn new(tag: &str) -> World {
        preflight();
        // Tests of this binary run in parallel: the PID and a counter.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let prefix = format!("lb{tag}{}x{n}", std::process::id());
        let dir = std::env::temp_dir().join(&prefix);
        std::fs::create_dir_all(&dir).expect("temp dir");
        World {
            prefix,
            namespaces: Vec::new(),
            dir,
            nginx: Vec::new(),
            daemons: Vec::new(),
        }
    }

    fn ns(&mut self, name: &str) -> String {
        let ns = format!("{}{name}", self.prefix);
        sh("ip", &["netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        sh("ip", &["-n", &ns, "link", "set", "lo", "up"]);
        ns
    }

    /// A veth pair between two namespaces, both ends up and addressed.
    fn link(&self, a: &str, a_dev: &str, a_addr: &str, b: &str, b_dev: &str, b_addr: &str) {
        sh(
            "ip",
            &[
                "-n", a, "link", "add", a_dev, "type", "veth", "peer", "name", b_dev, "netns", b,
            ],
        );
        for (ns, dev, addr) in [(a, a_dev, a_addr), (b, b_dev, b_addr)] {
            if !addr.is_empty() {
                sh("ip", &["-n", ns, "addr", "add", addr, "dev", dev]);
            }
            sh("ip", &["-n", ns, "link", "set", dev, "up"]);
        }
    }

    /// nginx on `addr:80` in `ns`, answering every path with `name`.
    fn start_nginx(&mut self, ns: &str, addr: &str, name: &str) {
        let dir = self.dir.join(format!("nginx-{name}"));
        std::fs::create_dir_all(&dir).expect("nginx dir");
        let d = dir.display();
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log;\nevents {{ worker_connections 256; }}\n\
             http {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
             server {{\n  listen {addr}:80;\n  location / {{ return 200 \"{name}\\n\"; }}\n }}\n}}\n"
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf).expect("nginx.conf");
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "nginx", "-e"])
            .arg(dir.join("error.log"))
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        self.nginx.push((name.to_string(), child));
        // Listening within a few seconds.
        let target: SocketAddr = format!("{addr}:80").parse().expect("addr");
        let ns = ns.to_string();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let ns = ns.clone();
            let up = netns::run_in(&ns, move || {
                Ok(TcpStream::connect_timeout(&target, Duration::from_millis(300)).is_ok())
            })
            .unwrap_or(false);
            if up {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("nginx {name} did not listen on {addr}:80");
    }

    fn kill_nginx(&mut self, name: &str) {
        let i = self
            .nginx
            .iter()
            .position(|(n, _)| n == name)
            .expect("nginx running");
        let (_, mut child) = self.nginx.remove(i);
        child.kill().expect("kill nginx");
        child.wait().expect("reap nginx");
    }
}

/// One HTTP GET through the VIP from the client namespace: the body.
fn get(client_ns: &str) -> Result<String, String> {
    get_from(client_ns, VIP)
}

/// `n` requests: who answered each (errors as `ERR: ...`).
fn answers(client_ns: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| get(client_ns).unwrap_or_else(|e| format!("ERR: {e}")))
        .collect()
}

fn count(answers: &[String], who: &str) -> usize {
    answers.iter().filter(|a| *a == who).count()
}

fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: not within {limit:?}");
}

fn nft_table(ns: &str) -> String {
    let out = Command::new("ip")
        .args([
            "netns", "exec", ns, "nft", "list", "table", "inet", "kalive",
        ])
        .output()
        .expect("nft");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Each rule of kalive's table with its handle (`nft -a`).
fn rule_handles(ns: &str) -> Vec<(String, String)> {
    let text = sh(
        "ip",
        &[
            "netns", "exec", ns, "nft", "-a", "list", "table", "inet", "kalive",
        ],
    );
    text.lines()
        .filter_map(|l| {
            let (rule, handle) = l.rsplit_once("# handle ")?;
            Some((rule.trim().to_string(), handle.trim().to_string()))
        })
        .filter(|(rule, _)| !rule.starts_with("chain") && !rule.starts_with("table"))
        .collect()
}

fn kalive_bin() -> PathBuf {
    match Implementation::kalive() {
        Ok(Implementation::Kalive(path)) => path,
        other => panic!("kalive binary not found (cargo build -p kalive first): {other:?}"),
    }
}

fn ctl(ns: &str, socket: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(kalive_bin())
        .arg("ctl")
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .expect("kalive ctl");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn status(ns: &str, socket: &Path) -> Value {
    let (ok, text) = ctl(ns, socket, &["status", "--json"]);
    assert!(ok, "ctl status: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("status JSON {e}: {text}"))
}

/// The status entry of real server `addr` of the first virtual server.
fn real_server(status: &Value, addr: &str) -> Value {
    let name = format!("[{addr}]:tcp:80");
    status["virtual_servers"][0]["real_servers"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == name.as_str()))
        .cloned()
        .unwrap_or_else(|| panic!("no {name} in {status}"))
}

const DELAY_LOOP: u64 = 2;
const RETRY: u64 = 1;
const CONNECT_TIMEOUT: u64 = 1;
const DELAY_BEFORE_RETRY: u64 = 1;

fn director_config(dir: &Path, rs3_weight: u32, broken: bool) -> String {
    let d = dir.display();
    let checker = format!(
        "connect_timeout {CONNECT_TIMEOUT}\n retry {RETRY}\n delay_before_retry {DELAY_BEFORE_RETRY}"
    );
    let http = format!("HTTP_GET {{\n url {{\n path /\n }}\n {checker}\n }}");
    let broken = if broken { "delay_loop\n" } else { "" };
    format!(
        r#"global_defs {{
    enable_script_security
    script_user root
    lvs_notify_fifo {d}/lvs-events
}}
vrrp_instance VI_1 {{
    state MASTER
    interface d0
    virtual_router_id 77
    priority 150
    advert_int 1
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
virtual_server {VIP} 80 {{
    {broken}delay_loop {DELAY_LOOP}
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    ha_suspend
    quorum_up "/usr/bin/touch {d}/quorum-up"
    quorum_down "/usr/bin/touch {d}/quorum-down"
    sorry_server {SORRY} 80
    real_server {rs1} 80 {{
        notify_down "/usr/bin/touch {d}/rs1-down"
        notify_up "/usr/bin/touch {d}/rs1-up"
        {http}
    }}
    real_server {rs2} 80 {{
        {http}
    }}
    real_server {rs3} 80 {{
        weight {rs3_weight}
        inhibit_on_failure
        TCP_CHECK {{
            {checker}
        }}
    }}
}}
"#,
        rs1 = rs_addr(1),
        rs2 = rs_addr(2),
        rs3 = rs_addr(3),
    )
}

struct Director {
    world: World,
    client: String,
    director: String,
    servers: Vec<String>,
    socket: PathBuf,
    config: PathBuf,
}

/// client — director — rs1..rs3 and the sorry server, nginx everywhere,
/// kalive on the director.
fn director_world(extra_args: &[&str]) -> Director {
    let mut world = World::new("d");
    let client = world.ns("c");
    let director = world.ns("d");
    world.link(
        &director,
        "d0",
        "10.77.1.1/24",
        &client,
        "c0",
        &format!("{CLIENT}/24"),
    );
    sh(
        "ip",
        &["-n", &client, "route", "add", "default", "via", "10.77.1.1"],
    );
    sh(
        "ip",
        &[
            "netns",
            "exec",
            &director,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
        ],
    );
    let mut servers = Vec::new();
    for i in 1..=4 {
        let ns = world.ns(&format!("r{i}"));
        world.link(
            &director,
            &format!("d{i}"),
            &format!("10.77.1{i}.1/24"),
            &ns,
            "eth0",
            &format!("10.77.1{i}.2/24"),
        );
        sh(
            "ip",
            &[
                "-n",
                &ns,
                "route",
                "add",
                "default",
                "via",
                &format!("10.77.1{i}.1"),
            ],
        );
        let name = if i == 4 {
            "sorry".to_string()
        } else {
            format!("rs{i}")
        };
        world.start_nginx(&ns, &rs_addr(i), &name);
        servers.push(ns);
    }
    let config = world.dir.join("keepalived.conf");
    std::fs::write(&config, director_config(&world.dir, 1, false)).expect("config");
    let socket = world.dir.join("kalive.ctl");
    let daemon = Daemon::spawn(
        &director,
        "director",
        &world.dir,
        DaemonSpec {
            implementation: Implementation::Kalive(kalive_bin()),
            config: config.clone(),
            extra_args: ["--control-socket", &socket.display().to_string()]
                .iter()
                .chain(extra_args)
                .map(|a| a.to_string())
                .collect(),
        },
    )
    .expect("start kalive");
    world.daemons.push(daemon);
    Director {
        world,
        client,
        director,
        servers,
        socket,
        config,
    }
}

#[test]
fn health_checks_drive_the_nat_load_balancer() {
    let mut d = director_world(&[]);
    let log = |d: &Director| d.world.daemons[0].log_text();
    // kalive creates lvs_notify_fifo; read it as a user's script would.
    let fifo = d.world.dir.join("lvs-events");
    wait_until("the LVS FIFO exists", Duration::from_secs(10), || {
        fifo.exists()
    });
    let fifo_lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = fifo_lines.clone();
    std::thread::spawn(move || {
        // Ends when kalive closes its end (stop).
        if let Ok(mut f) = std::fs::File::open(&fifo) {
            let mut buf = [0u8; 512];
            while let Ok(n) = f.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("lines").extend_from_slice(&buf[..n]);
            }
        }
    });
    // Served by all three once the VIP is up and the table is written.
    wait_until(
        "all three real servers answer",
        Duration::from_secs(20),
        || {
            let a = answers(&d.client, 6);
            ["rs1", "rs2", "rs3"].iter().all(|n| count(&a, n) > 0)
        },
    );
    let a = answers(&d.client, 30);
    for n in ["rs1", "rs2", "rs3"] {
        assert_eq!(count(&a, n), 10, "rr gives each a third: {a:?}");
    }
    let s = status(&d.director, &d.socket);
    let vs = &s["virtual_servers"][0];
    assert_eq!(vs["name"], format!("[{VIP}]:tcp:80"));
    assert_eq!(vs["quorum_up"], true);
    assert_eq!(vs["suspended"], false, "the VIP is here: checks run");
    assert_eq!(
        real_server(&s, &rs_addr(1))["checkers"][0]["kind"],
        "HTTP_GET"
    );
    assert_eq!(
        real_server(&s, &rs_addr(3))["checkers"][0]["kind"],
        "TCP_CHECK"
    );
    let since_rs2 = real_server(&s, &rs_addr(2))["checkers"][0]["since"].clone();

    // keepalived's worst case, plus 10%.
    let bound = Duration::from_secs(DELAY_LOOP + RETRY * (CONNECT_TIMEOUT + DELAY_BEFORE_RETRY))
        .mul_f64(1.1);

    // HTTP_GET: rs1 down, taken out of the table, clients never reach it.
    d.world.kill_nginx("rs1");
    let took = wait_until("rs1 leaves the table", bound, || {
        !nft_table(&d.director).contains(&rs_addr(1))
    });
    eprintln!("HTTP_GET detected rs1 down in {took:?} (bound {bound:?})");
    let a = answers(&d.client, 20);
    assert_eq!(count(&a, "rs2") + count(&a, "rs3"), 20, "{a:?}");
    let rs1 = real_server(&status(&d.director, &d.socket), &rs_addr(1));
    assert_eq!(rs1["up"], false);
    assert_eq!(
        rs1["lb_weight"],
        Value::Null,
        "removed without inhibit_on_failure"
    );
    assert!(
        rs1["last_failure"]
            .as_str()
            .is_some_and(|f| f.contains("HTTP_GET")),
        "{rs1}"
    );
    assert!(log(&d).contains(&format!("Removing service [{}]:tcp:80", rs_addr(1))));
    wait_until("notify_down ran", Duration::from_secs(3), || {
        d.world.dir.join("rs1-down").exists()
    });
    assert!(
        !d.world.dir.join("rs1-up").exists(),
        "no notify_up at start"
    );

    // Back: it gets its share again.
    d.world.start_nginx(&d.servers[0], &rs_addr(1), "rs1");
    wait_until("rs1 is back", Duration::from_secs(DELAY_LOOP + 5), || {
        nft_table(&d.director).contains(&rs_addr(1))
    });
    let a = answers(&d.client, 30);
    assert_eq!(count(&a, "rs1"), 10, "{a:?}");
    wait_until("notify_up ran", Duration::from_secs(3), || {
        d.world.dir.join("rs1-up").exists()
    });

    // TCP_CHECK with inhibit_on_failure: rs3 stays in the table at weight
    // 0 (no new connection), as IPVS keeps a quiescent server.
    d.world.kill_nginx("rs3");
    let took = wait_until("rs3 down", bound, || {
        real_server(&status(&d.director, &d.socket), &rs_addr(3))["up"] == false
    });
    eprintln!("TCP_CHECK detected rs3 down in {took:?} (bound {bound:?})");
    // The nftables backend has no quiescent destination: a weight-0 server
    // has no rule at all. The LB owner keeps it at weight 0 (what IPVS
    // would hold), which status shows; rs1 (no inhibit) was removed.
    let s = status(&d.director, &d.socket);
    assert_eq!(real_server(&s, &rs_addr(3))["lb_weight"], 0, "{s}");
    assert_eq!(real_server(&s, &rs_addr(1))["lb_weight"], 1, "{s}");
    assert!(!nft_table(&d.director).contains(&rs_addr(3)));
    let a = answers(&d.client, 20);
    assert_eq!(count(&a, "rs1") + count(&a, "rs2"), 20, "{a:?}");
    assert!(!d.world.dir.join("quorum-down").exists());
    assert!(
        log(&d).contains(&format!(
            "Disabling service [{}]:tcp:80 of VS [{VIP}]:tcp:80",
            rs_addr(3)
        )),
        "keepalived's words for an inhibited server"
    );

    // Quorum 2 lost (live weight 1): the sorry server answers, quorum_down ran.
    d.world.kill_nginx("rs2");
    wait_until("quorum lost", bound + Duration::from_secs(1), || {
        status(&d.director, &d.socket)["virtual_servers"][0]["quorum_up"] == false
    });
    wait_until("quorum_down ran", Duration::from_secs(3), || {
        d.world.dir.join("quorum-down").exists()
    });
    let a = answers(&d.client, 10);
    assert_eq!(count(&a, "sorry"), 10, "{a:?}");
    assert!(log(&d).contains(&format!("Lost quorum 2-0=2 > 1 for VS [{VIP}]:tcp:80")));
    let fifo = String::from_utf8_lossy(&fifo_lines.lock().expect("lines")).into_owned();
    assert!(
        fifo.contains(&format!("VS [{VIP}]:tcp:80 DOWN")),
        "lvs_notify_fifo lines: {fifo:?}"
    );

    // Servers back: quorum_up, real servers again.
    d.world.start_nginx(&d.servers[1], &rs_addr(2), "rs2");
    d.world.start_nginx(&d.servers[2], &rs_addr(3), "rs3");
    wait_until("quorum back", Duration::from_secs(DELAY_LOOP + 5), || {
        d.world.dir.join("quorum-up").exists()
    });
    wait_until(
        "all three again",
        Duration::from_secs(DELAY_LOOP + 5),
        || {
            let a = answers(&d.client, 6);
            ["rs1", "rs2", "rs3"].iter().all(|n| count(&a, n) > 0)
        },
    );

    // A reload changing one real server: the others' checkers keep their
    // state (same `since`).
    let before = status(&d.director, &d.socket);
    let handles_before = rule_handles(&d.director);
    let since = |s: &Value, i: usize| real_server(s, &rs_addr(i))["checkers"][0]["since"].clone();
    std::fs::write(&d.config, director_config(&d.world.dir, 2, false)).expect("config");
    let (ok, text) = ctl(&d.director, &d.socket, &["reload"]);
    assert!(ok, "reload: {text}");
    let after = status(&d.director, &d.socket);
    assert_eq!(since(&before, 1), since(&after, 1), "rs1's checker kept");
    assert_eq!(since(&before, 2), since(&after, 2), "rs2's checker kept");
    assert_ne!(
        since(&after, 2),
        since_rs2,
        "rs2 went down and up meanwhile"
    );
    assert_eq!(real_server(&after, &rs_addr(3))["weight"], 2);
    // nft: the chains of rs1 and rs2 were not touched (same rule handles);
    // only the service chain's weights changed.
    let handles_after = rule_handles(&d.director);
    for i in 1..=2 {
        let dnat = format!("dnat ip to {}:80", rs_addr(i));
        assert!(
            handles_after.iter().any(|(l, _)| l.contains(&dnat)),
            "no rule for rs{i}: {handles_after:?}"
        );
        assert_eq!(
            handles_before.iter().find(|(l, _)| l.contains(&dnat)),
            handles_after.iter().find(|(l, _)| l.contains(&dnat)),
            "rs{i}'s chain kept its rule"
        );
    }
    // A reload with an error keeps everything.
    std::fs::write(&d.config, director_config(&d.world.dir, 5, true)).expect("config");
    let (ok, text) = ctl(&d.director, &d.socket, &["reload"]);
    assert!(!ok, "a config keepalived refuses must be refused: {text}");
    let kept = status(&d.director, &d.socket);
    for i in 1..=3 {
        assert_eq!(since(&after, i), since(&kept, i));
    }
    assert_eq!(real_server(&kept, &rs_addr(3))["weight"], 2);
    let a = answers(&d.client, 6);
    assert_eq!(
        count(&a, "rs1") + count(&a, "rs2") + count(&a, "rs3"),
        6,
        "{a:?}"
    );

    // ha_suspend: the VIP leaves (by hand) → checks paused.
    sh(
        "ip",
        &[
            "-n",
            &d.director,
            "addr",
            "del",
            &format!("{VIP}/24"),
            "dev",
            "d0",
        ],
    );
    wait_until("checks suspended", Duration::from_secs(3), || {
        status(&d.director, &d.socket)["virtual_servers"][0]["suspended"] == true
    });
    assert!(log(&d).contains(&format!(
        "Suspending healthchecker for service [{}]:tcp:80 for VS [{VIP}]:tcp:80",
        rs_addr(1)
    )));

    // Stop: the table goes.
    let stopped = d.world.daemons[0]
        .terminate(Duration::from_secs(10))
        .expect("terminate");
    assert!(stopped, "kalive did not stop on SIGTERM:\n{}", log(&d));
    assert!(
        nft_table(&d.director).is_empty(),
        "table left after stop:\n{}",
        nft_table(&d.director)
    );
}

// ---------------------------------------------------------------------------
// Two directors with VRRP.
//
// keepalived programs LVS on every director whatever its VRRP state (the
// checker process does not follow VRRP; reference §1.4), so a backup
// takes over with its table ready. kalive does the same: both directors
// hold the table; only the VIPs move.

const VIP2: &str = "10.78.1.100";
const GW2: &str = "10.78.2.254";

impl World {
    /// A port of bridge `bridge` (in namespace `sw`) to `dev` in `ns`.
    fn port(&self, sw: &str, bridge: &str, port: &str, ns: &str, dev: &str, addr: &str) {
        sh(
            "ip",
            &[
                "-n", sw, "link", "add", port, "type", "veth", "peer", "name", dev, "netns", ns,
            ],
        );
        sh(
            "ip",
            &["-n", sw, "link", "set", port, "master", bridge, "up"],
        );
        if !addr.is_empty() {
            sh("ip", &["-n", ns, "addr", "add", addr, "dev", dev]);
        }
        sh("ip", &["-n", ns, "link", "set", dev, "up"]);
    }
}

fn pair_config(priority: u8) -> String {
    format!(
        r#"vrrp_sync_group G {{
    group {{
        FRONT
        BACK
    }}
}}
vrrp_instance FRONT {{
    state BACKUP
    interface f0
    virtual_router_id 78
    priority {priority}
    advert_int 1
    virtual_ipaddress {{
        {VIP2}/24
    }}
}}
vrrp_instance BACK {{
    state BACKUP
    interface b0
    virtual_router_id 79
    priority {priority}
    advert_int 1
    virtual_ipaddress {{
        {GW2}/24
    }}
}}
virtual_server {VIP2} 80 {{
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    ha_suspend
    real_server 10.78.2.11 80 {{
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
    real_server 10.78.2.12 80 {{
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
}}
"#
    )
}

fn get_from(client_ns: &str, vip: &str) -> Result<String, String> {
    let target: SocketAddr = format!("{vip}:80").parse().map_err(|e| format!("{e}"))?;
    netns::run_in(client_ns, move || {
        let fetch = || -> std::io::Result<String> {
            let mut s = TcpStream::connect_timeout(&target, Duration::from_secs(1))?;
            s.set_read_timeout(Some(Duration::from_secs(2)))?;
            s.write_all(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")?;
            let mut text = String::new();
            s.read_to_string(&mut text)?;
            Ok(text)
        };
        Ok(fetch())
    })
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())
    .and_then(|text| {
        text.split("\r\n\r\n")
            .nth(1)
            .map(|b| b.trim().to_string())
            .ok_or_else(|| format!("no HTTP body in {text:?}"))
    })
}

fn has_vip(ns: &str) -> bool {
    sh("ip", &["-n", ns, "-4", "addr", "show", "dev", "f0"]).contains(VIP2)
}

#[test]
fn both_directors_balance_and_a_failover_keeps_the_client_served() {
    let mut world = World::new("p");
    let sw = world.ns("sw");
    sh("ip", &["-n", &sw, "link", "add", "front", "type", "bridge"]);
    sh("ip", &["-n", &sw, "link", "add", "back", "type", "bridge"]);
    sh("ip", &["-n", &sw, "link", "set", "front", "up"]);
    sh("ip", &["-n", &sw, "link", "set", "back", "up"]);
    let client = world.ns("c");
    world.port(&sw, "front", "pc", &client, "eth0", "10.78.1.2/24");
    sh(
        "ip",
        &["-n", &client, "route", "add", "default", "via", VIP2],
    );
    let mut directors = Vec::new();
    for (i, name) in ["a", "b"].iter().enumerate() {
        let ns = world.ns(name);
        world.port(
            &sw,
            "front",
            &format!("pf{name}"),
            &ns,
            "f0",
            &format!("10.78.1.{}/24", 11 + i),
        );
        world.port(
            &sw,
            "back",
            &format!("pb{name}"),
            &ns,
            "b0",
            &format!("10.78.2.{}/24", 1 + i),
        );
        sh(
            "ip",
            &[
                "netns",
                "exec",
                &ns,
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=1",
            ],
        );
        directors.push(ns);
    }
    for i in 1..=2 {
        let ns = world.ns(&format!("r{i}"));
        let addr = format!("10.78.2.1{i}");
        world.port(
            &sw,
            "back",
            &format!("pr{i}"),
            &ns,
            "eth0",
            &format!("{addr}/24"),
        );
        sh("ip", &["-n", &ns, "route", "add", "default", "via", GW2]);
        world.start_nginx(&ns, &addr, &format!("rs{i}"));
    }
    for (ns, priority, tag) in [(&directors[0], 150, "a"), (&directors[1], 100, "b")] {
        let config = world.dir.join(format!("{tag}.conf"));
        std::fs::write(&config, pair_config(priority)).expect("config");
        let daemon = Daemon::spawn(
            ns,
            tag,
            &world.dir,
            DaemonSpec {
                implementation: Implementation::Kalive(kalive_bin()),
                config,
                extra_args: vec![
                    "--control-socket".into(),
                    world.dir.join(format!("{tag}.ctl")).display().to_string(),
                ],
            },
        )
        .expect("start kalive");
        world.daemons.push(daemon);
    }
    wait_until("director a is master", Duration::from_secs(15), || {
        has_vip(&directors[0])
    });
    wait_until("served through a", Duration::from_secs(15), || {
        let a: Vec<String> = (0..4)
            .map(|_| get_from(&client, VIP2).unwrap_or_default())
            .collect();
        count(&a, "rs1") > 0 && count(&a, "rs2") > 0
    });
    assert!(!has_vip(&directors[1]), "b is backup");
    // ha_suspend: the backup, without the VIP, does not check; the master does.
    let suspended = |tag: &str, ns: &str| {
        let socket = world.dir.join(format!("{tag}.ctl"));
        status(ns, &socket)["virtual_servers"][0]["suspended"].clone()
    };
    assert_eq!(suspended("a", &directors[0]), false);
    assert_eq!(suspended("b", &directors[1]), true);
    // As keepalived: the backup director holds the table too.
    for ns in &directors {
        wait_until(
            "the table on both directors",
            Duration::from_secs(5),
            || {
                let t = nft_table(ns);
                t.contains("10.78.2.11") && t.contains("10.78.2.12")
            },
        );
    }

    // a stops: b takes the VIPs and serves with the table it already has.
    let stopped = world.daemons[0]
        .terminate(Duration::from_secs(10))
        .expect("terminate a");
    assert!(stopped, "a did not stop: {}", world.daemons[0].log_text());
    assert!(
        nft_table(&directors[0]).is_empty(),
        "a removed its table on stop"
    );
    wait_until("b is master", Duration::from_secs(10), || {
        has_vip(&directors[1])
    });
    wait_until("served through b", Duration::from_secs(10), || {
        get_from(&client, VIP2).is_ok()
    });
    let a: Vec<String> = (0..10)
        .map(|_| get_from(&client, VIP2).unwrap_or_else(|e| format!("ERR: {e}")))
        .collect();
    assert_eq!(count(&a, "rs1"), 5, "{a:?}");
    assert_eq!(count(&a, "rs2"), 5, "{a:?}");
}

#[test]
fn dont_release_ipvs_keeps_the_table_and_a_restart_reconciles_it() {
    let mut d = director_world(&["-I"]);
    wait_until(
        "all three real servers answer",
        Duration::from_secs(20),
        || {
            let a = answers(&d.client, 6);
            ["rs1", "rs2", "rs3"].iter().all(|n| count(&a, n) > 0)
        },
    );
    let written = nft_table(&d.director);
    let stopped = d.world.daemons[0]
        .terminate(Duration::from_secs(10))
        .expect("terminate");
    assert!(
        stopped,
        "kalive did not stop: {}",
        d.world.daemons[0].log_text()
    );
    assert_eq!(
        nft_table(&d.director),
        written,
        "-I leaves the table as it was"
    );

    // Someone edits the table meanwhile; the next start brings it back.
    sh(
        "ip",
        &[
            "netns",
            "exec",
            &d.director,
            "nft",
            "add",
            "chain",
            "inet",
            "kalive",
            "junk",
        ],
    );
    sh(
        "ip",
        &[
            "netns",
            "exec",
            &d.director,
            "nft",
            "flush",
            "chain",
            "inet",
            "kalive",
            "services",
        ],
    );
    let config = d.config.clone();
    let socket = d.socket.clone();
    let daemon = Daemon::spawn(
        &d.director,
        "director2",
        &d.world.dir,
        DaemonSpec {
            implementation: Implementation::Kalive(kalive_bin()),
            config,
            extra_args: vec!["--control-socket".into(), socket.display().to_string()],
        },
    )
    .expect("restart kalive");
    d.world.daemons.push(daemon);
    wait_until("the table is reconciled", Duration::from_secs(10), || {
        nft_table(&d.director) == written
    });
    wait_until("served again", Duration::from_secs(20), || {
        let a = answers(&d.client, 6);
        ["rs1", "rs2", "rs3"].iter().all(|n| count(&a, n) > 0)
    });
}

#[test]
fn check_only_and_vrrp_only_run_one_half_of_the_config() {
    // -C: health checks and the table, no VIP.
    let mut d = director_world(&["-C"]);
    wait_until("the table", Duration::from_secs(10), || {
        nft_table(&d.director).contains(&rs_addr(1))
    });
    wait_until("checkers pid file", Duration::from_secs(5), || {
        d.world.dir.join("director_checkers.pid").exists()
    });
    std::thread::sleep(Duration::from_secs(2));
    let addrs = sh("ip", &["-n", &d.director, "addr", "show", "dev", "d0"]);
    assert!(!addrs.contains(VIP), "-C runs no VRRP: {addrs}");
    assert!(d.world.daemons[0]
        .terminate(Duration::from_secs(10))
        .expect("stop"));

    // -P: the VIP, no table.
    let config = d.config.clone();
    let daemon = Daemon::spawn(
        &d.director,
        "vrrp-only",
        &d.world.dir,
        DaemonSpec {
            implementation: Implementation::Kalive(kalive_bin()),
            config,
            extra_args: vec!["-P".into()],
        },
    )
    .expect("start kalive -P");
    d.world.daemons.push(daemon);
    wait_until("the VIP", Duration::from_secs(10), || {
        sh("ip", &["-n", &d.director, "addr", "show", "dev", "d0"]).contains(VIP)
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        nft_table(&d.director).is_empty(),
        "-P runs no load balancer"
    );
    assert!(!d.world.dir.join("vrrp-only_checkers.pid").exists());
}

/// Thousands of checks run on the LVS thread; the VRRP actor's adverts keep
/// their interval (DESIGN.md: an advert never waits for a probe).
#[test]
fn thousands_of_checks_do_not_delay_adverts() {
    const SERVERS: usize = 2000;
    let mut world = World::new("t");
    let client = world.ns("c");
    let director = world.ns("d");
    world.link(
        &director,
        "d0",
        "10.77.1.1/24",
        &client,
        "c0",
        &format!("{CLIENT}/24"),
    );
    // Probes fail at once (no route), the most work per second.
    sh(
        "ip",
        &[
            "-n",
            &director,
            "route",
            "add",
            "blackhole",
            "10.200.0.0/16",
        ],
    );
    let mut config = format!(
        "vrrp_instance VI_1 {{\n state MASTER\n interface d0\n virtual_router_id 77\n priority 150\n advert_int 1\n virtual_ipaddress {{\n {VIP}/24\n }}\n}}\n\
         virtual_server {VIP} 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n"
    );
    for i in 0..SERVERS {
        config.push_str(&format!(
            " real_server 10.200.{}.{} 80 {{\n  TCP_CHECK {{\n   connect_timeout 1\n   retry 0\n  }}\n }}\n",
            i / 250,
            i % 250 + 1
        ));
    }
    config.push_str("}\n");
    let path = world.dir.join("keepalived.conf");
    std::fs::write(&path, config).expect("config");
    let socket = world.dir.join("kalive.ctl");
    let daemon = Daemon::spawn(
        &director,
        "director",
        &world.dir,
        DaemonSpec {
            implementation: Implementation::Kalive(kalive_bin()),
            config: path,
            extra_args: vec!["--control-socket".into(), socket.display().to_string()],
        },
    )
    .expect("start kalive");
    world.daemons.push(daemon);
    let c0 = sh("ip", &["-n", &client, "-o", "link", "show", "dev", "c0"]);
    let index: usize = c0
        .split(':')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .expect("ifindex");
    let recorder = kalive_lab::record::Recorder::start(
        &client,
        [(index, ("d".to_string(), 0u8))].into_iter().collect(),
    )
    .expect("recorder");
    // Every server checked and found down: the checks do run.
    wait_until("all servers down", Duration::from_secs(30), || {
        let (ok, text) = ctl(&director, &socket, &["status", "--json"]);
        ok && serde_json::from_str::<Value>(&text).is_ok_and(|s| {
            s["virtual_servers"][0]["real_servers"]
                .as_array()
                .is_some_and(|rs| rs.len() == SERVERS && rs.iter().all(|r| r["up"] == false))
        })
    });
    let since = std::time::SystemTime::now();
    std::thread::sleep(Duration::from_secs(8));
    let adverts: Vec<std::time::SystemTime> = recorder
        .events()
        .into_iter()
        .filter(|e| e.at >= since && e.advert().is_some_and(|(vrid, _)| vrid == 77))
        .map(|e| e.at)
        .collect();
    assert!(adverts.len() >= 6, "adverts seen: {}", adverts.len());
    let worst = adverts
        .windows(2)
        .filter_map(|w| w[1].duration_since(w[0]).ok())
        .max()
        .expect("two adverts");
    eprintln!(
        "{SERVERS} checks a second: {} adverts in 8 s, worst gap {worst:?}",
        adverts.len()
    );
    assert!(
        worst < Duration::from_millis(1500),
        "an advert waited: worst gap {worst:?}"
    );
}
