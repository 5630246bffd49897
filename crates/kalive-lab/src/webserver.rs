//! Real servers for load-balancing labs: nginx in a namespace answering
//! every path with its own name, and a one-shot HTTP client.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::error::{LabError, Result};
use crate::{netns, wait};

/// An nginx process (single process: `master_process off`) in a namespace,
/// listening on `addr:80`. Killed by PID on drop.
#[derive(Debug)]
pub struct Nginx {
    child: Option<Child>,
    ns: String,
    addr: IpAddr,
    name: String,
    dir: PathBuf,
}

impl Nginx {
    /// Starts nginx in `ns` on `addr:80` answering `name\n`, with its files
    /// under `dir/nginx-<name>`, and waits (bounded) until it listens.
    pub fn start(ns: &str, dir: &Path, addr: IpAddr, name: &str) -> Result<Nginx> {
        if crate::cmd::find_program("nginx").is_none() {
            return Err(LabError::MissingProgram(
                "nginx".into(),
                "apt-get install -y nginx-light",
            ));
        }
        let dir = dir.join(format!("nginx-{name}"));
        std::fs::create_dir_all(&dir)
            .map_err(|e| LabError::io(format!("create {}", dir.display()), e))?;
        let mut server = Nginx {
            child: None,
            ns: ns.to_string(),
            addr,
            name: name.to_string(),
            dir,
        };
        server.restart()?;
        Ok(server)
    }

    fn config(&self) -> String {
        let d = self.dir.display();
        let (addr, name) = (self.addr, &self.name);
        format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log;\nevents {{ worker_connections 256; }}\n\
             http {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
             server {{\n  listen {addr}:80;\n  location / {{ return 200 \"{name}\\n\"; }}\n }}\n}}\n"
        )
    }

    /// Starts it again after [`Nginx::kill`] (no-op while it runs) and waits
    /// until it listens.
    pub fn restart(&mut self) -> Result<()> {
        if self.is_running() {
            return Ok(());
        }
        let path = self.dir.join("nginx.conf");
        std::fs::write(&path, self.config())
            .map_err(|e| LabError::io(format!("write {}", path.display()), e))?;
        // `ip netns exec` execs nginx: the child's PID is nginx's.
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns, "nginx", "-e"])
            .arg(self.dir.join("error.log"))
            .arg("-p")
            .arg(&self.dir)
            .arg("-c")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| LabError::io(format!("start nginx in {}", self.ns), e))?;
        self.child = Some(child);
        let target = SocketAddr::new(self.addr, 80);
        let ns = self.ns.clone();
        wait::wait_for(
            &format!("nginx {} to listen on {target}", self.name),
            Duration::from_secs(10),
            Duration::from_millis(100),
            || {
                let ns = ns.clone();
                let up = netns::run_in(&ns, move || {
                    Ok(TcpStream::connect_timeout(&target, Duration::from_millis(300)).is_ok())
                })?;
                Ok(up.then_some(()))
            },
        )
    }

    /// Its PID while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is alive.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGKILL by PID, and reap it.
    pub fn kill(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            // Already gone is fine: the wait below reaps it either way.
            let _ = child.kill();
            child
                .wait()
                .map_err(|e| LabError::io("wait for killed nginx", e))?;
        }
        Ok(())
    }

    /// The name it answers with.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// One `GET /` (HTTP/1.0, new connection) to `target` from namespace `ns`;
/// the trimmed body, or why there is none.
pub fn http_get(
    ns: &str,
    target: SocketAddr,
    timeout: Duration,
) -> Result<std::result::Result<String, String>> {
    netns::run_in(ns, move || {
        let fetch = || -> std::io::Result<String> {
            let mut s = TcpStream::connect_timeout(&target, timeout)?;
            s.set_read_timeout(Some(timeout))?;
            s.set_write_timeout(Some(timeout))?;
            s.write_all(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")?;
            let mut text = String::new();
            s.read_to_string(&mut text)?;
            Ok(text)
        };
        Ok(match fetch() {
            Ok(text) => text
                .split("\r\n\r\n")
                .nth(1)
                .map(|b| b.trim().to_string())
                .ok_or_else(|| "no HTTP body".to_string()),
            Err(e) => Err(e.kind().to_string()),
        })
    })
}
