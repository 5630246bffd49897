//! Number, timer and hex readers with keepalived 2.2.7's exact messages.
//!
//! keepalived's `read_unsigned_strvec`, `read_int_strvec` and `read_timer`
//! (lib/parser.c) print their own line before the handler adds its own, and
//! `keepalived -t` counts both. The wording below was taken from running
//! Debian's keepalived 2.2.7 (`keepalived -t`) on probe configs:
//!
//! - `invalid number 'abc'`, `negative number '-1'`,
//!   `number '0' outside range [1, 65535]`;
//! - `number '2147483648' outside integer range` for signed values;
//! - `number '4294967296' outside unsigned integer range` beyond 32 bits;
//! - timers: `number '0' outside range [0.000001, 4294.967295]`; a word
//!   with junk (`1.5x`, `1e3`, `abc`) is reported as invalid but its leading
//!   number (0 if none) is used when in range, so `warmup abc` means 0 and
//!   the handler's own message does not follow.

use crate::lexer::Word;
use crate::parse::Ctx;
use std::time::Duration;

/// keepalived's largest "no limit" timer, `ULONG_MAX - 1` µs.
pub(super) const TIMER_MAX: Duration = Duration::from_micros(u64::MAX - 1);
/// The usual `UINT_MAX` µs bound (connect_timeout).
pub(super) const TIMER_UINT_MAX: Duration = Duration::from_micros(u32::MAX as u64);
/// Smallest positive timer, 1 µs.
pub(super) const TIMER_MIN: Duration = Duration::from_micros(1);

/// An unsigned decimal in `min..=max`, reporting problems like keepalived.
pub(super) fn read_unsigned(ctx: &mut Ctx, w: &Word, min: u64, max: u64) -> Option<u64> {
    let s = w.text.as_str();
    if is_negative(s) {
        ctx.warning(&w.span, format!("negative number '{s}'"));
        return None;
    }
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        ctx.warning(&w.span, format!("invalid number '{s}'"));
        return None;
    }
    let value = digits
        .parse::<u64>()
        .ok()
        .filter(|v| *v <= u64::from(u32::MAX));
    let Some(value) = value else {
        ctx.warning(
            &w.span,
            format!("number '{s}' outside unsigned integer range"),
        );
        return None;
    };
    match value {
        v if (min..=max).contains(&v) => Some(v),
        _ => {
            ctx.warning(
                &w.span,
                format!("number '{s}' outside range [{min}, {max}]"),
            );
            None
        }
    }
}

/// A signed decimal in `min..=max` (within `i32`).
pub(super) fn read_int(ctx: &mut Ctx, w: &Word, min: i64, max: i64) -> Option<i64> {
    let s = w.text.as_str();
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        ctx.warning(&w.span, format!("invalid number '{s}'"));
        return None;
    }
    let v = match s.parse::<i64>() {
        Ok(v) if i32::try_from(v).is_ok() => v,
        _ => {
            ctx.warning(&w.span, format!("number '{s}' outside integer range"));
            return None;
        }
    };
    if !(min..=max).contains(&v) {
        ctx.warning(
            &w.span,
            format!("number '{s}' outside range [{min}, {max}]"),
        );
        return None;
    }
    Some(v)
}

/// What a timer word turned out to be.
pub(super) enum Timer {
    /// A usable value (possibly after a warning about trailing junk).
    Ok(Duration),
    /// Unusable: keepalived's handler then adds its own message.
    Bad,
}

/// keepalived's `read_timer`: decimal seconds with µs resolution.
pub(super) fn read_timer(ctx: &mut Ctx, w: &Word, min: Duration, max: Duration) -> Timer {
    let s = w.text.as_str();
    if is_negative(s) {
        ctx.warning(&w.span, format!("negative number '{s}'"));
        return Timer::Bad;
    }
    // keepalived reads the leading number (none reads as 0) and warns about
    // anything after it; only a value out of range is refused, and the
    // range is not reported again when junk was.
    let (micros, rest) = leading_decimal_micros(s.strip_prefix('+').unwrap_or(s)).unwrap_or((0, s));
    let junk = !rest.is_empty();
    if junk {
        ctx.warning(&w.span, format!("invalid number '{s}'"));
    }
    let d = Duration::from_micros(micros);
    if d < min || d > max {
        if !junk {
            ctx.warning(
                &w.span,
                format!(
                    "number '{s}' outside range [{}, {}]",
                    fmt_micros(min),
                    fmt_micros(max)
                ),
            );
        }
        return Timer::Bad;
    }
    Timer::Ok(d)
}

