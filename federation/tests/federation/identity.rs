//! A node's key file and public keys as text.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use imece_federation::{Error, Identity, PublicKey};

use crate::util::*;

#[test]
fn a_key_saved_to_a_file_loads_as_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.key");
    let created = Identity::create(&path).unwrap();

    let meta = fs::metadata(&path).unwrap();
    assert_eq!(meta.len(), 32, "the raw seed");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["node.key"], "no temporary file left behind");

    let loaded = Identity::load(&path).unwrap();
    assert_eq!(loaded.public_key(), created.public_key());
    let head = loaded.sign_head(&izmir(), izmir_chain()[0].head(), 0);
    head.verify(&created.public_key()).unwrap();
    assert!(!format!("{loaded:?}").contains(&format!("{:?}", fs::read(&path).unwrap())), "Debug hides the seed");
}

#[test]
fn two_generated_keys_differ() {
    assert_ne!(Identity::generate().unwrap().public_key(), Identity::generate().unwrap().public_key());
}

#[test]
fn an_existing_key_file_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.key");
    identity(1).save(&path).unwrap();
    let err = identity(2).save(&path).unwrap_err();
    assert!(matches!(err, Error::KeyFileExists { .. }), "{err}");
    assert_eq!(Identity::load(&path).unwrap().public_key(), identity(1).public_key());
}

#[test]
fn a_key_file_others_may_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.key");
    identity(1).save(&path).unwrap();
    for mode in [0o644, 0o640, 0o604, 0o660] {
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        let err = Identity::load(&path).unwrap_err();
        assert!(matches!(err, Error::KeyFile { .. }), "{mode:o}: {err}");
        assert!(err.to_string().contains(&format!("has mode {mode:04o}")), "{err}");
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
    fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
    assert_eq!(Identity::load(&path).unwrap().public_key(), identity(1).public_key(), "read-only is fine");
}

#[test]
fn a_key_file_of_the_wrong_length_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for len in [0, 31, 33, 64] {
        let path = dir.path().join(format!("key-{len}"));
        fs::write(&path, vec![7u8; len]).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let err = Identity::load(&path).unwrap_err();
        assert!(matches!(err, Error::KeyFile { .. }), "{len}: {err}");
        assert!(err.to_string().contains(&format!("is {len} bytes long")), "{err}");
    }
    let err = Identity::load(dir.path()).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let err = Identity::load(dir.path().join("missing")).unwrap_err();
    assert!(matches!(err, Error::Io { action: "open", .. }), "{err}");
}

#[test]
fn a_public_key_reads_back_from_its_text() {
    // RFC 8032, section 7.1, test 1.
    let seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    let seed: [u8; 32] = std::array::from_fn(|i| u8::from_str_radix(&seed[2 * i..2 * i + 2], 16).unwrap());
    let key = Identity::from_seed(seed).public_key();
    let text = "ed25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    assert_eq!(key.to_string(), text);
    assert_eq!(text.parse::<PublicKey>().unwrap(), key);
    assert_eq!(text.to_uppercase().replace("ED25519", "ed25519").parse::<PublicKey>().unwrap(), key);
    assert_eq!(serde_json::to_string(&key).unwrap(), format!("\"{text}\""));
    assert_eq!(serde_json::from_str::<PublicKey>(&format!("\"{text}\"")).unwrap(), key);
}

#[test]
fn a_malformed_public_key_is_refused_with_the_reason() {
    let cases = [
        ("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "must start with \"ed25519:\""),
        ("ed25519:d75a98", "64 hex digits"),
        ("ed25519:z75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "64 hex digits"),
        ("ed25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a00", "64 hex digits"),
        // The identity point: of small order, it would verify forged signatures.
        ("ed25519:0100000000000000000000000000000000000000000000000000000000000000", "weak"),
        // Not the encoding of any point.
        ("ed25519:0200000000000000000000000000000000000000000000000000000000000000", "not a valid"),
    ];
    for (text, reason) in cases {
        let err = text.parse::<PublicKey>().unwrap_err();
        assert!(matches!(&err, Error::PublicKey { text: t, .. } if t == text), "{err}");
        assert!(err.to_string().contains(reason), "{text}: {err}");
    }
    assert!(serde_json::from_str::<PublicKey>("\"ed25519:00\"").is_err());
}
