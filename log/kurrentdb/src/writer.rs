//! The one writer task of a [`crate::KurrentLog`]: decides appends against the index, writes each
//! group of them as one KurrentDB append to the log stream at the expected revision of the index's
//! head, and only then adds them to the index.
//!
//! The expected revision makes the log stream's revisions imece's gapless positions even with
//! several processes writing: the one that loses a race gets KurrentDB's wrong expected version,
//! catches its index up to the stream and decides again (its callers never see that). An append
//! whose outcome is unknown (a lost connection, a deadline) fails its callers with
//! [`imece_log::Error::Backend`]; the index catches up before the next one, so that a retry with the
//! same event ids finds them and returns the original result.

use std::collections::VecDeque;
use std::sync::Arc;

use imece_log::{AppendResult, Error, RecordedEvent, Result, StreamAppend};
use kurrentdb::AppendToStreamOptions;
use tokio::sync::{mpsc, oneshot};

use crate::errors::{again, backend, is_wrong_expected_version};
use crate::index::{Decision, Group, check_restore, check_retry, decide, restore_present};
use crate::kurrent::{Shared, event_data, expected_revision};

/// How many times in a row the writer catches up and decides again after losing the race for the
/// log stream to another process before it gives up on a group.
const MAX_CONTENTION: u32 = 64;
/// The most requests taken from the channel at a time.
const MAX_QUEUE: usize = 4096;

/// What the writer is asked.
#[derive(Debug)]
pub(crate) enum Request {
    /// An `append` (one part) or an `append_many`, validated.
    Append { parts: Vec<StreamAppend>, reply: oneshot::Sender<Result<Vec<AppendResult>>> },
    /// A `restore`, validated.
    Restore { events: Vec<RecordedEvent>, reply: oneshot::Sender<Result<()>> },
}

impl Request {
    fn fail(self, e: Error) {
        match self {
            Request::Append { reply, .. } => drop(reply.send(Err(e))),
            Request::Restore { reply, .. } => drop(reply.send(Err(e))),
        }
    }
}

/// A call in the group being written, and its results if it lands.
struct Member {
    parts: Vec<StreamAppend>,
    reply: oneshot::Sender<Result<Vec<AppendResult>>>,
    results: Vec<AppendResult>,
}

pub(crate) struct Writer {
    shared: Arc<Shared>,
    /// The index may be behind the log stream (another process wrote, or an append's outcome is
    /// unknown): catch up before deciding anything.
    stale: bool,
    contention: u32,
}

