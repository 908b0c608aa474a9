// The guide's autoscaling tests on the real node, driven by its own commands: `hey` through
// `kubectl port-forward` scales the frontend on real CPU, a CPU loop inside one frontend pod does the
// same (Method 2), and `redis-benchmark` feeds the Redis VPA, whose updater evicts Redis and whose
// admission controller gives the new pod the recommended requests. Each run is sampled, checked step
// by step against the autoscaler's own rules, and drawn as CSV and SVG under .artifacts/e2e/.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Test } from "tap";
import { repoPath } from "../../generator/schema.js";
import type { Cluster } from "../e2e/cluster.js";
import { runCommand } from "../e2e/controlplane.js";
import { asked, benchmarkRates, checkSteps, gate, heySummary, mebibytes, millicores, steps, type Behavior, type HpaSample } from "./scaling-rules.js";
import { Sampler } from "./sampler.js";
import { portForward } from "./traffic.js";
import { stepChart, type Series } from "../e2e/plot.js";
import { eventually } from "../harness/eventually.js";

export const artifacts = repoPath(".artifacts/e2e");

type Metric = { type: string; resource?: { name: string; current: { averageUtilization?: number } } };
export type HpaObject = {
  spec: { minReplicas: number; maxReplicas: number; metrics: { resource?: { name: string; target: { averageUtilization?: number } } }[]; behavior: Behavior };
  status: { currentReplicas?: number; desiredReplicas?: number; currentMetrics?: Metric[] };
};

/** The utilisation of a resource metric the HPA last read, in percent of the pods' requests. */
export const utilization = (hpa: HpaObject | undefined, name: string) => hpa?.status.currentMetrics?.find((m) => m.resource?.name === name)?.resource?.current.averageUtilization;

/** The HPA's targets by metric name (cpu, memory), as rendered. */
export async function hpaTargets(c: Cluster, name: string, namespace: string): Promise<{ targets: Record<string, number>; behavior: Behavior; min: number; max: number }> {
  const hpa = await c.get<HpaObject>(["hpa", name, "-n", namespace]);
  const targets: Record<string, number> = {};
  for (const m of hpa.spec.metrics) if (m.resource?.target.averageUtilization !== undefined) targets[m.resource.name] = m.resource.target.averageUtilization;
  return { targets, behavior: hpa.spec.behavior, min: hpa.spec.minReplicas, max: hpa.spec.maxReplicas };
}

/**
 * Samples an HPA every `everyMs` until stopped: the Deployment's replicas (what the HPA set), the
 * HPA's desired count, and the CPU and memory utilisation it read.
 */
export class HpaWatch extends Sampler<Omit<HpaSample, "at">> {
  constructor(c: Cluster, hpa: string, deployment: string, namespace: string, everyMs = 2000) {
    super(async () => {
      const [h, d] = await Promise.all([c.get<HpaObject>(["hpa", hpa, "-n", namespace]), c.get<{ spec: { replicas: number } }>(["deployment", deployment, "-n", namespace])]);
      return { replicas: d.spec.replicas, desired: h.status.desiredReplicas ?? 0, cpu: utilization(h, "cpu"), memory: utilization(h, "memory") };
    }, everyMs);
  }
}

/** Writes an HPA run as CSV and SVG under .artifacts/e2e/; returns the files' names. */
export function drawHpa(file: string, title: string, watch: HpaWatch, targets: Record<string, number>): string[] {
  mkdirSync(artifacts, { recursive: true });
  const csv = ["seconds,replicas,desired,cpu_percent,memory_percent", ...watch.samples.map((s) => `${s.at.toFixed(1)},${s.replicas},${s.desired},${s.cpu ?? ""},${s.memory ?? ""}`)].join("\n");
  writeFileSync(join(artifacts, `${file}.csv`), `${csv}\n`);
  const series: Series[] = [
    { name: "replicas", colour: "#1f6feb", points: watch.samples.map((s) => [s.at, s.replicas]) },
    { name: `CPU % of request (target ${targets.cpu ?? "-"})`, colour: "#d1242f", right: true, points: watch.samples.filter((s) => s.cpu !== undefined).map((s) => [s.at, s.cpu as number]) },
    { name: `memory % of request (target ${targets.memory ?? "-"})`, colour: "#8250df", right: true, points: watch.samples.filter((s) => s.memory !== undefined).map((s) => [s.at, s.memory as number]) },
  ];
  writeFileSync(join(artifacts, `${file}.svg`), stepChart(title, series, watch.marks, { left: "replicas", right: "% of request" }));
  return [`${file}.csv`, `${file}.svg`];
}

