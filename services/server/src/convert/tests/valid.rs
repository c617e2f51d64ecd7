//! Every request, filled in, converts into the command it stands for, field by field.
//!
//! The fixtures are valid for the domain too (a Turkish producer cooperative registered in 2021),
//! so the other tests build histories from them.

use std::collections::BTreeMap;

use imece_domain::time::macros::date;

use super::*;

pub(crate) fn register_organisation() -> pb::RegisterOrganisationRequest {
    pb::RegisterOrganisationRequest {
        header: header(),
        occurred_on: "2021-03-01".into(),
        founded_on: "2021-02-15".into(),
        names: Some(pb::Names {
            legal: "Tire Süt Kooperatifi".into(),
            by_language: [("en".to_owned(), "Tire Milk Cooperative".to_owned())].into(),
        }),
        family: pb::Family::Cooperative as i32,
        legal_form: Some(pb::LegalForm { elf: pb_code("7DWU", "1.5"), national: "kooperatif".into() }),
        cooperative_type: Some(pb::CooperativeType::Producer as i32),
        business_model: pb_code("producer-cooperative", "2023"),
        external_ids: vec![pb::ExternalId { scheme: "TR-MERSIS".into(), id: "0123456789012345".into() }],
        seat: Some(pb::Seat {
            country: "TR".into(),
            lau: pb_code("TR_35", "2021"),
            nuts3: pb_code("TR310", "2021"),
            address: Some("Cumhuriyet Mah. 1, Tire".into()),
        }),
        activity: Some(pb::Activity {
            primary: pb_code("01.41", "2"),
            secondary: vec![pb::Code { code: "10.51".into(), version: "2".into() }],
        }),
        fiscal_year_end: Some(pb::FiscalYearEnd { month: 12, day: 31 }),
        founders: 9,
        subscribed_capital: pb_money("90000", "TRY"),
    }
}

pub(crate) fn registered() -> OrganisationRegistered {
    OrganisationRegistered {
        organisation: org(),
        occurred_on: date!(2021 - 03 - 01),
        founded_on: date!(2021 - 02 - 15),
        names: Names {
            legal: "Tire Süt Kooperatifi".into(),
            by_language: BTreeMap::from([(LanguageTag::new("en").unwrap(), "Tire Milk Cooperative".to_owned())]),
        },
        family: Family::Cooperative,
        legal_form: LegalForm {
            elf: Some(Code::new(Scheme::Elf, "7DWU", "1.5").unwrap()),
            national: "kooperatif".into(),
        },
        cooperative_type: Some(CooperativeType::Producer),
        business_model: Some(Code::new(Scheme::EssGlobal, "producer-cooperative", "2023").unwrap()),
        external_ids: vec![ExternalId::new(IdScheme::TrMersis, "0123456789012345").unwrap()],
        seat: Seat {
            country: CountryCode::TR,
            lau: Code::lau("TR_35", "2021").unwrap(),
            nuts3: Code::nuts("TR310", "2021").unwrap(),
            address: Some("Cumhuriyet Mah. 1, Tire".into()),
        },
        activity: Activity {
            primary: Code::nace("01.41", "2").unwrap(),
            secondary: vec![Code::nace("10.51", "2").unwrap()],
        },
        fiscal_year_end: FiscalYearEnd::DECEMBER_31,
        founders: 9,
        subscribed_capital: Some(try_("90000")),
    }
}

#[test]
fn register_organisation_converts() {
    assert_eq!(Write::try_from(register_organisation()).unwrap(), expected(Command::Register(registered())));
}

#[test]
fn register_organisation_with_only_what_is_required() {
    let request = pb::RegisterOrganisationRequest {
        legal_form: Some(pb::LegalForm { elf: None, national: "kooperatif".into() }),
        cooperative_type: None,
        business_model: None,
        external_ids: vec![],
        subscribed_capital: None,
        ..register_organisation()
    };
    let Command::Register(c) = Write::try_from(request).unwrap().command else { panic!("a registration") };
    assert_eq!(
        (c.legal_form.elf, c.cooperative_type, c.business_model, c.subscribed_capital),
        (None, None, None, None)
    );
    assert!(c.external_ids.is_empty());
}

pub(crate) fn record_register_entry() -> pb::RecordRegisterEntryRequest {
    pb::RecordRegisterEntryRequest {
        header: header(),
        occurred_on: "2021-03-10".into(),
        register: Some(pb::Register { kind: Some(pb::register::Kind::TrKoopbis(pb::register::TrKoopbis {})) }),
        entry_number: "35-1234".into(),
        valid_from: "2021-03-10".into(),
        valid_until: Some("2031-03-09".into()),
    }
}

#[test]
fn record_register_entry_converts() {
    assert_eq!(
        Write::try_from(record_register_entry()).unwrap(),
        expected(Command::RecordRegisterEntry(RegisterEntryRecorded {
            occurred_on: date!(2021 - 03 - 10),
            register: Register::TrKoopbis,
            entry_number: "35-1234".into(),
            from: date!(2021 - 03 - 10),
            until: Some(date!(2031 - 03 - 09)),
        }))
    );
}

