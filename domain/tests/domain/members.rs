//! Members: enrolment, admission, capital, leaving, erasure, and the snapshot that may leave the
//! node.

use std::collections::BTreeMap;

use imece_domain::testing::given;
use imece_domain::time::macros::date;
use imece_domain::*;

use crate::support::*;

fn with_member() -> Vec<Event> {
    vec![
        tr_coop().into(),
        enrolled(1, Sex::Female, 1985, date!(2021 - 01 - 01)),
        admitted(1, 1, date!(2021 - 01 - 05), MemberCategory::Producer, tl("1000")),
    ]
}

fn leave(on: Date) -> Command {
    Command::RecordMemberLeaving(MemberLeft {
        occurred_on: on,
        membership: membership(1),
        reason: ExitReason::Withdrawal,
        refund: Some(tl("1000")),
        appealed: false,
    })
}

#[test]
fn enrols_a_person_with_their_data_sealed_and_admits_them() {
    let enrol = PersonEnrolled {
        occurred_on: date!(2021 - 01 - 01),
        person: person(1),
        person_kind: PersonKind::Natural { sex: Sex::Female, birth_year: Some(1985), personal_data: sealed(1) },
    };
    given([tr_coop().into()]).when(Command::EnrolPerson(enrol.clone())).then_expect_events(vec![enrol.clone().into()]);
    let admit = MemberAdmitted {
        occurred_on: date!(2021 - 01 - 05),
        membership: membership(1),
        person: person(1),
        category: MemberCategory::Producer,
        shares: 2,
        subscribed_capital: tl("1000"),
    };
    given([tr_coop().into(), enrol.into()])
        .when(Command::AdmitMember(admit.clone()))
        .then_expect_events(vec![admit.into()]);
    let state = Organisation::from_events(&with_member());
    assert_eq!(state.memberships_on(date!(2021 - 01 - 05)).count(), 1);
    assert_eq!(state.memberships_on(date!(2021 - 01 - 04)).count(), 0);
}

#[test]
fn a_person_is_enrolled_once_with_plausible_attributes() {
    let again = PersonEnrolled {
        occurred_on: date!(2022 - 01 - 01),
        person: person(1),
        person_kind: PersonKind::Natural { sex: Sex::Male, birth_year: None, personal_data: sealed(1) },
    };
    given(with_member()).when(Command::EnrolPerson(again)).then_expect_refused("person");
    let unborn = PersonEnrolled {
        occurred_on: date!(2022 - 01 - 01),
        person: person(2),
        person_kind: PersonKind::Natural { sex: Sex::Male, birth_year: Some(2027), personal_data: sealed(2) },
    };
    given(with_member()).when(Command::EnrolPerson(unborn)).then_expect_invalid("person_kind.birth_year");
    let unsealed = PersonEnrolled {
        occurred_on: date!(2022 - 01 - 01),
        person: person(2),
        person_kind: PersonKind::Natural {
            sex: Sex::Male,
            birth_year: None,
            personal_data: SealedPersonalData { ciphertext: vec![], ..sealed(2) },
        },
    };
    given(with_member())
        .when(Command::EnrolPerson(unsealed))
        .then_expect_invalid("person_kind.personal_data.ciphertext");
    let legal = PersonEnrolled {
        occurred_on: date!(2022 - 01 - 01),
        person: person(3),
        person_kind: PersonKind::Legal { name: "Tire Belediyesi".into(), external_id: None, organisation: None },
    };
    given(with_member()).when(Command::EnrolPerson(legal)).then_events();
}

