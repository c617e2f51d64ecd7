//! Retired schema versions and their upcasting to the current ones (ADR 0003).
//!
//! A retired version's struct is frozen: it is never edited, since payloads written with it stay
//! in the log for good. Each has a `From` into the next version, so that a payload several
//! versions old upcasts through the chain. Adding a version: move the current struct here as
//! `vN`, write `From<vN::T> for T`, add an arm to [`decode`], keep a stored payload of `vN` in
//! `tests/fixtures/events/`.

use serde::de::DeserializeOwned;

use super::{CapitalInterestRate, Event, GeneralAssemblyHeld, SurplusAllocated, SurplusItem, SurplusKind};

/// Schema v1 of the events that have a newer one.
pub mod v1 {
    use serde::{Deserialize, Serialize};

    use crate::values::{AssemblyId, BasisPoints, Date, Money};

    /// `GeneralAssemblyHeld.v1`: attendance without its detail.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct GeneralAssemblyHeld {
        pub occurred_on: Date,
        pub assembly: AssemblyId,
        pub eligible: u32,
        /// In person or online: v1 did not tell them apart.
        pub present: u32,
        pub proxies: u32,
        pub quorum_met: bool,
    }

    /// `SurplusAllocated.v1`: one field per kind of allocation, each an amount with its currency.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct SurplusAllocated {
        pub occurred_on: Date,
        pub fiscal_year: i32,
        pub distributable: Money,
        pub legal_reserve: Money,
        pub indivisible_reserve: Money,
        pub divisible_reserve: Money,
        pub mutual_fund: Money,
        pub patronage_refund: Money,
        pub capital_interest: Money,
        /// Everything else, in one sum.
        pub other: Money,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub capital_interest_rate: Option<BasisPoints>,
    }
}

impl From<v1::GeneralAssemblyHeld> for GeneralAssemblyHeld {
    /// What v1 did not record is unknown, not zero.
    fn from(v1: v1::GeneralAssemblyHeld) -> Self {
        GeneralAssemblyHeld {
            occurred_on: v1.occurred_on,
            assembly: v1.assembly,
            eligible: v1.eligible,
            present: v1.present,
            present_online: None,
            proxies: v1.proxies,
            present_women: None,
            present_under_30: None,
            max_proxies_per_holder: None,
            quorum_met: v1.quorum_met,
        }
    }
}

impl From<v1::SurplusAllocated> for SurplusAllocated {
    /// Each field that is not zero becomes an item, in the order v1 declared them; the rate, if
    /// any, keeps no reference rate, which v1 did not record.
    fn from(v1: v1::SurplusAllocated) -> Self {
        let items = [
            (SurplusKind::LegalReserve, v1.legal_reserve),
            (SurplusKind::IndivisibleReserve, v1.indivisible_reserve),
            (SurplusKind::DivisibleReserve, v1.divisible_reserve),
            (SurplusKind::MutualFund, v1.mutual_fund),
            (SurplusKind::PatronageRefund, v1.patronage_refund),
            (SurplusKind::CapitalInterest, v1.capital_interest),
            (SurplusKind::Other, v1.other),
        ]
        .into_iter()
        .filter(|(_, amount)| !amount.is_zero())
        .map(|(kind, amount)| SurplusItem { kind, amount })
        .collect();
        SurplusAllocated {
            occurred_on: v1.occurred_on,
            fiscal_year: v1.fiscal_year,
            assembly: None,
            surplus: v1.distributable,
            items,
            capital_interest: v1.capital_interest_rate.map(|rate| CapitalInterestRate {
                rate,
                reference_rate: None,
                reference: None,
            }),
            beneficiaries: None,
        }
    }
}

/// Every retired `(name, version)` this build still reads.
pub const RETIRED: &[(&str, u32)] = &[("GeneralAssemblyHeld", 1), ("SurplusAllocated", 1)];

/// Decodes a retired version of `name` and upcasts it to the current type; `None` if `name` never
/// had that version.
pub(super) fn decode(name: &str, version: u32, data: &[u8]) -> Option<serde_json::Result<Event>> {
    fn up<Old: DeserializeOwned, New: From<Old>>(data: &[u8], wrap: fn(New) -> Event) -> serde_json::Result<Event> {
        serde_json::from_slice::<Old>(data).map(|old| wrap(New::from(old)))
    }
    match (name, version) {
        ("GeneralAssemblyHeld", 1) => Some(up::<v1::GeneralAssemblyHeld, _>(data, Event::GeneralAssemblyHeld)),
        ("SurplusAllocated", 1) => Some(up::<v1::SurplusAllocated, _>(data, Event::SurplusAllocated)),
        _ => None,
    }
}
