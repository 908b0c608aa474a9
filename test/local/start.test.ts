import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import { connect } from "@nats-io/transport-node";
import { startLocal } from "../../src/local/start.js";
import { readEvents } from "../../src/load/events.js";
import { toolPath } from "../toolchain/toolchain.mjs";
import { eventually } from "../harness/eventually.js";
import { freePort, startNats } from "../harness/servers.js";
import { natsPasswords } from "../../src/local/servers.js";

async function memeThrough(port: number): Promise<Record<string, unknown>> {
  const created = await fetch(`http://127.0.0.1:${port}/api/memes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: "npm start | just works", fastMode: true }) });
  const { id } = (await created.json()) as { id: string };
  return eventually(
    async () => {
      const body = (await (await fetch(`http://127.0.0.1:${port}/api/memes/${id}`)).json()) as Record<string, unknown>;
      return body.status !== "queued" && body;
    },
    { timeout: 20000, what: `the result of ${id}` },
  );
}

t.test("with nothing listening, start runs its own NATS and Redis, and a meme goes through", async (t) => {
  const said: string[] = [];
  const env = { LOG_LEVEL: "silent", NATS_URL: `nats://127.0.0.1:${await freePort()}`, REDIS_URL: `redis://127.0.0.1:${await freePort()}`, PORT: String(await freePort()) };
  const stack = await startLocal(env, (line) => said.push(line));
  t.teardown(() => stack.stop());
  t.match(said[0], /could not be reached within 2 s.*; started nats-server v2\.\d+\.\d+ with JetStream at nats:\/\/127\.0\.0\.1:\d+/);
  const guide = /^the guide's user may publish requests: nats pub --server (\S+) --user guide --password (\S+) meme\.request '\{"prompt":"hello"\}'$/.exec(said[1] ?? "");
  t.ok(guide, `the guide's credentials are printed: ${said[1]}`);
  t.match(said[2], /does not answer.*; started redis-server at redis:\/\/127\.0\.0\.1:\d+ \(no persistence, a password\)/);
  const redisLines = /^redis-cli (-p \d+ -a \S+) --no-auth-warning ping; redis-benchmark (-p \d+ -a \S+) -n 1000 -q$/.exec(said[3] ?? "");
  t.ok(redisLines, `the Redis commands with their password are printed: ${said[3]}`);
  t.equal(said[4], "queue: stream created, consumer created");
  t.equal(said[5], `meme-generator is running: open http://localhost:${stack.port} (Ctrl-C stops everything)`);
  // The guide's Redis commands, with the flags printed (on loopback, bounded).
  const cliFlags = (redisLines?.[1] ?? "").split(" ");
  const pong = spawnSync("redis-cli", ["-h", "127.0.0.1", ...cliFlags, "--no-auth-warning", "ping"], { encoding: "utf8", timeout: 10000 });
  t.equal(pong.stdout.trim(), "PONG", "redis-cli with the printed password");
  const noAuth = spawnSync("redis-cli", ["-h", "127.0.0.1", cliFlags[0] ?? "", cliFlags[1] ?? "", "ping"], { encoding: "utf8", timeout: 10000 });
  t.match(noAuth.stdout + noAuth.stderr, /NOAUTH|Authentication required/, "and refused without it");
  const bench = spawnSync("redis-benchmark", ["-h", "127.0.0.1", ...(redisLines?.[2] ?? "").split(" "), "-n", "200", "-c", "5", "-q", "-t", "set,get"], { encoding: "utf8", timeout: 30000 });
  t.match(bench.stdout, /SET: .*requests per second/, `redis-benchmark with the printed password: ${bench.stdout.trim().split("\n").pop() ?? ""}`);
  t.match(await memeThrough(stack.port), { status: "done", width: 512 });
  // The guide's nats pub, the natscli binary itself, with the printed line's arguments.
  let resolveResult: (data: unknown) => void = () => undefined;
  const resultSeen = new Promise<unknown>((resolve) => (resolveResult = resolve));
  const disconnect = await readEvents(`http://127.0.0.1:${stack.port}`, (type, data) => {
    if (type === "result") resolveResult(data);
  });
  const published = spawnSync(toolPath("nats"), ["pub", "--server", guide?.[1] ?? "", "--user", "guide", "--password", guide?.[2] ?? "", "meme.request", '{"prompt":"hello"}'], { encoding: "utf8", timeout: 15000 });
  t.equal(published.status, 0, `nats pub as the guide's user: ${(published.stdout + published.stderr).trim()}`);
  const result = await Promise.race([resultSeen, sleep(20000).then(() => "no result within 20 s")]);
  t.match(result, { status: "done" }, "and a worker made the meme it asked for");
  disconnect();
  const refusedPub = spawnSync(toolPath("nats"), ["pub", "--server", guide?.[1] ?? "", "--user", "guide", "--password", "not-the-password", "meme.request", '{"prompt":"hello"}'], { encoding: "utf8", timeout: 15000 });
  t.not(refusedPub.status, 0, `and refused with another password: ${(refusedPub.stdout + refusedPub.stderr).trim().split("\n").pop() ?? ""}`);
  const asGuide = await connect({ servers: guide?.[1], user: "guide", pass: guide?.[2] });
  t.teardown(() => asGuide.close());
  const refused = new Promise<string>((resolve) => {
    asGuide.subscribe("meme.response.>", {
      callback: (error) => {
        if (error) resolve(error.message);
      },
    });
  });
  const id = randomUUID();
  asGuide.publish("meme.request", JSON.stringify({ id, prompt: "the guide's loop" }));
  await asGuide.flush();
  t.match(await refused, /permissions violation/i, "the guide's user may not read results");
  const made = await eventually(
    async () => {
      const body = (await (await fetch(`http://127.0.0.1:${stack.port}/api/memes/${id}`)).json()) as { status?: string };
      return body.status === "done" && body;
    },
    { timeout: 20000, interval: 100, what: "the guide's meme" },
  );
  t.equal(made.status, "done", "a request the guide's user published was made");
  const nats = stack.env.NATS_URL as string;
  await stack.stop();
  const down = await fetch(`http://127.0.0.1:${stack.port}/healthz`).then(() => "up", () => "down");
  t.equal(down, "down", "the frontend is gone");
  await t.rejects(connect({ servers: nats, timeout: 500, reconnect: false }), "its own NATS is gone");
});