#[test]
fn only_an_enrolled_person_is_admitted_once_per_category() {
    let admit = |n, person_n, category| {
        Command::AdmitMember(MemberAdmitted {
            occurred_on: date!(2022 - 01 - 01),
            membership: membership(n),
            person: person(person_n),
            category,
            shares: 1,
            subscribed_capital: tl("500"),
        })
    };
    given(with_member()).when(admit(2, 9, MemberCategory::User)).then_expect_refused("person");
    given(with_member()).when(admit(2, 1, MemberCategory::Producer)).then_expect_refused("person");
    given(with_member()).when(admit(1, 1, MemberCategory::User)).then_expect_refused("membership");
    given(with_member()).when(admit(2, 1, MemberCategory::User)).then_events();
    let Command::AdmitMember(no_shares) = admit(2, 1, MemberCategory::User) else { unreachable!() };
    given(with_member())
        .when(Command::AdmitMember(MemberAdmitted { shares: 0, ..no_shares }))
        .then_expect_invalid("shares");
}

#[test]
fn capital_is_paid_in_the_subscription_s_currency_by_a_current_member() {
    let pay = |amount| {
        Command::PayInCapital(CapitalPaidIn { occurred_on: date!(2022 - 01 - 01), membership: membership(1), amount })
    };
    given(with_member()).when(pay(tl("250"))).then_events();
    let err = given(with_member()).when(pay(eur("250"))).then_expect_invalid("amount");
    assert!(err.rule().unwrap().contains("TRY"), "{err}");
    given(with_member()).when(pay(tl("0"))).then_expect_invalid("amount");
    let mut left = with_member();
    left.extend(given(with_member()).when(leave(date!(2021 - 06 - 01))).then_events());
    given(left).when(pay(tl("250"))).then_expect_refused("membership");
}

#[test]
fn shares_pass_between_two_current_memberships_within_what_is_held() {
    let mut history = with_member();
    history.push(enrolled(2, Sex::Male, 1990, date!(2021 - 01 - 01)));
    history.push(admitted(2, 2, date!(2021 - 01 - 05), MemberCategory::Producer, tl("1000")));
    let transfer = |from, to, shares| {
        Command::TransferShares(SharesTransferred {
            occurred_on: date!(2022 - 01 - 01),
            from: membership(from),
            to: membership(to),
            shares,
            price: None,
        })
    };
    let events = given(history.clone()).when(transfer(1, 2, 2)).then_events();
    history.extend(events);
    let state = Organisation::from_events(&history);
    assert_eq!(
        (state.membership(membership(1)).unwrap().shares, state.membership(membership(2)).unwrap().shares),
        (0, 4)
    );
    given(history.clone()).when(transfer(1, 2, 1)).then_expect_refused("shares");
    given(history.clone()).when(transfer(2, 2, 1)).then_expect_invalid("to");
    given(history).when(transfer(2, 3, 1)).then_expect_refused("to");
}

#[test]
fn a_member_cannot_leave_twice() {
    let events = given(with_member()).when(leave(date!(2023 - 03 - 31))).then_events();
    let mut history = with_member();
    history.extend(events);
    let err = given(history).when(leave(date!(2023 - 04 - 30))).then_expect_refused("membership");
    assert!(err.rule().unwrap().contains("already left on 2023-03-31"), "{err}");
}

#[test]
fn a_member_leaves_after_joining_and_is_refunded_in_their_currency() {
    given(with_member()).when(leave(date!(2021 - 01 - 04))).then_expect_refused("occurred_on");
    let refund_in_euro = MemberLeft {
        occurred_on: date!(2023 - 03 - 31),
        membership: membership(1),
        reason: ExitReason::Death,
        refund: Some(eur("1000")),
        appealed: false,
    };
    given(with_member()).when(Command::RecordMemberLeaving(refund_in_euro)).then_expect_invalid("refund");
    let unknown = MemberLeft {
        membership: membership(7),
        reason: ExitReason::Expulsion,
        refund: None,
        appealed: true,
        occurred_on: date!(2023 - 03 - 31),
    };
    given(with_member()).when(Command::RecordMemberLeaving(unknown)).then_expect_refused("membership");
}

fn erase(key_n: u128) -> Command {
    Command::EraseMemberData(MemberDataErased {
        occurred_on: date!(2024 - 05 - 02),
        person: person(1),
        key_id: key(key_n),
        requested_on: date!(2024 - 04 - 20),
    })
}

