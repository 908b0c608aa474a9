// What the frontend watches for its scaling view: one watch per kind and namespace, shared by every
// browser this replica serves. The lanes are computed when a watched list changes (at most every
// 250 ms) and every 2 s for the timelines; each subscriber gets the lanes and the new sample, and a
// new one the last five minutes first.
import { Kube, KubeConfigError, WatchedList, kubeAccess, type KubeObject } from "../shared/kube.js";
import { lanes, lanesWithout, sample, type Hpa, type KubeEvent, type Lane, type Pod, type Sample, type ScaledObject, type ScalingState, type Vpa } from "./lanes.js";

/** How long the timelines reach back. */
export const HISTORY_MS = 5 * 60_000;
const SAMPLE_MS = 2000;
const SETTLE_MS = 250;

/** namespace/name of an object, and the label selector of its pods. */
export interface Watched {
  namespace: string;
  name: string;
  pods: string;
}

export interface ScalingTargets {
  frontend?: Watched;
  backend?: Watched;
  redis?: Watched;
}

/** What the lanes are sent as: the lanes now, and the samples the receiver has not seen. */
export interface ScalingUpdate {
  lanes: Lane[];
  samples: Sample[];
  /** Where the view reads the cluster, or why it does not. */
  source: string;
}

type Listener = (update: ScalingUpdate) => void;

/** "namespace/name" into its parts; an error naming the variable when it is not that. */
export function parseTarget(value: string, variable: string): { namespace: string; name: string } | undefined {
  if (value === "") return undefined;
  const match = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(value);
  if (!match) throw new Error(`${variable} must be namespace/name (got ${JSON.stringify(value)})`);
  return { namespace: match[1] as string, name: match[3] as string };
}

const q = (selector: Record<string, string>) => `?${new URLSearchParams(selector).toString()}`;

export class ScalingView {
  private readonly listeners = new Set<Listener>();
  private readonly lists: WatchedList<KubeObject>[] = [];
  private readonly history: Sample[] = [];
  private settle: NodeJS.Timeout | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private latest: Lane[];
  private readonly source: string;
  private readonly kube: Kube | undefined;
  private readonly get: Partial<Record<string, WatchedList<KubeObject>>> = {};

  private readonly targets: ScalingTargets | undefined;
  private readonly consumer: () => ScalingState["consumer"];
  private readonly now: () => number;

  /**
   * `targets` undefined: the view is off and `reason` says why; else the objects to watch, reached
   * through `env`'s kubeconfig or the pod's service account.
   */
  constructor(targets: ScalingTargets | undefined, consumer: () => ScalingState["consumer"], reason: string, env: NodeJS.ProcessEnv = process.env, now: () => number = Date.now) {
    this.targets = targets;
    this.consumer = consumer;
    this.now = now;
    let source = reason;
    let kube: Kube | undefined;
    if (targets) {
      try {
        const access = kubeAccess(env);
        kube = new Kube(access, 15_000);
        source = `the Kubernetes API at ${access.server} (${access.source})`;
      } catch (error) {
        if (!(error instanceof KubeConfigError)) throw error;
        source = `The view cannot reach the Kubernetes API: ${error.message}.`;
      }
    }
    this.kube = kube;
    this.source = source;
    this.latest = kube ? lanes(this.state(), this.now(), this.history) : lanesWithout(source, consumer());
  }

  /** Whether it watches a cluster. */
  get watching(): boolean {
    return this.kube !== undefined;
  }

  start(): void {
    const { kube, targets } = this;
    if (kube && targets) {
      const watch = (key: string, path: string, what: string) => {
        const list = new WatchedList<KubeObject>(kube, path, what, () => this.changed());
        this.get[key] = list;
        this.lists.push(list);
      };
      const field = (name: string) => q({ fieldSelector: `metadata.name=${name}` });
      const { frontend, backend, redis } = targets;
      const namespaces = new Set<string>();
      // All HPAs of a namespace in one watch: the frontend's, and the one KEDA makes for the ScaledObject.
      for (const namespace of new Set([frontend?.namespace, backend?.namespace].filter((n): n is string => n !== undefined))) {
        watch(`hpas:${namespace}`, `/apis/autoscaling/v2/namespaces/${namespace}/horizontalpodautoscalers`, `HorizontalPodAutoscalers in ${namespace}`);
        namespaces.add(namespace);
      }
      if (frontend) watch("frontendPods", `/api/v1/namespaces/${frontend.namespace}/pods${q({ labelSelector: frontend.pods })}`, `the frontend's pods in ${frontend.namespace}`);
      if (backend) {
        watch("scaledObject", `/apis/keda.sh/v1alpha1/namespaces/${backend.namespace}/scaledobjects${field(backend.name)}`, `ScaledObject ${backend.namespace}/${backend.name}`);
        watch("backendPods", `/api/v1/namespaces/${backend.namespace}/pods${q({ labelSelector: backend.pods })}`, `the backend's pods in ${backend.namespace}`);
      }
      if (redis) {
        watch("vpa", `/apis/autoscaling.k8s.io/v1/namespaces/${redis.namespace}/verticalpodautoscalers${field(redis.name)}`, `VerticalPodAutoscaler ${redis.namespace}/${redis.name}`);
        watch("redisPods", `/api/v1/namespaces/${redis.namespace}/pods${q({ labelSelector: redis.pods })}`, `Redis's pods in ${redis.namespace}`);
        namespaces.add(redis.namespace);
      }
      for (const namespace of namespaces) watch(`events:${namespace}`, `/api/v1/namespaces/${namespace}/events`, `events in ${namespace}`);
      for (const list of this.lists) list.start();
    }
    this.ticker = setInterval(() => this.publish(), SAMPLE_MS);
    this.ticker.unref();
  }

