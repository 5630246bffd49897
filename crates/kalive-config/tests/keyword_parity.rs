//! Keyword-by-keyword `-t` parity with keepalived 2.2.7 for the VRRP side:
//! each snippet (a global_defs keyword, an instance keyword, or a top-level
//! block, valid and invalid uses) goes into a small complete config; the
//! config's exit code from `kalive_config::config_test` must equal
//! `/usr/sbin/keepalived -t`'s, both checked in one network namespace with
//! interfaces d0/d1 that this test creates and deletes.
//!
//! Needs root and keepalived; fails with a clear message without them.

mod netns_support;

use kalive_config::{config_test, ConfigTestOptions};
use netns_support::{require_root_and_keepalived, InNetns, Netns};
use std::path::PathBuf;
use std::sync::Arc;

/// Keywords whose verdict differs from keepalived 2.2.7's on purpose, with
/// the reason: a snippet whose first word is one of these is not compared.
/// (None at present: keywords added to keepalived after 2.2.7 are accepted
/// by kalive with a warning, so `-t` gives 2.2.7's verdict.)
const EXPECTED_DIFFERENCES: &[(&str, &str)] = &[];

/// Whole snippets that differ on purpose.
const EXPECTED_DIFFERENT_SNIPPETS: &[(&str, &str)] = &[(
    "debug",
    "the seed guide writes a bare `debug`: accepted (keepalived 2.2.7 exits 2)",
)];

const BASE: &str = "global_defs {\n@G@\n}\n@T@\nvrrp_instance VI_1 {\n interface d0\n virtual_router_id 51\n priority 100\n advert_int 1\n virtual_ipaddress {\n  10.0.0.1/24\n }\n@I@\n}\n";

