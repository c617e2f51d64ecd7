//! Measures the indicators on a synthetic registry: how fast [`Facts`] folds the log (events/s),
//! how long building the [`Cube`] takes, and the latency of queries grouped by city and year.
//!
//! ```sh
//! cargo run --release -p imece-indicators --example throughput            # 100,000 organisations, 10 million events
//! cargo run --release -p imece-indicators --example throughput -- 10000   # a smaller registry
//! cargo run --release -p imece-indicators --example throughput -- 30000 fold                     # the fold alone, 3 times
//! cargo run --release -p imece-indicators --example throughput -- 100000 profile=active_entities # one query by city, for perf
//! cargo run --release -p imece-indicators --example throughput -- 20000 check  # checksums of a grid of tables
//! ```
//!
//! `check` answers every indicator grouped seven ways, for one year and a series, filtered,
//! converted, with and without disclosure control, on a registry where some organisations keep
//! their accounts in CHF and some cities lack population figures, and prints an FNV checksum of
//! the debug form of each indicator's tables: a change meant to be invisible keeps them equal.
//!
//! Events are generated organisation by organisation in batches and only `apply` is timed, so the
//! figure is the fold's own cost, JSON decoding included.

use std::time::{Duration, Instant};

use bytes::Bytes;
use imece_domain::time::{Date, Month};
use imece_domain::*;
use imece_indicators::{
    Area, AreaScheme, Cube, CubeOptions, Dimension, Disclosure, Facts, NaceLevel, Query, Rate, ReferenceData,
};
use imece_log::{EventId, RecordedEvent, StreamId};
use imece_projections::Projection;

const CITIES: u32 = 8_000;

fn d(y: i32, m: u8, day: u8) -> Date {
    Date::from_calendar_date(y, Month::try_from(m).unwrap(), day).unwrap()
}

/// A deterministic generator of small numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u32) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % u64::from(n)) as u32
    }
}

struct Generator {
    rng: Rng,
    ids: u128,
    position: u64,
    /// Every seventh organisation keeps its accounts in CHF (only for `check`).
    mixed: bool,
}

