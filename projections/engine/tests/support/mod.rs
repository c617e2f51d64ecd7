//! A projection that records every position it is given, and helpers around the embedded log.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use imece_log::{EventLog, ExpectedVersion, NewEvent, RecordedEvent, StreamId};
use imece_log_embedded::EmbeddedLog;
use imece_projections::Projection;

/// The event type [`Recorder`] refuses to apply.
pub const POISON: &str = "Poison.v1";

/// Records every position it is given, in order, so a test can tell a repeated or a skipped event.
/// `V` is its version; `SLOW_MICROS` makes each apply take that long, to widen race windows.
#[derive(Debug, Default)]
pub struct Recorder<const V: u32 = 1, const SLOW_MICROS: u64 = 0> {
    pub positions: Vec<u64>,
    /// Events applied to this value in this process, not stored: how much work a start did.
    pub applied_here: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error("refusing to apply {0}")]
    Poison(String),
    #[error("snapshot of {0} bytes is not a list of positions")]
    Decode(usize),
}

impl<const V: u32, const SLOW_MICROS: u64> Projection for Recorder<V, SLOW_MICROS> {
    type Error = RecorderError;
    const NAME: &'static str = "recorder";
    const VERSION: u32 = V;

    fn empty() -> Self {
        Recorder { positions: Vec::new(), applied_here: 0 }
    }

    fn apply(&mut self, event: &RecordedEvent) -> Result<(), Self::Error> {
        if event.event_type == POISON {
            return Err(RecorderError::Poison(event.event_type.clone()));
        }
        if SLOW_MICROS > 0 {
            std::thread::sleep(std::time::Duration::from_micros(SLOW_MICROS));
        }
        self.positions.push(event.position);
        self.applied_here += 1;
        Ok(())
    }

    fn encode(&self) -> Result<Vec<u8>, Self::Error> {
        Ok(self.positions.iter().flat_map(|p| p.to_le_bytes()).collect())
    }

    fn decode(bytes: &[u8]) -> Result<Self, Self::Error> {
        if !bytes.len().is_multiple_of(8) {
            return Err(RecorderError::Decode(bytes.len()));
        }
        let positions = bytes.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect();
        Ok(Recorder { positions, applied_here: 0 })
    }
}

/// Each position from 0 to `checkpoint` exactly once, in order; the first difference otherwise.
pub fn check_exactly_once(positions: &[u64], checkpoint: u64) -> Result<(), String> {
    if positions.len() as u64 != checkpoint {
        let mut seen = std::collections::BTreeMap::new();
        for p in positions {
            *seen.entry(*p).or_insert(0u32) += 1;
        }
        let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).map(|(p, _)| *p).take(5).collect();
        let missing: Vec<_> = (0..checkpoint).filter(|p| !seen.contains_key(p)).take(5).collect();
        return Err(format!(
            "{} positions recorded at checkpoint {checkpoint}; repeated (first 5) {repeated:?}, missing (first 5) {missing:?}",
            positions.len()
        ));
    }
    match positions.iter().enumerate().find(|(i, p)| *i as u64 != **p) {
        Some((i, p)) => Err(format!("position {p} recorded in place {i}")),
        None => Ok(()),
    }
}

/// Opens the embedded log in `dir/log`, and creates `dir/views` for snapshots.
pub fn open(dir: &Path) -> Arc<dyn EventLog> {
    std::fs::create_dir_all(dir.join("views")).unwrap();
    Arc::new(open_log(dir))
}

/// The embedded log in `dir/log`, with small segments and no preallocation: tests open it often.
pub fn open_log(dir: &Path) -> EmbeddedLog {
    let options = imece_log_embedded::Options { segment_size: 4 << 20, preallocate: false, ..Default::default() };
    EmbeddedLog::open_with(dir.join("log"), options).unwrap()
}

/// Appends `n` events to stream `stream`, in appends of up to 1000.
pub async fn append(log: &dyn EventLog, stream: &str, n: usize) -> u64 {
    let stream = StreamId::new(stream).unwrap();
    let mut last = 0;
    let mut left = n;
    while left > 0 {
        let k = left.min(1000);
        let events = (0..k).map(|i| NewEvent::new("Test.v1", format!("{{\"i\":{i}}}"))).collect();
        last = log.append(&stream, ExpectedVersion::Any, events).await.unwrap().last_position;
        left -= k;
    }
    last
}
