//! The preprocessor: files in, [`SourceLine`]s out.
//!
//! This first version only reads one file and strips `#`/`!` comments outside
//! quotes; include*, `@id`, `$MACROS`, `~SEQ`/`~LST` and continuations are
//! being added behind the same interface.

use crate::diag::{DiagKind, Diagnostic, Severity};
use crate::source::SourceLine;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Options that change what the preprocessor produces.
#[derive(Debug, Clone, Default)]
pub struct PreprocessOptions {
    /// Config id for `@id` lines (`-i`; default: host name up to the first dot).
    pub config_id: Option<String>,
    /// `-e/--all-config`: every include check on, missing includes are errors.
    pub all_config: bool,
}

#[derive(Debug, Default)]
pub struct Preprocessed {
    pub lines: Vec<SourceLine>,
    pub diagnostics: Vec<Diagnostic>,
    /// Every file read, in order (the main file first).
    pub files: Vec<Arc<PathBuf>>,
}

/// Preprocess the config at `path`.
pub fn preprocess_file(path: &Path, opts: &PreprocessOptions) -> Preprocessed {
    let _ = opts;
    let mut out = Preprocessed::default();
    let file = Arc::new(path.to_path_buf());
    match std::fs::read(path) {
        Ok(bytes) => {
            out.files.push(file.clone());
            let text = String::from_utf8_lossy(&bytes);
            for (i, raw) in text.lines().enumerate() {
                let (stripped, cols) = strip_comment(raw);
                out.lines.push(SourceLine {
                    text: stripped,
                    file: file.clone(),
                    line: (i + 1) as u32,
                    col_map: cols,
                });
            }
        }
        Err(e) => out.diagnostics.push(
            Diagnostic::new(
                Severity::Fatal,
                None,
                format!("cannot read configuration file {}: {e}", path.display()),
            )
            .with_kind(DiagKind::Fatal),
        ),
    }
    out
}

/// Remove a `#` or `!` comment that is not inside quotes.
fn strip_comment(raw: &str) -> (String, Vec<u32>) {
    let mut text = String::new();
    let mut cols = Vec::new();
    let mut quote: Option<char> = None;
    for (i, c) in raw.chars().enumerate() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' || c == '!' => break,
            None => {}
        }
        text.push(c);
        cols.push((i + 1) as u32);
    }
    (text, cols)
}
