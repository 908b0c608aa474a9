// The images image/build.mjs built, as its manifest.json names them: for the suites that run them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoPath } from "../../generator/schema.js";

export interface ImageEntry {
  ref: string;
  archive: string;
  digest: string;
  size: number;
  entrypoint: string[];
  cmd: string[];
}

/** The build's output folder: .artifacts/images, or IMAGES_DIR. */
export const imagesDir = process.env.IMAGES_DIR ?? repoPath(".artifacts/images");
export const manifest = JSON.parse(readFileSync(join(imagesDir, "manifest.json"), "utf8")) as { images: Record<string, ImageEntry> };

/** One image of the manifest, or an error saying how to build it. */
export function image(name: string): ImageEntry {
  const entry = manifest.images[name];
  if (!entry) throw new Error(`${imagesDir}/manifest.json has no ${name} image: run \`npm run images\``);
  return entry;
}
