//! VRRP-side blocks (reference §1.6–§1.8; keepalived `vrrp/vrrp_parser.c`).

use crate::lexer::Word;
use crate::model::vrrp::{
    AuthHmac, AuthType, Authentication, BfdInstance, BfdTargets, GarpExtraIf, GarpGroup,
    HmacAntiReplay, HmacMode, InitFile, InitialState, InterfaceDelay, IpvlanMode, IpvlanSpec,
    LinkbeatInterface, LinkbeatMethod, OldUnicastChecksum, ParamMatch, SyncGroup, TrackFile,
    TrackGroup, TrackProcess, TrackRef, TrackedInterface, UnicastPeer, VmacSpec, VrrpInstance,
    VrrpScript, VrrpVersion,
};
use crate::model::Config;
use crate::parse::ipcmd::{parse_address, parse_route, parse_rule};
use crate::parse::script::{command_script, notify_script, script_user};
use crate::parse::{Ctx, Kw};
use crate::syntax::Stmt;
use std::time::Duration;

fn name_of(stmt: &Stmt) -> String {
    stmt.arg(0).map(|w| w.text.clone()).unwrap_or_default()
}

fn text(stmt: &Stmt, i: usize) -> String {
    stmt.arg(i).map(|w| w.text.clone()).unwrap_or_default()
}

// ---------------------------------------------------------------- static_*

pub fn static_ipaddress(ctx: &mut Ctx, config: &mut Config, stmt: &Stmt) {
    ctx.in_block("static_ipaddress", |ctx| {
        for s in stmt.children() {
            if let Some(a) = parse_address(ctx, s, true) {
                config.static_ipaddresses.push(a);
            }
        }
    });
}

pub fn static_routes(ctx: &mut Ctx, config: &mut Config, stmt: &Stmt) {
    ctx.in_block("static_routes", |ctx| {
        for s in stmt.children() {
            if let Some(r) = parse_route(ctx, s) {
                config.static_routes.push(r);
            }
        }
    });
}

pub fn static_rules(ctx: &mut Ctx, config: &mut Config, stmt: &Stmt) {
    ctx.in_block("static_rules", |ctx| {
        for s in stmt.children() {
            if let Some(r) = parse_rule(ctx, s) {
                config.static_rules.push(r);
            }
        }
    });
}

// ------------------------------------------------------- small top blocks

pub fn linkbeat_interfaces(ctx: &mut Ctx, config: &mut Config, stmt: &Stmt) {
    for s in stmt.children() {
        let unknown = entry_interface_unknown(ctx, config, &s.keyword.text);
        let method = match s.arg(0).map(|w| w.text.to_ascii_uppercase()) {
            _ if unknown => LinkbeatMethod::Mii,
            None => LinkbeatMethod::Mii,
            Some(m) if m == "MII" => LinkbeatMethod::Mii,
            Some(m) if m == "ETHTOOL" => LinkbeatMethod::Ethtool,
            Some(m) if m == "IOCTL" => LinkbeatMethod::Ioctl,
            Some(m) => {
                ctx.error(s.span(), format!("Unknown linkbeat method {m}"));
                LinkbeatMethod::Mii
            }
        };
        config.linkbeat_interfaces.push(LinkbeatInterface {
            name: s.keyword.text.clone(),
            method,
        });
    }
}

/// A list block's entries: every word of every line.
fn list_words(stmt: &Stmt) -> Vec<String> {
    stmt.children()
        .iter()
        .flat_map(|s| s.words().map(|w| w.text.clone()))
        .collect()
}

pub fn track_group(ctx: &mut Ctx, config: &mut Config, stmt: &Stmt) {
    let mut tg = TrackGroup {
        name: name_of(stmt),
        group: Vec::new(),
    };
    // keepalived: "track_group NAME already defined", and the block is
    // skipped (`vrrp/vrrp_parser.c:static_track_group_handler`).
    if config.track_groups.iter().any(|g| g.name == tg.name) {
        stmt.block_taken.set(true);
        ctx.error(
            stmt.span(),
            format!("track_group {} already defined", tg.name),
        );
        return;
    }
    ctx.in_block(format!("track_group {}", tg.name), |ctx| {
        ctx.run_block(
            stmt.children(),
            &[Kw::block("group", |_, tg: &mut TrackGroup, s| {
                tg.group.extend(list_words(s))
            })],
            &mut tg,
        )
    });
    config.track_groups.push(tg);
}

/// keepalived looks the interface of a linkbeat or up/down delay entry up
/// first and skips the rest of the line when it does not exist (the
/// "unknown interface" error comes from [`crate::validate`]).
fn entry_interface_unknown(ctx: &Ctx, config: &Config, name: &str) -> bool {
    config.global_defs.dynamic_interfaces.is_none() && !ctx.sys.interface_exists(name)
}

pub fn interface_up_down_delays(ctx: &mut Ctx, config: &mut Config, stmt: &Stmt) {
    let max = Duration::from_secs(255);
    for s in stmt.children() {
        if entry_interface_unknown(ctx, config, &s.keyword.text) {
            config.interface_up_down_delays.push(InterfaceDelay {
                interface: s.keyword.text.clone(),
                down: Duration::ZERO,
                up: Duration::ZERO,
            });
            continue;
        }
        let Some(down) = s.arg(0) else {
            ctx.error(
                s.span(),
                format!("Missing down delay for interface {}", s.keyword.text),
            );
            continue;
        };
        let Some(down) = ctx.timer(down, Duration::ZERO, max) else {
            continue;
        };
        let up = match s.arg(1) {
            Some(w) => match ctx.timer(w, Duration::ZERO, max) {
                Some(u) => u,
                None => continue,
            },
            None => down,
        };
        config.interface_up_down_delays.push(InterfaceDelay {
            interface: s.keyword.text.clone(),
            down,
            up,
        });
    }
}