#[test]
fn every_register_kind_converts() {
    use pb::register::Kind;
    let cases = [
        (
            Kind::ItAlbo(pb::register::ItAlbo {
                section: pb::AlboSection::Prevalent as i32,
                category: "cooperative sociali".into(),
            }),
            Register::ItAlbo { section: AlboSection::Prevalent, category: "cooperative sociali".into() },
        ),
        (
            Kind::ItRunts(pb::register::ItRunts { section: "imprese sociali".into() }),
            Register::ItRunts { section: "imprese sociali".into() },
        ),
        (Kind::TrKoopbis(pb::register::TrKoopbis {}), Register::TrKoopbis),
        (Kind::FrEss(pb::register::FrEss {}), Register::FrEss),
        (Kind::GbMpr(pb::register::GbMpr {}), Register::GbMpr),
        (
            Kind::Other(pb::register::Other { name: "Registro regionale".into() }),
            Register::Other { name: "Registro regionale".into() },
        ),
    ];
    for (kind, register) in cases {
        let request = pb::RecordRegisterEntryRequest {
            register: Some(pb::Register { kind: Some(kind) }),
            ..record_register_entry()
        };
        let Command::RecordRegisterEntry(c) = Write::try_from(request).unwrap().command else { panic!() };
        assert_eq!(c.register, register);
    }
}

pub(crate) fn amend_statute() -> pb::AmendStatuteRequest {
    pb::AmendStatuteRequest {
        header: header(),
        occurred_on: "2022-05-20".into(),
        assembly: Some(ASSEMBLY.into()),
        voting_rule: pb::VotingRule::OneMemberOneVote as i32,
        max_votes_per_member: 1,
        proxy_limit: 1,
        min_share_value: pb_money("100", "TRY"),
        indivisible_reserve_clause: true,
    }
}

#[test]
fn amend_statute_converts() {
    assert_eq!(
        Write::try_from(amend_statute()).unwrap(),
        expected(Command::AmendStatute(StatuteAmended {
            occurred_on: date!(2022 - 05 - 20),
            assembly: Some(ASSEMBLY.parse().unwrap()),
            voting_rule: VotingRule::OneMemberOneVote,
            max_votes_per_member: 1,
            proxy_limit: 1,
            min_share_value: Some(try_("100")),
            indivisible_reserve_clause: true,
        }))
    );
}

pub(crate) fn rename_organisation() -> pb::RenameOrganisationRequest {
    pb::RenameOrganisationRequest {
        header: header(),
        occurred_on: "2023-01-15".into(),
        names: Some(pb::Names { legal: "Tire Süt ve Peynir Kooperatifi".into(), by_language: Default::default() }),
    }
}

#[test]
fn rename_organisation_converts() {
    assert_eq!(
        Write::try_from(rename_organisation()).unwrap(),
        expected(Command::Rename(OrganisationRenamed {
            occurred_on: date!(2023 - 01 - 15),
            names: Names::legal("Tire Süt ve Peynir Kooperatifi"),
        }))
    );
}

pub(crate) fn relocate_seat() -> pb::RelocateSeatRequest {
    pb::RelocateSeatRequest {
        header: header(),
        occurred_on: "2023-02-01".into(),
        seat: Some(pb::Seat {
            country: "TR".into(),
            lau: pb_code("TR_3520", "2021"),
            nuts3: pb_code("TR310", "2021"),
            address: None,
        }),
    }
}

#[test]
fn relocate_seat_converts() {
    assert_eq!(
        Write::try_from(relocate_seat()).unwrap(),
        expected(Command::RelocateSeat(SeatRelocated {
            occurred_on: date!(2023 - 02 - 01),
            seat: Seat {
                country: CountryCode::TR,
                lau: Code::lau("TR_3520", "2021").unwrap(),
                nuts3: Code::nuts("TR310", "2021").unwrap(),
                address: None,
            },
        }))
    );
}

pub(crate) fn reclassify_activity() -> pb::ReclassifyActivityRequest {
    pb::ReclassifyActivityRequest {
        header: header(),
        occurred_on: "2025-01-01".into(),
        activity: Some(pb::Activity { primary: pb_code("01.41", "2.1"), secondary: vec![] }),
    }
}

#[test]
fn reclassify_activity_converts() {
    assert_eq!(
        Write::try_from(reclassify_activity()).unwrap(),
        expected(Command::ReclassifyActivity(ActivityReclassified {
            occurred_on: date!(2025 - 01 - 01),
            activity: Activity { primary: Code::nace("01.41", "2.1").unwrap(), secondary: vec![] },
        }))
    );
}

