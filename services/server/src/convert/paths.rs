//! The field paths of the domain's decisions, as paths into the request the client sent.
//!
//! A request mirrors its stored fact field by field, so most paths [`imece_domain::decide`] reports
//! (`items[2].amount`, `seat.lau.code`) are already paths into the request. Three kinds differ:
//! - a tagged union of the domain is a message with a `oneof` on the wire, so the chosen kind is one
//!   more segment: `register.category` is `register.it_albo.category`;
//! - a field named `from` (a keyword in some client languages) has another name on the wire:
//!   `from` is `valid_from`, `from_membership` or `from_legal_form`, and `to` and `until` follow;
//! - the organisation is `header.organisation_id`.

use imece_domain::*;

/// `error` with its field as a path into the request `command` was converted from. Errors other
/// than [`Error::Invalid`] and [`Error::Refused`] are unchanged.
pub fn request_error(command: &Command, error: Error) -> Error {
    match error {
        Error::Invalid { field, rule } => Error::Invalid { field: request_field(command, &field), rule },
        Error::Refused { field, rule } => Error::Refused { field: request_field(command, &field), rule },
        other => other,
    }
}

/// The request's path for the domain's field `field` of `command`.
pub fn request_field(command: &Command, field: &str) -> String {
    use Command as C;
    if let Some(rest) = strip(field, "organisation") {
        return format!("header.organisation_id{rest}");
    }
    let renamed = match command {
        C::RecordRegisterEntry(c) => rename(field, &[("from", "valid_from"), ("until", "valid_until")])
            .or_else(|| with_kind(field, "register", register_kind(&c.register))),
        C::SignCommonsAgreement(_) => rename(field, &[("from", "valid_from"), ("until", "valid_until")]),
        C::TransferShares(_) => rename(field, &[("from", "from_membership"), ("to", "to_membership")]),
        C::ConvertLegalForm(_) => rename(field, &[("from", "from_legal_form"), ("to", "to_legal_form")]),
        C::EnrolPerson(c) => person_kind_field(field, &c.person_kind),
        C::CloseLiquidation(c) => devolved_field(field, &c.devolved),
        _ => None,
    };
    renamed.unwrap_or_else(|| field.to_owned())
}

/// What follows `name` in `field`, if `field` is `name` or a path under it.
fn strip<'a>(field: &'a str, name: &str) -> Option<&'a str> {
    field.strip_prefix(name).filter(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

fn rename(field: &str, names: &[(&str, &str)]) -> Option<String> {
    names.iter().find_map(|(domain, wire)| strip(field, domain).map(|rest| format!("{wire}{rest}")))
}

/// `union.x` as `union.kind.x`; `union` itself stays.
fn with_kind(field: &str, union: &str, kind: &str) -> Option<String> {
    strip(field, union).filter(|rest| !rest.is_empty()).map(|rest| format!("{union}.{kind}{rest}"))
}

fn register_kind(r: &Register) -> &'static str {
    match r {
        Register::ItAlbo { .. } => "it_albo",
        Register::ItRunts { .. } => "it_runts",
        Register::TrKoopbis => "tr_koopbis",
        Register::FrEss => "fr_ess",
        Register::GbMpr => "gb_mpr",
        Register::Other { .. } => "other",
    }
}

fn person_kind_field(field: &str, kind: &PersonKind) -> Option<String> {
    match kind {
        // The sealed value is the node's, not the client's: its parts are the personal data sent.
        PersonKind::Natural { .. } => match strip(field, "person_kind.personal_data") {
            Some(_) => Some("person_kind.natural.personal_data".to_owned()),
            None => with_kind(field, "person_kind", "natural"),
        },
        PersonKind::Legal { .. } => with_kind(field, "person_kind", "legal"),
    }
}

/// `devolved[i].to.x` as `devolved[i].to.<kind>.x`.
fn devolved_field(field: &str, devolved: &[Devolution]) -> Option<String> {
    let (index, rest) = field.strip_prefix("devolved[")?.split_once(']')?;
    let to = strip(rest, ".to")?;
    let kind = match &devolved.get(index.parse::<usize>().ok()?)?.to {
        Recipient::MutualFund => "mutual_fund",
        Recipient::SocialEconomyEntity { .. } => "social_economy_entity",
        Recipient::Members => "members",
        Recipient::State => "state",
    };
    (!to.is_empty()).then(|| format!("devolved[{index}].to.{kind}{to}"))
}
