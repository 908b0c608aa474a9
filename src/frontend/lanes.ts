// The three lanes of the web UI's scaling view, computed from the objects the frontend watches: the
// frontend's HPA, the backend's ScaledObject and the HPA KEDA made for it, the Redis VPA, the pods of
// the three tiers and their scaling events. Each lane carries its numbers, where each comes from (a
// status or spec field, or marked ≈ when it is this frontend's estimate), and one line that explains
// the autoscaler's last decision with the arithmetic of src/shared/autoscaling.ts. Pure: objects in,
// lanes out.
import { DEFAULT_BEHAVIOR, hpaDecision, kedaDecision, vpaDecision, type Behavior, type MetricReading, type ScalingRules } from "../shared/autoscaling.js";
import type { KubeObject } from "../shared/kube.js";
import { cpuCores, memoryBytes } from "../shared/quantity.js";

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

type Quantities = Record<string, string | undefined>;

export interface Hpa extends KubeObject {
  spec: {
    minReplicas?: number;
    maxReplicas: number;
    behavior?: { scaleUp?: Partial<ScalingRules>; scaleDown?: Partial<ScalingRules> };
    metrics?: {
      type: string;
      resource?: { name: string; target: { type: string; averageUtilization?: number; averageValue?: string } };
      external?: { metric: { name: string }; target: { type: string; averageValue?: string; value?: string } };
    }[];
  };
  status?: {
    currentReplicas?: number;
    desiredReplicas?: number;
    lastScaleTime?: string;
    currentMetrics?: {
      type: string;
      resource?: { name: string; current: { averageUtilization?: number; averageValue?: string } };
      external?: { metric: { name: string }; current: { averageValue?: string; value?: string } };
    }[] | null;
    conditions?: Condition[];
  };
}

export interface ScaledObject extends KubeObject {
  spec: {
    minReplicaCount?: number;
    maxReplicaCount?: number;
    cooldownPeriod?: number;
    pollingInterval?: number;
    triggers: { type: string; metadata?: Record<string, string> }[];
    advanced?: { horizontalPodAutoscalerConfig?: { name?: string } };
  };
  status?: { conditions?: Condition[]; lastActiveTime?: string; hpaName?: string };
}

export interface Vpa extends KubeObject {
  spec: {
    targetRef?: { apiVersion?: string; kind: string; name: string };
    updatePolicy?: { updateMode?: string };
    resourcePolicy?: { containerPolicies?: { containerName?: string; minAllowed?: Quantities; maxAllowed?: Quantities }[] };
  };
  status?: {
    recommendation?: { containerRecommendations?: { containerName: string; target?: Quantities; lowerBound?: Quantities; upperBound?: Quantities }[] };
    conditions?: Condition[];
  };
}

export interface Pod extends KubeObject {
  spec: { containers: { name: string; resources?: { requests?: Quantities; limits?: Quantities } }[] };
  status?: { phase?: string; conditions?: Condition[] };
}

export interface KubeEvent extends KubeObject {
  involvedObject: { kind?: string; name?: string; namespace?: string };
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  eventTime?: string | null;
  lastTimestamp?: string | null;
  firstTimestamp?: string | null;
}

/** One number of a lane: what it is, its value, and the field it comes from. */
export interface Fact {
  label: string;
  value: string;
  source: string;
  /** Not carried by any status: this frontend's estimate (shown with ≈). */
  estimate?: boolean;
}

export interface LaneEvent {
  at: string;
  reason: string;
  message: string;
}

export type Tier = "frontend" | "backend" | "redis";

export interface Lane {
  tier: Tier;
  autoscaler: "HPA" | "KEDA" | "VPA";
  /** The object the lane follows, as kind namespace/name. */
  object: string;
  /** watching: the object is there and read; absent: nothing to show, and `note` says why. */
  state: "watching" | "absent";
  note?: string;
  /** What keeps the lane from being complete (a list that cannot be read, a condition that is false). */
  problems: string[];
  facts: Fact[];
  /** The last decision explained with its numbers. */
  line: string;
  events: LaneEvent[];
  pods: { ready: number; total: number };
}

/** One point of the lanes' timelines. */
export interface Sample {
  at: number;
  frontend?: { replicas: number; desired: number; cpu?: number; memory?: number; wanted?: number };
  backend?: { replicas: number; lag: number; workers: number };
  redis?: { requestCpu?: number; requestMemory?: number; targetCpu?: number; targetMemory?: number; lowerMemory?: number; upperMemory?: number };
}

