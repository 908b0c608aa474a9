// TypeScript types of the merged values, generated from the schema. Every
// property is present once the defaults are merged in, so all are required.
import { compile } from "json-schema-to-typescript";
import type { SchemaNode } from "./schema.js";

/** Kubernetes resource lists whose keys a values file may delete with null (a pod without a CPU limit, say). */
const optionalKeys = new Set(["resources", "resourceList"]);

function forTypes(node: SchemaNode, keysOptional = false): SchemaNode {
  if (node.$ref) return { $ref: node.$ref };
  const out: SchemaNode = { ...node };
  delete out.default;
  if (node.properties) {
    out.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, forTypes(v)]));
    if (!keysOptional) out.required = Object.keys(node.properties);
  }
  if (node.definitions) out.definitions = Object.fromEntries(Object.entries(node.definitions).map(([k, v]) => [k, forTypes(v, optionalKeys.has(k))]));
  if (node.items) out.items = forTypes(node.items);
  if (typeof node.additionalProperties === "object") out.additionalProperties = forTypes(node.additionalProperties);
  return out;
}

export async function typesSource(root: SchemaNode): Promise<string> {
  const { title: _title, $id: _id, ...rest } = forTypes(root);
  const banner = "// Generated from schemas/values.schema.json by `npm run gen-values -- --all`. Do not edit.\n\n";
  const body = await compile(rest as Parameters<typeof compile>[0], "Values", {
    bannerComment: "",
    format: true,
    unreachableDefinitions: false,
    style: { singleQuote: false },
  });
  return banner + body;
}

export const messageSchemas = ["meme-request", "meme-result", "worker-heartbeat"] as const;

/** Types of the messages between frontend and workers, one interface per schema (named by its title). */
export async function messageTypesSource(load: (name: string) => SchemaNode): Promise<string> {
  const parts = ["// Generated from schemas/meme-*.schema.json and worker-heartbeat.schema.json by `npm run gen-values -- --all`. Do not edit.\n"];
  for (const name of messageSchemas) {
    const schema = load(name);
    parts.push(await compile(schema as Parameters<typeof compile>[0], String(schema.title), { bannerComment: "", format: true, style: { singleQuote: false } }));
  }
  return parts.join("\n");
}
