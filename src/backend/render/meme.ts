// A request → the SVG of its meme. Pure and deterministic: the same request
// gives the same SVG, and resvg turns the same SVG into the same PNG bytes.
import { createHash } from "node:crypto";
import type { NormalizedRequest } from "../../shared/messages.js";
import { fit, splitCaption, type Block } from "./caption.js";
import { captionFont, FONT_FAMILY } from "./font.js";
import { background } from "./templates.js";

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function lines(block: Block, size: number, edge: "top" | "bottom"): string {
  const lineHeight = block.fontSize * 1.08;
  const margin = size * 0.04;
  const first = edge === "top" ? margin + block.fontSize * 0.92 : size - margin - (block.lines.length - 1) * lineHeight - block.fontSize * 0.08;
  return block.lines
    .map((line, i) => `<text x="${size / 2}" y="${(first + i * lineHeight).toFixed(1)}">${escape(line)}</text>`)
    .join("");
}

export function memeSvg(request: Pick<NormalizedRequest, "prompt" | "size" | "template">): string {
  const size = request.size;
  const font = captionFont();
  const caption = splitCaption(request.prompt);
  const width = size * 0.92;
  const box = { width, height: size * 0.3, max: Math.round(size * 0.13), min: Math.round(size * 0.045), maxLines: 3, lineHeight: 1.08 };
  const top = fit(caption.top, box, font.measure);
  const bottom = fit(caption.bottom, box, font.measure);
  const seed = createHash("sha256").update(`${request.template}\n${request.prompt}`).digest().readUInt32BE(0);
  const stroke = Math.max(2, Math.round(Math.min(top.fontSize, bottom.fontSize) * 0.08));
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}">` +
    background(request.template, size, seed) +
    `<g font-family="${FONT_FAMILY}" fill="#fff" stroke="#000" stroke-width="${stroke}" stroke-linejoin="round" paint-order="stroke" text-anchor="middle">` +
    `<g font-size="${top.fontSize}">${lines(top, size, "top")}</g>` +
    `<g font-size="${bottom.fontSize}">${lines(bottom, size, "bottom")}</g>` +
    `</g></svg>`
  );
}
