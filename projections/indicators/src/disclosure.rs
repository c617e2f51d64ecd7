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
///
/// The relations are checked on flat copies of the counts and of the suppression marks, so that
/// the passes over a relation of thousands of cells read a few compact vectors.
pub(crate) fn protect(rows: &mut [Row], relations: &[Relation], rules: &Disclosure, persons: bool) {
    let orgs: Vec<u32> = rows.iter().map(|r| r.cell.organisations.unwrap_or(0)).collect();
    let people: Vec<u64> = rows.iter().map(|r| r.cell.persons.unwrap_or(0)).collect();
    let mut suppressed: Vec<Option<Suppression>> = rows.iter().map(|r| r.cell.suppressed).collect();
    for (i, s) in suppressed.iter_mut().enumerate() {
        let n = orgs[i];
        if n == 0 {
            continue;
        }
        if n < rules.min_organisations {
            *s = Some(Suppression::TooFewOrganisations);
        } else if persons && people[i] < rules.min_persons {
            *s = Some(Suppression::TooFewPersons);
        }
    }

    let size = |i: usize| if persons { (people[i], orgs[i]) } else { (u64::from(orgs[i]), 0) };
    loop {
        let mut changed = false;
        for rel in relations {
            // The hidden entries: how many, and the persons and organisations of the hidden cells.
            let (mut count, mut p, mut o) = (0usize, 0u64, 0u32);
            for &i in &rel.members {
                if suppressed[i].is_some() {
                    count += 1;
                    p += people[i];
                    o += orgs[i];
                }
            }
            let total_hidden = suppressed[rel.total].is_some();
            let exposed = match count + usize::from(total_hidden) {
                0 => false,
                1 => true,
                _ if total_hidden => false,
                _ => o < rules.min_organisations || (persons && p < rules.min_persons),
            };
            if !exposed {
                continue;
            }
            let candidate = rel
                .members
                .iter()
                .copied()
                .filter(|&i| suppressed[i].is_none() && orgs[i] > 0)
                .min_by_key(|&i| (size(i), rows[i].cell.value.map(|v| v.abs())))
                .or_else(|| Some(rel.total).filter(|&t| suppressed[t].is_none()));
            if let Some(i) = candidate {
                suppressed[i] = Some(Suppression::Complementary);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }

    for (r, s) in rows.iter_mut().zip(suppressed) {
        r.cell.suppressed = s;
        if s.is_some() {
            r.cell.value = None;
            r.cell.numerator = None;
            r.cell.denominator = None;
            r.cell.organisations = None;
            r.cell.persons = None;
        }
    }
}
