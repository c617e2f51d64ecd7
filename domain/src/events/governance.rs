//! Governance: assemblies, resolutions, organs. Counts are Public; who holds a seat is HomeOnly.

use serde::{Deserialize, Serialize};

use crate::values::{AssemblyId, Date, PersonRef};

/// Ordinary (the yearly one, accounts and surplus) or extraordinary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssemblyKind {
    Ordinary,
    Extraordinary,
}

/// What a resolution or an agenda item is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    Accounts,
    SurplusAllocation,
    BoardElection,
    Statute,
    Dissolution,
    Merger,
    Affiliation,
    Other,
}

/// A general assembly was called. `occurred_on` is the date of the call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneralAssemblyConvened {
    pub occurred_on: Date,
    pub assembly: AssemblyId,
    pub kind: AssemblyKind,
    /// The fiscal year whose accounts it is to approve, for an ordinary assembly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fiscal_year: Option<i32>,
    pub first_call: Date,
    /// The date of the second call, if the first lacks its quorum (IT seconda convocazione).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_call: Option<Date>,
    pub agenda: Vec<Topic>,
}

/// A general assembly took place: who could come and who came (TR hazirun list).
///
/// Schema v2. v1 had no `present_online`, `present_women`, `present_under_30` nor
/// `max_proxies_per_holder`: they read as unknown (`None`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneralAssemblyHeld {
    pub occurred_on: Date,
    pub assembly: AssemblyId,
    /// Members entitled to take part.
    pub eligible: u32,
    /// Members present, in person or online.
    pub present: u32,
    /// Of those present, how many online; `None` if not recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present_online: Option<u32>,
    /// Members represented by proxy by a member present.
    pub proxies: u32,
    /// Of those present, how many women; `None` if not recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present_women: Option<u32>,
    /// Of those present, how many under 30; `None` if not recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present_under_30: Option<u32>,
    /// The most proxies one member present carried; `None` if not recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_proxies_per_holder: Option<u32>,
    pub quorum_met: bool,
}

/// Adopted or rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Adopted,
    Rejected,
}

/// The assembly voted on an item of its agenda.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolutionVoted {
    pub occurred_on: Date,
    pub assembly: AssemblyId,
    /// The agenda item, from 1.
    pub item: u32,
    pub topic: Topic,
    pub votes_for: u32,
    pub votes_against: u32,
    pub abstentions: u32,
    pub outcome: Outcome,
}

/// An organ of the organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Organ {
    /// Board of directors (TR yönetim kurulu, IT consiglio di amministrazione).
    Board,
    /// Supervisory board (TR denetim kurulu, IT collegio sindacale).
    Supervisory,
    /// Auditors.
    Auditors,
}

/// An organ was elected: the counts only, which are public. Who was elected is recorded by
/// [`OrganMemberChanged`] events, which are not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganElected {
    pub occurred_on: Date,
    pub organ: Organ,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assembly: Option<AssemblyId>,
    pub term_from: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_until: Option<Date>,
    pub seats: u32,
    pub candidates: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub women_elected: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub under_30_elected: Option<u32>,
    /// Seats taken by someone who did not hold one in this organ before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_holders: Option<u32>,
}

/// How a seat changed hands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeatChange {
    Elected,
    /// Appointed by the organ itself to fill a vacancy.
    CoOpted,
    Resigned,
    Removed,
    TermEnded,
}

impl SeatChange {
    /// Whether the person takes a seat (rather than leaving one).
    pub fn takes_seat(self) -> bool {
        matches!(self, SeatChange::Elected | SeatChange::CoOpted)
    }
}

/// A person took or left a seat in an organ. HomeOnly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganMemberChanged {
    pub occurred_on: Date,
    pub organ: Organ,
    pub person: PersonRef,
    pub change: SeatChange,
}
