//! The in-memory index that readers share: where each event is, and each stream's events.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use imece_log::{Error, RecordedEvent, Result, StreamId};

use crate::format::{RecordError, decode_record};

/// One segment file as readers see it.
#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) first_position: u64,
    pub(crate) path: PathBuf,
    pub(crate) file: Arc<File>,
    /// Byte offset of each committed record, by position − `first_position`.
    pub(crate) offsets: Vec<u32>,
    /// Where the last committed record ends.
    pub(crate) data_end: u64,
}

impl Segment {
    fn end_position(&self) -> u64 {
        self.first_position + self.offsets.len() as u64
    }

    /// Byte range of the records at positions `from..to` (all in this segment).
    fn byte_range(&self, from: u64, to: u64) -> (u64, u64) {
        let i = (from - self.first_position) as usize;
        let j = (to - self.first_position) as usize;
        let start = self.offsets[i] as u64;
        let end = self.offsets.get(j).map_or(self.data_end, |&o| o as u64);
        (start, end)
    }
}

/// Everything committed: segments, streams, and the head.
#[derive(Debug, Default)]
pub(crate) struct Index {
    pub(crate) segments: Vec<Segment>,
    pub(crate) stream_numbers: HashMap<StreamId, u32>,
    pub(crate) streams: Vec<StreamEntry>,
    /// The number of committed events: the position the next one gets.
    pub(crate) head: u64,
}

/// A stream's name and the position of each of its versions.
#[derive(Debug)]
pub(crate) struct StreamEntry {
    pub(crate) id: StreamId,
    pub(crate) positions: Vec<u64>,
}

/// Where to read a run of consecutive records.
pub(crate) struct Span {
    pub(crate) path: PathBuf,
    pub(crate) file: Arc<File>,
    pub(crate) first_position: u64,
    pub(crate) count: usize,
    pub(crate) start: u64,
    pub(crate) end: u64,
}

/// A run is read with one `pread` of at most this many bytes (unless one record is larger).
const MAX_SPAN_BYTES: u64 = 4 * 1024 * 1024;

impl Index {
    /// Registers a stream if new, returning its number.
    pub(crate) fn stream_number(&mut self, id: &StreamId) -> u32 {
        if let Some(&n) = self.stream_numbers.get(id) {
            return n;
        }
        let n = self.streams.len() as u32;
        self.streams.push(StreamEntry { id: id.clone(), positions: Vec::new() });
        self.stream_numbers.insert(id.clone(), n);
        n
    }

    pub(crate) fn stream(&self, id: &StreamId) -> Option<&StreamEntry> {
        self.stream_numbers.get(id).map(|&n| &self.streams[n as usize])
    }

    fn segment_of(&self, position: u64) -> Option<&Segment> {
        let i = self.segments.partition_point(|s| s.first_position <= position).checked_sub(1)?;
        let seg = &self.segments[i];
        (position < seg.end_position()).then_some(seg)
    }

    /// The run of committed records from `from` within one segment, at most `limit` of them.
    pub(crate) fn span(&self, from: u64, limit: usize) -> Option<Span> {
        if from >= self.head || limit == 0 {
            return None;
        }
        let seg = self.segment_of(from)?;
        let last = seg.end_position().min(self.head).min(from.saturating_add(limit as u64));
        let (start, mut end) = seg.byte_range(from, last);
        let mut to = last;
        // Keep a read to a bounded buffer; a single record is always read whole.
        while end - start > MAX_SPAN_BYTES && to > from + 1 {
            to = from + (to - from) / 2;
            end = seg.byte_range(from, to).1;
        }
        Some(Span {
            path: seg.path.clone(),
            file: seg.file.clone(),
            first_position: from,
            count: (to - from) as usize,
            start,
            end,
        })
    }
}

impl Span {
    /// Reads the run and checks every record: its checksum and that it is the expected position.
    pub(crate) fn read(&self, streams: &mut StreamCache, out: &mut Vec<RecordedEvent>) -> Result<()> {
        let len = (self.end - self.start) as usize;
        let mut buf = BytesMut::zeroed(len);
        self.file
            .read_exact_at(&mut buf, self.start)
            .map_err(|e| Error::io(format!("reading {} at byte offset {}", self.path.display(), self.start), e))?;
        let buf: Bytes = buf.freeze();
        let mut at = 0usize;
        for i in 0..self.count {
            let expected = self.first_position + i as u64;
            let rec = decode_record(&buf, at).map_err(|e| {
                let reason = match e {
                    RecordError::Incomplete => "record is cut short".to_owned(),
                    RecordError::Invalid(why) => why,
                };
                self.corruption(at, reason)
            })?;
            if rec.head.position != expected {
                return Err(self.corruption(
                    at,
                    format!("record holds position {}, the index expects {expected}", rec.head.position),
                ));
            }
            let stream = streams.get(rec.stream_str(&buf)).map_err(|e| self.corruption(at, e.to_string()))?;
            out.push(rec.to_event(&buf, stream));
            at += rec.len;
        }
        Ok(())
    }

    fn corruption(&self, at: usize, reason: String) -> Error {
        Error::Corruption { file: self.path.clone(), offset: self.start + at as u64, reason }
    }
}

/// Reuses the stream id of the previous record, since reads often see runs of one stream.
#[derive(Default)]
pub(crate) struct StreamCache {
    last: Option<StreamId>,
}

impl StreamCache {
    pub(crate) fn get(&mut self, name: &str) -> Result<StreamId> {
        match &self.last {
            Some(id) if id.as_str() == name => Ok(id.clone()),
            _ => {
                let id = StreamId::new(name)?;
                self.last = Some(id.clone());
                Ok(id)
            }
        }
    }
}
