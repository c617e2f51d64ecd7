//! TLS to the server (ADR 0012): libpq's `sslmode` and `sslrootcert` connection parameters, over
//! rustls with its `ring` provider.
//!
//! tokio-postgres knows `sslmode` only as `disable`, `prefer` and `require`, and refuses parameters it
//! does not know; so [`take_tls_params`] takes `sslmode` and `sslrootcert` out of the connection
//! string (either form) before tokio-postgres parses the rest, and [`MakeRustls`] does what libpq
//! does with them:
//!
//! | `sslmode` | TLS | certificate checked |
//! |---|---|---|
//! | `disable` | never | – |
//! | `prefer` (default) | if the server offers it | only against `sslrootcert` when given |
//! | `require` | always | only against `sslrootcert` when given (then as `verify-ca`) |
//! | `verify-ca` | always | chain to `sslrootcert`, else to the system's roots |
//! | `verify-full` | always | chain as `verify-ca`, and the host name |
//!
//! Whatever the mode, the server's handshake signatures are verified with its certificate's key.
//! Unix sockets never use TLS (as with libpq). No client certificates, no CRLs, no channel binding.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use imece_log::{Error, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::{ChannelBinding as ChannelBindingMode, Host, SslMode as PgSslMode};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_postgres::{Config, Socket};

/// libpq's `sslmode`, without `allow` (plain first, TLS only if the server insists).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

const SSLMODES: &str = "disable, prefer, require, verify-ca or verify-full";

impl SslMode {
    fn parse(value: &str) -> Result<SslMode> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(Error::invalid("url", format!("sslmode must be {SSLMODES}, not {other:?}")));
            }
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Where the certificates that sign the server's come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RootCert {
    /// A PEM file of one or more CA certificates.
    File(PathBuf),
    /// `sslrootcert=system`: the system's trust store (libpq 16 and later).
    System,
}

/// The TLS parameters of a connection string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TlsParams {
    pub(crate) mode: SslMode,
    pub(crate) root_cert: Option<RootCert>,
}

/// Parameters of libpq tokio-postgres does not know and imece does not implement: refused by name
/// rather than as an unknown option.
const UNSUPPORTED: [&str; 5] = ["sslcert", "sslkey", "sslpassword", "sslcrl", "sslcrldir"];

/// Takes `sslmode` and `sslrootcert` out of a connection string, in URL or `key=value` form, and
/// returns the rest (for tokio-postgres, which parses it as before) and what they say. A key given
/// twice counts last, as in libpq. What is not understood here is left for tokio-postgres to refuse.
pub(crate) fn take_tls_params(url: &str) -> Result<(String, TlsParams)> {
    let (mut mode, mut root_cert) = (None, None);
    let mut take = |key: &str, value: &str| -> Result<bool> {
        match key {
            "sslmode" => mode = Some(SslMode::parse(value)?),
            "sslrootcert" if value.is_empty() => {
                return Err(Error::invalid("url", "sslrootcert must name a PEM file of CA certificates"));
            }
            "sslrootcert" if value == "system" => root_cert = Some(RootCert::System),
            "sslrootcert" => root_cert = Some(RootCert::File(PathBuf::from(value))),
            key if UNSUPPORTED.contains(&key) => {
                return Err(Error::invalid(
                    "url",
                    format!(
                        "{key} is not supported: no client certificates or revocation lists, only sslmode and sslrootcert"
                    ),
                ));
            }
            _ => return Ok(false),
        }
        Ok(true)
    };
    let rest = match url_query(url) {
        Some((head, query)) => {
            let mut kept = Vec::new();
            for segment in query.split('&') {
                let taken = match segment.split_once('=') {
                    Some((key, value)) => {
                        let key = percent_decode(key)?;
                        is_tls_key(&key) && take(&key, &percent_decode(value)?)?
                    }
                    None => false,
                };
                if !taken {
                    kept.push(segment);
                }
            }
            if kept.is_empty() { head.to_owned() } else { format!("{head}?{}", kept.join("&")) }
        }
        None if crate::is_url(url) => url.to_owned(),
        None => {
            let mut rest = String::with_capacity(url.len());
            let mut from = 0;
            for (start, end, key, value) in key_values(url) {
                if is_tls_key(key) && take(key, &value)? {
                    rest.push_str(&url[from..start]);
                    from = end;
                }
            }
            rest.push_str(&url[from..]);
            rest
        }
    };
    // libpq 16: sslrootcert=system makes verify-full the default.
    let default = if root_cert == Some(RootCert::System) { SslMode::VerifyFull } else { SslMode::Prefer };
    Ok((rest, TlsParams { mode: mode.unwrap_or(default), root_cert }))
}