const GARP_GROUP: &[Kw<GarpGroup>] = &[
    Kw::new("garp_interval", 1, |c, g, s| {
        g.garp_interval = s.arg(0).and_then(|w| c.timer_zero_ok(w))
    }),
    Kw::new("gna_interval", 1, |c, g, s| {
        g.gna_interval = s.arg(0).and_then(|w| c.timer_zero_ok(w))
    }),
    Kw::new("interface", 1, |c, g, s| {
        let name = text(s, 0);
        if g.interfaces.contains(&name) {
            c.error(
                s.span(),
                format!("garp_group already specified for {name} - ignoring"),
            );
        } else {
            g.interfaces.push(name)
        }
    }),
    Kw::block("interfaces", |c, g, s| {
        let names = list_words(s);
        if names.is_empty() {
            c.warning(s.span(), "Warning - empty garp_group interfaces block");
        }
        for name in names {
            if g.interfaces.contains(&name) {
                c.error(
                    s.span(),
                    format!("garp_group already specified for {name} - ignoring"),
                );
            } else {
                g.interfaces.push(name)
            }
        }
    }),
];

pub fn garp_group(ctx: &mut Ctx, config: &mut Config, stmt: &Stmt) {
    let mut g = GarpGroup::default();
    ctx.in_block("garp_group", |ctx| {
        ctx.run_block(stmt.children(), GARP_GROUP, &mut g)
    });
    config.garp_groups.push(g);
}

// ----------------------------------------------------------- trackers

/// `weight N [reverse]` after position `from`; returns (weight, reverse).
fn weight_reverse(ctx: &mut Ctx, stmt: &Stmt, min: i64, max: i64) -> Option<(i32, bool)> {
    let w = stmt.arg(0)?;
    let weight = ctx.int(w, min, max)? as i32;
    let reverse = match stmt.arg(1) {
        None => false,
        Some(r) if r.text == "reverse" => true,
        Some(r) => {
            ctx.error(&r.span, format!("Unknown weight option {}", r.text));
            false
        }
    };
    Some((weight, reverse))
}

const TRACK_FILE: &[Kw<TrackFile>] = &[
    Kw::checked_msg("file", 1, "track file file name missing", |c, t, s| {
        if t.file.is_some() {
            c.error(
                s.span(),
                format!("File already set for track file - ignoring {}", text(s, 0)),
            );
            return;
        }
        t.file = Some(text(s, 0).into())
    }),
    Kw::checked_msg(
        "weight",
        1,
        "No weight specified for track file - ignoring",
        |c, t, s| {
            if let Some((w, r)) = weight_reverse(c, s, -254, 254) {
                t.weight = w;
                t.weight_reverse = r;
            }
        },
    ),
    Kw::new("init_file", 0, |c, t, s| {
        let mut init = InitFile {
            value: 0,
            overwrite: false,
        };
        for w in &s.args {
            if w.text == "overwrite" {
                init.overwrite = true;
            } else if let Some(v) = c.int(w, -254, 254) {
                init.value = v;
            }
        }
        t.init_file = Some(init);
    }),
];

pub fn track_file(ctx: &mut Ctx, config: &mut Config, stmt: &Stmt) {
    let mut t = TrackFile {
        name: name_of(stmt),
        file: None,
        weight: 1,
        weight_reverse: false,
        init_file: None,
        span: Some(stmt.span().clone()),
    };
    ctx.in_block(format!("track_file {}", t.name), |ctx| {
        ctx.run_block(stmt.children(), TRACK_FILE, &mut t)
    });
    if t.file.is_none() {
        ctx.error(
            stmt.span(),
            format!("No file set for track_file {}", t.name),
        );
        return;
    }
    config.track_files.push(t);
}

const TRACK_PROCESS: &[Kw<TrackProcess>] = &[
    Kw::new("process", 1, |c, t, s| {
        if t.process.is_some() {
            c.error(
                s.span(),
                format!(
                    "Process already set for track process - ignoring {}",
                    text(s, 0)
                ),
            );
            return;
        }
        t.process = Some(text(s, 0));
        if s.args.len() > 1 {
            t.parameters = Some(s.args[1..].iter().map(|w| w.text.clone()).collect());
        }
    }),
    // Without a word keepalived says nothing here (the end of the block
    // then reports what is missing).
    Kw::lenient("param_match", 1, |c, t, s| {
        t.param_match = match text(s, 0).as_str() {
            "initial" => ParamMatch::Initial,
            "partial" => ParamMatch::Partial,
            o => {
                c.error(s.span(), format!("Invalid param_match type {o}"));
                t.param_match
            }
        }
    }),
    Kw::checked_msg(
        "weight",
        1,
        "No weight specified for track process - ignoring",
        |c, t, s| {
            if let Some((w, r)) = weight_reverse(c, s, -254, 254) {
                t.weight = w;
                t.weight_reverse = r;
            }
        },
    ),
    Kw::new("quorum", 1, |c, t, s| {
        if let Some(v) = s.arg(0).and_then(|w| c.uint(w, 1, u32::MAX as u64)) {
            t.quorum = v as u32
        }
    }),
    Kw::new("quorum_max", 1, |c, t, s| {
        t.quorum_max = s
            .arg(0)
            .and_then(|w| c.uint(w, 0, u32::MAX as u64))
            .map(|v| v as u32)
    }),
    // keepalived 2.2.7: each delay in [0.000001, 3600] s
    // (`vrrp_tprocess_delay_general`); a bad value leaves the old one.
    Kw::new("fork_delay", 1, |c, t, s| {
        if let Some(d) = process_delay(c, s) {
            t.fork_delay = Some(d)
        }
    }),
    Kw::new("terminate_delay", 1, |c, t, s| {
        if let Some(d) = process_delay(c, s) {
            t.terminate_delay = Some(d)
        }
    }),
    Kw::new("delay", 1, |c, t, s| {
        if let Some(d) = process_delay(c, s) {
            t.fork_delay = Some(d);
            t.terminate_delay = Some(d);
        }
    }),
    Kw::new("full_command", 0, |_, t, _| t.full_command = true),
];

pub fn track_process(ctx: &mut Ctx, config: &mut Config, stmt: &Stmt) {
    let mut t = TrackProcess {
        name: name_of(stmt),
        process: None,
        parameters: None,
        param_match: ParamMatch::Initial,
        weight: 0,
        weight_reverse: false,
        quorum: 1,
        quorum_max: None,
        fork_delay: None,
        terminate_delay: None,
        full_command: false,
        span: Some(stmt.span().clone()),
    };
    ctx.in_block(format!("vrrp_track_process {}", t.name), |ctx| {
        ctx.run_block(stmt.children(), TRACK_PROCESS, &mut t)
    });
    if t.process.is_none() {
        ctx.error(
            stmt.span(),
            format!("No process specified for track_process {}", t.name),
        );
        return;
    }
    config.track_processes.push(t);
}

