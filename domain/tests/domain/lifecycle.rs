//! Organisation life cycle: registration, dates, dissolution and what may follow it.

use imece_domain::testing::{TODAY, given};
use imece_domain::time::macros::date;
use imece_domain::*;

use crate::support::*;

fn renamed(on: Date) -> Command {
    Command::Rename(OrganisationRenamed { occurred_on: on, names: Names::legal("Tire Süt") })
}

#[test]
fn registers_a_tr_cooperative_with_seven_founders() {
    let c = OrganisationRegistered { founders: 7, ..tr_coop() };
    given([]).when(Command::Register(c.clone())).then_expect_events(vec![c.into()]);
}

#[test]
fn refuses_a_tr_cooperative_with_fewer_than_seven_founders() {
    let err = given([])
        .when(Command::Register(OrganisationRegistered { founders: 6, ..tr_coop() }))
        .then_expect_refused("founders");
    let rule = err.rule().unwrap();
    assert!(rule.contains("at least 7") && rule.contains("Law 1163 art. 2") && rule.contains("found 6"), "{rule}");
}

#[test]
fn the_founders_rule_binds_only_cooperatives_and_only_in_tr() {
    let association =
        OrganisationRegistered { family: Family::Association, cooperative_type: None, founders: 2, ..tr_coop() };
    given([]).when(Command::Register(association)).then_events();
    given([]).when(Command::Register(OrganisationRegistered { founders: 3, ..it_coop() })).then_events();
}

#[test]
fn the_founders_rule_applies_from_the_date_it_came_into_force() {
    // Law 1163 was published on 10 May 1969: a registration before it is judged without it.
    let before = OrganisationRegistered {
        founded_on: date!(1968 - 11 - 01),
        occurred_on: date!(1968 - 12 - 01),
        founders: 5,
        ..tr_coop()
    };
    given([]).when(Command::Register(before)).then_events();
}

#[test]
fn a_rule_table_may_record_a_breach_instead_of_refusing_it() {
    let lenient = RuleBook::new(vec![Rule {
        id: "TR.founders".into(),
        jurisdiction: CountryCode::TR,
        valid_from: date!(1969 - 05 - 10),
        legal_reference: "Law 1163 art. 2".into(),
        requirement: Requirement::MinFounders(7),
        enforcement: Enforcement::Record,
    }]);
    let findings = given([])
        .rules(lenient)
        .when(Command::Register(OrganisationRegistered { founders: 6, ..tr_coop() }))
        .then_expect_findings(&["TR.founders"]);
    assert_eq!(findings[0].subject, Subject::Registration);
    assert_eq!(findings[0].field, "founders");
}

#[test]
fn refuses_a_second_registration() {
    given([tr_coop().into()]).when(Command::Register(tr_coop())).then_expect_refused("organisation");
}

#[test]
fn refuses_a_registration_dated_in_the_future_or_before_the_founding() {
    let future = OrganisationRegistered { occurred_on: date!(2026 - 07 - 01), ..tr_coop() };
    given([]).when(Command::Register(future)).then_expect_invalid("occurred_on");
    let backwards = OrganisationRegistered { founded_on: date!(2020 - 03 - 01), ..tr_coop() };
    given([]).when(Command::Register(backwards)).then_expect_invalid("founded_on");
}

