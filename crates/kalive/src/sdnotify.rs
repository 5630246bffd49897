//! systemd readiness (sd_notify protocol), without libsystemd.
//!
//! Debian's keepalived.service is `Type=notify` with `--dont-fork`: a drop-in
//! that never says READY=1 is killed by systemd after the start timeout. We
//! send `READY=1` once running, `RELOADING=1`/`READY=1` around a reload and
//! `STOPPING=1` on the way out, as keepalived does.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// Where to send notifications (`$NOTIFY_SOCKET`), if anywhere.
#[derive(Debug, Clone, Default)]
pub struct SdNotify {
    socket: Option<String>,
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
        SdNotify { socket }
    }

    /// Notify a given socket path (`@name` = abstract namespace).
    pub fn to_socket(path: &str) -> SdNotify {
        SdNotify {
            socket: Some(path.to_string()),
        }
    }

    /// Best effort; a missing systemd is not an error.
    pub fn send(&self, message: &str) {
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

    pub fn ready(&self, status: &str) {
        self.send(&format!(
            "READY=1\nSTATUS={status}\nMAINPID={}",
            std::process::id()
        ));
    }

    pub fn reloading(&self) {
        self.send("RELOADING=1");
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }
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
        let _ = std::fs::remove_dir_all(&dir);
    }
}
