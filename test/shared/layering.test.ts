// The tiers do not import each other: a frontend process never loads the
// renderer, a worker never loads the HTTP server. Each folder under src/ may
// import its own files, src/shared/ and src/generated/; src/shared/ only itself
// and src/generated/; src/cli/ (the dispatcher) and src/local/ (`start`, which
// runs every tier in one process) any of them.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import t from "tap";

const src = resolve(import.meta.dirname, "../../src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "public" ? [] : sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Relative specifiers of static imports, re-exports and dynamic imports. */
function relativeImports(code: string): string[] {
  const found = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm)].map((m) => m[1] ?? "");
  return found.filter(Boolean);
}

function folderOf(file: string): string {
  return relative(src, file).split("/")[0] ?? "";
}

/** The imports of `file` that break the layering, as "from → to". */
function violations(file: string, code: string): string[] {
  const from = folderOf(file);
  if (from === "cli" || from === "local") return [];
  const allowed = new Set([from, "shared", "generated"]);
  return relativeImports(code)
    .map((specifier) => folderOf(resolve(dirname(file), specifier)))
    .filter((to) => !allowed.has(to))
    .map((to) => `${relative(src, file)} → src/${to}/`);
}

t.test("the checker sees static, dynamic and type imports across tiers", async (t) => {
  const frontend = join(src, "frontend/app.ts");
  t.same(violations(frontend, 'import { x } from "../backend/worker.js";'), ["frontend/app.ts → src/backend/"]);
  t.same(violations(frontend, 'import type { X } from "../backend/render/templates.js";'), ["frontend/app.ts → src/backend/"]);
  t.same(violations(frontend, 'const m = await import("../load/load.js");'), ["frontend/app.ts → src/load/"]);
  t.same(violations(join(src, "shared/messages.ts"), 'import { templateNames } from "../backend/render/templates.js";'), ["shared/messages.ts → src/backend/"]);
  t.same(violations(frontend, 'import { keys } from "../shared/contract.js";\nimport { Hub } from "./hub.js";\nimport type { MemeResult } from "../generated/messages.js";'), []);
  t.same(violations(join(src, "cli/main.ts"), 'await import("../backend/main.js");'), [], "the dispatcher may load any tier");
  t.same(violations(join(src, "smoke/smoke.ts"), 'import { x } from "../local/servers.js";'), ["smoke/smoke.ts → src/local/"], "but no tier may load them");
});

t.test("no tier imports another tier", async (t) => {
  const files = sources(src);
  t.ok(files.length > 20, `${files.length} source files`);
  const found = files.flatMap((file) => violations(file, readFileSync(file, "utf8")));
  t.same(found, [], "imports across tiers");
});
