//! [`Facts`]: the projection that folds the log into what the indicators need, per organisation.
//!
//! The fold keeps facts, not figures: dated histories (seat, activity, legal form, statute,
//! affiliations), the life cycle, members with their dates, assemblies, organs, accounts and
//! allocations by fiscal year. Figures per organisation and year are derived from them by
//! [`crate::Cube`], so that a fact recorded late (a backdated admission, a correction of the
//! accounts) changes every year it touches.
//!
//! `apply` looks at the event type first and returns at once for the types no indicator reads.
//! The frequent person-level types (admissions, exits, enrolments, capital, seats, assemblies) are
//! read with borrowed structs that parse only the fields used; everything else is decoded with the
//! domain's [`imece_domain::Event::decode`], which upcasts old schema versions.

use std::borrow::Cow;
use std::collections::HashMap;

use imece_domain::{
    AffiliationChange, AuditKind, CooperativeType, Date, DissolutionKind, Event, ExitReason, Family, MemberCategory,
    MembershipId, MembershipSnapshotDeclared, Money, OrgId, Organ, PersonKind, PersonRef, Register, SeatChange, Sex,
    Status, Subject, SurplusKind, VotingRule,
};
use imece_log::RecordedEvent;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A fast hash for the fold's maps (multiply-rotate over 8-byte words, as rustc's FxHash, with a
/// final mix). Keys
/// are ids minted by writers the node authenticates, so hash flooding is not a concern here.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FastHash;

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FastHasher(u64);

impl std::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

impl std::hash::Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        }
        for b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(K);
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    /// Mixed once more (MurmurHash3's finaliser), so that ids varying only in their high bytes
    /// still spread over the table's low bits.
    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

type FastMap<K, V> = HashMap<K, V, FastHash>;

/// Reads a `YYYY-MM-DD` date without the general parser of the time crate: the fold reads one in
/// almost every event.
fn date<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
    let s = <Cow<'de, str>>::deserialize(deserializer)?;
    parse_date(&s).ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a date like 2024-12-31")))
}

fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
    };
    let month = time::Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    Date::from_calendar_date(i32::try_from(num(0..4)?).ok()?, month, u8::try_from(num(8..10)?).ok()?).ok()
}

/// Strings (codes, versions, names) stored once and referred to by number.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Interner {
    strings: Vec<String>,
    #[serde(skip)]
    index: HashMap<String, u32>,
}

impl Interner {
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = u32::try_from(self.strings.len()).unwrap_or(u32::MAX);
        self.strings.push(s.to_owned());
        self.index.insert(s.to_owned(), i);
        i
    }

    pub(crate) fn get(&self, i: u32) -> &str {
        self.strings.get(i as usize).map_or("", String::as_str)
    }

    fn rebuild(&mut self) {
        self.index = self.strings.iter().enumerate().map(|(i, s)| (s.clone(), i as u32)).collect();
    }
}

/// A classification code as two interned strings: the code and its version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct CodeRef {
    pub code: u32,
    pub version: u32,
}

/// The classification of an organisation from a date on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Dims {
    pub lau: CodeRef,
    pub nuts3: CodeRef,
    pub country: u32,
    pub nace: CodeRef,
    /// The national name of the legal form.
    pub legal_form: u32,
    pub family: Family,
    pub cooperative_type: Option<CooperativeType>,
}

/// How an organisation left the population of active ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExitKind {
    /// Dissolved by its members, a court or an authority (not into a merger).
    Dissolved,
    /// Closed by a liquidation whose dissolution the log does not hold.
    Liquidated,
    /// Absorbed by, or merged into, another organisation.
    Merged,
}

/// The life cycle of one organisation.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Life {
    pub registered: Option<Date>,
    pub dissolved: Option<(Date, DissolutionKind)>,
    pub liquidated: Option<Date>,
    pub merged: Option<Date>,
}

impl Life {
    /// When and how the organisation stopped being active, if it did: the earliest of a merger,
    /// a dissolution, or a liquidation closed without a dissolution on record.
    pub(crate) fn exit(&self) -> Option<(Date, ExitKind)> {
        let dissolution = self
            .dissolved
            .map(|(d, kind)| (d, if kind == DissolutionKind::Merger { ExitKind::Merged } else { ExitKind::Dissolved }));
        let liquidation =
            if self.dissolved.is_none() { self.liquidated.map(|d| (d, ExitKind::Liquidated)) } else { None };
        [self.merged.map(|d| (d, ExitKind::Merged)), dissolution, liquidation].into_iter().flatten().min_by_key(|e| e.0)
    }
}

