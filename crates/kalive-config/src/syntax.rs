//! Syntax tree: words and braces into statements and blocks.
//!
//! A statement is a keyword with the words after it on its line, and an
//! optional `{ ... }` block. As in keepalived (reference §1.1), the `{` may be
//! on the same line or begin the next line, and braces may share a line with
//! other words (`auth_pass 1111 }`). This layer knows no keywords; the keyword
//! tables in [`crate::parse`] give statements their meaning.

use crate::diag::Diagnostic;
use crate::lexer::{lex_line_with, LexedLine, Token, Word};
use crate::source::{SourceLine, Span};

/// Blocks nested deeper than this are skipped whole with an error. Building
/// the tree, parsing it and dropping it all recurse once per level, so a
/// hostile config (`{` after `{`, or an unclosed macro block repeated by
/// `~SEQ` and includes) would otherwise overflow the stack; found by the
/// `config_files` fuzz target (docs/fuzzing.md). keepalived's deepest real
/// nesting is five levels (`virtual_server` > `real_server` > `HTTP_GET` >
/// `url`).
pub const MAX_BLOCK_DEPTH: usize = 64;

/// `keyword args... [{ block }]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    pub keyword: Word,
    pub args: Vec<Word>,
    pub block: Option<Block>,
    /// Set once the statements of the block were asked for
    /// ([`Stmt::children`]): the keyword's handler took the block. A block
    /// nobody took is keepalived's "Unexpected '{'" (see
    /// [`crate::parse::Ctx::run_tables`]).
    pub block_taken: std::cell::Cell<bool>,
}

impl Stmt {
    /// keepalived's end of the current block, where a `}` stands as a
    /// keyword of its own (after an unexpected `{`, see
    /// [`crate::parse::Ctx::run_tables`]).
    pub fn close_brace(span: Span) -> Stmt {
        Stmt {
            keyword: Word {
                text: "}".into(),
                span,
                quoted: false,
            },
            args: Vec::new(),
            block: None,
            block_taken: Default::default(),
        }
    }
    /// Whether this is a block without a keyword (see
    /// [`crate::parse::Ctx::run_tables`]).
    pub fn is_keywordless_block(&self) -> bool {
        self.keyword.text == "{" && !self.keyword.quoted
    }
    /// Whether this is such a `}`.
    pub fn is_close_brace(&self) -> bool {
        self.keyword.text == "}"
            && !self.keyword.quoted
            && self.args.is_empty()
            && self.block.is_none()
    }

