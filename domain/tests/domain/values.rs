//! Value types: money arithmetic and its wire form, codes, ids.

use imece_domain::time::macros::date;
use imece_domain::*;

use crate::support::*;

#[test]
fn money_of_one_currency_adds_and_subtracts_exactly() {
    let a = eur("0.10");
    let b = eur("0.20");
    assert_eq!(a.checked_add(&b).unwrap(), eur("0.30"));
    assert_eq!(a.checked_sub(&b).unwrap(), eur("-0.10"));
    assert!(a.checked_sub(&b).unwrap().is_negative());
    assert_eq!(Money::sum(Currency::EUR, [&a, &b, &a]).unwrap(), eur("0.40"));
    assert_eq!(Money::sum(Currency::TRY, []).unwrap(), Money::zero(Currency::TRY));
}

#[test]
fn money_of_different_currencies_is_never_added() {
    let err = eur("1").checked_add(&tl("1")).unwrap_err();
    assert_eq!(err, Error::CurrencyMismatch { left: Currency::EUR, right: Currency::TRY });
    assert!(eur("1").checked_sub(&money("1", Currency::SEK)).is_err());
    assert!(Money::sum(Currency::EUR, [&eur("1"), &money("1", Currency::PLN)]).is_err());
    // Inside a command, the mismatch names the field.
    assert_eq!(err.within("items").field(), Some("items"));
}

#[test]
fn money_overflow_is_an_error_not_a_panic() {
    let max = Money::new(rust_decimal::Decimal::MAX, Currency::EUR);
    assert!(matches!(max.checked_add(&eur("1")), Err(Error::Overflow { .. })));
}

#[test]
fn money_shares_are_exact_in_basis_points() {
    assert_eq!(eur("35000.50").share(BasisPoints::from_percent(30)).unwrap(), eur("10500.15"));
    assert_eq!(tl("200000").share(BasisPoints(1000)).unwrap(), tl("20000"));
    assert_eq!(BasisPoints::ratio(&eur("3000"), &eur("10000")), Some(BasisPoints(3000)));
}

