//! The nftables backend against the real kernel: a client namespace, a
//! director namespace holding kalive's table, and three real-server
//! namespaces answering their own name over TCP and UDP (IPv4 and IPv6).
//! Needs root and `nft` (Debian package `nftables`); fails otherwise.

use kalive_lb::nft::{self, NftListing};
use kalive_lb::{
    Family, LbConfig, LbEngine, LbState, Member, Method, Persistence, Protocol, RealServerConfig,
    RsKey, Scheduler, SchedulerFlags, ServiceConfig, VsKey,
};
use kalive_sys::{in_netns, Nft};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const SERVERS: usize = 3;
const RS_PORT: u16 = 8080;
const VIP4: &str = "10.0.0.1";
const VIP6: &str = "fd00::1";

fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| {
        panic!("cannot run {args:?}: {e} (these tests need root, iproute2 and the nftables package)")
    });
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Namespaces and responder threads of one test; everything is removed on
/// drop (panics included).
struct Lab {
    client: String,
    director: String,
    servers: Vec<String>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _joined = t.join();
        }
        for ns in std::iter::once(&self.client)
            .chain([&self.director])
            .chain(&self.servers)
        {
            let _removed = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

static LABS: AtomicUsize = AtomicUsize::new(0);

impl Lab {
    fn new() -> Lab {
        let n = LABS.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("klb{}x{n}", std::process::id());
        let mut lab = Lab {
            client: format!("{prefix}c"),
            director: format!("{prefix}d"),
            servers: (0..SERVERS).map(|i| format!("{prefix}r{i}")).collect(),
            stop: Arc::new(AtomicBool::new(false)),
            threads: Vec::new(),
        };
        let all: Vec<String> = std::iter::once(lab.client.clone())
            .chain([lab.director.clone()])
            .chain(lab.servers.clone())
            .collect();
        for ns in &all {
            sh(&["ip", "netns", "add", ns]);
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            // No duplicate address detection: link-local addresses would be
            // tentative (and neighbour discovery slow) for the first second.
            for conf in ["all", "default"] {
                let key = format!("net.ipv6.conf.{conf}.accept_dad=0");
                sh(&["ip", "netns", "exec", ns, "sysctl", "-qw", &key]);
            }
        }
        let d = lab.director.clone();
        sh(&[
            "ip",
            "netns",
            "exec",
            &d,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
        ]);
        sh(&[
            "ip",
            "netns",
            "exec",
            &d,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.forwarding=1",
        ]);
        // Veth pairs are created inside the namespaces, never in the root one.
        let link = |peer_ns: &str, dev: &str, d4: &str, p4: &str, d6: &str, p6: &str| {
            sh(&[
                "ip", "-n", &d, "link", "add", dev, "type", "veth", "peer", "name", "eth0",
                "netns", peer_ns,
            ]);
            sh(&["ip", "-n", &d, "addr", "add", d4, "dev", dev]);
            sh(&["ip", "-n", &d, "addr", "add", d6, "dev", dev, "nodad"]);
            sh(&["ip", "-n", &d, "link", "set", dev, "up"]);
            sh(&["ip", "-n", peer_ns, "addr", "add", p4, "dev", "eth0"]);
            sh(&[
                "ip", "-n", peer_ns, "addr", "add", p6, "dev", "eth0", "nodad",
            ]);
            sh(&["ip", "-n", peer_ns, "link", "set", "eth0", "up"]);
            let gw4 = d4.split('/').next().unwrap_or_default();
            let gw6 = d6.split('/').next().unwrap_or_default();
            sh(&["ip", "-n", peer_ns, "route", "add", "default", "via", gw4]);
            sh(&[
                "ip", "-n", peer_ns, "-6", "route", "add", "default", "via", gw6,
            ]);
        };
        link(
            &lab.client,
            "vc",
            "10.0.0.1/24",
            "10.0.0.2/24",
            "fd00::1/64",
            "fd00::2/64",
        );
        for (i, ns) in lab.servers.clone().iter().enumerate() {
            link(
                ns,
                &format!("vr{i}"),
                &format!("10.1.{i}.1/24"),
                &format!("10.1.{i}.2/24"),
                &format!("fd01:{i}::1/64"),
                &format!("fd01:{i}::2/64"),
            );
            lab.start_responders(ns, &format!("r{i}"), RS_PORT);
        }
        lab
    }

    /// TCP and UDP responders (IPv4 and IPv6) on RS_PORT that
    /// answer `name`. Sockets are opened inside the namespace and served
    /// from ordinary threads.
    fn start_responders(&mut self, ns: &str, name: &str, port: u16) {
        // `[::]` sockets are dual-stack here (bindv6only is 0 in a new
        // namespace): one serves IPv4 and IPv6.
        let (tcp, udp) = in_netns(ns, || {
            let tcp = TcpListener::bind(("::", port)).expect("bind tcp");
            let udp = UdpSocket::bind(("::", port)).expect("bind udp");
            (tcp, udp)
        })
        .expect("enter server namespace");
        {
            let listener = tcp;
            listener.set_nonblocking(true).expect("nonblocking");
            let (stop, name) = (self.stop.clone(), name.to_owned());
            self.threads.push(std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((mut conn, _)) => {
                            let _sent = conn.write_all(name.as_bytes());
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            }));
        }
        {
            let socket = udp;
            socket
                .set_read_timeout(Some(Duration::from_millis(50)))
                .expect("timeout");
            let (stop, name) = (self.stop.clone(), name.to_owned());
            self.threads.push(std::thread::spawn(move || {
                let mut buf = [0u8; 64];
                while !stop.load(Ordering::SeqCst) {
                    if let Ok((_, from)) = socket.recv_from(&mut buf) {
                        let _sent = socket.send_to(name.as_bytes(), from);
                    }
                }
            }));
        }
    }

    /// Brings the director's table to `state` the way the daemon does:
    /// read it back, plan, apply one batch. Returns whether a batch ran.
    fn sync(&self, state: &LbState) -> bool {
        let listing = self.listing_text();
        let batch = nft::reconcile(state, listing.as_deref()).expect("readable listing");
        match batch {
            Some(batch) => {
                in_netns(&self.director, || Nft::new().apply(&batch))
                    .expect("netns")
                    .expect("apply batch");
                true
            }
            None => false,
        }
    }

    fn listing_text(&self) -> Option<String> {
        in_netns(&self.director, || {
            Nft::new().list_table(nft::FAMILY, nft::TABLE)
        })
        .expect("netns")
        .expect("nft list")
    }

    /// `count` TCP connections to `vip:port` from the client, each
    /// answered with a server name (or "refused"/"timeout").
    fn tcp(&self, vip: &str, port: u16, count: usize) -> Vec<String> {
        let addr = SocketAddr::new(vip.parse::<IpAddr>().expect("vip"), port);
        in_netns(&self.client, || {
            (0..count)
                .map(
                    |_| match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
                        Ok(mut s) => {
                            let _t = s.set_read_timeout(Some(Duration::from_secs(2)));
                            let mut answer = String::new();
                            match s.read_to_string(&mut answer) {
                                Ok(_) => answer,
                                Err(_) => "timeout".to_owned(),
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                            "refused".to_owned()
                        }
                        Err(_) => "timeout".to_owned(),
                    },
                )
                .collect()
        })
        .expect("enter client namespace")
    }

    /// `count` UDP requests, each from a new socket (a new flow).
    fn udp(&self, vip: &str, port: u16, count: usize) -> Vec<String> {
        let addr = SocketAddr::new(vip.parse::<IpAddr>().expect("vip"), port);
        let bind = if addr.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        in_netns(&self.client, || {
            (0..count)
                .map(|_| {
                    let s = UdpSocket::bind(bind).expect("bind client");
                    s.set_read_timeout(Some(Duration::from_secs(2)))
                        .expect("timeout");
                    s.send_to(b"who?", addr).expect("send");
                    let mut buf = [0u8; 64];
                    match s.recv_from(&mut buf) {
                        Ok((n, _)) => String::from_utf8_lossy(&buf[..n]).into_owned(),
                        Err(_) => "timeout".to_owned(),
                    }
                })
                .collect()
        })
        .expect("enter client namespace")
    }
}

