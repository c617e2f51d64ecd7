//! The event catalogue: every fact the registry records, its schema version, and its encoding.
//!
//! A payload is JSON; its type in the log is `Name.vN` (`OrganisationRegistered.v1`). Encoding
//! always writes the current version. Decoding reads the current version and every older one,
//! upcasting it to the current type (ADR 0003). The visibility of each type says how far its
//! events may travel: Public leaves the node, Union goes to the union's nodes only, HomeOnly
//! (person-level) never leaves the node.

mod compliance;
mod economics;
mod governance;
mod legacy;
mod members;
mod metadata;
mod organisation;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use compliance::{ComplianceFindingRecorded, Subject};
pub use economics::{
    AnnualAccountsApproved, AuditCompleted, AuditKind, AuditOutcome, CapitalInterestRate, Figures, SanctionImposed,
    SanctionKind, SurplusAllocated, SurplusItem, SurplusKind, Workforce,
};
pub use governance::{
    AssemblyKind, GeneralAssemblyConvened, GeneralAssemblyHeld, Organ, OrganElected, OrganMemberChanged, Outcome,
    ResolutionVoted, SeatChange, Topic,
};
pub use legacy::{RETIRED, v1};
pub use members::{
    ByAge, BySex, CapitalPaidIn, Cell, ExitReason, MemberAdmitted, MemberCategory, MemberDataErased, MemberLeft,
    MembershipSnapshotDeclared, PersonEnrolled, PersonKind, SharesTransferred, SnapshotSource,
};
pub use metadata::{Actor, ActorKind, EncodedEnvelope, Envelope, Metadata, Origin};
pub use organisation::{
    Activity, ActivityReclassified, AffiliationChange, AffiliationChanged, AgreementEnd, AlboSection,
    CommonsAgreementEnded, CommonsAgreementSigned, CommonsAsset, CooperativeType, Devolution, DissolutionKind,
    DissolutionResolved, Family, Federation, LegalForm, LegalFormConverted, LiquidationClosed, MergerCompleted,
    MergerKind, OrganisationRegistered, OrganisationRenamed, Party, PartyKind, Recipient, Register,
    RegisterEntryRecorded, Seat, SeatRelocated, Status, StatusChanged, StatuteAmended, VotingRule,
};

use crate::values::Date;
use crate::{Error, Result};

/// How far an event may travel. Ordered from least to most restricted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// May leave the node: replicated to every partner.
    Public,
    /// Replicated to the nodes of the organisation's own union only.
    Union,
    /// Never leaves the node: person-level data.
    HomeOnly,
}

/// The part of the catalogue an event belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    Lifecycle,
    Members,
    Governance,
    Economics,
    Compliance,
}

/// One type of the catalogue: its name, current schema version, visibility and group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventType {
    pub name: &'static str,
    pub version: u32,
    pub visibility: Visibility,
    pub group: Group,
}

impl EventType {
    /// The type as the log stores it: `Name.vN`.
    pub fn tag(&self) -> String {
        format!("{}.v{}", self.name, self.version)
    }
}

macro_rules! catalogue {
    ($($group:ident { $($variant:ident = $version:literal, $visibility:ident;)+ })+) => {
        /// A fact the registry records about an organisation. Every variant carries its legal date,
        /// `occurred_on`, distinct from the time the log recorded it.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Event {
            $($(
                #[doc = concat!("See [`", stringify!($variant), "`].")]
                $variant($variant),
            )+)+
        }

        /// Every event type, with its current schema version, in catalogue order.
        pub const CATALOGUE: &[EventType] = &[
            $($(EventType {
                name: stringify!($variant),
                version: $version,
                visibility: Visibility::$visibility,
                group: Group::$group,
            },)+)+
        ];

        impl Event {
            /// The entry of the catalogue for this event's type.
            pub fn event_type(&self) -> &'static EventType {
                let mut i = 0usize;
                $($(
                    if let Event::$variant(_) = self {
                        return &CATALOGUE[i];
                    }
                    i += 1;
                )+)+
                unreachable!("every variant has an entry, index {i}")
            }

            /// The legal date of the fact.
            pub fn occurred_on(&self) -> Date {
                match self {
                    $($(Event::$variant(e) => e.occurred_on,)+)+
                }
            }

            fn encode_payload(&self) -> serde_json::Result<Vec<u8>> {
                match self {
                    $($(Event::$variant(e) => serde_json::to_vec(e),)+)+
                }
            }

            /// The payload of the current version of `name`, or `None` if there is no such type.
            fn decode_current(name: &str, data: &[u8]) -> Option<serde_json::Result<Event>> {
                match name {
                    $($(stringify!($variant) => Some(serde_json::from_slice(data).map(Event::$variant)),)+)+
                    _ => None,
                }
            }
        }

        $($(
            impl From<$variant> for Event {
                fn from(e: $variant) -> Event {
                    Event::$variant(e)
                }
            }
        )+)+
    };
}

