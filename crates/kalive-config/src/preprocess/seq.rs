//! `~SEQ(var, start, step, end)`, `~SEQx(...)` and `~LST(...)` line
//! generators (keepalived lib/parser.c `add_seq`/`add_lst`, man
//! keepalived.conf(5) "Sequence blocks" / "List blocks").

/// One generator; the rest of its line is produced once per value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generator {
    Seq {
        var: Vec<u8>,
        next: i64,
        last: i64,
        step: i64,
        hex: bool,
    },
    Lst {
        params: Vec<Vec<u8>>,
        /// One value per parameter in every set (missing ones are blank).
        sets: Vec<Vec<Vec<u8>>>,
        next_set: usize,
    },
}

impl Generator {
    /// How many lines this generator still produces.
    pub fn remaining(&self) -> u128 {
        match self {
            Generator::Seq {
                next, last, step, ..
            } => {
                let span = (i128::from(*last) - i128::from(*next)) / i128::from(*step);
                u128::try_from(span + 1).unwrap_or(0)
            }
            Generator::Lst { sets, next_set, .. } => (sets.len() - next_set) as u128,
        }
    }
}

/// A parse failure; `message` is keepalived's extra `report_config_error`
/// text if it prints one before "Invalid ~SEQ/~LST specification".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqError {
    pub message: Option<String>,
}

fn fail<T>(message: Option<String>) -> Result<T, SeqError> {
    Err(SeqError { message })
}

fn skip_blanks(s: &[u8], mut p: usize) -> usize {
    while matches!(s.get(p), Some(b' ' | b'\t')) {
        p += 1;
    }
    p
}

fn at(s: &[u8], p: usize) -> u8 {
    s.get(p).copied().unwrap_or(0)
}

/// C `strtol(s + p, &end, 0)`: returns (value, index after the number);
/// with no digits the index is `p` and the value 0. Overflow saturates.
pub fn strtol0(s: &[u8], p: usize) -> (i64, usize) {
    let mut i = p;
    while matches!(at(s, i), b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let negative = at(s, i) == b'-';
    if matches!(at(s, i), b'+' | b'-') {
        i += 1;
    }
    let (radix, digits_start) = if at(s, i) == b'0'
        && matches!(at(s, i + 1), b'x' | b'X')
        && at(s, i + 2).is_ascii_hexdigit()
    {
        (16, i + 2)
    } else if at(s, i) == b'0' {
        (8, i)
    } else {
        (10, i)
    };
    let mut j = digits_start;
    let mut value: i128 = 0;
    while let Some(d) = char::from(at(s, j)).to_digit(radix) {
        value = (value * i128::from(radix) + i128::from(d)).min(i128::from(i64::MAX) + 1);
        j += 1;
    }
    if j == digits_start {
        return (0, p);
    }
    let value = if negative { -value } else { value };
    let clamped = value.clamp(i128::from(i64::MIN), i128::from(i64::MAX));
    (clamped as i64, j)
}

/// The `(... )` argument text of `~SEQ`, for macro substitution before the
/// numbers are read: returns (variable, args including the `)`, index after
/// the `)`), or the error keepalived reports.
pub struct SeqHead {
    pub hex: bool,
    pub var: Vec<u8>,
    pub args: Vec<u8>,
    pub after: usize,
}

/// keepalived copies the arguments into `char seq_buf[3 * 20 + 3 + 1]`.
pub const SEQ_BUF: usize = 64;

pub fn parse_seq_head(line: &[u8]) -> Result<SeqHead, SeqError> {
    let text = String::from_utf8_lossy(line);
    let mut p = 4;
    let hex = at(line, p) == b'x';
    if hex {
        p += 1;
    }
    p = skip_blanks(line, p);
    if at(line, p) != b'(' {
        return fail(None);
    }
    p = skip_blanks(line, p + 1);
    let var_start = p;
    while !matches!(at(line, p), b' ' | b'\t' | b',' | b')' | 0) {
        p += 1;
    }
    let var = line[var_start..p].to_vec();
    p = skip_blanks(line, p);
    if p >= line.len() || at(line, p) == b')' || p == var_start {
        return fail(Some(format!("Invalid ~SEQ definition '{text}'")));
    }
    p = skip_blanks(line, p + 1);
    let Some(close) = line[p..].iter().position(|&b| b == b')').map(|i| p + i) else {
        // keepalived computes a length from a NULL strchr() result here.
        return fail(Some(format!("~SEQ parameter strings too long '{text}'")));
    };
    if close + 1 - p + 1 > SEQ_BUF {
        return fail(Some(format!("~SEQ parameter strings too long '{text}'")));
    }
    Ok(SeqHead {
        hex,
        var,
        args: line[p..=close].to_vec(),
        after: close + 1,
    })
}

/// Read `start, step, end)` (after substitution) into a generator.
pub fn parse_seq_numbers(head: &SeqHead, args: &[u8], line: &[u8]) -> Result<Generator, SeqError> {
    let text = String::from_utf8_lossy(line);
    let invalid = || fail(Some(format!("Invalid ~SEQ definition '{text}'")));
    let (one, mut p) = strtol0(args, 0);
    p = skip_blanks(args, p);
    let (start, step, end);
    if at(args, p) == b')' {
        end = one;
        step = if end < 1 { -1 } else { 1 };
        start = if end < 0 { -1 } else { 1 };
    } else {
        if at(args, p) != b',' {
            return invalid();
        }
        let (two, q) = strtol0(args, p + 1);
        p = skip_blanks(args, q);
        if at(args, p) == b')' {
            start = one;
            end = two;
            step = if start <= end { 1 } else { -1 };
        } else {
            if at(args, p) != b',' {
                return invalid();
            }
            let (three, q) = strtol0(args, p + 1);
            p = skip_blanks(args, q);
            if at(args, p) != b')' {
                return invalid();
            }
            (start, step, end) = (one, two, three);
            if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
                return fail(Some(format!("Invalid ~SEQ values '{text}'")));
            }
        }
    }
    if head.hex && (start < 0 || end < 0) {
        return fail(Some(format!(
            "~SEQx is only valid for positive numbers '{text}'"
        )));
    }
    Ok(Generator::Seq {
        var: head.var.clone(),
        next: start,
        last: end,
        step,
        hex: head.hex,
    })
}

