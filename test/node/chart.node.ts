// The chart on a real node: containerd, the kubelet and kube-proxy in a network namespace of the
// test's own, joined to the end-to-end control plane beside three kwok nodes. The pods run the
// images built here (imported, never pulled) and select the real node; their probes are real, their
// Services route, CoreDNS resolves cluster names and nothing else, and the seal keeps every packet
// on this machine. `helm install --wait` of the demo profile (Helm 3) and of the defaults (Helm 4)
// ends with every pod Ready, the provisioner Job completed against the real NATS and `helm test`
// making a real meme by cluster DNS names. A run killed before its teardown leaves nothing the next
// one does not remove.
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import t, { type Test } from "tap";
import { stringify } from "yaml";
import { repoPath } from "../../generator/schema.js";
import { freePort } from "../../src/local/servers.js";
import { Cluster, parse, profileArgs, release, succeeded, withCrds, type Helm, type Ref } from "../e2e/cluster.js";
import { stopProcesses, type Process } from "../e2e/controlplane.js";
import { image, imagesDir, manifest } from "../image/manifest.js";
import { ScalingPage, scalingViewMatches } from "./scaling-view.js";
import { network, nodeLabel, nodeName, RealNode, removeStaleNodes, running, spawnUntil } from "./node.js";
import { activationThreshold, burstFromZero, fallbackOnMissingConsumer, guideLoopWakesBackend, KedaBackend, stepDownMidScaleOut } from "./keda.js";
import { heyScalesFrontend, redisVpaRun, loopScalesFrontend, utilization, type HpaObject } from "./autoscalers.js";
import { clusterIP, noneLost, pacedMemes, portForward } from "./traffic.js";
import { doctorFindsFaults } from "./doctor.js";
import { eventually } from "../harness/eventually.js";

type Condition = { type: string; status: string; lastTransitionTime?: string };
type ContainerStatus = { name: string; ready: boolean; restartCount: number; state?: { running?: { startedAt: string }; waiting?: { reason?: string }; terminated?: { exitCode: number; reason?: string } } };
type Pod = Ref & {
  metadata: { creationTimestamp: string; deletionTimestamp?: string; ownerReferences?: { kind: string; name: string }[] };
  spec: { nodeName?: string; containers: { name: string; image: string; imagePullPolicy?: string }[]; initContainers?: { name: string; image: string; imagePullPolicy?: string }[] };
  status: { phase: string; conditions?: Condition[]; containerStatuses?: ContainerStatus[] };
};

const at = (pod: Pod, type: string) => Date.parse(pod.status.conditions?.find((c) => c.type === type && c.status === "True")?.lastTransitionTime ?? "");
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * How long the autoscalers are given. `npm run test:e2e:full` (MEME_E2E_FULL=1) runs the demo's own
 * HPA behaviour (a 300 s scale-down window, then 20 % per 60 s) and the guide's 5-minute `hey` and
 * 100000-request `redis-benchmark`; otherwise the scale-down window and period are shortened through
 * the chart's `frontend.autoscaling.hpa.behavior` value and the loads are shorter. The VPA's programs
 * run with shortened intervals in both (docs/real-node.md lists each flag).
 */
const full = process.env.MEME_E2E_FULL === "1";
const shortBehavior = {
  scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] },
  scaleDown: { stabilizationWindowSeconds: 30, policies: [{ type: "Percent", value: 20, periodSeconds: 15 }] },
};
const timing = full
  ? { heySeconds: 300, loopSeconds: 120, benchmark: 100_000, vpa: { interval: "1m", confidence: "2m" }, vpaIntervalSeconds: 60 }
  : { heySeconds: 90, loopSeconds: 60, benchmark: 10_000, vpa: { interval: "10s", confidence: "1m" }, vpaIntervalSeconds: 10 };
/** The demo as the real node runs it: Redis standalone (the operator cannot be built here), and the CI pass's HPA behaviour. */
const demoArgs = ["--set", "redis.mode=standalone", ...(full ? [] : ["--set-json", `frontend.autoscaling.hpa.behavior=${JSON.stringify(shortBehavior)}`])];

/**
 * The production profile on one node of 2 CPUs: its fewest pods ask for 2.5 (two frontends at 250m, a
 * worker at 1, three NATS servers and Redis at 250m each), so the test cuts each request to 100m and
 * KEDA's maximum to 6 workers; the rest is the profile as it ships (three NATS servers with file
 * storage on claims, the stream and consumer on all three, Redis persistent, PDBs, policies).
 */
const productionArgs = [
  ...["frontend", "backend", "nats", "redis"].flatMap((tier) => ["--set", `${tier}.resources.requests.cpu=100m`]),
  ...["--set", "backend.autoscaling.keda.maxReplicaCount=6"],
];

/**
 * The test values: the images built here, never pulled, every pod of the chart on the real node, and
 * the API server's address on the host side of the veth pair as the frontend's egress peer (the
 * scaling view reads the API; NetworkPolicies see that address, not the kubernetes Service's).
 */
function nodeValues(dir: string, apiPort: number): string {
  const selector = { nodeSelector: { [nodeLabel.key]: nodeLabel.value } };
  const file = join(dir, "node-values.yaml");
  const networkPolicy = { apiServer: { peers: [{ ipBlock: { cidr: `${network.host}/32` } }], ports: [apiPort] } };
  writeFileSync(file, `${stringify({ frontend: selector, backend: selector, nats: selector, redis: selector, provisioner: selector, networkPolicy })}`);
  return file;
}

/**
 * One more replica of a Deployment while the stack is up, as every scale-out makes one: the seconds
 * from the new pod's scheduling, and from its container's start, to Ready. Scaled back afterwards.
 */
