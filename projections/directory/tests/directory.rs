//! The directory from hand-built event sequences: search, paging, life-cycle changes, snapshots
//! and the JSON-LD export; and once through the projection engine over a real embedded log.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use imece_directory::{Directory, Entry, Error, MAX_PAGE_SIZE, OrgStatus, Query, to_json_ld};
use imece_domain::*;
use imece_log::{EventId, EventLog, ExpectedVersion, NewEvent, RecordedEvent, StreamId};
use imece_projections::{Options, Projection, Projector};
use time::macros::date;

/// A log being written by hand: every event with its envelope, at the next position.
#[derive(Default)]
struct History {
    events: Vec<RecordedEvent>,
    versions: BTreeMap<String, u64>,
}

fn metadata(visibility: Visibility) -> Metadata {
    Metadata {
        actor: Actor { kind: ActorKind::Service, id: "test-importer".into() },
        correlation_id: CorrelationId::new_v7(),
        causation_id: None,
        jurisdiction: CountryCode::IT,
        visibility,
        origin: Origin::local(NodeId::new("it-reggio-emilia").unwrap()),
    }
}

impl History {
    fn record_as(&mut self, org: OrgId, event: impl Into<Event>, visibility: Visibility) -> u64 {
        let encoded = Envelope::new(event.into(), metadata(visibility)).unwrap().encode().unwrap();
        self.raw(&org.stream_name(), &encoded.event_type, encoded.data, encoded.metadata)
    }

    fn record(&mut self, org: OrgId, event: impl Into<Event>) -> u64 {
        self.record_as(org, event, Visibility::Public)
    }

    fn raw(&mut self, stream: &str, event_type: &str, data: Vec<u8>, metadata: Vec<u8>) -> u64 {
        let version = self.versions.entry(stream.to_owned()).or_insert(0);
        let position = self.events.len() as u64;
        self.events.push(RecordedEvent {
            position,
            stream: StreamId::new(stream).unwrap(),
            version: *version,
            id: EventId::new_v7(),
            event_type: event_type.to_owned(),
            data: data.into(),
            metadata: metadata.into(),
            recorded_at_micros: 0,
        });
        *version += 1;
        position
    }

    fn directory(&self) -> Directory {
        let mut d = Directory::empty();
        for e in &self.events {
            d.apply(e).unwrap();
        }
        d
    }
}

struct Org<'a> {
    name: &'a str,
    country: CountryCode,
    lau: &'a str,
    nuts3: &'a str,
    nace: (&'a str, &'a str),
    form: &'a str,
}

const IZMIR: Org<'static> = Org {
    name: "İzmir Tire Süt Kooperatifi",
    country: CountryCode::TR,
    lau: "TR_3520",
    nuts3: "TR310",
    nace: ("01.41", "2"),
    form: "kooperatif",
};
const REGGIO: Org<'static> = Org {
    name: "Cooperativa Sociale Tempo",
    country: CountryCode::IT,
    lau: "IT_035033",
    nuts3: "ITH53",
    nace: ("88.99", "2"),
    form: "società cooperativa sociale",
};
const MARSEILLE: Org<'static> = Org {
    name: "SCIC Le Panier Solidaire",
    country: CountryCode::FR,
    lau: "FR_13055",
    nuts3: "FRL04",
    nace: ("56.10", "2.1"),
    form: "SCIC",
};

fn seat(o: &Org<'_>) -> Seat {
    Seat {
        country: o.country,
        lau: Code::lau(o.lau, "2021").unwrap(),
        nuts3: Code::nuts(o.nuts3, "2021").unwrap(),
        address: Some("Via Roma 1".into()),
    }
}

fn registered(id: OrgId, o: &Org<'_>) -> OrganisationRegistered {
    OrganisationRegistered {
        organisation: id,
        occurred_on: date!(2021 - 03 - 01),
        founded_on: date!(2021 - 02 - 15),
        names: Names::legal(o.name),
        family: Family::Cooperative,
        legal_form: LegalForm { elf: None, national: o.form.into() },
        cooperative_type: Some(CooperativeType::Worker),
        business_model: None,
        external_ids: vec![],
        seat: seat(o),
        activity: Activity { primary: Code::nace(o.nace.0, o.nace.1).unwrap(), secondary: vec![] },
        fiscal_year_end: FiscalYearEnd::DECEMBER_31,
        founders: 9,
        subscribed_capital: None,
    }
}

