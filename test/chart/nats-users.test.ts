// The chart's NATS users: the configuration it renders, run by a real
// nats-server with the passwords its Secret would hold, admits each of our
// containers as its own user with the key the chart points it at, and nobody
// with another's; off, existing Secrets and every profile render as documented.
import { connect } from "@nats-io/transport-node";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { repoPath } from "../../generator/schema.js";
import { freePort, waitFor, waitReady } from "../../src/local/servers.js";
import { natsRoles } from "../../src/shared/permissions.js";
import { toolPath } from "../toolchain/toolchain.mjs";
import { renderedObjects } from "./helm.js";

interface Obj {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: { template?: { spec?: { containers?: Container[] } } };
}
interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
}

const ownUser: Record<string, string> = { frontend: "frontend", backend: "worker", provision: "provisioner" };

function passwordRefs(objects: Obj[]) {
  const refs: { command: string; secret: string; key: string }[] = [];
  for (const o of objects) {
    for (const c of o.spec?.template?.spec?.containers ?? []) {
      const ref = c.env?.find((e) => e.name === "NATS_PASSWORD")?.valueFrom?.secretKeyRef;
      if (ref && c.args?.[0]) refs.push({ command: c.args[0], secret: ref.name, key: ref.key });
    }
  }
  return refs;
}

