//! kalive's IPVS table against keepalived's, in a guest running Debian's
//! kernel (this host's kernel has no IPVS; reference/ipvs-vm.md).
//!
//! In the guest: load ip_vs and the schedulers, program a table of every
//! kind of service (TCP/UDP/SCTP, IPv4/IPv6, fwmark, port 0, persistence
//! with granularity and engine, scheduler flags, one-packet scheduling) and
//! destination (NAT/DR, TUN ipip/gue/gre with checksum flags, weights,
//! thresholds) through kalive-sys from kalive-lb's messages
//! (`kalive-lab ipvs-apply`, which also reads the table back and checks
//! that nothing is left to do), save it with `ipvsadm -S -n`; then clear
//! the table and let keepalived's checker process (`keepalived -C`) build
//! the same configuration, and save again. The test requires kalive's table
//! to be exactly the expected one, and keepalived's to be the same; every
//! difference is listed.
//!
//! Needs root and: qemu-system-x86 linux-image-amd64 busybox-static cpio
//! xz-utils ipvsadm keepalived.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use kalive_lab::guest::{self, GuestSpec};
use kalive_lb::{
    Dest, Family, LbState, Member, Method, Persistence, Protocol, RsKey, Scheduler, SchedulerFlags,
    Service, ServiceSpec, Tunnel, TunnelChecksum, TunnelKind, VsKey,
};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn rs(addr: &str, port: Option<u16>) -> RsKey {
    RsKey {
        addr: ip(addr),
        port,
    }
}

fn dest(weight: u32, method: Method) -> Dest {
    Dest {
        weight,
        method,
        upper_threshold: 0,
        lower_threshold: 0,
    }
}

fn tun(kind: TunnelKind, checksum: TunnelChecksum) -> Method {
    Method::Tun(Tunnel { kind, checksum })
}

fn ip_service(
    addr: &str,
    port: Option<u16>,
    protocol: Protocol,
    scheduler: Scheduler,
) -> (VsKey, ServiceSpec) {
    let a = ip(addr);
    (
        VsKey::Ip {
            addr: a,
            port,
            protocol,
        },
        ServiceSpec {
            members: vec![Member::Addresses {
                first: a,
                last: a,
                port,
            }],
            family: Family::of(&a),
            protocol: Some(protocol),
            scheduler,
            flags: SchedulerFlags::default(),
            persistence: None,
            persistence_engine: None,
        },
    )
}

fn fwmark_service(mark: u32, family: Family, scheduler: Scheduler) -> (VsKey, ServiceSpec) {
    (
        VsKey::Fwmark { mark, family },
        ServiceSpec {
            members: vec![Member::Fwmark(mark)],
            family,
            protocol: None,
            scheduler,
            flags: SchedulerFlags::default(),
            persistence: None,
            persistence_engine: None,
        },
    )
}

fn persistence(secs: u64, prefix_len: Option<u8>) -> Option<Persistence> {
    Some(Persistence {
        timeout: Duration::from_secs(secs),
        prefix_len,
    })
}

