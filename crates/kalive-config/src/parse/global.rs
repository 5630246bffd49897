//! `global_defs { ... }` (reference §1.5, keepalived `core/global_parser.c`).

use crate::model::global::{
    DynamicInterfaces, GlobalDefs, IptablesChains, LvsFlushOnStop, LvsSyncDaemon, NftablesSettings,
    NotifyFifo, ProcessSched, RxBufsPolicy, SmtpServer,
};
use crate::model::vrrp::{GarpExtraIf, VrrpVersion};
use crate::model::Config;
use crate::parse::script::{notify_script, script_user};
use crate::parse::{Ctx, Kw};
use crate::syntax::Stmt;
use std::path::PathBuf;
use std::time::Duration;

/// A global keyword outside any block ([`ROOT_GLOBAL`]).
pub fn root_global(ctx: &mut Ctx, config: &mut Config, stmt: &Stmt) {
    // Dispatched here directly (not through a block of its own): these
    // keywords stand at the top level.
    if let Some(kw) = ROOT_GLOBAL.iter().find(|k| k.name == stmt.keyword.text) {
        ctx.dispatch(kw, stmt, &mut config.global_defs);
    }
}

/// `global_defs { ... }`.
pub fn global_defs(ctx: &mut Ctx, config: &mut Config, stmt: &Stmt) {
    ctx.in_block("global_defs", |ctx| {
        ctx.run_block(stmt.children(), GLOBAL_DEFS, &mut config.global_defs)
    });
}

fn text(stmt: &Stmt, i: usize) -> String {
    stmt.arg(i).map(|w| w.text.clone()).unwrap_or_default()
}

fn path(stmt: &Stmt, i: usize) -> PathBuf {
    PathBuf::from(text(stmt, i))
}

/// A whole-seconds or decimal timer ≥ 0 into `field`, keeping the default on
/// error.
fn timer0(ctx: &mut Ctx, stmt: &Stmt, field: &mut Duration) {
    if let Some(d) = stmt.arg(0).and_then(|w| ctx.timer_zero_ok(w)) {
        *field = d;
    }
}

/// keepalived rejects 0 for the GARP/NA spacing timers, with a second
/// message naming the keyword (corpus: "vrrp_garp_interval '0' is invalid").
fn garp_spacing(ctx: &mut Ctx, stmt: &Stmt, field: &mut Duration) {
    let Some(w) = stmt.arg(0) else { return };
    match ctx.timer_std(w) {
        Some(d) => *field = d,
        None => ctx.error(
            &w.span,
            format!("{} '{}' is invalid", stmt.keyword.text, w.text),
        ),
    }
}

fn u32_in(ctx: &mut Ctx, stmt: &Stmt, min: u64, max: u64) -> Option<u32> {
    stmt.arg(0)
        .and_then(|w| ctx.uint(w, min, max))
        .map(|v| v as u32)
}

fn sched<'a>(g: &'a mut GlobalDefs, which: &str) -> &'a mut ProcessSched {
    match which {
        "checker" | "lvs" => &mut g.checker_sched,
        "bfd" => &mut g.bfd_sched,
        _ => &mut g.vrrp_sched,
    }
}

fn prefix_of(stmt: &Stmt) -> &str {
    stmt.keyword.text.split('_').next().unwrap_or("vrrp")
}

fn nice(ctx: &mut Ctx, g: &mut GlobalDefs, stmt: &Stmt) {
    if let Some(v) = stmt.arg(0).and_then(|w| ctx.int(w, -20, 19)) {
        sched(g, prefix_of(stmt)).priority = Some(v as i8);
    }
}

fn no_swap(_ctx: &mut Ctx, g: &mut GlobalDefs, stmt: &Stmt) {
    sched(g, prefix_of(stmt)).no_swap = true;
}

/// `startup_script` / `shutdown_script`: a user that does not exist makes
/// keepalived drop the script ("Invalid startup script",
/// `core/global_parser.c`).
fn start_stop_script(ctx: &mut Ctx, stmt: &Stmt) -> Option<crate::model::vrrp::Script> {
    let script = notify_script(ctx, stmt)?;
    if let Some(u) = &script.user {
        let user_ok = ctx.sys.user(&u.user).is_some();
        let group_ok = u.group.as_ref().is_none_or(|g| ctx.sys.group(g).is_some());
        if !user_ok || !group_ok {
            let which = stmt.keyword.text.trim_end_matches("_script");
            ctx.error(stmt.span(), format!("Invalid {which} script"));
            return None;
        }
    }
    Some(script)
}

/// More words than keepalived's handler takes: its error, and the value
/// is not used.
fn too_many(ctx: &mut Ctx, stmt: &Stmt, max: usize, msg: &str) -> bool {
    if stmt.args.len() > max {
        ctx.error(&stmt.args[max].span, msg.to_string());
        return true;
    }
    false
}

