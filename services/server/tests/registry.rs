//! The registry's command path over the real embedded log and keystore: decide, append,
//! idempotent retries, expected versions, scope, and personal data sealed before the log.

use std::sync::Arc;

use imece_domain::time;
use imece_domain::time::macros::date;
use imece_domain::*;
use imece_log_embedded::EmbeddedLog;
use imece_server::Error;
use imece_server::auth::{Caller, Role};
use imece_server::keystore::{FileKeyStore, KeyStore};
use imece_server::registry::{Registry, RequestMeta};
use uuid::Uuid;

fn registered(org: OrgId) -> OrganisationRegistered {
    OrganisationRegistered {
        organisation: org,
        occurred_on: date!(2021 - 03 - 01),
        founded_on: date!(2021 - 02 - 15),
        names: Names::legal("Tire Süt Kooperatifi"),
        family: Family::Cooperative,
        legal_form: LegalForm { elf: None, national: "kooperatif".into() },
        cooperative_type: Some(CooperativeType::Producer),
        business_model: None,
        external_ids: vec![],
        seat: Seat {
            country: CountryCode::TR,
            lau: Code::lau("TR_35", "2021").unwrap(),
            nuts3: Code::nuts("TR310", "2021").unwrap(),
            address: None,
        },
        activity: Activity { primary: Code::nace("01.41", "2").unwrap(), secondary: vec![] },
        fiscal_year_end: FiscalYearEnd::DECEMBER_31,
        founders: 9,
        subscribed_capital: Some(Money::parse("90000", Currency::TRY).unwrap()),
    }
}

fn allocation(legal_reserve: &str, refund: &str) -> SurplusAllocated {
    allocation_of(2024, legal_reserve, refund)
}

fn allocation_of(fiscal_year: i32, legal_reserve: &str, refund: &str) -> SurplusAllocated {
    let try_ = |s: &str| Money::parse(s, Currency::TRY).unwrap();
    SurplusAllocated {
        occurred_on: time::Date::from_calendar_date(fiscal_year + 1, time::Month::April, 20).unwrap(),
        fiscal_year,
        assembly: None,
        surplus: try_("200000"),
        items: vec![
            SurplusItem { kind: SurplusKind::LegalReserve, amount: try_(legal_reserve) },
            SurplusItem { kind: SurplusKind::PatronageRefund, amount: try_(refund) },
        ],
        capital_interest: None,
        beneficiaries: Some(120),
    }
}

fn meta(expected_version: Option<u64>) -> RequestMeta {
    RequestMeta { request_id: Uuid::now_v7(), expected_version }
}

fn admin() -> Caller {
    Caller { name: "izmir-admin".into(), role: Role::Admin }
}

struct Fixture {
    registry: Registry<EmbeddedLog>,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(EmbeddedLog::open(dir.path().join("log")).unwrap());
    let keys: Arc<dyn KeyStore> = Arc::new(FileKeyStore::open(dir.path().join("keys")).unwrap());
    Fixture { registry: Registry::new(log, keys, NodeId::new("izmir").unwrap()), _dir: dir }
}

/// Guards: a command is decided and appended; a retried request writes nothing and gets the first
/// answer, even though deciding it again would now be refused.
#[tokio::test]
async fn a_retried_request_gets_the_first_answer() {
    let f = fixture();
    let org = OrgId::new_v7();
    let register = meta(None);
    let first = f.registry.execute(&admin(), org, register, Command::Register(registered(org))).await.unwrap();
    assert_eq!((first.stream_version, first.first_position), (0, 0));
    let again = f.registry.execute(&admin(), org, register, Command::Register(registered(org))).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(f.registry.load(org).await.unwrap().events.len(), 1);

    // A breach of a legal minimum is recorded with its finding (ADR 0004), in the same append.
    let allocate = meta(Some(0));
    let written = f
        .registry
        .execute(&admin(), org, allocate, Command::AllocateSurplus(allocation("10000", "190000")))
        .await
        .unwrap();
    assert_eq!((written.stream_version, written.first_position, written.last_position), (2, 1, 2));
    assert_eq!(written.findings.len(), 1);
    assert_eq!(written.findings[0].rule, "TR.legal-reserve");
    let retried = f
        .registry
        .execute(&admin(), org, allocate, Command::AllocateSurplus(allocation("10000", "190000")))
        .await
        .unwrap();
    assert_eq!(retried, written);
}

