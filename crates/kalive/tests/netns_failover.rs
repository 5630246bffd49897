//! Real-kernel test of the kalive binary: two routers in their own network
//! namespaces on a bridge fail over a VIP (SIGKILL, SIGTERM with priority 0,
//! restart with stale-VIP clean-up and preemption), and notify scripts /
//! FIFO lines arrive in order.
//!
//! Needs root (network namespaces); fails with a clear message otherwise.
//! Every namespace and process carries a PID-unique tag and is removed by a
//! Drop guard, panics included.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kalive");

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().expect("run ip");
    assert!(status.success(), "ip {args:?} failed");
}

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (network namespaces); run it as root"
    );
}

/// Bridge namespace plus N router namespaces; all removed on drop.
struct Lab {
    tag: String,
    namespaces: Vec<String>,
    daemons: Vec<Option<Child>>,
    dir: PathBuf,
}

impl Lab {
    fn new(name: &str, routers: usize) -> Lab {
        require_root();
        let tag = format!("kd{}{}", name, std::process::id());
        let dir = std::env::temp_dir().join(&tag);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("dir");
        let mut lab = Lab {
            tag: tag.clone(),
            namespaces: Vec::new(),
            daemons: Vec::new(),
            dir,
        };
        let sw = format!("{tag}sw");
        ip(&["netns", "add", &sw]);
        lab.namespaces.push(sw.clone());
        ip(&["-n", &sw, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &sw, "link", "set", "br0", "up"]);
        for i in 1..=routers {
            let ns = lab.router(i);
            ip(&["netns", "add", &ns]);
            lab.namespaces.push(ns.clone());
            lab.daemons.push(None);
            let host_end = format!("{tag}v{i}");
            ip(&[
                "link", "add", &host_end, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ]);
            ip(&["link", "set", &host_end, "netns", &sw]);
            ip(&["-n", &sw, "link", "set", &host_end, "master", "br0", "up"]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("10.77.0.{i}/24"),
                "dev",
                "eth0",
            ]);
            ip(&["-n", &ns, "link", "set", "eth0", "up"]);
        }
        lab
    }

    fn router(&self, i: usize) -> String {
        format!("{}r{i}", self.tag)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        fs::write(&path, text).expect("write");
        path
    }

    fn start(&mut self, i: usize, config: &Path) {
        let ns = self.router(i);
        let log = fs::File::create(self.dir.join(format!("r{i}.log"))).expect("log");
        let err = log.try_clone().expect("log");
        let child = Command::new("ip")
            .args(["netns", "exec", &ns, BIN, "-n", "-l", "-D", "-G", "-f"])
            .arg(config)
            .arg("-p")
            .arg(self.dir.join(format!("r{i}.pid")))
            .arg("-r")
            .arg(self.dir.join(format!("r{i}_vrrp.pid")))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .expect("start kalive");
        self.daemons[i - 1] = Some(child);
    }

    fn signal(&mut self, i: usize, sig: nix::sys::signal::Signal) {
        if let Some(child) = &self.daemons[i - 1] {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig);
        }
    }

    fn wait_exit(&mut self, i: usize, limit: Duration) -> bool {
        let Some(child) = self.daemons[i - 1].as_mut() else {
            return true;
        };
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(_)) = child.try_wait() {
                self.daemons[i - 1] = None;
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// The pid in one of the lab's pid files.
    fn pid_in(&self, name: &str) -> Option<i32> {
        fs::read_to_string(self.dir.join(name))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn has_address(&self, i: usize, addr: &str) -> bool {
        let out = Command::new("ip")
            .args(["-n", &self.router(i), "-o", "addr", "show", "dev", "eth0"])
            .output()
            .expect("ip addr");
        String::from_utf8_lossy(&out.stdout).contains(&format!(" {addr}/"))
    }

    /// Poll (bounded) until `cond`; returns the time it took.
    fn wait_for(&self, limit: Duration, mut cond: impl FnMut(&Lab) -> bool) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if cond(self) {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    fn log(&self, i: usize) -> String {
        fs::read_to_string(self.dir.join(format!("r{i}.log"))).unwrap_or_default()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in self.daemons.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("logs kept in {}", self.dir.display());
        }
    }
}

fn config(priority: u8, extra: &str) -> String {
    format!(
        "global_defs {{\n  router_id r{priority}\n  vrrp_version 3\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n\
         priority {priority}\n  advert_int 0.1\n  virtual_ipaddress {{\n    10.77.0.100/24\n  }}\n{extra}}}\n"
    )
}

const VIP: &str = "10.77.0.100";

#[test]
fn two_routers_fail_over_and_back() {
    let mut lab = Lab::new("fo", 2);
    let c1 = lab.write("r1.conf", &config(150, ""));
    let c2 = lab.write("r2.conf", &config(100, ""));
    lab.start(1, &c1);
    lab.start(2, &c2);

    // r1 (higher priority) becomes master: 3 x 0.1 s + skew after start.
    let took = lab.wait_for(Duration::from_secs(10), |l| l.has_address(1, VIP));
    assert!(took.is_some(), "r1 never got the VIP\n{}", lab.log(1));
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !lab.has_address(2, VIP),
        "VIP on both routers\n{}",
        lab.log(2)
    );
    assert!(
        lab.log(1).contains("(VI_1) Entering MASTER STATE"),
        "{}",
        lab.log(1)
    );

    // SIGKILL of the VRRP child (the worker, `-r`): no priority 0, so r2
    // takes over after master-down; the keeper starts a new worker at once,
    // which removes the VIP the dead one left (keepalived's parent does the
    // same), and r1 (higher priority) then preempts back.
    let worker = lab.pid_in("r1_vrrp.pid").expect("worker pid file");
    let keeper = lab.pid_in("r1.pid").expect("keeper pid file");
    assert_ne!(worker, keeper, "-p names the keeper, -r the worker");
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(worker),
        nix::sys::signal::Signal::SIGKILL,
    );
    let cleaned = lab.wait_for(Duration::from_secs(3), |l| {
        !l.has_address(1, VIP) || l.log(1).matches("(VI_1) removing VIPs.").count() >= 1
    });
    assert!(
        cleaned.is_some(),
        "the VIP of the killed worker stayed\n{}",
        lab.log(1)
    );
    let took = lab.wait_for(Duration::from_secs(5), |l| l.has_address(2, VIP));
    let took = took.unwrap_or_else(|| panic!("r2 never took over\n{}", lab.log(2)));
    eprintln!("takeover after SIGKILL of the worker: {took:?}");
    assert!(took < Duration::from_secs(2), "takeover took {took:?}");
    assert!(
        lab.log(1).contains("Respawning"),
        "the keeper did not respawn its worker\n{}",
        lab.log(1)
    );
    let back = lab.wait_for(Duration::from_secs(10), |l| {
        l.has_address(1, VIP) && !l.has_address(2, VIP)
    });
    assert!(back.is_some(), "r1 did not take back\n{}", lab.log(1));

    // SIGKILL of the keeper (`-p`): the worker is told by the kernel
    // (SIGTERM) and stops cleanly: priority 0, VIP removed, r2 takes over
    // at its skew.
    lab.signal(1, nix::sys::signal::Signal::SIGKILL);
    let took = lab.wait_for(Duration::from_secs(5), |l| {
        l.has_address(2, VIP) && !l.has_address(1, VIP)
    });
    assert!(
        took.is_some(),
        "killing the keeper left the VIP on r1\n{}",
        lab.log(1)
    );
    assert!(lab.wait_exit(1, Duration::from_secs(5)));
    let gone = lab.wait_for(Duration::from_secs(5), |_| {
        !std::path::Path::new(&format!("/proc/{worker}")).exists()
    });
    assert!(gone.is_some(), "the worker outlived its keeper");

    // Both killed at once (worker first): nothing is left to clean up,
    // so the VIP stays until kalive starts again, which removes it first.
    lab.start(1, &c1);
    let back = lab.wait_for(Duration::from_secs(10), |l| {
        l.has_address(1, VIP) && !l.has_address(2, VIP)
    });
    assert!(back.is_some(), "r1 did not take back\n{}", lab.log(1));
    let worker = lab.pid_in("r1_vrrp.pid").expect("worker pid file");
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(worker),
        nix::sys::signal::Signal::SIGKILL,
    );
    lab.signal(1, nix::sys::signal::Signal::SIGKILL);
    assert!(lab.wait_exit(1, Duration::from_secs(5)));
    assert!(
        lab.wait_for(Duration::from_secs(5), |l| l.has_address(2, VIP))
            .is_some(),
        "r2 never took over"
    );
    assert!(
        lab.has_address(1, VIP),
        "a daemon killed whole leaves its VIP (nothing can remove it)"
    );
    let removals = lab.log(1).matches("(VI_1) removing VIPs.").count();
    lab.start(1, &c1);
    let back = lab.wait_for(Duration::from_secs(10), |l| {
        l.has_address(1, VIP) && !l.has_address(2, VIP)
    });
    assert!(
        back.is_some(),
        "r1 did not take back\n{}\n{}",
        lab.log(1),
        lab.log(2)
    );
    assert!(
        lab.log(1).matches("(VI_1) removing VIPs.").count() > removals,
        "{}",
        lab.log(1)
    );

    // SIGTERM: r1 sends priority 0 and removes its VIP; r2 takes over at
    // its skew time instead of the full master-down interval.
    lab.signal(1, nix::sys::signal::Signal::SIGTERM);
    let took = lab.wait_for(Duration::from_secs(5), |l| l.has_address(2, VIP));
    let took = took.unwrap_or_else(|| panic!("r2 never took over after SIGTERM\n{}", lab.log(2)));
    eprintln!("takeover after SIGTERM: {took:?}");
    assert!(
        lab.wait_exit(1, Duration::from_secs(5)),
        "r1 did not exit on SIGTERM"
    );
    assert!(!lab.has_address(1, VIP), "SIGTERM left the VIP on r1");
    assert!(
        lab.log(1).contains("(VI_1) sent 0 priority"),
        "{}",
        lab.log(1)
    );
}

