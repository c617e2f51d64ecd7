//! The node's views of its log: the projections analysts query, kept by the projection engine,
//! and the reference data the indicators divide by and convert with.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use imece_directory::Directory;
use imece_indicators::{Cube, CubeOptions, Facts, ReferenceData};
use imece_log::EventLog;
use imece_projections::{Options, ProjectionControl, Projector};

use crate::Error;
use crate::config::ReferenceConfig;

/// How long a read-your-writes wait lasts when the client names none, and at most.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// The projections of a node and what queries over them need.
#[derive(Debug)]
pub struct Views {
    pub directory: Projector<Directory>,
    pub indicators: Projector<Facts>,
    pub reference: Arc<ReferenceData>,
    /// The indicators' cube, derived from the facts at a checkpoint, refreshed (only the
    /// organisations that changed) when a query finds the facts further on.
    cube: RwLock<Option<(u64, Cube)>>,
}

impl Views {
    /// Starts every projection from its snapshot, with the reference data [`load_reference`] read.
    pub async fn start(log: Arc<dyn EventLog>, dir: &Path, reference: ReferenceData) -> Result<Self, Error> {
        let reference = Arc::new(reference);
        let directory = Projector::start(log.clone(), dir, Options::default()).await?;
        // The facts of a large registry snapshot to a file of their own size (about 130 bytes
        // per event): paced by time, so a catch-up is not spent writing snapshots. A crash
        // replays at most five minutes of the log.
        let options = Options {
            snapshot_every_events: 20_000_000,
            snapshot_interval: Duration::from_secs(300),
            ..Options::default()
        };
        let indicators = Projector::start(log, dir, options).await?;
        Ok(Views { directory, indicators, reference, cube: RwLock::new(None) })
    }

    /// Every projection, for the admin API.
    pub fn controls(&self) -> Vec<Arc<dyn ProjectionControl>> {
        vec![self.directory.control(), self.indicators.control()]
    }

    /// Runs `f` on the cube of the facts as they stand, with the checkpoint it was derived at: the
    /// cached cube if the facts have not moved since, else the cube refreshed first.
    pub fn with_cube<R>(&self, f: impl FnOnce(&Cube, u64) -> R) -> R {
        let checkpoint = self.indicators.checkpoint();
        {
            let cached = self.cube.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((at, cube)) = cached.as_ref()
                && *at >= checkpoint
            {
                return f(cube, *at);
            }
        }
        let mut cached = self.cube.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut slot = cached.take();
        let at = self.indicators.read_at(|facts, at| {
            match &mut slot {
                Some((_, cube)) => cube.refresh(facts),
                None => slot = Some((at, Cube::build(facts, CubeOptions::default()))),
            }
            at
        });
        let (_, cube) = cached.insert((at, slot.expect("built or refreshed above").1));
        f(cube, at)
    }

    /// Stores every projection's snapshot and stops them.
    /// Each is shut down even if another fails; the first failure is returned.
    pub async fn shutdown(&self) -> Result<(), Error> {
        let directory = self.directory.shutdown().await;
        let indicators = self.indicators.shutdown().await;
        directory?;
        indicators?;
        Ok(())
    }
}

/// Reads the configured CSV files; the first bad row is the error.
pub fn load_reference(config: &ReferenceConfig) -> Result<ReferenceData, Error> {
    let open = |path: &Path| {
        std::fs::File::open(path)
            .map(std::io::BufReader::new)
            .map_err(|e| Error::Config(format!("reference data: cannot read {}: {e}", path.display())))
    };
    let named = |path: &Path, e: imece_indicators::Error| Error::Config(format!("{}: {e}", path.display()));
    let mut data = ReferenceData::default();
    if let Some(path) = &config.population {
        data.population =
            imece_indicators::AreaFigures::population_from_reader(open(path)?).map_err(|e| named(path, e))?;
    }
    if let Some(path) = &config.employment {
        data.employment =
            imece_indicators::AreaFigures::employment_from_reader(open(path)?).map_err(|e| named(path, e))?;
    }
    if let Some(path) = &config.rates {
        data.rates = imece_indicators::ExchangeRates::from_reader(open(path)?).map_err(|e| named(path, e))?;
    }
    Ok(data)
}
