//! Opening an existing log only (`Options::create` false, `EmbeddedLog::open_existing`): a missing
//! directory, a file, or a directory that holds no log is refused naming the path, and nothing is
//! created (not even the `LOCK` file); an existing log opens, an empty one included.

use std::fs;
use std::path::Path;

use imece_log::{Error, EventLog, ExpectedVersion, NewEvent, StreamId};
use imece_log_embedded::{EmbeddedLog, Options};

/// Asserts that opening `dir` was refused as holding no log, naming it and saying `why`.
#[track_caller]
fn assert_no_log(result: imece_log::Result<EmbeddedLog>, dir: &Path, why: &str) {
    match result {
        Err(Error::InvalidInput { field, rule }) => {
            assert_eq!(field, "dir");
            assert!(rule.contains(&dir.display().to_string()), "the error names {}: {rule}", dir.display());
            assert!(rule.contains(why), "the error says {why:?}: {rule}");
            assert!(rule.contains("nothing was created"), "the error says nothing was created: {rule}");
        }
        other => panic!("opening {} must be refused with InvalidInput, got {other:?}", dir.display()),
    }
}

#[test]
fn a_missing_directory_is_refused_and_not_created() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("typo").join("log");
    assert_no_log(EmbeddedLog::open_existing(&dir), &dir, "no such directory");
    let options = Options { create: false, ..Options::default() };
    assert_no_log(EmbeddedLog::open_with(&dir, options), &dir, "no such directory");
    assert!(!tmp.path().join("typo").exists(), "refusing a missing directory must not create it");
}

#[test]
fn a_file_or_a_directory_without_a_log_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    fs::write(&file, "not a log").unwrap();
    assert_no_log(EmbeddedLog::open_existing(&file), &file, "not a directory");
    assert_eq!(fs::read(&file).unwrap(), b"not a log", "a refused file is left as it was");

    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    fs::write(empty.join("notes.txt"), "hello").unwrap();
    assert_no_log(EmbeddedLog::open_existing(&empty), &empty, "holds no segment file");
    let names: Vec<_> = fs::read_dir(&empty).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["notes.txt"], "a refused directory is left as it was: no LOCK, no segment");
}

#[tokio::test]
async fn an_existing_log_opens_even_an_empty_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    drop(EmbeddedLog::open(&dir).unwrap());
    let log = EmbeddedLog::open_existing(&dir).expect("an empty log that exists opens");
    assert_eq!(log.head().await.unwrap(), 0);
    let stream = StreamId::new("org-1").unwrap();
    log.append(&stream, ExpectedVersion::NoStream, vec![NewEvent::new("Registered.v1", "{}")]).await.unwrap();
    drop(log);
    let log = EmbeddedLog::open_existing(&dir).expect("the log opens again");
    assert_eq!(log.stream_version(&stream).await.unwrap(), Some(0), "its event is there");
}
