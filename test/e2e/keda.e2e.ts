// KEDA for real: its operator and metrics adapter (built from the pinned
// module) run against the local control plane and serve the external metrics
// API to the real HPA controller. The chart's demo profile is installed with
// the ScaledObject pointed (through the chart's endpoint override) at a real
// nats-server on this machine, provisioned by the chart's own `provision`
// command with the settings the chart gives its Job. Requests sent through the
// real frontend make the lag that KEDA reads: the backend Deployment wakes
// from zero and rises to ceil(lag / lagThreshold); workers run as local
// processes drain the queue; after the cooldown the Deployment returns to
// zero. The replica count over time goes to .artifacts/e2e/ as CSV and SVG.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import { repoPath } from "../../generator/schema.js";
import { waitReady } from "../../src/local/servers.js";
import { startCli } from "../harness/command.js";
import { eventually } from "../harness/eventually.js";
import { freePort, startNats, startRedis } from "../harness/servers.js";
import { apis, Cluster, parse, profileArgs, release, succeeded, type Ref, withCrds } from "./cluster.js";
import { consumerLag } from "./jsz.js";
import { stepChart } from "./plot.js";

type Env = { name: string; value?: string }[];
type Workload = Ref & { spec: { replicas?: number; template: { spec: { containers: { env?: Env }[] } } }; status: { readyReplicas?: number } };
type ScaledObject = Ref & { spec: { scaleTargetRef: { name: string }; minReplicaCount: number; maxReplicaCount: number; cooldownPeriod: number; pollingInterval: number; triggers: { metadata: Record<string, string> }[] }; status?: { conditions?: { type: string; status: string }[]; hpaName?: string } };

const requests = 40;
const artifacts = repoPath(".artifacts/e2e");

/** Literal env values of a rendered container; those from Secrets or fields are not needed here. */
const literalEnv = (env: Env | undefined) => Object.fromEntries((env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));

