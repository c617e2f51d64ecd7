//! Personal data of natural persons never reaches the log in plaintext: it is sealed under a key
//! of that person, kept here, apart from the log. Erasing a person destroys the key, and every copy
//! of the sealed data (in the log, in backups, at partners) becomes unreadable: crypto-shredding.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use imece_domain::{KeyId, PersonRef, SealedPersonalData};

use crate::Error;

/// The AEAD every key seals with.
pub const ALGORITHM: &str = "XChaCha20-Poly1305";

/// Keeps one key per person: the seam between the registry and wherever keys live.
pub trait KeyStore: Send + Sync + 'static {
    /// Seals `plaintext` under the person's key, making the key on first use. Refused for a person
    /// whose key was destroyed.
    fn seal(&self, person: PersonRef, plaintext: &[u8]) -> Result<SealedPersonalData, Error>;

    /// Opens sealed data: `None` once the person's key is destroyed.
    fn open(&self, person: PersonRef, sealed: &SealedPersonalData) -> Result<Option<Vec<u8>>, Error>;

    /// Destroys the person's key for good and returns its id; the erasure is remembered, so the
    /// person cannot be sealed for again.
    fn destroy(&self, person: PersonRef) -> Result<KeyId, Error>;
}

/// Keys in files of their own under a directory (`<data_dir>/keys`): `<person>.key` holds the key
/// id and the key; `<person>.erased` the id of a destroyed key.
#[derive(Debug)]
pub struct FileKeyStore {
    dir: PathBuf,
}

const KEY_FILE_LEN: usize = 16 + 32;

impl FileKeyStore {
    /// Opens (or creates) the key directory, readable by this user only.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, Error> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|e| io(&dir, "creating", e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(|e| io(&dir, "securing", e))?;
        }
        Ok(FileKeyStore { dir })
    }

    fn key_path(&self, person: PersonRef) -> PathBuf {
        self.dir.join(format!("{person}.key"))
    }

    fn erased_path(&self, person: PersonRef) -> PathBuf {
        self.dir.join(format!("{person}.erased"))
    }

    fn read_key(&self, person: PersonRef) -> Result<Option<(KeyId, Key)>, Error> {
        let path = self.key_path(person);
        match fs::read(&path) {
            Ok(bytes) if bytes.len() == KEY_FILE_LEN => {
                let id = KeyId::from(uuid::Uuid::from_slice(&bytes[..16]).map_err(|e| io(&path, "reading", e))?);
                Ok(Some((id, *Key::from_slice(&bytes[16..]))))
            }
            Ok(bytes) => Err(Error::Keystore(format!("{} holds {} bytes, not a key", path.display(), bytes.len()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path, "reading", e)),
        }
    }

    fn is_erased(&self, person: PersonRef) -> bool {
        self.erased_path(person).exists()
    }

    /// Writes a small file durably: temporary name, sync, rename, sync the directory.
    fn write_durably(&self, path: &Path, bytes: &[u8]) -> Result<(), Error> {
        let tmp = path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, path)?;
            File::open(&self.dir)?.sync_all()
        };
        write().map_err(|e| io(path, "writing", e))
    }
}

fn io(path: &Path, doing: &str, e: impl std::fmt::Display) -> Error {
    Error::Keystore(format!("{doing} {}: {e}", path.display()))
}

/// The associated data binds a sealed value to its person and key: it cannot be moved to another.
fn aad(person: PersonRef, key_id: KeyId) -> Vec<u8> {
    let mut aad = person.to_string().into_bytes();
    aad.push(b'/');
    aad.extend_from_slice(key_id.to_string().as_bytes());
    aad
}

impl KeyStore for FileKeyStore {
    fn seal(&self, person: PersonRef, plaintext: &[u8]) -> Result<SealedPersonalData, Error> {
        if self.is_erased(person) {
            return Err(Error::Erased(person.to_string()));
        }
        let (key_id, key) = match self.read_key(person)? {
            Some(found) => found,
            None => {
                let key_id = KeyId::from(uuid::Uuid::now_v7());
                let key = XChaCha20Poly1305::generate_key(&mut OsRng);
                let mut bytes = Vec::with_capacity(KEY_FILE_LEN);
                bytes.extend_from_slice(key_id.as_uuid().as_bytes());
                bytes.extend_from_slice(&key);
                self.write_durably(&self.key_path(person), &bytes)?;
                (key_id, key)
            }
        };
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = XChaCha20Poly1305::new(&key)
            .encrypt(&nonce, Payload { msg: plaintext, aad: &aad(person, key_id) })
            .map_err(|_| Error::Keystore("sealing failed".to_owned()))?;
        Ok(SealedPersonalData { key_id, algorithm: ALGORITHM.to_owned(), nonce: nonce.to_vec(), ciphertext })
    }

