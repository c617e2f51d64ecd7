//! Economics: accounts, surplus, audits, sanctions.

use std::collections::BTreeSet;

use super::*;
use crate::events::*;
use crate::rules;
use crate::values::require_text;

pub(super) fn approve_accounts(at: &At<'_>, c: AnnualAccountsApproved) -> Result<Vec<Event>> {
    let At { org, reg, on, .. } = *at;
    if let Some((_, approved)) = org.accounts.get(&c.fiscal_year) {
        return Err(Error::refused(
            "fiscal_year",
            format!("the accounts of {} were already approved on {approved}", c.fiscal_year),
        ));
    }
    check_fiscal_year(reg, c.fiscal_year, on)?;
    for (name, figure) in c.figures.named() {
        let Some(m) = figure else { continue };
        let field = format!("figures.{name}");
        m.require_currency(&field, c.currency, "the accounts'")?;
        if !matches!(name, "net_result" | "equity") {
            m.require_non_negative(&field)?;
        }
    }
    let f = &c.figures;
    for (part, part_name, whole, whole_name) in [
        (&f.member_turnover, "member_turnover", &f.turnover, "turnover"),
        (&f.member_labour_costs, "member_labour_costs", &f.personnel_costs, "personnel_costs"),
        (&f.purchases_from_members, "purchases_from_members", &f.purchases, "purchases"),
        (&f.purchases_from_social_economy, "purchases_from_social_economy", &f.purchases, "purchases"),
    ] {
        if let (Some(part), Some(whole)) = (part, whole)
            && part.amount > whole.amount
        {
            return Err(Error::invalid(
                format!("figures.{part_name}"),
                format!("must not exceed {whole_name} ({whole}), is {part}"),
            ));
        }
    }
    let w = &c.workforce;
    for (part, part_name, whole, whole_name) in [
        (w.worker_members, "worker_members", w.workers, "workers"),
        (w.disadvantaged_workers, "disadvantaged_workers", w.workers, "workers"),
        (w.employees_women, "employees_women", w.employees, "employees"),
    ] {
        if let (Some(part), Some(whole)) = (part, whole)
            && part > whole
        {
            return Err(Error::invalid(
                format!("workforce.{part_name}"),
                format!("must not exceed {whole_name} ({whole}), is {part}"),
            ));
        }
    }
    if let Some(assembly) = c.assembly {
        require_held(org, assembly, on)?;
    }
    Ok(vec![c.into()])
}

pub(super) fn allocate_surplus(at: &At<'_>, c: SurplusAllocated) -> Result<Vec<Event>> {
    let At { org, reg, jurisdiction, on, ctx, .. } = *at;
    if let Some(allocated) = org.allocations.get(&c.fiscal_year) {
        return Err(Error::refused(
            "fiscal_year",
            format!("the surplus of {} was already allocated on {allocated}", c.fiscal_year),
        ));
    }
    check_fiscal_year(reg, c.fiscal_year, on)?;
    let surplus = c.surplus;
    surplus.require_non_negative("surplus")?;
    if let Some((currency, _)) = org.accounts.get(&c.fiscal_year) {
        surplus.require_currency("surplus", *currency, &format!("the {} accounts'", c.fiscal_year))?;
    }
    let mut kinds = BTreeSet::new();
    for (i, item) in c.items.iter().enumerate() {
        let field = format!("items[{i}].amount");
        item.amount.require_currency(&field, surplus.currency, "the allocation's")?;
        item.amount.require_non_negative(&field)?;
        if !kinds.insert(item.kind) {
            return Err(Error::invalid(format!("items[{i}].kind"), "must not repeat a kind of allocation"));
        }
    }
    require_sum("items", &surplus, c.items.iter().map(|i| &i.amount), "the distributable surplus")?;
    if let Some(rate) = &c.capital_interest {
        if c.amount_of(SurplusKind::CapitalInterest).is_zero() && rate.rate.get() > 0 {
            return Err(Error::invalid("capital_interest.rate", "is given, but no capital interest is allocated"));
        }
        if let Some(reference) = &rate.reference {
            require_text("capital_interest.reference", reference, 200)?;
        }
    }
    if let Some(assembly) = c.assembly {
        require_held(org, assembly, on)?;
    }
    let breaches = if reg.family == Family::Cooperative {
        let prevalent = org.albo_section == Some(AlboSection::Prevalent);
        rules::check_surplus(ctx.rules, jurisdiction, prevalent, &c)?
    } else {
        Vec::new()
    };
    let subject = Subject::SurplusAllocation { fiscal_year: c.fiscal_year };
    let mut events = vec![c.into()];
    events.extend(enforce(breaches, subject, on)?);
    Ok(events)
}

pub(super) fn record_audit(at: &At<'_>, c: AuditCompleted) -> Result<Vec<Event>> {
    let At { on, .. } = *at;
    require_text("auditor", &c.auditor, 200)?;
    if c.period_until < c.period_from {
        return Err(Error::invalid("period_until", format!("must not be before period_from, {}", c.period_from)));
    }
    if c.period_until > on {
        return Err(Error::invalid("period_until", format!("must not be after the audit's end on {on}")));
    }
    Ok(vec![c.into()])
}

pub(super) fn impose_sanction(c: SanctionImposed) -> Result<Vec<Event>> {
    require_text("authority", &c.authority, 200)?;
    if let Some(reference) = &c.reference {
        require_text("reference", reference, 200)?;
    }
    match (c.kind, &c.fine) {
        (SanctionKind::Fine, None) => return Err(Error::invalid("fine", "must give the amount of a fine")),
        (SanctionKind::Fine, Some(fine)) if fine.amount <= rust_decimal::Decimal::ZERO => {
            return Err(Error::invalid("fine", format!("must be more than zero, is {fine}")));
        }
        (SanctionKind::Fine, Some(_)) => {}
        (_, Some(_)) => return Err(Error::invalid("fine", "is only for a sanction of kind fine")),
        (_, None) => {}
    }
    Ok(vec![c.into()])
}
