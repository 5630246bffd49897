//! Keyword tables and the parser that drives them.
//!
//! Each block has a table of [`Kw`] entries: a keyword name, the number of
//! words it needs, a handler that fills the block's model type, and an
//! optional "deprecated, use X instead" marking. [`Ctx::run_block`] walks the
//! statements of a block and dispatches them:
//!
//! * unknown keyword: `Unknown keyword 'x'` (an error; parsing goes on), as
//!   keepalived does (reference §1.1); a block after it, or after any
//!   keyword that takes none, is read as keepalived's line stream reads it
//!   (see [`Ctx::run_tables`]: "Unexpected '{'", its lines at the current
//!   level, its `}` ending the enclosing block), list blocks up to their
//!   first `}`, and a top-level block keyword without `{` takes the lines
//!   up to the next `}`;
//! * too few words: keepalived's `*** Configuration line starting ... is
//!   missing a parameter ...`, after which keepalived exits with status 2 at
//!   once, so parsing stops ([`Ctx::stopped`]);
//! * deprecated alias: a warning, then handled as the new keyword.
//!
//! Value helpers ([`values`]) parse numbers, ranges, booleans, timers and
//! addresses and report problems in keepalived's wording, at the word's span.

pub mod global;
pub mod ipcmd;
pub mod lvs;
pub mod script;
pub mod values;
pub mod vrrp;

use crate::diag::{DiagKind, Diagnostic, Severity};
use crate::lexer::Word;
use crate::model::Config;
use crate::source::Span;
use crate::syntax::Stmt;
use crate::system::{HostSystem, System};
use std::sync::Arc;

/// A keyword handler: fills `T` from one statement.
pub type Handler<T> = fn(&mut Ctx, &mut T, &Stmt);

/// What keepalived does when a keyword lacks its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnMissing {
    /// The handler reads the word blindly: keepalived's "missing a
    /// parameter" and exit 2 (most VRRP instance keywords).
    Exit,
    /// The handler checks and reports "`kw` missing - ignoring" (most
    /// global_defs keywords): an ordinary error.
    Error,
    /// Silently ignored.
    Ignore,
}

/// How keepalived reports a deprecated alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AliasLevel {
    /// keepalived warns (and `-t` fails).
    Warn,
    /// keepalived accepts it silently; we add a note (no effect on `-t`).
    Note,
}

/// One keyword of a block's table.
pub struct Kw<T> {
    pub name: &'static str,
    /// Words required after the keyword.
    pub min_args: usize,
    pub handler: Handler<T>,
    /// `Some(new)` marks a deprecated alias: accepted, reported at `alias_level`.
    pub replaced_by: Option<&'static str>,
    pub alias_level: AliasLevel,
    /// A sub-block keyword that takes no words of its own
    /// (`virtual_ipaddress {`): words after it are keepalived's
    /// "Block X has extra parameters" error, no block its "Missing '{'".
    pub block_only: bool,
    /// A block of keywords (keepalived's "sublevel", e.g. `authentication`):
    /// without its `{` keepalived says "Missing '{' at beginning of
    /// configuration block". List blocks (`virtual_ipaddress`) say nothing.
    pub needs_brace: bool,
    pub on_missing: OnMissing,
    /// keepalived's own wording for [`OnMissing::Error`], when it is not
    /// "`name` missing - ignoring".
    pub missing_msg: Option<&'static str>,
}

