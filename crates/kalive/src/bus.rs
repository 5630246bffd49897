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

/// What the supervisor asks the LVS side (the check actor receives it and
/// hands the load-balancer part to the LB owner).
pub enum LvsRequest {
    /// Apply the `virtual_server` half of a config the supervisor and the
    /// VRRP actor have accepted; the answer is one line for the summary.
    Reload {
        plan: Box<crate::lower::LvsPlan>,
        reply: oneshot::Sender<Result<String, String>>,
    },
    Status {
        reply: oneshot::Sender<Vec<kalive_control::VirtualServerStatus>>,
    },
    /// Stop checking; the LB owner removes its table unless `release` is
    /// false (`-I`), runs `omega` notifiers, then both end.
    Stop {
        release: bool,
        reply: oneshot::Sender<()>,
    },
}

/// Capacity of the LB owner's queue. The check actor waits when it is full
/// (back-pressure on checking, never on VRRP); the owner drains it whole
/// before each nft transaction, so a burst costs one transaction.
pub const LB_QUEUE: usize = 1024;

/// From the check actor to the LB owner.
#[derive(Debug)]
pub enum LbInput {
    /// A real server became usable (`up`) or not.
    Health {
        vs: kalive_lb::VsKey,
        rs: kalive_lb::RsKey,
        up: bool,
    },
    /// A real server's effective weight changed (dynamic weights, reload).
    Weight {
        vs: kalive_lb::VsKey,
        rs: kalive_lb::RsKey,
        weight: u32,
    },
    /// Reload: the new services with the health the check engine carried
    /// over (or starts with) for every real server.
    Reconfigure {
        config: kalive_lb::LbConfig,
        services: Vec<crate::lower::ServicePlan>,
        fifos: Vec<std::path::PathBuf>,
        health: Vec<Health>,
    },
    /// Shutdown.
    Stop {
        release: bool,
        done: oneshot::Sender<()>,
    },
}

/// One real server's state as the check engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub vs: kalive_lb::VsKey,
    pub rs: kalive_lb::RsKey,
    pub up: bool,
    pub weight: u32,
}
