#!/usr/bin/env bash
# Backfill benchmark (issue: walking skeleton, acceptance 7).
#
# Starts a fresh anvil, fills it with shared/bench/gen_chain.py (default 1000 blocks × 200
# transactions), then runs the bench program `indexer/bin/benches/backfill.rs` in release mode:
# a full backfill into Postgres next to a bare fetch loop over the same RPC calls.
#
#   bash scripts/bench-backfill.sh            # 1000 × 200
#   BLOCKS=200 TXS=50 bash scripts/bench-backfill.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$CW_ROOT/scripts/install.sh"

BLOCKS=${BLOCKS:-1000}
TXS=${TXS:-200}
PORT=${BENCH_ANVIL_PORT:-8547}
GEN=${GEN_CHAIN:-$CW_ROOT/../shared/bench/gen_chain.py}
[ -f "$GEN" ] || cw_die "gen_chain.py not found at $GEN (set GEN_CHAIN)"

install_anvil
ensure_postgres
mkdir -p "$CW_ROOT/.cw"
anvil --port "$PORT" --no-mining --gas-limit 300000000 >"$CW_ROOT/.cw/bench-anvil.log" 2>&1 &
ANVIL_PID=$!
trap 'kill $ANVIL_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "http://127.0.0.1:$PORT" >/dev/null && break
  sleep 0.1
done

cw_log "==> generating $BLOCKS blocks × $TXS transactions"
python3 "$GEN" --url "http://127.0.0.1:$PORT" --blocks "$BLOCKS" --txs "$TXS"

cw_log "==> building the bench (release)"
cargo bench --locked -p chainwatch --bench backfill --no-run
cw_log "==> running"
BENCH_RPC="http://127.0.0.1:$PORT" cargo bench --locked -p chainwatch --bench backfill
