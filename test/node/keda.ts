// KEDA on real worker pods: the guide's `nats pub` loop through `kubectl port-forward` wakes the
// backend from zero and every meme is done; the activation threshold as KEDA's own tests check it;
// a burst from zero with the cost of each part of the scale-out; the fallback when the trigger cannot
// read its consumer. One sampler follows the backend, its lag and KEDA's HPA across all of them, drawn
// as CSV and SVG under .artifacts/e2e/.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { jetstreamManager, type ClusterInfo, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Test } from "tap";
import type { Cluster } from "../e2e/cluster.js";
import { runCommand } from "../e2e/controlplane.js";
import { diagnose } from "../../src/doctor/doctor.js";
import { Kube, kubeAccess } from "../../src/shared/kube.js";
import { consumerLag, consumerOf } from "../e2e/jsz.js";
import { stepChart } from "../e2e/plot.js";
import { toolPath } from "../toolchain/toolchain.mjs";
import { artifacts } from "./autoscalers.js";
import { Sampler, type Sampled } from "./sampler.js";
import { portForward } from "./traffic.js";
import { eventually } from "../harness/eventually.js";

type Condition = { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string };
type Fallback = { failureThreshold: number; replicas: number; behavior?: string };
export type ScaledObject = {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: { scaleTargetRef: { name: string }; minReplicaCount?: number; maxReplicaCount: number; pollingInterval: number; cooldownPeriod: number; fallback?: Fallback; triggers: { type: string; metadata: Record<string, string> }[] };
  status?: { conditions?: Condition[]; hpaName?: string; externalMetricNames?: string[] };
};
type Deployment = { spec: { replicas?: number; selector: { matchLabels: Record<string, string> } }; status: { readyReplicas?: number } };
type Hpa = { status: { desiredReplicas?: number; currentMetrics?: { external?: { current: { averageValue?: string } } }[] } };
type Pod = {
  metadata: { name: string; creationTimestamp: string };
  status: { conditions?: Condition[]; containerStatuses?: { state?: { running?: { startedAt: string } } }[] };
};
type Result = { id: string; status: string; prompt?: string; renderMs?: number; error?: string };
type Arrived = Result & { at: number };
type User = "guide" | "frontend" | "ops";
/** The results that arrived: those whose prompt begins with a prefix, first come first; `wait` until `count` have, or `seconds` pass. */
type Results = { of: (prefix: string) => Arrived[]; wait: (prefix: string, count: number, seconds: number) => Promise<Arrived[]>; close: () => Promise<void> };

/** Where NATS is: its Service, their namespace, and the Secret of its users' passwords. */
export type NatsNames = { service: string; namespace: string; secret: string };
/** The demo's, which are the guide's. */
const guideNats: NatsNames = { service: "nats", namespace: "messaging", secret: "nats-users" };

/** What the sampler reads every second: the Deployment KEDA scales, the lag, KEDA's conditions and its HPA. */
interface BackendSample {
  replicas: number;
  ready: number;
  lag: number;
  active: boolean;
  fallback: boolean;
  desired?: number;
  average?: number;
}

const condition = (so: ScaledObject, type: string) => so.status?.conditions?.find((c) => c.type === type)?.status === "True";
const quantity = (q: string | undefined) => (q === undefined ? undefined : q.endsWith("m") ? Number(q.slice(0, -1)) / 1000 : Number(q));

/**
 * The backend under KEDA on the real node, with the ways in the guide uses: NATS's client port and
 * monitoring through `kubectl port-forward`, the guide user's credentials for `nats pub`, and the
 * frontend user's for reading the results.
 */
export class KedaBackend {
  readonly watch: Sampler<BackendSample>;
  private readonly c: Cluster;
  readonly scaled: ScaledObject;
  readonly client: string;
  readonly monitor: string;
  private readonly passwords: Record<User, string>;
  /** The frontend user's JetStream API, when the lag is read from the consumer's leader. */
  private readonly jsm: { nc: NatsConnection; api: JetStreamManager } | undefined;

  private constructor(c: Cluster, scaled: ScaledObject, client: string, monitor: string, passwords: Record<User, string>, jsm: { nc: NatsConnection; api: JetStreamManager } | undefined) {
    this.c = c;
    this.scaled = scaled;
    this.client = client;
    this.monitor = monitor;
    this.passwords = passwords;
    this.jsm = jsm;
    const ns = scaled.metadata.namespace;
    const trigger = this.trigger;
    const [stream, consumer] = [trigger.stream ?? "", trigger.consumer ?? ""];
    const readLag = jsm
      ? async () => jsm.api.consumers.info(stream, consumer).then((i) => i.num_pending + i.num_ack_pending, () => Number.NaN)
      : () => consumerLag(monitor, stream, consumer);
    this.watch = new Sampler<BackendSample>(async () => {
      const [d, so, lag] = await Promise.all([
        c.get<Deployment>(["deployment", scaled.spec.scaleTargetRef.name, "-n", ns]),
        c.get<ScaledObject>(["scaledobject", scaled.metadata.name, "-n", ns]),
        readLag(),
      ]);
      const hpa = so.status?.hpaName ? await c.get<Hpa>(["hpa", so.status.hpaName, "-n", ns]).catch(() => undefined) : undefined;
      return {
        replicas: d.spec.replicas ?? 0,
        ready: d.status.readyReplicas ?? 0,
        lag,
        active: condition(so, "Active"),
        fallback: condition(so, "Fallback"),
        desired: hpa?.status.desiredReplicas,
        average: quantity(hpa?.status.currentMetrics?.[0]?.external?.current.averageValue),
      };
    }, 1000);
  }

