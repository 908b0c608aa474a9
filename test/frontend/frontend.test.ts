import { jetstream } from "@nats-io/jetstream";
import { Redis } from "ioredis";
import { pino } from "pino";
import { randomUUID } from "node:crypto";
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import { startBackend } from "../../src/backend/main.js";
import { buildApp, frontendMetrics } from "../../src/frontend/app.js";
import { Hub } from "../../src/frontend/hub.js";
import { startFrontend } from "../../src/frontend/main.js";
import { ScalingView } from "../../src/frontend/scaling.js";
import type { MemeResult } from "../../src/generated/messages.js";
import { readEvents } from "../../src/load/events.js";
import { keys, PROMPT_MAX, RECENT_MAX, subjects } from "../../src/shared/contract.js";
import { eventually } from "../harness/eventually.js";
import { freePort, natsFlavours } from "../harness/servers.js";
import { startStack, type Stack } from "../harness/stack.js";

interface Event {
  type: string;
  data: Record<string, unknown>;
}

/** Collects the server-sent events of /api/events until closed. */
async function listen(port: number): Promise<{ events: Event[]; close(): void }> {
  const events: Event[] = [];
  const close = await readEvents(`http://127.0.0.1:${port}`, (type, data) => events.push({ type, data: data as Record<string, unknown> }));
  return { events, close };
}

async function frontendFor(t: Tap, stack: Stack, env: Record<string, string> = {}) {
  const port = await freePort();
  const metricsPort = await freePort();
  const fe = await startFrontend({ ...stack.env, PORT: String(port), METRICS_PORT: String(metricsPort), SHUTDOWN_DELAY: "0", ...env }, "127.0.0.1");
  t.teardown(() => fe.stop(0));
  return { ...fe, base: `http://127.0.0.1:${port}`, metricsPort };
}

type Tap = { teardown(fn: () => unknown): void };

async function post(base: string, body: unknown) {
  const res = await fetch(`${base}/api/memes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

for (const flavour of natsFlavours) {
  t.test(`submit → PNG over real sockets on nats-server (${flavour})`, async (t) => {
    const stack = await startStack(t, flavour);
    const backend = await startBackend(stack.env);
    t.teardown(() => backend.stop());
    const fe = await frontendFor(t, stack);
    const sse = await listen(fe.port);
    t.teardown(() => sse.close());

    const created = await post(fe.base, { prompt: "one does not simply | skip the tests" });
    t.equal(created.status, 202);
    const id = created.body.id as string;
    t.same(created.body, { id, status: "queued", links: { self: `/api/memes/${id}`, image: `/api/memes/${id}/image.png`, events: "/api/events" } });
    const done = await eventually(async () => {
      const body = (await (await fetch(`${fe.base}/api/memes/${id}`)).json()) as Record<string, unknown>;
      return body.status === "queued" ? undefined : body;
    }, { what: "the result", timeout: 20000 });
    t.match(done, { id, status: "done", cached: false, width: 1024, prompt: "one does not simply | skip the tests" });
    const image = await fetch(`${fe.base}/api/memes/${id}/image.png`);
    t.equal(image.status, 200);
    t.equal(image.headers.get("content-type"), "image/png");
    const png = Buffer.from(await image.arrayBuffer());
    t.equal(png.readUInt32BE(16), 1024, "a 1024 px PNG");
    const resultEvent = await eventually(async () => sse.events.find((e) => e.type === "result" && e.data.id === id), { what: "the result event", timeout: 20000 });
    t.match(resultEvent.data, { id, status: "done" });
    t.ok(
      sse.events.some((e) => e.type === "stats" && typeof e.data.lag === "number"),
      "stats events",
    );

    const ids = await Promise.all(
      Array.from({ length: 50 }, (_, i) => post(fe.base, { prompt: `concurrent ${i}`, fastMode: true }).then((r) => r.body.id as string)),
    );
    const results = await stack.waitForResults(ids, 60000);
    t.equal(results.filter((r) => r.status === "done").length, 50, "50 concurrent requests all answered");

    const recent = (await (await fetch(`${fe.base}/api/memes`)).json()) as { memes: { id: string }[] };
    t.equal(recent.memes.length, 51);
    t.same(new Set(recent.memes.map((m) => m.id)), new Set([id, ...ids]), "the gallery has every meme, newest first");

    const stats = await eventually(async () => {
      const s = (await (await fetch(`${fe.base}/api/stats`)).json()) as { lag: number; workers: { workerId: string }[]; throughput: number };
      return s.workers.length === 1 && s.lag === 0 ? s : undefined;
    }, { what: "a worker in the stats", timeout: 20000 });
    t.equal(stats.workers[0]?.workerId, backend.worker.id);
    const exported = await (await fetch(`http://127.0.0.1:${fe.metricsPort}/metrics`)).text();
    t.match(exported, /^meme_frontend_queue_lag 0$/m, "the lag is a metric too, for alerts and the dashboard");
    t.match(exported, /^meme_frontend_live_workers 1$/m);
    t.match(exported, /^meme_frontend_published_total 51$/m);
    t.ok(stats.throughput > 0, `throughput ${stats.throughput}/s`);

    const redis = new Redis(stack.redis.clientUrl);
    t.teardown(() => redis.disconnect());
    await redis.del(done.imageKey as string);
    const gone = await fetch(`${fe.base}/api/memes/${id}/image.png`);
    t.equal(gone.status, 410);
    t.same(await gone.json(), { error: "expired", message: "the image has expired from the cache; submit the meme again" });
  });
}

