// The scaling view's lanes from objects as the API server holds them: each number with the field it
// comes from, and each explanation line against a hand-computed case.
import t from "tap";
import { backendLane, formatResource, frontendLane, kedaHpaLag, lanes, lanesWithout, redisLane, sample, type Hpa, type Pod, type ScaledObject, type ScalingState, type Vpa } from "../../src/frontend/lanes.js";
import { event, frontendHpa, kedaHpa, pod, redisVpa, scaledObject } from "../harness/demo-objects.js";

const now = Date.parse("2026-12-04T12:00:00Z");
const ago = (s: number) => new Date(now - s * 1000).toISOString();
const consumer = { lag: 40, workers: 8, at: ago(1) };

function state(over: { hpa?: Hpa; so?: ScaledObject; kedaHpa?: Hpa; vpa?: Vpa; redisPods?: Pod[] } = {}): ScalingState {
  return {
    consumer,
    frontend: { name: "meme-generator/meme-generator-frontend-hpa", hpa: over.hpa ?? frontendHpa(3, 92, 40), pods: [pod("f-0", "meme-generator", "frontend", "frontend", {})], events: [], problems: [] },
    backend: { name: "meme-generator/meme-generator-backend-scaler", scaledObject: over.so ?? scaledObject(true, ago(0)), hpa: over.kedaHpa ?? kedaHpa(8, "5"), pods: [], events: [], problems: [] },
    redis: { name: "cache/redis-vpa", vpa: over.vpa ?? redisVpa("Recreate", "120Mi", "100Mi", "200Mi"), pods: over.redisPods ?? [pod("redis-0", "cache", "redis", "redis", { cpu: "50m", memory: "64Mi" })], events: [], problems: [] },
  };
}

const fact = (lane: { facts: { label: string; value: string }[] }, label: string) => lane.facts.find((f) => f.label === label)?.value;

t.test("frontend: the replica calculator's line, capped at max", async (t) => {
  const lane = frontendLane(state(), now, []);
  t.equal(lane.state, "watching");
  // cpu: ceil(3 × 92 / 30) = ceil(9.2) = 10; memory: 40 / 50 = 0.8, outside the tolerance: ceil(3 × 0.8) = 3.
  t.match(lane.line, "cpu: ceil(3 × 92 % / 30 %) = 10");
  t.match(lane.line, "memory: ceil(3 × 40 % / 50 %) = 3");
  t.match(lane.line, "desired = max(10, 3) = 10");
  // Scale-up policy 100 % per 15 s allows 6, max is 5: max is the tighter.
  t.match(lane.line, /capped at max 5 → 5 replicas$/);
  t.equal(fact(lane, "CPU"), "92 % of target 30 %");
  t.equal(fact(lane, "Memory"), "40 % of target 50 %");
  t.equal(fact(lane, "Scale up"), "100 % per 15 s, no window");
  t.equal(fact(lane, "Scale down"), "20 % per 60 s, 300 s window");
  t.ok(lane.facts.every((f) => f.source.length > 0), "every number names its source");
});

t.test("frontend: the rate policy is tighter than max", async (t) => {
  const lane = frontendLane(state({ hpa: frontendHpa(1, 92, 40) }), now, []);
  // ceil(1 × 92 / 30) = 4; 100 % per 15 s from 1 allows 2.
  t.match(lane.line, "cpu: ceil(1 × 92 % / 30 %) = 4");
  t.match(lane.line, /the scale-up policies allow at most 2 now → 2 replicas$/);
});

t.test("frontend: a scale-up is dated by the desired replicas, which the controller writes when it scales", async (t) => {
  // 2 → 4 decided 20 s ago; currentReplicas showed 4 only at the next sync, 5 s ago.
  const history = [
    { at: now - 30_000, frontend: { replicas: 2, desired: 2, wanted: 2 } },
    { at: now - 20_000, frontend: { replicas: 2, desired: 4, wanted: 4 } },
    { at: now - 5_000, frontend: { replicas: 4, desired: 4, wanted: 15 } },
  ];
  const lane = frontendLane(state({ hpa: frontendHpa(4, 106, 22) }), now, history);
  // ceil(4 × 106 / 30) = 15; the period began at 4 (the change is 20 s old, the period 15 s): 100 % allows 8, max 5.
  t.match(lane.line, "cpu: ceil(4 × 106 % / 30 %) = 15");
  t.match(lane.line, /capped at max 5 → 5 replicas$/);
  // Decided 5 s ago, the period began at 2: 100 % allows 4.
  const recent = [
    { at: now - 10_000, frontend: { replicas: 2, desired: 2, wanted: 2 } },
    { at: now - 5_000, frontend: { replicas: 4, desired: 4, wanted: 15 } },
  ];
  t.match(frontendLane(state({ hpa: frontendHpa(4, 106, 22) }), now, recent).line, /the scale-up policies allow at most 4 now → 4 replicas$/);
});

