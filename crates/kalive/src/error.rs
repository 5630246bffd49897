//! The one error type of the `kalive` binary crate.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}: {1}")]
    Io(String, #[source] io::Error),
    #[error("logging: {0}")]
    Logging(String),
    #[error("daemon is already running (pid {pid}, pid file {file})")]
    AlreadyRunning { pid: i32, file: String },
    #[error("network namespace {0}: {1}")]
    Namespace(String, String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("{0}")]
    Sys(String),
}
