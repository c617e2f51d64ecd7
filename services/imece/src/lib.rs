//! The imece registry: the command-line client and, as the registry grows, its server.

mod analysis;
pub mod cli;
mod client;
pub mod demo;
mod federation;
mod migrate;
