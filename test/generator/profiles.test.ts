import t from "tap";
import { build, findProfile, orphanNotes, profiles } from "../../generator/generate.js";
import { loadSchema } from "../../generator/schema.js";

const root = loadSchema();
const full = (name: string) => build(root, findProfile(name)).full;

t.test("every profile validates, and its notes sit on keys its file shows", async (t) => {
  t.same(profiles.map((p) => p.name), ["default", "demo", "local", "production"]);
  for (const profile of profiles) {
    const built = build(root, profile);
    t.ok(built.full, profile.name);
    t.same(orphanNotes(profile, built), [], `${profile.name}: no note without its key`);
  }
});

t.test("default: the release namespace, standalone Redis, a CPU HPA for the backend when KEDA is absent", async (t) => {
  const v = full("default");
  t.same(v.namespaces, { app: "", messaging: "", cache: "", create: { enabled: false, labels: {}, keepOnUninstall: true } });
  t.equal(v.redis.mode, "standalone");
  t.equal(v.backend.autoscaling.keda.whenUnavailable, "hpa");
  t.equal(v.backend.autoscaling.hpa.minReplicas, 1);
  t.equal(v.monitoring.enabled, false);
  t.equal(v.networkPolicy.enabled, true);
});

t.test("every profile has NATS users and a Redis password; all but local have NetworkPolicies", async (t) => {
  for (const profile of ["default", "demo", "local", "production"]) {
    const v = full(profile);
    t.equal(v.nats.auth.enabled, true, `${profile}: NATS users`);
    t.equal(v.redis.auth.enabled, true, `${profile}: a Redis password`);
    t.equal(v.networkPolicy.enabled, profile !== "local", `${profile}: NetworkPolicies ${profile === "local" ? "off" : "on"}`);
  }
});

t.test("demo carries the guide's numbers", async (t) => {
  const v = full("demo");
  t.same(v.namespaces, {
    app: "meme-generator",
    messaging: "messaging",
    cache: "cache",
    create: { enabled: true, labels: { "pod-security.kubernetes.io/enforce": "restricted" }, keepOnUninstall: true },
  });
  // Frontend HPA
  const hpa = v.frontend.autoscaling.hpa;
  t.equal(v.frontend.name, "meme-generator-frontend");
  t.same(v.frontend.podLabels, { app: "meme-generator-frontend" });
  t.equal(hpa.name, "meme-generator-frontend-hpa");
  t.equal(hpa.minReplicas, 1);
  t.equal(hpa.maxReplicas, 5);
  t.equal(hpa.targetCPUUtilizationPercentage, 30);
  t.equal(hpa.targetMemoryUtilizationPercentage, 50);
  t.same(hpa.behavior, {
    scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] },
    scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Percent", value: 20, periodSeconds: 60 }] },
  });
  // Guide: 10m; a Node.js frontend idles at several millicores, so the demo asks for more (its note says why).
  t.equal(v.frontend.resources.requests?.cpu, "50m");
  t.equal(v.frontend.resources.limits?.cpu, "100m");
  // Backend KEDA
  const keda = v.backend.autoscaling.keda;
  t.equal(v.backend.name, "meme-generator");
  t.equal(keda.name, "meme-generator-backend-scaler");
  t.equal(keda.minReplicaCount, 0);
  t.equal(keda.maxReplicaCount, 10);
  t.equal(keda.pollingInterval, 5);
  t.equal(keda.cooldownPeriod, 30);
  t.equal(keda.lagThreshold, 5);
  t.equal(keda.account, "$G");
  t.equal(v.queue.stream, "MEMES");
  t.equal(v.queue.consumer, "meme-generator");
  t.same(v.backend.resources, { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } });
  // Redis VPA
  const vpa = v.redis.autoscaling.vpa;
  t.equal(v.redis.mode, "operator");
  t.equal(v.redis.name, "redis");
  t.equal(vpa.name, "redis-vpa");
  t.same(vpa.minAllowed, { cpu: "50m", memory: "64Mi" });
  t.same(vpa.maxAllowed, { cpu: "1000m", memory: "1Gi" });
  t.same(vpa.controlledResources, ["cpu", "memory"]);
  // Names the guide's commands use
  t.equal(v.nats.name, "nats");
  t.equal(v.nats.service.clientPort, 4222);
  t.equal(v.nats.service.monitorPort, 8222);
  t.equal(v.redis.service.port, 6379);
  t.equal(v.frontend.service.port, 80);
  t.equal(v.monitoring.enabled, true);
  t.same(v.monitoring.labels, { release: "prometheus" });
});

t.test("demo corrects what the guide's literal values do not do", async (t) => {
  const demo = findProfile("demo");
  const v = full("demo");
  t.equal(v.backend.autoscaling.keda.activationLagThreshold, 0, "activation at one message needs 0: KEDA compares strictly");
  t.match(demo.notes["backend.autoscaling.keda.activationLagThreshold"], /strictly greater/);
  t.equal(v.redis.autoscaling.vpa.updateMode, "Recreate", "Auto is deprecated since VPA 1.5");
  t.match(demo.notes["redis.autoscaling.vpa.updateMode"], /deprecated since VPA 1.5/);
  t.equal(v.redis.autoscaling.vpa.controlledValues, "RequestsOnly", "operator mode keeps limits for maxmemory");
  t.match(demo.notes["redis.autoscaling.vpa"], /scale subresource.*StatefulSet.*minReplicas: 1/s);
  t.equal(v.frontend.resources.requests?.memory, "192Mi", "sized from the measured idle use, not 64Mi");
  t.equal(v.frontend.resources.limits?.memory, "256Mi");
  t.match(demo.notes["frontend.resources"], /73 MiB/);
  t.equal(v.frontend.settings.rateLimitPerMinute, 0, "no rate limit: the guide's load tests come from one address");
  t.match(demo.notes["frontend.autoscaling.hpa.targetMemoryUtilizationPercentage"], /heap rarely shrinks/);
});

t.test("local: one NATS node without persistence, no optional operators, no rate limit, no NetworkPolicies", async (t) => {
  const v = full("local");
  t.equal(v.nats.replicas, 1);
  t.equal(v.nats.jetstream.fileStore.pvc.enabled, false);
  t.equal(v.backend.autoscaling.keda.enabled, false);
  t.equal(v.redis.autoscaling.vpa.enabled, false);
  t.equal(v.redis.mode, "standalone");
  t.equal(v.monitoring.enabled, false);
  t.equal(v.frontend.settings.rateLimitPerMinute, 0);
  t.equal(v.networkPolicy.enabled, false);
});

t.test("production: replicated NATS, persistent Redis, PDBs, spread, NetworkPolicies, rate limit, no scale to zero, no burst", async (t) => {
  const v = full("production");
  t.equal(v.nats.replicas, 3);
  t.equal(v.queue.replicas, 3);
  t.equal(v.nats.jetstream.fileStore.pvc.enabled, true);
  t.equal(v.redis.persistence.enabled, true);
  for (const tier of [v.frontend, v.backend, v.nats]) {
    t.equal(tier.pdb.enabled, true);
    t.equal(tier.topologySpreadConstraints.length, 1);
  }
  t.equal(v.networkPolicy.enabled, true);
  t.ok(v.frontend.settings.rateLimitPerMinute > 0);
  t.ok(v.frontend.autoscaling.hpa.minReplicas >= 2);
  t.ok(v.backend.autoscaling.keda.minReplicaCount >= 1);
  t.equal(v.frontend.settings.burstMax, 0);
});
