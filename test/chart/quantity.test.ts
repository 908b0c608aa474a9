// The chart's reading of memory quantities (the meme-generator.bytes helper, used for the NATS
// store sizes) against the shared table of cases the program is held to. The values schema is
// skipped so that the helper itself answers every case.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { helmTemplate } from "./helm.js";

const cases = (JSON.parse(readFileSync(new URL("../quantity-cases.json", import.meta.url), "utf8")) as { memory: [string, number | null][] }).memory;

function fileStore(quantity: string, flag: "--set-string" | "--set" | "-f" = "--set-string") {
  const value = flag === "-f" ? quantity : `nats.jetstream.fileStore.maxSize=${quantity}`;
  const out = helmTemplate(["--skip-schema-validation", "--show-only", "templates/nats/configmap.yaml", flag, value]);
  return out.status === 0 ? { bytes: Number(/max_file_store: (\S+)/.exec(out.stdout)?.[1]) } : { error: out.stderr };
}

t.test("memory quantities, as the table has them", async (t) => {
  for (const [quantity, expected] of cases) {
    const got = fileStore(quantity);
    if (expected === null) t.match(got, { error: /is not a memory quantity|is not a whole number of bytes/ }, `${JSON.stringify(quantity)} is refused`);
    else t.same(got, { bytes: expected }, JSON.stringify(quantity));
  }
});

t.test("a size given as a number is bytes, from --set and from a values file", async (t) => {
  t.same(fileStore("1073741824", "--set"), { bytes: 1073741824 });
  const dir = mkdtempSync(join(tmpdir(), "meme-quantity-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "values.yaml");
  writeFileSync(file, "nats:\n  jetstream:\n    fileStore:\n      maxSize: 2147483648\n");
  t.same(fileStore(file, "-f"), { bytes: 2147483648 }, "a YAML number, which Helm reads as a float");
});
