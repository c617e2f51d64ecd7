//! [`Cube`]: the figures of every organisation for every year it existed, laid out by year and
//! by column, so that a query reads a few compact vectors of at most one entry per organisation.
//!
//! A year `y` means two things (see the crate docs): a stock is taken on 31 December of `y`
//! (members, board, statute, affiliations, being active); a flow is everything dated in `y`
//! (admissions, exits, assemblies, elections), and for accounts and allocations the fiscal year
//! named `y` (the calendar year it ends in). The classification of an organisation for year `y`
//! is the one in force on 31 December of `y`, or on the day it closed if it closed in `y`.

use std::collections::HashMap;
use std::sync::Arc;

use imece_domain::{Date, ExitReason, Family, Sex, VotingRule};
use rust_decimal::Decimal;
use time::Month;

use crate::facts::{Accounts, Agreement, Allocation, Dims, ExitKind, Facts, OrgFacts, category_index};

/// Options of the derived figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CubeOptions {
    /// Members and board members younger than this on 31 December are "young" (indicator 16).
    /// Declared snapshots only know "under 30": with another threshold they count as missing.
    pub youth_age: u16,
}

impl Default for CubeOptions {
    fn default() -> Self {
        CubeOptions { youth_age: 30 }
    }
}

/// The value of a column that is not known.
pub(crate) const NA: u32 = u32::MAX;

/// Column numbers of the per-organisation-year counts.
pub(crate) mod col {
    pub const MEMBERS: usize = 0;
    pub const MEMBERS_START: usize = 1;
    pub const NATURAL: usize = 2;
    pub const LEGAL: usize = 3;
    pub const FEMALE: usize = 4;
    pub const MALE: usize = 5;
    pub const SEX_OTHER: usize = 6;
    pub const SEX_UNKNOWN: usize = 7;
    pub const AGE_UNDER_30: usize = 8;
    pub const AGE_30_64: usize = 9;
    pub const AGE_65: usize = 10;
    pub const AGE_UNKNOWN: usize = 11;
    pub const YOUNG: usize = 12;
    pub const AGE_KNOWN: usize = 13;
    /// Six columns, by member category.
    pub const CATEGORY: usize = 14;
    pub const JOINS: usize = 20;
    pub const EXITS: usize = 21;
    pub const EXPULSIONS: usize = 22;
    pub const ASSEMBLIES: usize = 23;
    pub const ASM_ELIGIBLE: usize = 24;
    pub const ASM_PRESENT: usize = 25;
    pub const ASM_PROXIES: usize = 26;
    pub const BOARD_SEATS: usize = 27;
    pub const BOARD_WOMEN: usize = 28;
    pub const BOARD_YOUNG: usize = 29;
    pub const BOARD_AGE_KNOWN: usize = 30;
    pub const ELECT_SEATS: usize = 31;
    pub const ELECT_CANDIDATES: usize = 32;
    pub const ELECT_RENEWAL_SEATS: usize = 33;
    pub const ELECT_NEW_HOLDERS: usize = 34;
    pub const EMPLOYEES: usize = 35;
    pub const FTE_HUNDREDTHS: usize = 36;
    pub const EMPLOYEES_WOMEN: usize = 37;
    pub const WORKERS: usize = 38;
    pub const WORKER_MEMBERS: usize = 39;
    pub const DISADVANTAGED: usize = 40;
    pub const AGREEMENTS: usize = 41;
    /// Index into [`super::Cube::accounts`].
    pub const ACCOUNTS: usize = 42;
    /// Index into [`super::Cube::allocations`].
    pub const ALLOCATION: usize = 43;
    /// Index into [`super::Cube::capital`].
    pub const CAPITAL: usize = 44;
    pub const N: usize = 45;
}