async function suite(crds: string): Promise<void> {
  const cluster = await Cluster.start(t, "keda", crds, { nodes: 3, volumes: 4 });
  await cluster.plane.startKeda();
  const [nats, redis] = await Promise.all([startNats(t, "pinned"), startRedis(t)]);
  const namespace = "meme-demo";
  await cluster.namespace(namespace);
  const chartArgs = ["-f", repoPath("chart/profiles/demo.yaml"), "--set", `backend.autoscaling.keda.monitoringEndpoint=${nats.monitoringEndpoint}`];

  // What the chart gives its pods, with the addresses of the servers on this machine.
  const rendered = await cluster.helm("helm3", ["template", release, repoPath("chart"), "-n", namespace, ...apis.flatMap((a) => ["--api-versions", a]), ...profileArgs("demo"), ...chartArgs]);
  if (rendered.code !== 0) throw new Error(rendered.stderr);
  const objects = parse(rendered.stdout) as Workload[];
  const find = (kind: string, test: (name: string) => boolean) => {
    const found = objects.find((o) => o.kind === kind && test(o.metadata.name));
    if (!found) throw new Error(`the demo render has no such ${kind}`);
    return found;
  };
  const envOf = (workload: Workload) => ({ ...literalEnv(workload.spec.template.spec.containers[0]?.env), NATS_URL: nats.url, NATS_PASSWORD: nats.auth?.passwords.frontend ?? "", REDIS_URL: redis.url, REDIS_PASSWORD: redis.password, LOG_LEVEL: "warn" });
  const scaled = find("ScaledObject", () => true) as unknown as ScaledObject;
  const backend = find("Deployment", (name) => name === scaled.spec.scaleTargetRef.name);
  const frontend = find("Deployment", (name) => /frontend/.test(name));
  const provisioner = find("Job", (name) => /provision/.test(name));
  const appNamespace = backend.metadata.namespace ?? namespace;
  const trigger = scaled.spec.triggers[0]?.metadata ?? {};
  const lagThreshold = Number(trigger.lagThreshold);
  const expected = Math.min(scaled.spec.maxReplicaCount, Math.ceil(requests / lagThreshold));

  mkdirSync(artifacts, { recursive: true });
  /** A subcommand of ours as a process on this machine, its output in .artifacts/e2e/keda-<log>.log, stopped at teardown. */
  const node = (command: string, env: Record<string, string>, log: string) => startCli(command, { env, output: join(artifacts, `keda-${log}.log`), teardown: t });

  await t.test("the chart's provision command makes the stream and consumer on the local NATS", async (t) => {
    const code = await (await node("provision", envOf(provisioner), "provision")).exit(120_000);
    t.equal(code, 0, "provision exited 0");
  });

  await t.test("the demo profile installs and KEDA takes up its ScaledObject", async (t) => {
    const installed = await cluster.helm("helm3", ["install", release, repoPath("chart"), "-n", namespace, "--wait", "--timeout", "5m", ...profileArgs("demo"), ...chartArgs]);
    succeeded(t, installed, "helm install --wait (demo, KEDA reading the local NATS)");
    const path = `/apis/keda.sh/v1alpha1/namespaces/${appNamespace}/scaledobjects/${scaled.metadata.name}`;
    let object: ScaledObject | undefined;
    const ready = (o?: ScaledObject) => o?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
    await eventually(async () => ready((object = await cluster.plane.api<ScaledObject>(path))), { timeout: 60_000, interval: 1000 }).catch(() => undefined);
    t.ok(object?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"), `ScaledObject ${scaled.metadata.name} is Ready`, { status: object?.status });
    t.ok(object?.status?.hpaName, `KEDA made the HPA ${object?.status?.hpaName}`);
    t.equal(trigger.natsServerMonitoringEndpoint, nats.monitoringEndpoint, "the trigger reads the local NATS, through the chart's override");
  });

  const deploymentPath = `/apis/apps/v1/namespaces/${appNamespace}/deployments/${backend.metadata.name}`;
  const replicas = async () => (await cluster.plane.api<Workload>(deploymentPath)).spec.replicas ?? 0;
  const lag = () => consumerLag(`http://${nats.monitoringEndpoint}`, trigger.stream ?? "", trigger.consumer ?? "");

  await t.test(`${requests} requests: KEDA wakes the backend, scales it to ${expected}, and back to ${scaled.spec.minReplicaCount} once workers drain the queue`, async (t) => {
    await eventually(async () => (await replicas()) === scaled.spec.minReplicaCount, { timeout: 90_000, interval: 1000 }).catch(() => undefined);
    t.equal(await replicas(), scaled.spec.minReplicaCount, `the backend rests at ${scaled.spec.minReplicaCount} replicas while the queue is empty`);

    const port = await freePort();
    await node("frontend", { ...envOf(frontend), PORT: String(port), METRICS_PORT: String(await freePort()), SHUTDOWN_DELAY: "0" }, "frontend");
    const base = `http://127.0.0.1:${port}`;
    await waitReady(`${base}/readyz`);

    const samples: { at: number; replicas: number; lag: number }[] = [];
    const start = Date.now();
    const seconds = () => (Date.now() - start) / 1000;
    const marks: Record<string, number> = {};
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push({ at: seconds(), replicas: await replicas(), lag: await lag() });
        await sleep(1000);
      }
    })();
    // Whether `ok` came to hold within the time, marking when; the test asserts the answer.
    const waitUntil = async (what: string, ok: () => boolean, timeoutS: number) => {
      const held = await eventually(ok, { timeout: timeoutS * 1000, interval: 250, what }).then(
        () => true,
        () => false,
      );
      if (held) marks[what] = seconds();
      return held;
    };
    const last = () => samples.at(-1) ?? { at: 0, replicas: -1, lag: Number.NaN };

    const ids: string[] = [];
    for (let i = 0; i < requests; i++) {
      const response = await fetch(`${base}/api/memes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: `autoscaling on a real control plane, request ${i}` }) });
      if (response.status === 202) ids.push(((await response.json()) as { id: string }).id);
    }
    marks.sent = seconds();
    t.equal(ids.length, requests, `the frontend queued all ${requests} requests`);
    t.ok(await waitUntil("lag seen", () => last().lag >= requests, 30), `the consumer's lag reached ${requests}`);

    const woke = await waitUntil("activated", () => last().replicas >= 1, 60);
    t.ok(woke, `KEDA woke the backend (0 → ${last().replicas}) ${marks.activated?.toFixed(1)} s after the first request`);
    const rose = await waitUntil("scaled up", () => last().replicas === expected, 150);
    t.ok(rose, `the HPA KEDA made took the backend to ceil(${requests} / ${lagThreshold}) = ${expected} replicas at ${marks["scaled up"]?.toFixed(1)} s (now ${last().replicas})`);

    // Workers on this machine take the place of the simulated pods and drain the queue.
    marks["workers start"] = seconds();
    for (let i = 0; i < 2; i++) await node("backend", { ...envOf(backend), METRICS_PORT: String(await freePort()) }, `worker-${i}`);
    const drained = await waitUntil("drained", () => last().lag === 0, 120);
    t.ok(drained, `the workers drained the queue (lag 0 at ${marks.drained?.toFixed(1)} s)`);
    let done = 0;
    for (const id of ids) if (((await (await fetch(`${base}/api/memes/${id}`)).json()) as { status: string }).status === "done") done++;
    t.equal(done, requests, `all ${requests} memes are done`);

    const back = await waitUntil("back to zero", () => last().replicas === scaled.spec.minReplicaCount, scaled.spec.cooldownPeriod + 90);
    t.ok(back, `after the ${scaled.spec.cooldownPeriod} s cooldown the backend returned to ${scaled.spec.minReplicaCount} at ${marks["back to zero"]?.toFixed(1)} s (${((marks["back to zero"] ?? 0) - (marks.drained ?? 0)).toFixed(1)} s after the queue was empty)`);
    await sleep(3000);
    sampling = false;
    await sampler;

    const peak = Math.max(...samples.map((s) => s.replicas));
    t.ok(peak <= scaled.spec.maxReplicaCount, `replicas never exceeded maxReplicaCount (peak ${peak})`);
    const csv = ["seconds,replicas,lag", ...samples.map((s) => `${s.at.toFixed(1)},${s.replicas},${s.lag}`)].join("\n");
    writeFileSync(join(artifacts, "keda-replicas.csv"), `${csv}\n`);
    const timeline = Object.entries(marks).sort((a, b) => a[1] - b[1]);
    writeFileSync(
      join(artifacts, "keda-replicas.svg"),
      stepChart(
        `Backend replicas under KEDA (nats-jetstream, lagThreshold ${lagThreshold}, cooldown ${scaled.spec.cooldownPeriod} s)`,
        [
          { name: "replicas (Deployment spec)", colour: "#1f6feb", points: samples.map((s) => [s.at, s.replicas]) },
          { name: "consumer lag", colour: "#d1242f", points: samples.map((s) => [s.at, s.lag]), right: true },
        ],
        timeline.map(([label, at]) => ({ label, at })),
        { left: "replicas", right: "messages" },
      ),
    );
    t.comment(`timeline (s): ${timeline.map(([label, at]) => `${label} ${at.toFixed(1)}`).join(", ")}`);
    t.comment(`replica curve: ${samples.filter((s, i) => i === 0 || s.replicas !== samples[i - 1]?.replicas).map((s) => `${s.at.toFixed(0)}s→${s.replicas}`).join(" ")}`);
    t.comment("written: .artifacts/e2e/keda-replicas.csv, .artifacts/e2e/keda-replicas.svg");
  });
}

await withCrds(suite);
