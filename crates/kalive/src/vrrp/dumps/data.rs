//! `/tmp/keepalived.data` (SIGUSR1): keepalived 2.2.7's sections and
//! fields (`core/global_data.c:dump_global_data`, `vrrp/vrrp_data.c`),
//! in its order and words.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use kalive_config::model::vrrp::AuthType;
use kalive_vrrp::{Family, InstanceConfig, InstanceId, State, Version};

use super::{address_text, quoted, route_text, rule_text, version_number, DumpView};
use crate::notify::{NotifyScripts, Script};

/// keepalived's section header.
fn section(s: &mut String, title: &str) {
    let _ = writeln!(s, "------< {title} >------");
}

fn line(s: &mut String, indent: usize, text: impl std::fmt::Display) {
    let _ = writeln!(s, "{:indent$}{text}", "");
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn enabled(b: bool) -> &'static str {
    if b {
        "enabled"
    } else {
        "disabled"
    }
}

/// keepalived prints an unset boolean option as `unset`.
fn tri(v: Option<bool>) -> &'static str {
    match v {
        None => "unset",
        Some(true) => "true",
        Some(false) => "false",
    }
}

/// keepalived's advert interval wording: whole seconds for VRRPv2
/// (`1 sec`), milliseconds for v3 (`500 milli-sec`).
fn interval_words(d: Duration, version: Version) -> String {
    match version {
        Version::V2 => format!("{} sec", d.as_secs()),
        Version::V3 => format!("{} milli-sec", d.as_millis()),
    }
}

/// A whole number of seconds where keepalived prints one (`%g`-like).
fn secs(d: Duration) -> String {
    let f = d.as_secs_f64();
    if f.fract() == 0.0 {
        format!("{}", d.as_secs())
    } else {
        format!("{f}")
    }
}

/// `1796420415.812429 (Fri Dec  4 21:40:15.812429 2026)`, local time as
/// keepalived prints it.
fn wall_stamp(at: SystemTime) -> String {
    let since = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let local: chrono::DateTime<chrono::Local> = at.into();
    format!(
        "{}.{:06} ({})",
        since.as_secs(),
        since.subsec_micros(),
        local.format("%a %b %e %H:%M:%S%.6f %Y")
    )
}

/// `/tmp/keepalived.data` (SIGUSR1).
pub(in crate::vrrp) fn data_text(view: &DumpView) -> String {
    let mut s = String::new();
    global_section(&mut s, view);
    section(&mut s, "VRRP Topology");
    for id in view.ids() {
        instance_section(&mut s, view, id);
    }
    sockpool_section(&mut s, view);
    if !view.plan.sync_groups.is_empty() {
        sync_group_section(&mut s, view);
    }
    if !view.plan.track_scripts.is_empty() {
        scripts_section(&mut s, view);
    }
    if !view.plan.track_files.is_empty() {
        track_files_section(&mut s, view);
    }
    interfaces_section(&mut s, view);
    s
}