    /// The keyword followed by the arguments, as keepalived's `strvec`.
    pub fn words(&self) -> impl Iterator<Item = &Word> {
        std::iter::once(&self.keyword).chain(self.args.iter())
    }
    /// Argument `i` (0-based, after the keyword).
    pub fn arg(&self, i: usize) -> Option<&Word> {
        self.args.get(i)
    }
    pub fn span(&self) -> &Span {
        &self.keyword.span
    }
    /// The statements of the block, or none.
    pub fn children(&self) -> &[Stmt] {
        self.block_taken.set(true);
        self.block
            .as_ref()
            .map(|b| b.stmts.as_slice())
            .unwrap_or(&[])
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub open: Span,
    pub stmts: Vec<Stmt>,
    /// `None` when the file ended before the closing brace.
    pub close: Option<Span>,
    /// The block had no `{`: keepalived took the lines after a keyword
    /// with a sub-level as its block anyway ([`adopt_unbraced_blocks`]).
    pub missing_open: bool,
}

/// keepalived's reading of a top-level keyword that has a sub-level
/// (`vrrp_instance`, `global_defs`, ...) written without its `{`: it says
/// "Missing '{'" and reads the following lines as the block anyway, up to
/// the next `}` (`lib/parser.c:process_stream`, `need_bob`). `has_sublevel`
/// tells which keywords have one; the statements they take get a block
/// marked [`Block::missing_open`].
pub fn adopt_unbraced_blocks<I, F>(stmts: I, has_sublevel: F) -> AdoptUnbraced<I, F>
where
    I: Iterator<Item = Stmt>,
    F: Fn(&str) -> bool,
{
    AdoptUnbraced {
        stmts,
        has_sublevel,
    }
}

/// See [`adopt_unbraced_blocks`].
pub struct AdoptUnbraced<I, F> {
    stmts: I,
    has_sublevel: F,
}

impl<I: Iterator<Item = Stmt>, F: Fn(&str) -> bool> Iterator for AdoptUnbraced<I, F> {
    type Item = Stmt;
    fn next(&mut self) -> Option<Stmt> {
        let mut stmt = self.stmts.next()?;
        if stmt.block.is_some() || stmt.keyword.quoted || !(self.has_sublevel)(&stmt.keyword.text) {
            return Some(stmt);
        }
        let mut body = Vec::new();
        let mut close = None;
        for s in self.stmts.by_ref() {
            if s.is_close_brace() {
                close = Some(s.keyword.span);
                break;
            }
            body.push(s);
        }
        stmt.block = Some(Block {
            open: stmt.keyword.span.clone(),
            stmts: body,
            close,
            missing_open: true,
        });
        Some(stmt)
    }
}

/// Tokens with line ends, flattened.
#[derive(Debug, Clone)]
enum Tok {
    T(Token),
    Eol,
}

/// Build the statement tree of a whole config. Structural problems
/// (unterminated blocks, stray braces) are reported as diagnostics; the tree
/// is always returned so that parsing can go on, as keepalived does.
pub fn build_tree(lines: &[LexedLine]) -> (Vec<Stmt>, Vec<Diagnostic>) {
    let toks = lines.iter().flat_map(|l| {
        l.tokens
            .iter()
            .cloned()
            .map(Tok::T)
            .chain(std::iter::once(Tok::Eol))
    });
    let mut b = Builder::new(toks);
    let stmts = b.body(None);
    (stmts, b.diags)
}

/// Top-level statements one at a time, lexing source lines only as they are
/// needed: a large config never exists as a whole tree (or as all its
/// lines) at once, only the model it fills does.
pub struct StmtStream<I: Iterator<Item = SourceLine>> {
    builder: Builder<LineToks<I>>,
}

impl<I: Iterator<Item = SourceLine>> StmtStream<I> {
    pub fn new(lines: I) -> Self {
        StmtStream {
            builder: Builder::new(LineToks {
                lines,
                pending: std::collections::VecDeque::new(),
            }),
        }
    }

    /// Structural diagnostics found so far (all of them once the stream
    /// is exhausted), in the order [`build_tree`] reports them.
    pub fn take_diagnostics(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.builder.diags)
    }
}

impl<I: Iterator<Item = SourceLine>> Iterator for StmtStream<I> {
    type Item = Stmt;
    fn next(&mut self) -> Option<Stmt> {
        self.builder.next_top_level()
    }
}

/// Tokens of lines lexed on demand; empty lines give nothing, not even an
/// end of line (as [`crate::lexer::lex_lines`] drops them).
struct LineToks<I> {
    lines: I,
    pending: std::collections::VecDeque<Tok>,
}

impl<I: Iterator<Item = SourceLine>> Iterator for LineToks<I> {
    type Item = Tok;
    fn next(&mut self) -> Option<Tok> {
        while self.pending.is_empty() {
            let line = self.lines.next()?;
            let pending = &mut self.pending;
            lex_line_with(&line, |t| pending.push_back(Tok::T(t)));
            if !pending.is_empty() {
                pending.push_back(Tok::Eol);
            }
        }
        self.pending.pop_front()
    }
}

struct Builder<T: Iterator<Item = Tok>> {
    toks: T,
    /// Tokens read ahead (at most two: a line end and a `{`).
    ahead: std::collections::VecDeque<Tok>,
    diags: Vec<Diagnostic>,
    /// Blocks open around the current token.
    depth: usize,
}

impl<T: Iterator<Item = Tok>> Builder<T> {
    fn new(toks: T) -> Self {
        Builder {
            toks,
            ahead: std::collections::VecDeque::new(),
            diags: Vec::new(),
            depth: 0,
        }
    }