async function scaleOut(c: Cluster, deployment: string, namespace: string): Promise<{ scheduled: number; container: number }> {
  const workload = await c.get<{ spec: { replicas: number; selector: { matchLabels: Record<string, string> } } }>(["deployment", deployment, "-n", namespace]);
  const selector = Object.entries(workload.spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(",");
  const before = new Set((await c.get<{ items: Pod[] }>(["pods", "-n", namespace, "-l", selector])).items.map((p) => p.metadata.name));
  await c.kubectl(["scale", `deployment/${deployment}`, "-n", namespace, `--replicas=${workload.spec.replicas + 1}`]);
  try {
    return await eventually(
      async () => {
        const fresh = (await c.get<{ items: Pod[] }>(["pods", "-n", namespace, "-l", selector])).items.find((p) => !before.has(p.metadata.name));
        if (!fresh || !(at(fresh, "Ready") > 0)) return undefined; // not Ready yet: NaN, no such condition
        const started = Math.min(...(fresh.status.containerStatuses ?? []).map((s) => Date.parse(s.state?.running?.startedAt ?? "")).filter(Number.isFinite));
        return { scheduled: (at(fresh, "Ready") - at(fresh, "PodScheduled")) / 1000, container: (at(fresh, "Ready") - started) / 1000 };
      },
      { timeout: 120_000, interval: 500, what: `a new pod of ${namespace}/${deployment} Ready` },
    );
  } finally {
    await c.kubectl(["scale", `deployment/${deployment}`, "-n", namespace, `--replicas=${workload.spec.replicas}`]);
  }
}

/** Deletes a StatefulSet's pod and waits until its replacement is Ready: the seconds it took. */
async function replacePod(c: Cluster, name: string, namespace: string): Promise<number> {
  const before = (await c.get<Pod & { metadata: { uid: string } }>(["pod", name, "-n", namespace])).metadata.uid;
  const started = Date.now();
  await c.kubectl(["delete", "pod", name, "-n", namespace, "--wait=false"]);
  await eventually(
    async () => {
      const pod = await c.get<Pod & { metadata: { uid: string } }>(["pod", name, "-n", namespace]);
      return pod.metadata.uid !== before && at(pod, "Ready") > 0;
    },
    { timeout: 180_000, interval: 500, what: `${namespace}/${name} replaced and Ready` },
  );
  return (Date.now() - started) / 1000;
}

/** Redis's password, from the Secret NOTES tells how to read. */
async function redisPassword(c: Cluster): Promise<string> {
  const secrets = (await c.get<{ items: { metadata: { name: string }; data?: Record<string, string> }[] }>(["secrets", "-n", "cache"])).items.filter((s) => s.data?.password);
  return Buffer.from(secrets[0]?.data?.password ?? "", "base64").toString();
}

/** The guide's ways in, against the real pods: the frontend, NATS's monitoring, Redis with its password, a shell in a frontend pod. */
async function accessCommands(t: Test, c: Cluster): Promise<void> {
  const frontend = await portForward(t, c, "svc/meme-generator-frontend", "meme-generator", 80);
  const page = await fetch(`http://127.0.0.1:${frontend}/`);
  t.equal(page.status, 200, "the web UI through kubectl port-forward");
  t.match(await page.text(), /<html/i, "its page");
  const submitted = await fetch(`http://127.0.0.1:${frontend}/api/memes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: "a real node at last", fastMode: true }) });
  t.equal(submitted.status, 202, "a submit is queued");
  const { id } = (await submitted.json()) as { id: string };
  let status = "";
  await eventually(async () => ["done", "failed"].includes((status = ((await (await fetch(`http://127.0.0.1:${frontend}/api/memes/${id}`)).json()) as { status: string }).status)), { timeout: 60_000, interval: 500 }).catch(() => undefined);
  t.equal(status, "done", "a worker pod made it");
  const png = Buffer.from(await (await fetch(`http://127.0.0.1:${frontend}/api/memes/${id}/image.png`)).arrayBuffer());
  t.same([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `its image is a PNG (${png.length} bytes)`);

  const monitor = await portForward(t, c, "svc/nats", "messaging", 8222);
  const jsz = (await (await fetch(`http://127.0.0.1:${monitor}/jsz`)).json()) as { streams?: number; consumers?: number };
  t.ok((jsz.streams ?? 0) >= 1 && (jsz.consumers ?? 0) >= 1, `NATS /jsz through port-forward: ${jsz.streams} stream, ${jsz.consumers} consumer`);

  const redis = await portForward(t, c, "svc/redis", "cache", 6379);
  const password = await redisPassword(c);
  const pinged = spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(redis), "-a", password, "--no-auth-warning", "ping"], { encoding: "utf8", timeout: 15_000 });
  t.equal(pinged.stdout.trim(), "PONG", "redis-cli ping with the password NOTES tells how to read");

  const shell = await c.kubectl(["exec", "deploy/meme-generator-frontend", "-n", "meme-generator", "--", "sh", "-c", "echo ok"]);
  t.equal(shell.stdout.trim(), "ok", "kubectl exec into a frontend pod runs sh");
}

/**
 * What a probe in a pod runs (the app image has node): a TCP connect to each target, 3 s each (a dropped
 * SYN times out where an open or closed port answers at once), then each name through the pod's
 * resolver, 2 s and one try each; one JSON line of results. With `ready`, it first tries that target
 * (an allowed one) until it connects, for up to 30 s: the policy engine admits a new pod's traffic
 * only once it has seen the pod, and the time that took is reported as `admittedAfterMs`.
 */
const probeScript = `
const net = require("node:net"); const { Resolver } = require("node:dns").promises;
const tryConnect = (host, port) => new Promise((done) => {
  const s = net.connect({ host, port, timeout: 3000 });
  s.on("connect", () => { s.destroy(); done("connected"); });
  s.on("timeout", () => { s.destroy(); done("timeout"); });
  s.on("error", (e) => done(e.code));
});
(async () => {
  const { connect = [], resolve = [], ready } = JSON.parse(process.argv[1]);
  const out = {};
  if (ready) {
    const started = Date.now();
    while ((await tryConnect(ready[0], ready[1])) !== "connected" && Date.now() - started < 30000) await new Promise((r) => setTimeout(r, 500));
    out.admittedAfterMs = String(Date.now() - started);
  }
  for (const [name, host, port] of connect) out[name] = await tryConnect(host, port);
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  for (const [name, host] of resolve) out[name] = await resolver.resolve4(host).then((a) => a.join(","), (e) => e.code);
  console.log(JSON.stringify(out));
})();`;

type Probe = { connect?: (readonly [string, string, number])[]; resolve?: (readonly [string, string])[]; ready?: readonly [string, number] };
const lastJson = (text: string) => JSON.parse(text.trim().split("\n").pop() || "{}") as Record<string, string>;

/**
 * The probe from a pod of its own with `labels` in `namespace`, on the real node. The pod idles until it
 * runs; when a policy selects it (`selected`), until the engine has also hooked its own chain to its
 * address (before that, its egress is not yet restricted); then the probe runs in it by `kubectl exec`.
 */
async function probePod(c: Cluster, namespace: string, name: string, labels: Record<string, string>, probe: Probe, selected?: RealNode): Promise<Record<string, string>> {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels },
    spec: {
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 0,
      nodeSelector: { [nodeLabel.key]: nodeLabel.value },
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "probe",
          image: image("app").ref,
          imagePullPolicy: "Never",
          command: ["node", "-e", "setTimeout(() => {}, 600_000)"],
          resources: { limits: { cpu: "200m", memory: "128Mi" } },
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
        },
      ],
    },
  };
  await c.plane.apply([pod]);
  try {
    const ip = await eventually(
      async () => {
        const got = await c.get<Pod & { status: { podIP?: string } }>(["pod", name, "-n", namespace]);
        return got.status.phase === "Running" && got.status.podIP ? got.status.podIP : undefined;
      },
      { timeout: 120_000, interval: 500, what: `probe ${namespace}/${name} running` },
    );
    if (selected) {
      const hooked = () => selected.exec("iptables-save", ["-t", "filter"]).stdout.split("\n").some((l) => l.includes(`${ip}/32`) && l.includes("KUBE-POD-FW-"));
      await eventually(hooked, { timeout: 30_000, interval: 500, what: `a kube-router chain hooked to ${namespace}/${name} (${ip})` });
    }
    return await probeExec(c, namespace, name, probe);
  } finally {
    await c.kubectl(["delete", "pod", name, "-n", namespace, "--wait=false"]);
  }
}

