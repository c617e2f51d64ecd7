//! The analysts' API (`imece.v1.Indicators`: the catalogue, indicator tables, the directory) and
//! the operators' (`imece.v1.Projections`: lag and rebuilds), over the node's [`Views`].

use std::sync::Arc;
use std::time::Duration;

use imece_directory::{Entry, OrgStatus};
use imece_domain::{Code, Currency, Visibility};
use imece_indicators::{Basis, Cell, Dimension, Disclosure, MoneyBasis, Query, RowKind, Suppression, Table, Years};
use imece_projections::{ProjectionControl, RunState, Status as ProjectionState};
use imece_proto::v1 as pb;
use tonic::{Request, Response, Status};

use crate::Error;
use crate::auth::caller;
use crate::views::{DEFAULT_WAIT, MAX_WAIT, Views};

/// Serves `Indicators` and `Projections`.
#[derive(Clone, Debug)]
pub struct IndicatorsService {
    views: Arc<Views>,
}

impl IndicatorsService {
    pub fn new(views: Arc<Views>) -> Self {
        IndicatorsService { views }
    }
}

/// Waits for the read-your-writes position the request names, on `control`'s projection.
async fn consistent(control: &dyn ProjectionControl, consistency: Option<&pb::Consistency>) -> Result<(), Error> {
    let Some(c) = consistency else { return Ok(()) };
    let Some(position) = c.min_position else { return Ok(()) };
    let wait = if c.timeout_ms == 0 { DEFAULT_WAIT } else { Duration::from_millis(c.timeout_ms.into()).min(MAX_WAIT) };
    control.wait_for(position, wait).await?;
    Ok(())
}

fn code(c: &Code) -> pb::Code {
    pb::Code { code: c.code.clone(), version: c.version.clone() }
}

/// A serde enum's snake_case name (`multi_stakeholder`).
fn name_of<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

fn definition(i: &imece_indicators::Indicator) -> pb::IndicatorDefinition {
    pb::IndicatorDefinition {
        id: i.id.to_owned(),
        number: i.number.to_owned(),
        title: i.title.to_owned(),
        unit: unit(i.unit).to_owned(),
        formula: i.formula.to_owned(),
        source: i.source.to_owned(),
        money: i.is_money(),
        describes_persons: i.describes_persons(),
    }
}

fn unit(u: imece_indicators::Unit) -> &'static str {
    use imece_indicators::Unit as U;
    match u {
        U::Count => "count",
        U::FullTimeEquivalent => "fte",
        U::Ratio => "ratio",
        U::RatioDifference => "ratio_difference",
        U::PerThousandInhabitants => "per_1000_inhabitants",
        U::PerTenThousandInhabitants => "per_10000_inhabitants",
        U::Money => "money",
        U::MoneyPerMember => "money_per_member",
    }
}

/// The request as a query of the indicators crate; its own checks name the request's fields.
fn query(request: &pb::QueryIndicatorRequest) -> Result<Query, Error> {
    let invalid = |field: String, rule: String| Error::Domain(imece_domain::Error::Invalid { field, rule });
    let names: Vec<&str> = request.group_by.iter().map(String::as_str).collect();
    let group_by = Dimension::parse_list(&names)?;
    let mut q = Query::new(&request.indicator, request.year_from);
    q.group_by = group_by;
    for (i, f) in request.filters.iter().enumerate() {
        let dimension: Dimension = f.dimension.parse().map_err(|e: imece_indicators::Error| match e {
            imece_indicators::Error::InvalidQuery { rule, .. } => invalid(format!("filters[{i}].dimension"), rule),
            other => Error::Indicators(other),
        })?;
        if f.codes.is_empty() {
            return Err(invalid(format!("filters[{i}].codes"), "name at least one code".into()));
        }
        q.filters.entry(dimension).or_default().extend(f.codes.iter().cloned());
    }
    if let Some(to) = request.year_to
        && to != request.year_from
    {
        q.years = Years::Range { from: request.year_from, to };
    }
    if let Some(currency) = &request.convert_to {
        let to = currency.parse::<Currency>().map_err(|e| {
            invalid("convert_to".into(), format!("{currency:?} is not a currency the registry knows: {e}"))
        })?;
        q.money = MoneyBasis::Converted { to };
    }
    Ok(q)
}

fn decimal(d: Option<rust_decimal::Decimal>) -> Option<String> {
    d.map(|d| d.normalize().to_string())
}

