//! Real-server state from checker results: alpha, the AND of checkers,
//! dynamic weights, FILE_CHECK, the operator override, and the keyword
//! inheritance that decides each checker's timing.

mod common;

use std::time::Duration;

use common::*;
use kalive_check::{
    Cause, CheckConfig, CheckerConfig, Checks, Error, FileProbe, Input, MiscProbe, Outcome, Output,
    ProbeSpec, RealServerConfig, ScriptExit, Settings, Timing, VirtualServerConfig,
};

fn quick(config: &mut CheckConfig) {
    config.virtual_servers[0].settings = Settings {
        delay_loop: Some(secs(5)),
        warmup: Some(Duration::ZERO),
        retry: Some(0),
        ..Settings::default()
    };
}

#[test]
fn alpha_starts_down_until_the_first_success() {
    let mut config = one_vs(vec![rs_tcp(1), rs_tcp(2)]);
    quick(&mut config);
    config.virtual_servers[0].settings.alpha = Some(true);
    // The second real server turns alpha off for itself.
    config.virtual_servers[0].real_servers[1].settings.alpha = Some(false);
    let mut h = Harness::new(&config, 3);
    let layout = h.checks.layout();
    let (a, b) = (
        &layout.virtual_servers[0].real_servers[0],
        &layout.virtual_servers[0].real_servers[1],
    );
    assert!(!a.up, "alpha: down before any result");
    assert!(b.up, "no alpha: up before any result");
    h.run_until(at(1), &mut |_, _, _| {
        Some((Duration::from_millis(100), Outcome::success()))
    });
    assert_eq!(h.transitions(a.id), vec![(Timestamp_ms(100), true)]);
    assert!(h.transitions(b.id).is_empty());
    let up = h
        .log
        .iter()
        .find_map(|(_, o)| match o {
            Output::RealServerUp {
                reason: Cause::Checker { message, .. },
                ..
            } => Some(message.clone()),
            _ => None,
        })
        .expect("up with a cause");
    assert_eq!(up, "TCP connection to [10.0.0.1]:tcp:80 success.");
}

#[allow(non_snake_case)]
fn Timestamp_ms(ms: u64) -> kalive_check::Timestamp {
    kalive_check::Timestamp::from_millis(ms)
}

#[test]
fn a_real_server_is_up_only_while_every_checker_is_up() {
    let mut rs = RealServerConfig::new(rs_addr(1), Some(80));
    rs.checkers.push(tcp(rs_addr(1), 80));
    rs.checkers.push(tcp(rs_addr(1), 443));
    rs.checkers[1].settings.delay_loop = Some(secs(5));
    let mut config = one_vs(vec![rs]);
    quick(&mut config);
    let mut h = Harness::new(&config, 3);
    let layout = h.checks.layout();
    let rs = layout.virtual_servers[0].real_servers[0].id;
    let (c80, c443) = (
        layout.virtual_servers[0].real_servers[0].checkers[0],
        layout.virtual_servers[0].real_servers[0].checkers[1],
    );
    // Port 80 fails from 10 s to 30 s, port 443 from 20 s to 40 s.
    h.run_until(at(60), &mut |t, c, _| {
        let failing = if c == c80 {
            t >= at(10) && t < at(30)
        } else {
            t >= at(20) && t < at(40)
        };
        Some(if failing {
            (Duration::ZERO, Outcome::failure("refused"))
        } else {
            (Duration::ZERO, Outcome::success())
        })
    });
    assert_eq!(h.transitions(rs), vec![(at(10), false), (at(40), true)]);
    let changes: Vec<(kalive_check::CheckerId, bool)> = h
        .log
        .iter()
        .filter_map(|(_, o)| match o {
            Output::CheckerChanged { checker, up, .. } => Some((*checker, *up)),
            _ => None,
        })
        .filter(|(c, _)| *c == c80 || *c == c443)
        .collect();
    // First results (both up), then each checker's own transitions.
    assert_eq!(
        changes,
        vec![
            (c80, true),
            (c443, true),
            (c80, false),
            (c443, false),
            (c80, true),
            (c443, true)
        ]
    );
}