/** A command to its end, its output kept; killed at `timeoutMs`. */
const run = (file: string, args: string[], timeoutMs: number) => runCommand(file, args, {}, undefined, timeoutMs);

const frontend = { hpa: "meme-generator-frontend-hpa", deployment: "meme-generator-frontend", service: "meme-generator-frontend", namespace: "meme-generator", label: "app=meme-generator-frontend" } as const;

/**
 * The guide's Method 1: `hey -z <load> -c 50` through `kubectl port-forward` to the frontend Service
 * (which reaches one pod: port-forward picks a pod and stays with it), the HPA sampled from rest to
 * the top and back to rest, every step checked against the behaviour block and explained by the
 * metric that asked for it.
 */
/**
 * `atMax` runs while the load goes on and the HPA holds the frontend at maxReplicas (the scaling view's
 * check), and must end before the load does: a browser reading the page then changes no decision (the
 * CPU is far above its target and the count capped), where during the scale-down its requests to the
 * frontend would raise the use the HPA measures.
 */
export async function heyScalesFrontend(t: Test, c: Cluster, loadSeconds: number, atMax?: () => Promise<void>): Promise<void> {
  const { targets, behavior, min, max } = await hpaTargets(c, frontend.hpa, frontend.namespace);
  t.comment(`${frontend.hpa}: ${min}–${max} replicas, targets ${JSON.stringify(targets)}, behavior ${JSON.stringify(behavior)}`);
  const watch = new HpaWatch(c, frontend.hpa, frontend.deployment, frontend.namespace);
  try {
    const rest = await watch.until((s) => s.replicas === min && s.cpu !== undefined && s.cpu < (targets.cpu ?? 0), 180);
    const atRest = watch.last();
    if (!t.ok(rest, `at rest: ${atRest?.replicas} replica(s), CPU ${atRest?.cpu}% and memory ${atRest?.memory}% of requests`)) return;
    const port = await portForward(t, c, `svc/${frontend.service}`, frontend.namespace, 80);
    const start = watch.mark("hey starts");
    const load = run("hey", ["-z", `${loadSeconds}s`, "-c", "50", `http://127.0.0.1:${port}/`], (loadSeconds + 60) * 1000);
    // Once at max (or, failing that, 30 s before the load ends).
    const meanwhile = atMax
      ? (async () => {
          const capped = await watch.until((s) => s.replicas === max, loadSeconds - 30, start);
          if (!capped) t.comment(`not at maxReplicas ${max} ${loadSeconds - 30} s into the load: the page is read at ${watch.last()?.replicas} replicas`);
          const from = watch.mark("scaling view read");
          await atMax();
          t.ok(watch.now() < start + loadSeconds, `the page was read under the load, in ${(watch.now() - from).toFixed(0)} s`);
        })().catch((error: unknown) => t.fail(`the scaling view under the load: ${String(error)}`))
      : undefined;
    const hey = await load;
    await meanwhile;
    const end = watch.mark("hey ends");
    const summary = heySummary(hey.stdout);
    t.ok(hey.code === 0 && (summary.statuses["200"] ?? 0) > 0, `hey -z ${loadSeconds}s -c 50 through port-forward: ${summary.rps} requests/s, status codes ${JSON.stringify(summary.statuses)}`);
    const loaded = watch.samples.filter((s) => s.at >= start && s.at <= end + 2);
    const firstRise = loaded.find((s) => s.replicas > min);
    t.ok(firstRise && firstRise.at - start <= 60, `the first scale-up came ${firstRise ? (firstRise.at - start).toFixed(0) : "never"} s after the load began (no up-scale window: the metric's resolution and the HPA's 15 s sync are the wait)`);
    const peak = Math.max(...loaded.map((s) => s.replicas));
    t.equal(peak, max, `the load took the frontend to maxReplicas ${max}`);
    // Back to rest: the HPA scales down to the highest count it recommended within the window, so each
    // lower count a metric asks for (memory can ask for more than CPU) may wait a whole window again,
    // then a period per step.
    const down = behavior.scaleDown;
    const longest = Math.max(...down.policies.map((p) => p.periodSeconds));
    const budget = (max - min) * (down.stabilizationWindowSeconds + longest) + 120;
    // At rest: at min, or at a count the metrics ask for themselves, held for a window and a period
    // since the last change or the load's end, whichever came later (an idle pod's use depends on the
    // machine: above half the CPU target, two pods ask for two).
    const hold = down.stabilizationWindowSeconds + longest + 30;
    const changedAt = (s: { at: number; replicas: number }) => {
      const before = watch.samples.filter((x) => x.at < s.at);
      const other = before.findLastIndex((x) => x.replicas !== s.replicas);
      return Math.max(before[other + 1]?.at ?? start, end);
    };
    const back = await watch.until((s) => s.at > end && (s.replicas === min || (s.at - changedAt(s) >= hold && asked(s, targets, min, max) >= s.replicas)), budget + hold);
    const rested = back?.replicas ?? watch.last()?.replicas;
    const backAt = watch.mark(`at rest: ${rested}`);
    const why = back && back.replicas > min ? `: at ${back.replicas} the metrics ask for ${asked(back, targets, min, max)} (CPU ${back.cpu}% of ${targets.cpu}%, memory ${back.memory}% of ${targets.memory}%; ceil(replicas × use / target)), so the HPA rests there` : "";
    t.ok(back && back.replicas < max, `from ${max} down to ${rested} replica(s) ${(backAt - end).toFixed(0)} s after the load ended (at most ${budget} s allowed)${why}`);
    await watch.stop();
    checkSteps(t, watch.samples, behavior, end, 3);
    const explained = steps(watch.samples).map((s) => gate(s, targets));
    t.comment(`each step and the metric that asked for it:\n${explained.join("\n")}`);
    const files = drawHpa("hpa-frontend-hey", `Frontend HPA under hey -z ${loadSeconds}s -c 50 through port-forward (one pod takes the load)`, watch, targets);
    t.comment(`written: ${files.map((f) => `.artifacts/e2e/${f}`).join(", ")}`);
  } finally {
    await watch.stop();
  }
}

