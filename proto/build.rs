//! Compiles the gRPC contracts with `protox` (pure Rust), so no system `protoc`
//! is needed to build Tollgate.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "tollgate/v1/config.proto",
        "tollgate/v1/usage.proto",
        "tollgate/v1/admin.proto",
        "tollgate/v1/spend.proto",
        "tollgate/v1/quota.proto",
        "tollgate/v1/ui.proto",
    ];
    let fds = protox::compile(files, ["."])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    {
        use prost::Message as _;
        std::fs::write(out.join("tollgate_descriptor.bin"), fds.encode_to_vec())?;
    }
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // Snapshot payloads are shared between streams without copying.
        .bytes(".tollgate.v1.Snapshot.payload")
        .compile_fds(fds)?;
    println!("cargo:rerun-if-changed=tollgate");
    Ok(())
}
