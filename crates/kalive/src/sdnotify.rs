//! systemd readiness (sd_notify protocol), without libsystemd.
//!
//! Debian's keepalived.service is `Type=notify` with `--dont-fork`: a drop-in
//! that never says READY=1 is killed by systemd after the start timeout. We
//! send `READY=1` once running, `RELOADING=1`/`READY=1` around a reload and
//! `STOPPING=1` on the way out, as keepalived does.

use std::io::Write;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::{Arc, Mutex};

/// Where to send notifications (`$NOTIFY_SOCKET`), if anywhere.
///
/// systemd accepts notifications from the main process only (`Type=notify`
/// without `NotifyAccess=`): that is the keeper (`keeper.rs`). The worker
/// hands its notifications to the keeper over their channel as `SD ...`
/// lines, and the keeper sends them on.
#[derive(Debug, Clone, Default)]
pub struct SdNotify {
    socket: Option<String>,
    keeper: Option<Arc<Mutex<std::fs::File>>>,
}

impl SdNotify {
    /// Take `$NOTIFY_SOCKET` and remove it from the environment so scripts
    /// we run cannot notify in our name. Call before any thread starts.
    pub fn from_env() -> SdNotify {
        let socket = std::env::var("NOTIFY_SOCKET")
            .ok()
            .filter(|s| !s.is_empty());
        if socket.is_some() {
            std::env::remove_var("NOTIFY_SOCKET");
        }
        SdNotify {
            socket,
            keeper: None,
        }
    }

    /// In the worker: notifications go to the keeper over `channel`.
    pub fn via_keeper(channel: std::fs::File) -> SdNotify {
        SdNotify {
            socket: None,
            keeper: Some(Arc::new(Mutex::new(channel))),
        }
    }

    /// Notify a given socket path (`@name` = abstract namespace).
    pub fn to_socket(path: &str) -> SdNotify {
        SdNotify {
            socket: Some(path.to_string()),
            keeper: None,
        }
    }

    /// Best effort; a missing systemd is not an error.
    pub fn send(&self, message: &str) {
        if let Some(channel) = &self.keeper {
            let line = format!("SD {}\n", escape(message));
            if let Ok(mut channel) = channel.lock() {
                if let Err(e) = channel.write_all(line.as_bytes()) {
                    tracing::debug!("notification not handed to the keeper: {e}");
                }
            }
            return;
        }
        let Some(path) = &self.socket else { return };
        let Ok(sock) = UnixDatagram::unbound() else {
            return;
        };
        let addr = match path.strip_prefix('@') {
            Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
            None => SocketAddr::from_pathname(path),
        };
        if let Ok(addr) = addr {
            let _ = sock.send_to_addr(message.as_bytes(), &addr);
        }
    }

    /// `READY=1` with `status`; the keeper (the process systemd started)
    /// is the main PID, so a worker's message names no MAINPID of its own.
    pub fn ready(&self, status: &str) {
        if self.keeper.is_some() {
            self.send(&format!("READY=1\nSTATUS={status}"));
        } else {
            self.send(&format!(
                "READY=1\nSTATUS={status}\nMAINPID={}",
                std::process::id()
            ));
        }
    }

    pub fn reloading(&self) {
        self.send("RELOADING=1");
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }
}

/// A notification as one channel line: newlines and backslashes escaped.
pub fn escape(message: &str) -> String {
    message.replace('\\', "\\\\").replace('\n', "\\n")
}

/// The inverse of [`escape`].
pub fn unescape(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ready_reaches_the_socket() {
        let dir = std::env::temp_dir().join(format!("kalive-sd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("notify");
        let server = UnixDatagram::bind(&path).expect("bind");
        server
            .set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        let sd = SdNotify::to_socket(&path.display().to_string());
        sd.ready("running");
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).expect("recv");
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(
            text.starts_with("READY=1\nSTATUS=running\nMAINPID="),
            "{text}"
        );
        SdNotify::default().ready("nobody listens"); // no socket: no-op
        for message in ["READY=1\nSTATUS=a\\b", "RELOADING=1", "x\\n"] {
            let line = escape(message);
            assert!(!line.contains('\n'));
            assert_eq!(unescape(&line), message);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
