//! Reload (`Vrrp::reconfigure`, issue 9): matched instances keep running,
//! only the differences become outputs, on the virtual clock with exact
//! times (reference §1.15; keepalived's `clear_diff_vrrp` minus its flaps).

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::lab::{advert, at, instance, is_garp, is_notify, us, v4, vip, Lab, IF};
use common::{Flavour, Lan};
use kalive_vrrp::{
    Command, Error, Input, InstanceConfig, InstanceId, NotifyState, NotifyTarget, Output, Reason,
    State, SyncGroupConfig, Timestamp, TrackedScript, VirtualAddress, VirtualEntry,
};

fn script(name: &str, weight: i32) -> TrackedScript {
    TrackedScript {
        name: name.into(),
        weight,
        reverse: false,
        rise: 1,
        fall: 1,
        init_fail: false,
    }
}

fn address(addr: IpAddr, key: u32) -> VirtualAddress {
    VirtualAddress {
        addr,
        prefix_len: 32,
        interface: IF.into(),
        key,
    }
}

/// Two instances: "m" becomes MASTER at 3.609375 s; "b" stays BACKUP
/// behind a 200 master heard every second from 0.5 s.
fn master_and_backup() -> (Lab, Vec<InstanceConfig>) {
    let configs = vec![instance("m", 1, 100, 1), instance("b", 2, 100, 1)];
    let mut lab = Lab::started(configs.clone(), vec![]);
    for k in 0..5 {
        lab.input_at(at(0.5 + f64::from(k)), advert(&configs[1], 200, v4(9)));
    }
    lab.run_until(at(4.6));
    assert_eq!((lab.state(0), lab.state(1)), (State::Master, State::Backup));
    (lab, configs)
}

#[test]
fn unchanged_reload_keeps_master_and_timers_with_no_output_at_all() {
    let (mut lab, mut configs) = master_and_backup();
    let stats = lab.vrrp.stats(InstanceId(0)).cloned();
    let since = lab.vrrp.last_transition(InstanceId(0));
    // The daemon's tables may number things differently: a new key for the
    // same VIP is no change.
    configs[0].vips[0].key = 41;
    let report = lab
        .vrrp
        .reconfigure(lab.now, configs.clone(), vec![])
        .expect("reload");
    assert_eq!(
        report.kept,
        vec![
            (InstanceId(0), InstanceId(0)),
            (InstanceId(1), InstanceId(1))
        ]
    );
    assert!(report.added.is_empty() && report.removed.is_empty());
    assert!(report.retired.is_empty(), "{:?}", report.retired);
    assert_eq!(lab.vrrp.poll_output(), None);
    assert_eq!(lab.vrrp.stats(InstanceId(0)).cloned(), stats);
    assert_eq!(lab.vrrp.last_transition(InstanceId(0)), since);
    assert_eq!(
        since,
        Some((us(3_609_375), State::Backup, Reason::MasterDown))
    );
    // The master's adverts keep their rhythm; the backup's master-down
    // deadline (last advert 4.5 s + 3.609375 s) is not restarted.
    lab.run_until(at(9.0));
    assert_eq!(
        lab.adverts(0, at(4.6), at(6.7)),
        vec![
            (us(4_609_375), 100),
            (us(5_609_375), 100),
            (us(6_609_375), 100)
        ]
    );
    assert_eq!(lab.transitions(1, State::Master), vec![us(8_109_375)]);
    assert_eq!(lab.transitions(0, State::Master), vec![us(3_609_375)]);
}

#[test]
fn lowered_master_priority_goes_out_in_the_next_advert_and_nothing_else() {
    let (mut lab, mut configs) = master_and_backup();
    configs[0].priority = 50;
    let t = lab.now;
    let report = lab.vrrp.reconfigure(t, configs, vec![]).expect("reload");
    assert!(report.retired.is_empty());
    lab.collect();
    let out = lab.since(t);
    assert_eq!(
        out,
        vec![&Output::PriorityChanged {
            instance: InstanceId(0),
            from: 100,
            to: 50
        }]
    );
    lab.run_until(at(5.7));
    assert_eq!(
        lab.adverts(0, t, at(5.7)),
        vec![(us(4_609_375), 50), (us(5_609_375), 50)]
    );
    assert_eq!(lab.state(0), State::Master, "no election of its own");
}