pub(crate) fn change_status() -> pb::ChangeStatusRequest {
    pb::ChangeStatusRequest {
        header: header(),
        occurred_on: "2024-07-01".into(),
        status: pb::Status::UnderAdministration as i32,
        reason: Some("commissario appointed".into()),
    }
}

#[test]
fn change_status_converts() {
    assert_eq!(
        Write::try_from(change_status()).unwrap(),
        expected(Command::ChangeStatus(StatusChanged {
            occurred_on: date!(2024 - 07 - 01),
            status: Status::UnderAdministration,
            reason: Some("commissario appointed".into()),
        }))
    );
}

pub(crate) fn resolve_dissolution() -> pb::ResolveDissolutionRequest {
    pb::ResolveDissolutionRequest {
        header: header(),
        occurred_on: "2025-09-01".into(),
        kind: pb::DissolutionKind::Court as i32,
        assembly: None,
        authority: Some("İzmir 3. Asliye Ticaret Mahkemesi".into()),
    }
}

#[test]
fn resolve_dissolution_converts() {
    assert_eq!(
        Write::try_from(resolve_dissolution()).unwrap(),
        expected(Command::ResolveDissolution(DissolutionResolved {
            occurred_on: date!(2025 - 09 - 01),
            kind: DissolutionKind::Court,
            assembly: None,
            authority: Some("İzmir 3. Asliye Ticaret Mahkemesi".into()),
        }))
    );
}

pub(crate) fn close_liquidation() -> pb::CloseLiquidationRequest {
    use pb::recipient::Kind;
    let to = |kind| Some(pb::Recipient { kind: Some(kind) });
    pb::CloseLiquidationRequest {
        header: header(),
        occurred_on: "2026-03-01".into(),
        residual_assets: pb_money("10000", "TRY"),
        devolved: vec![
            pb::Devolution { to: to(Kind::MutualFund(pb::recipient::MutualFund {})), amount: pb_money("3000", "TRY") },
            pb::Devolution {
                to: to(Kind::SocialEconomyEntity(pb::recipient::SocialEconomyEntity {
                    name: "Ödemiş Süt Kooperatifi".into(),
                    organisation: Some(OTHER_ORG.into()),
                })),
                amount: pb_money("5000", "TRY"),
            },
            pb::Devolution { to: to(Kind::Members(pb::recipient::Members {})), amount: pb_money("1500", "TRY") },
            pb::Devolution { to: to(Kind::State(pb::recipient::State {})), amount: pb_money("500", "TRY") },
        ],
    }
}

#[test]
fn close_liquidation_converts() {
    assert_eq!(
        Write::try_from(close_liquidation()).unwrap(),
        expected(Command::CloseLiquidation(LiquidationClosed {
            occurred_on: date!(2026 - 03 - 01),
            residual_assets: try_("10000"),
            devolved: vec![
                Devolution { to: Recipient::MutualFund, amount: try_("3000") },
                Devolution {
                    to: Recipient::SocialEconomyEntity {
                        name: "Ödemiş Süt Kooperatifi".into(),
                        organisation: Some(OTHER_ORG.parse().unwrap()),
                    },
                    amount: try_("5000"),
                },
                Devolution { to: Recipient::Members, amount: try_("1500") },
                Devolution { to: Recipient::State, amount: try_("500") },
            ],
        }))
    );
}

pub(crate) fn complete_merger() -> pb::CompleteMergerRequest {
    pb::CompleteMergerRequest {
        header: header(),
        occurred_on: "2025-06-30".into(),
        kind: pb::MergerKind::Absorption as i32,
        absorbing: ORG.into(),
        absorbed: vec![OTHER_ORG.into()],
    }
}

#[test]
fn complete_merger_converts() {
    assert_eq!(
        Write::try_from(complete_merger()).unwrap(),
        expected(Command::CompleteMerger(MergerCompleted {
            occurred_on: date!(2025 - 06 - 30),
            kind: MergerKind::Absorption,
            absorbing: org(),
            absorbed: vec![OTHER_ORG.parse().unwrap()],
        }))
    );
}

pub(crate) fn convert_legal_form() -> pb::ConvertLegalFormRequest {
    pb::ConvertLegalFormRequest {
        header: header(),
        occurred_on: "2025-02-01".into(),
        from_legal_form: Some(pb::LegalForm { elf: pb_code("7DWU", "1.5"), national: "kooperatif".into() }),
        to_legal_form: Some(pb::LegalForm { elf: None, national: "dernek".into() }),
        family: pb::Family::Association as i32,
        assets_devolved: pb_money("25000", "TRY"),
    }
}

#[test]
fn convert_legal_form_converts() {
    assert_eq!(
        Write::try_from(convert_legal_form()).unwrap(),
        expected(Command::ConvertLegalForm(LegalFormConverted {
            occurred_on: date!(2025 - 02 - 01),
            from: LegalForm {
                elf: Some(Code::new(Scheme::Elf, "7DWU", "1.5").unwrap()),
                national: "kooperatif".into()
            },
            to: LegalForm { elf: None, national: "dernek".into() },
            family: Family::Association,
            assets_devolved: Some(try_("25000")),
        }))
    );
}

