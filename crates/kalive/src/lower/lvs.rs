//! `virtual_server` blocks → [`kalive_check::CheckConfig`] (what to probe,
//! when) and [`kalive_lb::LbConfig`] (what the kernel should balance), plus
//! what neither engine knows: notify and quorum scripts, the addresses that
//! `ha_suspend` watches, the LVS FIFOs.
//!
//! The parser already applies keepalived's inheritance and defaults
//! (virtual server → real server → checker, `validate_check_config`,
//! reference/keepalived-behaviour.md §1.12): each checker arrives with its
//! resolved `connect_timeout` and timing. They are lowered as checker-level
//! settings, so kalive-check's own inheritance has nothing left to fill in
//! and both layers agree by construction.
//!
//! One [`ServicePlan`], one check virtual server and one LB service per
//! `virtual_server` block, at the same index, in file order.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use kalive_check as check;
use kalive_config::model::lvs as m;
use kalive_config::model::vrrp::Script as ModelScript;
use kalive_config::model::Config;
use kalive_lb as lb;

use crate::notify::Script;

/// How long a notify_up/down or quorum_up/down script may run (keepalived
/// waits for none of them; kalive bounds them like VRRP notifies).
pub const LVS_SCRIPT_TIMEOUT: Duration = crate::setup::NOTIFY_TIMEOUT;

/// The LVS half of a config, lowered.
#[derive(Debug, Clone, Default)]
pub struct LvsPlan {
    pub check: check::CheckConfig,
    pub lb: lb::LbConfig,
    /// Per virtual server, same index as `check.virtual_servers` and
    /// `lb.services`.
    pub services: Vec<ServicePlan>,
    /// `lvs_notify_fifo` and `notify_fifo` (both get the LVS lines).
    pub fifos: Vec<PathBuf>,
    /// Messages about what kalive does not run (BFD_CHECK, duplicates).
    pub warnings: Vec<String>,
    /// The global `SSL` block, for SSL_GET (None: keepalived's default
    /// context, no client certificate, server not verified).
    pub ssl: Option<kalive_probe::TlsFiles>,
}

impl LvsPlan {
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }
}

/// One `virtual_server`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePlan {
    pub key: lb::VsKey,
    pub quorum_up: Option<Script>,
    pub quorum_down: Option<Script>,
    /// `ha_suspend`: the addresses whose presence on this host resumes the
    /// checks (the service's own address or its group's single addresses).
    pub suspend_on: Option<Vec<IpAddr>>,
    /// Same index as the service's real servers in both engine configs.
    pub real_servers: Vec<RealServerPlan>,
}

/// One `real_server`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServerPlan {
    pub key: lb::RsKey,
    /// `inhibit_on_failure` (for keepalived's log wording).
    pub inhibit_on_failure: bool,
    pub notify_up: Option<Script>,
    pub notify_down: Option<Script>,
}

