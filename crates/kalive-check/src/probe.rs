//! What a probe is, as data: the engine schedules these and hands them to the
//! daemon's prober unchanged (`Output::RunProbe`); it never looks inside
//! beyond the kind name and, for `FILE_CHECK`, the tracked file.
//!
//! Fields follow the checker blocks of keepalived.conf
//! (reference/keepalived-behaviour.md §1.12). Timing keywords
//! (`connect_timeout`, `delay_loop`, `retry`, ...) are not here: they are
//! inherited virtual server → real server → checker and live in
//! [`crate::Settings`].

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One checker's probe: its kind, target and the kind's parameters.
///
/// Two checkers of one real server with equal specs and equal resolved
/// timing are the same checker across a reload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProbeSpec {
    /// `TCP_CHECK`: connect, then close.
    Tcp(Connect),
    /// `HTTP_GET`.
    HttpGet(HttpProbe),
    /// `SSL_GET`: `HTTP_GET` over TLS.
    SslGet(HttpProbe),
    /// `SMTP_CHECK`: banner, `HELO`, `QUIT` (220/250/221).
    Smtp {
        /// Where to connect.
        connect: Connect,
        /// `helo_name`.
        helo_name: String,
    },
    /// `DNS_CHECK`: one query over UDP, any answer with the query's id.
    Dns {
        /// Where to send the query.
        connect: Connect,
        /// `type`.
        query_type: DnsQueryType,
        /// `name`.
        name: String,
    },
    /// `UDP_CHECK`.
    Udp(UdpProbe),
    /// `PING_CHECK`: one ICMP echo.
    Ping(Connect),
    /// `MISC_CHECK`: run a script; its exit status is the result.
    Misc(MiscProbe),
    /// `FILE_CHECK`: never run by the prober; the engine reads the tracked
    /// file's value from `Input::TrackFile`.
    File(FileProbe),
}

impl ProbeSpec {
    /// keepalived's keyword for the kind (also used in log messages).
    pub fn keyword(&self) -> &'static str {
        match self {
            ProbeSpec::Tcp(_) => "TCP_CHECK",
            ProbeSpec::HttpGet(_) => "HTTP_GET",
            ProbeSpec::SslGet(_) => "SSL_GET",
            ProbeSpec::Smtp { .. } => "SMTP_CHECK",
            ProbeSpec::Dns { .. } => "DNS_CHECK",
            ProbeSpec::Udp(_) => "UDP_CHECK",
            ProbeSpec::Ping(_) => "PING_CHECK",
            ProbeSpec::Misc(_) => "MISC_CHECK",
            ProbeSpec::File(_) => "FILE_CHECK",
        }
    }

    /// Where the probe connects, for kinds that connect.
    pub fn connect(&self) -> Option<&Connect> {
        match self {
            ProbeSpec::Tcp(c) | ProbeSpec::Ping(c) => Some(c),
            ProbeSpec::HttpGet(h) | ProbeSpec::SslGet(h) => Some(&h.connect),
            ProbeSpec::Smtp { connect, .. } | ProbeSpec::Dns { connect, .. } => Some(connect),
            ProbeSpec::Udp(u) => Some(&u.connect),
            ProbeSpec::Misc(_) | ProbeSpec::File(_) => None,
        }
    }

    /// `retry` when neither checker, real server nor virtual server sets it:
    /// DNS 3, MISC 0, everything else 1 (man keepalived.conf, reference §1.12).
    pub fn default_retry(&self) -> u32 {
        match self {
            ProbeSpec::Dns { .. } => 3,
            ProbeSpec::Misc(_) => 0,
            _ => 1,
        }
    }

    /// `delay_before_retry` when not set anywhere: HTTP/SSL 3 s, DNS the
    /// checker's `delay_loop` (`None`), everything else 1 s (reference §1.12).
    pub fn default_delay_before_retry(&self) -> Option<Duration> {
        match self {
            ProbeSpec::HttpGet(_) | ProbeSpec::SslGet(_) => Some(Duration::from_secs(3)),
            ProbeSpec::Dns { .. } => None,
            _ => Some(Duration::from_secs(1)),
        }
    }

    /// Whether the engine schedules this probe (every kind but `FILE_CHECK`,
    /// which follows its tracked file instead).
    pub fn is_polled(&self) -> bool {
        !matches!(self, ProbeSpec::File(_))
    }
}