/// A member of one organisation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct MemberFacts {
    pub org: u32,
    pub person: PersonRef,
    pub admitted: Date,
    pub left: Option<(Date, ExitReason)>,
    pub category: MemberCategory,
    pub shares: u32,
}

/// What the registry keeps in clear about a person, for statistics.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct PersonAttrs {
    pub natural: bool,
    pub sex: Sex,
    pub birth_year: Option<u16>,
}

/// A general assembly's attendance.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct Assembly {
    pub date: Date,
    pub eligible: u32,
    pub present: u32,
    pub proxies: u32,
}

/// A board election's counts.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct Election {
    pub date: Date,
    pub term_from: Date,
    pub term_until: Option<Date>,
    pub seats: u32,
    pub candidates: u32,
    pub women: Option<u32>,
    pub under_30: Option<u32>,
    pub new_holders: Option<u32>,
}

/// A year's approved accounts: the figures the indicators use, in the accounts' currency.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Accounts {
    pub fiscal_year: i32,
    pub currency: imece_domain::Currency,
    /// By [`Figure`] index; `None` where the accounts do not report it.
    pub figures: [Option<Decimal>; Figure::COUNT],
    pub workforce: imece_domain::Workforce,
}

/// The money figures of the accounts that indicators read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Figure {
    Turnover,
    MemberTurnover,
    PersonnelCosts,
    MemberLabourCosts,
    Purchases,
    PurchasesFromMembers,
    PurchasesFromSocialEconomy,
    NetResult,
    Equity,
    ShareCapital,
    IndivisibleReserves,
}

impl Figure {
    pub(crate) const COUNT: usize = 11;
}

/// A year's surplus allocation: the distributable surplus and the amount of each kind.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Allocation {
    pub fiscal_year: i32,
    pub currency: imece_domain::Currency,
    pub surplus: Decimal,
    /// By [`surplus_kind_index`].
    pub items: [Decimal; SURPLUS_KINDS.len()],
}

/// Every kind of surplus allocation, in the order of the catalogue's indicators 19.
pub const SURPLUS_KINDS: [SurplusKind; 11] = [
    SurplusKind::LegalReserve,
    SurplusKind::IndivisibleReserve,
    SurplusKind::DivisibleReserve,
    SurplusKind::MutualFund,
    SurplusKind::PatronageRefund,
    SurplusKind::CapitalInterest,
    SurplusKind::WorkerShare,
    SurplusKind::EducationFund,
    SurplusKind::CommunityFund,
    SurplusKind::LossCoverage,
    SurplusKind::Other,
];

pub(crate) fn surplus_kind_index(kind: SurplusKind) -> usize {
    SURPLUS_KINDS.iter().position(|k| *k == kind).unwrap_or(SURPLUS_KINDS.len() - 1)
}

/// A declared (or computed) membership snapshot; `None` cells were suppressed at the source.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Snapshot {
    pub as_of: Date,
    pub members: u32,
    pub natural: u32,
    pub legal: u32,
    /// Female, male, other, unknown.
    pub by_sex: [Option<u32>; 4],
    /// Under 30, 30 to 64, 65 and over, unknown.
    pub by_age: [Option<u32>; 4],
    /// By [`MemberCategory`] in declaration order; `None` when suppressed or not given.
    pub by_category: [Option<u32>; 6],
}

pub(crate) fn category_index(c: MemberCategory) -> usize {
    match c {
        MemberCategory::User => 0,
        MemberCategory::Worker => 1,
        MemberCategory::Producer => 2,
        MemberCategory::Volunteer => 3,
        MemberCategory::Investor => 4,
        MemberCategory::Other => 5,
    }
}

/// A commons agreement, counted for the organisation that recorded it first.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Agreement {
    pub org: u32,
    pub from: Date,
    pub until: Option<Date>,
    pub ended: Option<Date>,
}

