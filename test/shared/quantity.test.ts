// The program's reading of quantities against the shared table of cases (the chart's is held to it too).
import { readFileSync } from "node:fs";
import t from "tap";
import { bytes } from "../../src/shared/env.js";
import { cpuCores, memoryBytes } from "../../src/shared/quantity.js";

const cases = (JSON.parse(readFileSync(new URL("../quantity-cases.json", import.meta.url), "utf8")) as { memory: [string, number | null][] }).memory;

t.test("memory quantities, as the table has them", async (t) => {
  t.ok(cases.length >= 10);
  for (const [quantity, expected] of cases) t.equal(memoryBytes(quantity) ?? null, expected, JSON.stringify(quantity));
  t.equal(memoryBytes(1024), 1024, "a plain number is bytes");
  t.equal(memoryBytes(null), undefined);
});

t.test("a size variable takes the same quantities, within its bounds", async (t) => {
  const size = bytes("a size", "64Ki", 0, 2 ** 50);
  for (const [quantity, expected] of cases) t.equal(size.parse(quantity) ?? null, expected, JSON.stringify(quantity));
  t.equal(bytes("a size", "64Ki", 2 ** 20, 2 ** 30).parse("2Gi"), undefined, "over the maximum");
  t.equal(size.parse("0.5"), undefined, "half a byte is not a size");
});

t.test("CPU quantities", async (t) => {
  t.equal(cpuCores("250m"), 0.25);
  t.equal(cpuCores("1.5"), 1.5);
  t.equal(cpuCores(2), 2);
  t.equal(cpuCores("ten"), undefined);
  t.equal(cpuCores(undefined), undefined);
});
