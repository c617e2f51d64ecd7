//! The analysts' and operators' commands: `indicators list|show`, `directory search`,
//! `projections status|rebuild`. Tables by default; CSV, JSON and JSON-LD for portals and scripts.

use anyhow::Context;
use clap::Subcommand;
use imece_proto::v1 as pb;
use pb::indicators_client::IndicatorsClient;
use pb::projections_client::ProjectionsClient;

use crate::cli::{NodeArgs, channel, explain, with_token};

#[derive(Debug, Subcommand)]
pub enum IndicatorsCommand {
    /// The catalogue: every indicator with its id, unit and source.
    List {
        #[command(flatten)]
        node: NodeArgs,
    },
    /// One indicator as a table, grouped and filtered, for one year or a series.
    ///
    /// Example: imece indicators show assembly_participation --group-by country,city --years 2021-2025
    Show {
        /// The indicator's id (see `imece indicators list`).
        indicator: String,
        /// Dimensions to group by, comma-separated: city, nuts3, country, sector_section,
        /// sector_division, legal_form, family, cooperative_type.
        #[arg(long, value_delimiter = ',')]
        group_by: Vec<String>,
        /// One year (2024) or a series (2021-2025).
        #[arg(long)]
        years: String,
        /// Keep only rows whose dimension has one of the codes: `city=IT_035033,TR_35`. Repeatable.
        #[arg(long = "filter")]
        filters: Vec<String>,
        /// Convert money into this currency at the node's reference rates (default: per currency).
        #[arg(long)]
        convert_to: Option<String>,
        /// Answer only once the node has applied this log position (a write's `last_position`).
        #[arg(long)]
        after: Option<u64>,
        /// Print CSV, for spreadsheets and open-data portals.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        #[command(flatten)]
        node: NodeArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Organisations by name, city, sector, legal form, status or country, a page at a time.
    Search {
        /// Part of a name, case- and accent-insensitive.
        #[arg(long)]
        name: Option<String>,
        /// The LAU code of the seat's municipality (IT_035033).
        #[arg(long)]
        city: Option<String>,
        /// A NACE section letter or code prefix (Q, 88, 01.4).
        #[arg(long)]
        sector: Option<String>,
        #[arg(long)]
        legal_form: Option<String>,
        /// active, suspended, in_liquidation, liquidated, merged_away, ...
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        country: Option<String>,
        #[arg(long)]
        external_id: Option<String>,
        #[arg(long, default_value_t = 0)]
        offset: u32,
        /// At most 500.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print the page as JSON-LD (schema.org and ESSGlobal), for a city's open-data portal.
        #[arg(long, conflicts_with = "json")]
        json_ld: bool,
        #[command(flatten)]
        node: NodeArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// Every projection with its checkpoint and lag behind the log.
    Status {
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Rebuild a projection from the start of the log; the current one answers meanwhile.
    Rebuild {
        /// The projection's name (see `imece projections status`).
        name: String,
        #[command(flatten)]
        node: NodeArgs,
    },
}

/// `2024` or `2021-2025`.
fn years(text: &str) -> anyhow::Result<(i32, Option<i32>)> {
    let parse = |s: &str| s.trim().parse::<i32>().with_context(|| format!("--years {text:?}: {s:?} is not a year"));
    match text.split_once('-') {
        Some((from, to)) => Ok((parse(from)?, Some(parse(to)?))),
        None => Ok((parse(text)?, None)),
    }
}

/// `city=IT_035033,TR_35`.
fn filter(text: &str) -> anyhow::Result<pb::DimensionFilter> {
    let (dimension, codes) =
        text.split_once('=').with_context(|| format!("--filter {text:?}: write dimension=code[,code...]"))?;
    Ok(pb::DimensionFilter {
        dimension: dimension.trim().to_owned(),
        codes: codes.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect(),
    })
}

pub async fn indicators(command: IndicatorsCommand) -> anyhow::Result<()> {
    match command {
        IndicatorsCommand::List { node } => {
            let (channel, bearer) = channel(&node).await?;
            let reply = IndicatorsClient::new(channel)
                .list_indicators(with_token(pb::ListIndicatorsRequest {}, &bearer))
                .await
                .map_err(explain)?
                .into_inner();
            if node.json {
                let list: Vec<_> = reply.indicators.iter().map(definition_json).collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({ "indicators": list, "dimensions": reply.dimensions })
                    )?
                );
                return Ok(());
            }
            let rows: Vec<Vec<String>> = reply
                .indicators
                .iter()
                .map(|i| vec![i.number.clone(), i.id.clone(), i.unit.clone(), i.title.clone()])
                .collect();
            print_table(&["#", "id", "unit", "title"], &rows);
            println!();
            println!("dimensions: {}", reply.dimensions.join(", "));
            Ok(())
        }
        IndicatorsCommand::Show { indicator, group_by, years: y, filters, convert_to, after, csv, node } => {
            let (year_from, year_to) = years(&y)?;
            let request = pb::QueryIndicatorRequest {
                indicator,
                filters: filters.iter().map(|f| filter(f)).collect::<anyhow::Result<_>>()?,
                group_by,
                year_from,
                year_to,
                convert_to,
                consistency: after.map(|p| pb::Consistency { min_position: Some(p), timeout_ms: 0 }),
            };
            let (channel, bearer) = channel(&node).await?;
            let table = IndicatorsClient::new(channel)
                .query_indicator(with_token(request, &bearer))
                .await
                .map_err(explain)?
                .into_inner();
            if node.json {
                println!("{}", serde_json::to_string_pretty(&table_json(&table))?);
            } else if csv {
                print!("{}", table_csv(&table));
            } else {
                print_indicator(&table);
            }
            Ok(())
        }
    }
}

fn definition_json(i: &pb::IndicatorDefinition) -> serde_json::Value {
    serde_json::json!({
        "id": i.id, "number": i.number, "title": i.title, "unit": i.unit, "formula": i.formula,
        "source": i.source, "money": i.money, "describes_persons": i.describes_persons,
    })
}

fn kind(k: i32) -> &'static str {
    match pb::RowKind::try_from(k).unwrap_or_default() {
        pb::RowKind::Cell => "cell",
        pb::RowKind::Subtotal => "subtotal",
        pb::RowKind::Total => "total",
        pb::RowKind::Unspecified => "?",
    }
}

