// Every profile rendered with every optional API present, by both Helm lines,
// and each object checked: custom resources against the real CRDs (closed, so
// unknown fields fail), core kinds against Kubernetes' schemas and field lists, every pod
// against the restricted Pod Security settings.
import { Ajv, type ValidateFunction } from "ajv";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import t from "tap";
import { parseAllDocuments } from "yaml";
import { repoPath } from "../../generator/schema.js";
import { natsRoles } from "../../src/shared/permissions.js";
import { toolPath } from "../toolchain/toolchain.mjs";
import { undeclaredEnv } from "./env-contract.js";
import { renderedObjects, type HelmLine } from "./helm.js";
import { KubeSchema } from "./kube-schema.js";

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: Record<string, unknown> } & Record<string, unknown>;

const apis = ["keda.sh/v1alpha1/ScaledObject", "autoscaling.k8s.io/v1/VerticalPodAutoscaler", "redis.redis.opstreelabs.in/v1beta2/Redis", "monitoring.coreos.com/v1/ServiceMonitor", "monitoring.coreos.com/v1/PodMonitor", "monitoring.coreos.com/v1/PrometheusRule"];
const profiles = ["default", "demo", "local", "production"];

function render(helm: HelmLine, profile: string, extra: string[] = []): Obj[] {
  const args = [...apis.flatMap((api) => ["--api-versions", api]), ...extra];
  if (profile !== "default") args.push("-f", repoPath(`chart/profiles/${profile}.yaml`));
  // The passwords the chart generates are new in every render, and so are the pods' checksums of them:
  // the same objects are the same but for those.
  return renderedObjects<Obj>(args, helm, "meme-generator").map((o) => {
    if (o.kind === "Secret" && /(nats-users|redis-auth)$/.test(o.metadata.name)) {
      return { ...o, data: Object.fromEntries(Object.keys((o as { data?: object }).data ?? {}).map((k) => [k, Buffer.from("generated").toString("base64")])) };
    }
    const annotations = (o.spec as { template?: { metadata?: { annotations?: Record<string, string> } } } | undefined)?.template?.metadata?.annotations;
    for (const key of ["checksum/nats-users", "checksum/redis-auth"]) if (annotations?.[key]) annotations[key] = "of the generated passwords";
    return o;
  });
}

/**
 * Closes a CRD's schema: where properties are listed and unknown fields are not
 * explicitly kept, none are allowed. Patterns in Go's own syntax (inline flags
 * such as (?i)) have no JavaScript equivalent and are left to the API server.
 */
function close(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(close);
  if (!node || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "pattern" && typeof value === "string" && value.includes("(?")) continue;
    out[key] = close(value);
  }
  if (out.properties && out.additionalProperties === undefined && out["x-kubernetes-preserve-unknown-fields"] !== true) out.additionalProperties = false;
  return out;
}

function crdValidators(dir: string): Map<string, ValidateFunction> {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const validators = new Map<string, ValidateFunction>();
  type Crd = { kind?: string; spec: { group: string; names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: object } }[] } };
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml"))) {
    const crds = parseAllDocuments(readFileSync(join(dir, file), "utf8"))
      .map((doc) => doc.toJS() as Crd | null)
      .filter((d): d is Crd => d?.kind === "CustomResourceDefinition");
    for (const crd of crds) for (const version of crd.spec.versions) {
      validators.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, ajv.compile(close(version.schema.openAPIV3Schema) as object));
    }
  }
  return validators;
}

/** kubernetes-models' validator of a core kind (types, required fields, formats; it lets unknown fields through). */
async function coreValidator(apiVersion: string, kind: string): Promise<((o: unknown) => void) | undefined> {
  try {
    const model = (await import(`kubernetes-models/${apiVersion}/${kind}`)) as Record<string, new (data: unknown) => { validate(): void }>;
    const Model = model[kind];
    return Model ? (o) => new Model(o).validate() : undefined;
  } catch {
    return undefined;
  }
}

const crdsDir = process.env.CRDS_DIR ? resolve(process.env.CRDS_DIR) : undefined;

t.test("the CRDs to validate against", async (t) => {
  if (!crdsDir) {
    if (process.env.CI) t.fail("CRDS_DIR is not set: custom resources cannot be checked against the real CRDs (CI sets it to ../shared/crds)");
    else t.comment("CRDS_DIR is not set: custom resources are not checked against the real CRDs");
    return;
  }
  t.ok(existsSync(crdsDir), `CRDS_DIR ${crdsDir} exists`);
});

const rendered = new Map(profiles.map((p) => [p, render("helm3", p)]));
const kube = KubeSchema.fromToolchain();
const validators = crdsDir && existsSync(crdsDir) ? crdValidators(crdsDir) : undefined;

