//! Log lines in keepalived's wording (`check_tcp.c`, `check_misc.c`, ...),
//! so that operators' log searches keep working. The probe's own reason is
//! appended in parentheses, as keepalived does for MISC_CHECK.

use crate::probe::ProbeSpec;

/// Which failure of a retry chain this is.
pub(crate) enum Failure {
    /// A regular check failed and `retries` retries follow.
    WillRetry { retries: u32 },
    /// Retry `n` of `of` failed and more follow.
    OnRetry { n: u32, of: u32 },
    /// The checker is declared down (after `retries` retries).
    Final { retries: u32, has_run: bool },
}

/// The names a message needs: the checker's target and its virtual server.
pub(crate) struct Names<'a> {
    /// `[ip]:proto:port` of what the checker probes.
    pub target: &'a str,
    /// The virtual server's name.
    pub vs: &'a str,
}

pub(crate) fn success(spec: &ProbeSpec, names: &Names<'_>) -> String {
    match spec {
        ProbeSpec::Tcp(_) => format!("TCP connection to {} success.", names.target),
        ProbeSpec::Misc(m) => format!(
            "Misc check for [{} VS {}] by [{}] succeeded.",
            names.target,
            names.vs,
            script(m)
        ),
        ProbeSpec::File(f) => format!(
            "({}): tracked file {} leaving FAULT state",
            names.target, f.track_file
        ),
        other => format!("{} on service {} succeeded.", other.keyword(), names.target),
    }
}

pub(crate) fn failure(
    spec: &ProbeSpec,
    names: &Names<'_>,
    which: Failure,
    reason: Option<&str>,
) -> String {
    let count = match which {
        Failure::WillRetry { retries } => format!(", will do {retries} {}", plural(retries)),
        Failure::OnRetry { n, of } => format!(" on retry {n}/{of}"),
        Failure::Final { retries: 0, .. } if matches!(spec, ProbeSpec::Misc(_)) => {
            " with retry disabled".to_string()
        }
        Failure::Final { retries, has_run } if retries > 0 && has_run => {
            format!(" after {retries} {}", plural(retries))
        }
        Failure::Final { .. } => String::new(),
    };
    let reason = reason.map(|r| format!(" ({r})")).unwrap_or_default();
    match spec {
        ProbeSpec::Misc(m) => format!(
            "Misc check for [{} VS {}] by [{}] failed{count}{reason}.",
            names.target,
            names.vs,
            script(m)
        ),
        ProbeSpec::File(f) => format!(
            "({}): tracked file {} now FAULT state",
            names.target, f.track_file
        ),
        other => format!(
            "{} on service {} failed{count}{reason}.",
            other.keyword(),
            names.target
        ),
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        "retry"
    } else {
        "retries"
    }
}

fn script(m: &crate::probe::MiscProbe) -> &str {
    m.argv.first().map(String::as_str).unwrap_or("")
}
