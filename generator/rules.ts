// The rules across fields that JSON Schema cannot say, as data: the generator
// evaluates them here, and the chart evaluates the same list (generated into
// chart/templates/_rules.tpl) at install, so `helm install --set` cannot skip them.
import { cpuCores, memoryBytes } from "../src/shared/quantity.js";

/** Another value of the values, or a literal. */
export type Operand = { path: string } | { value: string | number | boolean };

export type Condition =
  /** Compares the value at `a` with `b`: as numbers, as CPU or memory quantities, or (eq, ne) as text. */
  | { op: "lt" | "le" | "gt" | "ge" | "eq" | "ne"; a: string; b: Operand; as?: "cpu" | "memory" }
  /** The value at `a` is there and not empty. */
  | { op: "set"; a: string }
  | { any: Condition[] };

export interface Rule {
  /** The path the problem names. */
  path: string;
  /** What must hold; `{b}` stands for the value of the check's `b`. */
  rule: string;
  /** Checked only when every one of these holds. */
  when?: Condition[];
  check: Condition;
  /** Whether the message shows the value at `path` (the default, when it has one). */
  showValue?: boolean;
}

const ref = (path: string): Operand => ({ path });
const is = (a: string, value: string | number | boolean): Condition => ({ op: "eq", a, b: { value } });

const resourceBlocks = ["frontend.resources", "backend.resources", "provisioner.resources", "nats.resources", "nats.exporter.resources", "redis.resources", "redis.exporter.resources"];
const kinds = ["cpu", "memory"] as const;

const hpa = "frontend.autoscaling.hpa";
const keda = "backend.autoscaling.keda";
const vpa = "redis.autoscaling.vpa";

