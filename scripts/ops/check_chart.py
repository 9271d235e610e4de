"""Lints, renders and validates helm/chainwatch with the real Helm library (PyPI helm-python-sdk,
Helm v4's Go SDK), offline, for every values file in helm/chainwatch/ci/.

Per values file: `helm lint --strict`, values.schema.json, render, then every manifest against the
Kubernetes JSON schemas (PyPI kubernetes-validate, strict, at the chart's oldest and newest
Kubernetes), plus the chart's own promises (non-root, read-only root filesystem, probes, one ingest
per chain, every ${VAR} of a pod's config set in its environment, config keys chainwatch knows).
Writes into OUT: crds-<values>.json (ServiceMonitor/PrometheusRule, for validate-crds.mjs),
rules-<values>.yml (the PrometheusRule's spec, for promtool) and dashboard-exprs.yml.
Run by scripts/test-ops.sh; exits non-zero with every problem listed.
"""

import copy
import json
import re
import sys
import tomllib
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "chainwatch"
KUBE_VERSIONS = ["1.25.0", "1.37.0"]  # Chart.yaml kubeVersion >=1.25, and the newest schemas
CRD_GROUP = "monitoring.coreos.com/"

# Keys chainwatch's config accepts (indexer/bin/src/config.rs, deny_unknown_fields).
KNOWN = {
    "database": {"url", "max_connections"},
    "api": {"listen", "max_page_size", "max_depth", "max_complexity", "max_body_bytes",
            "query_timeout_ms", "cors_allowed_origins", "rate_limit_per_second",
            "rate_limit_burst", "client_ip_header", "introspection"},
    "pool": {"request_timeout_ms", "max_attempts", "breaker_threshold", "breaker_cooldown_ms",
             "hedge_after_ms"},
    "ingest": {"backfill_concurrency", "batch_blocks", "poll_interval_ms", "heartbeat_interval_ms"},
    "consume": {"max_batch", "max_batch_txs", "linger_ms"},
    "status": {"max_lag_blocks", "max_lag_seconds"},
    "kafka": {"brokers", "topic_prefix", "partitions", "replication", "retention_ms",
              "max_message_bytes", "group_id", "dead_letter_topic", "on_poison",
              "session_timeout_ms", "orphan_after_ms", "properties"},
    "chain": {"providers", "start_height", "max_reorg_depth", "backfill_concurrency",
              "poll_interval_ms", "max_lag_blocks", "max_lag_seconds", "quorum",
              "max_provider_lag_blocks", "commitment"},
    "provider": {"label", "url", "weight", "max_rps"},
}
REQUIRED_CI = {"minimal-values.yaml", "multi-chain-values.yaml", "production-values.yaml"}

problems: list[str] = []


def fail(where: str, msg: str) -> None:
    problems.append(f"{where}: {msg}")


def check_toml(where: str, text: str, env: set[str]) -> dict:
    used = set(re.findall(r"\$\{([^}]*)\}", text))
    for var in sorted(used - env):
        fail(where, f"config uses ${{{var}}} but the container does not set {var}")
    try:
        cfg = tomllib.loads(re.sub(r"\$\{[^}]*\}", "x", text))
    except tomllib.TOMLDecodeError as e:
        fail(where, f"config is not valid TOML: {e}")
        return {}
    for section, table in cfg.items():
        if section == "chains":
            for cid, chain in table.items():
                for k in set(chain) - KNOWN["chain"]:
                    fail(where, f'unknown key chains."{cid}".{k}')
                for p in chain.get("providers", []):
                    for k in set(p) - KNOWN["provider"]:
                        fail(where, f'unknown key chains."{cid}".providers[].{k}')
        elif section not in KNOWN:
            fail(where, f"unknown section [{section}]")
        else:
            for k in set(table) - KNOWN[section]:
                fail(where, f"unknown key [{section}] {k}")
    return cfg


