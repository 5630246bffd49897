//! Diagnostics: `file:line:col: severity: message`, with the block path.

use crate::source::Span;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational; never changes the verdict.
    Note,
    /// keepalived's "warn, then default or ignore": the daemon starts, but
    /// `keepalived -t` still exits non-zero (5).
    Warning,
    /// A config error (exit 5 in `-t`).
    Error,
    /// Fatal: missing file, bad interface (exit 4 in `-t`).
    Fatal,
}

/// What kind of problem, where it matters for the `-t` exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagKind {
    General,
    /// A keyword without its required parameter (keepalived exits 2).
    MissingParameter,
    /// Script security violation (keepalived exits 6, which wins).
    ScriptSecurity,
    /// Missing config file, bad interface (exit 4).
    Fatal,
    /// `-t` reports it as an ordinary error, but keepalived will not run
    /// the config (it exits 2 at start): a VRID used twice on an interface,
    /// an interface that does not exist. The daemon refuses such a config
    /// at start and at reload alike.
    StartRefused,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub kind: DiagKind,
    pub span: Option<Span>,
    /// Enclosing blocks, outermost first, e.g. `["vrrp_instance VI_1", "track_script"]`.
    pub block_path: Vec<String>,
    pub message: String,
}

impl Diagnostic {
    pub fn new(severity: Severity, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            kind: DiagKind::General,
            span,
            block_path: Vec::new(),
            message: message.into(),
        }
    }
    pub fn error(span: Option<Span>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, span, message)
    }
    pub fn warning(span: Option<Span>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, span, message)
    }
    pub fn with_kind(mut self, kind: DiagKind) -> Self {
        self.kind = kind;
        self
    }
    pub fn in_block(mut self, path: Vec<String>) -> Self {
        self.block_path = path;
        self
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Fatal => "fatal",
        };
        match &self.span {
            Some(s) => write!(f, "{s}: {sev}: {}", self.message)?,
            None => write!(f, "{sev}: {}", self.message)?,
        }
        if !self.block_path.is_empty() {
            write!(f, " (in {})", self.block_path.join(" > "))?;
        }
        Ok(())
    }
}
