//! The runner: feeds one projection from the log, stores its snapshots, rebuilds it on demand and
//! answers read-your-writes waits.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use futures_util::{FutureExt, StreamExt};
use imece_log::{EventLog, EventStream, RecordedEvent};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::snapshot::{self, Snapshot};
use crate::{Error, Projection, Result};

/// How a [`Projector`] batches and snapshots.
#[derive(Clone, Debug)]
pub struct Options {
    /// Store a snapshot once this many events were applied since the last one. Default 1,000,000:
    /// a snapshot writes the whole state, so during a catch-up it is paced by events, and while
    /// live by time.
    pub snapshot_every_events: u64,
    /// Store a snapshot once this much time passed since the last one, if anything changed.
    /// Default 30 s: a crash replays at most that much of the log.
    pub snapshot_interval: Duration,
    /// The most events applied under one hold of the write lock: queries wait at most one batch.
    /// Default 256.
    pub batch_size: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { snapshot_every_events: 1_000_000, snapshot_interval: Duration::from_secs(30), batch_size: 256 }
    }
}

/// What a projection is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunState {
    /// Applying stored events; not yet at the head it last saw.
    CatchingUp,
    /// At the head: applying events as they are appended.
    Live,
    /// Live, and a fresh copy is being built from position 0 beside it: `position` is where the
    /// copy stands, `target` the live checkpoint it must reach before it is swapped in.
    Rebuilding { position: u64, target: u64 },
    /// Shut down.
    Stopped,
    /// Stopped at an event it could not apply (or a log error); it keeps answering from the state
    /// before that event. Never skipped over.
    Failed { reason: String },
}

/// The last snapshot stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The checkpoint it holds.
    pub checkpoint: u64,
    /// When it was written (or, for the one loaded at start, when it was loaded).
    pub at: SystemTime,
}

/// A projection's status, for the admin API and the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub name: &'static str,
    pub version: u32,
    /// The position of the next event to apply: every event before it is in the state.
    pub checkpoint: u64,
    /// The log's head: the number of events in it.
    pub head: u64,
    /// `head - checkpoint`: events in the log not yet in the view.
    pub lag: u64,
    pub state: RunState,
    pub last_snapshot: Option<SnapshotInfo>,
    /// Why the last attempt to store a snapshot failed, if it did; cleared by the next success.
    /// The view goes on applying events meanwhile; a restart would just redo more of them.
    pub snapshot_error: Option<String>,
    /// Rebuilds swapped in since start.
    pub rebuilds: u64,
    /// Why the last rebuild failed, if it did (the live state went on unharmed).
    pub rebuild_error: Option<String>,
}

/// The type-erased handle the admin API holds for every projection of a node.
#[async_trait::async_trait]
pub trait ProjectionControl: Send + Sync + std::fmt::Debug {
    /// The projection's [`Projection::NAME`].
    fn name(&self) -> &'static str;
    /// The projection's [`Projection::VERSION`].
    fn version(&self) -> u32;
    /// The position of the next event to apply.
    fn checkpoint(&self) -> u64;
    /// Its status, with the log's head and the lag.
    async fn status(&self) -> Result<Status>;
    /// Starts a rebuild from position 0 in the background (or joins the one running).
    fn rebuild(&self) -> Result<()>;
    /// Waits until the running rebuild, if any, has been swapped in or failed.
    async fn wait_rebuilt(&self) -> Result<()>;
    /// Waits until the event at `min_position` is applied.
    async fn wait_for(&self, min_position: u64, timeout: Duration) -> Result<()>;
}

/// The state with the checkpoint it is at, changed together under one lock.
struct Current<P> {
    state: P,
    checkpoint: u64,
}

/// What the waiters watch.
#[derive(Clone, Debug)]
struct Progress {
    checkpoint: u64,
    /// Set once the projection stops moving: shut down or failed.
    stopped: Option<String>,
}

#[derive(Clone, Debug, Default)]
struct Rebuild {
    running: bool,
    position: u64,
    target: u64,
    completed: u64,
    error: Option<String>,
}

