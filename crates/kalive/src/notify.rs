//! The notify owner: notify scripts and notify FIFOs (reference §1.11).
//!
//! keepalived starts notify scripts fire-and-forget, so a fast MASTER→BACKUP
//! can run the two scripts out of order (users' pain #11 in the reference).
//! kalive keeps one queue per instance or group: a state's scripts start only
//! once the previous state's scripts have finished (or timed out). Order
//! within one notification follows keepalived's `send_instance_notifies`:
//! the state's own script, then the generic `notify` script with its four
//! arguments, and the FIFO line (written at once, in global order).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A configured command: program and its arguments as keepalived splits the
/// `notify_*` / `script` string, plus the identity it runs as (`script_user`
/// or the script's own `user [:][group]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    pub argv: Vec<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl Script {
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> Script {
        Script {
            argv: argv.into_iter().map(Into::into).collect(),
            uid: None,
            gid: None,
        }
    }
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

/// The command line of the generic `notify` script: its own arguments, then
/// `INSTANCE|GROUP NAME STATE PRIORITY` (`vrrp_notify.c:notify_script_exec`).
pub fn generic_argv(script: &Script, n: &Notification) -> Vec<String> {
    let mut argv = script.argv.clone();
    argv.push(n.subject.as_str().to_string());
    argv.push(n.name.clone());
    argv.push(n.state.as_str().to_string());
    argv.push(n.priority.to_string());
    argv
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

/// What finished, for the log.
#[derive(Debug)]
pub enum ScriptOutcome {
    Exited(ExitStatus),
    TimedOut,
    SpawnFailed(std::io::Error),
}

impl ScriptOutcome {
    pub fn success(&self) -> bool {
        matches!(self, ScriptOutcome::Exited(s) if s.success())
    }
}

/// Run `argv` as the given identity, in its own process group, and wait at
/// most `timeout`; on timeout the whole group gets SIGTERM, then SIGKILL.
/// A script file without `#!` (ENOEXEC) is run by `/bin/sh`, as execvp does.
pub async fn run_script(
    argv: &[String],
    uid: Option<u32>,
    gid: Option<u32>,
    timeout: Duration,
) -> ScriptOutcome {
    let Some(program) = argv.first() else {
        return ScriptOutcome::SpawnFailed(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "empty command",
        ));
    };
    // keepalived runs a command starting with `<` (e.g. the sample's
    // `script "</dev/tcp/127.0.0.1/80"`) through the shell: only the
    // redirection is tested.
    if program.starts_with('<') {
        let line = argv.join(" ");
        let sh_args = ["-c".to_string(), line];
        return wait_child(spawn("/bin/sh", &sh_args, uid, gid), timeout).await;
    }
    let child = match spawn(program, &argv[1..], uid, gid) {
        Err(e) if e.raw_os_error() == Some(nix::libc::ENOEXEC) => {
            let mut sh_args = vec![program.clone()];
            sh_args.extend_from_slice(&argv[1..]);
            spawn("/bin/sh", &sh_args, uid, gid)
        }
        other => other,
    };
    wait_child(child, timeout).await
}

async fn wait_child(
    child: std::io::Result<tokio::process::Child>,
    timeout: Duration,
) -> ScriptOutcome {
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return ScriptOutcome::SpawnFailed(e),
    };
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => ScriptOutcome::Exited(status),
        Ok(Err(e)) => ScriptOutcome::SpawnFailed(e),
        Err(_) => {
            terminate_group(&mut child).await;
            ScriptOutcome::TimedOut
        }
    }
}

fn spawn(
    program: &str,
    args: &[String],
    uid: Option<u32>,
    gid: Option<u32>,
) -> std::io::Result<tokio::process::Child> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    // Group first: after setuid we could no longer change it.
    if let Some(gid) = gid {
        cmd.gid(gid);
    }
    if let Some(uid) = uid {
        cmd.uid(uid);
    }
    cmd.spawn()
}

async fn terminate_group(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        let group = Pid::from_raw(pid as i32);
        let _ = killpg(group, Signal::SIGTERM);
        if tokio::time::timeout(Duration::from_secs(1), child.wait())
            .await
            .is_ok()
        {
            return;
        }
        let _ = killpg(group, Signal::SIGKILL);
    }
    let _ = child.wait().await;
}