/// The desired state kalive programs (what the LB engine would produce
/// from [`KEEPALIVED_CONF`]).
fn desired() -> LbState {
    let mut services = BTreeMap::new();
    let mut add = |(vs, spec): (VsKey, ServiceSpec), dests: Vec<(RsKey, Dest)>| {
        services.insert(
            vs,
            Service {
                spec,
                dests: dests.into_iter().collect(),
            },
        );
    };

    add(
        ip_service("10.0.0.1", Some(80), Protocol::Tcp, Scheduler::Rr),
        vec![
            (rs("10.1.0.1", Some(80)), dest(1, Method::Nat)),
            (
                rs("10.1.0.2", Some(8080)),
                Dest {
                    upper_threshold: 100,
                    lower_threshold: 10,
                    ..dest(3, Method::Nat)
                },
            ),
        ],
    );

    let (vs, mut spec) = ip_service("10.0.0.2", Some(53), Protocol::Udp, Scheduler::Sh);
    spec.flags = SchedulerFlags {
        hash_port: true,
        fallback: true,
        one_packet: false,
    };
    spec.persistence = persistence(300, Some(24));
    add(
        (vs, spec),
        vec![(rs("10.1.0.3", Some(53)), dest(2, Method::Dr))],
    );

    add(
        ip_service("2001:db8::1", Some(443), Protocol::Sctp, Scheduler::Wlc),
        vec![(rs("2001:db8::10", Some(443)), dest(5, Method::Dr))],
    );

    add(
        fwmark_service(7, Family::V4, Scheduler::Wrr),
        vec![
            (
                rs("10.1.0.4", None),
                dest(1, tun(TunnelKind::Ipip, TunnelChecksum::None)),
            ),
            (
                rs("10.1.0.5", None),
                dest(
                    2,
                    tun(TunnelKind::Gue { port: 6080 }, TunnelChecksum::Checksum),
                ),
            ),
            (
                rs("10.1.0.6", None),
                dest(1, tun(TunnelKind::Gre, TunnelChecksum::Checksum)),
            ),
        ],
    );

    let (vs, mut spec) = ip_service("10.0.0.3", None, Protocol::Tcp, Scheduler::Lc);
    spec.persistence = persistence(600, None);
    add(
        (vs, spec),
        vec![(rs("10.1.0.7", None), dest(1, Method::Nat))],
    );

    let (vs, mut spec) = ip_service("10.0.0.4", Some(5060), Protocol::Udp, Scheduler::Mh);
    spec.flags = SchedulerFlags {
        hash_port: true,
        fallback: true,
        one_packet: true,
    };
    spec.persistence = persistence(60, None);
    spec.persistence_engine = Some("sip".into());
    add(
        (vs, spec),
        vec![(rs("10.1.0.8", Some(5060)), dest(1, Method::Nat))],
    );

    add(
        fwmark_service(9, Family::V6, Scheduler::Sed),
        vec![(rs("2001:db8::20", None), dest(4, Method::Dr))],
    );

    LbState { services }
}

/// [`desired`] after a reload: service fwmark 9 and server 10.1.0.8 gone,
/// 10.1.0.1 weighted down to 0, 10.0.0.1:80 scheduled by wrr.
fn desired_after_reload() -> LbState {
    let mut state = desired();
    state.services.remove(&VsKey::Fwmark {
        mark: 9,
        family: Family::V6,
    });
    for (vs, service) in state.services.iter_mut() {
        if let VsKey::Ip { addr, .. } = vs {
            if *addr == ip("10.0.0.1") {
                service.spec.scheduler = Scheduler::Wrr;
                if let Some(d) = service.dests.get_mut(&rs("10.1.0.1", Some(80))) {
                    d.weight = 0;
                }
            }
        }
        service.dests.remove(&rs("10.1.0.8", Some(5060)));
    }
    state
}

/// [`EXPECTED`] (plus the foreign service) edited as [`desired_after_reload`].
fn expected_after_reload(expected: &[String]) -> Vec<String> {
    let mut out: Vec<String> = expected
        .iter()
        .filter(|l| !l.contains("-f 9 ") && !l.contains("10.1.0.8"))
        .map(|l| match l.as_str() {
            "-A -t 10.0.0.1:80 -s rr" => "-A -t 10.0.0.1:80 -s wrr".to_string(),
            "-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 1" => {
                "-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 0".to_string()
            }
            other => other.to_string(),
        })
        .collect();
    out.sort();
    out
}

