// npm run bench: render figures, printed, never asserted. Per-meme time of the
// worker's path (SVG built from the request, rendered on a pool thread, PNG
// handed back) against a bare resvg render of the same SVG on the main thread,
// and pool throughput at 512 and 1024 px.
import { Resvg } from "@resvg/resvg-js";
import { cpus } from "node:os";
import { captionFont, FONT_FAMILY } from "../../src/backend/render/font.js";
import { memeSvg } from "../../src/backend/render/meme.js";
import { RenderPool, usableCpus } from "../../src/backend/render/pool.js";
import { templateNames } from "../../src/shared/contract.js";
import { median } from "../../src/load/load.js";

function requests(size: 512 | 1024, n: number, tag: string) {
  return Array.from({ length: n }, (_, i) => ({
    prompt: `benchmark ${tag} ${i} | one does not simply measure once`,
    size,
    template: templateNames[i % templateNames.length] as (typeof templateNames)[number],
  }));
}

async function main() {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 60);
  const font = { fontFiles: captionFont().files, loadSystemFonts: false, defaultFontFamily: FONT_FAMILY };
  const single = new RenderPool(1);
  const pool = new RenderPool(usableCpus());
  const rows: string[][] = [];
  for (const size of [512, 1024] as const) {
    // warm both paths
    for (const r of requests(size, 6, "warm")) {
      await single.render(memeSvg(r));
      new Resvg(memeSvg(r), { font }).render().asPng();
    }
    const ours: number[] = [];
    const bare: number[] = [];
    for (const r of requests(size, rounds, "seq")) {
      let t0 = performance.now();
      await single.render(memeSvg(r));
      ours.push(performance.now() - t0);
      const svg = memeSvg(r);
      t0 = performance.now();
      new Resvg(svg, { font }).render().asPng();
      bare.push(performance.now() - t0);
    }
    const batch = requests(size, rounds * 3, "par");
    const t0 = performance.now();
    await Promise.all(batch.map((r) => pool.render(memeSvg(r))));
    const perSecond = batch.length / ((performance.now() - t0) / 1000);
    rows.push([`${size} px`, median(ours).toFixed(1), median(bare).toFixed(1), (median(ours) / median(bare)).toFixed(2), `${pool.size}`, perSecond.toFixed(0)]);
  }
  await single.close();
  await pool.close();
  const header = ["size", "ours ms (median)", "bare resvg ms", "ours / bare", "threads", "renders/s"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] as number)).join("  ");
  console.log(`render benchmark: ${rounds} sequential memes per size, ${rounds * 3} on the pool; node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "unknown"})`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

await main();
