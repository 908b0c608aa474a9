import t from "tap";
import { eventually, GiveUp } from "./eventually.js";

t.test("returns the first value that is neither undefined nor false", async (t) => {
  let tries = 0;
  const value = await eventually(() => (++tries < 3 ? undefined : tries === 3 ? false : { tries }), { interval: 1 });
  t.same(value, { tries: 4 }, "undefined and false are not yet; an object is the answer");
  t.equal(await eventually(() => 0), 0, "0 and the empty string are answers");
  t.equal(await eventually(() => ""), "");
});

t.test("a try that throws is not yet", async (t) => {
  let tries = 0;
  const value = await eventually(
    async () => {
      if (++tries < 3) throw new Error("not listening yet");
      return "up";
    },
    { interval: 1 },
  );
  t.equal(value, "up");
  t.equal(tries, 3);
});

t.test("past the timeout it throws, naming what was awaited and the last error", async (t) => {
  let tries = 0;
  const started = Date.now();
  await t.rejects(
    eventually(
      () => {
        tries++;
        throw new Error("connection refused");
      },
      { timeout: 100, interval: 10, what: "the server" },
    ),
    { message: "the server did not come within 100 ms; the last error a try threw: connection refused" },
  );
  t.ok(Date.now() - started >= 100, "not before the timeout");
  t.ok(tries >= 2, `it tried again meanwhile (${tries} tries)`);
  await t.rejects(eventually(() => false, { timeout: 30, interval: 5, what: "a false condition" }), { message: "a false condition did not come within 30 ms" });
});

t.test("GiveUp ends the wait at once; detail is read into the timeout's message", async (t) => {
  let tries = 0;
  const started = Date.now();
  await t.rejects(
    eventually(
      () => {
        if (++tries === 2) throw new GiveUp("the server exited with 1");
        return false;
      },
      { timeout: 10_000, interval: 1 },
    ),
    { message: "the server exited with 1" },
  );
  t.equal(tries, 2, "no try after it");
  t.ok(Date.now() - started < 5000, "long before the timeout");
  let read = 0;
  await t.rejects(eventually(() => undefined, { timeout: 20, interval: 5, what: "a result", detail: () => `missing: a, b (${++read})` }), { message: "a result did not come within 20 ms\nmissing: a, b (1)" });
});
