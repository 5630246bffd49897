//! LVS side of the parser (owned by helper "config-lvs"): `SSL`,
//! `virtual_server_group`, `virtual_server`, `real_server` and the checkers.
//!
//! The top-level table in [`crate::parse`] includes [`TOP_LEVEL`]; after the
//! whole file is parsed, [`validate`] runs keepalived's
//! `validate_check_config()` checks (reference §1.12 and appendix), and
//! [`check_system`] the checks against the running system.
//!
//! Messages are keepalived 2.2.7's, checked by running Debian's
//! `keepalived -t` on probe configs: keepalived's `-t` fails on any of them,
//! so the wording and the "warn, then default or ignore" effect both matter.
//! Inheritance (virtual server → real server → checker) is resolved when the
//! `virtual_server` block ends, as everything it depends on is known then.

mod checkers;
mod num;
mod validate;

pub use validate::{check_system, validate};

use crate::lexer::Word;
use crate::model::lvs::{
    ForwardingMethod, IpFamily, IpRange, PersistenceGranularity, Protocol, RealServer, Scheduler,
    SorryServer, SslConfig, Tunnel, TunnelChecksum, TunnelKind, VirtualServer, VirtualServerGroup,
    VsAddress, VsgAddressEntry, VsgFwmarkEntry, DEFAULT_PERSISTENCE_TIMEOUT,
};
use crate::model::Config;
use crate::parse::script::notify_script;
use crate::parse::{Ctx, Kw};
use crate::script_check::notify_script_identity;
use crate::source::Span;
use crate::syntax::Stmt;
use checkers::CheckerState;
use num::{read_timer, read_unsigned, Timer, TIMER_MAX, TIMER_MIN, TIMER_UINT_MAX};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::rc::Rc;
use std::time::Duration;

/// keepalived's `IPVS_WEIGHT_LIMIT` (INT_MAX).
const WEIGHT_LIMIT: u64 = i32::MAX as u64;
/// keepalived's `LVS_MAX_TIMEOUT`: 31 days.
const PERSISTENCE_MAX: u64 = 86400 * 31;
/// `IP_VS_PENAME_MAXLEN`: persistence engine names are cut to 15 bytes.
const PE_NAME_MAX: usize = 15;

/// Top-level keywords of the LVS side.
pub const TOP_LEVEL: &[Kw<Config>] = &[
    Kw::new("SSL", 0, ssl_block),
    Kw::new("virtual_server_group", 1, vsg_block),
    Kw::new("virtual_server", 1, vs_block),
];

/// The span keepalived reports for a block's end handler: its `}` line.
fn end_span(stmt: &Stmt) -> &Span {
    stmt.block
        .as_ref()
        .and_then(|b| b.close.as_ref())
        .unwrap_or_else(|| stmt.span())
}

// ---------------------------------------------------------------- SSL

fn ssl_block(ctx: &mut Ctx, config: &mut Config, stmt: &Stmt) {
    if config.lvs.ssl.is_some() {
        ctx.warning(stmt.span(), "SSL context already specified - replacing");
    }
    let mut ssl = SslConfig::default();
    ctx.in_block("SSL", |ctx| {
        ctx.run_block(stmt.children(), SSL_KW, &mut ssl)
    });
    config.lvs.ssl = Some(ssl);
}

const SSL_KW: &[Kw<SslConfig>] = &[
    Kw::new("password", 0, ssl_password),
    Kw::new("ca", 0, ssl_ca),
    Kw::new("certificate", 0, ssl_certificate),
    Kw::new("key", 0, ssl_key),
];

fn ssl_password(ctx: &mut Ctx, s: &mut SslConfig, stmt: &Stmt) {
    ssl_file(ctx, &mut s.password, stmt, "password");
}

fn ssl_ca(ctx: &mut Ctx, s: &mut SslConfig, stmt: &Stmt) {
    ssl_file(ctx, &mut s.ca, stmt, "cafile");
}

fn ssl_certificate(ctx: &mut Ctx, s: &mut SslConfig, stmt: &Stmt) {
    ssl_file(ctx, &mut s.certificate, stmt, "certfile");
}

fn ssl_key(ctx: &mut Ctx, s: &mut SslConfig, stmt: &Stmt) {
    ssl_file(ctx, &mut s.key, stmt, "keyfile");
}

fn ssl_file(ctx: &mut Ctx, slot: &mut Option<String>, stmt: &Stmt, what: &str) {
    let Some(value) = stmt.arg(0) else {
        ctx.warning(stmt.span(), format!("SSL {what} missing"));
        return;
    };
    if slot.is_some() {
        ctx.warning(
            stmt.span(),
            format!("SSL {what} already specified - replacing"),
        );
    }
    *slot = Some(joined_value(stmt, value));
}

