//! `imece-bench federation`: replication between two nodes in one process (ADR 0010).
//!
//! The origin's log is filled with published events (not measured). Then, in the same run:
//!
//! 1. Catch-up: a receiver with an empty log and the origin as its partner pulls the origin's
//!    whole chain over gRPC on 127.0.0.1 (`Replication.Pull`), verifies every record and signed
//!    head, and appends the records to its log, one durable `append_many` per batch. It is timed
//!    from the receiver's start until its partner status says it holds every record, beside two
//!    peers that copy the same events into a fresh embedded log without verification: straight
//!    from the origin's log (the ceiling), and through the node's `Log.Subscribe` stream.
//! 2. Live lag: with the receiver up to date, the origin writes at a steady rate; each event's lag
//!    is the time from its append returning at the origin to its arrival in the receiver's log (a
//!    subscription), on one monotonic clock.
//!
//! Both nodes run only their federation (`Federation` and `FederationService`, behind the same
//! authentication as in a node), not the projections, which would compete for the same cores.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use imece_domain::{Actor, ActorKind, CorrelationId, CountryCode, Metadata, NodeId, Origin, Visibility};
use imece_log::{EventId, EventLog, ExpectedVersion, NewEvent, RecordedEvent, StreamAppend, StreamId};
use imece_log_embedded::{EmbeddedLog, Options};
use imece_proto::v1 as pb;
use imece_proto::v1::log_client::LogClient;
use imece_proto::v1::log_server::LogServer;
use imece_proto::v1::replication_server::ReplicationServer;
use imece_server::auth::Authenticator;
use imece_server::config::{FederationConfig, PartnerConfig, RoleConfig, TokenConfig};
use imece_server::federation::{Federation, FederationService, PartnerState, load_or_create_identity};
use imece_server::log_service::LogService;
use imece_server::{Config, MAX_MESSAGE_BYTES};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Server};

use crate::BoxError;
use crate::report::{count, ratio, verdict};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Organisations (streams) in the origin's log.
    #[arg(long, default_value_t = 100_000)]
    organisations: u64,
    /// Published events per organisation in the origin's log.
    #[arg(long, default_value_t = 10)]
    events_per_org: u64,
    /// How the origin's log orders the events: every organisation's events one after another
    /// (`org-by-org`, as an import writes them), or round by round across all organisations
    /// (`interleaved`, as years of single commands leave them; the worst case for grouping).
    #[arg(long, value_enum, default_value_t = Layout::Interleaved)]
    layout: Layout,
    /// Events per second the origin writes in the live scenario.
    #[arg(long, default_value_t = 5_000)]
    live_rate: u64,
    /// Events per append in the live scenario (one `append_many`, each event on a random organisation).
    #[arg(long, default_value_t = 50)]
    live_batch: usize,
    /// Seconds the live scenario writes.
    #[arg(long, default_value_t = 20)]
    live_seconds: u64,
    /// Segment size of every log of the run, MiB (the log's default: 256). Each new segment is
    /// filled with zeros ahead of use, which competes with the syncs for the disk.
    #[arg(long, default_value_t = 256)]
    segment_mib: u64,
    /// Skip the second peer: the copy through `Log.Subscribe`.
    #[arg(long)]
    no_subscribe_peer: bool,
    /// Seconds the catch-up may take before the benchmark gives up.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
    /// Where the scenarios' fresh directories go: on the disk to measure.
    #[arg(long, default_value = "target/bench-data")]
    dir: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Layout {
    OrgByOrg,
    Interleaved,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::OrgByOrg => "org by org",
            Layout::Interleaved => "interleaved round by round",
        }
    }
}

const ORIGIN: &str = "bench-origin";
const RECEIVER: &str = "bench-receiver";
const ADMIN_TOKEN: &str = "bench-admin-token-0123456789";
const PARTNER_TOKEN: &str = "bench-partner-token-0123456789";
/// Events per page of the copies, and per batch of the fill.
const PAGE: usize = 1_000;
const FILL_BATCH: usize = 10_000;
/// Catch-up target, events/s.
const CATCH_UP_TARGET: f64 = 200_000.0;
/// Live lag target: p99 under this.
const LAG_TARGET: Duration = Duration::from_millis(100);