#[test]
fn raised_backup_preempts_when_its_master_down_timer_fires() {
    let configs = vec![instance("b", 1, 100, 1)];
    let master = configs[0].clone();
    for nopreempt in [false, true] {
        let mut configs = configs.clone();
        configs[0].nopreempt = nopreempt;
        let mut lab = Lab::started(configs.clone(), vec![]);
        lab.input_at(at(0.5), advert(&master, 150, v4(9)));
        lab.input_at(at(1.5), advert(&master, 150, v4(9)));
        configs[0].priority = 200;
        let t = at(2.0);
        lab.run_until(t);
        lab.vrrp.reconfigure(t, configs, vec![]).expect("reload");
        lab.collect();
        for k in 0..8 {
            lab.input_at(at(2.5 + f64::from(k)), advert(&master, 150, v4(9)));
        }
        lab.run_until(at(12.0));
        if nopreempt {
            assert_eq!(lab.state(0), State::Backup, "nopreempt never preempts");
        } else {
            // The 150 adverts after the reload are discarded (RFC 5798
            // §6.4.2); the deadline of the last accepted one (1.5 s) moved
            // with the new skew: 1.5 + 3 + 56/256 s.
            assert_eq!(lab.transitions(0, State::Master), vec![us(4_718_750)]);
        }
    }
}

#[test]
fn vip_changes_emit_only_the_differences() {
    let mut c = instance("m", 1, 100, 1);
    c.vips = vec![address(vip(1, 1), 0), address(vip(1, 2), 1)];
    let mut lab = Lab::started(vec![c.clone()], vec![]);
    lab.run_until(at(4.0));
    assert_eq!(lab.state(0), State::Master);
    // .1 goes, .2 stays (renumbered), .3 comes.
    c.vips = vec![address(vip(1, 2), 0), address(vip(1, 3), 1)];
    let t = lab.now;
    let report = lab.vrrp.reconfigure(t, vec![c], vec![]).expect("reload");
    assert_eq!(
        report.retired,
        vec![Output::RemoveAddresses {
            instance: InstanceId(0),
            excluded: false,
            addresses: vec![address(vip(1, 1), 0)],
        }]
    );
    lab.collect();
    let out = lab.since(t);
    assert_eq!(
        out[0],
        &Output::AddAddresses {
            instance: InstanceId(0),
            excluded: false,
            addresses: vec![address(vip(1, 3), 1)],
        }
    );
    // One burst (garp_master_repeat = 5) for the new address only.
    let garps: Vec<_> = out[1..].iter().filter(|o| is_garp(o)).collect();
    assert_eq!(garps.len(), 5);
    assert!(garps.iter().all(|o| matches!(
        o,
        Output::SendGarp { addr, .. } if IpAddr::V4(*addr) == vip(1, 3)
    )));
    assert_eq!(out.len(), 6, "{out:?}");
    // The next advert carries the new list.
    lab.run_until(at(5.0));
    let Some((_, Output::SendAdvert { bytes, .. })) = lab.log.last() else {
        panic!("no advert");
    };
    let repr =
        kalive_wire::AdvertRepr::parse(bytes, kalive_wire::Family::V4, kalive_wire::Checksum::V2)
            .expect("advert");
    assert_eq!(repr.addrs, vec![vip(1, 2), vip(1, 3)]);
}

#[test]
fn a_backup_reload_touches_no_address() {
    let (mut lab, mut configs) = master_and_backup();
    configs[1].vips.push(address(vip(2, 7), 1));
    configs[1].virtual_routes = vec![VirtualEntry::new(0, "10.9.0.0/16 via 10.0.0.254")];
    let report = lab
        .vrrp
        .reconfigure(lab.now, configs, vec![])
        .expect("reload");
    assert!(report.retired.is_empty());
    assert_eq!(lab.vrrp.poll_output(), None);
}

