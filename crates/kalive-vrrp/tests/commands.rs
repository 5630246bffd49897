//! Manual switchover (issue 11): Promote, Demote, Clear and the drop
//! reports, on the virtual clock and on the simulated LAN.

mod common;

use std::time::Duration;

use common::lab::{advert, at, instance, is_garp, us, v4, Lab};
use common::{Flavour, Lan};
use kalive_vrrp::{
    Authentication, Command, Input, InstanceId, NotifyState, Output, Reason, RxDrop, State,
    SyncGroupConfig,
};

fn command(c: Command) -> Input {
    Input::Command(c)
}

#[test]
fn promote_takes_over_at_once_even_with_nopreempt() {
    let mut c = instance("vi", 1, 100, 1);
    c.nopreempt = true;
    let mut lab = Lab::started(vec![c.clone()], vec![]);
    lab.input_at(at(0.5), advert(&c, 200, v4(9)));
    lab.input_at(at(1.0), command(Command::Promote(InstanceId(0))));
    assert_eq!(lab.state(0), State::Master);
    assert_eq!(lab.vrrp.priority_override(InstanceId(0)), Some(254));
    assert_eq!(lab.vrrp.effective_priority(InstanceId(0)), Some(254));
    assert_eq!(lab.vrrp.base_priority(InstanceId(0)), Some(100));
    assert_eq!(
        lab.vrrp.last_transition(InstanceId(0)),
        Some((at(1.0), State::Backup, Reason::Command))
    );
    // As on any takeover: advert with the new priority, addresses, GARPs,
    // notify.
    let out = lab.since(at(1.0));
    assert_eq!(
        out[0],
        &Output::PriorityChanged {
            instance: InstanceId(0),
            from: 100,
            to: 254
        }
    );
    assert!(matches!(
        out[1],
        Output::StateChanged {
            to: State::Master,
            reason: Reason::Command,
            ..
        }
    ));
    assert_eq!(lab.adverts(0, at(1.0), at(1.0)), vec![(at(1.0), 254)]);
    assert_eq!(out.iter().filter(|o| is_garp(o)).count(), 5);
    // The old master's adverts (200) are lower now: we stay and re-assert.
    lab.input_at(at(1.5), advert(&c, 200, v4(9)));
    assert_eq!(lab.state(0), State::Master);
    // An owner keeps 255.
    let mut lab = Lab::started(vec![instance("own", 2, 255, 1)], vec![]);
    lab.input(command(Command::Promote(InstanceId(0))));
    assert_eq!(lab.vrrp.effective_priority(InstanceId(0)), Some(255));
}

#[test]
fn demote_resigns_and_holds_priority_one_until_cleared() {
    let c = instance("vi", 1, 100, 1);
    let mut lab = Lab::started(vec![c.clone()], vec![]);
    lab.run_until(at(4.0));
    assert_eq!(lab.state(0), State::Master);
    lab.input_at(at(4.2), command(Command::Demote(InstanceId(0))));
    assert_eq!(lab.state(0), State::Backup);
    assert_eq!(lab.adverts(0, at(4.2), at(4.2)), vec![(at(4.2), 0)]);
    assert_eq!(lab.vrrp.effective_priority(InstanceId(0)), Some(1));
    // The new master (50, lower than our configured 100) is accepted.
    for k in 0..6 {
        lab.input_at(at(4.5 + f64::from(k)), advert(&c, 50, v4(9)));
    }
    assert_eq!(lab.transitions(0, State::Master), vec![us(3_609_375)]);
    // Clear: back to 100, no transition by itself...
    lab.input_at(at(10.0), command(Command::Clear(InstanceId(0))));
    assert_eq!(lab.vrrp.priority_override(InstanceId(0)), None);
    assert_eq!(lab.vrrp.effective_priority(InstanceId(0)), Some(100));
    assert_eq!(lab.state(0), State::Backup);
    assert!(lab.since(at(10.0)).iter().all(|o| matches!(
        o,
        Output::PriorityChanged {
            from: 1,
            to: 100,
            ..
        }
    )));
    // ...then preempt does its work: the 50 adverts are discarded and the
    // timer of the last accepted one (9.5 s, now with skew 156/256) fires.
    for k in 0..6 {
        lab.input_at(at(10.5 + f64::from(k)), advert(&c, 50, v4(9)));
    }
    lab.run_until(at(17.0));
    assert_eq!(
        lab.transitions(0, State::Master),
        vec![us(3_609_375), us(9_500_000 + 3_609_375)]
    );
}

#[test]
fn commands_move_the_whole_sync_group() {
    let a = instance("a", 1, 100, 1);
    let b = instance("b", 2, 100, 1);
    let group = SyncGroupConfig {
        name: "G".into(),
        members: vec!["a".into(), "b".into()],
    };
    let mut lab = Lab::started(vec![a.clone(), b.clone()], vec![group]);
    lab.input_at(at(0.5), advert(&a, 200, v4(9)));
    lab.input_at(at(0.5), advert(&b, 200, v4(9)));
    lab.input_at(at(1.0), command(Command::Promote(InstanceId(1))));
    assert_eq!((lab.state(0), lab.state(1)), (State::Master, State::Master));
    assert_eq!(
        lab.vrrp.last_transition(InstanceId(0)),
        Some((at(1.0), State::Backup, Reason::SyncGroup))
    );
    assert_eq!(lab.vrrp.priority_override(InstanceId(0)), Some(254));
    assert!(lab.since(at(1.0)).iter().any(|o| matches!(
        o,
        Output::Notify {
            state: NotifyState::Master,
            target: kalive_vrrp::NotifyTarget::Group(_),
            ..
        }
    )));
    lab.input_at(at(2.0), command(Command::Demote(InstanceId(0))));
    assert_eq!((lab.state(0), lab.state(1)), (State::Backup, State::Backup));
    assert_eq!(lab.vrrp.priority_override(InstanceId(1)), Some(1));
    lab.input(command(Command::Clear(InstanceId(1))));
    assert_eq!(lab.vrrp.priority_override(InstanceId(0)), None);
}

