//! `global_defs { ... }` (reference §1.5).

use crate::model::vrrp::{Script, ScriptUser};
use serde::Serialize;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// `smtp_server IP|NAME [PORT]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmtpServer {
    pub host: String,
    /// Default 25.
    pub port: u16,
}

/// `lvs_sync_daemon IF VI [id N] [maxlen N] [port N] [ttl N] [group IP]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LvsSyncDaemon {
    pub interface: String,
    pub vrrp_instance: String,
    pub sync_id: Option<u8>,
    pub maxlen: Option<u16>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
    pub group: Option<IpAddr>,
}

/// `lvs_timeouts [tcp N] [tcpfin N] [udp N]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct LvsTimeouts {
    pub tcp: Option<Duration>,
    pub tcpfin: Option<Duration>,
    pub udp: Option<Duration>,
}

/// `{vrrp,checker,bfd}_*` scheduling settings of one child process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ProcessSched {
    /// nice value −20..19.
    pub priority: Option<i8>,
    pub no_swap: bool,
    pub cpu_affinity: Vec<u32>,
    pub rt_priority: Option<u32>,
    pub rlimit_rttime: Option<u64>,
    pub process_name: Option<String>,
}

/// A FIFO and its optional reader script: `notify_fifo PATH [USER [GROUP]]`,
/// `notify_fifo_script CMD [USER [GROUP]]` (keepalived appends the FIFO's
/// name to the script's arguments).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct NotifyFifo {
    pub path: Option<PathBuf>,
    /// Owner of the FIFO when keepalived creates it.
    pub user: Option<ScriptUser>,
    pub script: Option<Script>,
    /// `user`, else the default script user, resolved while the config is
    /// read (`script_check::resolve_fifo_owner`); a FIFO whose owner
    /// cannot be set is dropped, as keepalived ignores it.
    #[serde(skip)]
    pub owner: Option<crate::model::vrrp::RunAs>,
    /// Where `notify_fifo` was written.
    #[serde(skip)]
    pub span: Option<crate::source::Span>,
}

/// `vrrp_rx_bufs_policy MTU|ADVERT|N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RxBufsPolicy {
    Mtu,
    Advert,
    Size(u64),
}

/// `vrrp_iptables [IN [OUT]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct IptablesChains {
    pub input: Option<String>,
    pub output: Option<String>,
}

/// `nftables [TABLE]` and friends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct NftablesSettings {
    /// Default table `keepalived`.
    pub table: Option<String>,
    pub priority: Option<i32>,
    pub counters: bool,
    pub ifindex: bool,
}

