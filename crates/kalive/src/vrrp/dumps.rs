//! USR1 / USR2 / SIGJSON state dumps (reference §1.3), in keepalived
//! 2.2.7's layout: `/tmp/keepalived.data` has its sections (global
//! definitions, VRRP topology, socket pool, sync groups, scripts, track
//! files, interfaces) with its field names in its order, and
//! `/tmp/keepalived.json` its keys (`vrrp/vrrp_print.c`, `vrrp_data.c`,
//! `vrrp_json.c`, observed on a running keepalived 2.2.7). Values come from
//! the engine (state, priorities, timers, counters, trackers), the plan (the
//! parsed config) and the actor's view of links and sockets. Where kalive
//! has no such thing (fd pairs, scheduling, SNMP, netlink buffer sizes...)
//! the line shows keepalived's default, so that tools parsing the file find
//! every field; each such place says so.

use std::fmt::Write as _;
use std::time::SystemTime;

use kalive_config::model::vrrp::VrrpInstance;
use kalive_config::model::{IpAddressSpec, RouteSpec, RuleSpec};
use kalive_vrrp::{Family, InstanceId, State, Timestamp, Version, Vrrp};

use super::links::Links;
use crate::notify::{NotifyScripts, Script, Subject};
use crate::setup::Plan;

mod data;
mod json;

pub(super) use data::data_text;
pub(super) use json::json_value;

/// Write a dump under `/tmp` (or wherever `path` points) as keepalived
/// does (reference §1.3): a temporary file created exclusively, renamed
/// over the name, mode 0600. A symbolic link or a file another user
/// planted under the name is replaced, never followed or written into.
pub fn write_dump(path: &str, text: &str) {
    if let Err(e) =
        kalive_sys::safe_file::write_replace(std::path::Path::new(path), text.as_bytes(), 0o600)
    {
        tracing::warn!("cannot write {path}: {e}");
    }
}

/// What a dump reads: the engine, the plan it runs, the actor's view of
/// links and sockets, and the clocks (engine time and wall time at the
/// same instant, to print keepalived's wall-clock timestamps).
pub(super) struct DumpView<'a> {
    pub vrrp: &'a Vrrp,
    pub plan: &'a Plan,
    pub links: &'a Links,
    pub sockets: Vec<SocketView>,
    pub now: Timestamp,
    pub wall_now: SystemTime,
}

/// One VRRP socket as the dump shows it.
pub(super) struct SocketView {
    pub interface: String,
    pub family: Family,
    pub unicast: bool,
    pub fd: i32,
}

impl DumpView<'_> {
    /// Wall-clock time of an engine timestamp.
    fn wall(&self, at: Timestamp) -> SystemTime {
        if at <= self.now {
            self.wall_now - self.now.saturating_since(at)
        } else {
            self.wall_now + at.saturating_since(self.now)
        }
    }

    fn seconds(&self, at: Timestamp) -> f64 {
        self.wall(at)
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64()
    }

    fn ids(&self) -> impl Iterator<Item = InstanceId> {
        (0..self.vrrp.instance_count()).map(|i| InstanceId(i as u32))
    }

    /// The parsed `vrrp_instance` block an engine instance came from.
    fn model(&self, name: &str) -> Option<&VrrpInstance> {
        self.plan.config.vrrp_instance(name)
    }

    fn notify_scripts(&self, name: &str) -> Option<&NotifyScripts> {
        self.plan
            .notify
            .scripts
            .get(&(Subject::Instance, name.to_string()))
    }

    fn sync_group_of(&self, name: &str) -> Option<&str> {
        self.plan
            .sync_groups
            .iter()
            .find(|g| g.members.iter().any(|m| m == name))
            .map(|g| g.name.as_str())
    }

    fn last_transition(&self, id: InstanceId) -> Timestamp {
        self.vrrp
            .last_transition(id)
            .map_or(Timestamp::default(), |(at, _, _)| at)
    }

    /// keepalived's `wantstate`: MASTER once its timer expired, even when
    /// a sync group holds it back.
    fn wantstate(&self, id: InstanceId) -> State {
        let state = self.vrrp.state(id).unwrap_or(State::Init);
        if self.vrrp.wants_master(id) == Some(true) {
            State::Master
        } else {
            state
        }
    }

    fn vips_set(&self, id: InstanceId) -> bool {
        self.vrrp.state(id) == Some(State::Master)
    }

    fn resources(&self, id: InstanceId) -> Option<&crate::setup::InstanceResources> {
        self.plan.resources.get(id.0 as usize)
    }
}

