// Validation of merged values: the JSON Schema (with ajv, as Helm does with
// its own validator) and the rules across fields that JSON Schema cannot say.
// Every problem names the path, the rule and the offending value.
import { Ajv, type ErrorObject } from "ajv";
import type { Values } from "./generated/values.js";
import { holds, rules, shownOperand, valueAt } from "./rules.js";
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
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.problems = problems;
  }
}

const dotted = (instancePath: string) =>
  instancePath
    .split("/")
    .slice(1)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .join(".") || "(values)";

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

/** Rules across fields (generator/rules.ts, which the chart evaluates too); run on values that passed the schema. */
export function crossFieldProblems(v: Values): Problem[] {
  return rules
    .filter((rule) => (rule.when ?? []).every((c) => holds(v, c)) && !holds(v, rule.check))
    .map((rule) => ({ path: rule.path, rule: rule.rule.replace("{b}", shownOperand(v, rule)), value: rule.showValue === false ? undefined : valueAt(v, rule.path.split(".")) }));
}

export function validateValues(root: SchemaNode, values: unknown): Values {
  const problems = schemaProblems(root, values);
  if (problems.length > 0) throw new ValuesError(problems);
  const cross = crossFieldProblems(values as Values);
  if (cross.length > 0) throw new ValuesError(cross);
  return values as Values;
}
