import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import { provision, queueSettings } from "../../src/provision/provision.js";
import { DUPLICATE_WINDOW_SECONDS } from "../../src/shared/queue.js";
import { freePort, natsFlavours, startNats } from "../harness/servers.js";

const quiet = { LOG_LEVEL: "silent" };

t.test("settings come from the documented variables and their defaults", async (t) => {
  const s = queueSettings({});
  t.match(s, {
    servers: ["nats://127.0.0.1:4222"],
    stream: "MEMES",
    consumer: "meme-generator",
    subject: "meme.request",
    replicas: 1,
    maxBytes: 256 * 1024 ** 2,
    maxMsgSize: 64 * 1024,
    ackWaitSeconds: 30,
    maxDeliver: 5,
    connectTimeout: 30,
  });
  t.throws(() => queueSettings({ NATS_STREAM: "memes.v2" }), { message: /^NATS_STREAM must be 1–64 letters, digits, _ or - \(a JetStream name\) \(got "memes.v2"\)$/ });
  t.throws(() => queueSettings({ NATS_REQUEST_SUBJECT: "meme.*" }), { message: /^NATS_REQUEST_SUBJECT must be a NATS subject without wildcards/ });
});

for (const flavour of natsFlavours) {
  t.test(`provision on nats-server (${flavour})`, async (t) => {
    const server = await startNats(t, flavour);
    const env = { ...quiet, NATS_URL: server.url, NATS_PASSWORD: server.auth?.passwords.provisioner ?? "" };
    const nc = await connect(server.observer);
    t.teardown(() => nc.close());
    const jsm = await jetstreamManager(nc);

    t.same(await provision(env), { stream: "created", consumer: "created", changes: [] }, "a fresh server gets both");
    const stream = await jsm.streams.info("MEMES");
    t.match(stream.config, {
      subjects: ["meme.request"],
      retention: "workqueue",
      storage: "file",
      discard: "new",
      max_msg_size: 65536,
      max_bytes: 256 * 1024 ** 2,
      duplicate_window: DUPLICATE_WINDOW_SECONDS * 1e9,
      num_replicas: 1,
    });
    const consumer = await jsm.consumers.info("MEMES", "meme-generator");
    t.match(consumer.config, { durable_name: "meme-generator", ack_policy: "explicit", filter_subject: "meme.request", ack_wait: 30e9, max_deliver: 5 });
    t.notOk(consumer.config.inactive_threshold, "no inactivity threshold: the consumer survives the backend at zero");

    t.same(await provision(env), { stream: "unchanged", consumer: "unchanged", changes: [] }, "a second run changes nothing");

    const changed = await provision({ ...env, NATS_STREAM_MAX_BYTES: "512Mi", NATS_ACK_WAIT: "60", NATS_MAX_DELIVER: "3" });
    t.same(changed, {
      stream: "updated",
      consumer: "updated",
      changes: [`stream.max_bytes: ${256 * 1024 ** 2} → ${512 * 1024 ** 2}`, "consumer.ack_wait: 30000000000 → 60000000000", "consumer.max_deliver: 5 → 3"],
    });
    t.equal((await jsm.streams.info("MEMES")).config.max_bytes, 512 * 1024 ** 2);
    t.match((await jsm.consumers.info("MEMES", "meme-generator")).config, { ack_wait: 60e9, max_deliver: 3 });

    await jsm.streams.delete("MEMES");
    await jsm.streams.add({ name: "MEMES", subjects: ["meme.request"], storage: "memory", retention: "workqueue" });
    await t.rejects(provision(env), {
      name: "QueueConfigError",
      message: "stream MEMES has storage memory, which JetStream cannot change in place; delete the stream (its queued requests go with it) and provision again",
    });
  });
}

t.test("a NATS without JetStream is named as such, at once", async (t) => {
  const server = await startNats(t, "debian", { jetstream: false, auth: false });
  const started = Date.now();
  await t.rejects(provision({ ...quiet, NATS_URL: server.url, NATS_CONNECT_TIMEOUT: "20" }), {
    name: "NatsUnavailableError",
    message: `NATS at ${server.url} answers but has no JetStream: start nats-server with -js (or enable jetstream in its config)`,
  });
  t.ok(Date.now() - started < 5000, "does not wait out the timeout");
});