#[test]
fn route_and_rule_changes_compare_by_what_they_are() {
    let mut c = instance("m", 1, 100, 1);
    c.virtual_routes = vec![
        VirtualEntry::new(0, "10.1.0.0/16 via 10.0.0.254"),
        VirtualEntry::new(1, "10.2.0.0/16 via 10.0.0.254"),
    ];
    c.virtual_rules = vec![VirtualEntry::new(0, "from 192.168.1.1 table 100")];
    let mut lab = Lab::started(vec![c.clone()], vec![]);
    lab.run_until(at(4.0));
    // The first route goes, the second stays under a new handle, a third
    // comes; the rule stays.
    c.virtual_routes = vec![
        VirtualEntry::new(0, "10.2.0.0/16 via 10.0.0.254"),
        VirtualEntry::new(1, "10.3.0.0/16 via 10.0.0.254"),
    ];
    c.virtual_rules = vec![VirtualEntry::new(5, "from 192.168.1.1 table 100")];
    let t = lab.now;
    let report = lab.vrrp.reconfigure(t, vec![c], vec![]).expect("reload");
    assert_eq!(
        report.retired,
        vec![Output::RemoveRoutes {
            instance: InstanceId(0),
            routes: vec![0],
        }]
    );
    lab.collect();
    assert_eq!(
        lab.since(t),
        vec![&Output::AddRoutes {
            instance: InstanceId(0),
            routes: vec![1],
        }]
    );
}

#[test]
fn instances_added_removed_and_renamed() {
    let (mut lab, _) = master_and_backup();
    // "m" is renamed and moved to position 1 (matched by VRID, family,
    // interface and mode, as keepalived matches); "b" goes; "n" comes.
    let mut gone_master = instance("x", 3, 255, 1);
    gone_master.notify_deleted = true;
    let configs = vec![instance("n", 4, 100, 1), instance("m2", 1, 100, 1)];
    let t = lab.now;
    let report = lab
        .vrrp
        .reconfigure(t, configs.clone(), vec![])
        .expect("reload");
    assert_eq!(report.kept, vec![(InstanceId(0), InstanceId(1))]);
    assert_eq!(report.added, vec![InstanceId(0)]);
    assert_eq!(report.removed, vec!["b".to_string()]);
    // The removed BACKUP: to INIT, and FAULT (keepalived's word without
    // notify_deleted), in old terms.
    assert_eq!(
        report.retired,
        vec![
            Output::StateChanged {
                instance: InstanceId(1),
                from: State::Backup,
                to: State::Init,
                reason: Reason::Reload,
            },
            Output::Notify {
                target: NotifyTarget::Instance(InstanceId(1)),
                name: "b".into(),
                state: NotifyState::Fault,
                priority: 100,
            },
        ]
    );
    lab.collect();
    // Only the new instance starts; the renamed master says nothing.
    let out = lab.since(t);
    assert!(out.iter().all(|o| match o {
        Output::StateChanged { instance, .. } => *instance == InstanceId(0),
        Output::Notify { target, .. } => *target == NotifyTarget::Instance(InstanceId(0)),
        _ => false,
    }));
    assert_eq!(lab.state(0), State::Backup);
    assert_eq!(lab.state(1), State::Master);
    assert_eq!(lab.vrrp.instance_id("m2"), Some(InstanceId(1)));
    // Its notifies use the new name from now on.
    lab.input(Input::Command(Command::ForceBackup(InstanceId(1))));
    assert!(lab.since(t).iter().any(|o| matches!(
        o,
        Output::Notify { name, state: NotifyState::Backup, .. } if name == "m2"
    )));

    // A removed MASTER resigns with priority 0 and removes its addresses;
    // with notify_deleted it notifies DELETED.
    let mut lab = Lab::started(vec![gone_master.clone()], vec![]);
    assert_eq!(lab.state(0), State::Master);
    let report = lab
        .vrrp
        .reconfigure(lab.now, vec![], vec![])
        .expect("reload");
    let kinds: Vec<String> = report
        .retired
        .iter()
        .map(|o| match o {
            Output::SendAdvert { priority, .. } => format!("advert {priority}"),
            Output::RemoveAddresses { addresses, .. } => format!("remove {}", addresses[0].addr),
            Output::Notify { state, .. } => format!("notify {}", state.as_str()),
            Output::StateChanged { to, .. } => format!("to {}", to.as_str()),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "to INIT",
            "advert 0",
            "remove 192.168.3.1",
            "notify DELETED"
        ]
    );
    assert_eq!(lab.vrrp.poll_output(), None);
    assert_eq!(lab.vrrp.poll_timeout(), None);
}

