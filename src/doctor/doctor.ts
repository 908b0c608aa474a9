// `meme-generator doctor`: the Troubleshooting checks, run through the Kubernetes API against one
// release of the chart. Each check prints one line, ok or problem, with the evidence and, for a
// problem, the fix. It only reads: no pod is created, no Secret is read (the pods' logs and the
// frontend's /readyz through the API server's pod proxy are the only bodies it asks for).
import { parseArgs } from "node:util";
import { hpaDecision, kedaDecision, vpaDecision, type Behavior, type MetricReading } from "../shared/autoscaling.js";
import { Kube, KubeApiError, KubeConfigError, kubeAccess } from "../shared/kube.js";
import { cpuCores, memoryBytes } from "../shared/quantity.js";

export interface Check {
  /** The autoscaler or tier it belongs to. */
  area: "HPA" | "KEDA" | "VPA" | "tiers";
  name: string;
  ok: boolean;
  evidence: string;
  /** What to do, when not ok. */
  fix?: string;
}

export interface DoctorOptions {
  release: string;
  /** Seconds a VPA may go without a recommendation before it counts as a problem. */
  recommendationGraceSeconds?: number;
  /** Now, in ms since the epoch (for ages). */
  now?: number;
}

type Condition = { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string };
type Meta = { name: string; namespace?: string; labels?: Record<string, string>; creationTimestamp?: string; deletionTimestamp?: string; ownerReferences?: { kind: string; name: string }[] };
type Container = { name: string; resources?: { requests?: Record<string, string> }; ports?: { name?: string; containerPort: number }[] };
type Workload = { metadata: Meta; spec: { replicas?: number; selector: { matchLabels?: Record<string, string> }; template: { spec: { containers: Container[] } } }; status?: { replicas?: number; readyReplicas?: number } };
type Pod = { metadata: Meta; spec: { containers: Container[] }; status?: { phase?: string; conditions?: Condition[]; containerStatuses?: { name: string; ready: boolean; restartCount: number; state?: Record<string, { reason?: string; message?: string } | undefined> }[] } };
type MetricSpec = { type: string; resource?: { name: string; target: { type: string; averageUtilization?: number; averageValue?: string } }; external?: { metric: { name: string }; target: { averageValue?: string } } };
type MetricStatus = { type: string; resource?: { name: string; current: { averageUtilization?: number; averageValue?: string } }; external?: { metric: { name: string }; current: { averageValue?: string; value?: string } } };
type Hpa = { metadata: Meta; spec: { minReplicas?: number; maxReplicas: number; metrics?: MetricSpec[]; behavior?: Behavior; scaleTargetRef: { kind: string; name: string } }; status?: { currentReplicas?: number; desiredReplicas?: number; currentMetrics?: MetricStatus[]; conditions?: Condition[] } };
type ScaledObject = {
  metadata: Meta;
  spec: { scaleTargetRef: { name: string }; minReplicaCount?: number; maxReplicaCount?: number; pollingInterval?: number; cooldownPeriod?: number; triggers: { type: string; metadata: Record<string, string> }[] };
  status?: { conditions?: Condition[]; hpaName?: string; externalMetricNames?: string[] };
};
type Resources = Record<string, string>;
type Vpa = {
  metadata: Meta;
  spec: { targetRef: { kind: string; name: string }; updatePolicy?: { updateMode?: string } };
  status?: { conditions?: Condition[]; recommendation?: { containerRecommendations?: { containerName: string; target: Resources; lowerBound: Resources; upperBound: Resources }[] } };
};
type Job = { metadata: Meta; status?: { succeeded?: number; failed?: number; active?: number; conditions?: Condition[] } };
type KubeEvent = { type: string; reason: string; message: string; lastTimestamp?: string; eventTime?: string; involvedObject: { kind: string; name: string } };

