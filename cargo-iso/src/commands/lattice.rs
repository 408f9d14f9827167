//! `cargo iso lattice`: the hosts serving on NATS and what each serves;
//! and [`NatsArgs`], the `--nats` flag of every command that uses NATS.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow};
use clap::Args;
use iso_host::runtime::{Runtime, Wiring};
use iso_nats::{HostInfo, Nats};

use crate::term::Shell;

/// How long `lattice` waits for hosts to answer.
const ANSWERS_WITHIN: Duration = Duration::from_millis(500);

/// Where the NATS server is, and how to prove who we are to it (the
/// `nats` CLI's flags and environment variables).
#[derive(Args, Debug, Clone, Default)]
pub struct NatsArgs {
    /// The NATS server hosts meet on, e.g. nats://user:pass@host:4222 [default: nats://127.0.0.1:4222]
    #[arg(long, value_name = "URL", env = "ISO_NATS_URL")]
    pub nats: Option<String>,

    /// The NATS user to connect as (over one in the URL)
    #[arg(long, value_name = "USER", env = "NATS_USER")]
    pub user: Option<String>,

    /// The NATS user's password (over one in the URL)
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "NATS_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,

    /// A NATS authentication token
    #[arg(long, value_name = "TOKEN", env = "NATS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// A file holding the NATS user's nkey seed, to sign the server's challenge with
    #[arg(long, value_name = "FILE", env = "NATS_NKEY")]
    pub nkey: Option<std::path::PathBuf>,
}

impl NatsArgs {
    /// The URL: `--nats`, else `ISO_NATS_URL`, else a server on this machine.
    pub fn url(&self) -> &str {
        self.nats.as_deref().unwrap_or(iso_nats::DEFAULT_URL)
    }

    /// A connection to the server, or an error that says how to get one.
    pub fn connect(&self) -> Result<Nats> {
        self.connect_watched(|_| {})
    }

    /// [`NatsArgs::connect`], telling `on_event` when the connection is
    /// lost and when it is back.
    pub fn connect_watched(
        &self,
        on_event: impl Fn(iso_nats::ConnectionEvent) + Send + Sync + 'static,
    ) -> Result<Nats> {
        let credentials = iso_nats::Credentials {
            user: self.user.clone(),
            password: self.password.clone(),
            token: self.token.clone(),
            nkey_seed: self.nkey_seed()?,
        };
        Nats::connect_watched(self.url(), credentials, on_event).map_err(|err| {
            let help = match err {
                iso_nats::NatsError::Unauthorized { .. } => {
                    "give the server's credentials: `--user` and `--password` (NATS_USER, NATS_PASSWORD), `--token` (NATS_TOKEN), `--nkey FILE` (NATS_NKEY), or `nats://user:password@host` in the URL"
                }
                _ => {
                    "start a NATS server (`nats-server`; on Debian `apt install nats-server`), or name another with `--nats URL` or `ISO_NATS_URL`"
                }
            };
            anyhow!("{err}\nhelp: {help}")
        })
    }

    /// The seed in the `--nkey` file, if one is given.
    fn nkey_seed(&self) -> Result<Option<String>> {
        let Some(file) = &self.nkey else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(file).map_err(|err| {
            anyhow!(
                "could not read the nkey seed file `{}`: {err}",
                file.display()
            )
        })?;
        // A seed file may hold comments and the public key too: take the seed line.
        let seed = text
            .lines()
            .map(str::trim)
            .find(|line| line.starts_with("SU"));
        match seed {
            Some(seed) => Ok(Some(seed.to_owned())),
            None => Err(anyhow!(
                "`{}` holds no user nkey seed (a line starting with `SU`)\nhelp: make one with `nsc generate nkey --user` or `nk -gen user`",
                file.display()
            )),
        }
    }

    /// Connects `runtime` to NATS when one of `wirings` names a remote
    /// app; returns the connection, if made.
    pub fn connect_for<'a>(
        &self,
        runtime: &mut Runtime,
        wirings: impl IntoIterator<Item = &'a Wiring>,
    ) -> Result<Option<Arc<Nats>>> {
        let remote = (wirings.into_iter()).find_map(|wiring| wiring.remotes().next());
        let Some(remote) = remote else {
            return Ok(None);
        };
        let nats =
            Arc::new(self.connect().map_err(|err| {
                err.context(format!("remote app `{remote}` is reached over NATS"))
            })?);
        runtime.set_transport(nats.clone());
        Ok(Some(nats))
    }
}

/// `cargo iso lattice`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  cargo iso lattice
  cargo iso lattice --nats nats://10.0.0.5:4222 --json")]
pub struct LatticeArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub nats: NatsArgs,

    /// Print each host as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

impl LatticeArgs {
    /// Asks every host what it serves, and lists the answers.
    pub fn exec(self, shell: &Shell) -> Result<()> {
        let nats = self.nats.connect()?;
        let hosts = nats.lattice(ANSWERS_WITHIN)?;
        if self.json {
            for host in &hosts {
                println!("{}", serde_json::to_string(host)?);
            }
            return Ok(());
        }
        if hosts.is_empty() {
            shell.note(format_args!("no host serves on {}", nats.url()));
            return Ok(());
        }
        for host in &hosts {
            print_host(host);
        }
        Ok(())
    }
}

/// `host` and its apps, one per line under it.
fn print_host(host: &HostInfo) {
    println!("{}", host.host);
    let width = (host.apps.iter())
        .map(|app| app.address.len())
        .max()
        .unwrap_or(0);
    for app in &host.apps {
        println!("  {:width$}  {}", app.address, app.exports.join(", "));
    }
}