#[test]
fn a_multicast_instance_turned_unicast_is_a_different_instance() {
    let (mut lab, mut configs) = master_and_backup();
    configs[0].unicast_peers = vec![kalive_vrrp::UnicastPeer::new(v4(2))];
    let report = lab
        .vrrp
        .reconfigure(lab.now, configs, vec![])
        .expect("reload");
    assert_eq!(report.removed, vec!["m".to_string()]);
    assert_eq!(report.added, vec![InstanceId(0)]);
    assert!(report
        .retired
        .iter()
        .any(|o| matches!(o, Output::SendAdvert { priority: 0, .. })));
    assert_eq!(lab.state(0), State::Backup);
}

#[test]
fn trackers_carry_over_by_name_and_fault_stays_fault() {
    let mut c = instance("vi", 1, 100, 1);
    c.track_scripts.push(script("chk", 0));
    let mut lab = Lab::started(vec![c.clone()], vec![]);
    lab.input(Input::ScriptResult {
        name: "chk".into(),
        success: true,
    });
    lab.run_until(at(4.0));
    assert_eq!(lab.state(0), State::Master);
    // Same script (rise changed): still good, nothing happens.
    c.track_scripts[0].rise = 3;
    let report = lab
        .vrrp
        .reconfigure(lab.now, vec![c.clone()], vec![])
        .expect("reload");
    assert!(report.retired.is_empty());
    assert_eq!(lab.vrrp.poll_output(), None);
    // The link goes down: FAULT. A reload while still faulty: no output.
    lab.input_at(
        at(5.0),
        Input::Link {
            interface: IF.into(),
            up: false,
        },
    );
    assert_eq!(lab.state(0), State::Fault);
    let report = lab
        .vrrp
        .reconfigure(at(6.0), vec![c.clone()], vec![])
        .expect("reload");
    assert!(report.retired.is_empty());
    assert_eq!(lab.vrrp.poll_output(), None);
    assert_eq!(lab.state(0), State::Fault);
    // Link back: BACKUP, then MASTER after master-down.
    lab.input_at(
        at(7.0),
        Input::Link {
            interface: IF.into(),
            up: true,
        },
    );
    lab.run_until(at(12.0));
    assert_eq!(
        lab.transitions(0, State::Master),
        vec![us(3_609_375), us(7_000_000 + 3_609_375)]
    );
    // A new weight-0 script that has not run yet takes the MASTER to FAULT:
    // it resigns in old terms, the transition is in new terms.
    c.track_scripts.push(script("new", 0));
    let t = lab.now;
    let report = lab.vrrp.reconfigure(t, vec![c], vec![]).expect("reload");
    assert!(matches!(
        report.retired.as_slice(),
        [
            Output::SendAdvert { priority: 0, .. },
            Output::RemoveAddresses { .. }
        ]
    ));
    lab.collect();
    assert_eq!(lab.state(0), State::Fault);
    assert_eq!(lab.transitions(0, State::Fault).last(), Some(&t));
}