struct Inner<P> {
    log: Arc<dyn EventLog>,
    dir: PathBuf,
    options: Options,
    current: RwLock<Current<P>>,
    progress: watch::Sender<Progress>,
    rebuild: watch::Sender<Rebuild>,
    /// Live or catching up, stopped or failed; rebuilds are in `rebuild`.
    run: Mutex<RunState>,
    last_snapshot: Mutex<Option<SnapshotInfo>>,
    snapshot_error: Mutex<Option<String>>,
}

/// A fresh state built by a rebuild, handed to the live task to swap in.
struct Handoff<P> {
    state: P,
    checkpoint: u64,
    done: oneshot::Sender<Result<()>>,
}

/// The running task; dropping the last [`Projector`] clone drops it, which stops the task after
/// a last snapshot.
struct Task<P> {
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
    join: tokio::sync::Mutex<Option<JoinHandle<()>>>,
    handoffs: mpsc::Sender<HandoffMsg<P>>,
    rebuild_task: Mutex<Option<JoinHandle<()>>>,
}

impl<P> Drop for Task<P> {
    fn drop(&mut self) {
        if let Some(rebuild) = self.rebuild_task.get_mut().unwrap_or_else(PoisonError::into_inner).take() {
            rebuild.abort();
        }
    }
}

/// [`Handoff`] with a `Debug` that does not print the state.
struct HandoffMsg<P>(Handoff<P>);

impl<P> std::fmt::Debug for HandoffMsg<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Handoff {{ checkpoint: {} }}", self.0.checkpoint)
    }
}

/// Runs one projection over the log: a cheap, clonable handle to its state and its task.
///
/// ```no_run
/// # async fn example(log: std::sync::Arc<dyn imece_log::EventLog>) -> imece_projections::Result<()> {
/// # struct Count(u64);
/// # impl imece_projections::Projection for Count {
/// #     type Error = std::io::Error;
/// #     const NAME: &'static str = "count";
/// #     const VERSION: u32 = 1;
/// #     fn empty() -> Self { Count(0) }
/// #     fn apply(&mut self, _: &imece_log::RecordedEvent) -> Result<(), Self::Error> { self.0 += 1; Ok(()) }
/// #     fn encode(&self) -> Result<Vec<u8>, Self::Error> { Ok(self.0.to_le_bytes().to_vec()) }
/// #     fn decode(b: &[u8]) -> Result<Self, Self::Error> {
/// #         Ok(Count(u64::from_le_bytes(b.try_into().map_err(|_| std::io::ErrorKind::InvalidData)?)))
/// #     }
/// # }
/// use std::time::Duration;
/// use imece_projections::{Options, Projector};
///
/// let count = Projector::<Count>::start(log, "projections", Options::default()).await?;
/// // A command's reply said its last event is at position 41: answer once it is counted.
/// let n = count.query(Some(41), Duration::from_secs(2), |c| c.0).await?;
/// assert!(n >= 42);
/// count.shutdown().await?;
/// # Ok(()) }
/// ```
pub struct Projector<P: Projection> {
    inner: Arc<Inner<P>>,
    task: Arc<Task<P>>,
}

impl<P: Projection> std::fmt::Debug for Projector<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let progress = self.inner.progress.borrow().clone();
        f.debug_struct("Projector")
            .field("name", &P::NAME)
            .field("version", &P::VERSION)
            .field("checkpoint", &progress.checkpoint)
            .field("stopped", &progress.stopped)
            .finish_non_exhaustive()
    }
}

impl<P: Projection> Clone for Projector<P> {
    fn clone(&self) -> Self {
        Projector { inner: self.inner.clone(), task: self.task.clone() }
    }
}

