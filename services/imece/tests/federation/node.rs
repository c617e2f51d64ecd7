//! Nodes of the `imece` binary as child processes on loopback, their configuration files, and
//! admin clients for them.

use std::fmt::Write as _;
use std::fs::File;
use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use imece_proto::v1 as pb;
use imece_proto::v1::log_client::LogClient;
use imece_proto::v1::replication_client::ReplicationClient;
use tonic::transport::Channel;

/// The admin token every test node accepts.
pub const ADMIN: &str = "admin-token-0123456789";
/// How long anything may take to happen before a test gives up: generous, for 2 busy cores.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The `imece` binary under test.
pub fn imece() -> Command {
    Command::new(env!("CARGO_BIN_EXE_imece"))
}

/// Runs `imece args…` to the end.
pub fn run_imece(args: &[&str]) -> Output {
    imece().args(args).stdin(Stdio::null()).output().expect("the imece binary runs")
}

/// `n` distinct free ports on 127.0.0.1: bound to port 0 together, then released.
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> =
        (0..n).map(|_| TcpListener::bind("127.0.0.1:0").expect("a free loopback port")).collect();
    listeners.iter().map(|l| l.local_addr().expect("a local address").port()).collect()
}

/// `imece federation key --data-dir <dir>`: the node's public key, its key file created.
pub fn create_key(data_dir: &Path) -> String {
    let out = run_imece(&["federation", "key", "--data-dir", &data_dir.display().to_string()]);
    assert!(out.status.success(), "imece federation key: {}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8(out.stdout).expect("utf-8").trim().to_owned();
    assert!(key.starts_with("ed25519:") && key.len() == 8 + 64, "{key}");
    key
}

/// The token node `from` presents when it pulls from node `to` (which lists it, role `partner`).
pub fn partner_token(from: &str, to: &str) -> String {
    format!("partner-{from}-pulls-{to}")
}

/// A partner as a node's configuration names it.
#[derive(Clone, Debug)]
pub struct PartnerEntry {
    pub node: String,
    pub endpoint: String,
    pub public_key: String,
    /// The token this node presents to the partner.
    pub token: String,
}

/// The TOML configuration of a node: loopback on `port`, the admin token, a `partner` token for
/// each node in `pulled_by`, heads signed every second, and its `partners`.
pub fn config_toml(node: &str, port: u16, data_dir: &Path, pulled_by: &[&str], partners: &[PartnerEntry]) -> String {
    let mut toml = format!(
        "listen = \"127.0.0.1:{port}\"\ndata_dir = {:?}\nnode = \"{node}\"\n\n\
         [[tokens]]\ntoken = \"{ADMIN}\"\nname = \"admin\"\nrole = \"admin\"\n",
        data_dir.display().to_string()
    );
    for other in pulled_by {
        let _ = write!(
            toml,
            "\n[[tokens]]\ntoken = \"{}\"\nname = \"partner {other}\"\nrole = \"partner\"\n",
            partner_token(other, node)
        );
    }
    toml.push_str("\n[federation]\nhead_interval_secs = 1\n");
    for p in partners {
        let _ = write!(
            toml,
            "\n[[federation.partners]]\nnode = \"{}\"\nendpoint = \"{}\"\npublic_key = \"{}\"\ntoken = \"{}\"\n",
            p.node, p.endpoint, p.public_key, p.token
        );
    }
    toml
}

/// One node: a child process of `imece serve --config <file>`, killed when dropped (also when a
/// test panics, after printing the end of its log).
#[derive(Debug)]
pub struct NodeProcess {
    pub name: String,
    pub port: u16,
    pub data_dir: PathBuf,
    pub config: PathBuf,
    /// The node's stderr (its tracing output), appended across restarts.
    pub output: PathBuf,
    child: Option<Child>,
}

impl NodeProcess {
    /// A node that will run with the configuration in `config` (written by the caller).
    pub fn new(name: &str, port: u16, data_dir: &Path, config: &Path) -> NodeProcess {
        NodeProcess {
            name: name.to_owned(),
            port,
            data_dir: data_dir.to_owned(),
            config: config.to_owned(),
            output: data_dir.with_extension("stderr.txt"),
            child: None,
        }
    }

    /// Where it serves.
    pub fn addr(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the process (it serves soon after: see [`NodeProcess::ready`]).
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} is running already", self.name);
        let stderr =
            File::options().create(true).append(true).open(&self.output).expect("the node's output file opens");
        let child = imece()
            .args(["serve", "--config"])
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("imece serve starts");
        self.child = Some(child);
    }

    /// Waits until the node answers.
    pub async fn ready(&mut self) {
        let started = Instant::now();
        loop {
            if let Some(child) = &mut self.child
                && let Some(status) = child.try_wait().expect("try_wait")
            {
                panic!("{} exited at start with {status}:\n{}", self.name, self.tail());
            }
            if log_head(&self.addr()).await.is_ok() {
                return;
            }
            assert!(started.elapsed() < PATIENCE, "{} did not serve within {PATIENCE:?}:\n{}", self.name, self.tail());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: the node dies at once, whatever it was doing.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the node to exit (a graceful shutdown); returns its exit status.
    pub async fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("the node is running");
        let sent = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
        assert!(sent.success(), "kill -TERM {} failed", child.id());
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            if started.elapsed() > PATIENCE {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not stop within {PATIENCE:?} of SIGTERM:\n{}", self.name, self.tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines the node wrote to stderr.
    pub fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.output).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- the end of {}'s output ({}) ---\n{}", self.name, self.output.display(), self.tail());
        }
        self.kill();
    }
}