t.test("a NATS without JetStream is not usable and is said so; running servers are used as they are", async (t) => {
  const plain = await startNats(t, "debian", { jetstream: false, auth: false });
  const withJs = await startNats(t, "pinned");
  const said: string[] = [];
  const first = await startLocal({ LOG_LEVEL: "silent", NATS_URL: plain.url, REDIS_URL: `redis://127.0.0.1:${await freePort()}`, PORT: String(await freePort()) }, (line) => said.push(line));
  await first.stop();
  t.match(said[0], new RegExp(`^NATS at ${plain.url} answers but has no JetStream: .*; started nats-server`));
  const again: string[] = [];
  const second = await startLocal(
    { LOG_LEVEL: "silent", NATS_URL: withJs.url, NATS_PASSWORD: withJs.auth?.passwords.frontend, REDIS_URL: first.env.REDIS_URL as string, PORT: String(await freePort()) },
    (line) => again.push(line),
  );
  t.teardown(() => second.stop());
  t.equal(again[0], `using NATS at ${withJs.url}`);
});

t.test("the passwords it prints are letters and digits: none can be read as a flag of the command it is printed in", async (t) => {
  const drawn = Array.from({ length: 200 }, () => Object.values(natsPasswords())).flat();
  const odd = drawn.filter((p) => !/^[A-Za-z0-9]{24}$/.test(p));
  t.same(odd, [], `${drawn.length} passwords drawn`);
  t.equal(new Set(drawn).size, drawn.length, "no two alike");
});