impl Writer {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Writer { shared, stale: false, contention: 0 }
    }

    /// Serves requests until every handle of the log is dropped.
    pub(crate) async fn run(mut self, mut requests: mpsc::UnboundedReceiver<Request>) {
        let mut queue = VecDeque::new();
        loop {
            if queue.is_empty() {
                match requests.recv().await {
                    Some(r) => queue.push_back(r),
                    None => return,
                }
            }
            while queue.len() < MAX_QUEUE {
                match requests.try_recv() {
                    Ok(r) => queue.push_back(r),
                    Err(_) => break,
                }
            }
            self.round(&mut queue).await;
        }
    }

    /// Decides requests from the front of the queue into one group and writes it; what must wait
    /// for the group goes back to the front.
    async fn round(&mut self, queue: &mut VecDeque<Request>) {
        if self.stale {
            match self.shared.catch_up().await {
                Ok(()) => self.stale = false,
                Err(e) => {
                    for r in queue.drain(..) {
                        r.fail(again(&e));
                    }
                    return;
                }
            }
        }
        let (max_events, max_bytes) = (self.shared.options.max_group_events, self.shared.options.max_group_bytes);
        let mut group = Group::new(self.shared.index().head());
        let mut members = Vec::new();
        while let Some(request) = queue.pop_front() {
            let (parts, reply) = match request {
                Request::Restore { events, reply } => {
                    if !group.is_empty() {
                        queue.push_front(Request::Restore { events, reply });
                        break;
                    }
                    let answer = self.restore(events).await;
                    drop(reply.send(answer));
                    return;
                }
                Request::Append { parts, reply } => (parts, reply),
            };
            let count: usize = parts.iter().map(|p| p.events.len()).sum();
            let bytes: usize = parts.iter().flat_map(|p| &p.events).map(|e| e.data.len() + e.metadata.len()).sum();
            if !group.is_empty() && (group.len() + count > max_events || group.bytes() + bytes > max_bytes) {
                queue.push_front(Request::Append { parts, reply });
                break;
            }
            let decision = decide(&self.shared.index(), &group, &parts);
            match decision {
                Decision::Write(results) => {
                    group.add(&parts, &results);
                    members.push(Member { parts, reply, results });
                }
                Decision::Refuse(e) => drop(reply.send(Err(e))),
                Decision::Flush => {
                    queue.push_front(Request::Append { parts, reply });
                    break;
                }
                Decision::Compare { first } => {
                    // A retry of events already in the log: compare with what is stored.
                    let answer = match self.shared.read_range(first, count).await {
                        Ok(stored) => check_retry(&parts, &stored),
                        Err(e) => Err(e),
                    };
                    drop(reply.send(answer));
                }
            }
        }
        if !group.is_empty() {
            self.write(group, members, queue).await;
        }
    }

    /// Writes the group as one KurrentDB append at the index's head.
    async fn write(&mut self, group: Group, members: Vec<Member>, queue: &mut VecDeque<Request>) {
        let events: Vec<_> = group
            .events()
            .iter()
            .map(|(stream, version, e)| event_data(stream, *version, None, e.id, &e.event_type, &e.data, &e.metadata))
            .collect();
        let options = AppendToStreamOptions::default().stream_state(expected_revision(group.base()));
        match self.shared.client.append_to_stream(self.shared.stream.as_str(), &options, events).await {
            Ok(_) => {
                self.contention = 0;
                {
                    let mut index = self.shared.index_mut();
                    for (i, (stream, version, e)) in group.events().iter().enumerate() {
                        if let Err(why) = index.apply(group.base() + i as u64, stream, *version, e.id) {
                            // Cannot happen while the index is the log stream's: read it again.
                            tracing::error!("the index of {} disagrees with an append: {why}", self.shared.describe());
                            self.stale = true;
                            break;
                        }
                    }
                }
                for m in members {
                    drop(m.reply.send(Ok(m.results)));
                }
            }
            Err(e) if is_wrong_expected_version(&e) && self.contention < MAX_CONTENTION => {
                // Another process appended to the log stream: catch up, decide these again.
                tracing::debug!("{} moved on under this writer: catching up", self.shared.describe());
                self.contention += 1;
                self.stale = true;
                for m in members.into_iter().rev() {
                    queue.push_front(Request::Append { parts: m.parts, reply: m.reply });
                }
            }
            Err(e) => {
                self.stale = true;
                let context = if is_wrong_expected_version(&e) {
                    format!(
                        "appending to {}: other processes appended first {MAX_CONTENTION} times in a row",
                        self.shared.describe()
                    )
                } else {
                    format!("appending {} events to {}", group.len(), self.shared.describe())
                };
                let error = backend(&context, &e);
                for m in members {
                    drop(m.reply.send(Err(again(&error))));
                }
            }
        }
    }

    /// Restores events as another log recorded them (see [`imece_log::EventLog::restore`]).
    async fn restore(&mut self, events: Vec<RecordedEvent>) -> Result<()> {
        let present = restore_present(&self.shared.index(), &events)?;
        let stored = if present > 0 { self.shared.read_range(events[0].position, present).await? } else { Vec::new() };
        if stored.len() != present {
            return Err(Error::Backend {
                backend: crate::errors::BACKEND,
                message: format!(
                    "{} ends before position {}, which this process has seen",
                    self.shared.describe(),
                    events[0].position + present as u64
                ),
            });
        }
        check_restore(&self.shared.index(), &events, &stored)?;
        let rest = &events[present..];
        let Some(first) = rest.first() else { return Ok(()) };
        let data: Vec<_> = rest
            .iter()
            .map(|e| {
                event_data(&e.stream, e.version, Some(e.recorded_at_micros), e.id, &e.event_type, &e.data, &e.metadata)
            })
            .collect();
        let options = AppendToStreamOptions::default().stream_state(expected_revision(first.position));
        match self.shared.client.append_to_stream(self.shared.stream.as_str(), &options, data).await {
            Ok(_) => {
                let mut index = self.shared.index_mut();
                for e in rest {
                    if let Err(why) = index.apply(e.position, &e.stream, e.version, e.id) {
                        tracing::error!("the index of {} disagrees with a restore: {why}", self.shared.describe());
                        self.stale = true;
                        break;
                    }
                }
                Ok(())
            }
            Err(e) => {
                self.stale = true;
                let context = if is_wrong_expected_version(&e) {
                    format!(
                        "restoring into {}: another process appended to it meanwhile (hold the log alone while \
                         restoring)",
                        self.shared.describe()
                    )
                } else {
                    format!("restoring {} events into {}", rest.len(), self.shared.describe())
                };
                Err(backend(&context, &e))
            }
        }
    }
}