impl<T> Kw<T> {
    const fn base(name: &'static str, min_args: usize, handler: Handler<T>) -> Self {
        Kw {
            name,
            min_args,
            handler,
            replaced_by: None,
            alias_level: AliasLevel::Warn,
            block_only: false,
            needs_brace: false,
            on_missing: OnMissing::Exit,
            missing_msg: None,
        }
    }
    /// A keyword needing `min_args` words after it; fewer is keepalived's
    /// "missing a parameter" (exit 2).
    pub const fn new(name: &'static str, min_args: usize, handler: Handler<T>) -> Self {
        Self::base(name, min_args, handler)
    }
    /// A keyword whose handler in keepalived checks its words: fewer than
    /// `min_args` is an ordinary error ("`name` missing - ignoring").
    pub const fn checked(name: &'static str, min_args: usize, handler: Handler<T>) -> Self {
        let mut k = Self::base(name, min_args, handler);
        k.on_missing = OnMissing::Error;
        k
    }
    /// As [`Kw::checked`], with keepalived's own wording for the error.
    pub const fn checked_msg(
        name: &'static str,
        min_args: usize,
        msg: &'static str,
        handler: Handler<T>,
    ) -> Self {
        let mut k = Self::checked(name, min_args, handler);
        k.missing_msg = Some(msg);
        k
    }
    /// A deprecated alias (warned about) whose handler checks its words.
    pub const fn checked_alias(
        name: &'static str,
        new_name: &'static str,
        min_args: usize,
        handler: Handler<T>,
    ) -> Self {
        let mut k = Self::alias(name, new_name, min_args, handler);
        k.on_missing = OnMissing::Error;
        k
    }
    /// A keyword ignored silently when its words are missing.
    pub const fn lenient(name: &'static str, min_args: usize, handler: Handler<T>) -> Self {
        let mut k = Self::base(name, min_args, handler);
        k.on_missing = OnMissing::Ignore;
        k
    }
    /// A sub-block keyword with no words of its own (`track_interface {`).
    pub const fn block(name: &'static str, handler: Handler<T>) -> Self {
        let mut k = Self::base(name, 0, handler);
        k.block_only = true;
        k
    }
    /// A block of keywords with no words of its own (`authentication {`).
    pub const fn sublevel(name: &'static str, handler: Handler<T>) -> Self {
        let mut k = Self::block(name, handler);
        k.needs_brace = true;
        k
    }
    /// A deprecated alias of `new_name` that keepalived warns about.
    pub const fn alias(
        name: &'static str,
        new_name: &'static str,
        min_args: usize,
        handler: Handler<T>,
    ) -> Self {
        let mut k = Self::base(name, min_args, handler);
        k.replaced_by = Some(new_name);
        k
    }
    /// A deprecated alias keepalived accepts silently (reported as a note).
    pub const fn quiet_alias(
        name: &'static str,
        new_name: &'static str,
        min_args: usize,
        handler: Handler<T>,
    ) -> Self {
        let mut k = Self::alias(name, new_name, min_args, handler);
        k.alias_level = AliasLevel::Note;
        k
    }
    /// An ordinary error in keepalived's words when the words are missing.
    pub const fn with_missing_message(mut self, msg: &'static str) -> Self {
        self.on_missing = OnMissing::Error;
        self.missing_msg = Some(msg);
        self
    }
    /// Mark as a deprecated alias of `new_name`.
    pub const fn deprecated(mut self, new_name: &'static str) -> Self {
        self.replaced_by = Some(new_name);
        self
    }
}

/// A block's label for diagnostics, built only when one is reported: a
/// fixed name, a string, or a closure formatting it.
pub trait BlockLabel {
    fn build(self) -> String;
}

impl BlockLabel for &'static str {
    fn build(self) -> String {
        self.to_string()
    }
}

impl BlockLabel for String {
    fn build(self) -> String {
        self
    }
}

impl<F: FnOnce() -> String> BlockLabel for F {
    fn build(self) -> String {
        self()
    }
}

/// Parser state shared by all handlers: diagnostics, the block path, and
/// the machine the config is checked against.
pub struct Ctx {
    pub diags: Vec<Diagnostic>,
    /// A missing parameter was reported: keepalived exits (status 2) at that
    /// point, so nothing after it is parsed.
    pub stopped: bool,
    /// Interfaces, users and files, as keepalived looks them up while it
    /// reads the config.
    pub sys: Arc<dyn System + Send + Sync>,
    /// Cross-block parse state (default script user, missing interfaces).
    pub(crate) state: crate::validate::ParseState,
    /// Nesting of [`Ctx::run_tables`] calls: 1 is the top level.
    depth: usize,
    /// Statements that keepalived reads at the enclosing level because a
    /// `}` ended the current block early (see [`Ctx::run_tables`]).
    spill: Option<Vec<Stmt>>,
    /// The keepalived passes reading the current top-level statements
    /// ([`passes_of`]).
    passes: u8,
}

