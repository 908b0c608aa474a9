// `meme-generator doctor` against a local HTTP server that answers the API paths it reads with the
// objects of a demo release, healthy and then with one fault at a time; the kubeconfig it is given
// points there. What it reads and how it judges; the real node runs it against real objects.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import type { Test } from "tap";
import { diagnose, doctorCommand, report, type Check } from "../../src/doctor/doctor.js";
import { Kube, KubeApiError, KubeConfigError, kubeAccess } from "../../src/shared/kube.js";

const now = Date.parse("2026-12-03T12:00:00Z");
const ago = (s: number) => new Date(now - s * 1000).toISOString();
const release = "meme-generator";
const labels = (component: string) => ({ "app.kubernetes.io/instance": release, "app.kubernetes.io/name": "meme-generator", "app.kubernetes.io/component": component });
const ready = { type: "Ready", status: "True" };

type Objects = Record<string, unknown>;

/** The objects of a healthy demo release, by API path (lists hold `items`). */
function healthy(): Objects {
  const deployment = (name: string, namespace: string, component: string, replicas: number, containers: unknown[]) => ({
    metadata: { name, namespace, labels: labels(component) },
    spec: { replicas, selector: { matchLabels: { "app.kubernetes.io/instance": release, "app.kubernetes.io/component": component } }, template: { spec: { containers } } },
    status: { replicas, readyReplicas: replicas },
  });
  const pod = (name: string, namespace: string, component: string, containers: unknown[], conditions = [ready]) => ({
    metadata: { name, namespace, labels: labels(component), creationTimestamp: ago(600) },
    spec: { containers },
    status: { phase: "Running", conditions },
  });
  const frontendContainer = { name: "frontend", resources: { requests: { cpu: "50m", memory: "96Mi" } }, ports: [{ name: "http", containerPort: 8080 }, { name: "metrics", containerPort: 9090 }] };
  const workerContainer = { name: "backend", resources: { requests: { cpu: "100m", memory: "128Mi" } } };
  const redisContainer = { name: "redis", resources: { requests: { cpu: "50m", memory: "64Mi" } } };
  const natsContainer = { name: "nats", resources: { requests: { cpu: "100m", memory: "128Mi" } } };
  const behavior = {
    scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: "Max", policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] },
    scaleDown: { stabilizationWindowSeconds: 300, selectPolicy: "Max", policies: [{ type: "Percent", value: 20, periodSeconds: 60 }] },
  };
  const sel = `?labelSelector=${encodeURIComponent(`app.kubernetes.io/instance=${release}`)}`;
  return {
    [`/apis/apps/v1/deployments${sel}`]: { items: [deployment("meme-generator-frontend", "meme-generator", "frontend", 2, [frontendContainer]), deployment("meme-generator", "meme-generator", "backend", 1, [workerContainer])] },
    [`/apis/apps/v1/statefulsets${sel}`]: { items: [deployment("nats", "messaging", "nats", 1, [natsContainer]), deployment("redis", "cache", "redis", 1, [redisContainer])] },
    [`/apis/autoscaling/v2/horizontalpodautoscalers${sel}`]: {
      items: [
        {
          metadata: { name: "meme-generator-frontend-hpa", namespace: "meme-generator", labels: labels("frontend") },
          spec: {
            minReplicas: 1,
            maxReplicas: 5,
            behavior,
            scaleTargetRef: { kind: "Deployment", name: "meme-generator-frontend" },
            metrics: [
              { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } },
              { type: "Resource", resource: { name: "memory", target: { type: "Utilization", averageUtilization: 70 } } },
            ],
          },
          status: {
            currentReplicas: 2,
            desiredReplicas: 2,
            currentMetrics: [
              { type: "Resource", resource: { name: "cpu", current: { averageUtilization: 48 } } },
              { type: "Resource", resource: { name: "memory", current: { averageUtilization: 60 } } },
            ],
            conditions: [{ type: "ScalingActive", status: "True", reason: "ValidMetricFound" }],
          },
        },
        {
          metadata: { name: "keda-hpa-meme-generator-backend-scaler", namespace: "meme-generator", labels: labels("backend") },
          spec: { minReplicas: 1, maxReplicas: 8, scaleTargetRef: { kind: "Deployment", name: "meme-generator" }, metrics: [{ type: "External", external: { metric: { name: "s0-nats-jetstream-MEMES" }, target: { averageValue: "5" } } }] },
          status: { currentReplicas: 1, currentMetrics: [{ type: "External", external: { metric: { name: "s0-nats-jetstream-MEMES" }, current: { averageValue: "3" } } }], conditions: [{ type: "ScalingActive", status: "True" }] },
        },
      ],
    },
    [`/apis/keda.sh/v1alpha1/scaledobjects${sel}`]: {
      items: [
        {
          metadata: { name: "meme-generator-backend-scaler", namespace: "meme-generator", labels: labels("backend") },
          spec: {
            scaleTargetRef: { name: "meme-generator" },
            minReplicaCount: 0,
            maxReplicaCount: 8,
            pollingInterval: 5,
            cooldownPeriod: 30,
            triggers: [{ type: "nats-jetstream", metadata: { stream: "MEMES", consumer: "meme-generator", lagThreshold: "5", activationLagThreshold: "0", natsServerMonitoringEndpoint: "nats.messaging.svc.cluster.local:8222" } }],
          },
          status: { hpaName: "keda-hpa-meme-generator-backend-scaler", externalMetricNames: ["s0-nats-jetstream-MEMES"], conditions: [ready, { type: "Active", status: "True" }, { type: "Fallback", status: "False" }] },
        },
      ],
    },
    [`/apis/autoscaling.k8s.io/v1/verticalpodautoscalers${sel}`]: {
      items: [
        {
          metadata: { name: "redis-vpa", namespace: "cache", labels: labels("redis"), creationTimestamp: ago(3600) },
          spec: { targetRef: { kind: "StatefulSet", name: "redis" }, updatePolicy: { updateMode: "Recreate" } },
          status: {
            conditions: [{ type: "RecommendationProvided", status: "True" }],
            recommendation: { containerRecommendations: [{ containerName: "redis", target: { cpu: "60m", memory: "80Mi" }, lowerBound: { cpu: "25m", memory: "48Mi" }, upperBound: { cpu: "200m", memory: "256Mi" } }] },
          },
        },
      ],
    },
    [`/apis/batch/v1/jobs${sel}`]: { items: [{ metadata: { name: "meme-generator-provisioner", namespace: "meme-generator", labels: labels("provisioner") }, status: { succeeded: 1 } }] },
    [`/api/v1/pods${sel}`]: {
      items: [
        pod("meme-generator-frontend-abc-1", "meme-generator", "frontend", [frontendContainer]),
        pod("meme-generator-frontend-abc-2", "meme-generator", "frontend", [frontendContainer]),
        pod("meme-generator-def-1", "meme-generator", "backend", [workerContainer]),
        pod("nats-0", "messaging", "nats", [natsContainer]),
        pod("redis-0", "cache", "redis", [redisContainer]),
      ],
    },
    "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io": { status: { conditions: [{ type: "Available", status: "True", reason: "Passed" }] } },
    "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.external.metrics.k8s.io": { status: { conditions: [{ type: "Available", status: "True", reason: "Passed" }] } },
    [`/apis/external.metrics.k8s.io/v1beta1/namespaces/meme-generator/s0-nats-jetstream-MEMES?labelSelector=${encodeURIComponent("scaledobject.keda.sh/name=meme-generator-backend-scaler")}`]: { items: [{ value: "3" }] },
    "/api/v1/namespaces/meme-generator/events": { items: [] },
    "/api/v1/namespaces/cache/events": { items: [] },
  };
}

