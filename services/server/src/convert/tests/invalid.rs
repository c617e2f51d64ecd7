//! Invalid requests are refused naming the field the client sent, as a path into the request, and
//! the rule it broke.

use super::valid::*;
use super::*;

/// `result` is an [`Error::Invalid`] on `field` whose rule mentions `rule`.
#[track_caller]
fn check<T: std::fmt::Debug>(result: Result<T>, field: &str, rule: &str) {
    match result {
        Err(Error::Invalid { field: f, rule: r }) => {
            assert_eq!(f, field, "field of {r:?}");
            assert!(r.contains(rule), "the rule of {field} says {r:?}, not {rule:?}");
        }
        other => panic!("expected {field} to be invalid ({rule}), got {other:?}"),
    }
}

#[test]
fn bad_currencies_name_the_money_field() {
    let mut r = register_organisation();
    r.subscribed_capital = pb_money("90000", "TL");
    check(Write::try_from(r), "subscribed_capital.currency", "ISO 4217");

    let mut r = allocate_surplus();
    r.items[1].amount = pb_money("190000", "XYZ");
    check(Write::try_from(r), "items[1].amount.currency", "ISO 4217");

    let mut r = allocate_surplus();
    r.surplus = pb_money("200000", "");
    check(Write::try_from(r), "surplus.currency", "is required");

    let mut r = approve_accounts();
    r.currency = "eur".into();
    check(Write::try_from(r), "currency", "ISO 4217");

    let mut r = approve_accounts();
    r.figures.as_mut().unwrap().equity = pb_money("1", "euro");
    check(Write::try_from(r), "figures.equity.currency", "ISO 4217");
}

#[test]
fn bad_decimals_name_the_amount() {
    for amount in ["1,000.00", "1e3", "12.5.1", "ten", " 10", "0x10"] {
        let mut r = allocate_surplus();
        r.items[0].amount = pb_money(amount, "TRY");
        check(Write::try_from(r), "items[0].amount.amount", "decimal");
    }
    let mut r = pay_in_capital();
    r.amount = pb_money("", "TRY");
    check(Write::try_from(r), "amount.amount", "is required");
}

#[test]
fn bad_dates_name_the_date_field() {
    let mut r = record_audit();
    r.occurred_on = "2026-5-15".into();
    check(Write::try_from(r), "occurred_on", "YYYY-MM-DD");

    let mut r = record_audit();
    r.period_until = "2025-02-29".into();
    check(Write::try_from(r), "period_until", "not a day of the calendar");

    let mut r = record_audit();
    r.period_from = "2024-13-01".into();
    check(Write::try_from(r), "period_from", "not a day of the calendar");

    let mut r = record_audit();
    r.occurred_on = String::new();
    check(Write::try_from(r), "occurred_on", "is required");

    let mut r = record_register_entry();
    r.valid_until = Some("31/12/2030".into());
    check(Write::try_from(r), "valid_until", "YYYY-MM-DD");

    let mut r = convene_assembly();
    r.second_call = Some("2026-04-19T10:00:00Z".into());
    check(Write::try_from(r), "second_call", "YYYY-MM-DD");
}

#[test]
fn missing_messages_are_required() {
    let mut r = register_organisation();
    r.seat = None;
    check(Write::try_from(r), "seat", "is required");

    let mut r = register_organisation();
    r.seat.as_mut().unwrap().lau = None;
    check(Write::try_from(r), "seat.lau", "is required");

    let mut r = approve_accounts();
    r.figures.as_mut().unwrap().net_result = None;
    check(Write::try_from(r), "figures.net_result", "is required");

    let mut r = declare_membership_snapshot();
    r.by_sex = None;
    check(Write::try_from(r), "by_sex", "is required");

    let mut r = close_liquidation();
    r.devolved[2].to = None;
    check(Write::try_from(r), "devolved[2].to", "is required");

    let mut r = change_status();
    r.header = None;
    check(Write::try_from(r), "header", "is required");
}

#[test]
fn unset_oneofs_name_their_message() {
    let mut r = record_register_entry();
    r.register = Some(pb::Register { kind: None });
    check(Write::try_from(r), "register", "must set one of it_albo, it_runts");

    let mut r = close_liquidation();
    r.devolved[0].to = Some(pb::Recipient { kind: None });
    check(Write::try_from(r), "devolved[0].to", "must set one of mutual_fund");

    let mut r = enrol_person_request();
    r.person_kind = Some(pb::PersonKind { kind: None });
    check(crate::convert::enrol_person(r), "person_kind", "must set one of natural, legal");

    check(import_item(pb::ImportRequest { command: None }), "command", "is required");
}

