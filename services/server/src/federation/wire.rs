//! The federation's values to and from their protobuf messages.

use imece_domain::NodeId;
use imece_federation::{PublishedRecord, SignedHead};
use imece_log::{EventId, StreamId};
use imece_proto::v1 as pb;

pub(crate) fn record_to_proto(r: PublishedRecord) -> pb::PublishedRecord {
    pb::PublishedRecord {
        origin: r.origin.to_string(),
        seq: r.seq,
        origin_position: r.origin_position,
        stream: r.stream.to_string(),
        version: r.version,
        event_id: bytes::Bytes::copy_from_slice(r.event_id.as_bytes()),
        event_type: r.event_type,
        data: r.data,
        metadata: r.metadata,
        recorded_at_micros: r.recorded_at_micros,
        prev_hash: bytes::Bytes::copy_from_slice(&r.prev_hash),
        hash: bytes::Bytes::copy_from_slice(&r.hash),
    }
}

pub(crate) fn head_to_proto(h: &SignedHead) -> pb::SignedHead {
    pb::SignedHead {
        node: h.node.to_string(),
        seq: h.seq,
        hash: h.hash.to_vec(),
        signed_at_micros: h.signed_at_micros,
        signature: h.signature.to_vec(),
    }
}

/// A record as a partner sent it. A field that cannot be what it claims (a hash of another length)
/// is a partner's fault: the message names the field.
pub(crate) fn record_from_proto(r: pb::PublishedRecord) -> Result<PublishedRecord, String> {
    let seq = r.seq;
    let at = |field: &str, rule: String| format!("record seq {seq}: {field}: {rule}");
    let origin = NodeId::new(&r.origin).map_err(|e| at("origin", e.to_string()))?;
    let stream = StreamId::new(&r.stream).map_err(|e| at("stream", e.to_string()))?;
    let event_id = fixed(&r.event_id).ok_or_else(|| at("event_id", "must be 16 bytes".into()))?;
    let prev_hash = fixed(&r.prev_hash).ok_or_else(|| at("prev_hash", "must be 32 bytes".into()))?;
    let hash = fixed(&r.hash).ok_or_else(|| at("hash", "must be 32 bytes".into()))?;
    Ok(PublishedRecord {
        origin,
        seq,
        origin_position: r.origin_position,
        stream,
        version: r.version,
        event_id: EventId::from_bytes(event_id),
        event_type: r.event_type,
        data: r.data,
        metadata: r.metadata,
        recorded_at_micros: r.recorded_at_micros,
        prev_hash,
        hash,
    })
}

pub(crate) fn head_from_proto(h: pb::SignedHead) -> Result<SignedHead, String> {
    let at = |field: &str, rule: &str| format!("signed head for seq {}: {field}: {rule}", h.seq);
    Ok(SignedHead {
        node: NodeId::new(&h.node).map_err(|e| at("node", &e.to_string()))?,
        seq: h.seq,
        hash: fixed(&h.hash).ok_or_else(|| at("hash", "must be 32 bytes"))?,
        signed_at_micros: h.signed_at_micros,
        signature: fixed(&h.signature).ok_or_else(|| at("signature", "must be 64 bytes"))?,
    })
}

fn fixed<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
    bytes.try_into().ok()
}
