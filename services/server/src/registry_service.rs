//! `imece.v1.Registry` and `imece.v1.Members`: requests converted into domain commands
//! ([`crate::convert`]), decided and appended by the [`Registry`], answered with where they landed.

use std::sync::Arc;

use futures_util::StreamExt;
use imece_domain::{PersonKind, PersonRef};
use imece_log::EventLog;
use imece_proto::v1 as pb;
use tonic::{Request, Response, Status, Streaming};

use crate::Error;
use crate::auth::{Caller, caller};
use crate::convert::{self, ImportItem, Write};
use crate::people;
use crate::registry::{Registry, Written};

/// The most events one `GetHistory` page returns.
pub const MAX_HISTORY_PAGE: u32 = 1_000;

/// Serves the registry's commands and reads.
pub struct RegistryService<L> {
    registry: Arc<Registry<L>>,
}

impl<L> std::fmt::Debug for RegistryService<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryService").finish_non_exhaustive()
    }
}

impl<L> Clone for RegistryService<L> {
    fn clone(&self) -> Self {
        RegistryService { registry: self.registry.clone() }
    }
}

impl<L: EventLog> RegistryService<L> {
    pub fn new(registry: Arc<Registry<L>>) -> Self {
        RegistryService { registry }
    }

    /// Seals an enrolment's personal data (only for callers who may write at all), making it a
    /// command.
    fn seal(&self, caller: &Caller, enrolment: convert::Enrolment) -> Result<Write, Error> {
        caller.require_writer().map_err(|s| Error::PermissionDenied(s.message().to_owned()))?;
        let keys = self.registry.keys();
        enrolment.seal(|person, fields| people::seal(keys, person, fields))
    }

    /// Decides and appends one converted request, as its RPC or as an import item would.
    async fn write(&self, caller: &Caller, item: ImportItem) -> Result<Written, Error> {
        let write = match item {
            ImportItem::Write(write) => *write,
            ImportItem::Enrolment(enrolment) => self.seal(caller, enrolment)?,
            ImportItem::Erasure(erasure) => {
                let (org, meta) = (erasure.organisation(), erasure.meta());
                // The registry names the key it destroys.
                let Write { command, .. } = erasure.with_key(imece_domain::KeyId::from(uuid::Uuid::nil()));
                let imece_domain::Command::EraseMemberData(erased) = command else {
                    return Err(Error::Stored("an erasure converted into another command".into()));
                };
                return self.registry.erase_person(caller, org, meta, erased).await;
            }
        };
        let Write { organisation, meta, command } = write;
        let shown = command.clone();
        self.registry.execute(caller, organisation, meta, command).await.map_err(|e| match e {
            Error::Domain(d) => Error::Domain(convert::request_error(&shown, d)),
            other => other,
        })
    }

    /// One organisation's import items, in order: commands decided together and appended once;
    /// an erasure on its own, since it destroys a key first.
    async fn write_batch(
        &self,
        caller: &Caller,
        batch: Vec<(u64, String, ImportItem)>,
        outcomes: &tokio::sync::mpsc::UnboundedSender<Outcome>,
    ) {
        let mut pending: Vec<(u64, String, Write)> = Vec::new();
        let mut run: Vec<(u64, String, ImportItem)> = Vec::new();
        for (index, org, item) in batch {
            if let ImportItem::Erasure(_) = item {
                // Everything before the erasure is decided first, in order: it destroys a key.
                self.seal_run(caller, &mut run, &mut pending, outcomes);
                self.flush(caller, &mut pending, outcomes).await;
                let _ = outcomes.send((index, org, self.write(caller, item).await));
            } else {
                run.push((index, org, item));
            }
        }
        self.seal_run(caller, &mut run, &mut pending, outcomes);
        self.flush(caller, &mut pending, outcomes).await;
    }