t.test("the API with app.inject: validation, errors, headers", async (t) => {
  const stack = await startStack(t, "pinned");
  const fe = await frontendFor(t, stack, { RATE_LIMIT_PER_MINUTE: "4" });
  const inject = (method: "GET" | "POST", url: string, payload?: unknown) => fe.app.inject({ method, url, payload: payload as string });

  const empty = await inject("POST", "/api/memes", { prompt: "   " });
  t.equal(empty.statusCode, 400);
  t.same(empty.json(), { error: "invalid_request", message: `prompt must be 1–${PROMPT_MAX} characters after trimming (got 0)` });
  const unknown = await inject("POST", "/api/memes", { prompt: "x", colour: "red" });
  t.same(unknown.json(), { error: "invalid_request", message: "unknown field colour" });
  const notJson = await fe.app.inject({ method: "POST", url: "/api/memes", headers: { "content-type": "application/json" }, payload: "{nope" });
  t.equal(notJson.statusCode, 400);
  t.equal(notJson.json().error, "bad_request");

  t.equal((await inject("POST", "/api/memes", { prompt: "fourth accepted" })).statusCode, 202, "refused bodies count too, unreadable ones included: this is the fourth");
  const limited = await inject("POST", "/api/memes", { prompt: "fifth" });
  t.equal(limited.statusCode, 429, "the fifth submission in a minute is refused");
  t.match(limited.json(), { error: "rate_limited", message: /^at most 4 memes a minute per client; try again in \d+ s$/ });
  t.match(limited.headers["retry-after"], /^\d+$/);

  const missing = await inject("GET", "/api/memes/0b6f7a52-9c1e-4d2b-8f3a-5e6d7c8b9a01");
  t.equal(missing.statusCode, 404);
  t.equal(missing.json().error, "not_found");
  const nowhere = await inject("GET", "/nowhere");
  t.same(nowhere.json(), { error: "not_found", message: "no route GET /nowhere" });
  t.equal(nowhere.headers["x-content-type-options"], "nosniff");
  t.match(String(nowhere.headers["content-security-policy"]), /default-src 'self'/);
  t.equal((await inject("GET", "/healthz")).statusCode, 200);
  t.equal((await inject("GET", "/readyz")).statusCode, 200);
});

t.test("only JSON bodies are submits (a foreign page can post others without a preflight), and only prompts a meme can show", async (t) => {
  const stack = await startStack(t, "pinned");
  const fe = await frontendFor(t, stack);
  const body = JSON.stringify({ prompt: "cross-site" });
  const send = (headers: Record<string, string>) => fe.app.inject({ method: "POST", url: "/api/memes", headers, payload: body });
  for (const type of ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
    const refused = await send({ "content-type": type });
    t.equal(refused.statusCode, 415, type);
    t.same(refused.json(), { error: "unsupported_media_type", message: "a meme is submitted as application/json" }, type);
    t.equal(refused.headers["x-content-type-options"], "nosniff", `${type}: with the security headers`);
  }
  const untyped = await fe.app.inject({ method: "POST", url: "/api/memes", payload: Buffer.from(body) });
  t.equal(untyped.statusCode, 415, "a body without a content type");
  t.equal((await send({ "content-type": "application/json; charset=utf-8" })).statusCode, 202, "JSON with a charset is a submit");
  t.equal((await send({ "content-type": "application/json" })).statusCode, 202);
  const submit = (prompt: string) => fe.app.inject({ method: "POST", url: "/api/memes", payload: { prompt } });
  const control = await submit("a\u0000b");
  t.equal(control.statusCode, 400, "a control character is refused at the door");
  t.same(control.json(), { error: "invalid_request", message: "prompt contains the control character U+0000, which a meme cannot show" });
  t.equal((await submit("\u200b\u200b")).statusCode, 400, "so is a prompt of zero-width characters");
});

