//! Reload without a flap and switchover on command (issue 9), checked as an
//! operator would: a client pings the VIPs every 20 ms while configs are
//! edited and reloaded or `kalive ctl` is used; `ip monitor address` on the
//! routers shows that a VIP that stays is never removed; notify scripts show
//! that no instance stopped. keepalived is the peer where named.
//!
//! Needs root, iproute2, ping and keepalived; fails loudly without them.

mod common;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::implementation;
use kalive_lab::traffic::{removed, AddressWatch, Pinger};
use kalive_lab::{wait_for, Implementation, Lab, LabSpec};
use nix::sys::signal::Signal;

const PING_EVERY: Duration = Duration::from_millis(20);

fn lab(routers: usize, second_lan: bool) -> Lab {
    Lab::new(LabSpec {
        routers,
        second_lan,
        ..LabSpec::default()
    })
    .unwrap_or_else(|e| panic!("cannot build the lab: {e}"))
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("address")
}

/// `kalive ctl ARGS` in router `index`'s namespace (its default socket).
fn ctl(lab: &Lab, index: usize, args: &[&str]) -> (i32, String, String) {
    let bin = implementation("kalive");
    let ns = lab.router(index).expect("router").ns.clone();
    let out = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(bin.binary())
        .arg("ctl")
        .args(args)
        .output()
        .expect("run kalive ctl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn status_json(lab: &Lab, index: usize) -> serde_json::Value {
    let (code, out, err) = ctl(lab, index, &["status", "--json"]);
    assert_eq!(code, 0, "ctl status failed: {err}\n{}", lab.all_logs());
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("status is not JSON ({e}): {out}"))
}

fn instance_field(status: &serde_json::Value, name: &str, field: &str) -> serde_json::Value {
    status["instances"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["name"] == name))
        .map(|i| i[field].clone())
        .unwrap_or(serde_json::Value::Null)
}

/// Edit router `index`'s config file as an operator would, then SIGHUP.
fn edit_and_reload(lab: &Lab, index: usize, edit: impl FnOnce(String) -> String) {
    let path = lab.daemon_config(index).expect("config").to_path_buf();
    let text = std::fs::read_to_string(&path).expect("read config");
    std::fs::write(&path, edit(text)).expect("write config");
    lab.signal_daemon(index, Signal::SIGHUP).expect("SIGHUP");
}

fn holds(lab: &Lab, index: usize, addr: IpAddr) -> bool {
    lab.addresses(index)
        .map(|a| a.iter().any(|x| x.addr == addr))
        .unwrap_or(false)
}

fn wait_until(lab: &Lab, what: &str, limit: Duration, mut cond: impl FnMut(&Lab) -> bool) {
    let result = wait_for(what, limit, Duration::from_millis(20), || {
        Ok(cond(lab).then_some(()))
    });
    if let Err(e) = result {
        panic!("{e}\n{}", lab.all_logs());
    }
}

/// A notify script that appends its arguments to `out`.
fn notify_script(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let out = dir.join(format!("{name}.notify"));
    let script = dir.join(format!("{name}-notify.sh"));
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", out.display()),
    )
    .expect("write script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    (script, out)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The user's guide's two-node config: PASS auth, two VIPs on two
/// interfaces, a virtual route, a sync group with a weighted track script,
/// notify scripts, and lines keepalived only warns about (a script without
/// script security, the own interface tracked, an unknown keyword).
fn guide_config(router_id: &str, priority: u8, notify: &Path, check: &Path) -> String {
    format!(
        "global_defs {{
    router_id {router_id}
}}
vrrp_script chk_ok {{
    script \"{check}\"
    interval 1
    weight -20
}}
vrrp_sync_group VG_1 {{
    group {{
        VI_1
        VI_2
    }}
    notify \"{notify}\"
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    authentication {{
        auth_type PASS
        auth_pass 12345678
    }}
    track_interface {{
        eth0
    }}
    track_script {{
        chk_ok
    }}
    virtual_ipaddress {{
        10.0.0.254/24 dev eth0
    }}
    virtual_routes {{
        10.9.0.0/24 via 10.0.0.100 dev eth0
    }}
    notify \"{notify}\"
    no_such_keyword_here
}}
vrrp_instance VI_2 {{
    state BACKUP
    interface eth1
    virtual_router_id 52
    priority {priority}
    advert_int 1
    authentication {{
        auth_type PASS
        auth_pass 12345678
    }}
    virtual_ipaddress {{
        10.0.1.254/24 dev eth1
    }}
    notify \"{notify}\"
}}
",
        notify = notify.display(),
        check = check.display(),
    )
}

