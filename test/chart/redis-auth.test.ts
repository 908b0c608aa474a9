// Redis's password in the chart: the standalone mode's rendered start script,
// run with a real redis-server, demands the password from the Secret (also one
// with quotes and backslashes in it) and keeps it off the command line; the
// rendered probe passes with the password and fails without it (redis-cli
// itself exits 0 on NOAUTH); every container that talks to Redis reads the
// same Secret key; the operator's Redis gets it as redisSecret.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import { repoPath } from "../../generator/schema.js";
import { freePort } from "../../src/local/servers.js";
import { renderedObjects } from "./helm.js";

interface Env {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Container {
  name: string;
  args?: string[];
  env?: Env[];
  readinessProbe?: { exec?: { command: string[] } };
  livenessProbe?: { exec?: { command: string[] } };
}
interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
  spec?: { template?: { metadata?: { annotations?: Record<string, string> }; spec?: { containers?: Container[] } }; kubernetesConfig?: { redisSecret?: { name: string; key: string } } };
}

const operatorApi = ["--api-versions", "redis.redis.opstreelabs.in/v1beta2/Redis"];
const containers = (objects: Obj[]) => objects.flatMap((o) => (o.spec?.template?.spec?.containers ?? []).map((c) => ({ owner: o, c })));
const refOf = (c: Container, name: string) => c.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef;