const GLOBAL: &[&str] = &[
    // Extra words, users that do not exist, CPUs beyond the machine's
    // (found by sweeping keepalived 2.2.7's keyword tables).
    "startup_script /bin/true nosuchuser",
    "shutdown_script /bin/true root",
    "vrrp_cpu_affinity 0 4095",
    "checker_cpu_affinity 0",
    "checker_rlimit_rtime 1",
    "snmp_socket udp:1.2.3.4:705 x",
    "vrrp_rx_bufs_multiplier 1 2",
    "umask 0077 x",
    "reload_time_file /tmp/rt x",
    "router_id r1",
    "router_id",
    "vrrp_mcast_group4 224.0.0.19",
    "vrrp_mcast_group4 10.0.0.1",
    "vrrp_mcast_group6 ff02::13",
    "vrrp_garp_master_delay 10",
    "vrrp_garp_master_delay 0",
    "vrrp_garp_master_delay -1",
    "vrrp_garp_master_repeat 1",
    "vrrp_garp_lower_prio_delay 10",
    "vrrp_garp_lower_prio_repeat 1",
    "vrrp_garp_master_refresh 60",
    "vrrp_garp_master_refresh_repeat 2",
    "vrrp_garp_interval 0.001",
    "vrrp_garp_interval 0",
    "vrrp_gna_interval 0.000001",
    "vrrp_min_garp",
    "vrrp_min_garp true",
    "vrrp_min_garp maybe",
    "vrrp_garp_extra_if 100",
    "vrrp_garp_extra_if all 100",
    "vrrp_garp_extra_if 0",
    "vrrp_vmac_garp_intvl 10",
    "vrrp_down_timer_adverts 5",
    "vrrp_down_timer_adverts 0",
    "vrrp_lower_prio_no_advert",
    "vrrp_lower_prio_no_advert false",
    "vrrp_higher_prio_send_advert",
    "vrrp_version 3",
    "vrrp_version 4",
    "v3_checksum_as_v2",
    "vrrp_owner_ignore_adverts",
    "nftables",
    "nftables kt",
    "nftables_priority -5",
    "nftables_counters",
    "nftables_ifindex",
    "vrrp_iptables",
    "vrrp_iptables a b",
    "vrrp_ipsets",
    "disable_local_igmp",
    "vrrp_check_unicast_src",
    "vrrp_skip_check_adv_addr",
    "vrrp_strict",
    "vrrp_notify_priority_changes true",
    "max_auto_priority",
    "max_auto_priority 50",
    "max_auto_priority 200",
    "min_auto_priority_delay 1000",
    "vrrp_priority -10",
    "vrrp_priority 30",
    "checker_priority 5",
    "bfd_priority 5",
    "vrrp_no_swap",
    "checker_no_swap",
    "bfd_no_swap",
    "vrrp_cpu_affinity 0",
    "vrrp_cpu_affinity 0 1",
    "vrrp_rt_priority 50",
    "vrrp_rt_priority 100",
    "vrrp_rlimit_rttime 10000",
    "vrrp_rlimit_rtime 10000",
    "checker_rlimit_rttime 10000",
    "snmp_socket udp:1.2.3.4:705",
    "enable_snmp_vrrp",
    "enable_snmp_keepalived",
    "enable_snmp_checker",
    "enable_snmp_rfc",
    "enable_snmp_rfcv2",
    "enable_snmp_rfcv3",
    "enable_traps",
    "enable_dbus",
    "dbus_service_name x.y",
    "script_user root",
    "script_user nosuchuser",
    "script_user root root",
    "enable_script_security",
    "notify_fifo /tmp/ff",
    "vrrp_notify_fifo /tmp/ff2",
    "lvs_notify_fifo /tmp/ff3",
    "notify_fifo_script /bin/true",
    "fifo_write_vrrp_states_on_reload",
    "dynamic_interfaces",
    "dynamic_interfaces allow_if_changes",
    "vrrp_netlink_cmd_rcv_bufs 1000000",
    "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs 1000",
    "lvs_netlink_cmd_rcv_bufs 1000",
    "process_monitor_rcv_bufs 1000",
    "vrrp_rx_bufs_policy MTU",
    "vrrp_rx_bufs_policy ADVERT",
    "vrrp_rx_bufs_policy 1000",
    "vrrp_rx_bufs_multiplier 4",
    "umask 022",
    "umask IWGRP|IWOTH",
    "vrrp_startup_delay 5",
    "vrrp_delay_after_boot 5",
    "log_unknown_vrids",
    "vmac_prefix vr",
    "vmac_addr_prefix vra",
    "random_seed 5",
    "reload_check_config",
    "reload_check_config /tmp/rl",
    "reload_time_file /tmp/rt",
    "reload_repeat",
    "reload_file",
    "reload_file /tmp/rf",
    "data_use_instance",
    "state_dump_file /tmp/s",
    "stats_dump_file /tmp/s",
    "json_dump_file /tmp/j",
    "json_version 2",
    "json_version 3",
    "iproute_usr_dir /usr/lib/iproute2",
    "iproute_etc_dir /etc/iproute2",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "instance foo",
    "use_pid_dir",
    "linkbeat_use_polling",
    "child_wait_time 10",
    "tmp_config_directory /tmp",
    "config_save_dir /tmp",
    "process_names",
    "process_name kk",
    "vrrp_process_name kv",
    "checker_process_name kc",
    "lvs_process_name kc",
    "bfd_process_name kb",
    "use_symlink_paths",
    "use_symlink_paths false",
    "set_supplementary_groups",
    "startup_script /bin/true",
    "startup_script_timeout 5",
    "startup_script_timeout 0",
    "shutdown_script /bin/true",
    "shutdown_script_timeout 2000",
    "notification_email {\n a@b.c\n}",
    "notification_email {\n}",
    "notification_email_from a@b.c",
    "smtp_server 127.0.0.1",
    "smtp_server 127.0.0.1 25",
    "smtp_server 127.0.0.1 99999",
    "smtp_server localhost",
    "smtp_helo_name h",
    "smtp_connect_timeout 30",
    "smtp_connect_timeout 0",
    "smtp_alert",
    "smtp_alert_vrrp",
    "smtp_alert_checker",
    "no_email_faults",
    "checker_log_all_failures",
    "no_checker_emails",
    "rs_init_notifies",
    "default_interface d0",
    "default_interface nosuch",
    "lvs_sync_daemon d0 VI_1",
    "lvs_sync_daemon d0 VI_1 id 5 maxlen 100 port 8848 ttl 5 group 224.0.0.81",
    "lvs_sync_daemon d0 VI_X",
    "lvs_timeouts tcp 10 tcpfin 5 udp 5",
    "lvs_flush",
    "lvs_flush_on_stop",
    "lvs_flush_on_stop VS",
    "lvs_flush_onstop",
    "snmp_vs_stats_update_interval 5",
    "dbus_no_interface_name",
    "state_file_location /tmp/x",
    "include_check",
    "bogus_keyword",
];

