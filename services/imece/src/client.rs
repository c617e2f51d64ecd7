//! `imece org register|admit|assembly|surplus`: the registry's everyday writes from the command
//! line, each a request with its own request id (printed, and accepted back with `--request-id`, so
//! that a retry after a lost answer is safe).

use anyhow::Context;
use clap::Args;
use imece_proto::v1 as pb;

/// What every write says besides its fact.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// The request's id (a UUID); a new one if absent. Give the same again to retry safely.
    #[arg(long)]
    pub request_id: Option<String>,
    /// The organisation's stream version this write was decided on; absent skips the check.
    #[arg(long)]
    pub expected_version: Option<u64>,
}

impl WriteArgs {
    /// The request id: the one given, or a new one, fixed for the rest of the command.
    fn base(&mut self) -> anyhow::Result<uuid::Uuid> {
        let id = match &self.request_id {
            Some(id) => id.parse().with_context(|| format!("--request-id {id:?} must be a UUID"))?,
            None => uuid::Uuid::now_v7(),
        };
        self.request_id = Some(id.to_string());
        Ok(id)
    }

    /// An id derived from the request id, so that running the same command again with the same
    /// `--request-id` sends the same requests: the second of a pair, a new person, a new assembly.
    fn derived(&mut self, what: &str) -> anyhow::Result<String> {
        Ok(uuid::Uuid::new_v5(&self.base()?, what.as_bytes()).to_string())
    }

    /// The header of the command's `part`-th request (0 carries the expected version).
    fn header(&mut self, organisation: &str, part: u8) -> anyhow::Result<pb::CommandHeader> {
        let request_id = if part == 0 { self.base()?.to_string() } else { self.derived(&format!("request {part}"))? };
        Ok(pb::CommandHeader {
            request_id,
            expected_version: if part == 0 { self.expected_version } else { None },
            organisation_id: organisation.to_owned(),
        })
    }
}

/// A proto enum value from a friendly name: `producer` for `COOPERATIVE_TYPE_PRODUCER`.
fn enum_value(prefix: &str, value: &str, parse: impl Fn(&str) -> Option<i32>) -> anyhow::Result<i32> {
    let name = format!("{prefix}_{}", value.to_uppercase().replace(['-', ' '], "_"));
    parse(&name).with_context(|| format!("{value:?} is not a known {}", prefix.to_lowercase().replace('_', " ")))
}

fn money(amount: &str, currency: &str) -> Option<pb::Money> {
    Some(pb::Money { amount: amount.to_owned(), currency: currency.to_owned() })
}

/// `imece org register`.
#[derive(Debug, Args)]
pub struct RegisterFact {
    /// The legal name, as in the register.
    #[arg(long)]
    pub name: String,
    /// ISO 3166-1 alpha-2 country of the seat.
    #[arg(long)]
    pub country: String,
    /// The seat's LAU code, GISCO form (`IT_035033`, `TR_35`), and its list's year.
    #[arg(long)]
    pub lau: String,
    #[arg(long, default_value = "2021")]
    pub lau_version: String,
    /// The seat's NUTS3 code (`ITH53`) and edition.
    #[arg(long)]
    pub nuts3: String,
    #[arg(long, default_value = "2021")]
    pub nuts_version: String,
    /// The primary NACE activity (`88.99`) and its version (`2` or `2.1`).
    #[arg(long)]
    pub nace: String,
    #[arg(long, default_value = "2")]
    pub nace_version: String,
    /// The national legal form, as the register names it.
    #[arg(long)]
    pub legal_form: String,
    /// producer, worker, consumer-user or multi-stakeholder.
    #[arg(long = "type")]
    pub cooperative_type: String,
    /// The founding date (YYYY-MM-DD).
    #[arg(long)]
    pub founded: String,
    /// The registration date (YYYY-MM-DD).
    #[arg(long)]
    pub registered: String,
    /// How many founded it.
    #[arg(long)]
    pub founders: u32,
    /// Subscribed capital at founding, and its currency.
    #[arg(long, requires = "currency")]
    pub capital: Option<String>,
    #[arg(long)]
    pub currency: Option<String>,
    /// The organisation's id (a UUID); a new one if absent.
    #[arg(long)]
    pub id: Option<String>,
}