impl<P: Projection> Projector<P> {
    /// Loads the projection's snapshot from `dir` (or starts from [`Projection::empty`] at 0),
    /// subscribes to the log from its checkpoint and starts applying in a task of the current
    /// Tokio runtime.
    ///
    /// A snapshot of another [`Projection::VERSION`] is ignored, and a damaged or undecodable one
    /// is ignored with a warning: the projection is rebuilt from the start of the log, which is
    /// the source of truth. Errors: [`Error::SnapshotIo`] if the directory or the file cannot be
    /// read.
    pub async fn start(log: Arc<dyn EventLog>, dir: impl AsRef<Path>, options: Options) -> Result<Self> {
        let dir = dir.as_ref().to_owned();
        std::fs::create_dir_all(&dir).map_err(|source| Error::SnapshotIo {
            path: dir.clone(),
            context: "creating the snapshot directory",
            source,
        })?;
        let (state, checkpoint, loaded) = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || load::<P>(&dir))
                .await
                .map_err(|e| Error::Stopped { projection: P::NAME, reason: format!("loading the snapshot: {e}") })??
        };
        let options = Options { batch_size: options.batch_size.max(1), ..options };
        let inner = Arc::new(Inner {
            log,
            dir,
            options,
            current: RwLock::new(Current { state, checkpoint }),
            progress: watch::Sender::new(Progress { checkpoint, stopped: None }),
            rebuild: watch::Sender::new(Rebuild::default()),
            run: Mutex::new(RunState::CatchingUp),
            last_snapshot: Mutex::new(loaded.then(|| SnapshotInfo { checkpoint, at: SystemTime::now() })),
            snapshot_error: Mutex::new(None),
        });
        let events = inner.log.subscribe_all(checkpoint);
        let (shutdown, shutdown_rx) = oneshot::channel();
        let (handoffs, handoffs_rx) = mpsc::channel(1);
        let join = tokio::spawn(run(inner.clone(), events, handoffs_rx, shutdown_rx));
        let task = Task {
            shutdown: Mutex::new(Some(shutdown)),
            join: tokio::sync::Mutex::new(Some(join)),
            handoffs,
            rebuild_task: Mutex::new(None),
        };
        Ok(Projector { inner, task: Arc::new(task) })
    }
}

impl<P: Projection> Projector<P> {
    /// Reads the state, as of [`Projector::checkpoint`]: `f` runs under a read lock, concurrently
    /// with other readers; the applying task takes the write lock one small batch at a time.
    pub fn read<R>(&self, f: impl FnOnce(&P) -> R) -> R {
        let current = self.inner.current.read().unwrap_or_else(PoisonError::into_inner);
        f(&current.state)
    }

    /// Like [`Projector::read`], with the checkpoint the state is at.
    pub fn read_at<R>(&self, f: impl FnOnce(&P, u64) -> R) -> R {
        let current = self.inner.current.read().unwrap_or_else(PoisonError::into_inner);
        f(&current.state, current.checkpoint)
    }

    /// Read-your-writes: waits until the event at `min_position` (a command reply's
    /// `last_position`) is applied, then reads. `None` reads at once.
    pub async fn query<R>(&self, min_position: Option<u64>, timeout: Duration, f: impl FnOnce(&P) -> R) -> Result<R> {
        if let Some(min) = min_position {
            self.wait_for(min, timeout).await?;
        }
        Ok(self.read(f))
    }

    /// The position of the next event to apply.
    pub fn checkpoint(&self) -> u64 {
        self.inner.progress.borrow().checkpoint
    }

    /// Events in the log not yet applied: the log's head minus the checkpoint.
    pub async fn lag(&self) -> Result<u64> {
        Ok(self.inner.log.head().await?.saturating_sub(self.checkpoint()))
    }

    /// Returns once the event at position `min_position` is applied (the checkpoint is past it):
    /// at once if it already is. [`Error::Timeout`] after `timeout`, with the checkpoint reached;
    /// [`Error::Stopped`] at once if the projection stopped before reaching it.
    pub async fn wait_for(&self, min_position: u64, timeout: Duration) -> Result<()> {
        let mut progress = self.inner.progress.subscribe();
        let reached = |p: &Progress| p.checkpoint > min_position || p.stopped.is_some();
        let waited = tokio::time::timeout(timeout, progress.wait_for(reached)).await;
        let progress = self.inner.progress.borrow().clone();
        if progress.checkpoint > min_position {
            return Ok(());
        }
        match (waited, progress.stopped) {
            (_, Some(reason)) => Err(Error::Stopped { projection: P::NAME, reason }),
            (Err(_elapsed), None) => {
                Err(Error::Timeout { projection: P::NAME, wanted: min_position, reached: progress.checkpoint })
            }
            (Ok(_), None) => unreachable!("wait_for returned without its condition"),
        }
    }