/// Bits of the per-organisation-year flags.
pub(crate) mod flag {
    pub const ACTIVE_END: u32 = 1;
    pub const ACTIVE_PREV: u32 = 1 << 1;
    pub const BORN: u32 = 1 << 2;
    pub const EXIT: u32 = 1 << 3;
    pub const EXIT_DISSOLVED: u32 = 1 << 4;
    pub const EXIT_LIQUIDATED: u32 = 1 << 5;
    pub const EXIT_MERGED: u32 = 1 << 6;
    pub const PERSON_LEVEL: u32 = 1 << 7;
    pub const COOPERATIVE: u32 = 1 << 8;
    pub const STATUTE_KNOWN: u32 = 1 << 9;
    pub const OMOV: u32 = 1 << 10;
    pub const AFFILIATED: u32 = 1 << 11;
    pub const AUDIT_SUBJECT: u32 = 1 << 12;
    pub const AUDITED: u32 = 1 << 13;
    pub const TYPE_B: u32 = 1 << 14;
    pub const SURVIVAL_3_KNOWN: u32 = 1 << 15;
    pub const SURVIVED_3: u32 = 1 << 16;
    pub const SURVIVAL_5_KNOWN: u32 = 1 << 17;
    pub const SURVIVED_5: u32 = 1 << 18;
    pub const ALLOCATION_COMPLIANT: u32 = 1 << 19;
}

/// Columns of the classification, in [`crate::Dimension::column`] order.
pub(crate) const NDIMS: usize = 8;

/// One value of a dimension: a code and, for classifications, its version. Shared, so that
/// answering a query copies no text.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct DimValue {
    pub code: Arc<str>,
    pub version: Option<Arc<str>>,
}

/// The values one dimension takes, numbered in the order they were met; `rank` is each one's
/// place in sorted order, so that rows sort without comparing text.
#[derive(Clone, Debug, Default)]
pub(crate) struct Dict {
    pub values: Vec<DimValue>,
    pub rank: Vec<u32>,
    /// The ids in sorted order (the inverse of `rank`).
    pub by_rank: Vec<u32>,
    index: HashMap<DimValue, u32>,
}

impl Dict {
    fn intern(&mut self, code: &str, version: Option<&str>) -> u32 {
        let v = DimValue { code: code.into(), version: version.map(Into::into) };
        if let Some(&i) = self.index.get(&v) {
            return i;
        }
        let i = self.values.len() as u32;
        self.values.push(v.clone());
        self.index.insert(v, i);
        i
    }

    fn rank(&mut self) {
        let mut order: Vec<u32> = (0..self.values.len() as u32).collect();
        order.sort_by(|a, b| self.values[*a as usize].cmp(&self.values[*b as usize]));
        self.rank = vec![0; order.len()];
        for (r, i) in order.iter().enumerate() {
            self.rank[*i as usize] = r as u32;
        }
        // The shared strings again, allocated one after the other in sorted order and each
        // version once: a query walks its groups in that order and copies a handle to each value
        // of each row, so those handles should sit together in memory rather than wherever
        // interning left them.
        let mut versions: Vec<Arc<str>> = Vec::new();
        let mut fresh: Vec<Option<DimValue>> = vec![None; self.values.len()];
        for &i in &order {
            let old = &self.values[i as usize];
            let version = old.version.as_ref().map(|v| match versions.iter().find(|s| ***s == **v) {
                Some(shared) => shared.clone(),
                None => {
                    let shared: Arc<str> = Arc::from(&**v);
                    versions.push(shared.clone());
                    shared
                }
            });
            fresh[i as usize] = Some(DimValue { code: Arc::from(&*old.code), version });
        }
        self.values = fresh.into_iter().map(|v| v.unwrap_or_else(|| unreachable!("every id has a rank"))).collect();
        self.index = self.values.iter().enumerate().map(|(i, v)| (v.clone(), i as u32)).collect();
        self.by_rank = order;
    }
}

/// The rows of one year, column by column: entry `i` of every vector is one organisation.
#[derive(Clone, Debug, Default)]
pub(crate) struct YearSlice {
    pub year: i32,
    pub dims: [Vec<u32>; NDIMS],
    pub flags: Vec<u32>,
    pub cols: Vec<Vec<u32>>,
}

impl YearSlice {
    pub(crate) fn len(&self) -> usize {
        self.flags.len()
    }

