//! Federation end to end: nodes of the `imece` binary as separate processes on loopback, each a
//! partner of the others, written to at the same time while nodes are killed, stopped and
//! restarted; and a real node against fake partners that send duplicates or tampered chains.
//!
//! Every wait polls until its condition holds, for up to a minute (2 busy cores); nothing asserts
//! on timing.

#[path = "federation/fake.rs"]
mod fake;
#[path = "federation/logs.rs"]
mod logs;
#[path = "federation/node.rs"]
mod node;
#[path = "federation/sample.rs"]
mod sample;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use imece_federation::{HeadStatus, Verifier, hash_to_hex};
use imece_proto::v1 as pb;
use imece_proto::v1::import_request::Command as C;
use imece_proto::v1::indicators_client::IndicatorsClient;
use imece_proto::v1::log_client::LogClient;
use imece_proto::v1::partner_status::State;
use imece_proto::v1::registry_client::RegistryClient;
use imece_proto::v1::replication_client::ReplicationClient;
use tempfile::TempDir;
use tonic::Code;

use crate::fake::{Behaviour, FakePartner};
use crate::logs::{Entry, assert_replica, entries, from_origin, published};
use crate::node::{
    ADMIN, NodeProcess, PartnerEntry, admin, bearer, chain_head, channel, config_toml, create_key, eventually,
    free_ports, log_head, partner, partner_token, partners, read_log, run_imece, state_name,
};

const IZMIR: &str = "tr-izmir";
const REGGIO: &str = "it-reggio-emilia";
const MARSEILLE: &str = "fr-marseille";
const CITIES: [&str; 3] = [IZMIR, REGGIO, MARSEILLE];

/// The three city nodes, each pulling from the other two. Dropping it kills them.
#[derive(Debug)]
struct Mesh {
    nodes: BTreeMap<&'static str, NodeProcess>,
    _dir: TempDir,
}

impl Mesh {
    /// Creates the nodes' keys (`imece federation key`), writes their configurations and starts
    /// them.
    async fn start() -> Mesh {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let ports: BTreeMap<&str, u16> = CITIES.into_iter().zip(free_ports(CITIES.len())).collect();
        let keys: BTreeMap<&str, String> = CITIES.iter().map(|n| (*n, create_key(&dir.path().join(n)))).collect();
        let mut nodes = BTreeMap::new();
        for name in CITIES {
            let others: Vec<&str> = CITIES.into_iter().filter(|o| *o != name).collect();
            let partners: Vec<PartnerEntry> = others
                .iter()
                .map(|o| PartnerEntry {
                    node: (*o).to_owned(),
                    endpoint: format!("http://127.0.0.1:{}", ports[o]),
                    public_key: keys[o].clone(),
                    token: partner_token(name, o),
                })
                .collect();
            let data_dir = dir.path().join(name);
            let config = dir.path().join(format!("{name}.toml"));
            std::fs::write(&config, config_toml(name, ports[name], &data_dir, &others, &partners)).unwrap();
            let mut node = NodeProcess::new(name, ports[name], &data_dir, &config);
            node.start();
            nodes.insert(name, node);
        }
        for node in nodes.values_mut() {
            node.ready().await;
        }
        Mesh { nodes, _dir: dir }
    }

    fn addr(&self, name: &str) -> String {
        self.nodes[name].addr()
    }

    fn node(&mut self, name: &str) -> &mut NodeProcess {
        self.nodes.get_mut(name).expect("a node of the mesh")
    }
}

/// Guards (ADR 0010, 0011): three cities write at once while replication runs, one node is
/// SIGKILLed mid-sync and restarted on its data, another is stopped for a while; in the end every
/// node holds exactly every other's public events and nothing person-level of theirs, the cities'
/// indicators agree on every node, a node refuses to write another node's organisation, and
/// `imece verify` passes on every stopped node and fails on a damaged one.
///
/// One mesh serves the four checks (starting and loading three nodes is the expensive part); each
/// check is its own function and fails with its own message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_cities_replicate_agree_refuse_and_verify() {
    let started = Instant::now();
    let mut mesh = Mesh::start().await;
    write_while_nodes_die(&mut mesh).await;
    eprintln!("[mesh] written, with a kill and a stop, in {:.1?}", started.elapsed());
    let logs = full_mesh_holds_every_public_event_once(&mesh).await;
    eprintln!("[mesh] replicas checked at {:.1?}", started.elapsed());
    pull_serves_each_chain_signed_and_partners_only_pull(&mesh, &logs).await;
    eprintln!("[mesh] Pull and partner tokens checked at {:.1?}", started.elapsed());
    indicators_agree_on_every_node(&mesh).await;
    eprintln!("[mesh] indicators compared at {:.1?}", started.elapsed());
    another_nodes_organisation_is_refused(&mesh, &logs).await;
    eprintln!("[mesh] ownership checked at {:.1?}", started.elapsed());
    verify_passes_then_finds_damage(&mut mesh).await;
    eprintln!("[mesh] imece verify checked at {:.1?}", started.elapsed());
}

