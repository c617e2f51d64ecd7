//! Codes from outside standards: countries, classifications with their version, external
//! identifiers with their org-id.guide scheme, language tags.
//!
//! Deserialising checks only the shape that makes a value usable; the full checks (an assigned
//! country, a known classification version, a check digit) run when a command is decided, through
//! each type's `validate`, so a rule tightened later never makes a stored event unreadable.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

/// Every officially assigned ISO 3166-1 alpha-2 code (249), plus `XK`, the user-assigned code the
/// European Commission uses for Kosovo.
const ASSIGNED: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
    BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
    DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU \
    ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ \
    LA LB LC LI LK LR LS LT LU LV LY \
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
    NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA \
    RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
    TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU \
    WF WS XK YE YT ZA ZM ZW";

/// An ISO 3166-1 alpha-2 country code: the jurisdiction of an organisation's seat.
///
/// [`CountryCode::parse`] accepts only assigned codes; the partner network's countries are
/// constants.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    pub const AT: CountryCode = CountryCode(*b"AT");
    pub const BE: CountryCode = CountryCode(*b"BE");
    pub const DE: CountryCode = CountryCode(*b"DE");
    pub const ES: CountryCode = CountryCode(*b"ES");
    pub const FR: CountryCode = CountryCode(*b"FR");
    pub const GB: CountryCode = CountryCode(*b"GB");
    pub const GR: CountryCode = CountryCode(*b"GR");
    pub const IT: CountryCode = CountryCode(*b"IT");
    pub const LT: CountryCode = CountryCode(*b"LT");
    pub const PL: CountryCode = CountryCode(*b"PL");
    pub const PT: CountryCode = CountryCode(*b"PT");
    pub const SE: CountryCode = CountryCode(*b"SE");
    pub const TR: CountryCode = CountryCode(*b"TR");

    /// An assigned code, in upper case (`"TR"`). Field `country` on failure.
    pub fn parse(code: &str) -> Result<Self> {
        let c = Self::parse_shape(code)?;
        c.validate()?;
        Ok(c)
    }

    fn parse_shape(code: &str) -> Result<Self> {
        match code.as_bytes() {
            [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Ok(CountryCode([*a, *b])),
            _ => Err(Error::invalid(
                "country",
                format!("must be two upper-case letters (ISO 3166-1 alpha-2), is {code:?}"),
            )),
        }
    }

    /// [`Error::Invalid`] unless the code is assigned.
    pub fn validate(&self) -> Result<()> {
        // Two letters and a space each (the literal's line breaks vanish): a stride of three.
        if ASSIGNED.as_bytes().chunks(3).any(|c| c[..2] == self.0) {
            Ok(())
        } else {
            Err(Error::invalid("country", format!("{self} is not an assigned ISO 3166-1 alpha-2 code")))
        }
    }

    /// The code as a string slice.
    pub fn as_str(&self) -> &str {
        // Only ever built from two ASCII upper-case letters.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CountryCode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        CountryCode::parse(s)
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        CountryCode::parse_shape(&s).map_err(serde::de::Error::custom)
    }
}

/// A classification scheme whose codes the registry stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// NACE, the EU classification of economic activities: versions `2` (Rev. 2) and `2.1`.
    Nace,
    /// NUTS, the EU's statistical regions: version is the year of the edition (`2021`).
    Nuts,
    /// Local administrative units, as Eurostat's GISCO id `CC_code` (`IT_035033`): version is the
    /// year of the list.
    Lau,
    /// ISO 20275 entity legal forms (4 characters): version of the code list (`1.5`).
    Elf,
    /// ESSGlobal vocabularies (RIPESS), e.g. the business-model type of a cooperative.
    EssGlobal,
}

impl Scheme {
    fn name(self) -> &'static str {
        match self {
            Scheme::Nace => "NACE",
            Scheme::Nuts => "NUTS",
            Scheme::Lau => "LAU",
            Scheme::Elf => "ELF",
            Scheme::EssGlobal => "ESSGlobal",
        }
    }
}

/// A classification code with its scheme and version: `{nace, "88.99", "2.1"}`,
/// `{nuts, "ITH53", "2021"}`. Classifications change, so a code never travels without the edition
/// it belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Code {
    pub scheme: Scheme,
    pub code: String,
    pub version: String,
}

