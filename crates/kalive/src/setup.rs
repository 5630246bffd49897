//! From the parsed keepalived.conf model to what the runtime needs: the
//! engine's [`InstanceConfig`]s and sync groups, the full address / route /
//! rule entries behind the engine's opaque handles, notify scripts, FIFOs,
//! vrrp_scripts to run and VMACs to create.
//!
//! Pure code, unit-tested below. Script users and script files were
//! resolved and checked when the config was read (kalive-config
//! `script_check`): a script reaches the plan only with its identity and
//! the exact file to execute; one without them is not run (no fallback to
//! root).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use kalive_config::model::vrrp::{self as m, AuthType, TrackRef, VrrpVersion};
use kalive_config::model::{Config, IpAddressSpec, RouteSpec, RuleSpec};
use kalive_vrrp::{
    Authentication, Family, GarpConfig, InitialState, InstanceConfig, SyncGroupConfig, TrackedFile,
    TrackedInterface, TrackedProcess, TrackedScript, UnicastPeer, Version, VirtualAddress,
    VirtualEntry,
};

use crate::error::Error;
use crate::notify::{FifoSpec, NotifyConfig, NotifyScripts, Script, Subject};
use crate::track_process::ParamMatch;
pub use crate::track_process::ProcessSpec;
pub use crate::track_script::TrackScriptSpec;
use kalive_config::system::{FileInfo, HostSystem, System, UserInfo};
use kalive_sys::script::Identity;

/// keepalived has no timeout on notify scripts (only STOP is waited for);
/// kalive does not wait for them either, but kills a script's process
/// group after this long so that hung scripts do not pile up.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything the runtime builds from one config.
#[derive(Debug, Clone)]
pub struct Plan {
    pub instances: Vec<InstanceConfig>,
    pub sync_groups: Vec<SyncGroupConfig>,
    /// Per instance (same index): full entries behind the engine's handles.
    pub resources: Vec<InstanceResources>,
    pub notify: NotifyConfig,
    pub track_scripts: Vec<TrackScriptSpec>,
    /// Global static addresses / routes / rules (added at start, removed at stop).
    pub static_addresses: Vec<IpAddressSpec>,
    pub static_routes: Vec<RouteSpec>,
    pub static_rules: Vec<RuleSpec>,
    /// `default_interface` (static addresses without `dev`), default eth0.
    pub default_interface: String,
    /// Instances whose priority changes go to the FIFOs
    /// (`notify_priority_changes`, `vrrp_notify_priority_changes`).
    pub priority_change_fifo: Vec<String>,
    /// `track_file`s some instance tracks: (name, path).
    pub track_files: Vec<(String, PathBuf)>,
    /// `vrrp_track_process`es some instance tracks.
    pub track_processes: Vec<ProcessSpec>,
    /// `startup_script` / `shutdown_script` with their timeouts.
    pub startup_script: Option<(Script, Duration)>,
    pub shutdown_script: Option<(Script, Duration)>,
    /// The longer of `vrrp_startup_delay` and what remains of
    /// `vrrp_delay_after_boot` (reference §2 Startup).
    pub startup_delay: Duration,
    /// `vrrp_garp_interval` / `vrrp_gna_interval`: gap between frames.
    pub garp_interval: Duration,
    pub gna_interval: Duration,
    /// Non-fatal remarks for the log (unsupported features and the like).
    pub warnings: Vec<String>,
    /// The parsed model this plan was built from: the state dumps print
    /// keepalived's view of it (global_defs, vrrp_script, track_file,
    /// instance keywords the engine does not need; reference §1.3).
    pub config: std::sync::Arc<Config>,
    /// The `virtual_server` half, for the check actor and the LB owner.
    pub lvs: crate::lower::LvsPlan,
}

/// The keyword details of one instance the engine does not need.
#[derive(Debug, Clone, Default)]
pub struct InstanceResources {
    /// `virtual_ipaddress`, indexed by [`VirtualAddress::key`].
    pub vips: Vec<IpAddressSpec>,
    /// `virtual_ipaddress_excluded`, indexed by key.
    pub excluded: Vec<IpAddressSpec>,
    /// `virtual_routes`, indexed by handle.
    pub routes: Vec<RouteSpec>,
    /// `virtual_rules`, indexed by handle.
    pub rules: Vec<RuleSpec>,
    /// The interface configured (`interface`), before VMAC substitution.
    pub base_interface: String,
    /// `use_vmac`: the macvlan to create.
    pub vmac: Option<VmacPlan>,
    /// `unicast_ttl` (IPv4 unicast TTL; default 255).
    pub unicast_ttl: u8,
    /// `auth_type AH` (v2): the HMAC key, `auth_pass` zero padded to 8
    /// bytes (reference §1.9).
    pub ah_key: Option<[u8; 8]>,
}

/// A macvlan VMAC to create (reference §1.8 `use_vmac`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmacPlan {
    pub name: String,
    pub parent: String,
    pub mac: [u8; 6],
}

