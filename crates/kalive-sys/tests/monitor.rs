//! The link/address monitor on the real kernel: initial dump, then link
//! down/up and address add/delete made with iproute2.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{ip, require_root, Lan};
use kalive_sys::{in_netns_tokio, AddrEvent, LinkEvent, Monitor, NetEvent};

/// Next event matching `wanted`, within 3 s and 1000 events.
async fn expect_event(
    monitor: &mut Monitor,
    what: &str,
    mut wanted: impl FnMut(&NetEvent) -> bool,
) -> NetEvent {
    let search = async {
        for _ in 0..1000 {
            let event = monitor
                .next()
                .await
                .expect("monitor open")
                .expect("monitor event");
            if wanted(&event) {
                return event;
            }
        }
        panic!("no {what} in 1000 events");
    };
    tokio::time::timeout(Duration::from_secs(3), search)
        .await
        .unwrap_or_else(|_| panic!("no {what} within 3 s"))
}

fn link_state(event: &NetEvent, name: &str) -> Option<bool> {
    match event {
        NetEvent::Link(LinkEvent::Changed(link)) if link.name == name => Some(link.up),
        _ => None,
    }
}

#[tokio::test]
async fn monitor_dumps_then_reports_link_and_address_changes() {
    require_root();
    let lan = Lan::new("mon");
    let mut monitor = in_netns_tokio(&lan.a.name, Monitor::subscribe)
        .expect("enter netns")
        .expect("subscribe");
    let vip: IpAddr = "10.201.0.251".parse().unwrap();

    // The dump: va is there and up, then the end-of-dump marker.
    let mut dumped_va_up = false;
    expect_event(&mut monitor, "end of dump", |event| {
        dumped_va_up |= link_state(event, "va") == Some(true);
        *event == NetEvent::DumpDone
    })
    .await;
    assert!(dumped_va_up, "dump did not report va up");

    ip(&lan.a.name, "link set va down");
    expect_event(&mut monitor, "va down", |e| {
        link_state(e, "va") == Some(false)
    })
    .await;
    ip(&lan.a.name, "link set va up");
    expect_event(&mut monitor, "va up", |e| link_state(e, "va") == Some(true)).await;

    ip(&lan.a.name, "addr add 10.201.0.251/32 dev va");
    expect_event(
        &mut monitor,
        "VIP added",
        |e| matches!(e, NetEvent::Addr(AddrEvent::Added(a)) if a.addr == vip && a.prefix_len == 32),
    )
    .await;
    ip(&lan.a.name, "addr del 10.201.0.251/32 dev va");
    expect_event(
        &mut monitor,
        "VIP removed",
        |e| matches!(e, NetEvent::Addr(AddrEvent::Removed(a)) if a.addr == vip),
    )
    .await;

    ip(&lan.a.name, "link del va");
    expect_event(
        &mut monitor,
        "va removed",
        |e| matches!(e, NetEvent::Link(LinkEvent::Removed(l)) if l.name == "va"),
    )
    .await;
}