#[test]
fn guides_switchover_by_priority_and_reload_loses_no_ping() {
    let kalive = implementation("kalive");
    let mut lab = lab(2, true);
    let dir = lab.dir().to_path_buf();
    let check = dir.join("check-ok.sh");
    std::fs::write(&check, "#!/bin/sh\nexit 0\n").expect("write");
    std::fs::set_permissions(&check, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let (n1, out1) = notify_script(&dir, "r1");
    let (n2, out2) = notify_script(&dir, "r2");
    lab.start_daemon(0, &kalive, &guide_config("r1", 150, &n1, &check))
        .expect("start r1");
    wait_until(&lab, "r1 master", Duration::from_secs(15), |l| {
        holds(l, 0, ip("10.0.0.254")) && holds(l, 0, ip("10.0.1.254"))
    });
    lab.start_daemon(1, &kalive, &guide_config("r2", 100, &n2, &check))
        .expect("start r2");
    // r2 settles as backup.
    wait_until(&lab, "r2 backup", Duration::from_secs(10), |_| {
        read(&out2).contains("INSTANCE VI_1 BACKUP")
    });
    let client = lab.client().expect("client").ns.clone();
    // The client sits on eth0's LAN; the eth1 VIP moves with it (sync
    // group), which the address checks below see.
    let ping = Pinger::start(&client, ip("10.0.0.254"), PING_EVERY).expect("ping");
    std::thread::sleep(Duration::from_millis(500));

    // The guide: raise the backup's priority above the master's, reload.
    edit_and_reload(&lab, 1, |t| t.replace("priority 100", "priority 200"));
    wait_until(&lab, "r2 takes both VIPs", Duration::from_secs(10), |l| {
        holds(l, 1, ip("10.0.0.254"))
            && holds(l, 1, ip("10.0.1.254"))
            && !holds(l, 0, ip("10.0.0.254"))
            && !holds(l, 0, ip("10.0.1.254"))
    });
    std::thread::sleep(Duration::from_secs(1));
    // And back: lower it again below the master's (r1 preempts).
    edit_and_reload(&lab, 1, |t| t.replace("priority 200", "priority 100"));
    wait_until(
        &lab,
        "r1 takes both VIPs back",
        Duration::from_secs(10),
        |l| {
            holds(l, 0, ip("10.0.0.254"))
                && holds(l, 0, ip("10.0.1.254"))
                && !holds(l, 1, ip("10.0.0.254"))
        },
    );
    std::thread::sleep(Duration::from_millis(500));
    let count = ping.stop().expect("ping summary");
    let log2 = lab.daemon_log(1);
    assert!(
        !log2.contains("Reload failed"),
        "a config keepalived only warns about was refused:\n{log2}"
    );
    assert!(
        log2.contains("Reload finished"),
        "no reload happened:\n{log2}"
    );
    assert!(count.sent > 50, "too few pings sent ({count:?})");
    assert_eq!(count.lost(), 0, "pings lost {count:?}\n{}", lab.all_logs());
    for out in [&out1, &out2] {
        assert!(
            !read(out).contains("STOP"),
            "an instance stopped during a reload:\n{}",
            read(out)
        );
    }
    assert!(
        read(&out2).contains("INSTANCE VI_1 MASTER"),
        "{}",
        read(&out2)
    );
    lab.shutdown().expect("shutdown");
}

/// A reload step: what it is, the edit, and when it is done.
type Step = (
    &'static str,
    Box<dyn Fn(String) -> String>,
    Box<dyn Fn(&Lab) -> bool>,
);

/// One instance on eth0 with VIPs A and B and a route, alone on the LAN.
fn single_config(notify: &Path) -> String {
    format!(
        "global_defs {{
    router_id r1
}}
static_ipaddress {{
    10.0.0.200/24 dev eth0
}}
vrrp_script chk_a {{
    script \"/bin/true\"
    interval 1
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 0.1
    version 3
    virtual_ipaddress {{
        10.0.0.250/24
        10.0.0.251/24
    }}
    virtual_routes {{
        10.8.0.0/24 via 10.0.0.100
    }}
    track_script {{
        chk_a
    }}
    notify \"{notify}\"
}}
",
        notify = notify.display()
    )
}

