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
import { freePort, waitReady } from "../../src/local/servers.js";
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
  t.same(Object.keys(secret?.data ?? {}).sort(), [...natsRoles].sort(), "the Secret has a password for every user");
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
