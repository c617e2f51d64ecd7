//! This node's side of federation as a publisher: the index of its chain, built from its own log
//! and kept up to date as it writes, the heads it signs, and the `Pull` streams partners read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use imece_domain::{Metadata, NodeId};
use imece_federation::{Chain, ChainHead, Hash, HeadJournal, Identity, PublishedRecord, SignedHead, genesis_hash};
use imece_log::EventLog;
use tokio::sync::{mpsc, watch};

use crate::Error;

/// The largest batch a `Pull` sends, in records, whatever the client asks.
pub const MAX_BATCH: usize = 10_000;
/// The batch size when the client names none.
pub const DEFAULT_BATCH: usize = 1_000;
/// A batch is closed early once its data and metadata pass this many bytes, so that one reply
/// stays well under the message limit.
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Where the chain of this node stands, and where replication from each partner stopped, both
/// read from the log. Built by one task that follows the whole log from position 0.
pub(crate) struct Publisher {
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) node: NodeId,
    pub(crate) identity: Identity,
    /// For each published seq: the record's position in this log and its hash.
    index: RwLock<Vec<(u64, Hash)>>,
    /// How many records are indexed (the next seq).
    published: watch::Sender<u64>,
    /// The log position the follower reached (the next it will read).
    scanned: watch::Sender<u64>,
    /// The last replicated record of each origin found in the log.
    received: Mutex<HashMap<NodeId, ChainHead>>,
    /// Why the follower stopped, if it did.
    failure: Mutex<Option<String>>,
    journal: Mutex<HeadJournal>,
    /// The seq of the last head written to the journal.
    journaled: Mutex<Option<u64>>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("node", &self.node)
            .field("published", &self.published())
            .finish_non_exhaustive()
    }
}

/// Where a `Pull` stands: the next seq to send, and the hash of the record before it.
struct Cursor {
    next_seq: u64,
    prev_hash: Hash,
}

/// Events read from the log at a time.
const READ_PAGE: usize = 1_000;

/// One batch of a `Pull`, signed.
pub(crate) type Batch = (Vec<PublishedRecord>, SignedHead);

fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

impl Publisher {
    pub(crate) fn new(log: Arc<dyn EventLog>, node: NodeId, identity: Identity, journal: HeadJournal) -> Self {
        Publisher {
            log,
            node,
            identity,
            index: RwLock::new(Vec::new()),
            published: watch::Sender::new(0),
            scanned: watch::Sender::new(0),
            received: Mutex::new(HashMap::new()),
            failure: Mutex::new(None),
            journal: Mutex::new(journal),
            journaled: Mutex::new(None),
        }
    }

    /// How many records this node has published.
    pub(crate) fn published(&self) -> u64 {
        *self.published.borrow()
    }

    /// The last published record's seq and hash.
    pub(crate) fn head(&self) -> Option<ChainHead> {
        let index = self.index.read().unwrap_or_else(PoisonError::into_inner);
        index.last().map(|(_, hash)| ChainHead { seq: index.len() as u64 - 1, hash: *hash })
    }

    /// The head, signed now.
    pub(crate) fn signed_head(&self) -> Option<SignedHead> {
        self.head().map(|head| self.identity.sign_head(&self.node, head, now_micros()))
    }

