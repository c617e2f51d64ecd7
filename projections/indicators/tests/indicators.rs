//! Each indicator on a small registry computed by hand, the publication rules, reference data
//! and the projection's snapshot.

mod support;

use std::collections::HashSet;

use imece_domain::*;
use imece_indicators::{
    AreaFigures, Basis, CATALOGUE, Cube, CubeOptions, Dimension, Disclosure, Error, ExchangeRates, Facts, NaceLevel,
    Query, ReferenceData, RowKind, Suppression, Table, Unit, indicator,
};
use imece_projections::Projection;
use rust_decimal::Decimal;
use support::*;

/// The organisations of the hand-computed registry.
struct Partner {
    world: World,
}

/// Six organisations over 2018–2025 (see each line for what it tests):
///
/// - O1 Reggio, 2020: six members (one leaves, one expelled in 2024), board by person, accounts and
///   allocation in EUR, statute amended from OMOV to capped in October 2024, absorbs O4.
/// - O2 Reggio, 2021: dissolved on 30 June 2024, with 2024 accounts.
/// - O3 Reggio, 2024: a type-B social cooperative without members on record.
/// - O4 Reggio, 2019: absorbed by O1 on 1 September 2024.
/// - O5 Reggio, 2018: liquidation closed in May 2023 without a dissolution on record.
/// - O6 İzmir, 2020: replicated, members only as declared snapshots, accounts in TRY, an
///   allocation with a legal-reserve finding, an affiliation left in 2024.
fn partner() -> Partner {
    let mut w = World::default();
    let o1 = w.register(d(2020, 3, 1), REGGIO);
    let o2 = w.register(d(2021, 5, 1), REGGIO);
    let o3 = w.register_as(
        d(2024, 2, 1),
        REGGIO,
        "88.10",
        Family::Cooperative,
        "cooperativa sociale di tipo B",
        Some(CooperativeType::MultiStakeholder),
    );
    let o4 = w.register(d(2019, 1, 10), REGGIO);
    let o5 = w.register(d(2018, 1, 1), REGGIO);
    let o6 = w.register_as(
        d(2020, 1, 15),
        IZMIR,
        "01.41",
        Family::Cooperative,
        "kooperatif",
        Some(CooperativeType::Producer),
    );

    // O1's members.
    let (p1, m1) = w.member(o1, Some(Sex::Female), Some(1990), MemberCategory::Worker, d(2020, 3, 1));
    let (p2, m2) = w.member(o1, Some(Sex::Male), Some(2000), MemberCategory::Worker, d(2020, 3, 1));
    let p3 = w.person(o1, Some(Sex::Female), Some(1955), d(2022, 1, 1));
    let m3 = w.admit(o1, p3, MemberCategory::User, 4, d(2022, 1, 1));
    let (_, m4) = w.member(o1, Some(Sex::Unknown), None, MemberCategory::User, d(2023, 6, 1));
    w.leave(o1, m4, ExitReason::Withdrawal, d(2024, 3, 1));
    let (_, m5) = w.member(o1, None, None, MemberCategory::Other, d(2024, 5, 1));
    let (p6, m6) = w.member(o1, Some(Sex::Male), Some(1980), MemberCategory::Worker, d(2021, 1, 1));
    w.leave(o1, m6, ExitReason::Expulsion, d(2024, 7, 1));
    for (m, amount, on) in
        [(m1, "100", d(2020, 3, 1)), (m2, "100", d(2020, 3, 1)), (m3, "400", d(2022, 1, 1)), (m5, "200", d(2024, 5, 1))]
    {
        w.push(o1, CapitalPaidIn { occurred_on: on, membership: m, amount: eur(amount) });
    }
    // Half of m3's shares, and so half its paid-in capital, go to m2.
    w.push(o1, SharesTransferred { occurred_on: d(2024, 8, 1), from: m3, to: m2, shares: 2, price: None });
    for p in [p1, p2, p6] {
        w.push(
            o1,
            OrganMemberChanged {
                occurred_on: d(2023, 5, 1),
                organ: Organ::Board,
                person: p,
                change: SeatChange::Elected,
            },
        );
    }
    w.push(
        o1,
        OrganMemberChanged { occurred_on: d(2024, 7, 1), organ: Organ::Board, person: p6, change: SeatChange::Removed },
    );
    w.push(
        o1,
        OrganElected {
            occurred_on: d(2024, 4, 10),
            organ: Organ::Board,
            assembly: None,
            term_from: d(2024, 4, 10),
            term_until: None,
            seats: 3,
            candidates: 3,
            women_elected: None,
            under_30_elected: None,
            new_holders: None,
        },
    );
    w.assembly(o1, d(2024, 4, 20), 5, 2, 1);
    w.assembly(o1, d(2025, 4, 20), 4, 4, 0);
    w.statute(o1, d(2022, 2, 1), VotingRule::OneMemberOneVote, 1);
    w.statute(o1, d(2024, 10, 1), VotingRule::Capped, 3);
    w.accounts(
        o1,
        2024,
        Currency::EUR,
        figures(
            Currency::EUR,
            "10000",
            &[
                ("turnover", "100000"),
                ("member_turnover", "60000"),
                ("personnel_costs", "40000"),
                ("member_labour_costs", "30000"),
                ("purchases", "20000"),
                ("purchases_from_members", "5000"),
                ("purchases_from_social_economy", "4000"),
                ("equity", "50000"),
                ("share_capital", "8000"),
                ("indivisible_reserves", "20000"),
            ],
        ),
        Workforce {
            employees: Some(6),
            fte_hundredths: Some(450),
            employees_women: Some(3),
            workers: Some(8),
            worker_members: Some(5),
            disadvantaged_workers: None,
            volunteers: None,
        },
    );
    w.push(
        o1,
        SurplusAllocated {
            occurred_on: d(2025, 4, 20),
            fiscal_year: 2024,
            assembly: None,
            surplus: eur("10000"),
            items: vec![
                SurplusItem { kind: SurplusKind::LegalReserve, amount: eur("3000") },
                SurplusItem { kind: SurplusKind::MutualFund, amount: eur("300") },
                SurplusItem { kind: SurplusKind::IndivisibleReserve, amount: eur("6700") },
            ],
            capital_interest: None,
            beneficiaries: None,
        },
    );
    let legacoop = Federation { name: "Legacoop".into(), organisation: None, external_id: None };
    w.push(
        o1,
        AffiliationChanged { occurred_on: d(2021, 1, 1), federation: legacoop, change: AffiliationChange::Joined },
    );
    let agreement = AgreementId::from_uuid(w.uuid());
    let signed = |on: Date| CommonsAgreementSigned {
        occurred_on: on,
        agreement,
        municipality: Code::lau("IT_035033", "2021").unwrap(),
        asset: "Centro sociale".into(),
        asset_kind: CommonsAsset::SocialCentre,
        instrument: "patto di collaborazione".into(),
        parties: vec![],
        citizen_signatories: 0,
        from: d(2023, 6, 1),
        until: None,
    };
    w.push(o1, signed(d(2023, 6, 1)));
    w.push(o3, signed(d(2024, 3, 1)));
    w.push(
        o1,
        AuditCompleted {
            occurred_on: d(2023, 3, 1),
            kind: AuditKind::Revisione,
            auditor: "Legacoop".into(),
            period_from: d(2021, 1, 1),
            period_until: d(2022, 12, 31),
            outcome: AuditOutcome::Passed,
        },
    );
    let merger =
        MergerCompleted { occurred_on: d(2024, 9, 1), kind: MergerKind::Absorption, absorbing: o1, absorbed: vec![o4] };
    w.push(o1, merger.clone());
    w.push(o4, merger);

    // O2: dissolved mid-year, with its last accounts.
    w.accounts(
        o2,
        2024,
        Currency::EUR,
        figures(Currency::EUR, "0", &[("turnover", "5000")]),
        Workforce {
            employees: Some(1),
            fte_hundredths: Some(100),
            employees_women: Some(0),
            workers: Some(1),
            worker_members: Some(1),
            ..Workforce::default()
        },
    );
    w.push(
        o2,
        DissolutionResolved {
            occurred_on: d(2024, 6, 30),
            kind: DissolutionKind::Voluntary,
            assembly: None,
            authority: None,
        },
    );

    // O3: work integration.
    w.accounts(
        o3,
        2024,
        Currency::EUR,
        figures(Currency::EUR, "0", &[]),
        Workforce { employees: Some(3), workers: Some(10), disadvantaged_workers: Some(4), ..Workforce::default() },
    );

    // O5: closed by a liquidation.
    w.push(o5, LiquidationClosed { occurred_on: d(2023, 5, 1), residual_assets: eur("0"), devolved: vec![] });

    // O6: replicated from İzmir.
    w.push(o6, snapshot(d(2023, 12, 31), 35, [18, 17, 0, 0], [8, 24, 3, 0], 0));
    w.push(o6, snapshot(d(2024, 12, 31), 40, [20, 18, 0, 0], [10, 25, 3, 0], 2));
    w.push(
        o6,
        OrganElected {
            occurred_on: d(2023, 4, 1),
            organ: Organ::Board,
            assembly: None,
            term_from: d(2023, 4, 1),
            term_until: Some(d(2026, 4, 1)),
            seats: 5,
            candidates: 8,
            women_elected: Some(2),
            under_30_elected: Some(1),
            new_holders: Some(3),
        },
    );
    w.assembly(o6, d(2024, 5, 10), 40, 10, 10);
    w.statute(o6, d(2021, 1, 1), VotingRule::OneMemberOneVote, 1);
    w.accounts(
        o6,
        2024,
        Currency::TRY,
        figures(
            Currency::TRY,
            "100000",
            &[
                ("turnover", "2000000"),
                ("member_turnover", "500000"),
                ("personnel_costs", "800000"),
                ("member_labour_costs", "0"),
                ("purchases", "1000000"),
                ("purchases_from_members", "100000"),
                ("purchases_from_social_economy", "50000"),
                ("equity", "300000"),
                ("share_capital", "40000"),
            ],
        ),
        Workforce {
            employees: Some(10),
            fte_hundredths: Some(1000),
            employees_women: Some(4),
            workers: Some(12),
            worker_members: Some(2),
            ..Workforce::default()
        },
    );
    w.push(
        o6,
        SurplusAllocated {
            occurred_on: d(2025, 5, 1),
            fiscal_year: 2024,
            assembly: None,
            surplus: try_("100000"),
            items: vec![
                SurplusItem { kind: SurplusKind::LegalReserve, amount: try_("5000") },
                SurplusItem { kind: SurplusKind::PatronageRefund, amount: try_("95000") },
            ],
            capital_interest: None,
            beneficiaries: None,
        },
    );
    w.push(
        o6,
        ComplianceFindingRecorded {
            occurred_on: d(2025, 5, 1),
            subject: Subject::SurplusAllocation { fiscal_year: 2024 },
            rule: "TR.legal-reserve".into(),
            legal_reference: "Law 1163 art. 39".into(),
            in_force_since: d(1969, 5, 10),
            field: "items.legal_reserve".into(),
            requirement: "at least 10 %".into(),
            found: "5000 TRY".into(),
        },
    );
    let tmkb = Federation { name: "TMKB".into(), organisation: None, external_id: None };
    w.push(
        o6,
        AffiliationChanged { occurred_on: d(2020, 2, 1), federation: tmkb.clone(), change: AffiliationChange::Joined },
    );
    w.push(o6, AffiliationChanged { occurred_on: d(2024, 6, 1), federation: tmkb, change: AffiliationChange::Left });
    let garden = AgreementId::from_uuid(w.uuid());
    w.push(
        o6,
        CommonsAgreementSigned {
            occurred_on: d(2024, 1, 1),
            agreement: garden,
            municipality: Code::lau("TR_35", "2021").unwrap(),
            asset: "Mahalle bostanı".into(),
            asset_kind: CommonsAsset::Garden,
            instrument: "protokol".into(),
            parties: vec![],
            citizen_signatories: 12,
            from: d(2024, 1, 1),
            until: None,
        },
    );
    w.push(
        o6,
        CommonsAgreementEnded { occurred_on: d(2024, 11, 1), agreement: garden, reason: AgreementEnd::Terminated },
    );
    Partner { world: w }
}

