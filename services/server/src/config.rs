//! The node's configuration: a TOML file, overridden by environment and command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;

/// Everything a node needs to run.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the gRPC server listens. Loopback unless told otherwise.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The node's directory: the embedded log in `log/`, the keystore of personal data in `keys/`.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// The node's name in the federation (lower-case letters, digits, hyphens), recorded as the
    /// origin of every event it writes.
    #[serde(default = "default_node")]
    pub node: String,
    /// TLS for the server; required when `listen` is not a loopback address.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Who may call the API, with which role.
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
    /// Reference data for the indicators, as CSV files.
    #[serde(default)]
    pub reference: ReferenceConfig,
    /// This node's federation identity and the partners it pulls from.
    #[serde(default)]
    pub federation: FederationConfig,
    /// Where the event log is: the embedded log in `<data_dir>/log` by default.
    #[serde(default)]
    pub log: LogConfig,
}

/// The event log's backend (ADR 0001, 0012).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `postgres://user@host:port/database` (or libpq's `host=… dbname=…`) for PostgreSQL,
    /// `kurrentdb://host:2113,…` for KurrentDB (a build with the `kurrentdb` feature); absent for
    /// the embedded log in `<data_dir>/log`. A password in it makes this file a secret: readable
    /// by the node's user only.
    pub url: Option<String>,
    /// The PostgreSQL schema holding the log's tables (created if missing); one node per schema.
    #[serde(default = "default_schema")]
    pub schema: String,
    /// The KurrentDB stream holding the whole log; one node per stream.
    #[serde(default = "default_stream")]
    pub stream: String,
    /// PostgreSQL only: the connections that write groups of appends at once (ADR 0012); at
    /// least 1. Absent: the library's default, 2.
    pub writers: Option<usize>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { url: None, schema: default_schema(), stream: default_stream(), writers: None }
    }
}

fn default_schema() -> String {
    "imece".to_owned()
}

fn default_stream() -> String {
    crate::backend::DEFAULT_KURRENT_STREAM.to_owned()
}

/// Federation (ADR 0010, 0011): the node's signing key, and the partner nodes whose public events
/// it replicates. Partners pull from this node with tokens of role `partner` (see `[[tokens]]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationConfig {
    /// The node's Ed25519 key file (the raw 32-byte seed, mode 0600). Created on first start if
    /// missing; never replaced. Default: `<data_dir>/federation/node.key`.
    pub key_file: Option<PathBuf>,
    /// How often, in seconds, the node records a signed head of its chain in
    /// `<data_dir>/federation/heads` when it has published something since the last one.
    #[serde(default = "default_head_interval")]
    pub head_interval_secs: u64,
    /// The partners this node pulls from.
    #[serde(default)]
    pub partners: Vec<PartnerConfig>,
}

impl Default for FederationConfig {
    fn default() -> Self {
        FederationConfig { key_file: None, head_interval_secs: default_head_interval(), partners: Vec::new() }
    }
}

fn default_head_interval() -> u64 {
    10
}

/// A partner node this node pulls from.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerConfig {
    /// The partner's node id, as it records it in its events (`it-reggio-emilia`).
    pub node: String,
    /// Where it serves: `https://host:port`, or `http://` on loopback only.
    pub endpoint: String,
    /// Its public key, `ed25519:` and 64 hex digits, as `imece federation key` prints it there.
    pub public_key: String,
    /// The token this node presents to the partner (the partner lists it with role `partner`).
    pub token: String,
    /// PEM file of the certificate authority that signed the partner's TLS certificate (https).
    pub ca_cert: Option<PathBuf>,
}

impl std::fmt::Debug for PartnerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerConfig")
            .field("node", &self.node)
            .field("endpoint", &self.endpoint)
            .field("public_key", &self.public_key)
            .field("ca_cert", &self.ca_cert)
            .finish_non_exhaustive()
    }
}

/// The CSV files of reference data the indicators divide by or convert with. Each is optional: an
/// indicator that needs a missing figure says so in its cells, a conversion without a rate is an
/// error naming the pair and date. A file with a bad row stops the node at start, naming the line.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceConfig {
    /// `area_scheme,area_code,area_version,year,population`: population per area and year.
    pub population: Option<PathBuf>,
    /// `area_scheme,area_code,area_version,year,employment`: total employment per area and year.
    pub employment: Option<PathBuf>,
    /// `date,base,quote,rate,source`: exchange rates.
    pub rates: Option<PathBuf>,
}

/// PEM files of the server's certificate chain and private key.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// One bearer token and what it allows.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The secret the client sends as `authorization: Bearer <token>`; at least 16 characters.
    pub token: String,
    /// A name for logs (never the token itself).
    pub name: String,
    pub role: RoleConfig,
    /// For registrars: the unions (`union:<id>`) and organisations (`org:<uuid>`) they may write for.
    #[serde(default)]
    pub scope: Vec<String>,
}