impl RegisterFact {
    pub fn request(&self, write: &mut WriteArgs) -> anyhow::Result<pb::RegisterOrganisationRequest> {
        let id = self.id.clone().unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let code = |code: &str, version: &str| Some(pb::Code { code: code.to_owned(), version: version.to_owned() });
        Ok(pb::RegisterOrganisationRequest {
            header: Some(write.header(&id, 0)?),
            occurred_on: self.registered.clone(),
            founded_on: self.founded.clone(),
            names: Some(pb::Names { legal: self.name.clone(), by_language: Default::default() }),
            family: pb::Family::Cooperative as i32,
            legal_form: Some(pb::LegalForm { elf: None, national: self.legal_form.clone() }),
            cooperative_type: Some(enum_value("COOPERATIVE_TYPE", &self.cooperative_type, |n| {
                pb::CooperativeType::from_str_name(n).map(|v| v as i32)
            })?),
            business_model: None,
            external_ids: vec![],
            seat: Some(pb::Seat {
                country: self.country.clone(),
                lau: code(&self.lau, &self.lau_version),
                nuts3: code(&self.nuts3, &self.nuts_version),
                address: None,
            }),
            activity: Some(pb::Activity { primary: code(&self.nace, &self.nace_version), secondary: vec![] }),
            fiscal_year_end: Some(pb::FiscalYearEnd { month: 12, day: 31 }),
            founders: self.founders,
            subscribed_capital: match (&self.capital, &self.currency) {
                (Some(amount), Some(currency)) => money(amount, currency),
                _ => None,
            },
        })
    }
}

/// `imece org admit`: enrols a natural person and admits them as a member.
#[derive(Debug, Args)]
pub struct AdmitFact {
    /// The organisation's id.
    pub organisation: String,
    /// The person's full name (sealed by the node; never stored in clear).
    #[arg(long)]
    pub name: String,
    /// female, male, other or unknown.
    #[arg(long)]
    pub sex: String,
    #[arg(long)]
    pub birth_year: Option<u32>,
    #[arg(long)]
    pub email: Option<String>,
    /// user, worker, producer, volunteer, investor or other.
    #[arg(long)]
    pub category: String,
    /// The board's decision date (YYYY-MM-DD).
    #[arg(long)]
    pub on: String,
    #[arg(long, default_value_t = 1)]
    pub shares: u32,
    /// Subscribed capital and its currency.
    #[arg(long)]
    pub capital: String,
    #[arg(long)]
    pub currency: String,
}

impl AdmitFact {
    pub fn requests(&self, write: &mut WriteArgs) -> anyhow::Result<(pb::EnrolPersonRequest, pb::AdmitMemberRequest)> {
        let person = write.derived("person")?;
        let enrol = pb::EnrolPersonRequest {
            header: Some(write.header(&self.organisation, 0)?),
            occurred_on: self.on.clone(),
            person: person.clone(),
            person_kind: Some(pb::PersonKind {
                kind: Some(pb::person_kind::Kind::Natural(pb::person_kind::Natural {
                    sex: enum_value("SEX", &self.sex, |n| pb::Sex::from_str_name(n).map(|v| v as i32))?,
                    birth_year: self.birth_year,
                    personal_data: Some(pb::PersonalData {
                        full_name: self.name.clone(),
                        email: self.email.clone().unwrap_or_default(),
                        ..Default::default()
                    }),
                })),
            }),
        };
        let admit = pb::AdmitMemberRequest {
            header: Some(write.header(&self.organisation, 1)?),
            occurred_on: self.on.clone(),
            membership: write.derived("membership")?,
            person,
            category: enum_value("MEMBER_CATEGORY", &self.category, |n| {
                pb::MemberCategory::from_str_name(n).map(|v| v as i32)
            })?,
            shares: self.shares,
            subscribed_capital: money(&self.capital, &self.currency),
        };
        Ok((enrol, admit))
    }
}

/// `imece org assembly`: records that an ordinary assembly was called and held.
#[derive(Debug, Args)]
pub struct AssemblyFact {
    /// The organisation's id.
    pub organisation: String,
    /// The day it was held (YYYY-MM-DD).
    #[arg(long)]
    pub on: String,
    /// The day it was called (YYYY-MM-DD).
    #[arg(long)]
    pub called_on: String,
    /// The fiscal year whose accounts it approved.
    #[arg(long)]
    pub fiscal_year: Option<i32>,
    #[arg(long)]
    pub eligible: u32,
    #[arg(long)]
    pub present: u32,
    #[arg(long, default_value_t = 0)]
    pub proxies: u32,
    #[arg(long)]
    pub women: Option<u32>,
    #[arg(long)]
    pub under_30: Option<u32>,
    #[arg(long)]
    pub max_proxies_per_holder: Option<u32>,
}