#[test]
fn unspecified_and_unknown_enums_name_the_field() {
    let mut r = register_organisation();
    r.family = pb::Family::Unspecified as i32;
    check(Write::try_from(r), "family", "FAMILY_UNSPECIFIED is not a value");

    let mut r = register_organisation();
    r.family = 99;
    check(Write::try_from(r), "family", "99 is not a value");

    let mut r = register_organisation();
    r.cooperative_type = Some(pb::CooperativeType::Unspecified as i32);
    check(Write::try_from(r), "cooperative_type", "COOPERATIVE_TYPE_UNSPECIFIED");

    let mut r = convene_assembly();
    r.agenda[1] = pb::Topic::Unspecified as i32;
    check(Write::try_from(r), "agenda[1]", "TOPIC_UNSPECIFIED");

    let mut r = sign_commons_agreement();
    r.parties[1].kind = pb::PartyKind::Unspecified as i32;
    check(Write::try_from(r), "parties[1].kind", "PARTY_KIND_UNSPECIFIED");

    let mut r = allocate_surplus();
    r.items[1].kind = 0;
    check(Write::try_from(r), "items[1].kind", "SURPLUS_KIND_UNSPECIFIED");

    let mut r = record_register_entry();
    r.register = Some(pb::Register {
        kind: Some(pb::register::Kind::ItAlbo(pb::register::ItAlbo { section: 0, category: "x".into() })),
    });
    check(Write::try_from(r), "register.it_albo.section", "ALBO_SECTION_UNSPECIFIED");

    let mut r = declare_membership_snapshot();
    r.by_category[0].category = 0;
    check(Write::try_from(r), "by_category[0].category", "MEMBER_CATEGORY_UNSPECIFIED");
}

#[test]
fn bad_uuids_name_the_id_field() {
    let mut r = change_status();
    r.header.as_mut().unwrap().request_id = "42".into();
    check(Write::try_from(r), "header.request_id", "must be a UUID");

    let mut r = change_status();
    r.header.as_mut().unwrap().request_id = String::new();
    check(Write::try_from(r), "header.request_id", "is required");

    let mut r = change_status();
    r.header.as_mut().unwrap().organisation_id = "00000000-0000-0000-0000-000000000000".into();
    check(Write::try_from(r), "header.organisation_id", "nil UUID");

    let mut r = change_status();
    r.header.as_mut().unwrap().request_id = "00000000-0000-0000-0000-000000000000".into();
    check(Write::try_from(r), "header.request_id", "nil UUID");

    let mut r = complete_merger();
    r.absorbed.push("org-42".into());
    check(Write::try_from(r), "absorbed[1]", "must be a UUID");

    let mut r = complete_merger();
    r.absorbing = String::new();
    check(Write::try_from(r), "absorbing", "is required");

    let mut r = amend_statute();
    r.assembly = Some("first assembly".into());
    check(Write::try_from(r), "assembly", "must be a UUID");

    let mut r = transfer_shares();
    r.to_membership = "x".into();
    check(Write::try_from(r), "to_membership", "must be a UUID");

    let mut r = close_liquidation();
    if let Some(pb::recipient::Kind::SocialEconomyEntity(e)) = &mut r.devolved[1].to.as_mut().unwrap().kind {
        e.organisation = Some("Ödemiş".into());
    }
    check(Write::try_from(r), "devolved[1].to.social_economy_entity.organisation", "must be a UUID");

    check(organisation_id("nope"), "organisation_id", "must be a UUID");
}

#[test]
fn bad_codes_and_countries_name_the_part() {
    let mut r = register_organisation();
    r.seat.as_mut().unwrap().lau = pb_code("35", "2021");
    check(Write::try_from(r), "seat.lau.code", "LAU");

    let mut r = register_organisation();
    r.activity.as_mut().unwrap().primary = pb_code("01.41", "3");
    check(Write::try_from(r), "activity.primary.version", "NACE");

    let mut r = register_organisation();
    r.activity.as_mut().unwrap().secondary[0].code = "1051".into();
    check(Write::try_from(r), "activity.secondary[0].code", "NACE");

    let mut r = register_organisation();
    r.business_model = pb_code("a b", "1");
    check(Write::try_from(r), "business_model.code", "ESSGlobal");

    let mut r = register_organisation();
    r.seat.as_mut().unwrap().country = "tr".into();
    check(Write::try_from(r), "seat.country", "upper-case");

    let mut r = register_organisation();
    r.seat.as_mut().unwrap().country = "XX".into();
    check(Write::try_from(r), "seat.country", "not an assigned");

    let mut r = sign_commons_agreement();
    r.municipality = pb_code("TR310", "2021");
    check(Write::try_from(r), "municipality.code", "LAU");
}

