//! Script users and script files, decided once while the config is read,
//! for VRRP and LVS alike (reference §1.11).
//!
//! Users (keepalived `set_uid_gid`, `set_default_script_user`,
//! `get_default_script_user`, `notify_script_init`): a script runs as its
//! own `user [group]`, else as the default script user: the global
//! `script_user`, else `keepalived_script` if it exists, else root, except
//! that with `enable_script_security` a missing `keepalived_script` is an
//! error. User names are looked up by name only (`getpwnam`): `65534` is
//! not a user name. A script whose user cannot be set is dropped; nothing
//! falls back to root.
//!
//! Files (keepalived `check_script_secure`): the program is looked up (PATH
//! for a bare name), replaced by its real path (keeping its own file name
//! when that names the same file), must be executable by the user that will
//! run it; when that user is root, no component of the path may be
//! writable by anyone but root. The path checked is the path the daemon
//! executes ([`Script::exec_path`]): re-pointing a symlink after start
//! changes nothing.

use crate::model::vrrp::{RunAs, Script, ScriptUser};
use crate::model::Config;
use crate::parse::Ctx;
use crate::source::Span;
use crate::system::System;
use std::path::{Path, PathBuf};

// ------------------------------------------------------------------ users

/// keepalived's default script user when `script_user` is not set.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// `USER [GROUP]` from the password and group databases (keepalived
/// `set_uid_gid`); what is missing is said in keepalived's words.
pub fn lookup_user(ctx: &mut Ctx, span: &Span, u: &ScriptUser) -> Option<RunAs> {
    let Some(info) = ctx.sys.user(&u.user) else {
        ctx.note(span, format!("Script user '{}' does not exist", u.user));
        return None;
    };
    let gid = match &u.group {
        None => info.gid,
        Some(g) => match ctx.sys.group(g) {
            Some(gid) => gid,
            None => {
                ctx.note(span, format!("Script group '{g}' does not exist"));
                return None;
            }
        },
    };
    Some(RunAs::new(info.uid, gid))
}

/// The global `script_user` line: keepalived looks the user up at once;
/// when that fails, every script without its own user is dropped.
pub fn global_script_user(ctx: &mut Ctx, user: &ScriptUser, span: &Span) {
    let found = lookup_user(ctx, span, user);
    if found.is_none() {
        ctx.error(span, "Error setting global script uid/gid");
    }
    ctx.state.default_user = Some(found.ok_or(()));
}

/// The default user for scripts without their own (keepalived
/// `get_default_script_user`), looked up once: the global `script_user`,
/// else `keepalived_script` if it exists, else root; with
/// `enable_script_security` a missing `keepalived_script` is an error
/// (reported once, at the first script that needs it). `None` = failed.
pub fn default_script_user(ctx: &mut Ctx, config: &Config, span: &Span) -> Option<RunAs> {
    default_user_with(ctx, config.global_defs.enable_script_security, span)
}

fn default_user_with(ctx: &mut Ctx, script_security: bool, span: &Span) -> Option<RunAs> {
    if let Some(r) = &ctx.state.default_user {
        return r.clone().ok();
    }
    let result = match ctx.sys.user(DEFAULT_SCRIPT_USER) {
        Some(info) => Ok(RunAs::new(info.uid, info.gid)),
        None if script_security => {
            ctx.error(
                span,
                format!("Unable to set default user {DEFAULT_SCRIPT_USER} for script"),
            );
            Err(())
        }
        None => Ok(RunAs::new(0, 0)),
    };
    ctx.state.default_user = Some(result.clone());
    result.ok()
}

/// The identity of a notify-style script (notify_*, quorum_*, notify_up /
/// notify_down, fifo, startup/shutdown scripts): keepalived
/// `notify_script_init`. `kind` is keepalived's word for it ("notify",
/// "startup", ...). `None`: the script is dropped, as keepalived logs.
pub fn notify_script_identity(
    ctx: &mut Ctx,
    script_security: bool,
    script: &Script,
    kind: &str,
) -> Option<RunAs> {
    let span = script.span.clone().unwrap_or_else(unknown_span);
    let found = match &script.user {
        Some(u) => lookup_user(ctx, &span, u),
        None => default_user_with(ctx, script_security, &span),
    };
    if found.is_none() {
        let how = if script.user.is_some() {
            "Invalid user/group"
        } else {
            "Failed to set default user"
        };
        ctx.note(
            &span,
            format!("{how} for {kind} script {} - ignoring", script.program()),
        );
    }
    found
}