/// The same services as keepalived configuration (no checkers: every real
/// server is up from the start).
const KEEPALIVED_CONF: &str = r#"
global_defs {
    router_id guest
}
virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.1 80 {
        weight 1
    }
    real_server 10.1.0.2 8080 {
        weight 3
        uthreshold 100
        lthreshold 10
    }
}
virtual_server 10.0.0.2 53 {
    lb_algo sh
    sh-port
    sh-fallback
    lb_kind DR
    protocol UDP
    persistence_timeout 300
    persistence_granularity 255.255.255.0
    real_server 10.1.0.3 53 {
        weight 2
    }
}
virtual_server 2001:db8::1 443 {
    lb_algo wlc
    lb_kind DR
    protocol SCTP
    real_server 2001:db8::10 443 {
        weight 5
    }
}
virtual_server fwmark 7 {
    lb_algo wrr
    lb_kind TUN
    real_server 10.1.0.4 {
        weight 1
    }
    real_server 10.1.0.5 {
        weight 2
        lvs_method TUN type gue port 6080 csum
    }
    real_server 10.1.0.6 {
        weight 1
        lvs_method TUN type gre csum
    }
}
virtual_server 10.0.0.3 0 {
    lb_algo lc
    lb_kind NAT
    protocol TCP
    persistence_timeout 600
    real_server 10.1.0.7 {
        weight 1
    }
}
virtual_server 10.0.0.4 5060 {
    lb_algo mh
    mh-port
    mh-fallback
    ops
    lb_kind NAT
    protocol UDP
    persistence_timeout 60
    persistence_engine sip
    real_server 10.1.0.8 5060 {
        weight 1
    }
}
virtual_server fwmark 9 {
    ip_family inet6
    lb_algo sed
    lb_kind DR
    real_server 2001:db8::20 {
        weight 4
    }
}
"#;

/// `ipvsadm -S -n` of [`desired`], written by hand from ipvsadm's save
/// format (`-A` service lines, `-a` server lines; -m/-g/-i for NAT, DR,
/// TUN; `-p` persistence, `-M` a non-default mask, `--pe` the persistence
/// engine, `-o` one-packet, `-b` scheduler flags). ipvsadm 1.31 does not
/// save thresholds: those are compared through `ipvsadm -L -n
/// --thresholds` ([`EXPECTED_THRESHOLDS`]).
const EXPECTED: &str = "\
-A -f 7 -s wrr
-A -f 9 -6 -s sed
-A -t 10.0.0.1:80 -s rr
-A -t 10.0.0.3:0 -s lc -p 600
-A -u 10.0.0.2:53 -s sh -p 300 -M 255.255.255.0 -b sh-fallback,sh-port
-A -u 10.0.0.4:5060 -s mh -p 60 --pe sip -o -b mh-fallback,mh-port
-A --sctp-service [2001:db8::1]:443 -s wlc
-a -f 7 -r 10.1.0.4:0 -i -w 1 --tun-type ipip
-a -f 7 -r 10.1.0.5:0 -i -w 2 --tun-type gue --tun-port 6080 --tun-csum
-a -f 7 -r 10.1.0.6:0 -i -w 1 --tun-type gre --tun-csum
-a -f 9 -6 -r [2001:db8::20]:0 -g -w 4
-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 1
-a -t 10.0.0.1:80 -r 10.1.0.2:8080 -m -w 3
-a -t 10.0.0.3:0 -r 10.1.0.7:0 -m -w 1
-a -u 10.0.0.2:53 -r 10.1.0.3:53 -g -w 2
-a -u 10.0.0.4:5060 -r 10.1.0.8:5060 -m -w 1
-a --sctp-service [2001:db8::1]:443 -r [2001:db8::10]:443 -g -w 5
";

/// The line of `ipvsadm -L -n --thresholds` for the one server with
/// thresholds (columns: address, upper, lower, active and inactive
/// connections).
const EXPECTED_THRESHOLDS: &str = "-> 10.1.0.2:8080 100 10 0 0";

const GUEST_SCRIPT: &str = r#"
set -u
fail() { echo "GUEST-FAIL: $*"; exit 1; }
for m in ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sh ip_vs_mh ip_vs_sed ip_vs_pe_sip; do
    modprobe $m || fail "modprobe $m"
