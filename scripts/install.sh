# shellcheck shell=bash
# Installers and service starters shared by .ci/run and scripts/quickstart.sh; source it
# after scripts/env.sh.
#
# One function per tool. Each checks first and returns at once when the tool is already
# there, so running them on every CI run costs well under a second. To add a tool: write
# `install_<tool>` here and call it from .ci/run with `cw_step "install <tool>" install_<tool>`.

CW_ANVIL_VERSION=1.7.1
CW_TANSU_VERSION=0.6.0

# Runs a command as root (sudo when not root, e.g. on a GitHub runner).
cw_as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    cw_die "need root to run: $*"
  fi
}

# cw_apt_install PKG...: installs the packages that are not installed yet; runs
# `apt-get update` once per script run, and only when something must be installed.
CW_APT_UPDATED=0
cw_apt_install() {
  local missing=() p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  cw_log "apt: installing ${missing[*]}"
  if [ "$CW_APT_UPDATED" = 0 ]; then
    cw_as_root apt-get -o DPkg::Lock::Timeout=300 update -qq
    CW_APT_UPDATED=1
  fi
  cw_as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
    install -y -qq --no-install-recommends "${missing[@]}"
}

# cw_cargo_install BIN CRATE [ARGS...]: `cargo install CRATE --locked ARGS` unless BIN is on
# PATH. Builds in cargo's own temporary dir, not in the project's CARGO_TARGET_DIR.
cw_cargo_install() {
  local bin=$1 crate=$2
  shift 2
  if command -v "$bin" >/dev/null 2>&1; then
    cw_log "$bin present: $(command -v "$bin")"
    return 0
  fi
  (cd / && env -u CARGO_TARGET_DIR cargo install "$crate" --locked "$@")
}

# psql, pg_isready and createdb (the server itself comes with the machine).
install_pg_client() {
  if command -v psql >/dev/null 2>&1 && command -v pg_isready >/dev/null 2>&1; then
    cw_log "postgresql-client present: $(psql --version)"
    return 0
  fi
  cw_apt_install postgresql-client
}

install_curl() {
  command -v curl >/dev/null 2>&1 || cw_apt_install curl ca-certificates
}

# cargo and rustc come from rustup (the version is pinned by rust-toolchain.toml);
# rustfmt and clippy must be installed components: they cannot be fetched offline.
check_rust_toolchain() {
  command -v cargo >/dev/null 2>&1 || cw_die "cargo not found: install Rust with rustup (toolchain from rust-toolchain.toml)"
  (cd "$CW_ROOT" && cargo --version && rustc --version) >&2
  if ! (cd "$CW_ROOT" && cargo fmt --version >/dev/null 2>&1); then
    (cd "$CW_ROOT" && rustup component add rustfmt) || cw_die "rustfmt missing and cannot be installed"
  fi
  if ! (cd "$CW_ROOT" && cargo clippy --version >/dev/null 2>&1); then
    (cd "$CW_ROOT" && rustup component add clippy) || cw_die "clippy missing and cannot be installed"
  fi
}

install_nextest() {
  cw_cargo_install cargo-nextest cargo-nextest
  cargo nextest --version | head -n 1 >&2
}

install_node() {
  command -v npm >/dev/null 2>&1 || cw_apt_install nodejs npm
}

# anvil (a real EVM dev node) from npm, pinned, into $CHAINWATCH_TOOLS/node_modules/.bin.
install_anvil() {
  local bin="$CHAINWATCH_TOOLS/node_modules/.bin/anvil" have=""
  if [ -x "$bin" ]; then
    have=$("$bin" --version 2>/dev/null | sed -n 's/^anvil Version: \([^ ]*\).*/\1/p' | head -n 1)
  fi
  if [ "$have" = "$CW_ANVIL_VERSION" ]; then
    cw_log "anvil $have present: $bin"
    return 0
  fi
  install_node
  mkdir -p "$CHAINWATCH_TOOLS"
  cw_log "npm: installing @foundry-rs/anvil-linux-amd64@$CW_ANVIL_VERSION into $CHAINWATCH_TOOLS"
  npm install --prefix "$CHAINWATCH_TOOLS" --save-exact --no-audit --no-fund --loglevel=error \
    "@foundry-rs/anvil-linux-amd64@$CW_ANVIL_VERSION"
  "$bin" --version | head -n 1 >&2
}

# What the rdkafka crate's bundled librdkafka build (`cmake-build`) needs: cmake, and curl's
# headers (librdkafka includes curl.h even with curl off; nothing links it).
install_rdkafka_build_deps() {
  cw_apt_install cmake libcurl4-openssl-dev libssl-dev zlib1g-dev pkg-config build-essential
}