impl Generator {
    fn uuid(&mut self) -> uuid::Uuid {
        self.ids += 1;
        uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + self.ids)
    }

    /// About 100 events of one organisation.
    fn organisation(&mut self, n: u32, out: &mut Vec<RecordedEvent>) {
        let org = OrgId::from_uuid(self.uuid());
        let stream = StreamId::new(org.stream_name()).unwrap();
        let mut events: Vec<Event> = Vec::with_capacity(110);
        let city = self.rng.next(CITIES);
        let registered = d(2015 + self.rng.next(8) as i32, 1 + self.rng.next(12) as u8, 1 + self.rng.next(28) as u8);
        events.push(
            OrganisationRegistered {
                organisation: org,
                occurred_on: registered,
                founded_on: registered,
                names: Names::legal(format!("Cooperative {n}")),
                family: Family::Cooperative,
                legal_form: LegalForm { elf: None, national: "società cooperativa".into() },
                cooperative_type: Some(CooperativeType::Worker),
                business_model: None,
                external_ids: vec![],
                seat: Seat {
                    country: CountryCode::IT,
                    lau: Code::lau(&format!("IT_{:06}", city), "2021").unwrap(),
                    nuts3: Code::nuts(&format!("IT{:03}", city / 50), "2021").unwrap(),
                    address: None,
                },
                activity: Activity {
                    primary: Code::nace(&format!("{:02}.{:02}", 1 + self.rng.next(96), self.rng.next(99)), "2")
                        .unwrap(),
                    secondary: vec![],
                },
                fiscal_year_end: FiscalYearEnd::DECEMBER_31,
                founders: 9,
                subscribed_capital: None,
            }
            .into(),
        );
        events.push(
            StatuteAmended {
                occurred_on: registered,
                assembly: None,
                voting_rule: VotingRule::OneMemberOneVote,
                max_votes_per_member: 1,
                proxy_limit: 1,
                min_share_value: None,
                indivisible_reserve_clause: true,
            }
            .into(),
        );
        let mut memberships = Vec::new();
        let mut persons = Vec::new();
        for _ in 0..35 {
            let person = PersonRef::from_uuid(self.uuid());
            let on = d(registered.year() + self.rng.next(3) as i32, 1 + self.rng.next(12) as u8, 1);
            let sex = if self.rng.next(2) == 0 { Sex::Female } else { Sex::Male };
            events.push(
                PersonEnrolled {
                    occurred_on: on,
                    person,
                    person_kind: PersonKind::Natural {
                        sex,
                        birth_year: Some(1950 + self.rng.next(55) as u16),
                        personal_data: SealedPersonalData {
                            key_id: KeyId::from_uuid(self.uuid()),
                            algorithm: "XChaCha20-Poly1305".into(),
                            nonce: vec![7; 24],
                            ciphertext: (0..64).collect(),
                        },
                    },
                }
                .into(),
            );
            let membership = MembershipId::from_uuid(self.uuid());
            events.push(
                MemberAdmitted {
                    occurred_on: on,
                    membership,
                    person,
                    category: MemberCategory::Worker,
                    shares: 1,
                    subscribed_capital: Money::parse("100", Currency::EUR).unwrap(),
                }
                .into(),
            );
            memberships.push((membership, on));
            persons.push(person);
        }
        for (membership, on) in memberships.iter().take(5) {
            events.push(
                CapitalPaidIn {
                    occurred_on: *on,
                    membership: *membership,
                    amount: Money::parse("100", Currency::EUR).unwrap(),
                }
                .into(),
            );
        }
        for (membership, _) in memberships.iter().skip(30) {
            events.push(
                MemberLeft {
                    occurred_on: d(2024, 1 + self.rng.next(12) as u8, 1),
                    membership: *membership,
                    reason: ExitReason::Withdrawal,
                    refund: None,
                    appealed: false,
                }
                .into(),
            );
        }
        for p in persons.iter().take(3) {
            events.push(
                OrganMemberChanged {
                    occurred_on: d(2023, 5, 1),
                    organ: Organ::Board,
                    person: *p,
                    change: SeatChange::Elected,
                }
                .into(),
            );
        }
        events.push(
            OrganElected {
                occurred_on: d(2023, 5, 1),
                organ: Organ::Board,
                assembly: None,
                term_from: d(2023, 5, 1),
                term_until: Some(d(2026, 5, 1)),
                seats: 3,
                candidates: 3 + self.rng.next(4),
                women_elected: Some(self.rng.next(4)),
                under_30_elected: Some(0),
                new_holders: Some(1),
            }
            .into(),
        );
        for year in 2020..=2024 {
            let eligible = 30 + self.rng.next(5);
            events.push(
                GeneralAssemblyHeld {
                    occurred_on: d(year, 4, 20),
                    assembly: AssemblyId::from_uuid(self.uuid()),
                    eligible,
                    present: self.rng.next(eligible),
                    present_online: None,
                    proxies: self.rng.next(3),
                    present_women: None,
                    present_under_30: None,
                    max_proxies_per_holder: None,
                    quorum_met: true,
                }
                .into(),
            );
            let currency = if self.mixed && n % 7 == 3 { Currency::CHF } else { Currency::EUR };
            let eur = |v: u32| Some(Money::new(v.into(), currency));
            events.push(
                AnnualAccountsApproved {
                    occurred_on: d(year + 1, 4, 20),
                    fiscal_year: year,
                    assembly: None,
                    currency,
                    figures: Figures {
                        turnover: eur(100_000 + self.rng.next(1_000_000)),
                        member_turnover: eur(50_000),
                        personnel_costs: eur(40_000),
                        member_labour_costs: eur(30_000),
                        purchases: eur(20_000),
                        purchases_from_members: eur(5_000),
                        purchases_from_social_economy: eur(4_000),
                        net_result: Money::new(10_000.into(), currency),
                        total_assets: eur(200_000),
                        equity: eur(50_000),
                        share_capital: eur(3_500),
                        indivisible_reserves: eur(20_000),
                    },
                    workforce: Workforce {
                        employees: Some(self.rng.next(20)),
                        fte_hundredths: Some(self.rng.next(2000)),
                        employees_women: Some(self.rng.next(10)),
                        workers: Some(20),
                        worker_members: Some(self.rng.next(20)),
                        disadvantaged_workers: None,
                        volunteers: None,
                    },
                }
                .into(),
            );
            events.push(
                SurplusAllocated {
                    occurred_on: d(year + 1, 4, 20),
                    fiscal_year: year,
                    assembly: None,
                    surplus: Money::new(10_000.into(), Currency::EUR),
                    items: vec![
                        SurplusItem {
                            kind: SurplusKind::LegalReserve,
                            amount: Money::new(3_000.into(), Currency::EUR),
                        },
                        SurplusItem { kind: SurplusKind::MutualFund, amount: Money::new(300.into(), Currency::EUR) },
                        SurplusItem {
                            kind: SurplusKind::IndivisibleReserve,
                            amount: Money::new(6_700.into(), Currency::EUR),
                        },
                    ],
                    capital_interest: None,
                    beneficiaries: None,
                }
                .into(),
            );
        }
        events.push(
            AffiliationChanged {
                occurred_on: registered,
                federation: Federation { name: "Legacoop".into(), organisation: None, external_id: None },
                change: AffiliationChange::Joined,
            }
            .into(),
        );
        for (version, e) in events.iter().enumerate() {
            let encoded = e.encode().unwrap();
            out.push(RecordedEvent {
                position: self.position,
                stream: stream.clone(),
                version: version as u64,
                id: EventId::new_v7(),
                event_type: encoded.event_type,
                data: Bytes::from(encoded.data),
                metadata: Bytes::new(),
                recorded_at_micros: 0,
            });
            self.position += 1;
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// FNV-1a over the debug form of every table (or error) of a grid of queries: equal checksums
/// before and after a change to the query code mean identical answers.
fn check(orgs: u32) {
    let mut generator = Generator { rng: Rng(0x9E37_79B9_7F4A_7C15), ids: 0, position: 0, mixed: true };
    let mut facts = Facts::empty();
    let mut log = Vec::new();
    for n in 0..orgs {
        generator.organisation(n, &mut log);
    }
    for e in &log {
        facts.apply(e).unwrap();
    }
    let cube = Cube::build(&facts, CubeOptions::default());
    let mut reference = ReferenceData::default();
    for year in 2015..=2025 {
        for city in (0..CITIES).filter(|c| c % 3 != 0) {
            let area = Area { scheme: AreaScheme::Lau, code: format!("IT_{city:06}"), version: "2021".into() };
            reference.population.insert(area.clone(), year, u64::from(1_000 + city * 7));
            reference.employment.insert(area, year, u64::from(500 + city * 3));
        }
        for nuts in 0..CITIES / 50 {
            let area = Area { scheme: AreaScheme::Nuts, code: format!("IT{nuts:03}"), version: "2021".into() };
            reference.population.insert(area.clone(), year, u64::from(50_000 + nuts));
            reference.employment.insert(area, year, u64::from(20_000 + nuts));
        }
        reference.rates.insert(Rate {
            date: d(year, 12, 30),
            base: Currency::CHF,
            quote: Currency::EUR,
            rate: "1.0625".parse().unwrap(),
            source: "test".into(),
        });
    }
    let hash = |h: &mut u64, text: &str| {
        for b in text.bytes() {
            *h = (*h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    let groupings: [&[Dimension]; 7] = [
        &[],
        &[Dimension::City],
        &[Dimension::Nuts3],
        &[Dimension::Sector(NaceLevel::Section)],
        &[Dimension::Nuts3, Dimension::Sector(NaceLevel::Division)],
        &[Dimension::Country, Dimension::Nuts3, Dimension::City],
        &[Dimension::Sector(NaceLevel::Section), Dimension::Family, Dimension::LegalForm],
    ];
    let mut all = 0xcbf2_9ce4_8422_2325u64;
    for indicator in imece_indicators::CATALOGUE {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for by in groupings {
            for disclosure in [Disclosure::default(), Disclosure::UNPROTECTED] {
                let mut queries = vec![
                    Query::new(indicator.id, 2024).group_by(by),
                    Query::new(indicator.id, 2024).years(2016, 2025).group_by(by),
                ];
                queries.push(
                    Query::new(indicator.id, 2023).group_by(by).filter(Dimension::Nuts3, &["IT001", "IT002", "IT017"]),
                );
                queries.push(Query::new(indicator.id, 2024).converted(Currency::EUR).group_by(by));
                queries.push(Query::new(indicator.id, 2024).converted(Currency::CHF).group_by(by));
                for q in queries {
                    let answer = cube.query(&q, &reference, &disclosure).map(|t| t.rows);
                    hash(&mut h, &format!("{answer:?}"));
                }
            }
        }
        println!("check {:<40} {h:016x}", indicator.id);
        hash(&mut all, &format!("{h:x}"));
    }
    println!("check all {all:016x}");
}

fn main() {
    let orgs: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    if std::env::args().nth(2).as_deref() == Some("check") {
        check(orgs);
        return;
    }
    let mut generator = Generator { rng: Rng(0x9E37_79B9_7F4A_7C15), ids: 0, position: 0, mixed: false };
    let mut facts = Facts::empty();
    let mut batch = Vec::with_capacity(110_000);
    let mut applying = Duration::ZERO;
    let mut bytes = 0usize;
    for start in (0..orgs).step_by(1_000) {
        batch.clear();
        for n in start..(start + 1_000).min(orgs) {
            generator.organisation(n, &mut batch);
        }
        bytes += batch.iter().map(|e| e.data.len()).sum::<usize>();
        let t = Instant::now();
        for e in &batch {
            facts.apply(e).unwrap();
        }
        applying += t.elapsed();
    }
    let events = generator.position;
    println!(
        "fold: {events} events ({:.0} MB of JSON) of {orgs} organisations in {:.2} s: {:.0} events/s",
        bytes as f64 / 1e6,
        applying.as_secs_f64(),
        events as f64 / applying.as_secs_f64()
    );

    if std::env::args().nth(2).as_deref() == Some("fold") {
        // For profiling the fold alone: the whole log in memory, folded three times.
        let mut generator = Generator { rng: Rng(0x9E37_79B9_7F4A_7C15), ids: 0, position: 0, mixed: false };
        let mut log = Vec::new();
        for n in 0..orgs {
            generator.organisation(n, &mut log);
        }
        for _ in 0..3 {
            let mut facts = Facts::empty();
            let t = Instant::now();
            for e in &log {
                facts.apply(e).unwrap();
            }
            println!("fold only: {:.0} events/s", log.len() as f64 / t.elapsed().as_secs_f64());
        }
        return;
    }
    let t = Instant::now();
    let cube = Cube::build(&facts, CubeOptions::default());
    println!("cube: built in {:.2} s", t.elapsed().as_secs_f64());

    let reference = ReferenceData::default();
    let disclosure = Disclosure::default();
    if let Some(id) = std::env::args().nth(2).as_deref().and_then(|a| a.strip_prefix("profile=")) {
        // For profiling one query by city alone.
        let query = Query::new(id, 2024).group_by(&[Dimension::City]);
        let (mut querying, mut dropping) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..1_000 {
            let t = Instant::now();
            let table = std::hint::black_box(cube.query(&query, &reference, &disclosure).unwrap());
            querying += t.elapsed();
            let t = Instant::now();
            drop(table);
            dropping += t.elapsed();
        }
        println!(
            "{id} by city: query {:?}, drop {:?} (row {} bytes)",
            querying / 1_000,
            dropping / 1_000,
            std::mem::size_of::<imece_indicators::Row>()
        );
        return;
    }
    let cases = [
        ("active_entities", &[][..]),
        ("assembly_participation", &[][..]),
        ("active_entities", &[Dimension::City][..]),
        ("members", &[Dimension::City][..]),
        ("assembly_participation", &[Dimension::City][..]),
        ("women_share_members", &[Dimension::City][..]),
        ("turnover", &[Dimension::City][..]),
    ];
    for (id, by) in cases {
        let query = Query::new(id, 2024).group_by(by);
        let mut times = Vec::with_capacity(1_000);
        let mut rows = 0;
        for _ in 0..1_000 {
            let t = Instant::now();
            let table = cube.query(&query, &reference, &disclosure).unwrap();
            times.push(t.elapsed());
            rows = table.rows.len();
        }
        times.sort();
        println!(
            "query {id} by {by:?}, 2024: {rows} rows; p50 {:?}, p99 {:?}, max {:?}",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times[times.len() - 1]
        );
    }
}
