//! Programs the kernel's IPVS table from a kalive-lb state, the way the
//! daemon's LB owner does: read the table back (dump + parse), reconcile,
//! send each request with an acknowledgement. Used inside the guest
//! (`kalive-lab ipvs-apply`) to compare kalive's table with keepalived's.

use std::collections::BTreeSet;
use std::path::Path;

use kalive_lb::ipvs::{self, IpvsTable, ServiceId};
use kalive_lb::LbState;
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

/// `kalive-lab ipvs-apply --state FILE`: apply a JSON `LbState`, read the
/// table back and check that nothing is left to do (which also proves the
/// dump parser against the real kernel).
pub fn apply_file(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LabError::io(format!("read {}", path.display()), e))?;
    let desired: LbState = serde_json::from_str(&text).map_err(|e| LabError::Parse {
        what: path.display().to_string(),
        detail: e.to_string(),
    })?;
    let socket = IpvsSocket::open().map_err(|e| backend("open IPVS", e))?;
    let sent = apply(&socket, &desired, &BTreeSet::new())?;
    let after = read_table(&socket)?;
    let left =
        ipvs::reconcile(&after, &desired, &BTreeSet::new()).map_err(|e| backend("reconcile", e))?;
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