#[test]
fn notify_scripts_and_fifo_in_order() {
    let mut lab = Lab::new("nt", 1);
    let out = lab.dir.join("notify.out");
    let fifo = lab.dir.join("notify.fifo");
    let script = lab.write(
        "notify.sh",
        &format!("#!/bin/sh\necho \"$@\" >> {}\n", out.display()),
    );
    fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let extra = format!(
        "  notify_master \"{s} master\"\n  notify \"{s}\"\n",
        s = script.display()
    );
    let conf = format!(
        "global_defs {{\n  script_user root\n  vrrp_notify_fifo {}\n}}\n{}",
        fifo.display(),
        config(150, &extra).replacen(
            "global_defs {\n  router_id r150\n  vrrp_version 3\n}\n",
            "",
            1
        )
    );
    let conf = conf.replace("  advert_int 0.1", "  version 3\n  advert_int 0.1");
    let c = lab.write("r1.conf", &conf);
    lab.start(1, &c);
    // Read the FIFO from the start so no line is lost.
    let got_fifo = lab.wait_for(Duration::from_secs(5), |_| fifo.exists());
    assert!(got_fifo.is_some(), "FIFO not created\n{}", lab.log(1));
    let reader = std::thread::spawn({
        let fifo = fifo.clone();
        move || fs::read_to_string(fifo).unwrap_or_default()
    });
    let master = lab.wait_for(Duration::from_secs(10), |l| l.has_address(1, VIP));
    assert!(master.is_some(), "{}", lab.log(1));
    let scripts_done = lab.wait_for(Duration::from_secs(5), |_| {
        fs::read_to_string(&out).unwrap_or_default().lines().count() >= 3
    });
    assert!(
        scripts_done.is_some(),
        "scripts: {:?}",
        fs::read_to_string(&out)
    );
    lab.signal(1, nix::sys::signal::Signal::SIGTERM);
    assert!(lab.wait_exit(1, Duration::from_secs(10)));
    let text = fs::read_to_string(&out).unwrap_or_default();
    let mut lines: Vec<&str> = text.lines().collect();
    // The two scripts of one notification start together and are not
    // waited for (keepalived neither), so only the notifications are in
    // order, not the two scripts of the MASTER one.
    if lines.len() == 4 {
        lines[1..3].sort_unstable();
    }
    assert_eq!(
        lines,
        [
            "INSTANCE VI_1 BACKUP 150",
            "INSTANCE VI_1 MASTER 150",
            "master",
            "INSTANCE VI_1 STOP 150"
        ],
        "{}",
        lab.log(1)
    );
    let fifo_text = reader.join().unwrap_or_default();
    assert_eq!(
        fifo_text,
        "INSTANCE \"VI_1\" BACKUP 150\nINSTANCE \"VI_1\" MASTER 150\nINSTANCE \"VI_1\" STOP 150\n"
    );
}