fn reference() -> ReferenceData {
    let population = AreaFigures::population_from_reader(
        "area_scheme,area_code,area_version,year,population\n\
         lau,IT_035033,2021,2024,170000\n\
         lau,TR_35,2021,2024,4000000\n"
            .as_bytes(),
    )
    .unwrap();
    let employment = AreaFigures::employment_from_reader(
        "area_scheme,area_code,area_version,year,employment\n\
         lau,IT_035033,2021,2024,60000\n\
         lau,TR_35,2021,2024,1000000\n"
            .as_bytes(),
    )
    .unwrap();
    let rates = ExchangeRates::from_reader(
        "date,base,quote,rate,source\n2024-06-28,EUR,TRY,35,ECB\n2024-12-30,EUR,TRY,40,ECB\n2025-01-02,EUR,TRY,41,ECB\n"
            .as_bytes(),
    )
    .unwrap();
    ReferenceData { population, employment, rates }
}

/// The value of the whole registry for `id` in `year`, without disclosure control, and the cell.
fn whole(cube: &Cube, id: &str, year: i32) -> (Decimal, imece_indicators::Cell) {
    let t = open(cube, &Query::new(id, year));
    let cell = t.total(year).unwrap_or_else(|| panic!("{id} {year}: no total")).clone();
    (cell.value.unwrap_or_else(|| panic!("{id} {year}: no value: {cell:#?}")), cell)
}

