//! Members: enrolment to erasure, and the membership snapshot.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::events::*;
use crate::values::{Sex, require_text};

pub(super) fn enrol_person(at: &At<'_>, c: PersonEnrolled) -> Result<Vec<Event>> {
    let At { org, ctx, .. } = *at;
    if org.persons.contains_key(&c.person) {
        return Err(Error::refused("person", format!("{} is already enrolled", c.person)));
    }
    match &c.person_kind {
        PersonKind::Natural { birth_year, personal_data, .. } => {
            personal_data.validate().map_err(|e| e.within("person_kind.personal_data"))?;
            if let Some(year) = birth_year
                && !(1900..=ctx.today.year()).contains(&i32::from(*year))
            {
                return Err(Error::invalid(
                    "person_kind.birth_year",
                    format!("must be from 1900 to {}, is {year}", ctx.today.year()),
                ));
            }
        }
        PersonKind::Legal { name, external_id, .. } => {
            require_text("person_kind.name", name, 300)?;
            if let Some(id) = external_id {
                id.validate().map_err(|e| e.within("person_kind.external_id"))?;
            }
        }
    }
    Ok(vec![c.into()])
}

pub(super) fn admit_member(at: &At<'_>, c: MemberAdmitted) -> Result<Vec<Event>> {
    let At { org, .. } = *at;
    if org.memberships.contains_key(&c.membership) {
        return Err(Error::refused("membership", format!("{} is already recorded", c.membership)));
    }
    require_person(org, c.person)?;
    if org.memberships.values().any(|m| m.person == c.person && m.category == c.category && m.left_on.is_none()) {
        return Err(Error::refused(
            "person",
            format!("is already a current member in the category {:?}", c.category).to_lowercase(),
        ));
    }
    if c.shares == 0 {
        return Err(Error::invalid("shares", "must be at least 1"));
    }
    c.subscribed_capital.require_non_negative("subscribed_capital")?;
    Ok(vec![c.into()])
}

pub(super) fn pay_in_capital(at: &At<'_>, c: CapitalPaidIn) -> Result<Vec<Event>> {
    let At { org, .. } = *at;
    let m = require_current(org, "membership", c.membership)?;
    c.amount.require_currency("amount", m.subscribed.currency, "the subscription's")?;
    if c.amount.amount <= rust_decimal::Decimal::ZERO {
        return Err(Error::invalid("amount", format!("must be more than zero, is {}", c.amount)));
    }
    Ok(vec![c.into()])
}

pub(super) fn transfer_shares(at: &At<'_>, c: SharesTransferred) -> Result<Vec<Event>> {
    let At { org, .. } = *at;
    if c.from == c.to {
        return Err(Error::invalid("to", "must differ from the membership the shares come from"));
    }
    let from = require_current(org, "from", c.from)?;
    let to = require_current(org, "to", c.to)?;
    if c.shares == 0 {
        return Err(Error::invalid("shares", "must be at least 1"));
    }
    if c.shares > from.shares {
        return Err(Error::refused("shares", format!("must not exceed the {} shares of {}", from.shares, c.from)));
    }
    if let Some(price) = &c.price {
        price.require_currency("price", to.subscribed.currency, "the memberships'")?;
        price.require_non_negative("price")?;
    }
    Ok(vec![c.into()])
}

pub(super) fn record_member_leaving(at: &At<'_>, c: MemberLeft) -> Result<Vec<Event>> {
    let At { org, on, .. } = *at;
    let Some(m) = org.membership(c.membership) else {
        return Err(Error::refused("membership", format!("no membership {} in this organisation", c.membership)));
    };
    if let Some(left) = m.left_on {
        return Err(Error::refused("membership", format!("{} already left on {left}", c.membership)));
    }
    if on < m.admitted_on {
        return Err(Error::refused("occurred_on", format!("must not be before the admission on {}", m.admitted_on)));
    }
    if let Some(refund) = &c.refund {
        refund.require_currency("refund", m.subscribed.currency, "the subscription's")?;
        refund.require_non_negative("refund")?;
    }
    Ok(vec![c.into()])
}