    #[inline]
    pub(crate) fn get(&self, c: usize, i: usize) -> u32 {
        self.cols[c][i]
    }

    #[inline]
    pub(crate) fn has(&self, f: u32, i: usize) -> bool {
        self.flags[i] & f != 0
    }
}

/// One organisation in one year, before the layout by column.
#[derive(Clone, Debug)]
struct OrgYear {
    year: i32,
    dims: [u32; NDIMS],
    flags: u32,
    cols: [u32; col::N],
}

/// Everything derived from one organisation; the indexes in its rows point into its own vectors.
#[derive(Clone, Debug, Default)]
struct OrgRows {
    rows: Vec<OrgYear>,
    accounts: Vec<Accounts>,
    allocations: Vec<Allocation>,
    capital: Vec<(Decimal, Decimal)>,
}

/// The derived figures of every organisation and year, ready for queries.
///
/// Build it from the [`Facts`] with [`Cube::build`]; after more events were applied, bring it up
/// to date with [`Cube::refresh`], which recomputes only the organisations that changed.
#[derive(Clone, Debug)]
pub struct Cube {
    options: CubeOptions,
    pub(crate) dicts: [Dict; NDIMS],
    pub(crate) years: Vec<YearSlice>,
    pub(crate) accounts: Vec<Accounts>,
    pub(crate) allocations: Vec<Allocation>,
    /// Paid-in capital of the top 10 % of members, and of all members.
    pub(crate) capital: Vec<(Decimal, Decimal)>,
    per_org: Vec<OrgRows>,
    built_position: u64,
    latest_year: Option<i32>,
}

pub(crate) fn end_of(year: i32) -> Date {
    Date::from_calendar_date(year, Month::December, 31).unwrap_or(Date::MAX)
}

impl Cube {
    /// The figures of every organisation the facts hold.
    pub fn build(facts: &Facts, options: CubeOptions) -> Cube {
        let mut cube = Cube {
            options,
            dicts: Default::default(),
            years: Vec::new(),
            accounts: Vec::new(),
            allocations: Vec::new(),
            capital: Vec::new(),
            per_org: Vec::new(),
            built_position: 0,
            latest_year: None,
        };
        cube.refresh_from(facts, true);
        cube
    }

    /// Recomputes the organisations changed since the cube was built or last refreshed (all of
    /// them if the observed period grew), and lays the columns out again.
    pub fn refresh(&mut self, facts: &Facts) {
        let all = facts.latest_year != self.latest_year;
        self.refresh_from(facts, all);
    }

    /// The options the cube was built with.
    pub fn options(&self) -> CubeOptions {
        self.options
    }

    /// The years the cube has rows for.
    pub fn years(&self) -> Option<(i32, i32)> {
        Some((self.years.first()?.year, self.years.last()?.year))
    }

    pub(crate) fn slice(&self, year: i32) -> Option<&YearSlice> {
        let first = self.years.first()?.year;
        let i = usize::try_from(year.checked_sub(first)?).ok()?;
        self.years.get(i)
    }

    fn refresh_from(&mut self, facts: &Facts, all: bool) {
        let mut agreements: HashMap<u32, Vec<&Agreement>> = HashMap::new();
        for a in facts.agreements.values() {
            agreements.entry(a.org).or_default().push(a);
        }
        self.per_org.resize_with(facts.orgs.len(), OrgRows::default);
        for (i, o) in facts.orgs.iter().enumerate() {
            if all || o.last_change >= self.built_position {
                let empty = Vec::new();
                let own = agreements.get(&(i as u32)).unwrap_or(&empty);
                self.per_org[i] = org_rows(facts, o, own, facts.latest_year, self.options, &mut self.dicts);
            }
        }
        self.built_position = facts.next_position;
        self.latest_year = facts.latest_year;
        for dict in &mut self.dicts {
            dict.rank();
        }
        self.layout();
    }

