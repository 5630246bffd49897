//! Script file checks as keepalived makes them at start-up (reference §1.11,
//! keepalived `check_script_secure`): the program is looked up (PATH for a
//! bare name), must exist and be executable by the user that will run it;
//! when that user is root, no component of its path may be writable by
//! anyone but root.

use crate::model::vrrp::Script;
use crate::system::{System, UserInfo};
use std::path::{Path, PathBuf};

/// Result of checking one script.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    /// A path component is writable by non-root.
    pub insecure: bool,
    /// The file was found: a script would be executed.
    pub is_script: bool,
    /// Must not be run (insecure with script security, wrong file type).
    pub inhibit: bool,
    pub not_found: bool,
    pub executable: bool,
    /// `</path` style: only tests whether a file opens, nothing is executed.
    pub system: bool,
}

impl ScriptFlags {
    pub fn merge(&mut self, o: ScriptFlags) {
        self.insecure |= o.insecure;
        self.is_script |= o.is_script;
        self.inhibit |= o.inhibit;
        self.not_found |= o.not_found;
        self.executable |= o.executable;
        self.system |= o.system;
    }
}

fn find_in_path(sys: &dyn System, prog: &str, user: &UserInfo) -> Option<PathBuf> {
    sys.path_dirs().into_iter().map(|d| d.join(prog)).find(|p| {
        sys.stat(p, true)
            .is_some_and(|i| i.is_file() && i.executable_by(user.uid, user.gid))
    })
}

/// Check one script as `user` would run it.
pub fn check_script(
    sys: &dyn System,
    script: &Script,
    user: &UserInfo,
    security: bool,
) -> ScriptFlags {
    let mut flags = ScriptFlags::default();
    let prog = script.program();
    if let Some(rest) = prog.strip_prefix('<') {
        if rest.trim_start().starts_with('/') {
            flags.system = true;
            return flags;
        }
    }
    let path = if prog.contains('/') {
        PathBuf::from(prog)
    } else {
        match find_in_path(sys, prog, user) {
            Some(p) => p,
            None => {
                flags.not_found = true;
                return flags;
            }
        }
    };
    let Some(real) = sys.canonicalize(&path) else {
        flags.not_found = true;
        return flags;
    };
    let Some(info) = sys.stat(&real, true) else {
        flags.not_found = true;
        return flags;
    };
    flags.is_script = true;
    let mut needs_protection = false;
    if info.executable_by(user.uid, user.gid) {
        flags.executable = true;
        let setuid_root = info.uid == 0 && info.mode & 0o4100 == 0o4100;
        let setgid_root = info.gid == 0 && info.mode & 0o2010 == 0o2010;
        needs_protection = user.uid == 0 || user.gid == 0 || setuid_root || setgid_root;
    }
    if needs_protection {
        // keepalived replaces the command by its realpath before checking
        // every component (so /bin -> usr/bin symlinks are not "wrong type").
        flags.merge(check_path_security(sys, &real, security));
    }
    flags
}

/// Every component of `path` must be owned by root and not group/world
/// writable (directories with the sticky bit excepted).
fn check_path_security(sys: &dyn System, path: &Path, security: bool) -> ScriptFlags {
    let mut flags = ScriptFlags::default();
    let comps: Vec<PathBuf> = path
        .ancestors()
        .map(Path::to_path_buf)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let last = comps.len().saturating_sub(1);
    for (i, c) in comps.iter().enumerate() {
        let Some(info) = sys.stat(c, false) else {
            flags.not_found = true;
            return flags;
        };
        let is_last = i == last;
        if (!is_last && !info.is_dir()) || (is_last && !info.is_file() && !info.is_symlink()) {
            flags.inhibit = true;
            return flags;
        }
        let sticky_dir = info.is_dir() && info.mode & 0o1000 != 0;
        let checks_write = (info.is_dir() && !sticky_dir) || info.is_file();
        let writable = (info.gid != 0 && info.mode & 0o020 != 0) || info.mode & 0o002 != 0;
        if info.uid != 0 || (checks_write && writable) {
            flags.insecure = true;
            flags.inhibit |= security;
            return flags;
        }
    }
    flags
}
