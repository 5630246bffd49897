//! Checks and defaults that need more than one keyword: keepalived's
//! `vrrp_complete_instance` / `vrrp_complete_init` (reference §1.8 and the
//! appendix), script users and script security (§1.11), and the checks
//! against the running system that keepalived does while reading the config
//! (interfaces, script files, users).

use crate::model::net::IpAddressSpec;
use crate::model::vrrp::{InitialState, RunAs, VrrpInstance, VrrpVersion};
use crate::model::Config;
use crate::parse::Ctx;
use crate::script_check::{check_slot, resolve_fifo_owner, resolve_notify_slot, ScriptFlags};
use crate::source::Span;
use std::collections::HashMap;
use std::time::Duration;

/// State carried across blocks while parsing.
#[derive(Debug, Default)]
pub struct ParseState {
    /// The default script user once looked up (`keepalived_script`, or the
    /// global `script_user`): `Some(Ok)` found, `Some(Err)` failed.
    pub(crate) default_user: Option<Result<RunAs, ()>>,
    /// An interface named in the config does not exist.
    pub missing_interface: bool,
    /// Names of the vrrp_instances parsed so far (duplicate check without
    /// a scan of every earlier instance).
    pub vrrp_instance_names: std::collections::HashSet<String>,
}

// ------------------------------------------------------------ script users

// One resolution for VRRP and LVS: see `script_check`.
pub use crate::script_check::{default_script_user, global_script_user};

/// End of a `vrrp_script` block (keepalived `vrrp_vscript_end_handler`):
/// returns whether the script is kept.
pub fn vrrp_script_parsed(
    ctx: &mut Ctx,
    config: &Config,
    s: &mut crate::model::VrrpScript,
) -> bool {
    let span = s.span.clone().unwrap_or_else(dummy_span);
    if s.script.as_ref().is_none_or(|sc| sc.args.is_empty()) {
        ctx.error(
            &span,
            format!("No script set for vrrp_script {} - removing", s.name),
        );
        return false;
    }
    let run_as = match &s.user {
        Some(u) => {
            let found = crate::script_check::lookup_user(ctx, &span, u);
            if found.is_none() {
                let cmd = s
                    .script
                    .as_ref()
                    .map(|x| x.args.join(" "))
                    .unwrap_or_default();
                ctx.error(&span, format!("Unable to set uid/gid for script {cmd}"));
                return false;
            }
            found
        }
        None => {
            let found = default_script_user(ctx, config, &span);
            if found.is_none() {
                ctx.error(
                    &span,
                    format!(
                        "Unable to set default user for vrrp script {} - removing",
                        s.name
                    ),
                );
                return false;
            }
            found
        }
    };
    if let Some(script) = s.script.as_mut() {
        script.run_as = run_as;
    }
    true
}

fn dummy_span() -> Span {
    Span {
        file: std::sync::Arc::new(std::path::PathBuf::new()),
        line: 0,
        col: 0,
    }
}

// -------------------------------------------------- parse-time, instance

/// keepalived's `if_get_by_ifname(name, global_data->dynamic_interfaces)`
/// (linkbeat_interfaces, interface_up_down_delays): without
/// `dynamic_interfaces` that is `IF_NO_CREATE`, which does not mark a
/// non-existent interface, so keepalived goes on validating
/// (`vrrp/vrrp_if.c`, 2.2.7).
fn interface_absent_unmarked(ctx: &Ctx, config: &Config, name: &str) -> bool {
    config.global_defs.dynamic_interfaces.is_none() && !ctx.sys.interface_exists(name)
}

fn interface_missing(ctx: &mut Ctx, config: &Config, name: &str) -> bool {
    if config.global_defs.dynamic_interfaces.is_some() || ctx.sys.interface_exists(name) {
        return false;
    }
    ctx.state.missing_interface = true;
    true
}