def check_pod(where: str, pod: dict, configmaps: dict, want_probes: bool) -> list[dict]:
    """Checks security, resources, probes and the config's ${VAR}s; returns the configs read."""
    spec = pod["spec"]
    psc = spec.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True:
        fail(where, "pod securityContext.runAsNonRoot is not true")
    configs = []
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for c in spec["containers"]:
        sc = c.get("securityContext", {})
        if sc.get("readOnlyRootFilesystem") is not True:
            fail(where, f"container {c['name']}: readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            fail(where, f"container {c['name']}: allowPrivilegeEscalation is not false")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            fail(where, f"container {c['name']}: capabilities are not all dropped")
        if not c.get("resources", {}).get("requests"):
            fail(where, f"container {c['name']}: no resource requests")
        if want_probes:
            if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz":
                fail(where, f"container {c['name']}: liveness probe is not GET /healthz")
            if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
                fail(where, f"container {c['name']}: readiness probe is not GET /readyz")
        env = {e["name"]: e for e in c.get("env", [])}
        for e in env.values():
            if "value" in e and re.search(r"(?i)(password|secret|token|key)", e["name"]):
                fail(where, f"env {e['name']} carries a literal value; secrets come from secretKeyRef")
        cfg_path = env.get("CHAINWATCH_CONFIG", {}).get("value")
        if not cfg_path:
            fail(where, f"container {c['name']}: CHAINWATCH_CONFIG not set")
            continue
        for m in c.get("volumeMounts", []):
            if not cfg_path.startswith(m["mountPath"].rstrip("/") + "/"):
                continue
            vol = volumes[m["name"]]["configMap"]
            rel = cfg_path[len(m["mountPath"].rstrip("/")) + 1:]
            key = next((i["key"] for i in vol.get("items", []) if i["path"] == rel), rel)
            text = configmaps.get(vol["name"], {}).get(key)
            if text is None:
                fail(where, f"config {vol['name']}/{key} is not rendered")
                continue
            configs.append(check_toml(f"{where} ({vol['name']}/{key})", text, set(env)))
    return configs


def check_with_binary(where: str, configmaps: dict, ingest_chains: list) -> None:
    """The built chainwatch binary (CHAINWATCH_BIN) reads every rendered config: `status` for
    the api/consume files, `ingest --chain ID` for the ingest files. A config problem exits 2;
    anything later (no database or provider here: 1 or 3) means the file was accepted."""
    import os
    import subprocess
    import tempfile

    binary = os.environ.get("CHAINWATCH_BIN")
    if not binary or not Path(binary).is_file():
        fail(where, "CHAINWATCH_BIN is not set to the built binary: cannot check the rendered configs")
        return
    for cm, data in configmaps.items():
        for key, text in data.items():
            if not key.endswith(".toml"):
                continue
            env = {"PATH": os.environ.get("PATH", ""), "RUST_LOG": "error"}
            for var in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text):
                env[var] = ("postgres://u:p@127.0.0.1:1/db" if "DATABASE" in var
                            else "http://127.0.0.1:1/k" if ("URL" in var or "RPC" in var) else "x")
            with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
                f.write(text)
            cmd = [binary, "status", "--config", f.name, "--database-url", "postgres://u@127.0.0.1:1/db"]
            if key.startswith("ingest"):
                chains = list(tomllib.loads(re.sub(r"\$\{[^}]*\}", "x", text)).get("chains", {}))
                if len(chains) != 1 or chains[0] not in ingest_chains:
                    fail(f"{where}: {cm}/{key}", f"an ingest config must hold exactly its chain, has {chains}")
                    continue
                chain = chains[0]
                cmd = [binary, "ingest", "--config", f.name, "--chain", chain or "?",
                       "--brokers", "127.0.0.1:1", "--listen", "127.0.0.1:0"]
            try:
                r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3)
            except subprocess.TimeoutExpired:
                continue  # got past configuration and is trying to connect
            finally:
                os.unlink(f.name)
            if r.returncode == 2:
                fail(f"{where}: {cm}/{key}", f"chainwatch rejects the rendered config: {r.stderr.strip()}")


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    files = sorted((CHART / "ci").glob("*-values.yaml"))
    missing = REQUIRED_CI - {f.name for f in files}
    if missing:
        fail("helm/chainwatch/ci", f"missing values files: {sorted(missing)}")
    dashboard_exprs: set[str] = set()
    total = 0
    for vf in files:
        tag = vf.name.removesuffix("-values.yaml")
        values = yaml.safe_load(vf.read_text()) or {}
        lint = helm.lint(str(CHART), values, strict=True, namespace="chainwatch")
        for m in lint["messages"]:
            if m["severity"] >= 2:
                fail(f"lint {vf.name}", f"{m['path']}: {m['error']}")
        for e in lint["errors"]:
            fail(f"lint {vf.name}", e)
        with helm.Chart.load(str(CHART)) as chart:
            try:
                chart.validate_schema(values)
            except helm.HelmError as e:
                fail(vf.name, f"values.schema.json rejects it: {e}")
                continue
            rendered = chart.render(values, name="cw", namespace="chainwatch", is_install=True)
            merged = chart.merge_values(values)
        docs = []
        for path, text in sorted(rendered.items()):
            if path.endswith("NOTES.txt"):
                continue
            for d in yaml.safe_load_all(text):
                if d:
                    docs.append((path, d))
        seen = set()
        crds = []
        configmaps = {d["metadata"]["name"]: d.get("data", {}) for _, d in docs if d["kind"] == "ConfigMap"}
        ingest = []
        for path, d in docs:
            where = f"{vf.name}: {d.get('kind')}/{d.get('metadata', {}).get('name')}"
            ident = (d["kind"], d["metadata"]["name"])
            if ident in seen:
                fail(where, "rendered twice")
            seen.add(ident)
            total += 1
            if d["apiVersion"].startswith(CRD_GROUP):
                crds.append(d)
            else:
                for kv in KUBE_VERSIONS:
                    try:
                        kubernetes_validate.validate(d, kv, strict=True)
                    except Exception as e:  # ValidationError, SchemaNotFoundError, ...
                        fail(where, f"invalid for Kubernetes {kv}: {getattr(e, 'message', e)}")
            kind = d["kind"]
            if kind == "Deployment":
                component = d["metadata"]["labels"]["app.kubernetes.io/component"]
                check_pod(where, d["spec"]["template"], configmaps, want_probes=True)
                if component == "ingest":
                    ingest.append(d)
            elif kind == "Job":
                ann = d["metadata"].get("annotations", {})
                if ann.get("helm.sh/hook") != "pre-install,pre-upgrade":
                    fail(where, "migrate Job is not a pre-install,pre-upgrade hook")
                if d["spec"]["template"]["spec"]["containers"][0].get("args") != ["migrate"]:
                    fail(where, "migrate Job does not run `chainwatch migrate`")
                check_pod(where, d["spec"]["template"], configmaps, want_probes=False)
            elif kind == "PrometheusRule":
                (out / f"rules-{tag}.yml").write_text(yaml.safe_dump(d["spec"], sort_keys=False))
            elif kind == "ConfigMap" and "chainwatch.json" in d.get("data", {}):
                dash = json.loads(d["data"]["chainwatch.json"])
                for p in dash["panels"]:
                    for t in p.get("targets", []):
                        dashboard_exprs.add(t["expr"])
                for a in dash.get("annotations", {}).get("list", []):
                    if "expr" in a:
                        dashboard_exprs.add(a["expr"])
        # One ingest Deployment per chain, following exactly that chain.
        want = [c["id"] for c in merged.get("chains", [])]
        got = []
        for d in ingest:
            args = d["spec"]["template"]["spec"]["containers"][0]["args"]
            got.append(args[args.index("--chain") + 1])
            if d["spec"]["strategy"]["type"] != "Recreate":
                fail(f"{vf.name}: {d['metadata']['name']}", "ingest must use the Recreate strategy")
        if sorted(got) != sorted(want):
            fail(vf.name, f"ingest Deployments follow {sorted(got)}, values list {sorted(want)}")
        check_with_binary(vf.name, configmaps, got)
        (out / f"crds-{tag}.json").write_text(json.dumps(crds))
        print(f"{vf.name}: lint ok, schema ok, {len(docs)} manifests rendered and validated "
              f"({len(crds)} prometheus-operator resources left to validate-crds.mjs), "
              f"{len(ingest)} ingest Deployments", file=sys.stderr)

    # The checks must be able to fail: bad values and a broken manifest are rejected.
    with helm.Chart.load(str(CHART)) as chart:
        for bad in ({"chains": [{"id": "Ethereum", "providers": [{"label": "a", "url": "https://x"}]}]},
                    {"chains": [{"id": "evm:1", "providers": [{"label": "a"}]}]},
                    {"securityContext": {"readOnlyRootFilesystem": False}},
                    {"prometheusRule": {"thresholds": {"evm:1": {"lag_blocs": 5}}}}):
            try:
                chart.validate_schema(bad)
                fail("values.schema.json", f"accepts bad values {bad}")
            except helm.HelmError:
                pass
    broken = copy.deepcopy(next(d for _, d in docs if d["kind"] == "Deployment"))
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    try:
        kubernetes_validate.validate(broken, KUBE_VERSIONS[-1], strict=True)
        fail("kubernetes-validate", "accepts a Deployment with a string containerPort")
    except kubernetes_validate.ValidationError:
        pass

    exprs = sorted(e.replace("$chain", ".*") for e in dashboard_exprs)
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:expr_{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    (out / "dashboard-exprs.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    if not exprs:
        fail("grafana dashboard", "no dashboard rendered by any values file")

    if problems:
        print("chart check FAILED:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print(f"chart check: {len(files)} values files, {total} manifests, {len(exprs)} dashboard queries: ok",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
