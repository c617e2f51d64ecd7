//! Personal data of natural persons never reaches the log in plaintext: it is sealed under a key
//! of that person, kept here, apart from the log. Erasing a person destroys the key, and every copy
//! of the sealed data (in the log, in backups, at partners) becomes unreadable: crypto-shredding.
//!
//! [`FileKeyStore`] keeps every key in one journal, `<data_dir>/keys/keys.journal` (ADR 0008):
//!
//! | bytes | content |
//! |---|---|
//! | 0..16 | header: `imece-keys` then zeros, format version (u32 LE) at 12..16 |
//! | then, per record, 128 bytes | |
//! | +0 | kind: 1 = key, 2 = erasure |
//! | +8..24 | the person |
//! | +24..40 | the key id |
//! | +40..72 | the 256-bit key (a key record); zeros (an erasure, or a shredded key) |
//! | +72..76 | CRC-32C of bytes +0..72 (LE) |
//!
//! Records are 128 bytes, so none straddles a 512-byte sector. A batch of new keys is one write and
//! one `fdatasync` before any of them is used; an erasure appends its record and syncs, then
//! overwrites the key's 32 bytes with zeros in place and syncs again. On open, a record that fails
//! its checksum is a torn tail if it is the last one (cut off: it was never acknowledged), a
//! shredded key if its person has a later erasure record, and corruption otherwise.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use imece_domain::{KeyId, PersonRef, SealedPersonalData};

use crate::Error;

/// The AEAD every key seals with.
pub const ALGORITHM: &str = "XChaCha20-Poly1305";

/// Keeps one key per person: the seam between the registry and wherever keys live.
pub trait KeyStore: Send + Sync + 'static {
    /// Seals each plaintext under its person's key, making the keys that do not exist yet, all
    /// durable before this returns. One answer per item, in order: a person whose key was destroyed
    /// is refused ([`Error::Erased`]) without failing the others.
    fn seal_all(&self, items: &[(PersonRef, &[u8])]) -> Vec<Result<SealedPersonalData, Error>>;

    /// Seals `plaintext` under the person's key, making the key on first use. Refused for a person
    /// whose key was destroyed.
    fn seal(&self, person: PersonRef, plaintext: &[u8]) -> Result<SealedPersonalData, Error> {
        self.seal_all(&[(person, plaintext)])
            .pop()
            .unwrap_or_else(|| Err(Error::Keystore("sealing returned no answer".to_owned())))
    }

    /// Opens sealed data: `None` once the person's key is destroyed.
    fn open(&self, person: PersonRef, sealed: &SealedPersonalData) -> Result<Option<Vec<u8>>, Error>;

    /// Destroys the person's key for good and returns its id; the erasure is remembered, so the
    /// person cannot be sealed for again.
    fn destroy(&self, person: PersonRef) -> Result<KeyId, Error>;
}

const JOURNAL: &str = "keys.journal";
const MAGIC: &[u8; 10] = b"imece-keys";
const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: u64 = 16;
const RECORD_LEN: usize = 128;
const KIND_KEY: u8 = 1;
const KIND_ERASED: u8 = 2;
const KEY_AT: usize = 40;

/// Every key in one journal file under a directory (`<data_dir>/keys`), and in memory.
#[derive(Debug)]
pub struct FileKeyStore {
    dir: PathBuf,
    inner: Mutex<Journal>,
}

struct Journal {
    file: File,
    len: u64,
    keys: HashMap<PersonRef, Entry>,
    erased: HashMap<PersonRef, KeyId>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys themselves.
        f.debug_struct("Journal").field("len", &self.len).field("keys", &self.keys.len()).finish_non_exhaustive()
    }
}

#[derive(Clone, Copy)]
struct Entry {
    id: KeyId,
    key: Key,
    /// Where the key's record starts in the journal.
    offset: u64,
}