fn misc(dynamic: bool) -> CheckerConfig {
    CheckerConfig::new(ProbeSpec::Misc(MiscProbe {
        argv: vec!["/usr/local/bin/weight.sh".into(), "arg".into()],
        user: None,
        timeout: None,
        dynamic,
    }))
}

#[test]
fn misc_exit_codes_read_as_keepalived_reads_them() {
    assert_eq!(
        Outcome::from_misc_exit(ScriptExit::Code(0), true),
        Outcome::success()
    );
    assert!(!Outcome::from_misc_exit(ScriptExit::Code(1), true).success);
    let dynamic = Outcome::from_misc_exit(ScriptExit::Code(2), true);
    assert!(dynamic.success);
    assert_eq!(dynamic.dynamic_weight, Some(0));
    assert_eq!(
        Outcome::from_misc_exit(ScriptExit::Code(255), true).dynamic_weight,
        Some(253)
    );
    // Without misc_dynamic, anything but 0 fails.
    assert_eq!(
        Outcome::from_misc_exit(ScriptExit::Code(12), false),
        Outcome::failure("exited with status 12")
    );
    assert_eq!(
        Outcome::from_misc_exit(ScriptExit::Signal(9), true),
        Outcome::failure("due to signal 9")
    );
    assert_eq!(
        Outcome::from_misc_exit(ScriptExit::TimedOut, true),
        Outcome::failure("timed out")
    );
}

#[test]
fn misc_dynamic_moves_the_weight_and_a_failure_restores_it() {
    let mut rs = RealServerConfig::new(rs_addr(1), Some(80));
    rs.weight = Some(5);
    rs.checkers.push(misc(true));
    let mut config = one_vs(vec![rs]);
    quick(&mut config);
    let mut h = Harness::new(&config, 3);
    let rs = h.checks.layout().virtual_servers[0].real_servers[0].id;
    assert_eq!(h.checks.weight(rs), Some(5));
    // Exit codes per run: 12, 12, 0, 30, 1, 30.
    let codes = [12u8, 12, 0, 30, 1, 30];
    let mut run = 0;
    h.run_until(at(29), &mut |_, _, _| {
        let code = codes[run.min(codes.len() - 1)];
        run += 1;
        Some((
            Duration::ZERO,
            Outcome::from_misc_exit(ScriptExit::Code(code), true),
        ))
    });
    let weights: Vec<(u32, u32)> = h
        .log
        .iter()
        .filter_map(|(_, o)| match o {
            Output::WeightChanged { old, new, .. } => Some((*old, *new)),
            _ => None,
        })
        .collect();
    // 12 -> 10; 0 -> configured 5; 30 -> 28; failure -> 5 (and down); 30 -> 28.
    assert_eq!(weights, vec![(5, 10), (10, 5), (5, 28), (28, 5), (5, 28)]);
    assert_eq!(h.transitions(rs), vec![(at(20), false), (at(25), true)]);
    let down = h
        .log
        .iter()
        .find_map(|(_, o)| match o {
            Output::RealServerDown { reason, .. } => Some(reason.message().to_string()),
            _ => None,
        })
        .expect("a down");
    assert_eq!(
        down,
        "Misc check for [[10.0.0.1]:tcp:80 VS [10.0.0.100]:tcp:80] by [/usr/local/bin/weight.sh] \
         failed with retry disabled (exited with status 1)."
    );
}

fn file_checker(weight: i32, reverse: bool) -> CheckerConfig {
    CheckerConfig::new(ProbeSpec::File(FileProbe {
        track_file: "weight_file".into(),
        weight,
        reverse,
    }))
}

