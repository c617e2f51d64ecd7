//! Byte layout of segment files, records and segment index files (see `FORMAT.md`).
//!
//! Everything is little-endian. Every checksum is CRC-32C (Castagnoli).

use std::ops::Range;

use bytes::Bytes;
use imece_log::{EventId, RecordedEvent, StreamId};

/// The format version this build writes and the highest it reads.
pub(crate) const FORMAT_VERSION: u32 = 1;

pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"IMECELOG";
pub(crate) const SEGMENT_HEADER_LEN: usize = 32;

pub(crate) const RECORD_MAGIC: [u8; 4] = *b"imEv";
pub(crate) const RECORD_HEADER_LEN: usize = 76;
/// The longest record a reader accepts: the largest event plus the longest names.
pub(crate) const MAX_RECORD_LEN: usize =
    RECORD_HEADER_LEN + imece_log::MAX_STREAM_ID_LEN + imece_log::MAX_EVENT_TYPE_LEN + imece_log::MAX_EVENT_BYTES;

pub(crate) const INDEX_MAGIC: [u8; 8] = *b"IMECEIDX";
pub(crate) const INDEX_HEADER_LEN: usize = 40;
pub(crate) const INDEX_ENTRY_LEN: usize = 24;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// The fixed header at the start of every segment file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    pub(crate) version: u32,
    pub(crate) first_position: u64,
}

impl SegmentHeader {
    pub(crate) fn encode(&self) -> [u8; SEGMENT_HEADER_LEN] {
        let mut b = [0u8; SEGMENT_HEADER_LEN];
        b[0..8].copy_from_slice(&SEGMENT_MAGIC);
        b[8..12].copy_from_slice(&self.version.to_le_bytes());
        b[16..24].copy_from_slice(&self.first_position.to_le_bytes());
        let crc = crc32c::crc32c(&b[0..28]);
        b[28..32].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Parses a header; `Err` says what is wrong with it.
    pub(crate) fn decode(b: &[u8]) -> Result<Self, String> {
        if b.len() < SEGMENT_HEADER_LEN {
            return Err(format!("segment header is {} bytes, needs {SEGMENT_HEADER_LEN}", b.len()));
        }
        if b[0..8] != SEGMENT_MAGIC {
            return Err("not an imece log segment (bad magic)".to_owned());
        }
        if crc32c::crc32c(&b[0..28]) != u32_at(b, 28) {
            return Err("segment header checksum mismatch".to_owned());
        }
        Ok(SegmentHeader { version: u32_at(b, 8), first_position: u64_at(b, 16) })
    }
}

/// The fields of a record other than its variable parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecordHead {
    /// Records after this one in the same atomic batch (one append, or one `append_many` across all
    /// its parts and streams): 0 marks the end of a batch.
    pub(crate) batch_remaining: u32,
    pub(crate) position: u64,
    pub(crate) version: u64,
    /// Every position below this one was durable when this record was written.
    pub(crate) durable_end: u64,
    pub(crate) id: EventId,
    pub(crate) recorded_at_micros: i64,
}

/// Appends one record to `buf`, unsealed: its `durable_end` and checksum are set by
/// [`seal_record`] just before it is written, when it is known what is durable. The caller has
/// checked the sizes (`imece_log::validate_batch`).
pub(crate) fn encode_record(
    buf: &mut Vec<u8>,
    head: &RecordHead,
    stream: &str,
    event_type: &str,
    metadata: &[u8],
    data: &[u8],
) {
    let start = buf.len();
    let len = RECORD_HEADER_LEN + stream.len() + event_type.len() + metadata.len() + data.len();
    buf.reserve(len);
    buf.extend_from_slice(&RECORD_MAGIC);
    buf.extend_from_slice(&[0; 4]); // checksum, filled in below
    buf.extend_from_slice(&(len as u32).to_le_bytes());
    buf.extend_from_slice(&head.batch_remaining.to_le_bytes());
    buf.extend_from_slice(&head.position.to_le_bytes());
    buf.extend_from_slice(&head.version.to_le_bytes());
    buf.extend_from_slice(&head.durable_end.to_le_bytes());
    buf.extend_from_slice(head.id.as_bytes());
    buf.extend_from_slice(&head.recorded_at_micros.to_le_bytes());
    buf.extend_from_slice(&(stream.len() as u16).to_le_bytes());
    buf.extend_from_slice(&(event_type.len() as u16).to_le_bytes());
    buf.extend_from_slice(&(metadata.len() as u32).to_le_bytes());
    buf.extend_from_slice(&(data.len() as u32).to_le_bytes());
    buf.extend_from_slice(stream.as_bytes());
    buf.extend_from_slice(event_type.as_bytes());
    buf.extend_from_slice(metadata);
    buf.extend_from_slice(data);
    debug_assert_eq!(buf.len() - start, len);
}

