import t from "tap";
import { build, defaults, findProfile } from "../../generator/generate.js";
import { helmMerge, type Plain } from "../../generator/merge.js";
import { loadSchema } from "../../generator/schema.js";
import { formatProblem, ValuesError } from "../../generator/validate.js";

const root = loadSchema();
const plain = findProfile("default");

/** The messages a set of --set overrides on the default profile gives. */
function problems(...sets: string[]): string[] {
  try {
    build(root, plain, sets);
    return [];
  } catch (error) {
    if (error instanceof ValuesError) return error.problems.map(formatProblem);
    throw error;
  }
}

function problemsOf(overlay: Plain): string[] {
  try {
    build(root, { ...plain, values: overlay });
    return [];
  } catch (error) {
    if (error instanceof ValuesError) return error.problems.map(formatProblem);
    throw error;
  }
}

t.test("schema rules name the path, the rule and the value", async (t) => {
  t.same(problems("frontend.resources.requests.cpu=ten"), ['frontend.resources.requests.cpu: must be a CPU quantity such as 250m, 0.5 or 2 (got "ten")']);
  t.same(problems("redis.resources.limits.memory=lots"), ['redis.resources.limits.memory: must be a memory quantity such as 64Mi, 1Gi or 500M (got "lots")']);
  t.same(problemsOf({ frontend: { replicas: "two" } } as Plain), ['frontend.replicas: must be integer (got "two")']);
  t.same(problemsOf({ frontend: { replica: 2 } } as Plain), [
    "frontend.replica: unknown key (known here: affinity, autoscaling, containerSecurityContext, extraEnv, ingress, name, nodeSelector, pdb, podAnnotations, podLabels, podSecurityContext, ports, probes, replicas, resources, scalingView, service, settings, terminationGracePeriodSeconds, tolerations, topologySpreadConstraints)",
  ]);
  t.same(problemsOf({ frontnd: {} } as Plain).map((p) => p.split(" (")[0]), ["frontnd: unknown key"]);
  t.same(problems("redis.mode=cluster"), ['redis.mode: must be one of operator, standalone, external (got "cluster")']);
  t.same(problems("backend.autoscaling.keda.maxReplicaCount=0"), ["backend.autoscaling.keda.maxReplicaCount: must be at least 1 (got 0)"]);
  t.same(problems("nats.name=NATS"), ['nats.name: must be a DNS label, or empty for the derived name (got "NATS")']);
  t.same(problems("monitoring.interval=15 seconds"), ['monitoring.interval: must be a duration such as 30s, 5m or 1h30m (got "15 seconds")']);
  t.same(problems("nats.replicas=2"), ["nats.replicas: must be one of 1, 3, 5 (got 2)"]);
});

t.test("rules across fields", async (t) => {
  t.same(problems("frontend.autoscaling.hpa.minReplicas=4", "frontend.autoscaling.hpa.maxReplicas=3"), ["frontend.autoscaling.hpa.maxReplicas: must be at least minReplicas (4) (got 3)"]);
  t.same(problems("backend.autoscaling.keda.minReplicaCount=5", "backend.autoscaling.keda.maxReplicaCount=3"), ["backend.autoscaling.keda.maxReplicaCount: must be at least minReplicaCount (5) (got 3)"]);
  t.same(problems("backend.autoscaling.hpa.minReplicas=3", "backend.autoscaling.hpa.maxReplicas=2"), ["backend.autoscaling.hpa.maxReplicas: must be at least minReplicas (3) (got 2)"]);
  t.same(problems("backend.autoscaling.keda.activationLagThreshold=10"), ["backend.autoscaling.keda.activationLagThreshold: must be less than lagThreshold (10) (got 10)"]);
  t.same(problems("backend.autoscaling.keda.fallback.replicas=12"), ["backend.autoscaling.keda.fallback.replicas: must not exceed maxReplicaCount (10): the HPA KEDA makes caps it there (got 12)"]);
  t.same(problems("backend.autoscaling.keda.fallback.replicas=12", "backend.autoscaling.keda.fallback.enabled=false"), [], "no fallback, no rule");
  t.same(problems("frontend.resources.requests.cpu=2"), ["frontend.resources.requests.cpu: must not exceed limits.cpu (1) (got 2)"], "--set reads 2 as a number, as Helm does");
  t.same(problems("backend.resources.requests.memory=1Gi"), ['backend.resources.requests.memory: must not exceed limits.memory (512Mi) (got "1Gi")']);
  t.same(problems("redis.autoscaling.vpa.minAllowed.memory=2Gi"), ['redis.autoscaling.vpa.minAllowed.memory: must not exceed maxAllowed.memory (1Gi) (got "2Gi")']);
  t.same(problems("redis.mode=operator"), [
    'redis.autoscaling.vpa.controlledValues: must be RequestsOnly in operator mode: the operator sets maxmemory from the limit it wrote, so the VPA must leave limits alone (got "RequestsAndLimits")',
  ]);
  t.same(problems("redis.mode=external"), ['redis.external.url: is required when redis.mode is external (got "")']);
  t.same(problems("redis.resources.limits.memory=null"), ["redis.resources.limits.memory: is required: maxmemory is a percentage of it"]);
  t.same(problems("nats.enabled=false"), [
    'nats.external.url: is required when nats.enabled is false (got "")',
    'nats.external.monitoringEndpoint: is required when nats.enabled is false and KEDA reads the lag (or set backend.autoscaling.keda.monitoringEndpoint) (got "")',
  ]);
  t.same(problems("nats.enabled=false", "nats.external.url=nats://nats.example:4222", "backend.autoscaling.keda.monitoringEndpoint=nats.example:8222"), []);
  t.same(problems("queue.replicas=3"), ["queue.replicas: must not exceed nats.replicas (1) (got 3)"]);
  t.same(problems("nats.terminationGracePeriodSeconds=30"), ["nats.terminationGracePeriodSeconds: must exceed lameDuckDurationSeconds (30) (got 30)"]);
  t.same(problems("frontend.autoscaling.hpa.targetCPUUtilizationPercentage=0"), ["frontend.autoscaling.hpa: needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage above 0"]);
  t.same(problems("frontend.autoscaling.hpa.targetMemoryUtilizationPercentage=60", "frontend.resources.requests.memory=null"), [
    "frontend.resources.requests.memory: is required while the HPA has a memory target (utilization is relative to it)",
  ]);
  t.same(problems("frontend.autoscaling.hpa.enabled=false", "frontend.autoscaling.hpa.targetCPUUtilizationPercentage=0"), [], "a disabled HPA needs no target");
});

t.test("the defaults are the default profile, and every problem is reported at once", async (t) => {
  t.same(build(root, plain).full, defaults(root));
  t.same(build(root, plain).delta, {});
  const many = problemsOf(helmMerge({}, { frontend: { replicas: -1, service: { port: 0 } } }));
  t.same(many, ["frontend.replicas: must be at least 0 (got -1)", "frontend.service.port: must be at least 1 (got 0)"]);
});