const VRRP_SCRIPT: &[Kw<VrrpScript>] = &[
    // No words: nothing set; the end of the block says "No script set".
    Kw::lenient("script", 1, |c, v, s| v.script = command_script(c, s)),
    // keepalived 2.2.7 reads whole seconds here (a fraction is an error).
    Kw::new("interval", 1, |c, v, s| {
        if let Some(n) = c.uint(&s.args[0], 1, u64::from(u32::MAX) / 1_000_000) {
            v.interval = Duration::from_secs(n)
        }
    }),
    Kw::new("timeout", 1, |c, v, s| {
        v.timeout = c
            .uint(&s.args[0], 1, u64::from(u32::MAX) / 1_000_000)
            .map(Duration::from_secs)
    }),
    Kw::new("weight", 1, |c, v, s| {
        if let Some((w, r)) = weight_reverse(c, s, -253, 253) {
            v.weight = w;
            v.weight_reverse = r;
        }
    }),
    Kw::new("rise", 1, |c, v, s| {
        if let Some(n) = s.arg(0).and_then(|w| c.uint(w, 1, u32::MAX as u64)) {
            v.rise = n as u32
        }
    }),
    Kw::new("fall", 1, |c, v, s| {
        if let Some(n) = s.arg(0).and_then(|w| c.uint(w, 1, u32::MAX as u64)) {
            v.fall = n as u32
        }
    }),
    Kw::new("user", 1, |c, v, s| v.user = script_user(c, s, 0)),
    Kw::new("init_fail", 0, |_, v, _| v.init_fail = true),
];

pub fn vrrp_script(ctx: &mut Ctx, config: &mut Config, stmt: &Stmt) {
    let mut v = VrrpScript::new(name_of(stmt));
    v.span = Some(stmt.span().clone());
    ctx.in_block(format!("vrrp_script {}", v.name), |ctx| {
        ctx.run_block(stmt.children(), VRRP_SCRIPT, &mut v)
    });
    if ctx.stopped {
        return;
    }
    if crate::validate::vrrp_script_parsed(ctx, config, &mut v) {
        config.vrrp_scripts.push(v);
    }
}

const BFD: &[Kw<BfdInstance>] = &[
    Kw::new("neighbor_ip", 1, |c, b, s| {
        b.neighbor_ip = s.arg(0).and_then(|w| c.ip(w))
    }),
    Kw::quiet_alias("neighbour_ip", "neighbor_ip", 1, |c, b, s| {
        b.neighbor_ip = s.arg(0).and_then(|w| c.ip(w))
    }),
    Kw::new("source_ip", 1, |c, b, s| {
        b.source_ip = s.arg(0).and_then(|w| c.ip(w))
    }),
    Kw::new("min_rx", 1, |c, b, s| {
        if let Some(v) = s.arg(0).and_then(|w| c.uint(w, 1, 1000 * 1000)) {
            b.min_rx = Duration::from_millis(v)
        }
    }),
    Kw::new("min_tx", 1, |c, b, s| {
        if let Some(v) = s.arg(0).and_then(|w| c.uint(w, 1, 1000 * 1000)) {
            b.min_tx = Duration::from_millis(v)
        }
    }),
    // keepalived 2.2.7: idle_tx in [1000, 4294967] ms.
    Kw::new("idle_tx", 1, |c, b, s| {
        if let Some(v) = s.arg(0).and_then(|w| c.uint(w, 1000, 4_294_967)) {
            b.idle_tx = Duration::from_millis(v)
        }
    }),
    Kw::new("multiplier", 1, |c, b, s| {
        if let Some(v) = s.arg(0).and_then(|w| c.uint(w, 1, 255)) {
            b.multiplier = v as u8
        }
    }),
    Kw::new("passive", 0, |_, b, _| b.passive = true),
    Kw::new("ttl", 1, |c, b, s| {
        if let Some(v) = s.arg(0).and_then(|w| c.uint(w, 1, 255)) {
            b.ttl = v as u8
        }
    }),
    Kw::new("hoplimit", 1, |c, b, s| {
        if let Some(v) = s.arg(0).and_then(|w| c.uint(w, 1, 255)) {
            b.hoplimit = v as u8
        }
    }),
    Kw::new("max_hops", 1, |c, b, s| {
        if let Some(v) = s.arg(0).and_then(|w| c.uint(w, 0, 255)) {
            b.max_hops = v as u8
        }
    }),
    Kw::new("multihop", 0, |c, b, s| b.multihop = c.flag(s)),
    Kw::new("weight", 1, |c, b, s| {
        if let Some((w, r)) = weight_reverse(c, s, -253, 253) {
            b.weight = w;
            b.weight_reverse = r;
        }
    }),
    Kw::new("vrrp", 0, |_, b, _| b.targets.vrrp = true),
    Kw::new("checker", 0, |_, b, _| b.targets.checker = true),
];

fn process_delay(ctx: &mut Ctx, stmt: &Stmt) -> Option<Duration> {
    let w = stmt.arg(0)?;
    ctx.timer(w, Duration::from_micros(1), Duration::from_secs(3600))
}

pub fn bfd_instance(ctx: &mut Ctx, config: &mut Config, stmt: &Stmt) {
    // keepalived: "BFD NAME already specified", and the block is skipped
    // (`bfd/bfd_parser.c:bfd_handler`).
    let name = name_of(stmt);
    if config.bfd_instances.iter().any(|b| b.name == name) {
        stmt.block_taken.set(true);
        ctx.error(stmt.span(), format!("BFD {name} already specified"));
        return;
    }
    let mut b = BfdInstance {
        name: name_of(stmt),
        neighbor_ip: None,
        source_ip: None,
        min_rx: Duration::from_millis(10),
        min_tx: Duration::from_millis(10),
        idle_tx: Duration::from_millis(1000),
        multiplier: 5,
        passive: false,
        ttl: 255,
        hoplimit: 64,
        max_hops: 0,
        multihop: false,
        weight: 0,
        weight_reverse: false,
        targets: BfdTargets::default(),
        span: Some(stmt.span().clone()),
    };
    ctx.in_block(format!("bfd_instance {}", b.name), |ctx| {
        ctx.run_block(stmt.children(), BFD, &mut b)
    });
    if b.neighbor_ip.is_none() {
        ctx.error(
            stmt.span(),
            format!("bfd_instance {} has no neighbor_ip - removing", b.name),
        );
        return;
    }
    if !b.targets.vrrp && !b.targets.checker {
        b.targets = BfdTargets {
            vrrp: true,
            checker: true,
        };
    }
    config.bfd_instances.push(b);
}

