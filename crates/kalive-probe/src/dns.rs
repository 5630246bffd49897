//! DNS_CHECK (keepalived `check_dns.c`): one query over a connected UDP
//! socket (an ICMP port-unreachable fails the check), recursion desired,
//! class IN. Replies with another id, or that are not responses, are
//! ignored and the check keeps waiting, as in keepalived; a non-zero RCODE
//! fails it.
//!
//! keepalived stops there: a NOERROR reply without any answer passes. By
//! default we also require an answer record of the queried type
//! ([`DnsAnswerCheck::TypePresent`]); [`DnsAnswerCheck::RcodeOnly`] is
//! keepalived's exact behaviour.

use std::hash::{BuildHasher, RandomState};

use crate::conn::within;
use crate::{ConnectOptions, Error, Outcome};

/// `type`: the record types keepalived accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DnsType {
    A,
    Ns,
    Cname,
    #[default]
    Soa,
    Mx,
    Txt,
    Aaaa,
}

impl DnsType {
    pub fn code(self) -> u16 {
        match self {
            DnsType::A => 1,
            DnsType::Ns => 2,
            DnsType::Cname => 5,
            DnsType::Soa => 6,
            DnsType::Mx => 15,
            DnsType::Txt => 16,
            DnsType::Aaaa => 28,
        }
    }

    /// Parses keepalived's keyword value (case-insensitive).
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.to_ascii_uppercase().as_str() {
            "A" => DnsType::A,
            "NS" => DnsType::Ns,
            "CNAME" => DnsType::Cname,
            "SOA" => DnsType::Soa,
            "MX" => DnsType::Mx,
            "TXT" => DnsType::Txt,
            "AAAA" => DnsType::Aaaa,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DnsAnswerCheck {
    /// keepalived: any NOERROR response passes.
    RcodeOnly,
    /// The answer section must hold a record of the queried type.
    #[default]
    TypePresent,
}

/// A DNS_CHECK, with its query name encoded once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsCheck {
    pub record_type: DnsType,
    pub answer_check: DnsAnswerCheck,
    /// QNAME in wire format.
    qname: Vec<u8>,
}

/// keepalived's DNS_BUFFER_SIZE.
const REPLY_BUFFER: usize = 768;
const HEADER: usize = 12;

impl DnsCheck {
    /// `name` defaults to "." in keepalived; a trailing dot is optional.
    pub fn new(name: &str, record_type: DnsType) -> Result<Self, Error> {
        let bad = || Error::DnsName(name.to_owned());
        let mut qname = Vec::with_capacity(name.len() + 2);
        let trimmed = name.strip_suffix('.').unwrap_or(name);
        if !trimmed.is_empty() {
            for label in trimmed.split('.') {
                let len = u8::try_from(label.len()).map_err(|_| bad())?;
                if len == 0 || len > 63 {
                    return Err(bad());
                }
                qname.push(len);
                qname.extend_from_slice(label.as_bytes());
            }
        }
        qname.push(0);
        if qname.len() > 255 {
            return Err(bad());
        }
        Ok(DnsCheck {
            record_type,
            answer_check: DnsAnswerCheck::default(),
            qname,
        })
    }