#[test]
fn erasing_a_person_s_data_is_recorded_once_for_the_key_that_sealed_it() {
    let events = given(with_member()).when(erase(1)).then_events();
    given(with_member()).when(erase(2)).then_expect_invalid("key_id");
    let mut history = with_member();
    history.extend(events);
    given(history.clone()).when(erase(1)).then_expect_refused("person");
    // Someone whose data is gone cannot be admitted or seated again.
    let readmit = MemberAdmitted {
        occurred_on: date!(2024 - 06 - 01),
        membership: membership(5),
        person: person(1),
        category: MemberCategory::User,
        shares: 1,
        subscribed_capital: tl("100"),
    };
    given(history).when(Command::AdmitMember(readmit)).then_expect_refused("person");
}

#[test]
fn a_legal_person_has_no_personal_data_to_erase() {
    let history = vec![
        tr_coop().into(),
        PersonEnrolled {
            occurred_on: date!(2021 - 01 - 01),
            person: person(1),
            person_kind: PersonKind::Legal { name: "Tire Belediyesi".into(), external_id: None, organisation: None },
        }
        .into(),
    ];
    given(history).when(erase(1)).then_expect_refused("person");
}

/// Twelve natural persons and one legal person are members at the end of 2025; one left before,
/// one joined after.
fn register_of_members() -> Vec<Event> {
    let mut h = vec![tr_coop().into()];
    let joined = date!(2021 - 01 - 05);
    let people: [(Sex, u16, MemberCategory); 12] = [
        (Sex::Female, 1990, MemberCategory::Producer),
        (Sex::Female, 1990, MemberCategory::Producer),
        (Sex::Female, 1990, MemberCategory::Producer),
        (Sex::Female, 1990, MemberCategory::Producer),
        (Sex::Female, 1990, MemberCategory::Producer),
        (Sex::Female, 1990, MemberCategory::Producer),
        (Sex::Female, 2000, MemberCategory::Producer),
        (Sex::Female, 2000, MemberCategory::Producer),
        (Sex::Male, 2000, MemberCategory::Producer),
        (Sex::Male, 2000, MemberCategory::Producer),
        (Sex::Male, 1950, MemberCategory::User),
        (Sex::Other, 1950, MemberCategory::User),
    ];
    for (i, (sex, year, category)) in people.into_iter().enumerate() {
        let n = i as u128 + 1;
        h.push(enrolled(n, sex, year, joined));
        h.push(admitted(n, n, joined, category, tl("100")));
    }
    h.push(
        PersonEnrolled {
            occurred_on: joined,
            person: person(20),
            person_kind: PersonKind::Legal { name: "Tire Ziraat Odası".into(), external_id: None, organisation: None },
        }
        .into(),
    );
    h.push(admitted(20, 20, joined, MemberCategory::Producer, tl("100")));
    h.push(enrolled(21, Sex::Female, 1970, joined));
    h.push(admitted(21, 21, joined, MemberCategory::Producer, tl("100")));
    h.push(
        MemberLeft {
            occurred_on: date!(2024 - 01 - 01),
            membership: membership(21),
            reason: ExitReason::Withdrawal,
            refund: None,
            appealed: false,
        }
        .into(),
    );
    h.push(enrolled(22, Sex::Female, 1970, joined));
    h.push(admitted(22, 22, date!(2026 - 01 - 10), MemberCategory::Producer, tl("100")));
    h
}

#[test]
fn a_computed_snapshot_counts_members_on_its_date_and_suppresses_small_cells() {
    let events = given(register_of_members())
        .when(Command::ComputeMembershipSnapshot { occurred_on: date!(2026 - 01 - 15), as_of: date!(2025 - 12 - 31) })
        .then_events();
    let expected = MembershipSnapshotDeclared {
        occurred_on: date!(2026 - 01 - 15),
        as_of: date!(2025 - 12 - 31),
        source: SnapshotSource::Computed,
        members: 13,
        natural_persons: 12,
        legal_persons: 1,
        // 8 women; 3 men and 1 X are fewer than 5; no one of unknown sex.
        by_sex: BySex { female: Some(8), male: None, other: None, unknown: Some(0) },
        // 6 aged 35, 4 aged 25 and 2 aged 75.
        by_age: ByAge { under_30: None, from_30_to_64: Some(6), from_65: None, unknown: Some(0) },
        // 11 producers and 2 users: the users alone would be given away by the total, so the
        // producers are suppressed too.
        by_category: BTreeMap::from([(MemberCategory::User, None), (MemberCategory::Producer, None)]),
    };
    assert_eq!(events, vec![expected.into()]);
}

