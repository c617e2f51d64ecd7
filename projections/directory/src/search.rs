//! Search: filters, ordering and paging over the directory.

use imece_domain::{Code, Visibility};
use serde::{Deserialize, Serialize};

use crate::{Directory, Entry, OrgStatus};

/// The most entries one page holds.
pub const MAX_PAGE_SIZE: usize = 500;
/// The page size when a query names none.
pub const DEFAULT_PAGE_SIZE: usize = 50;

/// What to look for. Every filter given must match; none given lists everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Query {
    /// A part of the legal name or of a name in another language, case- and accent-insensitive
    /// (`izmir` finds `İzmir`, `sut` finds `Süt`).
    pub name: Option<String>,
    /// An external id, with its scheme prefix (`FR-SIREN-732829320`) or without (`732829320`).
    pub external_id: Option<String>,
    /// The municipality of the seat, as its LAU id (`IT_035033`).
    pub city: Option<String>,
    /// The primary NACE activity: a section letter (`Q`, by the code's own NACE version), or the
    /// start of a code (`01` for the division, `88.9` for the group).
    pub sector: Option<String>,
    /// The legal form: its ISO 20275 code (`8888`) or its national name (`kooperatif`).
    pub legal_form: Option<String>,
    pub status: Option<OrgStatus>,
    /// The country of the seat (`IT`).
    pub country: Option<String>,
    /// The most restricted entries to include; default public only.
    pub visibility: Option<Visibility>,
    /// Entries to skip: the `next_offset` of the previous page.
    pub offset: usize,
    /// Entries per page: default 50, at most [`MAX_PAGE_SIZE`].
    pub limit: Option<usize>,
}

/// One page of results, ordered by legal name (case- and accent-insensitive) then id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Page {
    pub entries: Vec<Entry>,
    /// How many entries match, over all pages.
    pub total: usize,
    /// The offset of the next page, if there is one.
    pub next_offset: Option<usize>,
}

/// Text folded for matching: lower case, without accents, with the Turkish dotted and dotless i
/// both as `i`, so that `İZMİR`, `İzmir`, `IZMIR`, `ızmir` and `izmir` are all `izmir`.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        for l in c.to_lowercase() {
            // Combining marks (what `İ` lowercases to: `i` and U+0307) are dropped.
            if ('\u{0300}'..='\u{036F}').contains(&l) {
                continue;
            }
            out.push(base_letter(l));
        }
    }
    out
}

/// The letter without its accent, for the Latin letters of the partner countries' languages.
fn base_letter(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => 'c',
        'ď' | 'đ' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => 'e',
        'ğ' | 'ĝ' | 'ġ' | 'ģ' => 'g',
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => 'i',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => 'o',
        'ŕ' | 'ř' => 'r',
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => 's',
        'ţ' | 'ť' | 'ț' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        other => other,
    }
}

/// The NACE section of a division (`88` → `Q`), by NACE version (`2` or `2.1`).
fn nace_section(version: &str, division: u8) -> Option<char> {
    // Each section with the first division of the next one.
    const REV2: &[(char, u8)] = &[
        ('A', 5),
        ('B', 10),
        ('C', 35),
        ('D', 36),
        ('E', 41),
        ('F', 45),
        ('G', 49),
        ('H', 55),
        ('I', 58),
        ('J', 64),
        ('K', 68),
        ('L', 69),
        ('M', 77),
        ('N', 84),
        ('O', 85),
        ('P', 86),
        ('Q', 90),
        ('R', 94),
        ('S', 97),
        ('T', 99),
        ('U', 100),
    ];
    // NACE Rev. 2.1 split information and communication (J, K), moved the sections after it by
    // one letter, and folded division 45 into 46 and 47.
    const REV2_1: &[(char, u8)] = &[
        ('A', 5),
        ('B', 10),
        ('C', 35),
        ('D', 36),
        ('E', 41),
        ('F', 45),
        ('G', 49),
        ('H', 55),
        ('I', 58),
        ('J', 61),
        ('K', 64),
        ('L', 68),
        ('M', 69),
        ('N', 77),
        ('O', 84),
        ('P', 85),
        ('Q', 86),
        ('R', 90),
        ('S', 94),
        ('T', 97),
        ('U', 99),
        ('V', 100),
    ];
    let table = match version {
        "2" => REV2,
        "2.1" => REV2_1,
        _ => return None,
    };
    table.iter().find(|(_, next)| division < *next).map(|(section, _)| *section)
}