#[test]
fn reloads_change_only_what_changed() {
    let kalive = implementation("kalive");
    let mut lab = lab(1, false);
    let dir = lab.dir().to_path_buf();
    let (notify, out) = notify_script(&dir, "r1");
    lab.start_daemon(0, &kalive, &single_config(&notify))
        .expect("start");
    let a = ip("10.0.0.250");
    wait_until(&lab, "master with VIP A", Duration::from_secs(10), |l| {
        holds(l, 0, a)
    });
    let ns = lab.router(0).expect("router").ns.clone();
    let watch = AddressWatch::start(&ns).expect("ip monitor");
    let client = lab.client().expect("client").ns.clone();
    let ping = Pinger::start(&client, a, PING_EVERY).expect("ping");
    let routes = |l: &Lab| l.routes(0).unwrap_or_default().join("\n");
    let steps: Vec<Step> = vec![
        (
            "add VIP C",
            Box::new(|t| t.replace("10.0.0.251/24\n", "10.0.0.251/24\n        10.0.0.252/24\n")),
            Box::new(|l| holds(l, 0, ip("10.0.0.252"))),
        ),
        (
            "remove VIP B",
            Box::new(|t| t.replace("        10.0.0.251/24\n", "")),
            Box::new(|l| !holds(l, 0, ip("10.0.0.251")) && holds(l, 0, ip("10.0.0.252"))),
        ),
        (
            "change a route",
            Box::new(|t| t.replace("10.8.0.0/24", "10.7.0.0/24")),
            Box::new(move |l| {
                let r = routes(l);
                r.contains("10.7.0.0/24") && !r.contains("10.8.0.0/24")
            }),
        ),
        (
            "add an instance",
            Box::new(|t| {
                t + "vrrp_instance VI_2 {\n    interface eth0\n    virtual_router_id 52\n    priority 100\n    advert_int 0.1\n    version 3\n    virtual_ipaddress {\n        10.0.0.240/24\n    }\n}\n"
            }),
            Box::new(|l| holds(l, 0, ip("10.0.0.240"))),
        ),
        (
            "rename an instance",
            Box::new(|t| t.replace("vrrp_instance VI_2 {", "vrrp_instance VI_RENAMED {")),
            Box::new(|l| l.daemon_log(0).matches("Reload finished").count() >= 5),
        ),
        (
            "change a sync group",
            Box::new(|t| {
                t + "vrrp_sync_group VG_1 {\n    group {\n        VI_1\n        VI_RENAMED\n    }\n}\n"
            }),
            Box::new(|l| l.daemon_log(0).matches("Reload finished").count() >= 6),
        ),
        (
            "change a track script",
            Box::new(|t| t.replace("script \"/bin/true\"", "script \"/bin/echo ok\"")),
            Box::new(|l| l.daemon_log(0).matches("Reload finished").count() >= 7),
        ),
        (
            "change a static address",
            Box::new(|t| t.replace("10.0.0.200/24 dev eth0", "10.0.0.201/24 dev eth0")),
            Box::new(|l| holds(l, 0, ip("10.0.0.201")) && !holds(l, 0, ip("10.0.0.200"))),
        ),
        (
            "remove an instance",
            Box::new(|t| {
                let start = t.find("vrrp_instance VI_RENAMED").expect("VI_RENAMED");
                let end = start + t[start..].find("\n}\n").expect("end") + 3;
                let group = t.find("vrrp_sync_group VG_1").expect("group");
                let mut t = format!("{}{}", &t[..start], &t[end..]);
                if group > start {
                    t.truncate(t.find("vrrp_sync_group VG_1").expect("group"));
                }
                t
            }),
            Box::new(|l| !holds(l, 0, ip("10.0.0.240"))),
        ),
    ];
    let mut timings = Vec::new();
    for (what, edit, done) in &steps {
        let started = Instant::now();
        edit_and_reload(&lab, 0, edit);
        wait_until(&lab, what, Duration::from_secs(10), |l| done(l));
        timings.push((what.to_string(), started.elapsed()));
        std::thread::sleep(Duration::from_millis(300));
    }
    let count = ping.stop().expect("ping summary");
    let lines = watch.stop();
    eprintln!("reload steps: {timings:?}; pings {count:?}");
    let log = lab.daemon_log(0);
    assert!(!log.contains("Reload failed"), "{log}");
    assert!(
        !removed(&lines, a),
        "VIP A, in every config, was removed:\n{}",
        lines.join("\n")
    );
    assert!(holds(&lab, 0, a));
    assert_eq!(count.lost(), 0, "pings to VIP A lost: {count:?}\n{log}");
    let notified = read(&out);
    assert!(!notified.contains("STOP"), "VI_1 stopped:\n{notified}");
    assert_eq!(
        notified.matches("INSTANCE VI_1 MASTER").count(),
        1,
        "VI_1 went through an election again:\n{notified}"
    );
    lab.shutdown().expect("shutdown");
}