const conditionOf = (conditions: Condition[] | undefined, type: string) => conditions?.find((c) => c.type === type);
const said = (c: Condition | undefined) => (c ? `${c.type}=${c.status}${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ""})` : c.message ? ` (${c.message})` : ""}` : "no condition");
const ns = (m: Meta) => m.namespace ?? "default";
const quantity = (q: string | undefined) => (q === undefined ? undefined : q.endsWith("m") ? Number(q.slice(0, -1)) / 1000 : Number(q));

/** Every check for one release; the API's own failures (unreachable, forbidden) end it with an error. */
/** What a diagnosis reads more than once, read once: each namespace's events. */
class Reads {
  private readonly events = new Map<string, Promise<KubeEvent[]>>();
  readonly kube: Kube;
  constructor(kube: Kube) {
    this.kube = kube;
  }

  eventsIn(namespace: string): Promise<KubeEvent[]> {
    let read = this.events.get(namespace);
    if (!read) {
      read = this.kube.list<KubeEvent>(`/api/v1/namespaces/${namespace}/events`);
      this.events.set(namespace, read);
    }
    return read;
  }
}

/** An aggregated API's APIService and whether it is Available, as a check. */
async function apiServiceCheck(kube: Kube, area: Check["area"], name: string, service: string, serves: string, missing: string, fix: string): Promise<Check> {
  const found = await kube.find<{ status?: { conditions?: Condition[] } }>(`/apis/apiregistration.k8s.io/v1/apiservices/${service}`);
  const available = conditionOf(found?.status?.conditions, "Available");
  return { area, name, ok: available?.status === "True", evidence: found ? `APIService ${service} ${said(available)}${serves}` : `no APIService ${service}: ${missing}`, fix };
}

export async function diagnose(kube: Kube, options: DoctorOptions): Promise<Check[]> {
  const reads = new Reads(kube);
  const now = options.now ?? Date.now();
  const grace = options.recommendationGraceSeconds ?? 600;
  const selector = `app.kubernetes.io/instance=${options.release}`;
  const [deployments, statefulsets, hpas, scaledobjects, vpas, jobs, pods] = await Promise.all([
    kube.list<Workload>("/apis/apps/v1/deployments", selector),
    kube.list<Workload>("/apis/apps/v1/statefulsets", selector),
    kube.list<Hpa>("/apis/autoscaling/v2/horizontalpodautoscalers", selector),
    kube.list<ScaledObject>("/apis/keda.sh/v1alpha1/scaledobjects", selector),
    kube.list<Vpa>("/apis/autoscaling.k8s.io/v1/verticalpodautoscalers", selector),
    kube.list<Job>("/apis/batch/v1/jobs", selector),
    kube.list<Pod>("/api/v1/pods", selector),
  ]);
  const component = (m: Meta) => m.labels?.["app.kubernetes.io/component"] ?? "";
  if (deployments.length + statefulsets.length === 0) {
    return [{ area: "tiers", name: "release", ok: false, evidence: `no Deployment or StatefulSet labelled ${selector} in any namespace`, fix: `helm list -A shows the releases; pass --release <name>` }];
  }
  const checks: Check[] = [];
  const workloads = [...deployments, ...statefulsets];

  // The HPA: the metrics API, the requests it divides by, its current metrics.
  // The HPAs KEDA makes for its ScaledObjects are KEDA's: checked with them, not here.
  const keda = new Set(scaledobjects.map((so) => `${ns(so.metadata)}/${so.status?.hpaName}`));
  const ownHpas = hpas.filter((h) => !keda.has(`${ns(h.metadata)}/${h.metadata.name}`) && !h.metadata.ownerReferences?.some((o) => o.kind === "ScaledObject"));
  if (ownHpas.length > 0) {
    checks.push(
      await apiServiceCheck(
        kube,
        "HPA",
        "metrics API",
        "v1beta1.metrics.k8s.io",
        "",
        "nothing serves the resource metrics the HPA reads",
        "install metrics-server (its Deployment in kube-system serves v1beta1.metrics.k8s.io); `kubectl get apiservice v1beta1.metrics.k8s.io` shows when it is Available",
      ),
    );
  }
  // The frontend's first: it is the one the guide is about.
  const frontendFirst = [...ownHpas].sort((a, b) => Number(component(b.metadata) === "frontend") - Number(component(a.metadata) === "frontend"));
  for (const hpa of frontendFirst) checks.push(...hpaChecks(hpa, workloads, pods));

  // KEDA: installed, the ScaledObject Ready and Active as the lag says, its HPA, no scaler errors.
  if (scaledobjects.length > 0) {
    const installed = await apiServiceCheck(
      kube,
      "KEDA",
      "KEDA installed",
      "v1beta1.external.metrics.k8s.io",
      " (KEDA's metrics adapter serves it)",
      "KEDA's metrics adapter is not installed or not registered",
      "kubectl get pods -n keda: the operator and keda-operator-metrics-apiserver must be Running; helm install keda kedacore/keda -n keda --create-namespace when absent",
    );
    checks.push(installed);
    for (const so of scaledobjects) checks.push(...(await kedaChecks(reads, so, hpas, workloads, now, installed.ok)));
  }
  if (scaledobjects.length === 0 && !ownHpas.some((h) => component(h.metadata) === "backend")) {
    const crd = await kube.find("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/scaledobjects.keda.sh");
    if (!crd) checks.push({ area: "KEDA", name: "KEDA installed", ok: false, evidence: "no ScaledObject kind (CRD scaledobjects.keda.sh) and no HPA for the backend: nothing scales the workers", fix: "helm install keda kedacore/keda -n keda --create-namespace, then helm upgrade this release so it renders the ScaledObject" });
  }

  // The VPA: a recommendation, and a mode that acts on it.
  for (const vpa of vpas) checks.push(...vpaChecks(vpa, pods, now, grace));
  if (vpas.length === 0 && statefulsets.some((s) => component(s.metadata) === "redis")) {
    const crd = await kube.find("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/verticalpodautoscalers.autoscaling.k8s.io");
    if (!crd) checks.push({ area: "VPA", name: "VPA installed", ok: false, evidence: "no VerticalPodAutoscaler kind: Redis keeps the requests it was installed with", fix: "install the Vertical Pod Autoscaler (recommender, updater, admission controller), then helm upgrade this release" });
  }

  // The tiers: the provisioner Job, then each workload's pods Ready, with the reason when not.
  for (const job of jobs.filter((j) => component(j.metadata) === "provisioner")) checks.push(await jobCheck(kube, job));
  for (const w of workloads) checks.push(await tierCheck(reads, w, pods, now));
  return checks;
}

/** The pods a workload's selector picks. */
const podsOf = (w: Workload, pods: Pod[]) => pods.filter((p) => ns(p.metadata) === ns(w.metadata) && Object.entries(w.spec.selector.matchLabels ?? {}).every(([k, v]) => p.metadata.labels?.[k] === v));

function hpaChecks(hpa: Hpa, workloads: Workload[], pods: Pod[]): Check[] {
  const name = `HPA ${ns(hpa.metadata)}/${hpa.metadata.name}`;
  const checks: Check[] = [];
  const target = workloads.find((w) => w.metadata.name === hpa.spec.scaleTargetRef.name && ns(w.metadata) === ns(hpa.metadata));
  const resources = (hpa.spec.metrics ?? []).filter((m) => m.type === "Resource" && m.resource).map((m) => m.resource?.name as string);
  if (target && resources.length > 0) {
    // The HPA divides the pods' use by the pods' requests: a container with a limit and no request is
    // given the limit as its request, so the pods are what counts (the template while none runs).
    const running = podsOf(target, pods);
    const specs = running.length > 0 ? running.map((p) => ({ of: p.metadata.name, containers: p.spec.containers })) : [{ of: `${target.metadata.name}'s template`, containers: target.spec.template.spec.containers }];
    const missing = [...new Set(specs.flatMap((s) => s.containers.flatMap((c) => resources.filter((r) => c.resources?.requests?.[r] === undefined).map((r) => `${c.name} has no ${r} request (${s.of})`))))];
    const first = specs[0]?.containers ?? [];
    checks.push({
      area: "HPA",
      name: `${target.metadata.name} requests`,
      ok: missing.length === 0,
      evidence: missing.length === 0 ? `every container of ${specs.length} ${running.length > 0 ? "pod(s)" : "template"} requests ${resources.join(" and ")} (${first.map((c) => `${c.name}: ${resources.map((r) => `${r} ${c.resources?.requests?.[r]}`).join(", ")}`).join("; ")}): the HPA's utilisation is use / request` : `${missing.slice(0, 3).join(", ")}: the HPA cannot compute a utilisation without one`,
      fix: `set ${target.metadata.labels?.["app.kubernetes.io/component"] ?? "the tier"}.resources.requests in the values and helm upgrade`,
    });
  }
  const active = conditionOf(hpa.status?.conditions, "ScalingActive");
  const readings: MetricReading[] = [];
  for (const spec of hpa.spec.metrics ?? []) {
    if (spec.type !== "Resource" || !spec.resource) continue;
    const current = hpa.status?.currentMetrics?.find((m) => m.type === "Resource" && m.resource?.name === spec.resource?.name)?.resource?.current.averageUtilization;
    if (current !== undefined && spec.resource.target.averageUtilization !== undefined) readings.push({ name: spec.resource.name, current, target: spec.resource.target.averageUtilization });
  }
  const replicas = hpa.status?.currentReplicas ?? 0;
  const complete = readings.length === resources.length && active?.status === "True";
  const decision = complete && replicas > 0 ? hpaDecision({ replicas, min: hpa.spec.minReplicas ?? 1, max: hpa.spec.maxReplicas, metrics: readings, behavior: hpa.spec.behavior }) : undefined;
  checks.push({
    area: "HPA",
    name: `${name} metrics`,
    ok: complete,
    evidence: complete
      ? `${readings.map((r) => `${r.name} ${r.current} % of ${r.target} %`).join(", ")} at ${replicas} replicas; ${decision?.line ?? ""} (status.desiredReplicas ${hpa.status?.desiredReplicas})`
      : `${said(active)}; current metrics: ${readings.map((r) => `${r.name} ${r.current} %`).join(", ") || "none"} of ${resources.join(", ") || "no resource metric"}`,
    fix: `kubectl describe hpa ${hpa.metadata.name} -n ${ns(hpa.metadata)}: FailedGetResourceMetric means the metrics API has no figures for the pods yet (metrics-server scrapes every 15 s or so) or cannot reach the kubelets`,
  });
  return checks;
}

