// A stopping process exits even when NATS went away first: the worker and the
// frontend, run as the container runs them, get SIGTERM after their NATS
// server was stopped, and must exit 0 within their shutdown budget instead of
// waiting for a server that is not coming back.
import { createServer } from "node:net";
import t from "tap";
import { provision } from "../../src/provision/provision.js";
import { startCli } from "../harness/command.js";
import { eventually } from "../harness/eventually.js";
import { freePort, startNats, startRedis, type Teardown } from "../harness/servers.js";

/** NATS and Redis of the test's own, the queue provisioned, and `command` started as the container starts it, stopped at teardown. */
async function startCommand(t: Teardown, command: string, settings: Record<string, string>, ports: { PORT?: string; METRICS_PORT?: string } = {}) {
  const [nats, redis] = await Promise.all([startNats(t, "pinned"), startRedis(t)]);
  const env = { LOG_LEVEL: "silent", NATS_URL: nats.url, NATS_PASSWORD: nats.auth?.passwords.frontend ?? "", REDIS_URL: redis.url, REDIS_PASSWORD: redis.password, ...settings };
  await provision(env);
  const port = ports.PORT ?? String(await freePort());
  const metricsPort = ports.METRICS_PORT ?? String(await freePort());
  const run = await startCli(command, { env: { ...env, PORT: port, METRICS_PORT: metricsPort }, teardown: t });
  const readyUrl = command === "backend" ? `http://127.0.0.1:${metricsPort}/readyz` : `http://127.0.0.1:${port}/readyz`;
  const readiness = (status: number, what: string) => () => eventually(async () => (await fetch(readyUrl)).status === status, { timeout: 30_000, interval: 50, what: `${command} ${what}`, detail: run.stderr });
  return { nats, child: run.child, ready: readiness(200, "ready"), unready: readiness(503, "unready"), stderr: run.stderr, exit: run.exit };
}

for (const command of ["backend", "frontend"]) {
  t.test(`${command}: SIGTERM after NATS is gone`, async (t) => {
    const run = await startCommand(t, command, { SHUTDOWN_TIMEOUT: "3", SHUTDOWN_DELAY: "0" });
    await run.ready();
    t.pass(`${command} is ready`);

    await run.nats.stop();
    await run.unready();
    t.pass(`${command} is unready with NATS away`);
    const sent = Date.now();
    run.child.kill("SIGTERM");
    const code = await run.exit(20_000);
    t.equal(code, 0, `${command} exited 0 after SIGTERM with NATS away (${((Date.now() - sent) / 1000).toFixed(1)} s)`);
  });
}

// An idle worker, or `start` with nothing to do, stops at once on Ctrl-C: nothing it waits for is left.
for (const command of ["backend", "start"]) {
  t.test(`${command}: Ctrl-C when idle exits at once, not after SHUTDOWN_TIMEOUT`, async (t) => {
    const run = await startCommand(t, command, { SHUTDOWN_TIMEOUT: "20" });
    await run.ready();
    const sent = Date.now();
    run.child.kill("SIGINT");
    const code = await run.exit(15_000);
    const seconds = (Date.now() - sent) / 1000;
    t.equal(code, 0, `${command} exited 0 (${seconds.toFixed(1)} s)`);
    t.ok(seconds < 10, `well before the 20 s SHUTDOWN_TIMEOUT (${seconds.toFixed(1)} s)`);
  });
}

// A taken port is one line naming it and the variable that sets it, exit 1, and nothing left running.
for (const [command, variable] of [["frontend", "PORT"], ["start", "PORT"], ["backend", "METRICS_PORT"]] as const) {
  t.test(`${command}: a taken ${variable} is one line and exit 1`, async (t) => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, resolve));
    t.teardown(() => holder.close());
    const taken = (holder.address() as { port: number }).port;
    const run = await startCommand(t, command, {}, { [variable]: String(taken) });
    t.equal(await run.exit(20_000), 1, "exits 1 by itself");
    const lines = run.stderr().split("\n").filter((line) => line && !line.startsWith("start: "));
    t.same(lines, [`meme-generator ${command}: port ${taken} is already in use: stop what holds it, or set ${variable} to a free port`]);
  });
}

// A client that keeps sending on its keep-alive connection (as one behind a Service does, its
// connection pinned to one pod) must not hold a stopping frontend past its delay.
t.test("frontend: SIGTERM while a client keeps sending on one keep-alive connection", async (t) => {
  const port = String(await freePort());
  const run = await startCommand(t, "frontend", { SHUTDOWN_TIMEOUT: "5", SHUTDOWN_DELAY: "1" }, { PORT: port });
  await run.ready();
  let exited = false;
  const statuses: string[] = [];
  const sending = (async () => {
    for (let i = 0; i < 300 && !exited; i++) {
      const answer = await fetch(`http://127.0.0.1:${port}/api/memes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: `keep-alive ${i}`, fastMode: true }), signal: AbortSignal.timeout(5000) }).then(
        (r) => String(r.status),
        (e: Error) => e.name,
      );
      if (statuses.at(-1) !== answer) statuses.push(answer);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await eventually(() => statuses.includes("202"), { what: "a first meme accepted" });
  const sent = Date.now();
  run.child.kill("SIGTERM");
  const code = await run.exit(20_000);
  exited = true;
  await sending;
  const seconds = (Date.now() - sent) / 1000;
  t.equal(code, 0, `exited 0 (${seconds.toFixed(1)} s; the client saw ${statuses.join(" → ")})`);
  t.ok(seconds < 1 + 5, `within its 1 s delay and 5 s to close (${seconds.toFixed(1)} s)`);
});