t.test("a queued meme has no image yet; a failed one says why", async (t) => {
  const stack = await startStack(t, "pinned");
  const fe = await frontendFor(t, stack);
  const created = await post(fe.base, { prompt: "nobody renders me" });
  const id = created.body.id as string;
  const queued = await fetch(`${fe.base}/api/memes/${id}/image.png`);
  t.equal(queued.status, 409);
  t.equal(((await queued.json()) as { error: string }).error, "not_ready");
  const redis = new Redis(stack.redis.clientUrl);
  t.teardown(() => redis.disconnect());
  const failed: MemeResult = { id, status: "failed", error: "the renderer exploded", cached: false, renderMs: 0 };
  await redis.set(keys.result(id), JSON.stringify(failed));
  const answer = await fetch(`${fe.base}/api/memes/${id}/image.png`);
  t.equal(answer.status, 422);
  t.same(await answer.json(), { error: "failed", message: "the meme could not be made: the renderer exploded" });
});

t.test("a submit stores the pending record with its lifetime and keeps the wall's list trimmed, across a Redis restart; without Redis it is a 503", async (t) => {
  const stack = await startStack(t, "pinned");
  const fe = await frontendFor(t, stack, { CACHE_TTL: "120" });
  const redis = new Redis(stack.redis.clientUrl, { maxRetriesPerRequest: 1 });
  t.teardown(() => redis.disconnect());
  const first = await post(fe.base, { prompt: "pending | record" });
  t.equal(first.status, 202);
  const id = first.body.id as string;
  t.match(JSON.parse((await redis.get(keys.pending(id))) ?? "{}"), { id, status: "queued", prompt: "pending | record", width: 1024 });
  const ttl = await redis.ttl(keys.pending(id));
  t.ok(ttl > 100 && ttl <= 120, `the pending record expires with CACHE_TTL (${ttl} s left)`);
  await redis.del(keys.recent);
  await redis.rpush(keys.recent, ...Array.from({ length: RECENT_MAX }, (_, i) => `old-${i}`));
  const second = await post(fe.base, { prompt: "newest first" });
  const recent = await redis.lrange(keys.recent, 0, -1);
  t.equal(recent.length, RECENT_MAX, "the list stays at RECENT_MAX");
  t.equal(recent[0], second.body.id, "the newest id comes first");
  t.equal(recent.at(-1), `old-${RECENT_MAX - 2}`, "the oldest one fell off");

  await stack.redis.restart(); // forgets the script the frontend sends by its SHA1
  const afterRestart = await eventually(async () => {
    const res = await post(fe.base, { prompt: "after | the restart" });
    return res.status === 202 ? res : undefined;
  }, { what: "a submit after the restart", timeout: 20000 });
  await redis.ping().catch(() => undefined);
  t.ok(await redis.exists(keys.pending(afterRestart.body.id as string)), "the script is sent again once Redis has forgotten it");

  const queuedBefore = await stack.streamMessages();
  await stack.redis.stop();
  const refused = await post(fe.base, { prompt: "no cache" });
  t.equal(refused.status, 503);
  t.same(refused.body, { error: "cache_unavailable", message: "Redis is not answering; try again shortly" });
  t.equal(await stack.streamMessages(), queuedBefore, "nothing was queued for the refused submit");
  await stack.redis.start();
});