  /**
   * `lag`: where the sampler reads the consumer's lag. "jsz": /jsz through port-forward, as KEDA reads
   * one server. "leader": the JetStream API as the frontend user, answered by the consumer's leader: on a
   * clustered NATS the Service's port-forward reaches any one server, whose /jsz may hold a follower's
   * copy, while KEDA asks each server by its own name and takes the leader's.
   */
  static async open(t: Test, c: Cluster, name: string, namespace: string, lag: "jsz" | "leader" = "jsz", nats: NatsNames = guideNats): Promise<KedaBackend> {
    const scaled = await c.get<ScaledObject>(["scaledobject", name, "-n", namespace]);
    const [client, monitor] = [await portForward(t, c, `svc/${nats.service}`, nats.namespace, 4222), await portForward(t, c, `svc/${nats.service}`, nats.namespace, 8222)];
    const secret = await c.get<{ data: Record<string, string> }>(["secret", nats.secret, "-n", nats.namespace]);
    const password = (user: User) => Buffer.from(secret.data[user] ?? "", "base64").toString();
    const passwords = { guide: password("guide"), frontend: password("frontend"), ops: password("ops") };
    const url = `nats://127.0.0.1:${client}`;
    let jsm: { nc: NatsConnection; api: JetStreamManager } | undefined;
    if (lag === "leader") {
      const nc = await connect({ servers: url, user: "frontend", pass: passwords.frontend, name: "real-node test (lag)" });
      jsm = { nc, api: await jetstreamManager(nc) };
    }
    return new KedaBackend(c, scaled, url, `http://127.0.0.1:${monitor}`, passwords, jsm);
  }

  /** Stops the sampler and closes what it read through. */
  async close(): Promise<void> {
    await this.watch.stop();
    await this.jsm?.nc.close();
  }

  get trigger(): Record<string, string> {
    return this.scaled.spec.triggers[0]?.metadata ?? {};
  }
  get min(): number {
    return this.scaled.spec.minReplicaCount ?? 0;
  }
  get lagThreshold(): number {
    return Number(this.trigger.lagThreshold);
  }

  /** The guide's loop, as written, with the credential flags NOTES prints for the guide user. */
  async guideLoop(count: number, prompt: string): Promise<{ code: number; output: string }> {
    const loop = `for i in $(seq 1 ${count}); do
  echo "{\\"prompt\\":\\"${prompt} $i\\",\\"fastMode\\":true}" | nats pub meme.request -s "$NATS_SERVER" --user guide --password "$GUIDE_PASSWORD"
  sleep 0.5
done`;
    const natsDir = dirname(toolPath("nats"));
    const result = await runCommand("bash", ["-c", loop], { PATH: `${natsDir}:${process.env.PATH ?? ""}`, NATS_SERVER: this.client, GUIDE_PASSWORD: this.passwords.guide }, undefined, count * 10_000);
    return { code: result.code, output: `${result.stdout}${result.stderr}`.trim() };
  }

  /** A connection as the guide user (who may only publish requests), the frontend user (who may also read results) or the ops user. */
  user(name: User): Promise<NatsConnection> {
    return connect({ servers: this.client, user: name, pass: this.passwords[name], name: `real-node test (${name})` });
  }

  /** The lag KEDA's external metrics API serves for this ScaledObject now (the operator reads NATS on each ask). */
  async externalMetric(): Promise<{ value?: number; error?: string }> {
    const ns = this.scaled.metadata.namespace;
    const so = await this.c.get<ScaledObject>(["scaledobject", this.scaled.metadata.name, "-n", ns]);
    const metric = so.status?.externalMetricNames?.[0] ?? "";
    const path = `/apis/external.metrics.k8s.io/v1beta1/namespaces/${ns}/${metric}?labelSelector=${encodeURIComponent(`scaledobject.keda.sh/name=${this.scaled.metadata.name}`)}`;
    const read = await this.c.kubectl(["get", "--raw", path]);
    const value = (JSON.parse(read.stdout || "{}") as { items?: { value: string }[] }).items?.[0]?.value;
    return value === undefined ? { error: read.stderr.trim() || "no value" } : { value: quantity(value) };
  }

  /** `nats <args>` (the natscli built here) through the port-forward, as `user` with its password. */
  async nats(user: User, args: string[]): Promise<{ code: number; output: string }> {
    const result = await runCommand(toolPath("nats"), [...args, "--server", this.client, "--user", user, "--password", this.passwords[user]], {}, undefined, 30_000);
    return { code: result.code, output: `${result.stdout}${result.stderr}`.trim() };
  }

