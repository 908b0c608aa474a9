// Each tier's NATS user can do its job and is refused what it must not do, on a
// real nats-server whose configuration is rendered from permissions.ts.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import { subjects } from "../../src/shared/contract.js";
import { authorizationBlock, defaultQueueNames, natsRoles, permissionsFor, SERVER_ONLY, type NatsRole } from "../../src/shared/permissions.js";
import { natsBinary, natsFlavours } from "../harness/servers.js";
import { startStack, type Stack } from "../harness/stack.js";

const names = defaultQueueNames;
const advisory = subjects.maxDeliveries(names.stream, names.consumer);

t.test("every grant has its reason, and nats-server accepts the configuration rendered from them", async (t) => {
  const grants = permissionsFor(names);
  for (const role of natsRoles) {
    for (const grant of [...grants[role].publish, ...grants[role].subscribe]) t.ok(grant.why.length > 10, `${role}: ${grant.subject}`);
    t.notOk(
      grants[role].publish.some((g) => g.subject.startsWith("$JS.EVENT")),
      `${role} may not publish what only the server publishes`,
    );
  }
  const block = authorizationBlock([...natsRoles.map((role) => ({ user: role, password: `$${role.toUpperCase()}_PASSWORD`, permissions: grants[role] })), { user: "x", password: 'a "quoted" one' }]);
  for (const role of natsRoles) t.match(block, `password: $${role.toUpperCase()}_PASSWORD`, "a $VARIABLE password stays a reference");
  t.match(block, 'password: "a \\"quoted\\" one"');
  t.equal(block.split(`deny: ["${SERVER_ONLY}"]`).length - 1, natsRoles.length, "every tier's user is denied what only the server publishes, whatever it is allowed");
  const dir = mkdtempSync(join(tmpdir(), "meme-permissions-"));
  const file = join(dir, "nats.conf");
  writeFileSync(file, block);
  for (const flavour of natsFlavours) {
    const env = Object.fromEntries(natsRoles.map((role) => [`${role.toUpperCase()}_PASSWORD`, "x"]));
    const checked = spawnSync(natsBinary(flavour), ["-c", file, "-t"], { encoding: "utf8", env: { ...process.env, ...env } });
    t.equal(checked.status, 0, `nats-server (${flavour}) -t: ${checked.stderr.trim() || checked.stdout.trim()}`);
  }
});

/** Connects as a tier's user and records every permission the server refused it. */
async function as(stack: Stack, role: NatsRole, t: { teardown(fn: () => unknown): void }) {
  const nc = await connect({ servers: stack.nats.url, user: role, pass: stack.nats.auth?.passwords[role] });
  t.teardown(() => nc.close());
  const refused: string[] = [];
  void (async () => {
    for await (const status of nc.status()) {
      const error = (status as { error?: { name?: string; operation?: string; subject?: string } }).error;
      if (status.type === "error" && error?.name === "PermissionViolationError") refused.push(`${error.operation} ${error.subject}`);
    }
  })();
  return { nc, refused };
}

async function settled(nc: NatsConnection) {
  await nc.flush();
  await sleep(100);
}

