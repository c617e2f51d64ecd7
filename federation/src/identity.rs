//! A node's ed25519 key pair, its key file, and partners' public keys.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use imece_domain::NodeId;

use crate::chain::{ChainHead, hex, unhex};
use crate::head::SignedHead;
use crate::{Error, Result};

/// The length of a key file: the raw 32-byte Ed25519 seed, nothing else.
pub const KEY_FILE_LEN: u64 = 32;

/// How a public key is written as text: this prefix, then 64 lower-case hex digits.
pub const PUBLIC_KEY_PREFIX: &str = "ed25519:";

/// A node's signing key: an Ed25519 key pair. It signs the node's chain heads; partners know the
/// node by its [`PublicKey`].
///
/// Its `Debug` shows the public key only; the secret half is wiped from memory when dropped.
pub struct Identity {
    key: SigningKey,
}

impl Identity {
    /// A new key pair from the operating system's randomness.
    pub fn generate() -> Result<Identity> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| Error::Randomness { reason: e.to_string() })?;
        Ok(Identity::from_seed(seed))
    }

    /// The key pair of a 32-byte Ed25519 seed (RFC 8032's private key).
    pub fn from_seed(seed: [u8; 32]) -> Identity {
        Identity { key: SigningKey::from_bytes(&seed) }
    }

    /// Generates a key pair and writes it to `path` ([`Identity::save`]).
    pub fn create(path: impl AsRef<Path>) -> Result<Identity> {
        let identity = Identity::generate()?;
        identity.save(path)?;
        Ok(identity)
    }

    /// Writes the seed to `path`, durably, readable and writable by its owner only (mode 0600).
    ///
    /// A temporary file beside it is written, synced and renamed onto `path`, then the directory
    /// is synced: after a crash there is either no key file or a complete one.
    /// [`Error::KeyFileExists`] if `path` exists: a node's key is never silently replaced.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if fs::symlink_metadata(path).is_ok() {
            return Err(Error::KeyFileExists { path: path.to_owned() });
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let Some(name) = path.file_name() else {
            return Err(Error::KeyFile { path: path.to_owned(), reason: "is not a file name".into() });
        };
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(".tmp");
        let temp = dir.join(temp_name);
        // A temporary file left by a crash mid-write holds no key anyone uses.
        match fs::remove_file(&temp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io("remove", &temp)(e)),
            _ => {}
        }
        let written = write_new_private(&temp, self.key.as_bytes())
            .and_then(|()| fs::rename(&temp, path).map_err(Error::io("rename into place", path)));
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
        sync_dir(&dir)
    }

    /// Reads the key pair from `path`.
    ///
    /// [`Error::KeyFile`] unless the file is a regular file of exactly 32 bytes that neither its
    /// group nor others may read or write (0600 or 0400 on Unix).
    pub fn load(path: impl AsRef<Path>) -> Result<Identity> {
        let path = path.as_ref();
        let bad = |reason: String| Error::KeyFile { path: path.to_owned(), reason };
        let mut file = File::open(path).map_err(Error::io("open", path))?;
        let meta = file.metadata().map_err(Error::io("stat", path))?;
        if !meta.is_file() {
            return Err(bad("is not a regular file".into()));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(bad(format!(
                    "has mode {mode:04o}: others than its owner may access it; a node key must be 0600 (chmod 600)"
                )));
            }
        }
        if meta.len() != KEY_FILE_LEN {
            return Err(bad(format!("is {} bytes long; a key file is the {KEY_FILE_LEN}-byte seed", meta.len())));
        }
        let mut seed = [0u8; 32];
        file.read_exact(&mut seed).map_err(Error::io("read", path))?;
        // The length was checked through the handle; a file that grew since is not one we wrote.
        let mut rest = [0u8; 1];
        if file.read(&mut rest).map_err(Error::io("read", path))? != 0 {
            return Err(bad(format!("is longer than {KEY_FILE_LEN} bytes")));
        }
        Ok(Identity::from_seed(seed))
    }

    /// The public half, which partners put in their configuration.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.key.verifying_key().to_bytes())
    }

    /// Signs the chain head `head` of `node`'s chain, at `signed_at_micros` (microseconds since
    /// the Unix epoch, the caller's clock).
    pub fn sign_head(&self, node: &NodeId, head: ChainHead, signed_at_micros: i64) -> SignedHead {
        let mut signed =
            SignedHead { node: node.clone(), seq: head.seq, hash: head.hash, signed_at_micros, signature: [0; 64] };
        signed.signature = self.key.sign(&signed.signed_bytes()).to_bytes();
        signed
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity").field("public_key", &self.public_key()).finish_non_exhaustive()
    }
}

/// Creates `path` (which must not exist), mode 0600, writes `bytes` and syncs them.
fn write_new_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(Error::io("create", path))?;
    // The mode given to open is masked by the umask; set it exactly, in case the umask is odd.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600)).map_err(Error::io("chmod", path))?;
    }
    file.write_all(bytes).map_err(Error::io("write", path))?;
    file.sync_all().map_err(Error::io("sync", path))
}

/// Syncs a directory, so that a rename in it survives a crash.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir).and_then(|d| d.sync_all()).map_err(Error::io("sync directory", dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// A node's public key: how partners know it. Written as `ed25519:` and 64 lower-case hex digits
/// (its 32 bytes); parsed from the same, hex in either case.
///
/// Kept as its 32 checked bytes, so that it is small enough to travel in a [`crate::Fault`]; it is
/// decompressed when a signature is verified, which is rare (heads, not records).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// The key from its 32 bytes. [`Error::PublicKey`] unless they are a valid Ed25519 point of
    /// full order.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<PublicKey> {
        let text = || format!("{PUBLIC_KEY_PREFIX}{}", hex(&bytes));
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| Error::PublicKey { text: text(), reason: "is not a valid Ed25519 public key".into() })?;
        // A small-order key verifies signatures anyone can make.
        if key.is_weak() {
            return Err(Error::PublicKey { text: text(), reason: "is a weak (small-order) Ed25519 key".into() });
        }
        Ok(PublicKey(key.to_bytes()))
    }

    /// Its 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    pub(crate) fn verifying_key(&self) -> VerifyingKey {
        // Checked when the key was made.
        VerifyingKey::from_bytes(&self.0).expect("a PublicKey holds a valid point")
    }
}

impl FromStr for PublicKey {
    type Err = Error;

    fn from_str(text: &str) -> Result<PublicKey> {
        let bad = |reason: &str| Error::PublicKey { text: text.to_owned(), reason: reason.to_owned() };
        let Some(digits) = text.strip_prefix(PUBLIC_KEY_PREFIX) else {
            return Err(bad("must start with \"ed25519:\""));
        };
        let Some(bytes) = unhex::<32>(digits) else {
            return Err(bad("must be \"ed25519:\" followed by 64 hex digits (32 bytes)"));
        };
        PublicKey::from_bytes(bytes).map_err(|e| match e {
            Error::PublicKey { reason, .. } => Error::PublicKey { text: text.to_owned(), reason },
            other => other,
        })
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_KEY_PREFIX}{}", hex(&self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