/// Calls `attempt` until it succeeds, for up to [`PATIENCE`]; panics with its last reason.
pub async fn eventually<T, F, Fut>(what: &str, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let started = Instant::now();
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(why) if started.elapsed() > PATIENCE => panic!("{what}: not within {PATIENCE:?}; last: {why}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// A request with the admin token.
pub fn admin<T>(message: T) -> tonic::Request<T> {
    bearer(message, ADMIN)
}

/// A request with `token`.
pub fn bearer<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("ascii"));
    request
}

/// A channel to `addr`, or why not.
pub async fn channel(addr: &str) -> Result<Channel, String> {
    Channel::from_shared(addr.to_owned())
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| format!("connect to {addr}: {e}"))
}

fn status_text(status: &tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

/// The position the node's next event will get.
pub async fn log_head(addr: &str) -> Result<u64, String> {
    let mut client = LogClient::new(channel(addr).await?);
    let reply = client.get_head(admin(pb::GetHeadRequest {})).await.map_err(|s| status_text(&s))?;
    Ok(reply.into_inner().head)
}

/// The node's whole log, read in pages.
pub async fn read_log(addr: &str) -> Result<Vec<pb::LogEvent>, String> {
    let mut client = LogClient::new(channel(addr).await?).max_decoding_message_size(64 * 1024 * 1024);
    let mut events = Vec::new();
    loop {
        let from_position = events.len() as u64;
        let page = client
            .read_log(admin(pb::ReadLogRequest { from_position, limit: 1_000 }))
            .await
            .map_err(|s| status_text(&s))?
            .into_inner();
        if page.events.is_empty() {
            return Ok(events);
        }
        events.extend(page.events);
    }
}

/// `GetChainHead` of the node.
pub async fn chain_head(addr: &str) -> Result<pb::GetChainHeadReply, String> {
    let mut client = ReplicationClient::new(channel(addr).await?);
    let reply = client.get_chain_head(admin(pb::GetChainHeadRequest {})).await.map_err(|s| status_text(&s))?;
    Ok(reply.into_inner())
}

/// `ListPartners` of the node.
pub async fn partners(addr: &str) -> Result<Vec<pb::PartnerStatus>, String> {
    let mut client = ReplicationClient::new(channel(addr).await?);
    let reply = client.list_partners(admin(pb::ListPartnersRequest {})).await.map_err(|s| status_text(&s))?;
    Ok(reply.into_inner().partners)
}

/// The status of `partner` on the node at `addr`.
pub async fn partner(addr: &str, partner: &str) -> Result<pb::PartnerStatus, String> {
    partners(addr)
        .await?
        .into_iter()
        .find(|p| p.node == partner)
        .ok_or_else(|| format!("{addr} does not list partner {partner}"))
}

/// A partner's state as its name, for messages.
pub fn state_name(state: i32) -> &'static str {
    pb::partner_status::State::try_from(state).map_or("?", |s| s.as_str_name())
}
