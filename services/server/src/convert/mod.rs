//! The requests of `imece.v1.Registry` as domain commands, and domain values as replies.
//!
//! Every command request converts the same way: its header gives the organisation and the
//! request's [`RequestMeta`], its other fields the fact of the [`Command`], parsed with the domain's
//! own constructors. An error is an [`Error::Invalid`] whose `field` is the path the client sent
//! (`header.request_id`, `items[2].amount.currency`), ready for a `google.rpc.BadRequest`.
//!
//! ```
//! use imece_proto::v1 as pb;
//! use imece_server::convert::Write;
//!
//! let request = pb::ChangeStatusRequest {
//!     header: Some(pb::CommandHeader {
//!         request_id: "0190b1c6-0000-7000-8000-000000000001".into(),
//!         expected_version: Some(4),
//!         organisation_id: "0190b1c6-0000-7000-8000-00000000000a".into(),
//!     }),
//!     occurred_on: "2026-03-31".into(),
//!     status: pb::Status::Suspended as i32,
//!     reason: None,
//! };
//! let write = Write::try_from(request)?;
//! assert_eq!(write.command.name(), "ChangeStatus");
//! assert_eq!(write.meta.expected_version, Some(4));
//!
//! let mut bad = pb::ChangeStatusRequest { status: pb::Status::Unspecified as i32, ..Default::default() };
//! bad.header = Some(pb::CommandHeader { request_id: "not a uuid".into(), ..Default::default() });
//! let error = Write::try_from(bad).unwrap_err();
//! assert_eq!(error.field(), Some("header.request_id"));
//! # Ok::<(), imece_domain::Error>(())
//! ```
//!
//! Two requests need the keystore before they are commands, and convert in two steps, so that
//! nothing is sealed or destroyed for a request that is invalid anyway: [`enrol_person`] gives an
//! [`Enrolment`] to [`Enrolment::seal`], [`erase_member_data`] an [`Erasure`] to complete
//! [`Erasure::with_key`]. An [`ImportItem`] is one of the three.
//!
//! The domain's own decisions report paths into the fact; [`request_error`] turns them into paths
//! into the request where the two differ. From the domain to the wire: [`write_reply`] and
//! [`organisation`].

mod economics;
mod governance;
mod lifecycle;
mod members;
mod paths;
mod reply;
mod values;

#[cfg(test)]
mod tests;

use imece_domain::{Command, Error, OrgId, Result};
use imece_proto::v1 as pb;

pub use members::{Enrolment, Erasure};
pub use paths::{request_error, request_field};
pub use reply::{finding, organisation, write_reply};

pub use crate::registry::RequestMeta;

/// A command for the registry to decide: which organisation's stream, the request's id and
/// expected version, and the command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    pub organisation: OrgId,
    pub meta: RequestMeta,
    pub command: Command,
}

/// One item of an `Import`, converted as far as it goes without the keystore.
#[derive(Debug)]
pub enum ImportItem {
    /// Ready to decide (boxed: a command is large beside the other two).
    Write(Box<Write>),
    /// An `EnrolPerson` item: seal its personal data, then decide.
    Enrolment(Enrolment),
    /// An `EraseMemberData` item: name the key destroyed, then decide.
    Erasure(Erasure),
}

/// An `EnrolPerson` request, checked, up to the sealing of a natural person's personal data.
pub fn enrol_person(request: pb::EnrolPersonRequest) -> Result<Enrolment> {
    members::enrol_person(request)
}

/// An `EraseMemberData` request, checked, up to the key the keystore destroys.
pub fn erase_member_data(request: pb::EraseMemberDataRequest) -> Result<Erasure> {
    members::erase_member_data(request)
}

/// The organisation a read names (`GetOrganisation`, `GetHistory`); errors on `organisation_id`.
pub fn organisation_id(id: &str) -> Result<OrgId> {
    values::id(id, "organisation_id")
}

