//! The receiving side: a partner's chain checked record by record, and its signed heads.

use std::collections::{BTreeMap, VecDeque};

use imece_domain::{Metadata, NodeId, Visibility};

use crate::chain::{ChainHead, Hash, PublishedRecord, genesis_hash, hex};
use crate::head::SignedHead;
use crate::identity::PublicKey;

/// How many of the latest verified records' hashes a [`Verifier`] keeps, to check a signed head
/// that arrives after the record it covers, and to tell a duplicate from a rewrite.
pub const RECENT_HASHES: usize = 4096;

/// How many signed heads ahead of the verified records a [`Verifier`] holds before it calls the
/// partner faulty: a correct partner sends a head after the records it covers.
pub const MAX_PENDING_HEADS: usize = 64;

/// What is wrong with a partner's chain. The receiver marks the partner faulty with it and
/// applies nothing after: from the first fault on, a [`Verifier`] refuses everything with that
/// same fault.
///
/// Each message names the seq and what was expected against what was found. Unless it says
/// otherwise, the partner (or something between it and this node) sent data that is not its
/// chain: tell its operators, with the message; resume only after they answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// A record from another node than the partner this verifier checks.
    #[error("record seq {seq} comes from node {found}, but this connection carries node {expected}'s chain")]
    WrongOrigin { seq: u64, expected: NodeId, found: NodeId },

    /// A record further on than the next one expected: records `expected` to `found − 1` are
    /// missing. A reordering shows as this too: in any reordering, the first record out of place
    /// has a seq beyond the one expected.
    #[error(
        "expected record seq {expected}, got seq {found}: {missing} record(s) from seq {expected} are missing \
         (dropped, or sent out of order)",
        missing = .found - .expected
    )]
    Gap { expected: u64, found: u64 },

    /// A record already verified, sent again unchanged.
    #[error("record seq {seq} was sent again (already verified, identical); the next expected is seq {expected}")]
    Duplicate { seq: u64, expected: u64 },

    /// A record behind the next one expected that is not a copy of the record verified there (or
    /// too old to compare): the chain went back over itself, so it was reordered or rewritten.
    #[error(
        "record seq {found} arrived after seq {last} was verified, and differs from the seq {found} verified \
         before (or is too old to compare): the chain was reordered or rewritten",
        last = .expected - 1
    )]
    OutOfOrder { expected: u64, found: u64 },

    /// The record's content does not hash to the hash it carries: it was altered after it was
    /// hashed.
    #[error(
        "record seq {seq} was altered: its content hashes to {}, but it carries {}",
        hex(.computed),
        hex(.carried)
    )]
    HashMismatch { seq: u64, carried: Hash, computed: Hash },

    /// The record does not link to the record before it: its prev_hash is not that record's
    /// hash. A record was forged, or removed and the rest renumbered.
    #[error(
        "record seq {seq} does not follow the chain: its prev_hash is {}, but the record before it hashes to {}",
        hex(.found),
        hex(.expected)
    )]
    BrokenLink { seq: u64, expected: Hash, found: Hash },

    /// The record's metadata cannot be read.
    ///
    /// If the partner runs a newer version of imece, upgrading this node is the fix.
    #[error(
        "record seq {seq} has metadata this node cannot read ({reason}); upgrade this node if the partner runs a newer imece"
    )]
    BadMetadata { seq: u64, reason: String },

    /// The partner published an event that is not public. It is refused unread: person-level data
    /// must never leave its home node, and this node will not store it.
    #[error("record seq {seq} ({event_type}) is marked {visibility:?}: only public events may be published")]
    NotPublic { seq: u64, event_type: String, visibility: Visibility },

    /// The partner republished an event first written by another node: each node publishes only
    /// its own events.
    #[error("record seq {seq} was first written by node {written_by}, not by the partner {partner}")]
    Republished { seq: u64, partner: NodeId, written_by: NodeId },

    /// A signed head of another node than the partner.
    #[error("signed head for seq {seq} names node {found}, but this connection carries node {expected}'s chain")]
    WrongHeadNode { seq: u64, expected: NodeId, found: NodeId },

    /// A signed head whose signature the partner's configured key does not verify: signed by
    /// another key, or altered after signing.
    ///
    /// If the partner has rotated its key, update its public key in this node's configuration.
    #[error(
        "signed head of node {node} for seq {seq} is not signed by {key}: forged or altered \
         (or the partner changed its key: check the configured public key)"
    )]
    BadSignature { node: NodeId, seq: u64, key: PublicKey },

    /// A correctly signed head whose hash is not the hash of the record verified at its seq: the
    /// partner signed one chain and sent another.
    #[error(
        "signed head for seq {seq} says hash {}, but the record received at seq {seq} hashes to {}",
        hex(.signed),
        hex(.received)
    )]
    HeadMismatch { seq: u64, signed: Hash, received: Hash },

    /// Two correctly signed heads for the same seq with different hashes: the partner signed two
    /// different histories.
    #[error("two signed heads for seq {seq} disagree: hash {} and hash {}", hex(.first), hex(.second))]
    ConflictingHeads { seq: u64, first: Hash, second: Hash },

    /// More than [`MAX_PENDING_HEADS`] signed heads arrived ahead of the records they cover.
    #[error("more than {limit} signed heads arrived ahead of their records (next expected record: seq {expected})")]
    TooManyPendingHeads { limit: usize, expected: u64 },
}

