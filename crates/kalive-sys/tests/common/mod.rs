//! Real-kernel test fixtures: uniquely named network namespaces joined by
//! a veth pair, removed on every exit path (Drop, panics included).
#![allow(dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Fails the test (never skips it) when not root.
pub fn require_root() {
    let euid = nix::unistd::geteuid();
    assert!(
        euid.is_root(),
        "kalive-sys kernel tests need root (network namespaces, raw sockets, netlink): \
         run `cargo test -p kalive-sys` as root (euid is {euid})"
    );
    let ip = Command::new("ip").arg("-V").output();
    assert!(
        matches!(ip, Ok(ref out) if out.status.success()),
        "kalive-sys kernel tests need iproute2's `ip` on PATH"
    );
}

/// Runs a command, panicking with its output if it fails.
pub fn run(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ip -n NS ARGS…`
pub fn ip(ns: &str, args: &str) -> String {
    let mut full = vec!["ip", "-n", ns];
    full.extend(args.split_whitespace());
    run(&full)
}

/// A network namespace named `ksys-PID-TAG-N`, deleted on drop.
pub struct Netns {
    pub name: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("ksys-{}-{tag}-{n}", std::process::id());
        run(&["ip", "netns", "add", &name]);
        let ns = Netns { name };
        // Addresses usable at once (no DAD), loopback up.
        kalive_sys::in_netns(&ns.name, || {
            kalive_sys::sysctl::write("ipv6/conf/all/accept_dad", "0")?;
            kalive_sys::sysctl::write("ipv6/conf/default/accept_dad", "0")
        })
        .and_then(|written| written)
        .expect("turn DAD off in the test namespace");
        ip(&ns.name, "link set lo up");
        ns
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

pub const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0x0a, 0x01];
pub const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0x0b, 0x01];
pub const ADDR_A: &str = "10.201.0.1";
pub const ADDR_B: &str = "10.201.0.2";
pub const ADDR6_A: &str = "fd00:201::1";
pub const ADDR6_B: &str = "fd00:201::2";
/// Link-local address derived from MAC_A (EUI-64).
pub const LL_A: &str = "fe80::ff:fe00:a01";

/// Two namespaces, `a` with interface `va` and `b` with `vb`, joined by a
/// veth pair, both up with 10.201.0.{1,2}/24 and fd00:201::{1,2}/64.
pub struct Lan {
    pub a: Netns,
    pub b: Netns,
}

impl Lan {
    pub fn new(tag: &str) -> Lan {
        let a = Netns::new(&format!("{tag}a"));
        let b = Netns::new(&format!("{tag}b"));
        run(&[
            "ip",
            "link",
            "add",
            "va",
            "netns",
            &a.name,
            "address",
            "02:00:00:00:0a:01",
            "type",
            "veth",
            "peer",
            "name",
            "vb",
            "netns",
            &b.name,
            "address",
            "02:00:00:00:0b:01",
        ]);
        ip(&a.name, &format!("addr add {ADDR_A}/24 dev va"));
        ip(&b.name, &format!("addr add {ADDR_B}/24 dev vb"));
        ip(&a.name, &format!("addr add {ADDR6_A}/64 dev va nodad"));
        ip(&b.name, &format!("addr add {ADDR6_B}/64 dev vb nodad"));
        ip(&a.name, "link set va up");
        ip(&b.name, "link set vb up");
        let lan = Lan { a, b };
        // The link-local addresses appear when the kernel's link watcher
        // sees the carrier, which may lag `link set up` by up to a second.
        wait_for_link_local(&lan.a.name, "va");
        wait_for_link_local(&lan.b.name, "vb");
        lan
    }
}

/// Polls (bounded: 5 s) until `ifname` in `ns` has a link-local address.
pub fn wait_for_link_local(ns: &str, ifname: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if ip(ns, &format!("-6 addr show dev {ifname} scope link")).contains("inet6 fe80::") {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("{ifname} in {ns} got no link-local address within 5 s");
}

/// A packet socket in `ns` receiving every frame of one ethertype.
pub fn sniffer(ns: &str, ethertype: u16) -> socket2::Socket {
    use socket2::{Domain, Protocol, Socket, Type};
    kalive_sys::in_netns(ns, move || {
        let protocol = Protocol::from(i32::from(ethertype.to_be()));
        let socket = Socket::new(Domain::PACKET, Type::RAW, Some(protocol)).expect("packet socket");
        socket
            .set_read_timeout(Some(std::time::Duration::from_millis(200)))
            .expect("read timeout");
        socket
    })
    .expect("enter netns")
}

/// Reads frames (bounded: 3 s) until one satisfies `wanted`.
pub fn wait_for_frame_matching(
    sniffer: &socket2::Socket,
    wanted: impl Fn(&[u8]) -> bool,
) -> Vec<u8> {
    use std::io::Read;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let mut buf = [0u8; 2048];
    while std::time::Instant::now() < deadline {
        let mut reader = sniffer;
        if let Ok(len) = reader.read(&mut buf) {
            if wanted(&buf[..len]) {
                return buf[..len].to_vec();
            }
        }
    }
    panic!("expected frame not seen within 3 s");
}