#[test]
fn promote_waits_in_fault() {
    let c = instance("vi", 1, 100, 1);
    let mut lab = Lab::started(vec![c], vec![]);
    lab.input(Input::Link {
        interface: "eth0".into(),
        up: false,
    });
    lab.input(command(Command::Promote(InstanceId(0))));
    assert_eq!(lab.state(0), State::Fault);
    assert_eq!(lab.vrrp.priority_override(InstanceId(0)), Some(254));
    // An unknown id is ignored.
    lab.input(command(Command::Demote(InstanceId(7))));
    lab.input(command(Command::Clear(InstanceId(7))));
}

#[test]
fn a_flood_of_bad_packets_reports_once_per_poll_cycle() {
    let mut c = instance("vi", 1, 100, 1);
    c.authentication = Authentication::pass("secret");
    let mut wrong = c.clone();
    wrong.authentication = Authentication::pass("guess");
    let mut lab = Lab::started(vec![c], vec![]);
    lab.collect();
    for k in 0..1000 {
        let t = at(0.001 * f64::from(k));
        lab.vrrp.handle_input(t, advert(&wrong, 200, v4(9)));
        lab.vrrp.handle_input(t, advert(&wrong, 200, v4(8)));
    }
    // An unknown VRID is reported too, without an instance.
    let stranger = instance("x", 42, 100, 1);
    lab.vrrp
        .handle_input(at(1.0), advert(&stranger, 200, v4(7)));
    let out = lab.vrrp.drain_outputs();
    assert_eq!(
        out,
        vec![
            Output::PacketDropped {
                instance: Some(InstanceId(0)),
                src: v4(9),
                reason: RxDrop::AuthFailure,
            },
            Output::PacketDropped {
                instance: None,
                src: v4(7),
                reason: RxDrop::UnknownVrid,
            },
        ]
    );
    assert_eq!(
        lab.vrrp.stats(InstanceId(0)).map(|s| s.auth_failure),
        Some(2000)
    );
    assert_eq!(lab.vrrp.unknown_vrid_count(), 1);
    // The next cycle reports again.
    lab.vrrp.handle_input(at(1.1), advert(&wrong, 200, v4(8)));
    assert!(matches!(
        lab.vrrp.poll_output(),
        Some(Output::PacketDropped { src, .. }) if src == v4(8)
    ));
    assert_eq!(lab.vrrp.poll_output(), None);
    lab.vrrp.handle_input(at(1.2), advert(&wrong, 200, v4(8)));
    assert!(lab.vrrp.poll_output().is_some());
}

// ----- on the simulated LAN ----------------------------------------------------

#[test]
fn lan_promote_with_nopreempt_on_both_nodes() {
    for flavour in Flavour::all() {
        let mut lan = Lan::new(flavour, &[200, 100], 11);
        for r in 0..2 {
            lan.reconfigure(r, |c| c.nopreempt = true);
        }
        lan.start_all();
        lan.run_for(flavour.master_down(1) + flavour.advert_interval);
        assert_eq!(lan.masters(), vec![0]);
        let t = lan.now;
        lan.command(1, Command::Promote(InstanceId(0)));
        assert_eq!(lan.masters(), vec![0, 1]);
        // The old master hears 254 and steps down within the delivery
        // delay: double mastership lasts far less than an advert interval.
        lan.run_for(flavour.advert_interval);
        assert_eq!(lan.masters(), vec![1], "{flavour:?}");
        let down = lan
            .transitions_since(t)
            .into_iter()
            .find(|x| x.router == 0 && x.to == State::Backup)
            .expect("old master stepped down");
        assert_eq!(down.reason, Reason::HigherPriority);
        assert!(down.at - t <= lan.delay_max, "{flavour:?}: {down:?}");
        // And it stays that way.
        lan.run_for(flavour.advert_interval * 20);
        assert_eq!(lan.masters(), vec![1], "{flavour:?}");
        assert_eq!(lan.transitions_since(t).len(), 2, "{flavour:?}");
    }
}

#[test]
fn lan_demote_hands_over_within_the_skew() {
    for flavour in Flavour::all() {
        let mut lan = Lan::new(flavour, &[200, 100, 50], 13);
        lan.start_all();
        lan.run_for(flavour.master_down(1) + flavour.advert_interval);
        assert_eq!(lan.masters(), vec![0]);
        let t = lan.now;
        lan.command(0, Command::Demote(InstanceId(0)));
        assert!(lan.masters().is_empty());
        lan.run_for(flavour.advert_interval * 20);
        let took = lan.first_master_since(t).expect("takeover");
        assert_eq!(took.router, 1, "{flavour:?}");
        // RFC 5798 §6.4.2: priority 0 sets Master_Down_Timer to Skew_Time.
        assert!(
            took.at - t <= flavour.skew(100) + lan.delay_max + Duration::from_millis(1),
            "{flavour:?}: {took:?}"
        );
        assert_eq!(lan.masters(), vec![1], "{flavour:?}: no take-back");
        // Clear: router 0 is 200 again and preempts by protocol.
        let cleared = lan.now;
        lan.command(0, Command::Clear(InstanceId(0)));
        lan.run_for(flavour.master_down(200) + flavour.advert_interval * 2);
        assert_eq!(lan.masters(), vec![0], "{flavour:?}");
        let back = lan.first_master_since(cleared).expect("preempted");
        assert_eq!(back.reason, Reason::MasterDown);
    }
}