/// The CPUs keepalived can bind to (it checks against the configured
/// count, `get_nprocs_conf()`).
fn cpus_configured() -> u64 {
    std::fs::read_dir("/sys/devices/system/cpu")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| {
                    let n = e.file_name();
                    let n = n.to_string_lossy();
                    n.strip_prefix("cpu")
                        .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
                })
                .count() as u64
        })
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or(4096)
}

fn cpu_affinity(ctx: &mut Ctx, g: &mut GlobalDefs, stmt: &Stmt) {
    let max = cpus_configured() - 1;
    let cpus: Vec<u32> = stmt
        .args
        .iter()
        .filter_map(|w| ctx.uint(w, 0, max).map(|v| v as u32))
        .collect();
    sched(g, prefix_of(stmt)).cpu_affinity = cpus;
}

fn rt_priority(ctx: &mut Ctx, g: &mut GlobalDefs, stmt: &Stmt) {
    if let Some(v) = u32_in(ctx, stmt, 1, 99) {
        sched(g, prefix_of(stmt)).rt_priority = Some(v);
    }
}

fn rlimit_rttime(ctx: &mut Ctx, g: &mut GlobalDefs, stmt: &Stmt) {
    if let Some(v) = stmt.arg(0).and_then(|w| ctx.uint(w, 1, u32::MAX as u64)) {
        sched(g, prefix_of(stmt)).rlimit_rttime = Some(v);
    }
}

fn process_name(_ctx: &mut Ctx, g: &mut GlobalDefs, stmt: &Stmt) {
    sched(g, prefix_of(stmt)).process_name = Some(text(stmt, 0));
}

fn netlink_buf(ctx: &mut Ctx, g: &mut GlobalDefs, stmt: &Stmt) {
    let name = stmt.keyword.text.clone();
    if let Some(base) = name.strip_suffix("_force") {
        let on = ctx.flag(stmt);
        g.netlink_buffers.push((base.to_string(), 0, on));
    } else if let Some(v) = stmt.arg(0).and_then(|w| ctx.uint(w, 0, u32::MAX as u64)) {
        g.netlink_buffers.push((name, v, false));
    }
}

fn smtp_server(ctx: &mut Ctx, g: &mut GlobalDefs, stmt: &Stmt) {
    let Some(host) = stmt.arg(0) else { return };
    let mut port = 25;
    if let Some(p) = stmt.arg(1) {
        match p.text.parse::<u16>() {
            Ok(v) if v > 0 => port = v,
            _ => {
                ctx.error(
                    &p.span,
                    format!("Invalid smtp server {} {}", host.text, p.text),
                );
                return;
            }
        }
    }
    // keepalived resolves the name at once (no DNS: an error).
    if crate::parse::values::parse_ip(&host.text).is_none() && !ctx.sys.resolves(&host.text) {
        ctx.error(
            &host.span,
            format!("Invalid smtp server {} {port}", host.text),
        );
        return;
    }
    g.smtp_server = Some(SmtpServer {
        host: host.text.clone(),
        port,
    });
}

fn lvs_flush_on_stop(ctx: &mut Ctx, g: &mut GlobalDefs, stmt: &Stmt) {
    g.lvs_flush_on_stop = match stmt.arg(0) {
        None => Some(LvsFlushOnStop::All),
        Some(w) if w.text == "VS" => Some(LvsFlushOnStop::Vs),
        Some(w) => {
            ctx.error(
                &w.span,
                format!("Unknown lvs_flush_on_stop type {}", w.text),
            );
            None
        }
    };
}

fn notification_email(ctx: &mut Ctx, g: &mut GlobalDefs, stmt: &Stmt) {
    if stmt.children().is_empty() {
        ctx.warning(stmt.span(), "Warning - empty notification_email block");
    }
    for s in stmt.children() {
        g.notification_email
            .extend(s.words().map(|w| w.text.clone()));
    }
}

fn lvs_sync_daemon(ctx: &mut Ctx, g: &mut GlobalDefs, stmt: &Stmt) {
    let mut args = stmt.args.iter();
    let Some(ifname) = args.next() else { return };
    let mut sd = LvsSyncDaemon {
        interface: ifname.text.clone(),
        vrrp_instance: String::new(),
        sync_id: None,
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
    };
    while let Some(w) = args.next() {
        let mut value = |ctx: &mut Ctx| {
            let v = args.next();
            if v.is_none() {
                ctx.error(&w.span, format!("lvs_sync_daemon {} missing value", w.text));
            }
            v
        };
        match w.text.as_str() {
            "inst" => {
                if let Some(v) = value(ctx) {
                    sd.vrrp_instance = v.text.clone();
                }
            }
            "id" => {
                sd.sync_id = value(ctx)
                    .and_then(|v| ctx.uint(v, 0, 255))
                    .map(|v| v as u8)
            }
            "maxlen" => {
                sd.maxlen = value(ctx)
                    .and_then(|v| ctx.uint(v, 1, 65535 - 20 - 8))
                    .map(|v| v as u16)
            }
            "port" => {
                sd.port = value(ctx)
                    .and_then(|v| ctx.uint(v, 1, 65535))
                    .map(|v| v as u16)
            }
            "ttl" => {
                sd.ttl = value(ctx)
                    .and_then(|v| ctx.uint(v, 1, 255))
                    .map(|v| v as u8)
            }
            "group" => sd.group = value(ctx).and_then(|v| ctx.ip(v)),
            _ if sd.vrrp_instance.is_empty() => sd.vrrp_instance = w.text.clone(),
            _ => ctx.error(
                &w.span,
                format!("Unknown option {} specified for lvs_sync_daemon", w.text),
            ),
        }
    }
    g.lvs_sync_daemon = Some(sd);
}

