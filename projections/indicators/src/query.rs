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

/// The running sums of one group.
#[derive(Clone, Debug, Default)]
struct Acc {
    orgs: u32,
    missing: u32,
    persons: u64,
    num: i64,
    den: i64,
    num2: i64,
    den2: i64,
    dnum: Decimal,
    dden: Decimal,
    samples: Vec<(i64, i64)>,
    money: Vec<MoneyAcc>,
    /// For margins of per-area indicators: the areas (dictionary ids) they cover.
    areas: Vec<u32>,
}

impl Acc {
    #[inline]
    fn add(&mut self, c: Contrib, median: bool) {
        match c {
            Contrib::Skip => {}
            Contrib::Missing => self.missing += 1,
            Contrib::Int { num, den, persons } => {
                self.orgs += 1;
                self.persons += persons;
                self.num += num;
                self.den += den;
                if median {
                    self.samples.push((num, den));
                }
            }
            Contrib::Pair { num, den, num2, den2, persons } => {
                self.orgs += 1;
                self.persons += persons;
                self.num += num;
                self.den += den;
                self.num2 += num2;
                self.den2 += den2;
            }
            Contrib::Decimal { num, den, persons } => {
                self.orgs += 1;
                self.persons += persons;
                self.dnum += num;
                self.dden += den;
            }
            Contrib::Money { currency, num, den, persons } => {
                self.orgs += 1;
                self.persons += persons;
                match self.money.iter_mut().find(|m| m.currency == currency) {
                    Some(m) => {
                        m.orgs += 1;
                        m.persons += persons;
                        m.num += num;
                        m.den += den;
                    }
                    None => self.money.push(MoneyAcc { currency, orgs: 1, persons, num, den }),
                }
            }
        }
    }

    fn merge(&mut self, o: &Acc) {
        self.orgs += o.orgs;
        self.missing += o.missing;
        self.persons += o.persons;
        self.num += o.num;
        self.den += o.den;
        self.num2 += o.num2;
        self.den2 += o.den2;
        self.dnum += o.dnum;
        self.dden += o.dden;
        self.samples.extend_from_slice(&o.samples);
        for m in &o.money {
            match self.money.iter_mut().find(|x| x.currency == m.currency) {
                Some(x) => {
                    x.orgs += m.orgs;
                    x.persons += m.persons;
                    x.num += m.num;
                    x.den += m.den;
                }
                None => self.money.push(m.clone()),
            }
        }
        self.areas.extend_from_slice(&o.areas);
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
            persons: self.indicator.describes_persons().then_some(acc.persons),
            suppressed: None,
            currency: None,
            basis: None,
            note: None,
        }
    }

    /// The cells of a group: one, or one per currency for nominal money. `area` is the
    /// reference figure of the group's area(s) for per-area indicators (`None` if missing).
    fn cells(&mut self, acc: &mut Acc, area: Option<Result<u64, String>>) -> Result<Vec<(Option<Currency>, Cell)>> {
        let mut cell = self.base_cell(acc);
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
            Aggregate::Median => cell.value = median(&mut acc.samples),
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
                cell.numerator = Some(acc.dnum.round_dp(DECIMALS));
                cell.denominator = Some(acc.dden);
                cell.value = div(acc.dnum, acc.dden);
            }
            Aggregate::Money | Aggregate::MoneyRatio | Aggregate::MoneyPerCount => return self.money_cells(acc, cell),
        }
        Ok(vec![(None, cell)])
    }

    fn money_cells(&mut self, acc: &mut Acc, template: Cell) -> Result<Vec<(Option<Currency>, Cell)>> {
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
                let persons = self.indicator.describes_persons();
                let mut out = Vec::new();
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
                Ok(out)
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
                Ok(vec![(Some(to), cell)])
            }
        }
    }
}