    /// Turns a run of import items into commands, sealing its enrolments' personal data together:
    /// the keys of newly enrolled persons cost one sync for the run, not one each.
    fn seal_run(
        &self,
        caller: &Caller,
        run: &mut Vec<(u64, String, ImportItem)>,
        pending: &mut Vec<(u64, String, Write)>,
        outcomes: &tokio::sync::mpsc::UnboundedSender<Outcome>,
    ) {
        let items = std::mem::take(run);
        let personal: Vec<(PersonRef, &people::PersonalFields)> = items
            .iter()
            .filter_map(|(_, _, item)| match item {
                ImportItem::Enrolment(e) => e.personal_data().map(|fields| (e.person(), fields)),
                _ => None,
            })
            .collect();
        let writer = caller.require_writer().is_ok();
        let mut sealed =
            if personal.is_empty() || !writer { Vec::new() } else { people::seal_all(self.registry.keys(), &personal) }
                .into_iter();
        for (index, org, item) in items {
            let write = match item {
                ImportItem::Write(write) => Ok(*write),
                ImportItem::Enrolment(enrolment) if writer && enrolment.personal_data().is_some() => {
                    let answer = sealed.next().expect("one sealed answer per natural person");
                    enrolment.seal(|_, _| answer)
                }
                ImportItem::Enrolment(enrolment) => self.seal(caller, enrolment),
                ImportItem::Erasure(_) => Err(Error::Stored("an erasure inside a run of import items".into())),
            };
            match write {
                Ok(write) => pending.push((index, org, write)),
                Err(e) => {
                    let _ = outcomes.send((index, org, Err(e)));
                }
            }
        }
    }

    async fn flush(
        &self,
        caller: &Caller,
        pending: &mut Vec<(u64, String, Write)>,
        outcomes: &tokio::sync::mpsc::UnboundedSender<Outcome>,
    ) {
        let Some((_, _, first)) = pending.first() else { return };
        let organisation = first.organisation;
        let items: Vec<(u64, String, Write)> = std::mem::take(pending);
        let shown: Vec<imece_domain::Command> = items.iter().map(|(_, _, w)| w.command.clone()).collect();
        let commands = items.iter().map(|(_, _, w)| (w.meta, w.command.clone())).collect();
        let answers = self.registry.execute_batch(caller, organisation, commands).await;
        for (((index, org, _), answer), command) in items.into_iter().zip(answers).zip(shown) {
            let answer = answer.map_err(|e| match e {
                Error::Domain(d) => Error::Domain(convert::request_error(&command, d)),
                other => other,
            });
            let _ = outcomes.send((index, org, answer));
        }
    }

    async fn answer(
        &self,
        caller: Result<Caller, Status>,
        item: imece_domain::Result<ImportItem>,
    ) -> Result<Response<pb::WriteReply>, Status> {
        let caller = caller?;
        let item = item.map_err(Error::Domain)?;
        let written = self.write(&caller, item).await?;
        Ok(Response::new(convert::write_reply(&written)))
    }
}

/// The outcome of one import item: its index, its organisation as sent, what happened.
type Outcome = (u64, String, Result<Written, Error>);

/// The most import items of one organisation decided together and written as one append.
const IMPORT_BATCH: usize = 256;

