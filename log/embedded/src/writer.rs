//! The one writer thread: decides appends, encodes them, and commits them in groups that share
//! one `fdatasync`.

use std::collections::{HashMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasherDefault, Hasher};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, PoisonError};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use imece_log::{
    AppendResult, Error, EventId, ExpectedVersion, NewEvent, RecordedEvent, Result, StreamAppend, StreamId,
};
use tokio::sync::oneshot;

use crate::format::{
    FORMAT_VERSION, IndexEntry, RecordHead, SEGMENT_HEADER_LEN, SegmentHeader, SegmentIndex, decode_record,
    encode_record, seal_record,
};
use crate::index::{Segment, StreamCache};
use crate::open::{segment_path, sync_dir, write_index};
use crate::{Options, Shared};

/// A request waiting for the writer.
pub(crate) enum Request {
    /// One `append`.
    One {
        stream: StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        reply: oneshot::Sender<Result<AppendResult>>,
    },
    /// One `append_many`: decided whole, encoded as one atomic batch of records, answered once.
    Many { appends: Vec<StreamAppend>, reply: oneshot::Sender<Result<Vec<AppendResult>>> },
    /// One `restore`: decided whole, encoded as one atomic batch of records as given.
    Restore { events: Vec<RecordedEvent>, reply: oneshot::Sender<Result<()>> },
}

impl Request {
    fn fail(self, error: Error) {
        match self {
            Request::One { reply, .. } => drop(reply.send(Err(error))),
            Request::Many { reply, .. } => drop(reply.send(Err(error))),
            Request::Restore { reply, .. } => drop(reply.send(Err(error))),
        }
    }
}

/// Event id → position, for idempotent appends. Keyed by a 64-bit fingerprint of the id to halve
/// its memory; a hit is confirmed against the stored event, and fingerprints that collide keep
/// every position.
#[derive(Default)]
pub(crate) struct IdIndex {
    map: HashMap<u64, u64, BuildHasherDefault<FingerprintHasher>>,
    collided: HashMap<u64, Vec<u64>>,
}

