// The rules the real-node autoscaling tests hold a run to: a run that breaks the behaviour block must
// fail them, one that keeps it must pass, whatever the sampling jitter.
import t from "tap";
import { policyLimit } from "../../src/shared/autoscaling.js";
import { asked, benchmarkRates, checkSteps, gate, heySummary, mebibytes, millicores, steps, type Behavior, type HpaSample } from "./scaling-rules.js";

const demo: Behavior = {
  scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] },
  scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Percent", value: 20, periodSeconds: 60 }] },
};

/** Samples every 2 s holding each [from second, replicas] until the next. */
function curve(points: [number, number][], until: number): HpaSample[] {
  const out: HpaSample[] = [];
  for (let at = 0; at <= until; at += 2) {
    const replicas = [...points].reverse().find(([from]) => from <= at)?.[1] ?? 1;
    out.push({ at, replicas, desired: replicas, cpu: 100, memory: 20 });
  }
  return out;
}

/** The assertions checkSteps makes, recorded instead of reported. */
function judge(samples: HpaSample[], behavior: Behavior, loadEnd: number): { ok: boolean; message: string }[] {
  const seen: { ok: boolean; message: string }[] = [];
  const recorder = { ok: (ok: unknown, message?: string) => void seen.push({ ok: !!ok, message: message ?? "" }) };
  checkSteps(recorder as unknown as Parameters<typeof checkSteps>[0], samples, behavior, loadEnd, 3);
  return seen;
}

t.test("the policies' limits, as the HPA controller computes them", async (t) => {
  t.equal(policyLimit("up", demo.scaleUp, () => 1), 2, "100 % up from 1: 2");
  t.equal(policyLimit("up", demo.scaleUp, () => 3), 6, "100 % up from 3: 6");
  t.equal(policyLimit("down", demo.scaleDown, () => 5), 4, "20 % down from 5: 4");
  t.equal(policyLimit("down", demo.scaleDown, () => 4), 3, "20 % down from 4: 3.2, rounded down");
  t.equal(policyLimit("down", demo.scaleDown, () => 2), 1, "20 % down from 2: 1.6, rounded down");
  const both = { stabilizationWindowSeconds: 0, policies: [{ type: "Percent" as const, value: 50, periodSeconds: 15 }, { type: "Pods" as const, value: 4, periodSeconds: 15 }] };
  t.equal(policyLimit("up", both, () => 2), 6, "the most permissive policy wins (Pods +4 over 50 %)");
});

t.test("a run that keeps the demo's behaviour passes every check", async (t) => {
  // 1 → 2 → 4 → 5 fifteen seconds apart; the load ends at 100 s; down one a minute after 300 s more.
  const samples = curve([[0, 1], [20, 2], [36, 4], [52, 5], [420, 4], [482, 3], [544, 2], [606, 1]], 640);
  const verdicts = judge(samples, demo, 100);
  t.equal(verdicts.length, 7 + 4, "a limit check per step, a window check per fall");
  t.same(verdicts.filter((v) => !v.ok), [], "none fails");
  t.same(steps(samples).map((s) => [s.from, s.to]), [[1, 2], [2, 4], [4, 5], [5, 4], [4, 3], [3, 2], [2, 1]], "the steps read off the samples");
});

t.test("a run that breaks the behaviour fails the check it breaks", async (t) => {
  const jump = judge(curve([[0, 1], [20, 4]], 60), demo, 100);
  t.ok(jump.some((v) => !v.ok && /up 1 → 4/.test(v.message)), "1 → 4 in one period: more than 100 %");
  const twice = judge(curve([[0, 1], [20, 2], [26, 4]], 60), demo, 100);
  t.ok(twice.some((v) => !v.ok && /up 2 → 4/.test(v.message)), "2 → 4 six seconds after 1 → 2: the period started at 1");
  const early = judge(curve([[0, 5], [200, 4]], 260), demo, 100);
  t.ok(early.some((v) => !v.ok && /not before the 300 s window/.test(v.message)), "a fall 100 s after the load: inside the 300 s window");
  const steep = judge(curve([[0, 5], [420, 3]], 460), demo, 100);
  t.ok(steep.some((v) => !v.ok && /down 5 → 3/.test(v.message)), "5 → 3 in one period: more than 20 %");
  const fast = judge(curve([[0, 5], [420, 4], [440, 3]], 460), demo, 100);
  t.ok(fast.some((v) => !v.ok && /down 4 → 3/.test(v.message)), "4 → 3 twenty seconds after 5 → 4: the period started at 5");
});

