//! What validation needs to know about the machine: interfaces, users,
//! groups, files. keepalived checks these while reading the config (reference
//! §1.11 and the `-t` section of §1.2), so the library asks through this
//! trait; [`HostSystem`] answers from the current network namespace and
//! filesystem, tests use a fake.

use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A user from the password database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub uid: u32,
    pub gid: u32,
}

/// What keepalived looks at when it checks a script file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileInfo {
    pub uid: u32,
    pub gid: u32,
    /// st_mode (type and permission bits).
    pub mode: u32,
}

impl FileInfo {
    pub fn is_dir(&self) -> bool {
        self.mode & 0o170000 == 0o040000
    }
    pub fn is_file(&self) -> bool {
        self.mode & 0o170000 == 0o100000
    }
    pub fn is_symlink(&self) -> bool {
        self.mode & 0o170000 == 0o120000
    }
    /// Executable for uid:gid, as `access(X_OK)` under that identity would say.
    pub fn executable_by(&self, uid: u32, gid: u32) -> bool {
        if uid == 0 {
            return self.mode & 0o111 != 0;
        }
        if self.uid == uid {
            self.mode & 0o100 != 0
        } else if self.gid == gid {
            self.mode & 0o010 != 0
        } else {
            self.mode & 0o001 != 0
        }
    }
}

pub trait System {
    /// Does a network interface of this name exist (in our netns)?
    fn interface_exists(&self, name: &str) -> bool;
    /// getpwnam.
    fn user(&self, name: &str) -> Option<UserInfo>;
    /// getgrnam: the gid.
    fn group(&self, name: &str) -> Option<u32>;
    /// stat (following symlinks when `follow`).
    fn stat(&self, path: &Path, follow: bool) -> Option<FileInfo>;
    /// realpath.
    fn canonicalize(&self, path: &Path) -> Option<PathBuf>;
    /// The directories of PATH, for bare script names.
    fn path_dirs(&self) -> Vec<PathBuf>;
    /// Do both paths name the same file (keepalived compares device and
    /// inode when it keeps a script's own file name, reference §1.11)?
    fn same_file(&self, a: &Path, b: &Path) -> bool {
        let ca = self.canonicalize(a);
        ca.is_some() && ca == self.canonicalize(b)
    }
    /// Is this address configured on one of our interfaces? (keepalived
    /// finds an interface-less unicast instance's interface this way.)
    fn address_is_local(&self, addr: &IpAddr) -> bool {
        let _ = addr;
        false
    }
    /// Does this host name resolve (keepalived resolves `smtp_server`
    /// while reading the config)?
    fn resolves(&self, name: &str) -> bool {
        let _ = name;
        false
    }
}

/// Remembers interface and user look-ups for the time one config is read:
/// a config names the same few interfaces and users thousands of times, and
/// each look-up on the host is a file-system walk or a read of
/// `/etc/passwd`. The machine does not change while keepalived reads its
/// config either (it looks each up then, once).
pub struct CachedSystem {
    inner: std::sync::Arc<dyn System + Send + Sync>,
    interfaces: std::sync::Mutex<std::collections::HashMap<String, bool>>,
    users: std::sync::Mutex<std::collections::HashMap<String, Option<UserInfo>>>,
}

impl CachedSystem {
    pub fn new(inner: std::sync::Arc<dyn System + Send + Sync>) -> Self {
        CachedSystem {
            inner,
            interfaces: Default::default(),
            users: Default::default(),
        }
    }
}