#[test]
fn sync_groups_are_re_formed_from_the_new_configuration() {
    let a = instance("a", 1, 100, 1);
    let b = instance("b", 2, 100, 1);
    let mut lab = Lab::started(vec![a.clone(), b.clone()], vec![]);
    lab.run_until(at(4.0));
    assert_eq!((lab.state(0), lab.state(1)), (State::Master, State::Master));
    let group = SyncGroupConfig {
        name: "G".into(),
        members: vec!["a".into(), "b".into()],
    };
    let t = lab.now;
    let report = lab
        .vrrp
        .reconfigure(t, vec![a.clone(), b.clone()], vec![group])
        .expect("reload");
    assert!(report.retired.is_empty());
    lab.collect();
    // The new group tells its state once; the members say nothing.
    assert_eq!(
        lab.since(t),
        vec![&Output::Notify {
            target: NotifyTarget::Group(kalive_vrrp::GroupId(0)),
            name: "G".into(),
            state: NotifyState::Master,
            priority: 0,
        }]
    );
    // Now they move together: a higher advert for "a" takes "b" along.
    lab.input_at(at(4.2), advert(&a, 200, v4(9)));
    assert_eq!((lab.state(0), lab.state(1)), (State::Backup, State::Backup));
    // Without the group again, "b" goes its own way (takes over alone
    // after master-down).
    lab.vrrp
        .reconfigure(at(4.5), vec![a.clone(), b], vec![])
        .expect("reload");
    lab.collect();
    lab.input_at(at(5.2), advert(&a, 200, v4(9)));
    lab.run_until(at(8.0));
    assert_eq!((lab.state(0), lab.state(1)), (State::Backup, State::Master));

    // A member the new configuration puts in FAULT takes its group along.
    let mut a2 = instance("a", 1, 100, 1);
    a2.track_scripts.push(script("never_ran", 0));
    let b = instance("b", 2, 100, 1);
    let group = SyncGroupConfig {
        name: "G".into(),
        members: vec!["a".into(), "b".into()],
    };
    let mut lab = Lab::started(
        vec![instance("a", 1, 100, 1), b.clone()],
        vec![group.clone()],
    );
    lab.run_until(at(4.0));
    assert_eq!(lab.state(1), State::Master);
    lab.vrrp
        .reconfigure(lab.now, vec![a2, b], vec![group])
        .expect("reload");
    lab.collect();
    assert_eq!((lab.state(0), lab.state(1)), (State::Fault, State::Fault));
    assert_eq!(
        lab.log.last().map(|(_, o)| o.clone()),
        Some(Output::Notify {
            target: NotifyTarget::Group(kalive_vrrp::GroupId(0)),
            name: "G".into(),
            state: NotifyState::Fault,
            priority: 0,
        })
    );
}

#[test]
fn a_refused_configuration_leaves_the_engine_untouched() {
    let (mut lab, configs) = master_and_backup();
    let timeout = lab.vrrp.poll_timeout();
    lab.input(Input::Command(Command::Promote(InstanceId(1))));
    lab.log.clear();
    let mut bad = configs.clone();
    bad.push(instance("m", 9, 100, 1));
    assert_eq!(
        lab.vrrp.reconfigure(lab.now, bad, vec![]),
        Err(Error::DuplicateInstance("m".into()))
    );
    let mut zero = configs;
    zero[0].vrid = 0;
    assert!(lab.vrrp.reconfigure(lab.now, zero, vec![]).is_err());
    assert_eq!((lab.state(0), lab.state(1)), (State::Master, State::Master));
    assert_eq!(lab.vrrp.priority_override(InstanceId(1)), Some(254));
    assert!(lab.vrrp.poll_timeout() <= timeout);
    assert_eq!(lab.vrrp.poll_output(), None);
}

#[test]
fn overrides_survive_a_reload() {
    let (mut lab, mut configs) = master_and_backup();
    lab.input(Input::Command(Command::Demote(InstanceId(0))));
    lab.input(Input::Command(Command::Promote(InstanceId(1))));
    configs[0].priority = 120;
    configs[1].priority = 90;
    lab.log.clear();
    let report = lab
        .vrrp
        .reconfigure(lab.now, configs, vec![])
        .expect("reload");
    assert!(report.retired.is_empty());
    lab.collect();
    assert!(lab.log.is_empty(), "{:?}", lab.log);
    assert_eq!(lab.vrrp.priority_override(InstanceId(0)), Some(1));
    assert_eq!(lab.vrrp.priority_override(InstanceId(1)), Some(254));
    assert_eq!(lab.vrrp.base_priority(InstanceId(0)), Some(120));
    assert_eq!(lab.vrrp.effective_priority(InstanceId(1)), Some(254));
    lab.input(Input::Command(Command::Clear(InstanceId(0))));
    assert_eq!(lab.vrrp.effective_priority(InstanceId(0)), Some(120));
}