/// Parse `~LST(var, v1, v2...)` or `~LST({a,b},{1,2},...)`; returns the
/// generator and the index where the repeated text starts.
pub fn parse_lst(line: &[u8]) -> Result<(Generator, usize), SeqError> {
    let text = String::from_utf8_lossy(line);
    let mut p = skip_blanks(line, 4);
    if at(line, p) != b'(' {
        return fail(None);
    }
    p = skip_blanks(line, p + 1);
    let mut end_char = b',';
    if at(line, p) == b'{' {
        end_char = b'}';
        p = skip_blanks(line, p + 1);
    }
    let mut params = Vec::new();
    loop {
        let start = p;
        while !matches!(at(line, p), b' ' | b'\t' | b',' | b'}' | 0) {
            p += 1;
        }
        params.push(line[start..p].to_vec());
        p = skip_blanks(line, p);
        if at(line, p) == end_char {
            break;
        }
        if at(line, p) != b',' {
            return fail(None);
        }
        p = skip_blanks(line, p + 1);
    }
    let num_vars = params.len() - 1;
    if at(line, p) == b'}' {
        p = skip_blanks(line, p + 1);
    }
    if at(line, p) != b',' {
        return fail(None);
    }
    p = skip_blanks(line, p + 1);
    let mut sets = Vec::new();
    loop {
        let mut end_char = b',';
        if at(line, p) == b'{' {
            end_char = b'}';
            p = skip_blanks(line, p + 1);
        }
        let mut values = Vec::new();
        let mut num_values = 0;
        loop {
            let start = p;
            while !matches!(at(line, p), b' ' | b'\t' | b',' | b'}' | b')' | 0) {
                p += 1;
            }
            values.push(line[start..p].to_vec());
            p = skip_blanks(line, p);
            if at(line, p) == end_char || (at(line, p) == b')' && end_char == b',') {
                break;
            }
            if at(line, p) != b',' {
                return fail(None);
            }
            p = skip_blanks(line, p + 1);
            num_values += 1;
            if num_values > num_vars {
                return fail(Some(format!(
                    "~LST specification has too many values '{text}'"
                )));
            }
        }
        while values.len() < params.len() {
            values.push(Vec::new());
        }
        sets.push(values);
        if at(line, p) == b'}' && end_char == b'}' {
            p = skip_blanks(line, p + 1);
        }
        if at(line, p) == b')' {
            break;
        }
        if at(line, p) != b',' {
            return fail(None);
        }
        p = skip_blanks(line, p + 1);
    }
    let after = skip_blanks(line, p + 1);
    Ok((
        Generator::Lst {
            params,
            sets,
            next_set: 0,
        },
        after,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_like_c() {
        assert_eq!(strtol0(b" 12,", 0), (12, 3));
        assert_eq!(strtol0(b"0x1f)", 0), (31, 4));
        assert_eq!(strtol0(b"010", 0), (8, 3));
        assert_eq!(strtol0(b"-5", 0), (-5, 2));
        assert_eq!(strtol0(b"abc", 0), (0, 0));
        assert_eq!(strtol0(b"0x", 0), (0, 1));
        assert_eq!(strtol0(b"99999999999999999999", 0).0, i64::MAX);
    }

    #[test]
    fn lst_forms() {
        let (g, after) = parse_lst(b"~LST(v, a, b) x").unwrap();
        assert_eq!(after, 14);
        assert_eq!(
            g,
            Generator::Lst {
                params: vec![b"v".to_vec()],
                sets: vec![vec![b"a".to_vec()], vec![b"b".to_vec()]],
                next_set: 0
            }
        );
        let (g, _) = parse_lst(b"~LST({a, b}, {1,2},{3}) x").unwrap();
        let Generator::Lst { sets, .. } = g else {
            panic!("not a list")
        };
        assert_eq!(sets[1], vec![b"3".to_vec(), Vec::new()]);
        assert!(parse_lst(b"~LST(a, {1,2}) x").is_err_and(|e| e.message.is_some()));
        assert!(parse_lst(b"~LST(a b) x").is_err());
    }
}
