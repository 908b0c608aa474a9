// The schema is hand-written; these checks keep it to its own rules.
import t from "tap";
import { defaults } from "../../generator/generate.js";
import { loadSchema, resolve, type SchemaNode } from "../../generator/schema.js";
import { schemaProblems } from "../../generator/validate.js";

const root = loadSchema();

function walk(node: SchemaNode, path: string[], visit: (node: SchemaNode, path: string[]) => void) {
  const resolved = resolve(root, node);
  visit(resolved, path);
  for (const [key, child] of Object.entries(resolved.properties ?? {})) walk(child, [...path, key], visit);
}

t.test("draft-07, with a description on every value and additionalProperties false on our own objects", async (t) => {
  t.equal(root.$schema, "http://json-schema.org/draft-07/schema#");
  const undescribed: string[] = [];
  const open: string[] = [];
  walk(root, [], (node, path) => {
    if (path.length > 0 && !node.description) undescribed.push(path.join("."));
    if (node.properties && node.additionalProperties !== false) open.push(path.join(".") || "(root)");
  });
  t.same(undescribed, [], "every value has a description");
  t.same(open, [], "every object with listed properties is closed");
});

t.test("every value has a default, and the defaults validate", async (t) => {
  const missing: string[] = [];
  const visit = (node: SchemaNode, path: string[]) => {
    const resolved = resolve(root, node);
    if (resolved.default !== undefined) return;
    if (!resolved.properties) missing.push(path.join("."));
    for (const [key, child] of Object.entries(resolved.properties ?? {})) visit(child, [...path, key]);
  };
  visit(root, []);
  t.same(missing, []);
  t.same(schemaProblems(root, defaults(root)), []);
});

t.test("patterns are plain enough for both ajv (JavaScript) and Helm's Go validator (RE2)", async (t) => {
  const patterns: string[] = [];
  const collect = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(collect);
    else if (value && typeof value === "object") {
      for (const [key, child] of Object.entries(value)) {
        if (key === "pattern" && typeof child === "string") patterns.push(child);
        else collect(child);
      }
    }
  };
  collect(root);
  t.ok(patterns.length > 10, `${patterns.length} patterns`);
  for (const pattern of patterns) {
    t.doesNotThrow(() => new RegExp(pattern, "u"), pattern);
    t.notMatch(pattern, /\(\?[=!<]|\\[1-9]|\\[pP]\{/, `${pattern}: no lookaround, backreference or Unicode class`);
  }
});
