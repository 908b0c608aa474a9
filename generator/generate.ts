// From the schema and the profiles to every generated file.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { companion, type CompanionName } from "./companions.js";
import { toYaml, wrap } from "./emit.js";
import type { Values } from "./generated/values.js";
import { delta, helmMerge, isPlainObject, type Plain } from "./merge.js";
import type { Profile } from "./profile.js";
import { defaultProfile } from "./profiles/default.js";
import { demo } from "./profiles/demo.js";
import { local } from "./profiles/local.js";
import { production } from "./profiles/production.js";
import { chartSchema, defaultOf, loadSchema, nodeAt, repoPath, type SchemaNode } from "./schema.js";
import { messageTypesSource, typesSource } from "./types.js";
import { validateValues } from "./validate.js";
import { natsRoles, permissionsFor, SERVER_ONLY } from "../src/shared/permissions.js";
import { commandVariables } from "../src/shared/variables.js";
import { cell, contractTable, envTable, permissionsTable, replaceSection } from "./docs.js";
import { rules } from "./rules.js";

export const profiles: Profile[] = [defaultProfile, demo, local, production];

export class UsageError extends Error {
  override name = "UsageError";
}

export function findProfile(name: string): Profile {
  const profile = profiles.find((p) => p.name === name);
  if (!profile) throw new UsageError(`unknown profile "${name}"; profiles: ${profiles.map((p) => p.name).join(", ")}`);
  return profile;
}

export function defaults(root: SchemaNode): Plain {
  return defaultOf(root, root) as Plain;
}

/** `path=value` → an overlay, the value parsed by the type the schema gives that path. */
export function parseSet(root: SchemaNode, spec: string): Plain {
  const eq = spec.indexOf("=");
  const path = eq > 0 ? spec.slice(0, eq).trim() : "";
  if (!path || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(path)) {
    throw new UsageError(`--set ${JSON.stringify(spec)}: expected path=value, e.g. frontend.autoscaling.hpa.maxReplicas=8`);
  }
  const raw = spec.slice(eq + 1);
  const keys = path.split(".");
  const node = nodeAt(root, keys);
  if (!node) throw new UsageError(`--set ${path}: no such value in the chart's schema`);
  const value = raw === "null" ? null : parseAs(node, raw, path);
  const overlay: Plain = {};
  place(overlay, keys, value);
  return overlay;
}

function parseAs(node: SchemaNode, raw: string, path: string): unknown {
  const types = Array.isArray(node.type) ? node.type : node.type ? [node.type] : [];
  const fail = (what: string) => new UsageError(`--set ${path}=${raw}: ${path} takes ${what}`);
  if (types.includes("integer") && /^-?\d+$/.test(raw)) return Number(raw);
  if (types.includes("number") && /^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (types.includes("boolean")) {
    if (raw === "true" || raw === "false") return raw === "true";
    throw fail("true or false");
  }
  if (types.includes("string")) return raw;
  if (types.includes("integer") || types.includes("number")) throw fail(`a ${types.includes("integer") ? "whole number" : "number"}`);
  if (types.includes("array") || types.includes("object")) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (types.includes("array") ? Array.isArray(parsed) : isPlainObject(parsed)) return parsed;
    } catch {
      // reported below
    }
    throw fail(types.includes("array") ? "a JSON list, e.g. [\"cpu\"]" : "a JSON object, e.g. {\"key\":\"value\"}");
  }
  return raw;
}

export interface Built {
  full: Values;
  delta: Plain;
}

/** Defaults, then the profile, then each --set, merged as Helm merges values files, then validated. */
export function build(root: SchemaNode, profile: Profile, sets: string[] = []): Built {
  const base = defaults(root);
  let merged = helmMerge(base, profile.values as Plain);
  for (const spec of sets) merged = helmMerge(merged, parseSet(root, spec));
  const full = validateValues(root, merged);
  const changes = delta(base, merged);
  // A noted key is shown even when it equals the default, so the reason stands beside its value.
  for (const path of Object.keys(profile.notes)) {
    const keys = path.split(".");
    const value = lookup(merged, keys);
    if (value !== undefined && lookup(changes, keys) === undefined) place(changes, keys, value);
  }
  return { full, delta: changes };
}