fn check(cube: &Cube, id: &str, year: i32, expected: &str, organisations: u32, excluded: u32) {
    let (v, cell) = whole(cube, id, year);
    assert_eq!(v, dec(expected), "{id} in {year}: {cell:#?}");
    assert_eq!(cell.organisations, Some(organisations), "{id} in {year}: organisations");
    assert_eq!(cell.excluded_missing, excluded, "{id} in {year}: excluded for missing data");
}

#[test]
fn demography_counts_births_exits_by_reason_and_survival() {
    let cube = partner().world.cube();
    check(&cube, "active_entities", 2024, "3", 3, 0);
    // A(end 2023) = O1, O2, O4, O6; O3 is born in 2024 (so it counts for births only); O2
    // dissolved and O4 absorbed in 2024.
    check(&cube, "birth_rate", 2024, "0.25", 5, 0);
    check(&cube, "exit_rate", 2024, "0.5", 4, 0);
    check(&cube, "exit_rate_dissolution", 2024, "0.25", 4, 0);
    check(&cube, "exit_rate_merger", 2024, "0.25", 4, 0);
    check(&cube, "exit_rate_liquidation", 2024, "0", 4, 0);
    // O5's liquidation closed in 2023, out of A(end 2022) = O1, O2, O4, O5, O6.
    check(&cube, "exit_rate_liquidation", 2023, "0.2", 5, 0);
    // Cohort 2020 (O1, O6) all alive at the end of 2023 and 2025; cohort 2021 (O2) dissolved in
    // 2024; cohort 2019 (O4) absorbed in 2024.
    check(&cube, "survival_3y", 2020, "1", 2, 0);
    check(&cube, "survival_3y", 2021, "0", 1, 0);
    check(&cube, "survival_5y", 2020, "1", 2, 0);
    check(&cube, "survival_5y", 2019, "0", 1, 0);
    // 2023 + 3 is past the observed period (the log ends in 2025): not yet known, no row.
    assert!(open(&cube, &Query::new("survival_3y", 2023)).rows.is_empty());
    // Organisations closed mid-year are out of the stock of that year.
    let by_country = open(&cube, &Query::new("active_entities", 2024).group_by(&[Dimension::Country]));
    assert_eq!(value(by_country.cell(2024, &["IT"])), dec("2"));
    assert_eq!(value(by_country.cell(2024, &["TR"])), dec("1"));
    let series = open(&cube, &Query::new("active_entities", 2018).years(2018, 2025));
    let totals: Vec<Decimal> = (2018..=2025).map(|y| total(&series, y)).collect();
    assert_eq!(totals, ["1", "2", "4", "5", "5", "4", "3", "3"].map(dec));
}

#[test]
fn members_by_sex_age_and_category_with_legal_persons_apart() {
    let cube = partner().world.cube();
    // O1: m1 F 34, m2 M 24, m3 F 69, m5 legal person; O6's snapshot: 40 (38 natural); O3 has no
    // members on record and is left out.
    for (id, v) in [
        ("members", "44"),
        ("members_natural", "41"),
        ("members_legal", "3"),
        ("members_women", "22"),
        ("members_men", "19"),
        ("members_sex_other", "0"),
        ("members_sex_unknown", "0"),
        ("members_under_30", "11"),
        ("members_30_64", "26"),
        ("members_65_plus", "4"),
        ("members_age_unknown", "0"),
        ("members_users", "41"),
        ("members_workers", "2"),
        ("members_other_category", "1"),
    ] {
        check(&cube, id, 2024, v, 2, 1);
    }
    let (_, cell) = whole(&cube, "members", 2024);
    assert_eq!(cell.persons, Some(44));
    // At the end of 2023: m1, m2, m3, m4 (sex unknown), m6; O6's 2023 snapshot.
    check(&cube, "members", 2023, "40", 2, 2);
    check(&cube, "members_sex_unknown", 2023, "1", 2, 2);
}

