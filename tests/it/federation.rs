//! Federation between two real nodes in this process: partner tokens reach only the Replication
//! service, a partner's public events arrive and person-level ones never do, and a replicated
//! organisation is written only at its owner.

use std::time::Duration;

use imece_domain::{Metadata, Visibility};
use imece_proto::v1 as pb;
use imece_proto::v1::log_client::LogClient;
use imece_proto::v1::registry_client::RegistryClient;
use imece_proto::v1::replication_client::ReplicationClient;
use imece_server::config::{PartnerConfig, RoleConfig, TokenConfig};
use imece_tests::{ADMIN, ANALYST, TestNode, authed, config};
use tonic::Code;

const PARTNER: &str = "partner-token-0123456789";

/// İzmir, which lets Reggio Emilia pull with [`PARTNER`], and Reggio Emilia, which pulls from it.
async fn two_nodes() -> (TestNode, TestNode, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut izmir = config(&dir.path().join("izmir"));
    izmir.node = "tr-izmir".into();
    izmir.tokens.push(TokenConfig {
        token: PARTNER.into(),
        name: "it-reggio-emilia".into(),
        role: RoleConfig::Partner,
        scope: vec![],
    });
    let izmir_key = imece_server::federation::load_or_create_identity(&izmir).unwrap().public_key();
    let izmir = TestNode::start_with(izmir).await;
    let mut reggio = config(&dir.path().join("reggio"));
    reggio.node = "it-reggio-emilia".into();
    reggio.federation.head_interval_secs = 1;
    reggio.federation.partners.push(PartnerConfig {
        node: "tr-izmir".into(),
        endpoint: format!("http://{}", izmir.addr),
        public_key: izmir_key.to_string(),
        token: PARTNER.into(),
        ca_cert: None,
    });
    let reggio = TestNode::start_with(reggio).await;
    (izmir, reggio, dir)
}

async fn partners(node: &TestNode) -> Vec<pb::PartnerStatus> {
    let mut client = ReplicationClient::new(node.channel().await);
    client.list_partners(authed(pb::ListPartnersRequest {}, ANALYST)).await.unwrap().into_inner().partners
}

async fn log_events(node: &TestNode) -> Vec<pb::LogEvent> {
    let mut client = LogClient::new(node.channel().await);
    let mut events = Vec::new();
    loop {
        let page = client
            .read_log(authed(pb::ReadLogRequest { from_position: events.len() as u64, limit: 0 }, ADMIN))
            .await
            .unwrap()
            .into_inner();
        if page.events.is_empty() {
            return events;
        }
        events.extend(page.events);
    }
}

/// Guards: the partner role's reach; replication of public events only, with origin, seq and
/// hash kept; the owner's name in the refusal of a write at a replica.
#[tokio::test]
async fn a_partner_replicates_public_events_and_writes_only_at_the_owner() {
    let (izmir, reggio, _dir) = two_nodes().await;

    // A partner's token opens the Replication service and nothing else.
    let mut registry = RegistryClient::new(izmir.channel().await);
    let (org, items) = crate::registry::first_organisation();
    let refused = crate::registry::send(&mut registry, items[0].clone(), PARTNER).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("only the Replication service"), "{}", refused.message());
    let mut replication = ReplicationClient::new(izmir.channel().await);
    let analyst_pull = replication.pull(authed(pb::PullRequest { from_seq: 0, max_batch: 0 }, ANALYST)).await;
    assert_eq!(analyst_pull.unwrap_err().code(), Code::PermissionDenied);
    let partner_list = replication.list_partners(authed(pb::ListPartnersRequest {}, PARTNER)).await;
    assert_eq!(partner_list.unwrap_err().code(), Code::PermissionDenied);

    // İzmir records an organisation with members: its public events reach Reggio Emilia.
    for item in items.iter().cloned() {
        crate::registry::send(&mut registry, item, ADMIN).await.expect("the sample is valid");
    }
    let head = replication.get_chain_head(authed(pb::GetChainHeadRequest {}, PARTNER)).await.unwrap().into_inner();
    assert_eq!(head.node, "tr-izmir");
    let published = head.published;
    assert!(published > 0);
    let izmir_log = log_events(&izmir).await;
    let public: Vec<&pb::LogEvent> =
        izmir_log.iter().filter(|e| Metadata::decode(&e.metadata).unwrap().visibility == Visibility::Public).collect();
    assert_eq!(public.len() as u64, published);
    assert!(public.len() < izmir_log.len(), "the sample has person-level events, which stay home");

    let mut waited = Duration::ZERO;
    while partners(&reggio).await[0].received < published {
        assert!(waited < Duration::from_secs(30), "replication stalled: {:?}", partners(&reggio).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    let status = &partners(&reggio).await[0];
    assert_eq!(status.state, pb::partner_status::State::Live as i32, "{status:?}");
    assert_eq!(status.confirmed_seq, Some(published - 1));
    let replica = log_events(&reggio).await;
    assert_eq!(replica.len(), public.len(), "exactly İzmir's public events, once each");
    for (seq, (copy, original)) in replica.iter().zip(&public).enumerate() {
        assert_eq!(
            (&copy.event_id, &copy.stream, &copy.event_type, &copy.data),
            (&original.event_id, &original.stream, &original.event_type, &original.data)
        );
        let origin = Metadata::decode(&copy.metadata).unwrap().origin;
        assert_eq!(origin.node.as_str(), "tr-izmir");
        assert_eq!(origin.position, Some(original.position));
        assert_eq!(origin.seq, Some(seq as u64));
        assert!(origin.hash.is_some_and(|h| h.len() == 64));
    }

    // Reggio Emilia reads the organisation, and refuses to write it, naming the owner.
    let mut at_reggio = RegistryClient::new(reggio.channel().await);
    let shown = at_reggio
        .get_organisation(authed(pb::GetOrganisationRequest { organisation_id: org.clone() }, ADMIN))
        .await
        .expect("the replica reads")
        .into_inner();
    assert_eq!(shown.organisation_id, org);
    let write = items.iter().rev().find(|c| !matches!(c, pb::import_request::Command::RegisterOrganisation(_)));
    let refused = crate::registry::send(&mut at_reggio, write.unwrap().clone(), ADMIN).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("owned by node tr-izmir"), "{}", refused.message());
    assert_eq!(log_events(&reggio).await.len(), replica.len(), "the refusal wrote nothing");
}
