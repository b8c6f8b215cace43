// Topology text → validated documents, or problems located at `file:line:column`. Pure: the
// caller reads the files. Every YAML error and warning (unknown tags, syntax) is a problem, as
// are duplicate keys, keys that are not strings (stringKeys), unknown kinds and fields, invalid values and
// the same resource declared twice.
//
// A file may be hostile, so parsing is bounded: the YAML is lexed, parsed and composed one
// document at a time, counting as it goes, and a file stops being read at the first document
// over a limit (LIMITS), with a problem where that happened; no oversized document is built.
// The yaml package's own duplicate-key check compares every key with every other (80,000 keys
// took a minute), so it is off and keys are checked here with a set. Alias expansion is bounded
// twice: aliases per document here, and the expanded size by the yaml package (maxAliasCount).
// Problems per file and the input a message quotes are bounded too.
import { Composer, CST, Lexer, LineCounter, Parser, isAlias, isMap, isScalar, visit, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { KINDS, KIND_NAMES, formatRef, type ResourceRef } from '../model/index.js';
import { disallowedFieldReason, isTopologyKind, refKey, topologyDocumentSchema, TOPOLOGY_KINDS, type Position, type TopologyDoc } from './document.js';
import { formatFieldPath, lazyLocatorFor, locatorFor, parseFieldPath, type Locator, type PathSegment } from './locate.js';
import { formatPosition, type TopologyProblem } from './problems.js';

/**
 * One document is one resource: a few hundred keys and values, nested a few levels, with
 * aliases rare. The limits leave a wide margin above that and keep the worst document cheap
 * (milliseconds to compose, validate and locate problems in).
 */
export interface ParseLimits {
  /** Keys, values, collection items and the indicators between them (`:`, `,`, `- `) in one document. */
  nodesPerDocument: number;
  /** Nesting of collections. */
  depth: number;
  /** Alias (`*name`) uses in one document; each one costs a walk of the document to resolve. */
  aliasesPerDocument: number;
  /** Documents in one file, empty ones included (each costs its parse even when empty). */
  documentsPerFile: number;
  /** Problems reported from one file before it stops being read. */
  problemsPerFile: number;
}

export const LIMITS: Readonly<ParseLimits> = {
  nodesPerDocument: 20_000,
  depth: 64,
  aliasesPerDocument: 100,
  documentsPerFile: 50_000,
  problemsPerFile: 100,
};

/** Characters of a message, a field or a resource name, which quote the input. */
export const MESSAGE_CHARS = 400;

export interface TopologySource {
  /** The name problems are reported under: the path as given, or `<stdin>`. */
  file: string;
  text: string;
}

export interface ParseResult {
  docs: TopologyDoc[];
  problems: TopologyProblem[];
}

export function parseTopology(sources: readonly TopologySource[], limits: Readonly<ParseLimits> = LIMITS): ParseResult {
  const docs: TopologyDoc[] = [];
  const problems: TopologyProblem[] = [];
  for (const s of sources) {
    const r = parseSource(s, limits);
    docs.push(...r.docs);
    problems.push(...r.problems);
  }
  problems.push(...duplicateProblems(docs, limits.problemsPerFile));
  return { docs, problems };
}

export function parseSource(source: TopologySource, limits: Readonly<ParseLimits> = LIMITS): ParseResult {
  const lines = new LineCounter();
  const docs: TopologyDoc[] = [];
  const problems: TopologyProblem[] = [];
  const at = (offset: number): Position => {
    const p = lines.linePos(offset);
    return { file: source.file, line: p.line, column: p.col };
  };
  const full = () => problems.length >= limits.problemsPerFile;
  let stopped = false;
  for (const step of boundedDocuments(source.text, lines, limits)) {
    if ('stop' in step) {
      problems.push({ at: at(step.offset), message: `${step.stop}; reading of this file stopped here` });
      return { docs, problems };
    }
    const doc = step.doc;
    const yamlIssues = [...doc.errors, ...doc.warnings, ...duplicateKeys(doc, limits.problemsPerFile)];
    if (yamlIssues.length) {
      for (const e of yamlIssues.slice(0, limits.problemsPerFile - problems.length)) problems.push({ at: at(e.pos[0]), message: clip(`${yamlMessage(e.message)} (${e.code})`) });
      if ((stopped = full())) break;
      continue;
    }
    const loc = locatorFor(doc, source.file, lines);
    let js: unknown;
    try {
      js = doc.toJS(); // default maxAliasCount: an alias bomb throws here, in milliseconds
    } catch (err) {
      problems.push({ at: firstAlias(doc, loc), message: clip(`cannot be expanded: ${err instanceof Error ? err.message : String(err)}`) });
      if ((stopped = full())) break;
      continue;
    }
    if (js === null || js === undefined) continue; // an empty document (e.g. a trailing ---)
    const r = validateDocument(js, loc, limits.problemsPerFile - problems.length, () => lazyLocatorFor(doc, source.text, source.file, lines));
    if ('problems' in r) problems.push(...r.problems);
    else docs.push(r.doc);
    if ((stopped = full())) break;
  }
  if (stopped) problems.push({ at: problems[problems.length - 1]!.at, message: `${limits.problemsPerFile} problems in this file: reading of it stopped here` });
  return { docs, problems };
}

type Step = { doc: Document.Parsed } | { stop: string; offset: number };

/** Lexemes that are a node or an item of a collection (an empty `- ` item is one too). */
const COUNTED = new Set<string>(['scalar', 'single-quoted-scalar', 'double-quoted-scalar', 'alias', 'flow-map-start', 'flow-seq-start', 'seq-item-ind', 'explicit-key-ind', 'map-value-ind', 'comma']);

/**
 * The documents of a YAML stream, composed one at a time, or a stop at the first document over
 * a limit: what the yaml package's parseAllDocuments does, counting lexemes as they come so that
 * no oversized document is ever built.
 */
function* boundedDocuments(text: string, lines: LineCounter, limits: Readonly<ParseLimits>): Generator<Step> {
  const parser = new Parser(lines.addNewLine);
  // Keys as written (`0x10:` is the key "0x10", not 16): every key in a topology is a string.
  const composer = new Composer({ uniqueKeys: false, stringKeys: true });
  let nodes = 0;
  let aliases = 0;
  let scalarNext = false;
  let documents = 0;
  lines.addNewLine(0); // as Parser.parse does: line 1 starts at 0
  for (const lexeme of new Lexer().lex(text)) {
    const offset = parser.offset;
    if (scalarNext) scalarNext = false; // a plain or block scalar's text: `---` in it is no document start
    else {
      const type = CST.tokenType(lexeme);
      if (type !== null && COUNTED.has(type)) {
        scalarNext = type === 'scalar';
        if (++nodes > limits.nodesPerDocument) return yield* stop(composer, { stop: `this document is too large: more than ${limits.nodesPerDocument} keys, values and YAML indicators (one resource needs a few hundred)`, offset });
        if (type === 'alias' && ++aliases > limits.aliasesPerDocument) return yield* stop(composer, { stop: `this document uses more than ${limits.aliasesPerDocument} aliases`, offset });
      }
    }
    for (const token of parser.next(lexeme)) {
      // The parser hands over a document when it is complete: the next one counts from zero.
      if (token.type === 'document') {
        nodes = aliases = 0;
        if (++documents > limits.documentsPerFile) return yield* stop(composer, tooManyDocuments(limits, token.offset));
      }
      for (const doc of composer.next(token)) yield { doc };
    }
    if (parser.stack.length > limits.depth) return yield* stop(composer, { stop: `this document nests more than ${limits.depth} levels deep`, offset });
  }
  for (const token of parser.end()) {
    if (token.type === 'document' && ++documents > limits.documentsPerFile) return yield* stop(composer, tooManyDocuments(limits, token.offset));
    for (const doc of composer.next(token)) yield { doc };
  }
  for (const doc of composer.end()) yield { doc };
}

function tooManyDocuments(limits: Readonly<ParseLimits>, offset: number): Step & { stop: string } {
  return { stop: `this file has more than ${limits.documentsPerFile} documents; split the topology into several files`, offset };
}

/** The documents the composer still holds (complete, before the one over the limit), then the stop. */
function* stop(composer: Composer, step: Step & { stop: string }): Generator<Step> {
  for (const doc of composer.end()) yield { doc };
  yield step;
}

/** The same key twice in one mapping, found with a set (the yaml package's check compares every pair of keys). */
function duplicateKeys(doc: Document.Parsed, max: number): { pos: [number, number]; code: string; message: string }[] {
  const out: { pos: [number, number]; code: string; message: string }[] = [];
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return undefined;
      const seen = new Set<string>();
      for (const pair of map.items) {
        // Keys that are not strings (an alias, a collection) are already errors (stringKeys).
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (seen.has(key)) {
          const start = (pair.key as Node).range?.[0] ?? 0;
          out.push({ pos: [start, start], code: 'DUPLICATE_KEY', message: 'Map keys must be unique' });
          if (out.length >= max) return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
  return out;
}

/** A piece of input quoted in a message, cut to a readable length. */
function clip(s: string, max = MESSAGE_CHARS): string {
  return s.length > max ? `${s.slice(0, max)}… (${s.length} characters)` : s;
}

/** yaml's messages end with " at line L, column C" when it knows; the position is reported separately. */
function yamlMessage(m: string): string {
  return m.replace(/ at line \d+, column \d+:?[\s\S]*$/, '').replace(/^With stringKeys, all keys must be strings$/, 'A key must be a string, not an alias or a collection');
}

function firstAlias(doc: Document.Parsed, loc: Locator) {
  let offset: number | undefined;
  visit(doc, {
    Alias(_, node) {
      if (!isAlias(node) || !node.range) return undefined;
      offset = node.range[0];
      return visit.BREAK;
    },
  });
  return offset === undefined ? loc.start : loc.atOffset(offset);
}

/** `keep`: the locator a valid document keeps (one that does not hold on to the parsed YAML). */
function validateDocument(js: unknown, loc: Locator, maxProblems: number, keep: () => Locator): { doc: TopologyDoc } | { problems: TopologyProblem[] } {
  if (typeof js !== 'object' || Array.isArray(js)) {
    return { problems: [{ at: loc.start, message: 'a topology document must be a mapping with kind, metadata and spec' }] };
  }
  const obj = js as Record<string, unknown>;
  const resource = resourceName(obj);
  const kind = obj.kind;
  if (kind === undefined) return { problems: [{ at: loc.start, resource, field: 'kind', message: `is required (one of ${TOPOLOGY_KINDS.join(', ')})` }] };
  if (typeof kind !== 'string' || !isTopologyKind(kind)) {
    return { problems: [{ at: loc.locate(['kind']), resource, field: 'kind', message: unknownKindMessage(kind) }] };
  }
  const r = topologyDocumentSchema(kind).safeParse(obj, { reportInput: true });
  if (!r.success) return { problems: issueProblems(r.error.issues, loc, resource, maxProblems) };
  const data = r.data as { metadata: { name: string; tenant?: string; network?: string; labels?: Record<string, string> }; spec?: Record<string, unknown> };
  const ref: ResourceRef = { kind, name: data.metadata.name };
  if (data.metadata.tenant !== undefined) ref.tenant = data.metadata.tenant;
  if (data.metadata.network !== undefined) ref.network = data.metadata.network;
  const kept = keep();
  return {
    doc: {
      kind,
      ref,
      labels: { ...(data.metadata.labels ?? {}) },
      spec: obj.spec ?? {},
      parsedSpec: data.spec ?? (KINDS[kind].spec.parse({}) as Record<string, unknown>),
      source: { at: kept.start, locate: (field) => kept.locate(parseFieldPath(field)) },
    },
  };
}

function resourceName(obj: Record<string, unknown>): string | undefined {
  const m = obj.metadata as Record<string, unknown> | undefined;
  if (typeof obj.kind !== 'string' || !m || typeof m.name !== 'string') return undefined;
  const parts = [m.tenant, m.network, m.name].filter((p): p is string => typeof p === 'string');
  return clip(`${obj.kind} ${parts.join('/')}`, 100);
}

function unknownKindMessage(kind: unknown): string {
  if (kind === 'JoinToken') return 'join tokens are not managed in topology files (their secret is shown only once); create them with the API';
  const text = typeof kind === 'string' ? `"${kind}"` : JSON.stringify(kind);
  const near = typeof kind === 'string' ? KIND_NAMES.find((k) => k.toLowerCase() === kind.toLowerCase() || KINDS[k].plural === kind.toLowerCase()) : undefined;
  return `unknown kind ${clip(text ?? String(kind))}${near && near !== 'JoinToken' ? ` (did you mean ${near}?)` : ''}; expected one of ${TOPOLOGY_KINDS.join(', ')}`;
}

function issueProblems(issues: readonly z.core.$ZodIssue[], loc: Locator, resource: string | undefined, max: number): TopologyProblem[] {
  const out: TopologyProblem[] = [];
  for (const i of issues) {
    if (out.length >= max) break;
    const path = i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)) as PathSegment[];
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys.slice(0, max - out.length)) {
        out.push({ at: loc.locate([...path, k], { key: true }), resource, field: clip(formatFieldPath([...path, k])), message: disallowedFieldReason(path, k) ?? 'unknown field' });
      }
      continue;
    }
    const missing = i.code === 'invalid_type' && (i as { input?: unknown }).input === undefined;
    // A bad label key is about the key, not its value.
    const onKey = path.length === 3 && path[0] === 'metadata' && path[1] === 'labels' && i.code === 'custom';
    out.push({ at: loc.locate(path, { key: onKey }), resource, field: clip(formatFieldPath(path)) || undefined, message: missing ? 'is required' : clip(i.message) });
  }
  return out;
}

/** The same kind, parents and name twice, anywhere in the files. */
export function duplicateProblems(docs: readonly TopologyDoc[], max = Infinity): TopologyProblem[] {
  const seen = new Map<string, TopologyDoc>();
  const out: TopologyProblem[] = [];
  for (const d of docs) {
    if (out.length >= max) break;
    const key = refKey(d.ref);
    const first = seen.get(key);
    if (first) out.push({ at: d.source.locate('metadata.name'), resource: formatRef(d.ref), message: `is declared twice (first at ${formatPosition(first.source.at)})` });
    else seen.set(key, d);
  }
  return out;
}

