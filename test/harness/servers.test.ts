import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import t from "tap";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { boundToParent, waitReady } from "../../src/local/servers.js";
import { eventually } from "./eventually.js";
import { projectRoot } from "../../src/shared/project.js";
import { binaryOnPath, freePort, MissingBinaryError, natsFlavours, startNats, startRedis } from "./servers.js";

for (const flavour of natsFlavours) {
  t.test(`nats-server (${flavour}) starts on free ports with JetStream and stops at teardown`, async (t) => {
    const server = await startNats(t, flavour);
    t.not(server.port, 4222, "never the default client port");
    t.not(server.monitorPort, 8222, "never the default monitoring port");
    t.match(server.version, flavour === "debian" ? /^v2\.9\./ : /^v2\.1\d\./);
    const jsz = (await (await fetch(`http://${server.monitoringEndpoint}/jsz`)).json()) as { config?: { store_dir?: string } };
    t.ok(jsz.config?.store_dir?.startsWith(server.storeDir), "JetStream stores in the test's temp folder");
    const nc = await connect(server.observer);
    t.equal(nc.info?.jetstream, true, "the server announces JetStream");
    await nc.close();
    await server.stop();
    await t.rejects(connect({ servers: server.url, timeout: 500, reconnect: false }), "nothing listens after stop");
  });
}

t.test("a nats-server can be started without JetStream, like Debian's packaged service", async (t) => {
  const server = await startNats(t, "debian", { jetstream: false, auth: false });
  const nc = await connect({ servers: server.url });
  t.notOk(nc.info?.jetstream, "no JetStream announced");
  await nc.close();
});

t.test("redis-server starts on a free port, keeps nothing and restarts on the same port", async (t) => {
  const server = await startRedis(t);
  t.not(server.port, 6379);
  const redis = new Redis(server.clientUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  t.teardown(() => redis.disconnect());
  await redis.connect();
  const stranger = new Redis(server.url, { lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  stranger.on("error", () => undefined);
  await stranger.connect().catch(() => undefined);
  await t.rejects(stranger.ping(), /NOAUTH|Authentication required/, "a client without the password is refused");
  stranger.disconnect();
  t.equal(await redis.config("GET", "save").then((r) => (r as string[])[1]), "");
  await redis.set("k", "v");
  await server.restart();
  await redis.ping().catch(() => undefined);
  t.equal(await redis.get("k"), null, "a restart loses the data: no persistence");
});

t.test("a server dies with the process that started it, even when that process is killed outright", async (t) => {
  t.ok(boundToParent("redis-server", []).argv.includes("--pdeathsig"), "util-linux's setpriv ties the server to its parent");
  const servers = join(projectRoot(import.meta.url), "dist", "src", "local", "servers.js");
  const script = `const { RedisServer } = await import(${JSON.stringify(servers)}); const s = await RedisServer.create(); await s.start(); console.log(s.port); setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  t.teardown(() => parent.kill("SIGKILL"));
  const port = Number(await new Promise<string>((resolve) => parent.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()))));
  const client = () => new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  const redis = client();
  await redis.connect();
  t.equal(await redis.ping(), "PONG", "the server answers while its parent lives");
  redis.disconnect();
  parent.kill("SIGKILL");
  const gone = await eventually(
    async () => {
      const probe = client();
      const answering = await probe.connect().then(() => true, () => false);
      probe.disconnect();
      return !answering;
    },
    { timeout: 5000, interval: 100, what: "the port to close" },
  ).catch(() => false);
  t.ok(gone, "nothing listens on its port once the parent was SIGKILLed");
});

t.test("a missing binary fails with one line naming how to get it", async (t) => {
  t.throws(() => binaryOnPath("surely-not-a-server", "apt-get install surely-not-a-server"), new MissingBinaryError("surely-not-a-server not found: install it with `apt-get install surely-not-a-server`"));
  const empty = mkdtempSync(join(tmpdir(), "meme-toolchain-"));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  const check = spawnSync(process.execPath, [fileURLToPath(new URL("../toolchain/toolchain.mjs", import.meta.url)), "--check"], {
    env: { ...process.env, MEME_TOOLCHAIN_CACHE: empty },
    encoding: "utf8",
  });
  t.equal(check.status, 1, "the toolchain check fails when nothing is built");
  t.match(check.stderr, /^nats-server is not built: run `npm run toolchain` \(builds it from test\/toolchain\/nats-server\/go.mod into /m);
});

t.test("waitReady resolves once a probe answers 2xx and names the URL when it never does", async (t) => {
  let ready = false;
  const server = createServer((_req, res) => res.writeHead(ready ? 200 : 503).end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`;
  await t.rejects(waitReady(url, 300), { message: `${url} not ready within 300 ms` }, "503 is not ready");
  setTimeout(() => (ready = true), 200);
  await waitReady(url, 5000);
  t.ok(ready);
  const nobody = `http://127.0.0.1:${await freePort()}/readyz`;
  await t.rejects(waitReady(nobody, 300), { message: `${nobody} not ready within 300 ms` }, "nothing listening is not ready");
});
