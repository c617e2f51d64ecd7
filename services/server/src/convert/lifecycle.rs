//! Life cycle requests: registration to closing.

use imece_domain::*;
use imece_proto::v1 as pb;

use super::Write;
use super::values::*;

pub(super) fn register_organisation(r: pb::RegisterOrganisationRequest) -> Result<Write> {
    write(r.header, |organisation| {
        Ok(Command::Register(OrganisationRegistered {
            organisation,
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            founded_on: date(&r.founded_on, "founded_on")?,
            names: message(r.names, "names", names)?,
            family: enumeration(r.family, "family")?,
            legal_form: message(r.legal_form, "legal_form", legal_form)?,
            cooperative_type: optional_enumeration(r.cooperative_type, "cooperative_type")?,
            business_model: optional(r.business_model, "business_model", code(Scheme::EssGlobal))?,
            external_ids: each(r.external_ids, "external_ids", external_id)?,
            seat: message(r.seat, "seat", seat)?,
            activity: message(r.activity, "activity", activity)?,
            fiscal_year_end: message(r.fiscal_year_end, "fiscal_year_end", fiscal_year_end)?,
            founders: r.founders,
            subscribed_capital: optional(r.subscribed_capital, "subscribed_capital", money)?,
        }))
    })
}

pub(super) fn record_register_entry(r: pb::RecordRegisterEntryRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::RecordRegisterEntry(RegisterEntryRecorded {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            register: message(r.register, "register", register)?,
            entry_number: r.entry_number,
            from: date(&r.valid_from, "valid_from")?,
            until: optional_date(r.valid_until, "valid_until")?,
        }))
    })
}

fn register(r: pb::Register) -> Result<Register> {
    use pb::register::Kind;
    Ok(match r.kind.ok_or_else(|| no_kind(&["it_albo", "it_runts", "tr_koopbis", "fr_ess", "gb_mpr", "other"]))? {
        Kind::ItAlbo(a) => {
            Register::ItAlbo { section: enumeration(a.section, "it_albo.section")?, category: a.category }
        }
        Kind::ItRunts(a) => Register::ItRunts { section: a.section },
        Kind::TrKoopbis(_) => Register::TrKoopbis,
        Kind::FrEss(_) => Register::FrEss,
        Kind::GbMpr(_) => Register::GbMpr,
        Kind::Other(o) => Register::Other { name: o.name },
    })
}

pub(super) fn amend_statute(r: pb::AmendStatuteRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::AmendStatute(StatuteAmended {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            assembly: optional_id(r.assembly, "assembly")?,
            voting_rule: enumeration(r.voting_rule, "voting_rule")?,
            max_votes_per_member: r.max_votes_per_member,
            proxy_limit: r.proxy_limit,
            min_share_value: optional(r.min_share_value, "min_share_value", money)?,
            indivisible_reserve_clause: r.indivisible_reserve_clause,
        }))
    })
}

pub(super) fn rename_organisation(r: pb::RenameOrganisationRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::Rename(OrganisationRenamed {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            names: message(r.names, "names", names)?,
        }))
    })
}

pub(super) fn relocate_seat(r: pb::RelocateSeatRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::RelocateSeat(SeatRelocated {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            seat: message(r.seat, "seat", seat)?,
        }))
    })
}

pub(super) fn reclassify_activity(r: pb::ReclassifyActivityRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::ReclassifyActivity(ActivityReclassified {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            activity: message(r.activity, "activity", activity)?,
        }))
    })
}

pub(super) fn change_status(r: pb::ChangeStatusRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::ChangeStatus(StatusChanged {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            status: enumeration(r.status, "status")?,
            reason: r.reason,
        }))
    })
}

pub(super) fn resolve_dissolution(r: pb::ResolveDissolutionRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::ResolveDissolution(DissolutionResolved {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            kind: enumeration(r.kind, "kind")?,
            assembly: optional_id(r.assembly, "assembly")?,
            authority: r.authority,
        }))
    })
}

pub(super) fn close_liquidation(r: pb::CloseLiquidationRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::CloseLiquidation(LiquidationClosed {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            residual_assets: message(r.residual_assets, "residual_assets", money)?,
            devolved: each(r.devolved, "devolved", devolution)?,
        }))
    })
}

fn devolution(d: pb::Devolution) -> Result<Devolution> {
    Ok(Devolution { to: message(d.to, "to", recipient)?, amount: message(d.amount, "amount", money)? })
}

fn recipient(r: pb::Recipient) -> Result<Recipient> {
    use pb::recipient::Kind;
    Ok(match r.kind.ok_or_else(|| no_kind(&["mutual_fund", "social_economy_entity", "members", "state"]))? {
        Kind::MutualFund(_) => Recipient::MutualFund,
        Kind::SocialEconomyEntity(e) => Recipient::SocialEconomyEntity {
            name: e.name,
            organisation: optional_id(e.organisation, "social_economy_entity.organisation")?,
        },
        Kind::Members(_) => Recipient::Members,
        Kind::State(_) => Recipient::State,
    })
}

pub(super) fn complete_merger(r: pb::CompleteMergerRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::CompleteMerger(MergerCompleted {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            kind: enumeration(r.kind, "kind")?,
            absorbing: id(&r.absorbing, "absorbing")?,
            absorbed: each(r.absorbed, "absorbed", |s| id(&s, ""))?,
        }))
    })
}

pub(super) fn convert_legal_form(r: pb::ConvertLegalFormRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::ConvertLegalForm(LegalFormConverted {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            from: message(r.from_legal_form, "from_legal_form", legal_form)?,
            to: message(r.to_legal_form, "to_legal_form", legal_form)?,
            family: enumeration(r.family, "family")?,
            assets_devolved: optional(r.assets_devolved, "assets_devolved", money)?,
        }))
    })
}

pub(super) fn change_affiliation(r: pb::ChangeAffiliationRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::ChangeAffiliation(AffiliationChanged {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            federation: message(r.federation, "federation", federation)?,
            change: enumeration(r.change, "change")?,
        }))
    })
}

fn federation(f: pb::Federation) -> Result<Federation> {
    Ok(Federation {
        name: f.name,
        organisation: optional_id(f.organisation, "organisation")?,
        external_id: optional(f.external_id, "external_id", external_id)?,
    })
}

pub(super) fn sign_commons_agreement(r: pb::SignCommonsAgreementRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::SignCommonsAgreement(CommonsAgreementSigned {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            agreement: id(&r.agreement, "agreement")?,
            municipality: message(r.municipality, "municipality", code(Scheme::Lau))?,
            asset: r.asset,
            asset_kind: enumeration(r.asset_kind, "asset_kind")?,
            instrument: r.instrument,
            parties: each(r.parties, "parties", party)?,
            citizen_signatories: r.citizen_signatories,
            from: date(&r.valid_from, "valid_from")?,
            until: optional_date(r.valid_until, "valid_until")?,
        }))
    })
}

fn party(p: pb::Party) -> Result<Party> {
    Ok(Party {
        name: p.name,
        kind: enumeration(p.kind, "kind")?,
        organisation: optional_id(p.organisation, "organisation")?,
    })
}

pub(super) fn end_commons_agreement(r: pb::EndCommonsAgreementRequest) -> Result<Write> {
    write(r.header, |_| {
        Ok(Command::EndCommonsAgreement(CommonsAgreementEnded {
            occurred_on: date(&r.occurred_on, "occurred_on")?,
            agreement: id(&r.agreement, "agreement")?,
            reason: enumeration(r.reason, "reason")?,
        }))
    })
}
