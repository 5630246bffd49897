//! The notify owner: notify scripts and notify FIFOs (reference §1.11).
//!
//! Scripts: keepalived starts notify scripts and does not wait for them
//! before the next notification. kalive does the same: each notification's
//! scripts are started at once, in order (the state's own script, then the
//! generic `notify` with its four arguments, as keepalived's
//! `send_instance_notifies`), so a hung script never delays a later one.
//! Each script runs as the identity and the file decided when the config
//! was read (kalive-config `script_check`), in its own process group
//! (kalive-sys `script`); after the configured `timeout` (the daemon uses
//! `setup::NOTIFY_TIMEOUT`, 30 s) its whole group is killed.
//!
//! Bound: at most `max_running` notify scripts run at once. When a new one
//! must start and the bound is reached, the oldest running script's group
//! is killed (and logged): the newest notification is the one that
//! describes the current state, so it is never the one dropped.
//!
//! FIFOs: lines are written with non-blocking writes on a descriptor opened
//! read-write (so opening never waits for a reader), as keepalived does. A
//! reader that stops reading fills the pipe; further lines are dropped and
//! counted, never queued. A FIFO kalive created is removed when the
//! notifier ends (keepalived's rule, acassen/keepalived#1524); one that
//! existed before is left alone.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use kalive_sys::script::{self as runner, Identity, RunningScript, ScriptCommand, ScriptOutcome};
use tokio::task::JoinHandle;

/// A script ready to run: the exact command and identity the config
/// decided. There is no way to build one without an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub command: ScriptCommand,
}

impl Script {
    /// `program` executed as is with `args`, as `identity`.
    pub fn new<S: Into<String>>(
        program: impl Into<PathBuf>,
        args: impl IntoIterator<Item = S>,
        identity: Identity,
    ) -> Script {
        Script {
            command: ScriptCommand {
                program: program.into(),
                args: args.into_iter().map(Into::into).collect(),
                identity,
            },
        }
    }

    /// The command line for logs.
    pub fn display(&self) -> String {
        let mut s = self.command.program.display().to_string();
        for a in &self.command.args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }
}

/// Run a script once and wait for it (startup/shutdown scripts).
pub async fn run_script(script: &Script, timeout: Duration) -> ScriptOutcome {
    runner::run(&script.command, timeout, 0).await.outcome
}

/// `INSTANCE` or `GROUP` (first of the four `notify` arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    Instance,
    Group,
}

impl Subject {
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Instance => "INSTANCE",
            Subject::Group => "GROUP",
        }
    }
}

/// A state or event as keepalived names it in scripts and FIFO lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyState {
    Master,
    Backup,
    Fault,
    Stop,
    Deleted,
    /// A MASTER heard a lower priority advert (`notify_master_rx_lower_pri`).
    MasterRxLowerPri,
    /// Priority changed (`notify_priority_changes`), FIFO only.
    MasterPriority,
    BackupPriority,
}

impl NotifyState {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault => "FAULT",
            NotifyState::Stop => "STOP",
            NotifyState::Deleted => "DELETED",
            NotifyState::MasterRxLowerPri => "MASTER_RX_LOWER_PRI",
            NotifyState::MasterPriority => "MASTER_PRIORITY",
            NotifyState::BackupPriority => "BACKUP_PRIORITY",
        }
    }

    /// States that run the generic `notify` script; events only reach FIFOs.
    fn runs_generic(self) -> bool {
        matches!(
            self,
            NotifyState::Master
                | NotifyState::Backup
                | NotifyState::Fault
                | NotifyState::Stop
                | NotifyState::Deleted
        )
    }
}

/// One notification: who, which state, which priority (0 for a group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub subject: Subject,
    pub name: String,
    pub state: NotifyState,
    pub priority: u8,
}

/// The scripts configured on one instance or sync group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyScripts {
    pub master: Option<Script>,
    pub backup: Option<Script>,
    pub fault: Option<Script>,
    pub stop: Option<Script>,
    pub deleted: Option<Script>,
    pub master_rx_lower_pri: Option<Script>,
    /// `notify`: gets `INSTANCE|GROUP NAME STATE PRIO` appended.
    pub generic: Option<Script>,
}