/** The CPU a pod uses now, from the resource metrics API, in millicores. */
async function podCpu(c: Cluster, namespace: string, pod: string): Promise<number | undefined> {
  const read = await c.kubectl(["get", "--raw", `/apis/metrics.k8s.io/v1beta1/namespaces/${namespace}/pods/${pod}`]);
  if (read.code !== 0) return undefined;
  const body = JSON.parse(read.stdout) as { containers: { usage: { cpu: string } }[] };
  return body.containers.reduce((sum, ctr) => sum + millicores(ctr.usage.cpu), 0);
}

type FrontendPod = { metadata: { name: string; deletionTimestamp?: string }; status: { conditions?: { type: string; status: string }[] } };

/**
 * A pod of `label` that is Ready and not on its way out (after a scale-down the list still holds
 * pods in their grace period, where an exec ends with the container), waiting up to two minutes.
 */
async function servingPod(c: Cluster, namespace: string, label: string): Promise<string | undefined> {
  return eventually(
    async () => {
      const pods = (await c.get<{ items: FrontendPod[] }>(["pods", "-n", namespace, "-l", label])).items;
      return pods.find((p) => !p.metadata.deletionTimestamp && p.status.conditions?.some((k) => k.type === "Ready" && k.status === "True"))?.metadata.name;
    },
    { timeout: 120_000, interval: 1000 },
  ).catch(() => undefined);
}

/**
 * The guide's Method 2: its CPU loop in one frontend pod, given a deadline inside the shell so it ends
 * by itself. The replicas rise while it runs, and the pod's CPU falls once it has ended.
 */
