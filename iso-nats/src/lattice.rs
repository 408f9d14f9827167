//! What hosts serve: each serving host answers `iso.hosts` with a
//! [`HostInfo`], and publishes it on `iso.announce` when it starts and
//! stops; [`Nats::lattice`] asks every host at once.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use iso_host::runtime::Runtime;
use serde::{Deserialize, Serialize};

use crate::{Nats, NatsError};

/// The subject every serving host answers with its [`HostInfo`].
pub const HOSTS_SUBJECT: &str = "iso.hosts";

/// The subject a host publishes its [`HostInfo`] on when it starts and stops.
pub const ANNOUNCE_SUBJECT: &str = "iso.announce";

/// One serving host and what it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInfo {
    /// Which host: `<hostname>/<pid>/<n>`, n counting the hosts of one process.
    pub host: String,
    /// The NATS server it connected to, as it was given.
    pub nats: String,
    /// Whether it serves (false in its last announcement, when it stops).
    pub serving: bool,
    /// The apps it serves.
    pub apps: Vec<ServedApp>,
}

/// One app a host serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServedApp {
    /// The address calls to it are sent to.
    pub address: String,
    /// What it exports: interfaces with their versions
    /// (`local:store/api@0.1.0`), and functions at the world's top.
    pub exports: Vec<String>,
}

impl HostInfo {
    /// What `runtime` serves now, as a new host of this process.
    pub(crate) fn of(runtime: &Runtime, nats: &str) -> HostInfo {
        static HOSTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = HOSTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|name| name.trim().to_owned())
            .unwrap_or_else(|_| "localhost".into());
        let mut apps: Vec<ServedApp> = runtime
            .addresses()
            .map(|address| ServedApp {
                address: address.to_owned(),
                exports: exports_of(runtime, address),
            })
            .collect();
        apps.sort_by(|a, b| a.address.cmp(&b.address));
        HostInfo {
            host: format!("{hostname}/{}/{n}", std::process::id()),
            nats: nats.to_owned(),
            serving: true,
            apps,
        }
    }

    pub(crate) fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The interfaces and top-level functions `address` exports, but the
/// host's own `iso:app` interfaces.
fn exports_of(runtime: &Runtime, address: &str) -> Vec<String> {
    let Ok(app) = runtime.app(address) else {
        return Vec::new();
    };
    let mut exports: Vec<String> = (app.user_exports())
        .map(|export| export.interface.clone().unwrap_or(export.func.clone()))
        .collect();
    exports.dedup();
    exports
}

impl Nats {
    /// Every host that serves on this NATS, with what it serves: those
    /// that answer within `wait`, sorted by host.
    pub fn lattice(&self, wait: Duration) -> Result<Vec<HostInfo>, NatsError> {
        let inbox = self.client.new_inbox();
        let failed = |reason: String| NatsError::Publish {
            subject: HOSTS_SUBJECT.to_owned(),
            reason,
        };
        self.tasks.block_on(async {
            let subscribing = self.client.subscribe(inbox.clone()).await;
            let mut answers = subscribing.map_err(|err| NatsError::Subscribe {
                subject: inbox.clone(),
                reason: err.to_string(),
            })?;
            let asking = self
                .client
                .publish_with_reply(HOSTS_SUBJECT, inbox, "".into());
            asking.await.map_err(|err| failed(err.to_string()))?;
            let deadline = Instant::now() + wait;
            let mut hosts = Vec::new();
            while let Ok(Some(answer)) =
                tokio::time::timeout_at(deadline.into(), answers.next()).await
            {
                if let Ok(host) = serde_json::from_slice::<HostInfo>(&answer.payload) {
                    hosts.push(host);
                }
            }
            hosts.sort_by(|a, b| a.host.cmp(&b.host));
            Ok(hosts)
        })
    }
}