/// `global_defs`: values are keepalived's defaults unless configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GlobalDefs {
    pub router_id: Option<String>,
    pub net_namespace: Option<String>,
    pub net_namespace_ipvs: Option<String>,
    pub namespace_with_ipsets: bool,
    pub instance: Option<String>,
    pub use_pid_dir: bool,
    pub linkbeat_use_polling: bool,
    /// Default 5 s.
    pub child_wait_time: Duration,
    pub tmp_config_directory: Option<PathBuf>,
    pub config_save_dir: Option<PathBuf>,
    pub process_names: bool,
    pub process_name: Option<String>,
    pub vrrp_sched: ProcessSched,
    pub checker_sched: ProcessSched,
    pub bfd_sched: ProcessSched,
    pub use_symlink_paths: bool,
    pub set_supplementary_groups: bool,
    pub startup_script: Option<Script>,
    /// Default 10 s.
    pub startup_script_timeout: Duration,
    pub shutdown_script: Option<Script>,
    /// Default 10 s.
    pub shutdown_script_timeout: Duration,
    pub notification_email: Vec<String>,
    pub notification_email_from: Option<String>,
    pub smtp_server: Option<SmtpServer>,
    pub smtp_helo_name: Option<String>,
    /// Default 30 s.
    pub smtp_connect_timeout: Duration,
    pub smtp_alert: Option<bool>,
    pub smtp_alert_vrrp: Option<bool>,
    pub smtp_alert_checker: Option<bool>,
    pub no_email_faults: bool,
    pub checker_log_all_failures: bool,
    pub no_checker_emails: bool,
    pub rs_init_notifies: bool,
    /// Default 224.0.0.18.
    pub vrrp_mcast_group4: IpAddr,
    /// Default ff02::12.
    pub vrrp_mcast_group6: IpAddr,
    /// Default `eth0`.
    pub default_interface: Option<String>,
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    pub lvs_timeouts: LvsTimeouts,
    pub lvs_flush: bool,
    pub lvs_flush_on_stop: Option<LvsFlushOnStop>,
    /// Default 5 s (0 = no second burst).
    pub vrrp_garp_master_delay: Duration,
    /// Default 5.
    pub vrrp_garp_master_repeat: u32,
    /// Default = master delay.
    pub vrrp_garp_lower_prio_delay: Option<Duration>,
    /// Default = master repeat.
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    /// Default 0 (off).
    pub vrrp_garp_master_refresh: Duration,
    /// Default 1.
    pub vrrp_garp_master_refresh_repeat: u32,
    pub vrrp_garp_interval: Duration,
    pub vrrp_gna_interval: Duration,
    pub vrrp_min_garp: bool,
    pub vrrp_garp_extra_if: Option<crate::model::vrrp::GarpExtraIf>,
    /// 1..100, default 3.
    pub vrrp_down_timer_adverts: u32,
    pub vrrp_lower_prio_no_advert: Option<bool>,
    pub vrrp_higher_prio_send_advert: bool,
    pub vrrp_owner_ignore_adverts: Option<bool>,
    pub vrrp_version: crate::model::vrrp::VrrpVersion,
    pub v3_checksum_as_v2: bool,
    pub nftables: Option<NftablesSettings>,
    pub nftables_ipvs: Option<NftablesSettings>,
    pub nftables_ipvs_start_fwmark: Option<u32>,
    pub vrrp_iptables: Option<IptablesChains>,
    pub vrrp_ipsets: Option<Vec<String>>,
    pub disable_local_igmp: bool,
    pub vrrp_check_unicast_src: bool,
    pub vrrp_skip_check_adv_addr: bool,
    pub vrrp_strict: bool,
    pub vrrp_notify_priority_changes: bool,
    pub max_auto_priority: Option<i32>,
    pub min_auto_priority_delay: Option<Duration>,
    pub snmp_socket: Option<String>,
    pub enable_snmp_vrrp: bool,
    pub enable_snmp_checker: bool,
    pub enable_snmp_rfcv2: bool,
    pub enable_snmp_rfcv3: bool,
    pub enable_traps: bool,
    pub snmp_vs_stats_update_interval: Option<Duration>,
    pub snmp_rs_stats_update_interval: Option<Duration>,
    pub enable_dbus: bool,
    pub dbus_service_name: Option<String>,
    pub dbus_no_interface_name: bool,
    pub script_user: Option<ScriptUser>,
    pub enable_script_security: bool,
    pub notify_fifo: NotifyFifo,
    pub vrrp_notify_fifo: NotifyFifo,
    pub lvs_notify_fifo: NotifyFifo,
    pub fifo_write_vrrp_states_on_reload: bool,
    pub dynamic_interfaces: Option<DynamicInterfaces>,
    pub vrrp_rx_bufs_policy: Option<RxBufsPolicy>,
    pub vrrp_rx_bufs_multiplier: Option<u32>,
    pub umask: Option<u32>,
    pub vrrp_startup_delay: Duration,
    pub vrrp_delay_after_boot: Duration,
    pub log_unknown_vrids: bool,
    pub vmac_prefix: Option<String>,
    pub vmac_addr_prefix: Option<String>,
    pub random_seed: Option<u32>,
    pub reload_check_config: Option<Option<PathBuf>>,
    pub reload_time_file: Option<PathBuf>,
    pub reload_repeat: bool,
    pub reload_file: Option<Option<PathBuf>>,
    pub data_use_instance: bool,
    pub state_dump_file: Option<PathBuf>,
    pub stats_dump_file: Option<PathBuf>,
    pub json_dump_file: Option<PathBuf>,
    /// 1 or 2, default 1.
    pub json_version: u8,
    pub iproute_usr_dir: Option<PathBuf>,
    pub iproute_etc_dir: Option<PathBuf>,
    /// Netlink/socket buffer sizes that keepalived only passes to the kernel.
    pub netlink_buffers: Vec<(String, u64, bool)>,
}