/// Everything the indicators need about one organisation.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct OrgFacts {
    pub stream: String,
    pub id: Option<OrgId>,
    pub life: Life,
    /// Classification history, in date order.
    pub dims: Vec<(Date, Dims)>,
    /// Whether the organisation is a type-B social cooperative (work integration, L. 381/1991):
    /// its legal form or an Albo/RUNTS entry says so.
    pub type_b: bool,
    /// Whether any member was recorded person by person (else only snapshots, if any).
    pub person_level: bool,
    /// Indexes into [`Facts::members`].
    pub members: Vec<u32>,
    pub snapshots: Vec<Snapshot>,
    pub assemblies: Vec<Assembly>,
    pub elections: Vec<Election>,
    /// Board seats taken (`true`) or left, in date order.
    pub seat_changes: Vec<(Date, (PersonRef, bool))>,
    pub accounts: Vec<Accounts>,
    pub allocations: Vec<Allocation>,
    /// Fiscal years whose allocation has a finding against a legal minimum.
    pub allocation_findings: Vec<i32>,
    /// Voting rule and maximum votes per member, in date order.
    pub statute: Vec<(Date, (VotingRule, u32))>,
    /// Federation (interned name), joined or left, in date order.
    pub affiliations: Vec<(Date, (u32, bool))>,
    /// Audits of the cooperative kind (revisione, ministry inspections).
    pub audits: Vec<(Date, AuditKind)>,
    /// Paid-in capital by member (index into [`Facts::members`]), dated.
    pub capital: Vec<(u32, Date, Decimal)>,
    /// The log position of the last event that changed the organisation.
    pub last_change: u64,
}

/// The indicators' projection: every fact an indicator rests on, per organisation.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub(crate) strings: Interner,
    pub(crate) orgs: Vec<OrgFacts>,
    by_stream: FastMap<String, u32>,
    /// The last stream and its organisation: events of one stream often come together.
    last_stream: Option<(imece_log::StreamId, u32)>,
    pub(crate) members: Vec<MemberFacts>,
    memberships: FastMap<MembershipId, u32>,
    pub(crate) persons: FastMap<PersonRef, PersonAttrs>,
    pub(crate) agreements: HashMap<imece_domain::AgreementId, Agreement>,
    /// The latest year of any fact's legal date: the end of the observed period.
    pub(crate) latest_year: Option<i32>,
    /// The position of the next event to apply.
    pub(crate) next_position: u64,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    strings: Interner,
    orgs: Vec<OrgFacts>,
    members: Vec<(MembershipId, MemberFacts)>,
    persons: Vec<(PersonRef, PersonAttrs)>,
    agreements: Vec<(imece_domain::AgreementId, Agreement)>,
    latest_year: Option<i32>,
    next_position: u64,
}

/// The event types the indicators read. Everything else is skipped before decoding.
fn needed(name: &str) -> bool {
    matches!(
        name,
        "OrganisationRegistered"
            | "RegisterEntryRecorded"
            | "StatuteAmended"
            | "SeatRelocated"
            | "ActivityReclassified"
            | "StatusChanged"
            | "DissolutionResolved"
            | "LiquidationClosed"
            | "MergerCompleted"
            | "LegalFormConverted"
            | "AffiliationChanged"
            | "CommonsAgreementSigned"
            | "CommonsAgreementEnded"
            | "PersonEnrolled"
            | "MemberAdmitted"
            | "CapitalPaidIn"
            | "SharesTransferred"
            | "MemberLeft"
            | "MembershipSnapshotDeclared"
            | "GeneralAssemblyHeld"
            | "OrganElected"
            | "OrganMemberChanged"
            | "AnnualAccountsApproved"
            | "SurplusAllocated"
            | "AuditCompleted"
            | "ComplianceFindingRecorded"
    )
}

// Borrowed readers of the frequent person-level events: only the fields used, unknown fields
// skipped, personal data never copied.

#[derive(Deserialize)]
struct LightPersonEnrolled<'a> {
    person: PersonRef,
    #[serde(borrow)]
    person_kind: LightPersonKind<'a>,
}

#[derive(Deserialize)]
struct LightPersonKind<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    sex: Option<Sex>,
    #[serde(default)]
    birth_year: Option<u16>,
}

#[derive(Deserialize)]
struct LightMemberAdmitted {
    #[serde(deserialize_with = "date")]
    occurred_on: Date,
    membership: MembershipId,
    person: PersonRef,
    category: MemberCategory,
    shares: u32,
}

#[derive(Deserialize)]
struct LightMemberLeft {
    #[serde(deserialize_with = "date")]
    occurred_on: Date,
    membership: MembershipId,
    reason: ExitReason,
}

#[derive(Deserialize)]
struct LightCapitalPaidIn {
    #[serde(deserialize_with = "date")]
    occurred_on: Date,
    membership: MembershipId,
    amount: Money,
}

#[derive(Deserialize)]
struct LightSharesTransferred {
    #[serde(deserialize_with = "date")]
    occurred_on: Date,
    from: MembershipId,
    to: MembershipId,
    shares: u32,
}

#[derive(Deserialize)]
struct LightOrganMemberChanged {
    #[serde(deserialize_with = "date")]
    occurred_on: Date,
    organ: Organ,
    person: PersonRef,
    change: SeatChange,
}

