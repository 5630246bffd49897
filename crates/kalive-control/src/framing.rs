//! One JSON document per line. A line longer than [`MAX_MESSAGE`] is
//! refused before it is parsed (a status of thousands of instances fits).

use serde::{de::DeserializeOwned, Serialize};

/// The longest line either side accepts, newline included.
pub const MAX_MESSAGE: usize = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum FramingError {
    #[error("message of {0} bytes is over the {MAX_MESSAGE}-byte limit")]
    TooLong(usize),
    #[error("malformed message: {0}")]
    Json(#[from] serde_json::Error),
}

/// `value` as one line, newline included.
pub fn encode_line<T: Serialize>(value: &T) -> Result<Vec<u8>, FramingError> {
    let mut bytes = serde_json::to_vec(value)?;
    bytes.push(b'\n');
    if bytes.len() > MAX_MESSAGE {
        return Err(FramingError::TooLong(bytes.len()));
    }
    Ok(bytes)
}

/// Parse one line (with or without its newline).
pub fn decode_line<T: DeserializeOwned>(line: &[u8]) -> Result<T, FramingError> {
    if line.len() > MAX_MESSAGE {
        return Err(FramingError::TooLong(line.len()));
    }
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    Ok(serde_json::from_slice(line)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DumpKind, Request, Response, Target};

    #[test]
    fn requests_round_trip_as_one_line() {
        for req in [
            Request::Status,
            Request::Promote {
                target: Target::Instance("VI_1".into()),
            },
            Request::Demote {
                target: Target::Group("G1".into()),
            },
            Request::Clear {
                target: Target::Instance("VI_1".into()),
            },
            Request::Reload,
            Request::Dump {
                what: DumpKind::Stats,
            },
        ] {
            let line = encode_line(&req).expect("encode");
            assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
            assert_eq!(decode_line::<Request>(&line).expect("decode"), req);
        }
    }

    #[test]
    fn wire_form_is_readable_json() {
        let line = encode_line(&Request::Promote {
            target: Target::Instance("VI_1".into()),
        })
        .expect("encode");
        assert_eq!(
            String::from_utf8_lossy(&line),
            "{\"request\":\"promote\",\"target\":{\"kind\":\"instance\",\"name\":\"VI_1\"}}\n"
        );
    }

    #[test]
    fn a_decoded_float_survives_encoding() {
        // Found by the control_lines fuzz target: "1.2e51" decoded, encoded
        // and decoded again came back one ULP away (serde_json's default
        // float parsing is not correctly rounded; kalive-control asks for
        // its `float_roundtrip` feature).
        for text in [
            "1.2e51",
            "12.5",
            "0.1",
            "1e-300",
            "2.2250738585072014e-308",
            "9007199254740993",
        ] {
            let line = format!(
                "{{\"response\":\"status\",\"pid\":1,\"config_file\":\"k\",\"uptime_secs\":{text},\
                 \"instances\":[],\"sync_groups\":[],\"netlink\":{{\"changes_done\":0,\
                 \"changes_failed\":0,\"changes_coalesced\":0,\"frames_sent\":0,\
                 \"frames_coalesced\":0,\"frames_dropped\":0,\"changes_high_water\":0,\
                 \"frames_high_water\":0}}}}"
            );
            let first: Response = decode_line(line.as_bytes()).expect("decode");
            let Response::Status(status) = &first else {
                panic!("not a status: {first:?}");
            };
            assert_eq!(
                status.uptime_secs,
                text.parse::<f64>().expect("f64"),
                "{text}"
            );
            let again: Response =
                decode_line(&encode_line(&first).expect("encode")).expect("decode");
            assert_eq!(again, first, "{text}");
        }
    }

    #[test]
    fn garbage_and_oversize_are_errors_not_panics() {
        assert!(decode_line::<Request>(b"{\"request\":\"launch\"}").is_err());
        assert!(decode_line::<Request>(b"\xff\xfe").is_err());
        assert!(decode_line::<Response>(b"").is_err());
        let big = vec![b' '; MAX_MESSAGE + 1];
        assert!(matches!(
            decode_line::<Request>(&big),
            Err(FramingError::TooLong(_))
        ));
    }
}