fn cell(c: &Cell) -> pb::IndicatorCell {
    let rates = match &c.basis {
        Some(Basis::Converted { rates, .. }) => rates
            .iter()
            .map(|r| pb::RateUsed {
                from: r.from.to_string(),
                to: r.to.to_string(),
                rate: r.rate.normalize().to_string(),
                date: r.date.to_string(),
                source: r.source.clone(),
            })
            .collect(),
        _ => Vec::new(),
    };
    pb::IndicatorCell {
        value: decimal(c.value),
        numerator: decimal(c.numerator),
        denominator: decimal(c.denominator),
        organisations: c.organisations,
        excluded_missing: c.excluded_missing,
        persons: c.persons,
        suppressed: match c.suppressed {
            None => pb::Suppression::None,
            Some(Suppression::TooFewPersons) => pb::Suppression::TooFewPersons,
            Some(Suppression::TooFewOrganisations) => pb::Suppression::TooFewOrganisations,
            Some(Suppression::Complementary) => pb::Suppression::Complementary,
        } as i32,
        currency: c.currency.map(|c| c.to_string()),
        rates,
        note: c.note.clone(),
    }
}

/// A table as the API gives it.
pub fn table(t: &Table, as_of_position: u64) -> pb::IndicatorTable {
    pb::IndicatorTable {
        indicator: Some(definition(t.indicator)),
        group_by: t.group_by.iter().map(|d| d.name().to_owned()).collect(),
        money_basis: match t.money {
            MoneyBasis::Nominal => "nominal".to_owned(),
            MoneyBasis::Converted { to } => format!("converted to {to}"),
        },
        rows: t
            .rows
            .iter()
            .map(|r| pb::IndicatorRow {
                kind: match r.kind {
                    RowKind::Cell => pb::RowKind::Cell,
                    RowKind::Subtotal => pb::RowKind::Subtotal,
                    RowKind::Total => pb::RowKind::Total,
                } as i32,
                year: r.year,
                key: r
                    .key
                    .iter()
                    .map(|g| pb::GroupValue {
                        dimension: g.dimension.name().to_owned(),
                        code: Some(pb::Code {
                            code: g.code.to_string(),
                            version: g.version.as_deref().unwrap_or_default().to_owned(),
                        }),
                    })
                    .collect(),
                currency: r.currency.map(|c| c.to_string()),
                cell: Some(cell(&r.cell)),
            })
            .collect(),
        as_of_position,
    }
}

fn entry(e: &Entry) -> pb::DirectoryEntry {
    pb::DirectoryEntry {
        organisation_id: e.id.to_string(),
        legal_name: e.legal_name.clone(),
        other_names: e.other_names.values().cloned().collect(),
        external_ids: e.external_ids.iter().map(ToString::to_string).collect(),
        status: e.status.as_str().to_owned(),
        family: name_of(&e.family),
        legal_form: e.legal_form.national.clone(),
        cooperative_type: e.cooperative_type.as_ref().map(name_of),
        country: e.seat.country.to_string(),
        lau: Some(code(&e.seat.lau)),
        nuts3: Some(code(&e.seat.nuts3)),
        activity: Some(code(&e.activity)),
        founded_on: e.founded_on.to_string(),
        registered_on: e.registered_on.to_string(),
        dissolved_on: e.dissolved_on.or(e.closed_on).map(|d| d.to_string()),
        affiliations: e.affiliations.iter().map(|a| a.name.clone()).collect(),
    }
}

fn status(s: &ProjectionState) -> pb::ProjectionStatus {
    let (state, detail) = match &s.state {
        RunState::CatchingUp => ("catching_up", None),
        RunState::Live => ("live", None),
        RunState::Rebuilding { position, target } => {
            ("rebuilding", Some(format!("the new copy is at {position} of {target}")))
        }
        RunState::Stopped => ("stopped", None),
        RunState::Failed { reason } => ("failed", Some(reason.clone())),
    };
    pb::ProjectionStatus {
        name: s.name.to_owned(),
        version: s.version,
        checkpoint: s.checkpoint,
        lag: s.lag,
        state: state.to_owned(),
        detail: detail.or_else(|| s.rebuild_error.as_ref().map(|e| format!("the last rebuild failed: {e}"))),
        last_snapshot: s.last_snapshot.as_ref().map(|l| l.checkpoint),
        snapshot_error: s.snapshot_error.clone(),
    }
}

