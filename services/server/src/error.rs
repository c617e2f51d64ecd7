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
            Error::Config(_) => Status::failed_precondition(message),
            Error::Server(_) => Status::internal(message),
        }
    }
}