fn area_of(dim: Dimension, v: &crate::cube::DimValue) -> Area {
    let scheme = match dim {
        Dimension::City => AreaScheme::Lau,
        Dimension::Nuts3 => AreaScheme::Nuts,
        _ => AreaScheme::Country,
    };
    Area { scheme, code: v.code.to_string(), version: v.version.as_deref().unwrap_or_default().to_owned() }
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
    ) -> Vec<([u32; 4], Acc)> {
        let measure = indicator.measure;
        let median = measure.aggregate() == Aggregate::Median;
        let mut accs: Vec<([u32; 4], Acc)> = Vec::new();
        let dense = space <= DENSE_LIMIT;
        let mut slots: Vec<u32> = if dense { vec![u32::MAX; space as usize] } else { Vec::new() };
        let mut sparse: HashMap<u128, u32> = HashMap::new();
        'rows: for i in 0..s.len() {
            for (c, mask) in masks {
                if !mask[s.dims[*c][i] as usize] {
                    continue 'rows;
                }
            }
            let contrib = measure.contribute(s, i, self);
            if matches!(contrib, Contrib::Skip) {
                continue;
            }
            let mut key: u128 = 0;
            for (k, c) in key_cols.iter().enumerate() {
                key = key * cards[k] + u128::from(s.dims[*c][i]);
            }
            let slot = if dense { &mut slots[key as usize] } else { sparse.entry(key).or_insert(u32::MAX) };
            if *slot == u32::MAX {
                *slot = accs.len() as u32;
                let mut ids = [0u32; 4];
                for (k, c) in key_cols.iter().enumerate() {
                    ids[k] = s.dims[*c][i];
                }
                accs.push((ids, Acc::default()));
            }
            accs[*slot as usize].1.add(contrib, median);
        }
        accs
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        indicator: &'static Indicator,
        query: &Query,
        reference: &ReferenceData,
        year: i32,
        mut groups: Vec<([u32; 4], Acc)>,
        area_pos: Option<usize>,
        area_figure: Option<AreaFigure>,
        rows: &mut Vec<Row>,
        relations: &mut Vec<Relation>,
    ) -> Result<()> {
        let mut fin = Finisher {
            indicator,
            aggregate: indicator.measure.aggregate(),
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
        let figure_of = |id: u32| -> Result<u64, String> {
            let (Some(pos), Some(fig)) = (area_pos, area_figure) else { return Err(String::new()) };
            let dim = query.group_by[pos];
            let area = area_of(dim, &self.dicts[dim.column()].values[id as usize]);
            let (table, what) = match fig {
                AreaFigure::Population => (&reference.population, "population"),
                AreaFigure::Employment => (&reference.employment, "employment"),
            };
            table.get(&area, year).ok_or_else(|| format!("no {what} of {area} for {year} in the reference data"))
        };
        // Sort the groups by their values' ranks (no text compared, no group moved).
        let ranks: Vec<&[u32]> = query.group_by.iter().map(|d| self.dicts[d.column()].rank.as_slice()).collect();
        let n = query.group_by.len();
        let mut order: Vec<(u128, usize)> = groups
            .iter()
            .enumerate()
            .map(|(g, (key, _))| {
                let rank =
                    key[..n].iter().zip(&ranks).fold(0u128, |acc, (id, r)| (acc << 32) | u128::from(r[*id as usize]));
                (rank, g)
            })
            .collect();
        order.sort_unstable();
        rows.reserve(groups.len() + 1);

        // Where each row goes in the additive relations of the table: cells by (first value,
        // currency), subtotals by currency.
        let nested = n >= 2;
        let mut cells_of_total: HashMap<Option<Currency>, Vec<usize>> = HashMap::new();
        let mut cells_of_subtotal: HashMap<(u32, Option<Currency>), Vec<usize>> = HashMap::new();
        let mut subtotals_of_total: HashMap<Option<Currency>, Vec<usize>> = HashMap::new();
        let mut subtotal_rows: HashMap<(u32, Option<Currency>), usize> = HashMap::new();
        let mut total = Acc::default();
        let mut subtotals: Vec<(u32, Acc)> = Vec::new();
        let mut subtotal_of: HashMap<u32, usize> = HashMap::new();
        for (_, g) in order {
            let (key, acc) = &mut groups[g];
            let area = match (area_pos, area_figure) {
                (Some(p), Some(_)) => Some((key[p], figure_of(key[p]))),
                _ => None,
            };
            let sub = if nested {
                let next = subtotals.len();
                let i = *subtotal_of.entry(key[0]).or_insert(next);
                if i == next {
                    subtotals.push((key[0], Acc::default()));
                }
                Some(i)
            } else {
                None
            };
            // Margins of per-area figures cover only the areas with a figure.
            match &area {
                Some((_, Err(_))) => {
                    let part = Acc { missing: acc.missing + acc.orgs, ..Acc::default() };
                    total.merge(&part);
                    if let Some(i) = sub {
                        subtotals[i].1.merge(&part);
                    }
                }
                _ => {
                    total.merge(acc);
                    if let Some(i) = sub {
                        subtotals[i].1.merge(acc);
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
            for (currency, cell) in fin.cells(acc, area.map(|(_, f)| f))? {
                cells_of_total.entry(currency).or_default().push(rows.len());
                if nested {
                    cells_of_subtotal.entry((key[0], currency)).or_default().push(rows.len());
                }
                let key = key[..n].iter().enumerate().map(|(p, id)| value(p, *id)).collect();
                rows.push(Row { kind: RowKind::Cell, year, key, currency, cell });
            }
        }
        let margin_figure = |acc: &mut Acc| -> Option<Result<u64, String>> {
            area_figure?;
            acc.areas.sort_unstable();
            acc.areas.dedup();
            let sum: u64 = acc.areas.iter().filter_map(|id| figure_of(*id).ok()).sum();
            Some(Ok(sum))
        };
        for (first, mut acc) in subtotals {
            let fig = margin_figure(&mut acc);
            for (currency, cell) in fin.cells(&mut acc, fig)? {
                subtotals_of_total.entry(currency).or_default().push(rows.len());
                subtotal_rows.insert((first, currency), rows.len());
                rows.push(Row { kind: RowKind::Subtotal, year, key: vec![value(0, first)], currency, cell });
            }
        }
        if groups.is_empty() {
            return Ok(());
        }
        let fig = margin_figure(&mut total);
        for (currency, cell) in fin.cells(&mut total, fig)? {
            let at = rows.len();
            rows.push(Row { kind: RowKind::Total, year, key: Vec::new(), currency, cell });
            if let Some(members) = cells_of_total.remove(&currency) {
                relations.push(Relation { members, total: at });
            }
            if let Some(members) = subtotals_of_total.remove(&currency) {
                relations.push(Relation { members, total: at });
            }
        }
        for (key, members) in cells_of_subtotal {
            if let Some(&sub) = subtotal_rows.get(&key) {
                relations.push(Relation { members, total: sub });
            }
        }
        Ok(())
    }
}
