//! The blocking client `kalive ctl` uses: connect, send one request, read
//! one response, with a time limit on the whole exchange.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::framing::{decode_line, encode_line, FramingError, MAX_MESSAGE};
use crate::{Request, Response};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {0}: {1} (is kalive running, with this control socket?)")]
    Connect(PathBuf, #[source] std::io::Error),
    #[error("talking to the daemon: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Framing(#[from] FramingError),
    #[error("the daemon closed the connection without answering")]
    NoAnswer,
}

pub struct Client {
    path: PathBuf,
    timeout: Duration,
}

impl Client {
    /// `timeout` bounds each read and write (a reload of a large config
    /// answers after it is applied).
    pub fn new(path: &Path, timeout: Duration) -> Client {
        Client {
            path: path.to_path_buf(),
            timeout,
        }
    }

    pub fn call(&self, request: &Request) -> Result<Response, ClientError> {
        let mut stream = UnixStream::connect(&self.path)
            .map_err(|e| ClientError::Connect(self.path.clone(), e))?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        stream.write_all(&encode_line(request)?)?;
        let mut line = Vec::new();
        BufReader::new(stream.take(MAX_MESSAGE as u64 + 1)).read_until(b'\n', &mut line)?;
        if line.is_empty() {
            return Err(ClientError::NoAnswer);
        }
        Ok(decode_line(&line)?)
    }
}