macro_rules! commands {
    (
        writes { $($rpc:ident($request:ident) => $convert:path;)+ }
        keyed { $($keyed_rpc:ident => $keyed_convert:path, $item:ident;)+ }
    ) => {
        $(
            impl TryFrom<pb::$request> for Write {
                type Error = Error;

                fn try_from(request: pb::$request) -> Result<Write> {
                    $convert(request)
                }
            }
        )+

        /// One item of an `Import`; errors are paths into the item's request (`command` if it is
        /// empty).
        pub fn import_item(request: pb::ImportRequest) -> Result<ImportItem> {
            use pb::import_request::Command as C;
            match request.command.ok_or_else(|| values::missing("command"))? {
                $(C::$rpc(r) => $convert(r).map(|w| ImportItem::Write(Box::new(w))),)+
                $(C::$keyed_rpc(r) => $keyed_convert(r).map(ImportItem::$item),)+
            }
        }

        /// The name of the RPC an `Import` item stands for, e.g. `AllocateSurplus`.
        pub fn rpc_name(command: &pb::import_request::Command) -> &'static str {
            use pb::import_request::Command as C;
            match command {
                $(C::$rpc(_) => stringify!($rpc),)+
                $(C::$keyed_rpc(_) => stringify!($keyed_rpc),)+
            }
        }

        /// The header of an `Import` item as sent, e.g. to report its `organisation_id` when it
        /// fails.
        pub fn command_header(command: &pb::import_request::Command) -> Option<&pb::CommandHeader> {
            use pb::import_request::Command as C;
            match command {
                $(C::$rpc(r) => r.header.as_ref(),)+
                $(C::$keyed_rpc(r) => r.header.as_ref(),)+
            }
        }
    };
}

commands! {
    writes {
        RegisterOrganisation(RegisterOrganisationRequest) => lifecycle::register_organisation;
        RecordRegisterEntry(RecordRegisterEntryRequest) => lifecycle::record_register_entry;
        AmendStatute(AmendStatuteRequest) => lifecycle::amend_statute;
        RenameOrganisation(RenameOrganisationRequest) => lifecycle::rename_organisation;
        RelocateSeat(RelocateSeatRequest) => lifecycle::relocate_seat;
        ReclassifyActivity(ReclassifyActivityRequest) => lifecycle::reclassify_activity;
        ChangeStatus(ChangeStatusRequest) => lifecycle::change_status;
        ResolveDissolution(ResolveDissolutionRequest) => lifecycle::resolve_dissolution;
        CloseLiquidation(CloseLiquidationRequest) => lifecycle::close_liquidation;
        CompleteMerger(CompleteMergerRequest) => lifecycle::complete_merger;
        ConvertLegalForm(ConvertLegalFormRequest) => lifecycle::convert_legal_form;
        ChangeAffiliation(ChangeAffiliationRequest) => lifecycle::change_affiliation;
        SignCommonsAgreement(SignCommonsAgreementRequest) => lifecycle::sign_commons_agreement;
        EndCommonsAgreement(EndCommonsAgreementRequest) => lifecycle::end_commons_agreement;
        AdmitMember(AdmitMemberRequest) => members::admit_member;
        PayInCapital(PayInCapitalRequest) => members::pay_in_capital;
        TransferShares(TransferSharesRequest) => members::transfer_shares;
        RecordMemberLeaving(RecordMemberLeavingRequest) => members::record_member_leaving;
        DeclareMembershipSnapshot(DeclareMembershipSnapshotRequest) => members::declare_membership_snapshot;
        ComputeMembershipSnapshot(ComputeMembershipSnapshotRequest) => members::compute_membership_snapshot;
        ConveneAssembly(ConveneAssemblyRequest) => governance::convene_assembly;
        RecordAssembly(RecordAssemblyRequest) => governance::record_assembly;
        RecordResolution(RecordResolutionRequest) => governance::record_resolution;
        RecordElection(RecordElectionRequest) => governance::record_election;
        ChangeOrganMember(ChangeOrganMemberRequest) => governance::change_organ_member;
        ApproveAccounts(ApproveAccountsRequest) => economics::approve_accounts;
        AllocateSurplus(AllocateSurplusRequest) => economics::allocate_surplus;
        RecordAudit(RecordAuditRequest) => economics::record_audit;
        ImposeSanction(ImposeSanctionRequest) => economics::impose_sanction;
    }
    keyed {
        EnrolPerson => members::enrol_person, Enrolment;
        EraseMemberData => members::erase_member_data, Erasure;
    }
}

/// A sex as the wire has it (`imece.v1.Sex`).
pub fn sex(sex: imece_domain::Sex) -> i32 {
    use values::ProtoEnum;
    sex.to_proto()
}