/// keepalived's `set_value`: the words after the keyword, space-joined.
fn joined_value(stmt: &Stmt, first: &Word) -> String {
    if stmt.args.len() == 1 {
        return first.text.clone();
    }
    stmt.args
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------- groups

fn vsg_block(ctx: &mut Ctx, config: &mut Config, stmt: &Stmt) {
    let Some(name) = stmt.arg(0) else { return };
    let mut group = VirtualServerGroup {
        name: name.text.clone(),
        span: Some(stmt.span().clone()),
        addresses: Vec::new(),
        fwmarks: Vec::new(),
    };
    let mut fwmark_no_family = false;
    ctx.in_block(format!("virtual_server_group {}", group.name), |ctx| {
        for entry in stmt.children() {
            if ctx.stopped {
                return;
            }
            vsg_entry(ctx, &mut group, &mut fwmark_no_family, entry);
        }
    });
    if ctx.stopped {
        return;
    }
    let end = end_span(stmt);
    if group.addresses.is_empty() && group.fwmarks.is_empty() {
        ctx.warning(
            end,
            format!(
                "virtual server group {} has no entries - removing",
                group.name
            ),
        );
        return;
    }
    let has_v4 = group.has_family(IpFamily::Inet);
    let has_v6 = group.has_family(IpFamily::Inet6);
    if has_v4 && has_v6 && fwmark_no_family {
        ctx.warning(
            end,
            format!(
                "virtual server group {} cannot have IPv4, IPv6 and fwmark without family - removing",
                group.name
            ),
        );
        return;
    }
    config.lvs.virtual_server_groups.push(group);
}

/// One line of a group: `fwmark N [inet|inet6]` or `ADDR[-END|/LEN] [PORT]`.
fn vsg_entry(ctx: &mut Ctx, group: &mut VirtualServerGroup, no_family: &mut bool, entry: &Stmt) {
    let first = &entry.keyword;
    if first.text == "fwmark" {
        let Some(w) = ctx.need_arg(entry, 0) else {
            return;
        };
        let Some(mark) = read_unsigned(ctx, w, 0, u64::from(u32::MAX)) else {
            ctx.warning(
                &w.span,
                format!(
                    "({}): fwmark '{}' must be in [0, {}] - ignoring",
                    group.name,
                    w.text,
                    u32::MAX
                ),
            );
            return;
        };
        let mark = mark as u32;
        let family = match entry.arg(1) {
            None => {
                *no_family = true;
                None
            }
            Some(f) => match IpFamily::parse(&f.text) {
                Some(fam) => Some(fam),
                None => {
                    ctx.warning(
                        &f.span,
                        format!(
                            "({}): fwmark '{mark}' family {} unknown - ignoring",
                            group.name, f.text
                        ),
                    );
                    return;
                }
            },
        };
        group.fwmarks.push(VsgFwmarkEntry { mark, family });
        return;
    }
    let addr_str = first.text.as_str();
    let port_word = entry.arg(0);
    let port = match port_word {
        None => None,
        Some(w) if is_zero_port(&w.text) => None,
        Some(w) => match read_unsigned(ctx, w, 1, 65535) {
            Some(p) => Some(p as u16),
            None => {
                ctx.warning(
                    &first.span,
                    format!(
                        "Invalid virtual server group IP address {addr_str} /port/{} - skipping",
                        w.text
                    ),
                );
                return;
            }
        },
    };
    let base = addr_str.split(['-', '/']).next().unwrap_or(addr_str);
    let Some(start) = parse_addr(base) else {
        let suffix = port_word
            .map(|w| format!("/port/{}", w.text))
            .unwrap_or_default();
        ctx.warning(
            &first.span,
            format!("Invalid virtual server group IP address {addr_str} {suffix} - skipping"),
        );
        return;
    };
    if let Some(range) = vsg_range(ctx, first, start) {
        group.addresses.push(VsgAddressEntry { range, port });
    }
}

/// keepalived treats a port of all zeros as "no port" (since 2.0.7).
fn is_zero_port(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b == b'0')
}

/// An address without scope; `None` if not an IPv4/IPv6 literal.
fn parse_addr(s: &str) -> Option<IpAddr> {
    s.split('%').next().unwrap_or(s).parse().ok()
}

/// The range a group line's address covers (`alloc_vsg_entry`).
fn vsg_range(ctx: &mut Ctx, word: &Word, start: IpAddr) -> Option<IpRange> {
    let text = word.text.as_str();
    if let Some((_, mask)) = text.split_once('/') {
        return cidr_range(ctx, word, start, mask);
    }
    let Some((_, end)) = text.split_once('-') else {
        return Some(IpRange::single(start));
    };
    let full_end = match start {
        IpAddr::V4(_) => end.contains('.'),
        IpAddr::V6(_) => end.contains(':'),
    };
    if full_end {
        return long_range(ctx, word, start, end);
    }
    short_range(ctx, word, start, end)
}

fn cidr_range(ctx: &mut Ctx, word: &Word, start: IpAddr, mask: &str) -> Option<IpRange> {
    let max = if start.is_ipv4() { 32 } else { 128 };
    let len = match mask.parse::<u32>() {
        Ok(l) if l > 0 && l <= max => l,
        _ => {
            ctx.warning(
                &word.span,
                format!("Invalid netmask - {} - skipping", word.text),
            );
            return None;
        }
    };
    let (first, last) = match start {
        IpAddr::V4(a) => {
            let host = u32::MAX.checked_shr(len).unwrap_or(0);
            let v = u32::from(a);
            if v & host != 0 {
                None
            } else {
                Some((start, IpAddr::V4(Ipv4Addr::from(v | host))))
            }
        }
        IpAddr::V6(a) => {
            let host = u128::MAX.checked_shr(len).unwrap_or(0);
            let v = u128::from(a);
            if v & host != 0 {
                None
            } else {
                Some((start, IpAddr::V6(Ipv6Addr::from(v | host))))
            }
        }
    }
    .or_else(|| {
        ctx.warning(
            &word.span,
            format!("Address mask bits not empty - {} - skipping", word.text),
        );
        None
    })?;
    Some(IpRange { first, last })
}

fn long_range(ctx: &mut Ctx, word: &Word, start: IpAddr, end: &str) -> Option<IpRange> {
    let Some(last) = parse_addr(end) else {
        ctx.warning(
            &word.span,
            format!("Invalid range end {} - skipping", word.text),
        );
        return None;
    };
    if start.is_ipv4() != last.is_ipv4() {
        ctx.warning(
            &word.span,
            format!(
                "Range address families do not match {} - skipping",
                word.text
            ),
        );
        return None;
    }
    if last < start {
        ctx.warning(
            &word.span,
            format!(
                "Address range end is less than address range start - {} - skipping",
                word.text
            ),
        );
        return None;
    }
    Some(IpRange { first: start, last })
}