/// Both schema versions of `GeneralAssemblyHeld` carry these fields.
#[derive(Deserialize)]
struct LightAssemblyHeld {
    #[serde(deserialize_with = "date")]
    occurred_on: Date,
    eligible: u32,
    present: u32,
    proxies: u32,
}

/// Parses a payload: as text when it is valid UTF-8 (checked once for the whole payload rather
/// than string by string), else as bytes, so that an invalid payload fails exactly as before.
fn parse<'a, T: Deserialize<'a>>(data: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(data) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(data),
    }
}

fn insert_dated<T>(v: &mut Vec<(Date, T)>, date: Date, item: T) {
    let at = v.partition_point(|(d, _)| *d <= date);
    v.insert(at, (date, item));
}

impl Facts {
    /// How many organisations the log has told of.
    pub fn organisations(&self) -> usize {
        self.orgs.len()
    }

    /// How many memberships (current and past) the log has told of.
    pub fn memberships(&self) -> usize {
        self.members.len()
    }

    /// The latest year of any fact's legal date, the end of the observed period.
    pub fn latest_year(&self) -> Option<i32> {
        self.latest_year
    }

    /// The position of the next event to apply.
    pub fn next_position(&self) -> u64 {
        self.next_position
    }

    fn org_of(&mut self, stream: &imece_log::StreamId, position: u64) -> u32 {
        if let Some((last, i)) = &self.last_stream
            && last.as_str() == stream.as_str()
        {
            let i = *i;
            self.orgs[i as usize].last_change = position;
            return i;
        }
        let i = self.org(stream.as_str(), position);
        self.last_stream = Some((stream.clone(), i));
        i
    }

    fn org(&mut self, stream: &str, position: u64) -> u32 {
        let i = match self.by_stream.get(stream) {
            Some(&i) => i,
            None => {
                let i = self.orgs.len() as u32;
                self.orgs.push(OrgFacts { stream: stream.to_owned(), ..OrgFacts::default() });
                self.by_stream.insert(stream.to_owned(), i);
                i
            }
        };
        self.orgs[i as usize].last_change = position;
        i
    }

    fn seen(&mut self, date: Date) {
        let y = date.year();
        if self.latest_year.is_none_or(|l| y > l) {
            self.latest_year = Some(y);
        }
    }

    fn code(&mut self, c: &imece_domain::Code) -> CodeRef {
        CodeRef { code: self.strings.intern(&c.code), version: self.strings.intern(&c.version) }
    }

    fn member_index(&self, m: &MembershipId) -> Option<u32> {
        self.memberships.get(m).copied()
    }

    /// The classification in force now, to change one part of it from `date` on.
    fn change_dims(&mut self, org: u32, date: Date, change: impl FnOnce(&mut Dims)) {
        let o = &mut self.orgs[org as usize];
        let Some(mut dims) = o.dims.iter().rev().find(|(d, _)| *d <= date).or(o.dims.first()).map(|(_, d)| *d) else {
            // Nothing to change before the registration is known.
            return;
        };
        change(&mut dims);
        // Later entries keep their own values for what they changed; this change holds until then.
        insert_dated(&mut o.dims, date, dims);
    }

    fn admit(
        &mut self,
        org: u32,
        date: Date,
        membership: MembershipId,
        person: PersonRef,
        category: MemberCategory,
        shares: u32,
    ) {
        let member = MemberFacts { org, person, admitted: date, left: None, category, shares };
        match self.memberships.get(&membership) {
            // The same admission again (a replayed import): the latest record stands.
            Some(&i) => self.members[i as usize] = member,
            None => {
                let i = self.members.len() as u32;
                self.members.push(member);
                self.memberships.insert(membership, i);
                self.orgs[org as usize].members.push(i);
            }
        }
        self.orgs[org as usize].person_level = true;
    }

    fn leave(&mut self, date: Date, membership: &MembershipId, reason: ExitReason) {
        if let Some(i) = self.member_index(membership) {
            self.members[i as usize].left = Some((date, reason));
        }
    }

    fn pay_in(&mut self, org: u32, date: Date, membership: &MembershipId, amount: Decimal) {
        if let Some(i) = self.member_index(membership) {
            self.orgs[org as usize].capital.push((i, date, amount));
        }
    }