export const rules: Rule[] = [
  { path: `${hpa}.maxReplicas`, rule: "must be at least minReplicas ({b})", check: { op: "ge", a: `${hpa}.maxReplicas`, b: ref(`${hpa}.minReplicas`) } },
  { path: "frontend.ports.metrics", rule: "must differ from frontend.ports.http ({b})", check: { op: "ne", a: "frontend.ports.metrics", b: ref("frontend.ports.http") } },
  {
    path: hpa,
    rule: "needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage above 0",
    when: [is(`${hpa}.enabled`, true)],
    check: { any: [{ op: "gt", a: `${hpa}.targetCPUUtilizationPercentage`, b: { value: 0 } }, { op: "gt", a: `${hpa}.targetMemoryUtilizationPercentage`, b: { value: 0 } }] },
    showValue: false,
  },
  {
    path: "frontend.resources.requests.cpu",
    rule: "is required while the HPA has a CPU target (utilization is relative to it)",
    when: [is(`${hpa}.enabled`, true), { op: "gt", a: `${hpa}.targetCPUUtilizationPercentage`, b: { value: 0 } }],
    check: { op: "set", a: "frontend.resources.requests.cpu" },
  },
  {
    path: "frontend.resources.requests.memory",
    rule: "is required while the HPA has a memory target (utilization is relative to it)",
    when: [is(`${hpa}.enabled`, true), { op: "gt", a: `${hpa}.targetMemoryUtilizationPercentage`, b: { value: 0 } }],
    check: { op: "set", a: "frontend.resources.requests.memory" },
  },
  { path: `${keda}.maxReplicaCount`, rule: "must be at least minReplicaCount ({b})", check: { op: "ge", a: `${keda}.maxReplicaCount`, b: ref(`${keda}.minReplicaCount`) } },
  {
    path: `${keda}.fallback.replicas`,
    rule: "must not exceed maxReplicaCount ({b}): the HPA KEDA makes caps it there",
    when: [is(`${keda}.enabled`, true), is(`${keda}.fallback.enabled`, true)],
    check: { op: "le", a: `${keda}.fallback.replicas`, b: ref(`${keda}.maxReplicaCount`) },
  },
  { path: `${keda}.activationLagThreshold`, rule: "must be less than lagThreshold ({b})", check: { op: "lt", a: `${keda}.activationLagThreshold`, b: ref(`${keda}.lagThreshold`) } },
  {
    path: "backend.autoscaling.hpa.maxReplicas",
    rule: "must be at least minReplicas ({b})",
    check: { op: "ge", a: "backend.autoscaling.hpa.maxReplicas", b: ref("backend.autoscaling.hpa.minReplicas") },
  },
  ...resourceBlocks.flatMap((block) =>
    kinds.map((kind): Rule => ({
      path: `${block}.requests.${kind}`,
      rule: `must not exceed limits.${kind} ({b})`,
      when: [{ op: "set", a: `${block}.requests.${kind}` }, { op: "set", a: `${block}.limits.${kind}` }],
      check: { op: "le", a: `${block}.requests.${kind}`, b: ref(`${block}.limits.${kind}`), as: kind },
    })),
  ),
  ...kinds.map((kind): Rule => ({
    path: `${vpa}.minAllowed.${kind}`,
    rule: `must not exceed maxAllowed.${kind} ({b})`,
    when: [{ op: "set", a: `${vpa}.minAllowed.${kind}` }, { op: "set", a: `${vpa}.maxAllowed.${kind}` }],
    check: { op: "le", a: `${vpa}.minAllowed.${kind}`, b: ref(`${vpa}.maxAllowed.${kind}`), as: kind },
  })),
  {
    path: `${vpa}.controlledValues`,
    rule: "must be RequestsOnly in operator mode: the operator sets maxmemory from the limit it wrote, so the VPA must leave limits alone",
    when: [is("redis.mode", "operator"), is(`${vpa}.enabled`, true)],
    check: is(`${vpa}.controlledValues`, "RequestsOnly"),
  },
  {
    path: "redis.resources.limits.memory",
    rule: "is required: maxmemory is a percentage of it",
    when: [{ op: "ne", a: "redis.mode", b: { value: "external" } }],
    check: { op: "set", a: "redis.resources.limits.memory" },
  },
  { path: "redis.external.url", rule: "is required when redis.mode is external", when: [is("redis.mode", "external")], check: { op: "set", a: "redis.external.url" } },
  { path: "queue.replicas", rule: "must not exceed nats.replicas ({b})", when: [is("nats.enabled", true)], check: { op: "le", a: "queue.replicas", b: ref("nats.replicas") } },
  {
    path: "nats.terminationGracePeriodSeconds",
    rule: "must exceed lameDuckDurationSeconds ({b})",
    when: [is("nats.enabled", true)],
    check: { op: "gt", a: "nats.terminationGracePeriodSeconds", b: ref("nats.lameDuckDurationSeconds") },
  },
  { path: "nats.external.url", rule: "is required when nats.enabled is false", when: [is("nats.enabled", false)], check: { op: "set", a: "nats.external.url" } },
  {
    path: "nats.external.monitoringEndpoint",
    rule: "is required when nats.enabled is false and KEDA reads the lag (or set backend.autoscaling.keda.monitoringEndpoint)",
    when: [is("nats.enabled", false), is(`${keda}.enabled`, true), is(`${keda}.monitoringEndpoint`, "")],
    check: { op: "set", a: "nats.external.monitoringEndpoint" },
  },
];

/** The value at a path of keys; undefined where there is none. */
export function valueAt(values: unknown, keys: string[]): unknown {
  let node = values;
  for (const key of keys) node = node !== null && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
  return node ?? undefined;
}

function operand(values: unknown, b: Operand): unknown {
  return "path" in b ? valueAt(values, b.path.split(".")) : b.value;
}

function amount(value: unknown, as: "cpu" | "memory" | undefined): number | undefined {
  if (as === "cpu") return cpuCores(value);
  if (as === "memory") return memoryBytes(value);
  return typeof value === "number" ? value : undefined;
}

export function holds(values: unknown, c: Condition): boolean {
  if ("any" in c) return c.any.some((each) => holds(values, each));
  const a = valueAt(values, c.a.split("."));
  if (c.op === "set") return a !== undefined && a !== "";
  const b = operand(values, c.b);
  if (c.op === "eq") return String(a) === String(b);
  if (c.op === "ne") return String(a) !== String(b);
  const x = amount(a, c.as);
  const y = amount(b, c.as);
  if (x === undefined || y === undefined) return true;
  return { lt: x < y, le: x <= y, gt: x > y, ge: x >= y }[c.op];
}

/** The value `{b}` stands for in a rule's text. */
export function shownOperand(values: unknown, rule: Rule): string {
  const c = rule.check;
  return "b" in c ? String(operand(values, c.b)) : "";
}
