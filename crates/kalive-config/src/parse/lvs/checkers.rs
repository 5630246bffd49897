//! Checker blocks inside `real_server` (keepalived `check/check_*.c`
//! keyword installers; reference §1.12).
//!
//! Every checker but MISC, FILE and BFD has the connection keywords; every
//! checker but FILE and BFD has the timing keywords. Values not set on the
//! checker are inherited from the real server when the virtual server ends
//! ([`CheckerState::finish`]).

use super::num::{
    read_hex, read_int, read_timer, read_unsigned, Timer, TIMER_MAX, TIMER_MIN, TIMER_UINT_MAX,
};
use super::{end_span, joined_value, opt_bool, parse_addr, RsState};
use crate::model::lvs::{
    BfdCheck, Checker, CheckerKind, CheckerTiming, Connection, DnsCheck, DnsType, FileCheck,
    HttpCheck, HttpProtocol, MiscCheck, RealServer, ReplyPattern, SmtpCheck, StatusRange, UdpCheck,
    UrlCheck,
};
use crate::model::vrrp::{RunAs, Script, ScriptUser};
use crate::model::Config;
use crate::parse::script::command_script;
use crate::parse::{Ctx, Kw};
use crate::syntax::Stmt;
use crate::validate::default_script_user;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::Duration;

/// IFNAMSIZ - 1.
const IFNAME_MAX: usize = 15;
/// keepalived's HTTP_STATUS_CODE_MIN/MAX.
const STATUS_MIN: u16 = 100;
const STATUS_MAX: u16 = 599;

/// A checker while its block is parsed.
pub(crate) struct CheckerState {
    checker: Checker,
    retry: Option<u32>,
    delay_before_retry: Option<Duration>,
    warmup: Option<Duration>,
    delay_loop: Option<Duration>,
    alpha: Option<bool>,
    connect_timeout: Option<Duration>,
    /// Deprecated SMTP `host { }` blocks: each is a checker of its own.
    hosts: Vec<(Connection, Option<Duration>)>,
    rs_addr: IpAddr,
    /// `[ip]:proto:port` of the real server, for BFD messages.
    rs_label: String,
    track_files: Vec<(String, i32, bool)>,
    bfds: Vec<String>,
    globals: Rc<Config>,
    /// MISC_CHECK `user`, attached to the script at the end.
    /// `user USER [GROUP]` of a MISC_CHECK, resolved.
    misc_user: Option<(ScriptUser, RunAs)>,
    /// FILE_CHECK `weight` (None: the track_file's own).
    file_weight: Option<(i32, bool)>,
    /// DNS_CHECK `name` was accepted once (later ones are refused).
    dns_name_set: bool,
    /// SMTP_CHECK has connection settings of its own (outside `host`).
    smtp_main_configured: bool,
    /// An invalid `connect_ip` wiped keepalived's destination (its parser
    /// writes the address family before failing), so no family or
    /// link-local check applies to the real server's address any more.
    dst_cleared: bool,
    /// keepalived dequeued the checker while parsing (MISC_CHECK `user`).
    removed: bool,
}

impl CheckerState {
    fn new(kind: CheckerKind, r: &RsState, stmt: &Stmt) -> Self {
        let connection = kind.has_connection().then(Connection::default);
        CheckerState {
            checker: Checker {
                kind,
                span: Some(stmt.span().clone()),
                end_span: Some(end_span(stmt).clone()),
                connection,
                timing: None,
                log_all_failures: false,
            },
            retry: None,
            delay_before_retry: None,
            warmup: None,
            delay_loop: None,
            alpha: None,
            connect_timeout: None,
            hosts: Vec::new(),
            rs_addr: r.rs.addr,
            rs_label: r.label.clone(),
            track_files: r.track_files.clone(),
            bfds: r.bfds.clone(),
            globals: r.globals.clone(),
            misc_user: None,
            file_weight: None,
            dns_name_set: false,
            smtp_main_configured: false,
            dst_cleared: false,
            removed: false,
        }
    }

    /// Resolve inherited timing against the finished real server
    /// (keepalived's `validate_check_config`, reference §1.12); an SMTP
    /// checker with `host` blocks becomes one checker per host.
    pub(crate) fn finish(self, rs: &RealServer) -> Vec<Checker> {
        let polled = !matches!(
            self.checker.kind,
            CheckerKind::File(_) | CheckerKind::Bfd(_)
        );
        let mut main = self.checker;
        if let CheckerKind::Bfd(b) = &mut main.kind {
            b.alpha = self.alpha.unwrap_or(rs.alpha);
        }
        if polled {
            let delay_loop = self.delay_loop.unwrap_or(rs.delay_loop);
            main.timing = Some(CheckerTiming {
                alpha: self.alpha.unwrap_or(rs.alpha),
                retry: self.retry.or(rs.retry).unwrap_or(main.kind.default_retry()),
                delay_before_retry: self
                    .delay_before_retry
                    .or(rs.delay_before_retry)
                    .or(main.kind.default_delay_before_retry())
                    .unwrap_or(delay_loop),
                warmup: self.warmup.or(rs.warmup).unwrap_or(delay_loop),
                delay_loop,
            });
        }
        if let Some(c) = main.connection.as_mut() {
            c.connect_timeout = self.connect_timeout.unwrap_or(rs.connect_timeout);
        }
        // SMTP_CHECK with host{} blocks and no connection settings of its
        // own checks only the hosts (keepalived's smtp_check_end_handler).
        let keep_main = self.hosts.is_empty() || self.smtp_main_configured;
        let mut out = Vec::with_capacity(1 + self.hosts.len());
        for (mut conn, timeout) in self.hosts {
            conn.connect_timeout = timeout.unwrap_or(rs.connect_timeout);
            let mut c = main.clone();
            c.connection = Some(conn);
            out.push(c);
        }
        if keep_main {
            out.insert(0, main);
        }
        out
    }