    fn layout(&mut self) {
        self.accounts.clear();
        self.allocations.clear();
        self.capital.clear();
        let (mut first, mut last) = (i32::MAX, i32::MIN);
        for r in self.per_org.iter().flat_map(|o| &o.rows) {
            first = first.min(r.year);
            last = last.max(r.year);
        }
        self.years.clear();
        if first > last {
            return;
        }
        let mut counts = vec![0usize; (last - first + 1) as usize];
        for r in self.per_org.iter().flat_map(|o| &o.rows) {
            counts[(r.year - first) as usize] += 1;
        }
        self.years = counts
            .iter()
            .enumerate()
            .map(|(k, &n)| YearSlice {
                year: first + k as i32,
                dims: std::array::from_fn(|_| Vec::with_capacity(n)),
                flags: Vec::with_capacity(n),
                cols: (0..col::N).map(|_| Vec::with_capacity(n)).collect(),
            })
            .collect();
        for o in &self.per_org {
            let (acc0, alloc0, cap0) =
                (self.accounts.len() as u32, self.allocations.len() as u32, self.capital.len() as u32);
            self.accounts.extend(o.accounts.iter().cloned());
            self.allocations.extend(o.allocations.iter().cloned());
            self.capital.extend(o.capital.iter().copied());
            for r in &o.rows {
                let s = &mut self.years[(r.year - first) as usize];
                for d in 0..NDIMS {
                    s.dims[d].push(r.dims[d]);
                }
                s.flags.push(r.flags);
                for c in 0..col::N {
                    let v = r.cols[c];
                    let v = match c {
                        col::ACCOUNTS if v != NA => v + acc0,
                        col::ALLOCATION if v != NA => v + alloc0,
                        col::CAPITAL if v != NA => v + cap0,
                        _ => v,
                    };
                    s.cols[c].push(v);
                }
            }
        }
    }
}

/// The NACE section of a division, in the given version of NACE.
pub(crate) fn nace_section(division: u8, version: &str) -> Option<char> {
    // NACE Rev. 2 (Regulation (EC) No 1893/2006), and Rev. 2.1 (Delegated Regulation (EU)
    // 2023/137), which splits information and communication and shifts the letters after it.
    let rev2: &[(u8, u8, char)] = &[
        (1, 3, 'A'),
        (5, 9, 'B'),
        (10, 33, 'C'),
        (35, 35, 'D'),
        (36, 39, 'E'),
        (41, 43, 'F'),
        (45, 47, 'G'),
        (49, 53, 'H'),
        (55, 56, 'I'),
        (58, 63, 'J'),
        (64, 66, 'K'),
        (68, 68, 'L'),
        (69, 75, 'M'),
        (77, 82, 'N'),
        (84, 84, 'O'),
        (85, 85, 'P'),
        (86, 88, 'Q'),
        (90, 93, 'R'),
        (94, 96, 'S'),
        (97, 98, 'T'),
        (99, 99, 'U'),
    ];
    let rev21: &[(u8, u8, char)] = &[
        (1, 3, 'A'),
        (5, 9, 'B'),
        (10, 33, 'C'),
        (35, 35, 'D'),
        (36, 39, 'E'),
        (41, 43, 'F'),
        (46, 47, 'G'),
        (49, 53, 'H'),
        (55, 56, 'I'),
        (58, 60, 'J'),
        (61, 63, 'K'),
        (64, 66, 'L'),
        (68, 68, 'M'),
        (69, 75, 'N'),
        (77, 82, 'O'),
        (84, 84, 'P'),
        (85, 85, 'Q'),
        (86, 88, 'R'),
        (90, 93, 'S'),
        (94, 96, 'T'),
        (97, 98, 'U'),
        (99, 99, 'V'),
    ];
    let table = match version {
        "2" => rev2,
        "2.1" => rev21,
        _ => return None,
    };
    table.iter().find(|(lo, hi, _)| (*lo..=*hi).contains(&division)).map(|(_, _, s)| *s)
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::Cooperative => "cooperative",
        Family::Mutual => "mutual",
        Family::Association => "association",
        Family::Foundation => "foundation",
        Family::SocialEnterprise => "social_enterprise",
        Family::Other => "other",
    }
}