pub(super) fn erase_member_data(at: &At<'_>, c: MemberDataErased) -> Result<Vec<Event>> {
    let At { org, on, .. } = *at;
    let Some(p) = org.person(c.person) else {
        return Err(Error::refused("person", format!("{} is not enrolled", c.person)));
    };
    if let Some(erased) = p.erased_on {
        return Err(Error::refused("person", format!("their data was already erased on {erased}")));
    }
    let Some(natural) = p.natural else {
        return Err(Error::refused("person", "is a legal person: there is no personal data to erase"));
    };
    if natural.key_id != c.key_id {
        return Err(Error::invalid(
            "key_id",
            format!("must be the key that sealed the person's data, {}", natural.key_id),
        ));
    }
    if c.requested_on > on {
        return Err(Error::invalid("requested_on", format!("must not be after the erasure on {on}")));
    }
    Ok(vec![c.into()])
}

pub(super) fn declare_membership_snapshot(at: &At<'_>, mut c: MembershipSnapshotDeclared) -> Result<Vec<Event>> {
    let At { reg, on, ctx, .. } = *at;
    if c.source != SnapshotSource::Declared {
        return Err(Error::invalid(
            "source",
            "must be declared; ComputeMembershipSnapshot computes one from the register",
        ));
    }
    check_snapshot_dates(reg, c.as_of, on)?;
    validate_declared_snapshot(&c)?;
    // Publication rules apply to declared figures too: suppress what describes too few.
    c.by_sex = suppress_sex(&c.by_sex, ctx.disclosure_threshold);
    c.by_age = suppress_age(&c.by_age, ctx.disclosure_threshold);
    c.by_category = suppress_categories(&c.by_category, ctx.disclosure_threshold);
    Ok(vec![c.into()])
}

pub(super) fn compute_membership_snapshot(at: &At<'_>, occurred_on: Date, as_of: Date) -> Result<Vec<Event>> {
    let At { org, reg, ctx, .. } = *at;
    check_snapshot_dates(reg, as_of, occurred_on)?;
    Ok(vec![compute_snapshot(org, occurred_on, as_of, ctx.disclosure_threshold).into()])
}

fn check_snapshot_dates(reg: &Registration, as_of: Date, on: Date) -> Result<()> {
    if as_of > on {
        return Err(Error::invalid("as_of", format!("must not be after the declaration on {on}")));
    }
    if as_of < reg.founded_on {
        return Err(Error::refused("as_of", format!("must not be before the founding on {}", reg.founded_on)));
    }
    Ok(())
}

fn validate_declared_snapshot(c: &MembershipSnapshotDeclared) -> Result<()> {
    if u64::from(c.natural_persons) + u64::from(c.legal_persons) != u64::from(c.members) {
        return Err(Error::invalid(
            "members",
            format!(
                "must equal natural persons ({}) plus legal persons ({}), is {}",
                c.natural_persons, c.legal_persons, c.members
            ),
        ));
    }
    let group = |field: &str, cells: &[Cell], total: u32, exact: bool| -> Result<()> {
        let known: u64 = cells.iter().flatten().map(|n| u64::from(*n)).sum();
        let complete = cells.iter().all(Option::is_some);
        if known > u64::from(total) && exact {
            return Err(Error::invalid(field, format!("adds up to {known}, more than the {total} it breaks down")));
        }
        if complete && exact && known != u64::from(total) {
            return Err(Error::invalid(field, format!("adds up to {known}, but must add up to {total}")));
        }
        if complete && !exact && known < u64::from(total) {
            return Err(Error::invalid(field, format!("adds up to {known}, fewer than the {total} members")));
        }
        Ok(())
    };
    group("by_sex", &c.by_sex.cells(), c.natural_persons, true)?;
    group("by_age", &c.by_age.cells(), c.natural_persons, true)?;
    // A person may belong in more than one category: at least every member, not exactly.
    let categories: Vec<Cell> = c.by_category.values().copied().collect();
    group("by_category", &categories, c.members, false)
}

