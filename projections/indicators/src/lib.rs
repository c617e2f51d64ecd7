//! The economic-democracy and social-economy indicators: a projection of the log, a catalogue,
//! queries by dimension and year, and the rules every published figure follows.
//!
//! - [`Facts`] is the projection (`NAME` `indicators`): it folds the events into dated facts per
//!   organisation (classification history, life cycle, members, assemblies, boards, accounts,
//!   allocations, statute, affiliations, commons agreements, audits, declared snapshots).
//! - [`Cube`] derives from the facts the figures of every organisation for every year, laid out
//!   by year and column; [`Cube::refresh`] recomputes only what changed.
//! - [`CATALOGUE`] lists every indicator with its id, unit, formula and source.
//! - [`Cube::query`] answers a [`Query`] with a [`Table`] of [`Cell`]s and margins, under
//!   [`Disclosure`] control, with money by currency or converted at dated reference rates.
//! - [`ReferenceData`]: population, employment and exchange rates loaded from CSV.
//!
//! ```
//! use imece_indicators::{Cube, CubeOptions, Dimension, Disclosure, Facts, Query, ReferenceData};
//! use imece_projections::Projection;
//!
//! let facts = Facts::empty(); // the engine applies the log's events to it
//! let cube = Cube::build(&facts, CubeOptions::default());
//! let query = Query::new("assembly_participation", 2024).group_by(&[Dimension::City]);
//! let table = cube.query(&query, &ReferenceData::default(), &Disclosure::default())?;
//! assert!(table.rows.is_empty());
//!
//! // Bad input names the field and the rule.
//! let err = Dimension::parse_list(&["city", "town"]).unwrap_err();
//! assert_eq!(err.to_string(), "invalid query: group_by[1] unknown dimension \"town\"; one of city, nuts3, country, sector_section, sector_division, legal_form, family, cooperative_type");
//! # Ok::<(), imece_indicators::Error>(())
//! ```
//!
//! # What a year means
//!
//! - Stocks are taken on 31 December of the year: active organisations, members, the board, the
//!   statute, affiliations, commons agreements. Only organisations active on that day count.
//! - Flows are what is dated in the year (registrations, exits, admissions, assemblies,
//!   elections), and for accounts and allocations the fiscal year named by the year (the calendar
//!   year it ends in). An organisation closed during the year still counts in its flows.
//! - A year's figure uses the classification in force on 31 December (or on the day the
//!   organisation closed), with the code's version in the row: a series across a change of NUTS or
//!   NACE shows the break in the version rather than recoding it.
//! - The observed period ends with the latest year of any legal date in the log; survival at k
//!   years is given only for cohorts whose year + k is within it.
//!
//! # Missing data
//!
//! Each cell counts the organisations it rests on and, apart, those in scope whose data is
//! missing (`excluded_missing`): an active organisation without members on record (neither
//! person-level nor a snapshot dated in the year), without accounts of the fiscal year or without
//! the figure, without an assembly in the year, without a statute on record, and so on. An
//! organisation out of scope (not a cooperative for indicator 13, no allocation for 19) is not
//! counted at all. A missing population or employment figure for an area leaves that area's cell
//! empty with a note, counts its organisations in `excluded_missing`, and keeps the area out of
//! the margins; it is not an error. A missing exchange rate is an error
//! ([`Error::MissingRate`]).
//!
//! # Choices
//!
//! - Members: person-level admissions and exits where the organisation has them; otherwise the
//!   latest membership snapshot whose `as_of` falls in the year (a replicated organisation).
//!   Suppressed snapshot cells are missing data. Age is the year minus the birth year.
//! - Value added ≈ personnel costs + net result: the accounts do not record EBITDA, so this
//!   understates it by depreciation, interest and taxes.
//! - Ratios are ratios of sums, which weights each organisation by its denominator (the
//!   member-weighted mean for participation); medians are medians of the organisations' own
//!   ratios. Capital concentration is the member-weighted mean of each organisation's top-10 %
//!   share (organisations with person-level capital only).
//! - Indicator 13 counts organisations of the cooperative family (the events do not mark
//!   second-tier cooperatives). Audit compliance applies to Italian cooperatives (D.Lgs. 220/2002:
//!   every two years, every year for social cooperatives); a type-B social cooperative is one
//!   whose legal form or Albo/RUNTS entry says "tipo B" or "inserimento lavorativo".
//! - Commons agreements count once, for the organisation that recorded the signature first.
//! - Money is never added across currencies: nominal money rows carry their currency; converted
//!   figures use, per currency, the latest reference rate dated on or before 31 December of the
//!   year and within that year (the cell lists each rate with its date and source).

mod catalogue;
mod cube;
mod disclosure;
mod error;
mod facts;
mod query;
mod reference;

pub use catalogue::{AreaFigure, CATALOGUE, Indicator, Unit, indicator};
pub use cube::{Cube, CubeOptions};
pub use disclosure::Disclosure;
pub use error::{Error, Result};
pub use facts::{Facts, SURPLUS_KINDS};
pub use query::{
    Basis, Cell, Dimension, GroupValue, MoneyBasis, NaceLevel, Query, Row, RowKind, Suppression, Table, Years,
};
pub use reference::{Area, AreaFigures, AreaScheme, ExchangeRates, Rate, RateUsed, ReferenceData};
