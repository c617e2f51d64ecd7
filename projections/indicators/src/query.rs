//! Queries: an indicator, filters and groups by dimension, one year or a series, money nominal or
//! converted; answered with a [`Table`] of cells and their margins, under the publication rules.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use imece_domain::Currency;
use rust_decimal::Decimal;

use crate::catalogue::{Aggregate, AreaFigure, Contrib, Indicator, indicator};
use crate::cube::{Cube, NDIMS, YearSlice, end_of};
use crate::disclosure::{Disclosure, Relation, protect};
use crate::error::{Error, Result};
use crate::reference::{Area, AreaScheme, RateUsed, ReferenceData};

/// The level of NACE a sector is grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NaceLevel {
    /// A section letter (`Q`).
    Section,
    /// A two-digit division (`88`).
    Division,
}

/// What figures are sliced by. The year is not a dimension: every row carries its year, and
/// [`Query::years`] chooses them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    /// The municipality of the seat (LAU, with the list's year).
    City,
    /// The NUTS 3 region of the seat (with the edition's year).
    Nuts3,
    /// The country of the seat.
    Country,
    /// The primary NACE activity at a level (with the NACE version).
    Sector(NaceLevel),
    /// The national legal form.
    LegalForm,
    /// The social-economy family.
    Family,
    /// The ICLS cooperative type (`none` for other families).
    CooperativeType,
}

impl Dimension {
    /// Every dimension.
    pub const ALL: [Dimension; NDIMS] = [
        Dimension::City,
        Dimension::Nuts3,
        Dimension::Country,
        Dimension::Sector(NaceLevel::Section),
        Dimension::Sector(NaceLevel::Division),
        Dimension::LegalForm,
        Dimension::Family,
        Dimension::CooperativeType,
    ];

    /// Its name in queries.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::City => "city",
            Dimension::Nuts3 => "nuts3",
            Dimension::Country => "country",
            Dimension::Sector(NaceLevel::Section) => "sector_section",
            Dimension::Sector(NaceLevel::Division) => "sector_division",
            Dimension::LegalForm => "legal_form",
            Dimension::Family => "family",
            Dimension::CooperativeType => "cooperative_type",
        }
    }

    pub(crate) fn column(self) -> usize {
        match self {
            Dimension::City => 0,
            Dimension::Nuts3 => 1,
            Dimension::Country => 2,
            Dimension::Sector(NaceLevel::Section) => 3,
            Dimension::Sector(NaceLevel::Division) => 4,
            Dimension::LegalForm => 5,
            Dimension::Family => 6,
            Dimension::CooperativeType => 7,
        }
    }

    /// How fine an area it is, for the dimensions that are areas.
    fn area_rank(self) -> Option<u8> {
        match self {
            Dimension::City => Some(3),
            Dimension::Nuts3 => Some(2),
            Dimension::Country => Some(1),
            _ => None,
        }
    }

    /// Dimensions by name, as an API passes them: [`Error::InvalidQuery`] on `group_by[i]` for a
    /// name that is not one.
    pub fn parse_list(names: &[&str]) -> Result<Vec<Dimension>> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| n.parse().map_err(|_| Error::invalid(format!("group_by[{i}]"), unknown_dimension(n))))
            .collect()
    }
}

fn unknown_dimension(name: &str) -> String {
    let names: Vec<&str> = Dimension::ALL.iter().map(|d| d.name()).collect();
    format!("unknown dimension {name:?}; one of {}", names.join(", "))
}

impl FromStr for Dimension {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Dimension::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| Error::invalid("dimension", unknown_dimension(s)))
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One year, or a series of consecutive years.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Years {
    One(i32),
    /// From `from` to `to`, both included.
    Range {
        from: i32,
        to: i32,
    },
}

/// How money figures are given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoneyBasis {
    /// In each organisation's own currency, one row per currency.
    Nominal,
    /// Converted into `to` at the reference rate of the year's last day (see
    /// [`crate::ExchangeRates::rate`]).
    Converted { to: Currency },
}

/// A question to the indicators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// The indicator's id in the [`crate::CATALOGUE`].
    pub indicator: String,
    /// Only rows whose dimension takes one of the given codes (any version).
    pub filters: BTreeMap<Dimension, Vec<String>>,
    pub group_by: Vec<Dimension>,
    pub years: Years,
    pub money: MoneyBasis,
}

impl Query {
    /// The indicator over everything in `year`, nominal.
    pub fn new(indicator: &str, year: i32) -> Self {
        Query {
            indicator: indicator.to_owned(),
            filters: BTreeMap::new(),
            group_by: Vec::new(),
            years: Years::One(year),
            money: MoneyBasis::Nominal,
        }
    }

