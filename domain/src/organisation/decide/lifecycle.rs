//! Life cycle: registration to closing.

use std::collections::BTreeSet;

use super::*;
use crate::events::*;
use crate::rules;
use crate::values::{Scheme, require_text};

pub(super) fn register(org: &Organisation, c: OrganisationRegistered, ctx: &Context<'_>) -> Result<Vec<Event>> {
    if let Some(id) = org.id() {
        return Err(Error::refused("organisation", format!("is already registered, as {id}")));
    }
    if c.organisation.as_uuid().is_nil() {
        return Err(Error::invalid("organisation", "must not be the nil UUID"));
    }
    if c.founded_on > c.occurred_on {
        return Err(Error::invalid("founded_on", format!("must not be after the registration on {}", c.occurred_on)));
    }
    c.names.validate().map_err(|e| e.within("names"))?;
    c.legal_form.validate().map_err(|e| e.within("legal_form"))?;
    c.seat.validate().map_err(|e| e.within("seat"))?;
    c.activity.validate().map_err(|e| e.within("activity"))?;
    c.fiscal_year_end.validate().map_err(|e| e.within("fiscal_year_end"))?;
    for (i, id) in c.external_ids.iter().enumerate() {
        id.validate().map_err(|e| e.within(format!("external_ids[{i}]")))?;
    }
    if let Some(model) = &c.business_model {
        model
            .require_scheme(Scheme::EssGlobal)
            .and_then(|()| model.validate())
            .map_err(|e| e.within("business_model"))?;
    }
    if c.family != Family::Cooperative && c.cooperative_type.is_some() {
        return Err(Error::invalid("cooperative_type", "only a cooperative has a cooperative type"));
    }
    if c.founders == 0 {
        return Err(Error::invalid("founders", "must be at least 1"));
    }
    if let Some(capital) = &c.subscribed_capital {
        capital.require_non_negative("subscribed_capital")?;
    }
    let mut breaches = Vec::new();
    if c.family == Family::Cooperative
        && let Some(b) = rules::check_founders(ctx.rules, c.seat.country, c.occurred_on, c.founders)
    {
        breaches.push(b);
    }
    let on = c.occurred_on;
    let mut events = vec![c.into()];
    events.extend(enforce(breaches, Subject::Registration, on)?);
    Ok(events)
}

pub(super) fn record_register_entry(at: &At<'_>, c: RegisterEntryRecorded) -> Result<Vec<Event>> {
    let At { jurisdiction, .. } = *at;
    require_text("entry_number", &c.entry_number, 64)?;
    if c.until.is_some_and(|until| until < c.from) {
        return Err(Error::invalid("until", format!("must not be before from, {}", c.from)));
    }
    let (country, text) = match &c.register {
        Register::ItAlbo { category, .. } => (Some(CountryCode::IT), Some(("register.category", category))),
        Register::ItRunts { section } => (Some(CountryCode::IT), Some(("register.section", section))),
        Register::TrKoopbis => (Some(CountryCode::TR), None),
        Register::FrEss => (Some(CountryCode::FR), None),
        Register::GbMpr => (Some(CountryCode::GB), None),
        Register::Other { name } => (None, Some(("register.name", name))),
    };
    if let Some((field, text)) = text {
        require_text(field, text, 200)?;
    }
    if let Some(country) = country
        && country != jurisdiction
    {
        return Err(Error::refused(
            "register",
            format!("is a register of {country}; the organisation's seat is in {jurisdiction}"),
        ));
    }
    Ok(vec![c.into()])
}

pub(super) fn amend_statute(at: &At<'_>, c: StatuteAmended) -> Result<Vec<Event>> {
    let At { org, on, .. } = *at;
    match c.voting_rule {
        VotingRule::OneMemberOneVote if c.max_votes_per_member != 1 => {
            return Err(Error::invalid("max_votes_per_member", "must be 1 under one member, one vote"));
        }
        _ if c.max_votes_per_member == 0 => {
            return Err(Error::invalid("max_votes_per_member", "must be at least 1"));
        }
        _ => {}
    }
    if let Some(min) = &c.min_share_value {
        min.require_non_negative("min_share_value")?;
    }
    if let Some(assembly) = c.assembly {
        require_held(org, assembly, on)?;
    }
    Ok(vec![c.into()])
}

pub(super) fn rename(c: OrganisationRenamed) -> Result<Vec<Event>> {
    c.names.validate().map_err(|e| e.within("names"))?;
    Ok(vec![c.into()])
}

pub(super) fn relocate_seat(c: SeatRelocated) -> Result<Vec<Event>> {
    c.seat.validate().map_err(|e| e.within("seat"))?;
    Ok(vec![c.into()])
}

pub(super) fn reclassify_activity(c: ActivityReclassified) -> Result<Vec<Event>> {
    c.activity.validate().map_err(|e| e.within("activity"))?;
    Ok(vec![c.into()])
}

pub(super) fn change_status(at: &At<'_>, c: StatusChanged) -> Result<Vec<Event>> {
    let At { org, on, .. } = *at;
    if let Some(reason) = &c.reason {
        require_text("reason", reason, 500)?;
    }
    match org.phase() {
        Phase::Going(current) if current == c.status => {
            Err(Error::refused("status", format!("is already {}", status_name(c.status))))
        }
        Phase::InLiquidation { since } if on < since => Err(Error::refused(
            "occurred_on",
            format!("a revocation of the dissolution must not be before the dissolution on {since}"),
        )),
        _ => Ok(vec![c.into()]),
    }
}

