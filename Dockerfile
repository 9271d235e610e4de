# syntax=docker/dockerfile:1
# chainwatch image: `docker build -t chainwatch .` at the repository root.
# (Not built in this project's CI: its machines have no Docker. The build steps are the ones CI
# runs: cargo with the pinned toolchain, plus the rdkafka C build's cmake and headers.)

# ---- build ------------------------------------------------------------------------------------
FROM rust:1.95.0-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake libcurl4-openssl-dev libssl-dev zlib1g-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Migrations are embedded in the binary; no database is needed to build.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p chainwatch --features otel,solana \
 && install -D -m 0755 target/release/chainwatch /out/chainwatch

# ---- runtime ----------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 chainwatch \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin chainwatch
COPY --from=build /out/chainwatch /usr/local/bin/chainwatch
COPY chainwatch.example.toml /usr/share/chainwatch/chainwatch.example.toml
# Runs as a non-root user and writes nothing to its filesystem (the chart mounts it read-only).
USER 10001:10001
ENV CHAINWATCH_LOG_FORMAT=json
# 8080: GraphQL API (serve/dev); 9100: ingest /metrics; 9101: consume /metrics.
EXPOSE 8080 9100 9101
ENTRYPOINT ["/usr/local/bin/chainwatch"]
CMD ["--help"]
