// The caption font: Anton (SIL Open Font License), shipped by @fontsource/anton
// as WOFF. resvg loads only TrueType/OpenType files, so the WOFF container is
// unpacked into a plain sfnt once, written to the temp folder, and its glyph
// advances are read so captions can be measured before they are drawn.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { inflateSync } from "node:zlib";

export const FONT_FAMILY = "Anton";
const subsets = ["latin", "latin-ext"] as const;

/** WOFF 1.0 → sfnt: inflate each table and lay them out after a TrueType offset table. */
export function woffToSfnt(woff: Buffer): Buffer {
  if (woff.toString("latin1", 0, 4) !== "wOFF") throw new Error("not a WOFF 1.0 file");
  const flavor = woff.readUInt32BE(4);
  const numTables = woff.readUInt16BE(12);
  const tables = [];
  for (let i = 0; i < numTables; i++) {
    const entry = 44 + i * 20;
    const tag = woff.toString("latin1", entry, entry + 4);
    const offset = woff.readUInt32BE(entry + 4);
    const compLength = woff.readUInt32BE(entry + 8);
    const origLength = woff.readUInt32BE(entry + 12);
    const checksum = woff.readUInt32BE(entry + 16);
    const stored = woff.subarray(offset, offset + compLength);
    const data = compLength < origLength ? inflateSync(stored) : Buffer.from(stored);
    if (data.length !== origLength) throw new Error(`WOFF table ${tag}: ${data.length} bytes, expected ${origLength}`);
    tables.push({ tag, checksum, data });
  }
  tables.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
  const entrySelector = Math.floor(Math.log2(numTables));
  const searchRange = 2 ** entrySelector * 16;
  const headerSize = 12 + numTables * 16;
  const padded = (n: number) => (n + 3) & ~3;
  const out = Buffer.alloc(headerSize + tables.reduce((sum, t) => sum + padded(t.data.length), 0));
  out.writeUInt32BE(flavor, 0);
  out.writeUInt16BE(numTables, 4);
  out.writeUInt16BE(searchRange, 6);
  out.writeUInt16BE(entrySelector, 8);
  out.writeUInt16BE(numTables * 16 - searchRange, 10);
  let offset = headerSize;
  tables.forEach((table, i) => {
    const record = 12 + i * 16;
    out.write(table.tag, record, "latin1");
    out.writeUInt32BE(table.checksum, record + 4);
    out.writeUInt32BE(offset, record + 8);
    out.writeUInt32BE(table.data.length, record + 12);
    table.data.copy(out, offset);
    offset += padded(table.data.length);
  });
  return out;
}

function table(font: Buffer, tag: string): Buffer {
  const count = font.readUInt16BE(4);
  for (let i = 0; i < count; i++) {
    const record = 12 + i * 16;
    if (font.toString("latin1", record, record + 4) === tag) {
      const offset = font.readUInt32BE(record + 8);
      return font.subarray(offset, offset + font.readUInt32BE(record + 12));
    }
  }
  throw new Error(`font has no ${tag} table`);
}

/** Advance widths per code point, in em, read from cmap (format 4) and hmtx. */
export function advances(font: Buffer): Map<number, number> {
  const unitsPerEm = table(font, "head").readUInt16BE(18);
  const numberOfHMetrics = table(font, "hhea").readUInt16BE(34);
  const hmtx = table(font, "hmtx");
  const advanceOf = (glyph: number) => hmtx.readUInt16BE(4 * Math.min(glyph, numberOfHMetrics - 1)) / unitsPerEm;
  const cmap = table(font, "cmap");
  let sub: Buffer | undefined;
  for (let i = 0; i < cmap.readUInt16BE(2); i++) {
    const platform = cmap.readUInt16BE(4 + i * 8);
    const encoding = cmap.readUInt16BE(6 + i * 8);
    const candidate = cmap.subarray(cmap.readUInt32BE(8 + i * 8));
    if (candidate.readUInt16BE(0) === 4 && (platform === 3 || platform === 0) && (encoding === 1 || platform === 0)) sub = candidate;
  }
  if (!sub) throw new Error("font has no Unicode BMP cmap (format 4)");
  const segments = sub.readUInt16BE(6) / 2;
  const endAt = 14;
  const startAt = endAt + segments * 2 + 2;
  const deltaAt = startAt + segments * 2;
  const rangeAt = deltaAt + segments * 2;
  const map = new Map<number, number>();
  for (let s = 0; s < segments; s++) {
    const end = sub.readUInt16BE(endAt + s * 2);
    const start = sub.readUInt16BE(startAt + s * 2);
    const delta = sub.readInt16BE(deltaAt + s * 2);
    const rangeOffset = sub.readUInt16BE(rangeAt + s * 2);
    for (let code = start; code <= end && code !== 0xffff; code++) {
      let glyph: number;
      if (rangeOffset === 0) glyph = (code + delta) & 0xffff;
      else {
        const at = rangeAt + s * 2 + rangeOffset + (code - start) * 2;
        const raw = sub.readUInt16BE(at);
        glyph = raw === 0 ? 0 : (raw + delta) & 0xffff;
      }
      if (glyph !== 0) map.set(code, advanceOf(glyph));
    }
  }
  return map;
}

export interface CaptionFont {
  /** TrueType files for resvg's fontFiles. */
  files: string[];
  /** Width of a line at font size 1, in the same units as the size. */
  measure(text: string): number;
}

let loaded: CaptionFont | undefined;

/** Unpacks the font once per process into the temp folder (the only writable place in the container). */
export function captionFont(): CaptionFont {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const widths = new Map<number, number>();
  const files = subsets.map((subset) => {
    const woff = readFileSync(require.resolve(`@fontsource/anton/files/anton-${subset}-400-normal.woff`));
    const sfnt = woffToSfnt(woff);
    for (const [code, width] of advances(sfnt)) if (!widths.has(code)) widths.set(code, width);
    const file = join(tmpdir(), "meme-generator-fonts", `anton-${subset}-${createHash("sha256").update(sfnt).digest("hex").slice(0, 12)}.ttf`);
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true });
      const partial = `${file}.${process.pid}.tmp`;
      writeFileSync(partial, sfnt);
      renameSync(partial, file);
    }
    return file;
  });
  const fallback = widths.get(0x4d) ?? 0.6; // "M": the widest common glyph, for anything the font lacks
  loaded = {
    files,
    measure: (text) => [...text].reduce((sum, ch) => sum + (widths.get(ch.codePointAt(0) ?? 0) ?? fallback), 0),
  };
  return loaded;
}
