// Backgrounds drawn as SVG, nothing downloaded. Each draws on a square of side
// `s`; decorations that look random come from a generator seeded by the request,
// so the same request draws the same picture.

import type { TemplateName } from "../../shared/contract.js";

/** mulberry32: a small deterministic generator, good enough for star fields. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const r1 = (n: number) => Math.round(n * 10) / 10;

function sunset(s: number): string {
  const bands = Array.from({ length: 6 }, (_, i) => {
    const y = s * (0.62 + i * 0.03);
    return `<rect x="0" y="${r1(y)}" width="${s}" height="${r1(s * 0.012 * (i + 1) * 0.5)}" fill="#6a3093"/>`;
  }).join("");
  return (
    `<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#2b1055"/><stop offset="0.45" stop-color="#d53369"/><stop offset="0.75" stop-color="#ff9a44"/><stop offset="1" stop-color="#fcd34d"/></linearGradient></defs>` +
    `<rect width="${s}" height="${s}" fill="url(#sky)"/><circle cx="${s / 2}" cy="${r1(s * 0.62)}" r="${r1(s * 0.22)}" fill="#ffd166"/>${bands}` +
    `<rect y="${r1(s * 0.8)}" width="${s}" height="${r1(s * 0.2)}" fill="#3b1c4a"/>`
  );
}

function ocean(s: number): string {
  const wave = (y: number, amp: number, color: string) => {
    const step = s / 4;
    let d = `M0 ${r1(y)}`;
    for (let i = 0; i < 4; i++) d += ` q${r1(step / 2)} ${r1(-amp)} ${r1(step)} 0`;
    return `<path d="${d} V${s} H0 Z" fill="${color}"/>`;
  };
  return (
    `<defs><linearGradient id="sea" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#a1c4fd"/><stop offset="1" stop-color="#1e3c72"/></linearGradient></defs>` +
    `<rect width="${s}" height="${s}" fill="url(#sea)"/>` +
    wave(s * 0.55, s * 0.05, "#2a5298") +
    wave(s * 0.68, s * 0.04, "#1e3c72") +
    wave(s * 0.8, s * 0.035, "#142850")
  );
}

function space(s: number, random: () => number): string {
  const stars = Array.from({ length: 90 }, () => `<circle cx="${r1(random() * s)}" cy="${r1(random() * s)}" r="${r1(0.5 + random() * s * 0.003)}" fill="#fff" opacity="${r1(0.4 + random() * 0.6)}"/>`).join("");
  return (
    `<defs><radialGradient id="void" cx="0.5" cy="0.4" r="0.8"><stop offset="0" stop-color="#243b55"/><stop offset="1" stop-color="#0b0c1a"/></radialGradient>` +
    `<radialGradient id="planet" cx="0.35" cy="0.35" r="0.7"><stop offset="0" stop-color="#f6d365"/><stop offset="1" stop-color="#c0392b"/></radialGradient></defs>` +
    `<rect width="${s}" height="${s}" fill="url(#void)"/>${stars}` +
    `<circle cx="${r1(s * 0.68)}" cy="${r1(s * 0.55)}" r="${r1(s * 0.16)}" fill="url(#planet)"/>` +
    `<ellipse cx="${r1(s * 0.68)}" cy="${r1(s * 0.55)}" rx="${r1(s * 0.28)}" ry="${r1(s * 0.05)}" fill="none" stroke="#f6d365" stroke-width="${r1(s * 0.01)}" opacity="0.8"/>`
  );
}

function retroGrid(s: number): string {
  const horizon = s * 0.55;
  const lines: string[] = [];
  for (let i = 0; i <= 12; i++) {
    const x = (i / 12) * s;
    lines.push(`<line x1="${r1(s / 2 + (x - s / 2) * 0.15)}" y1="${r1(horizon)}" x2="${r1(s / 2 + (x - s / 2) * 2.2)}" y2="${s}"/>`);
  }
  for (let i = 1; i <= 8; i++) {
    const y = horizon + (s - horizon) * (i / 8) ** 1.8;
    lines.push(`<line x1="0" y1="${r1(y)}" x2="${s}" y2="${r1(y)}"/>`);
  }
  return (
    `<defs><linearGradient id="dusk" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#0f0c29"/><stop offset="0.55" stop-color="#302b63"/><stop offset="1" stop-color="#24243e"/></linearGradient>` +
    `<linearGradient id="sun" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#ffe259"/><stop offset="1" stop-color="#ff0080"/></linearGradient></defs>` +
    `<rect width="${s}" height="${s}" fill="url(#dusk)"/><circle cx="${s / 2}" cy="${r1(horizon - s * 0.05)}" r="${r1(s * 0.2)}" fill="url(#sun)"/>` +
    `<rect y="${r1(horizon)}" width="${s}" height="${r1(s - horizon)}" fill="#1a1034"/>` +
    `<g stroke="#ff2fd6" stroke-width="${r1(s * 0.004)}" opacity="0.85">${lines.join("")}</g>`
  );
}

function confetti(s: number, random: () => number): string {
  const colors = ["#ef476f", "#ffd166", "#06d6a0", "#118ab2", "#8338ec", "#fb5607"];
  const bits = Array.from({ length: 70 }, () => {
    const color = colors[Math.floor(random() * colors.length)];
    const x = r1(random() * s);
    const y = r1(random() * s);
    const size = r1(s * (0.01 + random() * 0.025));
    return random() < 0.5
      ? `<circle cx="${x}" cy="${y}" r="${size}" fill="${color}"/>`
      : `<rect x="${x}" y="${y}" width="${size}" height="${r1(size * 2)}" fill="${color}" transform="rotate(${Math.round(random() * 180)} ${x} ${y})"/>`;
  }).join("");
  return `<rect width="${s}" height="${s}" fill="#fdf6e3"/>${bits}`;
}

function spotlight(s: number): string {
  return (
    `<defs><radialGradient id="beam" cx="0.5" cy="0.45" r="0.55"><stop offset="0" stop-color="#fafafa"/><stop offset="0.5" stop-color="#9e9e9e"/><stop offset="1" stop-color="#121212"/></radialGradient></defs>` +
    `<rect width="${s}" height="${s}" fill="#121212"/><rect width="${s}" height="${s}" fill="url(#beam)"/>` +
    `<ellipse cx="${s / 2}" cy="${r1(s * 0.86)}" rx="${r1(s * 0.32)}" ry="${r1(s * 0.05)}" fill="#000" opacity="0.45"/>`
  );
}

const draw: Record<TemplateName, (s: number, random: () => number) => string> = {
  sunset,
  ocean,
  space,
  "retro-grid": retroGrid,
  confetti,
  spotlight,
};

export function background(template: TemplateName, size: number, seed: number): string {
  return draw[template](size, seeded(seed));
}
