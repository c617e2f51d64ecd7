//! Commands: requests to record a fact about an organisation, and the context they are decided in.

use crate::events::{
    ActivityReclassified, AffiliationChanged, AnnualAccountsApproved, AuditCompleted, CapitalPaidIn,
    CommonsAgreementEnded, CommonsAgreementSigned, DissolutionResolved, GeneralAssemblyConvened, GeneralAssemblyHeld,
    LegalFormConverted, LiquidationClosed, MemberAdmitted, MemberDataErased, MemberLeft, MembershipSnapshotDeclared,
    MergerCompleted, OrganElected, OrganMemberChanged, OrganisationRegistered, OrganisationRenamed, PersonEnrolled,
    RegisterEntryRecorded, ResolutionVoted, SanctionImposed, SeatRelocated, SharesTransferred, StatusChanged,
    StatuteAmended, SurplusAllocated,
};
use crate::rules::RuleBook;
use crate::values::Date;

/// A request to record something about one organisation.
///
/// A registry records facts decided elsewhere (by an assembly, a board, a court), so most commands
/// carry the fact they ask to record, in the shape of its event. [`crate::decide`] checks it
/// against the organisation's history and the law, and returns it with any compliance findings.
/// Only [`Command::ComputeMembershipSnapshot`] asks the registry to work something out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    // Life cycle.
    Register(OrganisationRegistered),
    RecordRegisterEntry(RegisterEntryRecorded),
    AmendStatute(StatuteAmended),
    Rename(OrganisationRenamed),
    RelocateSeat(SeatRelocated),
    ReclassifyActivity(ActivityReclassified),
    ChangeStatus(StatusChanged),
    ResolveDissolution(DissolutionResolved),
    CloseLiquidation(LiquidationClosed),
    CompleteMerger(MergerCompleted),
    ConvertLegalForm(LegalFormConverted),
    ChangeAffiliation(AffiliationChanged),
    SignCommonsAgreement(CommonsAgreementSigned),
    EndCommonsAgreement(CommonsAgreementEnded),
    // Members.
    EnrolPerson(PersonEnrolled),
    AdmitMember(MemberAdmitted),
    PayInCapital(CapitalPaidIn),
    TransferShares(SharesTransferred),
    RecordMemberLeaving(MemberLeft),
    EraseMemberData(MemberDataErased),
    DeclareMembershipSnapshot(MembershipSnapshotDeclared),
    /// Count the members on `as_of` from the person-level register and declare the snapshot.
    ComputeMembershipSnapshot {
        occurred_on: Date,
        as_of: Date,
    },
    // Governance.
    ConveneAssembly(GeneralAssemblyConvened),
    RecordAssembly(GeneralAssemblyHeld),
    RecordResolution(ResolutionVoted),
    RecordElection(OrganElected),
    ChangeOrganMember(OrganMemberChanged),
    // Economics.
    ApproveAccounts(AnnualAccountsApproved),
    AllocateSurplus(SurplusAllocated),
    RecordAudit(AuditCompleted),
    ImposeSanction(SanctionImposed),
}