#[test]
fn an_organisation_without_members_is_counted_as_missing_not_as_zero() {
    let mut w = World::default();
    let org = w.register(d(2024, 1, 10), REGGIO);
    w.assembly(org, d(2024, 5, 1), 0, 0, 0);
    let cube = w.cube();
    let t = open(&cube, &Query::new("members", 2024));
    let cell = t.total(2024).unwrap();
    assert_eq!((cell.organisations, cell.excluded_missing), (Some(0), 1));
    assert_eq!(cell.value, Some(dec("0")));
    // With nobody eligible there is no participation to compute: missing, not a division by zero.
    let t = open(&cube, &Query::new("assembly_participation", 2024));
    assert_eq!(t.total(2024).unwrap().value, None);
    assert_eq!(t.total(2024).unwrap().excluded_missing, 1);
}

#[test]
fn density_and_employment_share_divide_by_the_area_reference_figures() {
    let cube = partner().world.cube();
    let refs = reference();
    let q = |id: &str| Query::new(id, 2024).group_by(&[Dimension::City]);
    let t = cube.query(&q("membership_density"), &refs, &Disclosure::UNPROTECTED).unwrap();
    assert_eq!(value(t.cell(2024, &["IT_035033"])), dec("0.023529"));
    assert_eq!(value(t.cell(2024, &["TR_35"])), dec("0.01"));
    assert_eq!(total(&t, 2024), dec("0.010552"));
    assert_eq!(t.total(2024).unwrap().denominator, Some(dec("4170000")));
    let t = cube.query(&q("employment_share"), &refs, &Disclosure::UNPROTECTED).unwrap();
    assert_eq!(value(t.cell(2024, &["IT_035033"])), dec("0.000167"));
    assert_eq!(value(t.cell(2024, &["TR_35"])), dec("0.00001"));
    let t = cube.query(&q("commons_agreements_density"), &refs, &Disclosure::UNPROTECTED).unwrap();
    // One agreement in Reggio (recorded by O1 and O3, counted once); İzmir's garden ended.
    assert_eq!(value(t.cell(2024, &["IT_035033"])), dec("0.058824"));
    assert_eq!(value(t.cell(2024, &["TR_35"])), dec("0"));

    // Without İzmir's population its cell is empty, its organisation counted as left out, and the
    // total covers Reggio only.
    let mut partial = refs.clone();
    partial.population = AreaFigures::population_from_reader(
        "area_scheme,area_code,area_version,year,population\nlau,IT_035033,2021,2024,170000\n".as_bytes(),
    )
    .unwrap();
    let t = cube.query(&q("membership_density"), &partial, &Disclosure::UNPROTECTED).unwrap();
    let izmir = t.cell(2024, &["TR_35"]).unwrap();
    assert_eq!((izmir.value, izmir.excluded_missing), (None, 1));
    assert!(izmir.note.as_deref().unwrap().contains("no population of TR_35 (2021) for 2024"));
    assert_eq!(total(&t, 2024), dec("0.023529"));
    assert_eq!(t.total(2024).unwrap().excluded_missing, 2);

    // An indicator per inhabitant needs an area to divide by.
    let err = cube.query(&Query::new("membership_density", 2024), &refs, &Disclosure::UNPROTECTED).unwrap_err();
    assert!(matches!(err, Error::InvalidQuery { ref field, .. } if field == "group_by"), "{err}");
}

#[test]
fn employment_counts_flows_of_organisations_closed_during_the_year() {
    let cube = partner().world.cube();
    // O1 6, O2 (dissolved in June) 1, O3 3, O6 10.
    check(&cube, "paid_employment", 2024, "20", 4, 0);
    check(&cube, "paid_employment_fte", 2024, "15.5", 3, 1);
    check(&cube, "paid_employment_women", 2024, "7", 3, 1);
    check(&cube, "worker_member_share", 2024, "0.380952", 3, 1);
    check(&cube, "work_integration_ratio", 2024, "0.4", 1, 0);
    check(&cube, "work_integration_compliance", 2024, "1", 1, 0);
    check(&cube, "audit_compliance", 2024, "0.5", 2, 0);
}

fn nominal(t: &Table, year: i32, currency: Currency) -> &imece_indicators::Cell {
    &t.rows.iter().find(|r| r.kind == RowKind::Total && r.year == year && r.currency == Some(currency)).unwrap().cell
}

#[test]
fn money_is_split_by_currency_and_converted_only_at_a_dated_rate() {
    let cube = partner().world.cube();
    let t = open(&cube, &Query::new("turnover", 2024));
    let eur_total = nominal(&t, 2024, Currency::EUR);
    assert_eq!(eur_total.value, Some(dec("105000")));
    assert_eq!((eur_total.organisations, eur_total.excluded_missing), (Some(2), 1));
    assert_eq!(eur_total.basis, Some(Basis::Nominal));
    assert_eq!(nominal(&t, 2024, Currency::TRY).value, Some(dec("2000000")));
    assert_eq!(t.rows.len(), 2, "one total per currency, never their sum: {t:#?}");

    // The latest rate on or before 31 December 2024: 30 December, EUR/TRY 40, inverted.
    let refs = reference();
    let q = Query::new("turnover", 2024).converted(Currency::EUR);
    let t = cube.query(&q, &refs, &Disclosure::UNPROTECTED).unwrap();
    let cell = t.total(2024).unwrap();
    assert_eq!(cell.value, Some(dec("155000")));
    assert_eq!(cell.currency, Some(Currency::EUR));
    let Some(Basis::Converted { to: Currency::EUR, rates }) = &cell.basis else { panic!("{cell:#?}") };
    assert_eq!(rates.len(), 1);
    assert_eq!((rates[0].from, rates[0].date, rates[0].source.as_str()), (Currency::TRY, d(2024, 12, 30), "ECB"));
    assert!(rates[0].inverted);
    assert_eq!(rates[0].rate, dec("0.025"));

    // Without a rate of the year: an error naming the pair and the date.
    let err =
        cube.query(&q.clone().years(2024, 2024), &ReferenceData::default(), &Disclosure::UNPROTECTED).unwrap_err();
    assert_eq!(err, Error::MissingRate { from: Currency::TRY, to: Currency::EUR, date: d(2024, 12, 31) });
    assert!(err.to_string().contains("TRY to EUR"));

    check_money(&cube, &refs, "value_added", ("50000", 1, 2), "900000", None);
    check_money(&cube, &refs, "mutual_prevalence_turnover", ("0.6", 1, 2), "0.25", Some("0.483333"));
    check_money(&cube, &refs, "mutual_prevalence_labour", ("0.75", 1, 2), "0", None);
    check_money(&cube, &refs, "mutual_prevalence_purchases", ("0.25", 1, 2), "0.1", None);
    check_money(&cube, &refs, "social_economy_purchases", ("0.2", 1, 2), "0.05", None);
    check_money(&cube, &refs, "asset_lock", ("0.4", 1, 3), "", None);
    check_money(&cube, &refs, "capital_per_member", ("2000", 1, 1), "1000", None);
    check_money(&cube, &refs, "surplus_legal_reserve", ("0.3", 1, 0), "0.05", Some("0.25"));
    check_money(&cube, &refs, "surplus_patronage_refund", ("0", 1, 0), "0.95", None);
    check_money(&cube, &refs, "surplus_indivisible_reserve", ("0.67", 1, 0), "0", None);

    // Ratios that are not money refuse a conversion.
    let err = cube.query(&Query::new("members", 2024).converted(Currency::EUR), &refs, &Disclosure::UNPROTECTED);
    assert!(matches!(err, Err(Error::InvalidQuery { ref field, .. }) if field == "money"));
}

