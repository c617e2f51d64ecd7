//! The gRPC API of imece, package `imece.v1`, generated from `proto/imece/v1/*.proto`.
//!
//! These types stop at the service boundary: the domain never sees them.

#![allow(missing_docs, missing_debug_implementations, clippy::all)]

/// Package `imece.v1`.
pub mod v1 {
    tonic::include_proto!("imece.v1");
}

/// The encoded descriptor set of every file of the API, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/imece_v1_descriptor.bin"));
