// Maps a field path back to where it is written in a YAML document, so that every problem can
// say `file:line:column`. A path that goes past what is written (a missing required field)
// resolves to the deepest part that is written.
import { isMap, isScalar, isSeq, parseDocument, type Document, type LineCounter, type Node, type ParsedNode } from 'yaml';
import type { Position } from './document.js';

export type PathSegment = string | number;

/**
 * `spec.subnets[1].cidr` → `['spec', 'subnets', 1, 'cidr']`; `metadata.labels["a/b"]` → `[..., 'a/b']`.
 * The inverse of the model's fieldPath for the paths the API reports.
 */
export function parseFieldPath(field: string): PathSegment[] {
  const out: PathSegment[] = [];
  const re = /\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|\.?([^.[\]]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(field))) {
    if (m[1] !== undefined) out.push(Number(m[1]));
    else if (m[2] !== undefined) out.push(JSON.parse(`"${m[2]}"`) as string);
    else if (m[3] !== undefined) out.push(m[3]);
  }
  return out;
}

/** `['spec', 'subnets', 1, 'cidr']` → `spec.subnets[1].cidr`; keys that are not plain words are quoted. */
export function formatFieldPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

export interface Locator {
  /** Where the value at `path` is written; `key: true` points at the key instead (unknown fields). */
  locate(path: readonly PathSegment[], opts?: { key?: boolean }): Position;
  /** Where the document starts. */
  readonly start: Position;
  /** The position of a character offset in the text. */
  atOffset(offset: number): Position;
}

/** `base`: where the text `doc` was parsed from starts in the file (`lines` counts the whole file). */
export function locatorFor(doc: Document.Parsed, file: string, lines: LineCounter, base = 0): Locator {
  const pos = (offset: number): Position => {
    const p = lines.linePos(base + offset);
    return { file, line: p.line, column: p.col };
  };
  const startOffset = (doc.contents as ParsedNode | null)?.range?.[0] ?? doc.range[0];
  return {
    start: pos(startOffset),
    atOffset: pos,
    locate(path, opts = {}) {
      let node: Node | null = doc.contents as Node | null;
      // The key of the deepest pair found: where a missing field's parent is written.
      let parentKey = startOffset;
      for (let i = 0; i < path.length; i++) {
        const seg = path[i]!;
        const last = i === path.length - 1;
        if (isMap(node)) {
          const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : undefined) === String(seg));
          if (!pair) return pos(parentKey);
          const keyOffset = (pair.key as Node).range?.[0] ?? parentKey;
          if (last && opts.key) return pos(keyOffset);
          node = pair.value as Node | null;
          // `key:` with no value is an empty scalar: the key is the place to point at.
          if (!node?.range || (isScalar(node) && node.value === null && node.range[0] === node.range[1])) return pos(keyOffset);
          parentKey = keyOffset;
        } else if (isSeq(node) && typeof seg === 'number') {
          const item = node.items[seg] as Node | undefined;
          if (!item?.range) return pos(parentKey);
          node = item;
          parentKey = item.range[0];
        } else {
          // A scalar or an alias where the path goes on: point at it.
          return pos(node?.range?.[0] ?? parentKey);
        }
      }
      return pos(node?.range?.[0] ?? parentKey);
    },
  };
}

/**
 * A locator that keeps only the file's text and the document's place in it, and parses the
 * document again on the first question (asked only when there is a problem to report). A
 * parsed document costs a few KiB, and a topology can hold a hundred thousand documents.
 */
export function lazyLocatorFor(doc: Document.Parsed, text: string, file: string, lines: LineCounter): Locator {
  const eager = locatorFor(doc, file, lines);
  const start = eager.start;
  // From the start of the document's first line, so that indentation parses the same.
  const from = lines.lineStarts[lines.linePos(doc.range[0]).line - 1] ?? 0;
  const to = doc.range[2];
  let located: Locator | undefined;
  return {
    start,
    atOffset: (offset) => {
      const p = lines.linePos(offset);
      return { file, line: p.line, column: p.col };
    },
    locate(path, opts) {
      located ??= locatorFor(parseDocument(text.slice(from, to), { uniqueKeys: false, stringKeys: true }) as Document.Parsed, file, lines, from);
      return located.locate(path, opts);
    },
  };
}
