//! Lexer: [`SourceLine`]s into words and braces, with spans.
//!
//! keepalived's rules (reference §1.1, man5 "quoting"): words are separated by
//! whitespace; `{` and `}` are words of their own even without spaces around
//! them; `"..."` and `'...'` quote (the quote characters are removed, inner
//! whitespace kept, a quote of the other kind inside is literal); inside quotes
//! the shell-like escapes `\a \b \E \f \n \r \t \v \nnn \xXX \cC` apply and `\C`
//! is `C`.

use crate::source::{SourceLine, Span};
use serde::Serialize;

/// One word of a config line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Word {
    /// The word with quotes removed and escapes applied.
    pub text: String,
    /// Where the word starts.
    pub span: Span,
    /// Whether any part of the word was quoted.
    pub quoted: bool,
}

/// A lexical token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Word(Word),
    Open(Span),
    Close(Span),
}

impl Token {
    pub fn span(&self) -> &Span {
        match self {
            Token::Word(w) => &w.span,
            Token::Open(s) | Token::Close(s) => s,
        }
    }
}

/// The tokens of one source line, with the line's own span.
#[derive(Debug, Clone)]
pub struct LexedLine {
    pub tokens: Vec<Token>,
    /// Span of the first character of the line (for "missing" diagnostics).
    pub span: Span,
}

/// Split every line into tokens; empty lines are dropped. An unterminated
/// quote ends at the end of its line (keepalived does the same).
pub fn lex_lines(lines: &[SourceLine]) -> Vec<LexedLine> {
    lines
        .iter()
        .filter_map(|l| {
            let tokens = lex_line(l);
            (!tokens.is_empty()).then(|| LexedLine {
                tokens,
                span: l.span_at(0),
            })
        })
        .collect()
}

/// Split one line into tokens.
pub fn lex_line(line: &SourceLine) -> Vec<Token> {
    let mut out = Vec::new();
    lex_line_with(line, |t| out.push(t));
    out
}

/// As [`lex_line`], handing each token to `out` (no vector per line).
pub fn lex_line_with(line: &SourceLine, out: impl FnMut(Token)) {
    // Columns are per character: an ASCII line is its own character array,
    // so most lines need no `Vec<char>`.
    if line.text.is_ascii() {
        lex_chars(line, line.text.as_bytes(), out)
    } else {
        let chars: Vec<char> = line.text.chars().collect();
        lex_chars(line, &chars, out)
    }
}

fn lex_chars<C: Copy + Into<char>>(line: &SourceLine, chars: &[C], mut out: impl FnMut(Token)) {
    let mut i = 0;
    while i < chars.len() {
        let c: char = chars[i].into();
        if c.is_whitespace() {
            i += 1;
        } else if c == '{' {
            out(Token::Open(line.span_at(i)));
            i += 1;
        } else if c == '}' {
            out(Token::Close(line.span_at(i)));
            i += 1;
        } else {
            let start = i;
            let (word, quoted, next) = read_word(chars, i);
            out(Token::Word(Word {
                text: word,
                span: line.span_at(start),
                quoted,
            }));
            i = next;
        }
    }
}

/// Read one word starting at `i`; returns (text, quoted, index after word).
fn read_word<C: Copy + Into<char>>(chars: &[C], mut i: usize) -> (String, bool, usize) {
    // Room for the word up to the next blank: an unquoted word is then
    // built without growing.
    let guess = chars[i..]
        .iter()
        .position(|&c| c.into().is_whitespace())
        .unwrap_or(chars.len() - i);
    let mut text = String::with_capacity(guess);
    let mut quoted = false;
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c: char = chars[i].into();
        match quote {
            Some(q) if c == q => {
                quote = None;
                i += 1;
            }
            Some(_) if c == '\\' => {
                i = read_escape(chars, i + 1, &mut text);
            }
            Some(_) => {
                text.push(c);
                i += 1;
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                quoted = true;
                i += 1;
            }
            None if c.is_whitespace() || c == '{' || c == '}' => break,
            None => {
                text.push(c);
                i += 1;
            }
        }
    }
    (text, quoted, i)
}

