//! The registry over gRPC: every error class, every role, retries, personal data and erasure, a
//! restart, and the import path, against a real node.

use futures_util::stream;
use imece::demo::partner_network;
use imece_proto::v1 as pb;
use imece_proto::v1::import_request::Command as C;
use imece_proto::v1::members_client::MembersClient;
use imece_proto::v1::registry_client::RegistryClient;
use imece_tests::{ADMIN, ANALYST, REGISTRAR, TestNode, authed};
use tonic::Code;
use tonic_types::StatusExt;

/// The sample's first organisation: its id and its records, in order.
pub(crate) fn first_organisation() -> (String, Vec<C>) {
    let sample = partner_network(7);
    let id = sample.organisations[0].id.to_string();
    let items = sample
        .items
        .into_iter()
        .filter_map(|i| i.command)
        .take_while(|c| imece_server::convert::command_header(c).is_some_and(|h| h.organisation_id == id))
        .collect();
    (id, items)
}

pub(crate) async fn send(
    client: &mut RegistryClient<tonic::transport::Channel>,
    command: C,
    token: &str,
) -> Result<pb::WriteReply, tonic::Status> {
    let reply = match command {
        C::RegisterOrganisation(r) => client.register_organisation(authed(r, token)).await,
        C::EnrolPerson(r) => client.enrol_person(authed(r, token)).await,
        C::AdmitMember(r) => client.admit_member(authed(r, token)).await,
        C::ConveneAssembly(r) => client.convene_assembly(authed(r, token)).await,
        C::RecordAssembly(r) => client.record_assembly(authed(r, token)).await,
        C::RecordElection(r) => client.record_election(authed(r, token)).await,
        C::ApproveAccounts(r) => client.approve_accounts(authed(r, token)).await,
        C::AllocateSurplus(r) => client.allocate_surplus(authed(r, token)).await,
        other => panic!("the sample has no {other:?}"),
    };
    reply.map(tonic::Response::into_inner)
}

/// Guards: each command RPC the sample uses writes its events; a retried request gets the first
/// reply and writes nothing; the organisation reads back, also after a restart.
#[tokio::test]
async fn commands_retries_reads_and_a_restart() {
    let node = TestNode::start().await;
    let mut client = RegistryClient::new(node.channel().await);
    let (id, items) = first_organisation();
    let mut last = None;
    for item in items.iter().cloned() {
        last = Some(send(&mut client, item, ADMIN).await.expect("the sample is valid"));
    }
    let last = last.unwrap();
    let retried = send(&mut client, items.last().unwrap().clone(), ADMIN).await.unwrap();
    assert_eq!(retried, last, "a retried request gets the first reply");

    let get = |token| authed(pb::GetOrganisationRequest { organisation_id: id.clone() }, token);
    let before = client.get_organisation(get(ANALYST)).await.unwrap().into_inner();
    assert_eq!(before.stream_version, last.stream_version);
    assert!(before.members > 7, "{before:?}");

    let node = node.restart().await;
    let mut client = RegistryClient::new(node.channel().await);
    assert_eq!(client.get_organisation(get(ADMIN)).await.unwrap().into_inner(), before);
    let history = client
        .get_history(authed(pb::GetHistoryRequest { organisation_id: id.clone(), from_version: 0, limit: 5 }, ADMIN))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(history.entries.len(), 5);
    assert_eq!(history.entries[0].event_type, "OrganisationRegistered.v1");
    let mut node = node;
    node.stop().await;
}

