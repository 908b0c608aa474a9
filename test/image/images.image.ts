// The images `npm run images` built, each started through containerd as the chart runs it: read-only
// root, uid 1000, every capability dropped, the default seccomp profile, a tmpfs on /tmp and the demo
// profile's limits, in one network namespace of this run's own. NATS and Redis get the config, the
// arguments and the credentials `helm template` renders; the app's tiers then run against them.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import t, { type Test } from "tap";
import { commands } from "../../src/cli/main.js";
import { repoPath } from "../../generator/schema.js";
import { APP_OVER_BASE_LIMIT } from "../../image/build.mjs";
import { renderedObjects } from "../chart/helm.js";
import { eventually, GiveUp } from "../harness/eventually.js";
import { Containerd, type RunOptions } from "./containerd.js";
import { image, imagesDir, manifest, type ImageEntry } from "./manifest.js";


// --- The chart as the demo profile renders it (Redis standalone: the operator does not run here).
interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: { resource: string; containerName?: string };
  };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
  exec?: { command: string[] };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  resources?: { limits?: { cpu?: string; memory?: string } };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
}
interface PodSpec {
  containers: Container[];
}

// The values the build wrote point every image at the ones built here, with pullPolicy Never.
const objects = renderedObjects<Obj>(["-f", repoPath("chart/profiles/demo.yaml"), "-f", join(imagesDir, "values.yaml"), "--set", "redis.mode=standalone,nats.exporter.enabled=true,redis.exporter.enabled=true"]);
const find = (kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`the demo render has no ${kind} ${name}`);
  return found;
};
const podSpec = (o: Obj): PodSpec => {
  const spec = o.spec as { template?: { spec: PodSpec }; containers?: PodSpec["containers"] };
  return spec.template?.spec ?? (spec as unknown as PodSpec);
};
const containerOf = (kind: string, name: string, container?: string): Container => {
  const spec = podSpec(find(kind, name));
  const found = container ? spec.containers.find((c) => c.name === container) : spec.containers[0];
  if (!found) throw new Error(`${kind} ${name} has no container ${container}`);
  return found;
};
const jobName = objects.find((o) => o.kind === "Job")?.metadata.name ?? "";

function quantity(q: string | undefined): number {
  if (!q) return 0;
  const m = /^([\d.]+)(m|Ki|Mi|Gi|k|M|G)?$/.exec(q);
  if (!m) throw new Error(`quantity ${q}`);
  const units: Record<string, number> = { m: 1e-3, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1e3, M: 1e6, G: 1e9 };
  return Number(m[1]) * (m[2] ? (units[m[2]] ?? 1) : 1);
}

