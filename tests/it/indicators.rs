//! The analysts' API against a real node: indicators computed from what was written through the
//! registry, read-your-writes, the publication rules, the directory, and the projections' admin.

use std::collections::BTreeMap;

use futures_util::stream;
use imece::demo::partner_network;
use imece_proto::v1 as pb;
use imece_proto::v1::import_request::Command as C;
use imece_proto::v1::indicators_client::IndicatorsClient;
use imece_proto::v1::projections_client::ProjectionsClient;
use imece_proto::v1::registry_client::RegistryClient;
use imece_tests::{ADMIN, ANALYST, TestNode, authed};
use rust_decimal::Decimal;
use tonic::Code;
use tonic_types::StatusExt;

/// The sample's cities by their LAU codes.
fn lau(city: &str) -> &'static str {
    match city {
        "İzmir" => "TR_35",
        "Reggio nell'Emilia" => "IT_035033",
        "Leverano" => "IT_075037",
        "Marseille" => "FR_13055",
        other => panic!("the sample has no city {other}"),
    }
}

/// Loads the demo sample through `Import`; returns the last position written.
async fn load_sample(node: &TestNode, seed: u64) -> (pb::ImportReply, imece::demo::Sample) {
    let sample = partner_network(seed);
    let mut client = RegistryClient::new(node.channel().await);
    let reply = client.import(authed(stream::iter(sample.items.clone()), ADMIN)).await.unwrap().into_inner();
    assert!(reply.failures.is_empty(), "{:?}", reply.failures);
    (reply, sample)
}

fn query(indicator: &str, group_by: &[&str], year: i32, after: Option<u64>) -> pb::QueryIndicatorRequest {
    pb::QueryIndicatorRequest {
        indicator: indicator.to_owned(),
        group_by: group_by.iter().map(|g| (*g).to_owned()).collect(),
        year_from: year,
        consistency: after.map(|p| pb::Consistency { min_position: Some(p), timeout_ms: 10_000 }),
        ..Default::default()
    }
}

fn decimal(text: &Option<String>) -> Decimal {
    text.as_deref().expect("a published value").parse().expect("decimal text")
}

/// Guards: an analyst's table is computed from the facts written through the registry (checked
/// here against the sample's own assemblies), answered only after the projections applied the
/// import, with its totals and the organisations each cell rests on.
#[tokio::test]
async fn assembly_participation_by_city_matches_the_assemblies_written() {
    let node = TestNode::start().await;
    let (reply, sample) = load_sample(&node, 41).await;
    // What the sample recorded for 2024, by city: Σ(present + proxies) and Σ eligible.
    let city_of: BTreeMap<String, &str> =
        sample.organisations.iter().map(|o| (o.id.to_string(), lau(o.city))).collect();
    let mut expected: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for item in &sample.items {
        if let Some(C::RecordAssembly(a)) = &item.command
            && a.occurred_on.starts_with("2024")
        {
            let city = city_of[&a.header.as_ref().unwrap().organisation_id];
            let e = expected.entry(city).or_default();
            e.0 += u64::from(a.present + a.proxies);
            e.1 += u64::from(a.eligible);
        }
    }
    assert_eq!(expected.len(), 4, "the sample holds assemblies in 2024 in every city");

    let mut client = IndicatorsClient::new(node.channel().await);
    let table = client
        .query_indicator(authed(query("assembly_participation", &["city"], 2024, Some(reply.last_position)), ANALYST))
        .await
        .unwrap()
        .into_inner();
    assert!(table.as_of_position > reply.last_position, "answered after the import was applied");
    let cells: Vec<&pb::IndicatorRow> = table.rows.iter().filter(|r| r.kind == pb::RowKind::Cell as i32).collect();
    assert_eq!(cells.len(), 4);
    for row in cells {
        let city = row.key[0].code.as_ref().unwrap().code.as_str();
        let cell = row.cell.as_ref().unwrap();
        let (attending, eligible) = expected[city];
        assert_eq!(decimal(&cell.numerator), Decimal::from(attending), "{city}");
        assert_eq!(decimal(&cell.denominator), Decimal::from(eligible), "{city}");
        // Ratios are published to six decimal places.
        assert_eq!(decimal(&cell.value), (Decimal::from(attending) / Decimal::from(eligible)).round_dp(6), "{city}");
        assert_eq!(cell.organisations, Some(3), "{city}");
        assert_eq!(cell.suppressed, pb::Suppression::None as i32);
    }
    let total = table.rows.iter().find(|r| r.kind == pb::RowKind::Total as i32).unwrap().cell.clone().unwrap();
    let (a, e) = expected.values().fold((0, 0), |(a, e), (x, y)| (a + x, e + y));
    assert_eq!(decimal(&total.value), (Decimal::from(a) / Decimal::from(e)).round_dp(6));
    assert_eq!(total.organisations, Some(12));

    // Money stays in its currency: the surplus mix has a TRY row and a EUR row, never a sum.
    let mix = client
        .query_indicator(authed(query("surplus_indivisible_reserve", &["country"], 2024, None), ANALYST))
        .await
        .unwrap()
        .into_inner();
    let currencies: Vec<Option<String>> =
        mix.rows.iter().filter(|r| r.kind == pb::RowKind::Total as i32).map(|r| r.currency.clone()).collect();
    assert_eq!(currencies, vec![Some("EUR".to_owned()), Some("TRY".to_owned())]);
    let mut node = node;
    node.stop().await;
}