/// Sets the `durable_end` of the record at `at` in `buf` and computes its checksum.
pub(crate) fn seal_record(buf: &mut [u8], at: usize, durable_end: u64) {
    let len = u32_at(buf, at + 8) as usize;
    buf[at + 32..at + 40].copy_from_slice(&durable_end.to_le_bytes());
    let crc = crc32c::crc32c(&buf[at + 8..at + len]);
    buf[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Why the bytes at an offset are not a valid record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RecordError {
    /// Fewer bytes than the record needs: the end of the data, or a torn write.
    Incomplete,
    /// The bytes are there but are not a record.
    Invalid(String),
}

/// A record found in a buffer: its fixed fields and where its variable parts are.
#[derive(Clone, Debug)]
pub(crate) struct RawRecord {
    pub(crate) head: RecordHead,
    pub(crate) len: usize,
    pub(crate) stream: Range<usize>,
    pub(crate) event_type: Range<usize>,
    pub(crate) metadata: Range<usize>,
    pub(crate) data: Range<usize>,
}

impl RawRecord {
    pub(crate) fn stream_str<'a>(&self, buf: &'a [u8]) -> &'a str {
        // Checked to be UTF-8 when the record was parsed.
        std::str::from_utf8(&buf[self.stream.clone()]).unwrap_or_default()
    }

    /// The event, sharing `buf`'s memory for data and metadata.
    pub(crate) fn to_event(&self, buf: &Bytes, stream: StreamId) -> RecordedEvent {
        RecordedEvent {
            position: self.head.position,
            stream,
            version: self.head.version,
            id: self.head.id,
            event_type: std::str::from_utf8(&buf[self.event_type.clone()]).unwrap_or_default().to_owned(),
            data: buf.slice(self.data.clone()),
            metadata: buf.slice(self.metadata.clone()),
            recorded_at_micros: self.head.recorded_at_micros,
        }
    }
}

/// Parses the record that starts at `at` in `buf`, checking its checksum.
pub(crate) fn decode_record(buf: &[u8], at: usize) -> Result<RawRecord, RecordError> {
    let rest = &buf[at.min(buf.len())..];
    if rest.len() < 12 {
        return Err(RecordError::Incomplete);
    }
    if rest[0..4] != RECORD_MAGIC {
        return Err(RecordError::Invalid("no record marker".to_owned()));
    }
    let len = u32_at(rest, 8) as usize;
    if !(RECORD_HEADER_LEN..=MAX_RECORD_LEN).contains(&len) {
        return Err(RecordError::Invalid(format!("record length {len} out of range")));
    }
    if rest.len() < len {
        return Err(RecordError::Incomplete);
    }
    let rec = &rest[..len];
    if crc32c::crc32c(&rec[8..]) != u32_at(rec, 4) {
        return Err(RecordError::Invalid("record checksum mismatch".to_owned()));
    }
    let stream_len = u16_at(rec, 64) as usize;
    let type_len = u16_at(rec, 66) as usize;
    let meta_len = u32_at(rec, 68) as usize;
    let data_len = u32_at(rec, 72) as usize;
    if RECORD_HEADER_LEN + stream_len + type_len + meta_len + data_len != len {
        return Err(RecordError::Invalid("record field lengths do not add up".to_owned()));
    }
    let s = at + RECORD_HEADER_LEN;
    let stream = s..s + stream_len;
    let event_type = stream.end..stream.end + type_len;
    let metadata = event_type.end..event_type.end + meta_len;
    let data = metadata.end..metadata.end + data_len;
    if std::str::from_utf8(&buf[stream.clone()]).is_err() || std::str::from_utf8(&buf[event_type.clone()]).is_err() {
        return Err(RecordError::Invalid("stream or event type is not UTF-8".to_owned()));
    }
    let head = RecordHead {
        batch_remaining: u32_at(rec, 12),
        position: u64_at(rec, 16),
        version: u64_at(rec, 24),
        durable_end: u64_at(rec, 32),
        id: EventId::from_bytes(rec[40..56].try_into().unwrap()),
        recorded_at_micros: i64::from_le_bytes(rec[56..64].try_into().unwrap()),
    };
    Ok(RawRecord { head, len, stream, event_type, metadata, data })
}

