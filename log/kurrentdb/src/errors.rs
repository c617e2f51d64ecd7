//! How KurrentDB's answers become [`imece_log::Error`]s.
//!
//! imece decides expected versions and duplicate event ids itself, against its index of the log
//! stream (ADR 0013), so no KurrentDB error becomes [`Error::WrongExpectedVersion`] or
//! [`Error::DuplicateEventId`]: KurrentDB's own wrong-expected-version on the log stream means that
//! another process appended first, and the writer catches up and decides again instead of failing.
//! Everything else is [`Error::Backend`], with a sentence saying what imece was doing and a hint
//! when the operator can fix it.

use std::path::PathBuf;

use imece_log::Error;

use crate::envelope::DecodeError;

/// The backend name in [`Error::Backend`].
pub(crate) const BACKEND: &str = "kurrentdb";

/// An [`Error::Backend`] for a failed KurrentDB call; `context` says what imece was doing.
pub(crate) fn backend(context: &str, e: &kurrentdb::Error) -> Error {
    let hint = match e {
        kurrentdb::Error::AccessDenied => {
            "; the user in the connection string needs read and write access to the log stream"
        }
        kurrentdb::Error::ResourceDeleted => {
            "; the log stream was deleted in KurrentDB: restore the log from a backup into a new stream"
        }
        kurrentdb::Error::NotLeaderException(_) => "; the client reconnects to the new leader: retry",
        kurrentdb::Error::DeadlineExceeded | kurrentdb::Error::ConnectionClosed => {
            "; the append may or may not have been written: retry it with the same event ids"
        }
        kurrentdb::Error::GrpcConnectionError(_) => "; is the cluster reachable at the connection string?",
        kurrentdb::Error::Grpc { message, .. } | kurrentdb::Error::ServerError(message)
            if message.to_ascii_lowercase().contains("maximum append size") =>
        {
            "; raise the server's MaxAppendSize above imece's largest append (ADR 0013)"
        }
        _ => "",
    };
    Error::Backend { backend: BACKEND, message: format!("{context}: {e}{hint}") }
}

/// Whether `e` is KurrentDB refusing an append because the stream is not at the expected revision.
pub(crate) fn is_wrong_expected_version(e: &kurrentdb::Error) -> bool {
    matches!(e, kurrentdb::Error::WrongExpectedVersion { .. })
}

/// Whether `e` is a read of a stream that does not exist (yet): the empty log.
pub(crate) fn is_not_found(e: &kurrentdb::Error) -> bool {
    matches!(e, kurrentdb::Error::ResourceNotFound)
}

/// The error for the event at `revision` of the log stream `stream` whose envelope does not decode:
/// [`Error::Corruption`] whose `file` names the stream and whose `offset` is the revision, or
/// [`Error::UnsupportedFormat`] for an envelope of a newer imece.
pub(crate) fn undecodable(target: &str, stream: &str, revision: u64, e: DecodeError) -> Error {
    let file = PathBuf::from(format!("{target} stream {stream}"));
    match e {
        DecodeError::Invalid(reason) => Error::Corruption {
            file,
            offset: revision,
            reason: format!(
                "the event at revision {revision} is not an imece event ({reason}); nothing but imece may write \
                 to the log stream"
            ),
        },
        DecodeError::Newer(found) => {
            Error::UnsupportedFormat { file, found: u32::from(found), supported: u32::from(crate::envelope::FORMAT) }
        }
    }
}

/// The same error again, for every request that a failure of one KurrentDB call fails
/// ([`Error`] is not `Clone`).
pub(crate) fn again(e: &Error) -> Error {
    match e {
        Error::Backend { backend, message } => Error::Backend { backend, message: message.clone() },
        Error::Corruption { file, offset, reason } => {
            Error::Corruption { file: file.clone(), offset: *offset, reason: reason.clone() }
        }
        Error::UnsupportedFormat { file, found, supported } => {
            Error::UnsupportedFormat { file: file.clone(), found: *found, supported: *supported }
        }
        Error::Closed => Error::Closed,
        other => Error::Backend { backend: BACKEND, message: other.to_string() },
    }
}