/// One job on an instance's queue: scripts to run in order.
struct Job {
    notification: Notification,
    commands: Vec<Vec<String>>,
    uid_gid: Vec<(Option<u32>, Option<u32>)>,
}

/// Configuration of the notify owner.
#[derive(Debug, Clone, Default)]
pub struct NotifyConfig {
    /// Scripts per instance / group name.
    pub scripts: HashMap<(Subject, String), NotifyScripts>,
    /// `notify_fifo` and `vrrp_notify_fifo` (both get every VRRP line).
    pub fifos: Vec<PathBuf>,
    /// `*_fifo_script`s, started with the FIFO path as last argument.
    pub fifo_scripts: Vec<(Script, PathBuf)>,
    /// How long a notify script may run before its group is killed.
    pub timeout: Duration,
}

/// The single owner of notify scripts and FIFOs.
pub struct Notifier {
    scripts: HashMap<(Subject, String), NotifyScripts>,
    queues: HashMap<(Subject, String), mpsc::UnboundedSender<Job>>,
    workers: Vec<JoinHandle<()>>,
    fifo: Option<FifoWriter>,
    fifo_script_children: Vec<tokio::process::Child>,
    timeout: Duration,
}

impl Notifier {
    /// Must be called inside the tokio runtime.
    pub fn new(config: NotifyConfig) -> Notifier {
        let fifo = (!config.fifos.is_empty()).then(|| FifoWriter::start(config.fifos.clone()));
        let mut fifo_script_children = Vec::new();
        for (script, path) in &config.fifo_scripts {
            let mut argv = script.argv.clone();
            argv.push(path.display().to_string());
            match argv
                .first()
                .map(|p| spawn(p, &argv[1..], script.uid, script.gid))
            {
                Some(Ok(child)) => fifo_script_children.push(child),
                Some(Err(e)) => {
                    tracing::error!("Unable to start fifo script {}: {e}", script.argv.join(" "))
                }
                None => {}
            }
        }
        Notifier {
            scripts: config.scripts,
            queues: HashMap::new(),
            workers: Vec::new(),
            fifo,
            fifo_script_children,
            timeout: if config.timeout.is_zero() {
                Duration::from_secs(30)
            } else {
                config.timeout
            },
        }
    }

    /// Queue a notification; never waits.
    pub fn notify(&mut self, n: Notification) {
        if let Some(fifo) = &self.fifo {
            fifo.write(fifo_line(&n));
        }
        let key = (n.subject, n.name.clone());
        let Some(scripts) = self.scripts.get(&key) else {
            return;
        };
        let mut commands = Vec::new();
        let mut uid_gid = Vec::new();
        if let Some(s) = scripts.for_state(n.state) {
            commands.push(s.argv.clone());
            uid_gid.push((s.uid, s.gid));
        }
        if n.state.runs_generic() {
            if let Some(g) = &scripts.generic {
                commands.push(generic_argv(g, &n));
                uid_gid.push((g.uid, g.gid));
            }
        }
        if commands.is_empty() {
            return;
        }
        let job = Job {
            notification: n,
            commands,
            uid_gid,
        };
        let timeout = self.timeout;
        let tx = self.queues.entry(key).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            self.workers.push(tokio::spawn(queue_worker(rx, timeout)));
            tx
        });
        let _ = tx.send(job);
    }

    /// Replace the scripts (reload); queued jobs keep their commands.
    pub fn set_scripts(&mut self, scripts: HashMap<(Subject, String), NotifyScripts>) {
        self.scripts = scripts;
    }

    /// Let queued scripts finish (STOP scripts included), at most `limit`,
    /// then stop FIFO scripts and remove FIFOs we created.
    pub async fn shutdown(mut self, limit: Duration) {
        self.queues.clear(); // closing the queues ends each worker after its backlog
        let workers = std::mem::take(&mut self.workers);
        let _ = tokio::time::timeout(limit, futures::future::join_all(workers)).await;
        for child in &mut self.fifo_script_children {
            if let Some(pid) = child.id() {
                let _ = nix::sys::signal::kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), child.wait()).await;
        }
        if let Some(fifo) = self.fifo.take() {
            fifo.close();
        }
    }
}

