//! The values every request shares, from the wire to the domain: header, ids, dates, money, codes,
//! names, enums; and the few helpers that give every conversion the same shape.
//!
//! Each helper reports errors relative to the value it converts (`amount`, `currency`), and the
//! caller places them under the field that holds it with [`Error::within`]: `items[2].amount.currency`.

use std::str::FromStr;

use imece_domain::time::Month;
use imece_domain::*;
use imece_proto::v1 as pb;
use uuid::Uuid;

use super::Write;
use crate::registry::RequestMeta;

/// [`Error::Invalid`] on `field`: the field was left out.
pub(super) fn missing(field: &str) -> Error {
    Error::invalid(field, "is required")
}

/// [`Error::Invalid`] on a message whose oneof `kind` is unset, to be placed with [`Error::within`].
pub(super) fn no_kind(kinds: &[&str]) -> Error {
    Error::invalid("", format!("must set one of {}", kinds.join(", ")))
}

/// The same error on `field` instead of the field the domain's parser named: `OrgId::parse` says
/// `organisation`, the request calls it `absorbing`.
pub(super) fn at(field: &str) -> impl FnOnce(Error) -> Error + '_ {
    move |e| match e {
        Error::Invalid { rule, .. } => Error::invalid(field, rule),
        other => other.within(field),
    }
}

/// A required message field, converted, with its errors placed under `field`.
pub(super) fn message<T, U>(value: Option<T>, field: &str, convert: impl FnOnce(T) -> Result<U>) -> Result<U> {
    convert(value.ok_or_else(|| missing(field))?).map_err(|e| e.within(field))
}

/// An optional message field, converted if present, with its errors placed under `field`.
pub(super) fn optional<T, U>(value: Option<T>, field: &str, convert: impl FnOnce(T) -> Result<U>) -> Result<Option<U>> {
    value.map(|v| convert(v).map_err(|e| e.within(field))).transpose()
}

/// A repeated field, each item converted, with its errors placed under `field[i]`.
pub(super) fn each<T, U>(items: Vec<T>, field: &str, convert: impl Fn(T) -> Result<U>) -> Result<Vec<U>> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| convert(item).map_err(|e| e.within(format!("{field}[{i}]"))))
        .collect()
}

/// The header every command carries, then the command built for the organisation it names.
pub(super) fn write(h: Option<pb::CommandHeader>, command: impl FnOnce(OrgId) -> Result<Command>) -> Result<Write> {
    let (organisation, meta) = header(h)?;
    Ok(Write { organisation, meta, command: command(organisation)? })
}

/// The organisation and the request's meta, from the header every command carries.
pub(super) fn header(h: Option<pb::CommandHeader>) -> Result<(OrgId, RequestMeta)> {
    message(h, "header", header_values)
}

fn header_values(h: pb::CommandHeader) -> Result<(OrgId, RequestMeta)> {
    let request_id = request_id(&h.request_id).map_err(|e| e.within("request_id"))?;
    let organisation = id(&h.organisation_id, "organisation_id")?;
    Ok((organisation, RequestMeta { request_id, expected_version: h.expected_version }))
}

fn request_id(s: &str) -> Result<Uuid> {
    if s.is_empty() {
        return Err(missing(""));
    }
    let id = Uuid::try_parse(s).map_err(|e| Error::invalid("", format!("must be a UUID ({e})")))?;
    if id.is_nil() {
        return Err(Error::invalid("", "must not be the nil UUID"));
    }
    Ok(id)
}

/// A required id (`OrgId`, `PersonRef`, …) on `field`.
pub(super) fn id<T: FromStr<Err = Error>>(s: &str, field: &str) -> Result<T> {
    if s.is_empty() {
        return Err(missing(field));
    }
    s.parse().map_err(at(field))
}

/// An optional id on `field`: absent is `None`; present, it must be a UUID.
pub(super) fn optional_id<T: FromStr<Err = Error>>(s: Option<String>, field: &str) -> Result<Option<T>> {
    s.map(|s| s.parse().map_err(at(field))).transpose()
}

/// A required date `YYYY-MM-DD` on `field`.
pub(super) fn date(s: &str, field: &str) -> Result<Date> {
    if s.is_empty() {
        return Err(missing(field));
    }
    parse_date(s).map_err(|rule| Error::invalid(field, rule))
}

