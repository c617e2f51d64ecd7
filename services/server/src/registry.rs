//! The registry's command path: load an organisation's stream, decide a command by the domain's
//! rules, and append what was decided, idempotently by request id. Independent of gRPC: the
//! services convert requests into [`Command`]s and call [`Registry::execute`].

use std::sync::Arc;

use imece_domain::organisation::Command;
use imece_domain::{
    Actor, ActorKind, ComplianceFindingRecorded, Context, CorrelationId, Envelope, Event, Metadata, NodeId, OrgId,
    Organisation, Origin, RuleBook,
};
use imece_log::{Direction, EventId, EventLog, ExpectedVersion, NewEvent, RecordedEvent, StreamFrom, StreamId};
use uuid::Uuid;

use crate::Error;
use crate::auth::{Caller, Role};
use crate::keystore::KeyStore;

/// What a client says about a command besides the command itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestMeta {
    /// Chosen by the client; a retry with the same id gets the first answer and writes nothing.
    pub request_id: Uuid,
    /// The stream version the client decided on; `None` skips the check.
    pub expected_version: Option<u64>,
}

/// Where a command's events landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub stream_version: u64,
    pub first_position: u64,
    pub last_position: u64,
    /// Legal minimums the recorded facts do not meet (ADR 0004).
    pub findings: Vec<ComplianceFindingRecorded>,
}

/// An organisation as its stream tells it.
#[derive(Debug)]
pub struct Loaded {
    pub state: Organisation,
    pub events: Vec<(RecordedEvent, Envelope)>,
}

impl Loaded {
    /// The version of the stream's last event.
    pub fn version(&self) -> Option<u64> {
        self.events.last().map(|(e, _)| e.version)
    }
}

/// The id of the `index`-th event a request writes: derived from the request id, so that a retried
/// request carries the same ids and the log's idempotency answers it.
pub fn event_id(request_id: Uuid, index: usize) -> EventId {
    EventId::from(Uuid::new_v5(&request_id, &(index as u64).to_be_bytes()))
}

/// What the registry keeps of an organisation between commands, so that a command does not read
/// and decode the organisation's whole stream again.
#[derive(Clone, Debug)]
struct Current {
    state: Organisation,
    version: Option<u64>,
    /// The actor who registered it (registrars keep writing for what they registered).
    registered_by: Option<String>,
    /// The node that wrote its first event: the only node that writes to it.
    owner: Option<NodeId>,
}

/// One organisation's slot: commands for one organisation are decided one at a time.
type Slot = Arc<tokio::sync::Mutex<Option<Current>>>;

/// The registry over a log and a keystore.
pub struct Registry<L> {
    log: Arc<L>,
    keys: Arc<dyn KeyStore>,
    rules: RuleBook,
    node: NodeId,
    current: std::sync::Mutex<std::collections::HashMap<OrgId, Slot>>,
    max_states: usize,
}

/// How many organisations' states a registry keeps in memory by default. Past it, states no
/// command is using are dropped, and read from the log again when next needed.
pub const MAX_CACHED_STATES: usize = 50_000;

impl<L> std::fmt::Debug for Registry<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("node", &self.node).finish_non_exhaustive()
    }
}

impl<L: EventLog> Registry<L> {
    pub fn new(log: Arc<L>, keys: Arc<dyn KeyStore>, node: NodeId) -> Self {
        Registry {
            log,
            keys,
            rules: RuleBook::standard(),
            node,
            current: Default::default(),
            max_states: MAX_CACHED_STATES,
        }
    }

    /// Keeps at most `max` organisations' states in memory (at least one).
    pub fn with_max_states(mut self, max: usize) -> Self {
        self.max_states = max.max(1);
        self
    }

