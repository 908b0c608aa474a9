// The arithmetic of the three autoscalers, as their controllers compute it, each decision with one
// line that shows the numbers it came from. The HPA's (Kubernetes' replica calculator and its
// behaviour: tolerance, stabilisation windows, rate policies, min and max), KEDA's (activation and
// the lag per worker) and the VPA updater's (evict when the requests leave the recommended bounds).
// Pure functions: what the cluster reports goes in, the decision and its explanation come out.

/** The HPA controller's default tolerance: a ratio within 10 % of 1 changes nothing. */
export const HPA_TOLERANCE = 0.1;

/** One rate policy of an HPA behaviour. */
export interface ScalingPolicy {
  type: "Percent" | "Pods";
  value: number;
  periodSeconds: number;
}

/** One direction of an HPA behaviour. */
export interface ScalingRules {
  stabilizationWindowSeconds: number;
  /** Max (the default): the policy that allows the biggest change wins; Min: the smallest; Disabled: no change that way. */
  selectPolicy?: "Max" | "Min" | "Disabled";
  policies: ScalingPolicy[];
}

export interface Behavior {
  scaleUp: ScalingRules;
  scaleDown: ScalingRules;
}

/** What an HPA without a behaviour does: up at once by 100 % or 4 pods a 15 s, down after a 300 s window by up to 100 % a 15 s. */
export const DEFAULT_BEHAVIOR: Behavior = {
  scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: "Max", policies: [{ type: "Percent", value: 100, periodSeconds: 15 }, { type: "Pods", value: 4, periodSeconds: 15 }] },
  scaleDown: { stabilizationWindowSeconds: 300, selectPolicy: "Max", policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] },
};

/** A metric as the HPA reads it: the pods' average, in percent of their requests or as a plain value, against its target. */
export interface MetricReading {
  name: string;
  current: number;
  target: number;
  /** "%" for utilisation, "" for an average value such as KEDA's lag. */
  unit?: string;
}

/** What one metric asks for. */
export interface MetricProposal extends MetricReading {
  replicas: number;
  /** The ratio lay within the tolerance: the metric asks for the replicas as they are. */
  withinTolerance: boolean;
  /** How it was computed, with the numbers. */
  line: string;
}

const figure = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 2 : 1).replace(/\.?0+$/, ""));
const shown = (m: MetricReading, n: number) => `${figure(n)}${m.unit === undefined ? " %" : m.unit ? ` ${m.unit}` : ""}`;

/**
 * The replicas one metric asks for: ceil(replicas × current / target), or the replicas as they are
 * while current / target lies within the tolerance of 1. Every pod counted as ready and measured (the
 * controller leaves out pods without metrics and, for CPU, pods still starting, and then assumes the
 * worst case for them).
 */
export function metricProposal(replicas: number, metric: MetricReading, tolerance = HPA_TOLERANCE): MetricProposal {
  const ratio = metric.target > 0 ? metric.current / metric.target : Number.POSITIVE_INFINITY;
  const withinTolerance = Math.abs(ratio - 1) <= tolerance;
  const wanted = withinTolerance ? replicas : Math.ceil(replicas * ratio);
  const line = withinTolerance
    ? `${metric.name} ${shown(metric, metric.current)} / ${shown(metric, metric.target)} = ${figure(ratio)}, within ${figure(tolerance * 100)} % of 1: stays at ${replicas}`
    : `${metric.name}: ceil(${replicas} × ${shown(metric, metric.current)} / ${shown(metric, metric.target)}) = ${wanted}`;
  return { ...metric, replicas: wanted, withinTolerance, line };
}

/** The recommendation before the behaviour: the most any metric asks for (no metric: the replicas as they are). */
export function recommendation(replicas: number, metrics: MetricReading[], tolerance = HPA_TOLERANCE): { replicas: number; per: MetricProposal[]; by?: string } {
  const per = metrics.map((m) => metricProposal(replicas, m, tolerance));
  const top = per.reduce<MetricProposal | undefined>((a, p) => (a === undefined || p.replicas > a.replicas ? p : a), undefined);
  return { replicas: top?.replicas ?? replicas, per, by: top?.name };
}

/**
 * The furthest the policies let the replicas go from those at the start of each policy's period
 * (`periodStart(periodSeconds)`): up, Percent ceil(start × (1 + value %)), Pods start + value; down,
 * Percent floor(start × (1 − value %)), Pods start − value. selectPolicy Max takes the most
 * permissive, Min the least; Disabled allows no change (undefined).
 */
export function policyLimit(direction: "up" | "down", rules: ScalingRules, periodStart: (periodSeconds: number) => number): number | undefined {
  if (rules.selectPolicy === "Disabled" || rules.policies.length === 0) return undefined;
  const limits = rules.policies.map((p) => {
    const start = periodStart(p.periodSeconds);
    if (direction === "up") return p.type === "Percent" ? Math.ceil(start * (1 + p.value / 100)) : start + p.value;
    return p.type === "Percent" ? Math.floor(start * (1 - p.value / 100)) : start - p.value;
  });
  const permissive = (rules.selectPolicy ?? "Max") === "Max";
  return direction === "up" ? (permissive ? Math.max(...limits) : Math.min(...limits)) : permissive ? Math.min(...limits) : Math.max(...limits);
}