#[test]
fn refused_reload_keeps_the_old_config_and_says_why() {
    let kalive = implementation("kalive");
    let mut lab = lab(1, false);
    let dir = lab.dir().to_path_buf();
    // A wrapper so that the daemon gets a NOTIFY_SOCKET we read, as under
    // systemd.
    let notify_path = dir.join("sd.sock");
    let sd = std::os::unix::net::UnixDatagram::bind(&notify_path).expect("bind notify socket");
    sd.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let wrapper = dir.join("kalive-sd.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nNOTIFY_SOCKET={} exec {} \"$@\"\n",
            notify_path.display(),
            kalive.binary().display()
        ),
    )
    .expect("write wrapper");
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let wrapped = Implementation::kalive_at(&wrapper).expect("wrapper");
    let (notify, _) = notify_script(&dir, "r1");
    lab.start_daemon(0, &wrapped, &single_config(&notify))
        .expect("start");
    let a = ip("10.0.0.250");
    wait_until(&lab, "master", Duration::from_secs(10), |l| holds(l, 0, a));
    let drain = |sd: &std::os::unix::net::UnixDatagram| {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = sd.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        got
    };
    assert!(
        drain(&sd).iter().any(|m| m.starts_with("READY=1")),
        "no READY=1"
    );
    // A VRID used twice on eth0: keepalived will not run that.
    let path = lab.daemon_config(0).expect("config").to_path_buf();
    let good = read(&path);
    let bad = good.clone()
        + "vrrp_instance VI_DUP {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.249/24\n    }\n}\n";
    std::fs::write(&path, &bad).expect("write");
    let (code, out, err) = ctl(&lab, 0, &["reload"]);
    assert_eq!(code, 1, "refused reload must fail: {out}{err}");
    assert!(err.contains("reload refused"), "{err}");
    assert!(
        err.contains("both use VRID 51"),
        "the diagnostics are not in the answer: {err}"
    );
    let messages = drain(&sd);
    assert!(
        messages.iter().any(|m| m == "RELOADING=1"),
        "no RELOADING=1: {messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("READY=1") && m.contains("reload refused")),
        "systemd was not told: {messages:?}"
    );
    // SIGHUP too: refused, logged, the VIP stays, nothing of the bad
    // config applied.
    lab.signal_daemon(0, Signal::SIGHUP).expect("SIGHUP");
    wait_until(&lab, "refusal logged", Duration::from_secs(5), |l| {
        l.daemon_log(0).matches("Reload failed").count() >= 2
    });
    assert!(holds(&lab, 0, a));
    assert!(!holds(&lab, 0, ip("10.0.0.249")));
    // The good config again: accepted.
    std::fs::write(&path, &good).expect("write");
    let (code, out, err) = ctl(&lab, 0, &["reload"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("reloaded"), "{out}");
    lab.shutdown().expect("shutdown");
}

fn nopreempt_instance(priority: u8) -> String {
    format!(
        "global_defs {{
    router_id r{priority}
}}
vrrp_instance VI_42 {{
    state BACKUP
    nopreempt
    interface eth0
    virtual_router_id 42
    priority {priority}
    advert_int 0.1
    version 3
    virtual_ipaddress {{
        10.0.0.254/24
    }}
}}
"
    )
}