fn count(answers: &[String], name: &str) -> usize {
    answers.iter().filter(|a| *a == name).count()
}

fn rs(i: usize, weight: u32, inhibit: bool, family: Family) -> RealServerConfig {
    let addr: IpAddr = match family {
        Family::V4 => format!("10.1.{i}.2").parse().expect("addr"),
        Family::V6 => format!("fd01:{i}::2").parse().expect("addr"),
    };
    RealServerConfig {
        key: RsKey {
            addr,
            port: Some(RS_PORT),
        },
        weight,
        method: Method::Nat,
        inhibit_on_failure: inhibit,
        upper_threshold: 0,
        lower_threshold: 0,
        initially_alive: true,
    }
}

fn service(
    vip: &str,
    port: u16,
    protocol: Protocol,
    scheduler: Scheduler,
    weights: &[u32],
) -> ServiceConfig {
    let addr: IpAddr = vip.parse().expect("vip");
    let family = Family::of(&addr);
    ServiceConfig {
        key: VsKey::Ip {
            addr,
            port: Some(port),
            protocol,
        },
        members: vec![Member::Addresses {
            first: addr,
            last: addr,
            port: Some(port),
        }],
        family,
        protocol: Some(protocol),
        scheduler,
        flags: SchedulerFlags::default(),
        persistence: None,
        persistence_engine: None,
        quorum: 1,
        hysteresis: 0,
        omega: false,
        sorry_server: None,
        real_servers: weights
            .iter()
            .enumerate()
            .map(|(i, w)| rs(i, *w, true, family))
            .collect(),
    }
}