    /// How many organisations' states are in memory now.
    pub fn cached_states(&self) -> usize {
        self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    /// The keystore that seals personal data.
    pub fn keys(&self) -> &dyn KeyStore {
        &*self.keys
    }

    /// The log underneath.
    pub fn log(&self) -> &Arc<L> {
        &self.log
    }

    /// Reads and decodes an organisation's whole stream.
    pub async fn load(&self, org: OrgId) -> Result<Loaded, Error> {
        let stream = stream_of(org)?;
        let recorded = self.log.read_stream(&stream, StreamFrom::Start, Direction::Forward, usize::MAX).await?;
        let mut events = Vec::with_capacity(recorded.len());
        for e in recorded {
            let envelope = Envelope::decode(&e.event_type, &e.data, &e.metadata).map_err(|err| {
                Error::Stored(format!("event at position {} ({}) does not decode: {err}", e.position, e.event_type))
            })?;
            events.push((e, envelope));
        }
        let state = Organisation::from_events(events.iter().map(|(_, env)| &env.event));
        Ok(Loaded { state, events })
    }

    fn slot(&self, org: OrgId) -> Slot {
        let mut slots = self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(slot) = slots.get(&org) {
            return slot.clone();
        }
        if slots.len() >= self.max_states {
            // Make a tenth of the room at once, from states no command holds (only the map has
            // them): a command in flight keeps its state, and a dropped one is read again.
            let room = (self.max_states / 10).max(1);
            let idle: Vec<OrgId> =
                slots.iter().filter(|(_, s)| Arc::strong_count(s) == 1).map(|(id, _)| *id).take(room).collect();
            for id in idle {
                slots.remove(&id);
            }
        }
        slots.entry(org).or_default().clone()
    }

    async fn read_current(&self, org: OrgId) -> Result<Current, Error> {
        let loaded = self.load(org).await?;
        let registered_by = loaded.events.first().map(|(_, env)| env.metadata.actor.id.clone());
        let owner = loaded.events.first().map(|(_, env)| env.metadata.origin.node.clone());
        Ok(Current { version: loaded.version(), state: loaded.state, registered_by, owner })
    }

    /// [`Error::NotOwner`] if another node of the federation owns the organisation.
    fn check_owner(&self, org: OrgId, current: &Current) -> Result<(), Error> {
        match &current.owner {
            Some(owner) if *owner != self.node => {
                Err(Error::NotOwner { org: org.to_string(), owner: owner.to_string() })
            }
            _ => Ok(()),
        }
    }

    /// The events a request decided, with their metadata, as the log stores them; their ids are
    /// derived from the request id.
    fn encode(
        &self,
        caller: &Caller,
        request_id: Uuid,
        jurisdiction: imece_domain::CountryCode,
        events: &[Event],
    ) -> Result<Vec<NewEvent>, Error> {
        let mut encoded_events = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            let metadata = Metadata {
                actor: Actor { kind: ActorKind::User, id: caller.name.clone() },
                correlation_id: CorrelationId::from(request_id),
                causation_id: None,
                jurisdiction,
                visibility: event.visibility(),
                origin: Origin::local(self.node.clone()),
            };
            let encoded = Envelope::new(event.clone(), metadata)?.encode()?;
            encoded_events.push(NewEvent {
                id: event_id(request_id, i),
                event_type: encoded.event_type,
                data: encoded.data.into(),
                metadata: encoded.metadata.into(),
            });
        }
        Ok(encoded_events)
    }

    /// An organisation's state and stream version, from memory when the registry has it.
    pub async fn state(&self, org: OrgId) -> Result<(Organisation, Option<u64>), Error> {
        let slot = self.slot(org);
        let mut current = slot.lock().await;
        if !is_known(&current) {
            let read = self.read_current(org).await?;
            if self.check_owner(org, &read).is_err() {
                // Replication appends to another node's organisations behind the registry's back:
                // their states are read afresh each time, never kept.
                return Ok((read.state, read.version));
            }
            *current = Some(read);
        }
        let c = current.as_ref().expect("just filled");
        Ok((c.state.clone(), c.version))
    }

    /// The answer `request_id` got the first time, if its events are in `org`'s stream.
    async fn first_answer(&self, org: OrgId, request_id: Uuid) -> Result<Option<Written>, Error> {
        let loaded = self.load(org).await?;
        let first = event_id(request_id, 0);
        Ok(loaded.events.iter().position(|(e, _)| e.id == first).map(|at| written_by(request_id, &loaded.events[at..])))
    }

