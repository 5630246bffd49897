//! `/tmp/keepalived.json` (SIGRTMIN+2): keepalived 2.2.7's keys
//! (`vrrp/vrrp_json.c`, json_version 1).

use kalive_vrrp::{InstanceId, State};
use serde_json::{json, Map, Value};

use super::{address_text, quoted, route_text, rule_text, version_number, DumpView};

/// keepalived's numeric states in the JSON dump (vrrp.h).
fn state_code(state: State) -> u8 {
    match state {
        State::Init => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
    }
}

/// `/tmp/keepalived.json` (SIGRTMIN+2) in keepalived's shape
/// (`vrrp_json.c`, json_version 1): an array of `{ "data": {...},
/// "stats": {...} }` with its key names; lists and scripts appear only
/// when configured, as keepalived writes them.
pub(in crate::vrrp) fn json_value(view: &DumpView) -> Value {
    let arr = view
        .ids()
        .filter_map(|id| {
            let data = instance_json(view, id)?;
            let stats = stats_json(view.vrrp.stats(id)?);
            Some(json!({ "data": data, "stats": stats }))
        })
        .collect();
    Value::Array(arr)
}

/// A number as keepalived's JSON writer prints it: `1`, not `1.0`.
fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        json!(f as i64)
    } else {
        json!(f)
    }
}

fn instance_json(view: &DumpView, id: InstanceId) -> Option<Value> {
    let vrrp = view.vrrp;
    let c = vrrp.config(id)?;
    let model = view.model(&c.name);
    let state = vrrp.state(id).unwrap_or(State::Init);
    let set = view.vips_set(id);
    let res = view.resources(id);
    let mut d = Map::new();
    let mut put = |k: &str, v: Value| {
        d.insert(k.to_string(), v);
    };
    put("iname", json!(c.name));
    put("dont_track_primary", json!(u8::from(c.dont_track_primary)));
    put(
        "skip_check_adv_addr",
        json!(u8::from(c.skip_check_adv_addr)),
    );
    let strict = model
        .and_then(|m| m.strict_mode)
        .unwrap_or(view.plan.config.global_defs.vrrp_strict);
    put("strict_mode", json!(u8::from(strict)));
    let vmac = res
        .and_then(|r| r.vmac.as_ref())
        .map_or(String::new(), |v| v.name.clone());
    put("vmac_ifname", json!(vmac));
    // The interface adverts leave from (the VMAC where there is one).
    put("ifp_ifname", json!(c.interface));
    // keepalived's master_priority is the priority of the last advert
    // heard from a master; 0 until one arrives.
    put(
        "master_priority",
        json!(vrrp.master_seen(id).map_or(0, |(_, p)| p)),
    );
    // keepalived writes it with six decimals ("%f").
    let last = view.seconds(view.last_transition(id));
    put("last_transition", number((last * 1e6).round() / 1e6));
    let g = &c.garp;
    put("garp_delay", number(g.master_delay.as_secs_f64()));
    put("garp_refresh", json!(g.master_refresh.as_secs()));
    put("garp_rep", json!(g.master_repeat));
    put("garp_refresh_rep", json!(g.master_refresh_repeat));
    put("garp_lower_prio_delay", json!(g.lower_prio_delay.as_secs()));
    put("garp_lower_prio_rep", json!(g.lower_prio_repeat));
    put(
        "lower_prio_no_advert",
        json!(u8::from(c.lower_prio_no_advert)),
    );
    put(
        "higher_prio_send_advert",
        json!(u8::from(c.higher_prio_send_advert)),
    );
    put("vrid", json!(c.vrid));
    put(
        "base_priority",
        json!(vrrp.base_priority(id).unwrap_or(c.priority)),
    );
    put(
        "effective_priority",
        json!(vrrp.effective_priority(id).unwrap_or(c.priority)),
    );
    put("vipset", json!(set));
    put(
        "promote_secondaries",
        json!(model.is_some_and(|m| m.promote_secondaries)),
    );
    put("adver_int", number(c.advert_interval.as_secs_f64()));
    put(
        "master_adver_int",
        number(
            vrrp.master_adver_interval(id)
                .unwrap_or(c.advert_interval)
                .as_secs_f64(),
        ),
    );
    let accept = model.and_then(|m| m.accept).unwrap_or(true) || c.is_owner();
    put("accept", json!(u8::from(accept)));
    put("nopreempt", json!(c.nopreempt));
    put("preempt_delay", json!(c.preempt_delay.as_secs()));
    put("state", json!(state_code(state)));
    put("wantstate", json!(state_code(view.wantstate(id))));
    put("version", json!(version_number(c.version)));
    let smtp = model.and_then(|m| m.smtp_alert).unwrap_or(false);
    put("smtp_alert", json!(smtp));
    put("notify_deleted", json!(c.notify_deleted));
    if let Some(n) = view.notify_scripts(&c.name) {
        for (key, script) in [
            ("script_backup", &n.backup),
            ("script_master", &n.master),
            ("script_fault", &n.fault),
            ("script_stop", &n.stop),
            ("script_deleted", &n.deleted),
            ("script", &n.generic),
            ("script_master_rx_lower_pri", &n.master_rx_lower_pri),
        ] {
            if let Some(script) = script {
                put(key, json!(quoted(script)));
            }
        }
    }
    let list = |items: Vec<String>| Value::Array(items.into_iter().map(Value::String).collect());
    let vips = res.map_or(&[][..], |r| &r.vips[..]);
    if !vips.is_empty() {
        put(
            "vips",
            list(
                vips.iter()
                    .map(|v| address_text(v, &c.interface, set))
                    .collect(),
            ),
        );
    }
    let excluded = res.map_or(&[][..], |r| &r.excluded[..]);
    if !excluded.is_empty() {
        put(
            "evips",
            list(
                excluded
                    .iter()
                    .map(|v| address_text(v, &c.interface, set))
                    .collect(),
            ),
        );
    }
    let routes = res.map_or(&[][..], |r| &r.routes[..]);
    if !routes.is_empty() {
        put("vroutes", list(routes.iter().map(route_text).collect()));
    }
    let rules = res.map_or(&[][..], |r| &r.rules[..]);
    if !rules.is_empty() {
        put("vrules", list(rules.iter().map(rule_text).collect()));
    }
    if !c.track_interfaces.is_empty() {
        put(
            "track_ifp",
            list(
                c.track_interfaces
                    .iter()
                    .map(|t| t.interface.clone())
                    .collect(),
            ),
        );
    }
    if !c.track_scripts.is_empty() {
        // keepalived lists each tracked script's command, not its name.
        let commands = c
            .track_scripts
            .iter()
            .map(|t| {
                view.plan
                    .track_scripts
                    .iter()
                    .find(|s| s.name == t.name)
                    .map_or_else(|| t.name.clone(), |s| quoted(&s.script))
            })
            .collect();
        put("track_script", list(commands));
    }
    match c.authentication {
        kalive_vrrp::Authentication::None => put("auth_type", json!(0)),
        kalive_vrrp::Authentication::Pass(p) => {
            put("auth_type", json!(1));
            let end = p.iter().position(|b| *b == 0).unwrap_or(p.len());
            put("auth_data", json!(String::from_utf8_lossy(&p[..end])));
        }
        kalive_vrrp::Authentication::Ah => put("auth_type", json!(2)),
    }
    Some(Value::Object(d))
}

/// keepalived's `stats` object; kalive's further drop counters are in the
/// stats file's own section, not here (tools compare key sets).
fn stats_json(st: &kalive_vrrp::Stats) -> Value {
    use kalive_vrrp::RxDrop as D;
    json!({
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
    })
}
