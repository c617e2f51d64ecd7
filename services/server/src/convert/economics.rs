//! Economics requests: accounts, surplus, audits, sanctions.

use imece_domain::*;
use imece_proto::v1 as pb;

use super::Write;
use super::values::*;

pub(super) fn approve_accounts(r: pb::ApproveAccountsRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::ApproveAccounts(AnnualAccountsApproved {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            fiscal_year: r.fiscal_year,
            assembly: optional_id(r.assembly, "assembly")?,
            currency: currency(&r.currency)?,
            figures: message(r.figures, "figures", figures)?,
            workforce: optional(r.workforce, "workforce", |w| Ok(workforce(w)))?.unwrap_or_default(),
        }))
    })
}

fn figures(f: pb::Figures) -> Result<Figures> {
    Ok(Figures {
        turnover: optional(f.turnover, "turnover", money)?,
        member_turnover: optional(f.member_turnover, "member_turnover", money)?,
        personnel_costs: optional(f.personnel_costs, "personnel_costs", money)?,
        member_labour_costs: optional(f.member_labour_costs, "member_labour_costs", money)?,
        purchases: optional(f.purchases, "purchases", money)?,
        purchases_from_members: optional(f.purchases_from_members, "purchases_from_members", money)?,
        purchases_from_social_economy: optional(
            f.purchases_from_social_economy,
            "purchases_from_social_economy",
            money,
        )?,
        net_result: message(f.net_result, "net_result", money)?,
        total_assets: optional(f.total_assets, "total_assets", money)?,
        equity: optional(f.equity, "equity", money)?,
        share_capital: optional(f.share_capital, "share_capital", money)?,
        indivisible_reserves: optional(f.indivisible_reserves, "indivisible_reserves", money)?,
    })
}

fn workforce(w: pb::Workforce) -> Workforce {
    Workforce {
        employees: w.employees,
        fte_hundredths: w.fte_hundredths,
        employees_women: w.employees_women,
        workers: w.workers,
        worker_members: w.worker_members,
        disadvantaged_workers: w.disadvantaged_workers,
        volunteers: w.volunteers,
    }
}

pub(super) fn allocate_surplus(r: pb::AllocateSurplusRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::AllocateSurplus(SurplusAllocated {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            fiscal_year: r.fiscal_year,
            assembly: optional_id(r.assembly, "assembly")?,
            surplus: message(r.surplus, "surplus", money)?,
            items: each(r.items, "items", surplus_item)?,
            capital_interest: optional(r.capital_interest, "capital_interest", |c| {
                Ok(CapitalInterestRate {
                    rate: BasisPoints(c.rate),
                    reference_rate: c.reference_rate.map(BasisPoints),
                    reference: c.reference,
                })
            })?,
            beneficiaries: r.beneficiaries,
        }))
    })
}

fn surplus_item(i: pb::SurplusItem) -> Result<SurplusItem> {
    Ok(SurplusItem { kind: enumeration(i.kind, "kind")?, amount: message(i.amount, "amount", money)? })
}

pub(super) fn record_audit(r: pb::RecordAuditRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::RecordAudit(AuditCompleted {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            kind: enumeration(r.kind, "kind")?,
            auditor: r.auditor,
            period_from: date(&r.period_from, "period_from")?,
            period_until: date(&r.period_until, "period_until")?,
            outcome: enumeration(r.outcome, "outcome")?,
        }))
    })
}

pub(super) fn impose_sanction(r: pb::ImposeSanctionRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::ImposeSanction(SanctionImposed {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            kind: enumeration(r.kind, "kind")?,
            authority: r.authority,
            reference: r.reference,
            fine: optional(r.fine, "fine", money)?,
        }))
    })
}
