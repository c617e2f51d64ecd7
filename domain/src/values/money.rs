//! Money and percentages: a decimal with its currency, and basis points. Never a float.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

macro_rules! currencies {
    ($($code:ident: $name:literal),+ $(,)?) => {
        /// An ISO 4217 currency the registry knows: those of the partner network and of the
        /// European neighbours it compares itself with. Any other code is refused with
        /// [`Error::Invalid`]; adding one is a line here.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(clippy::upper_case_acronyms)]
        pub enum Currency {
            $(#[doc = $name] $code,)+
        }

        impl Currency {
            /// Every currency the registry knows, in alphabetical order of code.
            pub const ALL: &'static [Currency] = &[$(Currency::$code),+];

            /// The three-letter code, e.g. `EUR`.
            pub const fn code(self) -> &'static str {
                match self {
                    $(Currency::$code => stringify!($code),)+
                }
            }
        }

        impl FromStr for Currency {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self> {
                match s {
                    $(stringify!($code) => Ok(Currency::$code),)+
                    _ => Err(Error::invalid(
                        "currency",
                        format!("must be an ISO 4217 code the registry knows ({}); {s:?} is not", known_codes()),
                    )),
                }
            }
        }
    };
}

currencies! {
    BGN: "Bulgarian lev",
    CHF: "Swiss franc",
    CZK: "Czech koruna",
    DKK: "Danish krone",
    EUR: "Euro",
    GBP: "Pound sterling",
    HUF: "Hungarian forint",
    NOK: "Norwegian krone",
    PLN: "Polish złoty",
    RON: "Romanian leu",
    SEK: "Swedish krona",
    TRY: "Turkish lira",
    USD: "US dollar",
}

fn known_codes() -> String {
    Currency::ALL.iter().map(|c| c.code()).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An amount of money: a decimal with its currency. On the wire the amount is a string
/// (`{"amount": "1250.00", "currency": "EUR"}`), never a JSON number, so no float ever touches it.
///
/// Amounts in different currencies are never combined: [`Money::checked_add`] and
/// [`Money::checked_sub`] return [`Error::CurrencyMismatch`] instead.
///
/// ```
/// use imece_domain::{Currency, Money};
///
/// let a = Money::parse("1250.50", Currency::EUR)?;
/// let b = Money::parse("49.50", Currency::EUR)?;
/// assert_eq!(a.checked_add(&b)?, Money::parse("1300", Currency::EUR)?);
/// assert!(a.checked_add(&Money::parse("1", Currency::TRY)?).is_err());
/// # Ok::<(), imece_domain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: Currency,
}

impl Money {
    /// `amount` in `currency`.
    pub const fn new(amount: Decimal, currency: Currency) -> Self {
        Money { amount, currency }
    }

    /// Nothing, in `currency`.
    pub const fn zero(currency: Currency) -> Self {
        Money { amount: Decimal::ZERO, currency }
    }

    /// Parses a decimal written with a point (`"1250.50"`). Field `amount` on failure.
    pub fn parse(amount: &str, currency: Currency) -> Result<Self> {
        let amount = Decimal::from_str_exact(amount)
            .map_err(|e| Error::invalid("amount", format!("must be a decimal number like 1250.50 ({e})")))?;
        Ok(Money { amount, currency })
    }

    /// The sum, if both are in the same currency and it fits.
    pub fn checked_add(&self, other: &Money) -> Result<Money> {
        self.same_currency(other)?;
        let amount = self.amount.checked_add(other.amount).ok_or_else(|| Error::Overflow { what: "sum".into() })?;
        Ok(Money { amount, currency: self.currency })
    }

    /// The difference, if both are in the same currency and it fits.
    pub fn checked_sub(&self, other: &Money) -> Result<Money> {
        self.same_currency(other)?;
        let amount =
            self.amount.checked_sub(other.amount).ok_or_else(|| Error::Overflow { what: "difference".into() })?;
        Ok(Money { amount, currency: self.currency })
    }

