//! Value types: money, percentages, codes, identifiers, person-level values and dates.
//!
//! Each type with public fields (or read from a stored event) has a `validate` that
//! [`crate::decide`] runs on every command; constructors run it too.

mod codes;
mod ids;
mod money;
mod person;

use serde::{Deserialize, Serialize};
pub use time::Date;

pub use codes::{Code, CountryCode, ExternalId, IdScheme, LanguageTag, Names, Scheme, require_text};
pub use ids::{
    AgreementId, AssemblyId, CausationId, CorrelationId, KeyId, MembershipId, NodeId, ORG_STREAM_PREFIX, OrgId,
    PersonRef,
};
pub use money::{BasisPoints, Currency, Money};
pub use person::{MAX_SEALED_BYTES, SealedPersonalData, Sex};

use crate::{Error, Result};

/// The last day of an organisation's fiscal year, as month and day (`{month: 12, day: 31}`). A
/// fiscal year is named by the calendar year it ends in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiscalYearEnd {
    pub month: u8,
    pub day: u8,
}

impl FiscalYearEnd {
    /// 31 December.
    pub const DECEMBER_31: FiscalYearEnd = FiscalYearEnd { month: 12, day: 31 };

    /// [`Error::Invalid`] on `day` or `month` unless the day exists in every year (29 February
    /// does not).
    pub fn validate(&self) -> Result<()> {
        let month = time::Month::try_from(self.month)
            .map_err(|_| Error::invalid("month", format!("must be 1 to 12, is {}", self.month)))?;
        // A non-leap year, so that the end exists every year.
        let last = time::util::days_in_month(month, 2023);
        if self.day == 0 || self.day > last {
            return Err(Error::invalid(
                "day",
                format!("must be 1 to {last} for month {}, is {}", self.month, self.day),
            ));
        }
        Ok(())
    }

    /// The last day of fiscal year `year`.
    pub fn end_of(&self, year: i32) -> Option<Date> {
        let month = time::Month::try_from(self.month).ok()?;
        Date::from_calendar_date(year, month, self.day).ok()
    }
}
