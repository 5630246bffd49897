//! keepalived's `validate_check_config()` (check/check_data.c), run once the
//! whole file is parsed, and the LVS side's checks against the system.
//!
//! The messages carry no line in keepalived (they are not tied to a
//! statement), hence `warning_nospan`. Order follows keepalived's: per
//! virtual server, then per real server.

use super::fmt_trio;
use crate::diag::{Diagnostic, Severity};
use crate::model::lvs::{
    CheckerKind, ForwardingMethod, IpFamily, LvsConfig, RealServer, VirtualServer,
    VirtualServerGroup, VsAddress, DEFAULT_PERSISTENCE_TIMEOUT,
};
use crate::model::lvs::{Protocol, Scheduler};
use crate::model::vrrp::Script;
use crate::model::Config;
use crate::parse::Ctx;
use crate::script_check::{check_script, resolve_fifo_owner, resolve_notify_slot, ScriptFlags};
use crate::system::System;

/// Cross-block checks and keepalived's defaults, after the whole file:
/// `link_vsg_to_vs` then `validate_check_config`.
pub fn validate(ctx: &mut Ctx, config: &mut Config) {
    if ctx.stopped {
        return;
    }
    let lvs = &mut config.lvs;
    let groups = std::mem::take(&mut lvs.virtual_server_groups);
    let servers = std::mem::take(&mut lvs.virtual_servers);
    let linked: Vec<VirtualServer> = servers
        .into_iter()
        .filter(|vs| link_group(ctx, vs, &groups))
        .map(|mut vs| {
            settle_group_family(&mut vs, &groups);
            vs
        })
        .collect();
    let members = member_numbers(&linked);
    lvs.virtual_servers = linked
        .into_iter()
        .zip(members)
        .filter_map(|(vs, n)| validate_vs(ctx, vs, n, &groups))
        .collect();
    lvs.virtual_server_groups = groups;
}

/// keepalived only logs these (no `-t` verdict), so they are notes.
fn note(ctx: &mut Ctx, msg: String) {
    let d = Diagnostic::new(Severity::Note, None, msg);
    ctx.diags.push(d);
}

/// keepalived's `link_vsg_to_vs`: a service naming a group that does not
/// exist, or whose family does not fit the group's, is dropped (logged
/// only).
fn link_group(ctx: &mut Ctx, vs: &VirtualServer, groups: &[VirtualServerGroup]) -> bool {
    let VsAddress::Group { name } = &vs.address else {
        return true;
    };
    let Some(g) = groups.iter().find(|g| &g.name == name) else {
        note(
            ctx,
            format!("Virtual server group {name} specified but not configured - ignoring virtual server [{name}]:0"),
        );
        return false;
    };
    let v4 = g.has_family(IpFamily::Inet);
    let v6 = g.has_family(IpFamily::Inet6);
    let mismatch = match vs.family {
        Some(_) if v4 && v6 => true,
        Some(IpFamily::Inet6) => v4,
        Some(IpFamily::Inet) => v6,
        None => false,
    };
    if mismatch {
        note(
            ctx,
            format!("{name}: address family doesn't match virtual server [{name}]:0 - ignoring"),
        );
        return false;
    }
    true
}

fn settle_group_family(vs: &mut VirtualServer, groups: &[VirtualServerGroup]) {
    let VsAddress::Group { name } = &vs.address else {
        return;
    };
    let Some(g) = groups.iter().find(|g| &g.name == name) else {
        return;
    };
    let v4 = g.has_family(IpFamily::Inet);
    let v6 = g.has_family(IpFamily::Inet6);
    if vs.family.is_none() && v4 != v6 {
        vs.family = Some(if v4 { IpFamily::Inet } else { IpFamily::Inet6 });
    }
}

/// keepalived numbers the services of one group 0, 1, ... in its port
/// field, which is what `[GROUP]:N` shows in messages.
fn member_numbers(servers: &[VirtualServer]) -> Vec<u32> {
    let mut seen: Vec<(&str, u32)> = Vec::new();
    servers
        .iter()
        .map(|vs| match &vs.address {
            VsAddress::Group { name } => match seen.iter_mut().find(|(n, _)| n == name) {
                Some((_, next)) => {
                    *next += 1;
                    *next
                }
                None => {
                    seen.push((name, 0));
                    0
                }
            },
            _ => 0,
        })
        .collect()
}

/// keepalived's `FMT_VS`.
fn fmt_vs(vs: &VirtualServer, member: u32) -> String {
    match &vs.address {
        VsAddress::Ip { addr, port } => fmt_trio(addr, vs.protocol, *port),
        VsAddress::Fwmark { mark } => format!("FWM {mark}"),
        VsAddress::Group { name } => format!("[{name}]:{member}"),
    }
}