impl NotifyScripts {
    fn for_state(&self, state: NotifyState) -> Option<&Script> {
        match state {
            NotifyState::Master => self.master.as_ref(),
            NotifyState::Backup => self.backup.as_ref(),
            NotifyState::Fault => self.fault.as_ref(),
            NotifyState::Stop => self.stop.as_ref(),
            NotifyState::Deleted => self.deleted.as_ref(),
            NotifyState::MasterRxLowerPri => self.master_rx_lower_pri.as_ref(),
            NotifyState::MasterPriority | NotifyState::BackupPriority => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == NotifyScripts::default()
    }
}

/// The generic `notify` script's command: its own arguments, then
/// `INSTANCE|GROUP NAME STATE PRIORITY` (`vrrp_notify.c:notify_script_exec`).
pub fn generic_command(script: &Script, n: &Notification) -> ScriptCommand {
    let mut cmd = script.command.clone();
    cmd.args.push(n.subject.as_str().to_string());
    cmd.args.push(n.name.clone());
    cmd.args.push(n.state.as_str().to_string());
    cmd.args.push(n.priority.to_string());
    cmd
}

/// keepalived's VRRP FIFO line: `INSTANCE "VI_1" MASTER 100\n` (no NUL,
/// unlike the LVS FIFO; reference appendix).
pub fn fifo_line(n: &Notification) -> String {
    format!(
        "{} \"{}\" {} {}\n",
        n.subject.as_str(),
        n.name,
        n.state.as_str(),
        n.priority
    )
}

/// A notify FIFO and the owner (uid, gid) kalive gives it when it creates
/// it (keepalived: the FIFO's user, else the default script user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FifoSpec {
    pub path: PathBuf,
    pub owner: Option<(u32, u32)>,
}

impl FifoSpec {
    /// A FIFO left owned by kalive's own user.
    pub fn new(path: impl Into<PathBuf>) -> FifoSpec {
        FifoSpec {
            path: path.into(),
            owner: None,
        }
    }
}

/// Default bound on notify scripts running at once.
pub const MAX_RUNNING_NOTIFY_SCRIPTS: usize = 64;

/// Configuration of the notify owner.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// Scripts per instance / group name.
    pub scripts: HashMap<(Subject, String), NotifyScripts>,
    /// `notify_fifo` and `vrrp_notify_fifo` (both get every VRRP line).
    pub fifos: Vec<FifoSpec>,
    /// `*_fifo_script`s, started with the FIFO path as last argument.
    pub fifo_scripts: Vec<(Script, PathBuf)>,
    /// How long a notify script may run before its group is killed.
    pub timeout: Duration,
    /// At most this many notify scripts run at once (see the module doc).
    pub max_running: usize,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            scripts: HashMap::new(),
            fifos: Vec::new(),
            fifo_scripts: Vec::new(),
            timeout: Duration::from_secs(30),
            max_running: MAX_RUNNING_NOTIFY_SCRIPTS,
        }
    }
}

/// A started notify script: the task that waits for it. Aborting the task
/// drops the script's handle, which kills its process group.
struct Running {
    pid: u32,
    command: String,
    waiter: JoinHandle<()>,
}

/// The single owner of notify scripts and FIFOs.
pub struct Notifier {
    scripts: HashMap<(Subject, String), NotifyScripts>,
    running: VecDeque<Running>,
    max_running: usize,
    fifos: Vec<NotifyFifo>,
    fifo_script_children: Vec<RunningScript>,
    timeout: Duration,
}

impl Notifier {
    /// Must be called inside the tokio runtime.
    pub fn new(config: NotifyConfig) -> Notifier {
        let fifos = config.fifos.iter().filter_map(NotifyFifo::open).collect();
        let mut fifo_script_children = Vec::new();
        for (script, path) in &config.fifo_scripts {
            let mut cmd = script.command.clone();
            cmd.args.push(path.display().to_string());
            match runner::spawn(&cmd, 0) {
                Ok(child) => fifo_script_children.push(child),
                Err(e) => tracing::error!("Unable to start fifo script {}: {e}", script.display()),
            }
        }
        Notifier {
            scripts: config.scripts,
            running: VecDeque::new(),
            max_running: config.max_running.max(1),
            fifos,
            fifo_script_children,
            timeout: if config.timeout.is_zero() {
                Duration::from_secs(30)
            } else {
                config.timeout
            },
        }
    }