impl Default for Ctx {
    fn default() -> Self {
        Ctx::with_system(Arc::new(HostSystem))
    }
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("diags", &self.diags)
            .field("stopped", &self.stopped)
            .finish()
    }
}

impl Ctx {
    /// Checking against the real machine.
    pub fn new() -> Self {
        Ctx::default()
    }

    /// Checking against `sys` (tests use a fake machine).
    pub fn with_system(sys: Arc<dyn System + Send + Sync>) -> Self {
        Ctx {
            diags: Vec::new(),
            stopped: false,
            sys,
            state: Default::default(),
            depth: 0,
            spill: None,
            passes: PASS_ALL,
        }
    }

    fn push(&mut self, severity: Severity, kind: DiagKind, span: Option<&Span>, msg: String) {
        let d = Diagnostic::new(severity, span.cloned(), msg).with_kind(kind);
        self.diags.push(d);
    }

    /// A config error (`-t` exit 5).
    pub fn error(&mut self, span: &Span, msg: impl Into<String>) {
        self.push(Severity::Error, DiagKind::General, Some(span), msg.into());
    }
    /// keepalived's "warn, then default or ignore" (`-t` still exits 5).
    pub fn warning(&mut self, span: &Span, msg: impl Into<String>) {
        self.push(Severity::Warning, DiagKind::General, Some(span), msg.into());
    }
    /// Informational: reported, no effect on the `-t` verdict.
    pub fn note(&mut self, span: &Span, msg: impl Into<String>) {
        self.push(Severity::Note, DiagKind::General, Some(span), msg.into());
    }
    /// A warning not tied to a place in the file.
    pub fn warning_nospan(&mut self, msg: impl Into<String>) {
        self.push(Severity::Warning, DiagKind::General, None, msg.into());
    }
    /// An error not tied to a place in the file.
    pub fn error_nospan(&mut self, msg: impl Into<String>) {
        self.push(Severity::Error, DiagKind::General, None, msg.into());
    }
    /// An error that `-t` counts as any other but that keepalived will not
    /// start (or reload) with ([`DiagKind::StartRefused`]).
    pub fn refuse_start(&mut self, span: Option<&Span>, msg: impl Into<String>) {
        self.push(Severity::Error, DiagKind::StartRefused, span, msg.into());
    }
    /// Fatal (`-t` exit 4): missing file, bad interface.
    pub fn fatal(&mut self, span: Option<&Span>, msg: impl Into<String>) {
        self.push(Severity::Fatal, DiagKind::Fatal, span, msg.into());
    }
    /// keepalived's `CONFIG_BAD_IF`: printed as an error, ranked with the
    /// fatal ones for the `-t` verdict (exit 4 unless an ordinary error
    /// or warning was reported too).
    pub fn bad_interface_nospan(&mut self, msg: impl Into<String>) {
        self.push(Severity::Error, DiagKind::Fatal, None, msg.into());
    }
    /// Script security violation (`-t` exit 6).
    pub fn security(&mut self, span: Option<&Span>, msg: impl Into<String>) {
        self.push(Severity::Error, DiagKind::ScriptSecurity, span, msg.into());
    }

    /// keepalived's missing-parameter report; stops parsing (exit 2).
    /// `position` is 1-based counting the keyword, like keepalived's message.
    pub fn missing_parameter(&mut self, stmt: &Stmt, position: usize) {
        let kw = &stmt.keyword.text;
        let msg = format!(
            "*** Configuration line starting `{kw}` is missing a parameter after keyword `{}` at word position {position}",
            stmt.words().last().map(|w| w.text.as_str()).unwrap_or(kw),
        );
        let span = stmt.words().last().map(|w| w.span.clone());
        self.push(
            Severity::Error,
            DiagKind::MissingParameter,
            span.as_ref(),
            msg,
        );
        self.stopped = true;
    }

