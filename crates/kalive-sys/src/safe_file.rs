//! Writing, reading and removing files that live in directories other users
//! may write to (`/tmp` for the USR1/USR2/JSON dumps, a pid directory):
//! never through a symbolic link, never into a file somebody else created.
//!
//! keepalived writes such files the same way (reference §1.3, its
//! `fopen_safe`): a temporary file with an unpredictable name, created
//! exclusively and readable by its owner only, then renamed over the final
//! name. A rename replaces the directory entry itself: a symbolic link or a
//! hard link planted under the final name is replaced, the file it points
//! to is never opened. Every step works relative to one open descriptor of
//! the directory, so the temporary file and the final name are always in
//! the same directory even if a path component is swapped meanwhile.

use std::ffi::{OsStr, OsString};
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{Mode, SFlag};
use nix::unistd::UnlinkatFlags;

use crate::error::{Result, SysError};

/// Which file a name pointed to when we wrote it: lets the owner check,
/// before removing the name, that it still names the file it wrote and not
/// one somebody swapped in. Device and inode alone are not enough: a freed
/// inode number is soon reused for the next file created, so the owner and
/// the inode's change time (nanoseconds) are part of the identity too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
    uid: u32,
    ctime: (i64, i64),
}

impl FileId {
    fn of(stat: &nix::sys::stat::FileStat) -> FileId {
        FileId {
            dev: stat.st_dev,
            ino: stat.st_ino,
            uid: stat.st_uid,
            ctime: (stat.st_ctime, stat.st_ctime_nsec),
        }
    }
}

/// How [`write_replace_with`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// Permission bits of the final file, set with `fchmod` (the umask does
    /// not apply).
    pub mode: u32,
    /// `fsync` the file before the rename and the directory after it, so
    /// that the new content survives a crash. Dumps do not need it; a file
    /// on tmpfs gains nothing from it.
    pub fsync: bool,
}

/// Temporary names tried before giving up: each is random, so a clash
/// means somebody is creating names in this directory on purpose.
const TEMP_ATTEMPTS: usize = 16;

/// Longest part of the final name reused in the temporary name, so that
/// the temporary name stays within `NAME_MAX` (255 bytes).
const TEMP_STEM_MAX: usize = 200;

/// Replace the file at `path` with `bytes`, permission bits `mode`, without
/// following a symbolic link at `path` (see the module comment). Returns
/// the identity of the file now at `path`.
pub fn write_replace(path: &Path, bytes: &[u8], mode: u32) -> Result<FileId> {
    write_replace_with(path, bytes, WriteOptions { mode, fsync: false })
}

/// [`write_replace`] with every option.
pub fn write_replace_with(path: &Path, bytes: &[u8], options: WriteOptions) -> Result<FileId> {
    let context = || format!("writing {}", path.display());
    let (dir, name) = open_parent(path).map_err(|e| SysError::io(context(), e.into()))?;
    let (tmp_name, tmp) = create_temp(&dir, name).map_err(|e| SysError::io(context(), e))?;
    let written = fill(&tmp, bytes, options).and_then(|()| {
        nix::fcntl::renameat(&dir, tmp_name.as_os_str(), &dir, name).map_err(Into::into)
    });
    if let Err(e) = written {
        // The temporary file is ours (created exclusively): remove it. If
        // that fails too, the error that matters is the first one.
        if let Err(cleanup) =
            nix::unistd::unlinkat(&dir, tmp_name.as_os_str(), UnlinkatFlags::NoRemoveDir)
        {
            return Err(SysError::io(
                format!(
                    "{} (and removing the temporary file failed: {cleanup})",
                    context()
                ),
                e,
            ));
        }
        return Err(SysError::io(context(), e));
    }
    if options.fsync {
        nix::unistd::fsync(&dir).map_err(|e| SysError::io(context(), e.into()))?;
    }
    let ours = nix::sys::stat::fstat(&tmp).map_err(|e| SysError::io(context(), e.into()))?;
    // In a directory others can write to without the sticky bit, another
    // user can swap the temporary name before our rename moves it: the name
    // then holds their file (never written by us). Say so rather than
    // report an identity the name does not have.
    let now_at_name = nix::sys::stat::fstatat(&dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
        .map_err(|e| SysError::io(context(), e.into()))?;
    if FileId::of(&now_at_name) != FileId::of(&ours) {
        return Err(SysError::io(
            context(),
            std::io::Error::other("replaced by somebody else while being written"),
        ));
    }
    Ok(FileId::of(&ours))
}

/// A file read by [`read_nofollow`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contents {
    /// At most the limit asked for.
    pub bytes: Vec<u8>,
    /// The file's owner (uid): a file that should have been written by a
    /// root daemon but belongs to another user was planted.
    pub owner: u32,
    /// Which file was read.
    pub id: FileId,
}