done
# Another tool's service: kalive must leave it alone.
ipvsadm -A -t 192.0.2.1:25 -s rr || fail "foreign service"
"$KALIVE_LAB" ipvs-apply --state state.json || fail "kalive-lab ipvs-apply"
ipvsadm -S -n > kalive.txt || fail "ipvsadm -S -n (kalive)"
ipvsadm -L -n --thresholds > kalive-thresholds.txt || fail "ipvsadm -L --thresholds (kalive)"
# A reload: state2 drops a service and a server, edits a weight and a
# scheduler; kalive owned state.json's services.
"$KALIVE_LAB" ipvs-apply --state state2.json --owned-from state.json || fail "ipvs-apply state2"
ipvsadm -S -n > kalive2.txt || fail "ipvsadm -S -n (kalive, state2)"
"$KALIVE_LAB" ipvs-timeouts --tcp 900 --tcpfin 120 --udp 300 || fail "ipvs-timeouts"
ipvsadm -L --timeout > timeouts.txt
ip link add kd0 type dummy && ip link set kd0 multicast on up || fail "dummy interface"
"$KALIVE_LAB" ipvs-sync-daemon --role master --interface kd0 --sync-id 51 || fail "sync daemon start"
ipvsadm -L --daemon > daemon.txt
"$KALIVE_LAB" ipvs-sync-daemon --role backup --interface kd0 --sync-id 52 || fail "backup sync daemon start"
ipvsadm -L --daemon > daemon-both.txt
"$KALIVE_LAB" ipvs-sync-daemon --role master --stop || fail "sync daemon stop"
"$KALIVE_LAB" ipvs-sync-daemon --role backup --stop || fail "backup sync daemon stop"
ipvsadm -L --daemon > daemon-stopped.txt
ipvsadm -C
keepalived -C -n -l -D -f "$PWD/keepalived.conf" -p /run/kd.pid -c /run/kd-checkers.pid \
    > keepalived.log 2>&1 &
# keepalived adds everything at start; wait (bounded) until two reads a
# second apart agree and hold all expected lines.
want=$(wc -l < expected-count)
prev=""
i=0
while [ $i -lt 60 ]; do
    now=$(ipvsadm -S -n 2>/dev/null)
    n=$(printf '%s\n' "$now" | grep -c . || true)
    if [ "$n" -ge "$want" ] && [ "$now" = "$prev" ]; then break; fi
    prev="$now"
    i=$((i + 1))
    sleep 0.5
done
ipvsadm -S -n > keepalived.txt || fail "ipvsadm -S -n (keepalived)"
ipvsadm -L -n --thresholds > keepalived-thresholds.txt || fail "ipvsadm -L --thresholds (keepalived)"
kill "$(cat /run/kd.pid)" 2>/dev/null
j=0
while [ -e /run/kd.pid ] && [ $j -lt 50 ]; do sleep 0.1; j=$((j + 1)); done
echo "GUEST-DONE"
"#;

fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    lines.sort();
    lines
}

/// Every line in one listing and not the other, labelled.
fn differences(
    left_name: &str,
    left: &[String],
    right_name: &str,
    right: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    for l in left {
        if !right.contains(l) {
            out.push(format!("only in {left_name}: {l}"));
        }
    }
    for r in right {
        if !left.contains(r) {
            out.push(format!("only in {right_name}: {r}"));
        }
    }
    out
}

/// The shared output folder, removed on every exit path (set
/// `KALIVE_LAB_KEEP_LOGS=1` to keep it for a look).
struct OutDir(PathBuf);