/** An API server on loopback answering from `objects`; 404 for anything else; records each path asked and its bearer token. */
async function apiServer(t: Test, objects: () => Objects) {
  const asked: { path: string; auth?: string; method?: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const path = req.url ?? "";
    asked.push({ path, auth: req.headers.authorization, method: req.method });
    const body = objects()[path];
    if (body === undefined) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Status", message: `the server could not find the requested resource (${path})` }));
      return;
    }
    if (typeof body === "string") res.writeHead(body.startsWith("!") ? 503 : 200, { "content-type": "text/plain" }).end(body.replace(/^!/, ""));
    else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, asked };
}

function kubeconfig(url: string, user: Record<string, unknown> = { token: "t0ken" }): string {
  const dir = mkdtempSync(join(tmpdir(), "doctor-"));
  const file = join(dir, "config");
  writeFileSync(
    file,
    JSON.stringify({ apiVersion: "v1", kind: "Config", "current-context": "here", contexts: [{ name: "here", context: { cluster: "c", user: "u", namespace: "meme-generator" } }], clusters: [{ name: "c", cluster: { server: url } }], users: [{ name: "u", user }] }),
  );
  return file;
}

const byName = (checks: Check[], pattern: RegExp) => checks.filter((c) => pattern.test(c.name));

t.test("a healthy demo release: every check passes, with the numbers behind each", async (t) => {
  let objects = healthy();
  const api = await apiServer(t, () => objects);
  const kube = new Kube(kubeAccess({ KUBECONFIG: kubeconfig(api.url) }));
  const checks = await diagnose(kube, { release, now });
  t.same(checks.filter((c) => !c.ok), [], "no problem");
  t.same([...new Set(checks.map((c) => c.area))], ["HPA", "KEDA", "VPA", "tiers"]);
  const hpa = byName(checks, /meme-generator-frontend-hpa metrics/)[0];
  t.match(hpa?.evidence, "cpu 48 % of 50 %, memory 60 % of 70 % at 2 replicas");
  t.match(hpa?.evidence, "cpu 48 % / 50 % = 0.96, within 10 % of 1: stays at 2", "the explanation of the decision, computed from the status");
  t.match(byName(checks, /activity/)[0]?.evidence, "Active=true; lag 3 / lagThreshold 5 = 1 worker");
  t.match(byName(checks, /update mode/)[0]?.evidence, "redis-0: cpu request 50m within [25m, 200m] (target 60m), memory request 64Mi within [48Mi, 256Mi] (target 80Mi) → no eviction");
  t.match(byName(checks, /^frontend/)[0]?.evidence, "2/2 pods Ready");
  t.ok(api.asked.every((a) => a.method === "GET" && a.auth === "Bearer t0ken"), "only GETs, each with the kubeconfig's token");
  t.notOk(api.asked.some((a) => /secrets/.test(a.path)), "no Secret is read");
  const text = report(checks);
  t.match(text, /^HPA\n {2}ok {7}metrics API: APIService v1beta1\.metrics\.k8s\.io Available=True/);
  t.match(text, /\nall \d+ checks pass$/);
  t.notMatch(text, /fix:/, "no fix is printed when nothing is wrong");

  // The command: exit 0, the same report; --json the same checks.
  const out: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  try {
    t.equal(await doctorCommand(["--json"], { KUBECONFIG: kubeconfig(api.url) }), 0);
    t.same(JSON.parse(out.join("\n")), JSON.parse(JSON.stringify(await diagnose(kube, { release, now: Date.now() }))).map((c: Check) => ({ ...c })), "--json prints the checks");
  } finally {
    console.log = log;
  }
  objects = {};
});

