//! The embedded log against the backend-independent conformance suite, with small segments so
//! that the tests also roll segments.

use imece_log::conformance::Harness;
use imece_log_embedded::{EmbeddedLog, Options};

/// A log in a temporary directory; every `open` opens that directory again.
struct Embedded(tempfile::TempDir);

#[async_trait::async_trait]
impl Harness for Embedded {
    type Log = EmbeddedLog;

    async fn open(&self) -> EmbeddedLog {
        let options = Options { segment_size: 64 * 1024, ..Options::default() };
        EmbeddedLog::open_with(self.0.path(), options).expect("open the embedded log")
    }
}

imece_log::conformance_suite!(|| async { Embedded(tempfile::tempdir().expect("create a temporary directory")) });
