import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import t from "tap";
import { fit, splitCaption, wrap } from "../../../src/backend/render/caption.js";
import { advances, captionFont, woffToSfnt } from "../../../src/backend/render/font.js";
import { memeSvg } from "../../../src/backend/render/meme.js";
import { RenderPool, usableCpus } from "../../../src/backend/render/pool.js";
import { background, seeded } from "../../../src/backend/render/templates.js";
import { templateNames } from "../../../src/shared/contract.js";
import { createRequire } from "node:module";

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Uint8Array): { width: number; height: number } {
  const b = Buffer.from(png);
  t.equal(b.toString("latin1", 1, 4), "PNG");
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

t.test("captions split on |, on ' / ', else at the word boundary nearest the middle; upper case", async (t) => {
  t.same(splitCaption("one does not simply | walk into mordor"), { top: "ONE DOES NOT SIMPLY", bottom: "WALK INTO MORDOR" });
  t.same(splitCaption("top / bottom / more"), { top: "TOP", bottom: "BOTTOM / MORE" });
  t.same(splitCaption("and/or stays whole"), { top: "AND/OR", bottom: "STAYS WHOLE" });
  t.same(splitCaption("  keda   scales to zero "), { top: "KEDA SCALES", bottom: "TO ZERO" });
  t.same(splitCaption("alone"), { top: "ALONE", bottom: "" });
  t.same(splitCaption("| only bottom"), { top: "", bottom: "ONLY BOTTOM" });
  t.same(splitCaption("straße"), { top: "STRASSE", bottom: "" });
});

t.test("wrapping keeps lines inside the width and cuts only words that cannot fit", async (t) => {
  const measure = (s: string) => s.length * 0.5; // every glyph half an em
  t.same(wrap("AAAA BBBB CCCC", 10, 40, measure), ["AAAA", "BBBB", "CCCC"]);
  t.same(wrap("AA BB CC", 10, 35, measure), ["AA BB", "CC"]);
  t.same(wrap("ABCDEFGHIJKL", 10, 50, measure), ["ABCDEFGHIJ", "KL"], "a word wider than the box is cut");
  const box = { width: 100, height: 60, max: 40, min: 10, maxLines: 3, lineHeight: 1 };
  const big = fit("HI", box, measure);
  t.equal(big.fontSize, 40, "short text stays at the largest size");
  const small = fit("THE QUICK BROWN FOX JUMPS OVER", box, measure);
  t.ok(small.fontSize < 40 && small.lines.length <= 3, `shrunk to ${small.fontSize} in ${small.lines.length} lines`);
  for (const line of small.lines) t.ok(measure(line) * small.fontSize <= 100, line);
  t.same(fit("", box, measure), { lines: [], fontSize: 40 });
});

t.test("the font: WOFF unpacked into TrueType with real glyph widths", async (t) => {
  const require = createRequire(import.meta.url);
  const woff = readFileSync(require.resolve("@fontsource/anton/files/anton-latin-400-normal.woff"));
  const sfnt = woffToSfnt(woff);
  t.equal(sfnt.readUInt32BE(0), 0x00010000, "a TrueType sfnt");
  const widths = advances(sfnt);
  t.ok((widths.get(0x4d) ?? 0) > (widths.get(0x49) ?? 1), "M is wider than I");
  t.throws(() => woffToSfnt(Buffer.from("not a font at all, really not")), { message: "not a WOFF 1.0 file" });
  const font = captionFont();
  t.equal(font.files.length, 2);
  t.equal(font.measure("MM"), 2 * font.measure("M"));
  t.equal(captionFont(), font, "unpacked once per process");
});

t.test("templates: at least six, deterministic decorations", async (t) => {
  t.ok(templateNames.length >= 6);
  for (const name of templateNames) {
    t.equal(background(name, 512, 42), background(name, 512, 42), name);
    t.match(background(name, 512, 42), /^<(defs|rect)/, name);
  }
  t.not(background("space", 512, 1), background("space", 512, 2), "another seed, other stars");
  const a = seeded(7);
  const b = seeded(7);
  t.same([a(), a(), a()], [b(), b(), b()]);
});

t.test("usable CPUs: the cgroup's quota, v2 or v1, rounded up; none means the machine's", async (t) => {
  const machine = availableParallelism();
  const root = (files: Parameters<typeof t.testdir>[0]) => t.testdir(files);
  t.equal(usableCpus(root({ "cpu.max": "50000 100000\n" })), 1, "v2: half a CPU is one thread");
  t.equal(usableCpus(root({ "cpu.max": "max 100000\n" })), machine, "v2: no quota");
  t.equal(usableCpus(root({ cpu: { "cpu.cfs_quota_us": "50000\n", "cpu.cfs_period_us": "100000\n" } })), 1, "v1: 500m is one thread");
  t.equal(usableCpus(root({ cpu: { "cpu.cfs_quota_us": "-1\n", "cpu.cfs_period_us": "100000\n" } })), machine, "v1: -1 is no quota");
  t.equal(usableCpus(root({ "cpu,cpuacct": { "cpu.cfs_quota_us": "100000\n", "cpu.cfs_period_us": "100000\n" } })), Math.min(machine, 1), "v1 under cpu,cpuacct");
  t.equal(usableCpus(root({ cpu: { "cpu.cfs_quota_us": String(1000 * 100000), "cpu.cfs_period_us": "100000" } })), machine, "never more than the machine has");
  t.equal(usableCpus(root({})), machine, "no cgroup files");
});

t.test("rendering: 1024 px or 512 px, byte-identical for the same request, on threads", async (t) => {
  const pool = new RenderPool(2);
  t.teardown(() => pool.close());
  t.ok(usableCpus() >= 1);
  const request = { prompt: "one does not simply | render on the event loop", size: 1024 as const, template: "sunset" as const };
  const [first, second] = await Promise.all([pool.render(memeSvg(request)), pool.render(memeSvg(request))]);
  t.same(pngSize(first), { width: 1024, height: 1024 });
  t.ok(Buffer.from(first).equals(Buffer.from(second)), "the same request gives the same bytes");
  const small = await pool.render(memeSvg({ ...request, size: 512 }));
  t.same(pngSize(small), { width: 512, height: 512 });
  const other = await pool.render(memeSvg({ ...request, template: "ocean" }));
  t.notOk(Buffer.from(first).equals(Buffer.from(other)), "another template, other bytes");
  const all = await Promise.all(templateNames.map((template) => pool.render(memeSvg({ prompt: "every template renders", size: 512, template }))));
  t.equal(all.length, templateNames.length);
  await t.rejects(pool.render("<svg"), { message: /^render failed: / }, "a broken SVG rejects without killing the pool");
  t.same(pngSize(await pool.render(memeSvg({ ...request, size: 512 }))), { width: 512, height: 512 }, "still renders after a failure");
  await pool.close();
  await t.rejects(pool.render(memeSvg(request)), { message: "render pool is closed" });
});

t.test("closing the pool answers every render it holds, the ones on a thread too", async (t) => {
  const pool = new RenderPool(1);
  const request = { prompt: "closed mid-render", size: 1024 as const, template: "space" as const };
  const held = Array.from({ length: 3 }, () => pool.render(memeSvg(request)).then(() => "done", (error: Error) => error.message));
  await pool.close();
  t.same(await Promise.all(held), ["render pool is closed", "render pool is closed", "render pool is closed"]);
});

t.test("a render thread gives its native memory back: resident memory stays flat over many 1024 px renders", async (t) => {
  const pool = new RenderPool(1);
  t.teardown(() => pool.close());
  const render = (i: number) => pool.render(memeSvg({ prompt: `memory ${i} | stays flat`, size: 1024, template: templateNames[i % templateNames.length] as never }));
  for (let i = 0; i < 5; i++) await render(i);
  const before = process.memoryUsage().rss;
  // Each render holds a 4 MiB pixmap; kept until V8 happens to collect, 80 of them grow the process by hundreds of MiB.
  for (let i = 5; i < 85; i++) await render(i);
  const grown = (process.memoryUsage().rss - before) / 2 ** 20;
  t.ok(grown < 100, `grew ${grown.toFixed(0)} MiB over 80 renders`);
});

t.test("the SVG escapes the caption", async (t) => {
  const svg = memeSvg({ prompt: 'a <b> & "c"', size: 512, template: "spotlight" });
  t.match(svg, /A &lt;B&gt; &amp; &quot;C&quot;|&lt;B&gt;/);
  t.notMatch(svg, /<B>/);
});
