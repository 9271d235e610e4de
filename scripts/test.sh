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
# The binary's optional features (OpenTelemetry export, the Solana adapter) are built, linted and
# tested too.
cw_step "cargo clippy -D warnings (chainwatch --features otel,solana)" cargo clippy -p chainwatch --all-targets --locked --features otel,solana -- -D warnings
# Test output is also kept in target/ so that the totals can be printed as the last line.
mkdir -p "$CW_ROOT/target"
CW_TEST_LOG="$CW_ROOT/target/test-output.log"
: >"$CW_TEST_LOG"
run_logged() { "$@" 2>&1 | tee -a "$CW_TEST_LOG"; }
cw_step "cargo nextest run --profile ci" run_logged cargo nextest run --workspace --locked --profile ci --features chainwatch/otel,chainwatch/solana "$@"
cw_step "cargo test --doc" run_logged cargo test --doc --workspace --locked
# Alert rules (promtool), the Helm chart (real Helm, Kubernetes schemas), the dashboard.
cw_step "scripts/test-ops.sh (alert rules, Helm chart)" run_logged bash scripts/test-ops.sh
cw_log "junit report: $CW_ROOT/target/nextest/ci/junit.xml"

# Totals over nextest and the doctests, e.g. `tests: 149 passed, 0 failed`, written for .ci/run
# (which prints it last) and printed here when run by hand.
python3 - "$CW_TEST_LOG" >"$CW_ROOT/target/test-totals" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
passed = failed = 0
for m in re.finditer(r"Summary \[[^]]*\] +\d+ tests? run: (\d+) passed(?:, (\d+) failed)?", text):
    passed += int(m.group(1)); failed += int(m.group(2) or 0)
for m in re.finditer(r"test result: \w+\. (\d+) passed; (\d+) failed", text):
    passed += int(m.group(1)); failed += int(m.group(2))
for m in re.finditer(r"^ops: (\d+) passed, (\d+) failed$", text, re.M):
    passed += int(m.group(1)); failed += int(m.group(2))
print(f"tests: {passed} passed, {failed} failed")
PY
[ -n "${CW_CI_RUN:-}" ] || cat "$CW_ROOT/target/test-totals"