fn fingerprint(id: EventId) -> u64 {
    let (hi, lo) = id.as_uuid().as_u64_pair();
    // In a UUIDv7 the high half is mostly a timestamp and the low half random.
    lo ^ hi.rotate_left(29).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl IdIndex {
    pub(crate) fn reserve(&mut self, more: usize) {
        self.map.reserve(more);
    }

    pub(crate) fn insert(&mut self, id: EventId, position: u64) {
        let fp = fingerprint(id);
        if let Some(positions) = self.collided.get_mut(&fp) {
            positions.push(position);
            return;
        }
        if let Some(&earlier) = self.map.get(&fp) {
            self.collided.insert(fp, vec![earlier, position]);
        } else {
            self.map.insert(fp, position);
        }
    }

    /// Positions that may hold `id`.
    fn candidates(&self, id: EventId) -> &[u64] {
        let fp = fingerprint(id);
        match self.collided.get(&fp) {
            Some(positions) => positions,
            None => self.map.get(&fp).map(std::slice::from_ref).unwrap_or(&[]),
        }
    }
}

/// The keys are fingerprints of random ids already: one multiply spreads them over the table.
#[derive(Default)]
pub(crate) struct FingerprintHasher(u64);

impl Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The segment being written.
pub(crate) struct ActiveSegment {
    pub(crate) first_position: u64,
    pub(crate) path: PathBuf,
    pub(crate) file: Arc<File>,
    /// Where the next record goes: the end of the durable data.
    pub(crate) write_offset: u64,
    /// Stream and id of each event in the segment, for its index file when it is sealed.
    pub(crate) entries: Vec<(StreamId, EventId)>,
}

/// An append (or an `append_many`) decided by the writer thread, answered once its group is
/// durable.
enum Pending {
    One {
        reply: oneshot::Sender<Result<AppendResult>>,
        part: (StreamId, AppendResult),
        /// Events this append writes: 0 for a retry of events already in the log.
        written: u64,
    },
    Many {
        reply: oneshot::Sender<Result<Vec<AppendResult>>>,
        /// Every part's stream and result, in the order of the call (and of the log).
        parts: Vec<(StreamId, AppendResult)>,
        /// Events the call writes: 0 for a retry of events already in the log.
        written: u64,
    },
    Restore {
        reply: oneshot::Sender<Result<()>>,
        /// Each run of the restore's written events in one stream, in log order.
        parts: Vec<(StreamId, AppendResult)>,
        /// Events the restore writes: 0 if all were in the log already.
        written: u64,
    },
}

impl Pending {
    fn written(&self) -> u64 {
        match self {
            Pending::One { written, .. } | Pending::Many { written, .. } | Pending::Restore { written, .. } => *written,
        }
    }

    /// Where each part landed, in log order.
    fn parts(&self) -> &[(StreamId, AppendResult)] {
        match self {
            Pending::One { part, .. } => std::slice::from_ref(part),
            Pending::Many { parts, .. } | Pending::Restore { parts, .. } => parts,
        }
    }

    fn answer(self) {
        match self {
            Pending::One { reply, part, .. } => drop(reply.send(Ok(part.1))),
            Pending::Many { reply, parts, .. } => drop(reply.send(Ok(parts.into_iter().map(|(_, r)| r).collect()))),
            Pending::Restore { reply, .. } => drop(reply.send(Ok(()))),
        }
    }

    fn fail(self, error: Error) {
        match self {
            Pending::One { reply, .. } => drop(reply.send(Err(error))),
            Pending::Many { reply, .. } => drop(reply.send(Err(error))),
            Pending::Restore { reply, .. } => drop(reply.send(Err(error))),
        }
    }
}

/// A group's records as the writer thread encoded them: unsealed (see [`seal_record`]).
struct Encoded {
    first_position: u64,
    buf: Vec<u8>,
    /// Offset in `buf` of each record.
    offsets: Vec<usize>,
}

impl Encoded {
    fn contains(&self, position: u64) -> bool {
        position >= self.first_position && position < self.first_position + self.offsets.len() as u64
    }
}

/// A group on its way from the writer thread to the storage thread.
struct Group {
    records: Arc<Encoded>,
    entries: Vec<(StreamId, EventId)>,
    pending: Vec<Pending>,
}

/// Decides and encodes appends; the storage thread writes, syncs and answers them. Splitting the
/// work lets the next group be decided while the last one syncs.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    max_group_bytes: usize,
    /// Next version of every stream, including appends not yet durable.
    versions: HashMap<StreamId, u64>,
    ids: IdIndex,
    /// Position of the next event, including appends not yet durable.
    next_position: u64,
    /// The group being encoded.
    records: Encoded,
    entries: Vec<(StreamId, EventId)>,
    pending: Vec<Pending>,
    /// Groups handed to the storage thread and maybe not yet indexed: retries are checked
    /// against them.
    in_flight: VecDeque<Arc<Encoded>>,
    groups: Option<Sender<Group>>,
    storage: Option<JoinHandle<()>>,
}

impl Writer {
    pub(crate) fn new(
        shared: Arc<Shared>,
        dir: PathBuf,
        options: Options,
        active: ActiveSegment,
        versions: HashMap<StreamId, u64>,
        ids: IdIndex,
        head: u64,
    ) -> std::io::Result<Self> {
        let (groups, group_rx) = std::sync::mpsc::channel();
        let storage = Storage {
            shared: shared.clone(),
            dir,
            options: options.clone(),
            active,
            durable_end: head,
            buf: Vec::new(),
            spare: None,
            index_writers: Vec::new(),
            poisoned: None,
        };
        let storage =
            std::thread::Builder::new().name("imece-log-store".to_owned()).spawn(move || storage.run(&group_rx))?;
        Ok(Writer {
            shared,
            max_group_bytes: options.max_group_bytes,
            versions,
            ids,
            next_position: head,
            records: Encoded { first_position: head, buf: Vec::new(), offsets: Vec::new() },
            entries: Vec::new(),
            pending: Vec::new(),
            in_flight: VecDeque::new(),
            groups: Some(groups),
            storage: Some(storage),
        })
    }

    /// Serves appends until every handle to the log is gone, then lets the storage thread finish.
    pub(crate) fn run(mut self, requests: Receiver<Request>) {
        while let Ok(request) = requests.recv() {
            self.handle(request);
            // Everything queued meanwhile joins this group.
            while self.records.buf.len() < self.max_group_bytes {
                match requests.try_recv() {
                    Ok(request) => self.handle(request),
                    Err(_) => break,
                }
            }
            self.send_group();
        }
        drop(self.groups.take());
        if let Some(storage) = self.storage.take() {
            let _ = storage.join();
        }
    }