/// The machine kalive's config is read against (`-t`, start, reload):
/// kalive-config's [`HostSystem`] for interfaces and files, with users and
/// groups from the name service (`getpwnam` / `getgrnam`, as keepalived:
/// users from LDAP or nss-systemd count, and `65534` is no user name).
#[derive(Debug, Clone, Copy, Default)]
pub struct HostWithNss;

impl System for HostWithNss {
    fn interface_exists(&self, name: &str) -> bool {
        HostSystem.interface_exists(name)
    }
    fn user(&self, name: &str) -> Option<UserInfo> {
        nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .map(|u| UserInfo {
                uid: u.uid.as_raw(),
                gid: u.gid.as_raw(),
            })
    }
    fn group(&self, name: &str) -> Option<u32> {
        nix::unistd::Group::from_name(name)
            .ok()
            .flatten()
            .map(|g| g.gid.as_raw())
    }
    fn stat(&self, path: &std::path::Path, follow: bool) -> Option<FileInfo> {
        HostSystem.stat(path, follow)
    }
    fn canonicalize(&self, path: &std::path::Path) -> Option<PathBuf> {
        HostSystem.canonicalize(path)
    }
    fn path_dirs(&self) -> Vec<PathBuf> {
        HostSystem.path_dirs()
    }
    fn same_file(&self, a: &std::path::Path, b: &std::path::Path) -> bool {
        HostSystem.same_file(a, b)
    }
    fn address_is_local(&self, addr: &IpAddr) -> bool {
        HostSystem.address_is_local(addr)
    }
    fn resolves(&self, name: &str) -> bool {
        HostSystem.resolves(name)
    }
}

/// Build the plan. Errors are things the runtime cannot do at all.
pub fn plan(config: &Config) -> Result<Plan, Error> {
    let mut warnings = Vec::new();
    let mut instances = Vec::new();
    let mut resources = Vec::new();
    for inst in &config.vrrp_instances {
        let (ic, res) = instance(config, inst, &mut warnings)?;
        instances.push(ic);
        resources.push(res);
    }
    let sync_groups = config
        .vrrp_sync_groups
        .iter()
        .map(|g| SyncGroupConfig {
            name: g.name.clone(),
            members: g.group.clone(),
        })
        .collect();
    let notify = notify_config(config, &mut warnings);
    let lvs = crate::lower::lower(config, &mut |s, what| runnable(s, what, &mut warnings));
    let track_scripts = track_scripts(config, &instances, &mut warnings);
    let track_files = config
        .track_files
        .iter()
        .filter(|f| {
            instances
                .iter()
                .any(|i| i.track_files.iter().any(|t| t.name == f.name))
        })
        .filter_map(|f| f.file.clone().map(|p| (f.name.clone(), p)))
        .collect();
    let track_processes = config
        .track_processes
        .iter()
        .filter(|p| {
            instances
                .iter()
                .any(|i| i.track_processes.iter().any(|t| t.name == p.name))
        })
        .filter_map(process_spec)
        .collect();
    Ok(Plan {
        track_processes,
        instances,
        sync_groups,
        resources,
        notify,
        track_scripts,
        static_addresses: config.static_ipaddresses.clone(),
        static_routes: config.static_routes.clone(),
        static_rules: config.static_rules.clone(),
        default_interface: config
            .global_defs
            .default_interface
            .clone()
            .unwrap_or_else(|| "eth0".to_string()),
        priority_change_fifo: config
            .vrrp_instances
            .iter()
            .filter(|i| {
                i.notify_priority_changes
                    .unwrap_or(config.global_defs.vrrp_notify_priority_changes)
            })
            .map(|i| i.name.clone())
            .collect(),
        track_files,
        startup_script: config
            .global_defs
            .startup_script
            .as_ref()
            .and_then(|s| runnable(s, "startup_script", &mut warnings))
            .map(|s| (s, config.global_defs.startup_script_timeout)),
        shutdown_script: config
            .global_defs
            .shutdown_script
            .as_ref()
            .and_then(|s| runnable(s, "shutdown_script", &mut warnings))
            .map(|s| (s, config.global_defs.shutdown_script_timeout)),
        startup_delay: startup_delay(
            config.global_defs.vrrp_startup_delay,
            config.global_defs.vrrp_delay_after_boot,
            system_uptime(),
        ),
        garp_interval: config.global_defs.vrrp_garp_interval,
        gna_interval: config.global_defs.vrrp_gna_interval,
        warnings,
        config: std::sync::Arc::new(config.clone()),
        lvs,
    })
}

