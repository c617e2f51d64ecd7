//! The command line: a node (`serve`, `demo`), its client (`org …`), and read-only tools for the
//! embedded log (`log …`).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use imece_log::{Direction, EventLog, RecordedEvent, StreamFrom, StreamId};
use imece_log_embedded::EmbeddedLog;

/// imece: an event-sourced registry for cooperatives and the social economy.
#[derive(Debug, Parser)]
#[command(name = "imece", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a node: the gRPC API over the embedded log, until SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// Start a node and load a sample of the partner network through its API: cooperatives of
    /// İzmir, Reggio Emilia, Leverano and Marseille with members, assemblies, elections, accounts
    /// and surplus allocations over several years.
    Demo {
        /// The node's directory; loading the sample again changes nothing (requests are idempotent).
        #[arg(long, env = "IMECE_DATA_DIR", default_value = "imece-data")]
        data_dir: PathBuf,
        /// Keep serving on 127.0.0.1:50051 afterwards, until Ctrl-C.
        #[arg(long)]
        serve: bool,
    },
    /// Record facts about organisations on a running node, and read them.
    #[command(subcommand)]
    Org(Box<OrgCommand>),
    /// Economic-democracy indicators from a running node: the catalogue, and tables by city,
    /// sector, legal form and year.
    #[command(subcommand)]
    Indicators(crate::analysis::IndicatorsCommand),
    /// The directory of organisations on a running node, as a table, JSON or JSON-LD.
    #[command(subcommand)]
    Directory(crate::analysis::DirectoryCommand),
    /// The projections of a running node: lag behind the log, and rebuilds.
    #[command(subcommand)]
    Projections(crate::analysis::ProjectionsCommand),
    /// Federation: this node's public key, its chain, and the partners it pulls from.
    #[command(subcommand)]
    Federation(crate::federation::FederationCommand),
    /// Check a stopped node's log, chain and signed heads offline.
    Verify(crate::federation::VerifyArgs),
    /// Read the embedded event log directly, while no node holds it.
    #[command(subcommand)]
    Log(LogCommand),
    /// Copy a stopped node's log to another backend (a directory or a postgres:// URL) exactly,
    /// resuming an interrupted copy, then verify it; or, with --verify-only, compare two logs.
    Migrate(crate::migrate::MigrateArgs),
}

/// How to reach a node.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// The node's address.
    #[arg(long, env = "IMECE_ADDR", default_value = "http://127.0.0.1:50051")]
    pub addr: String,
    /// The bearer token to call with.
    #[arg(long, env = "IMECE_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Print JSON instead of a table, for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Register a cooperative.
    Register {
        #[command(flatten)]
        node: NodeArgs,
        #[command(flatten)]
        write: crate::client::WriteArgs,
        #[command(flatten)]
        fact: crate::client::RegisterFact,
    },
    /// Enrol a person and admit them as a member.
    Admit {
        #[command(flatten)]
        node: NodeArgs,
        #[command(flatten)]
        write: crate::client::WriteArgs,
        #[command(flatten)]
        fact: crate::client::AdmitFact,
    },
    /// Record an ordinary general assembly: its call and its attendance.
    Assembly {
        #[command(flatten)]
        node: NodeArgs,
        #[command(flatten)]
        write: crate::client::WriteArgs,
        #[command(flatten)]
        fact: crate::client::AssemblyFact,
    },
    /// Record how a year's surplus was shared.
    Surplus {
        #[command(flatten)]
        node: NodeArgs,
        #[command(flatten)]
        write: crate::client::WriteArgs,
        #[command(flatten)]
        fact: crate::client::SurplusFact,
    },
    /// An organisation's summary: names, status, seat country, members, organs.
    Show {
        #[command(flatten)]
        node: NodeArgs,
        /// The organisation's id (UUID).
        id: String,
    },
    /// An organisation's history: every event of its stream, oldest first.
    History {
        #[command(flatten)]
        node: NodeArgs,
        /// The organisation's id (UUID).
        id: String,
        /// The first stream version to show.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// The most events to show.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// A TOML configuration file (see deploy/imece.toml); flags and environment override it.
    #[arg(long, env = "IMECE_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on (loopback unless TLS is configured).
    #[arg(long, env = "IMECE_LISTEN")]
    listen: Option<std::net::SocketAddr>,
    /// The node's directory (the log is in its log/ folder).
    #[arg(long, env = "IMECE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// An admin token, in addition to those of the configuration file.
    #[arg(long, env = "IMECE_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
}

