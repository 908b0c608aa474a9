// The README and the docs are part of the product: their tables must match the
// code, and every command they show must exist.
import { readdirSync, readFileSync } from "node:fs";
import t from "tap";
import { help as genValuesHelp } from "../generator/cli.js";
import { commands } from "../src/cli/main.js";
import { shownDefault } from "../src/shared/env.js";
import { groups } from "../src/shared/variables.js";

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8");
const pages = ["README.md", ...readdirSync(new URL("../docs/", import.meta.url)).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const pkg = JSON.parse(read("package.json")) as { scripts: Record<string, string> };

t.test("the environment table lists every variable with its default, and nothing else", async (t) => {
  const section = read("docs/configuration.md").split("<!-- env:start")[1]?.split("<!-- env:end")[0] ?? "";
  const rows = new Map([...section.matchAll(/^\| `([A-Z_]+)` \| `([^`]*)` \|/gm)].map((m) => [m[1], m[2]]));
  const declared = Object.values(groups).flatMap((group) => Object.entries(group));
  for (const [name, spec] of declared) t.equal(rows.get(name), shownDefault(spec), `${name} and its default`);
  t.same([...rows.keys()].sort(), declared.map(([name]) => name).sort(), "no undeclared variable in the table");
});

for (const page of pages) {
  const text = read(page);
  t.test(`${page}: every npm script, subcommand and gen-values option it shows exists`, async (t) => {
    const scripts = [...text.matchAll(/npm run (?:-s )?([\w:-]+)/g)].map((m) => m[1] ?? "");
    if (page === "README.md") t.ok(scripts.length > 0, "the README shows npm scripts");
    for (const script of new Set(scripts)) t.ok(pkg.scripts[script], `npm run ${script}`);
    for (const [, sub] of text.matchAll(/\bmeme-generator ([a-z]+)\b(?! -n)/g)) {
      if (sub && /^(frontend|backend|provision|load|smoke|start|doctor)$/.test(sub)) t.ok(Object.hasOwn(commands, sub), `meme-generator ${sub}`);
    }
    for (const [, option] of text.matchAll(/gen-values -- (--[a-z-]+)/g)) t.match(genValuesHelp, `  ${option}`, `gen-values ${option}`);
  });
}

t.test("docs/ has its index, and the index names every page", async (t) => {
  const index = read("docs/README.md");
  for (const page of pages.filter((p) => p.startsWith("docs/") && p !== "docs/README.md")) t.match(index, `(${page.slice(5)})`, page);
});
