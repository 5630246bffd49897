//! `status_code` lists: codes and ranges within 100-599, 200-299 when none
//! is given (keepalived `check_http.c`, HTTP_DEFAULT_STATUS_CODE_MIN/MAX).

use crate::Error;

const MIN: u16 = 100;
const MAX: u16 = 599;

/// A set of accepted status codes, one bit per code in 100..=599.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusCodes([u64; 8]);

impl Default for StatusCodes {
    /// 200-299, keepalived's default when a url has no `status_code`.
    fn default() -> Self {
        let mut codes = StatusCodes::empty();
        codes.insert_range(200, 299);
        codes
    }
}

impl StatusCodes {
    pub fn empty() -> Self {
        StatusCodes([0; 8])
    }

    /// Every code 100-599 (genhash accepts whatever the server says).
    pub fn any() -> Self {
        let mut codes = StatusCodes::empty();
        codes.insert_range(MIN, MAX);
        codes
    }

    /// Parses `200 301-302 404` (spaces or commas between items).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bad = || Error::StatusCodes(text.to_owned());
        let mut codes = StatusCodes::empty();
        let mut any = false;
        for item in text.split([' ', '\t', ',']).filter(|s| !s.is_empty()) {
            let (low, high) = match item.split_once('-') {
                Some((a, b)) => (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?),
                None => {
                    let code = item.parse().map_err(|_| bad())?;
                    (code, code)
                }
            };
            if low < MIN || high > MAX || low > high {
                return Err(bad());
            }
            codes.insert_range(low, high);
            any = true;
        }
        if any {
            Ok(codes)
        } else {
            Err(bad())
        }
    }

    pub fn insert_range(&mut self, low: u16, high: u16) {
        for code in low.max(MIN)..=high.min(MAX) {
            let bit = usize::from(code - MIN);
            self.0[bit / 64] |= 1 << (bit % 64);
        }
    }

    pub fn contains(&self, code: u16) -> bool {
        if !(MIN..=MAX).contains(&code) {
            return false;
        }
        let bit = usize::from(code - MIN);
        self.0[bit / 64] & (1 << (bit % 64)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_2xx() {
        let codes = StatusCodes::default();
        assert!(codes.contains(200) && codes.contains(299));
        assert!(!codes.contains(199) && !codes.contains(300) && !codes.contains(0));
    }

    #[test]
    fn lists_and_ranges() {
        let codes = StatusCodes::parse("200, 301-302 404").unwrap();
        for ok in [200, 301, 302, 404] {
            assert!(codes.contains(ok), "{ok}");
        }
        for no in [201, 300, 303, 403, 405, 600] {
            assert!(!codes.contains(no), "{no}");
        }
    }

    #[test]
    fn rejects_out_of_range() {
        for bad in ["", "99", "600", "300-200", "abc", "200-"] {
            assert!(StatusCodes::parse(bad).is_err(), "{bad:?}");
        }
    }
}