    /// Write the FIFO line and start the notification's scripts; never
    /// waits for a script or a FIFO reader.
    pub fn notify(&mut self, n: Notification) {
        let line = fifo_line(&n);
        for fifo in &mut self.fifos {
            fifo.write_line(line.as_bytes());
        }
        let key = (n.subject, n.name.clone());
        let Some(scripts) = self.scripts.get(&key) else {
            return;
        };
        let mut commands = Vec::new();
        if let Some(s) = scripts.for_state(n.state) {
            commands.push(s.command.clone());
        }
        if n.state.runs_generic() {
            if let Some(g) = &scripts.generic {
                commands.push(generic_command(g, &n));
            }
        }
        for cmd in commands {
            self.start(&n, cmd);
        }
    }

    /// How many notify scripts are running now.
    pub fn running(&mut self) -> usize {
        self.running.retain(|r| !r.waiter.is_finished());
        self.running.len()
    }

    /// Lines dropped so far because a FIFO reader did not keep up.
    pub fn dropped_fifo_lines(&self) -> u64 {
        self.fifos.iter().map(|f| f.dropped).sum()
    }

    fn start(&mut self, n: &Notification, cmd: ScriptCommand) {
        let shown = command_line(&cmd);
        while self.running() >= self.max_running {
            let Some(oldest) = self.running.pop_front() else {
                break;
            };
            tracing::warn!(
                "({}) {} notify scripts running: killing the oldest, {} (pid {}), to start {shown}",
                n.name,
                self.max_running,
                oldest.command,
                oldest.pid
            );
            oldest.waiter.abort();
        }
        let script = match runner::spawn(&cmd, 0) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("({}) cannot run notify script {shown}: {e}", n.name);
                return;
            }
        };
        let pid = script.id();
        let timeout = self.timeout;
        let name = n.name.clone();
        let logged = shown.clone();
        let waiter = tokio::spawn(async move {
            let run = script.wait(timeout).await;
            log_outcome(&name, &logged, &run.outcome);
        });
        self.running.push_back(Running {
            pid,
            command: shown,
            waiter,
        });
    }

    /// Replace the scripts (reload); running scripts keep running.
    pub fn set_scripts(&mut self, scripts: HashMap<(Subject, String), NotifyScripts>) {
        self.scripts = scripts;
    }

    /// Let running scripts (STOP scripts included) finish for at most
    /// `limit`, kill what is left, stop FIFO scripts and remove the FIFOs
    /// we created.
    pub async fn shutdown(mut self, limit: Duration) {
        let waiters: Vec<JoinHandle<()>> = self.running.drain(..).map(|r| r.waiter).collect();
        let aborts: Vec<_> = waiters.iter().map(JoinHandle::abort_handle).collect();
        if tokio::time::timeout(limit, futures::future::join_all(waiters))
            .await
            .is_err()
        {
            tracing::warn!("notify scripts still running at exit: killed");
            for a in aborts {
                a.abort();
            }
        }
        // keepalived SIGTERMs FIFO scripts at exit (man5); their groups get
        // SIGKILL a second later.
        for child in &mut self.fifo_script_children {
            child.terminate().await;
        }
        self.fifos.clear();
    }
}

fn command_line(cmd: &ScriptCommand) -> String {
    let mut s = cmd.program.display().to_string();
    for a in &cmd.args {
        s.push(' ');
        s.push_str(a);
    }
    s
}

fn log_outcome(name: &str, cmd: &str, outcome: &ScriptOutcome) {
    match outcome {
        ScriptOutcome::Exited(0) => tracing::debug!("({name}) notify script {cmd} succeeded"),
        ScriptOutcome::SpawnFailed(_) => {
            tracing::error!("({name}) notify script {cmd} {outcome}")
        }
        _ => tracing::warn!("({name}) notify script {cmd} {outcome}"),
    }
}