/// Part 1a: the three cities' registers written at once through `Import` (members, assemblies,
/// elections, accounts, surplus allocations, then a membership snapshot for every year-end),
/// while Reggio Emilia is SIGKILLed and restarted on the same data and port, and Marseille is
/// stopped (SIGTERM) for a few seconds and started again. Writers retry until their node is back.
async fn write_while_nodes_die(mesh: &mut Mesh) {
    let mut writers = Vec::new();
    let mut progress: BTreeMap<&str, (Arc<AtomicUsize>, usize)> = BTreeMap::new();
    for (node, orgs) in sample::by_node(11) {
        let done = Arc::new(AtomicUsize::new(0));
        progress.insert(node, (done.clone(), orgs.iter().map(|o| o.items.len()).sum()));
        for org in orgs {
            let (addr, done) = (mesh.addr(node), done.clone());
            writers.push((node, tokio::spawn(async move { sample::write_org(&addr, &org, &done).await })));
        }
    }
    let written = |node: &str| {
        let (done, total) = &progress[node];
        format!("{} of {total} commands", done.load(Ordering::Relaxed))
    };

    // Reggio Emilia dies mid-sync: İzmir is receiving its records, and its writers are at work.
    let izmir = mesh.addr(IZMIR);
    eventually("İzmir receives Reggio Emilia's records while it writes", || async {
        let p = partner(&izmir, REGGIO).await?;
        let (done, total) = &progress[REGGIO];
        if p.received > 0 && done.load(Ordering::Relaxed) * 4 >= *total { Ok(()) } else { Err(format!("{p:?}")) }
    })
    .await;
    mesh.node(REGGIO).kill();
    eprintln!("[mesh] SIGKILLed {REGGIO} after {}", written(REGGIO));

    // Marseille is stopped gracefully for a while, also mid-write, and Reggio Emilia comes back
    // meanwhile (to find one of its partners away).
    let status = mesh.node(MARSEILLE).terminate().await;
    assert!(status.success(), "{MARSEILLE} stopped on SIGTERM with {status}");
    eprintln!("[mesh] stopped {MARSEILLE} after {}", written(MARSEILLE));
    mesh.node(REGGIO).start();
    mesh.node(REGGIO).ready().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Its partners noticed, and say why.
    let seen = partner(&izmir, MARSEILLE).await.unwrap();
    assert_ne!(seen.state, State::Live as i32, "İzmir still sees a stopped Marseille live: {seen:?}");
    assert!(!seen.last_error.is_empty(), "{seen:?}");
    mesh.node(MARSEILLE).start();
    mesh.node(MARSEILLE).ready().await;
    eprintln!("[mesh] restarted {MARSEILLE}; {REGGIO} has written {} by now", written(REGGIO));

    let mut retried = BTreeMap::<&str, usize>::new();
    for (node, writer) in writers {
        *retried.entry(node).or_default() += writer.await.expect("a writer");
    }
    eprintln!("[mesh] import calls repeated while their node was away: {retried:?}");
}