/// Checks keepalived makes while it reads a `vrrp_instance` block: the
/// interfaces exist, tracked objects are already defined (keepalived looks
/// them up at that point, so a `vrrp_script` defined after the instance is
/// "not found"), VIPs are of the instance's family.
pub fn instance_parsed(ctx: &mut Ctx, config: &Config, v: &mut VrrpInstance) {
    let span = v.span.clone().unwrap_or_else(dummy_span);
    let name = v.name.clone();
    if v.vrf.is_some() && v.interface.is_some() {
        ctx.error(
            &span,
            format!("({name}) Cannot specify VRF interface and interface - ignoring"),
        );
        v.vrf = None;
    }
    if v.interface.as_deref() == Some("lo") {
        ctx.error(
            &span,
            format!("({name}) cannot use a loopback interface (lo) for vrrp - ignoring"),
        );
        v.interface = None;
    }
    if let Some(ifname) = v.interface.clone() {
        if interface_missing(ctx, config, &ifname) {
            ctx.error(
                &span,
                format!("WARNING - interface {ifname} for vrrp_instance {name} doesn't exist"),
            );
        }
    }
    let mut kept = Vec::new();
    for t in std::mem::take(&mut v.track_interfaces) {
        if interface_missing(ctx, config, &t.name) {
            let s = t.span.clone().unwrap_or_else(|| span.clone());
            ctx.error(
                &s,
                format!("({name}) tracked interface {} doesn't exist", t.name),
            );
        } else {
            kept.push(t);
        }
    }
    v.track_interfaces = kept;

    resolve_track_refs(
        ctx,
        config,
        &name,
        &span,
        &mut TrackLists {
            scripts: &mut v.track_scripts,
            files: &mut v.track_files,
            processes: &mut v.track_processes,
            bfds: &mut v.track_bfds,
        },
    );

    // All VIPs share one family, set by the first (man5 virtual_ipaddress).
    let mut family_v6: Option<bool> = if v.parsed.native_ipv6 {
        Some(true)
    } else {
        None
    };
    let mut vips = Vec::new();
    for a in std::mem::take(&mut v.virtual_ipaddresses) {
        let is6 = a.address.is_ipv6();
        match family_v6 {
            Some(f) if f != is6 => {
                let s = a.span.clone().unwrap_or_else(|| span.clone());
                ctx.error(
                    &s,
                    format!(
                        "({name}): address family must match VRRP instance [{}] - ignoring",
                        a.address
                    ),
                );
            }
            _ => {
                family_v6 = Some(is6);
                vips.push(a);
            }
        }
    }
    // Usually one or two addresses: do not keep room for four per
    // instance for the daemon's lifetime.
    vips.shrink_to_fit();
    v.virtual_ipaddresses = vips;
    // Without VIPs the source address or first peer decides the family.
    let family_v6 = family_v6
        .or(v.unicast_src_ip.map(|a| a.is_ipv6()))
        .or(v.unicast_peers.first().map(|p| p.address.is_ipv6()));
    v.ipv6 = family_v6.unwrap_or(false);
    let v6 = v.ipv6;
    v.unicast_peers.retain(|p| {
        if p.address.is_ipv6() != v6 {
            let s = p.span.clone().unwrap_or_else(|| span.clone());
            ctx.error(&s, format!("Configuration error: VRRP instance[{name}] and unicast peer address[{}] MUST be of the same family !!! Skipping...", p.address));
            false
        } else {
            true
        }
    });

    for a in v
        .virtual_ipaddresses
        .iter()
        .chain(v.virtual_ipaddresses_excluded.iter())
    {
        check_address_dev(ctx, config, a);
    }
    for r in &mut v.virtual_routes {
        // Only the route's own `dev` counts, not a nexthop's.
        if !r.no_track && r.dev.is_some() && r.protocol.is_some_and(|p| p != 18) {
            let s = r.span.clone().unwrap_or_else(|| span.clone());
            ctx.warning(
                &s,
                "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol",
            );
            r.protocol = Some(18);
        }
        if !r.no_track && r.dev.is_none() {
            let s = r.span.clone().unwrap_or_else(|| span.clone());
            ctx.warning(
                &s,
                format!(
                    "Warning - cannot track route {} with no interface specified, not tracking",
                    r.dest
                ),
            );
            r.no_track = true;
        }
    }
    for r in &v.virtual_rules {
        check_rule_ifs(ctx, config, r);
    }
    for r in &v.virtual_routes {
        let devs = r
            .dev
            .iter()
            .chain(r.nexthops.iter().filter_map(|n| n.dev.as_ref()));
        for d in devs {
            if interface_missing(ctx, config, d) {
                let s = r.span.clone().unwrap_or_else(|| span.clone());
                ctx.error(
                    &s,
                    format!("WARNING - interface {d} for VROUTE nexthop doesn't exist"),
                );
            }
        }
    }
}

/// The tracker lists of an instance or sync group.
pub struct TrackLists<'a> {
    pub scripts: &'a mut Vec<crate::model::vrrp::TrackRef>,
    pub files: &'a mut Vec<crate::model::vrrp::TrackRef>,
    pub processes: &'a mut Vec<crate::model::vrrp::TrackRef>,
    pub bfds: &'a mut Vec<crate::model::vrrp::TrackRef>,
}

/// keepalived looks tracked objects up when it reads the reference (so one
/// defined later is "not found") and copies the object's weight and
/// `reverse` when the reference gives none.
pub fn resolve_track_refs(
    ctx: &mut Ctx,
    config: &Config,
    owner: &str,
    span: &Span,
    l: &mut TrackLists<'_>,
) {
    fn resolve(
        ctx: &mut Ctx,
        list: &mut Vec<crate::model::vrrp::TrackRef>,
        kind: &str,
        owner: &str,
        span: &Span,
        lookup: &dyn Fn(&str) -> Option<(i32, bool)>,
    ) {
        list.retain_mut(|t| match lookup(&t.name) {
            Some((w, r)) => {
                t.weight.get_or_insert(w);
                t.reverse.get_or_insert(r);
                true
            }
            None => {
                let s = t.span.clone().unwrap_or_else(|| span.clone());
                ctx.error(
                    &s,
                    format!("({owner}) {kind} {} not found, ignoring...", t.name),
                );
                false
            }
        });
    }
    resolve(ctx, l.scripts, "track script", owner, span, &|n| {
        config
            .vrrp_scripts
            .iter()
            .find(|s| s.name == n)
            .map(|s| (s.weight, s.weight_reverse))
    });
    resolve(ctx, l.files, "track file", owner, span, &|n| {
        config
            .track_files
            .iter()
            .find(|s| s.name == n)
            .map(|s| (s.weight, s.weight_reverse))
    });
    resolve(ctx, l.processes, "track process", owner, span, &|n| {
        config
            .track_processes
            .iter()
            .find(|s| s.name == n)
            .map(|s| (s.weight, s.weight_reverse))
    });
    resolve(ctx, l.bfds, "track bfd", owner, span, &|n| {
        config
            .bfd_instances
            .iter()
            .find(|s| s.name == n)
            .map(|s| (s.weight, s.weight_reverse))
    });
}