    /// The projection's status, with the log's head.
    pub async fn status(&self) -> Result<Status> {
        let head = self.inner.log.head().await?;
        let checkpoint = self.checkpoint();
        let run = self.inner.run.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let rebuild = self.inner.rebuild.borrow().clone();
        let state = match run {
            RunState::CatchingUp | RunState::Live if rebuild.running => {
                RunState::Rebuilding { position: rebuild.position, target: rebuild.target }
            }
            other => other,
        };
        Ok(Status {
            name: P::NAME,
            version: P::VERSION,
            checkpoint,
            head,
            lag: head.saturating_sub(checkpoint),
            state,
            last_snapshot: *self.inner.last_snapshot.lock().unwrap_or_else(PoisonError::into_inner),
            snapshot_error: self.inner.snapshot_error.lock().unwrap_or_else(PoisonError::into_inner).clone(),
            rebuilds: rebuild.completed,
            rebuild_error: rebuild.error,
        })
    }

    /// Builds a fresh state from position 0 in the background while this one keeps answering;
    /// once it has caught up with the live checkpoint it is swapped in, with no event lost or
    /// applied twice, and a snapshot is stored. A rebuild already running is joined, not
    /// restarted. [`Error::Stopped`] if the projection is stopped.
    pub fn rebuild(&self) -> Result<()> {
        if let Some(reason) = self.inner.progress.borrow().stopped.clone() {
            return Err(Error::Stopped { projection: P::NAME, reason });
        }
        let mut slot = self.task.rebuild_task.lock().unwrap_or_else(PoisonError::into_inner);
        let started = self.inner.rebuild.send_if_modified(|r| {
            if r.running {
                return false;
            }
            *r = Rebuild { running: true, position: 0, target: 0, completed: r.completed, error: None };
            true
        });
        if started {
            *slot = Some(tokio::spawn(rebuild(self.inner.clone(), self.task.handoffs.clone())));
        }
        Ok(())
    }

    /// Waits until no rebuild is running; the error of the last one if it failed.
    pub async fn wait_rebuilt(&self) -> Result<()> {
        let mut rebuild = self.inner.rebuild.subscribe();
        let done = rebuild.wait_for(|r| !r.running).await.map_err(|_| stopped::<P>("the projector is gone"))?;
        match &done.error {
            Some(reason) => Err(Error::Stopped { projection: P::NAME, reason: format!("rebuild failed: {reason}") }),
            None => Ok(()),
        }
    }

    /// Stops applying, stores a last snapshot if anything changed since the previous one, and
    /// returns once it is durable. The state keeps answering reads. The error of the snapshot, or
    /// the reason the projection had failed.
    pub async fn shutdown(&self) -> Result<()> {
        if let Some(rebuild) = self.task.rebuild_task.lock().unwrap_or_else(PoisonError::into_inner).take() {
            rebuild.abort();
        }
        self.inner.rebuild.send_if_modified(|r| {
            let was = r.running;
            if was {
                r.running = false;
                r.error = Some("the projection was shut down".to_owned());
            }
            was
        });
        if let Some(tx) = self.task.shutdown.lock().unwrap_or_else(PoisonError::into_inner).take() {
            let _ = tx.send(());
        }
        if let Some(join) = self.task.join.lock().await.take() {
            join.await.map_err(|e| stopped::<P>(&format!("the projection task panicked: {e}")))?;
        }
        match &*self.inner.run.lock().unwrap_or_else(PoisonError::into_inner) {
            RunState::Failed { reason } => Err(Error::Stopped { projection: P::NAME, reason: reason.clone() }),
            _ => Ok(()),
        }
    }

