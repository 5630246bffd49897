//! From desired state to IPVS requests: [`render`] carries out a list of
//! [`LbOp`]s, [`reconcile`] compares with the table read back from the
//! kernel. Both touch only services kalive owns; neither ever flushes the
//! table (other tools' services stay).

use std::collections::BTreeSet;

use super::consts::IP_VS_CONN_F_LOCALNODE;
use super::request::{self, IpvsRequest};
use super::table::{
    expand, kernel_dest, kernel_service, service_ids, IpvsTable, KernelDest, ServiceId,
};
use crate::diff::{apply, LbOp};
use crate::error::LbError;
use crate::state::LbState;

/// The requests that carry out `ops`, given the state they apply to
/// (`current`: needed to know which kernel services a group stands for
/// when it is deleted or its members change).
///
/// An `EditService` whose members changed deletes the kernel services of
/// members that went (with their destinations), edits those that stay and
/// creates the new ones with every destination of the service.
pub fn render(current: &LbState, ops: &[LbOp]) -> Result<Vec<IpvsRequest>, LbError> {
    let mut state = current.clone();
    let mut out = Vec::new();
    for op in ops {
        match op {
            LbOp::AddService { spec, .. } => {
                let svc = kernel_service(spec)?;
                for id in service_ids(spec)? {
                    out.push(request::new_service(&id, &svc));
                }
            }
            LbOp::EditService { vs, spec } => {
                let svc = kernel_service(spec)?;
                let new_ids = service_ids(spec)?;
                let (old_ids, dests) = match state.services.get(vs) {
                    Some(old) => (service_ids(&old.spec)?, old.dests.clone()),
                    None => return Err(LbError::UnknownService(vs.clone())),
                };
                for id in old_ids.iter().filter(|id| !new_ids.contains(id)) {
                    out.push(request::del_service(id));
                }
                for id in &new_ids {
                    if old_ids.contains(id) {
                        out.push(request::set_service(id, &svc));
                    } else {
                        out.push(request::new_service(id, &svc));
                        for (rs, d) in &dests {
                            out.push(request::new_dest(id, rs, &kernel_dest(d)));
                        }
                    }
                }
            }
            LbOp::DelService { vs } => {
                let old = state
                    .services
                    .get(vs)
                    .ok_or_else(|| LbError::UnknownService(vs.clone()))?;
                for id in service_ids(&old.spec)? {
                    out.push(request::del_service(&id));
                }
            }
            LbOp::AddDest { vs, rs, dest } | LbOp::EditDest { vs, rs, dest } => {
                let svc = state
                    .services
                    .get(vs)
                    .ok_or_else(|| LbError::UnknownService(vs.clone()))?;
                let kd = kernel_dest(dest);
                for id in service_ids(&svc.spec)? {
                    out.push(if matches!(op, LbOp::AddDest { .. }) {
                        request::new_dest(&id, rs, &kd)
                    } else {
                        request::set_dest(&id, rs, &kd)
                    });
                }
            }
            LbOp::DelDest { vs, rs } => {
                let svc = state
                    .services
                    .get(vs)
                    .ok_or_else(|| LbError::UnknownService(vs.clone()))?;
                for id in service_ids(&svc.spec)? {
                    out.push(request::del_dest(&id, rs));
                }
            }
        }
        state = apply(&state, std::slice::from_ref(op));
    }
    Ok(out)
}

/// The requests that make the kernel's table (`kernel`, as dumped) hold
/// `desired`. Services in `owned` (those kalive created earlier, e.g.
/// before a reload or a restart) that are no longer desired are deleted;
/// every other service kalive does not want is left alone. Within a
/// desired service every destination is kalive's.
pub fn reconcile(
    kernel: &IpvsTable,
    desired: &LbState,
    owned: &BTreeSet<ServiceId>,
) -> Result<Vec<IpvsRequest>, LbError> {
    let want = expand(desired)?;
    let mut out = Vec::new();
    for id in kernel.keys() {
        if owned.contains(id) && !want.contains_key(id) {
            out.push(request::del_service(id));
        }
    }
    for (id, svc) in &want {
        match kernel.get(id) {
            None => {
                out.push(request::new_service(id, svc));
                for (rs, d) in &svc.dests {
                    out.push(request::new_dest(id, rs, d));
                }
            }
            Some(have) => {
                let params_differ = have.scheduler != svc.scheduler
                    || have.flags != svc.flags
                    || have.timeout != svc.timeout
                    || have.netmask != svc.netmask
                    || have.pe_name != svc.pe_name;
                if params_differ {
                    out.push(request::set_service(id, svc));
                }
                for rs in have.dests.keys() {
                    if !svc.dests.contains_key(rs) {
                        out.push(request::del_dest(id, rs));
                    }
                }
                for (rs, d) in &svc.dests {
                    match have.dests.get(rs) {
                        None => out.push(request::new_dest(id, rs, d)),
                        Some(h) if !same_dest(h, d) => out.push(request::set_dest(id, rs, d)),
                        Some(_) => {}
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Whether the kernel's destination is the one wanted. The kernel turns
/// any method into `LOCALNODE` for an address of this host
/// (`ip_vs_new_dest`), so that report matches every wanted method.
fn same_dest(have: &KernelDest, want: &KernelDest) -> bool {
    if have.fwd_method == IP_VS_CONN_F_LOCALNODE {
        let mut have = *have;
        have.fwd_method = want.fwd_method;
        (have.tun_type, have.tun_port, have.tun_flags) =
            (want.tun_type, want.tun_port, want.tun_flags);
        return have == *want;
    }
    have == want
}