fn engine(services: Vec<ServiceConfig>) -> LbEngine {
    LbEngine::new(LbConfig {
        services,
        rs_init_notifies: false,
    })
    .0
}

fn with_scheduler(state: &LbState, scheduler: Scheduler) -> LbState {
    let mut state = state.clone();
    for s in state.services.values_mut() {
        s.spec.scheduler = scheduler;
    }
    state
}

#[test]
fn tcp_schedulers_removal_inhibit_and_reconcile() {
    let lab = Lab::new();
    let mut lb = engine(vec![service(
        VIP4,
        80,
        Protocol::Tcp,
        Scheduler::Rr,
        &[1, 1, 1],
    )]);
    let rr = lb.desired();
    assert!(lab.sync(&rr));
    // Read back and planned again: nothing to do.
    assert!(
        !lab.sync(&rr),
        "a table just written must read back as up to date"
    );

    // rr: every round of 3 connections reaches each server exactly once.
    let answers = lab.tcp(VIP4, 80, 9);
    for round in answers.chunks(3) {
        for name in ["r0", "r1", "r2"] {
            assert_eq!(count(round, name), 1, "rr round {round:?}");
        }
    }

    // wrr 1:2:3: each round of 6 within ±1 of the weights.
    let mut wrr = with_scheduler(&rr, Scheduler::Wrr);
    for (i, d) in wrr
        .services
        .values_mut()
        .flat_map(|s| s.dests.values_mut())
        .enumerate()
    {
        d.weight = i as u32 + 1;
    }
    assert!(lab.sync(&wrr));
    let answers = lab.tcp(VIP4, 80, 18);
    for round in answers.chunks(6) {
        for (i, name) in ["r0", "r1", "r2"].iter().enumerate() {
            let got = count(round, name) as i64;
            assert!((got - (i as i64 + 1)).abs() <= 1, "wrr round {round:?}");
        }
    }

    // sh, mh and dh: one client (and one VIP) stays on one server.
    for scheduler in [Scheduler::Sh, Scheduler::Mh, Scheduler::Dh] {
        assert!(lab.sync(&with_scheduler(&rr, scheduler)));
        let answers = lab.tcp(VIP4, 80, 8);
        assert!(answers[0].starts_with('r'), "{scheduler:?}: {answers:?}");
        assert!(
            answers.iter().all(|a| *a == answers[0]),
            "{scheduler:?}: {answers:?}"
        );
    }

    // sh-port: the source port joins the hash, so one client's connections
    // (new ephemeral ports) spread; all on one server would happen with
    // probability 3 * (1/3)^12.
    let mut sh_port = with_scheduler(&rr, Scheduler::Sh);
    for s in sh_port.services.values_mut() {
        s.spec.flags.hash_port = true;
    }
    assert!(lab.sync(&sh_port));
    let answers = lab.tcp(VIP4, 80, 12);
    let used = ["r0", "r1", "r2"]
        .iter()
        .filter(|n| count(&answers, n) > 0)
        .count();
    assert!(used >= 2, "sh-port: {answers:?}");

    // A server removed from the desired state gets no new connection.
    assert!(lab.sync(&rr));
    let mut without_r2 = rr.clone();
    for s in without_r2.services.values_mut() {
        s.dests.retain(|k, _| k.addr.to_string() != "10.1.2.2");
    }
    assert!(lab.sync(&without_r2));
    let answers = lab.tcp(VIP4, 80, 8);
    assert_eq!(count(&answers, "r2"), 0, "{answers:?}");
    assert_eq!(
        count(&answers, "r0") + count(&answers, "r1"),
        8,
        "{answers:?}"
    );

    // inhibit_on_failure: a failed server stays at weight 0, gets nothing.
    let vs = rr.services.keys().next().expect("one service").clone();
    let r1 = RsKey {
        addr: "10.1.1.2".parse().expect("addr"),
        port: Some(RS_PORT),
    };
    lb.set_alive(&vs, &r1, false).expect("known server");
    let inhibited = lb.desired();
    assert_eq!(inhibited.services[&vs].dests[&r1].weight, 0);
    let before = NftListing::parse(&lab.listing_text().expect("table")).expect("listing");
    assert!(lab.sync(&inhibited));
    let answers = lab.tcp(VIP4, 80, 9);
    assert_eq!(count(&answers, "r1"), 0, "{answers:?}");
    assert_eq!(
        count(&answers, "r0") + count(&answers, "r2"),
        9,
        "{answers:?}"
    );

    // A weight change rewrites only the service chain: other real-server
    // chains keep their rules (same fingerprints, not rewritten).
    let after = NftListing::parse(&lab.listing_text().expect("table")).expect("listing");
    let r0_chain = nft::server_chain(
        &vs,
        &RsKey {
            addr: "10.1.0.2".parse().expect("addr"),
            port: Some(RS_PORT),
        },
    );
    assert_eq!(before.chains.get(&r0_chain), after.chains.get(&r0_chain));
    assert!(!after.chains.contains_key(&nft::server_chain(&vs, &r1)));
}

