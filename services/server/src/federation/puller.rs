//! This node's side of federation as a receiver: one task per partner pulls the partner's chain,
//! verifies it, and appends its records to this log as replicated events.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use imece_domain::{Metadata, NodeId};
use imece_federation::{ChainHead, HeadStatus, PublicKey, PublishedRecord, Verifier, hash_to_hex};
use imece_log::{Direction, EventLog, ExpectedVersion, NewEvent, StreamAppend, StreamFrom, StreamId};
use imece_proto::v1 as pb;
use imece_proto::v1::replication_client::ReplicationClient;
use tokio::sync::watch;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use super::publisher::{DEFAULT_BATCH, Publisher};
use super::wire;
use crate::config::PartnerConfig;
use crate::{Error, MAX_MESSAGE_BYTES};

/// The first wait before connecting again after an error; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// The longest wait between two attempts to reach a partner.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long connecting to a partner may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where replication from a partner stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartnerState {
    /// Reading this node's log to find where replication stopped.
    Starting,
    /// Connecting, or waiting to connect again after an error.
    Connecting,
    /// Receiving stored records.
    CatchingUp,
    /// Up to date, receiving as the partner writes.
    Live,
    /// The partner sent something that failed verification: nothing after it is applied.
    Faulty,
}

/// What an operator sees of one partner.
#[derive(Clone, Debug)]
pub struct PartnerStatus {
    pub node: NodeId,
    pub endpoint: String,
    pub state: PartnerState,
    /// How many of the partner's records this node holds: the next seq to ask for.
    pub received: u64,
    /// The partner's published count, as its last signed head said.
    pub partner_published: u64,
    /// The last seq the partner's signature confirmed.
    pub confirmed_seq: Option<u64>,
    pub fault: Option<String>,
    pub last_error: Option<String>,
    pub last_received_micros: i64,
    /// Records received again that this node already held, skipped.
    pub redelivered: u64,
}

/// One partner: its configuration, parsed, and its status.
#[derive(Debug)]
pub(crate) struct Partner {
    pub(crate) node: NodeId,
    endpoint: String,
    key: PublicKey,
    token: String,
    ca_cert: Option<std::path::PathBuf>,
    status: Mutex<PartnerStatus>,
}

impl Partner {
    pub(crate) fn new(config: &PartnerConfig) -> Result<Partner, Error> {
        let node = NodeId::new(&config.node).map_err(|e| Error::Config(format!("partner {}: {e}", config.node)))?;
        let key = config.public_key.parse().map_err(|e| Error::Config(format!("partner {}: {e}", config.node)))?;
        let status = PartnerStatus {
            node: node.clone(),
            endpoint: config.endpoint.clone(),
            state: PartnerState::Starting,
            received: 0,
            partner_published: 0,
            confirmed_seq: None,
            fault: None,
            last_error: None,
            last_received_micros: 0,
            redelivered: 0,
        };
        Ok(Partner {
            node,
            endpoint: config.endpoint.clone(),
            key,
            token: config.token.clone(),
            ca_cert: config.ca_cert.clone(),
            status: Mutex::new(status),
        })
    }

    pub(crate) fn status(&self) -> PartnerStatus {
        self.status.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn update(&self, f: impl FnOnce(&mut PartnerStatus)) {
        f(&mut self.status.lock().unwrap_or_else(PoisonError::into_inner));
    }

    async fn connect(&self) -> Result<ReplicationClient<Channel>, String> {
        let mut endpoint = Endpoint::from_shared(self.endpoint.clone())
            .map_err(|e| format!("endpoint {}: {e}", self.endpoint))?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(20))
            .keep_alive_timeout(Duration::from_secs(10));
        if let Some(ca) = &self.ca_cert {
            let pem = std::fs::read(ca).map_err(|e| format!("cannot read {}: {e}", ca.display()))?;
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))
                .map_err(|e| format!("tls: {e}"))?;
        }
        let channel = endpoint.connect().await.map_err(|e| format!("cannot connect to {}: {e}", self.endpoint))?;
        Ok(ReplicationClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES))
    }
}