fn instance(
    config: &Config,
    inst: &m::VrrpInstance,
    warnings: &mut Vec<String>,
) -> Result<(InstanceConfig, InstanceResources), Error> {
    let g = &config.global_defs;
    let family = if inst.ipv6 { Family::V6 } else { Family::V4 };
    let base_interface = inst.interface.clone().ok_or_else(|| {
        Error::Config(format!(
            "({}) no interface: interface-less instances are not supported",
            inst.name
        ))
    })?;
    let vmac = inst.use_vmac.as_ref().map(|v| VmacPlan {
        name: v.name.clone().unwrap_or_else(|| {
            format!(
                "{}.{}",
                g.vmac_prefix.as_deref().unwrap_or("vrrp"),
                inst.virtual_router_id
            )
        }),
        parent: base_interface.clone(),
        mac: v.mac.unwrap_or(match family {
            Family::V4 => [0, 0, 0x5e, 0, 1, inst.virtual_router_id],
            Family::V6 => [0, 0, 0x5e, 0, 2, inst.virtual_router_id],
        }),
    });
    // With use_vmac the instance lives on the VMAC: adverts leave from it,
    // VIPs without `dev` go on it, and its carrier follows the base
    // interface's, so a base failure is a fault (reference §2 FAULT).
    let interface = vmac
        .as_ref()
        .map_or(base_interface.clone(), |v| v.name.clone());
    let mut ic = InstanceConfig::new(
        &inst.name,
        inst.virtual_router_id,
        family,
        &interface,
        inst.priority,
    );
    ic.version = match (family, inst.version) {
        (Family::V6, _) | (_, VrrpVersion::V3) => Version::V3,
        (Family::V4, VrrpVersion::V2) => Version::V2,
    };
    ic.initial_state = match inst.state {
        m::InitialState::Master => InitialState::Master,
        m::InitialState::Backup => InitialState::Backup,
    };
    ic.advert_interval = inst.advert_int;
    ic.authentication = authentication(inst, ic.version);
    ic.source = inst.src_ip();
    ic.multicast_group = inst.mcast_dst_ip.unwrap_or(match family {
        Family::V4 => g.vrrp_mcast_group4,
        Family::V6 => g.vrrp_mcast_group6,
    });
    ic.unicast_peers = inst
        .unicast_peers
        .iter()
        .map(|p| UnicastPeer {
            addr: p.address,
            min_ttl: p.min_ttl.unwrap_or(0),
            max_ttl: p.max_ttl.unwrap_or(255),
        })
        .collect();
    ic.check_unicast_src = inst.check_unicast_src
        || g.vrrp_check_unicast_src
        || inst
            .unicast_peers
            .iter()
            .any(|p| p.min_ttl.is_some() || p.max_ttl.is_some());
    let homes = AddressHomes {
        base: &base_interface,
        instance: &interface,
        family,
    };
    let (vips, vip_specs) = addresses(&inst.virtual_ipaddresses, &homes);
    let (excluded, excluded_specs) = addresses(&inst.virtual_ipaddresses_excluded, &homes);
    ic.vips = vips;
    ic.excluded_vips = excluded;
    ic.virtual_routes = entries(&inst.virtual_routes);
    ic.virtual_rules = entries(&inst.virtual_rules);
    ic.nopreempt = inst.nopreempt;
    ic.preempt_delay = inst.preempt_delay;
    ic.garp = garp(config, inst);
    ic.down_timer_adverts = inst.down_timer_adverts.unwrap_or(g.vrrp_down_timer_adverts);
    let strict = inst.strict_mode.unwrap_or(g.vrrp_strict);
    ic.lower_prio_no_advert = inst
        .lower_prio_no_advert
        .or(g.vrrp_lower_prio_no_advert)
        .unwrap_or(strict);
    ic.higher_prio_send_advert = inst
        .higher_prio_send_advert
        .unwrap_or(g.vrrp_higher_prio_send_advert);
    ic.owner_ignore_adverts = inst
        .owner_ignore_adverts
        .or(g.vrrp_owner_ignore_adverts)
        .unwrap_or(strict);
    ic.v3_checksum_as_v2 = inst.v3_checksum_as_v2.unwrap_or(g.v3_checksum_as_v2);
    ic.skip_check_adv_addr = inst
        .skip_check_adv_addr
        .unwrap_or(g.vrrp_skip_check_adv_addr);
    ic.dont_track_primary = inst.dont_track_primary;
    trackers(config, inst, &mut ic, warnings);
    let res = InstanceResources {
        vips: vip_specs,
        excluded: excluded_specs,
        routes: inst.virtual_routes.clone(),
        rules: inst.virtual_rules.clone(),
        base_interface,
        vmac,
        unicast_ttl: inst.unicast_ttl.unwrap_or(255),
        ah_key: match (ic.authentication, &inst.authentication) {
            (Authentication::Ah, Some(a)) => Some(padded_password(&a.password)),
            _ => None,
        },
    };
    Ok((ic, res))
}

/// v2 only (reference §1.9: ignored with v3).
fn authentication(inst: &m::VrrpInstance, version: Version) -> Authentication {
    match (&inst.authentication, version) {
        (Some(a), Version::V2) => match a.auth_type {
            AuthType::Pass => Authentication::Pass(padded_password(&a.password)),
            AuthType::Ah => Authentication::Ah,
        },
        _ => Authentication::None,
    }
}

/// Where an instance's addresses go: its configured interface, and the
/// interface it runs on (the VMAC with `use_vmac`, else the same).
struct AddressHomes<'a> {
    base: &'a str,
    instance: &'a str,
    family: Family,
}