#[tonic::async_trait]
impl pb::indicators_server::Indicators for IndicatorsService {
    async fn list_indicators(
        &self,
        request: Request<pb::ListIndicatorsRequest>,
    ) -> Result<Response<pb::ListIndicatorsReply>, Status> {
        caller(&request)?;
        Ok(Response::new(pb::ListIndicatorsReply {
            indicators: imece_indicators::CATALOGUE.iter().map(definition).collect(),
            dimensions: Dimension::ALL.iter().map(|d| d.name().to_owned()).collect(),
        }))
    }

    async fn query_indicator(
        &self,
        request: Request<pb::QueryIndicatorRequest>,
    ) -> Result<Response<pb::IndicatorTable>, Status> {
        caller(&request)?;
        let request = request.into_inner();
        let q = query(&request)?;
        consistent(&*self.views.indicators.control(), request.consistency.as_ref()).await?;
        let views = self.views.clone();
        // Building the cube is CPU work proportional to the registry: off the async threads.
        let answer = tokio::task::spawn_blocking(move || {
            views.with_cube(|cube, checkpoint| {
                // Every caller gets the publication rules: the API serves analysts' tables.
                cube.query(&q, &views.reference, &Disclosure::default()).map(|t| table(&t, checkpoint))
            })
        })
        .await
        .map_err(|e| Error::Server(format!("indicator query: {e}")))?;
        Ok(Response::new(answer.map_err(Error::Indicators)?))
    }

    async fn search_organisations(
        &self,
        request: Request<pb::SearchOrganisationsRequest>,
    ) -> Result<Response<pb::SearchOrganisationsReply>, Status> {
        let who = caller(&request)?;
        let r = request.into_inner();
        let invalid =
            |field: &str, rule: String| Error::Domain(imece_domain::Error::Invalid { field: field.into(), rule });
        let status = match r.status.as_deref() {
            None => None,
            Some(s) => Some(
                OrgStatus::ALL
                    .into_iter()
                    .find(|o| o.as_str() == s)
                    .ok_or_else(|| invalid("status", format!("unknown status {s:?}")))?,
            ),
        };
        if r.limit as usize > imece_directory::MAX_PAGE_SIZE {
            return Err(invalid("limit", format!("at most {}", imece_directory::MAX_PAGE_SIZE)).into());
        }
        let q = imece_directory::Query {
            name: r.name,
            external_id: r.external_id,
            city: r.city,
            sector: r.sector,
            legal_form: r.legal_form,
            status,
            country: r.country,
            // Union-only entries are for the node's writers; analysts see public ones.
            visibility: Some(if who.sees_personal_data() { Visibility::Union } else { Visibility::Public }),
            offset: r.offset as usize,
            limit: (r.limit > 0).then_some(r.limit as usize),
        };
        consistent(&*self.views.directory.control(), r.consistency.as_ref()).await?;
        let (page, at) = self.views.directory.read_at(|d, at| (d.search(&q), at));
        let json_ld = if r.json_ld {
            Some(
                serde_json::to_string_pretty(&imece_directory::to_json_ld(&page.entries))
                    .map_err(|e| Error::Server(format!("JSON-LD: {e}")))?,
            )
        } else {
            None
        };
        Ok(Response::new(pb::SearchOrganisationsReply {
            entries: page.entries.iter().map(entry).collect(),
            total: page.total as u64,
            next_offset: page.next_offset.map(|o| o as u32),
            json_ld,
            as_of_position: at,
        }))
    }
}

#[tonic::async_trait]
impl pb::projections_server::Projections for IndicatorsService {
    async fn list_projections(
        &self,
        request: Request<pb::ListProjectionsRequest>,
    ) -> Result<Response<pb::ListProjectionsReply>, Status> {
        caller(&request)?;
        let mut reply = pb::ListProjectionsReply::default();
        for control in self.views.controls() {
            let s = control.status().await.map_err(Error::from)?;
            reply.head = reply.head.max(s.head);
            reply.projections.push(status(&s));
        }
        Ok(Response::new(reply))
    }

    async fn rebuild_projection(
        &self,
        request: Request<pb::RebuildProjectionRequest>,
    ) -> Result<Response<pb::ProjectionStatus>, Status> {
        caller(&request)?.require_admin()?;
        let name = request.into_inner().name;
        let controls = self.views.controls();
        let Some(control) = controls.iter().find(|c| c.name() == name) else {
            let names: Vec<&str> = controls.iter().map(|c| c.name()).collect();
            return Err(Error::NotFound(format!("projection {name:?} (this node has {})", names.join(", "))).into());
        };
        control.rebuild().map_err(Error::from)?;
        Ok(Response::new(status(&control.status().await.map_err(Error::from)?)))
    }
}