fn global_section(s: &mut String, view: &DumpView) {
    let g = &view.plan.config.global_defs;
    section(s, "Global definitions");
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default();
    let mut lines: Vec<String> = vec![
        format!(
            "Network namespace = {}",
            g.net_namespace.as_deref().unwrap_or("(default)")
        ),
        format!(
            "Network namespace ipvs = {}",
            g.net_namespace_ipvs
                .as_deref()
                .unwrap_or("(main namespace)")
        ),
    ];
    if let Some(name) = &g.instance {
        lines.push(format!("Instance name = {name}"));
    }
    lines.push(format!(
        "Router ID = {}",
        g.router_id.as_deref().unwrap_or(&host)
    ));
    if let Some(smtp) = &g.smtp_server {
        lines.push(format!("Smtp server = {}", smtp.host));
        lines.push(format!("Smtp server port = {}", smtp.port));
    }
    if let Some(helo) = &g.smtp_helo_name {
        lines.push(format!("Smtp HELO name = {helo}"));
    }
    if g.smtp_server.is_some() {
        lines.push(format!(
            "Smtp server connection timeout = {}",
            g.smtp_connect_timeout.as_secs()
        ));
    }
    if let Some(from) = &g.notification_email_from {
        lines.push(format!("Email notification from = {from}"));
        lines.push("Email notification to:".into());
    }
    lines.extend([
        format!("Default smtp_alert = {}", tri(g.smtp_alert)),
        format!("Default smtp_alert_vrrp = {}", tri(g.smtp_alert_vrrp)),
        format!("Default smtp_alert_checker = {}", tri(g.smtp_alert_checker)),
        format!("Checkers log all failures = {}", g.checker_log_all_failures),
        match &g.reload_check_config {
            None => "No test config before reload".into(),
            Some(log) => format!(
                "Test config before reload, log to {}",
                log.as_ref()
                    .map_or(String::new(), |p| p.display().to_string())
            ),
        },
    ]);
    if g.data_use_instance {
        lines.push("Use instance name in data dumps".into());
    }
    for (what, script, timeout) in [
        ("Startup", &view.plan.startup_script, ","),
        ("Shutdown", &view.plan.shutdown_script, ""),
    ] {
        if let Some((script, t)) = script {
            lines.push(format!(
                "{what} script = {}, uid:gid {}:{}{timeout} timeout {}",
                quoted(script),
                script.command.identity.uid,
                script.command.identity.gid,
                t.as_secs()
            ));
        }
    }
    lines.push(format!(
        "Dynamic interfaces = {}",
        g.dynamic_interfaces.is_some()
    ));
    if let Some(d) = &g.dynamic_interfaces {
        lines.push(format!("Allow interface changes = {}", d.allow_if_changes));
    }
    if g.no_email_faults {
        lines.push("Send emails for fault transitions = off".into());
    }
    lines.extend([
        format!("Default interface = {}", view.plan.default_interface),
        format!("Disable local IGMP = {}", yes_no(g.disable_local_igmp)),
        format!("LVS flush = {}", g.lvs_flush),
        format!(
            "LVS flush on stop = {}",
            if g.lvs_flush_on_stop.is_some() {
                "enabled"
            } else {
                "disabled"
            }
        ),
    ]);
    for (what, fifo) in [
        ("Global notify fifo", &g.notify_fifo),
        ("VRRP notify fifo", &g.vrrp_notify_fifo),
    ] {
        if let Some(path) = &fifo.path {
            // keepalived shows the FIFO owner's ids; kalive creates it as
            // the daemon's user.
            lines.push(format!("{what} = {}, uid:gid 0:0", path.display()));
            if let Some(script) = &fifo.script {
                lines.push(format!(
                    "{what} script = {}, uid:gid 0:0",
                    script.args.join(" ")
                ));
            }
        }
    }
    lines.extend([
        format!(
            "FIFO write vrrp states on reload = {}",
            g.fifo_write_vrrp_states_on_reload
        ),
        format!(
            "VRRP notify priority changes = {}",
            g.vrrp_notify_priority_changes
        ),
        format!("VRRP IPv4 mcast group = {}", g.vrrp_mcast_group4),
        format!("VRRP IPv6 mcast group = {}", g.vrrp_mcast_group6),
        format!("Gratuitous ARP delay = {}", secs(g.vrrp_garp_master_delay)),
        format!("Gratuitous ARP repeat = {}", g.vrrp_garp_master_repeat),
        format!(
            "Gratuitous ARP refresh timer = {}",
            secs(g.vrrp_garp_master_refresh)
        ),
        format!(
            "Gratuitous ARP refresh repeat = {}",
            g.vrrp_garp_master_refresh_repeat
        ),
        format!(
            "Gratuitous ARP lower priority delay = {}",
            secs(
                g.vrrp_garp_lower_prio_delay
                    .unwrap_or(g.vrrp_garp_master_delay)
            )
        ),
        format!(
            "Gratuitous ARP lower priority repeat = {}",
            g.vrrp_garp_lower_prio_repeat
                .unwrap_or(g.vrrp_garp_master_repeat)
        ),
        format!("Num adverts before down = {}", g.vrrp_down_timer_adverts),
        // kalive sends no GARPs on secondary VMACs: keepalived's default.
        "Gratuitous ARP for each secondary VMAC = 0s".into(),
        format!(
            "Send advert after receive lower priority advert = {}",
            !g.vrrp_lower_prio_no_advert.unwrap_or(false)
        ),
        format!(
            "Send advert after receive higher priority advert = {}",
            g.vrrp_higher_prio_send_advert
        ),
        format!(
            "Gratuitous ARP interval = {:.6}",
            g.vrrp_garp_interval.as_secs_f64()
        ),
        format!(
            "Gratuitous NA interval = {:.6}",
            g.vrrp_gna_interval.as_secs_f64()
        ),
        format!(
            "VRRP default protocol version = {}",
            match g.vrrp_version {
                kalive_config::model::vrrp::VrrpVersion::V2 => 2,
                kalive_config::model::vrrp::VrrpVersion::V3 => 3,
            }
        ),
    ]);
    if let Some(input) = g.vrrp_iptables.as_ref().and_then(|c| c.input.as_ref()) {
        lines.push(format!("Iptables input chain = {input}"));
    }
    if let Some(nft) = &g.nftables {
        lines.push(format!(
            "nftables table name = {}",
            nft.table.as_deref().unwrap_or("keepalived")
        ));
        lines.push(format!(
            "nftables base chain priority = {}",
            nft.priority.unwrap_or(-1)
        ));
        lines.push(format!(
            "nftables {}force use ifindex for link local IPv6",
            if nft.ifindex { "" } else { "don't " }
        ));
    }
    let counters = g.nftables.as_ref().is_some_and(|n| n.counters);
    lines.extend([
        format!(
            "nftables with{} counters",
            if counters { "" } else { "out" }
        ),
        // keepalived's build fact; Debian's 2.2.7 links libnftnl 1.2.3.
        "libnftnl version 1.2.3".into(),
        format!("VRRP check unicast_src = {}", g.vrrp_check_unicast_src),
        format!(
            "VRRP skip check advert addresses = {}",
            g.vrrp_skip_check_adv_addr
        ),
        format!("VRRP strict mode = {}", g.vrrp_strict),
        match g.max_auto_priority {
            Some(-1) => "Max auto priority = Disabled".into(),
            other => format!("Max auto priority = {}", other.unwrap_or(0)),
        },
        format!(
            "Min auto priority delay = {} usecs",
            g.min_auto_priority_delay
                .map_or(1_000_000, |d| d.as_micros())
        ),
    ]);
    for l in lines {
        line(s, 1, l);
    }
    // Scheduling keywords are parsed but kalive does not apply them to
    // itself: the configured values (keepalived's defaults otherwise).
    for (who, sched) in [
        ("VRRP", &g.vrrp_sched),
        ("Checker", &g.checker_sched),
        ("BFD", &g.bfd_sched),
    ] {
        line(
            s,
            1,
            format!("{who} process priority = {}", sched.priority.unwrap_or(0)),
        );
        line(s, 1, format!("{who} don't swap = {}", sched.no_swap));
        line(
            s,
            1,
            format!(
                "{who} realtime priority = {}",
                sched.rt_priority.unwrap_or(0)
            ),
        );
        if !sched.cpu_affinity.is_empty() {
            let cpus: Vec<String> = sched.cpu_affinity.iter().map(u32::to_string).collect();
            line(s, 1, format!("{who} CPU Affinity = {}", cpus.join(" ")));
        }
        line(
            s,
            1,
            format!(
                "{who} realtime limit = {}",
                sched.rlimit_rttime.unwrap_or(10_000)
            ),
        );
    }
    // kalive has no SNMP agent nor DBus service.
    let on_off = |b: bool| if b { "enabled" } else { "disabled" };
    line(s, 1, format!("SNMP vrrp {}", on_off(g.enable_snmp_vrrp)));
    line(
        s,
        1,
        format!("SNMP checker {}", on_off(g.enable_snmp_checker)),
    );
    line(s, 1, format!("SNMP RFCv2 {}", on_off(g.enable_snmp_rfcv2)));
    line(s, 1, format!("SNMP RFCv3 {}", on_off(g.enable_snmp_rfcv3)));
    line(s, 1, format!("SNMP traps {}", on_off(g.enable_traps)));
    line(
        s,
        1,
        format!(
            "SNMP socket = {}",
            g.snmp_socket
                .as_deref()
                .unwrap_or("default (unix:/var/agentx/master)")
        ),
    );
    line(s, 1, format!("DBus {}", on_off(g.enable_dbus)));
    line(
        s,
        1,
        format!(
            "DBus service name = {}",
            g.dbus_service_name.as_deref().unwrap_or("")
        ),
    );
    line(
        s,
        1,
        format!("Script security {}", on_off(g.enable_script_security)),
    );
    // The plan resolves script_user per script; a vrrp_script without its
    // own `user` runs as the default, so the first one shows it (0:0, the
    // daemon's own, when no script runs).
    let (uid, gid) = view.plan.track_scripts.first().map_or((0, 0), |t| {
        (t.script.command.identity.uid, t.script.command.identity.gid)
    });
    line(s, 1, format!("Default script uid:gid {uid}:{gid}"));
    // Receive-buffer settings of keepalived's netlink sockets: configured
    // values, 0 (kernel default) otherwise.
    for name in [
        "vrrp_netlink_cmd_rcv_bufs",
        "vrrp_netlink_monitor_rcv_bufs",
        "process_monitor_rcv_bufs",
        "lvs_netlink_cmd_rcv_bufs",
        "lvs_netlink_monitor_rcv_bufs",
    ] {
        let (size, force) = g
            .netlink_buffers
            .iter()
            .find(|(n, _, _)| n == name)
            .map_or((0, false), |(_, size, force)| (*size, *force));
        line(s, 1, format!("{name} = {size}"));
        line(s, 1, format!("{name}_force = {}", u8::from(force)));
    }
    line(
        s,
        1,
        format!("rs_init_notifies = {}", u8::from(g.rs_init_notifies)),
    );
    line(
        s,
        1,
        format!("no_checker_emails = {}", u8::from(g.no_checker_emails)),
    );
    match g.vrrp_rx_bufs_policy {
        Some(kalive_config::model::global::RxBufsPolicy::Mtu) => line(s, 1, "rx_bufs_policy = MTU"),
        Some(kalive_config::model::global::RxBufsPolicy::Advert) => {
            line(s, 1, "rx_bufs_policy = ADVERT")
        }
        Some(kalive_config::model::global::RxBufsPolicy::Size(n)) => {
            line(s, 1, format!("rx_bufs_size = {n}"))
        }
        None => {}
    }
    line(
        s,
        1,
        format!(
            "rx_bufs_multiples = {}",
            g.vrrp_rx_bufs_multiplier.unwrap_or(3)
        ),
    );
    line(s, 1, format!("umask = {:04o}", g.umask.unwrap_or(0o177)));
    if !g.vrrp_startup_delay.is_zero() {
        line(
            s,
            1,
            format!(
                "vrrp_startup_delay = {}",
                g.vrrp_startup_delay.as_secs_f64()
            ),
        );
    }
    if g.log_unknown_vrids {
        line(s, 1, "log_unknown_vrids");
    }
    if let Some(prefix) = &g.vmac_prefix {
        line(s, 1, format!("VMAC prefix = {prefix}"));
    }
    if let Some(prefix) = &g.vmac_addr_prefix {
        line(s, 1, format!("VMAC address prefix = {prefix}"));
    }
}