fn lvs_timeouts(ctx: &mut Ctx, g: &mut GlobalDefs, stmt: &Stmt) {
    let mut i = 0;
    while i < stmt.args.len() {
        let w = &stmt.args[i];
        let Some(v) = stmt.arg(i + 1) else {
            ctx.error(
                &w.span,
                format!("No value specified for lvs_timeout {}", w.text),
            );
            return;
        };
        let secs = ctx.uint(v, 0, 86400 * 31).map(Duration::from_secs);
        match w.text.as_str() {
            "tcp" => g.lvs_timeouts.tcp = secs,
            "tcpfin" => g.lvs_timeouts.tcpfin = secs,
            "udp" => g.lvs_timeouts.udp = secs,
            _ => ctx.error(
                &w.span,
                format!("Unknown option {} specified for lvs_timeouts", w.text),
            ),
        }
        i += 2;
    }
}

fn garp_extra_if(ctx: &mut Ctx, stmt: &Stmt) -> Option<GarpExtraIf> {
    let (all, w) = match stmt.arg(0) {
        Some(w) if w.text == "all" => (true, stmt.arg(1)),
        other => (false, other),
    };
    let Some(w) = w else {
        ctx.error(
            stmt.span(),
            format!("{} specified without time - ignoring", stmt.keyword.text),
        );
        return None;
    };
    let Some(interval) = ctx.uint(w, 1, 86400).map(Duration::from_secs) else {
        ctx.error(
            &w.span,
            format!("{} '{}' invalid - ignoring", stmt.keyword.text, w.text),
        );
        return None;
    };
    Some(GarpExtraIf { all, interval })
}

/// Debian's keepalived is built with nftables only: the iptables keywords
/// are accepted with this warning (and nftables is used).
fn iptables_not_supported(ctx: &mut Ctx, stmt: &Stmt) {
    ctx.warning(
        stmt.span(),
        "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option",
    );
}

fn fifo(ctx: &mut Ctx, stmt: &Stmt, f: &mut NotifyFifo) {
    f.path = Some(path(stmt, 0));
    f.user = script_user(ctx, stmt, 1);
    f.span = Some(stmt.span().clone());
}

fn fifo_script(ctx: &mut Ctx, stmt: &Stmt, f: &mut NotifyFifo) {
    f.script = notify_script(ctx, stmt);
}

fn nftables(ctx: &mut Ctx, stmt: &Stmt) -> NftablesSettings {
    let _ = ctx;
    NftablesSettings {
        table: stmt.arg(0).map(|w| w.text.clone()),
        ..NftablesSettings::default()
    }
}

fn version(ctx: &mut Ctx, stmt: &Stmt) -> Option<VrrpVersion> {
    let w = stmt.arg(0)?;
    match ctx.uint(w, 2, 3)? {
        2 => Some(VrrpVersion::V2),
        _ => Some(VrrpVersion::V3),
    }
}

fn umask(ctx: &mut Ctx, g: &mut GlobalDefs, stmt: &Stmt) {
    if too_many(ctx, stmt, 1, "Extra parameter(s) to umask option") {
        return;
    }
    // keepalived accepts a number (strtol base 0) or an expression of
    // IRUSR-style names joined by '|'.
    let text: String = stmt.args.iter().map(|w| w.text.as_str()).collect();
    let mut mask = 0u32;
    for part in text.split('|').filter(|p| !p.is_empty()) {
        let bit = match part {
            "IRUSR" => 0o400,
            "IWUSR" => 0o200,
            "IXUSR" => 0o100,
            "IRGRP" => 0o40,
            "IWGRP" => 0o20,
            "IXGRP" => 0o10,
            "IROTH" => 0o4,
            "IWOTH" => 0o2,
            "IXOTH" => 0o1,
            "IRWXU" => 0o700,
            "IRWXG" => 0o70,
            "IRWXO" => 0o7,
            n => match crate::parse::values::parse_base0(n) {
                Some(v) if v <= 0o777 => v as u32,
                _ => {
                    ctx.error(stmt.span(), format!("Invalid umask value {text}"));
                    return;
                }
            },
        };
        mask |= bit;
    }
    g.umask = Some(mask);
}

