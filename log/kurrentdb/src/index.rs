//! What imece knows of the log stream, kept in memory, and the decisions taken against it.
//!
//! KurrentDB keeps the events; imece keeps, per imece stream, the positions of its events (so that
//! a stream version maps to a revision of the log stream) and, per event id, its position (so that
//! imece itself, not KurrentDB's best-effort deduplication, decides whether an append is a retry).
//! Everything here is pure: the writer reads and writes KurrentDB around it.

use std::collections::{HashMap, HashSet};

use imece_log::{AppendResult, Error, EventId, NewEvent, RecordedEvent, StreamAppend, StreamId};

/// The index of the log stream up to `head`.
#[derive(Debug, Default)]
pub(crate) struct Index {
    head: u64,
    /// Per imece stream, the positions of its events, by version.
    streams: HashMap<StreamId, Vec<u64>>,
    /// Per event id, its position.
    ids: HashMap<EventId, u64>,
}

impl Index {
    /// The number of events indexed: the next position.
    pub(crate) fn head(&self) -> u64 {
        self.head
    }

    /// The version of the stream's last event.
    pub(crate) fn stream_version(&self, stream: &StreamId) -> Option<u64> {
        self.streams.get(stream).map(|p| p.len() as u64 - 1)
    }

    /// The positions of the stream's events, by version.
    pub(crate) fn positions(&self, stream: &StreamId) -> &[u64] {
        self.streams.get(stream).map_or(&[], Vec::as_slice)
    }

    /// Adds the event at the head. Refuses (and changes nothing) if it does not continue the log:
    /// another position, a version that is not its stream's next, an id already indexed.
    pub(crate) fn apply(&mut self, position: u64, stream: &StreamId, version: u64, id: EventId) -> Result<(), String> {
        if position != self.head {
            return Err(format!("the event at revision {position} follows revision {} of the index", self.head));
        }
        let next = self.streams.get(stream).map_or(0, |p| p.len() as u64);
        if version != next {
            return Err(format!(
                "the event at revision {position} has version {version} of stream {stream}, not {next}"
            ));
        }
        if let Some(at) = self.ids.get(&id) {
            return Err(format!("the event at revision {position} repeats event id {id} of revision {at}"));
        }
        self.streams.entry(stream.clone()).or_default().push(position);
        self.ids.insert(id, position);
        self.head += 1;
        Ok(())
    }
}

/// Appends decided but not yet written: the events of one KurrentDB append.
#[derive(Debug)]
pub(crate) struct Group {
    /// The index head when the group was started: its first event's position.
    base: u64,
    /// The events in order, each with its stream and version.
    events: Vec<(StreamId, u64, NewEvent)>,
    /// The last version of each stream the group writes to.
    versions: HashMap<StreamId, u64>,
    ids: HashSet<EventId>,
    bytes: usize,
}

impl Group {
    pub(crate) fn new(base: u64) -> Self {
        Group { base, events: Vec::new(), versions: HashMap::new(), ids: HashSet::new(), bytes: 0 }
    }

    pub(crate) fn base(&self) -> u64 {
        self.base
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    /// The data plus metadata of its events.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The events in order, with their streams and versions.
    pub(crate) fn events(&self) -> &[(StreamId, u64, NewEvent)] {
        &self.events
    }

    /// Adds parts whose decision was [`Decision::Write`].
    pub(crate) fn add(&mut self, parts: &[StreamAppend], results: &[AppendResult]) {
        for (part, r) in parts.iter().zip(results) {
            for (i, e) in part.events.iter().enumerate() {
                self.ids.insert(e.id);
                self.bytes += e.data.len() + e.metadata.len();
                self.events.push((part.stream.clone(), r.first_version + i as u64, e.clone()));
            }
            self.versions.insert(part.stream.clone(), r.last_version);
        }
    }
}

/// What to do with one call of `append` or `append_many`.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Add it to the group; these are its results once the group is written.
    Write(Vec<AppendResult>),
    /// Refuse it.
    Refuse(Error),
    /// Every event is in the log, one after another from `first`: read them and compare
    /// ([`check_retry`]).
    Compare { first: u64 },
    /// It depends on the events of the group (an id of them, or an expected version that fails only
    /// because of them): write the group, then decide again.
    Flush,
}

