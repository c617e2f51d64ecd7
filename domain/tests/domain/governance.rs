//! Governance: assemblies and their attendance, proxies within the statute and the law,
//! resolutions, elections and seats.

use imece_domain::testing::given;
use imece_domain::time::macros::date;
use imece_domain::*;

use crate::support::*;

const CALLED: Date = date!(2025 - 04 - 01);
const HELD: Date = date!(2025 - 04 - 26);

fn convened_tr() -> Vec<Event> {
    vec![tr_coop().into(), convened(1, CALLED)]
}

fn record(held: GeneralAssemblyHeld) -> Command {
    Command::RecordAssembly(held)
}

#[test]
fn an_assembly_within_every_limit_is_recorded_as_it_was() {
    let h = GeneralAssemblyHeld {
        present_online: Some(5),
        present_women: Some(20),
        present_under_30: Some(4),
        max_proxies_per_holder: Some(1),
        ..held(1, HELD, 200, 80, 30)
    };
    given(convened_tr()).when(record(h.clone())).then_expect_events(vec![h.into()]);
}

#[test]
fn present_and_proxies_never_exceed_the_eligible_members() {
    let err = given(convened_tr()).when(record(held(1, HELD, 50, 40, 15))).then_expect_invalid("proxies");
    assert_eq!(err.rule(), Some("present (40) plus proxies (15) must not exceed the eligible members (50)"));
    given(convened_tr()).when(record(held(1, HELD, 55, 40, 15))).then_events();
}

#[test]
fn the_detail_of_attendance_stays_within_those_present() {
    let h = GeneralAssemblyHeld { present_online: Some(81), ..held(1, HELD, 200, 80, 0) };
    given(convened_tr()).when(record(h)).then_expect_invalid("present_online");
    let h = GeneralAssemblyHeld { present_women: Some(81), ..held(1, HELD, 200, 80, 0) };
    given(convened_tr()).when(record(h)).then_expect_invalid("present_women");
    let h = GeneralAssemblyHeld { max_proxies_per_holder: Some(3), ..held(1, HELD, 200, 80, 2) };
    given(convened_tr()).when(record(h)).then_expect_invalid("max_proxies_per_holder");
}

#[test]
fn in_tr_a_member_carries_one_proxy_and_a_breach_is_recorded_with_its_finding() {
    let h = GeneralAssemblyHeld { max_proxies_per_holder: Some(2), ..held(1, HELD, 500, 100, 30) };
    let findings = given(convened_tr()).when(record(h)).then_expect_findings(&["TR.proxies"]);
    let f = &findings[0];
    assert_eq!(f.subject, Subject::Assembly { assembly: assembly(1) });
    assert_eq!(
        (f.field.as_str(), f.legal_reference.as_str(), f.found.as_str()),
        ("max_proxies_per_holder", "Law 1163 art. 49", "a member carried 2")
    );
    assert_eq!(f.occurred_on, HELD);
    assert!(f.requirement.contains("at most 1 proxies"), "{}", f.requirement);
}

#[test]
fn in_tr_more_proxies_than_members_present_is_a_breach_even_undeclared() {
    let findings =
        given(convened_tr()).when(record(held(1, HELD, 500, 100, 120))).then_expect_findings(&["TR.proxies"]);
    assert_eq!(findings[0].field, "proxies");
}

#[test]
fn in_tr_above_a_thousand_members_a_member_carries_up_to_nine() {
    let nine = GeneralAssemblyHeld { max_proxies_per_holder: Some(9), ..held(1, HELD, 1500, 100, 400) };
    given(convened_tr()).when(record(nine)).then_expect_findings(&[]);
    let ten = GeneralAssemblyHeld { max_proxies_per_holder: Some(10), ..held(1, HELD, 1500, 100, 400) };
    let findings = given(convened_tr()).when(record(ten)).then_expect_findings(&["TR.proxies"]);
    assert!(findings[0].requirement.contains("at most 9"), "{}", findings[0].requirement);
    // At exactly 1,000 members the limit is still one.
    let two = GeneralAssemblyHeld { max_proxies_per_holder: Some(2), ..held(1, HELD, 1000, 100, 400) };
    given(convened_tr()).when(record(two)).then_expect_findings(&["TR.proxies"]);
}

#[test]
fn the_statute_s_proxy_limit_binds_too() {
    // Italy leaves proxies to the statute: here two per member.
    let history = vec![it_coop().into(), statute(date!(2010 - 05 - 01), 2).into(), convened(1, CALLED)];
    let three = GeneralAssemblyHeld { max_proxies_per_holder: Some(3), ..held(1, HELD, 100, 40, 10) };
    let findings = given(history.clone()).when(record(three)).then_expect_findings(&["statute.proxy-limit"]);
    assert_eq!(findings[0].legal_reference, "statute as amended on 2010-05-01");
    let two = GeneralAssemblyHeld { max_proxies_per_holder: Some(2), ..held(1, HELD, 100, 40, 10) };
    given(history).when(record(two)).then_expect_findings(&[]);
    // In TR the law and the statute are each checked, and each breach is its own finding.
    let history = vec![tr_coop().into(), statute(date!(2021 - 05 - 01), 1).into(), convened(1, CALLED)];
    let two = GeneralAssemblyHeld { max_proxies_per_holder: Some(2), ..held(1, HELD, 100, 40, 10) };
    given(history).when(record(two)).then_expect_findings(&["TR.proxies", "statute.proxy-limit"]);
}

