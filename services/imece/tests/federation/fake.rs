//! A fake partner node served in the test: the `imece.v1.Replication` service over a chain built
//! here with `imece_federation`, honest or not, to see what a real node does with it.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::Stream;
use imece_domain::time::{Date, Month};
use imece_domain::{
    Activity, Actor, ActorKind, Code, CooperativeType, CorrelationId, CountryCode, Currency, Envelope, Event, Family,
    FiscalYearEnd, LegalForm, Metadata, Money, Names, NodeId, OrgId, OrganisationRegistered, OrganisationRenamed,
    Origin, Seat, Visibility,
};
use imece_federation::{Chain, Identity, PublishedRecord, SignedHead};
use imece_log::{EventId, RecordedEvent, StreamId};
use imece_proto::v1 as pb;
use imece_proto::v1::replication_server::{Replication, ReplicationServer};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{Request, Response, Status};
use uuid::Uuid;

fn date(year: i32, month: Month, day: u8) -> Date {
    Date::from_calendar_date(year, month, day).expect("a valid date")
}

fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

/// The id of the fake partner `node`'s organisation number `i`.
pub fn org_id(node: &str, i: u32) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("{node} {i}").as_bytes())
}

/// `node`'s log as the fake partner would have written it: `orgs` Spanish cooperatives, each
/// registered and renamed (two public events of its stream `org-<uuid>`), at positions with gaps
/// where the partner's unpublished (person-level) events would be. Returns its chain's records.
pub fn chain(node: &str, orgs: u32) -> Vec<PublishedRecord> {
    let node = NodeId::new(node).expect("a node id");
    let metadata = Metadata {
        actor: Actor { kind: ActorKind::User, id: "clerk-valencia".into() },
        correlation_id: CorrelationId::from(Uuid::now_v7()),
        causation_id: None,
        jurisdiction: CountryCode::ES,
        visibility: Visibility::Public,
        origin: Origin::local(node.clone()),
    };
    let mut chain = Chain::new(node.clone());
    let mut records = Vec::new();
    let mut position = 0;
    for i in 0..orgs {
        let org = OrgId::from_uuid(org_id(node.as_str(), i));
        let founded = date(2010 + i as i32 % 10, Month::March, 1);
        let registered = OrganisationRegistered {
            organisation: org,
            occurred_on: founded.replace_day(20).expect("a day"),
            founded_on: founded,
            names: Names::legal(format!("Cooperativa Valenciana {i}")),
            family: Family::Cooperative,
            legal_form: LegalForm { elf: None, national: "sociedad cooperativa".into() },
            cooperative_type: Some(CooperativeType::Worker),
            business_model: None,
            external_ids: vec![],
            seat: Seat {
                country: CountryCode::ES,
                lau: Code::lau("ES_46250", "2021").expect("a LAU code"),
                nuts3: Code::nuts("ES523", "2021").expect("a NUTS code"),
                address: None,
            },
            activity: Activity { primary: Code::nace("01.13", "2").expect("a NACE code"), secondary: vec![] },
            fiscal_year_end: FiscalYearEnd::DECEMBER_31,
            founders: 5,
            subscribed_capital: Some(Money::parse("3000", Currency::EUR).expect("money")),
        };
        let renamed = OrganisationRenamed {
            occurred_on: date(2024, Month::June, 1 + i as u8 % 28),
            names: Names::legal(format!("Cooperativa Valenciana {i} del Túria")),
        };
        for (version, event) in
            [Event::OrganisationRegistered(registered), Event::OrganisationRenamed(renamed)].into_iter().enumerate()
        {
            let encoded = Envelope::new(event, metadata.clone()).and_then(|e| e.encode()).expect("a valid envelope");
            // Unpublished events of the partner's own take the positions in between.
            position += 1 + u64::from(i % 3);
            let event = RecordedEvent {
                position,
                stream: StreamId::new(org.stream_name()).expect("a stream"),
                version: version as u64 * 3,
                id: EventId::new_v7(),
                event_type: encoded.event_type,
                data: encoded.data.into(),
                metadata: encoded.metadata.into(),
                recorded_at_micros: now_micros(),
            };
            records.push(chain.push(&event).expect("the chain").expect("a public event of the fake's own"));
        }
    }
    records
}