impl<L: EventLog> RegistryService<L> {
    /// Applies an import: the items of each organisation in the order sent, organisations side by
    /// side (so their appends share syncs), each item as its own RPC would.
    async fn import_stream(
        &self,
        caller: Caller,
        mut items: Streaming<pb::ImportRequest>,
    ) -> Result<pb::ImportReply, Status> {
        use std::collections::HashMap;
        use tokio::sync::mpsc;

        let (outcomes_tx, mut outcomes) = mpsc::unbounded_channel::<Outcome>();
        let mut lanes: HashMap<imece_domain::OrgId, mpsc::Sender<(u64, String, ImportItem)>> = HashMap::new();
        let mut tasks = tokio::task::JoinSet::new();
        let mut index = 0u64;
        while let Some(item) = items.next().await {
            let item = item?;
            let organisation_id = item
                .command
                .as_ref()
                .and_then(convert::command_header)
                .map(|h| h.organisation_id.clone())
                .unwrap_or_default();
            let converted = match convert::import_item(item) {
                Ok(converted) => converted,
                Err(e) => {
                    let _ = outcomes_tx.send((index, organisation_id, Err(Error::Domain(e))));
                    index += 1;
                    continue;
                }
            };
            let org = match &converted {
                ImportItem::Write(w) => w.organisation,
                ImportItem::Enrolment(e) => e.organisation(),
                ImportItem::Erasure(e) => e.organisation(),
            };
            let lane = lanes.entry(org).or_insert_with(|| {
                let (tx, mut rx) = mpsc::channel::<(u64, String, ImportItem)>(64);
                let (service, caller, outcomes) = (self.clone(), caller.clone(), outcomes_tx.clone());
                tasks.spawn(async move {
                    // Whatever queued up for this organisation is decided together and appended once.
                    while let Some(first) = rx.recv().await {
                        let mut batch = vec![first];
                        while batch.len() < IMPORT_BATCH {
                            match rx.try_recv() {
                                Ok(next) => batch.push(next),
                                Err(_) => break,
                            }
                        }
                        service.write_batch(&caller, batch, &outcomes).await;
                    }
                });
                tx
            });
            if lane.send((index, organisation_id, converted)).await.is_err() {
                return Err(Status::internal("an import lane stopped"));
            }
            index += 1;
        }
        drop(lanes);
        drop(outcomes_tx);
        while tasks.join_next().await.is_some() {}
        let mut reply = pb::ImportReply::default();
        let mut failures = Vec::new();
        while let Some((index, organisation_id, outcome)) = outcomes.recv().await {
            match outcome {
                Ok(written) => {
                    reply.accepted += 1;
                    reply.last_position = reply.last_position.max(written.last_position);
                }
                Err(e) => {
                    let field = match &e {
                        Error::Domain(
                            imece_domain::Error::Invalid { field, .. } | imece_domain::Error::Refused { field, .. },
                        ) => field.clone(),
                        _ => String::new(),
                    };
                    let status = Status::from(e);
                    failures.push(pb::ImportFailure {
                        index,
                        organisation_id,
                        code: format!("{:?}", status.code()),
                        message: status.message().to_owned(),
                        field,
                    });
                }
            }
        }
        failures.sort_by_key(|f| f.index);
        reply.failures = failures;
        Ok(reply)
    }
}

fn write_item<T>(request: T) -> imece_domain::Result<ImportItem>
where
    Write: TryFrom<T, Error = imece_domain::Error>,
{
    Write::try_from(request).map(|w| ImportItem::Write(Box::new(w)))
}

/// One handler per command RPC, all alike: convert, decide, append, answer.
macro_rules! registry_service {
    ($($method:ident($request:ident);)+) => {
        #[tonic::async_trait]
        impl<L: EventLog> pb::registry_server::Registry for RegistryService<L> {
            $(
                async fn $method(&self, request: Request<pb::$request>) -> Result<Response<pb::WriteReply>, Status> {
                    let caller = caller(&request);
                    self.answer(caller, write_item(request.into_inner())).await
                }
            )+

            async fn enrol_person(
                &self,
                request: Request<pb::EnrolPersonRequest>,
            ) -> Result<Response<pb::WriteReply>, Status> {
                let caller = caller(&request);
                self.answer(caller, convert::enrol_person(request.into_inner()).map(ImportItem::Enrolment)).await
            }

            async fn erase_member_data(
                &self,
                request: Request<pb::EraseMemberDataRequest>,
            ) -> Result<Response<pb::WriteReply>, Status> {
                let caller = caller(&request);
                self.answer(caller, convert::erase_member_data(request.into_inner()).map(ImportItem::Erasure)).await
            }

            async fn get_organisation(
                &self,
                request: Request<pb::GetOrganisationRequest>,
            ) -> Result<Response<pb::Organisation>, Status> {
                caller(&request)?;
                let org = convert::organisation_id(&request.into_inner().organisation_id).map_err(Error::Domain)?;
                let (state, _) = self.registry.state(org).await?;
                let today = time::OffsetDateTime::now_utc().date();
                let summary = convert::organisation(&state, today)
                    .ok_or_else(|| Error::NotFound(format!("organisation {org}")))?;
                Ok(Response::new(summary))
            }

            async fn get_history(
                &self,
                request: Request<pb::GetHistoryRequest>,
            ) -> Result<Response<pb::History>, Status> {
                let caller = caller(&request)?;
                let pb::GetHistoryRequest { organisation_id, from_version, limit } = request.into_inner();
                let org = convert::organisation_id(&organisation_id).map_err(Error::Domain)?;
                let limit = if limit == 0 { MAX_HISTORY_PAGE } else { limit.min(MAX_HISTORY_PAGE) } as usize;
                let loaded = self.registry.load(org).await?;
                if loaded.events.is_empty() {
                    return Err(Error::NotFound(format!("organisation {org}")).into());
                }
                let entries = loaded
                    .events
                    .iter()
                    .skip(from_version as usize)
                    .take(limit)
                    // Analysts never see person-level events, not even sealed.
                    .filter(|(_, env)| caller.sees_personal_data() || env.event.visibility() == imece_domain::Visibility::Public)
                    .map(|(recorded, env)| pb::HistoryEntry {
                        version: recorded.version,
                        position: recorded.position,
                        event_type: recorded.event_type.clone(),
                        occurred_on: env.event.occurred_on().to_string(),
                        data_json: String::from_utf8_lossy(&recorded.data).into_owned(),
                        metadata_json: String::from_utf8_lossy(&recorded.metadata).into_owned(),
                    })
                    .collect();
                Ok(Response::new(pb::History { entries }))
            }

            async fn import(
                &self,
                request: Request<Streaming<pb::ImportRequest>>,
            ) -> Result<Response<pb::ImportReply>, Status> {
                let caller = caller(&request)?;
                caller.require_writer()?;
                Ok(Response::new(self.import_stream(caller, request.into_inner()).await?))
            }
        }
    };
}