pub fn run(args: &Args) -> Result<(), BoxError> {
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run with --release for figures worth recording");
    }
    if [args.organisations, args.events_per_org, args.live_batch as u64, args.live_rate, args.segment_mib].contains(&0)
    {
        return Err(
            "organisations, events per organisation, live batch and rate, segment size must be at least 1".into()
        );
    }
    std::fs::create_dir_all(&args.dir)?;
    let root = tempfile::tempdir_in(&args.dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let outcome = runtime.block_on(scenarios(args, root.path()));
    drop(runtime);
    root.close()?;
    let outcome = outcome?;
    print(args, &outcome);
    Ok(())
}

/// What the scenarios measured.
#[derive(Debug)]
struct Outcome {
    events: u64,
    data_bytes: u64,
    metadata_bytes: u64,
    fill: Duration,
    indexing: Duration,
    copy: Duration,
    copy_cpu: Option<f64>,
    subscribe_copy: Option<Duration>,
    catch_up: Duration,
    catch_up_cpu: Option<f64>,
    redelivered: u64,
    receiver_head: u64,
    live: Live,
}

#[derive(Debug)]
struct Live {
    sent: u64,
    writing: Duration,
    lags: Vec<Duration>,
    /// The largest lag of the events sent in each second of the run.
    worst_by_second: Vec<Duration>,
    /// The longest origin append (call to return) in each second of the run.
    append_by_second: Vec<Duration>,
    early: u64,
    missing: u64,
    /// About when the receiver's log started a new segment, seconds into the run, from its bytes
    /// written (a segment ends at the first group boundary past its size).
    receiver_rolls: Vec<f64>,
}