/** Runs diagnose on the healthy objects after `fault` changes them; returns the failing checks. */
async function faulty(t: Test, fault: (o: Objects) => void): Promise<Check[]> {
  const objects = healthy();
  fault(objects);
  const api = await apiServer(t, () => objects);
  return (await diagnose(new Kube(kubeAccess({ KUBECONFIG: kubeconfig(api.url) })), { release, now })).filter((c) => !c.ok);
}

const list = (o: Objects, key: RegExp) => (Object.entries(o).find(([k]) => key.test(k))?.[1] as { items: Record<string, never>[] }).items;

t.test("each fault is found, with its evidence and its fix", async (t) => {
  const noMetrics = await faulty(t, (o) => delete o["/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io"]);
  t.same(noMetrics.map((c) => c.name), ["metrics API"]);
  t.match(noMetrics[0]?.fix, /install metrics-server/);

  const noRequest = await faulty(t, (o) => {
    const d = list(o, /deployments/)[0] as unknown as { spec: { template: { spec: { containers: { resources: unknown }[] } } } };
    (d.spec.template.spec.containers[0] as { resources: unknown }).resources = {};
  });
  t.same(noRequest.map((c) => c.name), ["meme-generator-frontend requests"]);
  t.match(noRequest[0]?.evidence, "frontend has no cpu request (meme-generator-frontend-abc-1), frontend has no memory request (meme-generator-frontend-abc-1)", "read from the pods, whose requests the HPA divides by");
  t.match(noRequest[0]?.fix, "frontend.resources.requests");

  const noCurrent = await faulty(t, (o) => {
    const h = list(o, /horizontalpodautoscalers/)[0] as unknown as { status: Record<string, unknown> };
    h.status = { currentReplicas: 2, conditions: [{ type: "ScalingActive", status: "False", reason: "FailedGetResourceMetric", message: "unable to get metrics for resource cpu" }] };
  });
  t.same(noCurrent.map((c) => c.name), ["HPA meme-generator/meme-generator-frontend-hpa metrics"]);
  t.match(noCurrent[0]?.evidence, "ScalingActive=False (FailedGetResourceMetric: unable to get metrics for resource cpu)");

  const noConsumer = await faulty(t, (o) => {
    const so = list(o, /scaledobjects/)[0] as unknown as { status: { conditions: unknown[] } };
    so.status.conditions = [{ type: "Ready", status: "False", reason: "ScaledObjectCheckFailed", message: "consumer meme-generator not found" }, { type: "Active", status: "False" }, { type: "Fallback", status: "True", reason: "FallbackExists" }];
    o["/api/v1/namespaces/meme-generator/events"] = { items: [{ type: "Warning", reason: "KEDAScalerFailed", message: "error requesting consumer info", lastTimestamp: ago(30), involvedObject: { kind: "ScaledObject", name: "meme-generator-backend-scaler" } }] };
  });
  t.same(noConsumer.map((c) => c.name), ["ScaledObject meme-generator/meme-generator-backend-scaler Ready", "ScaledObject meme-generator/meme-generator-backend-scaler scaler errors", "ScaledObject meme-generator/meme-generator-backend-scaler activity"]);
  t.match(noConsumer[1]?.evidence, "in fallback: Fallback=True (FallbackExists); KEDAScalerFailed: error requesting consumer info");
  t.match(noConsumer[2]?.evidence, "the condition says inactive", "a lag of 3 above activation 0 while KEDA says inactive");

  const off = await faulty(t, (o) => {
    const v = list(o, /verticalpodautoscalers/)[0] as unknown as { spec: { updatePolicy: { updateMode: string } } };
    v.spec.updatePolicy.updateMode = "Off";
  });
  t.same(off.map((c) => c.name), ["VPA cache/redis-vpa update mode"]);
  t.match(off[0]?.evidence, "updateMode Off: the updater never replaces a running pod");
  t.match(off[0]?.fix, "updateMode=Recreate");

  const waiting = await faulty(t, (o) => {
    const v = list(o, /verticalpodautoscalers/)[0] as unknown as { status: unknown };
    v.status = {};
  });
  t.same(waiting.map((c) => c.name), ["VPA cache/redis-vpa recommendation"], "an hour without a recommendation is a problem");
  t.match(waiting[0]?.evidence, "none yet, 60 min after the VPA was made");

  const unready = await faulty(t, (o) => {
    const pod = list(o, /\/api\/v1\/pods/)[0] as unknown as { status: { conditions: unknown[] } };
    pod.status.conditions = [{ type: "Ready", status: "False" }];
    o["/api/v1/namespaces/meme-generator/pods/meme-generator-frontend-abc-1:9090/proxy/readyz"] = `!${JSON.stringify({ status: "not ready", reason: "waiting for NATS: Authorization Violation" })}`;
  });
  t.same(unready.map((c) => c.name), ["frontend meme-generator/meme-generator-frontend"]);
  t.match(unready[0]?.evidence, "1/2 pods Ready, 1 not Ready after 30 s; meme-generator-frontend-abc-1: /readyz on 9090: 503 waiting for NATS: Authorization Violation", "the reason from the pod's own /readyz, through the pod proxy");

  const crashing = await faulty(t, (o) => {
    const pod = list(o, /\/api\/v1\/pods/)[0] as unknown as { status: { conditions: unknown[]; containerStatuses: unknown[] } };
    pod.status.conditions = [{ type: "Ready", status: "False" }];
    pod.status.containerStatuses = [{ name: "frontend", ready: false, restartCount: 3, state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 40s restarting failed container" } } }];
    o["/api/v1/namespaces/meme-generator/pods/meme-generator-frontend-abc-1/log?container=frontend&tailLines=5&previous=true"] = '{"level":30,"msg":"connecting"}\n{"level":60,"msg":"NATS refused the frontend: Authorization Violation"}\n';
  });
  t.same(crashing.map((c) => c.name), ["frontend meme-generator/meme-generator-frontend"]);
  t.match(crashing[0]?.evidence, 'meme-generator-frontend-abc-1: frontend CrashLoopBackOff (back-off 40s restarting failed container); its log: {"level":30,"msg":"connecting"} | {"level":60,"msg":"NATS refused the frontend: Authorization Violation"}', "a container that keeps exiting: the last lines of its previous run");

  const worker = await faulty(t, (o) => {
    const pod = list(o, /\/api\/v1\/pods/)[2] as unknown as { status: { conditions: unknown[] } };
    pod.status.conditions = [{ type: "Ready", status: "False" }];
    o["/api/v1/namespaces/meme-generator/events"] = { items: [{ type: "Warning", reason: "Unhealthy", message: "Readiness probe failed: HTTP probe failed with statuscode: 503", lastTimestamp: ago(5), involvedObject: { kind: "Pod", name: "meme-generator-def-1" } }] };
    o["/api/v1/namespaces/meme-generator/pods/meme-generator-def-1/log?container=backend&tailLines=5"] = '{"level":40,"msg":"waiting for Redis: WRONGPASS invalid username-password pair"}\n';
  });
  t.same(worker.map((c) => c.name), ["backend meme-generator/meme-generator"]);
  t.match(worker[0]?.evidence, "0/1 pods Ready, 1 not Ready after 30 s; meme-generator-def-1: Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503; log: {\"level\":40,\"msg\":\"waiting for Redis: WRONGPASS", "the worker's reason from its events and log");

  const stuck = await faulty(t, (o) => {
    // A rollout whose new pod never becomes Ready: the old two still serve.
    const pods = list(o, /\/api\/v1\/pods/) as unknown as { metadata: Record<string, unknown>; spec: unknown; status: unknown }[];
    const first = pods[0] as (typeof pods)[number];
    pods.push({ ...first, metadata: { ...first.metadata, name: "meme-generator-frontend-new-1", creationTimestamp: ago(120) }, status: { phase: "Running", conditions: [{ type: "Ready", status: "False" }] } });
    const young = { ...first, metadata: { ...first.metadata, name: "meme-generator-frontend-new-2", creationTimestamp: ago(5) }, status: { phase: "Running", conditions: [{ type: "Ready", status: "False" }] } };
    pods.push(young);
  });
  t.same(stuck.map((c) => c.name), ["frontend meme-generator/meme-generator-frontend"], "a pod not Ready after its start-up time is a problem even with enough Ready");
  t.match(stuck[0]?.evidence, "2/2 pods Ready, 1 not Ready after 30 s; meme-generator-frontend-new-1:");

  const job = await faulty(t, (o) => {
    (list(o, /jobs/)[0] as unknown as { status: unknown }).status = { active: 1, failed: 2 };
    o[`/api/v1/namespaces/meme-generator/pods?labelSelector=${encodeURIComponent("job-name=meme-generator-provisioner")}`] = { items: [{ metadata: { name: "meme-generator-provisioner-x", namespace: "meme-generator", creationTimestamp: ago(5) }, spec: { containers: [] } }] };
    o["/api/v1/namespaces/meme-generator/pods/meme-generator-provisioner-x/log?tailLines=5"] = "start\nwaiting for NATS at nats.messaging:4222\n";
  });
  t.same(job.map((c) => c.name), ["provisioner Job meme-generator/meme-generator-provisioner"]);
  t.match(job[0]?.evidence, "running (1 active, 2 failed tries); its log ends: start | waiting for NATS at nats.messaging:4222");

  const asleep = await faulty(t, (o) => {
    const d = list(o, /deployments/)[1] as unknown as { spec: { replicas: number } };
    d.spec.replicas = 0;
    const so = list(o, /scaledobjects/)[0] as unknown as { status: { conditions: { type: string; status: string }[] } };
    so.status.conditions = [ready, { type: "Active", status: "False" }];
    o[Object.keys(o).find((k) => k.startsWith("/apis/external.metrics.k8s.io")) as string] = { items: [{ value: "0" }] };
  });
  t.same(asleep, [], "a backend asleep at 0 with no lag is healthy");
});

t.test("the release and the API: clear errors", async (t) => {
  const none = await faulty(t, (o) => {
    for (const k of Object.keys(o)) if (/deployments|statefulsets/.test(k)) o[k] = { items: [] };
  });
  t.match(none[0]?.evidence, "no Deployment or StatefulSet labelled app.kubernetes.io/instance=meme-generator");
  t.match(none[0]?.fix, "--release");

  t.throws(() => kubeAccess({ KUBECONFIG: "/nonexistent/config", HOME: "/nonexistent" }), KubeConfigError);
  const err: string[] = [];
  const error = console.error;
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    t.equal(await doctorCommand([], { KUBECONFIG: "/nonexistent/config" }), 2, "no kubeconfig and not in a cluster: a usage error");
    t.match(err.join("\n"), "doctor: no kubeconfig (looked for /nonexistent/config) and not in a cluster");
    t.equal(await doctorCommand(["--frobnicate"]), 2);
    t.match(err.join("\n"), /Unknown option '--frobnicate'/);
    const dead = kubeconfig("http://127.0.0.1:9");
    t.equal(await doctorCommand([], { KUBECONFIG: dead }), 2, "an API server that does not answer");
    t.match(err.join("\n"), `could not be read`);
  } finally {
    console.error = error;
  }

  const api = await apiServer(t, () => ({}));
  await t.rejects(new Kube(kubeAccess({ KUBECONFIG: kubeconfig(api.url) })).get("/api/v1/nothing"), KubeApiError);
  t.equal(await new Kube(kubeAccess({ KUBECONFIG: kubeconfig(api.url) })).find("/api/v1/nothing"), undefined, "find: 404 is absence");
});

t.test("kubeconfig credentials: an exec plugin's token, files relative to the kubeconfig, a chosen context", async (t) => {
  const api = await apiServer(t, () => ({ "/version": { gitVersion: "v1.36.3" } }));
  const plugin = `process.stdout.write(JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token: "from-" + process.env.WHO } }))`;
  const file = kubeconfig(api.url, { exec: { command: process.execPath, args: ["-e", plugin], env: [{ name: "WHO", value: "plugin" }] } });
  const access = kubeAccess({ KUBECONFIG: file });
  t.equal(access.token, "from-plugin");
  t.equal(access.namespace, "meme-generator");
  await new Kube(access).get("/version");
  t.equal(api.asked.at(-1)?.auth, "Bearer from-plugin");
  const broken = kubeconfig(api.url, { exec: { command: "/nonexistent/plugin" } });
  t.throws(() => kubeAccess({ KUBECONFIG: broken }), /exec plugin \/nonexistent\/plugin failed/);

  const dir = mkdtempSync(join(tmpdir(), "doctor-"));
  writeFileSync(join(dir, "token"), "file-token\n");
  writeFileSync(join(dir, "config"), JSON.stringify({ "current-context": "a", contexts: [{ name: "a", context: { cluster: "c", user: "u" } }, { name: "b", context: { cluster: "c", user: "v" } }], clusters: [{ name: "c", cluster: { server: `${api.url}/` } }], users: [{ name: "u", user: { tokenFile: "token" } }, { name: "v", user: { token: "b-token" } }] }));
  t.equal(kubeAccess({ KUBECONFIG: join(dir, "config") }).token, "file-token", "tokenFile relative to the kubeconfig's folder");
  t.equal(kubeAccess({ KUBECONFIG: join(dir, "config") }, "b").token, "b-token", "--context picks another");
  t.equal(kubeAccess({ KUBECONFIG: join(dir, "config") }).server, api.url, "a trailing slash is dropped");
  t.throws(() => kubeAccess({ KUBECONFIG: join(dir, "config") }, "nope"), /has no context nope/);
  writeFileSync(join(dir, "bad"), "{ not yaml: [");
  t.throws(() => kubeAccess({ KUBECONFIG: join(dir, "bad") }), /is not a kubeconfig/);
});
