//! The catalogue: every indicator of the reference list, with its id, unit, formula and source,
//! and its computation in one place, [`Measure::contribute`], one arm per indicator.
//!
//! An indicator is computed in two steps. Each organisation-year row contributes its part (a
//! numerator and a denominator, or an amount in its currency), or is out of scope, or is in scope
//! with the data missing; then the group's parts are combined by the indicator's [`Aggregate`]:
//! a sum, a ratio of sums (which weights each organisation by its denominator: the
//! member-weighted mean of the reference list), a median of the organisations' ratios, or a ratio
//! to a reference figure of the area (population, employment).

use imece_domain::{Currency, SurplusKind};
use rust_decimal::Decimal;

use crate::cube::{Cube, NA, YearSlice, col, flag};
use crate::facts::{Figure, surplus_kind_index};

/// What a figure is measured in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unit {
    /// A number of organisations or persons.
    Count,
    /// Full-time equivalents.
    FullTimeEquivalent,
    /// A share between 0 and 1 (or a rate, which may exceed 1).
    Ratio,
    /// The difference of two shares.
    RatioDifference,
    /// Per 1,000 inhabitants of the area.
    PerThousandInhabitants,
    /// Per 10,000 inhabitants of the area.
    PerTenThousandInhabitants,
    /// An amount of money, in a currency.
    Money,
    /// An amount of money per member.
    MoneyPerMember,
}

/// A reference figure of an area that an indicator divides by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AreaFigure {
    Population,
    Employment,
}

/// How the contributions of a group combine into its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Aggregate {
    /// The sum of the numerators.
    Sum,
    /// The sum of the numerators, in hundredths.
    Hundredths,
    /// Sum of numerators over sum of denominators.
    Ratio,
    /// The median of the organisations' own ratios.
    Median,
    /// The first ratio minus the second.
    Gap,
    /// The sum of the numerators over the area's reference figure, times `per`.
    PerArea { figure: AreaFigure, per: u32 },
    /// A sum of money.
    Money,
    /// Money over money, in one currency (or both converted to one).
    MoneyRatio,
    /// Money over a count.
    MoneyPerCount,
    /// A ratio of decimals that are not money.
    DecimalRatio,
}

/// What one organisation-year contributes to a cell.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Contrib {
    /// Out of the indicator's scope: not counted at all.
    Skip,
    /// In scope, but the data it needs is missing: counted in `excluded_missing`.
    Missing,
    Int {
        num: i64,
        den: i64,
        persons: u64,
    },
    Pair {
        num: i64,
        den: i64,
        num2: i64,
        den2: i64,
        persons: u64,
    },
    Decimal {
        num: Decimal,
        den: Decimal,
        persons: u64,
    },
    Money {
        currency: Currency,
        num: Decimal,
        den: Decimal,
        persons: u64,
    },
}

/// Which exits indicator 3 counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExitFilter {
    Any,
    Dissolved,
    Liquidated,
    Merged,
}

/// Which part of the accounts indicator 23 compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prevalence {
    Turnover,
    Labour,
    Purchases,
}