/// The EUR total (value, organisations, excluded), the TRY total (empty: no TRY row), and the
/// converted total if given.
fn check_money(
    cube: &Cube,
    refs: &ReferenceData,
    id: &str,
    eur_: (&str, u32, u32),
    try_value: &str,
    converted: Option<&str>,
) {
    let t = open(cube, &Query::new(id, 2024));
    let e = nominal(&t, 2024, Currency::EUR);
    assert_eq!(
        (e.value, e.organisations, e.excluded_missing),
        (Some(dec(eur_.0)), Some(eur_.1), eur_.2),
        "{id}: {t:#?}"
    );
    let try_row = t.rows.iter().find(|r| r.kind == RowKind::Total && r.currency == Some(Currency::TRY));
    if try_value.is_empty() {
        assert!(try_row.is_none(), "{id}: {t:#?}");
    } else {
        assert_eq!(try_row.unwrap().cell.value, Some(dec(try_value)), "{id}");
    }
    if let Some(v) = converted {
        let t = cube.query(&Query::new(id, 2024).converted(Currency::EUR), refs, &Disclosure::UNPROTECTED).unwrap();
        assert_eq!(t.total(2024).unwrap().value, Some(dec(v)), "{id} converted");
    }
}

#[test]
fn participation_is_reported_as_member_weighted_mean_and_median() {
    let cube = partner().world.cube();
    // O1: (2 + 1) / 5; O6: (10 + 10) / 40; O3 held no assembly and is left out.
    check(&cube, "assembly_participation", 2024, "0.511111", 2, 1);
    let (median, _) = whole(&cube, "assembly_participation_median", 2024);
    assert_eq!(median, dec("0.55"));
    check(&cube, "assembly_direct_participation", 2024, "0.266667", 2, 1);
    assert_eq!(whole(&cube, "assembly_direct_participation_median", 2024).0, dec("0.325"));
    check(&cube, "proxy_reliance", 2024, "0.478261", 2, 1);
    let (_, cell) = whole(&cube, "assembly_participation", 2024);
    assert_eq!((cell.numerator, cell.denominator, cell.persons), (Some(dec("23")), Some(dec("45")), Some(45)));
}

#[test]
fn an_amended_statute_counts_from_its_date() {
    let cube = partner().world.cube();
    // 2023: O1 and O6 are OMOV, O2 and O4 have no statute on record.
    check(&cube, "omov_compliance", 2023, "1", 2, 2);
    // October 2024: O1 caps votes at 3.
    check(&cube, "omov_compliance", 2024, "0.5", 2, 1);
}

#[test]
fn gender_youth_and_boards() {
    let cube = partner().world.cube();
    check(&cube, "women_share_members", 2024, "0.536585", 2, 1);
    let by_country = open(&cube, &Query::new("women_share_members", 2024).group_by(&[Dimension::Country]));
    assert_eq!(value(by_country.cell(2024, &["IT"])), dec("0.666667"));
    assert_eq!(value(by_country.cell(2024, &["TR"])), dec("0.526316"));
    // O1's board by person on 31 December: m1 (F, 34), m2 (M, 24); m6 was removed in July.
    // O6's board from its election counts: 2 women and 1 under 30 of 5.
    check(&cube, "women_share_boards", 2024, "0.428571", 2, 1);
    check(&cube, "women_board_gap", 2024, "-0.108014", 2, 1);
    check(&cube, "youth_share_members", 2024, "0.268293", 2, 1);
    check(&cube, "youth_share_boards", 2024, "0.285714", 2, 1);
    check(&cube, "board_contestedness", 2024, "1", 1, 0);
    check(&cube, "board_contestedness", 2023, "1.6", 1, 0);
    check(&cube, "board_renewal", 2023, "0.6", 1, 0);
    // O1's 2024 election did not record new holders.
    let t = open(&cube, &Query::new("board_renewal", 2024));
    assert_eq!((t.total(2024).unwrap().value, t.total(2024).unwrap().excluded_missing), (None, 1));
}

#[test]
fn open_membership_dynamics() {
    let cube = partner().world.cube();
    // O1: 5 members at the end of 2023, 1 admitted, 2 left (1 expelled), 4 at the end of 2024.
    // O6 has snapshots only: no admissions or exits, but a net growth from 35 to 40.
    check(&cube, "member_join_rate", 2024, "0.2", 1, 3);
    check(&cube, "member_exit_rate", 2024, "0.4", 1, 3);
    check(&cube, "member_expulsion_share", 2024, "0.5", 1, 2);
    check(&cube, "member_net_growth", 2024, "0.1", 2, 0);
}