fn record(kind: u8, person: PersonRef, id: KeyId, key: Option<&Key>) -> [u8; RECORD_LEN] {
    let mut r = [0u8; RECORD_LEN];
    r[0] = kind;
    r[8..24].copy_from_slice(person.as_uuid().as_bytes());
    r[24..40].copy_from_slice(id.as_uuid().as_bytes());
    if let Some(key) = key {
        r[KEY_AT..KEY_AT + 32].copy_from_slice(key);
    }
    let crc = crc32c::crc32c(&r[..72]);
    r[72..76].copy_from_slice(&crc.to_le_bytes());
    r
}

fn uuid_at(r: &[u8], at: usize) -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&r[at..at + 16]);
    uuid::Uuid::from_bytes(bytes)
}

impl FileKeyStore {
    /// Opens (or creates) the key directory, readable by this user only, and reads its journal.
    /// Keys kept one file per person by earlier versions are moved into the journal.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, Error> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|e| io(&dir, "creating", e))?;
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(|e| io(&dir, "securing", e))?;
        }
        let path = dir.join(JOURNAL);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io(&path, "opening", e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| io(&path, "reading", e))?;
        let mut journal = Journal { file, len: 0, keys: HashMap::new(), erased: HashMap::new() };
        if bytes.len() < HEADER_LEN as usize {
            // New (or torn while being created: nothing in it was ever acknowledged).
            let mut header = [0u8; HEADER_LEN as usize];
            header[..MAGIC.len()].copy_from_slice(MAGIC);
            header[12..16].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
            journal.file.set_len(0).map_err(|e| io(&path, "resetting", e))?;
            journal.file.write_all_at(&header, 0).map_err(|e| io(&path, "writing", e))?;
            journal.file.sync_all().map_err(|e| io(&path, "syncing", e))?;
            File::open(&dir).and_then(|d| d.sync_all()).map_err(|e| io(&dir, "syncing", e))?;
            journal.len = HEADER_LEN;
        } else {
            if &bytes[..MAGIC.len()] != MAGIC {
                return Err(Error::Keystore(format!("{} is not a key journal", path.display())));
            }
            let version = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
            if version != FORMAT_VERSION {
                return Err(Error::Keystore(format!(
                    "{} has format version {version}; this imece reads version {FORMAT_VERSION}",
                    path.display()
                )));
            }
            journal.load(&path, &bytes)?;
        }
        let store = FileKeyStore { dir, inner: Mutex::new(journal) };
        store.adopt_legacy_files()?;
        Ok(store)
    }

    fn journal(&self) -> Result<std::sync::MutexGuard<'_, Journal>, Error> {
        self.inner.lock().map_err(|_| Error::Keystore("the keystore failed earlier in this process".to_owned()))
    }

    fn path(&self) -> PathBuf {
        self.dir.join(JOURNAL)
    }

    /// Moves `<person>.key` and `<person>.erased` files of earlier versions into the journal,
    /// durably, and only then removes them.
    fn adopt_legacy_files(&self) -> Result<(), Error> {
        let mut found: Vec<LegacyFile> = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| io(&self.dir, "listing", e))? {
            let path = entry.map_err(|e| io(&self.dir, "listing", e))?.path();
            let (Some(stem), Some(ext)) = (path.file_stem().and_then(|s| s.to_str()), path.extension()) else {
                continue;
            };
            let Ok(person) = stem.parse::<uuid::Uuid>().map(PersonRef::from) else { continue };
            let bytes = fs::read(&path).map_err(|e| io(&path, "reading", e))?;
            if ext == "key" && bytes.len() == 48 {
                let id = KeyId::from(uuid_at(&bytes, 0));
                found.push((path, person, Some((id, *Key::from_slice(&bytes[16..]))), None));
            } else if ext == "erased" {
                let text = String::from_utf8_lossy(&bytes);
                let id = text.trim().parse::<uuid::Uuid>().map_err(|e| io(&path, "reading", e))?;
                found.push((path, person, None, Some(KeyId::from(id))));
            }
        }
        if found.is_empty() {
            return Ok(());
        }
        let mut journal = self.journal()?;
        let path = self.path();
        let mut batch = Vec::new();
        for (_, person, key, erased) in &found {
            if let Some((id, key)) = key
                && !journal.keys.contains_key(person)
                && !journal.erased.contains_key(person)
            {
                batch.push((*person, *id, *key));
            }
            if let Some(id) = erased
                && !journal.erased.contains_key(person)
            {
                journal.append(&path, &record(KIND_ERASED, *person, *id, None))?;
                journal.erased.insert(*person, *id);
            }
        }
        journal.append_keys(&path, &batch)?;
        // Keys of erased persons must not survive the move.
        let erased: Vec<PersonRef> = journal.erased.keys().copied().collect();
        for person in erased {
            if let Some(entry) = journal.keys.remove(&person) {
                journal.shred(&path, entry.offset)?;
            }
        }
        journal.file.sync_data().map_err(|e| io(&path, "syncing", e))?;
        drop(journal);
        for (file, ..) in found {
            if file.extension().is_some_and(|e| e == "key") {
                // Overwrite before removing, as a destroy did.
                let _ = OpenOptions::new().write(true).open(&file).and_then(|f| {
                    f.write_all_at(&[0u8; 48], 0)?;
                    f.sync_all()
                });
            }
            fs::remove_file(&file).map_err(|e| io(&file, "removing", e))?;
        }
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(|e| io(&self.dir, "syncing", e))
    }
}

