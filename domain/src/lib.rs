//! The registry's domain: what imece records about cooperatives and the social economy, and the
//! rules it records it by. Pure: no I/O, no clock, no async; the API, the keystore and the log are
//! built around it.
//!
//! - [`values`]: money (a decimal with its ISO 4217 currency, never a float), basis points,
//!   countries, classification codes with their version, external ids, ids, sealed personal data.
//! - [`events`]: the catalogue of facts, each with its legal date, type name and schema version,
//!   encoded as JSON and decoded with upcasting; the [`Metadata`] that goes with each.
//! - [`organisation`]: the aggregate, one per stream, its [`Command`]s, and [`decide`].
//! - [`rules`]: dated, per-jurisdiction rule tables.
//!
//! ```
//! use imece_domain::time::macros::date;
//! use imece_domain::*;
//!
//! // A worker cooperative in İzmir, registered on 1 March 2021.
//! let org = OrgId::new_v7();
//! let registered = OrganisationRegistered {
//!     organisation: org,
//!     occurred_on: date!(2021 - 03 - 01),
//!     founded_on: date!(2021 - 02 - 15),
//!     names: Names::legal("Tire Süt Kooperatifi"),
//!     family: Family::Cooperative,
//!     legal_form: LegalForm { elf: None, national: "kooperatif".into() },
//!     cooperative_type: Some(CooperativeType::Producer),
//!     business_model: None,
//!     external_ids: vec![],
//!     seat: Seat {
//!         country: CountryCode::TR,
//!         lau: Code::lau("TR_35", "2021")?,
//!         nuts3: Code::nuts("TR310", "2021")?,
//!         address: None,
//!     },
//!     activity: Activity { primary: Code::nace("01.41", "2")?, secondary: vec![] },
//!     fiscal_year_end: FiscalYearEnd::DECEMBER_31,
//!     founders: 9,
//!     subscribed_capital: Some(Money::parse("90000", Currency::TRY)?),
//! };
//! let rules = RuleBook::standard();
//! let ctx = Context::new(date!(2026 - 06 - 30), &rules); // today, as the caller's clock says
//!
//! // Decide, then apply what was decided: the state is a fold over the stream.
//! let mut state = Organisation::default();
//! for event in decide(&state, Command::Register(registered), &ctx)? {
//!     state.apply(&event);
//! }
//!
//! // The assembly shares the 2025 surplus with 5 % to the legal reserve: Law 1163 art. 39 asks
//! // for at least 10 %. A real decision is recorded, with a finding naming the rule.
//! let try_ = |s: &str| Money::parse(s, Currency::TRY);
//! let allocation = SurplusAllocated {
//!     occurred_on: date!(2026 - 04 - 20),
//!     fiscal_year: 2025,
//!     assembly: None,
//!     surplus: try_("200000")?,
//!     items: vec![
//!         SurplusItem { kind: SurplusKind::LegalReserve, amount: try_("10000")? },
//!         SurplusItem { kind: SurplusKind::PatronageRefund, amount: try_("190000")? },
//!     ],
//!     capital_interest: None,
//!     beneficiaries: Some(120),
//! };
//! let events = state.decide(Command::AllocateSurplus(allocation), &ctx)?;
//! let Event::ComplianceFindingRecorded(finding) = &events[1] else { unreachable!() };
//! assert_eq!((finding.rule.as_str(), finding.legal_reference.as_str()), ("TR.legal-reserve", "Law 1163 art. 39"));
//!
//! // Encoded for the log: type `Name.vN` and JSON; decoded back, upcast if it was older.
//! let encoded = events[0].encode()?;
//! assert_eq!(encoded.event_type, "SurplusAllocated.v2");
//! assert_eq!(Event::decode(&encoded.event_type, &encoded.data)?, events[0]);
//! assert_eq!(org.stream_name(), format!("org-{org}"));
//! # Ok::<(), imece_domain::Error>(())
//! ```

mod error;
pub mod events;
pub mod organisation;
pub mod rules;
pub mod testing;
pub mod values;

pub use error::{Error, Result};
pub use events::*;
pub use organisation::{Command, Context, Organisation, Phase, decide};
pub use rules::{Enforcement, Requirement, Rule, RuleBook, RuleTopic};
pub use values::*;

/// The date crate the domain's dates come from, for its `date!` macro and calendar arithmetic.
pub use time;