fn is_tls_key(key: &str) -> bool {
    key == "sslmode" || key == "sslrootcert" || UNSUPPORTED.contains(&key)
}

/// A URL's text before its query and the query, as tokio-postgres splits them: the credentials end
/// at the first `@`, and the query starts at the first `?` after them.
fn url_query(url: &str) -> Option<(&str, &str)> {
    let scheme = ["postgres://", "postgresql://"].into_iter().find(|p| url.starts_with(p))?;
    let after_credentials = url[scheme.len()..].find('@').map_or(scheme.len(), |at| scheme.len() + at + 1);
    let question = after_credentials + url[after_credentials..].find('?')?;
    Some((&url[..question], &url[question + 1..]))
}

/// `%XX` decoded, as tokio-postgres decodes URL parameters (a `%` without two hex digits stays).
fn percent_decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| Error::invalid("url", "a parameter is not UTF-8 once percent-decoded"))
}

/// The parameters of a `key=value` connection string, each with its byte range, as tokio-postgres
/// reads them (values bare up to white space, or quoted in `'…'`; `\` escapes the next character).
/// Stops where the string stops making sense: tokio-postgres then refuses it itself.
fn key_values(s: &str) -> Vec<(usize, usize, &str, String)> {
    let mut found = Vec::new();
    let mut it = s.char_indices().peekable();
    let skip_ws = |it: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
        while it.next_if(|(_, c)| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_ws(&mut it);
        let Some(&(start, _)) = it.peek() else { break };
        while it.next_if(|&(_, c)| !c.is_whitespace() && c != '=').is_some() {}
        let key_end = it.peek().map_or(s.len(), |&(i, _)| i);
        if key_end == start {
            break;
        }
        skip_ws(&mut it);
        if it.next_if(|&(_, c)| c == '=').is_none() {
            break;
        }
        skip_ws(&mut it);
        let quoted = it.next_if(|&(_, c)| c == '\'').is_some();
        let mut value = String::new();
        let mut closed = !quoted;
        while let Some(&(_, c)) = it.peek() {
            if (quoted && c == '\'') || (!quoted && c.is_whitespace()) {
                break;
            }
            it.next();
            if c == '\\' {
                if let Some((_, escaped)) = it.next() {
                    value.push(escaped);
                }
            } else {
                value.push(c);
            }
        }
        if quoted {
            closed = it.next_if(|&(_, c)| c == '\'').is_some();
        }
        if !closed || (!quoted && value.is_empty()) {
            break;
        }
        let end = it.peek().map_or(s.len(), |&(i, _)| i);
        found.push((start, end, &s[start..key_end], value));
    }
    found
}

/// Makes the TLS connections of one log's sessions: one rustls configuration, built once.
#[derive(Clone)]
pub(crate) struct MakeRustls {
    config: Arc<ClientConfig>,
    mode: SslMode,
    /// The configured hosts and their ports, to name `host:port` in handshake errors.
    hosts: Arc<Vec<(String, u16)>>,
}

impl fmt::Debug for MakeRustls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MakeRustls").field("mode", &self.mode).finish_non_exhaustive()
    }
}

impl MakeRustls {
    /// Reads the root certificates `params` call for, builds the rustls configuration, and sets
    /// the mode tokio-postgres negotiates TLS with in `config`.
    pub(crate) fn new(params: &TlsParams, config: &mut Config) -> Result<MakeRustls> {
        let mode = params.mode;
        if config.get_channel_binding() == ChannelBindingMode::Require {
            return Err(Error::invalid(
                "url",
                "channel_binding=require is not supported: SCRAM authenticates without channel binding",
            ));
        }
        if params.root_cert == Some(RootCert::System) && mode != SslMode::VerifyFull {
            return Err(Error::invalid(
                "url",
                format!("sslrootcert=system needs sslmode=verify-full (as in libpq), not {}", mode.as_str()),
            ));
        }
        // libpq: a root certificate makes prefer and require check the chain, as verify-ca.
        let roots = match (mode, &params.root_cert) {
            (SslMode::Disable, _) => None,
            (_, Some(RootCert::File(path))) => Some(read_roots(path)?),
            (SslMode::VerifyCa | SslMode::VerifyFull, _) => Some(system_roots(mode)?),
            (SslMode::Prefer | SslMode::Require, _) => None,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Verifier {
            roots: roots.map(Arc::new),
            check_name: mode == SslMode::VerifyFull,
            algorithms: provider.signature_verification_algorithms,
        };
        let mut tls = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Backend { backend: "postgres", message: format!("TLS configuration: {e}") })?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        // What libpq 17 offers: needed by servers negotiating TLS directly (sslnegotiation=direct).
        tls.alpn_protocols = vec![b"postgresql".to_vec()];

        let only_unix = !config.get_hosts().is_empty()
            && config.get_hostaddrs().is_empty()
            && config.get_hosts().iter().all(|h| !matches!(h, Host::Tcp(_)));
        config.ssl_mode(match mode {
            // libpq never uses TLS on a Unix socket, whatever the mode.
            _ if only_unix => PgSslMode::Disable,
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => PgSslMode::Require,
        });
        let hosts = crate::host_ports(config)
            .filter_map(|(host, port)| match host {
                Host::Tcp(name) => Some((name.clone(), port)),
                Host::Unix(_) => None,
            })
            .collect();
        Ok(MakeRustls { config: Arc::new(tls), mode, hosts: Arc::new(hosts) })
    }

