//! Misbehaving servers no real daemon can be made to imitate: one that
//! accepts and never answers, one that answers garbage, one that resets
//! mid-response. Each runs as a task of the test's runtime and is aborted
//! on drop.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

pub struct Fake {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// Accepts and reads, never writes.
    Silent,
    /// Writes these bytes after the first read, then closes.
    Reply(&'static [u8]),
    /// Writes these bytes on connect (a greeting), then answers each line
    /// with the next of `lines`.
    Dialogue(&'static [u8], &'static [&'static [u8]]),
    /// Writes these bytes after the first read, then resets the connection.
    ResetAfter(&'static [u8]),
}

pub async fn tcp(behaviour: Behaviour) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(serve(stream, behaviour));
        }
    });
    Fake { addr, task }
}

async fn serve(mut stream: TcpStream, behaviour: Behaviour) {
    let mut buf = [0u8; 4096];
    match behaviour {
        Behaviour::Silent => {
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Behaviour::Reply(bytes) => {
            let _ = stream.read(&mut buf).await;
            let _ = stream.write_all(bytes).await;
        }
        Behaviour::ResetAfter(bytes) => {
            let _ = stream.read(&mut buf).await;
            let _ = stream.write_all(bytes).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            socket2::SockRef::from(&stream)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            drop(stream);
        }
        Behaviour::Dialogue(greeting, lines) => {
            let _ = stream.write_all(greeting).await;
            for line in lines {
                if !matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {
                    return;
                }
                let _ = stream.write_all(line).await;
            }
            let _ = stream.read(&mut buf).await;
        }
    }
}

/// A UDP server answering every datagram with `reply`, and recording nothing.
pub async fn udp(reply: &'static [u8]) -> Fake {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while let Ok((_, peer)) = socket.recv_from(&mut buf).await {
            let _ = socket.send_to(reply, peer).await;
        }
    });
    Fake { addr, task }
}

/// A TCP listener that reports the source address of each connection.
pub async fn peer_reporter() -> (
    SocketAddr,
    tokio::sync::mpsc::Receiver<SocketAddr>,
    JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let task = tokio::spawn(async move {
        while let Ok((_, peer)) = listener.accept().await {
            if tx.send(peer).await.is_err() {
                return;
            }
        }
    });
    (addr, rx, task)
}