export async function loopScalesFrontend(t: Test, c: Cluster, loopSeconds: number): Promise<void> {
  const { targets, min } = await hpaTargets(c, frontend.hpa, frontend.namespace);
  const pod = await servingPod(c, frontend.namespace, frontend.label);
  t.ok(pod, `FRONTEND_POD=${pod}`);
  if (!pod) return;
  const watch = new HpaWatch(c, frontend.hpa, frontend.deployment, frontend.namespace);
  try {
    // The guide's `while true; do :; done`, checking the clock every few thousand rounds.
    const loop = `end=$(( $(date +%s) + ${loopSeconds} )); while [ "$(date +%s)" -lt "$end" ]; do i=0; while [ $i -lt 5000 ]; do i=$((i+1)); done; done; echo looped`;
    const start = watch.mark("loop starts");
    const looped = c.kubectl(["exec", pod, "-n", frontend.namespace, "--", "sh", "-c", loop]);
    let busy: number | undefined;
    await eventually(async () => ((busy = await podCpu(c, frontend.namespace, pod)) ?? 0) > 50, { timeout: loopSeconds * 1000, interval: 5000 }).catch(() => undefined);
    const result = await looped;
    const end = watch.mark("loop ends");
    t.equal(result.stdout.trim(), "looped", `the loop ended by itself after ${(end - start).toFixed(0)} s`, { stderr: result.stderr.trim() });
    const rose = watch.samples.some((s) => s.at >= start && s.replicas > min);
    const peak = Math.max(...watch.samples.filter((s) => s.at >= start).map((s) => s.replicas));
    t.ok(rose, `the replicas rose while it ran (${min} → ${peak})`);
    t.ok(busy !== undefined && busy > 50, `the pod used ${busy?.toFixed(0)}m CPU while looping`);
    let after: number | undefined;
    await eventually(
      async () => {
        after = await podCpu(c, frontend.namespace, pod);
        return after !== undefined && busy !== undefined && after < busy / 2;
      },
      { timeout: 120_000, interval: 5000 },
    ).catch(() => undefined);
    watch.mark("CPU down");
    t.ok(after !== undefined && busy !== undefined && after < busy / 2, `its CPU fell once the loop ended: ${busy?.toFixed(0)}m → ${after?.toFixed(0)}m`);
    await watch.stop();
    t.comment(`steps:\n${steps(watch.samples).map((s) => gate(s, targets)).join("\n")}`);
    const files = drawHpa("hpa-frontend-loop", `Frontend HPA under a ${loopSeconds} s CPU loop in one pod (the guide's Method 2)`, watch, targets);
    t.comment(`written: ${files.map((f) => `.artifacts/e2e/${f}`).join(", ")}`);
  } finally {
    await watch.stop();
  }
}

type Resources = { cpu?: string; memory?: string };
type Recommendation = { containerName: string; target: Resources; lowerBound: Resources; upperBound: Resources; uncappedTarget: Resources };
type Vpa = {
  spec: { resourcePolicy: { containerPolicies: { containerName: string; minAllowed?: Resources; maxAllowed?: Resources }[] } };
  status?: { recommendation?: { containerRecommendations?: Recommendation[] } };
};
type RedisPod = {
  metadata: { uid: string; creationTimestamp: string; annotations?: Record<string, string> };
  spec: { containers: { name: string; resources: { requests?: Resources } }[] };
  status: { conditions?: { type: string; status: string }[] };
};

/** One look at Redis under its VPA: the container's requests and use, and the recommendation (CPU in millicores, memory in MiB). */
export interface VpaSample {
  at: number;
  pod: string;
  request: { cpu: number; memory: number };
  usage?: { cpu: number; memory: number };
  target?: { cpu: number; memory: number };
  lower?: { cpu: number; memory: number };
  upper?: { cpu: number; memory: number };
}

const pair = (r: Resources | undefined) => (r?.cpu && r.memory ? { cpu: millicores(r.cpu), memory: mebibytes(r.memory) } : undefined);
const outside = (s: VpaSample) => !!(s.lower && s.upper && (["cpu", "memory"] as const).some((k) => s.request[k] < (s.lower?.[k] ?? 0) || s.request[k] > (s.upper?.[k] ?? Infinity)));
const show = (r: { cpu: number; memory: number } | undefined) => (r ? `${r.cpu.toFixed(0)}m/${r.memory.toFixed(0)}Mi` : "none");

