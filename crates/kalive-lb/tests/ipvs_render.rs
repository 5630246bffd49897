//! IPVS messages byte for byte. Every expected message below was written
//! by hand from `linux/ip_vs.h` (enum values counted from `*_UNSPEC = 0`),
//! `linux/netlink.h` (nlmsghdr: len, type, flags, seq, pid; nlattr: len
//! without padding, type, payload padded to 4) and `linux/genetlink.h`
//! (cmd, version 1, reserved), host order = little endian on x86-64,
//! `__be16` ports and IPv4 masks big endian. Family id 0x1c, sequence 1.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kalive_lb::ipvs::{self, IpvsTable, ServiceId};
use kalive_lb::{
    Dest, Family, LbState, Member, Method, Persistence, Protocol, RsKey, Scheduler, SchedulerFlags,
    Service, ServiceSpec, Tunnel, TunnelChecksum, TunnelKind, VsKey,
};

const FAMILY: u16 = 0x1c;

fn hex(s: &str) -> Vec<u8> {
    let digits: String = s.split_whitespace().collect();
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex"))
        .collect()
}

fn spec_ip(addr: &str, port: u16, protocol: Protocol, scheduler: Scheduler) -> ServiceSpec {
    let a = addr.parse().expect("addr");
    ServiceSpec {
        members: vec![Member::Addresses {
            first: a,
            last: a,
            port: Some(port),
        }],
        family: Family::of(&a),
        protocol: Some(protocol),
        scheduler,
        flags: SchedulerFlags::default(),
        persistence: None,
        persistence_engine: None,
    }
}

fn vs_key(addr: &str, port: u16, protocol: Protocol) -> VsKey {
    VsKey::Ip {
        addr: addr.parse().expect("addr"),
        port: Some(port),
        protocol,
    }
}