t.test("a submit the queue refuses is a 503 and leaves no pending record and nothing on the wall; an id sent twice is on the wall once", async (t) => {
  const stack = await startStack(t, "pinned");
  const fe = await frontendFor(t, stack);
  const redis = new Redis(stack.redis.clientUrl);
  t.teardown(() => redis.disconnect());
  const earlier = await post(fe.base, { prompt: "taken before" });
  t.equal(earlier.status, 202);
  const earlierId = earlier.body.id as string;
  t.equal((await post(fe.base, { id: earlierId, prompt: "taken before" })).status, 202, "the same id again, as a retrying client sends it");
  t.same(await redis.lrange(keys.recent, 0, -1), [earlierId], "an id submitted twice is on the wall once");
  await stack.jsm.streams.delete("MEMES");
  const refused = await post(fe.base, { prompt: "no queue" });
  t.equal(refused.status, 503);
  t.equal(refused.body.error, "queue_unavailable");
  t.match(refused.body.message, /^the request queue did not take the meme: /);
  t.equal((await post(fe.base, { id: earlierId, prompt: "taken before" })).status, 503, "the earlier id, sent again, is refused too");
  t.same(await redis.keys(keys.pending("*")), [keys.pending(earlierId)], "the pending record written for the refused meme is gone again; the earlier one stays");
  t.same(await redis.lrange(keys.recent, 0, -1), [earlierId], "and the wall keeps only the earlier id");
});

