//! The control socket (issue 9, "Runtime control"): a Unix stream socket
//! only root can use, one JSON request and one JSON answer per connection
//! (kalive-control). Requests go to the supervisor; this module decides
//! nothing.
//!
//! Safety: the socket's directory is created 0700, the socket is made
//! 0600, and every peer's credentials are checked (uid 0) on accept. A
//! path that exists and is not a socket is never removed; a socket another
//! live daemon answers on is not taken over.

use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kalive_control::{decode_line, encode_line, Request, Response, MAX_MESSAGE};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::bus::ControlCall;
use crate::error::Error;

/// Connections served at once; more wait in the listen backlog.
const MAX_CLIENTS: usize = 8;
/// A client must send its request within this time.
const READ_LIMIT: Duration = Duration::from_secs(5);
/// Requests queued for the supervisor.
pub const CONTROL_QUEUE: usize = 8;

/// The default socket: one per network namespace, so that several daemons
/// on one host (one per namespace, as in the lab) each have their own.
/// `namespace` is the daemon's `-s`; without it, the named namespace the
/// process runs in (`ip netns exec NS kalive ...`), if any. `kalive ctl`
/// run the same way finds the same path.
pub fn default_path(namespace: Option<&str>) -> PathBuf {
    let named = namespace.map(str::to_string).or_else(current_netns_name);
    match named {
        Some(ns) => PathBuf::from(format!("/run/kalive/kalive-{ns}.ctl")),
        None => PathBuf::from("/run/kalive/kalive.ctl"),
    }
}

/// The name under /run/netns of the network namespace this process is in
/// (what `ip netns identify` prints), if it has one.
fn current_netns_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let own = std::fs::metadata("/proc/self/ns/net").ok()?;
    std::fs::read_dir("/run/netns")
        .ok()?
        .flatten()
        .find(|entry| {
            std::fs::metadata(entry.path())
                .is_ok_and(|m| m.dev() == own.dev() && m.ino() == own.ino())
        })
        .and_then(|entry| entry.file_name().into_string().ok())
}

/// The bound socket; removed when dropped.
pub struct ControlSocket {
    path: PathBuf,
    listener: UnixListener,
}

impl ControlSocket {
    pub fn bind(path: &Path) -> Result<ControlSocket, Error> {
        let io_err = |what: &str, e: io::Error| Error::Io(format!("{what} {}", path.display()), e);
        if let Some(dir) = path.parent() {
            if !dir.exists() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|e| io_err("creating the directory of", e))?;
            }
        }
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_socket() => {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(Error::Config(format!(
                        "control socket {} is in use by another running daemon (give each its own with --control-socket)",
                        path.display()
                    )));
                }
                std::fs::remove_file(path).map_err(|e| io_err("removing the stale socket", e))?;
            }
            Ok(_) => {
                return Err(Error::Config(format!(
                    "{} exists and is not a socket; not touching it",
                    path.display()
                )))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("inspecting", e)),
        }
        let listener = UnixListener::bind(path).map_err(|e| io_err("binding", e))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| io_err("restricting", e))?;
        Ok(ControlSocket {
            path: path.to_path_buf(),
            listener,
        })
    }

    /// Serve until the task is dropped.
    pub async fn serve(self, supervisor: mpsc::Sender<ControlCall>) {
        let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
        loop {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let stream = match self.listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("control socket: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let supervisor = supervisor.clone();
            tokio::spawn(async move {
                if let Err(e) = serve_one(stream, supervisor).await {
                    tracing::debug!("control client: {e}");
                }
                drop(permit);
            });
        }
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn serve_one(
    mut stream: UnixStream,
    supervisor: mpsc::Sender<ControlCall>,
) -> io::Result<()> {
    let uid = stream.peer_cred()?.uid();
    let response = if uid != 0 {
        tracing::warn!("control socket: refused a client with uid {uid}");
        Response::Error {
            message: "permission denied: root only".into(),
        }
    } else {
        match read_request(&mut stream).await {
            Ok(request) => forward(request, &supervisor).await,
            Err(message) => Response::Error { message },
        }
    };
    let bytes = encode_line(&response).map_err(|e| io::Error::other(e.to_string()))?;
    stream.write_all(&bytes).await?;
    stream.shutdown().await
}

async fn read_request(stream: &mut UnixStream) -> Result<Request, String> {
    let mut line = Vec::new();
    let mut reader = BufReader::new(stream.take(MAX_MESSAGE as u64 + 1));
    match tokio::time::timeout(READ_LIMIT, reader.read_until(b'\n', &mut line)).await {
        Err(_) => return Err("no request within 5 s".into()),
        Ok(Err(e)) => return Err(format!("reading the request: {e}")),
        Ok(Ok(_)) => {}
    }
    decode_line(&line).map_err(|e| e.to_string())
}

async fn forward(request: Request, supervisor: &mpsc::Sender<ControlCall>) -> Response {
    let (reply, answer) = oneshot::channel();
    if supervisor
        .send(ControlCall { request, reply })
        .await
        .is_err()
    {
        return Response::Error {
            message: "the daemon is stopping".into(),
        };
    }
    answer.await.unwrap_or_else(|_| Response::Error {
        message: "the daemon is stopping".into(),
    })
}
