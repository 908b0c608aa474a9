// A small SVG chart of series sampled over time, drawn as steps (a replica
// count holds until it changes), with marked moments along the time axis.

export interface Series {
  name: string;
  colour: string;
  /** [seconds, value] pairs in time order. */
  points: [number, number][];
  /** Drawn against the right-hand axis. */
  right?: boolean;
}

export interface Mark {
  at: number;
  label: string;
}

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The smallest of 1, 2, 5 × 10^k that is at least `value`. */
function niceStep(value: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(value, 1e-9)));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= value) ?? 10 * power;
}

/** An axis maximum that five equal ticks divide into round numbers. */
const niceMax = (value: number) => 5 * niceStep(Math.max(value, 1) / 5);

export function stepChart(title: string, series: Series[], marks: Mark[], units: { left: string; right: string }): string {
  const [width, height] = [900, 420];
  const pad = { left: 60, right: 60, top: 40, bottom: 90 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const tMax = Math.max(1, ...series.flatMap((s) => s.points.map(([t]) => t)));
  const leftMax = niceMax(Math.max(...series.filter((s) => !s.right).flatMap((s) => s.points.map(([, v]) => v))));
  const rightMax = niceMax(Math.max(...series.filter((s) => s.right).flatMap((s) => s.points.map(([, v]) => v)), 1));
  const x = (t: number) => pad.left + (t / tMax) * plotW;
  const y = (v: number, right = false) => pad.top + plotH - (v / (right ? rightMax : leftMax)) * plotH;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escape(title)}</text>`);
  // Grid and axes.
  for (let i = 0; i <= 5; i++) {
    const gy = pad.top + (plotH * i) / 5;
    out.push(`<line x1="${pad.left}" x2="${pad.left + plotW}" y1="${gy}" y2="${gy}" stroke="#eee"/>`);
    out.push(`<text x="${pad.left - 8}" y="${gy + 4}" text-anchor="end">${+(leftMax * (1 - i / 5)).toFixed(1)}</text>`);
    if (series.some((s) => s.right)) out.push(`<text x="${pad.left + plotW + 8}" y="${gy + 4}">${+(rightMax * (1 - i / 5)).toFixed(1)}</text>`);
  }
  const tickStep = niceStep(tMax / 10);
  for (let t = 0; t <= tMax; t += tickStep) {
    out.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${pad.top + plotH}" y2="${pad.top + plotH + 5}" stroke="#333"/>`);
    out.push(`<text x="${x(t)}" y="${pad.top + plotH + 18}" text-anchor="middle">${t}</text>`);
  }
  out.push(`<rect x="${pad.left}" y="${pad.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${pad.left + plotW / 2}" y="${pad.top + plotH + 34}" text-anchor="middle">seconds</text>`);
  out.push(`<text transform="translate(16 ${pad.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(units.left)}</text>`);
  if (series.some((s) => s.right)) out.push(`<text transform="translate(${width - 14} ${pad.top + plotH / 2}) rotate(90)" text-anchor="middle">${escape(units.right)}</text>`);
  // Marks.
  marks.forEach((mark, i) => {
    out.push(`<line x1="${x(mark.at)}" x2="${x(mark.at)}" y1="${pad.top}" y2="${pad.top + plotH}" stroke="#999" stroke-dasharray="4 3"/>`);
    // Near the right edge a label runs leftwards from its line, so it stays inside the chart.
    const [tx, anchor] = x(mark.at) > pad.left + plotW * 0.8 ? [x(mark.at) - 3, "end"] : [x(mark.at) + 3, "start"];
    out.push(`<text x="${tx}" y="${pad.top + 12 + (i % 4) * 13}" text-anchor="${anchor}" fill="#555">${escape(mark.label)}</text>`);
  });
  // Series as steps; the legend flows in rows under the axis (text about 7 px a character).
  let [lx, ly] = [pad.left, height - 40];
  series.forEach((s) => {
    const label = `${s.name}${s.right ? " (right axis)" : ""}`;
    const room = 40 + label.length * 7;
    if (lx + room > width - 10) [lx, ly] = [pad.left, ly + 18];
    out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.colour}" stroke-width="3"/>`);
    out.push(`<text x="${lx + 30}" y="${ly}">${escape(label)}</text>`);
    lx += room;
    if (s.points.length === 0) return;
    let d = `M${x(s.points[0]?.[0] ?? 0)},${y(s.points[0]?.[1] ?? 0, s.right)}`;
    for (let j = 1; j < s.points.length; j++) {
      const [t, v] = s.points[j] ?? [0, 0];
      d += ` H${x(t)} V${y(v, s.right)}`;
    }
    out.push(`<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="2"/>`);
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
