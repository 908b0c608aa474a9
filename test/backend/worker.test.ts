import { jetstream } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import { pino } from "pino";
import { startBackend } from "../../src/backend/main.js";
import { workerMetrics } from "../../src/backend/metrics.js";
import type { RenderPool } from "../../src/backend/render/pool.js";
import { LOOKAHEAD_FACTOR, Worker, type WorkerSettings } from "../../src/backend/worker.js";
import { keys, PROMPT_MAX, subjects } from "../../src/shared/contract.js";
import type { MemeResult, WorkerHeartbeat } from "../../src/generated/messages.js";
import { median } from "../../src/load/load.js";
import { eventually } from "../harness/eventually.js";
import { natsFlavours, freePort } from "../harness/servers.js";
import { startStack, type Stack } from "../harness/stack.js";

function pngWidth(png: Buffer): number {
  return png.readUInt32BE(16);
}

async function publishRequests(stack: Stack, count: number, body: (i: number) => object) {
  const js = jetstream(stack.nc);
  const ids: string[] = [];
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const id = randomUUID();
      ids.push(id);
      await js.publish("meme.request", JSON.stringify({ id, ...body(i) }), { msgID: id });
    }),
  );
  return ids;
}

/** Reads `read` every `everyMs` until the returned function is called; that resolves with every value read. */
function sample(read: () => number | Promise<number>, everyMs: number): () => Promise<number[]> {
  const seen: number[] = [];
  let watching = true;
  const loop = (async () => {
    while (watching) {
      seen.push(await read());
      await sleep(everyMs);
    }
  })();
  return async () => {
    watching = false;
    await loop;
    return seen;
  };
}

/** Like `sample`, resolving with the highest value read. */
function highest(read: () => number | Promise<number>, everyMs: number): () => Promise<number> {
  const all = sample(read, everyMs);
  return async () => Math.max(0, ...(await all()));
}

/** Commands Redis has run and read events it has handled (INFO stats), since it started. */
async function redisCounts(redis: Redis): Promise<{ commands: number; reads: number }> {
  const info = await redis.info("stats");
  const field = (name: string) => {
    const value = new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1];
    if (value === undefined) throw new Error(`INFO stats has no ${name}`);
    return Number(value);
  };
  return { commands: field("total_commands_processed"), reads: field("total_reads_processed") };
}

async function metric(port: string, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : NaN;
}