/// Guards: every error class maps to its documented code, names the field where there is one, and
/// writes nothing; a user's mistake is never INTERNAL.
#[tokio::test]
async fn every_error_class_has_its_code() {
    let mut node = TestNode::start().await;
    let mut client = RegistryClient::new(node.channel().await);
    let (id, items) = first_organisation();
    let C::RegisterOrganisation(register) = items[0].clone() else { panic!() };

    // No token, an analyst writing.
    let status = client.register_organisation(register.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = client.register_organisation(authed(register.clone(), ANALYST)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // Invalid input: the field and the rule, in google.rpc.BadRequest.
    let mut bad = register.clone();
    bad.subscribed_capital.as_mut().unwrap().currency = "XYZ".into();
    let status = client.register_organisation(authed(bad, ADMIN)).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let violations = status.get_error_details().bad_request().expect("a BadRequest").field_violations.clone();
    assert_eq!(violations[0].field, "subscribed_capital.currency", "{violations:?}");

    // Unknown organisation.
    let C::AllocateSurplus(allocate) = items.iter().find(|c| matches!(c, C::AllocateSurplus(_))).unwrap().clone()
    else {
        panic!()
    };
    let status = client.allocate_surplus(authed(allocate.clone(), ADMIN)).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");

    client.register_organisation(authed(register.clone(), ADMIN)).await.unwrap();
    // A conflict: a stale expected version, with both versions in the metadata.
    let mut stale = register.clone();
    let header = stale.header.as_mut().unwrap();
    header.request_id = uuid::Uuid::now_v7().to_string();
    header.expected_version = Some(7);
    let status = client.register_organisation(authed(stale, ADMIN)).await.unwrap_err();
    assert_eq!(status.code(), imece_server::CONFLICT, "{status:?}");
    assert_eq!(status.metadata().get("imece-actual-version").unwrap(), "0");
    assert_eq!(status.metadata().get("imece-expected-version").unwrap(), "7");

    // Refused by the history: registering the same organisation under a new request.
    let mut again = register.clone();
    again.header.as_mut().unwrap().request_id = uuid::Uuid::now_v7().to_string();
    let status = client.register_organisation(authed(again, ADMIN)).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");

    // A registrar of another union may not write for it.
    let mut scoped = allocate.clone();
    scoped.header.as_mut().unwrap().request_id = uuid::Uuid::now_v7().to_string();
    let status = client.allocate_surplus(authed(scoped, REGISTRAR)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    // Nothing of the refused requests was written.
    let org = client.get_organisation(authed(pb::GetOrganisationRequest { organisation_id: id }, ADMIN)).await.unwrap();
    assert_eq!(org.into_inner().stream_version, 0);
    node.stop().await;
}

/// Guards: personal data is seen by admins, never by analysts; after erasure nobody sees it, the
/// coarse attributes remain, and the analyst's history has no person-level events.
#[tokio::test]
async fn personal_data_by_role_and_erasure() {
    let mut node = TestNode::start().await;
    let channel = node.channel().await;
    let mut client = RegistryClient::new(channel.clone());
    let mut members = MembersClient::new(channel);
    let (id, items) = first_organisation();
    for item in items.iter().take(3).cloned() {
        send(&mut client, item, ADMIN).await.unwrap();
    }
    let C::EnrolPerson(enrol) = items[1].clone() else { panic!("{:?}", items[1]) };
    let person = enrol.person.clone();
    let get = |token| authed(pb::GetPersonRequest { organisation_id: id.clone(), person_ref: person.clone() }, token);
    let seen = members.get_person(get(ADMIN)).await.unwrap().into_inner();
    let expected_name = match enrol.person_kind.unwrap().kind.unwrap() {
        pb::person_kind::Kind::Natural(n) => n.personal_data.unwrap().full_name,
        pb::person_kind::Kind::Legal(_) => panic!(),
    };
    assert_eq!(seen.personal_data.as_ref().unwrap().full_name, expected_name);
    let analyst = members.get_person(get(ANALYST)).await.unwrap().into_inner();
    assert!(analyst.personal_data.is_none() && analyst.natural && analyst.birth_year.is_some());

    let erase = pb::EraseMemberDataRequest {
        header: Some(pb::CommandHeader {
            request_id: uuid::Uuid::now_v7().to_string(),
            expected_version: None,
            organisation_id: id.clone(),
        }),
        occurred_on: "2025-06-01".into(),
        person: person.clone(),
        requested_on: "2025-05-20".into(),
    };
    client.erase_member_data(authed(erase, ADMIN)).await.unwrap();
    let after = members.get_person(get(ADMIN)).await.unwrap().into_inner();
    assert!(after.erased && after.personal_data.is_none(), "{after:?}");
    assert_eq!(after.birth_year, seen.birth_year);

    let history =
        |token| authed(pb::GetHistoryRequest { organisation_id: id.clone(), from_version: 0, limit: 0 }, token);
    let all = client.get_history(history(ADMIN)).await.unwrap().into_inner().entries;
    let public = client.get_history(history(ANALYST)).await.unwrap().into_inner().entries;
    assert!(all.iter().any(|e| e.event_type.starts_with("MemberDataErased")));
    assert!(
        public
            .iter()
            .all(|e| !e.event_type.starts_with("PersonEnrolled") && !e.event_type.starts_with("MemberDataErased"))
    );
    assert!(public.len() < all.len());
    for e in &all {
        assert!(!e.data_json.contains(&expected_name), "the name is in the log: {}", e.event_type);
    }
    node.stop().await;
}

/// Guards: the client-streaming import loads many records at once, reports refused items by index
/// with their code and field, and a second import of the same records writes nothing.
#[tokio::test]
async fn import_reports_failures_and_is_idempotent() {
    let mut node = TestNode::start().await;
    let mut client = RegistryClient::new(node.channel().await);
    let (_, mut items) = first_organisation();
    // One bad record in the middle: a surplus in a currency that does not exist.
    let bad_at = items.iter().position(|c| matches!(c, C::AllocateSurplus(_))).unwrap();
    let C::AllocateSurplus(mut bad) = items[bad_at].clone() else { panic!() };
    bad.header.as_mut().unwrap().request_id = uuid::Uuid::now_v7().to_string();
    bad.surplus.as_mut().unwrap().currency = "XYZ".into();
    items.insert(bad_at, C::AllocateSurplus(bad));
    let requests = || items.iter().cloned().map(|c| pb::ImportRequest { command: Some(c) }).collect::<Vec<_>>();

    let first = client.import(authed(stream::iter(requests()), ADMIN)).await.unwrap().into_inner();
    assert_eq!(first.accepted as usize, items.len() - 1);
    assert_eq!(first.failures.len(), 1);
    assert_eq!(first.failures[0].index as usize, bad_at);
    assert_eq!(first.failures[0].code, "InvalidArgument");
    assert_eq!(first.failures[0].field, "surplus.currency");
    let second = client.import(authed(stream::iter(requests()), ADMIN)).await.unwrap().into_inner();
    assert_eq!((second.accepted, second.last_position), (first.accepted, first.last_position));
    node.stop().await;
}

/// Guards: an oversized message is refused with a clear status and the node keeps serving.
#[tokio::test]
async fn an_oversized_message_is_refused_and_the_node_keeps_serving() {
    let mut node = TestNode::start().await;
    let mut client = RegistryClient::new(node.channel().await).max_encoding_message_size(64 * 1024 * 1024);
    let (_, items) = first_organisation();
    let C::RegisterOrganisation(mut huge) = items[0].clone() else { panic!() };
    huge.names.as_mut().unwrap().legal = "x".repeat(imece_server::MAX_MESSAGE_BYTES + 1);
    let status = client.register_organisation(authed(huge, ADMIN)).await.unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    let C::RegisterOrganisation(ok) = items[0].clone() else { panic!() };
    client.register_organisation(authed(ok, ADMIN)).await.expect("still serving");
    node.stop().await;
}

/// Guards: the command line's writes reach the node and are safe to run again with their request
/// id; a refused one is an error, not a success.
#[tokio::test]
async fn the_command_line_writes_and_retries() {
    let mut node = TestNode::start().await;
    let addr = format!("http://{}", node.addr);
    let org = uuid::Uuid::now_v7().to_string();
    let run = |args: Vec<String>| {
        let mut full = vec!["imece".to_owned(), "org".to_owned()];
        full.extend(args);
        full.extend(["--addr".to_owned(), addr.clone(), "--token".to_owned(), ADMIN.to_owned()]);
        tokio::task::spawn_blocking(move || imece::cli::run(full.into_iter().map(Into::into)))
    };
    let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    let register = format!(
        "register --name Tempo --country IT --lau IT_035033 --nuts3 ITH53 --nace 88.99 --legal-form cooperativa \
         --type multi-stakeholder --founded 2020-01-15 --registered 2020-02-01 --founders 9 --id {org}"
    );
    run(words(&register)).await.unwrap().expect("registered");
    let admit = format!(
        "admit {org} --name Giulia --sex female --category worker --on 2021-03-01 --capital 200 --currency EUR \
         --request-id 0190b1c6-0000-7000-8000-0000000000cc"
    );
    run(words(&admit)).await.unwrap().expect("admitted");
    run(words(&admit)).await.unwrap().expect("admitted again: a retry");
    let bad = format!(
        "surplus {org} --on 2025-04-20 --fiscal-year 2024 --surplus 100 --currency EUR --item legal_reserve=10"
    );
    assert!(run(words(&bad)).await.unwrap().is_err(), "items that do not add up are refused");

    let mut client = RegistryClient::new(node.channel().await);
    let summary = client.get_organisation(authed(pb::GetOrganisationRequest { organisation_id: org }, ADMIN)).await;
    let summary = summary.unwrap().into_inner();
    assert_eq!((summary.members, summary.stream_version), (1, 2));
    node.stop().await;
}

/// Guards: a node whose `[log] url` names PostgreSQL runs the registry on it, and finds what it
/// wrote after a restart. Skipped without a server unless `IMECE_REQUIRE_POSTGRES=1` (CI).
#[tokio::test]
async fn a_node_runs_on_postgresql() {
    let url = std::env::var("IMECE_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("imece_it_{}", uuid::Uuid::now_v7().simple());
    let dir = tempfile::tempdir().unwrap();
    let mut config = imece_tests::config(dir.path());
    config.log =
        imece_server::config::LogConfig { url: Some(url.clone()), schema: schema.clone(), ..Default::default() };
    if let Err(e) = config.log_location().open().await {
        assert!(std::env::var("IMECE_REQUIRE_POSTGRES").is_err(), "IMECE_REQUIRE_POSTGRES is set: {e}");
        eprintln!("SKIPPED a_node_runs_on_postgresql: {e}");
        return;
    }
    let mut node = TestNode::start_with(config.clone()).await;
    let mut client = RegistryClient::new(node.channel().await);
    let (id, items) = first_organisation();
    let mut last = None;
    for item in items {
        last = Some(send(&mut client, item, ADMIN).await.expect("the sample is valid"));
    }
    let last = last.unwrap();
    node.stop().await;
    let mut node = TestNode::start_with(config).await;
    let mut client = RegistryClient::new(node.channel().await);
    let org = client
        .get_organisation(authed(pb::GetOrganisationRequest { organisation_id: id.clone() }, ADMIN))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(org.stream_version, last.stream_version, "everything written is read back from PostgreSQL");
    let mut log = imece_proto::v1::log_client::LogClient::new(node.channel().await);
    let head = log.get_head(authed(pb::GetHeadRequest {}, ADMIN)).await.unwrap().into_inner().head;
    assert_eq!(head, last.last_position + 1);
    node.stop().await;
    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    db.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.unwrap();
}
