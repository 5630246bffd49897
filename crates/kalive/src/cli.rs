//! Command line: keepalived's flags (reference §1.2), so the command line that
//! starts keepalived starts kalive.
//!
//! Flags that only make sense for keepalived's build options or its
//! multi-process model (`-T`, `-x`, `-A`, `-m`, `-M`, `--debug`, ...) are
//! accepted so that existing unit files keep working; the runtime logs that
//! they have no effect.

use std::path::PathBuf;

use clap::{ArgAction, Parser};

/// keepalived's default configuration file (reference §1.2).
pub const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";
/// keepalived's default pid files (reference §1.2).
pub const DEFAULT_PID: &str = "/run/keepalived.pid";
pub const DEFAULT_VRRP_PID: &str = "/run/keepalived_vrrp.pid";
pub const DEFAULT_CHECKERS_PID: &str = "/run/keepalived_checkers.pid";
pub const DEFAULT_BFD_PID: &str = "/run/keepalived_bfd.pid";
/// Where `-g` without a value logs (keepalived's default log file).
pub const DEFAULT_LOG_FILE: &str = "/tmp/keepalived.log";

#[derive(Debug, Clone, Parser)]
#[command(
    name = "kalive",
    about = "keepalived-compatible high-availability daemon (VRRP v2/v3)",
    disable_version_flag = true,
    args_override_self = true,
    after_help = "Signals: HUP reload, TERM/INT stop, USR1 data dump (/tmp/keepalived.data), \
                  USR2 stats (/tmp/keepalived.stats), SIGRTMIN+2 JSON (/tmp/keepalived.json)."
)]
pub struct Cli {
    /// Use the specified configuration file.
    #[arg(short = 'f', long = "use-file", value_name = "FILE", default_value = DEFAULT_CONFIG)]
    pub use_file: PathBuf,

    /// Only run with VRRP subsystem.
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp_only: bool,

    /// Only run with Health-checker subsystem.
    #[arg(short = 'C', long = "check")]
    pub check_only: bool,

    /// Don't run BFD subsystem.
    #[arg(short = 'B', long = "no_bfd")]
    pub no_bfd: bool,

    /// Force all subsystems to run, even if they have no configuration.
    #[arg(long = "all")]
    pub all: bool,

    /// Log messages to the local console (stderr).
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,

    /// Detailed log messages (twice: extra detail).
    #[arg(short = 'D', long = "log-detail", action = ArgAction::Count)]
    pub log_detail: u8,

    /// Syslog facility: 0-7 (LOG_LOCAL0-7), local0-7, user or daemon (default).
    #[arg(short = 'S', long = "log-facility", value_name = "FACILITY", value_parser = parse_facility)]
    pub log_facility: Option<Facility>,

    /// Don't log via syslog.
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,