for (const flavour of natsFlavours) {
  t.test(`worker on nats-server (${flavour})`, async (t) => {
    const stack = await startStack(t, flavour);
    const backend = await startBackend(stack.env);
    t.teardown(() => backend.stop());
    const redis = new Redis(stack.redis.clientUrl);
    t.teardown(() => redis.disconnect());

    await t.test("the guide's nats pub message, plain core NATS without id, becomes a 512 px meme", async (t) => {
      const before = stack.results.size;
      stack.nc.publish("meme.request", '{"prompt":"Test meme 1","fastMode":true}');
      await eventually(() => stack.results.size > before, { what: "the guide's meme" });
      const result = [...stack.results.values()].at(-1);
      t.match(result, { status: "done", cached: false, width: 512 });
      const png = await redis.getBuffer(result?.imageKey ?? "");
      t.ok(png, "the PNG is in Redis");
      t.equal(pngWidth(png as Buffer), 512);
      t.same(JSON.parse((await redis.get(keys.result(result?.id ?? ""))) ?? "null"), result, "the result is stored for any frontend");
    });

    await t.test("50 concurrent requests are all answered and the queue empties", async (t) => {
      // Misses only: the worker holds WORKER_CONCURRENCY (4) at once while it keeps fetches open: never more, and all four slots in use.
      const held = highest(() => backend.worker.inFlight, 1);
      const ackPending = sample(async () => (await stack.jsm.consumers.info("MEMES", "meme-generator")).num_ack_pending, 5);
      const ids = await publishRequests(stack, 50, (i) => ({ prompt: `load ${i} | ${flavour}`, smallImage: true }));
      const results = await stack.waitForResults(ids, 60000);
      t.equal(await held(), 4, "at most WORKER_CONCURRENCY held, and that many");
      // The server counts a request as unacknowledged until its ack is processed, and it processes acks
      // apart from pull requests: the fetch for a freed slot can be served before the ack that freed it.
      // So its count may pass the concurrency for a moment (by at most the acks on their way), while a
      // worker that asked for more than its free slots would keep it above the concurrency throughout.
      const serverSaw = await ackPending();
      t.equal(median(serverSaw), 4, `the server's count of delivered and unacknowledged sits at 4 (${serverSaw.length} readings)`);
      const serverTop = Math.max(...serverSaw);
      t.ok(serverTop <= 8, `and never passes 4 by more than the acks on their way (highest ${serverTop})`);
      t.equal(results.filter((r) => r.status === "done").length, 50);
      await eventually(async () => (await stack.lag()) === 0, { what: "lag 0" });
      t.equal(await stack.streamMessages(), 0, "stream empty");
    });

    await t.test("a repeated request is a cache hit, served without rendering", async (t) => {
      const port = stack.env.METRICS_PORT as string;
      const [first] = await publishRequests(stack, 1, () => ({ prompt: "cache me if you can" }));
      const [a] = await stack.waitForResults([first as string]);
      const misses = await metric(port, "meme_generator_cache_misses_total");
      const [second] = await publishRequests(stack, 1, () => ({ prompt: "  CACHE me if you can " }));
      const [b] = await stack.waitForResults([second as string]);
      t.match(a, { status: "done", cached: false, width: 1024 });
      t.match(b, { status: "done", cached: true, renderMs: 0, imageKey: a?.imageKey });
      t.equal(await metric(port, "meme_generator_cache_misses_total"), misses, "no render for the hit");
      t.ok((await metric(port, "meme_generator_cache_hits_total")) >= 1);
    });

    await t.test("a run of cache hits is served many at a time; misses bring the worker back to its concurrency", async (t) => {
      const [first] = await publishRequests(stack, 1, () => ({ prompt: "hits in a row", smallImage: true }));
      await stack.waitForResults([first as string]);
      const watch = highest(() => backend.worker.inFlight, 1);
      const before = await redisCounts(redis);
      const hits = await publishRequests(stack, 300, () => ({ prompt: "hits in a row", smallImage: true }));
      const results = await stack.waitForResults(hits, 30000);
      const after = await redisCounts(redis);
      const held = await watch();
      t.ok(results.every((r) => r.status === "done" && r.cached), "all 300 are hits");
      const commands = after.commands - before.commands;
      const reads = after.reads - before.reads;
      t.ok(commands >= 300, `${commands} commands reached Redis`);
      t.ok(reads * 10 <= hits.length, `in ${reads} reads: the lookups of one turn of the event loop travel together`);
      t.ok(held > 4, `held ${held} at once, more than its concurrency of 4`);
      t.ok(held <= 4 * (1 + LOOKAHEAD_FACTOR), `and no more than ${4 * (1 + LOOKAHEAD_FACTOR)}`);
      t.ok(backend.worker.limit > 4, `limit ${backend.worker.limit} after the hits`);
      const misses = await publishRequests(stack, 12, (i) => ({ prompt: `miss after hits ${i}`, smallImage: true }));
      await stack.waitForResults(misses, 30000);
      t.equal(backend.worker.limit, 4, "each miss halves what it holds beyond its concurrency: back to 4");
    });

    await t.test("invalid input is answered as failed and leaves the stream at once", async (t) => {
      const id = randomUUID();
      const h = headers();
      h.set("Nats-Msg-Id", id);
      stack.nc.publish("meme.request", "{not json", { headers: h });
      const badId = randomUUID();
      stack.nc.publish("meme.request", JSON.stringify({ id: badId, prompt: "   " }));
      stack.nc.publish("meme.request", JSON.stringify({ id: "a b", prompt: "not a subject token" }));
      const bad = headers();
      bad.set("Nats-Msg-Id", "a.b c");
      stack.nc.publish("meme.request", JSON.stringify({ prompt: "header id with subject characters" }), { headers: bad });
      const controlId = randomUUID();
      stack.nc.publish("meme.request", JSON.stringify({ id: controlId, prompt: "nul\u0000" }));
      const [broken, blank, control] = await stack.waitForResults([id, badId, controlId]);
      t.match(control, { id: controlId, status: "failed", error: "prompt contains the control character U+0000, which a meme cannot show" }, "answered on its first delivery");
      t.match(broken, { id, status: "failed", error: "the request is not JSON" });
      t.match(blank, { id: badId, status: "failed", error: `prompt must be 1–${PROMPT_MAX} characters after trimming (got 0)` });
      await eventually(async () => (await stack.lag()) === 0, { what: "lag 0" });
      t.equal(await stack.streamMessages(), 0, "and the stream empty");
    });

    await t.test("heartbeats every 2 s count what the worker finished, and readiness on the metrics port", async (t) => {
      const beats: WorkerHeartbeat[] = [];
      const sub = stack.nc.subscribe(subjects.heartbeat, { callback: (_error, msg) => void beats.push(msg.json<WorkerHeartbeat>()) });
      t.teardown(() => sub.unsubscribe());
      const first = await eventually(() => beats[0], { what: "a heartbeat", timeout: 5000 });
      t.match(first, { workerId: backend.worker.id, concurrency: 4 });
      const ids = await publishRequests(stack, 3, (i) => ({ prompt: `counted by the heartbeat ${i}`, smallImage: true }));
      await stack.waitForResults(ids);
      const after = await eventually(() => beats.find((b) => b.processed >= first.processed + ids.length), { what: "a heartbeat counting the three", timeout: 5000 });
      t.equal(after.processed - first.processed, ids.length, "the next heartbeats count exactly the three requests finished since");
      const ready = await fetch(`http://127.0.0.1:${stack.env.METRICS_PORT}/readyz`);
      t.equal(ready.status, 200);
    });
  });
}