/// Part 1b: once every node lists every partner live with `received` = the partner's published
/// count, each node's log holds exactly each other origin's public events, in order, gapless,
/// once, and nothing of theirs that is not public. Returns the logs.
async fn full_mesh_holds_every_public_event_once(mesh: &Mesh) -> BTreeMap<&'static str, Vec<Entry>> {
    let counts = eventually("every node live with both partners, holding all they published", || async {
        let mut published = BTreeMap::new();
        for name in CITIES {
            let head = chain_head(&mesh.addr(name)).await?;
            if head.node != name {
                return Err(format!("{name} calls itself {}", head.node));
            }
            published.insert(name, head.published);
        }
        for name in CITIES {
            let listed = partners(&mesh.addr(name)).await?;
            if listed.len() != 2 {
                return Err(format!("{name} lists {} partners", listed.len()));
            }
            for p in listed {
                let expected = published[p.node.as_str()];
                let confirmed = expected.checked_sub(1);
                if p.state != State::Live as i32
                    || p.received != expected
                    || p.partner_published != expected
                    || p.confirmed_seq != confirmed
                {
                    return Err(format!(
                        "{name} sees {} {} with {} of {expected} records, {} published, confirmed {:?} \
                         (last error: {:?}, fault: {:?})",
                        p.node,
                        state_name(p.state),
                        p.received,
                        p.partner_published,
                        p.confirmed_seq,
                        p.last_error,
                        p.fault
                    ));
                }
            }
        }
        Ok(published)
    })
    .await;
    eprintln!("[mesh] published records by node: {counts:?}");

    let mut logs = BTreeMap::new();
    for name in CITIES {
        logs.insert(name, entries(read_log(&mesh.addr(name)).await.unwrap()));
    }
    for origin in CITIES {
        let chain = published(origin, &logs[origin]);
        assert_eq!(chain.len() as u64, counts[origin], "{origin}'s GetChainHead against its own log");
        let person_level = logs[origin].iter().filter(|e| e.event.event_type.starts_with("MemberAdmitted")).count();
        assert!(person_level > 0, "{origin} wrote person-level events, which must not travel");
        for holder in CITIES.into_iter().filter(|h| *h != origin) {
            assert_replica(holder, &logs[holder], origin, &chain);
        }
    }
    // And the node's own events are its own: it holds no copy of them from anyone; and nothing
    // from anywhere else.
    for name in CITIES {
        let stray: Vec<&Entry> =
            logs[name].iter().filter(|e| !CITIES.contains(&e.metadata.origin.node.as_str())).collect();
        assert!(stray.is_empty(), "{name} holds events of unknown origin: {stray:?}");
        let own = from_origin(name, &logs[name]);
        assert!(own.iter().all(|e| e.metadata.origin.seq.is_none()), "{name} holds its own events as replicas");
    }

    // The operator's view agrees: `imece federation status --json` on İzmir.
    let out = run_imece(&["federation", "status", "--addr", &mesh.addr(IZMIR), "--token", ADMIN, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for p in status.as_array().expect("a list") {
        let node = p["node"].as_str().unwrap();
        assert_eq!(p["state"], "live", "{p}");
        assert_eq!(p["received"].as_u64(), Some(counts[node]), "{p}");
    }
    logs
}

/// Part 1c: what a node serves, checked here with `imece_federation` alone: `Pull` from seq 0 in
/// small batches gives the node's whole chain, each batch under a head signed with the key
/// `GetChainHead` names, over its last record; a `from_seq` beyond the chain is NOT_FOUND. A
/// partner's token gets `Pull` and `GetChainHead`, and nothing else of the node.
async fn pull_serves_each_chain_signed_and_partners_only_pull(mesh: &Mesh, logs: &BTreeMap<&'static str, Vec<Entry>>) {
    for name in CITIES {
        let addr = mesh.addr(name);
        let token = partner_token(CITIES.into_iter().find(|o| *o != name).unwrap(), name);
        let mut client = ReplicationClient::new(channel(&addr).await.unwrap());
        let head = client.get_chain_head(bearer(pb::GetChainHeadRequest {}, &token)).await.unwrap().into_inner();
        let key = head.public_key.parse().expect("a public key");
        let node = imece_domain::NodeId::new(name).unwrap();
        let expected = published(name, &logs[name]);
        assert_eq!(head.published, expected.len() as u64);

        let request = pb::PullRequest { from_seq: 0, max_batch: 16 };
        let mut batches = client.pull(bearer(request, &token)).await.unwrap().into_inner();
        let mut verifier = Verifier::new(node, key, None);
        while verifier.next_seq() < head.published {
            let batch = tokio::time::timeout(node::PATIENCE, batches.message()).await.unwrap().unwrap().unwrap();
            assert!(!batch.records.is_empty() && batch.records.len() <= 16, "{name}: a batch of 1 to 16 records");
            for record in &batch.records {
                let record = fake::record_from_proto(record);
                verifier.verify(&record).unwrap_or_else(|f| panic!("{name}'s chain: {f}"));
                let (entry, hash) = &expected[record.seq as usize];
                assert_eq!((record.event_id, hash_to_hex(&record.hash)), (entry.event.id, hash.clone()));
            }
            let signed = fake::head_from_proto(batch.head.as_ref().expect("every batch is signed"));
            assert_eq!(signed.seq, batch.records.last().unwrap().seq, "{name}: the head covers the batch");
            assert_eq!(verifier.verify_head(&signed), Ok(HeadStatus::Confirmed), "{name}");
        }
        drop(batches);

        let beyond = pb::PullRequest { from_seq: head.published + 5, max_batch: 0 };
        let status = client.pull(bearer(beyond, &token)).await.expect_err("beyond the chain");
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
        let status =
            client.list_partners(bearer(pb::ListPartnersRequest {}, &token)).await.expect_err("partners only pull");
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
        let mut log = LogClient::new(channel(&addr).await.unwrap());
        let status = log.read_log(bearer(pb::ReadLogRequest { from_position: 0, limit: 1 }, &token)).await.unwrap_err();
        assert!(matches!(status.code(), Code::PermissionDenied | Code::Unauthenticated), "ReadLog: {status:?}");
        let mut registry = RegistryClient::new(channel(&addr).await.unwrap());
        let org = logs[name].first().unwrap().event.stream.as_str().trim_start_matches("org-").to_owned();
        let get = pb::GetOrganisationRequest { organisation_id: org };
        let status = registry.get_organisation(bearer(get, &token)).await.unwrap_err();
        assert!(matches!(status.code(), Code::PermissionDenied | Code::Unauthenticated), "GetOrganisation: {status:?}");
    }
}

fn indicator_query(indicator: &str, years: (i32, i32), after: u64) -> pb::QueryIndicatorRequest {
    pb::QueryIndicatorRequest {
        indicator: indicator.to_owned(),
        group_by: vec!["city".to_owned()],
        year_from: years.0,
        year_to: Some(years.1),
        consistency: Some(pb::Consistency { min_position: Some(after), timeout_ms: 30_000 }),
        ..Default::default()
    }
}

/// Part 2: the same indicators by city give the same table on every node, once each node's
/// projections have applied its whole log.
///
/// Compared: assembly participation, the surplus shares (legal and indivisible reserve),
/// active entities, the birth rate (organisations founded) and members. Members agree because
/// each organisation computes its membership snapshot for every year-end: a partner counts the
/// published snapshot, the home node its person-level register, and the two totals are equal. Not
/// compared: the breakdowns of members (by sex, age, category) and the flows (join and exit rates,
/// net growth), which legitimately differ: the snapshot suppresses small cells, and the flows
/// exist only in the person-level register, which never leaves the home node.
async fn indicators_agree_on_every_node(mesh: &Mesh) {
    let compared = [
        ("assembly_participation", (2022, 2025)),
        ("surplus_legal_reserve", (2022, 2025)),
        ("surplus_indivisible_reserve", (2022, 2025)),
        ("active_entities", (2008, 2025)),
        ("birth_rate", (2009, 2025)),
        ("members", (2021, 2025)),
    ];
    let mut heads = BTreeMap::new();
    for name in CITIES {
        heads.insert(name, log_head(&mesh.addr(name)).await.unwrap());
    }
    for (indicator, years) in compared {
        let mut tables = Vec::new();
        for name in CITIES {
            let mut client = IndicatorsClient::new(channel(&mesh.addr(name)).await.unwrap());
            let table = client
                .query_indicator(admin(indicator_query(indicator, years, heads[name] - 1)))
                .await
                .unwrap_or_else(|s| panic!("{indicator} on {name}: {s:?}"))
                .into_inner();
            assert!(table.as_of_position >= heads[name], "{indicator} on {name} answered before its log's head");
            tables.push((name, table.rows));
        }
        let (first, rows) = &tables[0];
        let cities: std::collections::BTreeSet<String> = rows
            .iter()
            .filter(|r| r.kind == pb::RowKind::Cell as i32)
            .filter_map(|r| r.key.first().and_then(|k| k.code.as_ref()).map(|c| c.code.clone()))
            .collect();
        assert_eq!(cities.len(), 4, "{indicator} on {first}: cells for the four cities, got {cities:?}");
        for (name, other) in &tables[1..] {
            assert_eq!(other, rows, "{indicator} by city: {name} and {first} disagree");
        }
    }
}

/// Part 3: İzmir refuses to write for an organisation Reggio Emilia owns (it holds its replica),
/// with FAILED_PRECONDITION naming the owner, and writes nothing.
async fn another_nodes_organisation_is_refused(mesh: &Mesh, logs: &BTreeMap<&'static str, Vec<Entry>>) {
    let reggio_org = sample::by_node(11).remove(REGGIO).expect("Reggio Emilia's organisations").remove(0);
    let stream = format!("org-{}", reggio_org.id);
    assert!(
        logs[IZMIR].iter().any(|e| e.event.stream.as_str() == stream),
        "İzmir holds the replica of {}",
        reggio_org.name
    );
    let Some(C::ConveneAssembly(mut convene)) =
        reggio_org.items.iter().find_map(|i| i.command.clone().filter(|c| matches!(c, C::ConveneAssembly(_))))
    else {
        panic!("{} convenes assemblies", reggio_org.name)
    };
    let header = convene.header.as_mut().unwrap();
    header.request_id = uuid::Uuid::now_v7().to_string();
    convene.assembly = uuid::Uuid::now_v7().to_string();
    let izmir = mesh.addr(IZMIR);
    let before = log_head(&izmir).await.unwrap();
    let mut client = RegistryClient::new(channel(&izmir).await.unwrap());
    let status = client.convene_assembly(admin(convene)).await.expect_err("İzmir must refuse");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains(REGGIO), "the refusal names the owner: {status:?}");
    assert!(status.message().contains(&reggio_org.id.to_string()), "and the organisation: {status:?}");
    assert_eq!(log_head(&izmir).await.unwrap(), before, "a refused command writes nothing");
}

