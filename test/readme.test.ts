// The README is part of the product: its tables must match the code.
import { readFileSync } from "node:fs";
import t from "tap";
import { shownDefault } from "../src/shared/env.js";
import { groups } from "../src/shared/variables.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> };

t.test("the environment table lists every variable with its default, and nothing else", async (t) => {
  const section = readme.split("## Environment variables")[1]?.split("\n## ")[0] ?? "";
  const rows = new Map([...section.matchAll(/^\| `([A-Z_]+)` \| `([^`]*)` \|/gm)].map((m) => [m[1], m[2]]));
  const declared = Object.values(groups).flatMap((group) => Object.entries(group));
  for (const [name, spec] of declared) t.equal(rows.get(name), shownDefault(spec), `${name} and its default`);
  t.same([...rows.keys()].sort(), declared.map(([name]) => name).sort(), "no undeclared variable in the table");
});

t.test("every npm script the README shows exists", async (t) => {
  const shown = [...readme.matchAll(/npm run (?:-s )?([\w:-]+)/g)].map((m) => m[1] ?? "");
  t.ok(shown.length > 0);
  for (const script of new Set(shown)) t.ok(pkg.scripts[script], `npm run ${script}`);
});
