//! The demo's partner network split among the three city nodes, and writing it through `Import`
//! while nodes come and go.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::stream;
use imece::demo::partner_network;
use imece_proto::v1 as pb;
use imece_proto::v1::import_request::Command as C;
use imece_proto::v1::registry_client::RegistryClient;
use uuid::Uuid;

use super::node::{PATIENCE, admin, channel};

/// The year-ends for which each organisation computes its membership snapshot (its published
/// member aggregate): every year the sample records.
pub const SNAPSHOT_YEARS: std::ops::RangeInclusive<i32> = 2021..=2025;

/// The node that keeps the register of the sample's organisations of `city`.
pub fn home_node(city: &str) -> &'static str {
    match city {
        "İzmir" => "tr-izmir",
        // Leverano has no node of its own: its cooperatives are registered in Reggio Emilia.
        "Reggio nell'Emilia" | "Leverano" => "it-reggio-emilia",
        "Marseille" => "fr-marseille",
        other => panic!("the sample has no city {other}"),
    }
}

/// One organisation's commands, in the order they must be applied.
#[derive(Clone, Debug)]
pub struct OrgItems {
    pub id: Uuid,
    pub name: &'static str,
    pub items: Vec<pb::ImportRequest>,
}

/// The sample of `seed` by home node: each organisation's commands (members, assemblies,
/// elections, accounts, surplus allocations), then a membership snapshot for each year-end.
pub fn by_node(seed: u64) -> BTreeMap<&'static str, Vec<OrgItems>> {
    let sample = partner_network(seed);
    let mut out: BTreeMap<&'static str, Vec<OrgItems>> = BTreeMap::new();
    for org in &sample.organisations {
        let id = org.id.to_string();
        let mut items: Vec<pb::ImportRequest> = sample
            .items
            .iter()
            .filter(|i| {
                i.command
                    .as_ref()
                    .and_then(imece_server::convert::command_header)
                    .is_some_and(|h| h.organisation_id == id)
            })
            .cloned()
            .collect();
        for year in SNAPSHOT_YEARS {
            items.push(pb::ImportRequest {
                command: Some(C::ComputeMembershipSnapshot(pb::ComputeMembershipSnapshotRequest {
                    header: Some(pb::CommandHeader {
                        request_id: Uuid::new_v5(&org.id, format!("snapshot {year}").as_bytes()).to_string(),
                        expected_version: None,
                        organisation_id: id.clone(),
                    }),
                    occurred_on: format!("{}-01-15", year + 1),
                    as_of: format!("{year}-12-31"),
                })),
            });
        }
        out.entry(home_node(org.city)).or_default().push(OrgItems { id: org.id, name: org.name, items });
    }
    out
}

/// Commands per `Import` call, and the pause between two calls of one writer: writing is spread
/// over a few seconds, so that nodes die and come back while it goes on.
pub const CHUNK: usize = 5;
pub const PACE: Duration = Duration::from_millis(250);

/// Writes `org`'s commands at the node on `addr`, [`CHUNK`] at a time, counting each command done
/// in `progress`. Returns how many calls had to be repeated because the node was away.
pub async fn write_org(addr: &str, org: &OrgItems, progress: &AtomicUsize) -> usize {
    let mut retries = 0;
    for chunk in org.items.chunks(CHUNK) {
        retries += import_until_done(addr, org.name, chunk).await - 1;
        progress.fetch_add(chunk.len(), Ordering::Relaxed);
        tokio::time::sleep(PACE).await;
    }
    retries
}

/// Imports `items` (of the organisation `name`) at the node on `addr`, again and again while the
/// node is unreachable or goes away mid-import (every request is idempotent, so a retry records
/// nothing twice). Returns how many attempts it took.
pub async fn import_until_done(addr: &str, name: &str, items: &[pb::ImportRequest]) -> usize {
    let started = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let outcome = match channel(addr).await {
            Ok(channel) => RegistryClient::new(channel)
                .import(admin(stream::iter(items.to_vec())))
                .await
                .map(tonic::Response::into_inner)
                .map_err(|s| format!("{:?}: {}", s.code(), s.message())),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(reply) if reply.failures.is_empty() => {
                assert_eq!(reply.accepted, items.len() as u64, "{name}");
                return attempts;
            }
            // A node stopping may refuse the items still in flight: try again once it is back.
            Ok(reply) if !reply.failures.iter().all(|f| matches!(f.code.as_str(), "UNAVAILABLE" | "CANCELLED")) => {
                panic!("importing {name} at {addr}: {:?}", reply.failures)
            }
            outcome => {
                let why = outcome.map_or_else(|e| e, |r| format!("{:?}", r.failures));
                assert!(started.elapsed() < PATIENCE, "importing {name} at {addr}: {why}");
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        }
    }
}