async fn queue_worker(mut rx: mpsc::UnboundedReceiver<Job>, timeout: Duration) {
    while let Some(job) = rx.recv().await {
        for (argv, (uid, gid)) in job.commands.iter().zip(&job.uid_gid) {
            let outcome = run_script(argv, *uid, *gid, timeout).await;
            log_outcome(&job.notification, argv, &outcome);
        }
    }
}

fn log_outcome(n: &Notification, argv: &[String], outcome: &ScriptOutcome) {
    let cmd = argv.join(" ");
    match outcome {
        ScriptOutcome::Exited(s) if s.success() => {
            tracing::debug!("({}) notify script {cmd} succeeded", n.name)
        }
        ScriptOutcome::Exited(s) => {
            tracing::warn!("({}) notify script {cmd} exited with status {s}", n.name)
        }
        ScriptOutcome::TimedOut => {
            tracing::warn!("({}) notify script {cmd} timed out and was killed", n.name)
        }
        ScriptOutcome::SpawnFailed(e) => {
            tracing::error!("({}) cannot run notify script {cmd}: {e}", n.name)
        }
    }
}

enum FifoMsg {
    Line(String),
    Close(std_mpsc::Sender<()>),
}

/// FIFO writes can block while a reader is slow: they happen on their own
/// thread, in the order the notifications were made.
struct FifoWriter {
    tx: std_mpsc::Sender<FifoMsg>,
}

impl FifoWriter {
    fn start(paths: Vec<PathBuf>) -> FifoWriter {
        let (tx, rx) = std_mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("kalive-fifo".into())
            .spawn(move || fifo_thread(paths, rx));
        if let Err(e) = spawned {
            tracing::error!("cannot start the notify FIFO writer: {e}");
        }
        FifoWriter { tx }
    }

    fn write(&self, line: String) {
        let _ = self.tx.send(FifoMsg::Line(line));
    }

    fn close(self) {
        let (ack_tx, ack_rx) = std_mpsc::channel();
        if self.tx.send(FifoMsg::Close(ack_tx)).is_ok() {
            let _ = ack_rx.recv_timeout(Duration::from_secs(1));
        }
    }
}

struct OpenFifo {
    path: PathBuf,
    file: File,
    created: bool,
}

fn fifo_thread(paths: Vec<PathBuf>, rx: std_mpsc::Receiver<FifoMsg>) {
    let mut fifos: Vec<OpenFifo> = paths.iter().filter_map(|p| open_fifo(p)).collect();
    while let Ok(msg) = rx.recv() {
        match msg {
            FifoMsg::Line(line) => {
                for f in &mut fifos {
                    if let Err(e) = f.file.write_all(line.as_bytes()) {
                        tracing::debug!("notify FIFO {}: {e}", f.path.display());
                    }
                }
            }
            FifoMsg::Close(ack) => {
                for f in fifos.drain(..) {
                    // Remove the FIFO only if we created it (acassen/keepalived#1524).
                    if f.created {
                        let _ = std::fs::remove_file(&f.path);
                    }
                }
                let _ = ack.send(());
                return;
            }
        }
    }
}

