// The autoscalers' arithmetic against cases computed by hand from the controllers' documented rules.
import t from "tap";
import { DEFAULT_BEHAVIOR, hpaDecision, kedaDecision, metricProposal, policyLimit, recommendation, vpaDecision, type Behavior } from "../../src/shared/autoscaling.js";

/** The demo's behaviour: up 100 % a 15 s at once, down 20 % a 60 s after a 300 s window. */
const demo: Behavior = {
  scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] },
  scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Percent", value: 20, periodSeconds: 60 }] },
};

t.test("one metric: ceil(replicas × current / target), unless within the tolerance", async (t) => {
  const cpu = (current: number) => ({ name: "cpu", current, target: 30 });
  t.equal(metricProposal(3, cpu(92)).replicas, 10, "ceil(3 × 92 / 30) = ceil(9.2) = 10");
  t.equal(metricProposal(3, cpu(92)).line, "cpu: ceil(3 × 92 % / 30 %) = 10");
  t.equal(metricProposal(4, cpu(32)).replicas, 4, "32 / 30 = 1.07, within 10 % of 1: stays");
  t.ok(metricProposal(4, cpu(32)).withinTolerance);
  // The controller's test is |1 − ratio| ≤ 0.1 in float64: 1.1 lies a rounding above it, 0.9 a rounding below.
  t.equal(metricProposal(4, { name: "cpu", current: 55, target: 50 }).replicas, 5, "55 / 50 = 1.1: outside by a float's rounding, ceil(4.4) = 5");
  t.equal(metricProposal(5, { name: "cpu", current: 45, target: 50 }).replicas, 5, "45 / 50 = 0.9: within");
  t.equal(metricProposal(4, cpu(34)).replicas, 5, "34 / 30 = 1.13: ceil(4.53) = 5");
  t.equal(metricProposal(4, cpu(26)).replicas, 4, "26 / 30 = 0.87 is outside, but ceil(3.47) = 4: no change either");
  t.equal(metricProposal(5, cpu(3)).replicas, 1, "ceil(5 × 0.1) = 1");
  t.equal(metricProposal(2, { name: "lag", current: 47, target: 10, unit: "" }).line, "lag: ceil(2 × 47 / 10) = 10", "a plain average has no percent sign");
  t.equal(metricProposal(2, cpu(33), 0).replicas, 3, "with no tolerance, 1.1 rounds up");
});

t.test("several metrics: the most any asks for", async (t) => {
  const r = recommendation(2, [{ name: "cpu", current: 120, target: 50 }, { name: "memory", current: 80, target: 50 }]);
  t.equal(r.replicas, 5, "cpu ceil(2 × 2.4) = 5, memory ceil(2 × 1.6) = 4");
  t.equal(r.by, "cpu");
  t.equal(recommendation(3, []).replicas, 3, "no metric: as they are");
});

t.test("the policies' limits: rounding, Pods against Percent, selectPolicy", async (t) => {
  t.equal(policyLimit("up", demo.scaleUp, () => 3), 6, "100 % up from 3");
  t.equal(policyLimit("down", demo.scaleDown, () => 4), 3, "20 % down from 4: 3.2, rounded down");
  t.equal(policyLimit("down", demo.scaleDown, () => 2), 1, "20 % down from 2: 1.6, rounded down");
  t.equal(policyLimit("up", DEFAULT_BEHAVIOR.scaleUp, () => 1), 5, "the default: the more of 100 % (2) and 4 pods (5)");
  t.equal(policyLimit("up", { ...DEFAULT_BEHAVIOR.scaleUp, selectPolicy: "Min" }, () => 1), 2, "Min: the less permissive");
  t.equal(policyLimit("down", { stabilizationWindowSeconds: 0, policies: [{ type: "Pods", value: 1, periodSeconds: 60 }, { type: "Percent", value: 50, periodSeconds: 60 }] }, () => 10), 5, "down, Max: the fewest (50 % of 10 over 10 − 1)");
  t.equal(policyLimit("up", { ...demo.scaleUp, selectPolicy: "Disabled" }, () => 3), undefined, "Disabled allows nothing");
});