/// `'/usr/bin/true' 'arg'`: keepalived quotes each word of a command and
/// shows the program by its resolved path (`/bin/true` is
/// `/usr/bin/true` where /bin is a link).
fn quoted(script: &Script) -> String {
    // The program is already the checked real path (script security).
    std::iter::once(script.command.program.display().to_string())
        .chain(script.command.args.iter().cloned())
        .map(|word| format!("'{word}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn version_number(v: Version) -> u8 {
    if v == Version::V3 {
        3
    } else {
        2
    }
}

fn scope_name(scope: Option<kalive_config::model::net::Scope>) -> String {
    use kalive_config::model::net::Scope;
    match scope.unwrap_or(Scope::Global) {
        Scope::Global => "global".into(),
        Scope::Site => "site".into(),
        Scope::Link => "link".into(),
        Scope::Host => "host".into(),
        Scope::Nowhere => "nowhere".into(),
        Scope::Other(n) => n.to_string(),
    }
}

/// `10.0.0.201/24 dev eth0 scope global label eth0:vip set`; `set` while
/// the address is ours to hold (MASTER).
fn address_text(v: &IpAddressSpec, interface: &str, set: bool) -> String {
    let mut t = format!(
        "{} dev {} scope {}",
        v.address,
        v.dev.as_deref().unwrap_or(interface),
        scope_name(v.scope)
    );
    if let Some(label) = &v.label {
        let _ = write!(t, " label {label}");
    }
    if set {
        t.push_str(" set");
    }
    t
}

/// A virtual route in keepalived's words (`ip route` order; protocol 18 is
/// `keepalived` in rt_protos, which keepalived marks its routes with).
fn route_text(r: &RouteSpec) -> String {
    let mut t = format!("{} {}", if r.append { "append" } else { "prepend" }, r.dest);
    if let Some(src) = r.src {
        let _ = write!(t, " src {src}");
    }
    if let Some(via) = r.via {
        let family = if via.is_ipv4() { "inet" } else { "inet6" };
        let _ = write!(t, " via {family} {via}");
    }
    if let Some(dev) = &r.dev {
        let _ = write!(t, " dev {dev}");
    }
    if let Some(table) = r.table {
        let _ = write!(t, " table {table}");
    }
    if let Some(metric) = r.metric {
        let _ = write!(t, " metric {metric}");
    }
    let _ = write!(t, " proto {}", r.protocol.unwrap_or(18));
    t
}

/// A virtual rule in keepalived's words.
fn rule_text(r: &RuleSpec) -> String {
    use kalive_config::model::net::RuleAction;
    let mut t = String::new();
    if r.not {
        t.push_str("not ");
    }
    if let Some(from) = &r.from {
        let _ = write!(t, "from {} ", prefix_text(from));
    }
    if let Some(to) = &r.to {
        let _ = write!(t, "to {} ", prefix_text(to));
    }
    // keepalived gives a rule without a preference 16384 (and warns).
    let _ = write!(
        t,
        "priority {} tos {:#x} protocol {}",
        r.preference.unwrap_or(16384),
        r.tos.unwrap_or(0),
        r.protocol.unwrap_or(18)
    );
    if let Some(mark) = r.fwmark {
        let _ = write!(t, " fwmark {mark:#x}");
    }
    match r.action {
        RuleAction::Table => {
            let _ = write!(t, " lookup {}", r.table.unwrap_or(254));
        }
        RuleAction::Goto(n) => {
            let _ = write!(t, " goto {n}");
        }
        other => {
            let _ = write!(t, " {}", format!("{other:?}").to_lowercase());
        }
    }
    t
}

/// A prefix as `ip rule` shows it: a host without its length.
fn prefix_text(p: &kalive_config::model::IpPrefix) -> String {
    let host = if p.addr.is_ipv4() { 32 } else { 128 };
    if p.len == host {
        p.addr.to_string()
    } else {
        p.to_string()
    }
}

pub fn stats_text(vrrp: &Vrrp) -> String {
    let mut s = String::new();
    for i in 0..vrrp.instance_count() {
        let id = InstanceId(i as u32);
        let (Some(c), Some(st)) = (vrrp.config(id), vrrp.stats(id)) else {
            continue;
        };
        s.push_str(&stats_block(&c.name, st));
    }
    s
}

/// keepalived's `/tmp/keepalived.stats` block (vrrp_print.c), then the
/// kalive-only counters under their own heading.
pub fn stats_block(name: &str, st: &kalive_vrrp::Stats) -> String {
    use kalive_vrrp::RxDrop as D;
    let length = st.drops(D::Length) + st.drops(D::IpLength) + st.drops(D::Malformed);
    let mut s = format!("VRRP Instance: {name}\n");
    s.push_str(&format!(
        "  Advertisements:\n    Received: {}\n    Sent: {}\n",
        st.advert_rcvd, st.advert_sent
    ));
    s.push_str(&format!("  Became master: {}\n", st.become_master));
    s.push_str(&format!("  Released master: {}\n", st.release_master));
    s.push_str(&format!(
        "  Packet Errors:\n    Length: {length}\n    TTL: {}\n    Invalid Type: {}\n    Advertisement Interval: {}\n    Address List: {}\n",
        st.drops(D::Ttl),
        st.drops(D::Type),
        st.drops(D::Interval),
        st.addr_list_err
    ));
    s.push_str(&format!(
        "  Authentication Errors:\n    Invalid Type: {}\n    Type Mismatch: {}\n    Failure: {}\n",
        st.drops(D::InvalidAuthType),
        st.drops(D::AuthTypeMismatch),
        st.drops(D::AuthFailure)
    ));
    s.push_str(&format!(
        "  Priority Zero:\n    Received: {}\n    Sent: {}\n",
        st.pri_zero_rcvd, st.pri_zero_sent
    ));
    s.push_str(&format!(
        "  Other Packet Errors (kalive):\n    Version: {}\n    Checksum: {}\n    Destination: {}\n    Owner Ignore: {}\n    Unicast Source: {}\n    Unicast TTL: {}\n",
        st.drops(D::Version),
        st.drops(D::Checksum),
        st.drops(D::Destination),
        st.drops(D::OwnerIgnore),
        st.drops(D::UnicastSource),
        st.drops(D::UnicastTtl)
    ));
    s
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;

    use std::time::Duration;

    use kalive_vrrp::Input;
    use serde_json::{json, Value};

    use super::*;

    /// The config of the netns comparison with keepalived
    /// (crates/kalive-lab/tests/dumps.rs), trimmed to what needs no files
    /// and tracking `lo` (a tracked interface must exist where the test
    /// runs, or the config drops it as keepalived does).
    const CONFIG: &str = r#"
global_defs {
    router_id LAB_R1
    vrrp_garp_master_delay 2
    vrrp_garp_master_repeat 3
}
vrrp_script chk_ok {
    script "/bin/true"
    interval 1
    rise 2
    fall 2
}
vrrp_sync_group G1 {
    group {
        VI_1
        VI_2
    }
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    authentication {
        auth_type PASS
        auth_pass secret1
    }
    virtual_ipaddress {
        10.0.0.200/24
        10.0.0.201/24 dev eth0 label eth0:vip
    }
    virtual_ipaddress_excluded {
        10.0.5.1/24
    }
    virtual_routes {
        10.9.0.0/24 via 10.0.0.254 dev eth0
    }
    virtual_rules {
        from 10.0.0.200 table 100
    }
    track_interface {
        lo
    }
    track_script {
        chk_ok
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority 100
    unicast_src_ip 10.0.0.1
    unicast_peer {
        10.0.0.2
    }
    virtual_ipaddress {
        10.0.0.210/24
    }
}
vrrp_instance VI_3 {
    interface eth0
    virtual_router_id 53
    version 3
    priority 90
    advert_int 0.5
    nopreempt
    notify_master /bin/true
    virtual_ipaddress {
        10.0.0.220/24
    }
}
"#;

    fn plan() -> Plan {
        let loaded = kalive_config::load_str(
            CONFIG,
            "dumps.conf",
            Arc::new(kalive_config::system::HostSystem),
        );
        crate::setup::plan(&loaded.config).expect("plan")
    }

    fn at(secs: f64) -> Timestamp {
        Timestamp::from_secs_f64(secs)
    }

    /// The engine after `secs` seconds of running `plan` alone on the LAN
    /// (the script good from the start).
    fn engine(plan: &Plan, secs: f64) -> Vrrp {
        let mut instances = plan.instances.clone();
        for ic in &mut instances {
            ic.source
                .get_or_insert(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        }
        let mut vrrp = Vrrp::new(instances, plan.sync_groups.clone(), at(0.0)).expect("engine");
        vrrp.handle_input(at(0.0), Input::Start);
        for t in [0.1, 1.1] {
            vrrp.handle_input(
                at(t),
                Input::ScriptResult {
                    name: "chk_ok".into(),
                    success: true,
                },
            );
        }
        for _ in 0..1000 {
            match vrrp.poll_timeout() {
                Some(due) if due <= at(secs) => vrrp.handle_timeout(due),
                _ => break,
            }
        }
        vrrp
    }

    fn view<'a>(vrrp: &'a Vrrp, plan: &'a Plan, links: &'a Links, secs: f64) -> DumpView<'a> {
        DumpView {
            vrrp,
            plan,
            links,
            sockets: vec![SocketView {
                interface: "eth0".into(),
                family: Family::V4,
                unicast: false,
                fd: 7,
            }],
            now: at(secs),
            wall_now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_420_415),
        }
    }

    /// The block of `name` in the data dump, one trimmed line each.
    fn instance_block(text: &str, name: &str) -> Vec<String> {
        let start = format!(" VRRP Instance = {name}");
        text.lines()
            .skip_while(|l| *l != start)
            .skip(1)
            .take_while(|l| l.starts_with("   "))
            .map(|l| l.trim().to_string())
            .collect()
    }

    #[test]
    fn data_has_keepalived_sections_in_order() {
        let plan = plan();
        let vrrp = engine(&plan, 10.0);
        let links = Links::default();
        let text = data_text(&view(&vrrp, &plan, &links, 10.0));
        let sections: Vec<&str> = text.lines().filter(|l| l.starts_with("------<")).collect();
        assert_eq!(
            sections,
            [
                "------< Global definitions >------",
                "------< VRRP Topology >------",
                "------< VRRP Sockpool >------",
                "------< VRRP Sync groups >------",
                "------< VRRP Scripts >------",
                "------< Interfaces >------",
            ],
            "{text}"
        );
        assert!(text.contains("\n Router ID = LAB_R1\n"), "{text}");
        assert!(text.contains("\n Gratuitous ARP delay = 2\n"), "{text}");
        assert!(text.contains("\n VRRP Sync Group = G1, MASTER\n"), "{text}");
        assert!(text.contains("\n VRRP Script = chk_ok\n"), "{text}");
        assert!(text.contains("\n   Status = GOOD\n"), "{text}");
    }

    #[test]
    fn a_master_instance_has_keepalived_fields_and_values() {
        let plan = plan();
        let vrrp = engine(&plan, 10.0);
        let links = Links::default();
        let text = data_text(&view(&vrrp, &plan, &links, 10.0));
        let block = instance_block(&text, "VI_1");
        let has = |l: &str| block.iter().any(|b| b == l);
        for line in [
            "VRRP Version = 2",
            "Sync group = G1",
            "State = MASTER",
            "Flags: none",
            "Wantstate = MASTER",
            "Interface = eth0",
            "Using src_ip = 10.0.0.1",
            "Multicast address 224.0.0.18",
            "Gratuitous ARP delay = 2",
            "Gratuitous ARP repeat = 3",
            "Virtual Router ID = 51",
            "Priority = 150",
            "Effective priority = 150",
            "Advert interval = 1 sec",
            "Authentication type = SIMPLE_PASSWORD",
            "Password = secret1",
            "Virtual IP (2):",
            "10.0.0.200/24 dev eth0 scope global set",
            "10.0.0.201/24 dev eth0 scope global label eth0:vip set",
            "Virtual IP Excluded :",
            "fd_in 7, fd_out 7",
            "Virtual Routes :",
            "Virtual Rules :",
            "from 10.0.0.200 priority 16384 tos 0x0 protocol 18 lookup 100",
            "Tracked interfaces :",
            "Tracked scripts :",
            "Notify deleted = Fault",
        ] {
            assert!(has(line), "VI_1 lacks {line:?}:\n{}", block.join("\n"));
        }
        // 3 × 1 s + (256 − 150) / 256 s.
        assert!(has("Master down timer = 3414062 usecs"), "{block:?}");
        let vi2 = instance_block(&text, "VI_2");
        for line in [
            "Flags:",
            "Using unicast",
            "Using src_ip = 10.0.0.1 (from configuration)",
            "Unicast Peer :",
            "10.0.0.2 min_ttl 0 max_ttl 255",
        ] {
            assert!(
                vi2.iter().any(|b| b == line),
                "VI_2 lacks {line:?}: {vi2:?}"
            );
        }
        assert!(!vi2.iter().any(|b| b.starts_with("Multicast address")));
    }

    #[test]
    fn a_v3_backup_shows_the_master_it_hears_in_milliseconds() {
        let plan = plan();
        // VI_3 (priority 90, v3 at 0.5 s) is still BACKUP after 1 s.
        let vrrp = engine(&plan, 1.0);
        let links = Links::default();
        let text = data_text(&view(&vrrp, &plan, &links, 1.0));
        let block = instance_block(&text, "VI_3");
        let has = |l: &str| block.iter().any(|b| b == l);
        assert!(has("State = BACKUP"), "{block:?}");
        assert!(has("Wantstate = BACKUP"), "{block:?}");
        assert!(has("Master priority = 0"), "{block:?}");
        assert!(has("Master advert int = 0.50 sec"), "{block:?}");
        assert!(has("Advert interval = 500 milli-sec"), "{block:?}");
        assert!(has("Master advert interval = 500 milli-sec"), "{block:?}");
        assert!(has("Flags:"), "nopreempt is a flag: {block:?}");
        assert!(has("Preempt = disabled"), "{block:?}");
        assert!(
            block
                .iter()
                .any(|l| l.starts_with("Master state transition script = '")),
            "{block:?}"
        );
        assert!(
            has("10.0.0.220/24 dev eth0 scope global"),
            "not set: {block:?}"
        );
    }

    #[test]
    fn json_has_keepalived_keys() {
        let plan = plan();
        let vrrp = engine(&plan, 10.0);
        let links = Links::default();
        let json = json_value(&view(&vrrp, &plan, &links, 10.0));
        let arr = json.as_array().expect("array");
        assert_eq!(arr.len(), 3);
        let keys = |v: &Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
            k.sort();
            k
        };
        // keepalived 2.2.7's keys for VI_1 (captured from its dump).
        let mut expected: Vec<String> = [
            "iname",
            "dont_track_primary",
            "skip_check_adv_addr",
            "strict_mode",
            "vmac_ifname",
            "ifp_ifname",
            "master_priority",
            "last_transition",
            "garp_delay",
            "garp_refresh",
            "garp_rep",
            "garp_refresh_rep",
            "garp_lower_prio_delay",
            "garp_lower_prio_rep",
            "lower_prio_no_advert",
            "higher_prio_send_advert",
            "vrid",
            "base_priority",
            "effective_priority",
            "vipset",
            "promote_secondaries",
            "adver_int",
            "master_adver_int",
            "accept",
            "nopreempt",
            "preempt_delay",
            "state",
            "wantstate",
            "version",
            "smtp_alert",
            "notify_deleted",
            "vips",
            "evips",
            "vroutes",
            "vrules",
            "track_ifp",
            "track_script",
            "auth_type",
            "auth_data",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        expected.sort();
        assert_eq!(keys(&arr[0]["data"]), expected);
        assert_eq!(keys(&arr[0]["stats"]).len(), 14);
        let d = &arr[0]["data"];
        assert_eq!(d["state"], 2);
        assert_eq!(d["wantstate"], 2);
        assert_eq!(d["vipset"], true);
        assert_eq!(d["adver_int"], 1, "an integer, as keepalived writes it");
        assert_eq!(d["auth_data"], "secret1");
        assert_eq!(d["track_ifp"], json!(["lo"]));
        assert_eq!(
            d["vrules"],
            json!(["from 10.0.0.200 priority 16384 tos 0x0 protocol 18 lookup 100"])
        );
        // Lists and scripts only when configured.
        let vi3 = &arr[2]["data"];
        assert!(vi3.get("evips").is_none());
        assert!(vi3.get("script_master").is_some());
        assert!(vi3.get("auth_data").is_none());
        assert_eq!(vi3["adver_int"], 0.5);
    }
}