# tansu, the Kafka-protocol broker the tests run (SQLite storage), pinned, built from crates.io
# into $CHAINWATCH_TOOLS/bin (about 7 minutes cold on 2 cores; instant when present).
install_tansu() {
  local bin="$CHAINWATCH_TOOLS/bin/tansu" have=""
  if [ -x "$bin" ]; then
    have=$("$bin" --version 2>/dev/null | awk '{print $2}' | head -n 1)
  fi
  if [ "$have" = "$CW_TANSU_VERSION" ]; then
    cw_log "tansu $have present: $bin"
    return 0
  fi
  install_rdkafka_build_deps
  mkdir -p "$CHAINWATCH_TOOLS"
  cw_log "cargo: installing tansu $CW_TANSU_VERSION into $CHAINWATCH_TOOLS (slow the first time)"
  (cd / && env -u CARGO_TARGET_DIR cargo install tansu --version "=$CW_TANSU_VERSION" --locked \
    --features dynostore,libsql --root "$CHAINWATCH_TOOLS")
  "$bin" --version >&2
}

# The `jsonschema` package for python3, used by schema/contract/decode.py and the
# chainwatch-schema integration tests. pip (into the user site when not root) only when the
# import fails; Debian's python3-jsonschema when pip cannot (no pip, PEP 668).
install_python_jsonschema() {
  command -v python3 >/dev/null 2>&1 || cw_apt_install python3
  local check='import jsonschema, jsonschema.validators as v; v.Draft202012Validator'
  if python3 -c "$check" 2>/dev/null; then
    cw_log "python3 jsonschema present: $(python3 -c 'import importlib.metadata as m; print(m.version("jsonschema"))')"
    return 0
  fi
  local user=()
  # Not root and not in a virtualenv: install into the user site.
  if [ "$(id -u)" -ne 0 ] && python3 -c 'import sys; sys.exit(sys.prefix != sys.base_prefix)'; then
    user=(--user)
  fi
  cw_log "pip: installing jsonschema for $(command -v python3)"
  python3 -m pip install --quiet --disable-pip-version-check "${user[@]}" 'jsonschema>=4' ||
    cw_apt_install python3-jsonschema
  python3 -c "$check" || cw_die "python3 cannot import jsonschema (>= 4) after installing it"
}

# Prints a database URL with any password hidden.
cw_redact_url() {
  printf '%s\n' "$1" | sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#'
}