#[derive(Debug, Args)]
struct DataDir {
    /// The node's directory (the log is in its log/ folder).
    #[arg(long, env = "IMECE_DATA_DIR", default_value = "imece-data")]
    data_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
enum LogCommand {
    /// Open the log and report what opening found: events, streams, segments, time taken.
    Stats {
        #[command(flatten)]
        dir: DataDir,
    },
    /// Read every event and check its checksum.
    Verify {
        #[command(flatten)]
        dir: DataDir,
    },
    /// Print events: of one stream, or of the whole log from a position.
    Read {
        #[command(flatten)]
        dir: DataDir,
        /// Only this stream.
        #[arg(long)]
        stream: Option<String>,
        /// First position (whole log) or version (stream).
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// The most events to print.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Newest first (stream only).
        #[arg(long)]
        backward: bool,
    },
}

/// Runs the command line `args` (the program name first).
pub fn run(args: impl IntoIterator<Item = OsString>) -> anyhow::Result<()> {
    let cli = Cli::parse_from(args);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Demo { data_dir, serve } => demo_command(data_dir, serve).await,
            Command::Org(command) => org_command(*command).await,
            Command::Indicators(command) => crate::analysis::indicators(command).await,
            Command::Directory(command) => crate::analysis::directory(command).await,
            Command::Projections(command) => crate::analysis::projections(command).await,
            Command::Federation(command) => crate::federation::federation(command).await,
            Command::Verify(args) => crate::federation::verify(args).await,
            Command::Log(command) => log_command(command).await,
            Command::Migrate(args) => crate::migrate::migrate(args).await,
        }
    })
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => imece_server::Config::from_file(path)?,
        None => imece_server::Config::default(),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    if let Some(token) = args.admin_token {
        config.tokens.push(imece_server::config::TokenConfig {
            token,
            name: "admin (from IMECE_ADMIN_TOKEN)".to_owned(),
            role: imece_server::config::RoleConfig::Admin,
            scope: Vec::new(),
        });
    }
    if config.tokens.is_empty() {
        tracing::warn!("no tokens configured: every call but health and reflection will be refused");
    }
    let node = imece_server::Node::bind(config).await?;
    node.serve(imece_server::shutdown_signal()).await?;
    Ok(())
}