const INSTANCE: &[&str] = &[
    // A notify line whose comment ends in a backslash: the backslash stays
    // glued to the command, and keepalived drops the script.
    " notify_master /bin/true ! comment \\",
    " notify_master /bin/true # comment \\",
    " notify_master /bin/true \\",
    " notify_master \"/bin/true arg\" ! comment \\",
    " notify_backup /bin/true",
    // Macros expanded inside a word, defined or not (issue 13).
    "$INST=abc\n notify /bin/true.${INST}.sh",
    "$INST=abc\n notify /bin/true.$INST.sh",
    " notify /bin/true.${UNDEFINED_MACRO}.sh",
    " notify \"/bin/true.${UNDEFINED_MACRO}.sh\"",
    " notify ${_PWD}/scripts/notify_all.${UNDEFINED_MACRO}.sh",
    // An unexpected block inside the instance ends it early.
    " preempt_delay 5 {\n }\n priority 5",
    "kernel_rx_buf_size 1 2",
    "kernel_rx_buf_size 65536",
    " virtual_ipaddress_excluded {\n 10.0.0.2/24 dev d0 mngtmpaddr\n }",
    " virtual_ipaddress_excluded {\n 10.0.0.3/24 dev d0 brd 10.0.0.255\n }",
    " virtual_ipaddress_excluded {\n 10.0.0.4/24 dev d0 brd -\n }",
    " virtual_ipaddress_excluded {\n 10.0.0.5/24 dev d0 scope 200\n }",
    " virtual_ipaddress_excluded {\n 10.0.0.6/24 dev d0 scope foo\n }",
    " virtual_ipaddress_excluded {\n 10.0.0.7/24 dev d0 label foo\n }",
    " virtual_ipaddress_excluded {\n 10.0.0.8/24 dev d0 preferred_lft 100\n }",
    " virtual_ipaddress_excluded {\n 10.0.0.9/24 dev d0 preferred_lft x\n }",
    " virtual_ipaddress_excluded {\n 10.0.0.10 dev d0 peer 10.0.0.11\n }",
    " virtual_routes {\n 10.5.0.0/16 via 192.168.1.254 dev d0 onlink\n }",
    " virtual_routes {\n 10.5.0.0/16 dev d0 realms 1/2\n }",
    " virtual_routes {\n 10.5.0.0/16 dev d0 rtt 10ms rttvar 5ms\n }",
    " virtual_routes {\n 10.5.0.0/16 dev d0 features ecn\n }",
    " virtual_routes {\n 10.5.0.0/16 dev d0 congctl lock cubic\n }",
    " virtual_routes {\n 10.5.0.0/16 dev d0 pref high\n }",
    " virtual_routes {\n 10.5.0.0/16 dev d0 initcwnd 10 initrwnd 10\n }",
    " virtual_routes {\n 10.5.0.0/16 dev d0 quickack 1\n }",
    " virtual_routes {\n 10.5.0.0/16 dev d0 fastopen_no_cookie 1\n }",
    " virtual_routes {\n 10.5.0.0/16 dev d0 advmss 1400 reordering 3 window 10 cwnd 10 ssthresh 10 hoplimit 64\n }",
    " virtual_routes {\n 10.5.0.0/16 dev d0 rto_min 200ms\n }",
    " virtual_routes {\n 10.5.0.0/16 dev d0 tos 0x10\n }",
    " virtual_routes {\n 10.5.0.0/16 dev d0 append\n }",
    " virtual_routes {\n unreachable 10.6.0.0/16\n }",
    " virtual_routes {\n prohibit 10.6.0.0/16\n }",
    " virtual_routes {\n throw 10.6.0.0/16 table 10\n }",
    " virtual_routes {\n local 10.6.0.1 dev d0\n }",
    " virtual_routes {\n 10.5.0.0/16 via inet6 fe80::1 dev d0\n }",
    " virtual_routes {\n 2001:db8:1::/64 via fe80::1 dev d0\n }",
    " virtual_routes {\n 10.5.0.0/16 dev d0 metric 10 proto 99\n }",
    " virtual_routes {\n 10.5.0.0/16 dev d0 scope host\n }",
    " virtual_routes {\n 10.5.0.0/16 dev d0 table 300\n }",
    " virtual_routes {\n 10.5.0.0/16 dev d0 table nosuch\n }",
    " virtual_routes {\n 10.5.0.0/16 dev d0 mtu 70000\n }",
    " virtual_routes {\n 10.5.0.0/16 nexthop via 192.168.1.2 dev d0 weight 300\n }",
    " virtual_routes {\n 10.5.0.0/16 dev d0 expires 10\n }",
    " virtual_routes {\n 10.5.0.0/16 dev d0 ttl-propagate enabled\n }",
    " virtual_routes {\n 10.5.0.0/33 dev d0\n }",
    " virtual_routes {\n 10.5.0.0/16 via 10.99.99.1 dev d0\n }",
    " virtual_rules {\n from 10.1.0.0/16 table 5 priority 10 uidrange 1000-2000\n }",
    " virtual_rules {\n from 10.1.0.0/16 table 5 priority 10 sport 1000-2000 dport 80 ipproto tcp\n }",
    " virtual_rules {\n from 10.1.0.0/16 table 5 priority 10 l3mdev\n }",
    " virtual_rules {\n from 10.1.0.0/16 table 5 priority 10 protocol static\n }",
    " virtual_rules {\n from 10.1.0.0/16 table 5 priority 10 suppress_prefixlength 0\n }",
    " virtual_rules {\n from 10.1.0.0/16 table 5 priority 10 realms 3\n }",
    " virtual_rules {\n from 10.1.0.0/16 priority 10 blackhole\n }",
    " virtual_rules {\n from 10.1.0.0/16 priority 10 unreachable\n }",
    " virtual_rules {\n from 10.1.0.0/16 priority 10 nop\n }",
    " virtual_rules {\n from 10.1.0.0/16 table 5 priority 10 tos 0x10\n }",
    " virtual_rules {\n from fe80::/64 table 5 priority 10\n }",
    " virtual_rules {\n from 10.1.0.0/16 table 5 priority 10 suppress_ifgroup 5\n }",
    " virtual_rules {\n from 10.1.0.0/16 table 5 priority 10 oif d0\n }",
    " virtual_rules {\n to 10.1.0.0/16 lookup 5 pref 10\n }",
    " virtual_rules {\n from 10.1.0.0/16 table 5 priority 10 fwmark 0x10\n }",
    " virtual_rules {\n from all table 5 priority 10\n }",
    " virtual_rules {\n from 10.1.0.0/16 priority 10\n }",
    " virtual_rules {\n from 10.1.0.0/16 table 5 priority 10 goto 20\n }",
    " virtual_rules {\n from 10.1.0.0/16 table 5 priority 10 bogus\n }",
    "state MASTER",
    "state BACKUP",
    "state master",
    "priority 255",
    "priority 0",
    "priority 256",
    "priority abc",
    "virtual_router_id 0",
    "virtual_router_id 256",
    "advert_int 0.5",
    "advert_int 2.5",
    "advert_int 300",
    "advert_int 0",
    "advert_int abc",
    "version 3",
    "version 3\n advert_int 0.015",
    "version 3\n advert_int 50",
    "version 2",
    "version 5",
    "use_vmac",
    "use_vmac vmx",
    "use_vmac vmx 00:00:5e:00:01:33",
    "use_vmac_addr",
    "use_vmac\n vmac_xmit_base",
    "vmac_xmit_base",
    "use_ipvlan",
    "use_ipvlan ipv1 192.168.1.7/24",
    "use_ipvlan ipv1 192.168.1.7/24 private",
    "native_ipv6",
    "dont_track_primary",
    "track_interface {\n d1\n}",
    "track_interface {\n d1 weight 10\n}",
    "track_interface {\n d1 weight 300\n}",
    "track_interface {\n d1 weight 10 reverse\n}",
    "track_interface {\n d0\n}",
    "track_interface {\n nosuch\n}",
    "mcast_src_ip 192.168.1.1",
    "mcast_src_ip 1.2.3",
    "unicast_src_ip 192.168.1.1",
    "unicast_src_ip 192.168.1.1\n unicast_peer {\n 192.168.1.2\n }",
    "unicast_peer {\n 192.168.1.2 min_ttl 5 max_ttl 200\n }",
    "unicast_peer {\n 192.168.1.999\n }",
    "unicast_peer {\n 192.168.1.2\n }\n unicast_fault_no_peer",
    "unicast_ttl 5",
    "unicast_ttl 5\n unicast_peer {\n 192.168.1.2\n }",
    "mcast_dst_ip 224.0.0.19",
    "mcast_dst_ip 10.1.1.1",
    "track_src_ip",
    "check_unicast_src",
    "old_unicast_checksum",
    "old_unicast_checksum never",
    "v3_checksum_as_v2",
    "garp_master_delay 10",
    "garp_master_repeat 1",
    "garp_lower_prio_delay 10",
    "garp_lower_prio_repeat 1",
    "garp_master_refresh 60",
    "garp_master_refresh_repeat 2",
    "garp_extra_if 10",
    "garp_extra_if all 10",
    "vmac_garp_intvl 10",
    "down_timer_adverts 5",
    "down_timer_adverts 101",
    "timer_expired_backup",
    "timer_expired_backup 200",
    "thread_timer_expired",
    "lower_prio_no_advert",
    "lower_prio_no_advert off",
    "higher_prio_send_advert",
    "owner_ignore_adverts",
    "authentication {\n auth_type PASS\n auth_pass 1234\n }",
    "authentication {\n auth_type AH\n auth_pass 1234\n }",
    "authentication {\n auth_type PASS\n auth_pass 123456789\n }",
    "authentication {\n auth_type FOO\n auth_pass 1\n }",
    "authentication {\n auth_type PASS\n }",
    "state MASTER\n authentication {\n auth_type AH\n auth_pass 1234\n }",
    "version 3\n authentication {\n auth_type PASS\n auth_pass 1234\n }",
    "virtual_ipaddress_excluded {\n 10.0.1.1/24\n fe80::5/64 dev d0\n }",
    "virtual_ipaddress {\n 10.0.0.2/24 brd 10.0.0.255 dev d1 scope link label d1:1\n }",
    "virtual_ipaddress {\n 10.0.0.3 dev d0 home -nodad noprefixroute autojoin no_track\n }",
    "virtual_ipaddress {\n 10.0.0.4 peer 10.0.0.9/32\n }",
    "virtual_ipaddress {\n 10.0.0.5 preferred_lft forever\n }",
    "virtual_ipaddress {\n 10.0.0.6 use_vmac\n }",
    "virtual_ipaddress {\n 10.0.0.7 bogusopt\n }",
    "virtual_ipaddress {\n fe80::1\n }",
    "virtual_ipaddress {\n 10.0.0.8 dev nosuch\n }",
    "virtual_ipaddress {\n 10.0.0.9 track_group tg\n }",
    "virtual_ipaddress {\n 10.0.0.9/33\n }",
    "no_virtual_ipaddress",
    "promote_secondaries",
    "virtual_routes {\n 10.5.0.0/16 via 192.168.1.254 dev d0\n }",
    "virtual_routes {\n 10.5.0.0/16 gw 192.168.1.254 dev d0\n }",
    "virtual_routes {\n blackhole 10.6.0.0/16\n }",
    "virtual_routes {\n 10.5.0.0/16 via 192.168.1.254\n }",
    "virtual_routes {\n default via 192.168.1.254 dev d0 table 100\n }",
    "virtual_routes {\n src 192.168.1.1 to 10.7.0.0/16 via 192.168.1.254 dev d0 metric 5 mtu 1400 scope link protocol static\n }",
    "virtual_routes {\n 10.8.0.0/16 dev d0 no_track\n }",
    "virtual_routes {\n 10.9.0.0/16 nexthop via 192.168.1.2 dev d0 weight 2 nexthop via 192.168.1.3 dev d1\n }",
    "virtual_routes {\n 10.5.0.0/16 via 192.168.1.254 dev d0 table main\n }",
    "virtual_routes {\n 10.5.0.0/16 via 192.168.1.254 dev d0 bogus 1\n }",
    "virtual_rules {\n from 192.168.2.0/24 table 1\n }",
    "virtual_rules {\n from 192.168.2.0/24 table 1 priority 100\n }",
    "virtual_rules {\n to 192.168.2.0/24 table 1 no_track priority 5\n }",
    "virtual_rules {\n from all fwmark 5/0xff iif d0 table 3 preference 9\n }",
    "virtual_rules {\n from 192.168.2.0/24 table 1 bogus\n }",
    "accept",
    "no_accept",
    "nopreempt",
    "preempt",
    "preempt_delay 300",
    "preempt_delay 2000",
    "state MASTER\n nopreempt",
    "state MASTER\n preempt_delay 5",
    "nopreempt\n preempt_delay 5",
    "skip_check_adv_addr",
    "skip_check_adv_addr off",
    "strict_mode",
    "strict_mode on",
    "strict_mode off",
    "debug",
    "debug 2",
    "debug 9",
    "notify_master /bin/true",
    "notify_backup \"/bin/echo a b\"",
    "notify /bin/true",
    "notify_stop /bin/true",
    "notify_deleted",
    "notify_deleted /bin/true",
    "notify_fault /nonexistent/x.sh",
    "notify_master /bin/true root",
    "notify_master /bin/true nosuchuser",
    "notify_master_rx_lower_pri /bin/true",
    "smtp_alert",
    "smtp_alert false",
    "notify_priority_changes true",
    "kernel_rx_buf_size 100000",
    "linkbeat_use_polling",
    "lvs_sync_daemon_interface d0",
    "vrf d1",
    "auth_hmac {\n key 1 hex:00112233\n }",
    "bogus_kw 1",
    "interface",
    "priority",
];