/// A key file of an earlier version: its path, its person, the key it holds or the id it erased.
type LegacyFile = (PathBuf, PersonRef, Option<(KeyId, Key)>, Option<KeyId>);

impl Journal {
    fn load(&mut self, path: &Path, bytes: &[u8]) -> Result<(), Error> {
        let body = &bytes[HEADER_LEN as usize..];
        let whole = body.len() / RECORD_LEN;
        let mut bad: Vec<(usize, PersonRef)> = Vec::new();
        for i in 0..whole {
            let r = &body[i * RECORD_LEN..(i + 1) * RECORD_LEN];
            let offset = HEADER_LEN + (i * RECORD_LEN) as u64;
            let stored = u32::from_le_bytes([r[72], r[73], r[74], r[75]]);
            let person = PersonRef::from(uuid_at(r, 8));
            let id = KeyId::from(uuid_at(r, 24));
            if crc32c::crc32c(&r[..72]) != stored {
                bad.push((i, person));
                continue;
            }
            match r[0] {
                KIND_KEY => {
                    let key = *Key::from_slice(&r[KEY_AT..KEY_AT + 32]);
                    self.keys.insert(person, Entry { id, key, offset });
                }
                KIND_ERASED => {
                    self.keys.remove(&person);
                    self.erased.insert(person, id);
                }
                other => {
                    return Err(Error::Keystore(format!(
                        "{} holds a record of unknown kind {other} at offset {offset}",
                        path.display()
                    )));
                }
            }
        }
        let mut len = HEADER_LEN + (whole * RECORD_LEN) as u64;
        for (i, person) in bad {
            let offset = HEADER_LEN + (i * RECORD_LEN) as u64;
            if self.erased.contains_key(&person) {
                continue; // a key shredded in place after its erasure was recorded
            }
            if i + 1 == whole {
                len = offset; // a torn last record: never acknowledged
                continue;
            }
            return Err(Error::Keystore(format!(
                "{} is damaged at offset {offset}: a key record fails its checksum",
                path.display()
            )));
        }
        if len != bytes.len() as u64 {
            tracing::warn!(path = %path.display(), cut = bytes.len() as u64 - len, "key journal: torn tail cut off");
            self.file.set_len(len).map_err(|e| io(path, "truncating", e))?;
            self.file.sync_all().map_err(|e| io(path, "syncing", e))?;
        }
        self.len = len;
        Ok(())
    }

