//! What a node publishes, and the chain it builds: deterministic, linked, hashed as FORMAT.md says.

use imece_domain::Visibility;
use imece_federation::{Chain, Error, PublishedRecord, genesis_hash, is_public};

use crate::util::*;

#[test]
fn a_node_publishes_its_own_public_events_only_in_log_order() {
    let log = izmir_log();
    let published: Vec<u64> = log.iter().filter(|e| is_public(e, &izmir()).unwrap()).map(|e| e.position).collect();
    assert_eq!(published, IZMIR_PUBLISHED, "home-only, union and replicated events stay");

    let chain = izmir_chain();
    assert_eq!(chain.iter().map(|r| r.origin_position).collect::<Vec<_>>(), IZMIR_PUBLISHED);
    assert_eq!(chain.iter().map(|r| r.seq).collect::<Vec<_>>(), [0, 1, 2, 3, 4], "gapless from 0");
    assert_eq!(chain[0].prev_hash, genesis_hash(&izmir()));
    for pair in chain.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash, "seq {} links to seq {}", pair[1].seq, pair[0].seq);
    }
    for (record, &position) in chain.iter().zip(&IZMIR_PUBLISHED) {
        let event = &log[position as usize];
        assert!(record.is_intact());
        assert_eq!(record.origin, izmir());
        assert_eq!(
            (&record.stream, record.version, record.event_id, &record.event_type),
            (&event.stream, event.version, event.id, &event.event_type)
        );
        assert_eq!((&record.data, &record.metadata), (&event.data, &event.metadata), "bytes as stored");
        assert_eq!(record.recorded_at_micros, event.recorded_at_micros);
    }
}

#[test]
fn the_event_replicated_from_reggio_emilia_is_public_for_its_origin_not_for_izmir() {
    let replicated = &izmir_log()[4];
    assert!(!is_public(replicated, &izmir()).unwrap());
    assert!(is_public(replicated, &reggio()).unwrap(), "its origin publishes it, not the node holding a copy");
}

#[test]
fn rebuilding_the_chain_from_the_log_gives_the_same_chain() {
    assert_eq!(izmir_chain(), izmir_chain());

    // Resumed from a stored head, the chain goes on exactly as if it had never stopped.
    let log = izmir_log();
    let whole = izmir_chain();
    let mut first = Chain::new(izmir());
    for e in &log[..=3] {
        first.push(e).unwrap();
    }
    let head = first.head().unwrap();
    assert_eq!(head, whole[1].head());
    let mut resumed = Chain::resume(izmir(), head);
    let rest: Vec<_> = log[4..].iter().filter_map(|e| resumed.push(e).unwrap()).collect();
    assert_eq!(rest, whole[2..]);
    assert_eq!(resumed.head(), Some(whole[4].head()));
}

#[test]
fn an_empty_chain_has_no_head_and_each_node_its_own_genesis() {
    assert_eq!(Chain::new(izmir()).head(), None);
    assert_ne!(genesis_hash(&izmir()), genesis_hash(&reggio()));
}

#[test]
fn every_field_is_in_the_hash_and_no_two_encodings_meet() {
    let base = izmir_chain()[1].clone();
    type Change = fn(&mut PublishedRecord);
    let changes: Vec<(&str, Change)> = vec![
        ("origin", |r| r.origin = reggio()),
        ("seq", |r| r.seq += 1),
        ("origin_position", |r| r.origin_position += 1),
        ("stream", |r| r.stream = imece_log::StreamId::new("org-other").unwrap()),
        ("version", |r| r.version += 1),
        ("event_id", |r| r.event_id = imece_log::EventId::from(uuid::Uuid::from_u128(1))),
        ("event_type", |r| r.event_type.push('x')),
        ("data", |r| r.data = bytes::Bytes::from(format!("{:?}x", r.data))),
        ("metadata", |r| r.metadata = bytes::Bytes::from(r.metadata[1..].to_vec())),
        ("recorded_at_micros", |r| r.recorded_at_micros -= 1),
        ("prev_hash", |r| r.prev_hash[31] ^= 1),
    ];
    for (field, change) in changes {
        let mut changed = base.clone();
        change(&mut changed);
        assert_ne!(changed.computed_hash(), base.hash, "{field} must be covered by the hash");
    }

    // Length prefixes: moving a byte from the end of data to the start of metadata is another hash.
    let mut a = base.clone();
    a.data = bytes::Bytes::from_static(b"ab");
    a.metadata = bytes::Bytes::from_static(b"c");
    let mut b = base.clone();
    b.data = bytes::Bytes::from_static(b"a");
    b.metadata = bytes::Bytes::from_static(b"bc");
    assert_ne!(a.computed_hash(), b.computed_hash());
}

