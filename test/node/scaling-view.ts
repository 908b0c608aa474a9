// The web UI's scaling view on the real node: the demo's frontend watches its HPA, the ScaledObject
// and KEDA's HPA, and the Redis VPA through the API server with its own ServiceAccount (its Roles,
// its token, its egress policy to the API server), and each lane's numbers are those the objects'
// status holds when the test reads them itself; the explanation lines are the ones the test computes
// from the same objects. Chromium then shows the page from the Service at desktop and phone size.
// While the autoscalers act, a page is read mid-scale and closed: the backend lane during a burst from
// zero (opened before its first message; KEDA active, workers starting, a lag left), the frontend lane
// while hey holds the frontend at maxReplicas (its arithmetic the test's own from the HPA's status),
// the Redis lane as the VPA's updater is about to evict Redis and once the new pod is Ready.
import { mkdirSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import type { Test } from "tap";
import { repoPath } from "../../generator/schema.js";
import { backendLane, behaviorOf, formatResource, redisLane, resourceReadings, type Hpa, type Lane, type Pod, type ScaledObject, type ScalingState, type Vpa } from "../../src/frontend/lanes.js";
import type { ScalingUpdate } from "../../src/frontend/scaling.js";
import { hpaDecision, vpaDecision } from "../../src/shared/autoscaling.js";
import { cpuCores, memoryBytes } from "../../src/shared/quantity.js";
import { Kube, kubeAccess } from "../../src/shared/kube.js";
import type { Cluster } from "../e2e/cluster.js";
import { eventually } from "../harness/eventually.js";

const shots = repoPath(".artifacts/e2e");
const fact = (lane: Lane | undefined, label: string) => lane?.facts.find((f) => f.label === label)?.value;

/** The objects as the test reads them, and the lanes' numbers that must equal them. */
async function expected(kube: Kube) {
  const hpa = await kube.get<Hpa>("/apis/autoscaling/v2/namespaces/meme-generator/horizontalpodautoscalers/meme-generator-frontend-hpa");
  const so = await kube.get<ScaledObject>("/apis/keda.sh/v1alpha1/namespaces/meme-generator/scaledobjects/meme-generator-backend-scaler");
  const kedaHpa = await kube.find<Hpa>(`/apis/autoscaling/v2/namespaces/meme-generator/horizontalpodautoscalers/${so.status?.hpaName ?? "keda-hpa-meme-generator-backend-scaler"}`);
  const vpa = await kube.get<Vpa>("/apis/autoscaling.k8s.io/v1/namespaces/cache/verticalpodautoscalers/redis-vpa");
  const redisPods = await kube.list<Pod>("/api/v1/namespaces/cache/pods", "app.kubernetes.io/component=redis");
  const cpu = hpa.status?.currentMetrics?.find((m) => m.resource?.name === "cpu")?.resource?.current.averageUtilization;
  const memory = hpa.status?.currentMetrics?.find((m) => m.resource?.name === "memory")?.resource?.current.averageUtilization;
  return {
    frontend: { replicas: String(hpa.status?.currentReplicas), cpu: `${cpu} % of target 30 %`, memory: `${memory} % of target 50 %` },
    backend: { replicas: String(kedaHpa?.status?.currentReplicas ?? 0), active: so.status?.conditions?.find((c) => c.type === "Active")?.status === "True" ? "active (above 0)" : "inactive (above 0)" },
    state: (consumer: ScalingState["consumer"]): ScalingState => ({
      consumer,
      backend: { name: "meme-generator/meme-generator-backend-scaler", scaledObject: so, ...(kedaHpa ? { hpa: kedaHpa } : {}), pods: [], events: [], problems: [] },
      redis: { name: "cache/redis-vpa", vpa, pods: redisPods, events: [], problems: [] },
    }),
  };
}

export async function scalingViewMatches(t: Test, c: Cluster, frontendIp: string): Promise<void> {
  const kube = new Kube(kubeAccess({ KUBECONFIG: c.plane.kubeconfig }));
  const base = `http://${frontendIp}`;
  // The objects, the view, the objects again: the view must equal one of the two reads (a status may
  // change between them); tried until it does, within 60 s.
  let last = "";
  let matched = false;
  await eventually(async () => {
    const before = await expected(kube);
    const view = (await (await fetch(`${base}/api/scaling`, { signal: AbortSignal.timeout(10_000) })).json()) as ScalingUpdate;
    const after = await expected(kube);
    const lane = (tier: string) => view.lanes.find((l) => l.tier === tier);
    const lag = Number(fact(lane("backend"), "Queue lag") ?? 0);
    const workers = Number(fact(lane("backend"), "Live workers") ?? 0);
    const seen = {
      states: view.lanes.map((l) => `${l.tier}:${l.state}`).join(","),
      frontend: { replicas: fact(lane("frontend"), "Replicas"), cpu: fact(lane("frontend"), "CPU"), memory: fact(lane("frontend"), "Memory") },
      backend: { replicas: fact(lane("backend"), "Replicas"), active: fact(lane("backend"), "Activation") },
      redisLine: lane("redis")?.line,
      backendLine: lane("backend")?.line,
      problems: view.lanes.flatMap((l) => l.problems),
    };
    const fits = (e: Awaited<ReturnType<typeof expected>>) => {
      const consumer = { lag, workers, at: null };
      return (
        seen.states === "frontend:watching,backend:watching,redis:watching" &&
        JSON.stringify(seen.frontend) === JSON.stringify(e.frontend) &&
        JSON.stringify(seen.backend) === JSON.stringify(e.backend) &&
        seen.redisLine === redisLane(e.state(consumer)).line &&
        seen.backendLine?.split(" (≈")[0] === backendLane(e.state(consumer), Date.now()).line.split(" (≈")[0] &&
        seen.problems.length === 0
      );
    };
    matched = fits(before) || fits(after);
    last = `view ${JSON.stringify(seen)}; objects ${JSON.stringify({ frontend: after.frontend, backend: after.backend })}`;
    return matched;
  }, { timeout: 60_000, interval: 2000 }).catch(() => undefined);
  t.ok(matched, `every lane watching, its numbers those of the objects' status, its line the one computed from them: ${last}`);

  // The page as a visitor sees it, from the Service, after the HPA's measurements (the browser's CPU
  // is the host's, not the pods', but it would still crowd two cores).
  mkdirSync(shots, { recursive: true });
  const browser = await launch();
  try {
    for (const [size, viewport] of [["desktop", { width: 1280, height: 1000 }], ["phone", { width: 390, height: 844 }]] as const) {
      const page = await browser.newPage({ viewport });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(base);
      await page.waitForFunction(() => ["frontend", "backend", "redis"].every((tier) => document.getElementById(`lane-${tier}`)?.dataset.state === "watching"), undefined, { timeout: 20_000 });
      await page.waitForSelector("#timeline-frontend polyline.replicas", { state: "attached", timeout: 20_000 });
      const view = (await (await fetch(`${base}/api/scaling`, { signal: AbortSignal.timeout(10_000) })).json()) as ScalingUpdate;
      const redisLine = await page.textContent("#lane-redis .line");
      t.equal(redisLine, view.lanes.find((l) => l.tier === "redis")?.line, `${size}: the page shows the Redis lane's line: ${redisLine}`);
      t.match(await page.textContent("#lane-frontend .line"), /→ \d replicas?/, `${size}: and the frontend's decision: ${await page.textContent("#lane-frontend .line")}`);
      t.equal(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth), 0, `${size}: no sideways scrolling`);
      t.same(errors, [], `${size}: no page errors`);
      await page.screenshot({ path: `${shots}/ui-scaling-node-${size}.png`, fullPage: true });
      await page.close();
    }
    t.comment("written: .artifacts/e2e/ui-scaling-node-desktop.png, .artifacts/e2e/ui-scaling-node-phone.png");
  } finally {
    await browser.close();
  }
}