/// Create the FIFO if absent; open it read-write so that opening never
/// blocks waiting for a reader (as keepalived does).
fn open_fifo(path: &Path) -> Option<OpenFifo> {
    let mut created = false;
    match std::fs::metadata(path) {
        Ok(meta) if meta.file_type().is_fifo() => {}
        Ok(_) => {
            tracing::error!("notify FIFO {} exists and is not a FIFO", path.display());
            return None;
        }
        Err(_) => {
            if let Err(e) =
                nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600))
            {
                tracing::error!("Unable to create notify FIFO {}: {e}", path.display());
                return None;
            }
            created = true;
        }
    }
    match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => Some(OpenFifo {
            path: path.to_path_buf(),
            file,
            created,
        }),
        Err(e) => {
            tracing::error!("Unable to open notify FIFO {}: {e}", path.display());
            None
        }
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
        let s = Script::new(["/etc/keepalived/notify.sh", "--flag"]);
        assert_eq!(
            generic_argv(&s, &n(NotifyState::Fault, 90)),
            [
                "/etc/keepalived/notify.sh",
                "--flag",
                "INSTANCE",
                "VI_1",
                "FAULT",
                "90"
            ]
        );
    }

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kalive-notify-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    }

    #[tokio::test]
    async fn scripts_run_in_order_per_instance_and_fifo_gets_lines() {
        let dir = scratch("order");
        let log = dir.join("log");
        let fifo = dir.join("fifo");
        // The master script is slow: without the queue, BACKUP would log first.
        let master = Script::new([
            "/bin/sh".to_string(),
            "-c".into(),
            format!("sleep 0.3; echo master >> {}", log.display()),
        ]);
        let backup = Script::new([
            "/bin/sh".to_string(),
            "-c".into(),
            format!("echo backup >> {}", log.display()),
        ]);
        let generic = Script::new([
            "/bin/sh".to_string(),
            "-c".into(),
            format!("echo \"generic $*\" >> {}", log.display()),
            "sh".into(),
        ]);
        let mut scripts = HashMap::new();
        scripts.insert(
            (Subject::Instance, "VI_1".to_string()),
            NotifyScripts {
                master: Some(master),
                backup: Some(backup),
                generic: Some(generic),
                ..Default::default()
            },
        );
        let mut notifier = Notifier::new(NotifyConfig {
            scripts,
            fifos: vec![fifo.clone()],
            fifo_scripts: vec![],
            timeout: Duration::from_secs(5),
        });
        notifier.notify(n(NotifyState::Master, 100));
        notifier.notify(n(NotifyState::Backup, 100));
        notifier.notify(n(NotifyState::Stop, 100));
        // Read the FIFO before the writer closes it.
        let mut reader = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(wait_for(&fifo).await)
            .expect("open fifo");
        notifier.shutdown(Duration::from_secs(5)).await;
        let mut text = String::new();
        let _ = reader.read_to_string(&mut text);
        assert_eq!(
            text,
            "INSTANCE \"VI_1\" MASTER 100\nINSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_1\" STOP 100\n"
        );
        let got = std::fs::read_to_string(&log).expect("log");
        assert_eq!(
            got,
            "master\ngeneric INSTANCE VI_1 MASTER 100\nbackup\ngeneric INSTANCE VI_1 BACKUP 100\ngeneric INSTANCE VI_1 STOP 100\n"
        );
        assert!(!fifo.exists(), "a FIFO we created is removed at exit");
        let _ = std::fs::remove_dir_all(&dir);
    }

    async fn wait_for(path: &Path) -> &Path {
        for _ in 0..100 {
            if path.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        path
    }

    use std::os::unix::fs::OpenOptionsExt;

    #[tokio::test]
    async fn a_hung_script_is_killed_at_its_timeout() {
        let started = std::time::Instant::now();
        let argv: Vec<String> = ["/bin/sh", "-c", "sleep 30"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let outcome = run_script(&argv, None, None, Duration::from_millis(200)).await;
        assert!(matches!(outcome, ScriptOutcome::TimedOut), "{outcome:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn exit_status_and_shebangless_scripts() {
        let dir = scratch("noexec");
        let script = dir.join("s");
        std::fs::write(&script, "exit 3\n").expect("write");
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let outcome = run_script(
            &[script.display().to_string()],
            None,
            None,
            Duration::from_secs(5),
        )
        .await;
        match outcome {
            ScriptOutcome::Exited(s) => assert_eq!(s.code(), Some(3)),
            other => panic!("{other:?}"),
        }
        let ok = run_script(
            &["/bin/true".to_string()],
            None,
            None,
            Duration::from_secs(5),
        )
        .await;
        assert!(ok.success());
        let missing = run_script(
            &["/nonexistent/x".to_string()],
            None,
            None,
            Duration::from_secs(5),
        )
        .await;
        assert!(matches!(missing, ScriptOutcome::SpawnFailed(_)));
        let limit = Duration::from_secs(5);
        let redirect = format!("<{}", script.display());
        assert!(run_script(&[redirect], None, None, limit).await.success());
        let redirect = "</nonexistent/file".to_string();
        assert!(!run_script(&[redirect], None, None, limit).await.success());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
