import t from "tap";
import { startBackend } from "../src/backend/main.js";
import { startFrontend } from "../src/frontend/main.js";
import { formatSummary, median, parseLoadArgs, percentile, runLoad } from "../src/load/load.js";
import { smoke } from "../src/smoke/smoke.js";
import { main } from "../src/cli/main.js";
import { freePort } from "./harness/servers.js";
import { startStack } from "./harness/stack.js";

t.test("load options: one target, sane numbers, clear errors", async (t) => {
  t.match(parseLoadArgs(["--url", "http://localhost:8080/"]), { url: "http://localhost:8080", rate: 10, count: 100, prompts: "unique", wait: 60 });
  t.match(parseLoadArgs(["--nats", "nats://localhost:4222", "--duration", "2.5", "--rate", "4"]), { duration: 2.5, count: undefined, rate: 4 });
  const bad: [string[], string][] = [
    [[], "give exactly one of --url (a frontend) or --nats (a NATS server)"],
    [["--url", "http://a", "--nats", "nats://b"], "give exactly one of --url (a frontend) or --nats (a NATS server)"],
    [["--url", "localhost:8080"], '--url takes an http:// or https:// address (got "localhost:8080")'],
    [["--nats", "http://b"], '--nats takes a nats:// address (got "http://b")'],
    [["--url", "http://a", "--rate", "0"], '--rate takes a number above 0 (got "0")'],
    [["--url", "http://a", "--count", "2.5"], '--count takes a whole number above 0 (got "2.5")'],
    [["--url", "http://a", "--count", "5", "--duration", "5"], "give --count or --duration, not both"],
    [["--url", "http://a", "--prompts", "same"], '--prompts takes unique or repeated (got "same")'],
  ];
  for (const [args, message] of bad) t.throws(() => parseLoadArgs(args), { name: "LoadUsageError", message }, args.join(" "));
  t.throws(() => parseLoadArgs(["--url", "http://a", "--bogus"]), { name: "LoadUsageError", message: /^Unknown option '--bogus'/ });
  t.equal(percentile([], 50), 0);
  t.equal(percentile([1, 2, 3, 4], 50), 2);
  t.equal(percentile([1, 2, 3, 4], 99), 4);
  const unsorted = [5, 1, 4, 2, 3];
  t.equal(median(unsorted), 3, "median of an unsorted list");
  t.same(unsorted, [5, 1, 4, 2, 3], "which it leaves as it was");
  t.equal(median([4, 1, 3, 2]), 2, "the lower middle value of an even count");
  t.equal(median([]), 0);
});

t.test("load over HTTP and over NATS, and smoke, against a running stack", async (t) => {
  const stack = await startStack(t, "pinned");
  const backend = await startBackend(stack.env);
  t.teardown(() => backend.stop());
  const port = await freePort();
  const web = await startFrontend({ ...stack.env, PORT: String(port), METRICS_PORT: String(await freePort()), SHUTDOWN_DELAY: "0" }, "127.0.0.1");
  t.teardown(() => web.stop(0));
  const url = `http://127.0.0.1:${port}`;

  const http = await runLoad(parseLoadArgs(["--url", url, "--count", "40", "--rate", "80", "--fast", "--quiet"]), () => undefined, false);
  t.match(http, { sent: 40, accepted: 40, done: 40, failed: 0, lost: 0 });
  t.ok(http.p50 > 0 && http.p50 <= http.p95 && http.p95 <= http.p99, `p50 ${http.p50} ≤ p95 ${http.p95} ≤ p99 ${http.p99}`);
  t.ok(http.seconds >= 0.45, `even pacing: 40 at 80/s takes about half a second (${http.seconds} s)`);

  const repeated = await runLoad(parseLoadArgs(["--nats", stack.nats.url, "--user", "frontend", "--password", stack.env.NATS_PASSWORD ?? "", "--count", "30", "--rate", "40", "--prompts", "repeated", "--fast", "--quiet"]), () => undefined, false);
  t.match(repeated, { sent: 30, done: 30, lost: 0 });
  t.ok(repeated.cached >= 15, `six prompts over and over: most come from the cache (${repeated.cached} of 30)`);
  t.match(formatSummary(repeated), /^sent\s+30\n.*\ndone\s+30 \(\d+ from the cache\)/s);

  const progress: string[] = [];
  await runLoad(parseLoadArgs(["--url", url, "--count", "3", "--rate", "50"]), (text) => progress.push(text), true);
  t.match(progress.join(""), /\[#+\] sent 3\/3 {2}done 3 {2}failed 0/, "a progress bar on a terminal");

  t.match(await smoke({ FRONTEND_URL: url, SMOKE_TIMEOUT: "30" }), /^meme [0-9a-f-]{36} rendered and served as a 512 px PNG in \d+ ms$/);
});

t.test("smoke fails with the reason", async (t) => {
  const port = await freePort();
  await t.rejects(smoke({ FRONTEND_URL: `http://127.0.0.1:${port}`, SMOKE_TIMEOUT: "5" }), { name: "SmokeFailure", message: new RegExp(`^cannot reach http://127.0.0.1:${port}: `) });
  const stack = await startStack(t, "pinned");
  const web = await startFrontend({ ...stack.env, PORT: String(port), METRICS_PORT: String(await freePort()), SHUTDOWN_DELAY: "0" }, "127.0.0.1");
  t.teardown(() => web.stop(0));
  await t.rejects(smoke({ FRONTEND_URL: `http://127.0.0.1:${port}`, SMOKE_TIMEOUT: "1" }), {
    message: /^meme [0-9a-f-]{36} still queued after 1 s: are workers running \(or can KEDA wake them\)\?$/,
  }, "no worker: it says so");
  const log = console.error;
  const lines: string[] = [];
  console.error = (line: string) => void lines.push(line);
  process.env.FRONTEND_URL = "ftp://nope";
  try {
    t.equal(await main(["smoke"]), 1);
  } finally {
    console.error = log;
    delete process.env.FRONTEND_URL;
  }
  t.same(lines, ['meme-generator smoke: FRONTEND_URL must be an http:// or https:// URL (got "ftp://nope")']);
});