async fn demo_command(data_dir: PathBuf, keep_serving: bool) -> anyhow::Result<()> {
    use futures_util::stream;
    use imece_proto::v1 as pb;
    use pb::registry_client::RegistryClient;

    let token = format!("demo-{}", uuid::Uuid::now_v7().simple());
    let listen = if keep_serving { "127.0.0.1:50051" } else { "127.0.0.1:0" };
    let reference = crate::demo::reference::write(&data_dir.join("reference"))
        .with_context(|| format!("writing the demo's reference data into {}", data_dir.display()))?;
    let config = imece_server::Config {
        reference,
        listen: listen.parse()?,
        data_dir: data_dir.clone(),
        node: "demo".to_owned(),
        tls: None,
        federation: Default::default(),
        log: Default::default(),
        tokens: vec![imece_server::config::TokenConfig {
            token: token.clone(),
            name: "demo".to_owned(),
            role: imece_server::config::RoleConfig::Admin,
            scope: Vec::new(),
        }],
    };
    let node = imece_server::Node::bind(config).await?;
    let addr = node.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(node.serve(async move {
        tokio::select! {
            _ = stopped => {}
            () = imece_server::shutdown_signal() => {}
        }
    }));

    let sample = crate::demo::partner_network(2026);
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))?.connect().await?;
    let mut client = RegistryClient::new(channel);
    let bearer: MetadataBearer = format!("Bearer {token}").parse()?;
    let count = sample.items.len();
    let started = Instant::now();
    let reply = client.import(with_token(stream::iter(sample.items), &bearer)).await?.into_inner();
    let took = started.elapsed();
    println!(
        "loaded {} of {count} records through the Import API in {took:?} ({:.0} records/s), into {}",
        reply.accepted,
        count as f64 / took.as_secs_f64(),
        data_dir.display()
    );
    for f in reply.failures.iter().take(10) {
        println!("  refused item {} ({}): {} {}", f.index, f.code, f.field, f.message);
    }
    println!();
    println!("{:<20} {:<40} {:>8} {:>8} {:<20}", "city", "organisation", "members", "events", "status");
    for org in &sample.organisations {
        let request = with_token(pb::GetOrganisationRequest { organisation_id: org.id.to_string() }, &bearer);
        let summary = client.get_organisation(request).await?.into_inner();
        let status = summary.phase.and_then(|p| p.kind).map_or("?".to_owned(), |k| match k {
            pb::phase::Kind::Going(g) => format!("{:?}", pb::Status::try_from(g.status).unwrap_or_default()),
            other => format!("{other:?}"),
        });
        println!(
            "{:<20} {:<40} {:>8} {:>8} {:<20}",
            org.city,
            org.name,
            summary.members,
            summary.stream_version + 1,
            status
        );
    }
    // The partner cities side by side, as an analyst would ask; answered once the projections
    // have applied the import (read-your-writes on its last position).
    let mut indicators = pb::indicators_client::IndicatorsClient::new(
        tonic::transport::Channel::from_shared(format!("http://{addr}"))?.connect().await?,
    );
    let after = Some(pb::Consistency { min_position: Some(reply.last_position), timeout_ms: 30_000 });
    for (indicator, year_from, year_to) in [
        ("assembly_participation", 2021, Some(2025)),
        ("surplus_indivisible_reserve", 2024, None),
        ("surplus_patronage_refund", 2024, None),
    ] {
        let request = pb::QueryIndicatorRequest {
            indicator: indicator.to_owned(),
            group_by: vec!["city".to_owned()],
            year_from,
            year_to,
            consistency: after,
            ..Default::default()
        };
        let table = indicators.query_indicator(with_token(request, &bearer)).await.map_err(explain)?.into_inner();
        println!();
        crate::analysis::print_indicator(&table);
    }
    if keep_serving {
        println!();
        println!("serving on {addr}; in another terminal:");
        println!("  export IMECE_TOKEN={token}");
        println!("  imece indicators show assembly_participation --group-by country,city --years 2021-2025");
        println!("  imece indicators show surplus_indivisible_reserve --group-by city --years 2021-2024 --csv");
        println!("  imece directory search --country IT --json-ld");
        println!("or with grpcurl:");
        println!(
            "  grpcurl -plaintext -H 'authorization: Bearer {token}' -d '{{\"organisation_id\":\"{}\"}}' {addr} imece.v1.Registry/GetOrganisation",
            sample.organisations[0].id
        );
        println!("Ctrl-C stops the node.");
        server.await??;
    } else {
        let _ = stop.send(());
        server.await??;
        println!();
        println!(
            "the registry is in {}; `imece demo --serve` keeps a node running on it, to query with `imece indicators`",
            data_dir.display()
        );
    }
    Ok(())
}

/// A channel to the node and the caller's bearer header.
pub(crate) async fn channel(node: &NodeArgs) -> anyhow::Result<(tonic::transport::Channel, MetadataBearer)> {
    let channel = tonic::transport::Channel::from_shared(node.addr.clone())?
        .connect()
        .await
        .with_context(|| format!("cannot reach a node at {}", node.addr))?;
    let bearer = format!("Bearer {}", node.token).parse().context("the token must be printable ASCII")?;
    Ok((channel, bearer))
}

async fn connect(
    node: &NodeArgs,
) -> anyhow::Result<(imece_proto::v1::registry_client::RegistryClient<tonic::transport::Channel>, MetadataBearer)> {
    let (channel, bearer) = channel(node).await?;
    Ok((imece_proto::v1::registry_client::RegistryClient::new(channel), bearer))
}

