//! The values that cross the [`crate::EventLog`] trait.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use crate::{Error, Result};

/// The longest stream id, in bytes of UTF-8.
pub const MAX_STREAM_ID_LEN: usize = 255;
/// The longest event type, in bytes of UTF-8.
pub const MAX_EVENT_TYPE_LEN: usize = 255;
/// The largest event: data plus metadata, in bytes.
pub const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;
/// The most events one append may carry.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// The largest append: the data and metadata of all its events, in bytes.
pub const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;

/// The name of a stream: one per organisation, membership register or assembly.
///
/// 1 to 255 bytes of UTF-8 without control characters, not starting with `$` (reserved for the
/// backends' own system streams). Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(Arc<str>);

impl StreamId {
    /// Checks `name` against the rules above.
    pub fn new(name: impl AsRef<str>) -> Result<Self> {
        let name = name.as_ref();
        if name.is_empty() {
            return Err(Error::invalid("stream", "must not be empty"));
        }
        if name.len() > MAX_STREAM_ID_LEN {
            return Err(Error::invalid(
                "stream",
                format!("must be at most {MAX_STREAM_ID_LEN} bytes, is {}", name.len()),
            ));
        }
        if name.starts_with('$') {
            return Err(Error::invalid("stream", "must not start with '$' (reserved for system streams)"));
        }
        if name.chars().any(char::is_control) {
            return Err(Error::invalid("stream", "must not contain control characters"));
        }
        Ok(StreamId(Arc::from(name)))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl AsRef<str> for StreamId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The unique id of an event, minted by the writer (a UUIDv7): the idempotency key of an append.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(uuid::Uuid);

impl EventId {
    /// A fresh time-ordered id.
    pub fn new_v7() -> Self {
        EventId(uuid::Uuid::now_v7())
    }

    /// The id as a UUID.
    pub fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }

    /// The 16 bytes of the UUID, big-endian as RFC 9562 writes them.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// The id from its 16 bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        EventId(uuid::Uuid::from_bytes(bytes))
    }
}

impl From<uuid::Uuid> for EventId {
    fn from(id: uuid::Uuid) -> Self {
        EventId(id)
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// An event to append. The log treats `data` and `metadata` as opaque bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    pub id: EventId,
    /// What happened, e.g. `OrganisationRegistered.v1`.
    pub event_type: String,
    pub data: Bytes,
    pub metadata: Bytes,
}

impl NewEvent {
    /// An event with a fresh id and no metadata.
    pub fn new(event_type: impl Into<String>, data: impl Into<Bytes>) -> Self {
        NewEvent { id: EventId::new_v7(), event_type: event_type.into(), data: data.into(), metadata: Bytes::new() }
    }

    /// The same event with `metadata`.
    pub fn with_metadata(mut self, metadata: impl Into<Bytes>) -> Self {
        self.metadata = metadata.into();
        self
    }

    /// The same event with `id`.
    pub fn with_id(mut self, id: EventId) -> Self {
        self.id = id;
        self
    }

    /// Whether `recorded` is this event as it was stored: same id, type, data and metadata.
    pub fn same_content(&self, recorded: &RecordedEvent) -> bool {
        self.id == recorded.id
            && self.event_type == recorded.event_type
            && self.data == recorded.data
            && self.metadata == recorded.metadata
    }
}

/// An event as the log stored it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    /// Its place in the whole log: gapless, from 0.
    pub position: u64,
    pub stream: StreamId,
    /// Its place in its stream: gapless, from 0.
    pub version: u64,
    pub id: EventId,
    pub event_type: String,
    pub data: Bytes,
    pub metadata: Bytes,
    /// When the log stored it (wall clock), in microseconds since the Unix epoch. The legal date of
    /// a fact lives in the event's own data, not here.
    pub recorded_at_micros: i64,
}

impl RecordedEvent {
    /// The first field in which `other` differs from this event, in the order position, stream,
    /// version, id, event type, data, metadata, recorded at; `None` if they are the same event.
    pub fn differing_field(&self, other: &RecordedEvent) -> Option<&'static str> {
        [
            ("position", self.position == other.position),
            ("stream", self.stream == other.stream),
            ("version", self.version == other.version),
            ("id", self.id == other.id),
            ("event_type", self.event_type == other.event_type),
            ("data", self.data == other.data),
            ("metadata", self.metadata == other.metadata),
            ("recorded_at_micros", self.recorded_at_micros == other.recorded_at_micros),
        ]
        .into_iter()
        .find(|(_, same)| !same)
        .map(|(field, _)| field)
    }
}

