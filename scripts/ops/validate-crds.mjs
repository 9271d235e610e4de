// Validates rendered prometheus-operator resources (ServiceMonitor, PrometheusRule) offline
// against the schemas npm's @kubernetes-models/prometheus-operator generates from the operator's
// Go API types. Usage: node validate-crds.mjs TOOLS_DIR FILE.json... (arrays of manifests, as
// scripts/ops/check_chart.py writes them). Also checks that unknown spec fields are absent
// (the generated validators allow extra fields; the API server would prune them silently).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [tools, ...files] = process.argv.slice(2);
const base = join(tools, "node_modules/@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1");
const load = async (kind) => (await import(pathToFileURL(join(base, `${kind}.js`)).href))[kind];
const models = { ServiceMonitor: await load("ServiceMonitor"), PrometheusRule: await load("PrometheusRule") };
const allowed = {
  ServiceMonitor: ["selector", "namespaceSelector", "endpoints", "jobLabel", "targetLabels", "podTargetLabels", "sampleLimit"],
  PrometheusRule: ["groups"],
};
const ruleKeys = ["alert", "record", "expr", "for", "labels", "annotations", "keep_firing_for"];

let bad = 0, n = 0;
const problem = (where, msg) => { bad++; console.error(`${where}: ${msg}`); };
for (const file of files) {
  for (const doc of JSON.parse(readFileSync(file, "utf8"))) {
    const where = `${file}: ${doc.kind}/${doc.metadata?.name}`;
    const Model = models[doc.kind];
    if (!Model) { problem(where, "no schema for this kind"); continue; }
    n++;
    try { new Model(doc).validate(); } catch (e) { problem(where, e.message); }
    for (const k of Object.keys(doc.spec ?? {})) if (!allowed[doc.kind].includes(k)) problem(where, `unknown spec field ${k}`);
    if (doc.kind === "PrometheusRule") {
      for (const g of doc.spec.groups) for (const r of g.rules) {
        for (const k of Object.keys(r)) if (!ruleKeys.includes(k)) problem(where, `group ${g.name}: unknown rule field ${k}`);
        if (!!r.alert === !!r.record) problem(where, `group ${g.name}: a rule needs exactly one of alert and record`);
      }
    }
  }
}
// The validator must be able to fail.
try {
  new models.ServiceMonitor({ metadata: { name: "x" }, spec: { selector: {}, endpoints: [{ port: 9100 }] } }).validate();
  problem("self-check", "a ServiceMonitor with a numeric endpoint port was accepted");
} catch { /* rejected, as it must be */ }
if (bad) { console.error(`prometheus-operator resources: ${bad} problem(s)`); process.exit(1); }
console.error(`prometheus-operator resources: ${n} validated`);