/// Part 5: every node stopped with SIGTERM exits cleanly and passes `imece verify`; a heads file
/// with an altered head, or a log with an altered event, fails it, naming the problem.
async fn verify_passes_then_finds_damage(mesh: &mut Mesh) {
    let counts: BTreeMap<&str, u64> = {
        let mut counts = BTreeMap::new();
        for name in CITIES {
            counts.insert(name, chain_head(&mesh.addr(name)).await.unwrap().published);
        }
        counts
    };
    for name in CITIES {
        let status = mesh.node(name).terminate().await;
        assert!(status.success(), "{name} stopped on SIGTERM with {status}");
    }
    // Each signed its whole chain before it stopped.
    for name in CITIES {
        let heads = std::fs::read_to_string(mesh.nodes[name].data_dir.join("federation/heads")).unwrap();
        let last = heads.lines().last().unwrap_or_default().split(' ').nth(1).and_then(|s| s.parse::<u64>().ok());
        assert_eq!(last, counts[name].checked_sub(1), "{name}'s last signed head: {heads}");
    }
    let verify = |mesh: &Mesh, name: &str| {
        let out = run_imece(&["verify", "--config", &mesh.nodes[name].config.display().to_string()]);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status, text)
    };
    for name in CITIES {
        let (status, text) = verify(mesh, name);
        assert!(status.success(), "imece verify on {name}: {text}");
        assert!(text.contains("no problems"), "{name}: {text}");
        assert!(text.contains(&format!("{} published", counts[name])), "{name}: {text}");
        for other in CITIES.into_iter().filter(|o| *o != name) {
            let replicated = format!("{} record(s) replicated from {other}", counts[other]);
            assert!(text.contains(&replicated), "{name}: {text}");
        }
        assert!(!text.contains(" 0 signed head(s) confirmed"), "{name} signed heads as it published: {text}");
    }

    // Marseille's heads file: one hash digit of its last head changed.
    let heads_file = mesh.nodes[MARSEILLE].data_dir.join("federation/heads");
    let heads = std::fs::read_to_string(&heads_file).unwrap();
    let last = heads.lines().last().expect("Marseille recorded signed heads").to_owned();
    let fields: Vec<&str> = last.split(' ').collect();
    let (seq, hash) = (fields[1], fields[2]);
    let flipped = if hash.starts_with('0') { "1" } else { "0" };
    let damaged = last.replacen(hash, &format!("{flipped}{}", &hash[1..]), 1);
    std::fs::write(&heads_file, heads.replacen(&last, &damaged, 1)).unwrap();
    let (status, text) = verify(mesh, MARSEILLE);
    assert!(!status.success(), "imece verify passed a damaged heads file: {text}");
    assert!(
        text.contains(&format!("signed head of node {MARSEILLE} for seq {seq} is not signed by")),
        "the problem names the head: {text}"
    );

    // Reggio Emilia's log: one byte of an organisation's name changed in a segment file.
    let name = b"Cooperativa Sociale Reggiana";
    let mut damaged = None;
    for entry in std::fs::read_dir(mesh.nodes[REGGIO].data_dir.join("log")).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let mut bytes = std::fs::read(&path).unwrap();
        if let Some(at) = bytes.windows(name.len()).position(|w| w == name) {
            bytes[at + 12] = b'Z';
            std::fs::write(&path, bytes).unwrap();
            damaged = Some(path);
            break;
        }
    }
    let damaged = damaged.expect("a segment of Reggio Emilia's log holds the organisation's name");
    let (status, text) = verify(mesh, REGGIO);
    assert!(!status.success(), "imece verify passed a damaged log ({}): {text}", damaged.display());
    assert!(text.contains("checksum"), "the problem names the checksum: {text}");
    let said: Vec<&str> = text.lines().filter(|l| l.contains("error")).collect();
    eprintln!("[mesh] imece verify on the damaged log said: {}", said.join(" / "));
}

