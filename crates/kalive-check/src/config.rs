//! The engine's own configuration: virtual servers → real servers →
//! checkers, each level able to set the polling keywords that the level
//! below inherits (keepalived's `validate_check_config`, reference
//! /work/shared/reference/keepalived-behaviour.md §1.12).
//!
//! The daemon lowers keepalived.conf into these plain structs; nothing here
//! knows the parser.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::probe::ProbeSpec;
use crate::Error;

/// keepalived's `KEEPALIVED_DEFAULT_DELAY`: `delay_loop` when set nowhere.
pub const DEFAULT_DELAY_LOOP: Duration = Duration::from_secs(60);
/// Virtual server `connect_timeout` when set nowhere.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Real server weight when neither it nor its virtual server sets one.
pub const DEFAULT_WEIGHT: u32 = 1;
/// IPVS's largest weight (`IPVS_WEIGHT_LIMIT` = `INT32_MAX`): dynamic
/// weights are clamped to `0..=MAX_WEIGHT`.
pub const MAX_WEIGHT: u32 = i32::MAX as u32;

/// The polling keywords, each optional at every level; an unset keyword is
/// inherited from the level above, then takes keepalived's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// `connect_timeout`.
    #[serde(default, with = "crate::time::opt_duration_micros")]
    pub connect_timeout: Option<Duration>,
    /// `delay_loop`.
    #[serde(default, with = "crate::time::opt_duration_micros")]
    pub delay_loop: Option<Duration>,
    /// `warmup`: the first check comes at a point spread within it.
    #[serde(default, with = "crate::time::opt_duration_micros")]
    pub warmup: Option<Duration>,
    /// `retry` (and HTTP's deprecated `nb_get_retry`, which the daemon
    /// lowers into this field).
    #[serde(default)]
    pub retry: Option<u32>,
    /// `delay_before_retry`.
    #[serde(default, with = "crate::time::opt_duration_micros")]
    pub delay_before_retry: Option<Duration>,
    /// `alpha`: checkers start DOWN until their first success.
    #[serde(default)]
    pub alpha: Option<bool>,
}

impl Settings {
    /// `self`, with every unset keyword taken from `parent`.
    pub fn inherit(&self, parent: &Settings) -> Settings {
        Settings {
            connect_timeout: self.connect_timeout.or(parent.connect_timeout),
            delay_loop: self.delay_loop.or(parent.delay_loop),
            warmup: self.warmup.or(parent.warmup),
            retry: self.retry.or(parent.retry),
            delay_before_retry: self.delay_before_retry.or(parent.delay_before_retry),
            alpha: self.alpha.or(parent.alpha),
        }
    }
}

/// Everything the check engine runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckConfig {
    /// Global `checker_log_all_failures`.
    #[serde(default)]
    pub log_all_failures: bool,
    /// The virtual servers, in file order.
    pub virtual_servers: Vec<VirtualServerConfig>,
}

/// Transport protocol of a virtual server, for keepalived's log spelling
/// (`[10.0.0.1]:tcp:80`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// keepalived's lower-case spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// `virtual_server ... { }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualServerConfig {
    /// Identity across reloads and the name in logs: keepalived's `FMT_VS`
    /// spelling (`[10.0.0.1]:tcp:80`, `FWM 1`, `[group]:0`). Unique.
    pub name: String,
    /// `protocol` (`None` for fwmark services), for real-server log names.
    pub protocol: Option<Protocol>,
    /// `ha_suspend`: checks are suspended until the daemon reports the
    /// virtual address present (`Input::SetSuspended`).
    #[serde(default)]
    pub ha_suspend: bool,
    /// `weight`: default weight of its real servers.
    #[serde(default)]
    pub weight: Option<u32>,
    /// `inhibit_on_failure`: default for its real servers.
    #[serde(default)]
    pub inhibit_on_failure: bool,
    /// Polling keywords set at this level.
    #[serde(default)]
    pub settings: Settings,
    /// Its real servers, in file order.
    pub real_servers: Vec<RealServerConfig>,
}

impl VirtualServerConfig {
    /// A virtual server called `name` with nothing set.
    pub fn new(name: impl Into<String>, protocol: Option<Protocol>) -> Self {
        VirtualServerConfig {
            name: name.into(),
            protocol,
            ha_suspend: false,
            weight: None,
            inhibit_on_failure: false,
            settings: Settings::default(),
            real_servers: Vec::new(),
        }
    }