/// Guards: a stale expected version is a conflict naming both versions, and nothing is written.
#[tokio::test]
async fn a_stale_expected_version_is_a_conflict() {
    let f = fixture();
    let org = OrgId::new_v7();
    f.registry.execute(&admin(), org, meta(None), Command::Register(registered(org))).await.unwrap();
    let err = f
        .registry
        .execute(&admin(), org, meta(Some(5)), Command::AllocateSurplus(allocation("20000", "180000")))
        .await
        .unwrap_err();
    match err {
        Error::Log(imece_log::Error::WrongExpectedVersion { expected, actual, .. }) => {
            assert_eq!((expected, actual), (imece_log::ExpectedVersion::Exact(5), Some(0)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(f.registry.load(org).await.unwrap().version(), Some(0));
}

/// Guards: invalid input names its field and writes nothing; an unknown organisation is not found.
#[tokio::test]
async fn bad_input_is_refused_with_its_field_and_changes_nothing() {
    let f = fixture();
    let org = OrgId::new_v7();
    f.registry.execute(&admin(), org, meta(None), Command::Register(registered(org))).await.unwrap();
    let err = f
        .registry
        .execute(&admin(), org, meta(None), Command::AllocateSurplus(allocation("20000", "100000")))
        .await
        .unwrap_err();
    let Error::Domain(imece_domain::Error::Invalid { field, .. }) = &err else { panic!("{err:?}") };
    assert!(field.starts_with("items"), "{field}");
    assert_eq!(f.registry.load(org).await.unwrap().version(), Some(0));

    let unknown = OrgId::new_v7();
    let err = f
        .registry
        .execute(&admin(), unknown, meta(None), Command::AllocateSurplus(allocation("20000", "180000")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

/// Guards: analysts never write; a registrar writes only inside its scope.
#[tokio::test]
async fn roles_and_scopes() {
    let f = fixture();
    let org = OrgId::new_v7();
    let analyst = Caller { name: "uni-analyst".into(), role: Role::Analyst };
    let err = f.registry.execute(&analyst, org, meta(None), Command::Register(registered(org))).await.unwrap_err();
    assert!(matches!(err, Error::PermissionDenied(_)), "{err:?}");

    let tmkb = Caller { name: "tmkb-clerk".into(), role: Role::Registrar { scope: vec!["union:tmkb".into()] } };
    let other =
        Caller { name: "legacoop-clerk".into(), role: Role::Registrar { scope: vec!["union:legacoop".into()] } };
    f.registry.execute(&tmkb, org, meta(None), Command::Register(registered(org))).await.unwrap();
    // The registrar that registered it may go on writing; another union's may not.
    f.registry.execute(&tmkb, org, meta(None), Command::AllocateSurplus(allocation("20000", "180000"))).await.unwrap();
    let err = f
        .registry
        .execute(&other, org, meta(None), Command::AllocateSurplus(allocation("20000", "180000")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied(_)), "{err:?}");
    let scoped = Caller { name: "x".into(), role: Role::Registrar { scope: vec![format!("org:{org}")] } };
    let next_year = allocation_of(2023, "20000", "180000");
    f.registry.execute(&scoped, org, meta(None), Command::AllocateSurplus(next_year)).await.unwrap();
}

/// Guards: personal fields never reach the log in clear; erasing a person destroys the key, after
/// which their personal fields read as erased, their coarse attributes and the organisation's facts
/// remain, and the erasure itself is recorded.
#[tokio::test]
async fn erasure_shreds_personal_data_and_keeps_the_facts() {
    use imece_log::EventLog;
    use imece_server::people::{self, PersonalFields};

    let f = fixture();
    let org = OrgId::new_v7();
    f.registry.execute(&admin(), org, meta(None), Command::Register(registered(org))).await.unwrap();
    let person = PersonRef::from(Uuid::now_v7());
    let fields = PersonalFields {
        full_name: "Ayşe Yılmazer".into(),
        national_id: "10000000146".into(),
        email: "ayse@example.org".into(),
        ..PersonalFields::default()
    };
    let sealed = people::seal(f.registry.keys(), person, &fields).unwrap();
    let enrol = PersonEnrolled {
        occurred_on: date!(2022 - 01 - 10),
        person,
        person_kind: PersonKind::Natural { sex: Sex::Female, birth_year: Some(1990), personal_data: sealed },
    };
    f.registry.execute(&admin(), org, meta(None), Command::EnrolPerson(enrol)).await.unwrap();

    let everything = f.registry.log().read_all(0, 100).await.unwrap();
    for e in &everything {
        for needle in [&b"Yilmazer"[..], "Yılmazer".as_bytes(), b"10000000146", b"ayse@example.org"] {
            assert!(!e.data.windows(needle.len()).any(|w| w == needle), "plaintext in {}", e.event_type);
            assert!(!e.metadata.windows(needle.len()).any(|w| w == needle), "plaintext in metadata");
        }
    }
    let loaded = f.registry.load(org).await.unwrap();
    let shown = people::view(f.registry.keys(), org, &loaded, person, true).unwrap();
    assert_eq!(shown.personal.as_ref().unwrap().full_name, "Ayşe Yılmazer");
    let hidden = people::view(f.registry.keys(), org, &loaded, person, false).unwrap();
    assert!(hidden.personal.is_none());

    let erasure = MemberDataErased {
        occurred_on: date!(2025 - 06 - 01),
        person,
        key_id: KeyId::from(Uuid::nil()), // the registry fills in the destroyed key
        requested_on: date!(2025 - 05 - 20),
    };
    let request = meta(None);
    let erased = f.registry.erase_person(&admin(), org, request, erasure.clone()).await.unwrap();
    let again = f.registry.erase_person(&admin(), org, request, erasure).await.unwrap();
    assert_eq!(erased, again, "a retried erasure records nothing twice");

    let loaded = f.registry.load(org).await.unwrap();
    let after = people::view(f.registry.keys(), org, &loaded, person, true).unwrap();
    assert!(after.erased && after.personal.is_none(), "{after:?}");
    let PersonKind::Natural { sex, birth_year, .. } = after.kind else { panic!() };
    assert_eq!((sex, birth_year), (Sex::Female, Some(1990)), "coarse attributes remain");
    assert!(loaded.events.iter().any(|(_, env)| matches!(env.event, Event::MemberDataErased(_))));
    assert_eq!(loaded.state.names().unwrap().legal, "Tire Süt Kooperatifi");
}

/// Guards: a batch is decided in order on the state the commands before left, appended once, and
/// answered per command as if each had run alone; a refused command in the middle changes nothing
/// for the others; the same batch again writes nothing and gets the same answers.
#[tokio::test]
async fn a_batch_is_decided_in_order_and_answered_per_command() {
    let f = fixture();
    let org = OrgId::new_v7();
    let batch = vec![
        (meta(None), Command::Register(registered(org))),
        (meta(None), Command::AllocateSurplus(allocation_of(2022, "20000", "180000"))),
        // The same year again: refused, with its field.
        (meta(None), Command::AllocateSurplus(allocation_of(2022, "20000", "180000"))),
        (meta(None), Command::AllocateSurplus(allocation_of(2023, "10000", "190000"))),
    ];
    let answers = f.registry.execute_batch(&admin(), org, batch.clone()).await;
    let ok: Vec<_> = answers.iter().map(|a| a.as_ref().map(|w| (w.first_position, w.last_position))).collect();
    assert_eq!(ok[0].as_ref().unwrap(), &(0, 0));
    assert_eq!(ok[1].as_ref().unwrap(), &(1, 1));
    let Err(Error::Domain(imece_domain::Error::Refused { field, .. })) = &answers[2] else {
        panic!("{:?}", answers[2])
    };
    assert_eq!(field, "fiscal_year");
    // 2023 keeps 5 % in the legal reserve: recorded with its finding, in the same append.
    let last = answers[3].as_ref().unwrap();
    assert_eq!((last.first_position, last.last_position, last.findings.len()), (2, 3, 1));
    assert_eq!(f.registry.load(org).await.unwrap().version(), Some(3));

    let again = f.registry.execute_batch(&admin(), org, batch).await;
    for (i, (first, second)) in answers.iter().zip(&again).enumerate() {
        match (first, second) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "command {i}"),
            (Err(_), Err(_)) => {}
            other => panic!("command {i}: {other:?}"),
        }
    }
    assert_eq!(f.registry.load(org).await.unwrap().version(), Some(3));
}

/// Guards: the registry keeps a bounded number of states in memory; a dropped state is read again
/// from the log, with its version, so later commands are decided on the whole history.
#[tokio::test]
async fn states_past_the_cap_are_dropped_and_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(EmbeddedLog::open(dir.path().join("log")).unwrap());
    let keys: Arc<dyn KeyStore> = Arc::new(FileKeyStore::open(dir.path().join("keys")).unwrap());
    let registry = Registry::new(log, keys, NodeId::new("izmir").unwrap()).with_max_states(4);
    let orgs: Vec<OrgId> = (0..10).map(|_| OrgId::new_v7()).collect();
    for org in &orgs {
        registry.execute(&admin(), *org, meta(None), Command::Register(registered(*org))).await.unwrap();
        assert!(registry.cached_states() <= 4, "{}", registry.cached_states());
    }
    // The first organisation's state was dropped: it is read again, at its version.
    let stale = registry
        .execute(&admin(), orgs[0], meta(Some(5)), Command::AllocateSurplus(allocation("20000", "180000")))
        .await
        .unwrap_err();
    assert!(stale.to_string().contains("version"), "{stale}");
    let written = registry
        .execute(&admin(), orgs[0], meta(Some(0)), Command::AllocateSurplus(allocation("20000", "180000")))
        .await
        .unwrap();
    assert_eq!(written.stream_version, 1);
    // Deciding again on the reloaded state: the same fiscal year cannot be allocated twice.
    let twice = registry
        .execute(&admin(), orgs[0], meta(None), Command::AllocateSurplus(allocation("20000", "180000")))
        .await
        .unwrap_err();
    assert!(matches!(twice, imece_server::Error::Domain(imece_domain::Error::Refused { .. })), "{twice}");
    assert!(registry.cached_states() <= 4);
}