/// Starts a node `tr-izmir` pulling from the given fake partners (no partners of its own
/// pulling); returns it with its directory.
async fn node_with_fakes(fakes: &[(&Arc<FakePartner>, &str)]) -> (NodeProcess, TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let port = free_ports(1)[0];
    let partners: Vec<PartnerEntry> = fakes
        .iter()
        .map(|(fake, endpoint)| PartnerEntry {
            node: fake.node.to_string(),
            endpoint: (*endpoint).to_owned(),
            public_key: fake.public_key(),
            token: partner_token(IZMIR, fake.node.as_str()),
        })
        .collect();
    let data_dir = dir.path().join(IZMIR);
    let config = dir.path().join("node.toml");
    std::fs::write(&config, config_toml(IZMIR, port, &data_dir, &[], &partners)).unwrap();
    let mut node = NodeProcess::new(IZMIR, port, &data_dir, &config);
    node.start();
    node.ready().await;
    (node, dir)
}

/// The seqs of `origin`'s records the node holds, in log order.
async fn held_seqs(addr: &str, origin: &str) -> Vec<u64> {
    let log = entries(read_log(addr).await.unwrap());
    from_origin(origin, &log).iter().map(|e| e.metadata.origin.seq.expect("a replica's seq")).collect()
}

/// Guards: a partner that sends every batch twice, and batches overlapping the last, has each
/// record applied exactly once, and stays live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_repeating_itself_has_each_record_applied_once() {
    let started = Instant::now();
    let behaviour = Behaviour { duplicate: true, ..Behaviour::honest(4) };
    let fake = Arc::new(FakePartner::new("es-valencia", 15, behaviour));
    let (endpoint, _server) = fake::serve(fake.clone()).await;
    let (node, _dir) = node_with_fakes(&[(&fake, &endpoint)]).await;
    let n = fake.records.len() as u64;
    let addr = node.addr();

    eventually("the node is live with es-valencia, holding all its records", || async {
        let p = partner(&addr, "es-valencia").await?;
        if p.state == State::Live as i32 && p.received == n && fake.sent.load(Ordering::Relaxed) > 2 * n {
            Ok(())
        } else {
            Err(format!("{} received {} of {n}: {p:?}", state_name(p.state), p.received))
        }
    })
    .await;
    // Settle: whatever else was in flight has arrived.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let p = partner(&addr, "es-valencia").await.unwrap();
    assert_eq!((state_name(p.state), p.received, p.fault.as_str()), ("LIVE", n, ""), "{p:?}");
    assert_eq!(p.confirmed_seq, Some(n - 1), "{p:?}");

    let log = entries(read_log(&addr).await.unwrap());
    let held = from_origin("es-valencia", &log);
    let seqs: Vec<u64> = held.iter().map(|e| e.metadata.origin.seq.unwrap()).collect();
    assert_eq!(seqs, (0..n).collect::<Vec<_>>(), "each record once, in order");
    for (e, r) in held.iter().zip(&fake.records) {
        assert_eq!((e.event.id, &e.event.event_type, &e.event.data), (r.event_id, &r.event_type, &r.data));
        assert_eq!(e.event.stream, r.stream);
        assert_eq!(e.metadata.origin.position, Some(r.origin_position));
    }
    eprintln!(
        "[valencia] {n} records applied once of {} sent in {} pull(s), in {:.1?}",
        fake.sent.load(Ordering::Relaxed),
        fake.pulls.load(Ordering::Relaxed),
        started.elapsed()
    );
}

