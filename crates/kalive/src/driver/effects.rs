//! The effects owner: netlink changes (addresses, routes, rules) and GARP /
//! NA frames, carried out one after the other in the order the actor queued
//! them, so a GARP never leaves before its VIP is in place.

use std::time::Duration;

use kalive_sys::{FrameSender, Netlink};
use tokio::sync::{mpsc, oneshot};

/// One change carried out by the effects task, in order.
#[derive(Debug)]
pub enum Effect {
    AddAddress(kalive_sys::AddressSpec),
    DelAddress(kalive_sys::AddressSpec),
    AddRoute(kalive_sys::Route),
    DelRoute(kalive_sys::Route),
    AddRule(kalive_sys::Rule),
    DelRule(kalive_sys::Rule),
    Frame {
        ifindex: u32,
        bytes: Vec<u8>,
        what: String,
    },
    Pause(Duration),
    Barrier(oneshot::Sender<()>),
}

pub async fn effects_task(
    nl: Netlink,
    frames: FrameSender,
    mut rx: mpsc::UnboundedReceiver<Effect>,
) {
    while let Some(effect) = rx.recv().await {
        let result = match &effect {
            Effect::AddAddress(a) => nl
                .add_address(a)
                .await
                .or_else(ok_if(|e| e.is_already_exists())),
            Effect::DelAddress(a) => nl.del_address(a).await.or_else(ok_if(not_there)),
            Effect::AddRoute(r) => nl
                .add_route(r)
                .await
                .or_else(ok_if(|e| e.is_already_exists())),
            Effect::DelRoute(r) => nl.del_route(r).await.or_else(ok_if(not_there)),
            Effect::AddRule(r) => nl
                .add_rule(r)
                .await
                .or_else(ok_if(|e| e.is_already_exists())),
            Effect::DelRule(r) => nl.del_rule(r).await.or_else(ok_if(not_there)),
            Effect::Frame {
                ifindex,
                bytes,
                what,
            } => {
                tracing::debug!("Sending {what}");
                frames.send_frame(*ifindex, bytes).await
            }
            Effect::Pause(d) => {
                tokio::time::sleep(*d).await;
                Ok(())
            }
            Effect::Barrier(_) => Ok(()),
        };
        if let Effect::Barrier(done) = effect {
            let _ = done.send(());
            continue;
        }
        if let Err(e) = result {
            tracing::warn!("{}: {e}", effect_name(&effect));
        }
    }
}

fn not_there(e: &kalive_sys::SysError) -> bool {
    e.is_not_found()
        || e.errno() == Some(nix::libc::EADDRNOTAVAIL)
        || e.errno() == Some(nix::libc::ESRCH)
}

fn ok_if(
    pred: impl Fn(&kalive_sys::SysError) -> bool,
) -> impl FnOnce(kalive_sys::SysError) -> Result<(), kalive_sys::SysError> {
    move |e| if pred(&e) { Ok(()) } else { Err(e) }
}

fn effect_name(e: &Effect) -> String {
    match e {
        Effect::AddAddress(a) => format!("adding {}/{}", a.addr, a.prefix_len),
        Effect::DelAddress(a) => format!("removing {}/{}", a.addr, a.prefix_len),
        Effect::AddRoute(r) => format!("adding route {}/{}", r.dst, r.dst_len),
        Effect::DelRoute(r) => format!("removing route {}/{}", r.dst, r.dst_len),
        Effect::AddRule(_) => "adding rule".into(),
        Effect::DelRule(_) => "removing rule".into(),
        Effect::Frame { what, .. } => format!("sending {what}"),
        Effect::Pause(_) | Effect::Barrier(_) => String::new(),
    }
}