pub(crate) fn change_affiliation() -> pb::ChangeAffiliationRequest {
    pb::ChangeAffiliationRequest {
        header: header(),
        occurred_on: "2021-06-01".into(),
        federation: Some(pb::Federation {
            name: "TARKO Birliği".into(),
            organisation: Some(OTHER_ORG.into()),
            external_id: Some(pb::ExternalId { scheme: "TR-VKN".into(), id: "1234567890".into() }),
        }),
        change: pb::AffiliationChange::Joined as i32,
    }
}

#[test]
fn change_affiliation_converts() {
    assert_eq!(
        Write::try_from(change_affiliation()).unwrap(),
        expected(Command::ChangeAffiliation(AffiliationChanged {
            occurred_on: date!(2021 - 06 - 01),
            federation: Federation {
                name: "TARKO Birliği".into(),
                organisation: Some(OTHER_ORG.parse().unwrap()),
                external_id: Some(ExternalId::new(IdScheme::TrVkn, "1234567890").unwrap()),
            },
            change: AffiliationChange::Joined,
        }))
    );
}

pub(crate) fn sign_commons_agreement() -> pb::SignCommonsAgreementRequest {
    pb::SignCommonsAgreementRequest {
        header: header(),
        occurred_on: "2024-04-10".into(),
        agreement: AGREEMENT.into(),
        municipality: pb_code("TR_35", "2021"),
        asset: "Tire community garden".into(),
        asset_kind: pb::CommonsAsset::Garden as i32,
        instrument: "iş birliği protokolü".into(),
        parties: vec![
            pb::Party { name: "Tire Belediyesi".into(), kind: pb::PartyKind::PublicBody as i32, organisation: None },
            pb::Party {
                name: "Ödemiş Süt Kooperatifi".into(),
                kind: pb::PartyKind::Organisation as i32,
                organisation: Some(OTHER_ORG.into()),
            },
        ],
        citizen_signatories: 42,
        valid_from: "2024-05-01".into(),
        valid_until: Some("2027-04-30".into()),
    }
}

#[test]
fn sign_commons_agreement_converts() {
    assert_eq!(
        Write::try_from(sign_commons_agreement()).unwrap(),
        expected(Command::SignCommonsAgreement(CommonsAgreementSigned {
            occurred_on: date!(2024 - 04 - 10),
            agreement: AGREEMENT.parse().unwrap(),
            municipality: Code::lau("TR_35", "2021").unwrap(),
            asset: "Tire community garden".into(),
            asset_kind: CommonsAsset::Garden,
            instrument: "iş birliği protokolü".into(),
            parties: vec![
                Party { name: "Tire Belediyesi".into(), kind: PartyKind::PublicBody, organisation: None },
                Party {
                    name: "Ödemiş Süt Kooperatifi".into(),
                    kind: PartyKind::Organisation,
                    organisation: Some(OTHER_ORG.parse().unwrap()),
                },
            ],
            citizen_signatories: 42,
            from: date!(2024 - 05 - 01),
            until: Some(date!(2027 - 04 - 30)),
        }))
    );
}

pub(crate) fn end_commons_agreement() -> pb::EndCommonsAgreementRequest {
    pb::EndCommonsAgreementRequest {
        header: header(),
        occurred_on: "2026-04-30".into(),
        agreement: AGREEMENT.into(),
        reason: pb::AgreementEnd::Terminated as i32,
    }
}

#[test]
fn end_commons_agreement_converts() {
    assert_eq!(
        Write::try_from(end_commons_agreement()).unwrap(),
        expected(Command::EndCommonsAgreement(CommonsAgreementEnded {
            occurred_on: date!(2026 - 04 - 30),
            agreement: AGREEMENT.parse().unwrap(),
            reason: AgreementEnd::Terminated,
        }))
    );
}

pub(crate) fn personal_data() -> pb::PersonalData {
    pb::PersonalData {
        full_name: "Ayşe Yılmaz".into(),
        national_id: "12345678901".into(),
        email: "ayse@example.org".into(),
        phone: "+90 232 000 00 00".into(),
        address: "Cumhuriyet Mah. 2, Tire".into(),
    }
}

pub(crate) fn personal_fields() -> crate::people::PersonalFields {
    crate::people::PersonalFields {
        full_name: "Ayşe Yılmaz".into(),
        national_id: "12345678901".into(),
        email: "ayse@example.org".into(),
        phone: "+90 232 000 00 00".into(),
        address: "Cumhuriyet Mah. 2, Tire".into(),
    }
}

pub(crate) fn enrol_person_request() -> pb::EnrolPersonRequest {
    pb::EnrolPersonRequest {
        header: header(),
        occurred_on: "2021-04-01".into(),
        person: PERSON.into(),
        person_kind: Some(pb::PersonKind {
            kind: Some(pb::person_kind::Kind::Natural(pb::person_kind::Natural {
                sex: pb::Sex::Female as i32,
                birth_year: Some(1990),
                personal_data: Some(personal_data()),
            })),
        }),
    }
}

