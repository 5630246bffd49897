//! The check actor and the LB owner together on their thread, with a fake
//! prober and a fake `nft` (a shell script that records what it is given):
//! health decides the table, a burst of changes is one transaction, quorum
//! scripts run, status shows failures, stop removes the table.

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kalive::bus::LvsRequest;
use kalive::check::probe::{ProbeFuture, Prober};
use kalive::lower::{lower, LvsPlan};
use kalive::lvs::LvsHandle;
use kalive::notify::Script;
use kalive_check::{Outcome, ProbeSpec};
use kalive_config::system::FakeSystem;
use kalive_sys::Nft;
use tokio::sync::oneshot;

/// Fails every probe whose target is in `down`; counts runs; MISC_CHECKs
/// report `misc_weight` as their dynamic weight.
#[derive(Default)]
struct Probes {
    down: Mutex<HashSet<IpAddr>>,
    runs: Mutex<u64>,
    misc_weight: Mutex<Option<u32>>,
}

struct FakeProber(Arc<Probes>);

impl Prober for FakeProber {
    fn run(&self, spec: Arc<ProbeSpec>, _timeout: Duration) -> ProbeFuture {
        let me = self.0.clone();
        Box::pin(async move {
            *me.runs.lock().unwrap() += 1;
            if let ProbeSpec::Misc(_) = &*spec {
                let mut outcome = Outcome::success();
                outcome.dynamic_weight = *me.misc_weight.lock().unwrap();
                return outcome;
            }
            let target = spec.connect().map(|c| c.target);
            match target {
                Some(t) if me.down.lock().unwrap().contains(&t) => {
                    Outcome::failure("connection refused")
                }
                _ => Outcome::success(),
            }
        })
    }
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An `nft` that has no table (list and delete answer as nft does without
/// one) and appends every batch it is given to `batches`, one per line.
fn fake_nft(dir: &Path) -> Nft {
    let script = dir.join("nft");
    let batches = dir.join("batches");
    let calls = dir.join("calls");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$*\" >> {calls}\ncase \"$*\" in\n*list*|*delete*) echo 'Error: No such file or directory' >&2; exit 1;;\nesac\ncat >> {batches}\necho >> {batches}\n",
            calls = calls.display(),
            batches = batches.display()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    Nft::new().with_program(script)
}

fn plan(dir: &Path) -> LvsPlan {
    let text = format!(
        r#"global_defs {{
    enable_script_security
    script_user root
}}
virtual_server 10.9.0.100 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 3
    quorum_down "/usr/bin/touch {d}/quorum-down"
    real_server 10.9.1.1 80 {{
        TCP_CHECK {{
            retry 1
            delay_before_retry 1
        }}
    }}
    real_server 10.9.1.2 80 {{
        TCP_CHECK {{
            retry 1
            delay_before_retry 1
        }}
    }}
    real_server 10.9.1.3 80 {{
        TCP_CHECK {{
            retry 1
            delay_before_retry 1
        }}
    }}
}}
"#,
        d = dir.display()
    );
    let system = FakeSystem::with_interfaces(&["eth0"]).file("/usr/bin/touch", 0o755);
    let loaded = kalive_config::load_str(&text, "t.conf", Arc::new(system));
    lower(&loaded.config, &mut script)
}

/// Scripts as root, as the config named them.
fn script(s: &kalive_config::model::vrrp::Script, _what: &str) -> Option<Script> {
    let identity = kalive_sys::script::Identity {
        uid: 0,
        gid: 0,
        groups: Vec::new(),
    };
    Some(Script::new(
        s.args[0].clone(),
        s.args[1..].to_vec(),
        identity,
    ))
}

