//! Logging without delaying a protocol action.
//!
//! keepalived logs synchronously through syslog(3); issue 4 measured that this
//! costs it about 1 ms of takeover time. kalive formats an event where it
//! happens (cheap), pushes it into a bounded channel without waiting (when
//! the writer has fallen [`LOG_QUEUE`] lines behind, a line is dropped and
//! counted, and the count is logged once the writer catches up) and a
//! dedicated thread writes it to the console (`-l`), syslog (`/dev/log`,
//! RFC 3164, unless `-G`) and a log file (`-g`).
//!
//! Console and file lines look like keepalived's (`%c: message`), e.g.
//! `Wed Nov 25 14:43:40 2026: (VI_1) Entering MASTER STATE`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Local};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::cli::Facility;
use crate::error::Error;

/// The syslog ident (keepalived's VRRP child uses `Keepalived_vrrp`).
pub const SYSLOG_IDENT: &str = "kalive";
const DEV_LOG: &str = "/dev/log";

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct LogOptions {
    pub console: bool,
    pub detail: u8,
    pub facility: Facility,
    pub syslog: bool,
    pub file: Option<PathBuf>,
}

/// Lines waiting for the writer at most: a flood of debug lines (one per
/// GARP under an advert flood, issue 11) must not grow memory.
pub const LOG_QUEUE: usize = 16 * 1024;

/// One formatted log line on its way to the writer thread.
struct Record {
    level: Level,
    time: SystemTime,
    text: String,
}

enum Msg {
    Line(Record),
    /// Acknowledge once every earlier line is written.
    Flush(mpsc::Sender<()>),
}

/// Keeps the writer thread alive; flushes on drop (bounded wait).
pub struct LogGuard {
    tx: mpsc::SyncSender<Msg>,
    thread: Option<JoinHandle<()>>,
}

impl LogGuard {
    /// Wait (at most `limit`) until every line logged so far is written.
    pub fn flush(&self, limit: Duration) {
        let (ack_tx, ack_rx) = mpsc::channel();
        if self.tx.send(Msg::Flush(ack_tx)).is_ok() {
            let _ = ack_rx.recv_timeout(limit);
        }
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.flush(Duration::from_secs(1));
        // The thread ends only when every sender is gone; the global
        // subscriber keeps one, so detach instead of joining.
        drop(self.thread.take());
    }
}

/// Install the global subscriber. `RUST_LOG` overrides the level chosen by
/// `-D` (none: info, `-D`: debug, `-DD`: trace).
pub fn init(opts: &LogOptions) -> Result<LogGuard, Error> {
    let (tx, rx) = mpsc::sync_channel::<Msg>(LOG_QUEUE);
    let sinks = Sinks::open(opts)?;
    let dropped = Arc::new(AtomicU64::new(0));
    let counted = dropped.clone();
    let thread = std::thread::Builder::new()
        .name("kalive-log".into())
        .spawn(move || writer_loop(rx, sinks, &counted))
        .map_err(|e| Error::Io("spawning the log thread".into(), e))?;
    let default_level = match opts.detail {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let layer = ChannelLayer {
        tx: tx.clone(),
        dropped,
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(layer)
        .try_init()
        .map_err(|e| Error::Logging(e.to_string()))?;
    Ok(LogGuard {
        tx,
        thread: Some(thread),
    })
}

struct ChannelLayer {
    tx: mpsc::SyncSender<Msg>,
    /// Lines dropped because the queue was full.
    dropped: Arc<AtomicU64>,
}

impl<S: Subscriber> Layer<S> for ChannelLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut visitor = MessageVisitor::default();
        event.record(&mut visitor);
        let record = Record {
            level: *event.metadata().level(),
            time: SystemTime::now(),
            text: visitor.finish(),
        };
        // Never wait: a full queue drops the line (counted); a gone writer
        // (the process is exiting) drops it too.
        if let Err(mpsc::TrySendError::Full(_)) = self.tx.try_send(Msg::Line(record)) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The `message` field first, then other fields as ` key=value`.
#[derive(Default)]
struct MessageVisitor {
    message: String,
    extra: String,
}

impl MessageVisitor {
    fn finish(mut self) -> String {
        self.message.push_str(&self.extra);
        self.message
    }
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.extra.push_str(&format!(" {}={}", field.name(), value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message.push_str(&format!("{value:?}"));
        } else {
            self.extra
                .push_str(&format!(" {}={:?}", field.name(), value));
        }
    }
}

struct Sinks {
    console: bool,
    syslog: Option<Syslog>,
    file: Option<File>,
}

impl Sinks {
    fn open(opts: &LogOptions) -> Result<Sinks, Error> {
        let file = match &opts.file {
            Some(path) => Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| Error::Io(format!("opening log file {}", path.display()), e))?,
            ),
            None => None,
        };
        Ok(Sinks {
            console: opts.console,
            syslog: opts.syslog.then(|| Syslog::new(opts.facility)),
            file,
        })
    }

    fn write(&mut self, record: &Record) {
        if self.console || self.file.is_some() {
            let line = console_line(record.time, &record.text);
            if self.console {
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(line.as_bytes());
                let _ = err.flush();
            }
            if let Some(file) = &mut self.file {
                let _ = file.write_all(line.as_bytes());
            }
        }
        if let Some(syslog) = &mut self.syslog {
            syslog.send(record);
        }
    }
}

