// YAML output with comments above keys, the way the chart's files are read.
import { Document, isMap, isScalar, type YAMLMap } from "yaml";

/** Wraps prose into lines of at most `width` characters, for comments. */
export function wrap(text: string, width = 98): string {
  const lines: string[] = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      if (line && line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    lines.push(line);
  }
  return lines.map((l) => ` ${l}`.trimEnd()).join("\n");
}

/**
 * Serialises `values`, putting `commentFor(path)` above each key that has one.
 * Top-level keys are separated by a blank line. A header given already laid out (`wrapHeader`
 * false) keeps its lines, each begun with a space.
 */
export function toYaml(values: unknown, commentFor: (path: string[]) => string | undefined, header?: string, wrapHeader = true): string {
  const doc = new Document(values);
  const visit = (map: YAMLMap, path: string[]) => {
    map.items.forEach((pair, index) => {
      if (!isScalar(pair.key)) return;
      const key = String(pair.key.value);
      const here = [...path, key];
      const comment = commentFor(here);
      if (comment) pair.key.commentBefore = wrap(comment);
      if (path.length === 0 && index > 0) pair.key.spaceBefore = true;
      if (isMap(pair.value)) visit(pair.value, here);
    });
  };
  if (isMap(doc.contents)) visit(doc.contents, []);
  if (header) doc.commentBefore = wrapHeader ? wrap(header) : header;
  return doc.toString({ lineWidth: 0, indentSeq: true });
}
