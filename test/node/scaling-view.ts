// The web UI's scaling view on the real node: the demo's frontend watches its HPA, the ScaledObject
// and KEDA's HPA, and the Redis VPA through the API server with its own ServiceAccount (its Roles,
// its token, its egress policy to the API server), and each lane's numbers are those the objects'
// status holds when the test reads them itself; the explanation lines are the ones the test computes
// from the same objects. Chromium then shows the page from the Service at desktop and phone size.
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import type { Test } from "tap";
import { repoPath } from "../../generator/schema.js";
import { backendLane, redisLane, type Hpa, type Lane, type Pod, type ScaledObject, type ScalingState, type Vpa } from "../../src/frontend/lanes.js";
import type { ScalingUpdate } from "../../src/frontend/scaling.js";
import { Kube, kubeAccess } from "../../src/shared/kube.js";
import type { Cluster } from "../e2e/cluster.js";
import { eventually } from "../harness/eventually.js";

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
  const shots = repoPath(".artifacts/e2e");
  mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"] });
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

    // Mid-scale: a burst of 60 full-size memes wakes the backend from zero; the page is taken the
    // moment KEDA is active with workers running and a lag left, then every meme must be done. From
    // zero, since workers still up from an earlier burst can drain it between two of KEDA's polls,
    // before KEDA has ever called the ScaledObject active.
    const rested = await eventually(
      async () => {
        const backend = await kube.get<{ spec?: { replicas?: number }; status?: { replicas?: number } }>("/apis/apps/v1/namespaces/meme-generator/deployments/meme-generator");
        return (backend.spec?.replicas ?? 0) === 0 && (backend.status?.replicas ?? 0) === 0;
      },
      { timeout: 180_000, interval: 1000, what: "the backend at 0 replicas" },
    ).then(
      () => true,
      () => false,
    );
    t.ok(rested, "the backend rests at 0 replicas before the burst");
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(base);
    await page.waitForFunction(() => document.getElementById("lane-backend")?.dataset.state === "watching", undefined, { timeout: 20_000 });
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      const answer = await fetch(`${base}/api/memes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: `mid-scale ${i} | ${Date.now()}` }), signal: AbortSignal.timeout(10_000) });
      if (answer.status === 202) ids.push(((await answer.json()) as { id: string }).id);
    }
    t.equal(ids.length, 60, "the burst is queued");
    const line = await page
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
        async () => `not within 60 s; the lane said: ${(await page.textContent("#lane-backend")) ?? "nothing"}`.replace(/\s+/g, " "),
      );
    await page.screenshot({ path: `${shots}/ui-scaling-node-midscale.png`, fullPage: false });
    t.match(line, /^(lag \d+ > activationLagThreshold 0: KEDA activates; )?lag \d+ \/ lagThreshold 5 = \d+ workers?/, `the backend lane mid-scale: ${line}`);
    t.comment("written: .artifacts/e2e/ui-scaling-node-midscale.png");
    await page.close();
    const pending = new Set(ids);
    await eventually(
      async () => {
        for (const id of [...pending]) {
          const meme = (await (await fetch(`${base}/api/memes/${id}`, { signal: AbortSignal.timeout(10_000) })).json()) as { status?: string };
          if (meme.status === "done") pending.delete(id);
        }
        return pending.size === 0;
      },
      { timeout: 180_000, interval: 1000 },
    ).catch(() => undefined);
    t.equal(pending.size, 0, `every meme of the burst is done (${60 - pending.size} of 60)`);
  } finally {
    await browser.close();
  }
}