impl AssemblyFact {
    pub fn requests(
        &self,
        write: &mut WriteArgs,
    ) -> anyhow::Result<(pb::ConveneAssemblyRequest, pb::RecordAssemblyRequest)> {
        let assembly = write.derived("assembly")?;
        let convene = pb::ConveneAssemblyRequest {
            header: Some(write.header(&self.organisation, 0)?),
            occurred_on: self.called_on.clone(),
            assembly: assembly.clone(),
            kind: pb::AssemblyKind::Ordinary as i32,
            fiscal_year: self.fiscal_year,
            first_call: self.on.clone(),
            second_call: None,
            agenda: vec![pb::Topic::Accounts as i32, pb::Topic::SurplusAllocation as i32],
        };
        let held = pb::RecordAssemblyRequest {
            header: Some(write.header(&self.organisation, 1)?),
            occurred_on: self.on.clone(),
            assembly,
            eligible: self.eligible,
            present: self.present,
            present_online: None,
            proxies: self.proxies,
            present_women: self.women,
            present_under_30: self.under_30,
            max_proxies_per_holder: self.max_proxies_per_holder,
            quorum_met: true,
        };
        Ok((convene, held))
    }
}

/// `imece org surplus`: records how a year's surplus was shared.
#[derive(Debug, Args)]
pub struct SurplusFact {
    /// The organisation's id.
    pub organisation: String,
    /// The day the assembly decided it (YYYY-MM-DD).
    #[arg(long)]
    pub on: String,
    #[arg(long)]
    pub fiscal_year: i32,
    /// The distributable surplus.
    #[arg(long)]
    pub surplus: String,
    #[arg(long)]
    pub currency: String,
    /// A share of it: `legal_reserve=3000`, `mutual_fund=300`, `indivisible_reserve=…`,
    /// `patronage_refund=…`; repeat for each. They must add up to the surplus.
    #[arg(long = "item", required = true)]
    pub items: Vec<String>,
}

impl SurplusFact {
    pub fn request(&self, write: &mut WriteArgs) -> anyhow::Result<pb::AllocateSurplusRequest> {
        let items = self
            .items
            .iter()
            .map(|item| {
                let (kind, amount) =
                    item.split_once('=').with_context(|| format!("--item {item:?} must be kind=amount"))?;
                Ok(pb::SurplusItem {
                    kind: enum_value("SURPLUS_KIND", kind, |n| pb::SurplusKind::from_str_name(n).map(|v| v as i32))?,
                    amount: money(amount, &self.currency),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(pb::AllocateSurplusRequest {
            header: Some(write.header(&self.organisation, 0)?),
            occurred_on: self.on.clone(),
            fiscal_year: self.fiscal_year,
            assembly: None,
            surplus: money(&self.surplus, &self.currency),
            items,
            capital_interest: None,
            beneficiaries: None,
        })
    }
}

/// A write's answer, for a person or (with `--json`) a script.
pub fn print_reply(what: &str, organisation: &str, request_id: &str, reply: &pb::WriteReply, json: bool) {
    if json {
        let findings: Vec<serde_json::Value> = reply
            .findings
            .iter()
            .map(|f| serde_json::json!({"rule": f.rule, "legal_reference": f.legal_reference, "field": f.field, "requirement": f.requirement, "found": f.found}))
            .collect();
        let value = serde_json::json!({
            "organisation_id": organisation,
            "request_id": request_id,
            "stream_version": reply.stream_version,
            "first_position": reply.first_position,
            "last_position": reply.last_position,
            "findings": findings,
        });
        println!("{value}");
        return;
    }
    println!(
        "{what}: organisation {organisation}, now at version {} (log positions {}–{}), request {request_id}",
        reply.stream_version, reply.first_position, reply.last_position
    );
    for f in &reply.findings {
        println!(
            "  recorded with a finding: {} ({}): {} requires {}, found {}",
            f.rule, f.legal_reference, f.field, f.requirement, f.found
        );
    }
}
