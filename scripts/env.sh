# shellcheck shell=bash
# Shared environment for chainwatch's scripts; source it, don't run it.
#
# Sets the tool PATH, the persistent cargo target dir and the test database URL, each only
# as a default, so a developer's own settings win. Also defines the small helpers the
# scripts share (`cw_log`, `cw_die`, `cw_step`).

CW_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CW_ROOT

# Tools that come from npm (anvil; later playwright-core) live here, outside the clone.
export CHAINWATCH_TOOLS="${CHAINWATCH_TOOLS:-/opt/chainwatch-tools}"

cw_path_prepend() {
  case ":$PATH:" in
    *":$1:"*) ;;
    *) PATH="$1:$PATH" ;;
  esac
}
# rustup's cargo, in case this shell did not load ~/.cargo/env.
if [ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ]; then
  cw_path_prepend "${CARGO_HOME:-$HOME/.cargo}/bin"
fi
cw_path_prepend "$CHAINWATCH_TOOLS/node_modules/.bin"
# Tools built with `cargo install --root "$CHAINWATCH_TOOLS"` (tansu).
cw_path_prepend "$CHAINWATCH_TOOLS/bin"
export PATH

# Persistent build cache outside the clone: CI runs in a fresh clone each time.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/opt/chainwatch-target}"

# A server where tests may CREATE DATABASE: #[sqlx::test] makes one database per test.
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

cw_log() { printf '%s\n' "$*" >&2; }
cw_die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# cw_step NAME CMD...: runs CMD, printing `==> NAME` before and `==> NAME (12s)` after.
# Timings are collected in CW_STEP_TIMES; cw_step_summary prints them. A failing CMD
# exits the script (set -e), and cw_step_summary, run from an EXIT trap, names the step
# that failed. (Do not call cw_step in an `if`: bash turns set -e off inside conditions.)
CW_STEP_TIMES=()
CW_STEP_CURRENT=""
CW_STEP_START=0
cw_step() {
  local name=$1
  shift
  CW_STEP_CURRENT=$name
  CW_STEP_START=$SECONDS
  printf '==> %s\n' "$name" >&2
  "$@"
  local took=$((SECONDS - CW_STEP_START))
  printf '==> %s (%ss)\n' "$name" "$took" >&2
  CW_STEP_TIMES+=("$(printf '%6ss  %s' "$took" "$name")")
  CW_STEP_CURRENT=""
}

# For an EXIT trap: `trap 'cw_step_summary $?' EXIT`.
cw_step_summary() {
  local rc=$1
  if [ -n "$CW_STEP_CURRENT" ]; then
    CW_STEP_TIMES+=("$(printf '%6ss  %s  FAILED (exit %s)' "$((SECONDS - CW_STEP_START))" "$CW_STEP_CURRENT" "$rc")")
  fi
  if [ "${#CW_STEP_TIMES[@]}" -gt 0 ]; then
    printf '==> timings (%s, total %ss):\n' "$0" "$SECONDS" >&2
    printf '%s\n' "${CW_STEP_TIMES[@]}" >&2
  fi
  if [ "$rc" -ne 0 ] && [ -n "$CW_STEP_CURRENT" ]; then
    printf '==> FAILED: %s\n' "$CW_STEP_CURRENT" >&2
  fi
}