/// What an append expects of the stream before it writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must have no events.
    NoStream,
    /// The stream must have at least one event.
    StreamExists,
    /// The stream's last event must have this version.
    Exact(u64),
}

impl ExpectedVersion {
    /// Whether a stream whose last version is `actual` meets this expectation.
    pub fn admits(self, actual: Option<u64>) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual.is_none(),
            ExpectedVersion::StreamExists => actual.is_some(),
            ExpectedVersion::Exact(v) => actual == Some(v),
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::StreamExists => f.write_str("stream exists"),
            ExpectedVersion::Exact(v) => write!(f, "{v}"),
        }
    }
}

/// Where an append landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendResult {
    /// Global position of the first event of the batch.
    pub first_position: u64,
    /// Global position of the last event of the batch.
    pub last_position: u64,
    /// Stream version of the first event of the batch.
    pub first_version: u64,
    /// Stream version of the last event: the stream's version after the append.
    pub last_version: u64,
}

/// Where a stream read starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamFrom {
    /// The first event (version 0).
    Start,
    /// The last event: with [`Direction::Backward`], the newest events first.
    End,
    /// The event with this version, included.
    Version(u64),
}

/// Which way a stream read goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

/// One stream's part of an [`crate::EventLog::append_many`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamAppend {
    pub stream: StreamId,
    /// What the stream must be at, as the parts before this one in the same call leave it.
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
}

impl StreamAppend {
    /// A part appending `events` to `stream` if it is at `expected`.
    pub fn new(stream: StreamId, expected: ExpectedVersion, events: Vec<NewEvent>) -> Self {
        StreamAppend { stream, expected, events }
    }
}

/// Checks an append's batch against the limits every backend shares. Backends call it before
/// touching storage, so the same input is refused the same way everywhere.
pub fn validate_batch(events: &[NewEvent]) -> Result<()> {
    if events.is_empty() {
        return Err(Error::invalid("events", "must contain at least one event"));
    }
    if events.len() > MAX_BATCH_EVENTS {
        return Err(Error::invalid(
            "events",
            format!("must contain at most {MAX_BATCH_EVENTS} events, has {}", events.len()),
        ));
    }
    let mut total = 0usize;
    // Most appends carry a few events: comparing pairs is cheaper than a set for those.
    let mut seen = (events.len() > 16).then(|| std::collections::HashSet::with_capacity(events.len()));
    for (i, e) in events.iter().enumerate() {
        let repeated = match &mut seen {
            Some(seen) => !seen.insert(e.id),
            None => events[..i].iter().any(|earlier| earlier.id == e.id),
        };
        total += validate_event(e, repeated.then_some("the append"), |field| format!("events[{i}].{field}"))?;
    }
    if total > MAX_BATCH_BYTES {
        return Err(Error::invalid(
            "events",
            format!("the data plus metadata of one append must be at most {MAX_BATCH_BYTES} bytes, is {total}"),
        ));
    }
    Ok(())
}

/// Checks an [`crate::EventLog::append_many`] against the limits every backend shares, as
/// [`validate_batch`] checks one append: at least one part, every part at least one event, every
/// event by the same rules (fields named by part, e.g. `appends[3].events[0].id`), ids unique across
/// the whole call, and the whole call within [`MAX_BATCH_EVENTS`] events and [`MAX_BATCH_BYTES`]
/// bytes, so that it fits one durable write. Backends call it before touching storage.
pub fn validate_appends(appends: &[StreamAppend]) -> Result<()> {
    if appends.is_empty() {
        return Err(Error::invalid("appends", "must contain at least one part"));
    }
    let count: usize = appends.iter().map(|a| a.events.len()).sum();
    if count > MAX_BATCH_EVENTS {
        return Err(Error::invalid(
            "appends",
            format!("must contain at most {MAX_BATCH_EVENTS} events in all its parts, has {count}"),
        ));
    }
    let mut total = 0usize;
    let mut seen = std::collections::HashSet::with_capacity(count);
    for (p, part) in appends.iter().enumerate() {
        if part.events.is_empty() {
            return Err(Error::invalid(format!("appends[{p}].events"), "must contain at least one event"));
        }
        for (i, e) in part.events.iter().enumerate() {
            let repeated = !seen.insert(e.id);
            total +=
                validate_event(e, repeated.then_some("the call"), |field| format!("appends[{p}].events[{i}].{field}"))?;
        }
    }
    if total > MAX_BATCH_BYTES {
        return Err(Error::invalid(
            "appends",
            format!(
                "the data plus metadata of all parts of one call must be at most {MAX_BATCH_BYTES} bytes, is {total}"
            ),
        ));
    }
    Ok(())
}