export interface VpaRedis {
  /** The seconds between the recommender's reads, and between the updater's passes. */
  intervalSeconds: number;
  /** redis-benchmark's -n. */
  requests: number;
  /** Starts the updater; returns a function that stops it. */
  startUpdater: () => Promise<() => Promise<void>>;
  /** Memes through the frontend while the updater evicts Redis (the paced stream) until `stop`; resolves to its report. */
  during: (stop: AbortSignal) => Promise<{ ok: boolean; report: string }>;
  /** Checks of the scaling view: once Redis's requests lie outside the bounds, before the updater starts; once the new pod is Ready. */
  view?: { outside: (t: Test) => Promise<void>; replaced: (t: Test) => Promise<void> };
}

/** The guide's Redis VPA test in its two parts, over one sampler of Redis's requests, use and recommendation. */
export interface RedisVpaRun {
  /**
   * `redis-benchmark -n <requests> -c 50` through `kubectl port-forward` to the Redis Service with the
   * password NOTES prints; the recommendation rises, read back as `kubectl describe vpa` shows it, inside
   * minAllowed/maxAllowed. Resolves to whether the eviction part can follow.
   */
  benchmark(t: Test): Promise<boolean>;
  /**
   * With the updater running, Redis is evicted if its requests lie outside the recommended bounds
   * (otherwise the test deletes the pod and says so), memes keep flowing meanwhile, and the admission
   * controller gives the new pod the target.
   */
  evict(t: Test): Promise<void>;
  /** Stops the sampler and the updater; draws the run. */
  close(t: Test): Promise<void>;
}