fn is_negative(s: &str) -> bool {
    s.strip_prefix('-')
        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit() || c == '.'))
}

/// The leading `digits[.digits]` of `s` in µs (more than 6 decimals are
/// truncated), and what follows it. `None` when there is no digit at all.
fn leading_decimal_micros(s: &str) -> Option<(u64, &str)> {
    let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
    let (int, after) = s.split_at(int_len);
    let (frac, rest) = match after.strip_prefix('.') {
        Some(f) => {
            let n = f.bytes().take_while(u8::is_ascii_digit).count();
            f.split_at(n)
        }
        None => ("", after),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let whole: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut micros = 0u64;
    for c in frac.bytes().chain(std::iter::repeat(b'0')).take(6) {
        micros = micros * 10 + u64::from(c - b'0');
    }
    Some((whole.checked_mul(1_000_000)?.checked_add(micros)?, rest))
}

/// `S.UUUUUU`, as keepalived prints timer bounds.
fn fmt_micros(d: Duration) -> String {
    let us = d.as_micros();
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

/// keepalived's `read_hex_str`: whitespace-separated groups of hex digits,
/// two digits a byte, a lone last digit a byte of its own (`Ab12f 3` is
/// AB 12 0F 03). With `allow_wildcard`, `X`/`x` digits are "don't care":
/// the returned mask has those bits cleared. `None` if any other character
/// appears or nothing is given.
pub(super) fn read_hex(s: &str, allow_wildcard: bool) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut bytes = Vec::new();
    let mut mask = Vec::new();
    for group in s.split_whitespace() {
        let digits: Vec<char> = group.chars().collect();
        for pair in digits.chunks(2) {
            let (hi, lo) = match pair {
                [a, b] => (Some(*a), *b),
                [a] => (None, *a),
                _ => return None,
            };
            let (hv, hm) = match hi {
                Some(c) => nibble(c, allow_wildcard)?,
                None => (0, 0xf),
            };
            let (lv, lm) = nibble(lo, allow_wildcard)?;
            bytes.push((hv << 4) | lv);
            mask.push((hm << 4) | lm);
        }
    }
    (!bytes.is_empty()).then_some((bytes, mask))
}

/// A hex digit's value and must-match mask (0 for a wildcard).
fn nibble(c: char, allow_wildcard: bool) -> Option<(u8, u8)> {
    if allow_wildcard && (c == 'x' || c == 'X') {
        return Some((0, 0));
    }
    c.to_digit(16).map(|v| (v as u8, 0xf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_groups_follow_the_man_page_example() {
        let (b, m) = read_hex("Ab12f 3 456 546443123", false).unwrap();
        assert_eq!(
            b,
            vec![0xab, 0x12, 0x0f, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03]
        );
        assert!(m.iter().all(|&x| x == 0xff));
    }

    #[test]
    fn hex_wildcards_clear_mask_bits() {
        let (b, m) = read_hex("1X2", true).unwrap();
        assert_eq!(b, vec![0x10, 0x02]);
        assert_eq!(m, vec![0xf0, 0xff]);
        assert!(read_hex("1X", false).is_none());
        assert!(read_hex("12zz", false).is_none());
    }

    #[test]
    fn leading_decimals() {
        assert_eq!(leading_decimal_micros("1.5x"), Some((1_500_000, "x")));
        assert_eq!(leading_decimal_micros("3"), Some((3_000_000, "")));
        assert_eq!(leading_decimal_micros("abc"), None);
        assert_eq!(fmt_micros(TIMER_UINT_MAX), "4294.967295");
        assert_eq!(fmt_micros(TIMER_MAX), "18446744073709.551614");
    }
}