/// Router 0 runs `master_kind` and becomes master first; router 1 runs
/// kalive; both `nopreempt`. promote on router 1 takes over, demote hands
/// back within the skew, clear returns to the config.
fn promote_demote_clear(master_kind: &str) {
    let master_imp = implementation(master_kind);
    let kalive = implementation("kalive");
    let mut lab = lab(2, false);
    let vip = ip("10.0.0.254");
    lab.start_daemon(0, &master_imp, &nopreempt_instance(150))
        .expect("start r1");
    wait_until(&lab, "r1 master", Duration::from_secs(10), |l| {
        holds(l, 0, vip)
    });
    lab.start_daemon(1, &kalive, &nopreempt_instance(100))
        .expect("start r2");
    wait_until(&lab, "r2 backup", Duration::from_secs(10), |l| {
        l.daemon_log(1).contains("Entering BACKUP STATE")
    });
    let client = lab.client().expect("client").ns.clone();

    let ping = Pinger::start(&client, vip, PING_EVERY).expect("ping");
    std::thread::sleep(Duration::from_millis(300));
    let (code, out, err) = ctl(&lab, 1, &["promote", "VI_42"]);
    assert_eq!(code, 0, "promote: {out}{err}");
    wait_until(&lab, "r2 promoted", Duration::from_secs(5), |l| {
        holds(l, 1, vip) && !holds(l, 0, vip)
    });
    std::thread::sleep(Duration::from_millis(500));
    let count = ping.stop().expect("ping");
    assert!(
        count.lost() <= 1,
        "promote lost {count:?}\n{}",
        lab.all_logs()
    );
    let status = status_json(&lab, 1);
    assert_eq!(instance_field(&status, "VI_42", "state"), "MASTER");
    assert_eq!(instance_field(&status, "VI_42", "override_priority"), 254);

    // The override survives a reload.
    lab.signal_daemon(1, Signal::SIGHUP).expect("SIGHUP");
    wait_until(&lab, "reload done", Duration::from_secs(5), |l| {
        l.daemon_log(1).contains("Reload finished")
    });
    let status = status_json(&lab, 1);
    assert_eq!(instance_field(&status, "VI_42", "override_priority"), 254);
    assert_eq!(instance_field(&status, "VI_42", "state"), "MASTER");
    assert!(holds(&lab, 1, vip) && !holds(&lab, 0, vip));

    // demote: r1 (a backup with nopreempt) takes over at its skew after
    // our priority 0.
    let ping = Pinger::start(&client, vip, PING_EVERY).expect("ping");
    let started = Instant::now();
    let (code, out, err) = ctl(&lab, 1, &["demote", "VI_42"]);
    assert_eq!(code, 0, "demote: {out}{err}");
    wait_until(&lab, "r1 back", Duration::from_secs(5), |l| {
        holds(l, 0, vip) && !holds(l, 1, vip)
    });
    let took = started.elapsed();
    // skew of priority 150 at 0.1 s: (256-150)/256 * 0.1 s = 41 ms; the
    // polling and the ctl round trip add some.
    assert!(
        took < Duration::from_millis(600),
        "demote took {took:?}\n{}",
        lab.all_logs()
    );
    std::thread::sleep(Duration::from_millis(500));
    let count = ping.stop().expect("ping");
    // Between the priority-0 advert (the demoted master drops its VIP at
    // once, RFC 5798 §6.4.3) and the backup's takeover lies its skew
    // (41 ms): up to three 20 ms pings fall into it, with kalive and
    // keepalived alike.
    assert!(count.lost() <= 3, "demote lost {count:?}");
    let status = status_json(&lab, 1);
    assert_eq!(instance_field(&status, "VI_42", "state"), "BACKUP");

    // clear: back to the configured priority; nopreempt keeps r1 master.
    let (code, out, err) = ctl(&lab, 1, &["clear", "VI_42"]);
    assert_eq!(code, 0, "clear: {out}{err}");
    let status = status_json(&lab, 1);
    assert_eq!(
        instance_field(&status, "VI_42", "override_priority"),
        serde_json::Value::Null
    );
    assert_eq!(instance_field(&status, "VI_42", "effective_priority"), 100);
    std::thread::sleep(Duration::from_secs(1));
    assert!(holds(&lab, 0, vip) && !holds(&lab, 1, vip));
    // An unknown instance is an error, not a crash.
    let (code, _, err) = ctl(&lab, 1, &["promote", "NO_SUCH"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no vrrp_instance NO_SUCH"), "{err}");
    lab.shutdown().expect("shutdown");
}

#[test]
fn ctl_promote_demote_clear_with_a_keepalived_master() {
    promote_demote_clear("keepalived");
}

#[test]
fn ctl_promote_demote_clear_with_a_kalive_master() {
    promote_demote_clear("kalive");
}

#[test]
fn ctl_status_matches_the_wire() {
    let kalive = implementation("kalive");
    let mut lab = lab(2, false);
    let vip = ip("10.0.0.254");
    lab.start_daemon(
        0,
        &kalive,
        &nopreempt_instance(150).replace("    nopreempt\n", ""),
    )
    .expect("start");
    lab.start_daemon(
        1,
        &kalive,
        &nopreempt_instance(100).replace("    nopreempt\n", ""),
    )
    .expect("start");
    wait_until(&lab, "r1 master", Duration::from_secs(10), |l| {
        holds(l, 0, vip) && l.daemon_log(1).contains("Entering BACKUP STATE")
    });
    std::thread::sleep(Duration::from_millis(500));
    let since = std::time::SystemTime::now();
    std::thread::sleep(Duration::from_millis(500));
    let master = status_json(&lab, 0);
    let backup = status_json(&lab, 1);
    // On the wire: adverts for VRID 42 come from r1 only, priority 150.
    let adverts: Vec<_> = lab
        .events()
        .into_iter()
        .filter(|e| e.at >= since)
        .filter_map(|e| match e.frame {
            kalive_lab::Frame::Advert {
                vrid: 42,
                priority,
                src,
                ..
            } => Some((src, priority)),
            _ => None,
        })
        .collect();
    assert!(adverts.len() > 3, "no adverts recorded");
    let r1 = IpAddr::V4(lab.router(0).expect("r1").ipv4());
    assert!(adverts.iter().all(|a| *a == (r1, 150)), "wire: {adverts:?}");
    assert_eq!(instance_field(&master, "VI_42", "state"), "MASTER");
    assert_eq!(instance_field(&backup, "VI_42", "state"), "BACKUP");
    assert_eq!(
        instance_field(&backup, "VI_42", "master")["address"],
        r1.to_string()
    );
    assert_eq!(instance_field(&backup, "VI_42", "master")["priority"], 150);
    assert_eq!(instance_field(&master, "VI_42", "effective_priority"), 150);
    assert_eq!(instance_field(&backup, "VI_42", "base_priority"), 100);
    let vips = instance_field(&master, "VI_42", "vips");
    assert!(vips.to_string().contains("10.0.0.254/24"), "{vips}");
    // The text form names the same.
    let (code, text, _) = ctl(&lab, 1, &["status"]);
    assert_eq!(code, 0);
    assert!(text.contains("VI_42") && text.contains("BACKUP"), "{text}");
    // dump through ctl writes keepalived's stats file.
    let (code, out, err) = ctl(&lab, 0, &["dump", "stats"]);
    assert_eq!(code, 0, "{out}{err}");
    lab.shutdown().expect("shutdown");
}

/// Runs `bin -n -l -f CONF` in router 0's namespace and returns its exit
/// code (it must exit within 10 s).
fn start_exit_code(lab: &Lab, bin: &Path, conf: &str, tag: &str) -> Option<i32> {
    let dir = lab.dir();
    let path = dir.join(format!("{tag}.conf"));
    std::fs::write(&path, conf).expect("write");
    let ns = lab.router(0).expect("router").ns.clone();
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(bin)
        .args(["-n", "-l", "-f"])
        .arg(&path)
        .arg("-p")
        .arg(dir.join(format!("{tag}.pid")))
        .arg("-r")
        .arg(dir.join(format!("{tag}_vrrp.pid")))
        .arg("-c")
        .arg(dir.join(format!("{tag}_checkers.pid")))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn start_is_refused_as_keepalived_refuses_it() {
    let kalive = implementation("kalive");
    let keepalived = implementation("keepalived");
    let lab = lab(1, false);
    let dup = "vrrp_instance A {\n interface eth0\n virtual_router_id 5\n priority 100\n virtual_ipaddress {\n 10.0.0.249/24\n }\n}\n\
               vrrp_instance B {\n interface eth0\n virtual_router_id 5\n priority 100\n virtual_ipaddress {\n 10.0.0.248/24\n }\n}\n";
    let missing = "vrrp_instance A {\n interface nosuch0\n virtual_router_id 5\n priority 100\n virtual_ipaddress {\n 10.0.0.249/24\n }\n}\n";
    for (what, conf) in [("duplicate VRID", dup), ("missing interface", missing)] {
        let theirs = start_exit_code(&lab, keepalived.binary(), conf, "ka");
        let ours = start_exit_code(&lab, kalive.binary(), conf, "kl");
        assert!(theirs.is_some(), "{what}: keepalived did not exit");
        assert_eq!(ours, theirs, "{what}: exit code differs from keepalived's");
        assert_ne!(ours, Some(0), "{what}: started anyway");
    }
}
