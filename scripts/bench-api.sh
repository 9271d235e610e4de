#!/usr/bin/env bash
# API benchmark (GraphQL issue, acceptance 6): wrk against `chainwatch serve` next to pgbench
# running the same SQL, same database, same machine, same run. See indexer/bin/benches/api.rs.
#
#   bash scripts/bench-api.sh
#   BENCH_API_SECONDS=30 BENCH_API_CONNECTIONS=32 bash scripts/bench-api.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$CW_ROOT/scripts/install.sh"

install_rdkafka_build_deps
cw_apt_install wrk
command -v pgbench >/dev/null 2>&1 || cw_apt_install postgresql-contrib
ensure_postgres "$DATABASE_URL"
cd "$CW_ROOT"
cargo bench --locked -p chainwatch --bench api
