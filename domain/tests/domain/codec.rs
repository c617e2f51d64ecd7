//! Encoding: every event round-trips, old schemas upcast, stored payloads stay readable, and the
//! metadata travels with its version.

use std::collections::BTreeSet;
use std::path::PathBuf;

use imece_domain::time::macros::date;
use imece_domain::*;

use crate::support::*;

#[test]
fn the_samples_cover_the_whole_catalogue() {
    let names: Vec<&str> = samples().iter().map(Event::name).collect();
    let catalogue: Vec<&str> = CATALOGUE.iter().map(|t| t.name).collect();
    assert_eq!(names, catalogue);
    assert_eq!(CATALOGUE.len(), 31);
}

#[test]
fn every_event_round_trips_through_json() {
    for event in samples() {
        let encoded = event.encode().unwrap();
        assert_eq!(encoded.event_type, event.event_type().tag());
        let value: serde_json::Value = serde_json::from_slice(&encoded.data).unwrap();
        assert!(value.is_object(), "{} encodes as a JSON object", event.name());
        let decoded = Event::decode(&encoded.event_type, &encoded.data).unwrap();
        assert_eq!(decoded, event, "{} round trip", event.name());
        assert_eq!(decoded.encode().unwrap(), encoded, "{} encodes the same twice", event.name());
    }
}

#[test]
fn the_type_names_the_schema_version() {
    let registered: Event = tr_coop().into();
    assert_eq!(registered.encode().unwrap().event_type, "OrganisationRegistered.v1");
    let allocated: Event = allocation(date!(2025 - 05 - 01), 2024, eur("1"), &[(SurplusKind::Other, eur("1"))]).into();
    assert_eq!((allocated.name(), allocated.schema_version()), ("SurplusAllocated", 2));
    assert_eq!(parse_event_type("GeneralAssemblyHeld.v2").unwrap(), ("GeneralAssemblyHeld", 2));
}

/// A `SurplusAllocated.v1` payload as it was stored, before v2 existed.
const SURPLUS_V1: &str = r#"{
    "occurred_on": "2023-04-28",
    "fiscal_year": 2022,
    "distributable": {"amount": "10000.00", "currency": "EUR"},
    "legal_reserve": {"amount": "3000.00", "currency": "EUR"},
    "indivisible_reserve": {"amount": "6700.00", "currency": "EUR"},
    "divisible_reserve": {"amount": "0", "currency": "EUR"},
    "mutual_fund": {"amount": "300.00", "currency": "EUR"},
    "patronage_refund": {"amount": "0.00", "currency": "EUR"},
    "capital_interest": {"amount": "0", "currency": "EUR"},
    "other": {"amount": "0", "currency": "EUR"},
    "capital_interest_rate": 0
}"#;

#[test]
fn stored_surplus_v1_bytes_decode_into_the_current_type() {
    let event = Event::decode("SurplusAllocated.v1", SURPLUS_V1.as_bytes()).unwrap();
    let expected = SurplusAllocated {
        occurred_on: date!(2023 - 04 - 28),
        fiscal_year: 2022,
        assembly: None,
        surplus: eur("10000"),
        // The fields that were not zero, in the order v1 declared them.
        items: vec![
            SurplusItem { kind: SurplusKind::LegalReserve, amount: eur("3000") },
            SurplusItem { kind: SurplusKind::IndivisibleReserve, amount: eur("6700") },
            SurplusItem { kind: SurplusKind::MutualFund, amount: eur("300") },
        ],
        capital_interest: Some(CapitalInterestRate { rate: BasisPoints(0), reference_rate: None, reference: None }),
        beneficiaries: None,
    };
    assert_eq!(event, Event::SurplusAllocated(expected));
    // Re-encoded, it is written at the current version.
    assert_eq!(event.encode().unwrap().event_type, "SurplusAllocated.v2");
}

#[test]
fn an_upcast_v1_surplus_is_judged_by_the_same_rules() {
    let Event::SurplusAllocated(upcast) = Event::decode("SurplusAllocated.v1", SURPLUS_V1.as_bytes()).unwrap() else {
        panic!("not a SurplusAllocated");
    };
    let breaches = rules::check_surplus(&RuleBook::standard(), CountryCode::IT, false, &upcast).unwrap();
    assert!(breaches.is_empty(), "30 % reserve and 3 % to mutual funds meet the law: {breaches:?}");
}

#[test]
fn stored_assembly_v1_bytes_read_what_v1_did_not_record_as_unknown() {
    let v1 = br#"{"occurred_on":"2022-05-14","assembly":"01960000-0000-7000-8000-000000000301",
                 "eligible":120,"present":70,"proxies":12,"quorum_met":true}"#;
    let Event::GeneralAssemblyHeld(held) = Event::decode("GeneralAssemblyHeld.v1", v1).unwrap() else {
        panic!("not a GeneralAssemblyHeld");
    };
    assert_eq!((held.eligible, held.present, held.proxies, held.quorum_met), (120, 70, 12, true));
    assert_eq!(held.assembly, assembly(1));
    assert_eq!(
        (held.present_online, held.present_women, held.present_under_30, held.max_proxies_per_holder),
        (None, None, None, None)
    );
}

