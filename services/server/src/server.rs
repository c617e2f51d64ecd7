//! Starting and stopping a node: the log, the services, health, reflection, TLS, shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use imece_domain::NodeId;
use imece_proto::v1::indicators_server::IndicatorsServer;
use imece_proto::v1::log_server::LogServer;
use imece_proto::v1::members_server::MembersServer;
use imece_proto::v1::projections_server::ProjectionsServer;
use imece_proto::v1::registry_server::RegistryServer;
use imece_proto::v1::replication_server::ReplicationServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Identity, Server, ServerTlsConfig};

use crate::auth::Authenticator;
use crate::backend::NodeLog;
use crate::federation::{Federation, FederationService};
use crate::indicators_service::IndicatorsService;
use crate::keystore::{FileKeyStore, KeyStore};
use crate::log_service::LogService;
use crate::registry::Registry;
use crate::registry_service::RegistryService;
use crate::views::Views;
use crate::{Config, Error};

/// The largest request message a node accepts (the log's largest append plus room for framing).
pub const MAX_MESSAGE_BYTES: usize = 20 * 1024 * 1024;

/// A node bound to its address, ready to serve.
#[derive(Debug)]
pub struct Node {
    config: Config,
    listener: TcpListener,
    log: NodeLog,
    keys: FileKeyStore,
    reference: imece_indicators::ReferenceData,
    identity: imece_federation::Identity,
}

impl Node {
    /// Reads the reference data, opens the log and binds the listening socket (port 0 picks a
    /// free one).
    pub async fn bind(config: Config) -> Result<Self, Error> {
        config.check()?;
        let reference = crate::views::load_reference(&config.reference)?;
        let log = config.log_location().open().await?;
        let keys = FileKeyStore::open(config.keys_dir())?;
        let identity = crate::federation::load_or_create_identity(&config)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| Error::Server(format!("cannot listen on {}: {e}", config.listen)))?;
        Ok(Node { config, listener, log, keys, reference, identity })
    }

    /// The address the node listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.listener.local_addr().map_err(|e| Error::Server(e.to_string()))
    }

    /// Serves until `shutdown` completes; then stops accepting, lets calls in flight finish, and
    /// closes the log (which waits for appends in flight to be durable).
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), Error> {
        let Node { config, listener, log, keys, reference, identity } = self;
        let log = Arc::new(log);
        let node = NodeId::new(&config.node).map_err(|e| Error::Config(e.to_string()))?;
        let keys: Arc<dyn KeyStore> = Arc::new(keys);
        let registry = RegistryService::new(Arc::new(Registry::new(log.clone(), keys, node)));
        let views = Arc::new(Views::start(log.clone(), &config.projections_dir(), reference).await?);
        let indicators = IndicatorsService::new(views.clone());
        let auth = Authenticator::new(config.tokens.clone());
        let federation = Arc::new(Federation::start(log.clone(), &config, identity)?);

        let (health, health_service) = tonic_health::server::health_reporter();
        health.set_serving::<LogServer<LogService<NodeLog>>>().await;
        health.set_serving::<RegistryServer<RegistryService<NodeLog>>>().await;
        health.set_serving::<MembersServer<RegistryService<NodeLog>>>().await;
        health.set_serving::<IndicatorsServer<IndicatorsService>>().await;
        health.set_serving::<ProjectionsServer<IndicatorsService>>().await;
        health.set_serving::<ReplicationServer<FederationService>>().await;
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(imece_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()
            .map_err(|e| Error::Server(format!("reflection: {e}")))?;

        let (stopping, stopping_rx) = tokio::sync::watch::channel(false);
        let stop_federation = federation.stopper();
        let shutdown = async move {
            shutdown.await;
            let _ = stopping.send(true);
            stop_federation();
        };
        let log_service = LogServer::new(LogService::new(log.clone(), stopping_rx))
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);

        let mut builder = Server::builder();
        if let Some(tls) = &config.tls {
            let read = |p: &std::path::Path| {
                std::fs::read(p).map_err(|e| Error::Config(format!("tls: cannot read {}: {e}", p.display())))
            };
            let identity = Identity::from_pem(read(&tls.cert)?, read(&tls.key)?);
            builder = builder
                .tls_config(ServerTlsConfig::new().identity(identity))
                .map_err(|e| Error::Config(format!("tls: {e}")))?;
        }
        tracing::info!(
            "imece node listening on {} ({}), on {}",
            listener.local_addr().map_or_else(|_| config.listen.to_string(), |a| a.to_string()),
            if config.tls.is_some() { "TLS" } else { "plaintext, loopback only" },
            config.log_location()
        );
        builder
            .add_service(health_service)
            .add_service(reflection)
            .add_service(tonic::service::interceptor::InterceptedService::new(log_service, auth.clone()))
            .add_service(tonic::service::interceptor::InterceptedService::new(
                RegistryServer::new(registry.clone())
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
                auth.clone(),
            ))
            .add_service(tonic::service::interceptor::InterceptedService::new(
                MembersServer::new(registry),
                auth.clone(),
            ))
            .add_service(tonic::service::interceptor::InterceptedService::new(
                IndicatorsServer::new(indicators.clone()),
                auth.clone(),
            ))
            .add_service(tonic::service::interceptor::InterceptedService::new(
                ProjectionsServer::new(indicators),
                auth.clone(),
            ))
            .add_service(tonic::service::interceptor::InterceptedService::new(
                ReplicationServer::new(FederationService::new(federation.clone()))
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
                auth.with_partners(),
            ))
            .serve_with_incoming_shutdown(incoming(listener), shutdown)
            .await
            .map_err(|e| Error::Server(e.to_string()))?;
        tracing::info!("stopped accepting calls; storing the projections' snapshots and closing the log");
        if let Ok(federation) = Arc::try_unwrap(federation) {
            federation.shutdown().await;
        }
        let stored = views.shutdown().await;
        drop(views);
        drop(log);
        stored?;
        Ok(())
    }
}

/// Accepted connections, each with Nagle's algorithm off: a reply is sent when written, not held
/// back to be merged with the next (the server's `tcp_nodelay` applies only to its own listener).
fn incoming(listener: TcpListener) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt;
    TcpListenerStream::new(listener).map(|accepted| {
        let stream = accepted?;
        stream.set_nodelay(true)?;
        Ok(stream)
    })
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutdown requested");
}
