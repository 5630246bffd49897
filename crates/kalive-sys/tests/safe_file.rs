//! `safe_file` against the attacks it exists for, on the real filesystem:
//! another user plants a symbolic link (or a file of their own) under the
//! name root is about to write, in a directory they can write to — `/tmp`
//! (sticky, world-writable) or a pid directory writable by others. Needs
//! root (to own the files and to act as another user with lchown/chown).

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use kalive_sys::safe_file::{self, Removal};

/// A uid that is not root, for files "another user" planted.
const OTHER_USER: u32 = 65534;

struct Scratch(PathBuf);

impl Scratch {
    /// `base/secret` (0600, root, in a 0700 directory: a root-only file such
    /// as /etc/shadow) and `base/<dir_name>` with `dir_mode`.
    fn new(tag: &str, dir_mode: u32) -> Scratch {
        assert!(
            nix::unistd::geteuid().is_root(),
            "this test needs root (it plays root and another user)"
        );
        let base = std::env::temp_dir().join(format!("kalive-safe-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(base.join("private")).expect("dir");
        fs::set_permissions(base.join("private"), fs::Permissions::from_mode(0o700))
            .expect("chmod");
        fs::write(base.join("private/secret"), "SECRET\n").expect("secret");
        fs::set_permissions(
            base.join("private/secret"),
            fs::Permissions::from_mode(0o600),
        )
        .expect("chmod");
        fs::create_dir_all(base.join("shared")).expect("dir");
        fs::set_permissions(base.join("shared"), fs::Permissions::from_mode(dir_mode))
            .expect("chmod");
        Scratch(base)
    }
    fn secret(&self) -> PathBuf {
        self.0.join("private/secret")
    }
    fn shared(&self, name: &str) -> PathBuf {
        self.0.join("shared").join(name)
    }
    /// A symbolic link at `name` to the secret, owned by the other user.
    fn plant_link(&self, name: &str) -> PathBuf {
        let link = self.shared(name);
        symlink(self.secret(), &link).expect("symlink");
        std::os::unix::fs::lchown(&link, Some(OTHER_USER), Some(OTHER_USER)).expect("lchown");
        link
    }
    fn assert_secret_intact(&self) {
        let meta = fs::metadata(self.secret()).expect("secret");
        assert_eq!(
            fs::read_to_string(self.secret()).expect("read secret"),
            "SECRET\n",
            "the root-only file was written through the link"
        );
        assert_eq!(
            meta.mode() & 0o7777,
            0o600,
            "the root-only file changed mode"
        );
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// What a user who then looks at the written name sees.
fn assert_root_regular(path: &Path, content: &str, mode: u32) {
    let meta = fs::symlink_metadata(path).expect("written file");
    assert!(
        meta.file_type().is_file(),
        "{} is not a regular file",
        path.display()
    );
    assert_eq!(meta.mode() & 0o7777, mode, "mode of {}", path.display());
    assert_eq!(meta.uid(), 0, "owner of {}", path.display());
    assert_eq!(fs::read_to_string(path).expect("read"), content);
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_planted_symlink_is_replaced_never_followed() {
    // /tmp-like (sticky) and a pid directory writable by others (not
    // sticky: fs.protected_symlinks does not cover it).
    for (tag, dir_mode) in [("sticky", 0o1777), ("open", 0o777)] {
        let s = Scratch::new(tag, dir_mode);
        let link = s.plant_link("keepalived.data");
        safe_file::write_replace(&link, b"dump\n", 0o600).expect("written");
        s.assert_secret_intact();
        assert_root_regular(&link, "dump\n", 0o600);
        assert_eq!(entries(&s.0.join("shared")), ["keepalived.data"], "{tag}");
    }
}

#[test]
fn a_file_another_user_created_is_replaced_not_written_into() {
    let s = Scratch::new("theirs", 0o1777);
    let theirs = s.shared("keepalived.stats");
    fs::write(&theirs, "").expect("create");
    fs::set_permissions(&theirs, fs::Permissions::from_mode(0o666)).expect("chmod");
    std::os::unix::fs::chown(&theirs, Some(OTHER_USER), Some(OTHER_USER)).expect("chown");
    // They keep it open, hoping to read what root writes.
    let their_handle = fs::File::open(&theirs).expect("open");

    safe_file::write_replace(&theirs, b"counters\n", 0o600).expect("written");
    assert_root_regular(&theirs, "counters\n", 0o600);
    let mut seen = String::new();
    std::io::Read::read_to_string(&mut &their_handle, &mut seen).expect("read");
    assert_eq!(seen, "", "the other user's open file received our data");
}

#[test]
fn predictable_temporary_names_are_not_used() {
    // The names a careless writer would use next to the file (kalive used
    // `keepalived.json.tmp` and `<stem>.tmp<PID>`): planted links to the
    // root-only file stay untouched links.
    let s = Scratch::new("tmpnames", 0o1777);
    let pid = std::process::id();
    let planted = [
        "keepalived.json.tmp".to_string(),
        format!("keepalived.tmp{pid}"),
        format!("keepalived.json.tmp{pid}"),
        ".keepalived.json".to_string(),
    ];
    for name in &planted {
        s.plant_link(name);
    }
    let target = s.shared("keepalived.json");
    safe_file::write_replace(&target, b"[]", 0o600).expect("written");
    s.assert_secret_intact();
    assert_root_regular(&target, "[]", 0o600);
    for name in &planted {
        assert!(
            fs::symlink_metadata(s.shared(name))
                .expect("still there")
                .file_type()
                .is_symlink(),
            "{name} was replaced or removed"
        );
    }
    let mut expected: Vec<String> = planted.to_vec();
    expected.push("keepalived.json".into());
    expected.sort();
    assert_eq!(
        entries(&s.0.join("shared")),
        expected,
        "no temporary file left"
    );
}

#[test]
fn a_synced_write_gives_the_same_result() {
    let s = Scratch::new("sync", 0o755);
    let path = s.shared("keepalived.pid");
    let id = safe_file::write_replace_with(
        &path,
        b"7\n",
        safe_file::WriteOptions {
            mode: 0o644,
            fsync: true,
        },
    )
    .expect("written");
    assert_root_regular(&path, "7\n", 0o644);
    assert_eq!(safe_file::read_nofollow(&path, 64).expect("read").id, id);
}

#[test]
fn the_umask_does_not_widen_or_narrow_the_mode() {
    let s = Scratch::new("mode", 0o755);
    let path = s.shared("keepalived.pid");
    safe_file::write_replace(&path, b"1\n", 0o644).expect("written");
    assert_root_regular(&path, "1\n", 0o644);
    // Replacing keeps nothing of the old file: a new inode each time.
    let first = fs::metadata(&path).expect("meta").ino();
    safe_file::write_replace(&path, b"2\n", 0o600).expect("written");
    assert_root_regular(&path, "2\n", 0o600);
    assert_ne!(fs::metadata(&path).expect("meta").ino(), first);
}

#[test]
fn reads_and_removals_do_not_follow_links() {
    let s = Scratch::new("read", 0o1777);
    let link = s.plant_link("keepalived.pid");
    let err = safe_file::read_nofollow(&link, 64).expect_err("a link is refused");
    assert_eq!(err.errno(), Some(nix::libc::ELOOP), "{err}");

    let path = s.shared("mine.pid");
    let id = safe_file::write_replace(&path, b"42\n", 0o644).expect("written");
    let read = safe_file::read_nofollow(&path, 64).expect("read");
    assert_eq!(read.bytes, b"42\n");
    assert_eq!(read.owner, 0);
    assert_eq!(read.id, id);
    let short = safe_file::read_nofollow(&path, 1).expect("read");
    assert_eq!(short.bytes, b"4", "the limit bounds the read");

    // Somebody swaps the name: ours is gone, theirs must stay.
    fs::remove_file(&path).expect("remove");
    symlink(s.secret(), &path).expect("symlink");
    assert_eq!(
        safe_file::remove_if_same(&path, id).expect("checked"),
        Removal::NotOurs
    );
    assert!(
        fs::symlink_metadata(&path).is_ok(),
        "their link was removed"
    );
    fs::remove_file(&path).expect("remove");
    fs::write(&path, "42\n").expect("their file with our content");
    assert_eq!(
        safe_file::remove_if_same(&path, id).expect("checked"),
        Removal::NotOurs
    );
    assert!(path.exists(), "their file was removed");
    s.assert_secret_intact();

    // Still ours: removed.
    let id = safe_file::write_replace(&path, b"42\n", 0o644).expect("written");
    assert_eq!(
        safe_file::remove_if_same(&path, id).expect("removed"),
        Removal::Removed
    );
    assert!(fs::symlink_metadata(&path).is_err());
    assert_eq!(
        safe_file::remove_if_same(&path, id).expect("already gone"),
        Removal::Absent
    );
}
