#!/usr/bin/env bash
# Builds the Dockerfile's two base images locally, for a builder that reaches Debian's package
# mirror and crates.io but no image registry (the project's own machines):
#   debian:bookworm-slim   a `debootstrap --variant=minbase` root file system, `docker import`ed;
#   rust:1.95-bookworm     that base + gcc/libc6-dev + this host's Rust 1.95 toolchain (rustup's
#                          stable), with this host's extra CA certificates (a TLS-inspecting egress
#                          proxy's) so that `cargo fetch` inside the build trusts what the host trusts.
# Then `DOCKER_BUILDKIT=1 docker build --network host -t tollgate:latest .` builds the real image.
# Not run in CI (no daemon there); docs/DEPLOYMENT.md records the result. Run as root.
set -euo pipefail
work=${WORK:-/tmp/tollgate-base-images}
toolchain=${RUST_TOOLCHAIN_DIR:-$HOME/.rustup/toolchains/stable-x86_64-unknown-linux-gnu}
docker=${DOCKER:-docker}
mkdir -p "$work"

if ! "$docker" image inspect debian:bookworm-slim >/dev/null 2>&1; then
  rm -rf "$work/rootfs"
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian
  rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
  tar -C "$work/rootfs" -c . | "$docker" import - debian:bookworm-slim
fi

ctx="$work/rust"
rm -rf "$ctx" && mkdir -p "$ctx/ca"
cp -al "$toolchain" "$ctx/toolchain" 2>/dev/null || cp -a "$toolchain" "$ctx/toolchain"
cp /usr/local/share/ca-certificates/*.crt "$ctx/ca/" 2>/dev/null || true
printf 'toolchain/share/doc\ntoolchain/share/man\n' >"$ctx/.dockerignore"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev ca-certificates pkg-config \
    && rm -rf /var/lib/apt/lists/*
COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates
COPY toolchain /usr/local/rust
ENV CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /usr/local/cargo/bin && cargo --version && rustc --version
DOCKERFILE
DOCKER_BUILDKIT=1 "$docker" build --network host -t rust:1.95-bookworm "$ctx"
