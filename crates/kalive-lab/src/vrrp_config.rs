//! keepalived.conf texts for lab scenarios, written as an operator would.

use std::fmt::Write as _;
use std::time::Duration;

/// One `vrrp_instance` block.
#[derive(Clone, Debug)]
pub struct Instance {
    /// Instance name.
    pub name: String,
    /// VRRP version (2 or 3).
    pub version: u8,
    /// Interface (`eth0`).
    pub interface: String,
    /// Virtual router id.
    pub vrid: u8,
    /// Base priority.
    pub priority: u8,
    /// Advert interval (v2: whole seconds; v3: centiseconds).
    pub advert_int: Duration,
    /// `virtual_ipaddress` lines (`10.0.0.254/24`, `fd00::254/64`).
    pub vips: Vec<String>,
    /// `authentication { auth_type PASS auth_pass … }` (v2 only).
    pub auth_pass: Option<String>,
    /// `nopreempt`.
    pub nopreempt: bool,
    /// `preempt_delay` in seconds.
    pub preempt_delay: Option<f64>,
    /// `unicast_src_ip` and `unicast_peer` addresses.
    pub unicast: Option<(String, Vec<String>)>,
    /// Extra lines copied into the block verbatim.
    pub extra: Vec<String>,
}

impl Instance {
    /// An instance on eth0 in state BACKUP with one VIP.
    pub fn new(version: u8, vrid: u8, priority: u8, advert_int: Duration, vip: &str) -> Self {
        Instance {
            name: format!("VI_{vrid}"),
            version,
            interface: "eth0".into(),
            vrid,
            priority,
            advert_int,
            vips: vec![vip.to_string()],
            auth_pass: None,
            nopreempt: false,
            preempt_delay: None,
            unicast: None,
            extra: Vec::new(),
        }
    }

    /// Renders the block.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "vrrp_instance {} {{", self.name);
        let _ = writeln!(s, "    state BACKUP");
        let _ = writeln!(s, "    version {}", self.version);
        let _ = writeln!(s, "    interface {}", self.interface);
        let _ = writeln!(s, "    virtual_router_id {}", self.vrid);
        let _ = writeln!(s, "    priority {}", self.priority);
        let _ = writeln!(s, "    advert_int {}", format_interval(self.advert_int));
        if self.nopreempt {
            let _ = writeln!(s, "    nopreempt");
        }
        if let Some(delay) = self.preempt_delay {
            let _ = writeln!(s, "    preempt_delay {delay}");
        }
        if let Some(pass) = &self.auth_pass {
            let _ = writeln!(
                s,
                "    authentication {{\n        auth_type PASS\n        auth_pass {pass}\n    }}"
            );
        }
        if let Some((src, peers)) = &self.unicast {
            let _ = writeln!(s, "    unicast_src_ip {src}");
            let _ = writeln!(s, "    unicast_peer {{");
            for peer in peers {
                let _ = writeln!(s, "        {peer}");
            }
            let _ = writeln!(s, "    }}");
        }
        let _ = writeln!(s, "    virtual_ipaddress {{");
        for vip in &self.vips {
            let _ = writeln!(s, "        {vip}");
        }
        let _ = writeln!(s, "    }}");
        for line in &self.extra {
            let _ = writeln!(s, "    {line}");
        }
        let _ = writeln!(s, "}}");
        s
    }
}

/// `advert_int` as keepalived reads it: `1`, `0.1`, `0.05`.
pub fn format_interval(interval: Duration) -> String {
    let cs = interval.as_millis() / 10;
    if cs % 100 == 0 {
        format!("{}", cs / 100)
    } else {
        format!("{}.{:02}", cs / 100, cs % 100)
            .trim_end_matches('0')
            .to_string()
    }
}

/// A whole config: `global_defs` with `router_id` plus the given blocks.
pub fn config(router_id: &str, blocks: &[String]) -> String {
    config_with_globals(router_id, &[], blocks)
}

/// Like [`config`], with extra `global_defs` lines.
pub fn config_with_globals(router_id: &str, globals: &[String], blocks: &[String]) -> String {
    let mut s = format!(
        "global_defs {{\n    router_id {router_id}\n    enable_script_security\n    script_user root\n"
    );
    for line in globals {
        s.push_str("    ");
        s.push_str(line);
        s.push('\n');
    }
    s.push_str("}\n");
    for block in blocks {
        s.push_str(block);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_render_like_keepalived_configs() {
        assert_eq!(format_interval(Duration::from_secs(1)), "1");
        assert_eq!(format_interval(Duration::from_millis(100)), "0.1");
        assert_eq!(format_interval(Duration::from_millis(50)), "0.05");
        assert_eq!(format_interval(Duration::from_millis(1500)), "1.5");
    }

    #[test]
    fn renders_an_instance() {
        let mut i = Instance::new(2, 51, 150, Duration::from_secs(1), "10.0.0.254/24");
        i.auth_pass = Some("secret".into());
        let text = i.render();
        assert!(text.contains("virtual_router_id 51\n"));
        assert!(text.contains("auth_pass secret\n"));
        assert!(text.contains("        10.0.0.254/24\n"));
    }
}