/// İzmir with a tax number, Reggio Emilia with an English name and a legal-form code, Marseille
/// with a SIREN.
fn three() -> (History, [OrgId; 3]) {
    let mut h = History::default();
    let ids = [OrgId::new_v7(), OrgId::new_v7(), OrgId::new_v7()];
    let mut izmir = registered(ids[0], &IZMIR);
    izmir.external_ids = vec![ExternalId::new(IdScheme::TrVkn, "1234567890").unwrap()];
    izmir.cooperative_type = Some(CooperativeType::Producer);
    h.record(ids[0], izmir);
    let mut reggio = registered(ids[1], &REGGIO);
    reggio.names.by_language.insert(LanguageTag::new("en").unwrap(), "Tempo Social Cooperative".into());
    // A made-up ISO 20275 code: the test is about matching, not about the code list.
    reggio.legal_form.elf = Some(Code::new(Scheme::Elf, "AB12", "1.5").unwrap());
    reggio.cooperative_type = Some(CooperativeType::MultiStakeholder);
    h.record(ids[1], reggio);
    let mut marseille = registered(ids[2], &MARSEILLE);
    marseille.external_ids = vec![ExternalId::new(IdScheme::FrSiren, "732829320").unwrap()];
    h.record(ids[2], marseille);
    (h, ids)
}

fn names(d: &Directory, q: Query) -> Vec<String> {
    d.search(&q).entries.into_iter().map(|e| e.legal_name).collect()
}

fn q() -> Query {
    Query::default()
}

#[test]
fn every_filter_finds_what_it_should_and_nothing_else() {
    let (h, _) = three();
    let d = h.directory();
    assert_eq!(d.len(), 3);
    let izmir = vec![IZMIR.name.to_owned()];
    let reggio = vec![REGGIO.name.to_owned()];
    let marseille = vec![MARSEILLE.name.to_owned()];

    // Ordered by name: Cooperativa…, İzmir…, SCIC…
    assert_eq!(names(&d, q()), [REGGIO.name, IZMIR.name, MARSEILLE.name]);
    for spelling in ["izmir", "İzmir", "IZMIR", "İZMİR", "ızmir", "süt", "SUT", "tire sut"] {
        assert_eq!(names(&d, Query { name: Some(spelling.into()), ..q() }), izmir, "{spelling}");
    }
    assert_eq!(names(&d, Query { name: Some("social coop".into()), ..q() }), reggio, "a name in English");
    assert_eq!(names(&d, Query { name: Some("zzz".into()), ..q() }), Vec::<String>::new());
    assert_eq!(names(&d, Query { name: Some("  ".into()), ..q() }).len(), 3, "a blank name filters nothing");

    assert_eq!(names(&d, Query { external_id: Some("FR-SIREN-732829320".into()), ..q() }), marseille);
    assert_eq!(names(&d, Query { external_id: Some("fr-siren-732829320".into()), ..q() }), marseille);
    assert_eq!(names(&d, Query { external_id: Some("1234567890".into()), ..q() }), izmir);
    assert!(names(&d, Query { external_id: Some("732829321".into()), ..q() }).is_empty());

    assert_eq!(names(&d, Query { city: Some("IT_035033".into()), ..q() }), reggio);
    assert!(names(&d, Query { city: Some("IT_035034".into()), ..q() }).is_empty());

    assert_eq!(names(&d, Query { sector: Some("A".into()), ..q() }), izmir);
    assert_eq!(names(&d, Query { sector: Some("01".into()), ..q() }), izmir);
    assert_eq!(names(&d, Query { sector: Some("01.4".into()), ..q() }), izmir);
    assert_eq!(names(&d, Query { sector: Some("Q".into()), ..q() }), reggio);
    assert_eq!(names(&d, Query { sector: Some("88.9".into()), ..q() }), reggio);
    assert_eq!(names(&d, Query { sector: Some("I".into()), ..q() }), marseille, "56 is I in NACE 2.1 too");
    assert!(names(&d, Query { sector: Some("10".into()), ..q() }).is_empty());

    assert_eq!(names(&d, Query { legal_form: Some("KOOPERATIF".into()), ..q() }), izmir);
    assert_eq!(names(&d, Query { legal_form: Some("societa cooperativa sociale".into()), ..q() }), reggio);
    assert_eq!(names(&d, Query { legal_form: Some("ab12".into()), ..q() }), reggio);
    assert!(names(&d, Query { legal_form: Some("cooperativa".into()), ..q() }).is_empty(), "whole forms only");

    assert_eq!(names(&d, Query { country: Some("fr".into()), ..q() }), marseille);
    assert_eq!(names(&d, Query { status: Some(OrgStatus::Active), ..q() }).len(), 3);
    assert!(names(&d, Query { status: Some(OrgStatus::InLiquidation), ..q() }).is_empty());

    // Filters combine.
    let both = Query { country: Some("IT".into()), sector: Some("A".into()), ..q() };
    assert!(names(&d, both).is_empty());
    let both = Query { country: Some("TR".into()), name: Some("koop".into()), ..q() };
    assert_eq!(names(&d, both), izmir);
}