#[test]
fn refuses_a_registration_with_codes_that_do_not_fit() {
    let mut c = tr_coop();
    c.seat.lau = Code::lau("IT_035033", "2021").unwrap();
    given([]).when(Command::Register(c)).then_expect_invalid("seat.lau.code");

    let mut c = tr_coop();
    c.seat.nuts3 = Code::nuts("TR31", "2021").unwrap();
    given([]).when(Command::Register(c)).then_expect_invalid("seat.nuts3.code");

    let mut c = tr_coop();
    c.activity.primary = Code::nuts("TR310", "2021").unwrap();
    given([]).when(Command::Register(c)).then_expect_invalid("activity.primary.scheme");

    let mut c = tr_coop();
    c.activity.secondary = vec![Code { scheme: Scheme::Nace, code: "1".into(), version: "2".into() }];
    given([]).when(Command::Register(c)).then_expect_invalid("activity.secondary[0].code");

    let mut c = tr_coop();
    c.external_ids = vec![serde_json::from_str(r#""FR-SIREN-123456789""#).unwrap()];
    given([]).when(Command::Register(c)).then_expect_invalid("external_ids[0].id");

    let c = OrganisationRegistered { family: Family::Association, ..tr_coop() };
    given([]).when(Command::Register(c)).then_expect_invalid("cooperative_type");

    let c = OrganisationRegistered { subscribed_capital: Some(tl("-1")), ..tr_coop() };
    given([]).when(Command::Register(c)).then_expect_invalid("subscribed_capital");
}

#[test]
fn nothing_is_recorded_about_an_organisation_never_registered() {
    given([]).when(renamed(date!(2024 - 01 - 01))).then_expect_refused("organisation");
}

#[test]
fn no_decision_is_dated_in_the_future() {
    let err = given([tr_coop().into()]).when(renamed(date!(2026 - 07 - 01))).then_expect_invalid("occurred_on");
    assert!(err.rule().unwrap().contains("after today, 2026-06-30"), "{err}");
    given([tr_coop().into()]).when(renamed(TODAY)).then_events();
}

#[test]
fn no_decision_is_dated_before_the_founding() {
    let err = given([tr_coop().into()]).when(renamed(date!(2020 - 01 - 09))).then_expect_refused("occurred_on");
    assert!(err.rule().unwrap().contains("2020-01-10"), "{err}");
    given([tr_coop().into()]).when(renamed(date!(2020 - 01 - 10))).then_events();
}

#[test]
fn a_dissolved_organisation_takes_no_new_members_names_or_allocations() {
    let history =
        [tr_coop().into(), enrolled(1, Sex::Female, 1980, date!(2021 - 01 - 01)), dissolved(date!(2025 - 01 - 15))];
    let admit = Command::AdmitMember(MemberAdmitted {
        occurred_on: date!(2025 - 02 - 01),
        membership: membership(1),
        person: person(1),
        category: MemberCategory::Producer,
        shares: 1,
        subscribed_capital: tl("1000"),
    });
    let err = given(history.clone()).when(admit).then_expect_refused("organisation");
    assert!(err.rule().unwrap().contains("in liquidation since 2025-01-15"), "{err}");
    given(history.clone()).when(renamed(date!(2025 - 02 - 01))).then_expect_refused("organisation");
    let share = allocation(date!(2025 - 03 - 01), 2024, tl("100"), &[(SurplusKind::LegalReserve, tl("100"))]);
    given(history.clone()).when(Command::AllocateSurplus(share)).then_expect_refused("organisation");
    given(history).when(dissolved_command(date!(2025 - 02 - 01))).then_expect_refused("organisation");
}

fn dissolved_command(on: Date) -> Command {
    Command::ResolveDissolution(DissolutionResolved {
        occurred_on: on,
        kind: DissolutionKind::Voluntary,
        assembly: None,
        authority: None,
    })
}

#[test]
fn a_dissolved_organisation_still_records_what_winds_it_up() {
    let history = vec![
        tr_coop().into(),
        enrolled(1, Sex::Female, 1980, date!(2021 - 01 - 01)),
        admitted(1, 1, date!(2021 - 01 - 05), MemberCategory::Producer, tl("1000")),
        dissolved(date!(2025 - 01 - 15)),
    ];
    let leave = MemberLeft {
        occurred_on: date!(2025 - 02 - 01),
        membership: membership(1),
        reason: ExitReason::Dissolution,
        refund: Some(tl("1000")),
        appealed: false,
    };
    given(history.clone()).when(Command::RecordMemberLeaving(leave)).then_events();
    given(history.clone())
        .when(Command::ApproveAccounts(accounts(date!(2025 - 03 - 01), 2024, tl("-500"))))
        .then_events();
    let close = LiquidationClosed { occurred_on: date!(2025 - 06 - 01), residual_assets: tl("0"), devolved: vec![] };
    given(history).when(Command::CloseLiquidation(close)).then_events();
}

#[test]
fn a_closed_organisation_records_only_register_entries_and_erasures() {
    let history = vec![
        tr_coop().into(),
        enrolled(1, Sex::Female, 1980, date!(2021 - 01 - 01)),
        dissolved(date!(2025 - 01 - 15)),
        LiquidationClosed { occurred_on: date!(2025 - 06 - 01), residual_assets: tl("0"), devolved: vec![] }.into(),
    ];
    let org = Organisation::from_events(&history);
    assert!(matches!(org.phase(), Phase::Closed { .. }));
    let err = given(history.clone()).when(renamed(date!(2025 - 07 - 01))).then_expect_refused("organisation");
    assert!(err.rule().unwrap().contains("closed on 2025-06-01 (liquidated)"), "{err}");
    let reopen = StatusChanged { occurred_on: date!(2025 - 07 - 01), status: Status::Active, reason: None };
    given(history.clone()).when(Command::ChangeStatus(reopen)).then_expect_refused("organisation");
    let erase = MemberDataErased {
        occurred_on: date!(2025 - 07 - 01),
        person: person(1),
        key_id: key(1),
        requested_on: date!(2025 - 06 - 20),
    };
    given(history.clone()).when(Command::EraseMemberData(erase)).then_events();
    let struck_off = RegisterEntryRecorded {
        occurred_on: date!(2025 - 07 - 01),
        register: Register::TrKoopbis,
        entry_number: "35-1234".into(),
        from: date!(2020 - 02 - 01),
        until: Some(date!(2025 - 06 - 01)),
    };
    given(history).when(Command::RecordRegisterEntry(struck_off)).then_events();
}

#[test]
fn a_liquidation_hands_on_exactly_its_residual_assets() {
    let history = [tr_coop().into(), dissolved(date!(2025 - 01 - 15))];
    let close = |devolved: Vec<Devolution>| {
        Command::CloseLiquidation(LiquidationClosed {
            occurred_on: date!(2025 - 06 - 01),
            residual_assets: tl("1000"),
            devolved,
        })
    };
    let err = given(history.clone())
        .when(close(vec![Devolution { to: Recipient::MutualFund, amount: tl("600") }]))
        .then_expect_invalid("devolved");
    assert!(err.rule().unwrap().contains("add up to 600"), "{err}");
    given(history.clone())
        .when(close(vec![
            Devolution { to: Recipient::MutualFund, amount: tl("600") },
            Devolution { to: Recipient::State, amount: eur("400") },
        ]))
        .then_expect_invalid("devolved[1].amount");
    given(history.clone())
        .when(close(vec![
            Devolution { to: Recipient::MutualFund, amount: tl("600") },
            Devolution { to: Recipient::Members, amount: tl("400") },
        ]))
        .then_events();
    let early = LiquidationClosed { occurred_on: date!(2025 - 01 - 10), residual_assets: tl("0"), devolved: vec![] };
    given(history).when(Command::CloseLiquidation(early)).then_expect_refused("occurred_on");
}

#[test]
fn only_an_organisation_in_liquidation_closes_one() {
    let close = LiquidationClosed { occurred_on: date!(2025 - 06 - 01), residual_assets: tl("0"), devolved: vec![] };
    given([tr_coop().into()]).when(Command::CloseLiquidation(close)).then_expect_refused("organisation");
}

#[test]
fn going_back_to_active_revokes_a_dissolution() {
    let history = vec![tr_coop().into(), dissolved(date!(2025 - 01 - 15))];
    let revoke = StatusChanged {
        occurred_on: date!(2025 - 02 - 01),
        status: Status::Active,
        reason: Some("revoked by the assembly".into()),
    };
    let events = given(history.clone()).when(Command::ChangeStatus(revoke)).then_events();
    let mut after = history.clone();
    after.extend(events);
    assert_eq!(Organisation::from_events(&after).phase(), Phase::Going(Status::Active));
    given(after).when(renamed(date!(2025 - 03 - 01))).then_events();

    let suspend = StatusChanged { occurred_on: date!(2025 - 02 - 01), status: Status::Suspended, reason: None };
    given(history).when(Command::ChangeStatus(suspend)).then_expect_refused("organisation");
}

#[test]
fn a_status_change_must_change_something() {
    let same = StatusChanged { occurred_on: date!(2025 - 02 - 01), status: Status::Active, reason: None };
    given([tr_coop().into()]).when(Command::ChangeStatus(same)).then_expect_refused("status");
}

#[test]
fn a_dissolution_by_an_authority_names_it() {
    let court = DissolutionResolved {
        occurred_on: date!(2025 - 01 - 15),
        kind: DissolutionKind::Court,
        assembly: None,
        authority: None,
    };
    given([tr_coop().into()]).when(Command::ResolveDissolution(court)).then_expect_invalid("authority");
}

#[test]
fn a_merger_closes_the_absorbed_and_leaves_the_absorbing_going() {
    let other = OrgId::from_uuid(id(2));
    let absorbed_by_other = MergerCompleted {
        occurred_on: date!(2025 - 01 - 15),
        kind: MergerKind::Absorption,
        absorbing: other,
        absorbed: vec![org()],
    };
    let events = given([tr_coop().into()]).when(Command::CompleteMerger(absorbed_by_other.clone())).then_events();
    let state = Organisation::from_events(&[tr_coop().into(), events[0].clone()]);
    assert!(
        matches!(state.phase(), Phase::Closed { reason: organisation::ClosedReason::MergedInto(o), .. } if o == other)
    );

    let absorbing = MergerCompleted { absorbing: org(), absorbed: vec![other], ..absorbed_by_other.clone() };
    let events = given([tr_coop().into()]).when(Command::CompleteMerger(absorbing)).then_events();
    assert_eq!(Organisation::from_events(&[tr_coop().into(), events[0].clone()]).phase(), Phase::Going(Status::Active));

    let unrelated =
        MergerCompleted { absorbing: other, absorbed: vec![OrgId::from_uuid(id(3))], ..absorbed_by_other.clone() };
    given([tr_coop().into()]).when(Command::CompleteMerger(unrelated)).then_expect_invalid("absorbing");
    let itself = MergerCompleted { absorbing: org(), absorbed: vec![org()], ..absorbed_by_other };
    given([tr_coop().into()]).when(Command::CompleteMerger(itself)).then_expect_invalid("absorbed[0]");
}

#[test]
fn a_legal_form_conversion_starts_from_the_current_form() {
    let to = LegalForm { elf: None, national: "şirket".into() };
    let convert = |from: LegalForm, to: LegalForm| {
        Command::ConvertLegalForm(LegalFormConverted {
            occurred_on: date!(2025 - 01 - 15),
            from,
            to,
            family: Family::Other,
            assets_devolved: Some(tl("10000")),
        })
    };
    given([tr_coop().into()]).when(convert(tr_coop().legal_form, to.clone())).then_events();
    given([tr_coop().into()]).when(convert(to.clone(), to.clone())).then_expect_refused("from");
    given([tr_coop().into()]).when(convert(tr_coop().legal_form, tr_coop().legal_form)).then_expect_invalid("to");
}

fn affiliation(change: AffiliationChange, on: Date) -> Command {
    Command::ChangeAffiliation(AffiliationChanged {
        occurred_on: on,
        federation: Federation { name: "TMKB".into(), organisation: None, external_id: None },
        change,
    })
}

#[test]
fn an_organisation_joins_a_federation_once_and_leaves_it_once() {
    let joined =
        given([tr_coop().into()]).when(affiliation(AffiliationChange::Joined, date!(2021 - 01 - 01))).then_events();
    let history = [tr_coop().into(), joined[0].clone()];
    given(history.clone())
        .when(affiliation(AffiliationChange::Joined, date!(2022 - 01 - 01)))
        .then_expect_refused("federation");
    given([tr_coop().into()])
        .when(affiliation(AffiliationChange::Left, date!(2022 - 01 - 01)))
        .then_expect_refused("federation");
    let mut in_liquidation = history.to_vec();
    in_liquidation.push(dissolved(date!(2025 - 01 - 15)));
    given(in_liquidation.clone()).when(affiliation(AffiliationChange::Left, date!(2025 - 02 - 01))).then_events();
    given(in_liquidation)
        .when(affiliation(AffiliationChange::Joined, date!(2025 - 02 - 01)))
        .then_expect_refused("organisation");
}

fn commons(agreement_n: u128) -> CommonsAgreementSigned {
    CommonsAgreementSigned {
        occurred_on: date!(2023 - 04 - 01),
        agreement: agreement(agreement_n),
        municipality: Code::lau("TR_35", "2021").unwrap(),
        asset: "Mahalle bostanı, Buca".into(),
        asset_kind: CommonsAsset::Garden,
        instrument: "protokol".into(),
        parties: vec![Party {
            name: "İzmir Büyükşehir Belediyesi".into(),
            kind: PartyKind::PublicBody,
            organisation: None,
        }],
        citizen_signatories: 0,
        from: date!(2023 - 04 - 01),
        until: None,
    }
}

#[test]
fn a_commons_agreement_is_signed_once_and_ended_once() {
    let signed = commons(1);
    given([tr_coop().into()])
        .when(Command::SignCommonsAgreement(signed.clone()))
        .then_expect_events(vec![signed.clone().into()]);
    let history = [tr_coop().into(), signed.clone().into()];
    given(history.clone()).when(Command::SignCommonsAgreement(signed)).then_expect_refused("agreement");
    let end = |n| CommonsAgreementEnded {
        occurred_on: date!(2025 - 04 - 01),
        agreement: agreement(n),
        reason: AgreementEnd::Terminated,
    };
    let ended = given(history.clone()).when(Command::EndCommonsAgreement(end(1))).then_events();
    given([history[0].clone(), history[1].clone(), ended[0].clone()])
        .when(Command::EndCommonsAgreement(end(1)))
        .then_expect_refused("agreement");
    given(history).when(Command::EndCommonsAgreement(end(2))).then_expect_refused("agreement");
}

#[test]
fn a_commons_agreement_names_a_municipality_and_its_parties() {
    let c = CommonsAgreementSigned { municipality: Code::nuts("TR310", "2021").unwrap(), ..commons(1) };
    given([tr_coop().into()]).when(Command::SignCommonsAgreement(c)).then_expect_invalid("municipality.scheme");
    let c = CommonsAgreementSigned { parties: vec![], ..commons(1) };
    given([tr_coop().into()]).when(Command::SignCommonsAgreement(c)).then_expect_invalid("parties");
    let c = CommonsAgreementSigned { until: Some(date!(2023 - 03 - 01)), ..commons(1) };
    given([tr_coop().into()]).when(Command::SignCommonsAgreement(c)).then_expect_invalid("until");
}

#[test]
fn a_register_entry_belongs_to_the_seat_s_country() {
    let albo = RegisterEntryRecorded {
        occurred_on: date!(2021 - 01 - 01),
        register: Register::ItAlbo { section: AlboSection::Prevalent, category: "cooperative di produzione".into() },
        entry_number: "A1".into(),
        from: date!(2021 - 01 - 01),
        until: None,
    };
    given([tr_coop().into()]).when(Command::RecordRegisterEntry(albo.clone())).then_expect_refused("register");
    given([it_coop().into()]).when(Command::RecordRegisterEntry(albo.clone())).then_events();
    let backwards = RegisterEntryRecorded { until: Some(date!(2020 - 01 - 01)), ..albo };
    given([it_coop().into()]).when(Command::RecordRegisterEntry(backwards)).then_expect_invalid("until");
}

#[test]
fn a_statute_of_one_member_one_vote_gives_one_vote() {
    let s = StatuteAmended { max_votes_per_member: 3, ..statute(date!(2022 - 01 - 01), 1) };
    given([tr_coop().into()]).when(Command::AmendStatute(s)).then_expect_invalid("max_votes_per_member");
    let weighted = StatuteAmended {
        voting_rule: VotingRule::Weighted,
        max_votes_per_member: 3,
        ..statute(date!(2022 - 01 - 01), 1)
    };
    given([tr_coop().into()]).when(Command::AmendStatute(weighted)).then_events();
}

#[test]
fn renames_relocations_and_reclassifications_are_checked() {
    let blank = OrganisationRenamed { occurred_on: date!(2022 - 01 - 01), names: Names::legal("") };
    given([tr_coop().into()]).when(Command::Rename(blank)).then_expect_invalid("names.legal");
    let mut seat = tr_coop().seat;
    seat.country = CountryCode::IT;
    let moved = SeatRelocated { occurred_on: date!(2022 - 01 - 01), seat };
    given([tr_coop().into()]).when(Command::RelocateSeat(moved)).then_expect_invalid("seat.lau.code");
    let activity = Activity { primary: Code::nace("10.51", "2.1").unwrap(), secondary: vec![] };
    let c = ActivityReclassified { occurred_on: date!(2025 - 01 - 01), activity };
    given([tr_coop().into()]).when(Command::ReclassifyActivity(c.clone())).then_expect_events(vec![c.into()]);
}