const TOP: &[&str] = &[
    // Comment lines ending in a backslash (issue 13): keepalived reads the
    // next line as it is, and the backslash as a word of its own.
    "#$SCRIPT= \\\nvrrp_script chk {\n script /bin/true\n}",
    "$D= \\\n  router_id a \\\n#$SCRIPT= \\\n  router_id b\nglobal_defs {\n $D\n}",
    "$D= \\\n  router_id a \\\n  #router_id c \\\n  router_id b\nglobal_defs {\n $D\n}",
    "global_defs {\n  notification_email {\n#  a@b \\\n  c@d\n  }\n}",
    "global_defs {\n  router_id r  #comment \\\n  vrrp_version 3\n}",
    // Blocks read as keepalived's line stream reads them.
    "global_defs {\n  reload_repeat {\n  }\n  vrrp_garp_master_delay\n}",
    "global_defs {\n  {\n  router_id r\n  }\n}\n}",
    "vrrp_script chk\n  script /bin/true\n  interval\n}",
    "track_group TG {\n  group {\n    VI_1\n  }\n}\ntrack_group TG {\n  group {\n    VI_1\n  }\n}",
    "linkbeat_interfaces {\n  d0\nvrrp_script chk {\n  script /bin/true\n}",
    "vrrp_track_process tp {\n process sshd\n process crond\n}",
    "vrrp_track_process tp {\n process sshd\n delay 0\n}",
    "vrrp_track_process tp {\n process sshd\n fork_delay 3601\n}",
    "vrrp_track_process tp {\n process sshd\n terminate_delay 0.5\n}",
    "track_file tf {\n file /tmp/tfile\n file /tmp/tfile\n}",
    "garp_group {\n interface d0\n interface d0\n}",
    "garp_group {\n interface d0\n interfaces {\n }\n}",
    "bfd_instance b1 {\n neighbor_ip 192.168.1.2\n idle_tx 1\n}",
    "bfd_instance b1 {\n neighbor_ip 192.168.1.2\n}\nbfd_instance b1 {\n ttl\n}",
    "bfd_instance b1 {\n neighbor_ip 192.168.1.2\n idle_tx 1000\n}",
    "vrrp_sync_group G {\n group {\n VI_1\n }\n group {\n VI_1\n }\n}",
    // keepalived's global keywords outside any block (install_keyword_root
    // in core/global_parser.c); inside global_defs (GLOBAL above) they are
    // unknown. A net_namespace that does not exist ends `-t` with 0.
    "instance foo",
    "instance",
    "instance a\ninstance b",
    "child_wait_time 10",
    "child_wait_time -1",
    "child_wait_time",
    "child_wait_time 5 6",
    "use_pid_dir",
    "use_pid_dir 1 2",
    "namespace_with_ipsets",
    "net_namespace_ipvs",
    "net_namespace_ipvs n1",
    "net_namespace_ipvs n1\nnet_namespace_ipvs n2",
    "linkbeat_use_polling",
    "net_namespace kalive-no-such-ns",
    "net_namespace",
    "net_namespace kalive-no-such-ns\nvrrp_instance BAD {\n interface nonexistent9\n}",
    "net_namespace kalive-no-such-ns\nglobal_defs {\n vrrp_garp_master_delay\n}",
    "net_namespace kalive-no-such-ns\nvrrp_instance BAD {\n virtual_router_id\n}",
    "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n interval 0\n}",
    "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n interval 1\n}",
    "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n interval 1.5\n}",
    "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n interval abc\n}",
    "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n timeout 0\n}",
    "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n timeout 2.5\n}",
    "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n weight 300\n}",
    "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n weight -253\n}",
    "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n weight 5 reverse\n}",
    "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n weight 5 sideways\n}",
    "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n rise 0\n}",
    "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n fall 0\n}",
    "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n rise abc\n}",
    "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n user root\n}",
    "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n user nosuch\n}",
    "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n user root root\n}",
    "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n user root nosuchgroup\n}",
    "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n init_fail\n}",
    "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n bogus 1\n}",
    "vrrp_script chk {\n script /bin/true\n interval 2\n timeout 3\n weight 10 reverse\n rise 2\n fall 3\n init_fail\n}",
    "vrrp_script chk {\n script /bin/true\n user root\n}",
    "vrrp_script chk {\n script /bin/true\n user nosuch\n}",
    "vrrp_script chk {\n interval 2\n}",
    "vrrp_script chk {\n script /bin/true\n weight 300\n}",
    "vrrp_script chk {\n script /bin/true\n interval 0\n}",
    "vrrp_script chk {\n script /bin/true\n rise 0\n}",
    "track_file tf {\n file /tmp/tfile\n weight 5\n init_file 3 overwrite\n}",
    "vrrp_track_file tf {\n file /tmp/tfile\n}",
    "track_file tf {\n weight 5\n}",
    "vrrp_track_process tp {\n process sshd\n weight 5\n quorum 2\n quorum_max 4\n delay 1\n full_command\n param_match partial\n}",
    "vrrp_track_process tp {\n weight 5\n}",
    "bfd_instance b1 {\n neighbor_ip 192.168.1.2\n source_ip 192.168.1.1\n min_rx 20\n min_tx 20\n idle_tx 1000\n multiplier 3\n passive\n ttl 200\n max_hops 5\n weight 10\n vrrp\n}",
    "bfd_instance b1 {\n neighbour_ip 192.168.1.2\n}",
    "bfd_instance b1 {\n min_rx 20\n}",
    "linkbeat_interfaces {\n d0\n d1 ETHTOOL\n}",
    "track_group tg {\n group {\n VI_1\n }\n}",
    "interface_up_down_delays {\n d0 2\n d1 1 3\n}",
    "interface_up_down_delays {\n d0 300\n}",
    "garp_group {\n garp_interval 0.1\n gna_interval 0.1\n interface d0\n}",
    "garp_group {\n garp_interval 0.1\n interfaces {\n d0\n d1\n }\n}",
    "garp_group {\n garp_interval 0.1\n}",
    "static_ipaddress {\n 192.168.5.1/24 dev d1 scope link\n}",
    "static_ipaddress {\n 192.168.5.1/24\n}",
    "static_routes {\n 10.50.0.0/16 via 192.168.1.254 dev d0\n}",
    "static_rules {\n from 10.1.0.0/16 table 5 priority 100\n}",
    "static_rules {\n from 10.1.0.0/16 table 5\n}",
    "vrrp_sync_group SG {\n group {\n VI_1\n }\n}",
    "vrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n notify_master /bin/true\n smtp_alert\n global_tracking\n}",
    "vrrp_sync_group SG {\n group {\n VI_9\n }\n}",
    "vrrp_sync_group SG {\n}",
];