impl Code {
    /// A checked code. Fields `code` and `version` on failure.
    pub fn new(scheme: Scheme, code: impl Into<String>, version: impl Into<String>) -> Result<Self> {
        let c = Code { scheme, code: code.into(), version: version.into() };
        c.validate()?;
        Ok(c)
    }

    /// A NACE code.
    pub fn nace(code: &str, version: &str) -> Result<Self> {
        Code::new(Scheme::Nace, code, version)
    }

    /// A NUTS code.
    pub fn nuts(code: &str, version: &str) -> Result<Self> {
        Code::new(Scheme::Nuts, code, version)
    }

    /// A LAU code as GISCO writes it, `CC_code`.
    pub fn lau(code: &str, version: &str) -> Result<Self> {
        Code::new(Scheme::Lau, code, version)
    }

    /// [`Error::Invalid`] on `code` or `version` unless both have the scheme's shape.
    pub fn validate(&self) -> Result<()> {
        let code = self.code.as_str();
        let version = self.version.as_str();
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let upper_alnum = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
        let dotted_number = |s: &str| s.split('.').all(digits);
        let (code_ok, code_rule, version_ok, version_rule) = match self.scheme {
            Scheme::Nace => (
                match code.as_bytes() {
                    [s] => (b'A'..=b'U').contains(s),
                    _ => match code.split_once('.') {
                        None => code.len() == 2 && digits(code),
                        Some((div, rest)) => {
                            div.len() == 2 && digits(div) && (1..=2).contains(&rest.len()) && digits(rest)
                        }
                    },
                },
                "a section letter A-U, a division (88), a group (88.9) or a class (88.99)",
                matches!(version, "2" | "2.1"),
                "2 (Rev. 2) or 2.1",
            ),
            Scheme::Nuts => (
                (2..=5).contains(&code.len())
                    && code.as_bytes()[..2].iter().all(u8::is_ascii_uppercase)
                    && upper_alnum(code),
                "a country code and up to three level characters (ITH53)",
                matches!(version, "2003" | "2006" | "2010" | "2013" | "2016" | "2021" | "2024"),
                "a NUTS edition year (2003, 2006, 2010, 2013, 2016, 2021, 2024)",
            ),
            Scheme::Lau => (
                code.split_once('_').is_some_and(|(cc, local)| {
                    cc.len() == 2
                        && cc.bytes().all(|b| b.is_ascii_uppercase())
                        && (1..=12).contains(&local.len())
                        && upper_alnum(local)
                }),
                "GISCO's country_code form (IT_035033)",
                version.len() == 4 && digits(version),
                "the year of the LAU list",
            ),
            Scheme::Elf => (
                code.len() == 4 && upper_alnum(code),
                "four characters, digits or upper-case letters (ISO 20275)",
                dotted_number(version),
                "the code list version (1.5)",
            ),
            Scheme::EssGlobal => (
                (1..=64).contains(&code.len())
                    && code.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
                "1 to 64 letters, digits, '-', '_' or '.'",
                (1..=16).contains(&version.len()) && version.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.'),
                "1 to 16 letters, digits or '.'",
            ),
        };
        if !code_ok {
            return Err(Error::invalid(
                "code",
                format!("a {} code must be {code_rule}; {code:?} is not", self.scheme.name()),
            ));
        }
        if !version_ok {
            return Err(Error::invalid(
                "version",
                format!("a {} version must be {version_rule}; {version:?} is not", self.scheme.name()),
            ));
        }
        Ok(())
    }

    /// [`Error::Invalid`] on `scheme` unless the code is of `scheme`.
    pub fn require_scheme(&self, scheme: Scheme) -> Result<()> {
        if self.scheme != scheme {
            return Err(Error::invalid("scheme", format!("must be {}, is {}", scheme.name(), self.scheme.name())));
        }
        Ok(())
    }

    /// The NUTS level (0 to 3) of a NUTS code.
    pub fn nuts_level(&self) -> Option<usize> {
        (self.scheme == Scheme::Nuts).then(|| self.code.len().saturating_sub(2))
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.scheme.name(), self.code, self.version)
    }
}

