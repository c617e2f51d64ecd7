//! `imece-bench grpc`: the registry through a real node on 127.0.0.1 — single-event commands from
//! concurrent clients, and the client-streaming import — printed beside the embedded log's own
//! figure for single-event appends from as many writers, in the same run, so the cost of the gRPC
//! and domain layers shows.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::stream;
use imece_proto::v1 as pb;
use imece_proto::v1::registry_client::RegistryClient;
use imece_server::config::{RoleConfig, TokenConfig};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

use crate::BoxError;
use crate::report::{count, ratio, verdict};
use crate::workload::WritePlan;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds the command scenario runs.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Concurrent gRPC clients (and log writers).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Copies of the demo sample the import scenario streams (each with its own organisations).
    #[arg(long, default_value_t = 4)]
    samples: u64,
    /// Where the scenarios' fresh directories go: on the disk to measure.
    #[arg(long, default_value = "target/bench-data")]
    dir: PathBuf,
}

const TOKEN: &str = "bench-admin-token-0123456789";

pub fn run(args: &Args) -> Result<(), BoxError> {
    std::fs::create_dir_all(&args.dir)?;
    let duration = Duration::from_secs(args.seconds);
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run with --release for figures worth recording");
    }

    eprintln!("raw log: single-event appends from {} writers ...", args.clients);
    let dir = tempfile::tempdir_in(&args.dir)?;
    let plan = WritePlan { writers: args.clients, batch: 1, streams_per_writer: 1 };
    let raw = crate::embedded::write(dir.path(), &imece_log_embedded::Options::default(), plan, duration)?;
    drop(dir);

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let (in_process, commands, imported) = runtime.block_on(async {
        eprintln!("registry in process: single-event commands from {} tasks ...", args.clients);
        let dir = tempfile::tempdir_in(&args.dir)?;
        let in_process = in_process(dir.path(), args.clients, duration).await?;
        drop(dir);
        eprintln!("gRPC: single-event commands from {} clients ...", args.clients);
        let dir = tempfile::tempdir_in(&args.dir)?;
        let commands = commands(dir.path(), args.clients, duration).await?;
        drop(dir);
        eprintln!("gRPC: import of {} copies of the demo sample ...", args.samples);
        let dir = tempfile::tempdir_in(&args.dir)?;
        let imported = import(dir.path(), args.samples).await?;
        Ok::<_, BoxError>((in_process, commands, imported))
    })?;

    let raw_rate = raw.events_per_sec();
    let rows = [
        (
            format!("single-event commands, registry in process, {} tasks", args.clients),
            in_process.0,
            "(the gRPC layer's cost shows against this)",
            true,
        ),
        (
            format!("single-event commands, {} gRPC clients", args.clients),
            commands.0,
            "≥ 40,000 commands/s",
            commands.0 >= 40_000.0,
        ),
        (
            format!("import, {} records in one stream", imported.1),
            imported.0,
            "≥ 400,000 events/s",
            imported.0 >= 400_000.0,
        ),
    ];
    let build = if cfg!(debug_assertions) { "debug" } else { "release" };
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("imece-bench grpc · {build} build · {cpus} CPUs · {} s", args.seconds);
    println!();
    println!("| scenario | through gRPC, per s | the log alone, per s | ratio | target | met? |");
    println!("|---|---|---|---|---|---|");
    for (scenario, rate, target, met) in rows {
        println!(
            "| {scenario} | {} | {} | {} | {target} | {} |",
            count(rate),
            count(raw_rate),
            ratio(rate, raw_rate),
            verdict(&[("rate", met)])
        );
    }
    println!();
    println!("the log alone: single-event appends from {} writers to the embedded log, same run", args.clients);
    println!(
        "- single-event commands: {} commands in {:.1} s (ChangeStatus, each client on its own organisation)",
        commands.1, commands.2
    );
    println!(
        "- registry in process: {} commands in {:.1} s (the same commands decided and appended without gRPC)",
        in_process.1, in_process.2
    );
    println!("- import: {} events in {:.2} s", imported.2, imported.3);
    println!(
        "- raw log: {} appends/s, {} syncs/s",
        count(raw.appends_per_sec()),
        raw.syncs_per_sec().map_or("—".into(), count)
    );
    Ok(())
}

async fn start(dir: &std::path::Path) -> Result<(String, tokio::sync::oneshot::Sender<()>), BoxError> {
    let config = imece_server::Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.to_owned(),
        node: "bench".into(),
        tls: None,
        reference: Default::default(),
        federation: Default::default(),
        log: Default::default(),
        tokens: vec![TokenConfig { token: TOKEN.into(), name: "bench".into(), role: RoleConfig::Admin, scope: vec![] }],
    };
    let node = imece_server::Node::bind(config).await?;
    let addr = node.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(node.serve(async {
        let _ = stopped.await;
    }));
    Ok((format!("http://{addr}"), stop))
}

fn request<T>(message: T, bearer: &MetadataValue<Ascii>) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut().insert("authorization", bearer.clone());
    r
}

fn header(org: &str) -> Option<pb::CommandHeader> {
    Some(pb::CommandHeader {
        request_id: uuid::Uuid::now_v7().to_string(),
        expected_version: None,
        organisation_id: org.to_owned(),
    })
}

