//! PING_CHECK inside a network namespace this test creates: the
//! unprivileged ping-socket path (`ping_group_range` widened in that
//! namespace only) and an echo request that is dropped (timeout).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use kalive_probe::{ping_check, ConnectOptions, Detail, Outcome};
use nix::sched::{setns, CloneFlags};

/// A namespace named with our PID, deleted on drop.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Self {
        let ip = common::need("ip", "iproute2");
        let name = format!("kp-{}-{tag}", std::process::id());
        let _ = Command::new(&ip).args(["netns", "del", &name]).output();
        common::run(Command::new(&ip).args(["netns", "add", &name]));
        let ns = Netns(name);
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    fn exec(&self, args: &[&str]) {
        common::run(
            Command::new("ip")
                .args(["netns", "exec", &self.0])
                .args(args),
        );
    }

    /// Runs one ping check on a thread inside the namespace.
    fn ping(&self, target: &str, timeout: Duration) -> Outcome {
        let file = std::fs::File::open(format!("/run/netns/{}", self.0)).unwrap();
        let target = target.to_owned();
        std::thread::spawn(move || {
            setns(&file, CloneFlags::CLONE_NEWNET).unwrap();
            let opts = ConnectOptions::new(
                std::net::SocketAddr::new(target.parse().unwrap(), 0),
                timeout,
            );
            common::rt().block_on(ping_check(&opts))
        })
        .join()
        .unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

#[test]
fn ping_socket_path_and_dropped_echo() {
    let ns = Netns::new("ping");
    // Unprivileged ICMP sockets for every group, in this namespace only.
    ns.exec(&[
        "sysctl",
        "-q",
        "-w",
        "net.ipv4.ping_group_range=0 2147483647",
    ]);
    for target in ["127.0.0.1", "::1"] {
        let up = ns.ping(target, Duration::from_secs(3));
        assert!(up.success, "{target}: {up:?}");
        assert!(matches!(up.detail, Detail::Ping { .. }));
    }

    // Echo requests to 127.0.0.2 dropped: the check times out.
    let nft = common::need("nft", "nftables");
    let dir = common::TempDir::new("nft");
    let rules = dir.join("rules.nft");
    std::fs::write(
        &rules,
        "table inet kp {\n  chain input {\n    type filter hook input priority 0;\n    \
         ip daddr 127.0.0.2 icmp type echo-request drop\n  }\n}\n",
    )
    .unwrap();
    ns.exec(&[nft.to_str().unwrap(), "-f", rules.to_str().unwrap()]);
    let started = Instant::now();
    let down = ns.ping("127.0.0.2", Duration::from_millis(400));
    assert!(!down.success, "{down:?}");
    assert_eq!(
        down.reason.as_deref(),
        Some("Timeout waiting for ping reply")
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        ns.ping("127.0.0.3", Duration::from_secs(2)).success,
        "other addresses still answer"
    );
}
