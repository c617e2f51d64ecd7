//! The heads a node signed, kept in a file beside its log: the evidence `imece verify` checks the
//! log against (FORMAT.md, "Heads file").

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use imece_domain::NodeId;

use crate::chain::{hex, unhex};
use crate::head::SignedHead;
use crate::{Error, Result};

/// An append-only text file of signed heads, one per line:
/// `<node> <seq> <hash hex> <signed_at_micros> <signature hex>`.
///
/// Each append is synced before it returns. A last line cut short by a crash (no newline) is
/// ignored when read; any other line that does not parse is an error naming its line.
#[derive(Debug)]
pub struct HeadJournal {
    path: PathBuf,
    file: File,
}

impl HeadJournal {
    /// Opens the file at `path` for appending, creating it (and its directory) if needed. A torn
    /// last line is cut off first, so that the next head starts on a line of its own.
    pub fn open(path: impl AsRef<Path>) -> Result<HeadJournal> {
        let path = path.as_ref().to_owned();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
        }
        let file =
            OpenOptions::new().create(true).read(true).append(true).open(&path).map_err(Error::io("open", &path))?;
        let text = std::fs::read(&path).map_err(Error::io("read", &path))?;
        let complete = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if complete != text.len() {
            file.set_len(complete as u64).map_err(Error::io("truncate a torn line of", &path))?;
            file.sync_data().map_err(Error::io("sync", &path))?;
        }
        Ok(HeadJournal { path, file })
    }

    /// Appends `head` and syncs it.
    pub fn append(&mut self, head: &SignedHead) -> Result<()> {
        let line = format!(
            "{} {} {} {} {}\n",
            head.node,
            head.seq,
            hex(&head.hash),
            head.signed_at_micros,
            hex(&head.signature)
        );
        self.file.write_all(line.as_bytes()).map_err(Error::io("append to", &self.path))?;
        self.file.sync_data().map_err(Error::io("sync", &self.path))
    }

    /// Every head in the file at `path`; none if there is no file.
    pub fn read(path: impl AsRef<Path>) -> Result<Vec<SignedHead>> {
        let path = path.as_ref();
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("open", path)(e)),
        };
        let text = {
            let mut reader = BufReader::new(file);
            let mut all = Vec::new();
            loop {
                let mut line = Vec::new();
                let n = reader.read_until(b'\n', &mut line).map_err(Error::io("read", path))?;
                if n == 0 {
                    break;
                }
                all.push(line);
            }
            all
        };
        let mut heads = Vec::with_capacity(text.len());
        for (i, line) in text.iter().enumerate() {
            let Some(line) = line.strip_suffix(b"\n") else {
                break; // a torn last line
            };
            let bad = |reason: &str| Error::HeadsFile { path: path.to_owned(), line: i + 1, reason: reason.to_owned() };
            let line = std::str::from_utf8(line).map_err(|_| bad("not UTF-8"))?;
            let fields: Vec<&str> = line.split(' ').collect();
            let [node, seq, hash, signed_at, signature] = fields[..] else {
                return Err(bad("expected 5 fields: node seq hash signed_at_micros signature"));
            };
            heads.push(SignedHead {
                node: NodeId::new(node).map_err(|e| bad(&format!("node: {e}")))?,
                seq: seq.parse().map_err(|_| bad("seq is not a number"))?,
                hash: unhex::<32>(hash).ok_or_else(|| bad("hash is not 64 hex digits"))?,
                signed_at_micros: signed_at.parse().map_err(|_| bad("signed_at_micros is not a number"))?,
                signature: unhex::<64>(signature).ok_or_else(|| bad("signature is not 128 hex digits"))?,
            });
        }
        Ok(heads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChainHead, Identity};

    #[test]
    fn heads_round_trip_and_a_torn_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("federation").join("heads");
        let node = NodeId::new("tr-izmir").unwrap();
        let identity = Identity::from_seed([7; 32]);
        let a = identity.sign_head(&node, ChainHead { seq: 0, hash: [1; 32] }, 10);
        let b = identity.sign_head(&node, ChainHead { seq: 5, hash: [2; 32] }, 20);
        {
            let mut journal = HeadJournal::open(&path).unwrap();
            journal.append(&a).unwrap();
            journal.append(&b).unwrap();
        }
        assert_eq!(HeadJournal::read(&path).unwrap(), vec![a.clone(), b.clone()]);

        // A crash in the middle of a line: the line is ignored, then cut off by the next open.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"tr-izmir 9 abc").unwrap();
        assert_eq!(HeadJournal::read(&path).unwrap().len(), 2);
        let c = identity.sign_head(&node, ChainHead { seq: 9, hash: [3; 32] }, 30);
        HeadJournal::open(&path).unwrap().append(&c).unwrap();
        assert_eq!(HeadJournal::read(&path).unwrap(), vec![a, b, c]);

        // Damage in a complete line is an error naming it.
        std::fs::write(&path, "tr-izmir x 00 1 00\n").unwrap();
        let err = HeadJournal::read(&path).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("seq"), "{err}");
        assert!(HeadJournal::read(dir.path().join("none")).unwrap().is_empty());
    }
}
