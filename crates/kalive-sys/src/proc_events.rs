//! Process events from the kernel's proc connector (`NETLINK_CONNECTOR`,
//! `CN_IDX_PROC`), and the `/proc` reads that go with them: what
//! keepalived's `vrrp_track_process` watches (reference §1.6; keepalived
//! core/track_process.c uses the same connector).
//!
//! ```ignore
//! let events = ProcEvents::open()?;             // subscribed; inside a tokio runtime
//! let pids = proc_pids();                       // then the initial /proc scan
//! let mut batch = Vec::new();
//! events.recv(&mut batch).await?;               // ProcEvent::{Fork, Exec, Comm, Exit, ...}
//! let view = read_process(pid);                 // comm, cmdline, zombie
//! ```
//!
//! The kernel sends proc events only to sockets of the initial network
//! namespace (keepalived started by `ip netns exec` fails there with
//! ECONNREFUSED and counts every process as missing). kalive opens its
//! socket on a short-lived thread that enters the initial namespace
//! (`/proc/1/ns/net`, else an ancestor's; needs CAP_SYS_ADMIN); the socket
//! keeps that namespace and is read from the caller's runtime like any
//! other.

use std::io::{self, Read};
use std::os::fd::AsRawFd;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::error::{Result, SysError};

/// `NETLINK_CONNECTOR` (linux/netlink.h).
const NETLINK_CONNECTOR: i32 = 11;
/// `CN_IDX_PROC` / `CN_VAL_PROC` (linux/connector.h).
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
/// `PROC_CN_MCAST_LISTEN` (linux/cn_proc.h).
const PROC_CN_MCAST_LISTEN: u32 = 1;
/// `NLMSG_DONE`: the type the connector expects on requests.
const NLMSG_DONE: u16 = 3;
/// Sizes of `struct nlmsghdr` and `struct cn_msg`.
const NLMSG_HDR: usize = 16;
const CN_MSG_HDR: usize = 20;
/// `struct proc_event`: what, cpu, timestamp, then the event's data.
const EVENT_DATA: usize = 16;

/// The events kalive uses (`enum proc_cn_event`, linux/cn_proc.h).
const PROC_EVENT_NONE: u32 = 0;
const PROC_EVENT_FORK: u32 = 0x0000_0001;
const PROC_EVENT_EXEC: u32 = 0x0000_0002;
const PROC_EVENT_COMM: u32 = 0x0000_0200;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;

/// One process event. Pids are thread ids, tgids process ids; a process
/// (not a thread) has `pid == tgid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcEvent {
    /// The kernel's answer to our subscription (proc events work).
    Ack,
    /// `fork()` / `clone()`: a new process when `child_pid == child_tgid`.
    Fork {
        /// The forking process.
        parent_tgid: u32,
        /// The new task's thread id.
        child_pid: u32,
        /// The new task's process id.
        child_tgid: u32,
    },
    /// `execve()`: the process has a new command line and name.
    Exec {
        /// Thread id.
        pid: u32,
        /// Process id.
        tgid: u32,
    },
    /// `prctl(PR_SET_NAME)`: the process renamed itself.
    Comm {
        /// Thread id.
        pid: u32,
        /// Process id.
        tgid: u32,
        /// The new name.
        comm: String,
    },
    /// A thread or process ended.
    Exit {
        /// Thread id.
        pid: u32,
        /// Process id.
        tgid: u32,
    },
    /// Any other event (uid, gid, sid, ptrace, coredump...).
    Other,
}

/// Decode one datagram from the connector; `None` if it is not a proc
/// event (too short, another connector index).
pub fn parse_proc_event(bytes: &[u8]) -> Option<ProcEvent> {
    let u32_at = |at: usize| -> Option<u32> {
        let b = bytes.get(at..at + 4)?;
        Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let idx = u32_at(NLMSG_HDR)?;
    let val = u32_at(NLMSG_HDR + 4)?;
    if idx != CN_IDX_PROC || val != CN_VAL_PROC {
        return None;
    }
    let event = NLMSG_HDR + CN_MSG_HDR;
    let data = event + EVENT_DATA;
    let what = u32_at(event)?;
    Some(match what {
        PROC_EVENT_NONE => ProcEvent::Ack,
        PROC_EVENT_FORK => ProcEvent::Fork {
            parent_tgid: u32_at(data + 4)?,
            child_pid: u32_at(data + 8)?,
            child_tgid: u32_at(data + 12)?,
        },
        PROC_EVENT_EXEC => ProcEvent::Exec {
            pid: u32_at(data)?,
            tgid: u32_at(data + 4)?,
        },
        PROC_EVENT_COMM => {
            let raw = bytes.get(data + 8..data + 24)?;
            let end = raw.iter().position(|b| *b == 0).unwrap_or(raw.len());
            ProcEvent::Comm {
                pid: u32_at(data)?,
                tgid: u32_at(data + 4)?,
                comm: String::from_utf8_lossy(&raw[..end]).into_owned(),
            }
        }
        PROC_EVENT_EXIT => ProcEvent::Exit {
            pid: u32_at(data)?,
            tgid: u32_at(data + 4)?,
        },
        _ => ProcEvent::Other,
    })
}

/// A subscribed proc connector socket, registered with tokio.
pub struct ProcEvents {
    fd: AsyncFd<Socket>,
}

/// What [`ProcEvents::recv`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Events were appended.
    Events,
    /// The kernel dropped events (ENOBUFS): rescan `/proc`.
    Lost,
}

