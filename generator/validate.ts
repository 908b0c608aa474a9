// Validation of merged values: the JSON Schema (with ajv, as Helm does with
// its own validator) and the rules across fields that JSON Schema cannot say.
// Every problem names the path, the rule and the offending value.
import { Ajv, type ErrorObject } from "ajv";
import type { Values } from "./generated/values.js";
import { cpuCores, memoryBytes } from "../src/shared/quantity.js";
import { resolve, type SchemaNode } from "./schema.js";

export interface Problem {
  path: string;
  rule: string;
  value: unknown;
}

export function formatProblem(p: Problem): string {
  return p.value === undefined ? `${p.path}: ${p.rule}` : `${p.path}: ${p.rule} (got ${JSON.stringify(p.value)})`;
}

export class ValuesError extends Error {
  override name = "ValuesError";
  constructor(readonly problems: Problem[]) {
    super(problems.map(formatProblem).join("\n"));
  }
}

const dotted = (instancePath: string) =>
  instancePath
    .split("/")
    .slice(1)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .join(".") || "(values)";

function valueAt(values: unknown, path: string[]): unknown {
  let node: unknown = values;
  for (const key of path) node = (node as Record<string, unknown> | undefined)?.[key];
  return node;
}

/** "A CPU quantity such as 250m." → "must be a CPU quantity such as 250m" */
function ruleFromDescription(description: string): string {
  return `must be ${description.charAt(0).toLowerCase()}${description.slice(1).replace(/\.$/, "")}`;
}

function describe(root: SchemaNode, error: ErrorObject, values: unknown): Problem {
  const path = dotted(error.instancePath);
  const value = valueAt(values, error.instancePath.split("/").slice(1));
  const definition = /^#\/definitions\/([^/]+)\//.exec(error.schemaPath)?.[1];
  const defined = definition ? resolve(root, { $ref: `#/definitions/${definition}` }) : undefined;
  switch (error.keyword) {
    case "additionalProperties": {
      const key = String(error.params.additionalProperty);
      const parentPath = error.instancePath.split("/").slice(1);
      const known = Object.keys(schemaProperties(root, parentPath) ?? {}).sort();
      return { path: path === "(values)" ? key : `${path}.${key}`, rule: `unknown key${known.length ? ` (known here: ${known.join(", ")})` : ""}`, value: undefined };
    }
    case "pattern":
      return { path, rule: defined?.description ? ruleFromDescription(defined.description) : `must match ${error.params.pattern}`, value };
    case "type":
      return { path, rule: defined?.description ? ruleFromDescription(defined.description) : `must be ${String(error.params.type).replace(",", " or ")}`, value };
    case "enum":
      return { path, rule: `must be one of ${(error.params.allowedValues as unknown[]).map((v) => String(v)).join(", ")}`, value };
    case "minimum":
    case "maximum":
      return { path, rule: `must be ${error.keyword === "minimum" ? "at least" : "at most"} ${error.params.limit}`, value };
    case "required":
      return { path: path === "(values)" ? String(error.params.missingProperty) : `${path}.${error.params.missingProperty}`, rule: "is required", value: undefined };
    default:
      return { path, rule: error.message ?? error.keyword, value };
  }
}

function schemaProperties(root: SchemaNode, path: string[]): Record<string, SchemaNode> | undefined {
  let node: SchemaNode | undefined = root;
  for (const key of path) {
    node = node ? resolve(root, node).properties?.[key] : undefined;
  }
  return node ? resolve(root, node).properties : undefined;
}

let compiled: { root: SchemaNode; validate: ReturnType<Ajv["compile"]> } | undefined;

