//! The node as a generic gRPC client sees it: health, reflection, authentication, the log service.

use std::time::Duration;

use futures_util::StreamExt;
use imece_log::{EventLog, ExpectedVersion, NewEvent, StreamId};
use imece_proto::v1::log_client::LogClient;
use imece_proto::v1::{GetHeadRequest, ReadLogRequest, SubscribeRequest};
use imece_tests::{ADMIN, ANALYST, TestNode, authed};
use tonic::Code;

/// Guards: health is served without a token, so load balancers and grpcurl can probe a node.
#[tokio::test]
async fn health_is_served_without_a_token() {
    let mut node = TestNode::start().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(node.channel().await);
    let reply = health
        .check(tonic_health::pb::HealthCheckRequest { service: "imece.v1.Log".to_owned() })
        .await
        .expect("health answers");
    assert_eq!(reply.into_inner().status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
    node.stop().await;
}

/// Guards: reflection lists the API, so generic clients discover it without the .proto files.
#[tokio::test]
async fn reflection_lists_the_services() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let mut node = TestNode::start().await;
    let mut client = ServerReflectionClient::new(node.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = client.server_reflection_info(futures_util::stream::iter([request])).await.unwrap().into_inner();
    let reply = replies.next().await.expect("a reply").expect("no error");
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else { panic!("{reply:?}") };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in
        ["imece.v1.Log", "imece.v1.Registry", "imece.v1.Indicators", "imece.v1.Projections", "grpc.health.v1.Health"]
    {
        assert!(names.contains(&service.to_owned()), "{service} missing from {names:?}");
    }
    node.stop().await;
}

/// Guards: no token is UNAUTHENTICATED, an unknown one too; a role without the right is PERMISSION_DENIED.
#[tokio::test]
async fn calls_need_a_token_and_the_right_role() {
    let mut node = TestNode::start().await;
    let mut client = LogClient::new(node.channel().await);
    let status = client.get_head(GetHeadRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let status = client.get_head(authed(GetHeadRequest {}, "not-a-token-at-all-123")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(client.get_head(authed(GetHeadRequest {}, ANALYST)).await.unwrap().into_inner().head, 0);
    let status = client.read_log(authed(ReadLogRequest { from_position: 0, limit: 10 }, ANALYST)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    node.stop().await;
}

/// Guards: the log service reads pages and subscribes across the catch-up/live seam; after a
/// restart the data is there.
#[tokio::test]
async fn the_log_is_read_and_followed_over_grpc_and_survives_a_restart() {
    let mut node = TestNode::start().await;
    // Write through the log directly while no server holds it, as an import would.
    node.stop().await;
    {
        let log = imece_log_embedded::EmbeddedLog::open(node.data_dir.join("log")).unwrap();
        let s = StreamId::new("org-test").unwrap();
        for i in 0..5 {
            log.append(&s, ExpectedVersion::Any, vec![NewEvent::new("Tested.v1", format!("{{\"i\":{i}}}"))])
                .await
                .unwrap();
        }
    }
    let node = node.restart().await;
    let mut client = LogClient::new(node.channel().await);
    let page =
        client.read_log(authed(ReadLogRequest { from_position: 1, limit: 3 }, ADMIN)).await.unwrap().into_inner();
    assert_eq!(page.head, 5);
    assert_eq!(page.events.iter().map(|e| e.position).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(page.events[0].data, b"{\"i\":1}");

    let mut events = client.subscribe(authed(SubscribeRequest { from_position: 3 }, ADMIN)).await.unwrap().into_inner();
    for expected in 3..5 {
        let e = tokio::time::timeout(Duration::from_secs(10), events.next()).await.unwrap().unwrap().unwrap();
        assert_eq!(e.position, expected);
    }
    let mut node = node;
    node.stop().await;
}

/// Guards: with `[tls]` configured the node speaks TLS (rustls): a client that trusts its
/// certificate gets through, a plaintext client does not.
#[tokio::test]
async fn tls_is_served_when_configured() {
    use tonic::transport::{Certificate, Channel, ClientTlsConfig};

    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("node.crt"), dir.path().join("node.key"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let mut config = imece_tests::config(&dir.path().join("data"));
    config.tls = Some(imece_server::config::TlsConfig { cert: cert_path, key: key_path });
    let mut node = TestNode::start_with(config).await;

    let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(cert.cert.pem())).domain_name("localhost");
    let channel = Channel::from_shared(format!("https://{}", node.addr)).unwrap().tls_config(tls).unwrap();
    let mut client = LogClient::new(channel.connect().await.expect("a TLS connection"));
    assert_eq!(client.get_head(authed(GetHeadRequest {}, ADMIN)).await.unwrap().into_inner().head, 0);

    let mut plain = LogClient::new(node.channel().await);
    assert!(plain.get_head(authed(GetHeadRequest {}, ADMIN)).await.is_err(), "plaintext must not get through");
    node.stop().await;
}