fn writer_loop(rx: mpsc::Receiver<Msg>, mut sinks: Sinks, dropped: &AtomicU64) {
    while let Ok(msg) = rx.recv() {
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            sinks.write(&Record {
                level: Level::WARN,
                time: SystemTime::now(),
                text: format!("{lost} log lines dropped: the log writer fell behind"),
            });
        }
        match msg {
            Msg::Line(record) => sinks.write(&record),
            Msg::Flush(ack) => {
                let _ = ack.send(());
            }
        }
    }
}

/// keepalived's console format: `strftime("%c")` in the C locale, `: `, text.
pub fn console_line(time: SystemTime, text: &str) -> String {
    let local: DateTime<Local> = time.into();
    format!("{}: {}\n", local.format("%a %b %e %H:%M:%S %Y"), text)
}

/// RFC 3164 severity for a tracing level (keepalived logs most at LOG_INFO).
fn severity(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// `<PRI>Mmm dd hh:mm:ss ident[pid]: text` — what glibc's syslog(3) sends to
/// `/dev/log` (no host name on the local socket).
pub fn syslog_line(
    facility: Facility,
    level: Level,
    time: SystemTime,
    pid: u32,
    text: &str,
) -> String {
    let pri = u16::from(facility.0) * 8 + u16::from(severity(level));
    let local: DateTime<Local> = time.into();
    format!(
        "<{pri}>{} {SYSLOG_IDENT}[{pid}]: {text}",
        local.format("%b %e %H:%M:%S")
    )
}

struct Syslog {
    facility: Facility,
    socket: Option<UnixDatagram>,
    pid: u32,
}

impl Syslog {
    fn new(facility: Facility) -> Syslog {
        Syslog {
            facility,
            socket: None,
            pid: std::process::id(),
        }
    }

    fn connect(path: &Path) -> Option<UnixDatagram> {
        let sock = UnixDatagram::unbound().ok()?;
        sock.connect(path).ok()?;
        Some(sock)
    }

    /// Best effort: a missing or restarted syslog daemon costs lines, never time.
    fn send(&mut self, record: &Record) {
        let line = syslog_line(
            self.facility,
            record.level,
            record.time,
            self.pid,
            &record.text,
        );
        for _attempt in 0..2 {
            if self.socket.is_none() {
                self.socket = Self::connect(Path::new(DEV_LOG));
            }
            match &self.socket {
                Some(sock) if sock.send(line.as_bytes()).is_ok() => return,
                Some(_) => self.socket = None,
                None => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_priority_and_shape() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_081_820);
        let line = syslog_line(
            Facility::DAEMON,
            Level::INFO,
            t,
            42,
            "(VI_1) Entering MASTER STATE",
        );
        // daemon(3)*8 + info(6) = 30
        assert!(line.starts_with("<30>"), "{line}");
        assert!(
            line.ends_with(" kalive[42]: (VI_1) Entering MASTER STATE"),
            "{line}"
        );
        let line = syslog_line(Facility::local(7), Level::ERROR, t, 1, "x");
        assert!(line.starts_with("<187>"), "{line}"); // 23*8+3
    }

    #[test]
    fn a_writer_that_falls_behind_loses_counted_lines_not_memory() {
        let (tx, rx) = mpsc::sync_channel::<Msg>(2);
        let dropped = Arc::new(AtomicU64::new(0));
        let layer = ChannelLayer {
            tx,
            dropped: dropped.clone(),
        };
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..10 {
                tracing::info!("line {i}");
            }
        });
        assert_eq!(dropped.load(Ordering::Relaxed), 8);
        let kept: Vec<String> = rx
            .try_iter()
            .filter_map(|m| match m {
                Msg::Line(r) => Some(r.text),
                Msg::Flush(_) => None,
            })
            .collect();
        assert_eq!(kept, ["line 0", "line 1"]);
    }

    #[test]
    fn console_line_is_ctime_colon_text() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_081_820);
        let line = console_line(t, "(VI_1) Entering BACKUP STATE");
        assert!(line.ends_with(": (VI_1) Entering BACKUP STATE\n"));
        // "Wed Nov 25 14:43:40 2026" is 24 characters.
        assert_eq!(line.find(": (VI_1)"), Some(24), "{line}");
    }

    #[test]
    fn syslog_over_a_real_unix_socket() {
        let dir = std::env::temp_dir().join(format!("kalive-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let path = dir.join("log.sock");
        let server = UnixDatagram::bind(&path).expect("bind");
        let client = Syslog::connect(&path).expect("connect");
        let mut s = Syslog {
            facility: Facility::DAEMON,
            socket: Some(client),
            pid: 7,
        };
        s.send(&Record {
            level: Level::WARN,
            time: SystemTime::now(),
            text: "hello".into(),
        });
        let mut buf = [0u8; 256];
        server
            .set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        let n = server.recv(&mut buf).expect("recv");
        let got = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(
            got.starts_with("<28>") && got.ends_with("kalive[7]: hello"),
            "{got}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
