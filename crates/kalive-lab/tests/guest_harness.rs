//! The guest harness's own promises: a script that does not finish is
//! killed at the time bound and reported as such (QEMU gone, by PID), and
//! a script's exit status comes back. Needs root and the guest packages
//! (qemu-system-x86 linux-image-amd64 busybox-static cpio xz-utils).

use std::time::{Duration, Instant};

use kalive_lab::guest::{self, GuestSpec};

#[test]
fn a_hanging_script_is_killed_at_the_bound_and_reported() {
    let out = format!("/tmp/kalive-guest-harness-{}", std::process::id());
    let started = Instant::now();
    let bound = Duration::from_secs(40);
    let result = guest::run(&GuestSpec {
        timeout: bound,
        memory_mib: 256,
        ..GuestSpec::new("echo before-hang > marker.txt; sleep 100000\n", &out)
    });
    let elapsed = started.elapsed();
    let marker = std::fs::read_to_string(format!("{out}/marker.txt")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&out);
    let err = match result {
        Ok(run) => panic!("a hanging script returned {run:?}"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("did not finish"), "{err}");
    assert_eq!(marker.trim(), "before-hang", "the output share works");
    // Bound plus the time to kill QEMU and collect its output.
    assert!(elapsed < bound + Duration::from_secs(20), "{elapsed:?}");
}

#[test]
fn a_guest_that_cannot_boot_is_an_error_with_its_console() {
    let out = format!("/tmp/kalive-guest-noboot-{}", std::process::id());
    // No such init: the kernel panics, panic=-1 reboots, -no-reboot ends QEMU.
    let result = guest::run(&GuestSpec {
        timeout: Duration::from_secs(60),
        memory_mib: 256,
        kernel_args: "rdinit=/no-such-init".into(),
        ..GuestSpec::new("exit 0\n", &out)
    });
    let _ = std::fs::remove_dir_all(&out);
    let err = match result {
        Ok(run) => panic!("a guest without init ran: {run:?}"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("did not boot"), "{err}");
    assert!(err.contains("init"), "the console is shown: {err}");
}
