//! The crate's one error.

use imece_domain::{Currency, Date};

/// What can go wrong folding the log, answering a query or loading reference data.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// An event of a type the projection reads does not decode (a corrupt payload, or a schema
    /// newer than this build). The projection stops at that event: upgrade the build or repair
    /// the log, then resume; never skip the event.
    #[error("event at position {position} ({event_type}) does not decode: {reason}")]
    Event { position: u64, event_type: String, reason: String },

    /// A snapshot could not be written or read. Drop the snapshot and rebuild the projection from
    /// the start of the log.
    #[error("snapshot: {reason}")]
    Snapshot { reason: String },

    /// The query breaks a rule: `field` names the part of the query (`group_by[1]`, `years`,
    /// `filters.city`), `rule` what it must be. Fix the query and ask again; nothing was computed.
    #[error("invalid query: {field} {rule}")]
    InvalidQuery { field: String, rule: String },

    /// A line of a reference-data file is wrong. Nothing of the file was loaded: correct the line
    /// (line 1 is the header) and load the whole file again.
    #[error("{file}, line {line}: {reason}")]
    ReferenceData { file: &'static str, line: usize, reason: String },

    /// A reference-data file could not be read. Check the file and load it again.
    #[error("{file}: cannot read: {reason}")]
    Io { file: &'static str, reason: String },

    /// A conversion needs a reference rate that is not loaded: no rate from `from` to `to` (or
    /// back) dated in the year up to `date`. Load the rate into the exchange-rate table, or ask
    /// for nominal figures.
    #[error("no reference rate from {from} to {to} dated on or before {date} within its year")]
    MissingRate { from: Currency, to: Currency, date: Date },

    /// A sum went beyond what a decimal holds. The data is implausible: look at the figures the
    /// cell rests on.
    #[error("overflow computing {what}")]
    Overflow { what: String },
}

impl Error {
    pub(crate) fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Error::InvalidQuery { field: field.into(), rule: rule.into() }
    }
}

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