#[test]
fn enrol_person_converts_once_sealed() {
    let write =
        crate::convert::enrol_person(enrol_person_request()).unwrap().seal(|_, _| Ok::<_, Error>(sealed())).unwrap();
    assert_eq!(
        write,
        expected(Command::EnrolPerson(PersonEnrolled {
            occurred_on: date!(2021 - 04 - 01),
            person: PERSON.parse().unwrap(),
            person_kind: PersonKind::Natural { sex: Sex::Female, birth_year: Some(1990), personal_data: sealed() },
        }))
    );
}

pub(crate) fn admit_member() -> pb::AdmitMemberRequest {
    pb::AdmitMemberRequest {
        header: header(),
        occurred_on: "2021-04-15".into(),
        membership: MEMBERSHIP.into(),
        person: PERSON.into(),
        category: pb::MemberCategory::Producer as i32,
        shares: 10,
        subscribed_capital: pb_money("1000.00", "TRY"),
    }
}

#[test]
fn admit_member_converts() {
    assert_eq!(
        Write::try_from(admit_member()).unwrap(),
        expected(Command::AdmitMember(MemberAdmitted {
            occurred_on: date!(2021 - 04 - 15),
            membership: MEMBERSHIP.parse().unwrap(),
            person: PERSON.parse().unwrap(),
            category: MemberCategory::Producer,
            shares: 10,
            subscribed_capital: try_("1000.00"),
        }))
    );
}

pub(crate) fn pay_in_capital() -> pb::PayInCapitalRequest {
    pb::PayInCapitalRequest {
        header: header(),
        occurred_on: "2021-05-01".into(),
        membership: MEMBERSHIP.into(),
        amount: pb_money("250.50", "TRY"),
    }
}

#[test]
fn pay_in_capital_converts() {
    assert_eq!(
        Write::try_from(pay_in_capital()).unwrap(),
        expected(Command::PayInCapital(CapitalPaidIn {
            occurred_on: date!(2021 - 05 - 01),
            membership: MEMBERSHIP.parse().unwrap(),
            amount: try_("250.50"),
        }))
    );
}

pub(crate) fn transfer_shares() -> pb::TransferSharesRequest {
    pb::TransferSharesRequest {
        header: header(),
        occurred_on: "2022-01-10".into(),
        from_membership: MEMBERSHIP.into(),
        to_membership: OTHER_MEMBERSHIP.into(),
        shares: 2,
        price: pb_money("200", "TRY"),
    }
}

#[test]
fn transfer_shares_converts() {
    assert_eq!(
        Write::try_from(transfer_shares()).unwrap(),
        expected(Command::TransferShares(SharesTransferred {
            occurred_on: date!(2022 - 01 - 10),
            from: MEMBERSHIP.parse().unwrap(),
            to: OTHER_MEMBERSHIP.parse().unwrap(),
            shares: 2,
            price: Some(try_("200")),
        }))
    );
}

pub(crate) fn record_member_leaving() -> pb::RecordMemberLeavingRequest {
    pb::RecordMemberLeavingRequest {
        header: header(),
        occurred_on: "2024-12-31".into(),
        membership: MEMBERSHIP.into(),
        reason: pb::ExitReason::Expulsion as i32,
        refund: pb_money("750", "TRY"),
        appealed: true,
    }
}

#[test]
fn record_member_leaving_converts() {
    assert_eq!(
        Write::try_from(record_member_leaving()).unwrap(),
        expected(Command::RecordMemberLeaving(MemberLeft {
            occurred_on: date!(2024 - 12 - 31),
            membership: MEMBERSHIP.parse().unwrap(),
            reason: ExitReason::Expulsion,
            refund: Some(try_("750")),
            appealed: true,
        }))
    );
}

pub(crate) fn erase_member_data_request() -> pb::EraseMemberDataRequest {
    pb::EraseMemberDataRequest {
        header: header(),
        occurred_on: "2026-01-20".into(),
        person: PERSON.into(),
        requested_on: "2026-01-05".into(),
    }
}

#[test]
fn erase_member_data_converts_once_the_key_is_named() {
    let write = crate::convert::erase_member_data(erase_member_data_request()).unwrap().with_key(KEY.parse().unwrap());
    assert_eq!(
        write,
        expected(Command::EraseMemberData(MemberDataErased {
            occurred_on: date!(2026 - 01 - 20),
            person: PERSON.parse().unwrap(),
            key_id: KEY.parse().unwrap(),
            requested_on: date!(2026 - 01 - 05),
        }))
    );
}

