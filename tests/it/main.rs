//! End-to-end tests: one binary, real nodes on 127.0.0.1:0, real gRPC clients.

mod federation;
mod indicators;
mod node;
mod registry;
