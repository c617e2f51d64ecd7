//! Reference data: population and total employment by area and year, and exchange rates. Not
//! derived from the log, so not part of the projection's state: the caller loads it from CSV and
//! passes it to each query.
//!
//! Each file has a header row naming its columns (in any order, each exactly once). A file with a
//! bad line is refused as a whole, with the line number (the header is line 1) and the reason.
//! Empty lines are ignored. Fields may be quoted with `"`, a quote inside doubled (`""`).
//!
//! ```
//! use imece_indicators::{AreaFigures, ExchangeRates};
//!
//! let population = AreaFigures::population_from_reader(
//!     "area_scheme,area_code,area_version,year,population\nlau,IT_035033,2021,2024,171345\n".as_bytes(),
//! )?;
//! assert_eq!(population.len(), 1);
//! let rates = ExchangeRates::from_reader("date,base,quote,rate,source\n2024-12-31,EUR,TRY,36.7372,ECB\n".as_bytes())?;
//! assert_eq!(rates.len(), 1);
//! let bad = ExchangeRates::from_reader("date,base,quote,rate,source\n2024-12-31,EUR,XYZ,1,ECB\n".as_bytes());
//! assert!(bad.unwrap_err().to_string().starts_with("exchange rates, line 2:"));
//! # Ok::<(), imece_indicators::Error>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::io::Read;

use imece_domain::{Currency, Date};
use rust_decimal::Decimal;

use crate::error::{Error, Result};

/// The scheme of an area code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AreaScheme {
    /// A municipality, by its GISCO LAU id (`IT_035033`) and list year.
    Lau,
    /// A NUTS region, by code (`ITH53`) and edition year.
    Nuts,
    /// A country, by ISO 3166-1 alpha-2 code, without version.
    Country,
}

/// An area: scheme, code and version (empty for countries).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Area {
    pub scheme: AreaScheme,
    pub code: String,
    pub version: String,
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.version.is_empty() { write!(f, "{}", self.code) } else { write!(f, "{} ({})", self.code, self.version) }
    }
}

/// One figure per area and year: population, or total employment.
#[derive(Clone, Debug, Default)]
pub struct AreaFigures {
    figures: HashMap<(Area, i32), u64>,
}

/// An exchange rate: one `base` is worth `rate` of `quote`, on `date`, per `source`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rate {
    pub date: Date,
    pub base: Currency,
    pub quote: Currency,
    pub rate: Decimal,
    pub source: String,
}

/// Reference exchange rates, by currency pair and date.
#[derive(Clone, Debug, Default)]
pub struct ExchangeRates {
    /// By (base, quote), in date order.
    rates: HashMap<(Currency, Currency), Vec<Rate>>,
    count: usize,
}

/// The reference data a query may need.
#[derive(Clone, Debug, Default)]
pub struct ReferenceData {
    pub population: AreaFigures,
    pub employment: AreaFigures,
    pub rates: ExchangeRates,
}

/// A rate as a conversion used it: `1 from = rate to`, from the rate dated `date` of `source`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateUsed {
    pub from: Currency,
    pub to: Currency,
    pub rate: Decimal,
    pub date: Date,
    pub source: String,
    /// Whether the table held the opposite pair and the rate is its inverse.
    pub inverted: bool,
}

/// A CSV file as a header and numbered rows of fields.
struct Csv {
    file: &'static str,
    columns: Vec<&'static str>,
    rows: Vec<(usize, Vec<String>)>,
}

fn split_line(file: &'static str, line_no: usize, line: &str) -> Result<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            (false, '"') => {
                return Err(Error::ReferenceData {
                    file,
                    line: line_no,
                    reason: "a quote inside an unquoted field".into(),
                });
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(Error::ReferenceData { file, line: line_no, reason: "a quoted field is not closed".into() });
    }
    fields.push(field);
    Ok(fields)
}

