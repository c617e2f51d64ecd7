//! A node's log as read over gRPC, decoded, and the checks of what a node holds from another.

use std::collections::HashSet;

use imece_domain::{Metadata, NodeId, Visibility};
use imece_federation::{Chain, hash_to_hex};
use imece_log::{EventId, RecordedEvent, StreamId};
use imece_proto::v1 as pb;

/// One event of a node's log with its metadata decoded.
#[derive(Clone, Debug)]
pub struct Entry {
    pub event: RecordedEvent,
    pub metadata: Metadata,
}

/// Decodes a page of `LogEvent`s; panics on anything a node should never have written.
pub fn entries(events: Vec<pb::LogEvent>) -> Vec<Entry> {
    events
        .into_iter()
        .map(|e| {
            let metadata = Metadata::decode(&e.metadata)
                .unwrap_or_else(|err| panic!("event at position {} has unreadable metadata: {err}", e.position));
            let id = uuid::Uuid::parse_str(&e.event_id).expect("a UUID event id");
            let event = RecordedEvent {
                position: e.position,
                stream: StreamId::new(&e.stream).expect("a valid stream"),
                version: e.version,
                id: EventId::from_bytes(*id.as_bytes()),
                event_type: e.event_type,
                data: e.data.into(),
                metadata: e.metadata.into(),
                recorded_at_micros: e.recorded_at_micros,
            };
            Entry { event, metadata }
        })
        .collect()
}

/// What `origin` publishes, from its own log: its own public events in log order, each with the
/// hash of its record in `origin`'s chain (rebuilt here from the log, independently of the node).
pub fn published(origin: &str, log: &[Entry]) -> Vec<(Entry, String)> {
    let node = NodeId::new(origin).expect("a node id");
    let mut chain = Chain::new(node.clone());
    let mut out = Vec::new();
    for entry in log {
        let record = chain.push_decoded(&entry.event, &entry.metadata).expect("the origin's chain builds");
        let own_public = entry.metadata.origin.node == node && entry.metadata.visibility == Visibility::Public;
        assert_eq!(record.is_some(), own_public, "is_public disagrees at {origin}'s position {}", entry.event.position);
        if let Some(record) = record {
            assert_eq!(record.seq, out.len() as u64);
            out.push((entry.clone(), hash_to_hex(&record.hash)));
        }
    }
    out
}

/// The events of `log` first written by `origin` (replicated ones, on a node that is not `origin`).
pub fn from_origin<'a>(origin: &str, log: &'a [Entry]) -> Vec<&'a Entry> {
    log.iter().filter(|e| e.metadata.origin.node.as_str() == origin).collect()
}

/// Checks that `holder`'s log holds exactly `origin`'s published events: the same ids, types,
/// streams, data and envelope, in the origin's order, with seq 0, 1, 2… and the origin's position
/// and chain hash; none twice; and nothing of `origin` that is not public.
pub fn assert_replica(holder: &str, holder_log: &[Entry], origin: &str, published: &[(Entry, String)]) {
    let held = from_origin(origin, holder_log);
    for e in &held {
        assert_eq!(
            e.metadata.visibility,
            Visibility::Public,
            "{holder} holds a {:?} event of {origin} ({} at position {}): person-level data left its home node",
            e.metadata.visibility,
            e.event.event_type,
            e.event.position
        );
    }
    let ids: HashSet<EventId> = held.iter().map(|e| e.event.id).collect();
    assert_eq!(ids.len(), held.len(), "{holder} holds some event of {origin} twice");
    let at = |i: usize| format!("{holder}'s copy of {origin}'s record seq {i}");
    for (i, (e, (o, hash))) in held.iter().zip(published).enumerate() {
        assert_eq!(e.event.id, o.event.id, "{}: event id", at(i));
        assert_eq!(e.event.event_type, o.event.event_type, "{}: type", at(i));
        assert_eq!(e.event.stream, o.event.stream, "{}: stream", at(i));
        assert_eq!(e.event.data, o.event.data, "{}: data", at(i));
        assert!(e.event.recorded_at_micros > 0, "{}: recorded_at", at(i));
        let (m, om) = (&e.metadata, &o.metadata);
        assert_eq!(m.origin.seq, Some(i as u64), "{}: origin.seq", at(i));
        assert_eq!(m.origin.position, Some(o.event.position), "{}: origin.position", at(i));
        assert_eq!(m.origin.hash.as_deref(), Some(hash.as_str()), "{}: origin.hash", at(i));
        assert_eq!(
            (&m.actor, &m.correlation_id, &m.causation_id, &m.jurisdiction, m.visibility),
            (&om.actor, &om.correlation_id, &om.causation_id, &om.jurisdiction, om.visibility),
            "{}: envelope",
            at(i)
        );
    }
    assert_eq!(
        held.len(),
        published.len(),
        "{holder} holds {} events of {origin}, which published {}",
        held.len(),
        published.len()
    );
}