fn instance_section(s: &mut String, view: &DumpView, id: InstanceId) {
    let vrrp = view.vrrp;
    let Some(c) = vrrp.config(id) else { return };
    let model = view.model(&c.name);
    let state = vrrp.state(id).unwrap_or(State::Init);
    line(s, 1, format!("VRRP Instance = {}", c.name));
    line(
        s,
        3,
        format!("VRRP Version = {}", version_number(c.version)),
    );
    if let Some(g) = view.sync_group_of(&c.name) {
        line(s, 3, format!("Sync group = {g}"));
    }
    line(s, 3, format!("State = {}", state.as_str()));
    if state == State::Backup {
        // Before any advert keepalived shows its multicast group here.
        let (addr, prio) = vrrp.master_seen(id).unwrap_or((c.multicast_group, 0));
        line(s, 3, format!("Master router = {addr}"));
        line(s, 3, format!("Master priority = {prio}"));
        if c.version == Version::V3 {
            let mi = vrrp.master_adver_interval(id).unwrap_or(c.advert_interval);
            line(
                s,
                3,
                format!("Master advert int = {:.2} sec", mi.as_secs_f64()),
            );
        }
    }
    if c.family == Family::V6 {
        line(s, 3, "Using Native IPv6");
    }
    // keepalived prints "Flags:" when any of its instance flag bits is
    // set, and lists only the unicast one.
    let configured_src = model.is_some_and(|m| m.unicast_src_ip.or(m.mcast_src_ip).is_some());
    let promote_secondaries = model.is_some_and(|m| m.promote_secondaries);
    let vmac = view.resources(id).is_some_and(|r| r.vmac.is_some());
    let any_flag = c.is_unicast()
        || c.nopreempt
        || c.dont_track_primary
        || c.skip_check_adv_addr
        || c.check_unicast_src
        || configured_src
        || promote_secondaries
        || vmac;
    if any_flag {
        line(s, 3, "Flags:");
        if c.is_unicast() {
            line(s, 5, "Using unicast");
        }
    } else {
        line(s, 3, "Flags: none");
    }
    line(s, 3, format!("Wantstate = {}", view.wantstate(id).as_str()));
    // kalive keeps one fault flag per instance rather than counters.
    line(s, 3, "Number of config faults = 0");
    line(
        s,
        3,
        format!(
            "Number of interface and track script faults = {}",
            u8::from(vrrp.faulted(id) == Some(true))
        ),
    );
    let scripts_init = c
        .track_scripts
        .iter()
        .filter(|t| vrrp.script_ok(&t.name).is_none())
        .count();
    line(
        s,
        3,
        format!("Number of track scripts init = {scripts_init}"),
    );
    line(
        s,
        3,
        format!(
            "Last transition = {}",
            wall_stamp(view.wall(view.last_transition(id)))
        ),
    );
    match vrrp.timer(id) {
        Some(read) => line(
            s,
            3,
            format!("Read timeout = {}", wall_stamp(view.wall(read))),
        ),
        None => line(s, 3, "Read timeout = DISABLED"),
    }
    line(
        s,
        3,
        format!(
            "Master down timer = {} usecs",
            vrrp.master_down_interval(id)
                .unwrap_or_default()
                .as_micros()
        ),
    );
    match view.resources(id).and_then(|r| r.vmac.as_ref()) {
        Some(v) => line(
            s,
            3,
            format!("Interface = {}, vmac on {}", c.interface, v.parent),
        ),
        None => line(s, 3, format!("Interface = {}", c.interface)),
    }
    if c.dont_track_primary {
        line(s, 3, "VRRP interface tracking disabled");
    }
    if c.skip_check_adv_addr {
        line(s, 3, "Skip checking advert IP addresses");
    }
    let strict = model
        .and_then(|m| m.strict_mode)
        .unwrap_or(view.plan.config.global_defs.vrrp_strict);
    if strict {
        line(s, 3, "Enforcing strict VRRP compliance");
    }
    match c.source {
        Some(src) if configured_src => {
            line(s, 3, format!("Using src_ip = {src} (from configuration)"))
        }
        Some(src) => line(s, 3, format!("Using src_ip = {src}")),
        None => line(s, 3, "Using src_ip = (none)"),
    }
    if !c.is_unicast() {
        match c.family {
            Family::V4 => line(s, 3, format!("Multicast address {}", c.multicast_group)),
            Family::V6 => line(
                s,
                3,
                format!(
                    "Multicast address {}, ifindex {}",
                    c.multicast_group,
                    c.ifindex.unwrap_or(0)
                ),
            ),
        }
    }
    garp_lines(s, c);
    line(s, 3, format!("Virtual Router ID = {}", c.vrid));
    line(s, 3, format!("Priority = {}", c.priority));
    let effective = vrrp.effective_priority(id).unwrap_or(c.priority);
    line(s, 3, format!("Effective priority = {effective}"));
    line(s, 3, format!("Total priority = {effective}"));
    line(
        s,
        3,
        format!(
            "Advert interval = {}",
            interval_words(c.advert_interval, c.version)
        ),
    );
    if state == State::Backup && c.version == Version::V3 {
        let mi = vrrp.master_adver_interval(id).unwrap_or(c.advert_interval);
        line(
            s,
            3,
            format!("Master advert interval = {} milli-sec", mi.as_millis()),
        );
    }
    let accept = model.and_then(|m| m.accept).unwrap_or(true) || c.is_owner();
    line(s, 3, format!("Accept = {}", enabled(accept)));
    line(s, 3, format!("Preempt = {}", enabled(!c.nopreempt)));
    if !c.preempt_delay.is_zero() {
        line(
            s,
            3,
            format!("Preempt delay = {} secs", c.preempt_delay.as_secs_f64()),
        );
    }
    line(
        s,
        3,
        format!(
            "Promote_secondaries = {}",
            enabled(model.is_some_and(|m| m.promote_secondaries))
        ),
    );
    if c.version == Version::V2 {
        match c.authentication {
            kalive_vrrp::Authentication::None => line(s, 3, "Authentication type = none"),
            kalive_vrrp::Authentication::Pass(p) => {
                line(s, 3, "Authentication type = SIMPLE_PASSWORD");
                let end = p.iter().position(|b| *b == 0).unwrap_or(p.len());
                line(
                    s,
                    3,
                    format!("Password = {}", String::from_utf8_lossy(&p[..end])),
                );
            }
            kalive_vrrp::Authentication::Ah => {
                line(s, 3, "Authentication type = IPSEC_AH");
                let pass = model
                    .and_then(|m| m.authentication.as_ref())
                    .filter(|a| a.auth_type == AuthType::Ah)
                    .map(|a| String::from_utf8_lossy(&a.password).into_owned())
                    .unwrap_or_default();
                line(s, 3, format!("Password = {pass}"));
            }
        }
    }
    let res = view.resources(id);
    let set = view.vips_set(id);
    let vips = res.map_or(&[][..], |r| &r.vips[..]);
    if !vips.is_empty() {
        line(s, 3, format!("Virtual IP ({}):", vips.len()));
        for v in vips {
            line(s, 5, address_text(v, &c.interface, set));
        }
    }
    let excluded = res.map_or(&[][..], |r| &r.excluded[..]);
    if !excluded.is_empty() {
        line(s, 3, "Virtual IP Excluded :");
        for v in excluded {
            line(s, 5, address_text(v, &c.interface, set));
        }
    }
    if c.is_unicast() {
        let ttl = res.map_or(255, |r| r.unicast_ttl);
        line(s, 3, format!("Unicast TTL = {ttl}"));
        line(
            s,
            3,
            format!("Check unicast src : {}", yes_no(c.check_unicast_src)),
        );
        line(s, 3, "Unicast Peer :");
        for p in &c.unicast_peers {
            line(
                s,
                5,
                format!("{} min_ttl {} max_ttl {}", p.addr, p.min_ttl, p.max_ttl),
            );
        }
        line(
            s,
            3,
            format!(
                "Unicast checksum compatibility = {}",
                yes_no(c.v3_checksum_as_v2)
            ),
        );
    }
    let fd = socket_fd(view, c);
    line(s, 3, format!("fd_in {fd}, fd_out {fd}"));
    let routes = res.map_or(&[][..], |r| &r.routes[..]);
    if !routes.is_empty() {
        line(s, 3, "Virtual Routes :");
        for r in routes {
            line(s, 5, route_text(r));
        }
    }
    let rules = res.map_or(&[][..], |r| &r.rules[..]);
    if !rules.is_empty() {
        line(s, 3, "Virtual Rules :");
        for r in rules {
            line(s, 5, rule_text(r));
        }
    }
    if !c.track_interfaces.is_empty() {
        line(s, 3, "Tracked interfaces :");
        for t in &c.track_interfaces {
            line(s, 5, format!("{} weight {}", t.interface, t.weight));
        }
    }
    if !c.track_scripts.is_empty() {
        line(s, 3, "Tracked scripts :");
        for t in &c.track_scripts {
            line(s, 5, format!("{} weight {}", t.name, t.weight));
        }
    }
    if !c.track_files.is_empty() {
        line(s, 3, "Tracked files :");
        for t in &c.track_files {
            line(s, 5, format!("{}, weight {}", t.name, t.weight));
        }
    }
    if !c.track_processes.is_empty() {
        line(s, 3, "Tracked processes :");
        for t in &c.track_processes {
            line(s, 5, format!("{}, weight {}", t.name, t.weight));
        }
    }
    let smtp = model
        .and_then(|m| m.smtp_alert)
        .or(view.plan.config.global_defs.smtp_alert_vrrp)
        .or(view.plan.config.global_defs.smtp_alert)
        .unwrap_or(false);
    line(s, 3, format!("Using smtp notification = {}", yes_no(smtp)));
    line(
        s,
        3,
        format!(
            "Notify deleted = {}",
            if c.notify_deleted { "Deleted" } else { "Fault" }
        ),
    );
    if let Some(n) = view.notify_scripts(&c.name) {
        for (what, script) in notify_lines(n) {
            line(
                s,
                3,
                format!(
                    "{what} state transition script = {}, uid:gid {}:{}",
                    quoted(script),
                    script.command.identity.uid,
                    script.command.identity.gid
                ),
            );
        }
    }
    line(
        s,
        3,
        format!(
            "Notify priority changes = {}",
            view.plan.priority_change_fifo.contains(&c.name)
        ),
    );
}