/// Whether NACE code `code` falls under `sector`: a section letter, or the start of a code.
fn in_sector(code: &Code, sector: &str) -> bool {
    let sector = sector.trim();
    if sector.len() == 1 && sector.bytes().all(|b| b.is_ascii_alphabetic()) {
        let letter = sector.to_ascii_uppercase();
        if code.code.len() == 1 {
            return code.code == letter;
        }
        let section = code.code.get(..2).and_then(|d| d.parse().ok()).and_then(|d| nace_section(&code.version, d));
        return section.is_some_and(|s| s.to_string() == letter);
    }
    !sector.is_empty() && code.code.starts_with(sector)
}

impl Query {
    fn matches(&self, entry: &Entry, names: &[String], folded_name: Option<&str>) -> bool {
        let ci = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
        if entry.visibility > self.visibility.unwrap_or(Visibility::Public) {
            return false;
        }
        if let Some(wanted) = folded_name
            && !names.iter().any(|n| n.contains(wanted))
        {
            return false;
        }
        if let Some(id) = &self.external_id
            && !entry.external_ids.iter().any(|e| ci(&e.to_string(), id) || ci(e.id(), id))
        {
            return false;
        }
        if let Some(city) = &self.city
            && !ci(&entry.seat.lau.code, city)
        {
            return false;
        }
        if let Some(sector) = &self.sector
            && !in_sector(&entry.activity, sector)
        {
            return false;
        }
        if let Some(form) = &self.legal_form {
            let elf = entry.legal_form.elf.as_ref().is_some_and(|c| ci(&c.code, form));
            if !elf && fold(entry.legal_form.national.trim()) != fold(form.trim()) {
                return false;
            }
        }
        if self.status.is_some_and(|s| s != entry.status) {
            return false;
        }
        if let Some(country) = &self.country
            && !ci(entry.seat.country.as_str(), country)
        {
            return false;
        }
        true
    }
}

impl Directory {
    /// The entries matching `query`, ordered by legal name (folded, then as written) and id, one
    /// page of them from `query.offset`, with the total count.
    pub fn search(&self, query: &Query) -> Page {
        let folded_name = query.name.as_deref().map(|n| fold(n.trim())).filter(|n| !n.is_empty());
        let mut matched: Vec<(String, &Entry)> = self
            .entries
            .values()
            .filter(|e| {
                let names = self.keys.get(&e.id).map_or(&[][..], Vec::as_slice);
                query.matches(e, names, folded_name.as_deref())
            })
            .map(|e| (self.keys.get(&e.id).and_then(|k| k.first().cloned()).unwrap_or_default(), e))
            .collect();
        matched
            .sort_by(|(ka, a), (kb, b)| ka.cmp(kb).then_with(|| a.legal_name.cmp(&b.legal_name)).then(a.id.cmp(&b.id)));
        let total = matched.len();
        let limit = query.limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
        let entries: Vec<Entry> = matched.into_iter().skip(query.offset).take(limit).map(|(_, e)| e.clone()).collect();
        let end = query.offset.saturating_add(entries.len());
        Page { entries, total, next_offset: (end < total).then_some(end) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_matches_turkish_and_accented_names() {
        for spelling in ["İzmir", "İZMİR", "IZMIR", "ızmir", "izmir", "I\u{0307}zmir"] {
            assert_eq!(fold(spelling), "izmir", "{spelling}");
        }
        assert_eq!(fold("Tire Süt Kooperatifi"), "tire sut kooperatifi");
        assert_eq!(fold("Società Cooperativa Sociale"), "societa cooperativa sociale");
        assert_eq!(fold("Coopérative d'Économie"), "cooperative d'economie");
    }

    #[test]
    fn sections_by_nace_version() {
        let nace = |c: &str, v: &str| Code::nace(c, v).unwrap();
        assert!(in_sector(&nace("01.41", "2"), "A"));
        assert!(in_sector(&nace("01.41", "2"), "a"));
        assert!(in_sector(&nace("88.99", "2"), "Q"));
        assert!(in_sector(&nace("88.99", "2.1"), "R"), "health and social work is R in Rev. 2.1");
        assert!(!in_sector(&nace("88.99", "2.1"), "Q"));
        assert!(in_sector(&nace("62.01", "2"), "J"));
        assert!(in_sector(&nace("62.01", "2.1"), "K"));
        assert!(in_sector(&nace("99.00", "2"), "U"));
        assert!(in_sector(&nace("Q", "2"), "Q"));
        assert!(in_sector(&nace("01.41", "2"), "01"));
        assert!(in_sector(&nace("88.99", "2"), "88.9"));
        assert!(!in_sector(&nace("10.51", "2"), "01"));
        assert!(!in_sector(&nace("10.51", "2"), ""));
    }
}
