//! The one error type of the domain.

use crate::values::Currency;

/// Everything the domain can refuse or fail at.
///
/// Every variant says what the caller should do about it. `field` is a path into the command or
/// value that was given (`surplus.items[2].amount`, `occurred_on`), `rule` a sentence saying what
/// it must be; the gRPC layer turns them into field violations as they are.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input contradicts itself or cannot describe anything that happened, whatever the
    /// registry already knows: an unknown currency, a malformed code, items that do not add up to
    /// their total, a date in the future, more people present than eligible.
    ///
    /// Handling: the caller's mistake; report `field` and `rule` back (gRPC `INVALID_ARGUMENT`
    /// with a `BadRequest` field violation) and do not retry unchanged.
    #[error("invalid {field}: {rule}")]
    Invalid { field: String, rule: String },

    /// The input is well formed, but the organisation's recorded history or a constitutive rule of
    /// law does not allow it: the organisation is dissolved, the member has already left, the date
    /// is before the founding, the membership is unknown, a cooperative in TR has fewer than seven
    /// founders.
    ///
    /// Handling: gRPC `FAILED_PRECONDITION` with a `PreconditionFailure` violation (subject
    /// `field`, description `rule`). Re-reading the organisation will not change the answer unless
    /// another command changed the history in the meantime; do not retry unchanged.
    #[error("refused {field}: {rule}")]
    Refused { field: String, rule: String },

    /// Two amounts in different currencies were combined. Money is never added across currencies.
    ///
    /// Handling: convert one of them explicitly at a dated reference rate first, or keep the sums
    /// apart. Commands report mixed currencies as [`Error::Invalid`] naming the field; this variant
    /// comes from direct use of [`crate::Money`] arithmetic.
    #[error("cannot combine amounts in {left} and {right}")]
    CurrencyMismatch { left: Currency, right: Currency },

    /// A sum or product left the range of the 96-bit decimal (about 7.9 × 10²⁸).
    ///
    /// Handling: the input is absurd; report it back as invalid.
    #[error("{what} overflows the decimal range")]
    Overflow { what: String },

    /// A stored event's type is not one this build knows: an unknown name, or a schema version newer
    /// than this build (written by a newer node).
    ///
    /// Handling: upgrade this node. A projection may skip the event and count it; an aggregate must
    /// not be rebuilt without it, so refuse commands on that stream until then.
    #[error("unknown event type {event_type}: {reason}")]
    UnknownEventType { event_type: String, reason: String },

    /// Stored bytes do not parse as the schema their type names, or a value could not be encoded.
    ///
    /// Handling: a bug or damaged data; stop and report it with the event's position. Never skip
    /// it silently.
    #[error("cannot {action} {what}: {reason}")]
    Codec { action: &'static str, what: String, reason: String },
}

impl Error {
    /// An [`Error::Invalid`] for `field` breaking `rule`.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Error::Invalid { field: field.into(), rule: rule.into() }
    }

    /// An [`Error::Refused`] for `field` breaking `rule`.
    pub fn refused(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Error::Refused { field: field.into(), rule: rule.into() }
    }

    /// The field the error is about, for [`Error::Invalid`] and [`Error::Refused`].
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } | Error::Refused { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The rule that was broken, for [`Error::Invalid`] and [`Error::Refused`].
    pub fn rule(&self) -> Option<&str> {
        match self {
            Error::Invalid { rule, .. } | Error::Refused { rule, .. } => Some(rule),
            _ => None,
        }
    }

    /// The same error with its field placed under `parent`: a value checked on its own reports
    /// `currency`; inside a command it becomes `surplus.currency`. Other variants become
    /// [`Error::Invalid`] on `parent`, since a command's field caused them.
    pub fn within(self, parent: impl AsRef<str>) -> Self {
        let parent = parent.as_ref();
        let join = |field: String| {
            if field.is_empty() {
                parent.to_owned()
            } else if field.starts_with('[') {
                format!("{parent}{field}")
            } else {
                format!("{parent}.{field}")
            }
        };
        match self {
            Error::Invalid { field, rule } => Error::Invalid { field: join(field), rule },
            Error::Refused { field, rule } => Error::Refused { field: join(field), rule },
            Error::CurrencyMismatch { left, right } => {
                Error::invalid(parent, format!("must not mix currencies ({left} and {right})"))
            }
            Error::Overflow { what } => Error::invalid(parent, format!("{what} overflows the decimal range")),
            other => other,
        }
    }
}

/// The domain's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