    /// Run `f` inside a block labelled `label` (for diagnostics).
    ///
    /// The label is only built when `f` reported something: a 150k-line
    /// config has tens of thousands of blocks and usually no diagnostic.
    /// Blocks finish innermost first, so each one puts its label in front of
    /// the block path of the diagnostics reported while it ran, which leaves
    /// the path outermost first.
    pub fn in_block<R>(&mut self, label: impl BlockLabel, f: impl FnOnce(&mut Ctx) -> R) -> R {
        let first_new = self.diags.len();
        let r = f(self);
        if let Some(new) = self.diags.get_mut(first_new..).filter(|d| !d.is_empty()) {
            let label = label.build();
            for d in new {
                d.block_path.insert(0, label.clone());
            }
        }
        r
    }

    /// Dispatch every statement of a block through `table`.
    pub fn run_block<T>(&mut self, stmts: &[Stmt], table: &[Kw<T>], target: &mut T) {
        self.run_tables(stmts, &[table], target);
    }

    /// As [`Ctx::run_block`], looking keywords up in several tables in turn
    /// (the top level combines the VRRP side and [`lvs::TOP_LEVEL`]).
    ///
    /// keepalived reads its config as a stream of lines (`lib/parser.c:
    /// process_stream`), where only a keyword with a sub-level (or a value
    /// block) takes the `{` after it. Any other `{`, after an unknown
    /// keyword or one that takes no block, is "Unexpected '{' - ignoring":
    /// the block's lines are read at the current level, and its `}` ends the
    /// current block, so what followed it belongs to the enclosing block
    /// (at the top level that `}` is an unknown keyword). The statement tree
    /// matches braces, so here such a block is unfolded into the current
    /// level with its `}` as a statement of its own, and a `}` that ends a
    /// block early hands the rest to the enclosing level.
    pub fn run_tables<T>(&mut self, stmts: &[Stmt], tables: &[&[Kw<T>]], target: &mut T) {
        self.depth += 1;
        self.run_level(stmts, tables, target);
        self.depth -= 1;
    }

    fn run_level<T>(&mut self, stmts: &[Stmt], tables: &[&[Kw<T>]], target: &mut T) {
        for (i, stmt) in stmts.iter().enumerate() {
            if self.stopped {
                return;
            }
            if stmt.is_close_brace() {
                if self.depth > 1 {
                    self.spill = Some(stmts[i + 1..].to_vec());
                    return;
                }
                self.error(stmt.span(), "Unknown keyword '}'");
                continue;
            }
            let name = stmt.keyword.text.as_str();
            if self.depth == 1 && self.passes & passes_of(name) == 0 {
                // Inside a block that every pass reading this keyword
                // skips whole.
                continue;
            }
            let kw = tables
                .iter()
                .flat_map(|t| t.iter())
                .find(|k| k.name == name);
            let unexpected = match kw {
                None if stmt.is_keywordless_block() => {
                    self.error(stmt.span(), "Unexpected '{' - ignoring");
                    stmt.block.as_ref()
                }
                None => {
                    self.unknown_keyword(stmt);
                    stmt.block.as_ref()
                }
                Some(kw) => {
                    if NEWER_THAN_REFERENCE.contains(&kw.name) {
                        self.warning(
                            stmt.span(),
                            format!(
                                "'{}' is a keyword of keepalived after 2.2.7, which calls it unknown (kalive uses it)",
                                kw.name
                            ),
                        );
                    }
                    if stmt.block.as_ref().is_some_and(|b| b.missing_open) {
                        self.error(
                            stmt.span(),
                            "Missing '{' at beginning of configuration block",
                        );
                    }
                    let reported = self.diags.len();
                    self.dispatch(kw, stmt, target);
                    if let Some(mut rest) = self.spill.take() {
                        // The block of `stmt` ended early: the rest of it,
                        // then its own `}` (which now ends this level), then
                        // this level's remaining statements.
                        if let Some(close) = stmt.block.as_ref().and_then(|b| b.close.clone()) {
                            rest.push(Stmt::close_brace(close));
                        }
                        if self.depth == 1 {
                            // Back at the top level: what came out of the
                            // block is read only by the passes that read the
                            // block (see `passes_of`), and a keyword with a
                            // sub-level there may lack its `{`.
                            let rest: Vec<Stmt> = crate::syntax::adopt_unbraced_blocks(
                                rest.into_iter(),
                                top_level_has_sublevel,
                            )
                            .collect();
                            let outer = self.passes;
                            self.passes &= passes_of(name);
                            self.run_level(&rest, tables, target);
                            self.passes = outer;
                            self.run_level(&stmts[i + 1..], tables, target);
                            return;
                        }
                        rest.extend(stmts[i + 1..].iter().cloned());
                        self.run_level(&rest, tables, target);
                        return;
                    }
                    // A keyword with a sub-level whose handler refused the
                    // statement (and reported why) skipped its block, as
                    // keepalived's skip_block() does.
                    let skipped = self.diags.len() > reported && has_sublevel(name);
                    match &stmt.block {
                        Some(b) if !stmt.block_taken.get() && !skipped && !self.stopped => {
                            self.error(&b.open, "Unexpected '{' - ignoring");
                            Some(b)
                        }
                        _ => None,
                    }
                }
            };
            if let Some(b) = unexpected {
                let mut rest = b.stmts.clone();
                if let Some(close) = &b.close {
                    rest.push(Stmt::close_brace(close.clone()));
                }
                rest.extend(stmts[i + 1..].iter().cloned());
                self.run_level(&rest, tables, target);
                return;
            }
        }
    }

