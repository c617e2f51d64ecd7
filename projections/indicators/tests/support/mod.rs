//! A small registry built from domain events, encoded as the log stores them.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use imece_domain::time::{Date, Month};
use imece_domain::*;
use imece_indicators::{Cell, Cube, CubeOptions, Disclosure, Facts, Query, ReferenceData, Table};
use imece_log::{EventId, RecordedEvent, StreamId};
use imece_projections::Projection;
use rust_decimal::Decimal;

pub fn d(y: i32, m: u8, day: u8) -> Date {
    Date::from_calendar_date(y, Month::try_from(m).unwrap(), day).unwrap()
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

pub fn eur(s: &str) -> Money {
    Money::parse(s, Currency::EUR).unwrap()
}

pub fn try_(s: &str) -> Money {
    Money::parse(s, Currency::TRY).unwrap()
}

/// Where an organisation is and what it is.
#[derive(Clone, Copy)]
pub struct Place {
    pub lau: &'static str,
    pub nuts3: &'static str,
    pub country: CountryCode,
}

pub const REGGIO: Place = Place { lau: "IT_035033", nuts3: "ITH53", country: CountryCode::IT };
pub const LEVERANO: Place = Place { lau: "IT_075037", nuts3: "ITF45", country: CountryCode::IT };
pub const IZMIR: Place = Place { lau: "TR_35", nuts3: "TR310", country: CountryCode::TR };

#[derive(Default)]
pub struct World {
    pub events: Vec<RecordedEvent>,
    versions: HashMap<String, u64>,
    next: u128,
}

impl World {
    pub fn uuid(&mut self) -> uuid::Uuid {
        self.next += 1;
        uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + self.next)
    }

    pub fn push(&mut self, org: OrgId, event: impl Into<Event>) {
        let event: Event = event.into();
        let encoded = event.encode().unwrap();
        let stream = org.stream_name();
        let version = self.versions.entry(stream.clone()).or_insert(0);
        self.events.push(RecordedEvent {
            position: self.events.len() as u64,
            stream: StreamId::new(&stream).unwrap(),
            version: *version,
            id: EventId::new_v7(),
            event_type: encoded.event_type,
            data: Bytes::from(encoded.data),
            metadata: Bytes::new(),
            recorded_at_micros: 0,
        });
        *version += 1;
    }

    pub fn register_as(
        &mut self,
        on: Date,
        place: Place,
        nace: &str,
        family: Family,
        legal_form: &str,
        cooperative_type: Option<CooperativeType>,
    ) -> OrgId {
        let org = OrgId::from_uuid(self.uuid());
        self.push(
            org,
            OrganisationRegistered {
                organisation: org,
                occurred_on: on,
                founded_on: on,
                names: Names::legal(format!("Org {}", self.next)),
                family,
                legal_form: LegalForm { elf: None, national: legal_form.into() },
                cooperative_type,
                business_model: None,
                external_ids: vec![],
                seat: seat(place),
                activity: Activity { primary: Code::nace(nace, "2").unwrap(), secondary: vec![] },
                fiscal_year_end: FiscalYearEnd::DECEMBER_31,
                founders: 9,
                subscribed_capital: None,
            },
        );
        org
    }

    /// A worker cooperative of NACE 88.99.
    pub fn register(&mut self, on: Date, place: Place) -> OrgId {
        self.register_as(on, place, "88.99", Family::Cooperative, "società cooperativa", Some(CooperativeType::Worker))
    }

    /// A natural person (`sex` given) or a legal person (`None`).
    pub fn person(&mut self, org: OrgId, sex: Option<Sex>, birth_year: Option<u16>, on: Date) -> PersonRef {
        let person = PersonRef::from_uuid(self.uuid());
        let person_kind = match sex {
            Some(sex) => PersonKind::Natural {
                sex,
                birth_year,
                personal_data: SealedPersonalData {
                    key_id: KeyId::from_uuid(self.uuid()),
                    algorithm: "XChaCha20-Poly1305".into(),
                    nonce: vec![7; 24],
                    ciphertext: (0..48).collect(),
                },
            },
            None => PersonKind::Legal { name: "Consorzio".into(), external_id: None, organisation: None },
        };
        self.push(org, PersonEnrolled { occurred_on: on, person, person_kind });
        person
    }

    pub fn admit(
        &mut self,
        org: OrgId,
        person: PersonRef,
        category: MemberCategory,
        shares: u32,
        on: Date,
    ) -> MembershipId {
        let membership = MembershipId::from_uuid(self.uuid());
        self.push(
            org,
            MemberAdmitted { occurred_on: on, membership, person, category, shares, subscribed_capital: eur("100") },
        );
        membership
    }

    /// A person enrolled and admitted on `on`; returns the person and the membership.
    pub fn member(
        &mut self,
        org: OrgId,
        sex: Option<Sex>,
        birth_year: Option<u16>,
        category: MemberCategory,
        on: Date,
    ) -> (PersonRef, MembershipId) {
        let p = self.person(org, sex, birth_year, on);
        let m = self.admit(org, p, category, 1, on);
        (p, m)
    }

    pub fn leave(&mut self, org: OrgId, membership: MembershipId, reason: ExitReason, on: Date) {
        self.push(org, MemberLeft { occurred_on: on, membership, reason, refund: None, appealed: false });
    }

    pub fn assembly(&mut self, org: OrgId, on: Date, eligible: u32, present: u32, proxies: u32) {
        let assembly = AssemblyId::from_uuid(self.uuid());
        self.push(
            org,
            GeneralAssemblyHeld {
                occurred_on: on,
                assembly,
                eligible,
                present,
                present_online: None,
                proxies,
                present_women: None,
                present_under_30: None,
                max_proxies_per_holder: None,
                quorum_met: true,
            },
        );
    }

    pub fn statute(&mut self, org: OrgId, on: Date, rule: VotingRule, max_votes: u32) {
        self.push(
            org,
            StatuteAmended {
                occurred_on: on,
                assembly: None,
                voting_rule: rule,
                max_votes_per_member: max_votes,
                proxy_limit: 1,
                min_share_value: None,
                indivisible_reserve_clause: true,
            },
        );
    }

    pub fn accounts(
        &mut self,
        org: OrgId,
        fiscal_year: i32,
        currency: Currency,
        figures: Figures,
        workforce: Workforce,
    ) {
        self.push(
            org,
            AnnualAccountsApproved {
                occurred_on: d(fiscal_year + 1, 4, 20),
                fiscal_year,
                assembly: None,
                currency,
                figures,
                workforce,
            },
        );
    }

    pub fn facts(&self) -> Facts {
        let mut facts = Facts::empty();
        for e in &self.events {
            facts.apply(e).unwrap();
        }
        facts
    }

    pub fn cube(&self) -> Cube {
        Cube::build(&self.facts(), CubeOptions::default())
    }
}