    fn handle(&mut self, request: Request) {
        if self.shared.poisoned.load(Ordering::Relaxed) {
            request.fail(self.shared.poison_error());
            return;
        }
        match request {
            Request::One { stream, expected, events, reply } => match self.decide(&stream, expected, &events) {
                Ok(Some(result)) => self.pending.push(Pending::One { reply, part: (stream, result), written: 0 }),
                Ok(None) => {
                    let result = self.encode(&stream, &events, 0, now_micros());
                    let written = events.len() as u64;
                    self.pending.push(Pending::One { reply, part: (stream, result), written });
                }
                Err(e) => drop(reply.send(Err(e))),
            },
            Request::Many { appends, reply } => match self.decide_many(&appends) {
                Ok(Some(results)) => {
                    let parts = appends.into_iter().map(|p| p.stream).zip(results).collect();
                    self.pending.push(Pending::Many { reply, parts, written: 0 });
                }
                Ok(None) => {
                    // One atomic batch: `batch_remaining` counts down across every part's records,
                    // so a torn write keeps all parts or none.
                    let written: u64 = appends.iter().map(|p| p.events.len() as u64).sum();
                    let recorded_at_micros = now_micros();
                    let mut after = written;
                    let mut parts = Vec::with_capacity(appends.len());
                    for part in appends {
                        after -= part.events.len() as u64;
                        let result = self.encode(&part.stream, &part.events, after, recorded_at_micros);
                        parts.push((part.stream, result));
                    }
                    self.pending.push(Pending::Many { reply, parts, written });
                }
                Err(e) => drop(reply.send(Err(e))),
            },
            Request::Restore { events, reply } => match self.decide_restore(&events) {
                Ok(present) => {
                    // One atomic batch of the events not yet here, each with its own time.
                    let written = (events.len() - present) as u64;
                    let mut parts: Vec<(StreamId, AppendResult)> = Vec::new();
                    for (i, e) in events[present..].iter().enumerate() {
                        self.encode_restored(e, written - 1 - i as u64);
                        match parts.last_mut() {
                            Some((stream, run)) if *stream == e.stream => {
                                run.last_position = e.position;
                                run.last_version = e.version;
                            }
                            _ => parts.push((
                                e.stream.clone(),
                                AppendResult {
                                    first_position: e.position,
                                    last_position: e.position,
                                    first_version: e.version,
                                    last_version: e.version,
                                },
                            )),
                        }
                    }
                    self.pending.push(Pending::Restore { reply, parts, written });
                }
                Err(e) => drop(reply.send(Err(e))),
            },
        }
    }

    /// Decides a restore against the log as decided so far (durable or not): how many of its
    /// first events are here already, exactly as given; the rest must follow the head with their
    /// streams' next versions and ids not in the log.
    fn decide_restore(&self, events: &[RecordedEvent]) -> Result<usize> {
        let present = imece_log::check_restore(
            events,
            self.next_position,
            |position| self.fetch(position),
            |stream| Ok(self.versions.get(stream).copied().unwrap_or(0)),
        )?;
        for e in &events[present..] {
            if let Some(found) = self.find(e.id)? {
                return Err(Error::DuplicateEventId {
                    id: e.id,
                    reason: format!("it is at position {}", found.position),
                });
            }
        }
        Ok(present)
    }

