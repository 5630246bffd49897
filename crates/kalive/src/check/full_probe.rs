//! Every checker kind through kalive-probe: the engine's [`ProbeSpec`]
//! (plain data) becomes kalive-probe's check values and one of its async
//! functions runs; its outcome goes back to the engine unchanged but for
//! the MISC_CHECK dynamic weight. FILE_CHECK is never asked for (the engine
//! follows the tracked file itself).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kalive_check::{Connect, DnsQueryType, HttpProbe, HttpVersion, Outcome, ProbeSpec};
use kalive_probe as kp;

use super::probe::{ProbeFuture, Prober};

/// kalive-probe behind the [`Prober`] seam.
#[derive(Debug, Clone)]
pub struct FullProber {
    /// For SSL_GET: the global `SSL` block's context (keepalived's default
    /// without one: trust any server, no client certificate).
    tls: Option<Arc<kp::TlsClient>>,
}

impl FullProber {
    /// With the `SSL` block's files, if any.
    pub fn new(ssl: Option<&kp::TlsFiles>) -> FullProber {
        let client = match ssl {
            Some(files) => kp::TlsClient::new(files),
            None => kp::TlsClient::insecure(),
        };
        let tls = match client {
            Ok(c) => Some(Arc::new(c)),
            Err(e) => {
                tracing::error!("SSL: {e}; SSL_GET checks will fail");
                None
            }
        };
        FullProber { tls }
    }
}

impl Prober for FullProber {
    fn run(&self, spec: Arc<ProbeSpec>, timeout: Duration) -> ProbeFuture {
        let tls = self.tls.clone();
        Box::pin(async move {
            match run(&spec, timeout, tls).await {
                Ok(outcome) => outcome,
                Err(reason) => Outcome::failure(reason),
            }
        })
    }
}

fn options(c: &Connect, timeout: Duration) -> kp::ConnectOptions {
    let mut opts = kp::ConnectOptions::new(SocketAddr::new(c.target, c.port.unwrap_or(0)), timeout);
    opts.bind = c.bind_addr;
    opts.bind_port = c.bind_port;
    opts.bind_if = c.bind_if.clone();
    opts.fwmark = c.fwmark;
    opts
}

fn lowered(o: kp::Outcome) -> Outcome {
    let dynamic_weight = match o.detail {
        kp::Detail::Misc { weight, .. } => weight.map(u32::from),
        _ => None,
    };
    Outcome {
        success: o.success,
        reason: o.reason,
        dynamic_weight,
    }
}