fn garp_lines(s: &mut String, c: &InstanceConfig) {
    let g = &c.garp;
    line(
        s,
        3,
        format!("Gratuitous ARP delay = {}", secs(g.master_delay)),
    );
    line(s, 3, format!("Gratuitous ARP repeat = {}", g.master_repeat));
    line(
        s,
        3,
        format!("Gratuitous ARP refresh = {}", secs(g.master_refresh)),
    );
    line(
        s,
        3,
        format!(
            "Gratuitous ARP refresh repeat = {}",
            g.master_refresh_repeat
        ),
    );
    line(
        s,
        3,
        format!(
            "Gratuitous ARP lower priority delay = {}",
            secs(g.lower_prio_delay)
        ),
    );
    line(
        s,
        3,
        format!(
            "Gratuitous ARP lower priority repeat = {}",
            g.lower_prio_repeat
        ),
    );
    line(
        s,
        3,
        format!("Down timer adverts = {}", c.down_timer_adverts),
    );
    line(
        s,
        3,
        format!(
            "Send advert after receive lower priority advert = {}",
            !c.lower_prio_no_advert
        ),
    );
    line(
        s,
        3,
        format!(
            "Send advert after receive higher priority advert = {}",
            c.higher_prio_send_advert
        ),
    );
}

/// The notify scripts an instance has, in keepalived's order and words.
fn notify_lines(n: &NotifyScripts) -> Vec<(&'static str, &Script)> {
    [
        ("Backup", &n.backup),
        ("Master", &n.master),
        ("Fault", &n.fault),
        ("Stop", &n.stop),
        ("Deleted", &n.deleted),
        ("Generic", &n.generic),
        ("Master rx lower pri", &n.master_rx_lower_pri),
    ]
    .into_iter()
    .filter_map(|(what, s)| s.as_ref().map(|s| (what, s)))
    .collect()
}