// Cluster names and Service ports become loopback and the container ports behind them: every
// container shares this run's one network namespace.
const containerPorts = new Map<string, number>();
for (const o of objects) {
  if (!["Deployment", "StatefulSet"].includes(o.kind)) continue;
  for (const c of podSpec(o).containers) for (const p of c.ports ?? []) if (p.name) containerPorts.set(`${o.metadata.namespace}/${p.name}`, p.containerPort);
}
function toLoopback(value: string): string {
  return value.replace(/\b([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local(?::(\d+))?/g, (_all, service: string, namespace: string, port?: string) => {
    const svc = objects.find((o) => o.kind === "Service" && o.metadata.name === service && o.metadata.namespace === namespace);
    const ports = (svc?.spec?.ports ?? []) as { port: number; targetPort?: number | string }[];
    const match = ports.find((p) => String(p.port) === port) ?? (port ? undefined : ports[0]);
    const target = match?.targetPort ?? match?.port;
    const resolved = typeof target === "string" ? containerPorts.get(`${namespace}/${target}`) : target;
    return `127.0.0.1${port || resolved ? `:${resolved ?? port}` : ""}`;
  });
}

function envOf(container: Container, pod: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of container.env ?? []) {
    if (v.value !== undefined) env[v.name] = toLoopback(v.value);
    else if (v.valueFrom?.secretKeyRef) {
      const { name, key } = v.valueFrom.secretKeyRef;
      const secret = objects.find((o) => o.kind === "Secret" && o.metadata.name === name) as (Obj & { stringData?: Record<string, string> }) | undefined;
      const raw = secret?.data?.[key];
      const value = raw !== undefined ? Buffer.from(raw, "base64").toString("utf8") : secret?.stringData?.[key];
      if (value === undefined) throw new Error(`env ${v.name}: Secret ${name} has no key ${key}`);
      env[v.name] = value;
    } else if (v.valueFrom?.fieldRef?.fieldPath === "metadata.name") env[v.name] = pod;
    else if (v.valueFrom?.resourceFieldRef?.resource === "limits.memory") env[v.name] = String(quantity(container.resources?.limits?.memory));
    else if (v.valueFrom?.resourceFieldRef?.resource === "limits.cpu") env[v.name] = String(Math.max(1, Math.ceil(quantity(container.resources?.limits?.cpu))));
    else if (v.valueFrom?.fieldRef) env[v.name] = "127.0.0.1";
  }
  return env;
}

const limits = (c: Container): Pick<RunOptions, "memoryBytes" | "cpus"> => ({
  memoryBytes: quantity(c.resources?.limits?.memory) || undefined,
  cpus: quantity(c.resources?.limits?.cpu) || undefined,
});

/** The kubelet's command: the container's command, else the image's entrypoint, then its args, else the image's cmd. */
const commandOf = (c: Container, img: ImageEntry) => [...(c.command ?? img.entrypoint), ...(c.args ?? (c.command ? [] : img.cmd))];

const cd = new Containerd();
await cd.start();
t.teardown(() => cd.stop());
for (const name of Object.keys(manifest.images)) cd.import(join(imagesDir, image(name).archive));

const app = image("app");
const appRun = (args: string[], extra: Partial<RunOptions> = {}): RunOptions => ({ image: containerOf("Deployment", "meme-generator-frontend").image, command: [...app.entrypoint, ...args], ...extra });

/** Polls an HTTP probe until it answers 200; the milliseconds it took. */
async function untilReady(url: string, timeoutMs: number, id: string): Promise<number> {
  const started = Date.now();
  await eventually(
    () => {
      if (cd.get(url).status === 200) return true;
      if (cd.status(id) === "STOPPED") throw new GiveUp(`${id} stopped before ${url} answered:\n${cd.logs(id).slice(-3000)}`);
      return false;
    },
    { timeout: timeoutMs, interval: 100, what: `${url} answering 200`, detail: () => `${id} ${cd.status(id)}:\n${cd.logs(id).slice(-3000)}` },
  );
  return Date.now() - started;
}

/** Each probe of a container: an httpGet from the namespace, an exec inside the container. */
function probesPass(tt: Test, id: string, c: Container) {
  for (const kind of ["startupProbe", "readinessProbe", "livenessProbe"] as const) {
    const probe = c[kind];
    if (!probe) continue;
    if (probe.httpGet) {
      const port = typeof probe.httpGet.port === "number" ? probe.httpGet.port : c.ports?.find((p) => p.name === probe.httpGet?.port)?.containerPort;
      const res = cd.get(`http://127.0.0.1:${port}${probe.httpGet.path}`);
      tt.equal(res.status, 200, `${c.name} ${kind}: GET :${port}${probe.httpGet.path} answers 200`);
    } else if (probe.exec) {
      const res = cd.exec(id, probe.exec.command);
      tt.equal(res.code, 0, `${c.name} ${kind}: ${probe.exec.command.join(" ")} exits 0 ${res.stderr}`);
    }
  }
}

function securityOf(tt: Test, id: string) {
  const status = readFileSync(`/proc/${cd.pid(id)}/status`, "utf8");
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "m").exec(status)?.[1]?.trim();
  tt.match(field("Uid"), /^1000\s+1000\s+1000\s+1000$/, `${id} runs as uid 1000`);
  tt.equal(field("CapEff"), "0000000000000000", `${id} has no effective capabilities`);
  tt.equal(field("CapBnd"), "0000000000000000", `${id} has an empty bounding set`);
  tt.equal(field("Seccomp"), "2", `${id} runs under a seccomp filter`);
}

t.test("the build's values point every container of the chart at an image built here, never pulled", async (tt) => {
  const refs = new Set(Object.values(manifest.images).map((i) => i.ref));
  let seen = 0;
  for (const o of objects) {
    if (!["Deployment", "StatefulSet", "Job", "Pod"].includes(o.kind)) continue;
    for (const c of podSpec(o).containers as (Container & { imagePullPolicy?: string })[]) {
      seen++;
      tt.ok(refs.has(c.image), `${o.kind} ${o.metadata.name} ${c.name}: ${c.image} is in the manifest`);
      tt.equal(c.imagePullPolicy, "Never", `${o.kind} ${o.metadata.name} ${c.name}: pullPolicy Never`);
    }
  }
  tt.ok(seen >= 7, `${seen} containers checked`);
});

