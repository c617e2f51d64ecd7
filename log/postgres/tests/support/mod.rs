//! What the tests share: where the test server is, a fresh schema per test (dropped afterwards),
//! and skipping when there is no server (unless `IMECE_REQUIRE_POSTGRES=1`).

#![allow(dead_code)]

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use imece_log_postgres::Options;
use tokio_postgres::{Client, NoTls};

/// The server the tests use unless `IMECE_TEST_POSTGRES` names another.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn url() -> String {
    std::env::var("IMECE_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

fn required() -> bool {
    std::env::var("IMECE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// Writes to stderr past libtest's capture, so that a skip shows in a plain `cargo test`.
pub fn say(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// The URL with its password, if any, replaced by `***`.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((userinfo, host)) = rest.split_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// An error and its causes, as one line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

/// `url` with `application_name` set, so that a test can find the log's sessions on the server.
#[allow(dead_code)] // Not every test binary uses every helper.
pub fn named(url: &str, application_name: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}application_name={application_name}")
}

/// The test server's URL in libpq's `key=value` form (host, port, user, database, sslmode).
#[allow(dead_code)] // Not every test binary uses every helper.
pub fn keyword_form(url: &str) -> String {
    let (url, query) = url.split_once('?').unwrap_or((url, ""));
    let config: tokio_postgres::Config = url.parse().expect("the test URL parses");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(name)) => name.clone(),
        _ => "localhost".to_owned(),
    };
    let mut form = format!("host={host} port={}", config.get_ports().first().copied().unwrap_or(5432));
    if let Some(user) = config.get_user() {
        form += &format!(" user={user}");
    }
    if let Some(dbname) = config.get_dbname() {
        form += &format!(" dbname={dbname}");
    }
    for pair in query.split('&').filter(|p| p.starts_with("sslmode=")) {
        form += &format!(" {pair}");
    }
    form
}

/// A plain client of the test server, for what the tests check behind the log's back.
pub async fn client(url: &str) -> Result<Client, String> {
    let mut config: tokio_postgres::Config = url.parse().map_err(|e| format!("{e}"))?;
    config.connect_timeout(Duration::from_secs(3));
    let (client, connection) = config.connect(NoTls).await.map_err(|e| chain(&e))?;
    tokio::spawn(connection);
    Ok(client)
}

/// The test server's URL, or `None` after saying the test is skipped when there is none. With
/// `IMECE_REQUIRE_POSTGRES=1` a missing server fails the test instead.
pub async fn server(test: &str) -> Option<String> {
    let url = url();
    let reached = async {
        let client = client(&url).await?;
        client.simple_query("SELECT 1").await.map_err(|e| chain(&e))?;
        Ok::<_, String>(())
    };
    match reached.await {
        Ok(()) => Some(url),
        Err(e) if required() => {
            panic!("IMECE_REQUIRE_POSTGRES=1, but PostgreSQL at {} is unreachable: {e}", redacted(&url))
        }
        Err(e) => {
            say(&format!(
                "SKIPPED {test}: no PostgreSQL at {} ({e}); set IMECE_TEST_POSTGRES to a server, \
                 or IMECE_REQUIRE_POSTGRES=1 to fail instead",
                redacted(&url)
            ));
            None
        }
    }
}

/// A schema of its own for one test, dropped with everything in it when the test ends.
#[derive(Debug)]
pub struct TestSchema {
    pub url: String,
    pub name: String,
}

impl TestSchema {
    pub fn new(url: &str, tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let name = format!("imece_test_{tag}_{}_{}_{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        TestSchema { url: url.to_owned(), name }
    }

    pub fn options(&self) -> Options {
        Options { schema: self.name.clone(), ..Options::default() }
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        // Drop may run inside a runtime: clean up from a thread with a runtime of its own.
        let (url, name) = (self.url.clone(), self.name.clone());
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                let client = client(&url).await?;
                client
                    .batch_execute(&format!("SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                    .await
                    .map_err(|e| chain(&e))
            })
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => say(&format!("could not drop test schema {}: {e}", self.name)),
            Err(_) => say(&format!("could not drop test schema {}: the cleanup panicked", self.name)),
        }
    }
}
