#!/usr/bin/env bash
# chainwatch end to end on this machine: local Postgres, a local anvil node with real
# traffic, and `chainwatch dev` (ingest + in-process bus + consume + GraphQL in one process).
#
#   bash scripts/quickstart.sh          start (or restart) everything, send traffic, query it
#   bash scripts/quickstart.sh stop     stop anvil and chainwatch
#   bash scripts/quickstart.sh status   show whether they run
#
# Knobs (environment): ANVIL_PORT (8545), CHAINWATCH_LISTEN (127.0.0.1:8080),
# QUICKSTART_TIMEOUT (seconds to wait for indexing, 120), CHAINWATCH_BIN (use this binary
# instead of building one), plus those of scripts/env.sh (CARGO_TARGET_DIR, DATABASE_URL).
# Logs, pid files and the traffic summary go to .cw/ (gitignored).
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=scripts/install.sh
source "$CW_ROOT/scripts/install.sh"
cd "$CW_ROOT"

CHAIN=evm:31337
ANVIL_PORT=${ANVIL_PORT:-8545}
ANVIL_URL=http://127.0.0.1:$ANVIL_PORT
LISTEN=${CHAINWATCH_LISTEN:-127.0.0.1:8080}
API=http://$LISTEN
GQL_URL=$API/graphql
TIMEOUT=${QUICKSTART_TIMEOUT:-120}
BIN=${CHAINWATCH_BIN:-$CARGO_TARGET_DIR/debug/chainwatch}
CW_DIR=$CW_ROOT/.cw
QS_DB=chainwatch_quickstart
# Same server as DATABASE_URL (the admin connection), database chainwatch_quickstart.
ADMIN_URL=$DATABASE_URL
QS_DB_URL=${ADMIN_URL%%\?*}
QS_DB_URL=${QS_DB_URL%/*}/$QS_DB

# --- processes -----------------------------------------------------------------------

# is_ours NAME: the pid in .cw/NAME.pid is alive and still runs NAME (not a reused pid).
is_ours() {
  local pidfile=$CW_DIR/$1.pid pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$1"
}

stop_one() {
  local name=$1 pidfile=$CW_DIR/$1.pid pid i
  if is_ours "$name"; then
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      [ "$i" = 50 ] && kill -9 "$pid" 2>/dev/null
      sleep 0.2
    done
    cw_log "stopped $name (pid $pid)"
  fi
  rm -f "$pidfile"
}

stop_all() {
  stop_one chainwatch
  stop_one anvil
}

status() {
  local name
  for name in anvil chainwatch; do
    if is_ours "$name"; then
      echo "$name: running (pid $(cat "$CW_DIR/$name.pid"), log .cw/$name.log)"
    else
      echo "$name: not running"
    fi
  done
}

# start_bg NAME CMD...: runs CMD detached (its own session, so Ctrl-C here or closing the
# terminal leaves it running), logging to .cw/NAME.log, pid in .cw/NAME.pid.
start_bg() {
  local name=$1
  shift
  setsid "$@" >"$CW_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$CW_DIR/$name.pid"
  cw_log "started $name (pid $!), log .cw/$name.log"
}

port_free() {
  ! (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# wait_until NAME SECONDS CMD...: retries CMD every 0.5 s; fails early if NAME exited.
wait_until() {
  local name=$1 secs=$2 deadline
  shift 2
  deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    is_ours "$name" || cw_die "$name exited; see .cw/$name.log"
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

# --- steps -----------------------------------------------------------------------------

install_tools() {
  install_curl
  install_anvil
  # The binary links librdkafka (built from source by the rdkafka crate): cmake and headers.
  install_rdkafka_build_deps
}

reset_database() {
  # anvil starts with a new chain on every run, so the data indexed from the previous
  # run's chain is stale: start from an empty database each time.
  PGOPTIONS="--client-min-messages=warning" psql "$ADMIN_URL" -X -q -v ON_ERROR_STOP=1 \
    -c "DROP DATABASE IF EXISTS $QS_DB WITH (FORCE)" \
    -c "CREATE DATABASE $QS_DB"
  cw_log "database ready: $(cw_redact_url "$QS_DB_URL")"
}

build() {
  if [ -n "${CHAINWATCH_BIN:-}" ]; then
    cw_log "using CHAINWATCH_BIN=$BIN"
  else
    cargo build --locked -p chainwatch
  fi
  [ -x "$BIN" ] || cw_die "no chainwatch binary at $BIN"
}

start_anvil() {
  port_free 127.0.0.1 "$ANVIL_PORT" ||
    cw_die "port $ANVIL_PORT is taken by another program; stop it or set ANVIL_PORT"
  start_bg anvil anvil --host 127.0.0.1 --port "$ANVIL_PORT" --slots-in-an-epoch 2 --chain-id 31337
  wait_until anvil 30 curl -sf "$ANVIL_URL" -H 'content-type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' ||
    cw_die "anvil did not answer on $ANVIL_URL within 30 s"
}

start_chainwatch() {
  port_free "${LISTEN%:*}" "${LISTEN##*:}" ||
    cw_die "$LISTEN is taken by another program; stop it or set CHAINWATCH_LISTEN"
  # `dev` applies migrations itself. --start-height 0: index the whole (new) anvil chain.
  start_bg chainwatch "$BIN" dev --chain "$CHAIN=anvil=$ANVIL_URL" --database-url "$QS_DB_URL" \
    --listen "$LISTEN" --start-height 0
}

send_traffic() {
  python3 scripts/traffic.py --url "$ANVIL_URL" >"$CW_DIR/traffic.json"
  LAST_FAILED=$(json_get "$CW_DIR/traffic.json" 'd["failed"][-1]')
  LAST_SUCCEEDED=$(json_get "$CW_DIR/traffic.json" 'd["succeeded"][-1]')
  LAST_BLOCK=$(json_get "$CW_DIR/traffic.json" 'd["last_block"]')
  cw_log "traffic: $(json_get "$CW_DIR/traffic.json" \
    '"%d succeeded, %d failed, %d contracts deployed, up to block %d" % (len(d["succeeded"]), len(d["failed"]), len(d["deployed"]), d["last_block"])') (.cw/traffic.json)"
}

# json_get FILE EXPR: evaluates a Python expression over the JSON document `d`.
json_get() {
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

gql() {
  curl -sS --max-time 10 "$GQL_URL" -H 'content-type: application/json' -d "$1"
}

tx_query() {
  printf '{"query":"{ transaction(chain: \\"%s\\", hash: \\"%s\\") { hash status blockHeight blockHash finality failure { kind message } } }"}' "$CHAIN" "$1"
}

CHAINS_QUERY='{"query":"{ chains { id indexedHeight headHeight lagBlocks lagSeconds safeHeight finalizedHeight providers { label height healthy } } }"}'

# Succeeds once `chains` shows the last traffic block indexed and a provider head at least as
# high (the heartbeat that measures lag has caught up too).
caught_up() {
  gql "$CHAINS_QUERY" >"$CW_DIR/last-answer.json" 2>&1 || return 1
  python3 -c '
import json, sys
c = ((json.load(open(sys.argv[1])).get("data") or {}).get("chains") or [{}])[0]
ok = (c.get("indexedHeight") or 0) >= int(sys.argv[2]) and (c.get("headHeight") or 0) >= int(sys.argv[2])
sys.exit(0 if ok else 1)' "$CW_DIR/last-answer.json" "$LAST_BLOCK"
}

# Prints the transaction's status once chainwatch has indexed it; fails otherwise.
tx_status() {
  gql "$(tx_query "$1")" >"$CW_DIR/last-answer.json" 2>&1 || return 1
  python3 -c '
import json, sys
t = (json.load(open(sys.argv[1])).get("data") or {}).get("transaction")
sys.exit(0 if t and t.get("status") else 1)' "$CW_DIR/last-answer.json"
}

wait_indexed() {
  wait_until chainwatch "$TIMEOUT" curl -sf "$API/readyz" ||
    cw_die "$API/readyz did not answer OK within $TIMEOUT s; see .cw/chainwatch.log"
  wait_until chainwatch "$TIMEOUT" tx_status "$LAST_FAILED" || {
    cw_log "last GraphQL answer: $(cat "$CW_DIR/last-answer.json" 2>/dev/null)"
    cw_die "transaction $LAST_FAILED (last traffic block) not indexed within $TIMEOUT s; see .cw/chainwatch.log"
  }
  wait_until chainwatch "$TIMEOUT" caught_up || {
    cw_log "last GraphQL answer: $(cat "$CW_DIR/last-answer.json" 2>/dev/null)"
    cw_die "chains did not show block $LAST_BLOCK indexed within $TIMEOUT s; see .cw/chainwatch.log"
  }
}

show_curl() {
  printf "  curl -s %s -H 'content-type: application/json' -d '%s'\n" "$GQL_URL" "$1"
}

run_query() {
  local out
  out=$(gql "$1") || { cw_log "(query failed)"; return 0; }
  printf '%s\n' "$out" | python3 -m json.tool 2>/dev/null || printf '%s\n' "$out"
}

report() {
  cat <<EOF

chainwatch is indexing anvil ($CHAIN at $ANVIL_URL).
  GraphQL:  $GQL_URL   (health: $API/healthz, $API/readyz)
  Logs:     .cw/chainwatch.log, .cw/anvil.log; traffic sent: .cw/traffic.json

A transaction that SUCCEEDED:
$(show_curl "$(tx_query "$LAST_SUCCEEDED")")
A transaction that FAILED (reverted with Error(string)):
$(show_curl "$(tx_query "$LAST_FAILED")")
Chains, heads, lag, finality and providers:
$(show_curl "$CHAINS_QUERY")

EOF
  echo "--- succeeded transaction"
  run_query "$(tx_query "$LAST_SUCCEEDED")"
  echo "--- failed transaction"
  run_query "$(tx_query "$LAST_FAILED")"
  echo "--- chains"
  run_query "$CHAINS_QUERY"
  cat <<EOF

anvil and chainwatch keep running in the background. Send more traffic with
  python3 scripts/traffic.py --url $ANVIL_URL
Stop both with
  bash scripts/quickstart.sh stop
EOF
}

on_exit() {
  local rc=$1 name
  [ "$rc" -eq 0 ] && return 0
  [ -n "$CW_STEP_CURRENT" ] && cw_log "==> FAILED: $CW_STEP_CURRENT"
  for name in anvil:8 chainwatch:40; do
    if [ -s "$CW_DIR/${name%:*}.log" ]; then
      cw_log "--- last lines of .cw/${name%:*}.log"
      tail -n "${name#*:}" "$CW_DIR/${name%:*}.log" >&2
    fi
  done
  if is_ours anvil || is_ours chainwatch; then
    cw_log "(left running for a look; stop with: bash scripts/quickstart.sh stop)"
  fi
}

main() {
  mkdir -p "$CW_DIR"
  case "${1:-start}" in
    stop)
      stop_all
      return 0
      ;;
    status)
      status
      return 0
      ;;
    start) ;;
    *) cw_die "usage: bash scripts/quickstart.sh [start|stop|status]" ;;
  esac
  trap 'on_exit $?' EXIT
  cw_step "stop previous run" stop_all
  rm -f "$CW_DIR"/anvil.log "$CW_DIR"/chainwatch.log "$CW_DIR"/traffic.json "$CW_DIR"/last-answer.json
  cw_step "install tools (anvil $CW_ANVIL_VERSION, curl, cmake)" install_tools
  cw_step "start postgres" ensure_postgres "$ADMIN_URL"
  cw_step "reset database $QS_DB" reset_database
  cw_step "build chainwatch" build
  cw_step "start anvil on $ANVIL_URL" start_anvil
  cw_step "start chainwatch dev on $LISTEN" start_chainwatch
  cw_step "send traffic (scripts/traffic.py)" send_traffic
  cw_step "wait for /readyz and the last traffic block (up to ${TIMEOUT}s)" wait_indexed
  report
}

main "$@"