    /// `Ok(Some)` for a retry of events already in the log, `Ok(None)` to write the append.
    fn decide(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<Option<AppendResult>> {
        let mut found = Vec::new();
        for event in events {
            if let Some(stored) = self.find(event.id)? {
                found.push(imece_log::Found { stream, event, stored });
            }
        }
        if !found.is_empty() {
            return imece_log::judge_retry(&[events.len()], &found, "append").map(|results| Some(results[0]));
        }
        let actual = self.versions.get(stream).map(|next| next - 1);
        if !expected.admits(actual) {
            return Err(Error::WrongExpectedVersion { stream: stream.clone(), expected, actual });
        }
        Ok(None)
    }

    /// As [`Writer::decide`], for every part of an `append_many` at once: `Ok(Some)` (one result
    /// per part) if the whole call is already in the log, one event after another in its order;
    /// `Ok(None)` to write it, once every part's expected version holds against its stream as the
    /// parts before it leave it.
    fn decide_many(&self, appends: &[StreamAppend]) -> Result<Option<Vec<AppendResult>>> {
        let mut found = Vec::new();
        for part in appends {
            for event in &part.events {
                if let Some(stored) = self.find(event.id)? {
                    found.push(imece_log::Found { stream: &part.stream, event, stored });
                }
            }
        }
        if !found.is_empty() {
            let sizes: Vec<usize> = appends.iter().map(|p| p.events.len()).collect();
            return imece_log::judge_retry(&sizes, &found, "call").map(Some);
        }
        // The next version of each stream as the parts decided so far leave it.
        let mut next: HashMap<&StreamId, u64> = HashMap::new();
        for part in appends {
            let before = next.get(&part.stream).or_else(|| self.versions.get(&part.stream)).copied();
            let actual = before.map(|next| next - 1);
            if !part.expected.admits(actual) {
                return Err(Error::WrongExpectedVersion {
                    stream: part.stream.clone(),
                    expected: part.expected,
                    actual,
                });
            }
            next.insert(&part.stream, before.unwrap_or(0) + part.events.len() as u64);
        }
        Ok(None)
    }

    /// The stored event with this id, if any.
    fn find(&self, id: EventId) -> Result<Option<RecordedEvent>> {
        for &position in self.ids.candidates(id) {
            let event = self.fetch(position)?;
            if event.id == id {
                return Ok(Some(event));
            }
        }
        Ok(None)
    }

    /// The event at `position`: from the group being encoded, a group in flight, or the log.
    fn fetch(&self, position: u64) -> Result<RecordedEvent> {
        let in_memory =
            std::iter::once(&self.records).chain(self.in_flight.iter().map(|g| &**g)).find(|g| g.contains(position));
        if let Some(group) = in_memory {
            let at = group.offsets[(position - group.first_position) as usize];
            let len = u32::from_le_bytes(group.buf[at + 8..at + 12].try_into().unwrap()) as usize;
            let mut record = group.buf[at..at + len].to_vec();
            seal_record(&mut record, 0, 0);
            let bytes = bytes::Bytes::from(record);
            let rec = decode_record(&bytes, 0).map_err(|e| Error::Backend {
                backend: "embedded",
                message: format!("an encoded record does not decode: {e:?}"),
            })?;
            let stream = StreamCache::default().get(rec.stream_str(&bytes))?;
            return Ok(rec.to_event(&bytes, stream));
        }
        let span = self.shared.index.read().unwrap_or_else(PoisonError::into_inner).span(position, 1);
        let mut out = Vec::with_capacity(1);
        if let Some(span) = span {
            span.read(&mut StreamCache::default(), &mut out)?;
        }
        out.pop().ok_or(Error::Backend { backend: "embedded", message: format!("position {position} is not indexed") })
    }

    /// Encodes `events` as the next records of `stream`; `after` is how many records of the same
    /// atomic batch follow them (the later parts of an `append_many`; 0 for an `append`).
    fn encode(&mut self, stream: &StreamId, events: &[NewEvent], after: u64, recorded_at_micros: i64) -> AppendResult {
        let n = events.len() as u64;
        let first_position = self.next_position;
        let first_version = self.versions.get(stream).copied().unwrap_or(0);
        for (i, event) in events.iter().enumerate() {
            let head = RecordHead {
                batch_remaining: (after + n - 1 - i as u64) as u32,
                position: first_position + i as u64,
                version: first_version + i as u64,
                durable_end: 0, // set when the record is sealed
                id: event.id,
                recorded_at_micros,
            };
            self.records.offsets.push(self.records.buf.len());
            encode_record(
                &mut self.records.buf,
                &head,
                stream.as_str(),
                &event.event_type,
                &event.metadata,
                &event.data,
            );
            self.ids.insert(event.id, head.position);
            self.entries.push((stream.clone(), event.id));
        }
        self.next_position += n;
        self.versions.insert(stream.clone(), first_version + n);
        AppendResult {
            first_position,
            last_position: first_position + n - 1,
            first_version,
            last_version: first_version + n - 1,
        }
    }

    /// Encodes a restored event as the next record, with its own time; its position and version
    /// were checked to be the next ones. `after` is how many records of the same restore follow it.
    fn encode_restored(&mut self, event: &RecordedEvent, after: u64) {
        debug_assert_eq!(event.position, self.next_position);
        let head = RecordHead {
            batch_remaining: after as u32,
            position: event.position,
            version: event.version,
            durable_end: 0, // set when the record is sealed
            id: event.id,
            recorded_at_micros: event.recorded_at_micros,
        };
        self.records.offsets.push(self.records.buf.len());
        encode_record(
            &mut self.records.buf,
            &head,
            event.stream.as_str(),
            &event.event_type,
            &event.metadata,
            &event.data,
        );
        self.ids.insert(event.id, event.position);
        self.entries.push((event.stream.clone(), event.id));
        self.next_position += 1;
        self.versions.insert(event.stream.clone(), event.version + 1);
    }

    /// Hands the group to the storage thread.
    fn send_group(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let fresh = Encoded { first_position: self.next_position, buf: Vec::new(), offsets: Vec::new() };
        let records = Arc::new(std::mem::replace(&mut self.records, fresh));
        let group = Group {
            records: records.clone(),
            entries: std::mem::take(&mut self.entries),
            pending: std::mem::take(&mut self.pending),
        };
        // Groups the readers' index has caught up with are read from the log from now on.
        let indexed = *self.shared.head.borrow();
        while self.in_flight.front().is_some_and(|g| g.first_position + g.offsets.len() as u64 <= indexed) {
            self.in_flight.pop_front();
        }
        if !records.offsets.is_empty() {
            self.in_flight.push_back(records);
        }
        if let Some(Err(std::sync::mpsc::SendError(group))) = self.groups.as_ref().map(|g| g.send(group)) {
            for p in group.pending {
                p.fail(Error::Closed);
            }
        }
    }
}

/// The storage thread: seals, writes and syncs groups, publishes them to readers and answers their
/// appends; seals full segments and starts new ones.
struct Storage {
    shared: Arc<Shared>,
    dir: PathBuf,
    options: Options,
    active: ActiveSegment,
    /// Every position below this is durable.
    durable_end: u64,
    /// The records of the groups being written, sealed.
    buf: Vec<u8>,
    spare: Option<Spare>,
    index_writers: Vec<JoinHandle<()>>,
    poisoned: Option<String>,
}

/// A segment file being filled with zeros ahead of use.
struct Spare {
    path: PathBuf,
    cancel: Arc<AtomicBool>,
    thread: JoinHandle<std::io::Result<()>>,
}

impl Storage {
    fn run(mut self, groups: &Receiver<Group>) {
        let mut batch = Vec::new();
        while let Ok(group) = groups.recv() {
            // Every group that queued up during the last sync shares the next one.
            batch.push(group);
            let mut bytes = batch[0].records.buf.len();
            while bytes < self.options.max_group_bytes {
                match groups.try_recv() {
                    Ok(group) => {
                        bytes += group.records.buf.len();
                        batch.push(group);
                    }
                    Err(_) => break,
                }
            }
            self.commit(&mut batch);
            self.maybe_roll();
        }
        if self.poisoned.is_none() {
            // A clean close: the open segment's index file spares the next open a scan.
            let offsets = self.active_offsets();
            let index =
                sealed_index(self.active.first_position, self.active.write_offset, &self.active.entries, &offsets);
            if let Err(e) = write_index(&self.dir, &index) {
                tracing::warn!("{e}; the next open will scan {}", self.active.path.display());
            }
        }
        if let Some(spare) = self.spare.take() {
            spare.cancel.store(true, Ordering::Relaxed);
            let _ = spare.thread.join();
            let _ = fs::remove_file(&spare.path);
        }
        for t in self.index_writers.drain(..) {
            let _ = t.join();
        }
    }