fn fmt_rs(vs: &VirtualServer, rs: &RealServer) -> String {
    fmt_trio(&rs.addr, vs.protocol, rs.port)
}

fn validate_vs(
    ctx: &mut Ctx,
    mut vs: VirtualServer,
    member: u32,
    groups: &[VirtualServerGroup],
) -> Option<VirtualServer> {
    if vs.real_servers.is_empty() {
        ctx.warning_nospan(format!(
            "Virtual server {} has no real servers - ignoring",
            fmt_vs(&vs, member)
        ));
        return None;
    }
    let group = match &vs.address {
        VsAddress::Group { name } => groups.iter().find(|g| &g.name == name),
        _ => None,
    };
    let group_fwmarks = group.is_some_and(|g| !g.fwmarks.is_empty());
    let group_addrs = group.is_some_and(|g| !g.addresses.is_empty());
    let is_group = matches!(vs.address, VsAddress::Group { .. });

    if vs.ha_suspend && (vs.is_fwmark() || group_fwmarks) {
        ctx.warning_nospan(format!(
            "Virtual server {}: cannot use ha_suspend with fwmarks - clearing ha_suspend",
            fmt_vs(&vs, member)
        ));
        vs.ha_suspend = false;
    }
    if group_addrs || (!is_group && !vs.is_fwmark()) {
        address_service_checks(ctx, &mut vs, is_group, member);
    }
    if vs.persistence_timeout.is_none() {
        if let Some(g) = group {
            if g.addresses.iter().any(|a| a.port.is_none()) {
                ctx.warning_nospan(format!(
                    "Virtual server {}: zero port only valid for persistent services - setting",
                    fmt_vs(&vs, member)
                ));
                vs.persistence_timeout = Some(DEFAULT_PERSISTENCE_TIMEOUT);
            }
        }
    }
    let fwmark_only = (group_fwmarks && !group_addrs) || vs.is_fwmark();
    if vs.protocol.is_some() && fwmark_only {
        ctx.warning_nospan(format!(
            "Warning: Virtual server {}: protocol specified for fwmark - protocol will be ignored",
            fmt_vs(&vs, member)
        ));
        vs.protocol = None;
    }
    if !vs.explicit.scheduler {
        ctx.warning_nospan(format!(
            "Virtual server {}: no scheduler set, setting default '{}'",
            fmt_vs(&vs, member),
            Scheduler::DEFAULT
        ));
        vs.scheduler = Scheduler::DEFAULT;
        vs.explicit.scheduler = true;
    }
    real_server_checks(ctx, &mut vs, member);
    quorum_checks(ctx, &mut vs, member);
    match group {
        Some(g) => group_port_checks(ctx, &vs, g, member),
        None if !is_group => port_fixups(ctx, &mut vs, member),
        None => {}
    }
    Some(vs)
}

/// Protocol default, one-packet scheduling and zero port, for services
/// given by address.
fn address_service_checks(ctx: &mut Ctx, vs: &mut VirtualServer, is_group: bool, member: u32) {
    if vs.protocol.is_none() {
        ctx.warning_nospan(format!(
            "Virtual server {}: no protocol set - defaulting to UDP",
            fmt_vs(vs, member)
        ));
        vs.protocol = Some(Protocol::Udp);
    }
    if vs.flags.one_packet && vs.protocol != Some(Protocol::Udp) {
        ctx.warning_nospan(format!(
            "Virtual server {}: one packet scheduling requires UDP - resetting",
            fmt_vs(vs, member)
        ));
        vs.flags.one_packet = false;
    }
    let zero_port = matches!(vs.address, VsAddress::Ip { port: None, .. });
    if vs.persistence_timeout.is_none() && !is_group && zero_port {
        ctx.warning_nospan(format!(
            "Virtual server {}: zero port only valid for persistent services - setting",
            fmt_vs(vs, member)
        ));
        vs.persistence_timeout = Some(DEFAULT_PERSISTENCE_TIMEOUT);
    }
}

