// Bad input from anywhere — HTTP bodies, raw NATS payloads — gets a clear
// answer, never a 5xx, never a crashed worker, never a message left in the stream.
import { headers } from "@nats-io/transport-node";
import fc from "fast-check";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import { startBackend } from "../../src/backend/main.js";
import { startFrontend } from "../../src/frontend/main.js";
import { freePort } from "../harness/servers.js";
import { startStack } from "../harness/stack.js";

const runs = Number(process.env.FUZZ_RUNS ?? 150);

t.test("fuzzing", async (t) => {
  const stack = await startStack(t, "pinned");
  const backend = await startBackend(stack.env);
  t.teardown(() => backend.stop());
  const web = await startFrontend({ ...stack.env, PORT: String(await freePort()), METRICS_PORT: String(await freePort()), SHUTDOWN_DELAY: "0" }, "127.0.0.1");
  t.teardown(() => web.stop(0));

  await t.test("HTTP bodies: no 5xx, and every refusal says why", async (t) => {
    const body = fc.oneof(
      // Bodies a client would send, so that every run tries accepted ones too, not only by chance.
      fc.record({ prompt: fc.string({ minLength: 1, maxLength: 200 }).map((text) => `meme ${text}`), fastMode: fc.boolean() }),
      fc.jsonValue(),
      fc.record({ prompt: fc.oneof(fc.string({ maxLength: 300 }), fc.jsonValue()), fastMode: fc.oneof(fc.boolean(), fc.jsonValue()), template: fc.oneof(fc.constantFrom("ocean", "doge", ""), fc.jsonValue()) }, { requiredKeys: [] }),
      fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue(), { maxKeys: 5 }),
    );
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(body, async (value) => {
        const res = await web.app.inject({ method: "POST", url: "/api/memes", headers: { "content-type": "application/json" }, payload: JSON.stringify(value) });
        if (res.statusCode >= 500) return false;
        if (res.statusCode === 202) {
          accepted++;
          return typeof res.json().id === "string";
        }
        refused++;
        const problem = res.json() as { error?: unknown; message?: unknown };
        return res.statusCode >= 400 && typeof problem.error === "string" && typeof problem.message === "string" && problem.message.length > 0;
      }),
      { numRuns: runs },
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), async (raw) => {
        const res = await web.app.inject({ method: "POST", url: "/api/memes", headers: { "content-type": "application/json" }, payload: raw });
        return res.statusCode < 500 && typeof res.json().message === "string";
      }),
      { numRuns: runs },
    );
    t.ok(refused > 0 && accepted > 0, `${accepted} accepted, ${refused} refused with a reason`);
  });

  await t.test("raw NATS payloads: every one answered, the worker alive, the stream empty", async (t) => {
    const ids: string[] = [];
    const payload = fc.oneof(
      fc.uint8Array({ maxLength: 256 }),
      fc.jsonValue().map((v) => new TextEncoder().encode(JSON.stringify(v))),
      fc.record({ prompt: fc.string({ maxLength: 250 }), fastMode: fc.boolean(), template: fc.constantFrom("ocean", "space", "nope") }).map((v) => new TextEncoder().encode(JSON.stringify(v))),
    );
    await fc.assert(
      fc.asyncProperty(payload, async (bytes) => {
        const id = randomUUID();
        const h = headers();
        h.set("Nats-Msg-Id", id);
        stack.nc.publish("meme.request", bytes, { headers: h });
        ids.push(id);
        return true;
      }),
      { numRuns: runs },
    );
    // A payload that carries an id of its own is answered under that id: collect what came back per header id, and any others.
    const deadline = Date.now() + 60000;
    while (Date.now() < deadline && (await stack.lag()) > 0) await sleep(100);
    await sleep(300);
    t.equal(await stack.lag(), 0, "lag 0");
    t.equal(await stack.streamMessages(), 0, "nothing left in the stream");
    const answered = ids.filter((id) => stack.results.has(id)).length;
    t.ok(answered >= ids.length * 0.9, `${answered} of ${ids.length} answered under their header id (the rest under an id of their own payload)`);
    t.ok(stack.results.size >= ids.length, `${stack.results.size} results for ${ids.length} payloads`);
    const health = await fetch(`http://127.0.0.1:${stack.env.METRICS_PORT}/healthz`);
    t.equal(health.status, 200, "the worker is alive");
    // One assertion for them all, so that the count of assertions does not follow the random payloads.
    const failed = [...stack.results.values()].filter((result) => result.status === "failed");
    const silent = failed.filter((result) => !result.error || result.error.length === 0).map((result) => result.id);
    t.same(silent, [], `each of the ${failed.length} failed results says why`);
  });
});