    /// This projector as the admin API's type-erased handle.
    pub fn control(&self) -> Arc<dyn ProjectionControl> {
        Arc::new(self.clone())
    }
}

#[async_trait::async_trait]
impl<P: Projection> ProjectionControl for Projector<P> {
    fn name(&self) -> &'static str {
        P::NAME
    }

    fn version(&self) -> u32 {
        P::VERSION
    }

    fn checkpoint(&self) -> u64 {
        Projector::checkpoint(self)
    }

    async fn status(&self) -> Result<Status> {
        Projector::status(self).await
    }

    fn rebuild(&self) -> Result<()> {
        Projector::rebuild(self)
    }

    async fn wait_rebuilt(&self) -> Result<()> {
        Projector::wait_rebuilt(self).await
    }

    async fn wait_for(&self, min_position: u64, timeout: Duration) -> Result<()> {
        Projector::wait_for(self, min_position, timeout).await
    }
}

fn stopped<P: Projection>(reason: &str) -> Error {
    Error::Stopped { projection: P::NAME, reason: reason.to_owned() }
}

/// The stored state and checkpoint, or the empty state at 0; whether a snapshot was used.
fn load<P: Projection>(dir: &Path) -> Result<(P, u64, bool)> {
    snapshot::remove_stale_temp(dir, P::NAME)?;
    let fresh = || Ok((P::empty(), 0, false));
    match snapshot::read(dir, P::NAME) {
        Ok(None) => fresh(),
        Ok(Some(s)) if s.projection_version != P::VERSION => {
            tracing::info!(
                projection = P::NAME,
                stored = s.projection_version,
                current = P::VERSION,
                "snapshot of another version: rebuilding from the start of the log"
            );
            fresh()
        }
        Ok(Some(s)) => match P::decode(&s.state) {
            Ok(state) => Ok((state, s.checkpoint, true)),
            Err(e) => {
                tracing::warn!(projection = P::NAME, error = %e, "snapshot does not decode: rebuilding from the start of the log");
                fresh()
            }
        },
        Err(Error::CorruptSnapshot { path, reason }) => {
            tracing::warn!(
                projection = P::NAME,
                path = %path.display(),
                %reason,
                "corrupt snapshot: rebuilding from the start of the log"
            );
            fresh()
        }
        Err(e) => Err(e),
    }
}

impl<P: Projection> Inner<P> {
    fn set_run(&self, state: RunState) {
        *self.run.lock().unwrap_or_else(PoisonError::into_inner) = state;
    }

    fn publish(&self, checkpoint: u64) {
        self.progress.send_modify(|p| p.checkpoint = checkpoint);
    }