#[test]
fn surplus_capital_and_inter_cooperation() {
    let cube = partner().world.cube();
    check(&cube, "surplus_legal_compliance", 2024, "0.5", 2, 0);
    // Paid-in capital on 31 December 2024: m1 100, m2 100 + 200 from m3, m3 200, m5 200: the top
    // 10 % (one member) holds 300 of 800.
    check(&cube, "capital_concentration_top10", 2024, "0.375", 1, 2);
    check(&cube, "affiliation_share", 2024, "0.333333", 3, 0);
    check(&cube, "affiliation_share", 2023, "0.5", 4, 0);
}

#[test]
fn every_indicator_of_the_catalogue_answers_on_the_partner_registry() {
    let cube = partner().world.cube();
    let refs = reference();
    let mut ids = HashSet::new();
    for ind in CATALOGUE {
        assert!(ids.insert(ind.id), "{} twice", ind.id);
        assert!(!ind.formula.is_empty() && !ind.source.is_empty() && !ind.title.is_empty());
        let mut q = Query::new(ind.id, 2020).years(2020, 2024);
        if ind.area_figure().is_some() {
            q = q.group_by(&[Dimension::City]);
        }
        let t = cube.query(&q, &refs, &Disclosure::default()).unwrap_or_else(|e| panic!("{}: {e}", ind.id));
        assert_eq!(t.indicator.id, ind.id);
    }
    // Every number of the reference list, and the two after it.
    let numbers: HashSet<&str> = CATALOGUE.iter().map(|i| i.number).collect();
    for n in (1..=24).map(|n| n.to_string()) {
        assert!(numbers.contains(n.as_str()), "indicator {n} is missing");
    }
    assert_eq!(CATALOGUE.iter().filter(|i| i.number == "19").count(), SURPLUS_KINDS_COUNT);
    assert_eq!(indicator("turnover").unwrap().unit, Unit::Money);
}

const SURPLUS_KINDS_COUNT: usize = imece_indicators::SURPLUS_KINDS.len();

#[test]
fn a_year_uses_the_classification_in_force_on_31_december() {
    let mut w = World::default();
    let org = w.register(d(2020, 1, 1), REGGIO);
    w.push(org, SeatRelocated { occurred_on: d(2023, 6, 1), seat: seat(LEVERANO) });
    w.push(
        org,
        ActivityReclassified {
            occurred_on: d(2024, 12, 31),
            activity: Activity { primary: Code::nace("88.99", "2.1").unwrap(), secondary: vec![] },
        },
    );
    let cube = w.cube();
    let q = Query::new("active_entities", 2022).years(2022, 2024).group_by(&[Dimension::City]);
    let t = open(&cube, &q);
    let cities: Vec<(i32, String)> =
        t.rows.iter().filter(|r| r.kind == RowKind::Cell).map(|r| (r.year, r.key[0].code.to_string())).collect();
    assert_eq!(cities, [(2022, "IT_035033".into()), (2023, "IT_075037".into()), (2024, "IT_075037".into())]);
    let q = Query::new("active_entities", 2023).years(2023, 2024).group_by(&[Dimension::Sector(NaceLevel::Section)]);
    let t = open(&cube, &q);
    let sections: Vec<(String, Option<String>)> = t
        .rows
        .iter()
        .filter(|r| r.kind == RowKind::Cell)
        .map(|r| (r.key[0].code.to_string(), r.key[0].version.as_deref().map(str::to_owned)))
        .collect();
    // NACE Rev. 2 puts 88 in Q; Rev. 2.1 in R: the version in the key shows the break.
    assert_eq!(sections, [("Q".into(), Some("2".into())), ("R".into(), Some("2.1".into()))]);
    let t = open(&cube, &Query::new("active_entities", 2024).filter(Dimension::City, &["IT_035033"]));
    assert!(t.rows.is_empty(), "the organisation left Reggio in 2023");
}

#[test]
fn a_merger_closes_the_absorbed_organisation_only() {
    let cube = partner().world.cube();
    let t = open(&cube, &Query::new("exit_rate_merger", 2024));
    assert_eq!(t.total(2024).unwrap().numerator, Some(dec("1")));
    // O1, which absorbed O4, is still active and keeps its members.
    let t = open(&cube, &Query::new("active_entities", 2025));
    assert_eq!(total(&t, 2025), dec("3"));
}

/// Ten organisations in Reggio, four in Leverano, one in İzmir.
fn three_cities() -> Cube {
    let mut w = World::default();
    for (place, n) in [(REGGIO, 10), (LEVERANO, 4), (IZMIR, 1)] {
        for _ in 0..n {
            let org = w.register(d(2022, 1, 1), place);
            for _ in 0..2 {
                w.member(org, Some(Sex::Female), Some(1980), MemberCategory::Worker, d(2022, 2, 1));
            }
        }
    }
    w.cube()
}

#[test]
fn a_small_cell_is_suppressed_and_cannot_be_recovered_from_the_total() {
    let cube = three_cities();
    let q = Query::new("active_entities", 2022).group_by(&[Dimension::City]);
    let t = cube.query(&q, &ReferenceData::default(), &Disclosure::default()).unwrap();
    let izmir = t.cell(2022, &["TR_35"]).unwrap();
    assert_eq!(izmir.suppressed, Some(Suppression::TooFewOrganisations));
    assert_eq!((izmir.value, izmir.numerator, izmir.organisations), (None, None, None));
    // Leverano alone is publishable, but with İzmir hidden it would give İzmir away as
    // total − Reggio − Leverano: it is hidden too.
    let leverano = t.cell(2022, &["IT_075037"]).unwrap();
    assert_eq!(leverano.suppressed, Some(Suppression::Complementary));
    assert_eq!(value(t.cell(2022, &["IT_035033"])), dec("10"));
    assert_eq!(total(&t, 2022), dec("15"));
    // What subtraction gives is the sum of the two hidden cells, 5: not İzmir's 1.
    let published: Decimal = t.rows.iter().filter(|r| r.kind == RowKind::Cell).filter_map(|r| r.cell.value).sum();
    assert_eq!(total(&t, 2022) - published, dec("5"));
    assert_eq!(t.rows.iter().filter(|r| r.cell.suppressed.is_some()).count(), 2);
}