    /// Writes the batch with one `pwrite`, syncs once, publishes it, answers every append in it.
    fn commit(&mut self, batch: &mut Vec<Group>) {
        if let Some(cause) = &self.poisoned {
            for p in batch.drain(..).flat_map(|g| g.pending) {
                p.fail(Error::Poisoned { cause: cause.clone() });
            }
            return;
        }
        // Seal every record: what is durable now is exactly what precedes this batch.
        self.buf.clear();
        let base = self.active.write_offset;
        let mut offsets = Vec::new();
        for group in batch.iter() {
            let start = self.buf.len();
            self.buf.extend_from_slice(&group.records.buf);
            for &at in &group.records.offsets {
                seal_record(&mut self.buf, start + at, self.durable_end);
                offsets.push((base + (start + at) as u64) as u32);
            }
        }
        if !self.buf.is_empty() {
            let file = &self.active.file;
            let written = file.write_all_at(&self.buf, base).and_then(|()| file.sync_data());
            self.shared.stats.syncs.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = written {
                self.poison(format!("writing or syncing {}: {e}", self.active.path.display()));
                return self.commit(batch);
            }
            self.active.write_offset += self.buf.len() as u64;
            let head = self.durable_end + offsets.len() as u64;
            {
                let mut index = self.shared.index.write().unwrap_or_else(PoisonError::into_inner);
                let segment = index.segments.last_mut().expect("the active segment is indexed");
                segment.offsets.extend_from_slice(&offsets);
                segment.data_end = self.active.write_offset;
                for p in batch.iter().flat_map(|g| &g.pending).filter(|p| p.written() > 0) {
                    for (stream, result) in p.parts() {
                        let number = index.stream_number(stream);
                        let positions = &mut index.streams[number as usize].positions;
                        positions.extend(result.first_position..=result.last_position);
                    }
                }
                index.head = head;
            }
            self.durable_end = head;
            self.shared.head.send_replace(head);
            self.shared.stats.bytes_written.fetch_add(self.buf.len() as u64, Ordering::Relaxed);
        }
        let stats = &self.shared.stats;
        for group in batch.drain(..) {
            self.active.entries.extend(group.entries);
            for p in group.pending {
                stats.appends.fetch_add(1, Ordering::Relaxed);
                stats.events.fetch_add(p.written(), Ordering::Relaxed);
                p.answer();
            }
        }
    }

