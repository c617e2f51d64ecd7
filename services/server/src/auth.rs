//! Bearer tokens and roles: who is calling, checked before any service code runs.

use std::sync::Arc;

use tonic::{Request, Status};

use crate::config::{RoleConfig, TokenConfig};

/// The authenticated caller, put into each request's extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The token's name, for logs and the events' actor.
    pub name: String,
    pub role: Role,
}

/// What a caller may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Admin,
    /// May write only for these unions (`union:<id>`) and organisations (`org:<uuid>`).
    Registrar {
        scope: Vec<String>,
    },
    /// Reads, never personal data.
    Analyst,
    /// A partner node, pulling this node's published chain; named by its node id.
    Partner,
}

impl Caller {
    /// Whether this caller may read personal data.
    pub fn sees_personal_data(&self) -> bool {
        !matches!(self.role, Role::Analyst | Role::Partner)
    }

    /// Refuses anyone who may not write.
    pub fn require_writer(&self) -> Result<(), Status> {
        match self.role {
            Role::Analyst => Err(Status::permission_denied(format!("{} is an analyst: analysts only read", self.name))),
            Role::Partner => {
                Err(Status::permission_denied(format!("{} is a partner node: partners only pull", self.name)))
            }
            _ => Ok(()),
        }
    }

    /// Refuses anyone but an admin.
    pub fn require_admin(&self) -> Result<(), Status> {
        match self.role {
            Role::Admin => Ok(()),
            _ => Err(Status::permission_denied(format!("{} is not an admin", self.name))),
        }
    }
}

/// Checks the `authorization` header of every request against the configured tokens.
#[derive(Clone, Debug)]
pub struct Authenticator {
    tokens: Arc<Vec<TokenConfig>>,
    /// Whether partner tokens get through: only in front of the `Replication` service.
    partners: bool,
}

impl Authenticator {
    /// Checks tokens for every service but `Replication`: partner tokens are refused.
    pub fn new(tokens: Vec<TokenConfig>) -> Self {
        Authenticator { tokens: Arc::new(tokens), partners: false }
    }

    /// The same tokens in front of the `Replication` service, where partners are let through.
    pub fn with_partners(&self) -> Self {
        Authenticator { tokens: self.tokens.clone(), partners: true }
    }

    /// The caller a request comes from, or `UNAUTHENTICATED`.
    pub fn authenticate(&self, request: &Request<()>) -> Result<Caller, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .ok_or_else(|| Status::unauthenticated("send `authorization: Bearer <token>`"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| Status::unauthenticated("the authorization header must be `Bearer <token>`"))?;
        // Compare every configured token in full, so timing does not reveal how much of one matched.
        let mut found = None;
        for t in self.tokens.iter() {
            if constant_time_eq(t.token.as_bytes(), token.as_bytes()) {
                found = Some(t);
            }
        }
        let t = found.ok_or_else(|| Status::unauthenticated("unknown token"))?;
        let role = match t.role {
            RoleConfig::Admin => Role::Admin,
            RoleConfig::Registrar => Role::Registrar { scope: t.scope.clone() },
            RoleConfig::Analyst => Role::Analyst,
            RoleConfig::Partner if self.partners => Role::Partner,
            RoleConfig::Partner => {
                return Err(Status::permission_denied(format!(
                    "{} is a partner node: partner tokens may call only the Replication service",
                    t.name
                )));
            }
        };
        Ok(Caller { name: t.name.clone(), role })
    }
}

impl tonic::service::Interceptor for Authenticator {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let caller = self.authenticate(&request)?;
        request.extensions_mut().insert(caller);
        Ok(request)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The caller an authenticated request carries.
pub fn caller<T>(request: &Request<T>) -> Result<Caller, Status> {
    request.extensions().get::<Caller>().cloned().ok_or_else(|| Status::unauthenticated("no caller"))
}