t.test("a full stream: 503 queue_full with Retry-After, nothing left behind, readiness stays 200; once drained a submit is taken again", async (t) => {
  const stack = await startStack(t, "pinned", { NATS_STREAM_MAX_BYTES: "1Mi" });
  const fe = await frontendFor(t, stack);
  const redis = new Redis(stack.redis.clientUrl);
  t.teardown(() => redis.disconnect());
  // Fill the stream to its byte limit, large messages first and then smaller ones into what is left, as a burst of submits would.
  const js = jetstream(stack.nc);
  let filled = 0;
  for (const size of [60_000, 4_000, 100]) {
    for (let i = 0; i < 300; i++) {
      if (!(await js.publish(subjects.request, "x".repeat(size)).then(() => true, () => false))) break;
      filled++;
    }
  }
  t.ok((await stack.jsm.streams.info("MEMES")).state.bytes > 1_000_000, `the stream is full after ${filled} messages`);
  const res = await fetch(`${fe.base}/api/memes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: "one too many" }) });
  t.equal(res.status, 503);
  t.equal(res.headers.get("retry-after"), "5", "come back in 5 s, not at once");
  t.same(await res.json(), { error: "queue_full", message: "the request queue is full (its byte limit): the workers are behind; try again in a few seconds" });
  t.same(await redis.keys(keys.pending("*")), [], "no pending record is left for it");
  t.same(await redis.lrange(keys.recent, 0, -1), [], "nor is it on the wall");
  t.equal((await fetch(`${fe.base}/readyz`)).status, 200, "the frontend stays ready: reads and results still work, only submits wait");
  await stack.jsm.streams.purge("MEMES");
  t.equal((await post(fe.base, { prompt: "room again" })).status, 202, "once the workers have made room, a submit is queued");
});

t.test("a submit whose pending record fails after the readiness check is still queued and answered 202", async (t) => {
  const stack = await startStack(t, "pinned");
  const redis = new Redis(stack.redis.clientUrl, { enableOfflineQueue: false });
  t.teardown(() => redis.disconnect());
  await new Promise((resolve) => redis.once("ready", resolve));
  const lines: string[] = [];
  const log = pino({ level: "warn" }, { write: (line: string) => void lines.push(line) });
  const hub = new Hub({ stream: "MEMES", consumer: "meme-generator", responseSubject: "meme.response", cacheTtl: 60 }, { nc: stack.nc, jsm: stack.jsm, redis, log });
  const app = await buildApp(
    { requestSubject: "meme.request", cacheTtl: 60, rateLimitPerMinute: 0, burstMax: 0, maxInflight: 10, trustedProxyHops: 0, requestTimeoutSeconds: 10, maxEventStreams: 10 },
    { nc: stack.nc, js: jetstream(stack.nc), redis, hub, scaling: new ScalingView(undefined, () => ({ lag: 0, workers: 0, at: null }), "off in this test"), log, unready: () => undefined },
    frontendMetrics(),
  );
  t.teardown(() => app.close());
  // Redis goes away between the check of its status and the write.
  Object.assign(redis, { memeStorePending: () => Promise.reject(new Error("Connection is closed.")) });
  const answer = await app.inject({ method: "POST", url: "/api/memes", payload: { prompt: "queued anyway" } });
  t.equal(answer.statusCode, 202);
  const id = answer.json<{ id: string }>().id;
  t.equal(await stack.streamMessages(), 1, "the meme is in the queue");
  const warning = lines.map((line) => JSON.parse(line) as { msg: string; id: string }).find((entry) => entry.msg === "queued without its pending record");
  t.equal(warning?.id, id, "and the missing record is logged with its id");
});

for (const flavour of natsFlavours)
  t.test(`a request that used up its deliveries is answered as failed and deleted (nats-server ${flavour})`, async (t) => {
    const stack = await startStack(t, flavour, { NATS_MAX_DELIVER: "2", NATS_ACK_WAIT: "1" });
    const fe = await frontendFor(t, stack);
    const created = await post(fe.base, { prompt: "poison" });
    const id = created.body.id as string;
    const consumer = await jetstream(stack.nc).consumers.get("MEMES", "meme-generator");
    for (let delivery = 1; delivery <= 3; delivery++) {
      const msg = await consumer.next({ expires: 1500 });
      if (msg) msg.nak();
    }
    const [result] = await stack.waitForResults([id], 15000);
    t.match(result, { id, status: "failed", error: "gave up after 2 deliveries" });
    await eventually(async () => (await stack.streamMessages()) === 0, { what: "an empty stream", timeout: 20000 });
    t.equal(await stack.lag(), 0);
  });

/** Delivers the oldest queued request `times` times without acknowledging it, as a worker that keeps dying would. */
async function exhaust(stack: Stack, times: number, last: "nak" | "timeout") {
  const consumer = await jetstream(stack.nc).consumers.get("MEMES", "meme-generator");
  for (let delivery = 1; delivery <= times; delivery++) {
    const msg = await consumer.next({ expires: 3000 });
    if (!msg) throw new Error(`delivery ${delivery} did not come`);
    if (delivery < times || last === "nak") msg.nak();
  }
  // Only once the last nak has arrived does a pull make the server give up on it: a round trip on the
  // same connection makes sure it has.
  await stack.nc.flush();
  // The server notices the last ack wait running out while a pull is open.
  await consumer.next({ expires: 2500 });
}

for (const flavour of natsFlavours)
  for (const last of ["nak", "timeout"] as const)
    t.test(`a request exhausted while no frontend ran is answered and removed by the next one's sweep (nats-server ${flavour}, last delivery ${last === "nak" ? "returned" : "never acknowledged"})`, async (t) => {
      const stack = await startStack(t, flavour, { NATS_MAX_DELIVER: "2", NATS_ACK_WAIT: "1" });
      const id = randomUUID();
      await jetstream(stack.nc).publish("meme.request", JSON.stringify({ id, prompt: "nobody heard" }), { msgID: id });
      await exhaust(stack, 2, last);
      t.equal(await stack.streamMessages(), 1, "the exhausted request is still stored");
      await frontendFor(t, stack);
      const [result] = await stack.waitForResults([id], 10000);
      t.match(result, { id, status: "failed", prompt: "nobody heard", error: "gave up after 2 deliveries" });
      await eventually(async () => (await stack.streamMessages()) === 0, { what: "an empty stream", timeout: 5000 });
    });

t.test("a forged max-deliveries advisory deletes nothing: only what really used up its deliveries is removed", async (t) => {
  const stack = await startStack(t, "pinned");
  const fe = await frontendFor(t, stack);
  const created = await post(fe.base, { prompt: "still queued" });
  const id = created.body.id as string;
  const seq = (await stack.jsm.streams.info("MEMES")).state.last_seq;
  for (const deliveries of [5, 1]) {
    stack.nc.publish(subjects.maxDeliveries("MEMES", "meme-generator"), JSON.stringify({ type: "io.nats.jetstream.advisory.v1.max_deliver", stream: "MEMES", consumer: "meme-generator", stream_seq: seq, deliveries }));
  }
  await stack.nc.flush();
  // What must not happen has no signal to wait for: the frontends get 1.5 s to act on the forgeries.
  await sleep(1500);
  t.equal(await stack.streamMessages(), 1, "the queued meme is still in the queue");
  t.notOk(stack.results.has(id), "and nobody answered it as failed");
  const backend = await startBackend(stack.env);
  t.teardown(() => backend.stop());
  const [result] = await stack.waitForResults([id], 20000);
  t.equal(result?.status, "done", "a worker makes it as asked");
});

t.test("an id belongs to the first request that used it: another request with it is a 409, the same one again changes nothing", async (t) => {
  const stack = await startStack(t, "pinned");
  const fe = await frontendFor(t, stack);
  const redis = new Redis(stack.redis.clientUrl);
  t.teardown(() => redis.disconnect());
  const first = await post(fe.base, { prompt: "mine | all mine", smallImage: true });
  t.equal(first.status, 202);
  const id = first.body.id as string;
  const record = await redis.get(keys.pending(id));
  for (const other of [{ prompt: "yours now" }, { prompt: "mine | all mine" }, { prompt: "mine | all mine", smallImage: true, template: "space" }]) {
    const taken = await post(fe.base, { id, ...other });
    t.equal(taken.status, 409, JSON.stringify(other));
    t.same(taken.body, { error: "id_taken", message: `id ${id} belongs to another request (another prompt, size or template); submit without an id to get a new one` });
  }
  t.equal(await redis.get(keys.pending(id)), record, "the owner's pending record is untouched");
  // A few milliseconds on, so that a rewritten record would differ in its submittedAt.
  await sleep(5);
  const again = await post(fe.base, { id, prompt: "  mine |   all mine ", fastMode: true });
  t.equal(again.status, 202, "the same normalised request again is a client's retry");
  t.equal(await redis.get(keys.pending(id)), record, "and changes nothing either");
  t.same(await redis.lrange(keys.recent, 0, -1), [id], "the id is on the wall once");
  const backend = await startBackend(stack.env);
  t.teardown(() => backend.stop());
  const done = await eventually(async () => {
    const view = (await (await fetch(`${fe.base}/api/memes/${id}`)).json()) as Record<string, unknown>;
    return view.status === "queued" ? undefined : view;
  }, { what: "the result", timeout: 20000 });
  t.match(done, { id, status: "done", prompt: "mine | all mine", width: 512 }, "the owner's meme is made");
  t.equal(stack.results.get(id)?.prompt, "mine | all mine");
});

t.test("the client's address is the connection's unless trusted proxies forwarded it: a forged X-Forwarded-For dodges no limit", async (t) => {
  const stack = await startStack(t, "pinned");
  const submit = (app: Awaited<ReturnType<typeof frontendFor>>["app"], forwarded?: string) =>
    app.inject({ method: "POST", url: "/api/memes", payload: { prompt: "who am i" }, headers: forwarded ? { "x-forwarded-for": forwarded } : {} }).then((r) => r.statusCode);
  const direct = await frontendFor(t, stack, { RATE_LIMIT_PER_MINUTE: "1" });
  t.equal(await submit(direct.app, "203.0.113.1"), 202);
  t.equal(await submit(direct.app, "203.0.113.2"), 429, "with no proxy trusted, a header naming another address changes nothing");
  const behindIngress = await frontendFor(t, stack, { RATE_LIMIT_PER_MINUTE: "1", TRUST_PROXY: "1" });
  t.equal(await submit(behindIngress.app, "198.51.100.7"), 202, "behind one proxy, the client is the address the proxy saw");
  t.equal(await submit(behindIngress.app, "203.0.113.9, 198.51.100.7"), 429, "an address the client put before the proxy's is ignored");
  t.equal(await submit(behindIngress.app, "198.51.100.8"), 202, "another client behind the same proxy has its own limit");
});

/** Opens a raw connection, writes `data`, and collects what comes back until the server closes it. */
function raw(port: number, data: string, t: Tap): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let text = "";
    const socket = connect(port, "127.0.0.1", () => socket.write(data));
    t.teardown(() => socket.destroy());
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (text += chunk));
    socket.on("error", reject);
    socket.on("close", () => resolve({ text, closedAfterMs: Date.now() - started }));
  });
}