    /// Log to a file (default /tmp/keepalived.log).
    #[arg(short = 'g', long = "log-file", value_name = "FILE", num_args = 0..=1,
          require_equals = true, default_missing_value = DEFAULT_LOG_FILE)]
    pub log_file: Option<PathBuf>,

    /// Flush the log file on every write (kalive always does).
    #[arg(long = "flush-log-file")]
    pub flush_log_file: bool,

    /// umask for file creation (in numeric form).
    #[arg(short = 'u', long = "umask", value_name = "MASK")]
    pub umask: Option<String>,

    /// Drop VIPs on transition caused by a signal or reload.
    #[arg(short = 'X', long = "release-vips")]
    pub release_vips: bool,

    /// Don't remove VRRP VIPs and VROUTEs (and send no priority 0) on daemon stop.
    #[arg(short = 'V', long = "dont-release-vrrp")]
    pub dont_release_vrrp: bool,

    /// Don't remove IPVS topology on daemon stop.
    #[arg(short = 'I', long = "dont-release-ipvs")]
    pub dont_release_ipvs: bool,

    /// Don't respawn child processes (kalive has none; accepted for compatibility).
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,

    /// Don't fork the daemon process: stay in the foreground.
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,

    /// Dump the configuration data to the log.
    #[arg(short = 'd', long = "dump-conf")]
    pub dump_conf: bool,

    /// Pid file of the (parent) process.
    #[arg(short = 'p', long = "pid", value_name = "FILE", default_value = DEFAULT_PID)]
    pub pid_file: PathBuf,

    /// Pid file of the VRRP process (kalive writes its own pid there too).
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE", default_value = DEFAULT_VRRP_PID)]
    pub vrrp_pid_file: PathBuf,

    /// Pid file of the checkers process.
    #[arg(short = 'c', long = "checkers_pid", value_name = "FILE", default_value = DEFAULT_CHECKERS_PID)]
    pub checkers_pid_file: PathBuf,

    /// Pid file of the BFD process.
    #[arg(short = 'b', long = "bfd_pid", value_name = "FILE", default_value = DEFAULT_BFD_PID)]
    pub bfd_pid_file: PathBuf,

    /// genhash mode (not supported by kalive; accepted for compatibility).
    #[arg(short = 'T', long = "genhash", hide = true)]
    pub genhash: bool,

    /// Report all address additions/deletions notified via netlink.
    #[arg(short = 'a', long = "address-monitoring")]
    pub address_monitoring: bool,

    /// Enable SNMP subsystem (not supported; accepted for compatibility).
    #[arg(short = 'x', long = "snmp")]
    pub snmp: bool,

    /// Socket of the SNMP master agent (not supported; accepted).
    #[arg(short = 'A', long = "snmp-agent-socket", value_name = "FILE")]
    pub snmp_agent_socket: Option<String>,

    /// Run in network namespace NAME (overrides the config).
    #[arg(short = 's', long = "namespace", value_name = "NAME")]
    pub namespace: Option<String>,

    /// Produce a core dump on abnormal termination (accepted; no effect).
    #[arg(short = 'm', long = "core-dump")]
    pub core_dump: bool,

    /// Also set the core pattern (accepted; no effect).
    #[arg(short = 'M', long = "core-dump-pattern", value_name = "PATN", num_args = 0..=1,
          require_equals = true, default_missing_value = "core")]
    pub core_dump_pattern: Option<String>,

    /// Error if any configuration file is missing (same as includet).
    #[arg(short = 'e', long = "all-config")]
    pub all_config: bool,

    /// Config id for '@id' / '@^id' lines (default: host name up to the first dot).
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,

    /// Print the number of the signal for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON and exit.
    #[arg(long = "signum", value_name = "SIGFUNC")]
    pub signum: Option<String>,

    /// Check the configuration and exit (diagnostics to stderr, or to LOG_FILE).
    #[arg(short = 't', long = "config-test", value_name = "LOG_FILE", num_args = 0..=1,
          require_equals = true, default_missing_value = "")]
    pub config_test: Option<String>,

    /// Print the parsed configuration model as JSON on stdout and exit
    /// (exit code as for -t). Also enabled by `-t --json`.
    #[arg(long = "dump-json", alias = "json")]
    pub dump_json: bool,

    /// kalive's control socket (`kalive ctl`); default
    /// /run/kalive/kalive.ctl, or /run/kalive/kalive-NS.ctl in namespace NS.
    #[arg(long = "control-socket", value_name = "PATH")]
    pub control_socket: Option<std::path::PathBuf>,

    /// Ignore SIGINT (for debuggers).
    #[arg(long = "ignore-sigint")]
    pub ignore_sigint: bool,

    /// keepalived-internal: fd of the consolidated config (accepted; ignored).
    #[arg(long = "config-fd", hide = true)]
    pub config_fd: Option<i32>,

    /// keepalived build-time debug options (accepted; ignored).
    #[arg(long = "debug", hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub debug: Option<String>,

    /// Display the version number.
    #[arg(short = 'v', long = "version")]
    pub version: bool,
}