#[test]
fn a_retired_version_is_read_with_its_own_schema_not_the_current_one() {
    // A v2 payload stored under the v1 type does not parse: each version has its own schema.
    let v2 = samples().into_iter().find(|e| e.name() == "SurplusAllocated").unwrap().encode().unwrap();
    assert!(matches!(Event::decode("SurplusAllocated.v1", &v2.data), Err(Error::Codec { .. })));
}

#[test]
fn unknown_types_and_newer_versions_are_told_apart_from_damage() {
    let data = br#"{}"#;
    let reason = |t: &str| match Event::decode(t, data) {
        Err(Error::UnknownEventType { reason, .. }) => reason,
        other => panic!("{t}: expected UnknownEventType, got {other:?}"),
    };
    assert!(reason("MemberPromoted.v1").contains("no event of that name"));
    assert!(reason("SurplusAllocated.v3").contains("newer schema"));
    assert!(reason("OrganisationRegistered.v0").contains("Name.vN"));
    assert!(reason("OrganisationRegistered.v01").contains("Name.vN"));
    assert!(reason("OrganisationRegistered").contains("Name.vN"));
    assert!(reason("StatuteAmended.v1x").contains("Name.vN"));

    assert!(matches!(Event::decode("OrganisationRegistered.v1", b"{not json"), Err(Error::Codec { .. })));
    assert!(matches!(
        Event::decode("OrganisationRegistered.v1", br#"{"occurred_on":"2020-01-01"}"#),
        Err(Error::Codec { .. })
    ));
}

#[test]
fn a_payload_with_a_field_its_version_does_not_have_is_refused() {
    // Any change of shape is a new version: an unknown field means the wrong schema.
    let event = samples().into_iter().find(|e| e.name() == "CapitalPaidIn").unwrap();
    let mut value: serde_json::Value = serde_json::from_slice(&event.encode().unwrap().data).unwrap();
    value["surprise"] = true.into();
    let err = Event::decode("CapitalPaidIn.v1", &serde_json::to_vec(&value).unwrap()).unwrap_err();
    assert!(matches!(&err, Error::Codec { reason, .. } if reason.contains("surprise")), "{err}");
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events")
}

/// Every type and version this build reads has a payload stored in `tests/fixtures/events`, kept as
/// it was first written, and it still decodes. A fixture is never rewritten: a change that breaks
/// one needs a new schema version. `IMECE_WRITE_FIXTURES=1` writes the missing ones of the current
/// versions from the samples.
#[test]
fn every_stored_payload_of_every_version_still_decodes() {
    let write = std::env::var_os("IMECE_WRITE_FIXTURES").is_some();
    let samples = samples();
    let mut expected: Vec<(String, Option<&Event>)> = samples.iter().map(|e| (e.event_type().tag(), Some(e))).collect();
    expected.extend(RETIRED.iter().map(|(name, v)| (format!("{name}.v{v}"), None)));
    for (tag, sample) in expected {
        let path = fixtures().join(format!("{tag}.json"));
        if !path.exists()
            && write
            && let Some(sample) = sample
        {
            let value: serde_json::Value = serde_json::from_slice(&sample.encode().unwrap().data).unwrap();
            std::fs::write(&path, serde_json::to_string_pretty(&value).unwrap() + "\n").unwrap();
        }
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("no stored payload for {tag} ({e})"));
        let event = Event::decode(&tag, &bytes).unwrap_or_else(|e| panic!("stored {tag} no longer decodes: {e}"));
        assert_eq!(Event::decode(&event.encode().unwrap().event_type, &event.encode().unwrap().data).unwrap(), event);
    }
    let stored = std::fs::read_dir(fixtures()).unwrap().count();
    assert_eq!(stored, CATALOGUE.len() + RETIRED.len(), "one stored payload per type and version, no strays");
}

/// Every key path of a JSON value: `.items[].amount.currency`.
fn shape(value: &serde_json::Value, at: &str, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                let path = format!("{at}.{key}");
                out.insert(path.clone());
                shape(v, &path, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| shape(v, &format!("{at}[]"), out)),
        _ => {}
    }
}