// ----------------------------------------------- track_* lists (shared)

fn tracked_interfaces(ctx: &mut Ctx, stmt: &Stmt) -> Vec<TrackedInterface> {
    let mut out = Vec::new();
    for s in stmt.children() {
        let mut t = TrackedInterface {
            name: s.keyword.text.clone(),
            weight: 0,
            reverse: false,
            span: Some(s.span().clone()),
        };
        let mut i = 0;
        while i < s.args.len() {
            let w = &s.args[i];
            match w.text.as_str() {
                "weight" => {
                    let Some(v) = s.arg(i + 1) else {
                        ctx.error(
                            &w.span,
                            format!("track_interface {} weight without value", t.name),
                        );
                        break;
                    };
                    match ctx.int(v, -253, 253) {
                        Some(n) => t.weight = n as i32,
                        None => {
                            ctx.error(&v.span, format!("weight for {} must be between [-253..253] inclusive. Ignoring...", t.name));
                        }
                    }
                    i += 2;
                }
                "reverse" => {
                    t.reverse = true;
                    i += 1;
                }
                "noreverse" => i += 1,
                other => {
                    ctx.error(
                        &w.span,
                        format!(
                            "unknown track_interface {} option {other} - ignoring",
                            t.name
                        ),
                    );
                    i += 1;
                }
            }
        }
        out.push(t);
    }
    out
}

fn track_refs(ctx: &mut Ctx, stmt: &Stmt, kind: &str, min: i64, max: i64) -> Vec<TrackRef> {
    let mut out = Vec::new();
    for s in stmt.children() {
        let mut t = TrackRef {
            name: s.keyword.text.clone(),
            weight: None,
            reverse: None,
            span: Some(s.span().clone()),
        };
        let mut i = 0;
        let mut ok = true;
        while i < s.args.len() {
            let w = &s.args[i];
            match w.text.as_str() {
                "weight" => {
                    match s.arg(i + 1).and_then(|v| ctx.int(v, min, max)) {
                        Some(n) => t.weight = Some(n as i32),
                        None => {
                            ctx.error(
                                &w.span,
                                format!("{kind} {} weight invalid - ignoring", t.name),
                            );
                            ok = false;
                        }
                    }
                    i += 2;
                }
                "reverse" => {
                    t.reverse = Some(true);
                    i += 1;
                }
                "noreverse" | "no_reverse" => {
                    t.reverse = Some(false);
                    i += 1;
                }
                other => {
                    ctx.error(
                        &w.span,
                        format!("{kind} {} option {other} invalid - ignoring", t.name),
                    );
                    i += 1;
                }
            }
        }
        if ok {
            out.push(t);
        }
    }
    out
}

// ---------------------------------------------------------- sync group

const SYNC_GROUP: &[Kw<SyncGroup>] = &[
    Kw::block("group", |c, g, s| {
        if !g.group.is_empty() {
            c.error(s.span(), "Group list already specified for sync group");
            return;
        }
        g.group.extend(list_words(s))
    }),
    Kw::block("track_interface", |c, g, s| {
        g.track_interfaces.extend(tracked_interfaces(c, s))
    }),
    Kw::block("track_script", |c, g, s| {
        g.track_scripts
            .extend(track_refs(c, s, "track script", -253, 253))
    }),
    Kw::block("track_file", |c, g, s| {
        g.track_files
            .extend(track_refs(c, s, "track file", -254, 254))
    }),
    Kw::block("track_process", |c, g, s| {
        g.track_processes
            .extend(track_refs(c, s, "track process", -254, 254))
    }),
    Kw::block("track_bfd", |c, g, s| {
        g.track_bfds
            .extend(track_refs(c, s, "track bfd", -253, 253))
    }),
    Kw::new("notify_master", 1, |c, g, s| {
        g.notify.master = notify_script(c, s)
    }),
    Kw::new("notify_backup", 1, |c, g, s| {
        g.notify.backup = notify_script(c, s)
    }),
    Kw::new("notify_fault", 1, |c, g, s| {
        g.notify.fault = notify_script(c, s)
    }),
    Kw::new("notify_stop", 1, |c, g, s| {
        g.notify.stop = notify_script(c, s)
    }),
    // notify_deleted is an instance keyword only in keepalived 2.2.7 (its man
    // page lists it for sync groups, its parser does not).
    Kw::new("notify", 1, |c, g, s| g.notify.any = notify_script(c, s)),
    Kw::new("smtp_alert", 0, |c, g, s| g.smtp_alert = Some(c.flag(s))),
    Kw::new("global_tracking", 0, |c, g, s| {
        c.warning(
            s.span(),
            "global_tracking is deprecated. Use track_interface/script/file/bfd on the sync group",
        );
        g.global_tracking = true
    }),
    Kw::new("sync_group_tracking_weight", 0, |_, g, _| {
        g.sync_group_tracking_weight = true
    }),
    Kw::new("notify_priority_changes", 0, |c, g, s| {
        g.notify_priority_changes = Some(c.flag(s))
    }),
];

