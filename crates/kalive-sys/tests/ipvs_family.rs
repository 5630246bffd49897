//! The IPVS transport against the running kernel, judged by ipvsadm: where
//! ipvsadm cannot initialise IPVS (the build machines' kernel has none),
//! opening the socket must give `IpvsUnavailable`, with a message that
//! says so; where it can, the family resolves and a service dump works.
//! (The guest test of kalive-lab programs a real IPVS table.)

use std::process::Command;

use kalive_sys::{IpvsSocket, SysError};

const IPVS_CMD_GET_SERVICE: u8 = 4;

#[test]
fn ipvs_socket_agrees_with_ipvsadm_about_the_kernel() {
    let ipvsadm = Command::new("ipvsadm")
        .args(["-S", "-n"])
        .output()
        .expect("ipvsadm must be installed (apt-get install ipvsadm)");
    let kernel_has_ipvs = ipvsadm.status.success();
    match IpvsSocket::open() {
        Ok(socket) => {
            assert!(
                kernel_has_ipvs,
                "family resolved but ipvsadm failed: {}",
                String::from_utf8_lossy(&ipvsadm.stderr)
            );
            assert_ne!(socket.family_id(), 0);
            socket
                .dump(IPVS_CMD_GET_SERVICE, &[])
                .expect("a service dump works");
        }
        Err(SysError::IpvsUnavailable(why)) => {
            assert!(
                !kernel_has_ipvs,
                "IPVS said unavailable ({why}) but ipvsadm works"
            );
            let text = SysError::IpvsUnavailable(why).to_string();
            assert!(text.contains("IPVS"), "{text}");
        }
        Err(other) => panic!("neither a socket nor IpvsUnavailable: {other}"),
    }
}