#[test]
fn persistence_keeps_a_client_on_its_server() {
    let lab = Lab::new();
    let mut cfg = service(VIP4, 80, Protocol::Tcp, Scheduler::Rr, &[1, 1, 1]);
    cfg.persistence = Some(Persistence {
        timeout: Duration::from_secs(60),
        prefix_len: Some(24),
    });
    let state = engine(vec![cfg]).desired();
    assert!(lab.sync(&state));
    assert!(!lab.sync(&state));
    let answers = lab.tcp(VIP4, 80, 9);
    assert!(answers[0].starts_with('r'), "{answers:?}");
    assert!(
        answers.iter().all(|a| *a == answers[0]),
        "rr with persistence: {answers:?}"
    );
}

#[test]
fn ipv6_and_udp() {
    let lab = Lab::new();
    let state = engine(vec![
        service(VIP6, 80, Protocol::Tcp, Scheduler::Rr, &[1, 1, 1]),
        service(VIP4, 53, Protocol::Udp, Scheduler::Rr, &[1, 1, 1]),
        service(VIP6, 53, Protocol::Udp, Scheduler::Wrr, &[1, 1, 2]),
    ])
    .desired();
    assert!(lab.sync(&state));
    assert!(!lab.sync(&state));
    let answers = lab.tcp(VIP6, 80, 6);
    for round in answers.chunks(3) {
        for name in ["r0", "r1", "r2"] {
            assert_eq!(count(round, name), 1, "tcp6 rr round {round:?}");
        }
    }
    let answers = lab.udp(VIP4, 53, 6);
    for round in answers.chunks(3) {
        for name in ["r0", "r1", "r2"] {
            assert_eq!(count(round, name), 1, "udp4 rr round {round:?}");
        }
    }
    let answers = lab.udp(VIP6, 53, 8);
    assert_eq!(
        (
            count(&answers, "r0"),
            count(&answers, "r1"),
            count(&answers, "r2")
        ),
        (2, 2, 4),
        "udp6 wrr {answers:?}"
    );
}

