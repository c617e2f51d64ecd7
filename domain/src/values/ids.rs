//! Identifiers: newtypes over UUIDs, so an organisation's id cannot be passed where a membership's
//! is expected, and the id of a node.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Error, Result};

macro_rules! uuid_ids {
    ($($(#[$doc:meta])* $name:ident = $field:literal;)+) => {$(
        $(#[$doc])*
        ///
        /// Written as a hyphenated UUID. Ids are minted by the caller (the API layer, or the client
        /// for idempotent retries), never inside a decision, which stays deterministic.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh time-ordered id (UUIDv7).
            pub fn new_v7() -> Self {
                $name(Uuid::now_v7())
            }

            /// The id from a UUID.
            pub const fn from_uuid(id: Uuid) -> Self {
                $name(id)
            }

            /// The id as a UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// The id from its hyphenated or simple text form. Field
            #[doc = concat!("`", $field, "`")]
            /// on failure.
            pub fn parse(s: &str) -> Result<Self> {
                let id = Uuid::try_parse(s)
                    .map_err(|e| Error::invalid($field, format!("must be a UUID ({e})")))?;
                if id.is_nil() {
                    return Err(Error::invalid($field, "must not be the nil UUID"));
                }
                Ok($name(id))
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                $name(id)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                $name::parse(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }
    )+};
}

uuid_ids! {
    /// An organisation: a cooperative, mutual, association, foundation or social enterprise. Its
    /// stream is [`OrgId::stream_name`].
    OrgId = "organisation";
    /// A person (natural or legal) enrolled by one organisation. A person who belongs to two
    /// organisations has a ref in each, so the refs cannot link them across organisations.
    PersonRef = "person";
    /// One membership: a person's admission to an organisation, until they leave.
    MembershipId = "membership";
    /// A general assembly, from its convening to its resolutions.
    AssemblyId = "assembly";
    /// A commons agreement (collaboration pact) over a public asset.
    AgreementId = "agreement";
    /// A key of the keystore that sealed a person's data. Destroying it erases the data.
    KeyId = "key_id";
    /// The request a chain of events belongs to.
    CorrelationId = "correlation_id";
    /// The event (or command) that caused an event.
    CausationId = "causation_id";
}

/// The prefix of every organisation's stream name.
pub const ORG_STREAM_PREFIX: &str = "org-";

impl OrgId {
    /// The name of the organisation's stream: `org-<uuid>`. One stream per organisation is the
    /// consistency boundary: its members, assemblies and accounts are events of that stream.
    pub fn stream_name(&self) -> String {
        format!("{ORG_STREAM_PREFIX}{}", self.0.hyphenated())
    }

    /// The organisation whose stream is `stream`, if it is one.
    pub fn from_stream_name(stream: &str) -> Option<OrgId> {
        let id = Uuid::try_parse(stream.strip_prefix(ORG_STREAM_PREFIX)?).ok()?;
        (!id.is_nil()).then_some(OrgId(id))
    }
}

/// The name of a node of the federation: a city's or a union's installation (`tr-izmir`,
/// `it-reggio-emilia`). 1 to 63 lower-case letters, digits and hyphens, starting with a letter or
/// digit.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(String);

impl NodeId {
    /// A checked node name. Field `node` on failure.
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let n = NodeId(name.into());
        n.validate()?;
        Ok(n)
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// [`Error::Invalid`] on `node` unless the name has the shape above.
    pub fn validate(&self) -> Result<()> {
        let b = self.0.as_bytes();
        let ok = (1..=63).contains(&b.len())
            && b[0] != b'-'
            && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
        if ok {
            Ok(())
        } else {
            Err(Error::invalid(
                "node",
                format!(
                    "must be 1 to 63 lower-case letters, digits and hyphens, not starting with a hyphen; {:?} is not",
                    self.0
                ),
            ))
        }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.0)
    }
}