/// The computation of each indicator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Measure {
    /// Indicator 1: |A(31 Dec y)|: organisations registered and not closed on 31 December (ICLS 2018,
    /// CIRIEC, OECD).
    ActiveEntities,
    /// Indicator 2: Registered in y / |A(end of y−1)| (business demography).
    BirthRate,
    /// Indicator 3: Dissolved, liquidated or absorbed in y / |A(end of y−1)|, by reason (business demography).
    ExitRate(ExitFilter),
    /// Indicator 4: Cohort of y still active on 31 December of y+k / cohort of y; cohorts whose year y+k
    /// is past the observed period are left out (business demography).
    Survival(i32),
    /// Indicator 5: Σ M_o(31 Dec y), one column of the breakdown (ICLS 2018).
    Members(usize),
    /// Indicator 6: Members / population × 1000 (Co-operatives UK style).
    MembershipDensity,
    /// Indicator 7: Σ average employees of the fiscal year (ICLS, CIRIEC).
    PaidEmployment,
    /// Indicator 7: Σ full-time equivalents of the fiscal year (ICLS, CIRIEC).
    PaidEmploymentFte,
    /// Indicator 7: Σ women employees (ICLS by sex).
    PaidEmploymentWomen,
    /// Indicator 8: Σ employees / total employment of the area (CIRIEC/EESC).
    EmploymentShare,
    /// Indicator 9: Σ turnover (SNA satellite accounts, ICA World Cooperative Monitor).
    Turnover,
    /// Indicator 9: Σ value added ≈ personnel costs + net result (EBITDA is not recorded; see the crate
    /// docs).
    ValueAdded,
    /// Indicator 10: Worker-members / workers (ICLS types; SCOP rule).
    WorkerMemberShare,
    /// Indicator 11: (present + proxies) / eligible, or present / eligible when `direct`; the member-weighted
    /// mean, or the median over coop-years (ICA principle 2; IT revisione; TR hazirun).
    Participation { direct: bool, median: bool },
    /// Indicator 12: Σ proxies / Σ (present + proxies) (Law 1163 art. 49).
    ProxyReliance,
    /// Indicator 13: Share of cooperatives whose statute is one member one vote with at most 1 vote
    /// (ICA principle 2).
    OmovCompliance,
    /// Indicator 14: F / (F + M) of natural-person members; other and unknown are apart (ICLS by sex).
    WomenShareMembers,
    /// Indicator 15: Board seats held by women / seats (ICA principle 2).
    WomenShareBoards,
    /// Indicator 15: Board share of women − members' share of women (ICA principle 2).
    WomenBoardGap,
    /// Indicator 16: Members under the youth age / members of known age (ICLS; Leverano objective 5).
    YouthShareMembers,
    /// Indicator 16: Board members under the youth age / board members of known age.
    YouthShareBoards,
    /// Indicator 17: Admissions in y / members on 31 Dec y−1 (ICA principle 1).
    JoinRate,
    /// Indicator 17: Exits in y / members on 31 Dec y−1 (ICA principle 1).
    MemberExitRate,
    /// Indicator 17: Expulsions in y / exits in y (ICA principle 1).
    ExpulsionShare,
    /// Indicator 17: (members 31 Dec y − members 31 Dec y−1) / members 31 Dec y−1 (ICA principle 1).
    NetGrowth,
    /// Indicator 18: Candidates / seats of the board elections of y (ICA Guidance Notes).
    BoardContestedness,
    /// Indicator 18: Seats taken by new holders / seats, elections that recorded it (ICA Guidance Notes).
    BoardRenewal,
    /// Indicator 19: Amount of one kind / distributable surplus, weighted by the surplus (ICA principles 3,
    /// 5, 7; c.c. 2545; Law 1163 art. 37, 39).
    SurplusShare(SurplusKind),
    /// Indicator 20: Allocations without a finding against a legal minimum / allocations (national law).
    LegalMinimumCompliance,
    /// Indicator 21: Indivisible reserves / equity (ICA principle 3; c.c. 2514; Loi ESS).
    AssetLock,
    /// Indicator 22: Share capital / members (ICA principle 3).
    CapitalPerMember,
    /// Indicator 22: Paid-in capital share of the top 10 % of members, member-weighted mean over
    /// organisations; person-level data only (ICA principle 3).
    CapitalConcentration,
    /// Indicator 23: Member part / total of turnover, labour costs or purchases (c.c. 2513).
    MutualPrevalence(Prevalence),
    /// Indicator 24: Share of entities with an active affiliation (ICA principle 6).
    AffiliationShare,
    /// Indicator 24: Purchases from other social-economy entities / purchases (ICA principle 6).
    SocialEconomyPurchases,
    /// Indicator 24: Active commons agreements per 10,000 inhabitants (ICA principle 7).
    CommonsDensity,
    /// Audited within the statutory cycle / subject to audit (D.Lgs. 220/2002).
    AuditCompliance,
    /// Disadvantaged workers / workers of type-B social cooperatives (L. 381/1991 art. 4).
    WorkIntegrationRatio,
    /// Share of type-B social cooperatives with at least 30 % disadvantaged workers (L. 381/1991).
    WorkIntegrationCompliance,
}

fn int(num: u32, den: u32, persons: u32) -> Contrib {
    Contrib::Int { num: i64::from(num), den: i64::from(den), persons: u64::from(persons) }
}

impl Measure {
    pub(crate) fn aggregate(self) -> Aggregate {
        use Measure as M;
        match self {
            M::ActiveEntities | M::Members(_) | M::PaidEmployment | M::PaidEmploymentWomen => Aggregate::Sum,
            M::PaidEmploymentFte => Aggregate::Hundredths,
            M::Participation { median: true, .. } => Aggregate::Median,
            M::WomenBoardGap => Aggregate::Gap,
            M::MembershipDensity => Aggregate::PerArea { figure: AreaFigure::Population, per: 1000 },
            M::CommonsDensity => Aggregate::PerArea { figure: AreaFigure::Population, per: 10_000 },
            M::EmploymentShare => Aggregate::PerArea { figure: AreaFigure::Employment, per: 1 },
            M::Turnover | M::ValueAdded => Aggregate::Money,
            M::SurplusShare(_) | M::AssetLock | M::MutualPrevalence(_) | M::SocialEconomyPurchases => {
                Aggregate::MoneyRatio
            }
            M::CapitalPerMember => Aggregate::MoneyPerCount,
            M::CapitalConcentration => Aggregate::DecimalRatio,
            _ => Aggregate::Ratio,
        }
    }

