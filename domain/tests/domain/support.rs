//! Builders for histories and commands, and one sample of every event type.

use std::collections::BTreeMap;

use imece_domain::time::macros::date;
use imece_domain::*;
use uuid::Uuid;

pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0196_0000_0000_7000_8000_0000_0000_0000 | n)
}

pub fn org() -> OrgId {
    OrgId::from_uuid(id(1))
}

pub fn person(n: u128) -> PersonRef {
    PersonRef::from_uuid(id(0x100 + n))
}

pub fn membership(n: u128) -> MembershipId {
    MembershipId::from_uuid(id(0x200 + n))
}

pub fn assembly(n: u128) -> AssemblyId {
    AssemblyId::from_uuid(id(0x300 + n))
}

pub fn key(n: u128) -> KeyId {
    KeyId::from_uuid(id(0x400 + n))
}

pub fn agreement(n: u128) -> AgreementId {
    AgreementId::from_uuid(id(0x500 + n))
}

pub fn money(amount: &str, currency: Currency) -> Money {
    Money::parse(amount, currency).unwrap()
}

pub fn eur(amount: &str) -> Money {
    money(amount, Currency::EUR)
}

pub fn tl(amount: &str) -> Money {
    money(amount, Currency::TRY)
}

/// A producer cooperative in İzmir: founded 10 January 2020, registered 1 February 2020.
pub fn tr_coop() -> OrganisationRegistered {
    OrganisationRegistered {
        organisation: org(),
        occurred_on: date!(2020 - 02 - 01),
        founded_on: date!(2020 - 01 - 10),
        names: Names {
            legal: "Tire Süt Üreticileri Kooperatifi".into(),
            by_language: BTreeMap::from([(LanguageTag::new("en").unwrap(), "Tire Milk Producers".into())]),
        },
        family: Family::Cooperative,
        legal_form: LegalForm { elf: None, national: "kooperatif".into() },
        cooperative_type: Some(CooperativeType::Producer),
        business_model: None,
        external_ids: vec!["TR-VKN-1234567890".parse().unwrap()],
        seat: Seat {
            country: CountryCode::TR,
            lau: Code::lau("TR_35", "2021").unwrap(),
            nuts3: Code::nuts("TR310", "2021").unwrap(),
            address: None,
        },
        activity: Activity { primary: Code::nace("01.41", "2").unwrap(), secondary: vec![] },
        fiscal_year_end: FiscalYearEnd::DECEMBER_31,
        founders: 9,
        subscribed_capital: Some(tl("90000")),
    }
}

/// A social cooperative in Reggio Emilia: founded 2001, registered 15 March 2001.
pub fn it_coop() -> OrganisationRegistered {
    OrganisationRegistered {
        organisation: org(),
        occurred_on: date!(2001 - 03 - 15),
        founded_on: date!(2001 - 02 - 20),
        names: Names::legal("Cooperativa Sociale Il Cortile"),
        family: Family::Cooperative,
        legal_form: LegalForm {
            elf: Some(Code::new(Scheme::Elf, "8888", "1.5").unwrap()),
            national: "società cooperativa sociale".into(),
        },
        cooperative_type: Some(CooperativeType::MultiStakeholder),
        business_model: None,
        external_ids: vec![],
        seat: Seat {
            country: CountryCode::IT,
            lau: Code::lau("IT_035033", "2021").unwrap(),
            nuts3: Code::nuts("ITH53", "2021").unwrap(),
            address: Some("Via Roma 1".into()),
        },
        activity: Activity {
            primary: Code::nace("88.99", "2.1").unwrap(),
            secondary: vec![Code::nace("56.29", "2").unwrap()],
        },
        fiscal_year_end: FiscalYearEnd::DECEMBER_31,
        founders: 3,
        subscribed_capital: Some(eur("7500")),
    }
}