/// The `n`th status change of the scenario: suspended, then active again, and so on.
fn status_change(org: &str, n: u64) -> pb::ChangeStatusRequest {
    let status = if n.is_multiple_of(2) { pb::Status::Suspended } else { pb::Status::Active };
    pb::ChangeStatusRequest {
        header: header(org),
        occurred_on: "2025-06-30".into(),
        status: status as i32,
        reason: None,
    }
}

/// Each client registers an organisation of the demo sample, then changes its status back and
/// forth until the time is up. Returns commands/s, commands, seconds.
async fn commands(dir: &std::path::Path, clients: usize, duration: Duration) -> Result<(f64, u64, f64), BoxError> {
    let (url, stop) = start(dir).await?;
    let bearer: MetadataValue<Ascii> = format!("Bearer {TOKEN}").parse()?;
    let registration = registration()?;
    // Each client its own connection, as separate programs would have.
    let mut channels = Vec::with_capacity(clients);
    for _ in 0..clients {
        channels.push(Channel::from_shared(url.clone())?.connect().await?);
    }
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let tasks: Vec<_> = channels
        .into_iter()
        .map(|channel| {
            let mut client = RegistryClient::new(channel);
            let bearer = bearer.clone();
            let mut register = registration.clone();
            tokio::spawn(async move {
                let org = uuid::Uuid::now_v7().to_string();
                register.header = header(&org);
                client.register_organisation(request(register, &bearer)).await?;
                let mut done = 0u64;
                while Instant::now() < deadline {
                    let change = status_change(&org, done);
                    client.change_status(request(change, &bearer)).await?;
                    done += 1;
                }
                Ok::<u64, tonic::Status>(done)
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    Ok((total as f64 / secs, total, secs))
}

/// The registry itself, without gRPC: each task registers an organisation, then changes its
/// status back and forth, as the gRPC clients do. Returns commands/s, commands, seconds.
async fn in_process(dir: &std::path::Path, tasks: usize, duration: Duration) -> Result<(f64, u64, f64), BoxError> {
    use imece_server::auth::{Caller, Role};
    use imece_server::convert::Write;
    let log = std::sync::Arc::new(imece_log_embedded::EmbeddedLog::open(dir.join("log"))?);
    let keys = std::sync::Arc::new(imece_server::keystore::FileKeyStore::open(dir.join("keys"))?);
    let registry = std::sync::Arc::new(imece_server::registry::Registry::new(
        log.clone(),
        keys,
        imece_domain::NodeId::new("bench")?,
    ));
    let registration = registration()?;
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let workers: Vec<_> = (0..tasks)
        .map(|_| {
            let registry = registry.clone();
            let mut register = registration.clone();
            tokio::spawn(async move {
                let caller = Caller { name: "bench".into(), role: Role::Admin };
                let org = uuid::Uuid::now_v7().to_string();
                register.header = header(&org);
                let Write { organisation, meta, command } = Write::try_from(register)?;
                registry.execute(&caller, organisation, meta, command).await?;
                let mut done = 0u64;
                while Instant::now() < deadline {
                    let change = status_change(&org, done);
                    let Write { organisation, meta, command } = Write::try_from(change)?;
                    registry.execute(&caller, organisation, meta, command).await?;
                    done += 1;
                }
                Ok::<u64, Box<dyn std::error::Error + Send + Sync>>(done)
            })
        })
        .collect();
    let mut total = 0;
    for w in workers {
        total += w.await?.map_err(|e| e.to_string())?;
    }
    let secs = started.elapsed().as_secs_f64();
    drop((registry, log));
    Ok((total as f64 / secs, total, secs))
}

/// The first organisation the demo sample registers.
fn registration() -> Result<pb::RegisterOrganisationRequest, BoxError> {
    Ok(imece::demo::partner_network(11)
        .items
        .iter()
        .find_map(|i| match &i.command {
            Some(pb::import_request::Command::RegisterOrganisation(r)) => Some(r.clone()),
            _ => None,
        })
        .ok_or("the sample registers no organisation")?)
}

/// Streams `samples` copies of the demo sample through `Import`. Returns events/s, records,
/// events, seconds.
async fn import(dir: &std::path::Path, samples: u64) -> Result<(f64, usize, u64, f64), BoxError> {
    let (url, stop) = start(dir).await?;
    let bearer: MetadataValue<Ascii> = format!("Bearer {TOKEN}").parse()?;
    let items: Vec<pb::ImportRequest> =
        (0..samples).flat_map(|seed| imece::demo::partner_network(1000 + seed).items).collect();
    let records = items.len();
    let mut client = RegistryClient::new(Channel::from_shared(url.clone())?.connect().await?);
    let started = Instant::now();
    let reply = client.import(request(stream::iter(items), &bearer)).await?.into_inner();
    let secs = started.elapsed().as_secs_f64();
    if !reply.failures.is_empty() {
        return Err(format!("{} import items failed, the first: {:?}", reply.failures.len(), reply.failures[0]).into());
    }
    let mut log = imece_proto::v1::log_client::LogClient::new(Channel::from_shared(url)?.connect().await?);
    let events = log.get_head(request(pb::GetHeadRequest {}, &bearer)).await?.into_inner().head;
    let _ = stop.send(());
    Ok((events as f64 / secs, records, events, secs))
}