    /// The MISC_CHECK script, if this is one.
    pub(crate) fn misc_script(&self) -> Option<&Script> {
        match &self.checker.kind {
            CheckerKind::Misc(m) => Some(&m.script),
            _ => None,
        }
    }

    fn is_smtp(&self) -> bool {
        matches!(self.checker.kind, CheckerKind::Smtp(_))
    }

    /// The address keepalived's `check_conn_opts` looks at: `connect_ip`,
    /// else the real server. SMTP_CHECK (2.2.7) checks its own settings
    /// only when some connection keyword was given (or there is no `host`),
    /// and always against the real server when `connect_ip` is unusable;
    /// for other kinds an invalid `connect_ip` leaves no destination.
    fn check_dst(&self, c: &Connection) -> Option<IpAddr> {
        if self.is_smtp() {
            return self
                .smtp_main_configured
                .then(|| c.connect_ip.unwrap_or(self.rs_addr));
        }
        if self.dst_cleared {
            return c.connect_ip;
        }
        Some(c.connect_ip.unwrap_or(self.rs_addr))
    }

    fn conn(&mut self) -> &mut Connection {
        self.checker
            .connection
            .get_or_insert_with(Connection::default)
    }
}

type Table = &'static [Kw<CheckerState>];
type CHandler = fn(&mut Ctx, &mut CheckerState, &Stmt);

/// Run a checker block and, if it survives its end checks, add it.
fn run_checker(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt, kind: CheckerKind, tables: &[Table]) {
    let mut st = CheckerState::new(kind, r, stmt);
    ctx.in_block(
        || stmt.keyword.text.clone(),
        |ctx| ctx.run_tables(stmt.children(), tables, &mut st),
    );
    if ctx.stopped {
        return;
    }
    if checker_end(ctx, &mut st, stmt) {
        r.checkers.push(st);
    }
}

/// The end handlers: kind-specific completeness checks, then keepalived's
/// `check_conn_opts` (an IPv6 link-local target needs `bind_if`).
fn checker_end(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) -> bool {
    if st.removed {
        return false;
    }
    let end = end_span(stmt);
    if matches!(st.checker.kind, CheckerKind::Udp(_)) && !conn_ok(ctx, st, end) {
        return false;
    }
    let ok = match &mut st.checker.kind {
        CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) if h.urls.is_empty() => {
            ctx.warning(end, "HTTP/SSL_GET checker has no urls specified - ignoring");
            return false;
        }
        CheckerKind::Misc(m) if m.script.args.is_empty() => {
            ctx.warning(
                end,
                "No script path has been specified for MISC_CHECKER - skipping",
            );
            return false;
        }
        CheckerKind::Misc(m) => {
            if let Some((user, run_as)) = st.misc_user.take() {
                m.script.user = Some(user);
                m.script.run_as = Some(run_as);
            } else {
                // keepalived's misc_end_handler: the default script user.
                m.script.run_as = default_script_user(ctx, &st.globals, end);
                if m.script.run_as.is_none() {
                    let cmd = cmd_str(&m.script);
                    ctx.warning(
                        end,
                        format!("Unable to set default user for misc script {cmd} - removing"),
                    );
                    return false;
                }
            }
            true
        }
        CheckerKind::File(f) if f.track_file.is_empty() => {
            ctx.warning(end, "FILE_CHECK has no track_file specified - ignoring");
            return false;
        }
        CheckerKind::File(f) => {
            let own = st.track_files.iter().find(|t| t.0 == f.track_file);
            let (w, rev) = st
                .file_weight
                .or(own.map(|t| (t.1, t.2)))
                .unwrap_or((1, false));
            f.weight = w;
            f.reverse = rev;
            true
        }
        CheckerKind::Bfd(b) => !b.name.is_empty(),
        CheckerKind::Udp(u) => {
            // After the connection check, as keepalived's end handler.
            if u.min_reply_length > u.max_reply_length {
                ctx.warning(
                    end,
                    format!(
                        "UDP_CHECK min_reply length {} > max_reply_length {} - will always fail",
                        u.min_reply_length, u.max_reply_length
                    ),
                );
            }
            true
        }
        _ => true,
    };
    if st.is_smtp() {
        let given = st
            .checker
            .connection
            .as_ref()
            .is_some_and(|c| *c != Connection::default());
        // Without host{} blocks keepalived always checks its own settings.
        st.smtp_main_configured = given || st.connect_timeout.is_some() || st.hosts.is_empty();
    }
    let udp_checked = matches!(st.checker.kind, CheckerKind::Udp(_));
    ok && (udp_checked || conn_ok(ctx, st, end))
}