    /// What row `i` of `s` contributes. The one place where each indicator is computed.
    pub(crate) fn contribute(self, s: &YearSlice, i: usize, cube: &Cube) -> Contrib {
        use Measure as M;
        let g = |c: usize| s.get(c, i);
        let has = |f: u32| s.has(f, i);
        let known = |c: usize| Some(g(c)).filter(|v| *v != NA);
        let active = has(flag::ACTIVE_END);
        // Read only by the indicators of the accounts (lazily: the others do not load the column).
        let accounts = || known(col::ACCOUNTS).map(|a| &cube.accounts[a as usize]);
        // Flows of the accounts count for every organisation with accounts of the year, and
        // organisations active on 31 December without them count as missing.
        let in_accounts_scope = || active || accounts().is_some();
        let figure = |f: Figure| accounts().and_then(|a| a.figures[f as usize].map(|v| (a.currency, v)));
        let money_ratio = |num: Figure, den: Figure| {
            if !in_accounts_scope() {
                return Contrib::Skip;
            }
            match (figure(num), figure(den)) {
                (Some((currency, n)), Some((_, d))) if d > Decimal::ZERO => {
                    Contrib::Money { currency, num: n, den: d, persons: 0 }
                }
                _ => Contrib::Missing,
            }
        };
        let stock_ratio = |num: usize, den: usize| {
            if !active {
                return Contrib::Skip;
            }
            match (known(num), known(den)) {
                (_, Some(0)) => Contrib::Skip,
                (Some(n), Some(d)) => int(n, d, d),
                _ => Contrib::Missing,
            }
        };
        let workforce_ratio = |num: usize, den: usize| {
            if !in_accounts_scope() {
                return Contrib::Skip;
            }
            match (known(num), known(den)) {
                (Some(n), Some(d)) if d > 0 => int(n, d, d),
                _ => Contrib::Missing,
            }
        };
        let workforce_sum = |c: usize| {
            if !in_accounts_scope() {
                return Contrib::Skip;
            }
            match known(c) {
                Some(v) => int(v, 0, v),
                None => Contrib::Missing,
            }
        };

        match self {
            M::ActiveEntities => {
                if active {
                    int(1, 0, 0)
                } else {
                    Contrib::Skip
                }
            }
            M::BirthRate => {
                if has(flag::ACTIVE_PREV) || has(flag::BORN) {
                    int(u32::from(has(flag::BORN)), u32::from(has(flag::ACTIVE_PREV)), 0)
                } else {
                    Contrib::Skip
                }
            }
            M::ExitRate(filter) => {
                let exited = has(match filter {
                    ExitFilter::Any => flag::EXIT,
                    ExitFilter::Dissolved => flag::EXIT_DISSOLVED,
                    ExitFilter::Liquidated => flag::EXIT_LIQUIDATED,
                    ExitFilter::Merged => flag::EXIT_MERGED,
                });
                if has(flag::ACTIVE_PREV) || has(flag::EXIT) {
                    int(u32::from(exited), u32::from(has(flag::ACTIVE_PREV)), 0)
                } else {
                    Contrib::Skip
                }
            }
            M::Survival(k) => {
                let (known_flag, survived) = if k == 3 {
                    (flag::SURVIVAL_3_KNOWN, flag::SURVIVED_3)
                } else {
                    (flag::SURVIVAL_5_KNOWN, flag::SURVIVED_5)
                };
                if has(flag::BORN) && has(known_flag) { int(u32::from(has(survived)), 1, 0) } else { Contrib::Skip }
            }
            M::Members(_) | M::MembershipDensity if !active => Contrib::Skip,
            M::Members(c) => match known(c) {
                Some(v) => int(v, 0, v),
                None => Contrib::Missing,
            },
            M::MembershipDensity => match known(col::MEMBERS) {
                Some(v) => int(v, 0, v),
                None => Contrib::Missing,
            },
            M::PaidEmployment | M::EmploymentShare => workforce_sum(col::EMPLOYEES),
            M::PaidEmploymentFte => match workforce_sum(col::FTE_HUNDREDTHS) {
                Contrib::Int { num, den, .. } => {
                    Contrib::Int { num, den, persons: known(col::EMPLOYEES).map_or(0, u64::from) }
                }
                other => other,
            },
            M::PaidEmploymentWomen => workforce_sum(col::EMPLOYEES_WOMEN),
            M::Turnover => {
                if !in_accounts_scope() {
                    return Contrib::Skip;
                }
                figure(Figure::Turnover).map_or(Contrib::Missing, |(currency, v)| Contrib::Money {
                    currency,
                    num: v,
                    den: Decimal::ZERO,
                    persons: 0,
                })
            }
            M::ValueAdded => {
                if !in_accounts_scope() {
                    return Contrib::Skip;
                }
                match (figure(Figure::PersonnelCosts), figure(Figure::NetResult)) {
                    (Some((currency, p)), Some((_, r))) => {
                        Contrib::Money { currency, num: p + r, den: Decimal::ZERO, persons: 0 }
                    }
                    _ => Contrib::Missing,
                }
            }
            M::WorkerMemberShare => workforce_ratio(col::WORKER_MEMBERS, col::WORKERS),
            M::Participation { .. } | M::ProxyReliance if !active && known(col::ASSEMBLIES).is_none() => Contrib::Skip,
            M::Participation { direct, .. } => match (known(col::ASSEMBLIES), g(col::ASM_ELIGIBLE)) {
                (Some(_), eligible) if eligible > 0 => {
                    let attended = g(col::ASM_PRESENT) + if direct { 0 } else { g(col::ASM_PROXIES) };
                    int(attended, eligible, eligible)
                }
                _ => Contrib::Missing,
            },
            M::ProxyReliance => match known(col::ASSEMBLIES) {
                Some(_) if g(col::ASM_PRESENT) + g(col::ASM_PROXIES) > 0 => {
                    let attended = g(col::ASM_PRESENT) + g(col::ASM_PROXIES);
                    int(g(col::ASM_PROXIES), attended, attended)
                }
                _ => Contrib::Missing,
            },
            M::OmovCompliance => {
                if !active || !has(flag::COOPERATIVE) {
                    Contrib::Skip
                } else if has(flag::STATUTE_KNOWN) {
                    int(u32::from(has(flag::OMOV)), 1, 0)
                } else {
                    Contrib::Missing
                }
            }
            M::WomenShareMembers => {
                if !active {
                    return Contrib::Skip;
                }
                match (known(col::FEMALE), known(col::MALE)) {
                    (Some(0), Some(0)) => Contrib::Skip,
                    (Some(f), Some(m)) => int(f, f + m, f + m),
                    _ => Contrib::Missing,
                }
            }
            M::WomenShareBoards => stock_ratio(col::BOARD_WOMEN, col::BOARD_SEATS),
            M::WomenBoardGap => {
                if !active {
                    return Contrib::Skip;
                }
                match (known(col::BOARD_WOMEN), known(col::BOARD_SEATS), known(col::FEMALE), known(col::MALE)) {
                    (Some(w), Some(seats), Some(f), Some(m)) if seats > 0 && f + m > 0 => Contrib::Pair {
                        num: i64::from(w),
                        den: i64::from(seats),
                        num2: i64::from(f),
                        den2: i64::from(f + m),
                        persons: u64::from(seats),
                    },
                    (_, Some(0), _, _) => Contrib::Skip,
                    _ => Contrib::Missing,
                }
            }
            M::YouthShareMembers => stock_ratio(col::YOUNG, col::AGE_KNOWN),
            M::YouthShareBoards => stock_ratio(col::BOARD_YOUNG, col::BOARD_AGE_KNOWN),
            M::JoinRate | M::MemberExitRate => {
                if !has(flag::ACTIVE_PREV) {
                    return Contrib::Skip;
                }
                let c = if self == M::JoinRate { col::JOINS } else { col::EXITS };
                match (known(c), known(col::MEMBERS_START)) {
                    (Some(n), Some(start)) => int(n, start, start),
                    _ => Contrib::Missing,
                }
            }
            M::ExpulsionShare => match (known(col::EXPULSIONS), known(col::EXITS)) {
                (Some(x), Some(exits)) if exits > 0 => int(x, exits, exits),
                (Some(_), Some(_)) => Contrib::Skip,
                _ if active => Contrib::Missing,
                _ => Contrib::Skip,
            },
            M::NetGrowth => {
                if !active || !has(flag::ACTIVE_PREV) {
                    return Contrib::Skip;
                }
                match (known(col::MEMBERS), known(col::MEMBERS_START)) {
                    (Some(end), Some(start)) => Contrib::Int {
                        num: i64::from(end) - i64::from(start),
                        den: i64::from(start),
                        persons: u64::from(start.max(end)),
                    },
                    _ => Contrib::Missing,
                }
            }
            M::BoardContestedness => match known(col::ELECT_SEATS) {
                Some(seats) if seats > 0 => int(g(col::ELECT_CANDIDATES), seats, g(col::ELECT_CANDIDATES)),
                _ => Contrib::Skip,
            },
            M::BoardRenewal => match known(col::ELECT_SEATS) {
                Some(seats) if seats > 0 => match g(col::ELECT_RENEWAL_SEATS) {
                    0 => Contrib::Missing,
                    renewal => int(g(col::ELECT_NEW_HOLDERS), renewal, renewal),
                },
                _ => Contrib::Skip,
            },
            M::SurplusShare(kind) => match known(col::ALLOCATION).map(|a| &cube.allocations[a as usize]) {
                Some(a) if a.surplus > Decimal::ZERO => Contrib::Money {
                    currency: a.currency,
                    num: a.items[surplus_kind_index(kind)],
                    den: a.surplus,
                    persons: 0,
                },
                _ => Contrib::Skip,
            },
            M::LegalMinimumCompliance => match known(col::ALLOCATION) {
                Some(_) => int(u32::from(has(flag::ALLOCATION_COMPLIANT)), 1, 0),
                None => Contrib::Skip,
            },
            M::AssetLock => money_ratio(Figure::IndivisibleReserves, Figure::Equity),
            M::CapitalPerMember => {
                if !active {
                    return Contrib::Skip;
                }
                match (figure(Figure::ShareCapital), known(col::MEMBERS)) {
                    (Some((currency, capital)), Some(m)) if m > 0 => {
                        Contrib::Money { currency, num: capital, den: Decimal::from(m), persons: u64::from(m) }
                    }
                    (_, Some(0)) => Contrib::Skip,
                    _ => Contrib::Missing,
                }
            }
            M::CapitalConcentration => {
                if !active {
                    return Contrib::Skip;
                }
                match (known(col::CAPITAL).map(|c| cube.capital[c as usize]), known(col::MEMBERS)) {
                    (Some((top, total)), Some(m)) if total > Decimal::ZERO => {
                        let weight = Decimal::from(m);
                        Contrib::Decimal { num: top / total * weight, den: weight, persons: u64::from(m) }
                    }
                    (_, Some(0)) => Contrib::Skip,
                    _ => Contrib::Missing,
                }
            }
            M::MutualPrevalence(part) => match part {
                Prevalence::Turnover => money_ratio(Figure::MemberTurnover, Figure::Turnover),
                Prevalence::Labour => money_ratio(Figure::MemberLabourCosts, Figure::PersonnelCosts),
                Prevalence::Purchases => money_ratio(Figure::PurchasesFromMembers, Figure::Purchases),
            },
            M::AffiliationShare => {
                if active {
                    int(u32::from(has(flag::AFFILIATED)), 1, 0)
                } else {
                    Contrib::Skip
                }
            }
            M::SocialEconomyPurchases => money_ratio(Figure::PurchasesFromSocialEconomy, Figure::Purchases),
            M::CommonsDensity => {
                if active {
                    int(g(col::AGREEMENTS), 0, 0)
                } else {
                    Contrib::Skip
                }
            }
            M::AuditCompliance => {
                if has(flag::AUDIT_SUBJECT) {
                    int(u32::from(has(flag::AUDITED)), 1, 0)
                } else {
                    Contrib::Skip
                }
            }
            M::WorkIntegrationRatio if !has(flag::TYPE_B) => Contrib::Skip,
            M::WorkIntegrationRatio => workforce_ratio(col::DISADVANTAGED, col::WORKERS),
            M::WorkIntegrationCompliance => {
                if !has(flag::TYPE_B) {
                    return Contrib::Skip;
                }
                match workforce_ratio(col::DISADVANTAGED, col::WORKERS) {
                    // At least 30 %: 10 × disadvantaged ≥ 3 × workers, exactly.
                    Contrib::Int { num, den, .. } => {
                        Contrib::Int { num: i64::from(num * 10 >= den * 3), den: 1, persons: 0 }
                    }
                    other => other,
                }
            }
        }
    }
}

