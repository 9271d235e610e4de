#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run installs the tools, then runs this).
# Extra arguments go to `cargo nextest run` (e.g. `bash scripts/test.sh -E 'package(chainwatch-store)'`).
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=scripts/install.sh
source "$CW_ROOT/scripts/install.sh"
cd "$CW_ROOT"
trap 'cw_step_summary $?' EXIT

preflight() {
  command -v cargo-nextest >/dev/null 2>&1 || cw_die "cargo-nextest not found: run 'bash .ci/run' once (it installs the tools)"
  command -v anvil >/dev/null 2>&1 || cw_die "anvil not found in PATH or $CHAINWATCH_TOOLS: run 'bash .ci/run' once"
  ensure_postgres "$DATABASE_URL"
  cw_log "CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
}

cw_step "preflight (tools, postgres)" preflight
cw_step "cargo fmt --all --check" cargo fmt --all --check
cw_step "cargo clippy -D warnings" cargo clippy --workspace --all-targets --locked -- -D warnings
cw_step "cargo nextest run --profile ci" cargo nextest run --workspace --locked --profile ci "$@"
cw_step "cargo test --doc" cargo test --doc --workspace --locked
cw_log "junit report: $CW_ROOT/target/nextest/ci/junit.xml"