impl AddressHomes<'_> {
    /// keepalived (vrrp.c, vrrp_complete_instance): an address without
    /// `dev`, or with `dev` naming the configured interface (the guide's
    /// `192.168.1.100/24 dev eth0`), goes on the VMAC when it is of the
    /// instance's family; one of the other family stays on the configured
    /// interface; any other `dev` is kept.
    fn device(&self, spec: &IpAddressSpec) -> String {
        let on_base = spec.dev.as_deref().is_none_or(|d| d == self.base);
        if !on_base {
            return spec.dev.clone().unwrap_or_default();
        }
        let same_family = matches!(
            (self.family, spec.address.addr),
            (Family::V4, IpAddr::V4(_)) | (Family::V6, IpAddr::V6(_))
        );
        if same_family {
            self.instance
        } else {
            self.base
        }
        .to_string()
    }
}

/// `auth_pass` as keepalived uses it: 8 bytes, zero padded.
fn padded_password(password: &[u8]) -> [u8; 8] {
    let mut field = [0u8; 8];
    for (dst, src) in field.iter_mut().zip(password) {
        *dst = *src;
    }
    field
}

fn addresses(
    specs: &[IpAddressSpec],
    homes: &AddressHomes,
) -> (Vec<VirtualAddress>, Vec<IpAddressSpec>) {
    let mut vas = Vec::new();
    let mut full = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let dev = homes.device(spec);
        vas.push(VirtualAddress {
            addr: spec.address.addr,
            prefix_len: spec.address.len,
            interface: dev.clone(),
            key: u32::try_from(i).unwrap_or(u32::MAX),
        });
        let mut s = spec.clone();
        s.dev = Some(dev);
        full.push(s);
    }
    (vas, full)
}

/// The engine's entries for `virtual_routes` / `virtual_rules`: the index
/// into the plan's table, and the entry written out (its JSON, source
/// position left out) for reload's comparison by value.
fn entries<T: serde::Serialize>(items: &[T]) -> Vec<VirtualEntry> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let spec = serde_json::to_string(item).unwrap_or_default();
            VirtualEntry::new(u32::try_from(i).unwrap_or(u32::MAX), &spec)
        })
        .collect()
}

/// Per-instance GARP settings fall back to the globals (reference §1.5).
fn garp(config: &Config, inst: &m::VrrpInstance) -> GarpConfig {
    let g = &config.global_defs;
    let master_delay = inst.garp.master_delay.unwrap_or(g.vrrp_garp_master_delay);
    let master_repeat = inst.garp.master_repeat.unwrap_or(g.vrrp_garp_master_repeat);
    GarpConfig {
        master_delay,
        master_repeat,
        lower_prio_delay: inst
            .garp
            .lower_prio_delay
            .or(g.vrrp_garp_lower_prio_delay)
            .unwrap_or(master_delay),
        lower_prio_repeat: inst
            .garp
            .lower_prio_repeat
            .or(g.vrrp_garp_lower_prio_repeat)
            .unwrap_or(master_repeat),
        master_refresh: inst
            .garp
            .master_refresh
            .unwrap_or(g.vrrp_garp_master_refresh),
        master_refresh_repeat: inst
            .garp
            .master_refresh_repeat
            .unwrap_or(g.vrrp_garp_master_refresh_repeat),
        min_garp: g.vrrp_min_garp,
    }
}

/// Instance trackers plus its sync group's (reference §1.7: group trackers
/// apply to every member; members' weights are ignored unless the group has
/// `sync_group_tracking_weight`).
fn trackers(
    config: &Config,
    inst: &m::VrrpInstance,
    ic: &mut InstanceConfig,
    warnings: &mut Vec<String>,
) {
    let group = inst
        .sync_group
        .as_ref()
        .and_then(|name| config.vrrp_sync_groups.iter().find(|g| &g.name == name))
        .or_else(|| {
            config
                .vrrp_sync_groups
                .iter()
                .find(|g| g.group.contains(&inst.name))
        });
    let keep_weights = group.is_none_or(|g| g.sync_group_tracking_weight);
    let weight = |w: i32| if keep_weights { w } else { 0 };

    let mut ifaces: Vec<&m::TrackedInterface> = inst.track_interfaces.iter().collect();
    let mut scripts: Vec<&TrackRef> = inst.track_scripts.iter().collect();
    let mut files: Vec<&TrackRef> = inst.track_files.iter().collect();
    let mut processes: Vec<&TrackRef> = inst.track_processes.iter().collect();
    if let Some(g) = group {
        ifaces.extend(&g.track_interfaces);
        scripts.extend(&g.track_scripts);
        files.extend(&g.track_files);
        processes.extend(&g.track_processes);
    }
    ic.track_interfaces = ifaces
        .into_iter()
        .map(|t| TrackedInterface {
            interface: t.name.clone(),
            weight: weight(t.weight),
            reverse: t.reverse,
        })
        .collect();
    ic.track_scripts = scripts
        .into_iter()
        .filter_map(|r| {
            let Some(s) = config.vrrp_script(&r.name) else {
                warnings.push(format!(
                    "({}) track_script {} is not defined; ignored",
                    inst.name, r.name
                ));
                return None;
            };
            Some(TrackedScript {
                name: s.name.clone(),
                weight: weight(r.weight.unwrap_or(s.weight)),
                reverse: r.reverse.unwrap_or(s.weight_reverse),
                rise: s.rise.max(1),
                fall: s.fall.max(1),
                init_fail: s.init_fail,
            })
        })
        .collect();
    ic.track_files = files
        .into_iter()
        .filter_map(|r| {
            let f = config.track_files.iter().find(|f| f.name == r.name)?;
            Some(TrackedFile {
                name: f.name.clone(),
                weight: weight(r.weight.unwrap_or(f.weight)),
                reverse: r.reverse.unwrap_or(f.weight_reverse),
                initial_value: f.init_file.map_or(0, |i| i.value),
            })
        })
        .collect();
    ic.track_processes = processes
        .into_iter()
        .filter_map(|r| {
            let Some(p) = config.track_processes.iter().find(|p| p.name == r.name) else {
                warnings.push(format!(
                    "({}) track_process {} is not defined; ignored",
                    inst.name, r.name
                ));
                return None;
            };
            Some(TrackedProcess {
                name: p.name.clone(),
                weight: weight(r.weight.unwrap_or(p.weight)),
                reverse: r.reverse.unwrap_or(p.weight_reverse),
            })
        })
        .collect();
    if !inst.track_bfds.is_empty() {
        warnings.push(format!(
            "({}) track_bfd is not supported by kalive yet; ignored",
            inst.name
        ));
    }
}