function parseRaw(text: string) {
  const [head = "", body = ""] = text.split("\r\n\r\n");
  const [statusLine = "", ...lines] = head.split("\r\n");
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
  return { status: Number(statusLine.split(" ")[1]), headers, body: body ? (JSON.parse(body) as Record<string, unknown>) : undefined };
}

t.test("errors the framework and Node's parser answer have the API's shape and security headers; slow requests time out", async (t) => {
  const stack = await startStack(t, "pinned");
  const fe = await frontendFor(t, stack, { REQUEST_TIMEOUT: "1" });
  const normal = await fetch(`${fe.base}/nowhere`);
  const security = Object.fromEntries(["content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy", "cross-origin-resource-policy", "cross-origin-opener-policy"].map((h) => [h, normal.headers.get(h)]));
  t.ok(Object.values(security).every((v) => typeof v === "string" && v.length > 0), "a normal error has every security header");
  t.equal(normal.headers.get("strict-transport-security"), null, "and no HSTS on plain HTTP");

  const cases: [what: string, request: string, status: number, error: string][] = [
    ["a path that is not a URL", "GET /api/memes/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400, "bad_request"],
    ["a path segment over 100 characters", `GET /api/memes/${"a".repeat(150)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 414, "uri_too_long"],
    ["headers over 16 KiB", `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(20000)}\r\n\r\n`, 431, "headers_too_large"],
    ["something that is not HTTP", "HELLO\r\n\r\n", 400, "bad_request"],
    ["headers sent too slowly", "GET / HTTP/1.1\r\nHost: x\r\n", 408, "request_timeout"],
    ["a body sent too slowly", 'POST /api/memes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"prom', 408, "request_timeout"],
  ];
  for (const [what, request, status, error] of cases) {
    const answer = await raw(fe.port, request, t);
    const parsed = parseRaw(answer.text);
    t.equal(parsed.status, status, what);
    t.match(parsed.body, { error, message: String }, `${what}: the API's shape`);
    for (const [name, value] of Object.entries(security)) t.equal(parsed.headers[name], value, `${what}: ${name}`);
    if (status === 408) t.ok(answer.closedAfterMs < 4000, `${what}: closed after ${answer.closedAfterMs} ms (REQUEST_TIMEOUT 1 s, checked every second)`);
  }
  const badJson = await fetch(`${fe.base}/api/memes`, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
  t.equal(badJson.status, 400);
  t.match(await badJson.json(), { error: "bad_request", message: String });
  t.equal(badJson.headers.get("content-security-policy"), security["content-security-policy"], "a JSON parse error has the headers too");
});

t.test("every 503 says when to come back; event streams per replica are capped", async (t) => {
  const stack = await startStack(t, "pinned");
  const fe = await frontendFor(t, stack, { MAX_EVENT_STREAMS: "1" });
  const first = await listen(fe.port);
  t.teardown(() => first.close());
  const second = await fetch(`${fe.base}/api/events`);
  t.equal(second.status, 503);
  t.same(await second.json(), { error: "too_many_streams", message: "this replica serves 1 event streams at most; try again later or another replica" });
  t.equal(second.headers.get("retry-after"), "1");
  const stream = await fetch(`${fe.base}/api/events`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
  t.equal(stream?.status, 503, "still full");
  first.close();
  await eventually(async () => {
    const res = await fetch(`${fe.base}/api/events`);
    const ok = res.status === 200;
    if (ok) {
      t.match(res.headers.get("content-security-policy"), /default-src 'self'/, "an event stream has the security headers");
      await res.body?.cancel();
    }
    return ok;
  }, { what: "a stream free again", timeout: 20000 });

  await stack.redis.stop();
  const unready = await eventually(async () => {
    const res = await fetch(`${fe.base}/readyz`);
    return res.status === 503 ? res : undefined;
  }, { what: "unready", timeout: 10000 });
  t.equal(unready.headers.get("retry-after"), "1", "readiness");
  const refused = await fetch(`${fe.base}/api/memes`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"prompt":"no cache"}' });
  t.equal(refused.status, 503);
  t.equal(refused.headers.get("retry-after"), "1", "a submit without Redis");
  const metricsReady = await fetch(`http://127.0.0.1:${fe.metricsPort}/readyz`);
  t.equal(metricsReady.headers.get("retry-after"), "1", "the metrics port's readiness");
  await stack.redis.start();
});

t.test("malformed messages on the bus do not stop a frontend's NATS reader", async (t) => {
  const stack = await startStack(t, "pinned");
  const fe = await frontendFor(t, stack);
  const advisory = subjects.maxDeliveries("MEMES", "meme-generator");
  for (const [subject, payload] of [[advisory, "not json"], [advisory, "{}"], [advisory, '{"stream_seq":"1; drop","deliveries":5}'], [`${subjects.response}.x`, "not json"], [subjects.heartbeat, "[]"]] as const) {
    stack.nc.publish(subject, payload);
  }
  await stack.nc.flush();
  const started = Date.now();
  const created = await post(fe.base, { prompt: "after the garbage" });
  t.equal(created.status, 202, `a submit still goes through (${Date.now() - started} ms)`);
  t.equal((await fetch(`${fe.base}/readyz`)).status, 200);
});

t.test("readiness follows the NATS connection", async (t) => {
  const stack = await startStack(t, "pinned");
  const fe = await frontendFor(t, stack);
  t.equal((await fetch(`${fe.base}/readyz`)).status, 200);
  await stack.nats.stop();
  await eventually(async () => (await fetch(`${fe.base}/readyz`)).status === 503, { what: "unready", timeout: 10000 });
  await stack.nats.start();
  await eventually(async () => (await fetch(`${fe.base}/readyz`)).status === 200, { what: "ready again", timeout: 15000 });
  t.pass("unready while NATS was away, ready once it came back");
});

t.test("readiness follows Redis too: no submit can succeed without it", async (t) => {
  const stack = await startStack(t, "pinned");
  const fe = await frontendFor(t, stack);
  t.equal((await fetch(`${fe.base}/readyz`)).status, 200);
  await stack.redis.stop();
  const away = await eventually(async () => {
    const res = await fetch(`${fe.base}/readyz`);
    return res.status === 503 ? ((await res.json()) as Record<string, unknown>) : undefined;
  }, { what: "unready", timeout: 10000 });
  t.same(away, { error: "not_ready", message: "Redis is not answering" });
  const metrics = await fetch(`http://127.0.0.1:${fe.metricsPort}/readyz`);
  t.equal(metrics.status, 503, "the metrics port's readiness says the same");
  await stack.redis.start();
  await eventually(async () => (await fetch(`${fe.base}/readyz`)).status === 200, { what: "ready again", timeout: 15000 });
  t.pass("ready once Redis is back");
});

t.test("requests aborted mid-body give their slots back; probes are never shed", async (t) => {
  const stack = await startStack(t, "pinned");
  const fe = await frontendFor(t, stack, { MAX_INFLIGHT_REQUESTS: "20" });
  const status = async (path: string) => (await fetch(`${fe.base}${path}`)).status;
  // 40 submits whose bodies never complete: the first 20 hold the slots, the rest are shed.
  const sockets = Array.from({ length: 40 }, () =>
    connect(fe.port, "127.0.0.1", function (this: Socket) {
      this.write('POST /api/memes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"prom');
    }).on("error", () => undefined),
  );
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  await eventually(async () => (await status("/api/stats")) === 503, { what: "every slot held", timeout: 10000 });
  t.equal(await status("/healthz"), 200, "liveness answers while every slot is held");
  t.equal(await status("/readyz"), 200, "and so does readiness");
  for (const socket of sockets) socket.destroy();
  await eventually(async () => (await status("/api/stats")) === 200, { what: "the slots back", timeout: 10000 });
  const created = await post(fe.base, { prompt: "after forty aborted requests" });
  t.equal(created.status, 202, "a submit goes through again");
});

t.test("shutdown: unready first, then closed", async (t) => {
  const stack = await startStack(t, "pinned");
  const fe = await frontendFor(t, stack);
  t.equal((await fetch(`${fe.base}/readyz`)).status, 200);
  const stopping = fe.stop(1);
  const during = await fetch(`${fe.base}/readyz`);
  t.equal(during.status, 503, "unready during the drain delay");
  t.equal((await fetch(`${fe.base}/healthz`)).status, 200, "still serving");
  await stopping;
  await t.rejects(fetch(`${fe.base}/healthz`), "closed after the delay");
});

t.test("stopping closes open event streams instead of waiting for their clients", async (t) => {
  const stack = await startStack(t, "pinned");
  const port = await freePort();
  const fe = await startFrontend({ ...stack.env, PORT: String(port), METRICS_PORT: String(await freePort()), SHUTDOWN_DELAY: "0" }, "127.0.0.1");
  let opened = (): void => undefined;
  const open = new Promise<void>((resolve) => (opened = resolve));
  const ended = new Promise<string>((resolve) => {
    void fetch(`http://127.0.0.1:${port}/api/events`).then(async (res) => {
      opened();
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      for (;;) if ((await reader.read()).done) return resolve("the stream ended");
    }, () => resolve("the stream failed"));
  });
  await open;
  const started = Date.now();
  const stopped = await Promise.race([fe.stop(0).then(() => "stopped"), sleep(10_000).then(() => "still stopping after 10 s")]);
  t.equal(stopped, "stopped", `the frontend stopped in ${Date.now() - started} ms with an event stream open`);
  t.equal(await Promise.race([ended, sleep(2000).then(() => "still open")]), "the stream ended", "and its client saw the stream end");
});