/// The fd of the socket an instance uses (kalive uses one socket to send
/// and receive; keepalived has a pair).
fn socket_fd(view: &DumpView, c: &InstanceConfig) -> i32 {
    view.sockets
        .iter()
        .find(|k| k.interface == c.interface && k.family == c.family && k.unicast == c.is_unicast())
        .map_or(-1, |k| k.fd)
}

fn sockpool_section(s: &mut String, view: &DumpView) {
    section(s, "VRRP Sockpool");
    for sock in &view.sockets {
        line(s, 1, format!("fd_in {} fd_out = {}", sock.fd, sock.fd));
        line(s, 3, format!("Interface = {}", sock.interface));
        let family = if sock.family == Family::V4 {
            "IPv4"
        } else {
            "IPv6"
        };
        line(s, 3, format!("Family = {family}"));
        line(s, 3, "Protocol = VRRP");
        let users: Vec<&InstanceConfig> = view
            .ids()
            .filter_map(|id| view.vrrp.config(id))
            .filter(|c| {
                c.interface == sock.interface
                    && c.family == sock.family
                    && c.is_unicast() == sock.unicast
            })
            .collect();
        if sock.unicast {
            line(s, 3, "Type = Unicast");
            let addr = users
                .first()
                .and_then(|c| c.source)
                .map_or("(none)".to_string(), |a| a.to_string());
            line(s, 3, format!("Address = {addr}"));
        } else {
            line(s, 3, "Type = Multicast");
        }
        // keepalived's kernel_rx_buf_size, 0 unless configured; kalive sets
        // its own receive buffer (1 MiB) on every VRRP socket.
        line(s, 3, "Rx buf size = 0");
        line(s, 3, "VRRP instances");
        for c in users {
            line(s, 5, format!("{} vrid {}", c.name, c.vrid));
        }
    }
}

