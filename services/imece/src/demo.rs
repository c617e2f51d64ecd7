//! `imece demo`: a realistic sample of the partner network — cooperatives of İzmir, Reggio Emilia,
//! Leverano and Marseille with their members, assemblies, board elections, accounts and surplus
//! allocations over several years, in TRY and EUR — loaded through the public gRPC API.
//!
//! The sample is deterministic (a seeded generator), so every node that loads it holds the same
//! registry. Names of persons are invented; they are sealed by the node like any personal data.

use imece_proto::v1 as pb;
use uuid::Uuid;

/// One city of the network, as the sample places organisations in it.
struct City {
    name: &'static str,
    country: &'static str,
    lau: &'static str,
    nuts3: &'static str,
    currency: &'static str,
    legal_form: &'static str,
    coops: &'static [Coop],
    first_names: &'static [(&'static str, bool)],
    surnames: &'static [&'static str],
}

struct Coop {
    name: &'static str,
    kind: pb::CooperativeType,
    nace: &'static str,
    founded: i32,
    members: u32,
}

const CITIES: &[City] = &[
    City {
        name: "İzmir",
        country: "TR",
        lau: "TR_35",
        nuts3: "TR310",
        currency: "TRY",
        legal_form: "kooperatif",
        coops: &[
            Coop {
                name: "Tire Süt Üreticileri Kooperatifi",
                kind: pb::CooperativeType::Producer,
                nace: "10.51",
                founded: 2014,
                members: 42,
            },
            Coop {
                name: "Bayraklı Mahalle Bostanı Kooperatifi",
                kind: pb::CooperativeType::ConsumerUser,
                nace: "01.13",
                founded: 2019,
                members: 23,
            },
            Coop {
                name: "Karşıyaka Kadın Emeği Kooperatifi",
                kind: pb::CooperativeType::Worker,
                nace: "14.19",
                founded: 2017,
                members: 16,
            },
        ],
        first_names: &[
            ("Ayşe", true),
            ("Fatma", true),
            ("Zeynep", true),
            ("Elif", true),
            ("Mehmet", false),
            ("Ali", false),
            ("Mustafa", false),
            ("Emre", false),
        ],
        surnames: &["Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Aydın", "Öztürk", "Arslan"],
    },
    City {
        name: "Reggio nell'Emilia",
        country: "IT",
        lau: "IT_035033",
        nuts3: "ITH53",
        currency: "EUR",
        legal_form: "società cooperativa",
        coops: &[
            Coop {
                name: "Cooperativa Sociale Reggiana",
                kind: pb::CooperativeType::MultiStakeholder,
                nace: "88.99",
                founded: 2008,
                members: 38,
            },
            Coop {
                name: "Cooperativa Edile Lavoratori Reggiani",
                kind: pb::CooperativeType::Worker,
                nace: "41.20",
                founded: 2011,
                members: 27,
            },
            Coop {
                name: "Coop Consumo Val d'Enza",
                kind: pb::CooperativeType::ConsumerUser,
                nace: "47.11",
                founded: 2015,
                members: 55,
            },
        ],
        first_names: &[
            ("Giulia", true),
            ("Francesca", true),
            ("Chiara", true),
            ("Sara", true),
            ("Marco", false),
            ("Luca", false),
            ("Andrea", false),
            ("Matteo", false),
        ],
        surnames: &["Rossi", "Ferrari", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco"],
    },
    City {
        name: "Leverano",
        country: "IT",
        lau: "IT_075037",
        nuts3: "ITF45",
        currency: "EUR",
        legal_form: "società cooperativa agricola",
        coops: &[
            Coop {
                name: "Cooperativa Agricola Leveranese",
                kind: pb::CooperativeType::Producer,
                nace: "01.21",
                founded: 2010,
                members: 31,
            },
            Coop {
                name: "Fiori del Salento",
                kind: pb::CooperativeType::Producer,
                nace: "01.19",
                founded: 2016,
                members: 18,
            },
            Coop {
                name: "Cantina Sociale Leverano",
                kind: pb::CooperativeType::Producer,
                nace: "11.02",
                founded: 2008,
                members: 36,
            },
        ],
        first_names: &[
            ("Anna", true),
            ("Maria", true),
            ("Rosa", true),
            ("Lucia", true),
            ("Antonio", false),
            ("Giuseppe", false),
            ("Salvatore", false),
            ("Cosimo", false),
        ],
        surnames: &["De Matteis", "Perrone", "Greco", "Quarta", "Mazzotta", "Leo", "Zecca", "Rizzo"],
    },
    City {
        name: "Marseille",
        country: "FR",
        lau: "FR_13055",
        nuts3: "FRL04",
        currency: "EUR",
        legal_form: "SCOP SA",
        coops: &[
            Coop {
                name: "SCOP Massilia Numérique",
                kind: pb::CooperativeType::Worker,
                nace: "62.01",
                founded: 2013,
                members: 21,
            },
            Coop {
                name: "Coopérative du Panier",
                kind: pb::CooperativeType::ConsumerUser,
                nace: "56.10",
                founded: 2018,
                members: 29,
            },
            Coop {
                name: "Les Jardins de la Belle de Mai",
                kind: pb::CooperativeType::Worker,
                nace: "81.30",
                founded: 2015,
                members: 19,
            },
        ],
        first_names: &[
            ("Camille", true),
            ("Léa", true),
            ("Manon", true),
            ("Inès", true),
            ("Karim", false),
            ("Lucas", false),
            ("Hugo", false),
            ("Nicolas", false),
        ],
        surnames: &["Martin", "Bernard", "Durand", "Benali", "Moreau", "Laurent", "Garcia", "Mercier"],
    },
];

/// The last fiscal year the sample records.
const LAST_YEAR: i32 = 2025;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn uuid(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(((u128::from(self.next())) << 64 | u128::from(self.next())).to_be_bytes())
            .into_uuid()
    }
}