/// Resolve the identity of the script in `slot` (see
/// [`notify_script_identity`]); an unresolvable script is removed.
pub fn resolve_notify_slot(
    ctx: &mut Ctx,
    script_security: bool,
    slot: &mut Option<Script>,
    kind: &str,
) {
    let Some(script) = slot.as_mut() else { return };
    if script.run_as.is_some() {
        return;
    }
    let found = notify_script_identity(ctx, script_security, script, kind);
    match found {
        Some(run_as) => script.run_as = Some(run_as),
        None => *slot = None,
    }
}

/// The owner a created FIFO is given (keepalived `notify_fifo`): its own
/// `USER [GROUP]`, else the default script user. When that cannot be set
/// keepalived ignores the FIFO, and so does kalive (the path and its
/// script are removed). `prefix` is keepalived's "", "vrrp_" or "lvs_"
/// (its message reads "for vrrp_ fifo").
pub fn resolve_fifo_owner(
    ctx: &mut Ctx,
    script_security: bool,
    fifo: &mut crate::model::global::NotifyFifo,
    prefix: &str,
) {
    let Some(path) = fifo.path.clone() else {
        return;
    };
    if fifo.owner.is_some() {
        return;
    }
    let span = fifo.span.clone().unwrap_or_else(unknown_span);
    let (found, how) = match &fifo.user {
        Some(u) => (lookup_user(ctx, &span, u), "Invalid user/group"),
        None => (
            default_user_with(ctx, script_security, &span),
            "Failed to set default user",
        ),
    };
    match found {
        Some(owner) => fifo.owner = Some(owner),
        None => {
            ctx.note(
                &span,
                format!("{how} for {prefix} fifo {} - ignoring", path.display()),
            );
            fifo.path = None;
            fifo.script = None;
        }
    }
}

pub(crate) fn unknown_span() -> Span {
    Span {
        file: std::sync::Arc::new(std::path::PathBuf::new()),
        line: 0,
        col: 0,
    }
}

// ------------------------------------------------------------------ files

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

    /// keepalived `check_notify_script_secure`: the script is not run.
    pub fn refused(&self) -> bool {
        !self.system && (self.inhibit || self.not_found || !self.executable)
    }
}

/// What checking a script found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptCheck {
    pub flags: ScriptFlags,
    /// The file to execute: the path that was checked.
    pub exec_path: Option<PathBuf>,
    /// keepalived's log lines for this script (it logs them, `-t` does not
    /// count them).
    pub messages: Vec<String>,
}

fn find_in_path(sys: &dyn System, prog: &str, user: &RunAs) -> Option<PathBuf> {
    sys.path_dirs().into_iter().map(|d| d.join(prog)).find(|p| {
        sys.stat(p, true)
            .is_some_and(|i| i.is_file() && i.executable_by(user.uid, user.gid))
    })
}

fn file_name(p: &Path) -> Option<&std::ffi::OsStr> {
    p.file_name()
}

