//! `imece-bench indicators`: the projections and the indicator queries on a registry of the issue's
//! size, against SQL over the same facts in SQLite, in the same run.
//!
//! 1. A synthetic registry (about 100 events per organisation) is written into an embedded log with
//!    the domain's own envelope encoding, and the same facts into normalised SQLite tables. Both
//!    are kept under `--dir` and reused by the next run with the same `--organisations`.
//! 2. Replay: the indicators' facts and the directory fold the whole log from a fresh snapshot
//!    directory, together (and each alone); then the cube is built.
//! 3. Queries grouped by city and year: on the cube in process, over gRPC through a real node on
//!    the same log, and by SQL in SQLite, with the ratio of the p99s. The figures are checked to be
//!    the same on both sides.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use imece_directory::Directory;
use imece_domain::time::Month;
use imece_domain::{
    Activity, Actor, ActorKind, AnnualAccountsApproved, AssemblyId, Code, CooperativeType, CorrelationId, CountryCode,
    Currency, Date, Envelope, Event, ExitReason, Family, Figures, FiscalYearEnd, GeneralAssemblyHeld, KeyId, LegalForm,
    MemberAdmitted, MemberCategory, MemberLeft, MembershipId, Metadata, Money, Names, NodeId, OrgId, Organ,
    OrganElected, OrganisationRegistered, Origin, PersonEnrolled, PersonKind, PersonRef, SealedPersonalData, Seat, Sex,
    SurplusAllocated, SurplusItem, SurplusKind, Workforce,
};
use imece_indicators::{Cube, CubeOptions, Dimension, Disclosure, Facts, Query, ReferenceData, RowKind, Table};
use imece_log::{EventId, EventLog, ExpectedVersion, NewEvent, StreamId};
use imece_log_embedded::EmbeddedLog;
use imece_projections::{Options, Projection, Projector};
use imece_proto::v1 as pb;
use imece_proto::v1::indicators_client::IndicatorsClient;
use imece_server::config::{RoleConfig, TokenConfig};
use rusqlite::{Connection, params};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

use crate::BoxError;
use crate::report::{count, verdict};

/// An error a writer task can hand back across threads.
type Failure = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Organisations in the registry (about 100 events each): the scale is 100,000.
    #[arg(long, default_value_t = 100_000)]
    organisations: u32,
    /// Where the registry is generated (and kept for the next run): on the disk to measure.
    #[arg(long, default_value = "target/bench-data")]
    dir: PathBuf,
    /// Timed runs of each query, in process and over gRPC, after the warm-up.
    #[arg(long, default_value_t = 1_000)]
    runs: usize,
    /// Seconds each query may take in all, in process and over gRPC: fewer runs (but at least 100)
    /// are made when it is slower.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Timed runs of each SQL query at most, after the warm-up.
    #[arg(long, default_value_t = 100)]
    sql_runs: usize,
    /// Seconds each SQL query may take in all: fewer runs are made when it is slower.
    #[arg(long, default_value_t = 120)]
    sql_seconds: u64,
    /// Concurrent writers while generating.
    #[arg(long, default_value_t = 32)]
    writers: u32,
    /// Skip replaying into each projection alone (saves two replays).
    #[arg(long)]
    no_alone: bool,
    /// The projector's `snapshot_every_events` during the replays (its default if not given); a
    /// large number leaves the snapshots out of the replay.
    #[arg(long)]
    snapshot_every: Option<u64>,
    /// Stop after the replays and the cube: no queries, no SQLite, no node.
    #[arg(long)]
    replay_only: bool,
}

/// Changes whenever the generator writes something else, so that an older registry is not reused.
const GENERATOR_VERSION: u32 = 1;
const TOKEN: &str = "bench-analyst-token-0123456789";
const FIRST_YEAR: i32 = 2016;
const LAST_YEAR: i32 = 2025;
/// LAU codes the seats are spread over.
const CITIES: u32 = 3_000;
const EVENTS_PER_APPEND: usize = 50;

struct Country {
    code: CountryCode,
    currency: Currency,
    legal_form: &'static str,
}

const COUNTRIES: [Country; 6] = [
    Country { code: CountryCode::TR, currency: Currency::TRY, legal_form: "kooperatif" },
    Country { code: CountryCode::IT, currency: Currency::EUR, legal_form: "società cooperativa" },
    Country { code: CountryCode::FR, currency: Currency::EUR, legal_form: "société coopérative de production" },
    Country { code: CountryCode::ES, currency: Currency::EUR, legal_form: "cooperativa de trabajo asociado" },
    Country { code: CountryCode::PT, currency: Currency::EUR, legal_form: "cooperativa" },
    Country { code: CountryCode::GR, currency: Currency::EUR, legal_form: "αστικός συνεταιρισμός" },
];