pub fn sync_group(ctx: &mut Ctx, config: &mut Config, stmt: &Stmt) {
    if stmt.args.is_empty() {
        ctx.error(stmt.span(), "vrrp_sync_group must have a name - skipping");
        return;
    }
    if config
        .vrrp_sync_groups
        .iter()
        .any(|g| g.name == stmt.args[0].text)
    {
        ctx.error(
            stmt.span(),
            format!("vrrp sync group {} already defined", stmt.args[0].text),
        );
        return;
    }
    let mut g = SyncGroup {
        name: name_of(stmt),
        span: Some(stmt.span().clone()),
        ..SyncGroup::default()
    };
    ctx.in_block(format!("vrrp_sync_group {}", g.name), |ctx| {
        ctx.run_block(stmt.children(), SYNC_GROUP, &mut g);
        let span = stmt.span().clone();
        let name = g.name.clone();
        crate::validate::resolve_track_refs(
            ctx,
            config,
            &name,
            &span,
            &mut crate::validate::TrackLists {
                scripts: &mut g.track_scripts,
                files: &mut g.track_files,
                processes: &mut g.track_processes,
                bfds: &mut g.track_bfds,
            },
        );
    });
    config.vrrp_sync_groups.push(g);
}

// ------------------------------------------------------------ instance

fn state(ctx: &mut Ctx, d: &mut VrrpInstance, s: &Stmt) {
    let w = &s.args[0];
    match w.text.as_str() {
        "MASTER" => d.state = InitialState::Master,
        "BACKUP" => d.state = InitialState::Backup,
        other => {
            ctx.error(
                &w.span,
                format!("({}) unknown state '{other}', defaulting to BACKUP", d.name),
            );
            d.state = InitialState::Backup;
        }
    }
    d.parsed.state_set = true;
}

fn priority(ctx: &mut Ctx, d: &mut VrrpInstance, s: &Stmt) {
    let w = &s.args[0];
    match w.text.parse::<i64>() {
        Ok(v) if (1..=255).contains(&v) => {
            d.priority = v as u8;
            d.parsed.priority_set = true;
        }
        _ => ctx.error(
            &w.span,
            format!(
                "({}) Priority not valid! must be between 1 & 255. Reconfigure !",
                d.name
            ),
        ),
    }
}

fn vrid(ctx: &mut Ctx, d: &mut VrrpInstance, s: &Stmt) {
    let w = &s.args[0];
    match w.text.parse::<i64>() {
        Ok(v) if (1..=255).contains(&v) => d.virtual_router_id = v as u8,
        _ => ctx.error(
            &w.span,
            format!(
                "({}) VRID '{}' not valid - must be between 1 & 255",
                d.name, w.text
            ),
        ),
    }
}

fn advert_int(ctx: &mut Ctx, d: &mut VrrpInstance, s: &Stmt) {
    let w = &s.args[0];
    match crate::parse::values::parse_decimal_micros(&w.text) {
        Some(us) if us > 0 && us <= 255_000_000 => {
            d.parsed.advert_int_raw = Some((Duration::from_micros(us), w.span.clone()));
        }
        _ => ctx.error(
            &w.span,
            format!(
                "({}) Advert interval (in sec) not valid! must be between 0.01 and 255 - ignoring",
                d.name
            ),
        ),
    }
}

fn version(ctx: &mut Ctx, d: &mut VrrpInstance, s: &Stmt) {
    let w = &s.args[0];
    match w.text.as_str() {
        "2" => d.version = VrrpVersion::V2,
        "3" => d.version = VrrpVersion::V3,
        _ => {
            ctx.error(
                &w.span,
                format!("({}): Version must be either 2 or 3", d.name),
            );
            return;
        }
    }
    d.parsed.version_set = true;
}

fn mac(s: &str) -> Option<Vec<u8>> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() < 5 || parts.len() > 6 {
        return None;
    }
    parts
        .iter()
        .map(|p| u8::from_str_radix(p, 16).ok())
        .collect()
}

fn use_vmac(ctx: &mut Ctx, d: &mut VrrpInstance, s: &Stmt) {
    let mut v = VmacSpec::default();
    let mut i = 0;
    while i < s.args.len() {
        let w = &s.args[i];
        match w.text.as_str() {
            "netlink_notify_msg" => v.netlink_notify_msg = true,
            "group" => {
                i += 1;
                v.group = s
                    .arg(i)
                    .and_then(|g| ctx.uint(g, 0, u32::MAX as u64))
                    .map(|g| g as u32);
            }
            t => match mac(t) {
                Some(m) => {
                    let mut out = [0u8; 6];
                    for (o, b) in out.iter_mut().zip(m.iter()) {
                        *o = *b;
                    }
                    if m.len() == 5 {
                        out[5] = d.virtual_router_id;
                    }
                    if out[..4] == [0, 0, 0x5e, 0] && (out[4] == 1 || out[4] == 2) {
                        ctx.error(
                            &w.span,
                            format!(
                                "VMAC MAC address not allowed to be RFC5798 address ({t}) - ignoring"
                            ),
                        );
                    } else {
                        v.mac = Some(out);
                    }
                }
                None if v.name.is_none() && v.mac.is_none() => {
                    // keepalived will not take over an interface that
                    // exists already and is not a macvlan: "already exists
                    // and is not a private macvlan; ignoring vmac"
                    // (`vrrp/vrrp_parser.c`). A macvlan (ours after a
                    // reload) sits on a lower device; an interface that
                    // sits on none is certainly not one.
                    if ctx.sys.interface_exists(t) && !stacked_on_lower_device(t) {
                        ctx.error(
                            &w.span,
                            format!(
                                "({}) interface {t} already exists and is not a private macvlan; ignoring vmac if_name",
                                d.name
                            ),
                        );
                    } else {
                        v.name = Some(t.to_string())
                    }
                }
                None => ctx.error(&w.span, format!("({}) invalid use_vmac option {t}", d.name)),
            },
        }
        i += 1;
    }
    d.use_vmac = Some(v);
}

/// Whether `/sys/class/net/NAME` names a lower device (macvlan, ipvlan,
/// vlan); unknown counts as stacked, so that nothing is refused on a guess.
fn stacked_on_lower_device(name: &str) -> bool {
    if name.contains('/') || name == "." || name == ".." {
        return true;
    }
    match std::fs::read_dir(std::path::Path::new("/sys/class/net").join(name)) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().starts_with("lower_")),
        Err(_) => true,
    }
}

