//! The envelope of every event: who, why, where, how far it may travel, and where it was first
//! written. It goes into the log's metadata bytes, beside the payload.

use serde::{Deserialize, Serialize};

use super::{Event, Visibility};
use crate::values::{CausationId, CorrelationId, CountryCode, NodeId, require_text};
use crate::{Error, Result};

/// The version of the metadata's own JSON shape, written as its `v` field.
const METADATA_VERSION: u64 = 1;

/// What kind of actor did something.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A person signed in to the registry (a union's clerk, a city's analyst).
    User,
    /// A service acting on its own (an importer, a scheduled job).
    Service,
    /// Another node of the federation, replicating.
    Node,
}

/// Who did it: an opaque subject id from the identity provider, never a name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: String,
}

/// Where an event was first written. On the node that wrote it only `node` is set: its log position
/// is the event's own. Replication sets the rest when it copies the event to another node, so that
/// they survive the copy: the event's position in the origin's log, its seq in the origin's
/// published chain, and its chain hash (64 hex digits), from which replication resumes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    pub node: NodeId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

impl Origin {
    /// The origin of an event written by `node` itself.
    pub fn local(node: NodeId) -> Origin {
        Origin { node, position: None, seq: None, hash: None }
    }

    /// The position in the origin node's log, given the position the event has in this log.
    pub fn position_or(&self, recorded_position: u64) -> u64 {
        self.position.unwrap_or(recorded_position)
    }
}

/// The metadata of an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub actor: Actor,
    /// The request the event belongs to; every event of one decision shares it.
    pub correlation_id: CorrelationId,
    /// The command or earlier event that caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<CausationId>,
    /// The country of the organisation's seat when the event was written.
    pub jurisdiction: CountryCode,
    pub visibility: Visibility,
    pub origin: Origin,
}

impl Metadata {
    /// [`Error::Invalid`] on `metadata.<field>` unless the metadata is complete and no less
    /// restricted than `event`'s type allows: a HomeOnly event can never be marked Public.
    pub fn validate_for(&self, event: &Event) -> Result<()> {
        let at = |e: Error| e.within("metadata");
        require_text("actor.id", &self.actor.id, 255).map_err(at)?;
        self.jurisdiction.validate().map_err(|e| at(e.within("jurisdiction")))?;
        self.origin.node.validate().map_err(|e| at(e.within("origin")))?;
        if self.visibility < event.visibility() {
            return Err(Error::invalid(
                "metadata.visibility",
                format!(
                    "{} events are {:?} at the least; {:?} is not allowed",
                    event.name(),
                    event.visibility(),
                    self.visibility
                ),
            ));
        }
        Ok(())
    }

