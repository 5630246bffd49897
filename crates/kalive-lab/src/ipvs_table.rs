//! Programs the kernel's IPVS table from a kalive-lb state, the way the
//! daemon's LB owner does: read the table back (dump + parse), reconcile,
//! send each request with an acknowledgement. Used inside the guest
//! (`kalive-lab ipvs-apply`) to compare kalive's table with keepalived's.

use std::collections::BTreeSet;
use std::path::Path;

use kalive_lb::ipvs::{self, IpvsTable, ServiceId};
use kalive_lb::{Dest, LbState, RsKey, Service, ServiceSpec, VsKey};
use kalive_sys::IpvsSocket;

use crate::error::{LabError, Result};

fn backend(context: &str, e: impl std::fmt::Display) -> LabError {
    LabError::Usage(format!("{context}: {e}"))
}

/// The kernel's whole IPVS table, parsed.
pub fn read_table(socket: &IpvsSocket) -> Result<IpvsTable> {
    let mut table = IpvsTable::new();
    let req = ipvs::dump_services();
    for reply in socket
        .dump(req.cmd, &req.attrs)
        .map_err(|e| backend("dump services", e))?
    {
        let (id, svc) = ipvs::parse_service(&reply).map_err(|e| backend("parse service", e))?;
        table.insert(id, svc);
    }
    for (id, svc) in table.iter_mut() {
        let req = ipvs::dump_dests(id);
        for reply in socket
            .dump(req.cmd, &req.attrs)
            .map_err(|e| backend("dump dests", e))?
        {
            let (rs, dest) =
                ipvs::parse_dest(&reply, id.family()).map_err(|e| backend("parse dest", e))?;
            svc.dests.insert(rs, dest);
        }
    }
    Ok(table)
}

/// Makes the kernel hold `desired` (services in `owned` that are not
/// desired are removed; others' services are left alone). Returns how many
/// requests it sent.
pub fn apply(socket: &IpvsSocket, desired: &LbState, owned: &BTreeSet<ServiceId>) -> Result<usize> {
    let kernel = read_table(socket)?;
    let requests = ipvs::reconcile(&kernel, desired, owned).map_err(|e| backend("reconcile", e))?;
    for req in &requests {
        socket
            .request(req.cmd, &req.attrs)
            .map_err(|e| backend("IPVS request", e))?;
    }
    Ok(requests.len())
}

/// JSON maps need string keys; the file holds the state as lists:
/// `[[vs, spec, [[rs, dest], ...]], ...]`.
type StateFile = Vec<(VsKey, ServiceSpec, Vec<(RsKey, Dest)>)>;

/// A state as `ipvs-apply` reads it.
pub fn state_to_json(state: &LbState) -> String {
    let file: StateFile = state
        .services
        .iter()
        .map(|(vs, s)| {
            (
                vs.clone(),
                s.spec.clone(),
                s.dests.iter().map(|(k, d)| (*k, *d)).collect(),
            )
        })
        .collect();
    serde_json::to_string_pretty(&file).unwrap_or_default()
}

/// The inverse of [`state_to_json`].
pub fn state_from_json(text: &str) -> std::result::Result<LbState, serde_json::Error> {
    let file: StateFile = serde_json::from_str(text)?;
    let services = file
        .into_iter()
        .map(|(vs, spec, dests)| {
            (
                vs,
                Service {
                    spec,
                    dests: dests.into_iter().collect(),
                },
            )
        })
        .collect();
    Ok(LbState { services })
}

/// `kalive-lab ipvs-apply --state FILE`: apply a JSON `LbState`, read the
/// table back and check that nothing is left to do (which also proves the
/// dump parser against the real kernel).
///
/// Without `owned_from` the table is reconciled (dump, compare, change).
/// With it — the state kalive programmed before, as after a reload — the
/// change is carried out as the daemon does between two known states:
/// `render(before, diff(before, after))`, then checked the same way.
pub fn apply_file(path: &Path, owned_from: Option<&Path>) -> Result<String> {
    let desired = read_state(path)?;
    let socket = IpvsSocket::open().map_err(|e| backend("open IPVS", e))?;
    let (sent, owned) = match owned_from {
        None => (apply(&socket, &desired, &BTreeSet::new())?, BTreeSet::new()),
        Some(p) => {
            let before = read_state(p)?;
            let owned: BTreeSet<ServiceId> = ipvs::expand(&before)
                .map_err(|e| backend("expand previous state", e))?
                .into_keys()
                .collect();
            let ops = kalive_lb::diff(&before, &desired);
            let requests = ipvs::render(&before, &ops).map_err(|e| backend("render", e))?;
            for req in &requests {
                socket
                    .request(req.cmd, &req.attrs)
                    .map_err(|e| backend("IPVS request", e))?;
            }
            (requests.len(), owned)
        }
    };
    let after = read_table(&socket)?;
    let left = ipvs::reconcile(&after, &desired, &owned).map_err(|e| backend("reconcile", e))?;
    if !left.is_empty() {
        return Err(backend(
            "read back",
            format!(
                "{} requests still to do after applying: {left:?}",
                left.len()
            ),
        ));
    }
    Ok(format!(
        "ipvs-apply: {sent} requests sent; table read back: {} services, nothing left to do",
        after.len()
    ))
}

fn read_state(path: &Path) -> Result<LbState> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LabError::io(format!("read {}", path.display()), e))?;
    state_from_json(&text).map_err(|e| LabError::Parse {
        what: path.display().to_string(),
        detail: e.to_string(),
    })
}

/// `kalive-lab ipvs-timeouts`: the kernel's TCP, TCP FIN and UDP
/// timeouts in seconds (0 keeps a value).
pub fn set_timeouts(tcp: u32, tcp_fin: u32, udp: u32) -> Result<()> {
    let socket = IpvsSocket::open().map_err(|e| backend("open IPVS", e))?;
    let req = ipvs::set_timeouts(tcp, tcp_fin, udp);
    socket
        .request(req.cmd, &req.attrs)
        .map_err(|e| backend("set timeouts", e))
}

/// `kalive-lab ipvs-sync-daemon`: start (or stop) a connection sync
/// daemon as `lvs_sync_daemon` does.
pub fn sync_daemon(daemon: &ipvs::SyncDaemon, stop: bool) -> Result<()> {
    let socket = IpvsSocket::open().map_err(|e| backend("open IPVS", e))?;
    let req = if stop {
        ipvs::del_daemon(daemon.role)
    } else {
        ipvs::new_daemon(daemon)
    };
    socket
        .request(req.cmd, &req.attrs)
        .map_err(|e| backend("sync daemon", e))
}
