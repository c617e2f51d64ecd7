//! Compliance findings: a recorded decision that breaches a legal minimum (ADR 0004).

use serde::{Deserialize, Serialize};

use crate::values::{AssemblyId, Date};

/// The recorded fact a finding is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Subject {
    /// The `OrganisationRegistered` of the organisation.
    Registration,
    /// The `SurplusAllocated` of a fiscal year.
    SurplusAllocation { fiscal_year: i32 },
    /// The `GeneralAssemblyHeld` of an assembly.
    Assembly { assembly: AssemblyId },
}

/// A decision was recorded that does not meet a rule of law (or of the statute) in force on its
/// date. Written with the fact, in the same append, by [`crate::decide`]; never by a command of its
/// own. Public, like the facts it is about; indicator 20 counts them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplianceFindingRecorded {
    /// The date of the decision the finding is about.
    pub occurred_on: Date,
    pub subject: Subject,
    /// The rule's id in the rule book (`IT.legal-reserve`), or `statute.proxy-limit`.
    pub rule: String,
    /// Where the rule comes from: `c.c. art. 2545-quater`, or the statute amended on a date.
    pub legal_reference: String,
    /// The date from which the rule applied.
    pub in_force_since: Date,
    /// The field of the fact that breaches it (`items.legal_reserve`, `max_proxies_per_holder`).
    pub field: String,
    /// What the rule requires, in words and numbers: `at least 30 % of 10000.00 EUR: 3000.00 EUR`.
    pub requirement: String,
    /// What was decided: `2000.00 EUR`.
    pub found: String,
}