impl Drop for OutDir {
    fn drop(&mut self) {
        if std::env::var_os("KALIVE_LAB_KEEP_LOGS").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn kalive_programs_the_same_ipvs_table_as_keepalived() {
    let out = PathBuf::from(format!("/tmp/kalive-guest-ipvs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let _cleanup = OutDir(out.clone());
    std::fs::create_dir_all(&out).expect("create output folder");
    std::fs::write(
        out.join("state.json"),
        kalive_lab::ipvs_table::state_to_json(&desired()),
    )
    .expect("write state");
    std::fs::write(
        out.join("state2.json"),
        kalive_lab::ipvs_table::state_to_json(&desired_after_reload()),
    )
    .expect("write state2");
    std::fs::write(out.join("keepalived.conf"), KEEPALIVED_CONF).expect("write config");
    std::fs::write(out.join("expected-count"), EXPECTED).expect("write count");
    let lab = env!("CARGO_BIN_EXE_kalive-lab");
    let script = format!("export KALIVE_LAB={lab}\n{GUEST_SCRIPT}");

    assert_eq!(
        kalive_lab::ipvs_table::state_from_json(&kalive_lab::ipvs_table::state_to_json(&desired()))
            .expect("parses"),
        desired()
    );
    let started = Instant::now();
    let run = guest::run(&GuestSpec {
        timeout: Duration::from_secs(240),
        memory_mib: 512,
        ..GuestSpec::new(script, &out)
    })
    .unwrap_or_else(|e| panic!("guest run failed: {e}"));
    eprintln!(
        "guest: kernel {}, boot to script {:.1} s, whole run {:.1} s (test {:.1} s)",
        run.kernel_version,
        run.boot_time.as_secs_f64(),
        run.total_time.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap_or_default();
    assert_eq!(
        run.exit_code,
        0,
        "guest script failed; console:\n{}\nkeepalived log:\n{}",
        run.console,
        read("keepalived.log")
    );
    assert!(
        run.console.contains("nothing left to do"),
        "{}",
        run.console
    );

    // kalive owns what it programmed; the foreign service stays through
    // both applies.
    let foreign = "-A -t 192.0.2.1:25 -s rr".to_string();
    let mut expected = sorted_lines(EXPECTED);
    expected.push(foreign.clone());
    expected.sort();
    let expected2 = expected_after_reload(&expected);
    let mut kalive = sorted_lines(&read("kalive.txt"));
    let kalive2 = sorted_lines(&read("kalive2.txt"));
    let mut reload_differences = differences("kalive", &kalive2, "expected", &expected2);
    let timeouts = read("timeouts.txt");
    if !timeouts.contains("Timeout (tcp tcpfin udp): 900 120 300") {
        reload_differences.push(format!("timeouts not set: {timeouts:?}"));
    }
    let daemon = read("daemon.txt");
    if !daemon.contains("master sync daemon (mcast=kd0, syncid=51") {
        reload_differences.push(format!("sync daemon not started: {daemon:?}"));
    }
    let both = read("daemon-both.txt");
    if !both.contains("backup sync daemon (mcast=kd0, syncid=52") {
        reload_differences.push(format!("backup sync daemon not started: {both:?}"));
    }
    let stopped = read("daemon-stopped.txt");
    if !stopped.trim().is_empty() {
        reload_differences.push(format!("sync daemon not stopped: {stopped:?}"));
    }
    assert!(
        reload_differences.is_empty(),
        "reload / timeouts / sync daemon:\n{}",
        reload_differences.join("\n")
    );
    let keepalived = sorted_lines(&read("keepalived.txt"));
    let mut kalive_vs_expected = differences("kalive", &kalive, "expected", &expected);
    // keepalived ran on a cleared table.
    kalive.retain(|l| *l != foreign);
    let mut kalive_vs_keepalived = differences("kalive", &kalive, "keepalived", &keepalived);
    let squeeze = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut kalive_thresholds: Vec<String> = sorted_lines(&read("kalive-thresholds.txt"))
        .iter()
        .map(|l| squeeze(l))
        .collect();
    kalive_thresholds.retain(|l| l != "TCP 192.0.2.1:25 rr");
    let keepalived_thresholds: Vec<String> = sorted_lines(&read("keepalived-thresholds.txt"))
        .iter()
        .map(|l| squeeze(l))
        .collect();
    if !kalive_thresholds.iter().any(|l| l == EXPECTED_THRESHOLDS) {
        kalive_vs_expected.push(format!(
            "no `{EXPECTED_THRESHOLDS}` in kalive's --thresholds listing: {kalive_thresholds:?}"
        ));
    }
    kalive_vs_keepalived.extend(differences(
        "kalive --thresholds",
        &kalive_thresholds,
        "keepalived --thresholds",
        &keepalived_thresholds,
    ));
    assert!(
        kalive_vs_expected.is_empty(),
        "kalive's table is not the expected one:\n{}",
        kalive_vs_expected.join("\n")
    );
    assert!(
        kalive_vs_keepalived.is_empty(),
        "kalive's and keepalived's tables differ:\n{}",
        kalive_vs_keepalived.join("\n")
    );
}