async fn run(
    spec: &ProbeSpec,
    timeout: Duration,
    tls: Option<Arc<kp::TlsClient>>,
) -> Result<Outcome, String> {
    Ok(match spec {
        ProbeSpec::Tcp(c) => lowered(kp::tcp_check(&options(c, timeout)).await),
        ProbeSpec::HttpGet(h) => http(h, timeout, None).await?,
        ProbeSpec::SslGet(h) => {
            let client = tls.ok_or("no TLS context (see the SSL error at start)")?;
            http(h, timeout, Some(client)).await?
        }
        ProbeSpec::Smtp { connect, helo_name } => {
            let check = kp::SmtpCheck {
                helo_name: helo_name.clone(),
            };
            lowered(kp::smtp_check(&options(connect, timeout), &check).await)
        }
        ProbeSpec::Dns {
            connect,
            query_type,
            name,
        } => {
            let record_type = kp::DnsType::parse(dns_type(*query_type))
                .ok_or_else(|| format!("unknown DNS type {query_type:?}"))?;
            let check = kp::DnsCheck::new(name, record_type).map_err(|e| e.to_string())?;
            lowered(kp::dns_check(&options(connect, timeout), &check).await)
        }
        ProbeSpec::Udp(u) => {
            let check = kp::UdpCheck {
                payload: u.payload.clone().unwrap_or_default(),
                require_reply: u.require_reply.is_some(),
                reply: u.require_reply.as_ref().and_then(|(bytes, mask)| {
                    (!bytes.is_empty()).then(|| kp::HexPattern {
                        bytes: bytes.clone(),
                        // Ours marks the bits that must match, theirs the
                        // bits that match anything.
                        wildcard: mask.iter().map(|m| !m).collect(),
                    })
                }),
                min_reply_length: u.min_reply_length,
                max_reply_length: u.max_reply_length,
            };
            lowered(kp::udp_check(&options(&u.connect, timeout), &check).await)
        }
        ProbeSpec::Ping(c) => lowered(kp::ping_check(&options(c, timeout)).await),
        ProbeSpec::Misc(m) => {
            let mut check =
                kp::MiscCheck::new(m.argv.clone(), timeout).map_err(|e| e.to_string())?;
            check.dynamic = m.dynamic;
            if let Some((user, group)) = &m.user {
                let u = nix::unistd::User::from_name(user)
                    .ok()
                    .flatten()
                    .ok_or_else(|| format!("unknown user {user}"))?;
                check.uid = Some(u.uid.as_raw());
                check.gid = Some(match group {
                    Some(g) => nix::unistd::Group::from_name(g.trim_start_matches(':'))
                        .ok()
                        .flatten()
                        .ok_or_else(|| format!("unknown group {g}"))?
                        .gid
                        .as_raw(),
                    None => u.gid.as_raw(),
                });
            }
            lowered(kp::misc_check(&check).await)
        }
        ProbeSpec::File(_) => Outcome::failure("FILE_CHECK is not probed"),
    })
}

fn dns_type(t: DnsQueryType) -> &'static str {
    match t {
        DnsQueryType::A => "A",
        DnsQueryType::Ns => "NS",
        DnsQueryType::Cname => "CNAME",
        DnsQueryType::Soa => "SOA",
        DnsQueryType::Mx => "MX",
        DnsQueryType::Txt => "TXT",
        DnsQueryType::Aaaa => "AAAA",
    }
}

/// Every url must pass (keepalived checks them in order, one connection
/// each).
async fn http(
    h: &HttpProbe,
    timeout: Duration,
    tls: Option<Arc<kp::TlsClient>>,
) -> Result<Outcome, String> {
    let mut check = match tls {
        Some(client) => {
            let mut c = kp::HttpGet::ssl(client);
            if let Some(ssl) = &mut c.tls {
                ssl.enable_sni = h.enable_sni;
            }
            c
        }
        None => kp::HttpGet::http(),
    };
    check.protocol = match h.http_protocol {
        HttpVersion::Http10 => kp::HttpProtocol::Http10,
        HttpVersion::Http10Close => kp::HttpProtocol::Http10Close,
        HttpVersion::Http11 => kp::HttpProtocol::Http11,
    };
    check.virtualhost = h.virtualhost.clone();
    let opts = options(&h.connect, timeout);
    for u in &h.urls {
        let mut url = kp::UrlCheck::new(u.path.clone());
        url.digest = u.digest;
        url.virtualhost = u.virtualhost.clone();
        if !u.status_codes.is_empty() {
            let mut codes = kp::StatusCodes::empty();
            for (low, high) in &u.status_codes {
                codes.insert_range(*low, *high);
            }
            url.status_codes = codes;
        }
        if let Some(pattern) = &u.regex {
            let mut regex =
                kp::RegexCheck::new(pattern, u.regex_no_match).map_err(|e| e.to_string())?;
            if let Some(min) = u.regex_min_offset {
                regex.min_offset = u64::from(min);
            }
            regex.max_offset = u.regex_max_offset.map(u64::from);
            url.regex = Some(regex);
        }
        let outcome = kp::http_get(&opts, &check, &url).await;
        if !outcome.success {
            return Ok(lowered(outcome));
        }
    }
    Ok(Outcome::success())
}
