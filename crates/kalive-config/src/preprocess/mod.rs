//! The preprocessor: files in, [`SourceLine`]s out, exactly as keepalived
//! 2.2.7's `read_line()` (lib/parser.c) produces the lines its keyword parser
//! sees (reference §1.1, man keepalived.conf(5) "ADVANCED CONFIGURATION").
//!
//! Per line, in keepalived's order: read (long lines are cut at 1023 bytes
//! like `fgets`), `decomment` (`#`/`!` outside `"`, `\#`/`\!` escapes, blank
//! trimming), multi-line definition continuation, then repeatedly: `@id` /
//! `@^id`, `$NAME=value`, `~SEQ`/`~LST`, `$NAME` substitution (followed by
//! `decomment` again); finally `include*` detection on the result, and the
//! split of the line before its first `{`/`}` outside double quotes (the rest
//! is processed again as the next line). So `{` and `}` always come out on
//! lines of their own.
//!
//! Where keepalived would hang or exhaust memory (a self-referencing macro, a
//! `~SEQ` over 10^9 values, an include loop) the preprocessor stops with an
//! error diagnostic instead; see [`Limits`].
//!
//! Diagnostics: keepalived's `report_config_error()` messages are
//! [`Severity::Error`](crate::diag::Severity); include problems whose check
//! is on (`include_check`, `-e`, `includer/m/w/b/a`) are `Fatal` with
//! [`DiagKind::Fatal`](crate::diag::DiagKind) and set
//! [`Preprocessed::include_error`] (keepalived `-t` then exits 6); messages
//! keepalived only logs, or prints without changing the `-t` verdict, are
//! `Note`s. Wording is keepalived's.
//!
//! Deliberate differences from keepalived 2.2.7: the limits above; an
//! include loop is skipped with an error; reading past the end of a
//! multi-line value (keepalived reads stray heap bytes) gives an empty line;
//! the children's second pass over keepalived's consolidated config copy is
//! not reproduced. 2.2.7 has no `${_ENV ...}` built-in (it arrived later), so
//! like 2.2.7 such text is left untouched.

mod cbuf;
mod defs;
mod glob;
mod reader;
mod seq;

use crate::diag::Diagnostic;
use crate::source::SourceLine;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use glob::expand_braces;

/// Options that change what the preprocessor produces.
#[derive(Debug, Clone, Default)]
pub struct PreprocessOptions {
    /// Config id for `@id` lines (`-i`; default: host name up to the first dot).
    pub config_id: Option<String>,
    /// `-e/--all-config`: every include check on, missing includes are errors.
    pub all_config: bool,
}

/// Bounds that keep hostile configs from hanging or exhausting memory. The
/// defaults are far above any real configuration (keepalived's own man page
/// example expands to ~900,000 lines).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Total lines produced before preprocessing stops with an error.
    pub max_lines: usize,
    /// Total bytes of produced text before preprocessing stops.
    pub max_bytes: usize,
    /// A single `~SEQ`/`~LST` may not produce more lines than this.
    pub max_sequence_len: u128,
    /// Macro substitutions within one line.
    pub max_substitutions: usize,
    /// Nested include depth.
    pub max_include_depth: usize,
    /// Largest file read.
    pub max_file_bytes: u64,
    /// Follow `include` lines (off for fuzzing with arbitrary text).
    pub follow_includes: bool,
    /// Seed for `${_RANDOM}`; `None` seeds from the clock like keepalived.
    pub random_seed: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_lines: 4_000_000,
            max_bytes: 256 << 20,
            max_sequence_len: 1_000_000,
            max_substitutions: 4096,
            max_include_depth: 64,
            max_file_bytes: 64 << 20,
            follow_includes: true,
            random_seed: None,
        }
    }
}

#[derive(Debug, Default)]
pub struct Preprocessed {
    pub lines: Vec<SourceLine>,
    pub diagnostics: Vec<Diagnostic>,
    /// Every file read, in order (the main file first).
    pub files: Vec<Arc<PathBuf>>,
    /// keepalived's `check_conf_file()` rejected the main config (missing,
    /// unreadable, a directory): the daemon exits 6 (no config). `keepalived
    /// -t` then exits with the diagnostics' verdict, which is 0 unless `-e`
    /// made the missing file an error (keepalived 2.2.7 behaviour).
    pub main_file_missing: bool,
    /// An include check that was switched on failed (keepalived's
    /// `had_config_file_error()`): the daemon refuses to start (exit 6).
    pub include_error: bool,
}

/// keepalived's default config id: the node name up to the first dot.
pub fn default_config_id() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    match name.split_once('.') {
        Some((first, _)) => first.to_string(),
        None => name,
    }
}

/// Preprocess the config at `path` (which keepalived also globs).
pub fn preprocess_file(path: &Path, opts: &PreprocessOptions) -> Preprocessed {
    preprocess_file_with_limits(path, opts, &Limits::default())
}

pub fn preprocess_file_with_limits(
    path: &Path,
    opts: &PreprocessOptions,
    limits: &Limits,
) -> Preprocessed {
    let mut r = reader::Reader::new(opts, limits);
    if r.open_main_file(path) {
        r.run();
    }
    r.finish()
}

/// The preprocessed lines of a config file, produced as they are read
/// (what [`preprocess_file`] collects). Call [`LineStream::finish`] after
/// the last line for the diagnostics and the files read.
pub struct LineStream {
    reader: reader::Reader,
    opened: bool,
}

impl LineStream {
    pub fn open_file(path: &Path, opts: &PreprocessOptions) -> LineStream {
        let mut reader = reader::Reader::new(opts, &Limits::default());
        let opened = reader.open_main_file(path);
        LineStream { reader, opened }
    }

    /// Everything but the lines, which were taken one by one.
    pub fn finish(self) -> Preprocessed {
        self.reader.finish()
    }
}

impl Iterator for LineStream {
    type Item = SourceLine;
    fn next(&mut self) -> Option<SourceLine> {
        if !self.opened {
            return None;
        }
        self.reader.next_line()
    }
}

/// Preprocess `text` as if it were the file `virtual_path` (includes are
/// resolved relative to that path's directory).
pub fn preprocess_str(text: &str, virtual_path: &Path, opts: &PreprocessOptions) -> Preprocessed {
    preprocess_str_with_limits(text, virtual_path, opts, &Limits::default())
}

pub fn preprocess_str_with_limits(
    text: &str,
    virtual_path: &Path,
    opts: &PreprocessOptions,
    limits: &Limits,
) -> Preprocessed {
    let mut r = reader::Reader::new(opts, limits);
    r.open_main_text(text.as_bytes(), virtual_path);
    r.run();
    r.finish()
}

/// keepalived's `check_conf_file()` on the main config before the daemon
/// starts: a missing file, a directory, or anything but a regular
/// non-executable file is refused (keepalived then exits 6, "no config";
/// reference §1.2). The diagnostics say why, in keepalived's words.
pub fn check_main_file(path: &Path) -> Result<(), Vec<Diagnostic>> {
    let mut r = reader::Reader::new(&PreprocessOptions::default(), &Limits::default());
    if r.open_main_file(path) {
        Ok(())
    } else {
        Err(r.finish().diagnostics)
    }
}
