//! USR1 / USR2 / SIGJSON state dumps (reference §1.3), in keepalived's
//! layout where one is documented.

use kalive_vrrp::{InstanceId, State, Vrrp};

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

pub fn data_text(vrrp: &Vrrp) -> String {
    let mut s = String::from("------< VRRP Topology >------\n");
    for i in 0..vrrp.instance_count() {
        let id = InstanceId(i as u32);
        let Some(c) = vrrp.config(id) else {
            continue;
        };
        let state = vrrp.state(id).map_or("UNKNOWN", State::as_str);
        s.push_str(&format!(" VRRP Instance = {}\n", c.name));
        s.push_str(&format!("   State = {state}\n"));
        s.push_str(&format!("   Interface = {}\n", c.interface));
        s.push_str(&format!("   Virtual Router ID = {}\n", c.vrid));
        s.push_str(&format!("   Priority = {}\n", c.priority));
        if let Some(p) = vrrp.effective_priority(id) {
            s.push_str(&format!("   Effective priority = {p}\n"));
        }
        s.push_str(&format!(
            "   Advert interval = {}ms\n",
            c.advert_interval.as_millis()
        ));
        for v in &c.vips {
            s.push_str(&format!(
                "   Virtual IP = {}/{} dev {}\n",
                v.addr, v.prefix_len, v.interface
            ));
        }
    }
    s
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

/// keepalived's numeric states in the JSON dump (vrrp.h).
fn state_code(state: Option<State>) -> u8 {
    match state {
        Some(State::Backup) => 1,
        Some(State::Master) => 2,
        Some(State::Fault) => 3,
        Some(State::Init) | None => 0,
    }
}

/// `/tmp/keepalived.json` in keepalived's shape (vrrp_json.c): an array of
/// `{ "data": {...}, "stats": {...} }` with keepalived's key names.
pub fn json_value(vrrp: &Vrrp) -> serde_json::Value {
    use kalive_vrrp::RxDrop as D;
    let mut arr = Vec::new();
    for i in 0..vrrp.instance_count() {
        let id = InstanceId(i as u32);
        let (Some(c), Some(st)) = (vrrp.config(id), vrrp.stats(id)) else {
            continue;
        };
        let state = vrrp.state(id);
        arr.push(serde_json::json!({
            "data": {
                "iname": c.name,
                "ifp_ifname": c.interface,
                "state": state_code(state),
                "state_name": state.map_or("UNKNOWN", State::as_str),
                "vrid": c.vrid,
                "version": if c.version == kalive_vrrp::Version::V3 { 3 } else { 2 },
                "base_priority": c.priority,
                "effective_priority": vrrp.effective_priority(id),
                "adver_int": c.advert_interval.as_secs_f64(),
                "nopreempt": c.nopreempt,
                "preempt_delay": c.preempt_delay.as_secs_f64(),
                "vips": c.vips.iter().map(|v| format!("{}/{} dev {}", v.addr, v.prefix_len, v.interface)).collect::<Vec<_>>(),
                "evips": c.excluded_vips.iter().map(|v| format!("{}/{} dev {}", v.addr, v.prefix_len, v.interface)).collect::<Vec<_>>(),
                "master_seen": vrrp.master_seen(id).map(|(a, p)| serde_json::json!({"addr": a, "priority": p})),
            },
            "stats": {
                "advert_rcvd": st.advert_rcvd,
                "advert_sent": st.advert_sent,
                "become_master": st.become_master,
                "release_master": st.release_master,
                "packet_len_err": st.drops(D::Length) + st.drops(D::IpLength) + st.drops(D::Malformed),
                "advert_interval_err": st.drops(D::Interval),
                "ip_ttl_err": st.drops(D::Ttl),
                "invalid_type_rcvd": st.drops(D::Type),
                "addr_list_err": st.addr_list_err,
                "invalid_authtype": st.drops(D::InvalidAuthType),
                "authtype_mismatch": st.drops(D::AuthTypeMismatch),
                "auth_failure": st.drops(D::AuthFailure),
                "pri_zero_rcvd": st.pri_zero_rcvd,
                "pri_zero_sent": st.pri_zero_sent,
                "version_err": st.drops(D::Version),
                "checksum_err": st.drops(D::Checksum),
                "total_drops": st.total_drops(),
            },
        }));
    }
    serde_json::Value::Array(arr)
}