/// An association in Marseille: not a cooperative, so cooperative law does not apply.
pub fn fr_association() -> OrganisationRegistered {
    OrganisationRegistered {
        names: Names::legal("Les Jardins du Panier"),
        family: Family::Association,
        legal_form: LegalForm { elf: None, national: "association loi 1901".into() },
        cooperative_type: None,
        seat: Seat {
            country: CountryCode::FR,
            lau: Code::lau("FR_13055", "2021").unwrap(),
            nuts3: Code::nuts("FRL04", "2021").unwrap(),
            address: None,
        },
        founders: 2,
        subscribed_capital: None,
        external_ids: vec!["FR-RNA-W133000000".parse().unwrap()],
        ..tr_coop()
    }
}

pub fn sealed(n: u128) -> SealedPersonalData {
    SealedPersonalData {
        key_id: key(n),
        algorithm: "XChaCha20-Poly1305".into(),
        nonce: vec![7; 24],
        ciphertext: (0..48).collect(),
    }
}

pub fn enrolled(n: u128, sex: Sex, birth_year: u16, on: Date) -> Event {
    PersonEnrolled {
        occurred_on: on,
        person: person(n),
        person_kind: PersonKind::Natural { sex, birth_year: Some(birth_year), personal_data: sealed(n) },
    }
    .into()
}

pub fn admitted(n: u128, person_n: u128, on: Date, category: MemberCategory, capital: Money) -> Event {
    MemberAdmitted {
        occurred_on: on,
        membership: membership(n),
        person: person(person_n),
        category,
        shares: 2,
        subscribed_capital: capital,
    }
    .into()
}

pub fn convened(n: u128, on: Date) -> Event {
    GeneralAssemblyConvened {
        occurred_on: on,
        assembly: assembly(n),
        kind: AssemblyKind::Ordinary,
        fiscal_year: Some(on.year() - 1),
        first_call: on + imece_domain::time::Duration::days(20),
        second_call: None,
        agenda: vec![Topic::Accounts, Topic::SurplusAllocation],
    }
    .into()
}

pub fn held(n: u128, on: Date, eligible: u32, present: u32, proxies: u32) -> GeneralAssemblyHeld {
    GeneralAssemblyHeld {
        occurred_on: on,
        assembly: assembly(n),
        eligible,
        present,
        present_online: None,
        proxies,
        present_women: None,
        present_under_30: None,
        max_proxies_per_holder: None,
        quorum_met: true,
    }
}

pub fn statute(on: Date, proxy_limit: u32) -> StatuteAmended {
    StatuteAmended {
        occurred_on: on,
        assembly: None,
        voting_rule: VotingRule::OneMemberOneVote,
        max_votes_per_member: 1,
        proxy_limit,
        min_share_value: None,
        indivisible_reserve_clause: true,
    }
}

pub fn allocation(on: Date, fiscal_year: i32, surplus: Money, items: &[(SurplusKind, Money)]) -> SurplusAllocated {
    SurplusAllocated {
        occurred_on: on,
        fiscal_year,
        assembly: None,
        surplus,
        items: items.iter().map(|(kind, amount)| SurplusItem { kind: *kind, amount: *amount }).collect(),
        capital_interest: None,
        beneficiaries: None,
    }
}

pub fn accounts(on: Date, fiscal_year: i32, net_result: Money) -> AnnualAccountsApproved {
    AnnualAccountsApproved {
        occurred_on: on,
        fiscal_year,
        assembly: None,
        currency: net_result.currency,
        figures: Figures::net_result(net_result),
        workforce: Workforce::default(),
    }
}

pub fn dissolved(on: Date) -> Event {
    DissolutionResolved { occurred_on: on, kind: DissolutionKind::Voluntary, assembly: None, authority: None }.into()
}