    /// Why the follower stopped, if it did.
    pub(crate) fn failure(&self) -> Option<String> {
        self.failure.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Waits until the follower has read the log up to `position`.
    pub(crate) async fn wait_scanned(&self, position: u64) -> Result<(), Error> {
        let mut scanned = self.scanned.subscribe();
        scanned
            .wait_for(|p| *p >= position)
            .await
            .map_err(|_| Error::Server("the federation follower stopped".into()))?;
        Ok(())
    }

    /// Where replication from `origin` stopped, as the log says (after [`Publisher::wait_scanned`]
    /// to the head the caller cares about).
    pub(crate) fn received(&self, origin: &NodeId) -> Option<ChainHead> {
        self.received.lock().unwrap_or_else(PoisonError::into_inner).get(origin).copied()
    }

    /// Follows the log from position 0 until `stop`: indexes the chain and notes the replicated
    /// records. Stops at an event whose metadata this build cannot read (the chain cannot pass it).
    pub(crate) async fn follow(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut events = self.log.subscribe_all(0);
        let mut chain = Chain::new(self.node.clone());
        loop {
            let event = tokio::select! {
                event = events.next() => event,
                _ = stop.wait_for(|s| *s) => return,
            };
            let Some(event) = event else { return };
            let outcome = event.map_err(|e| e.to_string()).and_then(|event| {
                let metadata = Metadata::decode(&event.metadata)
                    .map_err(|e| format!("event at position {}: {e}", event.position))?;
                let record = chain.push_decoded(&event, &metadata).map_err(|e| e.to_string())?;
                Ok((event.position, metadata, record))
            });
            match outcome {
                Ok((position, _, Some(record))) => {
                    self.index.write().unwrap_or_else(PoisonError::into_inner).push((position, record.hash));
                    self.published.send_replace(record.seq + 1);
                    self.scanned.send_replace(position + 1);
                }
                Ok((position, metadata, None)) => {
                    if let (Some(seq), Some(hash)) = (metadata.origin.seq, metadata.origin.hash.as_deref())
                        && let Some(hash) = imece_federation::hash_from_hex(hash)
                    {
                        self.received
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .insert(metadata.origin.node, ChainHead { seq, hash });
                    }
                    self.scanned.send_replace(position + 1);
                }
                Err(reason) => {
                    tracing::error!("federation: the chain of this node stops: {reason}");
                    *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(reason);
                    // Wake whoever waits for the follower: they check the failure.
                    self.scanned.send_replace(u64::MAX);
                    return;
                }
            }
        }
    }

    /// Every `interval` until `stop`, and once more at the end: records a signed head in the
    /// journal if the chain grew since the last one.
    pub(crate) async fn record_heads(self: Arc<Self>, interval: Duration, mut stop: watch::Receiver<bool>) {
        loop {
            let stopping = tokio::select! {
                () = tokio::time::sleep(interval) => false,
                _ = stop.wait_for(|s| *s) => true,
            };
            let this = self.clone();
            let recorded = tokio::task::spawn_blocking(move || this.record_head()).await;
            match recorded {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!("federation: cannot record a signed head: {e}"),
                Err(e) => tracing::error!("federation: recording a signed head failed: {e}"),
            }
            if stopping {
                return;
            }
        }
    }

    /// Signs the current head and appends it to the journal, unless it is there already.
    pub(crate) fn record_head(&self) -> Result<(), Error> {
        let Some(head) = self.signed_head() else { return Ok(()) };
        let mut journaled = self.journaled.lock().unwrap_or_else(PoisonError::into_inner);
        if *journaled == Some(head.seq) {
            return Ok(());
        }
        self.journal.lock().unwrap_or_else(PoisonError::into_inner).append(&head)?;
        *journaled = Some(head.seq);
        Ok(())
    }

    /// Serves a partner's `Pull`: batches of this node's chain from `from_seq`, each with a signed
    /// head over its last record, first what is stored, then live, until the receiver goes away or
    /// `stop`. The first error ends the stream.
    pub(crate) async fn pull(
        self: Arc<Self>,
        from_seq: u64,
        max_batch: usize,
        mut stop: watch::Receiver<bool>,
    ) -> Result<mpsc::Receiver<Result<Batch, Error>>, Error> {
        // Know the whole chain as it stood when the call came before deciding where to start.
        let head = self.log.head().await?;
        tokio::select! {
            waited = self.wait_scanned(head) => waited?,
            _ = stop.wait_for(|s| *s) => return Err(Error::Server("the node is stopping".into())),
        }
        if let Some(reason) = self.failure() {
            return Err(Error::Server(format!("this node's chain is stopped: {reason}")));
        }
        let mut cursor = {
            let index = self.index.read().unwrap_or_else(PoisonError::into_inner);
            let published = index.len() as u64;
            if from_seq > published {
                return Err(Error::NotFound(format!(
                    "record seq {from_seq}: this node ({}) has published {published} records; \
                     if it held more before, its log was restored from an older backup",
                    self.node
                )));
            }
            let prev_hash = match from_seq.checked_sub(1) {
                Some(seq) => index[seq as usize].1,
                None => genesis_hash(&self.node),
            };
            Cursor { next_seq: from_seq, prev_hash }
        };
        let max_batch = max_batch.clamp(1, MAX_BATCH);
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            let mut published = self.published.subscribe();
            loop {
                let target = tokio::select! {
                    target = published.wait_for(|p| *p > cursor.next_seq) => match target {
                        Ok(target) => *target,
                        Err(_) => return,
                    },
                    () = tx.closed() => return,
                    _ = stop.wait_for(|s| *s) => return,
                };
                if let Err(e) = self.send_up_to(&mut cursor, target, max_batch, &tx).await {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
                if tx.is_closed() {
                    return;
                }
            }
        });
        Ok(rx)
    }