/// Checks a restore (one [`validate_restore`] passed) against a log whose head is `head`, by the
/// rules of [`crate::EventLog::restore`], and returns how many of its first events lie below the
/// head. Those must be stored exactly as given: `stored(position)` is what the log holds there.
/// The rest must begin at the head and take their streams' next versions: `next_version(stream)`
/// is the version a stream takes next in the log (0 for a new one). Their ids are the caller's to
/// look up, in `events[present..]`.
pub fn check_restore(
    events: &[RecordedEvent],
    head: u64,
    mut stored: impl FnMut(u64) -> Result<RecordedEvent>,
    mut next_version: impl FnMut(&StreamId) -> Result<u64>,
) -> Result<usize> {
    let first = events[0].position;
    if first > head {
        return Err(Error::invalid(
            "events[0].position",
            format!("position {first} is past the log's head {head}: the log would have a gap"),
        ));
    }
    let present = ((head - first) as usize).min(events.len());
    for (i, e) in events[..present].iter().enumerate() {
        if let Some(field) = stored(e.position)?.differing_field(e) {
            return Err(Error::invalid(
                format!("events[{i}]"),
                format!("position {} already holds another event (its {field} differs)", e.position),
            ));
        }
    }
    let mut next: std::collections::HashMap<&StreamId, u64> = std::collections::HashMap::new();
    for (i, e) in events.iter().enumerate().skip(present) {
        let version = match next.get(&e.stream) {
            Some(&v) => v,
            None => next_version(&e.stream)?,
        };
        if e.version != version {
            return Err(Error::invalid(
                format!("events[{i}].version"),
                format!("position {}: stream {} is next at version {version}, not {}", e.position, e.stream, e.version),
            ));
        }
        next.insert(&e.stream, version + 1);
    }
    Ok(present)
}

/// Checks an [`crate::EventLog::restore`] against the limits every backend shares, as
/// [`validate_batch`] checks an append: at least one event and at most [`MAX_BATCH_EVENTS`], every
/// event by the rules of an append (fields named `events[3].event_type`), ids unique within the
/// call, positions consecutive (`events[i].position` is `events[0].position + i`), and the whole call
/// within [`MAX_BATCH_BYTES`] bytes of data and metadata. Where the positions and versions stand
/// against the log is for the backend to check. Backends call it before touching storage.
pub fn validate_restore(events: &[RecordedEvent]) -> Result<()> {
    if events.is_empty() {
        return Err(Error::invalid("events", "must contain at least one event"));
    }
    if events.len() > MAX_BATCH_EVENTS {
        return Err(Error::invalid(
            "events",
            format!("must contain at most {MAX_BATCH_EVENTS} events, has {}", events.len()),
        ));
    }
    let first = events[0].position;
    if first.checked_add(events.len() as u64).is_none_or(|end| end > i64::MAX as u64) {
        return Err(Error::invalid("events[0].position", format!("{first} is beyond any log")));
    }
    let mut total = 0usize;
    let mut seen = std::collections::HashSet::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let field = |name: &str| format!("events[{i}].{name}");
        let want = first + i as u64;
        if e.position != want {
            return Err(Error::invalid(
                field("position"),
                format!("must be {want}: the events of a restore take consecutive positions, is {}", e.position),
            ));
        }
        if e.version > i64::MAX as u64 {
            return Err(Error::invalid(field("version"), format!("{} is beyond any stream", e.version)));
        }
        let repeated = !seen.insert(e.id);
        let size = e.data.len() + e.metadata.len();
        total += check_event(e.id, &e.event_type, size, repeated.then_some("the restore"), field)?;
    }
    if total > MAX_BATCH_BYTES {
        return Err(Error::invalid(
            "events",
            format!("the data plus metadata of one restore must be at most {MAX_BATCH_BYTES} bytes, is {total}"),
        ));
    }
    Ok(())
}