for (const profile of profiles) {
  t.test(`${profile}: every object is valid`, async (t) => {
    const objects = rendered.get(profile) as Obj[];
    t.ok(objects.length > 5, `${objects.length} objects`);
    t.same(render("helm4", profile), objects, "Helm 4 renders the same objects as Helm 3");
    for (const o of objects) {
      const id = `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`;
      const group = o.apiVersion.includes("/") ? o.apiVersion : `core/${o.apiVersion}`;
      const crd = validators?.get(`${o.apiVersion}/${o.kind}`);
      if (crd) {
        t.ok(crd(o), `${id} matches its CRD${crd.errors ? `: ${JSON.stringify(crd.errors.slice(0, 3))}` : ""}`);
        continue;
      }
      if (apis.some((api) => api.startsWith(`${o.apiVersion}/`))) {
        if (validators) t.fail(`${id}: no CRD for ${o.apiVersion} ${o.kind} in CRDS_DIR`);
        continue;
      }
      const validate = await coreValidator(o.apiVersion, o.kind);
      t.ok(validate, `${id}: a schema for ${group} ${o.kind}`);
      if (validate) t.doesNotThrow(() => validate(o), id);
      const typeName = kube.typeName(o.apiVersion, o.kind);
      t.ok(typeName, `${id}: Kubernetes' field list for ${group} ${o.kind}`);
      if (typeName) t.same(kube.unknownFields(o, typeName), [], `${id}: no field Kubernetes does not know`);
    }
  });

  t.test(`${profile}: the layout's record of each tier lists the objects a data move keeps: every one the chart renders for it but monitors and the VPA`, async (t) => {
    const objects = rendered.get(profile) as Obj[];
    const layout = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("-layout")) as Obj & { data: Record<string, string> };
    const plural: Record<string, string> = { StatefulSet: "statefulsets", Service: "services", ConfigMap: "configmaps", ServiceAccount: "serviceaccounts", Secret: "secrets", NetworkPolicy: "networkpolicies", PodDisruptionBudget: "poddisruptionbudgets", Redis: "redis" };
    const path = (o: Obj) => `/${o.apiVersion.includes("/") ? "apis" : "api"}/${o.apiVersion}/namespaces/${o.metadata.namespace}/${plural[o.kind] ?? o.kind}/${o.metadata.name}`;
    for (const tier of ["nats", "redis"]) {
      const ofTier = objects.filter((o) => o.metadata.labels?.["app.kubernetes.io/component"] === tier && !["PodMonitor", "ServiceMonitor", "VerticalPodAutoscaler"].includes(o.kind));
      const record = JSON.parse(layout.data[`${tier}Record`] ?? '{"objects":[],"policies":[]}') as { objects: string[]; policies: string[]; url?: string };
      t.same([...record.objects].sort(), ofTier.map(path).sort(), `${tier}: ${record.objects.length} objects`);
      t.same(record.policies, ofTier.filter((o) => o.kind === "NetworkPolicy").map(path), `${tier}: its NetworkPolicies`);
    }
  });

  t.test(`${profile}: every pod runs under restricted Pod Security`, async (t) => {
    for (const o of rendered.get(profile) as Obj[]) {
      const pod = (o.kind === "Pod" ? o.spec : ((o.spec?.template as { spec?: unknown } | undefined)?.spec as Record<string, unknown> | undefined)) as
        | { automountServiceAccountToken?: boolean; securityContext?: Record<string, unknown>; containers: { name: string; env?: { name: string; value?: string }[]; securityContext?: Record<string, unknown> }[] }
        | undefined;
      if (!pod) continue;
      const id = `${o.kind} ${o.metadata.name}`;
      // Only the frontend's scaling view reads the API; every other pod goes without a token.
      const watches = pod.containers.some((c) => c.env?.some((e) => e.name === "SCALING_VIEW" && e.value === "true"));
      t.equal(pod.automountServiceAccountToken, watches, watches ? `${id}: the API token, for the scaling view` : `${id}: no API token`);
      t.match(pod.securityContext, { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } }, `${id}: pod security context`);
      for (const c of pod.containers) {
        t.match(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } }, `${id}/${c.name}`);
      }
    }
    const redis = (rendered.get(profile) as Obj[]).find((o) => o.kind === "Redis");
    if (redis) {
      t.match(redis.spec, { securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, readOnlyRootFilesystem: false, capabilities: { drop: ["ALL"] } }, podSecurityContext: { runAsNonRoot: true } }, "opstree Redis: restricted but for the config it writes at start");
    }
  });
}

t.test("the env check names a variable the container's subcommand does not read", async (t) => {
  const pod = (env: string[]) => ({ kind: "Pod", metadata: { name: "p" }, spec: { containers: [{ name: "c", args: ["provision"], env: env.map((name) => ({ name })) }] } });
  t.same(undeclaredEnv([pod(["NATS_URL", "NATS_MAX_DELIVER"])]), { checked: 2, problems: [] });
  t.same(undeclaredEnv([pod(["NATS_URL", "NATS_MAX_DELIVERS", "REDIS_URL"])]).problems, ["Pod p/c: NATS_MAX_DELIVERS is not a variable of provision", "Pod p/c: REDIS_URL is not a variable of provision"]);
});

for (const profile of profiles) {
  t.test(`${profile}: every env name the chart gives our containers is a variable their subcommand reads`, async (t) => {
    const { checked, problems } = undeclaredEnv(rendered.get(profile) as never);
    t.ok(checked > 20, `${checked} env entries of our containers`);
    t.same(problems, []);
  });
}

