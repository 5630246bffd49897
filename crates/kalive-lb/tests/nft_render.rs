//! The nftables rendering as data: a golden batch for a configuration
//! that uses every feature, the plan against a listing nft itself wrote
//! (tests/golden/nft_listing.json: the golden batch applied in a namespace
//! and listed with `nft -j list table inet kalive`), and the limitation
//! messages. Regenerate the golden batch with `UPDATE_GOLDEN=1`, then the
//! listing: `ip netns add g; ip netns exec g nft -j -f nft_table.json;
//! ip netns exec g nft -j list table inet kalive > nft_listing.json;
//! ip netns del g`.

use kalive_lb::nft::{self, NftListing};
use kalive_lb::{
    Family, LbConfig, LbEngine, LbState, Member, Method, Persistence, Protocol, RealServerConfig,
    RsKey, Scheduler, SchedulerFlags, ServiceConfig, SorryServerConfig, VsKey,
};
use serde_json::Value;
use std::net::IpAddr;
use std::time::Duration;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn rs(addr: &str, port: Option<u16>, weight: u32) -> RealServerConfig {
    RealServerConfig {
        key: RsKey {
            addr: ip(addr),
            port,
        },
        weight,
        method: Method::Nat,
        inhibit_on_failure: false,
        upper_threshold: 0,
        lower_threshold: 0,
        initially_alive: true,
    }
}

fn base(
    key: VsKey,
    members: Vec<Member>,
    family: Family,
    protocol: Option<Protocol>,
) -> ServiceConfig {
    ServiceConfig {
        key,
        members,
        family,
        protocol,
        scheduler: Scheduler::Rr,
        flags: SchedulerFlags::default(),
        persistence: None,
        persistence_engine: None,
        quorum: 1,
        hysteresis: 0,
        omega: false,
        sorry_server: None,
        real_servers: Vec::new(),
    }
}

/// Every feature the backend renders.
fn config() -> LbConfig {
    let vip = ip("10.0.0.1");
    let mut web = base(
        VsKey::Ip {
            addr: vip,
            port: Some(80),
            protocol: Protocol::Tcp,
        },
        vec![Member::Addresses {
            first: vip,
            last: vip,
            port: Some(80),
        }],
        Family::V4,
        Some(Protocol::Tcp),
    );
    web.scheduler = Scheduler::Wrr;
    web.persistence = Some(Persistence {
        timeout: Duration::from_secs(300),
        prefix_len: Some(24),
    });
    web.real_servers = vec![
        rs("10.1.0.2", Some(8080), 1),
        rs("10.1.1.2", Some(8080), 2),
        rs("10.1.2.2", Some(8080), 3),
    ];
    web.real_servers[2].inhibit_on_failure = true;
    web.real_servers[2].initially_alive = false;

    let vip6 = ip("fd00::1");
    let mut dns = base(
        VsKey::Ip {
            addr: vip6,
            port: Some(53),
            protocol: Protocol::Udp,
        },
        vec![Member::Addresses {
            first: vip6,
            last: vip6,
            port: Some(53),
        }],
        Family::V6,
        Some(Protocol::Udp),
    );
    dns.scheduler = Scheduler::Sh;
    dns.persistence = Some(Persistence {
        timeout: Duration::from_secs(60),
        prefix_len: Some(64),
    });
    dns.real_servers = vec![
        rs("fd01:0::2", Some(8080), 1),
        rs("fd01:1::2", Some(8080), 1),
    ];

    let mut marked = base(
        VsKey::Fwmark {
            mark: 7,
            family: Family::V4,
        },
        vec![Member::Fwmark(7)],
        Family::V4,
        None,
    );
    marked.scheduler = Scheduler::Mh;
    marked.flags.hash_port = true;
    marked.real_servers = vec![rs("10.1.0.2", None, 1), rs("10.1.1.2", Some(8080), 1)];

    let mut group = base(
        VsKey::Group {
            name: "front".into(),
            protocol: Some(Protocol::Tcp),
            family: Family::V4,
        },
        vec![
            Member::Addresses {
                first: ip("10.0.0.10"),
                last: ip("10.0.0.12"),
                port: Some(443),
            },
            Member::Addresses {
                first: ip("10.0.0.20"),
                last: ip("10.0.0.20"),
                port: None,
            },
            Member::Fwmark(9),
        ],
        Family::V4,
        Some(Protocol::Tcp),
    );
    group.scheduler = Scheduler::Dh;
    group.real_servers = vec![rs("10.1.0.2", None, 1), rs("10.1.1.2", None, 1)];

    let mut down = base(
        VsKey::Ip {
            addr: vip,
            port: Some(25),
            protocol: Protocol::Tcp,
        },
        vec![Member::Addresses {
            first: vip,
            last: vip,
            port: Some(25),
        }],
        Family::V4,
        Some(Protocol::Tcp),
    );
    down.scheduler = Scheduler::Wlc;
    down.real_servers = vec![rs("10.1.0.2", Some(25), 1)];
    down.real_servers[0].initially_alive = false;
    down.sorry_server = Some(SorryServerConfig {
        key: RsKey {
            addr: ip("10.1.2.2"),
            port: Some(2525),
        },
        method: Method::Nat,
        inhibit: false,
        weight: 1,
    });

    LbConfig {
        services: vec![web, dns, marked, group, down],
        rs_init_notifies: false,
    }
}