  stop(): void {
    for (const list of this.lists) list.stop();
    clearInterval(this.ticker);
    clearTimeout(this.settle);
    this.listeners.clear();
  }

  /** The lanes now and the last five minutes of samples: what a new subscriber starts from. */
  snapshot(): ScalingUpdate {
    return { lanes: this.latest, samples: [...this.history], source: this.source };
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    if (this.settle) return;
    this.settle = setTimeout(() => {
      this.settle = undefined;
      this.publish();
    }, SETTLE_MS);
  }

  private items<T>(key: string): T[] {
    return [...(this.get[key]?.items.values() ?? [])] as T[];
  }

  private problems(...keys: string[]): string[] {
    return keys.map((k) => this.get[k]?.problem).filter((p): p is string => p !== undefined && p !== "not read yet");
  }

  /** What the watches hold now, per lane. */
  state(): ScalingState {
    const { frontend, backend, redis } = this.targets ?? {};
    const consumer = this.consumer();
    const events = (namespace: string, match: (e: KubeEvent) => boolean) => this.items<KubeEvent>(`events:${namespace}`).filter(match);
    const state: ScalingState = { consumer };
    if (frontend) {
      const hpa = this.items<Hpa>(`hpas:${frontend.namespace}`).find((h) => h.metadata.name === frontend.name);
      state.frontend = {
        name: `${frontend.namespace}/${frontend.name}`,
        ...(hpa ? { hpa } : {}),
        pods: this.items<Pod>("frontendPods"),
        events: events(frontend.namespace, (e) => e.involvedObject.kind === "HorizontalPodAutoscaler" && e.involvedObject.name === frontend.name),
        problems: this.problems(`hpas:${frontend.namespace}`, "frontendPods", `events:${frontend.namespace}`),
      };
    }
    if (backend) {
      const so = this.items<ScaledObject>("scaledObject").find((s) => s.metadata.name === backend.name);
      const hpaName = so?.status?.hpaName ?? so?.spec.advanced?.horizontalPodAutoscalerConfig?.name ?? `keda-hpa-${backend.name}`;
      const hpa = this.items<Hpa>(`hpas:${backend.namespace}`).find((h) => h.metadata.name === hpaName);
      state.backend = {
        name: `${backend.namespace}/${backend.name}`,
        ...(so ? { scaledObject: so } : {}),
        ...(hpa ? { hpa } : {}),
        pods: this.items<Pod>("backendPods"),
        events: events(backend.namespace, (e) => (e.involvedObject.kind === "ScaledObject" && e.involvedObject.name === backend.name) || (e.involvedObject.kind === "HorizontalPodAutoscaler" && e.involvedObject.name === hpaName)),
        problems: this.problems("scaledObject", `hpas:${backend.namespace}`, "backendPods"),
      };
    }
    if (redis) {
      const vpa = this.items<Vpa>("vpa").find((v) => v.metadata.name === redis.name);
      const podNames = new Set(this.items<Pod>("redisPods").map((p) => p.metadata.name));
      state.redis = {
        name: `${redis.namespace}/${redis.name}`,
        ...(vpa ? { vpa } : {}),
        pods: this.items<Pod>("redisPods"),
        // The VPA's own events, its evictions, and the start of the pods that replace an evicted one.
        events: events(
          redis.namespace,
          (e) =>
            (e.involvedObject.kind === "VerticalPodAutoscaler" && e.involvedObject.name === redis.name) ||
            e.reason === "EvictedByVPA" ||
            (e.involvedObject.kind === "Pod" && podNames.has(e.involvedObject.name ?? "") && e.reason === "Scheduled"),
        ),
        problems: this.problems("vpa", "redisPods", `events:${redis.namespace}`),
      };
    }
    return state;
  }

  private publish(): void {
    const now = this.now();
    let samples: Sample[] = [];
    if (this.kube) {
      const state = this.state();
      // A point at most every second, however often the watches change.
      const last = this.history[this.history.length - 1];
      if (!last || now - last.at >= 1000) {
        const point = sample(state, now);
        this.history.push(point);
        samples = [point];
      }
      while (this.history.length > 0 && now - (this.history[0] as Sample).at > HISTORY_MS) this.history.shift();
      this.latest = lanes(state, now, this.history);
    } else {
      this.latest = lanesWithout(this.source, this.consumer());
    }
    const update = { lanes: this.latest, samples, source: this.source };
    for (const listener of this.listeners) listener(update);
  }
}