/// `a.b.c.d-e` (decimal last octet) or `x::y-z` (hex last group).
fn short_range(ctx: &mut Ctx, word: &Word, start: IpAddr, end: &str) -> Option<IpRange> {
    let (radix, max) = match start {
        IpAddr::V4(_) => (10, 0xff),
        IpAddr::V6(_) => (16, 0xffff),
    };
    let digits = end.chars().take_while(|c| c.is_digit(radix)).count();
    let (num, junk) = end.split_at(digits);
    if !junk.is_empty() {
        ctx.warning(
            &word.span,
            format!(
                "Virtual server group range '{}' has extra characters at end '{junk}'",
                word.text
            ),
        );
        return None;
    }
    let value = match u32::from_str_radix(num, radix) {
        Ok(v) if v <= max => v,
        _ => {
            ctx.warning(
                &word.span,
                format!(
                    "Virtual server group range '{}' end '{end}' too large",
                    word.text
                ),
            );
            return None;
        }
    };
    let (first_low, last) = match start {
        IpAddr::V4(a) => {
            let v = u32::from(a);
            (v & 0xff, IpAddr::V4(Ipv4Addr::from((v & !0xff) | value)))
        }
        IpAddr::V6(a) => {
            let v = u128::from(a);
            (
                (v & 0xffff) as u32,
                IpAddr::V6(Ipv6Addr::from((v & !0xffff) | u128::from(value))),
            )
        }
    };
    if first_low >= value {
        ctx.warning(
            &word.span,
            format!(
                "Address range end is not greater than address range start - {} - skipping",
                word.text
            ),
        );
        return None;
    }
    Some(IpRange { first: start, last })
}

// ---------------------------------------------------------------- virtual_server

/// A virtual server while its block is parsed.
pub(crate) struct VsState {
    pub(crate) vs: VirtualServer,
    /// Real servers with what their block set explicitly.
    pub(crate) rss: Vec<RsState>,
    pub(crate) sched: Option<Scheduler>,
    /// `track_file` blocks defined so far (keepalived resolves FILE_CHECK's
    /// `track_file` while parsing): name, weight, reverse.
    pub(crate) track_files: Vec<(String, i32, bool)>,
    /// `bfd_instance` names defined so far.
    pub(crate) bfds: Vec<String>,
    /// The global settings so far (`script_user`, `enable_script_security`),
    /// for the default script user keepalived sets while parsing.
    pub(crate) globals: Rc<Config>,
}

impl VsState {
    /// keepalived prints `vs->vsgname` in some messages, `(null)` for
    /// virtual servers that are not groups.
    fn group_label(&self) -> String {
        match &self.vs.address {
            VsAddress::Group { name } => name.clone(),
            _ => "(null)".to_string(),
        }
    }
}

/// A real server while its block is parsed: explicit settings only; the
/// inherited ones are filled in when the virtual server ends.
pub(crate) struct RsState {
    pub(crate) rs: RealServer,
    weight: Option<u32>,
    alpha: Option<bool>,
    inhibit: Option<bool>,
    connect_timeout: Option<Duration>,
    delay_loop: Option<Duration>,
    retry: Option<u32>,
    delay_before_retry: Option<Duration>,
    warmup: Option<Duration>,
    pub(crate) checkers: Vec<CheckerState>,
    /// `[ip]:proto:port` as keepalived's FMT_RS prints it in checker messages.
    pub(crate) label: String,
    /// Snapshot of the parent's lookup data for the checkers.
    pub(crate) track_files: Vec<(String, i32, bool)>,
    pub(crate) bfds: Vec<String>,
    group_label: String,
    pub(crate) globals: Rc<Config>,
}

fn vs_block(ctx: &mut Ctx, config: &mut Config, stmt: &Stmt) {
    let Some(address) = vs_address(ctx, stmt) else {
        return;
    };
    let mut vs = VirtualServer::new(address);
    vs.span = Some(stmt.span().clone());
    let mut st = VsState {
        vs,
        rss: Vec::new(),
        sched: None,
        track_files: config
            .track_files
            .iter()
            .map(|t| (t.name.clone(), t.weight, t.weight_reverse))
            .collect(),
        bfds: config
            .bfd_instances
            .iter()
            .map(|b| b.name.clone())
            .collect(),
        globals: Rc::new(Config {
            global_defs: config.global_defs.clone(),
            ..Config::default()
        }),
    };
    let label = || format!("virtual_server {}", vs_words(stmt));
    ctx.in_block(label, |ctx| ctx.run_block(stmt.children(), VS_KW, &mut st));
    if ctx.stopped {
        return;
    }
    let end = end_span(stmt).clone();
    config.lvs.virtual_servers.push(finish_vs(ctx, st, &end));
}