/// A `vrrp_track_process` as the tracker runs it (keepalived's parser,
/// vrrp_parser.c: parameters or `param_match` imply `full_command`).
///
/// The model has no "exact" `param_match` (keepalived's default when
/// parameters are given without `param_match`): its default, `initial`,
/// is used then.
fn process_spec(p: &m::TrackProcess) -> Option<ProcessSpec> {
    let process = p.process.clone()?;
    let params: Vec<u8> = p
        .parameters
        .iter()
        .flatten()
        .flat_map(|a| a.bytes().chain(std::iter::once(0)))
        .collect();
    let has_params = p.parameters.as_ref().is_some_and(|v| !v.is_empty());
    let param_match = match (has_params, p.param_match) {
        (false, _) => ParamMatch::Any,
        (true, m::ParamMatch::Initial) => ParamMatch::Initial,
        (true, m::ParamMatch::Partial) => ParamMatch::Partial,
    };
    Some(ProcessSpec {
        name: p.name.clone(),
        process,
        params,
        param_match,
        full_command: p.full_command || has_params,
        quorum: p.quorum.max(1),
        quorum_max: p.quorum_max.unwrap_or(u32::MAX),
        fork_delay: p.fork_delay.unwrap_or_default(),
        terminate_delay: p.terminate_delay.unwrap_or_default(),
    })
}

/// The script as the config resolved it: its identity and the file that
/// was checked. `None` (with a warning) when either is missing: nothing
/// runs as a default identity here.
fn runnable(s: &m::Script, what: &str, warnings: &mut Vec<String>) -> Option<Script> {
    let Some(run_as) = &s.run_as else {
        warnings.push(format!(
            "{what} {}: no script user was resolved; not run",
            s.program()
        ));
        return None;
    };
    let identity = Identity {
        uid: run_as.uid,
        gid: run_as.gid,
        groups: run_as.groups.clone(),
    };
    let program = s.program();
    // keepalived hands a `</file` test to the shell (`system()`): only the
    // redirection is evaluated.
    if program.starts_with('<') {
        return Some(Script::new(
            "/bin/sh",
            ["-c".to_string(), s.args.join(" ")],
            identity,
        ));
    }
    let Some(path) = &s.exec_path else {
        warnings.push(format!(
            "{what} {program}: the file was not checked; not run"
        ));
        return None;
    };
    Some(Script::new(path.clone(), s.args[1..].to_vec(), identity))
}

fn notify_scripts(n: &m::Notify, warnings: &mut Vec<String>) -> NotifyScripts {
    let mut conv = |s: &Option<m::Script>| s.as_ref().and_then(|s| runnable(s, "notify", warnings));
    NotifyScripts {
        master: conv(&n.master),
        backup: conv(&n.backup),
        fault: conv(&n.fault),
        stop: conv(&n.stop),
        deleted: conv(&n.deleted),
        master_rx_lower_pri: conv(&n.master_rx_lower_pri),
        generic: conv(&n.any),
    }
}