impl Csv {
    /// Reads `reader`, checks the header has exactly `expected` (in any order), and returns the
    /// rows with their fields in the order of `expected`.
    fn read(file: &'static str, mut reader: impl Read, expected: &[&'static str]) -> Result<Csv> {
        let mut text = String::new();
        reader.read_to_string(&mut text).map_err(|e| Error::Io { file, reason: e.to_string() })?;
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).enumerate();
        let header = loop {
            match lines.next() {
                Some((_, l)) if l.trim().is_empty() => continue,
                Some((i, l)) => break (i + 1, l),
                None => {
                    return Err(Error::ReferenceData {
                        file,
                        line: 1,
                        reason: format!("a header row is required: {}", expected.join(",")),
                    });
                }
            }
        };
        let names = split_line(file, header.0, header.1)?;
        let bad = |reason: String| Error::ReferenceData { file, line: header.0, reason };
        let mut order = Vec::with_capacity(names.len());
        for name in &names {
            let name = name.trim();
            let Some(at) = expected.iter().position(|e| *e == name) else {
                return Err(bad(format!("unknown column {name:?}; the columns are {}", expected.join(","))));
            };
            if order.contains(&at) {
                return Err(bad(format!("column {name:?} appears twice")));
            }
            order.push(at);
        }
        if let Some(missing) = expected.iter().enumerate().find(|(i, _)| !order.contains(i)) {
            return Err(bad(format!("missing column {:?}", missing.1)));
        }
        let mut rows = Vec::new();
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let line_no = i + 1;
            let fields = split_line(file, line_no, line)?;
            if fields.len() != expected.len() {
                return Err(Error::ReferenceData {
                    file,
                    line: line_no,
                    reason: format!("expected {} fields, found {}", expected.len(), fields.len()),
                });
            }
            let mut ordered = vec![String::new(); expected.len()];
            for (field, &at) in fields.into_iter().zip(&order) {
                ordered[at] = field.trim().to_owned();
            }
            rows.push((line_no, ordered));
        }
        Ok(Csv { file, columns: expected.to_vec(), rows })
    }

    fn error(&self, line: usize, column: usize, reason: impl fmt::Display) -> Error {
        Error::ReferenceData { file: self.file, line, reason: format!("{}: {reason}", self.columns[column]) }
    }
}

fn parse_year(s: &str) -> Option<i32> {
    s.parse::<i32>().ok().filter(|y| (1800..=2200).contains(y))
}

impl AreaFigures {
    /// Population by area and year: columns `area_scheme` (lau, nuts, country), `area_code`,
    /// `area_version` (empty for a country), `year`, `population`.
    pub fn population_from_reader(reader: impl Read) -> Result<Self> {
        Self::from_reader("population", "population", reader)
    }

    /// Total employment by area and year: the same columns, with `employment` last.
    pub fn employment_from_reader(reader: impl Read) -> Result<Self> {
        Self::from_reader("employment", "employment", reader)
    }

    fn from_reader(file: &'static str, value: &'static str, reader: impl Read) -> Result<Self> {
        let csv = Csv::read(file, reader, &["area_scheme", "area_code", "area_version", "year", value])?;
        let mut figures = HashMap::with_capacity(csv.rows.len());
        let mut lines: HashMap<(Area, i32), usize> = HashMap::new();
        for (line, f) in &csv.rows {
            let scheme = match f[0].as_str() {
                "lau" => AreaScheme::Lau,
                "nuts" => AreaScheme::Nuts,
                "country" => AreaScheme::Country,
                other => return Err(csv.error(*line, 0, format!("must be lau, nuts or country, is {other:?}"))),
            };
            let code = &f[1];
            let code_ok = match scheme {
                AreaScheme::Country => code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()),
                AreaScheme::Nuts => {
                    (2..=5).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                }
                AreaScheme::Lau => code.split_once('_').is_some_and(|(cc, local)| {
                    cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_uppercase()) && !local.is_empty()
                }),
            };
            if !code_ok {
                return Err(csv.error(*line, 1, format!("{code:?} is not a code of scheme {}", f[0])));
            }
            let version = &f[2];
            match scheme {
                AreaScheme::Country if !version.is_empty() => {
                    return Err(csv.error(*line, 2, "must be empty for a country"));
                }
                AreaScheme::Lau | AreaScheme::Nuts if parse_year(version).is_none() => {
                    return Err(csv.error(*line, 2, format!("must be the year of the code list, is {version:?}")));
                }
                _ => {}
            }
            let Some(year) = parse_year(&f[3]) else {
                return Err(csv.error(*line, 3, format!("must be a year from 1800 to 2200, is {:?}", f[3])));
            };
            let figure: u64 = match f[4].parse::<i64>() {
                Ok(v) if v < 0 => return Err(csv.error(*line, 4, format!("must not be negative, is {v}"))),
                Ok(v) => v as u64,
                Err(_) => return Err(csv.error(*line, 4, format!("must be a whole number, is {:?}", f[4]))),
            };
            let key = (Area { scheme, code: code.clone(), version: version.clone() }, year);
            if let Some(first) = lines.get(&key) {
                return Err(Error::ReferenceData {
                    file,
                    line: *line,
                    reason: format!("duplicate of line {first}: {} in {year}", key.0),
                });
            }
            lines.insert(key.clone(), *line);
            figures.insert(key, figure);
        }
        Ok(AreaFigures { figures })
    }

    /// The figure of `area` in `year`.
    pub fn get(&self, area: &Area, year: i32) -> Option<u64> {
        self.figures.get(&(area.clone(), year)).copied()
    }

    /// Sets the figure of `area` in `year`.
    pub fn insert(&mut self, area: Area, year: i32, figure: u64) {
        self.figures.insert((area, year), figure);
    }

    /// How many figures are loaded.
    pub fn len(&self) -> usize {
        self.figures.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.figures.is_empty()
    }
}

