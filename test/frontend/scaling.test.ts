// The scaling view's watches against a local API stand-in: one LIST and one WATCH per collection
// however many browsers listen, changes reach the lanes, an expired watch lists again, and a list
// the API refuses (RBAC, or a kind not installed) is a problem the lane names while the rest goes on.
import t from "tap";
import type { Test } from "tap";
import { ScalingView, parseTarget, type ScalingUpdate } from "../../src/frontend/scaling.js";
import { Kube, WatchedList, type KubeObject } from "../../src/shared/kube.js";
import { demoRelease, frontendHpa, paths, redisVpa, scaledObject } from "../harness/demo-objects.js";
import { eventually } from "../harness/eventually.js";
import { FakeKube } from "../harness/fake-kube.js";

const targets = {
  frontend: { namespace: "meme-generator", name: "meme-generator-frontend-hpa", pods: "app.kubernetes.io/component=frontend" },
  backend: { namespace: "meme-generator", name: "meme-generator-backend-scaler", pods: "app.kubernetes.io/component=backend" },
  redis: { namespace: "cache", name: "redis-vpa", pods: "app.kubernetes.io/component=redis" },
};
const consumer = () => ({ lag: 40, workers: 8, at: new Date().toISOString() });

/** Resolves with the first update for which `check` holds; rejects after `ms`. */
function next(view: ScalingView, check: (u: ScalingUpdate) => boolean, ms = 5000): Promise<ScalingUpdate> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (stop(), reject(new Error(`no such update within ${ms} ms; last: ${JSON.stringify(view.snapshot().lanes.map((l) => [l.line, l.problems]))}`))), ms);
    const stop = view.subscribe((u) => {
      if (!check(u)) return;
      clearTimeout(timer);
      stop();
      resolve(u);
    });
  });
}

const lane = (u: ScalingUpdate, tier: string) => u.lanes.find((l) => l.tier === tier);

async function started(t: Test, setup: (kube: FakeKube) => void = demoRelease) {
  const kube = await new FakeKube().start();
  t.teardown(() => kube.close());
  setup(kube);
  const view = new ScalingView(targets, consumer, "off", { KUBECONFIG: kube.kubeconfig() });
  t.teardown(() => view.stop());
  view.start();
  return { kube, view };
}

t.test("parseTarget reads namespace/name and names the variable when it cannot", async (t) => {
  t.same(parseTarget("cache/redis-vpa", "SCALING_REDIS_VPA"), { namespace: "cache", name: "redis-vpa" });
  t.equal(parseTarget("", "SCALING_REDIS_VPA"), undefined);
  t.throws(() => parseTarget("redis-vpa", "SCALING_REDIS_VPA"), /SCALING_REDIS_VPA must be namespace\/name \(got "redis-vpa"\)/);
});

t.test("the lanes come from the watched objects, one watch per collection for every subscriber", async (t) => {
  const { kube, view } = await started(t);
  t.equal(view.watching, true);
  const first = await next(view, (u) => lane(u, "redis")?.state === "watching" && lane(u, "frontend")?.state === "watching" && lane(u, "backend")?.state === "watching");
  t.match(lane(first, "frontend")?.line, "cpu: ceil(3 × 92 % / 30 %) = 10");
  t.equal(lane(first, "backend")?.line, "lag 40 / lagThreshold 5 = 8 workers");
  t.match(lane(first, "redis")?.line, "memory request 64Mi outside [100Mi, 200Mi]");
  t.same(lane(first, "backend")?.pods, { ready: 6, total: 8 }, "the workers' pods by the backend's selector");
  t.equal(lane(first, "frontend")?.events[0]?.reason, "SuccessfulRescale");
  t.equal(lane(first, "redis")?.facts.find((f) => f.label === "Last eviction")?.value.endsWith("(EvictedByVPA)"), true);
  // Three more subscribers change nothing at the API server.
  const stops = [view.subscribe(() => {}), view.subscribe(() => {}), view.subscribe(() => {})];
  await next(view, () => true);
  // The app namespace's pods twice (the frontend's selector and the workers'), everything else once.
  for (const path of Object.values(paths)) t.equal(kube.watching(path), path === paths.appPods ? 2 : 1, `${path}: ${kube.watching(path)} watch(es)`);
  const lists = kube.requests.filter((r) => !r.includes("watch=1"));
  t.equal(lists.length, 8, "eight LISTs: HPAs, ScaledObjects, VPAs, three pod selectors, two namespaces' events");
  for (const stop of stops) stop();
  t.ok(view.snapshot().samples.length >= 1, "a new subscriber gets the samples so far");
});