/** A recommendation the HPA made, `ago` seconds before now. */
export interface PastRecommendation {
  ago: number;
  replicas: number;
}

/** A change of the replicas the HPA made, `ago` seconds before now (positive: added, negative: removed). */
export interface PastChange {
  ago: number;
  by: number;
}

export interface HpaInput {
  replicas: number;
  min: number;
  max: number;
  metrics: MetricReading[];
  /** Left out: the defaults an HPA without one has. */
  behavior?: Behavior;
  /** Its recent recommendations, for the stabilisation windows (none known: the window holds nothing older). */
  recommendations?: PastRecommendation[];
  /** Its recent changes, for the policies' periods. */
  changes?: PastChange[];
  tolerance?: number;
}

export interface HpaDecision {
  /** What the metrics ask for. */
  wanted: number;
  /** After the stabilisation windows. */
  stabilized: number;
  /** The replicas the HPA sets. */
  replicas: number;
  /** What held it where it is: the metrics, a window, a policy, min or max. */
  limitedBy: "metrics" | "tolerance" | "stabilization" | "policy" | "min" | "max";
  per: MetricProposal[];
  line: string;
}

/**
 * The HPA's decision, in the controller's order: each metric's proposal and the most of them; the
 * stabilisation windows (scaling down never below the most recommended within the down window,
 * scaling up never above the least within the up window); the policies' rate from the replicas at the
 * start of each period; then min and max.
 */
export function hpaDecision(input: HpaInput): HpaDecision {
  const { replicas, min, max } = input;
  const behavior = input.behavior ?? DEFAULT_BEHAVIOR;
  const rec = recommendation(replicas, input.metrics, input.tolerance);
  const wanted = rec.replicas;
  const parts = rec.per.map((p) => p.line);
  const past = input.recommendations ?? [];
  const inWindow = (seconds: number) => past.filter((r) => r.ago < seconds).map((r) => r.replicas);
  const up = Math.min(wanted, ...inWindow(behavior.scaleUp.stabilizationWindowSeconds));
  const down = Math.max(wanted, ...inWindow(behavior.scaleDown.stabilizationWindowSeconds));
  let stabilized = replicas;
  if (stabilized < up) stabilized = up;
  if (stabilized > down) stabilized = down;
  let next = stabilized;
  let limitedBy: HpaDecision["limitedBy"] = rec.per.length > 0 && rec.per.every((p) => p.withinTolerance) ? "tolerance" : "metrics";
  if (stabilized !== wanted) {
    limitedBy = "stabilization";
    const rules = wanted < replicas ? behavior.scaleDown : behavior.scaleUp;
    parts.push(`held at ${stabilized} by the ${rules.stabilizationWindowSeconds} s ${wanted < replicas ? "scale-down" : "scale-up"} stabilisation window (it keeps the ${wanted < replicas ? "most" : "least"} recommended within it)`);
  }
  const changes = input.changes ?? [];
  const periodStart = (direction: "up" | "down") => (period: number) => {
    const within = changes.filter((c) => c.ago <= period && (direction === "up" ? c.by > 0 : c.by < 0)).reduce((a, c) => a + c.by, 0);
    return replicas - within;
  };
  // The rate the policies allow from the replicas at the start of each period, then min and max: the
  // tighter bound names the reason, as the controller's ScaleUpLimit / TooManyReplicas conditions do.
  if (next > replicas) {
    const limit = policyLimit("up", behavior.scaleUp, periodStart("up"));
    const allowed = Math.max(replicas, limit ?? replicas);
    if (next > Math.min(allowed, max)) {
      limitedBy = max <= allowed ? "max" : "policy";
      next = Math.min(allowed, max);
      parts.push(limitedBy === "max" ? `capped at max ${max}` : limit === undefined ? "scale-up disabled" : `the scale-up policies allow at most ${allowed} now`);
    }
  } else if (next < replicas) {
    const limit = policyLimit("down", behavior.scaleDown, periodStart("down"));
    const allowed = Math.min(replicas, limit ?? replicas);
    if (next < Math.max(allowed, min)) {
      limitedBy = min >= allowed ? "min" : "policy";
      next = Math.max(allowed, min);
      parts.push(limitedBy === "min" ? `raised to min ${min}` : limit === undefined ? "scale-down disabled" : `the scale-down policies allow no fewer than ${allowed} now`);
    }
  }
  if (next > max || next < min) {
    limitedBy = next > max ? "max" : "min";
    next = next > max ? max : min;
    parts.push(limitedBy === "max" ? `capped at max ${max}` : `raised to min ${min}`);
  }
  const head = rec.per.length > 1 ? `desired = max(${rec.per.map((p) => p.replicas).join(", ")}) = ${wanted}; ` : "";
  return { wanted, stabilized, replicas: next, limitedBy, per: rec.per, line: `${head}${parts.join("; ")} → ${next} replica${next === 1 ? "" : "s"}` };
}