fn sync_group_section(s: &mut String, view: &DumpView) {
    section(s, "VRRP Sync groups");
    let vrrp = view.vrrp;
    for g in &view.plan.sync_groups {
        let state = vrrp
            .group_id(&g.name)
            .and_then(|gid| vrrp.group_state(gid))
            .unwrap_or(State::Init);
        line(
            s,
            1,
            format!("VRRP Sync Group = {}, {}", g.name, state.as_str()),
        );
        let ids: Vec<InstanceId> = g
            .members
            .iter()
            .filter_map(|m| vrrp.instance_id(m))
            .collect();
        let fault = ids
            .iter()
            .filter(|id| vrrp.state(**id) == Some(State::Fault))
            .count();
        let init = ids
            .iter()
            .filter(|id| vrrp.state(**id) == Some(State::Init))
            .count();
        line(
            s,
            3,
            format!("Num member fault {fault}, num member init {init}"),
        );
        line(s, 3, "VRRP member instances :");
        for m in &g.members {
            line(s, 5, m);
        }
        let smtp = view
            .plan
            .config
            .vrrp_sync_groups
            .iter()
            .find(|sg| sg.name == g.name)
            .and_then(|sg| sg.smtp_alert)
            .unwrap_or(false);
        line(s, 3, format!("Using smtp notification = {}", yes_no(smtp)));
    }
}