pub fn run(args: &Args) -> Result<(), BoxError> {
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run with --release for figures worth recording");
    }
    let root = args.dir.join(format!("indicators-{}", args.organisations));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let registry = runtime.block_on(prepare(args, &root))?;
    eprintln!(
        "registry: {} organisations, {} events in the log, {} rows in SQLite",
        args.organisations,
        count(registry.events as f64),
        count(registry.sql_rows as f64)
    );

    let mut options = Options::default();
    if let Some(every) = args.snapshot_every {
        options.snapshot_every_events = every;
    }
    let replay = runtime.block_on(replay(&root, registry.events, !args.no_alone, &options))?;
    if args.replay_only {
        print_replay(args, &registry, &replay);
        return Ok(());
    }
    let reference = ReferenceData::default();
    let disclosure = Disclosure::default();
    let queries = [
        ("assembly_participation", Query::new("assembly_participation", FIRST_YEAR)),
        ("members", Query::new("members", FIRST_YEAR)),
    ]
    .map(|(id, q)| (id, q.group_by(&[Dimension::City]).years(FIRST_YEAR, LAST_YEAR)));

    let mut in_process = Vec::new();
    let mut tables = Vec::new();
    for (id, query) in &queries {
        eprintln!("in process: {id} by city, {FIRST_YEAR}–{LAST_YEAR}, {} runs ...", args.runs);
        let budget = Duration::from_secs(args.seconds);
        let (table, times) = runtime.block_on(time_runs(args.runs, budget, || {
            std::future::ready(replay.cube.query(query, &reference, &disclosure))
        }))?;
        in_process.push(Latency::of(times));
        tables.push(table);
    }

    let sql = Connection::open(root.join("peer.sqlite"))?;
    let mut peer = Vec::new();
    let mut mismatches = Vec::new();
    for ((id, _), table) in queries.iter().zip(&tables) {
        eprintln!("SQLite: {id} by city and year, up to {} runs or {} s ...", args.sql_runs, args.sql_seconds);
        let (groups, latency) = sql_runs(&sql, id, args.sql_runs, Duration::from_secs(args.sql_seconds))?;
        let (differences, compared) = compare(id, table, &groups);
        mismatches.extend(differences);
        peer.push((latency, groups.len(), compared));
    }
    drop(sql);

    let grpc = runtime.block_on(over_grpc(
        &root,
        registry.events,
        &queries,
        &tables,
        args.runs,
        Duration::from_secs(args.seconds),
    ))?;
    mismatches.extend(grpc.mismatches.iter().cloned());

    print_report(args, &registry, &replay, &queries, &tables, &in_process, &peer, &grpc);
    if !mismatches.is_empty() {
        println!();
        println!("MISMATCH: imece and SQLite (or gRPC) disagree on {} cells; the first ones:", mismatches.len());
        for m in mismatches.iter().take(20) {
            println!("- {m}");
        }
        return Err(format!("{} cells differ between imece and its peer", mismatches.len()).into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Generation

/// What the registry on disk holds.
#[derive(Debug)]
struct Registry {
    events: u64,
    sql_rows: u64,
    /// Seconds the generation took, if this run generated it.
    generated_in: Option<f64>,
}

/// Reuses the registry in `root` if it was generated by this generator for the same number of
/// organisations; generates it otherwise.
async fn prepare(args: &Args, root: &Path) -> Result<Registry, BoxError> {
    let manifest = root.join("manifest");
    let expected = format!("generator {GENERATOR_VERSION} organisations {}", args.organisations);
    if let Ok(text) = std::fs::read_to_string(&manifest)
        && let Some((head, rest)) = text.split_once('\n')
        && head == expected
    {
        let mut fields = rest.split_whitespace().filter_map(|s| s.parse::<u64>().ok());
        if let (Some(events), Some(sql_rows)) = (fields.next(), fields.next()) {
            eprintln!("reusing the registry generated earlier in {} ({expected})", root.display());
            return Ok(Registry { events, sql_rows, generated_in: None });
        }
    }
    if root.exists() {
        std::fs::remove_dir_all(root)?;
    }
    std::fs::create_dir_all(root.join("node"))?;
    eprintln!(
        "generating a registry of {} organisations (about {} events) into {}; this takes a while, and the next run with the same --organisations reuses it ...",
        args.organisations,
        count(f64::from(args.organisations) * 100.0),
        root.display()
    );
    let started = Instant::now();
    let log = Arc::new(EmbeddedLog::open(root.join("node").join("log"))?);
    let (rows_tx, rows_rx) = std::sync::mpsc::sync_channel::<OrgRows>(2_048);
    let sqlite_path = root.join("peer.sqlite");
    let peer = std::thread::spawn(move || load_sqlite(&sqlite_path, rows_rx));
    let next = Arc::new(AtomicU32::new(0));
    let total = args.organisations;
    let mut writers = Vec::new();
    for _ in 0..args.writers.max(1) {
        let (log, next, rows_tx) = (log.clone(), next.clone(), rows_tx.clone());
        writers.push(tokio::spawn(async move {
            let mut events = 0u64;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return Ok::<u64, Failure>(events);
                }
                let org = generate(n)?;
                let stream = StreamId::new(org.id.stream_name())?;
                let mut expected = ExpectedVersion::NoStream;
                let mut batches = org.events;
                while !batches.is_empty() {
                    let rest = batches.split_off(batches.len().min(EVENTS_PER_APPEND));
                    let written = log.append(&stream, expected, batches).await?;
                    events += written.last_position - written.first_position + 1;
                    expected = ExpectedVersion::Exact(written.last_version);
                    batches = rest;
                }
                rows_tx.send(org.rows).map_err(|_| "the SQLite loader stopped")?;
                if n > 0 && n % 10_000 == 0 {
                    eprintln!("  {n} organisations written, {:.0} s", started.elapsed().as_secs_f64());
                }
            }
        }));
    }
    drop(rows_tx);
    let mut events = 0;
    for w in writers {
        events += w.await?.map_err(|e| e.to_string())?;
    }
    let head = log.head().await?;
    drop(log);
    let sql_rows = peer.join().map_err(|_| "the SQLite loader panicked")??;
    if head != events {
        return Err(format!("the log's head is {head} after writing {events} events").into());
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!("generated {} events in {secs:.0} s", count(events as f64));
    std::fs::write(&manifest, format!("{expected}\n{events} {sql_rows}\n"))?;
    Ok(Registry { events, sql_rows, generated_in: Some(secs) })
}

/// A deterministic generator of small numbers (xorshift).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u32) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % u64::from(n.max(1))) as u32
    }
}

fn date(y: i32, m: u8, d: u8) -> Result<Date, Failure> {
    Ok(Date::from_calendar_date(y, Month::try_from(m)?, d)?)
}

/// One organisation: its events, in the order the log gets them, and its rows for SQLite.
struct Generated {
    id: OrgId,
    events: Vec<NewEvent>,
    rows: OrgRows,
}