/// Read at most `limit` bytes of the regular file at `path`, refusing a
/// symbolic link as the last component (`ELOOP`) and anything that is not a
/// regular file (a FIFO planted under the name would block the reader).
pub fn read_nofollow(path: &Path, limit: usize) -> Result<Contents> {
    let context = || format!("reading {}", path.display());
    let fd = nix::fcntl::open(
        path,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| SysError::io(context(), e.into()))?;
    let stat = nix::sys::stat::fstat(&fd).map_err(|e| SysError::io(context(), e.into()))?;
    if !is_regular(stat.st_mode) {
        return Err(SysError::io(
            context(),
            std::io::Error::new(std::io::ErrorKind::InvalidData, "not a regular file"),
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .take(limit as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| SysError::io(context(), e))?;
    Ok(Contents {
        bytes,
        owner: stat.st_uid,
        id: FileId::of(&stat),
    })
}

/// What [`remove_if_same`] found under the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Our file: removed.
    Removed,
    /// Nothing there any more.
    Absent,
    /// Something else (another file, a link, a directory): left alone.
    NotOurs,
}

/// Remove `path` only if it still names the file `id` (the one we wrote:
/// same inode, owner and change time). A symbolic link or another file
/// under the name is left alone.
///
/// Between the check and the removal there is a window in which another
/// user able to write to the directory could swap the name again; the
/// removal then deletes their entry, never the content of any file, and
/// only in a directory where they could delete it themselves.
pub fn remove_if_same(path: &Path, id: FileId) -> Result<Removal> {
    let context = || format!("removing {}", path.display());
    let (dir, name) = open_parent(path).map_err(|e| SysError::io(context(), e.into()))?;
    let stat = match nix::sys::stat::fstatat(&dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(stat) => stat,
        Err(Errno::ENOENT) => return Ok(Removal::Absent),
        Err(e) => return Err(SysError::io(context(), e.into())),
    };
    if !is_regular(stat.st_mode) || FileId::of(&stat) != id {
        return Ok(Removal::NotOurs);
    }
    match nix::unistd::unlinkat(&dir, name, UnlinkatFlags::NoRemoveDir) {
        Ok(()) => Ok(Removal::Removed),
        Err(Errno::ENOENT) => Ok(Removal::Absent),
        Err(e) => Err(SysError::io(context(), e.into())),
    }
}

fn is_regular(mode: nix::libc::mode_t) -> bool {
    SFlag::from_bits_truncate(mode & SFlag::S_IFMT.bits()) == SFlag::S_IFREG
}

/// The directory holding `path`, opened, and the last component.
fn open_parent(path: &Path) -> std::result::Result<(OwnedFd, &OsStr), Errno> {
    let name = match path.file_name() {
        Some(name) => name,
        // "", "/", "dir/..": no file name to write under.
        None => return Err(Errno::EINVAL),
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let fd = nix::fcntl::open(
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    Ok((fd, name))
}

/// Create `.<name>.<random>` exclusively in `dir`, mode 0600 (the final
/// mode is set after the content is written).
fn create_temp(dir: &OwnedFd, name: &OsStr) -> std::io::Result<(OsString, OwnedFd)> {
    let stem = &name.as_bytes()[..name.len().min(TEMP_STEM_MAX)];
    let mut last = Errno::EEXIST;
    for _ in 0..TEMP_ATTEMPTS {
        let mut tmp = Vec::with_capacity(stem.len() + 18);
        tmp.push(b'.');
        tmp.extend_from_slice(stem);
        tmp.extend_from_slice(format!(".{:016x}", unpredictable()).as_bytes());
        let tmp = OsString::from_vec(tmp);
        match nix::fcntl::openat(
            dir,
            tmp.as_os_str(),
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::S_IRUSR | Mode::S_IWUSR,
        ) {
            Ok(fd) => return Ok((tmp, fd)),
            Err(Errno::EEXIST) => last = Errno::EEXIST,
            Err(e) => return Err(e.into()),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!("no free temporary name after {TEMP_ATTEMPTS} attempts ({last})"),
    ))
}

fn fill(fd: &OwnedFd, bytes: &[u8], options: WriteOptions) -> std::io::Result<()> {
    let mut file = std::fs::File::from(fd.try_clone()?);
    file.write_all(bytes)?;
    nix::sys::stat::fchmod(fd, Mode::from_bits_truncate(options.mode & 0o7777))?;
    if options.fsync {
        file.sync_all()?;
    }
    Ok(())
}

/// 64 bits nobody else can predict: std's `RandomState` keys SipHash with
/// secret per-process keys drawn from the OS's random source; hashing the
/// time on top makes every call different.
fn unpredictable() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(now);
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_differ_and_stay_short() {
        assert_ne!(unpredictable(), unpredictable());
        let dir = std::env::temp_dir().join(format!("kalive-safe-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let long = "x".repeat(250);
        let path = dir.join(&long);
        write_replace(&path, b"long", 0o600).expect("a 250-byte name still works");
        assert_eq!(std::fs::read(&path).expect("read"), b"long");
        let left: Vec<_> = std::fs::read_dir(&dir).expect("list").collect();
        assert_eq!(left.len(), 1, "no temporary file left behind");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn no_file_name_is_refused() {
        assert!(write_replace(Path::new("/"), b"", 0o600).is_err());
        assert!(write_replace(Path::new(""), b"", 0o600).is_err());
    }
}