fn rs(addr: &str, port: Option<u16>) -> RsKey {
    RsKey {
        addr: addr.parse().expect("addr"),
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

fn tcp80() -> ServiceId {
    ServiceId::Ip {
        protocol: Protocol::Tcp,
        addr: "10.0.0.1".parse().expect("addr"),
        port: 80,
    }
}

#[test]
fn new_service_tcp_v4_rr() {
    let svc = ipvs::kernel_service(&spec_ip("10.0.0.1", 80, Protocol::Tcp, Scheduler::Rr))
        .expect("renders");
    let got = ipvs::new_service(&tcp80(), &svc).to_bytes(FAMILY, 1);
    let want = hex("68000000 1c00 0500 01000000 00000000  01010000
         5400 0100
           0600 0100 0200 0000
           0600 0200 0600 0000
           1400 0300 0a000001 00000000 00000000 00000000
           0600 0400 0050 0000
           0700 0600 727200 00
           0c00 0700 00000000 ffffffff
           0800 0800 00000000
           0800 0900 ffffffff");
    assert_eq!(got, want);
}

#[test]
fn set_service_udp_sh_persistent_with_granularity_and_engine() {
    let mut spec = spec_ip("192.168.1.10", 53, Protocol::Udp, Scheduler::Sh);
    spec.flags = SchedulerFlags {
        hash_port: true,
        fallback: true,
        one_packet: false,
    };
    spec.persistence = Some(Persistence {
        timeout: Duration::from_secs(300),
        prefix_len: Some(24),
    });
    spec.persistence_engine = Some("sip".into());
    let id = ipvs::service_ids(&spec).expect("ids")[0];
    let svc = ipvs::kernel_service(&spec).expect("renders");
    let got = ipvs::set_service(&id, &svc).to_bytes(FAMILY, 1);
    // flags: PERSISTENT 0x1 | SCHED1 (sh-fallback) 0x8 | SCHED2 (sh-port) 0x10.
    let want = hex("70000000 1c00 0500 01000000 00000000  02010000
         5c00 0100
           0600 0100 0200 0000
           0600 0200 1100 0000
           1400 0300 c0a8010a 00000000 00000000 00000000
           0600 0400 0035 0000
           0700 0600 736800 00
           0800 0b00 73697000
           0c00 0700 19000000 ffffffff
           0800 0800 2c010000
           0800 0900 ffffff00");
    assert_eq!(got, want);
}

#[test]
fn ipv6_netmask_is_a_prefix_length_in_host_order() {
    let mut spec = spec_ip("2001:db8::1", 443, Protocol::Sctp, Scheduler::Wlc);
    spec.persistence = Some(Persistence {
        timeout: Duration::from_secs(60),
        prefix_len: Some(64),
    });
    let id = ipvs::service_ids(&spec).expect("ids")[0];
    let bytes =
        ipvs::new_service(&id, &ipvs::kernel_service(&spec).expect("renders")).to_bytes(FAMILY, 1);
    let tail = hex("0800 0600 776c6300
         0c00 0700 01000000 ffffffff
         0800 0800 3c000000
         0800 0900 40000000");
    assert!(bytes.ends_with(&tail), "{bytes:02x?}");
    // AF_INET6 = 10, IPPROTO_SCTP = 132.
    assert_eq!(
        &bytes[24..40],
        &hex("0600 0100 0a00 0000 0600 0200 8400 0000")[..]
    );
}

#[test]
fn new_dest_fwmark_v6_tunnel_gue_with_checksum_and_thresholds() {
    let id = ServiceId::Fwmark {
        family: Family::V6,
        mark: 7,
    };
    let d = Dest {
        weight: 3,
        method: Method::Tun(Tunnel {
            kind: TunnelKind::Gue { port: 6080 },
            checksum: TunnelChecksum::Checksum,
        }),
        upper_threshold: 100,
        lower_threshold: 10,
    };
    let got =
        ipvs::new_dest(&id, &rs("2001:db8::2", None), &ipvs::kernel_dest(&d)).to_bytes(FAMILY, 1);
    let want = hex("88000000 1c00 0500 01000000 00000000  05010000
         1400 0100
           0600 0100 0a00 0000
           0800 0500 07000000
         6000 0200
           1400 0100 20010db8 00000000 00000000 00000002
           0600 0200 0000 0000
           0600 0b00 0a00 0000
           0800 0300 02000000
           0800 0400 03000000
           0800 0500 64000000
           0800 0600 0a000000
           0500 0d00 01 000000
           0600 0e00 17c0 0000
           0600 0f00 0100 0000");
    assert_eq!(got, want);
}

#[test]
fn dr_and_nat_dests_carry_no_tunnel_attributes() {
    let dr = ipvs::new_dest(
        &tcp80(),
        &rs("10.0.0.2", Some(80)),
        &ipvs::kernel_dest(&dest(1, Method::Dr)),
    );
    // 0x03 = IP_VS_CONN_F_DROUTE; no type 13/14/15 attribute follows L_THRESH.
    assert!(dr.attrs.ends_with(&hex(
        "0800 0300 03000000 0800 0400 01000000 0800 0500 00000000 0800 0600 00000000"
    )));
    let nat = ipvs::kernel_dest(&dest(1, Method::Nat));
    assert_eq!(nat.fwd_method, 0);
    let gre = ipvs::kernel_dest(&dest(
        1,
        Method::Tun(Tunnel {
            kind: TunnelKind::Gre,
            checksum: TunnelChecksum::Remote,
        }),
    ));
    assert_eq!((gre.fwd_method, gre.tun_type, gre.tun_flags), (2, 2, 2));
}

#[test]
fn del_dest_names_service_and_destination_only() {
    let got = ipvs::del_dest(&tcp80(), &rs("10.0.0.2", Some(80))).to_bytes(FAMILY, 1);
    let want = hex("6c000000 1c00 0500 01000000 00000000  07010000
         3000 0100
           0600 0100 0200 0000
           0600 0200 0600 0000
           1400 0300 0a000001 00000000 00000000 00000000
           0600 0400 0050 0000
         2800 0200
           1400 0100 0a000002 00000000 00000000 00000000
           0600 0200 0050 0000
           0600 0b00 0200 0000");
    assert_eq!(got, want);
}

#[test]
fn sync_daemon_start_and_stop() {
    let start = ipvs::new_daemon(&ipvs::SyncDaemon {
        role: ipvs::SyncRole::Master,
        interface: "eth0".into(),
        sync_id: 51,
        max_len: None,
        group: None,
        port: None,
        ttl: None,
    });
    let want = hex("34000000 1c00 0500 01000000 00000000  09010000
         2000 0300
           0800 0100 01000000
           0900 0200 65746830 00 000000
           0800 0300 33000000");
    assert_eq!(start.to_bytes(FAMILY, 1), want);
    let stop = ipvs::del_daemon(ipvs::SyncRole::Backup);
    let want = hex("20000000 1c00 0500 01000000 00000000  0a010000 0c00 0300 0800 0100 02000000");
    assert_eq!(stop.to_bytes(FAMILY, 1), want);
    let full = ipvs::new_daemon(&ipvs::SyncDaemon {
        role: ipvs::SyncRole::Backup,
        interface: "eth1".into(),
        sync_id: 1,
        max_len: Some(1472),
        group: Some("239.1.2.3".parse().expect("addr")),
        port: Some(8848),
        ttl: Some(2),
    });
    assert!(full.attrs.ends_with(&hex(
        "0600 0400 c005 0000  0800 0500 ef010203  0600 0700 9022 0000  0500 0800 02 000000"
    )));
}

#[test]
fn timeouts_leave_zero_values_out() {
    let got = ipvs::set_timeouts(900, 0, 300).to_bytes(FAMILY, 1);
    let want =
        hex("24000000 1c00 0500 01000000 00000000  0c010000 0800 0400 84030000 0800 0600 2c010000");
    assert_eq!(got, want);
}

#[test]
fn dumps_ask_with_nlm_f_dump() {
    let got = ipvs::dump_services().to_bytes(FAMILY, 9);
    assert_eq!(got, hex("14000000 1c00 0103 09000000 00000000 04010000"));
    let dests = ipvs::dump_dests(&ServiceId::Fwmark {
        family: Family::V4,
        mark: 1,
    });
    assert_eq!(
        dests.to_bytes(FAMILY, 9),
        hex("28000000 1c00 0103 09000000 00000000 08010000 1400 0100 0600 0100 0200 0000 0800 0500 01000000")
    );
}

/// A service as the kernel dumps it (`ip_vs_genl_fill_service`): HASHED
/// set, statistics nested, fields in the kernel's order.
#[test]
fn parses_a_kernel_service_and_destination() {
    let reply = hex("7000 0100
           0600 0100 0200 0000
           0600 0200 0600 0000
           1400 0300 0a000001 00000000 00000000 00000000
           0600 0400 0050 0000
           0700 0600 727200 00
           0c00 0700 03000000 ffffffff
           0800 0800 68010000
           0800 0900 ffffff00
           0c00 0a00 0800 0100 05000000
           1000 0c00 0c00 0100 05000000 00000000");
    let (id, svc) = ipvs::parse_service(&reply).expect("parses");
    assert_eq!(id, tcp80());
    assert_eq!(svc.scheduler, "rr");
    assert_eq!(svc.flags, 1, "HASHED is the kernel's, not ours");
    assert_eq!((svc.timeout, svc.netmask), (360, 0xffff_ff00));

    let dest_reply = hex("6800 0200
           1400 0100 0a000002 00000000 00000000 00000000
           0600 0200 1f90 0000
           0800 0300 00000000
           0800 0400 02000000
           0500 0d00 00 000000
           0600 0e00 0000 0000
           0600 0f00 0000 0000
           0800 0500 00000000
           0800 0600 00000000
           0800 0700 04000000
           0600 0b00 0200 0000");
    let (key, d) = ipvs::parse_dest(&dest_reply, Family::V4).expect("parses");
    assert_eq!(key, rs("10.0.0.2", Some(8080)));
    assert_eq!(d, ipvs::kernel_dest(&dest(2, Method::Nat)));
}

#[test]
fn rendered_requests_parse_back_to_what_was_rendered() {
    let mut spec = spec_ip("2001:db8::1", 0, Protocol::Udp, Scheduler::Mh);
    spec.flags.one_packet = true;
    spec.persistence = Some(Persistence {
        timeout: Duration::from_secs(360),
        prefix_len: None,
    });
    let id = ipvs::service_ids(&spec).expect("ids")[0];
    let svc = ipvs::kernel_service(&spec).expect("renders");
    let (back_id, back) = ipvs::parse_service(&ipvs::new_service(&id, &svc).attrs).expect("parses");
    assert_eq!((back_id, back), (id, svc));
}

#[test]
fn malformed_replies_are_errors_not_panics() {
    let good = ipvs::new_service(
        &tcp80(),
        &ipvs::kernel_service(&spec_ip("10.0.0.1", 80, Protocol::Tcp, Scheduler::Rr))
            .expect("renders"),
    )
    .attrs;
    for cut in 0..good.len() {
        let _ = ipvs::parse_service(&good[..cut]);
        let _ = ipvs::parse_dest(&good[..cut], Family::V4);
    }
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..2000 {
        let mut bytes = good.clone();
        for _ in 0..4 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let i = (seed as usize) % bytes.len();
            bytes[i] = (seed >> 32) as u8;
        }
        let _ = ipvs::parse_service(&bytes);
        let _ = ipvs::parse_dest(&bytes, Family::V6);
    }
    assert!(ipvs::parse_service(&good[..10]).is_err());
}

fn group_state() -> (VsKey, LbState) {
    let vs = VsKey::Group {
        name: "web".into(),
        protocol: Some(Protocol::Tcp),
        family: Family::V4,
    };
    let spec = ServiceSpec {
        members: vec![
            Member::Addresses {
                first: "10.0.0.1".parse().expect("addr"),
                last: "10.0.0.3".parse().expect("addr"),
                port: Some(80),
            },
            Member::Fwmark(5),
        ],
        ..spec_ip("10.0.0.1", 80, Protocol::Tcp, Scheduler::Wrr)
    };
    let dests = BTreeMap::from([(rs("10.1.0.1", Some(80)), dest(1, Method::Nat))]);
    let state = LbState {
        services: BTreeMap::from([(vs.clone(), Service { spec, dests })]),
    };
    (vs, state)
}

#[test]
fn a_group_range_becomes_one_kernel_service_per_address_and_mark() {
    let (_, state) = group_state();
    let ops = kalive_lb::diff(&LbState::default(), &state);
    let reqs = ipvs::render(&LbState::default(), &ops).expect("renders");
    let cmds: Vec<u8> = reqs.iter().map(|r| r.cmd).collect();
    // 4 NEW_SERVICE (3 addresses + fwmark), then 4 NEW_DEST.
    assert_eq!(cmds, vec![1, 1, 1, 1, 5, 5, 5, 5]);
    let dels =
        ipvs::render(&state, &kalive_lb::diff(&state, &LbState::default())).expect("renders");
    assert_eq!(
        dels.iter().map(|r| r.cmd).collect::<Vec<_>>(),
        vec![3, 3, 3, 3]
    );
}

#[test]
fn editing_a_groups_members_removes_and_adds_only_what_changed() {
    let (vs, before) = group_state();
    let mut after = before.clone();
    let svc = after.services.get_mut(&vs).expect("service");
    svc.spec.members = vec![Member::Fwmark(5), Member::Fwmark(6)];
    let reqs = ipvs::render(&before, &kalive_lb::diff(&before, &after)).expect("renders");
    let cmds: Vec<u8> = reqs.iter().map(|r| r.cmd).collect();
    // 3 address services go; mark 5 is edited; mark 6 is new with its dest.
    assert_eq!(cmds, vec![3, 3, 3, 2, 1, 5]);
}

#[test]
fn too_wide_a_range_is_refused() {
    let (vs, mut state) = group_state();
    state.services.get_mut(&vs).expect("service").spec.members = vec![Member::Addresses {
        first: "10.0.0.0".parse().expect("addr"),
        last: "10.255.255.255".parse().expect("addr"),
        port: Some(80),
    }];
    assert!(ipvs::expand(&state).is_err());
}

#[test]
fn reconcile_changes_only_what_kalive_owns() {
    let (_, desired) = group_state();
    let want = ipvs::expand(&desired).expect("expands");
    // The kernel holds: our services minus one dest edit, a foreign
    // service, and a service we created before that is no longer wanted.
    let mut kernel: IpvsTable = want.clone();
    let foreign = ServiceId::Fwmark {
        family: Family::V4,
        mark: 99,
    };
    let stale = ServiceId::Fwmark {
        family: Family::V4,
        mark: 42,
    };
    kernel.insert(
        foreign,
        want[&ServiceId::Fwmark {
            family: Family::V4,
            mark: 5,
        }]
            .clone(),
    );
    kernel.insert(
        stale,
        want[&ServiceId::Fwmark {
            family: Family::V4,
            mark: 5,
        }]
            .clone(),
    );
    let mark5 = ServiceId::Fwmark {
        family: Family::V4,
        mark: 5,
    };
    kernel
        .get_mut(&mark5)
        .expect("svc")
        .dests
        .values_mut()
        .for_each(|d| d.weight = 7);
    let owned: BTreeSet<ServiceId> = want.keys().copied().chain([stale]).collect();
    let reqs = ipvs::reconcile(&kernel, &desired, &owned).expect("reconciles");
    assert_eq!(
        reqs,
        vec![
            ipvs::del_service(&stale),
            ipvs::set_dest(
                &mark5,
                &rs("10.1.0.1", Some(80)),
                &ipvs::kernel_dest(&dest(1, Method::Nat))
            ),
        ]
    );
    assert!(ipvs::reconcile(&want, &desired, &owned)
        .expect("ok")
        .is_empty());
}

#[test]
fn render_agrees_with_reconcile_on_random_changes() {
    let mut seed = 7u64;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let mut current = LbState::default();
    for _ in 0..200 {
        let mut desired = LbState::default();
        for port in 0..next(4) {
            let mut dests = BTreeMap::new();
            for i in 0..next(4) {
                dests.insert(
                    rs(&format!("10.1.0.{i}"), Some(80)),
                    dest(next(3) as u32, Method::Nat),
                );
            }
            let sched = if next(2) == 0 {
                Scheduler::Rr
            } else {
                Scheduler::Wlc
            };
            desired.services.insert(
                vs_key("10.0.0.1", 80 + port as u16, Protocol::Tcp),
                Service {
                    spec: spec_ip("10.0.0.1", 80 + port as u16, Protocol::Tcp, sched),
                    dests,
                },
            );
        }
        let ops = kalive_lb::diff(&current, &desired);
        let rendered = ipvs::render(&current, &ops).expect("renders");
        let kernel = ipvs::expand(&current).expect("expands");
        let owned = kernel.keys().copied().collect();
        let reconciled = ipvs::reconcile(&kernel, &desired, &owned).expect("reconciles");
        let sorted = |mut v: Vec<ipvs::IpvsRequest>| {
            v.sort_by(|a, b| (a.cmd, &a.attrs).cmp(&(b.cmd, &b.attrs)));
            v
        };
        assert_eq!(sorted(rendered), sorted(reconciled), "{ops:?}");
        current = desired;
    }
}