    /// Paid-in capital moves with the shares, in proportion to the shares the seller held.
    fn transfer(&mut self, org: u32, date: Date, from: &MembershipId, to: &MembershipId, shares: u32) {
        let (Some(f), Some(t)) = (self.member_index(from), self.member_index(to)) else { return };
        let held = self.members[f as usize].shares;
        let o = &mut self.orgs[org as usize];
        if held > 0 {
            let paid: Decimal = o.capital.iter().filter(|(m, d, _)| *m == f && *d <= date).map(|(_, _, a)| *a).sum();
            let moved = paid * Decimal::from(shares.min(held)) / Decimal::from(held);
            if !moved.is_zero() {
                o.capital.push((f, date, -moved));
                o.capital.push((t, date, moved));
            }
        }
        let moved_shares = shares.min(held);
        self.members[f as usize].shares -= moved_shares;
        self.members[t as usize].shares += moved_shares;
    }

    fn enrol(&mut self, person: PersonRef, attrs: PersonAttrs) {
        self.persons.insert(person, attrs);
    }

    fn seat(&mut self, org: u32, date: Date, organ: Organ, person: PersonRef, change: SeatChange) {
        if organ == Organ::Board {
            insert_dated(&mut self.orgs[org as usize].seat_changes, date, (person, change.takes_seat()));
        }
    }

    fn assembly(&mut self, org: u32, a: Assembly) {
        self.orgs[org as usize].assemblies.push(a);
    }