fn suppression(s: i32) -> Option<&'static str> {
    match pb::Suppression::try_from(s).unwrap_or_default() {
        pb::Suppression::None => None,
        pb::Suppression::TooFewPersons => Some("suppressed: fewer than 5 persons"),
        pb::Suppression::TooFewOrganisations => Some("suppressed: fewer than 3 organisations"),
        pb::Suppression::Complementary => Some("suppressed: would reveal a suppressed cell"),
    }
}

fn rates_text(cell: &pb::IndicatorCell) -> String {
    cell.rates
        .iter()
        .map(|r| format!("1 {} = {} {} on {} ({})", r.from, r.rate, r.to, r.date, r.source))
        .collect::<Vec<_>>()
        .join("; ")
}

fn table_json(t: &pb::IndicatorTable) -> serde_json::Value {
    let rows: Vec<_> = t
        .rows
        .iter()
        .map(|r| {
            let cell = r.cell.clone().unwrap_or_default();
            let key: serde_json::Map<String, serde_json::Value> = r
                .key
                .iter()
                .map(|g| {
                    let code = g.code.clone().unwrap_or_default();
                    (g.dimension.clone(), serde_json::json!({ "code": code.code, "version": code.version }))
                })
                .collect();
            serde_json::json!({
                "kind": kind(r.kind), "year": r.year, "key": key, "currency": r.currency,
                "value": cell.value, "numerator": cell.numerator, "denominator": cell.denominator,
                "organisations": cell.organisations, "persons": cell.persons,
                "excluded_missing": cell.excluded_missing, "suppressed": suppression(cell.suppressed),
                "rates": cell.rates.iter().map(|r| serde_json::json!({
                    "from": r.from, "to": r.to, "rate": r.rate, "date": r.date, "source": r.source,
                })).collect::<Vec<_>>(),
                "note": cell.note,
            })
        })
        .collect();
    serde_json::json!({
        "indicator": t.indicator.as_ref().map(definition_json),
        "group_by": t.group_by, "money_basis": t.money_basis, "as_of_position": t.as_of_position,
        "rows": rows,
    })
}

/// A field of CSV (RFC 4180): quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}