/// Check one script as `user` would run it.
pub fn check_script(
    sys: &dyn System,
    script: &Script,
    user: &RunAs,
    security: bool,
) -> ScriptCheck {
    let mut out = ScriptCheck::default();
    let prog = script.program();
    if let Some(rest) = prog.strip_prefix('<') {
        if rest.trim_start().starts_with('/') {
            out.flags.system = true;
            return out;
        }
    }
    let written = if prog.contains('/') {
        PathBuf::from(prog)
    } else {
        match find_in_path(sys, prog, user) {
            Some(p) => {
                out.messages.push(format!(
                    "WARNING - script `{prog}` resolved by path search to `{}`. Please specify full path.",
                    p.display()
                ));
                p
            }
            None => {
                out.messages
                    .push(format!("Cannot find script {prog} in path - disabling"));
                out.flags.not_found = true;
                return out;
            }
        }
    };
    let Some(real) = sys.canonicalize(&written) else {
        out.messages.push(format!(
            "Script {} cannot be accessed - No such file or directory",
            written.display()
        ));
        out.flags.not_found = true;
        return out;
    };
    // keepalived runs the real path, but keeps the script's own file name
    // when the real directory holds it as the same file (some programs
    // act on the name they are called by).
    let mut exec = real.clone();
    let mut also_check = None;
    if file_name(&written) != file_name(&real) {
        if let (Some(dir), Some(name)) = (real.parent(), file_name(&written)) {
            let own_name = dir.join(name);
            if sys.same_file(&own_name, &real) {
                exec = own_name;
                also_check = Some(real.clone());
            }
        }
    }
    let Some(info) = sys.stat(&real, true) else {
        out.messages.push(format!(
            "Unable to access script `{}` - disabling",
            exec.display()
        ));
        out.flags.not_found = true;
        return out;
    };
    out.flags.is_script = true;
    let mut needs_protection = false;
    if info.executable_by(user.uid, user.gid) {
        out.flags.executable = true;
        let setuid_root = info.uid == 0 && info.mode & 0o4100 == 0o4100;
        let setgid_root = info.gid == 0 && info.mode & 0o2010 == 0o2010;
        needs_protection = user.uid == 0 || user.gid == 0 || setuid_root || setgid_root;
    } else {
        out.messages.push(format!(
            "WARNING - script '{}' is not executable for uid:gid {}:{} - disabling.",
            exec.display(),
            user.uid,
            user.gid
        ));
    }
    if needs_protection {
        for path in std::iter::once(&exec).chain(also_check.as_ref()) {
            let (f, msg) = check_path_security(sys, path, security);
            out.flags.merge(f);
            out.messages.extend(msg);
            if f.inhibit || f.not_found {
                break;
            }
        }
    }
    out.exec_path = Some(exec);
    out
}

/// Every component of `path` must be owned by root and not group/world
/// writable (directories with the sticky bit excepted); keepalived
/// `check_security`.
fn check_path_security(
    sys: &dyn System,
    path: &Path,
    security: bool,
) -> (ScriptFlags, Option<String>) {
    let mut flags = ScriptFlags::default();
    let shown = path.display();
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
            let msg = format!("check_script_secure could not find script '{shown}' - disabling");
            return (flags, Some(msg));
        };
        let is_last = i == last;
        if (!is_last && !info.is_dir()) || (is_last && !info.is_file() && !info.is_symlink()) {
            flags.inhibit = true;
            return (
                flags,
                Some(format!("Wrong file type found in script path '{shown}'.")),
            );
        }
        let sticky_dir = info.is_dir() && info.mode & 0o1000 != 0;
        let checks_write = (info.is_dir() && !sticky_dir) || info.is_file();
        let writable = (info.gid != 0 && info.mode & 0o020 != 0) || info.mode & 0o002 != 0;
        if info.uid != 0 || (checks_write && writable) {
            flags.insecure = true;
            flags.inhibit |= security;
            let tail = if security { " - disabling" } else { "" };
            let msg = format!("Unsafe permissions found for script '{shown}'{tail}.");
            return (flags, Some(msg));
        }
    }
    (flags, None)
}