    /// The token `k` places ahead, without consuming it.
    fn peek_at(&mut self, k: usize) -> Option<&Tok> {
        while self.ahead.len() <= k {
            let t = self.toks.next()?;
            self.ahead.push_back(t);
        }
        self.ahead.get(k)
    }

    fn next_tok(&mut self) -> Option<Tok> {
        self.ahead.pop_front().or_else(|| self.toks.next())
    }

    /// Statements up to the matching `}` (consumed) or the end of input.
    /// `opened` is the span of the `{` of this block (None at top level).
    fn body(&mut self, opened: Option<&Span>) -> Vec<Stmt> {
        self.body_with_close(opened).0
    }

    /// The next statement at the top level (what `body(None)` collects).
    fn next_top_level(&mut self) -> Option<Stmt> {
        loop {
            let tok = self.next_tok()?;
            if let Some(stmt) = self.top_level_token(tok) {
                return Some(stmt);
            }
        }
    }

    fn top_level_token(&mut self, tok: Tok) -> Option<Stmt> {
        match tok {
            Tok::Eol => None,
            Tok::T(Token::Close(span)) => {
                // keepalived: "Extra '}' found"; the brace then reaches the
                // keyword parser, which calls it an unknown keyword (or
                // ends a block opened without its `{`).
                self.diags
                    .push(Diagnostic::error(Some(span.clone()), "Extra '}' found"));
                Some(Stmt::close_brace(span))
            }
            Tok::T(Token::Open(span)) => Some(self.keywordless_block(span)),
            Tok::T(Token::Word(w)) => Some(self.statement(w)),
        }
    }

    /// A block with no keyword: a statement whose keyword is the `{`
    /// itself. keepalived says "Unexpected '{'" and reads its lines at the
    /// current level ([`crate::parse::Ctx::run_tables`]).
    fn keywordless_block(&mut self, span: Span) -> Stmt {
        let (stmts, close) = self.body_with_close(Some(&span));
        Stmt {
            keyword: Word {
                text: "{".into(),
                span: span.clone(),
                quoted: false,
            },
            args: Vec::new(),
            block: Some(Block {
                open: span,
                stmts,
                close,
                missing_open: false,
            }),
            block_taken: Default::default(),
        }
    }

    fn body_with_close(&mut self, opened: Option<&Span>) -> (Vec<Stmt>, Option<Span>) {
        let Some(open) = opened else {
            return self.statements_until_close(None);
        };
        if self.depth >= MAX_BLOCK_DEPTH {
            return (Vec::new(), self.skip_too_deep(open));
        }
        self.depth += 1;
        let body = self.statements_until_close(Some(open));
        self.depth -= 1;
        body
    }

