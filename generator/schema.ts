// The values schema and what is derived from it: defaults, descriptions and the
// schema node at any path.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../src/shared/project.js";

export interface SchemaNode {
  $ref?: string;
  description?: string;
  type?: string | string[];
  default?: unknown;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
  required?: string[];
  definitions?: Record<string, SchemaNode>;
  [keyword: string]: unknown;
}

/** Absolute path of a file of the repository. */
export function repoPath(relative: string): string {
  return join(projectRoot(import.meta.url), relative);
}

export function loadSchema(name = "values"): SchemaNode {
  return JSON.parse(readFileSync(repoPath(`schemas/${name}.schema.json`), "utf8")) as SchemaNode;
}

/** Follows a local `$ref`; the node's own description and default win over the definition's. */
export function resolve(root: SchemaNode, node: SchemaNode): SchemaNode {
  if (!node.$ref) return node;
  const name = node.$ref.replace(/^#\/definitions\//, "");
  const target = root.definitions?.[name];
  if (!target) throw new Error(`schema: unknown $ref ${node.$ref}`);
  const resolved = resolve(root, target);
  const { $ref: _ref, ...own } = node;
  return { ...resolved, ...own, definitionName: name };
}

/** The default of a node: its own, its definition's, or one built from its properties' defaults. */
export function defaultOf(root: SchemaNode, node: SchemaNode): unknown {
  const resolved = resolve(root, node);
  if (resolved.default !== undefined) return structuredClone(resolved.default);
  if (resolved.properties) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(resolved.properties)) {
      const value = defaultOf(root, child);
      if (value !== undefined) out[key] = value;
    }
    return out;
  }
  return undefined;
}

/** The schema node at a dotted path, or undefined where the schema does not describe it. */
export function nodeAt(root: SchemaNode, path: string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = root;
  for (const key of path) {
    if (!node) return undefined;
    const resolved: SchemaNode = resolve(root, node);
    if (resolved.properties?.[key]) node = resolved.properties[key];
    else if (typeof resolved.additionalProperties === "object") node = resolved.additionalProperties;
    else return undefined;
  }
  return node ? resolve(root, node) : undefined;
}

/** The schema the chart ships: the same contract, without the editor-only `$id`. */
export function chartSchema(root: SchemaNode): SchemaNode {
  const { $id: _id, ...rest } = root;
  return rest;
}