#[test]
fn bad_external_ids_and_names_name_the_part() {
    let mut r = register_organisation();
    r.external_ids[0].scheme = "TR-XYZ".into();
    check(Write::try_from(r), "external_ids[0].scheme", "org-id.guide prefix");

    let mut r = register_organisation();
    r.external_ids[0].id = "123".into();
    check(Write::try_from(r), "external_ids[0].id", "16 digits");

    let mut r = change_affiliation();
    r.federation.as_mut().unwrap().external_id.as_mut().unwrap().id = "12".into();
    check(Write::try_from(r), "federation.external_id.id", "10 digits");

    let mut r = register_organisation();
    r.names.as_mut().unwrap().by_language.insert("Turkish".into(), "Tire Süt".into());
    check(Write::try_from(r), "names.by_language.Turkish", "BCP 47");
}

#[test]
fn bad_numbers_name_the_field() {
    let mut r = register_organisation();
    r.fiscal_year_end = Some(pb::FiscalYearEnd { month: 13, day: 1 });
    check(Write::try_from(r), "fiscal_year_end.month", "1 to 12");

    let mut r = register_organisation();
    r.fiscal_year_end = Some(pb::FiscalYearEnd { month: 300, day: 1 });
    check(Write::try_from(r), "fiscal_year_end.month", "1 to 12");

    let mut r = register_organisation();
    r.fiscal_year_end = Some(pb::FiscalYearEnd { month: 2, day: 29 });
    check(Write::try_from(r), "fiscal_year_end.day", "1 to 28");

    let mut r = enrol_person_request();
    if let Some(pb::person_kind::Kind::Natural(n)) = &mut r.person_kind.as_mut().unwrap().kind {
        n.birth_year = Some(70_000);
    }
    check(crate::convert::enrol_person(r), "person_kind.natural.birth_year", "must be a year");

    let mut r = declare_membership_snapshot();
    r.by_category[1].category = r.by_category[0].category;
    check(Write::try_from(r), "by_category[1].category", "must not repeat");
}

#[test]
fn bad_personal_data_is_refused_before_sealing() {
    let natural = |edit: fn(&mut pb::person_kind::Natural)| {
        let mut r = enrol_person_request();
        if let Some(pb::person_kind::Kind::Natural(n)) = &mut r.person_kind.as_mut().unwrap().kind {
            edit(n);
        }
        crate::convert::enrol_person(r)
    };
    check(natural(|n| n.personal_data = None), "person_kind.natural.personal_data", "is required");
    check(
        natural(|n| n.personal_data.as_mut().unwrap().full_name = "  ".into()),
        "person_kind.natural.personal_data.full_name",
        "blank",
    );
    check(
        natural(|n| n.personal_data.as_mut().unwrap().email = "a\nb".into()),
        "person_kind.natural.personal_data.email",
        "control characters",
    );
    check(natural(|n| n.sex = pb::Sex::Unspecified as i32), "person_kind.natural.sex", "SEX_UNKNOWN");

    let legal = pb::PersonKind {
        kind: Some(pb::person_kind::Kind::Legal(pb::person_kind::Legal {
            name: "Tire Belediyesi".into(),
            external_id: Some(pb::ExternalId { scheme: "TR-VKN".into(), id: "12".into() }),
            organisation: None,
        })),
    };
    let r = pb::EnrolPersonRequest { person_kind: Some(legal), ..enrol_person_request() };
    check(crate::convert::enrol_person(r), "person_kind.legal.external_id.id", "10 digits");
}

#[test]
fn the_header_is_checked_before_the_fact() {
    let r = pb::AllocateSurplusRequest { header: None, surplus: None, ..allocate_surplus() };
    check(Write::try_from(r), "header", "is required");
}

#[test]
fn import_items_name_fields_as_their_rpc_does() {
    let mut r = allocate_surplus();
    r.items[1].amount = pb_money("190000", "XYZ");
    let item = pb::ImportRequest { command: Some(pb::import_request::Command::AllocateSurplus(r)) };
    check(import_item(item), "items[1].amount.currency", "ISO 4217");

    let mut r = enrol_person_request();
    r.person = "p1".into();
    let item = pb::ImportRequest { command: Some(pb::import_request::Command::EnrolPerson(r)) };
    check(import_item(item), "person", "must be a UUID");
}
