//! Reload without a flap (issue 9; reference §1.15): the engine matches old
//! and new instances and keeps their state (`Vrrp::reconfigure`); this side
//! carries out only the differences: what the engine retired (in the old
//! config's terms), statics by diff, VMACs and sockets that came or went,
//! trackers and notify scripts replaced. A VIP, route or rule that stays is
//! never touched.

use std::collections::HashMap;
use std::time::Duration;

use kalive_control::ReloadReply;
use kalive_sys::ReceiveSet;

use super::{sock_key, sys_err, undo, VrrpActor};
use crate::setup::Plan;
use crate::track_script;

impl VrrpActor {
    /// Apply an accepted config. Never leaves the actor without a run: a
    /// failure before the engine accepted the new config keeps the old one
    /// untouched.
    pub(super) async fn reload(&mut self, plan: Plan) -> ReloadReply {
        if self.run.is_none() {
            return match self.start(plan).await {
                Ok(()) => applied("started".into()),
                Err(e) => refused(format!("starting failed: {e}")),
            };
        }
        for w in &plan.warnings {
            tracing::warn!("{w}");
        }
        // VMACs the new config needs and the old one lacks come first: the
        // engine's new instances live on them.
        let new_vmacs = self.vmacs_for(&plan).await;
        if let Ok(links) = super::links::Links::load(&self.netlink).await {
            self.links = links;
        }
        let instances = self.prepare_instances(&plan);
        let now = self.now();
        let Some(run) = self.run.as_mut() else {
            return refused("no configuration is running".into());
        };
        let outcome = match run
            .vrrp
            .reconfigure(now, instances.clone(), plan.sync_groups.clone())
        {
            Ok(outcome) => outcome,
            Err(e) => {
                // The engine kept the old config; VMACs made for the new
                // one go again.
                let created: Vec<_> = new_vmacs
                    .iter()
                    .filter(|(v, _)| !run.vmacs.iter().any(|(old, _)| old == v))
                    .cloned()
                    .collect();
                for (v, index) in created {
                    if let Err(e) = self.netlink.delete_link(index).await {
                        tracing::warn!("VMAC {}: {e}", v.name);
                    }
                }
                return refused(format!("the VRRP engine refused it: {e}"));
            }
        };
        // What the engine retired refers to the old config's resources:
        // carry it out before the plan is swapped.
        for out in outcome.retired {
            self.carry_out_one(out).await;
        }
        let old_statics = self.run.as_ref().map(|r| self.statics(&r.plan));
        let new_statics = self.statics(&plan);
        if let Some(old) = old_statics {
            for change in old.iter().filter(|c| !new_statics.contains(c)) {
                self.net.change(undo(change.clone()));
            }
            for change in new_statics.iter().filter(|c| !old.contains(c)) {
                self.net.change(change.clone());
            }
        }
        let Some(mut run) = self.run.take() else {
            return refused("no configuration is running".into());
        };
        // VMACs the new config no longer has.
        for (v, index) in &run.vmacs {
            if !new_vmacs.iter().any(|(n, _)| n == v) {
                if let Err(e) = self.netlink.delete_link(*index).await {
                    tracing::warn!("VMAC {}: {e}", v.name);
                } else {
                    tracing::info!("(VMAC) {} removed", v.name);
                }
            }
        }
        run.vmacs = new_vmacs;
        // Sockets: keep those still used, open the new, close the rest.
        let mut sockets = HashMap::new();
        for ic in &instances {
            let key = sock_key(ic);
            if sockets.contains_key(&key) {
                continue;
            }
            if let Some(sock) = run.sockets.remove(&key) {
                sockets.insert(key, sock);
            } else if let Some(sock) = super::open_socket(ic) {
                if let Err(e) = run.rx.add(&sock) {
                    tracing::error!("({}) cannot receive on {}: {e}", ic.name, ic.interface);
                    continue;
                }
                sockets.insert(key, std::sync::Arc::new(sock));
            }
        }
        run.sockets = sockets;
        if run.sockets.is_empty() {
            // A fresh receive set: the closed sockets left the old one.
            if let Ok(rx) = ReceiveSet::new().map_err(sys_err) {
                run.rx = rx;
            }
        }
        // Trackers: keepalived restarts its scripts on reload; the engine
        // kept each tracker's state by name, so a restarted script only
        // confirms it.
        for t in run.script_tasks.drain(..) {
            t.abort();
        }
        run.script_tasks = track_script::spawn_all(&plan.track_scripts, self.script_tx.clone());
        run.script_tasks.extend(track_script::spawn_file_watchers(
            &plan.track_files,
            self.file_tx.clone(),
        ));
        // track_process counts again from /proc (keepalived's
        // reload_track_processes); the engine hears only the counts.
        run.script_tasks
            .extend(self.track_processes(&plan, &mut run.vrrp));
        if let Some(n) = &mut self.notifier {
            n.set_scripts(plan.notify.scripts.clone());
        }
        run.plan = plan;
        self.run = Some(run);
        self.carry_out().await;
        self.barrier(Duration::from_secs(2)).await;
        applied(format!(
            "{} instances kept, {} added, {} removed",
            outcome.kept.len(),
            outcome.added.len(),
            outcome.removed.len()
        ))
    }

    /// The VMACs `plan` needs: those the running config has already are
    /// kept as they are, the others are created.
    async fn vmacs_for(&mut self, plan: &Plan) -> Vec<(crate::setup::VmacPlan, u32)> {
        let mut out = Vec::new();
        // The run's saver also restores what new VMACs change.
        let mut sysctls = self
            .run
            .as_mut()
            .map(|r| std::mem::take(&mut r.sysctls))
            .unwrap_or_default();
        for v in plan.resources.iter().filter_map(|r| r.vmac.as_ref()) {
            let existing = self
                .run
                .as_ref()
                .and_then(|r| r.vmacs.iter().find(|(old, _)| old == v).cloned());
            match existing {
                Some(kept) => out.push(kept),
                None => match self.create_vmac(v, &mut sysctls).await {
                    Ok(index) => out.push((v.clone(), index)),
                    Err(e) => {
                        tracing::error!("Unable to create VMAC {} on {}: {e}", v.name, v.parent)
                    }
                },
            }
        }
        if let Some(run) = &mut self.run {
            run.sysctls = sysctls;
        }
        out
    }
}

fn applied(summary: String) -> ReloadReply {
    ReloadReply {
        applied: true,
        summary,
        diagnostics: Vec::new(),
    }
}

fn refused(summary: String) -> ReloadReply {
    ReloadReply {
        applied: false,
        summary,
        diagnostics: Vec::new(),
    }
}