/** One ScaledObject's checks; `metricsAvailable`: KEDA's external metrics API is Available. */
async function kedaChecks(reads: Reads, so: ScaledObject, hpas: Hpa[], workloads: Workload[], now: number, metricsAvailable: boolean): Promise<Check[]> {
  const { kube } = reads;
  const where = `${ns(so.metadata)}/${so.metadata.name}`;
  const checks: Check[] = [];
  const ready = conditionOf(so.status?.conditions, "Ready");
  const trigger = so.spec.triggers[0]?.metadata ?? {};
  checks.push({
    area: "KEDA",
    name: `ScaledObject ${where} Ready`,
    ok: ready?.status === "True",
    evidence: said(ready),
    fix: `kubectl logs -n keda -l app=keda-operator; the trigger reads ${trigger.natsServerMonitoringEndpoint ?? "its endpoint"}, whose /jsz must list consumer ${trigger.consumer} of stream ${trigger.stream} (the provisioner Job makes both)`,
  });
  const fallback = conditionOf(so.status?.conditions, "Fallback");
  // KEDA records a Warning on each failed read: one within two polls and half a minute is still happening.
  const recent = 2 * (so.spec.pollingInterval ?? 30) + 30;
  const since = now - recent * 1000;
  const events = (await reads.eventsIn(ns(so.metadata))).filter(
    (e) => e.involvedObject.kind === "ScaledObject" && e.involvedObject.name === so.metadata.name && e.type === "Warning" && Date.parse(e.lastTimestamp ?? e.eventTime ?? "") >= since,
  );
  const errors = [...new Set(events.map((e) => `${e.reason}: ${e.message}`))];
  checks.push({
    area: "KEDA",
    name: `ScaledObject ${where} scaler errors`,
    ok: errors.length === 0 && fallback?.status !== "True",
    evidence: errors.length === 0 && fallback?.status !== "True" ? `no Warning event in the last ${recent} s, not in fallback` : [...(fallback?.status === "True" ? [`in fallback: ${said(fallback)}`] : []), ...errors.slice(0, 3)].join("; "),
    fix: `the operator cannot read the lag: kubectl logs -n keda -l app=keda-operator | grep ${so.metadata.name}; check the endpoint ${trigger.natsServerMonitoringEndpoint ?? ""} answers from the keda namespace (the NATS NetworkPolicy admits it) and that the stream and consumer exist`,
  });
  // The lag as KEDA's metrics API serves it (the operator reads NATS on each ask), against the Active condition.
  const metric = so.status?.externalMetricNames?.[0];
  const target = workloads.find((w) => w.metadata.name === so.spec.scaleTargetRef.name && ns(w.metadata) === ns(so.metadata));
  const replicas = target?.spec.replicas ?? 0;
  if (metric && metricsAvailable) {
    let lag: number | undefined;
    let failure = "";
    try {
      const read = await kube.get<{ items?: { value: string }[] }>(`/apis/external.metrics.k8s.io/v1beta1/namespaces/${ns(so.metadata)}/${metric}?labelSelector=${encodeURIComponent(`scaledobject.keda.sh/name=${so.metadata.name}`)}`);
      lag = quantity(read.items?.[0]?.value);
    } catch (error) {
      failure = (error as Error).message;
    }
    const active = conditionOf(so.status?.conditions, "Active")?.status === "True";
    const decision =
      lag === undefined
        ? undefined
        : kedaDecision({ lag, lagThreshold: Number(trigger.lagThreshold ?? 0), activationLagThreshold: Number(trigger.activationLagThreshold ?? 0), min: so.spec.minReplicaCount ?? 0, max: so.spec.maxReplicaCount ?? 100, replicas });
    checks.push({
      area: "KEDA",
      name: `ScaledObject ${where} activity`,
      ok: decision !== undefined && decision.active === active,
      evidence: decision ? `Active=${active}; ${decision.line}${decision.active === active ? "" : ` — the condition says ${active ? "active" : "inactive"}`}` : `the external metric ${metric} could not be read: ${failure || "no value"}`,
      fix: `KEDA polls every ${so.spec.pollingInterval ?? 30} s: run doctor again; if it stays, kubectl logs -n keda -l app=keda-operator`,
    });
  }
  const hpa = hpas.find((h) => h.metadata.name === so.status?.hpaName && ns(h.metadata) === ns(so.metadata));
  const current = hpa?.status?.currentMetrics?.find((m) => m.type === "External")?.external?.current;
  checks.push({
    area: "KEDA",
    name: `KEDA's HPA ${so.status?.hpaName ?? "(none)"}`,
    ok: hpa !== undefined && (replicas === 0 || current !== undefined),
    evidence: !hpa
      ? "KEDA has made no HPA for this ScaledObject"
      : replicas === 0
        ? `the backend is at 0 replicas: KEDA's HPA reads nothing until KEDA activates it (${said(conditionOf(hpa.status?.conditions, "ScalingActive"))})`
        : current
          ? `reads the external metric: ${current.averageValue ?? current.value} per worker at ${replicas} workers (target ${hpa.spec.metrics?.find((m) => m.type === "External")?.external?.target.averageValue ?? "?"})`
          : `no current external metric; ${said(conditionOf(hpa.status?.conditions, "ScalingActive"))}`,
    fix: `kubectl describe hpa ${so.status?.hpaName ?? ""} -n ${ns(so.metadata)}; the APIService v1beta1.external.metrics.k8s.io must be Available`,
  });
  return checks;
}