pub(crate) type MetadataBearer = tonic::metadata::MetadataValue<tonic::metadata::Ascii>;

pub(crate) fn with_token<T>(message: T, bearer: &MetadataBearer) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", bearer.clone());
    request
}

/// The second request of a pair failed after the first was recorded: say how to finish it.
fn second_failed(status: tonic::Status, first: &str, request_id: &str) -> anyhow::Error {
    explain(status).context(format!(
        "{first} was recorded; correct the command and run it again with --request-id {request_id} to finish"
    ))
}

/// A gRPC status as a person can act on it: the code, the message, and the fields at fault.
pub(crate) fn explain(status: tonic::Status) -> anyhow::Error {
    use tonic_types::StatusExt;
    let mut text = format!("{:?}: {}", status.code(), status.message());
    if let Some(bad) = status.get_details_bad_request() {
        for v in bad.field_violations {
            text.push_str(&format!("\n  field {}: {}", v.field, v.description));
        }
    }
    if let Some(failure) = status.get_details_precondition_failure() {
        for v in failure.violations {
            text.push_str(&format!("\n  field {}: {}", v.subject, v.description));
        }
    }
    anyhow::anyhow!(text)
}

async fn org_command(command: OrgCommand) -> anyhow::Result<()> {
    use crate::client::print_reply;
    use imece_proto::v1 as pb;
    let id_of = |h: &Option<pb::CommandHeader>| {
        h.as_ref().map(|h| (h.organisation_id.clone(), h.request_id.clone())).unwrap_or_default()
    };
    match command {
        OrgCommand::Register { node, mut write, fact } => {
            let (mut client, bearer) = connect(&node).await?;
            let request = fact.request(&mut write)?;
            let (org, request_id) = id_of(&request.header);
            let reply = client.register_organisation(with_token(request, &bearer)).await.map_err(explain)?.into_inner();
            print_reply("registered", &org, &request_id, &reply, node.json);
            Ok(())
        }
        OrgCommand::Admit { node, mut write, fact } => {
            let (mut client, bearer) = connect(&node).await?;
            let (enrol, admit) = fact.requests(&mut write)?;
            let (org, request_id) = id_of(&enrol.header);
            client.enrol_person(with_token(enrol, &bearer)).await.map_err(explain)?;
            let reply = client
                .admit_member(with_token(admit, &bearer))
                .await
                .map_err(|s| second_failed(s, "the person's enrolment", &request_id))?
                .into_inner();
            print_reply("admitted", &org, &request_id, &reply, node.json);
            Ok(())
        }
        OrgCommand::Assembly { node, mut write, fact } => {
            let (mut client, bearer) = connect(&node).await?;
            let (convene, held) = fact.requests(&mut write)?;
            let (org, request_id) = id_of(&convene.header);
            client.convene_assembly(with_token(convene, &bearer)).await.map_err(explain)?;
            let reply = client
                .record_assembly(with_token(held, &bearer))
                .await
                .map_err(|s| second_failed(s, "the assembly's call", &request_id))?
                .into_inner();
            print_reply("assembly recorded", &org, &request_id, &reply, node.json);
            Ok(())
        }
        OrgCommand::Surplus { node, mut write, fact } => {
            let (mut client, bearer) = connect(&node).await?;
            let request = fact.request(&mut write)?;
            let (org, request_id) = id_of(&request.header);
            let reply = client.allocate_surplus(with_token(request, &bearer)).await.map_err(explain)?.into_inner();
            print_reply("surplus allocation recorded", &org, &request_id, &reply, node.json);
            Ok(())
        }
        OrgCommand::Show { node, id } => {
            let (mut client, bearer) = connect(&node).await?;
            let org = client
                .get_organisation(with_token(pb::GetOrganisationRequest { organisation_id: id }, &bearer))
                .await
                .map_err(explain)?
                .into_inner();
            if node.json {
                println!("{}", serde_json::to_string_pretty(&org_json(&org))?);
                return Ok(());
            }
            for (key, value) in org_json(&org).as_object().into_iter().flatten() {
                println!("{key:<16} {}", value.as_str().map_or_else(|| value.to_string(), str::to_owned));
            }
            Ok(())
        }
        OrgCommand::History { node, id, from, limit } => {
            let (mut client, bearer) = connect(&node).await?;
            let request = pb::GetHistoryRequest { organisation_id: id, from_version: from, limit };
            let history = client.get_history(with_token(request, &bearer)).await.map_err(explain)?.into_inner();
            if node.json {
                let entries: Vec<serde_json::Value> = history
                    .entries
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "version": e.version,
                            "position": e.position,
                            "event_type": e.event_type,
                            "occurred_on": e.occurred_on,
                            "data": serde_json::from_str::<serde_json::Value>(&e.data_json).unwrap_or_default(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&entries)?);
                return Ok(());
            }
            println!("{:>7} {:>9}  {:<11} {:<32}", "version", "position", "occurred", "event");
            for e in history.entries {
                println!("{:>7} {:>9}  {:<11} {:<32}", e.version, e.position, e.occurred_on, e.event_type);
            }
            Ok(())
        }
    }
}

