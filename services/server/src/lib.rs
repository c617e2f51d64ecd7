//! An imece node: the gRPC services over the event log, access control and configuration.
//!
//! ```no_run
//! # async fn run() -> Result<(), imece_server::Error> {
//! let node = imece_server::Node::bind(imece_server::Config::default()).await?;
//! node.serve(imece_server::shutdown_signal()).await
//! # }
//! ```

pub mod auth;
pub mod backend;
pub mod config;
pub mod convert;
mod error;
pub mod federation;
pub mod indicators_service;
pub mod keystore;
pub mod log_service;
pub mod people;
pub mod registry;
pub mod registry_service;
mod server;
pub mod views;

pub use config::Config;
pub use error::{CONFLICT, Error};
pub use server::{MAX_MESSAGE_BYTES, Node, shutdown_signal};