function vpaChecks(vpa: Vpa, pods: Pod[], now: number, grace: number): Check[] {
  const where = `VPA ${ns(vpa.metadata)}/${vpa.metadata.name}`;
  const recs = vpa.status?.recommendation?.containerRecommendations ?? [];
  const age = Math.round((now - Date.parse(vpa.metadata.creationTimestamp ?? new Date(now).toISOString())) / 1000);
  const waited = age >= 120 ? `${Math.round(age / 60)} min` : `${age} s`;
  const checks: Check[] = [
    {
      area: "VPA",
      name: `${where} recommendation`,
      ok: recs.length > 0 || age < grace,
      evidence:
        recs.length > 0
          ? recs.map((r) => `${r.containerName}: target ${Object.entries(r.target).map(([k, v]) => `${k} ${v}`).join(", ")}`).join("; ")
          : `none yet, ${waited} after the VPA was made (${said(conditionOf(vpa.status?.conditions, "RecommendationProvided"))})${age < grace ? `: the recommender needs usage samples first; a problem only after ${grace / 60} min` : ""}`,
      fix: `kubectl describe vpa ${vpa.metadata.name} -n ${ns(vpa.metadata)}; the recommender must be running and the metrics API Available (it reads the pods' use from it)`,
    },
  ];
  const mode = vpa.spec.updatePolicy?.updateMode ?? "Auto";
  const target = pods.find((p) => ns(p.metadata) === ns(vpa.metadata) && p.metadata.name.startsWith(`${vpa.spec.targetRef.name}-`));
  const rec = recs.find((r) => target?.spec.containers.some((c) => c.name === r.containerName)) ?? recs[0];
  const container = target?.spec.containers.find((c) => c.name === rec?.containerName);
  const read = (r: Resources | undefined) => ({ cpu: cpuCores(r?.cpu), memory: memoryBytes(r?.memory) });
  const decision = rec
    ? vpaDecision({
        requests: read(container?.resources?.requests),
        target: read(rec.target),
        lowerBound: read(rec.lowerBound),
        upperBound: read(rec.upperBound),
        updateMode: mode,
        format: (r, v) => (r === "cpu" ? `${Math.round(v * 1000)}m` : `${Math.round(v / 2 ** 20)}Mi`),
      })
    : undefined;
  const evicts = mode === "Auto" || mode === "Recreate" || mode === "InPlaceOrRecreate";
  checks.push({
    area: "VPA",
    name: `${where} update mode`,
    ok: evicts,
    evidence: `updateMode ${mode}${evicts ? "" : ": the updater never replaces a running pod"}${decision ? `; ${target?.metadata.name}: ${decision.line}` : ""}`,
    fix: `set redis.autoscaling.vpa.updateMode=Recreate and helm upgrade (Off and Initial never evict; kubectl get vpa ${vpa.metadata.name} -n ${ns(vpa.metadata)} -o yaml | grep updateMode)`,
  });
  return checks;
}

