//! The domain's decisions name the fields of the fact; [`request_error`] names the request's.

use super::valid::*;
use super::*;

fn decide_all(writes: impl IntoIterator<Item = Write>) -> Organisation {
    let rules = RuleBook::standard();
    let ctx = Context::new(TODAY, &rules);
    let mut org = Organisation::default();
    for write in writes {
        let name = write.command.name();
        for event in org.decide(write.command, &ctx).unwrap_or_else(|e| panic!("{name}: {e}")) {
            org.apply(&event);
        }
    }
    org
}

fn registered_org() -> Organisation {
    decide_all([Write::try_from(register_organisation()).unwrap()])
}

/// The error deciding `write` against `org` gives, with the request's field.
fn refused(org: &Organisation, write: Result<Write>) -> Error {
    let command = write.unwrap().command;
    let rules = RuleBook::standard();
    let error = org.decide(command.clone(), &Context::new(TODAY, &rules)).expect_err("a refusal");
    request_error(&command, error)
}

#[track_caller]
fn assert_field(error: Error, field: &str) {
    assert_eq!(error.field(), Some(field), "{error}");
}

#[test]
fn paths_the_request_shares_with_the_fact_stay() {
    let mut r = change_status();
    r.reason = Some("  ".into());
    assert_field(refused(&registered_org(), Write::try_from(r)), "reason");

    let mut r = allocate_surplus();
    r.items[0].amount = pb_money("1", "TRY");
    assert_field(refused(&registered_org(), Write::try_from(r)), "items");
}

#[test]
fn the_organisation_is_the_headers() {
    let error = refused(&Organisation::default(), Write::try_from(change_status()));
    assert!(matches!(error, Error::Refused { .. }));
    assert_field(error, "header.organisation_id");
}

#[test]
fn a_tagged_union_gains_its_kind() {
    let mut r = record_register_entry();
    r.register = Some(pb::Register {
        kind: Some(pb::register::Kind::ItAlbo(pb::register::ItAlbo {
            section: pb::AlboSection::Prevalent as i32,
            category: " ".into(),
        })),
    });
    assert_field(refused(&registered_org(), Write::try_from(r.clone())), "register.it_albo.category");

    // The register as a whole keeps its name: an Italian register for a Turkish cooperative.
    if let Some(pb::register::Kind::ItAlbo(a)) = &mut r.register.as_mut().unwrap().kind {
        a.category = "cooperative di produzione".into();
    }
    assert_field(refused(&registered_org(), Write::try_from(r)), "register");
}

#[test]
fn a_person_kind_gains_its_kind() {
    let mut r = enrol_person_request();
    if let Some(pb::person_kind::Kind::Natural(n)) = &mut r.person_kind.as_mut().unwrap().kind {
        n.birth_year = Some(1850);
    }
    let write = crate::convert::enrol_person(r).unwrap().seal(|_, _| Ok::<_, Error>(sealed()));
    assert_field(refused(&registered_org(), write), "person_kind.natural.birth_year");

    // What the node sealed is reported as the personal data the client sent.
    let bad_seal = SealedPersonalData { nonce: vec![1, 2], ..sealed() };
    let write = crate::convert::enrol_person(enrol_person_request()).unwrap().seal(|_, _| Ok::<_, Error>(bad_seal));
    assert_field(refused(&registered_org(), write), "person_kind.natural.personal_data");

    let legal = pb::PersonKind {
        kind: Some(pb::person_kind::Kind::Legal(pb::person_kind::Legal {
            name: String::new(),
            external_id: None,
            organisation: None,
        })),
    };
    let r = pb::EnrolPersonRequest { person_kind: Some(legal), ..enrol_person_request() };
    let write = crate::convert::enrol_person(r).unwrap().seal(|_, _| Ok::<_, Error>(sealed()));
    assert_field(refused(&registered_org(), write), "person_kind.legal.name");
}

#[test]
fn a_recipient_gains_its_kind() {
    let in_liquidation = decide_all([
        Write::try_from(register_organisation()).unwrap(),
        Write::try_from(resolve_dissolution()).unwrap(),
    ]);
    let mut r = close_liquidation();
    if let Some(pb::recipient::Kind::SocialEconomyEntity(e)) = &mut r.devolved[1].to.as_mut().unwrap().kind {
        e.name = String::new();
    }
    assert_field(refused(&in_liquidation, Write::try_from(r)), "devolved[1].to.social_economy_entity.name");
}

#[test]
fn renamed_fields_take_their_wire_names() {
    let org = registered_org();

    let mut r = record_register_entry();
    r.valid_until = Some("2020-01-01".into());
    assert_field(refused(&org, Write::try_from(r)), "valid_until");

    let mut r = sign_commons_agreement();
    r.valid_until = Some("2024-04-30".into());
    assert_field(refused(&org, Write::try_from(r)), "valid_until");

    let mut r = transfer_shares();
    r.to_membership = r.from_membership.clone();
    assert_field(refused(&org, Write::try_from(r)), "to_membership");
    assert_field(refused(&org, Write::try_from(transfer_shares())), "from_membership");

    let mut r = convert_legal_form();
    r.from_legal_form.as_mut().unwrap().national = "dernek".into();
    assert_field(refused(&org, Write::try_from(r)), "from_legal_form");

    let mut r = convert_legal_form();
    r.to_legal_form.as_mut().unwrap().national = String::new();
    assert_field(refused(&org, Write::try_from(r)), "to_legal_form.national");
}

#[test]
fn request_field_rewrites_only_whole_segments() {
    let transfer = Write::try_from(transfer_shares()).unwrap().command;
    assert_eq!(request_field(&transfer, "to"), "to_membership");
    assert_eq!(request_field(&transfer, "total"), "total");
    assert_eq!(request_field(&transfer, "organisations[0]"), "organisations[0]");
    assert_eq!(request_field(&transfer, "organisation"), "header.organisation_id");
    let close = Write::try_from(close_liquidation()).unwrap().command;
    assert_eq!(request_field(&close, "devolved[0].to"), "devolved[0].to");
    assert_eq!(request_field(&close, "devolved[3].to.name"), "devolved[3].to.state.name");
    assert_eq!(request_field(&close, "devolved[9].to.name"), "devolved[9].to.name");
    assert_eq!(request_field(&close, "devolved[1].amount"), "devolved[1].amount");
}