function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"] });
}

/** A lane's facts and line as the page shows them. */
async function shown(page: Page, tier: string): Promise<{ facts: Record<string, string>; line: string }> {
  return page.evaluate((tier) => {
    const lane = document.getElementById(`lane-${tier}`);
    const facts: Record<string, string> = {};
    for (const d of lane?.querySelectorAll<HTMLElement>(".facts div") ?? []) facts[d.dataset.label ?? ""] = d.querySelector("dd")?.textContent ?? "";
    return { facts, line: lane?.querySelector(".line")?.textContent ?? "" };
  }, tier);
}

/**
 * The scaling view in Chromium, opened where the browser's start cannot change what the autoscaler
 * tests measure (before a burst's first message, or with the frontend already capped at its maximum);
 * the page then follows the frontend's event stream. Its own browser: the HPA's and KEDA's tests run
 * side by side, each with a page.
 */
export class ScalingPage {
  private readonly browser: Browser;
  private readonly page: Page;
  private readonly kube: Kube;
  private constructor(browser: Browser, page: Page, kube: Kube) {
    this.browser = browser;
    this.page = page;
    this.kube = kube;
  }

  static async open(c: Cluster, frontendIp: string): Promise<ScalingPage> {
    const browser = await launch();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      await page.goto(`http://${frontendIp}`);
      await page.waitForFunction(() => ["frontend", "backend", "redis"].every((tier) => document.getElementById(`lane-${tier}`)?.dataset.state === "watching"), undefined, { timeout: 30_000 });
      return new ScalingPage(browser, page, new Kube(kubeAccess({ KUBECONFIG: c.plane.kubeconfig })));
    } catch (error) {
      await browser.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.browser.isConnected()) await this.browser.close();
  }

  /**
   * The backend lane once KEDA is active with workers and a lag left (within 60 s of the burst): its
   * line is KEDA's arithmetic, lag / lagThreshold = workers. The page is kept as a figure.
   */
  async backendMidScale(t: Test): Promise<void> {
    const line = await this.page
      .waitForFunction(
        () => {
          const facts = document.querySelectorAll("#lane-backend .facts div");
          const value = (label: string) => [...facts].find((d) => (d as HTMLElement).dataset.label === label)?.querySelector("dd")?.textContent ?? "";
          const text = document.querySelector("#lane-backend .line")?.textContent ?? "";
          return value("Activation").startsWith("active") && Number(value("Replicas")) > 0 && / \/ lagThreshold /.test(text) ? text : false;
        },
        undefined,
        { timeout: 60_000, polling: 250 },
      )
      .then(
        (handle) => handle.jsonValue() as Promise<string>,
        async () => `not within 60 s; the lane said: ${(await this.page.textContent("#lane-backend")) ?? "nothing"}`.replace(/\s+/g, " "),
      );
    mkdirSync(shots, { recursive: true });
    await this.page.screenshot({ path: `${shots}/ui-scaling-node-midscale.png`, fullPage: false });
    t.match(line, /^(lag \d+ > activationLagThreshold 0: KEDA activates; )?lag \d+ \/ lagThreshold 5 = \d+ workers?/, `the page's backend lane mid-scale: ${line}`);
    t.comment("written: .artifacts/e2e/ui-scaling-node-midscale.png");
  }

  /**
   * The Redis lane while the VPA acts: "evict" once the test has seen Redis's requests outside the
   * recommended bounds and before the updater runs, "evicted" once the new pod is Ready. The lane's
   * requests, target and bounds are those of the live pod and the recommendation as the test reads
   * them, its line the test's own vpaDecision from them; before, that line ends in the eviction; after,
   * the requests are the new pod's and Last eviction names an eviction event. Read against the objects
   * before and after the page, until one fits, within 60 s; the page is kept as a figure.
   */
  async redisMidAction(t: Test, phase: "evict" | "evicted"): Promise<void> {
    const expect = async () => {
      const vpa = await this.kube.get<Vpa>("/apis/autoscaling.k8s.io/v1/namespaces/cache/verticalpodautoscalers/redis-vpa");
      const pod = (await this.kube.list<Pod>("/api/v1/namespaces/cache/pods", "app.kubernetes.io/component=redis")).find((p) => !p.metadata.deletionTimestamp);
      const rec = vpa.status?.recommendation?.containerRecommendations?.find((r) => r.containerName === "redis");
      const quantities = (q?: { cpu?: string; memory?: string }) => ({ cpu: cpuCores(q?.cpu) ?? 0, memory: memoryBytes(q?.memory) ?? 0 });
      const both = (q: { cpu: number; memory: number }) => `${formatResource("cpu", q.cpu)}, ${formatResource("memory", q.memory)}`;
      const requests = quantities(pod?.spec.containers.find((x) => x.name === "redis")?.resources?.requests);
      if (!rec) return { facts: { Requests: both(requests) }, line: "no recommendation" };
      const [target, lower, upper] = [quantities(rec.target), quantities(rec.lowerBound), quantities(rec.upperBound)];
      const decision = vpaDecision({ requests, target, lowerBound: lower, upperBound: upper, updateMode: vpa.spec.updatePolicy?.updateMode ?? "Auto", format: formatResource });
      return { facts: { Requests: both(requests), Target: both(target), Bounds: `[${both(lower)}] – [${both(upper)}]` }, line: decision.line, action: decision.action, pod: pod?.metadata.name };
    };
    let last = "";
    let fits = false;
    await eventually(
      async () => {
        const before = await expect();
        const seen = await shown(this.page, "redis");
        const after = await expect();
        const picked = { Requests: seen.facts.Requests, Target: seen.facts.Target, Bounds: seen.facts.Bounds };
        const phased = phase === "evict" ? / → evict; the new pod gets the target$/.test(seen.line) : /\((EvictedByVPA|EvictedPod)\)$/.test(seen.facts["Last eviction"] ?? "");
        fits = phased && [before, after].some((e) => JSON.stringify(picked) === JSON.stringify(e.facts) && seen.line === e.line);
        last = `page ${JSON.stringify({ ...picked, "Last eviction": seen.facts["Last eviction"], line: seen.line })}; objects ${JSON.stringify(after)}`;
        return fits;
      },
      { timeout: 60_000, interval: 1000 },
    ).catch(() => undefined);
    mkdirSync(shots, { recursive: true });
    await this.page.screenshot({ path: `${shots}/ui-scaling-node-vpa-${phase}.png`, fullPage: false });
    const what = phase === "evict" ? "with the requests outside the bounds, before the updater's pass: the line ends in the eviction" : "once the new pod is Ready: its requests, and the last eviction";
    t.ok(fits, `the page's Redis lane ${what}; its numbers the pod's requests and the recommendation, its line the test's arithmetic from them: ${last}`);
    t.comment(`written: .artifacts/e2e/ui-scaling-node-vpa-${phase}.png`);
  }

  /**
   * The frontend lane while its HPA acts: the replicas, desired replicas and both metrics are those
   * of the HPA's status, and the line begins with the proposal the test computes from that status
   * (each metric's ceil(replicas × current / target), or its tolerance); what follows it (a window
   * holding the count, a policy, min or max) depends on the recommendations the frontend has seen.
   * Read against the status before and after the page, until one fits, within 30 s.
   */
  async frontendMidScale(t: Test): Promise<void> {
    const path = "/apis/autoscaling/v2/namespaces/meme-generator/horizontalpodautoscalers/meme-generator-frontend-hpa";
    const expect = (hpa: Hpa) => {
      const readings = resourceReadings(hpa);
      const decision = hpaDecision({ replicas: hpa.status?.currentReplicas ?? 0, min: hpa.spec.minReplicas ?? 1, max: hpa.spec.maxReplicas, metrics: readings, behavior: behaviorOf(hpa) });
      const head = decision.per.length > 1 ? `desired = max(${decision.per.map((p) => p.replicas).join(", ")}) = ${decision.wanted}; ` : "";
      const metric = (name: string) => {
        const target = hpa.spec.metrics?.find((m) => m.resource?.name === name)?.resource?.target.averageUtilization;
        const current = readings.find((r) => r.name === name)?.current;
        return target === undefined ? undefined : `${current === undefined ? "unknown" : `${current} %`} of target ${target} %`;
      };
      return {
        facts: { Replicas: String(hpa.status?.currentReplicas), Desired: String(hpa.status?.desiredReplicas ?? hpa.status?.currentReplicas), CPU: metric("cpu"), Memory: metric("memory") },
        line: `${head}${decision.per.map((p) => p.line).join("; ")}`,
      };
    };
    let last = "";
    let fits = false;
    await eventually(
      async () => {
        const before = expect(await this.kube.get<Hpa>(path));
        const seen = await shown(this.page, "frontend");
        const after = expect(await this.kube.get<Hpa>(path));
        const picked = { Replicas: seen.facts.Replicas, Desired: seen.facts.Desired, CPU: seen.facts.CPU, Memory: seen.facts.Memory };
        fits = [before, after].some((e) => JSON.stringify(picked) === JSON.stringify(e.facts) && seen.line.startsWith(e.line));
        last = `page ${JSON.stringify({ ...picked, line: seen.line })}; status ${JSON.stringify(after)}`;
        return fits;
      },
      { timeout: 30_000, interval: 1000 },
    ).catch(() => undefined);
    mkdirSync(shots, { recursive: true });
    await this.page.screenshot({ path: `${shots}/ui-scaling-node-hpa.png`, fullPage: false });
    t.ok(fits, `the page's frontend lane while the HPA acts: its numbers the HPA's status, its line the test's arithmetic from it: ${last}`);
    t.comment("written: .artifacts/e2e/ui-scaling-node-hpa.png");
  }
}
