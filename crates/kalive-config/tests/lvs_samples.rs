//! Every Debian sample config with LVS blocks parses to the model an
//! operator expects: scheduler, method, real servers, checker kinds, quorum,
//! sorry server (reference §3 lists what each sample is about).
//!
//! The samples' VRRP halves name interfaces (eth0, ...) that do not exist
//! here; those diagnostics belong to the VRRP side and are not looked at.
//! The LVS side must report exactly what keepalived 2.2.7 reports for the
//! same file (`keepalived -t`, checked by hand and in `lvs_keepalived.rs`).

use kalive_config::model::lvs::{
    CheckerKind, DnsType, ForwardingMethod, HttpProtocol, IpFamily, LvsConfig, Protocol, Scheduler,
    VirtualServer, VsAddress,
};
use kalive_config::{load_config, Diagnostic, LoadOptions};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SAMPLES: &str = "/usr/share/doc/keepalived/samples";

/// The sample's text path; `.gz` samples are unpacked into a temp dir.
fn sample(name: &str, tmp: &Path) -> PathBuf {
    let plain = Path::new(SAMPLES).join(name);
    if plain.exists() {
        return plain;
    }
    let gz = Path::new(SAMPLES).join(format!("{name}.gz"));
    assert!(
        gz.exists(),
        "Debian sample {name} missing: install the keepalived package (apt-get install keepalived)"
    );
    let out = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(&gz)
        .output()
        .expect("gzip runs");
    assert!(out.status.success(), "gunzip {}", gz.display());
    let dst = tmp.join(name);
    std::fs::write(&dst, out.stdout).expect("write unpacked sample");
    dst
}