t.test("sizes: every image printed; the app at most 80 MB over its base", async (tt) => {
  for (const [name, entry] of Object.entries(manifest.images)) {
    tt.comment(`${name.padEnd(15)} ${entry.ref.padEnd(52)} ${(entry.size / 1e6).toFixed(1)} MB`);
    tt.ok(statSync(join(imagesDir, entry.archive)).size > 0, `${name}: ${entry.archive} is there`);
    tt.match(entry.ref, /^(localhost\/meme-generator|docker\.io\/library\/node:)/, `${name} has a fully-qualified reference`);
  }
  tt.ok(app.size - image("base").size <= APP_OVER_BASE_LIMIT, `app is ${((app.size - image("base").size) / 1e6).toFixed(1)} MB over the base`);
});

t.test("the app image: --help and every subcommand's --help exit 0", async (tt) => {
  const all = cd.runOnce("help", appRun(["--help"]));
  tt.equal(all.code, 0, `--help exits 0 ${all.stderr}`);
  for (const name of Object.keys(commands)) {
    tt.match(all.stdout, new RegExp(`^  ${name}\\b`, "m"), `--help lists ${name}`);
    const one = cd.runOnce(`help-${name}`, appRun([name, "--help"]));
    tt.equal(one.code, 0, `${name} --help exits 0 ${one.stderr}`);
    tt.match(one.stdout, new RegExp(`usage: meme-generator ${name}`), `${name} --help prints its usage`);
  }
});

t.test("the app image's final stage: node alone, production dependencies, /bin/sh kept", async (tt) => {
  const sh = cd.runOnce("hygiene", {
    image: app.ref,
    command: ["/bin/sh", "-c", "for t in npm npx corepack yarn; do command -v $t && exit 1; done; cd /app && node -e \"require.resolve('typescript')\" 2>/dev/null && exit 2; node -e \"require.resolve('fastify')\" && echo clean"],
  });
  tt.equal(sh.code, 0, `no npm, npx, corepack or yarn; typescript (a dev dependency) absent ${sh.stdout}${sh.stderr}`);
  tt.match(sh.stdout, /clean/, "/bin/sh runs and fastify (a dependency) resolves");
});

const natsC = containerOf("StatefulSet", "nats", "nats");
const redisC = containerOf("StatefulSet", "redis", "redis");
const natsEnv = envOf(natsC, "nats-0");

t.test("NATS with the chart's config, arguments and users", async (tt) => {
  const nats = image("nats");
  const conf = cd.writeFile("nats/nats.conf", find("ConfigMap", "nats-config").data?.["nats.conf"] ?? "");
  cd.runDetached("nats", {
    image: natsC.image,
    command: commandOf(natsC, nats),
    env: natsEnv,
    binds: { [join(conf, "..")]: "/etc/nats" },
    volumes: { [cd.makeDir("nats-pid")]: "/var/run/nats", [cd.makeDir("nats-data")]: "/data" },
    ...limits(natsC),
  });
  const ms = await untilReady("http://127.0.0.1:8222/healthz?js-enabled-only=true", 30_000, "nats");
  tt.comment(`nats: start to ready ${ms} ms`);
  probesPass(tt, "nats", natsC);
  securityOf(tt, "nats");
  const varz = JSON.parse(cd.get("http://127.0.0.1:8222/varz").body) as { server_name: string; auth_required?: boolean };
  tt.equal(varz.server_name, "nats-0", "server_name comes from POD_NAME");
  tt.equal(varz.auth_required, true, "clients must authenticate");
  tt.equal(cd.exec("nats", ["sh", "-c", "true"]).code === 0, false, "the NATS image has no shell");
});

t.test("Redis with the chart's config, start script and password", async (tt) => {
  const redis = image("redis");
  const data = find("ConfigMap", "redis-config").data ?? {};
  const dir = join(cd.writeFile("redis/redis.conf", data["redis.conf"] ?? ""), "..");
  cd.writeFile("redis/start.sh", data["start.sh"] ?? "");
  cd.runDetached("redis", {
    image: redisC.image,
    command: commandOf(redisC, redis),
    env: envOf(redisC, "redis-0"),
    binds: { [dir]: "/etc/redis" },
    volumes: { [cd.makeDir("redis-data")]: "/data" },
    ...limits(redisC),
  });
  // The container's environment holds REDISCLI_AUTH for the probes; without it Redis refuses.
  const anonymous = ["sh", "-c", "env -u REDISCLI_AUTH redis-cli ping"];
  const ping = await eventually(
    () => {
      const answer = cd.exec("redis", anonymous);
      return /PONG|NOAUTH/.test(answer.stdout + answer.stderr) && answer;
    },
    { timeout: 20_000, interval: 200, what: "an answer from redis-cli ping", detail: () => cd.logs("redis").slice(-500) },
  );
  tt.match(ping.stdout, /NOAUTH/, "without the password Redis refuses");
  tt.match(cd.exec("redis", ["redis-cli", "ping"]).stdout, /^PONG$/m, "with the password from the Secret it answers");
  probesPass(tt, "redis", redisC);
  securityOf(tt, "redis");
  tt.match(cd.logs("redis"), /maxmemory \d+ bytes/, "start.sh derived maxmemory from the memory limit");
});

