//! TLS to the server, against the test server's own certificate: `sslmode` decides whether the log's
//! sessions are encrypted (as the server sees them in `pg_stat_ssl`), `verify-ca` accepts the
//! server's certificate as its own root, `verify-full` refuses a host name the certificate is not
//! issued for and accepts one it is, a CA that did not sign the server's certificate is refused,
//! and bad TLS parameters are refused before connecting.
//!
//! Tests that need a server skip (pass, saying so) without one, unless `IMECE_REQUIRE_POSTGRES=1`;
//! they also skip when the server has `ssl = off` (TLS is the operator's choice, not a missing server).

mod support;

use std::path::{Path, PathBuf};

use imece_log::{Error, EventLog, ExpectedVersion, NewEvent, StreamId};
use imece_log_postgres::{Options, PostgresLog};
use rustls::client::verify_server_name;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::server::ParsedCertificate;
use support::TestSchema;

/// The test server as the TLS tests need it.
struct TlsServer {
    url: String,
    /// The address and port the server answered on (`inet_server_addr()`).
    addr: String,
    port: u16,
    user: String,
    password: Option<String>,
    dbname: String,
    /// The server's certificate file, when this process can read it.
    cert_file: Option<PathBuf>,
}

/// The test server, or `None` after saying the test is skipped: no server (unless
/// `IMECE_REQUIRE_POSTGRES=1`), `ssl = off`, or a test URL over a Unix socket.
async fn tls_server(test: &str) -> Option<TlsServer> {
    let url = support::server(test).await?;
    let client = support::client(&url).await.expect("a plain client");
    let row = client
        .query_one(
            "SELECT current_setting('ssl'), current_setting('ssl_cert_file'), current_setting('data_directory', true), \
             host(inet_server_addr()), inet_server_port()",
            &[],
        )
        .await
        .expect("read the server's TLS settings");
    let (ssl, cert_file, data_dir): (String, String, Option<String>) = (row.get(0), row.get(1), row.get(2));
    let (addr, port): (Option<String>, Option<i32>) = (row.get(3), row.get(4));
    if ssl != "on" {
        support::say(&format!("SKIPPED {test}: the server at {} has ssl = off", support::redacted(&url)));
        return None;
    }
    let (Some(addr), Some(port)) = (addr, port) else {
        support::say(&format!("SKIPPED {test}: the test server is reached over a Unix socket, without TLS"));
        return None;
    };
    let cert_file = match Path::new(&cert_file) {
        path if path.is_absolute() => Some(path.to_path_buf()),
        path => data_dir.map(|dir| Path::new(&dir).join(path)),
    }
    .filter(|path| std::fs::read(path).is_ok());
    let config: tokio_postgres::Config = url.parse().expect("the test URL parses");
    Some(TlsServer {
        addr,
        port: u16::try_from(port).expect("a TCP port"),
        user: config.get_user().unwrap_or("postgres").to_owned(),
        password: config.get_password().map(|p| String::from_utf8_lossy(p).into_owned()),
        dbname: config.get_dbname().unwrap_or("postgres").to_owned(),
        cert_file,
        url,
    })
}

/// A `key=value` value, quoted.
fn quoted(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl TlsServer {
    /// A `key=value` connection string to the server's address, with `host` (the name TLS checks)
    /// as given and the TLS parameters in `extra`.
    fn kv(&self, host: &str, application_name: &str, extra: &str) -> String {
        let password = self.password.as_deref().map(|p| format!(" password={}", quoted(p))).unwrap_or_default();
        format!(
            "host={} hostaddr={} port={} user={} dbname={} application_name={}{password} {extra}",
            quoted(host),
            self.addr,
            self.port,
            quoted(&self.user),
            quoted(&self.dbname),
            quoted(application_name),
        )
    }

    /// The test URL with more parameters, in whichever form it is.
    fn url_with(&self, params: &[(&str, &str)]) -> String {
        let mut url = self.url.clone();
        for (key, value) in params {
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str(&format!("{key}={value}"));
            } else {
                url.push_str(&format!(" {key}={}", quoted(value)));
            }
        }
        url
    }

    /// The server's certificate file, or `None` after saying why the test cannot use it.
    fn cert_file(&self, test: &str) -> Option<&Path> {
        if self.cert_file.is_none() {
            support::say(&format!(
                "SKIPPED {test}: the server's certificate file (ssl_cert_file) is not readable here"
            ));
        }
        self.cert_file.as_deref()
    }
}

fn stream(name: &str) -> StreamId {
    StreamId::new(name).expect("a valid stream id")
}

/// Appends to a log and reads the event back.
async fn append_and_read_back(log: &PostgresLog) {
    let s = stream("tls-org");
    let written = log
        .append(&s, ExpectedVersion::NoStream, vec![NewEvent::new("Registered.v1", "{\"over\":\"tls\"}")])
        .await
        .expect("append");
    let events = log.read_all(written.first_position, 10).await.expect("read back");
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].event_type.as_str(), &events[0].data[..]), ("Registered.v1", &b"{\"over\":\"tls\"}"[..]));
}