/// How the fake partner serves its chain.
#[derive(Clone, Copy, Debug)]
pub struct Behaviour {
    /// Records per batch.
    pub batch: usize,
    /// Send every batch twice, and after it a batch overlapping it and the next.
    pub duplicate: bool,
    /// Alter the data of this record after it was hashed.
    pub alter_data_at: Option<u64>,
    /// Leave this record out.
    pub drop_at: Option<u64>,
    /// Sign the heads of batches ending at or after this seq with another key than the one the
    /// node knows.
    pub foreign_key_from: Option<u64>,
    /// Publish a person-level event (HomeOnly) as this seq, correctly hashed, linked and signed:
    /// a broken partner leaking personal data.
    pub home_only_at: Option<u64>,
}

impl Behaviour {
    pub fn honest(batch: usize) -> Behaviour {
        Behaviour {
            batch,
            duplicate: false,
            alter_data_at: None,
            drop_at: None,
            foreign_key_from: None,
            home_only_at: None,
        }
    }
}

/// The fake partner: its id, its key, its chain and how it serves it.
#[derive(Debug)]
pub struct FakePartner {
    pub node: NodeId,
    identity: Identity,
    impostor: Identity,
    pub records: Vec<PublishedRecord>,
    behaviour: Behaviour,
    /// How many records it sent, copies included.
    pub sent: AtomicU64,
    /// How many `Pull` calls it answered.
    pub pulls: AtomicU64,
}

/// Bytes for a protobuf field, whichever type the generated code gives it (`Vec<u8>` or `Bytes`).
fn bytes<T: From<Vec<u8>>>(b: &[u8]) -> T {
    T::from(b.to_vec())
}

/// A record as a node sent it, for the test to verify with `imece_federation` itself.
pub fn record_from_proto(r: &pb::PublishedRecord) -> PublishedRecord {
    PublishedRecord {
        origin: NodeId::new(&r.origin).expect("a node id"),
        seq: r.seq,
        origin_position: r.origin_position,
        stream: StreamId::new(&r.stream).expect("a stream"),
        version: r.version,
        event_id: EventId::from_bytes(r.event_id[..].try_into().expect("16 bytes")),
        event_type: r.event_type.clone(),
        data: r.data.to_vec().into(),
        metadata: r.metadata.to_vec().into(),
        recorded_at_micros: r.recorded_at_micros,
        prev_hash: r.prev_hash[..].try_into().expect("32 bytes"),
        hash: r.hash[..].try_into().expect("32 bytes"),
    }
}

/// A signed head as a node sent it.
pub fn head_from_proto(h: &pb::SignedHead) -> SignedHead {
    SignedHead {
        node: NodeId::new(&h.node).expect("a node id"),
        seq: h.seq,
        hash: h.hash[..].try_into().expect("32 bytes"),
        signed_at_micros: h.signed_at_micros,
        signature: h.signature[..].try_into().expect("64 bytes"),
    }
}

fn record_to_proto(r: &PublishedRecord) -> pb::PublishedRecord {
    pb::PublishedRecord {
        origin: r.origin.to_string(),
        seq: r.seq,
        origin_position: r.origin_position,
        stream: r.stream.to_string(),
        version: r.version,
        event_id: bytes(r.event_id.as_bytes()),
        event_type: r.event_type.clone(),
        data: bytes(&r.data),
        metadata: bytes(&r.metadata),
        recorded_at_micros: r.recorded_at_micros,
        prev_hash: bytes(&r.prev_hash),
        hash: bytes(&r.hash),
    }
}

impl FakePartner {
    /// A fake `node` with a fresh key, serving `orgs` organisations' records as `behaviour` says.
    pub fn new(node: &str, orgs: u32, behaviour: Behaviour) -> FakePartner {
        let mut records = chain(node, orgs);
        if let Some(k) = behaviour.home_only_at {
            let leaked = &mut records[k as usize];
            let mut metadata = Metadata::decode(&leaked.metadata).expect("metadata");
            metadata.visibility = Visibility::HomeOnly;
            leaked.metadata = metadata.encode().expect("metadata").into();
            leaked.event_type = "PersonEnrolled.v1".into();
            leaked.data = br#"{"personal_data":{"full_name":"Lucia Martinez Soler"}}"#.to_vec().into();
            // Hashed and linked as if the partner's own chain held it: only its visibility is wrong.
            for i in k as usize..records.len() {
                if i > k as usize {
                    records[i].prev_hash = records[i - 1].hash;
                }
                records[i].hash = records[i].computed_hash();
            }
        }
        FakePartner {
            node: NodeId::new(node).expect("a node id"),
            identity: Identity::generate().expect("a key"),
            impostor: Identity::generate().expect("a key"),
            records,
            behaviour,
            sent: AtomicU64::new(0),
            pulls: AtomicU64::new(0),
        }
    }

    /// The public key the node is configured with.
    pub fn public_key(&self) -> String {
        self.identity.public_key().to_string()
    }