    /// Grouped by `dims`.
    pub fn group_by(mut self, dims: &[Dimension]) -> Self {
        self.group_by = dims.to_vec();
        self
    }

    /// Filtered to `codes` of `dim`.
    pub fn filter(mut self, dim: Dimension, codes: &[&str]) -> Self {
        self.filters.insert(dim, codes.iter().map(|c| (*c).to_owned()).collect());
        self
    }

    /// A series from `from` to `to`.
    pub fn years(mut self, from: i32, to: i32) -> Self {
        self.years = Years::Range { from, to };
        self
    }

    /// Money converted into `to`.
    pub fn converted(mut self, to: Currency) -> Self {
        self.money = MoneyBasis::Converted { to };
        self
    }
}

/// The value a row takes in one of the query's dimensions.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupValue {
    pub dimension: Dimension,
    pub code: Arc<str>,
    /// The version of the classification, for codes that have one.
    pub version: Option<Arc<str>>,
}

/// Which part of a table a row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RowKind {
    /// A cell of the groups asked for.
    Cell,
    /// The margin over one value of the first dimension (only when grouping by two or more).
    Subtotal,
    /// The margin over every group of the year.
    Total,
}

/// Why a cell is not published.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Suppression {
    /// It describes fewer persons than the threshold.
    TooFewPersons,
    /// It rests on fewer organisations than the threshold.
    TooFewOrganisations,
    /// It could be recovered from a margin and the published cells.
    Complementary,
}

/// How a money figure is expressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Basis {
    /// In its own currency.
    Nominal,
    /// Converted into `to`, with each rate used.
    Converted { to: Currency, rates: Vec<RateUsed> },
}

/// One figure with what it rests on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    /// `None` when suppressed, or when there is nothing to divide by.
    pub value: Option<Decimal>,
    pub numerator: Option<Decimal>,
    pub denominator: Option<Decimal>,
    /// How many organisations it rests on (hidden when suppressed).
    pub organisations: Option<u32>,
    /// How many organisations in scope were left out because data was missing.
    pub excluded_missing: u32,
    /// How many persons it describes, for indicators about persons (hidden when suppressed).
    pub persons: Option<u64>,
    pub suppressed: Option<Suppression>,
    /// The currency of a money figure.
    pub currency: Option<Currency>,
    /// Nominal or converted, for a money figure.
    pub basis: Option<Basis>,
    /// Why a value is missing, where it is not suppressed (no reference figure for the area).
    pub note: Option<String>,
}

/// One row: the group, the year, the currency of a nominal money figure, and the cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub kind: RowKind,
    pub year: i32,
    /// The group's values, in the order of `group_by` (only the first for a subtotal, none for a
    /// total).
    pub key: Vec<GroupValue>,
    pub currency: Option<Currency>,
    pub cell: Cell,
}

/// The answer to a query.
#[derive(Debug)]
pub struct Table {
    pub indicator: &'static Indicator,
    pub group_by: Vec<Dimension>,
    pub money: MoneyBasis,
    /// Per year: the cells, the subtotals, then the totals.
    pub rows: Vec<Row>,
}

impl Table {
    /// The row of `year` whose key codes are `codes` (in group-by order) and of `kind`.
    pub fn row(&self, kind: RowKind, year: i32, codes: &[&str]) -> Option<&Row> {
        self.rows.iter().find(|r| {
            r.kind == kind
                && r.year == year
                && r.key.len() == codes.len()
                && r.key.iter().zip(codes).all(|(g, c)| &*g.code == *c)
        })
    }

    /// The cell of `year` whose key codes are `codes`.
    pub fn cell(&self, year: i32, codes: &[&str]) -> Option<&Cell> {
        self.row(RowKind::Cell, year, codes).map(|r| &r.cell)
    }

    /// The total of `year` (the first, for nominal money split by currency).
    pub fn total(&self, year: i32) -> Option<&Cell> {
        self.row(RowKind::Total, year, &[]).map(|r| &r.cell)
    }
}

/// The running sums of one currency within a group.
#[derive(Clone, Debug)]
struct MoneyAcc {
    currency: Currency,
    orgs: u32,
    persons: u64,
    num: Decimal,
    den: Decimal,
}

impl MoneyAcc {
    fn merge(list: &mut Vec<MoneyAcc>, m: &MoneyAcc) {
        match list.iter_mut().find(|x| x.currency == m.currency) {
            Some(x) => {
                x.orgs += m.orgs;
                x.persons += m.persons;
                x.num += m.num;
                x.den += m.den;
            }
            None => list.push(m.clone()),
        }
    }
}

