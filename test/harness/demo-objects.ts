// The objects of a demo release the scaling view watches, as the API server would hold them: the
// frontend's HPA, the backend's ScaledObject and KEDA's HPA, the Redis VPA, pods and events. Tests
// change their numbers and check what the lanes make of them.
import type { Hpa, KubeEvent, Pod, ScaledObject, Vpa } from "../../src/frontend/lanes.js";
import type { FakeKube } from "./fake-kube.js";

export const paths = {
  hpas: "/apis/autoscaling/v2/namespaces/meme-generator/horizontalpodautoscalers",
  scaledObjects: "/apis/keda.sh/v1alpha1/namespaces/meme-generator/scaledobjects",
  vpas: "/apis/autoscaling.k8s.io/v1/namespaces/cache/verticalpodautoscalers",
  appPods: "/api/v1/namespaces/meme-generator/pods",
  cachePods: "/api/v1/namespaces/cache/pods",
  appEvents: "/api/v1/namespaces/meme-generator/events",
  cacheEvents: "/api/v1/namespaces/cache/events",
};

/** The SCALING_* variables of a demo frontend. */
export const scalingEnv = {
  SCALING_VIEW: "true",
  SCALING_FRONTEND_HPA: "meme-generator/meme-generator-frontend-hpa",
  SCALING_FRONTEND_PODS: "app.kubernetes.io/component=frontend",
  SCALING_BACKEND_SCALEDOBJECT: "meme-generator/meme-generator-backend-scaler",
  SCALING_BACKEND_PODS: "app.kubernetes.io/component=backend",
  SCALING_REDIS_VPA: "cache/redis-vpa",
  SCALING_REDIS_PODS: "app.kubernetes.io/component=redis",
};

const ready = [{ type: "Ready", status: "True" }];

export const frontendHpa = (replicas: number, cpu: number, memory: number, desired = replicas): Hpa & { status: NonNullable<Hpa["status"]> & { conditions: NonNullable<NonNullable<Hpa["status"]>["conditions"]> } } => ({
  metadata: { name: "meme-generator-frontend-hpa", namespace: "meme-generator" },
  spec: {
    minReplicas: 1,
    maxReplicas: 5,
    metrics: [
      { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 30 } } },
      { type: "Resource", resource: { name: "memory", target: { type: "Utilization", averageUtilization: 50 } } },
    ],
    behavior: {
      scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: "Max", policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] },
      scaleDown: { stabilizationWindowSeconds: 300, selectPolicy: "Max", policies: [{ type: "Percent", value: 20, periodSeconds: 60 }] },
    },
  },
  status: {
    currentReplicas: replicas,
    desiredReplicas: desired,
    currentMetrics: [
      { type: "Resource", resource: { name: "cpu", current: { averageUtilization: cpu } } },
      { type: "Resource", resource: { name: "memory", current: { averageUtilization: memory } } },
    ],
    conditions: [
      { type: "AbleToScale", status: "True", reason: "ReadyForNewScale" },
      { type: "ScalingActive", status: "True", reason: "ValidMetricFound" },
    ],
  },
});

export const kedaHpa = (replicas: number, averageValue: string): Hpa => ({
  metadata: { name: "keda-hpa-meme-generator-backend-scaler", namespace: "meme-generator" },
  spec: { minReplicas: 1, maxReplicas: 10, metrics: [{ type: "External", external: { metric: { name: "s0-nats-jetstream-MEMES" }, target: { type: "AverageValue", averageValue: "5" } } }] },
  status: { currentReplicas: replicas, desiredReplicas: replicas, currentMetrics: [{ type: "External", external: { metric: { name: "s0-nats-jetstream-MEMES" }, current: { averageValue } } }] },
});