catalogue! {
    Lifecycle {
        OrganisationRegistered = 1, Public;
        RegisterEntryRecorded = 1, Public;
        StatuteAmended = 1, Public;
        OrganisationRenamed = 1, Public;
        SeatRelocated = 1, Public;
        ActivityReclassified = 1, Public;
        StatusChanged = 1, Public;
        DissolutionResolved = 1, Public;
        LiquidationClosed = 1, Public;
        MergerCompleted = 1, Public;
        LegalFormConverted = 1, Public;
        AffiliationChanged = 1, Public;
        CommonsAgreementSigned = 1, Public;
        CommonsAgreementEnded = 1, Public;
    }
    Members {
        PersonEnrolled = 1, HomeOnly;
        MemberAdmitted = 1, HomeOnly;
        CapitalPaidIn = 1, HomeOnly;
        SharesTransferred = 1, HomeOnly;
        MemberLeft = 1, HomeOnly;
        MemberDataErased = 1, HomeOnly;
        MembershipSnapshotDeclared = 1, Public;
    }
    Governance {
        GeneralAssemblyConvened = 1, Public;
        GeneralAssemblyHeld = 2, Public;
        ResolutionVoted = 1, Public;
        OrganElected = 1, Public;
        OrganMemberChanged = 1, HomeOnly;
    }
    Economics {
        AnnualAccountsApproved = 1, Public;
        SurplusAllocated = 2, Public;
        AuditCompleted = 1, Public;
        SanctionImposed = 1, Public;
    }
    Compliance {
        ComplianceFindingRecorded = 1, Public;
    }
}

/// An event as bytes for the log: its type (`Name.vN`) and its JSON payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedEvent {
    pub event_type: String,
    pub data: Vec<u8>,
}

impl Event {
    /// The type's name without version, e.g. `OrganisationRegistered`.
    pub fn name(&self) -> &'static str {
        self.event_type().name
    }

    /// The schema version this build writes.
    pub fn schema_version(&self) -> u32 {
        self.event_type().version
    }

    /// How far the event may travel at the least restrictive.
    pub fn visibility(&self) -> Visibility {
        self.event_type().visibility
    }

    /// The type and payload for the log, at the current schema version.
    pub fn encode(&self) -> Result<EncodedEvent> {
        let event_type = self.event_type().tag();
        let data = self.encode_payload().map_err(|e| Error::Codec {
            action: "encode",
            what: event_type.clone(),
            reason: e.to_string(),
        })?;
        Ok(EncodedEvent { event_type, data })
    }

    /// The event stored as `event_type` with payload `data`, upcast to the current schema if it
    /// was written at an older one.
    ///
    /// [`Error::UnknownEventType`] for a name this build does not know or a version newer than it
    /// writes; [`Error::Codec`] if the payload does not parse as its version's schema.
    pub fn decode(event_type: &str, data: &[u8]) -> Result<Event> {
        let (name, version) = parse_event_type(event_type)?;
        let Some(current) = CATALOGUE.iter().find(|t| t.name == name) else {
            return Err(unknown(event_type, "no event of that name in the catalogue".into()));
        };
        let decoded = if version == current.version {
            Event::decode_current(name, data)
        } else if version > current.version {
            return Err(unknown(
                event_type,
                format!("written by a newer schema; this build reads {name} up to v{}", current.version),
            ));
        } else {
            legacy::decode(name, version, data)
        };
        match decoded {
            Some(Ok(event)) => Ok(event),
            Some(Err(e)) => Err(Error::Codec { action: "decode", what: event_type.to_owned(), reason: e.to_string() }),
            None => Err(unknown(event_type, format!("{name} never had a schema v{version}"))),
        }
    }
}

fn unknown(event_type: &str, reason: String) -> Error {
    Error::UnknownEventType { event_type: event_type.to_owned(), reason }
}

/// Splits `Name.vN` into the name and N.
pub fn parse_event_type(event_type: &str) -> Result<(&str, u32)> {
    let parsed = event_type.rsplit_once(".v").and_then(|(name, v)| {
        // Digits only, no leading zero: one spelling per version.
        let canonical = !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && !v.starts_with('0');
        let version: u32 = v.parse().ok().filter(|_| canonical)?;
        Some((name, version))
    });
    match parsed {
        Some((name, version)) if !name.is_empty() => Ok((name, version)),
        _ => Err(unknown(event_type, "must be Name.vN with N a version from 1".into())),
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.name(), self.occurred_on())
    }
}
