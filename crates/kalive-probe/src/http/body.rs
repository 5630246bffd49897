//! The body of a response, consumed as it arrives: bytes up to
//! `Content-Length` go into the MD5 (keepalived `http_process_response`),
//! the regex sees a sliding window, and nothing is kept whole.

use md5::{Digest, Md5};

use super::RegexCheck;

/// How much of the body the regex window keeps between reads: a match longer
/// than this can be missed, as keepalived misses one longer than its 4 KiB
/// buffer.
pub(crate) const REGEX_KEEP: usize = 4096;

pub(crate) struct Body<'a> {
    content_length: Option<u64>,
    /// Body bytes received so far (all of them, past Content-Length too).
    received: u64,
    md5: Option<Md5>,
    regex: Option<RegexScan<'a>>,
}

impl<'a> Body<'a> {
    pub fn new(content_length: Option<u64>, digest: bool, regex: Option<&'a RegexCheck>) -> Self {
        Body {
            content_length,
            received: 0,
            md5: digest.then(Md5::new),
            regex: regex.map(RegexScan::new),
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        // Only bytes within Content-Length count, as in keepalived.
        let counted = match self.content_length {
            Some(len) => {
                let left = len.saturating_sub(self.received);
                &chunk[..chunk.len().min(usize::try_from(left).unwrap_or(usize::MAX))]
            }
            None => chunk,
        };
        if let Some(md5) = &mut self.md5 {
            md5.update(counted);
        }
        if let Some(scan) = &mut self.regex {
            scan.feed(counted);
        }
        self.received += chunk.len() as u64;
    }

    /// The whole announced body has arrived: no need to wait for the close.
    pub fn complete(&self) -> bool {
        self.content_length.is_some_and(|len| self.received >= len)
    }

    pub fn received(&self) -> u64 {
        self.received
    }

    pub fn regex_matched(&self) -> Option<bool> {
        self.regex.as_ref().map(|scan| scan.matched)
    }

    pub fn digest(self) -> Option<[u8; 16]> {
        self.md5.map(|md5| md5.finalize().into())
    }
}

struct RegexScan<'a> {
    check: &'a RegexCheck,
    window: Vec<u8>,
    /// Body offset of `window[0]`.
    window_start: u64,
    matched: bool,
    /// A match is no longer possible (past `regex_max_offset`).
    done: bool,
}

impl<'a> RegexScan<'a> {
    fn new(check: &'a RegexCheck) -> Self {
        RegexScan {
            check,
            window: Vec::with_capacity(2 * REGEX_KEEP),
            window_start: 0,
            matched: false,
            done: false,
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        if self.done || chunk.is_empty() {
            return;
        }
        self.window.extend_from_slice(chunk);
        let from = usize::try_from(self.check.min_offset.saturating_sub(self.window_start))
            .unwrap_or(usize::MAX);
        if from <= self.window.len() {
            if let Some(found) = self.check.regex.find_at(&self.window, from) {
                let at = self.window_start + found.start() as u64;
                self.matched = self.check.max_offset.is_none_or(|max| at <= max);
                self.done = true;
                self.window = Vec::new();
                return;
            }
        }
        let end = self.window_start + self.window.len() as u64;
        if self
            .check
            .max_offset
            .is_some_and(|max| end > max + REGEX_KEEP as u64)
        {
            // Any later match would start past the limit.
            self.done = true;
            self.window = Vec::new();
            return;
        }
        if self.window.len() > REGEX_KEEP {
            let drop = self.window.len() - REGEX_KEEP;
            self.window.drain(..drop);
            self.window_start += drop as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regex(pattern: &str) -> RegexCheck {
        RegexCheck::new(pattern, false).unwrap()
    }

    fn md5_of(data: &[u8]) -> [u8; 16] {
        Md5::digest(data).into()
    }

    #[test]
    fn digest_stops_at_content_length() {
        let mut body = Body::new(Some(5), true, None);
        body.feed(b"hel");
        body.feed(b"lo world");
        assert!(body.complete());
        assert_eq!(body.received(), 11);
        assert_eq!(body.digest(), Some(md5_of(b"hello")));
    }

    #[test]
    fn digest_without_length_takes_everything() {
        let mut body = Body::new(None, true, None);
        body.feed(b"4\r\nbody\r\n0\r\n\r\n");
        assert!(!body.complete());
        assert_eq!(body.digest(), Some(md5_of(b"4\r\nbody\r\n0\r\n\r\n")));
    }

    #[test]
    fn regex_matches_across_reads_and_far_into_a_large_body() {
        let check = regex("needle");
        let mut body = Body::new(None, false, Some(&check));
        body.feed(b"hay nee");
        assert_eq!(body.regex_matched(), Some(false));
        body.feed(b"dle hay");
        assert_eq!(body.regex_matched(), Some(true));

        let mut body = Body::new(None, false, Some(&check));
        let hay = vec![b'h'; 1000];
        for _ in 0..10_000 {
            body.feed(&hay);
        }
        assert_eq!(body.regex_matched(), Some(false));
        body.feed(b"xxneedlexx");
        assert_eq!(body.regex_matched(), Some(true));
    }

    #[test]
    fn regex_offsets_bound_where_a_match_may_start() {
        let mut check = regex("ok");
        check.min_offset = 4;
        let mut body = Body::new(None, false, Some(&check));
        body.feed(b"ok..ok");
        assert_eq!(body.regex_matched(), Some(true));

        check.min_offset = 0;
        check.max_offset = Some(3);
        let mut body = Body::new(None, false, Some(&check));
        body.feed(b"....ok");
        assert_eq!(body.regex_matched(), Some(false));
    }
}