fn use_ipvlan(ctx: &mut Ctx, d: &mut VrrpInstance, s: &Stmt) {
    let mut v = IpvlanSpec::default();
    let mut i = 0;
    while i < s.args.len() {
        let w = &s.args[i];
        match w.text.as_str() {
            "bridge" => v.mode = IpvlanMode::Bridge,
            "private" => v.mode = IpvlanMode::Private,
            "vepa" => v.mode = IpvlanMode::Vepa,
            "group" => {
                i += 1;
                v.group = s
                    .arg(i)
                    .and_then(|g| ctx.uint(g, 0, u32::MAX as u64))
                    .map(|g| g as u32);
            }
            t => match crate::parse::values::parse_prefix(t) {
                Some(p) => v.address = Some(p),
                None if v.name.is_none() => v.name = Some(t.to_string()),
                None => ctx.error(
                    &w.span,
                    format!("({}) invalid use_ipvlan option {t}", d.name),
                ),
            },
        }
        i += 1;
    }
    d.use_ipvlan = Some(v);
}

fn unicast_peers(ctx: &mut Ctx, d: &mut VrrpInstance, s: &Stmt) {
    d.parsed.unicast_keyword_seen = true;
    for p in s.children() {
        let Some(address) = crate::parse::values::parse_ip(&p.keyword.text) else {
            ctx.error(
                p.span(),
                format!(
                    "({}) VRRP parsed invalid IP {}. skipping IP...",
                    d.name, p.keyword.text
                ),
            );
            continue;
        };
        let mut peer = UnicastPeer {
            address,
            min_ttl: None,
            max_ttl: None,
            span: Some(p.span().clone()),
        };
        let mut i = 0;
        while i < p.args.len() {
            let w = &p.args[i];
            let v = p.arg(i + 1);
            match (w.text.as_str(), v) {
                ("min_ttl", Some(v)) => peer.min_ttl = ctx.uint(v, 0, 255).map(|n| n as u8),
                ("max_ttl", Some(v)) => peer.max_ttl = ctx.uint(v, 0, 255).map(|n| n as u8),
                _ => ctx.error(
                    &w.span,
                    format!("({}) Unknown unicast_peer option {}", d.name, w.text),
                ),
            }
            i += 2;
        }
        if peer.min_ttl.is_some() || peer.max_ttl.is_some() {
            // Specifying min_ttl or max_ttl turns on check_unicast_src (man5).
            d.check_unicast_src = true;
        }
        d.unicast_peers.push(peer);
    }
}

fn authentication(ctx: &mut Ctx, d: &mut VrrpInstance, s: &Stmt) {
    struct Auth {
        t: Option<AuthType>,
        pass: Option<Vec<u8>>,
        name: String,
    }
    let mut a = Auth {
        t: None,
        pass: None,
        name: d.name.clone(),
    };
    const T: &[Kw<Auth>] = &[
        Kw::new("auth_type", 1, |c, a, s| {
            let w = &s.args[0];
            a.t = match w.text.as_str() {
                "PASS" => Some(AuthType::Pass),
                "AH" => Some(AuthType::Ah),
                o => {
                    c.error(
                        &w.span,
                        format!("({}) unknown authentication type '{o}'", a.name),
                    );
                    None
                }
            }
        }),
        Kw::new("auth_pass", 1, |c, a, s| {
            let w = &s.args[0];
            let mut p = w.text.as_bytes().to_vec();
            if p.len() > 8 {
                c.warning(&w.span, "Truncating auth_pass to 8 characters");
                p.truncate(8);
            }
            a.pass = Some(p);
        }),
    ];
    ctx.in_block("authentication", |ctx| {
        ctx.run_block(s.children(), T, &mut a)
    });
    if let Some(t) = a.t {
        d.authentication = Some(Authentication {
            auth_type: t,
            password: a.pass.unwrap_or_default(),
        });
    }
}

fn auth_hmac(ctx: &mut Ctx, d: &mut VrrpInstance, s: &Stmt) {
    const T: &[Kw<AuthHmac>] = &[
        Kw::new("key", 2, |c, h, s| {
            let Some(id) = c.uint(&s.args[0], 0, u32::MAX as u64) else {
                return;
            };
            let spec = &s.args[1].text;
            let key = if let Some(hex) = spec.strip_prefix("hex:") {
                (0..hex.len() / 2)
                    .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("zz"), 16).ok())
                    .collect::<Option<Vec<u8>>>()
            } else if let Some(path) = spec.strip_prefix("file:") {
                // A key file is small; a FIFO or device named here must
                // neither block nor grow without bound.
                crate::fileread::read_regular(std::path::Path::new(path.trim()), 64 << 10).ok()
            } else {
                Some(spec.as_bytes().to_vec())
            };
            match key {
                Some(k) => h.keys.push((id as u32, k)),
                None => c.error(&s.args[1].span, format!("invalid auth_hmac key {spec}")),
            }
        }),
        Kw::new("active_key", 1, |c, h, s| {
            h.active_key = c.uint(&s.args[0], 0, u32::MAX as u64).map(|v| v as u32)
        }),
        Kw::new("anti_replay", 1, |c, h, s| {
            h.anti_replay = match s.args[0].text.as_str() {
                "time" => HmacAntiReplay::Time,
                "monotonic" => HmacAntiReplay::Monotonic,
                o => {
                    c.error(&s.args[0].span, format!("invalid anti_replay {o}"));
                    h.anti_replay
                }
            }
        }),
        Kw::new("time_window", 1, |c, h, s| {
            h.time_window = c.uint(&s.args[0], 1, 300).map(Duration::from_secs)
        }),
        Kw::new("mode", 1, |c, h, s| {
            h.mode = match s.args[0].text.as_str() {
                "enforce" => HmacMode::Enforce,
                "permissive" => HmacMode::Permissive,
                "receive-only" => HmacMode::ReceiveOnly,
                o => {
                    c.error(&s.args[0].span, format!("invalid auth_hmac mode {o}"));
                    h.mode
                }
            }
        }),
    ];
    let mut h = AuthHmac::default();
    ctx.in_block("auth_hmac", |ctx| ctx.run_block(s.children(), T, &mut h));
    d.auth_hmac = Some(h);
}

fn vips(ctx: &mut Ctx, s: &Stmt) -> Vec<crate::model::net::IpAddressSpec> {
    s.children()
        .iter()
        .filter_map(|l| parse_address(ctx, l, false))
        .collect()
}

fn garp_secs(ctx: &mut Ctx, s: &Stmt) -> Option<Duration> {
    ctx.uint(&s.args[0], 0, 86400).map(Duration::from_secs)
}