function lookup(values: unknown, keys: string[]): unknown {
  let node = values;
  for (const key of keys) node = isPlainObject(node) ? node[key] : undefined;
  return node;
}

function place(target: Plain, keys: string[], value: unknown): void {
  let cursor = target;
  keys.forEach((key, i) => {
    if (i === keys.length - 1) cursor[key] = structuredClone(value);
    else cursor = isPlainObject(cursor[key]) ? cursor[key] : (cursor[key] = {} as Plain);
  });
}

function describeFor(root: SchemaNode) {
  return (path: string[]) => nodeAt(root, path)?.description;
}

export function profileYaml(root: SchemaNode, profile: Profile, built: Built, full: boolean, sets: string[] = []): string {
  const header = [
    `meme-generator values: ${profile.name} profile${sets.length ? ` with ${sets.map((s) => `--set ${s}`).join(" ")}` : ""}.`,
    profile.summary,
    full ? "All values, merged with the chart's defaults." : "Only the differences from the chart's defaults (chart/values.yaml).",
    `Generated by: npm run gen-values -- --profile ${profile.name}${full ? " --full" : ""}${sets.map((s) => ` --set ${s}`).join("")}`,
  ].join("\n");
  const describe = describeFor(root);
  const comment = (path: string[]) => profile.notes[path.join(".")] ?? (full ? describe(path) : undefined);
  return toYaml(full ? built.full : built.delta, comment, header);
}

/** The companion's values file; `file` is the name it is written to, which its install step names. */
export function companionYaml(name: CompanionName, values: Values, file: string): string {
  const c = companion(name, values);
  const header = [wrap(c.about), ...c.steps(file).flatMap((step) => [wrap(step.why), ...step.run.map((line) => ` ${line}`)])].join("\n");
  return toYaml(c.values, (path) => c.notes[path.join(".")], header, false);
}

/** The companion's steps as the terminal shows them, the commands indented under their reason. */
export function companionSteps(name: CompanionName, values: Values, file: string): string {
  return companion(name, values)
    .steps(file)
    .map((step) => [step.why, ...step.run.map((line) => `  ${line}`)].join("\n"))
    .join("\n");
}

/** Notes must sit on keys the values have, or they would be lost silently. */
export function orphanNotes(profile: Profile, built: Built): string[] {
  return Object.keys(profile.notes).filter((path) => lookup(built.delta, path.split(".")) === undefined);
}

export function valuesYaml(root: SchemaNode): string {
  const header = [
    "Default values of the meme-generator chart: the default profile, which needs no operator.",
    "Generated from schemas/values.schema.json by `npm run gen-values -- --all`; edit the schema, not this file.",
    "Other profiles: chart/profiles/*.yaml, or `npm run gen-values -- --profile <name>`.",
  ].join("\n");
  return toYaml(defaults(root), describeFor(root), header);
}


function tableRows(root: SchemaNode, node: SchemaNode, path: string[], out: string[]): void {
  const resolved = nodeAt(root, path) ?? node;
  if (resolved.properties && resolved.default === undefined) {
    for (const key of Object.keys(resolved.properties)) tableRows(root, resolved.properties[key] as SchemaNode, [...path, key], out);
    return;
  }
  const types = Array.isArray(resolved.type) ? resolved.type.join(" or ") : (resolved.type ?? "");
  const value = JSON.stringify(defaultOf(root, resolved));
  out.push(`| \`${path.join(".")}\` | ${types} | \`${cell(value ?? "")}\` | ${cell(resolved.description ?? "")} |`);
}

export function valuesTable(root: SchemaNode): string {
  const rows: string[] = [];
  tableRows(root, root, [], rows);
  return ["| value | type | default | description |", "|---|---|---|---|", ...rows].join("\n");
}

