//! LVS error paths: keepalived 2.2.7's wording, line, and its "warn, then
//! default or ignore" effect on the model. Each expected message was taken
//! from `keepalived -t` on the same text (see also `lvs_keepalived.rs`).

use kalive_config::model::lvs::{
    ForwardingMethod, IpRange, LvsConfig, Protocol, Scheduler, TunnelChecksum, TunnelKind,
    VsAddress,
};
use kalive_config::system::HostSystem;
use kalive_config::{load_str, DiagKind, Severity};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// `(line or 0 for block-less, message)` of every counted diagnostic.
fn run(text: &str) -> (LvsConfig, Vec<(u32, String)>) {
    let loaded = load_str(text, "t.conf", Arc::new(HostSystem));
    let diags = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity > Severity::Note)
        .map(|d| (d.span.as_ref().map_or(0, |s| s.line), d.message.clone()))
        .collect();
    (loaded.config.lvs, diags)
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn d(line: u32, msg: &str) -> (u32, String) {
    (line, msg.to_string())
}

/// A valid service around `body` (lines 1-4 before it).
fn vs_with(body: &str) -> String {
    format!(
        "virtual_server 10.0.0.1 80 {{\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n{body}\n}}\n"
    )
}

#[test]
fn unknown_scheduler_is_ignored_and_wlc_applies() {
    let text = "virtual_server 10.0.0.1 80 {\n    lb_algo bogus\n    lb_kind NAT\n    protocol TCP\n    real_server 10.0.0.2 80 {\n    }\n}\n";
    let (lvs, diags) = run(text);
    assert_eq!(
        diags,
        [
            d(2, "Invalid lvs_scheduler 'bogus' - ignoring"),
            d(
                0,
                "Virtual server [10.0.0.1]:tcp:80: no scheduler set, setting default 'wlc'"
            ),
        ]
    );
    assert_eq!(lvs.virtual_servers[0].scheduler, Scheduler::Wlc);
}

#[test]
fn bad_virtual_server_port_skips_the_block() {
    let text = "virtual_server 10.0.0.1 70000 {\n    lb_algo rr\n    protocol TCP\n    real_server 10.0.0.2 80 {\n    }\n}\n";
    let (lvs, diags) = run(text);
    assert_eq!(
        diags,
        [
            d(1, "number '70000' outside range [1, 65535]"),
            d(
                1,
                "Invalid virtual server IP address/port 10.0.0.1/70000 - skipping"
            ),
        ]
    );
    assert!(lvs.virtual_servers.is_empty());
}

#[test]
fn bad_checker_port_is_ignored() {
    let (lvs, diags) = run(&vs_with(
        "    real_server 10.0.0.2 80 {\n        TCP_CHECK {\n            connect_port 0\n        }\n    }",
    ));
    assert_eq!(
        diags,
        [
            d(7, "number '0' outside range [1, 65535]"),
            d(7, "Invalid checker connect_port '0'"),
        ]
    );
    let c = &lvs.virtual_servers[0].real_servers[0].checkers[0];
    assert_eq!(c.connection.as_ref().and_then(|k| k.connect_port), None);
}

#[test]
fn out_of_range_weights() {
    let (lvs, diags) = run(&vs_with(
        "    weight 0\n    real_server 10.0.0.2 80 {\n        weight -1\n    }\n    real_server 10.0.0.3 80 {\n        weight 3000000000\n    }\n    real_server 10.0.0.4 80 {\n        weight 7\n    }",
    ));
    assert_eq!(
        diags,
        [
            d(5, "number '0' outside range [1, 2147483647]"),
            d(5, "Virtual server weight 0 is outside range 1-2147483647"),
            d(7, "negative number '-1'"),
            d(7, "Real server weight -1 is outside range 0-2147483647"),
            d(10, "number '3000000000' outside range [0, 2147483647]"),
            d(
                10,
                "Real server weight 3000000000 is outside range 0-2147483647"
            ),
        ]
    );
    let weights: Vec<u32> = lvs.virtual_servers[0]
        .real_servers
        .iter()
        .map(|r| r.weight)
        .collect();
    assert_eq!(weights, [1, 1, 7], "bad weights fall back to the default");
}