#[test]
fn file_check_weights_follow_the_tracked_value() {
    let mut rs1 = RealServerConfig::new(rs_addr(1), Some(80));
    rs1.weight = Some(100);
    rs1.checkers.push(file_checker(10, false));
    let mut rs2 = RealServerConfig::new(rs_addr(2), Some(80));
    rs2.checkers.push(file_checker(0, false));
    let mut rs3 = RealServerConfig::new(rs_addr(3), Some(80));
    rs3.checkers.push(file_checker(0, true));
    let config = one_vs(vec![rs1, rs2, rs3]);
    let mut h = Harness::new(&config, 3);
    let layout = h.checks.layout();
    let ids: Vec<_> = layout.virtual_servers[0]
        .real_servers
        .iter()
        .map(|r| r.id)
        .collect();
    // Before any value the file reads 0: weight 0 is "up", reverse is "down".
    let ups: Vec<bool> = layout.virtual_servers[0]
        .real_servers
        .iter()
        .map(|r| r.up)
        .collect();
    assert_eq!(ups, vec![true, true, false]);
    assert_eq!(h.checks.poll_timeout(), None, "FILE_CHECK is never polled");

    h.now = at(1);
    h.input(Input::TrackFile {
        name: "weight_file".into(),
        value: -3,
    });
    assert_eq!(h.checks.weight(ids[0]), Some(70));
    assert_eq!(
        h.checks.is_up(ids[1]),
        Some(false),
        "non-zero with weight 0"
    );
    assert_eq!(
        h.checks.is_up(ids[2]),
        Some(true),
        "reverse: non-zero is up"
    );
    // A value whose product reaches i32::MIN is keepalived's FAULT.
    h.input(Input::TrackFile {
        name: "weight_file".into(),
        value: i64::MIN / 2,
    });
    assert_eq!(h.checks.is_up(ids[0]), Some(false));
    assert_eq!(h.checks.weight(ids[0]), Some(100));
    h.input(Input::TrackFile {
        name: "weight_file".into(),
        value: 50_000_000,
    });
    // 100 + 500,000,000, within IPVS's range.
    assert_eq!(h.checks.weight(ids[0]), Some(500_000_100));
    assert_eq!(h.checks.is_up(ids[0]), Some(true));
    // Unknown files are ignored.
    let before = h.checks.real_servers();
    h.input(Input::TrackFile {
        name: "other".into(),
        value: 1,
    });
    assert_eq!(h.checks.real_servers(), before);
}

