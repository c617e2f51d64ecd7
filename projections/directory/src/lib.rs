//! The directory: every organisation of the registry as it stands now, for search and for
//! open-data portals.
//!
//! [`Directory`] is a [`Projection`] of the organisations' life-cycle events (registration,
//! renames, relocations, reclassifications, status changes, dissolution, liquidation, mergers,
//! legal-form conversions, affiliations). Person-level events are skipped by their type without
//! being decoded: the directory holds no personal data, and not the seat's street address either
//! (for a small organisation it may be someone's home). [`Directory::search`] filters and pages
//! it; [`to_json_ld`] exports entries with schema.org and ESSGlobal terms.
//!
//! ```
//! use imece_directory::{Directory, Query};
//! use imece_projections::Projection;
//!
//! let directory = Directory::empty();
//! let page = directory.search(&Query { name: Some("izmir".into()), ..Query::default() });
//! assert_eq!(page.total, 0);
//! ```

mod jsonld;
mod search;

use std::collections::{BTreeMap, HashMap};

use imece_domain::{
    AffiliationChange, Code, CooperativeType, CountryCode, Date, DissolutionKind, Event, ExternalId, Family, LegalForm,
    OrgId, Seat, Status, Visibility,
};
use imece_log::RecordedEvent;
use imece_projections::Projection;
use serde::{Deserialize, Serialize};

pub use jsonld::{ESSGLOBAL, SCHEMA, to_json_ld};
pub use search::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, Query, fold};

/// What can go wrong folding events into the directory or reading its snapshot.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A life-cycle event did not decode: a payload this build cannot read, or metadata missing.
    ///
    /// Handling: the projection stops at this event (it is never skipped); run a build that reads
    /// it, or repair the log.
    #[error("event {event_type} at position {position}: {source}")]
    Decode {
        position: u64,
        event_type: String,
        #[source]
        source: imece_domain::Error,
    },

    /// The snapshot did not encode or decode as JSON.
    ///
    /// Handling: none; the engine rebuilds the directory from the log when a snapshot does not
    /// decode. On encode, a bug: report it.
    #[error("directory snapshot: {0}")]
    Snapshot(#[from] serde_json::Error),
}

/// Where an organisation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgStatus {
    Active,
    Inactive,
    Suspended,
    /// Under an administrator appointed by the authority.
    UnderAdministration,
    /// Dissolved, in liquidation.
    InLiquidation,
    /// Liquidated and closed.
    Liquidated,
    /// Absorbed by a merger: closed, its business goes on in [`Entry::merged_into`].
    MergedAway,
}

impl OrgStatus {
    /// Every status.
    pub const ALL: [OrgStatus; 7] = [
        OrgStatus::Active,
        OrgStatus::Inactive,
        OrgStatus::Suspended,
        OrgStatus::UnderAdministration,
        OrgStatus::InLiquidation,
        OrgStatus::Liquidated,
        OrgStatus::MergedAway,
    ];

    /// The status as its snake_case name (`in_liquidation`).
    pub fn as_str(self) -> &'static str {
        match self {
            OrgStatus::Active => "active",
            OrgStatus::Inactive => "inactive",
            OrgStatus::Suspended => "suspended",
            OrgStatus::UnderAdministration => "under_administration",
            OrgStatus::InLiquidation => "in_liquidation",
            OrgStatus::Liquidated => "liquidated",
            OrgStatus::MergedAway => "merged_away",
        }
    }

    /// Whether the organisation is closed for good (liquidated or merged away).
    pub fn is_closed(self) -> bool {
        matches!(self, OrgStatus::Liquidated | OrgStatus::MergedAway)
    }
}

/// The seat as statistics need it: country, municipality and region, each code with its edition.
/// No street address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatCodes {
    pub country: CountryCode,
    /// The municipality, as GISCO's LAU id (`IT_035033`) with the year of the list.
    pub lau: Code,
    pub nuts3: Code,
}