    /// Decides `command` for `org` and appends what was decided.
    ///
    /// The organisation's state is kept in memory between commands; commands for one organisation
    /// are decided one at a time. A retried request is recognised by its events' ids (derived from
    /// the request id): when deciding it again fails or the log finds its ids, the first answer is
    /// read back from the stream and returned.
    pub async fn execute(
        &self,
        caller: &Caller,
        org: OrgId,
        meta: RequestMeta,
        command: Command,
    ) -> Result<Written, Error> {
        caller.require_writer().map_err(|s| Error::PermissionDenied(s.message().to_owned()))?;
        let slot = self.slot(org);
        let mut guard = slot.lock().await;
        if !is_known(&guard) {
            *guard = Some(self.read_current(org).await?);
        }
        let current = guard.as_ref().expect("just filled");
        if let Err(e) = self.check_owner(org, current) {
            *guard = None;
            return Err(e);
        }
        let registering = matches!(command, Command::Register(_));
        if !registering && current.version.is_none() {
            return Err(Error::NotFound(format!("organisation {org}")));
        }
        authorize(caller, org, current, registering)?;
        if let Some(expected) = meta.expected_version
            && Some(expected) != current.version
        {
            if let Some(first) = self.first_answer(org, meta.request_id).await? {
                return Ok(first);
            }
            return Err(Error::Log(imece_log::Error::WrongExpectedVersion {
                stream: stream_of(org)?,
                expected: ExpectedVersion::Exact(expected),
                actual: current.version,
            }));
        }
        let today = time::OffsetDateTime::now_utc().date();
        let events = match current.state.decide(command, &Context::new(today, &self.rules)) {
            Ok(events) => events,
            Err(e) => {
                // Deciding a retried request again may be refused (it happened already).
                return match self.first_answer(org, meta.request_id).await? {
                    Some(first) => Ok(first),
                    None => Err(e.into()),
                };
            }
        };
        let mut after = current.state.clone();
        events.iter().for_each(|e| after.apply(e));
        let jurisdiction = after
            .jurisdiction()
            .ok_or_else(|| Error::Stored(format!("organisation {org} has no seat, so no jurisdiction")))?;
        let new_events = self.encode(caller, meta.request_id, jurisdiction, &events)?;
        let expected = current.version.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
        let next_version = current.version.map_or(0, |v| v + 1);
        match self.log.append(&stream_of(org)?, expected, new_events).await {
            Ok(appended) if appended.first_version == next_version => {
                let registered_by = current.registered_by.clone().or_else(|| Some(caller.name.clone()));
                let owner = current.owner.clone().or_else(|| Some(self.node.clone()));
                *guard = Some(Current { state: after, version: Some(appended.last_version), registered_by, owner });
                Ok(Written {
                    stream_version: appended.last_version,
                    first_position: appended.first_position,
                    last_position: appended.last_position,
                    findings: findings(events.iter()),
                })
            }
            Ok(_) | Err(imece_log::Error::DuplicateEventId { .. }) => {
                // The log already had these events: a retry that decided the same again, or
                // differently; either way the first answer stands.
                *guard = None;
                self.first_answer(org, meta.request_id).await?.ok_or_else(|| {
                    Error::Stored(format!("request {} is in the log but not in {org}'s stream", meta.request_id))
                })
            }
            Err(e) => {
                *guard = None;
                Err(e.into())
            }
        }
    }
}

impl<L: EventLog> Registry<L> {
    /// Erases a person's personal data: destroys their key (after checking the caller may write for
    /// the organisation and the person is enrolled there), then records the erasure. From then on
    /// their personal fields read as erased everywhere; their coarse attributes and the
    /// organisation's facts remain. A retry destroys nothing more and records nothing twice.
    pub async fn erase_person(
        &self,
        caller: &Caller,
        org: OrgId,
        meta: RequestMeta,
        mut erasure: imece_domain::MemberDataErased,
    ) -> Result<Written, Error> {
        caller.require_writer().map_err(|s| Error::PermissionDenied(s.message().to_owned()))?;
        let current = {
            let slot = self.slot(org);
            let mut current = slot.lock().await;
            if !is_known(&current) {
                *current = Some(self.read_current(org).await?);
            }
            current.clone().expect("just filled")
        };
        if current.version.is_none() {
            return Err(Error::NotFound(format!("organisation {org}")));
        }
        self.check_owner(org, &current)?;
        authorize(caller, org, &current, false)?;
        if current.state.person(erasure.person).is_none() {
            return Err(Error::NotFound(format!("person {} in organisation {org}", erasure.person)));
        }
        erasure.key_id = self.keys.destroy(erasure.person)?;
        self.execute(caller, org, meta, Command::EraseMemberData(erasure)).await
    }
}