/// Counts the members on `as_of`: persons once in the totals, memberships once per category.
fn compute_snapshot(org: &Organisation, occurred_on: Date, as_of: Date, threshold: u32) -> MembershipSnapshotDeclared {
    let current: Vec<&Membership> = org.memberships_on(as_of).map(|(_, m)| m).collect();
    let persons: BTreeSet<_> = current.iter().map(|m| m.person).collect();
    let (mut natural, mut legal) = (0u32, 0u32);
    let mut sex = [0u32; 4];
    let mut age = [0u32; 4];
    for person in &persons {
        let p = org.person(*person);
        match p {
            Some(p) if p.natural.is_none() => legal += 1,
            _ => {
                natural += 1;
                let n = p.and_then(|p| p.natural);
                let cell = match n.map_or(Sex::Unknown, |n| n.sex) {
                    Sex::Female => 0,
                    Sex::Male => 1,
                    Sex::Other => 2,
                    Sex::Unknown => 3,
                };
                sex[cell] += 1;
                let band = match n.and_then(|n| n.birth_year) {
                    Some(y) => match as_of.year() - i32::from(y) {
                        ..30 => 0,
                        30..=64 => 1,
                        _ => 2,
                    },
                    None => 3,
                };
                age[band] += 1;
            }
        }
    }
    let mut categories: BTreeMap<MemberCategory, u32> = BTreeMap::new();
    for m in &current {
        *categories.entry(m.category).or_default() += 1;
    }
    let by_category: BTreeMap<MemberCategory, Cell> = categories.into_iter().map(|(k, n)| (k, Some(n))).collect();
    let by_sex = BySex { female: Some(sex[0]), male: Some(sex[1]), other: Some(sex[2]), unknown: Some(sex[3]) };
    let by_age =
        ByAge { under_30: Some(age[0]), from_30_to_64: Some(age[1]), from_65: Some(age[2]), unknown: Some(age[3]) };
    MembershipSnapshotDeclared {
        occurred_on,
        as_of,
        source: SnapshotSource::Computed,
        members: natural + legal,
        natural_persons: natural,
        legal_persons: legal,
        by_sex: suppress_sex(&by_sex, threshold),
        by_age: suppress_age(&by_age, threshold),
        by_category: suppress_categories(&by_category, threshold),
    }
}

/// Suppresses cells of one breakdown that describe more than none but fewer than `threshold`
/// persons; if that leaves one cell suppressed, the total would give it away, so the smallest other
/// cell goes too.
fn suppress(cells: &mut [Cell], threshold: u32) {
    for c in cells.iter_mut() {
        if c.is_some_and(|n| n > 0 && n < threshold) {
            *c = None;
        }
    }
    if cells.iter().filter(|c| c.is_none()).count() == 1
        && let Some(smallest) = cells.iter_mut().filter(|c| c.is_some()).min_by_key(|c| c.unwrap_or(u32::MAX))
    {
        *smallest = None;
    }
}

fn suppress_sex(s: &BySex, threshold: u32) -> BySex {
    let mut cells = s.cells();
    suppress(&mut cells, threshold);
    let [female, male, other, unknown] = cells;
    BySex { female, male, other, unknown }
}

fn suppress_age(a: &ByAge, threshold: u32) -> ByAge {
    let mut cells = a.cells();
    suppress(&mut cells, threshold);
    let [under_30, from_30_to_64, from_65, unknown] = cells;
    ByAge { under_30, from_30_to_64, from_65, unknown }
}

fn suppress_categories(c: &BTreeMap<MemberCategory, Cell>, threshold: u32) -> BTreeMap<MemberCategory, Cell> {
    let keys: Vec<MemberCategory> = c.keys().copied().collect();
    let mut cells: Vec<Cell> = c.values().copied().collect();
    suppress(&mut cells, threshold);
    keys.into_iter().zip(cells).collect()
}