t.test("the tiers in one namespace: provision, worker, frontend, then smoke gets a PNG", async (tt) => {
  const provisioner = containerOf("Job", jobName);
  const prov = cd.runOnce("provision", appRun(provisioner.args ?? ["provision"], { env: envOf(provisioner, jobName), ...limits(provisioner) }));
  tt.equal(prov.code, 0, `provision exits 0 ${prov.stdout.slice(-500)}${prov.stderr.slice(-500)}`);

  const worker = containerOf("Deployment", "meme-generator");
  // The frontend's metrics port is the worker's too; in one namespace the worker moves up by one.
  const workerEnv = { ...envOf(worker, "meme-generator-0"), METRICS_PORT: "9091" };
  const workerStart = Date.now();
  cd.runDetached("worker", appRun(worker.args ?? ["backend"], { env: workerEnv, ...limits(worker) }));
  const workerReady = await untilReady("http://127.0.0.1:9091/readyz", 60_000, "worker").catch((e: Error) => e);
  tt.type(workerReady, "number", `the worker is ready ${workerReady instanceof Error ? workerReady.message : ""}`);
  // The worker sizes its render pool from the container's CPU quota (cgroup v1 on this kind of host).
  const threads = Math.max(1, Math.ceil(quantity(worker.resources?.limits?.cpu)));
  tt.match(cd.logs("worker"), new RegExp(`"renderThreads":${threads}\\b`), `the worker starts ${threads} render thread(s) at ${worker.resources?.limits?.cpu} CPU`);
  tt.comment(`worker: start to ready ${Date.now() - workerStart} ms at ${worker.resources?.limits?.cpu} CPU, ${worker.resources?.limits?.memory}`);

  const frontend = containerOf("Deployment", "meme-generator-frontend");
  const frontendStart = Date.now();
  cd.runDetached("frontend", appRun(frontend.args ?? ["frontend"], { env: envOf(frontend, "meme-generator-frontend-0"), ...limits(frontend) }));
  const metricsPort = frontend.ports?.find((p) => p.name === "metrics")?.containerPort ?? 9090;
  const frontendReady = await untilReady(`http://127.0.0.1:${metricsPort}/readyz`, 60_000, "frontend").catch((e: Error) => e);
  tt.type(frontendReady, "number", `the frontend is ready ${frontendReady instanceof Error ? frontendReady.message : ""}`);
  tt.comment(`frontend: start to ready ${Date.now() - frontendStart} ms at ${frontend.resources?.limits?.cpu} CPU, ${frontend.resources?.limits?.memory}`);
  probesPass(tt, "frontend", frontend);
  probesPass(tt, "worker", { ...worker, ports: [{ name: "metrics", containerPort: 9091 }] });
  securityOf(tt, "frontend");
  securityOf(tt, "worker");

  const smokePod = find("Pod", objects.find((o) => o.kind === "Pod" && o.metadata.name.endsWith("-smoke"))?.metadata.name ?? "");
  const smokeC = podSpec(smokePod).containers[0] as Container;
  const smoke = cd.runOnce("smoke", appRun(smokeC.args ?? ["smoke"], { env: envOf(smokeC, smokePod.metadata.name), ...limits(smokeC) }), 200_000);
  tt.equal(smoke.code, 0, `smoke exits 0 ${smoke.stdout}${smoke.stderr}`);
  const id = /meme (\S+) rendered/.exec(smoke.stdout)?.[1];
  tt.ok(id, `smoke: ${smoke.stdout.trim()}`);
  const png = join(cd.dir, "meme.png");
  const got = cd.get(`http://127.0.0.1:8080/api/memes/${id}/image.png`, png);
  const bytes = readFileSync(png);
  tt.equal(got.status, 200, "the frontend serves the image");
  tt.equal(bytes.subarray(1, 4).toString("latin1"), "PNG", "the native renderer and the font made a real PNG");
  tt.ok(bytes.readUInt32BE(16) > 0 && bytes.length > 1000, `${bytes.length} bytes, ${bytes.readUInt32BE(16)} px wide`);
});