/// What [`Verifier::verify_head`] could make of a correctly signed head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadStatus {
    /// It matches a verified record: everything up to its seq is vouched for by the partner's key.
    Confirmed,
    /// It is ahead of the verified records; it is checked when its record arrives.
    Pending,
    /// It covers a record verified too long ago to compare (before the resume point, or more than
    /// [`RECENT_HASHES`] records back). Nothing learnt, nothing wrong.
    Unchecked,
}

/// Checks one partner's chain as it arrives: every record in order, linked to the one before and
/// hashing to what it carries, and every signed head against the records.
///
/// A verified record is consistent with the records before it, which is all the chain alone can
/// show: someone who can change the data in transit can also recompute hashes. Only a signed head
/// shows that the partner itself vouches for it, so a receiver that must not be fooled applies
/// records only up to [`Verifier::confirmed`] (ADR 0010, security).
#[derive(Debug)]
pub struct Verifier {
    partner: NodeId,
    key: PublicKey,
    next_seq: u64,
    last_hash: Hash,
    recent: VecDeque<ChainHead>,
    pending: BTreeMap<u64, SignedHead>,
    confirmed: Option<SignedHead>,
    fault: Option<Fault>,
}

impl Verifier {
    /// A verifier of `partner`'s chain, whose heads `key` signs. `resume` is the last record
    /// verified before (its seq and hash, as the receiver stored them), `None` to start at seq 0.
    pub fn new(partner: NodeId, key: PublicKey, resume: Option<ChainHead>) -> Self {
        let (next_seq, last_hash, recent) = match resume {
            Some(head) => (head.seq + 1, head.hash, VecDeque::from([head])),
            None => (0, genesis_hash(&partner), VecDeque::new()),
        };
        Verifier { partner, key, next_seq, last_hash, recent, pending: BTreeMap::new(), confirmed: None, fault: None }
    }

    /// The partner whose chain this is.
    pub fn partner(&self) -> &NodeId {
        &self.partner
    }

    /// The seq of the next record expected.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The last verified record's seq and hash (the resume point while none has been verified):
    /// what to store to resume later. `None` before the first record.
    pub fn head(&self) -> Option<ChainHead> {
        self.next_seq.checked_sub(1).map(|seq| ChainHead { seq, hash: self.last_hash })
    }

    /// The latest signed head that matched a verified record: the records up to its seq are
    /// vouched for by the partner's key.
    pub fn confirmed(&self) -> Option<&SignedHead> {
        self.confirmed.as_ref()
    }

    /// The fault that stopped this verifier, if one did.
    pub fn fault(&self) -> Option<&Fault> {
        self.fault.as_ref()
    }

    /// Checks the next record of the partner's chain: its origin, that its seq is the next one,
    /// its hash, its link to the record before, and that it is a public event of the partner's
    /// own. On success the record is the new head of the verified chain; a pending signed head for
    /// its seq is checked too.
    ///
    /// After a fault, every call returns that fault.
    pub fn verify(&mut self, record: &PublishedRecord) -> Result<(), Fault> {
        self.verify_decoded(record).map(drop)
    }

    /// [`Verifier::verify`], giving back the record's metadata as the check decoded it, for a
    /// receiver that stores the record (and would otherwise decode it again).
    pub fn verify_decoded(&mut self, record: &PublishedRecord) -> Result<Metadata, Fault> {
        self.halted()?;
        let checked = self.check_record(record);
        self.remember(checked)
    }

    /// Checks a signed head: that it is the partner's, that the partner's key signed it, and that
    /// its hash is the verified record's at its seq (or, if that record has not arrived, when it
    /// does).
    ///
    /// After a fault, every call returns that fault.
    pub fn verify_head(&mut self, head: &SignedHead) -> Result<HeadStatus, Fault> {
        self.halted()?;
        let checked = self.check_head(head);
        self.remember(checked)
    }