/// Guards: a partner whose chain breaks is marked FAULTY with a reason naming the seq, and the
/// node holds nothing of it at or after the break: an altered record (mid-batch: the batch's
/// records before it are not applied either, since the batch's signed head never confirmed them),
/// a dropped record, heads signed by another key than the partner's, and a person-level event
/// published (correctly chained and signed: only its visibility betrays it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_chain_marks_its_partner_faulty_and_stops_at_the_break() {
    let started = Instant::now();
    // (fake, behaviour, what the fault says, the records the node must hold: seq 0..held)
    let cases = [
        ("pt-lisboa", Behaviour { alter_data_at: Some(6), ..Behaviour::honest(4) }, "record seq 6 was altered", 4),
        (
            "gr-athens",
            Behaviour { drop_at: Some(8), ..Behaviour::honest(4) },
            "expected record seq 8, got seq 9: 1 record(s) from seq 8 are missing",
            8,
        ),
        (
            "es-bilbao",
            Behaviour { foreign_key_from: Some(9), ..Behaviour::honest(4) },
            "signed head of node es-bilbao for seq 11 is not signed by",
            8,
        ),
        (
            "fr-lyon",
            Behaviour { home_only_at: Some(5), ..Behaviour::honest(4) },
            "record seq 5 (PersonEnrolled.v1) is marked HomeOnly: only public events may be published",
            4,
        ),
    ];
    let mut fakes = Vec::new();
    for (node, behaviour, _, _) in &cases {
        let fake = Arc::new(FakePartner::new(node, 8, *behaviour));
        let (endpoint, server) = fake::serve(fake.clone()).await;
        fakes.push((fake, endpoint, server));
    }
    let list: Vec<(&Arc<FakePartner>, &str)> = fakes.iter().map(|(f, e, _)| (f, e.as_str())).collect();
    let (node, _dir) = node_with_fakes(&list).await;
    let addr = node.addr();

    for ((name, _, says, held), (fake, _, _)) in cases.iter().zip(&fakes) {
        let p = eventually(&format!("{name} marked faulty"), || async {
            let p = partner(&addr, name).await?;
            if p.state == State::Faulty as i32 { Ok(p) } else { Err(format!("{p:?}")) }
        })
        .await;
        assert!(p.fault.contains(says), "{name}'s fault says {says:?}: {p:?}");
        assert_eq!(p.received, *held, "{p:?}");
        assert!(fake.records.len() as u64 > held + 4, "the fake had more to send");
    }
    // Faulty is final: a moment later nothing more was applied from any of them.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (name, _, _, held) in &cases {
        assert_eq!(held_seqs(&addr, name).await, (0..*held).collect::<Vec<_>>(), "{name}: exactly the records before");
        let p = partner(&addr, name).await.unwrap();
        assert_eq!(p.state, State::Faulty as i32, "{p:?}");
    }
    // No trace of the leaked person anywhere in the node's log.
    let log = read_log(&addr).await.unwrap();
    assert!(!log.iter().any(|e| e.event_type.starts_with("PersonEnrolled")), "a partner's person-level event stored");
    assert!(!log.iter().any(|e| String::from_utf8_lossy(&e.data).contains("Lucia")), "personal data stored");
    // The node itself stays up and well.
    assert!(!log.is_empty());
    eprintln!("[tampering] four faulty partners found in {:.1?}", started.elapsed());
}