/// Decides a call against the index plus the group not yet written.
pub(crate) fn decide(index: &Index, group: &Group, parts: &[StreamAppend]) -> Decision {
    let flat = || parts.iter().flat_map(|p| p.events.iter());
    if flat().any(|e| group.ids.contains(&e.id)) {
        return Decision::Flush;
    }
    let known: Vec<(EventId, u64)> = flat().filter_map(|e| index.ids.get(&e.id).map(|&at| (e.id, at))).collect();
    if let Some(&(id, first)) = known.first() {
        let count = flat().count();
        if known.len() != count {
            let reason = format!(
                "only {} of the {count} events of this append are in the log (this one at position {first})",
                known.len()
            );
            return Decision::Refuse(Error::DuplicateEventId { id, reason });
        }
        if let Some((i, &(id, at))) = known.iter().enumerate().find(|&(i, &(_, at))| at != first + i as u64) {
            let reason = format!(
                "it is at position {at}, not {} where it would follow the append's first event",
                first + i as u64
            );
            return Decision::Refuse(Error::DuplicateEventId { id, reason });
        }
        return Decision::Compare { first };
    }
    let mut local: HashMap<&StreamId, Option<u64>> = HashMap::new();
    let mut results = Vec::with_capacity(parts.len());
    let mut position = group.base + group.events.len() as u64;
    for p in parts {
        let actual = match local.get(&p.stream) {
            Some(&v) => v,
            None => group.versions.get(&p.stream).copied().or_else(|| index.stream_version(&p.stream)),
        };
        if !p.expected.admits(actual) {
            if group.versions.contains_key(&p.stream) {
                return Decision::Flush;
            }
            return Decision::Refuse(Error::WrongExpectedVersion {
                stream: p.stream.clone(),
                expected: p.expected,
                actual,
            });
        }
        let n = p.events.len() as u64;
        let first_version = actual.map_or(0, |v| v + 1);
        results.push(AppendResult {
            first_position: position,
            last_position: position + n - 1,
            first_version,
            last_version: first_version + n - 1,
        });
        position += n;
        local.insert(&p.stream, Some(first_version + n - 1));
    }
    Decision::Write(results)
}

/// The original results of a retry whose events are stored as `stored` (read from the position the
/// index gave, as many as the call has); [`Error::DuplicateEventId`] unless every event is there
/// exactly as given.
pub(crate) fn check_retry(parts: &[StreamAppend], stored: &[RecordedEvent]) -> Result<Vec<AppendResult>, Error> {
    let count: usize = parts.iter().map(|p| p.events.len()).sum();
    let flat = parts.iter().flat_map(|p| p.events.iter().map(move |e| (&p.stream, e)));
    for (i, (stream, e)) in flat.enumerate() {
        let Some(s) = stored.get(i) else {
            let reason = format!("the log ends before the {count} events of this append");
            return Err(Error::DuplicateEventId { id: e.id, reason });
        };
        if s.id != e.id {
            let reason = format!("position {} holds event {}, not this one", s.position, s.id);
            return Err(Error::DuplicateEventId { id: e.id, reason });
        }
        if s.stream != *stream {
            let reason = format!("it was appended to stream {}, not {stream}", s.stream);
            return Err(Error::DuplicateEventId { id: e.id, reason });
        }
        if !e.same_content(s) {
            let reason = format!("it was appended to {stream} with other content (at position {})", s.position);
            return Err(Error::DuplicateEventId { id: e.id, reason });
        }
    }
    let mut at = 0;
    Ok(parts
        .iter()
        .map(|p| {
            let (a, b) = (&stored[at], &stored[at + p.events.len() - 1]);
            at += p.events.len();
            AppendResult {
                first_position: a.position,
                last_position: b.position,
                first_version: a.version,
                last_version: b.version,
            }
        })
        .collect())
}