/// Instances tracking a script, file or interface, with their weights.
fn trackers_of<'a>(
    view: &'a DumpView,
    weight: impl Fn(&InstanceConfig) -> Option<i32> + 'a,
) -> Vec<(&'a str, i32)> {
    view.ids()
        .filter_map(|id| view.vrrp.config(id))
        .filter_map(|c| weight(c).map(|w| (c.name.as_str(), w)))
        .collect()
}

fn scripts_section(s: &mut String, view: &DumpView) {
    section(s, "VRRP Scripts");
    for spec in &view.plan.track_scripts {
        let model = view.plan.config.vrrp_script(&spec.name);
        line(s, 1, format!("VRRP Script = {}", spec.name));
        line(s, 3, format!("Command = {}", quoted(&spec.script)));
        line(s, 3, format!("Interval = {} sec", secs(spec.interval)));
        // keepalived prints 0 when no timeout was configured.
        let timeout = model.and_then(|m| m.timeout).unwrap_or_default();
        line(s, 3, format!("Timeout = {} sec", secs(timeout)));
        line(s, 3, format!("Weight = {}", model.map_or(0, |m| m.weight)));
        line(s, 3, format!("Rise = {}", model.map_or(1, |m| m.rise)));
        line(s, 3, format!("Fall = {}", model.map_or(1, |m| m.fall)));
        let verdict = view.vrrp.script_ok(&spec.name);
        // keepalived's running result counter has no kalive equivalent:
        // rise + fall - 1 once settled (its value for a steady script).
        let result = model.map_or(1, |m| m.rise + m.fall - 1);
        line(s, 3, format!("Result = {result}"));
        line(s, 3, "Insecure = no");
        line(s, 3, "Init state = unknown");
        let status = match verdict {
            None => "INIT",
            Some(true) => "GOOD",
            Some(false) => "BAD",
        };
        line(s, 3, format!("Status = {status}"));
        line(
            s,
            3,
            format!(
                "Script uid:gid = {}:{}",
                spec.script.command.identity.uid, spec.script.command.identity.gid
            ),
        );
        // keepalived lists here the instances a script's result is sent
        // to over the track_script weight 0 path of sync groups: none.
        line(s, 3, "VRRP instances :");
        line(s, 3, "Tracking instances :");
        let name = spec.name.clone();
        for (inst, w) in trackers_of(view, move |c| {
            c.track_scripts
                .iter()
                .find(|t| t.name == name)
                .map(|t| t.weight)
        }) {
            line(s, 5, format!("{inst}, weight {w}"));
        }
        // kalive runs the script on its own task; between runs it is idle.
        line(s, 3, "State = idle");
    }
}

