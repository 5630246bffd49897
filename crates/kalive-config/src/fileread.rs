//! Opening a file that a config names (the main file, includes, key files)
//! without trusting what the path points at (issue 11 item 10): only a
//! regular file is read, and only up to a size bound.
//!
//! `keepalived -t -f /dev/zero` or `-f FIFO` would otherwise read without
//! end or wait for a writer forever. keepalived itself refuses anything
//! that is not a regular file ("Configuration file 'X' is not a regular
//! non-executable file - skipping", `lib/parser.c:check_conf_file`), and so
//! do we; the check is made on the opened descriptor, so a path swapped
//! between a `stat` and the `open` cannot get past it, and the open itself
//! does not block on a FIFO (`O_NONBLOCK`, which regular files ignore).

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The largest config file (or included file) read: far above any real
/// configuration, low enough that memory stays bounded.
pub const MAX_CONFIG_FILE_BYTES: u64 = 64 << 20;

/// Why a path named by the config was not read.
#[derive(Debug, thiserror::Error)]
pub enum FileReadError {
    /// A directory, FIFO, socket or device.
    #[error("not a regular file")]
    NotRegular,
    #[error("larger than {0} bytes")]
    TooLarge(u64),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// `open(2)` flags, from asm-generic/fcntl.h (x86, arm, riscv): the config
/// crate stays free of libc (DESIGN.md, Layers). `O_NONBLOCK` keeps a FIFO
/// from blocking the open; `O_NOCTTY` keeps a terminal from becoming ours.
const O_NONBLOCK: i32 = 0o4000;
const O_NOCTTY: i32 = 0o400;

/// Open `path` for reading if it is a regular file of at most `max` bytes.
pub fn open_regular(path: &Path, max: u64) -> Result<File, FileReadError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK | O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(FileReadError::NotRegular);
    }
    if meta.len() > max {
        return Err(FileReadError::TooLarge(max));
    }
    Ok(file)
}

/// Read the whole of a regular file of at most `max` bytes (a file that
/// grows past the bound while it is read is refused too).
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, FileReadError> {
    let file = open_regular(path, max)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(FileReadError::TooLarge(max));
    }
    Ok(bytes)
}

/// [`read_regular`] as text (invalid UTF-8 replaced).
pub fn read_regular_text(path: &Path, max: u64) -> Result<String, FileReadError> {
    read_regular(path, max).map(|b| String::from_utf8_lossy(&b).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_file_is_read() {
        let dir = tempfile::tempdir().expect("dir");
        let p = dir.path().join("k.conf");
        std::fs::write(&p, "global_defs {\n}\n").expect("write");
        assert_eq!(
            read_regular_text(&p, MAX_CONFIG_FILE_BYTES).expect("read"),
            "global_defs {\n}\n"
        );
        assert!(matches!(
            read_regular(&p, 4),
            Err(FileReadError::TooLarge(4))
        ));
    }

    #[test]
    fn devices_directories_and_fifos_are_refused_without_blocking() {
        assert!(matches!(
            read_regular(Path::new("/dev/zero"), MAX_CONFIG_FILE_BYTES),
            Err(FileReadError::NotRegular)
        ));
        let dir = tempfile::tempdir().expect("dir");
        assert!(matches!(
            read_regular(dir.path(), MAX_CONFIG_FILE_BYTES),
            Err(FileReadError::NotRegular)
        ));
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
        // No writer: a blocking open would wait here forever.
        assert!(matches!(
            read_regular(&fifo, MAX_CONFIG_FILE_BYTES),
            Err(FileReadError::NotRegular)
        ));
        assert!(matches!(
            read_regular(&dir.path().join("missing"), MAX_CONFIG_FILE_BYTES),
            Err(FileReadError::Io(_))
        ));
    }
}