async function jobCheck(kube: Kube, job: Job): Promise<Check> {
  const where = `${ns(job.metadata)}/${job.metadata.name}`;
  const failed = conditionOf(job.status?.conditions, "Failed")?.status === "True";
  const succeeded = (job.status?.succeeded ?? 0) > 0;
  let tail = "";
  if (!succeeded) tail = await logTail(kube, ns(job.metadata), `job-name=${job.metadata.name}`);
  return {
    area: "tiers",
    name: `provisioner Job ${where}`,
    ok: succeeded,
    evidence: succeeded ? "succeeded: the stream and the consumer exist as the values say" : `${failed ? `failed (${said(conditionOf(job.status?.conditions, "Failed"))})` : `running (${job.status?.active ?? 0} active, ${job.status?.failed ?? 0} failed tries)`}${tail ? `; its log ends: ${tail}` : ""}`,
    fix: `kubectl logs job/${job.metadata.name} -n ${ns(job.metadata)}: it waits for NATS and then makes the stream and consumer; the tiers stay unready until it has`,
  };
}

/** The last lines of the newest pod matching a selector, as one line. */
async function logTail(kube: Kube, namespace: string, selector: string, container?: string): Promise<string> {
  const pods = await kube.list<Pod>(`/api/v1/namespaces/${namespace}/pods`, selector);
  const pod = pods.sort((a, b) => Date.parse(b.metadata.creationTimestamp ?? "") - Date.parse(a.metadata.creationTimestamp ?? ""))[0];
  if (!pod) return "";
  try {
    const text = await kube.text(`/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/log?tailLines=5${container ? `&container=${container}` : ""}`);
    return text.trim().split("\n").slice(-3).map((l) => l.slice(0, 240)).join(" | ");
  } catch (error) {
    return error instanceof KubeApiError ? `(no log: ${error.message})` : "";
  }
}