fn rx_bufs_policy(ctx: &mut Ctx, g: &mut GlobalDefs, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    g.vrrp_rx_bufs_policy = match w.text.to_ascii_uppercase().as_str() {
        "MTU" => Some(RxBufsPolicy::Mtu),
        "ADVERT" => Some(RxBufsPolicy::Advert),
        _ => ctx.uint(w, 1, u32::MAX as u64).map(RxBufsPolicy::Size),
    };
}

fn snmp_flag(_ctx: &mut Ctx, g: &mut GlobalDefs, stmt: &Stmt) {
    match stmt.keyword.text.as_str() {
        "enable_snmp_vrrp" | "enable_snmp_keepalived" => g.enable_snmp_vrrp = true,
        "enable_snmp_checker" => g.enable_snmp_checker = true,
        "enable_snmp_rfc" => {
            g.enable_snmp_rfcv2 = true;
            g.enable_snmp_rfcv3 = true
        }
        "enable_snmp_rfcv2" => g.enable_snmp_rfcv2 = true,
        "enable_snmp_rfcv3" => g.enable_snmp_rfcv3 = true,
        _ => g.enable_traps = true,
    }
}

fn root_net_namespace(c: &mut Ctx, g: &mut GlobalDefs, s: &Stmt) {
    if g.net_namespace.is_some() {
        c.error(
            &s.args[0].span,
            format!(
                "Duplicate net_namespace definition {} - ignoring",
                s.args[0].text
            ),
        );
    } else {
        g.net_namespace = Some(text(s, 0));
    }
}

fn root_instance(c: &mut Ctx, g: &mut GlobalDefs, s: &Stmt) {
    if g.instance.is_some() {
        c.error(
            &s.args[0].span,
            format!(
                "Duplicate instance definition {} - ignoring",
                s.args[0].text
            ),
        );
    } else {
        g.instance = Some(text(s, 0));
    }
}

/// keepalived's global keywords that stand at the top level, outside any
/// block (`core/global_parser.c:init_global_keywords`, installed with
/// `install_keyword_root` before `global_defs`). Inside `global_defs`
/// keepalived 2.2.7 calls them unknown keywords.
pub const ROOT_GLOBAL: &[Kw<GlobalDefs>] = &[
    Kw::new("linkbeat_use_polling", 0, |_, g, _| {
        g.linkbeat_use_polling = true
    }),
    Kw::checked("net_namespace", 1, root_net_namespace)
        .with_missing_message("net_namespace name missing - ignoring"),
    Kw::new("net_namespace_ipvs", 0, |c, g, s| {
        if g.net_namespace_ipvs.is_some() {
            let name = s.arg(0).map(|w| w.text.as_str()).unwrap_or("(null)");
            c.error(
                s.span(),
                format!("Duplicate net_namespace_ipvs definition {name} - ignoring"),
            );
            return;
        }
        // No name: the default namespace.
        g.net_namespace_ipvs = Some(s.arg(0).map(|w| w.text.clone()).unwrap_or_default())
    }),
    Kw::new("namespace_with_ipsets", 0, |_, g, _| {
        g.namespace_with_ipsets = true
    }),
    Kw::new("use_pid_dir", 0, |_, g, _| g.use_pid_dir = true),
    Kw::checked("instance", 1, root_instance)
        .with_missing_message("instance name missing - ignoring"),
    Kw::new("child_wait_time", 1, |c, g, s| {
        match s.arg(0).and_then(|w| c.uint(w, 0, u32::MAX as u64)) {
            Some(v) => g.child_wait_time = Duration::from_secs(v),
            None => c.error(
                &s.args[0].span,
                format!("Invalid child_wait_time {}", s.args[0].text),
            ),
        }
    }),
];

