//! keepalived's GET request (`check_http.c:request_template`), formatted
//! into a fixed buffer: no allocation per check.

use std::io::Write;
use std::net::SocketAddr;

use super::HttpProtocol;
use crate::Outcome;

/// keepalived's GET_BUFFER_LENGTH.
const REQUEST_BUFFER: usize = 2048;

pub(crate) struct Request {
    buf: [u8; REQUEST_BUFFER],
    len: usize,
}

impl Request {
    /// `Host` is the virtualhost when there is one, else the address and
    /// port (an IPv6 literal in brackets, RFC 2732).
    pub fn new(
        path: &str,
        protocol: HttpProtocol,
        virtualhost: Option<&str>,
        addr: SocketAddr,
    ) -> Result<Self, Outcome> {
        let mut request = Request {
            buf: [0; REQUEST_BUFFER],
            len: 0,
        };
        let mut cursor = std::io::Cursor::new(&mut request.buf[..]);
        let minor = u8::from(protocol == HttpProtocol::Http11);
        let connection = match protocol {
            HttpProtocol::Http10 => "",
            HttpProtocol::Http10Close | HttpProtocol::Http11 => "Connection: close\r\n",
        };
        let written = match virtualhost {
            Some(host) => write!(
                cursor,
                "GET {path} HTTP/1.{minor}\r\nUser-Agent: KeepAliveClient\r\n{connection}Host: {host}\r\n\r\n"
            ),
            None => write!(
                cursor,
                "GET {path} HTTP/1.{minor}\r\nUser-Agent: KeepAliveClient\r\n{connection}Host: {addr}\r\n\r\n"
            ),
        };
        written.map_err(|_| {
            Outcome::down(format!("GET request longer than {REQUEST_BUFFER} bytes"))
        })?;
        request.len = cursor.position() as usize;
        Ok(request)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(path: &str, protocol: HttpProtocol, vhost: Option<&str>, addr: &str) -> String {
        let r = Request::new(path, protocol, vhost, addr.parse().unwrap()).unwrap();
        String::from_utf8(r.bytes().to_vec()).unwrap()
    }

    #[test]
    fn keepalived_request_shapes() {
        assert_eq!(
            text("/", HttpProtocol::Http10, None, "127.0.0.1:80"),
            "GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:80\r\n\r\n"
        );
        assert_eq!(
            text("/x", HttpProtocol::Http11, Some("www.example"), "[::1]:8080"),
            "GET /x HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example\r\n\r\n"
        );
        assert_eq!(
            text("/", HttpProtocol::Http10Close, None, "[::1]:8080"),
            "GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [::1]:8080\r\n\r\n"
        );
    }

    #[test]
    fn overlong_path_fails_the_check() {
        let path = "/".repeat(3000);
        assert!(Request::new(
            &path,
            HttpProtocol::Http10,
            None,
            "127.0.0.1:80".parse().unwrap()
        )
        .is_err());
    }
}
