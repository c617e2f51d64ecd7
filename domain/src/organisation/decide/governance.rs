//! Governance: assemblies, resolutions, elections, seats.

use super::*;
use crate::events::*;
use crate::rules;

pub(super) fn convene_assembly(at: &At<'_>, c: GeneralAssemblyConvened) -> Result<Vec<Event>> {
    let At { org, on, .. } = *at;
    if org.assemblies.contains_key(&c.assembly) {
        return Err(Error::refused("assembly", format!("{} is already recorded", c.assembly)));
    }
    if c.first_call < on {
        return Err(Error::invalid("first_call", format!("must not be before the call on {on}")));
    }
    if c.second_call.is_some_and(|second| second < c.first_call) {
        return Err(Error::invalid("second_call", format!("must not be before the first call on {}", c.first_call)));
    }
    Ok(vec![c.into()])
}

pub(super) fn record_assembly(at: &At<'_>, c: GeneralAssemblyHeld) -> Result<Vec<Event>> {
    let At { org, reg, jurisdiction, on, ctx, .. } = *at;
    let Some(assembly) = org.assembly(c.assembly) else {
        return Err(Error::refused("assembly", format!("{} was not convened: record its call first", c.assembly)));
    };
    if let Some(held) = assembly.held {
        return Err(Error::refused("assembly", format!("{} was already held on {}", c.assembly, held.on)));
    }
    if on < assembly.convened_on {
        return Err(Error::refused("occurred_on", format!("must not be before the call on {}", assembly.convened_on)));
    }
    let attending = u64::from(c.present) + u64::from(c.proxies);
    if attending > u64::from(c.eligible) {
        return Err(Error::invalid(
            "proxies",
            format!(
                "present ({}) plus proxies ({}) must not exceed the eligible members ({})",
                c.present, c.proxies, c.eligible
            ),
        ));
    }
    for (field, value) in [
        ("present_online", c.present_online),
        ("present_women", c.present_women),
        ("present_under_30", c.present_under_30),
    ] {
        if let Some(v) = value
            && v > c.present
        {
            return Err(Error::invalid(field, format!("must not exceed those present ({}), is {v}", c.present)));
        }
    }
    if let Some(max) = c.max_proxies_per_holder {
        if max > c.proxies {
            return Err(Error::invalid(
                "max_proxies_per_holder",
                format!("must not exceed the proxies ({})", c.proxies),
            ));
        }
        if c.proxies > 0 && max == 0 {
            return Err(Error::invalid("max_proxies_per_holder", "must be at least 1 when proxies were carried"));
        }
    }
    let mut breaches = Vec::new();
    if reg.family == Family::Cooperative
        && let Some(b) = rules::check_proxies(
            ctx.rules,
            jurisdiction,
            on,
            c.eligible,
            c.present,
            c.proxies,
            c.max_proxies_per_holder,
        )
    {
        breaches.push(b);
    }
    if let Some(statute) = org.statute()
        && let Some((field, found)) =
            rules::proxy_breach(statute.proxy_limit, c.present, c.proxies, c.max_proxies_per_holder)
    {
        breaches.push(Breach {
            rule: "statute.proxy-limit".into(),
            legal_reference: format!("statute as amended on {}", statute.occurred_on),
            in_force_since: statute.occurred_on,
            enforcement: Enforcement::Record,
            field: field.into(),
            requirement: format!("a member may carry at most {} proxies", statute.proxy_limit),
            found,
        });
    }
    let subject = Subject::Assembly { assembly: c.assembly };
    let mut events = vec![c.into()];
    events.extend(enforce(breaches, subject, on)?);
    Ok(events)
}

pub(super) fn record_resolution(at: &At<'_>, c: ResolutionVoted) -> Result<Vec<Event>> {
    let At { org, on, .. } = *at;
    let held = require_held(org, c.assembly, on)?;
    if c.item == 0 {
        return Err(Error::invalid("item", "must be the agenda item's number, from 1"));
    }
    if org.assembly(c.assembly).is_some_and(|a| a.items_voted.contains(&c.item)) {
        return Err(Error::refused("item", format!("item {} of assembly {} was already voted", c.item, c.assembly)));
    }
    let max_votes = org.statute().map_or(1, |s| s.max_votes_per_member);
    let cast = u64::from(c.votes_for) + u64::from(c.votes_against) + u64::from(c.abstentions);
    let bound = (u64::from(held.present) + u64::from(held.proxies)) * u64::from(max_votes);
    if cast > bound {
        return Err(Error::invalid(
            "votes_for",
            format!(
                "votes for, against and abstaining ({cast}) must not exceed those present or represented ({}) times {max_votes} vote(s) each",
                u64::from(held.present) + u64::from(held.proxies)
            ),
        ));
    }
    Ok(vec![c.into()])
}

pub(super) fn record_election(at: &At<'_>, c: OrganElected) -> Result<Vec<Event>> {
    let At { org, on, .. } = *at;
    if c.seats == 0 {
        return Err(Error::invalid("seats", "must be at least 1"));
    }
    if c.candidates < c.seats {
        return Err(Error::invalid("candidates", format!("must be at least the seats filled ({})", c.seats)));
    }
    for (field, value) in
        [("women_elected", c.women_elected), ("under_30_elected", c.under_30_elected), ("new_holders", c.new_holders)]
    {
        if let Some(v) = value
            && v > c.seats
        {
            return Err(Error::invalid(field, format!("must not exceed the seats ({}), is {v}", c.seats)));
        }
    }
    if c.term_until.is_some_and(|until| until <= c.term_from) {
        return Err(Error::invalid("term_until", format!("must be after the term's start, {}", c.term_from)));
    }
    if let Some(assembly) = c.assembly {
        require_held(org, assembly, on)?;
    }
    Ok(vec![c.into()])
}

pub(super) fn change_organ_member(at: &At<'_>, c: OrganMemberChanged) -> Result<Vec<Event>> {
    let At { org, .. } = *at;
    require_person(org, c.person)?;
    let holds = org.organ(c.organ).any(|p| *p == c.person);
    match (c.change.takes_seat(), holds) {
        (true, true) => Err(Error::refused("person", format!("already holds a seat in the {}", organ_name(c.organ)))),
        (false, false) => Err(Error::refused("person", format!("holds no seat in the {}", organ_name(c.organ)))),
        _ => Ok(vec![c.into()]),
    }
}

fn organ_name(organ: Organ) -> &'static str {
    match organ {
        Organ::Board => "board",
        Organ::Supervisory => "supervisory board",
        Organ::Auditors => "auditors",
    }
}