/// Every keyword of `global_defs`.
pub const GLOBAL_DEFS: &[Kw<GlobalDefs>] = &[
    Kw::checked("router_id", 1, |_, g, s| g.router_id = Some(text(s, 0))),
    Kw::checked("tmp_config_directory", 1, |_, g, s| {
        g.tmp_config_directory = Some(path(s, 0))
    }),
    Kw::new("config_save_dir", 1, |_, g, s| {
        g.config_save_dir = Some(path(s, 0))
    }),
    Kw::new("process_names", 0, |_, g, _| g.process_names = true),
    Kw::new("process_name", 1, |_, g, s| {
        g.process_name = Some(text(s, 0))
    }),
    Kw::new("vrrp_process_name", 1, process_name),
    Kw::new("checker_process_name", 1, process_name),
    Kw::quiet_alias("lvs_process_name", "checker_process_name", 1, process_name),
    Kw::new("bfd_process_name", 1, process_name),
    Kw::new("use_symlink_paths", 0, |c, g, s| {
        g.use_symlink_paths = c.flag(s)
    }),
    Kw::new("set_supplementary_groups", 0, |_, g, _| {
        g.set_supplementary_groups = true
    }),
    Kw::checked("startup_script", 1, |c, g, s| {
        g.startup_script = start_stop_script(c, s)
    }),
    Kw::checked("startup_script_timeout", 1, |c, g, s| {
        if let Some(v) = u32_in(c, s, 1, 1000) {
            g.startup_script_timeout = Duration::from_secs(v as u64)
        }
    }),
    Kw::checked("shutdown_script", 1, |c, g, s| {
        g.shutdown_script = start_stop_script(c, s)
    }),
    Kw::checked("shutdown_script_timeout", 1, |c, g, s| {
        if let Some(v) = u32_in(c, s, 1, 1000) {
            g.shutdown_script_timeout = Duration::from_secs(v as u64)
        }
    }),
    Kw::block("notification_email", notification_email),
    Kw::checked("notification_email_from", 1, |_, g, s| {
        g.notification_email_from = Some(text(s, 0))
    }),
    Kw::new("smtp_server", 1, smtp_server),
    Kw::lenient("smtp_helo_name", 1, |_, g, s| {
        g.smtp_helo_name = Some(text(s, 0))
    }),
    Kw::new("smtp_connect_timeout", 1, |c, g, s| {
        if let Some(v) = u32_in(c, s, 1, u32::MAX as u64) {
            g.smtp_connect_timeout = Duration::from_secs(v as u64)
        }
    }),
    Kw::new("smtp_alert", 0, |c, g, s| g.smtp_alert = Some(c.flag(s))),
    Kw::new("smtp_alert_vrrp", 0, |c, g, s| {
        g.smtp_alert_vrrp = Some(c.flag(s))
    }),
    Kw::new("smtp_alert_checker", 0, |c, g, s| {
        g.smtp_alert_checker = Some(c.flag(s))
    }),
    Kw::new("no_email_faults", 0, |_, g, _| g.no_email_faults = true),
    Kw::new("checker_log_all_failures", 0, |c, g, s| {
        g.checker_log_all_failures = c.flag(s)
    }),
    Kw::new("no_checker_emails", 0, |c, g, s| {
        g.no_checker_emails = c.flag(s)
    }),
    Kw::new("rs_init_notifies", 0, |c, g, s| {
        g.rs_init_notifies = c.flag(s)
    }),
    Kw::new("vrrp_mcast_group4", 1, |c, g, s| {
        if let Some(a) = s
            .arg(0)
            .and_then(|w| c.ip(w))
            .filter(|a| a.is_ipv4() && a.is_multicast())
        {
            g.vrrp_mcast_group4 = a
        } else {
            c.error(
                s.span(),
                format!("vrrp_mcast_group4 '{}' is invalid", text(s, 0)),
            )
        }
    }),
    Kw::new("vrrp_mcast_group6", 1, |c, g, s| {
        if let Some(a) = s
            .arg(0)
            .and_then(|w| c.ip(w))
            .filter(|a| a.is_ipv6() && a.is_multicast())
        {
            g.vrrp_mcast_group6 = a
        } else {
            c.error(
                s.span(),
                format!("vrrp_mcast_group6 '{}' is invalid", text(s, 0)),
            )
        }
    }),
    Kw::checked("default_interface", 1, |_, g, s| {
        g.default_interface = Some(text(s, 0))
    }),
    Kw::checked("lvs_sync_daemon", 1, lvs_sync_daemon),
    Kw::checked("lvs_timeouts", 1, lvs_timeouts),
    Kw::new("lvs_flush", 0, |_, g, _| g.lvs_flush = true),
    Kw::new("lvs_flush_on_stop", 0, lvs_flush_on_stop),
    Kw::quiet_alias(
        "lvs_flush_onstop",
        "lvs_flush_on_stop",
        0,
        lvs_flush_on_stop,
    ),
    Kw::new("vrrp_garp_master_delay", 1, |c, g, s| {
        if let Some(v) = u32_in(c, s, 0, 86400) {
            g.vrrp_garp_master_delay = Duration::from_secs(v as u64)
        }
    }),
    Kw::new("vrrp_garp_master_repeat", 1, |c, g, s| {
        if let Some(v) = u32_in(c, s, 0, u32::MAX as u64) {
            g.vrrp_garp_master_repeat = v
        }
    }),
    Kw::new("vrrp_garp_lower_prio_delay", 1, |c, g, s| {
        g.vrrp_garp_lower_prio_delay = u32_in(c, s, 0, 86400).map(|v| Duration::from_secs(v as u64))
    }),
    Kw::new("vrrp_garp_lower_prio_repeat", 1, |c, g, s| {
        g.vrrp_garp_lower_prio_repeat = u32_in(c, s, 0, u32::MAX as u64)
    }),
    Kw::new("vrrp_garp_master_refresh", 1, |c, g, s| {
        if let Some(v) = u32_in(c, s, 0, 86400) {
            g.vrrp_garp_master_refresh = Duration::from_secs(v as u64)
        }
    }),
    Kw::new("vrrp_garp_master_refresh_repeat", 1, |c, g, s| {
        if let Some(v) = u32_in(c, s, 0, u32::MAX as u64) {
            g.vrrp_garp_master_refresh_repeat = v
        }
    }),
    Kw::new("vrrp_garp_interval", 1, |c, g, s| {
        garp_spacing(c, s, &mut g.vrrp_garp_interval)
    }),
    Kw::new("vrrp_gna_interval", 1, |c, g, s| {
        garp_spacing(c, s, &mut g.vrrp_gna_interval)
    }),
    Kw::new("vrrp_min_garp", 0, |c, g, s| g.vrrp_min_garp = c.flag(s)),
    Kw::checked("vrrp_garp_extra_if", 1, |c, g, s| {
        g.vrrp_garp_extra_if = garp_extra_if(c, s)
    }),
    Kw::checked_alias(
        "vrrp_vmac_garp_intvl",
        "vrrp_garp_extra_if",
        1,
        |c, g, s| g.vrrp_garp_extra_if = garp_extra_if(c, s),
    ),
    Kw::new("vrrp_down_timer_adverts", 1, |c, g, s| {
        if let Some(v) = u32_in(c, s, 1, 100) {
            g.vrrp_down_timer_adverts = v
        }
    }),
    Kw::new("vrrp_lower_prio_no_advert", 0, |c, g, s| {
        g.vrrp_lower_prio_no_advert = Some(c.flag(s))
    }),
    Kw::new("vrrp_higher_prio_send_advert", 0, |c, g, s| {
        g.vrrp_higher_prio_send_advert = c.flag(s)
    }),
    Kw::new("vrrp_owner_ignore_adverts", 0, |c, g, s| {
        g.vrrp_owner_ignore_adverts = Some(c.flag(s))
    }),
    Kw::new("vrrp_version", 1, |c, g, s| {
        if let Some(v) = version(c, s) {
            g.vrrp_version = v
        }
    }),
    Kw::new("v3_checksum_as_v2", 0, |c, g, s| {
        g.v3_checksum_as_v2 = c.flag(s)
    }),
    Kw::new("nftables", 0, |c, g, s| g.nftables = Some(nftables(c, s))),
    Kw::new("nftables_priority", 1, |c, g, s| {
        if let Some(v) = s
            .arg(0)
            .and_then(|w| c.int(w, i32::MIN as i64, i32::MAX as i64))
        {
            g.nftables.get_or_insert_with(Default::default).priority = Some(v as i32)
        }
    }),
    Kw::new("nftables_counters", 0, |_, g, _| {
        g.nftables.get_or_insert_with(Default::default).counters = true
    }),
    Kw::new("nftables_ifindex", 0, |_, g, _| {
        g.nftables.get_or_insert_with(Default::default).ifindex = true
    }),
    Kw::new("nftables_ipvs", 0, |c, g, s| {
        g.nftables_ipvs = Some(nftables(c, s))
    }),
    Kw::new("nftables_ipvs_priority", 1, |c, g, s| {
        if let Some(v) = s
            .arg(0)
            .and_then(|w| c.int(w, i32::MIN as i64, i32::MAX as i64))
        {
            g.nftables_ipvs
                .get_or_insert_with(Default::default)
                .priority = Some(v as i32)
        }
    }),
    Kw::new("nftables_ipvs_start_fwmark", 1, |c, g, s| {
        g.nftables_ipvs_start_fwmark = s
            .arg(0)
            .and_then(|w| c.uint_base0(w, 1, u32::MAX as u64))
            .map(|v| v as u32)
    }),
    Kw::new("vrrp_iptables", 0, |c, g, s| {
        iptables_not_supported(c, s);
        g.vrrp_iptables = Some(IptablesChains {
            input: s.arg(0).map(|w| w.text.clone()),
            output: s.arg(1).map(|w| w.text.clone()),
        })
    }),
    Kw::new("vrrp_ipsets", 0, |c, g, s| {
        iptables_not_supported(c, s);
        g.vrrp_ipsets = Some(s.args.iter().map(|w| w.text.clone()).collect())
    }),
    // The preprocessor acts on include_check; the parser only accepts it.
    Kw::new("include_check", 0, |_, _, _| {}),
    Kw::new("disable_local_igmp", 0, |_, g, _| {
        g.disable_local_igmp = true
    }),
    Kw::new("vrrp_check_unicast_src", 0, |_, g, _| {
        g.vrrp_check_unicast_src = true
    }),
    Kw::new("vrrp_skip_check_adv_addr", 0, |_, g, _| {
        g.vrrp_skip_check_adv_addr = true
    }),
    Kw::new("vrrp_strict", 0, |_, g, _| g.vrrp_strict = true),
    Kw::new("vrrp_notify_priority_changes", 0, |c, g, s| {
        g.vrrp_notify_priority_changes = c.flag(s)
    }),
    Kw::new("max_auto_priority", 0, |c, g, s| {
        g.max_auto_priority = match s.arg(0) {
            None => Some(99),
            Some(w) => c.int(w, -1, 99).map(|v| v as i32),
        }
    }),
    Kw::checked("min_auto_priority_delay", 1, |c, g, s| {
        g.min_auto_priority_delay = s
            .arg(0)
            .and_then(|w| c.uint(w, 1, u32::MAX as u64))
            .map(Duration::from_micros)
    }),
    Kw::checked("vrrp_priority", 1, nice),
    Kw::checked("checker_priority", 1, nice),
    Kw::checked("bfd_priority", 1, nice),
    Kw::new("vrrp_no_swap", 0, no_swap),
    Kw::new("checker_no_swap", 0, no_swap),
    Kw::new("bfd_no_swap", 0, no_swap),
    Kw::checked("vrrp_cpu_affinity", 1, cpu_affinity),
    Kw::checked("checker_cpu_affinity", 1, cpu_affinity),
    Kw::checked("bfd_cpu_affinity", 1, cpu_affinity),
    Kw::checked("vrrp_rt_priority", 1, rt_priority),
    Kw::checked("checker_rt_priority", 1, rt_priority),
    Kw::checked("bfd_rt_priority", 1, rt_priority),
    Kw::new("vrrp_rlimit_rttime", 1, rlimit_rttime),
    Kw::new("checker_rlimit_rttime", 1, rlimit_rttime),
    Kw::new("bfd_rlimit_rttime", 1, rlimit_rttime),
    Kw::quiet_alias("vrrp_rlimit_rtime", "vrrp_rlimit_rttime", 1, rlimit_rttime),
    Kw::quiet_alias(
        "checker_rlimit_rtime",
        "checker_rlimit_rttime",
        1,
        rlimit_rttime,
    ),
    Kw::quiet_alias("bfd_rlimit_rtime", "bfd_rlimit_rttime", 1, rlimit_rttime),
    Kw::checked("snmp_socket", 1, |c, g, s| {
        if !too_many(
            c,
            s,
            1,
            "Too many parameters specified for snmp_socket - ignoring",
        ) {
            g.snmp_socket = Some(text(s, 0))
        }
    }),
    Kw::new("enable_snmp_vrrp", 0, snmp_flag),
    Kw::quiet_alias("enable_snmp_keepalived", "enable_snmp_vrrp", 0, snmp_flag),
    Kw::new("enable_snmp_checker", 0, snmp_flag),
    Kw::new("enable_snmp_rfc", 0, snmp_flag),
    Kw::new("enable_snmp_rfcv2", 0, snmp_flag),
    Kw::new("enable_snmp_rfcv3", 0, snmp_flag),
    Kw::new("enable_traps", 0, snmp_flag),
    Kw::checked("snmp_vs_stats_update_interval", 1, |c, g, s| {
        g.snmp_vs_stats_update_interval = s.arg(0).and_then(|w| c.timer_zero_ok(w))
    }),
    Kw::checked("snmp_rs_stats_update_interval", 1, |c, g, s| {
        g.snmp_rs_stats_update_interval = s.arg(0).and_then(|w| c.timer_zero_ok(w))
    }),
    Kw::new("enable_dbus", 0, |_, g, _| g.enable_dbus = true),
    Kw::checked("dbus_service_name", 1, |_, g, s| {
        g.dbus_service_name = Some(text(s, 0))
    }),
    Kw::new("dbus_no_interface_name", 0, |_, g, _| {
        g.dbus_no_interface_name = true
    }),
    Kw::checked("script_user", 1, |c, g, s| {
        g.script_user = script_user(c, s, 0);
        if let Some(u) = &g.script_user {
            crate::validate::global_script_user(c, u, s.span());
        }
    }),
    Kw::new("enable_script_security", 0, |_, g, _| {
        g.enable_script_security = true
    }),
    Kw::checked("notify_fifo", 1, |c, g, s| fifo(c, s, &mut g.notify_fifo)),
    Kw::checked("notify_fifo_script", 1, |c, g, s| {
        fifo_script(c, s, &mut g.notify_fifo)
    }),
    Kw::checked("vrrp_notify_fifo", 1, |c, g, s| {
        fifo(c, s, &mut g.vrrp_notify_fifo)
    }),
    Kw::checked("vrrp_notify_fifo_script", 1, |c, g, s| {
        fifo_script(c, s, &mut g.vrrp_notify_fifo)
    }),
    Kw::checked("lvs_notify_fifo", 1, |c, g, s| {
        fifo(c, s, &mut g.lvs_notify_fifo)
    }),
    Kw::checked("lvs_notify_fifo_script", 1, |c, g, s| {
        fifo_script(c, s, &mut g.lvs_notify_fifo)
    }),
    Kw::new("fifo_write_vrrp_states_on_reload", 0, |_, g, _| {
        g.fifo_write_vrrp_states_on_reload = true
    }),
    Kw::new("dynamic_interfaces", 0, |c, g, s| {
        let allow_if_changes = match s.arg(0) {
            None => false,
            Some(w) if w.text == "allow_if_changes" => true,
            Some(w) => {
                c.error(
                    &w.span,
                    format!("Unknown dynamic_interfaces option '{}'", w.text),
                );
                false
            }
        };
        g.dynamic_interfaces = Some(DynamicInterfaces { allow_if_changes });
    }),
    Kw::checked("vrrp_netlink_cmd_rcv_bufs", 1, netlink_buf),
    Kw::new("vrrp_netlink_cmd_rcv_bufs_force", 0, netlink_buf),
    Kw::checked("vrrp_netlink_monitor_rcv_bufs", 1, netlink_buf),
    Kw::new("vrrp_netlink_monitor_rcv_bufs_force", 0, netlink_buf),
    Kw::checked("lvs_netlink_cmd_rcv_bufs", 1, netlink_buf),
    Kw::new("lvs_netlink_cmd_rcv_bufs_force", 0, netlink_buf),
    Kw::checked("lvs_netlink_monitor_rcv_bufs", 1, netlink_buf),
    Kw::new("lvs_netlink_monitor_rcv_bufs_force", 0, netlink_buf),
    Kw::checked("process_monitor_rcv_bufs", 1, netlink_buf),
    Kw::new("process_monitor_rcv_bufs_force", 0, netlink_buf),
    Kw::checked("vrrp_rx_bufs_policy", 1, rx_bufs_policy),
    Kw::checked("vrrp_rx_bufs_multiplier", 1, |c, g, s| {
        if !too_many(c, s, 1, "Invalid vrrp_rx_bufs_multiplier") {
            g.vrrp_rx_bufs_multiplier = u32_in(c, s, 1, u32::MAX as u64)
        }
    }),
    Kw::new("umask", 1, umask),
    Kw::new("vrrp_startup_delay", 1, |c, g, s| {
        timer0(c, s, &mut g.vrrp_startup_delay)
    }),
    Kw::checked("vrrp_delay_after_boot", 1, |c, g, s| {
        timer0(c, s, &mut g.vrrp_delay_after_boot)
    }),
    Kw::new("log_unknown_vrids", 0, |_, g, _| g.log_unknown_vrids = true),
    Kw::new("vmac_prefix", 1, |_, g, s| g.vmac_prefix = Some(text(s, 0))),
    Kw::new("vmac_addr_prefix", 1, |_, g, s| {
        g.vmac_addr_prefix = Some(text(s, 0))
    }),
    Kw::new("random_seed", 1, |c, g, s| {
        g.random_seed = u32_in(c, s, 0, u32::MAX as u64)
    }),
    Kw::new("reload_check_config", 0, |_, g, s| {
        g.reload_check_config = Some(s.arg(0).map(|w| PathBuf::from(&w.text)))
    }),
    Kw::checked("reload_time_file", 1, |c, g, s| {
        if !too_many(c, s, 1, "reload_time_file invalid") {
            g.reload_time_file = Some(path(s, 0))
        }
    }),
    Kw::new("reload_repeat", 0, |_, g, _| g.reload_repeat = true),
    Kw::new("reload_file", 0, |_, g, s| {
        g.reload_file = Some(s.arg(0).map(|w| PathBuf::from(&w.text)))
    }),
    Kw::new("data_use_instance", 0, |c, g, s| {
        g.data_use_instance = c.flag(s)
    }),
    Kw::checked("state_dump_file", 1, |_, g, s| {
        g.state_dump_file = Some(path(s, 0))
    }),
    Kw::checked("stats_dump_file", 1, |_, g, s| {
        g.stats_dump_file = Some(path(s, 0))
    }),
    Kw::checked("json_dump_file", 1, |_, g, s| {
        g.json_dump_file = Some(path(s, 0))
    }),
    Kw::checked("json_version", 1, |c, g, s| {
        if let Some(v) = u32_in(c, s, 1, 2) {
            g.json_version = v as u8
        }
    }),
    Kw::checked("iproute_usr_dir", 1, |_, g, s| {
        g.iproute_usr_dir = Some(path(s, 0))
    }),
    Kw::checked("iproute_etc_dir", 1, |_, g, s| {
        g.iproute_etc_dir = Some(path(s, 0))
    }),
];
