//! FILE_CHECK / `track_file`: the integer in a file, read as keepalived
//! reads it (`trackers/track_file.c:process_track_file`): at most 127 bytes,
//! `strtol(buf, NULL, 0)` (decimal, `0x` hex, leading-0 octal, leading
//! blanks and a sign allowed, no digits = 0), a missing or empty file = 0,
//! a value outside i32::MIN..=i32::MAX+1 is ignored. What the value means
//! (`weight`, `reverse`, fault at -254) is the engine's business.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// What reading a tracked file gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileReading {
    Value(i64),
    /// keepalived logs "Invalid number ... - ignoring" and keeps the
    /// previous value.
    Ignored {
        reason: String,
    },
}

/// Reads `path` once. The open is non-blocking so that a FIFO without a
/// writer cannot stall the caller.
pub async fn file_check(path: &Path) -> FileReading {
    let mut buf = [0u8; 127];
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path);
    let len = match opened {
        Ok(mut file) => file.read(&mut buf).unwrap_or(0),
        Err(_) => 0,
    };
    match strtol(&buf[..len]) {
        Some(value) if (i64::from(i32::MIN)..=i64::from(i32::MAX) + 1).contains(&value) => {
            FileReading::Value(value)
        }
        _ => FileReading::Ignored {
            reason: format!("Invalid number read from {} - ignoring", path.display()),
        },
    }
}

/// C's `strtol(s, NULL, 0)` on a 64-bit long; `None` on overflow (ERANGE).
fn strtol(text: &[u8]) -> Option<i64> {
    let mut rest = text;
    while let [b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c', tail @ ..] = rest {
        rest = tail;
    }
    let negative = match rest {
        [b'-', tail @ ..] => {
            rest = tail;
            true
        }
        [b'+', tail @ ..] => {
            rest = tail;
            false
        }
        _ => false,
    };
    let radix = match rest {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => {
            rest = &rest[2..];
            16
        }
        [b'0', ..] => 8,
        _ => 10,
    };
    let mut value: i64 = 0;
    for &c in rest {
        let Some(digit) = char::from(c).to_digit(radix) else {
            break;
        };
        // Accumulate negatively so that i64::MIN is representable.
        value = value
            .checked_mul(i64::from(radix))?
            .checked_sub(i64::from(digit))?;
    }
    if negative {
        Some(value)
    } else {
        value.checked_neg()
    }
}

#[cfg(test)]
mod tests {
    use super::strtol;

    #[test]
    fn strtol_like_c() {
        assert_eq!(strtol(b"42\n"), Some(42));
        assert_eq!(strtol(b"  -17 apples"), Some(-17));
        assert_eq!(strtol(b"+5"), Some(5));
        assert_eq!(strtol(b"0x1F"), Some(31));
        assert_eq!(strtol(b"010"), Some(8));
        assert_eq!(strtol(b"0x"), Some(0));
        assert_eq!(strtol(b"09"), Some(0));
        assert_eq!(strtol(b"abc"), Some(0));
        assert_eq!(strtol(b""), Some(0));
        assert_eq!(strtol(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(strtol(b"9223372036854775808"), None);
    }
}
