//! `cargo iso call`: one call to an app served on NATS, for scripts. The
//! call names its app first (`store.get("a")`); its arguments are checked
//! against the WIT the serving host describes before the call is sent.
//!
//! Exit codes as `cargo iso run`'s: 0 success; 2 bad input or no host
//! answering; 10/11/12 a budget exceeded, 20 a trap, 21 a panic there.

use std::sync::Arc;

use anyhow::Result;
use clap::Args;
use iso_host::Timeout;
use iso_host::runtime::{DEFAULT_REMOTE_TIMEOUT, RemoteApp};

use crate::AlreadyReported;
use crate::commands::lattice::NatsArgs;
use crate::commands::run::fail;
use crate::term::Shell;

/// `cargo iso call`.
#[derive(Args, Debug)]
#[command(
    after_help = "Exit codes: 0 ok, 2 bad input or nobody serves the app, 10/11/12 fuel/memory/time budget exceeded, 20 trap, 21 panic.

Examples:
  cargo iso call 'store.get(\"a\")'
  cargo iso call 'store.api.put(\"a\", 2)' --nats nats://10.0.0.5:4222 --timeout 2s"
)]
pub struct CallArgs {
    /// The call in WAVE syntax, its app first, e.g. 'store.get("a")'
    #[arg(value_name = "CALL")]
    pub call: String,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub nats: NatsArgs,

    /// How long to wait for the answer, e.g. 500ms [default: 30s]
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<Timeout>,

    /// Print the result as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

impl CallArgs {
    /// Asks the app's host what it serves, makes the call, prints the result.
    pub fn exec(self, shell: &Shell) -> Result<()> {
        let named = self.call.trim().split_once('.');
        let Some((address, call)) = named.filter(|(address, _)| !address.contains('(')) else {
            shell.report(&anyhow::anyhow!(
                "`{}` does not name its app\nhelp: write the app first, e.g. `store.{}`",
                self.call,
                self.call.trim()
            ));
            return Err(AlreadyReported { code: 2 }.into());
        };
        let timeout = self.timeout.map_or(DEFAULT_REMOTE_TIMEOUT, |t| t.0);
        let nats = Arc::new(self.nats.connect()?);
        let remote = RemoteApp::connect(nats, address, timeout).map_err(|e| fail(shell, e))?;
        let result = remote
            .call_wave(call, timeout)
            .map_err(|e| fail(shell, e))?;
        let text = result.as_ref().map(iso_host::wave);
        match (self.json, text) {
            (true, text) => println!(
                "{}",
                serde_json::json!({ "call": self.call, "result": text })
            ),
            (false, Some(text)) => println!("{text}"),
            (false, None) => {}
        }
        Ok(())
    }
}