/// The integer running sums of one group: fixed size, so that the groups of a scan are one flat
/// vector without a heap allocation each.
#[derive(Clone, Copy, Debug, Default)]
struct Acc {
    orgs: u32,
    missing: u32,
    persons: u64,
    num: i64,
    den: i64,
    num2: i64,
    den2: i64,
}

impl Acc {
    #[inline]
    fn merge(&mut self, o: &Acc) {
        self.orgs += o.orgs;
        self.missing += o.missing;
        self.persons += o.persons;
        self.num += o.num;
        self.den += o.den;
        self.num2 += o.num2;
        self.den2 += o.den2;
    }
}

/// Everything a group or a margin sums, as its cells are finished from it: the integer sums,
/// and by aggregate decimals, the samples of a median, money by currency and, for margins of
/// per-area indicators, the areas (dictionary ids) they cover.
#[derive(Clone, Debug, Default)]
struct Sums {
    acc: Acc,
    dnum: Decimal,
    dden: Decimal,
    samples: Vec<(i64, i64)>,
    money: Vec<MoneyAcc>,
    areas: Vec<u32>,
}

impl Sums {
    fn merge(&mut self, o: &Sums) {
        self.acc.merge(&o.acc);
        self.dnum += o.dnum;
        self.dden += o.dden;
        self.samples.extend_from_slice(&o.samples);
        for m in &o.money {
            MoneyAcc::merge(&mut self.money, m);
        }
        self.areas.extend_from_slice(&o.areas);
    }
}

/// No group, no entry.
const NONE: u32 = u32::MAX;

/// The groups of one year's scan, column by column: entry `g` of each vector is group `g`.
#[derive(Debug, Default)]
struct Groups {
    /// The dictionary ids of each group's values, in group-by order.
    keys: Vec<[u32; 4]>,
    accs: Vec<Acc>,
    /// Decimal numerator and denominator.
    dec: Vec<(Decimal, Decimal)>,
    /// The (numerator, denominator) of each organisation, for medians only.
    samples: Vec<Vec<(i64, i64)>>,
    /// The first of the group's currencies in `money`, or [`NONE`].
    money_first: Vec<u32>,
    /// Sums by currency, each with the next currency of its group (or [`NONE`]).
    money: Vec<(MoneyAcc, u32)>,
    /// With one dimension: the group of each dictionary id (or [`NONE`]).
    by_id: Vec<u32>,
}

impl Groups {
    fn len(&self) -> usize {
        self.keys.len()
    }

    fn push(&mut self, key: [u32; 4], median: bool) -> u32 {
        let g = self.keys.len() as u32;
        self.keys.push(key);
        self.accs.push(Acc::default());
        self.dec.push((Decimal::ZERO, Decimal::ZERO));
        if median {
            self.samples.push(Vec::new());
        }
        self.money_first.push(NONE);
        g
    }

    #[inline]
    fn add(&mut self, g: usize, c: Contrib, median: bool) {
        let a = &mut self.accs[g];
        match c {
            Contrib::Skip => {}
            Contrib::Missing => a.missing += 1,
            Contrib::Int { num, den, persons } => {
                a.orgs += 1;
                a.persons += persons;
                a.num += num;
                a.den += den;
                if median {
                    self.samples[g].push((num, den));
                }
            }
            Contrib::Pair { num, den, num2, den2, persons } => {
                a.orgs += 1;
                a.persons += persons;
                a.num += num;
                a.den += den;
                a.num2 += num2;
                a.den2 += den2;
            }
            Contrib::Decimal { num, den, persons } => {
                a.orgs += 1;
                a.persons += persons;
                let d = &mut self.dec[g];
                d.0 += num;
                d.1 += den;
            }
            Contrib::Money { currency, num, den, persons } => {
                a.orgs += 1;
                a.persons += persons;
                let mut at = self.money_first[g];
                let mut last = NONE;
                while at != NONE {
                    let (m, next) = &mut self.money[at as usize];
                    if m.currency == currency {
                        m.orgs += 1;
                        m.persons += persons;
                        m.num += num;
                        m.den += den;
                        return;
                    }
                    last = at;
                    at = *next;
                }
                let new = self.money.len() as u32;
                self.money.push((MoneyAcc { currency, orgs: 1, persons, num, den }, NONE));
                if last == NONE {
                    self.money_first[g] = new;
                } else {
                    self.money[last as usize].1 = new;
                }
            }
        }
    }

