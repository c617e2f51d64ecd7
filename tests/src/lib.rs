//! Helpers for the end-to-end tests: a real node on a free loopback port, and clients for it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use imece_server::config::{RoleConfig, TokenConfig};
use imece_server::{Config, Node};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// The admin token every test node accepts.
pub const ADMIN: &str = "admin-token-0123456789";
/// A registrar scoped to the union `tmkb`.
pub const REGISTRAR: &str = "registrar-token-0123456789";
/// An analyst.
pub const ANALYST: &str = "analyst-token-0123456789";

/// A node serving on 127.0.0.1 with a port of its own, over a log in a temporary directory.
#[derive(Debug)]
pub struct TestNode {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), imece_server::Error>>>,
    _dir: Option<tempfile::TempDir>,
}

/// The configuration of a test node over `data_dir`, on a free loopback port, with the three
/// test tokens.
pub fn config(data_dir: &Path) -> Config {
    let token = |token: &str, name: &str, role, scope: &[&str]| TokenConfig {
        token: token.to_owned(),
        name: name.to_owned(),
        role,
        scope: scope.iter().map(|s| (*s).to_owned()).collect(),
    };
    Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data_dir.to_owned(),
        node: "test-node".to_owned(),
        tls: None,
        reference: Default::default(),
        federation: Default::default(),
        log: Default::default(),
        tokens: vec![
            token(ADMIN, "test admin", RoleConfig::Admin, &[]),
            token(REGISTRAR, "test registrar", RoleConfig::Registrar, &["union:tmkb"]),
            token(ANALYST, "test analyst", RoleConfig::Analyst, &[]),
        ],
    }
}

impl TestNode {
    /// Starts a node over a fresh, empty log.
    pub async fn start() -> TestNode {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut node = TestNode::start_in(dir.path()).await;
        node._dir = Some(dir);
        node
    }

    /// Starts a node over the log in `data_dir`.
    pub async fn start_in(data_dir: &Path) -> TestNode {
        TestNode::start_with(config(data_dir)).await
    }

    /// Starts a node with `config`.
    pub async fn start_with(config: Config) -> TestNode {
        let data_dir = config.data_dir.clone();
        let node = Node::bind(config).await.expect("the node binds");
        let addr = node.local_addr().expect("a local address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(node.serve(async {
            let _ = stopped.await;
        }));
        TestNode { addr, data_dir, stop: Some(stop), task: Some(task), _dir: None }
    }

    /// A channel to the node.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr)).expect("a valid URI").connect().await.expect("connects")
    }

    /// Stops the node (it finishes calls in flight and closes its log), keeping its directory.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("the node task").expect("the node stops cleanly");
        }
    }

    /// Stops the node and starts a new one over the same log.
    pub async fn restart(mut self) -> TestNode {
        self.stop().await;
        let mut node = TestNode::start_in(&self.data_dir).await;
        node._dir = self._dir.take();
        node
    }
}

/// Adds `authorization: Bearer <token>` to a request.
pub fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("ascii"));
    request
}