    fn query(&self, id: u16, out: &mut [u8; 300]) -> usize {
        out[..HEADER].copy_from_slice(&[0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        out[..2].copy_from_slice(&id.to_be_bytes());
        let end = HEADER + self.qname.len();
        out[HEADER..end].copy_from_slice(&self.qname);
        out[end..end + 2].copy_from_slice(&self.record_type.code().to_be_bytes());
        out[end + 2..end + 4].copy_from_slice(&1u16.to_be_bytes());
        end + 4
    }
}

pub async fn dns_check(opts: &ConnectOptions, check: &DnsCheck) -> Outcome {
    let deadline = opts.deadline();
    let exchange = async {
        let socket = opts.udp_connect()?;
        let id = RandomState::new().hash_one(deadline) as u16;
        let mut query = [0u8; 300];
        let len = check.query(id, &mut query);
        socket
            .send(&query[..len])
            .await
            .map_err(|e| Outcome::down(format!("failed to write socket: {e}")))?;
        let mut reply = [0u8; REPLY_BUFFER];
        loop {
            let n = within(deadline, "read timeout from socket", async {
                socket
                    .recv(&mut reply)
                    .await
                    .map_err(|e| Outcome::down(format!("failed to read socket: {e}")))
            })
            .await?;
            match judge(&reply[..n], id, check) {
                Verdict::Ignore => continue,
                Verdict::Done(outcome) => return Ok(outcome),
            }
        }
    };
    match exchange.await {
        Ok(outcome) | Err(outcome) => outcome,
    }
}

enum Verdict {
    Ignore,
    Done(Outcome),
}

fn judge(reply: &[u8], id: u16, check: &DnsCheck) -> Verdict {
    if reply.len() < HEADER || reply[..2] != id.to_be_bytes() || reply[2] & 0x80 == 0 {
        return Verdict::Ignore;
    }
    let rcode = reply[3] & 0x0f;
    if rcode != 0 {
        return Verdict::Done(Outcome::down(format!(
            "read error occurred. (rcode = {rcode})"
        )));
    }
    if check.answer_check == DnsAnswerCheck::RcodeOnly {
        return Verdict::Done(Outcome::up());
    }
    Verdict::Done(match has_answer_of_type(reply, check.record_type.code()) {
        Some(true) => Outcome::up(),
        Some(false) => Outcome::down(format!(
            "no answer of type {:?} in the reply",
            check.record_type
        )),
        None => Outcome::down("malformed DNS reply"),
    })
}

/// Whether an answer record has type `wanted`; `None` when the message is
/// cut short before one is found.
fn has_answer_of_type(msg: &[u8], wanted: u16) -> Option<bool> {
    let count = |at: usize| u16::from_be_bytes([msg[at], msg[at + 1]]);
    let (questions, answers) = (count(4), count(6));
    let mut at = HEADER;
    for _ in 0..questions {
        at = skip_name(msg, at)? + 4;
    }
    for _ in 0..answers {
        at = skip_name(msg, at)?;
        let fixed = msg.get(at..at + 10)?;
        let rdata_end = at + 10 + usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        if rdata_end > msg.len() {
            return None;
        }
        if u16::from_be_bytes([fixed[0], fixed[1]]) == wanted {
            return Some(true);
        }
        at = rdata_end;
    }
    Some(false)
}

/// Index just past a (possibly compressed) name at `at`.
fn skip_name(msg: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *msg.get(at)?;
        match len {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return (at + 2 <= msg.len()).then_some(at + 2),
            l if l & 0xc0 == 0 => at += 1 + usize::from(l),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_encoding() {
        let check = DnsCheck::new("www.example.", DnsType::A).unwrap();
        let mut buf = [0u8; 300];
        let len = check.query(0x1234, &mut buf);
        assert_eq!(
            &buf[..len],
            b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07example\x00\x00\x01\x00\x01"
        );
        let root = DnsCheck::new(".", DnsType::Soa).unwrap();
        let len = root.query(1, &mut buf);
        assert_eq!(&buf[HEADER..len], b"\x00\x00\x06\x00\x01");
        assert!(DnsCheck::new("a..b", DnsType::A).is_err());
        assert!(DnsCheck::new(&"x".repeat(64), DnsType::A).is_err());
    }

    fn reply(id: u16, flags: [u8; 2], answers: &[(u16, &[u8])]) -> Vec<u8> {
        let mut m = id.to_be_bytes().to_vec();
        m.extend_from_slice(&flags);
        m.extend_from_slice(&[0, 1]);
        m.extend_from_slice(&(answers.len() as u16).to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        m.extend_from_slice(b"\x01a\x00\x00\x01\x00\x01");
        for (ty, data) in answers {
            m.extend_from_slice(&[0xc0, 12]);
            m.extend_from_slice(&ty.to_be_bytes());
            m.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
            m.extend_from_slice(&(data.len() as u16).to_be_bytes());
            m.extend_from_slice(data);
        }
        m
    }

    fn verdict(msg: &[u8], check: &DnsCheck) -> Option<bool> {
        match judge(msg, 7, check) {
            Verdict::Ignore => None,
            Verdict::Done(o) => Some(o.success),
        }
    }

    #[test]
    fn judging_replies() {
        let mut check = DnsCheck::new("a", DnsType::A).unwrap();
        assert_eq!(
            verdict(&reply(7, [0x81, 0x80], &[(1, &[1, 2, 3, 4])]), &check),
            Some(true)
        );
        assert_eq!(
            verdict(&reply(8, [0x81, 0x80], &[(1, &[1, 2, 3, 4])]), &check),
            None,
            "other id"
        );
        assert_eq!(
            verdict(&reply(7, [0x01, 0x00], &[]), &check),
            None,
            "a query"
        );
        assert_eq!(
            verdict(&reply(7, [0x81, 0x83], &[]), &check),
            Some(false),
            "NXDOMAIN"
        );
        assert_eq!(
            verdict(&reply(7, [0x81, 0x80], &[(5, b"\xc0\x0c")]), &check),
            Some(false)
        );
        assert_eq!(verdict(&reply(7, [0x81, 0x80], &[]), &check), Some(false));
        let mut cut = reply(7, [0x81, 0x80], &[(1, &[1, 2, 3, 4])]);
        cut.truncate(cut.len() - 2);
        assert_eq!(verdict(&cut, &check), Some(false), "truncated record");
        check.answer_check = DnsAnswerCheck::RcodeOnly;
        assert_eq!(verdict(&reply(7, [0x81, 0x80], &[]), &check), Some(true));
        assert_eq!(verdict(&[0x00, 0x07, 0x81], &check), None, "short");
    }
}