/// `dev X` of an address must exist.
pub fn check_address_dev(ctx: &mut Ctx, config: &Config, a: &IpAddressSpec) {
    if let Some(d) = &a.dev {
        if interface_missing(ctx, config, d) {
            let s = a.span.clone().unwrap_or_else(dummy_span);
            ctx.error(
                &s,
                format!(
                    "WARNING - interface {d} for ip address {} doesn't exist",
                    a.address.addr
                ),
            );
        }
    }
}

/// `iif`/`oif` of a rule must exist.
fn check_rule_ifs(ctx: &mut Ctx, config: &Config, r: &crate::model::RuleSpec) {
    for d in r.iif.iter().chain(r.oif.iter()) {
        if interface_missing(ctx, config, d) {
            let s = r.span.clone().unwrap_or_else(dummy_span);
            ctx.error(
                &s,
                format!("WARNING - interface {d} for rule doesn't exist"),
            );
        }
    }
}

/// Interfaces named by garp_group, linkbeat_interfaces,
/// interface_up_down_delays and sync group track_interface must exist;
/// keepalived treats the last two but one as fatal (`-t` exit 4).
pub fn check_top_level_interfaces(ctx: &mut Ctx, config: &mut Config) {
    for g in &config.garp_groups {
        for i in &g.interfaces {
            if interface_missing(ctx, config, i) {
                ctx.error_nospan(format!(
                    "WARNING - interface {i} specified for garp_group doesn't exist"
                ));
            }
        }
    }
    for l in &config.linkbeat_interfaces {
        if interface_absent_unmarked(ctx, config, &l.name) {
            ctx.fatal(
                None,
                format!(
                    "unknown interface {} specified for linkbeat interface",
                    l.name
                ),
            );
        }
    }
    for d in &config.interface_up_down_delays {
        if interface_absent_unmarked(ctx, config, &d.interface) {
            ctx.fatal(
                None,
                format!(
                    "unknown interface {} specified for up/down delay",
                    d.interface
                ),
            );
        }
    }
    let mut groups = std::mem::take(&mut config.vrrp_sync_groups);
    for g in &mut groups {
        let name = g.name.clone();
        let mut kept = Vec::new();
        for t in std::mem::take(&mut g.track_interfaces) {
            if interface_missing(ctx, config, &t.name) {
                let s = t
                    .span
                    .clone()
                    .or_else(|| g.span.clone())
                    .unwrap_or_else(dummy_span);
                ctx.error(
                    &s,
                    format!("({name}) tracked interface {} doesn't exist", t.name),
                );
            } else {
                kept.push(t);
            }
        }
        g.track_interfaces = kept;
    }
    config.vrrp_sync_groups = groups;
}

/// Static routes: interfaces must exist.
pub fn check_static(ctx: &mut Ctx, config: &Config) {
    for a in &config.static_ipaddresses {
        if a.dev.is_some() {
            check_address_dev(ctx, config, a);
            continue;
        }
        // Without `dev` a static address goes on default_interface (eth0);
        // keepalived treats its absence as fatal (`-t` exit 4).
        let def = config
            .global_defs
            .default_interface
            .as_deref()
            .unwrap_or("eth0");
        if interface_missing(ctx, config, def) {
            let s = a.span.clone().unwrap_or_else(dummy_span);
            ctx.fatal(
                Some(&s),
                format!(
                    "Static address {} requires either an interface or default interface must exist",
                    a.address
                ),
            );
        }
    }
    for r in &config.static_rules {
        check_rule_ifs(ctx, config, r);
    }
    for r in &config.static_routes {
        if r.dev.is_none() && !r.no_track {
            let s = r.span.clone().unwrap_or_else(dummy_span);
            ctx.warning(
                &s,
                format!(
                    "Warning - cannot track route {} with no interface specified, not tracking",
                    r.dest
                ),
            );
        }
        let devs = r
            .dev
            .iter()
            .chain(r.nexthops.iter().filter_map(|n| n.dev.as_ref()));
        for d in devs {
            if interface_missing(ctx, config, d) {
                let s = r.span.clone().unwrap_or_else(dummy_span);
                ctx.error(
                    &s,
                    format!("WARNING - interface {d} for VROUTE nexthop doesn't exist"),
                );
            }
        }
    }
}

// ------------------------------------------------------ post-parse checks