/// Check the script in `slot` as its resolved user; a script keepalived
/// would not run is removed, with keepalived's log lines as notes. Returns
/// the flags for the SECURITY VIOLATION verdict.
pub fn check_slot(ctx: &mut Ctx, slot: &mut Option<Script>, security: bool) -> ScriptFlags {
    let Some(script) = slot.as_mut() else {
        return ScriptFlags::default();
    };
    let Some(user) = script.run_as.clone() else {
        // Never resolved: not run (the resolution said why).
        *slot = None;
        return ScriptFlags::default();
    };
    let check = check_script(ctx.sys.as_ref(), script, &user, security);
    let span = script.span.clone().unwrap_or_else(unknown_span);
    for m in &check.messages {
        ctx.note(&span, m.clone());
    }
    script.exec_path = check.exec_path.clone();
    if check.flags.refused() {
        *slot = None;
    }
    check.flags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::FakeSystem;

    fn script(path: &str) -> Script {
        Script::new(vec![path.to_string(), "arg".into()], None, None)
    }

    #[test]
    fn a_symlink_runs_its_real_path_and_only_the_real_path_is_checked() {
        // /tmp/ww is world-writable without the sticky bit: anyone may
        // re-point the link there, so the link is never what runs.
        let sys = FakeSystem::with_interfaces(&[])
            .dir("/tmp/ww", 0o777)
            .file("/etc/keepalived/chk.sh", 0o755)
            .symlink("/tmp/ww/chk.sh", "/etc/keepalived/chk.sh");
        let c = check_script(&sys, &script("/tmp/ww/chk.sh"), &RunAs::new(0, 0), true);
        assert_eq!(c.exec_path, Some(PathBuf::from("/etc/keepalived/chk.sh")));
        assert!(!c.flags.refused() && !c.flags.insecure, "{c:?}");
    }

    #[test]
    fn a_link_with_another_name_keeps_its_name_when_that_is_the_same_file() {
        let sys = FakeSystem::with_interfaces(&[])
            .file("/usr/bin/busybox", 0o755)
            .symlink("/usr/bin/true", "/usr/bin/busybox")
            .symlink("/usr/local/bin/true", "/usr/bin/busybox");
        let c = check_script(
            &sys,
            &script("/usr/local/bin/true"),
            &RunAs::new(0, 0),
            true,
        );
        assert_eq!(c.exec_path, Some(PathBuf::from("/usr/bin/true")));
        let sys = FakeSystem::with_interfaces(&[])
            .file("/usr/bin/busybox", 0o755)
            .symlink("/usr/local/bin/true", "/usr/bin/busybox");
        let c = check_script(
            &sys,
            &script("/usr/local/bin/true"),
            &RunAs::new(0, 0),
            true,
        );
        assert_eq!(c.exec_path, Some(PathBuf::from("/usr/bin/busybox")));
    }

    #[test]
    fn refusals_are_said_in_keepalived_words() {
        let sys = FakeSystem::with_interfaces(&[])
            .file("/etc/keepalived/open.sh", 0o777)
            .dir("/srv/ww", 0o777)
            .file("/srv/ww/in_ww.sh", 0o755)
            .file("/etc/keepalived/noexec.sh", 0o644);
        let root = RunAs::new(0, 0);
        let c = check_script(&sys, &script("/etc/keepalived/open.sh"), &root, true);
        assert!(c.flags.refused());
        assert_eq!(
            c.messages,
            ["Unsafe permissions found for script '/etc/keepalived/open.sh' - disabling."]
        );
        let c = check_script(&sys, &script("/srv/ww/in_ww.sh"), &root, true);
        assert!(c.flags.refused());
        assert_eq!(
            c.messages,
            ["Unsafe permissions found for script '/srv/ww/in_ww.sh' - disabling."]
        );
        // Without script security it is only reported.
        let c = check_script(&sys, &script("/srv/ww/in_ww.sh"), &root, false);
        assert!(!c.flags.refused() && c.flags.insecure);
        assert_eq!(
            c.messages,
            ["Unsafe permissions found for script '/srv/ww/in_ww.sh'."]
        );
        let nobody = RunAs::new(65534, 65534);
        let c = check_script(&sys, &script("/etc/keepalived/noexec.sh"), &nobody, true);
        assert!(c.flags.refused());
        assert_eq!(
            c.messages,
            ["WARNING - script '/etc/keepalived/noexec.sh' is not executable for uid:gid 65534:65534 - disabling."]
        );
        let c = check_script(&sys, &script("nosuchprog"), &root, true);
        assert!(c.flags.refused());
        assert_eq!(
            c.messages,
            ["Cannot find script nosuchprog in path - disabling"]
        );
    }
}