/// Checks across blocks: (name, global_defs line, top-level blocks,
/// instance lines).
const CROSS: &[(&str, &str, &str, &str)] = &[
    ("sync_dupname", "", "vrrp_sync_group SG {\n group {\n VI_1\n }\n}\nvrrp_sync_group SG {\n group {\n VI_2\n }\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_g00", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n notify_master /bin/true\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_g01", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n notify_backup \"/bin/echo x\"\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_g02", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n notify /bin/true\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_g03", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n notify_stop /bin/true\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_g04", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n notify_fault /nonexistent\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_g05", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n notify_deleted\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_g06", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n smtp_alert\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_g07", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n smtp_alert no\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_g08", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n smtp_alert maybe\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_g09", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n global_tracking\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_g10", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n sync_group_tracking_weight\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_g11", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n notify_priority_changes true\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_g12", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n track_script {\n chk\n }\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_g13", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n track_script {\n chk weight 10\n }\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_g14", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n track_script {\n nosuch\n }\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_g15", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n track_interface {\n d0 weight 5\n }\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_g16", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n track_file {\n nosuch\n }\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_g17", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n bogus 1\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_g18", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n VI_9\n }\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_nameless", "", "vrrp_sync_group {\n group {\n VI_1\n }\n}", ""),
    ("rule_iif", "", "", "virtual_rules {\n from 10.1.0.0/16 iif nosuch table 5 priority 10\n }"),
    ("srule_iif", "", "static_rules {\n from 10.1.0.0/16 iif nosuch table 5 priority 10\n}", ""),
    ("sroute_dev", "", "static_routes {\n 10.9.0.0/16 dev nosuch\n}", ""),
    ("sroute_nodev", "", "static_routes {\n 10.9.0.0/16 via 192.168.1.5\n}", ""),
    ("garp_if", "", "garp_group {\n garp_interval 0.1\n interface nosuch\n}", ""),
    ("linkbeat_if", "", "linkbeat_interfaces {\n nosuch\n}", ""),
    ("updown_if", "", "interface_up_down_delays {\n nosuch 2\n}", ""),
    ("sync_track_if", "", "vrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n track_interface {\n nosuch\n }\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("sync_member_weighted_script", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/1\"\n weight 5\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", " track_script {\n chk\n }"),
    ("sync_group_tracks_script", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/1\"\n weight 5\n}\nvrrp_sync_group SG {\n group {\n VI_1\n VI_2\n }\n track_script {\n chk\n }\n}\nvrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("owner_weighted_script", "", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/1\"\n weight 5\n}", " priority 255\n track_script {\n chk\n }"),
    ("duplicate_vrid", "", "vrrp_instance VI_2 {\n interface d0\n virtual_router_id 51\n virtual_ipaddress {\n 10.0.2.1\n }\n}", ""),
    ("duplicate_vrid_other_family", "", "vrrp_instance VI_2 {\n interface d0\n virtual_router_id 51\n virtual_ipaddress {\n fe80::7\n }\n}", ""),
    ("ipv6_global_vip", "", "vrrp_instance VI_2 {\n interface d0\n virtual_router_id 52\n virtual_ipaddress {\n 2001:db8::7\n }\n}", ""),
    ("mixed_family_vips", "", "", " virtual_ipaddress {\n fe80::9\n }"),
    ("script_file_missing", "", "vrrp_script chk {\n script /nonexistent/chk.sh\n}", " track_script {\n chk\n }"),
    ("strict", "vrrp_strict", "", ""),
    ("strict_auth", "vrrp_strict", "", " authentication {\n auth_type PASS\n auth_pass 1\n }"),
    ("strict_unicast", "vrrp_strict", "", " unicast_peer {\n 192.168.1.2\n }"),
    ("v3_without_vips_elsewhere", "vrrp_version 3", "", ""),
    ("owner_nopreempt", "", "", " priority 255\n nopreempt"),
    ("single_member_group", "", "vrrp_sync_group SG {\n group {\n VI_1\n }\n}", ""),
    ("instance_in_two_groups", "", "vrrp_sync_group SG {\n group {\n VI_1\n }\n}\nvrrp_sync_group SG2 {\n group {\n VI_1\n }\n}", ""),
    ("track_file_missing_file", "", "track_file tf {\n file /nonexistent/tf\n}", " track_file {\n tf\n }"),
    ("notify_bad_user", "", "", " notify_master \"/bin/true\" nosuchuser"),
    ("vmac_unicast", "", "", " use_vmac\n unicast_peer {\n 192.168.1.2\n }"),
    ("unicast_without_src", "", "", " unicast_peer {\n 192.168.1.2\n }"),
    ("unicast_peer_other_family", "", "", " unicast_peer {\n 2001:db8::2\n }"),
];