t.test("an unreachable NATS fails after the connect timeout with the reason", async (t) => {
  const url = `nats://127.0.0.1:${await freePort()}`;
  const started = Date.now();
  await t.rejects(provision({ ...quiet, NATS_URL: url, NATS_CONNECT_TIMEOUT: "2" }), {
    name: "NatsUnavailableError",
    message: new RegExp(`^NATS at ${url} could not be reached within 2 s \\(last error: .+\\)$`),
  });
  const waited = Date.now() - started;
  t.ok(waited >= 1900 && waited < 6000, `waited ${waited} ms for a 2 s timeout`);
});

t.test("provision waits for a NATS that is still starting", async (t) => {
  const server = await startNats(t, "pinned");
  await server.stop();
  const pending = provision({ ...quiet, NATS_URL: server.url, NATS_PASSWORD: server.auth?.passwords.provisioner, NATS_CONNECT_TIMEOUT: "20" });
  setTimeout(() => void server.start(), 1500);
  t.same(await pending, { stream: "created", consumer: "created", changes: [] });
});

t.test("with NATS users, only the provisioner creates the queue: a frontend and a worker wait for it, then go on", async (t) => {
  const { startFrontend } = await import("../../src/frontend/main.js");
  const { startBackend } = await import("../../src/backend/main.js");
  const { startRedis } = await import("../harness/servers.js");
  const server = await startNats(t, "pinned");
  const redis = await startRedis(t);
  const env = { ...quiet, NATS_URL: server.url, NATS_PASSWORD: server.auth?.passwords.frontend ?? "", REDIS_URL: redis.url, REDIS_PASSWORD: redis.password };
  const early = await freePort();
  const [frontendMetrics, backendMetrics] = [await freePort(), await freePort()];
  const frontend = startFrontend({ ...env, PORT: String(early), METRICS_PORT: String(frontendMetrics), SHUTDOWN_DELAY: "0", NATS_CONNECT_TIMEOUT: "20" }, "127.0.0.1");
  const backend = startBackend({ ...env, METRICS_PORT: String(backendMetrics), NATS_CONNECT_TIMEOUT: "20" });
  await sleep(1500);
  // Meanwhile each is alive and unready, saying what it waits for, on its metrics port (the chart's probes).
  for (const [tier, port] of [["frontend", frontendMetrics], ["backend", backendMetrics]] as const) {
    t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, `${tier}: alive while it waits`);
    const readyz = await fetch(`http://127.0.0.1:${port}/readyz`);
    t.same({ status: readyz.status, body: await readyz.json() }, { status: 503, body: { status: "not ready", reason: "waiting for stream MEMES, which only the provisioner creates" } }, `${tier}: unready, saying why`);
  }
  const nc = await connect(server.observer);
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  t.same(await jsm.streams.names().next(), [], "neither created the stream");
  t.same(await provision({ ...env, NATS_PASSWORD: server.auth?.passwords.provisioner }), { stream: "created", consumer: "created", changes: [] });
  const [web, worker] = await Promise.all([frontend, backend]);
  t.teardown(() => worker.stop());
  t.teardown(() => web.stop(0));
  t.equal((await fetch(`http://127.0.0.1:${early}/readyz`)).status, 200, "the frontend is ready once the queue exists");

  const empty = await startNats(t, "pinned");
  const started = Date.now();
  const missing = startBackend({ ...env, NATS_URL: empty.url, NATS_PASSWORD: empty.auth?.passwords.worker, METRICS_PORT: String(await freePort()), NATS_CONNECT_TIMEOUT: "2" });
  await t.rejects(missing, { name: "NatsUnavailableError", message: "stream MEMES still missing after 2 s: only the provisioner creates them (meme-generator provision, the chart's provisioner Job)" });
  t.ok(Date.now() - started < 6000, "it gives up after NATS_CONNECT_TIMEOUT");
});