export interface KedaInput {
  /** The consumer's lag: pending plus acknowledgement-pending messages. */
  lag: number;
  lagThreshold: number;
  activationLagThreshold: number;
  min: number;
  max: number;
  replicas: number;
}

export interface KedaDecision {
  /** Whether KEDA calls the trigger active: the lag strictly above the activation threshold. */
  active: boolean;
  /** What KEDA's HPA asks for on the lag (before its own behaviour). */
  replicas: number;
  line: string;
}

/**
 * KEDA's decision for a NATS JetStream trigger: active only while the lag is strictly above
 * activationLagThreshold; inactive, it scales to minReplicaCount (0 included) once the cooldown has
 * passed; active, the HPA it made asks for ceil(lag / lagThreshold) workers (an AverageValue target),
 * at least 1 and at most maxReplicaCount.
 */
export function kedaDecision(input: KedaInput): KedaDecision {
  const { lag, lagThreshold, activationLagThreshold, min, max, replicas } = input;
  const active = lag > activationLagThreshold;
  if (!active) {
    const line = `lag ${lag} is not above activationLagThreshold ${activationLagThreshold}: inactive${replicas > min ? `, down to ${min} once the cooldown has passed` : `, resting at ${min}`}`;
    return { active, replicas: replicas > min ? replicas : min, line };
  }
  const raw = lagThreshold > 0 ? Math.ceil(lag / lagThreshold) : max;
  const wanted = Math.min(max, Math.max(1, min, raw));
  const capped = raw > max ? `, capped at maxReplicaCount ${max}` : raw < Math.max(1, min) ? `, raised to ${Math.max(1, min)}` : "";
  const woke = replicas === 0 ? `lag ${lag} > activationLagThreshold ${activationLagThreshold}: KEDA activates; ` : "";
  return { active, replicas: wanted, line: `${woke}lag ${lag} / lagThreshold ${lagThreshold} = ${raw} worker${raw === 1 ? "" : "s"}${capped}` };
}

/** Resource amounts in the units the caller reads them in (cores and bytes, say); a resource left out is not compared. */
export type Resources = Partial<Record<"cpu" | "memory", number>>;

export interface VpaInput {
  /** The pod's requests now. */
  requests: Resources;
  target: Resources;
  lowerBound: Resources;
  upperBound: Resources;
  /** The VPA's updatePolicy.updateMode (Recreate, InPlaceOrRecreate, Initial, Off; Auto is Recreate). */
  updateMode: string;
  /** How a number is printed, per resource. */
  format?: (resource: "cpu" | "memory", value: number) => string;
}

export interface VpaDecision {
  /** Evict (or resize in place) now; keep; or the mode never acts on running pods. */
  action: "evict" | "keep" | "off";
  /** The resources whose request lies outside [lowerBound, upperBound]. */
  outside: ("cpu" | "memory")[];
  line: string;
}

/**
 * The VPA updater's decision for one pod: it acts when a request lies outside the recommendation's
 * [lowerBound, upperBound] (the new pod then gets the target); within the bounds it leaves the pod
 * alone. Off and Initial never touch a running pod.
 */
export function vpaDecision(input: VpaInput): VpaDecision {
  const format = input.format ?? ((_r: string, v: number) => figure(v));
  const resources = (["cpu", "memory"] as const).filter((r) => input.requests[r] !== undefined && input.lowerBound[r] !== undefined && input.upperBound[r] !== undefined);
  const outside = resources.filter((r) => (input.requests[r] as number) < (input.lowerBound[r] as number) || (input.requests[r] as number) > (input.upperBound[r] as number));
  const describe = (r: "cpu" | "memory") =>
    `${r} request ${format(r, input.requests[r] as number)} ${outside.includes(r) ? "outside" : "within"} [${format(r, input.lowerBound[r] as number)}, ${format(r, input.upperBound[r] as number)}]${input.target[r] === undefined ? "" : ` (target ${format(r, input.target[r])})`}`;
  const seen = resources.map(describe).join(", ");
  const mode = input.updateMode === "Auto" ? "Recreate" : input.updateMode;
  if (mode === "Off" || mode === "Initial") {
    return { action: "off", outside, line: `${seen || "no recommendation yet"}; updateMode ${input.updateMode}: running pods are left alone${mode === "Initial" ? " (new pods get the target)" : ""}` };
  }
  if (outside.length > 0) return { action: "evict", outside, line: `${seen} → ${mode === "InPlaceOrRecreate" ? "resize or evict" : "evict"}; the new pod gets the target` };
  return { action: "keep", outside, line: `${seen || "no recommendation yet"} → no eviction` };
}