#[test]
fn complementary_suppression_covers_subtotals_and_persons() {
    let cube = three_cities();
    // Members by country and city: İzmir has 2 members (fewer than 5 persons) and is the only
    // city of TR, so TR's subtotal would give it away; and TR's subtotal hidden alone would be
    // recovered from the total and IT's subtotal.
    let q = Query::new("members", 2022).group_by(&[Dimension::Country, Dimension::City]);
    let t = cube.query(&q, &ReferenceData::default(), &Disclosure::default()).unwrap();
    let izmir = t.cell(2022, &["TR", "TR_35"]).unwrap();
    assert_eq!(izmir.suppressed, Some(Suppression::TooFewOrganisations));
    let tr = t.row(RowKind::Subtotal, 2022, &["TR"]).unwrap();
    assert!(tr.cell.suppressed.is_some(), "{t:#?}");
    let it = t.row(RowKind::Subtotal, 2022, &["IT"]).unwrap();
    let total_cell = t.total(2022).unwrap();
    // Either IT or the total is hidden, so that TR = total − IT cannot be computed.
    assert!(it.cell.suppressed.is_some() || total_cell.suppressed.is_some(), "{t:#?}");
    // In every relation, no hidden entry is alone.
    check_no_single_hidden(&t);

    // Persons: 3 organisations with one member each describe 3 persons.
    let mut w = World::default();
    for _ in 0..3 {
        let org = w.register(d(2022, 1, 1), REGGIO);
        w.member(org, Some(Sex::Male), Some(1970), MemberCategory::User, d(2022, 1, 1));
    }
    let t = w.cube().query(&Query::new("members", 2022), &ReferenceData::default(), &Disclosure::default()).unwrap();
    assert_eq!(t.total(2022).unwrap().suppressed, Some(Suppression::TooFewPersons));
    assert_eq!(t.total(2022).unwrap().persons, None);
}

fn check_no_single_hidden(t: &Table) {
    let years: HashSet<i32> = t.rows.iter().map(|r| r.year).collect();
    for y in years {
        let cells: Vec<_> = t.rows.iter().filter(|r| r.year == y && r.kind == RowKind::Cell).collect();
        let total = t.rows.iter().find(|r| r.year == y && r.kind == RowKind::Total).unwrap();
        let hidden =
            cells.iter().filter(|r| r.cell.suppressed.is_some()).count() + usize::from(total.cell.suppressed.is_some());
        assert_ne!(hidden, 1, "year {y}: one hidden entry in cells + total");
        for sub in t.rows.iter().filter(|r| r.year == y && r.kind == RowKind::Subtotal) {
            let inner = cells.iter().filter(|r| r.key[0] == sub.key[0]).filter(|r| r.cell.suppressed.is_some()).count();
            assert_ne!(inner + usize::from(sub.cell.suppressed.is_some()), 1, "{:?}: one hidden entry", sub.key);
        }
    }
}

#[test]
fn invalid_queries_name_the_field_and_the_rule() {
    let cube = partner().world.cube();
    let refs = ReferenceData::default();
    let ask = |q: Query| cube.query(&q, &refs, &Disclosure::default()).unwrap_err();
    let field = |e: Error| match e {
        Error::InvalidQuery { field, rule } => (field, rule),
        other => panic!("{other}"),
    };
    assert_eq!(field(ask(Query::new("happiness", 2024))).0, "indicator");
    let (f, rule) = field(ask(Query::new("members", 2024).group_by(&[Dimension::City, Dimension::City])));
    assert_eq!((f.as_str(), rule.as_str()), ("group_by[1]", "repeats dimension city"));
    assert_eq!(field(ask(Query::new("members", 2024).years(2025, 2020))).0, "years");
    assert_eq!(field(ask(Query::new("members", 2024).filter(Dimension::Family, &[]))).0, "filters.family");
    let e = Dimension::parse_list(&["city", "planet"]).unwrap_err();
    assert_eq!(field(e).0, "group_by[1]");
}