#[test]
fn missing_protocol_defaults_to_udp_with_a_warning() {
    let text = "virtual_server 10.0.0.1 53 {\n    lb_algo rr\n    lb_kind NAT\n    real_server 10.0.0.2 53 {\n    }\n}\n";
    let (lvs, diags) = run(text);
    assert_eq!(
        diags,
        [d(
            0,
            "Virtual server [10.0.0.1]:none:53: no protocol set - defaulting to UDP"
        )]
    );
    assert_eq!(lvs.virtual_servers[0].protocol, Some(Protocol::Udp));
}

#[test]
fn missing_method_defaults_to_nat_and_zero_port_forces_persistence() {
    let text = "virtual_server 10.0.0.1 {\n    lb_algo rr\n    protocol UDP\n    real_server 10.0.0.2 80 {\n    }\n}\n";
    let (lvs, diags) = run(text);
    assert_eq!(
        diags,
        [
            d(0, "Virtual server [10.0.0.1]:udp:0: zero port only valid for persistent services - setting"),
            d(0, "Virtual server [10.0.0.1]:udp:0: no forwarding method set, setting default NAT"),
        ]
    );
    let vs = &lvs.virtual_servers[0];
    assert_eq!(vs.persistence_timeout, Some(Duration::from_secs(360)));
    assert_eq!(vs.real_servers[0].method, ForwardingMethod::Nat);
}

#[test]
fn ip_ranges_in_groups() {
    let text = "virtual_server_group G {\n    10.0.0.1-10 80\n    10.0.0.20-10.0.0.30 80\n    10.0.1.0/29 80\n    ae00::2-9 80\n    10.0.1.1/29 80\n    10.0.2.9-5 80\n    10.0.3.1-300 80\n    10.0.0.1-abc 80\n    10.0.5.1 70000\n    fwmark 7 inet\n}\n";
    let (lvs, diags) = run(text);
    assert_eq!(
        diags,
        [
            d(6, "Address mask bits not empty - 10.0.1.1/29 - skipping"),
            d(
                7,
                "Address range end is not greater than address range start - 10.0.2.9-5 - skipping"
            ),
            d(
                8,
                "Virtual server group range '10.0.3.1-300' end '300' too large"
            ),
            d(
                9,
                "Virtual server group range '10.0.0.1-abc' has extra characters at end 'abc'"
            ),
            d(10, "number '70000' outside range [1, 65535]"),
            d(
                10,
                "Invalid virtual server group IP address 10.0.5.1 /port/70000 - skipping"
            ),
        ]
    );
    let g = lvs.group("G").expect("group kept");
    let ranges: Vec<IpRange> = g.addresses.iter().map(|a| a.range).collect();
    let r = |a: &str, b: &str| IpRange {
        first: ip(a),
        last: ip(b),
    };
    assert_eq!(
        ranges,
        [
            r("10.0.0.1", "10.0.0.10"),
            r("10.0.0.20", "10.0.0.30"),
            r("10.0.1.0", "10.0.1.7"),
            r("ae00::2", "ae00::9"),
        ]
    );
    assert_eq!(g.fwmarks.len(), 1);
}

#[test]
fn group_mixing_families_with_unqualified_fwmark_is_removed() {
    let text = "virtual_server_group G {\n    10.0.0.1 80\n    ae00::1 80\n    fwmark 3\n}\nvirtual_server_group E {\n}\n";
    let (lvs, diags) = run(text);
    assert_eq!(
        diags,
        [
            d(5, "virtual server group G cannot have IPv4, IPv6 and fwmark without family - removing"),
            d(7, "virtual server group E has no entries - removing"),
        ]
    );
    assert!(lvs.virtual_server_groups.is_empty());
}

#[test]
fn missing_parameter_stops_parsing_like_keepalived() {
    let (_, diags) = run(&vs_with("    quorum\n    lb_algo bogus"));
    assert_eq!(
        diags,
        [d(
            5,
            "*** Configuration line starting `quorum` is missing a parameter after keyword `quorum` at word position 2"
        )]
    );
    let loaded = load_str(&vs_with("    quorum"), "t.conf", Arc::new(HostSystem));
    assert!(loaded
        .diagnostics
        .iter()
        .any(|d| d.kind == DiagKind::MissingParameter));
}