fn desired() -> LbState {
    LbEngine::new(config()).0.desired()
}

fn golden(path: &str, actual: &str) {
    let full = format!("{}/tests/golden/{path}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&full, actual).expect("write golden");
    }
    let expected = std::fs::read_to_string(&full).expect("golden file (UPDATE_GOLDEN=1 writes it)");
    assert_eq!(
        expected, actual,
        "{path} differs; UPDATE_GOLDEN=1 rewrites it after review"
    );
}

#[test]
fn full_table_matches_the_golden_batch() {
    let batch = nft::plan(&nft::render(&desired()), None).expect("a new table is a batch");
    let pretty = serde_json::to_string_pretty(&batch).expect("json") + "\n";
    golden("nft_table.json", &pretty);
}

#[test]
fn the_rendered_table_reads_back_as_up_to_date() {
    let listing = include_str!("golden/nft_listing.json");
    let batch = nft::reconcile(&desired(), Some(listing)).expect("listing parses");
    assert_eq!(batch, None, "nothing to change against what nft listed");
}

fn commands(batch: &Value) -> Vec<String> {
    batch["nftables"]
        .as_array()
        .expect("array")
        .iter()
        .map(|c| {
            let (verb, body) = c
                .as_object()
                .and_then(|o| o.iter().next())
                .expect("command");
            let (kind, obj) = body
                .as_object()
                .and_then(|o| o.iter().next())
                .expect("object");
            let name = obj
                .get("name")
                .or(obj.get("chain"))
                .and_then(Value::as_str)
                .unwrap_or("");
            format!("{verb} {kind} {name}")
        })
        .collect()
}

#[test]
fn a_weight_change_rewrites_only_its_service_chain() {
    let listing = NftListing::parse(include_str!("golden/nft_listing.json")).expect("listing");
    let mut engine = LbEngine::new(config()).0;
    let web = config().services[0].key.clone();
    let r0 = config().services[0].real_servers[0].key;
    engine.set_weight(&web, &r0, 5).expect("known server");
    let batch = nft::plan(&nft::render(&engine.desired()), Some(&listing)).expect("a change");
    let chain = nft::service_chain(&web);
    let mut expected = vec![
        "add table kalive".to_owned(),
        format!("flush chain {chain}"),
    ];
    // wrr 5:2 with persistence: two lookups and the counter map.
    expected.extend(std::iter::repeat_n(format!("add rule {chain}"), 3));
    assert_eq!(commands(&batch), expected);
}

#[test]
fn a_removed_server_takes_its_chain_and_set_with_it() {
    let listing = NftListing::parse(include_str!("golden/nft_listing.json")).expect("listing");
    let mut cfg = config();
    let web = cfg.services[0].key.clone();
    let gone = cfg.services[0].real_servers.remove(1).key;
    let state = LbEngine::new(cfg).0.desired();
    let cmds = commands(&nft::plan(&nft::render(&state), Some(&listing)).expect("a change"));
    assert!(
        cmds.contains(&format!("delete chain {}", nft::server_chain(&web, &gone))),
        "{cmds:?}"
    );
    assert!(
        cmds.contains(&format!("delete set {}", nft::persistence_set(&web, &gone))),
        "{cmds:?}"
    );
    assert!(
        cmds.contains(&format!("flush chain {}", nft::service_chain(&web))),
        "{cmds:?}"
    );
    assert!(!cmds.iter().any(|c| c.starts_with("add set")), "{cmds:?}");
}

#[test]
fn limitations_name_each_difference_and_what_kalive_does() {
    let mut cfg = config();
    cfg.services[0].real_servers[0].method = Method::Dr;
    cfg.services[1].persistence_engine = Some("sip".into());
    let messages = nft::limitations(&cfg);
    assert_eq!(
        messages,
        vec![
            "virtual server [10.0.0.1]:tcp:80: lvs_method DR is not possible with the nftables backend (it can only rewrite addresses); kalive forwards with NAT (DNAT) instead, so the real servers must route their replies back through this director",
            "virtual server [fd00::1]:udp:53: persistence_engine sip is an IPVS module the nftables backend does not have; persistence follows the client address only",
            "virtual server [10.0.0.1]:tcp:25: scheduler wlc counts active connections, which nftables cannot; the nftables backend schedules it as wrr (weighted round robin with the same weights)",
        ]
    );
    let mut plain = config();
    plain.services.truncate(4);
    assert!(nft::limitations(&plain).is_empty());
    plain.services[0].real_servers[0].weight = 100_000;
    let messages = nft::limitations(&plain);
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains("shares are approximate"),
        "{messages:?}"
    );
}

#[test]
fn a_garbled_listing_is_an_error() {
    assert!(nft::reconcile(&desired(), Some("not json")).is_err());
    assert!(nft::reconcile(&desired(), Some("{\"x\": 1}")).is_err());
}
