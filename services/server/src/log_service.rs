//! `imece.v1.Log`: the node's event log over gRPC.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use imece_log::{EventLog, RecordedEvent};
use imece_proto::v1 as pb;
use tokio::sync::watch;
use tonic::{Request, Response, Status};

use crate::Error;
use crate::auth::caller;

/// The most events one `ReadLog` page returns.
pub const MAX_PAGE: u32 = 1_000;

/// Serves the log's events. Events of person-level visibility are the registry's to filter; this
/// service is for admins and the node's own tools.
#[derive(Clone, Debug)]
pub struct LogService<L> {
    log: Arc<L>,
    stopping: watch::Receiver<bool>,
}

impl<L: EventLog> LogService<L> {
    /// `stopping` turns true when the node shuts down: subscriptions then end, so that a graceful
    /// shutdown does not wait for them forever.
    pub fn new(log: Arc<L>, stopping: watch::Receiver<bool>) -> Self {
        LogService { log, stopping }
    }
}

fn to_proto(e: RecordedEvent) -> pb::LogEvent {
    pb::LogEvent {
        position: e.position,
        stream: e.stream.to_string(),
        version: e.version,
        event_id: e.id.to_string(),
        event_type: e.event_type,
        data: e.data.to_vec(),
        metadata: e.metadata.to_vec(),
        recorded_at_micros: e.recorded_at_micros,
    }
}

#[tonic::async_trait]
impl<L: EventLog> pb::log_server::Log for LogService<L> {
    type SubscribeStream = Pin<Box<dyn Stream<Item = Result<pb::LogEvent, Status>> + Send>>;

    async fn subscribe(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        caller(&request)?.require_admin()?;
        let from = request.into_inner().from_position;
        let mut stopping = self.stopping.clone();
        let stopped = async move {
            let _ = stopping.wait_for(|stop| *stop).await;
        };
        let events = self
            .log
            .subscribe_all(from)
            .map(|e| e.map(to_proto).map_err(|e| Status::from(Error::Log(e))))
            .take_until(stopped);
        Ok(Response::new(Box::pin(events)))
    }

    async fn read_log(&self, request: Request<pb::ReadLogRequest>) -> Result<Response<pb::ReadLogReply>, Status> {
        caller(&request)?.require_admin()?;
        let pb::ReadLogRequest { from_position, limit } = request.into_inner();
        let limit = if limit == 0 { MAX_PAGE } else { limit.min(MAX_PAGE) };
        let head = self.log.head().await.map_err(Error::Log)?;
        let events = self.log.read_all(from_position, limit as usize).await.map_err(Error::Log)?;
        Ok(Response::new(pb::ReadLogReply { events: events.into_iter().map(to_proto).collect(), head }))
    }

    async fn get_head(&self, request: Request<pb::GetHeadRequest>) -> Result<Response<pb::GetHeadReply>, Status> {
        caller(&request)?;
        let head = self.log.head().await.map_err(Error::Log)?;
        Ok(Response::new(pb::GetHeadReply { head }))
    }
}
