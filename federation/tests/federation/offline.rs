//! `verify_log`: a node's own log and its stored signed heads, checked offline.

use imece_federation::{Fault, Identity, Problem, SignedHead, verify_log};

use crate::util::*;

fn heads(identity: &Identity) -> Vec<SignedHead> {
    let chain = izmir_chain();
    [1, 3, 4].iter().map(|&seq| head_at(identity, &izmir(), &chain, seq)).collect()
}

#[test]
fn an_untouched_log_agrees_with_its_heads() {
    let key = identity(1);
    let report = verify_log(izmir_log(), &izmir(), &heads(&key), &key.public_key());
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.events, report.published, report.heads_confirmed), (9, 5, 3));
    assert_eq!(report.head, Some(izmir_chain()[4].head()));
    assert!(report.to_string().ends_with("no problems"), "{report}");
}

#[test]
fn a_public_event_changed_after_signing_breaks_every_head_from_it_on() {
    let key = identity(1);
    let mut log = izmir_log();
    let mut data = log[6].data.to_vec(); // seq 2
    data[3] ^= 0x20;
    log[6].data = data.into();
    let report = verify_log(log, &izmir(), &heads(&key), &key.public_key());
    assert_eq!(report.heads_confirmed, 1, "the head at seq 1 is before the change");
    let seqs: Vec<u64> = report
        .problems
        .iter()
        .map(|p| match p {
            Problem::Head(Fault::HeadMismatch { seq, .. }) => *seq,
            other => panic!("unexpected {other}"),
        })
        .collect();
    assert_eq!(seqs, [3, 4]);
    assert!(report.to_string().contains("2 problem(s)"), "{report}");
}

#[test]
fn a_home_only_event_changed_leaves_the_chain_as_it_was() {
    let key = identity(1);
    let mut log = izmir_log();
    log[1].data = bytes::Bytes::from_static(b"{}");
    assert!(verify_log(log, &izmir(), &heads(&key), &key.public_key()).is_ok());
}

#[test]
fn a_missing_event_is_found() {
    let key = identity(1);
    let mut log = izmir_log();
    log.remove(3); // seq 1
    let report = verify_log(log, &izmir(), &heads(&key), &key.public_key());
    assert_eq!(report.problems[0], Problem::PositionGap { expected: 3, found: 4 });
    assert!(report.problems.contains(&Problem::HeadBeyondLog { seq: 4, published: 4 }), "{report}");
    assert!(report.problems.iter().any(|p| matches!(p, Problem::Head(Fault::HeadMismatch { seq: 1, .. }))));
}

#[test]
fn heads_not_signed_by_the_node_are_found() {
    let key = identity(1);
    let mut stored = heads(&key);
    stored.push(head_at(&identity(2), &izmir(), &izmir_chain(), 2));
    stored.push(head_at(&key, &reggio(), &izmir_chain(), 2));
    let report = verify_log(izmir_log(), &izmir(), &stored, &key.public_key());
    assert_eq!(report.heads_confirmed, 3);
    assert!(matches!(report.problems[0], Problem::Head(Fault::BadSignature { seq: 2, .. })), "{report}");
    assert!(matches!(report.problems[1], Problem::Head(Fault::WrongHeadNode { seq: 2, .. })), "{report}");
    assert_eq!(report.problems.len(), 2);
}

#[test]
fn unreadable_metadata_stops_the_check_there() {
    let key = identity(1);
    let mut log = izmir_log();
    log[6].metadata = bytes::Bytes::from_static(b"not json");
    let report = verify_log(log, &izmir(), &heads(&key), &key.public_key());
    assert!(matches!(report.problems[..], [Problem::Unreadable { position: 6, .. }]), "{report}");
    assert_eq!((report.events, report.published, report.heads_confirmed, report.heads_unchecked), (9, 2, 1, 2));
}

/// A partner's record as a receiver stores it: the origin's metadata with position, seq and hash.
fn replicated_metadata(origin: &imece_domain::NodeId, seq: u64) -> bytes::Bytes {
    let mut m = imece_domain::Metadata::decode(&metadata(origin, imece_domain::Visibility::Public, None)).unwrap();
    m.origin.position = Some(seq * 2);
    m.origin.seq = Some(seq);
    m.origin.hash = Some(imece_federation::hash_to_hex(&[seq as u8; 32]));
    m.encode().unwrap().into()
}

#[test]
fn replicated_records_are_counted_and_a_missing_or_doubled_one_is_found() {
    let key = identity(1);
    let with_replicas = |seqs: &[u64]| {
        let mut log = Log::default();
        for &seq in seqs {
            log.push("OrganisationRenamed.v1", replicated_metadata(&reggio(), seq));
        }
        verify_log(log.events, &izmir(), &[], &key.public_key())
    };
    let report = with_replicas(&[0, 1, 2]);
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.published, 0, "replicated events are not this node's to publish");
    assert_eq!(report.replicated.get(&reggio()), Some(&3));
    assert!(report.to_string().contains("3 record(s) replicated from it-reggio-emilia"), "{report}");

    let report = with_replicas(&[0, 2]);
    assert_eq!(
        report.problems,
        vec![Problem::ReplicaSeq { origin: reggio(), position: 1, expected: 1, found: 2 }],
        "{report}"
    );
    let report = with_replicas(&[0, 1, 1, 2]);
    assert_eq!(
        report.problems,
        vec![Problem::ReplicaSeq { origin: reggio(), position: 2, expected: 2, found: 1 }],
        "{report}"
    );
}