/// Guards: a partner whose records would write an organisation this node owns (its stream began
/// here) is marked FAULTY naming the record and the stream, and nothing of that batch or after is
/// applied: each node writes only its own organisations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_writing_this_nodes_organisation_is_faulty() {
    let fake = Arc::new(FakePartner::new("es-sevilla", 6, Behaviour::honest(4)));
    // The fake's third organisation (its records seq 4 and 5) is registered on the node first,
    // while the node's calls to the fake wait for it to serve.
    let (endpoint, listener) = fake::listen().await;
    let (node, _dir) = node_with_fakes(&[(&fake, &endpoint)]).await;
    let addr = node.addr();
    let taken = fake::org_id("es-sevilla", 2);
    // Any valid registration will do: İzmir's first cooperative's, under the taken id.
    let mut register = sample::by_node(11)[IZMIR][0]
        .items
        .iter()
        .find_map(|i| match &i.command {
            Some(C::RegisterOrganisation(r)) => Some(r.clone()),
            _ => None,
        })
        .expect("a registration");
    let header = register.header.as_mut().unwrap();
    header.organisation_id = taken.to_string();
    header.request_id = uuid::Uuid::now_v7().to_string();
    let mut client = RegistryClient::new(channel(&addr).await.unwrap());
    client.register_organisation(admin(register)).await.expect("the node registers its organisation");
    let _server = fake::serve_on(fake.clone(), listener);

    let p = eventually("es-sevilla marked faulty", || async {
        let p = partner(&addr, "es-sevilla").await?;
        if p.state == State::Faulty as i32 { Ok(p) } else { Err(format!("{p:?}")) }
    })
    .await;
    assert!(p.fault.contains(&format!("record seq 4 writes stream org-{taken}, which node {IZMIR} owns")), "{p:?}");
    assert_eq!(held_seqs(&addr, "es-sevilla").await, vec![0, 1, 2, 3], "exactly the batches before");
    let log = entries(read_log(&addr).await.unwrap());
    let stream: Vec<&Entry> = log.iter().filter(|e| e.event.stream.as_str() == format!("org-{taken}")).collect();
    assert_eq!(stream.len(), 1, "the node's organisation has only its own event: {stream:?}");
    assert_eq!(stream[0].metadata.origin.node.as_str(), IZMIR);
}

