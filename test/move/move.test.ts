import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import t from "tap";
import { copyCache, keepOldTiers, moveData, moveDataCommand, moveQueue, oldClients } from "../../src/move/move.js";
import { provision } from "../../src/provision/provision.js";
import { Kube, kubeAccess } from "../../src/shared/kube.js";
import { FakeKube } from "../harness/fake-kube.js";
import { natsFlavours, startNats, startRedis, type Teardown } from "../harness/servers.js";

const quiet = { LOG_LEVEL: "silent" };

/** An old and a new Redis of this test's own, and a client of each. */
async function twoRedis(t: Teardown) {
  const [a, b] = [await startRedis(t), await startRedis(t)];
  const from = new Redis(a.clientUrl);
  const to = new Redis(b.clientUrl);
  t.teardown(() => {
    from.disconnect();
    to.disconnect();
  });
  return { from, to };
}

t.test("the old Redis's keys go to the new one with their time to live; the new one's own keys stay; the wall merges", async (t) => {
  const { from, to } = await twoRedis(t);
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0x10]);
  await from.set("meme:req:1", '{"status":"queued"}', "EX", 3600);
  await from.set("meme:res:2", '{"status":"done"}', "EX", 600);
  await from.set("meme:img:abc", png, "EX", 3600);
  await from.set("forever", "x");
  await from.set("meme:res:3", "old", "EX", 3600);
  await to.set("meme:res:3", "new since the upgrade", "EX", 3600);
  await from.rpush("meme:recent", "3", "2", "1");
  await to.rpush("meme:recent", "9", "3");
  await from.rpush("only-old-list", "a", "b");

  const copied = await copyCache(from, to);
  t.same(copied, { copied: 5, present: 1, merged: 1, expired: 0 }, "five keys copied, one left, the wall merged");
  t.equal(await to.get("meme:req:1"), '{"status":"queued"}', "the pending record");
  t.same(await to.getBuffer("meme:img:abc"), png, "the image, byte for byte");
  t.equal(await to.get("meme:res:3"), "new since the upgrade", "a key the new Redis has is left as it is");
  t.same(await to.lrange("meme:recent", 0, -1), ["9", "3", "2", "1"], "the wall: the new entries first, then the old ones it lacked");
  t.same(await to.lrange("only-old-list", 0, -1), ["a", "b"], "a list only the old one has is copied whole");
  const ttl = await to.pttl("meme:res:2");
  t.ok(ttl > 590_000 && ttl <= 600_000, `the time to live carries over (${ttl} ms of 600 s)`);
  t.equal(await to.pttl("forever"), -1, "a key without one stays without one");
  t.same(await copyCache(from, to), { copied: 0, present: 5, merged: 2, expired: 0 }, "a second run copies nothing and duplicates nothing");
  t.same(await to.lrange("meme:recent", 0, -1), ["9", "3", "2", "1"], "the wall has each id once");
});

t.test("hashes, sets and sorted sets copy by value, the wall stays at its length", async (t) => {
  const { from, to } = await twoRedis(t);
  await from.hset("h", { a: "1", b: Buffer.from([0, 255]) });
  await from.pexpire("h", 60_000);
  await from.sadd("s", "x", "y");
  await from.zadd("z", 2, "two", 1, "one");
  await from.xadd("stream", "*", "f", "v");
  await from.rpush("meme:recent", ...Array.from({ length: 100 }, (_, i) => `old-${i}`));
  await to.rpush("meme:recent", "new-0");
  t.same(await copyCache(from, to), { copied: 4, present: 0, merged: 1, expired: 0 });
  t.same(await to.hgetallBuffer("h"), { a: Buffer.from("1"), b: Buffer.from([0, 255]) }, "the hash, bytes and all");
  t.ok((await to.pttl("h")) > 50_000, "with its time to live");
  t.same((await to.smembers("s")).sort(), ["x", "y"], "the set");
  t.same(await to.zrange("z", 0, -1, "WITHSCORES"), ["one", "1", "two", "2"], "the sorted set with its scores");
  t.equal(await to.xlen("stream"), 1, "a stream by DUMP and RESTORE");
  const wall = await to.lrange("meme:recent", 0, -1);
  t.equal(wall.length, 100, "the wall keeps RECENT_MAX entries");
  t.same(wall.slice(0, 2), ["new-0", "old-0"], "the newest first");
});