    /// A block nested deeper than [`MAX_BLOCK_DEPTH`]: its tokens up to the
    /// matching `}` (returned) are consumed without building anything.
    fn skip_too_deep(&mut self, open: &Span) -> Option<Span> {
        self.diags.push(Diagnostic::error(
            Some(open.clone()),
            format!("blocks nested more than {MAX_BLOCK_DEPTH} deep, block skipped"),
        ));
        let mut depth = 1usize;
        while let Some(tok) = self.next_tok() {
            match tok {
                Tok::T(Token::Open(_)) => depth += 1,
                Tok::T(Token::Close(span)) => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(span);
                    }
                }
                _ => {}
            }
        }
        None
    }

    fn statements_until_close(&mut self, opened: Option<&Span>) -> (Vec<Stmt>, Option<Span>) {
        let mut stmts = Vec::new();
        while let Some(tok) = self.next_tok() {
            match tok {
                Tok::T(Token::Close(span)) if opened.is_some() => {
                    return (stmts, Some(span));
                }
                other => stmts.extend(self.top_level_token(other)),
            }
        }
        if let Some(open) = opened {
            // keepalived counts them: "There are N missing '}'s or extra
            // '{'s"; we report each unclosed block at its '{'.
            self.diags.push(Diagnostic::error(
                Some(open.clone()),
                "There are 1 missing '}'s or extra '{'s (block opened here is not closed)",
            ));
        }
        (stmts, None)
    }

    fn statement(&mut self, keyword: Word) -> Stmt {
        let mut args = Vec::new();
        while let Some(Tok::T(Token::Word(_))) = self.peek_at(0) {
            if let Some(Tok::T(Token::Word(w))) = self.next_tok() {
                args.push(w);
            }
        }
        let block = self.block_after_statement();
        Stmt {
            keyword,
            args,
            block,
            block_taken: Default::default(),
        }
    }

    /// A `{` right after the words, or as the first token of the next line.
    fn block_after_statement(&mut self) -> Option<Block> {
        // Empty lines never reach here (the lexer drops them), so the next
        // line's first token is right after one line end.
        let look = usize::from(matches!(self.peek_at(0), Some(Tok::Eol)));
        if !matches!(self.peek_at(look), Some(Tok::T(Token::Open(_)))) {
            return None;
        }
        for _ in 0..look {
            self.next_tok();
        }
        let Some(Tok::T(Token::Open(span))) = self.next_tok() else {
            return None;
        };
        let (stmts, close) = self.body_with_close(Some(&span));
        Some(Block {
            open: span,
            stmts,
            close,
            missing_open: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::lex_lines;
    use std::path::PathBuf;
    use std::sync::Arc;

    pub(crate) fn lines(text: &str) -> Vec<SourceLine> {
        let file = Arc::new(PathBuf::from("t.conf"));
        text.lines()
            .enumerate()
            .map(|(i, l)| SourceLine {
                text: l.to_string(),
                file: file.clone(),
                line: i as u32 + 1,
                col_map: (1..=l.chars().count() as u32).collect(),
            })
            .collect()
    }

    fn tree(text: &str) -> (Vec<Stmt>, Vec<Diagnostic>) {
        build_tree(&lex_lines(&lines(text)))
    }

    #[test]
    fn brace_on_next_line_and_shared_lines() {
        let (t, d) = tree("vrrp_instance A\n{\n state MASTER }\nglobal_defs { router_id x }\n");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].children()[0].keyword.text, "state");
        assert_eq!(t[0].children()[0].args[0].text, "MASTER");
        assert_eq!(t[1].children()[0].args[0].text, "x");
    }

    #[test]
    fn deep_nesting_is_cut_not_a_stack_overflow() {
        // Found by the config_files fuzz target: 100,000 nested blocks
        // overflowed the stack (SIGSEGV) in the tree builder.
        let depth = 100_000;
        let text = format!("{}{}", "a {\n".repeat(depth), "}\n".repeat(depth));
        let (t, d) = tree(&text);
        let cut: Vec<_> = d.iter().filter(|d| d.message.contains("nested")).collect();
        assert_eq!(cut.len(), 1, "{:?}", &d[..d.len().min(3)]);
        assert_eq!(
            cut[0].span.as_ref().map(|s| s.line),
            Some(MAX_BLOCK_DEPTH as u32 + 1)
        );
        assert_eq!(d.len(), 1, "the skipped block is balanced: {:?}", &d[..2]);
        // The tree keeps the first MAX_BLOCK_DEPTH levels, then the
        // skipped block's keyword with an empty, closed block.
        let mut levels = 0;
        let mut stmt = &t[0];
        while let Some(next) = stmt.children().first() {
            stmt = next;
            levels += 1;
        }
        assert_eq!(levels, MAX_BLOCK_DEPTH);
        assert!(stmt.block.as_ref().is_some_and(|b| b.close.is_some()));
        // Keywordless and unclosed: still no overflow.
        let (_, d) = tree(&"{\n".repeat(depth));
        assert!(d.iter().any(|d| d.message.contains("nested")));
        let (t, _) = tree(&format!("{}after\n", "b {\n".repeat(depth)));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn unterminated_block_is_reported_at_its_open_brace() {
        let (_, d) = tree("vrrp_instance A {\n state MASTER\n");
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("missing '}'s"));
        assert_eq!(d[0].span.as_ref().map(|s| (s.line, s.col)), Some((1, 17)));
    }

    #[test]
    fn stray_close_is_reported() {
        let (t, d) = tree("a {\n}\n}\n");
        assert_eq!(t.len(), 2);
        assert!(t[1].is_close_brace());
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].span.as_ref().map(|s| s.line), Some(3));
    }
}