    fn open(&self, person: PersonRef, sealed: &SealedPersonalData) -> Result<Option<Vec<u8>>, Error> {
        let Some((key_id, key)) = self.read_key(person)? else { return Ok(None) };
        if key_id != sealed.key_id || sealed.algorithm != ALGORITHM || sealed.nonce.len() != 24 {
            // Sealed under a key that is gone (or another scheme): unreadable, as after erasure.
            return Ok(None);
        }
        let plaintext = XChaCha20Poly1305::new(&key)
            .decrypt(XNonce::from_slice(&sealed.nonce), Payload { msg: &sealed.ciphertext, aad: &aad(person, key_id) })
            .map_err(|_| Error::Keystore(format!("sealed data of {person} fails authentication")))?;
        Ok(Some(plaintext))
    }

    fn destroy(&self, person: PersonRef) -> Result<KeyId, Error> {
        let Some((key_id, _)) = self.read_key(person)? else {
            return match fs::read_to_string(self.erased_path(person)) {
                Ok(id) => id
                    .trim()
                    .parse::<uuid::Uuid>()
                    .map(KeyId::from)
                    .map_err(|e| io(&self.erased_path(person), "reading", e)),
                Err(_) => Err(Error::Keystore(format!("no key for {person}"))),
            };
        };
        // Remember the erasure first, then overwrite and remove the key: a crash in between leaves
        // an erased person with a key file, which the next destroy removes.
        self.write_durably(&self.erased_path(person), key_id.to_string().as_bytes())?;
        let path = self.key_path(person);
        let shred = || -> std::io::Result<()> {
            let mut f = OpenOptions::new().write(true).open(&path)?;
            f.write_all(&[0u8; KEY_FILE_LEN])?;
            f.sync_all()?;
            fs::remove_file(&path)?;
            File::open(&self.dir)?.sync_all()
        };
        shred().map_err(|e| io(&path, "destroying", e))?;
        Ok(key_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_until_the_key_is_destroyed() {
        let dir = tempfile::tempdir().unwrap();
        let keys = FileKeyStore::open(dir.path().join("keys")).unwrap();
        let ayse = PersonRef::from(uuid::Uuid::now_v7());
        let ali = PersonRef::from(uuid::Uuid::now_v7());
        let sealed = keys.seal(ayse, b"{\"full_name\":\"Ayse Yilmaz\"}").unwrap();
        assert_eq!(sealed.algorithm, ALGORITHM);
        assert!(!sealed.ciphertext.windows(5).any(|w| w == b"Yilma"), "the plaintext shows through");
        assert_eq!(keys.open(ayse, &sealed).unwrap().unwrap(), b"{\"full_name\":\"Ayse Yilmaz\"}");
        // Bound to its person: another person's key does not open it.
        keys.seal(ali, b"{}").unwrap();
        assert!(keys.open(ali, &sealed).unwrap().is_none() || keys.open(ali, &sealed).is_err());

        let destroyed = keys.destroy(ayse).unwrap();
        assert_eq!(destroyed, sealed.key_id);
        assert_eq!(keys.open(ayse, &sealed).unwrap(), None);
        assert!(matches!(keys.seal(ayse, b"again"), Err(Error::Erased(_))));
        assert_eq!(keys.destroy(ayse).unwrap(), destroyed, "destroying twice names the same key");
        // Reopened from disk, the erasure holds.
        let keys = FileKeyStore::open(dir.path().join("keys")).unwrap();
        assert_eq!(keys.open(ayse, &sealed).unwrap(), None);
        assert!(keys.open(ali, &keys.seal(ali, b"x").unwrap()).unwrap().is_some());
    }

    #[test]
    fn tampered_ciphertext_is_an_error_not_data() {
        let dir = tempfile::tempdir().unwrap();
        let keys = FileKeyStore::open(dir.path()).unwrap();
        let p = PersonRef::from(uuid::Uuid::now_v7());
        let mut sealed = keys.seal(p, b"secret").unwrap();
        sealed.ciphertext[0] ^= 1;
        assert!(keys.open(p, &sealed).is_err());
    }
}