t.test("which metric asked for a step", async (t) => {
  t.match(gate({ at: 30, from: 2, to: 4, cpu: 250, memory: 40 }, { cpu: 30, memory: 50 }), /2 → 4 \(cpu 250% of 30% → 17, memory 40% of 50% → 2; cpu held the most\)/);
  t.match(gate({ at: 30, from: 3, to: 2, cpu: 5, memory: 70 }, { cpu: 30, memory: 50 }), /memory held the most/, "memory can hold replicas up");
  t.match(gate({ at: 30, from: 3, to: 2 }, { cpu: 30 }), /no metric read/);
});

t.test("asked: the replicas the metrics ask for, with the HPA's tolerance, within min and max", async (t) => {
  const targets = { cpu: 30, memory: 50 };
  t.equal(asked({ at: 0, replicas: 2, desired: 2, cpu: 12, memory: 20 }, targets, 1, 5), 1, "idle at 12 % of a 30 % target: 2 → 1");
  t.equal(asked({ at: 0, replicas: 2, desired: 2, cpu: 22, memory: 20 }, targets, 1, 5), 2, "idle at 22 %: ceil(2 × 22 / 30) = 2, the HPA rests at 2");
  t.equal(asked({ at: 0, replicas: 3, desired: 3, cpu: 16, memory: 20 }, targets, 1, 5), 2, "3 at 16 % ask for 2");
  t.equal(asked({ at: 0, replicas: 2, desired: 2, cpu: 5, memory: 70 }, targets, 1, 5), 3, "memory can ask for more than CPU");
  t.equal(asked({ at: 0, replicas: 4, desired: 4, cpu: 32, memory: 20 }, targets, 1, 5), 4, "within 10 % of the target: no change");
  t.equal(asked({ at: 0, replicas: 4, desired: 4, cpu: 300, memory: 20 }, targets, 1, 5), 5, "never above max");
  t.equal(asked({ at: 0, replicas: 1, desired: 1 }, targets, 1, 5), 1, "no reading: min");
});

t.test("figures of the tools' output and quantities", async (t) => {
  const hey = "Summary:\n  Total:\t90.0134 secs\n  Requests/sec:\t412.3301\n\nStatus code distribution:\n  [200]\t37110 responses\n  [503]\t2 responses\n";
  t.same(heySummary(hey), { rps: 412.3301, statuses: { 200: 37110, 503: 2 } });
  t.same(heySummary("nothing"), { rps: 0, statuses: {} });
  const bench = "PING_INLINE: rps=0.0 (overall: -nan) avg_msec=-nan (overall: -nan)\r PING_INLINE: 117647.05 requests per second, p50=0.191 msec\n SET: 153846.16 requests per second, p50=0.167 msec\n LRANGE_300 (first 300 elements): rps=3980.1 (overall: 55500.0)\r LRANGE_300 (first 300 elements): 57142.86 requests per second, p50=0.447 msec\n";
  t.same(benchmarkRates(bench), { PING_INLINE: 117647.05, SET: 153846.16, "LRANGE_300 (first 300 elements)": 57142.86 }, "redis-benchmark -q: the final line of each test, not its progress");
  t.same(benchmarkRates('Invalid option "--no-auth-warning" or option argument missing'), {});
  t.equal(millicores("250m"), 250);
  t.equal(millicores("1"), 1000);
  t.equal(millicores("1500000n"), 1.5);
  t.equal(millicores("2500u"), 2.5);
  t.equal(mebibytes("64Mi"), 64);
  t.equal(mebibytes("1Gi"), 1024);
  t.equal(mebibytes("2048Ki"), 2);
  t.equal(mebibytes("1048576"), 1);
  t.ok(Number.isNaN(mebibytes("lots")), "not a quantity");
});
