//! The organisation's state, rebuilt by applying its events in order.

use std::collections::{BTreeMap, BTreeSet};

use crate::events::{
    AffiliationChange, AlboSection, AssemblyKind, Event, Family, LegalForm, MemberCategory, Organ, PersonKind,
    Register, Seat, Status, StatuteAmended,
};
use crate::values::{
    AgreementId, AssemblyId, CountryCode, Currency, Date, FiscalYearEnd, KeyId, MembershipId, Money, Names, OrgId,
    PersonRef, Sex,
};

/// Where an organisation is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Not registered (an empty stream).
    Unregistered,
    /// A going concern, with its standing.
    Going(Status),
    /// Dissolved, in liquidation since the date.
    InLiquidation { since: Date },
    /// Gone: liquidated, or absorbed by a merger.
    Closed { on: Date, reason: ClosedReason },
}

/// Why an organisation is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClosedReason {
    Liquidated,
    MergedInto(OrgId),
}

/// What the aggregate remembers of an enrolled person: enough to decide, nothing that identifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub enrolled_on: Date,
    /// `None` for a legal person.
    pub natural: Option<NaturalPerson>,
    pub erased_on: Option<Date>,
}

/// The coarse attributes of a natural person, and the key their data is sealed under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NaturalPerson {
    pub sex: Sex,
    pub birth_year: Option<u16>,
    pub key_id: KeyId,
}

/// One membership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub person: PersonRef,
    pub category: MemberCategory,
    pub admitted_on: Date,
    pub shares: u32,
    pub subscribed: Money,
    pub paid_in: Money,
    pub left_on: Option<Date>,
}

impl Membership {
    /// Whether the membership was current on `day`.
    pub fn is_current_on(&self, day: Date) -> bool {
        self.admitted_on <= day && self.left_on.is_none_or(|left| left > day)
    }
}

/// One general assembly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assembly {
    pub convened_on: Date,
    pub kind: AssemblyKind,
    pub held: Option<Attendance>,
    /// Agenda items voted on.
    pub items_voted: BTreeSet<u32>,
}

/// Who took part in a held assembly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attendance {
    pub on: Date,
    pub eligible: u32,
    pub present: u32,
    pub proxies: u32,
}

/// The facts of the registration the rules need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub id: OrgId,
    pub registered_on: Date,
    pub founded_on: Date,
    pub family: Family,
    pub fiscal_year_end: FiscalYearEnd,
}

/// The organisation aggregate: what its stream says, folded into what decisions need.
///
/// Build it with [`Organisation::from_events`] or [`Organisation::apply`]; decide with
/// [`crate::decide`]. Applying never fails: events are facts already decided, and one that does
/// not fit (a member leaving who was never admitted, in an imported history) is taken as far as it
/// goes.
#[derive(Clone, Debug, Default)]
pub struct Organisation {
    pub(crate) registration: Option<Registration>,
    pub(crate) phase: Option<Phase>,
    pub(crate) names: Option<Names>,
    pub(crate) seat: Option<Seat>,
    pub(crate) legal_form: Option<LegalForm>,
    pub(crate) statute: Option<StatuteAmended>,
    pub(crate) albo_section: Option<AlboSection>,
    pub(crate) persons: BTreeMap<PersonRef, Person>,
    pub(crate) memberships: BTreeMap<MembershipId, Membership>,
    pub(crate) assemblies: BTreeMap<AssemblyId, Assembly>,
    pub(crate) organs: BTreeMap<Organ, BTreeSet<PersonRef>>,
    /// Approved accounts: fiscal year to currency and date of approval.
    pub(crate) accounts: BTreeMap<i32, (Currency, Date)>,
    /// Surplus allocations: fiscal year to date.
    pub(crate) allocations: BTreeMap<i32, Date>,
    pub(crate) affiliations: BTreeSet<String>,
    /// Commons agreements: whether each is still running.
    pub(crate) agreements: BTreeMap<AgreementId, bool>,
    pub(crate) events_applied: u64,
}