/// Lower the LVS half of `config`; `script` turns a configured script into
/// one ready to run (its resolved identity and checked file) as for VRRP
/// notifies, or `None` (with its own warning) when it must not run; the
/// second argument names the keyword for that warning.
pub fn lower(
    config: &Config,
    script: &mut dyn FnMut(&ModelScript, &str) -> Option<Script>,
) -> LvsPlan {
    let mut plan = LvsPlan {
        check: check::CheckConfig {
            log_all_failures: config.global_defs.checker_log_all_failures,
            virtual_servers: Vec::new(),
        },
        lb: lb::LbConfig {
            services: Vec::new(),
            rs_init_notifies: config.global_defs.rs_init_notifies,
        },
        ..LvsPlan::default()
    };
    for fifo in [
        &config.global_defs.lvs_notify_fifo,
        &config.global_defs.notify_fifo,
    ] {
        if let Some(path) = &fifo.path {
            if !plan.fifos.contains(path) {
                plan.fifos.push(path.clone());
            }
        }
    }
    plan.ssl = config.lvs.ssl.as_ref().map(|s| kalive_probe::TlsFiles {
        ca: s.ca.as_ref().map(PathBuf::from),
        certificate: s.certificate.as_ref().map(PathBuf::from),
        key: s.key.as_ref().map(PathBuf::from),
        password: s.password.clone(),
        verify_server: false,
    });
    for vs in &config.lvs.virtual_servers {
        let service = lb_service(&config.lvs, vs);
        if plan.lb.services.iter().any(|s| s.key == service.key) {
            plan.warnings.push(format!(
                "virtual server {} defined twice; the second block is ignored",
                service.key
            ));
            continue;
        }
        plan.check
            .virtual_servers
            .push(check_vs(vs, &service.key, &mut plan.warnings));
        plan.services.push(ServicePlan {
            key: service.key.clone(),
            quorum_up: vs.quorum_up.as_ref().and_then(|s| script(s, "quorum_up")),
            quorum_down: vs
                .quorum_down
                .as_ref()
                .and_then(|s| script(s, "quorum_down")),
            suspend_on: vs
                .ha_suspend
                .then(|| suspend_addresses(&config.lvs, vs, &service)),
            real_servers: vs
                .real_servers
                .iter()
                .map(|rs| RealServerPlan {
                    key: rs_key(rs),
                    inhibit_on_failure: rs.inhibit_on_failure,
                    notify_up: rs.notify_up.as_ref().and_then(|s| script(s, "notify_up")),
                    notify_down: rs
                        .notify_down
                        .as_ref()
                        .and_then(|s| script(s, "notify_down")),
                })
                .collect(),
        });
        plan.lb.services.push(service);
    }
    plan
}

fn family(f: Option<m::IpFamily>) -> lb::Family {
    match f {
        Some(m::IpFamily::Inet6) => lb::Family::V6,
        _ => lb::Family::V4,
    }
}

fn lb_protocol(p: m::Protocol) -> lb::Protocol {
    match p {
        m::Protocol::Tcp => lb::Protocol::Tcp,
        m::Protocol::Udp => lb::Protocol::Udp,
        m::Protocol::Sctp => lb::Protocol::Sctp,
    }
}

fn check_protocol(p: m::Protocol) -> check::Protocol {
    match p {
        m::Protocol::Tcp => check::Protocol::Tcp,
        m::Protocol::Udp => check::Protocol::Udp,
        m::Protocol::Sctp => check::Protocol::Sctp,
    }
}

fn method(m: &m::ForwardingMethod) -> lb::Method {
    match m {
        m::ForwardingMethod::Nat => lb::Method::Nat,
        m::ForwardingMethod::Dr => lb::Method::Dr,
        m::ForwardingMethod::Tun(t) => lb::Method::Tun(lb::Tunnel {
            kind: match t.kind {
                m::TunnelKind::Ipip => lb::TunnelKind::Ipip,
                m::TunnelKind::Gue { port } => lb::TunnelKind::Gue { port },
                m::TunnelKind::Gre => lb::TunnelKind::Gre,
            },
            checksum: match t.checksum {
                m::TunnelChecksum::NoCsum => lb::TunnelChecksum::None,
                m::TunnelChecksum::Csum => lb::TunnelChecksum::Checksum,
                m::TunnelChecksum::RemCsum => lb::TunnelChecksum::Remote,
            },
        }),
    }
}

fn scheduler(s: m::Scheduler) -> lb::Scheduler {
    match s {
        m::Scheduler::Rr => lb::Scheduler::Rr,
        m::Scheduler::Wrr => lb::Scheduler::Wrr,
        m::Scheduler::Lc => lb::Scheduler::Lc,
        m::Scheduler::Wlc => lb::Scheduler::Wlc,
        m::Scheduler::Lblc => lb::Scheduler::Lblc,
        m::Scheduler::Sh => lb::Scheduler::Sh,
        m::Scheduler::Mh => lb::Scheduler::Mh,
        m::Scheduler::Dh => lb::Scheduler::Dh,
        m::Scheduler::Fo => lb::Scheduler::Fo,
        m::Scheduler::Ovf => lb::Scheduler::Ovf,
        m::Scheduler::Lblcr => lb::Scheduler::Lblcr,
        m::Scheduler::Sed => lb::Scheduler::Sed,
        m::Scheduler::Nq => lb::Scheduler::Nq,
        m::Scheduler::Twos => lb::Scheduler::Twos,
    }
}