/** The last lines a container wrote, of its previous run when `previous`; empty when there is none. */
async function containerLog(kube: Kube, namespace: string, pod: string, container: string, previous: boolean): Promise<string> {
  try {
    const text = await kube.text(`/api/v1/namespaces/${namespace}/pods/${pod}/log?container=${encodeURIComponent(container)}&tailLines=5${previous ? "&previous=true" : ""}`);
    return text.trim().split("\n").filter(Boolean).slice(-2).map((l) => l.slice(0, 300)).join(" | ");
  } catch {
    return "";
  }
}

/** How long a new pod may take to become Ready before the doctor counts it. */
const startupGraceMs = 30_000;

async function tierCheck(reads: Reads, w: Workload, all: Pod[], now: number): Promise<Check> {
  const where = `${ns(w.metadata)}/${w.metadata.name}`;
  const tier = w.metadata.labels?.["app.kubernetes.io/component"] ?? w.metadata.name;
  const match = w.spec.selector.matchLabels ?? {};
  const pods = podsOf(w, all);
  const want = w.spec.replicas ?? 1;
  const isReady = (p: Pod) => conditionOf(p.status?.conditions, "Ready")?.status === "True";
  const ready = pods.filter(isReady);
  // A pod that has had its start-up time and is still not Ready is a problem even while enough others
  // are (a rollout whose new pods never become Ready leaves the old ones serving).
  const unready = pods.filter((p) => !isReady(p) && !p.metadata.deletionTimestamp && now - Date.parse(p.metadata.creationTimestamp ?? "") >= startupGraceMs);
  if (want === 0 && unready.length === 0) return { area: "tiers", name: `${tier} ${where}`, ok: true, evidence: "0 replicas: asleep (KEDA wakes it on the first message)" };
  if (ready.length >= want && unready.length === 0) return { area: "tiers", name: `${tier} ${where}`, ok: true, evidence: `${ready.length}/${want} pods Ready` };
  const reasons: string[] = [];
  const notReady = pods.filter((p) => !isReady(p) && !p.metadata.deletionTimestamp);
  for (const pod of notReady.slice(0, 2)) reasons.push(`${pod.metadata.name}: ${await whyUnready(reads, pod, tier)}`);
  return {
    area: "tiers",
    name: `${tier} ${where}`,
    ok: false,
    evidence: `${ready.length}/${want} pods Ready${unready.length > 0 ? `, ${unready.length} not Ready after ${startupGraceMs / 1000} s` : ""}${reasons.length ? `; ${reasons.join("; ")}` : pods.length === 0 ? "; no pod exists (kubectl describe shows why none was made)" : ""}`,
    fix:
      tier === "frontend" || tier === "backend"
        ? "the reason above names what the tier waits for (NATS, the queue, Redis); check that tier first, then the NetworkPolicies and the credentials in the tier's Secrets"
        : `kubectl describe pod -n ${ns(w.metadata)} -l ${Object.entries(match).map(([k, v]) => `${k}=${v}`).join(",")}`,
  };
}