/// Duplicates, the forwarding method default, sorry server inhibit.
fn real_server_checks(ctx: &mut Ctx, vs: &mut VirtualServer, member: u32) {
    let servers = std::mem::take(&mut vs.real_servers);
    let mut kept: Vec<RealServer> = Vec::with_capacity(servers.len());
    for mut rs in servers {
        if kept.iter().any(|k| k.addr == rs.addr && k.port == rs.port) {
            ctx.warning_nospan(format!(
                "VS {}: real server {} is duplicated - removing second rs",
                fmt_vs(vs, member),
                fmt_rs(vs, &rs)
            ));
            continue;
        }
        if !rs.method_set {
            default_method(ctx, vs, member);
            rs.method = vs.method;
            rs.method_set = true;
        }
        if let Some(sorry) = vs.sorry_server.as_mut() {
            if sorry.addr == rs.addr
                && sorry.port == rs.port
                && sorry.inhibit != rs.inhibit_on_failure
            {
                let verb = if rs.inhibit_on_failure {
                    "sett"
                } else {
                    "clear"
                };
                let msg = format!(
                    "Virtual server {}: real server {} matches sorry server, but inhibit setting differs, {verb}ing on sorry server",
                    fmt_vs(vs, member),
                    fmt_rs(vs, &rs)
                );
                ctx.warning_nospan(msg);
                if let Some(s) = vs.sorry_server.as_mut() {
                    s.inhibit = rs.inhibit_on_failure;
                }
            }
        }
        kept.push(rs);
    }
    vs.real_servers = kept;
    let sorry_unset = vs.sorry_server.as_ref().is_some_and(|s| !s.method_set);
    if sorry_unset {
        default_method(ctx, vs, member);
        let method = vs.method;
        if let Some(s) = vs.sorry_server.as_mut() {
            s.method = method;
            s.method_set = true;
        }
    }
}

/// "no forwarding method set, setting default NAT", once per service.
fn default_method(ctx: &mut Ctx, vs: &mut VirtualServer, member: u32) {
    if !vs.explicit.method {
        ctx.warning_nospan(format!(
            "Virtual server {}: no forwarding method set, setting default NAT",
            fmt_vs(vs, member)
        ));
        vs.method = ForwardingMethod::Nat;
        vs.explicit.method = true;
    }
}

fn quorum_checks(ctx: &mut Ctx, vs: &mut VirtualServer, member: u32) {
    let total = vs.total_weight();
    if u64::from(vs.quorum) > total {
        let total = u32::try_from(total).unwrap_or(u32::MAX);
        ctx.warning_nospan(format!(
            "Warning - quorum {} for {} exceeds total weight of real servers {total}, reducing quorum to {total}",
            vs.quorum,
            fmt_vs(vs, member)
        ));
        vs.quorum = total;
    }
    if vs.hysteresis >= vs.quorum {
        // keepalived computes quorum - 1 unsigned: a quorum of 0 wraps.
        let h = vs.quorum.wrapping_sub(1);
        ctx.warning_nospan(format!(
            "Virtual server {}: hysteresis {} >= quorum {}; setting hysteresis to {h}",
            fmt_vs(vs, member),
            vs.hysteresis,
            vs.quorum
        ));
        vs.hysteresis = h;
    }
}

/// Non-NAT servers of a plain or fwmark service must use the service's
/// port (or none for fwmark); keepalived corrects them with a warning.
fn port_fixups(ctx: &mut Ctx, vs: &mut VirtualServer, member: u32) {
    let vs_port = match vs.address {
        VsAddress::Ip { port, .. } => port,
        _ => None,
    };
    let fwmark = vs.is_fwmark();
    let label = fmt_vs(vs, member);
    let proto = vs.protocol;
    for rs in &mut vs.real_servers {
        if rs.method == ForwardingMethod::Nat {
            if !fwmark && rs.port.is_none() {
                rs.port = vs_port;
            }
            continue;
        }
        if fwmark {
            if rs.port.is_some() {
                ctx.warning_nospan(format!(
                    "WARNING - fwmark virtual server {label}, real server {} has port specified - clearing",
                    fmt_trio(&rs.addr, proto, rs.port)
                ));
                rs.port = None;
            }
        } else if rs.port.is_none() {
            rs.port = vs_port;
        } else if rs.port != vs_port {
            ctx.warning_nospan(format!(
                "WARNING - virtual server {label} and real server {} ports don't match - resetting",
                fmt_trio(&rs.addr, proto, rs.port)
            ));
            rs.port = vs_port;
        }
    }
    if let Some(s) = vs.sorry_server.as_mut() {
        if s.method == ForwardingMethod::Nat {
            return;
        }
        if fwmark {
            if s.port.is_some() {
                ctx.warning_nospan(format!(
                    "WARNING - virtual server {label}, sorry server has port specified - clearing"
                ));
                s.port = None;
            }
        } else if s.port.is_none() {
            s.port = vs_port;
        } else if s.port != vs_port {
            ctx.warning_nospan(format!(
                "WARNING - virtual server {label} and sorry server ports don't match - resetting"
            ));
            s.port = vs_port;
        }
    }
}