pub fn seat(place: Place) -> Seat {
    Seat {
        country: place.country,
        lau: Code::lau(place.lau, "2021").unwrap(),
        nuts3: Code::nuts(place.nuts3, "2021").unwrap(),
        address: None,
    }
}

/// Figures with every money figure in `currency` from the given pairs, the rest missing.
pub fn figures(currency: Currency, net_result: &str, set: &[(&str, &str)]) -> Figures {
    let m = |s: &str| Money::parse(s, currency).unwrap();
    let mut f = Figures::net_result(m(net_result));
    for (name, value) in set {
        let v = Some(m(value));
        match *name {
            "turnover" => f.turnover = v,
            "member_turnover" => f.member_turnover = v,
            "personnel_costs" => f.personnel_costs = v,
            "member_labour_costs" => f.member_labour_costs = v,
            "purchases" => f.purchases = v,
            "purchases_from_members" => f.purchases_from_members = v,
            "purchases_from_social_economy" => f.purchases_from_social_economy = v,
            "equity" => f.equity = v,
            "share_capital" => f.share_capital = v,
            "indivisible_reserves" => f.indivisible_reserves = v,
            other => panic!("no figure {other}"),
        }
    }
    f
}

pub fn snapshot(as_of: Date, members: u32, sex: [u32; 4], age: [u32; 4], legal: u32) -> MembershipSnapshotDeclared {
    MembershipSnapshotDeclared {
        occurred_on: as_of,
        as_of,
        source: SnapshotSource::Declared,
        members,
        natural_persons: members - legal,
        legal_persons: legal,
        by_sex: BySex { female: Some(sex[0]), male: Some(sex[1]), other: Some(sex[2]), unknown: Some(sex[3]) },
        by_age: ByAge {
            under_30: Some(age[0]),
            from_30_to_64: Some(age[1]),
            from_65: Some(age[2]),
            unknown: Some(age[3]),
        },
        by_category: BTreeMap::from([(MemberCategory::User, Some(members))]),
    }
}

/// Runs `query` without disclosure control.
pub fn open(cube: &Cube, query: &Query) -> Table {
    cube.query(query, &ReferenceData::default(), &Disclosure::UNPROTECTED).unwrap()
}

/// The value of the total of `year`.
pub fn total(table: &Table, year: i32) -> Decimal {
    table.total(year).and_then(|c| c.value).unwrap_or_else(|| panic!("no total value in {table:#?}"))
}

pub fn value(cell: Option<&Cell>) -> Decimal {
    cell.and_then(|c| c.value).unwrap_or_else(|| panic!("no value in {cell:#?}"))
}