/// An indicator of the catalogue.
#[derive(Debug)]
pub struct Indicator {
    /// Stable id, used in queries (`assembly_participation`).
    pub id: &'static str,
    /// Its number in the reference list (`11`), or `also` for the two that follow the table.
    pub number: &'static str,
    pub title: &'static str,
    pub unit: Unit,
    pub formula: &'static str,
    /// The principle or statistical source it follows.
    pub source: &'static str,
    pub(crate) measure: Measure,
}

impl Indicator {
    /// Whether its figures are money (then split by currency, or converted).
    pub fn is_money(&self) -> bool {
        matches!(self.measure.aggregate(), Aggregate::Money | Aggregate::MoneyRatio | Aggregate::MoneyPerCount)
    }

    /// Whether its cells describe persons, so that the threshold on persons applies.
    pub fn describes_persons(&self) -> bool {
        let probe = self.measure;
        !matches!(
            probe,
            Measure::ActiveEntities
                | Measure::BirthRate
                | Measure::ExitRate(_)
                | Measure::Survival(_)
                | Measure::Turnover
                | Measure::ValueAdded
                | Measure::OmovCompliance
                | Measure::SurplusShare(_)
                | Measure::LegalMinimumCompliance
                | Measure::AssetLock
                | Measure::MutualPrevalence(_)
                | Measure::AffiliationShare
                | Measure::SocialEconomyPurchases
                | Measure::CommonsDensity
                | Measure::AuditCompliance
                | Measure::WorkIntegrationCompliance
        )
    }

