//! TCP_CHECK: a full connect, then close (keepalived `check_tcp.c`): the
//! server's application accepts the connection, unlike HAProxy's half-open probe.

use crate::{ConnectOptions, Outcome};

/// Connects to `opts.addr` and closes the connection with a FIN.
pub async fn tcp_check(opts: &ConnectOptions) -> Outcome {
    match opts.tcp_connect(opts.deadline()).await {
        Ok(stream) => {
            drop(stream);
            Outcome::up()
        }
        Err(failed) => failed,
    }
}