/// The rows of one organisation in the SQLite peer.
#[derive(Debug, Default)]
struct OrgRows {
    n: u32,
    id: String,
    name: String,
    country: String,
    city: String,
    nuts3: String,
    nace: String,
    legal_form: String,
    cooperative_type: String,
    registered_on: String,
    registered_year: i32,
    currency: String,
    members: Vec<MemberRow>,
    /// held on, eligible, present, proxies.
    assemblies: Vec<(Date, u32, u32, u32)>,
    /// elected on, seats, candidates, women elected.
    elections: Vec<(Date, u32, u32, u32)>,
    /// fiscal year, turnover, net result, employees.
    accounts: Vec<(i32, u64, u64, u32)>,
    /// fiscal year, kind, amount.
    surplus: Vec<(i32, &'static str, u64)>,
}

/// A member's row in the SQLite peer: coarse attributes only.
#[derive(Debug)]
struct MemberRow {
    membership: String,
    sex: &'static str,
    birth_year: i32,
    category: &'static str,
    admitted: Date,
    left: Option<Date>,
}

struct Member {
    admitted: Date,
    left: Option<Date>,
}

/// About 100 events of organisation `n`: the same for the same `n`, whichever writer makes them.
fn generate(n: u32) -> Result<Generated, Failure> {
    let mut rng = Rng::new(u64::from(n) + 1);
    let mut ids = 0u128;
    let mut uuid = || {
        ids += 1;
        uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + (u128::from(n) << 32) + ids)
    };
    let org = OrgId::from_uuid(uuid());
    let city = rng.below(CITIES);
    let country = &COUNTRIES[(city % COUNTRIES.len() as u32) as usize];
    let cc = country.code.as_str().to_owned();
    let lau = Code::lau(&format!("{cc}_{city:06}"), "2021")?;
    let nuts3 = Code::nuts(&format!("{cc}{:03}", city / 20), "2021")?;
    let nace = Code::nace(&format!("{:02}.{:02}", 1 + rng.below(96), rng.below(100)), "2")?;
    let cooperative_type = [
        CooperativeType::Worker,
        CooperativeType::Producer,
        CooperativeType::ConsumerUser,
        CooperativeType::MultiStakeholder,
    ][rng.below(4) as usize];
    let category = match cooperative_type {
        CooperativeType::Worker => MemberCategory::Worker,
        CooperativeType::Producer => MemberCategory::Producer,
        CooperativeType::ConsumerUser => MemberCategory::User,
        CooperativeType::MultiStakeholder => MemberCategory::Other,
    };
    let registered = date(FIRST_YEAR + rng.below(9) as i32, 1 + rng.below(12) as u8, 1 + rng.below(28) as u8)?;
    let end = date(LAST_YEAR, 12, 31)?;
    let money = |v: u64| Money::new(v.into(), country.currency);
    let mut rows = OrgRows {
        n,
        id: org.to_string(),
        name: format!("Cooperative {n}"),
        country: cc.clone(),
        city: lau.code.clone(),
        nuts3: nuts3.code.clone(),
        nace: nace.code.clone(),
        legal_form: country.legal_form.to_owned(),
        cooperative_type: format!("{cooperative_type:?}"),
        registered_on: registered.to_string(),
        registered_year: registered.year(),
        currency: country.currency.code().to_owned(),
        ..OrgRows::default()
    };

    // (date, order within the day, event): sorted before encoding, so the stream is in date order.
    let mut events: Vec<(Date, u32, Event)> = Vec::with_capacity(120);
    let founders = 9;
    events.push((
        registered,
        0,
        OrganisationRegistered {
            organisation: org,
            occurred_on: registered,
            founded_on: registered,
            names: Names::legal(rows.name.clone()),
            family: Family::Cooperative,
            legal_form: LegalForm { elf: None, national: country.legal_form.into() },
            cooperative_type: Some(cooperative_type),
            business_model: None,
            external_ids: vec![],
            seat: Seat { country: country.code, lau, nuts3, address: None },
            activity: Activity { primary: nace, secondary: vec![] },
            fiscal_year_end: FiscalYearEnd::DECEMBER_31,
            founders,
            subscribed_capital: Some(money(u64::from(founders) * 1_000)),
        }
        .into(),
    ));

    // Members: the founders on the registration day, the others any day until the end.
    let span = (end.to_julian_day() - registered.to_julian_day()) as u32;
    let mut members = Vec::new();
    for i in 0..(30 + rng.below(16)) {
        let admitted = if i < founders {
            registered
        } else {
            Date::from_julian_day(registered.to_julian_day() + rng.below(span + 1) as i32)?
        };
        let left = if i >= founders && rng.below(6) == 0 {
            let rest = (end.to_julian_day() - admitted.to_julian_day()) as u32;
            (rest > 1)
                .then(|| Date::from_julian_day(admitted.to_julian_day() + 1 + rng.below(rest) as i32))
                .transpose()?
        } else {
            None
        };
        let person = PersonRef::from_uuid(uuid());
        let membership = MembershipId::from_uuid(uuid());
        let sex = if rng.below(100) < 45 { Sex::Female } else { Sex::Male };
        let birth_year = 1950 + rng.below(56) as u16;
        events.push((
            admitted,
            1,
            PersonEnrolled {
                occurred_on: admitted,
                person,
                person_kind: PersonKind::Natural {
                    sex,
                    birth_year: Some(birth_year),
                    // No keystore here: sealed bytes of the right shape, which no fold opens.
                    personal_data: SealedPersonalData {
                        key_id: KeyId::from_uuid(uuid()),
                        algorithm: "XChaCha20-Poly1305".into(),
                        nonce: vec![7; 24],
                        ciphertext: (0..80).map(|b| (b * 7 + i) as u8).collect(),
                    },
                },
            }
            .into(),
        ));
        events.push((
            admitted,
            2,
            MemberAdmitted {
                occurred_on: admitted,
                membership,
                person,
                category,
                shares: 1 + rng.below(3),
                subscribed_capital: money(100),
            }
            .into(),
        ));
        if let Some(on) = left {
            let reason = if rng.below(10) == 0 { ExitReason::Expulsion } else { ExitReason::Withdrawal };
            events.push((
                on,
                3,
                MemberLeft { occurred_on: on, membership, reason, refund: None, appealed: false }.into(),
            ));
        }
        rows.members.push(MemberRow {
            membership: membership.to_string(),
            sex: if sex == Sex::Female { "F" } else { "M" },
            birth_year: i32::from(birth_year),
            category: match category {
                MemberCategory::Worker => "worker",
                MemberCategory::Producer => "producer",
                MemberCategory::User => "user",
                _ => "other",
            },
            admitted,
            left,
        });
        members.push(Member { admitted, left });
    }