registry_service! {
    register_organisation(RegisterOrganisationRequest);
    record_register_entry(RecordRegisterEntryRequest);
    amend_statute(AmendStatuteRequest);
    rename_organisation(RenameOrganisationRequest);
    relocate_seat(RelocateSeatRequest);
    reclassify_activity(ReclassifyActivityRequest);
    change_status(ChangeStatusRequest);
    resolve_dissolution(ResolveDissolutionRequest);
    close_liquidation(CloseLiquidationRequest);
    complete_merger(CompleteMergerRequest);
    convert_legal_form(ConvertLegalFormRequest);
    change_affiliation(ChangeAffiliationRequest);
    sign_commons_agreement(SignCommonsAgreementRequest);
    end_commons_agreement(EndCommonsAgreementRequest);
    admit_member(AdmitMemberRequest);
    pay_in_capital(PayInCapitalRequest);
    transfer_shares(TransferSharesRequest);
    record_member_leaving(RecordMemberLeavingRequest);
    declare_membership_snapshot(DeclareMembershipSnapshotRequest);
    compute_membership_snapshot(ComputeMembershipSnapshotRequest);
    convene_assembly(ConveneAssemblyRequest);
    record_assembly(RecordAssemblyRequest);
    record_resolution(RecordResolutionRequest);
    record_election(RecordElectionRequest);
    change_organ_member(ChangeOrganMemberRequest);
    approve_accounts(ApproveAccountsRequest);
    allocate_surplus(AllocateSurplusRequest);
    record_audit(RecordAuditRequest);
    impose_sanction(ImposeSanctionRequest);
}

#[tonic::async_trait]
impl<L: EventLog> pb::members_server::Members for RegistryService<L> {
    async fn get_person(&self, request: Request<pb::GetPersonRequest>) -> Result<Response<pb::PersonRecord>, Status> {
        let caller = caller(&request)?;
        let pb::GetPersonRequest { organisation_id, person_ref } = request.into_inner();
        let org = convert::organisation_id(&organisation_id).map_err(Error::Domain)?;
        let person = person_ref.parse::<uuid::Uuid>().map(imece_domain::PersonRef::from).map_err(|e| {
            Error::Domain(imece_domain::Error::Invalid {
                field: "person_ref".into(),
                rule: format!("must be a UUID: {e}"),
            })
        })?;
        let loaded = self.registry.load(org).await?;
        let view = people::view(self.registry.keys(), org, &loaded, person, caller.sees_personal_data())?;
        let mut record = pb::PersonRecord { person_ref: person.to_string(), erased: view.erased, ..Default::default() };
        match &view.kind {
            PersonKind::Natural { sex, birth_year, .. } => {
                record.natural = true;
                record.sex = convert::sex(*sex);
                record.birth_year = birth_year.map(u32::from);
            }
            PersonKind::Legal { name, .. } => record.legal_name = name.clone(),
        }
        record.personal_data = view.personal.map(|p| pb::PersonalData {
            full_name: p.full_name,
            national_id: p.national_id,
            email: p.email,
            phone: p.phone,
            address: p.address,
        });
        Ok(Response::new(record))
    }
}