/// Finds the next offset at or after `from` where a valid record starts, if any.
pub(crate) fn find_next_record(buf: &[u8], from: usize) -> Option<(usize, RawRecord)> {
    let mut at = from;
    while at < buf.len() {
        let found = memchr::memmem::find(&buf[at..], &RECORD_MAGIC)?;
        let candidate = at + found;
        if let Ok(rec) = decode_record(buf, candidate) {
            return Some((candidate, rec));
        }
        at = candidate + 1;
    }
    None
}

/// One event in a segment index file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    /// Byte offset of the record in its segment.
    pub(crate) offset: u32,
    /// Index into the file's stream table.
    pub(crate) stream: u32,
    pub(crate) id: EventId,
}

/// The contents of a segment index file: derived data that spares reading every record on open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SegmentIndex {
    pub(crate) first_position: u64,
    /// Where the segment's last record ends.
    pub(crate) data_end: u64,
    pub(crate) streams: Vec<String>,
    pub(crate) entries: Vec<IndexEntry>,
}

impl SegmentIndex {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let names: usize = self.streams.iter().map(|s| 2 + s.len()).sum();
        let mut b = Vec::with_capacity(INDEX_HEADER_LEN + names + self.entries.len() * INDEX_ENTRY_LEN + 4);
        b.extend_from_slice(&INDEX_MAGIC);
        b.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        b.extend_from_slice(&(self.streams.len() as u32).to_le_bytes());
        b.extend_from_slice(&self.first_position.to_le_bytes());
        b.extend_from_slice(&(self.entries.len() as u64).to_le_bytes());
        b.extend_from_slice(&self.data_end.to_le_bytes());
        for s in &self.streams {
            b.extend_from_slice(&(s.len() as u16).to_le_bytes());
            b.extend_from_slice(s.as_bytes());
        }
        for e in &self.entries {
            b.extend_from_slice(&e.offset.to_le_bytes());
            b.extend_from_slice(&e.stream.to_le_bytes());
            b.extend_from_slice(e.id.as_bytes());
        }
        let crc = crc32c::crc32c(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    /// Parses an index file; `Err` says why it cannot be used (it is then rebuilt from its segment).
    pub(crate) fn decode(b: &[u8]) -> Result<Self, String> {
        if b.len() < INDEX_HEADER_LEN + 4 || b[0..8] != INDEX_MAGIC {
            return Err("not a segment index".to_owned());
        }
        let (body, crc) = b.split_at(b.len() - 4);
        if crc32c::crc32c(body) != u32_at(crc, 0) {
            return Err("index checksum mismatch".to_owned());
        }
        let version = u32_at(b, 8);
        if version != FORMAT_VERSION {
            return Err(format!("index format version {version}"));
        }
        let stream_count = u32_at(b, 12) as usize;
        let first_position = u64_at(b, 16);
        let count = u64_at(b, 24) as usize;
        let data_end = u64_at(b, 32);
        let mut at = INDEX_HEADER_LEN;
        let mut streams = Vec::with_capacity(stream_count);
        for _ in 0..stream_count {
            if at + 2 > body.len() {
                return Err("truncated stream table".to_owned());
            }
            let len = u16_at(body, at) as usize;
            let name = body.get(at + 2..at + 2 + len).ok_or("truncated stream table")?;
            streams.push(String::from_utf8(name.to_vec()).map_err(|_| "stream name is not UTF-8")?);
            at += 2 + len;
        }
        if body.len() - at != count * INDEX_ENTRY_LEN {
            return Err("entry table has the wrong length".to_owned());
        }
        let entries = body[at..]
            .chunks_exact(INDEX_ENTRY_LEN)
            .map(|e| IndexEntry {
                offset: u32_at(e, 0),
                stream: u32_at(e, 4),
                id: EventId::from_bytes(e[8..24].try_into().unwrap()),
            })
            .collect::<Vec<_>>();
        if entries.iter().any(|e| e.stream as usize >= stream_count) {
            return Err("entry names a stream outside the table".to_owned());
        }
        Ok(SegmentIndex { first_position, data_end, streams, entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(position: u64) -> RecordHead {
        RecordHead {
            batch_remaining: 0,
            position,
            version: 3,
            durable_end: 7,
            id: EventId::new_v7(),
            recorded_at_micros: 1_700_000_000_000_000,
        }
    }

    #[test]
    fn record_roundtrips_and_detects_every_flipped_bit_of_the_header() {
        let mut buf = Vec::new();
        let h = head(9);
        encode_record(&mut buf, &h, "org-1", "Registered.v1", b"meta", b"data");
        assert!(decode_record(&buf, 0).is_err(), "an unsealed record has no checksum yet");
        seal_record(&mut buf, 0, h.durable_end);
        let rec = decode_record(&buf, 0).unwrap();
        assert_eq!(rec.head, h);
        assert_eq!(rec.len, buf.len());
        assert_eq!(&buf[rec.data.clone()], b"data");
        assert_eq!(&buf[rec.metadata.clone()], b"meta");
        assert_eq!(rec.stream_str(&buf), "org-1");
        for bit in 0..buf.len() * 8 {
            let mut bad = buf.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(decode_record(&bad, 0).is_err(), "flipping bit {bit} went unnoticed");
        }
        assert_eq!(decode_record(&buf[..buf.len() - 1], 0).unwrap_err(), RecordError::Incomplete);
    }

    #[test]
    fn next_record_is_found_after_garbage() {
        let mut buf = vec![0u8; 100];
        buf.extend_from_slice(b"imEv garbage");
        let at = buf.len();
        encode_record(&mut buf, &head(1), "s", "t", b"", b"x");
        seal_record(&mut buf, at, 0);
        let (found, rec) = find_next_record(&buf, 0).unwrap();
        assert_eq!(found, at);
        assert_eq!(rec.head.position, 1);
        assert!(find_next_record(&buf, at + 1).is_none());
    }

    #[test]
    fn segment_header_and_index_roundtrip() {
        let h = SegmentHeader { version: FORMAT_VERSION, first_position: 42 };
        assert_eq!(SegmentHeader::decode(&h.encode()).unwrap(), h);
        let mut bad = h.encode();
        bad[17] ^= 1;
        assert!(SegmentHeader::decode(&bad).is_err());

        let idx = SegmentIndex {
            first_position: 42,
            data_end: 1000,
            streams: vec!["a".into(), "bé".into()],
            entries: vec![
                IndexEntry { offset: 32, stream: 1, id: EventId::new_v7() },
                IndexEntry { offset: 200, stream: 0, id: EventId::new_v7() },
            ],
        };
        let bytes = idx.encode();
        assert_eq!(SegmentIndex::decode(&bytes).unwrap(), idx);
        let mut bad = bytes.clone();
        bad[50] ^= 4;
        assert!(SegmentIndex::decode(&bad).is_err());
    }
}