/// An optional date on `field`.
pub(super) fn optional_date(s: Option<String>, field: &str) -> Result<Option<Date>> {
    s.map(|s| parse_date(&s).map_err(|rule| Error::invalid(field, rule))).transpose()
}

fn parse_date(s: &str) -> std::result::Result<Date, String> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return Err(format!("must be a date written YYYY-MM-DD, is {s:?}"));
    }
    // The shape guarantees digits, so these parse.
    let (year, month, day) = (s[..4].parse::<i32>(), s[5..7].parse::<u8>(), s[8..].parse::<u8>());
    let (Ok(year), Ok(month), Ok(day)) = (year, month, day) else {
        return Err(format!("must be a date written YYYY-MM-DD, is {s:?}"));
    };
    Month::try_from(month)
        .ok()
        .and_then(|month| Date::from_calendar_date(year, month, day).ok())
        .ok_or_else(|| format!("{s} is not a day of the calendar"))
}

/// A date as the API writes it: `YYYY-MM-DD`.
pub(super) fn date_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// A currency code; errors on `currency`.
pub(super) fn currency(s: &str) -> Result<Currency> {
    if s.is_empty() {
        return Err(missing("currency"));
    }
    s.parse()
}

/// Money; errors on `amount` or `currency`.
pub(super) fn money(m: pb::Money) -> Result<Money> {
    let currency = currency(&m.currency)?;
    if m.amount.is_empty() {
        return Err(missing("amount"));
    }
    Money::parse(&m.amount, currency)
}

/// Money as the API writes it.
pub(super) fn money_proto(m: &Money) -> pb::Money {
    pb::Money { amount: m.amount.to_string(), currency: m.currency.code().to_owned() }
}

/// A code of `scheme`; errors on `code` or `version`.
pub(super) fn code(scheme: Scheme) -> impl Fn(pb::Code) -> Result<Code> {
    move |c| Code::new(scheme, c.code, c.version)
}

/// An ISO 3166-1 alpha-2 country; errors on `field`.
pub(super) fn country(s: &str, field: &str) -> Result<CountryCode> {
    if s.is_empty() {
        return Err(missing(field));
    }
    CountryCode::parse(s).map_err(at(field))
}

/// An id in another register; errors on `scheme` or `id`.
pub(super) fn external_id(e: pb::ExternalId) -> Result<ExternalId> {
    let Some(scheme) = IdScheme::ALL.iter().find(|s| s.prefix() == e.scheme) else {
        let known = IdScheme::ALL.iter().map(|s| s.prefix()).collect::<Vec<_>>().join(", ");
        return Err(Error::invalid(
            "scheme",
            format!("must be an org-id.guide prefix ({known}); {:?} is not", e.scheme),
        ));
    };
    ExternalId::new(*scheme, e.id)
}

/// Names; errors on `legal` or `by_language.<tag>`.
pub(super) fn names(n: pb::Names) -> Result<Names> {
    let mut by_language = std::collections::BTreeMap::new();
    for (tag, name) in n.by_language {
        let field = format!("by_language.{tag}");
        by_language.insert(LanguageTag::new(tag).map_err(at(&field))?, name);
    }
    Ok(Names { legal: n.legal, by_language })
}

/// Names as the API writes them.
pub(super) fn names_proto(n: &Names) -> pb::Names {
    pb::Names {
        legal: n.legal.clone(),
        by_language: n.by_language.iter().map(|(tag, name)| (tag.as_str().to_owned(), name.clone())).collect(),
    }
}

/// The end of a fiscal year; errors on `month` or `day`.
pub(super) fn fiscal_year_end(f: pb::FiscalYearEnd) -> Result<FiscalYearEnd> {
    let month =
        u8::try_from(f.month).map_err(|_| Error::invalid("month", format!("must be 1 to 12, is {}", f.month)))?;
    let day = u8::try_from(f.day).map_err(|_| Error::invalid("day", format!("must be 1 to 31, is {}", f.day)))?;
    let end = FiscalYearEnd { month, day };
    end.validate()?;
    Ok(end)
}

/// A proto enum's value as the domain's enum, and back. `_UNSPECIFIED` and values this build does
/// not know are refused, naming the field.
pub(super) trait ProtoEnum: Sized {
    /// The domain value of the wire value `v`; errors on the empty field, to be placed with
    /// [`Error::within`].
    fn from_proto(v: i32) -> Result<Self>;
    /// The wire value.
    fn to_proto(self) -> i32;
}

