//! The gRPC contracts between the Tollgate control plane and its data planes.
//!
//! `config.proto` distributes snapshots, `usage.proto` carries usage records
//! back, `admin.proto` is the operator's API. The generated code lives in
//! [`v1`]; everything else in the workspace converts to and from its own
//! domain types at the boundary.

pub mod json;
pub mod org_json;
pub mod spend_json;

#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod v1 {
    tonic::include_proto!("tollgate.v1");
}

/// Encoded `FileDescriptorSet` of every contract, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/tollgate_descriptor.bin"));