export const scaledObject = (active: boolean, lastActiveTime: string): ScaledObject => ({
  metadata: { name: "meme-generator-backend-scaler", namespace: "meme-generator" },
  spec: {
    minReplicaCount: 0,
    maxReplicaCount: 10,
    cooldownPeriod: 30,
    pollingInterval: 5,
    triggers: [{ type: "nats-jetstream", metadata: { stream: "MEMES", consumer: "meme-generator", lagThreshold: "5", activationLagThreshold: "0" } }],
  },
  status: {
    hpaName: "keda-hpa-meme-generator-backend-scaler",
    lastActiveTime,
    conditions: [
      { type: "Ready", status: "True", reason: "ScaledObjectReady" },
      { type: "Active", status: active ? "True" : "False", reason: active ? "ScalerActive" : "ScalerNotActive" },
      { type: "Fallback", status: "False" },
    ],
  },
});

export const redisVpa = (updateMode: string, target: string, lower: string, upper: string): Vpa => ({
  metadata: { name: "redis-vpa", namespace: "cache" },
  spec: {
    targetRef: { apiVersion: "apps/v1", kind: "StatefulSet", name: "redis" },
    updatePolicy: { updateMode },
    resourcePolicy: { containerPolicies: [{ containerName: "redis", minAllowed: { cpu: "50m", memory: "64Mi" }, maxAllowed: { cpu: "1", memory: "1Gi" } }] },
  },
  status: {
    recommendation: { containerRecommendations: [{ containerName: "redis", target: { cpu: "50m", memory: target }, lowerBound: { cpu: "50m", memory: lower }, upperBound: { cpu: "1", memory: upper } }] },
    conditions: [{ type: "RecommendationProvided", status: "True" }],
  },
});

export const pod = (name: string, namespace: string, component: string, container: string, requests: Record<string, string>, isReady = true): Pod & { metadata: { labels: Record<string, string> } } => ({
  metadata: { name, namespace, labels: { "app.kubernetes.io/component": component } },
  spec: { containers: [{ name: container, resources: { requests } }] },
  status: { phase: "Running", conditions: isReady ? ready : [{ type: "Ready", status: "False" }] },
});

export const event = (namespace: string, kind: string, name: string, reason: string, message: string, at: string): KubeEvent => ({
  metadata: { name: `${name}.${reason}.${Date.parse(at)}`, namespace },
  involvedObject: { kind, name, namespace },
  reason,
  message,
  type: "Normal",
  lastTimestamp: at,
});

/** A demo release mid-scale: the frontend at 3 of 5 under load, 8 workers on a lag of 40, Redis below its VPA's bounds. */
export function demoRelease(kube: FakeKube, now = Date.now()): void {
  for (const path of Object.values(paths)) kube.serve(path);
  kube.put(paths.hpas, frontendHpa(3, 92, 40));
  kube.put(paths.hpas, kedaHpa(8, "5"));
  kube.put(paths.scaledObjects, scaledObject(true, new Date(now).toISOString()));
  kube.put(paths.vpas, redisVpa("Recreate", "120Mi", "100Mi", "200Mi"));
  for (let i = 0; i < 3; i++) kube.put(paths.appPods, pod(`frontend-${i}`, "meme-generator", "frontend", "frontend", { cpu: "50m", memory: "192Mi" }));
  for (let i = 0; i < 8; i++) kube.put(paths.appPods, pod(`worker-${i}`, "meme-generator", "backend", "backend", { cpu: "50m", memory: "64Mi" }, i < 6));
  kube.put(paths.cachePods, pod("redis-0", "cache", "redis", "redis", { cpu: "50m", memory: "64Mi" }));
  kube.put(paths.appEvents, event("meme-generator", "HorizontalPodAutoscaler", "meme-generator-frontend-hpa", "SuccessfulRescale", "New size: 3; reason: cpu resource utilization (percentage of request) above target", new Date(now - 20_000).toISOString()));
  kube.put(paths.cacheEvents, event("cache", "Pod", "redis-0", "EvictedByVPA", "Pod was evicted by VPA Updater to apply resource recommendation.", new Date(now - 60_000).toISOString()));
}