    fn dispatch<T>(&mut self, kw: &Kw<T>, stmt: &Stmt, target: &mut T) {
        if let Some(new) = kw.replaced_by {
            let msg = format!("Keyword '{}' is deprecated - please use '{new}'", kw.name);
            match kw.alias_level {
                AliasLevel::Warn => self.warning(stmt.span(), msg),
                AliasLevel::Note => self.note(stmt.span(), msg),
            }
        }
        if kw.block_only {
            if !stmt.args.is_empty() {
                let extra: Vec<&str> = stmt.args.iter().map(|w| w.text.as_str()).collect();
                self.error(
                    &stmt.args[0].span,
                    format!(
                        "Block {} has extra parameters {} ...",
                        kw.name,
                        extra.join(" ")
                    ),
                );
            }
            if kw.needs_brace && stmt.block.is_none() {
                self.error(
                    stmt.span(),
                    "Missing '{' at beginning of configuration block",
                );
            }
        }
        if stmt.args.len() < kw.min_args {
            match kw.on_missing {
                OnMissing::Exit => self.missing_parameter(stmt, stmt.args.len() + 2),
                OnMissing::Error => match kw.missing_msg {
                    Some(msg) => self.error(stmt.span(), msg),
                    None => self.error(stmt.span(), format!("{} missing - ignoring", kw.name)),
                },
                OnMissing::Ignore => {}
            }
            return;
        }
        if kw.block_only && !kw.needs_brace && !has_sublevel(kw.name) {
            if let Some(b) = &stmt.block {
                if b.stmts
                    .iter()
                    .any(|c| c.block.is_some() || c.is_close_brace())
                {
                    // keepalived reads a list block (`alloc_value_block`)
                    // line by line up to the first `}`: a `{` inside is an
                    // item of the list, and the first `}` ends the list;
                    // what followed it is read at this level.
                    let mut items = Vec::new();
                    let rest = flatten_value_block(&b.stmts, &mut items);
                    let flat = Stmt {
                        block: Some(crate::syntax::Block {
                            stmts: items,
                            ..b.clone()
                        }),
                        ..stmt.clone()
                    };
                    stmt.block_taken.set(true);
                    (kw.handler)(self, target, &flat);
                    if rest.is_some() {
                        self.spill = rest;
                    }
                    return;
                }
            }
        }
        (kw.handler)(self, target, stmt);
    }

    /// keepalived: `Unknown keyword 'x'`. keepalived does not skip the
    /// block of an unknown keyword: it says "Unexpected '{'" and reads the
    /// block's lines at the current level ([`Ctx::run_tables`]).
    pub fn unknown_keyword(&mut self, stmt: &Stmt) {
        self.error(
            stmt.span(),
            format!("Unknown keyword '{}'", stmt.keyword.text),
        );
        if let Some(b) = &stmt.block {
            self.error(&b.open, "Unexpected '{' - ignoring");
        }
    }

    /// An argument the handler needs (the table's `min_args` normally
    /// guarantees it; this covers optional words that require a value,
    /// like `weight` without a number).
    pub fn need_arg<'a>(&mut self, stmt: &'a Stmt, index: usize) -> Option<&'a Word> {
        let w = stmt.arg(index);
        if w.is_none() {
            self.missing_parameter(stmt, index + 2);
        }
        w
    }
}