#[test]
fn money_is_a_string_on_the_wire_and_a_float_is_refused() {
    let json = serde_json::to_string(&eur("1250.50")).unwrap();
    assert_eq!(json, r#"{"amount":"1250.50","currency":"EUR"}"#);
    assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), eur("1250.50"));
    assert!(serde_json::from_str::<Money>(r#"{"amount":1250.5,"currency":"EUR"}"#).is_err());
    assert!(serde_json::from_str::<Money>(r#"{"amount":"1","currency":"XYZ"}"#).is_err());
}

#[test]
fn money_parse_rejects_what_is_not_a_decimal() {
    let err = Money::parse("12,50", Currency::EUR).unwrap_err();
    assert_eq!(err.field(), Some("amount"));
}

#[test]
fn currencies_of_the_network_parse_and_others_are_refused() {
    for code in ["EUR", "TRY", "SEK", "PLN", "GBP", "USD", "CHF", "DKK", "CZK", "HUF", "RON", "BGN"] {
        let c: Currency = code.parse().unwrap();
        assert_eq!(c.code(), code);
    }
    let err = "XYZ".parse::<Currency>().unwrap_err();
    assert_eq!(err.field(), Some("currency"));
    assert!(err.rule().unwrap().contains("EUR, GBP"), "the rule lists the known codes: {err}");
    assert!("eur".parse::<Currency>().is_err(), "codes are upper case");
}

#[test]
fn country_codes_must_be_assigned() {
    assert_eq!(CountryCode::parse("TR").unwrap(), CountryCode::TR);
    for code in ["IT", "FR", "SE", "BE", "AT", "PL", "LT", "GB", "XK"] {
        CountryCode::parse(code).unwrap();
    }
    assert_eq!(CountryCode::parse("tr").unwrap_err().field(), Some("country"));
    assert_eq!(CountryCode::parse("TUR").unwrap_err().field(), Some("country"));
    let err = CountryCode::parse("XX").unwrap_err();
    assert!(err.rule().unwrap().contains("not an assigned"), "{err}");
    // Greece is GR in ISO 3166, EL only in NUTS.
    assert!(CountryCode::parse("EL").is_err());
}

#[test]
fn a_stored_country_code_reads_even_if_no_longer_assigned() {
    // Decoding checks the shape only: withdrawing a code must not make history unreadable.
    let c: CountryCode = serde_json::from_str(r#""AN""#).unwrap();
    assert!(c.validate().is_err());
    assert!(serde_json::from_str::<CountryCode>(r#""an""#).is_err());
}

#[test]
fn classification_codes_carry_scheme_and_version() {
    let nace = Code::nace("88.99", "2.1").unwrap();
    assert_eq!(serde_json::to_string(&nace).unwrap(), r#"{"scheme":"nace","code":"88.99","version":"2.1"}"#);
    Code::nace("Q", "2").unwrap();
    Code::nace("88", "2").unwrap();
    Code::nace("88.9", "2").unwrap();
    assert_eq!(Code::nace("88.999", "2").unwrap_err().field(), Some("code"));
    assert_eq!(Code::nace("88.99", "3").unwrap_err().field(), Some("version"));

    let nuts = Code::nuts("ITH53", "2021").unwrap();
    assert_eq!(nuts.nuts_level(), Some(3));
    Code::nuts("ITD53", "2010").unwrap();
    assert_eq!(Code::nuts("ITH53", "2020").unwrap_err().field(), Some("version"));
    assert_eq!(Code::nuts("ith53", "2021").unwrap_err().field(), Some("code"));

    Code::lau("IT_075037", "2021").unwrap();
    Code::lau("FR_13055", "2021").unwrap();
    assert_eq!(Code::lau("075037", "2021").unwrap_err().field(), Some("code"));
    Code::new(Scheme::Elf, "8888", "1.5").unwrap();
    assert_eq!(Code::new(Scheme::Elf, "88888", "1.5").unwrap_err().field(), Some("code"));
}

#[test]
fn external_ids_carry_their_org_id_guide_prefix_and_check_digits() {
    for text in [
        "IT-CF-80011690585",
        "TR-VKN-1234567890",
        "TR-MERSIS-0123456789012345",
        "FR-SIREN-732829320",
        "FR-RNA-W133000000",
        "GB-MPR-12345R",
        "GB-COH-SC123456",
        "XI-LEI-5493001KJTIIGC8Y1R12",
    ] {
        let id: ExternalId = text.parse().unwrap();
        assert_eq!(id.to_string(), text);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{text}\""));
    }
    let siren: ExternalId = "FR-SIREN-732829320".parse().unwrap();
    assert_eq!((siren.scheme(), siren.id()), (IdScheme::FrSiren, "732829320"));
    // A typo in the last digit breaks the check digit.
    assert_eq!("FR-SIREN-732829321".parse::<ExternalId>().unwrap_err().field(), Some("id"));
    assert!("IT-CF-80011690586".parse::<ExternalId>().is_err());
    assert!("XI-LEI-5493001KJTIIGC8Y1R13".parse::<ExternalId>().is_err());
    assert!("TR-VKN-12345".parse::<ExternalId>().is_err());
    let err = "DE-HRB-1234".parse::<ExternalId>().unwrap_err();
    assert!(err.rule().unwrap().contains("TR-MERSIS"), "{err}");
}

#[test]
fn ids_are_uuids_and_an_organisation_names_its_stream() {
    let org = org();
    assert_eq!(org.stream_name(), format!("org-{org}"));
    assert_eq!(OrgId::from_stream_name(&org.stream_name()), Some(org));
    assert_eq!(OrgId::from_stream_name("org-tr-izmir"), None);
    assert_eq!(OrgId::from_stream_name("person-0196"), None);
    assert_eq!(OrgId::parse(&org.to_string()).unwrap(), org);
    assert_eq!(OrgId::parse("00000000-0000-0000-0000-000000000000").unwrap_err().field(), Some("organisation"));
    assert_eq!(MembershipId::parse("nope").unwrap_err().field(), Some("membership"));
    assert_ne!(OrgId::new_v7(), OrgId::new_v7());
    assert_eq!(serde_json::to_string(&org).unwrap(), format!("\"{org}\""));
}

#[test]
fn node_names_are_slugs() {
    NodeId::new("tr-izmir").unwrap();
    NodeId::new("it-reggio-emilia").unwrap();
    assert_eq!(NodeId::new("İzmir").unwrap_err().field(), Some("node"));
    assert!(NodeId::new("-x").is_err());
    assert!(NodeId::new("").is_err());
}

#[test]
fn sealed_personal_data_never_shows_its_bytes() {
    let sealed = sealed(1);
    let debug = format!("{sealed:?}");
    assert!(debug.contains("48 bytes") && !debug.contains("[0, 1, 2"), "{debug}");
    let json = serde_json::to_string(&sealed).unwrap();
    assert!(json.contains(r#""nonce":"070707"#), "hexadecimal on the wire: {json}");
    assert_eq!(serde_json::from_str::<SealedPersonalData>(&json).unwrap(), sealed);
    assert_eq!(
        SealedPersonalData { ciphertext: vec![1; 4], ..sealed.clone() }.validate().unwrap_err().field(),
        Some("ciphertext")
    );
    assert_eq!(SealedPersonalData { nonce: vec![], ..sealed.clone() }.validate().unwrap_err().field(), Some("nonce"));
    assert_eq!(
        SealedPersonalData { algorithm: "".into(), ..sealed }.validate().unwrap_err().field(),
        Some("algorithm")
    );
}

#[test]
fn fiscal_year_ends_exist_every_year() {
    FiscalYearEnd::DECEMBER_31.validate().unwrap();
    assert_eq!(FiscalYearEnd { month: 2, day: 29 }.validate().unwrap_err().field(), Some("day"));
    assert_eq!(FiscalYearEnd { month: 13, day: 1 }.validate().unwrap_err().field(), Some("month"));
    assert_eq!(FiscalYearEnd { month: 6, day: 30 }.end_of(2025), Some(date!(2025 - 06 - 30)));
}

#[test]
fn names_and_language_tags() {
    LanguageTag::new("tr").unwrap();
    LanguageTag::new("fr-BE").unwrap();
    assert_eq!(LanguageTag::new("Turkish").unwrap_err().field(), Some("language"));
    assert_eq!(Names::legal("  ").validate().unwrap_err().field(), Some("legal"));
}

#[test]
fn errors_nest_their_field_under_the_parent() {
    let e = Error::invalid("code", "bad").within("seat.lau");
    assert_eq!(e.field(), Some("seat.lau.code"));
    assert_eq!(Error::invalid("[2].amount", "bad").within("items").field(), Some("items[2].amount"));
    assert_eq!(e.to_string(), "invalid seat.lau.code: bad");
}