/// 300 VIPs: more than an advert carries.
fn many_vips() -> String {
    let mut s = String::from(" virtual_ipaddress {\n");
    for i in 0..300 {
        s.push_str(&format!(" 10.3.{}.{}\n", i / 200, i % 200 + 1));
    }
    s.push_str(" }");
    s
}

/// The config with exactly these parts.
fn raw_config(global: &str, top: &str, instance: &str) -> String {
    BASE.replace("@G@", global)
        .replace("@T@", top)
        .replace("@I@", instance)
}

/// The config for one snippet; a top-level tracker is tracked by VI_1 and a
/// snippet naming VI_2 gets that instance defined.
fn config_for(global: &str, top: &str, instance: &str) -> String {
    let mut top = top.to_string();
    let mut instance = instance.to_string();
    if top.contains("VI_2") {
        top.push_str("vrrp_instance VI_2 {\n interface d1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.2.1\n }\n}\n");
    }
    let tracked = [
        ("vrrp_script", " track_script {\n  chk\n }"),
        ("track_file", " track_file {\n  tf\n }"),
        ("vrrp_track_file", " track_file {\n  tf\n }"),
        ("vrrp_track_process", " track_process {\n  tp\n }"),
        ("bfd_instance", " track_bfd {\n  b1\n }"),
    ];
    if let Some((_, t)) = tracked.iter().find(|(k, _)| top.starts_with(k)) {
        instance = t.to_string();
    }
    BASE.replace("@G@", global)
        .replace("@T@", &top)
        .replace("@I@", &instance)
}