for (const flavour of natsFlavours) t.test(`the old stream's requests move to the new stream under their ids, and leave the old one (${flavour})`, async (t) => {
  const [a, b] = [await startNats(t, flavour), await startNats(t, flavour)];
  for (const server of [a, b]) await provision({ ...quiet, NATS_URL: server.url, NATS_PASSWORD: server.auth?.passwords.provisioner ?? "" });
  const [oldNc, newNc] = [await connect(a.observer), await connect(b.observer)];
  t.teardown(async () => {
    await oldNc.close();
    await newNc.close();
  });
  const ids = Array.from({ length: 25 }, () => randomUUID());
  const oldJs = jetstream(oldNc);
  for (const id of ids) await oldJs.publish("meme.request", JSON.stringify({ id }), { msgID: id });
  // Five done by a worker of the old revision: acknowledged, so gone from the work queue, leaving gaps.
  const consumer = await oldJs.consumers.get("MEMES", "meme-generator");
  const done = await consumer.fetch({ max_messages: 5, expires: 2000 });
  for await (const m of done) {
    m.ack();
    if (m.info.pending === 0) break;
  }
  await oldNc.flush();
  const oldJsm = await jetstreamManager(oldNc);
  t.equal((await oldJsm.streams.info("MEMES")).state.messages, 20, "20 requests wait in the old stream");

  // As the chart's move connects: the old NATS as its frontend user, the new one as the new frontend user.
  const from = await connect({ servers: a.url, user: "frontend", pass: a.auth?.passwords.frontend ?? "" });
  const to = await connect({ servers: b.url, user: "frontend", pass: b.auth?.passwords.frontend ?? "" });
  t.teardown(async () => {
    await from.close();
    await to.close();
  });
  const moved = await moveQueue(await jetstreamManager(from), "MEMES", jetstream(to), "meme.request");
  t.equal(moved, 20, "20 moved");
  t.equal((await oldJsm.streams.info("MEMES")).state.messages, 0, "the old stream is empty");
  const newJsm = await jetstreamManager(newNc);
  t.equal((await newJsm.streams.info("MEMES")).state.messages, 20, "the new stream holds them");
  const moved0 = await newJsm.streams.getMessage("MEMES", { seq: 1 });
  t.same(JSON.parse(new TextDecoder().decode(moved0?.data)), { id: ids[5] }, "the body as it was, in order");
  t.equal(moved0?.header?.get("Nats-Msg-Id"), ids[5], "its id as its Nats-Msg-Id");
  const retry = await jetstream(newNc).publish("meme.request", JSON.stringify({ id: ids[5] }), { msgID: ids[5] });
  t.ok(retry.duplicate, "a client's retry of a moved request is stored once");
  t.equal(await moveQueue(await jetstreamManager(from), "MEMES", jetstream(to), "meme.request"), 0, "a second run moves nothing");
});

t.test("which pods still use an old tier: those whose env names its address", async (t) => {
  const pod = (name: string, env: Record<string, string>) => ({ metadata: { name, namespace: "app" }, spec: { containers: [{ env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })) }] } });
  const pods = [pod("fe-old", { NATS_URL: "nats://old:4222", REDIS_URL: "redis://old-redis:6379" }), pod("fe-new", { NATS_URL: "nats://new:4222", REDIS_URL: "redis://new-redis:6379" }), pod("worker-old-redis", { NATS_URL: "nats://new:4222", REDIS_URL: "redis://old-redis:6379" })];
  t.same(oldClients(pods, { nats: "nats://old:4222", redis: "redis://old-redis:6379" }), ["app/fe-old", "app/worker-old-redis"]);
  t.same(oldClients(pods, { nats: "nats://old:4222" }), ["app/fe-old"], "only NATS moves");
  t.same(oldClients(pods, {}), [], "nothing moves");
  const finished = { ...pod("provisioner-old", { NATS_URL: "nats://old:4222" }), status: { phase: "Succeeded" } };
  t.same(oldClients([finished], { nats: "nats://old:4222" }), [], "a finished Job's pod uses nothing");
});