fn rs_key(rs: &m::RealServer) -> lb::RsKey {
    lb::RsKey {
        addr: rs.addr,
        port: rs.port,
    }
}

/// A virtual server's identity. keepalived treats an address service
/// without `protocol` as UDP (the parser warned already).
fn vs_key(vs: &m::VirtualServer) -> lb::VsKey {
    let fam = family(vs.family);
    match &vs.address {
        m::VsAddress::Ip { addr, port } => lb::VsKey::Ip {
            addr: *addr,
            port: *port,
            protocol: lb_protocol(vs.protocol.unwrap_or(m::Protocol::Udp)),
        },
        m::VsAddress::Fwmark { mark } => lb::VsKey::Fwmark {
            mark: *mark,
            family: fam,
        },
        m::VsAddress::Group { name } => lb::VsKey::Group {
            name: name.clone(),
            protocol: vs.protocol.map(lb_protocol),
            family: fam,
        },
    }
}

/// What traffic a service takes. Group members of the other family are
/// left out, as keepalived does.
fn members(lvs: &m::LvsConfig, vs: &m::VirtualServer) -> Vec<lb::Member> {
    let fam = vs.family.unwrap_or(m::IpFamily::Inet);
    match &vs.address {
        m::VsAddress::Ip { addr, port } => vec![lb::Member::Addresses {
            first: *addr,
            last: *addr,
            port: *port,
        }],
        m::VsAddress::Fwmark { mark } => vec![lb::Member::Fwmark(*mark)],
        m::VsAddress::Group { name } => {
            let Some(group) = lvs.group(name) else {
                return Vec::new();
            };
            let addresses = group
                .addresses
                .iter()
                .filter(|a| a.range.family() == fam)
                .map(|a| lb::Member::Addresses {
                    first: a.range.first,
                    last: a.range.last,
                    port: a.port,
                });
            let marks = group
                .fwmarks
                .iter()
                .filter(|f| f.family.is_none_or(|f| f == fam))
                .map(|f| lb::Member::Fwmark(f.mark));
            addresses.chain(marks).collect()
        }
    }
}

/// `persistence_granularity` as a prefix length.
fn prefix_len(g: &m::PersistenceGranularity) -> u8 {
    match g {
        m::PersistenceGranularity::V4Mask(mask) => {
            u8::try_from(u32::from(*mask).count_ones()).unwrap_or(32)
        }
        m::PersistenceGranularity::V6Prefix(n) => *n,
    }
}

fn lb_service(lvs: &m::LvsConfig, vs: &m::VirtualServer) -> lb::ServiceConfig {
    let key = vs_key(vs);
    let flags = lb::SchedulerFlags {
        hash_port: vs.flags.sh_port || vs.flags.mh_port,
        fallback: vs.flags.sh_fallback || vs.flags.mh_fallback,
        one_packet: vs.flags.one_packet,
    };
    lb::ServiceConfig {
        members: members(lvs, vs),
        family: family(vs.family),
        protocol: match vs.address {
            m::VsAddress::Fwmark { .. } => None,
            _ => vs.protocol.map(lb_protocol),
        }
        .or_else(|| key.protocol()),
        scheduler: scheduler(vs.scheduler),
        flags,
        persistence: vs.persistence_timeout.map(|timeout| lb::Persistence {
            timeout,
            prefix_len: vs.persistence_granularity.as_ref().map(prefix_len),
        }),
        persistence_engine: vs.persistence_engine.clone(),
        quorum: vs.quorum,
        hysteresis: vs.hysteresis,
        omega: vs.omega,
        sorry_server: vs.sorry_server.as_ref().map(|s| lb::SorryServerConfig {
            key: lb::RsKey {
                addr: s.addr,
                port: s.port,
            },
            method: method(&s.method),
            inhibit: s.inhibit,
            // keepalived gives the sorry server the service's weight.
            weight: vs.weight,
        }),
        real_servers: vs
            .real_servers
            .iter()
            .map(|rs| lb::RealServerConfig {
                key: rs_key(rs),
                weight: rs.weight,
                method: method(&rs.method),
                inhibit_on_failure: rs.inhibit_on_failure,
                upper_threshold: rs.uthreshold,
                lower_threshold: rs.lthreshold,
                // Under alpha a checker starts down (the check actor
                // corrects this from the check engine's layout anyway).
                initially_alive: rs
                    .checkers
                    .iter()
                    .all(|c| !c.timing.is_some_and(|t| t.alpha)),
            })
            .collect(),
        key,
    }
}

