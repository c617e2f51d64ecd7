//! Rules that are law, not constants: dated, per-jurisdiction tables (ADR 0004).
//!
//! A [`Rule`] says what a jurisdiction requires of a cooperative from a date on, where the law says
//! so, and whether a breach is refused or recorded with a compliance finding. The rule in force on
//! a decision's date is the one with the latest `valid_from` on or before it, so a change of law is
//! a new row, and decisions taken before it are judged by the old one.
//!
//! The standard book, [`RuleBook::standard`], holds the rules of events.md. Each row carries its
//! legal reference so that a union's lawyer can check it; amendment histories beyond those shown
//! are to be added as rows, never by editing one.

use std::fmt;

use time::macros::date;

use crate::events::{SurplusAllocated, SurplusKind};
use crate::values::{BasisPoints, CountryCode, Date};
use crate::{Error, Result};

/// What happens when a decision breaches a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Enforcement {
    /// The command is refused ([`Error::Refused`]): the law makes the fact impossible, as a
    /// cooperative in TR with fewer than seven founders could not have been registered.
    Refuse,
    /// The fact is recorded with a [`crate::events::ComplianceFindingRecorded`]: a real body
    /// decided it, the decision stands until annulled, and the registry records what happened.
    Record,
}

/// What a rule is about: one row per topic and jurisdiction is in force at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleTopic {
    Founders,
    LegalReserve,
    MutualFund,
    CapitalInterestCap,
    CapitalInterestAfterPatronage,
    ProxiesPerMember,
}

/// What a rule requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// A cooperative has at least this many founders.
    MinFounders(u32),
    /// At least this share of the distributable surplus goes to the legal reserve.
    MinLegalReserve(BasisPoints),
    /// At least this share of the distributable surplus goes to mutual funds.
    MinMutualFund(BasisPoints),
    /// For cooperatives with prevalent mutuality, the capital interest rate is at most the
    /// reference rate plus `margin`.
    CapitalInterestCap { margin: BasisPoints },
    /// Capital interest may be paid only if at least this share of the surplus is returned to
    /// members in proportion to their transactions.
    CapitalInterestAfterPatronage(BasisPoints),
    /// A member present may carry at most `limit` proxies; `large_limit` where the assembly has
    /// more than `large_above` eligible members.
    ProxiesPerMember { limit: u32, large_above: u32, large_limit: u32 },
    /// The topic's earlier rule no longer applies from `valid_from`.
    Repealed(RuleTopic),
}

impl Requirement {
    /// The topic the requirement belongs to.
    pub fn topic(&self) -> RuleTopic {
        match self {
            Requirement::MinFounders(_) => RuleTopic::Founders,
            Requirement::MinLegalReserve(_) => RuleTopic::LegalReserve,
            Requirement::MinMutualFund(_) => RuleTopic::MutualFund,
            Requirement::CapitalInterestCap { .. } => RuleTopic::CapitalInterestCap,
            Requirement::CapitalInterestAfterPatronage(_) => RuleTopic::CapitalInterestAfterPatronage,
            Requirement::ProxiesPerMember { .. } => RuleTopic::ProxiesPerMember,
            Requirement::Repealed(topic) => *topic,
        }
    }
}

/// One row of a rule table. The rules apply to organisations of the cooperative family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable id, named in findings: `IT.legal-reserve`.
    pub id: String,
    pub jurisdiction: CountryCode,
    /// The first day the rule applies.
    pub valid_from: Date,
    /// Where the law says it: `c.c. art. 2545-quater`.
    pub legal_reference: String,
    pub requirement: Requirement,
    pub enforcement: Enforcement,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, in force since {})", self.id, self.legal_reference, self.valid_from)
    }
}

/// The rules a decision is checked against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleBook {
    rules: Vec<Rule>,
}

impl RuleBook {
    /// A book with no rules.
    pub fn empty() -> Self {
        RuleBook::default()
    }

    /// A book of `rules`.
    pub fn new(rules: Vec<Rule>) -> Self {
        RuleBook { rules }
    }