impl Organisation {
    /// The state after `events`, in stream order.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut org = Organisation::default();
        for e in events {
            org.apply(e);
        }
        org
    }

    /// The organisation's id, once registered.
    pub fn id(&self) -> Option<OrgId> {
        self.registration.as_ref().map(|r| r.id)
    }

    /// Where it is in its life.
    pub fn phase(&self) -> Phase {
        self.phase.unwrap_or(Phase::Unregistered)
    }

    /// The facts of its registration.
    pub fn registration(&self) -> Option<&Registration> {
        self.registration.as_ref()
    }

    /// The country of its seat: the jurisdiction of its events.
    pub fn jurisdiction(&self) -> Option<CountryCode> {
        self.seat.as_ref().map(|s| s.country)
    }

    /// The federations and unions it belongs to now (inter-cooperation).
    pub fn affiliations(&self) -> impl Iterator<Item = &str> {
        self.affiliations.iter().map(String::as_str)
    }

    /// Its names.
    pub fn names(&self) -> Option<&Names> {
        self.names.as_ref()
    }

    /// The statute as last amended, if any amendment was recorded.
    pub fn statute(&self) -> Option<&StatuteAmended> {
        self.statute.as_ref()
    }

    /// An enrolled person.
    pub fn person(&self, person: PersonRef) -> Option<&Person> {
        self.persons.get(&person)
    }

    /// A membership, current or past.
    pub fn membership(&self, membership: MembershipId) -> Option<&Membership> {
        self.memberships.get(&membership)
    }

    /// Memberships current on `day`.
    pub fn memberships_on(&self, day: Date) -> impl Iterator<Item = (&MembershipId, &Membership)> {
        self.memberships.iter().filter(move |(_, m)| m.is_current_on(day))
    }

    /// An assembly.
    pub fn assembly(&self, assembly: AssemblyId) -> Option<&Assembly> {
        self.assemblies.get(&assembly)
    }

    /// Who holds a seat in `organ`.
    pub fn organ(&self, organ: Organ) -> impl Iterator<Item = &PersonRef> {
        self.organs.get(&organ).into_iter().flatten()
    }

    /// How many events have been applied: the stream's version is this minus one.
    pub fn events_applied(&self) -> u64 {
        self.events_applied
    }

    /// Folds one event into the state.
    pub fn apply(&mut self, event: &Event) {
        self.events_applied += 1;
        match event {
            Event::OrganisationRegistered(e) => {
                self.registration = Some(Registration {
                    id: e.organisation,
                    registered_on: e.occurred_on,
                    founded_on: e.founded_on,
                    family: e.family,
                    fiscal_year_end: e.fiscal_year_end,
                });
                self.phase = Some(Phase::Going(Status::Active));
                self.names = Some(e.names.clone());
                self.seat = Some(e.seat.clone());
                self.legal_form = Some(e.legal_form.clone());
            }
            Event::RegisterEntryRecorded(e) => {
                if let Register::ItAlbo { section, .. } = &e.register {
                    self.albo_section = if e.until.is_some() { None } else { Some(*section) };
                }
            }
            Event::StatuteAmended(e) => self.statute = Some(e.clone()),
            Event::OrganisationRenamed(e) => self.names = Some(e.names.clone()),
            Event::SeatRelocated(e) => self.seat = Some(e.seat.clone()),
            Event::ActivityReclassified(_) => {}
            Event::StatusChanged(e) => self.phase = Some(Phase::Going(e.status)),
            Event::DissolutionResolved(e) => self.phase = Some(Phase::InLiquidation { since: e.occurred_on }),
            Event::LiquidationClosed(e) => {
                self.phase = Some(Phase::Closed { on: e.occurred_on, reason: ClosedReason::Liquidated });
            }
            Event::MergerCompleted(e) => {
                let me = self.id();
                // The absorbing organisation goes on; a new entity was registered on its own.
                if me.is_some_and(|me| e.absorbed.contains(&me)) {
                    self.phase =
                        Some(Phase::Closed { on: e.occurred_on, reason: ClosedReason::MergedInto(e.absorbing) });
                }
            }
            Event::LegalFormConverted(e) => {
                self.legal_form = Some(e.to.clone());
                if let Some(r) = &mut self.registration {
                    r.family = e.family;
                }
            }
            Event::AffiliationChanged(e) => {
                let name = e.federation.name.trim().to_lowercase();
                match e.change {
                    AffiliationChange::Joined => self.affiliations.insert(name),
                    AffiliationChange::Left => self.affiliations.remove(&name),
                };
            }
            Event::CommonsAgreementSigned(e) => {
                self.agreements.insert(e.agreement, true);
            }
            Event::CommonsAgreementEnded(e) => {
                self.agreements.insert(e.agreement, false);
            }
            Event::PersonEnrolled(e) => {
                let natural = match &e.person_kind {
                    PersonKind::Natural { sex, birth_year, personal_data } => {
                        Some(NaturalPerson { sex: *sex, birth_year: *birth_year, key_id: personal_data.key_id })
                    }
                    PersonKind::Legal { .. } => None,
                };
                self.persons.insert(e.person, Person { enrolled_on: e.occurred_on, natural, erased_on: None });
            }
            Event::MemberAdmitted(e) => {
                self.memberships.insert(
                    e.membership,
                    Membership {
                        person: e.person,
                        category: e.category,
                        admitted_on: e.occurred_on,
                        shares: e.shares,
                        subscribed: e.subscribed_capital,
                        paid_in: Money::zero(e.subscribed_capital.currency),
                        left_on: None,
                    },
                );
            }
            Event::CapitalPaidIn(e) => {
                if let Some(m) = self.memberships.get_mut(&e.membership)
                    && let Ok(total) = m.paid_in.checked_add(&e.amount)
                {
                    m.paid_in = total;
                }
            }
            Event::SharesTransferred(e) => {
                if let Some(from) = self.memberships.get_mut(&e.from) {
                    from.shares = from.shares.saturating_sub(e.shares);
                }
                if let Some(to) = self.memberships.get_mut(&e.to) {
                    to.shares = to.shares.saturating_add(e.shares);
                }
            }
            Event::MemberLeft(e) => {
                if let Some(m) = self.memberships.get_mut(&e.membership) {
                    m.left_on = Some(e.occurred_on);
                }
            }
            Event::MemberDataErased(e) => {
                if let Some(p) = self.persons.get_mut(&e.person) {
                    p.erased_on = Some(e.occurred_on);
                }
            }
            Event::MembershipSnapshotDeclared(_) => {}
            Event::GeneralAssemblyConvened(e) => {
                self.assemblies.insert(
                    e.assembly,
                    Assembly { convened_on: e.occurred_on, kind: e.kind, held: None, items_voted: BTreeSet::new() },
                );
            }
            Event::GeneralAssemblyHeld(e) => {
                if let Some(a) = self.assemblies.get_mut(&e.assembly) {
                    a.held = Some(Attendance {
                        on: e.occurred_on,
                        eligible: e.eligible,
                        present: e.present,
                        proxies: e.proxies,
                    });
                }
            }
            Event::ResolutionVoted(e) => {
                if let Some(a) = self.assemblies.get_mut(&e.assembly) {
                    a.items_voted.insert(e.item);
                }
            }
            Event::OrganElected(_) => {}
            Event::OrganMemberChanged(e) => {
                let seats = self.organs.entry(e.organ).or_default();
                if e.change.takes_seat() {
                    seats.insert(e.person);
                } else {
                    seats.remove(&e.person);
                }
            }
            Event::AnnualAccountsApproved(e) => {
                self.accounts.insert(e.fiscal_year, (e.currency, e.occurred_on));
            }
            Event::SurplusAllocated(e) => {
                self.allocations.insert(e.fiscal_year, e.occurred_on);
            }
            Event::AuditCompleted(_) | Event::SanctionImposed(_) | Event::ComplianceFindingRecorded(_) => {}
        }
    }
}