    /// The sum of `items`, all in `currency`; zero for none.
    pub fn sum<'a>(currency: Currency, items: impl IntoIterator<Item = &'a Money>) -> Result<Money> {
        items.into_iter().try_fold(Money::zero(currency), |acc, m| acc.checked_add(m))
    }

    /// This share of the amount, exactly: basis points divide by 10,000, which a decimal does
    /// without rounding.
    pub fn share(&self, share: BasisPoints) -> Result<Money> {
        let amount = self
            .amount
            .checked_mul(Decimal::from(share.0))
            .and_then(|a| a.checked_div(Decimal::from(10_000)))
            .ok_or_else(|| Error::Overflow { what: "share".into() })?;
        Ok(Money { amount, currency: self.currency })
    }

    /// Whether the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// [`Error::Invalid`] on `field` unless the amount is zero or more.
    pub fn require_non_negative(&self, field: &str) -> Result<()> {
        if self.is_negative() {
            return Err(Error::invalid(field, format!("must not be negative, is {self}")));
        }
        Ok(())
    }

    /// [`Error::Invalid`] on `field` unless the amount is in `currency`.
    pub fn require_currency(&self, field: &str, currency: Currency, whose: &str) -> Result<()> {
        if self.currency != currency {
            return Err(Error::invalid(
                field,
                format!("must be in {whose} currency {currency}, is in {}", self.currency),
            ));
        }
        Ok(())
    }

    fn same_currency(&self, other: &Money) -> Result<()> {
        if self.currency != other.currency {
            return Err(Error::CurrencyMismatch { left: self.currency, right: other.currency });
        }
        Ok(())
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

/// A percentage in basis points: 1 % is 100, 100 % is 10,000. Exact, unlike a float.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BasisPoints(pub u32);

impl BasisPoints {
    /// 100 %.
    pub const WHOLE: BasisPoints = BasisPoints(10_000);

    /// Whole percent: `from_percent(30)` is 3,000 basis points.
    pub const fn from_percent(percent: u32) -> Self {
        BasisPoints(percent * 100)
    }

    /// The number of basis points.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The share `part / whole` of two amounts in one currency, rounded down to a basis point;
    /// `None` if `whole` is not positive or the currencies differ.
    pub fn ratio(part: &Money, whole: &Money) -> Option<BasisPoints> {
        if part.currency != whole.currency || whole.amount <= Decimal::ZERO || part.is_negative() {
            return None;
        }
        let bp = part.amount.checked_mul(Decimal::from(10_000))?.checked_div(whole.amount)?.floor();
        rust_decimal::prelude::ToPrimitive::to_u32(&bp).map(BasisPoints)
    }
}

impl fmt::Display for BasisPoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 100;
        match self.0 % 100 {
            0 => write!(f, "{whole} %"),
            frac if frac % 10 == 0 => write!(f, "{whole}.{} %", frac / 10),
            frac => write!(f, "{whole}.{frac:02} %"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(s: &str) -> Money {
        Money::parse(s, Currency::EUR).unwrap()
    }

    #[test]
    fn shares_are_exact() {
        assert_eq!(eur("1000.01").share(BasisPoints::from_percent(30)).unwrap(), eur("300.003"));
        assert_eq!(eur("0.01").share(BasisPoints(1)).unwrap(), eur("0.000001"));
    }

    #[test]
    fn ratio_rounds_down_to_a_basis_point() {
        assert_eq!(BasisPoints::ratio(&eur("1"), &eur("3")), Some(BasisPoints(3333)));
        assert_eq!(BasisPoints::ratio(&eur("30"), &eur("100")), Some(BasisPoints(3000)));
        assert_eq!(BasisPoints::ratio(&eur("1"), &eur("0")), None);
        assert_eq!(BasisPoints::ratio(&eur("1"), &Money::parse("3", Currency::TRY).unwrap()), None);
    }

    #[test]
    fn basis_points_display_as_percent() {
        assert_eq!(BasisPoints(3000).to_string(), "30 %");
        assert_eq!(BasisPoints(250).to_string(), "2.5 %");
        assert_eq!(BasisPoints(1).to_string(), "0.01 %");
    }
}