#[test]
fn failed_batch_leaves_the_table_and_stop_removes_it() {
    let mut lab = Lab::new();
    // The director answers on the service port itself: what a client
    // reaches when kalive's table does not take the connection.
    let director = lab.director.clone();
    lab.start_responders(&director, "director", 80);
    let state = engine(vec![service(
        VIP4,
        80,
        Protocol::Tcp,
        Scheduler::Rr,
        &[1, 1, 1],
    )])
    .desired();
    assert!(lab.sync(&state));
    let before = lab.listing_text().expect("table");

    // A batch whose last command fails (a goto to a chain that does not
    // exist) after a flush and an add that would have succeeded.
    let vs_chain = nft::service_chain(state.services.keys().next().expect("service"));
    let bad = serde_json::json!({"nftables": [
        {"flush": {"chain": {"family": "inet", "table": "kalive", "name": vs_chain}}},
        {"add": {"chain": {"family": "inet", "table": "kalive", "name": "half_done"}}},
        {"add": {"rule": {"family": "inet", "table": "kalive", "chain": vs_chain,
            "expr": [{"goto": {"target": "does_not_exist"}}]}}}
    ]});
    let result = in_netns(&lab.director, || Nft::new().apply(&bad.to_string())).expect("netns");
    assert!(result.is_err(), "the bad batch must be refused");
    let after = lab.listing_text().expect("table");
    assert_eq!(before, after, "a refused batch must change nothing");
    assert_eq!(
        lab.tcp(VIP4, 80, 3)
            .iter()
            .filter(|a| a.starts_with('r'))
            .count(),
        3
    );

    // A service without servers refuses (IPVS sends ICMP port
    // unreachable) rather than falling through to the director's own
    // service.
    let mut empty = state.clone();
    for s in empty.services.values_mut() {
        s.dests.clear();
    }
    assert!(lab.sync(&empty));
    let started = Instant::now();
    assert_eq!(lab.tcp(VIP4, 80, 2), vec!["refused", "refused"]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused, not timed out"
    );

    // Stop: the table goes, and with it the forwarding.
    let removed = in_netns(&lab.director, || {
        Nft::new().delete_table(nft::FAMILY, nft::TABLE)
    })
    .expect("netns")
    .expect("delete");
    assert!(removed);
    assert!(lab.listing_text().is_none());
    assert_eq!(lab.tcp(VIP4, 80, 2), vec!["director", "director"]);
}

fn server_key(i: usize) -> RsKey {
    RsKey {
        addr: format!("10.1.{i}.2").parse().expect("addr"),
        port: Some(RS_PORT),
    }
}