/// Everything keepalived does once the whole file is read
/// (`vrrp_complete_init`), in its order.
pub fn finish(ctx: &mut Ctx, config: &mut Config) {
    if ctx.stopped {
        return;
    }
    check_static(ctx, config);
    check_top_level_interfaces(ctx, config);
    // The parent checks start/shutdown scripts itself (`core/main.c`),
    // whatever the VRRP child thinks of the interfaces.
    check_start_stop_scripts(ctx, config);
    // keepalived stops after reading the config when an interface it names
    // does not exist: nothing of the completion below is reported then. The
    // model still gets the completed defaults, silently.
    let quiet_from = ctx.state.missing_interface.then_some(ctx.diags.len());
    // keepalived checks script security before it resolves the sync
    // groups' members: the scripts of a group whose members all turn out
    // not to exist still count (`vrrp/vrrp_daemon.c`, 2.2.7: the
    // violation is reported before "Virtual router X specified in sync
    // group G doesn't exist").
    check_script_security(ctx, config);
    resolve_sync_groups(ctx, config);
    let globals = config.global_defs.clone();
    let sync_weighted: Vec<(String, bool)> = config
        .vrrp_sync_groups
        .iter()
        .flat_map(|g| {
            g.group
                .iter()
                .map(move |i| (i.clone(), g.sync_group_tracking_weight))
        })
        .collect();
    for v in &mut config.vrrp_instances {
        let in_sync = sync_weighted
            .iter()
            .find(|(n, _)| *n == v.name)
            .map(|(_, w)| *w);
        complete_instance(ctx, &globals, v, in_sync);
    }
    check_duplicate_vrids(ctx, config);
    check_doubly_tracked_interfaces(ctx, config);
    if let Some(n) = quiet_from {
        ctx.diags.truncate(n);
        ctx.bad_interface_nospan("Non-existent interface specified in configuration");
    }
}

fn resolve_sync_groups(ctx: &mut Ctx, config: &mut Config) {
    let names: Vec<String> = config
        .vrrp_instances
        .iter()
        .map(|v| v.name.clone())
        .collect();
    let mut taken: Vec<String> = Vec::new();
    let mut groups = std::mem::take(&mut config.vrrp_sync_groups);
    groups.retain_mut(|g| {
        let span = g.span.clone().unwrap_or_else(dummy_span);
        if g.group.is_empty() {
            ctx.error(&span, format!("Sync group {} has no virtual router(s) - removing", g.name));
            return false;
        }
        let mut members = Vec::new();
        for m in std::mem::take(&mut g.group) {
            if !names.contains(&m) {
                ctx.error(
                    &span,
                    format!("Virtual router {m} specified in sync group {} doesn't exist - ignoring", g.name),
                );
            } else if taken.contains(&m) {
                ctx.error(
                    &span,
                    format!("VRRP instance {m} cannot be in more than one sync group - ignoring {}", g.name),
                );
            } else {
                taken.push(m.clone());
                members.push(m);
            }
        }
        g.group = members;
        if g.group.is_empty() {
            return false;
        }
        if g.group.len() == 1 {
            ctx.error(
                &span,
                format!("Sync group {} has only 1 virtual router(s) - this probably isn't what you want", g.name),
            );
        }
        true
    });
    for g in &groups {
        for m in &g.group {
            if let Some(v) = config.vrrp_instances.iter_mut().find(|v| &v.name == m) {
                v.sync_group = Some(g.name.clone());
            }
        }
    }
    config.vrrp_sync_groups = groups;
}

/// keepalived `check_vrrp_script_security` (reference §1.11): scripts that
/// are not found are disabled; any script that would run, without
/// `enable_script_security`, is a SECURITY VIOLATION (`-t` exit 6). Every
/// script kept leaves here with its identity and the path to execute.
fn check_script_security(ctx: &mut Ctx, config: &mut Config) {
    if config.vrrp_instances.is_empty() {
        return;
    }
    let security = config.global_defs.enable_script_security;
    let mut flags = ScriptFlags::default();
    let mut disabled = Vec::new();
    let mut scripts = std::mem::take(&mut config.vrrp_scripts);
    for s in &mut scripts {
        let span = s.span.clone().unwrap_or_else(dummy_span);
        let mut slot = s.script.take();
        let f = check_slot(ctx, &mut slot, security);
        s.script = slot;
        flags.merge(f);
        if f.inhibit {
            ctx.error(
                &span,
                format!("Disabling track script {} due to insecure", s.name),
            );
            disabled.push(s.name.clone());
        } else if f.not_found {
            ctx.error(
                &span,
                format!(
                    "Disabling track script {} since not found/accessible",
                    s.name
                ),
            );
            disabled.push(s.name.clone());
        } else if s.script.is_none() {
            disabled.push(s.name.clone());
        }
    }
    config.vrrp_scripts = scripts;
    let mut check_notify = |ctx: &mut Ctx, n: &mut crate::model::vrrp::Notify| {
        for slot in [
            &mut n.master,
            &mut n.backup,
            &mut n.fault,
            &mut n.stop,
            &mut n.deleted,
            &mut n.any,
            &mut n.master_rx_lower_pri,
        ] {
            resolve_notify_slot(ctx, security, slot, "notify");
            flags.merge(check_slot(ctx, slot, security));
        }
    };
    for v in &mut config.vrrp_instances {
        check_notify(ctx, &mut v.notify);
        v.track_scripts.retain(|t| !disabled.contains(&t.name));
    }
    for g in &mut config.vrrp_sync_groups {
        check_notify(ctx, &mut g.notify);
        g.track_scripts.retain(|t| !disabled.contains(&t.name));
    }
    let g = &mut config.global_defs;
    resolve_fifo_owner(ctx, security, &mut g.notify_fifo, "");
    resolve_fifo_owner(ctx, security, &mut g.vrrp_notify_fifo, "vrrp_");
    for (slot, kind) in [
        (&mut g.notify_fifo.script, "notify_fifo"),
        (&mut g.vrrp_notify_fifo.script, "vrrp_notify_fifo"),
    ] {
        resolve_notify_slot(ctx, security, slot, kind);
        flags.merge(check_slot(ctx, slot, security));
    }
    if !security && flags.is_script {
        let extra = if flags.insecure {
            " There are insecure scripts."
        } else {
            ""
        };
        ctx.security(
            None,
            format!("SECURITY VIOLATION - scripts are being executed but script_security not enabled.{extra}"),
        );
    }
    config.vrrp_scripts.retain(|s| !disabled.contains(&s.name));
}

