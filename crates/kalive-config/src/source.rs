//! Lines after preprocessing, each remembering its origin.

use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

/// A position in a config file: 1-based line and column (in characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Span {
    pub file: Arc<PathBuf>,
    pub line: u32,
    pub col: u32,
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

/// One logical line produced by the preprocessor: comments removed, macros
/// expanded, `@id` resolved, sequences unrolled, continuations joined.
///
/// `col_map[i]` is the 1-based column in the original line of character `i`
/// of `text` where that character came straight from the file; characters
/// produced by macro expansion map to the column of the macro reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    pub text: String,
    pub file: Arc<PathBuf>,
    pub line: u32,
    pub col_map: Vec<u32>,
}

impl SourceLine {
    /// The span of the character at char index `idx` of `text`.
    pub fn span_at(&self, idx: usize) -> Span {
        let col = self
            .col_map
            .get(idx)
            .or_else(|| self.col_map.last())
            .copied()
            .unwrap_or(1);
        Span {
            file: self.file.clone(),
            line: self.line,
            col,
        }
    }
}