/// A required enum on `field`.
pub(super) fn enumeration<E: ProtoEnum>(v: i32, field: &str) -> Result<E> {
    E::from_proto(v).map_err(|e| e.within(field))
}

/// An optional enum on `field`: absent is `None`; present, `_UNSPECIFIED` is refused.
pub(super) fn optional_enumeration<E: ProtoEnum>(v: Option<i32>, field: &str) -> Result<Option<E>> {
    v.map(|v| enumeration(v, field)).transpose()
}

macro_rules! enums {
    ($($name:ident { $($variant:ident),+ $(,)? })+) => {$(
        impl ProtoEnum for $name {
            fn from_proto(v: i32) -> Result<Self> {
                match pb::$name::try_from(v) {
                    $(Ok(pb::$name::$variant) => Ok($name::$variant),)+
                    Ok(pb::$name::Unspecified) => Err(Error::invalid(
                        "",
                        format!(
                            "is required: one of {}; {} is not a value",
                            [$(pb::$name::$variant.as_str_name()),+].join(", "),
                            pb::$name::Unspecified.as_str_name(),
                        ),
                    )),
                    Err(_) => Err(Error::invalid(
                        "",
                        format!(
                            "must be one of {}; {v} is not a value this node knows",
                            [$(pb::$name::$variant.as_str_name()),+].join(", "),
                        ),
                    )),
                }
            }

            fn to_proto(self) -> i32 {
                match self {
                    $($name::$variant => pb::$name::$variant as i32,)+
                }
            }
        }
    )+};
}

enums! {
    Family { Cooperative, Mutual, Association, Foundation, SocialEnterprise, Other }
    CooperativeType { Producer, Worker, ConsumerUser, MultiStakeholder }
    AlboSection { Prevalent, NonPrevalent }
    VotingRule { OneMemberOneVote, Weighted, Capped }
    Status { Active, Inactive, Suspended, UnderAdministration }
    DissolutionKind { Voluntary, Court, Administrative, Merger, FailureToAdaptStatute, DeemedByLaw }
    MergerKind { Absorption, NewEntity, TransferOfEngagements }
    AffiliationChange { Joined, Left }
    CommonsAsset { SocialCentre, Garden, Building, Space, Other }
    PartyKind { PublicBody, Organisation, InformalGroup }
    AgreementEnd { Expired, Terminated, Withdrawn }
    Sex { Female, Male, Other, Unknown }
    MemberCategory { User, Worker, Producer, Volunteer, Investor, Other }
    ExitReason { Withdrawal, Expulsion, Death, Transfer, Dissolution }
    AssemblyKind { Ordinary, Extraordinary }
    Topic { Accounts, SurplusAllocation, BoardElection, Statute, Dissolution, Merger, Affiliation, Other }
    Outcome { Adopted, Rejected }
    Organ { Board, Supervisory, Auditors }
    SeatChange { Elected, CoOpted, Resigned, Removed, TermEnded }
    SurplusKind {
        LegalReserve, IndivisibleReserve, DivisibleReserve, MutualFund, PatronageRefund, CapitalInterest,
        WorkerShare, EducationFund, CommunityFund, LossCoverage, Other,
    }
    AuditKind { Revisione, Ministry, Statutory, Other }
    AuditOutcome { Passed, PassedWithRemarks, Irregularities, Failed }
    SanctionKind { Commissariamento, RemovalFromRegister, Fine, ForcedDissolution }
}

/// A legal form; errors on `elf.*` or `national`.
pub(super) fn legal_form(f: pb::LegalForm) -> Result<LegalForm> {
    Ok(LegalForm { elf: optional(f.elf, "elf", code(Scheme::Elf))?, national: f.national })
}

/// A seat; errors on `country`, `lau.*`, `nuts3.*`.
pub(super) fn seat(s: pb::Seat) -> Result<Seat> {
    Ok(Seat {
        country: country(&s.country, "country")?,
        lau: message(s.lau, "lau", code(Scheme::Lau))?,
        nuts3: message(s.nuts3, "nuts3", code(Scheme::Nuts))?,
        address: s.address,
    })
}

/// An activity; errors on `primary.*` or `secondary[i].*`.
pub(super) fn activity(a: pb::Activity) -> Result<Activity> {
    Ok(Activity {
        primary: message(a.primary, "primary", code(Scheme::Nace))?,
        secondary: each(a.secondary, "secondary", code(Scheme::Nace))?,
    })
}
