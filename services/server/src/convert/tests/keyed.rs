//! The two requests that need the keystore: the plaintext reaches only the sealing step, and what is
//! sealed opens back into what was sent.

use super::valid::*;
use super::*;

#[test]
fn sealing_gets_the_person_and_the_personal_fields() {
    let enrolment = crate::convert::enrol_person(enrol_person_request()).unwrap();
    assert_eq!((enrolment.organisation(), enrolment.person()), (org(), PERSON.parse().unwrap()));
    assert_eq!(enrolment.meta(), meta());
    assert_eq!(enrolment.personal_data(), Some(&personal_fields()));
    let mut sealed_for = None;
    let write = enrolment
        .seal(|person, fields| {
            sealed_for = Some((person, fields.clone()));
            Ok::<_, Error>(sealed())
        })
        .unwrap();
    assert_eq!(sealed_for, Some((PERSON.parse().unwrap(), personal_fields())));
    let Command::EnrolPerson(PersonEnrolled { person_kind: PersonKind::Natural { personal_data, .. }, .. }) =
        write.command
    else {
        panic!("a natural person")
    };
    assert_eq!(personal_data, sealed());
}

/// The node's keystore seals what the request carried, and opens it back: one plaintext format.
#[test]
fn what_is_sealed_opens_as_the_fields_sent() {
    use crate::keystore::{FileKeyStore, KeyStore};
    let dir = tempfile::tempdir().unwrap();
    let keys = FileKeyStore::open(dir.path().join("keys")).unwrap();
    let write = crate::convert::enrol_person(enrol_person_request())
        .unwrap()
        .seal(|person, fields| crate::people::seal(&keys, person, fields))
        .unwrap();
    let Command::EnrolPerson(PersonEnrolled { person, person_kind: PersonKind::Natural { personal_data, .. }, .. }) =
        write.command
    else {
        panic!("a natural person")
    };
    let opened = keys.open(person, &personal_data).unwrap().expect("not erased");
    let fields: crate::people::PersonalFields = serde_json::from_slice(&opened).unwrap();
    assert_eq!(fields, personal_fields());
}

#[test]
fn a_legal_person_has_nothing_to_seal() {
    let legal = pb::PersonKind {
        kind: Some(pb::person_kind::Kind::Legal(pb::person_kind::Legal {
            name: "Tire Belediyesi".into(),
            external_id: Some(pb::ExternalId { scheme: "TR-VKN".into(), id: "1234567890".into() }),
            organisation: Some(OTHER_ORG.into()),
        })),
    };
    let enrolment =
        crate::convert::enrol_person(pb::EnrolPersonRequest { person_kind: Some(legal), ..enrol_person_request() })
            .unwrap();
    assert_eq!(enrolment.personal_data(), None);
    let write = enrolment.seal(|_, _| -> Result<SealedPersonalData> { panic!("nothing to seal") }).unwrap();
    assert_eq!(
        write.command,
        Command::EnrolPerson(PersonEnrolled {
            occurred_on: date!(2021 - 04 - 01),
            person: PERSON.parse().unwrap(),
            person_kind: PersonKind::Legal {
                name: "Tire Belediyesi".into(),
                external_id: Some(ExternalId::new(IdScheme::TrVkn, "1234567890").unwrap()),
                organisation: Some(OTHER_ORG.parse().unwrap()),
            },
        })
    );
}

#[test]
fn a_failed_seal_is_the_keystores_error() {
    let enrolment = crate::convert::enrol_person(enrol_person_request()).unwrap();
    let failed = enrolment.seal(|_, _| Err::<SealedPersonalData, _>("key directory unwritable"));
    assert_eq!(failed.unwrap_err(), "key directory unwritable");
}

#[test]
fn personal_data_never_shows_in_debug_output() {
    let enrolment = crate::convert::enrol_person(enrol_person_request()).unwrap();
    let shown = format!("{enrolment:?}");
    assert!(!shown.contains("Ayşe") && !shown.contains("12345678901"), "{shown}");
    assert!(shown.contains("natural"), "{shown}");
}

#[test]
fn an_erasure_names_its_person_before_the_key() {
    let erasure = crate::convert::erase_member_data(erase_member_data_request()).unwrap();
    assert_eq!((erasure.organisation(), erasure.person(), erasure.meta()), (org(), PERSON.parse().unwrap(), meta()));
}

#[test]
fn import_items_needing_the_keystore_stop_before_it() {
    use pb::import_request::Command as C;
    let item = |command| import_item(pb::ImportRequest { command: Some(command) }).unwrap();
    assert!(matches!(item(C::EnrolPerson(enrol_person_request())), ImportItem::Enrolment(_)));
    assert!(matches!(item(C::EraseMemberData(erase_member_data_request())), ImportItem::Erasure(_)));
    let ImportItem::Write(write) = item(C::AdmitMember(admit_member())) else { panic!("ready to decide") };
    assert_eq!(*write, Write::try_from(admit_member()).unwrap());
}