    /// The reference figure of the area it divides by, if any.
    pub fn area_figure(&self) -> Option<AreaFigure> {
        match self.measure.aggregate() {
            Aggregate::PerArea { figure, .. } => Some(figure),
            _ => None,
        }
    }
}

macro_rules! indicators {
    ($($id:literal, $number:literal, $title:literal, $unit:ident, $formula:literal, $source:expr, $measure:expr;)+) => {
        /// Every indicator, in the order of the reference list.
        pub static CATALOGUE: &[Indicator] = &[$(Indicator {
            id: $id,
            number: $number,
            title: $title,
            unit: Unit::$unit,
            formula: $formula,
            source: $source,
            measure: $measure,
        },)+];
    };
}

const ICLS: &str = "ICLS 2018";
use ExitFilter as X;
use Measure as M;
use Prevalence as P;
use SurplusKind as K;

indicators! {
    "active_entities", "1", "Active entities", Count, "|A(31 Dec y)|", "ICLS 2018, CIRIEC, OECD", M::ActiveEntities;
    "birth_rate", "2", "Birth rate", Ratio, "registered in y / |A(31 Dec y-1)|", "business demography", M::BirthRate;
    "exit_rate", "3", "Exit rate", Ratio, "dissolved, liquidated or absorbed in y / |A(31 Dec y-1)|", "business demography", M::ExitRate(X::Any);
    "exit_rate_dissolution", "3", "Exit rate by dissolution", Ratio, "dissolved in y / |A(31 Dec y-1)|", "business demography", M::ExitRate(X::Dissolved);
    "exit_rate_liquidation", "3", "Exit rate by liquidation without recorded dissolution", Ratio, "liquidated in y / |A(31 Dec y-1)|", "business demography", M::ExitRate(X::Liquidated);
    "exit_rate_merger", "3", "Exit rate by merger", Ratio, "absorbed or merged away in y / |A(31 Dec y-1)|", "business demography", M::ExitRate(X::Merged);
    "survival_3y", "4", "3-year survival", Ratio, "cohort of y active on 31 Dec y+3 / cohort of y", "business demography", M::Survival(3);
    "survival_5y", "4", "5-year survival", Ratio, "cohort of y active on 31 Dec y+5 / cohort of y", "business demography", M::Survival(5);
    "members", "5", "Members", Count, "Σ M_o(31 Dec y)", ICLS, M::Members(col::MEMBERS);
    "members_natural", "5", "Members: natural persons", Count, "Σ natural-person members on 31 Dec y", ICLS, M::Members(col::NATURAL);
    "members_legal", "5", "Members: legal persons", Count, "Σ legal-person members on 31 Dec y", ICLS, M::Members(col::LEGAL);
    "members_women", "5", "Members: women", Count, "Σ members of sex F on 31 Dec y", ICLS, M::Members(col::FEMALE);
    "members_men", "5", "Members: men", Count, "Σ members of sex M on 31 Dec y", ICLS, M::Members(col::MALE);
    "members_sex_other", "5", "Members: sex X", Count, "Σ members of sex X on 31 Dec y", ICLS, M::Members(col::SEX_OTHER);
    "members_sex_unknown", "5", "Members: sex unknown", Count, "Σ natural-person members of unknown sex on 31 Dec y", ICLS, M::Members(col::SEX_UNKNOWN);
    "members_under_30", "5", "Members under 30", Count, "Σ members aged y - birth year < 30", ICLS, M::Members(col::AGE_UNDER_30);
    "members_30_64", "5", "Members aged 30 to 64", Count, "Σ members aged 30 to 64", ICLS, M::Members(col::AGE_30_64);
    "members_65_plus", "5", "Members aged 65 and over", Count, "Σ members aged 65 and over", ICLS, M::Members(col::AGE_65);
    "members_age_unknown", "5", "Members of unknown age", Count, "Σ natural-person members without a birth year", ICLS, M::Members(col::AGE_UNKNOWN);
    "members_users", "5", "Members: users", Count, "Σ members of category user", ICLS, M::Members(col::CATEGORY);
    "members_workers", "5", "Members: workers", Count, "Σ members of category worker", ICLS, M::Members(col::CATEGORY + 1);
    "members_producers", "5", "Members: producers", Count, "Σ members of category producer", ICLS, M::Members(col::CATEGORY + 2);
    "members_volunteers", "5", "Members: volunteers", Count, "Σ members of category volunteer", ICLS, M::Members(col::CATEGORY + 3);
    "members_investors", "5", "Members: investors", Count, "Σ members of category investor", ICLS, M::Members(col::CATEGORY + 4);
    "members_other_category", "5", "Members: other category", Count, "Σ members of category other", ICLS, M::Members(col::CATEGORY + 5);
    "membership_density", "6", "Membership density", PerThousandInhabitants, "members / population × 1000", "Co-operatives UK style", M::MembershipDensity;
    "paid_employment", "7", "Paid employment (headcount)", Count, "Σ average employees of fiscal year y", "ICLS, CIRIEC", M::PaidEmployment;
    "paid_employment_fte", "7", "Paid employment (FTE)", FullTimeEquivalent, "Σ full-time equivalents of fiscal year y", "ICLS, CIRIEC", M::PaidEmploymentFte;
    "paid_employment_women", "7", "Paid employment: women", Count, "Σ women employees of fiscal year y", "ICLS, CIRIEC", M::PaidEmploymentWomen;
    "employment_share", "8", "Social-economy share of employment", Ratio, "Σ employees / total employment of the area", "CIRIEC/EESC (EU: 6.3 %)", M::EmploymentShare;
    "turnover", "9", "Turnover", Money, "Σ turnover of fiscal year y", "SNA satellite accounts, ICA World Cooperative Monitor", M::Turnover;
    "value_added", "9", "Value added", Money, "Σ (personnel costs + net result)", "SNA satellite accounts, ICA World Cooperative Monitor", M::ValueAdded;
    "worker_member_share", "10", "Worker-member share", Ratio, "Σ worker-members / Σ workers", "ICLS types; SCOP rule", M::WorkerMemberShare;
    "assembly_participation", "11", "General-assembly participation (member-weighted mean)", Ratio, "Σ (present + proxies) / Σ eligible", "ICA principle 2; IT revisione; TR hazirun", M::Participation { direct: false, median: false };
    "assembly_participation_median", "11", "General-assembly participation (median coop-year)", Ratio, "median over coop-years of (present + proxies) / eligible", "ICA principle 2; IT revisione; TR hazirun", M::Participation { direct: false, median: true };
    "assembly_direct_participation", "11", "Direct participation (member-weighted mean)", Ratio, "Σ present / Σ eligible", "ICA principle 2; IT revisione; TR hazirun", M::Participation { direct: true, median: false };
    "assembly_direct_participation_median", "11", "Direct participation (median coop-year)", Ratio, "median over coop-years of present / eligible", "ICA principle 2; IT revisione; TR hazirun", M::Participation { direct: true, median: true };
    "proxy_reliance", "12", "Proxy reliance", Ratio, "Σ proxies / Σ (present + proxies)", "Law 1163 art. 49", M::ProxyReliance;
    "omov_compliance", "13", "One-member-one-vote compliance", Ratio, "cooperatives whose statute is OMOV with max 1 vote / cooperatives with a statute on record", "ICA principle 2", M::OmovCompliance;
    "women_share_members", "14", "Women's share of members", Ratio, "F / (F + M)", "ICLS by sex; ESSGlobal totalWomen", M::WomenShareMembers;
    "women_share_boards", "15", "Women's share of boards", Ratio, "board seats held by women / seats", "ICA principle 2", M::WomenShareBoards;
    "women_board_gap", "15", "Women's board gap", RatioDifference, "board share of women − member share of women", "ICA principle 2", M::WomenBoardGap;
    "youth_share_members", "16", "Youth share of members", Ratio, "members under the youth age / members of known age", "ICLS (young people); Leverano objective 5", M::YouthShareMembers;
    "youth_share_boards", "16", "Youth share of boards", Ratio, "board members under the youth age / board members of known age", "ICLS (young people); Leverano objective 5", M::YouthShareBoards;
    "member_join_rate", "17", "Member join rate", Ratio, "admissions in y / members on 31 Dec y-1", "ICA principle 1", M::JoinRate;
    "member_exit_rate", "17", "Member exit rate", Ratio, "exits in y / members on 31 Dec y-1", "ICA principle 1", M::MemberExitRate;
    "member_expulsion_share", "17", "Expulsion share of exits", Ratio, "expulsions in y / exits in y", "ICA principle 1", M::ExpulsionShare;
    "member_net_growth", "17", "Net membership growth", Ratio, "(members 31 Dec y − members 31 Dec y-1) / members 31 Dec y-1", "ICA principle 1", M::NetGrowth;
    "board_contestedness", "18", "Board contestedness", Ratio, "Σ candidates / Σ seats of board elections in y", "ICA Guidance Notes", M::BoardContestedness;
    "board_renewal", "18", "Board renewal", Ratio, "Σ seats taken by new holders / Σ seats", "ICA Guidance Notes", M::BoardRenewal;
    "surplus_legal_reserve", "19", "Surplus to the legal reserve", Ratio, "Σ legal reserve / Σ distributable surplus", "ICA principle 3; c.c. 2545-quater; Law 1163 art. 39", M::SurplusShare(K::LegalReserve);
    "surplus_indivisible_reserve", "19", "Surplus to indivisible reserves", Ratio, "Σ indivisible reserve / Σ distributable surplus", "ICA principle 3; c.c. 2545-ter", M::SurplusShare(K::IndivisibleReserve);
    "surplus_divisible_reserve", "19", "Surplus to divisible reserves", Ratio, "Σ divisible reserve / Σ distributable surplus", "ICA principle 3", M::SurplusShare(K::DivisibleReserve);
    "surplus_mutual_fund", "19", "Surplus to mutual funds", Ratio, "Σ mutual fund / Σ distributable surplus", "ICA principle 6; L. 59/1992 art. 11", M::SurplusShare(K::MutualFund);
    "surplus_patronage_refund", "19", "Surplus as patronage refunds", Ratio, "Σ patronage refund / Σ distributable surplus", "ICA principle 3; c.c. 2545-sexies; Law 1163 art. 37", M::SurplusShare(K::PatronageRefund);
    "surplus_capital_interest", "19", "Surplus as capital interest", Ratio, "Σ capital interest / Σ distributable surplus", "ICA principle 3; c.c. 2514; Law 1163 art. 37", M::SurplusShare(K::CapitalInterest);
    "surplus_worker_share", "19", "Surplus to workers", Ratio, "Σ worker share / Σ distributable surplus", "ICA principle 3", M::SurplusShare(K::WorkerShare);
    "surplus_education_fund", "19", "Surplus to education", Ratio, "Σ education fund / Σ distributable surplus", "ICA principle 5", M::SurplusShare(K::EducationFund);
    "surplus_community_fund", "19", "Surplus to the community", Ratio, "Σ community fund / Σ distributable surplus", "ICA principle 7", M::SurplusShare(K::CommunityFund);
    "surplus_loss_coverage", "19", "Surplus covering losses", Ratio, "Σ loss coverage / Σ distributable surplus", "ICA principle 3", M::SurplusShare(K::LossCoverage);
    "surplus_other", "19", "Surplus to other uses", Ratio, "Σ other / Σ distributable surplus", "ICA principle 3", M::SurplusShare(K::Other);
    "surplus_legal_compliance", "20", "Legal-minimum compliance of allocations", Ratio, "allocations of fiscal year y without a legal finding / allocations", "national law (events.md)", M::LegalMinimumCompliance;
    "asset_lock", "21", "Asset lock", Ratio, "Σ indivisible reserves / Σ equity", "ICA principle 3; c.c. 2514; Loi ESS", M::AssetLock;
    "capital_per_member", "22", "Member capital per member", MoneyPerMember, "Σ share capital / Σ members", "ICA principle 3", M::CapitalPerMember;
    "capital_concentration_top10", "22", "Capital share of the top 10 % of members", Ratio, "member-weighted mean of (paid-in capital of the top ⌈10 %⌉ members / paid-in capital)", "ICA principle 3 (home node only)", M::CapitalConcentration;
    "mutual_prevalence_turnover", "23", "Mutual prevalence: turnover", Ratio, "Σ member turnover / Σ turnover", "c.c. 2513 a", M::MutualPrevalence(P::Turnover);
    "mutual_prevalence_labour", "23", "Mutual prevalence: labour", Ratio, "Σ member labour costs / Σ personnel costs", "c.c. 2513 b", M::MutualPrevalence(P::Labour);
    "mutual_prevalence_purchases", "23", "Mutual prevalence: purchases", Ratio, "Σ purchases from members / Σ purchases", "c.c. 2513 c", M::MutualPrevalence(P::Purchases);
    "affiliation_share", "24", "Share of entities with an active affiliation", Ratio, "active entities affiliated on 31 Dec y / active entities", "ICA principle 6", M::AffiliationShare;
    "social_economy_purchases", "24", "Purchases from the social economy", Ratio, "Σ purchases from social-economy entities / Σ purchases", "ICA principle 6", M::SocialEconomyPurchases;
    "commons_agreements_density", "24", "Commons agreements per 10,000 inhabitants", PerTenThousandInhabitants, "active commons agreements on 31 Dec y / population × 10,000", "ICA principle 7; the partner cities' programmes", M::CommonsDensity;
    "audit_compliance", "also", "Audit compliance", Ratio, "audited within the statutory cycle / subject to audit", "D.Lgs. 220/2002", M::AuditCompliance;
    "work_integration_ratio", "also", "Work-integration ratio of type-B social cooperatives", Ratio, "Σ disadvantaged workers / Σ workers", "L. 381/1991 art. 4", M::WorkIntegrationRatio;
    "work_integration_compliance", "also", "Type-B social cooperatives with at least 30 % disadvantaged workers", Ratio, "type-B cooperatives with disadvantaged / workers ≥ 30 % / type-B cooperatives", "L. 381/1991 art. 4", M::WorkIntegrationCompliance;
}

/// The indicator with this id.
pub fn indicator(id: &str) -> Option<&'static Indicator> {
    CATALOGUE.iter().find(|i| i.id == id)
}