fn money(cents: i64, currency: &str) -> Option<pb::Money> {
    Some(pb::Money { amount: format!("{}.{:02}", cents / 100, (cents % 100).abs()), currency: currency.to_owned() })
}

fn code(code: &str, version: &str) -> Option<pb::Code> {
    Some(pb::Code { code: code.to_owned(), version: version.to_owned() })
}

/// An organisation of the sample, as loaded.
#[derive(Clone, Debug)]
pub struct SampleOrganisation {
    pub id: Uuid,
    pub name: &'static str,
    pub city: &'static str,
}

/// The whole sample: the import items in the order they must be applied, and the organisations.
#[derive(Debug)]
pub struct Sample {
    pub items: Vec<pb::ImportRequest>,
    pub organisations: Vec<SampleOrganisation>,
}

/// Builds the sample from `seed`.
pub fn partner_network(seed: u64) -> Sample {
    use pb::import_request::Command as C;
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut items = Vec::new();
    let mut organisations = Vec::new();
    for city in CITIES {
        for coop in city.coops {
            let org = rng.uuid();
            organisations.push(SampleOrganisation { id: org, name: coop.name, city: city.name });
            let header = |rng: &mut Rng| {
                Some(pb::CommandHeader {
                    request_id: rng.uuid().to_string(),
                    expected_version: None,
                    organisation_id: org.to_string(),
                })
            };
            let cur = city.currency;
            // A share is worth 100 of the currency in Italy and France, 1,000 in Türkiye.
            let share = if cur == "TRY" { 100_000 } else { 10_000 };
            let founded = format!("{}-03-01", coop.founded);
            items.push(C::RegisterOrganisation(pb::RegisterOrganisationRequest {
                header: header(&mut rng),
                occurred_on: format!("{}-03-20", coop.founded),
                founded_on: founded.clone(),
                names: Some(pb::Names { legal: coop.name.to_owned(), by_language: Default::default() }),
                family: pb::Family::Cooperative as i32,
                legal_form: Some(pb::LegalForm { elf: None, national: city.legal_form.to_owned() }),
                cooperative_type: Some(coop.kind as i32),
                business_model: None,
                external_ids: vec![],
                seat: Some(pb::Seat {
                    country: city.country.to_owned(),
                    lau: code(city.lau, "2021"),
                    nuts3: code(city.nuts3, "2021"),
                    address: None,
                }),
                activity: Some(pb::Activity { primary: code(coop.nace, "2"), secondary: vec![] }),
                fiscal_year_end: Some(pb::FiscalYearEnd { month: 12, day: 31 }),
                founders: coop.members.clamp(7, 12),
                subscribed_capital: money(i64::from(coop.members.clamp(7, 12)) * share, cur),
            }));
            for m in 0..coop.members {
                let person = rng.uuid();
                let (first, woman) = city.first_names[rng.below(city.first_names.len() as u64) as usize];
                let surname = city.surnames[rng.below(city.surnames.len() as u64) as usize];
                // Founders join on the founding day; the others over the years since.
                let joined = if m < 7 { coop.founded } else { rng.between(coop.founded as u64, 2024) as i32 };
                let day = format!("{joined}-{:02}-{:02}", rng.between(4, 11), rng.between(1, 28));
                items.push(C::EnrolPerson(pb::EnrolPersonRequest {
                    header: header(&mut rng),
                    occurred_on: day.clone(),
                    person: person.to_string(),
                    person_kind: Some(pb::PersonKind {
                        kind: Some(pb::person_kind::Kind::Natural(pb::person_kind::Natural {
                            sex: if woman { pb::Sex::Female } else { pb::Sex::Male } as i32,
                            birth_year: Some(rng.between(1955, 2002) as u32),
                            personal_data: Some(pb::PersonalData {
                                full_name: format!("{first} {surname}"),
                                email: format!("member{m}@example.org"),
                                ..Default::default()
                            }),
                        })),
                    }),
                }));
                let shares = rng.between(1, 5) as u32;
                let category = match coop.kind {
                    pb::CooperativeType::Worker => pb::MemberCategory::Worker,
                    pb::CooperativeType::Producer => pb::MemberCategory::Producer,
                    _ if rng.below(5) == 0 => pb::MemberCategory::Worker,
                    _ => pb::MemberCategory::User,
                };
                items.push(C::AdmitMember(pb::AdmitMemberRequest {
                    header: header(&mut rng),
                    occurred_on: day,
                    membership: rng.uuid().to_string(),
                    person: person.to_string(),
                    category: category as i32,
                    shares,
                    subscribed_capital: money(i64::from(shares) * share, cur),
                }));
            }
            for year in (coop.founded + 1).max(2021)..=LAST_YEAR {
                let assembly = rng.uuid().to_string();
                let meeting = format!("{}-04-{:02}", year + 1, rng.between(15, 28));
                items.push(C::ConveneAssembly(pb::ConveneAssemblyRequest {
                    header: header(&mut rng),
                    occurred_on: format!("{}-03-20", year + 1),
                    assembly: assembly.clone(),
                    kind: pb::AssemblyKind::Ordinary as i32,
                    fiscal_year: Some(year),
                    first_call: meeting.clone(),
                    second_call: None,
                    agenda: vec![pb::Topic::Accounts as i32, pb::Topic::SurplusAllocation as i32],
                }));
                // Members admitted so far, roughly: participation between a quarter and all of them.
                let eligible = coop.members.min(7 + (coop.members - 7) * ((year - coop.founded) as u32).min(8) / 8);
                let present = rng.between(u64::from(eligible / 4), u64::from(eligible)) as u32;
                let proxies =
                    if city.country == "TR" { rng.below(u64::from((eligible - present) / 3 + 1)) as u32 } else { 0 };
                items.push(C::RecordAssembly(pb::RecordAssemblyRequest {
                    header: header(&mut rng),
                    occurred_on: meeting.clone(),
                    assembly: assembly.clone(),
                    eligible,
                    present,
                    present_online: Some(rng.below(u64::from(present / 3 + 1)) as u32),
                    proxies,
                    present_women: Some(rng.below(u64::from(present + 1)) as u32),
                    present_under_30: Some(rng.below(u64::from(present / 4 + 1)) as u32),
                    max_proxies_per_holder: (proxies > 0).then_some(1),
                    quorum_met: true,
                }));
                if (year - coop.founded) % 3 == 1 {
                    let seats = if coop.members > 30 { 7 } else { 5 };
                    items.push(C::RecordElection(pb::RecordElectionRequest {
                        header: header(&mut rng),
                        occurred_on: meeting.clone(),
                        organ: pb::Organ::Board as i32,
                        assembly: Some(assembly.clone()),
                        term_from: meeting.clone(),
                        term_until: Some(format!("{}-04-30", year + 4)),
                        seats,
                        candidates: seats + rng.below(4) as u32,
                        women_elected: Some(rng.below(u64::from(seats + 1)) as u32),
                        under_30_elected: Some(rng.below(2) as u32),
                        new_holders: Some(rng.below(u64::from(seats + 1)) as u32),
                    }));
                }
                // Accounts: turnover grows with the members; TRY figures are nominal.
                let scale = if cur == "TRY" { 25 } else { 1 };
                let turnover = i64::from(coop.members) * 1_500_000 * scale * (1 + (year - 2020) as i64) / 4;
                let member_turnover = turnover * rng.between(40, 80) as i64 / 100;
                let personnel = turnover * rng.between(20, 45) as i64 / 100;
                let purchases = turnover * rng.between(20, 40) as i64 / 100;
                let net = turnover * rng.between(2, 9) as i64 / 100;
                let capital = i64::from(coop.members) * 3 * share;
                let reserves = turnover / 5;
                items.push(C::ApproveAccounts(pb::ApproveAccountsRequest {
                    header: header(&mut rng),
                    occurred_on: meeting.clone(),
                    fiscal_year: year,
                    assembly: Some(assembly.clone()),
                    currency: cur.to_owned(),
                    figures: Some(pb::Figures {
                        turnover: money(turnover, cur),
                        member_turnover: money(member_turnover, cur),
                        personnel_costs: money(personnel, cur),
                        member_labour_costs: money(personnel * rng.between(30, 90) as i64 / 100, cur),
                        purchases: money(purchases, cur),
                        purchases_from_members: money(purchases * rng.between(10, 60) as i64 / 100, cur),
                        purchases_from_social_economy: money(purchases * rng.between(0, 20) as i64 / 100, cur),
                        net_result: money(net, cur),
                        total_assets: money(turnover * 3 / 4, cur),
                        equity: money(capital + reserves, cur),
                        share_capital: money(capital, cur),
                        indivisible_reserves: money(reserves, cur),
                    }),
                    workforce: Some(pb::Workforce {
                        employees: Some(coop.members / 2 + 2),
                        fte_hundredths: Some((coop.members / 2 + 2) * 85),
                        employees_women: Some(coop.members / 4),
                        workers: Some(coop.members / 2 + 3),
                        worker_members: Some(coop.members / 3),
                        disadvantaged_workers: Some(0),
                        volunteers: Some(rng.below(6) as u32),
                    }),
                }));
                // The surplus: the legal reserve (IT ≥ 30 %, TR ≥ 10 %), Italy's 3 % to the mutual
                // fund, the rest between indivisible reserves and patronage refunds. Now and then a
                // real assembly keeps less than the law asks: recorded, with a finding.
                let short = rng.below(9) == 0;
                let legal = match (city.country, short) {
                    ("TR", false) => net * 12 / 100,
                    ("TR", true) => net * 6 / 100,
                    (_, false) => net * 30 / 100,
                    (_, true) => net * 20 / 100,
                };
                let mut items_ = vec![(pb::SurplusKind::LegalReserve, legal)];
                if city.country == "IT" {
                    items_.push((pb::SurplusKind::MutualFund, net * 3 / 100));
                }
                let rest = net - items_.iter().map(|(_, a)| a).sum::<i64>();
                let refund = rest * rng.between(0, 60) as i64 / 100;
                items_.push((pb::SurplusKind::PatronageRefund, refund));
                items_.push((pb::SurplusKind::IndivisibleReserve, rest - refund));
                items.push(C::AllocateSurplus(pb::AllocateSurplusRequest {
                    header: header(&mut rng),
                    occurred_on: meeting,
                    fiscal_year: year,
                    assembly: Some(assembly),
                    surplus: money(net, cur),
                    items: items_
                        .into_iter()
                        .filter(|(_, a)| *a > 0)
                        .map(|(kind, a)| pb::SurplusItem { kind: kind as i32, amount: money(a, cur) })
                        .collect(),
                    capital_interest: None,
                    beneficiaries: Some(coop.members),
                }));
            }
        }
    }
    Sample { items: items.into_iter().map(|c| pb::ImportRequest { command: Some(c) }).collect(), organisations }
}

