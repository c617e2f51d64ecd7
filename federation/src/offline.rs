//! The offline check of a node's own log and chain, for `imece verify`.

use std::collections::BTreeMap;
use std::fmt;

use imece_domain::{Metadata, NodeId};
use imece_log::RecordedEvent;

use crate::Error;
use crate::chain::{Chain, ChainHead, hex};
use crate::head::SignedHead;
use crate::identity::PublicKey;
use crate::verify::Fault;

/// Rebuilds `node`'s chain from its whole log (every event from position 0, in order) and checks
/// the signed heads the node stored against it, signed by `key` (the node's own public key).
///
/// A head that does not match the rebuilt chain means the log was changed after the head was
/// signed (or the head was not signed over this log). See [`LogCheck`] to feed events one by one.
pub fn verify_log(
    events: impl IntoIterator<Item = RecordedEvent>,
    node: &NodeId,
    heads: &[SignedHead],
    key: &PublicKey,
) -> Report {
    let mut check = LogCheck::new(node.clone(), heads, key);
    for event in events {
        check.push(&event);
    }
    check.finish()
}

/// [`verify_log`] one event at a time, for a caller that reads the log in pages.
#[derive(Debug)]
pub struct LogCheck {
    chain: Chain,
    /// Correctly signed heads of this node, by seq, not yet met in the chain.
    heads: BTreeMap<u64, Vec<SignedHead>>,
    next_position: u64,
    /// Set when the chain cannot go on (unreadable metadata): later events are only counted.
    stopped: bool,
    report: Report,
}

impl LogCheck {
    /// A check of `node`'s log against `heads`, signed by `key`.
    pub fn new(node: NodeId, heads: &[SignedHead], key: &PublicKey) -> Self {
        let mut report = Report {
            node: node.clone(),
            events: 0,
            published: 0,
            head: None,
            heads_confirmed: 0,
            heads_unchecked: 0,
            replicated: BTreeMap::new(),
            problems: Vec::new(),
        };
        let mut by_seq: BTreeMap<u64, Vec<SignedHead>> = BTreeMap::new();
        for head in heads {
            if head.node != node {
                report.problems.push(Problem::Head(Fault::WrongHeadNode {
                    seq: head.seq,
                    expected: node.clone(),
                    found: head.node.clone(),
                }));
            } else if let Err(fault) = head.verify(key) {
                report.problems.push(Problem::Head(fault));
            } else {
                by_seq.entry(head.seq).or_default().push(head.clone());
            }
        }
        LogCheck { chain: Chain::new(node), heads: by_seq, next_position: 0, stopped: false, report }
    }

    /// The next event of the log.
    pub fn push(&mut self, event: &RecordedEvent) {
        self.report.events += 1;
        if event.position != self.next_position {
            self.report.problems.push(Problem::PositionGap { expected: self.next_position, found: event.position });
        }
        self.next_position = event.position.saturating_add(1);
        if self.stopped {
            return;
        }
        let metadata = match Metadata::decode(&event.metadata) {
            Ok(metadata) => metadata,
            Err(source) => {
                let reason = Error::Metadata { position: event.position, source }.to_string();
                self.report.problems.push(Problem::Unreadable { position: event.position, reason });
                self.stopped = true;
                return;
            }
        };
        if metadata.origin.node != *self.chain.node()
            && let Some(seq) = metadata.origin.seq
        {
            let next = self.report.replicated.entry(metadata.origin.node.clone()).or_insert(0);
            if seq != *next {
                self.report.problems.push(Problem::ReplicaSeq {
                    origin: metadata.origin.node.clone(),
                    position: event.position,
                    expected: *next,
                    found: seq,
                });
            }
            *next = seq + 1;
        }
        match self.chain.push_decoded(event, &metadata) {
            Ok(None) => {}
            Ok(Some(record)) => {
                self.report.published += 1;
                if let Some(heads) = self.heads.remove(&record.seq) {
                    for head in heads {
                        if head.hash == record.hash {
                            self.report.heads_confirmed += 1;
                        } else {
                            self.report.problems.push(Problem::Head(Fault::HeadMismatch {
                                seq: record.seq,
                                signed: head.hash,
                                received: record.hash,
                            }));
                        }
                    }
                }
            }
            // Already reported as a position problem; the event is left out of the chain.
            Err(Error::LogOrder { .. }) => {}
            Err(e) => {
                self.report.problems.push(Problem::Unreadable { position: event.position, reason: e.to_string() });
                self.stopped = true;
            }
        }
    }

    /// The report, once every event has been pushed.
    pub fn finish(mut self) -> Report {
        self.report.head = self.chain.head();
        for (seq, heads) in std::mem::take(&mut self.heads) {
            if self.stopped {
                self.report.heads_unchecked += heads.len();
            } else {
                self.report.problems.push(Problem::HeadBeyondLog { seq, published: self.report.published });
            }
        }
        self.report
    }
}

/// What [`verify_log`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub node: NodeId,
    /// Events read from the log.
    pub events: u64,
    /// Events the node publishes: the length of its chain.
    pub published: u64,
    /// The last record of the rebuilt chain.
    pub head: Option<ChainHead>,
    /// Signed heads that match the rebuilt chain.
    pub heads_confirmed: usize,
    /// Signed heads past an unreadable event, which could not be checked.
    pub heads_unchecked: usize,
    /// For each partner, how many of its records the log holds as replicated events (the next seq).
    pub replicated: BTreeMap<NodeId, u64>,
    /// Everything wrong, in the order found. Empty if the log and its heads agree.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Whether nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "node {}: {} events, {} published, {} signed head(s) confirmed",
            self.node, self.events, self.published, self.heads_confirmed
        )?;
        if let Some(head) = self.head {
            write!(f, ", chain head seq {} hash {}", head.seq, hex(&head.hash))?;
        }
        if self.heads_unchecked > 0 {
            write!(f, ", {} signed head(s) unchecked", self.heads_unchecked)?;
        }
        for (origin, count) in &self.replicated {
            write!(f, ", {count} record(s) replicated from {origin}")?;
        }
        if self.problems.is_empty() {
            return write!(f, "; no problems");
        }
        write!(f, "; {} problem(s):", self.problems.len())?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

/// One thing [`verify_log`] found wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The log's positions are not gapless from 0: events are missing or out of order.
    #[error("log position {found} where {expected} was expected: the log is missing events or out of order")]
    PositionGap { expected: u64, found: u64 },
    /// An event whose metadata cannot be read; the chain cannot be rebuilt past it.
    #[error("event at position {position} cannot be read ({reason}); the chain is not checked past it")]
    Unreadable { position: u64, reason: String },
    /// A stored signed head that is not this node's, not signed by its key, or does not match the
    /// rebuilt chain.
    #[error("{0}")]
    Head(Fault),
    /// A stored signed head for a seq the rebuilt chain does not reach: published events are
    /// missing from the log.
    #[error("signed head for seq {seq}, but the log publishes only {published} event(s): published events are missing")]
    HeadBeyondLog { seq: u64, published: u64 },
    /// The events replicated from a partner do not follow its chain one by one: a record is
    /// missing, or held twice.
    #[error(
        "event at position {position} is record seq {found} of node {origin}, where seq {expected} was expected: \
         replicated records are missing or held twice"
    )]
    ReplicaSeq { origin: NodeId, position: u64, expected: u64, found: u64 },
}
