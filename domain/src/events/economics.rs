//! Economics: accounts, surplus, audits, sanctions. Public.

use serde::{Deserialize, Serialize};

use crate::values::{AssemblyId, BasisPoints, Currency, Date, Money};

/// The money figures of a year's accounts, each in the accounts' currency. Missing figures are
/// `None`: indicators count what they rest on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figures {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turnover: Option<Money>,
    /// Turnover with members (c.c. 2513 a).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_turnover: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personnel_costs: Option<Money>,
    /// Labour costs of members (c.c. 2513 b).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_labour_costs: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchases: Option<Money>,
    /// Purchases from members (c.c. 2513 c).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchases_from_members: Option<Money>,
    /// Purchases from other social-economy organisations (inter-cooperation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchases_from_social_economy: Option<Money>,
    /// Profit (positive) or loss (negative) of the year.
    pub net_result: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_assets: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equity: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_capital: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indivisible_reserves: Option<Money>,
}

impl Figures {
    /// Only the net result; every other figure missing.
    pub fn net_result(net_result: Money) -> Self {
        Figures {
            turnover: None,
            member_turnover: None,
            personnel_costs: None,
            member_labour_costs: None,
            purchases: None,
            purchases_from_members: None,
            purchases_from_social_economy: None,
            net_result,
            total_assets: None,
            equity: None,
            share_capital: None,
            indivisible_reserves: None,
        }
    }

    /// Every figure with its field name, in declaration order.
    pub fn named(&self) -> Vec<(&'static str, Option<&Money>)> {
        vec![
            ("turnover", self.turnover.as_ref()),
            ("member_turnover", self.member_turnover.as_ref()),
            ("personnel_costs", self.personnel_costs.as_ref()),
            ("member_labour_costs", self.member_labour_costs.as_ref()),
            ("purchases", self.purchases.as_ref()),
            ("purchases_from_members", self.purchases_from_members.as_ref()),
            ("purchases_from_social_economy", self.purchases_from_social_economy.as_ref()),
            ("net_result", Some(&self.net_result)),
            ("total_assets", self.total_assets.as_ref()),
            ("equity", self.equity.as_ref()),
            ("share_capital", self.share_capital.as_ref()),
            ("indivisible_reserves", self.indivisible_reserves.as_ref()),
        ]
    }
}

/// Who works for the organisation, as the accounts report it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workforce {
    /// Average number of employees over the year (headcount).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employees: Option<u32>,
    /// Full-time equivalents, in hundredths (1250 is 12.5 FTE), to stay exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fte_hundredths: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employees_women: Option<u32>,
    /// Everyone who works there, employed or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_members: Option<u32>,
    /// Disadvantaged workers (IT L. 381/1991 art. 4, type B social cooperatives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disadvantaged_workers: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volunteers: Option<u32>,
}

/// The assembly approved a fiscal year's accounts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnualAccountsApproved {
    pub occurred_on: Date,
    /// Named by the calendar year it ends in.
    pub fiscal_year: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assembly: Option<AssemblyId>,
    pub currency: Currency,
    pub figures: Figures,
    #[serde(default)]
    pub workforce: Workforce,
}

/// Where a part of the surplus went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurplusKind {
    /// The legal reserve (IT c.c. 2545-quater, TR Law 1163 art. 39).
    LegalReserve,
    /// Reserves that can never be divided among members (asset lock).
    IndivisibleReserve,
    DivisibleReserve,
    /// Mutual funds for the promotion of cooperation (IT L. 59/1992 art. 11).
    MutualFund,
    /// Returned to members in proportion to their transactions (ristorno, patronage refund).
    PatronageRefund,
    /// Interest on members' paid-in capital.
    CapitalInterest,
    /// Paid to workers beyond wages.
    WorkerShare,
    EducationFund,
    CommunityFund,
    /// Covering losses of earlier years.
    LossCoverage,
    Other,
}

/// One part of the surplus.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurplusItem {
    pub kind: SurplusKind,
    pub amount: Money,
}

/// The rate of interest paid on capital, and the reference rate it is capped by where the law
/// caps it (IT c.c. 2514: the postal bond rate plus 2.5 points).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapitalInterestRate {
    pub rate: BasisPoints,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_rate: Option<BasisPoints>,
    /// Which reference rate, e.g. `buoni postali fruttiferi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// The assembly shared a year's surplus ("surplus shared").
///
/// Schema v2: a list of items, so that a new kind of allocation is a new [`SurplusKind`], not a new
/// field. v1 had one field per kind; it reads as the items that were not zero.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurplusAllocated {
    pub occurred_on: Date,
    pub fiscal_year: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assembly: Option<AssemblyId>,
    /// The distributable surplus.
    pub surplus: Money,
    /// Its split: adds up exactly to `surplus`, in its currency, each kind at most once.
    pub items: Vec<SurplusItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capital_interest: Option<CapitalInterestRate>,
    /// How many members received a patronage refund or capital interest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beneficiaries: Option<u32>,
}

impl SurplusAllocated {
    /// The amount allocated to `kind`, zero if none.
    pub fn amount_of(&self, kind: SurplusKind) -> Money {
        self.items.iter().find(|i| i.kind == kind).map_or(Money::zero(self.surplus.currency), |i| i.amount)
    }
}

/// Which audit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// IT revisione cooperativa (D.Lgs. 220/2002): every two years, yearly for social cooperatives.
    Revisione,
    /// An inspection by the ministry.
    Ministry,
    /// The statutory audit of the accounts.
    Statutory,
    Other,
}

/// How an audit ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Passed,
    PassedWithRemarks,
    Irregularities,
    Failed,
}

/// An audit ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditCompleted {
    pub occurred_on: Date,
    pub kind: AuditKind,
    /// The auditing body (a federation, the ministry, an audit firm).
    pub auditor: String,
    pub period_from: Date,
    pub period_until: Date,
    pub outcome: AuditOutcome,
}

/// Which sanction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SanctionKind {
    /// Administration by a commissioner (IT commissariamento).
    Commissariamento,
    RemovalFromRegister,
    Fine,
    ForcedDissolution,
}

/// An authority imposed a sanction. Its consequences (a dissolution, a status) are recorded by
/// their own events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SanctionImposed {
    pub occurred_on: Date,
    pub kind: SanctionKind,
    pub authority: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The amount, for a fine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fine: Option<Money>,
}
