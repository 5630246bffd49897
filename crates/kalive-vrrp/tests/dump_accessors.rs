//! The read-only accessors the daemon's state dumps use (keepalived's
//! "Read timeout", "Master down timer", "Wantstate", fault counts).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use kalive_vrrp::{Family, Input, InstanceConfig, InstanceId, State, Timestamp, Vrrp};

fn backup() -> Vrrp {
    let mut c = InstanceConfig::new("VI_1", 51, Family::V4, "eth0", 100)
        .with_vip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 200)));
    c.source = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    Vrrp::new(vec![c], Vec::new(), Timestamp::from_secs_f64(0.0)).expect("engine")
}

const ID: InstanceId = InstanceId(0);

#[test]
fn a_backup_reads_until_master_down_then_a_master_until_its_next_advert() {
    let mut vrrp = backup();
    vrrp.handle_input(Timestamp::from_secs_f64(0.0), Input::Start);
    // 3 × 1 s + skew (256 − 100) / 256 s = 3.609375 s: keepalived's
    // "Master down timer = 3609375 usecs" for priority 100.
    let down = vrrp.master_down_interval(ID).expect("instance");
    assert_eq!(down, Duration::from_micros(3_609_375));
    assert_eq!(vrrp.timer(ID), Some(Timestamp::from_micros(3_609_375)));
    assert_eq!(vrrp.wants_master(ID), Some(false));
    assert_eq!(vrrp.faulted(ID), Some(false));

    vrrp.handle_timeout(Timestamp::from_micros(3_609_375));
    assert_eq!(vrrp.state(ID), Some(State::Master));
    assert_eq!(vrrp.wants_master(ID), Some(true));
    assert_eq!(
        vrrp.timer(ID),
        Some(Timestamp::from_micros(4_609_375)),
        "a master's next advert one interval later"
    );
}

#[test]
fn a_down_interface_sets_the_fault_flag() {
    let mut vrrp = backup();
    vrrp.handle_input(Timestamp::from_secs_f64(0.0), Input::Start);
    vrrp.handle_input(
        Timestamp::from_secs_f64(1.0),
        Input::Link {
            interface: "eth0".into(),
            up: false,
        },
    );
    assert_eq!(vrrp.state(ID), Some(State::Fault));
    assert_eq!(vrrp.faulted(ID), Some(true));
    assert_eq!(vrrp.timer(InstanceId(7)), None, "unknown instance");
}

#[test]
fn script_verdicts_and_file_values_as_the_engine_counts_them() {
    let mut c = InstanceConfig::new("VI_1", 51, Family::V4, "eth0", 100);
    c.source = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    c.track_scripts.push(kalive_vrrp::TrackedScript {
        name: "chk".into(),
        weight: -10,
        reverse: false,
        rise: 2,
        fall: 1,
        init_fail: false,
    });
    c.track_files.push(kalive_vrrp::TrackedFile {
        name: "flag".into(),
        weight: 1,
        reverse: false,
        initial_value: 0,
    });
    let mut vrrp = Vrrp::new(vec![c], Vec::new(), Timestamp::from_secs_f64(0.0)).expect("engine");
    vrrp.handle_input(Timestamp::from_secs_f64(0.0), Input::Start);
    assert_eq!(vrrp.script_ok("chk"), None, "no result yet");
    let ok = |vrrp: &mut Vrrp, at: f64, success: bool| {
        vrrp.handle_input(
            Timestamp::from_secs_f64(at),
            Input::ScriptResult {
                name: "chk".into(),
                success,
            },
        )
    };
    ok(&mut vrrp, 1.0, false);
    assert_eq!(vrrp.script_ok("chk"), Some(false), "fall 1");
    ok(&mut vrrp, 2.0, true);
    assert_eq!(
        vrrp.script_ok("chk"),
        Some(false),
        "rise 2: one is not enough"
    );
    ok(&mut vrrp, 3.0, true);
    assert_eq!(vrrp.script_ok("chk"), Some(true));
    assert_eq!(vrrp.script_ok("other"), None);

    assert_eq!(vrrp.file_value("flag"), Some(0));
    vrrp.handle_input(
        Timestamp::from_secs_f64(4.0),
        Input::FileValue {
            name: "flag".into(),
            value: 7,
        },
    );
    assert_eq!(vrrp.file_value("flag"), Some(7));
    assert_eq!(vrrp.file_value("other"), None);
}