impl From<&Seat> for SeatCodes {
    fn from(seat: &Seat) -> Self {
        SeatCodes { country: seat.country, lau: seat.lau.clone(), nuts3: seat.nuts3.clone() }
    }
}

/// A federation the organisation belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affiliation {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<OrgId>,
    pub since: Date,
}

/// One organisation of the directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: OrgId,
    /// The name as it stands in the register.
    pub legal_name: String,
    /// Names by BCP 47 language tag.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub other_names: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_ids: Vec<ExternalId>,
    pub status: OrgStatus,
    pub family: Family,
    pub legal_form: LegalForm,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooperative_type: Option<CooperativeType>,
    /// The ESSGlobal business-model type, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_model: Option<Code>,
    pub seat: SeatCodes,
    /// The primary NACE activity, with its version.
    pub activity: Code,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secondary_activities: Vec<Code>,
    /// When the organisation got its legal personality.
    pub registered_on: Date,
    /// The date of the deed of incorporation.
    pub founded_on: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dissolved_on: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dissolution_kind: Option<DissolutionKind>,
    /// When it closed: liquidated or merged away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_on: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<OrgId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affiliations: Vec<Affiliation>,
    /// The most restricted visibility among the events folded into the entry: an entry built
    /// from anything but public events is left out of searches unless asked for.
    pub visibility: Visibility,
    /// The log position of the last event that changed the entry.
    pub updated_at: u64,
}

/// The event types the directory folds, by name without version. Every other type (members,
/// governance, economics, compliance) is skipped without being decoded.
const FOLDED: &[&str] = &[
    "OrganisationRegistered",
    "OrganisationRenamed",
    "SeatRelocated",
    "ActivityReclassified",
    "StatusChanged",
    "DissolutionResolved",
    "LiquidationClosed",
    "MergerCompleted",
    "LegalFormConverted",
    "AffiliationChanged",
];

/// The directory of organisations: a [`Projection`] of their life-cycle events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Directory {
    entries: BTreeMap<OrgId, Entry>,
    /// Folded names per organisation, for search; derived, rebuilt on decode.
    keys: HashMap<OrgId, Vec<String>>,
}

/// The snapshot: the entries only; the search keys are derived again on decode.
#[derive(Deserialize)]
struct Stored {
    entries: Vec<Entry>,
}

#[derive(Serialize)]
struct StoredRef<'a> {
    entries: Vec<&'a Entry>,
}

impl Directory {
    /// The entry of organisation `id`.
    pub fn get(&self, id: &OrgId) -> Option<&Entry> {
        self.entries.get(id)
    }