async fn scenarios(args: &Args, root: &Path) -> Result<Outcome, BoxError> {
    let tokens = vec![
        TokenConfig { token: ADMIN_TOKEN.into(), name: "bench-admin".into(), role: RoleConfig::Admin, scope: vec![] },
        TokenConfig { token: PARTNER_TOKEN.into(), name: RECEIVER.into(), role: RoleConfig::Partner, scope: vec![] },
    ];
    let origin_config = config(ORIGIN, &root.join("origin"), tokens.clone(), vec![]);
    let options = Options { segment_size: args.segment_mib << 20, ..Options::default() };
    let origin_log = EmbeddedLog::open_with(origin_config.log_dir(), options.clone())?;
    let orgs: Vec<StreamId> = (0..args.organisations)
        .map(|_| StreamId::new(format!("org-{}", uuid::Uuid::now_v7())))
        .collect::<Result<_, _>>()?;

    let total = args.organisations * args.events_per_org;
    eprintln!("filling the origin's log: {} events, {} ...", count(total as f64), args.layout.name());
    let started = Instant::now();
    let (data_bytes, metadata_bytes) = fill(&origin_log, &orgs, args.events_per_org, args.layout).await?;
    let fill_time = started.elapsed();
    let total = origin_log.head().await?;

    eprintln!("origin: indexing its chain at start ...");
    let started = Instant::now();
    let origin_identity = load_or_create_identity(&origin_config)?;
    let origin_key = origin_identity.public_key().to_string();
    let origin = Arc::new(Federation::start(Arc::new(origin_log.clone()), &origin_config, origin_identity)?);
    wait_until(Duration::from_secs(args.timeout), || origin.published() >= total).await?;
    let indexing = started.elapsed();

    let (stop_server, stopping) = tokio::sync::watch::channel(false);
    let incoming = tonic::transport::server::TcpIncoming::bind("127.0.0.1:0".parse()?)?.with_nodelay(Some(true));
    let addr = incoming.local_addr()?;
    let auth = Authenticator::new(tokens);
    let log_service = LogServer::new(LogService::new(Arc::new(origin_log.clone()), stopping.clone()))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let replication = ReplicationServer::new(FederationService::new(origin.clone()))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let mut shutdown = stopping.clone();
    let server = tokio::spawn(
        Server::builder()
            .add_service(InterceptedService::new(log_service, auth.clone()))
            .add_service(InterceptedService::new(replication, auth.with_partners()))
            .serve_with_incoming_shutdown(incoming, async move {
                let _ = shutdown.wait_for(|s| *s).await;
            }),
    );
    let url = format!("http://{addr}");

    eprintln!("peer: plain copy, log to log ...");
    let cpu = cpu_seconds();
    let copy = plain_copy(&origin_log, &root.join("copy"), &options, total).await?;
    let copy_cpu = cpu.zip(cpu_seconds()).map(|(before, after)| after - before);
    let subscribe_copy = if args.no_subscribe_peer {
        None
    } else {
        eprintln!("peer: copy through Log.Subscribe ...");
        Some(subscribe_copy(&url, &root.join("subscribe-copy"), &options, total).await?)
    };

    eprintln!("federation: catch-up of {} events ...", count(total as f64));
    let partner = PartnerConfig {
        node: ORIGIN.into(),
        endpoint: url.clone(),
        public_key: origin_key,
        token: PARTNER_TOKEN.into(),
        ca_cert: None,
    };
    let receiver_config = config(RECEIVER, &root.join("receiver"), vec![], vec![partner]);
    let receiver_log = EmbeddedLog::open_with(receiver_config.log_dir(), options.clone())?;
    let receiver_identity = load_or_create_identity(&receiver_config)?;
    let cpu = cpu_seconds();
    let started = Instant::now();
    let receiver = Federation::start(Arc::new(receiver_log.clone()), &receiver_config, receiver_identity)?;
    let mut reported = Instant::now();
    let deadline = started + Duration::from_secs(args.timeout);
    let status = loop {
        let status = receiver.partners().into_iter().next().ok_or("the receiver has no partner")?;
        if status.received >= total {
            break status;
        }
        if status.state == PartnerState::Faulty {
            return Err(format!("the receiver found the origin faulty: {:?}", status.fault).into());
        }
        if Instant::now() > deadline {
            return Err(format!("catch-up not done after {} s: {status:?}", args.timeout).into());
        }
        if reported.elapsed() > Duration::from_secs(5) {
            reported = Instant::now();
            eprintln!("  {} received, {:?}", count(status.received as f64), status.state);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let catch_up = started.elapsed();
    let catch_up_cpu = cpu.zip(cpu_seconds()).map(|(before, after)| after - before);
    let receiver_head = receiver_log.head().await?;
    if receiver_head != total {
        return Err(format!("the receiver's log holds {receiver_head} events, not {total}").into());
    }

    eprintln!(
        "federation: live, {} events/s in appends of {} for {} s ...",
        args.live_rate, args.live_batch, args.live_seconds
    );
    let written_before = receiver_log.stats().bytes_written;
    let mut live = live(args, &origin_log, &receiver_log, &orgs).await?;
    let written_after = receiver_log.stats().bytes_written;
    let segment = args.segment_mib << 20;
    let per_sec = (written_after - written_before) as f64 / live.writing.as_secs_f64();
    live.receiver_rolls = (written_before / segment + 1..=written_after / segment)
        .map(|n| (n * segment - written_before) as f64 / per_sec)
        .collect();

    receiver.shutdown().await;
    (origin.stopper())();
    let _ = stop_server.send(true);
    server.await??;
    if let Ok(origin) = Arc::try_unwrap(origin) {
        origin.shutdown().await;
    }
    Ok(Outcome {
        events: total,
        data_bytes,
        metadata_bytes,
        fill: fill_time,
        indexing,
        copy,
        copy_cpu,
        subscribe_copy,
        catch_up,
        catch_up_cpu,
        redelivered: status.redelivered,
        receiver_head,
        live,
    })
}

fn config(node: &str, dir: &Path, tokens: Vec<TokenConfig>, partners: Vec<PartnerConfig>) -> Config {
    Config {
        node: node.into(),
        data_dir: dir.to_owned(),
        tokens,
        federation: FederationConfig { key_file: None, head_interval_secs: 10, partners },
        ..Config::default()
    }
}

/// CPU time this process has used, user and system, in seconds (Linux, 100 ticks a second).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

/// Polls `done` every few milliseconds until it holds, or fails after `timeout`.
async fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> Result<(), BoxError> {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() > deadline {
            return Err("timed out".into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}

/// A small deterministic generator (xorshift64*), for payload figures and the live writes' targets.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// A published event of the organisation `org`, the `n`th it writes: a registration first, then
/// payloads shaped like the public events that follow (assemblies, accounts, elections), 300 to 600
/// bytes of JSON, with metadata as the registry writes it.
fn event(org: &StreamId, n: u64, rng: &mut Rng) -> Result<NewEvent, BoxError> {
    let year = 2010 + n;
    let id = uuid::Uuid::now_v7();
    let (event_type, data) = match n % 4 {
        0 if n == 0 => (
            "OrganisationRegistered.v1",
            format!(
                r#"{{"organisation":"{}","names":{{"official":"Kooperatif {} Tarımsal Kalkınma","short":"K{}"}},"legal_form":{{"scheme":"tr-kooperatif","code":"tarimsal-kalkinma","version":"2024"}},"seat":{{"country":"TR","city":"Izmir","area":{{"scheme":"nuts","code":"TR310","version":"2021"}}}},"activity":{{"scheme":"nace","code":"01.50","version":"2.1"}},"cooperative_type":"agricultural","registered_on":"{year}-03-14","currency":"TRY","fiscal_year_end":{{"month":12,"day":31}}}}"#,
                &org.as_str()[4..],
                rng.below(100_000),
                rng.below(1_000)
            ),
        ),
        0 | 1 => {
            let eligible = 20 + rng.below(400);
            let present = eligible * (30 + rng.below(61)) / 100;
            (
                "GeneralAssemblyHeld.v2",
                format!(
                    r#"{{"occurred_on":"{year}-0{}-{:02}","assembly":"{id}","kind":"ordinary","eligible":{eligible},"present":{present},"present_online":{},"proxies":{},"present_women":{},"present_under_30":{},"max_proxies_per_holder":1,"quorum_met":true,"agenda":["annual_accounts","surplus_allocation","board_report"],"minutes":{{"reference":"GA-{year}-{}","pages":{}}}}}"#,
                    3 + rng.below(3),
                    1 + rng.below(28),
                    rng.below(present / 4 + 1),
                    rng.below(4),
                    rng.below(present + 1),
                    rng.below(present / 3 + 1),
                    rng.below(10_000),
                    2 + rng.below(20)
                ),
            )
        }
        2 => (
            "AnnualAccountsApproved.v1",
            format!(
                r#"{{"occurred_on":"{year}-0{}-{:02}","fiscal_year":{},"currency":"TRY","figures":{{"turnover":"{}.00","net_result":"{}.00","total_assets":"{}.00","equity":"{}.00","member_capital":"{}.00"}},"workforce":{{"employees":{},"employees_women":{},"member_workers":{}}},"audited":true,"assembly":"{id}"}}"#,
                4 + rng.below(3),
                1 + rng.below(28),
                year - 1,
                rng.below(50_000_000),
                rng.below(2_000_000),
                rng.below(80_000_000),
                rng.below(20_000_000),
                rng.below(5_000_000),
                rng.below(200),
                rng.below(100),
                rng.below(50)
            ),
        ),
        _ => (
            "OrganElected.v1",
            format!(
                r#"{{"occurred_on":"{year}-0{}-{:02}","organ":"board","assembly":"{id}","term_from":"{year}-05-01","term_until":"{}-04-30","seats":{},"candidates":{},"women_elected":{},"under_30_elected":{},"new_holders":{},"method":"secret_ballot"}}"#,
                4 + rng.below(3),
                1 + rng.below(28),
                year + 3,
                3 + 2 * rng.below(3),
                5 + rng.below(6),
                rng.below(4),
                rng.below(2),
                rng.below(4)
            ),
        ),
    };
    let metadata = Metadata {
        actor: Actor { kind: ActorKind::User, id: format!("registrar-{}", rng.below(500)) },
        correlation_id: CorrelationId::from(uuid::Uuid::now_v7()),
        causation_id: None,
        jurisdiction: CountryCode::parse("TR")?,
        visibility: Visibility::Public,
        origin: Origin::local(NodeId::new(ORIGIN)?),
    };
    Ok(NewEvent {
        id: EventId::new_v7(),
        event_type: event_type.into(),
        data: Bytes::from(data),
        metadata: Bytes::from(metadata.encode()?),
    })
}

/// Consecutive events of one stream in one part.
fn grouped(events: impl IntoIterator<Item = (StreamId, NewEvent)>) -> Vec<StreamAppend> {
    let mut appends: Vec<StreamAppend> = Vec::new();
    for (stream, event) in events {
        match appends.last_mut() {
            Some(last) if last.stream == stream => last.events.push(event),
            _ => appends.push(StreamAppend::new(stream, ExpectedVersion::Any, vec![event])),
        }
    }
    appends
}

/// Writes `per_org` events of every organisation to `log` in appends of [`FILL_BATCH`], in the
/// order `layout` says. Returns the bytes of data and metadata written.
async fn fill(log: &EmbeddedLog, orgs: &[StreamId], per_org: u64, layout: Layout) -> Result<(u64, u64), BoxError> {
    let order: Box<dyn Iterator<Item = (usize, u64)>> = match layout {
        Layout::OrgByOrg => Box::new((0..orgs.len()).flat_map(|o| (0..per_org).map(move |n| (o, n)))),
        Layout::Interleaved => Box::new((0..per_org).flat_map(|n| (0..orgs.len()).map(move |o| (o, n)))),
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut data, mut metadata) = (0, 0);
    let mut batch = Vec::with_capacity(FILL_BATCH);
    let mut order = order.peekable();
    while order.peek().is_some() {
        batch.clear();
        for (o, n) in order.by_ref().take(FILL_BATCH) {
            let e = event(&orgs[o], n, &mut rng)?;
            data += e.data.len() as u64;
            metadata += e.metadata.len() as u64;
            batch.push((orgs[o].clone(), e));
        }
        log.append_many(grouped(batch.drain(..))).await?;
    }
    Ok((data, metadata))
}

fn as_new(e: RecordedEvent) -> (StreamId, NewEvent) {
    (e.stream, NewEvent { id: e.id, event_type: e.event_type, data: e.data, metadata: e.metadata })
}

/// The ceiling: the origin's events copied into a fresh log in `dir`, pages of [`PAGE`] read ahead
/// by one task while another appends each page with one `append_many`. No network, no verification.
async fn plain_copy(origin: &EmbeddedLog, dir: &Path, options: &Options, total: u64) -> Result<Duration, BoxError> {
    let target = EmbeddedLog::open_with(dir, options.clone())?;
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<RecordedEvent>>(4);
    let source = origin.clone();
    let reader = tokio::spawn(async move {
        let mut from = 0;
        while from < total {
            let page = source.read_all(from, PAGE).await?;
            let Some(last) = page.last() else { break };
            from = last.position + 1;
            if tx.send(page).await.is_err() {
                break;
            }
        }
        Ok::<_, imece_log::Error>(())
    });
    while let Some(page) = rx.recv().await {
        target.append_many(grouped(page.into_iter().map(as_new))).await?;
    }
    reader.await??;
    let elapsed = started.elapsed();
    let head = target.head().await?;
    drop(target);
    std::fs::remove_dir_all(dir)?;
    if head != total {
        return Err(format!("the plain copy holds {head} events, not {total}").into());
    }
    Ok(elapsed)
}

/// The second peer: the origin's events read through the node's `Log.Subscribe` stream (gRPC on
/// 127.0.0.1), appended to a fresh log in `dir` in pages of [`PAGE`]. No verification.
async fn subscribe_copy(url: &str, dir: &Path, options: &Options, total: u64) -> Result<Duration, BoxError> {
    let target = EmbeddedLog::open_with(dir, options.clone())?;
    let bearer: MetadataValue<Ascii> = format!("Bearer {ADMIN_TOKEN}").parse()?;
    let started = Instant::now();
    let mut client = LogClient::new(Channel::from_shared(url.to_owned())?.tcp_nodelay(true).connect().await?)
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
    let mut request = tonic::Request::new(pb::SubscribeRequest { from_position: 0 });
    request.metadata_mut().insert("authorization", bearer);
    let mut events = client.subscribe(request).await?.into_inner();
    let mut copied = 0;
    let mut page = Vec::with_capacity(PAGE);
    while copied < total {
        let Some(e) = events.message().await? else { break };
        copied += 1;
        let id = EventId::from(uuid::Uuid::parse_str(&e.event_id)?);
        let event = NewEvent { id, event_type: e.event_type, data: e.data.into(), metadata: e.metadata.into() };
        page.push((StreamId::new(e.stream)?, event));
        if page.len() == PAGE || copied == total {
            target.append_many(grouped(page.drain(..))).await?;
        }
    }
    drop(events);
    let elapsed = started.elapsed();
    let head = target.head().await?;
    drop(target);
    std::fs::remove_dir_all(dir)?;
    if head != total {
        return Err(format!("the copy through Log.Subscribe holds {head} events, not {total}").into());
    }
    Ok(elapsed)
}

/// Writes at `args.live_rate` to the origin for `args.live_seconds`, each append on random
/// organisations, and times each event until it shows in the receiver's log.
async fn live(args: &Args, origin: &EmbeddedLog, receiver: &EmbeddedLog, orgs: &[StreamId]) -> Result<Live, BoxError> {
    let arrivals: Arc<Mutex<Vec<(EventId, Instant)>>> = Arc::default();
    let mut subscription = receiver.subscribe_all(receiver.head().await?);
    let watcher = {
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            while let Some(event) = subscription.next().await {
                let Ok(event) = event else { return };
                let at = Instant::now();
                arrivals.lock().unwrap_or_else(PoisonError::into_inner).push((event.id, at));
            }
        })
    };

    let period = Duration::from_secs_f64(args.live_batch as f64 / args.live_rate as f64);
    let mut tick = tokio::time::interval(period);
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut sent: HashMap<EventId, Instant> = HashMap::new();
    let started = Instant::now();
    let until = started + Duration::from_secs(args.live_seconds);
    let mut append_by_second = vec![Duration::ZERO; args.live_seconds as usize + 1];
    while Instant::now() < until {
        tick.tick().await;
        let mut batch = Vec::with_capacity(args.live_batch);
        for _ in 0..args.live_batch {
            let o = rng.below(orgs.len() as u64) as usize;
            // Past the registration: the events that follow, with new figures.
            let n = 1 + rng.below(args.events_per_org.max(2) * 4);
            batch.push((orgs[o].clone(), event(&orgs[o], n, &mut rng)?));
        }
        let ids: Vec<EventId> = batch.iter().map(|(_, e)| e.id).collect();
        let calling = Instant::now();
        origin.append_many(grouped(batch)).await?;
        let at = Instant::now();
        if let Some(worst) = append_by_second.get_mut((calling - started).as_secs() as usize) {
            *worst = (*worst).max(at - calling);
        }
        sent.extend(ids.into_iter().map(|id| (id, at)));
    }
    let writing = started.elapsed();

    let expected = sent.len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while arrivals.lock().unwrap_or_else(PoisonError::into_inner).len() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    watcher.abort();
    let arrivals = std::mem::take(&mut *arrivals.lock().unwrap_or_else(PoisonError::into_inner));
    let mut lags = Vec::with_capacity(expected);
    let mut worst_by_second = vec![Duration::ZERO; writing.as_secs() as usize + 1];
    let mut early = 0;
    for (id, at) in arrivals {
        let Some(sent_at) = sent.remove(&id) else { continue };
        let lag = at.checked_duration_since(sent_at).unwrap_or_else(|| {
            early += 1;
            Duration::ZERO
        });
        lags.push(lag);
        let second = (sent_at - started).as_secs() as usize;
        if let Some(worst) = worst_by_second.get_mut(second) {
            *worst = (*worst).max(lag);
        }
    }
    lags.sort();
    Ok(Live {
        sent: expected as u64,
        writing,
        lags,
        worst_by_second,
        append_by_second,
        early,
        missing: sent.len() as u64,
        receiver_rolls: Vec::new(),
    })
}

fn at(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 { format!("{ms:.2} ms") } else { format!("{ms:.1} ms") }
}

fn print(args: &Args, o: &Outcome) {
    let rate = |d: Duration| o.events as f64 / d.as_secs_f64();
    let catch_up = rate(o.catch_up);
    let build = if cfg!(debug_assertions) { "debug" } else { "release" };
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let command: Vec<String> = std::env::args().collect();
    println!(
        "imece-bench federation · {build} build · {cpus} CPUs · {} events ({} organisations × {}, {})",
        count(o.events as f64),
        count(args.organisations as f64),
        args.events_per_org,
        args.layout.name()
    );
    println!("command: {}", command.join(" "));
    println!();
    println!("| scenario | federation, per s | peer, per s | ratio | target | met? |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| catch-up: Pull over gRPC, verify, durable append; vs a plain copy log to log | {} | {} | {} | ≥ {} events/s | {} |",
        count(catch_up),
        count(rate(o.copy)),
        ratio(catch_up, rate(o.copy)),
        count(CATCH_UP_TARGET),
        verdict(&[("rate", catch_up >= CATCH_UP_TARGET)])
    );
    if let Some(subscribed) = o.subscribe_copy {
        println!(
            "| catch-up; vs a copy through `Log.Subscribe` (gRPC, no verification) | {} | {} | {} | — | — |",
            count(catch_up),
            count(rate(subscribed)),
            ratio(catch_up, rate(subscribed)),
        );
    }
    let live = &o.live;
    let p99 = at(&live.lags, 0.99);
    println!();
    println!(
        "| live: origin append → receiver's log | written, events/s | lag p50 | lag p99 | lag max | target | met? |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {} events every {:.0} ms for {} s, each on a random organisation | {} | {} | {} | {} | p99 < {} ms | {} |",
        args.live_batch,
        args.live_batch as f64 / args.live_rate as f64 * 1e3,
        args.live_seconds,
        count(live.sent as f64 / live.writing.as_secs_f64()),
        ms(at(&live.lags, 0.5)),
        ms(p99),
        ms(live.lags.last().copied().unwrap_or_default()),
        LAG_TARGET.as_millis(),
        verdict(&[("p99", p99 < LAG_TARGET && !live.lags.is_empty()), ("all arrived", live.missing == 0)])
    );
    println!();
    println!(
        "- events: {} B of data and {} B of metadata on average; event types OrganisationRegistered.v1, \
         GeneralAssemblyHeld.v2, AnnualAccountsApproved.v1, OrganElected.v1; all Public",
        o.data_bytes / o.events.max(1),
        o.metadata_bytes / o.events.max(1)
    );
    println!(
        "- catch-up: {} events in {:.2} s, from the receiver's start (empty log) to its partner status \
         saying it holds them all; receiver's log head {}, {} redelivered",
        count(o.events as f64),
        o.catch_up.as_secs_f64(),
        count(o.receiver_head as f64),
        o.redelivered
    );
    println!(
        "- plain copy: {:.2} s (pages of {PAGE} read ahead, one append_many per page, grouped by consecutive stream)",
        o.copy.as_secs_f64()
    );
    if let Some(subscribed) = o.subscribe_copy {
        println!(
            "- copy through Log.Subscribe: {:.2} s (one event per message, one append_many per {PAGE})",
            subscribed.as_secs_f64()
        );
    }
    let cpus = |cpu: Option<f64>, wall: Duration| {
        cpu.map_or("—".to_owned(), |c| {
            format!("{c:.1} s of CPU in {:.1} s, {:.2} cores", wall.as_secs_f64(), c / wall.as_secs_f64())
        })
    };
    println!(
        "- this process's CPU (both nodes, all threads): catch-up {}; plain copy {}",
        cpus(o.catch_up_cpu, o.catch_up),
        cpus(o.copy_cpu, o.copy)
    );
    println!(
        "- not timed: filling the origin's log {:.1} s; the origin indexing its chain at start {:.2} s",
        o.fill.as_secs_f64(),
        o.indexing.as_secs_f64()
    );
    println!(
        "- live: {} events sent, {} arrived, {} missing after 30 s, {} seen before their append returned (counted as 0)",
        count(live.sent as f64),
        count(live.lags.len() as f64),
        live.missing,
        live.early
    );
    let by_second =
        |v: &[Duration]| v.iter().map(|d| format!("{:.0}", d.as_secs_f64() * 1e3)).collect::<Vec<_>>().join(", ");
    println!("- live, the largest lag of each second of writing, ms: {}", by_second(&live.worst_by_second));
    println!("- live, the longest origin append of each second, ms: {}", by_second(&live.append_by_second));
    let rolls: Vec<String> = live.receiver_rolls.iter().map(|s| format!("{s:.1} s")).collect();
    println!(
        "- live: the receiver's log started a new segment about {} into the writing",
        if rolls.is_empty() { "never".to_owned() } else { rolls.join(", ") }
    );
    println!(
        "- every log: the embedded log, durable appends, segments of {} MiB zeroed ahead of use",
        args.segment_mib
    );
    println!(
        "- both nodes in one process, each only its federation (no projections, no registry), over plaintext gRPC on 127.0.0.1"
    );
}