/** The probe inside a running pod's own network namespace: an ephemeral container of the app image (`kubectl debug`). */
async function probeInside(c: Cluster, namespace: string, pod: string, container: string, probe: Probe): Promise<Record<string, string>> {
  const debug = await c.kubectl(["debug", pod, "-n", namespace, `--image=${image("app").ref}`, "--image-pull-policy=Never", "--profile=restricted", `--container=${container}`, "--", "node", "-e", probeScript, JSON.stringify(probe)]);
  if (debug.code !== 0) throw new Error(`kubectl debug ${namespace}/${pod}: ${debug.stderr}`);
  type Status = { name: string; state?: { terminated?: { exitCode: number } } };
  const done = await eventually(
    async () => {
      const statuses = (await c.get<{ status: { ephemeralContainerStatuses?: Status[] } }>(["pod", pod, "-n", namespace])).status.ephemeralContainerStatuses ?? [];
      return statuses.find((s) => s.name === container)?.state?.terminated;
    },
    { timeout: 120_000, interval: 500, what: `the probe in ${namespace}/${pod} ending` },
  );
  const logs = await c.kubectl(["logs", pod, "-n", namespace, "-c", container]);
  if (done.exitCode !== 0) throw new Error(`probe in ${namespace}/${pod} exited ${done.exitCode}: ${logs.stdout}${logs.stderr}`);
  return lastJson(logs.stdout);
}

/** The probe run by `kubectl exec` in a workload's pod (its image is the app's). */
async function probeExec(c: Cluster, namespace: string, target: string, probe: Probe): Promise<Record<string, string>> {
  const run = await c.kubectl(["exec", target, "-n", namespace, "--", "node", "-e", probeScript, JSON.stringify(probe)]);
  if (run.code !== 0) throw new Error(`kubectl exec ${namespace}/${target}: ${run.stderr}`);
  return lastJson(run.stdout);
}

/**
 * The demo's NetworkPolicies as a truth table, by connections: each source tries each target and the
 * test compares connected with not. Every target a source is refused is also reached by an allowed
 * source in the same run, so a refusal is the policy's and not an absent listener.
 */
async function policyTable(t: Test, c: Cluster, node: RealNode): Promise<void> {
  const natsIp = await clusterIP(c, "nats", "messaging");
  const redisIp = await clusterIP(c, "redis", "cache");
  const frontendIp = await clusterIP(c, "meme-generator-frontend", "meme-generator");
  const natsPod = (await c.get<Pod & { status: { podIP: string } }>(["pod", "nats-0", "-n", "messaging"])).status.podIP;
  const to: Record<string, readonly [string, number]> = {
    nats: [natsIp, 4222],
    natsMonitor: [natsIp, 8222],
    natsExporter: [natsPod, 7777],
    redis: [redisIp, 6379],
    redisExporter: [redisIp, 9121],
    frontend: [frontendIp, 80],
  };
  const dns = [["dns", "kubernetes.default.svc.cluster.local"]] as const;
  const selectorOf = async (policy: string) => (await c.get<{ spec: { podSelector: { matchLabels: Record<string, string> } } }>(["networkpolicy", policy, "-n", "meme-generator"])).spec.podSelector.matchLabels;

  for (const ns of ["keda", "monitoring", "policy-probe"]) await c.namespace(ns);
  const rows: { source: string; got: Record<string, string>; allowed: string[]; refused: string[] }[] = [];
  const row = async (source: string, allowed: string[], refused: string[], run: (probe: Probe) => Promise<Record<string, string>>) => {
    const targets = [...allowed, ...refused].filter((k) => k !== "dns").map((k) => [k, ...(to[k] as readonly [string, number])] as const);
    const wantsDns = allowed.includes("dns") || refused.includes("dns");
    const gate = allowed.find((k) => k !== "dns");
    const ready = gate ? to[gate] : undefined;
    rows.push({ source, allowed, refused, got: await run({ connect: targets, resolve: wantsDns ? [...dns] : [], ready }) });
  };
  const app = (name: string) => ({ "app.kubernetes.io/name": "meme-generator", "app.kubernetes.io/instance": "meme-generator", "app.kubernetes.io/component": name });

  await row("frontend pod", ["nats", "redis", "frontend", "dns"], ["redisExporter", "natsMonitor"], (p) => probeExec(c, "meme-generator", "deploy/meme-generator-frontend", p));
  await row("worker pod", ["nats", "redis", "dns"], ["redisExporter", "natsMonitor", "frontend"], (p) => probeExec(c, "meme-generator", "deploy/meme-generator", p));
  await row("a pod with the provisioner's labels", ["nats", "dns"], ["redis", "natsMonitor", "frontend"], async (p) => probePod(c, "meme-generator", "as-provisioner", await selectorOf("meme-generator-provisioner"), p, node));
  await row("a pod with the smoke test's labels", ["frontend", "dns"], ["nats", "natsMonitor", "redis"], async (p) => probePod(c, "meme-generator", "as-smoke", await selectorOf("meme-generator-smoke"), p, node));
  await row("a pod in KEDA's namespace", ["natsMonitor", "frontend"], ["nats", "natsExporter", "redis", "redisExporter"], (p) => probePod(c, "keda", "probe", {}, p));
  await row("a pod in the monitoring namespace", ["natsMonitor", "natsExporter", "redisExporter", "frontend"], ["nats", "redis"], (p) => probePod(c, "monitoring", "probe", {}, p));
  await row("a pod without tier labels in the app namespace", ["frontend"], ["nats", "natsMonitor", "redis", "redisExporter"], (p) => probePod(c, "meme-generator", "unlabelled", {}, p));
  // Labelled as the frontend, but elsewhere: a peer names its namespace as well as its labels.
  await row("a pod in another namespace", ["frontend"], ["nats", "natsMonitor", "redis", "redisExporter"], (p) => probePod(c, "policy-probe", "probe", app("frontend"), p));
  await row("the NATS pod", ["dns"], ["redis", "frontend"], (p) => probeInside(c, "messaging", "nats-0", "probe-policies", p));
  await row("the Redis pod", [], ["dns", "nats", "frontend"], (p) => probeInside(c, "cache", "redis-0", "probe-policies", p));
  // Where KEDA's operator runs: a program of the node itself, not a pod. Traffic from the pod's own
  // node is admitted; the same read forwarded from the host's side of the pair is not.
  const local = (run: { code: number; stdout: string; stderr: string }) => {
    if (run.code !== 0) throw new Error(`the probe exited ${run.code}: ${run.stderr}`);
    return lastJson(run.stdout);
  };
  await row("a program on the node", ["natsMonitor"], [], async (p) => local(node.exec(process.execPath, ["-e", probeScript, JSON.stringify(p)])));
  await row("a program on the host", ["frontend"], ["natsMonitor", "nats", "redis"], async (p) => {
    const run = spawnSync(process.execPath, ["-e", probeScript, JSON.stringify(p)], { encoding: "utf8", timeout: 60_000 });
    return local({ code: run.status ?? 1, stdout: run.stdout, stderr: run.stderr });
  });

  const reached = (v: string | undefined) => v === "connected" || (v !== undefined && /^\d+\.\d+\.\d+\.\d+/.test(v));
  const table: string[] = [];
  for (const r of rows) {
    for (const k of r.allowed) t.ok(reached(r.got[k]), `${r.source} → ${k}: allowed (${r.got[k]})`);
    for (const k of r.refused) t.notOk(reached(r.got[k]), `${r.source} → ${k}: refused (${r.got[k]})`);
    table.push(`${r.source}: ${Object.entries(r.got).map(([k, v]) => `${k}=${v}`).join(" ")}`);
  }
  t.comment(`NetworkPolicies on the real node (kube-router's firewall):\n${table.join("\n")}`);
  await c.kubectl(["delete", "namespace", "policy-probe", "--wait=false"]);
}