    /// Group `g`'s sums into `out` (whose vectors are reused).
    fn load(&self, g: usize, median: bool, out: &mut Sums) {
        out.acc = self.accs[g];
        (out.dnum, out.dden) = self.dec[g];
        out.samples.clear();
        if median {
            out.samples.extend_from_slice(&self.samples[g]);
        }
        out.money.clear();
        let mut at = self.money_first[g];
        while at != NONE {
            let (m, next) = &self.money[at as usize];
            out.money.push(m.clone());
            at = *next;
        }
        out.areas.clear();
    }
}

/// Decimal places of a computed (divided) value.
const DECIMALS: u32 = 6;

fn div(num: Decimal, den: Decimal) -> Option<Decimal> {
    if den.is_zero() { None } else { num.checked_div(den).map(|v| v.round_dp(DECIMALS)) }
}

/// The median of the ratios `num / den`, compared exactly by cross-multiplication.
fn median(samples: &mut [(i64, i64)]) -> Option<Decimal> {
    samples.sort_by(|a, b| (i128::from(a.0) * i128::from(b.1)).cmp(&(i128::from(b.0) * i128::from(a.1))));
    let n = samples.len();
    let ratio = |(n, d): (i64, i64)| div(Decimal::from(n), Decimal::from(d));
    match n {
        0 => None,
        _ if n % 2 == 1 => ratio(samples[n / 2]),
        _ => Some(((ratio(samples[n / 2 - 1])? + ratio(samples[n / 2])?) / Decimal::TWO).round_dp(DECIMALS)),
    }
}

/// The context of finishing cells.
struct Finisher<'a> {
    indicator: &'static Indicator,
    aggregate: Aggregate,
    /// Whether the indicator describes persons.
    persons: bool,
    money: MoneyBasis,
    reference: &'a ReferenceData,
    year: i32,
    /// Rates already looked up this year, by source currency.
    rates: HashMap<Currency, RateUsed>,
}

impl Finisher<'_> {
    fn rate(&mut self, from: Currency, to: Currency) -> Result<RateUsed> {
        if let Some(r) = self.rates.get(&from) {
            return Ok(r.clone());
        }
        let r = if from == to {
            RateUsed {
                from,
                to,
                rate: Decimal::ONE,
                date: end_of(self.year),
                source: "same currency".into(),
                inverted: false,
            }
        } else {
            self.reference.rates.rate(from, to, end_of(self.year))?
        };
        self.rates.insert(from, r.clone());
        Ok(r)
    }

    fn base_cell(&self, acc: &Acc) -> Cell {
        Cell {
            value: None,
            numerator: None,
            denominator: None,
            organisations: Some(acc.orgs),
            excluded_missing: acc.missing,
            persons: self.persons.then_some(acc.persons),
            suppressed: None,
            currency: None,
            basis: None,
            note: None,
        }
    }

    /// The cells of a group: one, or one per currency for nominal money. `area` is the
    /// reference figure of the group's area(s) for per-area indicators (`None` if missing).
    fn cells(
        &mut self,
        sums: &mut Sums,
        area: Option<Result<u64, String>>,
        out: &mut Vec<(Option<Currency>, Cell)>,
    ) -> Result<()> {
        out.clear();
        let acc = sums.acc;
        let mut cell = self.base_cell(&acc);
        let d = Decimal::from;
        match self.aggregate {
            Aggregate::Sum => {
                cell.value = Some(d(acc.num));
                cell.numerator = Some(d(acc.num));
            }
            Aggregate::Hundredths => {
                let v = d(acc.num) / Decimal::ONE_HUNDRED;
                cell.value = Some(v);
                cell.numerator = Some(v);
            }
            Aggregate::Ratio => {
                cell.numerator = Some(d(acc.num));
                cell.denominator = Some(d(acc.den));
                cell.value = div(d(acc.num), d(acc.den));
            }
            Aggregate::Median => cell.value = median(&mut sums.samples),
            Aggregate::Gap => {
                if let (Some(a), Some(b)) = (div(d(acc.num), d(acc.den)), div(d(acc.num2), d(acc.den2))) {
                    cell.value = Some(a - b);
                }
            }
            Aggregate::PerArea { per, .. } => {
                cell.numerator = Some(d(acc.num));
                match area {
                    Some(Ok(figure)) => {
                        cell.denominator = Some(Decimal::from(figure));
                        cell.value = div(d(acc.num) * Decimal::from(per), Decimal::from(figure));
                    }
                    Some(Err(note)) => {
                        cell.numerator = None;
                        cell.excluded_missing += acc.orgs;
                        cell.organisations = Some(0);
                        cell.persons = cell.persons.map(|_| 0);
                        cell.note = Some(note);
                    }
                    None => {}
                }
            }
            Aggregate::DecimalRatio => {
                cell.numerator = Some(sums.dnum.round_dp(DECIMALS));
                cell.denominator = Some(sums.dden);
                cell.value = div(sums.dnum, sums.dden);
            }
            Aggregate::Money | Aggregate::MoneyRatio | Aggregate::MoneyPerCount => {
                return self.money_cells(sums, cell, out);
            }
        }
        out.push((None, cell));
        Ok(())
    }

    fn money_cells(&mut self, acc: &mut Sums, template: Cell, out: &mut Vec<(Option<Currency>, Cell)>) -> Result<()> {
        let finish = |cell: &mut Cell, num: Decimal, den: Decimal, aggregate: Aggregate| {
            cell.numerator = Some(num);
            match aggregate {
                Aggregate::Money => cell.value = Some(num),
                _ => {
                    cell.denominator = Some(den);
                    cell.value = div(num, den);
                }
            }
        };
        acc.money.sort_by_key(|m| m.currency);
        match self.money {
            MoneyBasis::Nominal => {
                let persons = self.persons;
                for m in &acc.money {
                    let mut cell = template.clone();
                    cell.organisations = Some(m.orgs);
                    cell.persons = persons.then_some(m.persons);
                    cell.currency = Some(m.currency);
                    cell.basis = Some(Basis::Nominal);
                    finish(&mut cell, m.num, m.den, self.aggregate);
                    out.push((Some(m.currency), cell));
                }
                if out.is_empty() {
                    // Only organisations with missing data: one row without a currency says so.
                    out.push((None, template));
                }
                Ok(())
            }
            MoneyBasis::Converted { to } => {
                let (mut num, mut den) = (Decimal::ZERO, Decimal::ZERO);
                let mut rates = Vec::new();
                for m in &acc.money {
                    let r = self.rate(m.currency, to)?;
                    let overflow = || Error::Overflow { what: format!("{} converted to {to}", self.indicator.id) };
                    num = num.checked_add(m.num.checked_mul(r.rate).ok_or_else(overflow)?).ok_or_else(overflow)?;
                    let den_part = if self.aggregate == Aggregate::MoneyRatio { m.den * r.rate } else { m.den };
                    den += den_part;
                    if m.currency != to {
                        rates.push(r);
                    }
                }
                let mut cell = template;
                cell.currency = Some(to);
                cell.basis = Some(Basis::Converted { to, rates });
                if !acc.money.is_empty() {
                    let aggregate = self.aggregate;
                    finish(&mut cell, num, den, aggregate);
                    if aggregate == Aggregate::Money {
                        cell.value = cell.value.map(|v| v.round_dp(DECIMALS));
                        cell.numerator = cell.value;
                    }
                }
                out.push((Some(to), cell));
                Ok(())
            }
        }
    }
}