/// Reference data for the sample's cities, so that the demo's indicators per inhabitant and its
/// conversions have figures to use. Approximate public figures, rounded, for the demonstration
/// only: a node in production loads its statistical office's and central bank's files.
pub mod reference {
    /// Population per municipality (LAU 2021) and year.
    pub const POPULATION: &str = "\
area_scheme,area_code,area_version,year,population
lau,TR_35,2021,2021,4425789
lau,TR_35,2021,2022,4462056
lau,TR_35,2021,2023,4479525
lau,TR_35,2021,2024,4493242
lau,TR_35,2021,2025,4505000
lau,IT_035033,2021,2021,170988
lau,IT_035033,2021,2022,171345
lau,IT_035033,2021,2023,171828
lau,IT_035033,2021,2024,172100
lau,IT_035033,2021,2025,172300
lau,IT_075037,2021,2021,13850
lau,IT_075037,2021,2022,13790
lau,IT_075037,2021,2023,13740
lau,IT_075037,2021,2024,13700
lau,IT_075037,2021,2025,13660
lau,FR_13055,2021,2021,870321
lau,FR_13055,2021,2022,873076
lau,FR_13055,2021,2023,877215
lau,FR_13055,2021,2024,879000
lau,FR_13055,2021,2025,881000
";

    /// Total employment per municipality (LAU 2021) and year.
    pub const EMPLOYMENT: &str = "\
area_scheme,area_code,area_version,year,employment
lau,TR_35,2021,2021,1752000
lau,TR_35,2021,2022,1801000
lau,TR_35,2021,2023,1838000
lau,TR_35,2021,2024,1850000
lau,TR_35,2021,2025,1862000
lau,IT_035033,2021,2021,79800
lau,IT_035033,2021,2022,80400
lau,IT_035033,2021,2023,81100
lau,IT_035033,2021,2024,81500
lau,IT_035033,2021,2025,81700
lau,IT_075037,2021,2021,4420
lau,IT_075037,2021,2022,4470
lau,IT_075037,2021,2023,4510
lau,IT_075037,2021,2024,4530
lau,IT_075037,2021,2025,4540
lau,FR_13055,2021,2021,358000
lau,FR_13055,2021,2022,362000
lau,FR_13055,2021,2023,366000
lau,FR_13055,2021,2024,368000
lau,FR_13055,2021,2025,370000
";

    /// Euro reference rates against the lira on the last business day of each year.
    pub const RATES: &str = "\
date,base,quote,rate,source
2021-12-31,EUR,TRY,15.2335,demo: approximate ECB euro reference rate
2022-12-30,EUR,TRY,19.9649,demo: approximate ECB euro reference rate
2023-12-29,EUR,TRY,32.6531,demo: approximate ECB euro reference rate
2024-12-31,EUR,TRY,36.7372,demo: approximate ECB euro reference rate
2025-12-31,EUR,TRY,50.2000,demo: approximate ECB euro reference rate
";

    /// Writes the three files into `dir` and returns the node's configuration of them.
    pub fn write(dir: &std::path::Path) -> std::io::Result<imece_server::config::ReferenceConfig> {
        std::fs::create_dir_all(dir)?;
        let mut config = imece_server::config::ReferenceConfig::default();
        for (name, text, slot) in [
            ("population.csv", POPULATION, &mut config.population),
            ("employment.csv", EMPLOYMENT, &mut config.employment),
            ("rates.csv", RATES, &mut config.rates),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text)?;
            *slot = Some(path);
        }
        Ok(config)
    }
}