/// Apply the escape whose letter is at `i` (just after the backslash);
/// returns the index after the escape.
fn read_escape<C: Copy + Into<char>>(chars: &[C], i: usize, out: &mut String) -> usize {
    let Some(c) = chars.get(i).map(|&c| c.into()) else {
        out.push('\\');
        return i;
    };
    let simple = match c {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'E' => Some('\x1b'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        _ => None,
    };
    if let Some(s) = simple {
        out.push(s);
        return i + 1;
    }
    match c {
        '0'..='7' => {
            let mut v = 0u32;
            let mut j = i;
            while j < chars.len() && j < i + 3 && ('0'..='7').contains(&chars[j].into()) {
                v = v * 8 + chars[j].into().to_digit(8).unwrap_or(0);
                j += 1;
            }
            out.push(char::from_u32(v & 0xff).unwrap_or('\0'));
            j
        }
        'x' => {
            let mut v = 0u32;
            let mut j = i + 1;
            while j < chars.len() && chars[j].into().is_ascii_hexdigit() {
                v = (v.wrapping_mul(16) + chars[j].into().to_digit(16).unwrap_or(0)) & 0xff;
                j += 1;
            }
            if j == i + 1 {
                out.push('x');
            } else {
                out.push(char::from_u32(v).unwrap_or('\0'));
            }
            j
        }
        'c' => match chars.get(i + 1).map(|&cc| cc.into()) {
            Some(cc) => {
                out.push(char::from_u32((cc.to_ascii_uppercase() as u32) ^ 0x40).unwrap_or(cc));
                i + 2
            }
            None => {
                out.push('c');
                i + 1
            }
        },
        other => {
            out.push(other);
            i + 1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::Arc;

    fn line(text: &str) -> SourceLine {
        SourceLine {
            text: text.to_string(),
            file: Arc::new(PathBuf::from("t.conf")),
            line: 1,
            col_map: (1..=text.chars().count() as u32).collect(),
        }
    }

    fn words(text: &str) -> Vec<String> {
        lex_line(&line(text))
            .into_iter()
            .map(|t| match t {
                Token::Word(w) => w.text,
                Token::Open(_) => "{".into(),
                Token::Close(_) => "}".into(),
            })
            .collect()
    }

    #[test]
    fn braces_are_words_of_their_own() {
        assert_eq!(words("a{b}c"), ["a", "{", "b", "}", "c"]);
        assert_eq!(
            words("  vrrp_instance VI_1 {"),
            ["vrrp_instance", "VI_1", "{"]
        );
    }

    #[test]
    fn quotes_keep_spaces_and_inner_other_quotes() {
        assert_eq!(
            words(r#"script "killall -0 'a b'""#),
            ["script", "killall -0 'a b'"]
        );
        assert_eq!(words("x 'a \"b\" c'"), ["x", "a \"b\" c"]);
        assert_eq!(words(r#"x a"b c"d"#), ["x", "ab cd"]);
        assert_eq!(words(r#"x "{ }""#), ["x", "{ }"]);
    }

    #[test]
    fn escapes_inside_quotes() {
        assert_eq!(
            words(r#""\a\b\E\f\n\r\t\v""#),
            ["\x07\x08\x1b\x0c\n\r\t\x0b"]
        );
        assert_eq!(words(r#""\101\x41\cA\\\"q""#), ["AA\x01\\\"q"]);
        assert_eq!(words(r"a\tb"), [r"a\tb"]);
    }

    #[test]
    fn spans_point_at_word_starts() {
        let toks = lex_line(&line("  priority  100"));
        assert_eq!(toks[0].span().col, 3);
        assert_eq!(toks[1].span().col, 13);
    }
}