pub(super) fn resolve_dissolution(at: &At<'_>, c: DissolutionResolved) -> Result<Vec<Event>> {
    let At { org, on, .. } = *at;
    use DissolutionKind as K;
    match (&c.kind, &c.authority) {
        (K::Court | K::Administrative, None) => {
            return Err(Error::invalid("authority", "must name the court or authority that dissolved it"));
        }
        (_, Some(authority)) => require_text("authority", authority, 200)?,
        _ => {}
    }
    if let Some(assembly) = c.assembly {
        require_held(org, assembly, on)?;
    }
    Ok(vec![c.into()])
}

pub(super) fn close_liquidation(at: &At<'_>, c: LiquidationClosed) -> Result<Vec<Event>> {
    let At { org, on, .. } = *at;
    if let Phase::InLiquidation { since } = org.phase()
        && on < since
    {
        return Err(Error::refused("occurred_on", format!("must not be before the dissolution on {since}")));
    }
    let total = c.residual_assets;
    total.require_non_negative("residual_assets")?;
    for (i, d) in c.devolved.iter().enumerate() {
        let field = format!("devolved[{i}].amount");
        d.amount.require_currency(&field, total.currency, "the residual assets'")?;
        d.amount.require_non_negative(&field)?;
        if let Recipient::SocialEconomyEntity { name, .. } = &d.to {
            require_text(&format!("devolved[{i}].to.name"), name, 300)?;
        }
    }
    require_sum("devolved", &total, c.devolved.iter().map(|d| &d.amount), "the residual assets")?;
    Ok(vec![c.into()])
}

pub(super) fn complete_merger(at: &At<'_>, c: MergerCompleted) -> Result<Vec<Event>> {
    let At { org, reg, .. } = *at;
    let me = reg.id;
    if c.absorbed.is_empty() {
        return Err(Error::invalid("absorbed", "must name at least one organisation"));
    }
    let mut seen = BTreeSet::new();
    for (i, o) in c.absorbed.iter().enumerate() {
        if *o == c.absorbing {
            return Err(Error::invalid(format!("absorbed[{i}]"), "must not be the absorbing organisation"));
        }
        if !seen.insert(*o) {
            return Err(Error::invalid(format!("absorbed[{i}]"), "must not repeat an organisation"));
        }
    }
    if c.absorbing != me && !c.absorbed.contains(&me) {
        return Err(Error::invalid(
            "absorbing",
            format!("the organisation {me} must be the absorbing one or among the absorbed"),
        ));
    }
    if c.absorbing == me && !matches!(org.phase(), Phase::Going(_)) {
        return Err(Error::refused("absorbing", "an organisation in liquidation cannot absorb others"));
    }
    Ok(vec![c.into()])
}

pub(super) fn convert_legal_form(at: &At<'_>, c: LegalFormConverted) -> Result<Vec<Event>> {
    let At { org, .. } = *at;
    c.from.validate().map_err(|e| e.within("from"))?;
    c.to.validate().map_err(|e| e.within("to"))?;
    if org.legal_form.as_ref() != Some(&c.from) {
        return Err(Error::refused("from", "must be the organisation's current legal form"));
    }
    if c.to == c.from {
        return Err(Error::invalid("to", "must differ from the current legal form"));
    }
    if let Some(assets) = &c.assets_devolved {
        assets.require_non_negative("assets_devolved")?;
    }
    Ok(vec![c.into()])
}

pub(super) fn change_affiliation(at: &At<'_>, c: AffiliationChanged) -> Result<Vec<Event>> {
    let At { org, .. } = *at;
    require_text("federation.name", &c.federation.name, 200)?;
    if let Some(id) = &c.federation.external_id {
        id.validate().map_err(|e| e.within("federation.external_id"))?;
    }
    let key = c.federation.name.trim().to_lowercase();
    let member = org.affiliations.contains(&key);
    match c.change {
        AffiliationChange::Joined if member => {
            Err(Error::refused("federation", format!("the organisation already belongs to {}", c.federation.name)))
        }
        AffiliationChange::Left if !member => {
            Err(Error::refused("federation", format!("the organisation does not belong to {}", c.federation.name)))
        }
        _ => Ok(vec![c.into()]),
    }
}

pub(super) fn sign_commons_agreement(at: &At<'_>, c: CommonsAgreementSigned) -> Result<Vec<Event>> {
    let At { org, .. } = *at;
    if org.agreements.contains_key(&c.agreement) {
        return Err(Error::refused("agreement", format!("{} is already recorded", c.agreement)));
    }
    c.municipality.require_scheme(Scheme::Lau).map_err(|e| e.within("municipality"))?;
    c.municipality.validate().map_err(|e| e.within("municipality"))?;
    require_text("asset", &c.asset, 300)?;
    require_text("instrument", &c.instrument, 200)?;
    if c.parties.is_empty() {
        return Err(Error::invalid("parties", "must name at least one party"));
    }
    for (i, p) in c.parties.iter().enumerate() {
        require_text(&format!("parties[{i}].name"), &p.name, 300)?;
    }
    if c.until.is_some_and(|until| until < c.from) {
        return Err(Error::invalid("until", format!("must not be before from, {}", c.from)));
    }
    Ok(vec![c.into()])
}

pub(super) fn end_commons_agreement(at: &At<'_>, c: CommonsAgreementEnded) -> Result<Vec<Event>> {
    let At { org, .. } = *at;
    match org.agreements.get(&c.agreement) {
        None => Err(Error::refused("agreement", format!("no agreement {} was signed", c.agreement))),
        Some(false) => Err(Error::refused("agreement", format!("{} has already ended", c.agreement))),
        Some(true) => Ok(vec![c.into()]),
    }
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Active => "active",
        Status::Inactive => "inactive",
        Status::Suspended => "suspended",
        Status::UnderAdministration => "under administration",
    }
}
