//! kalive-lab: network-namespace lab (demo, tests, benchmarks).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use kalive_lab::bench::{self, Case, Scenario};
use kalive_lab::{demo, Implementation, LabError};

#[derive(Parser)]
#[command(version, about = "Network-namespace lab for kalive and keepalived")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Three routers, one VIP, a client: kill the master, watch the takeover,
    /// bring it back; then (kalive) two directors load-balancing three nginx
    /// web servers: a web server dies and rejoins, the master director
    /// dies. Cleans up, Ctrl-C included. Needs root and nginx.
    Demo {
        /// Which daemon runs in the routers.
        #[arg(long = "impl", value_enum, default_value_t = Impl::Kalive)]
        implementation: Impl,
        /// Path of the kalive binary (default: next to this executable).
        #[arg(long)]
        kalive: Option<PathBuf>,
    },
    /// Builds a lab (switch, routers, client) and keeps it until Ctrl-C,
    /// printing who holds the demo VIP every two seconds. Needs root.
    Up {
        /// Number of routers.
        #[arg(long, default_value_t = 3)]
        routers: usize,
        /// Daemon to start in every router; none if omitted.
        #[arg(long = "impl", value_enum)]
        implementation: Option<Impl>,
        /// Path of the kalive binary (default: next to this executable).
        #[arg(long)]
        kalive: Option<PathBuf>,
        /// keepalived.conf template (`@ROUTER@`, `@PRIORITY@` filled in);
        /// default: the demo's.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Boots Debian's kernel in a throw-away QEMU guest (TCG, the host's
    /// root read-only under a tmpfs overlay, no network card), runs a
    /// shell script there as root, prints the console and the boot time,
    /// and exits with the script's status. Needs root and the packages
    /// qemu-system-x86 linux-image-amd64 busybox-static cpio xz-utils.
    Guest {
        /// Shell script to run in the guest (working directory: --out).
        #[arg(long)]
        script: PathBuf,
        /// Host folder shared read-write with the guest ($KALIVE_OUT).
        #[arg(long, default_value = "guest-out")]
        out: PathBuf,
        /// Bound on the whole run in seconds; QEMU is killed after it.
        #[arg(long, default_value_t = 240)]
        timeout: u64,
        /// Guest memory in MiB.
        #[arg(long, default_value_t = 512)]
        memory: u32,
    },
    /// Programs the kernel's IPVS table from a JSON kalive-lb state
    /// (reconciling with what is there, never flushing) and checks it by
    /// reading it back. Needs a kernel with IPVS (e.g. in `guest`).
    IpvsApply {
        #[arg(long)]
        state: PathBuf,
        /// State kalive programmed before: its services that `--state`
        /// lacks are removed (others' services never are).
        #[arg(long)]
        owned_from: Option<PathBuf>,
    },
    /// Sets IPVS's TCP, TCP FIN and UDP timeouts (seconds; 0 keeps one).
    IpvsTimeouts {
        #[arg(long, default_value_t = 0)]
        tcp: u32,
        #[arg(long, default_value_t = 0)]
        tcpfin: u32,
        #[arg(long, default_value_t = 0)]
        udp: u32,
    },
    /// Starts (or with --stop stops) an IPVS connection sync daemon.
    IpvsSyncDaemon {
        /// master or backup.
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "")]
        interface: String,
        #[arg(long, default_value_t = 0)]
        sync_id: u32,
        #[arg(long)]
        stop: bool,
    },
    /// kalive and keepalived side by side; figures printed, never asserted.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Takeover figures per scenario (SIGKILL, SIGTERM, link down) at
    /// advert_int 1 s (v2), 0.1 s and 0.01 s (v3).
    Failover {
        /// Repetitions per scenario and implementation.
        #[arg(long, default_value_t = 5)]
        reps: usize,
        /// Which implementations (default both, alternating).
        #[arg(long = "impl", value_enum, default_value_t = Which::Both)]
        which: Which,
        /// Path of the kalive binary (default: next to this executable).
        #[arg(long)]
        kalive: Option<PathBuf>,
        /// Only these advert intervals in seconds (e.g. 0.1).
        #[arg(long, value_delimiter = ',')]
        interval: Vec<f64>,
        /// Only these scenarios: sigkill, sigterm, linkdown.
        #[arg(long, value_delimiter = ',')]
        scenario: Vec<String>,
    },
    /// RSS and CPU of an idle daemon, 1 and 200 instances at 0.1 s, as
    /// master and as backup.
    Idle {
        /// Measurement window in seconds.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Which implementations (default both).
        #[arg(long = "impl", value_enum, default_value_t = Which::Both)]
        which: Which,
        /// Path of the kalive binary (default: next to this executable).
        #[arg(long)]
        kalive: Option<PathBuf>,
        /// Instance counts to measure.
        #[arg(long, value_delimiter = ',', default_values_t = [1usize, 200])]
        instances: Vec<usize>,
        /// Runs per case and implementation, alternating; medians are
        /// printed (a shared machine moves single runs a lot).
        #[arg(long, default_value_t = 1)]
        reps: usize,
    },
    /// SIGHUP cases (unchanged, add/remove a VIP, change a route,
    /// add/remove an instance, switchover by priority) at 1 and 200
    /// instances: pings lost, VIPs removed, time to the kernel.
    Reload {
        /// Which implementations (default both).
        #[arg(long = "impl", value_enum, default_value_t = Which::Both)]
        which: Which,
        /// Path of the kalive binary (default: next to this executable).
        #[arg(long)]
        kalive: Option<PathBuf>,
        /// Instance counts to measure.
        #[arg(long, value_delimiter = ',', default_values_t = [1usize, 200])]
        instances: Vec<usize>,
        /// Only these cases: unchanged, add-vip, remove-vip, change-route,
        /// add-instance, remove-instance, switchover.
        #[arg(long, value_delimiter = ',')]
        case: Vec<String>,
    },
    /// kalive's health checker (`kalive -C`) and HAProxy's against one
    /// nginx target in a private namespace, one check per server per
    /// second: CPU, RSS, checks/s and per-server period (tcpdump), side by
    /// side. Needs haproxy, nginx-light and tcpdump.
    Checkers {
        /// Server counts.
        #[arg(long, value_delimiter = ',', default_values_t = [1000usize])]
        servers: Vec<usize>,
        /// Probes: tcp, http.
        #[arg(long, value_delimiter = ',', default_values_t = ["tcp".to_string(), "http".to_string()])]
        probe: Vec<String>,
        /// Seconds after start before measuring.
        #[arg(long, default_value_t = 8)]
        settle: u64,
        /// Seconds of the CPU / checks-per-second window.
        #[arg(long, default_value_t = 20)]
        window: u64,
        /// Seconds of SYN capture for the per-server period.
        #[arg(long, default_value_t = 5)]
        capture: u64,
        /// Path of the kalive binary (default: next to this executable).
        #[arg(long)]
        kalive: Option<PathBuf>,
    },
    /// `kalive -t` against `keepalived -t` on a generated config of about
    /// 150,000 lines (2,000 vrrp_instances, 500 virtual_servers x 20
    /// real_servers): wall time and peak RSS, best of N, with ratios.
    Config {
        /// Use this config instead of the generated one (it may name only
        /// interfaces eth0..eth7).
        #[arg(long)]
        file: Option<PathBuf>,
        /// Runs per implementation; the best is reported.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Path of the kalive binary (default: next to this executable).
        #[arg(long)]
        kalive: Option<PathBuf>,
        /// Only write the generated config to this file and exit.
        #[arg(long)]
        generate_only: Option<PathBuf>,
    },
    /// Advert floods at a fixed rate against a master with 20 VIPs
    /// (malformed, forged auth, lower priority, unknown VRID): CPU, RSS,
    /// false transitions, time for a VIP removal to reach the kernel,
    /// GARPs after the flood, kalive's netlink queue counters.
    Attack {
        /// Which implementations (default both).
        #[arg(long = "impl", value_enum, default_value_t = Which::Both)]
        which: Which,
        /// Path of the kalive binary (default: next to this executable).
        #[arg(long)]
        kalive: Option<PathBuf>,
        /// Packets per second.
        #[arg(long, default_value_t = 2000)]
        rate: u32,
        /// Seconds per flood.
        #[arg(long, default_value_t = 4.0)]
        seconds: f64,
        /// Only these attacks: malformed, forged-auth, lower-prio, unknown-vrid.
        #[arg(long, value_delimiter = ',')]
        attack: Vec<String>,
    },
    /// N instances at 10 ms on two routers with VRRP packet loss:
    /// two-master moments and master changes seen on the wire.
    Soak {
        /// Which implementations (default both).
        #[arg(long = "impl", value_enum, default_value_t = Which::Both)]
        which: Which,
        /// Path of the kalive binary (default: next to this executable).
        #[arg(long)]
        kalive: Option<PathBuf>,
        /// Instance counts to measure.
        #[arg(long, value_delimiter = ',', default_values_t = [1usize])]
        instances: Vec<usize>,
        /// Seconds measured after convergence.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Percent of VRRP packets each router drops on receipt.
        #[arg(long, default_value_t = 10)]
        loss: u8,
    },
    /// Internal to `bench config`: run a program in a namespace, print its
    /// wall time and peak RSS.
    #[command(hide = true)]
    MeasureChild {
        #[arg(long)]
        netns: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        command: Vec<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Which {
    Both,
    Kalive,
    Keepalived,
}

#[derive(Clone, Copy, ValueEnum)]
enum Impl {
    Kalive,
    Keepalived,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let flag = kalive_lab::interrupt_flag();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, flag.clone()) {
            eprintln!("kalive-lab: cannot install signal handler: {e}");
            return ExitCode::FAILURE;
        }
    }
    let result = match cli.command {
        Command::Demo {
            implementation,
            kalive,
        } => implementation_of(implementation, kalive)
            .and_then(|imp| demo::run(&imp, &mut std::io::stdout()).map(drop)),
        Command::Bench { what } => run_bench(what),
        Command::Up {
            routers,
            implementation,
            kalive,
            config,
        } => run_up(routers, implementation, kalive, config),
        Command::Guest {
            script,
            out,
            timeout,
            memory,
        } => return run_guest(script, out, timeout, memory),
        Command::IpvsApply { state, owned_from } => {
            kalive_lab::ipvs_table::apply_file(&state, owned_from.as_deref())
                .map(|report| println!("{report}"))
        }
        Command::IpvsTimeouts { tcp, tcpfin, udp } => {
            kalive_lab::ipvs_table::set_timeouts(tcp, tcpfin, udp)
        }
        Command::IpvsSyncDaemon {
            role,
            interface,
            sync_id,
            stop,
        } => run_sync_daemon(&role, interface, sync_id, stop),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(LabError::Interrupted) => {
            eprintln!(
                "kalive-lab: interrupted; every namespace and process of the lab was removed"
            );
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("kalive-lab: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_sync_daemon(
    role: &str,
    interface: String,
    sync_id: u32,
    stop: bool,
) -> kalive_lab::Result<()> {
    use kalive_lb::ipvs::{SyncDaemon, SyncRole};
    let role = match role {
        "master" => SyncRole::Master,
        "backup" => SyncRole::Backup,
        other => return Err(LabError::Usage(format!("--role {other}: master or backup"))),
    };
    let daemon = SyncDaemon {
        role,
        interface,
        sync_id,
        max_len: None,
        group: None,
        port: None,
        ttl: None,
    };
    kalive_lab::ipvs_table::sync_daemon(&daemon, stop)
}

fn run_guest(script: PathBuf, out: PathBuf, timeout: u64, memory: u32) -> ExitCode {
    let text = match std::fs::read_to_string(&script) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("kalive-lab: read {}: {e}", script.display());
            return ExitCode::FAILURE;
        }
    };
    let spec = kalive_lab::guest::GuestSpec {
        timeout: std::time::Duration::from_secs(timeout),
        memory_mib: memory,
        ..kalive_lab::guest::GuestSpec::new(text, out)
    };
    match kalive_lab::guest::run(&spec) {
        Ok(run) => {
            print!("{}", run.console);
            eprintln!(
                "kalive-lab guest: kernel {}, boot to script {:.1} s, total {:.1} s, exit {}",
                run.kernel_version,
                run.boot_time.as_secs_f64(),
                run.total_time.as_secs_f64(),
                run.exit_code
            );
            ExitCode::from(u8::try_from(run.exit_code).unwrap_or(1))
        }
        Err(e) => {
            eprintln!("kalive-lab: {e}");
            ExitCode::FAILURE
        }
    }
}