fn vs_words(stmt: &Stmt) -> String {
    stmt.args
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `IP [PORT]`, `fwmark N` or `group NAME` (`alloc_vs`).
fn vs_address(ctx: &mut Ctx, stmt: &Stmt) -> Option<VsAddress> {
    let first = stmt.arg(0)?;
    match first.text.as_str() {
        "group" => {
            let name = ctx.need_arg(stmt, 1)?;
            Some(VsAddress::Group {
                name: name.text.clone(),
            })
        }
        "fwmark" => {
            let w = ctx.need_arg(stmt, 1)?;
            match read_unsigned(ctx, w, 0, u64::from(u32::MAX)) {
                Some(mark) => Some(VsAddress::Fwmark { mark: mark as u32 }),
                None => {
                    ctx.warning(
                        &w.span,
                        format!(
                            "virtual server fwmark '{}' must be in [0, {}] - ignoring",
                            w.text,
                            u32::MAX
                        ),
                    );
                    None
                }
            }
        }
        _ => {
            let (addr, port) = addr_port(ctx, first, stmt.arg(1));
            match addr {
                Some(addr) if port.is_ok() => Some(VsAddress::Ip {
                    addr,
                    port: port.ok().flatten(),
                }),
                _ => {
                    let msg = match stmt.arg(1).filter(|w| !is_zero_port(&w.text)) {
                        Some(p) => format!(
                            "Invalid virtual server IP address/port {}/{} - skipping",
                            first.text, p.text
                        ),
                        None => format!(
                            "Invalid virtual server IP address {} - skipping",
                            first.text
                        ),
                    };
                    ctx.warning(&first.span, msg);
                    None
                }
            }
        }
    }
}

/// `IP [PORT]` as keepalived's `inet_stosockaddr`: a zero port is no port.
/// The port is `Err` when given and invalid (already reported).
fn addr_port(
    ctx: &mut Ctx,
    ip: &Word,
    port: Option<&Word>,
) -> (Option<IpAddr>, Result<Option<u16>, ()>) {
    let port = match port {
        None => Ok(None),
        Some(w) if is_zero_port(&w.text) => Ok(None),
        Some(w) => read_unsigned(ctx, w, 1, 65535)
            .map(|p| Some(p as u16))
            .ok_or(()),
    };
    (parse_addr(&ip.text), port)
}

type VsHandler = fn(&mut Ctx, &mut VsState, &Stmt);

const VS_KW: &[Kw<VsState>] = &[
    Kw::new("ip_family", 1, vs_ip_family as VsHandler),
    Kw::new("retry", 1, vs_retry),
    Kw::new("delay_before_retry", 1, vs_delay_before_retry),
    Kw::new("warmup", 1, vs_warmup),
    Kw::new("connect_timeout", 1, vs_connect_timeout),
    Kw::new("delay_loop", 1, vs_delay_loop),
    Kw::new("inhibit_on_failure", 0, vs_inhibit),
    Kw::new("lb_algo", 1, vs_scheduler),
    Kw::new("lvs_sched", 1, vs_scheduler),
    Kw::new("hashed", 0, vs_flag),
    Kw::new("ops", 0, vs_flag),
    Kw::new("flag-1", 0, vs_flag),
    Kw::new("flag-2", 0, vs_flag),
    Kw::new("flag-3", 0, vs_flag),
    Kw::new("sh-port", 0, vs_flag),
    Kw::new("sh-fallback", 0, vs_flag),
    Kw::new("mh-port", 0, vs_flag),
    Kw::new("mh-fallback", 0, vs_flag),
    Kw::new("lb_kind", 1, vs_method),
    Kw::new("lvs_method", 1, vs_method),
    Kw::new("persistence_engine", 1, vs_persistence_engine),
    Kw::new("persistence_timeout", 0, vs_persistence_timeout),
    Kw::new("persistence_granularity", 1, vs_persistence_granularity),
    Kw::new("protocol", 1, vs_protocol),
    Kw::new("ha_suspend", 0, vs_ha_suspend),
    Kw::new("smtp_alert", 0, vs_smtp_alert),
    Kw::new("virtualhost", 0, vs_virtualhost),
    Kw::new("snmp_name", 0, vs_snmp_name),
    Kw::new("alpha", 0, vs_alpha),
    Kw::new("omega", 0, vs_omega),
    Kw::new("quorum_up", 1, vs_quorum_up),
    Kw::new("quorum_down", 1, vs_quorum_down),
    Kw::new("quorum", 1, vs_quorum),
    Kw::new("hysteresis", 1, vs_hysteresis),
    Kw::new("weight", 1, vs_weight),
    Kw::new("sorry_server", 1, vs_sorry_server),
    Kw::new("sorry_server_inhibit", 0, vs_sorry_inhibit),
    Kw::new("sorry_server_lvs_method", 0, vs_sorry_method),
    Kw::new("real_server", 1, rs_block),
];

fn vs_inhibit(_ctx: &mut Ctx, st: &mut VsState, _stmt: &Stmt) {
    st.vs.inhibit_on_failure = true;
}

fn vs_ha_suspend(_ctx: &mut Ctx, st: &mut VsState, _stmt: &Stmt) {
    st.vs.ha_suspend = true;
}

fn vs_alpha(_ctx: &mut Ctx, st: &mut VsState, _stmt: &Stmt) {
    st.vs.alpha = true;
}

fn vs_omega(_ctx: &mut Ctx, st: &mut VsState, _stmt: &Stmt) {
    st.vs.omega = true;
}

fn vs_ip_family(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    let Some(family) = IpFamily::parse(&w.text) else {
        ctx.warning(&w.span, format!("unknown address family {}", w.text));
        return;
    };
    if st.vs.family.is_some_and(|f| f != family) {
        ctx.warning(
            &w.span,
            format!(
                "Virtual server specified family {} conflicts with server family",
                w.text
            ),
        );
        return;
    }
    st.vs.family = Some(family);
}

fn vs_retry(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    match read_unsigned(ctx, w, 1, u64::from(u32::MAX)) {
        Some(v) => st.vs.retry = Some(v as u32),
        None => ctx.warning(&w.span, format!("retry value invalid - {}", w.text)),
    }
}

/// A timer keyword; `msg` (with `{}` for the word) follows a bad value when
/// keepalived's handler reports one.
fn timer_kw(
    ctx: &mut Ctx,
    stmt: &Stmt,
    min: Duration,
    max: Duration,
    msg: Option<&str>,
) -> Option<Duration> {
    let w = stmt.arg(0)?;
    match read_timer(ctx, w, min, max) {
        Timer::Ok(d) => Some(d),
        Timer::Bad => {
            if let Some(m) = msg {
                ctx.warning(&w.span, m.replace("{}", &w.text));
            }
            None
        }
    }
}

fn vs_delay_before_retry(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let msg = "virtual server delay before retry '{}' invalid - ignoring";
    if let Some(d) = timer_kw(ctx, stmt, Duration::ZERO, TIMER_MAX, Some(msg)) {
        st.vs.delay_before_retry = Some(d);
    }
}

fn vs_warmup(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let msg = "virtual server warmup '{}' invalid - ignoring";
    if let Some(d) = timer_kw(ctx, stmt, Duration::ZERO, TIMER_MAX, Some(msg)) {
        st.vs.warmup = Some(d);
    }
}

fn vs_connect_timeout(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let msg = "virtual server connect_timeout {} invalid - ignoring";
    if let Some(d) = timer_kw(ctx, stmt, TIMER_MIN, TIMER_UINT_MAX, Some(msg)) {
        st.vs.connect_timeout = d;
    }
}

fn vs_delay_loop(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let msg = "virtual server delay loop '{}' invalid - ignoring";
    if let Some(d) = timer_kw(ctx, stmt, TIMER_MIN, TIMER_MAX, Some(msg)) {
        st.vs.delay_loop = d;
    }
}

fn vs_scheduler(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    match Scheduler::parse(&w.text) {
        Some(s) => {
            st.vs.scheduler = s;
            st.sched = Some(s);
            st.vs.explicit.scheduler = true;
        }
        None => ctx.warning(
            &w.span,
            format!("Invalid lvs_scheduler '{}' - ignoring", w.text),
        ),
    }
}

/// Scheduler flags are keywords of their own; `sh-*`/`mh-*` depend on the
/// scheduler set *so far* (keepalived's `lbflags_handler`).
fn vs_flag(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let kw = stmt.keyword.text.as_str();
    let f = &mut st.vs.flags;
    match kw {
        "ops" => f.one_packet = true,
        "flag-1" => f.flag_1 = true,
        "flag-2" => f.flag_2 = true,
        "flag-3" => f.flag_3 = true,
        _ => match st.sched {
            Some(Scheduler::Sh) => match kw {
                "sh-port" => f.sh_port = true,
                "sh-fallback" => f.sh_fallback = true,
                _ => {}
            },
            Some(Scheduler::Mh) => match kw {
                "mh-port" => f.mh_port = true,
                "mh-fallback" => f.mh_fallback = true,
                _ => {}
            },
            _ => ctx.warning(
                stmt.span(),
                format!("{kw} only applies to sh scheduler - ignoring"),
            ),
        },
    }
}

fn vs_method(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let current = st.vs.method;
    if let Some(m) = forwarding_method(ctx, stmt, current, "virtual") {
        st.vs.method = m;
        st.vs.explicit.method = true;
    }
}

/// `NAT | DR | TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]`
/// (`svr_forwarding_handler`). When the tunnel options are bad keepalived
/// has already switched to TUN but keeps the previous tunnel settings.
fn forwarding_method(
    ctx: &mut Ctx,
    stmt: &Stmt,
    current: ForwardingMethod,
    who: &str,
) -> Option<ForwardingMethod> {
    let w = stmt.arg(0)?;
    let previous_tunnel = match current {
        ForwardingMethod::Tun(t) => t,
        _ => Tunnel::default(),
    };
    match w.text.as_str() {
        "NAT" => return Some(ForwardingMethod::Nat),
        "DR" => return Some(ForwardingMethod::Dr),
        "TUN" => {}
        other => {
            ctx.warning(
                &w.span,
                format!("PARSER : unknown [{other}] routing method for {who} server."),
            );
            return None;
        }
    }
    let fallback = Some(ForwardingMethod::Tun(previous_tunnel));
    let mut kind = "ipip";
    let mut port: u64 = 0;
    let mut checksum = TunnelChecksum::NoCsum;
    let mut i = 1;
    while let Some(opt) = stmt.arg(i) {
        match opt.text.as_str() {
            "type" => {
                let Some(t) = stmt.arg(i + 1) else {
                    ctx.warning(&opt.span, format!("Missing tunnel type for {who} server."));
                    return fallback;
                };
                kind = match t.text.as_str() {
                    "ipip" => "ipip",
                    "gue" => "gue",
                    "gre" => "gre",
                    other => {
                        ctx.warning(
                            &t.span,
                            format!("Unknown tunnel type {other} for {who} server."),
                        );
                        return fallback;
                    }
                };
                i += 1;
            }
            "port" => {
                let Some(p) = stmt.arg(i + 1) else {
                    ctx.warning(
                        &opt.span,
                        format!("Missing port for {who} server gue tunnel."),
                    );
                    return fallback;
                };
                match read_unsigned(ctx, p, 1, 65535) {
                    Some(v) => port = v,
                    None => {
                        ctx.warning(
                            &p.span,
                            format!("Invalid gue tunnel port {} for {who} server.", p.text),
                        );
                        return fallback;
                    }
                }
                i += 1;
            }
            "nocsum" => checksum = TunnelChecksum::NoCsum,
            "csum" => checksum = TunnelChecksum::Csum,
            "remcsum" => checksum = TunnelChecksum::RemCsum,
            other => {
                ctx.warning(
                    &opt.span,
                    format!("Invalid tunnel option {other} for {who} server."),
                );
                return fallback;
            }
        }
        i += 1;
    }
    if (kind == "gue") != (port != 0) {
        ctx.warning(
            stmt.span(),
            "gue tunnels require port, otherwise cannot have port.",
        );
        return fallback;
    }
    if kind == "ipip" && checksum != TunnelChecksum::NoCsum {
        ctx.warning(stmt.span(), "ipip tunnels do not support checksum option.");
        return fallback;
    }
    if kind == "gre" && checksum == TunnelChecksum::RemCsum {
        ctx.warning(
            stmt.span(),
            "gre tunnels do not support remote checksum option.",
        );
        return fallback;
    }
    let kind = match kind {
        "gue" => TunnelKind::Gue { port: port as u16 },
        "gre" => TunnelKind::Gre,
        _ => TunnelKind::Ipip,
    };
    Some(ForwardingMethod::Tun(Tunnel { kind, checksum }))
}

fn vs_persistence_engine(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    let mut name = w.text.clone();
    if name.len() > PE_NAME_MAX {
        ctx.warning(
            &w.span,
            format!("persistence_name too long, truncating - {}", w.text),
        );
        let mut cut = PE_NAME_MAX;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
    }
    st.vs.persistence_engine = Some(name);
}

fn vs_persistence_timeout(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else {
        st.vs.persistence_timeout = Some(DEFAULT_PERSISTENCE_TIMEOUT);
        return;
    };
    match read_unsigned(ctx, w, 1, PERSISTENCE_MAX) {
        Some(v) => st.vs.persistence_timeout = Some(Duration::from_secs(v)),
        None => ctx.warning(&w.span, "persistence_timeout invalid"),
    }
}

fn vs_persistence_granularity(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    let family = st.vs.family.unwrap_or(if w.text.contains('.') {
        IpFamily::Inet
    } else {
        IpFamily::Inet6
    });
    let granularity = match family {
        IpFamily::Inet6 => match read_unsigned(ctx, w, 1, 128) {
            Some(v) => PersistenceGranularity::V6Prefix(v as u8),
            None => {
                ctx.warning(
                    &w.span,
                    format!(
                        "Invalid IPv6 persistence_granularity specified - {}",
                        w.text
                    ),
                );
                return;
            }
        },
        IpFamily::Inet => match inet_aton(&w.text) {
            Some(mask) => PersistenceGranularity::V4Mask(mask),
            None => {
                ctx.warning(
                    &w.span,
                    format!(
                        "Invalid IPv4 persistence_granularity specified - {}",
                        w.text
                    ),
                );
                return;
            }
        },
    };
    st.vs.persistence_granularity = Some(granularity);
    st.vs.family.get_or_insert(family);
    st.vs
        .persistence_timeout
        .get_or_insert(DEFAULT_PERSISTENCE_TIMEOUT);
}

/// The C library's `inet_aton` forms (what keepalived's numeric
/// `getaddrinfo` accepts): 1 to 4 parts, each decimal, `0x` hex or `0`
/// octal, the last part filling the remaining bytes (`0`, `1.2`, `0x10.1`).
fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<u64> = s.split('.').map(c_number).collect::<Option<_>>()?;
    let (last, head) = parts.split_last()?;
    if head.len() > 3 || head.iter().any(|p| *p > 0xff) {
        return None;
    }
    let last_bits = 8 * (4 - head.len() as u32);
    if last_bits < 64 && *last >= 1u64 << last_bits {
        return None;
    }
    let value = head
        .iter()
        .enumerate()
        .fold(*last, |acc, (i, p)| acc | (p << (24 - 8 * i as u32)));
    u32::try_from(value).ok().map(Ipv4Addr::from)
}