    /// The metadata as JSON bytes, with the version of their shape. Keys are written in
    /// alphabetical order at every level, as they always were: the same metadata is always the same
    /// bytes, which the log's idempotent retries compare.
    pub fn encode(&self) -> Result<Vec<u8>> {
        #[derive(Serialize)]
        struct Wire<'a> {
            actor: WireActor<'a>,
            #[serde(skip_serializing_if = "Option::is_none")]
            causation_id: Option<&'a CausationId>,
            correlation_id: &'a CorrelationId,
            jurisdiction: &'a CountryCode,
            origin: WireOrigin<'a>,
            v: u64,
            visibility: Visibility,
        }
        #[derive(Serialize)]
        struct WireActor<'a> {
            id: &'a str,
            kind: ActorKind,
        }
        #[derive(Serialize)]
        struct WireOrigin<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            hash: Option<&'a str>,
            node: &'a NodeId,
            #[serde(skip_serializing_if = "Option::is_none")]
            position: Option<u64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            seq: Option<u64>,
        }
        let wire = Wire {
            actor: WireActor { id: &self.actor.id, kind: self.actor.kind },
            causation_id: self.causation_id.as_ref(),
            correlation_id: &self.correlation_id,
            jurisdiction: &self.jurisdiction,
            origin: WireOrigin {
                hash: self.origin.hash.as_deref(),
                node: &self.origin.node,
                position: self.origin.position,
                seq: self.origin.seq,
            },
            v: METADATA_VERSION,
            visibility: self.visibility,
        };
        serde_json::to_vec(&wire).map_err(|e| Error::Codec {
            action: "encode",
            what: "metadata".into(),
            reason: e.to_string(),
        })
    }

    /// Metadata from the bytes [`Metadata::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Metadata> {
        /// The current shape with its version, read in one pass (every event is decoded with it).
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wire {
            v: u64,
            actor: Actor,
            correlation_id: CorrelationId,
            #[serde(default)]
            causation_id: Option<CausationId>,
            jurisdiction: CountryCode,
            visibility: Visibility,
            origin: Origin,
        }
        /// Only the version, to explain why the current shape did not fit.
        #[derive(Deserialize)]
        struct Version {
            v: Option<serde_json::Value>,
        }
        let codec = |reason: String| Error::Codec { action: "decode", what: "metadata".into(), reason };
        let version_error = |parsed: serde_json::Error| match serde_json::from_slice::<Version>(bytes)
            .map(|v| v.v.map(|v| v.as_u64()))
        {
            Ok(Some(Some(v))) if v != METADATA_VERSION => {
                codec(format!("metadata version {v} is newer than this build reads ({METADATA_VERSION})"))
            }
            Ok(None) => codec("missing its version field v".into()),
            _ => codec(parsed.to_string()),
        };
        let wire: Wire = serde_json::from_slice(bytes).map_err(version_error)?;
        if wire.v != METADATA_VERSION {
            return Err(codec(format!(
                "metadata version {} is newer than this build reads ({METADATA_VERSION})",
                wire.v
            )));
        }
        let Wire { v: _, actor, correlation_id, causation_id, jurisdiction, visibility, origin } = wire;
        Ok(Metadata { actor, correlation_id, causation_id, jurisdiction, visibility, origin })
    }
}

/// An event with its metadata, checked to belong together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub event: Event,
    pub metadata: Metadata,
}

/// An envelope as bytes for the log's `event_type`, `data` and `metadata`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedEnvelope {
    pub event_type: String,
    pub data: Vec<u8>,
    pub metadata: Vec<u8>,
}

impl Envelope {
    /// Pairs `event` with `metadata` after [`Metadata::validate_for`].
    pub fn new(event: Event, metadata: Metadata) -> Result<Self> {
        metadata.validate_for(&event)?;
        Ok(Envelope { event, metadata })
    }

    /// The three byte strings the log stores.
    pub fn encode(&self) -> Result<EncodedEnvelope> {
        let encoded = self.event.encode()?;
        Ok(EncodedEnvelope { event_type: encoded.event_type, data: encoded.data, metadata: self.metadata.encode()? })
    }

    /// The envelope from what the log stored, the event upcast to its current schema. Stored
    /// envelopes are not checked again: they were when written.
    pub fn decode(event_type: &str, data: &[u8], metadata: &[u8]) -> Result<Self> {
        Ok(Envelope { event: Event::decode(event_type, data)?, metadata: Metadata::decode(metadata)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How metadata was encoded before: through a JSON value, whose keys are sorted at every level.
    fn encoded_through_a_value(m: &Metadata) -> Vec<u8> {
        let mut value = serde_json::to_value(m).unwrap();
        value.as_object_mut().unwrap().insert("v".into(), METADATA_VERSION.into());
        serde_json::to_vec(&value).unwrap()
    }

    #[test]
    fn metadata_encodes_to_the_same_bytes_as_it_always_did() {
        let mut m = Metadata {
            actor: Actor { kind: ActorKind::User, id: "union-clerk \"7\"".into() },
            correlation_id: CorrelationId::from(uuid::Uuid::from_u128(7)),
            causation_id: None,
            jurisdiction: CountryCode::parse("IT").unwrap(),
            visibility: Visibility::Public,
            origin: Origin::local(NodeId::new("reggio-emilia").unwrap()),
        };
        assert_eq!(m.encode().unwrap(), encoded_through_a_value(&m));
        m.causation_id = Some(CausationId::from(uuid::Uuid::from_u128(9)));
        m.origin.position = Some(42);
        m.origin.seq = Some(17);
        m.origin.hash = Some("ab".repeat(32));
        m.actor.kind = ActorKind::Node;
        m.visibility = Visibility::HomeOnly;
        assert_eq!(m.encode().unwrap(), encoded_through_a_value(&m));
        assert_eq!(Metadata::decode(&m.encode().unwrap()).unwrap(), m);
    }
}