/// Sets `area` to the area of value `v` of `dim`, reusing its strings.
fn area_of(dim: Dimension, v: &crate::cube::DimValue, area: &mut Area) {
    area.scheme = match dim {
        Dimension::City => AreaScheme::Lau,
        Dimension::Nuts3 => AreaScheme::Nuts,
        _ => AreaScheme::Country,
    };
    area.code.clear();
    area.code.push_str(&v.code);
    area.version.clear();
    area.version.push_str(v.version.as_deref().unwrap_or_default());
}

/// The largest key space for which groups are found by direct indexing.
const DENSE_LIMIT: u128 = 1 << 20;

impl Cube {
    /// Answers `query` with the publication rules of `disclosure` applied, using `reference` for
    /// population, employment and exchange rates.
    pub fn query(&self, query: &Query, reference: &ReferenceData, disclosure: &Disclosure) -> Result<Table> {
        let indicator = indicator(&query.indicator).ok_or_else(|| {
            Error::invalid("indicator", format!("unknown indicator {:?}; see the catalogue", query.indicator))
        })?;
        if query.group_by.len() > 4 {
            return Err(Error::invalid("group_by", "at most 4 dimensions"));
        }
        for (i, d) in query.group_by.iter().enumerate() {
            if query.group_by[..i].contains(d) {
                return Err(Error::invalid(format!("group_by[{i}]"), format!("repeats dimension {d}")));
            }
        }
        let (from, to) = match query.years {
            Years::One(y) => (y, y),
            Years::Range { from, to } => (from, to),
        };
        if from > to {
            return Err(Error::invalid("years", format!("from ({from}) must not be after to ({to})")));
        }
        if to - from >= 100 {
            return Err(Error::invalid("years", "a series spans at most 100 years"));
        }
        for (dim, codes) in &query.filters {
            if codes.is_empty() {
                return Err(Error::invalid(format!("filters.{dim}"), "must allow at least one value"));
            }
        }
        if matches!(query.money, MoneyBasis::Converted { .. }) && !indicator.is_money() {
            return Err(Error::invalid("money", format!("{} is not money: ask for nominal", indicator.id)));
        }
        let area_pos =
            query.group_by.iter().enumerate().filter_map(|(i, d)| d.area_rank().map(|r| (r, i))).max().map(|(_, i)| i);
        let area_figure = indicator.area_figure();
        if area_figure.is_some() && area_pos.is_none() {
            return Err(Error::invalid(
                "group_by",
                format!("must include city, nuts3 or country: {} divides by a figure of the area", indicator.id),
            ));
        }

        // Filters as masks over each dimension's values.
        let masks: Vec<(usize, Vec<bool>)> = query
            .filters
            .iter()
            .map(|(dim, codes)| {
                let dict = &self.dicts[dim.column()];
                (dim.column(), dict.values.iter().map(|v| codes.iter().any(|c| **c == *v.code)).collect())
            })
            .collect();
        let key_cols: Vec<usize> = query.group_by.iter().map(|d| d.column()).collect();
        let cards: Vec<u128> = key_cols.iter().map(|c| self.dicts[*c].values.len().max(1) as u128).collect();
        let space: u128 = cards.iter().product();

        let mut rows = Vec::new();
        let mut relations = Vec::new();
        for year in from..=to {
            let Some(slice) = self.slice(year) else { continue };
            let groups = self.scan(indicator, slice, &masks, &key_cols, &cards, space);
            self.finish(indicator, query, reference, year, groups, area_pos, area_figure, &mut rows, &mut relations)?;
        }
        protect(&mut rows, &relations, disclosure, indicator.describes_persons());
        Ok(Table { indicator, group_by: query.group_by.clone(), money: query.money, rows })
    }