    fn apply_light(&mut self, name: &str, version: u32, event: &RecordedEvent) -> Option<Result<()>> {
        let data: &[u8] = &event.data;
        let fail = |e: serde_json::Error| Error::Event {
            position: event.position,
            event_type: event.event_type.clone(),
            reason: e.to_string(),
        };
        let stream = &event.stream;
        let position = event.position;
        let result = match (name, version) {
            ("PersonEnrolled", 1) => parse::<LightPersonEnrolled<'_>>(data).map(|e| {
                let natural = e.person_kind.kind == "natural";
                let attrs = PersonAttrs {
                    natural,
                    sex: e.person_kind.sex.unwrap_or(Sex::Unknown),
                    birth_year: e.person_kind.birth_year,
                };
                self.org_of(stream, position);
                self.enrol(e.person, attrs);
            }),
            ("MemberAdmitted", 1) => parse::<LightMemberAdmitted>(data).map(|e| {
                let org = self.org_of(stream, position);
                self.seen(e.occurred_on);
                self.admit(org, e.occurred_on, e.membership, e.person, e.category, e.shares);
            }),
            ("MemberLeft", 1) => parse::<LightMemberLeft>(data).map(|e| {
                self.org_of(stream, position);
                self.seen(e.occurred_on);
                self.leave(e.occurred_on, &e.membership, e.reason);
            }),
            ("CapitalPaidIn", 1) => parse::<LightCapitalPaidIn>(data).map(|e| {
                let org = self.org_of(stream, position);
                self.seen(e.occurred_on);
                self.pay_in(org, e.occurred_on, &e.membership, e.amount.amount);
            }),
            ("SharesTransferred", 1) => parse::<LightSharesTransferred>(data).map(|e| {
                let org = self.org_of(stream, position);
                self.seen(e.occurred_on);
                self.transfer(org, e.occurred_on, &e.from, &e.to, e.shares);
            }),
            ("OrganMemberChanged", 1) => parse::<LightOrganMemberChanged>(data).map(|e| {
                let org = self.org_of(stream, position);
                self.seen(e.occurred_on);
                self.seat(org, e.occurred_on, e.organ, e.person, e.change);
            }),
            ("GeneralAssemblyHeld", 1 | 2) => parse::<LightAssemblyHeld>(data).map(|e| {
                let org = self.org_of(stream, position);
                self.seen(e.occurred_on);
                self.assembly(
                    org,
                    Assembly { date: e.occurred_on, eligible: e.eligible, present: e.present, proxies: e.proxies },
                );
            }),
            _ => return None,
        };
        Some(result.map_err(fail))
    }

    /// Folds one decoded event of `stream` into the facts.
    fn apply_event(&mut self, stream: &imece_log::StreamId, position: u64, event: Event) {
        let org = self.org_of(stream, position);
        self.seen(event.occurred_on());
        let o = org as usize;
        match event {
            Event::OrganisationRegistered(e) => {
                let dims = Dims {
                    lau: self.code(&e.seat.lau),
                    nuts3: self.code(&e.seat.nuts3),
                    country: self.strings.intern(e.seat.country.as_str()),
                    nace: self.code(&e.activity.primary),
                    legal_form: self.strings.intern(&e.legal_form.national),
                    family: e.family,
                    cooperative_type: e.cooperative_type,
                };
                let type_b = is_type_b(&e.legal_form.national);
                let org = &mut self.orgs[o];
                org.id = Some(e.organisation);
                org.life.registered = Some(e.occurred_on);
                org.type_b |= type_b;
                // The registration's classification holds from the registration date; anything
                // recorded with an earlier date would be a correction and is kept in order.
                org.dims.retain(|(d, _)| *d > e.occurred_on);
                insert_dated(&mut org.dims, e.occurred_on, dims);
            }
            Event::RegisterEntryRecorded(e) => {
                let text = match &e.register {
                    Register::ItAlbo { category, .. } => Some(category.as_str()),
                    Register::ItRunts { section } => Some(section.as_str()),
                    _ => None,
                };
                if text.is_some_and(is_type_b) {
                    self.orgs[o].type_b = true;
                }
            }
            Event::StatuteAmended(e) => {
                insert_dated(&mut self.orgs[o].statute, e.occurred_on, (e.voting_rule, e.max_votes_per_member))
            }
            Event::SeatRelocated(e) => {
                let (lau, nuts3, country) =
                    (self.code(&e.seat.lau), self.code(&e.seat.nuts3), self.strings.intern(e.seat.country.as_str()));
                self.change_dims(org, e.occurred_on, |d| {
                    d.lau = lau;
                    d.nuts3 = nuts3;
                    d.country = country;
                });
            }
            Event::ActivityReclassified(e) => {
                let nace = self.code(&e.activity.primary);
                self.change_dims(org, e.occurred_on, |d| d.nace = nace);
            }
            Event::LegalFormConverted(e) => {
                let form = self.strings.intern(&e.to.national);
                if is_type_b(&e.to.national) {
                    self.orgs[o].type_b = true;
                }
                self.change_dims(org, e.occurred_on, |d| {
                    d.legal_form = form;
                    d.family = e.family;
                });
            }
            Event::StatusChanged(e) => {
                // Back to active while in liquidation revokes the dissolution (c.c. 2487-ter).
                let life = &mut self.orgs[o].life;
                if e.status == Status::Active && life.liquidated.is_none() && life.merged.is_none() {
                    life.dissolved = None;
                }
            }
            Event::DissolutionResolved(e) => self.orgs[o].life.dissolved = Some((e.occurred_on, e.kind)),
            Event::LiquidationClosed(e) => self.orgs[o].life.liquidated = Some(e.occurred_on),
            Event::MergerCompleted(e) => {
                let own = self.orgs[o].id;
                // Recorded on every side: the absorbing organisation goes on, the others close.
                if own != Some(e.absorbing) {
                    self.orgs[o].life.merged = Some(e.occurred_on);
                }
            }
            Event::AffiliationChanged(e) => {
                let name = self.strings.intern(&e.federation.name);
                let joined = e.change == AffiliationChange::Joined;
                insert_dated(&mut self.orgs[o].affiliations, e.occurred_on, (name, joined));
            }
            Event::CommonsAgreementSigned(e) => {
                self.agreements.entry(e.agreement).or_insert(Agreement {
                    org,
                    from: e.from,
                    until: e.until,
                    ended: None,
                });
            }
            Event::CommonsAgreementEnded(e) => {
                if let Some(a) = self.agreements.get_mut(&e.agreement) {
                    a.ended = Some(e.occurred_on);
                    // The agreement counts for the organisation that recorded it first: its
                    // figures change, whichever stream recorded the end.
                    let owner = a.org as usize;
                    self.orgs[owner].last_change = position;
                }
            }
            Event::PersonEnrolled(e) => {
                let attrs = match e.person_kind {
                    PersonKind::Natural { sex, birth_year, .. } => PersonAttrs { natural: true, sex, birth_year },
                    PersonKind::Legal { .. } => PersonAttrs { natural: false, sex: Sex::Unknown, birth_year: None },
                };
                self.enrol(e.person, attrs);
            }
            Event::MemberAdmitted(e) => self.admit(org, e.occurred_on, e.membership, e.person, e.category, e.shares),
            Event::MemberLeft(e) => self.leave(e.occurred_on, &e.membership, e.reason),
            Event::CapitalPaidIn(e) => self.pay_in(org, e.occurred_on, &e.membership, e.amount.amount),
            Event::SharesTransferred(e) => self.transfer(org, e.occurred_on, &e.from, &e.to, e.shares),
            Event::MembershipSnapshotDeclared(e) => {
                let snapshot = snapshot(&e);
                let list = &mut self.orgs[o].snapshots;
                list.retain(|s| s.as_of != snapshot.as_of);
                let at = list.partition_point(|s| s.as_of <= snapshot.as_of);
                list.insert(at, snapshot);
            }
            Event::GeneralAssemblyHeld(e) => self.assembly(
                org,
                Assembly { date: e.occurred_on, eligible: e.eligible, present: e.present, proxies: e.proxies },
            ),
            Event::OrganElected(e) if e.organ == Organ::Board => {
                self.orgs[o].elections.push(Election {
                    date: e.occurred_on,
                    term_from: e.term_from,
                    term_until: e.term_until,
                    seats: e.seats,
                    candidates: e.candidates,
                    women: e.women_elected,
                    under_30: e.under_30_elected,
                    new_holders: e.new_holders,
                });
            }
            Event::OrganMemberChanged(e) => self.seat(org, e.occurred_on, e.organ, e.person, e.change),
            Event::AnnualAccountsApproved(e) => {
                let f = &e.figures;
                let amount = |m: &Option<Money>| m.as_ref().filter(|m| m.currency == e.currency).map(|m| m.amount);
                let mut figures = [None; Figure::COUNT];
                figures[Figure::Turnover as usize] = amount(&f.turnover);
                figures[Figure::MemberTurnover as usize] = amount(&f.member_turnover);
                figures[Figure::PersonnelCosts as usize] = amount(&f.personnel_costs);
                figures[Figure::MemberLabourCosts as usize] = amount(&f.member_labour_costs);
                figures[Figure::Purchases as usize] = amount(&f.purchases);
                figures[Figure::PurchasesFromMembers as usize] = amount(&f.purchases_from_members);
                figures[Figure::PurchasesFromSocialEconomy as usize] = amount(&f.purchases_from_social_economy);
                figures[Figure::NetResult as usize] = amount(&Some(f.net_result));
                figures[Figure::Equity as usize] = amount(&f.equity);
                figures[Figure::ShareCapital as usize] = amount(&f.share_capital);
                figures[Figure::IndivisibleReserves as usize] = amount(&f.indivisible_reserves);
                let accounts =
                    Accounts { fiscal_year: e.fiscal_year, currency: e.currency, figures, workforce: e.workforce };
                // Accounts approved again for the same year (a correction) replace the earlier ones.
                let list = &mut self.orgs[o].accounts;
                list.retain(|a| a.fiscal_year != e.fiscal_year);
                list.push(accounts);
            }
            Event::SurplusAllocated(e) => {
                let mut items = [Decimal::ZERO; SURPLUS_KINDS.len()];
                for item in e.items.iter().filter(|i| i.amount.currency == e.surplus.currency) {
                    items[surplus_kind_index(item.kind)] += item.amount.amount;
                }
                let allocation = Allocation {
                    fiscal_year: e.fiscal_year,
                    currency: e.surplus.currency,
                    surplus: e.surplus.amount,
                    items,
                };
                let list = &mut self.orgs[o].allocations;
                list.retain(|a| a.fiscal_year != e.fiscal_year);
                list.push(allocation);
            }
            Event::AuditCompleted(e) => {
                if matches!(e.kind, AuditKind::Revisione | AuditKind::Ministry) {
                    self.orgs[o].audits.push((e.occurred_on, e.kind));
                }
            }
            Event::ComplianceFindingRecorded(e) => {
                // Findings against the statute are not legal minimums (indicator 20 is about law).
                if let Subject::SurplusAllocation { fiscal_year } = e.subject
                    && !e.rule.starts_with("statute.")
                    && !self.orgs[o].allocation_findings.contains(&fiscal_year)
                {
                    self.orgs[o].allocation_findings.push(fiscal_year);
                }
            }
            _ => {}
        }
    }

    /// Interned federation names are strings like any other.
    pub(crate) fn string(&self, i: u32) -> &str {
        self.strings.get(i)
    }
}