/// strtoul base 0 over a whole word: `0x..` hex, `0..` octal, decimal.
fn c_number(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok();
    }
    if s.len() > 1 && s.starts_with('0') {
        return u64::from_str_radix(&s[1..], 8).ok();
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn vs_protocol(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    match Protocol::parse(&w.text) {
        Some(p) => st.vs.protocol = Some(p),
        None => ctx.warning(&w.span, format!("Unknown protocol {} - ignoring", w.text)),
    }
}

/// An optional `<BOOL>` after a flag keyword; `None` when invalid (reported
/// with keepalived's per-keyword `msg`, `{}` standing for the word).
pub(crate) fn opt_bool(ctx: &mut Ctx, stmt: &Stmt, msg: &str) -> Option<bool> {
    let Some(w) = stmt.arg(0) else {
        return Some(true);
    };
    match crate::parse::values::parse_bool(&w.text) {
        Some(b) => Some(b),
        None => {
            ctx.warning(&w.span, msg.replace("{}", &w.text));
            None
        }
    }
}

fn vs_smtp_alert(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    if let Some(b) = opt_bool(ctx, stmt, "Invalid virtual_server smtp_alert parameter {}") {
        st.vs.smtp_alert = Some(b);
    }
}

fn vs_virtualhost(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    match stmt.arg(0) {
        Some(w) => st.vs.virtualhost = Some(joined_value(stmt, w)),
        None => ctx.warning(stmt.span(), "virtual server virtualhost missing"),
    }
}

fn vs_snmp_name(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    match stmt.args.as_slice() {
        [w] => st.vs.snmp_name = Some(w.text.clone()),
        _ => ctx.warning(
            stmt.span(),
            "virtual server snmp_name missing or extra parameters",
        ),
    }
}

fn vs_quorum_up(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let label = st.group_label();
    let globals = st.globals.clone();
    set_script(ctx, &mut st.vs.quorum_up, stmt, &label, &globals);
}

fn vs_quorum_down(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let label = st.group_label();
    let globals = st.globals.clone();
    set_script(ctx, &mut st.vs.quorum_down, stmt, &label, &globals);
}

/// notify_up/notify_down/quorum_up/quorum_down: the first one wins.
fn set_script(
    ctx: &mut Ctx,
    slot: &mut Option<crate::model::vrrp::Script>,
    stmt: &Stmt,
    group_label: &str,
    globals: &Config,
) {
    let kw = &stmt.keyword.text;
    if slot.is_some() {
        let what = stmt.arg(0).map(|w| w.text.as_str()).unwrap_or("");
        ctx.warning(
            stmt.span(),
            format!("({group_label}) {kw} script already specified - ignoring {what}"),
        );
        return;
    }
    let Some(mut script) = notify_script(ctx, stmt) else {
        return;
    };
    // Its own user, else the default script user; when that cannot be set
    // keepalived logs it and drops the script (`notify_script_init`).
    let security = globals.global_defs.enable_script_security;
    script.run_as = notify_script_identity(ctx, security, &script, "notify");
    if script.run_as.is_none() {
        return;
    }
    *slot = Some(script);
}

fn vs_quorum(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    st.vs.quorum = match read_unsigned(ctx, w, 1, u64::from(u32::MAX)) {
        Some(v) => v as u32,
        None => {
            ctx.warning(
                &w.span,
                format!(
                    "Quorum {} must be in [1, {}]. Setting to 1.",
                    w.text,
                    u32::MAX
                ),
            );
            1
        }
    };
}

fn vs_hysteresis(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    match read_unsigned(ctx, w, 0, u64::from(u32::MAX)) {
        Some(v) => st.vs.hysteresis = v as u32,
        None => ctx.warning(
            &w.span,
            format!(
                "Hysteresis {} must be in [0, {}] - ignoring",
                w.text,
                u32::MAX
            ),
        ),
    }
}

fn vs_weight(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    match read_unsigned(ctx, w, 1, WEIGHT_LIMIT) {
        Some(v) => st.vs.weight = v as u32,
        None => ctx.warning(
            &w.span,
            format!(
                "Virtual server weight {} is outside range 1-{WEIGHT_LIMIT}",
                w.text
            ),
        ),
    }
}

fn vs_sorry_server(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let Some(ip) = stmt.arg(0) else { return };
    let (addr, port) = addr_port(ctx, ip, stmt.arg(1));
    let (Some(addr), Ok(port)) = (addr, port) else {
        ctx.warning(
            &ip.span,
            format!("Invalid sorry server IP address {} - skipping", ip.text),
        );
        return;
    };
    st.vs.sorry_server = Some(SorryServer {
        addr,
        method_set: st.vs.explicit.method,
        port,
        inhibit: false,
        method: st.vs.method,
    });
}

fn vs_sorry_inhibit(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    match st.vs.sorry_server.as_mut() {
        Some(s) => s.inhibit = true,
        None => ctx.warning(
            stmt.span(),
            "Ignoring sorry_server inhibit used before or without sorry_server",
        ),
    }
}

fn vs_sorry_method(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let Some(sorry) = st.vs.sorry_server.as_mut() else {
        ctx.warning(
            stmt.span(),
            "sorry_server forwarding used without sorry_server",
        );
        return;
    };
    if ctx.need_arg(stmt, 0).is_none() {
        return;
    }
    if let Some(m) = forwarding_method(ctx, stmt, sorry.method, "sorry") {
        sorry.method = m;
        sorry.method_set = true;
    }
}

/// keepalived's `inet_sockaddrtotrio`: `[ip]:proto:port`.
pub(crate) fn fmt_trio(addr: &IpAddr, proto: Option<Protocol>, port: Option<u16>) -> String {
    let proto = proto.map(Protocol::lower).unwrap_or("none");
    format!("[{addr}]:{proto}:{}", port.unwrap_or(0))
}

// ---------------------------------------------------------------- real_server

fn rs_block(ctx: &mut Ctx, st: &mut VsState, stmt: &Stmt) {
    let Some(ip) = stmt.arg(0) else { return };
    let (addr, port) = addr_port(ctx, ip, stmt.arg(1));
    let (Some(addr), Ok(port)) = (addr, port) else {
        let port_text = stmt.arg(1).map(|w| w.text.as_str()).unwrap_or("(null)");
        ctx.warning(
            &ip.span,
            format!(
                "Invalid real server ip address/port {}/{port_text} - skipping",
                ip.text
            ),
        );
        return;
    };
    let mut rs = RealServer::new(addr, port, &st.vs);
    rs.span = Some(stmt.span().clone());
    // keepalived copies the virtual server's method when the real server is
    // allocated; if none was set yet, validation decides later.
    rs.method_set = st.vs.explicit.method;
    let mut rst = RsState {
        label: fmt_trio(&addr, st.vs.protocol, port),
        rs,
        weight: None,
        alpha: None,
        inhibit: None,
        connect_timeout: None,
        delay_loop: None,
        retry: None,
        delay_before_retry: None,
        warmup: None,
        checkers: Vec::new(),
        track_files: st.track_files.clone(),
        bfds: st.bfds.clone(),
        group_label: st.group_label(),
        globals: st.globals.clone(),
    };
    let label = || format!("real_server {}", vs_words(stmt));
    ctx.in_block(label, |ctx| ctx.run_block(stmt.children(), RS_KW, &mut rst));
    if ctx.stopped {
        return;
    }
    rs_end(ctx, st, rst, end_span(stmt));
}

/// keepalived's `rs_end_handler`: non-tunnelled real servers must share the
/// virtual server's family; the first one decides it for fwmark services.
fn rs_end(ctx: &mut Ctx, st: &mut VsState, rst: RsState, end: &Span) {
    if !rst.rs.method.is_tunnel() {
        let family = IpFamily::of(&rst.rs.addr);
        match st.vs.family {
            None => st.vs.family = Some(family),
            Some(f) if f != family => {
                ctx.warning(
                    end,
                    format!(
                        "Address family of virtual server and real server {} don't match - skipping real server.",
                        rst.rs.addr
                    ),
                );
                st.vs
                    .dropped_misc_scripts
                    .extend(rst.checkers.iter().filter_map(|c| c.misc_script()).cloned());
                return;
            }
            Some(_) => {}
        }
    }
    st.rss.push(rst);
}

type RsHandler = fn(&mut Ctx, &mut RsState, &Stmt);

const RS_KW: &[Kw<RsState>] = &[
    Kw::new("weight", 1, rs_weight as RsHandler),
    Kw::new("lvs_method", 1, rs_method),
    Kw::new("uthreshold", 1, rs_uthreshold),
    Kw::new("lthreshold", 1, rs_lthreshold),
    Kw::new("inhibit_on_failure", 0, rs_inhibit),
    Kw::new("notify_up", 1, rs_notify_up),
    Kw::new("notify_down", 1, rs_notify_down),
    Kw::new("alpha", 0, rs_alpha),
    Kw::new("retry", 1, rs_retry),
    Kw::new("delay_before_retry", 1, rs_delay_before_retry),
    Kw::new("warmup", 1, rs_warmup),
    Kw::new("connect_timeout", 1, rs_connect_timeout),
    Kw::new("delay_loop", 1, rs_delay_loop),
    Kw::new("smtp_alert", 0, rs_smtp_alert),
    Kw::new("virtualhost", 0, rs_virtualhost),
    Kw::new("snmp_name", 0, rs_snmp_name),
    Kw::new("HTTP_GET", 0, checkers::http_get),
    Kw::new("SSL_GET", 0, checkers::ssl_get),
    Kw::new("TCP_CHECK", 0, checkers::tcp_check),
    Kw::new("SMTP_CHECK", 0, checkers::smtp_check),
    Kw::new("DNS_CHECK", 0, checkers::dns_check),
    Kw::new("MISC_CHECK", 0, checkers::misc_check),
    Kw::new("UDP_CHECK", 0, checkers::udp_check),
    Kw::new("PING_CHECK", 0, checkers::ping_check),
    Kw::new("FILE_CHECK", 0, checkers::file_check),
    Kw::new("BFD_CHECK", 0, checkers::bfd_check),
];

fn rs_weight(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    match read_unsigned(ctx, w, 0, WEIGHT_LIMIT) {
        Some(v) => r.weight = Some(v as u32),
        None => ctx.warning(
            &w.span,
            format!(
                "Real server weight {} is outside range 0-{WEIGHT_LIMIT}",
                w.text
            ),
        ),
    }
}

fn rs_method(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    if let Some(m) = forwarding_method(ctx, stmt, r.rs.method, "real") {
        r.rs.method = m;
        r.rs.method_set = true;
    }
}

fn rs_uthreshold(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    rs_threshold(ctx, &mut r.rs.uthreshold, stmt, "uthreshold");
}

fn rs_lthreshold(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    rs_threshold(ctx, &mut r.rs.lthreshold, stmt, "lthreshold");
}

fn rs_threshold(ctx: &mut Ctx, slot: &mut u32, stmt: &Stmt, what: &str) {
    let Some(w) = stmt.arg(0) else { return };
    match read_unsigned(ctx, w, 0, u64::from(u32::MAX)) {
        Some(v) => *slot = v as u32,
        None => ctx.warning(
            &w.span,
            format!("Invalid real_server {what} '{}' - ignoring", w.text),
        ),
    }
}

fn rs_inhibit(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    if let Some(b) = opt_bool(ctx, stmt, "Invalid inhibit_on_failure parameter {}") {
        r.inhibit = Some(b);
    }
}

fn rs_alpha(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    if let Some(b) = opt_bool(ctx, stmt, "Invalid alpha parameter {}") {
        r.alpha = Some(b);
    }
}

fn rs_smtp_alert(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    if let Some(b) = opt_bool(ctx, stmt, "Invalid real_server smtp_alert parameter {}") {
        r.rs.smtp_alert = Some(b);
    }
}

fn rs_notify_up(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    let globals = r.globals.clone();
    set_script(ctx, &mut r.rs.notify_up, stmt, &r.group_label, &globals);
}

fn rs_notify_down(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    let globals = r.globals.clone();
    set_script(ctx, &mut r.rs.notify_down, stmt, &r.group_label, &globals);
}

fn rs_retry(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    match read_unsigned(ctx, w, 1, u64::from(u32::MAX)) {
        Some(v) => r.retry = Some(v as u32),
        None => ctx.warning(&w.span, format!("retry value invalid - {}", w.text)),
    }
}

fn rs_delay_before_retry(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    let msg = "real server delay_before_retry '{}' invalid - ignoring";
    if let Some(d) = timer_kw(ctx, stmt, Duration::ZERO, TIMER_MAX, Some(msg)) {
        r.delay_before_retry = Some(d);
    }
}

fn rs_warmup(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    let msg = "real server warmup '{}' invalid - ignoring";
    if let Some(d) = timer_kw(ctx, stmt, Duration::ZERO, TIMER_MAX, Some(msg)) {
        r.warmup = Some(d);
    }
}

fn rs_connect_timeout(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    let msg = "real server connect_timeout {} invalid - ignoring";
    if let Some(d) = timer_kw(ctx, stmt, TIMER_MIN, TIMER_UINT_MAX, Some(msg)) {
        r.connect_timeout = Some(d);
    }
}

fn rs_delay_loop(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    let msg = "real server delay_loop '{}' invalid - ignoring";
    if let Some(d) = timer_kw(ctx, stmt, TIMER_MIN, TIMER_MAX, Some(msg)) {
        r.delay_loop = Some(d);
    }
}

fn rs_virtualhost(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    match stmt.arg(0) {
        Some(w) => r.rs.virtualhost = Some(joined_value(stmt, w)),
        None => ctx.warning(stmt.span(), "real server virtualhost missing"),
    }
}

fn rs_snmp_name(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    match stmt.args.as_slice() {
        [w] => r.rs.snmp_name = Some(w.text.clone()),
        _ => ctx.warning(
            stmt.span(),
            "real server snmp_name missing or extra parameters",
        ),
    }
}

// ---------------------------------------------------------------- inheritance

/// The end of a `virtual_server` block: keepalived's `vs_end_handler`
/// (address family) and the inheritance of `validate_check_config`
/// (virtual server → real server → checker).
fn finish_vs(ctx: &mut Ctx, st: VsState, end: &Span) -> VirtualServer {
    let mut vs = st.vs;
    settle_family(ctx, &mut vs, &st.rss, end);
    let rss = st.rss;
    vs.real_servers = rss.into_iter().map(|r| finish_rs(&vs, r)).collect();
    // The collect reuses the larger `RsState` buffer: give the spare back
    // (thousands of real servers are kept for the daemon's lifetime).
    vs.real_servers.shrink_to_fit();
    vs
}

fn settle_family(ctx: &mut Ctx, vs: &mut VirtualServer, rss: &[RsState], end: &Span) {
    if let Some(sorry) = &vs.sorry_server {
        if !sorry.method.is_tunnel() {
            let fam = IpFamily::of(&sorry.addr);
            match vs.family {
                None => vs.family = Some(fam),
                Some(f) if f != fam => {
                    ctx.warning(
                        end,
                        format!(
                            "Address family of virtual server and sorry server {} don't match - skipping sorry server.",
                            sorry.addr
                        ),
                    );
                    vs.sorry_server = None;
                }
                Some(_) => {}
            }
        }
    }
    if vs.family.is_none() && !matches!(vs.address, VsAddress::Group { .. }) {
        // fwmark service whose servers are all tunnelled: their common
        // family, else IPv4 (man keepalived.conf, LVS CONFIGURATION).
        let mut fams = vs
            .sorry_server
            .iter()
            .map(|s| IpFamily::of(&s.addr))
            .chain(rss.iter().map(|r| IpFamily::of(&r.rs.addr)));
        let first = fams.next();
        let mixed = first.is_some_and(|f| fams.any(|g| g != f));
        vs.family = Some(match first {
            Some(f) if !mixed => f,
            _ => IpFamily::Inet,
        });
    }
}

fn finish_rs(vs: &VirtualServer, r: RsState) -> RealServer {
    let mut rs = r.rs;
    rs.weight = r.weight.unwrap_or(vs.weight);
    rs.alpha = r.alpha.unwrap_or(vs.alpha);
    rs.inhibit_on_failure = r.inhibit.unwrap_or(vs.inhibit_on_failure);
    rs.connect_timeout = r.connect_timeout.unwrap_or(vs.connect_timeout);
    rs.delay_loop = r.delay_loop.unwrap_or(vs.delay_loop);
    rs.retry = r.retry.or(vs.retry);
    rs.delay_before_retry = r.delay_before_retry.or(vs.delay_before_retry);
    rs.warmup = r.warmup.or(vs.warmup);
    if !rs.method_set {
        rs.method = vs.method;
    }
    rs.checkers = r.checkers.into_iter().flat_map(|c| c.finish(&rs)).collect();
    // Usually one checker: `collect` would reserve room for four.
    rs.checkers.shrink_to_fit();
    for c in &mut rs.checkers {
        if let crate::model::lvs::CheckerKind::HttpGet(h)
        | crate::model::lvs::CheckerKind::SslGet(h) = &mut c.kind
        {
            h.urls.shrink_to_fit();
        }
    }
    rs
}
