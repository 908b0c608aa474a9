import t from "tap";
import { delta, helmMerge } from "../../generator/merge.js";

t.test("maps merge, lists and scalars replace, null deletes — as Helm merges values files", async (t) => {
  const base = { a: { b: 1, c: [1, 2], d: { e: "x" } }, f: true };
  const merged = helmMerge(base, { a: { b: 2, c: [3], d: null, g: "new" }, f: null });
  t.same(merged, { a: { b: 2, c: [3], g: "new" } });
  t.same(Object.keys(helmMerge({ x: 1, y: 2, z: 3 }, { y: 20 })), ["x", "y", "z"], "keys keep the base's order");
  t.same(base, { a: { b: 1, c: [1, 2], d: { e: "x" } }, f: true }, "the base is not changed");
  t.same(helmMerge({ m: {} }, { m: { k: "v" } }), { m: { k: "v" } });
  t.same(helmMerge({ m: { k: "v" } }, { m: "scalar" }), { m: "scalar" }, "a scalar replaces a map");
});

t.test("delta is the smallest overlay that turns the base into the values", async (t) => {
  const base = { a: { b: 1, c: [1, 2] }, d: "x", e: 1 };
  const values = { a: { b: 1, c: [1, 2, 3] }, d: "y" };
  const d = delta(base, values);
  t.same(d, { a: { c: [1, 2, 3] }, d: "y", e: null });
  t.same(helmMerge(base, d), values, "merging the delta gives the values back");
  t.same(delta(base, structuredClone(base)), {}, "no difference, empty delta");
});
