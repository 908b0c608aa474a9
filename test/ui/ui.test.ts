/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The web UI in a real browser (Debian's chromium driven by playwright-core).
import { existsSync, mkdirSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import t from "tap";
import { startBackend } from "../../src/backend/main.js";
import { startFrontend } from "../../src/frontend/main.js";
import { PROMPT_MAX, RECENT_MAX } from "../../src/shared/contract.js";
import { repoPath } from "../../generator/schema.js";
import { demoRelease, frontendHpa, paths, scalingEnv } from "../harness/demo-objects.js";
import { FakeKube } from "../harness/fake-kube.js";
import { eventually } from "../harness/eventually.js";
import { freePort } from "../harness/servers.js";
import { startStack } from "../harness/stack.js";

const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const shots = repoPath(".artifacts");
mkdirSync(shots, { recursive: true });

async function launch(): Promise<Browser> {
  if (!existsSync(executablePath)) throw new Error(`chromium not found at ${executablePath}: install it with \`apt-get install chromium\` (or set CHROMIUM_PATH)`);
  return chromium.launch({
    executablePath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/** Fails the test on any console error or page error. */
function watchConsole(t: { fail(message: string): void }, page: Page) {
  page.on("console", (message) => {
    if (message.type() === "error") t.fail(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => t.fail(`page error: ${error.message}`));
}

t.test("the web UI", async (ui) => {
  const stack = await startStack(ui, "pinned", { NATS_ACK_WAIT: "10" });
  const port = await freePort();
  const web = await startFrontend({ ...stack.env, PORT: String(port), METRICS_PORT: String(await freePort()), SHUTDOWN_DELAY: "0", BURST_MAX: "30" }, "127.0.0.1");
  ui.teardown(() => web.stop(0));
  const base = `http://127.0.0.1:${port}`;
  const browser = await launch();
  ui.teardown(() => browser.close());

  await ui.test("a burst while no worker runs: the lag rises, a worker wakes, the lag returns to 0 and the wall grows", async (t) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    watchConsole(t, page);
    await page.goto(base);
    await page.waitForSelector("#burst-form:not([hidden])");
    const before = await page.locator("#gallery li").count();
    await page.fill("#burst-size", "12");
    await page.click("#burst-form button");
    await page.waitForFunction(() => document.getElementById("burst-status")?.textContent?.startsWith("Sent 12 memes"));
    await page.waitForFunction(() => Number(document.getElementById("lag")?.textContent) >= 12, undefined, { timeout: 10000 });
    t.pass("the lag shows the 12 waiting requests");
    t.equal(await page.textContent("#workers"), "0", "no worker yet: the backend sits at zero");
    await page.screenshot({ path: `${shots}/ui-burst-desktop.png`, fullPage: true });
    const backend = await startBackend({ ...stack.env, METRICS_PORT: String(await freePort()) });
    ui.teardown(() => backend.stop()); // the later tests need the worker too
    await page.waitForFunction(() => document.getElementById("workers")?.textContent === "1", undefined, { timeout: 10000 });
    t.pass("the worker shows up from its heartbeat");
    await page.waitForFunction(() => document.getElementById("lag")?.textContent === "0", undefined, { timeout: 20000 });
    t.pass("the lag returns to 0");
    await page.waitForFunction((n) => document.querySelectorAll('#gallery li[data-status="done"]').length >= n, before + 12, { timeout: 20000 });
    t.equal(await page.locator("#gallery li").count(), before + 12, "the wall grew by the burst");
    t.ok(await page.locator("#timeline-backend polyline.lag").getAttribute("points"), "the backend lane's timeline draws the lag");
    await page.screenshot({ path: `${shots}/ui-after-burst-desktop.png`, fullPage: true });
    await page.close();
  });

  await ui.test("submit a meme: a pending card, then the image, loaded for real", async (t) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    watchConsole(t, page);
    await page.goto(base);
    await page.waitForSelector("#template option[value=ocean]", { state: "attached" });
    await page.fill("#prompt", "one does not simply | click a button in a test");
    await page.selectOption("#template", "ocean");
    await page.selectOption("#size", "512");
    await page.click("#meme-form button");
    const img = page.locator('#gallery li[data-status="done"] img[alt="one does not simply | click a button in a test"]');
    await img.waitFor({ timeout: 20000 });
    await page.waitForFunction((alt) => {
      const el = [...document.querySelectorAll("#gallery img")].find((i) => i.getAttribute("alt") === alt) as HTMLImageElement | undefined;
      return el && el.complete && el.naturalWidth > 0;
    }, "one does not simply | click a button in a test");
    t.equal(await img.evaluate((el) => (el as HTMLImageElement).naturalWidth), 512, "the PNG loaded at 512 px");
    t.match(await page.locator('#gallery li[data-status="done"]').first().textContent(), /rendered in \d+ ms|from the cache/);
    t.ok(await page.locator('#gallery li[data-status="done"] a[download]').first().isVisible(), "a download link");
    t.equal(await page.evaluate(() => document.activeElement?.id), "prompt", "focus goes back to the caption");
    await page.reload();
    await page.locator('#gallery img[alt="one does not simply | click a button in a test"]').waitFor();
    t.pass("the gallery survives a reload");
    await page.close();
  });

  await ui.test("a result that arrives before the answer to its submit stays on its card, from the form and from a burst", async (t) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    watchConsole(t, page);
    // Every submit's answer is held back until the page has shown the finished meme from the event stream.
    const held: string[] = [];
    await page.route("**/api/memes", async (route) => {
      if (route.request().method() !== "POST") return route.continue();
      const response = await route.fetch();
      const { id } = (await response.json()) as { id: string };
      held.push(id);
      await page.waitForSelector(`#gallery li[data-id="${id}"][data-status="done"]`, { timeout: 20000 });
      await route.fulfill({ response });
    });
    await page.goto(base);
    await page.waitForSelector("#burst-form:not([hidden])");
    await page.fill("#prompt", "faster than its own answer");
    await page.click("#meme-form button");
    await page.waitForFunction(() => (document.getElementById("prompt") as HTMLInputElement).value === "", undefined, { timeout: 20000 }); // cleared once answered
    await page.fill("#burst-size", "3");
    await page.click("#burst-form button");
    await page.waitForFunction(() => document.getElementById("burst-status")?.textContent?.startsWith("Sent 3 memes"));
    t.equal(held.length, 4, "four answers were held back");
    const statuses = await page.evaluate((ids) => ids.map((id) => document.querySelector(`#gallery li[data-id="${id}"]`)?.getAttribute("data-status")), held);
    t.same(statuses, ["done", "done", "done", "done"], "every card still shows its finished meme");
    await page.close();
  });

  await ui.test("a page open through more results than a reload shows keeps the newest, its images loaded as they are scrolled to", async (t) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    watchConsole(t, page);
    await page.goto(base);
    await page.waitForSelector("#burst-form:not([hidden])");
    const { recentMax } = (await (await fetch(`${base}/api/config`)).json()) as { recentMax: number };
    t.equal(recentMax, RECENT_MAX, "the API says how many memes a reload shows");
    const stamp = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < recentMax + 10; i++) {
      const response = await fetch(`${base}/api/memes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: `wall ${stamp} ${i}`, fastMode: true, smallImage: true }) });
      ids.push(((await response.json()) as { id: string }).id);
    }
    // Every one of them made, then every card on the page finished and no more of them than a reload shows.
    for (const id of ids) await eventually(async () => ((await (await fetch(`${base}/api/memes/${id}`)).json()) as { status?: string }).status === "done", { timeout: 30_000, interval: 100 });
    const settled = await page
      .waitForFunction((n) => { const cards = document.querySelectorAll("#gallery li"); return cards.length === n && [...cards].every((c) => (c as HTMLElement).dataset.status === "done"); }, recentMax, { timeout: 20_000 })
      .then(() => true, () => false);
    t.ok(settled, `the wall holds the newest ${recentMax} cards (it holds ${await page.locator("#gallery li").count()})`);
    const mine = await page.locator("#gallery figcaption").evaluateAll((els, s) => els.filter((e) => e.textContent?.startsWith(`wall ${s} `)).length, stamp);
    t.equal(mine, recentMax, `${recentMax} of the ${recentMax + 10} results on the wall, the first to arrive gone`);
    t.ok(await page.locator("#gallery img").evaluateAll((els) => els.every((e) => (e as HTMLImageElement).loading === "lazy")), "every image loads when scrolled to");
    await page.close();
  });

  await ui.test("an empty caption shows the API's error next to the form", async (t) => {
    const page = await browser.newPage();
    watchConsole(t, page);
    await page.goto(base);
    await page.fill("#prompt", "   ");
    await page.click("#meme-form button");
    const error = page.locator("#prompt-error");
    await error.waitFor({ state: "visible" });
    t.equal(await error.textContent(), `prompt must be 1–${PROMPT_MAX} characters after trimming (got 0)`);
    t.equal(await page.getAttribute("#prompt", "aria-invalid"), "true");
    t.equal(await error.getAttribute("role"), "alert", "read out by screen readers");
    await page.close();
  });

  await ui.test("without Kubernetes each lane says what it would show and why it does not", async (t) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    watchConsole(t, page);
    await page.goto(base);
    await page.waitForFunction(() => document.querySelector("#lane-redis .note")?.textContent !== "");
    for (const tier of ["frontend", "backend", "redis"]) {
      const note = await page.textContent(`#lane-${tier} .note`);
      t.match(note, /^This frontend does not watch a cluster \(SCALING_VIEW is off, as it is under npm start\)\. In a cluster this lane shows /, tier);
      t.equal(await page.getAttribute(`#lane-${tier}`, "data-state"), "absent");
    }
    t.match(await page.textContent("#lane-backend .stats"), /Queue lag.*Live workers.*Throughput/s, "the backend lane keeps the queue's numbers");
    await page.close();
  });

  await ui.test("in a cluster the lanes show the autoscalers' numbers and explain them (a local API stand-in)", async (t) => {
    const kube = await new FakeKube().start();
    t.teardown(() => kube.close());
    demoRelease(kube);
    const port = await freePort();
    const watched = await startFrontend({ ...stack.env, ...scalingEnv, KUBECONFIG: kube.kubeconfig(), PORT: String(port), METRICS_PORT: String(await freePort()), SHUTDOWN_DELAY: "0" }, "127.0.0.1");
    t.teardown(() => watched.stop(0));
    for (const [size, viewport] of [["desktop", { width: 1280, height: 900 }], ["phone", { width: 390, height: 844 }]] as const) {
      const page = await browser.newPage({ viewport });
      watchConsole(t, page);
      await page.goto(`http://127.0.0.1:${port}`);
      await page.waitForFunction(() => ["frontend", "backend", "redis"].every((tier) => document.getElementById(`lane-${tier}`)?.dataset.state === "watching"), undefined, { timeout: 10000 });
      t.match(await page.textContent("#lane-frontend .line"), "desired = max(10, 3) = 10; cpu: ceil(3 × 92 % / 30 %) = 10", size);
      t.equal(await page.textContent('#lane-frontend .facts [data-label="CPU"] dd'), "92 % of target 30 %");
      t.equal(await page.textContent("#lane-backend .line"), "lag 40 / lagThreshold 5 = 8 workers");
      t.match(await page.textContent("#lane-redis .line"), "memory request 64Mi outside [100Mi, 200Mi] (target 120Mi) → evict");
      t.match(await page.textContent("#lane-frontend .object"), "pods ready 3 of 3");
      t.match(await page.getAttribute('#lane-frontend .facts [data-label="CPU"]', "title"), "status.currentMetrics[cpu]", "each number names its source");
      await page.waitForSelector("#timeline-frontend polyline.replicas", { state: "attached" });
      t.same(await page.locator("#timeline-frontend .axes text").allTextContents().then((l) => l.slice(0, 3)), ["−5 min", "−2.5 min", "now"], "the timeline has a time axis");
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      t.equal(overflow, 0, "no sideways scrolling");
      await page.screenshot({ path: `${shots}/ui-scaling-${size}.png`, fullPage: true });
      await page.close();
    }
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    watchConsole(t, page);
    await page.goto(`http://127.0.0.1:${port}`);
    await page.waitForFunction(() => document.getElementById("lane-frontend")?.dataset.state === "watching", undefined, { timeout: 10000 });
    kube.put(paths.hpas, frontendHpa(5, 10, 20));
    await page.waitForFunction(() => document.querySelector('#lane-frontend .facts [data-label="Replicas"] dd')?.textContent === "5", undefined, { timeout: 10000 });
    t.match(await page.textContent("#lane-frontend .line"), "cpu: ceil(5 × 10 % / 30 %) = 2", "a change of the HPA reaches the open page");
    await page.close();
  });

  await ui.test("a phone-sized screen: no sideways scrolling, everything labelled", async (t) => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    watchConsole(t, page);
    await page.goto(base);
    await page.waitForSelector("#gallery li");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    t.equal(overflow, 0, "the page is no wider than the screen");
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll("input, select")].filter((el) => !(el as HTMLInputElement).labels?.length).map((el) => el.id),
    );
    t.same(unlabelled, [], "every field has a label");
    t.equal(await page.getAttribute("#announcer", "aria-live"), "polite", "new memes are announced");
    await page.screenshot({ path: `${shots}/ui-phone.png`, fullPage: true });
    await page.close();
  });
});