impl Command {
    /// The command's name, for logs and errors: `AllocateSurplus`.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Register(_) => "Register",
            Command::RecordRegisterEntry(_) => "RecordRegisterEntry",
            Command::AmendStatute(_) => "AmendStatute",
            Command::Rename(_) => "Rename",
            Command::RelocateSeat(_) => "RelocateSeat",
            Command::ReclassifyActivity(_) => "ReclassifyActivity",
            Command::ChangeStatus(_) => "ChangeStatus",
            Command::ResolveDissolution(_) => "ResolveDissolution",
            Command::CloseLiquidation(_) => "CloseLiquidation",
            Command::CompleteMerger(_) => "CompleteMerger",
            Command::ConvertLegalForm(_) => "ConvertLegalForm",
            Command::ChangeAffiliation(_) => "ChangeAffiliation",
            Command::SignCommonsAgreement(_) => "SignCommonsAgreement",
            Command::EndCommonsAgreement(_) => "EndCommonsAgreement",
            Command::EnrolPerson(_) => "EnrolPerson",
            Command::AdmitMember(_) => "AdmitMember",
            Command::PayInCapital(_) => "PayInCapital",
            Command::TransferShares(_) => "TransferShares",
            Command::RecordMemberLeaving(_) => "RecordMemberLeaving",
            Command::EraseMemberData(_) => "EraseMemberData",
            Command::DeclareMembershipSnapshot(_) => "DeclareMembershipSnapshot",
            Command::ComputeMembershipSnapshot { .. } => "ComputeMembershipSnapshot",
            Command::ConveneAssembly(_) => "ConveneAssembly",
            Command::RecordAssembly(_) => "RecordAssembly",
            Command::RecordResolution(_) => "RecordResolution",
            Command::RecordElection(_) => "RecordElection",
            Command::ChangeOrganMember(_) => "ChangeOrganMember",
            Command::ApproveAccounts(_) => "ApproveAccounts",
            Command::AllocateSurplus(_) => "AllocateSurplus",
            Command::RecordAudit(_) => "RecordAudit",
            Command::ImposeSanction(_) => "ImposeSanction",
        }
    }

    /// The legal date of the fact the command records.
    pub fn occurred_on(&self) -> Date {
        match self {
            Command::Register(c) => c.occurred_on,
            Command::RecordRegisterEntry(c) => c.occurred_on,
            Command::AmendStatute(c) => c.occurred_on,
            Command::Rename(c) => c.occurred_on,
            Command::RelocateSeat(c) => c.occurred_on,
            Command::ReclassifyActivity(c) => c.occurred_on,
            Command::ChangeStatus(c) => c.occurred_on,
            Command::ResolveDissolution(c) => c.occurred_on,
            Command::CloseLiquidation(c) => c.occurred_on,
            Command::CompleteMerger(c) => c.occurred_on,
            Command::ConvertLegalForm(c) => c.occurred_on,
            Command::ChangeAffiliation(c) => c.occurred_on,
            Command::SignCommonsAgreement(c) => c.occurred_on,
            Command::EndCommonsAgreement(c) => c.occurred_on,
            Command::EnrolPerson(c) => c.occurred_on,
            Command::AdmitMember(c) => c.occurred_on,
            Command::PayInCapital(c) => c.occurred_on,
            Command::TransferShares(c) => c.occurred_on,
            Command::RecordMemberLeaving(c) => c.occurred_on,
            Command::EraseMemberData(c) => c.occurred_on,
            Command::DeclareMembershipSnapshot(c) => c.occurred_on,
            Command::ComputeMembershipSnapshot { occurred_on, .. } => *occurred_on,
            Command::ConveneAssembly(c) => c.occurred_on,
            Command::RecordAssembly(c) => c.occurred_on,
            Command::RecordResolution(c) => c.occurred_on,
            Command::RecordElection(c) => c.occurred_on,
            Command::ChangeOrganMember(c) => c.occurred_on,
            Command::ApproveAccounts(c) => c.occurred_on,
            Command::AllocateSurplus(c) => c.occurred_on,
            Command::RecordAudit(c) => c.occurred_on,
            Command::ImposeSanction(c) => c.occurred_on,
        }
    }
}

/// What a decision needs besides the organisation and the command: today's date (decisions dated
/// after it are refused) and the rules of law. The clock is read by the caller, so a decision is a
/// pure function of its inputs.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub today: Date,
    pub rules: &'a RuleBook,
    /// Membership snapshot cells describing fewer persons than this are suppressed.
    pub disclosure_threshold: u32,
}

impl<'a> Context<'a> {
    /// The default disclosure threshold: no published cell describes fewer than 5 persons.
    pub const DISCLOSURE_THRESHOLD: u32 = 5;

    /// A context for `today` with `rules` and the default disclosure threshold.
    pub fn new(today: Date, rules: &'a RuleBook) -> Self {
        Context { today, rules, disclosure_threshold: Self::DISCLOSURE_THRESHOLD }
    }
}