/// The bytes of a record hash, written out from FORMAT.md's table independently of the crate's code.
fn format_md_record_bytes(r: &PublishedRecord) -> Vec<u8> {
    let mut bytes = Vec::new();
    let field = |bytes: &mut Vec<u8>, b: &[u8]| {
        bytes.extend_from_slice(&(b.len() as u64).to_be_bytes());
        bytes.extend_from_slice(b);
    };
    field(&mut bytes, b"imece federation record v1");
    field(&mut bytes, r.origin.as_str().as_bytes());
    bytes.extend_from_slice(&r.seq.to_be_bytes());
    bytes.extend_from_slice(&r.origin_position.to_be_bytes());
    field(&mut bytes, r.stream.as_str().as_bytes());
    bytes.extend_from_slice(&r.version.to_be_bytes());
    bytes.extend_from_slice(r.event_id.as_bytes());
    field(&mut bytes, r.event_type.as_bytes());
    field(&mut bytes, &r.data);
    field(&mut bytes, &r.metadata);
    bytes.extend_from_slice(&r.recorded_at_micros.to_be_bytes());
    bytes.extend_from_slice(&r.prev_hash);
    bytes
}

#[test]
fn hashes_are_the_ones_format_md_describes() {
    let mut genesis = Vec::new();
    genesis.extend_from_slice(&14u64.to_be_bytes());
    genesis.extend_from_slice(b"imece chain v1");
    genesis.extend_from_slice(&8u64.to_be_bytes());
    genesis.extend_from_slice(b"tr-izmir");
    assert_eq!(genesis_hash(&izmir()), *blake3::hash(&genesis).as_bytes());
    for record in izmir_chain() {
        assert_eq!(record.hash, *blake3::hash(&format_md_record_bytes(&record)).as_bytes(), "seq {}", record.seq);
    }
}

#[test]
fn the_encoding_never_changes_silently() {
    // Pinned: a change here breaks every chain already published. Write a new version instead.
    let hex = |h: [u8; 32]| h.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(hex(genesis_hash(&izmir())), GENESIS_IZMIR);
    assert_eq!(hex(izmir_chain()[4].hash), IZMIR_SEQ_4);
}

const GENESIS_IZMIR: &str = "ff84f304143be3bcf8c8c0933a28ebab8a9baf6131d7a6bb582ad8999b6b93f4";
const IZMIR_SEQ_4: &str = "1e3e5b1879c97f316d57c4d395ae1ba1f160869db300bad745691171eed02a6e";

#[test]
fn unreadable_metadata_stops_the_chain_and_leaves_it_unchanged() {
    let mut log = izmir_log();
    log[3].metadata = bytes::Bytes::from_static(br#"{"v":2}"#);
    let mut chain = Chain::new(izmir());
    chain.push(&log[0]).unwrap();
    let before = chain.head();
    let err = chain.push(&log[3]).unwrap_err();
    assert!(matches!(err, Error::Metadata { position: 3, .. }), "{err}");
    assert!(err.to_string().contains("newer"), "{err}");
    assert_eq!(chain.head(), before);
    assert_eq!(chain.push(&log[6]).unwrap().unwrap().seq, 1);
}

#[test]
fn events_out_of_log_order_are_refused() {
    let log = izmir_log();
    let mut chain = Chain::new(izmir());
    chain.push(&log[3]).unwrap();
    let err = chain.push(&log[0]).unwrap_err();
    assert!(matches!(err, Error::LogOrder { previous: 3, found: 0 }), "{err}");
    assert!(matches!(chain.push(&log[3]), Err(Error::LogOrder { .. })), "nor the same position twice");
}

#[test]
fn visibility_comes_from_the_metadata() {
    let i = izmir();
    for (visibility, published) in
        [(Visibility::Public, true), (Visibility::Union, false), (Visibility::HomeOnly, false)]
    {
        let mut log = Log::default();
        log.own(&i, "OrganisationRenamed.v1", visibility);
        assert_eq!(is_public(&log.events[0], &i).unwrap(), published, "{visibility:?}");
    }
}

#[test]
fn heads_are_signed_over_the_bytes_format_md_describes() {
    let chain = izmir_chain();
    let head = head_at(&identity(1), &izmir(), &chain, 3);
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&24u64.to_be_bytes());
    bytes.extend_from_slice(b"imece federation head v1");
    bytes.extend_from_slice(&8u64.to_be_bytes());
    bytes.extend_from_slice(b"tr-izmir");
    bytes.extend_from_slice(&3u64.to_be_bytes());
    bytes.extend_from_slice(&chain[3].hash);
    bytes.extend_from_slice(&head.signed_at_micros.to_be_bytes());
    assert_eq!(head.signed_bytes(), bytes);
    assert_eq!(bytes.len(), 88 + "tr-izmir".len());

    // Any Ed25519 implementation verifies it over those bytes with the key's 32 bytes.
    let key = ed25519_dalek::VerifyingKey::from_bytes(&identity(1).public_key().to_bytes()).unwrap();
    key.verify_strict(&bytes, &ed25519_dalek::Signature::from_bytes(&head.signature)).unwrap();
}

#[test]
fn a_record_encodes_to_as_many_bytes_as_format_md_says() {
    for r in izmir_chain() {
        let variable =
            r.origin.as_str().len() + r.stream.as_str().len() + r.event_type.len() + r.data.len() + r.metadata.len();
        assert_eq!(format_md_record_bytes(&r).len(), 154 + variable);
    }
}
