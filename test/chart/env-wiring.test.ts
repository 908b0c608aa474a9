// Each variable the chart sets from a value (chartValues in src/shared/variables.ts):
// the value's schema admits only what the variable accepts, and its default is the
// program's unless the chart says why not; a value set at install reaches the env.
import t from "tap";
import { defaultOf, loadSchema, nodeAt } from "../../generator/schema.js";
import { shownDefault, type Variable } from "../../src/shared/env.js";
import { chartValues, commandVariables, groups, readers } from "../../src/shared/variables.js";
import { renderedObjects } from "./helm.js";

const root = loadSchema();
const declared = Object.assign({}, ...Object.values(groups)) as Record<string, Variable<unknown>>;

/** Chart defaults that differ from the program's on purpose. */
const ownDefaults: Record<string, string> = {
  NATS_CONNECT_TIMEOUT: "the hook Job waits longer, for a NATS that starts with the release",
  TRUST_PROXY: "null: one proxy while the chart's Ingress is on, none without it",
};

/** What another value of a path needs beside it, so that no rule across values refuses it. */
const alongside: Record<string, [flag: "--set" | "--set-string", assignment: string][]> = {
  "queue.replicas": [["--set", "nats.replicas=3"]],
};

/** A valid value other than the default, to see it arrive. */
function another(spec: Variable<unknown>, current: unknown): string {
  if (current === null) current = spec.fallback;
  if (spec.choices) return spec.choices.find((c) => c !== current && c !== "silent") ?? String(current);
  if (spec.min !== undefined && spec.max !== undefined && typeof current === "number") return String(current + 1 <= spec.max ? current + 1 : current - 1);
  if (typeof current === "string" && /^\d+(Ki|Mi|Gi)$/.test(current)) return current.replace(/^\d+/, (n) => String(Number(n) * 2));
  return `${String(current)}-x`;
}

function env(sets: [flag: "--set" | "--set-string", assignment: string][]) {
  type Container = { args?: string[]; env?: { name: string; value?: string }[] };
  const objects = renderedObjects<{ spec?: { template?: { spec?: { containers?: Container[] } } } }>(["--api-versions", "keda.sh/v1alpha1/ScaledObject", ...sets.flat()]);
  const found = new Map<string, Map<string, string | undefined>>();
  for (const o of objects) {
    for (const c of o.spec?.template?.spec?.containers ?? []) {
      const command = c.args?.[0];
      if (command) found.set(command, new Map((c.env ?? []).map((e) => [e.name, e.value])));
    }
  }
  return found;
}

const defaults = env([]);

for (const [name, path] of Object.entries(chartValues)) {
  t.test(`${name} ← ${path}`, async (t) => {
    const spec = declared[name];
    const node = nodeAt(root, path.split("."));
    if (!t.ok(spec, "a declared variable") || !spec || !t.ok(node, "a chart value") || !node) return;
    const value = defaultOf(root, node);
    if (ownDefaults[name]) t.not(String(value), shownDefault(spec), `the chart's own default: ${ownDefaults[name]}`);
    else t.equal(String(value), shownDefault(spec), "the same default");
    // A null default is worked out by the chart: what it renders must be a value the program takes.
    const effective = value ?? defaults.get(readers(name).find((command) => defaults.has(command)) ?? "")?.get(name);
    t.not(spec.parse(String(effective)), undefined, `the program accepts the chart's default (${String(effective)})`);
    if (spec.min !== undefined && [node.type].flat().every((type) => type === "integer" || type === "null")) {
      t.equal(node.minimum, spec.min, "the same minimum");
      t.equal(node.maximum, spec.max, "the same maximum");
    }
    if (spec.choices) for (const choice of node.enum ?? []) t.ok(spec.choices.includes(String(choice)), `${String(choice)} is one the program takes`);

    const readBy = readers(name).filter((command) => defaults.get(command)?.has(name));
    t.ok(readBy.length > 0, `set on ${readBy.join(", ")}`);
    const changed = another(spec, value);
    const flag = /^\d+$/.test(changed) && node.type !== "string" ? "--set" : "--set-string";
    const rendered = env([[flag, `${path}=${changed}`], ...(alongside[path] ?? [])]);
    for (const command of readBy) {
      t.ok(Object.hasOwn(commandVariables[command], name));
      t.equal(rendered.get(command)?.get(name), changed, `${command} gets --set ${path}=${changed}`);
    }
  });
}

t.test("TRUST_PROXY: none without the Ingress, one behind it, the value when set", async (t) => {
  const hops = (sets: [flag: "--set" | "--set-string", assignment: string][]) => env(sets).get("frontend")?.get("TRUST_PROXY");
  t.equal(hops([]), "0", "the frontend is reached directly: the client is the connection's peer");
  t.equal(hops([["--set", "frontend.ingress.enabled=true"]]), "1", "behind the chart's Ingress: the address it forwarded");
  t.equal(hops([["--set", "frontend.ingress.enabled=true"], ["--set", "frontend.settings.trustedProxyHops=2"]]), "2", "a load balancer in front of the Ingress too");
  t.equal(hops([["--set", "frontend.ingress.enabled=true"], ["--set", "frontend.settings.trustedProxyHops=0"]]), "0", "or none, when set so");
});