    fn append(&mut self, path: &Path, bytes: &[u8]) -> Result<(), Error> {
        self.file.write_all_at(bytes, self.len).map_err(|e| io(path, "writing", e))?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Appends new keys as one write and one sync; only then are they in memory to be used.
    fn append_keys(&mut self, path: &Path, keys: &[(PersonRef, KeyId, Key)]) -> Result<(), Error> {
        if keys.is_empty() {
            return Ok(());
        }
        let start = self.len;
        let mut bytes = Vec::with_capacity(keys.len() * RECORD_LEN);
        for (person, id, key) in keys {
            bytes.extend_from_slice(&record(KIND_KEY, *person, *id, Some(key)));
        }
        let written =
            self.append(path, &bytes).and_then(|()| self.file.sync_data().map_err(|e| io(path, "syncing", e)));
        if let Err(e) = written {
            // Not acknowledged: forget the bytes, so a later append overwrites them.
            self.len = start;
            return Err(e);
        }
        for (i, (person, id, key)) in keys.iter().enumerate() {
            self.keys.insert(*person, Entry { id: *id, key: *key, offset: start + (i * RECORD_LEN) as u64 });
        }
        Ok(())
    }

    fn shred(&mut self, path: &Path, offset: u64) -> Result<(), Error> {
        self.file.write_all_at(&[0u8; 32], offset + KEY_AT as u64).map_err(|e| io(path, "shredding", e))
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

fn seal_with(person: PersonRef, id: KeyId, key: &Key, plaintext: &[u8]) -> Result<SealedPersonalData, Error> {
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ciphertext = XChaCha20Poly1305::new(key)
        .encrypt(&nonce, Payload { msg: plaintext, aad: &aad(person, id) })
        .map_err(|_| Error::Keystore("sealing failed".to_owned()))?;
    Ok(SealedPersonalData { key_id: id, algorithm: ALGORITHM.to_owned(), nonce: nonce.to_vec(), ciphertext })
}

impl KeyStore for FileKeyStore {
    fn seal_all(&self, items: &[(PersonRef, &[u8])]) -> Vec<Result<SealedPersonalData, Error>> {
        let mut journal = match self.journal() {
            Ok(j) => j,
            Err(e) => return items.iter().map(|_| Err(Error::Keystore(e.to_string()))).collect(),
        };
        // Make the missing keys, once each, durable together.
        let mut new: Vec<(PersonRef, KeyId, Key)> = Vec::new();
        for (person, _) in items {
            if !journal.keys.contains_key(person)
                && !journal.erased.contains_key(person)
                && !new.iter().any(|(p, ..)| p == person)
            {
                new.push((*person, KeyId::from(uuid::Uuid::now_v7()), XChaCha20Poly1305::generate_key(&mut OsRng)));
            }
        }
        if let Err(e) = journal.append_keys(&self.path(), &new) {
            let message = e.to_string();
            return items.iter().map(|_| Err(Error::Keystore(message.clone()))).collect();
        }
        items
            .iter()
            .map(|(person, plaintext)| match journal.keys.get(person) {
                Some(entry) => seal_with(*person, entry.id, &entry.key, plaintext),
                None => Err(Error::Erased(person.to_string())),
            })
            .collect()
    }

    fn open(&self, person: PersonRef, sealed: &SealedPersonalData) -> Result<Option<Vec<u8>>, Error> {
        let Some(entry) = self.journal()?.keys.get(&person).copied() else { return Ok(None) };
        if entry.id != sealed.key_id || sealed.algorithm != ALGORITHM || sealed.nonce.len() != 24 {
            // Sealed under a key that is gone (or another scheme): unreadable, as after erasure.
            return Ok(None);
        }
        let plaintext = XChaCha20Poly1305::new(&entry.key)
            .decrypt(
                XNonce::from_slice(&sealed.nonce),
                Payload { msg: &sealed.ciphertext, aad: &aad(person, entry.id) },
            )
            .map_err(|_| Error::Keystore(format!("sealed data of {person} fails authentication")))?;
        Ok(Some(plaintext))
    }

    fn destroy(&self, person: PersonRef) -> Result<KeyId, Error> {
        let path = self.path();
        let mut journal = self.journal()?;
        if let Some(id) = journal.erased.get(&person) {
            return Ok(*id);
        }
        let Some(entry) = journal.keys.get(&person).copied() else {
            return Err(Error::Keystore(format!("no key for {person}")));
        };
        // Remember the erasure first, then overwrite the key in place: a crash in between leaves
        // an erased person whose key record fails its checksum or still holds the key, and the
        // erasure record makes it unusable either way; the next open shreds what is left.
        journal.append(&path, &record(KIND_ERASED, person, entry.id, None))?;
        journal.file.sync_data().map_err(|e| io(&path, "syncing", e))?;
        journal.erased.insert(person, entry.id);
        journal.keys.remove(&person);
        journal.shred(&path, entry.offset)?;
        journal.file.sync_data().map_err(|e| io(&path, "syncing", e))?;
        Ok(entry.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> PersonRef {
        PersonRef::from(uuid::Uuid::now_v7())
    }

    #[test]
    fn sealed_data_opens_until_the_key_is_destroyed() {
        let dir = tempfile::tempdir().unwrap();
        let keys = FileKeyStore::open(dir.path().join("keys")).unwrap();
        let (ayse, ali) = (person(), person());
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
        // Reopened from disk, the erasure holds and the other key still opens.
        let sealed_ali = keys.seal(ali, b"x").unwrap();
        drop(keys);
        let keys = FileKeyStore::open(dir.path().join("keys")).unwrap();
        assert_eq!(keys.open(ayse, &sealed).unwrap(), None);
        assert!(matches!(keys.seal(ayse, b"again"), Err(Error::Erased(_))));
        assert_eq!(keys.open(ali, &sealed_ali).unwrap().unwrap(), b"x");
        // The destroyed key's bytes are gone from the file, not only from memory.
        let journal = fs::read(dir.path().join("keys").join(JOURNAL)).unwrap();
        let first = &journal[HEADER_LEN as usize..HEADER_LEN as usize + RECORD_LEN];
        assert_eq!(PersonRef::from(uuid_at(first, 8)), ayse);
        assert!(first[KEY_AT..KEY_AT + 32].iter().all(|b| *b == 0), "the key is still on disk");
    }

    #[test]
    fn a_batch_makes_each_missing_key_once_and_refuses_only_the_erased() {
        let dir = tempfile::tempdir().unwrap();
        let keys = FileKeyStore::open(dir.path()).unwrap();
        let (a, b, gone) = (person(), person(), person());
        keys.seal(gone, b"x").unwrap();
        keys.destroy(gone).unwrap();
        let answers = keys.seal_all(&[(a, b"1"), (b, b"2"), (a, b"3"), (gone, b"4")]);
        assert_eq!(answers.len(), 4);
        let (s1, s2, s3) = (answers[0].as_ref().unwrap(), answers[1].as_ref().unwrap(), answers[2].as_ref().unwrap());
        assert_eq!(s1.key_id, s3.key_id, "one key per person, even twice in a batch");
        assert_ne!(s1.key_id, s2.key_id);
        assert!(matches!(answers[3], Err(Error::Erased(_))));
        drop(keys);
        let keys = FileKeyStore::open(dir.path()).unwrap();
        assert_eq!(keys.open(a, s3).unwrap().unwrap(), b"3");
        assert_eq!(keys.open(b, s2).unwrap().unwrap(), b"2");
    }

    #[test]
    fn tampered_ciphertext_is_an_error_not_data() {
        let dir = tempfile::tempdir().unwrap();
        let keys = FileKeyStore::open(dir.path()).unwrap();
        let p = person();
        let mut sealed = keys.seal(p, b"secret").unwrap();
        sealed.ciphertext[0] ^= 1;
        assert!(keys.open(p, &sealed).is_err());
    }

    #[test]
    fn a_torn_last_record_is_cut_and_damage_before_it_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (person(), person());
        let (sa, _) = {
            let keys = FileKeyStore::open(dir.path()).unwrap();
            (keys.seal(a, b"a").unwrap(), keys.seal(b, b"b").unwrap())
        };
        let path = dir.path().join(JOURNAL);
        let whole = fs::read(&path).unwrap();
        // A torn third record (half written): cut off, the two keys stay.
        let mut torn = whole.clone();
        torn.extend_from_slice(&[KIND_KEY; RECORD_LEN / 2]);
        fs::write(&path, &torn).unwrap();
        let keys = FileKeyStore::open(dir.path()).unwrap();
        assert_eq!(keys.open(a, &sa).unwrap().unwrap(), b"a");
        drop(keys);
        assert_eq!(fs::read(&path).unwrap().len(), whole.len());
        // A flipped bit in the first record, with a record after it: refused, named.
        let mut damaged = whole.clone();
        damaged[HEADER_LEN as usize + 50] ^= 1;
        fs::write(&path, &damaged).unwrap();
        let err = FileKeyStore::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("damaged at offset 16"), "{err}");
        // The same flip in the last record: a torn tail, cut.
        let mut last = whole.clone();
        let at = HEADER_LEN as usize + RECORD_LEN + 50;
        last[at] ^= 1;
        fs::write(&path, &last).unwrap();
        let keys = FileKeyStore::open(dir.path()).unwrap();
        assert_eq!(keys.open(a, &sa).unwrap().unwrap(), b"a");
    }

    #[test]
    fn a_crash_between_erasure_and_shredding_leaves_the_person_erased() {
        let dir = tempfile::tempdir().unwrap();
        let p = person();
        let sealed = FileKeyStore::open(dir.path()).unwrap().seal(p, b"secret").unwrap();
        // The erasure record is durable, the key's bytes half overwritten.
        let path = dir.path().join(JOURNAL);
        let mut bytes = fs::read(&path).unwrap();
        bytes.extend_from_slice(&record(KIND_ERASED, p, sealed.key_id, None));
        let key_at = HEADER_LEN as usize + KEY_AT;
        bytes[key_at..key_at + 16].fill(0);
        fs::write(&path, &bytes).unwrap();
        let keys = FileKeyStore::open(dir.path()).unwrap();
        assert_eq!(keys.open(p, &sealed).unwrap(), None);
        assert_eq!(keys.destroy(p).unwrap(), sealed.key_id);
        assert!(matches!(keys.seal(p, b"again"), Err(Error::Erased(_))));
    }

    #[test]
    fn keys_of_earlier_versions_move_into_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let (kept, erased) = (person(), person());
        let id = KeyId::from(uuid::Uuid::now_v7());
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        let mut file = id.as_uuid().as_bytes().to_vec();
        file.extend_from_slice(&key);
        fs::write(dir.path().join(format!("{kept}.key")), &file).unwrap();
        let gone = KeyId::from(uuid::Uuid::now_v7());
        fs::write(dir.path().join(format!("{erased}.erased")), gone.to_string()).unwrap();
        let sealed = seal_with(kept, id, &key, b"old").unwrap();

        let keys = FileKeyStore::open(dir.path()).unwrap();
        assert_eq!(keys.open(kept, &sealed).unwrap().unwrap(), b"old");
        assert_eq!(keys.destroy(erased).unwrap(), gone);
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from(JOURNAL)], "the old files are gone");
        drop(keys);
        let keys = FileKeyStore::open(dir.path()).unwrap();
        assert_eq!(keys.open(kept, &sealed).unwrap().unwrap(), b"old");
    }
}