pub(crate) fn declare_membership_snapshot() -> pb::DeclareMembershipSnapshotRequest {
    pb::DeclareMembershipSnapshotRequest {
        header: header(),
        occurred_on: "2026-01-31".into(),
        as_of: "2025-12-31".into(),
        members: 120,
        natural_persons: 115,
        legal_persons: 5,
        by_sex: Some(pb::BySex { female: Some(50), male: Some(60), other: None, unknown: Some(5) }),
        by_age: Some(pb::ByAge::default()),
        by_category: vec![
            pb::CategoryCount { category: pb::MemberCategory::Producer as i32, count: Some(110) },
            pb::CategoryCount { category: pb::MemberCategory::Investor as i32, count: None },
        ],
    }
}

#[test]
fn declare_membership_snapshot_converts() {
    assert_eq!(
        Write::try_from(declare_membership_snapshot()).unwrap(),
        expected(Command::DeclareMembershipSnapshot(MembershipSnapshotDeclared {
            occurred_on: date!(2026 - 01 - 31),
            as_of: date!(2025 - 12 - 31),
            source: SnapshotSource::Declared,
            members: 120,
            natural_persons: 115,
            legal_persons: 5,
            by_sex: BySex { female: Some(50), male: Some(60), other: None, unknown: Some(5) },
            by_age: ByAge::default(),
            by_category: BTreeMap::from([(MemberCategory::Producer, Some(110)), (MemberCategory::Investor, None)]),
        }))
    );
}

pub(crate) fn compute_membership_snapshot() -> pb::ComputeMembershipSnapshotRequest {
    pb::ComputeMembershipSnapshotRequest {
        header: header(),
        occurred_on: "2026-01-31".into(),
        as_of: "2025-12-31".into(),
    }
}

#[test]
fn compute_membership_snapshot_converts() {
    assert_eq!(
        Write::try_from(compute_membership_snapshot()).unwrap(),
        expected(Command::ComputeMembershipSnapshot {
            occurred_on: date!(2026 - 01 - 31),
            as_of: date!(2025 - 12 - 31)
        })
    );
}

pub(crate) fn convene_assembly() -> pb::ConveneAssemblyRequest {
    pb::ConveneAssemblyRequest {
        header: header(),
        occurred_on: "2026-03-20".into(),
        assembly: ASSEMBLY.into(),
        kind: pb::AssemblyKind::Ordinary as i32,
        fiscal_year: Some(2025),
        first_call: "2026-04-18".into(),
        second_call: Some("2026-04-19".into()),
        agenda: vec![pb::Topic::Accounts as i32, pb::Topic::SurplusAllocation as i32, pb::Topic::BoardElection as i32],
    }
}

#[test]
fn convene_assembly_converts() {
    assert_eq!(
        Write::try_from(convene_assembly()).unwrap(),
        expected(Command::ConveneAssembly(GeneralAssemblyConvened {
            occurred_on: date!(2026 - 03 - 20),
            assembly: ASSEMBLY.parse().unwrap(),
            kind: AssemblyKind::Ordinary,
            fiscal_year: Some(2025),
            first_call: date!(2026 - 04 - 18),
            second_call: Some(date!(2026 - 04 - 19)),
            agenda: vec![Topic::Accounts, Topic::SurplusAllocation, Topic::BoardElection],
        }))
    );
}

pub(crate) fn record_assembly() -> pb::RecordAssemblyRequest {
    pb::RecordAssemblyRequest {
        header: header(),
        occurred_on: "2026-04-18".into(),
        assembly: ASSEMBLY.into(),
        eligible: 120,
        present: 70,
        present_online: Some(12),
        proxies: 10,
        present_women: Some(31),
        present_under_30: Some(8),
        max_proxies_per_holder: Some(1),
        quorum_met: true,
    }
}

#[test]
fn record_assembly_converts() {
    assert_eq!(
        Write::try_from(record_assembly()).unwrap(),
        expected(Command::RecordAssembly(GeneralAssemblyHeld {
            occurred_on: date!(2026 - 04 - 18),
            assembly: ASSEMBLY.parse().unwrap(),
            eligible: 120,
            present: 70,
            present_online: Some(12),
            proxies: 10,
            present_women: Some(31),
            present_under_30: Some(8),
            max_proxies_per_holder: Some(1),
            quorum_met: true,
        }))
    );
}

pub(crate) fn record_resolution() -> pb::RecordResolutionRequest {
    pb::RecordResolutionRequest {
        header: header(),
        occurred_on: "2026-04-18".into(),
        assembly: ASSEMBLY.into(),
        item: 2,
        topic: pb::Topic::SurplusAllocation as i32,
        votes_for: 61,
        votes_against: 12,
        abstentions: 7,
        outcome: pb::Outcome::Adopted as i32,
    }
}

#[test]
fn record_resolution_converts() {
    assert_eq!(
        Write::try_from(record_resolution()).unwrap(),
        expected(Command::RecordResolution(ResolutionVoted {
            occurred_on: date!(2026 - 04 - 18),
            assembly: ASSEMBLY.parse().unwrap(),
            item: 2,
            topic: Topic::SurplusAllocation,
            votes_for: 61,
            votes_against: 12,
            abstentions: 7,
            outcome: Outcome::Adopted,
        }))
    );
}