/** What the lanes are computed from. */
export interface ScalingState {
  frontend?: { name: string; hpa?: Hpa; pods: Pod[]; events: KubeEvent[]; problems: string[] };
  backend?: { name: string; scaledObject?: ScaledObject; hpa?: Hpa; pods: Pod[]; events: KubeEvent[]; problems: string[] };
  redis?: { name: string; vpa?: Vpa; pods: Pod[]; events: KubeEvent[]; problems: string[] };
  /** The consumer's lag and the live workers as this frontend reads them from NATS. */
  consumer: { lag: number; workers: number; at: string | null };
}

const figure = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 2 : 1).replace(/\.?0+$/, ""));
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** CPU as millicores or cores, memory in MiB or GiB: the way requests are usually written. */
export function formatResource(resource: "cpu" | "memory", value: number): string {
  if (resource === "cpu") return value < 1 ? `${Math.round(value * 1000)}m` : `${figure(value)}`;
  const mib = value / 2 ** 20;
  return mib >= 1024 ? `${figure(mib / 1024)}Gi` : `${figure(Math.round(mib * 10) / 10)}Mi`;
}

const timeOf = (e: KubeEvent) => e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp ?? "";

/** The lane's events, newest first, at most `n`. */
function recent(events: KubeEvent[], n = 5): LaneEvent[] {
  return [...events]
    .sort((a, b) => Date.parse(timeOf(b)) - Date.parse(timeOf(a)))
    .slice(0, n)
    .map((e) => ({ at: timeOf(e), reason: e.reason ?? "", message: e.message ?? "" }));
}