t.test("a write outside /tmp fails and the process keeps running", async (tt) => {
  const outside = cd.exec("frontend", ["/bin/sh", "-c", "echo x > /app/written"]);
  tt.not(outside.code, 0, "writing /app fails");
  tt.match(outside.stderr + outside.stdout, /Read-only file system/, "because the root is read-only");
  tt.equal(cd.exec("frontend", ["/bin/sh", "-c", "echo x > /tmp/written && cat /tmp/written"]).code, 0, "/tmp is writable");
  tt.equal(cd.status("frontend"), "RUNNING", "the frontend still runs");
  tt.equal(cd.get("http://127.0.0.1:9090/readyz").status, 200, "and is still ready");
});

t.test("the exporters read NATS and Redis with the chart's arguments", async (tt) => {
  const natsExporterC = containerOf("StatefulSet", "nats", "exporter");
  const natsExporter = image("nats-exporter");
  cd.runDetached("nats-exporter", { image: natsExporterC.image, command: commandOf(natsExporterC, natsExporter), ...limits(natsExporterC) });
  const natsPort = natsExporterC.ports?.find((p) => p.name === "metrics")?.containerPort;
  await untilReady(`http://127.0.0.1:${natsPort}/metrics`, 20_000, "nats-exporter");
  // The exporter answers before its first read of NATS's monitoring port has filled its figures.
  const body = await eventually(
    () => {
      const { body } = cd.get(`http://127.0.0.1:${natsPort}/metrics`);
      return /^gnatsd_varz_connections[{ ]/m.test(body) && body;
    },
    { timeout: 10_000, interval: 200, what: "NATS's figures from prometheus-nats-exporter", detail: () => cd.logs("nats-exporter").slice(-500) },
  );
  tt.match(body, /^gnatsd_varz_connections[{ ]/m, "prometheus-nats-exporter serves NATS's figures");

  const redisExporterC = containerOf("StatefulSet", "redis", "exporter");
  const redisExporter = image("redis-exporter");
  cd.runDetached("redis-exporter", { image: redisExporterC.image, command: commandOf(redisExporterC, redisExporter), env: envOf(redisExporterC, "redis-0"), ...limits(redisExporterC) });
  const redisPort = redisExporterC.ports?.find((p) => p.name === "metrics")?.containerPort;
  await untilReady(`http://127.0.0.1:${redisPort}/metrics`, 20_000, "redis-exporter");
  tt.match(cd.get(`http://127.0.0.1:${redisPort}/metrics`).body, /^redis_up 1$/m, "redis_exporter logs in with the chart's password and reads Redis");
});

t.test("CoreDNS and the pause image start", async (tt) => {
  const coredns = image("coredns");
  const corefile = cd.writeFile("coredns/Corefile", ".:1053 {\n  health 127.0.0.1:8181\n  whoami\n}\n");
  cd.runDetached("coredns", { image: coredns.ref, command: [...coredns.entrypoint, "-conf", "/etc/coredns/Corefile"], binds: { [join(corefile, "..")]: "/etc/coredns" } });
  await untilReady("http://127.0.0.1:8181/health", 20_000, "coredns");
  tt.pass("CoreDNS answers its health check");
  const pause = image("pause");
  cd.runDetached("pause", { image: pause.ref, command: pause.entrypoint, user: "65535:65535" });
  await eventually(() => cd.status("pause") === "RUNNING", { timeout: 10_000, interval: 100, what: "the pause container running" });
  // pause sleeps until it is signalled: it must still run after it had the time to fail.
  const ranSince = Date.now();
  await eventually(() => cd.status("pause") !== "RUNNING" || Date.now() - ranSince >= 500, { interval: 100 });
  tt.equal(cd.status("pause"), "RUNNING", "pause runs and stays running");
});

t.test("NATS's preStop, as the chart writes it, puts the server into lame-duck mode", async (tt) => {
  const preStop = (natsC as Container & { lifecycle?: { preStop?: { exec?: { command: string[] } } } }).lifecycle?.preStop?.exec?.command;
  tt.ok(preStop, "the chart gives NATS a preStop command");
  const res = cd.exec("nats", preStop ?? []);
  tt.equal(res.code, 0, `${(preStop ?? []).join(" ")} exits 0 ${res.stderr}`);
  const log = await eventually(() => /lame duck/i.test(cd.logs("nats")) && cd.logs("nats"), { timeout: 5000, interval: 100, what: "lame duck in NATS's log" }).catch(() => cd.logs("nats"));
  tt.match(log, /lame duck/i, "the server logs that it entered lame-duck mode");
});
