//! A line buffer that behaves like keepalived's `char buf[MAXBUF]`, with a
//! column map carried alongside every byte.
//!
//! keepalived works on NUL-terminated C strings and some of its quirks (the
//! stale length used when stripping `@id` after a substitution, the 1023-byte
//! line limit, `fgets` splitting long lines) only make sense byte by byte, so
//! the preprocessor does the same and converts to `String` at the very end.

/// keepalived's `MAXBUF` (lib/parser.h): a config line holds at most
/// `MAXBUF - 1` bytes.
pub const MAXBUF: usize = 1024;

/// Bytes of a line plus, for each byte, the 1-based column it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Buf {
    pub bytes: Vec<u8>,
    pub cols: Vec<u32>,
}

impl Buf {
    /// A buffer whose bytes come straight from a file line: column of each
    /// byte = 1 + number of characters before it (`start_col` for the first).
    pub fn from_file_bytes(bytes: &[u8], start_col: u32) -> Buf {
        let mut cols = Vec::with_capacity(bytes.len());
        let mut col = start_col;
        for (i, &b) in bytes.iter().enumerate() {
            // A UTF-8 continuation byte belongs to the previous character.
            if i > 0 && (b & 0xC0) != 0x80 {
                col += 1;
            }
            cols.push(col);
        }
        Buf {
            bytes: bytes.to_vec(),
            cols,
        }
    }

    /// A buffer whose every byte maps to `col` (text produced by expansion).
    pub fn uniform(bytes: &[u8], col: u32) -> Buf {
        Buf {
            bytes: bytes.to_vec(),
            cols: vec![col; bytes.len()],
        }
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.cols.clear();
    }

    pub fn truncate(&mut self, len: usize) {
        self.bytes.truncate(len);
        self.cols.truncate(len);
    }

    /// Remove `n` bytes from the front.
    pub fn drop_front(&mut self, n: usize) {
        let n = n.min(self.len());
        self.bytes.drain(..n);
        self.cols.drain(..n);
    }

    /// Remove the byte at `idx`.
    pub fn remove(&mut self, idx: usize) {
        self.bytes.remove(idx);
        self.cols.remove(idx);
    }

    pub fn push(&mut self, b: u8, col: u32) {
        self.bytes.push(b);
        self.cols.push(col);
    }

    /// Split off everything from `at` into a new buffer.
    pub fn split_off(&mut self, at: usize) -> Buf {
        Buf {
            bytes: self.bytes.split_off(at),
            cols: self.cols.split_off(at),
        }
    }

    /// Column of the byte at `idx` (or of the last byte, or 1).
    pub fn col_at(&self, idx: usize) -> u32 {
        self.cols
            .get(idx)
            .or_else(|| self.cols.last())
            .copied()
            .unwrap_or(1)
    }

    pub fn starts_with(&self, prefix: &[u8]) -> bool {
        self.bytes.starts_with(prefix)
    }

    /// Remove trailing spaces and tabs (keepalived's `isblank` trim).
    pub fn trim_end_blanks(&mut self) {
        while matches!(self.bytes.last(), Some(b' ' | b'\t')) {
            self.bytes.pop();
            self.cols.pop();
        }
    }

    /// Remove leading spaces and tabs.
    pub fn trim_start_blanks(&mut self) {
        let n = self
            .bytes
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        self.drop_front(n);
    }

    pub fn lossy_text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// As [`Buf::to_text_and_cols`], reusing the buffers where the text is
    /// ASCII (one character per byte): no copy for most config lines.
    pub fn into_text_and_cols(self) -> (String, Vec<u32>) {
        if self.bytes.is_ascii() {
            let Buf { bytes, cols } = self;
            // ASCII is valid UTF-8, so nothing is replaced.
            let text = String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            return (text, cols);
        }
        self.to_text_and_cols()
    }