    // Every year after the registration: a general assembly, which approves the previous year's
    // accounts and shares its surplus; every third year it elects the board.
    for year in (registered.year() + 1)..=LAST_YEAR {
        let held = date(year, 3 + rng.below(3) as u8, 1 + rng.below(28) as u8)?;
        let eligible = members.iter().filter(|m| m.admitted <= held && m.left.is_none_or(|l| l > held)).count() as u32;
        let present = eligible * (30 + rng.below(61)) / 100;
        let proxies = rng.below((eligible - present).min(4) + 1);
        let assembly = AssemblyId::from_uuid(uuid());
        events.push((
            held,
            4,
            GeneralAssemblyHeld {
                occurred_on: held,
                assembly,
                eligible,
                present,
                present_online: None,
                proxies,
                present_women: None,
                present_under_30: None,
                max_proxies_per_holder: Some(1),
                quorum_met: true,
            }
            .into(),
        ));
        rows.assemblies.push((held, eligible, present, proxies));

        if (year - registered.year()) % 3 == 1 {
            let seats = 3 + 2 * rng.below(3);
            let candidates = seats + rng.below(5);
            let women = rng.below(seats + 1);
            events.push((
                held,
                5,
                OrganElected {
                    occurred_on: held,
                    organ: Organ::Board,
                    assembly: Some(assembly),
                    term_from: held,
                    term_until: Some(date(year + 3, held.month() as u8, held.day().min(28))?),
                    seats,
                    candidates,
                    women_elected: Some(women),
                    under_30_elected: Some(rng.below(2)),
                    new_holders: Some(rng.below(seats + 1)),
                }
                .into(),
            ));
            rows.elections.push((held, seats, candidates, women));
        }

        let fiscal_year = year - 1;
        let turnover = 50_000 + u64::from(rng.below(2_000_000));
        let surplus = u64::from(rng.below(100_000));
        let employees = rng.below(40);
        events.push((
            held,
            6,
            AnnualAccountsApproved {
                occurred_on: held,
                fiscal_year,
                assembly: Some(assembly),
                currency: country.currency,
                figures: Figures {
                    turnover: Some(money(turnover)),
                    member_turnover: Some(money(turnover / 2)),
                    personnel_costs: Some(money(turnover * 2 / 5)),
                    member_labour_costs: Some(money(turnover / 4)),
                    purchases: Some(money(turnover / 5)),
                    purchases_from_members: Some(money(turnover / 20)),
                    purchases_from_social_economy: Some(money(turnover / 25)),
                    net_result: money(surplus),
                    total_assets: Some(money(turnover * 2)),
                    equity: Some(money(turnover / 2)),
                    share_capital: Some(money(members.len() as u64 * 100)),
                    indivisible_reserves: Some(money(turnover / 5)),
                },
                workforce: Workforce {
                    employees: Some(employees),
                    fte_hundredths: Some(employees * 85),
                    employees_women: Some(employees * 2 / 5),
                    workers: Some(employees),
                    worker_members: Some(employees / 2),
                    disadvantaged_workers: None,
                    volunteers: None,
                },
            }
            .into(),
        ));
        rows.accounts.push((fiscal_year, turnover, surplus, employees));

        // The items add up to the surplus, in the organisation's currency.
        let legal = surplus * 3 / 10;
        let fund = surplus * 3 / 100;
        let rest = surplus - legal - fund;
        let rest_kind = if country.code == CountryCode::TR {
            SurplusKind::PatronageRefund
        } else {
            SurplusKind::IndivisibleReserve
        };
        let items = [(SurplusKind::LegalReserve, legal), (SurplusKind::MutualFund, fund), (rest_kind, rest)];
        events.push((
            held,
            7,
            SurplusAllocated {
                occurred_on: held,
                fiscal_year,
                assembly: Some(assembly),
                surplus: money(surplus),
                items: items.iter().map(|&(kind, v)| SurplusItem { kind, amount: money(v) }).collect(),
                capital_interest: None,
                beneficiaries: None,
            }
            .into(),
        ));
        for (kind, v) in items {
            let name = match kind {
                SurplusKind::LegalReserve => "legal_reserve",
                SurplusKind::MutualFund => "mutual_fund",
                SurplusKind::PatronageRefund => "patronage_refund",
                _ => "indivisible_reserve",
            };
            rows.surplus.push((fiscal_year, name, v));
        }
    }
    events.sort_by_key(|(d, order, _)| (*d, *order));

    // Encoded as a node writes them: the domain's envelope, with metadata naming the writer.
    let metadata = Metadata {
        actor: Actor { kind: ActorKind::Service, id: "bench-generator".into() },
        correlation_id: CorrelationId::from(uuid()),
        causation_id: None,
        jurisdiction: country.code,
        visibility: imece_domain::Visibility::Public,
        origin: Origin::local(NodeId::new("bench")?),
    };
    let mut out = Vec::with_capacity(events.len());
    for (_, _, event) in events {
        let visibility = event.visibility();
        let encoded = Envelope::new(event, Metadata { visibility, ..metadata.clone() })?.encode()?;
        out.push(NewEvent {
            id: EventId::new_v7(),
            event_type: encoded.event_type,
            data: Bytes::from(encoded.data),
            metadata: Bytes::from(encoded.metadata),
        });
    }
    Ok(Generated { id: org, events: out, rows })
}