# ensure_postgres [URL]: makes sure the server behind URL (default $DATABASE_URL) answers,
# starting the machine's local cluster if it is stopped, then checks that we can log in.
ensure_postgres() {
  local url=${1:-$DATABASE_URL} shown
  shown=$(cw_redact_url "$url")
  install_pg_client
  if ! pg_isready -q -d "$url"; then
    local host
    host=$(printf '%s\n' "$url" | sed -E 's#^[a-z]+://([^@/]*@)?([^:/?]*).*#\2#')
    case "$host" in
      127.0.0.1 | localhost | "") ;;
      *) cw_die "Postgres at $shown does not answer (and is not the local server this script can start)" ;;
    esac
    local conf found=0
    for conf in /etc/postgresql/*/main; do
      [ -d "$conf" ] || continue
      found=1
      cw_log "starting PostgreSQL cluster $(basename "$(dirname "$conf")")/main"
      cw_as_root pg_ctlcluster --skip-systemctl-redirect "$(basename "$(dirname "$conf")")" main start ||
        cw_log "(pg_ctlcluster returned $?; waiting for the server anyway)"
    done
    [ "$found" = 1 ] || cw_die "Postgres at $shown does not answer and no cluster exists under /etc/postgresql (apt-get install postgresql, with trust auth for 127.0.0.1, or set DATABASE_URL)"
    local i
    for i in $(seq 1 30); do
      pg_isready -q -d "$url" && break
      [ "$i" = 30 ] && cw_die "Postgres at $shown did not come up within 30 s (see /var/log/postgresql/)"
      sleep 1
    done
  fi
  local can
  can=$(psql "$url" -X -Atq -c 'select rolcreatedb or rolsuper from pg_roles where rolname = current_user') ||
    cw_die "cannot log in to Postgres at $shown"
  [ "$can" = t ] || cw_log "warning: the role in $shown cannot CREATE DATABASE; #[sqlx::test] needs it"
  cw_log "postgres ready: $shown"
}

# --- operations tooling (scripts/test-ops.sh) -------------------------------------------------
CW_HELM_PYTHON_SDK_VERSION=0.2.2
CW_KUBERNETES_VALIDATE_VERSION=1.37.0
CW_K8S_MODELS_PROM_OP_VERSION=6.0.0
# Browser test of the console: Debian's chromium driven by npm playwright-core (pinned).
CW_PLAYWRIGHT_VERSION=1.64.1

# promtool (check/test Prometheus rules) from Debian's `prometheus` package. On a machine with
# systemd this also installs (and may start) the Prometheus service; the tests only use promtool.
install_promtool() {
  if command -v promtool >/dev/null 2>&1; then
    cw_log "promtool present: $(promtool --version 2>&1 | head -n 1)"
    return 0
  fi
  cw_apt_install prometheus
  promtool --version 2>&1 | head -n 1 >&2
}

# A virtualenv in $CHAINWATCH_TOOLS/ops-venv with the real Helm library (PyPI helm-python-sdk:
# Helm v4's Go SDK as a shared library, offline lint/render/schema) and kubernetes-validate
# (the Kubernetes JSON schemas, bundled), both pinned.
install_ops_python() {
  local venv="$CHAINWATCH_TOOLS/ops-venv"
  local check="import importlib.metadata as m, sys; sys.exit(0 if (m.version('helm-python-sdk'), m.version('kubernetes-validate')) == ('$CW_HELM_PYTHON_SDK_VERSION', '$CW_KUBERNETES_VALIDATE_VERSION') else 1)"
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null &&
    "$venv/bin/python" -c 'import helm_python, kubernetes_validate, yaml' 2>/dev/null; then
    cw_log "ops venv present: $venv (helm-python-sdk $CW_HELM_PYTHON_SDK_VERSION, kubernetes-validate $CW_KUBERNETES_VALIDATE_VERSION)"
    return 0
  fi
  command -v python3 >/dev/null 2>&1 || cw_apt_install python3
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    cw_die "python3 >= 3.11 needed for the chart checks (tomllib), found $(python3 --version)"
  mkdir -p "$CHAINWATCH_TOOLS"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    cw_apt_install python3-venv
    python3 -m venv "$venv" || cw_die "cannot create a virtualenv at $venv"
  fi
  cw_log "pip: installing helm-python-sdk $CW_HELM_PYTHON_SDK_VERSION and kubernetes-validate $CW_KUBERNETES_VALIDATE_VERSION into $venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "helm-python-sdk==$CW_HELM_PYTHON_SDK_VERSION" \
    "kubernetes-validate==$CW_KUBERNETES_VALIDATE_VERSION" 'PyYAML>=6'
  "$venv/bin/python" -c "$check" || cw_die "ops venv: wrong helm-python-sdk/kubernetes-validate after installing"
  "$venv/bin/python" -c 'import helm_python as h; print("helm sdk", h.helm_sdk_version())' >&2
}

# Schemas of the prometheus-operator resources (ServiceMonitor, PrometheusRule), generated from
# its Go API types: npm @kubernetes-models/prometheus-operator, pinned, into $CHAINWATCH_TOOLS.
install_prom_operator_models() {
  local pkg="$CHAINWATCH_TOOLS/node_modules/@kubernetes-models/prometheus-operator/package.json" have=""
  if [ -f "$pkg" ]; then
    have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pkg" | head -n 1)
  fi
  if [ "$have" = "$CW_K8S_MODELS_PROM_OP_VERSION" ]; then
    cw_log "@kubernetes-models/prometheus-operator $have present"
    return 0
  fi
  install_node
  mkdir -p "$CHAINWATCH_TOOLS"
  cw_log "npm: installing @kubernetes-models/prometheus-operator@$CW_K8S_MODELS_PROM_OP_VERSION into $CHAINWATCH_TOOLS"
  npm install --prefix "$CHAINWATCH_TOOLS" --save-exact --no-audit --no-fund --loglevel=error \
    "@kubernetes-models/prometheus-operator@$CW_K8S_MODELS_PROM_OP_VERSION"
}

# The console's browser test: Debian chromium (/usr/bin/chromium) and npm playwright-core,
# pinned, into $CHAINWATCH_TOOLS (the test finds it there; no browser download).
install_browser() {
  cw_apt_install chromium fonts-liberation
  local pkg="$CHAINWATCH_TOOLS/node_modules/playwright-core/package.json" have=""
  if [ -f "$pkg" ]; then
    have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pkg" | head -n 1)
  fi
  if [ "$have" = "$CW_PLAYWRIGHT_VERSION" ]; then
    cw_log "playwright-core $have present; $(chromium --version 2>/dev/null | head -n 1)"
    return 0
  fi
  install_node
  mkdir -p "$CHAINWATCH_TOOLS"
  cw_log "npm: installing playwright-core@$CW_PLAYWRIGHT_VERSION into $CHAINWATCH_TOOLS"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$CHAINWATCH_TOOLS" --save-exact \
    --no-audit --no-fund --loglevel=error "playwright-core@$CW_PLAYWRIGHT_VERSION"
}