#[test]
fn one_suppressed_cell_takes_the_smallest_other_with_it() {
    let events = given(register_of_members())
        .disclosure_threshold(2)
        .when(Command::ComputeMembershipSnapshot { occurred_on: date!(2026 - 01 - 15), as_of: date!(2025 - 12 - 31) })
        .then_events();
    let Event::MembershipSnapshotDeclared(s) = &events[0] else { panic!("not a snapshot") };
    // Only X (1) is below 2; unknown (0) is the smallest other cell and goes with it.
    assert_eq!(s.by_sex, BySex { female: Some(8), male: Some(3), other: None, unknown: None });
}

#[test]
fn a_snapshot_is_not_dated_after_its_declaration_nor_before_the_founding() {
    given(register_of_members())
        .when(Command::ComputeMembershipSnapshot { occurred_on: date!(2025 - 01 - 15), as_of: date!(2025 - 12 - 31) })
        .then_expect_invalid("as_of");
    given(register_of_members())
        .when(Command::ComputeMembershipSnapshot { occurred_on: date!(2025 - 01 - 15), as_of: date!(2019 - 12 - 31) })
        .then_expect_refused("as_of");
}

fn declared() -> MembershipSnapshotDeclared {
    MembershipSnapshotDeclared {
        occurred_on: date!(2026 - 02 - 01),
        as_of: date!(2025 - 12 - 31),
        source: SnapshotSource::Declared,
        members: 120,
        natural_persons: 118,
        legal_persons: 2,
        by_sex: BySex { female: Some(50), male: Some(66), other: Some(0), unknown: Some(2) },
        by_age: ByAge { under_30: Some(10), from_30_to_64: Some(80), from_65: Some(28), unknown: Some(0) },
        by_category: BTreeMap::from([(MemberCategory::Producer, Some(110)), (MemberCategory::User, Some(12))]),
    }
}

#[test]
fn a_declared_snapshot_adds_up_and_is_published_with_small_cells_suppressed() {
    let events = given([tr_coop().into()]).when(Command::DeclareMembershipSnapshot(declared())).then_events();
    let Event::MembershipSnapshotDeclared(s) = &events[0] else { panic!("not a snapshot") };
    // The 2 of unknown sex are suppressed, and the 0 of sex X with them.
    assert_eq!(s.by_sex, BySex { female: Some(50), male: Some(66), other: None, unknown: None });

    let wrong_total = MembershipSnapshotDeclared { members: 121, ..declared() };
    given([tr_coop().into()]).when(Command::DeclareMembershipSnapshot(wrong_total)).then_expect_invalid("members");
    let wrong_sum =
        MembershipSnapshotDeclared { by_sex: BySex { female: Some(51), ..declared().by_sex }, ..declared() };
    let err =
        given([tr_coop().into()]).when(Command::DeclareMembershipSnapshot(wrong_sum)).then_expect_invalid("by_sex");
    assert!(err.rule().unwrap().contains("119"), "{err}");
    let too_few = MembershipSnapshotDeclared {
        by_category: BTreeMap::from([(MemberCategory::Producer, Some(100)), (MemberCategory::User, Some(12))]),
        ..declared()
    };
    given([tr_coop().into()]).when(Command::DeclareMembershipSnapshot(too_few)).then_expect_invalid("by_category");
    let computed = MembershipSnapshotDeclared { source: SnapshotSource::Computed, ..declared() };
    given([tr_coop().into()]).when(Command::DeclareMembershipSnapshot(computed)).then_expect_invalid("source");
}