t.test("the rendered users admit each container as its own user, with the key the chart gives it", async (t) => {
  const objects = renderedObjects<Obj>(["--api-versions", "keda.sh/v1alpha1/ScaledObject"]);
  const secret = objects.find((o) => o.kind === "Secret" && o.metadata.name.endsWith("nats-users"));
  t.same(Object.keys(secret?.data ?? {}).sort(), [...natsRoles, "route"].sort(), "the Secret has a password for every user, and the route password of a clustered NATS");
  const config = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("nats-config"))?.data?.["nats.conf"] ?? "";
  const refs = passwordRefs(objects);
  t.same(refs.map((r) => r.command).sort(), ["backend", "frontend", "provision"], "frontend, worker and provisioner read their password from it");
  for (const r of refs) t.equal(r.secret, secret?.metadata.name, `${r.command}: the users Secret`);

  const dir = mkdtempSync(join(tmpdir(), "meme-nats-users-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "nats.conf");
  writeFileSync(file, config.replace(/store_dir: "[^"]*"/, `store_dir: "${join(dir, "store")}"`).replace(/pid_file: \S+/, `pid_file: ${join(dir, "nats.pid")}`));
  const [port, monitor] = [await freePort(), await freePort()];
  const passwords = Object.fromEntries(natsRoles.map((user) => [`NATS_${user.toUpperCase()}_PASSWORD`, `pw-${user}`]));
  const server = spawn(toolPath("nats-server"), ["-c", file, "-a", "127.0.0.1", "-p", String(port), "-m", String(monitor)], { env: { ...process.env, ...passwords, POD_NAME: "nats-0" }, stdio: "ignore" });
  t.teardown(() => server.kill("SIGKILL"));
  await waitReady(`http://127.0.0.1:${monitor}/healthz`);
  const servers = `nats://127.0.0.1:${port}`;
  for (const r of refs) {
    const user = ownUser[r.command] ?? "";
    const nc = await connect({ servers, user, pass: `pw-${r.key}`, reconnect: false });
    await nc.flush();
    t.pass(`${r.command} connects as ${user} with the Secret's key ${r.key}`);
    await nc.close();
    const other = natsRoles.find((role) => role !== r.key) ?? "";
    await t.rejects(connect({ servers, user, pass: `pw-${other}`, reconnect: false, timeout: 2000 }), /Authorization Violation/i, `and not with ${other}'s password`);
  }
  await t.rejects(connect({ servers, reconnect: false, timeout: 2000 }), /Authorization Violation/i, "a client without credentials is refused");
});

t.test("with NATS in a namespace of its own, each namespace has the Secret, with the same passwords; the tiers' copy holds only theirs", async (t) => {
  const objects = renderedObjects<Obj & { metadata: { namespace?: string } }>(["-f", repoPath("chart/profiles/demo.yaml"), "--api-versions", "keda.sh/v1alpha1/ScaledObject"]);
  const copies = objects.filter((o) => o.kind === "Secret" && o.metadata.name.endsWith("nats-users"));
  t.equal(copies.length, 2, "one for NATS, one for the tiers");
  const [nats, tiers] = copies;
  t.not(nats?.metadata.namespace, tiers?.metadata.namespace);
  t.same(Object.keys(tiers?.data ?? {}).sort(), ["frontend", "provisioner", "worker"], "the tiers' copy has no guide password");
  for (const [key, value] of Object.entries(tiers?.data ?? {})) t.equal(value, nats?.data?.[key], `${key}: the same password in both`);
});

t.test("users on in every profile by default; off: no Secret, no authorization, no passwords; an existing Secret: used, none generated", async (t) => {
  for (const profile of ["default", "demo", "local", "production"]) {
    const objects = renderedObjects<Obj>(profile === "default" ? [] : ["-f", repoPath(`chart/profiles/${profile}.yaml`)]);
    t.match(objects.find((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("nats-config"))?.data?.["nats.conf"] ?? "", /authorization \{/, `${profile}: NATS requires users`);
    t.equal(passwordRefs(objects).length, 3, `${profile}: the three tiers read their passwords`);
  }
  const off = renderedObjects<Obj>(["--set", "nats.auth.enabled=false"]);
  t.notOk(off.some((o) => o.kind === "Secret" && o.metadata.name.endsWith("nats-users")), "no users Secret");
  t.notMatch(off.find((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("nats-config"))?.data?.["nats.conf"] ?? "", /authorization/);
  t.same(passwordRefs(off), [], "no container reads a NATS password");

  const existing = renderedObjects<Obj>(["--set", "nats.auth.existingSecret=my-nats-users"]);
  t.notOk(existing.some((o) => o.kind === "Secret" && o.metadata.name.endsWith("nats-users")), "none generated");
  t.same([...new Set(passwordRefs(existing).map((r) => r.secret))], ["my-nats-users"], "every container reads the named one");

  const away = ["--set", "nats.enabled=false", "--set", "nats.external.url=nats://elsewhere:4222", "--set", "nats.external.monitoringEndpoint=elsewhere:8222"];
  const external = renderedObjects<Obj>([...away]);
  t.same(passwordRefs(external), [], "an external NATS without a named Secret: no credentials");
  const externalWithUsers = renderedObjects<Obj>([...away, "--set", "nats.auth.existingSecret=theirs"]);
  t.equal(passwordRefs(externalWithUsers).length, 3, "with one: the three tiers read it");
});

t.test("a clustered NATS routes only with the route password: the rendered config and args form a three-server cluster, a server without it is refused", async (t) => {
  interface Server {
    kind: string;
    metadata: { name: string };
    data?: Record<string, string>;
    spec?: { template?: { spec?: { containers?: (Container & { args?: string[] })[] } } };
  }
  const objects = renderedObjects<Server>(["-f", repoPath("chart/profiles/production.yaml"), "--api-versions", "keda.sh/v1alpha1/ScaledObject"]);
  const config = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("nats-config"))?.data?.["nats.conf"] ?? "";
  const nats = objects.find((o) => o.kind === "StatefulSet" && /nats$/.test(o.metadata.name))?.spec?.template?.spec?.containers?.find((c) => c.name === "nats");
  const secret = objects.find((o) => o.kind === "Secret" && o.metadata.name.endsWith("nats-users") && o.data?.route);
  t.ok(secret?.data?.route, "the NATS namespace's Secret holds a route password");
  t.same(nats?.env?.find((e) => e.name === "NATS_ROUTE_PASSWORD")?.valueFrom?.secretKeyRef, { name: secret?.metadata.name, key: "route" }, "NATS reads it from there");
  t.notMatch(config, /routes:/, "no routes in the config (they would carry the password unexpanded)");
  const args = nats?.args ?? [];
  const routes = args[args.indexOf("--routes") + 1] ?? "";
  t.match(routes, /^nats:\/\/route:\$\(NATS_ROUTE_PASSWORD\)@/, "the routes on the command line, as the route user");

  const dir = mkdtempSync(join(tmpdir(), "meme-nats-routes-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const hosts = [...routes.matchAll(/@([^:,]+):(\d+)/g)].map((m) => m[1] ?? "");
  t.equal(hosts.length, 3, "three routes");
  const clusterPorts = await Promise.all(hosts.map(() => freePort()));
  const monitors: number[] = [];
  const passwords = Object.fromEntries(natsRoles.map((user) => [`NATS_${user.toUpperCase()}_PASSWORD`, `pw-${user}`]));
  // Each pod's config and args as Kubernetes makes them ($(VAR) expanded), its host names pointed at
  // loopback ports. The intruder has neither the password nor the config's: it cannot join, nor be joined.
  const start = async (i: number, routePassword: string) => {
    const file = join(dir, `nats-${i}.conf`);
    const listen = i < clusterPorts.length ? clusterPorts[i] : await freePort();
    // The cluster port in the file (a --cluster flag would replace the cluster's authorization too).
    const local = config.replace(/store_dir: "[^"]*"/, `store_dir: "${join(dir, `store-${i}`)}"`).replace(/pid_file: \S+/, `pid_file: ${join(dir, `nats-${i}.pid`)}`);
    writeFileSync(file, local.replace(/(cluster \{[^}]*?)port: 6222/, `$1host: 127.0.0.1\n      port: ${listen}`));
    let expanded = routes.replaceAll("$(NATS_ROUTE_PASSWORD)", routePassword);
    hosts.forEach((host, h) => (expanded = expanded.replace(`${host}:6222`, `127.0.0.1:${clusterPorts[h]}`)));
    const [port, monitor] = [await freePort(), await freePort()];
    const args = ["-c", file, "-a", "127.0.0.1", "-p", String(port), "-m", String(monitor), "--routes", expanded];
    const server = spawn(toolPath("nats-server"), args, { env: { ...process.env, ...passwords, NATS_ROUTE_PASSWORD: routePassword, POD_NAME: `nats-${i}` }, stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    server.stderr.on("data", (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
    t.teardown(() => server.kill("SIGKILL"));
    // Generous: beside the other suites on two cores a clustered JetStream server can start slowly.
    await waitFor(`nats-${i}`, async () => (await fetch(`http://127.0.0.1:${monitor}/healthz?js-server-only=true`)).ok, server, () => log, 60_000);
    return monitor;
  };
  for (let i = 0; i < 3; i++) monitors.push(await start(i, "the-route-password"));
  const routesOf = async (monitor: number) => ((await (await fetch(`http://127.0.0.1:${monitor}/routez`)).json()) as { routes?: { remote_name?: string }[] }).routes ?? [];
  const peers = async (monitor: number) => [...new Set((await routesOf(monitor)).map((r) => r.remote_name))].sort();
  let formed = false;
  for (let i = 0; i < 100 && !formed; i++) {
    formed = (await Promise.all(monitors.map(peers))).every((p) => p.length === 2);
    if (!formed) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.same(await Promise.all(monitors.map(peers)), [["nats-1", "nats-2"], ["nats-0", "nats-2"], ["nats-0", "nats-1"]], "each server routes to the other two");
  const intruder = await start(3, "a-wrong-password");
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.same(await peers(intruder), [], "a server with a wrong route password joins nobody");
  for (const monitor of monitors) t.notOk((await peers(monitor)).includes("nats-3"), "and nobody routes to it");
});