fn implementation_of(choice: Impl, kalive: Option<PathBuf>) -> kalive_lab::Result<Implementation> {
    match (choice, kalive) {
        (Impl::Keepalived, _) => Implementation::keepalived(),
        (Impl::Kalive, Some(path)) => Implementation::kalive_at(path),
        (Impl::Kalive, None) => Implementation::kalive(),
    }
}

fn implementations(
    which: Which,
    kalive: Option<PathBuf>,
) -> kalive_lab::Result<Vec<Implementation>> {
    let mut out = Vec::new();
    if matches!(which, Which::Both | Which::Kalive) {
        out.push(implementation_of(Impl::Kalive, kalive)?);
    }
    if matches!(which, Which::Both | Which::Keepalived) {
        out.push(Implementation::keepalived()?);
    }
    Ok(out)
}

fn run_bench(what: BenchCommand) -> kalive_lab::Result<()> {
    let mut stdout = std::io::stdout();
    match what {
        BenchCommand::Failover {
            reps,
            which,
            kalive,
            interval,
            scenario,
        } => {
            let imps = implementations(which, kalive)?;
            let cases: Vec<Case> = Case::standard()
                .into_iter()
                .filter(|c| {
                    interval.is_empty()
                        || interval
                            .iter()
                            .any(|s| (c.interval.as_secs_f64() - s).abs() < 1e-6)
                })
                .filter(|c| scenario.is_empty() || scenario.iter().any(|s| s == c.scenario.name()))
                .collect();
            if cases.is_empty() {
                let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
                return Err(LabError::Usage(format!(
                    "no case matches; intervals are 1, 0.1, 0.01 and scenarios {names:?}"
                )));
            }
            bench::failover(&imps, &cases, reps, &mut stdout)
        }
        BenchCommand::Idle {
            seconds,
            which,
            kalive,
            instances,
            reps,
        } => {
            let imps = implementations(which, kalive)?;
            let plan = bench::IdlePlan {
                duration: std::time::Duration::from_secs(seconds),
                instances,
                reps: reps.max(1),
            };
            bench::idle(&imps, &plan, &mut stdout)
        }
        BenchCommand::Checkers {
            servers,
            probe,
            settle,
            window,
            capture,
            kalive,
        } => {
            let kalive = match implementation_of(Impl::Kalive, kalive)? {
                Implementation::Kalive(path) => path,
                Implementation::Keepalived(path) => path,
            };
            let mut probes = Vec::new();
            for name in &probe {
                probes.push(match name.as_str() {
                    "tcp" => bench::checkers::Probe::Tcp,
                    "http" => bench::checkers::Probe::Http,
                    other => {
                        return Err(LabError::Usage(format!(
                            "unknown probe {other}; probes are tcp, http"
                        )))
                    }
                });
            }
            if servers.iter().any(|&n| n == 0 || n > 62_500) {
                return Err(LabError::Usage("servers must be 1..=62500".into()));
            }
            let plan = bench::checkers::CheckerPlan {
                servers,
                probes,
                settle: std::time::Duration::from_secs(settle),
                window: std::time::Duration::from_secs(window.max(1)),
                capture: std::time::Duration::from_secs(capture.max(1)),
            };
            bench::checkers::run(&kalive, &plan, &mut stdout).map(drop)
        }
        BenchCommand::Reload {
            which,
            kalive,
            instances,
            case,
        } => {
            let imps = implementations(which, kalive)?;
            let mut cases = Vec::new();
            for name in &case {
                match bench::reload::Case::from_name(name) {
                    Some(c) => cases.push(c),
                    None => {
                        let names: Vec<&str> =
                            bench::reload::Case::ALL.iter().map(|c| c.name()).collect();
                        return Err(LabError::Usage(format!(
                            "unknown case {name}; cases are {names:?}"
                        )));
                    }
                }
            }
            if cases.is_empty() {
                cases = bench::reload::Case::ALL.to_vec();
            }
            bench::reload::run(&imps, &instances, &cases, &mut stdout).map(drop)
        }
        BenchCommand::Config {
            file,
            runs,
            kalive,
            generate_only,
        } => match generate_only {
            Some(path) => bench::config::write_generated(&path).map(drop),
            None => {
                let options = bench::config::Options {
                    file,
                    runs: runs.max(1),
                    kalive: implementation_of(Impl::Kalive, kalive)?,
                    keepalived: Implementation::keepalived()?,
                };
                bench::config::run(&options, &mut stdout)
            }
        },
        BenchCommand::Attack {
            which,
            kalive,
            rate,
            seconds,
            attack,
        } => {
            use bench::attack::Attack;
            let imps = implementations(which, kalive)?;
            let mut attacks = Vec::new();
            for name in &attack {
                match Attack::ALL.iter().find(|a| a.name() == name) {
                    Some(a) => attacks.push(*a),
                    None => {
                        let names: Vec<&str> = Attack::ALL.iter().map(|a| a.name()).collect();
                        return Err(LabError::Usage(format!(
                            "unknown attack {name}; attacks are {names:?}"
                        )));
                    }
                }
            }
            if attacks.is_empty() {
                attacks = Attack::ALL.to_vec();
            }
            if !(0.5..=600.0).contains(&seconds) || rate == 0 {
                return Err(LabError::Usage(
                    "--seconds must be 0.5..=600 and --rate above 0".into(),
                ));
            }
            let plan = bench::attack::Plan {
                rate,
                duration: std::time::Duration::from_secs_f64(seconds),
            };
            bench::attack::run(&imps, &attacks, plan, &mut stdout).map(drop)
        }
        BenchCommand::Soak {
            which,
            kalive,
            instances,
            seconds,
            loss,
        } => {
            let imps = implementations(which, kalive)?;
            let plan = bench::soak::Plan {
                instances,
                duration: std::time::Duration::from_secs(seconds.max(1)),
                loss: loss.min(100),
            };
            bench::soak::run(&imps, &plan, &mut stdout).map(drop)
        }
        BenchCommand::MeasureChild { netns, command } => {
            bench::config::measure_child(&netns, &command, &mut stdout)
        }
    }
}

fn run_up(
    routers: usize,
    implementation: Option<Impl>,
    kalive: Option<PathBuf>,
    config: Option<PathBuf>,
) -> kalive_lab::Result<()> {
    let imp = implementation
        .map(|choice| implementation_of(choice, kalive))
        .transpose()?;
    let template = config
        .map(|path| {
            std::fs::read_to_string(&path).map_err(|e| LabError::Io {
                context: format!("read {}", path.display()),
                source: e,
            })
        })
        .transpose()?;
    demo::up(
        imp.as_ref(),
        routers,
        template.as_deref(),
        &mut std::io::stdout(),
    )
}