    /// The text as a `String` and one column per character of that string.
    pub fn to_text_and_cols(&self) -> (String, Vec<u32>) {
        let text = String::from_utf8_lossy(&self.bytes).into_owned();
        let mut cols = Vec::with_capacity(text.len());
        if std::str::from_utf8(&self.bytes).is_ok() {
            for (idx, _) in text.char_indices() {
                cols.push(self.col_at(idx));
            }
        } else {
            // Invalid UTF-8 was replaced, so byte offsets no longer line up:
            // walk the original bytes with the same decoder to stay aligned.
            let mut idx = 0;
            for chunk in self.bytes.utf8_chunks() {
                for c in chunk.valid().chars() {
                    cols.push(self.col_at(idx));
                    idx += c.len_utf8();
                }
                if !chunk.invalid().is_empty() {
                    cols.push(self.col_at(idx));
                    idx += chunk.invalid().len();
                }
            }
        }
        (text, cols)
    }
}

/// What `decomment` found besides the cleaned line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decommented {
    /// The line (after leading-space removal) still had an open `"`: the
    /// text keepalived prints in "Unterminated quote '%s'".
    pub unterminated_quote: Option<String>,
}

/// keepalived's `decomment()` (lib/parser.c): drop leading blanks, cut a `#`
/// or `!` comment outside double quotes, turn `\#`/`\!` outside quotes into
/// `#`/`!`, drop trailing blanks, and keep a line-final `\` glued to the text
/// (it marks a multi-line definition). Only `"` quotes count here, not `'`.
pub fn decomment(buf: &mut Buf) -> Decommented {
    buf.trim_start_blanks();
    let mut quote = false;
    let mut cont: Option<u32> = None;
    let mut skip: Option<usize> = None;
    let mut p = 0;
    while p < buf.len() {
        match buf.bytes[p] {
            b'"' => {
                if skip.is_none() {
                    quote = !quote;
                }
                p += 1;
            }
            b'\\' => {
                if p + 1 < buf.len() {
                    let next = buf.bytes[p + 1];
                    if !quote && (next == b'#' || next == b'!') {
                        buf.remove(p);
                    }
                    // Either way the escaped character is not looked at.
                    p += 1 + usize::from(quote || (next != b'#' && next != b'!'));
                    continue;
                }
                cont = Some(buf.cols[p]);
                buf.truncate(p);
                break;
            }
            b'#' | b'!' => {
                if !quote && skip.is_none() {
                    skip = Some(p);
                }
                p += 1;
            }
            _ => p += 1,
        }
    }
    let mut out = Decommented::default();
    if quote {
        out.unterminated_quote = Some(buf.lossy_text());
    }
    if let Some(s) = skip {
        buf.truncate(s);
    }
    buf.trim_end_blanks();
    if let Some(col) = cont {
        buf.push(b'\\', col);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> (String, Decommented) {
        let mut b = Buf::from_file_bytes(s.as_bytes(), 1);
        let d = decomment(&mut b);
        assert_eq!(b.bytes.len(), b.cols.len());
        (b.lossy_text(), d)
    }

    #[test]
    fn comments_and_escapes() {
        assert_eq!(dec("  a b # c").0, "a b");
        assert_eq!(dec("a ! c").0, "a");
        assert_eq!(dec("\"a # b\" # c").0, "\"a # b\"");
        assert_eq!(dec("a\\#b").0, "a#b");
        assert_eq!(dec("\"a\\#b\"").0, "\"a\\#b\"");
        assert_eq!(dec("x 'a # b'").0, "x 'a");
        assert_eq!(dec("a   \\").0, "a\\");
        assert_eq!(dec("a # c \\").0, "a\\");
        assert!(dec("a \"b").1.unterminated_quote.is_some());
    }

    #[test]
    fn columns_follow_removed_text() {
        let mut b = Buf::from_file_bytes(b"   ab\\#c", 1);
        decomment(&mut b);
        assert_eq!(b.lossy_text(), "ab#c");
        assert_eq!(b.cols, vec![4, 5, 7, 8]);
    }
}