    /// keepalived's virtual-server defaults under the keywords set here:
    /// `connect_timeout` 5 s, `delay_loop` 60 s, alpha off (`alloc_vs`).
    pub(crate) fn resolved_settings(&self) -> Settings {
        self.settings.inherit(&Settings {
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            delay_loop: Some(DEFAULT_DELAY_LOOP),
            alpha: Some(false),
            ..Settings::default()
        })
    }
}

/// `real_server IP [PORT] { }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealServerConfig {
    /// Address: with `port`, its identity inside the virtual server.
    pub addr: IpAddr,
    /// Port (`None` for port-less services).
    pub port: Option<u16>,
    /// `weight`; `None` takes the virtual server's, else 1.
    #[serde(default)]
    pub weight: Option<u32>,
    /// `inhibit_on_failure`; `None` takes the virtual server's. The engine
    /// only carries it: the load-balancing layer sets weight 0 instead of
    /// removing a failed server.
    #[serde(default)]
    pub inhibit_on_failure: Option<bool>,
    /// Polling keywords set at this level.
    #[serde(default)]
    pub settings: Settings,
    /// Its checkers. None at all: the server is always healthy.
    pub checkers: Vec<CheckerConfig>,
}

impl RealServerConfig {
    /// A real server at `addr:port` with nothing set.
    pub fn new(addr: IpAddr, port: Option<u16>) -> Self {
        RealServerConfig {
            addr,
            port,
            weight: None,
            inhibit_on_failure: None,
            settings: Settings::default(),
            checkers: Vec::new(),
        }
    }
}

/// One checker block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckerConfig {
    /// What to probe.
    pub spec: ProbeSpec,
    /// Polling keywords set in the checker block.
    #[serde(default)]
    pub settings: Settings,
    /// `log_all_failures`: also report failures that only start a retry.
    #[serde(default)]
    pub log_all_failures: bool,
}

impl CheckerConfig {
    /// A checker for `spec` with nothing set.
    pub fn new(spec: ProbeSpec) -> Self {
        CheckerConfig {
            spec,
            settings: Settings::default(),
            log_all_failures: false,
        }
    }
}

/// A checker's polling parameters after inheritance and defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// Time allowed for one probe (`connect_timeout`; for MISC_CHECK
    /// `misc_timeout`, else `delay_loop`).
    #[serde(with = "crate::time::duration_micros")]
    pub probe_timeout: Duration,
    /// Interval of regular checks.
    #[serde(with = "crate::time::duration_micros")]
    pub delay_loop: Duration,
    /// Upper bound of the spread of the first check.
    #[serde(with = "crate::time::duration_micros")]
    pub warmup: Duration,
    /// Retries after a failure before the checker is declared down.
    pub retry: u32,
    /// Delay from a failed probe's result to its retry.
    #[serde(with = "crate::time::duration_micros")]
    pub delay_before_retry: Duration,
    /// Start DOWN until the first success.
    pub alpha: bool,
}

impl Timing {
    /// Resolve a checker's settings against its real server's (already
    /// inherited from the virtual server), as keepalived's
    /// `validate_check_config` does: retry and delay_before_retry fall back
    /// to the kind's defaults, warmup and DNS's delay_before_retry to the
    /// checker's delay_loop.
    pub fn resolve(checker: &CheckerConfig, rs: &Settings) -> Result<Timing, Error> {
        let s = checker.settings.inherit(rs);
        let delay_loop = s.delay_loop.unwrap_or(DEFAULT_DELAY_LOOP);
        if delay_loop.is_zero() {
            return Err(Error::ZeroDelayLoop);
        }
        let probe_timeout = match &checker.spec {
            ProbeSpec::Misc(m) => m.timeout.unwrap_or(delay_loop),
            _ => s.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        };
        Ok(Timing {
            probe_timeout,
            delay_loop,
            warmup: s.warmup.unwrap_or(delay_loop),
            retry: s.retry.unwrap_or_else(|| checker.spec.default_retry()),
            delay_before_retry: s
                .delay_before_retry
                .or_else(|| checker.spec.default_delay_before_retry())
                .unwrap_or(delay_loop),
            // FILE_CHECK knows its state at once (keepalived clears alpha).
            alpha: s.alpha.unwrap_or(false) && checker.spec.is_polled(),
        })
    }
}
