// npm run bench (second part): the system against its baselines, measured in
// one run with the same servers up. Figures are printed, never asserted.
//   2. cache-miss throughput of one worker / bare renders on the same threads
//   3. cache-hit throughput through NATS and Redis / a bare JetStream publish + pull + ack loop,
//      the consuming side a process of its own on both sides
//   4. frontend POST /api/memes p99 at an evenly paced 500 req/s / a bare fastify route that awaits
//      the same JetStream publish and Redis write (the floor of a submit), medians of five passes a
//      side taken in turns; as references without a target, the same p99 / a bare route awaiting the
//      publish only, and a bare route with no round trip; then where a POST's CPU goes, frontend
//      against the floor, from a V8 profile of one more pass each
//   5. worker resident memory, idle and under load
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startBackend } from "../../src/backend/main.js";
import { memeSvg } from "../../src/backend/render/meme.js";
import { RenderPool, usableCpus } from "../../src/backend/render/pool.js";
import { templateFor } from "../../src/shared/messages.js";
import { binaryOnPath, freePort, natsPasswords, NatsServer, RedisServer } from "../../src/local/servers.js";
import { provision } from "../../src/provision/provision.js";
import { projectRoot } from "../../src/shared/project.js";
import { median, percentile } from "../../src/load/load.js";
import { cliBin, startNodeProcess } from "../harness/command.js";
import { cpuByCategory, profileClock, type CpuProfile } from "./profile.js";

const quiet = { LOG_LEVEL: "silent" };

async function results(nc: NatsConnection, ids: Set<string>): Promise<void> {
  const sub = nc.subscribe("meme.response.>");
  for await (const msg of sub) {
    ids.delete(msg.json<{ id: string }>().id);
    if (ids.size === 0) break;
  }
  sub.unsubscribe();
}