fn conn_ok(ctx: &mut Ctx, st: &CheckerState, end: &crate::source::Span) -> bool {
    let Some(c) = &st.checker.connection else {
        return true;
    };
    let Some(dst) = st.check_dst(c) else {
        return true;
    };
    if is_link_local_v6(&dst) && c.bind_if.is_none() {
        ctx.warning(
            end,
            format!("Checker link local address {dst} requires a bind_if"),
        );
        return false;
    }
    true
}

fn is_link_local_v6(a: &IpAddr) -> bool {
    matches!(a, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

// ------------------------------------------------------------ entry points

pub(super) fn http_get(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    let kind = CheckerKind::HttpGet(HttpCheck::default());
    run_checker(ctx, r, stmt, kind, &[CONN, TIMING, HTTP]);
}

pub(super) fn ssl_get(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    let kind = CheckerKind::SslGet(HttpCheck::default());
    run_checker(ctx, r, stmt, kind, &[CONN, TIMING, HTTP]);
}

pub(super) fn tcp_check(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    run_checker(ctx, r, stmt, CheckerKind::Tcp, &[CONN, TIMING]);
}

pub(super) fn ping_check(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    run_checker(ctx, r, stmt, CheckerKind::Ping, &[CONN, TIMING]);
}

pub(super) fn smtp_check(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    let kind = CheckerKind::Smtp(SmtpCheck {
        helo_name: SmtpCheck::DEFAULT_HELO.to_string(),
    });
    run_checker(ctx, r, stmt, kind, &[SMTP, CONN, TIMING]);
}

pub(super) fn dns_check(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    let kind = CheckerKind::Dns(DnsCheck::default());
    run_checker(ctx, r, stmt, kind, &[CONN, TIMING, DNS]);
}

pub(super) fn misc_check(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    let kind = CheckerKind::Misc(MiscCheck {
        script: Script::new(Vec::new(), None, None),
        timeout: None,
        dynamic: false,
    });
    run_checker(ctx, r, stmt, kind, &[TIMING, MISC]);
}

pub(super) fn udp_check(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    let kind = CheckerKind::Udp(UdpCheck {
        max_reply_length: u16::from(u8::MAX),
        ..UdpCheck::default()
    });
    run_checker(ctx, r, stmt, kind, &[CONN, TIMING, UDP]);
}

pub(super) fn file_check(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    let kind = CheckerKind::File(FileCheck {
        track_file: String::new(),
        dynamic: false,
        weight: 1,
        reverse: false,
    });
    run_checker(ctx, r, stmt, kind, &[FILE]);
}

pub(super) fn bfd_check(ctx: &mut Ctx, r: &mut RsState, stmt: &Stmt) {
    let kind = CheckerKind::Bfd(BfdCheck {
        name: String::new(),
        alpha: false,
    });
    run_checker(ctx, r, stmt, kind, &[BFD]);
}

// ------------------------------------------------------------ common keywords

const CONN: Table = &[
    Kw::new("connect_ip", 1, co_ip as CHandler),
    Kw::new("connect_port", 1, co_port),
    Kw::new("bindto", 1, co_bindto),
    Kw::new("bind_port", 1, co_bind_port),
    Kw::new("bind_if", 1, co_bind_if),
    Kw::new("connect_timeout", 1, co_timeout),
    Kw::new("fwmark", 1, co_fwmark),
];

const TIMING: Table = &[
    Kw::new("retry", 1, ck_retry as CHandler),
    Kw::new("delay_before_retry", 1, ck_delay_before_retry),
    Kw::new("warmup", 1, ck_warmup),
    Kw::new("delay_loop", 1, ck_delay_loop),
    Kw::new("alpha", 0, ck_alpha),
    Kw::new("log_all_failures", 0, ck_log_all_failures),
];

fn co_ip(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    let Some(ip) = parse_addr(&w.text) else {
        ctx.warning(
            &w.span,
            format!("Invalid connect_ip address {} - ignoring", w.text),
        );
        st.dst_cleared = true;
        st.conn().connect_ip = None;
        return;
    };
    st.dst_cleared = false;
    let c = st.conn();
    if c.bindto.is_some_and(|b| b.is_ipv4() != ip.is_ipv4()) {
        ctx.warning(
            &w.span,
            format!(
                "connect_ip address {} does not match address family of bindto - skipping",
                w.text
            ),
        );
        // keepalived resets the destination's family to "unspecified".
        c.connect_ip = None;
        st.dst_cleared = true;
        return;
    }
    c.connect_ip = Some(ip);
}

fn co_bindto(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    let Some(ip) = parse_addr(&w.text) else {
        ctx.warning(
            &w.span,
            format!("Invalid bindto address {} - ignoring", w.text),
        );
        return;
    };
    // keepalived's destination starts as the real server's address, so a
    // bindto must match it even without connect_ip; SMTP_CHECK (2.2.7)
    // fills its destination only at the end of the block.
    let default_dst = (!st.is_smtp() && !st.dst_cleared).then_some(st.rs_addr);
    let c = st.conn();
    let dst = c.connect_ip.or(default_dst);
    if dst.is_some_and(|d| d.is_ipv4() != ip.is_ipv4()) {
        ctx.warning(
            &w.span,
            format!(
                "bindto address {} does not match address family of connect_ip - skipping",
                w.text
            ),
        );
        c.bindto = None;
        return;
    }
    c.bindto = Some(ip);
}

fn co_port(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    match read_unsigned(ctx, w, 1, 65535) {
        Some(p) => st.conn().connect_port = Some(p as u16),
        None => ctx.warning(
            &w.span,
            format!("Invalid checker connect_port '{}'", w.text),
        ),
    }
}

fn co_bind_port(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    match read_unsigned(ctx, w, 1, 65535) {
        Some(p) => st.conn().bind_port = Some(p as u16),
        None => ctx.warning(&w.span, format!("Invalid checker bind_port '{}'", w.text)),
    }
}

fn co_bind_if(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    if w.text.len() > IFNAME_MAX {
        ctx.warning(
            &w.span,
            format!("Interface name {} is too long - ignoring", w.text),
        );
        return;
    }
    st.conn().bind_if = Some(w.text.clone());
}

fn co_timeout(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    match read_timer(ctx, w, TIMER_MIN, TIMER_UINT_MAX) {
        Timer::Ok(d) => st.connect_timeout = Some(d),
        Timer::Bad => ctx.warning(
            &w.span,
            format!("connect_timeout {} invalid - ignoring", w.text),
        ),
    }
}

fn co_fwmark(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    match read_unsigned(ctx, w, 0, u64::from(u32::MAX)) {
        Some(m) => st.conn().fwmark = Some(m as u32),
        None => ctx.warning(
            &w.span,
            format!("Invalid fwmark connection value '{}'", w.text),
        ),
    }
}

fn ck_retry(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    match read_unsigned(ctx, w, 0, u64::from(u32::MAX)) {
        Some(v) => st.retry = Some(v as u32),
        None => ctx.warning(
            &w.span,
            format!("Invalid retry connection value '{}'", w.text),
        ),
    }
}

fn timer_or(ctx: &mut Ctx, stmt: &Stmt, min: Duration, msg: &str) -> Option<Duration> {
    let w = stmt.arg(0)?;
    match read_timer(ctx, w, min, TIMER_MAX) {
        Timer::Ok(d) => Some(d),
        Timer::Bad => {
            ctx.warning(&w.span, msg.replace("{}", &w.text));
            None
        }
    }
}

fn ck_delay_before_retry(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let msg = "Invalid delay_before_retry connection value '{}'";
    if let Some(d) = timer_or(ctx, stmt, Duration::ZERO, msg) {
        st.delay_before_retry = Some(d);
    }
}

fn ck_warmup(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let msg = "Invalid warmup connection value '{}'";
    if let Some(d) = timer_or(ctx, stmt, Duration::ZERO, msg) {
        st.warmup = Some(d);
    }
}

fn ck_delay_loop(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let msg = "delay_loop '{}' is invalid - ignoring";
    if let Some(d) = timer_or(ctx, stmt, TIMER_MIN, msg) {
        st.delay_loop = Some(d);
    }
}

fn ck_alpha(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    if let Some(b) = opt_bool(ctx, stmt, "Invalid alpha parameter {}") {
        st.alpha = Some(b);
    }
}

fn ck_log_all_failures(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    if let Some(b) = opt_bool(ctx, stmt, "Invalid log_all_failures parameter {}") {
        st.checker.log_all_failures = b;
    }
}

// ------------------------------------------------------------ HTTP_GET / SSL_GET

const HTTP: Table = &[
    Kw::new("nb_get_retry", 1, http_nb_get_retry as CHandler),
    Kw::new("virtualhost", 0, http_virtualhost),
    Kw::new("http_protocol", 0, http_protocol),
    Kw::new("enable_sni", 0, http_enable_sni),
    Kw::new("fast_recovery", 0, http_fast_recovery),
    Kw::new("url", 0, http_url),
];

fn http(st: &mut CheckerState) -> Option<&mut HttpCheck> {
    match &mut st.checker.kind {
        CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) => Some(h),
        _ => None,
    }
}

/// Deprecated alias of `retry` with keepalived's own wording.
fn http_nb_get_retry(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    ctx.warning(
        stmt.span(),
        "nb_get_retry is deprecated - please use 'retry'",
    );
    let Some(w) = stmt.arg(0) else { return };
    match read_unsigned(ctx, w, 0, u64::from(u32::MAX)) {
        Some(v) => st.retry = Some(v as u32),
        None => ctx.warning(&w.span, format!("Invalid nb_get_retry value '{}'", w.text)),
    }
}

fn http_virtualhost(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else {
        ctx.warning(stmt.span(), "HTTP_GET virtualhost name missing");
        return;
    };
    let v = joined_value(stmt, w);
    if let Some(h) = http(st) {
        h.virtualhost = Some(v);
    }
}

fn http_protocol(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else {
        ctx.warning(stmt.span(), "Missing http_protocol version");
        return;
    };
    let p = match w.text.as_str() {
        "1.0" => HttpProtocol::Http10,
        "1.1" => HttpProtocol::Http11,
        "1.0C" | "1.0c" => HttpProtocol::Http10Close,
        other => {
            ctx.warning(&w.span, format!("Invalid http_protocol version {other}"));
            return;
        }
    };
    if let Some(h) = http(st) {
        h.http_protocol = p;
    }
}

fn http_enable_sni(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    if let Some(b) = opt_bool(ctx, stmt, "Invalid enable_sni parameter {}") {
        if let Some(h) = http(st) {
            h.enable_sni = b;
        }
    }
}

fn http_fast_recovery(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    if let Some(b) = opt_bool(ctx, stmt, "Invalid fast_recovery parameter {}") {
        if let Some(h) = http(st) {
            h.fast_recovery = b;
        }
    }
}

/// A `url { }` while parsed.
struct UrlState {
    url: UrlCheck,
    has_path: bool,
}

/// pcre2 options keepalived knows (man keepalived.conf, `regex_options`).
const REGEX_OPTIONS: &[&str] = &[
    "allow_empty_class",
    "alt_bsux",
    "auto_callout",
    "caseless",
    "dollar_endonly",
    "dotall",
    "dupnames",
    "extended",
    "firstline",
    "match_unset_backref",
    "multiline",
    "never_ucp",
    "never_utf",
    "no_auto_capture",
    "no_auto_possess",
    "no_dotstar_anchor",
    "no_start_optimize",
    "ucp",
    "ungreedy",
    "utf",
    "never_backslash_c",
    "alt_circumflex",
    "alt_verbnames",
    "use_offset_limit",
];

type UHandler = fn(&mut Ctx, &mut UrlState, &Stmt);

const URL: &[Kw<UrlState>] = &[
    Kw::new("path", 1, url_path as UHandler),
    Kw::new("digest", 1, url_digest),
    Kw::new("status_code", 0, url_status_code),
    Kw::new("virtualhost", 0, url_virtualhost),
    Kw::new("regex", 0, url_regex),
    Kw::new("regex_no_match", 0, url_regex_no_match),
    Kw::new("regex_options", 0, url_regex_options),
    Kw::new("regex_min_offset", 0, url_regex_min_offset),
    Kw::new("regex_max_offset", 0, url_regex_max_offset),
    Kw::new("regex_stack", 0, url_regex_stack),
];

fn http_url(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let mut u = UrlState {
        url: UrlCheck::new(String::new()),
        has_path: false,
    };
    ctx.in_block("url", |ctx| ctx.run_block(stmt.children(), URL, &mut u));
    if ctx.stopped {
        return;
    }
    if !u.has_path {
        ctx.warning(
            end_span(stmt),
            "HTTP/SSL_GET checker url has no path - ignoring",
        );
        return;
    }
    let mut url = u.url;
    if url.status_codes.is_empty() {
        url.status_codes.push(StatusRange {
            first: 200,
            last: 299,
        });
    }
    settle_regex(&mut url);
    if let Some(h) = http(st) {
        h.urls.push(url);
    }
}

/// keepalived drops regex parameters given without a regex, and offsets
/// where min ≥ max (only logged, so no diagnostic).
fn settle_regex(url: &mut UrlCheck) {
    if url.regex.is_none() {
        url.regex_no_match = false;
        url.regex_options.clear();
        url.regex_min_offset = None;
        url.regex_max_offset = None;
        url.regex_stack = None;
    }
    if let (Some(min), Some(max)) = (url.regex_min_offset, url.regex_max_offset) {
        if min > max {
            url.regex_min_offset = None;
            url.regex_max_offset = None;
        }
    }
}

fn url_path(_ctx: &mut Ctx, u: &mut UrlState, stmt: &Stmt) {
    if let Some(w) = stmt.arg(0) {
        u.url.path = joined_value(stmt, w);
        u.has_path = true;
    }
}

fn url_digest(ctx: &mut Ctx, u: &mut UrlState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    let text = w.text.as_str();
    if u.url.digest.is_some() {
        ctx.warning(&w.span, format!("Digest '{text}' is a duplicate"));
        return;
    }
    if text.len() != 32 {
        ctx.warning(
            &w.span,
            format!(
                "digest '{text}' character length should be 32 rather than {}",
                text.len()
            ),
        );
        return;
    }
    let mut digest = [0u8; 16];
    // keepalived converts from the last pair backwards, cutting the string
    // as it goes, so its message shows the digest up to the bad pair.
    for i in (0..16).rev() {
        let pair = &text[2 * i..2 * i + 2];
        match u8::from_str_radix(pair, 16) {
            Ok(b) if pair.bytes().all(|c| c.is_ascii_hexdigit()) => digest[i] = b,
            _ => {
                ctx.warning(
                    &w.span,
                    format!(
                        "Unable to interpret hex digit in '{}' at offset {}/{}",
                        &text[..2 * i + 2],
                        2 * i,
                        2 * i + 1
                    ),
                );
                return;
            }
        }
    }
    u.url.digest = Some(digest);
}

fn url_status_code(ctx: &mut Ctx, u: &mut UrlState, stmt: &Stmt) {
    for w in &stmt.args {
        match status_range(&w.text) {
            Some(r) => u.url.status_codes.push(r),
            None => ctx.warning(
                &w.span,
                format!("Invalid HTTP_GET status code '{}'", w.text),
            ),
        }
    }
}

/// `N` or `N-M` within 100..=599, as keepalived's strtoul-based reader.
fn status_range(s: &str) -> Option<StatusRange> {
    let lead = |t: &str| -> (u32, usize) {
        let n = t.bytes().take_while(u8::is_ascii_digit).count();
        (t[..n].parse().unwrap_or(0), n)
    };
    let (min, n) = lead(s);
    let rest = &s[n..];
    let (max, rest) = match rest.strip_prefix('-') {
        Some(r) => {
            let (m, k) = lead(r);
            (m, &r[k..])
        }
        None => (min, rest),
    };
    let ok = |v: u32| (u32::from(STATUS_MIN)..=u32::from(STATUS_MAX)).contains(&v);
    (rest.is_empty() && ok(min) && ok(max) && min <= max).then_some(StatusRange {
        first: min as u16,
        last: max as u16,
    })
}

fn url_virtualhost(ctx: &mut Ctx, u: &mut UrlState, stmt: &Stmt) {
    match stmt.arg(0) {
        Some(w) => u.url.virtualhost = Some(joined_value(stmt, w)),
        None => ctx.warning(stmt.span(), "Missing HTTP_GET virtualhost name"),
    }
}

/// `regex` needs exactly one (quoted) word; otherwise keepalived only logs.
fn url_regex(_ctx: &mut Ctx, u: &mut UrlState, stmt: &Stmt) {
    if let [w] = stmt.args.as_slice() {
        u.url.regex = Some(w.text.clone());
    }
}

fn url_regex_options(_ctx: &mut Ctx, u: &mut UrlState, stmt: &Stmt) {
    for w in &stmt.args {
        if REGEX_OPTIONS.contains(&w.text.as_str()) && !u.url.regex_options.contains(&w.text) {
            u.url.regex_options.push(w.text.clone());
        }
    }
}

/// regex offsets: exactly one decimal word, else keepalived logs and uses 0.
fn offset(stmt: &Stmt) -> Option<u32> {
    match stmt.args.as_slice() {
        [w] => w.text.parse().ok().filter(|v| *v > 0),
        _ => None,
    }
}

fn url_regex_no_match(_ctx: &mut Ctx, u: &mut UrlState, _stmt: &Stmt) {
    u.url.regex_no_match = true;
}

fn url_regex_min_offset(_ctx: &mut Ctx, u: &mut UrlState, stmt: &Stmt) {
    u.url.regex_min_offset = offset(stmt);
}

fn url_regex_max_offset(_ctx: &mut Ctx, u: &mut UrlState, stmt: &Stmt) {
    u.url.regex_max_offset = offset(stmt);
}

fn url_regex_stack(_ctx: &mut Ctx, u: &mut UrlState, stmt: &Stmt) {
    if let [a, b] = stmt.args.as_slice() {
        if let (Ok(start), Ok(max)) = (a.text.parse::<u32>(), b.text.parse::<u32>()) {
            if start <= max {
                u.url.regex_stack = Some((start, max));
            }
        }
    }
}

// ------------------------------------------------------------ SMTP_CHECK

const SMTP: Table = &[
    Kw::new("helo_name", 0, smtp_helo_name as CHandler),
    Kw::new("host", 0, smtp_host),
];

fn smtp_helo_name(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else {
        ctx.warning(stmt.span(), "SMTP_CHECK helo name missing");
        return;
    };
    let v = joined_value(stmt, w);
    if let CheckerKind::Smtp(s) = &mut st.checker.kind {
        s.helo_name = v;
    }
}

/// Deprecated `host { connect_ip ...; connect_port ... }`: keepalived only
/// logs the deprecation (not a config error, `-t` stays 0) and turns each
/// host into a checker of its own. Timing keywords inside apply to the SMTP
/// checker itself.
fn smtp_host(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    // keepalived 2.2.7 starts each host from empty settings.
    let saved_conn = st.checker.connection.replace(Connection::default());
    let saved_timeout = st.connect_timeout.take();
    ctx.in_block("host", |ctx| {
        ctx.run_tables(stmt.children(), &[CONN, TIMING], st)
    });
    let host_conn = std::mem::replace(&mut st.checker.connection, saved_conn);
    let host_timeout = std::mem::replace(&mut st.connect_timeout, saved_timeout);
    let Some(conn) = host_conn else { return };
    // A host starts from empty settings: only its own connect_ip counts.
    let link_local = conn.connect_ip.filter(is_link_local_v6);
    if let (Some(dst), None) = (link_local, &conn.bind_if) {
        ctx.warning(
            end_span(stmt),
            format!("Checker link local address {dst} requires a bind_if"),
        );
        return;
    }
    st.hosts.push((conn, host_timeout));
}

// ------------------------------------------------------------ DNS_CHECK

const DNS: Table = &[
    Kw::new("type", 1, dns_type as CHandler),
    Kw::new("name", 1, dns_name),
];

fn dns(st: &mut CheckerState) -> Option<&mut DnsCheck> {
    match &mut st.checker.kind {
        CheckerKind::Dns(d) => Some(d),
        _ => None,
    }
}

fn dns_type(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    match DnsType::parse(&w.text) {
        Some(t) => {
            if let Some(d) = dns(st) {
                d.query_type = t;
            }
        }
        None => ctx.warning(
            &w.span,
            format!("Unknown DNS check type {} - ignoring", w.text),
        ),
    }
}

fn dns_name(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    if st.dns_name_set {
        ctx.warning(stmt.span(), "DNS_CHECK name already specified - ignoring");
        return;
    }
    if has_empty_label(&w.text) {
        ctx.warning(
            &w.span,
            format!("DNS_CHECK name '{}' has empty label - ignoring", w.text),
        );
        return;
    }
    st.dns_name_set = true;
    if let Some(d) = dns(st) {
        d.name = w.text.clone();
    }
}

/// keepalived's `dns_name_handler` test, reproduced with its quirk: it looks
/// at the character after the first character and after every dot, so
/// `a.b` (one-letter first label) is rejected along with `x..y` and `.x`.
fn has_empty_label(name: &str) -> bool {
    let b = name.as_bytes();
    if b.first() == Some(&b'.') && b.len() > 1 {
        return true;
    }
    let mut p = 0;
    loop {
        if b.get(p + 1) == Some(&b'.') {
            return true;
        }
        match b.iter().skip(p + 1).position(|&c| c == b'.') {
            Some(off) => p = p + 1 + off,
            None => return false,
        }
    }
}

// ------------------------------------------------------------ MISC_CHECK

const MISC: Table = &[
    Kw::new("misc_path", 0, misc_path as CHandler),
    Kw::new("misc_timeout", 1, misc_timeout),
    Kw::new("misc_dynamic", 0, misc_dynamic),
    Kw::new("user", 0, misc_user),
];

fn misc(st: &mut CheckerState) -> Option<&mut MiscCheck> {
    match &mut st.checker.kind {
        CheckerKind::Misc(m) => Some(m),
        _ => None,
    }
}

fn misc_path(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    if stmt.args.is_empty() {
        return;
    }
    if let Some(script) = command_script(ctx, stmt) {
        if let Some(m) = misc(st) {
            m.script = script;
        }
    }
}

fn misc_timeout(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    // keepalived stores µs in an unsigned long: seconds up to UINT_MAX.
    match read_unsigned(ctx, w, 0, u64::from(u32::MAX)) {
        Some(v) => {
            if let Some(m) = misc(st) {
                m.timeout = (v > 0).then(|| Duration::from_secs(v));
            }
        }
        None => ctx.warning(&w.span, format!("Invalid misc_timeout value '{}'", w.text)),
    }
}

fn misc_dynamic(_ctx: &mut Ctx, st: &mut CheckerState, _stmt: &Stmt) {
    if let Some(m) = misc(st) {
        m.dynamic = true;
    }
}

fn misc_user(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let Some(user) = stmt.arg(0) else {
        let cmd = misc(st).map(|m| cmd_str(&m.script)).unwrap_or_default();
        ctx.warning(
            stmt.span(),
            format!("No user specified for misc checker script {cmd}"),
        );
        return;
    };
    let su = ScriptUser {
        user: user.text.clone(),
        group: stmt.arg(1).map(|g| g.text.clone()),
    };
    // keepalived looks the user up at once and drops the checker if that
    // fails (`misc_user_handler`).
    let Some(run_as) = crate::script_check::lookup_user(ctx, stmt.span(), &su) else {
        let cmd = misc(st).map(|m| cmd_str(&m.script)).unwrap_or_default();
        ctx.warning(
            stmt.span(),
            format!("Failed to set uid/gid for misc checker script {cmd} - removing"),
        );
        st.removed = true;
        return;
    };
    st.misc_user = Some((su, run_as));
}

/// keepalived's `cmd_str`: every argument in single quotes; a `</file`
/// test is not split into arguments and prints as written.
pub(crate) fn cmd_str(script: &Script) -> String {
    if script.program().starts_with('<') {
        return script.args.join(" ");
    }
    script
        .args
        .iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

// ------------------------------------------------------------ UDP_CHECK

const UDP: Table = &[
    Kw::new("payload", 0, udp_payload as CHandler),
    Kw::new("require_reply", 0, udp_require_reply),
    Kw::new("min_reply_length", 1, udp_min_length),
    Kw::new("max_reply_length", 1, udp_max_length),
];

fn udp(st: &mut CheckerState) -> Option<&mut UdpCheck> {
    match &mut st.checker.kind {
        CheckerKind::Udp(u) => Some(u),
        _ => None,
    }
}

fn rest_of_line(stmt: &Stmt) -> String {
    stmt.args
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn udp_payload(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    if stmt.args.is_empty() {
        ctx.warning(stmt.span(), "UDP_CHECK payload requires a payload");
        return;
    }
    let payload = read_hex(&rest_of_line(stmt), false);
    if payload.is_none() {
        ctx.warning(stmt.span(), "Invalid hex string for UDP_CHECK payload");
    }
    if let Some(u) = udp(st) {
        u.payload = payload.map(|(b, _)| b);
    }
}

fn udp_require_reply(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let pattern = if stmt.args.is_empty() {
        ReplyPattern::default()
    } else {
        match read_hex(&rest_of_line(stmt), true) {
            Some((bytes, mask)) => ReplyPattern { bytes, mask },
            None => {
                ctx.warning(stmt.span(), "Invalid hex string for UDP_CHECK reply");
                ReplyPattern::default()
            }
        }
    };
    if let Some(u) = udp(st) {
        u.require_reply = Some(pattern);
    }
}

fn udp_min_length(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    udp_length(ctx, st, stmt, true);
}

fn udp_max_length(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    udp_length(ctx, st, stmt, false);
}

fn udp_length(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt, min: bool) {
    let Some(w) = stmt.arg(0) else { return };
    match read_unsigned(ctx, w, 0, u64::from(u16::MAX)) {
        Some(v) => {
            if let Some(u) = udp(st) {
                if min {
                    u.min_reply_length = v as u16;
                } else {
                    u.max_reply_length = v as u16;
                }
            }
        }
        None => ctx.warning(
            &w.span,
            format!(
                "UDP_CHECK {} length {} not valid - must be between 0 & {}",
                if min { "min" } else { "max" },
                w.text,
                u16::MAX
            ),
        ),
    }
}

// ------------------------------------------------------------ FILE_CHECK

const FILE: Table = &[
    Kw::new("track_file", 1, file_track_file as CHandler),
    Kw::new("weight", 0, file_weight),
];

fn file_track_file(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else { return };
    if !st.track_files.iter().any(|t| t.0 == w.text) {
        ctx.warning(&w.span, format!("track_file {} not found", w.text));
        return;
    }
    if let CheckerKind::File(f) = &mut st.checker.kind {
        f.track_file = w.text.clone();
    }
}

fn file_weight(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let Some(w) = stmt.arg(0) else {
        ctx.warning(stmt.span(), "track file weight missing");
        return;
    };
    let limit = i64::from(i32::MAX);
    let Some(weight) = read_int(ctx, w, -limit, limit) else {
        ctx.warning(
            &w.span,
            format!(
                "weight for track file must be in [{}..{limit}] inclusive. Ignoring...",
                -limit
            ),
        );
        return;
    };
    let reverse = match stmt.arg(1).map(|r| r.text.as_str()) {
        None => false,
        Some("reverse") => true,
        Some("noreverse") => false,
        Some(other) => {
            ctx.warning(
                stmt.span(),
                format!("unknown track file weight option {other} - ignoring"),
            );
            return;
        }
    };
    st.file_weight = Some((weight as i32, reverse));
}

// ------------------------------------------------------------ BFD_CHECK

const BFD: Table = &[
    Kw::new("name", 0, bfd_name as CHandler),
    Kw::new("alpha", 0, ck_alpha),
];

fn bfd_name(ctx: &mut Ctx, st: &mut CheckerState, stmt: &Stmt) {
    let label = st.rs_label.clone();
    let [w] = stmt.args.as_slice() else {
        ctx.warning(
            stmt.span(),
            format!("({label}) BFD_CHECK - No or too many names specified - skipping checker"),
        );
        return;
    };
    if !st.bfds.contains(&w.text) {
        ctx.warning(
            &w.span,
            format!("({label}) BFD_CHECK - BFD {} not configured", w.text),
        );
        return;
    }
    if let CheckerKind::Bfd(b) = &mut st.checker.kind {
        b.name = w.text.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_ranges_like_keepalived() {
        assert_eq!(
            status_range("200"),
            Some(StatusRange {
                first: 200,
                last: 200
            })
        );
        assert_eq!(
            status_range("300-301"),
            Some(StatusRange {
                first: 300,
                last: 301
            })
        );
        assert_eq!(status_range("600"), None);
        assert_eq!(status_range("500-400"), None);
        assert_eq!(status_range("abc"), None);
        assert_eq!(status_range("200-"), None);
    }

    #[test]
    fn empty_label_quirk() {
        assert!(has_empty_label("a.b"));
        assert!(has_empty_label("a."));
        assert!(has_empty_label(".x"));
        assert!(has_empty_label("foo..bar"));
        assert!(!has_empty_label("."));
        assert!(!has_empty_label("example.com"));
        assert!(!has_empty_label("www.example.com"));
    }
}
