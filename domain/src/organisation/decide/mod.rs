//! `decide`: a command against the organisation's history and the law, to the events to append.
//!
//! Every decision runs the same three checks first, then the command's own, which live in one
//! file per part of the catalogue (`lifecycle`, `members`, `governance`, `economics`):
//! 1. dates: nothing is dated after today, nor before the founding;
//! 2. existence: only a registration can start a stream, and only once;
//! 3. life cycle: a dissolved organisation records only what winds it up, a closed one only
//!    register entries and erasures of personal data.
//!
//! Structural impossibilities are refused; breaches of legal minimums by a real decision are
//! recorded with a compliance finding, unless the rule book says a rule refuses (ADR 0004).

mod economics;
mod governance;
mod lifecycle;
mod members;

use super::command::{Command, Context};
use super::state::{Attendance, ClosedReason, Membership, Organisation, Phase, Registration};
use crate::events::{AffiliationChange, ComplianceFindingRecorded, Event, Status, Subject};
use crate::rules::{Breach, Enforcement};
use crate::values::{AssemblyId, CountryCode, Date, MembershipId, Money, PersonRef};
use crate::{Error, Result};

/// What every command's own checks may need: the organisation, its registration and jurisdiction,
/// the decision's date and the context.
#[derive(Clone, Copy)]
struct At<'a> {
    org: &'a Organisation,
    reg: &'a Registration,
    jurisdiction: CountryCode,
    on: Date,
    ctx: Context<'a>,
}

/// Decides `command` against `org`, the state of its stream: the events to append, all or none,
/// or the reason it is refused. Pure: the same inputs always give the same answer.
pub fn decide(org: &Organisation, command: Command, ctx: &Context<'_>) -> Result<Vec<Event>> {
    let on = command.occurred_on();
    if on > ctx.today {
        return Err(Error::invalid(
            "occurred_on",
            format!("must not be in the future: {on} is after today, {}", ctx.today),
        ));
    }
    if let Command::Register(c) = command {
        return lifecycle::register(org, c, ctx);
    }
    let Some(reg) = org.registration() else {
        return Err(Error::refused("organisation", "is not registered: record its registration first"));
    };
    if on < reg.founded_on {
        return Err(Error::refused(
            "occurred_on",
            format!("must not be before the founding on {}, is {on}", reg.founded_on),
        ));
    }
    check_phase(org, &command)?;
    let jurisdiction = org.jurisdiction().ok_or_else(|| Error::refused("organisation", "has no seat recorded"))?;
    let at = &At { org, reg, jurisdiction, on, ctx: *ctx };

    use Command as C;
    match command {
        C::Register(_) => unreachable!("decided above"),
        C::RecordRegisterEntry(c) => lifecycle::record_register_entry(at, c),
        C::AmendStatute(c) => lifecycle::amend_statute(at, c),
        C::Rename(c) => lifecycle::rename(c),
        C::RelocateSeat(c) => lifecycle::relocate_seat(c),
        C::ReclassifyActivity(c) => lifecycle::reclassify_activity(c),
        C::ChangeStatus(c) => lifecycle::change_status(at, c),
        C::ResolveDissolution(c) => lifecycle::resolve_dissolution(at, c),
        C::CloseLiquidation(c) => lifecycle::close_liquidation(at, c),
        C::CompleteMerger(c) => lifecycle::complete_merger(at, c),
        C::ConvertLegalForm(c) => lifecycle::convert_legal_form(at, c),
        C::ChangeAffiliation(c) => lifecycle::change_affiliation(at, c),
        C::SignCommonsAgreement(c) => lifecycle::sign_commons_agreement(at, c),
        C::EndCommonsAgreement(c) => lifecycle::end_commons_agreement(at, c),
        C::EnrolPerson(c) => members::enrol_person(at, c),
        C::AdmitMember(c) => members::admit_member(at, c),
        C::PayInCapital(c) => members::pay_in_capital(at, c),
        C::TransferShares(c) => members::transfer_shares(at, c),
        C::RecordMemberLeaving(c) => members::record_member_leaving(at, c),
        C::EraseMemberData(c) => members::erase_member_data(at, c),
        C::DeclareMembershipSnapshot(c) => members::declare_membership_snapshot(at, c),
        C::ComputeMembershipSnapshot { occurred_on, as_of } => {
            members::compute_membership_snapshot(at, occurred_on, as_of)
        }
        C::ConveneAssembly(c) => governance::convene_assembly(at, c),
        C::RecordAssembly(c) => governance::record_assembly(at, c),
        C::RecordResolution(c) => governance::record_resolution(at, c),
        C::RecordElection(c) => governance::record_election(at, c),
        C::ChangeOrganMember(c) => governance::change_organ_member(at, c),
        C::ApproveAccounts(c) => economics::approve_accounts(at, c),
        C::AllocateSurplus(c) => economics::allocate_surplus(at, c),
        C::RecordAudit(c) => economics::record_audit(at, c),
        C::ImposeSanction(c) => economics::impose_sanction(c),
    }
}