/// `startup_script` / `shutdown_script` are checked by keepalived's parent
/// process, with their own SECURITY VIOLATION message (`-t` exit 6). A
/// script whose user cannot be set is an invalid script (keepalived
/// `startup_shutdown_script_handler`).
fn check_start_stop_scripts(ctx: &mut Ctx, config: &mut Config) {
    let security = config.global_defs.enable_script_security;
    let mut flags = ScriptFlags::default();
    let g = &mut config.global_defs;
    for (slot, kind) in [
        (&mut g.startup_script, "startup"),
        (&mut g.shutdown_script, "shutdown"),
    ] {
        let span = slot.as_ref().and_then(|s| s.span.clone());
        resolve_notify_slot(ctx, security, slot, kind);
        if slot.is_none() {
            if let Some(span) = span {
                ctx.error(&span, format!("Invalid {kind} script"));
            }
            continue;
        }
        flags.merge(check_slot(ctx, slot, security));
    }
    if !security && flags.is_script {
        ctx.security(
            None,
            "SECURITY VIOLATION - start/shutdown scripts are being executed but script_security not enabled.",
        );
    }
}

/// keepalived `vrrp_complete_instance` for one instance.
fn complete_instance(
    ctx: &mut Ctx,
    g: &crate::model::GlobalDefs,
    v: &mut VrrpInstance,
    sync_tracking_weight: Option<bool>,
) {
    let span = v.span.clone().unwrap_or_else(dummy_span);
    let name = v.name.clone();
    let strict = v.strict_mode.unwrap_or(g.vrrp_strict);

    // Version: global default, IPv6 is always v3 unless set (and strict
    // forces 3).
    if v.ipv6 {
        if v.parsed.version_set && v.version == VrrpVersion::V2 && strict {
            ctx.error(
                &span,
                format!("({name}) cannot use IPv6 with VRRP version 2; setting version 3"),
            );
            v.version = VrrpVersion::V3;
        } else if !v.parsed.version_set {
            v.version = VrrpVersion::V3;
        }
    } else if !v.parsed.version_set {
        v.version = g.vrrp_version;
    }

    if v.virtual_router_id == 0 {
        ctx.error(&span, format!("({name}) the virtual router id must be set"));
    }

    if v.virtual_ipaddresses.is_empty() && !v.no_virtual_ipaddress {
        if v.version == VrrpVersion::V3 || strict {
            ctx.error(
                &span,
                format!("({name}) No VIP specified; at least one is required"),
            );
        } else {
            ctx.error(
                &span,
                format!("({name}) No VIP specified; at least one is sensible"),
            );
        }
    }

    // Priority from the state, state from the priority (appendix:
    // `state MASTER` without priority is 255).
    if !v.parsed.priority_set {
        v.priority = if v.state == InitialState::Master {
            255
        } else {
            100
        };
    }
    if !v.parsed.state_set {
        v.state = if v.priority == 255 {
            InitialState::Master
        } else {
            InitialState::Backup
        };
    } else if strict && ((v.state == InitialState::Master) != (v.priority == 255)) {
        ctx.error(
            &span,
            format!("({name}) State MASTER must match being address owner"),
        );
        v.state = if v.priority == 255 {
            InitialState::Master
        } else {
            InitialState::Backup
        };
    }

    complete_auth(ctx, v, strict, &span);

    // Without `interface`, keepalived finds the interface from the unicast
    // source address; failing that the instance cannot run.
    if v.interface.is_none()
        && (v.unicast_peers.is_empty()
            || !v
                .unicast_src_ip
                .is_some_and(|a| ctx.sys.address_is_local(&a)))
    {
        ctx.error(&span, format!("({name}) Unknown interface!"));
    }
    if v.use_vmac.is_some() && !v.unicast_peers.is_empty() && !v.vmac_xmit_base {
        ctx.error(
            &span,
            format!("({name}) unicast with use_vmac requires vmac_xmit_base - setting"),
        );
        v.vmac_xmit_base = true;
    }
    if v.parsed.unicast_keyword_seen && v.unicast_peers.is_empty() && !v.unicast_fault_no_peer {
        ctx.warning(&span, format!("({name}) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration."));
    }
    move_excess_vips(ctx, v, &span);

    if v.priority == 255 && v.nopreempt {
        ctx.error(
            &span,
            format!("({name}) nopreempt is incompatible with priority 255 - resetting nopreempt"),
        );
        v.nopreempt = false;
    }
    if v.state == InitialState::Master {
        if v.nopreempt {
            ctx.error(&span, format!("({name}) Warning - nopreempt will not work with initial state MASTER - clearing"));
            v.nopreempt = false;
        }
        if !v.preempt_delay.is_zero() {
            ctx.error(&span, format!("({name}) Warning - preempt delay will not work with initial state MASTER - clearing"));
            v.preempt_delay = Duration::ZERO;
        }
    }
    if !v.preempt_delay.is_zero() {
        if strict {
            ctx.error(
                &span,
                format!("({name}) preempt_delay is incompatible with strict mode - resetting"),
            );
            v.preempt_delay = Duration::ZERO;
        }
        if v.nopreempt {
            ctx.error(
                &span,
                format!("({name}) preempt_delay is incompatible with nopreempt mode - resetting"),
            );
            v.preempt_delay = Duration::ZERO;
        }
    }
    if v.accept.is_none() {
        v.accept = Some(!strict);
    }
    if v.accept == Some(true) && v.priority != 255 && strict && v.version == VrrpVersion::V2 {
        ctx.error(&span, format!("({name}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting"));
        v.accept = Some(false);
    }
    complete_strict_defaults(ctx, g, v, strict, &span);
    complete_advert_int(ctx, v, &span);

    if v.use_ipvlan.as_ref().is_some_and(|i| i.address.is_none()) && !v.ipv6 {
        ctx.error(&span, format!("({name}) IPv4 ipvlan requires a source ip address to be configured. setting instance to fault state"));
    }
    if v.vmac_xmit_base && v.use_vmac.is_none() {
        ctx.error(
            &span,
            format!("({name}) vmac_xmit_base is only valid with a vmac"),
        );
        v.vmac_xmit_base = false;
    }
    if let Some(own) = v.interface.clone() {
        v.track_interfaces.retain(|t| {
            if t.name == own {
                ctx.error(
                    &span,
                    format!("({name}) Ignoring track_interface {own} since own interface"),
                );
                false
            } else {
                true
            }
        });
    }
    complete_tracking_weights(ctx, v, sync_tracking_weight, &span);
    if v.down_timer_adverts.is_none() {
        v.down_timer_adverts = Some(g.vrrp_down_timer_adverts);
    }
}