    pub(crate) fn mode(&self) -> SslMode {
        self.mode
    }
}

/// The CA certificates of a PEM file, every one of them: a file that cannot be read, holds none,
/// or holds one that is not a usable certificate is refused, naming it.
fn read_roots(path: &std::path::Path) -> Result<RootCertStore> {
    let shown = path.display();
    let pem =
        std::fs::read(path).map_err(|e| Error::invalid("url", format!("sslrootcert {shown} cannot be read: {e}")))?;
    let mut roots = RootCertStore::empty();
    for (i, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
        let cert = cert.map_err(|e| Error::invalid("url", format!("sslrootcert {shown} is not valid PEM: {e}")))?;
        roots.add(cert).map_err(|e| {
            Error::invalid("url", format!("sslrootcert {shown}: certificate {} is not usable: {e}", i + 1))
        })?;
    }
    if roots.is_empty() {
        return Err(Error::invalid("url", format!("sslrootcert {shown} holds no PEM certificate")));
    }
    Ok(roots)
}

/// The system's trust store (what OpenSSL on the machine trusts), for a verifying mode without a
/// root certificate file.
fn system_roots(mode: SslMode) -> Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let errors: Vec<String> = found.errors.iter().map(ToString::to_string).collect();
        return Err(Error::invalid(
            "url",
            format!(
                "sslmode={} without sslrootcert checks the server against the system's root certificates, but \
                 none were found{}; name a CA file with sslrootcert",
                mode.as_str(),
                if errors.is_empty() { String::new() } else { format!(" ({})", errors.join("; ")) }
            ),
        ));
    }
    Ok(roots)
}

/// Checks the server's certificate as the mode asks: its chain when there are roots, its name
/// too for verify-full. The handshake signatures are always checked, so the server holds the
/// private key of the certificate it presented.
#[derive(Debug)]
struct Verifier {
    roots: Option<Arc<RootCertStore>>,
    check_name: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(&cert, roots, intermediates, now, self.algorithms.all)?;
            if self.check_name {
                verify_server_name(&cert, server_name)?;
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl MakeTlsConnect<Socket> for MakeRustls {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnect;
    type Error = HandshakeError;

    /// Called for every connection, TLS or not (a Unix socket's `host` is empty): a host that is
    /// no name fails the handshake, if there is one, not the connection.
    fn make_tls_connect(&mut self, host: &str) -> std::result::Result<RustlsConnect, HandshakeError> {
        let port = self.hosts.iter().find(|(name, _)| name == host).map_or(5432, |(_, port)| *port);
        let server = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        let name = ServerName::try_from(host.to_owned()).map_err(|e| format!("{host:?} is not a host name: {e}"));
        Ok(RustlsConnect {
            connector: tokio_rustls::TlsConnector::from(self.config.clone()),
            name,
            server,
            mode: self.mode,
        })
    }
}

/// One TLS handshake with one server.
pub(crate) struct RustlsConnect {
    connector: tokio_rustls::TlsConnector,
    name: std::result::Result<ServerName<'static>, String>,
    server: String,
    mode: SslMode,
}

impl TlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type Error = HandshakeError;
    type Future = Pin<Box<dyn Future<Output = std::result::Result<RustlsStream, HandshakeError>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        Box::pin(async move {
            let RustlsConnect { connector, name, server, mode } = self;
            let name = name.map_err(|reason| HandshakeError { server: server.clone(), mode, reason })?;
            match connector.connect(name, stream).await {
                Ok(stream) => Ok(RustlsStream(stream)),
                Err(e) => Err(HandshakeError { server, mode, reason: reason(&e) }),
            }
        })
    }
}

/// Why a handshake failed, with a hint for the two usual mistakes.
fn reason(e: &io::Error) -> String {
    let hint = match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        )) => {
            " (verify-full needs the host of the connection string to be a name the certificate is \
                issued for; hostaddr can give the address to connect to)"
        }
        Some(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
            " (the server's certificate is not signed by a certificate of sslrootcert, or of the system's \
             roots when sslrootcert is not given)"
        }
        _ => "",
    };
    format!("{e}{hint}")
}

