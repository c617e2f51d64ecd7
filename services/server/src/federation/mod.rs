//! Federation on a node (ADR 0010, 0011): this node publishes the hash chain of its own public
//! events to its partners ([`FederationService`]`::pull`), and pulls each partner's chain into its
//! own log as replicated events, verified (one task per partner).
//!
//! Where everything stands is read from the log: the chain is rebuilt from it at start, and
//! replication from each partner resumes after the last replicated record of that origin in the
//! log, whose metadata carries its seq and chain hash. Nothing else needs storing, so a crash
//! between receiving and appending loses nothing and applies nothing twice.

mod publisher;
mod puller;
mod service;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use imece_domain::NodeId;
use imece_federation::{HeadJournal, Identity};
use imece_log::EventLog;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use publisher::{DEFAULT_BATCH, MAX_BATCH, MAX_BATCH_BYTES};
pub use puller::{CONNECT_TIMEOUT, FIRST_BACKOFF, MAX_BACKOFF, PartnerState, PartnerStatus};
pub use service::FederationService;

use crate::{Config, Error};

/// The node's federation: its publisher, and a puller per partner.
#[derive(Debug)]
pub struct Federation {
    publisher: Arc<publisher::Publisher>,
    partners: Vec<Arc<puller::Partner>>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// The node's identity: its key file, created on first start.
pub fn load_or_create_identity(config: &Config) -> Result<Identity, Error> {
    let path = config.key_file();
    if path.exists() {
        return Ok(Identity::load(&path)?);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::Config(format!("cannot create {}: {e}", dir.display())))?;
    }
    let identity = Identity::create(&path)?;
    tracing::info!(
        "federation: created this node's key {}; its public key is {}",
        path.display(),
        identity.public_key()
    );
    Ok(identity)
}

impl Federation {
    /// Starts following the log (the chain, where replication stopped), recording signed heads,
    /// and pulling from every configured partner.
    pub fn start(log: Arc<dyn EventLog>, config: &Config, identity: Identity) -> Result<Federation, Error> {
        let node = NodeId::new(&config.node).map_err(|e| Error::Config(format!("node: {e}")))?;
        let journal = HeadJournal::open(config.federation_dir().join("heads"))?;
        let publisher = Arc::new(publisher::Publisher::new(log, node, identity, journal));
        let partners = config
            .federation
            .partners
            .iter()
            .map(|p| puller::Partner::new(p).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let (stop, stopped) = watch::channel(false);
        let mut tasks = vec![
            tokio::spawn(publisher.clone().follow(stopped.clone())),
            tokio::spawn(
                publisher
                    .clone()
                    .record_heads(Duration::from_secs(config.federation.head_interval_secs), stopped.clone()),
            ),
        ];
        for partner in &partners {
            tasks.push(tokio::spawn(puller::run(partner.clone(), publisher.clone(), stopped.clone())));
        }
        Ok(Federation { publisher, partners, stop, tasks })
    }

    /// Where replication from each partner stands.
    pub fn partners(&self) -> Vec<PartnerStatus> {
        self.partners.iter().map(|p| p.status()).collect()
    }

    /// How many records this node has published.
    pub fn published(&self) -> u64 {
        self.publisher.published()
    }

    /// A function that stops pulling and ends the `Pull` streams (before a graceful shutdown waits
    /// for calls in flight).
    pub fn stopper(&self) -> impl FnOnce() + Send + 'static {
        let stop = self.stop.clone();
        move || {
            let _ = stop.send(true);
        }
    }

    /// Stops pulling and serving, and records a last signed head.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }

    pub(crate) fn publisher(&self) -> &Arc<publisher::Publisher> {
        &self.publisher
    }

    pub(crate) fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }
}