impl ProcEvents {
    /// Open and subscribe, in this network namespace if proc events work
    /// here, else in the initial one (see the module docs). Must be called
    /// within a tokio runtime.
    pub fn open() -> Result<ProcEvents> {
        let socket = match open_subscribed() {
            Ok(s) => s,
            // ECONNREFUSED: no connector in this namespace.
            Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => open_elsewhere()?,
            Err(e) => return Err(SysError::io("subscribe to proc events", e)),
        };
        let fd = crate::async_socket::register(socket, Interest::READABLE)
            .map_err(|e| SysError::io("register proc events socket", e))?;
        Ok(ProcEvents { fd })
    }

    /// Wait for events and append every one queued to `out`.
    pub async fn recv(&self, out: &mut Vec<ProcEvent>) -> Result<Received> {
        let mut buf = [0u8; 4096];
        loop {
            let mut guard = self
                .fd
                .readable()
                .await
                .map_err(|e| SysError::io("wait for proc events", e))?;
            let mut got = false;
            loop {
                match guard.get_inner().read(&mut buf) {
                    Ok(n) => {
                        got = true;
                        if let Some(ev) = parse_proc_event(&buf[..n]) {
                            out.push(ev);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        guard.clear_ready();
                        break;
                    }
                    Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                        return Ok(Received::Lost);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(SysError::io("read proc events", e)),
                }
            }
            if got {
                return Ok(Received::Events);
            }
        }
    }
}

/// Subscribe from the initial network namespace: through `/proc/1/ns/net`,
/// or, where that is denied (a sandbox), through the namespace of the
/// nearest ancestor process outside ours (the shell or supervisor that ran
/// `ip netns exec`), trying each until the kernel accepts.
fn open_elsewhere() -> Result<Socket> {
    let ours = std::fs::read_link("/proc/self/ns/net").ok();
    let mut candidates = vec![String::from("/proc/1/ns/net")];
    let mut pid = std::process::id();
    for _ in 0..32 {
        match parent_of(pid) {
            Some(parent) if parent > 1 => {
                let path = format!("/proc/{parent}/ns/net");
                if std::fs::read_link(&path).ok() != ours {
                    candidates.push(path);
                }
                pid = parent;
            }
            _ => break,
        }
    }
    let mut last = None;
    for path in &candidates {
        match crate::netns::in_netns(path, open_subscribed) {
            Ok(Ok(socket)) => return Ok(socket),
            Ok(Err(e)) => {
                last = Some(SysError::io(
                    format!("subscribe to proc events in {path}"),
                    e,
                ))
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        SysError::Invalid("no network namespace with proc events reachable".into())
    }))
}

/// The parent process id, from `/proc/PID/stat` (the field after the
/// state, which follows the last ')').
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn open_subscribed() -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::from(libc::AF_NETLINK),
        Type::DGRAM.nonblocking().cloexec(),
        Some(Protocol::from(NETLINK_CONNECTOR)),
    )?;
    let addr = nix::sys::socket::NetlinkAddr::new(0, CN_IDX_PROC);
    nix::sys::socket::bind(socket.as_raw_fd(), &addr).map_err(io::Error::from)?;
    socket.set_recv_buffer_size(1 << 20)?;
    let mut msg = Vec::with_capacity(NLMSG_HDR + CN_MSG_HDR + 4);
    let len = (NLMSG_HDR + CN_MSG_HDR + 4) as u32;
    msg.extend_from_slice(&len.to_ne_bytes());
    msg.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
    msg.extend_from_slice(&0u16.to_ne_bytes()); // flags
    msg.extend_from_slice(&0u32.to_ne_bytes()); // seq
    msg.extend_from_slice(&std::process::id().to_ne_bytes());
    msg.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
    msg.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes()); // seq
    msg.extend_from_slice(&0u32.to_ne_bytes()); // ack
    msg.extend_from_slice(&4u16.to_ne_bytes()); // data length
    msg.extend_from_slice(&0u16.to_ne_bytes()); // flags
    msg.extend_from_slice(&PROC_CN_MCAST_LISTEN.to_ne_bytes());
    socket.send(&msg)?;
    Ok(socket)
}