const SCHEMA: &str = "
CREATE TABLE organisations (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL, country TEXT NOT NULL,
    city TEXT NOT NULL, nuts3 TEXT NOT NULL, nace TEXT NOT NULL, legal_form TEXT NOT NULL,
    cooperative_type TEXT NOT NULL, registered_on TEXT NOT NULL, registered_year INTEGER NOT NULL,
    currency TEXT NOT NULL);
CREATE TABLE members (
    id INTEGER PRIMARY KEY, org INTEGER NOT NULL REFERENCES organisations (id), membership TEXT NOT NULL,
    sex TEXT NOT NULL, birth_year INTEGER, category TEXT NOT NULL, admitted_on TEXT NOT NULL,
    admitted_year INTEGER NOT NULL, left_on TEXT, left_year INTEGER);
CREATE TABLE assemblies (
    org INTEGER NOT NULL REFERENCES organisations (id), held_on TEXT NOT NULL, year INTEGER NOT NULL,
    eligible INTEGER NOT NULL, present INTEGER NOT NULL, proxies INTEGER NOT NULL);
CREATE TABLE elections (
    org INTEGER NOT NULL REFERENCES organisations (id), elected_on TEXT NOT NULL, year INTEGER NOT NULL,
    seats INTEGER NOT NULL, candidates INTEGER NOT NULL, women_elected INTEGER);
CREATE TABLE accounts (
    org INTEGER NOT NULL REFERENCES organisations (id), fiscal_year INTEGER NOT NULL, currency TEXT NOT NULL,
    turnover TEXT NOT NULL, net_result TEXT NOT NULL, employees INTEGER, PRIMARY KEY (org, fiscal_year));
CREATE TABLE surplus_items (
    org INTEGER NOT NULL REFERENCES organisations (id), fiscal_year INTEGER NOT NULL, currency TEXT NOT NULL,
    kind TEXT NOT NULL, amount TEXT NOT NULL);
";

/// Indexes for the queries, made after the load (faster than keeping them up to date row by row).
const INDEXES: &str = "
CREATE INDEX organisations_city ON organisations (city);
CREATE INDEX organisations_registered ON organisations (registered_year, id, city);
CREATE INDEX assemblies_year ON assemblies (year, org, eligible, present, proxies);
CREATE INDEX members_org ON members (org, admitted_year, left_year);
CREATE INDEX members_years ON members (admitted_year, left_year, org);
CREATE INDEX elections_org ON elections (org, year);
CREATE INDEX surplus_items_org ON surplus_items (org, fiscal_year);
ANALYZE;
";

