// The web UI: make memes, see everyone's arrive, watch the queue and the workers.
// Plain browser JavaScript, served as is; everything it needs comes from this frontend.

const $ = (id) => document.getElementById(id);
const form = $("meme-form");
const prompt = $("prompt");
const promptError = $("prompt-error");
const gallery = $("gallery");
const announcer = $("announcer");
const chart = $("chart");
const cards = new Map();
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

function drawChart() {
  const now = Date.now();
  const points = history.filter((p) => p.at > now - HISTORY_SECONDS * 1000);
  const top = Math.max(5, ...points.map((p) => Math.max(p.lag, p.workers)));
  const line = (key) => points.map((p) => `${(((p.at - (now - HISTORY_SECONDS * 1000)) / (HISTORY_SECONDS * 1000)) * 300).toFixed(1)},${(100 - (p[key] / top) * 95).toFixed(1)}`).join(" ");
  for (const key of ["lag", "workers"]) {
    let poly = chart.querySelector(`polyline.${key}`);
    if (!poly) {
      poly = document.createElementNS(SVG, "polyline");
      poly.setAttribute("class", key);
      chart.append(poly);
    }
    poly.setAttribute("points", line(key));
  }
}

function showStats(stats) {
  $("lag").textContent = String(stats.lag);
  $("workers").textContent = String(stats.workers.length);
  $("throughput").textContent = `${stats.throughput}/s`;
  history.push({ at: Date.now(), lag: stats.lag, workers: stats.workers.length });
  while (history.length > HISTORY_SECONDS * 2) history.shift();
  drawChart();
}

function listen() {
  const events = new EventSource("/api/events");
  events.addEventListener("stats", (event) => showStats(JSON.parse(event.data)));
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