#[test]
fn the_operator_override_holds_a_server_down_whatever_its_checks_say() {
    let mut config = one_vs(vec![rs_tcp(1)]);
    quick(&mut config);
    let mut h = Harness::new(&config, 3);
    let rs = h.checks.layout().virtual_servers[0].real_servers[0].id;
    h.run_until(at(2), &mut always_up);
    h.input(Input::SetRealServerEnabled { rs, enabled: false });
    let status = h.checks.real_server(rs).expect("status");
    assert!(!status.up && status.healthy && !status.enabled);
    h.run_until(at(12), &mut always_up);
    h.input(Input::SetRealServerEnabled { rs, enabled: true });
    let reasons: Vec<(bool, Cause)> = h
        .log
        .iter()
        .filter_map(|(_, o)| match o {
            Output::RealServerUp { reason, .. } => Some((true, reason.clone())),
            Output::RealServerDown { reason, .. } => Some((false, reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        vec![(false, Cause::Operator), (true, Cause::Operator)]
    );
    // Disabling while a check fails, then enabling: stays down, no output.
    h.run_until(at(14), &mut always_up);
    h.input(Input::SetRealServerEnabled { rs, enabled: false });
    h.run_until(at(16), &mut |_, _, _| {
        Some((Duration::ZERO, Outcome::failure("refused")))
    });
    let count = h.transitions(rs).len();
    h.input(Input::SetRealServerEnabled { rs, enabled: true });
    assert_eq!(h.checks.is_up(rs), Some(false));
    assert_eq!(
        h.transitions(rs).len(),
        count,
        "still unhealthy: no transition"
    );
}

#[test]
fn settings_inherit_virtual_server_to_real_server_to_checker_then_defaults() {
    let addr = rs_addr(1);
    let connect = kalive_check::Connect::to(addr, Some(53));
    let resolve = |spec: ProbeSpec, checker: Settings, rs: Settings, vs: Settings| {
        let mut v = VirtualServerConfig::new("v", None);
        v.settings = vs;
        let mut r = RealServerConfig::new(addr, Some(53));
        r.settings = rs;
        let mut c = CheckerConfig::new(spec);
        c.settings = checker;
        r.checkers.push(c);
        v.real_servers.push(r);
        let config = CheckConfig {
            log_all_failures: false,
            virtual_servers: vec![v.clone()],
        };
        // Through the engine's own resolution.
        Checks::new(&config, at(0), 1).expect("accepted");
        let vs_settings = Settings {
            connect_timeout: Some(kalive_check::DEFAULT_CONNECT_TIMEOUT),
            delay_loop: Some(kalive_check::DEFAULT_DELAY_LOOP),
            alpha: Some(false),
            ..Settings::default()
        };
        let rs_settings = v.real_servers[0]
            .settings
            .inherit(&v.settings.inherit(&vs_settings));
        Timing::resolve(&v.real_servers[0].checkers[0], &rs_settings).expect("timing")
    };
    // Nothing set: 60 s loop, warmup = loop, 5 s timeout, TCP retry 1 / 1 s.
    let t = resolve(
        ProbeSpec::Tcp(connect.clone()),
        Settings::default(),
        Settings::default(),
        Settings::default(),
    );
    assert_eq!(
        t,
        Timing {
            probe_timeout: secs(5),
            delay_loop: secs(60),
            warmup: secs(60),
            retry: 1,
            delay_before_retry: secs(1),
            alpha: false,
        }
    );
    // DNS: retry 3, delay_before_retry = the checker's delay_loop.
    let dns = ProbeSpec::Dns {
        connect: connect.clone(),
        query_type: kalive_check::DnsQueryType::Soa,
        name: ".".into(),
    };
    let vs = Settings {
        delay_loop: Some(secs(20)),
        connect_timeout: Some(secs(3)),
        ..Settings::default()
    };
    let checker = Settings {
        delay_loop: Some(secs(7)),
        ..Settings::default()
    };
    let t = resolve(dns, checker, Settings::default(), vs.clone());
    assert_eq!(
        (t.retry, t.delay_before_retry, t.warmup),
        (3, secs(7), secs(7))
    );
    assert_eq!(t.probe_timeout, secs(3));
    // HTTP: delay_before_retry 3 s unless the real server says otherwise;
    // the real server's values beat the virtual server's.
    let http = ProbeSpec::HttpGet(kalive_check::HttpProbe {
        connect: connect.clone(),
        http_protocol: kalive_check::HttpVersion::Http10,
        virtualhost: None,
        enable_sni: false,
        fast_recovery: false,
        urls: vec![kalive_check::UrlProbe::new("/health")],
    });
    let t = resolve(
        http.clone(),
        Settings::default(),
        Settings::default(),
        vs.clone(),
    );
    assert_eq!(t.delay_before_retry, secs(3));
    let rs = Settings {
        delay_before_retry: Some(secs(9)),
        retry: Some(4),
        warmup: Some(secs(2)),
        alpha: Some(true),
        ..Settings::default()
    };
    let t = resolve(http, Settings::default(), rs, vs);
    assert_eq!(
        (
            t.delay_before_retry,
            t.retry,
            t.warmup,
            t.alpha,
            t.delay_loop
        ),
        (secs(9), 4, secs(2), true, secs(20))
    );
    // MISC: retry 0.
    let t = resolve(
        ProbeSpec::Misc(MiscProbe {
            argv: vec!["x".into()],
            user: None,
            timeout: None,
            dynamic: false,
        }),
        Settings::default(),
        Settings::default(),
        Settings::default(),
    );
    assert_eq!(t.retry, 0);
}

#[test]
fn configurations_the_engine_cannot_run_are_refused() {
    let mut dup_vs = one_vs(vec![]);
    dup_vs
        .virtual_servers
        .push(dup_vs.virtual_servers[0].clone());
    assert!(matches!(
        Checks::new(&dup_vs, at(0), 1),
        Err(Error::DuplicateVirtualServer(_))
    ));
    let dup_rs = one_vs(vec![rs_tcp(1), rs_tcp(1)]);
    assert_eq!(
        Checks::new(&dup_rs, at(0), 1).err(),
        Some(Error::DuplicateRealServer {
            vs: "[10.0.0.100]:tcp:80".into(),
            rs: "[10.0.0.1]:80".into()
        })
    );
    let mut zero = one_vs(vec![rs_tcp(1)]);
    zero.virtual_servers[0].settings.delay_loop = Some(Duration::ZERO);
    assert_eq!(
        Checks::new(&zero, at(0), 1).err(),
        Some(Error::ZeroDelayLoop)
    );
    // A refused reload changes nothing.
    let good = one_vs(vec![rs_tcp(1)]);
    let mut checks = Checks::new(&good, at(0), 1).expect("accepted");
    let before = checks.real_servers();
    assert!(checks.reconfigure(at(1), &zero).is_err());
    assert_eq!(checks.real_servers(), before);
    assert_eq!(checks.layout().virtual_servers.len(), 1);
}

#[test]
fn inputs_and_outputs_round_trip_through_json() {
    let mut config = one_vs(vec![rs_tcp(1)]);
    quick(&mut config);
    let mut h = Harness::new(&config, 3);
    h.run_until(at(6), &mut |_, _, _| {
        Some((Duration::ZERO, Outcome::failure("refused")))
    });
    assert!(!h.log.is_empty());
    for (_, out) in &h.log {
        let json = serde_json::to_string(out).expect("serialize");
        let back: Output = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(&back, out);
    }
    let input = Input::ProbeDone {
        checker: kalive_check::CheckerId(3),
        probe: kalive_check::ProbeId(9),
        outcome: Outcome::from_misc_exit(ScriptExit::Code(7), true),
    };
    let json = serde_json::to_string(&input).expect("serialize");
    assert_eq!(serde_json::from_str::<Input>(&json).expect("parse"), input);
    let json = serde_json::to_string(&config).expect("config serializes");
    assert_eq!(
        serde_json::from_str::<CheckConfig>(&json).expect("config parses"),
        config
    );
}

#[test]
fn a_recorded_run_replays_to_the_same_outputs() {
    let mut config = one_vs(vec![rs_tcp(1), rs_tcp(2)]);
    quick(&mut config);
    config.virtual_servers[0].settings.retry = Some(1);
    config.virtual_servers[0].settings.warmup = Some(secs(5));
    let mut h = Harness::new(&config, 99);
    let rs = h.checks.layout().virtual_servers[0].real_servers[1].id;
    h.run_until(at(40), &mut |t, c, _| {
        Some(if (t.since_origin().as_secs() / 10 + c.0) % 3 == 0 {
            (secs(1), Outcome::failure("refused"))
        } else {
            (Duration::ZERO, Outcome::success())
        })
    });
    h.input(Input::SetRealServerEnabled { rs, enabled: false });
    assert!(h.log.len() > 10, "a run worth replaying");
    // Record as JSON lines, read back, feed a fresh engine.
    let recording: Vec<String> = h
        .events
        .iter()
        .map(|e| serde_json::to_string(e).expect("serialize"))
        .collect();
    let mut replay = Checks::new(&config, kalive_check::Timestamp::ZERO, 99).expect("config");
    let mut outputs = Vec::new();
    for line in &recording {
        let (now, event): (kalive_check::Timestamp, Option<Input>) =
            serde_json::from_str(line).expect("parse");
        match event {
            Some(input) => replay.handle_input(now, input),
            None => replay.handle_timeout(now),
        }
        while let Some(out) = replay.poll_output() {
            outputs.push((now, out));
        }
    }
    assert_eq!(outputs, h.log);
}