    /// After a failed write or sync the kernel may have dropped the failed pages, so a later sync
    /// could succeed without them: refuse every later write instead.
    fn poison(&mut self, cause: String) {
        tracing::error!("{cause}; the log refuses further writes");
        *self.shared.poison_cause.lock().unwrap_or_else(PoisonError::into_inner) = Some(cause.clone());
        self.shared.poisoned.store(true, Ordering::Relaxed);
        self.poisoned = Some(cause);
    }

    /// Seals a full segment and starts the next; prepares a spare once the segment is half full.
    fn maybe_roll(&mut self) {
        if self.poisoned.is_some() {
            return;
        }
        let half = self.options.segment_size / 2;
        if self.options.preallocate && self.spare.is_none() && self.active.write_offset >= half {
            self.spare = Some(prepare_spare(&self.dir, self.options.segment_size));
        }
        if self.active.write_offset < self.options.segment_size {
            return;
        }
        if let Err(e) = self.roll() {
            self.poison(format!("starting a new segment after {}: {e}", self.active.path.display()));
        }
    }

    fn roll(&mut self) -> Result<()> {
        // Seal: cut the zeroed space off, so a sealed segment ends with its last record.
        let file = &self.active.file;
        file.set_len(self.active.write_offset)
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(format!("sealing {}", self.active.path.display()), e))?;
        // The sealed segment's index file is built and written on a thread of its own: for a
        // segment of hundreds of thousands of events that takes tens of milliseconds, during which
        // appends to the next segment would otherwise wait.
        let (first_position, data_end) = (self.active.first_position, self.active.write_offset);
        let entries = std::mem::take(&mut self.active.entries);
        let offsets = self.active_offsets();
        let dir = self.dir.clone();
        self.index_writers.retain(|t| !t.is_finished());
        self.index_writers.push(std::thread::spawn(move || {
            let sealed = sealed_index(first_position, data_end, &entries, &offsets);
            if let Err(e) = write_index(&dir, &sealed) {
                tracing::warn!("{e}; it will be rebuilt on the next open");
            }
        }));