impl System for CachedSystem {
    fn interface_exists(&self, name: &str) -> bool {
        let Ok(mut cache) = self.interfaces.lock() else {
            return self.inner.interface_exists(name);
        };
        if let Some(&known) = cache.get(name) {
            return known;
        }
        let found = self.inner.interface_exists(name);
        cache.insert(name.to_string(), found);
        found
    }
    fn user(&self, name: &str) -> Option<UserInfo> {
        let Ok(mut cache) = self.users.lock() else {
            return self.inner.user(name);
        };
        if let Some(known) = cache.get(name) {
            return known.clone();
        }
        let found = self.inner.user(name);
        cache.insert(name.to_string(), found.clone());
        found
    }
    fn group(&self, name: &str) -> Option<u32> {
        self.inner.group(name)
    }
    fn stat(&self, path: &Path, follow: bool) -> Option<FileInfo> {
        self.inner.stat(path, follow)
    }
    fn canonicalize(&self, path: &Path) -> Option<PathBuf> {
        self.inner.canonicalize(path)
    }
    fn path_dirs(&self) -> Vec<PathBuf> {
        self.inner.path_dirs()
    }
    fn same_file(&self, a: &Path, b: &Path) -> bool {
        self.inner.same_file(a, b)
    }
    fn address_is_local(&self, addr: &IpAddr) -> bool {
        self.inner.address_is_local(addr)
    }
    fn resolves(&self, name: &str) -> bool {
        self.inner.resolves(name)
    }
}

/// The real machine: `/sys/class/net`, `/etc/passwd`, `/etc/group`, stat.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostSystem;

fn db_lookup(file: &str, name: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(':').map(str::to_string).collect::<Vec<_>>())
        .find(|f| f.first().is_some_and(|n| n == name))
}

