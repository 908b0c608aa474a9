// Classic meme captions: a top and a bottom line of upper-case white text with a
// black outline, wrapped and shrunk until they fit.

export interface Caption {
  top: string;
  bottom: string;
}

/** Splits on the first `|` or ` / `; otherwise at the word boundary nearest the middle. */
export function splitCaption(prompt: string): Caption {
  const text = prompt.trim().replace(/\s+/g, " ").toLocaleUpperCase("en");
  for (const separator of ["|", " / "]) {
    const at = text.indexOf(separator);
    if (at >= 0) return { top: text.slice(0, at).trim(), bottom: text.slice(at + separator.length).trim() };
  }
  const words = text.split(" ");
  if (words.length < 2) return { top: text, bottom: "" };
  let best = 1;
  let bestGap = Infinity;
  for (let k = 1; k < words.length; k++) {
    const gap = Math.abs(words.slice(0, k).join(" ").length - words.slice(k).join(" ").length);
    if (gap < bestGap) {
      best = k;
      bestGap = gap;
    }
  }
  return { top: words.slice(0, best).join(" "), bottom: words.slice(best).join(" ") };
}

export interface Block {
  lines: string[];
  fontSize: number;
}

/** A word wider than the box, cut into pieces that fit. */
function pieces(word: string, fontSize: number, width: number, measure: (s: string) => number): string[] {
  if (measure(word) * fontSize <= width) return [word];
  const out: string[] = [];
  let piece = "";
  for (const ch of word) {
    if (piece && measure(piece + ch) * fontSize > width) {
      out.push(piece);
      piece = ch;
    } else piece += ch;
  }
  return piece ? [...out, piece] : out;
}

/** Greedy word wrap at a given font size; a word wider than the box is cut. */
export function wrap(text: string, fontSize: number, width: number, measure: (s: string) => number): string[] {
  const lines: string[] = [];
  let line = "";
  const words = text.split(" ").filter(Boolean).flatMap((word) => pieces(word, fontSize, width, measure));
  for (const word of words) {
    const candidate = line ? `${line} ${word}` : word;
    if (line && measure(candidate) * fontSize > width) {
      lines.push(line);
      line = word;
    } else line = candidate;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * The largest font size (from `max` down to `min`) at which the text wraps into
 * at most `maxLines` whole-word lines inside width × height; at `min` it takes
 * what it gets, long words cut.
 */
export function fit(text: string, box: { width: number; height: number; max: number; min: number; maxLines: number; lineHeight: number }, measure: (s: string) => number): Block {
  if (!text) return { lines: [], fontSize: box.max };
  const words = text.split(" ").length;
  for (let size = box.max; size > box.min; size = Math.floor(size * 0.94)) {
    const lines = wrap(text, size, box.width, measure);
    const whole = lines.join(" ").split(" ").length === words;
    if (whole && lines.length <= box.maxLines && lines.length * size * box.lineHeight <= box.height) return { lines, fontSize: size };
  }
  return { lines: wrap(text, box.min, box.width, measure), fontSize: box.min };
}