fn table_csv(t: &pb::IndicatorTable) -> String {
    let id = t.indicator.as_ref().map_or("", |i| i.id.as_str());
    let mut header = vec!["indicator".to_owned(), "year".to_owned(), "row".to_owned()];
    for d in &t.group_by {
        header.push(d.clone());
        header.push(format!("{d}_version"));
    }
    header.extend(
        [
            "currency",
            "value",
            "numerator",
            "denominator",
            "organisations",
            "persons",
            "excluded_missing",
            "suppressed",
            "basis",
            "rates",
            "note",
        ]
        .map(str::to_owned),
    );
    let mut out = header.join(",");
    out.push_str("\r\n");
    for r in &t.rows {
        let cell = r.cell.clone().unwrap_or_default();
        let mut fields = vec![id.to_owned(), r.year.to_string(), kind(r.kind).to_owned()];
        for d in &t.group_by {
            let code = r.key.iter().find(|g| &g.dimension == d).and_then(|g| g.code.clone());
            fields.push(code.as_ref().map_or("", |c| c.code.as_str()).to_owned());
            fields.push(code.as_ref().map_or("", |c| c.version.as_str()).to_owned());
        }
        fields.push(r.currency.clone().or(cell.currency.clone()).unwrap_or_default());
        for v in [&cell.value, &cell.numerator, &cell.denominator] {
            fields.push(v.clone().unwrap_or_default());
        }
        fields.push(cell.organisations.map(|o| o.to_string()).unwrap_or_default());
        fields.push(cell.persons.map(|p| p.to_string()).unwrap_or_default());
        fields.push(cell.excluded_missing.to_string());
        fields.push(suppression(cell.suppressed).unwrap_or_default().to_owned());
        fields.push(t.money_basis.clone());
        fields.push(rates_text(&cell));
        fields.push(cell.note.clone().unwrap_or_default());
        out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// A decimal shortened for reading: at most four places.
fn short(value: &Option<String>) -> String {
    match value {
        None => "—".to_owned(),
        Some(v) => match v.split_once('.') {
            Some((int, frac)) if frac.len() > 4 => format!("{int}.{}", &frac[..4]),
            _ => v.clone(),
        },
    }
}

pub fn print_indicator(t: &pb::IndicatorTable) {
    if let Some(i) = &t.indicator {
        println!("{} — {} ({})", i.id, i.title, i.unit);
        println!("formula: {}", i.formula);
        println!("source: {}", i.source);
    }
    println!("money: {} · as of log position {}", t.money_basis, t.as_of_position);
    println!();
    let mut header: Vec<&str> = vec!["year", "row"];
    header.extend(t.group_by.iter().map(String::as_str));
    header.extend(["currency", "value", "numerator", "denominator", "orgs", "persons", "left out", "note"]);
    let rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| {
            let cell = r.cell.clone().unwrap_or_default();
            let mut row = vec![r.year.to_string(), kind(r.kind).to_owned()];
            for d in &t.group_by {
                let code = r.key.iter().find(|g| &g.dimension == d).and_then(|g| g.code.clone());
                row.push(code.map_or_else(|| "all".to_owned(), |c| c.code));
            }
            row.push(r.currency.clone().or(cell.currency.clone()).unwrap_or_default());
            row.push(short(&cell.value));
            row.push(short(&cell.numerator));
            row.push(short(&cell.denominator));
            row.push(cell.organisations.map_or("—".to_owned(), |o| o.to_string()));
            row.push(cell.persons.map_or("".to_owned(), |p| p.to_string()));
            row.push(cell.excluded_missing.to_string());
            let mut note = suppression(cell.suppressed).unwrap_or_default().to_owned();
            if let Some(n) = &cell.note {
                note = if note.is_empty() { n.clone() } else { format!("{note}; {n}") };
            }
            row.push(note);
            row
        })
        .collect();
    print_table(&header, &rows);
    let rates: Vec<String> =
        t.rows.iter().filter_map(|r| r.cell.as_ref()).map(rates_text).filter(|r| !r.is_empty()).collect();
    if let Some(first) = rates.first() {
        println!();
        println!("converted at: {first}");
    }
}

/// Columns aligned to their widest cell (counted in characters, not bytes: İzmir is 5 wide).
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let text: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(c.chars().count()))))
            .collect();
        println!("{}", text.join("  ").trim_end());
    };
    line(header.to_vec());
    line(widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().iter().map(String::as_str).collect());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