/// Diagnostics that come from the LVS side: inside its blocks, or the
/// block-less validation messages about virtual/real servers.
fn lvs_diags(diags: &[Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .filter(|d| {
            let in_lvs_block = d
                .block_path
                .first()
                .is_some_and(|b| b.starts_with("virtual_server") || b.starts_with("SSL"));
            let lvs_validation = d.span.is_none()
                && (d.message.contains("irtual server") || d.message.contains("check scripts"));
            in_lvs_block || lvs_validation
        })
        .map(|d| d.message.clone())
        .collect()
}

fn load(name: &str) -> (LvsConfig, Vec<String>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = sample(name, tmp.path());
    let loaded = load_config(&path, &LoadOptions::default());
    let lvs = lvs_diags(&loaded.diagnostics);
    (loaded.config.lvs, lvs)
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn kinds(vs: &VirtualServer) -> Vec<&'static str> {
    vs.checkers().map(|(_, c)| c.kind.keyword()).collect()
}

fn only_vs(lvs: &LvsConfig) -> &VirtualServer {
    assert_eq!(lvs.virtual_servers.len(), 1, "{lvs:#?}");
    &lvs.virtual_servers[0]
}

#[test]
fn sample_minimal_nat_with_sorry_server_and_digest() {
    let (lvs, diags) = load("keepalived.conf.sample");
    assert!(diags.is_empty(), "{diags:?}");
    let vs = only_vs(&lvs);
    assert_eq!(
        vs.address,
        VsAddress::Ip {
            addr: ip("10.10.10.2"),
            port: Some(1358)
        }
    );
    assert_eq!(vs.scheduler, Scheduler::Rr);
    assert_eq!(vs.method, ForwardingMethod::Nat);
    assert_eq!(vs.protocol, Some(Protocol::Tcp));
    assert_eq!(vs.persistence_timeout, Some(Duration::from_secs(50)));
    assert_eq!(vs.delay_loop, Duration::from_secs(6));
    let sorry = vs.sorry_server.as_ref().expect("sorry server");
    assert_eq!(
        (sorry.addr, sorry.port),
        (ip("192.168.200.200"), Some(1358))
    );
    assert_eq!(vs.real_servers.len(), 1);
    let rs = &vs.real_servers[0];
    assert_eq!(
        (rs.addr, rs.port, rs.weight),
        (ip("192.168.200.2"), Some(1358), 1)
    );
    let CheckerKind::HttpGet(http) = &rs.checkers[0].kind else {
        panic!("HTTP_GET expected: {:?}", rs.checkers)
    };
    assert_eq!(http.urls.len(), 1);
    assert_eq!(http.urls[0].path, "/testurl3/test.jsp");
    assert_eq!(
        http.urls[0].digest.map(|d| d[..3].to_vec()),
        Some(vec![0x64, 0x02, 0x05])
    );
    assert!(http.urls[0].accepts_status(200), "default 200-299");
    let json = serde_json::to_value(&lvs).expect("model serialises");
    let url = &json["virtual_servers"][0]["real_servers"][0]["checkers"][0]["kind"]["urls"][0];
    assert_eq!(url["digest"], "640205b7b0fc66c1ea91c463fac6334d");
    assert_eq!(
        json["virtual_servers"][0]["real_servers"][0]["checkers"][0]["kind"]["type"],
        "HTTP_GET"
    );
    let conn = rs.checkers[0].connection.as_ref().expect("connection");
    assert_eq!(conn.connect_timeout, Duration::from_secs(3));
    let t = rs.checkers[0].timing.expect("polled");
    assert_eq!(t.retry, 3);
    assert_eq!(t.delay_before_retry, Duration::from_secs(3));
}

#[test]
fn ssl_get_with_connect_port_different_from_rs_port() {
    let (lvs, diags) = load("keepalived.conf.HTTP_GET.port");
    assert!(diags.is_empty(), "{diags:?}");
    let vs = only_vs(&lvs);
    assert_eq!(kinds(vs), ["SSL_GET"]);
    let c = &vs.real_servers[0].checkers[0];
    let conn = c.connection.as_ref().expect("connection");
    assert_eq!(conn.connect_port, Some(444));
    assert_eq!(vs.real_servers[0].port, Some(443));
    assert_eq!(
        c.target(&vs.real_servers[0]),
        Some((ip("192.168.201.100"), Some(444)))
    );
}

#[test]
fn ipv6_group_range_and_ipv6_real_server() {
    let (lvs, diags) = load("keepalived.conf.IPv6");
    assert!(diags.is_empty(), "{diags:?}");
    let g = lvs.group("IPv6_group").expect("group");
    let range = g
        .addresses
        .iter()
        .find(|a| a.range.first != a.range.last)
        .expect("a range");
    assert_eq!(
        (range.range.first, range.range.last),
        (ip("ae00::2"), ip("ae00::9"))
    );
    assert_eq!(range.range.len(), 8);
    assert_eq!(range.port, Some(80));
    let vs = only_vs(&lvs);
    assert_eq!(vs.family, Some(IpFamily::Inet6));
    assert!(vs.real_servers.iter().all(|r| r.addr.is_ipv6()));
}

#[test]
fn ping_check_with_retry() {
    let (lvs, diags) = load("keepalived.conf.PING_CHECK");
    assert!(diags.is_empty(), "{diags:?}");
    let vs = only_vs(&lvs);
    assert_eq!(vs.protocol, Some(Protocol::Udp));
    assert_eq!(kinds(vs), ["PING_CHECK"]);
    assert_eq!(
        vs.real_servers[0].checkers[0].timing.map(|t| t.retry),
        Some(4)
    );
}

#[test]
fn smtp_check_helo_and_deprecated_host_blocks() {
    let (lvs, diags) = load("keepalived.conf.SMTP_CHECK");
    // keepalived only logs the host{} deprecation; -t stays clean.
    assert!(diags.is_empty(), "{diags:?}");
    let vs = only_vs(&lvs);
    assert_eq!(vs.real_servers.len(), 3);
    for (rs, _) in vs.checkers() {
        for c in &rs.checkers {
            let CheckerKind::Smtp(s) = &c.kind else {
                panic!("SMTP expected")
            };
            assert_eq!(s.helo_name, "foo.bar.com");
        }
    }
    // Each host{} block is a checker of its own.
    let second = &vs.real_servers[1];
    assert!(second.checkers.len() > 1, "{:?}", second.checkers);
    let targets: Vec<_> = second
        .checkers
        .iter()
        .filter_map(|c| c.connection.as_ref().and_then(|k| k.connect_ip))
        .collect();
    assert!(targets.contains(&ip("172.16.1.11")), "{targets:?}");
    assert_eq!(second.checkers[0].timing.map(|t| t.retry), Some(2));
}

#[test]
fn ssl_get_and_http_get_with_several_digests() {
    let (lvs, diags) = load("keepalived.conf.SSL_GET");
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(lvs.virtual_servers.len(), 2);
    let all: Vec<_> = lvs.virtual_servers.iter().flat_map(kinds).collect();
    assert!(
        all.contains(&"SSL_GET") && all.contains(&"HTTP_GET"),
        "{all:?}"
    );
    for vs in &lvs.virtual_servers {
        for (_, c) in vs.checkers() {
            if let CheckerKind::SslGet(h) | CheckerKind::HttpGet(h) = &c.kind {
                assert!(h.urls.len() >= 2, "{:?}", h.urls);
            }
        }
    }
}

#[test]
fn status_code_ranges_mixed_with_digest() {
    let (lvs, diags) = load("keepalived.conf.status_code");
    assert!(diags.is_empty(), "{diags:?}");
    let vs = only_vs(&lvs);
    let (_, c) = vs.checkers().next().expect("checker");
    let (CheckerKind::SslGet(h) | CheckerKind::HttpGet(h)) = &c.kind else {
        panic!("HTTP/SSL expected")
    };
    let first = &h.urls[0];
    for code in [200, 250, 404, 503, 505] {
        assert!(
            first.accepts_status(code),
            "{code} in {:?}",
            first.status_codes
        );
    }
    for code in [302, 500, 504] {
        assert!(
            !first.accepts_status(code),
            "{code} in {:?}",
            first.status_codes
        );
    }
    assert!(h.urls.iter().any(|u| u.digest.is_some()));
}

#[test]
fn virtualhost_at_virtual_server_level() {
    let (lvs, diags) = load("keepalived.conf.virtualhost");
    assert!(diags.is_empty(), "{diags:?}");
    let vs = only_vs(&lvs);
    assert_eq!(vs.virtualhost.as_deref(), Some("www.firewall.loc"));
    let (rs, c) = vs.checkers().next().expect("checker");
    let CheckerKind::SslGet(h) = &c.kind else {
        panic!("SSL_GET expected")
    };
    assert_eq!(
        vs.virtualhost_for(rs, h, &h.urls[0]),
        Some("www.firewall.loc"),
        "the Host header falls back to the virtual server's"
    );
    let global = kalive_config::model::GlobalDefs::default();
    assert!(
        rs.effective_smtp_alert(&global),
        "real servers mail by default"
    );
    assert!(!vs.effective_smtp_alert(&global), "virtual servers do not");
    assert_eq!(kinds(vs), ["SSL_GET"]);
}

#[test]
fn udp_check_on_udp_service() {
    let (lvs, diags) = load("keepalived.conf.UDP_CHECK");
    assert!(diags.is_empty(), "{diags:?}");
    let vs = only_vs(&lvs);
    assert_eq!(vs.protocol, Some(Protocol::Udp));
    let (_, c) = vs.checkers().next().expect("checker");
    let CheckerKind::Udp(u) = &c.kind else {
        panic!("UDP_CHECK expected")
    };
    assert_eq!((u.min_reply_length, u.max_reply_length), (0, 255));
}

#[test]
fn fwmark_service_warns_about_protocol_like_keepalived() {
    let (lvs, diags) = load("keepalived.conf.fwmark");
    assert_eq!(
        diags,
        ["Warning: Virtual server FWM 1: protocol specified for fwmark - protocol will be ignored"]
    );
    let vs = only_vs(&lvs);
    assert_eq!(vs.address, VsAddress::Fwmark { mark: 1 });
    assert_eq!(vs.protocol, None);
    assert_eq!(vs.family, Some(IpFamily::Inet));
    assert_eq!(vs.real_servers.len(), 2);
    assert!(vs.real_servers.iter().all(|r| r.port.is_none()));
    assert_eq!(kinds(vs), ["TCP_CHECK", "TCP_CHECK"]);
}

#[test]
fn inhibit_on_failure_on_real_server() {
    let (lvs, diags) = load("keepalived.conf.inhibit");
    assert!(diags.is_empty(), "{diags:?}");
    let vs = only_vs(&lvs);
    assert!(vs.real_servers.iter().all(|r| r.inhibit_on_failure));
}

#[test]
fn misc_check_script_and_quoted_arguments() {
    let (lvs, diags) = load("keepalived.conf.misc_check");
    assert!(diags.is_empty(), "{diags:?}");
    let (_, c) = only_vs(&lvs).checkers().next().expect("checker");
    let CheckerKind::Misc(m) = &c.kind else {
        panic!("MISC_CHECK expected")
    };
    assert_eq!(m.script.args, ["/usr/local/bin/script.sh"]);
    assert_eq!(
        c.timing.map(|t| t.retry),
        Some(0),
        "MISC_CHECK retry default is 0"
    );

    let (lvs, diags) = load("keepalived.conf.misc_check_arg");
    assert!(diags.is_empty(), "{diags:?}");
    let (_, c) = only_vs(&lvs).checkers().next().expect("checker");
    let CheckerKind::Misc(m) = &c.kind else {
        panic!("MISC_CHECK expected")
    };
    assert_eq!(m.script.args, ["/usr/local/bin/script.sh", "arg1", "arg2"]);
}

#[test]
fn quorum_hysteresis_alpha_omega_and_ten_servers() {
    let (lvs, diags) = load("keepalived.conf.quorum");
    assert!(diags.is_empty(), "{diags:?}");
    let vs = only_vs(&lvs);
    assert_eq!((vs.quorum, vs.hysteresis), (7, 2));
    assert!(vs.alpha && vs.omega);
    assert!(vs.quorum_up.is_some() && vs.quorum_down.is_some());
    assert_eq!(vs.scheduler, Scheduler::Wrr);
    assert_eq!(vs.real_servers.len(), 10);
    assert!(
        vs.real_servers.iter().all(|r| r.alpha),
        "alpha is inherited"
    );
}

#[test]
fn virtual_server_group_with_range_and_fwmarks() {
    let (lvs, diags) = load("keepalived.conf.virtual_server_group");
    assert!(diags.is_empty(), "{diags:?}");
    let g = lvs.group("VSG_1").expect("VSG_1");
    let range = g
        .addresses
        .iter()
        .find(|a| a.range.first == ip("192.168.200.3"))
        .expect("range entry");
    assert_eq!(range.range.last, ip("192.168.200.10"));
    assert_eq!(range.port, Some(80));
    assert_eq!(g.fwmarks.len(), 2);
    let vs = only_vs(&lvs);
    assert_eq!(
        vs.address,
        VsAddress::Group {
            name: "VSG_1".into()
        }
    );
    assert_eq!(kinds(vs), ["HTTP_GET", "HTTP_GET"]);
}

#[test]
fn lvs_syncd_sample_tcp_check_service() {
    let (lvs, diags) = load("keepalived.conf.vrrp.lvs_syncd");
    assert!(diags.is_empty(), "{diags:?}");
    let vs = only_vs(&lvs);
    assert_eq!(kinds(vs), ["TCP_CHECK"]);
}

/// Every sample is covered: a new Debian sample with LVS blocks must get
/// its own test above.
#[test]
fn every_lvs_sample_is_covered() {
    let covered = [
        "keepalived.conf.sample",
        "keepalived.conf.HTTP_GET.port",
        "keepalived.conf.IPv6",
        "keepalived.conf.PING_CHECK",
        "keepalived.conf.SMTP_CHECK",
        "keepalived.conf.SSL_GET",
        "keepalived.conf.status_code",
        "keepalived.conf.virtualhost",
        "keepalived.conf.UDP_CHECK",
        "keepalived.conf.fwmark",
        "keepalived.conf.inhibit",
        "keepalived.conf.misc_check",
        "keepalived.conf.misc_check_arg",
        "keepalived.conf.quorum",
        "keepalived.conf.virtual_server_group",
        "keepalived.conf.vrrp.lvs_syncd",
    ];
    let dir = std::fs::read_dir(SAMPLES)
        .unwrap_or_else(|e| panic!("{SAMPLES}: {e}; install the keepalived package"));
    let tmp = tempfile::tempdir().expect("tempdir");
    for entry in dir {
        let name = entry
            .expect("dir entry")
            .file_name()
            .to_string_lossy()
            .to_string();
        if !name.starts_with("keepalived.conf") {
            continue;
        }
        let name = name.trim_end_matches(".gz").to_string();
        let text = std::fs::read_to_string(sample(&name, tmp.path())).expect("read sample");
        let has_vs = text
            .lines()
            .any(|l| l.trim_start().starts_with("virtual_server"));
        if has_vs {
            assert!(
                covered.contains(&name.as_str()),
                "sample {name} has no LVS test"
            );
        }
    }
    // A DNS_CHECK sanity check keeps the default query type visible here.
    assert_eq!(DnsType::default(), DnsType::Soa);
    assert_eq!(HttpProtocol::default(), HttpProtocol::Http10);
}