/// How many sessions named `application_name` the server has, and how many of them use TLS, as
/// the server reports it in `pg_stat_ssl`.
async fn sessions(url: &str, application_name: &str) -> (i64, i64) {
    let client = support::client(url).await.expect("a plain client");
    let row = client
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid \
             WHERE a.application_name = $1",
            &[&application_name],
        )
        .await
        .expect("query pg_stat_ssl");
    (row.get(0), row.get(1))
}

/// `sslmode=require` encrypts every session of the log, the writer's and the readers'; so does
/// the default (`prefer`) with a server that offers TLS; `disable` does not. A log that silently
/// connected in plain text fails here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_decides_whether_the_sessions_of_the_log_are_encrypted() {
    let test = "sslmode_decides_whether_the_sessions_of_the_log_are_encrypted";
    let Some(server) = tls_server(test).await else { return };
    for (sslmode, encrypted) in [(Some("require"), true), (None, true), (Some("disable"), false)] {
        let schema = TestSchema::new(&server.url, "tls");
        let mut params = vec![("application_name", schema.name.as_str())];
        params.extend(sslmode.map(|mode| ("sslmode", mode)));
        let log = PostgresLog::connect(&server.url_with(&params), schema.options())
            .await
            .unwrap_or_else(|e| panic!("open the log with sslmode {sslmode:?}: {e}"));
        let shown = sslmode.unwrap_or("prefer");
        assert!(log.target().ends_with(&format!("?sslmode={shown}")), "target {}", log.target());
        append_and_read_back(&log).await;
        let (all, tls) = sessions(&server.url, &schema.name).await;
        assert!(all >= 2, "sslmode {shown}: the writer's and a reader's sessions, found {all}");
        assert_eq!(tls, if encrypted { all } else { 0 }, "sslmode {shown}: {tls} of {all} sessions use TLS");
        drop(log);
    }
}

/// `verify-ca` with the server's own (self-signed) certificate as the root: the chain is checked,
/// the host name is not (the address is not a name in the certificate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_ca_accepts_the_servers_certificate_as_root() {
    let test = "verify_ca_accepts_the_servers_certificate_as_root";
    let Some(server) = tls_server(test).await else { return };
    let Some(cert) = server.cert_file(test) else { return };
    let schema = TestSchema::new(&server.url, "tls_ca");
    let url = server.kv(
        &server.addr,
        &schema.name,
        &format!("sslmode=verify-ca sslrootcert={}", quoted(&cert.display().to_string())),
    );
    let log = PostgresLog::connect(&url, schema.options()).await.expect("open the log with verify-ca");
    assert!(log.target().ends_with("?sslmode=verify-ca"), "target {}", log.target());
    append_and_read_back(&log).await;
    let (all, tls) = sessions(&server.url, &schema.name).await;
    assert!(all >= 2 && tls == all, "{tls} of {all} sessions use TLS");
}

/// The names among `candidates` the certificate in `pem_file` is issued for.
fn names_of(pem_file: &Path, candidates: &[String]) -> Vec<String> {
    let der = CertificateDer::from_pem_file(pem_file).expect("the server's certificate");
    let cert = ParsedCertificate::try_from(&der).expect("a parsable certificate");
    candidates
        .iter()
        .filter(|name| ServerName::try_from(name.as_str()).is_ok_and(|n| verify_server_name(&cert, &n).is_ok()))
        .cloned()
        .collect()
}

/// `verify-full` with the right root refuses the server's address, which its certificate does not
/// name, with an error naming the server and the mismatch; and accepts a name the certificate is
/// issued for (connecting to the same address).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_checks_the_host_name() {
    let test = "verify_full_checks_the_host_name";
    let Some(server) = tls_server(test).await else { return };
    let Some(cert) = server.cert_file(test) else { return };
    let root = format!("sslmode=verify-full sslrootcert={}", quoted(&cert.display().to_string()));
    let schema = TestSchema::new(&server.url, "tls_full");
    assert!(names_of(cert, std::slice::from_ref(&server.addr)).is_empty(), "the certificate names {}", server.addr);
    let url = server.kv(&server.addr, &schema.name, &root);
    match PostgresLog::connect(&url, schema.options()).await {
        Err(Error::Backend { message, .. }) => {
            let at = format!("{}:{}", server.addr, server.port);
            assert!(message.contains(&at), "the error names {at}: {message}");
            assert!(message.contains("sslmode=verify-full"), "the error names the mode: {message}");
            assert!(
                message.contains(&format!("certificate not valid for name \"{}\"", server.addr)),
                "the error names the mismatch: {message}"
            );
        }
        other => panic!("verify-full against {} must fail on the name, got {other:?}", server.addr),
    }

    let mut candidates = vec!["localhost".to_owned()];
    if let Ok(hostname) = std::fs::read_to_string("/etc/hostname") {
        candidates.push(hostname.trim().to_owned());
    }
    let Some(name) = names_of(cert, &candidates).into_iter().next() else {
        support::say(&format!("{test}: the certificate names none of {candidates:?}; the accepting half is skipped"));
        return;
    };
    let url = server.kv(&name, &schema.name, &root);
    let log = PostgresLog::connect(&url, schema.options()).await.expect("open the log with verify-full");
    append_and_read_back(&log).await;
    let (all, tls) = sessions(&server.url, &schema.name).await;
    assert!(all >= 2 && tls == all, "{tls} of {all} sessions use TLS");
}