fn expected_difference(snippet: &str) -> bool {
    let first = snippet.split_whitespace().next().unwrap_or("");
    EXPECTED_DIFFERENCES.iter().any(|(k, _)| *k == first)
        || EXPECTED_DIFFERENT_SNIPPETS
            .iter()
            .any(|(k, _)| *k == snippet)
}

/// The difference between keepalived's and our verdict on one case file,
/// if any (and not expected).
fn compare_case(
    ns: &Netns,
    sys: &Arc<InNetns>,
    snippet: &str,
    file: &std::path::Path,
) -> Option<String> {
    let theirs = ns.keepalived_verdict(file);
    let ours = config_test(&ConfigTestOptions {
        config_file: file.to_path_buf(),
        system: sys.clone(),
        ..ConfigTestOptions::default()
    });
    if theirs == ours.exit_code || expected_difference(snippet) {
        return None;
    }
    let first: Vec<String> = ours
        .diagnostics
        .iter()
        .take(2)
        .map(|d| d.to_string())
        .collect();
    Some(format!(
        "{snippet:?}: keepalived {theirs}, kalive {} {first:?}",
        ours.exit_code
    ))
}

#[test]
fn every_vrrp_side_keyword_gets_keepalived_verdict() {
    require_root_and_keepalived();
    let dir = tempfile::tempdir().expect("tempdir");
    // track_file's file must exist for both.
    let tfile = dir.path().join("tfile");
    std::fs::write(&tfile, "x").expect("track file");
    let ns = Netns::with_veth("k");
    let sys = Arc::new(ns.system());
    let cases = GLOBAL
        .iter()
        .map(|g| (*g, config_for(g, "", "")))
        .chain(INSTANCE.iter().map(|i| (*i, config_for("", "", i))))
        .chain(TOP.iter().map(|t| (*t, config_for("", t, ""))))
        .chain(CROSS.iter().map(|(n, g, t, i)| (*n, raw_config(g, t, i))))
        .chain(std::iter::once((
            "many_vips",
            raw_config("", "", &many_vips()),
        )));
    let cases: Vec<(&str, PathBuf)> = cases
        .enumerate()
        .map(|(n, (snippet, text))| {
            let file = dir.path().join(format!("{n:03}.conf"));
            let text = text.replace("/tmp/tfile", &tfile.to_string_lossy());
            std::fs::write(&file, &text).expect("write case");
            (snippet, file)
        })
        .collect();
    // Each keepalived run is mostly start-up latency: a few workers make
    // the 370 cases take a few seconds instead of ~25.
    let workers = 4;
    let per_worker = cases.len().div_ceil(workers);
    let results: Vec<Option<String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .chunks(per_worker.max(1))
            .map(|chunk| {
                let (ns, sys) = (&ns, &sys);
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|(snippet, file)| compare_case(ns, sys, snippet, file))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("case worker"))
            .collect()
    });
    let checked = results.len();
    let mismatches: Vec<String> = results.into_iter().flatten().collect();
    assert!(checked > 350, "only {checked} cases ran");
    assert!(
        mismatches.is_empty(),
        "{} verdicts differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