impl System for HostSystem {
    fn interface_exists(&self, name: &str) -> bool {
        !name.is_empty()
            && !name.contains('/')
            && name != "."
            && name != ".."
            && Path::new("/sys/class/net").join(name).exists()
    }
    fn user(&self, name: &str) -> Option<UserInfo> {
        let f = db_lookup("/etc/passwd", name)?;
        Some(UserInfo {
            uid: f.get(2)?.parse().ok()?,
            gid: f.get(3)?.parse().ok()?,
        })
    }
    fn group(&self, name: &str) -> Option<u32> {
        db_lookup("/etc/group", name)?.get(2)?.parse().ok()
    }
    fn stat(&self, path: &Path, follow: bool) -> Option<FileInfo> {
        let m = if follow {
            std::fs::metadata(path)
        } else {
            std::fs::symlink_metadata(path)
        }
        .ok()?;
        Some(FileInfo {
            uid: m.uid(),
            gid: m.gid(),
            mode: m.mode(),
        })
    }
    fn canonicalize(&self, path: &Path) -> Option<PathBuf> {
        std::fs::canonicalize(path).ok()
    }
    fn same_file(&self, a: &Path, b: &Path) -> bool {
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    fn resolves(&self, name: &str) -> bool {
        use std::net::ToSocketAddrs;
        (name, 25u16)
            .to_socket_addrs()
            .is_ok_and(|mut a| a.next().is_some())
    }
    fn address_is_local(&self, addr: &IpAddr) -> bool {
        match addr {
            IpAddr::V6(a) => {
                let hex: String = a.octets().iter().map(|b| format!("{b:02x}")).collect();
                std::fs::read_to_string("/proc/net/if_inet6")
                    .map(|t| t.lines().any(|l| l.starts_with(&hex)))
                    .unwrap_or(false)
            }
            IpAddr::V4(a) => {
                // fib_trie lists each local address as "|-- A.B.C.D" followed
                // by "/32 host LOCAL".
                let Ok(t) = std::fs::read_to_string("/proc/net/fib_trie") else {
                    return false;
                };
                let want = format!("|-- {a}");
                let lines: Vec<&str> = t.lines().collect();
                lines
                    .windows(2)
                    .any(|w| w[0].trim_start().ends_with(&want) && w[1].contains("/32 host LOCAL"))
            }
        }
    }
    fn path_dirs(&self) -> Vec<PathBuf> {
        // keepalived searches the PATH it was started with, falling back
        // to the usual system directories.
        let path = std::env::var("PATH").unwrap_or_else(|_| {
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()
        });
        std::env::split_paths(&path).collect()
    }
}

/// A machine described by hand, for tests: the interfaces, users, groups and
/// files listed exist; nothing else does. Files are looked up by exact
/// path; every parent directory of a listed file exists, owned by root and
/// not writable by others unless listed itself (see [`FakeSystem::dir`]).
/// A symlink (see [`FakeSystem::symlink`]) is a whole path that resolves to
/// another listed path.
#[derive(Debug, Clone, Default)]
pub struct FakeSystem {
    pub interfaces: Vec<String>,
    pub users: Vec<(String, UserInfo)>,
    pub groups: Vec<(String, u32)>,
    pub files: Vec<(PathBuf, FileInfo)>,
    pub path: Vec<PathBuf>,
    pub local_addresses: Vec<IpAddr>,
    /// Host names that resolve.
    pub hosts: Vec<String>,
    /// (link, target): `link` is a symlink to `target`.
    pub symlinks: Vec<(PathBuf, PathBuf)>,
}

impl FakeSystem {
    /// A machine with `root` and these interfaces.
    pub fn with_interfaces(names: &[&str]) -> Self {
        FakeSystem {
            interfaces: names.iter().map(|s| s.to_string()).collect(),
            users: vec![("root".into(), UserInfo { uid: 0, gid: 0 })],
            groups: vec![("root".into(), 0)],
            path: vec![PathBuf::from("/usr/bin"), PathBuf::from("/bin")],
            ..FakeSystem::default()
        }
    }
    /// Add a user (its group of the same name too).
    pub fn user(mut self, name: &str, uid: u32) -> Self {
        self.users.push((name.into(), UserInfo { uid, gid: uid }));
        self.groups.push((name.into(), uid));
        self
    }
    /// Add a root-owned file with these permission bits (e.g. 0o755).
    pub fn file(mut self, path: &str, perm: u32) -> Self {
        self.files.push((
            PathBuf::from(path),
            FileInfo {
                uid: 0,
                gid: 0,
                mode: 0o100000 | perm,
            },
        ));
        self
    }
    /// Add a directory with these permission bits (e.g. 0o777), owned by root.
    pub fn dir(mut self, path: &str, perm: u32) -> Self {
        self.files.push((
            PathBuf::from(path),
            FileInfo {
                uid: 0,
                gid: 0,
                mode: 0o040000 | perm,
            },
        ));
        self
    }
    /// Add a root-owned symlink `link` -> `target` (a listed file).
    pub fn symlink(mut self, link: &str, target: &str) -> Self {
        self.symlinks
            .push((PathBuf::from(link), PathBuf::from(target)));
        self
    }
    fn link_target(&self, path: &Path) -> Option<&PathBuf> {
        self.symlinks
            .iter()
            .find(|(l, _)| l == path)
            .map(|(_, t)| t)
    }
}

impl System for FakeSystem {
    fn interface_exists(&self, name: &str) -> bool {
        self.interfaces.iter().any(|i| i == name)
    }
    fn user(&self, name: &str) -> Option<UserInfo> {
        self.users
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, u)| u.clone())
    }
    fn group(&self, name: &str) -> Option<u32> {
        self.groups.iter().find(|(n, _)| n == name).map(|(_, g)| *g)
    }
    fn stat(&self, path: &Path, follow: bool) -> Option<FileInfo> {
        if let Some(target) = self.link_target(path) {
            if follow {
                return self.stat(&target.clone(), true);
            }
            return Some(FileInfo {
                uid: 0,
                gid: 0,
                mode: 0o120777,
            });
        }
        if let Some((_, f)) = self.files.iter().find(|(p, _)| p == path) {
            return Some(*f);
        }
        self.files
            .iter()
            .map(|(p, _)| p)
            .chain(self.symlinks.iter().map(|(l, _)| l))
            .any(|p| p.starts_with(path))
            .then_some(FileInfo {
                uid: 0,
                gid: 0,
                mode: 0o040755,
            })
    }
    fn canonicalize(&self, path: &Path) -> Option<PathBuf> {
        if let Some(target) = self.link_target(path) {
            return self.canonicalize(&target.clone());
        }
        self.stat(path, true).map(|_| path.to_path_buf())
    }
    fn path_dirs(&self) -> Vec<PathBuf> {
        self.path.clone()
    }
    fn address_is_local(&self, addr: &IpAddr) -> bool {
        self.local_addresses.contains(addr)
    }
    fn resolves(&self, name: &str) -> bool {
        self.hosts.iter().any(|h| h == name)
    }
}