/** Why a pod is not Ready: a waiting container's reason, the frontend's /readyz through the pod proxy, else the pod's readiness events and its own log. */
async function whyUnready(reads: Reads, pod: Pod, tier: string): Promise<string> {
  const { kube } = reads;
  const waiting = pod.status?.containerStatuses?.flatMap((s) => Object.entries(s.state ?? {}).filter(([state, v]) => state !== "running" && v?.reason).map(([, v]) => `${s.name} ${v?.reason}${v?.message ? ` (${v.message.slice(0, 160)})` : ""}`)) ?? [];
  if (waiting.length > 0) {
    // A container that exits says why in its log: the last lines of its previous run (or of this one).
    const crashed = (pod.status?.containerStatuses ?? []).find((s) => s.restartCount > 0 || s.state?.terminated);
    const said = crashed ? await containerLog(kube, ns(pod.metadata), pod.metadata.name, crashed.name, crashed.restartCount > 0 && !crashed.state?.terminated) : "";
    return [waiting.join(", "), said ? `its log: ${said}` : ""].filter(Boolean).join("; ");
  }
  if (pod.status?.phase === "Pending") return `Pending (${said(conditionOf(pod.status.conditions, "PodScheduled"))})`;
  const namespace = ns(pod.metadata);
  // The pod's own /readyz says what it waits for: on its metrics port from the start, on the frontend's
  // HTTP port once it serves. The API server's pod proxy reaches it where the tier's NetworkPolicy
  // admits the API server; otherwise its events and log tell.
  const ports = ["metrics", "http"].map((n) => pod.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === n)?.containerPort).filter((p): p is number => p !== undefined);
  const unreachable: string[] = [];
  for (const port of tier === "backend" ? [] : ports) {
    try {
      await kube.text(`/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}:${port}/proxy/readyz`);
      return `its /readyz on ${port} answers ready now (it was not when the kubelet last probed)`;
    } catch (error) {
      if (!(error instanceof KubeApiError)) throw error;
      const said = error.message.replace(/^GET \S+: \d+ /, "");
      if (/error trying to reach service|connection refused|i\/o timeout|no route/i.test(said) || error.status === 403) unreachable.push(`${port}`);
      else return `/readyz on ${port}: ${error.status} ${said}`;
    }
  }
  const events = (await reads.eventsIn(namespace)).filter((e) => e.involvedObject.kind === "Pod" && e.involvedObject.name === pod.metadata.name && e.type === "Warning");
  const last = events.at(-1);
  const container = pod.spec.containers[0]?.name;
  const tail = container ? await containerLog(kube, namespace, pod.metadata.name, container, false) : "";
  const proxy = unreachable.length > 0 ? `the pod proxy could not reach /readyz on ${unreachable.join(" or ")}` : "";
  return [last ? `${last.reason}: ${last.message.slice(0, 200)}` : "", tail ? `log: ${tail}` : "", proxy].filter(Boolean).join("; ") || "no event or log says why";
}

