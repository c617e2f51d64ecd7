//! The hash chain of the events a node publishes: [`PublishedRecord`], the [`Chain`] that builds
//! it from the node's own log, and the canonical encoding its hashes are taken over (FORMAT.md).

use std::fmt;

use bytes::Bytes;
use imece_domain::{Metadata, NodeId};
use imece_log::{EventId, RecordedEvent, StreamId};

use crate::publish::is_public;
use crate::{Error, Result};

/// A BLAKE3 hash: 32 bytes.
pub type Hash = [u8; 32];

/// Domain-separation tag of a record's hash (FORMAT.md, "Record hash").
pub(crate) const RECORD_TAG: &[u8] = b"imece federation record v1";
/// Domain-separation tag of a chain's genesis hash (FORMAT.md, "Genesis").
pub(crate) const GENESIS_TAG: &[u8] = b"imece chain v1";

/// The prev_hash of a node's first published record (seq 0): BLAKE3 over the genesis tag and the
/// node's id, both length-prefixed. Every node's chain starts somewhere else, so a record can
/// never be moved to the start of another node's chain.
pub fn genesis_hash(node: &NodeId) -> Hash {
    let mut h = blake3::Hasher::new();
    put_bytes(&mut h, GENESIS_TAG);
    put_bytes(&mut h, node.as_str().as_bytes());
    *h.finalize().as_bytes()
}

/// Where a chain stands: the seq of its last record and that record's hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHead {
    /// The seq of the last record.
    pub seq: u64,
    /// The hash of the last record.
    pub hash: Hash,
}

impl fmt::Debug for ChainHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHead {{ seq: {}, hash: {} }}", self.seq, hex(&self.hash))
    }
}

impl fmt::Display for ChainHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seq {} (hash {})", self.seq, hex(&self.hash))
    }
}

/// One published event, as it travels between nodes: the event as its origin node recorded it,
/// its place in the origin's chain (`seq`) and log (`origin_position`), and the chain's links.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedRecord {
    /// The node that wrote the event and publishes it.
    pub origin: NodeId,
    /// Its place in the origin's chain: gapless from 0, over the published events only.
    pub seq: u64,
    /// Its position in the origin's log.
    pub origin_position: u64,
    pub stream: StreamId,
    pub version: u64,
    pub event_id: EventId,
    pub event_type: String,
    pub data: Bytes,
    /// The event's metadata bytes exactly as the origin stored them (`imece_domain::Metadata`).
    pub metadata: Bytes,
    pub recorded_at_micros: i64,
    /// The hash of the record before (seq − 1), or [`genesis_hash`] of the origin for seq 0.
    pub prev_hash: Hash,
    /// BLAKE3 over the canonical encoding of every field above (FORMAT.md).
    pub hash: Hash,
}

impl PublishedRecord {
    /// The hash the record's content gives, to compare with the one it carries.
    pub fn computed_hash(&self) -> Hash {
        let mut h = blake3::Hasher::new();
        put_bytes(&mut h, RECORD_TAG);
        put_bytes(&mut h, self.origin.as_str().as_bytes());
        put_u64(&mut h, self.seq);
        put_u64(&mut h, self.origin_position);
        put_bytes(&mut h, self.stream.as_str().as_bytes());
        put_u64(&mut h, self.version);
        h.update(self.event_id.as_bytes());
        put_bytes(&mut h, self.event_type.as_bytes());
        put_bytes(&mut h, &self.data);
        put_bytes(&mut h, &self.metadata);
        h.update(&self.recorded_at_micros.to_be_bytes());
        h.update(&self.prev_hash);
        *h.finalize().as_bytes()
    }

    /// Whether the record's hash is the hash of its content. Says nothing of its place in a chain.
    pub fn is_intact(&self) -> bool {
        self.computed_hash() == self.hash
    }

    /// The chain head this record makes: its seq and hash.
    pub fn head(&self) -> ChainHead {
        ChainHead { seq: self.seq, hash: self.hash }
    }
}

/// Builds a node's chain from its own log: feed every event in log order, get a
/// [`PublishedRecord`] for each one the node publishes ([`is_public`]).
///
/// Deterministic: the chain depends only on the bytes of the log and the node's id, so rebuilding
/// it from the log (after a restart, or offline in `imece verify`) gives the same records and
/// hashes. Each node publishes only its own events: an event replicated from another node is
/// skipped here, whatever its visibility; its origin publishes it.
#[derive(Clone, Debug)]
pub struct Chain {
    node: NodeId,
    next_seq: u64,
    last_hash: Hash,
    last_position: Option<u64>,
}