/// The summary fields a person reads first, as JSON.
fn org_json(org: &imece_proto::v1::Organisation) -> serde_json::Value {
    use imece_proto::v1 as pb;
    let status = org.phase.as_ref().and_then(|p| p.kind.as_ref()).map(|k| match k {
        pb::phase::Kind::Going(g) => format!("{:?}", pb::Status::try_from(g.status).unwrap_or_default()).to_lowercase(),
        other => format!("{other:?}"),
    });
    serde_json::json!({
        "id": org.organisation_id,
        "name": org.names.as_ref().map(|n| n.legal.clone()),
        "status": status,
        "country": org.country,
        "founded_on": org.founded_on,
        "registered_on": org.registered_on,
        "members": org.members,
        "members_as_of": org.members_as_of,
        "memberships": org.memberships,
        "affiliations": org.affiliations,
        "stream_version": org.stream_version,
    })
}

fn open(dir: &DataDir) -> anyhow::Result<EmbeddedLog> {
    let log_dir = dir.data_dir.join("log");
    EmbeddedLog::open(&log_dir).with_context(|| format!("opening the log in {}", log_dir.display()))
}

async fn log_command(command: LogCommand) -> anyhow::Result<()> {
    match command {
        LogCommand::Stats { dir } => {
            let log = open(&dir)?;
            let r = log.recovery();
            println!("directory        {}", dir.data_dir.display());
            println!("events           {}", r.events);
            println!("streams          {}", r.streams);
            println!("segments         {}", r.segments);
            println!("opened in        {:?}", r.duration);
            println!("scanned events   {}", r.scanned_events);
            println!("rebuilt indexes  {}", r.rebuilt_indexes);
            println!("dropped tail     {} bytes", r.truncated_bytes);
            Ok(())
        }
        LogCommand::Verify { dir } => {
            let log = open(&dir)?;
            let started = Instant::now();
            let n = log.verify().context("verifying the log")?;
            println!("{n} events read and checked in {:?}: the log is intact", started.elapsed());
            Ok(())
        }
        LogCommand::Read { dir, stream, from, limit, backward } => {
            let log = open(&dir)?;
            let events = match stream {
                Some(name) => {
                    let stream = StreamId::new(&name)?;
                    let start = if backward && from == 0 { StreamFrom::End } else { StreamFrom::Version(from) };
                    let direction = if backward { Direction::Backward } else { Direction::Forward };
                    log.read_stream(&stream, start, direction, limit).await?
                }
                None if backward => bail!("--backward reads one stream: give --stream"),
                None => log.read_all(from, limit).await?,
            };
            print_events(&events);
            Ok(())
        }
    }
}

fn print_events(events: &[RecordedEvent]) {
    println!("{:>8}  {:<28} {:>7}  {:<30} data", "position", "stream", "version", "type");
    for e in events {
        println!(
            "{:>8}  {:<28} {:>7}  {:<30} {}",
            e.position,
            e.stream,
            e.version,
            e.event_type,
            String::from_utf8_lossy(&e.data)
        );
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Guards: the command line is well-formed (clap checks names, groups and defaults).
    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