t.test("keep and move through the Kubernetes API: the old objects kept, the policies opened, then the data moved and the objects deleted", async (t) => {
  const kube = await new FakeKube().start();
  t.teardown(() => kube.close());
  const sts = "/apis/apps/v1/namespaces/app/statefulsets";
  const np = "/apis/networking.k8s.io/v1/namespaces/app/networkpolicies";
  const pods = "/api/v1/namespaces/app/pods";
  kube.put(sts, { metadata: { name: "old-nats" } });
  kube.put(sts, { metadata: { name: "old-redis" } });
  kube.put(np, { metadata: { name: "old-nats" }, spec: { ingress: [{ from: [{ podSelector: {} }] }] } } as never);
  kube.serve(pods);
  const cms = "/api/v1/namespaces/app/configmaps";
  kube.put(cms, { metadata: { name: "r-layout" }, data: { nats: "new/nats", pendingMove: "{}" } } as never);
  const client = new Kube(kubeAccess({ KUBECONFIG: kube.kubeconfig("app") }));
  const peer = { podSelector: { matchLabels: { "app.kubernetes.io/component": "move-data" } } };
  const base = { ...quiet, MOVE_OBJECTS: JSON.stringify([`${sts}/old-nats`, `${sts}/old-redis`, `${sts}/never-there`]), MOVE_POLICIES: JSON.stringify([`${np}/old-nats`]), MOVE_PEER: JSON.stringify(peer) };

  const kept = await keepOldTiers(base, client);
  t.same(kept, { kept: [`${sts}/old-nats`, `${sts}/old-redis`], admitted: [`${np}/old-nats`] }, "what is there is kept; what is not is skipped");
  const annotated = await client.get<{ metadata: { annotations?: Record<string, string> } }>(`${sts}/old-nats`);
  t.equal(annotated.metadata.annotations?.["helm.sh/resource-policy"], "keep", "Helm's keep annotation");
  const policy = await client.get<{ spec: { ingress: { from: unknown[] }[] } }>(`${np}/old-nats`);
  t.same(policy.spec.ingress.at(-1), { from: [peer] }, "the policy admits the move's pods");

  const [oldRedis, newRedis] = [await startRedis(t), await startRedis(t)];
  const [oldNats, newNats] = [await startNats(t, "pinned"), await startNats(t, "pinned")];
  for (const server of [oldNats, newNats]) await provision({ ...quiet, NATS_URL: server.url, NATS_PASSWORD: server.auth?.passwords.provisioner ?? "" });
  const seed = new Redis(oldRedis.clientUrl);
  t.teardown(() => seed.disconnect());
  await seed.set("meme:req:1", "queued", "EX", 60);
  const nc = await connect(oldNats.observer);
  t.teardown(() => nc.close());
  await jetstream(nc).publish("meme.request", "{}", { msgID: "m1" });
  // A pod of the old revision, stopping: the move waits for it.
  const straggler = { metadata: { name: "frontend-old", namespace: "app", labels: { release: "r" } }, spec: { containers: [{ env: [{ name: "NATS_URL", value: oldNats.url }] }] } };
  kube.put(pods, straggler);
  const gone = setTimeout(() => kube.remove(pods, "frontend-old"), 1500);
  t.teardown(() => clearTimeout(gone));
  const env = {
    ...base,
    MOVE_NAMESPACES: '["app"]',
    MOVE_PODS: "release=r",
    MOVE_FROM_NATS_URL: oldNats.url,
    MOVE_FROM_NATS_PASSWORD: oldNats.auth?.passwords.frontend ?? "",
    MOVE_FROM_REDIS_URL: oldRedis.url,
    MOVE_FROM_REDIS_PASSWORD: oldRedis.password,
    NATS_URL: newNats.url,
    NATS_PASSWORD: newNats.auth?.passwords.frontend ?? "",
    REDIS_URL: newRedis.url,
    REDIS_PASSWORD: newRedis.password,
    MOVE_FROM_NATS_OBJECT: `${sts}/old-nats`,
    MOVE_FROM_REDIS_OBJECT: `${sts}/old-redis`,
    MOVE_LAYOUT: `${cms}/r-layout`,
  };
  const report = await moveData(env, client);
  t.ok(report.waitedSeconds >= 1, `it waited for the old pod to stop (${report.waitedSeconds.toFixed(1)} s)`);
  t.match(report, { cache: { copied: 1 }, moved: 1, removed: [`${sts}/old-nats`, `${sts}/old-redis`] }, "copied, moved, removed");
  t.equal(await client.find(`${sts}/old-nats`), undefined, "the old objects are gone");
  t.same((await client.get<{ data: Record<string, string> }>(`${cms}/r-layout`)).data, { nats: "new/nats" }, "the layout's pendingMove is cleared, the rest kept");
  const check = new Redis(newRedis.clientUrl);
  t.teardown(() => check.disconnect());
  t.equal(await check.get("meme:req:1"), "queued", "the new Redis has the record");

  // A move run again after an upgrade without its hooks: the old tiers' workloads are gone, so is their data.
  const again = await moveData({ ...env, MOVE_WAIT: "0" }, client);
  t.same(again, { waitedSeconds: again.waitedSeconds, removed: [] }, "nothing to copy, move or remove");

  kube.put(pods, straggler);
  kube.put(sts, { metadata: { name: "old-nats" } });
  await jetstream(nc).publish("meme.request", "{}", { msgID: "m2" });
  await t.rejects(moveData({ ...env, MOVE_WAIT: "1" }, client), { name: "MoveError", message: /^app\/frontend-old still use the old tiers after 1 s: nothing moved and the old tiers stay/ }, "a pod that does not stop within MOVE_WAIT stops the move");
  t.ok(await client.find(`${sts}/old-nats`), "the old objects stay");
  t.equal((await (await jetstreamManager(nc)).streams.info("MEMES")).state.messages, 1, "the old stream keeps its request");
  await t.rejects(keepOldTiers({ ...base, MOVE_OBJECTS: "[1]" }, client), { name: "MoveError", message: /MOVE_OBJECTS must be a JSON list of strings/ });
});

t.test("the command says which phase it wants", async (t) => {
  const errors: string[] = [];
  const original = console.error;
  console.error = (line: string) => errors.push(line);
  t.teardown(() => (console.error = original));
  t.equal(await moveDataCommand([]), 2);
  t.match(errors[0], /say keep \(before the upgrade\) or move \(after it\)/);
});