/// Syslog facility code (RFC 3164 numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facility(pub u8);

impl Facility {
    pub const USER: Facility = Facility(1);
    pub const DAEMON: Facility = Facility(3);
    /// LOG_LOCAL0 is 16; local1..7 follow.
    pub fn local(n: u8) -> Facility {
        Facility(16 + n)
    }
}

impl Default for Facility {
    fn default() -> Self {
        Facility::DAEMON
    }
}

/// `-S`: `0`-`7` and `local0`-`local7` mean LOG_LOCAL0-7; `user`, `daemon`.
pub fn parse_facility(s: &str) -> Result<Facility, String> {
    let lower = s.to_ascii_lowercase();
    let local = lower.strip_prefix("local").unwrap_or(&lower);
    if let Ok(n) = local.parse::<u8>() {
        if n <= 7 {
            return Ok(Facility::local(n));
        }
    }
    match lower.as_str() {
        "user" => Ok(Facility::USER),
        "daemon" => Ok(Facility::DAEMON),
        _ => Err(format!(
            "invalid log facility '{s}' (0-7, local0-7, user or daemon)"
        )),
    }
}

/// `--signum=NAME`: the signal numbers keepalived uses (reference §1.3).
/// `TDUMP` is a build option keepalived 2.2.7 on Debian rejects, as do we.
pub fn signum(name: &str) -> Option<i32> {
    match name {
        "STOP" => Some(libc::SIGTERM),
        "RELOAD" => Some(libc::SIGHUP),
        "DATA" => Some(libc::SIGUSR1),
        "STATS" => Some(libc::SIGUSR2),
        "STATS_CLEAR" => Some(libc::SIGRTMAX() - 1),
        "JSON" => Some(json_signal()),
        _ => None,
    }
}

/// keepalived's SIGJSON.
pub fn json_signal() -> i32 {
    libc::SIGRTMIN() + 2
}

impl Cli {
    /// `-t` given (with or without a log file).
    pub fn is_config_test(&self) -> bool {
        self.config_test.is_some()
    }

    /// Where `-t` writes its messages: `None` is stderr.
    pub fn config_test_log(&self) -> Option<PathBuf> {
        match self.config_test.as_deref() {
            Some("") | None => None,
            Some(path) => Some(PathBuf::from(path)),
        }
    }

