//! From the domain to the wire: findings and the organisation's summary.

use super::valid::*;
use super::*;
use crate::registry::Written;

fn decide(org: &mut Organisation, write: Write) -> Vec<Event> {
    let rules = RuleBook::standard();
    let name = write.command.name();
    let events = org.decide(write.command, &Context::new(TODAY, &rules)).unwrap_or_else(|e| panic!("{name}: {e}"));
    events.iter().for_each(|e| org.apply(e));
    events
}

fn write(request: impl TryInto<Write, Error = Error>) -> Write {
    request.try_into().unwrap()
}

#[test]
fn a_write_reply_carries_the_findings_recorded_with_the_fact() {
    let mut org = Organisation::default();
    decide(&mut org, write(register_organisation()));
    // 5 % to the legal reserve, where Law 1163 art. 39 asks for 10 %.
    let allocation = pb::AllocateSurplusRequest { assembly: None, capital_interest: None, ..allocate_surplus() };
    let events = decide(&mut org, write(allocation));
    let findings: Vec<ComplianceFindingRecorded> = events
        .into_iter()
        .filter_map(|e| match e {
            Event::ComplianceFindingRecorded(f) => Some(f),
            _ => None,
        })
        .collect();
    let written = Written { stream_version: 1, first_position: 41, last_position: 42, findings };
    let reply = write_reply(&written);
    assert_eq!((reply.stream_version, reply.first_position, reply.last_position), (1, 41, 42));
    let [finding] = reply.findings.as_slice() else { panic!("one finding: {:?}", reply.findings) };
    assert_eq!((finding.rule.as_str(), finding.legal_reference.as_str()), ("TR.legal-reserve", "Law 1163 art. 39"));
    assert_eq!(finding.in_force_since, "1969-05-10");
    assert!(!finding.field.is_empty() && !finding.requirement.is_empty() && !finding.found.is_empty(), "{finding:?}");
}

#[test]
fn an_unregistered_organisation_has_no_summary() {
    assert_eq!(organisation(&Organisation::default(), TODAY), None);
}

#[test]
fn the_summary_shows_what_the_history_left() {
    let mut org = Organisation::default();
    decide(&mut org, write(register_organisation()));
    decide(
        &mut org,
        crate::convert::enrol_person(enrol_person_request()).unwrap().seal(|_, _| Ok::<_, Error>(sealed())).unwrap(),
    );
    decide(&mut org, write(admit_member()));
    let second = pb::AdmitMemberRequest {
        membership: OTHER_MEMBERSHIP.into(),
        category: pb::MemberCategory::Worker as i32,
        ..admit_member()
    };
    decide(&mut org, write(second));
    decide(&mut org, write(pb::AmendStatuteRequest { assembly: None, ..amend_statute() }));
    decide(&mut org, write(change_organ_member()));
    decide(&mut org, write(change_affiliation()));
    decide(&mut org, write(resolve_dissolution()));

    let summary = organisation(&org, TODAY).unwrap();
    assert_eq!(
        summary,
        pb::Organisation {
            organisation_id: ORG.into(),
            stream_version: 7,
            names: register_organisation().names,
            phase: Some(pb::Phase {
                kind: Some(pb::phase::Kind::InLiquidation(pb::phase::InLiquidation { since: "2025-09-01".into() })),
            }),
            family: pb::Family::Cooperative as i32,
            country: "TR".into(),
            founded_on: "2021-02-15".into(),
            registered_on: "2021-03-01".into(),
            fiscal_year_end: Some(pb::FiscalYearEnd { month: 12, day: 31 }),
            statute: Some(pb::Statute {
                amended_on: "2022-05-20".into(),
                assembly: None,
                voting_rule: pb::VotingRule::OneMemberOneVote as i32,
                max_votes_per_member: 1,
                proxy_limit: 1,
                min_share_value: pb_money("100", "TRY"),
                indivisible_reserve_clause: true,
            }),
            members_as_of: "2026-06-30".into(),
            // One person, admitted in two categories.
            members: 1,
            memberships: 2,
            organs: vec![pb::OrganSeats { organ: pb::Organ::Board as i32, held: 1 }],
            affiliations: vec!["tarko birliği".into()],
        }
    );
}

#[test]
fn the_phase_of_a_going_and_of_a_closed_organisation() {
    let mut org = Organisation::default();
    decide(&mut org, write(register_organisation()));
    let phase = |org: &Organisation| organisation(org, TODAY).unwrap().phase.unwrap().kind.unwrap();
    assert_eq!(phase(&org), pb::phase::Kind::Going(pb::phase::Going { status: pb::Status::Active as i32 }));

    // Absorbed by another organisation: closed, and merged into it.
    let merger =
        pb::CompleteMergerRequest { absorbing: OTHER_ORG.into(), absorbed: vec![ORG.into()], ..complete_merger() };
    decide(&mut org, write(merger));
    assert_eq!(
        phase(&org),
        pb::phase::Kind::Closed(pb::phase::Closed { on: "2025-06-30".into(), merged_into: Some(OTHER_ORG.into()) })
    );
}