/// One event of every type of the catalogue, with every optional field filled where it has one,
/// for round trips and the stored fixtures.
pub fn samples() -> Vec<Event> {
    let d = date!(2025 - 05 - 20);
    vec![
        it_coop().into(),
        RegisterEntryRecorded {
            occurred_on: d,
            register: Register::ItAlbo { section: AlboSection::Prevalent, category: "cooperative sociali".into() },
            entry_number: "A123456".into(),
            from: date!(2005 - 01 - 10),
            until: Some(date!(2030 - 01 - 10)),
        }
        .into(),
        StatuteAmended {
            assembly: Some(assembly(1)),
            voting_rule: VotingRule::Capped,
            max_votes_per_member: 5,
            min_share_value: Some(eur("25")),
            ..statute(d, 10)
        }
        .into(),
        OrganisationRenamed { occurred_on: d, names: Names::legal("Il Cortile") }.into(),
        SeatRelocated { occurred_on: d, seat: it_coop().seat }.into(),
        ActivityReclassified {
            occurred_on: d,
            activity: Activity { primary: Code::nace("88.10", "2.1").unwrap(), secondary: vec![] },
        }
        .into(),
        StatusChanged { occurred_on: d, status: Status::Suspended, reason: Some("commissioner appointed".into()) }
            .into(),
        DissolutionResolved {
            occurred_on: d,
            kind: DissolutionKind::Administrative,
            assembly: Some(assembly(1)),
            authority: Some("Ministero delle Imprese".into()),
        }
        .into(),
        LiquidationClosed {
            occurred_on: d,
            residual_assets: eur("1000"),
            devolved: vec![
                Devolution { to: Recipient::MutualFund, amount: eur("600") },
                Devolution {
                    to: Recipient::SocialEconomyEntity {
                        name: "Coop Altra".into(),
                        organisation: Some(OrgId::from_uuid(id(9))),
                    },
                    amount: eur("400"),
                },
            ],
        }
        .into(),
        MergerCompleted {
            occurred_on: d,
            kind: MergerKind::Absorption,
            absorbing: org(),
            absorbed: vec![OrgId::from_uuid(id(2)), OrgId::from_uuid(id(3))],
        }
        .into(),
        LegalFormConverted {
            occurred_on: d,
            from: it_coop().legal_form,
            to: LegalForm { elf: None, national: "impresa sociale srl".into() },
            family: Family::SocialEnterprise,
            assets_devolved: Some(eur("50000")),
        }
        .into(),
        AffiliationChanged {
            occurred_on: d,
            federation: Federation {
                name: "Legacoop".into(),
                organisation: Some(OrgId::from_uuid(id(4))),
                external_id: Some("IT-CF-80011690585".parse().unwrap()),
            },
            change: AffiliationChange::Joined,
        }
        .into(),
        CommonsAgreementSigned {
            occurred_on: d,
            agreement: agreement(1),
            municipality: Code::lau("IT_035033", "2021").unwrap(),
            asset: "Centro sociale Orologio".into(),
            asset_kind: CommonsAsset::SocialCentre,
            instrument: "patto di collaborazione".into(),
            parties: vec![
                Party { name: "Comune di Reggio Emilia".into(), kind: PartyKind::PublicBody, organisation: None },
                Party { name: "Il Cortile".into(), kind: PartyKind::Organisation, organisation: Some(org()) },
            ],
            citizen_signatories: 12,
            from: d,
            until: Some(date!(2028 - 05 - 19)),
        }
        .into(),
        CommonsAgreementEnded { occurred_on: d, agreement: agreement(1), reason: AgreementEnd::Expired }.into(),
        enrolled(1, Sex::Female, 1990, d),
        admitted(1, 1, d, MemberCategory::Worker, eur("500")),
        CapitalPaidIn { occurred_on: d, membership: membership(1), amount: eur("250") }.into(),
        SharesTransferred {
            occurred_on: d,
            from: membership(1),
            to: membership(2),
            shares: 1,
            price: Some(eur("250")),
        }
        .into(),
        MemberLeft {
            occurred_on: d,
            membership: membership(1),
            reason: ExitReason::Expulsion,
            refund: Some(eur("250")),
            appealed: true,
        }
        .into(),
        MemberDataErased { occurred_on: d, person: person(1), key_id: key(1), requested_on: date!(2025 - 05 - 01) }
            .into(),
        MembershipSnapshotDeclared {
            occurred_on: d,
            as_of: date!(2024 - 12 - 31),
            source: SnapshotSource::Declared,
            members: 40,
            natural_persons: 38,
            legal_persons: 2,
            by_sex: BySex { female: Some(20), male: Some(15), other: None, unknown: None },
            by_age: ByAge { under_30: Some(6), from_30_to_64: Some(25), from_65: Some(7), unknown: Some(0) },
            by_category: BTreeMap::from([(MemberCategory::Worker, Some(30)), (MemberCategory::User, Some(10))]),
        }
        .into(),
        convened(1, d),
        GeneralAssemblyHeld {
            present_online: Some(4),
            present_women: Some(12),
            present_under_30: Some(3),
            max_proxies_per_holder: Some(1),
            ..held(1, d, 40, 25, 5)
        }
        .into(),
        ResolutionVoted {
            occurred_on: d,
            assembly: assembly(1),
            item: 1,
            topic: Topic::Accounts,
            votes_for: 27,
            votes_against: 2,
            abstentions: 1,
            outcome: Outcome::Adopted,
        }
        .into(),
        OrganElected {
            occurred_on: d,
            organ: Organ::Board,
            assembly: Some(assembly(1)),
            term_from: d,
            term_until: Some(date!(2028 - 05 - 20)),
            seats: 5,
            candidates: 7,
            women_elected: Some(3),
            under_30_elected: Some(1),
            new_holders: Some(2),
        }
        .into(),
        OrganMemberChanged { occurred_on: d, organ: Organ::Board, person: person(1), change: SeatChange::Elected }
            .into(),
        AnnualAccountsApproved {
            occurred_on: d,
            fiscal_year: 2024,
            assembly: Some(assembly(1)),
            currency: Currency::EUR,
            figures: Figures {
                turnover: Some(eur("1200000.00")),
                member_turnover: Some(eur("800000")),
                personnel_costs: Some(eur("700000")),
                member_labour_costs: Some(eur("500000")),
                purchases: Some(eur("300000")),
                purchases_from_members: Some(eur("20000")),
                purchases_from_social_economy: Some(eur("45000")),
                net_result: eur("35000.50"),
                total_assets: Some(eur("900000")),
                equity: Some(eur("400000")),
                share_capital: Some(eur("60000")),
                indivisible_reserves: Some(eur("300000")),
            },
            workforce: Workforce {
                employees: Some(32),
                fte_hundredths: Some(2875),
                employees_women: Some(20),
                workers: Some(40),
                worker_members: Some(30),
                disadvantaged_workers: Some(13),
                volunteers: Some(6),
            },
        }
        .into(),
        SurplusAllocated {
            assembly: Some(assembly(1)),
            capital_interest: Some(CapitalInterestRate {
                rate: BasisPoints(300),
                reference_rate: Some(BasisPoints(125)),
                reference: Some("buoni postali fruttiferi".into()),
            }),
            beneficiaries: Some(30),
            ..allocation(
                d,
                2024,
                eur("10000"),
                &[
                    (SurplusKind::LegalReserve, eur("3000")),
                    (SurplusKind::MutualFund, eur("300")),
                    (SurplusKind::IndivisibleReserve, eur("5700")),
                    (SurplusKind::CapitalInterest, eur("1000")),
                ],
            )
        }
        .into(),
        AuditCompleted {
            occurred_on: d,
            kind: AuditKind::Revisione,
            auditor: "Legacoop Emilia Ovest".into(),
            period_from: date!(2023 - 01 - 01),
            period_until: date!(2024 - 12 - 31),
            outcome: AuditOutcome::PassedWithRemarks,
        }
        .into(),
        SanctionImposed {
            occurred_on: d,
            kind: SanctionKind::Fine,
            authority: "Ministero delle Imprese".into(),
            reference: Some("prot. 1234/2025".into()),
            fine: Some(eur("2500")),
        }
        .into(),
        ComplianceFindingRecorded {
            occurred_on: d,
            subject: Subject::SurplusAllocation { fiscal_year: 2024 },
            rule: "IT.legal-reserve".into(),
            legal_reference: "c.c. art. 2545-quater".into(),
            in_force_since: date!(2004 - 01 - 01),
            field: "items.legal_reserve".into(),
            requirement: "at least 30 % of the surplus 10000 EUR to the legal reserve: 3000 EUR".into(),
            found: "2000 EUR".into(),
        }
        .into(),
    ]
}