/// Guards: the publication rules and every error class of the query API.
#[tokio::test]
async fn small_cells_are_suppressed_and_bad_queries_name_their_field() {
    let node = TestNode::start().await;
    let (reply, _) = load_sample(&node, 43).await;
    let mut client = IndicatorsClient::new(node.channel().await);

    // Grouped by cooperative type within cities, most cells rest on one or two cooperatives.
    let table = client
        .query_indicator(authed(
            query("active_entities", &["city", "cooperative_type"], 2024, Some(reply.last_position)),
            ANALYST,
        ))
        .await
        .unwrap()
        .into_inner();
    let suppressed: Vec<&pb::IndicatorCell> = table
        .rows
        .iter()
        .filter_map(|r| r.cell.as_ref())
        .filter(|c| c.suppressed != pb::Suppression::None as i32)
        .collect();
    assert!(!suppressed.is_empty());
    for cell in suppressed {
        assert_eq!((&cell.value, &cell.numerator, cell.organisations), (&None, &None, None), "{cell:?}");
    }
    for row in &table.rows {
        let cell = row.cell.as_ref().unwrap();
        if cell.suppressed == pb::Suppression::None as i32 {
            assert!(cell.organisations.unwrap() >= 3, "a published cell rests on 3 organisations: {row:?}");
        }
    }

    let refused = |status: tonic::Status, code: Code, field: Option<&str>| {
        assert_eq!(status.code(), code, "{status:?}");
        if let Some(field) = field {
            let bad = status.get_details_bad_request().expect("field violations");
            assert_eq!(bad.field_violations[0].field, field, "{status:?}");
        }
    };
    let unknown = client.query_indicator(authed(query("happiness", &[], 2024, None), ANALYST)).await.unwrap_err();
    refused(unknown, Code::InvalidArgument, Some("indicator"));
    let dimension =
        client.query_indicator(authed(query("members", &["planet"], 2024, None), ANALYST)).await.unwrap_err();
    refused(dimension, Code::InvalidArgument, Some("group_by[0]"));
    // The node has no exchange rates: converting the lira is refused, naming the pair.
    let mut convert = query("turnover", &["country"], 2024, None);
    convert.convert_to = Some("EUR".to_owned());
    let rate = client.query_indicator(authed(convert, ANALYST)).await.unwrap_err();
    refused(rate.clone(), Code::FailedPrecondition, None);
    assert!(rate.message().contains("TRY") && rate.message().contains("EUR"), "{rate:?}");
    // A position the log has not reached yet: the wait ends with a clear status.
    let mut later = query("members", &[], 2024, None);
    later.consistency = Some(pb::Consistency { min_position: Some(reply.last_position + 1_000), timeout_ms: 200 });
    let waited = client.query_indicator(authed(later, ANALYST)).await.unwrap_err();
    refused(waited, Code::DeadlineExceeded, None);
    // No token, no figures.
    let anonymous = client.list_indicators(pb::ListIndicatorsRequest {}).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let catalogue = client.list_indicators(authed(pb::ListIndicatorsRequest {}, ANALYST)).await.unwrap().into_inner();
    assert!(catalogue.indicators.len() >= 26, "{}", catalogue.indicators.len());
    assert!(catalogue.indicators.iter().all(|i| !i.formula.is_empty() && !i.source.is_empty()));
    let mut node = node;
    node.stop().await;
}

