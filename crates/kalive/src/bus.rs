//! The messages between the supervisor and the actors (DESIGN.md, Inside
//! the daemon): actors never import each other, they answer these. Every
//! channel carrying them is bounded; a sender waits (the supervisor is the
//! only sender and handles one request at a time).

use kalive_control::{DumpKind, ReloadReply, Response, Status, Target};
use tokio::sync::oneshot;

use crate::setup::Plan;

/// Capacity of an actor's request channel.
pub const ACTOR_QUEUE: usize = 16;

/// A switchover command for the VRRP actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Switch {
    Promote(Target),
    Demote(Target),
    Clear(Target),
}

/// What the supervisor asks the VRRP actor.
pub enum VrrpRequest {
    /// Apply a config the supervisor has already accepted.
    Reload {
        plan: Box<Plan>,
        reply: oneshot::Sender<ReloadReply>,
    },
    Dump(DumpKind),
    /// SIGRTMAX-1: stats, then clear them.
    DumpStatsAndClear,
    Switch {
        switch: Switch,
        reply: oneshot::Sender<Response>,
    },
    Status {
        reply: oneshot::Sender<Status>,
    },
    /// Leave the run loop (the caller then shuts the actor down).
    Stop,
}

/// A control-socket request on its way to the supervisor, with the slot
/// for its answer.
pub struct ControlCall {
    pub request: kalive_control::Request,
    pub reply: oneshot::Sender<Response>,
}
