// The rules the autoscaling tests check a run against, apart from the cluster that produced it: the
// steps of a replica curve, the most a behaviour's policies allow at each, which metric asked for it,
// and the figures of the load tools' output.
import type { Test } from "tap";
import { metricProposal, policyLimit, recommendation, type Behavior } from "../../src/shared/autoscaling.js";

export type { Behavior, ScalingRules } from "../../src/shared/autoscaling.js";

/** One look at the HPA: seconds since the test's start, the replicas it keeps, and what it reads. */
export interface HpaSample {
  at: number;
  replicas: number;
  desired: number;
  cpu?: number;
  memory?: number;
}

/** A change of the replica count, with what the HPA read when it made it. */
export interface Step {
  at: number;
  from: number;
  to: number;
  cpu?: number;
  memory?: number;
}

export function steps(samples: HpaSample[]): Step[] {
  const out: Step[] = [];
  for (let i = 1; i < samples.length; i++) {
    const [before, after] = [samples[i - 1] as HpaSample, samples[i] as HpaSample];
    if (after.replicas !== before.replicas) out.push({ at: after.at, from: before.replicas, to: after.replicas, cpu: after.cpu ?? before.cpu, memory: after.memory ?? before.memory });
  }
  return out;
}

/**
 * The replicas each metric asks for at a step (ceil(current × utilisation / target), as the HPA
 * computes it), and so which one set the direction; the behaviour then limits how far it goes.
 */
export function gate(step: Step, targets: Record<string, number>): string {
  const wants = Object.entries(targets).map(([name, target]) => {
    const value = name === "cpu" ? step.cpu : step.memory;
    return { name, value, wants: value === undefined ? undefined : metricProposal(step.from, { name, current: value, target }).replicas };
  });
  const known = wants.filter((w) => w.wants !== undefined) as { name: string; value: number; wants: number }[];
  const top = known.sort((a, b) => b.wants - a.wants)[0];
  const read = wants.map((w) => `${w.name} ${w.value ?? "?"}% of ${targets[w.name]}% → ${w.wants ?? "?"}`).join(", ");
  return `${step.at.toFixed(0)} s: ${step.from} → ${step.to} (${read}; ${top ? `${top.name} held the most` : "no metric read"})`;
}

/**
 * The replicas the HPA's metrics ask for from one look at it, as its controller computes them: per
 * metric ceil(replicas × utilisation / target), or the replicas as they are while the ratio lies
 * within the controller's 10 % tolerance; the most of those, within min and max. Where it equals the
 * replicas, the HPA has nowhere to go: a frontend whose idle use sits above half its target rests at
 * 2, not at 1.
 */
export function asked(sample: HpaSample, targets: Record<string, number>, min: number, max: number): number {
  const metrics = Object.entries(targets)
    .map(([name, target]) => ({ name, target, current: name === "cpu" ? sample.cpu : sample.memory }))
    .filter((m): m is { name: string; target: number; current: number } => m.current !== undefined && m.target > 0);
  if (metrics.length === 0) return min;
  return Math.min(max, Math.max(min, recommendation(sample.replicas, metrics).replicas));
}

/**
 * Checks every step of a run against the behaviour: each rise no larger than its policies allow from
 * the replicas seen a period earlier, each fall no larger either, and no fall before the scale-down
 * window has passed since the load ended. `slack`: seconds of sampling jitter forgiven at an edge.
 */
export function checkSteps(t: Test, samples: HpaSample[], behavior: Behavior, loadEnd: number, slack: number): void {
  // The replicas seen within a period before `at` (its start trimmed by the slack): the fewest on the
  // way up, the most on the way down, which is what the HPA counts from.
  const seen = (at: number, period: number) => samples.filter((s) => s.at >= at - period + slack && s.at < at).map((s) => s.replicas);
  for (const step of steps(samples)) {
    const direction = step.to > step.from ? "up" : "down";
    const rules = direction === "up" ? behavior.scaleUp : behavior.scaleDown;
    const limit = policyLimit(direction, rules, (period) => {
      const window = seen(step.at, period);
      const all = window.length > 0 ? window : [step.from];
      return direction === "up" ? Math.min(...all) : Math.max(...all);
    }) ?? step.from;
    if (direction === "up") t.ok(step.to <= limit, `${step.at.toFixed(0)} s: up ${step.from} → ${step.to}, within the scale-up policies (at most ${limit})`);
    else {
      t.ok(step.to >= limit, `${step.at.toFixed(0)} s: down ${step.from} → ${step.to}, within the scale-down policies (at least ${limit})`);
      if (step.at >= loadEnd) {
        t.ok(step.at - loadEnd >= behavior.scaleDown.stabilizationWindowSeconds - slack, `${step.at.toFixed(0)} s: the fall came ${(step.at - loadEnd).toFixed(0)} s after the load ended, not before the ${behavior.scaleDown.stabilizationWindowSeconds} s window`);
      }
    }
  }
}

/** What `hey` printed, reduced to its figures: requests a second and the status codes. */
export function heySummary(output: string): { rps: number; statuses: Record<string, number> } {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? 0);
  const statuses: Record<string, number> = {};
  for (const m of output.matchAll(/\[(\d{3})\]\s+(\d+) responses/g)) statuses[m[1] as string] = Number(m[2]);
  return { rps, statuses };
}

/**
 * What `redis-benchmark -q` printed, reduced to requests a second by test. Each test's progress is
 * redrawn in place (a carriage return) before its final line.
 */
export function benchmarkRates(output: string): Record<string, number> {
  const rates: Record<string, number> = {};
  for (const line of output.split(/[\r\n]+/)) {
    const m = /^\s*([A-Z][A-Z_0-9]*(?: \([^)]*\))?): ([\d.]+) requests per second/.exec(line);
    if (m) rates[m[1] as string] = Number(m[2]);
  }
  return rates;
}

/** A quantity of CPU in millicores, or of memory in MiB. */
export function millicores(q: string): number {
  if (q.endsWith("n")) return Number(q.slice(0, -1)) / 1e6;
  if (q.endsWith("u")) return Number(q.slice(0, -1)) / 1e3;
  if (q.endsWith("m")) return Number(q.slice(0, -1));
  return Number(q) * 1000;
}

export function mebibytes(q: string): number {
  const units: Record<string, number> = { Ki: 1 / 1024, Mi: 1, Gi: 1024, k: 1e3 / 2 ** 20, M: 1e6 / 2 ** 20, G: 1e9 / 2 ** 20 };
  const m = /^([\d.]+)([A-Za-z]*)$/.exec(q);
  if (!m) return Number.NaN;
  return m[2] ? Number(m[1]) * (units[m[2]] ?? Number.NaN) : Number(m[1]) / 2 ** 20;
}