/// Whether a legal form or register category names a type-B social cooperative (work
/// integration of disadvantaged people, L. 381/1991 art. 1 b).
fn is_type_b(text: &str) -> bool {
    let t = text.to_lowercase();
    t.contains("tipo b") || t.contains("type b") || t.contains("inserimento lavorativo")
}

fn snapshot(e: &MembershipSnapshotDeclared) -> Snapshot {
    // A category the snapshot does not list has no members; a listed `null` was suppressed.
    let mut by_category = [Some(0); 6];
    for (c, n) in &e.by_category {
        by_category[category_index(*c)] = *n;
    }
    Snapshot {
        as_of: e.as_of,
        members: e.members,
        natural: e.natural_persons,
        legal: e.legal_persons,
        by_sex: e.by_sex.cells(),
        by_age: e.by_age.cells(),
        by_category,
    }
}

/// `Name.vN` as name and `N` (unparsed), found from the end without a substring searcher.
fn split_type(event_type: &str) -> Option<(&str, &str)> {
    let b = event_type.as_bytes();
    let dot = b.iter().rposition(|c| *c == b'.')?;
    (b.get(dot + 1) == Some(&b'v')).then(|| (&event_type[..dot], &event_type[dot + 2..]))
}

impl imece_projections::Projection for Facts {
    type Error = Error;

