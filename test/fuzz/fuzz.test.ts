// Bad input from anywhere — HTTP bodies, raw NATS payloads — gets a clear
// answer, never a 5xx, never a crashed worker, never a message left in the stream;
// and the attacks of docs/security.md, at random: foreign content types, forged
// forwarding headers, taken ids, control characters, ids with subject characters,
// aborted and slow bodies, malformed and forged advisories.
import { headers } from "@nats-io/transport-node";
import fc from "fast-check";
import { randomUUID } from "node:crypto";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import { startBackend } from "../../src/backend/main.js";
import { startFrontend } from "../../src/frontend/main.js";
import { subjects } from "../../src/shared/contract.js";
import { eventually } from "../harness/eventually.js";
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

  await t.test("content types: only JSON is a submit; anything else is a 415 with the reason", async (t) => {
    const json = /^application\/json\s*(;.*)?$/i;
    const type = fc.oneof(
      fc.constantFrom("text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=utf-8", "APPLICATION/JSON", "application/jsonx", "application/ld+json", "text/json"),
      fc.stringMatching(/^[a-z]{1,12}\/[a-z+.-]{1,16}(; ?charset=[a-z0-9-]{1,10})?$/),
    );
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(type, async (contentType) => {
        const res = await web.app.inject({ method: "POST", url: "/api/memes", headers: { "content-type": contentType }, payload: JSON.stringify({ prompt: "typed" }) });
        if (json.test(contentType)) return res.statusCode === 202;
        refused++;
        return res.statusCode === 415 && res.json().error === "unsupported_media_type";
      }),
      { numRuns: runs },
    );
    t.ok(refused > 0, `${refused} foreign types refused`);
  });

  await t.test("prompts with control characters, lone surrogates or nothing visible: a 400 naming the problem", async (t) => {
    const bad = fc.oneof(
      // Tab, line feed, vertical tab, form feed and return are white space: they fold to single spaces.
      fc.integer({ min: 0, max: 0x1f }).filter((c) => c < 0x09 || c > 0x0d).map((c) => String.fromCharCode(c)),
      fc.constantFrom("\u007f", "\ufffe", "\uffff", "\ud800", "\udfff"),
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40 }), bad, fc.string({ maxLength: 40 }), async (before, char, after) => {
        const res = await web.app.inject({ method: "POST", url: "/api/memes", payload: { prompt: `x${before}${char}${after}` } });
        return res.statusCode === 400 && /control character|lone surrogate/.test(res.json().message as string);
      }),
      { numRuns: runs },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", " ", "\t"), { minLength: 1, maxLength: 20 }), async (chars) => {
        const res = await web.app.inject({ method: "POST", url: "/api/memes", payload: { prompt: chars.join("") } });
        return res.statusCode === 400;
      }),
      { numRuns: runs },
    );
    t.pass("every one refused at the door");
  });

  await t.test("ids: one that is no UUID is refused; a taken one is a 409 unless it is the same request", async (t) => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("a b", "x.y", "*", ">", "meme.response.>", "../../etc")), async (id) => {
        const res = await web.app.inject({ method: "POST", url: "/api/memes", payload: { id, prompt: "an id of my own" } });
        return res.statusCode === 400 && res.json().error === "invalid_request";
      }),
      { numRuns: runs },
    );
    const owned = randomUUID();
    const first = await web.app.inject({ method: "POST", url: "/api/memes", payload: { id: owned, prompt: "the owner" } });
    t.equal(first.statusCode, 202);
    let taken = 0;
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 60 }), fc.boolean(), async (prompt, small) => {
        const res = await web.app.inject({ method: "POST", url: "/api/memes", payload: { id: owned, prompt: `meme ${prompt}`, smallImage: small } });
        if (res.statusCode === 409) taken++;
        return res.statusCode === 409 ? res.json().error === "id_taken" : res.statusCode === 400;
      }),
      { numRuns: runs },
    );
    t.ok(taken > 0, `${taken} takeovers refused`);
    const again = await web.app.inject({ method: "POST", url: "/api/memes", payload: { id: owned, prompt: "  the   owner " } });
    t.equal(again.statusCode, 202, "the same request again is a retry");
  });

  await t.test("forged X-Forwarded-For: with no proxy trusted, no header gets a client past its limit", async (t) => {
    const limit = 5;
    const limited = await startFrontend({ ...stack.env, PORT: String(await freePort()), METRICS_PORT: String(await freePort()), SHUTDOWN_DELAY: "0", RATE_LIMIT_PER_MINUTE: String(limit) }, "127.0.0.1");
    t.teardown(() => limited.stop(0));
    const forwarded = fc.oneof(fc.ipV4(), fc.ipV6(), fc.array(fc.ipV4(), { minLength: 1, maxLength: 4 }).map((ips) => ips.join(", ")), fc.stringMatching(/^[!-~][ -~]{0,59}$/));
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(forwarded, async (header) => {
        const res = await limited.app.inject({ method: "POST", url: "/api/memes", headers: { "x-forwarded-for": header, "x-real-ip": header, forwarded: `for=${header}` }, payload: { prompt: "who am i" } });
        if (res.statusCode === 202) accepted++;
        return res.statusCode === 202 || res.statusCode === 429;
      }),
      { numRuns: runs },
    );
    t.equal(accepted, limit, `${limit} accepted in the minute, whatever the headers said`);
  });

  await t.test("aborted and slow bodies: every slot comes back, probes answer throughout", async (t) => {
    const request = 'POST /api/memes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"prompt":"never finished, never sent"}';
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: request.length - 1 }), fc.integer({ min: 0, max: 30 }), async (cut, waitMs) => {
        const socket = connect(web.port, "127.0.0.1");
        socket.on("error", () => undefined);
        await new Promise((resolve) => socket.once("connect", resolve));
        socket.write(request.slice(0, cut));
        await sleep(waitMs);
        socket.destroy();
        return (await fetch(`http://127.0.0.1:${web.port}/healthz`)).status === 200;
      }),
      { numRuns: Math.max(10, Math.round(runs / 3)) },
    );
    await eventually(async () => (await fetch(`http://127.0.0.1:${web.port}/api/stats`)).status === 200, { timeout: 5000, interval: 50, what: "the slots back (/api/stats not shed)" });
    t.equal((await fetch(`http://127.0.0.1:${web.port}/healthz`)).status, 200, "not shed: the slots are back, the frontend alive");
  });

  await t.test("malformed and forged advisories delete nothing and stop nothing", async (t) => {
    const queued = Array.from({ length: 10 }, () => randomUUID());
    const advisory = subjects.maxDeliveries("MEMES", "meme-generator");
    const last = (await stack.jsm.streams.info("MEMES")).state.last_seq;
    const forged = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.record({ stream_seq: fc.integer({ min: 0, max: last + 40 }), deliveries: fc.integer({ min: -1, max: 10 }), stream: fc.constant("MEMES"), consumer: fc.constant("meme-generator") }).map((v) => JSON.stringify(v)),
    );
    for (const id of queued) await fetch(`http://127.0.0.1:${web.port}/api/memes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ id, prompt: `queued ${id.slice(0, 8)}` }) });
    await fc.assert(
      fc.asyncProperty(forged, async (payload) => {
        stack.nc.publish(advisory, payload);
        return true;
      }),
      { numRuns: runs },
    );
    const results = await stack.waitForResults(queued, 60000);
    t.same(results.filter((r) => r.status !== "done").map((r) => `${r.id}: ${r.error ?? r.status}`), [], "every queued meme was made, none deleted as exhausted");
    t.equal((await fetch(`http://127.0.0.1:${web.port}/readyz`)).status, 200, "and the frontend is still ready");
  });

  await t.test("raw NATS payloads: every one answered, the worker alive, the stream empty", async (t) => {
    const ids: string[] = [];
    const payload = fc.oneof(
      fc.uint8Array({ maxLength: 256 }),
      fc.jsonValue().map((v) => new TextEncoder().encode(JSON.stringify(v))),
      fc.record({ prompt: fc.string({ maxLength: 250 }), fastMode: fc.boolean(), template: fc.constantFrom("ocean", "space", "nope") }).map((v) => new TextEncoder().encode(JSON.stringify(v))),
      // Ids that are no subject token, in the payload.
      fc.record({ id: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom("a b", "x.y", "*", ">", "a.>")), prompt: fc.constant("subject characters") }).map((v) => new TextEncoder().encode(JSON.stringify(v))),
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
    // Ids that are no subject token, in the header of a payload without one: answered on a new id.
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.stringMatching(/^[!-~]{1,30}$/), fc.constantFrom("a b", "x.y", "*", ">", "a.>")), async (id) => {
        const h = headers();
        h.set("Nats-Msg-Id", id);
        stack.nc.publish("meme.request", JSON.stringify({ prompt: "header id" }), { headers: h });
        return true;
      }),
      { numRuns: runs },
    );
    // A payload that carries an id of its own is answered under that id: collect what came back per header id, and any others.
    // Done when the consumer has nothing pending and a result came for each payload (the stream may
    // still be taking in the last core publishes when the lag first reads 0).
    await eventually(async () => stack.results.size >= ids.length && (await stack.lag()) === 0, { timeout: 60000, interval: 100, what: "a result for each payload, and lag 0" });
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