/// The top-level keyword table of the VRRP side.
pub const TOP_LEVEL: &[Kw<Config>] = &[
    Kw::new("linkbeat_use_polling", 0, global::root_global),
    Kw::new("net_namespace", 0, global::root_global),
    Kw::new("net_namespace_ipvs", 0, global::root_global),
    Kw::new("namespace_with_ipsets", 0, global::root_global),
    Kw::new("use_pid_dir", 0, global::root_global),
    Kw::new("instance", 0, global::root_global),
    Kw::new("child_wait_time", 0, global::root_global),
    Kw::new("global_defs", 0, global::global_defs),
    Kw::block("static_ipaddress", vrrp::static_ipaddress),
    Kw::block("static_routes", vrrp::static_routes),
    Kw::block("static_rules", vrrp::static_rules),
    Kw::block("linkbeat_interfaces", vrrp::linkbeat_interfaces),
    Kw::new("track_group", 1, vrrp::track_group),
    Kw::block("interface_up_down_delays", vrrp::interface_up_down_delays),
    Kw::block("garp_group", vrrp::garp_group),
    Kw::new("track_file", 1, vrrp::track_file),
    Kw::quiet_alias("vrrp_track_file", "track_file", 1, vrrp::track_file),
    Kw::new("vrrp_track_process", 1, vrrp::track_process),
    Kw::new("vrrp_script", 1, vrrp::vrrp_script),
    Kw::new("bfd_instance", 1, vrrp::bfd_instance),
    Kw::new("vrrp_sync_group", 0, vrrp::sync_group),
    Kw::new("vrrp_instance", 0, vrrp::vrrp_instance),
];

/// Keywords kalive accepts that keepalived added after 2.2.7, the version
/// whose `-t` verdict kalive gives: 2.2.7 calls them unknown, so `-t`
/// warns (exit 5, as keepalived), and the daemon uses them (a warning
/// blocks neither start nor reload).
pub const NEWER_THAN_REFERENCE: &[&str] = &[
    "auth_hmac",
    "dbus_no_interface_name",
    "iproute_etc_dir",
    "iproute_usr_dir",
    "json_dump_file",
    "json_version",
    "multihop",
    "no_virtual_ipaddress",
    "owner_ignore_adverts",
    "set_supplementary_groups",
    "snmp_rs_stats_update_interval",
    "snmp_vs_stats_update_interval",
    "state_dump_file",
    "stats_dump_file",
    "timer_expired_backup",
    "use_symlink_paths",
    "v3_checksum_as_v2",
    "vrrp_delay_after_boot",
    "vrrp_owner_ignore_adverts",
];

/// The lines of a list block as keepalived reads them: every statement is
/// an item (a `{` too), up to the first `}`. Returns what came after that
/// `}` when it was not the block's own (`None` when the block's own `}`
/// ended it).
fn flatten_value_block(stmts: &[Stmt], items: &mut Vec<Stmt>) -> Option<Vec<Stmt>> {
    for (i, c) in stmts.iter().enumerate() {
        if c.is_close_brace() {
            return Some(stmts[i + 1..].to_vec());
        }
        let mut item = c.clone();
        item.block = None;
        items.push(item);
        if let Some(b) = &c.block {
            if !c.is_keywordless_block() {
                items.push(Stmt {
                    keyword: crate::lexer::Word {
                        text: "{".into(),
                        span: b.open.clone(),
                        quoted: false,
                    },
                    args: Vec::new(),
                    block: None,
                    block_taken: Default::default(),
                });
            }
            let mut rest = match flatten_value_block(&b.stmts, items) {
                // A `}` inside ended the list: the nested block's own `}`
                // comes after what followed it.
                Some(mut inner) => {
                    inner.extend(b.close.clone().map(Stmt::close_brace));
                    inner
                }
                // The nested block's `}` ended the list.
                None => Vec::new(),
            };
            // An unterminated block: the file ended inside the list.
            b.close.as_ref()?;
            rest.extend(stmts[i + 1..].iter().cloned());
            return Some(rest);
        }
    }
    None
}