/// A failed TLS handshake: the server as `host:port`, the mode, and why.
#[derive(Debug)]
pub(crate) struct HandshakeError {
    server: String,
    mode: SslMode,
    reason: String,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "server {}, sslmode={}: {}", self.server, self.mode.as_str(), self.reason)
    }
}

impl std::error::Error for HandshakeError {}

/// A session's TLS stream.
pub(crate) struct RustlsStream(tokio_rustls::client::TlsStream<Socket>);

impl AsyncRead for RustlsStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl TlsStream for RustlsStream {
    /// No channel binding (`tls-server-end-point`): SCRAM authenticates without it, as libpq does
    /// with `channel_binding=prefer` when it is not offered.
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(url: &str) -> (String, TlsParams) {
        take_tls_params(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    fn file(path: &str) -> Option<RootCert> {
        Some(RootCert::File(PathBuf::from(path)))
    }

    #[test]
    fn url_form_loses_only_the_tls_parameters() {
        let (rest, params) = split("postgres://u:p%3F@h:5433/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20x.pem");
        assert_eq!(rest, "postgres://u:p%3F@h:5433/db");
        assert_eq!(params, TlsParams { mode: SslMode::VerifyFull, root_cert: file("/etc/ca x.pem") });

        let (rest, params) =
            split("postgresql://u@h/db?application_name=x&sslmode=require&connect_timeout=3&host=%2Ftmp");
        assert_eq!(rest, "postgresql://u@h/db?application_name=x&connect_timeout=3&host=%2Ftmp");
        assert_eq!(params, TlsParams { mode: SslMode::Require, root_cert: None });
        rest.parse::<Config>().expect("tokio-postgres takes the rest");

        // A `?` in the password is not the query; the last sslmode counts.
        let (rest, params) = split("postgres://u:a?b@h/db?sslmode=disable&ssl%6Dode=verify-ca");
        assert_eq!(rest, "postgres://u:a?b@h/db");
        assert_eq!(params.mode, SslMode::VerifyCa);

        let (rest, params) = split("postgres://u@h/db");
        assert_eq!((rest.as_str(), params.mode), ("postgres://u@h/db", SslMode::Prefer));
    }

    #[test]
    fn key_value_form_loses_only_the_tls_parameters() {
        let (rest, params) =
            split("host=h sslmode = verify-ca user=u sslrootcert='/a b/c\\'s.pem' password='x y' dbname=d");
        assert_eq!(params, TlsParams { mode: SslMode::VerifyCa, root_cert: file("/a b/c's.pem") });
        let config: Config = rest.parse().expect("tokio-postgres takes the rest");
        assert_eq!((config.get_user(), config.get_dbname()), (Some("u"), Some("d")));
        assert_eq!(config.get_password(), Some(&b"x y"[..]));

        let (_, params) = split("sslrootcert=system");
        assert_eq!(params, TlsParams { mode: SslMode::VerifyFull, root_cert: Some(RootCert::System) });
        let (rest, params) = split("host=h");
        assert_eq!((rest.as_str(), params.mode), ("host=h", SslMode::Prefer));
    }

    #[test]
    fn bad_values_name_the_parameter() {
        for url in ["postgres://h/db?sslmode=verify_full", "host=h sslmode=allow", "host=h sslmode=REQUIRE"] {
            match take_tls_params(url) {
                Err(Error::InvalidInput { field, rule }) => {
                    assert_eq!(field, "url");
                    assert!(rule.contains("sslmode") && rule.contains("verify-full"), "{rule}");
                }
                other => panic!("{url}: {other:?}"),
            }
        }
        for url in ["postgres://h/db?sslcert=/c.pem", "host=h sslkey=/k.pem", "postgres://h/db?sslrootcert="] {
            assert!(matches!(take_tls_params(url), Err(Error::InvalidInput { .. })), "{url}");
        }
    }

    #[test]
    fn unix_sockets_never_negotiate_tls() {
        let mut config: Config = "host=/var/run/postgresql user=u".parse().unwrap();
        let params = TlsParams { mode: SslMode::Require, root_cert: None };
        MakeRustls::new(&params, &mut config).expect("a connector");
        assert_eq!(config.get_ssl_mode(), PgSslMode::Disable);

        let mut config: Config = "host=db.example user=u".parse().unwrap();
        MakeRustls::new(&params, &mut config).expect("a connector");
        assert_eq!(config.get_ssl_mode(), PgSslMode::Require);
    }
}
