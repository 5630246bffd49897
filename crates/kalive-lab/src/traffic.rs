//! What a client sees during a change: a pinger that sends an echo every
//! few milliseconds and counts what came back, and a watch on a router's
//! address changes (`ip monitor address`), so a test can say "0 pings lost"
//! and "the VIP was never removed" as an operator would check them.

use std::io::Read;
use std::net::IpAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::error::{LabError, Result};

/// Echo requests and replies counted by `ping`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PingCount {
    pub sent: u32,
    pub received: u32,
}

impl PingCount {
    pub fn lost(&self) -> u32 {
        self.sent.saturating_sub(self.received)
    }
}

/// `ping -i INTERVAL TARGET` from a namespace, until stopped (or dropped:
/// then it is killed by PID).
pub struct Pinger {
    child: Option<Child>,
}

impl Pinger {
    /// Start pinging `target` from namespace `ns` every `interval`
    /// (at least 2 ms); a reply later than one second counts as lost.
    pub fn start(ns: &str, target: IpAddr, interval: Duration) -> Result<Pinger> {
        if crate::cmd::find_program("ping").is_none() {
            return Err(LabError::MissingProgram("ping".into(), "iputils-ping"));
        }
        let interval = format!(
            "{:.3}",
            interval.max(Duration::from_millis(2)).as_secs_f64()
        );
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "ping", "-n", "-q", "-W", "1", "-i"])
            .arg(&interval)
            .arg(target.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| LabError::io(format!("start ping in {ns}"), e))?;
        Ok(Pinger { child: Some(child) })
    }

    /// Stop (SIGINT, as Ctrl-C) and read ping's own summary.
    pub fn stop(mut self) -> Result<PingCount> {
        let Some(mut child) = self.child.take() else {
            return Err(LabError::Usage("pinger already stopped".into()));
        };
        // Let the replies to the last requests arrive.
        std::thread::sleep(Duration::from_millis(300));
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGINT);
        let mut text = String::new();
        if let Some(mut out) = child.stdout.take() {
            let _ = out.read_to_string(&mut text);
        }
        let _ = child.wait();
        parse_summary(&text).ok_or_else(|| LabError::Parse {
            what: "ping summary".into(),
            detail: text,
        })
    }
}

impl Drop for Pinger {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `12 packets transmitted, 11 received, ...`
fn parse_summary(text: &str) -> Option<PingCount> {
    let line = text.lines().find(|l| l.contains("packets transmitted"))?;
    let mut numbers = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(|w| w.parse::<u32>().ok());
    Some(PingCount {
        sent: numbers.next()??,
        received: numbers.next()??,
    })
}

/// `ip monitor address` in a namespace, until stopped.
pub struct AddressWatch {
    child: Option<Child>,
}

impl AddressWatch {
    pub fn start(ns: &str) -> Result<AddressWatch> {
        let child = Command::new("ip")
            .args(["-n", ns, "monitor", "address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| LabError::io(format!("start ip monitor in {ns}"), e))?;
        // ip monitor subscribes right after it starts.
        std::thread::sleep(Duration::from_millis(100));
        Ok(AddressWatch { child: Some(child) })
    }

    /// Stop and return every line seen (`Deleted ...` for a removal).
    pub fn stop(mut self) -> Vec<String> {
        let Some(mut child) = self.child.take() else {
            return Vec::new();
        };
        std::thread::sleep(Duration::from_millis(100));
        let _ = child.kill();
        let mut text = String::new();
        if let Some(mut out) = child.stdout.take() {
            let _ = out.read_to_string(&mut text);
        }
        let _ = child.wait();
        text.lines().map(str::to_string).collect()
    }
}

impl Drop for AddressWatch {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether `lines` of `ip monitor address` show `addr` being removed.
pub fn removed(lines: &[String], addr: IpAddr) -> bool {
    let needle = format!(" {addr}/");
    lines
        .iter()
        .any(|l| l.starts_with("Deleted") && l.contains(&needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pings_summary() {
        let text = "PING 10.0.0.254 (10.0.0.254) 56(84) bytes of data.\n\n--- 10.0.0.254 ping statistics ---\n150 packets transmitted, 148 received, 1.33333% packet loss, time 3003ms\n";
        assert_eq!(
            parse_summary(text),
            Some(PingCount {
                sent: 150,
                received: 148
            })
        );
        assert_eq!(parse_summary("nothing"), None);
    }

    #[test]
    fn sees_a_removal_only_of_that_address() {
        let lines = vec![
            "Deleted 2: eth0    inet 10.0.0.253/24 scope global secondary eth0".to_string(),
            "2: eth0    inet 10.0.0.254/24 scope global secondary eth0".to_string(),
        ];
        assert!(!removed(&lines, "10.0.0.254".parse().unwrap()));
        assert!(removed(&lines, "10.0.0.253".parse().unwrap()));
    }
}