/** The checks as lines: `ok` or `problem`, the name, the evidence; a problem's fix beneath it. */
export function report(checks: Check[]): string {
  const lines: string[] = [];
  for (const area of ["HPA", "KEDA", "VPA", "tiers"] as const) {
    const mine = checks.filter((c) => c.area === area);
    if (mine.length === 0) continue;
    lines.push(area === "tiers" ? "The tiers" : area);
    for (const c of mine) {
      lines.push(`  ${c.ok ? "ok     " : "problem"}  ${c.name}: ${c.evidence}`);
      if (!c.ok && c.fix) lines.push(`           fix: ${c.fix}`);
    }
  }
  const problems = checks.filter((c) => !c.ok).length;
  lines.push("", problems === 0 ? `all ${checks.length} checks pass` : `${problems} of ${checks.length} checks found a problem`);
  return lines.join("\n");
}

export const doctorHelp = `usage: meme-generator doctor [--release <name>] [--context <name>] [--kubeconfig <file>] [--json]

Runs the Troubleshooting checks against an installed release through the Kubernetes API (the
kubeconfig's current context, or the pod's service account inside a cluster): the metrics API,
the HPA's requests and metrics, KEDA and the ScaledObject, the VPA's recommendation and mode, and
each tier's readiness with the reason when it is not ready. It creates nothing and reads no Secret.
Exit status: 0 when every check passes, 1 when one finds a problem, 2 for a usage or access error.

  --release     the Helm release (default meme-generator)
  --context     a kubeconfig context other than the current one
  --kubeconfig  a kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
  --json        the checks as JSON, one object per check`;

export async function doctorCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let values;
  try {
    values = parseArgs({ args, options: { release: { type: "string", default: "meme-generator" }, context: { type: "string" }, kubeconfig: { type: "string" }, json: { type: "boolean", default: false } }, strict: true, allowPositionals: false }).values;
  } catch (error) {
    console.error(`doctor: ${(error as Error).message}\n\n${doctorHelp}`);
    return 2;
  }
  let kube: Kube;
  try {
    kube = new Kube(kubeAccess(values.kubeconfig ? { ...env, KUBECONFIG: values.kubeconfig } : env, values.context));
  } catch (error) {
    if (!(error instanceof KubeConfigError)) throw error;
    console.error(`doctor: ${error.message}`);
    return 2;
  }
  let checks: Check[];
  try {
    checks = await diagnose(kube, { release: values.release });
  } catch (error) {
    console.error(`doctor: the API server at ${kube.access.server} (${kube.access.source}) could not be read: ${(error as Error).message}`);
    return 2;
  }
  console.log(values.json ? JSON.stringify(checks, null, 2) : report(checks));
  return checks.every((c) => c.ok) ? 0 : 1;
}