/// Why one session with a partner ended.
enum Ended {
    /// Stop asked.
    Stopped,
    /// The partner's data failed verification: stop pulling.
    Fault(String),
    /// Transport, server or local trouble: try again later.
    Error(String),
}

fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

/// Pulls from `partner` until `stop`, or until the partner's data fails verification.
pub(crate) async fn run(partner: Arc<Partner>, publisher: Arc<Publisher>, mut stop: watch::Receiver<bool>) {
    // Where replication stopped is in the log itself: the last replicated record of this origin.
    let head = match publisher.log.head().await {
        Ok(head) => head,
        Err(e) => {
            partner.update(|s| s.last_error = Some(format!("cannot read the log's head: {e}")));
            return;
        }
    };
    tokio::select! {
        waited = publisher.wait_scanned(head) => if let Err(e) = waited {
            partner.update(|s| s.last_error = Some(e.to_string()));
            return;
        },
        _ = stop.wait_for(|s| *s) => return,
    }
    if let Some(reason) = publisher.failure() {
        // Where replication stopped cannot be known past an event this build cannot read.
        partner.update(|s| s.last_error = Some(format!("not pulling: this node's log cannot be read: {reason}")));
        return;
    }
    let mut applied = publisher.received(&partner.node);
    let mut known_streams = HashSet::new();
    let mut backoff = FIRST_BACKOFF;
    loop {
        partner.update(|s| {
            s.state = PartnerState::Connecting;
            s.received = applied.map_or(0, |h| h.seq + 1);
        });
        let session =
            Session { partner: &partner, log: &*publisher.log, applied: &mut applied, streams: &mut known_streams };
        let ended = tokio::select! {
            ended = session.run(&mut backoff) => ended,
            _ = stop.wait_for(|s| *s) => Ended::Stopped,
        };
        match ended {
            Ended::Stopped => return,
            Ended::Fault(fault) => {
                tracing::error!("federation: partner {} is faulty: {fault}", partner.node);
                partner.update(|s| {
                    s.state = PartnerState::Faulty;
                    s.fault = Some(fault);
                });
                return;
            }
            Ended::Error(error) => {
                tracing::warn!("federation: partner {}: {error}; trying again in {backoff:?}", partner.node);
                partner.update(|s| {
                    s.state = PartnerState::Connecting;
                    s.last_error = Some(error);
                });
            }
        }
        tokio::select! {
            () = tokio::time::sleep(jittered(backoff)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// `d` plus up to a quarter more, so that partners restarting together do not call in step.
fn jittered(d: Duration) -> Duration {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |t| t.subsec_nanos());
    d + d.mul_f64(f64::from(nanos % 1000) / 4000.0)
}

/// One connection to a partner: pull, verify, append, until it ends.
struct Session<'a> {
    partner: &'a Partner,
    log: &'a dyn EventLog,
    /// The last record appended to this log.
    applied: &'a mut Option<ChainHead>,
    /// Streams this partner may write (checked once: none of them is another node's).
    streams: &'a mut HashSet<StreamId>,
}

impl Session<'_> {
    async fn run(self, backoff: &mut Duration) -> Ended {
        let Session { partner, log, applied, streams } = self;
        let mut client = match partner.connect().await {
            Ok(client) => client,
            Err(e) => return Ended::Error(e),
        };
        let mut verifier = Verifier::new(partner.node.clone(), partner.key, *applied);
        let from_seq = verifier.next_seq();
        let Ok(bearer) = format!("Bearer {}", partner.token).parse::<tonic::metadata::AsciiMetadataValue>() else {
            return Ended::Error("the partner's token is not valid in a header".into());
        };
        fn with_token<T>(message: T, bearer: &tonic::metadata::AsciiMetadataValue) -> tonic::Request<T> {
            let mut request = tonic::Request::new(message);
            request.metadata_mut().insert("authorization", bearer.clone());
            request
        }
        // How far the partner's chain goes now: until this node has it all, it is catching up.
        let published = match client.get_chain_head(with_token(pb::GetChainHeadRequest {}, &bearer)).await {
            Ok(reply) if reply.get_ref().node == partner.node.as_str() => reply.into_inner().published,
            Ok(reply) => {
                return Ended::Fault(format!(
                    "the node at {} is {}, not {}",
                    partner.endpoint,
                    reply.get_ref().node,
                    partner.node
                ));
            }
            Err(status) => return Ended::Error(format!("GetChainHead: {}", status_text(&status))),
        };
        partner.update(|s| s.partner_published = s.partner_published.max(published));
        let request = with_token(pb::PullRequest { from_seq, max_batch: DEFAULT_BATCH as u32 }, &bearer);
        let mut batches = match client.pull(request).await {
            Ok(response) => response.into_inner(),
            Err(status) => return Ended::Error(format!("Pull from seq {from_seq}: {}", status_text(&status))),
        };
        partner.update(|s| {
            s.state = if from_seq >= published { PartnerState::Live } else { PartnerState::CatchingUp };
            s.last_error = None;
        });
        // Verifying the next batch overlaps with appending this one: one append in flight, in order.
        let (to_append, mut appending) = tokio::sync::mpsc::channel::<Verified>(1);
        let applied_now = Mutex::new(*applied);
        let append = async {
            while let Some(verified) = appending.recv().await {
                log.append_many(verified.appends)
                    .await
                    .map_err(|e| format!("cannot append the partner's records to this log: {e}"))?;
                *applied_now.lock().unwrap_or_else(PoisonError::into_inner) = Some(verified.last);
                partner.update(|s| {
                    s.received = verified.last.seq + 1;
                    s.partner_published = s.partner_published.max(verified.last.seq + 1);
                    s.state = if s.received >= published { PartnerState::Live } else { PartnerState::CatchingUp };
                    s.confirmed_seq = verified.confirmed;
                    s.last_received_micros = now_micros();
                    s.redelivered += verified.redelivered;
                });
            }
            Ok::<(), String>(())
        };
        let receive = async move {
            loop {
                let batch = match batches.message().await {
                    Ok(Some(batch)) => batch,
                    Ok(None) => return Ended::Error("the partner ended the stream".into()),
                    Err(status) => return Ended::Error(format!("Pull: {}", status_text(&status))),
                };
                *backoff = FIRST_BACKOFF;
                let (records, redelivered) = match verify(&mut verifier, batch) {
                    Ok(checked) => checked,
                    Err(fault) => return Ended::Fault(fault),
                };
                if records.is_empty() {
                    partner.update(|s| s.redelivered += redelivered);
                    continue;
                }
                if let Err(end) = check_streams(log, &partner.node, &records, streams).await {
                    return end;
                }
                let last = records.last().expect("not empty").record.head();
                let appends = match replicated(records) {
                    Ok(appends) => appends,
                    Err(e) => return Ended::Error(e),
                };
                let confirmed = verifier.confirmed().map(|h| h.seq);
                let verified = Verified { appends, last, confirmed, redelivered };
                if to_append.send(verified).await.is_err() {
                    return Ended::Error(String::new()); // the append failed: its error is the one to tell
                }
            }
        };
        let ended = {
            tokio::pin!(append);
            tokio::pin!(receive);
            tokio::select! {
                ended = &mut receive => match append.await {
                    // What was verified before the session ended is appended first.
                    Ok(()) => ended,
                    Err(e) => Ended::Error(e),
                },
                appended = &mut append => Ended::Error(appended.err().unwrap_or_default()),
            }
        };
        *applied = applied_now.into_inner().unwrap_or_else(PoisonError::into_inner);
        ended
    }
}

/// A record that passed verification, with its metadata as the verifier decoded it.
struct Checked {
    record: PublishedRecord,
    metadata: Metadata,
}

/// A batch verified and ready to append.
struct Verified {
    appends: Vec<StreamAppend>,
    /// Its last record.
    last: ChainHead,
    confirmed: Option<u64>,
    redelivered: u64,
}

/// Verifies a batch: every record in order and linked, and the signed head that must cover its
/// last record. Records this node already verified (a redelivery) are skipped. Returns the new
/// records, all of them confirmed by the head, and how many were skipped.
fn verify(verifier: &mut Verifier, batch: pb::PullBatch) -> Result<(Vec<Checked>, u64), String> {
    let mut records = Vec::with_capacity(batch.records.len());
    let mut redelivered = 0;
    for record in batch.records {
        let record = wire::record_from_proto(record)?;
        if verifier.is_redelivery(&record) {
            redelivered += 1;
            continue;
        }
        let metadata = verifier.verify_decoded(&record).map_err(|f| f.to_string())?;
        records.push(Checked { record, metadata });
    }
    let Some(Checked { record: last, .. }) = records.last() else { return Ok((records, redelivered)) };
    let head = batch.head.ok_or_else(|| format!("the batch ending at seq {} has no signed head", last.seq))?;
    let head = wire::head_from_proto(head)?;
    if head.seq != last.seq {
        return Err(format!("the batch ends at seq {} but its signed head is for seq {}", last.seq, head.seq));
    }
    match verifier.verify_head(&head).map_err(|f| f.to_string())? {
        HeadStatus::Confirmed => Ok((records, redelivered)),
        other => Err(format!("the signed head for seq {} could not be checked ({other:?})", head.seq)),
    }
}

/// Refuses records that would write a stream this node holds from another origin: each node
/// writes only its own organisations.
async fn check_streams(
    log: &dyn EventLog,
    partner: &NodeId,
    records: &[Checked],
    known: &mut HashSet<StreamId>,
) -> Result<(), Ended> {
    for Checked { record, .. } in records {
        if known.contains(&record.stream) {
            continue;
        }
        let first = log
            .read_stream(&record.stream, StreamFrom::Start, Direction::Forward, 1)
            .await
            .map_err(|e| Ended::Error(format!("cannot read stream {}: {e}", record.stream)))?;
        if let Some(first) = first.first() {
            let owner = Metadata::decode(&first.metadata)
                .map_err(|e| Ended::Error(format!("stream {} on this node: {e}", record.stream)))?
                .origin
                .node;
            if owner != *partner {
                return Err(Ended::Fault(format!(
                    "record seq {} writes stream {}, which node {owner} owns",
                    record.seq, record.stream
                )));
            }
        }
        known.insert(record.stream.clone());
    }
    Ok(())
}

/// The records as events of this log: same stream, id, type and data; the metadata (as the verifier
/// decoded it) keeps the origin's and adds the record's origin position, seq and hash, from which
/// replication resumes. Consecutive records of one stream go in one part.
fn replicated(records: Vec<Checked>) -> Result<Vec<StreamAppend>, String> {
    let mut appends: Vec<StreamAppend> = Vec::new();
    for Checked { record: r, mut metadata } in records {
        metadata.origin.position = Some(r.origin_position);
        metadata.origin.seq = Some(r.seq);
        metadata.origin.hash = Some(hash_to_hex(&r.hash));
        let metadata = metadata.encode().map_err(|e| format!("record seq {}: {e}", r.seq))?;
        let event = NewEvent { id: r.event_id, event_type: r.event_type, data: r.data, metadata: metadata.into() };
        match appends.last_mut() {
            Some(last) if last.stream == r.stream => last.events.push(event),
            _ => appends.push(StreamAppend { stream: r.stream, expected: ExpectedVersion::Any, events: vec![event] }),
        }
    }
    Ok(appends)
}

fn status_text(status: &tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}