/// The addresses `ha_suspend` waits for: the service's own address, or
/// every single address of its group (ranges and fwmarks are never
/// configured as VIPs one by one; keepalived only suspends address
/// services).
fn suspend_addresses(
    lvs: &m::LvsConfig,
    vs: &m::VirtualServer,
    service: &lb::ServiceConfig,
) -> Vec<IpAddr> {
    match &vs.address {
        m::VsAddress::Ip { addr, .. } => vec![*addr],
        m::VsAddress::Fwmark { .. } => Vec::new(),
        m::VsAddress::Group { name } => lvs
            .group(name)
            .map(|g| {
                g.addresses
                    .iter()
                    .filter(|a| a.range.first == a.range.last)
                    .filter(|a| family(Some(a.range.family())) == service.family)
                    .map(|a| a.range.first)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn check_vs(
    vs: &m::VirtualServer,
    key: &lb::VsKey,
    warnings: &mut Vec<String>,
) -> check::VirtualServerConfig {
    let mut out = check::VirtualServerConfig::new(key.to_string(), vs.protocol.map(check_protocol));
    if vs.is_fwmark() {
        out.protocol = None;
    }
    // Only address services can be suspended (no address to wait for
    // otherwise).
    out.ha_suspend = vs.ha_suspend && !vs.is_fwmark();
    out.weight = Some(vs.weight);
    out.inhibit_on_failure = vs.inhibit_on_failure;
    out.settings = check::Settings {
        connect_timeout: Some(vs.connect_timeout),
        delay_loop: Some(vs.delay_loop),
        warmup: vs.warmup,
        retry: vs.retry,
        delay_before_retry: vs.delay_before_retry,
        alpha: Some(vs.alpha),
    };
    for rs in &vs.real_servers {
        let mut r = check::RealServerConfig::new(rs.addr, rs.port);
        r.weight = Some(rs.weight);
        r.inhibit_on_failure = Some(rs.inhibit_on_failure);
        r.settings = check::Settings {
            connect_timeout: Some(rs.connect_timeout),
            delay_loop: Some(rs.delay_loop),
            warmup: rs.warmup,
            retry: rs.retry,
            delay_before_retry: rs.delay_before_retry,
            alpha: Some(rs.alpha),
        };
        for c in &rs.checkers {
            match checker(vs, rs, c) {
                Some(cfg) => r.checkers.push(cfg),
                None => warnings.push(format!(
                    "{} of real server [{}]:{} in virtual server {key} is not run by kalive",
                    c.kind.keyword(),
                    rs.addr,
                    rs.port.unwrap_or(0)
                )),
            }
        }
        out.real_servers.push(r);
    }
    out
}

fn connect(rs: &m::RealServer, c: &m::Checker) -> check::Connect {
    let (target, port) = c.target(rs).unwrap_or((rs.addr, rs.port));
    let conn = c.connection.clone().unwrap_or_default();
    check::Connect {
        target,
        port,
        bind_addr: conn.bindto,
        bind_port: conn.bind_port,
        bind_if: conn.bind_if,
        fwmark: conn.fwmark,
    }
}

fn http(
    vs: &m::VirtualServer,
    rs: &m::RealServer,
    h: &m::HttpCheck,
    connect: check::Connect,
) -> check::HttpProbe {
    check::HttpProbe {
        connect,
        http_protocol: match h.http_protocol {
            m::HttpProtocol::Http10 => check::HttpVersion::Http10,
            m::HttpProtocol::Http10Close => check::HttpVersion::Http10Close,
            m::HttpProtocol::Http11 => check::HttpVersion::Http11,
        },
        virtualhost: h
            .virtualhost
            .clone()
            .or_else(|| rs.virtualhost.clone())
            .or_else(|| vs.virtualhost.clone()),
        enable_sni: h.enable_sni,
        fast_recovery: h.fast_recovery,
        urls: h
            .urls
            .iter()
            .map(|u| check::UrlProbe {
                path: u.path.clone(),
                digest: u.digest,
                status_codes: u.status_codes.iter().map(|r| (r.first, r.last)).collect(),
                virtualhost: u.virtualhost.clone(),
                regex: u.regex.clone(),
                regex_no_match: u.regex_no_match,
                regex_options: u.regex_options.clone(),
                regex_stack: u.regex_stack,
                regex_min_offset: u.regex_min_offset,
                regex_max_offset: u.regex_max_offset,
            })
            .collect(),
    }
}

/// One checker block; `None` for BFD_CHECK (no BFD in kalive yet).
fn checker(
    vs: &m::VirtualServer,
    rs: &m::RealServer,
    c: &m::Checker,
) -> Option<check::CheckerConfig> {
    let conn = connect(rs, c);
    let spec = match &c.kind {
        m::CheckerKind::Tcp => check::ProbeSpec::Tcp(conn),
        m::CheckerKind::HttpGet(h) => check::ProbeSpec::HttpGet(http(vs, rs, h, conn)),
        m::CheckerKind::SslGet(h) => check::ProbeSpec::SslGet(http(vs, rs, h, conn)),
        m::CheckerKind::Smtp(s) => check::ProbeSpec::Smtp {
            connect: conn,
            helo_name: s.helo_name.clone(),
        },
        m::CheckerKind::Dns(d) => check::ProbeSpec::Dns {
            connect: conn,
            query_type: match d.query_type {
                m::DnsType::A => check::DnsQueryType::A,
                m::DnsType::Ns => check::DnsQueryType::Ns,
                m::DnsType::Cname => check::DnsQueryType::Cname,
                m::DnsType::Soa => check::DnsQueryType::Soa,
                m::DnsType::Mx => check::DnsQueryType::Mx,
                m::DnsType::Txt => check::DnsQueryType::Txt,
                m::DnsType::Aaaa => check::DnsQueryType::Aaaa,
            },
            name: d.name.clone(),
        },
        m::CheckerKind::Udp(u) => check::ProbeSpec::Udp(check::UdpProbe {
            connect: conn,
            payload: u.payload.clone(),
            require_reply: u
                .require_reply
                .as_ref()
                .map(|p| (p.bytes.clone(), p.mask.clone())),
            min_reply_length: u.min_reply_length,
            max_reply_length: u.max_reply_length,
        }),
        m::CheckerKind::Ping => check::ProbeSpec::Ping(conn),
        m::CheckerKind::Misc(misc) => check::ProbeSpec::Misc(check::MiscProbe {
            argv: misc.script.args.clone(),
            user: misc
                .script
                .user
                .as_ref()
                .map(|u| (u.user.clone(), u.group.clone())),
            timeout: misc.timeout,
            dynamic: misc.dynamic,
        }),
        m::CheckerKind::File(f) => check::ProbeSpec::File(check::FileProbe {
            track_file: f.track_file.clone(),
            weight: f.weight,
            reverse: f.reverse,
        }),
        m::CheckerKind::Bfd(_) => return None,
    };
    let mut out = check::CheckerConfig::new(spec);
    out.log_all_failures = c.log_all_failures;
    // The parser resolved these (reference §1.12); carried as given.
    let connect_timeout = c
        .connection
        .as_ref()
        .map_or(rs.connect_timeout, |conn| conn.connect_timeout);
    out.settings = match c.timing {
        Some(t) => check::Settings {
            connect_timeout: Some(connect_timeout),
            delay_loop: Some(t.delay_loop),
            warmup: Some(t.warmup),
            retry: Some(t.retry),
            delay_before_retry: Some(t.delay_before_retry),
            alpha: Some(t.alpha),
        },
        None => check::Settings {
            connect_timeout: Some(connect_timeout),
            ..check::Settings::default()
        },
    };
    Some(out)
}

#[cfg(test)]
mod tests;
