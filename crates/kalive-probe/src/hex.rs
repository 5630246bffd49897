//! keepalived's hex strings (`payload`, `require_reply`): pairs of hex
//! digits, spaces between bytes, a lone digit before a space is one byte,
//! and `X`/`x` is a wildcard nibble in a reply pattern (keepalived
//! `lib/parser.c:read_hex_str`, keepalived-behaviour §1.12 UDP_CHECK).

use crate::Error;

/// Bytes plus a mask of wildcard bits (a set mask bit matches anything).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HexPattern {
    pub bytes: Vec<u8>,
    pub wildcard: Vec<u8>,
}

impl HexPattern {
    /// Parses `text`; `X` nibbles are accepted (and allowed in a payload,
    /// where they send zero bits, as keepalived does).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bad = || Error::Hex(text.to_owned());
        let mut bytes = Vec::with_capacity(text.len().div_ceil(2));
        let mut wildcard = Vec::with_capacity(bytes.capacity());
        let mut chars = text.chars().peekable();
        loop {
            while matches!(chars.peek(), Some(' ' | '\t')) {
                chars.next();
            }
            let Some(first) = chars.next() else { break };
            let (mut value, mut mask) = nibble(first).ok_or_else(bad)?;
            if let Some(&second) = chars.peek() {
                if second != ' ' && second != '\t' {
                    chars.next();
                    let (low, low_mask) = nibble(second).ok_or_else(bad)?;
                    value = value << 4 | low;
                    mask = mask << 4 | low_mask;
                }
            }
            bytes.push(value);
            wildcard.push(mask);
        }
        if bytes.is_empty() {
            return Err(bad());
        }
        Ok(HexPattern { bytes, wildcard })
    }

    /// keepalived's comparison: only the first `min(reply, pattern)` bytes
    /// are compared, wildcard bits excepted (`check_udp.c:check_udp_reply`).
    pub fn matches_prefix(&self, reply: &[u8]) -> bool {
        reply
            .iter()
            .zip(self.bytes.iter().zip(&self.wildcard))
            .all(|(got, (want, mask))| (got ^ want) & !mask == 0)
    }
}

fn nibble(c: char) -> Option<(u8, u8)> {
    match c {
        'x' | 'X' => Some((0, 0x0f)),
        _ => c.to_digit(16).map(|d| (d as u8, 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_spaces_lone_digits_and_wildcards() {
        let p = HexPattern::parse("0a1B 5 fX  Xx").unwrap();
        assert_eq!(p.bytes, vec![0x0a, 0x1b, 0x05, 0xf0, 0x00]);
        assert_eq!(p.wildcard, vec![0, 0, 0, 0x0f, 0xff]);
    }

    #[test]
    fn rejects_garbage_and_empty() {
        assert!(HexPattern::parse("zz").is_err());
        assert!(HexPattern::parse("   ").is_err());
    }

    #[test]
    fn prefix_comparison_honours_wildcards() {
        let p = HexPattern::parse("41 4X XX").unwrap();
        assert!(p.matches_prefix(b"ABC"));
        assert!(p.matches_prefix(b"AO"));
        assert!(
            p.matches_prefix(b"A"),
            "a shorter reply compares its own length"
        );
        assert!(
            p.matches_prefix(b"AB\x00more"),
            "longer replies compare the pattern length"
        );
        assert!(!p.matches_prefix(b"BB"));
        assert!(
            !p.matches_prefix(b"AP"),
            "0x50 differs in the fixed high nibble"
        );
    }
}
