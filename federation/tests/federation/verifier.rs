//! The receiver: a partner's chain is accepted whole, and every kind of tampering is refused with
//! its own fault, after which nothing more is accepted.

use imece_domain::Visibility;
use imece_federation::{ChainHead, Fault, HeadStatus, PublishedRecord, Verifier, genesis_hash};

use crate::util::*;

fn verifier() -> Verifier {
    Verifier::new(izmir(), identity(1).public_key(), None)
}

/// Feeds `records` in order and returns the first fault, with the index of the record it came at.
fn first_fault(verifier: &mut Verifier, records: &[PublishedRecord]) -> Option<(usize, Fault)> {
    records.iter().enumerate().find_map(|(i, r)| verifier.verify(r).err().map(|f| (i, f)))
}

/// After a fault, neither the genuine next record nor a genuine head is accepted.
fn assert_halted(verifier: &mut Verifier, fault: &Fault) {
    let chain = izmir_chain();
    assert_eq!(verifier.fault(), Some(fault));
    for record in &chain {
        assert_eq!(verifier.verify(record).as_ref(), Err(fault), "record seq {} after the fault", record.seq);
    }
    let head = head_at(&identity(1), &izmir(), &chain, 4);
    assert_eq!(verifier.verify_head(&head).as_ref(), Err(fault), "a head after the fault");
}

#[test]
fn the_genuine_chain_and_its_heads_are_accepted() {
    let chain = izmir_chain();
    let key = identity(1);
    let mut v = verifier();
    // A head ahead of its record waits for it, then is confirmed by it.
    assert_eq!(v.verify_head(&head_at(&key, &izmir(), &chain, 2)), Ok(HeadStatus::Pending));
    for record in &chain[..2] {
        v.verify(record).unwrap();
    }
    assert_eq!(v.confirmed(), None);
    assert_eq!(v.verify_head(&head_at(&key, &izmir(), &chain, 1)), Ok(HeadStatus::Confirmed));
    assert_eq!(v.confirmed().map(|h| h.seq), Some(1));
    for record in &chain[2..] {
        v.verify(record).unwrap();
    }
    assert_eq!(v.confirmed().map(|h| h.seq), Some(2), "the pending head was checked when seq 2 arrived");
    assert_eq!(v.verify_head(&head_at(&key, &izmir(), &chain, 4)), Ok(HeadStatus::Confirmed));
    assert_eq!(v.verify_head(&head_at(&key, &izmir(), &chain, 0)), Ok(HeadStatus::Confirmed), "an older head");
    assert_eq!(v.confirmed().map(|h| h.seq), Some(4), "an older head does not move the confirmed one back");
    assert_eq!(v.head(), Some(chain[4].head()));
    assert_eq!(v.next_seq(), 5);
    assert_eq!(v.fault(), None);
}

#[test]
fn an_altered_data_byte_is_refused() {
    let mut chain = izmir_chain();
    let mut data = chain[2].data.to_vec();
    data[5] ^= 0x01;
    chain[2].data = data.into();
    let mut v = verifier();
    let (at, fault) = first_fault(&mut v, &chain).unwrap();
    assert_eq!(at, 2);
    assert!(matches!(fault, Fault::HashMismatch { seq: 2, .. }), "{fault}");
    assert!(fault.to_string().contains("record seq 2 was altered"), "{fault}");
    assert_halted(&mut v, &fault);
}

#[test]
fn altered_metadata_is_refused() {
    let mut chain = izmir_chain();
    // The visibility changed in transit, Public to Union: the record no longer hashes to its hash.
    chain[1].metadata = metadata(&izmir(), Visibility::Union, None);
    let mut v = verifier();
    let (at, fault) = first_fault(&mut v, &chain).unwrap();
    assert_eq!(at, 1);
    assert!(matches!(fault, Fault::HashMismatch { seq: 1, .. }), "{fault}");
}

