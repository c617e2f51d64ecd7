//! Logs built from real domain metadata encodings, and the tampering a test applies to a chain.

use bytes::Bytes;
use imece_domain::{Actor, ActorKind, CorrelationId, CountryCode, Metadata, NodeId, Origin, Visibility};
use imece_federation::{Chain, Identity, PublishedRecord, SignedHead};
use imece_log::{EventId, RecordedEvent, StreamId};

pub fn node(name: &str) -> NodeId {
    NodeId::new(name).unwrap()
}

pub fn izmir() -> NodeId {
    node("tr-izmir")
}

pub fn reggio() -> NodeId {
    node("it-reggio-emilia")
}

/// A fixed key per `n`, so that failures are reproducible.
pub fn identity(n: u8) -> Identity {
    let mut seed = [n; 32];
    seed[0] = 0x9d;
    Identity::from_seed(seed)
}

/// Metadata as the domain encodes it.
pub fn metadata(origin: &NodeId, visibility: Visibility, origin_position: Option<u64>) -> Bytes {
    Metadata {
        actor: Actor { kind: ActorKind::User, id: "union-clerk-7".into() },
        correlation_id: CorrelationId::from(uuid::Uuid::from_u128(0x0196_f1d2_0000_7000_8000_0000_0000_0001)),
        causation_id: None,
        jurisdiction: CountryCode::parse("TR").unwrap(),
        visibility,
        origin: Origin { position: origin_position, ..Origin::local(origin.clone()) },
    }
    .encode()
    .unwrap()
    .into()
}

/// A log being built, one event at a time, positions from 0.
#[derive(Default)]
pub struct Log {
    pub events: Vec<RecordedEvent>,
}

impl Log {
    pub fn push(&mut self, event_type: &str, metadata: Bytes) -> &mut Self {
        let position = self.events.len() as u64;
        self.events.push(RecordedEvent {
            position,
            stream: StreamId::new("org-0196f1d2-5a3b-7c4d-8e5f-000000000001").unwrap(),
            version: position,
            id: EventId::from(uuid::Uuid::from_u128(0x0196_f1d2_0000_7000_8000_0000_0000_1000 + u128::from(position))),
            event_type: event_type.into(),
            data: format!(r#"{{"occurred_on":"2025-04-{:02}","n":{position}}}"#, position % 28 + 1).into(),
            metadata,
            recorded_at_micros: 1_764_000_000_000_000 + position as i64 * 1_000,
        });
        self
    }

    /// An event the node wrote itself.
    pub fn own(&mut self, node: &NodeId, event_type: &str, visibility: Visibility) -> &mut Self {
        self.push(event_type, metadata(node, visibility, None))
    }
}

/// İzmir's log: its own public, union and home-only events, and an event replicated from Reggio
/// Emilia. It publishes positions 0, 3, 6, 7 and 8.
pub fn izmir_log() -> Vec<RecordedEvent> {
    let (i, r) = (izmir(), reggio());
    let mut log = Log::default();
    log.own(&i, "OrganisationRegistered.v1", Visibility::Public)
        .own(&i, "PersonEnrolled.v1", Visibility::HomeOnly)
        .own(&i, "MemberAdmitted.v1", Visibility::HomeOnly)
        .own(&i, "GeneralAssemblyHeld.v2", Visibility::Public)
        .push("OrganisationRegistered.v1", metadata(&r, Visibility::Public, Some(17)))
        .own(&i, "AnnualAccountsApproved.v1", Visibility::Union)
        .own(&i, "SurplusAllocated.v2", Visibility::Public)
        .own(&i, "MembershipSnapshotDeclared.v1", Visibility::Public)
        .own(&i, "OrganElected.v1", Visibility::Public);
    log.events
}

/// The positions of [`izmir_log`] that İzmir publishes.
pub const IZMIR_PUBLISHED: [u64; 5] = [0, 3, 6, 7, 8];

/// The chain a node builds from its log.
pub fn chain_of(node: &NodeId, log: &[RecordedEvent]) -> Vec<PublishedRecord> {
    let mut chain = Chain::new(node.clone());
    log.iter().filter_map(|e| chain.push(e).unwrap()).collect()
}

/// İzmir's chain.
pub fn izmir_chain() -> Vec<PublishedRecord> {
    chain_of(&izmir(), &izmir_log())
}

/// A head of `records`' chain at `seq`, signed by `identity` for `node`.
pub fn head_at(identity: &Identity, node: &NodeId, records: &[PublishedRecord], seq: usize) -> SignedHead {
    identity.sign_head(node, records[seq].head(), 1_764_000_100_000_000 + seq as i64)
}

/// The record with its hash recomputed over its (changed) content, as a forger would.
pub fn rehash(mut record: PublishedRecord) -> PublishedRecord {
    record.hash = record.computed_hash();
    record
}

/// `records` from `from` on, relinked and rehashed after a change at `from`: a forger who rewrites
/// the rest of the chain to hide the change.
pub fn rechain(records: &mut [PublishedRecord], from: usize) {
    for i in from..records.len() {
        if i > 0 {
            records[i].prev_hash = records[i - 1].hash;
        }
        records[i].hash = records[i].computed_hash();
    }
}