  /** Collects the results published on meme.response.> from now on, with the time each arrived. */
  async results(): Promise<Results> {
    const nc = await this.user("frontend");
    const got = new Map<string, Result & { at: number }>();
    const sub = nc.subscribe("meme.response.>", {
      callback: (error, msg) => {
        if (error) return;
        const result = msg.json<Result>();
        if (result.status === "done" || result.status === "failed") got.set(result.id, { ...result, at: this.watch.now() });
      },
    });
    await nc.flush();
    const of = (prefix: string) => [...got.values()].filter((r) => r.prompt?.startsWith(prefix)).sort((a, b) => a.at - b.at);
    return {
      of,
      wait: async (prefix, count, seconds) => {
        await eventually(() => of(prefix).length >= count, { timeout: seconds * 1000, interval: 250 }).catch(() => undefined);
        return of(prefix);
      },
      close: async () => {
        sub.unsubscribe();
        await nc.close();
      },
    };
  }

  /** Waits for the backend to rest at its fewest replicas with an empty queue. */
  rest(seconds: number): Promise<Sampled<BackendSample> | undefined> {
    return this.watch.until((s) => s.replicas === this.min && s.lag === 0, seconds);
  }

  /** `helm upgrade --reuse-values` with `sets`; resolves to whether it succeeded, with its error. */
  async upgrade(release: string, chart: string, sets: string[]): Promise<{ ok: boolean; error: string }> {
    const result = await this.c.helm("helm3", ["upgrade", release, chart, "-n", this.scaled.metadata.namespace, "--reuse-values", "--wait", "--timeout", "5m", ...sets.flatMap((s) => ["--set", s])]);
    return { ok: result.code === 0, error: result.stderr.trim() };
  }