/** Starts killed-run.ts, SIGKILLs it once its node is half made, and lets the next run's cleanup loose on it. */
async function killedRun(): Promise<{ left: Record<string, boolean>; removed: string[]; after: Record<string, boolean>; netns: string }> {
  const { child, output } = await spawnUntil("the run to kill did not get ready", process.execPath, [...process.execArgv, join(import.meta.dirname, "killed-run.ts")], "cgroupRoot", 60_000);
  const made = JSON.parse(output().trim().split("\n").pop() ?? "{}") as { netns: string; root: string; cgroupRoot: string; left: number };
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
  const there = () => ({
    netns: spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout.includes(made.netns),
    table: spawnSync("nft", ["list", "tables"], { encoding: "utf8" }).stdout.includes(`meme_node_seal_${child.pid}`),
    cgroup: existsSync(`/sys/fs/cgroup/memory${made.cgroupRoot}`),
    folder: existsSync(made.root),
    program: running(made.left),
  });
  const left = there();
  const removed = await removeStaleNodes();
  return { left, removed, after: there(), netns: made.netns };
}

async function suite(crds: string): Promise<void> {
  const node = new RealNode();
  const started: { cluster?: Cluster } = {};
  t.teardown(async () => {
    // Also when the node never got up: its logs say why.
    if (t.counts.fail > 0 || !started.cluster) {
      const folder = repoPath(".artifacts/e2e/node");
      node.keepLogs(folder);
      if (started.cluster) writeFileSync(join(folder, "events.txt"), (await started.cluster.kubectl(["get", "events", "-A", "--sort-by=.lastTimestamp"])).stdout);
    }
    await node.stop();
  });
  // A run killed before its teardown, and what the next one's cleanup leaves of it; asserted below. It
  // runs first, while no node of this run holds the addresses, and outside a subtest: the root test
  // would end, and run its teardown, between a first subtest and the next.
  const killed = await killedRun();

  await node.prepare();
  const c = await Cluster.start(t, "node", crds, { nodes: 3, address: network.host });
  started.cluster = c;
  const plane = c.plane;
  const joined = Date.now();
  await node.join(plane, Object.values(manifest.images).map((i) => join(imagesDir, i.archive)));
  t.comment(`node ${nodeName} joined and Ready in ${seconds(Date.now() - joined)}`);
  await node.startDns(plane, image("coredns").ref);
  await node.startPolicies(plane);
  await node.makeVolumes(plane, 6);
  const values = [join(imagesDir, "values.yaml"), nodeValues(plane.dir, plane.apiPort)];

  await t.test("a run killed before its teardown: the next removes all it left", async (t) => {
    t.same(killed.left, { netns: true, table: true, cgroup: true, folder: true, program: true }, "killed, it left its namespace, table, cgroup, folder and a program running");
    t.same(killed.removed, [killed.netns], "the next run finds it by its dead process id");
    t.same(killed.after, { netns: false, table: false, cgroup: false, folder: false, program: false }, "and removes every part");
  });

  await t.test("the real node: registered beside the kwok nodes, with its runtime and addresses", async (t) => {
    const nodes = await c.get<{ items: { metadata: { name: string; labels: Record<string, string> }; status: { addresses: { type: string; address: string }[]; nodeInfo: { containerRuntimeVersion: string; kubeletVersion: string } } }[] }>(["nodes"]);
    t.same(nodes.items.map((n) => n.metadata.name).sort(), ["kwok-node-0", "kwok-node-1", "kwok-node-2", nodeName], "three kwok nodes and the real one");
    const real = nodes.items.find((n) => n.metadata.name === nodeName);
    t.equal(real?.metadata.labels[nodeLabel.key], nodeLabel.value, "labelled for the test values to select");
    t.equal(real?.status.addresses.find((a) => a.type === "InternalIP")?.address, network.node, "its InternalIP is the node's side of the veth pair");
    t.match(real?.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\/v?2\./, `runtime ${real?.status.nodeInfo.containerRuntimeVersion}`);
    t.match(real?.status.nodeInfo.kubeletVersion, /^v1\.36\./, `kubelet ${real?.status.nodeInfo.kubeletVersion}`);
  });

  await t.test("the seal: a pod reaches the cluster's names and the API server, nothing outside, not the host's servers", async (t) => {
    const ns = "seal-probe";
    await c.namespace(ns);
    // The host's own address on its way out (a route lookup, no packet): its default ports there too.
    const primary = (JSON.parse(spawnSync("ip", ["-j", "route", "get", "198.51.100.1"], { encoding: "utf8" }).stdout || "[]") as { prefsrc?: string }[])[0]?.prefsrc ?? network.host;
    const targets: Probe["connect"] = [
      ["kubernetesService", "10.96.0.1", 443],
      ["hostPrimaryNats", primary, 4222],
      ["outside", "198.51.100.1", 80],
      ["hostNats", network.host, 4222],
      ["hostRedis", network.host, 6379],
      ["hostRabbit", network.host, 5672],
      ["kubelet", network.node, 10250],
    ];
    const names: Probe["resolve"] = [
      ["clusterName", "kubernetes.default.svc.cluster.local"],
      ["outsideName", "example.com"],
    ];
    const before = node.sealCounters();
    const result = await probePod(c, ns, "probe", {}, { connect: targets, resolve: names });
    const after = node.sealCounters();
    t.equal(result.kubernetesService, "connected", "the kubernetes Service (the API server on the host's side of the pair) is reachable");
    t.equal(result.clusterName, "10.96.0.1", "kubernetes.default.svc.cluster.local resolves through CoreDNS");
    t.equal(result.outsideName, "ENOTFOUND", "an outside name is NXDOMAIN: CoreDNS forwards nowhere");
    for (const name of ["outside", "hostPrimaryNats", "hostNats", "hostRedis", "hostRabbit", "kubelet"]) t.equal(result[name], "timeout", `${name}: dropped (${result[name]})`);
    const dropped = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
    t.ok(dropped("pods_out") >= 5, `the node's forward chain dropped the pod's packets for outside and the host (${dropped("pods_out")})`);
    t.ok(dropped("pods_node") >= 1, `the node's input chain dropped the pod's packets for the kubelet (${dropped("pods_node")})`);
    t.equal(dropped("host_in") + dropped("host_forward"), 0, "nothing reached the host's own chains: the node's seal held first");
    await c.kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  /** Every pod of the release: on the real node, Running and Ready through its probes, its image imported and never pulled. */
  const allReady = async (t: Test, namespaces: string[]) => {
    const times: string[] = [];
    for (const ns of namespaces) {
      const pods = (await c.get<{ items: Pod[] }>(["pods", "-n", ns])).items.filter((p) => !p.metadata.ownerReferences?.some((o) => o.kind === "Job"));
      for (const pod of pods) {
        const where = `${ns}/${pod.metadata.name}`;
        t.equal(pod.spec.nodeName, nodeName, `${where} runs on the real node`);
        t.ok(pod.status.phase === "Running" && at(pod, "Ready") > 0, `${where}: Running and Ready`);
        for (const container of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
          t.equal(container.imagePullPolicy, "Never", `${where} ${container.name}: ${container.image}, pullPolicy Never`);
        }
        const started = Math.min(...(pod.status.containerStatuses ?? []).map((s) => Date.parse(s.state?.running?.startedAt ?? "")).filter(Number.isFinite));
        times.push(`${where}: scheduled→Ready ${seconds(at(pod, "Ready") - at(pod, "PodScheduled"))}, container start→Ready ${seconds(at(pod, "Ready") - started)}`);
      }
    }
    t.comment(`start to Ready on the real node:\n${times.join("\n")}`);
  };

  const install = async (t: Test, which: Helm, profile: string, namespace: string, extra: string[] = []) => {
    await c.namespace(namespace);
    const started = Date.now();
    const args = ["install", release, repoPath("chart"), "-n", namespace, "--wait", "--wait-for-jobs", "--timeout", "10m", ...profileArgs(profile), ...values.flatMap((v) => ["-f", v]), ...extra];
    const result = await c.helm(which, args);
    if (!succeeded(t, result, `${which} install --wait --wait-for-jobs (${profile}) in ${seconds(Date.now() - started)}`)) {
      t.comment((await c.kubectl(["get", "pods", "-A", "-o", "wide"])).stdout);
      return undefined;
    }
    const objects = parse((await c.helm(which, ["get", "manifest", release, "-n", namespace])).stdout);
    const namespaces = [...new Set(objects.map((o) => o.metadata.namespace ?? namespace))];
    await allReady(t, namespaces);
    const job = objects.find((o) => o.kind === "Job");
    if (t.ok(job, "the release has a provisioner Job") && job) {
      const ns = job.metadata.namespace ?? namespace;
      const status = await c.get<{ status: { succeeded?: number } }>(["job", job.metadata.name, "-n", ns]);
      t.equal(status.status.succeeded, 1, `Job ${ns}/${job.metadata.name} completed on the real node`);
      const logs = await c.kubectl(["logs", `job/${job.metadata.name}`, "-n", ns]);
      t.match(logs.stdout, /stream/i, "its log speaks of the stream it provisioned on the real NATS");
    }
    // The smoke pod is deleted once it succeeds (its hook-delete-policy), so its logs cannot be asked for.
    const tested = await c.helm(which, ["test", release, "-n", namespace, "--timeout", "5m"]);
    if (succeeded(t, tested, `${which} test ${release}: the smoke pod made a meme through the frontend Service, NATS and Redis`)) {
      t.match(tested.stdout, /Phase:\s+Succeeded/, "the test pod's phase: Succeeded");
    }
    return { objects, namespaces };
  };

  /**
   * The defaults' release, upgraded to demo while memes arrive at 1/s: NATS and Redis move to the
   * namespaces messaging and cache. The old workers stop first, so requests wait in the old stream when
   * the upgrade comes; the move Job must carry them and the old Redis's records over. Returns the
   * namespaces of the upgraded release.
   */
  const moveToDemo = async (t: Test): Promise<string[]> => {
    const ip = await clusterIP(c, "meme-generator-frontend", "meme-generator");
    const args = ["upgrade", release, repoPath("chart"), "-n", "meme-generator", "--wait", "--wait-for-jobs", "--timeout", "10m", ...profileArgs("demo"), ...values.flatMap((v) => ["-f", v]), ...demoArgs];
    let upgraded: { code: number; stderr: string; seconds: number } | undefined;
    // At the fifth meme the old workers stop; 8 s later the upgrade begins; the memes go on until 10 s after it returned (at most 180).
    const stop = new AbortController();
    const faults = new Map<number, () => Promise<void>>([
      [
        5,
        async () => {
          await c.kubectl(["scale", "deployment/meme-generator-backend", "-n", "meme-generator", "--replicas=0"]);
          await sleep(8000);
          const started = Date.now();
          const result = await c.helm("helm4", args);
          upgraded = { code: result.code, stderr: result.stderr, seconds: (Date.now() - started) / 1000 };
          await sleep(10_000);
          stop.abort();
        },
      ],
    ]);
    const paced = await pacedMemes(`http://${ip}`, 180, 1, faults, stop.signal);
    t.comment(`${paced.sent} memes at 1/s through helm upgrade to demo (${upgraded?.seconds.toFixed(1)} s): ${paced.accepted} accepted (${paced.resubmitted} refusals sent again), ${paced.done} done, failed ${JSON.stringify(paced.failed)}; not final: ${JSON.stringify(paced.lostStates)}`);
    t.equal(upgraded?.code, 0, `helm4 upgrade --wait to demo succeeded ${upgraded?.stderr.trim() ?? ""}`);
    noneLost(t, paced, paced.sent);
    // The memes made before the upgrade are asked for only after it, through the new frontends: each is
    // done only if its result was copied to the new Redis; those accepted after the old workers stopped
    // only if their requests moved to the new stream (no old worker ran again).
    t.same(paced.failed, {}, "none failed");
    t.equal(paced.done, paced.accepted, "every meme done");
    // What the move did, as the Job's pod that succeeded logged it (the Job stays an hour after it ends).
    const moverPods = await c.get<{ items: Pod[] }>(["pods", "-n", "meme-generator", "-l", "batch.kubernetes.io/job-name=meme-generator-move-data-run", "--field-selector", "status.phase=Succeeded"]);
    const mover = moverPods.items[0]?.metadata.name ?? "none succeeded";
    const log = (await c.kubectl(["logs", mover, "-n", "meme-generator"])).stdout;
    const lines = log.split("\n").flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
    const moved = lines.find((l) => typeof l.moved === "number")?.moved as number | undefined;
    const copied = lines.find((l) => typeof l.copied === "number")?.copied as number | undefined;
    t.comment(`the move Job: ${lines.map((l) => l.msg).join("; ")}`);
    t.ok((moved ?? 0) > 0, `the requests waiting in the old stream moved to the new one (${moved})`);
    t.ok((copied ?? 0) > 0, `the old Redis's keys were copied to the new one (${copied}; pod ${mover})`);
    const left = await c.kubectl(["get", "statefulsets,services,secrets,configmaps,networkpolicies,serviceaccounts,roles", "-n", "meme-generator", "-o", "name"]);
    const old = left.stdout.split("\n").filter((n) => /\/meme-generator-(nats|redis|move-data)/.test(n));
    t.same(old, [], "the old NATS and Redis and the move's account, Role and Secret are gone");
    const objects = parse((await c.helm("helm4", ["get", "manifest", release, "-n", "meme-generator"])).stdout);
    return [...new Set(objects.map((o) => o.metadata.namespace ?? "meme-generator"))];
  };

  const uninstall = async (t: Test, which: Helm, namespace: string, namespaces: string[]) => {
    succeeded(t, await c.helm(which, ["uninstall", release, "-n", namespace, "--wait", "--timeout", "3m"]), `${which} uninstall --wait`);
    // Helm waits for the workloads to go, not their pods: a worker stops within its grace (60 s), and
    // the next install in the same namespace must find none of them. Finished Jobs' pods do not count.
    let running: string[] = [];
    const pods = async () =>
      (await Promise.all(namespaces.map(async (ns) => (await c.get<{ items: Pod[] }>(["pods", "-n", ns, "-l", `app.kubernetes.io/instance=${release}`])).items)))
        .flat()
        .filter((p) => p.status.phase !== "Succeeded" && p.status.phase !== "Failed")
        .map((p) => `${p.metadata.namespace ?? ""}/${p.metadata.name}`);
    const stopped = await eventually(async () => (running = await pods()).length === 0, { timeout: 180_000, interval: 1000 }).catch(() => false);
    t.ok(stopped, `every pod of the release has stopped${running.length ? ` (still: ${running.join(", ")})` : ""}`);
    for (const ns of namespaces) {
      for (const claim of (await c.get<{ items: (Ref & { spec: { volumeName?: string } })[] }>(["pvc", "-n", ns])).items) {
        await c.kubectl(["delete", "pvc", claim.metadata.name, "-n", ns, "--wait"]);
        if (!claim.spec.volumeName) continue;
        // Emptied before it is offered again: a NATS server must not find another release's store.
        const volume = await c.get<{ spec: { hostPath?: { path: string } } }>(["pv", claim.spec.volumeName]);
        if (volume.spec.hostPath) node.emptyVolume(volume.spec.hostPath.path);
        await c.kubectl(["patch", "pv", claim.spec.volumeName, "--type=json", "-p", '[{"op":"remove","path":"/spec/claimRef"}]']);
      }
    }
  };

  await t.test("helm3: demo (Redis standalone) on the real node", async (t) => {
    const installed = await install(t, "helm3", "demo", "meme-generator", demoArgs);
    if (!installed) return;
    // The programs the autoscalers need, started as the tests come to them; whatever happens, the
    // release goes and they stop, so the installs after this one find a clean cluster.
    const programs: Process[] = [];
    let vpa: Process[] = [];
    try {
      await t.test("the guide's access commands", (t) => accessCommands(t, c));
      await t.test("the NetworkPolicies, enforced: each allowed path connects, every other is refused", (t) => policyTable(t, c, node));
      await t.test("a scale-out's new pod, at the demo's limits, with the stack up", async (t) => {
        // Ready transitions are stamped to the second, and readiness is probed every 5 s.
        for (const [deployment, what] of [["meme-generator-frontend", "frontend"], ["meme-generator", "worker"]] as const) {
          const took = await scaleOut(c, deployment, "meme-generator");
          t.ok(took.scheduled > 0 && took.scheduled < 120, `${what}: scheduled→Ready ${took.scheduled.toFixed(1)} s, container start→Ready ${took.container.toFixed(1)} s`);
        }
      });
      await t.test("deleting the NATS pod, then the Redis pod, mid-load loses nothing", async (t) => {
        // From the host to the Service's address: the host routes the Service range to the node.
        const ip = await clusterIP(c, "meme-generator-frontend", "meme-generator");
        const replaced: string[] = [];
        // NATS's pod goes at the fifth meme, Redis's 5 s after the new NATS is Ready, and the memes go on
        // until 5 s after the new Redis is (at most 90).
        const stop = new AbortController();
        const faults = new Map<number, () => Promise<void>>([
          [
            5,
            async () => {
              replaced.push(`nats-0 back Ready in ${(await replacePod(c, "nats-0", "messaging")).toFixed(1)} s`);
              await sleep(5000);
              replaced.push(`redis-0 back Ready in ${(await replacePod(c, "redis-0", "cache")).toFixed(1)} s`);
              await sleep(5000);
              stop.abort();
            },
          ],
        ]);
        const paced = await pacedMemes(`http://${ip}`, 90, 1, faults, stop.signal);
        t.comment(`${paced.sent} memes at 1/s through http://${ip}: ${paced.accepted} accepted (${paced.resubmitted} refusals sent again), ${paced.done} done, failed ${JSON.stringify(paced.failed)}; ${replaced.join(", ")}; not final: ${JSON.stringify(paced.lostStates)}; /api/stats ${paced.stats}`);
        noneLost(t, paced, paced.sent);
        t.equal(replaced.length, 2, "both pods were replaced during the load");
      });
      await t.test("helm upgrade that rolls every tier keeps serving a paced stream", async (t) => {
        const ip = await clusterIP(c, "meme-generator-frontend", "meme-generator");
        // A new pod template for the frontend, the workers, NATS and Redis: each rolls, as a new image would make it.
        const rollout = ["frontend", "backend", "nats", "redis"].flatMap((tier) => ["--set-string", `${tier}.podAnnotations.rollout=2`]);
        const args = ["upgrade", release, repoPath("chart"), "-n", "meme-generator", "--wait", "--wait-for-jobs", "--timeout", "10m", ...profileArgs("demo"), ...values.flatMap((v) => ["-f", v]), ...demoArgs, ...rollout];
        let upgraded: { code: number; stderr: string; seconds: number; at: number } | undefined;
        // The upgrade begins at the fifth meme; the memes go on until 10 s after it has waited for every tier (at most 120).
        const stop = new AbortController();
        const faults = new Map<number, () => Promise<void>>([
          [5, async () => {
            const started = Date.now();
            const result = await c.helm("helm3", args);
            upgraded = { code: result.code, stderr: result.stderr, seconds: (Date.now() - started) / 1000, at: Date.now() };
            await sleep(10_000);
            stop.abort();
          }],
        ]);
        const paced = await pacedMemes(`http://${ip}`, 120, 1, faults, stop.signal);
        t.comment(`${paced.sent} memes at 1/s through a helm upgrade (${upgraded?.seconds.toFixed(1)} s): ${paced.accepted} accepted (${paced.resubmitted} refusals sent again), ${paced.done} done, failed ${JSON.stringify(paced.failed)}; not final: ${JSON.stringify(paced.lostStates)}`);
        t.equal(upgraded?.code, 0, `helm upgrade --wait succeeded ${upgraded?.stderr.trim() ?? ""}`);
        // Helm's --wait ends once each workload's new pods are Ready; an old pod may still be in its
        // termination grace then (the frontend's is 30 s), so the rollout's end is awaited, not assumed.
        const tierPods = async () =>
          (await Promise.all(["meme-generator", "messaging", "cache"].map(async (ns) => (await c.get<{ items: Pod[] }>(["pods", "-n", ns])).items)))
            .flat()
            .filter((p) => !p.metadata.ownerReferences?.some((o) => o.kind === "Job"));
        let tiers: Pod[] = [];
        const rolled = await eventually(
          async () => {
            tiers = await tierPods();
            return tiers.length >= 4 && tiers.every((p) => p.metadata.annotations?.rollout === "2");
          },
          { timeout: 90_000, interval: 1000, what: "every pod of the new revision" },
        ).catch(() => false);
        const old = tiers.filter((p) => p.metadata.annotations?.rollout !== "2").map((p) => `${p.metadata.name}${p.metadata.deletionTimestamp ? " (stopping)" : ""}`);
        t.ok(rolled, `every pod of the tiers is of the new revision ${((Date.now() - (upgraded?.at ?? Date.now())) / 1000).toFixed(0)} s after helm returned (${tiers.map((p) => p.metadata.name).join(", ")}${old.length ? `; old: ${old.join(", ")}` : ""})`);
        noneLost(t, paced, paced.sent);
      });
      programs.push(await node.startMetricsServer(plane, await freePort()));
      await t.test("metrics-server on the node: kubectl top and the frontend HPA read the real pods", async (t) => {
        const row = /meme-generator-frontend-\S+\s+\d+m\s+\d+Mi/;
        let top = "";
        await eventually(async () => row.test((top = (await c.kubectl(["top", "pods", "-n", "meme-generator"])).stdout)), { timeout: 90_000, interval: 1000 }).catch(() => undefined);
        t.match(top, row, `kubectl top pods -n meme-generator:\n${top.trim()}`);
        type Hpa = HpaObject & { status: { conditions?: Condition[] } };
        let hpa: Hpa | undefined;
        const measured = (h?: Hpa) => utilization(h, "cpu") !== undefined && utilization(h, "memory") !== undefined;
        await eventually(async () => measured((hpa = await c.get<Hpa>(["hpa", "meme-generator-frontend-hpa", "-n", "meme-generator"]))), { timeout: 120_000, interval: 1000 }).catch(() => undefined);
        t.ok(utilization(hpa, "cpu") !== undefined && utilization(hpa, "memory") !== undefined, `the frontend HPA reads CPU ${utilization(hpa, "cpu")}% and memory ${utilization(hpa, "memory")}% of the pods' requests (replicas ${hpa?.status.currentReplicas})`);
        const active = hpa?.status.conditions?.find((c) => c.type === "ScalingActive");
        t.equal(active?.status, "True", "ScalingActive: the HPA computes replicas from the metrics");
      });
      // The recommender from here on, so Redis has a history by the time the benchmark runs.
      vpa = await node.startVpa(plane, await freePort(), timing.vpa);
      // Running until the release is gone: the ScaledObject's finalizer is KEDA's to remove.
      programs.push(...(await node.startKeda(plane)));
      await t.test("KEDA's operator, a program of the node, reads NATS monitoring through the policies", async (t) => {
        type ScaledObject = { metadata: { name: string }; status?: { conditions?: Condition[]; externalMetricNames?: string[] } };
        let scaled: ScaledObject | undefined;
        const ready = (s?: ScaledObject) => s?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
        await eventually(async () => ready((scaled = (await c.get<{ items: ScaledObject[] }>(["scaledobjects", "-n", "meme-generator"])).items[0])), { timeout: 60_000, interval: 500 }).catch(() => undefined);
        t.ok(scaled?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"), `ScaledObject ${scaled?.metadata.name} Ready: its trigger answers`);
        const metric = scaled?.status?.externalMetricNames?.[0] ?? "";
        const path = `/apis/external.metrics.k8s.io/v1beta1/namespaces/meme-generator/${metric}?labelSelector=${encodeURIComponent(`scaledobject.keda.sh/name=${scaled?.metadata.name}`)}`;
        const read = await c.kubectl(["get", "--raw", path]);
        const value = (JSON.parse(read.stdout || "{}") as { items?: { value: string }[] }).items?.[0]?.value;
        t.ok(read.code === 0 && value !== undefined, `the external metric ${metric}, which the operator reads from NATS's /jsz: ${value ?? read.stderr.trim()}`);
      });
      // The frontend's HPA and the backend's KEDA side by side: different tiers, different autoscalers,
      // and neither test's traffic reaches the other's (hey asks for the page, the KEDA tests publish to
      // NATS themselves). Most of either is waiting for its autoscaler, so together they take the time
      // of the longer. Each runs its own tests in order. Not the VPA's benchmark beside them: through
      // port-forward on two cores, redis-benchmark and hey starve each other (one run: hey at a third
      // of its rate, the benchmark five minutes long, KEDA's reads two seconds apart).
      const k = await KedaBackend.open(t, c, "meme-generator-backend-scaler", "meme-generator");
      const frontendIp = await clusterIP(c, "meme-generator-frontend", "meme-generator");
      // The scaling view while the autoscalers act, a page per lane, each closed once read: the
      // frontend's while hey holds it at maxReplicas, the backend's opened before the burst's first
      // message. A page open during a scale-down would add to the use the frontend's HPA measures.
      const pages: ScalingPage[] = [];
      const page = async () => {
        const opened = await ScalingPage.open(c, frontendIp);
        pages.push(opened);
        return opened;
      };
      const read = async (check: (p: ScalingPage) => Promise<void>, opened?: ScalingPage) => {
        const p = opened ?? (await page());
        try {
          await check(p);
        } finally {
          await p.close();
        }
      };
      try {
        await t.test("the frontend under its HPA and the backend under KEDA, at the same time", { jobs: 2 }, async (t) => {
          t.test("the frontend HPA: the guide's Methods 1 and 2", async (t) => {
            await t.test(`the guide's Method 1: hey through port-forward scales the frontend on real CPU and back${full ? "" : " (scale-down shortened)"}`, (t) => heyScalesFrontend(t, c, timing.heySeconds, () => read((p) => p.frontendMidScale(t))));
            await t.test("the guide's Method 2: a CPU loop in one frontend pod raises the replicas, and its CPU falls after", (t) => loopScalesFrontend(t, c, timing.loopSeconds));
          });
          t.test("the backend under KEDA: the guide's loop, activation, the fallback, a burst", async (t) => {
            await t.test("the guide's nats pub loop through port-forward wakes real workers from zero, every meme is done, and they sleep after the cooldown", (t) => guideLoopWakesBackend(t, k, c));
            // Before any burst: the HPA KEDA made keeps the highest count of its 300 s scale-down window, and
            // the fallback's 2 must not sit under a burst's 4.
            await t.test("activation as KEDA's tests check it: the guide's threshold 1 leaves one message asleep for 60 s, the demo's 0 wakes it", (t) => activationThreshold(t, k, release, repoPath("chart")));
            await t.test("the fallback: a trigger pointed at a missing consumer takes the backend to the fallback replicas", (t) => fallbackOnMissingConsumer(t, k, c));
            // Full-size memes: one worker drains 40 in fast mode before the HPA's first sync.
            await t.test("a burst of 120 full-size memes from zero: the workers follow the lag, the scaling view shows KEDA's arithmetic, and where the time to the first result goes", (t) => {
              let opened: ScalingPage | undefined;
              return burstFromZero(t, k, 120, false, {
                ready: async () => void (opened = await page()),
                during: async () => read((p) => p.backendMidScale(t), opened),
              });
            });
          });
        });
      } finally {
        await Promise.all(pages.map((p) => p.close()));
        await k.close();
        t.comment(`written: ${k.draw("keda-node").map((f) => `.artifacts/e2e/${f}`).join(", ")}`);
      }
      // After KEDA's tests: its memes would wake the backend under the activation test.
      let redisPage: ScalingPage | undefined;
      const redisVpa = await redisVpaRun(t, c, await redisPassword(c), {
        intervalSeconds: timing.vpaIntervalSeconds,
        requests: timing.benchmark,
        startUpdater: async () => {
          const updater = node.startVpaUpdater(plane, timing.vpa);
          return () => node.stopPrograms([updater]);
        },
        during: async (stop) => {
          // At most until the updater's longest wait; stopped 10 s after the new Redis is Ready.
          const paced = await pacedMemes(`http://${frontendIp}`, 6 * timing.vpaIntervalSeconds + 60, 1, new Map(), stop);
          const ok = paced.accepted === paced.sent && paced.lost.length === 0 && Object.keys(paced.failed).every((r) => r !== "no reason");
          return { ok, report: `${paced.sent} memes at 1/s: ${paced.accepted} accepted (${paced.resubmitted} refusals sent again), ${paced.done} done, failed ${JSON.stringify(paced.failed)}, not final ${JSON.stringify(paced.lostStates)}` };
        },
        // The Redis lane while the updater acts: one page, open from before its pass to the new pod.
        view: {
          outside: async (t) => {
            redisPage = await page();
            await redisPage.redisMidAction(t, "evict");
          },
          replaced: (t) => read((p) => p.redisMidAction(t, "evicted"), redisPage),
        },
      });
      if (redisVpa) {
        try {
          await t.test("the Redis VPA: redis-benchmark, a recommendation within bounds, the updater's eviction and the admission controller's requests", async (t) => {
            if (await redisVpa.benchmark(t)) await redisVpa.evict(t);
          });
        } finally {
          await redisPage?.close();
          await redisVpa.close(t);
        }
      }
      // The web UI's lanes, with all three autoscalers' objects in place and their programs running.
      await t.test("the web UI's scaling view: the frontend reads its autoscalers through the API server, each lane as the objects' status says", (t) => scalingViewMatches(t, c, frontendIp));
      // With every autoscaler's programs running: the Troubleshooting checks, healthy and under faults.
      await t.test("meme-generator doctor: passes on the healthy install, finds each injected fault with its fix", (t) => doctorFindsFaults(t, c, release));
    } finally {
      // The pods' logs go with the pods: keep them before the uninstall when something failed.
      if (t.counts.fail > 0) node.keepLogs(repoPath(".artifacts/e2e/node"));
      await uninstall(t, "helm3", "meme-generator", installed.namespaces);
      await node.stopVpa(plane, vpa);
      await stopProcesses(programs);
      // Nothing serves these APIs any more: without their APIServices, discovery stays whole for the installs after.
      await c.kubectl(["delete", "apiservice", "v1beta1.external.metrics.k8s.io", "v1beta1.metrics.k8s.io", "--ignore-not-found"]);
    }
  });

  // In the namespace the demo profile gives the frontend and the workers, as someone who tries the
  // defaults first and then follows the guide would have it.
  await t.test("helm4: the defaults on the real node, then an upgrade to demo that carries the queue and the cache over", async (t) => {
    const installed = await install(t, "helm4", "default", "meme-generator");
    if (!installed) return;
    let namespaces = installed.namespaces;
    try {
      await t.test("helm upgrade to demo under a paced stream: the requests queued in the old NATS and the memes in the old Redis arrive, none lost", async (t) => {
        namespaces = await moveToDemo(t);
      });
    } finally {
      if (t.counts.fail > 0) node.keepLogs(repoPath(".artifacts/e2e/node"));
      await uninstall(t, "helm4", "meme-generator", [...new Set([...namespaces, ...installed.namespaces])]);
    }
  });

  // Last: its three NATS servers and six workers are the most the node holds at once.
  await t.test("helm3: production's three-node NATS on the real node, a consumer-leader step-down during a scale-out", async (t) => {
    // Running until the release is gone: the ScaledObject's finalizer is KEDA's to remove.
    const keda = await node.startKeda(plane);
    const installed = await install(t, "helm3", "production", "meme-generator", productionArgs);
    if (installed) {
      // Every tier in the release's namespace, named after the release.
      const named = (kind: string, suffix: string) => installed.objects.find((o) => o.kind === kind && o.metadata.name.endsWith(suffix))?.metadata.name ?? "";
      const nats = { service: named("Service", "-nats"), namespace: "meme-generator", secret: named("Secret", "-nats-users") };
      const k = await KedaBackend.open(t, c, named("ScaledObject", ""), "meme-generator", "leader", nats);
      try {
        await t.test("the stream and the consumer on three servers; the workers follow the lag through a step-down, and every meme is done", (t) => stepDownMidScaleOut(t, k, 50, 2000));
      } finally {
        await k.close();
        t.comment(`written: ${k.draw("keda-node-clustered").map((f) => `.artifacts/e2e/${f}`).join(", ")}`);
      }
      if (t.counts.fail > 0) node.keepLogs(repoPath(".artifacts/e2e/node"));
      await uninstall(t, "helm3", "meme-generator", installed.namespaces);
    }
    await stopProcesses(keda);
    await c.kubectl(["delete", "apiservice", "v1beta1.external.metrics.k8s.io", "--ignore-not-found"]);
  });

  await t.test("no pull can leave", async (t) => {
    t.same(node.pulls(), [], "containerd logged no image pull for any pod of the chart");
    // A pod that asks for a pull: the kubelet asks, containerd tries the only host it is given, where nothing listens.
    const ns = "pull-probe";
    await c.namespace(ns);
    const ref = "docker.io/library/busybox:1.37";
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "pull", namespace: ns },
      spec: {
        nodeSelector: { [nodeLabel.key]: nodeLabel.value },
        securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
        containers: [{ name: "c", image: ref, imagePullPolicy: "Always", securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } }],
      },
    };
    await plane.apply([pod]);
    let reason = "";
    await eventually(async () => /ErrImagePull|ImagePullBackOff/.test((reason = (await c.get<Pod>(["pod", "pull", "-n", ns])).status.containerStatuses?.[0]?.state?.waiting?.reason ?? "")), { timeout: 30_000, interval: 500 }).catch(() => undefined);
    t.match(reason, /ErrImagePull|ImagePullBackOff/, `the pull failed (${reason})`);
    const tried = node.pulls();
    t.ok(tried.some((l) => l.includes(ref)), "containerd logged the pull it was asked for");
    const events = (await c.kubectl(["get", "events", "-n", ns, "--field-selector", "involvedObject.name=pull", "-o", "jsonpath={.items[*].message}"])).stdout;
    t.match(events, /127\.0\.0\.1:9/, "towards the loopback port it is sent to, nowhere else");
    await c.kubectl(["delete", "namespace", ns, "--wait=false"]);
  });
}

await withCrds(suite);