fn track_files_section(s: &mut String, view: &DumpView) {
    section(s, "VRRP Track files");
    for (name, path) in &view.plan.track_files {
        let model = view
            .plan
            .config
            .track_files
            .iter()
            .find(|f| &f.name == name);
        line(s, 1, format!("Track file = {name}"));
        line(s, 3, format!("File = {}", path.display()));
        line(
            s,
            3,
            format!("Status = {}", view.vrrp.file_value(name).unwrap_or(0)),
        );
        line(s, 3, format!("Weight = {}", model.map_or(1, |m| m.weight)));
        line(s, 3, "Tracking instances :");
        let n = name.clone();
        for (inst, w) in trackers_of(view, move |c| {
            c.track_files.iter().find(|t| t.name == n).map(|t| t.weight)
        }) {
            line(s, 5, format!("{inst}, weight {w}"));
        }
    }
}

fn interfaces_section(s: &mut String, view: &DumpView) {
    section(s, "Interfaces");
    let mut ifaces: Vec<_> = view.links.by_name.values().collect();
    ifaces.sort_by_key(|i| i.info.index);
    for iface in ifaces {
        let info = &iface.info;
        let loopback = info.name == "lo";
        line(s, 1, format!("Name = {}", info.name));
        line(s, 3, format!("index = {}", info.index));
        let v4 = iface
            .addrs
            .iter()
            .find(|a| a.addr.is_ipv4())
            .map_or("(none)".to_string(), |a| a.addr.to_string());
        line(s, 3, format!("IPv4 address = {v4}"));
        let v6 = iface
            .link_local_v6()
            .map_or("(none)".to_string(), |a| a.to_string());
        line(s, 3, format!("IPv6 address = {v6}"));
        if let (Some(mac), false) = (info.mac, loopback) {
            let hex: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
            line(s, 3, format!("MAC = {}", hex.join(":")));
            line(s, 3, "MAC broadcast = ff:ff:ff:ff:ff:ff");
        }
        let mut flags = vec![if info.up { "UP" } else { "DOWN" }];
        if info.running {
            flags.push("RUNNING");
        }
        if loopback {
            flags.extend(["no broadcast", "loopback", "no multicast"]);
        }
        line(s, 3, format!("State = {}", flags.join(", ")));
        line(s, 3, format!("Seen up = {}", u8::from(info.is_usable())));
        // kalive has no per-interface debounce: keepalived's defaults.
        line(s, 3, "Delayed state change running = false");
        line(s, 3, "Up debounce timer = 0us");
        line(s, 3, "Down debounce timer = 0us");
        line(s, 3, format!("MTU = {}", info.mtu.unwrap_or(0)));
        line(
            s,
            3,
            format!(
                "HW Type = {}",
                if loopback { "LOOPBACK" } else { "ETHERNET" }
            ),
        );
        line(s, 3, "NIC netlink status update");
        // kalive saves and restores these sysctls itself (VMACs only).
        line(s, 3, "Reset ARP config counter 0");
        line(s, 3, "Original arp_ignore 0");
        line(s, 3, "Original arp_filter 0");
        line(s, 3, "Original promote_secondaries 0");
        line(s, 3, "Reset promote_secondaries counter 0");
        let name = info.name.clone();
        let tracking = trackers_of(view, move |c| {
            if c.interface == name {
                Some(0)
            } else {
                c.track_interfaces
                    .iter()
                    .find(|t| t.interface == name)
                    .map(|t| t.weight)
            }
        });
        if !tracking.is_empty() {
            line(s, 3, "Tracking VRRP instances :");
            for (inst, w) in tracking {
                line(s, 5, format!("{inst}, weight {w}"));
            }
        }
    }
}
