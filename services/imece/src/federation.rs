//! `imece federation …` (a node's identity and its partners) and `imece verify` (the offline check
//! of a node's log and chain).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use imece_domain::NodeId;
use imece_federation::{HeadJournal, LogCheck};
use imece_log::EventLog;
use imece_log_embedded::EmbeddedLog;
use imece_proto::v1 as pb;
use imece_proto::v1::replication_client::ReplicationClient;

use crate::analysis::print_table;
use crate::cli::{NodeArgs, channel, explain, with_token};
use crate::migrate::hex;

#[derive(Debug, Subcommand)]
pub enum FederationCommand {
    /// Print this node's public key, creating its key file if it has none yet: what partners put
    /// in their configuration.
    Key {
        #[command(flatten)]
        node: LocalNode,
    },
    /// A running node's chain: how many records it published, and its signed head.
    Head {
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Where a running node stands with each partner it pulls from, and why one is faulty.
    Status {
        #[command(flatten)]
        node: NodeArgs,
    },
}

/// A node's files on this machine, and its configuration.
#[derive(Debug, Args)]
pub struct LocalNode {
    /// The node's configuration file (for its id, directory and key file).
    #[arg(long, env = "IMECE_CONFIG")]
    config: Option<PathBuf>,
    /// The node's directory, if not the configuration's.
    #[arg(long, env = "IMECE_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

impl LocalNode {
    fn config(&self) -> anyhow::Result<imece_server::Config> {
        let mut config = match &self.config {
            Some(path) => imece_server::Config::from_file(path)?,
            None => imece_server::Config::default(),
        };
        if let Some(dir) = &self.data_dir {
            config.data_dir = dir.clone();
        }
        Ok(config)
    }
}

pub async fn federation(command: FederationCommand) -> anyhow::Result<()> {
    match command {
        FederationCommand::Key { node } => {
            let config = node.config()?;
            let identity = imece_server::federation::load_or_create_identity(&config)?;
            println!("{}", identity.public_key());
            Ok(())
        }
        FederationCommand::Head { node } => {
            let (channel, bearer) = channel(&node).await?;
            let reply = ReplicationClient::new(channel)
                .get_chain_head(with_token(pb::GetChainHeadRequest {}, &bearer))
                .await
                .map_err(explain)?
                .into_inner();
            let hash = reply.head.as_ref().map(|h| hex(&h.hash)).unwrap_or_default();
            if node.json {
                let json = serde_json::json!({
                    "node": reply.node, "public_key": reply.public_key, "published": reply.published,
                    "head_seq": reply.head.as_ref().map(|h| h.seq), "head_hash": hash,
                });
                println!("{}", serde_json::to_string_pretty(&json)?);
            } else {
                println!("node        {}", reply.node);
                println!("public key  {}", reply.public_key);
                println!("published   {}", reply.published);
                if let Some(head) = &reply.head {
                    println!("head        seq {} hash {hash}", head.seq);
                }
            }
            Ok(())
        }
        FederationCommand::Status { node } => status(node).await,
    }
}

async fn status(node: NodeArgs) -> anyhow::Result<()> {
    let (channel, bearer) = channel(&node).await?;
    let reply = ReplicationClient::new(channel)
        .list_partners(with_token(pb::ListPartnersRequest {}, &bearer))
        .await
        .map_err(explain)?
        .into_inner();
    let state = |s: i32| {
        pb::partner_status::State::try_from(s)
            .map(|s| s.as_str_name().to_lowercase().replace('_', " "))
            .unwrap_or_else(|_| s.to_string())
    };
    if node.json {
        let list: Vec<_> = reply
            .partners
            .iter()
            .map(|p| {
                serde_json::json!({
                    "node": p.node, "endpoint": p.endpoint, "state": state(p.state), "received": p.received,
                    "partner_published": p.partner_published, "confirmed_seq": p.confirmed_seq,
                    "fault": p.fault, "last_error": p.last_error, "last_received_micros": p.last_received_micros,
                    "redelivered": p.redelivered,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if reply.partners.is_empty() {
        println!("this node pulls from no partner ([[federation.partners]] in its configuration)");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = reply
        .partners
        .iter()
        .map(|p| {
            let why = if p.fault.is_empty() { p.last_error.clone() } else { p.fault.clone() };
            vec![p.node.clone(), state(p.state), p.received.to_string(), p.endpoint.clone(), why]
        })
        .collect();
    print_table(&["partner", "state", "received", "endpoint", "fault or last error"], &rows);
    Ok(())
}

/// `imece verify`: checks a stopped node's log and chain offline.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    node: LocalNode,
}

/// Reads every event of the node's log (checking its checksums), rebuilds the node's chain, checks
/// the signed heads it recorded against it and the replicated records' sequence. Fails if anything
/// is wrong.
pub async fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let config = args.node.config()?;
    let node = NodeId::new(&config.node)?;
    let key_file = config.key_file();
    let key = imece_federation::Identity::load(&key_file)
        .with_context(|| format!("the node's key ({})", key_file.display()))?
        .public_key();
    let heads = HeadJournal::read(config.federation_dir().join("heads"))?;
    let log_dir = config.log_dir();
    let log = EmbeddedLog::open(&log_dir).with_context(|| format!("opening the log in {}", log_dir.display()))?;
    let started = Instant::now();
    let checked = log.verify().context("the log's checksums")?;
    let mut check = LogCheck::new(node, &heads, &key);
    let head = log.head().await?;
    let mut from = 0;
    while from < head {
        let page = log.read_all(from, 10_000).await?;
        let Some(last) = page.last() else { break };
        from = last.position + 1;
        page.iter().for_each(|e| check.push(e));
    }
    let report = check.finish();
    println!("{checked} events' checksums verified; {report}");
    println!("({} signed heads on record; {:.1?})", heads.len(), started.elapsed());
    if !report.is_ok() {
        bail!("{} problem(s) found", report.problems.len());
    }
    Ok(())
}