/// One open notify FIFO.
struct NotifyFifo {
    path: PathBuf,
    file: File,
    created: bool,
    /// Lines dropped because the pipe was full.
    dropped: u64,
}

impl NotifyFifo {
    /// Create the FIFO if absent (mode 0644, given to its owner, as
    /// keepalived); open it read-write and non-blocking so that neither
    /// opening nor writing ever waits for a reader.
    fn open(spec: &FifoSpec) -> Option<NotifyFifo> {
        let path = spec.path.as_path();
        let mut created = false;
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_fifo() => {}
            Ok(_) => {
                tracing::error!("notify FIFO {} exists and is not a FIFO", path.display());
                return None;
            }
            Err(_) => {
                if let Err(e) =
                    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o644))
                {
                    tracing::error!("Unable to create notify fifo {}: {e}", path.display());
                    return None;
                }
                created = true;
                if let Some((uid, gid)) = spec.owner {
                    let ours = (
                        nix::unistd::geteuid().as_raw(),
                        nix::unistd::getegid().as_raw(),
                    );
                    if (uid, gid) != ours {
                        let owned = nix::unistd::chown(
                            path,
                            Some(nix::unistd::Uid::from_raw(uid)),
                            Some(nix::unistd::Gid::from_raw(gid)),
                        );
                        if let Err(e) = owned {
                            tracing::info!(
                                "Failed to set uid:gid for fifo {}: {e}",
                                path.display()
                            );
                        }
                    }
                }
            }
        }
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOFOLLOW)
            .open(path);
        match opened {
            Ok(file) => Some(NotifyFifo {
                path: path.to_path_buf(),
                file,
                created,
                dropped: 0,
            }),
            Err(e) => {
                tracing::error!("Unable to open notify fifo {} - {e}", path.display());
                if created {
                    remove_fifo(path);
                }
                None
            }
        }
    }

    /// One write; a full pipe drops the line (a line is far shorter than
    /// PIPE_BUF, so a write is all or nothing).
    fn write_line(&mut self, line: &[u8]) {
        match self.file.write(line) {
            Ok(n) if n == line.len() => {}
            Ok(_) => self.dropped += 1,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if self.dropped == 0 {
                    tracing::warn!(
                        "notify fifo {}: the reader is not keeping up, dropping lines",
                        self.path.display()
                    );
                }
                self.dropped += 1;
            }
            Err(e) => {
                self.dropped += 1;
                tracing::debug!("notify fifo {}: {e}", self.path.display());
            }
        }
    }
}

impl Drop for NotifyFifo {
    fn drop(&mut self) {
        if self.dropped > 0 {
            tracing::warn!(
                "notify fifo {}: {} lines dropped (reader too slow)",
                self.path.display(),
                self.dropped
            );
        }
        // Unlinked before our descriptor closes, so that a reader looping
        // on re-opening it cannot open it again (keepalived `fifo_close`).
        if self.created {
            remove_fifo(&self.path);
        }
    }
}

