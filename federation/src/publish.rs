//! What leaves a node.

use imece_domain::{Metadata, NodeId, Visibility};
use imece_log::RecordedEvent;

use crate::{Error, Result};

/// Whether `node` publishes `event` to its partners: the event's metadata says
/// [`Visibility::Public`], and `node` is where it was first written (`metadata.origin.node`).
///
/// - Only public facts leave a node: the organisation's life cycle, assembly and election counts,
///   accounts, surplus allocations and membership aggregates. `Union` events are not published on
///   this chain, and `HomeOnly` (person-level) events never leave their home node.
/// - Each node publishes only its own events. An event replicated from another node is not
///   republished, whatever its visibility: its origin publishes it, signed by the origin's key, and
///   a receiver takes it from there.
///
/// The decision reads the metadata the event was written with, never the catalogue of this build,
/// so that rebuilding the chain from the log gives the same chain after an upgrade. The metadata
/// is never less restricted than the event's type allows: `Metadata::validate_for` checks it
/// before anything is written.
///
/// [`Error::Metadata`] if the metadata cannot be decoded (a newer metadata version: upgrade).
pub fn is_public(event: &RecordedEvent, node: &NodeId) -> Result<bool> {
    let metadata =
        Metadata::decode(&event.metadata).map_err(|source| Error::Metadata { position: event.position, source })?;
    Ok(is_public_by(&metadata, node))
}

/// [`is_public`] on metadata already decoded.
pub(crate) fn is_public_by(metadata: &Metadata, node: &NodeId) -> bool {
    metadata.visibility == Visibility::Public && metadata.origin.node == *node
}