#[test]
fn reference_data_errors_name_the_line_and_load_nothing() {
    let header = "area_scheme,area_code,area_version,year,population\n";
    let load = |body: &str| AreaFigures::population_from_reader(format!("{header}{body}").as_bytes());
    let line_of = |r: imece_indicators::Result<AreaFigures>| match r {
        Err(Error::ReferenceData { line, reason, .. }) => (line, reason),
        other => panic!("{other:?}"),
    };
    let (line, reason) = line_of(load("lau,IT_035033,2021,2024,170000\nlau,TR_35,2021,2024,-5\n"));
    assert_eq!(line, 3);
    assert!(reason.contains("must not be negative"), "{reason}");
    let (line, reason) = line_of(load("lau,IT_035033,2021,2024,1.5\n"));
    assert_eq!(line, 2);
    assert!(reason.contains("whole number"), "{reason}");
    let (line, reason) = line_of(load("lau,IT_035033,2021,2024,1\ncountry,IT,,2024,5\nlau,IT_035033,2021,2024,2\n"));
    assert_eq!(line, 4);
    assert!(reason.contains("duplicate of line 2"), "{reason}");
    let (line, reason) = line_of(load("lau,IT_035033,2021,2024\n"));
    assert_eq!(line, 2);
    assert!(reason.contains("expected 5 fields"), "{reason}");
    let (line, reason) = line_of(load("county,IT,,2024,5\n"));
    assert_eq!(line, 2);
    assert!(reason.contains("area_scheme"), "{reason}");
    let (line, reason) = line_of(AreaFigures::population_from_reader("area,year,population\n".as_bytes()));
    assert_eq!(line, 1);
    assert!(reason.contains("unknown column \"area\""), "{reason}");
    let (line, _) = line_of(AreaFigures::population_from_reader("".as_bytes()));
    assert_eq!(line, 1);
    // Columns in another order are fine, and blank lines are ignored.
    let ok = AreaFigures::population_from_reader(
        "year,population,area_scheme,area_code,area_version\n2024,10,country,IT,\n\n".as_bytes(),
    )
    .unwrap();
    assert_eq!(ok.len(), 1);

    let rates = |body: &str| ExchangeRates::from_reader(format!("date,base,quote,rate,source\n{body}").as_bytes());
    let line_of = |r: imece_indicators::Result<ExchangeRates>| match r {
        Err(Error::ReferenceData { line, reason, .. }) => (line, reason),
        other => panic!("{other:?}"),
    };
    let (line, reason) = line_of(rates("2024-12-31,EUR,TRY,40,ECB\n2024-12-31,EUR,XYZ,1,ECB\n"));
    assert_eq!(line, 3);
    assert!(reason.starts_with("quote:") && reason.contains("XYZ"), "{reason}");
    let (line, reason) = line_of(rates("2024-12-31,EUR,TRY,0,ECB\n"));
    assert_eq!(line, 2);
    assert!(reason.contains("positive"), "{reason}");
    let (line, reason) = line_of(rates("31/12/2024,EUR,TRY,40,ECB\n"));
    assert_eq!(line, 2);
    assert!(reason.starts_with("date:"), "{reason}");
    let (line, reason) = line_of(rates("2024-12-31,EUR,TRY,40,\n"));
    assert_eq!(line, 2);
    assert!(reason.starts_with("source:"), "{reason}");
    let (line, _) = line_of(rates("\"2024-12-31,EUR,TRY,40,ECB\n"));
    assert_eq!(line, 2);
}

#[test]
fn a_rate_of_an_earlier_year_is_not_used() {
    let rates =
        ExchangeRates::from_reader("date,base,quote,rate,source\n2023-12-29,EUR,TRY,32,ECB\n".as_bytes()).unwrap();
    assert!(rates.rate(Currency::EUR, Currency::TRY, d(2023, 12, 31)).is_ok());
    assert_eq!(
        rates.rate(Currency::EUR, Currency::TRY, d(2024, 12, 31)),
        Err(Error::MissingRate { from: Currency::EUR, to: Currency::TRY, date: d(2024, 12, 31) })
    );
}

#[test]
fn the_snapshot_restores_the_same_figures() {
    let world = partner().world;
    let facts = world.facts();
    let bytes = facts.encode().unwrap();
    let restored = Facts::decode(&bytes).unwrap();
    assert_eq!(restored.next_position(), facts.next_position());
    let a = Cube::build(&facts, CubeOptions::default());
    let b = Cube::build(&restored, CubeOptions::default());
    for id in ["members", "capital_concentration_top10", "women_share_boards", "omov_compliance", "turnover"] {
        let q = Query::new(id, 2020).years(2020, 2025).group_by(&[Dimension::City]);
        assert_eq!(open(&a, &q).rows, open(&b, &q).rows, "{id}");
    }
    assert!(matches!(Facts::decode(b"{not json"), Err(Error::Snapshot { .. })));
}

#[test]
fn a_refreshed_cube_equals_a_rebuilt_one() {
    let world = partner().world;
    let split = world.events.len() - 10;
    let mut facts = Facts::empty();
    for e in &world.events[..split] {
        facts.apply(e).unwrap();
    }
    let mut cube = Cube::build(&facts, CubeOptions::default());
    for e in &world.events[split..] {
        facts.apply(e).unwrap();
    }
    cube.refresh(&facts);
    let rebuilt = Cube::build(&facts, CubeOptions::default());
    for ind in CATALOGUE.iter().filter(|i| i.area_figure().is_none()) {
        let q = Query::new(ind.id, 2018).years(2018, 2025).group_by(&[Dimension::Country]);
        assert_eq!(open(&cube, &q).rows, open(&rebuilt, &q).rows, "{}", ind.id);
    }
}

#[test]
fn an_event_that_does_not_decode_stops_the_fold_at_its_position() {
    let mut world = partner().world;
    let mut bad = world.events[3].clone();
    bad.event_type = "MemberAdmitted.v1".into();
    bad.data = bytes::Bytes::from_static(b"{\"occurred_on\": 12}");
    bad.position = 99;
    world.events.push(bad);
    let mut facts = Facts::empty();
    let mut result = Ok(());
    for e in &world.events {
        result = facts.apply(e);
        if result.is_err() {
            break;
        }
    }
    match result {
        Err(Error::Event { position: 99, event_type, .. }) => assert_eq!(event_type, "MemberAdmitted.v1"),
        other => panic!("{other:?}"),
    }
    // The position stays at the failed event, to be applied again once the cause is fixed.
    assert_eq!(facts.next_position(), world.events.len() as u64 - 1);
    // Types no indicator reads are skipped without being decoded.
    let mut skipped = world.events[0].clone();
    skipped.event_type = "ResolutionVoted.v1".into();
    skipped.data = bytes::Bytes::from_static(b"not json at all");
    assert!(Facts::empty().apply(&skipped).is_ok());
}

#[test]
fn the_youth_age_is_an_option_of_the_cube() {
    let world = partner().world;
    let cube = Cube::build(&world.facts(), CubeOptions { youth_age: 35 });
    // O1: m1 (34) and m2 (24) are young under 35; O6's snapshot knows only "under 30": missing.
    let (v, cell) = whole(&cube, "youth_share_members", 2024);
    assert_eq!((v, cell.excluded_missing), (dec("0.666667"), 2));
}