pub async fn directory(command: DirectoryCommand) -> anyhow::Result<()> {
    let DirectoryCommand::Search {
        name,
        city,
        sector,
        legal_form,
        status,
        country,
        external_id,
        offset,
        limit,
        json_ld,
        node,
    } = command;
    let (channel, bearer) = channel(&node).await?;
    let request = pb::SearchOrganisationsRequest {
        name,
        external_id,
        city,
        sector,
        legal_form,
        status,
        country,
        offset,
        limit,
        consistency: None,
        json_ld,
    };
    let reply = IndicatorsClient::new(channel)
        .search_organisations(with_token(request, &bearer))
        .await
        .map_err(explain)?
        .into_inner();
    if json_ld {
        println!("{}", reply.json_ld.unwrap_or_default());
        return Ok(());
    }
    if node.json {
        let entries: Vec<_> = reply
            .entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "organisation_id": e.organisation_id, "legal_name": e.legal_name, "status": e.status,
                    "family": e.family, "legal_form": e.legal_form, "cooperative_type": e.cooperative_type,
                    "country": e.country, "lau": e.lau.as_ref().map(|c| &c.code),
                    "nuts3": e.nuts3.as_ref().map(|c| &c.code), "activity": e.activity.as_ref().map(|c| &c.code),
                    "founded_on": e.founded_on, "registered_on": e.registered_on, "dissolved_on": e.dissolved_on,
                    "external_ids": e.external_ids, "affiliations": e.affiliations,
                })
            })
            .collect();
        let page = serde_json::json!({ "total": reply.total, "next_offset": reply.next_offset, "entries": entries });
        println!("{}", serde_json::to_string_pretty(&page)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = reply
        .entries
        .iter()
        .map(|e| {
            vec![
                e.legal_name.clone(),
                e.country.clone(),
                e.lau.as_ref().map(|c| c.code.clone()).unwrap_or_default(),
                e.activity.as_ref().map(|c| c.code.clone()).unwrap_or_default(),
                e.legal_form.clone(),
                e.status.clone(),
                e.organisation_id.clone(),
            ]
        })
        .collect();
    print_table(&["name", "country", "city", "sector", "legal form", "status", "id"], &rows);
    let shown = reply.entries.len() as u64;
    println!();
    match reply.next_offset {
        Some(next) => println!("{shown} of {} shown; the next page: --offset {next}", reply.total),
        None => println!("{shown} of {} shown", reply.total),
    }
    Ok(())
}

pub async fn projections(command: ProjectionsCommand) -> anyhow::Result<()> {
    let (node, rebuild) = match command {
        ProjectionsCommand::Status { node } => (node, None),
        ProjectionsCommand::Rebuild { name, node } => (node, Some(name)),
    };
    let (channel, bearer) = channel(&node).await?;
    let mut client = ProjectionsClient::new(channel);
    if let Some(name) = rebuild {
        let status = client
            .rebuild_projection(with_token(pb::RebuildProjectionRequest { name }, &bearer))
            .await
            .map_err(explain)?
            .into_inner();
        println!("rebuilding {}: {}", status.name, status.detail.unwrap_or(status.state));
        return Ok(());
    }
    let reply = client
        .list_projections(with_token(pb::ListProjectionsRequest {}, &bearer))
        .await
        .map_err(explain)?
        .into_inner();
    if node.json {
        let list: Vec<_> = reply
            .projections
            .iter()
            .map(|p| {
                serde_json::json!({
                    "name": p.name, "version": p.version, "checkpoint": p.checkpoint, "lag": p.lag,
                    "state": p.state, "detail": p.detail, "last_snapshot": p.last_snapshot,
                    "snapshot_error": p.snapshot_error,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "head": reply.head, "projections": list }))?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = reply
        .projections
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.version.to_string(),
                p.state.clone(),
                p.checkpoint.to_string(),
                p.lag.to_string(),
                p.last_snapshot.map_or("—".to_owned(), |s| s.to_string()),
                p.detail.clone().or(p.snapshot_error.clone()).unwrap_or_default(),
            ]
        })
        .collect();
    print_table(&["projection", "version", "state", "checkpoint", "lag", "snapshot at", "detail"], &rows);
    println!();
    println!("log head: {}", reply.head);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_and_filters_parse() {
        assert_eq!(years("2024").unwrap(), (2024, None));
        assert_eq!(years("2021-2025").unwrap(), (2021, Some(2025)));
        assert!(years("last year").is_err());
        let f = filter("city=IT_035033, TR_35").unwrap();
        assert_eq!(f.dimension, "city");
        assert_eq!(f.codes, vec!["IT_035033", "TR_35"]);
        assert!(filter("city").is_err());
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        let table = pb::IndicatorTable {
            indicator: Some(pb::IndicatorDefinition { id: "active_entities".into(), ..Default::default() }),
            group_by: vec!["city".into()],
            money_basis: "nominal".into(),
            rows: vec![pb::IndicatorRow {
                kind: pb::RowKind::Cell as i32,
                year: 2024,
                key: vec![pb::GroupValue {
                    dimension: "city".into(),
                    code: Some(pb::Code { code: "IT_035033".into(), version: "2021".into() }),
                }],
                currency: None,
                cell: Some(pb::IndicatorCell {
                    value: Some("4".into()),
                    organisations: Some(4),
                    note: Some("a, b".into()),
                    ..Default::default()
                }),
            }],
            as_of_position: 9,
        };
        let csv = table_csv(&table);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert!(lines[0].starts_with("indicator,year,row,city,city_version,currency,value"));
        assert_eq!(lines[1], "active_entities,2024,cell,IT_035033,2021,,4,,,4,,0,,nominal,,\"a, b\"");
    }
}