    /// The rules of events.md: Türkiye (Law 1163 on cooperatives, in force since its publication
    /// on 10 May 1969) and Italy (codice civile and L. 59/1992).
    pub fn standard() -> Self {
        let tr_1163 = date!(1969 - 05 - 10);
        let row = |id: &str, country, valid_from, reference: &str, requirement, enforcement| Rule {
            id: id.to_owned(),
            jurisdiction: country,
            valid_from,
            legal_reference: reference.to_owned(),
            requirement,
            enforcement,
        };
        use CountryCode as C;
        use Enforcement::{Record, Refuse};
        use Requirement as R;
        RuleBook::new(vec![
            row("TR.founders", C::TR, tr_1163, "Law 1163 art. 2", R::MinFounders(7), Refuse),
            row(
                "TR.legal-reserve",
                C::TR,
                tr_1163,
                "Law 1163 art. 39",
                R::MinLegalReserve(BasisPoints::from_percent(10)),
                Record,
            ),
            row(
                "TR.capital-interest",
                C::TR,
                tr_1163,
                "Law 1163 art. 37",
                R::CapitalInterestAfterPatronage(BasisPoints::from_percent(50)),
                Record,
            ),
            row(
                "TR.proxies",
                C::TR,
                tr_1163,
                "Law 1163 art. 49",
                R::ProxiesPerMember { limit: 1, large_above: 1000, large_limit: 9 },
                Record,
            ),
            // The civil code of 1942 asked a fifth of net profits for the legal reserve; the reform
            // of company law (D.Lgs. 6/2003, in force 1 January 2004) raised it to 30 %.
            row(
                "IT.legal-reserve",
                C::IT,
                date!(1942 - 04 - 21),
                "c.c. art. 2536 (text before D.Lgs. 6/2003)",
                R::MinLegalReserve(BasisPoints::from_percent(20)),
                Record,
            ),
            row(
                "IT.legal-reserve",
                C::IT,
                date!(2004 - 01 - 01),
                "c.c. art. 2545-quater",
                R::MinLegalReserve(BasisPoints::from_percent(30)),
                Record,
            ),
            row(
                "IT.mutual-fund",
                C::IT,
                date!(1992 - 02 - 22),
                "L. 59/1992 art. 11",
                R::MinMutualFund(BasisPoints::from_percent(3)),
                Record,
            ),
            row(
                "IT.capital-interest-cap",
                C::IT,
                date!(2004 - 01 - 01),
                "c.c. art. 2514",
                R::CapitalInterestCap { margin: BasisPoints(250) },
                Record,
            ),
        ])
    }

    /// Every rule, in the order given.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule of `topic` in force in `jurisdiction` on `on`: the latest one that started on or
    /// before that day, unless it is a repeal.
    pub fn in_force(&self, jurisdiction: CountryCode, topic: RuleTopic, on: Date) -> Option<&Rule> {
        self.rules
            .iter()
            .filter(|r| r.jurisdiction == jurisdiction && r.requirement.topic() == topic && r.valid_from <= on)
            .max_by_key(|r| r.valid_from)
            .filter(|r| !matches!(r.requirement, Requirement::Repealed(_)))
    }
}

/// A decision that does not meet a rule: which rule, which field, what it required and what was
/// decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breach {
    pub rule: String,
    pub legal_reference: String,
    pub in_force_since: Date,
    pub enforcement: Enforcement,
    pub field: String,
    pub requirement: String,
    pub found: String,
}

impl Breach {
    fn of(rule: &Rule, field: impl Into<String>, requirement: String, found: String) -> Self {
        Breach {
            rule: rule.id.clone(),
            legal_reference: rule.legal_reference.clone(),
            in_force_since: rule.valid_from,
            enforcement: rule.enforcement,
            field: field.into(),
            requirement,
            found,
        }
    }

    /// The breach as a refusal: [`Error::Refused`] on its field, naming the rule and its reference.
    pub fn into_error(self) -> Error {
        Error::refused(
            self.field,
            format!(
                "{}; found {} ({}, {}, in force since {})",
                self.requirement, self.found, self.rule, self.legal_reference, self.in_force_since
            ),
        )
    }
}

/// The founders rule for a cooperative registered in `jurisdiction` on `on`.
pub fn check_founders(book: &RuleBook, jurisdiction: CountryCode, on: Date, founders: u32) -> Option<Breach> {
    let rule = book.in_force(jurisdiction, RuleTopic::Founders, on)?;
    match rule.requirement {
        Requirement::MinFounders(min) if founders < min => Some(Breach::of(
            rule,
            "founders",
            format!("a cooperative in {jurisdiction} must have at least {min} founders"),
            founders.to_string(),
        )),
        _ => None,
    }
}

