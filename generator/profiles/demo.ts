import type { Profile } from "../profile.js";

/**
 * The autoscaling guide's layout and numbers, so that every command in its
 * Testing, Monitoring and Troubleshooting sections works as written. Where a
 * literal value of the guide does not do what the guide says, the value here
 * follows the intent and the note says why.
 */
export const demo: Profile = {
  name: "demo",
  summary: "The autoscaling guide's setup: namespaces meme-generator, messaging and cache, its object names, HPA, KEDA and VPA numbers, operator Redis with persistence and monitoring for kube-prometheus-stack.",
  values: {
    capabilities: { redisOperator: "present" },
    namespaces: {
      app: "meme-generator",
      messaging: "messaging",
      cache: "cache",
      create: { enabled: true, labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
    },
    frontend: {
      name: "meme-generator-frontend",
      podLabels: { app: "meme-generator-frontend" },
      resources: { requests: { cpu: "50m", memory: "192Mi" }, limits: { cpu: "100m", memory: "256Mi" } },
      scalingView: { enabled: true },
      autoscaling: {
        hpa: {
          name: "meme-generator-frontend-hpa",
          minReplicas: 1,
          maxReplicas: 5,
          targetCPUUtilizationPercentage: 30,
          targetMemoryUtilizationPercentage: 50,
          behavior: {
            scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] },
            scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Percent", value: 20, periodSeconds: 60 }] },
          },
        },
      },
    },
    backend: {
      name: "meme-generator",
      podLabels: { app: "meme-generator" },
      resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
      autoscaling: {
        keda: {
          name: "meme-generator-backend-scaler",
          minReplicaCount: 0,
          maxReplicaCount: 10,
          pollingInterval: 5,
          cooldownPeriod: 30,
          lagThreshold: 5,
          activationLagThreshold: 0,
        },
      },
    },
    nats: {
      name: "nats",
      exporter: { enabled: true },
    },
    redis: {
      mode: "operator",
      name: "redis",
      persistence: { enabled: true },
      autoscaling: {
        vpa: {
          name: "redis-vpa",
          updateMode: "Recreate",
          maxAllowed: { cpu: "1000m", memory: "1Gi" },
          controlledValues: "RequestsOnly",
        },
      },
    },
    monitoring: {
      enabled: true,
      labels: { release: "prometheus" },
    },
  },
  notes: {
    "redis.persistence.enabled":
      "On in the demo: the VPA's Recreate mode resizes Redis by evicting its pod, and so does any node drain; without the append-only file " +
      "on a claim every result and pending record would go with the pod, and the memes made before it would answer 404.",
    "capabilities.redisOperator":
      "The demo's Redis is the opstree operator's (the guide's step 3), so the Redis resource is always rendered, also by helm template " +
      "without a cluster; helm install fails with \"no matches for kind Redis\" until the operator is installed.",
    "frontend.resources":
      "Guide: requests 10m CPU / 64Mi memory, limits 100m / 128Mi, sized for a static nginx server. " +
      "The CPU limit and the 30% target are kept; the request is not: on a real node an idle frontend uses 4–6m " +
      "(the kubelet's probes, NATS's pings, the stats it reads once a second), 40–60% of 10m and above the target, so the HPA would " +
      "climb to 5 replicas with no load at all. 50m puts idle at 9–12%; a pod held at its 100m limit reads 200% and the HPA still climbs to 5. " +
      "A Node.js process with fastify 5 and the NATS and Redis clients connected idles at 73 MiB RSS (Node 20, measured three times: 72.8, 74.0, 73.1 MiB), " +
      "so with a 64Mi request the 50% memory target would hold the HPA at maxReplicas for good and the demo would show no scaling. " +
      "A 192Mi request puts idle at about 38% (on the real node, Node 26, the kubelet measures a 34–40 MiB working set: about 20%); the limit rises to 256Mi because a limit cannot be below its request.",
    "frontend.autoscaling.hpa.targetMemoryUtilizationPercentage":
      "Guide's 50% kept. A Node.js heap rarely shrinks and the HPA follows the highest metric, so after a burst memory can keep replicas up; " +
      "set 0 to scale on CPU alone.",
    "backend.resources": "Guide's numbers. The worker idles above 64Mi; the request only reserves, the 256Mi limit is what caps it.",
    "backend.autoscaling.keda.activationLagThreshold":
      "Guide: 1 (\"activate at 1 message\"). KEDA activates only when the lag is strictly greater than this, so 1 never wakes the backend " +
      "for a single message; 0 does what the guide means.",
    "backend.autoscaling.keda.name": "Trigger as in the guide: stream MEMES, consumer meme-generator, account $G, endpoint nats.messaging.svc.cluster.local:8222 (derived from the NATS Service below).",
    "redis.autoscaling.vpa":
      "Guide: targetRef kind Redis, containerName \"*\". A VPA cannot target the Redis resource (its CRD has no scale subresource; the VPA would sit in ConfigUnsupported), " +
      "so the chart targets the StatefulSet the operator creates, scopes the policy to the redis container (not the exporter) and sets updatePolicy.minReplicas: 1 " +
      "(the updater never evicts a single replica otherwise). minAllowed 50m / 64Mi and controlledResources cpu, memory are the chart's defaults.",
    "redis.autoscaling.vpa.updateMode": "Guide: Auto, deprecated since VPA 1.5 and the same as Recreate. InPlaceOrRecreate needs VPA >= 1.5 and Kubernetes >= 1.33.",
    "redis.autoscaling.vpa.controlledValues":
      "The operator sets maxmemory as a percentage of the memory limit it wrote; with RequestsOnly the VPA leaves limits alone, so the limit the operator read stays the limit the pod has.",
    "frontend.scalingView.enabled":
      "On in the demo: the web UI shows the three autoscalers at work. The frontend then reads the Kubernetes API (namespaced read-only Roles); " +
      "with NetworkPolicies enforced, set networkPolicy.apiServer.peers to your API server's address, or the lanes say they cannot reach it.",
    "monitoring.labels": "kube-prometheus-stack installed as release prometheus selects monitors labelled release: prometheus.",
    "namespaces.create.labels": "Pod Security restricted is enforced on all three namespaces; every pod the chart templates complies.",
  },
};
