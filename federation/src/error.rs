//! The one error of this crate: what went wrong on this node. What is wrong with a partner's data
//! is a [`crate::Fault`] instead.

use std::io;
use std::path::PathBuf;

/// A result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Something this node could not do: read or write its key file, read a partner's key from the
/// configuration, read an event of its own log.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading, writing or syncing a file failed.
    ///
    /// Handling: check the disk and the path (permissions on the directory, free space), then try
    /// again. A failed write leaves any existing key file as it was.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The key file exists but is not a key file this node will use: wrong length, or readable or
    /// writable by others than its owner.
    ///
    /// Handling: fix what `reason` names (`chmod 600 <path>`), or restore the file from the
    /// node's backup. Never generate a new key in its place without telling the partners: they
    /// know this node by its public key and would refuse everything it signs.
    #[error("key file {path}: {reason}")]
    KeyFile { path: PathBuf, reason: String },

    /// A new key file was to be written where one already exists.
    ///
    /// Handling: the node already has an identity; load it. Replacing it is a key rotation the
    /// partners must be told of (their configuration names the public key).
    #[error("key file {path} already exists; refusing to replace a node's key")]
    KeyFileExists { path: PathBuf },

    /// A public key in the configuration is not `ed25519:` followed by 64 hex digits of a valid
    /// Ed25519 point.
    ///
    /// Handling: copy the partner's key again as `imece` prints it (`ed25519:…`).
    #[error("public key {text:?}: {reason}")]
    PublicKey { text: String, reason: String },

    /// The operating system gave no randomness for a new key.
    ///
    /// Handling: nothing to do in imece; the machine's entropy source is broken.
    #[error("no randomness for a new key: {reason}")]
    Randomness { reason: String },

    /// An event of this node's own log has metadata this build cannot read, so it cannot tell
    /// whether the event is public: the chain cannot go past it.
    ///
    /// Handling: usually a metadata version newer than this build: upgrade the node. Otherwise
    /// the log is damaged at `position`; run `imece log verify`.
    #[error("event at position {position}: {source}")]
    Metadata {
        position: u64,
        #[source]
        source: imece_domain::Error,
    },

    /// A line of the heads file does not parse.
    ///
    /// Handling: the file is evidence, not state: restore it from the node's backup, or move it
    /// aside (the node starts a new one) and tell the partners, who hold the heads they received.
    #[error("heads file {path}, line {line}: {reason}")]
    HeadsFile { path: PathBuf, line: usize, reason: String },

    /// Events were fed to a [`crate::Chain`] out of log order: a bug in the caller.
    ///
    /// Handling: feed the log in order, from where the chain was resumed.
    #[error("events must be fed in log order: position {found} after {previous}")]
    LogOrder { previous: u64, found: u64 },
}

impl Error {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { action, path, source }
    }
}