t.test("frontend: within the tolerance nothing moves", async (t) => {
  const hpa = frontendHpa(2, 31, 50);
  const lane = frontendLane(state({ hpa }), now, []);
  t.match(lane.line, "cpu 31 % / 30 % = 1.03, within 10 % of 1: stays at 2");
  t.match(lane.line, /→ 2 replicas$/);
});

t.test("frontend: scale-down held by the stabilisation window, with the time left as an estimate", async (t) => {
  // Load gone: cpu 10 % at 5 replicas asks for ceil(5 × 10 / 30) = 2; memory 20 / 50 asks for 2.
  const hpa = frontendHpa(5, 10, 20);
  const history = [
    { at: now - 100_000, frontend: { replicas: 5, desired: 5, cpu: 90, memory: 40, wanted: 5 } },
    { at: now - 50_000, frontend: { replicas: 5, desired: 5, cpu: 10, memory: 20, wanted: 2 } },
  ];
  const lane = frontendLane(state({ hpa }), now, history);
  t.match(lane.line, "held at 5 by the 300 s scale-down stabilisation window");
  // The recommendation of 5 is 100 s old: the window lets it go in 300 − 100 = 200 s.
  t.match(lane.line, "(≈ 200 s left in the window)");
  const left = lane.facts.find((f) => f.label === "Window left");
  t.equal(left?.value, "≈ 200 s");
  t.equal(left?.estimate, true, "marked as an estimate");
});

t.test("frontend: a recommendation is dated by the sample that first showed its status", async (t) => {
  // The status that asked for 5 first seen 310 s ago and seen again 295 s ago (the same status, no new
  // sync): the recommendation is 310 s old, out of the 300 s window; then 20 % of 5 a period.
  const history = [
    { at: now - 310_000, frontend: { replicas: 5, desired: 5, cpu: 90, memory: 40, wanted: 5 } },
    { at: now - 295_000, frontend: { replicas: 5, desired: 5, cpu: 90, memory: 40, wanted: 5 } },
    { at: now - 280_000, frontend: { replicas: 5, desired: 5, cpu: 10, memory: 20, wanted: 2 } },
  ];
  const lane = frontendLane(state({ hpa: frontendHpa(5, 10, 20) }), now, history);
  t.notMatch(lane.line, "stabilisation window");
  t.match(lane.line, /the scale-down policies allow no fewer than 4 now → 4 replicas$/);
  // Another status at 295 s (the next sync's new numbers) is a recommendation of its own, still in the window.
  const later = history.map((s, i) => (i === 1 ? { ...s, frontend: { ...s.frontend, cpu: 88 } } : s));
  t.match(frontendLane(state({ hpa: frontendHpa(5, 10, 20) }), now, later).line, "held at 5 by the 300 s scale-down stabilisation window");
});

t.test("frontend: after the window, down by at most 20 % a period", async (t) => {
  const lane = frontendLane(state({ hpa: frontendHpa(5, 10, 20) }), now, [{ at: now - 400_000, frontend: { replicas: 5, desired: 5, wanted: 5 } }]);
  // floor(5 × 0.8) = 4.
  t.match(lane.line, /the scale-down policies allow no fewer than 4 now → 4 replicas$/);
});

t.test("frontend: a false condition is a problem, and no metrics yet says so", async (t) => {
  const hpa = frontendHpa(1, 0, 0);
  hpa.status.currentMetrics = [];
  hpa.status.conditions[1] = { type: "ScalingActive", status: "False", reason: "FailedGetResourceMetric", message: "unable to get metrics for resource cpu" };
  const lane = frontendLane(state({ hpa }), now, []);
  t.same(lane.problems, ["HPA condition ScalingActive is False (FailedGetResourceMetric): unable to get metrics for resource cpu"]);
  t.equal(lane.line, "no current metrics yet: the HPA keeps 1 replica until it can read them");
});

t.test("backend: lag from KEDA's HPA while active, ceil(lag / lagThreshold) workers", async (t) => {
  t.equal(kedaHpaLag(kedaHpa(8, "5") ), 40, "average 5 × 8 replicas");
  t.equal(kedaHpaLag(kedaHpa(3, "2500m") ), 8, "average 2.5 × 3 replicas = 7.5, rounded");
  const lane = backendLane(state(), now);
  t.equal(lane.line, "lag 40 / lagThreshold 5 = 8 workers");
  t.equal(fact(lane, "Lag (KEDA)"), "40 / lagThreshold 5");
  t.equal(fact(lane, "Activation"), "active (above 0)");
  const many = backendLane(state({ kedaHpa: kedaHpa(10, "9")  }), now);
  t.equal(many.line, "lag 90 / lagThreshold 5 = 18 workers, capped at maxReplicaCount 10");
});

