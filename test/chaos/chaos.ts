// Chaos: the whole stack on this machine — NATS with a file store, Redis, one
// frontend and several workers as processes — under steady load, while workers
// are SIGKILLed and restarted at random and Redis and NATS are each restarted
// once. Afterwards every request must have reached a final state (done, or
// failed with a reason), the stream must be empty and the lag 0.
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { provision } from "../../src/provision/provision.js";
import { readEvents } from "../../src/load/events.js";
import { binaryOnPath, freePort, natsPasswords, NatsServer, RedisServer } from "../../src/local/servers.js";
import { startCli } from "../harness/command.js";
import { eventually } from "../harness/eventually.js";

export interface ChaosOptions {
  count: number;
  rate: number;
  workers: number;
  /** Mean time between worker kills. */
  killEveryMs: number;
  say(line: string): void;
}

export interface ChaosReport {
  requests: number;
  accepted: number;
  resubmitted: number;
  done: number;
  failed: number;
  failures: Record<string, number>;
  lost: number;
  duplicates: number;
  workerKills: number;
  redisRestarts: number;
  natsRestarts: number;
  lag: number;
  streamMessages: number;
  seconds: number;
}

/** A subcommand as its own process; one that exits by itself with an error says so with the end of its stderr. */
async function spawnProcess(command: string, env: Record<string, string>, name: string, readyUrl?: string): Promise<ChildProcess> {
  const run = await startCli(command, { env, readyUrl });
  run.child.once("exit", (code, signal) => {
    if (code !== 0 && signal === null) process.stderr.write(`chaos: ${name} exited ${code}: ${run.stderr().slice(-4000)}\n`);
  });
  return run.child;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  // NATS with the tiers' users, as deployed; the run's own checks connect as an observer.
  const auth = { passwords: natsPasswords(randomUUID()), observer: randomUUID() };
  const nats = await NatsServer.create(binaryOnPath("nats-server", "apt-get install nats-server"), { auth });
  const redis = await RedisServer.create({ password: randomUUID() });
  const children = new Set<ChildProcess>();
  const workers: ChildProcess[] = [];
  try {
    await nats.start();
    await redis.start();
    const env = { LOG_LEVEL: "warn", NATS_URL: nats.url, NATS_PASSWORD: auth.passwords.frontend, REDIS_URL: redis.url, REDIS_PASSWORD: redis.password, NATS_ACK_WAIT: "5", NATS_MAX_DELIVER: "20", SHUTDOWN_TIMEOUT: "2" };
    await provision({ ...env, LOG_LEVEL: "silent" });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const frontend = await spawnProcess("frontend", { ...env, PORT: String(port), METRICS_PORT: String(await freePort()), SHUTDOWN_DELAY: "0" }, "frontend", `${base}/readyz`);
    children.add(frontend);
    const workerPorts = await Promise.all(Array.from({ length: o.workers }, () => freePort()));
    const startWorker = async (i: number) => {
      const child = await spawnProcess("backend", { ...env, METRICS_PORT: String(workerPorts[i]) }, `worker ${i}`);
      workers[i] = child;
      children.add(child);
      child.once("exit", () => children.delete(child));
    };
    for (let i = 0; i < o.workers; i++) await startWorker(i);
    o.say(`stack up: NATS ${nats.url} (file store), Redis ${redis.url}, frontend ${base}, ${o.workers} workers`);

    const results = new Map<string, { status: string; error?: string; count: number }>();
    let closeEvents = await readEvents(base, (type, data) => {
      if (type !== "result") return;
      const r = data as { id: string; status: string; error?: string };
      const seen = results.get(r.id);
      results.set(r.id, { status: r.status, error: r.error, count: (seen?.count ?? 0) + 1 });
    });

    // Chaos, in the background while the requests go out.
    let sending = true;
    let workerKills = 0;
    let redisRestarts = 0;
    let natsRestarts = 0;
    const chaos = (async () => {
      while (sending) {
        await sleep(o.killEveryMs * (0.5 + Math.random()));
        if (!sending) break;
        const i = Math.floor(Math.random() * o.workers);
        workers[i]?.kill("SIGKILL");
        workerKills++;
        await sleep(300);
        await startWorker(i);
      }
    })();

    const ids = Array.from({ length: o.count }, () => randomUUID());
    const accepted = new Set<string>();
    let resubmitted = 0;
    const submit = async (id: string, i: number): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        const ok = await fetch(`${base}/api/memes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ id, prompt: `chaos ${i} | ${id.slice(0, 8)}`, fastMode: true }) }).then(
          (r) => r.status === 202,
          () => false,
        );
        if (ok) {
          accepted.add(id);
          return;
        }
        // Refused while Redis or NATS is away: a client tries again, with the same id (JetStream keeps it once).
        resubmitted++;
        await sleep(Math.min(2000, 200 * (attempt + 1)));
      }
    };
    const pending: Promise<void>[] = [];
    const restarts: Promise<unknown>[] = [];
    /** A server down for a second, then back on the same port and data. */
    const outage = async (name: string, server: NatsServer | RedisServer) => {
      o.say(`restarting ${name}`);
      await server.stop();
      await sleep(1000);
      await server.start();
    };
    const interval = 1000 / o.rate;
    const t0 = Date.now();
    for (let i = 0; i < o.count; i++) {
      const wait = t0 + i * interval - Date.now();
      if (wait > 0) await sleep(wait);
      if (i === Math.floor(o.count * 0.3)) restarts.push(outage("Redis", redis).then(() => redisRestarts++));
      if (i === Math.floor(o.count * 0.6)) restarts.push(outage("NATS", nats).then(() => natsRestarts++));
      pending.push(submit(ids[i] as string, i));
    }
    await Promise.all(pending);
    await Promise.all(restarts);
    sending = false;
    await chaos;
    o.say(`all ${o.count} requests accepted (${resubmitted} resubmissions); waiting for the last results`);

    // Final states: from the event stream, else from the API (results are stored for any replica).
    const unanswered = () => ids.filter((id) => !results.has(id));
    // Those still without a final state after 180 s are counted as lost below.
    await eventually(
      async () => {
        const lookups = await Promise.all(
          unanswered().map(async (id) => {
            const body = (await fetch(`${base}/api/memes/${id}`).then((r) => (r.ok ? r.json() : null), () => null)) as { status?: string; error?: string } | null;
            return [id, body] as const;
          }),
        );
        for (const [id, body] of lookups) {
          if (body && (body.status === "done" || body.status === "failed") && !results.has(id)) results.set(id, { status: body.status, error: body.error, count: 1 });
        }
        return unanswered().length === 0;
      },
      { timeout: 180000, interval: 1000, what: "a final state for every request" },
    ).catch(() => undefined);
    const missing = unanswered();
    closeEvents();
    closeEvents = () => undefined;

    const nc = await connect(nats.observer);
    const jsm = await jetstreamManager(nc);
    let lag = -1;
    let streamMessages = -1;
    // What is left after 30 s is reported below.
    await eventually(
      async () => {
        const info = await jsm.consumers.info("MEMES", "meme-generator");
        lag = info.num_pending + info.num_ack_pending;
        streamMessages = (await jsm.streams.info("MEMES")).state.messages;
        return lag === 0 && streamMessages === 0;
      },
      { timeout: 30000, interval: 1000, what: "an empty queue" },
    ).catch(() => undefined);
    await nc.close();

    const failures: Record<string, number> = {};
    let done = 0;
    let failed = 0;
    let duplicates = 0;
    for (const id of ids) {
      const r = results.get(id);
      if (!r) continue;
      if (r.count > 1) duplicates++;
      if (r.status === "done") done++;
      else {
        failed++;
        failures[r.error ?? "no reason"] = (failures[r.error ?? "no reason"] ?? 0) + 1;
      }
    }
    return {
      requests: o.count,
      accepted: accepted.size,
      resubmitted,
      done,
      failed,
      failures,
      lost: missing.length,
      duplicates,
      workerKills,
      redisRestarts,
      natsRestarts,
      lag,
      streamMessages,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    for (const child of children) child.kill("SIGKILL");
    await nats.destroy();
    await redis.stop();
  }
}

export function formatReport(r: ChaosReport): string {
  const rows: [string, string | number][] = [
    ["requests", r.requests],
    ["accepted", r.accepted],
    ["resubmitted after a 503", r.resubmitted],
    ["done", r.done],
    ["failed (with a reason)", r.failed],
    ["lost", r.lost],
    ["answered twice", r.duplicates],
    ["workers SIGKILLed", r.workerKills],
    ["Redis restarts", r.redisRestarts],
    ["NATS restarts", r.natsRestarts],
    ["lag at the end", r.lag],
    ["messages left in the stream", r.streamMessages],
    ["seconds", r.seconds],
    ...Object.entries(r.failures).map(([reason, n]): [string, string] => ["failure", `${n} × ${reason}`]),
  ];
  return rows.map(([k, v]) => `${k.padEnd(28)} ${v}`).join("\n");
}