  /** The backend's pods now, oldest first. */
  async pods(): Promise<Pod[]> {
    const d = await this.c.get<Deployment>(["deployment", this.scaled.spec.scaleTargetRef.name, "-n", this.scaled.metadata.namespace]);
    const selector = Object.entries(d.spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(",");
    const pods = (await this.c.get<{ items: Pod[] }>(["pods", "-n", this.scaled.metadata.namespace, "-l", selector])).items;
    return pods.sort((a, b) => Date.parse(a.metadata.creationTimestamp) - Date.parse(b.metadata.creationTimestamp));
  }

  /** A worker pod's "worker started" log line: when (ms since the epoch) and where its start went. */
  async started(pod: string): Promise<{ time: number; startupMs: Record<string, number> } | undefined> {
    const logs = await this.c.kubectl(["logs", pod, "-n", this.scaled.metadata.namespace]);
    for (const line of logs.stdout.split("\n")) {
      if (!line.includes('"worker started"')) continue;
      const entry = JSON.parse(line) as { time: string; startupMs?: Record<string, number> };
      return { time: Date.parse(entry.time), startupMs: entry.startupMs ?? {} };
    }
    return undefined;
  }

  /** Each change of the replica count with the lag the HPA read before it: ceil(lag / lagThreshold). */
  steps(from: number, to = Infinity): string[] {
    const samples = this.watch.samples.filter((s) => s.at >= from && s.at <= to);
    const lines: string[] = [];
    for (let i = 1; i < samples.length; i++) {
      const [before, after] = [samples[i - 1] as Sampled<BackendSample>, samples[i] as Sampled<BackendSample>];
      if (before.replicas === after.replicas) continue;
      const lag = Math.max(...samples.slice(Math.max(0, i - 8), i + 1).map((s) => (Number.isNaN(s.lag) ? 0 : s.lag)));
      const why =
        before.replicas === 0
          ? `lag ${before.lag} > activationLagThreshold ${this.trigger.activationLagThreshold}: KEDA activates`
          : after.replicas === 0
            ? "not active for the cooldown: KEDA scales to zero"
            : after.fallback
              ? "fallback: the lag cannot be read"
              : Math.ceil(lag / this.lagThreshold) < after.replicas
                ? `lag up to ${lag} / lagThreshold ${this.lagThreshold} asks for ${Math.ceil(lag / this.lagThreshold)}, but the HPA keeps the highest recommendation of its scale-down window (300 s unless the behavior says otherwise): ${after.desired ?? "?"}`
                : `lag up to ${lag} in the last reads / lagThreshold ${this.lagThreshold} = ${Math.ceil(lag / this.lagThreshold)} (HPA desired ${after.desired ?? "?"}, max ${this.scaled.spec.maxReplicaCount})`;
      lines.push(`${after.at.toFixed(0)} s: ${before.replicas} → ${after.replicas} (${why})`);
    }
    return lines;
  }

  /** The whole run as CSV and SVG; returns the files' names. */
  draw(file: string): string[] {
    mkdirSync(artifacts, { recursive: true });
    const samples = this.watch.samples;
    const csv = ["seconds,replicas,ready,lag,active,fallback,hpa_desired", ...samples.map((s) => `${s.at.toFixed(1)},${s.replicas},${s.ready},${Number.isNaN(s.lag) ? "" : s.lag},${s.active ? 1 : 0},${s.fallback ? 1 : 0},${s.desired ?? ""}`)];
    writeFileSync(join(artifacts, `${file}.csv`), `${csv.join("\n")}\n`);
    writeFileSync(
      join(artifacts, `${file}.svg`),
      stepChart(
        `Backend workers under KEDA on the real node (lagThreshold ${this.lagThreshold}, polling ${this.scaled.spec.pollingInterval} s, cooldown ${this.scaled.spec.cooldownPeriod} s)`,
        [
          { name: "replicas (Deployment spec)", colour: "#1f6feb", points: samples.map((s) => [s.at, s.replicas]) },
          { name: "ready workers", colour: "#1a7f37", points: samples.map((s) => [s.at, s.ready]) },
          { name: "consumer lag", colour: "#d1242f", right: true, points: samples.filter((s) => !Number.isNaN(s.lag)).map((s) => [s.at, s.lag]) },
        ],
        this.watch.marks,
        { left: "replicas", right: "messages" },
      ),
    );
    return [`${file}.csv`, `${file}.svg`];
  }
}

/**
 * The guide's test: from rest at zero, its `nats pub` loop (20 messages half a second apart) wakes
 * the backend on the first message, KEDA's HPA scales real worker pods on the lag, every meme is done,
 * and after the cooldown the backend is back at zero. Prints `kubectl get scaledobject` and the
 * consumer as /jsz shows it.
 */
export async function guideLoopWakesBackend(t: Test, k: KedaBackend, c: Cluster): Promise<void> {
  const { cooldownPeriod, pollingInterval } = k.scaled.spec;
  const rest = await k.rest(cooldownPeriod + 120);
  if (!t.ok(rest, `the backend rests at ${k.min} replicas with an empty queue`)) return;
  const results = await k.results();
  try {
    const count = 20;
    const start = k.watch.mark("nats pub loop starts");
    const loop = await k.guideLoop(count, "Test meme");
    const end = k.watch.mark("loop ends");
    t.equal(loop.code, 0, `the guide's loop: ${count} × nats pub meme.request as the guide user, through port-forward, in ${(end - start).toFixed(1)} s${loop.code === 0 ? "" : `: ${loop.output}`}`);
    const woke = await k.watch.until((s) => s.replicas >= 1, pollingInterval + 30, start);
    t.ok(woke, `KEDA woke the backend ${woke ? `${(woke.at - start).toFixed(1)} s after the first message (polling every ${pollingInterval} s)` : "not at all"}`);
    const mine = await results.wait("Test meme", count, 120);
    const done = mine.filter((r) => r.status === "done");
    t.equal(done.length, count, `all ${count} memes are done (${mine.length} results, the last ${Math.max(0, ...mine.map((r) => r.at - start)).toFixed(1)} s after the first message)`);
    const got = await c.kubectl(["get", "scaledobject", "-n", k.scaled.metadata.namespace]);
    t.comment(`kubectl get scaledobject -n ${k.scaled.metadata.namespace}:\n${got.stdout.trim()}`);
    const consumer = await consumerOf(k.monitor, k.trigger.stream ?? "", k.trigger.consumer ?? "");
    t.comment(`/jsz through port-forward on 8222: ${JSON.stringify(consumer)}`);
    k.watch.mark("all done");
    const back = await k.rest(cooldownPeriod + 2 * pollingInterval + 60);
    const lastLag = k.watch.samples.filter((s) => s.at >= start && s.lag > 0).at(-1)?.at ?? start;
    t.ok(back, `back to ${k.min} replicas ${back ? `${(back.at - lastLag).toFixed(0)} s after the last read of a lag above 0 (cooldown ${cooldownPeriod} s, polling every ${pollingInterval} s)` : "not within the cooldown and two polls"}`);
    if (back) k.watch.mark(`back to ${k.min}`);
    const peak = Math.max(...k.watch.samples.filter((s) => s.at >= start).map((s) => s.replicas));
    t.ok(peak <= k.scaled.spec.maxReplicaCount, `never above maxReplicaCount (peak ${peak})`);
    t.comment(`steps:\n${k.steps(start).join("\n")}`);
  } finally {
    await results.close();
  }
}

/**
 * Activation as KEDA's own nats-jetstream tests check it: with the guide's literal
 * activationLagThreshold 1 (set by `--set`), one message leaves the backend asleep for 60 s, since
 * KEDA activates only when the lag is strictly greater; with the demo's 0 the same message wakes it.
 */
export async function activationThreshold(t: Test, k: KedaBackend, release: string, chart: string): Promise<void> {
  const { cooldownPeriod, pollingInterval } = k.scaled.spec;
  const key = "backend.autoscaling.keda.activationLagThreshold";
  const demo = k.trigger.activationLagThreshold ?? "0";
  if (!t.ok(await k.rest(cooldownPeriod + 120), `the backend rests at ${k.min} replicas`)) return;
  const guide = await k.upgrade(release, chart, [`${key}=1`]);
  if (!t.ok(guide.ok, `helm upgrade --reuse-values --set ${key}=1 (the guide's value)${guide.ok ? "" : `: ${guide.error}`}`)) return;
  // The operator rebuilds its scaler when the ScaledObject changes; two polls and the new threshold is the one read.
  await sleep(2 * pollingInterval * 1000);
  const results = await k.results();
  try {
    const nc = await k.user("guide");
    nc.publish("meme.request", JSON.stringify({ prompt: "one message, below activation", fastMode: true }));
    await nc.flush();
    await nc.close();
    const sent = k.watch.mark("1 message, activation 1");
    await sleep(60_000);
    const held = k.watch.samples.filter((s) => s.at >= sent);
    t.ok(held.length > 30 && held.every((s) => s.replicas === 0), `for 60 s the backend stayed at 0 (${held.length} reads, highest ${Math.max(...held.map((s) => s.replicas))})`);
    t.ok(held.slice(5).every((s) => s.lag === 1 && !s.active), "the lag was 1, not above the threshold 1: KEDA never called the ScaledObject active");
    const reverted = k.watch.mark(`activation ${demo}`);
    const back = await k.upgrade(release, chart, [`${key}=${demo}`]);
    const upgraded = k.watch.now();
    t.ok(back.ok, `helm upgrade --reuse-values --set ${key}=${demo} (the demo's value, ${(upgraded - reverted).toFixed(0)} s with its hook Job)${back.ok ? "" : `: ${back.error}`}`);
    const woke = await k.watch.until((s) => s.replicas >= 1, pollingInterval + 30, reverted);
    t.ok(woke, `the same message wakes the backend ${woke ? `${(woke.at - reverted).toFixed(1)} s after the upgrade began` : "not at all"}`);
    const [one] = await results.wait("one message, below activation", 1, 60);
    t.equal(one?.status, "done", "and its meme is done");
  } finally {
    await results.close();
  }
}

/** What looks on during a burst: made ready before its first message, then watching while it runs. */
export interface BurstWatcher {
  ready(): Promise<void>;
  during(): Promise<void>;
}

/**
 * A burst from zero, and where the time to its first result goes: KEDA's poll, the pod's scheduling
 * and sandbox, the container's start, Node's start and the worker's connects (from its own log), the
 * first render. Figures, not assertions; the goal is the polling interval + 3 s.
 */
export async function burstFromZero(t: Test, k: KedaBackend, count: number, fastMode: boolean, watcher?: BurstWatcher): Promise<void> {
  const { cooldownPeriod, pollingInterval, maxReplicaCount } = k.scaled.spec;
  if (!t.ok(await k.rest(cooldownPeriod + 120), `the backend rests at ${k.min} replicas`)) return;
  const watching = watcher ? await watcher.ready().then(() => true, (error: unknown) => t.fail(`the burst's watcher: ${String(error)}`)) : false;
  const before = new Set((await k.pods()).map((p) => p.metadata.name));
  const results = await k.results();
  try {
    const nc = await k.user("guide");
    const first = Date.now();
    const start = k.watch.mark(`${count} messages${fastMode ? " (fast mode)" : ""}`);
    for (let i = 0; i < count; i++) nc.publish("meme.request", JSON.stringify({ prompt: `burst ${i}`, fastMode }));
    await nc.flush();
    await nc.close();
    const seen = watcher && watching ? watcher.during().catch((error: unknown) => t.fail(`the burst's watcher: ${String(error)}`)) : undefined;
    const mine = await results.wait("burst ", count, 180);
    await seen;
    t.equal(mine.filter((r) => r.status === "done").length, count, `all ${count} memes of the burst are done, the last ${((mine.at(-1)?.at ?? start) - start).toFixed(1)} s after the first message`);
    const peak = k.watch.samples.filter((s) => s.at >= start).reduce((a, s) => (s.replicas > a.replicas ? s : a), { replicas: 0, at: start, lag: 0 });
    t.ok(peak.replicas >= 1 && peak.replicas <= Math.min(maxReplicaCount, Math.ceil(count / k.lagThreshold)), `the workers rose to ${peak.replicas}, never above ceil(${count} / ${k.lagThreshold}) = ${Math.ceil(count / k.lagThreshold)}`);
    t.comment(`steps:\n${k.steps(start).join("\n")}`);

    // Where the time to the first result went.
    const woke = k.watch.samples.find((s) => s.at >= start && s.replicas >= 1);
    const pod = (await k.pods()).find((p) => !before.has(p.metadata.name));
    const firstResult = mine[0];
    if (!t.ok(woke && pod && firstResult, `the first worker pod: ${pod?.metadata.name}`) || !woke || !pod || !firstResult) return;
    const at = (ms: number) => (ms - first) / 1000;
    const stamp = (type: string) => at(Date.parse(pod.status.conditions?.find((c) => c.type === type && c.status === "True")?.lastTransitionTime ?? ""));
    const log = await k.started(pod.metadata.name);
    const ms = log?.startupMs ?? {};
    const phases = ["modules", "nats", "redis", "consumer"].map((p) => (ms[p] ?? Number.NaN) / 1000);
    // The worker's log is stamped to the millisecond: its process began the phases' sum before "worker started".
    const workerUp = log ? at(log.time) : Number.NaN;
    const processStart = workerUp - phases.reduce((a, b) => a + b, 0);
    const rows: [string, number][] = [
      [`KEDA's poll (every ${pollingInterval} s) sets replicas 0 → 1 (read every 1 s)`, woke.at - start],
      ["the pod made and scheduled, its sandbox and container started", processStart - (woke.at - start)],
      ["Node starts and loads the worker's modules", phases[0] as number],
      ["NATS connect and the queue's check", phases[1] as number],
      ["Redis connect", phases[2] as number],
      ["the consumer's first pull opens", phases[3] as number],
      [`the first meme: fetch, render (${firstResult.renderMs ?? "?"} ms), store, publish`, firstResult.at - start - workerUp],
    ];
    const total = firstResult.at - start;
    const cell = (s: number) => (Number.isFinite(s) ? s.toFixed(2) : "?");
    t.comment(
      [
        `from the first of ${count} messages${watching ? " (the scaling view open in Chromium meanwhile)" : ""}, in s:`,
        ...rows.map(([what, s]) => `  ${what.padEnd(66)} ${cell(s)}`),
        `  ${"first result".padEnd(66)} ${cell(total)}  (goal: polling ${pollingInterval} s + 3 s = ${pollingInterval + 3} s)`,
        `  the pod's own stamps (to the second): created ${cell(at(Date.parse(pod.metadata.creationTimestamp)))}, scheduled ${cell(stamp("PodScheduled"))}, Ready ${cell(stamp("Ready"))} (its readiness probe's period decides)`,
      ].join("\n"),
    );
  } finally {
    await results.close();
  }
}

/**
 * The fallback: the trigger pointed at a consumer that does not exist, KEDA's reads fail, and once
 * more than failureThreshold have failed the backend goes to the fallback replicas (not to max, not
 * stuck where it was); the trigger put back, KEDA reads the lag again. It starts from a backend one
 * message has just woken: the fallback acts through KEDA's HPA, which stands still at 0, and KEDA counts
 * its cooldown from the last read that found the trigger active. A backend idle since an earlier test
 * can reach the end of that cooldown, and KEDA scale it to zero, while the first failed reads are made.
 */
export async function fallbackOnMissingConsumer(t: Test, k: KedaBackend, c: Cluster): Promise<void> {
  const { pollingInterval, cooldownPeriod, fallback, maxReplicaCount } = k.scaled.spec;
  if (!t.ok(fallback, `the ScaledObject has a fallback: ${JSON.stringify(fallback)}`) || !fallback) return;
  if (!t.ok(await k.rest(cooldownPeriod + 120), `the backend rests at ${k.min} replicas with an empty queue`)) return;
  const guide = await k.user("guide");
  guide.publish("meme.request", JSON.stringify({ prompt: "one message before the fallback", fastMode: true }));
  await guide.flush();
  await guide.close();
  const sent = k.watch.mark("1 message");
  const woke = await k.watch.until((s) => s.replicas >= 1, pollingInterval + 30, sent);
  if (!t.ok(woke, `one message wakes the backend ${woke ? `${(woke.at - sent).toFixed(1)} s after it was sent` : "not at all"}`) || !woke) return;
  const ns = k.scaled.metadata.namespace;
  const patch = (consumer: string) => c.kubectl(["patch", "scaledobject", k.scaled.metadata.name, "-n", ns, "--type", "json", "-p", JSON.stringify([{ op: "replace", path: "/spec/triggers/0/metadata/consumer", value: consumer }])]);
  const from = k.watch.last()?.replicas ?? 0;
  const patched = await patch("no-such-consumer");
  if (!t.equal(patched.code, 0, `the trigger now reads the consumer no-such-consumer${patched.code === 0 ? "" : `: ${patched.stderr.trim()}`}`)) return;
  const broke = k.watch.mark("trigger → missing consumer");
  try {
    // KEDA counts a failure each time the HPA asks for the metric (every 15 s, its sync period) and
    // answers with the fallback once the count passes failureThreshold.
    const bound = (fallback.failureThreshold + 2) * 15 + 30;
    const fell = await k.watch.until((s) => s.replicas === fallback.replicas, bound, broke);
    t.ok(fell, `from ${from} the backend went to the fallback's ${fallback.replicas} replicas ${fell ? `${(fell.at - broke).toFixed(0)} s after the trigger broke` : "not"} (more than ${fallback.failureThreshold} failed reads, one per HPA sync; bound ${bound} s)`);
    if (!fell) t.comment(`what happened instead:\n${k.steps(woke.at).join("\n") || `no change from ${from}`}\n${await hpaConditions(c, ns, k.scaled.metadata.name)}`);
    const so = await c.get<ScaledObject>(["scaledobject", k.scaled.metadata.name, "-n", ns]);
    const shown = (type: string) => so.status?.conditions?.find((x) => x.type === type);
    t.equal(shown("Fallback")?.status, "True", `ScaledObject condition Fallback: ${shown("Fallback")?.status} (${shown("Fallback")?.message ?? shown("Fallback")?.reason ?? ""})`);
    t.comment(`Ready: ${shown("Ready")?.status} (${shown("Ready")?.message ?? ""})`);
    // What `meme-generator doctor` says of it: the consumer KEDA reads is missing, as after a deletion.
    const release = so.metadata.labels?.["app.kubernetes.io/instance"] ?? "";
    const checks = await diagnose(new Kube(kubeAccess({ KUBECONFIG: c.plane.kubeconfig })), { release });
    const errors = checks.find((x) => x.name.endsWith(`${k.scaled.metadata.name} scaler errors`));
    t.ok(errors && !errors.ok && /fallback/.test(errors.evidence), `doctor: ${errors?.name}: ${errors?.evidence}`);
    t.match(errors?.fix, /stream and consumer exist/, "with the fix");
    await sleep(3 * pollingInterval * 1000);
    const after = k.watch.samples.filter((s) => s.at >= (fell?.at ?? broke));
    t.ok(after.every((s) => s.replicas === fallback.replicas), `it stays there while the reads fail (${after.length} reads, never ${maxReplicaCount})`);
  } finally {
    const restored = await patch(k.trigger.consumer ?? "");
    t.equal(restored.code, 0, `the trigger reads ${k.trigger.consumer} again`);
    k.watch.mark("trigger restored");
  }
  const healthy = await k.watch.until((s) => !s.fallback && !Number.isNaN(s.lag), 3 * pollingInterval + 30);
  t.ok(healthy, "KEDA leaves the fallback once it reads the lag again");
}

/** The conditions of the HPA KEDA made for a ScaledObject, and the ScaledObject's recent events: what a failed wait prints. */
async function hpaConditions(c: Cluster, ns: string, scaledObject: string): Promise<string> {
  const so = await c.get<ScaledObject>(["scaledobject", scaledObject, "-n", ns]).catch(() => undefined);
  const hpa = so?.status?.hpaName ? await c.get<{ status: { currentReplicas?: number; desiredReplicas?: number; conditions?: Condition[] } }>(["hpa", so.status.hpaName, "-n", ns]).catch(() => undefined) : undefined;
  const events = await c.kubectl(["get", "events", "-n", ns, "--field-selector", `involvedObject.name=${scaledObject}`, "-o", "custom-columns=LAST:.lastTimestamp,REASON:.reason,MESSAGE:.message", "--sort-by=.lastTimestamp"]);
  return [
    `HPA ${so?.status?.hpaName ?? "?"}: current ${hpa?.status.currentReplicas ?? "?"}, desired ${hpa?.status.desiredReplicas ?? "?"}`,
    ...(hpa?.status.conditions ?? []).map((x) => `  ${x.type} ${x.status} ${x.reason ?? ""}: ${x.message ?? ""}`),
    `ScaledObject ${scaledObject}: ${(so?.status?.conditions ?? []).map((x) => `${x.type} ${x.status}`).join(", ")}`,
    `its events:\n${events.stdout.trim().split("\n").slice(-10).join("\n")}`,
  ].join("\n");
}

/**
 * A clustered NATS: the stream and the consumer on three servers, each follower current. Full-size
 * memes, `chunk` a second while the backend runs at its fewest, until KEDA has begun the scale-out (at
 * most `most`): how fast one worker drains them depends on the machine, and one run's worker drained
 * a burst of 400 before the HPA's next sync. Once KEDA has begun the scale-out, the ops user
 * moves the consumer's leadership to another server (`nats consumer cluster step-down`, which sends
 * $JS.API.CONSUMER.LEADER.STEPDOWN). KEDA goes on reading the lag, now from the new leader, never
 * falls back, and the workers go on pulling: every meme is done.
 */
export async function stepDownMidScaleOut(t: Test, k: KedaBackend, chunk: number, most: number): Promise<void> {
  const { pollingInterval, maxReplicaCount, cooldownPeriod } = k.scaled.spec;
  const [stream, consumer] = [k.trigger.stream ?? "", k.trigger.consumer ?? ""];
  const nc = await k.user("frontend");
  const results = await k.results();
  try {
    const jsm = await jetstreamManager(nc);
    const peers = (c: ClusterInfo | undefined) => `leader ${c?.leader}, followers ${(c?.replicas ?? []).map((r) => `${r.name} (${r.current && !r.offline ? "current" : "behind"})`).join(", ")}`;
    const followersCurrent = (c: ClusterInfo | undefined) => c?.replicas?.length === 2 && c.replicas.every((r) => r.current && !r.offline);
    const [si, ci] = await Promise.all([jsm.streams.info(stream), jsm.consumers.info(stream, consumer)]);
    t.ok(si.config.num_replicas === 3 && followersCurrent(si.cluster), `stream ${stream}: ${si.config.num_replicas} replicas, ${peers(si.cluster)}`);
    t.ok(followersCurrent(ci.cluster), `consumer ${consumer}: ${peers(ci.cluster)}`);
    if (!t.ok(await k.rest(cooldownPeriod + 120), `the backend rests at ${k.min} replicas with an empty queue`)) return;

    const guide = await k.user("guide");
    const start = k.watch.mark(`${chunk} messages a second`);
    const deadline = Date.now() + (pollingInterval + 60) * 1000;
    const scaling = (s: { replicas: number }) => s.replicas > k.min;
    let count = 0;
    let out: Awaited<ReturnType<typeof k.watch.until>>;
    do {
      for (let i = 0; i < chunk; i++) guide.publish("meme.request", JSON.stringify({ prompt: `step-down ${count++}`, fastMode: false }));
      await guide.flush();
      out = await k.watch.until(scaling, 1, start);
    } while (!out && count < most && Date.now() < deadline);
    await guide.close();
    k.watch.mark(`${count} sent`);
    out ??= await k.watch.until(scaling, Math.max(0, (deadline - Date.now()) / 1000), start);
    if (!t.ok(out, `KEDA began the scale-out ${out ? `${(out.at - start).toFixed(1)} s after the first message (${k.min} → ${out.replicas}), ${count} messages sent by then, ${chunk} a second` : `not (${count} messages sent, ${chunk} a second)`}`)) return;

    const before = (await jsm.consumers.info(stream, consumer)).cluster?.leader;
    const down = await k.nats("ops", ["consumer", "cluster", "step-down", stream, consumer]);
    const stepped = k.watch.mark("consumer leader steps down");
    let leader = before;
    await eventually(async () => (leader = (await jsm.consumers.info(stream, consumer)).cluster?.leader ?? before) !== before, { timeout: 30_000, interval: 500 }).catch(() => undefined);
    t.ok(down.code === 0 && leader !== before, `as the ops user, nats consumer cluster step-down ${stream} ${consumer} during the scale-out: the leader moved from ${before} to ${leader}${down.code === 0 ? "" : `: ${down.output}`}`);
    // KEDA's metrics API asks the operator, which asks each server by name and takes the leader's lag.
    const read = await k.externalMetric();
    t.ok(read.value !== undefined && read.value >= 0 && read.value <= count, `after the step-down KEDA's external metric answers from the new leader: lag ${read.value ?? read.error}`);

    await results.wait("step-down ", count, 300);
    // By prompt: a request published without an id (as the guide's nats pub sends it) gets a new id at
    // each delivery, and one whose acknowledgement the step-down lost is delivered, and answered, again;
    // such a second answer counts toward the wait's count, so the prompts not yet answered get a while more.
    await eventually(() => new Set(results.of("step-down ").map((r) => r.prompt)).size >= count, { timeout: 60_000, interval: 250 }).catch(() => undefined);
    const mine = results.of("step-down ");
    const done = [...new Set(mine.filter((r) => r.status === "done").map((r) => r.prompt))];
    const twice = mine.length - new Set(mine.map((r) => r.prompt)).size;
    const gap = mine.filter((r) => r.at >= stepped).reduce((g, r, i, a) => Math.max(g, r.at - (i === 0 ? stepped : (a[i - 1] as Arrived).at)), 0);
    const failed = mine.filter((r) => r.status !== "done").map((r) => `${r.prompt}: ${r.error ?? r.status}`);
    if (done.length < count) {
      // Where the missing ones are: still queued or held by a worker, or gone from the queue unanswered.
      const seen = new Set(mine.map((r) => r.prompt));
      const missing = Array.from({ length: count }, (_, i) => `step-down ${i}`).filter((p) => !seen.has(p));
      const info = await jsm.consumers.info(stream, consumer).catch((e: Error) => e.message);
      const state = typeof info === "string" ? info : `pending ${info.num_pending}, ack pending ${info.num_ack_pending}, redelivered ${info.num_redelivered}, delivered stream seq ${info.delivered.stream_seq}, ack floor ${info.ack_floor.stream_seq}, leader ${info.cluster?.leader}`;
      t.comment(`missing (${missing.length}): ${missing.slice(0, 20).join(", ")}; consumer: ${state}`);
    }
    t.equal(done.length, count, `all ${count} memes are done, the last ${((mine.at(-1)?.at ?? start) - start).toFixed(1)} s after the first message (the longest wait for a result after the step-down: ${gap.toFixed(1)} s; ${mine.length} results, ${count - done.length} missing${twice > 0 ? `, ${twice} answered twice after a redelivery` : ""}${failed.length > 0 ? `, failed: ${failed.slice(0, 10).join("; ")}` : ""})`);
    const after = k.watch.samples.filter((s) => s.at >= stepped);
    t.ok(after.every((s) => !s.fallback), `KEDA never fell back after the step-down (${after.length} reads)`);
    const peak = Math.max(...k.watch.samples.filter((s) => s.at >= start).map((s) => s.replicas));
    const asked = Math.min(maxReplicaCount, Math.ceil(count / k.lagThreshold));
    t.ok(peak > k.min && peak <= asked, `the workers rose to ${peak}, never above min(maxReplicaCount ${maxReplicaCount}, ceil(${count} / ${k.lagThreshold})) = ${asked}`);
    t.comment(`steps:\n${k.steps(start).join("\n")}`);
  } finally {
    await results.close();
    await nc.close();
  }
}