impl ExchangeRates {
    /// Rates: columns `date` (YYYY-MM-DD), `base`, `quote` (ISO 4217 codes the registry knows),
    /// `rate` (a positive decimal: one base in quote), `source` (not empty).
    pub fn from_reader(reader: impl Read) -> Result<Self> {
        let csv = Csv::read("exchange rates", reader, &["date", "base", "quote", "rate", "source"])?;
        let mut table = ExchangeRates::default();
        let mut lines: HashMap<(Date, Currency, Currency), usize> = HashMap::new();
        let format = time::macros::format_description!("[year]-[month]-[day]");
        for (line, f) in &csv.rows {
            let date = Date::parse(&f[0], &format)
                .map_err(|_| csv.error(*line, 0, format!("must be a date like 2024-12-31, is {:?}", f[0])))?;
            let currency = |i: usize| {
                f[i].parse::<Currency>()
                    .map_err(|_| csv.error(*line, i, format!("{:?} is not a known ISO 4217 code", f[i])))
            };
            let (base, quote) = (currency(1)?, currency(2)?);
            if base == quote {
                return Err(csv.error(*line, 2, "must differ from base"));
            }
            let rate = Decimal::from_str_exact(&f[3])
                .map_err(|_| csv.error(*line, 3, format!("must be a decimal number, is {:?}", f[3])))?;
            if rate <= Decimal::ZERO {
                return Err(csv.error(*line, 3, format!("must be positive, is {rate}")));
            }
            if f[4].is_empty() {
                return Err(csv.error(*line, 4, "must name where the rate comes from"));
            }
            if let Some(first) = lines.insert((date, base, quote), *line) {
                return Err(Error::ReferenceData {
                    file: "exchange rates",
                    line: *line,
                    reason: format!("duplicate of line {first}: {base}/{quote} on {date}"),
                });
            }
            table.insert(Rate { date, base, quote, rate, source: f[4].clone() });
        }
        Ok(table)
    }

    /// Adds a rate.
    pub fn insert(&mut self, rate: Rate) {
        let list = self.rates.entry((rate.base, rate.quote)).or_default();
        let at = list.partition_point(|r| r.date <= rate.date);
        list.insert(at, rate);
        self.count += 1;
    }

    /// How many rates are loaded.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The rate to convert `from` into `to` for a figure dated `on`: the latest rate dated on or
    /// before `on` and in the same calendar year, direct or inverted (the later of the two; the
    /// direct one on the same date). [`Error::MissingRate`] if there is none.
    pub fn rate(&self, from: Currency, to: Currency, on: Date) -> Result<RateUsed> {
        let latest = |pair: (Currency, Currency)| {
            self.rates
                .get(&pair)
                .and_then(|list| list[..list.partition_point(|r| r.date <= on)].last())
                .filter(|r| r.date.year() == on.year())
        };
        let direct = latest((from, to));
        let inverse = latest((to, from));
        let used = match (direct, inverse) {
            (Some(d), Some(i)) if i.date > d.date => (i, true),
            (Some(d), _) => (d, false),
            (None, Some(i)) => (i, true),
            (None, None) => return Err(Error::MissingRate { from, to, date: on }),
        };
        let (r, inverted) = used;
        let rate = if inverted { Decimal::ONE / r.rate } else { r.rate };
        Ok(RateUsed { from, to, rate, date: r.date, source: r.source.clone(), inverted })
    }
}