macro_rules! id_schemes {
    ($($variant:ident = $prefix:literal: $doc:literal),+ $(,)?) => {
        /// An org-id.guide registration scheme: the prefix of an [`ExternalId`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum IdScheme {
            $(#[doc = $doc] $variant,)+
        }

        impl IdScheme {
            /// Every scheme, with its prefix.
            pub const ALL: &'static [IdScheme] = &[$(IdScheme::$variant),+];

            /// The org-id.guide prefix, e.g. `TR-MERSIS`.
            pub const fn prefix(self) -> &'static str {
                match self {
                    $(IdScheme::$variant => $prefix,)+
                }
            }
        }
    };
}

id_schemes! {
    ItCf = "IT-CF": "Italy: codice fiscale of a legal entity, 11 digits with a check digit.",
    TrVkn = "TR-VKN": "Türkiye: tax number (vergi kimlik numarası), 10 digits.",
    TrMersis = "TR-MERSIS": "Türkiye: central registry number (MERSİS), 16 digits.",
    FrSiren = "FR-SIREN": "France: SIREN, 9 digits with a Luhn check digit.",
    FrRna = "FR-RNA": "France: register of associations, W and 9 digits.",
    GbMpr = "GB-MPR": "United Kingdom: FCA Mutuals Public Register number (12345R, IP12345R).",
    GbCoh = "GB-COH": "United Kingdom: Companies House number, 8 characters.",
    XiLei = "XI-LEI": "Global Legal Entity Identifier (ISO 17442), 20 characters with check digits.",
}

/// An identifier of an organisation in another register, with its org-id.guide scheme. Written as
/// the scheme's prefix, a hyphen and the id: `FR-SIREN-732829320`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExternalId {
    scheme: IdScheme,
    id: String,
}

impl ExternalId {
    /// A checked id in `scheme`. Field `id` on failure.
    pub fn new(scheme: IdScheme, id: impl Into<String>) -> Result<Self> {
        let e = ExternalId { scheme, id: id.into() };
        e.validate()?;
        Ok(e)
    }

    /// The scheme.
    pub fn scheme(&self) -> IdScheme {
        self.scheme
    }

    /// The id within its scheme, without the prefix.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// [`Error::Invalid`] on `id` unless the id has its scheme's shape and check digits.
    pub fn validate(&self) -> Result<()> {
        let id = self.id.as_str();
        let digits = |n: usize| id.len() == n && id.bytes().all(|b| b.is_ascii_digit());
        let (ok, rule) = match self.scheme {
            IdScheme::ItCf => (digits(11) && luhn(id), "11 digits with a valid check digit"),
            IdScheme::TrVkn => (digits(10), "10 digits"),
            IdScheme::TrMersis => (digits(16), "16 digits"),
            IdScheme::FrSiren => (digits(9) && luhn(id), "9 digits with a valid Luhn check digit"),
            IdScheme::FrRna => (
                id.len() == 10 && id.starts_with('W') && id[1..].bytes().all(|b| b.is_ascii_digit()),
                "W followed by 9 digits",
            ),
            IdScheme::GbMpr => (
                (1..=10).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
                "1 to 10 digits or upper-case letters",
            ),
            IdScheme::GbCoh => (
                id.len() == 8 && id.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
                "8 digits or upper-case letters",
            ),
            IdScheme::XiLei => (
                id.len() == 20
                    && id.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
                    && iso7064_mod97(id) == Some(1),
                "20 digits or upper-case letters with valid ISO 17442 check digits",
            ),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::invalid("id", format!("a {} id must be {rule}; {id:?} is not", self.scheme.prefix())))
        }
    }

    fn parse_shape(s: &str) -> Result<Self> {
        // Longest prefix first would matter only if one prefix extended another; none does.
        for scheme in IdScheme::ALL {
            if let Some(id) = s.strip_prefix(scheme.prefix()).and_then(|rest| rest.strip_prefix('-'))
                && !id.is_empty()
            {
                return Ok(ExternalId { scheme: *scheme, id: id.to_owned() });
            }
        }
        let known = IdScheme::ALL.iter().map(|s| s.prefix()).collect::<Vec<_>>().join(", ");
        Err(Error::invalid(
            "id",
            format!("must start with a known org-id.guide prefix ({known}) and a hyphen; {s:?} does not"),
        ))
    }
}