    /// How many organisations the directory holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the directory holds no organisation.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry, by id.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    fn index(&mut self, id: OrgId) {
        if let Some(e) = self.entries.get(&id) {
            let keys = std::iter::once(&e.legal_name).chain(e.other_names.values()).map(|n| fold(n)).collect();
            self.keys.insert(id, keys);
        }
    }

    fn fold_event(&mut self, id: OrgId, event: Event, visibility: Visibility, position: u64) {
        if let Event::OrganisationRegistered(r) = event {
            let entry = Entry {
                id,
                legal_name: r.names.legal,
                other_names: r
                    .names
                    .by_language
                    .into_iter()
                    .map(|(tag, name)| (tag.as_str().to_owned(), name))
                    .collect(),
                external_ids: r.external_ids,
                status: OrgStatus::Active,
                family: r.family,
                legal_form: r.legal_form,
                cooperative_type: r.cooperative_type,
                business_model: r.business_model,
                seat: SeatCodes::from(&r.seat),
                activity: r.activity.primary,
                secondary_activities: r.activity.secondary,
                registered_on: r.occurred_on,
                founded_on: r.founded_on,
                dissolved_on: None,
                dissolution_kind: None,
                closed_on: None,
                merged_into: None,
                affiliations: Vec::new(),
                visibility,
                updated_at: position,
            };
            self.entries.insert(id, entry);
            self.index(id);
            return;
        }
        // The aggregate refuses every other fact before registration; nothing to update then.
        let Some(entry) = self.entries.get_mut(&id) else { return };
        entry.visibility = entry.visibility.max(visibility);
        entry.updated_at = position;
        let mut renamed = false;
        match event {
            Event::OrganisationRenamed(e) => {
                entry.legal_name = e.names.legal;
                entry.other_names =
                    e.names.by_language.into_iter().map(|(tag, name)| (tag.as_str().to_owned(), name)).collect();
                renamed = true;
            }
            Event::SeatRelocated(e) => entry.seat = SeatCodes::from(&e.seat),
            Event::ActivityReclassified(e) => {
                entry.activity = e.activity.primary;
                entry.secondary_activities = e.activity.secondary;
            }
            Event::StatusChanged(e) => {
                // Back to active from liquidation revokes the dissolution (c.c. 2487-ter).
                if entry.status == OrgStatus::InLiquidation {
                    entry.dissolved_on = None;
                    entry.dissolution_kind = None;
                }
                entry.status = match e.status {
                    Status::Active => OrgStatus::Active,
                    Status::Inactive => OrgStatus::Inactive,
                    Status::Suspended => OrgStatus::Suspended,
                    Status::UnderAdministration => OrgStatus::UnderAdministration,
                };
            }
            Event::DissolutionResolved(e) => {
                entry.status = OrgStatus::InLiquidation;
                entry.dissolved_on = Some(e.occurred_on);
                entry.dissolution_kind = Some(e.kind);
            }
            Event::LiquidationClosed(e) => {
                entry.status = OrgStatus::Liquidated;
                entry.closed_on = Some(e.occurred_on);
            }
            // Recorded in every party's stream; only an absorbed one closes.
            Event::MergerCompleted(e) if e.absorbed.contains(&id) => {
                entry.status = OrgStatus::MergedAway;
                entry.closed_on = Some(e.occurred_on);
                entry.merged_into = Some(e.absorbing);
            }
            Event::LegalFormConverted(e) => {
                entry.legal_form = e.to;
                entry.family = e.family;
            }
            Event::AffiliationChanged(e) => {
                // One affiliation per federation, whatever the case, accents or spaces of its name.
                let key = fold(e.federation.name.trim());
                entry.affiliations.retain(|a| fold(&a.name) != key);
                if e.change == AffiliationChange::Joined {
                    entry.affiliations.push(Affiliation {
                        name: e.federation.name.trim().to_owned(),
                        organisation: e.federation.organisation,
                        since: e.occurred_on,
                    });
                    entry.affiliations.sort_by_key(|a| fold(&a.name));
                }
            }
            _ => {}
        }
        if renamed {
            self.index(id);
        }
    }
}

impl Projection for Directory {
    type Error = Error;
    const NAME: &'static str = "directory";
    const VERSION: u32 = 1;

    fn empty() -> Self {
        Directory::default()
    }

    fn apply(&mut self, event: &RecordedEvent) -> Result<(), Error> {
        // Cheap checks first: organisation streams only, folded types only, before any decoding.
        let Some(id) = OrgId::from_stream_name(event.stream.as_str()) else { return Ok(()) };
        let name = event.event_type.rsplit_once(".v").map_or(event.event_type.as_str(), |(name, _)| name);
        if !FOLDED.contains(&name) {
            return Ok(());
        }
        let decode = |source| Error::Decode { position: event.position, event_type: event.event_type.clone(), source };
        let envelope =
            imece_domain::Envelope::decode(&event.event_type, &event.data, &event.metadata).map_err(decode)?;
        self.fold_event(id, envelope.event, envelope.metadata.visibility, event.position);
        Ok(())
    }

    fn encode(&self) -> Result<Vec<u8>, Error> {
        Ok(serde_json::to_vec(&StoredRef { entries: self.entries.values().collect() })?)
    }

    fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let stored: Stored = serde_json::from_slice(bytes)?;
        let mut directory = Directory::default();
        for entry in stored.entries {
            let id = entry.id;
            directory.entries.insert(id, entry);
            directory.index(id);
        }
        Ok(directory)
    }
}
