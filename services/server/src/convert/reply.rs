//! From the domain to the wire: the findings of a write, and the summary of an organisation.

use std::collections::BTreeSet;

use imece_domain::organisation::ClosedReason;
use imece_domain::*;
use imece_proto::v1 as pb;

use super::values::{ProtoEnum, date_text, money_proto, names_proto};
use crate::registry::Written;

/// A compliance finding as the API reports it.
pub fn finding(f: &ComplianceFindingRecorded) -> pb::ComplianceFinding {
    pb::ComplianceFinding {
        rule: f.rule.clone(),
        legal_reference: f.legal_reference.clone(),
        in_force_since: date_text(f.in_force_since),
        field: f.field.clone(),
        requirement: f.requirement.clone(),
        found: f.found.clone(),
    }
}

/// The answer to a command: where its events landed, and the findings recorded with them.
pub fn write_reply(written: &Written) -> pb::WriteReply {
    pb::WriteReply {
        stream_version: written.stream_version,
        first_position: written.first_position,
        last_position: written.last_position,
        findings: written.findings.iter().map(finding).collect(),
    }
}

/// A summary of `org` with its members counted on `today`; `None` if it was never registered.
pub fn organisation(org: &Organisation, today: Date) -> Option<pb::Organisation> {
    let id = org.id()?;
    let registration = org.registration()?;
    let phase = match org.phase() {
        Phase::Unregistered => return None,
        Phase::Going(status) => pb::phase::Kind::Going(pb::phase::Going { status: status.to_proto() }),
        Phase::InLiquidation { since } => {
            pb::phase::Kind::InLiquidation(pb::phase::InLiquidation { since: date_text(since) })
        }
        Phase::Closed { on, reason } => pb::phase::Kind::Closed(pb::phase::Closed {
            on: date_text(on),
            merged_into: match reason {
                ClosedReason::Liquidated => None,
                ClosedReason::MergedInto(other) => Some(other.to_string()),
            },
        }),
    };
    let current: Vec<_> = org.memberships_on(today).map(|(_, m)| m).collect();
    let persons: BTreeSet<PersonRef> = current.iter().map(|m| m.person).collect();
    let organs = [Organ::Board, Organ::Supervisory, Organ::Auditors]
        .into_iter()
        .map(|organ| pb::OrganSeats { organ: organ.to_proto(), held: count(org.organ(organ).count()) })
        .filter(|seats| seats.held > 0)
        .collect();
    Some(pb::Organisation {
        organisation_id: id.to_string(),
        // Applying the registration makes it at least 1.
        stream_version: org.events_applied().saturating_sub(1),
        names: org.names().map(names_proto),
        phase: Some(pb::Phase { kind: Some(phase) }),
        family: registration.family.to_proto(),
        country: org.jurisdiction().map(|c| c.as_str().to_owned()).unwrap_or_default(),
        founded_on: date_text(registration.founded_on),
        registered_on: date_text(registration.registered_on),
        fiscal_year_end: Some(pb::FiscalYearEnd {
            month: registration.fiscal_year_end.month.into(),
            day: registration.fiscal_year_end.day.into(),
        }),
        statute: org.statute().map(statute),
        members_as_of: date_text(today),
        members: count(persons.len()),
        memberships: count(current.len()),
        organs,
        affiliations: org.affiliations().map(str::to_owned).collect(),
    })
}

fn statute(s: &StatuteAmended) -> pb::Statute {
    pb::Statute {
        amended_on: date_text(s.occurred_on),
        assembly: s.assembly.map(|a| a.to_string()),
        voting_rule: s.voting_rule.to_proto(),
        max_votes_per_member: s.max_votes_per_member,
        proxy_limit: s.proxy_limit,
        min_share_value: s.min_share_value.as_ref().map(money_proto),
        indivisible_reserve_clause: s.indivisible_reserve_clause,
    }
}

/// Counts fit a `uint32` in any organisation there is; saturate rather than wrap.
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
