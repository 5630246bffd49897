//! Sending a signal by number, real-time signals included (nix's `Signal`
//! names only the classic ones; keepalived's JSON dump is SIGRTMIN+2).

use crate::error::{Result, SysError};

/// `kill(pid, signo)`.
pub fn send(pid: u32, signo: i32) -> Result<()> {
    let pid = i32::try_from(pid).map_err(|_| SysError::Invalid(format!("pid {pid}")))?;
    if pid <= 0 {
        // 0 and negatives address process groups: never meant here.
        return Err(SysError::Invalid(format!("pid {pid}")));
    }
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::kill(pid, signo) };
    if rc == 0 {
        Ok(())
    } else {
        Err(SysError::io("kill", std::io::Error::last_os_error()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_zero_probes_a_live_process_and_process_groups_are_refused() {
        assert!(send(std::process::id(), 0).is_ok());
        assert!(send(0, 0).is_err());
        assert!(send(u32::MAX, 0).is_err());
    }
}