impl<L: EventLog> Registry<L> {
    /// Decides `commands` for `org` one after another, each on the state the ones before left, and
    /// appends all their events with one append: what an import does with an organisation's records.
    /// Each command gets its own answer, as if it had been executed alone; if the append itself
    /// fails, they are executed one at a time instead, so that each gets its own answer.
    pub async fn execute_batch(
        &self,
        caller: &Caller,
        org: OrgId,
        commands: Vec<(RequestMeta, Command)>,
    ) -> Vec<Result<Written, Error>> {
        let batched = self.try_batch(caller, org, &commands).await;
        match batched {
            Some(answers) => answers,
            None => {
                let mut answers = Vec::with_capacity(commands.len());
                for (meta, command) in commands {
                    answers.push(self.execute(caller, org, meta, command).await);
                }
                answers
            }
        }
    }

    /// `None` when the batch could not be appended as one: the caller falls back to one by one.
    async fn try_batch(
        &self,
        caller: &Caller,
        org: OrgId,
        commands: &[(RequestMeta, Command)],
    ) -> Option<Vec<Result<Written, Error>>> {
        caller.require_writer().ok()?;
        let slot = self.slot(org);
        let mut guard = slot.lock().await;
        if !is_known(&guard) {
            *guard = Some(self.read_current(org).await.ok()?);
        }
        let current = guard.clone().expect("just filled");
        if self.check_owner(org, &current).is_err() {
            *guard = None;
            return None; // refused one by one
        }
        let today = time::OffsetDateTime::now_utc().date();
        let ctx = Context::new(today, &self.rules);
        let (mut state, mut version, mut registered_by) =
            (current.state.clone(), current.version, current.registered_by.clone());
        let mut answers: Vec<Option<Result<Written, Error>>> = Vec::with_capacity(commands.len());
        // For each decided command: its answer's index, its first event's index in `new_events`,
        // and the findings decided with it.
        let mut decided: Vec<(usize, usize, usize, Vec<ComplianceFindingRecorded>)> = Vec::new();
        let mut new_events = Vec::new();
        for (i, (meta, command)) in commands.iter().enumerate() {
            let registering = matches!(command, Command::Register(_));
            let authorized = match caller.role {
                // Only a registrar's rights depend on the organisation's state.
                Role::Registrar { .. } => {
                    let here = Current {
                        state: state.clone(),
                        version,
                        registered_by: registered_by.clone(),
                        owner: current.owner.clone(),
                    };
                    authorize(caller, org, &here, registering)
                }
                _ => Ok(()),
            };
            let refusal = if !registering && version.is_none() {
                Some(Error::NotFound(format!("organisation {org}")))
            } else if let Err(e) = authorized {
                Some(e)
            } else if meta.expected_version.is_some() && meta.expected_version != version {
                return None; // conflicts and their retries are answered one by one
            } else {
                None
            };
            if let Some(e) = refusal {
                answers.push(Some(Err(e)));
                continue;
            }
            let events = match state.decide(command.clone(), &ctx) {
                Ok(events) if !events.is_empty() => events,
                Ok(_) => return None,
                Err(e) => {
                    answers.push(Some(Err(e.into())));
                    continue;
                }
            };
            let mut after = state.clone();
            events.iter().for_each(|e| after.apply(e));
            let jurisdiction = after.jurisdiction()?;
            let start = new_events.len();
            new_events.extend(self.encode(caller, meta.request_id, jurisdiction, &events).ok()?);
            state = after;
            version = Some(version.map_or(0, |v| v + 1) + events.len() as u64 - 1);
            registered_by = registered_by.or_else(|| Some(caller.name.clone()));
            decided.push((i, start, new_events.len() - start, findings(events.iter())));
            answers.push(None);
        }
        if !new_events.is_empty() {
            let expected = current.version.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
            let first_version = current.version.map_or(0, |v| v + 1);
            match self.log.append(&stream_of(org).ok()?, expected, new_events).await {
                Ok(appended) if appended.first_version == first_version => {
                    for (i, start, count, found) in decided {
                        answers[i] = Some(Ok(Written {
                            stream_version: appended.first_version + (start + count) as u64 - 1,
                            first_position: appended.first_position + start as u64,
                            last_position: appended.first_position + (start + count) as u64 - 1,
                            findings: found,
                        }));
                    }
                    let owner = current.owner.clone().or_else(|| Some(self.node.clone()));
                    *guard = Some(Current { state, version, registered_by, owner });
                }
                _ => {
                    *guard = None;
                    return None;
                }
            }
        }
        drop(guard);
        // Refused commands may be retries of requests already in the stream.
        if answers.iter().any(|a| matches!(a, Some(Err(_)))) {
            let loaded = self.load(org).await.ok()?;
            for (i, (meta, _)) in commands.iter().enumerate() {
                if matches!(answers[i], Some(Err(_))) {
                    let first = event_id(meta.request_id, 0);
                    if let Some(at) = loaded.events.iter().position(|(e, _)| e.id == first) {
                        answers[i] = Some(Ok(written_by(meta.request_id, &loaded.events[at..])));
                    }
                }
            }
        }
        Some(answers.into_iter().map(|a| a.expect("every command answered")).collect())
    }
}