#[test]
fn fwmark_and_group_members() {
    let lab = Lab::new();
    let d = lab.director.clone();
    // The user's own marking rule, as a keepalived fwmark setup has one.
    for cmd in [
        "add table inet usermark",
        "add chain inet usermark pre { type filter hook prerouting priority mangle; }",
        "add rule inet usermark pre ip daddr 10.0.0.1 tcp dport 8000 meta mark set 7",
    ] {
        let mut args = vec!["ip", "netns", "exec", &d, "nft"];
        args.extend(cmd.split(' '));
        sh(&args);
    }
    sh(&["ip", "-n", &d, "addr", "add", "10.0.0.3/24", "dev", "vc"]);

    let mut marked = service(VIP4, 0, Protocol::Tcp, Scheduler::Rr, &[1, 1, 1]);
    marked.key = VsKey::Fwmark {
        mark: 7,
        family: Family::V4,
    };
    marked.members = vec![Member::Fwmark(7)];
    marked.protocol = None;

    let mut group = service(VIP4, 0, Protocol::Tcp, Scheduler::Rr, &[1, 1, 1]);
    group.key = VsKey::Group {
        name: "front".into(),
        protocol: Some(Protocol::Tcp),
        family: Family::V4,
    };
    group.members = vec![
        Member::Addresses {
            first: "10.0.0.1".parse().expect("addr"),
            last: "10.0.0.3".parse().expect("addr"),
            port: Some(81),
        },
        Member::Addresses {
            first: "10.0.0.1".parse().expect("addr"),
            last: "10.0.0.1".parse().expect("addr"),
            port: None,
        },
    ];
    let state = engine(vec![marked, group]).desired();
    assert!(lab.sync(&state));
    assert!(!lab.sync(&state));

    let answers = lab.tcp(VIP4, 8000, 6);
    for round in answers.chunks(3) {
        for name in ["r0", "r1", "r2"] {
            assert_eq!(count(round, name), 1, "fwmark rr round {round:?}");
        }
    }
    // The range, and the port-less member, share one scheduler.
    let mut answers = lab.tcp("10.0.0.3", 81, 2);
    answers.extend(lab.tcp(VIP4, 4444, 1));
    for name in ["r0", "r1", "r2"] {
        assert_eq!(count(&answers, name), 1, "group rr {answers:?}");
    }
}

#[test]
fn sorry_server_takes_over_when_quorum_is_lost() {
    let lab = Lab::new();
    let mut cfg = service(VIP4, 80, Protocol::Tcp, Scheduler::Rr, &[1, 1]);
    cfg.quorum = 2;
    for rs in &mut cfg.real_servers {
        rs.inhibit_on_failure = false;
    }
    cfg.sorry_server = Some(kalive_lb::SorryServerConfig {
        key: server_key(2),
        method: Method::Nat,
        inhibit: false,
        weight: 1,
    });
    let vs = cfg.key.clone();
    let mut lb = engine(vec![cfg]);
    assert!(lab.sync(&lb.desired()));
    let answers = lab.tcp(VIP4, 80, 4);
    assert_eq!(
        (count(&answers, "r0"), count(&answers, "r1")),
        (2, 2),
        "{answers:?}"
    );

    let events = lb.set_alive(&vs, &server_key(0), false).expect("known");
    assert!(events
        .iter()
        .any(|e| matches!(e, kalive_lb::LbEvent::Quorum { up: false, .. })));
    assert!(lab.sync(&lb.desired()));
    let answers = lab.tcp(VIP4, 80, 4);
    assert_eq!(count(&answers, "r2"), 4, "sorry server only: {answers:?}");

    lb.set_alive(&vs, &server_key(0), true).expect("known");
    assert!(lab.sync(&lb.desired()));
    let answers = lab.tcp(VIP4, 80, 4);
    assert_eq!(
        (count(&answers, "r0"), count(&answers, "r1")),
        (2, 2),
        "{answers:?}"
    );
}

#[test]
fn persistence_survives_a_weight_change_of_another_server() {
    let lab = Lab::new();
    let mut cfg = service(VIP4, 80, Protocol::Tcp, Scheduler::Wrr, &[1, 1, 1]);
    cfg.persistence = Some(Persistence {
        timeout: Duration::from_secs(60),
        prefix_len: None,
    });
    let vs = cfg.key.clone();
    let mut lb = engine(vec![cfg]);
    assert!(lab.sync(&lb.desired()));
    let first = lab.tcp(VIP4, 80, 1).remove(0);
    let mine: usize = first
        .trim_start_matches('r')
        .parse()
        .expect("a server answered");
    let other = (mine + 1) % SERVERS;
    lb.set_weight(&vs, &server_key(other), 3).expect("known");
    assert!(lab.sync(&lb.desired()), "the weight change is a batch");
    let answers = lab.tcp(VIP4, 80, 6);
    assert!(
        answers.iter().all(|a| *a == first),
        "kept on {first}: {answers:?}"
    );
}