/** The generated sections of hand-written pages: page → section name → its body. */
const sections: Record<string, Record<string, (root: SchemaNode) => string>> = {
  "chart/README.md": { values: valuesTable },
  "docs/configuration.md": { env: envTable, values: valuesTable },
  "docs/api.md": { contract: contractTable },
  "docs/security.md": { permissions: permissionsTable },
};

/** The chart's list of the variables each subcommand reads, from the program's declarations. */
export function variablesTemplate(): string {
  const reads = Object.fromEntries(Object.entries(commandVariables).map(([command, variables]) => [command, Object.keys(variables)]));
  return [
    "{{/*",
    "The environment variables each subcommand of the program reads, as JSON: the chart sets no others.",
    "Generated from src/shared/variables.ts by `npm run gen-values -- --all`; edit the declarations, not this file.",
    "*/}}",
    '{{- define "meme-generator.variablesOf" -}}',
    JSON.stringify(reads),
    "{{- end }}",
    "",
  ].join("\n");
}

/** Every NATS user's subjects, as JSON with the deployment's names left as {stream}, {consumer}, {request} and {response}. */
export function natsUsersTemplate(): string {
  const grants = permissionsFor({ stream: "{stream}", consumer: "{consumer}", request: "{request}", response: "{response}" });
  const subjectsOnly = Object.fromEntries(
    natsRoles.map((role) => [role, { publish: grants[role].publish.map((g) => g.subject), subscribe: grants[role].subscribe.map((g) => g.subject) }]),
  );
  return [
    "{{/*",
    "The subjects each NATS user may publish and subscribe to, as JSON; nobody but the server publishes the deny subject.",
    "Generated from src/shared/permissions.ts by `npm run gen-values -- --all`; edit the grants there, not this file.",
    "*/}}",
    '{{- define "meme-generator.natsGrants" -}}',
    JSON.stringify({ users: subjectsOnly, deny: SERVER_ONLY }),
    "{{- end }}",
    "",
  ].join("\n");
}

/** The rules across values, for the chart to evaluate at install (templates/validate.yaml). */
export function rulesTemplate(): string {
  return [
    "{{/*",
    "The rules across values that the schema cannot say, as JSON, evaluated by validate.yaml.",
    "Generated from generator/rules.ts by `npm run gen-values -- --all`; edit the rules there, not this file.",
    "*/}}",
    '{{- define "meme-generator.rules" -}}',
    JSON.stringify(rules),
    "{{- end }}",
    "",
  ].join("\n");
}

/** Every generated file, path (relative to the repository) → content. */
export async function generatedFiles(root: SchemaNode, base = repoPath(".")): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  files.set("generator/generated/values.ts", await typesSource(root));
  files.set("src/generated/messages.ts", await messageTypesSource(loadSchema));
  files.set("chart/values.yaml", valuesYaml(root));
  files.set("chart/templates/_variables.tpl", variablesTemplate());
  files.set("chart/templates/_rules.tpl", rulesTemplate());
  files.set("chart/templates/_nats_users.tpl", natsUsersTemplate());
  files.set("chart/values.schema.json", `${JSON.stringify(chartSchema(root), null, 2)}\n`);
  for (const [page, generated] of Object.entries(sections)) {
    let content = readFileSync(join(base, page), "utf8");
    for (const [name, body] of Object.entries(generated)) content = replaceSection(page, content, name, body(root));
    files.set(page, content);
  }
  for (const profile of profiles) {
    if (profile === defaultProfile) continue;
    const built = build(root, profile);
    const orphans = orphanNotes(profile, built);
    if (orphans.length > 0) throw new Error(`profile ${profile.name}: notes on keys the file does not have: ${orphans.join(", ")}`);
    files.set(`chart/profiles/${profile.name}.yaml`, profileYaml(root, profile, built, false));
  }
  return files;
}