const isReady = (p: Pod) => !p.metadata.deletionTimestamp && (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
const podCount = (pods: Pod[]) => ({ ready: pods.filter(isReady).length, total: pods.filter((p) => !p.metadata.deletionTimestamp).length });

/** The behaviour the HPA acts on: its own where set, the API's defaults where not. */
export function behaviorOf(hpa: Hpa): Behavior {
  const fill = (rules: Partial<ScalingRules> | undefined, fallback: ScalingRules): ScalingRules => ({
    stabilizationWindowSeconds: rules?.stabilizationWindowSeconds ?? fallback.stabilizationWindowSeconds,
    selectPolicy: rules?.selectPolicy ?? "Max",
    policies: rules?.policies ?? fallback.policies,
  });
  return { scaleUp: fill(hpa.spec.behavior?.scaleUp, DEFAULT_BEHAVIOR.scaleUp), scaleDown: fill(hpa.spec.behavior?.scaleDown, DEFAULT_BEHAVIOR.scaleDown) };
}

/** A behaviour direction in words: "100 % or 4 pods per 15 s, no window". */
export function describeRules(rules: ScalingRules): string {
  if (rules.selectPolicy === "Disabled") return "disabled";
  const policies = rules.policies.map((p) => `${p.type === "Percent" ? `${p.value} %` : plural(p.value, "pod")} per ${p.periodSeconds} s`);
  const joined = policies.length > 1 ? `${rules.selectPolicy === "Min" ? "the least of" : "the most of"} ${policies.join(" or ")}` : (policies[0] ?? "no policy");
  return `${joined}, ${rules.stabilizationWindowSeconds > 0 ? `${rules.stabilizationWindowSeconds} s window` : "no window"}`;
}

/** The HPA's Resource metrics as readings: current utilisation (status) against the target (spec). */
export function resourceReadings(hpa: Hpa): MetricReading[] {
  const readings: MetricReading[] = [];
  for (const spec of hpa.spec.metrics ?? []) {
    if (spec.type !== "Resource" || !spec.resource || spec.resource.target.averageUtilization === undefined) continue;
    const current = (hpa.status?.currentMetrics ?? []).find((m) => m.type === "Resource" && m.resource?.name === spec.resource?.name)?.resource?.current.averageUtilization;
    if (current === undefined) continue;
    readings.push({ name: spec.resource.name, current, target: spec.resource.target.averageUtilization });
  }
  return readings;
}

const conditionProblems = (kind: string, conditions: Condition[] | undefined, healthy: Record<string, string>) =>
  (conditions ?? [])
    .filter((c) => healthy[c.type] !== undefined && c.status !== healthy[c.type])
    .map((c) => `${kind} condition ${c.type} is ${c.status}${c.reason ? ` (${c.reason})` : ""}${c.message ? `: ${c.message}` : ""}`);

/**
 * The frontend lane. `history` holds this frontend's earlier samples (newest last), from which the
 * stabilisation window's hold is estimated: no status carries the HPA's past recommendations.
 */
export function frontendLane(state: ScalingState, now: number, history: Sample[]): Lane {
  const f = state.frontend;
  const base: Lane = { tier: "frontend", autoscaler: "HPA", object: `HorizontalPodAutoscaler ${f?.name ?? ""}`, state: "absent", problems: f?.problems ?? [], facts: [], line: "", events: [], pods: podCount(f?.pods ?? []) };
  if (!f) return { ...base, note: "The frontend has no HPA in this release (frontend.autoscaling.hpa.enabled is off)." };
  if (!f.hpa) return { ...base, note: f.problems.length ? "The HPA cannot be read." : `No HorizontalPodAutoscaler ${f.name} in the cluster.` };
  const hpa = f.hpa;
  const replicas = hpa.status?.currentReplicas ?? 0;
  const min = hpa.spec.minReplicas ?? 1;
  const max = hpa.spec.maxReplicas;
  const behavior = behaviorOf(hpa);
  const readings = resourceReadings(hpa);
  const facts: Fact[] = [
    { label: "Replicas", value: String(replicas), source: "status.currentReplicas" },
    { label: "Desired", value: String(hpa.status?.desiredReplicas ?? replicas), source: "status.desiredReplicas" },
    { label: "Min–max", value: `${min}–${max}`, source: "spec.minReplicas, spec.maxReplicas" },
  ];
  for (const spec of hpa.spec.metrics ?? []) {
    if (spec.type !== "Resource" || !spec.resource) continue;
    const reading = readings.find((r) => r.name === spec.resource?.name);
    facts.push({
      label: spec.resource.name === "cpu" ? "CPU" : spec.resource.name === "memory" ? "Memory" : spec.resource.name,
      value: `${reading ? `${reading.current} %` : "unknown"} of target ${spec.resource.target.averageUtilization ?? "?"} %`,
      source: `status.currentMetrics[${spec.resource.name}].current.averageUtilization against spec.metrics[${spec.resource.name}].target.averageUtilization`,
    });
  }
  facts.push(
    { label: "Scale up", value: describeRules(behavior.scaleUp), source: "spec.behavior.scaleUp" },
    { label: "Scale down", value: describeRules(behavior.scaleDown), source: "spec.behavior.scaleDown" },
  );
  // Past recommendations and changes as this frontend saw them: an estimate of the controller's own.
  // A recommendation is dated by the sample that first showed its status (the controller makes it when
  // it writes the status; the samples after it repeat the same status until the next sync). A change is
  // dated by status.desiredReplicas, which the controller writes when it scales; status.currentReplicas
  // follows only at its next sync, a period later.
  const past = history.filter((s) => s.frontend && now - s.at >= 0);
  const recommendations: { ago: number; replicas: number }[] = [];
  let shownBefore: string | undefined;
  for (const s of past) {
    const f = s.frontend;
    const status = JSON.stringify([f?.replicas, f?.desired, f?.cpu, f?.memory]);
    if (f?.wanted !== undefined && status !== shownBefore) recommendations.push({ ago: (now - s.at) / 1000, replicas: f.wanted });
    shownBefore = status;
  }
  const changes: { ago: number; by: number }[] = [];
  for (let i = 1; i < past.length; i++) {
    const by = (past[i]?.frontend?.desired ?? 0) - (past[i - 1]?.frontend?.desired ?? 0);
    if (by !== 0) changes.push({ ago: (now - (past[i] as Sample).at) / 1000, by });
  }
  const problems = [...f.problems, ...conditionProblems("HPA", hpa.status?.conditions, { AbleToScale: "True", ScalingActive: "True" })];
  if (readings.length === 0) {
    return { ...base, state: "watching", facts, problems, events: recent(f.events), line: `no current metrics yet: the HPA keeps ${plural(replicas, "replica")} until it can read them` };
  }
  const decision = hpaDecision({ replicas, min, max, metrics: readings, behavior, recommendations, changes });
  let line = decision.line;
  if (decision.limitedBy === "stabilization" && decision.wanted < replicas) {
    // The window keeps the most recommended within it: the hold ends when the last recommendation at or
    // above the current replicas has aged out of it.
    const window = behavior.scaleDown.stabilizationWindowSeconds;
    const holding = recommendations.filter((r) => r.ago < window && r.replicas > decision.wanted);
    const youngest = holding.reduce((a, r) => Math.min(a, r.ago), window);
    line += ` (≈ ${Math.max(0, Math.ceil(window - youngest))} s left in the window)`;
    facts.push({ label: "Window left", value: `≈ ${Math.max(0, Math.ceil(window - youngest))} s`, source: "this frontend's samples of the recommendation; no status carries it", estimate: true });
  }
  return { ...base, state: "watching", facts, problems, events: recent(f.events), line };
}

/** The number a quantity string stands for ("2500m" is 2.5). */
function quantity(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return cpuCores(value) ?? memoryBytes(value);
}

/** The lag KEDA's HPA reads: its external metric's average per replica times the replicas. */
export function kedaHpaLag(hpa: Hpa | undefined): number | undefined {
  const metric = (hpa?.status?.currentMetrics ?? []).find((m) => m.type === "External")?.external?.current;
  const average = quantity(metric?.averageValue);
  if (average !== undefined) return Math.round(average * (hpa?.status?.currentReplicas ?? 0));
  return quantity(metric?.value);
}

export function backendLane(state: ScalingState, now: number): Lane {
  const b = state.backend;
  const base: Lane = { tier: "backend", autoscaler: "KEDA", object: `ScaledObject ${b?.name ?? ""}`, state: "absent", problems: b?.problems ?? [], facts: [], line: "", events: [], pods: podCount(b?.pods ?? []) };
  const consumerFacts: Fact[] = [
    { label: "Queue lag", value: String(state.consumer.lag), source: "the consumer's num_pending + num_ack_pending, read from NATS by this frontend each second" },
    { label: "Live workers", value: String(state.consumer.workers), source: "worker heartbeats on NATS" },
  ];
  if (!b) return { ...base, facts: consumerFacts, note: "The backend has no ScaledObject in this release (backend.autoscaling.keda.enabled is off)." };
  if (!b.scaledObject) return { ...base, facts: consumerFacts, note: b.problems.length ? "The ScaledObject cannot be read." : `No ScaledObject ${b.name} in the cluster.` };
  const so = b.scaledObject;
  const trigger = so.spec.triggers.find((t) => t.type === "nats-jetstream") ?? so.spec.triggers[0];
  const lagThreshold = Number(trigger?.metadata?.lagThreshold ?? 10);
  const activationLagThreshold = Number(trigger?.metadata?.activationLagThreshold ?? 0);
  const min = so.spec.minReplicaCount ?? 0;
  const max = so.spec.maxReplicaCount ?? 100;
  const cooldown = so.spec.cooldownPeriod ?? 300;
  const replicas = b.hpa?.status?.currentReplicas ?? b.pods.filter((p) => !p.metadata.deletionTimestamp).length;
  const condition = (type: string) => so.status?.conditions?.find((c) => c.type === type);
  const activeNow = condition("Active")?.status === "True";
  const hpaLag = activeNow ? kedaHpaLag(b.hpa) : undefined;
  const lag = hpaLag ?? state.consumer.lag;
  const facts: Fact[] = [
    { label: "Replicas", value: String(replicas), source: b.hpa ? `status.currentReplicas of HPA ${b.hpa.metadata.name}` : "the backend's pods" },
    hpaLag !== undefined
      ? { label: "Lag (KEDA)", value: `${hpaLag} / lagThreshold ${lagThreshold}`, source: `status.currentMetrics[External].current.averageValue × status.currentReplicas of HPA ${b.hpa?.metadata.name}; spec.triggers[0].metadata.lagThreshold` }
      : { label: "Lag", value: `${state.consumer.lag} / lagThreshold ${lagThreshold}`, source: "the consumer's lag as this frontend reads it (KEDA's HPA reports none while inactive); spec.triggers[0].metadata.lagThreshold" },
    { label: "Activation", value: `${activeNow ? "active" : "inactive"} (above ${activationLagThreshold})`, source: "status.conditions[Active]; spec.triggers[0].metadata.activationLagThreshold" },
    { label: "Min–max", value: `${min}–${max}`, source: "spec.minReplicaCount, spec.maxReplicaCount" },
    { label: "Cooldown", value: `${cooldown} s`, source: "spec.cooldownPeriod" },
    ...consumerFacts,
  ];
  const problems = [...b.problems, ...conditionProblems("ScaledObject", so.status?.conditions, { Ready: "True", Fallback: "False" })];
  const decision = kedaDecision({ lag, lagThreshold, activationLagThreshold, min, max, replicas });
  let line = decision.line;
  if (!decision.active && replicas > min && so.status?.lastActiveTime) {
    const left = Math.ceil((Date.parse(so.status.lastActiveTime) + cooldown * 1000 - now) / 1000);
    line += left > 0 ? ` (≈ ${left} s of the cooldown left)` : " (the cooldown has passed)";
    facts.push({ label: "Cooldown left", value: `≈ ${Math.max(0, left)} s`, source: "status.lastActiveTime + spec.cooldownPeriod − now", estimate: true });
  }
  return { ...base, state: "watching", facts, problems, events: recent(b.events), line };
}

/** The container the VPA's recommendation is read for: the one its policy names, else the pod's first. */
function vpaContainer(vpa: Vpa, pods: Pod[]): string | undefined {
  const named = (vpa.spec.resourcePolicy?.containerPolicies ?? []).map((p) => p.containerName).find((n) => n && n !== "*");
  return named ?? pods[0]?.spec.containers[0]?.name ?? vpa.status?.recommendation?.containerRecommendations?.[0]?.containerName;
}

const resources = (q: Quantities | undefined) => ({ cpu: cpuCores(q?.cpu), memory: memoryBytes(q?.memory) });
const defined = (r: { cpu?: number; memory?: number }) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as { cpu?: number; memory?: number };

export function redisLane(state: ScalingState): Lane {
  const r = state.redis;
  const base: Lane = { tier: "redis", autoscaler: "VPA", object: `VerticalPodAutoscaler ${r?.name ?? ""}`, state: "absent", problems: r?.problems ?? [], facts: [], line: "", events: [], pods: podCount(r?.pods ?? []) };
  if (!r) return { ...base, note: "Redis has no VPA in this release (redis.autoscaling.vpa.enabled is off, or Redis is external)." };
  if (!r.vpa) return { ...base, note: r.problems.length ? "The VPA cannot be read." : `No VerticalPodAutoscaler ${r.name} in the cluster.` };
  const vpa = r.vpa;
  const live = r.pods.filter((p) => !p.metadata.deletionTimestamp);
  const container = vpaContainer(vpa, live);
  const rec = vpa.status?.recommendation?.containerRecommendations?.find((c) => c.containerName === container);
  const pod = live[0];
  const requests = resources(pod?.spec.containers.find((c) => c.name === container)?.resources?.requests);
  const mode = vpa.spec.updatePolicy?.updateMode ?? "Auto";
  const show = (v: { cpu?: number; memory?: number }) => [v.cpu === undefined ? undefined : formatResource("cpu", v.cpu), v.memory === undefined ? undefined : formatResource("memory", v.memory)].filter(Boolean).join(", ") || "none";
  const policy = (vpa.spec.resourcePolicy?.containerPolicies ?? []).find((p) => p.containerName === container || p.containerName === "*");
  const evictions = r.events.filter((e) => e.reason === "EvictedByVPA" || e.reason === "EvictedPod");
  const lastEviction = recent(evictions, 1)[0];
  const facts: Fact[] = [
    { label: "Requests", value: show(requests), source: `spec.containers[${container ?? "?"}].resources.requests of pod ${pod?.metadata.name ?? "(none)"}` },
    { label: "Target", value: rec ? show(resources(rec.target)) : "none yet", source: `status.recommendation.containerRecommendations[${container ?? "?"}].target` },
    { label: "Bounds", value: rec ? `[${show(resources(rec.lowerBound))}] – [${show(resources(rec.upperBound))}]` : "none yet", source: "…lowerBound and …upperBound of the same recommendation" },
    { label: "Allowed", value: `${show(resources(policy?.minAllowed))} – ${show(resources(policy?.maxAllowed))}`, source: "spec.resourcePolicy.containerPolicies[].minAllowed, maxAllowed" },
    { label: "Update mode", value: mode, source: "spec.updatePolicy.updateMode" },
    { label: "Last eviction", value: lastEviction ? `${lastEviction.at} (${lastEviction.reason})` : "none seen", source: "events EvictedByVPA (on the pod) and EvictedPod (on the VPA)" },
  ];
  const problems = [...r.problems, ...conditionProblems("VPA", vpa.status?.conditions, { ConfigUnsupported: "False", NoPodsMatched: "False" })];
  if (!rec) {
    return { ...base, state: "watching", facts, problems, events: recent(r.events), line: `no recommendation for ${container ?? "the container"} yet: the recommender needs its first samples of the pod's usage` };
  }
  const decision = vpaDecision({
    requests: defined(requests),
    target: defined(resources(rec.target)),
    lowerBound: defined(resources(rec.lowerBound)),
    upperBound: defined(resources(rec.upperBound)),
    updateMode: mode,
    format: formatResource,
  });
  return { ...base, state: "watching", facts, problems, events: recent(r.events), line: decision.line };
}

/** A point of the timelines from the same state. */
export function sample(state: ScalingState, now: number): Sample {
  const out: Sample = { at: now };
  const hpa = state.frontend?.hpa;
  if (hpa) {
    const readings = resourceReadings(hpa);
    const replicas = hpa.status?.currentReplicas ?? 0;
    const cpu = readings.find((m) => m.name === "cpu")?.current;
    const memory = readings.find((m) => m.name === "memory")?.current;
    const wanted = readings.length ? hpaDecision({ replicas, min: hpa.spec.minReplicas ?? 1, max: hpa.spec.maxReplicas, metrics: readings, behavior: behaviorOf(hpa) }).wanted : undefined;
    out.frontend = { replicas, desired: hpa.status?.desiredReplicas ?? replicas, ...(cpu === undefined ? {} : { cpu }), ...(memory === undefined ? {} : { memory }), ...(wanted === undefined ? {} : { wanted }) };
  }
  const b = state.backend;
  if (b) out.backend = { replicas: b.hpa?.status?.currentReplicas ?? b.pods.filter((p) => !p.metadata.deletionTimestamp).length, lag: state.consumer.lag, workers: state.consumer.workers };
  const r = state.redis;
  if (r?.vpa) {
    const live = r.pods.filter((p) => !p.metadata.deletionTimestamp);
    const container = vpaContainer(r.vpa, live);
    const rec = r.vpa.status?.recommendation?.containerRecommendations?.find((c) => c.containerName === container);
    const req = resources(live[0]?.spec.containers.find((c) => c.name === container)?.resources?.requests);
    const set = (k: keyof NonNullable<Sample["redis"]>, v: number | undefined) => (v === undefined ? {} : { [k]: v });
    out.redis = {
      ...set("requestCpu", req.cpu),
      ...set("requestMemory", req.memory),
      ...set("targetCpu", cpuCores(rec?.target?.cpu)),
      ...set("targetMemory", memoryBytes(rec?.target?.memory)),
      ...set("lowerMemory", memoryBytes(rec?.lowerBound?.memory)),
      ...set("upperMemory", memoryBytes(rec?.upperBound?.memory)),
    };
  }
  return out;
}

/** All three lanes. */
export function lanes(state: ScalingState, now: number, history: Sample[]): Lane[] {
  return [frontendLane(state, now, history), backendLane(state, now), redisLane(state)];
}

/** The lanes of a frontend that watches no cluster: what each would show, and why it does not. */
export function lanesWithout(reason: string, consumer: ScalingState["consumer"]): Lane[] {
  const absent = (tier: Tier, autoscaler: Lane["autoscaler"], object: string, would: string): Lane => ({
    tier,
    autoscaler,
    object,
    state: "absent",
    note: `${reason} In a cluster this lane shows ${would}.`,
    problems: [],
    facts: [],
    line: "",
    events: [],
    pods: { ready: 0, total: 0 },
  });
  const backend = absent("backend", "KEDA", "ScaledObject", "the lag against lagThreshold, KEDA's activation, the workers it asks for and the cooldown");
  backend.facts = [
    { label: "Queue lag", value: String(consumer.lag), source: "the consumer's num_pending + num_ack_pending, read from NATS by this frontend each second" },
    { label: "Live workers", value: String(consumer.workers), source: "worker heartbeats on NATS" },
  ];
  return [
    absent("frontend", "HPA", "HorizontalPodAutoscaler", "the HPA's current and desired replicas, CPU and memory against their targets and the behaviour in force"),
    backend,
    absent("redis", "VPA", "VerticalPodAutoscaler", "Redis's requests against the VPA's target and bounds, its update mode and its last eviction"),
  ];
}
