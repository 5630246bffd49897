//! rtnetlink, wrapped: links, addresses, routes, rules, the macvlan VMAC
//! and a link/address monitor.
//!
//! rtnetlink and netlink-packet-route are pinned (`=0.24.0` / `=0.34.0`):
//! they break their API often (rust-ecosystem.md §3). Only this module
//! touches them; the rest of kalive sees the plain types defined here.
//!
//! A [`Netlink`] talks to the network namespace of the thread that created
//! it, forever: create it inside [`crate::netns::in_netns_tokio`] to manage
//! another namespace.

mod addr;
mod direct;
mod link;
mod monitor;
mod route;
mod rule;
mod scope;

pub use addr::{AddressInfo, AddressSpec};
pub use link::{vmac_address, LinkInfo};
pub use monitor::{AddrEvent, LinkEvent, Monitor, NetEvent};
pub use route::{Route, RouteKind, RouteScope, RTPROT_KEEPALIVED, TABLE_MAIN};
pub use rule::{Rule, RuleAction};
pub use scope::Scope;

use futures::StreamExt;
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST};

use crate::error::{Result, SysError};

/// A request/response netlink connection (NETLINK_ROUTE). Cheap to clone;
/// the connection task ends when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct Netlink {
    handle: rtnetlink::Handle,
    /// Changes go here: carried out and acknowledged within the call.
    direct: std::sync::Arc<direct::DirectNetlink>,
}

impl Netlink {
    /// Opens a netlink connection in the calling thread's network namespace
    /// and spawns its driver task on the current tokio runtime.
    pub fn new() -> Result<Netlink> {
        let (connection, handle, _unsolicited) = rtnetlink::new_connection()
            .map_err(|e| SysError::io("open NETLINK_ROUTE socket", e))?;
        tokio::spawn(connection);
        let direct = std::sync::Arc::new(direct::DirectNetlink::open()?);
        Ok(Netlink { handle, direct })
    }

    /// Sends a request that changes something and waits for the kernel's
    /// acknowledgement. `extra_flags` are NLM_F_CREATE/EXCL/REPLACE….
    /// One change, acknowledged before this returns (see `direct`). Async
    /// for the callers' sake; it never waits on the reactor.
    async fn change(
        &self,
        context: String,
        message: RouteNetlinkMessage,
        extra_flags: u16,
    ) -> Result<()> {
        self.direct.change(&context, message, extra_flags)
    }

    /// Dumps every object of one kind.
    async fn dump(
        &self,
        context: String,
        message: RouteNetlinkMessage,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        self.exchange(context, message, NLM_F_REQUEST | NLM_F_DUMP)
            .await
    }

    /// Gets one object (no dump).
    async fn get(
        &self,
        context: String,
        message: RouteNetlinkMessage,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        self.exchange(context, message, NLM_F_REQUEST).await
    }

    async fn exchange(
        &self,
        context: String,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        let mut request = NetlinkMessage::from(message);
        request.header.flags = flags;
        let mut handle = self.handle.clone();
        let mut responses = handle
            .request(request)
            .map_err(|e| SysError::netlink(context.clone(), e))?;
        let mut answers = Vec::new();
        while let Some(response) = responses.next().await {
            match response.payload {
                NetlinkPayload::InnerMessage(inner) => answers.push(inner),
                NetlinkPayload::Error(err) if err.code.is_some() => {
                    return Err(SysError::netlink(
                        context,
                        rtnetlink::Error::NetlinkError(err),
                    ));
                }
                _ => {}
            }
        }
        Ok(answers)
    }
}