    /// The groups of one year: each with its key (dictionary ids in group-by order) and sums.
    fn scan(
        &self,
        indicator: &Indicator,
        s: &YearSlice,
        masks: &[(usize, Vec<bool>)],
        key_cols: &[usize],
        cards: &[u128],
        space: u128,
    ) -> Groups {
        let measure = indicator.measure;
        let median = measure.aggregate() == Aggregate::Median;
        let mut groups = Groups::default();
        let masks: Vec<(&[u32], &[bool])> = masks.iter().map(|(c, m)| (s.dims[*c].as_slice(), m.as_slice())).collect();
        let keys: Vec<&[u32]> = key_cols.iter().map(|c| s.dims[*c].as_slice()).collect();
        let dense = space <= DENSE_LIMIT;
        let mut slots: Vec<u32> = if dense { vec![NONE; space as usize] } else { Vec::new() };
        let mut sparse: HashMap<u128, u32> = HashMap::new();
        'rows: for i in 0..s.len() {
            for (column, mask) in &masks {
                if !mask[column[i] as usize] {
                    continue 'rows;
                }
            }
            let contrib = measure.contribute(s, i, self);
            if matches!(contrib, Contrib::Skip) {
                continue;
            }
            let slot = match keys.as_slice() {
                [] => &mut slots[0],
                [one] if dense => &mut slots[one[i] as usize],
                _ => {
                    let mut key: u128 = 0;
                    for (k, column) in keys.iter().enumerate() {
                        key = key * cards[k] + u128::from(column[i]);
                    }
                    if dense { &mut slots[key as usize] } else { sparse.entry(key).or_insert(NONE) }
                }
            };
            if *slot == NONE {
                let mut ids = [0u32; 4];
                for (k, column) in keys.iter().enumerate() {
                    ids[k] = column[i];
                }
                *slot = groups.push(ids, median);
            }
            groups.add(*slot as usize, contrib, median);
        }
        if keys.len() == 1 && dense {
            groups.by_id = slots;
        }
        groups
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        indicator: &'static Indicator,
        query: &Query,
        reference: &ReferenceData,
        year: i32,
        groups: Groups,
        area_pos: Option<usize>,
        area_figure: Option<AreaFigure>,
        rows: &mut Vec<Row>,
        relations: &mut Vec<Relation>,
    ) -> Result<()> {
        let aggregate = indicator.measure.aggregate();
        let median = aggregate == Aggregate::Median;
        let mut fin = Finisher {
            indicator,
            aggregate,
            persons: indicator.describes_persons(),
            money: query.money,
            reference,
            year,
            rates: HashMap::new(),
        };
        let value = |pos: usize, id: u32| {
            let dim = query.group_by[pos];
            let v = &self.dicts[dim.column()].values[id as usize];
            GroupValue { dimension: dim, code: v.code.clone(), version: v.version.clone() }
        };
        // The reference figure of an area (a dictionary id of the area dimension).
        let mut scratch = Area { scheme: AreaScheme::Country, code: String::new(), version: String::new() };
        let mut figure_of = |id: u32| -> Result<u64, String> {
            let (Some(pos), Some(fig)) = (area_pos, area_figure) else { return Err(String::new()) };
            let dim = query.group_by[pos];
            area_of(dim, &self.dicts[dim.column()].values[id as usize], &mut scratch);
            let (table, what) = match fig {
                AreaFigure::Population => (&reference.population, "population"),
                AreaFigure::Employment => (&reference.employment, "employment"),
            };
            table.get(&scratch, year).ok_or_else(|| format!("no {what} of {scratch} for {year} in the reference data"))
        };
        // The groups in the order of their values' ranks (no text compared, no group moved).
        let n = query.group_by.len();
        let order: Vec<u32> = match n {
            0 => (0..groups.len() as u32).collect(),
            1 if !groups.by_id.is_empty() => {
                let by_rank = &self.dicts[query.group_by[0].column()].by_rank;
                by_rank.iter().map(|id| groups.by_id[*id as usize]).filter(|g| *g != NONE).collect()
            }
            _ => {
                let ranks: Vec<&[u32]> =
                    query.group_by.iter().map(|d| self.dicts[d.column()].rank.as_slice()).collect();
                let mut order: Vec<(u128, u32)> = groups
                    .keys
                    .iter()
                    .enumerate()
                    .map(|(g, key)| {
                        let rank = key[..n]
                            .iter()
                            .zip(&ranks)
                            .fold(0u128, |acc, (id, r)| (acc << 32) | u128::from(r[*id as usize]));
                        (rank, g as u32)
                    })
                    .collect();
                order.sort_unstable();
                order.into_iter().map(|(_, g)| g).collect()
            }
        };
        rows.reserve(groups.len() + 1);

        // Where each row goes in the additive relations of the table: cells by currency (for
        // the total) and by subtotal and currency, subtotals by currency. Few currencies: found
        // by a linear search.
        fn members_of(list: &mut Vec<(Option<Currency>, Vec<usize>)>, currency: Option<Currency>) -> &mut Vec<usize> {
            let at = match list.iter().position(|(c, _)| *c == currency) {
                Some(at) => at,
                None => {
                    list.push((currency, Vec::new()));
                    list.len() - 1
                }
            };
            &mut list[at].1
        }
        let nested = n >= 2;
        let mut cells_of_total: Vec<(Option<Currency>, Vec<usize>)> = Vec::new();
        // Per subtotal: its value of the first dimension, its sums, and its cells by currency.
        #[allow(clippy::type_complexity)]
        let mut subtotals: Vec<(u32, Sums, Vec<(Option<Currency>, Vec<usize>)>)> = Vec::new();
        let mut total = Sums::default();
        let mut sums = Sums::default();
        let mut cells = Vec::new();
        for g in order {
            let g = g as usize;
            let key = groups.keys[g];
            groups.load(g, median, &mut sums);
            let area = match (area_pos, area_figure) {
                (Some(p), Some(_)) => Some((key[p], figure_of(key[p]))),
                _ => None,
            };
            // Groups come by rank, the first dimension's first: a subtotal's groups are together.
            let sub = if nested {
                if subtotals.last().is_none_or(|(first, _, _)| *first != key[0]) {
                    subtotals.push((key[0], Sums::default(), Vec::new()));
                }
                Some(subtotals.len() - 1)
            } else {
                None
            };
            // Margins of per-area figures cover only the areas with a figure.
            match &area {
                Some((_, Err(_))) => {
                    let part = Acc { missing: sums.acc.missing + sums.acc.orgs, ..Acc::default() };
                    total.acc.merge(&part);
                    if let Some(i) = sub {
                        subtotals[i].1.acc.merge(&part);
                    }
                }
                _ => {
                    total.merge(&sums);
                    if let Some(i) = sub {
                        subtotals[i].1.merge(&sums);
                    }
                    if let Some((id, _)) = area {
                        total.areas.push(id);
                        if let Some(i) = sub {
                            subtotals[i].1.areas.push(id);
                        }
                    }
                }
            }
            if n == 0 {
                // Without groups the table is its total.
                continue;
            }
            fin.cells(&mut sums, area.map(|(_, f)| f), &mut cells)?;
            for (currency, cell) in cells.drain(..) {
                members_of(&mut cells_of_total, currency).push(rows.len());
                if let Some(i) = sub {
                    members_of(&mut subtotals[i].2, currency).push(rows.len());
                }
                let key = key[..n].iter().enumerate().map(|(p, id)| value(p, *id)).collect();
                rows.push(Row { kind: RowKind::Cell, year, key, currency, cell });
            }
        }
        let mut margin_figure = |acc: &mut Sums| -> Option<Result<u64, String>> {
            area_figure?;
            acc.areas.sort_unstable();
            acc.areas.dedup();
            let sum: u64 = acc.areas.iter().filter_map(|id| figure_of(*id).ok()).sum();
            Some(Ok(sum))
        };
        let mut subtotals_of_total: Vec<(Option<Currency>, Vec<usize>)> = Vec::new();
        let mut subtotal_relations = Vec::new();
        for (first, mut acc, members) in subtotals {
            let fig = margin_figure(&mut acc);
            fin.cells(&mut acc, fig, &mut cells)?;
            let mut own: Vec<(Option<Currency>, usize)> = Vec::new();
            for (currency, cell) in cells.drain(..) {
                members_of(&mut subtotals_of_total, currency).push(rows.len());
                own.push((currency, rows.len()));
                rows.push(Row { kind: RowKind::Subtotal, year, key: vec![value(0, first)], currency, cell });
            }
            for (currency, members) in members {
                if let Some((_, sub)) = own.iter().find(|(c, _)| *c == currency) {
                    subtotal_relations.push(Relation { members, total: *sub });
                }
            }
        }
        if groups.len() == 0 {
            return Ok(());
        }
        let fig = margin_figure(&mut total);
        fin.cells(&mut total, fig, &mut cells)?;
        for (currency, cell) in cells.drain(..) {
            let at = rows.len();
            rows.push(Row { kind: RowKind::Total, year, key: Vec::new(), currency, cell });
            if let Some(i) = cells_of_total.iter().position(|(c, _)| *c == currency) {
                let (_, members) = cells_of_total.swap_remove(i);
                relations.push(Relation { members, total: at });
            }
            if let Some(i) = subtotals_of_total.iter().position(|(c, _)| *c == currency) {
                let (_, members) = subtotals_of_total.swap_remove(i);
                relations.push(Relation { members, total: at });
            }
        }
        relations.append(&mut subtotal_relations);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(currency: Currency, num: i64) -> Contrib {
        Contrib::Money { currency, num: Decimal::from(num), den: Decimal::ONE, persons: 1 }
    }

    #[test]
    fn each_group_keeps_its_own_sums_by_currency() {
        let mut groups = Groups::default();
        let (a, b) = (groups.push([0; 4], false) as usize, groups.push([1, 0, 0, 0], false) as usize);
        for (g, c) in [
            (a, money(Currency::EUR, 1)),
            (b, money(Currency::CHF, 10)),
            (a, money(Currency::CHF, 2)),
            (a, money(Currency::EUR, 3)),
            (b, Contrib::Missing),
            (a, money(Currency::USD, 4)),
            (b, money(Currency::CHF, 20)),
        ] {
            groups.add(g, c, false);
        }
        let mut sums = Sums::default();
        groups.load(a, false, &mut sums);
        let got: Vec<(Currency, u32, Decimal)> = sums.money.iter().map(|m| (m.currency, m.orgs, m.num)).collect();
        assert_eq!(
            got,
            [
                (Currency::EUR, 2, Decimal::from(4)),
                (Currency::CHF, 1, Decimal::from(2)),
                (Currency::USD, 1, Decimal::from(4))
            ]
        );
        assert_eq!((sums.acc.orgs, sums.acc.missing), (4, 0));
        groups.load(b, false, &mut sums);
        let got: Vec<(Currency, u32, Decimal)> = sums.money.iter().map(|m| (m.currency, m.orgs, m.num)).collect();
        assert_eq!(got, [(Currency::CHF, 2, Decimal::from(30))]);
        assert_eq!((sums.acc.orgs, sums.acc.missing), (2, 1));
    }

    #[test]
    fn medians_keep_each_groups_samples_in_scan_order() {
        let mut groups = Groups::default();
        let (a, b) = (groups.push([0; 4], true) as usize, groups.push([1, 0, 0, 0], true) as usize);
        for (g, num) in [(a, 1), (b, 2), (a, 3)] {
            groups.add(g, Contrib::Int { num, den: 4, persons: 0 }, true);
        }
        let mut sums = Sums::default();
        groups.load(a, true, &mut sums);
        assert_eq!(sums.samples, [(1, 4), (3, 4)]);
        groups.load(b, true, &mut sums);
        assert_eq!(sums.samples, [(2, 4)]);
    }
}
