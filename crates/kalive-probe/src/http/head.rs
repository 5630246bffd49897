//! Reading the head of an HTTP response the way keepalived does
//! (`lib/html.c`): the body starts after the first CRLFCRLF, the status is
//! the three digits after the first space, and `Content-Length` caps the
//! bytes that go into the digest. No chunked decoding: keepalived digests
//! the bytes on the wire, chunk sizes included, and so must we for the same
//! `digest` to match.

/// What the head says. `status_code` is 0 when the status line cannot be read
/// (keepalived then fails the check with a status code error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    pub status_code: u16,
    pub content_length: Option<u64>,
}

/// Index just past the first `\r\n\r\n` in `buf`, searching from `from`
/// (bytes before it were searched already, minus a 3-byte overlap).
pub(crate) fn find_body_start(buf: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(3);
    buf.get(start..)?
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| start + i + 4)
}

pub(crate) fn parse_head(head: &[u8]) -> Head {
    Head {
        status_code: status_code(head),
        content_length: content_length(head),
    }
}

/// keepalived `extract_status_code`: skip to the first space of the status
/// line, then exactly three digits. keepalived also needs a space after the
/// digits; we accept the end of the line too (`HTTP/1.1 200` without a
/// reason phrase is valid per RFC 9112 §4).
fn status_code(head: &[u8]) -> u16 {
    let line_end = head.iter().position(|&b| b == b'\r').unwrap_or(head.len());
    let line = &head[..line_end];
    let Some(space) = line.iter().position(|&b| b == b' ') else {
        return 0;
    };
    let rest = &line[space + 1..];
    match rest {
        [a, b, c, tail @ ..]
            if a.is_ascii_digit()
                && b.is_ascii_digit()
                && c.is_ascii_digit()
                && matches!(tail.first(), None | Some(b' ')) =>
        {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => 0,
    }
}

/// keepalived `extract_content_length`: a decimal value ending the line; any
/// other value means "unknown" (the digest then runs to the end of stream).
/// keepalived matches the name case-sensitively anywhere in its buffer; we
/// match it as a header name, case-insensitively (RFC 9110 §5.1), which
/// gives the same value for every server that sends it once.
fn content_length(head: &[u8]) -> Option<u64> {
    const NAME: &[u8] = b"content-length:";
    head.split(|&b| b == b'\n').skip(1).find_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() < NAME.len() || !line[..NAME.len()].eq_ignore_ascii_case(NAME) {
            return None;
        }
        let value = line[NAME.len()..].trim_ascii();
        if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(value).ok()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_start_is_after_the_first_blank_line() {
        let r = b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody\r\n\r\n";
        assert_eq!(find_body_start(r, 0), Some(25));
        assert_eq!(&r[25..29], b"body");
        assert_eq!(
            find_body_start(b"HTTP/1.0 200 OK\n\nbody", 0),
            None,
            "bare LF is no end"
        );
        // Resuming a search keeps a 3-byte overlap.
        assert_eq!(find_body_start(b"xx\r\n\r\n", 4), Some(6));
    }

    #[test]
    fn status_codes_as_keepalived_reads_them() {
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\n").status_code, 200);
        assert_eq!(parse_head(b"HTTP/1.1 404 Not Found").status_code, 404);
        assert_eq!(parse_head(b"HTTP/1.1 204\r\n").status_code, 204);
        assert_eq!(parse_head(b"HTTP/1.1 2000 OK\r\n").status_code, 0);
        assert_eq!(parse_head(b"HTTP/1.1  200 OK\r\n").status_code, 0);
        assert_eq!(parse_head(b"garbage\r\n").status_code, 0);
        assert_eq!(parse_head(b"").status_code, 0);
    }

    #[test]
    fn content_length_values() {
        let head = |h: &str| parse_head(format!("HTTP/1.1 200 OK\r\n{h}\r\n").as_bytes());
        assert_eq!(head("Content-Length: 42").content_length, Some(42));
        assert_eq!(head("content-length:7").content_length, Some(7));
        assert_eq!(head("Content-Length: 4x").content_length, None);
        assert_eq!(head("X-Content-Length: 4").content_length, None);
        assert_eq!(head("Server: x").content_length, None);
    }
}
