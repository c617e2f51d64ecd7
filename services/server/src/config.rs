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

    /// The embedded log's directory.
    pub fn log_dir(&self) -> PathBuf {
        self.data_dir.join("log")
    }

    /// The keystore's directory.
    pub fn keys_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(toml::from_str::<Config>("unknown = 1").is_err());
    }
}