for (const flavour of natsFlavours) {
  t.test(`Redis stopped and restarted mid-run on nats-server (${flavour}): fetching pauses, every request completes`, async (t) => {
    const stack = await startStack(t, flavour);
    const backend = await startBackend({ ...stack.env, WORKER_CONCURRENCY: "2" });
    t.teardown(() => backend.stop());
    const ids = await publishRequests(stack, 30, (i) => ({ prompt: `redis outage ${i}` }));
    await eventually(() => stack.results.size > 0, { what: "a first result", interval: 5 });
    await stack.redis.stop();
    const doneBefore = ids.filter((id) => stack.results.has(id)).length;
    t.ok(doneBefore < 30, `${doneBefore} of 30 done when Redis stopped`);
    const during = await fetch(`http://127.0.0.1:${stack.env.METRICS_PORT}/readyz`);
    t.equal(during.status, 503, "not ready while Redis is away");
    await sleep(1500);
    await stack.redis.start();
    const results = await stack.waitForResults(ids, 60000);
    t.equal(results.filter((r) => r.status === "done").length, 30, "all done, none failed");
    const errors = await metric(stack.env.METRICS_PORT as string, "meme_generator_errors_total");
    t.ok(errors <= 4, `${errors} requests returned to the queue: only what was held, no nak loop`);
    await eventually(async () => (await stack.lag()) === 0, { what: "lag 0" });
  });

  t.test(`SIGTERM mid-run on nats-server (${flavour}): held requests go back to the queue and another worker finishes them`, async (t) => {
    const stack = await startStack(t, flavour);
    const first = await startBackend({ ...stack.env, WORKER_CONCURRENCY: "8", SHUTDOWN_TIMEOUT: "1" });
    const ids = await publishRequests(stack, 40, (i) => ({ prompt: `scale down ${i}` }));
    await eventually(() => first.worker.inFlight > 0, { what: "the first worker holding requests", interval: 5 });
    await first.stop();
    const answeredByFirst = ids.filter((id) => stack.results.has(id)).length;
    t.ok(answeredByFirst < 40, `the first worker answered ${answeredByFirst} before it stopped`);
    const second = await startBackend({ ...stack.env, METRICS_PORT: String(await freePort()) });
    t.teardown(() => second.stop());
    const results = await stack.waitForResults(ids, 60000);
    t.equal(results.filter((r) => r.status === "done").length, 40, "none lost");
    await eventually(async () => (await stack.lag()) === 0, { what: "lag 0" });
  });
}

/** A worker of this process whose renders are `render`'s, on the stack's NATS and Redis. */
async function workerRendering(t: Tap, stack: Stack, render: RenderPool["render"], settings: Partial<WorkerSettings> = {}) {
  const redis = new Redis(stack.redis.clientUrl, { maxRetriesPerRequest: 1 });
  await new Promise((resolve) => redis.once("ready", resolve));
  const worker = new Worker(
    { stream: "MEMES", consumer: "meme-generator", responseSubject: "meme.response", concurrency: 2, cacheTtl: 60, ackWaitSeconds: 5, shutdownTimeoutSeconds: 1, retryDelayMs: 100, ...settings },
    { nc: stack.nc, js: jetstream(stack.nc), redis, pool: { render } as RenderPool, metrics: workerMetrics(), log: pino({ level: "silent" }) },
  );
  await worker.start();
  t.teardown(async () => {
    await worker.stop();
    redis.disconnect();
  });
  return worker;
}

