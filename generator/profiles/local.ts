import type { Profile } from "../profile.js";

export const local: Profile = {
  name: "local",
  summary: "A laptop cluster (kind, minikube, k3d): one NATS node without persistence, small requests, no optional operators, no rate limit, no NetworkPolicies.",
  values: {
    frontend: {
      resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
    },
    backend: {
      resources: { requests: { cpu: "100m", memory: "160Mi" }, limits: { cpu: "1", memory: "384Mi" } },
      autoscaling: { keda: { enabled: false } },
    },
    nats: {
      resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
      jetstream: { fileStore: { maxSize: "256Mi", pvc: { enabled: false } } },
    },
    redis: {
      resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
      autoscaling: { vpa: { enabled: false } },
    },
    queue: { maxBytes: "64Mi" },
    networkPolicy: { enabled: false },
  },
  notes: {
    "backend.autoscaling.keda": "No KEDA on a laptop cluster: the backend runs backend.replicas workers. Install KEDA and drop this to scale on the queue.",
    "redis.autoscaling.vpa": "No VPA on a laptop cluster.",
    networkPolicy: "Many laptop clusters run a network plugin that ignores NetworkPolicies; NATS users and Redis's password still hold.",
    "nats.jetstream.fileStore.pvc": "The store lives in an emptyDir: queued requests are lost when the NATS pod restarts.",
  },
};