fn remove_fifo(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        tracing::warn!("cannot remove notify fifo {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn n(state: NotifyState, prio: u8) -> Notification {
        Notification {
            subject: Subject::Instance,
            name: "VI_1".into(),
            state,
            priority: prio,
        }
    }

    fn sh(line: String) -> Script {
        Script::new("/bin/sh", ["-c".to_string(), line], Identity::root())
    }

    #[test]
    fn fifo_lines_match_keepalived() {
        assert_eq!(
            fifo_line(&n(NotifyState::Master, 100)),
            "INSTANCE \"VI_1\" MASTER 100\n"
        );
        let g = Notification {
            subject: Subject::Group,
            name: "G1".into(),
            state: NotifyState::Backup,
            priority: 0,
        };
        assert_eq!(fifo_line(&g), "GROUP \"G1\" BACKUP 0\n");
        assert_eq!(
            fifo_line(&n(NotifyState::MasterRxLowerPri, 150)),
            "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 150\n"
        );
    }

    #[test]
    fn generic_notify_gets_four_arguments() {
        let s = Script::new("/etc/keepalived/notify.sh", ["--flag"], Identity::root());
        let cmd = generic_command(&s, &n(NotifyState::Fault, 90));
        assert_eq!(cmd.program, PathBuf::from("/etc/keepalived/notify.sh"));
        assert_eq!(cmd.args, ["--flag", "INSTANCE", "VI_1", "FAULT", "90"]);
    }

    struct Scratch(PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Scratch {
            let dir =
                std::env::temp_dir().join(format!("kalive-notify-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("dir");
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
        for _ in 0..500 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting for {what}");
    }

    fn config(scripts: NotifyScripts) -> NotifyConfig {
        let mut map = HashMap::new();
        map.insert((Subject::Instance, "VI_1".to_string()), scripts);
        NotifyConfig {
            scripts: map,
            timeout: Duration::from_secs(60),
            ..NotifyConfig::default()
        }
    }

    #[tokio::test]
    async fn a_hung_script_does_not_delay_the_next_notification() {
        let dir = Scratch::new("hung");
        let log = dir.0.join("log");
        let master = sh("sleep 300".to_string());
        let backup = sh(format!("echo backup >> {}", log.display()));
        let generic = Script::new(
            "/bin/sh",
            [
                "-c".to_string(),
                format!("echo \"generic $*\" >> {}", log.display()),
                "sh".into(),
            ],
            Identity::root(),
        );
        let mut notifier = Notifier::new(config(NotifyScripts {
            master: Some(master),
            backup: Some(backup),
            generic: Some(generic),
            ..Default::default()
        }));
        let started = std::time::Instant::now();
        notifier.notify(n(NotifyState::Master, 100));
        notifier.notify(n(NotifyState::Backup, 100));
        let read = || std::fs::read_to_string(&log).unwrap_or_default();
        wait_until("the BACKUP scripts", || {
            read().contains("BACKUP 100") && read().contains("backup\n")
        })
        .await;
        // Well under the 60 s script timeout: the hung MASTER script is
        // still running and delayed nothing.
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        assert!(read().contains("generic INSTANCE VI_1 MASTER 100"));
        wait_until("only the hung script to be left", || {
            notifier.running() == 1
        })
        .await;
        notifier.shutdown(Duration::from_millis(100)).await;
    }

    #[tokio::test]
    async fn a_timed_out_script_leaves_no_background_child() {
        let dir = Scratch::new("grandchild");
        let pid_file = dir.0.join("child");
        let hang = sh(format!(
            "sleep 300 & echo $! > {}; wait",
            pid_file.display()
        ));
        let mut cfg = config(NotifyScripts {
            master: Some(hang),
            ..Default::default()
        });
        cfg.timeout = Duration::from_millis(300);
        let mut notifier = Notifier::new(cfg);
        notifier.notify(n(NotifyState::Master, 100));
        let read = || std::fs::read_to_string(&pid_file).unwrap_or_default();
        wait_until("the background child", || read().ends_with('\n')).await;
        let child: i32 = read().trim().parse().expect("pid");
        let gone = |pid: i32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().next())
                    .is_some_and(|state| state == "Z" || state == "X")
            })
        };
        wait_until("the timeout to kill the script's group", || gone(child)).await;
        wait_until("the script to be reaped", || notifier.running() == 0).await;
        notifier.shutdown(Duration::from_millis(100)).await;
    }

    #[tokio::test]
    async fn the_bound_kills_the_oldest_script_group() {
        let dir = Scratch::new("bound");
        let pids = dir.0.join("pids");
        // Each run records its pid, then hangs with a background child.
        let hang = sh(format!("echo $$ >> {}; sleep 300 & wait", pids.display()));
        let mut cfg = config(NotifyScripts {
            master: Some(hang.clone()),
            backup: Some(hang.clone()),
            fault: Some(hang),
            ..Default::default()
        });
        cfg.max_running = 2;
        let mut notifier = Notifier::new(cfg);
        let read = || std::fs::read_to_string(&pids).unwrap_or_default();
        notifier.notify(n(NotifyState::Master, 100));
        wait_until("first script", || read().lines().count() == 1).await;
        notifier.notify(n(NotifyState::Backup, 100));
        wait_until("second script", || read().lines().count() == 2).await;
        notifier.notify(n(NotifyState::Fault, 100));
        wait_until("third script", || read().lines().count() == 3).await;
        let first: i32 = read()
            .lines()
            .next()
            .and_then(|l| l.parse().ok())
            .expect("pid");
        // The oldest group is killed (the leader and its sleep): the group
        // has no member left.
        wait_until("the oldest group to die", || {
            nix::sys::signal::killpg(nix::unistd::Pid::from_raw(first), None).is_err()
        })
        .await;
        assert_eq!(notifier.running(), 2);
        notifier.shutdown(Duration::from_millis(100)).await;
    }

    #[tokio::test]
    async fn a_fifo_without_reader_drops_lines_and_never_blocks() {
        let dir = Scratch::new("fifo");
        let fifo = dir.0.join("fifo");
        let mut notifier = Notifier::new(NotifyConfig {
            fifos: vec![FifoSpec {
                path: fifo.clone(),
                owner: Some((65534, 65534)),
            }],
            ..NotifyConfig::default()
        });
        let meta = std::fs::metadata(&fifo).expect("created at start");
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            (meta.uid(), meta.gid()),
            (65534, 65534),
            "a FIFO kalive creates belongs to the script user"
        );
        assert_eq!(meta.mode() & 0o7777 & !0o644, 0, "at most rw-r--r--");
        // Nobody reads: the 64 KiB pipe fills after ~2500 lines.
        let started = std::time::Instant::now();
        for _ in 0..20_000 {
            notifier.notify(n(NotifyState::Master, 100));
        }
        assert!(started.elapsed() < Duration::from_secs(10));
        let dropped = notifier.dropped_fifo_lines();
        assert!(dropped > 10_000, "dropped {dropped}");
        // A reader that comes later reads whole lines only.
        let mut reader = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(&fifo)
            .expect("open reader");
        let mut buf = vec![0u8; 4096];
        let got = reader.read(&mut buf).expect("read");
        let text = String::from_utf8_lossy(&buf[..got]);
        assert!(text.starts_with("INSTANCE \"VI_1\" MASTER 100\n"), "{text}");
        notifier.shutdown(Duration::from_millis(100)).await;
        assert!(!fifo.exists(), "a FIFO kalive created is removed at exit");
    }

    #[tokio::test]
    async fn a_stalled_reader_does_not_block_and_a_fifo_we_did_not_create_stays() {
        let dir = Scratch::new("stalled");
        let fifo = dir.0.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .expect("mkfifo");
        // A reader that opened the FIFO and never reads again.
        let _stalled = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(&fifo)
            .expect("open reader");
        let mut notifier = Notifier::new(NotifyConfig {
            fifos: vec![FifoSpec::new(&fifo)],
            ..NotifyConfig::default()
        });
        for _ in 0..20_000 {
            notifier.notify(n(NotifyState::Backup, 50));
        }
        assert!(notifier.dropped_fifo_lines() > 10_000);
        notifier.shutdown(Duration::from_millis(100)).await;
        assert!(fifo.exists(), "a FIFO that existed before is left alone");
    }

    #[tokio::test]
    async fn fifo_scripts_get_the_fifo_path_and_are_stopped_at_exit() {
        let dir = Scratch::new("fifoscript");
        let fifo = dir.0.join("fifo");
        let out = dir.0.join("out");
        let script = Script::new(
            "/bin/sh",
            [
                "-c".to_string(),
                format!("echo \"$1\" > {}; exec sleep 300", out.display()),
                "sh".into(),
            ],
            Identity::root(),
        );
        let notifier = Notifier::new(NotifyConfig {
            fifos: vec![FifoSpec::new(&fifo)],
            fifo_scripts: vec![(script, fifo.clone())],
            ..NotifyConfig::default()
        });
        let read = || std::fs::read_to_string(&out).unwrap_or_default();
        wait_until("the fifo script", || !read().is_empty()).await;
        assert_eq!(read().trim(), fifo.display().to_string());
        let started = std::time::Instant::now();
        notifier.shutdown(Duration::from_millis(100)).await;
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