/// The proxy rule of the law for an assembly with `eligible` members, `present` of them present
/// carrying `proxies` proxies, at most `max_per_holder` each if that was recorded.
pub fn check_proxies(
    book: &RuleBook,
    jurisdiction: CountryCode,
    on: Date,
    eligible: u32,
    present: u32,
    proxies: u32,
    max_per_holder: Option<u32>,
) -> Option<Breach> {
    let rule = book.in_force(jurisdiction, RuleTopic::ProxiesPerMember, on)?;
    let Requirement::ProxiesPerMember { limit, large_above, large_limit } = rule.requirement else {
        return None;
    };
    let limit = if eligible > large_above { large_limit } else { limit };
    let requirement =
        format!("a member may carry at most {limit} proxies in an assembly of {eligible} eligible members");
    proxy_breach(limit, present, proxies, max_per_holder)
        .map(|(field, found)| Breach::of(rule, field, requirement, found))
}

/// Which field breaks a limit of `limit` proxies per member present, and how, if one does.
pub(crate) fn proxy_breach(
    limit: u32,
    present: u32,
    proxies: u32,
    max_per_holder: Option<u32>,
) -> Option<(&'static str, String)> {
    match max_per_holder {
        Some(max) if max > limit => Some(("max_proxies_per_holder", format!("a member carried {max}"))),
        _ if u64::from(proxies) > u64::from(present) * u64::from(limit) => Some((
            "proxies",
            format!("{proxies} proxies with {present} members present: at least one carried more than {limit}"),
        )),
        _ => None,
    }
}

/// The rules on the split of a surplus in `jurisdiction`, in force on the allocation's date.
/// `prevalent` says whether the cooperative is one with prevalent mutuality (the Italian Albo's
/// first section); the capital-interest cap applies only then. The allocation must already be
/// well formed (items in its currency).
pub fn check_surplus(
    book: &RuleBook,
    jurisdiction: CountryCode,
    prevalent: bool,
    allocation: &SurplusAllocated,
) -> Result<Vec<Breach>> {
    let on = allocation.occurred_on;
    let surplus = allocation.surplus;
    let mut breaches = Vec::new();

    for (topic, kind, field, what) in [
        (RuleTopic::LegalReserve, SurplusKind::LegalReserve, "items.legal_reserve", "the legal reserve"),
        (RuleTopic::MutualFund, SurplusKind::MutualFund, "items.mutual_fund", "mutual funds"),
    ] {
        let Some(rule) = book.in_force(jurisdiction, topic, on) else { continue };
        let (Requirement::MinLegalReserve(share) | Requirement::MinMutualFund(share)) = rule.requirement else {
            continue;
        };
        let required = surplus.share(share)?;
        let given = allocation.amount_of(kind);
        if given.amount < required.amount {
            breaches.push(Breach::of(
                rule,
                field,
                format!("at least {share} of the surplus {surplus} to {what}: {required}"),
                given.to_string(),
            ));
        }
    }

    let interest = allocation.amount_of(SurplusKind::CapitalInterest);
    if !interest.is_zero()
        && let Some(rule) = book.in_force(jurisdiction, RuleTopic::CapitalInterestAfterPatronage, on)
        && let Requirement::CapitalInterestAfterPatronage(share) = rule.requirement
    {
        let required = surplus.share(share)?;
        let refund = allocation.amount_of(SurplusKind::PatronageRefund);
        if refund.amount < required.amount {
            breaches.push(Breach::of(
                rule,
                "items.capital_interest",
                format!(
                    "capital interest only once at least {share} of the surplus ({required}) is returned to members by their transactions"
                ),
                format!("capital interest {interest} with a patronage refund of {refund}"),
            ));
        }
    }

    if prevalent
        && let Some(rate) = &allocation.capital_interest
        && let Some(reference) = rate.reference_rate
        && let Some(rule) = book.in_force(jurisdiction, RuleTopic::CapitalInterestCap, on)
        && let Requirement::CapitalInterestCap { margin } = rule.requirement
    {
        let cap = BasisPoints(reference.0.saturating_add(margin.0));
        if rate.rate > cap {
            breaches.push(Breach::of(
                rule,
                "capital_interest.rate",
                format!("at most the reference rate {reference} plus {margin}: {cap}"),
                rate.rate.to_string(),
            ));
        }
    }
    Ok(breaches)
}
