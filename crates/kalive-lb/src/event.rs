//! What the load balancer tells the outside world: real servers going up
//! or down (`notify_up` / `notify_down`) and services gaining or losing
//! quorum (`quorum_up` / `quorum_down`), each with its `notify_fifo` /
//! `lvs_notify_fifo` line (reference/keepalived-behaviour.md §1.11).

use crate::config::{RsKey, VsKey};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LbEvent {
    /// Run `notify_up` (up) or `notify_down` of the real server.
    RealServer {
        vs: VsKey,
        rs: RsKey,
        up: bool,
        /// Sent while shutting down (`omega`): keepalived waits for the
        /// script, up to one second.
        stopping: bool,
    },
    /// Run `quorum_up` (up) or `quorum_down` of the service.
    Quorum {
        vs: VsKey,
        up: bool,
        /// Decided at start ("Starting with quorum ...") rather than by a
        /// change.
        init: bool,
        stopping: bool,
        /// `quorum`, `hysteresis`, the threshold compared with and the
        /// live weight, for logs and `smtp_alert`
        /// (`=> Gained quorum 2+1=3 <= 3 <=`).
        quorum: u32,
        hysteresis: u32,
        threshold: i64,
        weight_sum: i64,
    },
}

impl LbEvent {
    /// The FIFO line as keepalived writes it (`check/ipwrapper.c`,
    /// `notify_fifo_vs` / `notify_fifo_rs`): `VS [10.0.0.1]:tcp:80 UP\n`,
    /// `RS [10.1.0.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN\n`, followed by the
    /// NUL byte keepalived writes too (its size counts the terminator).
    pub fn fifo_line(&self) -> Vec<u8> {
        let text = match self {
            LbEvent::RealServer { vs, rs, up, .. } => {
                format!("RS {} {vs} {}\n", rs.display_in(vs), up_down(*up))
            }
            LbEvent::Quorum { vs, up, .. } => format!("VS {vs} {}\n", up_down(*up)),
        };
        let mut bytes = text.into_bytes();
        bytes.push(0);
        bytes
    }

    /// keepalived's `smtp_alert` text for a quorum change.
    pub fn quorum_message(&self) -> Option<String> {
        match self {
            LbEvent::Quorum { stopping: true, .. } => Some("=> Shutting down <=".to_owned()),
            LbEvent::Quorum {
                up,
                init,
                quorum,
                hysteresis,
                threshold,
                weight_sum,
                ..
            } => {
                let what = match (up, init) {
                    (true, true) => "Starting with quorum up",
                    (true, false) => "Gained quorum",
                    (false, true) => "Starting with quorum down",
                    (false, false) => "Lost quorum",
                };
                Some(format!(
                    "=> {what} {quorum}+{hysteresis}={threshold} <= {weight_sum} <="
                ))
            }
            LbEvent::RealServer { .. } => None,
        }
    }
}

fn up_down(up: bool) -> &'static str {
    if up {
        "UP"
    } else {
        "DOWN"
    }
}