/// Whether a slot holds an organisation's state that can be used without reading the log: one
/// with events. An empty stream is read again each time, since replication may have brought the
/// organisation from its owner since (it appends behind the registry's back).
fn is_known(slot: &Option<Current>) -> bool {
    slot.as_ref().is_some_and(|c| c.version.is_some())
}

fn stream_of(org: OrgId) -> Result<StreamId, Error> {
    Ok(StreamId::new(org.stream_name())?)
}

fn findings<'a>(events: impl Iterator<Item = &'a Event>) -> Vec<ComplianceFindingRecorded> {
    events
        .filter_map(|e| match e {
            Event::ComplianceFindingRecorded(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

/// The answer a request got the first time: its events are those with the ids it derives.
fn written_by(request_id: Uuid, from: &[(RecordedEvent, Envelope)]) -> Written {
    let mine: Vec<&(RecordedEvent, Envelope)> =
        from.iter().enumerate().take_while(|(i, (e, _))| e.id == event_id(request_id, *i)).map(|(_, e)| e).collect();
    let (first, last) = (&mine[0].0, &mine[mine.len() - 1].0);
    Written {
        stream_version: last.version,
        first_position: first.position,
        last_position: last.position,
        findings: findings(mine.iter().map(|(_, env)| &env.event)),
    }
}

/// Admins write everywhere. A registrar writes for the organisations in its scope (`org:<uuid>`),
/// for those affiliated with a union in its scope (`union:<name>`), and for those it registered
/// itself until they join a union; it may register new organisations.
fn authorize(caller: &Caller, org: OrgId, current: &Current, registering: bool) -> Result<(), Error> {
    let Role::Registrar { scope } = &caller.role else { return Ok(()) };
    if registering && current.version.is_none() {
        return Ok(());
    }
    let by_org = scope.iter().any(|s| s.strip_prefix("org:") == Some(&org.to_string()));
    let by_union = current.state.affiliations().any(|a| scope.iter().any(|s| s.strip_prefix("union:") == Some(a)));
    let registered_by_caller =
        current.state.affiliations().next().is_none() && current.registered_by.as_deref() == Some(&caller.name);
    if by_org || by_union || registered_by_caller {
        Ok(())
    } else {
        Err(Error::PermissionDenied(format!(
            "{} may not write for organisation {org}: it is outside the registrar's scope {scope:?}",
            caller.name
        )))
    }
}