t.test("a change reaches the lanes, and an expired watch lists again", async (t) => {
  const { kube, view } = await started(t);
  await next(view, (u) => lane(u, "frontend")?.state === "watching");
  kube.put(paths.hpas, frontendHpa(5, 10, 20));
  const down = await next(view, (u) => lane(u, "frontend")?.facts.find((f) => f.label === "Replicas")?.value === "5");
  t.match(lane(down, "frontend")?.line, "cpu: ceil(5 × 10 % / 30 %) = 2");
  const listsBefore = kube.requests.filter((r) => r === `GET ${paths.hpas}`).length;
  kube.expire(paths.hpas);
  kube.put(paths.hpas, frontendHpa(4, 31, 20));
  await next(view, (u) => lane(u, "frontend")?.facts.find((f) => f.label === "Replicas")?.value === "4");
  t.equal(kube.requests.filter((r) => r === `GET ${paths.hpas}`).length, listsBefore + 1, "after 410 Gone the HPAs were listed again");
  kube.put(paths.scaledObjects, scaledObject(false, new Date(Date.now() - 10_000).toISOString()));
  const inactive = await next(view, (u) => lane(u, "backend")?.facts.find((f) => f.label === "Activation")?.value.startsWith("inactive") === true);
  t.match(lane(inactive, "backend")?.line, /^lag 40 is not above|^lag 40 \/ lagThreshold/, "the backend lane follows the ScaledObject");
  kube.put(paths.vpas, redisVpa("Off", "120Mi", "100Mi", "200Mi"));
  const off = await next(view, (u) => lane(u, "redis")?.line.includes("updateMode Off") === true);
  t.match(lane(off, "redis")?.line, "running pods are left alone");
  kube.remove(paths.vpas, "redis-vpa");
  const gone = await next(view, (u) => lane(u, "redis")?.state === "absent");
  t.equal(lane(gone, "redis")?.note, "No VerticalPodAutoscaler cache/redis-vpa in the cluster.");
});

t.test("a refused list is a problem of its lane; the others go on; once allowed it recovers", async (t) => {
  const { kube, view } = await started(t, (kube) => {
    demoRelease(kube);
    kube.refuse(paths.vpas, 403);
    kube.refuse(paths.scaledObjects, 404);
  });
  const u = await next(view, (u) => (lane(u, "redis")?.problems.length ?? 0) > 0 && (lane(u, "backend")?.problems.length ?? 0) > 0 && lane(u, "frontend")?.state === "watching");
  t.match(lane(u, "redis")?.problems[0], /^VerticalPodAutoscaler cache\/redis-vpa: forbidden \(403\) — the frontend's Role does not allow it/);
  t.equal(lane(u, "redis")?.note, "The VPA cannot be read.");
  t.match(lane(u, "backend")?.problems[0], "ScaledObject meme-generator/meme-generator-backend-scaler: the API server has no such kind (is it installed?)");
  t.match(lane(u, "frontend")?.line, "cpu: ceil(3", "the frontend lane is unaffected");
  kube.allow(paths.vpas);
  const back = await next(view, (u) => lane(u, "redis")?.state === "watching", 8000);
  t.same(lane(back, "redis")?.problems, [], "the VPA is read after the pause");
});

t.test("without a kubeconfig or a service account the view says it cannot reach the API", async (t) => {
  const view = new ScalingView(targets, consumer, "off", { KUBECONFIG: "/nonexistent/kubeconfig", HOME: "/nonexistent" });
  t.equal(view.watching, false);
  t.match(view.snapshot().lanes[0]?.note, /^The view cannot reach the Kubernetes API: no kubeconfig/);
});

t.test("a watched list ends its requests when stopped", async (t) => {
  const kube = await new FakeKube().start();
  t.teardown(() => kube.close());
  kube.serve(paths.hpas);
  let changes = 0;
  const list = new WatchedList<KubeObject>(new Kube({ server: kube.url, insecure: false, namespace: "default", source: "test" }), paths.hpas, "HPAs", () => changes++);
  list.start();
  await eventually(() => kube.watching(paths.hpas) > 0, { timeout: 5000, what: "the list's watch" });
  t.equal(kube.watching(paths.hpas), 1, "watching, once");
  list.stop();
  await eventually(() => kube.watching(paths.hpas) === 0, { timeout: 5000, what: "the watch to close" });
  t.pass("the watch is closed");
  t.ok(changes >= 1);
});