/// What the organisation's life cycle allows.
fn check_phase(org: &Organisation, command: &Command) -> Result<()> {
    use Command as C;
    match org.phase() {
        Phase::Unregistered => Err(Error::refused("organisation", "is not registered: record its registration first")),
        Phase::Going(_) => match command {
            C::CloseLiquidation(_) => {
                Err(Error::refused("organisation", "is not in liquidation: record its dissolution first"))
            }
            _ => Ok(()),
        },
        Phase::InLiquidation { since } => {
            let allowed = match command {
                C::RecordRegisterEntry(_)
                | C::CloseLiquidation(_)
                | C::CompleteMerger(_)
                | C::EndCommonsAgreement(_)
                | C::RecordMemberLeaving(_)
                | C::EraseMemberData(_)
                | C::DeclareMembershipSnapshot(_)
                | C::ComputeMembershipSnapshot { .. }
                | C::ConveneAssembly(_)
                | C::RecordAssembly(_)
                | C::RecordResolution(_)
                | C::RecordElection(_)
                | C::ChangeOrganMember(_)
                | C::ApproveAccounts(_)
                | C::RecordAudit(_)
                | C::ImposeSanction(_) => true,
                // Back to active revokes the dissolution (c.c. 2487-ter).
                C::ChangeStatus(c) => c.status == Status::Active,
                C::ChangeAffiliation(c) => c.change == AffiliationChange::Left,
                _ => false,
            };
            if allowed {
                Ok(())
            } else {
                Err(Error::refused(
                    "organisation",
                    format!(
                        "is in liquidation since {since}: {} cannot be recorded, only what winds it up",
                        command.name()
                    ),
                ))
            }
        }
        Phase::Closed { on, reason } => match command {
            C::RecordRegisterEntry(_) | C::EraseMemberData(_) => Ok(()),
            _ => {
                let why = match reason {
                    ClosedReason::Liquidated => "liquidated".to_owned(),
                    ClosedReason::MergedInto(other) => format!("merged into {other}"),
                };
                Err(Error::refused(
                    "organisation",
                    format!(
                        "was closed on {on} ({why}): only register entries and erasures of personal data can be recorded"
                    ),
                ))
            }
        },
    }
}

/// Turns breaches into compliance findings, or the first refusing one into an error.
pub(super) fn enforce(breaches: Vec<Breach>, subject: Subject, on: Date) -> Result<Vec<Event>> {
    breaches
        .into_iter()
        .map(|b| match b.enforcement {
            Enforcement::Refuse => Err(b.into_error()),
            Enforcement::Record => Ok(ComplianceFindingRecorded {
                occurred_on: on,
                subject: subject.clone(),
                rule: b.rule,
                legal_reference: b.legal_reference,
                in_force_since: b.in_force_since,
                field: b.field,
                requirement: b.requirement,
                found: b.found,
            }
            .into()),
        })
        .collect()
}

/// [`Error::Invalid`] on `field` unless `parts` add up exactly to `total`.
pub(super) fn require_sum<'a>(
    field: &str,
    total: &Money,
    parts: impl Iterator<Item = &'a Money>,
    what: &str,
) -> Result<()> {
    let sum = Money::sum(total.currency, parts).map_err(|e| e.within(field))?;
    if sum.amount != total.amount {
        return Err(Error::invalid(field, format!("must add up exactly to {what} {total}; they add up to {sum}")));
    }
    Ok(())
}

/// The enrolled person, unless unknown or erased.
pub(super) fn require_person(org: &Organisation, person: PersonRef) -> Result<()> {
    match org.person(person) {
        None => Err(Error::refused("person", format!("{person} is not enrolled: enrol the person first"))),
        Some(p) => match p.erased_on {
            Some(erased) => Err(Error::refused("person", format!("their data was erased on {erased}"))),
            None => Ok(()),
        },
    }
}

/// The membership, if it exists and has not ended.
pub(super) fn require_current<'a>(
    org: &'a Organisation,
    field: &str,
    membership: MembershipId,
) -> Result<&'a Membership> {
    let Some(m) = org.membership(membership) else {
        return Err(Error::refused(field, format!("no membership {membership} in this organisation")));
    };
    if let Some(left) = m.left_on {
        return Err(Error::refused(field, format!("{membership} left on {left}")));
    }
    Ok(m)
}

/// The attendance of an assembly that was held on or before `on`.
pub(super) fn require_held(org: &Organisation, assembly: AssemblyId, on: Date) -> Result<Attendance> {
    let Some(a) = org.assembly(assembly) else {
        return Err(Error::refused("assembly", format!("{assembly} was not convened")));
    };
    let Some(held) = a.held else {
        return Err(Error::refused("assembly", format!("{assembly} has not been held: record it first")));
    };
    if on < held.on {
        return Err(Error::refused("occurred_on", format!("must not be before the assembly on {}", held.on)));
    }
    Ok(held)
}

/// A fiscal year that has ended before `on` and not before the founding year.
pub(super) fn check_fiscal_year(reg: &Registration, fiscal_year: i32, on: Date) -> Result<()> {
    let Some(end) = reg.fiscal_year_end.end_of(fiscal_year) else {
        return Err(Error::invalid("fiscal_year", format!("{fiscal_year} is not a year this registry can date")));
    };
    if end >= on {
        return Err(Error::refused(
            "fiscal_year",
            format!("{fiscal_year} ends on {end}: a decision on it must come after, not on {on}"),
        ));
    }
    let first =
        reg.fiscal_year_end.end_of(reg.founded_on.year()).map_or(reg.founded_on.year(), |end_of_founding_year| {
            if end_of_founding_year >= reg.founded_on { reg.founded_on.year() } else { reg.founded_on.year() + 1 }
        });
    if fiscal_year < first {
        return Err(Error::refused(
            "fiscal_year",
            format!("must not be before the first fiscal year, {first}, after the founding on {}", reg.founded_on),
        ));
    }
    Ok(())
}