pub(crate) fn record_election() -> pb::RecordElectionRequest {
    pb::RecordElectionRequest {
        header: header(),
        occurred_on: "2026-04-18".into(),
        organ: pb::Organ::Board as i32,
        assembly: Some(ASSEMBLY.into()),
        term_from: "2026-04-18".into(),
        term_until: Some("2029-04-17".into()),
        seats: 5,
        candidates: 8,
        women_elected: Some(2),
        under_30_elected: Some(1),
        new_holders: Some(3),
    }
}

#[test]
fn record_election_converts() {
    assert_eq!(
        Write::try_from(record_election()).unwrap(),
        expected(Command::RecordElection(OrganElected {
            occurred_on: date!(2026 - 04 - 18),
            organ: Organ::Board,
            assembly: Some(ASSEMBLY.parse().unwrap()),
            term_from: date!(2026 - 04 - 18),
            term_until: Some(date!(2029 - 04 - 17)),
            seats: 5,
            candidates: 8,
            women_elected: Some(2),
            under_30_elected: Some(1),
            new_holders: Some(3),
        }))
    );
}

pub(crate) fn change_organ_member() -> pb::ChangeOrganMemberRequest {
    pb::ChangeOrganMemberRequest {
        header: header(),
        occurred_on: "2026-04-18".into(),
        organ: pb::Organ::Board as i32,
        person: PERSON.into(),
        change: pb::SeatChange::CoOpted as i32,
    }
}

#[test]
fn change_organ_member_converts() {
    assert_eq!(
        Write::try_from(change_organ_member()).unwrap(),
        expected(Command::ChangeOrganMember(OrganMemberChanged {
            occurred_on: date!(2026 - 04 - 18),
            organ: Organ::Board,
            person: PERSON.parse().unwrap(),
            change: SeatChange::CoOpted,
        }))
    );
}

pub(crate) fn approve_accounts() -> pb::ApproveAccountsRequest {
    pb::ApproveAccountsRequest {
        header: header(),
        occurred_on: "2026-04-18".into(),
        fiscal_year: 2025,
        assembly: Some(ASSEMBLY.into()),
        currency: "TRY".into(),
        figures: Some(pb::Figures {
            turnover: pb_money("2500000", "TRY"),
            member_turnover: pb_money("1900000", "TRY"),
            personnel_costs: pb_money("400000", "TRY"),
            member_labour_costs: pb_money("100000", "TRY"),
            purchases: pb_money("1800000", "TRY"),
            purchases_from_members: pb_money("1700000", "TRY"),
            purchases_from_social_economy: pb_money("50000", "TRY"),
            net_result: pb_money("200000", "TRY"),
            total_assets: pb_money("3100000", "TRY"),
            equity: pb_money("-12000.50", "TRY"),
            share_capital: pb_money("120000", "TRY"),
            indivisible_reserves: pb_money("600000", "TRY"),
        }),
        workforce: Some(pb::Workforce {
            employees: Some(14),
            fte_hundredths: Some(1250),
            employees_women: Some(6),
            workers: Some(20),
            worker_members: Some(4),
            disadvantaged_workers: Some(0),
            volunteers: Some(3),
        }),
    }
}

#[test]
fn approve_accounts_converts() {
    assert_eq!(
        Write::try_from(approve_accounts()).unwrap(),
        expected(Command::ApproveAccounts(AnnualAccountsApproved {
            occurred_on: date!(2026 - 04 - 18),
            fiscal_year: 2025,
            assembly: Some(ASSEMBLY.parse().unwrap()),
            currency: Currency::TRY,
            figures: Figures {
                turnover: Some(try_("2500000")),
                member_turnover: Some(try_("1900000")),
                personnel_costs: Some(try_("400000")),
                member_labour_costs: Some(try_("100000")),
                purchases: Some(try_("1800000")),
                purchases_from_members: Some(try_("1700000")),
                purchases_from_social_economy: Some(try_("50000")),
                net_result: try_("200000"),
                total_assets: Some(try_("3100000")),
                equity: Some(try_("-12000.50")),
                share_capital: Some(try_("120000")),
                indivisible_reserves: Some(try_("600000")),
            },
            workforce: Workforce {
                employees: Some(14),
                fte_hundredths: Some(1250),
                employees_women: Some(6),
                workers: Some(20),
                worker_members: Some(4),
                disadvantaged_workers: Some(0),
                volunteers: Some(3),
            },
        }))
    );
}

#[test]
fn accounts_without_workforce_record_none_of_it() {
    let request = pb::ApproveAccountsRequest {
        workforce: None,
        figures: Some(pb::Figures { net_result: pb_money("1", "TRY"), ..Default::default() }),
        ..approve_accounts()
    };
    let Command::ApproveAccounts(c) = Write::try_from(request).unwrap().command else { panic!() };
    assert_eq!((c.workforce, c.figures), (Workforce::default(), Figures::net_result(try_("1"))));
}