    /// `signer`'s signature over the fake's chain up to `last`.
    fn signed_head(&self, signer: &Identity, last: &PublishedRecord) -> pb::SignedHead {
        let head = signer.sign_head(&self.node, last.head(), now_micros());
        pb::SignedHead {
            node: head.node.to_string(),
            seq: head.seq,
            hash: bytes(&head.hash),
            signed_at_micros: head.signed_at_micros,
            signature: bytes(&head.signature),
        }
    }

    /// The batches a `Pull` from `from_seq` gets.
    fn batches(&self, from_seq: u64) -> Vec<pb::PullBatch> {
        let b = &self.behaviour;
        let served: Vec<PublishedRecord> = self
            .records
            .iter()
            .filter(|r| r.seq >= from_seq && Some(r.seq) != b.drop_at)
            .map(|r| {
                let mut r = r.clone();
                if Some(r.seq) == b.alter_data_at {
                    // The node's copy would now say "Cooperativa Valenciana 9" for another org.
                    let altered = String::from_utf8_lossy(&r.data).replacen("Valenciana", "Valenciano", 1);
                    r.data = altered.into_bytes().into();
                }
                r
            })
            .collect();
        let batch = |records: &[PublishedRecord]| {
            let last = records.last().expect("never empty");
            let signer =
                if b.foreign_key_from.is_some_and(|k| last.seq >= k) { &self.impostor } else { &self.identity };
            pb::PullBatch {
                records: records.iter().map(record_to_proto).collect(),
                head: Some(self.signed_head(signer, last)),
            }
        };
        let mut out = Vec::new();
        let mut start = 0;
        while start < served.len() {
            let end = (start + b.batch).min(served.len());
            out.push(batch(&served[start..end]));
            if b.duplicate {
                out.push(batch(&served[start..end]));
                // Overlapping: the last two of this batch again, and the first of the next.
                let overlap = (start.max(end.saturating_sub(2)), (end + 1).min(served.len()));
                out.push(batch(&served[overlap.0..overlap.1]));
            }
            start = end;
        }
        out
    }
}

/// The fake partner as a gRPC service.
#[derive(Clone, Debug)]
struct Service(Arc<FakePartner>);

#[tonic::async_trait]
impl Replication for Service {
    type PullStream = Pin<Box<dyn Stream<Item = Result<pb::PullBatch, Status>> + Send>>;

    async fn pull(&self, request: Request<pb::PullRequest>) -> Result<Response<Self::PullStream>, Status> {
        self.0.pulls.fetch_add(1, Ordering::Relaxed);
        let batches = self.0.batches(request.get_ref().from_seq);
        let this = self.0.clone();
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            for batch in batches {
                let n = batch.records.len() as u64;
                if tx.send(Ok(batch)).await.is_err() {
                    return;
                }
                this.sent.fetch_add(n, Ordering::Relaxed);
            }
            // Live: nothing more to send, and the stream stays open until the node goes away.
            tx.closed().await;
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn get_chain_head(
        &self,
        _: Request<pb::GetChainHeadRequest>,
    ) -> Result<Response<pb::GetChainHeadReply>, Status> {
        let fake = &self.0;
        let head = fake.records.last().map(|last| fake.signed_head(&fake.identity, last));
        Ok(Response::new(pb::GetChainHeadReply {
            node: fake.node.to_string(),
            public_key: fake.public_key(),
            published: fake.records.len() as u64,
            head,
        }))
    }

    async fn list_partners(
        &self,
        _: Request<pb::ListPartnersRequest>,
    ) -> Result<Response<pb::ListPartnersReply>, Status> {
        Err(Status::unimplemented("the fake partner only serves Pull"))
    }
}

/// Serves `fake` on a free loopback port; returns its endpoint and the server's task.
pub async fn serve(fake: Arc<FakePartner>) -> (String, JoinHandle<()>) {
    let (endpoint, listener) = listen().await;
    (endpoint, serve_on(fake, listener))
}

/// A free loopback port, listening, for [`serve_on`]: until then, a node calling it waits.
pub async fn listen() -> (String, tokio::net::TcpListener) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    (format!("http://{}", listener.local_addr().expect("an address")), listener)
}

/// Serves `fake` on `listener`.
pub fn serve_on(fake: Arc<FakePartner>, listener: tokio::net::TcpListener) -> JoinHandle<()> {
    let server = tonic::transport::Server::builder()
        .add_service(ReplicationServer::new(Service(fake)))
        .serve_with_incoming(TcpListenerStream::new(listener));
    tokio::spawn(async move {
        server.await.expect("the fake partner serves");
    })
}