export async function redisVpaRun(t: Test, c: Cluster, password: string, options: VpaRedis): Promise<RedisVpaRun | undefined> {
  const [ns, name, container, podName] = ["cache", "redis-vpa", "redis", "redis-0"];
  const vpa = await c.get<Vpa>(["vpa", name, "-n", ns]);
  const policy = vpa.spec.resourcePolicy.containerPolicies.find((p) => p.containerName === container);
  const [min, max] = [pair(policy?.minAllowed), pair(policy?.maxAllowed)];
  if (!t.ok(min && max, `${ns}/${name} bounds the ${container} container: minAllowed ${show(min)}, maxAllowed ${show(max)}`) || !min || !max) return undefined;
  const watch = new Sampler<Omit<VpaSample, "at">>(async () => {
    const [v, pod, usage] = await Promise.all([
      c.get<Vpa>(["vpa", name, "-n", ns]),
      c.get<RedisPod>(["pod", podName, "-n", ns]),
      c.kubectl(["get", "--raw", `/apis/metrics.k8s.io/v1beta1/namespaces/${ns}/pods/${podName}`]),
    ]);
    const rec = v.status?.recommendation?.containerRecommendations?.find((r) => r.containerName === container);
    const used = usage.code === 0 ? (JSON.parse(usage.stdout) as { containers: { name: string; usage: Resources }[] }).containers.find((x) => x.name === container)?.usage : undefined;
    const request = pair(pod.spec.containers.find((x) => x.name === container)?.resources.requests);
    return request && { pod: pod.metadata.uid, request, usage: pair(used), target: pair(rec?.target), lower: pair(rec?.lowerBound), upper: pair(rec?.upperBound) };
  }, 2000);
  const { samples, marks } = watch;
  let stopUpdater: (() => Promise<void>) | undefined;
  /** The pod the recommendation rose under. */
  let redis: string | undefined;
  return {
    async benchmark(t) {
      const first = await watch.until((s) => s.target !== undefined, 120);
      t.ok(first, `a first recommendation ${first?.at.toFixed(0)} s in: target ${show(first?.target)} (requests ${show(first?.request)})`);

      const port = await portForward(t, c, "svc/redis", ns, 6379);
      const benchStart = watch.mark("redis-benchmark starts");
      const bench = await run("redis-benchmark", ["-h", "127.0.0.1", "-p", String(port), "-a", password, "-n", String(options.requests), "-c", "50", "-q"], 900_000);
      const benchEnd = watch.mark("redis-benchmark ends");
      const rates = benchmarkRates(bench.stdout);
      const shown = Object.entries(rates).map(([test, rate]) => `${test} ${Math.round(rate)}/s`);
      t.ok(bench.code === 0 && shown.length > 0, `redis-benchmark -n ${options.requests} -c 50 through port-forward in ${(benchEnd - benchStart).toFixed(0)} s: ${shown.join(", ") || bench.stderr.trim() || bench.stdout.trim()}`);

      // The benchmark's load in the recommendation: the recommender reads the metrics API every interval,
      // which metrics-server refreshes every 10 s from the kubelet's own window; two reads and those are the bound.
      const before = samples.filter((s) => s.at <= benchStart).at(-1);
      const rose = (s: VpaSample) => !!(s.target && s.upper && before?.target && before.upper && (s.target.cpu > before.target.cpu || s.upper.cpu > before.upper.cpu));
      const bound = 2 * options.intervalSeconds + 30;
      const fresh = await watch.until(rose, bound, benchStart);
      const describe = await c.kubectl(["describe", "vpa", name, "-n", ns]);
      t.comment(`kubectl describe vpa ${name} -n ${ns} (its recommendation):\n${describe.stdout.slice(describe.stdout.indexOf("Recommendation:")).trim()}`);
      const moved = fresh ? Math.max(0, fresh.at - benchEnd) : undefined;
      if (!t.ok(fresh?.target && fresh.lower && fresh.upper && (moved ?? Infinity) <= bound, `the CPU recommendation rose with the benchmark (${fresh ? `${moved?.toFixed(0)} s after it ended; bound ${bound} s` : "not"}): from target ${show(before?.target)} bounds ${show(before?.lower)} … ${show(before?.upper)} to target ${show(fresh?.target)} bounds ${show(fresh?.lower)} … ${show(fresh?.upper)}`) || !fresh?.target || !fresh.lower || !fresh.upper) return false;
      for (const k of ["cpu", "memory"] as const) {
        const unit = k === "cpu" ? "m" : "Mi";
        t.ok(fresh.target[k] >= min[k] && fresh.target[k] <= max[k], `${k}: target ${fresh.target[k].toFixed(0)}${unit} inside minAllowed ${min[k]}${unit} … maxAllowed ${max[k]}${unit}`);
        t.ok(fresh.lower[k] <= fresh.target[k] && fresh.target[k] <= fresh.upper[k], `${k}: lower bound ${fresh.lower[k].toFixed(0)} ≤ target ≤ upper bound ${fresh.upper[k].toFixed(0)}`);
      }
      redis = fresh.pod;
      return true;
    },

    async evict(t) {
      if (!t.ok(redis, "the recommendation rose under the benchmark first")) return;
      // The updater, and memes through the frontend while it acts.
      const out = await watch.until(outside, 60);
      const stopTraffic = new AbortController();
      const traffic = options.during(stopTraffic.signal);
      if (out) await options.view?.outside(t);
      stopUpdater = await options.startUpdater();
      watch.mark("updater starts");
      let replaced = await watch.until((s) => s.pod !== redis, 6 * options.intervalSeconds + 60);
      if (out) {
        t.ok(replaced, `requests ${show(out.request)} lay outside the bounds ${show(out.lower)} … ${show(out.upper)}: the updater evicted ${podName} (${replaced ? `${(replaced.at - (marks.at(-1)?.at ?? 0)).toFixed(0)} s after it started` : "not"})`);
      } else {
        t.comment(`requests ${show(samples.at(-1)?.request)} lie inside the bounds ${show(samples.at(-1)?.lower)} … ${show(samples.at(-1)?.upper)}: the updater leaves ${podName} alone, so the test deletes it`);
        await c.kubectl(["delete", "pod", podName, "-n", ns, "--wait=false"]);
        replaced = await watch.until((s) => s.pod !== redis, 120);
      }
      if (replaced) watch.mark(`${podName} recreated`);
      const evictions = await c.kubectl(["get", "events", "-n", ns, "--field-selector", `involvedObject.name=${podName},reason=EvictedByVPA`, "-o", "jsonpath={.items[*].message}"]);
      if (out) t.match(evictions.stdout, /VPA/i, `the event the updater left: ${evictions.stdout.trim()}`);
      let pod: RedisPod | undefined;
      for (let i = 0; i < 120 && !pod?.status.conditions?.some((x) => x.type === "Ready" && x.status === "True"); i++) {
        pod = await c.get<RedisPod>(["pod", podName, "-n", ns]).catch(() => undefined);
        await sleep(1000);
      }
      watch.mark(`${podName} Ready`);
      if (out && replaced) await options.view?.replaced(t);
      // Memes go on for 10 s against the new Redis, then stop.
      setTimeout(() => stopTraffic.abort(), 10_000);
      const requests = pair(pod?.spec.containers.find((x) => x.name === container)?.resources.requests);
      // What the admission controller wrote is the target at the pod's creation.
      const created = (Date.parse(pod?.metadata.creationTimestamp ?? "") - watch.t0) / 1000;
      const targets = samples.filter((s) => s.target && s.at >= created - 2 * options.intervalSeconds - 5 && s.at <= created + 5).map((s) => s.target as { cpu: number; memory: number });
      const match = targets.find((x) => requests && Math.abs(x.cpu - requests.cpu) < 1 && Math.abs(x.memory - requests.memory) < 1);
      t.ok(match, `the new pod's requests ${show(requests)} are the recommendation's target at its creation (${[...new Set(targets.map(show))].join(" or ")})`);
      t.match(pod?.metadata.annotations?.vpaUpdates ?? "", /redis-vpa/, `the admission controller says so on the pod: ${pod?.metadata.annotations?.vpaUpdates}`);
      const { ok, report } = await traffic;
      t.ok(ok, `no meme lost across the recreate: ${report}`);
    },

    async close(t) {
      await watch.stop();
      await stopUpdater?.();
      if (samples.length === 0) return;
      mkdirSync(artifacts, { recursive: true });
      const cols = (r: { cpu: number; memory: number } | undefined) => (r ? [r.cpu.toFixed(1), r.memory.toFixed(1)] : ["", ""]);
      const csv = [
        "seconds,request_cpu_m,request_memory_mi,usage_cpu_m,usage_memory_mi,target_cpu_m,target_memory_mi,lower_cpu_m,lower_memory_mi,upper_cpu_m,upper_memory_mi",
        ...samples.map((s) => [s.at.toFixed(1), ...cols(s.request), ...cols(s.usage), ...cols(s.target), ...cols(s.lower), ...cols(s.upper)].join(",")),
      ].join("\n");
      writeFileSync(join(artifacts, "vpa-redis.csv"), `${csv}\n`);
      const line = (label: string, colour: string, k: "cpu" | "memory", pick: (s: VpaSample) => { cpu: number; memory: number } | undefined): Series => ({
        name: label,
        colour,
        points: samples.filter((s) => pick(s)).map((s) => [s.at, (pick(s) as { cpu: number; memory: number })[k]]),
      });
      for (const [k, unit] of [["memory", "MiB"], ["cpu", "millicores"]] as const) {
        const series = [
          line("request", "#1f6feb", k, (s) => s.request),
          line("recommended target", "#1a7f37", k, (s) => s.target),
          line("upper bound", "#9a6700", k, (s) => s.upper),
          line("lower bound", "#bf8700", k, (s) => s.lower),
          line("used", "#d1242f", k, (s) => s.usage),
        ];
        writeFileSync(join(artifacts, `vpa-redis-${k}.svg`), stepChart(`Redis ${k} under its VPA (minAllowed ${k === "cpu" ? `${min?.cpu}m` : `${min?.memory}Mi`}, maxAllowed ${k === "cpu" ? `${max?.cpu}m` : `${max?.memory}Mi`})`, series, marks, { left: unit, right: "" }));
      }
      t.comment("written: .artifacts/e2e/vpa-redis.csv, .artifacts/e2e/vpa-redis-memory.svg, .artifacts/e2e/vpa-redis-cpu.svg");
    },
  };
}
