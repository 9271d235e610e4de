#!/usr/bin/env bash
# Operations checks, run by scripts/test.sh (and so by .ci/run); installs what it needs through
# scripts/install.sh (instant when present). No network but the package registries.
#   1. promtool check + unit tests of deploy/prometheus (every alert fires and stays quiet
#      where it must), and the chart's copy of the rules is byte-identical;
#   2. helm/chainwatch linted, schema-checked and rendered by the real Helm library for every
#      ci/*-values.yaml, each manifest validated against the Kubernetes schemas offline, the
#      prometheus-operator resources against theirs;
#   3. the rendered PrometheusRule's rules pass promtool check and the same unit tests, and the
#      Grafana dashboard's queries parse.
# Last line: `ops: N passed, 0 failed`.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=scripts/install.sh
source "$CW_ROOT/scripts/install.sh"
cd "$CW_ROOT"

PROM="$CW_ROOT/deploy/prometheus"
OUT=$(mktemp -d "${TMPDIR:-/tmp}/chainwatch-ops.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
OPS_PASSED=0

ok() {
  OPS_PASSED=$((OPS_PASSED + 1))
  cw_log "ok: $*"
}

install_promtool
install_ops_python
install_prom_operator_models

# promtool test rules with the test file's rule_files replaced by RULE_FILES.
promtool_test_with() {
  local name=$1
  shift
  local test="$OUT/test-$name.yml"
  {
    echo "rule_files:"
    local f
    for f in "$@"; do echo "  - $f"; done
    # Everything after the test file's own rule_files list.
    sed -n '/^evaluation_interval:/,$p' "$PROM/chainwatch-rules.test.yml"
  } >"$test"
  promtool test rules "$test" || cw_die "promtool test rules failed on $name ($*)"
}

# 1. The plain rules.
promtool check rules "$PROM/chainwatch-rules.yml" "$PROM/chainwatch-thresholds.example.yml" ||
  cw_die "promtool check rules failed"
ok "promtool check rules deploy/prometheus"
(cd "$PROM" && promtool test rules chainwatch-rules.test.yml) || cw_die "promtool test rules failed"
ok "promtool test rules deploy/prometheus/chainwatch-rules.test.yml"
# Every alert has a test, a runbook entry and a line in docs/deployment.md.
alerts=$(sed -n 's/^ *- alert: *//p' "$PROM/chainwatch-rules.yml" | sort -u)
for a in $alerts; do
  grep -q "alertname: $a\$" "$PROM/chainwatch-rules.test.yml" || cw_die "alert $a has no unit test"
  grep -q "^## $a\$" docs/runbooks.md || cw_die "alert $a has no '## $a' entry in docs/runbooks.md"
  grep -q "$a" docs/deployment.md || cw_die "alert $a is not listed in docs/deployment.md"
done
ok "$(echo "$alerts" | wc -l) alerts each have unit tests, a runbook entry and a docs line"
cmp -s "$PROM/chainwatch-rules.yml" helm/chainwatch/files/chainwatch-rules.yml ||
  cw_die "helm/chainwatch/files/chainwatch-rules.yml differs from deploy/prometheus/chainwatch-rules.yml: cp deploy/prometheus/chainwatch-rules.yml helm/chainwatch/files/"
ok "the chart's rules are deploy/prometheus/chainwatch-rules.yml"

# 2. The chart.
# The rendered configs are also read by the real binary (built here if needed).
if [ -z "${CHAINWATCH_BIN:-}" ]; then
  (cd "$CW_ROOT" && cargo build --locked -q -p chainwatch --features otel,solana) || cw_die "cannot build chainwatch"
  export CHAINWATCH_BIN="$CARGO_TARGET_DIR/debug/chainwatch"
fi
"$CHAINWATCH_TOOLS/ops-venv/bin/python" scripts/ops/check_chart.py "$OUT" || cw_die "chart check failed"
ok "helm lint, values schema, render and Kubernetes schema validation (every ci/*-values.yaml)"
node scripts/ops/validate-crds.mjs "$CHAINWATCH_TOOLS" "$OUT"/crds-*.json || cw_die "prometheus-operator resource validation failed"
ok "ServiceMonitor/PrometheusRule schema validation"

# 3. The rendered rules and the dashboard's queries.
rendered=("$OUT"/rules-*.yml)
[ -e "${rendered[0]}" ] || cw_die "no values file renders a PrometheusRule"
for r in "${rendered[@]}"; do
  name=$(basename "$r" .yml)
  promtool check rules "$r" || cw_die "promtool check rules failed on the rendered $name"
  if [ "$name" = rules-production ]; then
    # production-values.yaml carries the example thresholds itself.
    promtool_test_with "$name" "$r"
  else
    promtool_test_with "$name" "$r" "$PROM/chainwatch-thresholds.example.yml"
  fi
  ok "rendered PrometheusRule ($name): promtool check and unit tests"
done
promtool check rules "$OUT/dashboard-exprs.yml" || cw_die "a Grafana dashboard query does not parse"
ok "Grafana dashboard queries parse"

echo "ops: $OPS_PASSED passed, 0 failed"