t.test("backend: inactive with workers left: the cooldown's remainder as an estimate", async (t) => {
  const quiet = { ...consumer, lag: 0 };
  const s = { ...state({ so: scaledObject(false, ago(10)) , kedaHpa: kedaHpa(2, "0")  }), consumer: quiet };
  const lane = backendLane(s, now);
  t.equal(lane.line, "lag 0 is not above activationLagThreshold 0: inactive, down to 0 once the cooldown has passed (≈ 20 s of the cooldown left)");
  t.equal(lane.facts.find((f) => f.label === "Cooldown left")?.estimate, true);
  t.equal(fact(lane, "Lag"), "0 / lagThreshold 5", "while inactive the lag is the consumer's as this frontend reads it");
  const asleep = backendLane({ ...state({ so: scaledObject(false, ago(100)) , kedaHpa: kedaHpa(0, "0")  }), consumer: quiet }, now);
  t.equal(asleep.line, "lag 0 is not above activationLagThreshold 0: inactive, resting at 0");
});

t.test("backend: one message wakes it from zero", async (t) => {
  const s = { ...state({ so: scaledObject(false, ago(100)) , kedaHpa: kedaHpa(0, "0")  }), consumer: { ...consumer, lag: 1 } };
  t.equal(backendLane(s, now).line, "lag 1 > activationLagThreshold 0: KEDA activates; lag 1 / lagThreshold 5 = 1 worker");
});

t.test("redis: requests outside the bounds → evict, formatted as requests are written", async (t) => {
  t.equal(formatResource("memory", 64 * 2 ** 20), "64Mi");
  t.equal(formatResource("memory", 1.5 * 2 ** 30), "1.5Gi");
  t.equal(formatResource("cpu", 0.05), "50m");
  t.equal(formatResource("cpu", 2), "2");
  const lane = redisLane(state());
  t.equal(lane.line, "cpu request 50m within [50m, 1] (target 50m), memory request 64Mi outside [100Mi, 200Mi] (target 120Mi) → evict; the new pod gets the target");
  t.equal(fact(lane, "Requests"), "50m, 64Mi");
  t.equal(fact(lane, "Bounds"), "[50m, 100Mi] – [1, 200Mi]");
  t.equal(fact(lane, "Allowed"), "50m, 64Mi – 1, 1Gi");
});

t.test("redis: within the bounds no eviction; Off leaves the pod alone; no recommendation yet", async (t) => {
  const inside = redisLane(state({ redisPods: [pod("redis-0", "cache", "redis", "redis", { cpu: "50m", memory: "120Mi" })] }));
  t.match(inside.line, /→ no eviction$/);
  const off = redisLane(state({ vpa: redisVpa("Off", "120Mi", "100Mi", "200Mi")  }));
  t.match(off.line, /updateMode Off: running pods are left alone$/);
  const fresh = redisVpa("Recreate", "1Mi", "1Mi", "1Mi") ;
  delete fresh.status?.recommendation;
  t.equal(redisLane(state({ vpa: fresh })).line, "no recommendation for redis yet: the recommender needs its first samples of the pod's usage");
});

t.test("the last eviction comes from the events", async (t) => {
  const s = state();
  (s.redis as NonNullable<ScalingState["redis"]>).events = [event("cache", "Pod", "redis-0", "EvictedByVPA", "evicted", ago(60)) as never, event("cache", "Pod", "redis-1", "Scheduled", "assigned", ago(50)) as never];
  const lane = redisLane(s);
  t.equal(fact(lane, "Last eviction"), `${ago(60)} (EvictedByVPA)`);
  t.same(lane.events.map((e) => e.reason), ["Scheduled", "EvictedByVPA"], "newest first");
});

t.test("absent objects and a view that is off say why", async (t) => {
  const s: ScalingState = { consumer, frontend: { name: "meme-generator/x", pods: [], events: [], problems: [] } };
  const [front, back, redis] = lanes(s, now, []);
  t.equal(front?.note, "No HorizontalPodAutoscaler meme-generator/x in the cluster.");
  t.match(back?.note, "backend.autoscaling.keda.enabled is off");
  t.match(redis?.note, "redis.autoscaling.vpa.enabled is off");
  const off = lanesWithout("SCALING_VIEW is off.", consumer);
  t.ok(off.every((l) => l.state === "absent" && l.note?.startsWith("SCALING_VIEW is off. In a cluster this lane shows ")));
  t.equal(off[1]?.facts.find((f) => f.label === "Queue lag")?.value, "40", "the backend lane keeps the queue's numbers");
});

t.test("a sample carries what the timelines draw", async (t) => {
  const point = sample(state(), now);
  t.same(point.frontend, { replicas: 3, desired: 3, cpu: 92, memory: 40, wanted: 10 });
  t.same(point.backend, { replicas: 8, lag: 40, workers: 8 });
  t.same(point.redis, { requestCpu: 0.05, requestMemory: 64 * 2 ** 20, targetCpu: 0.05, targetMemory: 120 * 2 ** 20, lowerMemory: 100 * 2 ** 20, upperMemory: 200 * 2 ** 20 });
});