t.test("the NATS configuration of every profile is one nats-server accepts", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "meme-nats-conf-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const withoutUsers = (profile: string) => render("helm3", profile, ["--set", "nats.auth.enabled=false"]);
  for (const [profile, objects, users] of profiles.flatMap((p) => [[p, rendered.get(p) as Obj[], true], [p, withoutUsers(p), false]] as const)) {
    const config = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("nats-config")) as { data: Record<string, string> } | undefined;
    if (!t.ok(config, `${profile}: a NATS config`) || !config) continue;
    const file = join(dir, `${profile}${users ? "" : "-open"}.conf`);
    writeFileSync(file, (config.data["nats.conf"] as string).replace(/store_dir: "[^"]*"/, `store_dir: "${join(dir, "store")}"`));
    // The users' passwords come from the pod's environment (the users Secret).
    const passwords = Object.fromEntries(natsRoles.map((user) => [`NATS_${user.toUpperCase()}_PASSWORD`, "x"]));
    const check = spawnSync(toolPath("nats-server"), ["-t", "-c", file], { encoding: "utf8", env: { ...process.env, ...passwords, NATS_ROUTE_PASSWORD: "x", POD_NAME: "nats-0" } });
    t.equal(/authorization \{/.test(config.data["nats.conf"] as string), users, `${profile}: NATS ${users ? "with users (by default)" : "without users (nats.auth.enabled=false)"}`);
    t.equal(check.status, 0, `${profile}${users ? "" : " without users"}: nats-server -t: ${check.stderr.trim()}`);
  }
});

t.test("demo holds every object the guide's Testing, Monitoring and Troubleshooting commands use", async (t) => {
  const objects = rendered.get("demo") as Obj[];
  const find = (kind: string, name: string, namespace: string) => objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);
  const frontendSvc = find("Service", "meme-generator-frontend", "meme-generator") as Obj;
  t.match(frontendSvc?.spec, { ports: [{ port: 80 }] }, "kubectl port-forward svc/meme-generator-frontend -n meme-generator 8080:80");
  const nats = find("Service", "nats", "messaging") as Obj;
  t.match(nats?.spec, { ports: [{ port: 4222 }, { port: 8222 }] }, "kubectl port-forward svc/nats -n messaging 4222:4222 / 8222:8222");
  t.ok(find("Redis", "redis", "cache"), "the operator's Redis named redis in cache (the operator names its Service svc/redis after it)");
  const frontendEnv = ((find("Deployment", "meme-generator-frontend", "meme-generator")?.spec as { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } | undefined)?.template.spec.containers[0]?.env ?? []).find((e) => e.name === "REDIS_URL");
  t.equal(frontendEnv?.value, "redis://redis.cache.svc.cluster.local:6379", "the tiers reach it as svc/redis in cache on 6379: kubectl port-forward svc/redis -n cache 6379:6379");
  t.ok(find("Deployment", "meme-generator-frontend", "meme-generator"), "frontend Deployment");
  t.ok(find("Deployment", "meme-generator", "meme-generator"), "backend Deployment meme-generator (the ScaledObject's target)");
  t.ok(find("HorizontalPodAutoscaler", "meme-generator-frontend-hpa", "meme-generator"), "kubectl get hpa -n meme-generator");
  t.ok(find("ScaledObject", "meme-generator-backend-scaler", "meme-generator"), "kubectl get scaledobject -n meme-generator");
  t.ok(find("VerticalPodAutoscaler", "redis-vpa", "cache"), "kubectl describe vpa redis-vpa -n cache");
  const secretKeys = (name: string, namespace: string) => Object.keys((find("Secret", name, namespace) as { data?: object } | undefined)?.data ?? {});
  t.ok(secretKeys("nats-users", "messaging").includes("guide"), "kubectl get secret nats-users -n messaging -o jsonpath='{.data.guide}' (nats pub --user guide)");
  t.same(secretKeys("redis-auth", "cache"), ["password"], "kubectl get secret redis-auth -n cache -o jsonpath='{.data.password}' (redis-benchmark -a)");
  const frontend = find("Deployment", "meme-generator-frontend", "meme-generator") as Obj;
  t.equal((frontend.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels.app, "meme-generator-frontend", "kubectl get pods -l app=meme-generator-frontend");
});

t.test("the provisioner Job is named after its pod template: the same values keep it, a queue setting renews it", async (t) => {
  const jobName = (extra: string[] = []) => render("helm3", "default", extra).find((o) => o.kind === "Job")?.metadata.name;
  const first = jobName();
  t.match(first, /^meme-generator-provisioner-[0-9a-f]{8}$/, `named ${first}`);
  t.equal(jobName(), first, "a second render of the same values: the same Job, which an upgrade leaves alone");
  t.equal(jobName(["--set", "frontend.replicas=3"]), first, "a value the provisioner does not read: the same Job");
  t.not(jobName(["--set", "queue.maxBytes=1Gi"]), first, "a queue setting: a new Job, which reconciles the stream");
  t.not(jobName(["--set", "image.tag=0.2.0"]), first, "a new image: a new Job");
});