#[test]
fn sighup_reload_applies_a_good_config_and_keeps_running_on_a_bad_one() {
    let mut lab = Lab::new("hup", 1);
    let conf = lab.write("r1.conf", &config(150, ""));
    lab.start(1, &conf);
    assert!(
        lab.wait_for(Duration::from_secs(10), |l| l.has_address(1, VIP))
            .is_some(),
        "{}",
        lab.log(1)
    );
    // A config keepalived would not run (a keyword without its
    // parameter): the running one stays, the VIP too. (Unbalanced braces
    // and unknown keywords are only errors keepalived skips: it reloads.)
    fs::write(
        &conf,
        config(150, "").replace("virtual_router_id 51", "virtual_router_id"),
    )
    .expect("write");
    lab.signal(1, nix::sys::signal::Signal::SIGHUP);
    let refused = lab.wait_for(Duration::from_secs(5), |l| {
        l.log(1).contains("Reload failed")
    });
    assert!(refused.is_some(), "{}", lab.log(1));
    assert!(lab.has_address(1, VIP));
    // A good config with a second VIP: applied.
    let two = config(150, "").replace(
        "    10.77.0.100/24\n",
        "    10.77.0.100/24\n    10.77.0.101/24\n",
    );
    fs::write(&conf, two).expect("write");
    lab.signal(1, nix::sys::signal::Signal::SIGHUP);
    let applied = lab.wait_for(Duration::from_secs(10), |l| {
        l.has_address(1, "10.77.0.101") && l.has_address(1, VIP)
    });
    assert!(applied.is_some(), "{}", lab.log(1));
    lab.signal(1, nix::sys::signal::Signal::SIGTERM);
    assert!(lab.wait_exit(1, Duration::from_secs(5)));
    assert!(
        !lab.has_address(1, "10.77.0.101"),
        "SIGTERM removes every VIP"
    );
}