#[test]
fn proxy_law_binds_cooperatives_only() {
    let history = vec![fr_association().into(), convened(1, CALLED)];
    given(history).when(record(held(1, HELD, 100, 10, 50))).then_expect_findings(&[]);
}

#[test]
fn an_assembly_is_convened_once_and_held_once_after_its_call() {
    given([tr_coop().into()]).when(record(held(1, HELD, 100, 50, 0))).then_expect_refused("assembly");
    given(convened_tr()).when(record(held(1, date!(2025 - 03 - 31), 100, 50, 0))).then_expect_refused("occurred_on");
    let mut history = convened_tr();
    history.push(held(1, HELD, 100, 50, 0).into());
    given(history.clone()).when(record(held(1, HELD, 100, 50, 0))).then_expect_refused("assembly");
    let Event::GeneralAssemblyConvened(call) = convened(1, CALLED) else { unreachable!() };
    given(history).when(Command::ConveneAssembly(call.clone())).then_expect_refused("assembly");
    let early = GeneralAssemblyConvened { assembly: assembly(2), first_call: date!(2025 - 03 - 01), ..call.clone() };
    given(convened_tr()).when(Command::ConveneAssembly(early)).then_expect_invalid("first_call");
    let second_first =
        GeneralAssemblyConvened { assembly: assembly(2), second_call: Some(date!(2025 - 04 - 02)), ..call };
    given(convened_tr()).when(Command::ConveneAssembly(second_first)).then_expect_invalid("second_call");
}

fn vote(item: u32, votes_for: u32, against: u32, abstentions: u32) -> Command {
    Command::RecordResolution(ResolutionVoted {
        occurred_on: HELD,
        assembly: assembly(1),
        item,
        topic: Topic::Accounts,
        votes_for,
        votes_against: against,
        abstentions,
        outcome: Outcome::Adopted,
    })
}

#[test]
fn resolutions_follow_a_held_assembly_and_count_no_more_votes_than_voters() {
    given(convened_tr()).when(vote(1, 10, 0, 0)).then_expect_refused("assembly");
    let mut history = convened_tr();
    history.push(held(1, HELD, 100, 50, 10).into());
    given(history.clone()).when(vote(1, 55, 3, 2)).then_events();
    given(history.clone()).when(vote(1, 55, 3, 3)).then_expect_invalid("votes_for");
    given(history.clone()).when(vote(0, 1, 0, 0)).then_expect_invalid("item");
    history.extend(given(history.clone()).when(vote(1, 55, 3, 2)).then_events());
    given(history).when(vote(1, 55, 3, 2)).then_expect_refused("item");
}

#[test]
fn weighted_voting_allows_more_votes_than_voters_up_to_the_statute_s_cap() {
    let weighted = StatuteAmended {
        voting_rule: VotingRule::Weighted,
        max_votes_per_member: 3,
        ..statute(date!(2021 - 01 - 01), 1)
    };
    let history = vec![tr_coop().into(), weighted.into(), convened(1, CALLED), held(1, HELD, 100, 50, 10).into()];
    given(history.clone()).when(vote(1, 150, 20, 10)).then_events();
    given(history).when(vote(1, 150, 20, 11)).then_expect_invalid("votes_for");
}

fn election(seats: u32, candidates: u32) -> OrganElected {
    OrganElected {
        occurred_on: HELD,
        organ: Organ::Board,
        assembly: None,
        term_from: HELD,
        term_until: Some(date!(2028 - 04 - 26)),
        seats,
        candidates,
        women_elected: Some(2),
        under_30_elected: Some(1),
        new_holders: Some(3),
    }
}

#[test]
fn an_election_fills_no_more_seats_than_candidates_stood() {
    given(convened_tr()).when(Command::RecordElection(election(5, 9))).then_events();
    given(convened_tr()).when(Command::RecordElection(election(5, 4))).then_expect_invalid("candidates");
    given(convened_tr()).when(Command::RecordElection(election(0, 4))).then_expect_invalid("seats");
    let e = OrganElected { women_elected: Some(6), ..election(5, 9) };
    given(convened_tr()).when(Command::RecordElection(e)).then_expect_invalid("women_elected");
    let e = OrganElected { term_until: Some(HELD), ..election(5, 9) };
    given(convened_tr()).when(Command::RecordElection(e)).then_expect_invalid("term_until");
    let e = OrganElected { assembly: Some(assembly(1)), ..election(5, 9) };
    given(convened_tr()).when(Command::RecordElection(e)).then_expect_refused("assembly");
}

fn seat(change: SeatChange) -> Command {
    Command::ChangeOrganMember(OrganMemberChanged { occurred_on: HELD, organ: Organ::Board, person: person(1), change })
}

#[test]
fn a_person_takes_a_seat_they_do_not_hold_and_leaves_one_they_do() {
    let history = vec![tr_coop().into(), enrolled(1, Sex::Female, 1990, date!(2021 - 01 - 01))];
    given([tr_coop().into()]).when(seat(SeatChange::Elected)).then_expect_refused("person");
    given(history.clone()).when(seat(SeatChange::Resigned)).then_expect_refused("person");
    let mut seated = history.clone();
    seated.extend(given(history).when(seat(SeatChange::Elected)).then_events());
    assert_eq!(Organisation::from_events(&seated).organ(Organ::Board).count(), 1);
    given(seated.clone()).when(seat(SeatChange::CoOpted)).then_expect_refused("person");
    given(seated).when(seat(SeatChange::Resigned)).then_events();
}
