//! Value helpers: numbers, ranges, booleans, timers, addresses.
//!
//! Each helper reports a problem at the word's span, in keepalived's wording
//! (`lib/parser.c` read_*_strvec: "invalid number", "number 'X' outside range
//! [A, B]"), and returns `None` so the caller keeps its default, as keepalived
//! does ("warn, then default or ignore").

use crate::lexer::Word;
use crate::model::net::IpPrefix;
use crate::parse::Ctx;
use crate::syntax::Stmt;
use std::net::IpAddr;
use std::time::Duration;

impl Ctx {
    /// An unsigned integer in `min..=max` (decimal; `0x` hex accepted where
    /// keepalived reads with base 0, see [`Ctx::uint_base0`]).
    pub fn uint(&mut self, w: &Word, min: u64, max: u64) -> Option<u64> {
        self.uint_radix(w, min, max, false)
    }

    /// As [`Ctx::uint`], also accepting `0x..` hex and `0..` octal.
    pub fn uint_base0(&mut self, w: &Word, min: u64, max: u64) -> Option<u64> {
        self.uint_radix(w, min, max, true)
    }

    fn uint_radix(&mut self, w: &Word, min: u64, max: u64, base0: bool) -> Option<u64> {
        let s = w.text.trim();
        let parsed = if base0 {
            parse_base0(s)
        } else {
            s.strip_prefix('+').unwrap_or(s).parse::<u64>().ok()
        };
        match parsed {
            None => {
                if s.starts_with('-') && s[1..].chars().all(|c| c.is_ascii_digit()) && s.len() > 1 {
                    self.error(
                        &w.span,
                        format!("number '{}' outside range [{min}, {max}]", w.text),
                    );
                } else {
                    self.error(&w.span, format!("invalid number '{}'", w.text));
                }
                None
            }
            Some(v) if v < min || v > max => {
                self.error(
                    &w.span,
                    format!("number '{}' outside range [{min}, {max}]", w.text),
                );
                None
            }
            Some(v) => Some(v),
        }
    }

    /// A signed integer in `min..=max`.
    pub fn int(&mut self, w: &Word, min: i64, max: i64) -> Option<i64> {
        let s = w.text.trim();
        match s.strip_prefix('+').unwrap_or(s).parse::<i64>() {
            Err(_) => {
                self.error(&w.span, format!("invalid number '{}'", w.text));
                None
            }
            Ok(v) if v < min || v > max => {
                self.error(
                    &w.span,
                    format!("number '{}' outside range [{min}, {max}]", w.text),
                );
                None
            }
            Ok(v) => Some(v),
        }
    }

    /// A decimal number of seconds with up to 6 decimals (keepalived's
    /// `<TIMER>`, µs resolution), in `min..=max`.
    pub fn timer(&mut self, w: &Word, min: Duration, max: Duration) -> Option<Duration> {
        match parse_decimal_micros(&w.text) {
            None => {
                self.error(&w.span, format!("invalid number '{}'", w.text));
                None
            }
            Some(us) => {
                let d = Duration::from_micros(us);
                if d < min || d > max {
                    self.error(
                        &w.span,
                        format!(
                            "number '{}' outside range [{}, {}]",
                            w.text,
                            fmt_secs(min),
                            fmt_secs(max)
                        ),
                    );
                    None
                } else {
                    Some(d)
                }
            }
        }
    }

    /// keepalived's usual timer range, [0.000001, 4294.967295] s.
    pub fn timer_std(&mut self, w: &Word) -> Option<Duration> {
        self.timer(
            w,
            Duration::from_micros(1),
            Duration::from_micros(u32::MAX as u64),
        )
    }

    /// A timer that may be 0, [0, 4294.967295] s.
    pub fn timer_zero_ok(&mut self, w: &Word) -> Option<Duration> {
        self.timer(w, Duration::ZERO, Duration::from_micros(u32::MAX as u64))
    }