export function schemaProblems(root: SchemaNode, values: unknown): Problem[] {
  if (compiled?.root !== root) {
    const ajv = new Ajv({ allErrors: true, strictTypes: false });
    compiled = { root, validate: ajv.compile(root) };
  }
  if (compiled.validate(values)) return [];
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const error of compiled.validate.errors ?? []) {
    const problem = describe(root, error, values);
    const key = `${problem.path}\u0000${error.keyword === "additionalProperties" ? "unknown" : ""}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}

type Resources = { requests?: { cpu?: string | number; memory?: string | number }; limits?: { cpu?: string | number; memory?: string | number } };

function resourceProblems(path: string, resources: Resources | undefined): Problem[] {
  const out: Problem[] = [];
  const checks = [
    ["cpu", cpuCores],
    ["memory", memoryBytes],
  ] as const;
  for (const [kind, amount] of checks) {
    const request = resources?.requests?.[kind];
    const limit = resources?.limits?.[kind];
    if (request === undefined || limit === undefined) continue;
    const r = amount(request);
    const l = amount(limit);
    if (r !== undefined && l !== undefined && r > l) {
      out.push({ path: `${path}.requests.${kind}`, rule: `must not exceed limits.${kind} (${String(limit)})`, value: request });
    }
  }
  return out;
}

/** Rules across fields; run on values that passed the schema. */
export function crossFieldProblems(v: Values): Problem[] {
  const out: Problem[] = [];
  const atLeast = (path: string, value: number, min: number, what: string) => {
    if (value < min) out.push({ path, rule: `must be at least ${what} (${min})`, value });
  };

  const fe = v.frontend.autoscaling.hpa;
  atLeast("frontend.autoscaling.hpa.maxReplicas", fe.maxReplicas, fe.minReplicas, "minReplicas");
  if (fe.enabled && fe.targetCPUUtilizationPercentage === 0 && fe.targetMemoryUtilizationPercentage === 0) {
    out.push({ path: "frontend.autoscaling.hpa", rule: "needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage above 0", value: undefined });
  }
  if (fe.enabled && fe.targetCPUUtilizationPercentage > 0 && v.frontend.resources.requests?.cpu === undefined) {
    out.push({ path: "frontend.resources.requests.cpu", rule: "is required while the HPA has a CPU target (utilization is relative to it)", value: undefined });
  }
  if (fe.enabled && fe.targetMemoryUtilizationPercentage > 0 && v.frontend.resources.requests?.memory === undefined) {
    out.push({ path: "frontend.resources.requests.memory", rule: "is required while the HPA has a memory target (utilization is relative to it)", value: undefined });
  }

  const keda = v.backend.autoscaling.keda;
  atLeast("backend.autoscaling.keda.maxReplicaCount", keda.maxReplicaCount, Math.max(1, keda.minReplicaCount), "minReplicaCount");
  if (keda.activationLagThreshold >= keda.lagThreshold) {
    out.push({ path: "backend.autoscaling.keda.activationLagThreshold", rule: `must be less than lagThreshold (${keda.lagThreshold})`, value: keda.activationLagThreshold });
  }
  const bh = v.backend.autoscaling.hpa;
  atLeast("backend.autoscaling.hpa.maxReplicas", bh.maxReplicas, bh.minReplicas, "minReplicas");

  const resourceBlocks: [string, Resources][] = [
    ["frontend.resources", v.frontend.resources],
    ["backend.resources", v.backend.resources],
    ["provisioner.resources", v.provisioner.resources],
    ["nats.resources", v.nats.resources],
    ["nats.exporter.resources", v.nats.exporter.resources],
    ["redis.resources", v.redis.resources],
    ["redis.exporter.resources", v.redis.exporter.resources],
  ];
  for (const [path, resources] of resourceBlocks) out.push(...resourceProblems(path, resources));

  const vpa = v.redis.autoscaling.vpa;
  const bounds = [
    ["cpu", cpuCores],
    ["memory", memoryBytes],
  ] as const;
  for (const [kind, amount] of bounds) {
    const min = vpa.minAllowed[kind];
    const max = vpa.maxAllowed[kind];
    const lo = amount(min);
    const hi = amount(max);
    if (lo !== undefined && hi !== undefined && lo > hi) {
      out.push({ path: `redis.autoscaling.vpa.minAllowed.${kind}`, rule: `must not exceed maxAllowed.${kind} (${String(max)})`, value: min });
    }
  }
  if (v.redis.mode === "operator" && vpa.enabled && vpa.controlledValues !== "RequestsOnly") {
    out.push({
      path: "redis.autoscaling.vpa.controlledValues",
      rule: "must be RequestsOnly in operator mode: the operator sets maxmemory from the limit it wrote, so the VPA must leave limits alone",
      value: vpa.controlledValues,
    });
  }
  if (v.redis.mode !== "external" && v.redis.resources.limits?.memory === undefined) {
    out.push({ path: "redis.resources.limits.memory", rule: "is required: maxmemory is a percentage of it", value: undefined });
  }
  if (v.redis.mode === "external" && v.redis.external.url === "") {
    out.push({ path: "redis.external.url", rule: "is required when redis.mode is external", value: "" });
  }

  if (v.nats.enabled) {
    if (v.queue.replicas > v.nats.replicas) {
      out.push({ path: "queue.replicas", rule: `must not exceed nats.replicas (${v.nats.replicas})`, value: v.queue.replicas });
    }
    if (v.nats.terminationGracePeriodSeconds <= v.nats.lameDuckDurationSeconds) {
      out.push({ path: "nats.terminationGracePeriodSeconds", rule: `must exceed lameDuckDurationSeconds (${v.nats.lameDuckDurationSeconds})`, value: v.nats.terminationGracePeriodSeconds });
    }
  } else {
    if (v.nats.external.url === "") out.push({ path: "nats.external.url", rule: "is required when nats.enabled is false", value: "" });
    if (keda.enabled && keda.monitoringEndpoint === "" && v.nats.external.monitoringEndpoint === "") {
      out.push({ path: "nats.external.monitoringEndpoint", rule: "is required when nats.enabled is false and KEDA reads the lag (or set backend.autoscaling.keda.monitoringEndpoint)", value: "" });
    }
  }
  return out;
}

export function validateValues(root: SchemaNode, values: unknown): Values {
  const problems = schemaProblems(root, values);
  if (problems.length > 0) throw new ValuesError(problems);
  const cross = crossFieldProblems(values as Values);
  if (cross.length > 0) throw new ValuesError(cross);
  return values as Values;
}
