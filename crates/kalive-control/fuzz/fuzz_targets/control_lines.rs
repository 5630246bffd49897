//! `cargo fuzz run control_lines` (see docs/fuzzing.md): arbitrary bytes as
//! one line of the control protocol, read by both sides (`decode_line` as
//! a `Request`, as the daemon does, and as a `Response`, as `kalive ctl`
//! does). No panic; whatever decodes must encode to exactly one line that
//! decodes to the same value (the JSON an operator's script sees is
//! stable), and a status must render as text.
#![no_main]

use kalive_control::{decode_line, encode_line, Request, Response};
use libfuzzer_sys::fuzz_target;

fn one_line(bytes: &[u8]) {
    assert_eq!(bytes.last(), Some(&b'\n'));
    assert_eq!(
        bytes.iter().filter(|b| **b == b'\n').count(),
        1,
        "{bytes:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = decode_line::<Request>(data) {
        let line = encode_line(&request).expect("a decoded request encodes");
        one_line(&line);
        let again = decode_line::<Request>(&line).expect("an encoded request decodes");
        assert_eq!(again, request);
    }
    if let Ok(response) = decode_line::<Response>(data) {
        let line = encode_line(&response).expect("a decoded response encodes");
        one_line(&line);
        let again = decode_line::<Response>(&line).expect("an encoded response decodes");
        assert_eq!(again, response, "{}", String::from_utf8_lossy(&line));
        if let Response::Status(status) = &response {
            let _ = status.to_text();
        }
    }
});
