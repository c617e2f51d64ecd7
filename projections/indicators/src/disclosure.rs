//! Disclosure control: no published cell describes fewer than 5 persons or rests on fewer than 3
//! organisations, and no suppressed cell can be recovered from the margins.
//!
//! Primary suppression hides every cell under a threshold. Complementary suppression then looks
//! at each additive relation of the table: the cells of a year (and currency) with their total,
//! and, grouping by two or more dimensions, the cells of one value of the first dimension with
//! its subtotal, and the subtotals with the total. In a relation where exactly one entry is
//! hidden, that entry is the margin minus the others; where several cells are hidden but their
//! sum (the margin minus the published cells) is itself under a threshold, the sum discloses
//! them. In both cases the smallest published cell of the relation is hidden too (the margin only
//! when no cell is left), and the relations are checked again until nothing changes.

use crate::query::{Row, Suppression};

/// The thresholds of disclosure control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Disclosure {
    /// A cell describing fewer persons is suppressed (for indicators about persons).
    pub min_persons: u64,
    /// A cell resting on fewer organisations is suppressed.
    pub min_organisations: u32,
}

impl Default for Disclosure {
    /// 5 persons, 3 organisations: the rule of every published figure.
    fn default() -> Self {
        Disclosure { min_persons: 5, min_organisations: 3 }
    }
}

impl Disclosure {
    /// No thresholds: every cell is shown. For the registry's own checks and for tests, never for
    /// publication.
    pub const UNPROTECTED: Disclosure = Disclosure { min_persons: 0, min_organisations: 0 };
}

/// One additive relation of a table: row `total` is the sum of rows `members`.
#[derive(Debug)]
pub(crate) struct Relation {
    pub members: Vec<usize>,
    pub total: usize,
}

/// Applies primary suppression to `rows`, complementary suppression over `relations`, then hides
/// what is suppressed. `persons` says whether the indicator describes persons.
pub(crate) fn protect(rows: &mut [Row], relations: &[Relation], rules: &Disclosure, persons: bool) {
    let orgs = |r: &Row| r.cell.organisations.unwrap_or(0);
    let people = |r: &Row| r.cell.persons.unwrap_or(0);
    for r in rows.iter_mut() {
        let n = orgs(r);
        if n == 0 {
            continue;
        }
        if n < rules.min_organisations {
            r.cell.suppressed = Some(Suppression::TooFewOrganisations);
        } else if persons && people(r) < rules.min_persons {
            r.cell.suppressed = Some(Suppression::TooFewPersons);
        }
    }

    let size = |r: &Row| if persons { (people(r), orgs(r)) } else { (u64::from(orgs(r)), 0) };
    loop {
        let mut changed = false;
        for rel in relations {
            let hidden: Vec<usize> = rel
                .members
                .iter()
                .chain(std::iter::once(&rel.total))
                .copied()
                .filter(|&i| rows[i].cell.suppressed.is_some())
                .collect();
            let exposed = match hidden.len() {
                0 => false,
                1 => true,
                _ if rows[rel.total].cell.suppressed.is_some() => false,
                _ => {
                    let (p, o) =
                        hidden.iter().fold((0u64, 0u32), |(p, o), &i| (p + people(&rows[i]), o + orgs(&rows[i])));
                    o < rules.min_organisations || (persons && p < rules.min_persons)
                }
            };
            if !exposed {
                continue;
            }
            let candidate = rel
                .members
                .iter()
                .copied()
                .filter(|&i| rows[i].cell.suppressed.is_none() && orgs(&rows[i]) > 0)
                .min_by_key(|&i| (size(&rows[i]), rows[i].cell.value.map(|v| v.abs())))
                .or_else(|| Some(rel.total).filter(|&t| rows[t].cell.suppressed.is_none()));
            if let Some(i) = candidate {
                rows[i].cell.suppressed = Some(Suppression::Complementary);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }

    for r in rows.iter_mut().filter(|r| r.cell.suppressed.is_some()) {
        r.cell.value = None;
        r.cell.numerator = None;
        r.cell.denominator = None;
        r.cell.organisations = None;
        r.cell.persons = None;
    }
}