#[test]
fn pages_are_stable_ordered_by_name_then_id_and_count_everything() {
    let mut h = History::default();
    let mut ids = Vec::new();
    for name in ["Delta", "alfa", "Charlie", "Bravo", "Echo", "Bravo", "Çamlık"] {
        let id = OrgId::new_v7();
        h.record(id, registered(id, &Org { name, ..IZMIR }));
        ids.push(id);
    }
    let d = h.directory();
    let mut bravos = [ids[3], ids[5]];
    bravos.sort();
    let mut seen = Vec::new();
    let mut offset = 0;
    let mut pages = 0;
    loop {
        let page = d.search(&Query { offset, limit: Some(3), ..q() });
        assert_eq!(page.total, 7);
        assert!(page.entries.len() <= 3);
        seen.extend(page.entries.iter().map(|e| (e.legal_name.clone(), e.id)));
        pages += 1;
        match page.next_offset {
            Some(next) => offset = next,
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let order: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(order, ["alfa", "Bravo", "Bravo", "Çamlık", "Charlie", "Delta", "Echo"]);
    assert_eq!([seen[1].1, seen[2].1], [bravos[0], bravos[1]], "equal names by id");

    // Past the end: an empty page that still counts.
    let page = d.search(&Query { offset: 100, ..q() });
    assert_eq!((page.entries.len(), page.total, page.next_offset), (0, 7, None));
    // A page holds at least one entry and at most MAX_PAGE_SIZE.
    assert_eq!(d.search(&Query { limit: Some(0), ..q() }).entries.len(), 1);

    let mut h = History::default();
    for i in 0..MAX_PAGE_SIZE + 5 {
        let id = OrgId::new_v7();
        h.record(id, registered(id, &Org { name: &format!("Coop {i:04}"), ..IZMIR }));
    }
    let page = h.directory().search(&Query { limit: Some(10_000), ..q() });
    assert_eq!((page.entries.len(), page.total, page.next_offset), (MAX_PAGE_SIZE, MAX_PAGE_SIZE + 5, Some(500)));
}

#[test]
fn renames_relocations_and_reclassifications_replace_what_is_searched() {
    let (mut h, ids) = three();
    let mut names_ = Names::legal("Tire Dairy Cooperative");
    names_.by_language.insert(LanguageTag::new("tr").unwrap(), "Tire Süt Üreticileri Kooperatifi".into());
    h.record(ids[0], OrganisationRenamed { occurred_on: date!(2024 - 01 - 10), names: names_ });
    h.record(
        ids[0],
        SeatRelocated { occurred_on: date!(2024 - 02 - 01), seat: seat(&Org { lau: "TR_3599", ..IZMIR }) },
    );
    h.record(
        ids[0],
        ActivityReclassified {
            occurred_on: date!(2024 - 03 - 01),
            activity: Activity { primary: Code::nace("10.51", "2").unwrap(), secondary: vec![] },
        },
    );
    let d = h.directory();
    assert!(d.search(&Query { name: Some("izmir".into()), ..q() }).entries.is_empty(), "the old name is gone");
    let found = d.search(&Query { name: Some("üreticileri".into()), ..q() });
    assert_eq!(found.entries.iter().map(|e| e.id).collect::<Vec<_>>(), [ids[0]]);
    let e = &found.entries[0];
    assert_eq!(e.legal_name, "Tire Dairy Cooperative");
    assert_eq!(e.other_names.get("tr").map(String::as_str), Some("Tire Süt Üreticileri Kooperatifi"));
    assert!(d.search(&Query { city: Some("TR_3520".into()), ..q() }).entries.is_empty());
    assert_eq!(d.search(&Query { city: Some("TR_3599".into()), ..q() }).total, 1);
    assert_eq!(d.search(&Query { sector: Some("C".into()), ..q() }).total, 1);
    assert_eq!(d.search(&Query { sector: Some("A".into()), ..q() }).total, 0);
    assert_eq!(e.updated_at, 5);
}

#[test]
fn dissolution_liquidation_revocation_and_mergers_set_the_status() {
    let (mut h, ids) = three();
    h.record(
        ids[0],
        DissolutionResolved {
            occurred_on: date!(2025 - 05 - 01),
            kind: DissolutionKind::Voluntary,
            assembly: None,
            authority: None,
        },
    );
    let d = h.directory();
    let e = d.get(&ids[0]).unwrap();
    assert_eq!((e.status, e.dissolved_on), (OrgStatus::InLiquidation, Some(date!(2025 - 05 - 01))));
    assert_eq!(d.search(&Query { status: Some(OrgStatus::InLiquidation), ..q() }).total, 1);

    // Back to active revokes the dissolution.
    h.record(ids[0], StatusChanged { occurred_on: date!(2025 - 06 - 01), status: Status::Active, reason: None });
    let e = h.directory().get(&ids[0]).unwrap().clone();
    assert_eq!((e.status, e.dissolved_on), (OrgStatus::Active, None));

    h.record(
        ids[0],
        DissolutionResolved {
            occurred_on: date!(2025 - 07 - 01),
            kind: DissolutionKind::Court,
            assembly: None,
            authority: Some("Tribunale".into()),
        },
    );
    h.record(
        ids[0],
        LiquidationClosed {
            occurred_on: date!(2025 - 12 - 01),
            residual_assets: Money::parse("0", Currency::TRY).unwrap(),
            devolved: vec![],
        },
    );
    // Reggio Emilia absorbs Marseille (recorded in both streams).
    let merger = MergerCompleted {
        occurred_on: date!(2025 - 09 - 01),
        kind: MergerKind::Absorption,
        absorbing: ids[1],
        absorbed: vec![ids[2]],
    };
    h.record(ids[1], merger.clone());
    h.record(ids[2], merger);
    h.record(ids[1], StatusChanged { occurred_on: date!(2025 - 10 - 01), status: Status::Suspended, reason: None });

    let d = h.directory();
    let izmir = d.get(&ids[0]).unwrap();
    assert_eq!(izmir.status, OrgStatus::Liquidated);
    assert_eq!((izmir.dissolved_on, izmir.closed_on), (Some(date!(2025 - 07 - 01)), Some(date!(2025 - 12 - 01))));
    assert_eq!(izmir.dissolution_kind, Some(DissolutionKind::Court));
    let reggio = d.get(&ids[1]).unwrap();
    assert_eq!((reggio.status, reggio.merged_into), (OrgStatus::Suspended, None));
    let marseille = d.get(&ids[2]).unwrap();
    assert_eq!((marseille.status, marseille.merged_into), (OrgStatus::MergedAway, Some(ids[1])));
    assert!(marseille.status.is_closed());
    assert_eq!(d.search(&Query { status: Some(OrgStatus::MergedAway), ..q() }).total, 1);
}

#[test]
fn legal_form_conversions_and_affiliations() {
    let (mut h, ids) = three();
    h.record(
        ids[2],
        LegalFormConverted {
            occurred_on: date!(2024 - 01 - 01),
            from: LegalForm { elf: None, national: "SCIC".into() },
            to: LegalForm { elf: None, national: "association loi 1901".into() },
            family: Family::Association,
            assets_devolved: None,
        },
    );
    let join = |name: &str, change| AffiliationChanged {
        occurred_on: date!(2024 - 02 - 01),
        federation: Federation { name: name.into(), organisation: None, external_id: None },
        change,
    };
    h.record(ids[0], join("TMKB", AffiliationChange::Joined));
    h.record(ids[0], join("ESMED", AffiliationChange::Joined));
    h.record(ids[0], join("tmkb ", AffiliationChange::Left));
    let d = h.directory();
    let m = d.get(&ids[2]).unwrap();
    assert_eq!((m.family, m.legal_form.national.as_str()), (Family::Association, "association loi 1901"));
    assert_eq!(d.search(&Query { legal_form: Some("Association loi 1901".into()), ..q() }).total, 1);
    let affiliations: Vec<&str> = d.get(&ids[0]).unwrap().affiliations.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(affiliations, ["ESMED"]);
}

#[test]
fn person_level_events_are_skipped_without_decoding_and_bad_life_cycle_events_stop() {
    let (mut h, ids) = three();
    let stream = ids[0].stream_name();
    // Not even JSON: decoding them would fail, so passing proves they were not decoded.
    h.raw(&stream, "PersonEnrolled.v1", b"\xff sealed".to_vec(), vec![]);
    h.raw(&stream, "MemberAdmitted.v1", b"\xff sealed".to_vec(), vec![]);
    h.raw(&stream, "GeneralAssemblyHeld.v2", b"not json".to_vec(), vec![]);
    h.raw("not-an-org", "OrganisationRenamed.v1", b"not json".to_vec(), vec![]);
    let mut d = h.directory();
    assert_eq!(d.len(), 3);

    let position = h.raw(&stream, "OrganisationRenamed.v1", b"not json".to_vec(), vec![]);
    match d.apply(h.events.last().unwrap()) {
        Err(Error::Decode { position: p, event_type, .. }) => {
            assert_eq!((p, event_type.as_str()), (position, "OrganisationRenamed.v1"))
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[test]
fn restricted_entries_stay_out_of_public_searches() {
    let (mut h, _) = three();
    let id = OrgId::new_v7();
    h.record_as(id, registered(id, &Org { name: "Union Only Coop", ..REGGIO }), Visibility::Union);
    let d = h.directory();
    assert_eq!(d.search(&q()).total, 3);
    assert_eq!(d.search(&Query { visibility: Some(Visibility::Union), ..q() }).total, 4);
}

#[test]
fn snapshots_round_trip() {
    let (mut h, ids) = three();
    h.record(ids[1], StatusChanged { occurred_on: date!(2025 - 06 - 01), status: Status::Inactive, reason: None });
    let d = h.directory();
    let bytes = d.encode().unwrap();
    let back = Directory::decode(&bytes).unwrap();
    assert_eq!(back, d, "entries and the derived search keys");
    assert_eq!(names(&back, Query { name: Some("izmir".into()), ..q() }), [IZMIR.name]);
    assert!(matches!(Directory::decode(b"{\"entries\": 3}"), Err(Error::Snapshot(_))));
}

#[test]
fn json_ld_is_an_open_data_document_without_personal_data() {
    let (mut h, ids) = three();
    h.record(
        ids[0],
        DissolutionResolved {
            occurred_on: date!(2025 - 05 - 01),
            kind: DissolutionKind::Voluntary,
            assembly: None,
            authority: None,
        },
    );
    h.record(
        ids[1],
        AffiliationChanged {
            occurred_on: date!(2024 - 02 - 01),
            federation: Federation { name: "Legacoop".into(), organisation: None, external_id: None },
            change: AffiliationChange::Joined,
        },
    );
    let d = h.directory();
    let entries: Vec<Entry> = d.search(&q()).entries;
    let doc = to_json_ld(&entries);
    let text = serde_json::to_string_pretty(&doc).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();

    assert_eq!(doc["@context"]["schema"], "https://schema.org/");
    assert_eq!(doc["@context"]["essglobal"], "http://purl.org/essglobal/vocab/");
    let graph = doc["@graph"].as_array().unwrap();
    assert_eq!(graph.len(), 3);
    let by_name = |name: &str| graph.iter().find(|n| n["schema:name"] == name).unwrap().clone();

    let reggio = by_name(REGGIO.name);
    assert_eq!(reggio["@id"], format!("urn:uuid:{}", ids[1]));
    assert_eq!(reggio["@type"][0], "schema:Organization");
    assert_eq!(reggio["schema:alternateName"][0]["@value"], "Tempo Social Cooperative");
    assert_eq!(reggio["schema:alternateName"][0]["@language"], "en");
    assert_eq!(reggio["schema:address"]["@type"], "schema:PostalAddress");
    assert_eq!(reggio["schema:address"]["schema:addressCountry"], "IT");
    assert_eq!(reggio["schema:address"]["schema:identifier"][0]["schema:value"], "IT_035033");
    assert_eq!(reggio["schema:address"]["schema:identifier"][1]["schema:value"], "ITH53");
    assert_eq!(reggio["schema:foundingDate"]["@value"], "2021-02-15");
    assert_eq!(reggio["essglobal:legalForm"]["schema:name"], "società cooperativa sociale");
    assert_eq!(reggio["essglobal:legalForm"]["schema:termCode"], "AB12");
    assert_eq!(reggio["essglobal:economicSector"]["schema:termCode"], "88.99");
    assert_eq!(reggio["essglobal:economicSector"]["schema:inDefinedTermSet"], "NACE Rev. 2");
    assert_eq!(reggio["schema:additionalType"][1], "Multi-stakeholders");
    assert_eq!(reggio["schema:memberOf"][0]["schema:name"], "Legacoop");
    assert!(reggio.get("schema:dissolutionDate").is_none());

    let marseille = by_name(MARSEILLE.name);
    assert_eq!(marseille["schema:identifier"][0]["@type"], "schema:PropertyValue");
    assert_eq!(marseille["schema:identifier"][0]["schema:propertyID"], "FR-SIREN");
    assert_eq!(marseille["schema:identifier"][0]["schema:value"], "732829320");
    assert_eq!(marseille["essglobal:economicSector"]["schema:inDefinedTermSet"], "NACE Rev. 2.1");

    let izmir = by_name(IZMIR.name);
    assert_eq!(izmir["schema:dissolutionDate"]["@value"], "2025-05-01");
    assert_eq!(izmir["schema:dissolutionDate"]["@type"], "xsd:date");

    // Nothing about persons or where they live: no street address, no founders, no capital.
    assert!(!text.contains("Via Roma"), "{text}");
    for key in ["founders", "subscribed", "streetAddress", "capital"] {
        assert!(!text.contains(key), "{key} in {text}");
    }
    let address: Vec<&String> = reggio["schema:address"].as_object().unwrap().keys().collect();
    assert_eq!(address, ["@type", "schema:addressCountry", "schema:identifier"]);
    // Every property is a prefixed term or a JSON-LD keyword.
    fn check_keys(v: &serde_json::Value) {
        if let Some(map) = v.as_object() {
            for (k, v) in map {
                assert!(
                    k.starts_with('@') || k.starts_with("schema:") || k.starts_with("essglobal:"),
                    "unprefixed key {k}"
                );
                check_keys(v);
            }
        } else if let Some(items) = v.as_array() {
            items.iter().for_each(check_keys);
        }
    }
    for node in graph {
        check_keys(node);
    }
}

/// The directory through the projection engine: read-your-writes after an append, and the same
/// answers after a restart from its snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_engine_over_the_embedded_log() {
    let dir = tempfile::tempdir().unwrap();
    let views = dir.path().join("views");
    std::fs::create_dir_all(&views).unwrap();
    let log: Arc<dyn EventLog> = Arc::new(imece_log_embedded::EmbeddedLog::open(dir.path().join("log")).unwrap());
    let (h, ids) = three();
    let mut last = 0;
    for (i, e) in h.events.iter().enumerate() {
        let stream = StreamId::new(ids[i].stream_name()).unwrap();
        let event = NewEvent::new(e.event_type.clone(), e.data.clone()).with_metadata(e.metadata.clone());
        last = log.append(&stream, ExpectedVersion::NoStream, vec![event]).await.unwrap().last_position;
    }
    let p = Projector::<Directory>::start(log.clone(), &views, Options::default()).await.unwrap();
    let query = Query { name: Some("İZMİR".into()), ..q() };
    let page = p.query(Some(last), Duration::from_secs(10), |d| d.search(&query)).await.unwrap();
    assert_eq!(page.entries.iter().map(|e| e.id).collect::<Vec<_>>(), [ids[0]]);
    p.shutdown().await.unwrap();

    let p = Projector::<Directory>::start(log.clone(), &views, Options::default()).await.unwrap();
    assert_eq!(p.checkpoint(), 3, "resumed from the snapshot");
    assert_eq!(p.read(|d| d.search(&query)), page);
    p.shutdown().await.unwrap();
}