type Tap = { teardown(fn: () => unknown): void };

/** Every result published for `id`, in order. */
function published(stack: Stack, id: string): MemeResult[] {
  const seen: MemeResult[] = [];
  stack.nc.subscribe(`${subjects.response}.${id}`, { callback: (_error, msg) => void seen.push(msg.json<MemeResult>()) });
  return seen;
}

for (const flavour of natsFlavours) {
  t.test(`a request that fails on its last delivery is answered as failed and ends at once (nats-server ${flavour})`, async (t) => {
    const stack = await startStack(t, flavour, { NATS_MAX_DELIVER: "2" });
    let renders = 0;
    await workerRendering(t, stack, () => {
      renders++;
      return Promise.reject(new Error("render failed: out of ink"));
    });
    const [id] = await publishRequests(stack, 1, () => ({ prompt: "never drawn" }));
    const [result] = await stack.waitForResults([id as string], 10000);
    t.match(result, { id, status: "failed", prompt: "never drawn", error: "gave up after 2 deliveries: render failed: out of ink" });
    t.equal(renders, 2, "tried on each of its deliveries");
    await eventually(async () => (await stack.streamMessages()) === 0, { what: "the queue empty", timeout: 3000 });
    t.equal(await stack.lag(), 0, "ended by the worker itself, with no frontend to hear an advisory");
  });
}

t.test("a worker stopping during a request's last delivery answers it as failed instead of returning it for good", async (t) => {
  const stack = await startStack(t, "pinned", { NATS_MAX_DELIVER: "1" });
  const worker = await workerRendering(t, stack, () => new Promise(() => undefined));
  const [id] = await publishRequests(stack, 1, () => ({ prompt: "drawn forever" }));
  await eventually(() => worker.inFlight === 1, { what: "the request held" });
  await worker.stop();
  const [result] = await stack.waitForResults([id as string], 5000);
  t.match(result, { id, status: "failed", error: "the worker stopped during its last delivery (1)" });
  await eventually(async () => (await stack.streamMessages()) === 0, { what: "the queue empty", timeout: 3000 });
});

t.test("an id belongs to the first request that used it, also on the bus", async (t) => {
  const stack = await startStack(t, "pinned");
  const backend = await startBackend(stack.env);
  t.teardown(() => backend.stop());
  const redis = new Redis(stack.redis.clientUrl);
  t.teardown(() => redis.disconnect());
  const core = (body: object) => stack.nc.publish(subjects.request, JSON.stringify(body));
  const stored = async (id: string) => JSON.parse((await redis.get(keys.result(id))) ?? "null") as MemeResult | null;
  const drained = () => eventually(async () => (await stack.streamMessages()) === 0, { what: "the queue empty" });

  const id = randomUUID();
  const heard = published(stack, id);
  core({ id, prompt: "first owner" });
  await eventually(async () => (await stored(id))?.status === "done", { what: "the owner's result" });
  const original = await stored(id);
  core({ id, prompt: "someone else" });
  core({ id, prompt: "" });
  core({ id, prompt: "first owner", template: original?.template === "space" ? "ocean" : "space" });
  // Drained: every request was acknowledged, and a worker publishes before it acknowledges, so what
  // it published is already on this connection, ahead of the answer that says the stream is empty.
  await drained();
  t.same(await stored(id), original, "a takeover with another prompt, an unreadable one and another template change nothing");
  t.equal(heard.length, 1, "and publish nothing on the owner's subject");

  core({ id, prompt: "first owner" });
  await eventually(() => heard.length === 2, { what: "the retry answered" });
  t.same(heard[1], original, "the same request again is answered with the result it has");
  t.same(await stored(id), original, "which stays as it was");

  // Two payloads with one new id at once: one of them owns it, the other is refused.
  const contested = randomUUID();
  const contestedHeard = published(stack, contested);
  core({ id: contested, prompt: "claim one" });
  core({ id: contested, prompt: "claim two" });
  await drained();
  // A refused claim publishes nothing, so its absence has no signal to wait for: a short window.
  await sleep(200);
  t.equal(contestedHeard.length, 1, "one result for the contested id");
  t.same(await stored(contested), contestedHeard[0], "and it is the stored one");
});
