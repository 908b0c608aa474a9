// The web UI: make memes, see everyone's arrive, watch the three autoscalers act and why.
// Plain browser JavaScript, served as is; everything it needs comes from this frontend.

const $ = (id) => document.getElementById(id);
const form = $("meme-form");
const prompt = $("prompt");
const promptError = $("prompt-error");
const gallery = $("gallery");
const announcer = $("announcer");
const cards = new Map();
/** As many cards as GET /api/memes returns (its recentMax): the wall shows what a reload would. */
let wallMax = 100;
const history = [];
const HISTORY_SECONDS = 300;
const SVG = "http://www.w3.org/2000/svg";

async function problemOf(response) {
  try {
    const body = await response.json();
    return body.message || body.error || `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

function text(tag, content, className) {
  const el = document.createElement(tag);
  el.textContent = content;
  if (className) el.className = className;
  return el;
}

/** One card per meme: pending first, filled in by its result. */
function card(meme) {
  let li = cards.get(meme.id);
  if (!li) {
    li = document.createElement("li");
    li.className = "card";
    li.dataset.id = meme.id;
    cards.set(meme.id, li);
  }
  li.replaceChildren();
  li.classList.toggle("failed", meme.status === "failed");
  li.dataset.status = meme.status;
  const figure = document.createElement("figure");
  const caption = meme.prompt || "a meme";
  if (meme.status === "done") {
    const img = document.createElement("img");
    // Below the fold an image waits until it is scrolled to: a page open through a burst fetches what it shows.
    img.loading = "lazy";
    img.src = `/api/memes/${meme.id}/image.png`;
    img.alt = caption;
    img.width = meme.width || 1024;
    img.height = meme.width || 1024;
    img.addEventListener("error", () => forget(meme.id), { once: true });
    figure.append(img);
  } else {
    figure.append(text("div", meme.status === "failed" ? "Failed" : "In the queue…", "placeholder"));
  }
  figure.append(text("figcaption", caption));
  li.append(figure);
  const meta = document.createElement("p");
  meta.className = "meta";
  if (meme.status === "done") {
    meta.append(text("span", meme.cached ? "from the cache" : `rendered in ${Math.round(meme.renderMs)} ms`));
    if (meme.cached) meta.firstChild.className = "badge";
    const download = text("a", "Download");
    download.href = `/api/memes/${meme.id}/image.png`;
    download.download = `meme-${meme.id}.png`;
    meta.append(download);
  } else if (meme.status === "failed") {
    meta.append(text("span", `Could not be made: ${meme.error || "unknown reason"}`));
  } else {
    meta.append(text("span", "queued"));
  }
  li.append(meta);
  return li;
}

/** An expired image drops out of the wall. */
function forget(id) {
  cards.get(id)?.remove();
  cards.delete(id);
}

function show(meme, { newest = true } = {}) {
  const known = cards.has(meme.id);
  const li = card(meme);
  if (known) return;
  if (newest) gallery.prepend(li);
  else gallery.append(li);
  // The oldest cards leave: a page left open through bursts would otherwise keep every meme it saw.
  while (cards.size > wallMax && gallery.lastElementChild) forget(gallery.lastElementChild.dataset.id);
}

/** The pending card of a submitted meme, unless its result came over the event stream before the answer to the submit. */
function queued(id, caption) {
  if (!cards.has(id) || cards.get(id).dataset.status === "queued") show({ id, status: "queued", prompt: caption });
}

function showError(message) {
  promptError.textContent = message;
  promptError.hidden = !message;
  prompt.setAttribute("aria-invalid", message ? "true" : "false");
}

async function submit(body) {
  const response = await fetch("/api/memes", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (response.status !== 202) throw new Error(await problemOf(response));
  return response.json();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showError("");
  // The API says the same; checking here spares a request that can only be refused.
  const length = prompt.value.trim().replace(/\s+/g, " ").length;
  if (length === 0 || length > prompt.maxLength) {
    showError(`prompt must be 1–${prompt.maxLength} characters after trimming (got ${length})`);
    prompt.focus();
    return;
  }
  const small = $("size").value === "512";
  const body = { prompt: prompt.value, fastMode: $("fast").checked, smallImage: small };
  if ($("template").value) body.template = $("template").value;
  try {
    const { id } = await submit(body);
    queued(id, prompt.value.trim());
    prompt.value = "";
    prompt.focus();
  } catch (error) {
    showError(error.message);
    prompt.focus();
  }
});

$("burst-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const status = $("burst-status");
  const max = Number($("burst-size").max) || 1;
  const n = Math.min(max, Math.max(1, Math.round(Number($("burst-size").value) || 1)));
  status.textContent = `Sending ${n} memes…`;
  const stamp = new Date().toLocaleTimeString();
  const results = await Promise.allSettled(
    Array.from({ length: n }, (_, i) => {
      const caption = `burst ${i + 1} of ${n} | at ${stamp}`;
      return submit({ prompt: caption, fastMode: true }).then(({ id }) => queued(id, caption));
    }),
  );
  const refused = results.filter((r) => r.status === "rejected");
  status.textContent = refused.length ? `Sent ${n - refused.length} of ${n}: ${refused[0].reason.message}` : `Sent ${n} memes: watch the lag and the workers.`;
});

const HISTORY_MS = HISTORY_SECONDS * 1000;
/** The scaling view's samples, their times moved onto this browser's clock. */
const samples = [];
const shownLanes = new Map();
const PLOT = { left: 40, right: 282, top: 14, bottom: 118 };

function svgEl(tag, attributes, content) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, String(value));
  if (content !== undefined) el.textContent = content;
  return el;
}

const niceTop = (value) => {
  const top = Math.max(1, value);
  const step = 10 ** Math.floor(Math.log10(top));
  return [1, 2, 2.5, 5, 10].map((m) => m * step).find((n) => n >= top) ?? top;
};
const tick = (n) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

/**
 * A timeline of the last five minutes with axes and labels: `series` are {cls, axis, points: [{at, v}]},
 * on the left axis (titled `left`) or the right one (titled `right`).
 */
function drawTimeline(svg, series, left, right) {
  const now = Date.now();
  const x = (at) => PLOT.left + ((at - (now - HISTORY_MS)) / HISTORY_MS) * (PLOT.right - PLOT.left);
  const visible = series.map((s) => ({ ...s, points: s.points.filter((p) => p.at >= now - HISTORY_MS && Number.isFinite(p.v)) }));
  const tops = {};
  for (const axis of ["left", "right"]) tops[axis] = niceTop(Math.max(axis === "left" ? 2 : 1, ...visible.filter((s) => s.axis === axis).flatMap((s) => s.points.map((p) => p.v))));
  const y = (axis, v) => PLOT.bottom - (v / tops[axis]) * (PLOT.bottom - PLOT.top);
  const title = svg.querySelector("title");
  svg.replaceChildren(title);
  const axes = svgEl("g", { class: "axes" });
  axes.append(svgEl("line", { x1: PLOT.left, y1: PLOT.bottom, x2: PLOT.right, y2: PLOT.bottom }));
  axes.append(svgEl("line", { x1: PLOT.left, y1: PLOT.top, x2: PLOT.left, y2: PLOT.bottom }));
  for (const [at, label] of [[now - HISTORY_MS, "−5 min"], [now - HISTORY_MS / 2, "−2.5 min"], [now, "now"]]) {
    axes.append(svgEl("text", { x: x(at), y: PLOT.bottom + 14, "text-anchor": at === now ? "end" : at === now - HISTORY_MS ? "start" : "middle" }, label));
  }
  for (const v of [0, tops.left / 2, tops.left]) axes.append(svgEl("text", { x: PLOT.left - 4, y: y("left", v) + 3, "text-anchor": "end" }, tick(v)));
  axes.append(svgEl("text", { x: PLOT.left, y: PLOT.top - 5, "text-anchor": "start", class: "axis-title" }, left));
  if (right) {
    axes.append(svgEl("line", { x1: PLOT.right, y1: PLOT.top, x2: PLOT.right, y2: PLOT.bottom }));
    for (const v of [0, tops.right / 2, tops.right]) axes.append(svgEl("text", { x: PLOT.right + 4, y: y("right", v) + 3, "text-anchor": "start" }, tick(v)));
    axes.append(svgEl("text", { x: PLOT.right, y: PLOT.top - 5, "text-anchor": "end", class: "axis-title" }, right));
  }
  svg.append(axes);
  for (const s of visible) {
    if (s.points.length === 0) continue;
    svg.append(svgEl("polyline", { class: s.cls, points: s.points.map((p) => `${x(p.at).toFixed(1)},${y(s.axis, p.v).toFixed(1)}`).join(" ") }));
  }
}

const points = (list, get) => list.map((p) => ({ at: p.at, v: get(p) })).filter((p) => p.v !== undefined && p.v !== null);
const mib = (bytes) => (bytes === undefined ? undefined : bytes / 2 ** 20);

function drawTimelines() {
  drawTimeline($("timeline-frontend"), [
    { cls: "replicas", axis: "left", points: points(samples, (p) => p.frontend?.replicas) },
    { cls: "cpu", axis: "right", points: points(samples, (p) => p.frontend?.cpu) },
    { cls: "memory", axis: "right", points: points(samples, (p) => p.frontend?.memory) },
  ], "replicas", "% of request");
  drawTimeline($("timeline-backend"), [
    { cls: "workers", axis: "left", points: points(history, (p) => p.workers) },
    { cls: "replicas", axis: "left", points: points(samples, (p) => p.backend?.replicas) },
    { cls: "lag", axis: "right", points: points(history, (p) => p.lag) },
  ], "workers", "lag");
  drawTimeline($("timeline-redis"), [
    { cls: "request", axis: "left", points: points(samples, (p) => mib(p.redis?.requestMemory)) },
    { cls: "target", axis: "left", points: points(samples, (p) => mib(p.redis?.targetMemory)) },
    { cls: "bound", axis: "left", points: points(samples, (p) => mib(p.redis?.lowerMemory)) },
    { cls: "bound", axis: "left", points: points(samples, (p) => mib(p.redis?.upperMemory)) },
  ], "memory MiB");
}

function fill(list, entries, make) {
  list.replaceChildren(...entries.map(make));
}

function showLane(lane) {
  const el = $(`lane-${lane.tier}`);
  const key = JSON.stringify(lane);
  if (shownLanes.get(lane.tier) === key) return;
  shownLanes.set(lane.tier, key);
  el.dataset.state = lane.state;
  el.querySelector(".object").textContent = lane.state === "watching" ? `${lane.object} · pods ready ${lane.pods.ready} of ${lane.pods.total}` : lane.object;
  const line = el.querySelector(".line");
  line.textContent = lane.line;
  line.hidden = !lane.line;
  const note = el.querySelector(".note");
  note.textContent = lane.note || "";
  note.hidden = !lane.note;
  fill(el.querySelector(".problems"), lane.problems, (p) => text("li", p));
  const facts = el.querySelector(".facts");
  facts.replaceChildren();
  for (const fact of lane.facts) {
    // The backend lane's queue numbers are in its stats above, updated every second.
    if (lane.tier === "backend" && (fact.label === "Queue lag" || fact.label === "Live workers")) continue;
    const div = document.createElement("div");
    div.dataset.label = fact.label;
    div.append(text("dt", fact.label), text("dd", fact.value, fact.estimate ? "estimate" : ""));
    div.title = `from ${fact.source}`;
    facts.append(div);
  }
  fill(el.querySelector(".events"), lane.events.length ? lane.events : [null], (e) => text("li", e ? `${new Date(e.at).toLocaleTimeString()} ${e.reason}: ${e.message}` : "No scaling events seen."));
  const sources = el.querySelector(".sources");
  sources.replaceChildren();
  for (const fact of lane.facts) sources.append(text("dt", fact.label), text("dd", fact.source));
}

function showScaling(update) {
  $("scaling-source").textContent = update.lanes.some((l) => l.state === "watching") ? `Read from ${update.source}; the timelines cover the last five minutes.` : "";
  if (update.samples.length > 0) {
    const skew = Date.now() - update.samples[update.samples.length - 1].at;
    for (const sample of update.samples) samples.push({ ...sample, at: sample.at + skew });
    while (samples.length > 0 && samples[0].at < Date.now() - HISTORY_MS) samples.shift();
  }
  for (const lane of update.lanes) showLane(lane);
  drawTimelines();
}

function showStats(stats) {
  $("lag").textContent = String(stats.lag);
  $("workers").textContent = String(stats.workers.length);
  $("throughput").textContent = `${stats.throughput}/s`;
  history.push({ at: Date.now(), lag: stats.lag, workers: stats.workers.length });
  while (history.length > HISTORY_SECONDS * 2) history.shift();
  drawTimelines();
}

function listen() {
  const events = new EventSource("/api/events");
  events.addEventListener("stats", (event) => showStats(JSON.parse(event.data)));
  events.addEventListener("scaling", (event) => showScaling(JSON.parse(event.data)));
  events.addEventListener("result", (event) => {
    const result = JSON.parse(event.data);
    const li = cards.get(result.id);
    const prompt = li?.querySelector("figcaption")?.textContent;
    show({ ...result, prompt: result.prompt || prompt });
    announcer.textContent = result.status === "done" ? `New meme: ${prompt || "from someone else"}` : `A meme failed: ${result.error}`;
  });
}

async function start() {
  const config = await (await fetch("/api/config")).json();
  const select = $("template");
  for (const name of config.templates) select.append(new Option(name, name));
  prompt.maxLength = config.promptMax;
  if (config.recentMax > 0) wallMax = config.recentMax;
  if (config.burstMax > 0) {
    $("burst-size").max = String(config.burstMax);
    $("burst-size").value = String(Math.min(20, config.burstMax));
    $("burst-form").hidden = false;
  }
  const { memes } = await (await fetch("/api/memes")).json();
  for (const meme of memes) show(meme, { newest: false });
  listen();
}

start().catch((error) => showError(`The page could not load its data: ${error.message}`));
