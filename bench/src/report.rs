//! The markdown the benchmark prints: one table of results, then notes.

/// One line of the results table.
#[derive(Clone, Debug)]
pub struct Row {
    pub scenario: String,
    pub imece: String,
    pub imece_syncs: String,
    pub sqlite: String,
    pub ratio: String,
    pub target: String,
    pub met: String,
}

const HEADER: [&str; 7] = ["scenario", "imece events/s", "imece syncs/s", "SQLite events/s", "ratio", "target", "met?"];

/// The rows as a markdown table.
pub fn table(rows: &[Row]) -> String {
    let mut out = format!("| {} |\n|{}\n", HEADER.join(" | "), "---|".repeat(HEADER.len()));
    for r in rows {
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            r.scenario, r.imece, r.imece_syncs, r.sqlite, r.ratio, r.target, r.met
        );
    }
    out
}

/// `value` rounded, with thousands separated by commas: `1,234,567`.
pub fn count(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// How many times `ours` is `theirs`: `12.3×`.
pub fn ratio(ours: f64, theirs: f64) -> String {
    if theirs > 0.0 { format!("{:.1}×", ours / theirs) } else { "—".to_owned() }
}

/// `yes` if every check passed, else `no` and the names of those that failed.
pub fn verdict(checks: &[(&str, bool)]) -> String {
    let failed: Vec<&str> = checks.iter().filter(|(_, ok)| !ok).map(|(name, _)| *name).collect();
    if failed.is_empty() { "yes".to_owned() } else { format!("no ({})", failed.join(", ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_separators() {
        assert_eq!(count(0.0), "0");
        assert_eq!(count(999.4), "999");
        assert_eq!(count(1_000.0), "1,000");
        assert_eq!(count(1_234_567.8), "1,234,568");
    }

    #[test]
    fn verdict_names_what_failed() {
        assert_eq!(verdict(&[("rate", true), ("ratio", true)]), "yes");
        assert_eq!(verdict(&[("rate", false), ("ratio", true)]), "no (rate)");
    }
}
