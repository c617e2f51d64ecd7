//! `imece.v1.Federation`: partners pull this node's chain; operators see where replication stands.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::Stream;
use imece_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::puller::PartnerState;
use super::{Federation, wire};
use crate::auth::{Role, caller};

/// The `Federation` gRPC service of a node.
#[derive(Clone, Debug)]
pub struct FederationService {
    federation: Arc<Federation>,
}

impl FederationService {
    pub fn new(federation: Arc<Federation>) -> Self {
        FederationService { federation }
    }
}

fn require_partner_or_admin(request: &Request<impl Sized>) -> Result<(), Status> {
    let caller = caller(request)?;
    match caller.role {
        Role::Partner | Role::Admin => Ok(()),
        _ => Err(Status::permission_denied(format!("{} is neither a partner node nor an admin", caller.name))),
    }
}

#[tonic::async_trait]
impl pb::replication_server::Replication for FederationService {
    type PullStream = Pin<Box<dyn Stream<Item = Result<pb::PullBatch, Status>> + Send>>;

    async fn pull(&self, request: Request<pb::PullRequest>) -> Result<Response<Self::PullStream>, Status> {
        require_partner_or_admin(&request)?;
        let pb::PullRequest { from_seq, max_batch } = request.into_inner();
        let max_batch = if max_batch == 0 { super::DEFAULT_BATCH } else { max_batch as usize };
        let publisher = self.federation.publisher().clone();
        let batches = publisher.pull(from_seq, max_batch, self.federation.stopping()).await?;
        let stream = tokio_stream::wrappers::ReceiverStream::new(batches);
        let stream = futures_util::StreamExt::map(stream, |batch| match batch {
            Ok((records, head)) => Ok(pb::PullBatch {
                records: records.into_iter().map(wire::record_to_proto).collect(),
                head: Some(wire::head_to_proto(&head)),
            }),
            Err(e) => Err(Status::from(e)),
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_chain_head(
        &self,
        request: Request<pb::GetChainHeadRequest>,
    ) -> Result<Response<pb::GetChainHeadReply>, Status> {
        caller(&request)?;
        let publisher = self.federation.publisher();
        Ok(Response::new(pb::GetChainHeadReply {
            node: publisher.node.to_string(),
            public_key: publisher.identity.public_key().to_string(),
            published: publisher.published(),
            head: publisher.signed_head().as_ref().map(wire::head_to_proto),
        }))
    }

    async fn list_partners(
        &self,
        request: Request<pb::ListPartnersRequest>,
    ) -> Result<Response<pb::ListPartnersReply>, Status> {
        let caller = caller(&request)?;
        if caller.role == Role::Partner {
            return Err(Status::permission_denied(format!("{} is a partner node: partners only pull", caller.name)));
        }
        let partners = self
            .federation
            .partners()
            .into_iter()
            .map(|s| pb::PartnerStatus {
                node: s.node.to_string(),
                endpoint: s.endpoint,
                state: match s.state {
                    PartnerState::Starting => pb::partner_status::State::Starting,
                    PartnerState::Connecting => pb::partner_status::State::Connecting,
                    PartnerState::CatchingUp => pb::partner_status::State::CatchingUp,
                    PartnerState::Live => pb::partner_status::State::Live,
                    PartnerState::Faulty => pb::partner_status::State::Faulty,
                } as i32,
                received: s.received,
                partner_published: s.partner_published,
                confirmed_seq: s.confirmed_seq,
                fault: s.fault.unwrap_or_default(),
                last_error: s.last_error.unwrap_or_default(),
                last_received_micros: s.last_received_micros,
                redelivered: s.redelivered,
            })
            .collect();
        Ok(Response::new(pb::ListPartnersReply { partners }))
    }
}