        let first = self.durable_end;
        let file = match self.spare.take() {
            Some(spare) if spare.thread.is_finished() => match spare.thread.join() {
                Ok(Ok(())) => Some(adopt_spare(&self.dir, &spare.path, first)?),
                _ => None,
            },
            other => {
                self.spare = other;
                None
            }
        };
        let file = match file {
            Some(file) => file,
            None => create_segment(&self.dir, first, 0)?,
        };
        let file = Arc::new(file);
        let path = segment_path(&self.dir, first);
        self.shared.index.write().unwrap_or_else(PoisonError::into_inner).segments.push(Segment {
            first_position: first,
            path: path.clone(),
            file: file.clone(),
            offsets: Vec::new(),
            data_end: SEGMENT_HEADER_LEN as u64,
        });
        self.active = ActiveSegment {
            first_position: first,
            path,
            file,
            write_offset: SEGMENT_HEADER_LEN as u64,
            entries: Vec::new(),
        };
        Ok(())
    }

    /// The offsets of the active segment's records, as the shared index knows them.
    fn active_offsets(&self) -> Vec<u32> {
        let index = self.shared.index.read().unwrap_or_else(PoisonError::into_inner);
        index.segments.last().expect("the active segment is indexed").offsets.clone()
    }
}

/// The index file of a segment: its events' streams and ids (`entries`, in order) and their
/// record offsets.
fn sealed_index(first_position: u64, data_end: u64, entries: &[(StreamId, EventId)], offsets: &[u32]) -> SegmentIndex {
    let mut numbers: HashMap<&StreamId, u32> = HashMap::new();
    let mut streams = Vec::new();
    let entries = entries
        .iter()
        .zip(offsets)
        .map(|((stream, id), &offset)| {
            let n = *numbers.entry(stream).or_insert_with(|| {
                streams.push(stream.as_str().to_owned());
                streams.len() as u32 - 1
            });
            IndexEntry { offset, stream: n, id: *id }
        })
        .collect();
    SegmentIndex { first_position, data_end, streams, entries }
}

fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

/// Creates a segment file: written whole under a temporary name, synced, then renamed, so a `.seg`
/// file always has a valid header. `zeroed` bytes are written as zeros ahead of use.
pub(crate) fn create_segment(dir: &Path, first_position: u64, zeroed: u64) -> Result<File> {
    let path = segment_path(dir, first_position);
    let tmp = path.with_extension("seg.tmp");
    let create = || -> std::io::Result<File> {
        let file = OpenOptions::new().read(true).write(true).create_new(true).open(&tmp)?;
        fill_zeros(&file, zeroed, &AtomicBool::new(false))?;
        write_header(&file, first_position)?;
        fs::rename(&tmp, &path)?;
        Ok(file)
    };
    let file = create().map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    sync_dir(dir)?;
    Ok(file)
}

fn write_header(file: &File, first_position: u64) -> std::io::Result<()> {
    let header = SegmentHeader { version: FORMAT_VERSION, first_position };
    file.write_all_at(&header.encode(), 0)?;
    file.sync_all()
}

fn fill_zeros(file: &File, len: u64, cancel: &AtomicBool) -> std::io::Result<()> {
    const CHUNK: u64 = 1024 * 1024;
    let zeros = vec![0u8; CHUNK as usize];
    let mut at = 0;
    while at < len && !cancel.load(Ordering::Relaxed) {
        let n = CHUNK.min(len - at);
        file.write_all_at(&zeros[..n as usize], at)?;
        at += n;
    }
    Ok(())
}

fn prepare_spare(dir: &Path, len: u64) -> Spare {
    let path = dir.join("spare.tmp");
    let cancel = Arc::new(AtomicBool::new(false));
    let (p, c) = (path.clone(), cancel.clone());
    let thread = std::thread::spawn(move || {
        let file = OpenOptions::new().write(true).create(true).truncate(true).open(&p)?;
        fill_zeros(&file, len, &c)?;
        file.sync_all()
    });
    Spare { path, cancel, thread }
}

/// Turns a finished spare into the segment starting at `first_position`.
fn adopt_spare(dir: &Path, spare: &Path, first_position: u64) -> Result<File> {
    let path = segment_path(dir, first_position);
    let adopt = || -> std::io::Result<File> {
        let file = OpenOptions::new().read(true).write(true).open(spare)?;
        write_header(&file, first_position)?;
        fs::rename(spare, &path)?;
        Ok(file)
    };
    let file = adopt().map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    sync_dir(dir)?;
    Ok(file)
}