/// Group services: keepalived only warns (it cannot rewrite ports that
/// differ per group entry).
fn group_port_checks(ctx: &mut Ctx, vs: &VirtualServer, g: &VirtualServerGroup, member: u32) {
    let label = fmt_vs(vs, member);
    let not_nat = |m: &ForwardingMethod| *m != ForwardingMethod::Nat;
    if !g.fwmarks.is_empty() {
        for rs in vs.real_servers.iter().filter(|r| not_nat(&r.method)) {
            if rs.port.is_some() {
                ctx.warning_nospan(format!(
                    "WARNING - fwmark virtual server {label}, real server {} has port specified - port will be ignored",
                    fmt_rs(vs, rs)
                ));
            }
        }
        if let Some(s) = vs.sorry_server.as_ref().filter(|s| not_nat(&s.method)) {
            if s.port.is_some() {
                ctx.warning_nospan(format!(
                    "WARNING - fwmark virtual server {label}, sorry server has port specified - port will be ignored"
                ));
            }
        }
    }
    for entry in &g.addresses {
        let entry_label = if entry.range.first == entry.range.last {
            format!("{},{}", entry.range.first, entry.port.unwrap_or(0))
        } else {
            format!(
                "{}-{},{}",
                entry.range.first,
                entry.range.last,
                entry.port.unwrap_or(0)
            )
        };
        for rs in vs.real_servers.iter().filter(|r| not_nat(&r.method)) {
            if rs.port.is_some() && rs.port != entry.port {
                ctx.warning_nospan(format!(
                    "virtual server {label}:[{entry_label}] and real server {} ports don't match",
                    fmt_rs(vs, rs)
                ));
            }
        }
        if let Some(s) = vs.sorry_server.as_ref().filter(|s| not_nat(&s.method)) {
            if s.port.is_some() && s.port != entry.port {
                ctx.warning_nospan(format!(
                    "WARNING - virtual server {label}, sorry server has port specified - port will be ignored"
                ));
            }
        }
    }
}

// ---------------------------------------------------------------- system

/// Checks against the running system (`-t` and start-up): keepalived's
/// `check_check_script_security` (check/check_data.c). Scripts that would
/// run (found and executable) without `enable_script_security` are a
/// SECURITY VIOLATION (`-t` exit 6); scripts not found are dropped, as
/// keepalived disables them with only a log line.
pub fn check_system(ctx: &mut Ctx, config: &mut Config, sys: &dyn System) {
    if ctx.stopped || config.lvs.virtual_servers.is_empty() {
        return;
    }
    let security = config.global_defs.enable_script_security;
    let g = &mut config.global_defs;
    resolve_fifo_owner(ctx, security, &mut g.notify_fifo, "");
    resolve_fifo_owner(ctx, security, &mut g.lvs_notify_fifo, "lvs_");
    for (slot, kind) in [
        (&mut g.notify_fifo.script, "notify_fifo"),
        (&mut g.lvs_notify_fifo.script, "lvs_notify_fifo"),
    ] {
        resolve_notify_slot(ctx, security, slot, kind);
    }
    let mut flags = ScriptFlags::default();
    let fifo_scripts = g
        .notify_fifo
        .script
        .iter_mut()
        .chain(g.lvs_notify_fifo.script.iter_mut());
    for script in check_scripts(&mut config.lvs).chain(fifo_scripts) {
        // Identities were resolved while parsing (`script_check`); a
        // script without one is not run.
        let Some(user) = script.run_as.clone() else {
            continue;
        };
        let check = check_script(sys, script, &user, security);
        if let Some(span) = &script.span {
            for m in &check.messages {
                ctx.note(span, m.clone());
            }
        }
        script.exec_path = check.exec_path;
        flags.merge(check.flags);
    }
    if !security && flags.is_script {
        let extra = if flags.insecure {
            " There are insecure scripts."
        } else {
            ""
        };
        ctx.security(
            None,
            format!("SECURITY VIOLATION - check scripts are being executed but script_security not enabled.{extra}"),
        );
    }
}

/// Every script the checker process may run.
fn check_scripts(lvs: &mut LvsConfig) -> impl Iterator<Item = &mut Script> {
    lvs.virtual_servers.iter_mut().flat_map(|vs| {
        let quorum = vs.quorum_up.iter_mut().chain(vs.quorum_down.iter_mut());
        let rs_scripts = vs.real_servers.iter_mut().flat_map(|rs| {
            let misc = rs.checkers.iter_mut().filter_map(|c| match &mut c.kind {
                CheckerKind::Misc(m) => Some(&mut m.script),
                _ => None,
            });
            rs.notify_up
                .iter_mut()
                .chain(rs.notify_down.iter_mut())
                .chain(misc)
        });
        quorum
            .chain(rs_scripts)
            .chain(vs.dropped_misc_scripts.iter_mut())
    })
}