async function publishAll(nc: NatsConnection, bodies: object[]): Promise<number> {
  const js = jetstream(nc);
  const ids = new Set<string>();
  const messages = bodies.map((b) => {
    const id = randomUUID();
    ids.add(id);
    return { id, data: JSON.stringify({ id, ...b }) };
  });
  const done = results(nc, ids);
  const t0 = performance.now();
  await Promise.all(messages.map((m) => js.publish("meme.request", m.data, { msgID: m.id })));
  // A figure never comes from a run that lost results: stop with what is missing instead of waiting forever.
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${ids.size} of ${messages.length} results missing after 120 s`)), 120_000);
  });
  try {
    await Promise.race([done, limit]);
  } finally {
    clearTimeout(timer);
  }
  return performance.now() - t0;
}

/**
 * A bare JetStream loop: publish n messages of `size` bytes to a stream of its own while the bare
 * consumer process pulls and acks them all; the time until it says all are acknowledged.
 */
async function bareJetStream(nc: NatsConnection, n: number, size: number): Promise<number> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "BARE", subjects: ["bare.>"], storage: "file" as never, retention: "workqueue" as never });
  await jsm.consumers.add("BARE", { durable_name: "bare", ack_policy: AckPolicy.Explicit });
  const js = jetstream(nc);
  const payload = "x".repeat(size);
  const t0 = performance.now();
  const consumed = nc.request("bench.bare.consume", JSON.stringify({ stream: "BARE", consumer: "bare", count: n }), { timeout: 120_000 });
  await Promise.all(Array.from({ length: n }, (_, i) => js.publish(`bare.${i % 10}`, payload)));
  const answer = (await consumed).string();
  const elapsed = performance.now() - t0;
  await jsm.streams.delete("BARE");
  if (answer !== String(n)) throw new Error(`bare consumer: ${answer}`);
  return elapsed;
}

/**
 * p99 latency of n POSTs sent evenly at `rate` per second (never in bursts). A pass in which any
 * request was not answered 202 is not a figure: it stops the benchmark, saying what came back.
 */
async function pacedP99(port: number, path: string, rate: number, seconds: number, body: () => string): Promise<{ p50: number; p99: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const latencies: number[] = [];
  const refused = new Map<string, number>();
  const count = (what: string) => refused.set(what, (refused.get(what) ?? 0) + 1);
  const n = rate * seconds;
  const interval = 1000 / rate;
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const wait = t0 + i * interval - performance.now();
    if (wait > 0) await sleep(wait);
    const data = body();
    const start = performance.now();
    inflight.push(
      new Promise<void>((resolve) => {
        const req = request({ host: "127.0.0.1", port, path, method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data) } }, (res) => {
          if (res.statusCode !== 202) count(`status ${res.statusCode}`);
          res.resume();
          res.on("end", () => {
            latencies.push(performance.now() - start);
            resolve();
          });
        });
        req.on("error", (error) => {
          count(error.message);
          resolve();
        });
        req.end(data);
      }),
    );
  }
  await Promise.all(inflight);
  agent.destroy();
  if (refused.size > 0) throw new Error(`POSTs to port ${port} not answered 202: ${[...refused].map(([what, times]) => `${times} × ${what}`).join(", ")}`);
  const sorted = latencies.sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  return kb / 1024;
}

async function main() {
  // NATS with the tiers' users, as deployed; the baselines connect as an observer without permissions to check.
  const auth = { passwords: natsPasswords(randomUUID()), observer: randomUUID() };
  const nats = await NatsServer.create(binaryOnPath("nats-server", "apt-get install nats-server"), { auth });
  const redis = await RedisServer.create({ password: randomUUID() });
  await nats.start();
  await redis.start();
  const env = { ...quiet, NATS_URL: nats.url, REDIS_URL: redis.url, REDIS_PASSWORD: redis.password, NATS_PASSWORD: auth.passwords.frontend };
  const bare = { NATS_USER: "observer", NATS_PASSWORD: auth.observer };
  await provision(env);
  const nc = await connect({ ...nats.observer, noAsyncTraces: true });
  const rows: [string, string, string, string, string][] = [];
  const breakdown: [string, string, string][] = [];
  try {
    const threads = usableCpus();
    // 2. cache misses through one worker vs bare renders on the same threads
    const n = 120;
    const unique = Array.from({ length: n }, (_, i) => ({ prompt: `bench miss ${i} ${randomUUID().slice(0, 8)} | unique every time` }));
    const backend = await startBackend({ ...env, METRICS_PORT: String(await freePort()), WORKER_CONCURRENCY: String(threads * 4) });
    await publishAll(nc, unique.slice(0, 8).map((b) => ({ ...b, prompt: `${b.prompt} warm` })));
    const missMs = await publishAll(nc, unique);
    const pool = new RenderPool(threads);
    const svgs = unique.map((b) => memeSvg({ prompt: b.prompt, size: 1024, template: templateFor(b.prompt) }));
    await Promise.all(svgs.slice(0, 8).map((s) => pool.render(s)));
    const t0 = performance.now();
    await Promise.all(svgs.map((s) => pool.render(s)));
    const bareMs = performance.now() - t0;
    await pool.close();
    const missRate = n / (missMs / 1000);
    const bareRate = n / (bareMs / 1000);
    rows.push(["cache-miss throughput, 1024 px (1 worker)", `${missRate.toFixed(1)}/s`, `${bareRate.toFixed(1)}/s bare on ${threads} threads`, (missRate / bareRate).toFixed(2), "≥ 0.8"]);
    await backend.stop();

    const bin = cliBin;
    const benchDir = join(projectRoot(import.meta.url), "dist", "test", "bench");
    /** A node process with the stack's env, once `readyUrl` answers, or else once it prints its first line. */
    const spawnNode = async (args: string[], extra: Record<string, string>, readyUrl?: string) => {
      if (readyUrl) return (await startNodeProcess(args, { env: { ...env, ...extra }, readyUrl })).child;
      const child = spawn(process.execPath, args, { env: { ...process.env, ...env, ...extra }, stdio: ["ignore", "pipe", "inherit"] });
      await new Promise((resolve, reject) => (child.stdout?.once("data", resolve), child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited ${code}`)))));
      return child;
    };

    // 3. cache hits end to end vs a bare JetStream loop with the same message size. As deployed, the
    // consuming side is a process of its own on both sides: our worker, and a bare pull + ack loop.
    // Each side gets a full warm-up pass first, so that both are measured with their code compiled; then
    // five passes each, taken in turns so that neither side gets the quieter moments, and the medians.
    const workerPort = await freePort();
    const hitWorker = await spawnNode([bin, "backend"], { METRICS_PORT: String(workerPort), WORKER_CONCURRENCY: String(threads * 4) }, `http://127.0.0.1:${workerPort}/readyz`);
    const bareConsumer = await spawnNode([join(benchDir, "bare-consumer.js")], bare);
    const hits = Array.from({ length: 2000 }, (_, i) => ({ prompt: unique[i % 20]?.prompt ?? "" }));
    const size = JSON.stringify({ id: randomUUID(), ...hits[0] }).length;
    await publishAll(nc, hits);
    await bareJetStream(nc, hits.length, size);
    const hitRates: number[] = [];
    const jsRates: number[] = [];
    for (let pass = 0; pass < 5; pass++) {
      hitRates.push(hits.length / ((await publishAll(nc, hits)) / 1000));
      jsRates.push(hits.length / ((await bareJetStream(nc, hits.length, size)) / 1000));
    }
    const hitRate = median(hitRates);
    const jsRate = median(jsRates);
    rows.push([`cache-hit throughput end to end (1 worker, WORKER_CONCURRENCY ${threads * 4})`, `${hitRate.toFixed(0)}/s`, `${jsRate.toFixed(0)}/s bare JetStream`, (hitRate / jsRate).toFixed(2), "≥ 0.5"]);
    hitWorker.kill("SIGTERM");
    bareConsumer.kill("SIGTERM");

    // 4. frontend POST p99 at 500 req/s against the floor of a submit, a bare route that awaits the
    // round trips a 202 cannot skip (the JetStream publish and a Redis write, at once), each server in
    // a process of its own; for reference, a bare route awaiting the publish only, and one with none
    const serve = async (args: string[], extra: Record<string, string>) => {
      const port = await freePort();
      const child = await spawnNode(args, { ...extra, PORT: String(port) }, `http://127.0.0.1:${port}/readyz`);
      return { port, child };
    };
    const paced = (port: number) => pacedP99(port, "/api/memes", 500, 6, () => JSON.stringify({ prompt: `paced ${randomUUID()}`, fastMode: true }));
    // A tail on a shared machine moves from run to run, so all servers stay up and five 6-second
    // passes a side are taken in turns after a warm-up pass each; the figures are the medians.
    const bareServer = join(benchDir, "bare-server.js");
    const servers = [
      await serve([bin, "frontend"], { METRICS_PORT: String(await freePort()), SHUTDOWN_DELAY: "0" }),
      await serve([bareServer], {}),
      // The bare publishers connect as the frontend's user: the server checks the same permissions.
      await serve([bareServer], { BARE_PUBLISH_SUBJECT: "meme.request", NATS_USER: "frontend" }),
      await serve([bareServer], { BARE_PUBLISH_SUBJECT: "meme.request", BARE_REDIS_URL: redis.clientUrl, NATS_USER: "frontend" }),
    ];
    for (const server of servers) await paced(server.port);
    const passes = servers.map(() => [] as { p50: number; p99: number }[]);
    for (let pass = 0; pass < 5; pass++) for (const [i, server] of servers.entries()) passes[i]?.push(await paced(server.port));
    for (const server of servers) server.child.kill("SIGTERM");
    const [ours = [], bareRoute = [], publishing = [], both = []] = passes;
    const p99 = (runs: { p99: number }[]) => median(runs.map((r) => r.p99));
    const figure = (runs: { p50: number; p99: number }[]) =>
      `${p99(runs).toFixed(2)} ms (p50 ${median(runs.map((r) => r.p50)).toFixed(2)}; passes ${Math.min(...runs.map((r) => r.p99)).toFixed(1)}–${Math.max(...runs.map((r) => r.p99)).toFixed(1)})`;
    const post = (label: string, baseline: { p50: number; p99: number }[], target: string) =>
      rows.push([label, figure(ours), figure(baseline), (p99(ours) / p99(baseline)).toFixed(2), target]);
    // The target is against the honest floor: a submit cannot answer 202 before JetStream has stored
    // the request and Redis holds its pending record, so the bare route awaiting both is the baseline.
    post("POST /api/memes p99 at 500 req/s (median of 5) / a bare route awaiting the same publish and Redis write", both, "≤ 1.2");
    post("  the same / a bare route awaiting a JetStream publish only", publishing, "none");
    post("  the same / a bare fastify route, no round trip", bareRoute, "none");

    // 4b. where a POST's CPU goes, ours against the floor: one more server of each under V8's sampling
    // profiler, a warm-up pass, then one pass whose samples are counted (the profiler slows a server,
    // so these passes give no latency figure).
    // BENCH_PROFILE_DIR keeps the profiles there (they open in Chrome's DevTools); else they are removed.
    const kept = process.env.BENCH_PROFILE_DIR;
    const profiles = kept ?? mkdtempSync(join(tmpdir(), "meme-bench-profile-"));
    const profiled = async (name: string, args: string[], extra: Record<string, string>) => {
      const dir = join(profiles, `${name}-${Date.now()}`);
      const server = await serve(["--cpu-prof", `--cpu-prof-dir=${dir}`, "--cpu-prof-interval=100", ...args], extra);
      await paced(server.port);
      const from = profileClock();
      await paced(server.port);
      const to = profileClock();
      const exited = new Promise((resolve) => server.child.once("exit", resolve));
      server.child.kill("SIGTERM");
      await exited;
      const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
      if (!file) throw new Error(`no CPU profile was written for ${name}`);
      return cpuByCategory(JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile, from, to);
    };
    const oursCpu = await profiled("frontend", [bin, "frontend"], { METRICS_PORT: String(await freePort()), SHUTDOWN_DELAY: "0" });
    const floorCpu = await profiled("floor", [bareServer], { BARE_PUBLISH_SUBJECT: "meme.request", BARE_REDIS_URL: redis.clientUrl, NATS_USER: "frontend" });
    if (kept) console.log(`CPU profiles kept in ${kept}`);
    else rmSync(profiles, { recursive: true, force: true });
    const requests = 500 * 6;
    const perRequest = (spent: Map<string, number>, where?: string) => (where ? (spent.get(where) ?? 0) : [...spent.values()].reduce((a, b) => a + b, 0)) / requests;
    breakdown.push(["CPU per POST (µs), all of it", perRequest(oursCpu).toFixed(1), perRequest(floorCpu).toFixed(1)]);
    const places = [...new Set([...oursCpu.keys(), ...floorCpu.keys()])].sort((a, b) => perRequest(oursCpu, b) - perRequest(oursCpu, a));
    for (const where of places) {
      if (perRequest(oursCpu, where) < 0.5 && perRequest(floorCpu, where) < 0.5) continue;
      breakdown.push([`  ${where}`, perRequest(oursCpu, where).toFixed(1), perRequest(floorCpu, where).toFixed(1)]);
    }

    // 5. a worker process's resident memory, idle and while rendering: with a render thread per CPU here,
    // and with the one thread a pod limited to one CPU or less (the demo's 500m) gets.
    const jsm = await jetstreamManager(nc);
    for (const renderThreads of [...new Set([threads, 1])]) {
      await jsm.streams.purge("MEMES");
      const metricsPort = await freePort();
      const worker = await spawnNode([bin, "backend"], { METRICS_PORT: String(metricsPort), RENDER_THREADS: String(renderThreads) }, `http://127.0.0.1:${metricsPort}/readyz`);
      await sleep(3000); // settled, as a worker waiting for work is
      const idle = rssMiB(worker.pid as number);
      let peak = idle;
      const load = publishAll(nc, Array.from({ length: 150 }, (_, i) => ({ prompt: `rss ${renderThreads} ${i} ${randomUUID().slice(0, 6)}` })));
      while (await Promise.race([load.then(() => true), sleep(100).then(() => false)]) === false) peak = Math.max(peak, rssMiB(worker.pid as number));
      worker.kill("SIGTERM");
      const label = `worker resident memory, ${renderThreads} render thread${renderThreads === 1 ? "" : "s"}`;
      rows.push([label, `${idle.toFixed(0)} MiB idle`, `${peak.toFixed(0)} MiB peak rendering 1024 px`, "", "< 120 MiB idle"]);
    }
  } catch (error) {
    console.error(`benchmark stopped: ${(error as Error).message}\n--- nats-server\n${nats.output}\n--- redis-server\n${redis.output}`);
    process.exitCode = 1;
  } finally {
    await nc.close();
    await nats.destroy();
    await redis.stop();
  }
  const header: [string, string, string, string, string] = ["figure", "ours", "baseline", "ratio", "target"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join("  ");
  console.log(`\nsystem benchmark: node ${process.version}, ${usableCpus()} usable CPUs, nats-server ${nats.version}`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  if (breakdown.length > 0) {
    const head: [string, string, string] = ["where a POST's CPU goes (V8 profile, one 6-second pass at 500 req/s)", "frontend", "floor"];
    const w = head.map((h, i) => Math.max(h.length, ...breakdown.map((r) => r[i]?.length ?? 0)));
    const cells = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[0] as number) : c.padStart(w[i] as number))).join("  ");
    console.log(`\n${cells(head)}`);
    for (const row of breakdown) console.log(cells(row));
  }
}

await main();