impl std::fmt::Debug for TokenConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenConfig")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// The roles a token can have.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RoleConfig {
    /// Everything.
    Admin,
    /// Writes for the unions and organisations in its scope; reads.
    Registrar,
    /// Reads, never personal data.
    Analyst,
    /// Another node of the federation: may call only the `Replication` service, to pull this
    /// node's published chain.
    Partner,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 50051))
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("imece-data")
}

fn default_node() -> String {
    "local".to_owned()
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: default_listen(),
            data_dir: default_data_dir(),
            node: default_node(),
            tls: None,
            tokens: Vec::new(),
            reference: ReferenceConfig::default(),
            federation: FederationConfig::default(),
            log: LogConfig::default(),
        }
    }
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        let config: Config =
            toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {}", path.display(), e.message())))?;
        config.check()?;
        Ok(config)
    }

    /// The embedded log's directory (used when `[log] url` is absent).
    pub fn log_dir(&self) -> PathBuf {
        self.data_dir.join("log")
    }

    /// Where the node's log is.
    pub fn log_location(&self) -> crate::backend::LogLocation {
        crate::backend::LogLocation::of(&self.log, &self.data_dir)
    }

    /// The keystore's directory.
    pub fn keys_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
    }

    /// The federation's files: the node's key (by default), the heads it signed.
    pub fn federation_dir(&self) -> PathBuf {
        self.data_dir.join("federation")
    }

    /// The node's signing key file.
    pub fn key_file(&self) -> PathBuf {
        self.federation.key_file.clone().unwrap_or_else(|| self.federation_dir().join("node.key"))
    }

    /// Where the projections keep their snapshots.
    pub fn projections_dir(&self) -> PathBuf {
        self.data_dir.join("projections")
    }

    /// Checks the rules a configuration must keep: TLS off loopback, sound tokens, a valid name.
    pub fn check(&self) -> Result<(), Error> {
        imece_domain::NodeId::new(&self.node).map_err(|e| Error::Config(format!("node = {:?}: {e}", self.node)))?;
        if !self.listen.ip().is_loopback() && self.tls.is_none() {
            return Err(Error::Config(format!(
                "listen = {}: a node reachable beyond this machine needs [tls] cert and key",
                self.listen
            )));
        }
        for (i, t) in self.tokens.iter().enumerate() {
            if t.token.len() < 16 {
                return Err(Error::Config(format!("tokens[{i}] ({}): a token needs at least 16 characters", t.name)));
            }
            if t.role != RoleConfig::Registrar && !t.scope.is_empty() {
                return Err(Error::Config(format!("tokens[{i}] ({}): only a registrar has a scope", t.name)));
            }
            if let Some(bad) = t.scope.iter().find(|s| !(s.starts_with("union:") || s.starts_with("org:"))) {
                return Err(Error::Config(format!(
                    "tokens[{i}] ({}): scope entry {bad:?} must be union:<id> or org:<uuid>",
                    t.name
                )));
            }
            if self.tokens[..i].iter().any(|o| o.token == t.token) {
                return Err(Error::Config(format!("tokens[{i}] ({}): the same token appears twice", t.name)));
            }
        }
        self.check_log()?;
        self.check_federation()
    }

    fn check_log(&self) -> Result<(), Error> {
        let Some(writers) = self.log.writers else { return Ok(()) };
        if !matches!(self.log_location(), crate::backend::LogLocation::Postgres { .. }) {
            return Err(Error::Config(
                "log.writers: only a PostgreSQL log (log.url = \"postgres://…\") has writers".into(),
            ));
        }
        if writers == 0 {
            return Err(Error::Config("log.writers = 0: a PostgreSQL log needs at least 1 writing connection".into()));
        }
        Ok(())
    }

    fn check_federation(&self) -> Result<(), Error> {
        if self.federation.head_interval_secs == 0 {
            return Err(Error::Config("federation.head_interval_secs must be at least 1".into()));
        }
        for (i, p) in self.federation.partners.iter().enumerate() {
            let at = |rule: String| Error::Config(format!("federation.partners[{i}] ({}): {rule}", p.node));
            let node = imece_domain::NodeId::new(&p.node).map_err(|e| at(format!("node: {e}")))?;
            if node.as_str() == self.node {
                return Err(at("node: is this node itself".into()));
            }
            if self.federation.partners[..i].iter().any(|o| o.node == p.node) {
                return Err(at("node: listed twice".into()));
            }
            p.public_key.parse::<imece_federation::PublicKey>().map_err(|e| at(format!("public_key: {e}")))?;
            if p.token.len() < 16 {
                return Err(at("token: needs at least 16 characters".into()));
            }
            let uri: tonic::transport::Uri =
                p.endpoint.parse().map_err(|e| at(format!("endpoint {:?}: not a URI: {e}", p.endpoint)))?;
            let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
            let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
            match uri.scheme_str() {
                Some("https") if p.ca_cert.is_none() => {
                    return Err(at(
                        "ca_cert: an https endpoint needs the CA that signed the partner's certificate".into()
                    ));
                }
                Some("https") => {}
                Some("http") if loopback => {}
                Some("http") => return Err(at(format!("endpoint {}: beyond loopback, use https", p.endpoint))),
                _ => return Err(at(format!("endpoint {}: must start with https:// or http://", p.endpoint))),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::LogLocation;

    #[test]
    fn a_node_beyond_loopback_needs_tls() {
        let config = Config { listen: "0.0.0.0:50051".parse().unwrap(), ..Config::default() };
        let err = config.check().unwrap_err().to_string();
        assert!(err.contains("needs [tls]"), "{err}");
    }

    #[test]
    fn the_example_configuration_is_valid() {
        let example: Config = toml::from_str(include_str!("../../../deploy/imece.toml")).unwrap();
        example.check().unwrap();
        assert_eq!(example.node, "izmir");
        assert_eq!(example.tokens.len(), 3);
    }

    #[test]
    fn log_writers_are_checked_and_reach_the_postgres_log() {
        let parse = |log: &str| toml::from_str::<Config>(&format!("[log]\n{log}")).unwrap();
        let config = parse("url = \"postgres://db/imece\"\nwriters = 3");
        config.check().unwrap();
        assert!(matches!(config.log_location(), LogLocation::Postgres { writers: Some(3), .. }));
        let err = parse("url = \"postgres://db/imece\"\nwriters = 0").check().unwrap_err().to_string();
        assert!(err.contains("log.writers = 0") && err.contains("at least 1"), "{err}");
        let err = parse("writers = 2").check().unwrap_err().to_string();
        assert!(err.contains("log.writers") && err.contains("only a PostgreSQL log"), "{err}");
        assert!(matches!(
            parse("url = \"postgres://db/imece\"").log_location(),
            LogLocation::Postgres { writers: None, .. }
        ));
    }

    fn with_partner(node: &str, endpoint: &str, key: &str, extra: &str) -> Result<(), Error> {
        let config: Config = toml::from_str(&format!(
            r#"
            node = "tr-izmir"
            [[federation.partners]]
            node = "{node}"
            endpoint = "{endpoint}"
            public_key = "{key}"
            token = "partner-token-0123456789"
            {extra}
            "#
        ))
        .unwrap();
        config.check()
    }

    #[test]
    fn partners_are_checked() {
        let key = format!("ed25519:{}", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        with_partner("it-reggio-emilia", "http://127.0.0.1:50052", &key, "").unwrap();
        with_partner("it-reggio-emilia", "https://reggio.example:50051", &key, "ca_cert = \"ca.pem\"").unwrap();
        let refused = |node: &str, endpoint: &str, key: &str, extra: &str, expected: &str| {
            let err = with_partner(node, endpoint, key, extra).unwrap_err().to_string();
            assert!(err.contains(expected), "{err} should say {expected}");
        };
        refused("tr-izmir", "http://127.0.0.1:1", &key, "", "this node itself");
        refused("Reggio", "http://127.0.0.1:1", &key, "", "partners[0] (Reggio): node");
        refused("it-reggio-emilia", "http://10.0.0.7:50051", &key, "", "use https");
        refused("it-reggio-emilia", "https://reggio.example:50051", &key, "", "ca_cert");
        refused("it-reggio-emilia", "ftp://x", &key, "", "must start with");
        refused("it-reggio-emilia", "http://127.0.0.1:1", "ed25519:00", "", "public_key");
        let config: Config = toml::from_str(&format!(
            r#"
            [[federation.partners]]
            node = "it-reggio-emilia"
            endpoint = "http://127.0.0.1:1"
            public_key = "{key}"
            token = "short"
            "#
        ))
        .unwrap();
        assert!(config.check().unwrap_err().to_string().contains("token"));
    }

    #[test]
    fn tokens_are_checked() {
        let parsed: Config = toml::from_str(
            r#"
            [[tokens]]
            token = "short"
            name = "izmir-admin"
            role = "admin"
            "#,
        )
        .unwrap();
        assert!(parsed.check().unwrap_err().to_string().contains("at least 16"));
        let parsed: Config = toml::from_str(
            r#"
            [[tokens]]
            token = "0123456789abcdef0123"
            name = "analyst"
            role = "analyst"
            scope = ["union:tmkb"]
            "#,
        )
        .unwrap();
        assert!(parsed.check().unwrap_err().to_string().contains("only a registrar"));
        assert!(toml::from_str::<Config>("listen = 5").is_err());
        let parsed: Config = toml::from_str(
            r#"
            [[tokens]]
            token = "0123456789abcdef0123"
            name = "analyst"
            role = "partner"
            scope = ["union:tmkb"]
            "#,
        )
        .unwrap();
        assert!(parsed.check().unwrap_err().to_string().contains("only a registrar"));
        assert!(toml::from_str::<Config>("unknown = 1").is_err());
    }
}