fn cooperative_type_name(t: Option<imece_domain::CooperativeType>) -> &'static str {
    use imece_domain::CooperativeType as T;
    match t {
        Some(T::Producer) => "producer",
        Some(T::Worker) => "worker",
        Some(T::ConsumerUser) => "consumer_user",
        Some(T::MultiStakeholder) => "multi_stakeholder",
        None => "none",
    }
}

fn dims_at(history: &[(Date, Dims)], date: Date) -> Option<&Dims> {
    history.iter().rev().find(|(d, _)| *d <= date).or(history.first()).map(|(_, d)| d)
}

fn intern_dims(facts: &Facts, d: &Dims, dicts: &mut [Dict; NDIMS]) -> [u32; NDIMS] {
    let s = |i: u32| facts.string(i);
    let nace = s(d.nace.code);
    let nace_version = s(d.nace.version);
    let division: Option<u8> = nace.get(..2).and_then(|p| p.parse().ok());
    let section = match nace.as_bytes() {
        [letter] if letter.is_ascii_uppercase() => Some(char::from(*letter)),
        _ => division.and_then(|div| nace_section(div, nace_version)),
    };
    let mut section_buf = [0u8; 4];
    let section = section.map_or("unknown", |c| c.encode_utf8(&mut section_buf));
    let division = division.map(|d| format!("{d:02}"));
    [
        dicts[0].intern(s(d.lau.code), Some(s(d.lau.version))),
        dicts[1].intern(s(d.nuts3.code), Some(s(d.nuts3.version))),
        dicts[2].intern(s(d.country), None),
        dicts[3].intern(section, Some(nace_version)),
        dicts[4].intern(division.as_deref().unwrap_or("unknown"), Some(nace_version)),
        dicts[5].intern(s(d.legal_form), None),
        dicts[6].intern(family_name(d.family), None),
        dicts[7].intern(cooperative_type_name(d.cooperative_type), None),
    ]
}

/// Member counts of one stock, by [`col`] number (the first [`STOCK_COLS`] columns).
const STOCK_COLS: usize = col::CATEGORY + 6;

fn count_member(stock: &mut [u32; STOCK_COLS], natural: bool, sex: Sex, age: Option<i32>, youth: u16, category: usize) {
    stock[col::MEMBERS] += 1;
    stock[col::CATEGORY + category] += 1;
    if !natural {
        stock[col::LEGAL] += 1;
        return;
    }
    stock[col::NATURAL] += 1;
    stock[match sex {
        Sex::Female => col::FEMALE,
        Sex::Male => col::MALE,
        Sex::Other => col::SEX_OTHER,
        Sex::Unknown => col::SEX_UNKNOWN,
    }] += 1;
    match age {
        Some(a) => {
            stock[match a {
                ..30 => col::AGE_UNDER_30,
                30..=64 => col::AGE_30_64,
                _ => col::AGE_65,
            }] += 1;
            stock[col::AGE_KNOWN] += 1;
            if a < i32::from(youth) {
                stock[col::YOUNG] += 1;
            }
        }
        None => stock[col::AGE_UNKNOWN] += 1,
    }
}