/// An advert carries at most 255 addresses, and no more than fit in a
/// 1500-byte frame; keepalived moves the rest to the excluded list.
fn move_excess_vips(ctx: &mut Ctx, v: &mut VrrpInstance, span: &Span) {
    const MTU: usize = 1500;
    let max = if v.ipv6 {
        (MTU - 14 - 40 - 8) / 16
    } else {
        let auth = if v.version == VrrpVersion::V2 { 8 } else { 0 };
        (MTU - 14 - 20 - 8 - auth) / 4
    }
    .min(255);
    if v.virtual_ipaddresses.len() > max {
        ctx.error(
            span,
            format!(
                "({}) Number of VIPs ({}) exceeds maximum/space available in packet (max {max} addresses) - excess moved to eVIPs",
                v.name,
                v.virtual_ipaddresses.len()
            ),
        );
        let excess = v.virtual_ipaddresses.split_off(max);
        v.virtual_ipaddresses_excluded.extend(excess);
    }
}

fn complete_auth(ctx: &mut Ctx, v: &mut VrrpInstance, strict: bool, span: &Span) {
    use crate::model::vrrp::AuthType;
    let name = v.name.clone();
    let Some(auth) = &v.authentication else {
        return;
    };
    let msg = if strict {
        Some("Strict mode does not support authentication. Ignoring.")
    } else if v.version == VrrpVersion::V3 {
        Some("VRRP version 3 does not support authentication. Ignoring.")
    } else if auth.password.is_empty() {
        Some("Authentication specified but no password given. Ignoring")
    } else if v.ipv6 && auth.auth_type == AuthType::Ah {
        Some("Cannot use AH authentication with IPv6 - ignoring")
    } else {
        None
    };
    if let Some(m) = msg {
        ctx.error(span, format!("({name}) {m}"));
        v.authentication = None;
        return;
    }
    if auth.auth_type == AuthType::Ah && v.state == InitialState::Master && v.priority != 255 {
        // keepalived needs an advert's AH sequence number before taking over.
        ctx.error(
            span,
            format!(
                "({name}) Initial state master is incompatible with AH authentication - clearing"
            ),
        );
        v.state = InitialState::Backup;
    }
}

