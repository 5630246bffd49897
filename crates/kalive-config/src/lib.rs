//! kalive-config: reads keepalived.conf exactly as keepalived reads it.
//!
//! Pipeline (see ../shared/DESIGN.md, Layers):
//! [`preprocess`] (include*, `@id`, `$MACROS`, `~SEQ`/`~LST`, comments) turns
//! files into [`source::SourceLine`]s that remember where they came from;
//! [`lexer`] splits them into words and braces; [`syntax`] builds statements
//! and blocks; [`parse`] dispatches them through per-block keyword tables into
//! the typed [`model`]; [`validate`] applies keepalived's cross-block defaults
//! and the checks against the machine ([`system`]); [`config_test`] turns the
//! [`diag::Diagnostic`]s into keepalived's `-t` exit code.
//!
//! # Loading a config (daemon)
//!
//! ```no_run
//! use kalive_config::{load_config, LoadOptions};
//! let loaded = load_config(std::path::Path::new("/etc/keepalived/keepalived.conf"), &LoadOptions::default());
//! for d in &loaded.diagnostics {
//!     eprintln!("{d}");
//! }
//! if loaded.has_errors_blocking_start() {
//!     // keep the old config on reload / exit on start-up
//! }
//! for vi in &loaded.config.vrrp_instances {
//!     println!("{} vrid {} prio {} every {:?}", vi.name, vi.virtual_router_id, vi.priority, vi.advert_int);
//! }
//! ```
//!
//! # Adding top-level blocks (LVS side)
//!
//! The top-level keyword table is [`parse::TOP_LEVEL`] chained with
//! [`parse::lvs::TOP_LEVEL`]: the LVS side adds `virtual_server_group`,
//! `virtual_server`, `SSL` there as [`parse::Kw`] entries whose handlers get
//! `(&mut Ctx, &mut Config, &Stmt)` and fill `config.lvs` (a
//! [`model::lvs::LvsConfig`]). Inside a block, a handler calls
//! `ctx.in_block(label, |ctx| ctx.run_block(stmt.children(), TABLE, &mut item))`
//! with its own table; value helpers live on [`parse::Ctx`] (see
//! [`parse::values`]). After the whole file is parsed,
//! [`parse::lvs::validate`] runs (cross-block checks, defaults), then
//! [`parse::lvs::check_system`] (script files, interfaces) with the same
//! [`system::System`] the VRRP side uses ([`Ctx::sys`](parse::Ctx)).

pub mod diag;
pub mod fileread;
pub mod lexer;
pub mod model;
pub mod parse;
pub mod preprocess;
pub mod script_check;
pub mod source;
pub mod syntax;
pub mod system;
pub mod test_mode;
pub mod validate;

pub use diag::{DiagKind, Diagnostic, Severity};
pub use model::Config;
pub use source::{SourceLine, Span};
pub use test_mode::{config_test, ConfigTestOptions, ConfigTestOutcome};

use crate::parse::Ctx;
use crate::preprocess::PreprocessOptions;
use crate::source::SourceLine as Line;
use crate::system::{HostSystem, System};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How to load a config.
#[derive(Clone)]
pub struct LoadOptions {
    pub preprocess: PreprocessOptions,
    /// The machine checked against (interfaces, users, script files).
    pub system: Arc<dyn System + Send + Sync>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            preprocess: PreprocessOptions::default(),
            system: Arc::new(HostSystem),
        }
    }
}

impl std::fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadOptions")
            .field("preprocess", &self.preprocess)
            .finish()
    }
}

/// A parsed and validated config with everything reported on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub diagnostics: Vec<Diagnostic>,
    /// Every file read (main file first).
    pub files: Vec<Arc<PathBuf>>,
    /// The main config file is missing or unreadable (keepalived: exit 6
    /// "no config" when starting; `-t` reports it, exit 4 only with `-e`).
    pub main_file_missing: bool,
    /// An `include` check that was switched on failed (keepalived refuses
    /// to start; `-t` exits 6).
    pub include_error: bool,
}

impl Loaded {
    /// Whether keepalived would refuse to run this config: the file is
    /// missing, a keyword lacks its parameter, a VRID is used twice on an
    /// interface or an interface does not exist (keepalived exits).
    /// Ordinary errors and warnings do not stop keepalived: it ignores the
    /// offending line and runs.
    pub fn has_errors_blocking_start(&self) -> bool {
        self.main_file_missing
            || self.include_error
            || self.diagnostics.iter().any(|d| {
                matches!(
                    d.kind,
                    DiagKind::Fatal | DiagKind::MissingParameter | DiagKind::StartRefused
                )
            })
    }
}

/// Read, parse and validate the config at `path`. Lines are preprocessed,
/// lexed and parsed one top-level block at a time, so memory holds the
/// model and one block, never the whole expanded config.
pub fn load_config(path: &Path, opts: &LoadOptions) -> Loaded {
    let mut lines = preprocess::LineStream::open_file(path, &opts.preprocess);
    let mut stmts = syntax::StmtStream::new(lines.by_ref());
    let mut ctx = Ctx::with_system(Arc::new(system::CachedSystem::new(opts.system.clone())));
    let mut config = model::Config::default();
    for stmt in syntax::adopt_unbraced_blocks(stmts.by_ref(), parse::top_level_has_sublevel) {
        if !ctx.stopped {
            parse::parse_top_level(&mut ctx, std::slice::from_ref(&stmt), &mut config);
        }
    }
    let tree_diags = stmts.take_diagnostics();
    drop(stmts);
    let pre = lines.finish();
    let mut loaded = finish_loading(ctx, config, tree_diags);
    let mut diags = pre.diagnostics;
    diags.append(&mut loaded.diagnostics);
    loaded.diagnostics = diags;
    loaded.files = pre.files;
    loaded.main_file_missing = pre.main_file_missing;
    loaded.include_error = pre.include_error;
    loaded
}

/// Parse and validate already preprocessed lines.
pub fn load_lines(lines: &[Line], system: Arc<dyn System + Send + Sync>) -> Loaded {
    let lexed = lexer::lex_lines(lines);
    let (tree, tree_diags) = syntax::build_tree(&lexed);
    let mut ctx = Ctx::with_system(system);
    let config = parse::parse_config(&mut ctx, &tree);
    finish_loading(ctx, config, tree_diags)
}

/// The cross-block checks and defaults once every statement was parsed.
fn finish_loading(mut ctx: Ctx, mut config: Config, mut tree_diags: Vec<Diagnostic>) -> Loaded {
    validate::finish(&mut ctx, &mut config);
    if !ctx.stopped {
        parse::lvs::validate(&mut ctx, &mut config);
        let sys = ctx.sys.clone();
        parse::lvs::check_system(&mut ctx, &mut config, sys.as_ref());
    }
    tree_diags.append(&mut ctx.diags);
    Loaded {
        config,
        diagnostics: tree_diags,
        files: Vec::new(),
        main_file_missing: false,
        include_error: false,
    }
}

/// Parse a config given as text (tests, tools); `name` is used in spans.
pub fn load_str(text: &str, name: &str, system: Arc<dyn System + Send + Sync>) -> Loaded {
    let lines = preprocess::preprocess_str(text, Path::new(name), &PreprocessOptions::default());
    let mut loaded = load_lines(&lines.lines, system);
    let mut diags = lines.diagnostics;
    diags.append(&mut loaded.diagnostics);
    loaded.diagnostics = diags;
    loaded.include_error = lines.include_error;
    loaded
}