const PASS_PARENT: u8 = 1;
const PASS_VRRP: u8 = 2;
const PASS_CHECKER: u8 = 4;
const PASS_BFD: u8 = 8;
const PASS_ALL: u8 = PASS_PARENT | PASS_VRRP | PASS_CHECKER | PASS_BFD;

/// Which of keepalived's reads of the config act on a top-level keyword.
/// keepalived `-t` reads the file once per process (the parent with the
/// global keywords active, then the VRRP, checker and BFD children with
/// theirs, `core/main.c:validate_config`); a keyword inactive in a read
/// has its block skipped by counting braces, so whatever a `}` that ended
/// another block early brought to the top level is seen only by the reads
/// in which that block was active too. Unknown keywords and stray braces
/// are seen by every read.
fn passes_of(keyword: &str) -> u8 {
    match keyword {
        "global_defs"
        | "linkbeat_use_polling"
        | "net_namespace"
        | "net_namespace_ipvs"
        | "namespace_with_ipsets"
        | "use_pid_dir"
        | "instance"
        | "child_wait_time" => PASS_PARENT,
        "vrrp_instance"
        | "vrrp_sync_group"
        | "vrrp_script"
        | "vrrp_track_process"
        | "static_ipaddress"
        | "static_routes"
        | "static_rules"
        | "track_group"
        | "garp_group"
        | "linkbeat_interfaces"
        | "interface_up_down_delays" => PASS_VRRP,
        "virtual_server" | "virtual_server_group" | "SSL" => PASS_CHECKER,
        "track_file" | "vrrp_track_file" => PASS_VRRP | PASS_CHECKER,
        "bfd_instance" => PASS_VRRP | PASS_CHECKER | PASS_BFD,
        _ => PASS_ALL,
    }
}

/// Keywords below the top level that have a sub-level of their own in
/// keepalived 2.2.7 (`check/check_parser.c`, `check/check_*.c`,
/// `vrrp/vrrp_parser.c`).
fn has_sublevel(keyword: &str) -> bool {
    top_level_has_sublevel(keyword)
        || matches!(
            keyword,
            "real_server"
                | "HTTP_GET"
                | "SSL_GET"
                | "TCP_CHECK"
                | "SMTP_CHECK"
                | "DNS_CHECK"
                | "MISC_CHECK"
                | "UDP_CHECK"
                | "PING_CHECK"
                | "FILE_CHECK"
                | "BFD_CHECK"
                | "url"
                | "host"
                | "authentication"
        )
}

/// The top-level keywords that have a sub-level of keywords in keepalived
/// 2.2.7 (`install_keyword_root` followed by `install_keyword`s): written
/// without their `{`, the lines after them up to a `}` are their block
/// ([`crate::syntax::adopt_unbraced_blocks`]). The list blocks
/// (`static_ipaddress`, `virtual_server_group`, ...) have none.
pub fn top_level_has_sublevel(keyword: &str) -> bool {
    matches!(
        keyword,
        "global_defs"
            | "vrrp_instance"
            | "vrrp_sync_group"
            | "vrrp_script"
            | "vrrp_track_process"
            | "track_file"
            | "vrrp_track_file"
            | "garp_group"
            | "track_group"
            | "bfd_instance"
            | "virtual_server"
            | "SSL"
    )
}

/// Parse a whole statement tree into a [`Config`]; cross-block validation
/// (defaults that depend on other blocks, references between blocks) runs
/// afterwards in [`crate::validate`].
pub fn parse_config(ctx: &mut Ctx, stmts: &[Stmt]) -> Config {
    let mut config = Config::default();
    let stmts: Vec<Stmt> =
        crate::syntax::adopt_unbraced_blocks(stmts.iter().cloned(), top_level_has_sublevel)
            .collect();
    parse_top_level(ctx, &stmts, &mut config);
    config
}

/// Parse top-level statements into `config` (callable block by block).
pub fn parse_top_level(ctx: &mut Ctx, stmts: &[Stmt], config: &mut Config) {
    ctx.run_tables(stmts, &[TOP_LEVEL, lvs::TOP_LEVEL], config);
}
