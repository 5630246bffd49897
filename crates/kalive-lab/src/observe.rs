//! What an operator checks: which addresses a router holds (read with
//! `ip -j addr`, i.e. over netlink) and which router answers a client that
//! connects to the VIP.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Deserialize;

use crate::cmd;
use crate::error::{LabError, Result};
use crate::netns;

/// One address on one interface, as `ip -j addr` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfAddr {
    /// Interface name (`eth0`).
    pub ifname: String,
    /// The address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
}

#[derive(Deserialize)]
struct JsonLink {
    ifname: String,
    #[serde(default)]
    addr_info: Vec<JsonAddr>,
}

#[derive(Deserialize)]
struct JsonAddr {
    local: String,
    prefixlen: u8,
}

/// Every address in namespace `ns`.
pub fn addresses(ns: &str) -> Result<Vec<IfAddr>> {
    let text = cmd::ip_in(ns, &["-j", "addr", "show"])?;
    parse_addresses(&text)
}

fn parse_addresses(text: &str) -> Result<Vec<IfAddr>> {
    let links: Vec<JsonLink> = serde_json::from_str(text).map_err(|e| LabError::Parse {
        what: "ip -j addr".into(),
        detail: e.to_string(),
    })?;
    let mut out = Vec::new();
    for link in links {
        for info in link.addr_info {
            let addr = info.local.parse().map_err(|_| LabError::Parse {
                what: "address in ip -j addr".into(),
                detail: info.local.clone(),
            })?;
            out.push(IfAddr {
                ifname: link.ifname.clone(),
                addr,
                prefix_len: info.prefixlen,
            });
        }
    }
    Ok(out)
}

/// Routes of namespace `ns` in the main table, as `ip route` prints them
/// (one line each), for both families.
pub fn routes(ns: &str) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for family in ["-4", "-6"] {
        let text = cmd::ip_in(ns, &[family, "route", "show"])?;
        lines.extend(text.lines().map(str::to_string));
    }
    Ok(lines)
}

/// A TCP server in a router namespace that answers every connection with the
/// router's name and a newline. It listens on the wildcard address, so it
/// answers on whichever VIP the router holds at the moment.
pub struct Responder {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Responder {
    /// Starts answering `name` on `port` in `ns` (IPv4 and IPv6).
    pub fn start(ns: &str, name: &str, port: u16) -> Result<Responder> {
        let listener = netns::run_in(ns, move || {
            let addr = SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port));
            TcpListener::bind(addr).map_err(|e| LabError::io(format!("bind [::]:{port}"), e))
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|e| LabError::io("nonblocking listener", e))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let answer = format!("{name}\n");
        let thread = std::thread::Builder::new()
            .name(format!("responder-{name}"))
            .spawn(move || serve(listener, &answer, &flag))
            .map_err(|e| LabError::io("spawn responder", e))?;
        Ok(Responder {
            stop,
            thread: Some(thread),
        })
    }
}

fn serve(listener: TcpListener, answer: &str, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((mut stream, _)) => {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
                let _ = stream.write_all(answer.as_bytes());
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Connects from namespace `ns` to `addr:port` and returns the first line
/// received (the answering router's name), or `None` if nobody answered
/// within `timeout`.
pub fn ask(ns: &str, addr: IpAddr, port: u16, timeout: Duration) -> Result<Option<String>> {
    netns::run_in(ns, move || {
        let target = SocketAddr::new(addr, port);
        let Ok(mut stream) = TcpStream::connect_timeout(&target, timeout) else {
            return Ok(None);
        };
        let _ = stream.set_read_timeout(Some(timeout));
        let mut text = String::new();
        if stream.read_to_string(&mut text).is_err() {
            return Ok(None);
        }
        let line = text.lines().next().unwrap_or("").trim().to_string();
        Ok((!line.is_empty()).then_some(line))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ip_json_addresses() {
        let text = r#"[{"ifindex":1,"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
            {"ifindex":2,"ifname":"eth0","addr_info":[{"family":"inet","local":"10.0.0.1","prefixlen":24},
            {"family":"inet","local":"10.0.0.254","prefixlen":32},{"family":"inet6","local":"fd00::1","prefixlen":64}]},
            {"ifindex":3,"ifname":"eth1"}]"#;
        let addrs = parse_addresses(text).unwrap();
        assert_eq!(addrs.len(), 4);
        assert_eq!(addrs[2].addr, "10.0.0.254".parse::<IpAddr>().unwrap());
        assert_eq!(addrs[2].prefix_len, 32);
        assert_eq!(addrs[3].ifname, "eth0");
    }
}