/// Writes the rows it receives into a fresh SQLite database, then indexes it. Returns the rows.
fn load_sqlite(path: &Path, rows: std::sync::mpsc::Receiver<OrgRows>) -> Result<u64, String> {
    let e = |e: rusqlite::Error| e.to_string();
    let mut db = Connection::open(path).map_err(e)?;
    // A bulk load of a copy: durability does not matter here, and the queries only read.
    db.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;").map_err(e)?;
    db.execute_batch(SCHEMA).map_err(e)?;
    let mut written = 0u64;
    let mut pending = Vec::with_capacity(1_000);
    let flush = |db: &mut Connection, pending: &mut Vec<OrgRows>| -> rusqlite::Result<u64> {
        let tx = db.transaction()?;
        let mut n = 0u64;
        {
            let mut org = tx.prepare_cached(
                "INSERT INTO organisations VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?;
            let mut member = tx.prepare_cached(
                "INSERT INTO members (org, membership, sex, birth_year, category, admitted_on, admitted_year, left_on, left_year) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            let mut assembly = tx.prepare_cached("INSERT INTO assemblies VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
            let mut election = tx.prepare_cached("INSERT INTO elections VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
            let mut accounts = tx.prepare_cached("INSERT INTO accounts VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
            let mut surplus = tx.prepare_cached("INSERT INTO surplus_items VALUES (?1, ?2, ?3, ?4, ?5)")?;
            for o in pending.drain(..) {
                org.execute(params![
                    o.n,
                    o.id,
                    o.name,
                    o.country,
                    o.city,
                    o.nuts3,
                    o.nace,
                    o.legal_form,
                    o.cooperative_type,
                    o.registered_on,
                    o.registered_year,
                    o.currency
                ])?;
                for m in &o.members {
                    member.execute(params![
                        o.n,
                        m.membership,
                        m.sex,
                        m.birth_year,
                        m.category,
                        m.admitted.to_string(),
                        m.admitted.year(),
                        m.left.map(|d| d.to_string()),
                        m.left.map(|d| d.year())
                    ])?;
                }
                for (held, eligible, present, proxies) in &o.assemblies {
                    assembly.execute(params![o.n, held.to_string(), held.year(), eligible, present, proxies])?;
                }
                for (on, seats, candidates, women) in &o.elections {
                    election.execute(params![o.n, on.to_string(), on.year(), seats, candidates, women])?;
                }
                for (fy, turnover, net, employees) in &o.accounts {
                    accounts.execute(params![o.n, fy, o.currency, turnover.to_string(), net.to_string(), employees])?;
                }
                for (fy, kind, amount) in &o.surplus {
                    surplus.execute(params![o.n, fy, o.currency, kind, amount.to_string()])?;
                }
                n += 1
                    + (o.members.len() + o.assemblies.len() + o.elections.len() + o.accounts.len() + o.surplus.len())
                        as u64;
            }
        }
        tx.commit()?;
        Ok(n)
    };
    for r in rows {
        pending.push(r);
        if pending.len() == 1_000 {
            written += flush(&mut db, &mut pending).map_err(e)?;
        }
    }
    written += flush(&mut db, &mut pending).map_err(e)?;
    eprintln!("  SQLite: {written} rows loaded; indexing ...");
    db.execute_batch(INDEXES).map_err(e)?;
    db.execute_batch("PRAGMA journal_mode = DELETE;").map_err(e)?;
    Ok(written)
}

// ---------------------------------------------------------------------------------------------
// Replay

struct Replay {
    /// Seconds until both projections held the last event.
    both: f64,
    /// Seconds of each alone, if measured.
    facts_alone: Option<f64>,
    directory_alone: Option<f64>,
    cube_build: f64,
    cube: Cube,
    facts_snapshot_bytes: u64,
}

async fn replay(root: &Path, events: u64, alone: bool, options: &Options) -> Result<Replay, BoxError> {
    let log: Arc<dyn EventLog> = Arc::new(EmbeddedLog::open(root.join("node").join("log"))?);
    let head = log.head().await?;
    if head != events {
        return Err(format!("the log holds {head} events, the manifest says {events}").into());
    }
    let last = head.checked_sub(1).ok_or("the log is empty")?;
    let wait = Duration::from_secs(3_600);
    let views = root.join("replay-projections");

    let fresh = |name: &str| -> Result<PathBuf, BoxError> {
        let dir = views.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    };

    eprintln!("replay: {} events into the indicators' facts and the directory together ...", count(head as f64));
    let dir = fresh("both")?;
    let started = Instant::now();
    let facts = Projector::<Facts>::start(log.clone(), &dir, options.clone()).await?;
    let directory = Projector::<Directory>::start(log.clone(), &dir, options.clone()).await?;
    facts.wait_for(last, wait).await?;
    directory.wait_for(last, wait).await?;
    let both = started.elapsed().as_secs_f64();
    eprintln!("  {both:.1} s: {} events/s", count(head as f64 / both));
    directory.shutdown().await?;

    eprintln!("cube: building ...");
    let started = Instant::now();
    let cube = facts.read(|f| Cube::build(f, CubeOptions::default()));
    let cube_build = started.elapsed().as_secs_f64();
    let facts_snapshot_bytes = facts.read(|f| f.encode().map(|b| b.len() as u64).unwrap_or(0));
    facts.shutdown().await?;
    drop((facts, directory));

    let (mut facts_alone, mut directory_alone) = (None, None);
    if alone {
        eprintln!("replay: into the indicators' facts alone ...");
        let dir = fresh("indicators")?;
        let started = Instant::now();
        let p = Projector::<Facts>::start(log.clone(), &dir, options.clone()).await?;
        p.wait_for(last, wait).await?;
        facts_alone = Some(started.elapsed().as_secs_f64());
        p.shutdown().await?;
        drop(p);
        eprintln!("replay: into the directory alone ...");
        let dir = fresh("directory")?;
        let started = Instant::now();
        let p = Projector::<Directory>::start(log.clone(), &dir, options.clone()).await?;
        p.wait_for(last, wait).await?;
        directory_alone = Some(started.elapsed().as_secs_f64());
        p.shutdown().await?;
    }
    drop(log);
    std::fs::remove_dir_all(&views)?;
    Ok(Replay { both, facts_alone, directory_alone, cube_build, cube, facts_snapshot_bytes })
}

// ---------------------------------------------------------------------------------------------
// Latencies

#[derive(Clone, Copy, Debug)]
struct Latency {
    runs: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

impl Latency {
    fn of(mut times: Vec<Duration>) -> Latency {
        times.sort();
        let at = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
        Latency { runs: times.len(), p50: at(0.5), p99: at(0.99), max: times[times.len() - 1] }
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 { format!("{ms:.3} ms") } else { format!("{ms:.1} ms") }
}

/// Runs `f` a tenth of `runs` times (at least 10, or for a tenth of `budget`) to warm up, then
/// `runs` times timed, or as many as `budget` allows but never fewer than 100.
async fn time_runs<T, E: Into<BoxError>, F: Future<Output = Result<T, E>>>(
    runs: usize,
    budget: Duration,
    mut f: impl FnMut() -> F,
) -> Result<(T, Vec<Duration>), BoxError> {
    let mut last = None;
    let warming = Instant::now();
    for _ in 0..(runs / 10).max(10) {
        last = Some(f().await.map_err(Into::into)?);
        if warming.elapsed() > budget / 10 {
            break;
        }
    }
    let started = Instant::now();
    let mut times = Vec::with_capacity(runs);
    while times.len() < runs && (times.len() < 100 || started.elapsed() < budget) {
        let t = Instant::now();
        let out = f().await.map_err(Into::into)?;
        times.push(t.elapsed());
        last = Some(out);
    }
    Ok((last.ok_or("no run")?, times))
}

// ---------------------------------------------------------------------------------------------
// SQLite

/// A cell by SQL: (city, year) → numerator, denominator (0 for counts), organisations.
type Groups = HashMap<(String, i32), (u64, u64, u64)>;

fn sql_of(indicator: &str) -> Result<&'static str, BoxError> {
    Ok(match indicator {
        // Assemblies held in the year, by the seat's city: Σ (present + proxies) / Σ eligible.
        "assembly_participation" => {
            "SELECT o.city, a.year, SUM(a.present + a.proxies), SUM(a.eligible), COUNT(DISTINCT a.org)
             FROM assemblies a JOIN organisations o ON o.id = a.org
             WHERE a.year BETWEEN ?1 AND ?2 AND a.eligible > 0
             GROUP BY o.city, a.year"
        }
        // Members on 31 December of each year, of organisations registered by then.
        "members" => {
            "WITH RECURSIVE years (y) AS (SELECT ?1 UNION ALL SELECT y + 1 FROM years WHERE y < ?2)
             SELECT o.city, years.y, COUNT(*), 0, COUNT(DISTINCT o.id)
             FROM years
             JOIN organisations o ON o.registered_year <= years.y
             JOIN members m ON m.org = o.id AND m.admitted_year <= years.y
                 AND (m.left_year IS NULL OR m.left_year > years.y)
             GROUP BY o.city, years.y"
        }
        other => return Err(format!("no SQL for {other}").into()),
    })
}

fn sql_query(db: &Connection, sql: &str) -> rusqlite::Result<Groups> {
    let mut statement = db.prepare_cached(sql)?;
    let mut rows = statement.query(params![FIRST_YEAR, LAST_YEAR])?;
    let mut out = Groups::new();
    while let Some(r) = rows.next()? {
        out.insert((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?, r.get(4)?));
    }
    Ok(out)
}

/// Runs the SQL of `indicator` after two warm-up runs, up to `runs` times or for `budget`.
fn sql_runs(db: &Connection, indicator: &str, runs: usize, budget: Duration) -> Result<(Groups, Latency), BoxError> {
    let sql = sql_of(indicator)?;
    sql_query(db, sql)?;
    let mut groups = sql_query(db, sql)?;
    let started = Instant::now();
    let mut times = Vec::with_capacity(runs);
    while times.len() < runs.max(1) && (times.is_empty() || started.elapsed() < budget) {
        let t = Instant::now();
        groups = sql_query(db, sql)?;
        times.push(t.elapsed());
    }
    Ok((groups, Latency::of(times)))
}

/// Every published cell of `table` against SQL's, and SQL's groups the table lacks.
/// Returns the differences and how many published cells were compared.
fn compare(indicator: &str, table: &Table, groups: &Groups) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut seen = 0;
    let mut compared = 0;
    for r in table.rows.iter().filter(|r| r.kind == RowKind::Cell) {
        let Some(city) = r.key.first().map(|g| g.code.to_string()) else { continue };
        let key = (city, r.year);
        let c = &r.cell;
        if c.suppressed.is_some() {
            if groups.contains_key(&key) {
                seen += 1;
            }
            continue;
        }
        let Some(&(num, den, orgs)) = groups.get(&key) else {
            if c.organisations.unwrap_or(0) > 0 {
                out.push(format!("{indicator} {} {}: imece {:?}, SQLite has no such group", key.0, key.1, c.value));
            }
            continue;
        };
        seen += 1;
        compared += 1;
        let dec = |v: u64| Some(rust_decimal::Decimal::from(v));
        let ours = (c.numerator, if den > 0 { c.denominator } else { dec(0) }, c.organisations.map(u64::from));
        let theirs = (dec(num), dec(den), Some(orgs));
        let same = match indicator {
            // A count: its value is the sum, with no denominator.
            "members" => c.value == dec(num) && ours.2 == theirs.2,
            _ => ours == theirs,
        };
        if !same {
            out.push(format!(
                "{indicator} {} {}: imece value {:?} = {:?} / {:?} over {:?} organisations; SQLite {num} / {den} over {orgs}",
                key.0, key.1, c.value, c.numerator, c.denominator, c.organisations
            ));
        }
    }
    if seen != groups.len() {
        out.push(format!("{indicator}: SQLite has {} groups, imece's table {seen} of them", groups.len()));
    }
    (out, compared)
}

// ---------------------------------------------------------------------------------------------
// gRPC

#[derive(Debug, Default)]
struct Grpc {
    catch_up: f64,
    latencies: Vec<Latency>,
    /// The size of each query's reply, encoded.
    reply_bytes: Vec<usize>,
    mismatches: Vec<String>,
}

async fn over_grpc(
    root: &Path,
    events: u64,
    queries: &[(&str, Query)],
    tables: &[Table],
    runs: usize,
    budget: Duration,
) -> Result<Grpc, BoxError> {
    let data_dir = root.join("node");
    // The node's projections start from nothing, as after `rebuild`: its catch-up is timed too.
    let projections = data_dir.join("projections");
    if projections.exists() {
        std::fs::remove_dir_all(&projections)?;
    }
    let config = imece_server::Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir,
        node: "bench".into(),
        tls: None,
        reference: Default::default(),
        federation: Default::default(),
        log: Default::default(),
        tokens: vec![TokenConfig {
            token: TOKEN.into(),
            name: "analyst".into(),
            role: RoleConfig::Analyst,
            scope: vec![],
        }],
    };
    eprintln!("gRPC: starting a node on the same log; waiting until its projections hold every event ...");
    let started = Instant::now();
    let node = imece_server::Node::bind(config).await?;
    let addr = node.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(node.serve(async {
        let _ = stopped.await;
    }));
    let bearer: MetadataValue<Ascii> = format!("Bearer {TOKEN}").parse()?;
    let mut client = IndicatorsClient::new(Channel::from_shared(format!("http://{addr}"))?.connect().await?);
    let request = |id: &str, min_position: Option<u64>| {
        let mut r = tonic::Request::new(pb::QueryIndicatorRequest {
            indicator: id.to_owned(),
            filters: vec![],
            group_by: vec!["city".into()],
            year_from: FIRST_YEAR,
            year_to: Some(LAST_YEAR),
            convert_to: None,
            consistency: Some(pb::Consistency { min_position, timeout_ms: 60_000 }),
        });
        r.metadata_mut().insert("authorization", bearer.clone());
        r
    };
    let last = events - 1;
    loop {
        match client.query_indicator(request("members", Some(last))).await {
            Ok(_) => break,
            Err(s) if s.code() == tonic::Code::DeadlineExceeded || s.code() == tonic::Code::Unavailable => {
                eprintln!("  still catching up after {:.0} s ...", started.elapsed().as_secs_f64());
            }
            Err(s) => return Err(format!("the node's projections did not reach the head: {s}").into()),
        }
    }
    let mut out = Grpc { catch_up: started.elapsed().as_secs_f64(), ..Grpc::default() };
    eprintln!("  caught up (and built its cube) in {:.1} s", out.catch_up);

    for ((id, _), table) in queries.iter().zip(tables) {
        eprintln!("gRPC: {id} by city, {FIRST_YEAR}–{LAST_YEAR}, {runs} sequential calls ...");
        let (reply, times) = time_runs(runs, budget, || {
            let mut client = client.clone();
            let r = request(id, None);
            async move { client.query_indicator(r).await.map(tonic::Response::into_inner) }
        })
        .await?;
        out.latencies.push(Latency::of(times));
        out.reply_bytes.push(prost::Message::encoded_len(&reply));
        // The API's table is the in-process one, converted: the same rows and cells.
        let expected = imece_server::indicators_service::table(table, reply.as_of_position);
        if expected.rows != reply.rows {
            let differing = expected.rows.iter().zip(&reply.rows).filter(|(a, b)| a != b).count();
            out.mismatches.push(format!(
                "{id} over gRPC: {} rows against {} in process, {differing} of them differ",
                reply.rows.len(),
                expected.rows.len()
            ));
        }
    }
    let _ = stop.send(());
    serving.await??;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Report

fn memory_gib() -> Option<f64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: f64 = info.lines().find(|l| l.starts_with("MemTotal:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0 / 1024.0)
}

fn print_head(args: &Args, registry: &Registry) {
    let build = if cfg!(debug_assertions) { "debug" } else { "release" };
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = memory_gib().map_or(String::new(), |g| format!(" · {g:.0} GiB"));
    println!(
        "imece-bench indicators · {build} build · {cpus} CPUs{memory} · SQLite {} · {} organisations, {} events",
        rusqlite::version(),
        count(f64::from(args.organisations)),
        count(registry.events as f64)
    );
    println!();
    println!("| scenario | imece | SQLite | ratio (SQLite / imece) | target | met? |");
    println!("|---|---|---|---|---|---|");
}

fn print_replay_rows(registry: &Registry, replay: &Replay) {
    let rate = registry.events as f64 / replay.both;
    println!(
        "| replay the whole log into every projection (indicators + directory) | {} events/s | — | — | ≥ 2,000,000 events/s | {} |",
        count(rate),
        verdict(&[("rate", rate >= 2_000_000.0)])
    );
    for (name, secs) in [("indicators", replay.facts_alone), ("directory", replay.directory_alone)] {
        if let Some(secs) = secs {
            println!(
                "| replay into {name} alone | {} events/s | — | — | — | — |",
                count(registry.events as f64 / secs)
            );
        }
    }
    println!("| build the cube from the facts | {:.2} s | — | — | — | — |", replay.cube_build);
}

#[allow(clippy::too_many_arguments)]
fn print_report(
    args: &Args,
    registry: &Registry,
    replay: &Replay,
    queries: &[(&str, Query)],
    tables: &[Table],
    in_process: &[Latency],
    peer: &[(Latency, usize, usize)],
    grpc: &Grpc,
) {
    print_head(args, registry);
    print_replay_rows(registry, replay);
    for (i, (id, _)) in queries.iter().enumerate() {
        let (sql, _, _) = peer[i];
        for (place, ours, limit) in [
            ("in process", in_process[i], Duration::from_millis(1)),
            ("over gRPC", grpc.latencies[i], Duration::from_millis(5)),
        ] {
            println!(
                "| {id} by city, {FIRST_YEAR}–{LAST_YEAR}, {place}, p99 | {} | {} | {:.1}× | < {} p99 | {} |",
                ms(ours.p99),
                ms(sql.p99),
                sql.p99.as_secs_f64() / ours.p99.as_secs_f64(),
                ms(limit),
                verdict(&[("p99", ours.p99 < limit)])
            );
        }
    }
    println!();
    print_replay_notes(args, registry, replay);
    println!(
        "- node: started on the same log with no snapshots, its projections at the head and its cube built after {:.1} s",
        grpc.catch_up
    );
    for (i, (id, _)) in queries.iter().enumerate() {
        let cells = tables[i].rows.iter().filter(|r| r.kind == RowKind::Cell).count();
        let suppressed =
            tables[i].rows.iter().filter(|r| r.kind == RowKind::Cell && r.cell.suppressed.is_some()).count();
        let (sql, groups, compared) = peer[i];
        println!(
            "- {id}: {cells} cells ({suppressed} suppressed by the default disclosure rules), {groups} groups by SQL, {compared} published cells compared with them; in process p50 {} p99 {} max {} ({} runs); gRPC p50 {} p99 {} max {} ({} runs, replies of {} kB); SQLite p50 {} p99 {} max {} ({} runs)",
            ms(in_process[i].p50),
            ms(in_process[i].p99),
            ms(in_process[i].max),
            in_process[i].runs,
            ms(grpc.latencies[i].p50),
            ms(grpc.latencies[i].p99),
            ms(grpc.latencies[i].max),
            grpc.latencies[i].runs,
            grpc.reply_bytes[i] / 1000,
            ms(sql.p50),
            ms(sql.p99),
            ms(sql.max),
            sql.runs
        );
    }
}

fn print_replay_notes(args: &Args, registry: &Registry, replay: &Replay) {
    let every = args.snapshot_every.unwrap_or(Options::default().snapshot_every_events);
    let snapshots = format!("the projectors storing a snapshot every {} events", count(every as f64));
    match registry.generated_in {
        Some(secs) => println!(
            "- registry: generated in this run in {secs:.0} s ({} events into the embedded log by {} writers in appends of up to {EVENTS_PER_APPEND}, {} rows into SQLite beside it)",
            count(registry.events as f64),
            args.writers,
            count(registry.sql_rows as f64)
        ),
        None => println!(
            "- registry: reused from an earlier run ({} events, {} rows in SQLite)",
            count(registry.events as f64),
            count(registry.sql_rows as f64)
        ),
    }
    let alone: Vec<String> = [("indicators", replay.facts_alone), ("directory", replay.directory_alone)]
        .into_iter()
        .filter_map(|(name, secs)| secs.map(|s| format!("{name} alone {s:.1} s")))
        .collect();
    let alone = if alone.is_empty() { String::new() } else { format!("; {}", alone.join(", ")) };
    println!(
        "- replay: both projections from position 0 to the head in {:.1} s, {snapshots}{alone}; the facts encode to {:.0} MB",
        replay.both,
        replay.facts_snapshot_bytes as f64 / 1e6
    );
}

/// With `--replay-only`: the replay's rows and notes.
fn print_replay(args: &Args, registry: &Registry, replay: &Replay) {
    print_head(args, registry);
    print_replay_rows(registry, replay);
    println!();
    print_replay_notes(args, registry, replay);
}
