// The rules across values hold at `helm install` as in the generator: for each
// case, both Helm lines stop with the generator's first message, and every rule
// of the list (generator/rules.ts) is broken by some case.
import t from "tap";
import { build, findProfile } from "../../generator/generate.js";
import { rules } from "../../generator/rules.js";
import { loadSchema } from "../../generator/schema.js";
import { formatProblem, ValuesError } from "../../generator/validate.js";
import { helmTemplate, type HelmLine } from "./helm.js";

const root = loadSchema();
/** Every optional API present, so that only the rules can refuse the values. */
const apis = ["keda.sh/v1alpha1/ScaledObject", "autoscaling.k8s.io/v1/VerticalPodAutoscaler", "redis.redis.opstreelabs.in/v1beta2/Redis", "monitoring.coreos.com/v1/ServiceMonitor"];

function generatorProblems(sets: string[]): string[] {
  try {
    build(root, findProfile("default"), sets);
    return [];
  } catch (error) {
    if (error instanceof ValuesError) return error.problems.map(formatProblem);
    throw error;
  }
}

function chartProblem(helm: HelmLine, sets: string[]): string | undefined {
  const out = helmTemplate([...apis.flatMap((api) => ["--api-versions", api]), ...sets.flatMap((s) => ["--set", s])], helm);
  if (out.status === 0) return undefined;
  return /execution error at \([^)]*\): (.*)$/m.exec(out.stderr)?.[1] ?? out.stderr.trim();
}

const resourceCases = ["frontend", "backend", "provisioner", "nats", "nats.exporter", "redis", "redis.exporter"].flatMap((block) => [
  [`${block}.resources.limits.cpu=1`, `${block}.resources.requests.cpu=1500m`],
  [`${block}.resources.limits.memory=1Mi`, `${block}.resources.requests.memory=1.5Mi`],
]);

const cases: string[][] = [
  ["frontend.autoscaling.hpa.minReplicas=4", "frontend.autoscaling.hpa.maxReplicas=3"],
  ["frontend.ports.metrics=8080"],
  ["frontend.autoscaling.hpa.targetCPUUtilizationPercentage=0"],
  ["frontend.resources.requests.cpu=null"],
  ["frontend.autoscaling.hpa.targetMemoryUtilizationPercentage=60", "frontend.resources.requests.memory=null"],
  ["backend.autoscaling.keda.minReplicaCount=5", "backend.autoscaling.keda.maxReplicaCount=3"],
  ["backend.autoscaling.keda.activationLagThreshold=10"],
  ["backend.autoscaling.keda.fallback.replicas=12"],
  ["backend.autoscaling.hpa.minReplicas=3", "backend.autoscaling.hpa.maxReplicas=2"],
  ...resourceCases,
  ["frontend.resources.requests.cpu=2"],
  ["redis.autoscaling.vpa.minAllowed.memory=2Gi"],
  ["redis.autoscaling.vpa.minAllowed.cpu=3", "redis.autoscaling.vpa.maxAllowed.cpu=2500m"],
  ["redis.mode=operator"],
  ["redis.resources.limits.memory=null"],
  ["redis.mode=external"],
  ["queue.replicas=3"],
  ["nats.terminationGracePeriodSeconds=30"],
  ["nats.enabled=false"],
  ["nats.enabled=false", "nats.external.url=nats://nats.example:4222"],
];

const broken = new Set<string>();
for (const sets of cases) {
  t.test(sets.join(" "), async (t) => {
    const expected = generatorProblems(sets);
    if (!t.ok(expected.length > 0, "the generator refuses it")) return;
    const first = expected[0] as string;
    for (const rule of rules) if (first.startsWith(`${rule.path}: ${rule.rule.split("{b}")[0]}`)) broken.add(`${rule.path}: ${rule.rule}`);
    t.equal(chartProblem("helm3", sets), first, "helm 3");
    t.equal(chartProblem("helm4", sets), first, "helm 4");
  });
}

t.test("values that break no rule install, and every rule is broken by a case above", async (t) => {
  t.equal(chartProblem("helm3", ["nats.enabled=false", "nats.external.url=nats://nats.example:4222", "backend.autoscaling.keda.monitoringEndpoint=nats.example:8222"]), undefined);
  t.equal(chartProblem("helm3", ["frontend.autoscaling.hpa.enabled=false", "frontend.autoscaling.hpa.targetCPUUtilizationPercentage=0"]), undefined, "a disabled HPA needs no target");
  for (const rule of rules) t.ok(broken.has(`${rule.path}: ${rule.rule}`), `${rule.path}: ${rule.rule}`);
});