    /// `on/off/true/false/yes/no` (keepalived `check_true_false`).
    pub fn boolean(&mut self, w: &Word) -> Option<bool> {
        match parse_bool(&w.text) {
            Some(b) => Some(b),
            None => {
                self.error(&w.span, format!("invalid boolean value '{}'", w.text));
                None
            }
        }
    }

    /// A flag keyword with an optional `<BOOL>`: no word means true.
    pub fn flag(&mut self, stmt: &Stmt) -> bool {
        match stmt.arg(0) {
            None => true,
            Some(w) => self.boolean(w).unwrap_or(true),
        }
    }

    /// An IPv4 or IPv6 address.
    pub fn ip(&mut self, w: &Word) -> Option<IpAddr> {
        match parse_ip(&w.text) {
            Some(a) => Some(a),
            None => {
                self.error(&w.span, format!("invalid IP address '{}'", w.text));
                None
            }
        }
    }

    /// `ADDR[/LEN]`; without a length the host length of its family.
    pub fn prefix(&mut self, w: &Word) -> Option<IpPrefix> {
        match parse_prefix(&w.text) {
            Some(p) => Some(p),
            None => {
                self.error(&w.span, format!("invalid address/prefix '{}'", w.text));
                None
            }
        }
    }
}

/// `on/off/true/false/yes/no`, case-insensitive.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// strtoul base 0: `0x..` hex, `0..` octal, else decimal.
pub fn parse_base0(s: &str) -> Option<u64> {
    let s = s.strip_prefix('+').unwrap_or(s);
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

/// Decimal seconds (`2.71828`, `.5`, `3`) to microseconds; more than six
/// decimals are truncated.
pub fn parse_decimal_micros(s: &str) -> Option<u64> {
    let s = s.strip_prefix('+').unwrap_or(s);
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut micros = 0u64;
    for (i, c) in frac
        .chars()
        .chain(std::iter::repeat('0'))
        .take(6)
        .enumerate()
    {
        let _ = i;
        micros = micros * 10 + c.to_digit(10).unwrap_or(0) as u64;
    }
    whole.checked_mul(1_000_000)?.checked_add(micros)
}

fn fmt_secs(d: Duration) -> String {
    let us = d.as_micros();
    if us % 1_000_000 == 0 {
        format!("{}", us / 1_000_000)
    } else {
        let s = format!("{}.{:06}", us / 1_000_000, us % 1_000_000);
        s.trim_end_matches('0').to_string()
    }
}

/// An IPv4/IPv6 address; IPv6 may carry a `%scope` suffix, which is dropped.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.split('%').next().unwrap_or(s);
    s.parse().ok()
}

/// `ADDR[/LEN]`.
pub fn parse_prefix(s: &str) -> Option<IpPrefix> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr = parse_ip(addr)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => max,
        Some(l) => {
            let v: u8 = l.parse().ok()?;
            if v > max {
                return None;
            }
            v
        }
    };
    Some(IpPrefix { addr, len })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_timers() {
        assert_eq!(parse_decimal_micros("2.71828"), Some(2_718_280));
        assert_eq!(parse_decimal_micros(".5"), Some(500_000));
        assert_eq!(parse_decimal_micros("3"), Some(3_000_000));
        assert_eq!(parse_decimal_micros("1.0000019"), Some(1_000_001));
        assert_eq!(parse_decimal_micros("x"), None);
        assert_eq!(parse_decimal_micros("-1"), None);
        assert_eq!(parse_decimal_micros("."), None);
    }

    #[test]
    fn prefixes() {
        assert_eq!(parse_prefix("10.0.0.1").map(|p| p.len), Some(32));
        assert_eq!(parse_prefix("fe80::1/64").map(|p| p.len), Some(64));
        assert_eq!(parse_prefix("10.0.0.1/33"), None);
        assert_eq!(parse_prefix("192.168.100./24"), None);
    }

    #[test]
    fn base0_numbers() {
        assert_eq!(parse_base0("0x10"), Some(16));
        assert_eq!(parse_base0("010"), Some(8));
        assert_eq!(parse_base0("10"), Some(10));
    }
}