#[test]
fn pending_outputs_at_reload_time_are_retired_with_the_old_ids() {
    let (mut lab, configs) = master_and_backup();
    lab.vrrp
        .handle_input(lab.now, Input::Command(Command::ForceBackup(InstanceId(0))));
    let report = lab
        .vrrp
        .reconfigure(
            lab.now,
            vec![configs[1].clone(), configs[0].clone()],
            vec![],
        )
        .expect("reload");
    assert_eq!(
        report.kept,
        vec![
            (InstanceId(1), InstanceId(0)),
            (InstanceId(0), InstanceId(1))
        ]
    );
    assert!(matches!(
        report.retired.first(),
        Some(Output::SendAdvert {
            instance: InstanceId(0),
            priority: 0,
            ..
        })
    ));
    assert!(report.retired.iter().any(is_notify));
    assert_eq!(lab.vrrp.poll_output(), None);
    assert_eq!(lab.state(1), State::Backup);
}

// ----- on the simulated LAN ----------------------------------------------------

#[test]
fn lan_priority_lowered_on_the_master_hands_over_by_protocol() {
    for flavour in Flavour::all() {
        let mut lan = Lan::new(flavour, &[200, 150, 100], 7);
        lan.start_all();
        lan.run_for(flavour.master_down(1) + flavour.advert_interval * 2);
        assert_eq!(lan.masters(), vec![0]);
        let t = lan.now;
        let report = lan.reconfigure(0, |c| c.priority = 50);
        assert!(report.retired.is_empty());
        // Router 1 (150) discards the 50 adverts and takes over when its
        // master-down timer fires; router 0 steps down on its advert.
        lan.run_for(flavour.master_down(150) + flavour.advert_interval * 2);
        assert_eq!(lan.masters(), vec![1], "{flavour:?}");
        let took = lan.first_master_since(t).expect("takeover");
        assert_eq!(took.router, 1);
        assert!(took.at - t <= flavour.master_down(150) + lan.delay_max);
        // The reload itself notified nothing anywhere.
        assert!(!lan
            .outputs
            .iter()
            .any(|(at, r, o)| *at == t && (*r == 0 && is_notify(o))));
        assert!(lan.transitions_since(t).iter().all(|x| x.router != 2));
    }
}

#[test]
fn lan_reload_of_every_router_changes_nothing() {
    let flavour = Flavour::V3_IPV4;
    let mut lan = Lan::new(flavour, &[200, 150, 100], 9)
        .with_delay(Duration::from_millis(1), Duration::from_millis(5));
    lan.start_all();
    lan.run_for(flavour.master_down(1) + flavour.advert_interval);
    let t = lan.now;
    for r in 0..3 {
        let report = lan.reconfigure(r, |_| {});
        assert!(report.retired.is_empty());
        lan.run_for(flavour.advert_interval / 3);
    }
    lan.run_for(flavour.advert_interval * 10);
    assert!(lan.transitions_since(t).is_empty());
    // Only the master's second GARP burst (5 s after it took over).
    assert!(lan
        .outputs
        .iter()
        .all(|(at, r, o)| *at < t || (*r == 0 && is_garp(o))));
    assert_eq!(lan.masters(), vec![0]);
}

#[test]
fn reload_before_start_and_after_shutdown_says_nothing() {
    let mut c = instance("vi", 1, 100, 1);
    let mut lab = Lab::new(vec![c.clone()], vec![]);
    lab.input(Input::Command(Command::Demote(InstanceId(0))));
    c.priority = 150;
    let report = lab
        .vrrp
        .reconfigure(
            Timestamp::ZERO,
            vec![c.clone(), instance("new", 2, 100, 1)],
            vec![],
        )
        .expect("reload");
    assert_eq!(report.added, vec![InstanceId(1)]);
    assert!(report.retired.is_empty());
    assert_eq!(lab.vrrp.poll_output(), None);
    assert_eq!(lab.vrrp.priority_override(InstanceId(0)), Some(1));
    assert_eq!(lab.state(0), State::Init);
    lab.input(Input::Start);
    assert_eq!((lab.state(0), lab.state(1)), (State::Backup, State::Backup));
    lab.run_until(at(10.0));
    lab.input(Input::Shutdown);
    lab.log.clear();
    let report = lab
        .vrrp
        .reconfigure(lab.now, vec![], vec![])
        .expect("reload");
    assert_eq!(report.removed.len(), 2);
    assert!(report.retired.is_empty());
    assert_eq!(lab.vrrp.poll_output(), None);
    assert_eq!(lab.vrrp.poll_timeout(), None);
}