/// Checks one event; `repeated_within` names where its id was seen before, if it was. Returns its
/// size (data plus metadata). `field` makes the name of a field of the event, for errors only.
fn validate_event(e: &NewEvent, repeated_within: Option<&str>, field: impl Fn(&str) -> String) -> Result<usize> {
    check_event(e.id, &e.event_type, e.data.len() + e.metadata.len(), repeated_within, field)
}

/// [`validate_event`] on the parts of an event: its id, its type and its size.
fn check_event(
    id: EventId,
    event_type: &str,
    size: usize,
    repeated_within: Option<&str>,
    field: impl Fn(&str) -> String,
) -> Result<usize> {
    if id.as_uuid().is_nil() {
        return Err(Error::invalid(field("id"), "must not be the nil UUID"));
    }
    if let Some(within) = repeated_within {
        return Err(Error::invalid(field("id"), format!("must be unique within {within}; {id} repeats")));
    }
    if event_type.is_empty() {
        return Err(Error::invalid(field("event_type"), "must not be empty"));
    }
    if event_type.len() > MAX_EVENT_TYPE_LEN {
        return Err(Error::invalid(
            field("event_type"),
            format!("must be at most {MAX_EVENT_TYPE_LEN} bytes, is {}", event_type.len()),
        ));
    }
    if event_type.chars().any(char::is_control) {
        return Err(Error::invalid(field("event_type"), "must not contain control characters"));
    }
    if size > MAX_EVENT_BYTES {
        return Err(Error::invalid(
            field("data"),
            format!("data plus metadata must be at most {MAX_EVENT_BYTES} bytes, is {size}"),
        ));
    }
    Ok(size)
}

/// One event of an append whose id the log holds already, for [`judge_retry`].
#[derive(Debug)]
pub struct Found<'a> {
    /// The stream the call appends it to.
    pub stream: &'a StreamId,
    /// The event as the call gives it.
    pub event: &'a NewEvent,
    /// What the log holds under its id.
    pub stored: RecordedEvent,
}

/// Judges an append (`what` = "append") or an `append_many` (`what` = "call") some of whose event
/// ids the log holds already: `part_sizes` are the call's parts' event counts, `found` the events
/// found, in the call's order. An exact retry (every event stored as given, in its part's stream, one
/// after another in the call's order) gets its original results, one per part; anything else is
/// [`Error::DuplicateEventId`] with the reason. Backends judge every retry with it, so that the same
/// reuse of an id is refused the same way everywhere.
pub fn judge_retry(part_sizes: &[usize], found: &[Found<'_>], what: &str) -> Result<Vec<AppendResult>> {
    let total: usize = part_sizes.iter().sum();
    let Some(first) = found.first() else {
        return Err(Error::invalid("events", "judge_retry needs at least one event found in the log"));
    };
    let mut id = first.event.id;
    let reason = if found.len() != total {
        format!("{} of the {total} events of this {what} are already in the log", found.len())
    } else if let Some(f) = found.iter().find(|f| f.stored.stream != *f.stream || !f.event.same_content(&f.stored)) {
        id = f.event.id;
        if f.stored.stream != *f.stream {
            format!("it is in stream {}", f.stored.stream)
        } else {
            "it was stored with another type, data or metadata".to_owned()
        }
    } else if found.iter().enumerate().any(|(i, f)| f.stored.position != first.stored.position + i as u64) {
        format!("the {what}'s events are in the log, but not one after another in this order")
    } else {
        let mut at = 0;
        let results = part_sizes
            .iter()
            .map(|&n| {
                let (a, b) = (&found[at].stored, &found[at + n - 1].stored);
                at += n;
                AppendResult {
                    first_position: a.position,
                    last_position: b.position,
                    first_version: a.version,
                    last_version: b.version,
                }
            })
            .collect();
        return Ok(results);
    };
    Err(Error::DuplicateEventId { id, reason })
}
