//! SMTP_CHECK (keepalived `check_smtp.c`): read the 220 greeting, send
//! `HELO helo_name`, expect 250, send `QUIT`, read one more line.
//!
//! keepalived reads each reply's first line only and so fails a multi-line
//! `220-` greeting; we follow RFC 5321 §4.2.1 and read continuation lines up
//! to the final one. Like keepalived we do not check the code after QUIT:
//! any reply line ends the dialogue successfully.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::conn::within;
use crate::{ConnectOptions, Outcome};

/// keepalived's SMTP_DEFAULT_HELO.
pub const DEFAULT_HELO_NAME: &str = "smtpchecker.keepalived.org";

/// keepalived's SMTP_BUFF_MAX: one reply line must fit.
const LINE_BUFFER: usize = 512;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpCheck {
    pub helo_name: String,
}

impl Default for SmtpCheck {
    fn default() -> Self {
        SmtpCheck {
            helo_name: DEFAULT_HELO_NAME.to_owned(),
        }
    }
}

pub async fn smtp_check(opts: &ConnectOptions, check: &SmtpCheck) -> Outcome {
    let deadline = opts.deadline();
    let dialogue = async {
        let stream = opts.tcp_connect(deadline).await?;
        let mut conn = Conn {
            stream,
            buf: [0; LINE_BUFFER],
            filled: 0,
            deadline,
        };
        if conn.reply().await? != Some(220) {
            return Err(Outcome::down("Bad greeting banner from server"));
        }
        conn.send(&["HELO ", &check.helo_name, "\r\n"]).await?;
        if conn.reply().await? != Some(250) {
            return Err(Outcome::down("Bad HELO response from server"));
        }
        conn.send(&["QUIT\r\n"]).await?;
        conn.reply().await?;
        Ok(Outcome::up())
    };
    match dialogue.await {
        Ok(up) => up,
        Err(down) => down,
    }
}

struct Conn {
    stream: TcpStream,
    buf: [u8; LINE_BUFFER],
    filled: usize,
    deadline: Instant,
}

impl Conn {
    async fn send(&mut self, parts: &[&str]) -> Result<(), Outcome> {
        let mut line = [0u8; LINE_BUFFER];
        let mut len = 0;
        for part in parts {
            let end = len + part.len();
            let dst = line
                .get_mut(len..end)
                .ok_or_else(|| Outcome::down("SMTP command longer than 512 bytes"))?;
            dst.copy_from_slice(part.as_bytes());
            len = end;
        }
        within(self.deadline, "Write timeout to server", async {
            self.stream
                .write_all(&line[..len])
                .await
                .map_err(|e| Outcome::down(format!("Write failure to server: {e}")))
        })
        .await
    }

    /// Reads one reply (continuation lines `NNN-` skipped) and returns its
    /// code, or `None` when the final line does not start with three digits
    /// and a space (keepalived `smtp_get_status`).
    async fn reply(&mut self) -> Result<Option<u16>, Outcome> {
        loop {
            let line_end = self.next_line().await?;
            let code = reply_code(&self.buf[..line_end]);
            let line = &self.buf[..line_end];
            let continued =
                line.len() > 3 && line[..3].iter().all(u8::is_ascii_digit) && line[3] == b'-';
            self.consume(line_end + 1);
            if !continued {
                return Ok(code);
            }
        }
    }

    /// Index of the next `\n` in the buffer, reading as needed.
    async fn next_line(&mut self) -> Result<usize, Outcome> {
        loop {
            if let Some(nl) = self.buf[..self.filled].iter().position(|&b| b == b'\n') {
                return Ok(nl);
            }
            if self.filled == self.buf.len() {
                return Err(Outcome::down("SMTP reply line longer than 512 bytes"));
            }
            let read = within(self.deadline, "Read timeout from server", async {
                self.stream
                    .read(&mut self.buf[self.filled..])
                    .await
                    .map_err(|e| Outcome::down(format!("Read failure from server: {e}")))
            })
            .await?;
            if read == 0 {
                return Err(Outcome::down("Read failure from server: connection closed"));
            }
            self.filled += read;
        }
    }

    fn consume(&mut self, n: usize) {
        self.buf.copy_within(n..self.filled, 0);
        self.filled -= n;
    }
}

/// Three digits followed by a space or the end of the line.
fn reply_code(line: &[u8]) -> Option<u16> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match line {
        [a, b, c, rest @ ..]
            if a.is_ascii_digit()
                && b.is_ascii_digit()
                && c.is_ascii_digit()
                && matches!(rest.first(), None | Some(b' ')) =>
        {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::reply_code;

    #[test]
    fn reply_codes() {
        assert_eq!(reply_code(b"220 mail ESMTP\r"), Some(220));
        assert_eq!(reply_code(b"250\r"), Some(250));
        assert_eq!(reply_code(b"220-first line\r"), None);
        assert_eq!(reply_code(b"554 go away"), Some(554));
        assert_eq!(reply_code(b"22 x"), None);
        assert_eq!(reply_code(b"hello"), None);
    }
}