t.test("standalone: the rendered start script and probes, with a real redis-server", async (t) => {
  const port = await freePort();
  const objects = renderedObjects<Obj>(["--set", `redis.service.port=${port}`]);
  const config = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("redis-config"))?.data ?? {};
  const redis = objects.find((o) => o.kind === "StatefulSet" && o.metadata.name.endsWith("redis"));
  const container = redis?.spec?.template?.spec?.containers?.find((c) => c.name === "redis");
  if (!t.ok(container && config["start.sh"] && config["redis.conf"], "a Redis StatefulSet with its start script") || !container) return;
  const secret = objects.find((o) => o.kind === "Secret" && o.metadata.name.endsWith("redis-auth"));
  t.equal(Buffer.from(secret?.data?.password ?? "", "base64").length, 32, "the chart generates a 32-character password");
  t.same(refOf(container, "REDIS_PASSWORD"), { name: secret?.metadata.name, key: "password" }, "the server reads it from the Secret");
  t.same(refOf(container, "REDISCLI_AUTH"), { name: secret?.metadata.name, key: "password" }, "and so do its probes");

  // The pod's paths, moved under a directory of this test; Redis listens on loopback only.
  const dir = mkdtempSync(join(tmpdir(), "meme-redis-auth-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const sub of ["etc", "data", "tmp"]) mkdirSync(join(dir, sub));
  const moved = (text: string) => text.replaceAll("/tmp/", `${dir}/tmp/`).replaceAll("/etc/redis/", `${dir}/etc/`).replace("dir /data", `dir ${dir}/data`).replace("bind 0.0.0.0", "bind 127.0.0.1");
  writeFileSync(join(dir, "etc", "redis.conf"), moved(config["redis.conf"] ?? ""));
  writeFileSync(join(dir, "etc", "start.sh"), moved(config["start.sh"] ?? ""));
  const password = 'a "quoted" pass\\word';
  const server = spawn("sh", [join(dir, "etc", "start.sh")], { env: { PATH: process.env.PATH, MEMORY_LIMIT_BYTES: String(256 * 1024 * 1024), REDIS_PASSWORD: password }, stdio: "ignore" });
  t.teardown(() => server.kill("SIGKILL"));

  const probe = container.readinessProbe?.exec?.command ?? [];
  t.same(probe, container.livenessProbe?.exec?.command, "liveness and readiness run the same check");
  const run = (env: Record<string, string>) => spawnSync(probe[0] ?? "false", probe.slice(1), { env: { PATH: process.env.PATH, ...env }, encoding: "utf8" });
  let up = false;
  for (let i = 0; i < 50 && !up; i++) {
    up = run({ REDISCLI_AUTH: password }).status === 0;
    if (!up) await sleep(100);
  }
  t.ok(up, "the probe passes with the password from the Secret (quotes and backslashes included)");
  t.not(run({}).status, 0, "and fails without it");
  t.not(run({ REDISCLI_AUTH: "wrong" }).status, 0, "and with a wrong one");
  const bare = spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" });
  t.match(bare.stdout, /NOAUTH/, "a client without the password is refused");
  t.equal(bare.status, 0, "(redis-cli exits 0 on that refusal: why the probe looks for PONG)");
  t.match(spawnSync("redis-cli", ["-p", String(port), "config", "get", "maxmemory"], { encoding: "utf8", env: { PATH: process.env.PATH, REDISCLI_AUTH: password } }).stdout, /201326592/, "the start script's maxmemory (75% of the limit) is in force");
  const commandLine = readFileSync(`/proc/${server.pid}/cmdline`, "utf8").replaceAll("\0", " ");
  t.notMatch(commandLine, /quoted/, `the password is not on the command line (${commandLine.trim()})`);
});

t.test("every container that talks to Redis reads the one password; off and existing Secrets render as documented", async (t) => {
  for (const profile of ["default", "demo", "local", "production"]) {
    const args = profile === "default" ? [] : ["-f", repoPath(`chart/profiles/${profile}.yaml`), ...operatorApi, "--api-versions", "keda.sh/v1alpha1/ScaledObject"];
    const objects = renderedObjects<Obj>(args);
    const readers = containers(objects).filter(({ owner, c }) => ["frontend", "backend"].includes(c.args?.[0] ?? "") || (owner.kind === "StatefulSet" && /redis$/.test(owner.metadata.name)));
    const secrets = objects.filter((o) => o.kind === "Secret" && o.metadata.name.endsWith("redis-auth"));
    t.ok(secrets.length >= 1, `${profile}: a generated Redis password`);
    for (const { owner, c } of readers) {
      const ref = refOf(c, "REDIS_PASSWORD");
      t.same(ref, { name: secrets[0]?.metadata.name, key: "password" }, `${profile}: ${owner.metadata.name}/${c.name} reads REDIS_PASSWORD from it`);
      if (["frontend", "backend"].includes(c.args?.[0] ?? "")) t.ok(owner.spec?.template?.metadata?.annotations?.["checksum/redis-auth"], `${profile}: ${owner.metadata.name} restarts when it changes`);
    }
    const namespaces = new Set(secrets.map((s) => s.metadata.namespace));
    for (const { owner } of readers) t.ok(namespaces.has(owner.metadata.namespace), `${profile}: ${owner.metadata.name} finds the Secret in its namespace ${owner.metadata.namespace}`);
    const data = new Set(secrets.map((s) => s.data?.password));
    t.equal(data.size, 1, `${profile}: one password in every copy`);
    const operated = objects.find((o) => o.kind === "Redis");
    if (operated) t.same(operated.spec?.kubernetesConfig?.redisSecret, { name: secrets[0]?.metadata.name, key: "password" }, `${profile}: the operator's Redis gets it as redisSecret`);
  }

  const off = renderedObjects<Obj>(["--set", "redis.auth.enabled=false"]);
  t.notOk(off.some((o) => o.kind === "Secret" && o.metadata.name.endsWith("redis-auth")), "off: no Secret");
  t.same(containers(off).flatMap(({ c }) => (refOf(c, "REDIS_PASSWORD") ? [c.name] : [])), [], "off: nobody reads a password");
  t.notMatch(off.find((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("redis-config"))?.data?.["start.sh"] ?? "", /requirepass/, "off: no requirepass");

  const existing = renderedObjects<Obj>(["--set", "redis.auth.existingSecret=my-redis"]);
  t.notOk(existing.some((o) => o.kind === "Secret" && o.metadata.name.endsWith("redis-auth")), "an existing Secret: none generated");
  t.same([...new Set(containers(existing).flatMap(({ c }) => refOf(c, "REDIS_PASSWORD")?.name ?? []))], ["my-redis"], "every reader uses the named one");

  const external = renderedObjects<Obj>(["--set", "redis.mode=external", "--set", "redis.external.url=redis://elsewhere:6379", "--set", "redis.external.passwordSecret.name=theirs"]);
  t.same([...new Set(containers(external).flatMap(({ c }) => refOf(c, "REDIS_PASSWORD")?.name ?? []))], ["theirs"], "external mode: the Secret of redis.external");
  t.notOk(external.some((o) => o.kind === "Secret" && o.metadata.name.endsWith("redis-auth")), "external mode: none generated");
});

t.test("the pods' checksum annotations are of the passwords the same render puts in the Secrets, so an upgrade that keeps them rolls nothing", async (t) => {
  const objects = renderedObjects<Obj>([]);
  const checksumOf = (name: RegExp) => {
    const data = objects.find((o) => o.kind === "Secret" && name.test(o.metadata.name))?.data ?? {};
    const sorted = Object.fromEntries(Object.keys(data).sort().map((k) => [k, data[k]]));
    return createHash("sha256").update(JSON.stringify(sorted)).digest("hex");
  };
  for (const o of objects.filter((o) => o.spec?.template?.metadata?.annotations?.["checksum/redis-auth"])) {
    t.equal(o.spec?.template?.metadata?.annotations?.["checksum/redis-auth"], checksumOf(/redis-auth$/), `${o.metadata.name}: checksum/redis-auth`);
  }
  for (const o of objects.filter((o) => o.spec?.template?.metadata?.annotations?.["checksum/nats-users"])) {
    t.equal(o.spec?.template?.metadata?.annotations?.["checksum/nats-users"], checksumOf(/nats-users$/), `${o.metadata.name}: checksum/nats-users`);
  }
});