fn batches(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("batches"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

async fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: not within {limit:?}");
}

#[tokio::test]
async fn health_drives_the_table_and_quorum_scripts() {
    let dir = Dir(std::env::temp_dir().join(format!("kalive-lvs-actors-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let prober = Arc::new(Probes::default());
    let handle = LvsHandle::spawn_with(
        plan(&dir.0),
        Arc::new(FakeProber(prober.clone())),
        fake_nft(&dir.0),
    )
    .unwrap();

    // At start: one transaction with all three servers.
    wait_for("the first batch", Duration::from_secs(5), || {
        !batches(&dir.0).is_empty()
    })
    .await;
    let first = batches(&dir.0);
    assert_eq!(first.len(), 1, "{first:?}");
    for rs in ["10.9.1.1", "10.9.1.2", "10.9.1.3"] {
        assert!(first[0].contains(rs), "{rs} in {}", first[0]);
    }

    // Every checker has passed once (within its warmup, the delay_loop).
    wait_for("first checks", Duration::from_secs(3), || {
        *prober.runs.lock().unwrap() >= 3
    })
    .await;
    assert_eq!(batches(&dir.0).len(), 1, "passing checks change nothing");

    // Two servers fail together: quorum 3 lost, quorum_down runs, the
    // table loses both.
    prober.down.lock().unwrap().extend([
        "10.9.1.2".parse::<IpAddr>().unwrap(),
        "10.9.1.3".parse().unwrap(),
    ]);
    wait_for("quorum_down ran", Duration::from_secs(8), || {
        dir.0.join("quorum-down").exists()
    })
    .await;
    wait_for("both out of the table", Duration::from_secs(3), || {
        let last = batches(&dir.0).last().cloned().unwrap_or_default();
        last.contains("10.9.1.1") && !last.contains("10.9.1.2") && !last.contains("10.9.1.3")
    })
    .await;
    // Every change was applied, but never more than one batch per change.
    assert!(batches(&dir.0).len() <= 3, "{:?}", batches(&dir.0));

    let (reply, answer) = oneshot::channel();
    handle
        .sender()
        .send(LvsRequest::Status { reply })
        .await
        .unwrap();
    let status = answer.await.unwrap();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].name, "[10.9.0.100]:tcp:80");
    assert_eq!(status[0].quorum_up, Some(false));
    let rs2 = &status[0].real_servers[1];
    assert_eq!(rs2.name, "[10.9.1.2]:tcp:80");
    assert!(!rs2.up);
    assert_eq!(rs2.lb_weight, None);
    assert!(
        rs2.checkers[0]
            .last_failure
            .as_deref()
            .is_some_and(|f| f.contains("connection refused")),
        "{rs2:?}"
    );
    assert!(status[0].real_servers[0].up);

    // Stop: the table is deleted (the fake has none, so nft is asked).
    handle.stop(true, Duration::from_secs(5)).await;
    let calls = std::fs::read_to_string(dir.0.join("calls")).unwrap();
    assert!(
        calls
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("delete table inet kalive")),
        "{calls}"
    );
}

#[tokio::test]
async fn misc_dynamic_weights_reach_the_load_balancer() {
    let dir = Dir(std::env::temp_dir().join(format!("kalive-lvs-dyn-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let text = r#"global_defs {
    enable_script_security
    script_user root
}
virtual_server 10.9.0.100 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 10.9.1.1 80 {
        weight 2
        MISC_CHECK {
            misc_path "/usr/bin/true"
            misc_dynamic
        }
    }
    real_server 10.9.1.2 80 {
        weight 2
    }
}
"#;
    let system = FakeSystem::with_interfaces(&["eth0"]).file("/usr/bin/true", 0o755);
    let loaded = kalive_config::load_str(text, "t.conf", Arc::new(system));
    let plan = lower(&loaded.config, &mut script);
    let prober = Arc::new(Probes::default());
    *prober.misc_weight.lock().unwrap() = Some(7);
    let handle =
        LvsHandle::spawn_with(plan, Arc::new(FakeProber(prober.clone())), fake_nft(&dir.0))
            .unwrap();
    let sender = handle.sender();
    let lb_weights = || {
        let sender = sender.clone();
        async move {
            let (reply, answer) = oneshot::channel();
            sender.send(LvsRequest::Status { reply }).await.unwrap();
            let status = answer.await.unwrap();
            status[0]
                .real_servers
                .iter()
                .map(|r| (r.weight, r.lb_weight))
                .collect::<Vec<_>>()
        }
    };
    let start = Instant::now();
    loop {
        let w = lb_weights().await;
        if w == vec![(7, Some(7)), (2, Some(2))] {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "weights {w:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    handle.stop(true, Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_reload_adds_and_removes_virtual_servers() {
    let dir = Dir(std::env::temp_dir().join(format!("kalive-lvs-reload-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let config = |services: &[(&str, &str)]| {
        let mut text = String::new();
        for (vip, rs) in services {
            text.push_str(&format!(
                "virtual_server {vip} 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server {rs} 80 {{\n  TCP_CHECK {{\n  }}\n }}\n}}\n"
            ));
        }
        let system = FakeSystem::with_interfaces(&["eth0"]);
        let loaded = kalive_config::load_str(&text, "t.conf", Arc::new(system));
        lower(&loaded.config, &mut script)
    };
    let prober = Arc::new(Probes::default());
    let handle = LvsHandle::spawn_with(
        config(&[("10.9.0.1", "10.9.1.1")]),
        Arc::new(FakeProber(prober.clone())),
        fake_nft(&dir.0),
    )
    .unwrap();
    let sender = handle.sender();
    let names = || {
        let sender = sender.clone();
        async move {
            let (reply, answer) = oneshot::channel();
            sender.send(LvsRequest::Status { reply }).await.unwrap();
            answer
                .await
                .unwrap()
                .into_iter()
                .map(|v| v.name)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names().await, vec!["[10.9.0.1]:tcp:80"]);
    let (reply, answer) = oneshot::channel();
    sender
        .send(LvsRequest::Reload {
            plan: Box::new(config(&[("10.9.0.2", "10.9.1.2")])),
            reply,
        })
        .await
        .unwrap();
    let summary = answer.await.unwrap().expect("reload applied");
    assert!(summary.contains("1 virtual servers"), "{summary}");
    assert_eq!(names().await, vec!["[10.9.0.2]:tcp:80"]);
    wait_for(
        "the new service in the table",
        Duration::from_secs(3),
        || {
            let last = batches(&dir.0).last().cloned().unwrap_or_default();
            last.contains("10.9.1.2") && !last.contains("10.9.1.1")
        },
    )
    .await;
    handle.stop(true, Duration::from_secs(5)).await;
}
