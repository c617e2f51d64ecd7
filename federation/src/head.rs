//! Signed chain heads: a node's signature over the hash of its chain up to a seq.

use std::fmt;

use ed25519_dalek::Signature;
use imece_domain::NodeId;

use crate::chain::{ChainHead, Hash, hex};
use crate::identity::PublicKey;
use crate::verify::Fault;

/// Domain-separation tag of the bytes a head's signature covers (FORMAT.md, "Signed head").
pub(crate) const HEAD_TAG: &[u8] = b"imece federation head v1";

/// A node's signed statement "my chain up to `seq` has hash `hash`". Since each record's hash
/// covers the one before, the signature vouches for every record from seq 0 to `seq`.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedHead {
    /// The node whose chain it is, and whose key signed it.
    pub node: NodeId,
    /// The seq of the last record it covers.
    pub seq: u64,
    /// That record's hash.
    pub hash: Hash,
    /// When it was signed, in microseconds since the Unix epoch (the signer's clock).
    pub signed_at_micros: i64,
    /// Ed25519 over [`SignedHead::signed_bytes`].
    pub signature: [u8; 64],
}

impl SignedHead {
    /// The head it vouches for.
    pub fn head(&self) -> ChainHead {
        ChainHead { seq: self.seq, hash: self.hash }
    }

    /// The canonical bytes the signature covers: the tag, then node, seq, hash and time
    /// (FORMAT.md, "Signed head").
    pub fn signed_bytes(&self) -> Vec<u8> {
        let node = self.node.as_str().as_bytes();
        let mut out = Vec::with_capacity(8 + HEAD_TAG.len() + 8 + node.len() + 8 + 32 + 8);
        out.extend_from_slice(&(HEAD_TAG.len() as u64).to_be_bytes());
        out.extend_from_slice(HEAD_TAG);
        out.extend_from_slice(&(node.len() as u64).to_be_bytes());
        out.extend_from_slice(node);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.hash);
        out.extend_from_slice(&self.signed_at_micros.to_be_bytes());
        out
    }

    /// [`Fault::BadSignature`] unless `key` signed exactly this head. Strict verification: no
    /// malleable signature and no small-order key passes.
    pub fn verify(&self, key: &PublicKey) -> Result<(), Fault> {
        let signature = Signature::from_bytes(&self.signature);
        key.verifying_key().verify_strict(&self.signed_bytes(), &signature).map_err(|_| Fault::BadSignature {
            node: self.node.clone(),
            seq: self.seq,
            key: *key,
        })
    }
}

impl fmt::Debug for SignedHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedHead")
            .field("node", &self.node)
            .field("seq", &self.seq)
            .field("hash", &hex(&self.hash))
            .field("signed_at_micros", &self.signed_at_micros)
            .field("signature", &hex(&self.signature))
            .finish()
    }
}