/// The generic connection keywords of a checker (`check_api.c`), already
/// resolved against the real server: `target` is `connect_ip`, else the real
/// server's address; `port` is `connect_port`, else the real server's port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connect {
    /// Address probed.
    pub target: IpAddr,
    /// Port probed (`None` for PING and port-less services).
    pub port: Option<u16>,
    /// `bindto`.
    pub bind_addr: Option<IpAddr>,
    /// `bind_port`.
    pub bind_port: Option<u16>,
    /// `bind_if`.
    pub bind_if: Option<String>,
    /// `fwmark`: SO_MARK on the probe's socket.
    pub fwmark: Option<u32>,
}

impl Connect {
    /// A plain connection to `target:port`.
    pub fn to(target: IpAddr, port: Option<u16>) -> Self {
        Connect {
            target,
            port,
            bind_addr: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
        }
    }
}

/// `HTTP_GET` / `SSL_GET` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpProbe {
    /// Where to connect.
    pub connect: Connect,
    /// `http_protocol`.
    pub http_protocol: HttpVersion,
    /// Host header (checker, else real server, else virtual server
    /// `virtualhost`).
    pub virtualhost: Option<String>,
    /// `enable_sni` (SSL_GET).
    pub enable_sni: bool,
    /// `fast_recovery`.
    pub fast_recovery: bool,
    /// The `url` blocks, all of which must pass.
    pub urls: Vec<UrlProbe>,
}

/// One `url { }` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlProbe {
    /// `path`.
    pub path: String,
    /// `digest`: MD5 of the body.
    pub digest: Option<[u8; 16]>,
    /// `status_code` ranges (inclusive); empty means 200-299.
    pub status_codes: Vec<(u16, u16)>,
    /// Per-url `virtualhost`.
    pub virtualhost: Option<String>,
    /// `regex`.
    pub regex: Option<String>,
    /// `regex_no_match`.
    pub regex_no_match: bool,
    /// `regex_options`, as written.
    pub regex_options: Vec<String>,
    /// `regex_stack START MAX`.
    pub regex_stack: Option<(u32, u32)>,
    /// `regex_min_offset`.
    pub regex_min_offset: Option<u32>,
    /// `regex_max_offset`.
    pub regex_max_offset: Option<u32>,
}

impl UrlProbe {
    /// `url { path PATH }` with nothing else set (any 2xx passes).
    pub fn new(path: impl Into<String>) -> Self {
        UrlProbe {
            path: path.into(),
            digest: None,
            status_codes: Vec::new(),
            virtualhost: None,
            regex: None,
            regex_no_match: false,
            regex_options: Vec::new(),
            regex_stack: None,
            regex_min_offset: None,
            regex_max_offset: None,
        }
    }
}

/// `http_protocol`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpVersion {
    /// `1.0` (keepalived's default).
    #[default]
    #[serde(rename = "1.0")]
    Http10,
    /// `1.0C`: 1.0 with `Connection: close`.
    #[serde(rename = "1.0C")]
    Http10Close,
    /// `1.1`.
    #[serde(rename = "1.1")]
    Http11,
}

/// `DNS_CHECK` query types (keepalived's default is SOA).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DnsQueryType {
    /// A.
    A,
    /// NS.
    Ns,
    /// CNAME.
    Cname,
    /// SOA.
    #[default]
    Soa,
    /// MX.
    Mx,
    /// TXT.
    Txt,
    /// AAAA.
    Aaaa,
}

/// `UDP_CHECK` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UdpProbe {
    /// Where to send.
    pub connect: Connect,
    /// `payload`; `None` means a random one.
    pub payload: Option<Vec<u8>>,
    /// `require_reply`: bytes and per-byte mask (`X` nibbles are 0).
    pub require_reply: Option<(Vec<u8>, Vec<u8>)>,
    /// `min_reply_length`.
    pub min_reply_length: u16,
    /// `max_reply_length`.
    pub max_reply_length: u16,
}

/// `MISC_CHECK` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MiscProbe {
    /// `misc_path` split into argv.
    pub argv: Vec<String>,
    /// `user USER [GROUP]`.
    pub user: Option<(String, Option<String>)>,
    /// `misc_timeout`; `None` means the checker's `delay_loop`.
    #[serde(with = "crate::time::opt_duration_micros")]
    pub timeout: Option<Duration>,
    /// `misc_dynamic`: exit codes 2..=255 succeed and set the weight to
    /// code − 2 (see [`crate::Outcome::from_misc_exit`]).
    pub dynamic: bool,
}

/// `FILE_CHECK { track_file NAME; weight W [reverse] }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileProbe {
    /// Name of the `track_file` block (the daemon reads the file and sends
    /// its value as `Input::TrackFile`).
    pub track_file: String,
    /// Multiplier for the value read; 0 means "non-zero is a failure".
    pub weight: i32,
    /// `reverse`: negate the product (with weight 0: zero is the failure).
    pub reverse: bool,
}
