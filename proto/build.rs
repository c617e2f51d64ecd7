//! Generates the Rust code of the API from `imece/v1/*.proto` with protox (a protobuf compiler in
//! Rust: no `protoc` to install), and keeps the descriptor set for gRPC reflection.

use std::path::PathBuf;

use prost::Message;

const PROTOS: &[&str] = &[
    "imece/v1/common.proto",
    "imece/v1/log.proto",
    "imece/v1/registry.proto",
    "imece/v1/members.proto",
    "imece/v1/indicators.proto",
    "imece/v1/projections.proto",
    "imece/v1/federation.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(PROTOS, ["."])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("imece_v1_descriptor.bin"), descriptors.encode_to_vec())?;
    // Published records carry events' data and metadata between nodes, a million at a time in a
    // catch-up: as `Bytes`, they are not copied on the way in or out.
    tonic_prost_build::configure().bytes(".imece.v1.PublishedRecord").compile_fds(descriptors)?;
    Ok(())
}
