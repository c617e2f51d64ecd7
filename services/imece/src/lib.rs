//! The imece registry: the command-line client and, as the registry grows, its server.

pub mod cli;
mod client;
pub mod demo;
