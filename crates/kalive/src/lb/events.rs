//! Carrying out [`LbEvent`]s: keepalived's log lines, the real server's
//! `notify_up`/`notify_down` or the service's `quorum_up`/`quorum_down`
//! (through the daemon's script runner, `notify::run_script`), and the
//! line for `lvs_notify_fifo` / `notify_fifo` (reference §1.11).

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use kalive_lb::LbEvent;
use tokio::task::JoinHandle;

use crate::lower::lvs::LVS_SCRIPT_TIMEOUT;
use crate::lower::ServicePlan;
use crate::notify::Script;

/// `lvs_notify_fifo` / `notify_fifo`: created when missing (as keepalived
/// does) and held open while a reader has them open.
#[derive(Debug, Default)]
pub struct Fifos {
    paths: Vec<PathBuf>,
    open: HashMap<PathBuf, File>,
}

impl Fifos {
    pub fn new(paths: Vec<PathBuf>) -> Fifos {
        for path in &paths {
            if !path.exists() {
                if let Err(e) = nix::unistd::mkfifo(
                    path.as_path(),
                    nix::sys::stat::Mode::from_bits_truncate(0o600),
                ) {
                    tracing::warn!("cannot create FIFO {}: {e}", path.display());
                }
            }
        }
        Fifos {
            paths,
            open: HashMap::new(),
        }
    }

    /// One line to each FIFO, never blocking: a FIFO nobody reads (ENXIO)
    /// or a full one (EAGAIN) loses the line.
    fn write(&mut self, line: &[u8]) {
        for path in &self.paths {
            if !self.open.contains_key(path) {
                let opened = std::fs::OpenOptions::new()
                    .append(true)
                    .custom_flags(libc::O_NONBLOCK)
                    .open(path);
                match opened {
                    Ok(f) => {
                        self.open.insert(path.clone(), f);
                    }
                    Err(e) => {
                        tracing::debug!("{}: LVS line not written: {e}", path.display());
                        continue;
                    }
                }
            }
            let written = self.open.get_mut(path).map(|f| f.write_all(line));
            if let Some(Err(e)) = written {
                tracing::debug!("{}: LVS line not written: {e}", path.display());
                self.open.remove(path);
            }
        }
    }
}

/// Log, write the FIFO line, start the script (returned so that stopping
/// can wait for it).
pub fn carry_out(
    event: &LbEvent,
    services: &[ServicePlan],
    fifos: &mut Fifos,
) -> Option<JoinHandle<()>> {
    let script = match event {
        LbEvent::RealServer {
            vs,
            rs,
            up,
            stopping,
            ..
        } => {
            let plan = services
                .iter()
                .find(|s| s.key == *vs)
                .and_then(|s| s.real_servers.iter().find(|r| r.key == *rs));
            let inhibit = plan.is_some_and(|p| p.inhibit_on_failure);
            let name = rs.display_in(vs);
            // keepalived's `perform_svr_state` / `clear_service_rs` wording.
            let line = match (stopping, up, inhibit) {
                (true, _, _) => format!("Shutting down service {name} from VS {vs}"),
                (false, true, true) => format!("Enabling service {name} of VS {vs}"),
                (false, true, false) => format!("Adding service {name} to VS {vs}"),
                (false, false, true) => format!("Disabling service {name} of VS {vs}"),
                (false, false, false) => format!("Removing service {name} from VS {vs}"),
            };
            tracing::info!("{line}");
            plan.and_then(|p| {
                if *up {
                    p.notify_up.clone()
                } else {
                    p.notify_down.clone()
                }
            })
        }
        LbEvent::Quorum {
            vs,
            up,
            init,
            stopping,
            quorum,
            hysteresis,
            threshold,
            weight_sum,
        } => {
            // keepalived's `update_quorum_state` wording.
            if *up {
                tracing::info!(
                    "Gained quorum {quorum}+{hysteresis}={threshold} <= {weight_sum} for VS {vs}"
                );
            } else if !stopping {
                let what = if *init {
                    "Starting with quorum down"
                } else {
                    "Lost quorum"
                };
                tracing::info!(
                    "{what} {quorum}-{hysteresis}={threshold} > {weight_sum} for VS {vs}"
                );
            }
            let plan = services.iter().find(|s| s.key == *vs);
            plan.and_then(|p| {
                if *up {
                    p.quorum_up.clone()
                } else {
                    p.quorum_down.clone()
                }
            })
        }
    };
    fifos.write(&event.fifo_line());
    script.map(spawn_script)
}

fn spawn_script(script: Script) -> JoinHandle<()> {
    tokio::spawn(async move {
        let outcome = crate::notify::run_script(&script, LVS_SCRIPT_TIMEOUT).await;
        if !outcome.success() {
            tracing::warn!("LVS notify script {} failed: {outcome:?}", script.display());
        }
    })
}