pub(crate) fn allocate_surplus() -> pb::AllocateSurplusRequest {
    pb::AllocateSurplusRequest {
        header: header(),
        occurred_on: "2026-04-18".into(),
        fiscal_year: 2025,
        assembly: Some(ASSEMBLY.into()),
        surplus: pb_money("200000", "TRY"),
        items: vec![
            pb::SurplusItem { kind: pb::SurplusKind::LegalReserve as i32, amount: pb_money("10000", "TRY") },
            pb::SurplusItem { kind: pb::SurplusKind::PatronageRefund as i32, amount: pb_money("190000", "TRY") },
        ],
        capital_interest: Some(pb::CapitalInterestRate {
            rate: 250,
            reference_rate: Some(175),
            reference: Some("buoni postali fruttiferi".into()),
        }),
        beneficiaries: Some(118),
    }
}

#[test]
fn allocate_surplus_converts() {
    assert_eq!(
        Write::try_from(allocate_surplus()).unwrap(),
        expected(Command::AllocateSurplus(SurplusAllocated {
            occurred_on: date!(2026 - 04 - 18),
            fiscal_year: 2025,
            assembly: Some(ASSEMBLY.parse().unwrap()),
            surplus: try_("200000"),
            items: vec![
                SurplusItem { kind: SurplusKind::LegalReserve, amount: try_("10000") },
                SurplusItem { kind: SurplusKind::PatronageRefund, amount: try_("190000") },
            ],
            capital_interest: Some(CapitalInterestRate {
                rate: BasisPoints(250),
                reference_rate: Some(BasisPoints(175)),
                reference: Some("buoni postali fruttiferi".into()),
            }),
            beneficiaries: Some(118),
        }))
    );
}

pub(crate) fn record_audit() -> pb::RecordAuditRequest {
    pb::RecordAuditRequest {
        header: header(),
        occurred_on: "2026-05-15".into(),
        kind: pb::AuditKind::Ministry as i32,
        auditor: "Ticaret Bakanlığı".into(),
        period_from: "2024-01-01".into(),
        period_until: "2025-12-31".into(),
        outcome: pb::AuditOutcome::PassedWithRemarks as i32,
    }
}

#[test]
fn record_audit_converts() {
    assert_eq!(
        Write::try_from(record_audit()).unwrap(),
        expected(Command::RecordAudit(AuditCompleted {
            occurred_on: date!(2026 - 05 - 15),
            kind: AuditKind::Ministry,
            auditor: "Ticaret Bakanlığı".into(),
            period_from: date!(2024 - 01 - 01),
            period_until: date!(2025 - 12 - 31),
            outcome: AuditOutcome::PassedWithRemarks,
        }))
    );
}

pub(crate) fn impose_sanction() -> pb::ImposeSanctionRequest {
    pb::ImposeSanctionRequest {
        header: header(),
        occurred_on: "2026-05-20".into(),
        kind: pb::SanctionKind::Fine as i32,
        authority: "Ticaret Bakanlığı".into(),
        reference: Some("2026/117".into()),
        fine: pb_money("5000", "TRY"),
    }
}

#[test]
fn impose_sanction_converts() {
    assert_eq!(
        Write::try_from(impose_sanction()).unwrap(),
        expected(Command::ImposeSanction(SanctionImposed {
            occurred_on: date!(2026 - 05 - 20),
            kind: SanctionKind::Fine,
            authority: "Ticaret Bakanlığı".into(),
            reference: Some("2026/117".into()),
            fine: Some(try_("5000")),
        }))
    );
}

/// Every enum value on the wire has its value in the domain, and back: a value added on one side
/// only does not compile (the conversions match exhaustively); this checks they pair up by name.
#[test]
fn enums_pair_up_by_name_both_ways() {
    use super::super::values::ProtoEnum;
    fn check<E: ProtoEnum + Copy + std::fmt::Debug + PartialEq>(values: &[E]) {
        for v in values {
            assert_eq!(E::from_proto(v.to_proto()).unwrap(), *v);
        }
    }
    check(&[
        Family::Cooperative,
        Family::Mutual,
        Family::Association,
        Family::Foundation,
        Family::SocialEnterprise,
        Family::Other,
    ]);
    check(&[Sex::Female, Sex::Male, Sex::Other, Sex::Unknown]);
    check(&[
        SeatChange::Elected,
        SeatChange::CoOpted,
        SeatChange::Resigned,
        SeatChange::Removed,
        SeatChange::TermEnded,
    ]);
    assert_eq!(pb::Status::try_from(Status::UnderAdministration.to_proto()), Ok(pb::Status::UnderAdministration));
    assert_eq!(pb::SurplusKind::try_from(SurplusKind::LossCoverage.to_proto()), Ok(pb::SurplusKind::LossCoverage));
}
