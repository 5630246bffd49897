//! Identifiers, the inputs the engine consumes and the outputs it produces.
//! All serde, so that a run can be recorded as JSON lines and replayed.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::probe::ProbeSpec;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);
    };
}

id_type!(
    /// A virtual server; kept across a reload while its name stays.
    VirtualServerId
);
id_type!(
    /// A real server; kept across a reload while its virtual server, address
    /// and port stay.
    RealServerId
);
id_type!(
    /// A checker; kept across a reload while its spec and timing stay. Never
    /// reused for another checker.
    CheckerId
);
id_type!(
    /// One requested probe run. An outcome names the run it answers, so a
    /// late answer to a run the engine has given up on is recognised.
    ProbeId
);

/// What a probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Whether the check passed.
    pub success: bool,
    /// Why it failed (for logs and status), e.g. `connection refused`.
    pub reason: Option<String>,
    /// A weight reported by the probe (MISC_CHECK with `misc_dynamic`); the
    /// real server's weight follows it while the checker passes.
    pub dynamic_weight: Option<u32>,
}

/// How a MISC_CHECK script ended, as the daemon observed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScriptExit {
    /// Exited with this status.
    Code(u8),
    /// Killed by this signal (not by the timeout).
    Signal(i32),
    /// Killed because it outlived its timeout.
    TimedOut,
}

impl Outcome {
    /// A pass.
    pub fn success() -> Self {
        Outcome {
            success: true,
            reason: None,
            dynamic_weight: None,
        }
    }

    /// A failure, with why.
    pub fn failure(reason: impl Into<String>) -> Self {
        Outcome {
            success: false,
            reason: Some(reason.into()),
            dynamic_weight: None,
        }
    }

    /// keepalived's reading of a MISC_CHECK exit (`check_misc.c`, reference
    /// §1.12): 0 passes; with `misc_dynamic`, 2..=255 also pass and set the
    /// weight to status − 2 (0..=253); anything else fails.
    pub fn from_misc_exit(exit: ScriptExit, dynamic: bool) -> Self {
        match exit {
            ScriptExit::Code(0) => Outcome::success(),
            ScriptExit::Code(code) if dynamic && code >= 2 => Outcome {
                success: true,
                reason: None,
                dynamic_weight: Some(u32::from(code) - 2),
            },
            ScriptExit::Code(code) => Outcome::failure(format!("exited with status {code}")),
            ScriptExit::Signal(sig) => Outcome::failure(format!("due to signal {sig}")),
            ScriptExit::TimedOut => Outcome::failure("timed out"),
        }
    }
}

/// What the engine is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Input {
    /// A probe run finished. Ignored unless `probe` is the run the checker
    /// is waiting for (a removed checker, a superseded run).
    ProbeDone {
        /// The checker.
        checker: CheckerId,
        /// The run, from its `Output::RunProbe`.
        probe: ProbeId,
        /// What it found.
        outcome: Outcome,
    },
    /// A `track_file`'s current value (FILE_CHECK). Files no checker tracks
    /// are ignored.
    TrackFile {
        /// The `track_file` block's name.
        name: String,
        /// The number read from the file (0 when empty or unreadable).
        value: i64,
    },
    /// `ha_suspend`: the virtual server's address went away (`true`) or came
    /// back (`false`). Ignored for virtual servers without `ha_suspend`.
    SetSuspended {
        /// The virtual server.
        vs: VirtualServerId,
        /// Whether its checks pause.
        suspended: bool,
    },
    /// Operator override: a disabled real server is reported down whatever
    /// its checkers say (drain); its checks keep running.
    SetRealServerEnabled {
        /// The real server.
        rs: RealServerId,
        /// Enabled (the default) or disabled.
        enabled: bool,
    },
}

/// Why a real server changed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cause {
    /// A checker's result decided it; `message` is keepalived's log wording.
    Checker {
        /// The checker.
        checker: CheckerId,
        /// e.g. `TCP_CHECK on service [10.0.0.2]:tcp:80 failed after 1 retries (connection refused).`
        message: String,
    },
    /// `Input::SetRealServerEnabled`.
    Operator,
    /// A reload replaced or removed the checkers that decided the old state.
    Reconfigure,
}

impl Cause {
    /// A one-line description for logs.
    pub fn message(&self) -> &str {
        match self {
            Cause::Checker { message, .. } => message,
            Cause::Operator => "operator override",
            Cause::Reconfigure => "configuration reloaded",
        }
    }
}

/// What the engine asks for or reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Output {
    /// Run `spec` now and answer with `Input::ProbeDone` within `timeout`.
    /// An answer that has not come `timeout` + [`crate::PROBE_GRACE`] later
    /// counts as a failure and the run is superseded.
    RunProbe {
        /// The checker.
        checker: CheckerId,
        /// This run.
        probe: ProbeId,
        /// What to run (shared with the engine: no copy per run).
        spec: Arc<ProbeSpec>,
        /// Time allowed.
        #[serde(with = "crate::time::duration_micros")]
        timeout: Duration,
    },
    /// A checker went up or down, or gave its first result.
    CheckerChanged {
        /// The checker.
        checker: CheckerId,
        /// Its new state.
        up: bool,
        /// keepalived's log wording.
        message: String,
    },
    /// A failure that only starts or continues a retry, reported when
    /// `log_all_failures` is set (checker or global).
    CheckFailed {
        /// The checker.
        checker: CheckerId,
        /// keepalived's log wording.
        message: String,
    },
    /// The real server is now usable: enabled and every checker up.
    RealServerUp {
        /// The real server.
        rs: RealServerId,
        /// Why.
        reason: Cause,
    },
    /// The real server is no longer usable.
    RealServerDown {
        /// The real server.
        rs: RealServerId,
        /// Why.
        reason: Cause,
    },
    /// The real server's effective weight changed (misc_dynamic, FILE_CHECK
    /// weights, or a reload changing `weight`).
    WeightChanged {
        /// The real server.
        rs: RealServerId,
        /// Previous weight.
        old: u32,
        /// New weight.
        new: u32,
    },
}