fn garp_count(ctx: &mut Ctx, s: &Stmt) -> Option<u32> {
    ctx.uint(&s.args[0], 0, u32::MAX as u64).map(|v| v as u32)
}

fn garp_extra_if(ctx: &mut Ctx, s: &Stmt) -> Option<GarpExtraIf> {
    let (all, w) = match s.arg(0) {
        Some(w) if w.text == "all" => (true, s.arg(1)),
        other => (false, other),
    };
    let w = w?;
    let interval = ctx.uint(w, 0, 86400).map(Duration::from_secs)?;
    Some(GarpExtraIf { all, interval })
}

fn opt_bool(c: &mut Ctx, s: &Stmt) -> Option<bool> {
    Some(c.flag(s))
}

fn word_text(w: &Word) -> String {
    w.text.clone()
}

/// Every keyword of `vrrp_instance`.
pub const VRRP_INSTANCE: &[Kw<VrrpInstance>] = &[
    Kw::new("state", 1, state),
    Kw::new("priority", 1, priority),
    Kw::new("interface", 1, |_, d, s| {
        d.interface = Some(word_text(&s.args[0]))
    }),
    Kw::new("vrf", 1, |_, d, s| d.vrf = Some(word_text(&s.args[0]))),
    Kw::new("virtual_router_id", 1, vrid),
    Kw::new("advert_int", 1, advert_int),
    Kw::new("version", 1, version),
    Kw::new("use_vmac", 0, use_vmac),
    Kw::new("use_vmac_addr", 0, |_, d, _| d.use_vmac_addr = true),
    Kw::new("vmac_xmit_base", 0, |_, d, _| d.vmac_xmit_base = true),
    Kw::new("use_ipvlan", 0, use_ipvlan),
    Kw::new("native_ipv6", 0, |c, d, s| {
        c.warning(s.span(), format!("({}) native_ipv6 is deprecated", d.name));
        d.parsed.native_ipv6 = true
    }),
    Kw::new("dont_track_primary", 0, |_, d, _| {
        d.dont_track_primary = true
    }),
    Kw::block("track_interface", |c, d, s| {
        let t = tracked_interfaces(c, s);
        d.track_interfaces.extend(t)
    }),
    Kw::block("track_script", |c, d, s| {
        let t = track_refs(c, s, "track script", -253, 253);
        d.track_scripts.extend(t)
    }),
    Kw::block("track_file", |c, d, s| {
        let t = track_refs(c, s, "track file", -254, 254);
        d.track_files.extend(t)
    }),
    Kw::block("track_process", |c, d, s| {
        let t = track_refs(c, s, "track process", -254, 254);
        d.track_processes.extend(t)
    }),
    Kw::block("track_bfd", |c, d, s| {
        let t = track_refs(c, s, "track bfd", -253, 253);
        d.track_bfds.extend(t)
    }),
    Kw::new("mcast_src_ip", 1, |c, d, s| {
        d.mcast_src_ip = c.ip(&s.args[0])
    }),
    Kw::new("unicast_src_ip", 1, |c, d, s| {
        d.parsed.unicast_keyword_seen = true;
        d.unicast_src_ip = c.ip(&s.args[0])
    }),
    Kw::new("mcast_dst_ip", 1, |c, d, s| match c.ip(&s.args[0]) {
        Some(a) if a.is_multicast() => d.mcast_dst_ip = Some(a),
        Some(_) => c.error(
            &s.args[0].span,
            format!(
                "({}) mcast_dst_ip {} is not multicast - ignoring",
                d.name, s.args[0].text
            ),
        ),
        None => {}
    }),
    Kw::new("track_src_ip", 0, |_, d, _| d.track_src_ip = true),
    Kw::block("unicast_peer", unicast_peers),
    Kw::new("check_unicast_src", 0, |_, d, _| {
        d.parsed.unicast_keyword_seen = true;
        d.check_unicast_src = true
    }),
    Kw::new("unicast_fault_no_peer", 0, |_, d, _| {
        d.unicast_fault_no_peer = true
    }),
    Kw::new("unicast_ttl", 1, |c, d, s| {
        d.parsed.unicast_keyword_seen = true;
        d.unicast_ttl = c.uint(&s.args[0], 0, 255).map(|v| v as u8)
    }),
    Kw::new("old_unicast_checksum", 0, |_, d, s| {
        d.parsed.unicast_keyword_seen = true;
        d.old_unicast_checksum = Some(if s.arg(0).is_some_and(|w| w.text == "never") {
            OldUnicastChecksum::Never
        } else {
            OldUnicastChecksum::Always
        })
    }),
    Kw::new("v3_checksum_as_v2", 0, |c, d, s| {
        d.v3_checksum_as_v2 = opt_bool(c, s)
    }),
    Kw::new("garp_master_delay", 1, |c, d, s| {
        d.garp.master_delay = garp_secs(c, s)
    }),
    Kw::new("garp_master_repeat", 1, |c, d, s| {
        d.garp.master_repeat = garp_count(c, s)
    }),
    Kw::new("garp_lower_prio_delay", 1, |c, d, s| {
        d.garp.lower_prio_delay = garp_secs(c, s)
    }),
    Kw::new("garp_lower_prio_repeat", 1, |c, d, s| {
        d.garp.lower_prio_repeat = garp_count(c, s)
    }),
    Kw::new("garp_master_refresh", 1, |c, d, s| {
        d.garp.master_refresh = garp_secs(c, s)
    }),
    Kw::new("garp_master_refresh_repeat", 1, |c, d, s| {
        d.garp.master_refresh_repeat = garp_count(c, s)
    }),
    Kw::checked("garp_extra_if", 1, |c, d, s| {
        d.garp.extra_if = garp_extra_if(c, s)
    }),
    Kw::alias("vmac_garp_intvl", "garp_extra_if", 0, |c, d, s| {
        d.garp.extra_if = garp_extra_if(c, s)
    }),
    Kw::new("down_timer_adverts", 1, |c, d, s| {
        d.down_timer_adverts = c.uint(&s.args[0], 1, 100).map(|v| v as u32)
    }),
    Kw::new("timer_expired_backup", 0, |c, d, s| {
        d.timer_expired_backup = match s.arg(0) {
            None => Some(254),
            Some(w) => c.uint(w, 1, 254).map(|v| v as u8),
        }
    }),
    Kw::alias(
        "thread_timer_expired",
        "timer_expired_backup",
        0,
        |c, d, s| {
            d.timer_expired_backup = match s.arg(0) {
                None => Some(254),
                Some(w) => c.uint(w, 1, 254).map(|v| v as u8),
            }
        },
    ),
    Kw::new("lower_prio_no_advert", 0, |c, d, s| {
        d.lower_prio_no_advert = opt_bool(c, s)
    }),
    Kw::new("higher_prio_send_advert", 0, |c, d, s| {
        d.higher_prio_send_advert = opt_bool(c, s)
    }),
    Kw::new("owner_ignore_adverts", 0, |c, d, s| {
        d.owner_ignore_adverts = opt_bool(c, s)
    }),
    Kw::sublevel("authentication", authentication),
    Kw::sublevel("auth_hmac", auth_hmac),
    Kw::block("virtual_ipaddress", |c, d, s| {
        let v = vips(c, s);
        d.virtual_ipaddresses.extend(v)
    }),
    Kw::block("virtual_ipaddress_excluded", |c, d, s| {
        let v = vips(c, s);
        d.virtual_ipaddresses_excluded.extend(v)
    }),
    Kw::new("no_virtual_ipaddress", 0, |_, d, _| {
        d.no_virtual_ipaddress = true
    }),
    Kw::new("promote_secondaries", 0, |_, d, _| {
        d.promote_secondaries = true
    }),
    Kw::block("virtual_routes", |c, d, s| {
        let r: Vec<_> = s
            .children()
            .iter()
            .filter_map(|l| parse_route(c, l))
            .collect();
        d.virtual_routes.extend(r)
    }),
    Kw::block("virtual_rules", |c, d, s| {
        let r: Vec<_> = s
            .children()
            .iter()
            .filter_map(|l| parse_rule(c, l))
            .collect();
        d.virtual_rules.extend(r)
    }),
    Kw::new("accept", 0, |_, d, _| d.accept = Some(true)),
    Kw::new("no_accept", 0, |_, d, _| d.accept = Some(false)),
    Kw::new("nopreempt", 0, |_, d, _| d.nopreempt = true),
    Kw::new("preempt", 0, |_, d, _| d.nopreempt = false),
    Kw::new("preempt_delay", 1, |c, d, s| {
        if let Some(v) = c.timer(&s.args[0], Duration::ZERO, Duration::from_secs(1000)) {
            d.preempt_delay = v
        }
    }),
    Kw::new("skip_check_adv_addr", 0, |c, d, s| {
        d.skip_check_adv_addr = opt_bool(c, s)
    }),
    Kw::new("strict_mode", 0, |c, d, s| d.strict_mode = opt_bool(c, s)),
    // keepalived 2.2.7 requires the level (a bare `debug` exits 2 in `-t`);
    // the seed guide writes a bare `debug`, so it is accepted here (level 0,
    // with a note). keepalived does not implement debug levels anyway.
    Kw::new("debug", 0, |c, d, s| {
        d.debug = match s.arg(0) {
            None => {
                c.note(
                    s.span(),
                    "debug without a level (keepalived 2.2.7 requires one) - using 0",
                );
                Some(0)
            }
            Some(w) => c.uint(w, 0, 4).map(|v| v as u8),
        }
    }),
    Kw::new("notify_master", 1, |c, d, s| {
        d.notify.master = notify_script(c, s)
    }),
    Kw::new("notify_backup", 1, |c, d, s| {
        d.notify.backup = notify_script(c, s)
    }),
    Kw::new("notify_fault", 1, |c, d, s| {
        d.notify.fault = notify_script(c, s)
    }),
    Kw::new("notify_stop", 1, |c, d, s| {
        d.notify.stop = notify_script(c, s)
    }),
    Kw::new("notify_deleted", 0, |c, d, s| {
        d.notify.deleted = notify_script(c, s)
    }),
    Kw::new("notify", 1, |c, d, s| d.notify.any = notify_script(c, s)),
    Kw::new("notify_master_rx_lower_pri", 1, |c, d, s| {
        d.notify.master_rx_lower_pri = notify_script(c, s)
    }),
    Kw::new("smtp_alert", 0, |c, d, s| d.smtp_alert = opt_bool(c, s)),
    Kw::new("notify_priority_changes", 0, |c, d, s| {
        d.notify_priority_changes = opt_bool(c, s)
    }),
    Kw::checked("kernel_rx_buf_size", 1, |c, d, s| {
        if s.args.len() > 1 {
            c.error(s.span(), "invalid kernel_rx_buf_size specified");
            return;
        }
        d.kernel_rx_buf_size = c.uint(&s.args[0], 0, u32::MAX as u64)
    }),
    Kw::alias(
        "linkbeat_use_polling",
        "linkbeat_interfaces",
        0,
        |_, d, _| d.linkbeat_use_polling = true,
    ),
    Kw::new("lvs_sync_daemon_interface", 1, |c, d, s| {
        c.warning(
            s.span(),
            format!(
                "({}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated. Please use global lvs_sync_daemon",
                d.name
            ),
        );
        d.lvs_sync_daemon_interface = Some(word_text(&s.args[0]))
    }),
];

pub fn vrrp_instance(ctx: &mut Ctx, config: &mut Config, stmt: &Stmt) {
    let Some(name) = stmt.arg(0) else {
        // keepalived words this itself rather than as a missing parameter.
        ctx.error(stmt.span(), "vrrp_instance must have a name");
        return;
    };
    let mut v = VrrpInstance::new(name.text.clone());
    v.span = Some(stmt.span().clone());
    if ctx.state.vrrp_instance_names.contains(&v.name) {
        ctx.error(
            &name.span,
            format!("vrrp instance {} already defined", v.name),
        );
        return;
    }
    ctx.in_block(
        || format!("vrrp_instance {}", name.text),
        |ctx| {
            ctx.run_block(stmt.children(), VRRP_INSTANCE, &mut v);
            crate::validate::instance_parsed(ctx, config, &mut v);
        },
    );
    ctx.state.vrrp_instance_names.insert(v.name.clone());
    config.vrrp_instances.push(v);
}