/// The Luhn check used by SIREN and by the Italian codice fiscale of legal entities.
fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// ISO 7064 MOD 97-10 over letters (A = 10 … Z = 35) and digits, as ISO 17442 uses it.
fn iso7064_mod97(s: &str) -> Option<u32> {
    let mut rem = 0u32;
    for b in s.bytes() {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return None,
        };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    Some(rem)
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.scheme.prefix(), self.id)
    }
}

impl fmt::Debug for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for ExternalId {
    type Err = Error;
    /// Parses `PREFIX-id` and checks it.
    fn from_str(s: &str) -> Result<Self> {
        let e = ExternalId::parse_shape(s)?;
        e.validate()?;
        Ok(e)
    }
}

impl Serialize for ExternalId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ExternalId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        ExternalId::parse_shape(&s).map_err(serde::de::Error::custom)
    }
}

/// A BCP 47 language tag, as far as names need one: a primary language of 2 or 3 lower-case
/// letters and optional subtags (`tr`, `it`, `sr-Latn`, `fr-BE`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LanguageTag(String);

impl LanguageTag {
    /// A checked tag. Field `language` on failure.
    pub fn new(tag: impl Into<String>) -> Result<Self> {
        let t = LanguageTag(tag.into());
        t.validate()?;
        Ok(t)
    }

    /// The tag as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// [`Error::Invalid`] on `language` unless the tag has the shape above.
    pub fn validate(&self) -> Result<()> {
        let mut parts = self.0.split('-');
        let primary = parts.next().unwrap_or_default();
        let ok = (2..=3).contains(&primary.len())
            && primary.bytes().all(|b| b.is_ascii_lowercase())
            && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if ok {
            Ok(())
        } else {
            Err(Error::invalid("language", format!("must be a BCP 47 tag like tr, it or fr-BE; {:?} is not", self.0)))
        }
    }
}

/// An organisation's names: the legal name as registered, and names by language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Names {
    /// The name as it stands in the register.
    pub legal: String,
    /// The name in other languages, by BCP 47 tag.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_language: BTreeMap<LanguageTag, String>,
}

impl Names {
    /// Just a legal name.
    pub fn legal(name: impl Into<String>) -> Self {
        Names { legal: name.into(), by_language: BTreeMap::new() }
    }

    /// [`Error::Invalid`] on `legal` or `by_language.<tag>` if a name is blank or too long.
    pub fn validate(&self) -> Result<()> {
        require_text("legal", &self.legal, 300)?;
        for (tag, name) in &self.by_language {
            tag.validate().map_err(|e| e.within(format!("by_language.{}", tag.as_str())))?;
            require_text(&format!("by_language.{}", tag.as_str()), name, 300)?;
        }
        Ok(())
    }
}

/// [`Error::Invalid`] on `field` unless `text` is non-blank, at most `max` characters, without
/// control characters.
pub fn require_text(field: &str, text: &str, max: usize) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::invalid(field, "must not be blank"));
    }
    let len = text.chars().count();
    if len > max {
        return Err(Error::invalid(field, format!("must be at most {max} characters, is {len}")));
    }
    if text.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_assigned_list_has_every_code_once() {
        let codes: Vec<&str> = ASSIGNED.split_ascii_whitespace().collect();
        assert_eq!(codes.len(), 250, "249 assigned codes and XK");
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, codes, "sorted, without repeats");
        // `validate` reads the list with a stride of three bytes.
        assert_eq!(ASSIGNED.len(), 250 * 3 - 1);
        assert!(
            ASSIGNED
                .as_bytes()
                .chunks(3)
                .all(|c| c[..2].iter().all(u8::is_ascii_uppercase) && c.get(2).is_none_or(|b| *b == b' '))
        );
        assert!(
            CountryCode::parse("XK").is_ok() && CountryCode::parse("ZW").is_ok() && CountryCode::parse("AD").is_ok()
        );
        assert!(CountryCode::parse("ZZ").is_err());
    }

    #[test]
    fn check_digits() {
        assert!(luhn("732829320"));
        assert!(!luhn("732829321"));
        // The check digits of an LEI are chosen so that the whole code is 1 modulo 97.
        assert_eq!(iso7064_mod97("5493001KJTIIGC8Y1R12"), Some(1));
    }
}