/// What `/proc/PID` says about one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessView {
    /// `/proc/PID/comm` (at most 15 bytes, the name `ps` shows).
    pub comm: String,
    /// `/proc/PID/cmdline`: arguments, each followed by a NUL.
    pub cmdline: Vec<u8>,
    /// State `Z` in `/proc/PID/stat`.
    pub zombie: bool,
}

/// Read `/proc/PID`; `None` if the process is gone (or unreadable).
pub fn read_process(pid: u32) -> Option<ProcessView> {
    let base = format!("/proc/{pid}");
    let comm = std::fs::read_to_string(format!("{base}/comm")).ok()?;
    let cmdline = std::fs::read(format!("{base}/cmdline")).ok()?;
    let stat = std::fs::read_to_string(format!("{base}/stat")).ok()?;
    // The state follows the last ')' (the name itself may hold one).
    let zombie = stat
        .rsplit_once(')')
        .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
    Some(ProcessView {
        comm: comm.trim_end_matches('\n').to_string(),
        cmdline,
        zombie,
    })
}

/// Every process id in `/proc` (threads are not listed there).
pub fn proc_pids() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datagram(what: u32, data: &[u32], comm: Option<&str>) -> Vec<u8> {
        let mut b = vec![0u8; NLMSG_HDR];
        b.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
        b.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
        b.extend_from_slice(&[0u8; 12]);
        b.extend_from_slice(&what.to_ne_bytes());
        b.extend_from_slice(&[0u8; 12]); // cpu, timestamp
        for d in data {
            b.extend_from_slice(&d.to_ne_bytes());
        }
        if let Some(c) = comm {
            let mut raw = [0u8; 16];
            raw[..c.len()].copy_from_slice(c.as_bytes());
            b.extend_from_slice(&raw);
        }
        b
    }

    #[test]
    fn decodes_the_events_kalive_uses() {
        assert_eq!(
            parse_proc_event(&datagram(PROC_EVENT_FORK, &[10, 10, 11, 11], None)),
            Some(ProcEvent::Fork {
                parent_tgid: 10,
                child_pid: 11,
                child_tgid: 11
            })
        );
        assert_eq!(
            parse_proc_event(&datagram(PROC_EVENT_EXEC, &[7, 7], None)),
            Some(ProcEvent::Exec { pid: 7, tgid: 7 })
        );
        assert_eq!(
            parse_proc_event(&datagram(PROC_EVENT_COMM, &[7, 7], Some("nginx"))),
            Some(ProcEvent::Comm {
                pid: 7,
                tgid: 7,
                comm: "nginx".into()
            })
        );
        assert_eq!(
            parse_proc_event(&datagram(PROC_EVENT_EXIT, &[8, 7, 0, 9], None)),
            Some(ProcEvent::Exit { pid: 8, tgid: 7 })
        );
        assert_eq!(
            parse_proc_event(&datagram(PROC_EVENT_NONE, &[0], None)),
            Some(ProcEvent::Ack)
        );
        assert_eq!(parse_proc_event(&[0u8; 10]), None, "too short");
        let mut truncated = datagram(PROC_EVENT_FORK, &[10, 10, 11, 11], None);
        truncated.truncate(truncated.len() - 2);
        assert_eq!(parse_proc_event(&truncated), None);
    }

    #[test]
    fn finds_the_parent_process() {
        let parent = parent_of(std::process::id()).expect("ppid");
        assert_eq!(parent, nix::unistd::getppid().as_raw() as u32);
    }

    #[test]
    fn reads_this_process_from_proc() {
        let me = read_process(std::process::id()).expect("our own /proc entry");
        assert!(!me.zombie);
        assert!(!me.cmdline.is_empty());
        assert!(proc_pids().contains(&std::process::id()));
    }

    #[tokio::test]
    async fn sees_a_child_exec_and_exit() {
        let events = ProcEvents::open().expect("proc connector (run as root)");
        let mut child = std::process::Command::new("/bin/true")
            .spawn()
            .expect("spawn /bin/true");
        let pid = child.id();
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while !seen
            .iter()
            .any(|e| matches!(e, ProcEvent::Exit { tgid, .. } if *tgid == pid))
        {
            let r = tokio::time::timeout_at(deadline, events.recv(&mut seen)).await;
            r.expect("events within 5 s").expect("recv");
        }
        assert!(seen
            .iter()
            .any(|e| matches!(e, ProcEvent::Exec { tgid, .. } if *tgid == pid)));
        child.wait().expect("reap /bin/true");
    }
}
