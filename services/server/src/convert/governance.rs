//! Governance requests: assemblies, resolutions, elections, seats.

use imece_domain::*;
use imece_proto::v1 as pb;

use super::Write;
use super::values::*;

pub(super) fn convene_assembly(r: pb::ConveneAssemblyRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::ConveneAssembly(GeneralAssemblyConvened {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            assembly: id(&r.assembly, "assembly")?,
            kind: enumeration(r.kind, "kind")?,
            fiscal_year: r.fiscal_year,
            first_call: date(&r.first_call, "first_call")?,
            second_call: optional_date(r.second_call, "second_call")?,
            agenda: each(r.agenda, "agenda", Topic::from_proto)?,
        }))
    })
}

pub(super) fn record_assembly(r: pb::RecordAssemblyRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::RecordAssembly(GeneralAssemblyHeld {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            assembly: id(&r.assembly, "assembly")?,
            eligible: r.eligible,
            present: r.present,
            present_online: r.present_online,
            proxies: r.proxies,
            present_women: r.present_women,
            present_under_30: r.present_under_30,
            max_proxies_per_holder: r.max_proxies_per_holder,
            quorum_met: r.quorum_met,
        }))
    })
}

pub(super) fn record_resolution(r: pb::RecordResolutionRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::RecordResolution(ResolutionVoted {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            assembly: id(&r.assembly, "assembly")?,
            item: r.item,
            topic: enumeration(r.topic, "topic")?,
            votes_for: r.votes_for,
            votes_against: r.votes_against,
            abstentions: r.abstentions,
            outcome: enumeration(r.outcome, "outcome")?,
        }))
    })
}

pub(super) fn record_election(r: pb::RecordElectionRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::RecordElection(OrganElected {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            organ: enumeration(r.organ, "organ")?,
            assembly: optional_id(r.assembly, "assembly")?,
            term_from: date(&r.term_from, "term_from")?,
            term_until: optional_date(r.term_until, "term_until")?,
            seats: r.seats,
            candidates: r.candidates,
            women_elected: r.women_elected,
            under_30_elected: r.under_30_elected,
            new_holders: r.new_holders,
        }))
    })
}

pub(super) fn change_organ_member(r: pb::ChangeOrganMemberRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::ChangeOrganMember(OrganMemberChanged {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            organ: enumeration(r.organ, "organ")?,
            person: id(&r.person, "person")?,
            change: enumeration(r.change, "change")?,
        }))
    })
}
