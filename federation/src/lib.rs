//! Federation between imece nodes, pure: no network, no server (ADR 0010).
//!
//! Each partner city runs a node with its own log. A node publishes its own public events
//! ([`is_public`]) as a hash chain ([`Chain`], [`PublishedRecord`]): every record carries the
//! BLAKE3 hash of the one before, and the node periodically signs the head of its chain with its
//! ed25519 key ([`Identity`], [`SignedHead`]). A receiver checks a partner's chain and heads with a
//! [`Verifier`]: a forged, altered, reordered or missing record is a [`Fault`], and nothing after
//! it is accepted. [`verify_log`] rebuilds a node's own chain offline and checks its stored heads.
//! The byte encodings hashed and signed are in `FORMAT.md`.
//!
//! ```
//! use imece_domain::{Actor, ActorKind, CorrelationId, CountryCode, Metadata, NodeId, Origin, Visibility};
//! use imece_federation::{Chain, HeadStatus, Identity, Verifier};
//! use imece_log::{EventId, RecordedEvent, StreamId};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let izmir = NodeId::new("tr-izmir")?;
//! let identity = Identity::generate()?;
//!
//! // The node's log: one public event it wrote itself.
//! let metadata = Metadata {
//!     actor: Actor { kind: ActorKind::User, id: "clerk-7".into() },
//!     correlation_id: CorrelationId::from(uuid::Uuid::from_u128(1)),
//!     causation_id: None,
//!     jurisdiction: CountryCode::parse("TR")?,
//!     visibility: Visibility::Public,
//!     origin: Origin::local(izmir.clone()),
//! };
//! let event = RecordedEvent {
//!     position: 0,
//!     stream: StreamId::new("org-0196f1d2")?,
//!     version: 0,
//!     id: EventId::new_v7(),
//!     event_type: "OrganisationRenamed.v1".into(),
//!     data: br#"{"name":"Tire Sut"}"#.as_slice().into(),
//!     metadata: metadata.encode()?.into(),
//!     recorded_at_micros: 1_764_000_000_000_000,
//! };
//!
//! // Publish: chain the public events, sign the head.
//! let mut chain = Chain::new(izmir.clone());
//! let record = chain.push(&event)?.expect("a public event of the node's own");
//! let head = identity.sign_head(&izmir, chain.head().unwrap(), 1_764_000_000_500_000);
//!
//! // Receive: the partner knows İzmir by its public key, as text in its configuration.
//! let key = identity.public_key().to_string().parse()?;
//! let mut verifier = Verifier::new(izmir, key, None);
//! verifier.verify(&record)?;
//! assert_eq!(verifier.verify_head(&head)?, HeadStatus::Confirmed);
//! # Ok(())
//! # }
//! ```

mod chain;
mod error;
mod head;
mod identity;
mod journal;
mod offline;
mod publish;
mod verify;

pub use chain::{Chain, ChainHead, Hash, PublishedRecord, genesis_hash, hash_from_hex, hash_to_hex};
pub use error::{Error, Result};
pub use head::SignedHead;
pub use identity::{Identity, KEY_FILE_LEN, PUBLIC_KEY_PREFIX, PublicKey};
pub use journal::HeadJournal;
pub use offline::{LogCheck, Problem, Report, verify_log};
pub use publish::is_public;
pub use verify::{Fault, HeadStatus, MAX_PENDING_HEADS, RECENT_HASHES, Verifier};