    /// Whether `record` is an intact copy of a record already verified (a redelivery): the caller
    /// skips it, without feeding it to [`Verifier::verify`], where it would be [`Fault::Duplicate`].
    /// A record verified more than [`RECENT_HASHES`] records back cannot be compared and is not
    /// taken for a copy.
    pub fn is_redelivery(&self, record: &PublishedRecord) -> bool {
        record.origin == self.partner
            && record.seq < self.next_seq
            && self.recent_hash(record.seq) == Some(record.hash)
            && record.is_intact()
    }

    fn halted(&self) -> Result<(), Fault> {
        match &self.fault {
            Some(fault) => Err(fault.clone()),
            None => Ok(()),
        }
    }

    fn remember<T>(&mut self, checked: Result<T, Fault>) -> Result<T, Fault> {
        if let Err(fault) = &checked {
            self.fault = Some(fault.clone());
        }
        checked
    }

    fn recent_hash(&self, seq: u64) -> Option<Hash> {
        let first = self.recent.front()?.seq;
        let index = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.recent.get(index).map(|h| h.hash)
    }

    fn check_record(&mut self, record: &PublishedRecord) -> Result<Metadata, Fault> {
        let seq = record.seq;
        if record.origin != self.partner {
            return Err(Fault::WrongOrigin { seq, expected: self.partner.clone(), found: record.origin.clone() });
        }
        if seq > self.next_seq {
            return Err(Fault::Gap { expected: self.next_seq, found: seq });
        }
        if seq < self.next_seq {
            let same = self.recent_hash(seq) == Some(record.hash) && record.is_intact();
            return Err(if same {
                Fault::Duplicate { seq, expected: self.next_seq }
            } else {
                Fault::OutOfOrder { expected: self.next_seq, found: seq }
            });
        }
        let computed = record.computed_hash();
        if computed != record.hash {
            return Err(Fault::HashMismatch { seq, carried: record.hash, computed });
        }
        if record.prev_hash != self.last_hash {
            return Err(Fault::BrokenLink { seq, expected: self.last_hash, found: record.prev_hash });
        }
        let metadata =
            Metadata::decode(&record.metadata).map_err(|e| Fault::BadMetadata { seq, reason: e.to_string() })?;
        if metadata.visibility != Visibility::Public {
            return Err(Fault::NotPublic {
                seq,
                event_type: record.event_type.clone(),
                visibility: metadata.visibility,
            });
        }
        if metadata.origin.node != self.partner {
            let written_by = metadata.origin.node;
            return Err(Fault::Republished { seq, partner: self.partner.clone(), written_by });
        }
        if let Some(head) = self.pending.remove(&seq) {
            if head.hash != record.hash {
                return Err(Fault::HeadMismatch { seq, signed: head.hash, received: record.hash });
            }
            self.confirmed = Some(head);
        }
        self.next_seq = seq + 1;
        self.last_hash = record.hash;
        if self.recent.len() == RECENT_HASHES {
            self.recent.pop_front();
        }
        self.recent.push_back(record.head());
        Ok(metadata)
    }

    fn check_head(&mut self, head: &SignedHead) -> Result<HeadStatus, Fault> {
        if head.node != self.partner {
            return Err(Fault::WrongHeadNode {
                seq: head.seq,
                expected: self.partner.clone(),
                found: head.node.clone(),
            });
        }
        head.verify(&self.key)?;
        if head.seq >= self.next_seq {
            if let Some(earlier) = self.pending.get(&head.seq) {
                if earlier.hash != head.hash {
                    return Err(Fault::ConflictingHeads { seq: head.seq, first: earlier.hash, second: head.hash });
                }
                return Ok(HeadStatus::Pending);
            }
            if self.pending.len() == MAX_PENDING_HEADS {
                return Err(Fault::TooManyPendingHeads { limit: MAX_PENDING_HEADS, expected: self.next_seq });
            }
            self.pending.insert(head.seq, head.clone());
            return Ok(HeadStatus::Pending);
        }
        let Some(received) = self.recent_hash(head.seq) else {
            return Ok(HeadStatus::Unchecked);
        };
        if received != head.hash {
            return Err(Fault::HeadMismatch { seq: head.seq, signed: head.hash, received });
        }
        if self.confirmed.as_ref().is_none_or(|c| c.seq <= head.seq) {
            self.confirmed = Some(head.clone());
        }
        Ok(HeadStatus::Confirmed)
    }
}