impl Chain {
    /// An empty chain of `node`: the first published event gets seq 0.
    pub fn new(node: NodeId) -> Self {
        let last_hash = genesis_hash(&node);
        Chain { node, next_seq: 0, last_hash, last_position: None }
    }

    /// A chain that goes on after `head`, which the node recorded earlier together with the log
    /// position it had reached. Feed events from after that position.
    pub fn resume(node: NodeId, head: ChainHead) -> Self {
        Chain { node, next_seq: head.seq + 1, last_hash: head.hash, last_position: None }
    }

    /// The node whose chain this is.
    pub fn node(&self) -> &NodeId {
        &self.node
    }

    /// The seq the next published record gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The last record's seq and hash; `None` while nothing has been published.
    pub fn head(&self) -> Option<ChainHead> {
        self.next_seq.checked_sub(1).map(|seq| ChainHead { seq, hash: self.last_hash })
    }

    /// Takes the next event of the log. `Ok(Some(record))` if the node publishes it,
    /// `Ok(None)` if not.
    ///
    /// [`Error::Metadata`] if its metadata cannot be read (the chain cannot go on without knowing
    /// whether the event is public: upgrade the node); [`Error::LogOrder`] if events are not fed
    /// in increasing log position. The chain is unchanged after an error.
    pub fn push(&mut self, event: &RecordedEvent) -> Result<Option<PublishedRecord>> {
        self.check_order(event)?;
        let public = is_public(event, &self.node)?;
        self.push_checked(event, public)
    }

    /// [`Chain::push`] for a caller that has decoded the event's metadata already: the same
    /// decision (`publish::is_public_by`) without decoding it again. `metadata` must be
    /// the event's own.
    pub fn push_decoded(&mut self, event: &RecordedEvent, metadata: &Metadata) -> Result<Option<PublishedRecord>> {
        self.check_order(event)?;
        let public = crate::publish::is_public_by(metadata, &self.node);
        self.push_checked(event, public)
    }

    fn check_order(&self, event: &RecordedEvent) -> Result<()> {
        match self.last_position {
            Some(last) if event.position <= last => Err(Error::LogOrder { previous: last, found: event.position }),
            _ => Ok(()),
        }
    }

    fn push_checked(&mut self, event: &RecordedEvent, public: bool) -> Result<Option<PublishedRecord>> {
        self.last_position = Some(event.position);
        if !public {
            return Ok(None);
        }
        let mut record = PublishedRecord {
            origin: self.node.clone(),
            seq: self.next_seq,
            origin_position: event.position,
            stream: event.stream.clone(),
            version: event.version,
            event_id: event.id,
            event_type: event.event_type.clone(),
            data: event.data.clone(),
            metadata: event.metadata.clone(),
            recorded_at_micros: event.recorded_at_micros,
            prev_hash: self.last_hash,
            hash: [0; 32],
        };
        record.hash = record.computed_hash();
        self.next_seq += 1;
        self.last_hash = record.hash;
        Ok(Some(record))
    }
}

/// A length-prefixed byte string: the length as u64 big-endian, then the bytes.
fn put_bytes(h: &mut blake3::Hasher, bytes: &[u8]) {
    put_u64(h, bytes.len() as u64);
    h.update(bytes);
}

fn put_u64(h: &mut blake3::Hasher, n: u64) {
    h.update(&n.to_be_bytes());
}

/// A hash as 64 lower-case hex digits, as replication writes it into an event's origin.
pub fn hash_to_hex(hash: &Hash) -> String {
    hex(hash)
}

/// A hash from 64 hex digits; `None` if it is anything else.
pub fn hash_from_hex(text: &str) -> Option<Hash> {
    unhex::<32>(text)
}

/// Lower-case hex, for messages.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

/// Bytes from lower- or upper-case hex; `None` unless it is exactly `N` bytes of hex.
pub(crate) fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let value = |c: u8| (c as char).to_digit(16);
    let mut out = [0u8; N];
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        out[i] = u8::try_from(value(pair[0])? * 16 + value(pair[1])?).ok()?;
    }
    Some(out)
}