t.test("the HPA's decision: the guide's example and each limit", async (t) => {
  const cpu = (current: number, target = 30) => [{ name: "cpu", current, target }];
  const capped = hpaDecision({ replicas: 3, min: 1, max: 5, metrics: cpu(92), behavior: demo });
  t.equal(capped.replicas, 5);
  t.equal(capped.limitedBy, "max", "the policy would allow 6: max is the tighter");
  t.equal(capped.line, "cpu: ceil(3 × 92 % / 30 %) = 10; capped at max 5 → 5 replicas");

  const rate = hpaDecision({ replicas: 2, min: 1, max: 10, metrics: cpu(150), behavior: demo });
  t.equal(rate.wanted, 10);
  t.equal(rate.replicas, 4, "100 % a period from 2");
  t.equal(rate.limitedBy, "policy");
  const already = hpaDecision({ replicas: 4, min: 1, max: 10, metrics: cpu(150), behavior: demo, changes: [{ ago: 10, by: 2 }] });
  t.equal(already.replicas, 4, "2 were added 10 s ago: the period began at 2, so 4 is all it allows");

  const held = hpaDecision({ replicas: 5, min: 1, max: 5, metrics: cpu(3), behavior: demo, recommendations: [{ ago: 200, replicas: 5 }, { ago: 100, replicas: 3 }] });
  t.equal(held.wanted, 1);
  t.equal(held.replicas, 5, "5 was recommended 200 s ago, within the 300 s window");
  t.equal(held.limitedBy, "stabilization");
  t.match(held.line, /held at 5 by the 300 s scale-down stabilisation window/);

  const down = hpaDecision({ replicas: 5, min: 1, max: 5, metrics: cpu(3), behavior: demo, recommendations: [{ ago: 320, replicas: 5 }, { ago: 100, replicas: 1 }] });
  t.equal(down.replicas, 4, "the window has passed: down 20 % of 5, one pod");
  t.equal(down.limitedBy, "policy");
  const floor = hpaDecision({ replicas: 2, min: 2, max: 5, metrics: cpu(3), behavior: { ...demo, scaleDown: { ...demo.scaleDown, stabilizationWindowSeconds: 0 } } });
  t.equal(floor.replicas, 2);
  t.equal(floor.limitedBy, "min", "20 % of 2 would allow 1: min is the tighter");

  const calm = hpaDecision({ replicas: 3, min: 1, max: 5, metrics: [{ name: "cpu", current: 31, target: 30 }, { name: "memory", current: 52, target: 50 }] });
  t.equal(calm.replicas, 3);
  t.equal(calm.limitedBy, "tolerance");
  t.match(calm.line, /^desired = max\(3, 3\) = 3; cpu 31 % \/ 30 % = 1\.03, within 10 % of 1: stays at 3/);

  const lowered = hpaDecision({ replicas: 7, min: 1, max: 5, metrics: cpu(30) });
  t.same([lowered.replicas, lowered.limitedBy], [5, "max"], "at target, but above a max lowered since: down to max");

  const unbounded = hpaDecision({ replicas: 1, min: 1, max: 20, metrics: cpu(300) });
  t.equal(unbounded.replicas, 5, "no behaviour: the defaults (the more of 100 % and 4 pods)");
});

t.test("KEDA: activation is strictly above its threshold; the lag per worker asks for replicas", async (t) => {
  const base = { lagThreshold: 5, activationLagThreshold: 0, min: 0, max: 8 };
  const woke = kedaDecision({ ...base, lag: 40, replicas: 0 });
  t.same([woke.active, woke.replicas], [true, 8]);
  t.equal(woke.line, "lag 40 > activationLagThreshold 0: KEDA activates; lag 40 / lagThreshold 5 = 8 workers");
  t.equal(kedaDecision({ ...base, lag: 41, replicas: 8 }).line, "lag 41 / lagThreshold 5 = 9 workers, capped at maxReplicaCount 8");
  t.equal(kedaDecision({ ...base, lag: 41, replicas: 8 }).replicas, 8);
  t.equal(kedaDecision({ ...base, lag: 1, replicas: 2 }).replicas, 1, "one message: one worker");
  const asleep = kedaDecision({ ...base, activationLagThreshold: 1, lag: 1, replicas: 0 });
  t.same([asleep.active, asleep.replicas], [false, 0], "the guide's threshold 1: one message is not above it");
  t.equal(asleep.line, "lag 1 is not above activationLagThreshold 1: inactive, resting at 0");
  const cooling = kedaDecision({ ...base, lag: 0, replicas: 3 });
  t.equal(cooling.line, "lag 0 is not above activationLagThreshold 0: inactive, down to 0 once the cooldown has passed");
  t.equal(kedaDecision({ ...base, min: 2, lag: 3, replicas: 2 }).replicas, 2, "active, ceil(3 / 5) = 1, raised to min 2");
});

t.test("the VPA updater: evict when a request leaves the bounds", async (t) => {
  const mib = 2 ** 20;
  const format = (r: "cpu" | "memory", v: number) => (r === "cpu" ? `${Math.round(v * 1000)}m` : `${Math.round(v / mib)}Mi`);
  const rec = { target: { cpu: 0.05, memory: 64 * mib }, lowerBound: { cpu: 0.025, memory: 48 * mib }, upperBound: { cpu: 0.2, memory: 128 * mib }, format };
  const low = vpaDecision({ ...rec, requests: { cpu: 0.01, memory: 64 * mib }, updateMode: "Recreate" });
  t.equal(low.action, "evict");
  t.same(low.outside, ["cpu"]);
  t.equal(low.line, "cpu request 10m outside [25m, 200m] (target 50m), memory request 64Mi within [48Mi, 128Mi] (target 64Mi) → evict; the new pod gets the target");
  t.equal(vpaDecision({ ...rec, requests: { cpu: 0.1, memory: 100 * mib }, updateMode: "Auto" }).action, "keep", "within both bounds");
  t.equal(vpaDecision({ ...rec, requests: { cpu: 0.1, memory: 200 * mib }, updateMode: "Auto" }).action, "evict", "memory above its upper bound; Auto is Recreate");
  t.match(vpaDecision({ ...rec, requests: { cpu: 0.1, memory: 200 * mib }, updateMode: "InPlaceOrRecreate" }).line, /resize or evict/);
  const off = vpaDecision({ ...rec, requests: { cpu: 0.01 }, updateMode: "Off" });
  t.equal(off.action, "off", "Off never touches a running pod");
  t.same(off.outside, ["cpu"], "though it still says which request lies outside");
  t.equal(vpaDecision({ requests: { cpu: 0.1 }, target: {}, lowerBound: {}, upperBound: {}, updateMode: "Recreate" }).line, "no recommendation yet → no eviction");
});