/// `lvs_flush_on_stop [VS]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LvsFlushOnStop {
    All,
    Vs,
}

/// `dynamic_interfaces [allow_if_changes]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DynamicInterfaces {
    pub allow_if_changes: bool,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            net_namespace: None,
            net_namespace_ipvs: None,
            namespace_with_ipsets: false,
            instance: None,
            use_pid_dir: false,
            linkbeat_use_polling: false,
            child_wait_time: Duration::from_secs(5),
            tmp_config_directory: None,
            config_save_dir: None,
            process_names: false,
            process_name: None,
            vrrp_sched: ProcessSched::default(),
            checker_sched: ProcessSched::default(),
            bfd_sched: ProcessSched::default(),
            use_symlink_paths: false,
            set_supplementary_groups: false,
            startup_script: None,
            startup_script_timeout: Duration::from_secs(10),
            shutdown_script: None,
            shutdown_script_timeout: Duration::from_secs(10),
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            no_email_faults: false,
            checker_log_all_failures: false,
            no_checker_emails: false,
            rs_init_notifies: false,
            vrrp_mcast_group4: IpAddr::from([224, 0, 0, 18]),
            vrrp_mcast_group6: IpAddr::from([0xff02, 0, 0, 0, 0, 0, 0, 0x12]),
            default_interface: None,
            lvs_sync_daemon: None,
            lvs_timeouts: LvsTimeouts::default(),
            lvs_flush: false,
            lvs_flush_on_stop: None,
            vrrp_garp_master_delay: Duration::from_secs(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_garp_master_refresh: Duration::ZERO,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_interval: Duration::ZERO,
            vrrp_gna_interval: Duration::ZERO,
            vrrp_min_garp: false,
            vrrp_garp_extra_if: None,
            vrrp_down_timer_adverts: 3,
            vrrp_lower_prio_no_advert: None,
            vrrp_higher_prio_send_advert: false,
            vrrp_owner_ignore_adverts: None,
            vrrp_version: crate::model::vrrp::VrrpVersion::V2,
            v3_checksum_as_v2: false,
            nftables: None,
            nftables_ipvs: None,
            nftables_ipvs_start_fwmark: None,
            vrrp_iptables: None,
            vrrp_ipsets: None,
            disable_local_igmp: false,
            vrrp_check_unicast_src: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_strict: false,
            vrrp_notify_priority_changes: false,
            max_auto_priority: None,
            min_auto_priority_delay: None,
            snmp_socket: None,
            enable_snmp_vrrp: false,
            enable_snmp_checker: false,
            enable_snmp_rfcv2: false,
            enable_snmp_rfcv3: false,
            enable_traps: false,
            snmp_vs_stats_update_interval: None,
            snmp_rs_stats_update_interval: None,
            enable_dbus: false,
            dbus_service_name: None,
            dbus_no_interface_name: false,
            script_user: None,
            enable_script_security: false,
            notify_fifo: NotifyFifo::default(),
            vrrp_notify_fifo: NotifyFifo::default(),
            lvs_notify_fifo: NotifyFifo::default(),
            fifo_write_vrrp_states_on_reload: false,
            dynamic_interfaces: None,
            vrrp_rx_bufs_policy: None,
            vrrp_rx_bufs_multiplier: None,
            umask: None,
            vrrp_startup_delay: Duration::ZERO,
            vrrp_delay_after_boot: Duration::ZERO,
            log_unknown_vrids: false,
            vmac_prefix: None,
            vmac_addr_prefix: None,
            random_seed: None,
            reload_check_config: None,
            reload_time_file: None,
            reload_repeat: false,
            reload_file: None,
            data_use_instance: false,
            state_dump_file: None,
            stats_dump_file: None,
            json_dump_file: None,
            json_version: 1,
            iproute_usr_dir: None,
            iproute_etc_dir: None,
            netlink_buffers: Vec::new(),
        }
    }
}