/// Guards: an organisation this node was asked about before its partner's records arrived (not
/// found then) is served once they arrive, and writing for it is refused as another node's: the
/// registry never keeps the state of an empty stream, since replication appends behind its back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_asked_for_before_it_arrived_is_found_once_it_has() {
    let fake = Arc::new(FakePartner::new("es-girona", 3, Behaviour::honest(4)));
    let (endpoint, listener) = fake::listen().await;
    let (node, _dir) = node_with_fakes(&[(&fake, &endpoint)]).await;
    let addr = node.addr();
    let org = fake::org_id("es-girona", 0).to_string();
    let mut client = RegistryClient::new(channel(&addr).await.unwrap());
    let get = || admin(pb::GetOrganisationRequest { organisation_id: org.clone() });
    let status = client.get_organisation(get()).await.expect_err("not replicated yet");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    // A command for it too, before it arrives: not found.
    let mut convene = sample::by_node(11)[IZMIR][0]
        .items
        .iter()
        .find_map(|i| match &i.command {
            Some(C::ConveneAssembly(r)) => Some(r.clone()),
            _ => None,
        })
        .expect("an assembly");
    convene.header.as_mut().unwrap().organisation_id = org.clone();
    let status = client.convene_assembly(admin(convene.clone())).await.expect_err("not replicated yet");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");

    let _server = fake::serve_on(fake.clone(), listener);
    let n = fake.records.len() as u64;
    eventually("es-girona live", || async {
        let p = partner(&addr, "es-girona").await?;
        if p.state == State::Live as i32 && p.received == n { Ok(()) } else { Err(format!("{p:?}")) }
    })
    .await;
    let found = client.get_organisation(get()).await;
    convene.header.as_mut().unwrap().request_id = uuid::Uuid::now_v7().to_string();
    let write = client.convene_assembly(admin(convene)).await;
    let held = read_log(&addr).await.unwrap().iter().filter(|e| e.stream == format!("org-{org}")).count();
    assert_eq!(held, 2, "the node holds the replica's two events");
    assert!(found.is_ok(), "the replica, once arrived, is found: {found:?}\nand a write for it answered: {write:?}");
    let status = write.expect_err("another node's organisation");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("es-girona"), "{status:?}");
}