    const NAME: &'static str = "indicators";
    const VERSION: u32 = 1;

    fn empty() -> Self {
        Facts::default()
    }

    fn apply(&mut self, event: &RecordedEvent) -> Result<()> {
        let Some((name, version)) = split_type(&event.event_type) else {
            return Err(Error::Event {
                position: event.position,
                event_type: event.event_type.clone(),
                reason: "the type is not Name.vN".into(),
            });
        };
        if !needed(name) {
            self.next_position = event.position + 1;
            return Ok(());
        }
        if let Ok(v) = version.parse::<u32>()
            && let Some(done) = self.apply_light(name, v, event)
        {
            done?;
            self.next_position = event.position + 1;
            return Ok(());
        }
        let decoded = Event::decode(&event.event_type, &event.data).map_err(|e| Error::Event {
            position: event.position,
            event_type: event.event_type.clone(),
            reason: e.to_string(),
        })?;
        self.apply_event(&event.stream, event.position, decoded);
        self.next_position = event.position + 1;
        Ok(())
    }

    fn encode(&self) -> Result<Vec<u8>> {
        let stored = Stored {
            strings: self.strings.clone(),
            orgs: self.orgs.clone(),
            members: {
                let mut by_index: Vec<(MembershipId, MemberFacts)> = Vec::with_capacity(self.members.len());
                let mut ids: Vec<(&MembershipId, &u32)> = self.memberships.iter().collect();
                ids.sort_by_key(|(_, i)| **i);
                for (id, i) in ids {
                    by_index.push((*id, self.members[*i as usize].clone()));
                }
                by_index
            },
            persons: self.persons.iter().map(|(k, v)| (*k, *v)).collect(),
            agreements: self.agreements.iter().map(|(k, v)| (*k, v.clone())).collect(),
            latest_year: self.latest_year,
            next_position: self.next_position,
        };
        serde_json::to_vec(&stored).map_err(|e| Error::Snapshot { reason: e.to_string() })
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        let stored: Stored = serde_json::from_slice(bytes).map_err(|e| Error::Snapshot { reason: e.to_string() })?;
        let mut strings = stored.strings;
        strings.rebuild();
        let by_stream: FastMap<String, u32> =
            stored.orgs.iter().enumerate().map(|(i, o)| (o.stream.clone(), i as u32)).collect();
        let memberships: FastMap<MembershipId, u32> =
            stored.members.iter().enumerate().map(|(i, (id, _))| (*id, i as u32)).collect();
        Ok(Facts {
            strings,
            orgs: stored.orgs,
            by_stream,
            last_stream: None,
            members: stored.members.into_iter().map(|(_, m)| m).collect(),
            memberships,
            persons: stored.persons.into_iter().collect(),
            agreements: stored.agreements.into_iter().collect(),
            latest_year: stored.latest_year,
            next_position: stored.next_position,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn ids_that_differ_only_in_their_last_bytes_spread_over_the_low_bits() {
        // UUIDv7 ids minted in a row share their first bytes: without the final mix they would
        // all fall into one bucket and the fold would turn quadratic.
        let buckets: std::collections::HashSet<u64> = (0..4096u128)
            .map(|n| FastHash.hash_one(uuid_of(0x0190_0000_0000_7000_8000_0000_0000_0000 + n)) & 0xfff)
            .collect();
        assert!(buckets.len() > 2500, "{} buckets of 4096", buckets.len());
    }

    fn uuid_of(n: u128) -> MembershipId {
        serde_json::from_str(&format!("\"{:032x}\"", n)).unwrap()
    }

    #[test]
    fn dates_are_read_exactly() {
        assert_eq!(parse_date("2024-02-29"), Date::from_calendar_date(2024, time::Month::February, 29).ok());
        for bad in ["2023-02-29", "2024-13-01", "2024-1-01", "20240101", "2024-01-0x", ""] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn event_types_split_at_the_last_version_mark() {
        assert_eq!(split_type("SurplusAllocated.v2"), Some(("SurplusAllocated", "2")));
        assert_eq!(split_type("Odd.name.v1"), Some(("Odd.name", "1")));
        assert_eq!(split_type("NoVersion"), None);
        assert_eq!(split_type("Name.x1"), None);
    }
}
