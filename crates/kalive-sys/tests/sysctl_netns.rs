//! Sysctls inside a namespace, changed and put back; and `in_netns`
//! really running in the namespace.

mod common;

use common::{require_root, Lan};
use kalive_sys::sysctl::{self, ipv4_conf};
use kalive_sys::{if_index, in_netns, SysctlSaver};

#[test]
fn saver_changes_and_restores_interface_sysctls() {
    require_root();
    let lan = Lan::new("sysctl");
    let arp_ignore = ipv4_conf("va", "arp_ignore");
    let rp_filter = ipv4_conf("va", "rp_filter");
    in_netns(&lan.a.name, || {
        let before = (
            sysctl::read(&arp_ignore).unwrap(),
            sysctl::read(&rp_filter).unwrap(),
        );
        let mut saver = SysctlSaver::new();
        saver.set(&arp_ignore, "1").unwrap();
        saver.set(&rp_filter, "2").unwrap();
        saver.set(&arp_ignore, "2").unwrap();
        assert_eq!(sysctl::read(&arp_ignore).unwrap(), "2");
        assert_eq!(sysctl::read(&rp_filter).unwrap(), "2");
        assert_eq!(
            saver.saved().len(),
            2,
            "each path saved once, with its first value"
        );
        saver.restore().unwrap();
        assert_eq!(
            (
                sysctl::read(&arp_ignore).unwrap(),
                sysctl::read(&rp_filter).unwrap()
            ),
            before
        );
    })
    .unwrap();
}

#[test]
fn saver_restores_on_drop_and_ignores_vanished_interfaces() {
    require_root();
    let lan = Lan::new("sysdrop");
    let arp_filter = ipv4_conf("va", "arp_filter");
    in_netns(&lan.a.name, || {
        let before = sysctl::read(&arp_filter).unwrap();
        {
            let mut saver = SysctlSaver::new();
            saver.set(&arp_filter, "1").unwrap();
        }
        assert_eq!(sysctl::read(&arp_filter).unwrap(), before);
    })
    .unwrap();
    let mut saver = in_netns(&lan.b.name, || {
        let mut saver = SysctlSaver::new();
        saver.set(&ipv4_conf("vb", "arp_ignore"), "1").unwrap();
        saver
    })
    .unwrap();
    common::ip(&lan.b.name, "link del vb");
    in_netns(&lan.b.name, || saver.restore()).unwrap().unwrap();
}

#[test]
fn in_netns_runs_inside_the_namespace() {
    require_root();
    let lan = Lan::new("inns");
    assert!(in_netns(&lan.a.name, || if_index("va")).unwrap().is_ok());
    assert!(in_netns(&lan.a.name, || if_index("vb")).unwrap().is_err());
    assert!(in_netns("ksys-no-such-namespace", || ()).is_err());
}

#[test]
fn vmac_sysctls_are_keepalived_s_and_all_rp_filter_is_neutralised() {
    require_root();
    let lan = Lan::new("vmacsys");
    common::ip(
        &lan.a.name,
        "link add vrrp.51 link va address 00:00:5e:00:01:33 type macvlan mode private",
    );
    in_netns(&lan.a.name, || {
        sysctl::write("ipv4/conf/all/rp_filter", "2").unwrap();
        sysctl::write("ipv4/conf/va/rp_filter", "0").unwrap();
        let mut saver = SysctlSaver::new();
        sysctl::neutralise_all_rp_filter(&mut saver).unwrap();
        sysctl::configure_vmac_v4(&mut saver, "vrrp.51", "va").unwrap();
        sysctl::set_ipv6_enabled(&mut saver, "vrrp.51", false).unwrap();
        assert_eq!(sysctl::read("ipv6/conf/vrrp.51/disable_ipv6").unwrap(), "1");
        let read = |ifname: &str, key: &str| sysctl::read(&ipv4_conf(ifname, key)).unwrap();
        assert_eq!(read("all", "rp_filter"), "0");
        assert_eq!(
            read("va", "rp_filter"),
            "2",
            "base keeps its effective filtering"
        );
        assert_eq!(read("lo", "rp_filter"), "2");
        assert_eq!(read("vrrp.51", "rp_filter"), "0");
        assert_eq!(read("vrrp.51", "arp_ignore"), "1");
        assert_eq!(read("vrrp.51", "accept_local"), "1");
        assert_eq!(
            (read("va", "arp_ignore"), read("va", "arp_filter")),
            ("1".into(), "1".into())
        );
        assert_eq!(read("va", "arp_announce"), "2");
        saver.restore().unwrap();
        assert_eq!(read("va", "arp_announce"), "0");
        assert_eq!(read("all", "rp_filter"), "2");
        assert_eq!(read("va", "rp_filter"), "0");
        assert_eq!(
            (read("va", "arp_ignore"), read("va", "arp_filter")),
            ("0".into(), "0".into())
        );
    })
    .unwrap();
}
