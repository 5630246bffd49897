//! Reading keepalived.conf for the daemon (start and SIGHUP): diagnostics go
//! to the log; errors that keepalived would not start with stop us.

use crate::cli::Cli;
pub use crate::config_test::Strictness;
use crate::error::Error;
use crate::setup::{self, Plan};

/// Parse the config named on the command line and build the runtime plan.
pub fn load_plan(cli: &Cli, strictness: Strictness) -> Result<Plan, Error> {
    let config = crate::config_test::load_for_daemon(cli, strictness)?;
    setup::plan(&config)
}
