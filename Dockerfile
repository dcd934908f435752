# One image with every Tollgate binary: tollgate-control-plane, tollgate-data-plane,
# tollgate (CLI and one-command launcher) and tollgate-mock-provider.
#
#   docker build -t tollgate:latest .
#   docker compose up -d        # see docker-compose.yaml and docs/DEPLOYMENT.md
#
# No secret is baked in: the master key, cluster token, database URL and provider keys come
# from the environment at run time (.env.example lists them).
#
# No `# syntax=` directive: the daemon's built-in Dockerfile frontend has everything used here
# (cache mounts included), so the image builds where no registry is reachable to pull one.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# ---- build ---------------------------------------------------------------------------------
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src

# Dependency layer: only the manifests and the lock file, with stub targets, so that this
# (slow) layer is rebuilt only when a dependency changes, not when our code does.
COPY Cargo.toml Cargo.lock ./
COPY proto/Cargo.toml proto/Cargo.toml
COPY shared/Cargo.toml shared/Cargo.toml
COPY telemetry/Cargo.toml telemetry/Cargo.toml
COPY migrations/Cargo.toml migrations/Cargo.toml
COPY control-plane/Cargo.toml control-plane/Cargo.toml
COPY data-plane/Cargo.toml data-plane/Cargo.toml
COPY cli/Cargo.toml cli/Cargo.toml
COPY tests/mock-provider/Cargo.toml tests/mock-provider/Cargo.toml
COPY web/Cargo.toml web/Cargo.toml
RUN set -eu; \
    for crate in proto shared telemetry migrations control-plane data-plane cli tests/mock-provider web; do \
      mkdir -p "$crate/src"; echo '' > "$crate/src/lib.rs"; echo 'fn main() {}' > "$crate/src/main.rs"; \
    done; \
    mkdir -p data-plane/benches; echo 'fn main() {}' > data-plane/benches/router.rs; \
    cp data-plane/benches/router.rs data-plane/benches/keys.rs; \
    echo 'fn main() {}' > proto/build.rs; \
    echo 'fn main() {}' > web/build.rs
# Warms the cache only (every dependency compiled against the stubs); the real build below is
# the one whose failure counts, so a stub that does not link does not stop the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    cargo fetch --locked && (cargo build --release --locked --workspace --bins || true)

# Our code: the real sources replace the stubs (newer mtimes, so cargo rebuilds our crates only).
COPY proto proto
COPY shared shared
COPY telemetry telemetry
COPY migrations migrations
COPY control-plane control-plane
COPY data-plane data-plane
COPY cli cli
COPY tests/mock-provider tests/mock-provider
COPY web web
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    set -eu; \
    find proto shared telemetry migrations control-plane data-plane cli tests/mock-provider web -name '*.rs' -exec touch {} +; \
    cargo build --release --locked --workspace --bins; \
    mkdir -p /out; \
    cp target/release/tollgate target/release/tollgate-control-plane \
       target/release/tollgate-data-plane target/release/tollgate-mock-provider /out/
# The release profile keeps line tables for backtraces in development; the image ships without
# them (they were 440 of its 757 MB).
RUN strip /out/*

# ---- runtime -------------------------------------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
RUN set -eu; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates; \
    rm -rf /var/lib/apt/lists/*; \
    groupadd --system --gid 10001 tollgate; \
    useradd --system --uid 10001 --gid tollgate --home-dir /var/lib/tollgate --shell /usr/sbin/nologin tollgate; \
    mkdir -p /var/lib/tollgate /etc/tollgate; \
    chown tollgate:tollgate /var/lib/tollgate
COPY --from=build /out/ /usr/local/bin/
COPY deploy/docker/healthcheck.sh /usr/local/bin/tollgate-healthcheck
COPY examples/litellm_config.yaml /etc/tollgate/litellm_config.yaml

USER 10001:10001
WORKDIR /var/lib/tollgate
ENV TOLLGATE_LISTEN=0.0.0.0:4000 \
    TOLLGATE_STATE_DIR=/var/lib/tollgate/data-plane \
    TOLLGATE_DATA_DIR=/var/lib/tollgate \
    TOLLGATE_CONFIG=/etc/tollgate/litellm_config.yaml \
    TOLLGATE_HEALTH_URL=http://127.0.0.1:4000/health/liveliness
EXPOSE 4000 4001 50051
# Liveness of whichever binary runs: TOLLGATE_HEALTH_URL (the control plane's is :4001/health/liveliness).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["/usr/local/bin/tollgate-healthcheck"]
CMD ["tollgate-data-plane"]