fn org_rows(
    facts: &Facts,
    o: &OrgFacts,
    agreements: &[&Agreement],
    latest_year: Option<i32>,
    options: CubeOptions,
    dicts: &mut [Dict; NDIMS],
) -> OrgRows {
    let mut out = OrgRows::default();
    let (Some(registered), Some(latest)) = (o.life.registered, latest_year) else { return out };
    let first = registered.year();
    let exit = o.life.exit();
    let last = exit.map_or(latest, |(d, _)| d.year().min(latest));
    if last < first {
        return out;
    }
    let n = (last - first + 1) as usize;
    let active_at = |date: Date| registered <= date && exit.is_none_or(|(d, _)| d > date);

    // Member stocks on 31 December of first-1 ..= last: index k is year first - 1 + k.
    let mut stocks = vec![[0u32; STOCK_COLS]; n + 1];
    let mut flows = vec![[0u32; 3]; n];
    let mut in_stock: Vec<Vec<u32>> = vec![Vec::new(); n];
    for &m in &o.members {
        let member = &facts.members[m as usize];
        let attrs = facts.persons.get(&member.person);
        let natural = attrs.is_none_or(|a| a.natural);
        let sex = attrs.map_or(Sex::Unknown, |a| a.sex);
        let birth = attrs.and_then(|a| a.birth_year);
        let category = category_index(member.category);
        let from = member.admitted.year().max(first - 1);
        let until = member.left.map_or(last, |(d, _)| (d.year() - 1).min(last));
        for y in from..=until {
            let age = birth.map(|b| y - i32::from(b));
            count_member(&mut stocks[(y - first + 1) as usize], natural, sex, age, options.youth_age, category);
            if y >= first {
                in_stock[(y - first) as usize].push(m);
            }
        }
        let admitted = member.admitted.year();
        if (first..=last).contains(&admitted) {
            flows[(admitted - first) as usize][0] += 1;
        }
        if let Some((d, reason)) = member.left
            && (first..=last).contains(&d.year())
        {
            let f = &mut flows[(d.year() - first) as usize];
            f[1] += 1;
            if reason == ExitReason::Expulsion {
                f[2] += 1;
            }
        }
    }

    // Paid-in capital by member, advanced year by year through the movements in date order.
    let mut capital = o.capital.clone();
    capital.sort_by_key(|(_, d, _)| *d);
    let mut next_capital = 0;
    let mut paid_in: HashMap<u32, Decimal> = HashMap::new();

    for k in 0..n {
        let y = first + k as i32;
        let end = end_of(y);
        let Some(dims) = dims_at(&o.dims, end) else { return OrgRows::default() };
        let mut flags = 0u32;
        let mut cols = [NA; col::N];
        let active_end = active_at(end);
        if active_end {
            flags |= flag::ACTIVE_END;
        }
        if active_at(end_of(y - 1)) {
            flags |= flag::ACTIVE_PREV;
        }
        if y == first {
            flags |= flag::BORN;
            for (years, known, survived) in
                [(3, flag::SURVIVAL_3_KNOWN, flag::SURVIVED_3), (5, flag::SURVIVAL_5_KNOWN, flag::SURVIVED_5)]
            {
                if y + years <= latest {
                    flags |= known;
                    if active_at(end_of(y + years)) {
                        flags |= survived;
                    }
                }
            }
        }
        if let Some((d, kind)) = exit
            && d.year() == y
        {
            flags |= flag::EXIT
                | match kind {
                    ExitKind::Dissolved => flag::EXIT_DISSOLVED,
                    ExitKind::Liquidated => flag::EXIT_LIQUIDATED,
                    ExitKind::Merged => flag::EXIT_MERGED,
                };
        }
        if dims.family == Family::Cooperative {
            flags |= flag::COOPERATIVE;
        }
        if o.type_b {
            flags |= flag::TYPE_B;
        }

        // Members: person by person where the register has them, else the year's snapshot.
        if o.person_level {
            flags |= flag::PERSON_LEVEL;
            cols[..STOCK_COLS].copy_from_slice(&stocks[k + 1]);
            cols[col::MEMBERS_START] = stocks[k][col::MEMBERS];
            cols[col::JOINS] = flows[k][0];
            cols[col::EXITS] = flows[k][1];
            cols[col::EXPULSIONS] = flows[k][2];
        } else {
            let in_year = |y: i32| o.snapshots.iter().rev().find(|s| s.as_of.year() == y);
            if let Some(s) = in_year(y) {
                cols[col::MEMBERS] = s.members;
                cols[col::NATURAL] = s.natural;
                cols[col::LEGAL] = s.legal;
                let opt = |c: Option<u32>| c.unwrap_or(NA);
                for (i, c) in [col::FEMALE, col::MALE, col::SEX_OTHER, col::SEX_UNKNOWN].into_iter().enumerate() {
                    cols[c] = opt(s.by_sex[i]);
                }
                for (i, c) in [col::AGE_UNDER_30, col::AGE_30_64, col::AGE_65, col::AGE_UNKNOWN].into_iter().enumerate()
                {
                    cols[c] = opt(s.by_age[i]);
                }
                if let [Some(a), Some(b), Some(c), _] = s.by_age {
                    cols[col::AGE_KNOWN] = a + b + c;
                    if options.youth_age == 30 {
                        cols[col::YOUNG] = a;
                    }
                }
                for (i, c) in s.by_category.iter().enumerate() {
                    cols[col::CATEGORY + i] = opt(*c);
                }
            }
            if let Some(s) = in_year(y - 1) {
                cols[col::MEMBERS_START] = s.members;
            }
        }

        // Assemblies held in the year.
        let mut asm = [0u32; 4];
        for a in o.assemblies.iter().filter(|a| a.date.year() == y) {
            asm[0] += 1;
            asm[1] += a.eligible;
            asm[2] += a.present;
            asm[3] += a.proxies;
        }
        if asm[0] > 0 {
            cols[col::ASSEMBLIES] = asm[0];
            cols[col::ASM_ELIGIBLE] = asm[1];
            cols[col::ASM_PRESENT] = asm[2];
            cols[col::ASM_PROXIES] = asm[3];
        }

        // The board on 31 December: its holders where recorded, else the last election's counts.
        let mut holders: Vec<imece_domain::PersonRef> = Vec::new();
        for (_, (person, takes)) in o.seat_changes.iter().take_while(|(d, _)| *d <= end) {
            holders.retain(|p| p != person);
            if *takes {
                holders.push(*person);
            }
        }
        if !holders.is_empty() {
            let (mut women, mut young, mut known) = (0, 0, 0);
            for p in &holders {
                let attrs = facts.persons.get(p);
                if attrs.is_some_and(|a| a.sex == Sex::Female) {
                    women += 1;
                }
                if let Some(b) = attrs.and_then(|a| a.birth_year) {
                    known += 1;
                    if y - i32::from(b) < i32::from(options.youth_age) {
                        young += 1;
                    }
                }
            }
            cols[col::BOARD_SEATS] = holders.len() as u32;
            cols[col::BOARD_WOMEN] = women;
            cols[col::BOARD_YOUNG] = young;
            cols[col::BOARD_AGE_KNOWN] = known;
        } else if let Some(e) = o
            .elections
            .iter()
            .filter(|e| e.term_from <= end && e.term_until.is_none_or(|u| u >= end))
            .max_by_key(|e| e.date)
        {
            cols[col::BOARD_SEATS] = e.seats;
            cols[col::BOARD_WOMEN] = e.women.unwrap_or(NA);
            if options.youth_age == 30 && e.under_30.is_some() {
                cols[col::BOARD_YOUNG] = e.under_30.unwrap_or(NA);
                cols[col::BOARD_AGE_KNOWN] = e.seats;
            }
        }

        // Board elections held in the year.
        let mut elect = [0u32; 4];
        let mut elections = 0;
        for e in o.elections.iter().filter(|e| e.date.year() == y) {
            elections += 1;
            elect[0] += e.seats;
            elect[1] += e.candidates;
            if let Some(new) = e.new_holders {
                elect[2] += e.seats;
                elect[3] += new;
            }
        }
        if elections > 0 {
            cols[col::ELECT_SEATS] = elect[0];
            cols[col::ELECT_CANDIDATES] = elect[1];
            cols[col::ELECT_RENEWAL_SEATS] = elect[2];
            cols[col::ELECT_NEW_HOLDERS] = elect[3];
        }

        // The accounts of fiscal year y.
        if let Some(a) = o.accounts.iter().find(|a| a.fiscal_year == y) {
            let w = &a.workforce;
            let opt = |v: Option<u32>| v.unwrap_or(NA);
            cols[col::EMPLOYEES] = opt(w.employees);
            cols[col::FTE_HUNDREDTHS] = opt(w.fte_hundredths);
            cols[col::EMPLOYEES_WOMEN] = opt(w.employees_women);
            cols[col::WORKERS] = opt(w.workers);
            cols[col::WORKER_MEMBERS] = opt(w.worker_members);
            cols[col::DISADVANTAGED] = opt(w.disadvantaged_workers);
            cols[col::ACCOUNTS] = out.accounts.len() as u32;
            out.accounts.push(a.clone());
        }
        if let Some(a) = o.allocations.iter().find(|a| a.fiscal_year == y) {
            cols[col::ALLOCATION] = out.allocations.len() as u32;
            out.allocations.push(a.clone());
            if !o.allocation_findings.contains(&y) {
                flags |= flag::ALLOCATION_COMPLIANT;
            }
        }

        // Statute, affiliations, commons agreements and audits on 31 December.
        if let Some((_, (rule, max))) = o.statute.iter().rev().find(|(d, _)| *d <= end) {
            flags |= flag::STATUTE_KNOWN;
            if *rule == VotingRule::OneMemberOneVote && *max == 1 {
                flags |= flag::OMOV;
            }
        }
        let mut federations: Vec<(u32, bool)> = Vec::new();
        for (_, (name, joined)) in o.affiliations.iter().take_while(|(d, _)| *d <= end) {
            federations.retain(|(n, _)| n != name);
            federations.push((*name, *joined));
        }
        if federations.iter().any(|(_, joined)| *joined) {
            flags |= flag::AFFILIATED;
        }
        cols[col::AGREEMENTS] = agreements
            .iter()
            .filter(|a| a.from <= end && a.until.is_none_or(|u| u >= end) && a.ended.is_none_or(|e| e > end))
            .count() as u32;
        let country = facts.string(dims.country);
        if active_end && dims.family == Family::Cooperative && country == "IT" {
            // D.Lgs. 220/2002: a revisione every two years, every year for social cooperatives.
            flags |= flag::AUDIT_SUBJECT;
            let cycle = if facts.string(dims.legal_form).to_lowercase().contains("social") { 1 } else { 2 };
            let since = end_of(y - cycle);
            if o.audits.iter().any(|(d, _)| *d > since && *d <= end) {
                flags |= flag::AUDITED;
            }
        }

        // Paid-in capital of the members on 31 December, for its concentration.
        while let Some((m, _, amount)) = capital.get(next_capital).filter(|(_, d, _)| *d <= end) {
            *paid_in.entry(*m).or_default() += *amount;
            next_capital += 1;
        }
        if o.person_level && !in_stock[k].is_empty() {
            let mut paid: Vec<Decimal> =
                in_stock[k].iter().map(|m| paid_in.get(m).copied().unwrap_or_default()).collect();
            let total: Decimal = paid.iter().sum();
            if total > Decimal::ZERO {
                paid.sort_unstable_by(|a, b| b.cmp(a));
                let top_n = paid.len().div_ceil(10);
                let top: Decimal = paid[..top_n].iter().sum();
                cols[col::CAPITAL] = out.capital.len() as u32;
                out.capital.push((top, total));
            }
        }

        let dims = intern_dims(facts, dims, dicts);
        out.rows.push(OrgYear { year: y, dims, flags, cols });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranking_keeps_ids_and_shares_versions() {
        let mut dict = Dict::default();
        let ids: Vec<u32> = [("b", "2021"), ("a", "2021"), ("c", "2016"), ("a", "2016")]
            .iter()
            .map(|(c, v)| dict.intern(c, Some(v)))
            .collect();
        dict.rank();
        assert_eq!(dict.rank, [2, 1, 3, 0]);
        assert_eq!(dict.by_rank, [3, 1, 0, 2]);
        let codes: Vec<&str> = dict.values.iter().map(|v| &*v.code).collect();
        assert_eq!(codes, ["b", "a", "c", "a"]);
        let (first, second) = (dict.values[0].version.clone().unwrap(), dict.values[1].version.clone().unwrap());
        assert!(Arc::ptr_eq(&first, &second), "one 2021 for every value");
        // Interning again finds the same ids.
        assert_eq!(dict.intern("c", Some("2016")), ids[2]);
        assert_eq!(dict.intern("d", None), 4);
    }
}