#[test]
fn a_forged_record_with_a_recomputed_hash_but_the_wrong_prev_is_refused() {
    let mut chain = izmir_chain();
    let mut forged = chain[2].clone();
    forged.data = bytes::Bytes::from_static(br#"{"occurred_on":"2025-04-07","n":666}"#);
    forged.prev_hash = [7; 32];
    chain[2] = rehash(forged);
    let mut v = verifier();
    let (at, fault) = first_fault(&mut v, &chain).unwrap();
    assert_eq!(at, 2);
    assert_eq!(fault, Fault::BrokenLink { seq: 2, expected: chain[1].hash, found: [7; 32] });
    assert!(fault.to_string().contains("does not follow the chain"), "{fault}");
}

#[test]
fn a_forged_record_rechained_to_the_end_is_caught_by_the_signed_head() {
    let genuine = izmir_chain();
    let head = head_at(&identity(1), &izmir(), &genuine, 4);
    let mut forged = genuine.clone();
    forged[2].data = bytes::Bytes::from_static(br#"{"occurred_on":"2025-04-07","n":666}"#);

    // Relinking only the changed record breaks the next link.
    let mut once = forged.clone();
    once[2] = rehash(once[2].clone());
    let (at, fault) = first_fault(&mut verifier(), &once).unwrap();
    assert_eq!((at, &fault), (3, &Fault::BrokenLink { seq: 3, expected: once[2].hash, found: genuine[2].hash }));

    // A forger who rewrites the whole rest of the chain passes the links, not the partner's signature.
    rechain(&mut forged, 2);
    let mut v = verifier();
    assert_eq!(first_fault(&mut v, &forged), None);
    let fault = v.verify_head(&head).unwrap_err();
    assert_eq!(fault, Fault::HeadMismatch { seq: 4, signed: genuine[4].hash, received: forged[4].hash });
    assert_eq!(v.confirmed(), None, "nothing of the forged chain is vouched for");
    assert_halted(&mut v, &fault);
}

#[test]
fn a_dropped_record_is_a_gap() {
    let mut chain = izmir_chain();
    chain.remove(2);
    let mut v = verifier();
    let (at, fault) = first_fault(&mut v, &chain).unwrap();
    assert_eq!((at, &fault), (2, &Fault::Gap { expected: 2, found: 3 }));
    assert!(fault.to_string().contains("expected record seq 2, got seq 3: 1 record(s)"), "{fault}");
    assert_halted(&mut v, &fault);
}

#[test]
fn swapped_records_are_refused_at_the_first_one_out_of_place() {
    let mut chain = izmir_chain();
    chain.swap(2, 3);
    let mut v = verifier();
    let (at, fault) = first_fault(&mut v, &chain).unwrap();
    // Seq 3 came where seq 2 was due: the first record out of place of any reordering is ahead.
    assert_eq!((at, &fault), (2, &Fault::Gap { expected: 2, found: 3 }));
    // The late seq 2 is not taken either.
    assert_eq!(v.verify(&izmir_chain()[2]), Err(fault));
}

#[test]
fn swapped_records_renumbered_into_order_are_refused() {
    // Swapping contents but keeping the seqs in order changes what each record hashes.
    let genuine = izmir_chain();
    let mut chain = genuine.clone();
    chain.swap(2, 3);
    chain[2].seq = 2;
    chain[3].seq = 3;
    let (at, fault) = first_fault(&mut verifier(), &chain).unwrap();
    assert_eq!(at, 2);
    assert!(matches!(fault, Fault::HashMismatch { seq: 2, .. }), "{fault}");
}

#[test]
fn a_duplicated_record_is_refused() {
    let mut chain = izmir_chain();
    chain.insert(2, chain[1].clone());
    let mut v = verifier();
    let (at, fault) = first_fault(&mut v, &chain).unwrap();
    assert_eq!((at, &fault), (2, &Fault::Duplicate { seq: 1, expected: 2 }));
    assert_halted(&mut v, &fault);
}

#[test]
fn a_redelivery_is_told_apart_without_halting() {
    let chain = izmir_chain();
    let mut v = verifier();
    assert_eq!(first_fault(&mut v, &chain[..3]), None);
    assert!(v.is_redelivery(&chain[1]), "an intact copy of a verified record");
    assert!(v.is_redelivery(&chain[2]));
    assert!(!v.is_redelivery(&chain[3]), "not verified yet");
    let mut altered = chain[1].clone();
    altered.data = "{}".into();
    assert!(!v.is_redelivery(&altered), "altered after hashing");
    assert!(!v.is_redelivery(&rehash(altered)), "other content");
    assert_eq!(v.fault(), None, "asking halts nothing");
    assert_eq!(first_fault(&mut v, &chain[3..]), None);
}

#[test]
fn a_record_going_back_with_other_content_is_out_of_order() {
    let mut chain = izmir_chain();
    let mut rewritten = chain[1].clone();
    rewritten.recorded_at_micros += 1;
    chain.insert(3, rehash(rewritten));
    let mut v = verifier();
    let (at, fault) = first_fault(&mut v, &chain).unwrap();
    assert_eq!((at, &fault), (3, &Fault::OutOfOrder { expected: 3, found: 1 }));
    assert!(fault.to_string().contains("reordered or rewritten"), "{fault}");
}

#[test]
fn a_record_from_another_origin_is_refused() {
    let r = reggio();
    let mut log = Log::default();
    log.own(&r, "OrganisationRegistered.v1", Visibility::Public);
    let reggio_chain = chain_of(&r, &log.events);
    let mut v = verifier();
    let fault = v.verify(&reggio_chain[0]).unwrap_err();
    assert_eq!(fault, Fault::WrongOrigin { seq: 0, expected: izmir(), found: r.clone() });

    // Relabelled as İzmir's, it does not link to İzmir's genesis.
    let mut relabelled = reggio_chain[0].clone();
    relabelled.origin = izmir();
    let fault = verifier().verify(&rehash(relabelled)).unwrap_err();
    assert_eq!(fault, Fault::BrokenLink { seq: 0, expected: genesis_hash(&izmir()), found: genesis_hash(&r) });
}

#[test]
fn a_partner_publishing_a_home_only_event_is_refused() {
    // A broken or malicious partner chains a person-level event; the receiver will not store it.
    let i = izmir();
    let mut log = Log::default();
    log.own(&i, "OrganisationRegistered.v1", Visibility::Public).own(&i, "PersonEnrolled.v1", Visibility::HomeOnly);
    let mut chain = chain_of(&i, &log.events[..1]);
    let e = &log.events[1];
    chain.push(rehash(PublishedRecord {
        origin: i.clone(),
        seq: 1,
        origin_position: 1,
        stream: e.stream.clone(),
        version: e.version,
        event_id: e.id,
        event_type: e.event_type.clone(),
        data: e.data.clone(),
        metadata: e.metadata.clone(),
        recorded_at_micros: e.recorded_at_micros,
        prev_hash: chain[0].hash,
        hash: [0; 32],
    }));
    let fault = first_fault(&mut verifier(), &chain).unwrap().1;
    assert_eq!(
        fault,
        Fault::NotPublic { seq: 1, event_type: "PersonEnrolled.v1".into(), visibility: Visibility::HomeOnly }
    );
}

#[test]
fn a_partner_republishing_another_nodes_event_is_refused() {
    let mut chain = izmir_chain();
    chain[4].metadata = metadata(&reggio(), Visibility::Public, Some(17));
    rechain(&mut chain, 4);
    let fault = first_fault(&mut verifier(), &chain).unwrap().1;
    assert_eq!(fault, Fault::Republished { seq: 4, partner: izmir(), written_by: reggio() });
}

#[test]
fn a_head_signed_by_another_key_is_refused() {
    let chain = izmir_chain();
    let mut v = verifier();
    v.verify(&chain[0]).unwrap();
    let forged = head_at(&identity(2), &izmir(), &chain, 0);
    let fault = v.verify_head(&forged).unwrap_err();
    assert_eq!(fault, Fault::BadSignature { node: izmir(), seq: 0, key: identity(1).public_key() });
    assert!(fault.to_string().contains("is not signed by ed25519:"), "{fault}");
    assert_halted(&mut v, &fault);
}

#[test]
fn a_head_altered_after_signing_is_refused() {
    let chain = izmir_chain();
    let mut head = head_at(&identity(1), &izmir(), &chain, 0);
    head.signed_at_micros += 1;
    assert!(matches!(verifier().verify_head(&head), Err(Fault::BadSignature { seq: 0, .. })));
    let mut head = head_at(&identity(1), &izmir(), &chain, 0);
    head.seq = 1;
    assert!(matches!(verifier().verify_head(&head), Err(Fault::BadSignature { seq: 1, .. })));
}

#[test]
fn a_head_of_another_node_is_refused() {
    let chain = izmir_chain();
    let head = head_at(&identity(1), &reggio(), &chain, 0);
    assert_eq!(verifier().verify_head(&head), Err(Fault::WrongHeadNode { seq: 0, expected: izmir(), found: reggio() }));
}

#[test]
fn a_correctly_signed_head_whose_hash_disagrees_is_refused() {
    let chain = izmir_chain();
    let key = identity(1);
    let lying = key.sign_head(&izmir(), ChainHead { seq: 1, hash: [9; 32] }, 0);

    // On a record already verified.
    let mut v = verifier();
    assert_eq!(first_fault(&mut v, &chain[..3]), None);
    let fault = v.verify_head(&lying).unwrap_err();
    assert_eq!(fault, Fault::HeadMismatch { seq: 1, signed: [9; 32], received: chain[1].hash });
    assert!(fault.to_string().starts_with("signed head for seq 1 says hash 0909"), "{fault}");
    assert_halted(&mut v, &fault);

    // Ahead of its record: refused when the record arrives.
    let mut v = verifier();
    assert_eq!(v.verify_head(&lying), Ok(HeadStatus::Pending));
    v.verify(&chain[0]).unwrap();
    assert_eq!(v.verify(&chain[1]), Err(Fault::HeadMismatch { seq: 1, signed: [9; 32], received: chain[1].hash }));
    assert_eq!(v.head(), Some(chain[0].head()), "the record the head disagrees with is not taken");
}

#[test]
fn two_signed_heads_for_one_seq_that_disagree_are_refused() {
    let key = identity(1);
    let mut v = verifier();
    let a = key.sign_head(&izmir(), ChainHead { seq: 3, hash: [1; 32] }, 0);
    let b = key.sign_head(&izmir(), ChainHead { seq: 3, hash: [2; 32] }, 1);
    assert_eq!(v.verify_head(&a), Ok(HeadStatus::Pending));
    assert_eq!(v.verify_head(&b), Err(Fault::ConflictingHeads { seq: 3, first: [1; 32], second: [2; 32] }));
}

#[test]
fn resuming_from_a_stored_seq_and_hash_goes_on_where_it_stopped() {
    let chain = izmir_chain();
    let key = identity(1);
    let mut first = verifier();
    for record in &chain[..2] {
        first.verify(record).unwrap();
    }
    let stored = first.head().unwrap();
    assert_eq!(stored, ChainHead { seq: 1, hash: chain[1].hash });

    let mut resumed = Verifier::new(izmir(), key.public_key(), Some(stored));
    assert_eq!(resumed.next_seq(), 2);
    assert_eq!(resumed.verify_head(&head_at(&key, &izmir(), &chain, 1)), Ok(HeadStatus::Confirmed));
    assert_eq!(resumed.verify_head(&head_at(&key, &izmir(), &chain, 0)), Ok(HeadStatus::Unchecked));
    assert_eq!(first_fault(&mut resumed, &chain[2..]), None);
    assert_eq!(resumed.verify_head(&head_at(&key, &izmir(), &chain, 4)), Ok(HeadStatus::Confirmed));
    assert_eq!(resumed.verify(&chain[1]), Err(Fault::Duplicate { seq: 1, expected: 5 }));

    // Resumed from a hash that is not the partner's: the next record does not link.
    let mut wrong = Verifier::new(izmir(), key.public_key(), Some(ChainHead { seq: 1, hash: [0; 32] }));
    assert_eq!(wrong.verify(&chain[2]), Err(Fault::BrokenLink { seq: 2, expected: [0; 32], found: chain[1].hash }));
    // Resumed too far: the partner's next record looks like a repeat of the past.
    let mut ahead = Verifier::new(izmir(), key.public_key(), Some(chain[3].head()));
    assert_eq!(ahead.verify(&chain[2]), Err(Fault::OutOfOrder { expected: 4, found: 2 }));
}
