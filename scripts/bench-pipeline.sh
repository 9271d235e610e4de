#!/usr/bin/env bash
# Kafka pipeline benchmark (Kafka pipeline issue, acceptance 6).
#
# Runs `indexer/bin/benches/pipeline.rs` in release mode: a generated chain (default 5,000
# blocks x 200 transactions = 1,000,000) produced to a fresh tansu broker, consumed by the real
# `chainwatch consume` process into Postgres, then the same rows written with a raw COPY. Prints
# throughput, the ratio to COPY, lag under load and peak RSS of each process.
#
#   bash scripts/bench-pipeline.sh
#   BENCH_BLOCKS=1000 BENCH_TXS=100 bash scripts/bench-pipeline.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$CW_ROOT/scripts/install.sh"

install_rdkafka_build_deps
install_tansu
ensure_postgres
cd "$CW_ROOT"
cargo bench --locked -p chainwatch --bench pipeline