/// A CA that did not sign the server's certificate is refused by every mode that checks the chain,
/// `require` included when it is given as `sslrootcert` (as in libpq).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_ca_is_refused() {
    let test = "a_foreign_ca_is_refused";
    let Some(server) = tls_server(test).await else { return };
    let key = rcgen::KeyPair::generate().expect("a key");
    let mut params = rcgen::CertificateParams::new(Vec::new()).expect("CA parameters");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.distinguished_name.push(rcgen::DnType::CommonName, "imece test CA");
    let ca = params.self_signed(&key).expect("a CA certificate");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ca_file = dir.path().join("foreign-ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write the CA");

    let schema = TestSchema::new(&server.url, "tls_foreign");
    for mode in ["verify-full", "verify-ca", "require"] {
        let extra = format!("sslmode={mode} sslrootcert={}", quoted(&ca_file.display().to_string()));
        match PostgresLog::connect(&server.kv(&server.addr, &schema.name, &extra), schema.options()).await {
            Err(Error::Backend { message, .. }) => {
                let at = format!("{}:{}", server.addr, server.port);
                assert!(message.contains(&at), "{mode}: the error names {at}: {message}");
                assert!(message.contains("UnknownIssuer"), "{mode}: the error says why: {message}");
            }
            other => panic!("{mode} with a foreign CA must fail, got {other:?}"),
        }
    }
}

/// A Unix socket never negotiates TLS (as with libpq), whatever the mode: the log opens and its
/// sessions are plain. Runs when the server's socket directory is on this machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_sockets_connect_without_tls_whatever_the_sslmode() {
    let test = "unix_sockets_connect_without_tls_whatever_the_sslmode";
    let Some(server) = tls_server(test).await else { return };
    let client = support::client(&server.url).await.expect("a plain client");
    let row = client.query_one("SHOW unix_socket_directories", &[]).await.expect("the socket directories");
    let directories: String = row.get(0);
    let Some(dir) = directories.split(',').map(str::trim).find(|d| d.starts_with('/') && Path::new(d).is_dir()) else {
        support::say(&format!("SKIPPED {test}: no socket directory of the server ({directories:?}) on this machine"));
        return;
    };
    for mode in ["prefer", "require", "verify-full"] {
        let schema = TestSchema::new(&server.url, "tls_unix");
        let password = server.password.as_deref().map(|p| format!(" password={}", quoted(p))).unwrap_or_default();
        let url = format!(
            "host={} port={} user={} dbname={}{password} application_name={} sslmode={mode}",
            quoted(dir),
            server.port,
            quoted(&server.user),
            quoted(&server.dbname),
            quoted(&schema.name),
        );
        let log = PostgresLog::connect(&url, schema.options())
            .await
            .unwrap_or_else(|e| panic!("open the log over {dir} with sslmode={mode}: {e}"));
        append_and_read_back(&log).await;
        let (all, tls) = sessions(&server.url, &schema.name).await;
        assert!(all >= 2 && tls == 0, "sslmode={mode} over a Unix socket: {tls} of {all} sessions use TLS");
    }
}

/// Bad TLS parameters are `InvalidInput` naming the parameter or the file, before any connection.
#[tokio::test]
async fn bad_tls_parameters_are_invalid_input() {
    async fn refused(url: &str) -> String {
        match PostgresLog::connect(url, Options::default()).await {
            Err(Error::InvalidInput { field, rule }) => {
                assert_eq!(field, "url", "{url}");
                assert!(!rule.contains("sekret"), "the rule shows the password: {rule}");
                rule
            }
            other => panic!("{url} must be refused, got {other:?}"),
        }
    }
    for url in [
        "postgres://imece:sekret@127.0.0.1:1/imece?sslmode=verify_full",
        "host=127.0.0.1 port=1 user=imece password=sekret sslmode=allow",
    ] {
        let rule = refused(url).await;
        assert!(rule.contains("sslmode") && rule.contains("verify-ca") && rule.contains("verify-full"), "{rule}");
    }

    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = dir.path().join("missing-ca.pem");
    let empty = dir.path().join("empty-ca.pem");
    std::fs::write(&empty, "").expect("an empty file");
    for file in [&missing, &empty] {
        for url in [
            format!("postgres://imece:sekret@127.0.0.1:1/imece?sslmode=verify-full&sslrootcert={}", file.display()),
            format!("host=127.0.0.1 port=1 sslmode=require sslrootcert={}", quoted(&file.display().to_string())),
        ] {
            let rule = refused(&url).await;
            assert!(rule.contains("sslrootcert") && rule.contains(&file.display().to_string()), "{rule}");
        }
    }

    let rule = refused("postgres://imece:sekret@127.0.0.1:1/imece?sslmode=require&sslcert=/etc/imece/client.pem").await;
    assert!(rule.contains("sslcert") && rule.contains("not supported"), "{rule}");
}
