//! The node's one error type, and the one place it becomes a gRPC status.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Everything that can go wrong in the node.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// From the event log.
    ///
    /// Handling: see [`imece_log::Error`]; the gRPC mapping is below.
    #[error(transparent)]
    Log(#[from] imece_log::Error),

    /// The configuration is unusable; the message names the setting.
    ///
    /// Handling: fix the configuration file, environment or flag.
    #[error("configuration: {0}")]
    Config(String),

    /// The domain refused or could not check a command.
    ///
    /// Handling: `Invalid` is the caller's input (`INVALID_ARGUMENT` with the field), `Refused`
    /// contradicts the organisation's history (`FAILED_PRECONDITION` with the field).
    #[error(transparent)]
    Domain(#[from] imece_domain::Error),

    /// No such organisation (or person) on this node.
    ///
    /// Handling: check the id; `NOT_FOUND`.
    #[error("no such {0}")]
    NotFound(String),

    /// The caller's role or scope does not allow this.
    ///
    /// Handling: use a token with the right role or scope; `PERMISSION_DENIED`.
    #[error("permission denied: {0}")]
    PermissionDenied(String),

    /// Stored data does not decode: written by a newer build, or damaged.
    ///
    /// Handling: an operator's matter (`INTERNAL`); never the caller's mistake.
    #[error("stored data: {0}")]
    Stored(String),

    /// The keystore failed (I/O, a damaged key file, sealed data that fails authentication).
    ///
    /// Handling: operational; the node's key directory needs attention.
    #[error("keystore: {0}")]
    Keystore(String),

    /// The person's personal data was erased: nothing can be sealed for them again.
    ///
    /// Handling: the caller's request concerns an erased person; enrol a new person instead.
    #[error("person {0} was erased")]
    Erased(String),

    /// A projection could not answer: a read-your-writes wait timed out, or it stopped.
    ///
    /// Handling: `Timeout` is `DEADLINE_EXCEEDED` (retry later, or with a longer wait); a stopped
    /// or failed projection is `UNAVAILABLE` until an operator rebuilds it.
    #[error(transparent)]
    Projection(#[from] imece_projections::Error),

    /// An indicator query could not be answered.
    ///
    /// Handling: `InvalidQuery` is the caller's (`INVALID_ARGUMENT` with the field); a missing
    /// exchange rate is `FAILED_PRECONDITION` (load the rate, or ask for nominal figures).
    #[error(transparent)]
    Indicators(#[from] imece_indicators::Error),

    /// The organisation belongs to another node of the federation: this node holds a replica of
    /// it and writes nothing to it.
    ///
    /// Handling: send the command to the owner's node; `FAILED_PRECONDITION`, naming the owner.
    #[error("organisation {org} is owned by node {owner}; this node holds a replica: write to it at {owner}")]
    NotOwner { org: String, owner: String },

    /// Federation on this node: its key file, its heads file, its own chain.
    ///
    /// Handling: operational (see [`imece_federation::Error`]); `INTERNAL`.
    #[error("federation: {0}")]
    Federation(#[from] imece_federation::Error),

    /// The server could not start or stopped with an error.
    ///
    /// Handling: operational (address in use, certificate unreadable); fix and restart.
    #[error("server: {0}")]
    Server(String),
}

/// The gRPC code clients see for a version conflict; the message and the `ErrorInfo`-style
/// fields carry the expected and actual versions.
pub const CONFLICT: Code = Code::Aborted;

impl From<Error> for Status {
    fn from(error: Error) -> Status {
        use imece_log::Error as L;
        let message = error.to_string();
        match error {
            Error::Log(L::InvalidInput { field, rule }) => Status::with_error_details(
                Code::InvalidArgument,
                message,
                ErrorDetails::with_bad_request_violation(field, rule),
            ),
            Error::Log(L::WrongExpectedVersion { stream, expected, actual }) => {
                let mut status = Status::new(CONFLICT, message);
                let actual = actual.map_or_else(|| "none".to_owned(), |a| a.to_string());
                for (key, value) in [
                    ("imece-stream", stream.to_string()),
                    ("imece-expected-version", expected.to_string()),
                    ("imece-actual-version", actual),
                ] {
                    if let Ok(value) = value.parse() {
                        status.metadata_mut().insert(key, value);
                    }
                }
                status
            }
            Error::Log(L::DuplicateEventId { .. }) => Status::already_exists(message),
            Error::Log(L::Poisoned { .. } | L::Closed | L::Backend { .. } | L::Io { .. } | L::Locked { .. }) => {
                Status::unavailable(message)
            }
            Error::Log(_) => Status::internal(message),
            Error::Domain(imece_domain::Error::Invalid { field, rule }) => Status::with_error_details(
                Code::InvalidArgument,
                message,
                ErrorDetails::with_bad_request_violation(field, rule),
            ),
            Error::Domain(imece_domain::Error::Refused { field, rule }) => Status::with_error_details(
                Code::FailedPrecondition,
                message,
                ErrorDetails::with_precondition_failure_violation("HISTORY", field, rule),
            ),
            Error::Domain(imece_domain::Error::CurrencyMismatch { .. } | imece_domain::Error::Overflow { .. }) => {
                Status::invalid_argument(message)
            }
            Error::Domain(_) | Error::Stored(_) => Status::internal(message),
            Error::NotFound(_) => Status::not_found(message),
            Error::PermissionDenied(_) => Status::permission_denied(message),
            Error::Config(_) => Status::failed_precondition(message),
            Error::Keystore(_) => Status::unavailable(message),
            Error::Erased(_) => Status::failed_precondition(message),
            Error::Server(_) | Error::Federation(_) => Status::internal(message),
            Error::NotOwner { .. } => Status::with_error_details(
                Code::FailedPrecondition,
                message,
                ErrorDetails::with_bad_request_violation("org_id", "owned by another node"),
            ),
            Error::Projection(imece_projections::Error::Timeout { .. }) => Status::deadline_exceeded(message),
            Error::Projection(_) => Status::unavailable(message),
            Error::Indicators(imece_indicators::Error::InvalidQuery { field, rule }) => Status::with_error_details(
                Code::InvalidArgument,
                message,
                ErrorDetails::with_bad_request_violation(field, rule),
            ),
            Error::Indicators(e @ imece_indicators::Error::MissingRate { .. }) => Status::with_error_details(
                Code::FailedPrecondition,
                message,
                ErrorDetails::with_precondition_failure_violation("REFERENCE_DATA", "exchange rate", e.to_string()),
            ),
            Error::Indicators(imece_indicators::Error::Overflow { .. }) => Status::out_of_range(message),
            Error::Indicators(imece_indicators::Error::ReferenceData { .. } | imece_indicators::Error::Io { .. }) => {
                Status::failed_precondition(message)
            }
            Error::Indicators(_) => Status::internal(message),
        }
    }
}