for (const flavour of natsFlavours) {
  t.test(`each tier's user does its job and nothing else (nats-server ${flavour})`, async (t) => {
    const stack = await startStack(t, flavour);
    const heard: string[] = [];
    // The server publishes advisories of its own (API calls); the forged ones would come on this one.
    stack.nc.subscribe(advisory, { callback: (_error, msg) => void heard.push(msg.subject) });
    await stack.nc.flush();

    const frontend = await as(stack, "frontend", t);
    const ack = await jetstream(frontend.nc).publish(names.request, JSON.stringify({ prompt: "from the frontend" }));
    t.ok(ack.seq > 0, "the frontend queues a request");
    const fjsm = await jetstreamManager(frontend.nc);
    const lag = await fjsm.consumers.info(names.stream, names.consumer);
    t.equal(lag.num_pending, 1, "and reads the consumer's lag");
    await t.rejects(frontend.nc.request(`$JS.API.CONSUMER.MSG.NEXT.${names.stream}.${names.consumer}`, JSON.stringify({ batch: 1 }), { timeout: 2000 }), /Permissions Violation/, "the frontend cannot pull");
    await t.rejects(fjsm.streams.delete(names.stream), /Permissions Violation/, "nor delete the stream");

    const worker = await as(stack, "worker", t);
    const consumer = await jetstream(worker.nc).consumers.get(names.stream, names.consumer);
    const pulled = await consumer.next({ expires: 2000 });
    t.equal(pulled?.json<{ prompt: string }>().prompt, "from the frontend", "the worker pulls it");
    pulled?.ack();
    worker.nc.publish(`${names.response}.x`, "{}");
    worker.nc.publish(names.request, JSON.stringify({ prompt: "from the worker" }));
    await settled(worker.nc);
    t.same(worker.refused, [`publish ${names.request}`], "the worker publishes results but no requests");

    const guide = await as(stack, "guide", t);
    guide.nc.publish(names.request, JSON.stringify({ prompt: "from the guide" }));
    guide.nc.publish(`${names.response}.x`, "{}");
    guide.nc.subscribe(`${names.response}.>`, { callback: () => undefined });
    await settled(guide.nc);
    await t.rejects(guide.nc.request("$JS.API.INFO", "", { timeout: 2000 }), /Permissions Violation/, "the guide's user has no JetStream API");
    t.same(guide.refused.slice(0, 2).sort(), [`publish ${names.response}.x`, `subscription ${names.response}.>`], "the guide's user publishes requests and nothing else");
    t.equal(await stack.streamMessages(), 1, "its request is queued");

    const provisioner = await as(stack, "provisioner", t);
    provisioner.nc.publish(names.request, "{}");
    await settled(provisioner.nc);
    t.same(provisioner.refused, [`publish ${names.request}`], "the provisioner manages the queue and sends no requests");

    const ops = await as(stack, "ops", t);
    const ojsm = await jetstreamManager(ops.nc);
    t.equal((await ojsm.consumers.info(names.stream, names.consumer)).num_pending, 1, "the ops user reads the consumer");
    t.equal((await ojsm.streams.info(names.stream)).config.name, names.stream, "and the stream");
    // A single server leads alone: the server refuses the step-down itself, not the user.
    for (const what of [`STREAM.LEADER.STEPDOWN.${names.stream}`, `CONSUMER.LEADER.STEPDOWN.${names.stream}.${names.consumer}`]) {
      const answer = (await ops.nc.request(`$JS.API.${what}`, "", { timeout: 2000 })).json<{ error?: { description?: string } }>();
      t.match(answer.error?.description ?? "", /clustering support required/i, `$JS.API.${what} reaches JetStream: ${answer.error?.description}`);
    }
    ops.nc.publish(names.request, "{}");
    await settled(ops.nc);
    await t.rejects(ops.nc.request(`$JS.API.CONSUMER.MSG.NEXT.${names.stream}.${names.consumer}`, JSON.stringify({ batch: 1 }), { timeout: 2000 }), /Permissions Violation/, "the ops user cannot pull");
    await t.rejects(ojsm.streams.delete(names.stream), /Permissions Violation/, "nor delete the stream");
    t.same(ops.refused.slice(0, 1), [`publish ${names.request}`], "nor send requests");

    for (const [role, who] of [["frontend", frontend], ["worker", worker], ["provisioner", provisioner], ["guide", guide], ["ops", ops]] as const) {
      who.refused.length = 0;
      who.nc.publish(advisory, JSON.stringify({ stream_seq: 1, deliveries: 5 }));
      await settled(who.nc);
      t.same(who.refused, [`publish ${advisory}`], `${role} may not publish an advisory`);
    }
    t.same(heard, [], "no forged advisory reached the bus");
  });
}