fn complete_strict_defaults(
    ctx: &mut Ctx,
    g: &crate::model::GlobalDefs,
    v: &mut VrrpInstance,
    strict: bool,
    span: &Span,
) {
    let name = v.name.clone();
    if strict {
        if v.garp.lower_prio_repeat.is_some_and(|r| r != 0) {
            ctx.error(
                span,
                format!("({name}) Strict mode requires no repeat garps - resetting"),
            );
        }
        v.garp.lower_prio_repeat = Some(0);
        if v.garp.lower_prio_delay.is_some_and(|d| !d.is_zero()) {
            ctx.error(
                span,
                format!("({name}) Strict mode requires no repeat garp delay - resetting"),
            );
        }
        v.garp.lower_prio_delay = Some(Duration::ZERO);
        if v.lower_prio_no_advert == Some(false) {
            ctx.error(
                span,
                format!("({name}) Strict mode requires no lower priority advert - resetting"),
            );
        }
        v.lower_prio_no_advert = Some(true);
        if v.higher_prio_send_advert == Some(true) {
            ctx.error(
                span,
                format!(
                    "({name}) strict mode requires higher_prio_send_advert to be clear - resetting"
                ),
            );
        }
        v.higher_prio_send_advert = Some(false);
    } else {
        v.garp.lower_prio_repeat = v
            .garp
            .lower_prio_repeat
            .or(g.vrrp_garp_lower_prio_repeat)
            .or(Some(g.vrrp_garp_master_repeat));
        v.garp.lower_prio_delay = v
            .garp
            .lower_prio_delay
            .or(g.vrrp_garp_lower_prio_delay)
            .or(Some(g.vrrp_garp_master_delay));
        v.lower_prio_no_advert = v
            .lower_prio_no_advert
            .or(g.vrrp_lower_prio_no_advert)
            .or(Some(false));
        v.higher_prio_send_advert = v
            .higher_prio_send_advert
            .or(Some(g.vrrp_higher_prio_send_advert));
    }
    v.garp.master_delay = v.garp.master_delay.or(Some(g.vrrp_garp_master_delay));
    v.garp.master_repeat = v.garp.master_repeat.or(Some(g.vrrp_garp_master_repeat));
    v.garp.master_refresh = v.garp.master_refresh.or(Some(g.vrrp_garp_master_refresh));
    v.garp.master_refresh_repeat = v
        .garp
        .master_refresh_repeat
        .or(Some(g.vrrp_garp_master_refresh_repeat));
    v.garp.extra_if = v.garp.extra_if.or(g.vrrp_garp_extra_if);
    v.owner_ignore_adverts = v
        .owner_ignore_adverts
        .or(g.vrrp_owner_ignore_adverts)
        .or(Some(strict));
    v.skip_check_adv_addr = v.skip_check_adv_addr.or(Some(g.vrrp_skip_check_adv_addr));
    v.v3_checksum_as_v2 = v.v3_checksum_as_v2.or(Some(g.v3_checksum_as_v2));
    v.strict_mode = Some(strict);
    v.smtp_alert = v
        .smtp_alert
        .or(g.smtp_alert_vrrp)
        .or(g.smtp_alert)
        .or(Some(false));
    v.notify_priority_changes = v
        .notify_priority_changes
        .or(Some(g.vrrp_notify_priority_changes));
    if g.vrrp_check_unicast_src {
        v.check_unicast_src = true;
    }
}

/// advert_int: v2 whole seconds below 256 (rounded), v3 10 ms units below
/// 40.96 s (appendix; `vrrp_complete_instance`).
fn complete_advert_int(ctx: &mut Ctx, v: &mut VrrpInstance, span: &Span) {
    let name = v.name.clone();
    let Some((raw, wspan)) = v.parsed.advert_int_raw.clone() else {
        v.advert_int = Duration::from_secs(1);
        return;
    };
    let _ = span;
    let us = raw.as_micros() as u64;
    let out = if v.version == VrrpVersion::V2 {
        if us >= 256 * 1_000_000 {
            ctx.error(&wspan, format!("({name}) VRRPv2 advertisement interval {:.2}s is out of range. Must be less than 256s. Setting to 255s", us as f64 / 1e6));
            255 * 1_000_000
        } else if us % 1_000_000 != 0 {
            ctx.error(
                &wspan,
                format!(
                    "({name}) VRRPv2 advertisement interval {:.6}s must be an integer - rounding",
                    us as f64 / 1e6
                ),
            );
            let r = (us + 500_000) / 1_000_000 * 1_000_000;
            r.max(1_000_000)
        } else {
            us
        }
    } else if us >= 4096 * 10_000 {
        ctx.error(&wspan, format!("({name}) VRRPv3 advertisement interval {:.2}s is out of range. Must be less than 40.96s. Setting to 40.95s", us as f64 / 1e6));
        4095 * 10_000
    } else if us % 10_000 != 0 {
        ctx.error(
            &wspan,
            format!(
                "({name}) VRRPv3 advertisement interval {:.6}s must be in units of 10ms - rounding",
                us as f64 / 1e6
            ),
        );
        let r = (us + 5_000) / 10_000 * 10_000;
        r.max(10_000)
    } else {
        us
    };
    v.advert_int = Duration::from_micros(out);
}