    /// Flags accepted for compatibility that change nothing in kalive.
    pub fn ignored_flags(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let flags: [(bool, &'static str); 7] = [
            (self.genhash, "-T/--genhash"),
            (self.snmp, "-x/--snmp"),
            (self.snmp_agent_socket.is_some(), "-A/--snmp-agent-socket"),
            (self.core_dump, "-m/--core-dump"),
            (self.core_dump_pattern.is_some(), "-M/--core-dump-pattern"),
            (self.config_fd.is_some(), "--config-fd"),
            (self.debug.is_some(), "--debug"),
        ];
        for (given, name) in flags {
            if given {
                v.push(name);
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        let mut full = vec!["kalive"];
        full.extend_from_slice(args);
        Cli::try_parse_from(full).expect("parses")
    }

    #[test]
    fn defaults_are_keepalived_defaults() {
        let cli = parse(&[]);
        assert_eq!(
            cli.use_file,
            PathBuf::from("/etc/keepalived/keepalived.conf")
        );
        assert_eq!(cli.pid_file, PathBuf::from("/run/keepalived.pid"));
        assert_eq!(cli.vrrp_pid_file, PathBuf::from("/run/keepalived_vrrp.pid"));
        assert!(!cli.dont_fork && !cli.log_console && cli.log_detail == 0);
        assert!(!cli.is_config_test());
    }

    #[test]
    fn the_lab_command_line_parses() {
        let cli = parse(&[
            "-n",
            "-l",
            "-D",
            "-f",
            "/tmp/k.conf",
            "-p",
            "/tmp/a.pid",
            "-r",
            "/tmp/b.pid",
        ]);
        assert!(cli.dont_fork && cli.log_console);
        assert_eq!(cli.log_detail, 1);
        assert_eq!(cli.use_file, PathBuf::from("/tmp/k.conf"));
        assert_eq!(cli.pid_file, PathBuf::from("/tmp/a.pid"));
        assert_eq!(cli.vrrp_pid_file, PathBuf::from("/tmp/b.pid"));
    }

    #[test]
    fn clustered_short_flags_and_long_forms() {
        let cli = parse(&[
            "-nlDD",
            "-P",
            "--use-file=/x.conf",
            "--vrrp_pid=/v.pid",
            "-S",
            "local3",
        ]);
        assert!(cli.dont_fork && cli.log_console && cli.vrrp_only);
        assert_eq!(cli.log_detail, 2);
        assert_eq!(cli.use_file, PathBuf::from("/x.conf"));
        assert_eq!(cli.log_facility, Some(Facility(19)));
        let cli = parse(&[
            "-B", "-G", "-V", "-X", "-R", "-e", "-d", "-i", "lb1", "-s", "ns1", "--no_bfd",
        ]);
        assert!(cli.no_bfd && cli.no_syslog && cli.dont_release_vrrp && cli.release_vips);
        assert!(cli.dont_respawn && cli.all_config && cli.dump_conf);
        assert_eq!(cli.config_id.as_deref(), Some("lb1"));
        assert_eq!(cli.namespace.as_deref(), Some("ns1"));
    }

    #[test]
    fn config_test_with_and_without_log_file() {
        let cli = parse(&["-t", "-f", "/a.conf"]);
        assert!(cli.is_config_test());
        assert_eq!(cli.config_test_log(), None);
        let cli = parse(&["--config-test=/tmp/t.log", "-f", "/a.conf"]);
        assert_eq!(cli.config_test_log(), Some(PathBuf::from("/tmp/t.log")));
        let cli = parse(&["-t", "--json"]);
        assert!(cli.dump_json);
    }

    #[test]
    fn log_file_optional_value() {
        assert_eq!(
            parse(&["-g"]).log_file,
            Some(PathBuf::from(DEFAULT_LOG_FILE))
        );
        assert_eq!(
            parse(&["--log-file=/tmp/x.log"]).log_file,
            Some(PathBuf::from("/tmp/x.log"))
        );
        assert_eq!(parse(&[]).log_file, None);
    }

    #[test]
    fn facilities() {
        assert_eq!(parse_facility("0"), Ok(Facility(16)));
        assert_eq!(parse_facility("7"), Ok(Facility(23)));
        assert_eq!(parse_facility("local7"), Ok(Facility(23)));
        assert_eq!(parse_facility("daemon"), Ok(Facility::DAEMON));
        assert_eq!(parse_facility("user"), Ok(Facility::USER));
        assert!(parse_facility("8").is_err());
        assert!(parse_facility("kern").is_err());
    }

    #[test]
    fn signal_numbers_match_keepalived_2_2_7() {
        // Values printed by `keepalived --signum=...` on this machine (glibc).
        assert_eq!(signum("STOP"), Some(15));
        assert_eq!(signum("RELOAD"), Some(1));
        assert_eq!(signum("DATA"), Some(10));
        assert_eq!(signum("STATS"), Some(12));
        assert_eq!(signum("STATS_CLEAR"), Some(63));
        assert_eq!(signum("JSON"), Some(36));
        assert_eq!(signum("TDUMP"), None);
        assert_eq!(signum("FOO"), None);
    }

    #[test]
    fn version_is_lower_case_v_and_capital_v_is_dont_release() {
        assert!(parse(&["-v"]).version);
        assert!(parse(&["-V"]).dont_release_vrrp);
    }
}