    /// A snapshot on the way: a write that fails (disk full, permissions) is reported in the
    /// status and retried at the next occasion, while the view keeps applying events; only a
    /// state that does not encode (a bug) stops the projection.
    /// Whether it was stored.
    async fn periodic_snapshot(&self) -> Result<bool> {
        match self.store_snapshot().await {
            Ok(()) => Ok(true),
            Err(e @ Error::SnapshotIo { .. }) => {
                tracing::warn!(projection = P::NAME, error = %e, "could not store a snapshot; will retry");
                *self.snapshot_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Encodes the state under the read lock and writes it off the executor.
    async fn store_snapshot(&self) -> Result<()> {
        let (state, checkpoint) = {
            let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
            let state = current.state.encode().map_err(|e| Error::projection(P::NAME, current.checkpoint, e))?;
            (state, current.checkpoint)
        };
        let dir = self.dir.clone();
        let snapshot = Snapshot { projection_version: P::VERSION, checkpoint, state };
        tokio::task::spawn_blocking(move || snapshot::write(&dir, P::NAME, &snapshot))
            .await
            .map_err(|e| stopped::<P>(&format!("the snapshot writer panicked: {e}")))??;
        *self.last_snapshot.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(SnapshotInfo { checkpoint, at: SystemTime::now() });
        *self.snapshot_error.lock().unwrap_or_else(PoisonError::into_inner) = None;
        Ok(())
    }

    /// Applies `batch` under one hold of the write lock, checking each position. Events before a
    /// failing one stay applied; the checkpoint stops at the failing one.
    fn apply_batch(&self, batch: &[RecordedEvent]) -> Result<u64> {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let mut outcome = Ok(());
        for event in batch {
            if event.position != current.checkpoint {
                outcome =
                    Err(Error::OutOfOrder { projection: P::NAME, expected: current.checkpoint, found: event.position });
                break;
            }
            if let Err(e) = current.state.apply(event) {
                outcome = Err(Error::projection(P::NAME, event.position, e));
                break;
            }
            current.checkpoint += 1;
        }
        let checkpoint = current.checkpoint;
        drop(current);
        self.publish(checkpoint);
        outcome.map(|()| checkpoint)
    }
}

/// The live task: applies events in order, snapshots, swaps in rebuilds, until shut down.
async fn run<P: Projection>(
    inner: Arc<Inner<P>>,
    mut events: EventStream,
    mut handoffs: mpsc::Receiver<HandoffMsg<P>>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let mut pending_snapshot = false;
    let mut applied_since_snapshot = 0u64;
    let mut last_snapshot = Instant::now();
    let options = inner.options.clone();
    let outcome: Result<()> = async {
        // Between batches: stop on a shutdown (or once the last handle is gone).
        while let Err(oneshot::error::TryRecvError::Empty) = shutdown.try_recv() {
            // A rebuild to swap in goes first.
            if let Ok(HandoffMsg(handoff)) = handoffs.try_recv() {
                swap_in(&inner, handoff).await;
                pending_snapshot = false;
                applied_since_snapshot = 0;
                last_snapshot = Instant::now();
                continue;
            }
            let mut batch = Vec::new();
            while batch.len() < options.batch_size {
                match events.next().now_or_never() {
                    Some(Some(event)) => batch.push(event?),
                    Some(None) => return Err(stopped::<P>("the log's subscription ended")),
                    None => break,
                }
            }
            if batch.is_empty() {
                // Nothing stored is left to read: live.
                {
                    let mut run = inner.run.lock().unwrap_or_else(PoisonError::into_inner);
                    if *run == RunState::CatchingUp {
                        *run = RunState::Live;
                    }
                }
                let deadline = last_snapshot + options.snapshot_interval;
                tokio::select! {
                    _ = &mut shutdown => break,
                    Some(HandoffMsg(handoff)) = handoffs.recv() => {
                        swap_in(&inner, handoff).await;
                        pending_snapshot = false;
                        applied_since_snapshot = 0;
                        last_snapshot = Instant::now();
                        continue;
                    }
                    next = events.next() => match next {
                        Some(event) => batch.push(event?),
                        None => return Err(stopped::<P>("the log's subscription ended")),
                    },
                    () = tokio::time::sleep_until(deadline), if pending_snapshot => {
                        // Not stored: still pending, for the next occasion and for shutdown.
                        pending_snapshot = !inner.periodic_snapshot().await?;
                        applied_since_snapshot = 0;
                        last_snapshot = Instant::now();
                        continue;
                    }
                }
            }
            let before = inner.current.read().unwrap_or_else(PoisonError::into_inner).checkpoint;
            let after = inner.apply_batch(&batch)?;
            applied_since_snapshot += after - before;
            pending_snapshot = true;
            if applied_since_snapshot >= options.snapshot_every_events
                || last_snapshot.elapsed() >= options.snapshot_interval
            {
                pending_snapshot = !inner.periodic_snapshot().await?;
                applied_since_snapshot = 0;
                last_snapshot = Instant::now();
            }
        }
        if pending_snapshot {
            inner.store_snapshot().await?;
        }
        Ok(())
    }
    .await;
    let reason = match outcome {
        Ok(()) => {
            inner.set_run(RunState::Stopped);
            "shut down".to_owned()
        }
        Err(e) => {
            // No snapshot of a state an apply may have left half-changed: a restart resumes from
            // the last good snapshot and meets the same event again.
            tracing::error!(projection = P::NAME, error = %e, "projection stopped");
            let reason = e.to_string();
            inner.set_run(RunState::Failed { reason: reason.clone() });
            reason
        }
    };
    inner.progress.send_modify(|p| p.stopped = Some(reason));
}

/// Swaps a rebuilt state in. If it is behind the live checkpoint it first catches up from the log
/// (a few events: the rebuild hands off once it reached the live checkpoint it saw), so that the
/// subscription goes on at the same position and every position is applied exactly once to the
/// state that answers. Runs in the live task between two batches: nothing is applied meanwhile.
async fn swap_in<P: Projection>(inner: &Inner<P>, handoff: Handoff<P>) {
    let Handoff { mut state, mut checkpoint, done } = handoff;
    let live = inner.current.read().unwrap_or_else(PoisonError::into_inner).checkpoint;
    let caught_up: Result<()> = async {
        // The rebuild reads only up to the live checkpoint it saw, which never goes back.
        if checkpoint > live {
            return Err(Error::OutOfOrder { projection: P::NAME, expected: live, found: checkpoint });
        }
        while checkpoint < live {
            let limit = (live - checkpoint).min(inner.options.batch_size as u64) as usize;
            let batch = inner.log.read_all(checkpoint, limit).await?;
            if batch.is_empty() {
                return Err(stopped::<P>("the log returned no events below the live checkpoint"));
            }
            apply_checked(&mut state, &mut checkpoint, &batch)?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = caught_up {
        let _ = done.send(Err(e));
        return;
    }
    {
        let mut current = inner.current.write().unwrap_or_else(PoisonError::into_inner);
        current.state = state;
        current.checkpoint = checkpoint;
    }
    inner.publish(checkpoint);
    let _ = done.send(inner.store_snapshot().await);
}

/// Applies `batch` to a state outside the lock, checking positions.
fn apply_checked<P: Projection>(state: &mut P, checkpoint: &mut u64, batch: &[RecordedEvent]) -> Result<()> {
    for event in batch {
        if event.position != *checkpoint {
            return Err(Error::OutOfOrder { projection: P::NAME, expected: *checkpoint, found: event.position });
        }
        state.apply(event).map_err(|e| Error::projection(P::NAME, event.position, e))?;
        *checkpoint += 1;
    }
    Ok(())
}

/// The rebuild task: folds the log from 0 into a fresh state until it reaches the live checkpoint,
/// then hands it to the live task and waits for the swap.
async fn rebuild<P: Projection>(inner: Arc<Inner<P>>, handoffs: mpsc::Sender<HandoffMsg<P>>) {
    let outcome: Result<()> = async {
        let mut state = P::empty();
        let mut checkpoint = 0u64;
        loop {
            let progress = inner.progress.borrow().clone();
            if let Some(reason) = progress.stopped {
                return Err(stopped::<P>(&reason));
            }
            let target = progress.checkpoint;
            inner.rebuild.send_modify(|r| {
                r.position = checkpoint;
                r.target = target;
            });
            if checkpoint >= target {
                break;
            }
            let limit = (target - checkpoint).min(inner.options.batch_size as u64 * 4) as usize;
            let batch = inner.log.read_all(checkpoint, limit).await?;
            if batch.is_empty() {
                return Err(stopped::<P>("the log returned no events below the live checkpoint"));
            }
            apply_checked(&mut state, &mut checkpoint, &batch)?;
            // A long rebuild must not starve the live task on a small runtime.
            tokio::task::yield_now().await;
        }
        let (done, swapped) = oneshot::channel();
        handoffs
            .send(HandoffMsg(Handoff { state, checkpoint, done }))
            .await
            .map_err(|_| stopped::<P>("the live task is gone"))?;
        swapped.await.map_err(|_| stopped::<P>("the live task is gone"))?
    }
    .await;
    inner.rebuild.send_modify(|r| {
        r.running = false;
        match outcome {
            Ok(()) => r.completed += 1,
            Err(e) => {
                tracing::warn!(projection = P::NAME, error = %e, "rebuild failed; the live state goes on");
                r.error = Some(e.to_string());
            }
        }
    });
}