/// Members of a sync group (unless `sync_group_tracking_weight`) and address
/// owners cannot use weighted trackers (`vrrp_complete_instance`).
fn complete_tracking_weights(ctx: &mut Ctx, v: &mut VrrpInstance, sync: Option<bool>, span: &Span) {
    let sync_no_weight = sync == Some(false);
    if !sync_no_weight && v.priority != 255 {
        return;
    }
    let why = if sync_no_weight {
        "SYNC group"
    } else {
        "address owner"
    };
    let name = v.name.clone();
    let mut kept = Vec::new();
    for mut t in std::mem::take(&mut v.track_interfaces) {
        if t.weight != 0 {
            ctx.error(
                span,
                format!(
                    "({name}) ignoring {} tracked interface {}due to {why}",
                    t.name,
                    if sync_no_weight { "weight " } else { "" }
                ),
            );
            if sync_no_weight {
                t.weight = 0;
                kept.push(t);
            }
        } else {
            kept.push(t);
        }
    }
    v.track_interfaces = kept;
    let why2 = if sync_no_weight {
        "SYNC group"
    } else {
        "address_owner"
    };
    v.track_scripts.retain(|t| {
        if t.weight.is_some_and(|w| w != 0) {
            ctx.error(
                span,
                format!(
                    "({name}) ignoring tracked script {} with weights due to {why2}",
                    t.name
                ),
            );
            false
        } else {
            true
        }
    });
    let mut files = Vec::new();
    for mut t in std::mem::take(&mut v.track_files) {
        match t.weight.unwrap_or(1) {
            0 => files.push(t),
            // 1 is track_file's default weight.
            1 => {
                ctx.error(span, format!("({name}) ignoring weight from tracked file {} due to {why2} - specify weight 0", t.name));
                t.weight = Some(0);
                files.push(t);
            }
            w => ctx.error(
                span,
                format!(
                    "({name}) ignoring tracked file {} with weight {w} due to {why2}",
                    t.name
                ),
            ),
        }
    }
    v.track_files = files;
    v.track_bfds.retain(|t| {
        if let Some(w) = t.weight.filter(|w| *w != 0) {
            ctx.error(
                span,
                format!(
                    "({name}) ignoring tracked bfd {} with weight {w} due to {why2}",
                    t.name
                ),
            );
            false
        } else {
            true
        }
    });
}

/// An interface tracked by a sync group must not also be tracked by a
/// member (its own interface counts).
fn check_doubly_tracked_interfaces(ctx: &mut Ctx, config: &Config) {
    for g in &config.vrrp_sync_groups {
        for t in &g.track_interfaces {
            for m in &g.group {
                let Some(v) = config.vrrp_instance(m) else {
                    continue;
                };
                let own = v.interface.as_deref() == Some(t.name.as_str());
                if own || v.track_interfaces.iter().any(|i| i.name == t.name) {
                    let s = t
                        .span
                        .clone()
                        .or_else(|| g.span.clone())
                        .unwrap_or_else(dummy_span);
                    ctx.error(&s, format!(
                        "({m}) track_interface {} is configured on VRRP instance and sync group. Remove vrrp instance or sync group config",
                        t.name
                    ));
                }
            }
        }
    }
}

fn check_duplicate_vrids(ctx: &mut Ctx, config: &Config) {
    let list = &config.vrrp_instances;
    // Only instances on the same interface, family and VRID can clash:
    // index them so a config of thousands of instances is not compared
    // pairwise. Reports keep the pairwise order (by first, then second).
    let mut same_vrid: HashMap<(&str, bool, u8), Vec<usize>> = HashMap::new();
    for (i, a) in list.iter().enumerate() {
        if let Some(ifa) = &a.interface {
            same_vrid
                .entry((ifa.as_str(), a.ipv6, a.virtual_router_id))
                .or_default()
                .push(i);
        }
    }
    for (i, a) in list.iter().enumerate() {
        let Some(ifa) = &a.interface else { continue };
        let group = &same_vrid[&(ifa.as_str(), a.ipv6, a.virtual_router_id)];
        if group.len() < 2 || !ctx.sys.interface_exists(ifa) {
            continue;
        }
        for b in group.iter().filter(|&&j| j > i).map(|&j| &list[j]) {
            // Duplicates are allowed with disjoint unicast peers or with
            // different multicast groups (reference §1.8 virtual_router_id).
            let clash = match (a.unicast_peers.is_empty(), b.unicast_peers.is_empty()) {
                (true, true) => a.mcast_dst_ip == b.mcast_dst_ip,
                (false, false) => a
                    .unicast_peers
                    .iter()
                    .any(|p| b.unicast_peers.iter().any(|q| q.address == p.address)),
                _ => false,
            };
            if clash {
                let span = b.span.clone().unwrap_or_else(dummy_span);
                ctx.refuse_start(
                    Some(&span),
                    format!(
                        "{} and {} both use VRID {} with IPv{} on interface {ifa}",
                        a.name,
                        b.name,
                        a.virtual_router_id,
                        if a.ipv6 { 6 } else { 4 }
                    ),
                );
            }
        }
    }
}
