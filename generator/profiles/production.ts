import type { Profile } from "../profile.js";

const spread = [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" }];

export const production: Profile = {
  name: "production",
  summary: "A shared cluster: three-node NATS on file storage, persistent Redis, PDBs, zone spread, a rate limit, and always one worker awake.",
  values: {
    frontend: {
      resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "2", memory: "512Mi" } },
      pdb: { enabled: true, minAvailable: 1 },
      topologySpreadConstraints: spread,
      settings: { rateLimitPerMinute: 120, burstMax: 0 },
      autoscaling: { hpa: { minReplicas: 2, maxReplicas: 10 } },
    },
    backend: {
      resources: { requests: { cpu: "1", memory: "256Mi" }, limits: { cpu: "2", memory: "768Mi" } },
      pdb: { enabled: true, minAvailable: 1 },
      topologySpreadConstraints: spread,
      autoscaling: { keda: { minReplicaCount: 1, maxReplicaCount: 20, fallback: { replicas: 4, behavior: "currentReplicasIfHigher" } } },
    },
    queue: { replicas: 3, maxBytes: "1Gi" },
    nats: {
      replicas: 3,
      resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "2", memory: "1Gi" } },
      jetstream: { fileStore: { maxSize: "8Gi", pvc: { size: "10Gi" } } },
      pdb: { enabled: true, minAvailable: 2 },
      topologySpreadConstraints: spread,
    },
    redis: {
      resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "2", memory: "2Gi" } },
      persistence: { enabled: true, size: "5Gi" },
      autoscaling: { vpa: { maxAllowed: { cpu: "2", memory: "4Gi" } } },
    },
  },
  notes: {
    "backend.autoscaling.keda.minReplicaCount": "One worker stays awake: no cold start for the first request after a quiet spell.",
    "backend.autoscaling.keda.fallback": "While KEDA cannot read the lag, at least four workers, or more if more were running: a monitoring outage does not shrink a busy backend.",
    "frontend.settings.burstMax": "No burst control in front of real users.",
    "frontend.settings.rateLimitPerMinute": "Per client address; load tests from one address will see 429s.",
    "queue.replicas": "The stream is replicated on all three NATS servers.",
  },
};