/// The connection string without user name and password, for messages and logs.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "<a connection string>".to_owned() };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, hosts)| hosts);
    // Parameters may carry file paths but no secrets; drop them anyway, they are not needed here.
    let path = tail.split('?').next().unwrap_or("");
    format!("{scheme}://{hosts}{path}")
}

#[cfg(test)]
mod tests {
    use kurrentdb::{CurrentRevision, StreamState};

    use super::*;

    #[test]
    fn backend_errors_say_what_and_hint() {
        let e = backend("appending to imece-log", &kurrentdb::Error::AccessDenied);
        let Error::Backend { backend: name, message } = &e else { panic!("{e:?}") };
        assert_eq!(*name, "kurrentdb");
        assert!(message.starts_with("appending to imece-log: Access denied"), "{message}");
        assert!(message.contains("read and write access"), "{message}");

        let e = backend("reading", &kurrentdb::Error::ServerError("Maximum Append Size of 1048576 Exceeded.".into()));
        assert!(e.to_string().contains("MaxAppendSize"), "{e}");
        let e = backend("appending", &kurrentdb::Error::DeadlineExceeded);
        assert!(e.to_string().contains("same event ids"), "{e}");
        let e = backend("reading", &kurrentdb::Error::ResourceNotFound);
        assert_eq!(e.to_string(), "kurrentdb backend: reading: The resource you asked for doesn't exist");
    }

    #[test]
    fn classifies_the_answers_the_writer_handles() {
        let wrong = kurrentdb::Error::WrongExpectedVersion {
            expected: StreamState::StreamRevision(4),
            current: CurrentRevision::Current(5),
        };
        assert!(is_wrong_expected_version(&wrong));
        assert!(!is_wrong_expected_version(&kurrentdb::Error::ConnectionClosed));
        assert!(is_not_found(&kurrentdb::Error::ResourceNotFound));
        assert!(!is_not_found(&kurrentdb::Error::ResourceDeleted));
        // Never surfaced as imece's WrongExpectedVersion: that one is about an imece stream.
        assert!(matches!(backend("x", &wrong), Error::Backend { .. }));
    }

    #[test]
    fn undecodable_events_are_corruption_or_newer() {
        let e = undecodable("kurrentdb://a:2113", "imece-log", 17, DecodeError::Invalid("bad magic".into()));
        let Error::Corruption { file, offset, reason } = &e else { panic!("{e:?}") };
        assert_eq!(file, &PathBuf::from("kurrentdb://a:2113 stream imece-log"));
        assert_eq!(*offset, 17);
        assert!(reason.contains("revision 17") && reason.contains("bad magic"), "{reason}");
        let e = undecodable("t", "s", 1, DecodeError::Newer(3));
        assert!(matches!(e, Error::UnsupportedFormat { found: 3, supported: 1, .. }), "{e:?}");
    }

    #[test]
    fn again_keeps_the_error() {
        let original = Error::Backend { backend: BACKEND, message: "down".into() };
        assert_eq!(again(&original).to_string(), original.to_string());
        assert!(matches!(again(&Error::Closed), Error::Closed));
        let c = Error::Corruption { file: "f".into(), offset: 2, reason: "r".into() };
        assert_eq!(again(&c).to_string(), c.to_string());
    }

    #[test]
    fn redact_drops_credentials_and_parameters() {
        assert_eq!(redact("kurrentdb://localhost:2113?tls=false"), "kurrentdb://localhost:2113");
        assert_eq!(
            redact("kurrentdb+discover://admin:changeit@node1:2113,node2:2113?tlsCAFile=/c/ca.crt"),
            "kurrentdb+discover://node1:2113,node2:2113"
        );
        assert_eq!(redact("esdb://user:p%40ss@h:1/x?y=z"), "esdb://h:1/x");
        assert_eq!(redact("not a url"), "<a connection string>");
    }
}