/// The samples fill every optional field, so a field added to (or removed from) a current type
/// shows as a difference from its stored payload: a change of shape needs a new version, because
/// an older node would refuse the new field.
#[test]
fn the_current_schemas_have_the_shape_of_their_stored_payloads() {
    for sample in samples() {
        let tag = sample.event_type().tag();
        let Ok(stored) = std::fs::read(fixtures().join(format!("{tag}.json"))) else { continue };
        let (mut stored_shape, mut current_shape) = (BTreeSet::new(), BTreeSet::new());
        shape(&serde_json::from_slice(&stored).unwrap(), "", &mut stored_shape);
        shape(&serde_json::from_slice(&sample.encode().unwrap().data).unwrap(), "", &mut current_shape);
        assert_eq!(current_shape, stored_shape, "{tag} changed shape: write it as a new version (ADR 0003)");
    }
}

fn metadata(visibility: Visibility) -> Metadata {
    Metadata {
        actor: Actor { kind: ActorKind::User, id: "kc:5f3c9a".into() },
        correlation_id: CorrelationId::from_uuid(id(0x900)),
        causation_id: Some(CausationId::from_uuid(id(0x901))),
        jurisdiction: CountryCode::IT,
        visibility,
        origin: Origin::local(NodeId::new("it-reggio-emilia").unwrap()),
    }
}

#[test]
fn metadata_round_trips_with_the_version_of_its_shape() {
    let m = metadata(Visibility::Public);
    let bytes = m.encode().unwrap();
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(value["v"], 1);
    assert_eq!(value["visibility"], "public");
    assert_eq!(Metadata::decode(&bytes).unwrap(), m);

    let mut newer = value.clone();
    newer["v"] = 2.into();
    assert!(matches!(Metadata::decode(&serde_json::to_vec(&newer).unwrap()), Err(Error::Codec { .. })));
    let mut unversioned = value;
    unversioned.as_object_mut().unwrap().remove("v");
    assert!(matches!(Metadata::decode(&serde_json::to_vec(&unversioned).unwrap()), Err(Error::Codec { .. })));
}

#[test]
fn the_origin_position_survives_replication() {
    let local = Origin::local(NodeId::new("tr-izmir").unwrap());
    assert_eq!(local.position_or(41), 41, "on the writing node, the event's own position");
    let copied = Origin { position: Some(41), seq: Some(3), hash: Some("0f".repeat(32)), ..local };
    assert_eq!(copied.position_or(7), 41, "on another node, where it was first written");
    let mut m = metadata(Visibility::Public);
    m.origin = copied.clone();
    let decoded = Metadata::decode(&m.encode().unwrap()).unwrap();
    assert_eq!(decoded.origin, copied, "seq and chain hash survive the copy too");
}

#[test]
fn person_level_events_may_never_be_marked_public() {
    let admitted = admitted(1, 1, date!(2025 - 01 - 01), MemberCategory::Worker, eur("100"));
    assert_eq!(admitted.visibility(), Visibility::HomeOnly);
    let err = Envelope::new(admitted.clone(), metadata(Visibility::Public)).unwrap_err();
    assert_eq!(err.field(), Some("metadata.visibility"));
    assert!(Envelope::new(admitted.clone(), metadata(Visibility::Union)).is_err());
    Envelope::new(admitted, metadata(Visibility::HomeOnly)).unwrap();
    // A public event may be kept closer than it needs to be.
    Envelope::new(tr_coop().into(), metadata(Visibility::HomeOnly)).unwrap();
}

#[test]
fn metadata_must_be_complete() {
    let bad_actor =
        Metadata { actor: Actor { kind: ActorKind::Service, id: " ".into() }, ..metadata(Visibility::Public) };
    assert_eq!(bad_actor.validate_for(&tr_coop().into()).unwrap_err().field(), Some("metadata.actor.id"));
}

#[test]
fn an_envelope_encodes_to_the_three_byte_strings_of_the_log() {
    let envelope = Envelope::new(tr_coop().into(), metadata(Visibility::Public)).unwrap();
    let encoded = envelope.encode().unwrap();
    assert_eq!(encoded.event_type, "OrganisationRegistered.v1");
    assert_eq!(Envelope::decode(&encoded.event_type, &encoded.data, &encoded.metadata).unwrap(), envelope);
}

#[test]
fn only_person_level_types_are_home_only_and_public_payloads_name_no_person() {
    for t in CATALOGUE {
        let person_level = matches!(
            t.name,
            "PersonEnrolled"
                | "MemberAdmitted"
                | "CapitalPaidIn"
                | "SharesTransferred"
                | "MemberLeft"
                | "MemberDataErased"
                | "OrganMemberChanged"
        );
        assert_eq!(t.visibility == Visibility::HomeOnly, person_level, "{}", t.name);
    }
    for event in samples().into_iter().filter(|e| e.visibility() == Visibility::Public) {
        let json = String::from_utf8(event.encode().unwrap().data).unwrap();
        for key in ["\"person\"", "\"personal_data\"", "\"membership\"", "\"ciphertext\""] {
            assert!(!json.contains(key), "{} is public but carries {key}: {json}", event.name());
        }
    }
}