/// Guards: the directory's search and JSON-LD, the projections' lag and rebuild by role, and
/// projections that resume from their snapshots after a restart.
#[tokio::test]
async fn directory_search_and_projection_admin_survive_a_restart() {
    let node = TestNode::start().await;
    let (reply, _) = load_sample(&node, 47).await;
    let mut indicators = IndicatorsClient::new(node.channel().await);
    let search = |name: Option<&str>, city: Option<&str>| pb::SearchOrganisationsRequest {
        name: name.map(str::to_owned),
        city: city.map(str::to_owned),
        json_ld: true,
        consistency: Some(pb::Consistency { min_position: Some(reply.last_position), timeout_ms: 10_000 }),
        ..Default::default()
    };
    // Accent- and case-insensitive: "SUT" finds "Tire Süt Üreticileri Kooperatifi".
    let found = indicators.search_organisations(authed(search(Some("SUT"), None), ANALYST)).await.unwrap().into_inner();
    assert_eq!(found.total, 1);
    assert_eq!(found.entries[0].legal_name, "Tire Süt Üreticileri Kooperatifi");
    let in_izmir =
        indicators.search_organisations(authed(search(None, Some("TR_35")), ANALYST)).await.unwrap().into_inner();
    assert_eq!(in_izmir.total, 3);
    let ld: serde_json::Value = serde_json::from_str(in_izmir.json_ld.as_deref().unwrap()).unwrap();
    assert_eq!(ld["@graph"].as_array().unwrap().len(), 3);
    assert!(ld["@context"]["schema"].is_string());

    let mut admin = ProjectionsClient::new(node.channel().await);
    let listed = admin.list_projections(authed(pb::ListProjectionsRequest {}, ANALYST)).await.unwrap().into_inner();
    let names: Vec<&str> = listed.projections.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["directory", "indicators"]);
    assert!(listed.head > reply.last_position);
    for p in &listed.projections {
        assert_eq!(p.checkpoint + p.lag, listed.head, "{p:?}");
    }
    let denied = admin
        .rebuild_projection(authed(pb::RebuildProjectionRequest { name: "indicators".into() }, ANALYST))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let missing = admin
        .rebuild_projection(authed(pb::RebuildProjectionRequest { name: "nope".into() }, ADMIN))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    admin.rebuild_projection(authed(pb::RebuildProjectionRequest { name: "indicators".into() }, ADMIN)).await.unwrap();
    // While and after rebuilding, the figures are the same.
    let before = indicators
        .query_indicator(authed(query("members", &["city"], 2025, Some(reply.last_position)), ANALYST))
        .await
        .unwrap()
        .into_inner();

    let node = node.restart().await;
    let mut admin = ProjectionsClient::new(node.channel().await);
    let after_restart =
        admin.list_projections(authed(pb::ListProjectionsRequest {}, ADMIN)).await.unwrap().into_inner();
    for p in &after_restart.projections {
        assert_eq!(p.last_snapshot, Some(listed.head), "resumed from the snapshot stored at shutdown: {p:?}");
    }
    let mut indicators = IndicatorsClient::new(node.channel().await);
    let after = indicators
        .query_indicator(authed(query("members", &["city"], 2025, Some(reply.last_position)), ANALYST))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.rows, before.rows);
    let mut node = node;
    node.stop().await;
}

/// Guards: a reference-data file with a bad row stops the node before it serves, naming the file,
/// the line and the reason; the demo's own files load.
#[tokio::test]
async fn a_bad_reference_row_stops_the_node_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let rates = dir.path().join("rates.csv");
    std::fs::write(&rates, "date,base,quote,rate,source\n2024-12-31,EUR,TRY,36.7372,ECB\n2025-12-31,EUR,TRY,-1,ECB\n")
        .unwrap();
    let mut config = imece_tests::config(dir.path());
    config.reference.rates = Some(rates);
    let error = imece_server::Node::bind(config).await.unwrap_err().to_string();
    assert!(error.contains("rates.csv") && error.contains("line 3") && error.contains("positive"), "{error}");

    let mut config = imece_tests::config(dir.path());
    config.reference = imece::demo::reference::write(&dir.path().join("reference")).unwrap();
    let mut node = TestNode::start_with(config).await;
    let mut client = IndicatorsClient::new(node.channel().await);
    client.list_indicators(authed(pb::ListIndicatorsRequest {}, ANALYST)).await.unwrap();
    node.stop().await;
}

/// Guards: the analysts' and operators' commands run against a node, and a bad query is an error
/// the command reports (not a crash, not an empty table).
#[tokio::test]
async fn the_command_line_queries_indicators_the_directory_and_projections() {
    let mut node = TestNode::start().await;
    let (reply, _) = load_sample(&node, 53).await;
    let addr = format!("http://{}", node.addr);
    let run = |line: String, token: &str| {
        let mut full: Vec<String> = vec!["imece".to_owned()];
        full.extend(line.split_whitespace().map(str::to_owned));
        full.extend(["--addr".to_owned(), addr.clone(), "--token".to_owned(), token.to_owned()]);
        tokio::task::spawn_blocking(move || imece::cli::run(full.into_iter().map(Into::into)))
    };
    let after = reply.last_position;
    for line in [
        "indicators list".to_owned(),
        format!("indicators show assembly_participation --group-by country,city --years 2022-2025 --after {after}"),
        "indicators show members --group-by city --years 2025 --csv".to_owned(),
        "indicators show turnover --group-by country --years 2024 --json".to_owned(),
        "directory search --name süt".to_owned(),
        "directory search --country IT --json-ld".to_owned(),
        "projections status".to_owned(),
    ] {
        run(line.clone(), ANALYST).await.unwrap().unwrap_or_else(|e| panic!("{line}: {e:#}"));
    }
    let unknown = run("indicators show happiness --years 2024".to_owned(), ANALYST).await.unwrap().unwrap_err();
    assert!(format!("{unknown:#}").contains("indicator"), "{unknown:#}");
    let denied = run("projections rebuild directory".to_owned(), ANALYST).await.unwrap().unwrap_err();
    assert!(format!("{denied:#}").contains("PermissionDenied"), "{denied:#}");
    run("projections rebuild directory".to_owned(), ADMIN).await.unwrap().unwrap();
    node.stop().await;
}