fn notify_config(config: &Config, warnings: &mut Vec<String>) -> NotifyConfig {
    let mut scripts = HashMap::new();
    for inst in &config.vrrp_instances {
        let s = notify_scripts(&inst.notify, warnings);
        if !s.is_empty() {
            scripts.insert((Subject::Instance, inst.name.clone()), s);
        }
    }
    for g in &config.vrrp_sync_groups {
        let s = notify_scripts(&g.notify, warnings);
        if !s.is_empty() {
            scripts.insert((Subject::Group, g.name.clone()), s);
        }
    }
    let mut fifos: Vec<FifoSpec> = Vec::new();
    let mut fifo_scripts = Vec::new();
    for fifo in [
        &config.global_defs.notify_fifo,
        &config.global_defs.vrrp_notify_fifo,
    ] {
        if let Some(path) = &fifo.path {
            if !fifos.iter().any(|f| &f.path == path) {
                fifos.push(FifoSpec {
                    path: path.clone(),
                    owner: fifo.owner.as_ref().map(|o| (o.uid, o.gid)),
                });
                if let Some(s) = fifo
                    .script
                    .as_ref()
                    .and_then(|s| runnable(s, "fifo script", warnings))
                {
                    fifo_scripts.push((s, path.clone()));
                }
            }
        }
    }
    NotifyConfig {
        scripts,
        fifos,
        fifo_scripts,
        timeout: NOTIFY_TIMEOUT,
        ..NotifyConfig::default()
    }
}

/// Only scripts some instance tracks are run (keepalived warns about the
/// others and does not run them).
fn track_scripts(
    config: &Config,
    instances: &[InstanceConfig],
    warnings: &mut Vec<String>,
) -> Vec<TrackScriptSpec> {
    let mut out = Vec::new();
    for s in &config.vrrp_scripts {
        let used = instances
            .iter()
            .any(|i| i.track_scripts.iter().any(|t| t.name == s.name));
        if !used {
            continue;
        }
        let Some(cmd) = &s.script else {
            warnings.push(format!("vrrp_script {} has no script; ignored", s.name));
            continue;
        };
        let Some(script) = runnable(cmd, &format!("vrrp_script {}", s.name), warnings) else {
            continue;
        };
        out.push(TrackScriptSpec {
            name: s.name.clone(),
            script,
            interval: s.interval,
            timeout: s.effective_timeout(),
        });
    }
    out
}

/// keepalived waits for the longer of `vrrp_startup_delay` and the rest of
/// `vrrp_delay_after_boot` (counted from boot).
pub fn startup_delay(
    startup: Duration,
    after_boot: Duration,
    uptime: Option<Duration>,
) -> Duration {
    let boot_rest = match uptime {
        Some(up) => after_boot.saturating_sub(up),
        None => Duration::ZERO,
    };
    startup.max(boot_rest)
}

fn system_uptime() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/uptime").ok()?;
    let secs: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_secs_f64(secs))
}

