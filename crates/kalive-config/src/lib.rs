//! kalive-config: reads keepalived.conf exactly as keepalived reads it.
//!
//! Pipeline (see ../shared/DESIGN.md, Layers):
//! `preprocess` (include*, `@id`, `$MACROS`, `~SEQ`/`~LST`, comments) turns files
//! into [`source::SourceLine`]s that remember where they came from; the parser
//! splits them into words, builds blocks and fills the typed model, reporting
//! [`diag::Diagnostic`]s with `file:line:col`.

pub mod diag;
pub mod preprocess;
pub mod source;

pub use diag::{Diagnostic, Severity};
pub use source::{SourceLine, Span};