    /// Sends the records from the cursor up to seq `target` (excluded), in batches. The index says
    /// which events of the log they are and their hashes (the follower computed them from the same
    /// log, deterministically): only those events are read, and nothing is decoded or hashed again.
    async fn send_up_to(
        &self,
        cursor: &mut Cursor,
        target: u64,
        max_batch: usize,
        tx: &mpsc::Sender<Result<Batch, Error>>,
    ) -> Result<(), Error> {
        let mut batch = Vec::new();
        let mut bytes = 0;
        while cursor.next_seq < target {
            let wanted: Vec<(u64, Hash)> = {
                let index = self.index.read().unwrap_or_else(PoisonError::into_inner);
                let end = target.min(cursor.next_seq + READ_PAGE as u64) as usize;
                index[cursor.next_seq as usize..end].to_vec()
            };
            let last_position = wanted.last().map_or(0, |(p, _)| *p);
            let mut next = 0;
            while let Some(&(position, _)) = wanted.get(next) {
                let span = usize::try_from(last_position - position + 1).unwrap_or(READ_PAGE).min(READ_PAGE);
                let page = self.log.read_all(position, span).await?;
                if page.is_empty() {
                    return Err(Error::Server(format!(
                        "federation: the log ends before position {position}, where record seq {} is",
                        cursor.next_seq
                    )));
                }
                for event in page {
                    let Some(&(at, hash)) = wanted.get(next) else { break };
                    if event.position != at {
                        continue; // not published
                    }
                    next += 1;
                    bytes += event.data.len() + event.metadata.len();
                    batch.push(PublishedRecord {
                        origin: self.node.clone(),
                        seq: cursor.next_seq,
                        origin_position: event.position,
                        stream: event.stream,
                        version: event.version,
                        event_id: event.id,
                        event_type: event.event_type,
                        data: event.data,
                        metadata: event.metadata,
                        recorded_at_micros: event.recorded_at_micros,
                        prev_hash: cursor.prev_hash,
                        hash,
                    });
                    cursor.next_seq += 1;
                    cursor.prev_hash = hash;
                    if batch.len() >= max_batch || bytes >= MAX_BATCH_BYTES {
                        self.send(std::mem::take(&mut batch), tx).await?;
                        bytes = 0;
                    }
                }
            }
        }
        if !batch.is_empty() {
            self.send(batch, tx).await?;
        }
        Ok(())
    }

    async fn send(&self, batch: Vec<PublishedRecord>, tx: &mpsc::Sender<Result<Batch, Error>>) -> Result<(), Error> {
        let last = batch.last().expect("batches are never empty").head();
        let head = self.identity.sign_head(&self.node, last, now_micros());
        tx.send(Ok((batch, head))).await.map_err(|_| Error::Server("the receiver went away".into()))
    }
}