/// The address family of an address (for sockets and netlink).
pub fn family_of(addr: IpAddr) -> Family {
    match addr {
        IpAddr::V4(_) => Family::V4,
        IpAddr::V6(_) => Family::V6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kalive_config::model::net::IpPrefix;
    use kalive_config::model::vrrp::{
        Authentication as MAuth, SyncGroup, TrackedInterface as MTrackIf, VmacSpec, VrrpInstance,
        VrrpScript,
    };

    /// A script as kalive-config leaves it: resolved to `uid` and checked.
    fn script_as(args: &[&str], uid: u32) -> m::Script {
        let mut s = m::Script::new(args.iter().map(|s| s.to_string()).collect(), None, None);
        s.run_as = Some(m::RunAs::new(uid, uid));
        s.exec_path = Some(PathBuf::from(args[0]));
        s
    }

    fn script(args: &[&str]) -> m::Script {
        script_as(args, 998)
    }

    fn vi_1() -> VrrpInstance {
        let mut i = VrrpInstance::new("VI_1");
        i.interface = Some("eth0".into());
        i.virtual_router_id = 51;
        i.priority = 150;
        i.state = m::InitialState::Master;
        i.virtual_ipaddresses = vec![
            IpAddressSpec::new(IpPrefix::host("192.168.200.16".parse().expect("ip"))),
            IpAddressSpec::new(IpPrefix {
                addr: "192.168.200.17".parse().expect("ip"),
                len: 24,
            }),
        ];
        i.authentication = Some(MAuth {
            auth_type: AuthType::Pass,
            password: b"1111".to_vec(),
        });
        i
    }

    #[test]
    fn startup_delays() {
        let s = Duration::from_secs;
        assert_eq!(startup_delay(s(0), s(0), Some(s(5))), s(0));
        assert_eq!(startup_delay(s(3), s(0), Some(s(5))), s(3));
        assert_eq!(startup_delay(s(3), s(60), Some(s(50))), s(10));
        assert_eq!(startup_delay(s(0), s(60), Some(s(500))), s(0));
    }

    #[test]
    fn instance_maps_to_engine_config() {
        let mut config = Config::default();
        config.vrrp_instances.push(vi_1());
        let plan = plan(&config).expect("plan");
        let ic = &plan.instances[0];
        assert_eq!((ic.name.as_str(), ic.vrid, ic.priority), ("VI_1", 51, 150));
        assert_eq!(ic.interface, "eth0");
        assert_eq!(ic.family, Family::V4);
        assert_eq!(ic.version, Version::V2);
        assert_eq!(ic.initial_state, InitialState::Master);
        assert_eq!(ic.authentication, Authentication::Pass(*b"1111\0\0\0\0"));
        assert_eq!(
            ic.multicast_group,
            "224.0.0.18".parse::<IpAddr>().expect("ip")
        );
        assert_eq!(ic.vips.len(), 2);
        assert_eq!((ic.vips[1].prefix_len, ic.vips[1].key), (24, 1));
        assert_eq!(ic.vips[0].interface, "eth0");
        assert_eq!(plan.resources[0].vips[1].dev.as_deref(), Some("eth0"));
        assert_eq!(ic.garp.master_repeat, 5);
        assert_eq!(ic.down_timer_adverts, 3);
    }

    #[test]
    fn v3_ignores_authentication_and_ipv6_is_v3() {
        let mut config = Config::default();
        let mut i = vi_1();
        i.version = VrrpVersion::V3;
        config.vrrp_instances.push(i);
        let mut v6 = VrrpInstance::new("VI_6");
        v6.interface = Some("eth0".into());
        v6.virtual_router_id = 52;
        v6.ipv6 = true;
        v6.virtual_ipaddresses = vec![IpAddressSpec::new(IpPrefix::host(
            "fd00::16".parse().expect("ip"),
        ))];
        config.vrrp_instances.push(v6);
        let plan = plan(&config).expect("plan");
        assert_eq!(plan.instances[0].authentication, Authentication::None);
        assert_eq!(plan.instances[1].version, Version::V3);
        assert_eq!(plan.instances[1].family, Family::V6);
        assert_eq!(
            plan.instances[1].multicast_group,
            "ff02::12".parse::<IpAddr>().expect("ip")
        );
    }

    #[test]
    fn vmac_moves_the_instance_and_its_vips() {
        let mut config = Config::default();
        let mut i = vi_1();
        i.use_vmac = Some(VmacSpec::default());
        config.vrrp_instances.push(i);
        let plan = plan(&config).expect("plan");
        let v = plan.resources[0].vmac.clone().expect("vmac");
        assert_eq!(v.name, "vrrp.51");
        assert_eq!(v.parent, "eth0");
        assert_eq!(v.mac, [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(plan.instances[0].interface, "vrrp.51");
        assert_eq!(plan.instances[0].vips[0].interface, "vrrp.51");
        assert_eq!(plan.resources[0].base_interface, "eth0");
    }

    #[test]
    fn auth_type_ah_carries_its_key() {
        let mut config = Config::default();
        let mut i = vi_1();
        i.authentication = Some(MAuth {
            auth_type: AuthType::Ah,
            password: b"secret".to_vec(),
        });
        config.vrrp_instances.push(i.clone());
        let p = plan(&config).expect("plan");
        assert_eq!(p.instances[0].authentication, Authentication::Ah);
        assert_eq!(p.resources[0].ah_key, Some(*b"secret\0\0"));
        // v3 ignores authentication (reference §1.9).
        i.version = VrrpVersion::V3;
        config.vrrp_instances[0] = i;
        let p = plan(&config).expect("plan");
        assert_eq!(p.resources[0].ah_key, None);
    }

    #[test]
    fn vmac_takes_vips_written_on_the_configured_interface() {
        // The guide's form: `192.168.200.17/24 dev eth0` with use_vmac.
        let mut config = Config::default();
        let mut i = vi_1();
        i.use_vmac = Some(VmacSpec::default());
        i.virtual_ipaddresses[1].dev = Some("eth0".into());
        let mut other = IpAddressSpec::new(IpPrefix::host("10.9.9.9".parse().expect("ip")));
        other.dev = Some("eth1".into());
        i.virtual_ipaddresses.push(other);
        i.virtual_ipaddresses_excluded = vec![
            IpAddressSpec::new(IpPrefix::host("fd00::9".parse().expect("ip"))),
            IpAddressSpec::new(IpPrefix::host("192.168.200.99".parse().expect("ip"))),
        ];
        config.vrrp_instances.push(i);
        let plan = plan(&config).expect("plan");
        let vips: Vec<&str> = plan.instances[0]
            .vips
            .iter()
            .map(|v| v.interface.as_str())
            .collect();
        assert_eq!(vips, ["vrrp.51", "vrrp.51", "eth1"]);
        assert_eq!(plan.resources[0].vips[1].dev.as_deref(), Some("vrrp.51"));
        let evips: Vec<&str> = plan.instances[0]
            .excluded_vips
            .iter()
            .map(|v| v.interface.as_str())
            .collect();
        assert_eq!(evips, ["eth0", "vrrp.51"], "another family stays on eth0");
    }

    #[test]
    fn trackers_scripts_and_sync_group_weights() {
        let mut config = Config::default();
        let mut chk = VrrpScript::new("chk");
        chk.script = Some(script_as(&["/bin/check", "arg"], 65534));
        chk.weight = -20;
        chk.fall = 2;
        chk.rise = 3;
        config.vrrp_scripts.push(chk);
        config.vrrp_scripts.push(VrrpScript::new("unused"));
        let mut i = vi_1();
        i.track_scripts.push(TrackRef {
            name: "chk".into(),
            weight: None,
            reverse: None,
            span: None,
        });
        i.track_interfaces.push(MTrackIf {
            name: "eth1".into(),
            weight: 10,
            reverse: false,
            span: None,
        });
        let mut j = vi_1();
        j.name = "VI_2".into();
        j.virtual_router_id = 52;
        j.track_scripts = i.track_scripts.clone();
        config.vrrp_instances.push(i);
        config.vrrp_instances.push(j);
        config.vrrp_sync_groups.push(SyncGroup {
            name: "G1".into(),
            group: vec!["VI_2".into()],
            notify: m::Notify {
                master: Some(script(&["/bin/gm"])),
                ..Default::default()
            },
            ..Default::default()
        });
        let plan = plan(&config).expect("plan");
        let t = &plan.instances[0].track_scripts[0];
        assert_eq!((t.weight, t.rise, t.fall), (-20, 3, 2));
        assert_eq!(plan.instances[0].track_interfaces[0].weight, 10);
        // In a sync group without sync_group_tracking_weight, weights are 0.
        assert_eq!(plan.instances[1].track_scripts[0].weight, 0);
        assert_eq!(plan.track_scripts.len(), 1, "only tracked scripts run");
        let s = &plan.track_scripts[0];
        assert_eq!(s.script.command.program, PathBuf::from("/bin/check"));
        assert_eq!(s.script.command.args, ["arg"]);
        assert_eq!(
            s.script.command.identity,
            Identity {
                uid: 65534,
                gid: 65534,
                groups: vec![65534]
            }
        );
        assert_eq!(
            (s.interval, s.timeout),
            (Duration::from_secs(1), Duration::from_secs(1))
        );
        assert_eq!(plan.sync_groups[0].members, ["VI_2"]);
        assert!(plan
            .notify
            .scripts
            .contains_key(&(Subject::Group, "G1".to_string())));
    }

    #[test]
    fn notify_scripts_identity_and_fifos() {
        let mut config = Config::default();
        let mut i = vi_1();
        i.notify.master = Some(script(&["/bin/m"]));
        i.notify.any = Some(script(&["/bin/n", "x"]));
        config.vrrp_instances.push(i);
        config.global_defs.vrrp_notify_fifo.path = Some("/run/k.fifo".into());
        config.global_defs.notify_fifo.path = Some("/run/k.fifo".into());
        let plan = plan(&config).expect("plan");
        let s = &plan.notify.scripts[&(Subject::Instance, "VI_1".to_string())];
        assert_eq!(s.master.as_ref().map(|m| m.command.identity.uid), Some(998));
        assert_eq!(
            s.generic.as_ref().map(|g| g.command.args.clone()),
            Some(vec!["x".to_string()])
        );
        assert_eq!(
            plan.notify.fifos,
            [FifoSpec::new("/run/k.fifo")],
            "same FIFO once"
        );
    }

    #[test]
    fn a_script_the_config_did_not_resolve_is_never_run() {
        // No identity (the config dropped it or never resolved it): it is
        // not run as anyone, root least of all.
        let mut config = Config::default();
        let mut i = vi_1();
        let mut unresolved = script(&["/bin/m"]);
        unresolved.run_as = None;
        i.notify.master = Some(unresolved);
        let mut unchecked = script(&["/bin/b"]);
        unchecked.exec_path = None;
        i.notify.backup = Some(unchecked);
        config.vrrp_instances.push(i);
        let plan = plan(&config).expect("plan");
        assert!(plan.notify.scripts.is_empty());
        assert_eq!(plan.warnings.len(), 2, "{:?}", plan.warnings);
    }

    #[test]
    fn the_checked_path_is_executed_and_file_tests_go_to_the_shell() {
        let mut config = Config::default();
        let mut i = vi_1();
        let mut link = script(&["/tmp/ww/link.sh", "a"]);
        link.exec_path = Some(PathBuf::from("/etc/keepalived/real.sh"));
        i.notify.master = Some(link);
        let mut test = script(&["</dev/tcp/127.0.0.1/80"]);
        test.exec_path = None;
        i.notify.backup = Some(test);
        config.vrrp_instances.push(i);
        let plan = plan(&config).expect("plan");
        let s = &plan.notify.scripts[&(Subject::Instance, "VI_1".to_string())];
        let master = &s.master.as_ref().expect("master").command;
        assert_eq!(master.program, PathBuf::from("/etc/keepalived/real.sh"));
        assert_eq!(master.args, ["a"]);
        let backup = &s.backup.as_ref().expect("backup").command;
        assert_eq!(backup.program, PathBuf::from("/bin/sh"));
        assert_eq!(backup.args, ["-c", "</dev/tcp/127.0.0.1/80"]);
    }

    #[test]
    fn users_come_from_the_name_service_by_name_only() {
        let root = HostWithNss.user("root").expect("root exists");
        assert_eq!((root.uid, root.gid), (0, 0));
        assert_eq!(HostWithNss.group("root"), Some(0));
        // getpwnam does not take numbers: keepalived refuses `script_user 0`.
        assert_eq!(HostWithNss.user("0"), None);
        assert_eq!(HostWithNss.user("65534"), None);
    }
}