/// For a restore (already checked by [`imece_log::validate_restore`]): how many of its first events
/// are below the head, to compare with what is stored there. Refuses a gap.
pub(crate) fn restore_present(index: &Index, events: &[RecordedEvent]) -> Result<usize, Error> {
    let first = events[0].position;
    if first > index.head {
        return Err(Error::invalid(
            "events[0].position",
            format!("position {first} is past the log's head {}: the log would have a gap", index.head),
        ));
    }
    Ok(((index.head - first) as usize).min(events.len()))
}

/// For a restore: checks that `events[..stored.len()]` are stored exactly as given, and that the
/// rest continues the log (each the next version of its stream, with an id not in the log).
pub(crate) fn check_restore(index: &Index, events: &[RecordedEvent], stored: &[RecordedEvent]) -> Result<(), Error> {
    for (i, e) in events[..stored.len()].iter().enumerate() {
        if let Some(field) = stored[i].differing_field(e) {
            return Err(Error::invalid(
                format!("events[{i}]"),
                format!("position {} already holds another event (its {field} differs)", e.position),
            ));
        }
    }
    let mut next: HashMap<&StreamId, u64> = HashMap::new();
    for (i, e) in events.iter().enumerate().skip(stored.len()) {
        let version = match next.get(&e.stream) {
            Some(&v) => v,
            None => index.stream_version(&e.stream).map_or(0, |v| v + 1),
        };
        if e.version != version {
            return Err(Error::invalid(
                format!("events[{i}].version"),
                format!("position {}: stream {} is next at version {version}, not {}", e.position, e.stream, e.version),
            ));
        }
        if let Some(&at) = index.ids.get(&e.id) {
            return Err(Error::DuplicateEventId { id: e.id, reason: format!("it is at position {at}") });
        }
        next.insert(&e.stream, version + 1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use imece_log::ExpectedVersion;

    use super::*;

    fn s(name: &str) -> StreamId {
        StreamId::new(name).unwrap()
    }

    fn ev(n: u128) -> NewEvent {
        NewEvent::new("T.v1", format!("{{\"n\":{n}}}")).with_id(EventId::from(uuid::Uuid::from_u128(n + 1)))
    }

    fn r(first_position: u64, last_position: u64, first_version: u64, last_version: u64) -> AppendResult {
        AppendResult { first_position, last_position, first_version, last_version }
    }

    fn recorded(position: u64, stream: &StreamId, version: u64, e: &NewEvent) -> RecordedEvent {
        RecordedEvent {
            position,
            stream: stream.clone(),
            version,
            id: e.id,
            event_type: e.event_type.clone(),
            data: e.data.clone(),
            metadata: e.metadata.clone(),
            recorded_at_micros: 1,
        }
    }

    /// Decides and, for a write, commits at once (a group of one call), as the writer does when
    /// nothing else waits; returns the log's events too.
    #[derive(Default)]
    struct Model {
        index: Index,
        log: Vec<RecordedEvent>,
    }

    impl Model {
        fn call(&mut self, parts: Vec<StreamAppend>) -> Result<Vec<AppendResult>, Error> {
            let group = Group::new(self.index.head());
            match decide(&self.index, &group, &parts) {
                Decision::Write(results) => {
                    let mut group = group;
                    group.add(&parts, &results);
                    for (i, (stream, version, e)) in group.events().iter().enumerate() {
                        let position = group.base() + i as u64;
                        self.index.apply(position, stream, *version, e.id).unwrap();
                        self.log.push(recorded(position, stream, *version, e));
                    }
                    Ok(results)
                }
                Decision::Refuse(e) => Err(e),
                Decision::Compare { first } => {
                    let n = parts.iter().map(|p| p.events.len()).sum::<usize>();
                    let end = (first as usize + n).min(self.log.len());
                    check_retry(&parts, &self.log[first as usize..end])
                }
                Decision::Flush => panic!("no group to flush"),
            }
        }
    }

    #[test]
    fn writes_get_positions_and_versions() {
        let mut m = Model::default();
        let (a, b) = (s("a"), s("b"));
        assert_eq!(
            m.call(vec![StreamAppend::new(a.clone(), ExpectedVersion::NoStream, vec![ev(0), ev(1)])]).unwrap(),
            [r(0, 1, 0, 1)]
        );
        let got = m
            .call(vec![
                StreamAppend::new(b.clone(), ExpectedVersion::Any, vec![ev(2)]),
                StreamAppend::new(a.clone(), ExpectedVersion::Exact(1), vec![ev(3)]),
                StreamAppend::new(b.clone(), ExpectedVersion::Exact(0), vec![ev(4), ev(5)]),
            ])
            .unwrap();
        assert_eq!(got, [r(2, 2, 0, 0), r(3, 3, 2, 2), r(4, 5, 1, 2)]);
        assert_eq!(m.index.head(), 6);
        assert_eq!(m.index.positions(&b), [2, 4, 5]);
        assert_eq!(m.index.stream_version(&a), Some(2));
        assert_eq!(m.index.stream_version(&s("c")), None);
    }

    #[test]
    fn wrong_expected_versions_are_refused() {
        let mut m = Model::default();
        let a = s("a");
        m.call(vec![StreamAppend::new(a.clone(), ExpectedVersion::Any, vec![ev(0)])]).unwrap();
        for (expected, actual) in [(ExpectedVersion::NoStream, Some(0)), (ExpectedVersion::Exact(3), Some(0))] {
            let e = m.call(vec![StreamAppend::new(a.clone(), expected, vec![ev(9)])]).unwrap_err();
            assert!(matches!(e, Error::WrongExpectedVersion { actual: got, .. } if got == actual), "{e:?}");
        }
        let e = m.call(vec![StreamAppend::new(s("new"), ExpectedVersion::StreamExists, vec![ev(9)])]).unwrap_err();
        assert!(matches!(e, Error::WrongExpectedVersion { actual: None, .. }), "{e:?}");
        // The second part is checked against the stream as the first leaves it.
        let e = m
            .call(vec![
                StreamAppend::new(a.clone(), ExpectedVersion::Exact(0), vec![ev(9)]),
                StreamAppend::new(a.clone(), ExpectedVersion::Exact(0), vec![ev(10)]),
            ])
            .unwrap_err();
        assert!(matches!(e, Error::WrongExpectedVersion { actual: Some(1), .. }), "{e:?}");
        assert_eq!(m.index.head(), 1, "refusals write nothing");
    }

    #[test]
    fn exact_retries_return_the_original_results_and_other_reuse_is_refused() {
        let mut m = Model::default();
        let (a, b) = (s("a"), s("b"));
        let call = vec![
            StreamAppend::new(a.clone(), ExpectedVersion::NoStream, vec![ev(0), ev(1)]),
            StreamAppend::new(b.clone(), ExpectedVersion::NoStream, vec![ev(2)]),
        ];
        let first = m.call(call.clone()).unwrap();
        m.call(vec![StreamAppend::new(a.clone(), ExpectedVersion::Any, vec![ev(3)])]).unwrap();
        assert_eq!(m.call(call.clone()).unwrap(), first, "retry, whatever it expects");
        assert_eq!(m.index.head(), 4);

        let dup = |m: &mut Model, parts: Vec<StreamAppend>, what: &str| {
            let e = m.call(parts).unwrap_err();
            assert!(matches!(e, Error::DuplicateEventId { .. }), "{what}: {e:?}");
        };
        // A part of an earlier call, as stored, is a retry too (the contract's rule: every event of
        // the call in the log as given, one after another).
        let part = vec![StreamAppend::new(a.clone(), ExpectedVersion::NoStream, vec![ev(1)])];
        assert_eq!(m.call(part).unwrap(), [r(1, 1, 1, 1)]);
        dup(&mut m, vec![StreamAppend::new(a.clone(), ExpectedVersion::Any, vec![ev(0), ev(9)])], "one new");
        dup(&mut m, vec![StreamAppend::new(a.clone(), ExpectedVersion::Any, vec![ev(1), ev(0)])], "other order");
        dup(
            &mut m,
            vec![StreamAppend::new(a.clone(), ExpectedVersion::Any, vec![ev(0), ev(1), ev(2)])],
            "other stream",
        );
        dup(&mut m, vec![StreamAppend::new(b.clone(), ExpectedVersion::Any, vec![ev(2), ev(3)])], "not adjacent");
        let changed = ev(3).with_metadata(Bytes::from_static(b"x"));
        dup(&mut m, vec![StreamAppend::new(a.clone(), ExpectedVersion::Any, vec![changed])], "other content");
        assert_eq!(m.index.head(), 4, "refusals write nothing");
    }

    #[test]
    fn a_group_flushes_before_what_depends_on_it() {
        let index = Index::default();
        let a = s("a");
        let mut group = Group::new(0);
        let one = vec![StreamAppend::new(a.clone(), ExpectedVersion::NoStream, vec![ev(0)])];
        let Decision::Write(results) = decide(&index, &group, &one) else { panic!() };
        group.add(&one, &results);
        // The same id again: wait for the group, then it is a retry.
        assert!(matches!(decide(&index, &group, &one), Decision::Flush));
        // A failing expectation because of the group: decide once it is written.
        let again = vec![StreamAppend::new(a.clone(), ExpectedVersion::NoStream, vec![ev(1)])];
        assert!(matches!(decide(&index, &group, &again), Decision::Flush));
        // A passing one joins the group, after its events.
        let next = vec![StreamAppend::new(a.clone(), ExpectedVersion::Exact(0), vec![ev(2), ev(3)])];
        let Decision::Write(results) = decide(&index, &group, &next) else { panic!() };
        assert_eq!(results, [r(1, 2, 1, 2)]);
        group.add(&next, &results);
        assert_eq!((group.len(), group.base()), (3, 0));
        assert_eq!(group.bytes(), 3 * 7);
    }

    #[test]
    fn apply_refuses_what_does_not_continue_the_log() {
        let mut index = Index::default();
        let a = s("a");
        let id = |n| EventId::from(uuid::Uuid::from_u128(n));
        index.apply(0, &a, 0, id(1)).unwrap();
        assert!(index.apply(2, &a, 1, id(2)).is_err(), "a gap in positions");
        assert!(index.apply(1, &a, 2, id(2)).is_err(), "a gap in versions");
        assert!(index.apply(1, &a, 1, id(1)).is_err(), "a repeated id");
        assert_eq!(index.head(), 1);
        index.apply(1, &s("b"), 0, id(2)).unwrap();
    }

    #[test]
    fn restores_skip_what_is_there_and_continue_the_log() {
        let mut m = Model::default();
        let a = s("a");
        m.call(vec![StreamAppend::new(a.clone(), ExpectedVersion::Any, vec![ev(0), ev(1)])]).unwrap();
        let mut events = m.log.clone();
        events.push(recorded(2, &a, 2, &ev(2)));
        assert_eq!(restore_present(&m.index, &events).unwrap(), 2);
        check_restore(&m.index, &events, &m.log).unwrap();
        check_restore(&m.index, &events[1..], &m.log[1..]).unwrap();

        let mut changed = events.clone();
        changed[1].recorded_at_micros = 2;
        let e = check_restore(&m.index, &changed, &m.log).unwrap_err();
        assert!(e.to_string().contains("events[1]") && e.to_string().contains("recorded_at"), "{e}");
        let mut skipped = events.clone();
        skipped[2].version = 3;
        assert!(check_restore(&m.index, &skipped, &m.log).unwrap_err().to_string().contains("events[2].version"));
        let mut reused = events.clone();
        reused[2].id = ev(0).id;
        assert!(matches!(check_restore(&m.index, &reused, &m.log), Err(Error::DuplicateEventId { .. })));
        let gap = vec![recorded(3, &a, 2, &ev(2))];
        assert!(restore_present(&m.index, &gap).is_err());
    }
}