#[test]
fn validation_fixes_quorum_hysteresis_duplicates_and_ports() {
    let text = "virtual_server 10.0.0.6 80 {\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n    quorum 5\n    hysteresis 9\n    ops\n    real_server 10.0.0.2 81 {\n    }\n    real_server 10.0.0.2 81 {\n    }\n    real_server 10.0.0.3 {\n    }\n}\n";
    let (lvs, diags) = run(text);
    assert_eq!(
        diags,
        [
            d(0, "Virtual server [10.0.0.6]:tcp:80: one packet scheduling requires UDP - resetting"),
            d(0, "VS [10.0.0.6]:tcp:80: real server [10.0.0.2]:tcp:81 is duplicated - removing second rs"),
            d(0, "Warning - quorum 5 for [10.0.0.6]:tcp:80 exceeds total weight of real servers 2, reducing quorum to 2"),
            d(0, "Virtual server [10.0.0.6]:tcp:80: hysteresis 9 >= quorum 2; setting hysteresis to 1"),
            d(0, "WARNING - virtual server [10.0.0.6]:tcp:80 and real server [10.0.0.2]:tcp:81 ports don't match - resetting"),
        ]
    );
    let vs = &lvs.virtual_servers[0];
    assert_eq!((vs.quorum, vs.hysteresis), (2, 1));
    assert!(!vs.flags.one_packet);
    let ports: Vec<_> = vs.real_servers.iter().map(|r| r.port).collect();
    assert_eq!(
        ports,
        [Some(80), Some(80)],
        "DR servers take the service port"
    );
}

#[test]
fn tunnel_options() {
    let text = "virtual_server fwmark 3 {\n    lb_algo rr\n    lb_kind TUN type gue port 6080 csum\n    real_server 10.0.0.3 {\n        lvs_method TUN type ipip csum\n    }\n    real_server 10.0.0.4 {\n        lvs_method TUN type gre\n    }\n    real_server 10.0.0.5 {\n        lvs_method TUN type gue\n    }\n}\n";
    let (lvs, diags) = run(text);
    assert_eq!(
        diags,
        [
            d(5, "ipip tunnels do not support checksum option."),
            d(11, "gue tunnels require port, otherwise cannot have port."),
        ]
    );
    let vs = &lvs.virtual_servers[0];
    let ForwardingMethod::Tun(t) = vs.method else {
        panic!("TUN")
    };
    assert_eq!(t.kind, TunnelKind::Gue { port: 6080 });
    assert_eq!(t.checksum, TunnelChecksum::Csum);
    let ForwardingMethod::Tun(gre) = vs.real_servers[1].method else {
        panic!("TUN")
    };
    assert_eq!(gre.kind, TunnelKind::Gre);
    assert_eq!(vs.address, VsAddress::Fwmark { mark: 3 });
}

#[test]
fn checker_value_errors() {
    let (lvs, diags) = run(&vs_with(concat!(
        "    real_server 10.0.0.2 80 {\n",
        "        HTTP_GET {\n",
        "            url {\n",
        "                path /\n",
        "                digest 1234\n",
        "                status_code 200 600 500-400\n",
        "            }\n",
        "            url {\n",
        "                digest zz345678901234567890123456789012\n",
        "            }\n",
        "            http_protocol 2.0\n",
        "        }\n",
        "        DNS_CHECK {\n",
        "            type foo\n",
        "            name a.b\n",
        "        }\n",
        "        UDP_CHECK {\n",
        "            payload 12zz\n",
        "            min_reply_length 300\n",
        "        }\n",
        "    }",
    )));
    assert_eq!(
        diags,
        [
            d(
                9,
                "digest '1234' character length should be 32 rather than 4"
            ),
            d(10, "Invalid HTTP_GET status code '600'"),
            d(10, "Invalid HTTP_GET status code '500-400'"),
            d(13, "Unable to interpret hex digit in 'zz' at offset 0/1"),
            d(14, "HTTP/SSL_GET checker url has no path - ignoring"),
            d(15, "Invalid http_protocol version 2.0"),
            d(18, "Unknown DNS check type foo - ignoring"),
            d(19, "DNS_CHECK name 'a.b' has empty label - ignoring"),
            d(22, "Invalid hex string for UDP_CHECK payload"),
            d(
                24,
                "UDP_CHECK min_reply length 300 > max_reply_length 255 - will always fail"
            ),
        ]
    );
    let rs = &lvs.virtual_servers[0].real_servers[0];
    assert_eq!(rs.checkers.len(), 3);
}
