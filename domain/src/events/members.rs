//! Members: person-level facts (HomeOnly: they never leave the node), and the membership snapshot,
//! the aggregate that may.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::values::{Date, ExternalId, KeyId, MembershipId, Money, OrgId, PersonRef, SealedPersonalData, Sex};

/// A natural or a legal person, as the organisation enrolled them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PersonKind {
    /// A human being. Only coarse attributes are in clear, for statistics; everything that
    /// identifies them is sealed.
    Natural {
        sex: Sex,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        birth_year: Option<u16>,
        personal_data: SealedPersonalData,
    },
    /// An organisation that is a member (a cooperative of cooperatives, a municipality). Its name
    /// is not personal data.
    Legal {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        external_id: Option<ExternalId>,
        /// The organisation, if it is in the registry too.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        organisation: Option<OrgId>,
    },
}

/// A person became known to the organisation, ahead of an admission or an election.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonEnrolled {
    pub occurred_on: Date,
    pub person: PersonRef,
    pub person_kind: PersonKind,
}

/// The role in which a member belongs to the organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberCategory {
    User,
    Worker,
    Producer,
    Volunteer,
    /// A financing member (IT socio sovventore).
    Investor,
    Other,
}

/// A person was admitted as a member ("member joined"). `occurred_on` is the date of the board's
/// decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberAdmitted {
    pub occurred_on: Date,
    pub membership: MembershipId,
    pub person: PersonRef,
    pub category: MemberCategory,
    pub shares: u32,
    pub subscribed_capital: Money,
}

/// A member paid in capital on their subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapitalPaidIn {
    pub occurred_on: Date,
    pub membership: MembershipId,
    pub amount: Money,
}

/// Shares passed from one membership to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharesTransferred {
    pub occurred_on: Date,
    pub from: MembershipId,
    pub to: MembershipId,
    pub shares: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
}

/// Why a membership ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    Withdrawal,
    Expulsion,
    Death,
    Transfer,
    Dissolution,
}

/// A membership ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberLeft {
    pub occurred_on: Date,
    pub membership: MembershipId,
    pub reason: ExitReason,
    /// Capital paid back, in the subscription's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<Money>,
    /// Whether the member appealed (an expulsion, usually).
    #[serde(default)]
    pub appealed: bool,
}

/// A request to erase a person's data was honoured: the keystore destroyed the person's key, so
/// their sealed data can no longer be read anywhere. The erasure itself stays on record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberDataErased {
    pub occurred_on: Date,
    pub person: PersonRef,
    /// The key that was destroyed.
    pub key_id: KeyId,
    pub requested_on: Date,
}

/// Whether a snapshot was computed from the person-level register or declared by the union.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotSource {
    Computed,
    Declared,
}

/// A count that is `null` when it was suppressed because it describes too few persons.
pub type Cell = Option<u32>;

/// Natural persons by sex.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BySex {
    pub female: Cell,
    pub male: Cell,
    pub other: Cell,
    pub unknown: Cell,
}

impl BySex {
    /// The cells in order.
    pub fn cells(&self) -> [Cell; 4] {
        [self.female, self.male, self.other, self.unknown]
    }
}

/// Natural persons by age band, from the birth year: under 30, 30 to 64, 65 and over.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByAge {
    pub under_30: Cell,
    pub from_30_to_64: Cell,
    pub from_65: Cell,
    pub unknown: Cell,
}

impl ByAge {
    /// The cells in order.
    pub fn cells(&self) -> [Cell; 4] {
        [self.under_30, self.from_30_to_64, self.from_65, self.unknown]
    }
}

/// How many members the organisation had on `as_of`, by sex, age band and category, with legal
/// persons apart; cells describing fewer persons than the disclosure threshold are suppressed, and
/// one more where a single suppressed cell could be recovered from the total. Public.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembershipSnapshotDeclared {
    pub occurred_on: Date,
    pub as_of: Date,
    pub source: SnapshotSource,
    /// All members: natural plus legal persons.
    pub members: u32,
    pub natural_persons: u32,
    pub legal_persons: u32,
    /// Natural persons only.
    pub by_sex: BySex,
    /// Natural persons only.
    pub by_age: ByAge,
    /// All members.
    pub by_category: BTreeMap<MemberCategory, Cell>,
}
